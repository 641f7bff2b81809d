#!/bin/sh
# sasl.sh - a ferryd pair whose source cluster needs SASL/SCRAM-SHA-256 (issue 4, 6): london is
# ferry-brokersim with a SCRAM user and 2,000 loadgen records in two partitions, singapore a
# librdkafka mock. The MM2 file gives the credentials the Java way (sasl.mechanism and
# sasl.jaas.config), so the translation into librdkafka's names and ferryd's data path is
# what is tested. Pass: every record on the target, byte for byte (read with kcat on both
# sides, london's over SASL by librdkafka), no session reset.
#
# usage: sasl.sh BUILD_DIR. Exit 0 pass, 1 fail, 77 skip (DPDK cannot start here, no kcat).
set -u
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/ferry-e2e-sasl.XXXXXX)
. "$SRC/tests/e2e/lib.sh"
e2e_bin
cleanup() { e2e_cleanup; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; }
trap cleanup EXIT INT TERM
command -v kcat >/dev/null 2>&1 || { echo "SKIP: kcat not found"; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "SKIP: openssl not found"; exit 77; }
E2E_KC_PORT=$((20000 + $$ % 5000)); export E2E_KC_PORT
# 2,000 records (~2.5 MB per partition): librdkafka's mock keeps only its last few MB of a
# partition and reads from the beginning would start later
N=2000
e2e_certs
"$LOADGEN" --seed 3 --count $N --out-file "$T/src.batches" --batch-records 100 >"$T/lg.log" 2>&1 ||
	e2e_die "ferry-loadgen: $(tail -2 "$T/lg.log")"
"$BUILD/benchmarks/brokersim/ferry-brokersim" --listen 127.0.0.1:0 --store \
	--topic "trades:2:source=$T/src.batches" --source-records $N \
	--sasl-scram SCRAM-SHA-256:bob:bob-secret >"$T/london.bs" 2>"$T/london.log" &
echo $! >>"$T/pids"
i=0
while [ ! -s "$T/london.bs" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
london_BS=$(head -n1 "$T/london.bs")
[ -n "$london_BS" ] || e2e_die "ferry-brokersim did not start: $(tail -3 "$T/london.log")"
e2e_mock singapore london.trades:2 london.heartbeats:1 heartbeats:1 london.checkpoints.internal:1
e2e_wanem "--delay 5ms"
printf 'version: 1\ndefault: permit\nrules: []\n' >"$T/rules.yaml"
# shellcheck disable=SC2016
JAAS='org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="bob-secret";'
e2e_config source "$T/rules.yaml" "london.security.protocol = SASL_PLAINTEXT" \
	"london.sasl.mechanism = SCRAM-SHA-256" "london.sasl.jaas.config = $JAAS"
e2e_config target "$T/rules.yaml" "london.security.protocol = SASL_PLAINTEXT" \
	"london.sasl.mechanism = SCRAM-SHA-256" "london.sasl.jaas.config = $JAAS"
e2e_gateway target
e2e_gateway source
e2e_wait_stat source 's["session"]["up"]' 90 ||
	{ tail -20 "$T/source.log" "$T/target.log"; e2e_die "no session"; }
e2e_wait_stat source 'all(p["committed"] >= '$N' for p in s["partitions"] if p["topic"] == "trades")' 180 ||
	{ grep -v '^EAL\|^TELEMETRY' "$T/source.log" | tail -20; e2e_die "replication did not catch up"; }
grep -h 'brokers of london' "$T/source.log"
KC="-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username=bob -X sasl.password=bob-secret"
rc=0
for p in 0 1; do
	# shellcheck disable=SC2086
	timeout 60 kcat -C -b "$london_BS" $KC -t trades -p $p -o beginning -c $N -q \
		-f '%o %k %s\n' >"$T/london-$p.txt" 2>"$T/kcat-l.err"
	timeout 60 kcat -C -b "$singapore_BS" -t london.trades -p $p -o beginning -c $N -q \
		-f '%o %k %s\n' >"$T/singapore-$p.txt" 2>"$T/kcat-s.err"
	if [ "$(wc -l <"$T/london-$p.txt")" -eq $N ] && cmp -s "$T/london-$p.txt" "$T/singapore-$p.txt"; then
		echo "trades-$p: $N records, identical on london (SASL) and singapore"
	else
		echo "FAIL: trades-$p: london $(wc -l <"$T/london-$p.txt") records, singapore $(wc -l <"$T/singapore-$p.txt"), first difference:"
		cmp "$T/london-$p.txt" "$T/singapore-$p.txt" | head -1; rc=1
	fi
done
python3 - "$T/source.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
c = s["counters"]
print(f"source: sessions={c['sessions']} resets={c['session_resets']} batches_out={c['batches_out']}")
sys.exit(1 if c["session_resets"] else 0)
PY
[ $? -eq 0 ] || { echo "FAIL: session resets"; rc=1; }
grep -q 'sasl_ok\|SASL' "$T/london.log" && tail -2 "$T/london.log"
[ $rc -eq 0 ] || { KEEP=1; echo "FAIL (logs in $T)"; exit 1; }
echo PASS
