#!/bin/sh
# errors.sh - ferryd facing bad input (issue 7, robustness): a bad configuration value, a bad
# rules file, a WAN port that does not exist, and no peer to talk to. Each must give a clear
# message naming what is wrong: exit 2 for the first three, a "waiting for" status (and a
# clean exit 0 on SIGTERM) for the last.
# usage: errors.sh BUILD_DIR      Exit 0 pass, 1 fail, 77 skip.
set -u
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/ferry-err.XXXXXX)
. "$SRC/tests/e2e/lib.sh"
e2e_bin
trap 'e2e_cleanup; rm -rf "$T"' EXIT INT TERM
command -v openssl >/dev/null 2>&1 || { echo "SKIP: openssl not found"; exit 77; }
E2E_KC_PORT=$((25000 + $$ % 5000)); export E2E_KC_PORT
london_BS=127.0.0.1:1 singapore_BS=127.0.0.1:2
e2e_certs
FAILS=0
expect() { # NAME WANT_RC PATTERN: run ferryd with $T/source.properties
	"$FERRYD" --no-huge -m 512 --file-prefix "fd-err-$$" --lcores "(0-2)@(0-1)" -- \
		--config "$T/source.properties" --role source >"$T/out" 2>&1
	rc=$?
	if [ $rc -ne "$2" ] || ! grep -q -- "$3" "$T/out"; then
		echo "FAIL: $1: exit $rc (want $2), output:"; tail -5 "$T/out"; FAILS=$((FAILS + 1))
	else
		echo "ok: $1: exit $rc: $(grep -- "$3" "$T/out" | head -1)"
	fi
}

e2e_config source "" "ferry.wan.mtu = 99999"
expect "bad config value" 2 "source.properties:[0-9]*: error: ferry.wan.mtu"

printf 'version: 1\nrules:\n  - name: x\n    patterns: ["(unclosed"]\n    action: mask\n' >"$T/bad.yaml"
e2e_config source "$T/bad.yaml"
expect "bad rules" 2 "bad.yaml:[0-9]*"

e2e_config source "" "ferry.wan.ports = 0000:99:00.0"
expect "missing port" 2 "no WAN port"

# more mbufs than the memory given (-m 512): refused at start, naming the key and the size
e2e_config source "" "ferry.mempool.mbufs = 1048575"
expect "packet pool too large" 2 "packet pool of ferry.mempool.mbufs = 1048575 mbufs"

# a SASL mechanism the data path does not speak (Kerberos): named with its line
e2e_config source "" "london.security.protocol = SASL_PLAINTEXT" "london.sasl.mechanism = GSSAPI" \
	"london.sasl.kerberos.service.name = kafka"
expect "unsupported sasl.mechanism" 2 "london: sasl.mechanism GSSAPI: ferryd's broker data path speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512"

# TLS to the brokers with a CA file that is not there: named, before anything connects
e2e_config source "" "london.security.protocol = SSL" "london.ssl.ca.location = $T/no-such-ca.pem"
expect "missing ssl.ca.location" 2 "london.ssl.ca.location $T/no-such-ca.pem: No such file"

# no peer: the gateway keeps trying and says what it waits for (also on /metrics: session
# down); SIGTERM stops it cleanly
MPORT=$((30000 + $$ % 2000))
E2E_METRICS_BASE=$MPORT e2e_config source ""
sed -i "s|^ferry.wan.ports = .*|ferry.wan.ports = net_null0|" "$T/source.properties"
"$FERRYD" --no-huge -m 512 --file-prefix "fd-err2-$$" --lcores "(0-2)@(0-1)" -- \
	--config "$T/source.properties" --role source >"$T/out" 2>&1 &
pid=$!
i=0
until grep -q "waiting for the target gateway at 127.0.0.1:$E2E_KC_PORT" "$T/out" || [ $i -ge 150 ]; do
	sleep 0.1; i=$((i + 1)); done
if curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics" &&
	grep -q '^ferry_session_up{.*role="source".*} 0' "$T/metrics" &&
	grep -q '^# TYPE ferry_wan_tx_pkts_total counter' "$T/metrics"; then
	echo "ok: /metrics while waiting: $(grep -c '^ferry_' "$T/metrics") samples, ferry_session_up 0"
else
	echo "FAIL: /metrics on port $MPORT:"; head -5 "$T/metrics"; FAILS=$((FAILS + 1))
fi
if grep -q "waiting for the target gateway" "$T/out" && kill -0 $pid 2>/dev/null; then
	kill -TERM $pid; wait $pid; rc=$?
	if [ $rc -eq 0 ]; then echo "ok: no peer: $(grep -m1 'waiting for' "$T/out"), exit 0 on SIGTERM"
	else echo "FAIL: no peer: exit $rc after SIGTERM"; FAILS=$((FAILS + 1)); fi
else
	echo "FAIL: no peer: no waiting status"; tail -5 "$T/out"; kill -9 $pid; FAILS=$((FAILS + 1))
fi
[ $FAILS -eq 0 ] && echo PASS || { echo "FAIL: $FAILS case(s)"; exit 1; }
