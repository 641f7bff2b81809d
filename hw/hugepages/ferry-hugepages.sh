#!/bin/sh
# ferry-hugepages.sh - reserve hugepages per NUMA node through sysfs, for ferryd (issue 9;
# hw/README.md, step 3). Idempotent: writes a node's count only when it differs, reads it back
# and fails when the kernel gave fewer pages than asked (fragmented memory). Owns nothing but
# the nr_hugepages files it is told to set; mounts are systemd's (dev-hugepages*.mount).
#
#   ferry-hugepages.sh --pages-2m N            N x 2 MiB pages on every node
#   ferry-hugepages.sh --node 0:800 --node 1:0 per node (wins over --pages-2m for that node)
#   ferry-hugepages.sh --pages-1g N            N x 1 GiB pages on every node (at runtime this
#                                              often fails; prefer hw/hugepages/cmdline-1G.txt)
#   --dry-run   print what would be written, write nothing
#   --check     write nothing; exit 1 if any node differs from the request
#   --sysfs DIR sysfs root (default /sys; tests use a copy)
#
# The counts come from `ferry-hwcheck --memory` ("per node"). Put the WAN ports' nodes first:
# DPDK allocates a port's mempool on the port's node, so the other nodes need few pages.
# Exit status: 0 done (or nothing to do), 1 shortfall or mismatch (--check), 2 usage.
set -eu

SYSFS=/sys
DRY=0
CHECK=0
ALL2M=""
ALL1G=""
NODES2M=""

usage() {
	sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--pages-2m) [ $# -ge 2 ] || usage; ALL2M=$2; shift 2 ;;
	--pages-1g) [ $# -ge 2 ] || usage; ALL1G=$2; shift 2 ;;
	--node) [ $# -ge 2 ] || usage; NODES2M="$NODES2M $2"; shift 2 ;;
	--dry-run) DRY=1; shift ;;
	--check) CHECK=1; shift ;;
	--sysfs) [ $# -ge 2 ] || usage; SYSFS=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "ferry-hugepages: unknown argument '$1'" >&2; usage ;;
	esac
done

isnum() { case "$1" in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }
for v in $ALL2M $ALL1G; do
	isnum "$v" || { echo "ferry-hugepages: '$v' is not a page count" >&2; exit 2; }
done
for nv in $NODES2M; do
	n=${nv%%:*}; v=${nv#*:}
	{ isnum "$n" && isnum "$v" && [ "$n:$v" = "$nv" ]; } ||
		{ echo "ferry-hugepages: --node wants NODE:PAGES, got '$nv'" >&2; exit 2; }
done
if [ -z "$ALL2M$ALL1G$NODES2M" ]; then
	echo "ferry-hugepages: nothing requested (--pages-2m, --pages-1g or --node)" >&2
	usage
fi

rc=0
# set FILE WANT LABEL: write WANT to FILE unless it already holds it, then verify.
set_count() {
	file=$1; want=$2; label=$3
	if [ ! -e "$file" ]; then
		echo "ferry-hugepages: $label: $file does not exist (page size not supported?)" >&2
		rc=1
		return
	fi
	have=$(cat "$file")
	if [ "$have" = "$want" ]; then
		echo "$label: $have pages (unchanged)"
		return
	fi
	if [ "$CHECK" = 1 ]; then
		echo "$label: $have pages, want $want"
		rc=1
		return
	fi
	if [ "$DRY" = 1 ]; then
		echo "$label: would write $want to $file (now $have)"
		return
	fi
	echo "$want" >"$file"
	got=$(cat "$file")
	if [ "$got" != "$want" ]; then
		echo "ferry-hugepages: $label: asked $want pages, kernel gave $got (memory" \
			"fragmented: reserve at boot with hw/hugepages/cmdline-*.txt)" >&2
		rc=1
	else
		echo "$label: $have -> $got pages"
	fi
}

node_want2m() {
	for nv in $NODES2M; do
		if [ "${nv%%:*}" = "$1" ]; then
			echo "${nv#*:}"
			return
		fi
	done
	echo "$ALL2M"
}

found=0
for nd in "$SYSFS"/devices/system/node/node[0-9]*; do
	[ -d "$nd" ] || continue
	found=1
	n=${nd##*/node}
	w2=$(node_want2m "$n")
	[ -z "$w2" ] || set_count "$nd/hugepages/hugepages-2048kB/nr_hugepages" "$w2" "node$n 2M"
	[ -z "$ALL1G" ] || set_count "$nd/hugepages/hugepages-1048576kB/nr_hugepages" "$ALL1G" \
		"node$n 1G"
done
for nv in $NODES2M; do
	[ -d "$SYSFS/devices/system/node/node${nv%%:*}" ] || {
		echo "ferry-hugepages: node ${nv%%:*} does not exist" >&2
		rc=1
	}
done
if [ "$found" = 0 ]; then
	# A kernel without NUMA sysfs: one global pool.
	[ -z "$ALL2M" ] || set_count "$SYSFS/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" \
		"$ALL2M" "global 2M"
	[ -z "$ALL1G" ] ||
		set_count "$SYSFS/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages" "$ALL1G" \
			"global 1G"
fi
exit $rc
