#!/bin/sh
# hw_units.sh - hw/ host files that can be checked without changing the host:
#  - the systemd units (ferryd.service, ferryd@.service, the hugetlbfs mounts, the hugepage
#    service) pass `systemd-analyze verify` with no complaint at all (skip when systemd-analyze
#    is missing); ExecStart paths are pointed at a stub, since ferryd is not installed here;
#  - ferry-hugepages.sh against a fake sysfs: --dry-run writes nothing, a run sets each node,
#    a second run changes nothing, --check reports a difference, bad arguments exit 2.
# Usage: hw_units.sh SOURCE_ROOT
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- ferry-hugepages.sh ------------------------------------------------------------------------
hp="$src/hw/hugepages/ferry-hugepages.sh"
sys="$tmp/sys"
for n in 0 1; do
	for s in 2048 1048576; do
		mkdir -p "$sys/devices/system/node/node$n/hugepages/hugepages-${s}kB"
		echo 0 >"$sys/devices/system/node/node$n/hugepages/hugepages-${s}kB/nr_hugepages"
	done
done
nr() { cat "$sys/devices/system/node/node$1/hugepages/hugepages-$2kB/nr_hugepages"; }

sh "$hp" --sysfs "$sys" --dry-run --pages-2m 512 >"$tmp/dry.out"
[ "$(nr 0 2048)" = 0 ] && [ "$(nr 1 2048)" = 0 ] || fail "--dry-run wrote"
grep -q 'would write 512' "$tmp/dry.out" || fail "--dry-run said: $(cat "$tmp/dry.out")"

sh "$hp" --sysfs "$sys" --pages-2m 512 --node 1:64 >"$tmp/set.out" || fail "set: $(cat "$tmp/set.out")"
[ "$(nr 0 2048)" = 512 ] && [ "$(nr 1 2048)" = 64 ] || fail "set gave $(nr 0 2048)/$(nr 1 2048)"
[ "$(nr 0 1048576)" = 0 ] || fail "1G pages touched without --pages-1g"

sh "$hp" --sysfs "$sys" --pages-2m 512 --node 1:64 >"$tmp/again.out"
[ "$(grep -c unchanged "$tmp/again.out")" = 2 ] || fail "second run not idempotent: $(cat "$tmp/again.out")"

rc=0
sh "$hp" --sysfs "$sys" --check --pages-2m 600 >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "--check with a difference exited $rc"
[ "$(nr 0 2048)" = 512 ] || fail "--check wrote"
sh "$hp" --sysfs "$sys" --check --pages-2m 512 --node 1:64 >/dev/null || fail "--check on a match"

for bad in "" "--pages-2m x" "--node 1" "--node a:3" "--frobnicate"; do
	rc=0
	# shellcheck disable=SC2086
	sh "$hp" --sysfs "$sys" $bad >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "'$bad' exited $rc, want 2"
done
rc=0
sh "$hp" --sysfs "$sys" --node 7:1 >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a missing node exited $rc, want 1"
echo "ok: ferry-hugepages.sh"

# ---- systemd units ------------------------------------------------------------------------------
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not found (ferry-hugepages.sh checks passed)"
	exit 77
fi
u="$tmp/units"
mkdir -p "$u"
cp "$src"/hw/systemd/*.service "$src"/hw/hugepages/*.mount "$src"/hw/hugepages/*.service "$u/"
printf '#!/bin/sh\nexit 0\n' >"$u/stub"
chmod +x "$u/stub"
sed -i -e "s|/usr/local/bin/ferryd|$u/stub|" -e "s|/usr/local/sbin/ferry-hugepages.sh|$u/stub|" \
	"$u"/*.service
cp "$u/ferryd@.service" "$u/ferryd@source.service"
cp "$u/ferryd@.service" "$u/ferryd@target.service"
# verify prints parse problems but still exits 0: any output is a failure.
verify() {
	(cd "$u" && systemd-analyze verify --man=no "$@") >"$tmp/verify.out" 2>&1 || {
		cat "$tmp/verify.out" >&2
		return 1
	}
	if [ -s "$tmp/verify.out" ]; then
		cat "$tmp/verify.out" >&2
		return 1
	fi
}
verify ./ferryd.service ./ferryd@source.service ./ferryd@target.service \
	./dev-hugepages.mount ./dev-hugepages1G.mount ./ferry-hugepages.service ||
	fail "systemd-analyze verify complained"
# ... and it does complain about a broken unit, so the check above can fail.
sed 's/^LimitMEMLOCK=infinity/LimitMEMLOCK=lots/' "$u/ferryd.service" >"$u/broken.service"
if verify ./broken.service 2>/dev/null; then
	fail "systemd-analyze verify accepted LimitMEMLOCK=lots"
fi
echo "hw_units: all passed"
