#!/bin/sh
# demo.sh - the embedded two-region demo (README quick start, scripts/demo.sh; meson test
# 'e2e_demo', suite e2e). On one host, nothing configured:
#   - two librdkafka mock clusters, london (source) and singapore (target), topics made up
#     front (the mock has no admin API), as tests/e2e/faults.sh does;
#   - ferry-loadgen writes trades, orders, risk rows and client records (some with PII) to
#     london for 45 s (11,700 records);
#   - two ferryd gateways carry them through ferry-wanem (85 ms each way = 170 ms RTT, 0.1 %
#     loss) under control/rules/demo.yaml: client-trades denied, cards and IBANs masked,
#     e-mails on risk tokenised with a key made at run time;
#   - a consumer group (demo-risk-app) reads part of london's trades and commits, and
#     `ferryctl translate` maps its offsets to singapore; `ferryctl status` shows the flow;
#   - `ferryctl verify --at-least-once` proves every permitted record arrived with its policy
#     applied and nothing denied crossed; tests/e2e/demo_report.py prints the report and its
#     own checks (samples before/after, translation, lag).
# The last line is "demo: PASS" or "demo: FAIL: <what>".
#
# usage: demo.sh BUILD_DIR [--keep]      (--keep or KEEP=1: keep the temp dir and its logs)
# Exit 0 pass, 1 fail, 77 skip (DPDK cannot start here).
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [--keep]" >&2; exit 2; }
BUILD=$(cd "$1" && pwd) || exit 2
shift
for a in "$@"; do
	case $a in
	--keep) KEEP=1 ;;
	*) echo "demo.sh: unknown argument '$a' (usage: demo.sh BUILD_DIR [--keep])" >&2; exit 2 ;;
	esac
done
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/ferry-demo.XXXXXX)
. "$SRC/tests/e2e/lib.sh"

# Load: records per second and topic, for LOAD_S seconds. The producers batch for up to
# 500 ms (linger.ms): the mock cluster answers a Fetch with one record batch per partition,
# and with a stream of one-record batches ferryd's fetcher can fall behind on a partition
# (several records a second short) and drain it at a few batches a second afterwards.
LOAD_S=45
TOPICS="trades orders risk client-trades"
load_of() { # TOPIC: rate (records/s), record kinds, share of records with PII
	case $1 in
	trades) rate=100 kinds=trade pii=0.05 ;;
	orders) rate=80 kinds=order pii=0.05 ;;
	risk) rate=50 kinds=risk pii=0.25 ;;
	client-trades) rate=30 kinds=client:3,trade:1 pii=0.5 ;;
	esac
}
GROUP=demo-risk-app

T0=$(date +%s)
STEP="start"
VERDICT=""
say() { printf '[%3ds] %s\n' $(($(date +%s) - T0)) "$*"; }
fail() { # WHAT [LOG...]: show the logs' tails, then stop with "demo: FAIL: WHAT"
	what=$1; shift
	for f in "$@"; do [ -f "$f" ] && { echo "--- tail of $f"; tail -n 25 "$f"; }; done
	VERDICT="demo: FAIL: $what"
	KEEP=1
	exit 1
}
finish() {
	rc=$?
	trap - EXIT INT TERM
	e2e_cleanup
	e2e_dpdk_forget "wanem$$" "fd-source-$$" "fd-target-$$"
	if [ -z "$VERDICT" ]; then
		case $rc in
		0) VERDICT="demo: PASS" ;;
		77) ;;
		130 | 143) VERDICT="demo: FAIL: interrupted during: $STEP" ;;
		*) VERDICT="demo: FAIL: $STEP (exit $rc)"; KEEP=1 ;;
		esac
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "logs and data kept in $T"; else rm -rf "$T"; fi
	[ -n "$VERDICT" ] && echo "$VERDICT"
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STEP="checking tools"
e2e_bin
for tool in openssl kcat python3; do
	command -v $tool >/dev/null 2>&1 || fail "$tool not found (scripts/install-deps.sh installs it)"
done
STEP="starting DPDK"
if ! e2e_dpdk_probe; then
	tail -n 5 "$T/dpdk-probe.log"
	VERDICT="demo: FAIL: DPDK cannot start here (EAL, --no-huge): skipped"
	exit 77
fi
E2E_KC_PORT=$((20000 + $$ % 5000)); export E2E_KC_PORT

echo "ferry demo: london -> singapore over a 170 ms RTT, 0.1 % loss WAN, for about a minute"
STEP="certificates and mock clusters"
e2e_certs
e2e_mock london trades:4 orders:3 risk:2 client-trades:2 heartbeats:1 \
	mm2-offset-syncs.singapore.internal:1
# london.client-trades too: the target gateway makes the remote topic of every source topic,
# denied ones included (it stays empty); without it ferryd finds no controller to send CreateTopics to
# (the mock names none), then relies on auto-creation.
e2e_mock singapore london.trades:4 london.orders:3 london.risk:2 london.client-trades:2 \
	london.heartbeats:1 heartbeats:1 london.checkpoints.internal:1
say "mock clusters: london $london_BS, singapore $singapore_BS"

STEP="rules"
cp "$SRC/control/rules/demo.yaml" "$T/rules.yaml"
head -c 32 /dev/urandom >"$T/demo-token.key"
chmod 600 "$T/demo-token.key"
"$FERRYCTL" rules check "$T/rules.yaml" >"$T/rules-check.txt" 2>&1 ||
	fail "ferryctl rules check $T/rules.yaml" "$T/rules-check.txt"
say "rules: $(head -n1 "$T/rules-check.txt" | sed 's/^[^ ]* //') (control/rules/demo.yaml, fresh 32-byte token key)"

STEP="WAN emulator"
e2e_wanem "--delay 85ms --loss 0.1%"
STEP="gateways"
# groups: the mock has no ListGroups, so the group to checkpoint is named literally
e2e_config source "$T/rules.yaml" "groups = $GROUP"
e2e_config target "$T/rules.yaml" "groups = $GROUP"
# ferryctl status/translate read the same MM2 file; for status, the flow's topics are the
# ones the rules let out (status does not read rules files: a denied topic would show as lag)
sed 's/^london->singapore.topics = .*/london->singapore.topics = trades, orders, risk, heartbeats/' \
	"$T/target.properties" >"$T/status.properties"
e2e_gateway target
e2e_gateway source
e2e_wait_stat source 's["session"]["up"]' 60 ||
	fail "the gateways did not establish a WAN session in 60 s" "$T/source.log" "$T/target.log" "$T/wanem.log"
say "gateways up: ferryd source (london) <-> ferry-wanem (85 ms each way, 0.1 % loss) <-> ferryd target (singapore)"

STEP="load"
python3 "$SRC/tests/e2e/demo_report.py" sample "$T" >"$T/sampler.log" 2>&1 &
e2e_track $!
LG_PIDS=""
for t in $TOPICS; do
	load_of "$t"
	"$LOADGEN" --seed $(($(printf '%s' "$t" | cksum | cut -d' ' -f1) % 100000)) \
		--count $((rate * LOAD_S)) --rate "$rate" --kinds "$kinds" --pii-share "$pii" \
		--max-size 2048 --start-time "$(($(date +%s) * 1000))" \
		--brokers "$london_BS" --topic "$t" -X linger.ms=500 >"$T/lg-$t.log" 2>&1 &
	e2e_track $!
	LG_PIDS="$LG_PIDS $!"
done
date +%s.%N >"$T/load.start"
say "ferry-loadgen: trades, orders, risk, client-trades into london for ${LOAD_S} s"

# While the load runs: `ferryctl status` every ~5 s (heartbeat age, lag), and the consumer
# group reads part of london's trades and commits.
STEP="load (status samples, consumer group)"
GROUP_PID=""
start_group() { # librdkafka consumer group: from the earliest, 1,500 messages, commit on close
	timeout 60 kcat -C -b "$london_BS" -G "$GROUP" -X auto.offset.reset=earliest \
		-X enable.auto.commit=true -c 1500 -q -f '%p %o\n' trades \
		>"$T/group-consumed.txt" 2>"$T/group.err" &
	GROUP_PID=$!
	e2e_track $GROUP_PID
}
i=0
n=0
running=1
while [ $running = 1 ]; do
	sleep 1
	i=$((i + 1))
	running=0
	for p in $LG_PIDS; do kill -0 "$p" 2>/dev/null && running=1; done
	if [ $running = 0 ] || [ $((i % 5)) != 0 ]; then continue; fi
	n=$((n + 1))
	timeout 20 "$FERRYCTL" status --config "$T/status.properties" --json \
		>"$T/status-$n.json" 2>"$T/status-$n.err" || rm -f "$T/status-$n.json"
	[ $n = 3 ] && start_group
	say "loading... $(python3 "$SRC/tests/e2e/demo_report.py" progress "$T" 2>/dev/null)"
done
[ -n "$GROUP_PID" ] || start_group
date +%s.%N >"$T/load.end"
for p in $LG_PIDS; do wait "$p" || fail "ferry-loadgen failed" "$T"/lg-*.log; done

STEP="catching up"
# committed up to the end of every data partition, the ends read from london by kcat now that
# the load is done (the gateway's own high watermark can be a fetch older than the last
# record); the heartbeats partition is never still: one new heartbeat a second
ENDS=$(e2e_ends london trades:4 orders:3 risk:2 client-trades:2)
case $ENDS in *"('client-trades', 1)"*) ;; *) fail "cannot read london's end offsets: $ENDS" ;; esac
e2e_wait_stat source 's["session"]["up"] and all(p["committed"] >= '"$ENDS"'[(p["topic"], p["partition"])] for p in s["partitions"] if p["topic"] != "heartbeats") and s["counters"]["batches_in"] > 0' 120 ||
	fail "replication did not catch up within 120 s of the end of the load (ferryd)" "$T/source.log" "$T/target.log"
date +%s.%N >"$T/caught.up"
say "caught up: every source partition committed to its high watermark"
sleep 1

STEP="consumer group"
wait "$GROUP_PID" || fail "kcat consumer group $GROUP failed" "$T/group.err"
STEP="final status"
timeout 30 "$FERRYCTL" status --config "$T/status.properties" >"$T/status-final.txt" 2>"$T/status-final.err" ||
	fail "ferryctl status" "$T/status-final.err"
STEP="offset translation"
timeout 30 "$FERRYCTL" translate --config "$T/target.properties" --group "$GROUP" \
	--from london --to singapore --json >"$T/translate.json" 2>"$T/translate.err" ||
	fail "ferryctl translate --group $GROUP" "$T/translate.err"
STEP="WAN emulator stats"
e2e_wanem_json || fail "ferry-wanem did not write its stats" "$T/wanem.log"
cp "$T/source.json" "$T/source-final.json"
cp "$T/target.json" "$T/target-final.json"

STEP="verify"
say "verifying (ferryctl verify --at-least-once) and reading both clusters back"
MODE=--at-least-once
"$FERRYCTL" verify --source "$london_BS" --target "$singapore_BS" --source-alias london \
	--rules "$T/rules.yaml" $MODE --topic trades --topic orders --topic risk --topic client-trades \
	>"$T/verify.txt" 2>&1
echo $? >"$T/verify.rc"

STEP="reading both clusters"
mkdir -p "$T/dump"
for t in $TOPICS; do
	timeout 60 kcat -C -b "$london_BS" -t "$t" -o beginning -e -q \
		-f '%p\t%o\t%T\t%K\t%S\t%k\t%s\n' >"$T/dump/london.$t.tsv" 2>"$T/dump/london.$t.err" ||
		fail "kcat could not read london $t" "$T/dump/london.$t.err"
	timeout 60 kcat -C -b "$singapore_BS" -t "london.$t" -o beginning -e -q \
		-f '%p\t%o\t%T\t%K\t%S\t%k\t%s\n' >"$T/dump/singapore.london.$t.tsv" \
		2>"$T/dump/singapore.$t.err" ||
		fail "kcat could not read singapore london.$t" "$T/dump/singapore.$t.err"
done

STEP="report"
echo
python3 "$SRC/tests/e2e/demo_report.py" report "$T" "$GROUP"
rc=$?
case $rc in
0) ;;
1) VERDICT="demo: FAIL: $(tail -n1 "$T/report.failures" 2>/dev/null || echo 'a check failed')"; KEEP=1; exit 1 ;;
*) fail "the report could not be made (demo_report.py exit $rc)" ;;
esac
exit 0
