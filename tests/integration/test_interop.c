/*
 * test_interop.c - ferry's codec against peers nobody here wrote, on a
 * librdkafka mock cluster (real broker-side protocol):
 *  1. batches encoded by ferry, with each codec, produced over a raw TCP
 *     connection with ferry's Produce encoder, are consumed by a librdkafka
 *     consumer with check.crcs=true, every key, value, header and timestamp equal
 *     (also after an idempotent-producer header rewrite);
 *  2. batches produced by a librdkafka producer with each codec are fetched
 *     with ferry's Fetch encoder/decoder and decode to the same records.
 */
#include "testutil.h"

#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ferry/kafka.h"
#include "kclient.h"

#define NREC 120

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mcluster;
static char bootstraps[256];

struct rec {
	int64_t ts;
	char key[32];
	bool key_null;
	char value[900];
	size_t vlen;
	bool value_null;
	int nhdr;
};

static struct rec recs[NREC];
static struct ferry_kafka_header hdrs[2];

static void
make_records(unsigned seed)
{
	hdrs[0].Key = ferry_span_str("trace-id");
	hdrs[0].Value = ferry_span_str("0af7651916cd43dd8448eb211c80319c");
	hdrs[1].Key = ferry_span_str("null-hdr");
	hdrs[1].Value = ferry_span_make(NULL, 0);
	for (int i = 0; i < NREC; i++) {
		struct rec *r = &recs[i];
		r->ts = 1700000000000LL + (int64_t)seed * 100000 + i * 7 - (i % 9 == 4 ? 3000 : 0);
		r->key_null = i % 13 == 6;
		snprintf(r->key, sizeof(r->key), "acct-%u-%d", seed, i);
		r->value_null = i % 17 == 9;
		int n = snprintf(r->value, sizeof(r->value),
				 "{\"trade_id\":%d,\"isin\":\"GB00B03MLX29\",\"px\":%d.%02d,"
				 "\"qty\":%d,\"side\":\"%s\",\"venue\":\"XLON\",\"note\":\"",
				 i, 100 + i % 50, i % 100, (i + 1) * 25, i % 2 ? "BUY" : "SELL");
		for (int k = 0; k < (i * 37) % 600; k++)
			r->value[n++] = (char)('a' + (k * 7 + i) % 26);
		r->value[n++] = '"';
		r->value[n++] = '}';
		r->vlen = (size_t)n;
		r->nhdr = i % 4 == 0 ? 2 : (i % 4 == 1 ? 1 : 0);
	}
}

static int
setup_cluster(void **state)
{
	(void)state;
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (mock_rk == NULL)
		return -1;
	mcluster = rd_kafka_mock_cluster_new(mock_rk, 1);
	if (mcluster == NULL)
		return -1;
	snprintf(bootstraps, sizeof(bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(mcluster));
	return 0;
}

static int
teardown_cluster(void **state)
{
	(void)state;
	rd_kafka_mock_cluster_destroy(mcluster);
	rd_kafka_destroy(mock_rk);
	return 0;
}

static rd_kafka_t *
new_consumer(void)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = {
		{ "bootstrap.servers", bootstraps }, { "group.id", "ferry-interop" },
		{ "check.crcs", "true" },	      { "enable.partition.eof", "true" },
		{ "auto.offset.reset", "earliest" }, { "enable.auto.commit", "false" },
		{ "log_level", "3" },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		assert_int_equal(rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)),
				 RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	return rk;
}

/* Consume a whole partition with CRC checks on; compare with recs[base..base+n). */
static void
consume_and_compare(const char *topic, int expect_batches, int n_per_batch)
{
	rd_kafka_t *rk = new_consumer();
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);

	int got = 0, total = expect_batches * n_per_batch;
	/* The mock answers one stored batch per Fetch; give slow CI machines time. */
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (now = t0; got < total && now.tv_sec - t0.tv_sec < 60; clock_gettime(CLOCK_MONOTONIC, &now)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (getenv("FERRY_TEST_DEBUG"))
				fprintf(stderr, "EOF at %d of %d\n", got, total);
			rd_kafka_message_destroy(m);
			continue;
		}
		if (m->err)
			fail_msg("%s: consumer error: %s", topic, rd_kafka_message_errstr(m));
		assert_int_equal(m->offset, got);
		const struct rec *r = &recs[got % n_per_batch];
		if (r->key_null) {
			assert_null(m->key);
		} else {
			assert_int_equal(m->key_len, strlen(r->key));
			assert_memory_equal(m->key, r->key, m->key_len);
		}
		if (r->value_null) {
			assert_null(m->payload);
		} else {
			assert_int_equal(m->len, r->vlen);
			assert_memory_equal(m->payload, r->value, r->vlen);
		}
		rd_kafka_timestamp_type_t tstype;
		assert_true(rd_kafka_message_timestamp(m, &tstype) == r->ts);
		assert_int_equal(tstype, RD_KAFKA_TIMESTAMP_CREATE_TIME);
		rd_kafka_headers_t *h = NULL;
		rd_kafka_resp_err_t herr = rd_kafka_message_headers(m, &h);
		if (r->nhdr == 0) {
			assert_true(herr == RD_KAFKA_RESP_ERR__NOENT || rd_kafka_header_cnt(h) == 0);
		} else {
			assert_int_equal(herr, 0);
			assert_int_equal(rd_kafka_header_cnt(h), (size_t)r->nhdr);
			for (int k = 0; k < r->nhdr; k++) {
				const char *name;
				const void *val;
				size_t vsz;
				assert_int_equal(rd_kafka_header_get_all(h, (size_t)k, &name, &val, &vsz), 0);
				assert_int_equal(strlen(name), hdrs[k].Key.len);
				assert_memory_equal(name, hdrs[k].Key.p, hdrs[k].Key.len);
				if (hdrs[k].Value.p == NULL) {
					assert_null(val);
				} else {
					assert_int_equal(vsz, hdrs[k].Value.len);
					assert_memory_equal(val, hdrs[k].Value.p, vsz);
				}
			}
		}
		got++;
		rd_kafka_message_destroy(m);
	}
	assert_int_equal(got, total);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

static size_t
build_batch(int codec, uint8_t *out, size_t cap, struct ferry_codec_ctx *cc)
{
	static uint8_t scratch[4 << 20];
	struct ferry_kafka_record_in in[NREC];
	for (int i = 0; i < NREC; i++) {
		in[i].Timestamp = recs[i].ts;
		in[i].Key = recs[i].key_null ? ferry_span_make(NULL, 0) : ferry_span_str(recs[i].key);
		in[i].Value = recs[i].value_null ? ferry_span_make(NULL, 0)
						 : ferry_span_make(recs[i].value, recs[i].vlen);
		in[i].n_headers = (uint32_t)recs[i].nhdr;
		in[i].Headers = hdrs;
	}
	struct ferry_kafka_batch_args args = {
		.PartitionLeaderEpoch = -1, .Attributes = (int16_t)codec,
		.ProducerId = -1, .ProducerEpoch = -1, .BaseSequence = -1,
	};
	struct ferry_wr w;
	ferry_wr_init(&w, out, cap);
	assert_int_equal(ferry_kafka_batch_build(&w, &args, in, NREC, cc, scratch, sizeof(scratch)), 0);
	return w.len;
}

static void
produce_raw(struct ferry_kclient *kc, const char *topic, const uint8_t *batch, size_t len,
	    int64_t expect_base)
{
	static uint8_t mem[1 << 16];
	struct ferry_arena a;
	ferry_arena_init(&a, mem, sizeof(mem));
	int ver = ferry_kclient_version(kc, FERRY_KAFKA_PRODUCE);
	assert_true(ver >= 3);
	struct ferry_kafka_produce_req_part part = { 0, ferry_span_make(batch, len) };
	struct ferry_kafka_produce_req_topic t = { ferry_span_str(topic), 1, &part };
	struct ferry_kafka_produce_req req = { { NULL, 0 }, -1, 10000, 1, &t };
	struct ferry_kafka_produce_resp resp;
	char err[256];
	int rc = ferry_kclient_call(kc, FERRY_KAFKA_PRODUCE, (int16_t)ver, &req, &resp, &a, err,
				    sizeof(err));
	if (rc != 0)
		fail_msg("produce to %s: %s", topic, err);
	assert_int_equal(resp.n_topics, 1);
	assert_int_equal(resp.Responses[0].PartitionResponses[0].ErrorCode, 0);
	assert_true(resp.Responses[0].PartitionResponses[0].BaseOffset == expect_base);
}

/* 1. ferry encodes, librdkafka consumes with check.crcs=true. */
static void
test_ferry_to_librdkafka(void **state)
{
	(void)state;
	static uint8_t batch[2][4 << 20];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	struct ferry_kclient kc;
	char err[256];
	make_records(1);
	int rc = ferry_kclient_connect(&kc, bootstraps, "ferry-interop", 5000, err, sizeof(err));
	if (rc != 0)
		fail_msg("connect: %s", err);
	/* The 2.0.2 mock speaks Produce up to v7 (§1.5). */
	assert_int_equal(ferry_kclient_version(&kc, FERRY_KAFKA_PRODUCE), 7);
	for (int codec = FERRY_CODEC_NONE; codec <= FERRY_CODEC_ZSTD; codec++) {
		char topic[64];
		snprintf(topic, sizeof(topic), "ferry-enc-%s", ferry_codec_name(codec));
		assert_int_equal(rd_kafka_mock_topic_create(mcluster, topic, 1, 1), 0);
		size_t n = build_batch(codec, batch[0], sizeof(batch[0]), cc);
		produce_raw(&kc, topic, batch[0], n, 0);
		/* The same batch again as an idempotent producer would send it:
		 * new pid/epoch/sequence, CRC recomputed by the rewrite. */
		memcpy(batch[1], batch[0], n);
		struct ferry_kafka_batch_rewrite rw = {
			.set = FERRY_KAFKA_RW_PRODUCER, .ProducerId = 1000, .ProducerEpoch = 0,
			.BaseSequence = 0,
		};
		assert_int_equal(ferry_kafka_batch_rewrite(batch[1], n, &rw), 0);
		produce_raw(&kc, topic, batch[1], n, NREC);
		consume_and_compare(topic, 2, NREC);
		printf("  ferry -> librdkafka: %-6s batch %7zu bytes, 2x%d records verified\n",
		       ferry_codec_name(codec), n, NREC);
	}
	ferry_kclient_close(&kc);
	ferry_codec_ctx_free(cc);
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	int *failed = opaque;
	if (m->err)
		(*failed)++;
}

/* 2. librdkafka produces with each codec, ferry fetches and decodes. */
static void
test_librdkafka_to_ferry(void **state)
{
	(void)state;
	static uint8_t decbuf[8 << 20];
	static uint8_t mem[1 << 20];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	make_records(2);
	for (int codec = FERRY_CODEC_NONE; codec <= FERRY_CODEC_ZSTD; codec++) {
		char topic[64], errstr[256];
		snprintf(topic, sizeof(topic), "rdk-%s", ferry_codec_name(codec));
		assert_int_equal(rd_kafka_mock_topic_create(mcluster, topic, 1, 1), 0);

		int failed = 0;
		rd_kafka_conf_t *conf = rd_kafka_conf_new();
		const char *kv[][2] = {
			{ "bootstrap.servers", bootstraps }, { "compression.codec", ferry_codec_name(codec) },
			{ "linger.ms", "100" },		     { "batch.num.messages", "10000" },
			{ "log_level", "3" },
		};
		for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
			assert_int_equal(rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr,
							   sizeof(errstr)), RD_KAFKA_CONF_OK);
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
		rd_kafka_conf_set_opaque(conf, &failed);
		rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
		assert_non_null(rk);
		for (int i = 0; i < NREC; i++) {
			const struct rec *r = &recs[i];
			rd_kafka_headers_t *h = rd_kafka_headers_new(2);
			for (int k = 0; k < r->nhdr; k++)
				rd_kafka_header_add(h, (const char *)hdrs[k].Key.p, (ssize_t)hdrs[k].Key.len,
						    hdrs[k].Value.p, hdrs[k].Value.p ? (ssize_t)hdrs[k].Value.len : 0);
			rd_kafka_resp_err_t e = rd_kafka_producev(
				rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
				RD_KAFKA_V_KEY(r->key_null ? NULL : r->key, r->key_null ? 0 : strlen(r->key)),
				RD_KAFKA_V_VALUE(r->value_null ? NULL : (void *)r->value,
						 r->value_null ? 0 : r->vlen),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(r->ts),
				RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
			assert_int_equal(e, 0);
		}
		assert_int_equal(rd_kafka_flush(rk, 10000), 0);
		assert_int_equal(failed, 0);
		rd_kafka_destroy(rk);

		/* Fetch with ferry's codec until every record is back. */
		struct ferry_kclient kc;
		char err[256];
		if (ferry_kclient_connect(&kc, bootstraps, "ferry-interop", 5000, err, sizeof(err)))
			fail_msg("connect: %s", err);
		int ver = ferry_kclient_version(&kc, FERRY_KAFKA_FETCH);
		assert_int_equal(ver, 11);
		int64_t offset = 0;
		int got = 0, batches = 0, compressed = 0;
		for (int round = 0; round < 50 && got < NREC; round++) {
			struct ferry_arena a;
			ferry_arena_init(&a, mem, sizeof(mem));
			struct ferry_kafka_fetch_req_part p = { 0, -1, offset, -1, -1, 1 << 20 };
			struct ferry_kafka_fetch_req_topic t = { ferry_span_str(topic), 1, &p };
			struct ferry_kafka_fetch_req req = {
				.ReplicaId = -1, .MaxWaitMs = 100, .MinBytes = 1, .MaxBytes = 8 << 20,
				.SessionEpoch = -1, .n_topics = 1, .Topics = &t, .RackId = ferry_span_str(""),
			};
			struct ferry_kafka_fetch_resp resp;
			if (ferry_kclient_call(&kc, FERRY_KAFKA_FETCH, (int16_t)ver, &req, &resp, &a, err,
					       sizeof(err)))
				fail_msg("fetch: %s", err);
			assert_int_equal(resp.ErrorCode, 0);
			struct ferry_kafka_fetch_resp_part *rp = &resp.Responses[0].Partitions[0];
			assert_int_equal(rp->ErrorCode, 0);
			struct ferry_kafka_batch_iter it;
			struct ferry_kafka_batch b;
			ferry_kafka_batch_iter_init(&it, rp->Records);
			while (ferry_kafka_batch_next(&it, &b) == 1) {
				batches++;
				assert_int_equal(ferry_kafka_batch_validate(&b), 0);
				/* librdkafka sends a batch uncompressed when compression
				 * would not make it smaller (e.g. a lone small record). */
				int bc = ferry_kafka_batch_codec(&b.hdr);
				assert_true(bc == codec || bc == FERRY_CODEC_NONE);
				compressed += bc == codec;
				struct ferry_span rb;
				assert_int_equal(ferry_kafka_batch_records(cc, &b, decbuf, sizeof(decbuf), &rb), 0);
				struct ferry_kafka_rec_iter ri;
				struct ferry_kafka_record r;
				ferry_kafka_rec_iter_init(&ri, rb, b.hdr.RecordsCount);
				int rc;
				while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1) {
					int64_t off = b.hdr.BaseOffset + r.OffsetDelta;
					if (off < offset)
						continue; /* batch began before our position */
					assert_int_equal(off, got);
					const struct rec *want = &recs[got];
					assert_true(b.hdr.BaseTimestamp + r.TimestampDelta == want->ts);
					if (want->key_null)
						assert_null(r.Key.p);
					else
						assert_true(ferry_span_eq(r.Key, ferry_span_str(want->key)));
					if (want->value_null)
						assert_null(r.Value.p);
					else
						assert_true(ferry_span_eq(r.Value,
									  ferry_span_make(want->value, want->vlen)));
					assert_int_equal(r.HeadersCount, want->nhdr);
					struct ferry_kafka_hdr_iter hi;
					struct ferry_kafka_header h;
					ferry_kafka_hdr_iter_init(&hi, &r);
					for (int k = 0; k < want->nhdr; k++) {
						assert_int_equal(ferry_kafka_hdr_next(&hi, &h), 1);
						assert_true(ferry_span_eq(h.Key, hdrs[k].Key));
						/* librdkafka sends a null header value as null */
						assert_true(ferry_span_eq(h.Value, hdrs[k].Value));
					}
					got++;
				}
				assert_int_equal(rc, 0);
				offset = ferry_kafka_batch_last_offset(&b.hdr) + 1;
			}
		}
		assert_int_equal(got, NREC);
		assert_true(compressed > 0);
		printf("  librdkafka -> ferry: %-6s %d records in %d batch(es) (%d with this codec) verified\n",
		       ferry_codec_name(codec), got, batches, compressed);
		ferry_kclient_close(&kc);
	}
	ferry_codec_ctx_free(cc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ferry_to_librdkafka),
		cmocka_unit_test(test_librdkafka_to_ferry),
	};
	return cmocka_run_group_tests(tests, setup_cluster, teardown_cluster);
}
