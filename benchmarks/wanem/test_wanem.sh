#!/bin/sh
# test_wanem.sh FERRY_WANEM WANEM_PROBE - integration test of the WAN emulator.
#
# Each scenario starts ferry-wanem with two memif *server* ports (A, B) on sockets in a
# private temp dir, waits until it has started its ports, then runs wanem_probe with two
# memif *client* ports: the probe sends numbered, timestamped UDP packets A->B and B->A,
# SIGTERMs the emulator when everything has drained, reads its --json report and checks it
# against what arrived (see wanem_probe.c). memif works with --no-huge (non-zero-copy mode:
# the client's regions are memfd-backed), so no hugepages are needed; each DPDK process has
# its own --file-prefix. Only lower bounds on time are checked.
set -eu

WANEM=$1
PROBE=$2
dir=$(mktemp -d /tmp/ferry-wanem-test.XXXXXX)
wpid=""
cleanup() {
	if [ -n "$wpid" ]; then
		kill "$wpid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# The emulator and the probe on different cores when there are two.
if [ "$(nproc)" -gt 1 ]; then pcore=1; else pcore=0; fi
EAL="--no-huge --no-pci --log-level=lib.eal:error --log-level=pmd.net.memif:error"
n=0
failed=0

# scenario NAME "EMULATOR OPTIONS" "PROBE OPTIONS"
scenario() {
	name=$1
	wopts=$2
	popts=$3
	n=$((n + 1))
	a=$dir/$n-a.sock
	b=$dir/$n-b.sock
	json=$dir/$n.json
	log=$dir/$n.log
	echo "=== $name: ferry-wanem $wopts"
	# shellcheck disable=SC2086
	"$WANEM" $EAL -m 128 -l 0 --file-prefix "wanem-test-$$-$n" \
		--vdev "net_memif0,role=server,socket=$a,socket-abstract=no" \
		--vdev "net_memif1,role=server,socket=$b,socket-abstract=no" \
		-- --json "$json" --stats-interval 0 --limit 4096 $wopts >"$log" 2>&1 &
	wpid=$!
	# ready once it prints its ports line (after rte_eth_dev_start on both)
	i=0
	until grep -q "^ferry-wanem: A = port" "$log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$wpid" 2>/dev/null; then
			echo "ferry-wanem did not start:"
			cat "$log"
			exit 1
		fi
		sleep 0.05
	done
	# shellcheck disable=SC2086
	if ! "$PROBE" $EAL -m 128 -l "$pcore" --file-prefix "wanem-probe-$$-$n" \
		--vdev "net_memif0,socket=$a,socket-abstract=no" \
		--vdev "net_memif1,socket=$b,socket-abstract=no" \
		-- --wanem-pid "$wpid" --wanem-json "$json" $popts; then
		failed=$((failed + 1))
		echo "--- $name FAILED; emulator output:"
		cat "$log"
		[ -f "$json" ] && cat "$json"
	fi
	wait "$wpid" || { echo "ferry-wanem exited with $?"; failed=$((failed + 1)); }
	wpid=""
}

scenario "clean" "" \
	"--count 5000 --pps 20000 --expect-all --expect-no-drop both"

scenario "random loss 10%" "--loss 10% --seed 7" \
	"--count 10000 --pps 20000 --expect-all --expect-loss 10%"

scenario "duplication and corruption" "--dup 5% --corrupt 5% --seed 3" \
	"--count 10000 --pps 20000 --expect-dup 5% --expect-corrupt 5%"

# 2000 x 1000-byte frames at 20 Mbit/s: 0.8 s at the bottleneck, jitter kept in order;
# b2a's 64 KiB queue overflows (the probe offers 160 Mbit/s)
scenario "delay, jitter, rate, queue" \
	"--delay 50ms --jitter 2ms --rate 20mbit --queue 4MB --b2a-queue 64k" \
	"--count 2000 --pps 20000 --size 1000 --expect-all --expect-no-drop a2b --min-delay 48ms --rate 20mbit --expect-drop b2a:queue_full"

# a 1 s window inside 2 s of traffic: "some packets were dropped" holds unless the emulator is
# descheduled for the whole window (then it correctly stamps every arrival after it)
scenario "outage" "--outage 300ms+1s --delay 20ms" \
	"--count 4000 --pps 2000 --min-delay 20ms --expect-all --outage 300ms+1s"

echo "=== $n scenarios, $failed failed"
[ "$failed" -eq 0 ]
