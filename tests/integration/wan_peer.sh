#!/bin/sh
# wan_peer.sh - the ferry WAN transport end to end (issue 5): two ferry-wanpeer processes
# (sender, receiver) with keys from the TLS 1.3 key channel over localhost, moving
# deterministic batches (1 B .. 1 MiB) on several lanes; the receiver checks every batch
# arrived exactly once, in order per lane, byte for byte, and exits 0 only then.
#
# usage: wan_peer.sh FERRY_WANPEER [FERRY_WANEM]
#   direct (net_memif, receiver server / sender client):
#     clean, 2 queues; forged + replayed + truncated injection with exact counts (0 accepted);
#     rekey forced mid-transfer plus packet-count rekeys, no packet lost (--lossless);
#   through ferry-wanem (both peers memif clients of its two servers), when given:
#     1 %, 10 %, 30 % loss with reordering, duplication and corruption, and a 10 s outage;
#   jumbo frames (MTU 9000, memif bsize=9216 on both peers, ferry-wanem --mtu 9000): direct
#     with injection (--lossless), through ferry-wanem with 2 % loss and the other
#     impairments, each checking the frames really were ~9000 bytes (the sender's mean frame
#     and ferry-wanem's a2b bytes per packet above 7000, where MTU 1500 allows 1514); and
#     peers with different MTUs, which the key channel must refuse ("configuration mismatch").
# Every DPDK process runs with --no-huge and its own --file-prefix; sockets and certificates
# live in a private temp dir. Exit 77 (skip) when DPDK cannot start or openssl is missing.
set -u
PEER=$1
WANEM=${2:-}

command -v openssl >/dev/null 2>&1 || { echo "SKIP: openssl CLI not found"; exit 77; }
T=$(mktemp -d /tmp/ferry-wanpeer.XXXXXX)
WANEM_PID=
cleanup() {
	[ -n "$WANEM_PID" ] && kill "$WANEM_PID" 2>/dev/null && wait "$WANEM_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# Throwaway CA and one certificate per gateway (DNS SAN = its name).
(
	cd "$T" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.crt -days 1 -subj "/CN=ferry test CA" || exit 1
	for n in gw-a gw-b; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
			-out $n.csr -subj "/CN=$n" || exit 1
		printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' $n > $n.ext
		openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt \
			-days 1 -extfile $n.ext || exit 1
	done
) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; echo "FAIL: certificate generation"; exit 1; }

EAL="--no-huge -m 256 --no-pci --lcores (0-2)@(0-1)"
# Key-channel ports below the kernel's ephemeral range (ip_local_port_range, 32768 up by
# default): other tests' client sockets take ephemeral ports, and one of those once held the
# port a receiver wanted to listen on. Each case still checks the port is free first.
KCPORT=$((20000 + $$ % 12000))
FAILS=0
N=0
# Per-case knobs (set before run_case, reset after): MIF, devargs appended to both peers'
# memif ports; RARGS, receiver-only arguments; EXPECT_FAIL, a pattern one peer's log must
# show when both peers are meant to fail; MINFRAME, the least mean frame size (bytes) the
# sender, and ferry-wanem when there is one, must report.
MIF= RARGS= EXPECT_FAIL= MINFRAME=

# wait_file PATH: up to 20 s for a memif server's socket to appear.
wait_file() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$1" ]
}

# run_case NAME "COMMON ARGS" "SENDER ARGS" [wanem impairment args]
run_case() {
	name=$1 common=$2 sargs=$3
	N=$((N + 1))
	KCPORT=$((KCPORT + 1))
	# skip ports something already listens on or uses (ss is in iproute2)
	while ss -Htan 2>/dev/null | awk '{print $4}' | grep -q ":$KCPORT\$"; do
		KCPORT=$((KCPORT + 1))
	done
	sock_r="$T/r$N.sock" sock_s="$T/s$N.sock"
	if [ $# -ge 4 ]; then
		# The emulator owns both memif servers: port 0 (a) faces the sender.
		# shellcheck disable=SC2086
		"$WANEM" --no-huge -m 256 --no-pci -l 0 --file-prefix "wem$$n$N" \
			--vdev "net_memif0,role=server,socket=$sock_s,socket-abstract=no" \
			--vdev "net_memif1,role=server,socket=$sock_r,socket-abstract=no" \
			-- --idle-sleep-us 50 --stats-interval 0 $4 >"$T/wanem$N.log" 2>&1 &
		WANEM_PID=$!
		wait_file "$sock_s" && wait_file "$sock_r" || { echo "FAIL: $name: no emulator"; \
			tail -n 5 "$T/wanem$N.log"; FAILS=$((FAILS + 1)); return; }
		rrole=client
		srole=client
	else
		sock_s=$sock_r
		rrole=server
		srole=client
	fi
	# shellcheck disable=SC2086
	"$PEER" $EAL --file-prefix "wpr$$n$N" \
		--vdev "net_memif0,role=$rrole,socket=$sock_r,socket-abstract=no$MIF" -- \
		--role recv --ca "$T/ca.crt" --cert "$T/gw-b.crt" --key "$T/gw-b.key" \
		--peer-name gw-a --kc-port $KCPORT $common $RARGS >"$T/recv$N.log" 2>&1 &
	rpid=$!
	# The receiver is the memif server of a direct link: its socket must exist first.
	[ $# -ge 4 ] || wait_file "$sock_r"
	# shellcheck disable=SC2086
	"$PEER" $EAL --file-prefix "wps$$n$N" \
		--vdev "net_memif0,role=$srole,socket=$sock_s,socket-abstract=no$MIF" -- \
		--role send --ca "$T/ca.crt" --cert "$T/gw-a.crt" --key "$T/gw-a.key" \
		--peer-name gw-b --kc-port $KCPORT $common $sargs >"$T/send$N.log" 2>&1
	src=$?
	wait $rpid
	rrc=$?
	if [ -n "$WANEM_PID" ]; then
		kill -INT "$WANEM_PID" 2>/dev/null
		wait "$WANEM_PID" 2>/dev/null
		WANEM_PID=
	fi
	grep -h '^receiver: [0-9]' "$T/recv$N.log" | sed "s/^/# $name: /"
	grep -h '^sender: [0-9]' "$T/send$N.log" | sed "s/^/# $name: /"
	if [ $src -eq 77 ] || [ $rrc -eq 77 ]; then
		echo "SKIP: $name: DPDK could not start here:"
		tail -n 5 "$T/send$N.log" "$T/recv$N.log"
		exit 77
	fi
	if [ -n "$EXPECT_FAIL" ]; then
		if [ $src -ne 0 ] && [ $rrc -ne 0 ] &&
			grep -h "$EXPECT_FAIL" "$T/send$N.log" "$T/recv$N.log" >"$T/why$N"; then
			sed "s/^/# $name: /" "$T/why$N"
			echo "ok $N - $name"
		else
			echo "FAIL: $name (sender $src, receiver $rrc; want both to fail with" \
				"'$EXPECT_FAIL')"
			tail -n 5 "$T/send$N.log" "$T/recv$N.log"
			FAILS=$((FAILS + 1))
		fi
		return
	fi
	bad=
	if [ -n "$MINFRAME" ]; then
		# sender: "... N frames sent, M bytes on average"; wanem: "a2b in N pkt M B ..."
		f=$(sed -n 's/^sender: mtu .* frames sent, \([0-9]*\) bytes on average.*/\1/p' \
			"$T/send$N.log")
		grep -h '^sender: mtu' "$T/send$N.log" | sed "s/^/# $name: /"
		[ -n "$f" ] && [ "$f" -gt "$MINFRAME" ] || bad="sender's mean frame '$f' <= $MINFRAME"
		if [ $# -ge 4 ]; then
			w=$(awk '/ferry-wanem final/ { f = 1 } f && $1 == "a2b" && $3 > 0 {
				printf "%d", $5 / $3; exit }' "$T/wanem$N.log")
			echo "# $name: ferry-wanem a2b: ${w:-?} bytes per packet"
			[ -n "$w" ] && [ "$w" -gt "$MINFRAME" ] ||
				bad="$bad${bad:+; }ferry-wanem's a2b bytes per packet '$w' <= $MINFRAME"
		fi
	fi
	if [ $src -ne 0 ] || [ $rrc -ne 0 ] || [ -n "$bad" ]; then
		[ -n "$bad" ] && echo "FAIL: $name: $bad"
		echo "FAIL: $name (sender $src, receiver $rrc)"
		echo "--- receiver"; tail -n 15 "$T/recv$N.log"
		echo "--- sender"; tail -n 15 "$T/send$N.log"
		[ $# -ge 4 ] && { echo "--- wanem"; tail -n 15 "$T/wanem$N.log"; }
		FAILS=$((FAILS + 1))
	else
		echo "ok $N - $name"
	fi
}

# (a) directly over memif
run_case "direct clean, 2 queues" "--batches 200 --seed 11 --queues 2 --lanes 4 --lossless --timeout 60" ""
run_case "direct injection (forged/replay/truncated)" \
	"--batches 200 --seed 12 --queues 2 --lanes 4 --lossless --timeout 60" \
	"--inject-forged 150 --inject-replay 150 --inject-trunc 150"
run_case "direct rekey mid-transfer" \
	"--batches 300 --seed 13 --queues 2 --lanes 3 --lossless --rekey-at 100 --rekey-packets 1500 --timeout 60" \
	"--inject-replay 30"

# (b) through the WAN emulator (one queue: it forwards one queue pair)
if [ -n "$WANEM" ]; then
	IMP="--delay 5ms --jitter 1ms --reorder 2%,3ms --dup 2% --corrupt 1%"
	COMMON="--batches 60 --max-size 262144 --lanes 3 --rate-mbps 200 --timeout 120"
	run_case "wanem 1% loss" "$COMMON --seed 21" "--inject-forged 20 --inject-replay 20" \
		"$IMP --loss 1%"
	run_case "wanem 10% loss" "$COMMON --seed 22" "--inject-forged 20" "$IMP --loss 10%"
	run_case "wanem 30% loss" "$COMMON --seed 23" "" "$IMP --loss 30%"
	run_case "wanem 10 s outage" "--batches 80 --max-size 262144 --lanes 3 --rate-mbps 20 --seed 24 --timeout 150" \
		"--rekey-at 40" "$IMP --loss 1% --outage 200ms+10s"
fi

# (c) jumbo frames. memif's buffers (bsize, default 2048) are the client's and must hold a
# whole 9014-byte frame: ferry-wanpeer refuses a smaller bsize (wan_dpdk.c says why).
MIF=",bsize=9216" MINFRAME=7000
run_case "direct jumbo MTU 9000 (injection, lossless)" \
	"--mtu 9000 --batches 100 --min-size 16384 --max-size 262144 --seed 41 --lanes 3 --lossless --timeout 60" \
	"--inject-forged 30 --inject-trunc 30"
if [ -n "$WANEM" ]; then
	run_case "wanem jumbo MTU 9000, 2% loss" \
		"--mtu 9000 --batches 80 --min-size 16384 --max-size 262144 --lanes 3 --rate-mbps 200 --seed 42 --timeout 60" \
		"" "--mtu 9000 --limit 2048 $IMP --loss 2%"
fi
MINFRAME=
RARGS="--mtu 1500" EXPECT_FAIL="configuration mismatch.*mtu"
run_case "MTU mismatch (9000 vs 1500) refused by the key channel" \
	"--batches 10 --seed 43 --lanes 3 --timeout 30" "--mtu 9000"
MIF= RARGS= EXPECT_FAIL=

[ $FAILS -eq 0 ] || { echo "FAIL: $FAILS case(s)"; exit 1; }
echo "PASS: $N case(s)"
