/*
 * test_uring_filter.c - pure parts of the io_uring data path (dataplane/uring):
 * the fetch batch filter (position, control batches, read_committed with
 * AbortedTransactions, chunking, malformed input) and the zero-copy Produce
 * encoder against the codec's own encoder, byte for byte.
 */
#include "testutil.h"

#include "ferry/kafka.h"
#include "ferry/uring.h"
#include "uring_int.h"

static uint8_t blob[1 << 16];
static size_t blob_len;

/* Append a batch at base with n records; attributes and producer fields given. */
static void
add_batch(int64_t base, int n, int16_t attr, int64_t pid, const char *tag)
{
	static uint8_t scratch[1 << 16];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	struct ferry_kafka_record_in in[8];
	char vals[8][16];
	struct ferry_kafka_batch_args a = { base, -1, attr, pid, 0, pid >= 0 ? 0 : -1, 0 };
	struct ferry_wr w;

	for (int i = 0; i < n; i++) {
		snprintf(vals[i], sizeof(vals[i]), "%s%d", tag, i);
		in[i] = (struct ferry_kafka_record_in){ 1700000000000LL, ferry_span_make(NULL, 0),
							ferry_span_str(vals[i]), 0, NULL };
	}
	ferry_wr_init(&w, blob + blob_len, sizeof(blob) - blob_len);
	assert_int_equal(ferry_kafka_batch_build(&w, &a, in, (size_t)n, cc, scratch, sizeof(scratch)),
			 0);
	blob_len += w.len;
	ferry_codec_ctx_free(cc);
}

/* A control batch (ABORT 0 / COMMIT 1) for pid at offset. */
static void
add_marker(int64_t off, int64_t pid, int16_t type)
{
	static uint8_t scratch[4096];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	uint8_t key[4] = { 0, 0, 0, (uint8_t)type }, val[6] = { 0, 0, 0, 0, 0, 1 };
	struct ferry_kafka_record_in in = { 1700000000000LL, ferry_span_make(key, 4),
					    ferry_span_make(val, 6), 0, NULL };
	struct ferry_kafka_batch_args a = {
		off, -1, FERRY_KAFKA_ATTR_CONTROL | FERRY_KAFKA_ATTR_TRANSACTIONAL, pid, 0, 5, 0,
	};
	struct ferry_wr w;

	ferry_wr_init(&w, blob + blob_len, sizeof(blob) - blob_len);
	assert_int_equal(ferry_kafka_batch_build(&w, &a, &in, 1, cc, scratch, sizeof(scratch)), 0);
	blob_len += w.len;
	ferry_codec_ctx_free(cc);
}

/* pid 7 aborted [0..2], pid 8 committed [3..4], markers 5 and 6, plain [7..9]. */
static void
make_log(void)
{
	blob_len = 0;
	add_batch(0, 3, FERRY_KAFKA_ATTR_TRANSACTIONAL, 7, "a");
	add_batch(3, 2, FERRY_KAFKA_ATTR_TRANSACTIONAL, 8, "c");
	add_marker(5, 7, FERRY_KAFKA_CONTROL_ABORT);
	add_marker(6, 8, FERRY_KAFKA_CONTROL_COMMIT);
	add_batch(7, 3, 0, -1, "p");
}

static int
run(bool committed, int64_t pos, struct ferry_kafka_aborted_txn *ab, int32_t n_ab, uint32_t cap,
    int64_t *bases, struct ferry_uring_filter *f)
{
	struct ferry_kafka_batch out[16];
	int total = 0, n;

	ferry_uring_filter_init(f, ferry_span_make(blob, blob_len), ab, n_ab, committed, pos);
	while ((n = ferry_uring_filter_next(f, out, cap)) > 0)
		for (int i = 0; i < n; i++)
			bases[total++] = out[i].hdr.BaseOffset;
	assert_true(n == 0);
	return total;
}

static void
test_read_committed(void **state)
{
	(void)state;
	struct ferry_kafka_aborted_txn ab[] = { { 9, 100 }, { 7, 0 } }; /* unsorted on purpose */
	struct ferry_uring_filter f;
	int64_t bases[16];

	make_log();
	assert_int_equal(run(true, 0, ab, 2, 1, bases, &f), 2);
	assert_true(bases[0] == 3 && bases[1] == 7);
	assert_int_equal(f.skipped_aborted, 1);
	assert_int_equal(f.skipped_control, 2);
	assert_true(f.position == 10);
	/* read_uncommitted keeps the aborted data, still drops markers */
	assert_int_equal(run(false, 0, NULL, 0, 16, bases, &f), 3);
	assert_true(bases[0] == 0 && bases[1] == 3 && bases[2] == 7);
	assert_int_equal(f.skipped_control, 2);
	/* an aborted transaction not yet reached does not hide earlier data */
	struct ferry_kafka_aborted_txn late[] = { { 8, 50 } };
	assert_int_equal(run(true, 0, late, 1, 16, bases, &f), 3);
}

static void
test_position(void **state)
{
	(void)state;
	struct ferry_uring_filter f;
	int64_t bases[16];

	make_log();
	/* the broker answers from the batch holding the offset: the older one is skipped */
	assert_int_equal(run(false, 4, NULL, 0, 16, bases, &f), 2);
	assert_true(bases[0] == 3 && bases[1] == 7);
	assert_int_equal(f.skipped_old, 1);
	/* past everything: nothing, position unchanged */
	assert_int_equal(run(false, 10, NULL, 0, 16, bases, &f), 0);
	assert_true(f.position == 10);
	/* a cut tail is dropped, not an error */
	blob_len -= 5;
	assert_int_equal(run(false, 0, NULL, 0, 16, bases, &f), 2);
	assert_true(f.position == 7);
}

static void
test_malformed(void **state)
{
	(void)state;
	struct ferry_kafka_batch out[4];
	struct ferry_uring_filter f;

	make_log();
	/* second batch's length below the header size */
	size_t second = 12 + ferry_be32(blob + 8);
	ferry_put_be32(blob + second + 8, 20);
	ferry_uring_filter_init(&f, ferry_span_make(blob, blob_len), NULL, 0, false, 0);
	assert_int_equal(ferry_uring_filter_next(&f, out, 4), 1); /* the good one first */
	assert_true(ferry_uring_filter_next(&f, out, 4) < 0);
	assert_true(ferry_uring_filter_next(&f, out, 4) < 0); /* sticky */
	assert_true(f.position == 3);
	/* negative base offset */
	make_log();
	ferry_put_be64(blob, (uint64_t)-5);
	ferry_uring_filter_init(&f, ferry_span_make(blob, blob_len), NULL, 0, false, 0);
	assert_int_equal(ferry_uring_filter_next(&f, out, 4), FERRY_ERR__BAD_OFFSET);
}

/* The iovec Produce encoder must give the codec's bytes, v3 through v9. */
static void
test_produce_encode(void **state)
{
	(void)state;
	static uint8_t tx[4096], flat[1 << 16], ref[1 << 16];
	struct iovec iov[16];
	make_log();
	struct ferry_span b1 = ferry_span_make(blob, 12 + ferry_be32(blob + 8));
	struct ferry_span b2 = ferry_span_make(blob + b1.len, 12 + ferry_be32(blob + b1.len + 8));
	struct ferry_uprod_enc_part parts[3] = {
		{ ferry_span_str("alpha"), 0, b1 },
		{ ferry_span_str("alpha"), 3, b2 },
		{ ferry_span_str("beta"), 1, b1 },
	};

	for (int16_t ver = 3; ver <= 9; ver++) {
		unsigned niov;
		size_t used, off = 0;
		long n = ferry_uring_produce_encode(ver, 42, ferry_span_str("ferry"), -1, 5000, parts, 3,
						    tx, sizeof(tx), &used, iov, 16, &niov);
		assert_true(n > 0);
		for (unsigned i = 0; i < niov; i++) {
			memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		assert_int_equal(off, (size_t)n);

		struct ferry_kafka_produce_req_part pa[2] = { { 0, b1 }, { 3, b2 } }, pb = { 1, b1 };
		struct ferry_kafka_produce_req_topic t[2] = { { ferry_span_str("alpha"), 2, pa },
							      { ferry_span_str("beta"), 1, &pb } };
		struct ferry_kafka_produce_req req = { { NULL, 0 }, -1, 5000, 2, t };
		struct ferry_kafka_reqhdr h = { FERRY_KAFKA_PRODUCE, ver, 42, ferry_span_str("ferry") };
		struct ferry_wr w;
		ferry_wr_init(&w, ref, sizeof(ref));
		assert_int_equal(ferry_kafka_request_encode(&w, &h, &req), 0);
		assert_int_equal(w.len, off);
		assert_memory_equal(ref, flat, off);
	}
	/* no room: refused, never a partial frame */
	unsigned niov;
	size_t used;
	assert_true(ferry_uring_produce_encode(7, 1, ferry_span_str("ferry"), -1, 5000, parts, 3, tx,
					       20, &used, iov, 16, &niov) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_committed),
		cmocka_unit_test(test_position),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_produce_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
