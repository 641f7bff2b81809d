#!/bin/sh
# lib.sh - pieces of a two-region ferry run on one host, shared by the embedded demo
# (scripts/demo.sh) and the e2e tests: two librdkafka mock clusters (london, singapore),
# ferry-wanem between two ferryd gateways (memif, --no-huge), certificates, configs.
#
# Source it with BUILD (meson build dir) and T (a private temp dir) set. Every process it
# starts is recorded in $T/pids and killed by e2e_cleanup.

e2e_log() { printf '%s\n' "$*" >&2; }
e2e_die() { e2e_log "FAIL: $*"; exit 1; }

e2e_bin() {
	FERRYCTL=$BUILD/control/ferryctl
	FERRYD=$BUILD/dataplane/ferryd/ferryd
	WANEM=$BUILD/benchmarks/wanem/ferry-wanem
	LOADGEN=$BUILD/benchmarks/loadgen/ferry-loadgen
	for b in "$FERRYCTL" "$FERRYD" "$WANEM" "$LOADGEN"; do
		[ -x "$b" ] || e2e_die "missing $b (build first)"
	done
}

e2e_cleanup() {
	[ -f "$T/pids" ] || return 0
	while read -r pid; do kill -TERM "$pid" 2>/dev/null; done <"$T/pids"
	sleep 1
	while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$T/pids"
	rm -f "$T/pids"
	# anything else started with our temp dir on its command line
	pkill -KILL -f "$T/" 2>/dev/null
	return 0
}

# e2e_certs: a throwaway CA and one certificate per gateway (DNS SAN = the cluster alias the
# peer expects: the source gateway is "london", the target "singapore").
e2e_certs() {
	(
		cd "$T" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
			-out ca.crt -days 1 -subj "/CN=ferry demo CA" || exit 1
		for n in london singapore; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
				-out $n.csr -subj "/CN=$n" || exit 1
			printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' $n >$n.ext
			openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
				-out $n.crt -days 1 -extfile $n.ext || exit 1
		done
	) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; e2e_die "certificate generation"; }
}

# e2e_mock NAME TOPIC:PARTS... : start a mock cluster; sets NAME_BS to its bootstrap list.
e2e_mock() {
	name=$1; shift
	args=""
	for t in "$@"; do args="$args --topic $t"; done
	mkfifo "$T/$name.ctl"
	# shellcheck disable=SC2086
	"$FERRYCTL" mock --brokers 3 --control "$T/$name.ctl" $args >"$T/$name.bs" 2>"$T/$name.log" &
	echo $! >>"$T/pids"
	eval "${name}_PID=$!"
	i=0
	while [ ! -s "$T/$name.bs" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$T/$name.bs" ] || e2e_die "mock cluster $name did not start"
	eval "${name}_BS=$(head -n1 "$T/$name.bs")"
	# keep the control fifo open for writing (from this shell: no helper process that could
	# outlive the run and hold a test harness's output pipe) so the mock never sees EOF
	E2E_FIFO_FD=$(( ${E2E_FIFO_FD:-6} + 1 ))
	eval "exec $E2E_FIFO_FD<>\"\$T/\$name.ctl\""
}

# e2e_ends NAME TOPIC:PARTITIONS...: the end offsets (high watermarks) of those partitions,
# read by kcat from the cluster itself, as a Python dict literal {("topic", p): end, ...}.
# Catch-up checks compare a gateway's committed offsets with these, not with the gateway's
# own last-fetched high watermark: that one can be a fetch older than the last record.
e2e_ends() {
	eval "bs=\${$1_BS}"; shift
	q=
	for tp in "$@"; do
		i=0
		while [ $i -lt "${tp#*:}" ]; do q="$q -t ${tp%:*}:$i:-1"; i=$((i + 1)); done
	done
	# shellcheck disable=SC2086
	kcat -Q -b "$bs" $q 2>/dev/null | python3 -c '
import re, sys
d = {}
for line in sys.stdin:
    m = re.match(r"^(\S+) \[(\d+)\] offset (-?\d+)$", line.strip())
    if m:
        d[(m.group(1), int(m.group(2)))] = int(m.group(3))
print(repr(d))'
}

# e2e_mock_cmd NAME "COMMAND": broker down/up, leader changes (see ferryctl mock --control).
e2e_mock_cmd() { printf '%s\n' "$2" >"$T/$1.ctl"; }

# e2e_wanem "IMPAIRMENTS" [PAIR]: the WAN emulator with two memif servers (a = london side);
# PAIR (e.g. 2) for a second gateway pair's own link.
e2e_wanem() {
	w=${2:-}
	"$WANEM" --no-huge -m 512 --no-pci --file-prefix "wanem$w$$" --lcores "(0-1)@(0-1)" \
		--vdev "net_memif0,role=server,socket=$T/wan$w-a.sock,socket-abstract=no" \
		--vdev "net_memif1,role=server,socket=$T/wan$w-b.sock,socket-abstract=no" \
		-- --idle-sleep-us 50 --stats-interval 0 --json "$T/wanem$w.json" $1 \
		>"$T/wanem$w.log" 2>&1 &
	WANEM_PID=$!
	echo $WANEM_PID >>"$T/pids"
	i=0
	until grep -q 'A = port' "$T/wanem$w.log" 2>/dev/null || [ $i -ge 100 ]; do
		sleep 0.1; i=$((i + 1)); done
	grep -q 'A = port' "$T/wanem$w.log" || { cat "$T/wanem$w.log"; e2e_die "ferry-wanem did not start"; }
}

# e2e_config NAME RULES [EXTRA LINES]: write $T/NAME.properties. NAME is source or target,
# or source2/target2 for a second gateway pair (its own WAN link and key channel port).
# E2E_MEMIF_ARGS: devargs appended to the gateway's memif port (jumbo: ",bsize=9216").
# ferry.mempool.mbufs is 16383, not the gateway-host default: two or four gateways share this
# host, each with --no-huge -m 1024 (9 KB mbufs at MTU 9000).
e2e_config() {
	name=$1 rules=$2
	role=${name%2}; w=${name#"$role"}; kcp=$(( ${E2E_KC_PORT:-19441} + ${w:-0} ))
	if [ "$role" = source ]; then me=london sock=wan$w-a lip=10.77.0.1 pip=10.77.0.2 mp=0
	else me=singapore sock=wan$w-b lip=10.77.0.2 pip=10.77.0.1 mp=1; fi
	# Prometheus endpoints: E2E_METRICS_BASE (source) and +1 (target); unset: off
	if [ -n "${E2E_METRICS_BASE:-}" ]; then mp=$((E2E_METRICS_BASE + mp)); else mp=0; fi
	cat >"$T/$name.properties" <<CONF
clusters = london, singapore
london.bootstrap.servers = $london_BS
singapore.bootstrap.servers = $singapore_BS
london->singapore.enabled = true
london->singapore.topics = .*
replication.policy.separator = .
emit.heartbeats.interval.seconds = 1
emit.checkpoints.interval.seconds = 5
ferry.role = $role
ferry.poll.mode = idle
ferry.mempool.mbufs = 16383
ferry.metrics.port = $mp
ferry.lcore.control = 0
ferry.lcores.io = 1
ferry.lcores.worker = 2
ferry.wan.ports = net_memif0,role=client,socket=$T/$sock.sock,socket-abstract=no${E2E_MEMIF_ARGS:-}
ferry.wan.local.ip = $lip
ferry.wan.peer.ip = $pip
ferry.wan.control.port = $kcp
ferry.wan.control.bind = 127.0.0.1
ferry.wan.control.peer = 127.0.0.1
ferry.wan.tls.ca = $T/ca.crt
ferry.wan.tls.cert = $T/$me.crt
ferry.wan.tls.key = $T/$me.key
CONF
	[ -n "$rules" ] && echo "ferry.rules.file = $rules" >>"$T/$name.properties"
	shift 2
	for l in "$@"; do echo "$l" >>"$T/$name.properties"; done
}

# e2e_gateway NAME: start ferryd (NAME as in e2e_config); sets NAME_PID.
e2e_gateway() {
	name=$1 role=${1%2}
	"$FERRYD" --no-huge -m 1024 --file-prefix "fd-$name-$$" --lcores "(0-2)@(0-1)" -- \
		--config "$T/$name.properties" --role "$role" --stats "$T/$name.json" --pidfile "$T/$name.pid" \
		>>"$T/$name.log" 2>&1 &
	eval "${name}_PID=$!"
	echo $! >>"$T/pids"
}

# e2e_wait_stat ROLE EXPR TIMEOUT: wait until the python expression over the stats dict s
# holds. 0 when it did, 1 on timeout.
e2e_wait_stat() {
	python3 - "$T/$1.json" "$2" "$3" <<'PY'
import json, sys, time
path, expr, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.time() + timeout
while time.time() < end:
    try:
        s = json.load(open(path))
        if eval(expr, {}, {"s": s}):
            sys.exit(0)
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.2)
sys.exit(1)
PY
}

# ---- additions for the embedded demo (tests/e2e/demo.sh); the functions above are unchanged.

# e2e_track PID...: record processes started outside lib.sh so e2e_cleanup ends them too.
e2e_track() { for p in "$@"; do echo "$p" >>"$T/pids"; done; }

# e2e_dpdk_probe: can a DPDK process start here (EAL with --no-huge, two null ports)? 0 yes;
# 1 no, with EAL's complaint in $T/dpdk-probe.log (callers then skip: exit 77).
e2e_dpdk_probe() {
	"$WANEM" --no-huge -m 512 --no-pci --file-prefix "probe$$" --lcores "(0-1)@(0-1)" \
		--vdev net_null0 --vdev net_null1 -- --stats-interval 0 --duration 200ms \
		>"$T/dpdk-probe.log" 2>&1 &
	pid=$!
	echo $pid >>"$T/pids"
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL $pid 2>/dev/null
	wait $pid
	rc=$?
	e2e_dpdk_forget "probe$$"
	return $((rc != 0))
}

# e2e_dpdk_forget PREFIX...: remove the DPDK runtime directories of these --file-prefixes
# (/var/run/dpdk/PREFIX as root, else $XDG_RUNTIME_DIR/dpdk/PREFIX) once their process is gone.
e2e_dpdk_forget() {
	if [ "$(id -u)" = 0 ]; then d=/var/run/dpdk; else d=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
	for p in "$@"; do
		case $p in '' | */* | .*) continue ;; esac
		rm -rf "${d:?}/$p"
	done
}

# e2e_wanem_json: ask ferry-wanem for its stats now (SIGUSR1) and wait until $T/wanem.json
# is rewritten. 0 when it was, 1 after 5 s.
e2e_wanem_json() {
	rm -f "$T/wanem.json"
	kill -USR1 "$WANEM_PID" 2>/dev/null || return 1
	i=0
	while [ ! -s "$T/wanem.json" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$T/wanem.json" ]
}

# e2e_leader NAME TOPIC PARTITION: host:port of the partition's leader (kcat metadata).
e2e_leader() {
	eval "bs=\${$1_BS}"
	kcat -L -b "$bs" -t "$2" -J 2>/dev/null | python3 -c '
import json, sys
md = json.load(sys.stdin)
part = int(sys.argv[1])
leader = [p["leader"] for t in md["topics"] for p in t["partitions"] if p["partition"] == part][0]
print([b["name"] for b in md["brokers"] if b["id"] == leader][0])' "$3"
}
