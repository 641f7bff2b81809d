#!/bin/sh
# tshark_interop.sh - Wireshark's Kafka dissector (a parser nobody here wrote)
# reads ferry's Fetch and Produce traffic: ferryctl produces one batch per codec
# to a librdkafka mock cluster and fetches it back while dumpcap records the
# loopback traffic; the capture must decode with no malformed Fetch/Produce
# frames, and tshark must find (after its own decompression) every value ferry
# wrote. Exit 77 (skip) when tshark/dumpcap is missing or capture is not allowed.
# usage: tshark_interop.sh FERRYCTL
set -u
FERRYCTL=$1
command -v tshark >/dev/null 2>&1 && command -v dumpcap >/dev/null 2>&1 || {
	echo "SKIP: tshark/dumpcap not installed"; exit 77; }

tmp=$(mktemp -d)
mock_pid= cap_pid=
cleanup() {
	[ -n "$cap_pid" ] && kill "$cap_pid" 2>/dev/null
	[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

codecs="none gzip snappy lz4 zstd"
topics=""
for c in $codecs; do topics="$topics --topic tshark-$c"; done
# shellcheck disable=SC2086
"$FERRYCTL" mock $topics >"$tmp/bootstrap" 2>"$tmp/mock.err" &
mock_pid=$!
for _ in $(seq 50); do [ -s "$tmp/bootstrap" ] && break; sleep 0.1; done
bootstrap=$(head -1 "$tmp/bootstrap")
port=${bootstrap##*:}
[ -n "$port" ] || { echo "FAIL: mock cluster did not start"; cat "$tmp/mock.err"; exit 1; }

dumpcap -q -i lo -f "tcp port $port" -w "$tmp/cap.pcapng" 2>"$tmp/dumpcap.err" &
cap_pid=$!
for _ in $(seq 50); do
	grep -q "Capturing on" "$tmp/dumpcap.err" 2>/dev/null && break
	[ -s "$tmp/cap.pcapng" ] && break
	kill -0 "$cap_pid" 2>/dev/null || { echo "SKIP: dumpcap cannot capture on lo:"; cat "$tmp/dumpcap.err"; exit 77; }
	sleep 0.1
done
sleep 0.5

status=0
for c in $codecs; do
	for i in $(seq 1 20); do printf 'key-%s-%d\tferry-value-%s-%d-%s\n' "$c" "$i" "$c" "$i" \
		"$(printf '%0100d' "$i")"; done >"$tmp/in-$c"
	"$FERRYCTL" produce --broker "$bootstrap" --topic "tshark-$c" --codec "$c" <"$tmp/in-$c" \
		>>"$tmp/ferry.log" 2>&1 || { echo "FAIL: produce $c"; status=1; }
	"$FERRYCTL" fetch --broker "$bootstrap" --topic "tshark-$c" >>"$tmp/ferry.log" 2>&1 ||
		{ echo "FAIL: fetch $c"; status=1; }
done
sleep 0.5
kill -INT "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=

T="tshark -r $tmp/cap.pcapng -d tcp.port==$port,kafka"
# Requests carry kafka.request_key, responses kafka.response_key (matched to their request).
produce=$($T -Y "kafka.request_key == 0 || kafka.response_key == 0" 2>/dev/null | wc -l)
fetch=$($T -Y "kafka.request_key == 1 || kafka.response_key == 1" 2>/dev/null | wc -l)
bad=$($T -Y "(kafka.request_key in {0 1} || kafka.response_key in {0 1}) && (_ws.malformed || _ws.expert.severity >= warning)" 2>/dev/null)
# Values ferry wrote ("ferry-value-" in hex: tshark prints bytes fields as hex), as tshark
# itself decompressed them from Produce requests and Fetch responses.
pvalues=$($T -Y "kafka.request_key == 0" -T fields -e kafka.message_value 2>/dev/null | tr ',' '\n' | grep -c "^66657272792d76616c75652d" || true)
values=$($T -Y "kafka.response_key == 1" -T fields -e kafka.message_value 2>/dev/null | tr ',' '\n' | grep -c "^66657272792d76616c75652d" || true)
all_malformed=$($T -Y "_ws.malformed" 2>/dev/null | wc -l)

echo "tshark: $produce Produce frames, $fetch Fetch frames; values decoded: $pvalues in Produce requests, $values in Fetch responses"
echo "tshark: $all_malformed malformed frame(s) in the whole capture (the mock's own ApiVersions v3 answer is malformed, kafka-wire-facts §1.6)"
if [ -n "$bad" ]; then echo "FAIL: malformed/warning Fetch or Produce frames:"; echo "$bad"; status=1; fi
[ "$produce" -ge 10 ] || { echo "FAIL: expected >= 10 Produce frames, got $produce"; status=1; }
[ "$fetch" -ge 10 ] || { echo "FAIL: expected >= 10 Fetch frames, got $fetch"; status=1; }
[ "$values" -ge 100 ] || { echo "FAIL: tshark decoded $values of 100 values in Fetch responses"; status=1; }
[ "$pvalues" -ge 100 ] || { echo "FAIL: tshark decoded $pvalues of 100 values in Produce requests"; status=1; }
if [ $status -ne 0 ]; then grep -v "^offset=" "$tmp/ferry.log"; fi
exit $status
