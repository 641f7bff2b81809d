/*
 * test_wire.c - Kafka primitive types: varints (limits, overlong, zig-zag),
 * (compact) strings and bytes, nullability, array counts checked against the
 * bytes present, and tag sections.
 */
#include "testutil.h"

#include "ferry/common.h"

static void
test_uvarint_roundtrip(void **state)
{
	(void)state;
	const uint32_t vals[] = { 0, 1, 127, 128, 300, 16383, 16384, 0x0fffffff, 0xffffffffu };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[8];
		struct ferry_wr w;
		ferry_wr_init(&w, buf, sizeof(buf));
		ferry_wr_uvarint(&w, vals[i]);
		assert_false(w.overflow);
		assert_int_equal(w.len, ferry_uvarint_size(vals[i]));
		struct ferry_rd rd;
		ferry_rd_init(&rd, buf, w.len);
		uint32_t v;
		assert_true(ferry_rd_uvarint(&rd, &v));
		assert_int_equal(v, vals[i]);
		assert_int_equal(ferry_rd_left(&rd), 0);
		/* every strict prefix is truncated */
		for (size_t n = 0; n < w.len; n++) {
			ferry_rd_init(&rd, buf, n);
			assert_false(ferry_rd_uvarint(&rd, &v));
			assert_int_equal(rd.err, FERRY_ERR__TRUNCATED);
			assert_int_equal(rd.off, 0);
		}
	}
}

static void
test_varint_zigzag(void **state)
{
	(void)state;
	const int32_t vals[] = { 0, -1, 1, -64, 63, 64, INT32_MAX, INT32_MIN };
	const uint8_t enc1[] = { 0x00, 0x01, 0x02, 0x7f, 0x7e };
	for (size_t i = 0; i < 5; i++) {
		struct ferry_rd rd;
		int32_t v;
		ferry_rd_init(&rd, &enc1[i], 1);
		assert_true(ferry_rd_varint(&rd, &v));
		assert_int_equal(v, vals[i]);
	}
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[16];
		struct ferry_wr w;
		ferry_wr_init(&w, buf, sizeof(buf));
		ferry_wr_varint(&w, vals[i]);
		assert_int_equal(w.len, ferry_varint_size(vals[i]));
		struct ferry_rd rd;
		ferry_rd_init(&rd, buf, w.len);
		int32_t v;
		assert_true(ferry_rd_varint(&rd, &v));
		assert_int_equal(v, vals[i]);
	}
	const int64_t lvals[] = { 0, -1, INT64_MAX, INT64_MIN, 1700000000000LL };
	for (size_t i = 0; i < sizeof(lvals) / sizeof(lvals[0]); i++) {
		uint8_t buf[16];
		struct ferry_wr w;
		ferry_wr_init(&w, buf, sizeof(buf));
		ferry_wr_varlong(&w, lvals[i]);
		assert_int_equal(w.len, ferry_varlong_size(lvals[i]));
		struct ferry_rd rd;
		ferry_rd_init(&rd, buf, w.len);
		int64_t v;
		assert_true(ferry_rd_varlong(&rd, &v));
		assert_true(v == lvals[i]);
	}
}

static void
test_bad_varints(void **state)
{
	(void)state;
	/* six continuation bytes: longer than a 32-bit varint may be */
	const uint8_t six[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	/* fifth byte with bits above 32 */
	const uint8_t big5[] = { 0xff, 0xff, 0xff, 0xff, 0x1f };
	const uint8_t long11[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	struct ferry_rd rd;
	uint32_t u;
	int64_t l;
	ferry_rd_init(&rd, six, sizeof(six));
	assert_false(ferry_rd_uvarint(&rd, &u));
	assert_int_equal(rd.err, FERRY_ERR__BAD_VARINT);
	ferry_rd_init(&rd, big5, sizeof(big5));
	assert_false(ferry_rd_uvarint(&rd, &u));
	assert_int_equal(rd.err, FERRY_ERR__BAD_VARINT);
	ferry_rd_init(&rd, long11, sizeof(long11));
	assert_false(ferry_rd_varlong(&rd, &l));
	assert_int_equal(rd.err, FERRY_ERR__BAD_VARINT);
	/* the largest legal 5-byte value */
	const uint8_t max5[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	ferry_rd_init(&rd, max5, sizeof(max5));
	assert_true(ferry_rd_uvarint(&rd, &u));
	assert_int_equal(u, 0xffffffffu);
}

static void
test_strings(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct ferry_rd rd;
	struct ferry_span s;
	size_t n;

	n = hex2bin("00 03 61 62 63", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_true(ferry_rd_str(&rd, false, false, &s));
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.p, "abc", 3);

	n = hex2bin("ff ff", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_true(ferry_rd_str(&rd, false, true, &s));
	assert_null(s.p);
	ferry_rd_init(&rd, buf, n);
	assert_false(ferry_rd_str(&rd, false, false, &s));
	assert_int_equal(rd.err, FERRY_ERR__NULL_FIELD);

	n = hex2bin("ff fe", buf, sizeof(buf)); /* -2: never legal */
	ferry_rd_init(&rd, buf, n);
	assert_false(ferry_rd_str(&rd, false, true, &s));
	assert_int_equal(rd.err, FERRY_ERR__BAD_LENGTH);

	n = hex2bin("00 05 61 62", buf, sizeof(buf)); /* longer than present */
	ferry_rd_init(&rd, buf, n);
	assert_false(ferry_rd_str(&rd, false, false, &s));
	assert_int_equal(rd.err, FERRY_ERR__TRUNCATED);

	/* compact: N+1, 0 = null, 1 = empty */
	n = hex2bin("04 61 62 63 00 01", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_true(ferry_rd_str(&rd, true, false, &s));
	assert_int_equal(s.len, 3);
	assert_true(ferry_rd_str(&rd, true, true, &s));
	assert_null(s.p);
	assert_true(ferry_rd_str(&rd, true, false, &s));
	assert_non_null(s.p);
	assert_int_equal(s.len, 0);

	/* bytes: int32 length, -1 null, -2 bad */
	n = hex2bin("ff ff ff fe", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_false(ferry_rd_bytes(&rd, false, true, &s));
	assert_int_equal(rd.err, FERRY_ERR__BAD_LENGTH);
	n = hex2bin("7f ff ff ff 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_false(ferry_rd_bytes(&rd, false, true, &s));
	assert_int_equal(rd.err, FERRY_ERR__TRUNCATED);

	/* writer round trip, both encodings */
	for (int compact = 0; compact < 2; compact++) {
		struct ferry_wr w;
		ferry_wr_init(&w, buf, sizeof(buf));
		ferry_wr_str(&w, compact, ferry_span_str("kfacts"));
		ferry_wr_str(&w, compact, ferry_span_make(NULL, 0));
		ferry_wr_bytes(&w, compact, ferry_span_make("xy", 2));
		ferry_rd_init(&rd, buf, w.len);
		assert_true(ferry_rd_str(&rd, compact, false, &s));
		assert_true(ferry_span_eq(s, ferry_span_str("kfacts")));
		assert_true(ferry_rd_str(&rd, compact, true, &s));
		assert_null(s.p);
		assert_true(ferry_rd_bytes(&rd, compact, true, &s));
		assert_int_equal(s.len, 2);
		assert_int_equal(ferry_rd_left(&rd), 0);
	}
}

static void
test_arrays(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct ferry_rd rd;
	int32_t n;
	size_t len = hex2bin("7f ff ff ff 00 00 00 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, len);
	assert_false(ferry_rd_array(&rd, false, false, 4, &n));
	assert_int_equal(rd.err, FERRY_ERR__BAD_LENGTH); /* 2^31 elements in 4 bytes */
	len = hex2bin("ff ff ff ff", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, len);
	assert_true(ferry_rd_array(&rd, false, true, 4, &n));
	assert_int_equal(n, -1);
	ferry_rd_init(&rd, buf, len);
	assert_false(ferry_rd_array(&rd, false, false, 4, &n));
	assert_int_equal(rd.err, FERRY_ERR__NULL_FIELD);
	len = hex2bin("ff ff ff fe", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, len);
	assert_false(ferry_rd_array(&rd, false, true, 4, &n));
	assert_int_equal(rd.err, FERRY_ERR__BAD_LENGTH);
	/* compact: 3 elements of >= 4 bytes need 12 bytes */
	len = hex2bin("04 00 00 00 01 00 00 00 02", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, len);
	assert_false(ferry_rd_array(&rd, true, false, 4, &n));
	assert_int_equal(rd.err, FERRY_ERR__BAD_LENGTH);
	len = hex2bin("03 00 00 00 01 00 00 00 02", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, len);
	assert_true(ferry_rd_array(&rd, true, false, 4, &n));
	assert_int_equal(n, 2);
}

struct tagseen {
	int count;
	uint32_t tags[4];
};

static bool
tag_cb(void *arg, uint32_t tag, struct ferry_span val)
{
	struct tagseen *t = arg;
	(void)val;
	if (t->count < 4)
		t->tags[t->count++] = tag;
	return true;
}

static void
test_tags(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct ferry_rd rd;
	struct tagseen seen = { 0 };
	/* two tags: 0 with 2 bytes, 7 with 0 bytes */
	size_t len = hex2bin("02 00 02 aa bb 07 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, len);
	assert_true(ferry_rd_tags(&rd, tag_cb, &seen));
	assert_int_equal(seen.count, 2);
	assert_int_equal(seen.tags[1], 7);
	assert_int_equal(ferry_rd_left(&rd), 0);
	/* 100 tags announced in 3 bytes */
	len = hex2bin("64 00 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, len);
	assert_false(ferry_rd_tags(&rd, NULL, NULL));
	assert_int_equal(rd.err, FERRY_ERR__TOO_MANY_TAGS);
	/* a tag whose size runs past the end */
	len = hex2bin("01 00 05 aa", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, len);
	assert_false(ferry_rd_tags(&rd, NULL, NULL));
	assert_int_equal(rd.err, FERRY_ERR__TRUNCATED);
}

static void
test_writer_overflow(void **state)
{
	(void)state;
	uint8_t buf[3];
	struct ferry_wr w;
	ferry_wr_init(&w, buf, sizeof(buf));
	ferry_wr_i16(&w, 1);
	assert_false(w.overflow);
	ferry_wr_i32(&w, 2);
	assert_true(w.overflow);
	assert_int_equal(w.len, 2);
}

static void
test_arena(void **state)
{
	(void)state;
	uint64_t mem[4];
	struct ferry_arena a;
	ferry_arena_init(&a, mem, sizeof(mem));
	assert_non_null(ferry_arena_alloc(&a, 3, 1));
	assert_non_null(ferry_arena_alloc(&a, 2, 8)); /* aligned to 8 -> 8 + 16 */
	assert_null(ferry_arena_alloc(&a, 2, 8));     /* only 8 left */
	assert_null(ferry_arena_alloc(&a, SIZE_MAX / 2, 4)); /* overflow */
	assert_non_null(ferry_arena_alloc(&a, 0, 8));
}

static void
test_err_names(void **state)
{
	(void)state;
	assert_string_equal(ferry_err_name(FERRY_ERR__BAD_CRC), "FERRY_ERR__BAD_CRC");
	assert_string_equal(ferry_err_name(6), "NOT_LEADER_OR_FOLLOWER");
	assert_string_equal(ferry_err_name(-1), "UNKNOWN_SERVER_ERROR");
	assert_string_equal(ferry_err_name(12345), "UNKNOWN_ERROR_CODE");
	assert_true(FERRY_ERR__END < -100);
	assert_string_equal(ferry_err_desc(FERRY_ERR__DECOMPRESS_LIMIT),
			    "decompressed size exceeds the configured cap (bomb)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uvarint_roundtrip), cmocka_unit_test(test_varint_zigzag),
		cmocka_unit_test(test_bad_varints),	  cmocka_unit_test(test_strings),
		cmocka_unit_test(test_arrays),		  cmocka_unit_test(test_tags),
		cmocka_unit_test(test_writer_overflow),	  cmocka_unit_test(test_arena),
		cmocka_unit_test(test_err_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
