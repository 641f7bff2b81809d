# Ferry: shortcuts around the quick-start scripts and meson.
#   make demo   = scripts/demo.sh   (install missing packages, build, run the demo)
#   make test   = scripts/test.sh   (clang + ASan/UBSan + -Werror; unit, integration, fuzz)
#   make bench  - benchmarks/ferry-bench: ferry vs baselines vs ceilings (release build;
#                 BENCH_ARGS=--full for the full suite, --smoke for a quick check)
#   make format - clang-format every tracked C file
#   make clean

.PHONY: demo test bench format clean

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

bench:
	./scripts/install-deps.sh
	[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release
	ninja -C build-bench -j2
	./benchmarks/ferry-bench --build-dir build-bench $(BENCH_ARGS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-test build-bench
