/*
 * compress.c - the four Kafka batch codecs (gzip, snappy, lz4, zstd) over byte spans: decode
 * into a caller buffer whose size is a hard cap, encode into a caller buffer.
 *
 * Formats follow kafka-wire-facts.md §4: gzip is one or more RFC 1952 members (libdeflate);
 * snappy is a raw block (librdkafka) or xerial/Java framing (snappy-java), both read, either
 * written; lz4 is the LZ4 frame format with independent 64 KiB blocks, as Java and librdkafka
 * write it (liblz4 frame API); zstd is one or more standard frames (libzstd).
 *
 * Threads: a struct ferry_codec_ctx belongs to one thread (one per lcore, @locality lcore);
 * the functions touch only the context and the buffers passed in. ferry_codec_name(),
 * ferry_codec_from_name() and ferry_compress_bound() are pure and safe anywhere.
 *
 * Ownership: the context owns every library context (libdeflate compressor and decompressor,
 * LZ4F cctx and dctx, ZSTD CCtx and DCtx) and one scratch buffer. All are allocated in
 * ferry_codec_ctx_new(), which also makes liblz4 allocate, once, the largest internal buffers
 * it could ever ask for, so decode and encode do not allocate afterwards. What remains outside
 * our control is documented where it happens: a gzip level change reallocates the libdeflate
 * compressor; libzstd sizes its compression workspace to the largest level and input seen (and
 * may shrink it after a long run of small inputs); snappy's C++ compressor takes its hash
 * table from the heap on every call. Decoding never allocates for any codec.
 *
 * The decompression cap: output that would exceed dst_cap is FERRY_ERR__DECOMPRESS_LIMIT,
 * detected by the library running out of room, never by growing a buffer, so a 1 KiB
 * "bomb" that claims gigabytes costs at most dst_cap bytes of writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "ferry/common.h"
#include "ferry/compress.h"

/* Inputs larger than this are refused by ferry_compress(): every Kafka size field is an
 * int32, and snappy's raw length prefix is a 32-bit varint. */
#define FERRY_COMPRESS_MAX_SRC ((size_t)INT32_MAX)

/* libdeflate levels run 1..12; 6 is zlib's default and what Java's Deflater uses. */
#define FERRY_GZIP_LEVEL_DEFAULT 6
#define FERRY_GZIP_LEVEL_MAX     12

/* xerial/snappy-java stream header: magic "\x82SNAPPY\0", int32 BE version, int32 BE
 * minimum compatible version ([X] SnappyCodec); then int32 BE length + raw block chunks. */
#define FERRY_XERIAL_HDR_LEN 16
#define FERRY_XERIAL_VERSION 1
#define FERRY_XERIAL_COMPAT  1
#define FERRY_XERIAL_CHUNK   (32 * 1024) /* snappy-java's default block size */
static const uint8_t ferry_xerial_magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00 };

/* snappy compresses in independent 64 KiB fragments (snappy.cc kBlockSize). */
#define FERRY_SNAPPY_FRAGMENT (64 * 1024)

/* LZ4 frames are written in 64 KiB blocks (BD 0x40), as Java and librdkafka do. */
#define FERRY_LZ4_BLOCK       (64 * 1024)
#define FERRY_LZ4_PRIME_LEVEL 9 /* any HC level: makes LZ4F allocate its larger HC state */

/*
 * An empty LZ4 frame whose descriptor asks for the most memory a decoder can need:
 * FLG 0x40 (version 01, linked blocks), BD 0x70 (4 MiB blocks), HC 0xdf (second byte of
 * XXH32 over FLG BD, as computed by LZ4F_compressBegin), then the end mark. Decoding it once
 * makes the LZ4F dctx allocate its 4 MiB + 128 KiB buffers, which it then keeps, so no later
 * frame triggers an allocation. The memory is only reserved: malloc serves such sizes with
 * mmap, and pages are touched only when a frame with large blocks actually arrives.
 */
static const uint8_t ferry_lz4_prime_frame[] = {
	0x04, 0x22, 0x4d, 0x18, 0x40, 0x70, 0xdf, 0x00, 0x00, 0x00, 0x00,
};

struct ferry_codec_ctx {
	struct libdeflate_decompressor *gz_dec;
	struct libdeflate_compressor *gz_enc;
	int gz_level; /* the level gz_enc was allocated for */
	LZ4F_dctx *lz4_dec;
	LZ4F_cctx *lz4_enc;
	ZSTD_DCtx *zstd_dec;
	ZSTD_CCtx *zstd_enc;
	/*
	 * One encoded piece (a snappy fragment or xerial chunk, an LZ4 block, header or end
	 * mark) whose worst case does not fit in what is left of dst is encoded here first and
	 * copied if its real size fits: snappy and lz4 then fail with NOSPACE only when the
	 * output really does not fit, not whenever dst_cap is below the worst-case bound.
	 */
	uint8_t *scratch;
	size_t scratch_cap;
};

/* The LZ4 frame ferry writes: FLG 0x60 (independent blocks, no checksums, no content size),
 * BD 0x40 (64 KiB blocks); byte-for-byte what Java's KafkaLZ4BlockOutputStream writes. */
static void
lz4_prefs_init(LZ4F_preferences_t *prefs, int level)
{
	memset(prefs, 0, sizeof(*prefs));
	prefs->frameInfo.blockSizeID = LZ4F_max64KB;
	prefs->frameInfo.blockMode = LZ4F_blockIndependent;
	prefs->frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
	prefs->frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
	prefs->frameInfo.frameType = LZ4F_frame;
	prefs->frameInfo.contentSize = 0;
	prefs->compressionLevel = level;
	/* Each update emits its block at once, so LZ4F needs no input buffer of its own. */
	prefs->autoFlush = 1;
}

static size_t
size_max(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* Make LZ4F allocate now what it would otherwise allocate on first use (see the prime frame). */
static int
lz4_prime(struct ferry_codec_ctx *cc)
{
	LZ4F_preferences_t prefs;
	size_t in_sz = sizeof(ferry_lz4_prime_frame);
	size_t out_sz = 0;
	uint8_t out;
	size_t r;

	r = LZ4F_decompress(cc->lz4_dec, &out, &out_sz, ferry_lz4_prime_frame, &in_sz, NULL);
	if (LZ4F_isError(r) || r != 0)
		return -1;
	/* An HC-level begin allocates the HC state, which is large enough for every level. */
	lz4_prefs_init(&prefs, FERRY_LZ4_PRIME_LEVEL);
	r = LZ4F_compressBegin(cc->lz4_enc, cc->scratch, cc->scratch_cap, &prefs);
	if (LZ4F_isError(r))
		return -1;
	return 0;
}

struct ferry_codec_ctx *
ferry_codec_ctx_new(void)
{
	struct ferry_codec_ctx *cc;
	LZ4F_preferences_t prefs;

	cc = calloc(1, sizeof(*cc));
	if (cc == NULL)
		goto out_errno;

	lz4_prefs_init(&prefs, 0);
	cc->scratch_cap =
	    size_max(snappy_max_compressed_length(FERRY_SNAPPY_FRAGMENT),
		     size_max(LZ4F_compressBound(FERRY_LZ4_BLOCK, &prefs),
			      size_max(LZ4F_compressBound(0, &prefs), LZ4F_HEADER_SIZE_MAX)));
	cc->scratch = malloc(cc->scratch_cap);
	if (cc->scratch == NULL)
		goto out_free_cc;

	cc->gz_dec = libdeflate_alloc_decompressor();
	if (cc->gz_dec == NULL)
		goto out_free_scratch;
	cc->gz_level = FERRY_GZIP_LEVEL_DEFAULT;
	cc->gz_enc = libdeflate_alloc_compressor(cc->gz_level);
	if (cc->gz_enc == NULL)
		goto out_free_gz_dec;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&cc->lz4_dec, LZ4F_VERSION)))
		goto out_free_gz_enc;
	if (LZ4F_isError(LZ4F_createCompressionContext(&cc->lz4_enc, LZ4F_VERSION)))
		goto out_free_lz4_dec;
	cc->zstd_dec = ZSTD_createDCtx();
	if (cc->zstd_dec == NULL)
		goto out_free_lz4_enc;
	cc->zstd_enc = ZSTD_createCCtx();
	if (cc->zstd_enc == NULL)
		goto out_free_zstd_dec;
	if (lz4_prime(cc) != 0)
		goto out_free_zstd_enc;
	return cc;

out_free_zstd_enc:
	ZSTD_freeCCtx(cc->zstd_enc);
out_free_zstd_dec:
	ZSTD_freeDCtx(cc->zstd_dec);
out_free_lz4_enc:
	LZ4F_freeCompressionContext(cc->lz4_enc);
out_free_lz4_dec:
	LZ4F_freeDecompressionContext(cc->lz4_dec);
out_free_gz_enc:
	libdeflate_free_compressor(cc->gz_enc);
out_free_gz_dec:
	libdeflate_free_decompressor(cc->gz_dec);
out_free_scratch:
	free(cc->scratch);
out_free_cc:
	free(cc);
out_errno:
	/* The libraries do not set errno; every failure above is a failed allocation. */
	errno = ENOMEM;
	return NULL;
}

void
ferry_codec_ctx_free(struct ferry_codec_ctx *cc)
{
	if (cc == NULL)
		return;
	ZSTD_freeCCtx(cc->zstd_enc);
	ZSTD_freeDCtx(cc->zstd_dec);
	LZ4F_freeCompressionContext(cc->lz4_enc);
	LZ4F_freeDecompressionContext(cc->lz4_dec);
	libdeflate_free_compressor(cc->gz_enc);
	libdeflate_free_decompressor(cc->gz_dec);
	free(cc->scratch);
	free(cc);
}

static const char *const ferry_codec_names[] = {
	[FERRY_CODEC_NONE] = "none", [FERRY_CODEC_GZIP] = "gzip", [FERRY_CODEC_SNAPPY] = "snappy",
	[FERRY_CODEC_LZ4] = "lz4",   [FERRY_CODEC_ZSTD] = "zstd",
};
#define FERRY_CODEC_COUNT ((int)(sizeof(ferry_codec_names) / sizeof(ferry_codec_names[0])))

const char *
ferry_codec_name(int codec)
{
	if (codec < 0 || codec >= FERRY_CODEC_COUNT)
		return "unknown";
	return ferry_codec_names[codec];
}

int
ferry_codec_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	/* Exact, lower-case match, like Kafka's CompressionType.forName(). */
	for (int i = 0; i < FERRY_CODEC_COUNT; i++) {
		if (strcmp(name, ferry_codec_names[i]) == 0)
			return i;
	}
	return -1;
}

/* ---- decode ------------------------------------------------------------------------------ */

static uint32_t
rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * gzip: RFC 1952 §2.2 makes a gzip file a series of members, and both Java's GZIPInputStream
 * and zlib (librdkafka) read past the first one, so decode members until the input is used
 * up. libdeflate checks each member's CRC32 and ISIZE. Anything after the last member that
 * is not itself a member is corrupt input (Java would silently drop it; we do not replicate
 * bytes we cannot account for).
 */
static int
gzip_decompress(struct ferry_codec_ctx *cc, struct ferry_span src, uint8_t *dst, size_t dst_cap,
		size_t *out_len)
{
	size_t in_off = 0;
	size_t out_off = 0;

	while (in_off < src.len) {
		size_t in_used = 0;
		size_t out_used = 0;
		enum libdeflate_result r;

		r = libdeflate_gzip_decompress_ex(cc->gz_dec, src.p + in_off, src.len - in_off,
						  dst + out_off, dst_cap - out_off, &in_used,
						  &out_used);
		if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
			return FERRY_ERR__DECOMPRESS_LIMIT;
		if (r != LIBDEFLATE_SUCCESS || in_used == 0)
			return FERRY_ERR__DECOMPRESS;
		in_off += in_used;
		out_off += out_used;
	}
	*out_len = out_off;
	return 0;
}

/* One raw snappy block (varint uncompressed length + tags) into dst[0 .. cap). */
static int
snappy_block_decompress(const uint8_t *p, size_t n, uint8_t *dst, size_t cap, size_t *out_len)
{
	size_t ulen;

	if (snappy_uncompressed_length((const char *)p, n, &ulen) != SNAPPY_OK)
		return FERRY_ERR__DECOMPRESS;
	/* The block states its size up front: refuse a bomb before writing a byte of it. */
	if (ulen > cap)
		return FERRY_ERR__DECOMPRESS_LIMIT;
	/* snappy_uncompress also fails unless the tags produce exactly ulen bytes, which
	 * rejects trailing bytes after the last tag. */
	if (snappy_uncompress((const char *)p, n, (char *)dst, &ulen) != SNAPPY_OK)
		return FERRY_ERR__DECOMPRESS;
	*out_len = ulen;
	return 0;
}

static bool
xerial_has_header(const uint8_t *p, size_t n)
{
	return n >= sizeof(ferry_xerial_magic) &&
	       memcmp(p, ferry_xerial_magic, sizeof(ferry_xerial_magic)) == 0;
}

/* [X] SnappyInputStream.readHeader() checks only that the version is at least 1. */
static bool
xerial_header_ok(const uint8_t *p, size_t n)
{
	return n >= FERRY_XERIAL_HDR_LEN && (int32_t)ferry_be32(p + 8) >= FERRY_XERIAL_VERSION;
}

static int
snappy_xerial_decompress(struct ferry_span src, uint8_t *dst, size_t dst_cap, size_t *out_len)
{
	size_t off = FERRY_XERIAL_HDR_LEN;
	size_t out_off = 0;

	while (off < src.len) {
		size_t left = src.len - off;
		size_t n;
		int32_t clen;
		int r;

		/* Concatenated xerial streams (newer snappy-java reads them): a header where a
		 * chunk length is expected. The magic's first byte, 0x82, would make that length
		 * negative, so the two cannot be confused. */
		if (xerial_has_header(src.p + off, left)) {
			if (!xerial_header_ok(src.p + off, left))
				return FERRY_ERR__DECOMPRESS;
			off += FERRY_XERIAL_HDR_LEN;
			continue;
		}
		/* A partial length is truncation (Java stops silently; we refuse it). */
		if (left < 4)
			return FERRY_ERR__DECOMPRESS;
		clen = (int32_t)ferry_be32(src.p + off);
		off += 4;
		/* An empty chunk cannot hold a snappy block (at least its 1-byte varint). */
		if (clen <= 0 || (size_t)clen > src.len - off)
			return FERRY_ERR__DECOMPRESS;
		r = snappy_block_decompress(src.p + off, (size_t)clen, dst + out_off,
					    dst_cap - out_off, &n);
		if (r != 0)
			return r;
		off += (size_t)clen;
		out_off += n;
	}
	*out_len = out_off;
	return 0;
}

/*
 * snappy: librdkafka and snappy-java both check for the xerial magic and otherwise decode the
 * blob as one raw block (kafka-wire-facts.md §4.2). A blob that starts with the magic but is
 * too short for the 16-byte header is a truncated xerial stream, not a raw block.
 */
static int
snappy_decompress(struct ferry_span src, uint8_t *dst, size_t dst_cap, size_t *out_len)
{
	if (xerial_has_header(src.p, src.len)) {
		if (!xerial_header_ok(src.p, src.len))
			return FERRY_ERR__DECOMPRESS;
		return snappy_xerial_decompress(src, dst, dst_cap, out_len);
	}
	return snappy_block_decompress(src.p, src.len, dst, dst_cap, out_len);
}

/*
 * lz4: LZ4F decodes one frame per pass; a frame ends when LZ4F_decompress() returns 0, and a
 * following frame (or skippable frame) is decoded the same way. LZ4F writes straight into
 * dst while a whole block fits and through its own buffer near the end, so the cap holds
 * without any buffer of ours. A call that neither consumes nor produces while inside a frame
 * means: dst is full (more output pending: a bomb) or the input ended early (truncated).
 */
static int
lz4_decompress(struct ferry_codec_ctx *cc, struct ferry_span src, uint8_t *dst, size_t dst_cap,
	       size_t *out_len)
{
	LZ4F_decompressOptions_t opts;
	size_t in_off = 0;
	size_t out_off = 0;
	bool in_frame = false;

	memset(&opts, 0, sizeof(opts));
	/* dst is one contiguous buffer kept for the whole call, so linked blocks can refer to
	 * earlier output in place instead of LZ4F copying it aside. */
	opts.stableDst = 1;
	/* A previous call may have failed mid-frame. */
	LZ4F_resetDecompressionContext(cc->lz4_dec);

	while (in_off < src.len || in_frame) {
		size_t in_sz = src.len - in_off;
		size_t out_sz = dst_cap - out_off;
		size_t r;

		r = LZ4F_decompress(cc->lz4_dec, dst + out_off, &out_sz, src.p + in_off, &in_sz,
				    &opts);
		if (LZ4F_isError(r))
			return FERRY_ERR__DECOMPRESS;
		in_off += in_sz;
		out_off += out_sz;
		if (r == 0) {
			in_frame = false;
			continue;
		}
		in_frame = true;
		if (in_sz == 0 && out_sz == 0) {
			/* Out of room with output pending counts as a bomb even in the corner case
			 * where the input also ends there; either way the batch is refused. */
			if (out_off == dst_cap)
				return FERRY_ERR__DECOMPRESS_LIMIT;
			return FERRY_ERR__DECOMPRESS;
		}
	}
	*out_len = out_off;
	return 0;
}

/*
 * zstd: one-shot ZSTD_decompressDCtx() decodes every frame into dst and fails with
 * dstSize_tooSmall when the output would pass dst_cap, whether or not the frame header gives
 * a content size (Java's streaming writer leaves it out). It needs no window buffer, unlike
 * ZSTD_decompressStream(), which would allocate up to 2^windowLog bytes as a frame asks.
 */
static int
zstd_decompress(struct ferry_codec_ctx *cc, struct ferry_span src, uint8_t *dst, size_t dst_cap,
		size_t *out_len)
{
	size_t off = 0;
	size_t r;

	/*
	 * Walk the frames first and accept only zstd frames (RFC 8878 §3.1.1) and skippable
	 * frames (§3.1.2). This finds trailing garbage, and keeps network input away from
	 * libzstd's pre-1.0 "legacy" decoders, which allocate their own contexts.
	 */
	while (off < src.len) {
		size_t left = src.len - off;
		size_t fsz;
		uint32_t magic;

		if (left < 4)
			return FERRY_ERR__DECOMPRESS;
		magic = rd_le32(src.p + off);
		if (magic != ZSTD_MAGICNUMBER &&
		    (magic & ZSTD_MAGIC_SKIPPABLE_MASK) != ZSTD_MAGIC_SKIPPABLE_START)
			return FERRY_ERR__DECOMPRESS;
		fsz = ZSTD_findFrameCompressedSize(src.p + off, left);
		if (ZSTD_isError(fsz) || fsz == 0)
			return FERRY_ERR__DECOMPRESS;
		off += fsz;
	}

	r = ZSTD_decompressDCtx(cc->zstd_dec, dst, dst_cap, src.p, src.len);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return FERRY_ERR__DECOMPRESS_LIMIT;
		return FERRY_ERR__DECOMPRESS;
	}
	*out_len = r;
	return 0;
}

/*
 * Shared argument checks. NULL with a zero length is allowed for both buffers; it is swapped
 * for a real pointer so that no library sees NULL and no code does arithmetic on it.
 */
static int
check_bufs(struct ferry_span *src, uint8_t **dst, size_t dst_cap, uint8_t *dummy, size_t *out_len)
{
	static const uint8_t empty[1];

	if (out_len == NULL)
		return FERRY_ERR__INVALID_ARG;
	*out_len = 0;
	if (src->p == NULL) {
		if (src->len != 0)
			return FERRY_ERR__INVALID_ARG;
		src->p = empty;
	}
	if (*dst == NULL) {
		if (dst_cap != 0)
			return FERRY_ERR__INVALID_ARG;
		*dst = dummy;
	}
	return 0;
}

int
ferry_decompress(struct ferry_codec_ctx *cc, int codec, struct ferry_span src, uint8_t *dst,
		 size_t dst_cap, size_t *out_len)
{
	uint8_t dummy[1];
	size_t n = 0;
	int r;

	r = check_bufs(&src, &dst, dst_cap, dummy, out_len);
	if (r != 0)
		return r;
	if (codec < FERRY_CODEC_NONE || codec > FERRY_CODEC_ZSTD)
		return FERRY_ERR__UNSUPPORTED_CODEC;
	if (codec == FERRY_CODEC_NONE) {
		if (src.len > dst_cap)
			return FERRY_ERR__DECOMPRESS_LIMIT;
		memcpy(dst, src.p, src.len);
		*out_len = src.len;
		return 0;
	}
	if (cc == NULL)
		return FERRY_ERR__INVALID_ARG;
	/* Every codec's smallest valid output is several bytes; a batch never carries an empty
	 * compressed blob, and Java's readers fail on one. */
	if (src.len == 0)
		return FERRY_ERR__DECOMPRESS;

	switch (codec) {
	case FERRY_CODEC_GZIP: r = gzip_decompress(cc, src, dst, dst_cap, &n); break;
	case FERRY_CODEC_SNAPPY: r = snappy_decompress(src, dst, dst_cap, &n); break;
	case FERRY_CODEC_LZ4: r = lz4_decompress(cc, src, dst, dst_cap, &n); break;
	default: r = zstd_decompress(cc, src, dst, dst_cap, &n); break;
	}
	if (r == 0)
		*out_len = n;
	return r;
}

/* ---- encode ------------------------------------------------------------------------------ */

/*
 * Where to encode a piece whose worst case is 'bound' bytes: straight into dst when that
 * surely fits, else into the scratch buffer (bound <= scratch_cap by construction).
 */
static uint8_t *
piece_begin(struct ferry_codec_ctx *cc, uint8_t *dst, size_t dst_cap, size_t off, size_t bound,
	    size_t *piece_cap)
{
	if (dst_cap - off >= bound) {
		*piece_cap = dst_cap - off;
		return dst + off;
	}
	*piece_cap = cc->scratch_cap;
	return cc->scratch;
}

/* Account for an encoded piece of n bytes, copying it out of scratch if it went there. */
static int
piece_end(struct ferry_codec_ctx *cc, const uint8_t *piece, uint8_t *dst, size_t dst_cap,
	  size_t *off, size_t n)
{
	if (piece == cc->scratch) {
		if (n > dst_cap - *off)
			return FERRY_ERR__NOSPACE;
		memcpy(dst + *off, piece, n);
	}
	*off += n;
	return 0;
}

/* The libdeflate compressor is per level: keep the one we have unless the level changes. */
static int
gzip_compress(struct ferry_codec_ctx *cc, struct ferry_span src, uint8_t *dst, size_t dst_cap,
	      size_t *out_len, int level)
{
	size_t n;

	if (level < 0)
		return FERRY_ERR__INVALID_ARG;
	if (level == 0)
		level = FERRY_GZIP_LEVEL_DEFAULT;
	if (level > FERRY_GZIP_LEVEL_MAX)
		level = FERRY_GZIP_LEVEL_MAX;
	if (level != cc->gz_level) {
		/* Allocate the new one first so a failure leaves the context usable. */
		struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
		if (c == NULL)
			return FERRY_ERR__NOMEM;
		libdeflate_free_compressor(cc->gz_enc);
		cc->gz_enc = c;
		cc->gz_level = level;
	}
	/* libdeflate returns 0 when the output does not fit. It writes whole words and keeps
	 * 8 bytes of padding past its output, so that margin counts as not fitting. */
	n = libdeflate_gzip_compress(cc->gz_enc, src.p, src.len, dst, dst_cap);
	if (n == 0)
		return FERRY_ERR__NOSPACE;
	*out_len = n;
	return 0;
}

static size_t
varint32_put(uint8_t *p, uint32_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * Raw snappy: one block, varint length then tags. With dst_cap below snappy's worst case the
 * block is built fragment by fragment through scratch: snappy itself compresses each 64 KiB
 * fragment independently after one length varint, so "varint(len) + each fragment's tags"
 * is exactly the block snappy_compress() would write, and NOSPACE means it does not fit.
 */
static int
snappy_raw_compress(struct ferry_codec_ctx *cc, struct ferry_span src, uint8_t *dst, size_t dst_cap,
		    size_t *out_len)
{
	uint8_t hdr[5];
	size_t hdr_len;
	size_t off;

	if (dst_cap >= snappy_max_compressed_length(src.len)) {
		size_t n = dst_cap;
		if (snappy_compress((const char *)src.p, src.len, (char *)dst, &n) != SNAPPY_OK)
			return FERRY_ERR__COMPRESS;
		*out_len = n;
		return 0;
	}

	hdr_len = varint32_put(hdr, (uint32_t)src.len);
	if (hdr_len > dst_cap)
		return FERRY_ERR__NOSPACE;
	memcpy(dst, hdr, hdr_len);
	off = hdr_len;
	for (size_t pos = 0; pos < src.len; pos += FERRY_SNAPPY_FRAGMENT) {
		size_t flen =
		    src.len - pos < FERRY_SNAPPY_FRAGMENT ? src.len - pos : FERRY_SNAPPY_FRAGMENT;
		size_t n = cc->scratch_cap;
		size_t skip;

		if (snappy_compress((const char *)src.p + pos, flen, (char *)cc->scratch, &n) !=
		    SNAPPY_OK)
			return FERRY_ERR__COMPRESS;
		/* Drop the fragment's own length varint: only the tags are appended. */
		skip = varint32_put(hdr, (uint32_t)flen);
		if (n - skip > dst_cap - off)
			return FERRY_ERR__NOSPACE;
		memcpy(dst + off, cc->scratch + skip, n - skip);
		off += n - skip;
	}
	*out_len = off;
	return 0;
}

/* xerial framing, as snappy-java's SnappyOutputStream writes it: header, then one
 * length-prefixed raw block per 32 KiB of input. Empty input is the header alone. */
static int
snappy_xerial_compress(struct ferry_codec_ctx *cc, struct ferry_span src, uint8_t *dst,
		       size_t dst_cap, size_t *out_len)
{
	size_t off;

	if (dst_cap < FERRY_XERIAL_HDR_LEN)
		return FERRY_ERR__NOSPACE;
	memcpy(dst, ferry_xerial_magic, sizeof(ferry_xerial_magic));
	ferry_put_be32(dst + 8, FERRY_XERIAL_VERSION);
	ferry_put_be32(dst + 12, FERRY_XERIAL_COMPAT);
	off = FERRY_XERIAL_HDR_LEN;

	for (size_t pos = 0; pos < src.len; pos += FERRY_XERIAL_CHUNK) {
		size_t clen =
		    src.len - pos < FERRY_XERIAL_CHUNK ? src.len - pos : FERRY_XERIAL_CHUNK;
		size_t len_off = off;
		size_t piece_cap;
		uint8_t *piece;
		size_t n;
		int r;

		if (dst_cap - off < 4)
			return FERRY_ERR__NOSPACE;
		off += 4;
		piece = piece_begin(cc, dst, dst_cap, off, snappy_max_compressed_length(clen),
				    &piece_cap);
		n = piece_cap;
		if (snappy_compress((const char *)src.p + pos, clen, (char *)piece, &n) !=
		    SNAPPY_OK)
			return FERRY_ERR__COMPRESS;
		r = piece_end(cc, piece, dst, dst_cap, &off, n);
		if (r != 0)
			return r;
		ferry_put_be32(dst + len_off, (uint32_t)n);
	}
	*out_len = off;
	return 0;
}

/* Map an LZ4F failure: "dst too small" cannot happen (pieces are sized by the bound), so
 * every error is the library's. */
static int
lz4_piece(struct ferry_codec_ctx *cc, size_t r, const uint8_t *piece, uint8_t *dst, size_t dst_cap,
	  size_t *off)
{
	if (LZ4F_isError(r))
		return FERRY_ERR__COMPRESS;
	return piece_end(cc, piece, dst, dst_cap, off, r);
}

/*
 * lz4: begin, one update per 64 KiB block, end. With autoFlush and independent blocks LZ4F
 * emits each block during its update call (stored uncompressed when it would not shrink)
 * and keeps no input of its own, so each call's output can be placed independently.
 */
static int
lz4_compress(struct ferry_codec_ctx *cc, struct ferry_span src, uint8_t *dst, size_t dst_cap,
	     size_t *out_len, int level)
{
	LZ4F_preferences_t prefs;
	size_t off = 0;
	size_t piece_cap;
	uint8_t *piece;
	size_t r;
	int err;

	if (level < 0)
		return FERRY_ERR__INVALID_ARG;
	if (level > LZ4F_compressionLevel_max())
		level = LZ4F_compressionLevel_max();
	lz4_prefs_init(&prefs, level);

	piece = piece_begin(cc, dst, dst_cap, off, LZ4F_HEADER_SIZE_MAX, &piece_cap);
	r = LZ4F_compressBegin(cc->lz4_enc, piece, piece_cap, &prefs);
	err = lz4_piece(cc, r, piece, dst, dst_cap, &off);
	if (err != 0)
		return err;

	for (size_t pos = 0; pos < src.len; pos += FERRY_LZ4_BLOCK) {
		size_t blen = src.len - pos < FERRY_LZ4_BLOCK ? src.len - pos : FERRY_LZ4_BLOCK;

		piece = piece_begin(cc, dst, dst_cap, off, LZ4F_compressBound(blen, &prefs),
				    &piece_cap);
		r = LZ4F_compressUpdate(cc->lz4_enc, piece, piece_cap, src.p + pos, blen, NULL);
		err = lz4_piece(cc, r, piece, dst, dst_cap, &off);
		if (err != 0)
			return err;
	}

	piece = piece_begin(cc, dst, dst_cap, off, LZ4F_compressBound(0, &prefs), &piece_cap);
	r = LZ4F_compressEnd(cc->lz4_enc, piece, piece_cap, NULL);
	err = lz4_piece(cc, r, piece, dst, dst_cap, &off);
	if (err != 0)
		return err;
	*out_len = off;
	return 0;
}

/*
 * zstd: one frame with the content size recorded (as librdkafka writes it). libzstd keeps its
 * compression workspace in the CCtx between calls and resizes it only for a larger level or
 * input than seen before. Like libdeflate it needs a few bytes of room past its output.
 */
static int
zstd_compress(struct ferry_codec_ctx *cc, struct ferry_span src, uint8_t *dst, size_t dst_cap,
	      size_t *out_len, int level)
{
	size_t r;

	if (level == 0)
		level = ZSTD_CLEVEL_DEFAULT;
	if (level < ZSTD_minCLevel())
		level = ZSTD_minCLevel();
	if (level > ZSTD_maxCLevel())
		level = ZSTD_maxCLevel();
	r = ZSTD_compressCCtx(cc->zstd_enc, dst, dst_cap, src.p, src.len, level);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return FERRY_ERR__NOSPACE;
		return FERRY_ERR__COMPRESS;
	}
	*out_len = r;
	return 0;
}

/* Add with saturation, so an absurd src_len gives SIZE_MAX rather than a small wrapped bound. */
static size_t
size_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

size_t
ferry_compress_bound(int codec, size_t src_len)
{
	LZ4F_preferences_t prefs;
	size_t chunks, xerial;

	if (src_len > FERRY_COMPRESS_MAX_SRC)
		return 0;
	switch (codec) {
	case FERRY_CODEC_NONE: return src_len;
	case FERRY_CODEC_GZIP:
		/* NULL: the bound over every compressor (level) this libdeflate can make. */
		return libdeflate_gzip_compress_bound(NULL, src_len);
	case FERRY_CODEC_SNAPPY:
		/* The flags are not known here: take the larger of raw and xerial framing.
		 * Each xerial chunk is a 4-byte length plus a block of at most
		 * snappy_max_compressed_length(chunk) bytes. */
		chunks = src_len / FERRY_XERIAL_CHUNK;
		xerial = size_add(FERRY_XERIAL_HDR_LEN,
				  chunks * (4 + snappy_max_compressed_length(FERRY_XERIAL_CHUNK)));
		if (src_len % FERRY_XERIAL_CHUNK != 0)
			xerial = size_add(
			    xerial, 4 + snappy_max_compressed_length(src_len % FERRY_XERIAL_CHUNK));
		return size_max(xerial, snappy_max_compressed_length(src_len));
	case FERRY_CODEC_LZ4:
		lz4_prefs_init(&prefs, 0);
		return LZ4F_compressFrameBound(src_len, &prefs);
	case FERRY_CODEC_ZSTD: return ZSTD_compressBound(src_len);
	default: return 0;
	}
}

int
ferry_compress(struct ferry_codec_ctx *cc, int codec, struct ferry_span src, uint8_t *dst,
	       size_t dst_cap, size_t *out_len, int level, unsigned flags)
{
	uint8_t dummy[1];
	size_t n = 0;
	int r;

	r = check_bufs(&src, &dst, dst_cap, dummy, out_len);
	if (r != 0)
		return r;
	if (codec < FERRY_CODEC_NONE || codec > FERRY_CODEC_ZSTD)
		return FERRY_ERR__UNSUPPORTED_CODEC;
	if ((flags & ~(unsigned)FERRY_COMPRESS_SNAPPY_RAW) != 0 || src.len > FERRY_COMPRESS_MAX_SRC)
		return FERRY_ERR__INVALID_ARG;
	if (codec == FERRY_CODEC_NONE) {
		if (src.len > dst_cap)
			return FERRY_ERR__NOSPACE;
		memcpy(dst, src.p, src.len);
		*out_len = src.len;
		return 0;
	}
	if (cc == NULL)
		return FERRY_ERR__INVALID_ARG;

	switch (codec) {
	case FERRY_CODEC_GZIP: r = gzip_compress(cc, src, dst, dst_cap, &n, level); break;
	case FERRY_CODEC_SNAPPY:
		/* snappy has no levels; 'level' is ignored. */
		if (flags & FERRY_COMPRESS_SNAPPY_RAW)
			r = snappy_raw_compress(cc, src, dst, dst_cap, &n);
		else
			r = snappy_xerial_compress(cc, src, dst, dst_cap, &n);
		break;
	case FERRY_CODEC_LZ4: r = lz4_compress(cc, src, dst, dst_cap, &n, level); break;
	default: r = zstd_compress(cc, src, dst, dst_cap, &n, level); break;
	}
	if (r == 0)
		*out_len = n;
	return r;
}
