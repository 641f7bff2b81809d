/*
 * test_batch.c - RecordBatch v2: the MM2 heartbeat golden vector
 * (kafka-wire-facts.md §7.4) decodes and re-encodes byte for byte, header
 * rewrite recomputes the CRC to the known value, truncation at every offset,
 * bad CRC/magic/lengths/counts/varints, control batches, build + iterate
 * with every codec, and the patched CRC (ferry_crc32c_patch, RW_CRC_CARRY)
 * against a full recomputation.
 */
#include "testutil.h"

#include "ferry/kafka.h"

/* §7.4: the heartbeat primary->backup as an uncompressed v2 batch (95 bytes). */
static const char *HEARTBEAT_HEX =
	"00 00 00 00 00 00 00 00  00 00 00 53  ff ff ff ff  02  e8 fe 37 81  00 00  00 00 00 00"
	"00 00 01 8b cf e5 68 00  00 00 01 8b cf e5 68 00  ff ff ff ff ff ff ff ff  ff ff"
	"ff ff ff ff  00 00 00 01"
	"42 00 00 00 22  00 07 70 72 69 6d 61 72 79 00 06 62 61 63 6b 75 70"
	"14 00 00 00 00 01 8b cf e5 68 00  00";

static const char *HB_KEY = "00 07 70 72 69 6d 61 72 79 00 06 62 61 63 6b 75 70";
static const char *HB_VALUE = "00 00 00 00 01 8b cf e5 68 00";

static size_t
heartbeat(uint8_t *buf)
{
	return hex2bin(HEARTBEAT_HEX, buf, 128);
}

static void
test_golden_decode(void **state)
{
	(void)state;
	uint8_t buf[128], key[32], val[16];
	size_t n = heartbeat(buf);
	assert_int_equal(n, 95);
	size_t klen = hex2bin(HB_KEY, key, sizeof(key));
	size_t vlen = hex2bin(HB_VALUE, val, sizeof(val));

	struct ferry_kafka_batch b;
	size_t used;
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(used, 95);
	assert_int_equal(b.hdr.BatchLength, 83);
	assert_int_equal(b.hdr.PartitionLeaderEpoch, -1);
	assert_int_equal(b.hdr.CRC, 0xe8fe3781u);
	assert_true(b.hdr.BaseTimestamp == 1700000000000LL);
	assert_true(b.hdr.ProducerId == -1);
	assert_int_equal(b.hdr.RecordsCount, 1);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0);
	assert_int_equal(ferry_kafka_batch_check_produce(&b), 0);
	assert_false(ferry_kafka_batch_is_control(&b.hdr));

	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;
	ferry_kafka_rec_iter_init(&it, b.records, b.hdr.RecordsCount);
	assert_int_equal(ferry_kafka_rec_next(&it, &r), 1);
	assert_int_equal(r.Length, 33);
	assert_int_equal(r.Key.len, klen);
	assert_memory_equal(r.Key.p, key, klen);
	assert_int_equal(r.Value.len, vlen);
	assert_memory_equal(r.Value.p, val, vlen);
	assert_int_equal(r.HeadersCount, 0);
	assert_int_equal(ferry_kafka_rec_next(&it, &r), 0);
}

static void
test_golden_encode(void **state)
{
	(void)state;
	uint8_t want[128], key[32], val[16], out[256];
	size_t n = heartbeat(want);
	size_t klen = hex2bin(HB_KEY, key, sizeof(key));
	size_t vlen = hex2bin(HB_VALUE, val, sizeof(val));
	struct ferry_kafka_record_in rec = {
		.Timestamp = 1700000000000LL,
		.Key = ferry_span_make(key, klen),
		.Value = ferry_span_make(val, vlen),
	};
	struct ferry_kafka_batch_args args = {
		.BaseOffset = 0, .PartitionLeaderEpoch = -1, .Attributes = 0,
		.ProducerId = -1, .ProducerEpoch = -1, .BaseSequence = -1,
	};
	struct ferry_wr w;
	ferry_wr_init(&w, out, sizeof(out));
	assert_int_equal(ferry_kafka_batch_build(&w, &args, &rec, 1, NULL, NULL, 0), 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(out, want, n);
}

static void
test_golden_rewrite(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = heartbeat(buf);
	/* §7.4: idempotent pid 1000, epoch 0, seq 0 -> CRC 89 59 52 9f */
	struct ferry_kafka_batch_rewrite rw = {
		.set = FERRY_KAFKA_RW_PRODUCER | FERRY_KAFKA_RW_BASE_OFFSET,
		.BaseOffset = 0, .ProducerId = 1000, .ProducerEpoch = 0, .BaseSequence = 0,
	};
	assert_int_equal(ferry_kafka_batch_rewrite(buf, n, &rw), 0);
	uint8_t want[14];
	hex2bin("00 00 00 00 00 00 03 e8 00 00 00 00 00 00", want, sizeof(want));
	assert_memory_equal(buf + 43, want, 14);
	uint8_t crc[4];
	hex2bin("89 59 52 9f", crc, 4);
	assert_memory_equal(buf + 17, crc, 4);
	struct ferry_kafka_batch b;
	size_t used;
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0);

	/* BaseOffset / leader epoch sit outside the CRC: rewriting them keeps it */
	struct ferry_kafka_batch_rewrite rw2 = {
		.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_LEADER_EPOCH,
		.BaseOffset = 12345, .PartitionLeaderEpoch = 7,
	};
	assert_int_equal(ferry_kafka_batch_rewrite(buf, n, &rw2), 0);
	assert_memory_equal(buf + 17, crc, 4);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_true(b.hdr.BaseOffset == 12345);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0);
	assert_int_equal(ferry_kafka_batch_check_produce(&b), FERRY_ERR_INVALID_RECORD);

	/* rewrite refuses buffers that do not hold a whole v2 batch */
	assert_int_equal(ferry_kafka_batch_rewrite(buf, 60, &rw), FERRY_ERR__INVALID_ARG);
	assert_int_equal(ferry_kafka_batch_rewrite(buf, 94, &rw), FERRY_ERR__BAD_LENGTH);
}

static void
test_truncated_every_offset(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = heartbeat(buf);
	for (size_t cut = 0; cut < n; cut++) {
		struct ferry_kafka_batch b;
		size_t used;
		assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, cut), &b, &used),
				 FERRY_ERR__PARTIAL);
		/* The iterator drops a cut tail silently and reports its size. */
		uint8_t two[256];
		memcpy(two, buf, n);
		memcpy(two + n, buf, cut);
		struct ferry_kafka_batch_iter it;
		ferry_kafka_batch_iter_init(&it, ferry_span_make(two, n + cut));
		assert_int_equal(ferry_kafka_batch_next(&it, &b), 1);
		assert_int_equal(ferry_kafka_batch_next(&it, &b), 0);
		assert_int_equal(it.partial_tail, cut);
	}
	/* records cut at every offset: the record iterator errors, never crashes */
	struct ferry_kafka_batch b;
	size_t used;
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	for (size_t cut = 0; cut < b.records.len; cut++) {
		struct ferry_kafka_rec_iter it;
		struct ferry_kafka_record r;
		ferry_kafka_rec_iter_init(&it, ferry_span_make(b.records.p, cut), 1);
		assert_true(ferry_kafka_rec_next(&it, &r) < 0);
	}
}

static void
test_bad_batches(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = heartbeat(buf);
	struct ferry_kafka_batch b;
	size_t used;

	buf[90] ^= 0x01; /* a value byte: covered by the CRC */
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), FERRY_ERR__BAD_CRC);
	buf[90] ^= 0x01;

	buf[16] = 1; /* legacy magic */
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used),
			 FERRY_ERR__BAD_MAGIC);
	buf[16] = 2;

	ferry_put_be32(buf + 8, 0xffffff00u); /* negative length */
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used),
			 FERRY_ERR__BAD_LENGTH);
	ferry_put_be32(buf + 8, 20); /* shorter than a v2 header */
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used),
			 FERRY_ERR__BAD_LENGTH);
	ferry_put_be32(buf + 8, 0x7fffffff); /* longer than the bytes: a cut tail */
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used),
			 FERRY_ERR__PARTIAL);
	ferry_put_be32(buf + 8, 83);

	/* the iterator surfaces a malformed (not cut) batch as an error */
	buf[16] = 0;
	struct ferry_kafka_batch_iter it;
	ferry_kafka_batch_iter_init(&it, ferry_span_make(buf, n));
	assert_int_equal(ferry_kafka_batch_next(&it, &b), FERRY_ERR__BAD_MAGIC);
	buf[16] = 2;
}

/* Set a header field and fix the CRC so only the field under test is wrong. */
static void
set_count(uint8_t *buf, size_t n, int32_t count, int32_t last_delta)
{
	ferry_put_be32(buf + 57, (uint32_t)count);
	ferry_put_be32(buf + 23, (uint32_t)last_delta);
	ferry_put_be32(buf + 17, ferry_crc32c(buf + 21, n - 21));
}

static void
test_counts(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = heartbeat(buf);
	struct ferry_kafka_batch b;
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;
	size_t used;

	/* RecordsCount 2 but one record present: the iterator finds too few */
	set_count(buf, n, 2, 1);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0);
	ferry_kafka_rec_iter_init(&it, b.records, b.hdr.RecordsCount);
	assert_int_equal(ferry_kafka_rec_next(&it, &r), 1);
	assert_int_equal(ferry_kafka_rec_next(&it, &r), FERRY_ERR__BAD_COUNT);

	/* RecordsCount 0 with a record left over */
	set_count(buf, n, 0, 0);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	ferry_kafka_rec_iter_init(&it, b.records, b.hdr.RecordsCount);
	assert_int_equal(ferry_kafka_rec_next(&it, &r), FERRY_ERR__BAD_COUNT);
	assert_int_equal(ferry_kafka_batch_check_produce(&b), FERRY_ERR_INVALID_RECORD);

	/* LastOffsetDelta below count - 1 */
	set_count(buf, n, 3, 1);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), FERRY_ERR__BAD_COUNT);
	/* compaction gap: count 1, LastOffsetDelta 5 is valid, but not producible */
	set_count(buf, n, 1, 5);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0);
	assert_int_equal(ferry_kafka_batch_check_produce(&b), FERRY_ERR_INVALID_RECORD);
	/* a count that 22 record bytes cannot hold */
	set_count(buf, n, 1000, 999);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), FERRY_ERR__BAD_COUNT);
	set_count(buf, n, -1, 0);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), FERRY_ERR__BAD_COUNT);

	/* offsets: negative base, or a last offset past INT64_MAX (fuzzer finding) */
	set_count(buf, n, 1, 0);
	ferry_put_be64(buf, (uint64_t)INT64_MIN);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), FERRY_ERR__BAD_OFFSET);
	assert_true(ferry_kafka_batch_last_offset(&b.hdr) == INT64_MIN); /* no UB */
	set_count(buf, n, 1, 5);
	ferry_put_be64(buf, (uint64_t)(INT64_MAX - 5));
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), FERRY_ERR__BAD_OFFSET);
	ferry_put_be64(buf, (uint64_t)(INT64_MAX - 6));
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, n), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0);
	ferry_put_be64(buf, 0);
}

static int
iter_one(const char *hex, struct ferry_kafka_record *r)
{
	static uint8_t buf[256];
	size_t n = hex2bin(hex, buf, sizeof(buf));
	struct ferry_kafka_rec_iter it;
	ferry_kafka_rec_iter_init(&it, ferry_span_make(buf, n), 1);
	int rc = ferry_kafka_rec_next(&it, r);
	if (rc == 1)
		rc = ferry_kafka_rec_next(&it, r) == 0 ? 1 : -999;
	return rc;
}

/*
 * The record walk has a fast path that runs when at least 10 bytes follow a
 * record. Check that it reports the same result as the careful path: the same
 * record, followed by padding of continuation bytes (0xff, which would drag an
 * unchecked varint read past the end), in an exact-size heap buffer so ASan
 * sees any over-read.
 */
static int
first_rc(const char *hex, size_t pad, int pattern)
{
	uint8_t tmp[256];
	size_t n = hex2bin(hex, tmp, sizeof(tmp));
	uint8_t *buf = malloc(n + pad);
	memcpy(buf, tmp, n);
	/* 0xff: endless continuation; 0x81...01: a 10-byte varlong that ends
	 * exactly 10 bytes later, tempting a further read past the span. */
	for (size_t i = 0; i < pad; i++)
		buf[n + i] = pattern == 0 ? 0xff : (i % 10 == 9 ? 0x01 : 0x81);
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;
	ferry_kafka_rec_iter_init(&it, ferry_span_make(buf, n + pad), 2);
	int rc = ferry_kafka_rec_next(&it, &r);
	free(buf);
	return rc;
}

static void
test_fast_path_agrees(void **state)
{
	(void)state;
	static const char *vectors[] = {
		"0c 00 00 00 01 01 00", "0e 00 00 00 01 01 00 00", "0a 00 00 00 01 01 00",
		"01", "0c 00 00 00 03 01 00", "0c 00 00 00 40 01 00",
		"1c 00 ff ff ff ff ff ff ff ff ff ff 01 00 01 01 00", "0c 00 00 00 01 01 01",
		"0c 00 00 00 01 01 7e", "10 00 00 00 01 01 02 01 01", "12 00 00 00 01 01 02 02 6b 01",
		"02 00", "02 80", "04 00 80", "06 00 00 80", "00",
		"10 00 02 02 02 61 02 62 00",
	};
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		int careful = first_rc(vectors[i], 0, 0);
		for (size_t pad = 1; pad <= 48; pad++) {
			int rc = first_rc(vectors[i], pad / 2, (int)(pad & 1));
			/* A well-formed record is found either way; a malformed one gets
			 * the same error whether or not bytes follow it. */
			if (careful == 1)
				assert_int_equal(rc, 1);
			else if (careful == FERRY_ERR__TRUNCATED)
				continue; /* Length reaches past the end: padding joins the record */
			else if (rc != careful)
				fail_msg("vector %zu pad %zu: %d (%s) vs %d (%s)", i, pad, rc,
					 ferry_err_name(rc), careful, ferry_err_name(careful));
		}
	}
}

static void
test_bad_records(void **state)
{
	(void)state;
	struct ferry_kafka_record r;
	/* well-formed: len 6: attrs, ts 0, off 0, key null, value null, 0 headers */
	assert_int_equal(iter_one("0c 00 00 00 01 01 00", &r), 1);
	assert_null(r.Key.p);
	assert_null(r.Value.p);
	/* Length says 7 but the fields use 6 */
	assert_int_equal(iter_one("0e 00 00 00 01 01 00 00", &r), FERRY_ERR__BAD_RECORD);
	/* Length says 8 but only 7 bytes follow */
	assert_int_equal(iter_one("10 00 00 00 01 01 00 00", &r), FERRY_ERR__TRUNCATED);
	/* Length says 5 but the fields need 6 */
	assert_int_equal(iter_one("0a 00 00 00 01 01 00", &r), FERRY_ERR__BAD_RECORD);
	/* negative record length */
	assert_int_equal(iter_one("01", &r), FERRY_ERR__BAD_LENGTH);
	/* key length -2 */
	assert_int_equal(iter_one("0c 00 00 00 03 01 00", &r), FERRY_ERR__BAD_LENGTH);
	/* key length beyond the record */
	assert_int_equal(iter_one("0c 00 00 00 40 01 00", &r), FERRY_ERR__BAD_RECORD);
	/* overlong timestamp varlong */
	assert_int_equal(iter_one("1c 00 ff ff ff ff ff ff ff ff ff ff 01 00 01 01 00", &r),
			 FERRY_ERR__BAD_VARINT);
	/* header count -1 and header count larger than the bytes */
	assert_int_equal(iter_one("0c 00 00 00 01 01 01", &r), FERRY_ERR__BAD_LENGTH);
	assert_int_equal(iter_one("0c 00 00 00 01 01 7e", &r), FERRY_ERR__BAD_LENGTH);
	/* header with negative key length */
	assert_int_equal(iter_one("10 00 00 00 01 01 02 01 01", &r), FERRY_ERR__BAD_LENGTH);
	/* header with key "k" and null value */
	assert_int_equal(iter_one("12 00 00 00 01 01 02 02 6b 01", &r), 1);
	struct ferry_kafka_hdr_iter hi;
	struct ferry_kafka_header h;
	ferry_kafka_hdr_iter_init(&hi, &r);
	assert_int_equal(ferry_kafka_hdr_next(&hi, &h), 1);
	assert_int_equal(h.Key.len, 1);
	assert_null(h.Value.p);
	assert_int_equal(ferry_kafka_hdr_next(&hi, &h), 0);
}

static void
test_control_batch(void **state)
{
	(void)state;
	/* A COMMIT marker as a transaction coordinator writes it. */
	uint8_t key[4] = { 0, 0, 0, 1 }, val[6] = { 0, 0, 0, 0, 0, 5 }, out[256];
	struct ferry_kafka_record_in rec = {
		.Timestamp = 1700000000000LL,
		.Key = ferry_span_make(key, 4),
		.Value = ferry_span_make(val, 6),
	};
	struct ferry_kafka_batch_args args = {
		.Attributes = FERRY_KAFKA_ATTR_CONTROL | FERRY_KAFKA_ATTR_TRANSACTIONAL,
		.ProducerId = 77, .ProducerEpoch = 1, .BaseSequence = -1,
	};
	struct ferry_wr w;
	ferry_wr_init(&w, out, sizeof(out));
	assert_int_equal(ferry_kafka_batch_build(&w, &args, &rec, 1, NULL, NULL, 0), 0);
	struct ferry_kafka_batch b;
	size_t used;
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(out, w.len), &b, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0);
	assert_true(ferry_kafka_batch_is_control(&b.hdr));
	assert_true(ferry_kafka_batch_is_transactional(&b.hdr));
	assert_int_equal(ferry_kafka_batch_check_produce(&b), FERRY_ERR_INVALID_RECORD);
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;
	ferry_kafka_rec_iter_init(&it, b.records, b.hdr.RecordsCount);
	assert_int_equal(ferry_kafka_rec_next(&it, &r), 1);
	int16_t type;
	assert_int_equal(ferry_kafka_control_type(&r, &type), 0);
	assert_int_equal(type, FERRY_KAFKA_CONTROL_COMMIT);
}

static void
test_build_every_codec(void **state)
{
	(void)state;
	enum { N = 200 };
	static uint8_t out[1 << 20], scratch[1 << 20], dec[1 << 20];
	static char keys[N][16], vals[N][600];
	struct ferry_kafka_record_in recs[N];
	struct ferry_kafka_header hdrs[2] = {
		{ ferry_span_str("trace-id"), ferry_span_str("abc123") },
		{ ferry_span_str("empty"), ferry_span_make(NULL, 0) },
	};
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "acct-%d", i);
		snprintf(vals[i], sizeof(vals[i]),
			 "{\"trade\":%d,\"px\":101.25,\"qty\":%d,\"venue\":\"XLON\",\"pad\":\"%0400d\"}",
			 i, i * 10, i);
		recs[i].Timestamp = 1700000000000LL + i * 3 - (i % 5 == 0 ? 50 : 0);
		recs[i].Key = i % 7 == 3 ? ferry_span_make(NULL, 0) : ferry_span_str(keys[i]);
		recs[i].Value = i % 11 == 5 ? ferry_span_make(NULL, 0) : ferry_span_str(vals[i]);
		recs[i].n_headers = i % 3 == 0 ? 2 : 0;
		recs[i].Headers = hdrs;
	}
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	assert_non_null(cc);
	for (int codec = FERRY_CODEC_NONE; codec <= FERRY_CODEC_ZSTD; codec++) {
		struct ferry_kafka_batch_args args = {
			.Attributes = (int16_t)codec, .ProducerId = -1, .ProducerEpoch = -1,
			.BaseSequence = -1, .PartitionLeaderEpoch = 0,
		};
		struct ferry_wr w;
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_batch_build(&w, &args, recs, N, cc, scratch,
							 sizeof(scratch)), 0);
		struct ferry_kafka_batch b;
		size_t used;
		assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(out, w.len), &b, &used), 0);
		assert_int_equal(ferry_kafka_batch_validate(&b), 0);
		assert_int_equal(ferry_kafka_batch_check_produce(&b), 0);
		assert_int_equal(ferry_kafka_batch_codec(&b.hdr), codec);
		assert_true(b.hdr.MaxTimestamp == 1700000000000LL + (N - 1) * 3);
		if (codec != FERRY_CODEC_NONE)
			assert_true(w.len < N * 400); /* it did compress */
		struct ferry_span recbytes;
		assert_int_equal(ferry_kafka_batch_records(cc, &b, dec, sizeof(dec), &recbytes), 0);
		struct ferry_kafka_rec_iter it;
		struct ferry_kafka_record r;
		ferry_kafka_rec_iter_init(&it, recbytes, b.hdr.RecordsCount);
		for (int i = 0; i < N; i++) {
			assert_int_equal(ferry_kafka_rec_next(&it, &r), 1);
			assert_int_equal(r.OffsetDelta, i);
			assert_true(b.hdr.BaseTimestamp + r.TimestampDelta == recs[i].Timestamp);
			assert_true(ferry_span_eq(r.Key, recs[i].Key));
			assert_true(ferry_span_eq(r.Value, recs[i].Value));
			assert_int_equal(r.HeadersCount, (int)recs[i].n_headers);
			struct ferry_kafka_hdr_iter hi;
			struct ferry_kafka_header h;
			ferry_kafka_hdr_iter_init(&hi, &r);
			for (uint32_t k = 0; k < recs[i].n_headers; k++) {
				assert_int_equal(ferry_kafka_hdr_next(&hi, &h), 1);
				assert_true(ferry_span_eq(h.Key, hdrs[k].Key));
				assert_true(ferry_span_eq(h.Value, hdrs[k].Value));
			}
			assert_int_equal(ferry_kafka_hdr_next(&hi, &h), 0);
		}
		assert_int_equal(ferry_kafka_rec_next(&it, &r), 0);
		/* a decompression cap below the real size is a bomb, not an allocation */
		if (codec != FERRY_CODEC_NONE)
			assert_int_equal(ferry_kafka_batch_records(cc, &b, dec, 4096, &recbytes),
					 FERRY_ERR__DECOMPRESS_LIMIT);
	}
	/* out of space is reported, not overrun */
	struct ferry_kafka_batch_args args = { .ProducerId = -1, .ProducerEpoch = -1,
					       .BaseSequence = -1 };
	struct ferry_wr w;
	ferry_wr_init(&w, out, 500);
	assert_int_equal(ferry_kafka_batch_build(&w, &args, recs, N, cc, scratch, sizeof(scratch)),
			 FERRY_ERR__NOSPACE);
	ferry_codec_ctx_free(cc);
}

/* ferry_crc32c_patch against a full pass, for changes at every kind of place and length */
static void
test_crc_patch(void **state)
{
	(void)state;
	static uint8_t msg[300000], before[64];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < sizeof(msg); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		msg[i] = (uint8_t)x;
	}
	/* the check value, and "nothing changed" */
	assert_true(ferry_crc32c("123456789", 9) == 0xE3069283u);
	assert_true(ferry_crc32c_patch(0x1234, 10, 2, "ab", "ab", 2) == 0x1234);
	for (int t = 0; t < 400; t++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t len = t < 4 ? (size_t)t + 1 : 1 + (size_t)(x % sizeof(msg));
		if (t % 5 == 0)
			len = 1 + (size_t)(x % 200); /* short messages too */
		size_t n = 1 + (size_t)((x >> 20) % sizeof(before));
		if (n > len)
			n = len;
		size_t off = (size_t)((x >> 32) % (len - n + 1));
		if (t % 7 == 1)
			off = len - n; /* the change at the very end: no shift */
		uint32_t crc = ferry_crc32c(msg, len);
		memcpy(before, msg + off, n);
		for (size_t i = 0; i < n; i++)
			msg[off + i] ^= (uint8_t)(x >> (i % 56)) | 1;
		assert_true(ferry_crc32c_patch(crc, len, off, before, msg + off, n) ==
			    ferry_crc32c(msg, len));
	}
}

/* RW_CRC_CARRY gives the same bytes as a full recomputation on a good batch, and keeps a
 * damaged batch damaged where the full recomputation would launder it */
static void
test_rewrite_crc_carry(void **state)
{
	(void)state;
	uint8_t a[128], b[128];
	size_t n = heartbeat(a), used;
	struct ferry_kafka_batch_rewrite rw = {
		.set = FERRY_KAFKA_RW_PRODUCER | FERRY_KAFKA_RW_BASE_OFFSET |
		       FERRY_KAFKA_RW_ATTRIBUTES | FERRY_KAFKA_RW_MAX_TIMESTAMP,
		.BaseOffset = 77, .ProducerId = 1000, .ProducerEpoch = 3, .BaseSequence = 41,
		.Attributes = 0x10, .MaxTimestamp = 1700000000000,
	};
	struct ferry_kafka_batch pb;

	heartbeat(b);
	assert_int_equal(ferry_kafka_batch_rewrite(a, n, &rw), 0);
	rw.set |= FERRY_KAFKA_RW_CRC_CARRY;
	assert_int_equal(ferry_kafka_batch_rewrite(b, n, &rw), 0);
	assert_memory_equal(a, b, n);
	/* the golden rewrite's CRC (§7.4) through the patch */
	heartbeat(b);
	struct ferry_kafka_batch_rewrite g = {
		.set = FERRY_KAFKA_RW_PRODUCER | FERRY_KAFKA_RW_BASE_OFFSET |
		       FERRY_KAFKA_RW_CRC_CARRY,
		.BaseOffset = 0, .ProducerId = 1000, .ProducerEpoch = 0, .BaseSequence = 0,
	};
	assert_int_equal(ferry_kafka_batch_rewrite(b, n, &g), 0);
	uint8_t crc[4];
	hex2bin("89 59 52 9f", crc, 4);
	assert_memory_equal(b + 17, crc, 4);

	/* one flipped bit in a record value: the carried CRC still says so */
	heartbeat(a);
	a[n - 3] ^= 0x04;
	memcpy(b, a, n);
	assert_int_equal(ferry_kafka_batch_rewrite(b, n, &g), 0);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(b, n), &pb, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&pb), FERRY_ERR__BAD_CRC);
	g.set &= ~(unsigned)FERRY_KAFKA_RW_CRC_CARRY;
	assert_int_equal(ferry_kafka_batch_rewrite(a, n, &g), 0);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(a, n), &pb, &used), 0);
	assert_int_equal(ferry_kafka_batch_validate(&pb), 0); /* laundered */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_decode),	 cmocka_unit_test(test_golden_encode),
		cmocka_unit_test(test_golden_rewrite),	 cmocka_unit_test(test_truncated_every_offset),
		cmocka_unit_test(test_bad_batches),	 cmocka_unit_test(test_counts),
		cmocka_unit_test(test_bad_records),	 cmocka_unit_test(test_fast_path_agrees),
		cmocka_unit_test(test_control_batch),
		cmocka_unit_test(test_build_every_codec),
		cmocka_unit_test(test_crc_patch),	 cmocka_unit_test(test_rewrite_crc_carry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
