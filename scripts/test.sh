#!/bin/sh
# Quick start 2/2: install what is missing, build with clang, AddressSanitizer +
# UndefinedBehaviorSanitizer and -Werror (libFuzzer needs clang), and run the
# meson suites: unit, integration and fuzz. Arguments go to `meson test`,
# e.g. `scripts/test.sh --suite unit`. FUZZ_SECONDS sets each fuzzer's run time.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${TESTBUILD:-build-test}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" --buildtype=debugoptimized -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=enabled \
		-Dfuzz_seconds="$FUZZ_SECONDS"
else
	meson configure "$BUILD" -Dfuzz_seconds="$FUZZ_SECONDS"
fi
ninja -C "$BUILD"
# UBSan: any finding fails the test (ASan already aborts on its own).
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
exec meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
