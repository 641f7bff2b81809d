#!/bin/sh
# hw_fragments.sh - every config fragment under hw/ (core profiles, NIC profiles) loads in
# ferry's config checker without errors or warnings (`ferryctl config check --fragment`), and so
# does each profile combined with each NIC fragment (two-port NIC lines for two-node profiles);
# for each combination ferry-hwcheck's memory formula agrees with the profile's
# ferry.mempool.mbufs. A broken fragment is refused, so the loop cannot pass vacuously.
# Usage: hw_fragments.sh FERRYCTL SOURCE_ROOT FERRY_HWCHECK
set -eu
ctl=$1
src=$2
hw=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# check FILE: exit 0 and "0 error(s), 0 warning(s)"
check() {
	res=$("$ctl" config check "$1" --fragment 2>&1) || fail "$1: exit $?: $res"
	case "$res" in
	*": 0 error(s), 0 warning(s);"*) ;;
	*) fail "$1: $res" ;;
	esac
}

n=0
for f in $(find "$src/hw" -name '*.properties' | sort); do
	check "$f"
	n=$((n + 1))
done
[ "$n" -ge 11 ] || fail "only $n fragments found under hw/ (6 profiles + 5 NICs expected)"
echo "ok: $n fragments"

combos=0
for p in "$src"/hw/profiles/*.properties; do
	case "$p" in *-n2.properties) nodes=2 ;; *) nodes=1 ;; esac
	for nic in "$src"/hw/nics/*.properties; do
		out="$tmp/$(basename "$p" .properties)+$(basename "$nic")"
		if [ "$nodes" = 2 ]; then
			# one WAN port per node: the fragment's commented two-port line
			grep -q '^# two NUMA nodes: ferry.wan.ports = ' "$nic" ||
				fail "$nic has no two-node ports line"
			sed -e '/^ferry.wan.ports = /d' -e 's/^# two NUMA nodes: //' "$nic" |
				cat "$p" - >"$out"
		else
			cat "$p" "$nic" >"$out"
		fi
		check "$out"
		# the formula's pool for this layout must fit the profile's ferry.mempool.mbufs
		"$hw" --memory --json --config "$out" --rate 10gbit --rtt 200ms \
			--numa-nodes "$nodes" >"$out.json" || fail "$out: --memory exited $?"
		want=$(sed -n 's/^ferry.mempool.mbufs = //p' "$p")
		python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); sys.exit(0 if m["mbufs"] <= int(sys.argv[2]) else 1)' \
			"$out.json" "$want" || fail "$out: formula wants more mbufs than $want: $(cat "$out.json")"
		combos=$((combos + 1))
	done
done
echo "ok: $combos profile x NIC combinations"

# The checker does refuse a bad fragment (lcore with two roles, queue on a non-worker lcore).
printf 'ferry.lcores.io = 2-3\nferry.lcores.worker = 3-5\nferry.wan.queue.map = 0:0@7\n' \
	>"$tmp/bad.properties"
if "$ctl" config check "$tmp/bad.properties" --fragment >"$tmp/bad.out" 2>&1; then
	fail "a broken fragment passed: $(cat "$tmp/bad.out")"
fi
grep -q 'error' "$tmp/bad.out" || fail "no error for the broken fragment"
echo "hw_fragments: all passed"
