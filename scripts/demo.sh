#!/bin/sh
# Quick start 1/2: install what is missing, build, and run the embedded two-region demo
# (tests/e2e/demo.sh): on this host, two librdkafka mock clusters "london" and "singapore",
# trading data from ferry-loadgen, two ferryd gateways through ferry-wanem (170 ms RTT,
# 0.1 % loss) under control/rules/demo.yaml, then `ferryctl verify` and a report; the last
# line is "demo: PASS" or "demo: FAIL: <what>"; about a minute. Arguments go to
# tests/e2e/demo.sh (--keep: keep the temp dir and logs).
# BUILD picks the build dir (default build), NINJA_JOBS ninja's -j.
# The older single-process codec demo is still `ferryctl demo`.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${BUILD:-build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" --buildtype=debugoptimized >/dev/null
ninja -C "$BUILD" ${NINJA_JOBS:+-j "$NINJA_JOBS"} >/dev/null
exec ./tests/e2e/demo.sh "$BUILD" "$@"
