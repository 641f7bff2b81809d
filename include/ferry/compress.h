/*
 * ferry/compress.h - the four Kafka batch codecs (gzip, snappy, lz4, zstd),
 * decode and encode over byte spans, with a hard cap on decompressed size.
 *
 * Thread model: a struct ferry_codec_ctx holds the library contexts
 * (libdeflate, zstd, lz4) and is owned by one thread (one per lcore); the
 * functions never allocate after ferry_codec_ctx_new().
 *
 * Formats (kafka-wire-facts.md §4): gzip = one or more RFC 1952 members;
 * snappy = raw block (librdkafka) or xerial/Java framing, both read, either
 * written; lz4 = LZ4 frame with independent blocks (FLG 0x60, BD 0x40);
 * zstd = one or more standard frames, content size optional.
 */
#ifndef FERRY_COMPRESS_H
#define FERRY_COMPRESS_H

#include "ferry/common-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Kafka codec ids, the low 3 bits of a v2 batch's Attributes. */
enum ferry_codec {
	FERRY_CODEC_NONE = 0,
	FERRY_CODEC_GZIP = 1,
	FERRY_CODEC_SNAPPY = 2,
	FERRY_CODEC_LZ4 = 3,
	FERRY_CODEC_ZSTD = 4,
};

/** Encoder flags. */
#define FERRY_COMPRESS_SNAPPY_RAW 0x1 /* write a raw snappy block instead of xerial framing */

struct ferry_codec_ctx;

/** Allocate a per-thread codec context. NULL with errno set on failure. */
struct ferry_codec_ctx *ferry_codec_ctx_new(void);
void ferry_codec_ctx_free(struct ferry_codec_ctx *cc);

/** "none", "gzip", "snappy", "lz4", "zstd", or "unknown". */
const char *ferry_codec_name(int codec);

/** Parse a codec name ("gzip", ...); -1 if unknown. */
int ferry_codec_from_name(const char *name);

/**
 * Decompress 'src' into dst[0 .. dst_cap).
 * dst_cap is the hard cap: output that would exceed it is FERRY_ERR__DECOMPRESS_LIMIT
 * (a bomb is an error, never an allocation). Corrupt input is FERRY_ERR__DECOMPRESS,
 * an unknown codec FERRY_ERR__UNSUPPORTED_CODEC.
 * @return 0 with *out_len set, or a negative ferry_err.
 */
int ferry_decompress(struct ferry_codec_ctx *cc, int codec, struct ferry_span src, uint8_t *dst,
		     size_t dst_cap, size_t *out_len);

/** Worst-case compressed size of src_len bytes for a codec (0 for an unknown codec). */
size_t ferry_compress_bound(int codec, size_t src_len);

/**
 * Compress 'src' into dst[0 .. dst_cap). level 0 = codec default.
 * @return 0 with *out_len set; FERRY_ERR__NOSPACE if dst is too small;
 *         FERRY_ERR__COMPRESS on a library failure.
 */
int ferry_compress(struct ferry_codec_ctx *cc, int codec, struct ferry_span src, uint8_t *dst,
		   size_t dst_cap, size_t *out_len, int level, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_COMPRESS_H */
