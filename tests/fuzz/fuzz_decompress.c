/*
 * fuzz_decompress.c - libFuzzer harness for ferry_decompress(), built once per codec with
 * -DFUZZ_CODEC=1..4 (gzip, snappy, lz4, zstd; see meson.build).
 *
 * Each input is decoded with a 1 MiB cap into a static buffer. A decode that fails must fail
 * with DECOMPRESS or DECOMPRESS_LIMIT and report no output. A decode that succeeds is
 * re-encoded (level and snappy framing picked from the input's bytes) and decoded again with
 * the exact size as cap; any difference aborts. ASan/UBSan (the clang build) catch any
 * read or write outside the buffers.
 *
 * One thread (libFuzzer's); the codec context is created on the first call and kept, so
 * state carried over from a failed decode is exercised too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/compress.h"

#ifndef FUZZ_CODEC
#error "build with -DFUZZ_CODEC=<Kafka codec id 1..4>"
#endif

#define FUZZ_CAP (1u << 20)

static struct ferry_codec_ctx *cc;
static uint8_t out1[FUZZ_CAP];
static uint8_t out2[FUZZ_CAP];
static uint8_t *comp;
static size_t comp_cap;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what, int r, size_t a, size_t b)
{
	fprintf(stderr, "fuzz_decompress(%s): %s: %s (%d), %zu vs %zu\n",
		ferry_codec_name(FUZZ_CODEC), what, ferry_err_name(r), r, a, b);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len1 = 0, clen = 0, len2 = 0;
	unsigned flags = 0;
	int level = 0;
	int r;

	if (cc == NULL) {
		cc = ferry_codec_ctx_new();
		comp_cap = ferry_compress_bound(FUZZ_CODEC, FUZZ_CAP);
		comp = malloc(comp_cap);
		if (cc == NULL || comp == NULL)
			die("setup", 0, 0, 0);
	}

	r = ferry_decompress(cc, FUZZ_CODEC, ferry_span_make(data, size), out1, FUZZ_CAP, &len1);
	if (r != 0) {
		if ((r != FERRY_ERR__DECOMPRESS && r != FERRY_ERR__DECOMPRESS_LIMIT) || len1 != 0)
			die("decode error", r, len1, 0);
		return 0;
	}
	if (len1 > FUZZ_CAP)
		die("decode past cap", r, len1, FUZZ_CAP);

	/* Encoder settings from the input, so each is reached: levels 0..3 (zstd: -1..2),
	 * snappy raw or xerial. */
	if (size > 0) {
		level = data[size - 1] % 4;
		if (FUZZ_CODEC == FERRY_CODEC_ZSTD)
			level -= 1;
		if (data[0] & 1)
			flags = FERRY_COMPRESS_SNAPPY_RAW;
	}
	if (FUZZ_CODEC != FERRY_CODEC_SNAPPY)
		flags = 0;

	r = ferry_compress(cc, FUZZ_CODEC, ferry_span_make(out1, len1), comp, comp_cap, &clen,
			   level, flags);
	if (r != 0)
		die("re-encode", r, len1, comp_cap);
	if (clen > ferry_compress_bound(FUZZ_CODEC, len1))
		die("re-encode past bound", 0, clen, ferry_compress_bound(FUZZ_CODEC, len1));

	r = ferry_decompress(cc, FUZZ_CODEC, ferry_span_make(comp, clen), out2, len1, &len2);
	if (r != 0)
		die("decode of re-encoded", r, clen, len1);
	if (len2 != len1 || memcmp(out1, out2, len1) != 0)
		die("round trip differs", 0, len2, len1);
	return 0;
}
