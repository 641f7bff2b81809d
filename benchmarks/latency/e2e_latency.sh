#!/bin/sh
# e2e_latency.sh - ferry-bench's end-to-end latency run (issue 8, scenario 6) through the real
# appliance, built from tests/e2e/lib.sh (sourced, not copied): two librdkafka mock clusters
# (london, singapore), ferry-wanem between two ferryd gateways (memif, --no-huge), and
#   1. capacity: ferry-loadgen writes records to london as fast as it can, one record per
#      batch (linger.ms=0, batch.num.messages=1: the shape ferry-loadgen's 5 ms linger gives
#      at the paced rates of step 2, so the figure is the capacity for that traffic), while
#      ferry-latconsume reads them on singapore; the pipeline's max sustained rate is the
#      records delivered per second between the first and the last delivery. A probe of 200
#      records (PROBE) first sizes the measured run to about CAP_S seconds (PROBE to CAP
#      records);
#   2. latency: ferry-loadgen writes at LOAD (default 70 %) of that rate, for about LOAD_S
#      seconds (at most RECORDS records), to london.lat; ferry-latconsume prints, per record,
#      its receive time on singapore minus its CreateTime (same host, same clock).
# No rules file (the gateways forward every topic untouched); producers keep ferry-loadgen's
# own settings (acks=all, idempotent, linger.ms=5). Nothing is tuned for the result.
#
# usage: e2e_latency.sh BUILD_DIR OUT_DIR [--delay-ms 100] [--loss 0.5] [--cap-records 20000]
#            [--cap-s 10] [--probe-records 200] [--records 30000] [--load-s 20] [--load 0.7] [--ferryd PATH] [--ferryctl PATH]
#            [--fetch-wait-ms 500] [--keep]
# Writes OUT_DIR/cap.txt and OUT_DIR/lat.txt (ferry-latconsume lines: latency ms, receive
# time s) and OUT_DIR/e2e.json (the settings and the measured capacity). Every process it
# starts is ended on exit (e2e_cleanup), and the DPDK runtime directories removed.
# Exit 0 done, 1 failure, 2 usage, 77 DPDK cannot start here.
set -u
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR [options]" >&2; exit 2; }
BUILD=$(cd "$1" && pwd) || exit 2
OUT=$2
shift 2
DELAY_MS=100 LOSS=0.5 CAP=20000 CAP_S=10 PROBE_N=200 RECORDS=30000 LOAD_S=20 LOAD=0.7 FERRYD_ARG= FERRYCTL_ARG= FETCH_WAIT=500
while [ $# -gt 0 ]; do
	case $1 in
	--delay-ms) DELAY_MS=$2; shift ;;
	--loss) LOSS=$2; shift ;;
	--cap-records) CAP=$2; shift ;;
	--cap-s) CAP_S=$2; shift ;;
	--probe-records) PROBE_N=$2; shift ;;
	--records) RECORDS=$2; shift ;;
	--load-s) LOAD_S=$2; shift ;;
	--load) LOAD=$2; shift ;;
	--fetch-wait-ms) FETCH_WAIT=$2; shift ;;
	--ferryd) FERRYD_ARG=$2; shift ;;
	--ferryctl) FERRYCTL_ARG=$2; shift ;;
	--keep) KEEP=1 ;;
	*) echo "e2e_latency.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/ferry-lat.XXXXXX)
. "$SRC/tests/e2e/lib.sh"

finish() {
	rc=$?
	trap - EXIT INT TERM
	e2e_cleanup
	e2e_dpdk_forget "wanem$$" "fd-source-$$" "fd-target-$$"
	if [ "${KEEP:-0}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ]; }; then
		e2e_log "e2e_latency: logs kept in $T"
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The binaries lib.sh's functions use (the names e2e_bin sets), with ferryd and ferryctl
# replaceable by another tree's build.
FERRYCTL=${FERRYCTL_ARG:-$BUILD/control/ferryctl}
FERRYD=${FERRYD_ARG:-$BUILD/dataplane/ferryd/ferryd}
WANEM=$BUILD/benchmarks/wanem/ferry-wanem
LOADGEN=$BUILD/benchmarks/loadgen/ferry-loadgen
LATC=$BUILD/benchmarks/latency/ferry-latconsume
for b in "$FERRYCTL" "$FERRYD" "$WANEM" "$LOADGEN" "$LATC"; do
	[ -x "$b" ] || e2e_die "missing $b (build first)"
done
command -v openssl >/dev/null 2>&1 || e2e_die "openssl not found"
if ! e2e_dpdk_probe; then
	tail -n 5 "$T/dpdk-probe.log" >&2
	exit 77
fi
E2E_KC_PORT=$((20000 + $$ % 5000))
while ss -Htan 2>/dev/null | awk '{print $4}' | grep -q ":$E2E_KC_PORT\$"; do
	E2E_KC_PORT=$((E2E_KC_PORT + 1))
done
export E2E_KC_PORT

e2e_certs
e2e_mock london probe:4 cap:4 lat:4 heartbeats:1 mm2-offset-syncs.singapore.internal:1
e2e_mock singapore london.probe:4 london.cap:4 london.lat:4 london.heartbeats:1 heartbeats:1 \
	london.checkpoints.internal:1
e2e_wanem "--delay ${DELAY_MS}ms --loss ${LOSS}%"
# ferry.fetch.wait.max.ms: the mock answers a Fetch that found no data only after this long
# (it cannot wake on new data as a Kafka broker does), so it bounds the latency it adds
e2e_config source "" "ferry.fetch.wait.max.ms = $FETCH_WAIT"
e2e_config target ""
e2e_gateway target
e2e_gateway source
e2e_wait_stat source 's["session"]["up"]' 60 || {
	tail -n 20 "$T/source.log" "$T/target.log" >&2
	e2e_die "the gateways did not establish a WAN session in 60 s"
}
e2e_log "e2e_latency: session up (RTT $((2 * DELAY_MS)) ms, loss $LOSS %)"

# measure NAME TOPIC COUNT [loadgen args]: consume on singapore while loadgen writes to london.
measure() {
	name=$1 topic=$2 count=$3
	shift 3
	"$LATC" --brokers "$singapore_BS" --topic "london.$topic" --count "$count" --idle 60 \
		>"$OUT/$name.txt" 2>"$T/latc-$name.log" &
	cpid=$!
	e2e_track $cpid
	i=0
	until grep -q ready "$T/latc-$name.log" 2>/dev/null || [ $i -ge 300 ]; do
		sleep 0.1; i=$((i + 1)); done
	grep -q ready "$T/latc-$name.log" || { cat "$T/latc-$name.log" >&2; e2e_die "ferry-latconsume did not start"; }
	"$LOADGEN" --seed 8 --count "$count" "$@" --brokers "$london_BS" --topic "$topic" \
		>"$T/lg-$name.log" 2>&1 || { cat "$T/lg-$name.log" >&2; e2e_die "ferry-loadgen ($name)"; }
	wait $cpid || { cat "$T/latc-$name.log" >&2; e2e_die "ferry-latconsume ($name): records missing"; }
	e2e_log "e2e_latency: $name: $(tail -n 1 "$T/latc-$name.log")"
}

# rate FILE: records delivered per second between the first and the last delivery
rate() {
	awk 'NR == 1 { f = $2 } { l = $2; n++ } END { if (n > 1 && l > f) printf "%.1f", (n - 1) / (l - f); else print 0 }' "$1"
}
ONE="-X linger.ms=0 -X batch.num.messages=1"
# shellcheck disable=SC2086
measure probe probe "$PROBE_N" $ONE
PROBE=$(rate "$OUT/probe.txt")
[ "$PROBE" != 0 ] || e2e_die "capacity probe: no delivery span"
NCAP=$(awk -v r="$PROBE" -v s="$CAP_S" -v m="$CAP" -v p="$PROBE_N" 'BEGIN { n = int(r * s); if (n > m) n = m; if (n < p) n = p; print n }')
# shellcheck disable=SC2086
measure cap cap "$NCAP" $ONE
CAPACITY=$(rate "$OUT/cap.txt")
[ "$CAPACITY" != 0 ] || e2e_die "capacity run: no delivery span"
RATE=$(awk -v c="$CAPACITY" -v l="$LOAD" 'BEGIN { printf "%.1f", c * l }')
N=$(awk -v r="$RATE" -v s="$LOAD_S" -v m="$RECORDS" 'BEGIN { n = int(r * s); if (n > m) n = m; if (n < 20) n = 20; print n }')
e2e_log "e2e_latency: capacity $CAPACITY records/s; latency run: $N records at $RATE records/s"
measure lat lat "$N" --rate "$RATE"

cat >"$OUT/e2e.json" <<JSON
{"delay_ms": $DELAY_MS, "rtt_ms": $((2 * DELAY_MS)), "loss_pct": $LOSS,
 "probe_rps": $PROBE, "cap_records": $NCAP, "capacity_rps": $CAPACITY, "load": $LOAD, "rate_rps": $RATE,
 "records": $N, "ferryd": "$FERRYD"}
JSON
exit 0
