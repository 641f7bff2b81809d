#!/bin/sh
# Run one libFuzzer harness for a fixed time: new inputs go to a scratch
# corpus in the build tree, the committed seed corpus is only read.
# usage: run-fuzz.sh FUZZER SEED_DIR OUT_DIR SECONDS
set -eu
fuzzer=$1 seeds=$2 out=$3 secs=$4
mkdir -p "$out"
# UBSan only prints and carries on by default: make undefined behaviour a
# crash libFuzzer records (with its input), unless the caller chose otherwise.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$out" "$seeds"
