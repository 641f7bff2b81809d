# Ferry: the two quick-start commands and a few helpers around meson.
#   make demo   - install what is missing, build, run the embedded demo
#   make test   - install what is missing, build with clang + ASan/UBSan and
#                 -Werror, run the unit, integration and fuzz suites
# Other targets: build, bench, fuzz, format, clean.

BUILD      ?= build
TESTBUILD  ?= build-test
FUZZ_SECONDS ?= 20
MESON_TEST_ARGS ?=

.PHONY: deps demo build test bench fuzz format clean

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	./$(BUILD)/control/ferryctl demo

# Tests run in a clang build with AddressSanitizer + UndefinedBehaviorSanitizer
# (libFuzzer needs clang) and warnings as errors, as CI does.
$(TESTBUILD)/build.ninja:
	CC=clang meson setup $(TESTBUILD) --buildtype=debugoptimized -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=enabled \
		-Dfuzz_seconds=$(FUZZ_SECONDS)

test: deps $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	meson test -C $(TESTBUILD) --print-errorlogs --num-processes 2 $(MESON_TEST_ARGS)

fuzz: deps $(TESTBUILD)/build.ninja
	ninja -C $(TESTBUILD)
	meson test -C $(TESTBUILD) --suite fuzz --print-errorlogs

bench: deps
	[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release
	ninja -C build-bench
	./build-bench/benchmarks/bench_codec
	./build-bench/benchmarks/bench_codec --record-size 100
	./build-bench/benchmarks/bench_codec --record-size 4096

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TESTBUILD) build-bench
