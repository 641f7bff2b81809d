/*
 * ferry/compress.h - the four Kafka batch codecs (gzip, snappy, lz4, zstd),
 * decode and encode over byte spans, with a hard cap on decompressed size.
 *
 * Thread model: a struct ferry_codec_ctx holds the library contexts
 * (libdeflate, zstd, lz4) and is owned by one thread (one per lcore); the
 * functions never allocate after ferry_codec_ctx_new(). Exceptions, all on
 * the encode side: a gzip level different from the previous call reallocates
 * the libdeflate compressor; libzstd sizes its compression workspace to the
 * largest level/input seen; snappy's compressor allocates its hash table per
 * call inside the library. Decoding never allocates.
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

/**
 * Allocate a per-thread codec context (a few hundred KiB touched, plus about
 * 8 MiB that liblz4 reserves for 4 MiB-block frames and touches only when one
 * arrives). NULL with errno set (ENOMEM) on failure.
 */
struct ferry_codec_ctx *ferry_codec_ctx_new(void);
/** Free a context; NULL is a no-op. */
void ferry_codec_ctx_free(struct ferry_codec_ctx *cc);

/** "none", "gzip", "snappy", "lz4", "zstd", or "unknown". */
const char *ferry_codec_name(int codec);

/** Parse a codec name ("gzip", ...; exact lower case, as Kafka's config); -1 if unknown or NULL. */
int ferry_codec_from_name(const char *name);

/**
 * Decompress 'src' into dst[0 .. dst_cap).
 * dst_cap is the hard cap: output that would exceed it is FERRY_ERR__DECOMPRESS_LIMIT
 * (a bomb is an error, never an allocation). Corrupt input is FERRY_ERR__DECOMPRESS,
 * an unknown codec FERRY_ERR__UNSUPPORTED_CODEC.
 *
 * Accepted: gzip = one or more members, nothing after the last; snappy = one
 * raw block, or a xerial stream (header, then int32 BE length + block chunks;
 * concatenated streams too); lz4 = one or more LZ4 frames (any block size,
 * linked or independent blocks, checksums verified when present); zstd = one
 * or more zstd or skippable frames, content size optional (pre-1.0 legacy
 * zstd formats are refused). Empty input is FERRY_ERR__DECOMPRESS for every
 * codec except NONE, which is a copy under the same cap. A truncated input is
 * an error (usually DECOMPRESS; LIMIT if the output is full at that point).
 *
 * cc may be NULL only for FERRY_CODEC_NONE. src.p may be NULL if src.len is 0,
 * dst may be NULL if dst_cap is 0; src and dst must not overlap. NULL out_len
 * or a NULL buffer with a non-zero length is FERRY_ERR__INVALID_ARG.
 * On error *out_len is 0 and dst holds unspecified bytes.
 * @locality the thread that owns cc.
 * @return 0 with *out_len set, or a negative ferry_err.
 */
int ferry_decompress(struct ferry_codec_ctx *cc, int codec, struct ferry_span src, uint8_t *dst,
		     size_t dst_cap, size_t *out_len);

/**
 * Worst-case compressed size of src_len bytes for a codec, valid for every
 * level and flag (snappy: the larger of raw and xerial framing). 0 for an
 * unknown codec or a src_len above INT32_MAX (which ferry_compress refuses).
 * A dst of this size never gives FERRY_ERR__NOSPACE; a smaller one works too
 * when the real output fits (see ferry_compress() for gzip/zstd). Any thread.
 */
size_t ferry_compress_bound(int codec, size_t src_len);

/**
 * Compress 'src' into dst[0 .. dst_cap). level 0 = codec default.
 *
 * Levels: gzip 1..12 (libdeflate; default 6, as Java); lz4 1..12 (1-2 fast,
 * 3+ HC; default = LZ4F fast); zstd ZSTD_minCLevel()..ZSTD_maxCLevel()
 * (negative = faster; default 3). Levels above a codec's maximum are clamped
 * (Kafka allows lz4 up to 17); a negative level is FERRY_ERR__INVALID_ARG for
 * gzip and lz4. snappy and none ignore the level.
 * Output: gzip = one member; snappy = xerial framing (32 KiB chunks, version 1,
 * compat 1), or one raw block with FERRY_COMPRESS_SNAPPY_RAW; lz4 = one frame,
 * FLG 0x60 BD 0x40 (independent 64 KiB blocks, no checksums, no content
 * size), as Java writes it; zstd = one frame with the content size.
 * Unknown flag bits or src.len > INT32_MAX are FERRY_ERR__INVALID_ARG.
 * Buffer rules as for ferry_decompress(); cc may be NULL only for NONE.
 * @locality the thread that owns cc.
 * @return 0 with *out_len set; FERRY_ERR__NOSPACE if the output does not fit
 *         in dst_cap (snappy, lz4, none: exactly; gzip, zstd: libdeflate and
 *         libzstd also want about 8 bytes of working room past their output,
 *         so a dst within that margin fails too); FERRY_ERR__COMPRESS on a
 *         library failure;
 *         FERRY_ERR__NOMEM if a new gzip level's compressor cannot be allocated;
 *         FERRY_ERR__UNSUPPORTED_CODEC; FERRY_ERR__INVALID_ARG.
 */
int ferry_compress(struct ferry_codec_ctx *cc, int codec, struct ferry_span src, uint8_t *dst,
		   size_t dst_cap, size_t *out_len, int level, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_COMPRESS_H */
