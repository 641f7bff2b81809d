#!/bin/sh
# Quick start 1/2: install what is missing, build, and run the embedded demo
# (two regions on one host: librdkafka mock clusters "london" and "singapore",
# batches carried between them by ferry's wire codec). Extra arguments go to
# `ferryctl demo` (e.g. --records 100000).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${BUILD:-build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" --buildtype=debugoptimized >/dev/null
ninja -C "$BUILD" >/dev/null
exec "./$BUILD/control/ferryctl" demo "$@"
