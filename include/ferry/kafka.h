/*
 * ferry/kafka.h - the Kafka wire codec: framing, headers, version tables and
 * negotiation, RecordBatch v2, and the request/response codecs of the data
 * path. Control-side APIs are declared in ferry/kafka_ctl.h.
 *
 * All functions work on byte spans, never include DPDK, and never allocate
 * from a length they have not checked against the bytes present: decoders
 * take arrays from a caller's struct ferry_arena. Any thread may call them on
 * its own buffers.
 *
 * Body codec convention (one per API, e.g. ferry_kafka_fetch_resp_decode):
 *   int ..._encode(struct ferry_wr *w, int16_t ver, const struct X *m);
 *   int ..._decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a, struct X *m);
 * They handle the body only (after the header). They return 0 or a negative
 * ferry_err; a decode failure also leaves rd->err / rd->err_off set.
 */
#ifndef FERRY_KAFKA_H
#define FERRY_KAFKA_H

#include "ferry/common.h"
#include "ferry/compress.h"
#include "ferry/kafka-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- CRC32C ------------------------------------------------------------------------------- */

/** CRC-32C (Castagnoli) of len bytes, standard init/final xor (check "123456789" = 0xE3069283). */
uint32_t ferry_crc32c(const void *p, size_t len);
/** Continue a CRC-32C: ferry_crc32c_update(ferry_crc32c(a), b) == crc of a||b. */
uint32_t ferry_crc32c_update(uint32_t crc, const void *p, size_t len);
/**
 * The CRC-32C of a len-byte message whose bytes [off, off+n) changed from 'before' to
 * 'after', given its CRC 'crc' before the change; the other bytes are not read (under a
 * microsecond for any len). A wrong 'crc' stays exactly as wrong.
 */
uint32_t ferry_crc32c_patch(uint32_t crc, size_t len, size_t off, const void *before,
			    const void *after, size_t n);

/* ---- API table and negotiation ------------------------------------------------------------ */

typedef int (*ferry_kafka_enc_fn)(struct ferry_wr *w, int16_t ver, const void *m);
typedef int (*ferry_kafka_dec_fn)(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a, void *m);

/** What ferry implements for one API (librdkafka mock handler table shape). */
struct ferry_kafka_api_info {
	int16_t ApiKey;
	const char *name;
	int16_t min_ver;  /* lowest version ferry speaks (Produce 3, Fetch 4: KIP-896 baselines) */
	int16_t max_ver;  /* highest version ferry speaks */
	int16_t flex_ver; /* first flexible version (compact types + tags) */
	size_t req_size;  /* sizeof the request struct */
	size_t resp_size; /* sizeof the response struct */
	ferry_kafka_enc_fn req_encode;
	ferry_kafka_dec_fn req_decode;
	ferry_kafka_enc_fn resp_encode;
	ferry_kafka_dec_fn resp_decode;
};

/** The entry for an ApiKey, or NULL if ferry does not implement it. */
const struct ferry_kafka_api_info *ferry_kafka_api_get(int16_t api_key);
/** Every implemented API, in ApiKey order; *n gets the count. */
const struct ferry_kafka_api_info *ferry_kafka_api_all(size_t *n);
/** "Fetch", "Produce", ... or "Unknown" (librdkafka rd_kafka_ApiKey2str). */
const char *ferry_kafka_api_name(int16_t api_key);
/** True if this API version uses flexible encodings (request header v2, response header v1). */
bool ferry_kafka_api_is_flexible(int16_t api_key, int16_t ver);

/**
 * Highest version of api_key that ferry and the broker (its ApiVersions answer)
 * both support, or FERRY_ERR__NO_COMMON_VERSION / FERRY_ERR__BAD_API.
 */
int ferry_kafka_pick_version(const struct ferry_kafka_api_versions_resp *broker, int16_t api_key);

/* ---- framing and headers ------------------------------------------------------------------ */

/**
 * Find one size-prefixed frame at the start of 'in'.
 * @return 0 with *body = the bytes after the size and *consumed = 4 + size;
 *         FERRY_ERR__PARTIAL if 'in' does not hold the whole frame yet (normal);
 *         FERRY_ERR__BAD_LENGTH if the size is negative or above max_frame.
 */
int ferry_kafka_frame_split(struct ferry_span in, size_t max_frame, struct ferry_span *body,
			    size_t *consumed);

/**
 * Start a request frame: write a size placeholder and the request header
 * (v1, or v2 when the API version is flexible). Returns the frame's start
 * offset for ferry_kafka_frame_end().
 */
size_t ferry_kafka_req_begin(struct ferry_wr *w, const struct ferry_kafka_reqhdr *h);
/** Start a response frame: size placeholder and response header v0, or v1 when flexible
 *  (except ApiVersions, whose response header is always v0 - KIP-511). */
size_t ferry_kafka_resp_begin(struct ferry_wr *w, int16_t api_key, int16_t ver, int32_t corr_id);
/** Patch the size prefix of the frame started at 'start'. FERRY_ERR__NOSPACE on overflow. */
int ferry_kafka_frame_end(struct ferry_wr *w, size_t start);

/** Decode a request header (after the size). Unknown ApiKeys decode as v1 headers. */
int ferry_kafka_reqhdr_decode(struct ferry_rd *rd, struct ferry_kafka_reqhdr *h);
/** Decode a response header for a request of api_key/ver (after the size). */
int ferry_kafka_resphdr_decode(struct ferry_rd *rd, int16_t api_key, int16_t ver, int32_t *corr_id);

/**
 * Encode a whole request frame (size, header, body) for any implemented API.
 * 'msg' points to that API's request struct.
 */
int ferry_kafka_request_encode(struct ferry_wr *w, const struct ferry_kafka_reqhdr *h,
			       const void *msg);
/**
 * Encode a whole response frame for a request of api_key/ver with this
 * correlation id. 'msg' points to that API's response struct.
 */
int ferry_kafka_response_encode(struct ferry_wr *w, int16_t api_key, int16_t ver, int32_t corr_id,
				const void *msg);

/**
 * Decode a whole request frame body (after the size prefix): header and body,
 * and insist nothing is left over. 'msg' must point to storage of at least
 * api_info->req_size bytes for the header's ApiKey (use a union or the max).
 * On error, writes a message naming the API, version, reason and byte offset.
 */
int ferry_kafka_request_decode(struct ferry_span body, struct ferry_arena *a,
			       struct ferry_kafka_reqhdr *h, void *msg, char *err, size_t errlen);
/** Same for a response body to a request of api_key/ver; checks the correlation id. */
int ferry_kafka_response_decode(struct ferry_span body, int16_t api_key, int16_t ver,
				int32_t expect_corr, struct ferry_arena *a, void *msg, char *err,
				size_t errlen);

/* ---- body codecs: data path --------------------------------------------------------------- */

int ferry_kafka_api_versions_req_encode(struct ferry_wr *w, int16_t ver,
					const struct ferry_kafka_api_versions_req *m);
int ferry_kafka_api_versions_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					struct ferry_kafka_api_versions_req *m);
int ferry_kafka_api_versions_resp_encode(struct ferry_wr *w, int16_t ver,
					 const struct ferry_kafka_api_versions_resp *m);
/**
 * ApiVersions response. If ErrorCode is UNSUPPORTED_VERSION (35) the broker
 * used the v0 body layout; the decoder then parses leniently, keeps what it
 * could (maybe no ApiKeys) and still returns 0, so the caller can retry
 * with a lower version (librdkafka's rule; the 2.0.2 mock sends a malformed
 * body here).
 */
int ferry_kafka_api_versions_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					 struct ferry_kafka_api_versions_resp *m);

int ferry_kafka_fetch_req_encode(struct ferry_wr *w, int16_t ver,
				 const struct ferry_kafka_fetch_req *m);
int ferry_kafka_fetch_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				 struct ferry_kafka_fetch_req *m);
int ferry_kafka_fetch_resp_encode(struct ferry_wr *w, int16_t ver,
				  const struct ferry_kafka_fetch_resp *m);
int ferry_kafka_fetch_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				  struct ferry_kafka_fetch_resp *m);

int ferry_kafka_produce_req_encode(struct ferry_wr *w, int16_t ver,
				   const struct ferry_kafka_produce_req *m);
int ferry_kafka_produce_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				   struct ferry_kafka_produce_req *m);
int ferry_kafka_produce_resp_encode(struct ferry_wr *w, int16_t ver,
				    const struct ferry_kafka_produce_resp *m);
int ferry_kafka_produce_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				    struct ferry_kafka_produce_resp *m);

/* ---- body codecs: SASL (KIP-43, KIP-152) ------------------------------------------------- */

/*
 * SaslHandshake (17) v0-1, never flexible, and SaslAuthenticate (36) v0-2, flexible from
 * v2. Errors as for the control-side codecs (ferry/kafka_ctl.h): UNSUPPORTED_VERSION outside
 * the range; encode: NOSPACE, or INVALID_ARG (nothing left in the writer) for a null Mechanism,
 * Mechanisms[i] or AuthBytes, a negative n_mechanisms, or SessionLifetimeMs != 0 in a v0
 * response (the field is non-ignorable); decode: the reader's error. A null ErrorMessage is
 * p == NULL (empty but present: p != NULL, len 0); a v0 response decodes SessionLifetimeMs
 * as 0. The Mechanisms array comes from the arena, the spans point into the input.
 */
int ferry_kafka_sasl_handshake_req_encode(struct ferry_wr *w, int16_t ver,
					  const struct ferry_kafka_sasl_handshake_req *m);
int ferry_kafka_sasl_handshake_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					  struct ferry_kafka_sasl_handshake_req *m);
int ferry_kafka_sasl_handshake_resp_encode(struct ferry_wr *w, int16_t ver,
					   const struct ferry_kafka_sasl_handshake_resp *m);
int ferry_kafka_sasl_handshake_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					   struct ferry_kafka_sasl_handshake_resp *m);

int ferry_kafka_sasl_authenticate_req_encode(struct ferry_wr *w, int16_t ver,
					     const struct ferry_kafka_sasl_authenticate_req *m);
int ferry_kafka_sasl_authenticate_req_decode(struct ferry_rd *rd, int16_t ver,
					     struct ferry_arena *a,
					     struct ferry_kafka_sasl_authenticate_req *m);
int ferry_kafka_sasl_authenticate_resp_encode(struct ferry_wr *w, int16_t ver,
					      const struct ferry_kafka_sasl_authenticate_resp *m);
int ferry_kafka_sasl_authenticate_resp_decode(struct ferry_rd *rd, int16_t ver,
					      struct ferry_arena *a,
					      struct ferry_kafka_sasl_authenticate_resp *m);

/* ---- RecordBatch v2 ----------------------------------------------------------------------- */

/**
 * Locate and parse the batch at the start of 'in' (header only; no CRC check).
 * @return 0 with *b filled and *consumed = 12 + BatchLength;
 *         FERRY_ERR__PARTIAL if 'in' holds less than the whole batch (a cut tail);
 *         FERRY_ERR__BAD_MAGIC for magic != 2 (legacy message sets);
 *         FERRY_ERR__BAD_LENGTH if BatchLength is below the v2 header size.
 */
int ferry_kafka_batch_parse(struct ferry_span in, struct ferry_kafka_batch *b, size_t *consumed);

/**
 * Full validation of a parsed batch: CRC32C over bytes 21..end, BaseOffset >= 0
 * and BaseOffset + LastOffsetDelta + 1 within int64 (FERRY_ERR__BAD_OFFSET), RecordsCount
 * >= 0, LastOffsetDelta >= RecordsCount - 1 (compaction may leave gaps; a
 * producer batch has equality, see ferry_kafka_batch_check_produce), control
 * batch shape. Does not decompress.
 */
int ferry_kafka_batch_validate(const struct ferry_kafka_batch *b);

/** The broker's Produce-time rules (§3.5): BaseOffset 0, count == LastOffsetDelta + 1 > 0, not control. */
int ferry_kafka_batch_check_produce(const struct ferry_kafka_batch *b);

static inline int
ferry_kafka_batch_codec(const struct ferry_kafka_batch_hdr *h)
{
	return h->Attributes & FERRY_KAFKA_ATTR_CODEC_MASK;
}

static inline bool
ferry_kafka_batch_is_control(const struct ferry_kafka_batch_hdr *h)
{
	return (h->Attributes & FERRY_KAFKA_ATTR_CONTROL) != 0;
}

static inline bool
ferry_kafka_batch_is_transactional(const struct ferry_kafka_batch_hdr *h)
{
	return (h->Attributes & FERRY_KAFKA_ATTR_TRANSACTIONAL) != 0;
}

/** BaseOffset + LastOffsetDelta. Wraps instead of overflowing (Java's arithmetic) on a
 *  header that ferry_kafka_batch_validate() would refuse as FERRY_ERR__BAD_OFFSET. */
static inline int64_t
ferry_kafka_batch_last_offset(const struct ferry_kafka_batch_hdr *h)
{
	return (int64_t)((uint64_t)h->BaseOffset + (uint64_t)(int64_t)h->LastOffsetDelta);
}

/** Walk the batches of a Records blob (Fetch response). */
void ferry_kafka_batch_iter_init(struct ferry_kafka_batch_iter *it, struct ferry_span records);
/**
 * Next batch: 1 with *b set, 0 at the end (it->partial_tail = bytes of a cut
 * trailing batch, dropped as Kafka clients do), or a negative ferry_err for a
 * malformed batch.
 */
int ferry_kafka_batch_next(struct ferry_kafka_batch_iter *it, struct ferry_kafka_batch *b);

/**
 * Records of a batch as plain bytes: the records span itself for an
 * uncompressed batch, otherwise decompressed into dst (dst_cap is the bomb cap).
 */
int ferry_kafka_batch_records(struct ferry_codec_ctx *cc, const struct ferry_kafka_batch *b,
			      uint8_t *dst, size_t dst_cap, struct ferry_span *out);

/** Iterate 'count' records over uncompressed record bytes. */
void ferry_kafka_rec_iter_init(struct ferry_kafka_rec_iter *it, struct ferry_span records,
			       int32_t count);
/**
 * Next record: 1 with *r set; 0 when all 'count' records were read and no
 * bytes are left; negative ferry_err (BAD_RECORD, BAD_COUNT, TRUNCATED,
 * BAD_VARINT, BAD_LENGTH) otherwise. Header bytes are checked here too.
 */
int ferry_kafka_rec_next(struct ferry_kafka_rec_iter *it, struct ferry_kafka_record *r);

void ferry_kafka_hdr_iter_init(struct ferry_kafka_hdr_iter *it, const struct ferry_kafka_record *r);
/** Next header: 1, 0 at the end, or a negative ferry_err. */
int ferry_kafka_hdr_next(struct ferry_kafka_hdr_iter *it, struct ferry_kafka_header *h);

/** Control record key -> type (ABORT/COMMIT/...); negative ferry_err if malformed. */
int ferry_kafka_control_type(const struct ferry_kafka_record *r, int16_t *type);

/**
 * Rewrite header fields of a batch in place (those flagged in rw->set) and
 * recompute the CRC, or patch it with FERRY_KAFKA_RW_CRC_CARRY. 'batch' must hold a
 * whole parsed batch.
 */
int ferry_kafka_batch_rewrite(uint8_t *batch, size_t len, const struct ferry_kafka_batch_rewrite *rw);

/**
 * Build a v2 batch from records into w: OffsetDeltas 0..n-1, BaseTimestamp =
 * first record's timestamp, MaxTimestamp = the largest, compressed with the
 * codec in a->Attributes (scratch holds the uncompressed records; it must be
 * large enough), CRC computed. n must be >= 1.
 */
int ferry_kafka_batch_build(struct ferry_wr *w, const struct ferry_kafka_batch_args *a,
			    const struct ferry_kafka_record_in *recs, size_t n,
			    struct ferry_codec_ctx *cc, uint8_t *scratch, size_t scratch_cap);

/** Decode the 61-byte header at p (which must hold 61 bytes). */
void ferry_kafka_batch_hdr_read(const uint8_t *p, struct ferry_kafka_batch_hdr *h);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_KAFKA_H */
