/*
 * batch.c - RecordBatch v2 (magic 2): locate, validate, iterate records and
 * headers, rewrite the header fields a replicator changes, and build batches.
 *
 * Any thread; no state. Works on spans into the caller's buffers: records,
 * keys, values and headers are never copied. Spec: kafka-wire-facts.md §3
 * (Java DefaultRecordBatch / DefaultRecord, librdkafka msgset reader/writer).
 */
#include <string.h>

#include "ferry/kafka.h"

/* Field offsets inside the 61-byte header (§3.1). */
enum {
	OFF_BASE_OFFSET = 0,
	OFF_LENGTH = 8,
	OFF_LEADER_EPOCH = 12,
	OFF_MAGIC = 16,
	OFF_CRC = 17,
	OFF_ATTRIBUTES = 21,
	OFF_LAST_OFFSET_DELTA = 23,
	OFF_BASE_TIMESTAMP = 27,
	OFF_MAX_TIMESTAMP = 35,
	OFF_PRODUCER_ID = 43,
	OFF_PRODUCER_EPOCH = 51,
	OFF_BASE_SEQUENCE = 53,
	OFF_RECORDS_COUNT = 57,
};

_Static_assert(OFF_RECORDS_COUNT + 4 == FERRY_KAFKA_BATCH_HDR_SIZE, "v2 header is 61 bytes");

void
ferry_kafka_batch_hdr_read(const uint8_t *p, struct ferry_kafka_batch_hdr *h)
{
	h->BaseOffset = (int64_t)ferry_be64(p + OFF_BASE_OFFSET);
	h->BatchLength = (int32_t)ferry_be32(p + OFF_LENGTH);
	h->PartitionLeaderEpoch = (int32_t)ferry_be32(p + OFF_LEADER_EPOCH);
	h->Magic = (int8_t)p[OFF_MAGIC];
	h->CRC = ferry_be32(p + OFF_CRC);
	h->Attributes = (int16_t)ferry_be16(p + OFF_ATTRIBUTES);
	h->LastOffsetDelta = (int32_t)ferry_be32(p + OFF_LAST_OFFSET_DELTA);
	h->BaseTimestamp = (int64_t)ferry_be64(p + OFF_BASE_TIMESTAMP);
	h->MaxTimestamp = (int64_t)ferry_be64(p + OFF_MAX_TIMESTAMP);
	h->ProducerId = (int64_t)ferry_be64(p + OFF_PRODUCER_ID);
	h->ProducerEpoch = (int16_t)ferry_be16(p + OFF_PRODUCER_EPOCH);
	h->BaseSequence = (int32_t)ferry_be32(p + OFF_BASE_SEQUENCE);
	h->RecordsCount = (int32_t)ferry_be32(p + OFF_RECORDS_COUNT);
}

int
ferry_kafka_batch_parse(struct ferry_span in, struct ferry_kafka_batch *b, size_t *consumed)
{
	/* A reader needs BaseOffset + Length before it knows the batch size. */
	if (in.len < FERRY_KAFKA_BATCH_LOG_OVERHEAD)
		return FERRY_ERR__PARTIAL;
	int32_t blen = (int32_t)ferry_be32(in.p + OFF_LENGTH);
	if (blen < 0)
		return FERRY_ERR__BAD_LENGTH;
	/* Peek the magic before interpreting bytes 12..16: v0/v1 message sets differ. */
	if (in.len > OFF_MAGIC && in.p[OFF_MAGIC] != FERRY_KAFKA_BATCH_MAGIC)
		return FERRY_ERR__BAD_MAGIC;
	if (blen < FERRY_KAFKA_BATCH_HDR_SIZE - FERRY_KAFKA_BATCH_LOG_OVERHEAD)
		return FERRY_ERR__BAD_LENGTH;
	size_t total = FERRY_KAFKA_BATCH_LOG_OVERHEAD + (size_t)blen;
	if (in.len < total)
		return FERRY_ERR__PARTIAL;
	ferry_kafka_batch_hdr_read(in.p, &b->hdr);
	b->bytes = ferry_span_make(in.p, total);
	b->records = ferry_span_make(in.p + FERRY_KAFKA_BATCH_HDR_SIZE,
				     total - FERRY_KAFKA_BATCH_HDR_SIZE);
	*consumed = total;
	return 0;
}

int
ferry_kafka_batch_validate(const struct ferry_kafka_batch *b)
{
	const struct ferry_kafka_batch_hdr *h = &b->hdr;

	if (h->Magic != FERRY_KAFKA_BATCH_MAGIC)
		return FERRY_ERR__BAD_MAGIC;
	/* CRC-32C covers Attributes .. end; BaseOffset, Length, PLE, Magic are outside (§3.1). */
	uint32_t crc = ferry_crc32c(b->bytes.p + FERRY_KAFKA_BATCH_CRC_START,
				    b->bytes.len - FERRY_KAFKA_BATCH_CRC_START);
	if (crc != h->CRC)
		return FERRY_ERR__BAD_CRC;
	/* RecordsCount 0 is an empty batch kept by compaction; otherwise offsets
	 * must span at least the records present (compaction leaves gaps). */
	if (h->RecordsCount < 0 || h->LastOffsetDelta < 0)
		return FERRY_ERR__BAD_COUNT;
	/* Offsets are never negative, and the last one must be representable: a
	 * consumer's next fetch position is built from it. */
	if (h->BaseOffset < 0 || h->BaseOffset > INT64_MAX - 1 - h->LastOffsetDelta)
		return FERRY_ERR__BAD_OFFSET;
	if (h->RecordsCount > 0 && h->LastOffsetDelta < h->RecordsCount - 1)
		return FERRY_ERR__BAD_COUNT;
	/* Every record needs at least 7 bytes uncompressed (length, attributes,
	 * timestamp, offset, key, value, header count). */
	if (ferry_kafka_batch_codec(h) == FERRY_CODEC_NONE &&
	    (uint64_t)h->RecordsCount * 7 > b->records.len)
		return FERRY_ERR__BAD_COUNT;
	/* §3.4: a control batch holds exactly one record. */
	if (ferry_kafka_batch_is_control(h) && h->RecordsCount != 1)
		return FERRY_ERR__BAD_COUNT;
	return 0;
}

int
ferry_kafka_batch_check_produce(const struct ferry_kafka_batch *b)
{
	const struct ferry_kafka_batch_hdr *h = &b->hdr;
	/* §3.5 rules 2, 5, 6, 7: what a broker answers INVALID_RECORD to. */
	if (h->BaseOffset != 0)
		return FERRY_ERR_INVALID_RECORD;
	if (h->RecordsCount <= 0 || h->LastOffsetDelta != h->RecordsCount - 1)
		return FERRY_ERR_INVALID_RECORD;
	if (ferry_kafka_batch_is_control(h))
		return FERRY_ERR_INVALID_RECORD;
	if (h->ProducerId != -1 && h->BaseSequence < 0)
		return FERRY_ERR_INVALID_RECORD;
	return 0;
}

void
ferry_kafka_batch_iter_init(struct ferry_kafka_batch_iter *it, struct ferry_span records)
{
	it->in = records;
	it->off = 0;
	it->partial_tail = 0;
}

int
ferry_kafka_batch_next(struct ferry_kafka_batch_iter *it, struct ferry_kafka_batch *b)
{
	if (it->in.p == NULL || it->off >= it->in.len)
		return 0;
	size_t used;
	struct ferry_span rest = ferry_span_make(it->in.p + it->off, it->in.len - it->off);
	int rc = ferry_kafka_batch_parse(rest, b, &used);
	if (rc == FERRY_ERR__PARTIAL) {
		/* The broker sends a byte range of the log: the last batch may be cut.
		 * Clients drop it and refetch from after the last whole batch (§2.2). */
		it->partial_tail = rest.len;
		it->off = it->in.len;
		return 0;
	}
	if (rc < 0)
		return rc;
	it->off += used;
	return 1;
}

int
ferry_kafka_batch_records(struct ferry_codec_ctx *cc, const struct ferry_kafka_batch *b,
			  uint8_t *dst, size_t dst_cap, struct ferry_span *out)
{
	int codec = ferry_kafka_batch_codec(&b->hdr);
	if (codec == FERRY_CODEC_NONE) {
		*out = b->records;
		return 0;
	}
	size_t n;
	int rc = ferry_decompress(cc, codec, b->records, dst, dst_cap, &n);
	if (rc < 0)
		return rc;
	*out = ferry_span_make(dst, n);
	return 0;
}

void
ferry_kafka_rec_iter_init(struct ferry_kafka_rec_iter *it, struct ferry_span records, int32_t count)
{
	ferry_rd_init(&it->rd, records.p, records.len);
	it->count = count;
	it->index = 0;
}

/* Read a VARINT length-prefixed byte field inside a record: -1 = null (if allowed). */
static bool
rec_rd_varbytes(struct ferry_rd *rd, bool nullable, struct ferry_span *s)
{
	size_t start = rd->off;
	int32_t n;
	if (!ferry_rd_varint(rd, &n))
		return false;
	if (n == -1 && nullable) {
		s->p = NULL;
		s->len = 0;
		return true;
	}
	if (n < 0) {
		rd->off = start;
		return ferry_rd_fail(rd, FERRY_ERR__BAD_LENGTH);
	}
	if ((size_t)n > ferry_rd_left(rd)) {
		rd->off = start;
		return ferry_rd_fail(rd, FERRY_ERR__TRUNCATED);
	}
	s->p = rd->p + rd->off;
	s->len = (size_t)n;
	rd->off += (size_t)n;
	return true;
}

/* Walk 'count' headers of a record body, validating each. */
static bool
rec_walk_headers(struct ferry_rd *rd, int32_t count)
{
	for (int32_t i = 0; i < count; i++) {
		struct ferry_span k, v;
		/* §3.3: header key length must be >= 0; value may be null. */
		if (!rec_rd_varbytes(rd, false, &k) || !rec_rd_varbytes(rd, true, &v))
			return false;
	}
	return true;
}

/*
 * Fast path for one record: unchecked varint decoding through a local cursor. It reads
 * at most 10 bytes from any position before the end of the record body, so it runs only
 * when at least 10 bytes of the span follow the body (every record but the last of a
 * batch). It only ever succeeds: on anything unusual it returns false having changed
 * nothing, and the careful path below parses the record again and reports the exact error.
 */
static inline bool
fast_uvarint(const uint8_t **pp, uint32_t *v)
{
	const uint8_t *p = *pp;
	uint32_t b, val;

	b = *p++;
	val = b & 0x7f;
	if (b & 0x80) {
		b = *p++;
		val |= (b & 0x7f) << 7;
		if (b & 0x80) {
			b = *p++;
			val |= (b & 0x7f) << 14;
			if (b & 0x80) {
				b = *p++;
				val |= (b & 0x7f) << 21;
				if (b & 0x80) {
					b = *p++;
					if (b & 0xf0)
						return false;
					val |= b << 28;
				}
			}
		}
	}
	*pp = p;
	*v = val;
	return true;
}

static inline bool
fast_varint(const uint8_t **pp, int32_t *v)
{
	uint32_t u;

	if (!fast_uvarint(pp, &u))
		return false;
	*v = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
	return true;
}

static inline bool
fast_varlong(const uint8_t **pp, int64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t b = *p++, val = b & 0x7f;

	/* Timestamp deltas inside a batch are small: one or two bytes is the common case. */
	if (b & 0x80) {
		b = *p++;
		val |= (b & 0x7f) << 7;
		if (b & 0x80) {
			for (unsigned i = 2; i < 10; i++) {
				b = *p++;
				if (i == 9 && (b & 0xfe))
					return false;
				val |= (b & 0x7f) << (7 * i);
				if (!(b & 0x80))
					goto done;
			}
			return false;
		}
	}
done:
	*pp = p;
	*v = (int64_t)((val >> 1) ^ (~(val & 1) + 1));
	return true;
}

/* A VARINT-length byte field that must end by 'end': -1 = null if allowed. */
static inline bool
fast_varbytes(const uint8_t **pp, const uint8_t *end, bool nullable, struct ferry_span *s)
{
	int32_t n;

	if (!fast_varint(pp, &n))
		return false;
	if (n == -1 && nullable) {
		s->p = NULL;
		s->len = 0;
		return true;
	}
	if (n < 0 || *pp > end || (size_t)n > (size_t)(end - *pp))
		return false;
	s->p = *pp;
	s->len = (size_t)n;
	*pp += n;
	return true;
}

static inline bool
rec_next_fast(struct ferry_rd *rd, struct ferry_kafka_record *r)
{
	const uint8_t *p = rd->p + rd->off, *lim = rd->p + rd->len, *body, *end;
	int32_t hcount;

	if (lim - p < 10 || !fast_varint(&p, &r->Length) || r->Length < 0 ||
	    (size_t)r->Length > (size_t)(lim - p) || (size_t)(lim - p) - (size_t)r->Length < 10)
		return false;
	body = p;
	end = body + r->Length;
	if (r->Length < 1)
		return false;
	r->Attributes = (int8_t)*p++;
	/* Keep p <= end before every varint read: each reads at most 10 bytes, and
	 * at least 10 bytes of the span follow 'end', so no read leaves the span. */
	if (!fast_varlong(&p, &r->TimestampDelta) || p > end)
		return false;
	if (!fast_varint(&p, &r->OffsetDelta) || p > end)
		return false;
	if (!fast_varbytes(&p, end, true, &r->Key) || !fast_varbytes(&p, end, true, &r->Value))
		return false;
	if (!fast_varint(&p, &hcount) || p > end || hcount < 0 ||
	    (uint64_t)hcount * 2 > (uint64_t)(end - p))
		return false;
	const uint8_t *hstart = p;
	for (int32_t i = 0; i < hcount; i++) {
		struct ferry_span k, v;
		if (!fast_varbytes(&p, end, false, &k) || !fast_varbytes(&p, end, true, &v))
			return false;
	}
	if (p != end)
		return false;
	r->HeadersCount = hcount;
	r->Headers = ferry_span_make(hstart, (size_t)(end - hstart));
	rd->off = (size_t)(end - rd->p);
	return true;
}

int
ferry_kafka_rec_next(struct ferry_kafka_rec_iter *it, struct ferry_kafka_record *r)
{
	struct ferry_rd *rd = &it->rd;

	if (rd->err)
		return rd->err;
	if (it->index >= it->count) {
		/* Readers reject records left over after RecordsCount (§3.3). */
		if (ferry_rd_left(rd) != 0) {
			ferry_rd_fail(rd, FERRY_ERR__BAD_COUNT);
			return rd->err;
		}
		return 0;
	}
	if (ferry_rd_left(rd) == 0) {
		ferry_rd_fail(rd, FERRY_ERR__BAD_COUNT); /* fewer records than RecordsCount */
		return rd->err;
	}

	if (rec_next_fast(rd, r)) {
		it->index++;
		return 1;
	}

	size_t start = rd->off;
	if (!ferry_rd_varint(rd, &r->Length))
		goto err_parse;
	if (r->Length < 0) {
		rd->off = start;
		ferry_rd_fail(rd, FERRY_ERR__BAD_LENGTH);
		goto err_parse;
	}
	if ((size_t)r->Length > ferry_rd_left(rd)) {
		rd->off = start;
		ferry_rd_fail(rd, FERRY_ERR__TRUNCATED);
		goto err_parse;
	}

	/* Parse the body in a sub-reader bounded by Length, so a field that runs
	 * past it is caught as "parsed size differs from Length". */
	struct ferry_rd body;
	ferry_rd_init(&body, rd->p + rd->off, (size_t)r->Length);
	int32_t hcount;
	if (!ferry_rd_i8(&body, &r->Attributes))
		goto err_body;
	if (!ferry_rd_varlong(&body, &r->TimestampDelta))
		goto err_body;
	if (!ferry_rd_varint(&body, &r->OffsetDelta))
		goto err_body;
	if (!rec_rd_varbytes(&body, true, &r->Key))
		goto err_body;
	if (!rec_rd_varbytes(&body, true, &r->Value))
		goto err_body;
	if (!ferry_rd_varint(&body, &hcount))
		goto err_body;
	/* Each header takes at least two bytes (two length varints). */
	if (hcount < 0 || (uint64_t)hcount * 2 > ferry_rd_left(&body)) {
		ferry_rd_fail(&body, FERRY_ERR__BAD_LENGTH);
		goto err_body;
	}
	r->HeadersCount = hcount;
	size_t hstart = body.off;
	if (!rec_walk_headers(&body, hcount))
		goto err_body;
	r->Headers = ferry_span_make(body.p + hstart, body.off - hstart);
	if (ferry_rd_left(&body) != 0) {
		ferry_rd_fail(&body, FERRY_ERR__BAD_RECORD);
		goto err_body;
	}
	rd->off += (size_t)r->Length;
	it->index++;
	return 1;

err_body:
	/* Report the failure at its absolute offset. A read past the record's
	 * Length is a record whose fields disagree with its Length. */
	rd->err = body.err == FERRY_ERR__TRUNCATED ? FERRY_ERR__BAD_RECORD : body.err;
	rd->err_off = rd->off + body.err_off;
	return rd->err;
err_parse:
	return rd->err;
}

void
ferry_kafka_hdr_iter_init(struct ferry_kafka_hdr_iter *it, const struct ferry_kafka_record *r)
{
	ferry_rd_init(&it->rd, r->Headers.p, r->Headers.len);
	it->count = r->HeadersCount;
	it->index = 0;
}

int
ferry_kafka_hdr_next(struct ferry_kafka_hdr_iter *it, struct ferry_kafka_header *h)
{
	if (it->rd.err)
		return it->rd.err;
	if (it->index >= it->count)
		return 0;
	if (!rec_rd_varbytes(&it->rd, false, &h->Key) || !rec_rd_varbytes(&it->rd, true, &h->Value))
		return it->rd.err;
	it->index++;
	return 1;
}

int
ferry_kafka_control_type(const struct ferry_kafka_record *r, int16_t *type)
{
	/* §3.4: key = int16 version (0), int16 type. */
	if (r->Key.p == NULL || r->Key.len < 4)
		return FERRY_ERR__BAD_RECORD;
	*type = (int16_t)ferry_be16(r->Key.p + 2);
	return 0;
}

int
ferry_kafka_batch_rewrite(uint8_t *batch, size_t len, const struct ferry_kafka_batch_rewrite *rw)
{
	if (len < FERRY_KAFKA_BATCH_HDR_SIZE || batch[OFF_MAGIC] != FERRY_KAFKA_BATCH_MAGIC)
		return FERRY_ERR__INVALID_ARG;
	int32_t blen = (int32_t)ferry_be32(batch + OFF_LENGTH);
	if (blen < FERRY_KAFKA_BATCH_HDR_SIZE - FERRY_KAFKA_BATCH_LOG_OVERHEAD ||
	    (size_t)blen + FERRY_KAFKA_BATCH_LOG_OVERHEAD > len)
		return FERRY_ERR__BAD_LENGTH;

	/* the CRC-covered fields a rewrite may change, as they were (CRC_CARRY) */
	uint8_t was[OFF_RECORDS_COUNT - OFF_ATTRIBUTES];
	memcpy(was, batch + OFF_ATTRIBUTES, sizeof(was));

	if (rw->set & FERRY_KAFKA_RW_BASE_OFFSET)
		ferry_put_be64(batch + OFF_BASE_OFFSET, (uint64_t)rw->BaseOffset);
	if (rw->set & FERRY_KAFKA_RW_LEADER_EPOCH)
		ferry_put_be32(batch + OFF_LEADER_EPOCH, (uint32_t)rw->PartitionLeaderEpoch);
	if (rw->set & FERRY_KAFKA_RW_PRODUCER) {
		ferry_put_be64(batch + OFF_PRODUCER_ID, (uint64_t)rw->ProducerId);
		ferry_put_be16(batch + OFF_PRODUCER_EPOCH, (uint16_t)rw->ProducerEpoch);
		ferry_put_be32(batch + OFF_BASE_SEQUENCE, (uint32_t)rw->BaseSequence);
	}
	if (rw->set & FERRY_KAFKA_RW_ATTRIBUTES)
		ferry_put_be16(batch + OFF_ATTRIBUTES, (uint16_t)rw->Attributes);
	if (rw->set & FERRY_KAFKA_RW_MAX_TIMESTAMP)
		ferry_put_be64(batch + OFF_MAX_TIMESTAMP, (uint64_t)rw->MaxTimestamp);

	/* Only fields from Attributes on are covered; skip the CRC pass when
	 * nothing inside the CRC changed (BaseOffset/PLE-only rewrites). */
	if (rw->set & (FERRY_KAFKA_RW_PRODUCER | FERRY_KAFKA_RW_ATTRIBUTES |
		       FERRY_KAFKA_RW_MAX_TIMESTAMP)) {
		size_t total = FERRY_KAFKA_BATCH_LOG_OVERHEAD + (size_t)blen;
		uint32_t crc;
		if (rw->set & FERRY_KAFKA_RW_CRC_CARRY)
			crc = ferry_crc32c_patch(ferry_be32(batch + OFF_CRC),
						 total - FERRY_KAFKA_BATCH_CRC_START,
						 OFF_ATTRIBUTES - FERRY_KAFKA_BATCH_CRC_START, was,
						 batch + OFF_ATTRIBUTES, sizeof(was));
		else
			crc = ferry_crc32c(batch + FERRY_KAFKA_BATCH_CRC_START,
					   total - FERRY_KAFKA_BATCH_CRC_START);
		ferry_put_be32(batch + OFF_CRC, crc);
	}
	return 0;
}

static size_t
record_body_size(const struct ferry_kafka_record_in *r, int64_t ts_delta, int32_t off_delta)
{
	size_t n = 1 + ferry_varlong_size(ts_delta) + ferry_varint_size(off_delta);
	n += r->Key.p ? ferry_varint_size((int32_t)r->Key.len) + r->Key.len : 1;
	n += r->Value.p ? ferry_varint_size((int32_t)r->Value.len) + r->Value.len : 1;
	n += ferry_varint_size((int32_t)r->n_headers);
	for (uint32_t i = 0; i < r->n_headers; i++) {
		const struct ferry_kafka_header *h = &r->Headers[i];
		n += ferry_varint_size((int32_t)h->Key.len) + h->Key.len;
		n += h->Value.p ? ferry_varint_size((int32_t)h->Value.len) + h->Value.len : 1;
	}
	return n;
}

static void
record_write(struct ferry_wr *w, const struct ferry_kafka_record_in *r, int64_t ts_delta,
	     int32_t off_delta)
{
	size_t body = record_body_size(r, ts_delta, off_delta);
	ferry_wr_varint(w, (int32_t)body);
	ferry_wr_i8(w, 0); /* record attributes: unused, always 0 */
	ferry_wr_varlong(w, ts_delta);
	ferry_wr_varint(w, off_delta);
	ferry_wr_varint(w, r->Key.p ? (int32_t)r->Key.len : -1);
	if (r->Key.p)
		ferry_wr_raw(w, r->Key.p, r->Key.len);
	ferry_wr_varint(w, r->Value.p ? (int32_t)r->Value.len : -1);
	if (r->Value.p)
		ferry_wr_raw(w, r->Value.p, r->Value.len);
	ferry_wr_varint(w, (int32_t)r->n_headers);
	for (uint32_t i = 0; i < r->n_headers; i++) {
		const struct ferry_kafka_header *h = &r->Headers[i];
		ferry_wr_varint(w, (int32_t)h->Key.len);
		ferry_wr_raw(w, h->Key.p, h->Key.len);
		ferry_wr_varint(w, h->Value.p ? (int32_t)h->Value.len : -1);
		if (h->Value.p)
			ferry_wr_raw(w, h->Value.p, h->Value.len);
	}
}

/* TimestampDelta: wraps like Java's long arithmetic, so rebuilding records whose
 * timestamps lie more than 2^63 apart (any int64 can arrive in a fetched batch)
 * writes the same bytes instead of overflowing. */
static int64_t
ts_delta(int64_t ts, int64_t base)
{
	return (int64_t)((uint64_t)ts - (uint64_t)base);
}

int
ferry_kafka_batch_build(struct ferry_wr *w, const struct ferry_kafka_batch_args *a,
			const struct ferry_kafka_record_in *recs, size_t n,
			struct ferry_codec_ctx *cc, uint8_t *scratch, size_t scratch_cap)
{
	if (n == 0 || n > INT32_MAX)
		return FERRY_ERR__INVALID_ARG;
	for (size_t i = 0; i < n; i++) {
		/* Lengths travel as VARINT: refuse what cannot be encoded. */
		if (recs[i].Key.len > INT32_MAX / 2 || recs[i].Value.len > INT32_MAX / 2)
			return FERRY_ERR__INVALID_ARG;
	}
	int codec = a->Attributes & FERRY_KAFKA_ATTR_CODEC_MASK;
	int64_t base_ts = recs[0].Timestamp, max_ts = recs[0].Timestamp;
	for (size_t i = 1; i < n; i++)
		if (recs[i].Timestamp > max_ts)
			max_ts = recs[i].Timestamp;

	size_t start = w->len;
	uint8_t *hdr = ferry_wr_reserve(w, FERRY_KAFKA_BATCH_HDR_SIZE);
	if (hdr == NULL)
		return FERRY_ERR__NOSPACE;

	if (codec == FERRY_CODEC_NONE) {
		for (size_t i = 0; i < n; i++)
			record_write(w, &recs[i], ts_delta(recs[i].Timestamp, base_ts), (int32_t)i);
		if (w->overflow)
			return FERRY_ERR__NOSPACE;
	} else {
		struct ferry_wr sw;
		ferry_wr_init(&sw, scratch, scratch_cap);
		for (size_t i = 0; i < n; i++)
			record_write(&sw, &recs[i], ts_delta(recs[i].Timestamp, base_ts), (int32_t)i);
		if (sw.overflow)
			return FERRY_ERR__NOSPACE;
		size_t clen;
		int rc = ferry_compress(cc, codec, ferry_span_make(scratch, sw.len), w->p + w->len,
					w->cap - w->len, &clen, a->compression_level, 0);
		if (rc < 0)
			return rc;
		w->len += clen;
	}

	size_t total = w->len - start;
	if (total - FERRY_KAFKA_BATCH_LOG_OVERHEAD > INT32_MAX)
		return FERRY_ERR__INVALID_ARG;
	hdr = w->p + start;
	ferry_put_be64(hdr + OFF_BASE_OFFSET, (uint64_t)a->BaseOffset);
	ferry_put_be32(hdr + OFF_LENGTH, (uint32_t)(total - FERRY_KAFKA_BATCH_LOG_OVERHEAD));
	ferry_put_be32(hdr + OFF_LEADER_EPOCH, (uint32_t)a->PartitionLeaderEpoch);
	hdr[OFF_MAGIC] = FERRY_KAFKA_BATCH_MAGIC;
	ferry_put_be16(hdr + OFF_ATTRIBUTES, (uint16_t)a->Attributes);
	ferry_put_be32(hdr + OFF_LAST_OFFSET_DELTA, (uint32_t)(n - 1));
	ferry_put_be64(hdr + OFF_BASE_TIMESTAMP, (uint64_t)base_ts);
	ferry_put_be64(hdr + OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
	ferry_put_be64(hdr + OFF_PRODUCER_ID, (uint64_t)a->ProducerId);
	ferry_put_be16(hdr + OFF_PRODUCER_EPOCH, (uint16_t)a->ProducerEpoch);
	ferry_put_be32(hdr + OFF_BASE_SEQUENCE, (uint32_t)a->BaseSequence);
	ferry_put_be32(hdr + OFF_RECORDS_COUNT, (uint32_t)n);
	ferry_put_be32(hdr + OFF_CRC, ferry_crc32c(hdr + FERRY_KAFKA_BATCH_CRC_START,
						   total - FERRY_KAFKA_BATCH_CRC_START));
	return 0;
}
