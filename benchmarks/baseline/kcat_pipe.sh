#!/bin/bash
# kcat_pipe.sh - the naive pipe baseline of issue 8: `kcat -C ... -e | kcat -P ...`, from the
# source topic to the target topic, one partition. No policy: it only moves records (key,
# value; headers and timestamps are lost, as in any line-based pipe), so it is strictly less
# work than ferry or ferry-rdk-replicator do.
#
# usage: kcat_pipe.sh SOURCE TOPIC PARTITION COUNT TARGET TARGET_TOPIC [CODEC]
# Records are one per line as key<TAB>value (JSON values hold neither raw tab nor newline).
# The producer is idempotent with acks=all and the source codec, as the other contenders.
# Output: one JSON object on stdout with the records the consumer wrote, the wall time and the
# CPU seconds of both kcat processes (bash's `times`: user + system of waited-for children).
# Exit: the pipeline's status (non-zero if either kcat failed).
set -u -o pipefail

if [ $# -lt 6 ]; then
	echo "usage: $0 SOURCE TOPIC PARTITION COUNT TARGET TARGET_TOPIC [CODEC]" >&2
	exit 2
fi
src=$1 topic=$2 part=$3 count=$4 dst=$5 dtopic=$6 codec=${7:-none}
KCAT=${KCAT:-kcat}

t0=$(date +%s.%N)
"$KCAT" -C -b "$src" -t "$topic" -p "$part" -o beginning -c "$count" -e -q \
	-X check.crcs=true -X fetch.max.bytes=52428800 \
	-X max.partition.fetch.bytes=4194304 -X queued.max.messages.kbytes=1048576 \
	-f '%k\t%s\n' |
	"$KCAT" -P -b "$dst" -t "$dtopic" -p "$part" -K '	' -z "$codec" \
		-X enable.idempotence=true -X acks=all -X linger.ms=5 -X batch.size=1000000
rc=$?
t1=$(date +%s.%N)

# `times` prints two lines: the shell's own times, then its children's, as "XmY.YYYs XmY.YYYs".
# It must run in this shell (a pipe or $(...) would ask a subshell with no children).
tf=$(mktemp)
times >"$tf"
cpu=$(tail -n 1 "$tf" | awk '{
	s = 0
	for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] }
	printf "%.3f", s }')
rm -f "$tf"
awk -v t0="$t0" -v t1="$t1" -v cpu="$cpu" -v n="$count" -v rc="$rc" 'BEGIN {
	secs = t1 - t0
	printf "{\"tool\":\"kcat_pipe\",\"records\":%d,\"seconds\":%.6f,\"cpu_seconds\":%.3f,", n, secs, cpu
	printf "\"records_per_s\":%.1f,\"records_per_cpu_s\":%.1f,\"status\":%d}\n", n / secs, (cpu > 0 ? n / cpu : 0), rc }'
exit $rc
