/*
 * test_brokersim.c - ferry-brokersim against clients nobody here wrote, run
 * as a child process like any broker:
 *  a. source_librdkafka: batches built by ferry with each codec, replayed by
 *     the simulator past the end of the file, read by a librdkafka consumer
 *     (check.crcs=true, assign()) - every key, value, header, timestamp equal;
 *  b. source_kcat: the same through `kcat -C ... -e -X check.crcs=true`;
 *  c. sink_librdkafka: an idempotent librdkafka producer (acks=all, each
 *     codec) writes to sink topics: all delivered, the simulator's counts
 *     match, and ferry's kclient fetches the stored batches back unchanged;
 *  d. bad_frames: garbage, oversized and negative frames, an unknown ApiKey and
 *     an unsupported version close only their connection; ApiVersions v9 is
 *     answered in the v0 layout (KIP-511); byte-by-byte and pipelined frames
 *     work; the next connection still works; and thousands of randomly
 *     corrupted copies of valid frames of every API (mutated_frames);
 *  e. commit_offsets: a librdkafka consumer commits with commit (sync) after
 *     assign() and reads the offsets back with rd_kafka_committed();
 *  f. produce_rules: the idempotent sequence rules (§5.2), CRC and batch
 *     checks, through ferry's own Produce encoder;
 *  g. fetch_rules: KIP-74 minimum one batch, mid-batch fetch offsets,
 *     OFFSET_OUT_OF_RANGE, MaxWaitMs, and a waiting Fetch woken by a Produce;
 *  h. sasl: a SASL_PLAINTEXT listener (--sasl-plain, --sasl-scram): librdkafka
 *     produces and reads back as a PLAIN, a SCRAM-SHA-256 and a SCRAM-SHA-512
 *     user and is refused with a wrong password; raw frames check the state
 *     rules (nothing but ApiVersions and SASL before logging in, unknown
 *     mechanism, SaslAuthenticate before SaslHandshake, v2 flexible) and that
 *     a listener without SASL advertises neither API.
 * Each is a separate meson test (argv[1] filters by name), under 60 s.
 */
#include "testutil.h"

#include <pthread.h>
#include <sys/socket.h>
#include <netdb.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"
#include "ferry/kafka_group.h"
#include "kclient.h"
#include "sim_util.h"

#define NREC        400  /* records per pass of a source file */
#define NBATCH      8    /* batches per file */
#define SRC_RECORDS 1000 /* per source partition: 2.5 passes */
#define N_SINK      1500 /* records produced per codec */

static struct sim_proc sim;
static char tmpdir[64];

struct rec {
	int64_t ts;
	char key[32];
	bool key_null;
	char value[700];
	size_t vlen;
	bool value_null;
	int nhdr;
};

static struct rec recs[NREC];
static struct ferry_kafka_header hdrs[2];

static const int codecs[] = { FERRY_CODEC_NONE, FERRY_CODEC_GZIP, FERRY_CODEC_SNAPPY,
			      FERRY_CODEC_LZ4, FERRY_CODEC_ZSTD };
#define N_CODECS (sizeof(codecs) / sizeof(codecs[0]))

/* Printable keys and values without tabs or newlines (kcat prints them). */
static void
make_records(void)
{
	hdrs[0].Key = ferry_span_str("trace-id");
	hdrs[0].Value = ferry_span_str("0af7651916cd43dd8448eb211c80319c");
	hdrs[1].Key = ferry_span_str("null-hdr");
	hdrs[1].Value = ferry_span_make(NULL, 0);
	for (int i = 0; i < NREC; i++) {
		struct rec *r = &recs[i];
		int n;

		r->ts = 1700000000000LL + i * 11 - (i % 9 == 4 ? 5000 : 0);
		r->key_null = i % 13 == 6;
		snprintf(r->key, sizeof(r->key), "acct-%d", i);
		r->value_null = i % 17 == 9;
		n = snprintf(r->value, sizeof(r->value),
			     "{\"trade_id\":%d,\"isin\":\"GB00B03MLX29\",\"px\":%d.%02d,\"qty\":%d,"
			     "\"side\":\"%s\",\"note\":\"",
			     i, 100 + i % 50, i % 100, (i + 1) * 25, i % 2 ? "BUY" : "SELL");
		for (int k = 0; k < (i * 37) % 500; k++)
			r->value[n++] = (char)('a' + (k * 7 + i) % 26);
		r->value[n++] = '"';
		r->value[n++] = '}';
		r->vlen = (size_t)n;
		r->nhdr = i % 4 == 0 ? 2 : (i % 4 == 1 ? 1 : 0);
	}
}

static struct ferry_kafka_record_in
rec_in(int i)
{
	const struct rec *r = &recs[i];
	struct ferry_kafka_record_in in = {
		.Timestamp = r->ts,
		.Key = r->key_null ? ferry_span_make(NULL, 0) : ferry_span_str(r->key),
		.Value =
		    r->value_null ? ferry_span_make(NULL, 0) : ferry_span_make(r->value, r->vlen),
		.n_headers = (uint32_t)r->nhdr,
		.Headers = hdrs,
	};
	return in;
}

/* The NREC records as NBATCH batches of one codec, in tmpdir/src-CODEC.batches. */
static void
write_source_file(int codec, char *path, size_t plen)
{
	static uint8_t file[4 << 20];
	struct ferry_kafka_record_in in[NREC];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	size_t len = 0;

	assert_non_null(cc);
	for (int i = 0; i < NREC; i++)
		in[i] = rec_in(i);
	for (int b = 0; b < NBATCH; b++) {
		size_t n = sim_build_batch(file + len, sizeof(file) - len, codec,
					   in + b * (NREC / NBATCH), NREC / NBATCH, cc);
		assert_true(n > 0);
		len += n;
	}
	snprintf(path, plen, "%s/src-%s.batches", tmpdir, ferry_codec_name(codec));
	assert_int_equal(sim_write_file(path, file, len), 0);
	ferry_codec_ctx_free(cc);
}

static void
start_sim(const char *const *args)
{
	if (sim_start(&sim, args) != 0)
		fail_msg("ferry-brokersim did not start");
}

/* Stop the simulator: it must exit 0, with no bad frame unless expected. */
static void
stop_sim(uint64_t bad_frames)
{
	assert_int_equal(sim_stop(&sim), 0);
	assert_true(sim_stat(&sim, "conn_bad_frame") == bad_frames);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-brokersim-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	make_records();
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	sim_kill(&sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return 0;
}

/* ---- record comparison ---------------------------------------------------------------------- */

static void
check_rdkafka_message(const rd_kafka_message_t *m, const struct rec *r)
{
	rd_kafka_timestamp_type_t tstype;
	rd_kafka_headers_t *h = NULL;
	rd_kafka_resp_err_t herr;

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
	assert_true(rd_kafka_message_timestamp(m, &tstype) == r->ts);
	assert_int_equal(tstype, RD_KAFKA_TIMESTAMP_CREATE_TIME);
	herr = rd_kafka_message_headers(m, &h);
	if (r->nhdr == 0) {
		assert_true(herr == RD_KAFKA_RESP_ERR__NOENT || rd_kafka_header_cnt(h) == 0);
		return;
	}
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

static void
check_ferry_record(const struct ferry_kafka_batch *b, const struct ferry_kafka_record *r,
		   const struct rec *want)
{
	struct ferry_kafka_hdr_iter hi;
	struct ferry_kafka_header h;

	assert_true(b->hdr.BaseTimestamp + r->TimestampDelta == want->ts);
	if (want->key_null)
		assert_null(r->Key.p);
	else
		assert_true(ferry_span_eq(r->Key, ferry_span_str(want->key)));
	if (want->value_null)
		assert_null(r->Value.p);
	else
		assert_true(ferry_span_eq(r->Value, ferry_span_make(want->value, want->vlen)));
	assert_int_equal(r->HeadersCount, want->nhdr);
	ferry_kafka_hdr_iter_init(&hi, r);
	for (int k = 0; k < want->nhdr; k++) {
		assert_int_equal(ferry_kafka_hdr_next(&hi, &h), 1);
		assert_true(ferry_span_eq(h.Key, hdrs[k].Key));
		assert_true(ferry_span_eq(h.Value, hdrs[k].Value));
	}
}

static rd_kafka_conf_t *
rdk_conf(const char *const (*kv)[2], size_t n)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];

	assert_int_equal(
	    rd_kafka_conf_set(conf, "bootstrap.servers", sim.addr, errstr, sizeof(errstr)),
	    RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	for (size_t i = 0; i < n; i++)
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)) !=
		    RD_KAFKA_CONF_OK)
			fail_msg("%s=%s: %s", kv[i][0], kv[i][1], errstr);
	return conf;
}

static rd_kafka_t *
new_consumer(const char *group, const char *max_partition_bytes)
{
	const char *const kv[][2] = {
		{ "group.id", group },
		{ "check.crcs", "true" },
		{ "enable.partition.eof", "true" },
		{ "auto.offset.reset", "earliest" },
		{ "enable.auto.commit", "false" },
		{ "max.partition.fetch.bytes", max_partition_bytes },
		{ "fetch.wait.max.ms", "100" },
	};
	char errstr[256];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, rdk_conf(kv, sizeof(kv) / sizeof(kv[0])),
				      errstr, sizeof(errstr));

	if (rk == NULL)
		fail_msg("consumer: %s", errstr);
	return rk;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a. source topics through a librdkafka consumer ----------------------------------------- */

static void
start_source_sim(char (*paths)[256])
{
	static char topic_args[N_CODECS][320];
	const char *args[2 * N_CODECS + 8];
	size_t n = 0;

	for (size_t i = 0; i < N_CODECS; i++) {
		write_source_file(codecs[i], paths[i], sizeof(paths[i]));
		snprintf(topic_args[i], sizeof(topic_args[i]), "src-%s:2:source=%s",
			 ferry_codec_name(codecs[i]), paths[i]);
		args[n++] = "--topic";
		args[n++] = topic_args[i];
	}
	args[n++] = "--source-records";
	args[n++] = "1000";
	args[n++] = "--stats-interval";
	args[n++] = "0.5";
	args[n] = NULL;
	start_sim(args);
}

static void
test_source_librdkafka(void **state)
{
	char paths[N_CODECS][256];

	(void)state;
	start_source_sim(paths);
	for (size_t ci = 0; ci < N_CODECS; ci++) {
		char topic[64];
		int got[2] = { 0, 0 }, eof = 0;
		double t0 = now_s();
		/* a small partition limit: several fetches per pass, KIP-74 at work */
		rd_kafka_t *rk = new_consumer("src-readers", ci % 2 ? "40000" : "1048576");
		rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(2);

		snprintf(topic, sizeof(topic), "src-%s", ferry_codec_name(codecs[ci]));
		rd_kafka_topic_partition_list_add(parts, topic, 0)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
		rd_kafka_topic_partition_list_add(parts, topic, 1)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
		assert_int_equal(rd_kafka_assign(rk, parts), 0);
		rd_kafka_topic_partition_list_destroy(parts);
		while ((got[0] < SRC_RECORDS || got[1] < SRC_RECORDS || eof < 2) &&
		       now_s() - t0 < 30) {
			rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
			if (m == NULL)
				continue;
			if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				assert_int_equal(m->offset, SRC_RECORDS);
				eof++;
				rd_kafka_message_destroy(m);
				continue;
			}
			if (m->err)
				fail_msg("%s: %s", topic, rd_kafka_message_errstr(m));
			assert_true(m->partition == 0 || m->partition == 1);
			assert_int_equal(m->offset, got[m->partition]);
			check_rdkafka_message(m, &recs[m->offset % NREC]);
			got[m->partition]++;
			rd_kafka_message_destroy(m);
		}
		assert_int_equal(got[0], SRC_RECORDS);
		assert_int_equal(got[1], SRC_RECORDS);
		printf("  librdkafka consumer: %-6s 2 x %d records (%d per file pass) verified in "
		       "%.2f s\n",
		       ferry_codec_name(codecs[ci]), SRC_RECORDS, NREC, now_s() - t0);
		rd_kafka_consumer_close(rk);
		rd_kafka_destroy(rk);
	}
	stop_sim(0);
	assert_non_null(strstr(sim.final, "stats t=")); /* --stats-interval lines */
	assert_true(sim_stat(&sim, "fetch_records") >= 2 * N_CODECS * SRC_RECORDS);
	assert_int_equal(sim_topic_field(&sim, "src-zstd", 1, "end"), SRC_RECORDS);
}

/* ---- b. source topics through kcat ---------------------------------------------------------- */

static bool
have_kcat(void)
{
	return system("command -v kcat >/dev/null 2>&1") == 0;
}

static void
test_source_kcat(void **state)
{
	char paths[N_CODECS][256];

	(void)state;
	if (!have_kcat()) {
		printf("  SKIP: kcat is not installed\n");
		skip();
	}
	start_source_sim(paths);
	for (size_t ci = 0; ci < N_CODECS; ci++) {
		char cmd[512], line[2048];
		int n = 0;
		double t0 = now_s();
		FILE *f;

		snprintf(cmd, sizeof(cmd),
			 "kcat -C -b %s -t src-%s -p 0 -o beginning -e -q -X check.crcs=true "
			 "-X log_level=3 -f '%%o\\t%%T\\t%%K\\t%%S\\t%%k\\t%%s\\n'",
			 sim.addr, ferry_codec_name(codecs[ci]));
		f = popen(cmd, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			const struct rec *r = &recs[n % NREC];
			char *fld[6], *save = NULL, *p = line;
			int nf = 0;

			line[strcspn(line, "\n")] = '\0';
			/* strsep keeps empty fields (a null key prints as nothing) */
			while (nf < 6 && (fld[nf] = strsep(&p, "\t")) != NULL)
				nf++;
			(void)save;
			assert_int_equal(nf, 6);
			assert_int_equal(atoll(fld[0]), n);
			assert_true(atoll(fld[1]) == r->ts);
			assert_int_equal(atoi(fld[2]), r->key_null ? -1 : (int)strlen(r->key));
			assert_int_equal(atoi(fld[3]), r->value_null ? -1 : (int)r->vlen);
			if (!r->key_null)
				assert_string_equal(fld[4], r->key);
			if (!r->value_null) {
				assert_int_equal(strlen(fld[5]), r->vlen);
				assert_memory_equal(fld[5], r->value, r->vlen);
			}
			n++;
		}
		assert_int_equal(pclose(f), 0);
		assert_int_equal(n, SRC_RECORDS);
		printf("  kcat -X check.crcs=true: %-6s %d records verified in %.2f s\n",
		       ferry_codec_name(codecs[ci]), n, now_s() - t0);
	}
	stop_sim(0);
}

/* ---- c. sink topics from a librdkafka producer ---------------------------------------------- */

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	int *counts = opaque;

	(void)rk;
	counts[m->err ? 1 : 0]++;
	if (m->err && counts[1] < 5)
		fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
}

/* Every record of topic/partition 0 from offset 0 through ferry's Fetch, compared. */
static void
fetch_back_and_compare(struct ferry_kclient *kc, const char *topic, int n_expect)
{
	static uint8_t decbuf[8 << 20];
	static uint8_t mem[1 << 20];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	int ver = ferry_kclient_version(kc, FERRY_KAFKA_FETCH);
	int64_t offset = 0;
	int got = 0;
	char err[256];

	assert_int_equal(ver, 12); /* ferry on both sides: the flexible Fetch */
	for (int round = 0; round < 1000 && got < n_expect; round++) {
		struct ferry_kafka_fetch_req_part p = { 0, -1, offset, -1, -1, 64 << 10 };
		struct ferry_kafka_fetch_req_topic t = { ferry_span_str(topic), 1, &p };
		struct ferry_kafka_fetch_req req = {
			.ReplicaId = -1,
			.MaxWaitMs = 100,
			.MinBytes = 1,
			.MaxBytes = 1 << 20,
			.SessionEpoch = -1,
			.n_topics = 1,
			.Topics = &t,
			.RackId = ferry_span_str(""),
		};
		struct ferry_kafka_fetch_resp resp;
		struct ferry_kafka_fetch_resp_part *rp;
		struct ferry_kafka_batch_iter it;
		struct ferry_kafka_batch b;
		struct ferry_arena a;

		ferry_arena_init(&a, mem, sizeof(mem));
		if (ferry_kclient_call(kc, FERRY_KAFKA_FETCH, (int16_t)ver, &req, &resp, &a, err,
				       sizeof(err)) != 0)
			fail_msg("fetch %s: %s", topic, err);
		assert_int_equal(resp.ErrorCode, 0);
		rp = &resp.Responses[0].Partitions[0];
		assert_int_equal(rp->ErrorCode, 0);
		assert_true(rp->HighWatermark == n_expect);
		ferry_kafka_batch_iter_init(&it, rp->Records);
		while (ferry_kafka_batch_next(&it, &b) == 1) {
			struct ferry_kafka_rec_iter ri;
			struct ferry_kafka_record r;
			struct ferry_span rb;
			int rc;

			assert_int_equal(ferry_kafka_batch_validate(&b), 0);
			assert_int_equal(b.hdr.PartitionLeaderEpoch, 0);
			assert_true(b.hdr.ProducerId >= 1000); /* idempotent: the simulator's pid */
			assert_int_equal(
			    ferry_kafka_batch_records(cc, &b, decbuf, sizeof(decbuf), &rb), 0);
			ferry_kafka_rec_iter_init(&ri, rb, b.hdr.RecordsCount);
			while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1) {
				assert_true(b.hdr.BaseOffset + r.OffsetDelta == got);
				check_ferry_record(&b, &r, &recs[got % NREC]);
				got++;
			}
			assert_int_equal(rc, 0);
			offset = ferry_kafka_batch_last_offset(&b.hdr) + 1;
		}
		assert_int_equal(it.partial_tail, 0); /* whole batches only */
	}
	assert_int_equal(got, n_expect);
	ferry_codec_ctx_free(cc);
}

static int64_t
list_offset(struct ferry_kclient *kc, const char *topic, int32_t partition, int64_t ts)
{
	static uint8_t mem[1 << 16];
	struct ferry_kafka_list_offsets_req_partition p;
	struct ferry_kafka_list_offsets_req_topic t = { ferry_span_str(topic), 1, &p };
	struct ferry_kafka_list_offsets_req req;
	struct ferry_kafka_list_offsets_resp resp;
	struct ferry_arena a;
	char err[256];

	ferry_kafka_list_offsets_req_init(&req);
	ferry_kafka_list_offsets_req_partition_init(&p);
	p.PartitionIndex = partition;
	p.Timestamp = ts;
	req.n_topics = 1;
	req.Topics = &t;
	ferry_arena_init(&a, mem, sizeof(mem));
	if (ferry_kclient_call(kc, FERRY_KAFKA_LIST_OFFSETS,
			       (int16_t)ferry_kclient_version(kc, FERRY_KAFKA_LIST_OFFSETS), &req,
			       &resp, &a, err, sizeof(err)) != 0)
		fail_msg("list offsets: %s", err);
	if (resp.Topics[0].Partitions[0].ErrorCode != 0)
		return -1000 - resp.Topics[0].Partitions[0].ErrorCode;
	return resp.Topics[0].Partitions[0].Offset;
}

static void
test_sink_librdkafka(void **state)
{
	const char *const args[] = { "--store", "--verify-records", NULL };
	struct ferry_kclient kc;
	char err[256];

	(void)state;
	start_sim(args);
	for (size_t ci = 0; ci < N_CODECS; ci++) {
		const char *const kv[][2] = {
			{ "enable.idempotence", "true" },
			{ "acks", "all" },
			{ "compression.codec", ferry_codec_name(codecs[ci]) },
			{ "linger.ms", "5" },
			{ "batch.num.messages", "200" },
			{ "message.timeout.ms", "20000" },
		};
		int counts[2] = { 0, 0 };
		char topic[64], errstr[256];
		double t0 = now_s();
		rd_kafka_conf_t *conf = rdk_conf(kv, sizeof(kv) / sizeof(kv[0]));
		rd_kafka_t *rk;

		snprintf(topic, sizeof(topic), "sink-%s", ferry_codec_name(codecs[ci]));
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
		rd_kafka_conf_set_opaque(conf, counts);
		rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
		if (rk == NULL)
			fail_msg("producer: %s", errstr);
		for (int i = 0; i < N_SINK; i++) {
			const struct rec *r = &recs[i % NREC];
			rd_kafka_headers_t *h = rd_kafka_headers_new(2);
			rd_kafka_resp_err_t e;

			for (int k = 0; k < r->nhdr; k++)
				rd_kafka_header_add(h, (const char *)hdrs[k].Key.p,
						    (ssize_t)hdrs[k].Key.len, hdrs[k].Value.p,
						    hdrs[k].Value.p ? (ssize_t)hdrs[k].Value.len
								    : 0);
			e = rd_kafka_producev(
			    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
			    RD_KAFKA_V_KEY(r->key_null ? NULL : r->key,
					   r->key_null ? 0 : strlen(r->key)),
			    RD_KAFKA_V_VALUE(r->value_null ? NULL : (void *)r->value,
					     r->value_null ? 0 : r->vlen),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(r->ts),
			    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
			assert_int_equal(e, 0);
			if (i % 500 == 0)
				rd_kafka_poll(rk, 0);
		}
		assert_int_equal(rd_kafka_flush(rk, 30000), 0);
		assert_int_equal(counts[0], N_SINK);
		assert_int_equal(counts[1], 0);
		rd_kafka_destroy(rk);
		printf("  librdkafka idempotent producer: %-6s %d records delivered in %.2f s\n",
		       ferry_codec_name(codecs[ci]), N_SINK, now_s() - t0);
	}

	/* The stored batches, fetched back with ferry's codec, are the records produced. */
	if (ferry_kclient_connect(&kc, sim.addr, "ferry-test", 5000, err, sizeof(err)) != 0)
		fail_msg("connect: %s", err);
	for (size_t ci = 0; ci < N_CODECS; ci++) {
		char topic[64];

		snprintf(topic, sizeof(topic), "sink-%s", ferry_codec_name(codecs[ci]));
		assert_true(list_offset(&kc, topic, 0, FERRY_KAFKA_OFFSET_LATEST) == N_SINK);
		assert_true(list_offset(&kc, topic, 0, FERRY_KAFKA_OFFSET_EARLIEST) == 0);
		fetch_back_and_compare(&kc, topic, N_SINK);
		printf("  ferry kclient Fetch v12: %-6s %d stored records verified\n",
		       ferry_codec_name(codecs[ci]), N_SINK);
	}
	ferry_kclient_close(&kc);

	stop_sim(0);
	assert_true(sim_stat(&sim, "produce_records") == N_CODECS * N_SINK);
	assert_true(sim_stat(&sim, "produce_err_corrupt") == 0);
	assert_true(sim_stat(&sim, "produce_err_invalid") == 0);
	assert_true(sim_stat(&sim, "produce_err_sequence") == 0);
	assert_true(sim_stat(&sim, "produce_err_epoch") == 0);
	for (size_t ci = 0; ci < N_CODECS; ci++) {
		char topic[64];

		snprintf(topic, sizeof(topic), "sink-%s", ferry_codec_name(codecs[ci]));
		assert_int_equal(sim_topic_field(&sim, topic, 0, "records"), N_SINK);
		assert_int_equal(sim_topic_field(&sim, topic, 0, "end"), N_SINK);
		assert_true(sim_topic_field(&sim, topic, 0, "batches") >= N_SINK / 200);
	}
}

/* ---- d. bad frames -------------------------------------------------------------------------- */

static int
raw_connect(void)
{
	char host[128], *colon;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	struct timeval tv = { 5, 0 };
	int fd;

	snprintf(host, sizeof(host), "%s", sim.addr);
	colon = strrchr(host, ':');
	assert_non_null(colon);
	*colon = '\0';
	assert_int_equal(getaddrinfo(host, colon + 1, &hints, &res), 0);
	fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, res->ai_addr, res->ai_addrlen), 0);
	freeaddrinfo(res);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/* The simulator must hang up on us: recv gives EOF (or a reset), never a timeout. */
static void
expect_closed(int fd)
{
	uint8_t b[64];
	ssize_t r = recv(fd, b, sizeof(b), 0);

	if (r > 0)
		fail_msg("got %zd bytes where a close was expected", r);
	assert_true(r == 0 || errno == ECONNRESET);
	close(fd);
}

static size_t
recv_frame(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0, need = 4;

	while (got < need) {
		ssize_t r = recv(fd, buf + got, need - got, 0);
		assert_true(r > 0);
		got += (size_t)r;
		if (got == 4) {
			need = 4 + ferry_be32(buf);
			assert_true(need <= cap);
		}
	}
	return got;
}

static size_t
api_versions_frame(uint8_t *buf, size_t cap, int16_t ver, int32_t corr)
{
	struct ferry_kafka_reqhdr h = { FERRY_KAFKA_API_VERSIONS, ver, corr,
					ferry_span_str("raw") };
	struct ferry_kafka_api_versions_req req = { ferry_span_str("ferry-test"),
						    ferry_span_str("1.0") };
	struct ferry_wr w;

	ferry_wr_init(&w, buf, cap);
	assert_int_equal(ferry_kafka_request_encode(&w, &h, &req), 0);
	return w.len;
}

static void
test_bad_frames(void **state)
{
	const char *const args[] = { "--max-frame", "1M", NULL };
	uint8_t buf[4096], resp[4096];
	struct ferry_kclient kc;
	size_t n;
	char err[256];
	int fd;

	(void)state;
	start_sim(args);

	/* 1. garbage: a frame of 12 random bytes (ApiKey 0xdead is unknown) */
	fd = raw_connect();
	send_all(
	    fd, (const uint8_t *)"\x00\x00\x00\x0c\xde\xad\xbe\xef\x01\x02\x03\x04\x05\x06\x07\x08",
	    16);
	expect_closed(fd);
	/* 2. a frame body that does not decode: Metadata v1 with a lying count */
	fd = raw_connect();
	send_all(fd,
		 (const uint8_t *)"\x00\x00\x00\x10\x00\x03\x00\x01\x00\x00\x00\x07\x00\x00"
				  "\x7f\xff\xff\xff\x00\x01",
		 20);
	expect_closed(fd);
	/* 3. oversized: 2 MiB announced with --max-frame 1M, and INT32_MAX */
	fd = raw_connect();
	send_all(fd, (const uint8_t *)"\x00\x20\x00\x00\x00\x12\x00\x00", 8);
	expect_closed(fd);
	fd = raw_connect();
	send_all(fd, (const uint8_t *)"\x7f\xff\xff\xff", 4);
	expect_closed(fd);
	/* 4. a negative size */
	fd = raw_connect();
	send_all(fd, (const uint8_t *)"\xff\xff\xff\xf0\x00\x00", 6);
	expect_closed(fd);
	/* 5. a version the simulator does not speak: Fetch v13 */
	fd = raw_connect();
	send_all(fd,
		 (const uint8_t *)"\x00\x00\x00\x0b\x00\x01\x00\x0d\x00\x00\x00\x01\xff\xff\x00",
		 15);
	expect_closed(fd);

	/* 6. ApiVersions v9: UNSUPPORTED_VERSION in the v0 layout, connection kept */
	fd = raw_connect();
	n = api_versions_frame(buf, sizeof(buf), 3, 42);
	ferry_put_be16(buf + 6, 9);
	send_all(fd, buf, n);
	n = recv_frame(fd, resp, sizeof(resp));
	{
		uint8_t want[32];
		size_t wn = hex2bin("00 00 00 10 | 00 00 00 2a | 00 23 | 00 00 00 01 | 00 12 00 00 "
				    "00 03",
				    want, sizeof(want));
		assert_int_equal(n, wn);
		assert_memory_equal(resp, want, wn);
	}
	/* ... then v3 on the same connection, sent one byte at a time */
	n = api_versions_frame(buf, sizeof(buf), 3, 43);
	for (size_t i = 0; i < n; i++) {
		send_all(fd, buf + i, 1);
		if (i % 7 == 0)
			usleep(1000);
	}
	n = recv_frame(fd, resp, sizeof(resp));
	assert_true(n > 10);
	assert_int_equal(ferry_be32(resp + 4), 43);
	assert_int_equal(ferry_be16(resp + 8), 0);
	/* ... and three pipelined in one write, answered in order */
	n = api_versions_frame(buf, sizeof(buf), 0, 50);
	n += api_versions_frame(buf + n, sizeof(buf) - n, 3, 51);
	n += api_versions_frame(buf + n, sizeof(buf) - n, 1, 52);
	send_all(fd, buf, n);
	for (int32_t corr = 50; corr <= 52; corr++) {
		recv_frame(fd, resp, sizeof(resp));
		assert_int_equal(ferry_be32(resp + 4), corr);
	}
	close(fd);

	/* the simulator is still there for the next client */
	if (ferry_kclient_connect(&kc, sim.addr, "after-garbage", 5000, err, sizeof(err)) != 0)
		fail_msg("connect after bad frames: %s", err);
	assert_int_equal(kc.api_versions_ver, 3);
	assert_int_equal(ferry_kclient_version(&kc, FERRY_KAFKA_FIND_COORDINATOR), 3);
	assert_true(list_offset(&kc, "nope", 0, FERRY_KAFKA_OFFSET_LATEST) ==
		    -1000 - FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION);
	ferry_kclient_close(&kc);

	stop_sim(5);
	assert_true(sim_stat(&sim, "conn_unsupported") == 1);
	assert_true(sim_stat(&sim, "api_versions_unsupported") == 1);
	assert_true(sim_stat(&sim, "conn_accepted") == 8);
}

/* ---- d2. mutated frames -------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* One valid request frame of every API the simulator answers (several versions). */
static size_t
valid_frames(uint8_t *buf, size_t cap, size_t *offs, size_t max_frames)
{
	static uint8_t batch[4096];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	struct ferry_kafka_record_in in[2] = { rec_in(1), rec_in(2) };
	size_t blen = sim_build_batch(batch, sizeof(batch), FERRY_CODEC_GZIP, in, 2, cc);
	struct ferry_kafka_api_versions_req av = { ferry_span_str("ferry"), ferry_span_str("1") };
	struct ferry_kafka_metadata_req_topic mt = { { 0 }, ferry_span_str("mut") };
	struct ferry_kafka_metadata_req md;
	struct ferry_kafka_list_offsets_req_partition lp = { 0, -1, -2 };
	struct ferry_kafka_list_offsets_req_topic lt = { ferry_span_str("mut"), 1, &lp };
	struct ferry_kafka_list_offsets_req lo = { -1, 0, 1, &lt };
	struct ferry_kafka_fetch_req_part fp = { 0, -1, 0, -1, -1, 1 << 20 };
	struct ferry_kafka_fetch_req_topic ft = { ferry_span_str("mut"), 1, &fp };
	struct ferry_kafka_fetch_req fr = { .ReplicaId = -1,
					    .MaxWaitMs = 10,
					    .MinBytes = 1,
					    .MaxBytes = 1 << 20,
					    .SessionEpoch = -1,
					    .n_topics = 1,
					    .Topics = &ft,
					    .RackId = ferry_span_str("") };
	struct ferry_kafka_produce_req_part pp = { 0, ferry_span_make(batch, blen) };
	struct ferry_kafka_produce_req_topic pt = { ferry_span_str("mut"), 1, &pp };
	struct ferry_kafka_produce_req pr = { { NULL, 0 }, -1, 1000, 1, &pt };
	struct ferry_kafka_init_producer_id_req ip;
	struct ferry_kafka_find_coordinator_req fc = { ferry_span_str("g"), 0 };
	struct ferry_kafka_offset_commit_req_partition cp = { 0, 5, -1, ferry_span_str("m") };
	struct ferry_kafka_offset_commit_req_topic ct = { ferry_span_str("mut"), 1, &cp };
	struct ferry_kafka_offset_commit_req oc;
	int32_t idx[] = { 0, 1 };
	struct ferry_kafka_offset_fetch_req_topic ot = { ferry_span_str("mut"), 2, idx };
	struct ferry_kafka_offset_fetch_req of = { ferry_span_str("g"), 1, &ot, false };
	struct ferry_kafka_add_partitions_to_txn_topic at = { ferry_span_str("mut"), 2, idx };
	struct ferry_kafka_add_partitions_to_txn_req ap = { ferry_span_str("tx"), 7, 0, 1, &at };
	struct ferry_kafka_end_txn_req et = { ferry_span_str("tx"), 7, 0, true };
	const struct {
		int16_t api, ver;
		const void *msg;
	} reqs[] = {
		{ FERRY_KAFKA_API_VERSIONS, 3, &av },
		{ FERRY_KAFKA_API_VERSIONS, 0, &av },
		{ FERRY_KAFKA_METADATA, 1, &md },
		{ FERRY_KAFKA_METADATA, 12, &md },
		{ FERRY_KAFKA_LIST_OFFSETS, 1, &lo },
		{ FERRY_KAFKA_LIST_OFFSETS, 7, &lo },
		{ FERRY_KAFKA_FETCH, 4, &fr },
		{ FERRY_KAFKA_FETCH, 12, &fr },
		{ FERRY_KAFKA_PRODUCE, 3, &pr },
		{ FERRY_KAFKA_PRODUCE, 9, &pr },
		{ FERRY_KAFKA_INIT_PRODUCER_ID, 4, &ip },
		{ FERRY_KAFKA_FIND_COORDINATOR, 0, &fc },
		{ FERRY_KAFKA_FIND_COORDINATOR, 3, &fc },
		{ FERRY_KAFKA_OFFSET_COMMIT, 2, &oc },
		{ FERRY_KAFKA_OFFSET_COMMIT, 8, &oc },
		{ FERRY_KAFKA_OFFSET_FETCH, 1, &of },
		{ FERRY_KAFKA_OFFSET_FETCH, 7, &of },
		{ FERRY_KAFKA_ADD_PARTITIONS_TO_TXN, 3, &ap },
		{ FERRY_KAFKA_END_TXN, 0, &et },
	};
	struct ferry_wr w;
	size_t n = 0;

	assert_true(blen > 0);
	ferry_codec_ctx_free(cc);
	ferry_kafka_metadata_req_init(&md);
	md.n_topics = 1;
	md.Topics = &mt;
	ferry_kafka_init_producer_id_req_init(&ip);
	ferry_kafka_offset_commit_req_init(&oc);
	oc.GroupId = ferry_span_str("g");
	oc.n_topics = 1;
	oc.Topics = &ct;
	ferry_wr_init(&w, buf, cap);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]) && n < max_frames; i++) {
		struct ferry_kafka_reqhdr h = { reqs[i].api, reqs[i].ver, (int32_t)i,
						ferry_span_str("mut") };
		offs[n++] = w.len;
		assert_int_equal(ferry_kafka_request_encode(&w, &h, reqs[i].msg), 0);
	}
	offs[n] = w.len;
	return n;
}

/* Thousands of corrupted copies of valid frames, each on its own connection:
 * the simulator answers or hangs up, and is still alive and leak-free after. */
static void
test_mutated_frames(void **state)
{
	const char *const args[] = { "--store", "--verify-records", NULL };
	static uint8_t frames[1 << 16], m[1 << 16];
	size_t offs[32], nf;
	struct ferry_kclient kc;
	char err[256];
	int rounds = 0;

	(void)state;
	start_sim(args);
	nf = valid_frames(frames, sizeof(frames), offs, 31);
	if (getenv("FERRY_TEST_SEED"))
		rng_state = strtoull(getenv("FERRY_TEST_SEED"), NULL, 0) | 1;
	for (int i = 0; i < 20000; i++) {
		size_t f = rng() % nf, len = offs[f + 1] - offs[f];
		int fd;

		memcpy(m, frames + offs[f], len);
		for (uint32_t k = 0, nmut = 1 + rng() % 4; k < nmut && len > 4; k++) {
			size_t at = 4 + rng() % (len - 4);
			switch (rng() % 4) {
			case 0: /* a random byte */ m[at] = (uint8_t)rng(); break;
			case 1: /* a small or large value (counts, lengths, varints) */
				m[at] = (uint8_t[]){ 0x00, 0x01, 0x7f, 0x80, 0xff }[rng() % 5];
				break;
			case 2: /* cut the body, keeping the size prefix honest */
				len = at;
				ferry_put_be32(m, (uint32_t)(len - 4));
				break;
			default: /* extend with garbage */
				if (len + 16 < sizeof(m)) {
					for (int b = 0; b < 16; b++)
						m[len++] = (uint8_t)rng();
					ferry_put_be32(m, (uint32_t)(len - 4));
				}
				break;
			}
		}
		fd = raw_connect();
		send_all(fd, m, len);
		shutdown(fd, SHUT_WR);
		close(fd);
		rounds++;
	}
	/* still serving */
	if (ferry_kclient_connect(&kc, sim.addr, "after-mutations", 5000, err, sizeof(err)) != 0)
		fail_msg("connect after mutated frames: %s", err);
	assert_true(list_offset(&kc, "mut", 0, FERRY_KAFKA_OFFSET_EARLIEST) >= 0);
	ferry_kclient_close(&kc);
	assert_int_equal(sim_stop(&sim), 0);
	assert_true(sim_stat(&sim, "conn_accepted") == (uint64_t)rounds + 1);
	printf("  %d mutated frames: %" PRIu64 " bad-frame closes, %" PRIu64 " answered requests, "
	       "simulator alive and exit 0\n",
	       rounds, sim_stat(&sim, "conn_bad_frame"), sim_stat(&sim, "requests"));
}

/* ---- e. committed offsets ------------------------------------------------------------------- */

static void
test_commit_offsets(void **state)
{
	char paths[N_CODECS][256];
	rd_kafka_topic_partition_list_t *parts, *commit, *got;
	rd_kafka_t *rk, *rk2;
	int64_t next[2] = { 0, 0 }; /* consumed position per partition */
	double t0;

	(void)state;
	start_source_sim(paths);
	rk = new_consumer("committers", "1048576");
	parts = rd_kafka_topic_partition_list_new(2);
	rd_kafka_topic_partition_list_add(parts, "src-lz4", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_topic_partition_list_add(parts, "src-lz4", 1)->offset = RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(rk, parts), 0);

	/* nothing committed yet: INVALID (-1001) */
	assert_int_equal(rd_kafka_committed(rk, parts, 10000), 0);
	assert_int_equal(parts->elems[0].err, 0);
	assert_true(parts->elems[0].offset == RD_KAFKA_OFFSET_INVALID);

	/* consume at least 25 records of partition 0 and 10 of partition 1 */
	for (t0 = now_s(); (next[0] < 25 || next[1] < 10) && now_s() - t0 < 20;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL)
			continue;
		if (!m->err) {
			assert_true(m->offset == next[m->partition]);
			next[m->partition] = m->offset + 1;
		}
		rd_kafka_message_destroy(m);
	}
	assert_true(next[0] >= 25 && next[1] >= 10);
	/* commit chosen offsets synchronously, one with metadata */
	commit = rd_kafka_topic_partition_list_new(2);
	rd_kafka_topic_partition_list_add(commit, "src-lz4", 0)->offset = 25;
	{
		rd_kafka_topic_partition_t *p1 =
		    rd_kafka_topic_partition_list_add(commit, "src-lz4", 1);
		p1->offset = 3;
		p1->metadata = strdup("ferry-checkpoint");
		p1->metadata_size = strlen("ferry-checkpoint");
	}
	assert_int_equal(rd_kafka_commit(rk, commit, 0 /* sync */), 0);
	assert_int_equal(commit->elems[0].err, 0);
	assert_int_equal(commit->elems[1].err, 0);

	/* read back through the same handle ... */
	got = rd_kafka_topic_partition_list_copy(parts);
	assert_int_equal(rd_kafka_committed(rk, got, 10000), 0);
	assert_true(got->elems[0].offset == 25);
	assert_true(got->elems[1].offset == 3);
	assert_int_equal(got->elems[1].metadata_size, strlen("ferry-checkpoint"));
	assert_memory_equal(got->elems[1].metadata, "ferry-checkpoint",
			    got->elems[1].metadata_size);
	rd_kafka_topic_partition_list_destroy(got);

	/* ... and through a new consumer of the same group: stored by the broker */
	rk2 = new_consumer("committers", "1048576");
	got = rd_kafka_topic_partition_list_copy(parts);
	assert_int_equal(rd_kafka_committed(rk2, got, 10000), 0);
	assert_true(got->elems[0].offset == 25);
	assert_true(got->elems[1].offset == 3);
	rd_kafka_topic_partition_list_destroy(got);
	/* another group sees nothing */
	rd_kafka_destroy(rk2);
	rk2 = new_consumer("other-group", "1048576");
	got = rd_kafka_topic_partition_list_copy(parts);
	assert_int_equal(rd_kafka_committed(rk2, got, 10000), 0);
	assert_true(got->elems[0].offset == RD_KAFKA_OFFSET_INVALID);
	rd_kafka_topic_partition_list_destroy(got);
	rd_kafka_destroy(rk2);

	/* commit() without a list commits the consumed positions: librdkafka sends
	 * those above what was committed, so at least partition 1's (>= 10 > 3) */
	assert_int_equal(rd_kafka_commit(rk, NULL, 0), 0);
	got = rd_kafka_topic_partition_list_copy(parts);
	assert_int_equal(rd_kafka_committed(rk, got, 10000), 0);
	assert_true(got->elems[0].offset == next[0]);
	assert_true(got->elems[1].offset == next[1]);
	rd_kafka_topic_partition_list_destroy(got);

	rd_kafka_topic_partition_list_destroy(commit);
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	stop_sim(0);
	assert_true(sim_stat(&sim, "offset_commits") >= 3);
	printf("  commit (sync) after assign(), committed() from two handles: ok\n");
}

/* ---- f. Produce rules with ferry's own encoder ---------------------------------------------- */

static uint8_t one_batch[1 << 16];
static size_t one_batch_len;

/* Produce one partition's Records; returns ErrorCode, *base the BaseOffset. */
static int16_t
produce_raw(struct ferry_kclient *kc, const char *topic, int32_t partition, const uint8_t *recs_p,
	    size_t len, int64_t *base)
{
	static uint8_t mem[1 << 16];
	struct ferry_kafka_produce_req_part part = { partition, ferry_span_make(recs_p, len) };
	struct ferry_kafka_produce_req_topic t = { ferry_span_str(topic), 1, &part };
	struct ferry_kafka_produce_req req = { { NULL, 0 }, -1, 10000, 1, &t };
	struct ferry_kafka_produce_resp resp;
	struct ferry_arena a;
	char err[256];

	ferry_arena_init(&a, mem, sizeof(mem));
	if (ferry_kclient_call(kc, FERRY_KAFKA_PRODUCE,
			       (int16_t)ferry_kclient_version(kc, FERRY_KAFKA_PRODUCE), &req, &resp,
			       &a, err, sizeof(err)) != 0)
		fail_msg("produce: %s", err);
	*base = resp.Responses[0].PartitionResponses[0].BaseOffset;
	return resp.Responses[0].PartitionResponses[0].ErrorCode;
}

/* one_batch with this producer id / epoch / sequence (CRC recomputed) */
static const uint8_t *
batch_as(int64_t pid, int16_t epoch, int32_t seq)
{
	static uint8_t b[sizeof(one_batch)];
	struct ferry_kafka_batch_rewrite rw = {
		.set = FERRY_KAFKA_RW_PRODUCER,
		.ProducerId = pid,
		.ProducerEpoch = epoch,
		.BaseSequence = seq,
	};

	memcpy(b, one_batch, one_batch_len);
	assert_int_equal(ferry_kafka_batch_rewrite(b, one_batch_len, &rw), 0);
	return b;
}

static void
expect_produce(struct ferry_kclient *kc, const char *topic, const uint8_t *b, size_t len,
	       int16_t err, int64_t base)
{
	int64_t got_base;
	int16_t got = produce_raw(kc, topic, 0, b, len, &got_base);

	if (got != err)
		fail_msg("produce: error %d (%s), expected %d (%s)", got, ferry_err_name(got), err,
			 ferry_err_name(err));
	if (err == 0 && got_base != base)
		fail_msg("produce: BaseOffset %lld, expected %lld", (long long)got_base,
			 (long long)base);
}

static void
test_produce_rules(void **state)
{
	char paths[N_CODECS][256];
	const char *args[8];
	char src_arg[320];
	struct ferry_kclient kc;
	struct ferry_kafka_record_in in[3];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	uint8_t bad[sizeof(one_batch)], two[2 * sizeof(one_batch)];
	size_t n = one_batch_len;
	int64_t base;
	char err[256];
	const char *t = "rules";

	(void)state;
	write_source_file(FERRY_CODEC_NONE, paths[0], sizeof(paths[0]));
	snprintf(src_arg, sizeof(src_arg), "src:1:source=%s", paths[0]);
	args[0] = "--topic";
	args[1] = src_arg;
	args[2] = "--topic";
	args[3] = "rules:2";
	args[4] = NULL;
	start_sim(args);
	for (int i = 0; i < 3; i++)
		in[i] = rec_in(i + 1);
	one_batch_len = n =
	    sim_build_batch(one_batch, sizeof(one_batch), FERRY_CODEC_LZ4, in, 3, cc);
	assert_true(n > 0);
	if (ferry_kclient_connect(&kc, sim.addr, "rules", 5000, err, sizeof(err)) != 0)
		fail_msg("connect: %s", err);

	/* pid 5000 epoch 0: 0-2 at offset 0, its retry is a duplicate, then 3-5 */
	expect_produce(&kc, t, batch_as(5000, 0, 0), n, 0, 0);
	expect_produce(&kc, t, batch_as(5000, 0, 0), n, 0, 0);
	expect_produce(&kc, t, batch_as(5000, 0, 3), n, 0, 3);
	/* a gap, and a sequence already passed but not one of the cached batches */
	expect_produce(&kc, t, batch_as(5000, 0, 10), n, FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 0);
	expect_produce(&kc, t, batch_as(5000, 0, 1), n, FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 0);
	/* the first batch again: still among the last 5, same offset */
	expect_produce(&kc, t, batch_as(5000, 0, 0), n, 0, 0);
	/* a new epoch starts at 0; the old epoch is fenced */
	expect_produce(&kc, t, batch_as(5000, 1, 6), n, FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 0);
	expect_produce(&kc, t, batch_as(5000, 1, 0), n, 0, 6);
	expect_produce(&kc, t, batch_as(5000, 0, 6), n, FERRY_ERR_INVALID_PRODUCER_EPOCH, 0);
	/* an unknown producer may start anywhere; wrap-around from INT32_MAX */
	expect_produce(&kc, t, batch_as(6000, 3, 77), n, 0, 9);
	expect_produce(&kc, t, batch_as(7000, 0, INT32_MAX - 1), n, 0, 12);
	expect_produce(&kc, t, batch_as(7000, 0, 1), n, 0, 15);
	/* only the last 5 batches are remembered */
	for (int i = 0; i < 5; i++)
		expect_produce(&kc, t, batch_as(5000, 1, 3 + 3 * i), n, 0, 18 + 3 * i);
	expect_produce(&kc, t, batch_as(5000, 1, 0), n, FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 0);
	expect_produce(&kc, t, batch_as(5000, 1, 3), n, 0, 18);
	/* not idempotent: no checks */
	expect_produce(&kc, t, one_batch, n, 0, 33);
	expect_produce(&kc, t, one_batch, n, 0, 36);

	/* CRC: CORRUPT_MESSAGE */
	memcpy(bad, one_batch, n);
	bad[n - 1] ^= 0x40;
	expect_produce(&kc, t, bad, n, FERRY_ERR_CORRUPT_MESSAGE, 0);
	/* BaseOffset not 0: INVALID_RECORD (outside the CRC, so the CRC is fine) */
	memcpy(bad, one_batch, n);
	ferry_put_be64(bad, 5);
	expect_produce(&kc, t, bad, n, FERRY_ERR_INVALID_RECORD, 0);
	/* two batches for one partition, and a cut batch */
	memcpy(two, one_batch, n);
	memcpy(two + n, one_batch, n);
	expect_produce(&kc, t, two, 2 * n, FERRY_ERR_INVALID_RECORD, 0);
	expect_produce(&kc, t, one_batch, n - 1, FERRY_ERR_CORRUPT_MESSAGE, 0);
	/* read-only source topic, unknown partition */
	expect_produce(&kc, "src", one_batch, n, FERRY_ERR_TOPIC_AUTHORIZATION_FAILED, 0);
	assert_int_equal(produce_raw(&kc, t, 7, one_batch, n, &base),
			 FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION);
	/* auto-created on Produce */
	expect_produce(&kc, "fresh-topic", one_batch, n, 0, 0);

	assert_true(list_offset(&kc, t, 0, FERRY_KAFKA_OFFSET_LATEST) == 39);
	/* without --store nothing is kept: the log starts at its end */
	assert_true(list_offset(&kc, t, 0, FERRY_KAFKA_OFFSET_EARLIEST) == 39);
	assert_true(list_offset(&kc, t, 1, FERRY_KAFKA_OFFSET_LATEST) == 0);
	ferry_kclient_close(&kc);
	ferry_codec_ctx_free(cc);

	stop_sim(0);
	assert_true(sim_stat(&sim, "produce_duplicates") == 3);
	assert_true(sim_stat(&sim, "produce_err_sequence") == 4);
	assert_true(sim_stat(&sim, "produce_err_epoch") == 1);
	assert_true(sim_stat(&sim, "produce_err_corrupt") == 2);
	assert_true(sim_stat(&sim, "produce_err_invalid") == 2);
	assert_true(sim_stat(&sim, "produce_err_other") == 2);
	assert_int_equal(sim_topic_field(&sim, "rules", 0, "records"), 39);
	assert_int_equal(sim_topic_field(&sim, "rules", 0, "duplicates"), 3);
	assert_int_equal(sim_topic_field(&sim, "fresh-topic", 0, "records"), 3);
}

/* ---- g. Fetch rules -------------------------------------------------------------------------- */

struct fetch_one {
	struct ferry_kclient *kc;
	const char *topic;
	int64_t offset;
	int32_t part_max, max_wait;
	/* out */
	int16_t err;
	int64_t hw, first_base;
	int n_batches;
	size_t bytes;
	double secs;
};

static void *
fetch_one(void *arg)
{
	struct fetch_one *f = arg;
	uint8_t *mem = malloc(1 << 20);
	struct ferry_kafka_fetch_req_part p = { 0, -1, f->offset, -1, -1, f->part_max };
	struct ferry_kafka_fetch_req_topic t = { ferry_span_str(f->topic), 1, &p };
	struct ferry_kafka_fetch_req req = {
		.ReplicaId = -1,
		.MaxWaitMs = f->max_wait,
		.MinBytes = 1,
		.MaxBytes = 8 << 20,
		.SessionEpoch = -1,
		.n_topics = 1,
		.Topics = &t,
		.RackId = ferry_span_str(""),
	};
	struct ferry_kafka_fetch_resp resp;
	struct ferry_kafka_batch_iter it;
	struct ferry_kafka_batch b;
	struct ferry_arena a;
	char err[256];
	double t0 = now_s();

	f->n_batches = 0;
	f->first_base = -1;
	f->err = -1;
	if (mem == NULL)
		return NULL;
	ferry_arena_init(&a, mem, 1 << 20);
	if (ferry_kclient_call(f->kc, FERRY_KAFKA_FETCH, 12, &req, &resp, &a, err, sizeof(err)) !=
	    0)
		goto out_free_mem;
	f->secs = now_s() - t0;
	f->err = resp.Responses[0].Partitions[0].ErrorCode;
	f->hw = resp.Responses[0].Partitions[0].HighWatermark;
	f->bytes = resp.Responses[0].Partitions[0].Records.len;
	ferry_kafka_batch_iter_init(&it, resp.Responses[0].Partitions[0].Records);
	while (ferry_kafka_batch_next(&it, &b) == 1) {
		if (ferry_kafka_batch_validate(&b) != 0) {
			f->err = -2;
			break;
		}
		if (f->n_batches++ == 0)
			f->first_base = b.hdr.BaseOffset;
	}
out_free_mem:
	free(mem);
	return NULL;
}

static void
test_fetch_rules(void **state)
{
	char paths[N_CODECS][256];
	char src_arg[320];
	const char *args[] = { "--topic", src_arg, "--store", "--source-records", "inf", NULL };
	struct ferry_kclient kc, kc2;
	struct fetch_one f;
	pthread_t th;
	char err[256];
	int64_t base;

	(void)state;
	write_source_file(FERRY_CODEC_NONE, paths[0], sizeof(paths[0]));
	snprintf(src_arg, sizeof(src_arg), "src:1:source=%s", paths[0]);
	start_sim(args);
	if (ferry_kclient_connect(&kc, sim.addr, "fetch-rules", 10000, err, sizeof(err)) != 0)
		fail_msg("connect: %s", err);

	/* KIP-74: a limit of 1 byte still returns the one batch holding the offset,
	 * which starts before it (offset 70 is inside batch 1: offsets 50-99) */
	f = (struct fetch_one){ &kc, "src", 70, 1, 0, 0, 0, 0, 0, 0, 0 };
	fetch_one(&f);
	assert_int_equal(f.err, 0);
	assert_int_equal(f.n_batches, 1);
	assert_true(f.first_base == 50);
	assert_true(f.hw >= (INT64_C(1) << 62)); /* --source-records inf */
	/* far into the unbounded log, 1 MiB: whole batches up to the end of the pass */
	f = (struct fetch_one){
		&kc, "src", 4000000000LL * NREC + 120, 1 << 20, 0, 0, 0, 0, 0, 0, 0
	};
	fetch_one(&f);
	assert_int_equal(f.err, 0);
	assert_int_equal(f.n_batches, NBATCH - 2);
	assert_true(f.first_base == 4000000000LL * NREC + 100);
	/* unknown partition and out of range */
	f = (struct fetch_one){ &kc, "src", -1, 1 << 20, 0, 0, 0, 0, 0, 0, 0 };
	fetch_one(&f);
	assert_int_equal(f.err, FERRY_ERR_OFFSET_OUT_OF_RANGE);

	/* a sink at its end waits MaxWaitMs, then answers empty */
	/* (an empty Records is refused, but the sink topic is created) */
	expect_produce(&kc, "sunk", one_batch, 0, FERRY_ERR_INVALID_RECORD, 0);
	f = (struct fetch_one){ &kc, "sunk", 0, 1 << 20, 300, 0, 0, 0, 0, 0, 0 };
	fetch_one(&f);
	assert_int_equal(f.err, 0);
	assert_int_equal(f.n_batches, 0);
	assert_true(f.secs >= 0.25 && f.secs < 5);
	f = (struct fetch_one){ &kc, "sunk", 1, 1 << 20, 300, 0, 0, 0, 0, 0, 0 };
	fetch_one(&f);
	assert_int_equal(f.err, FERRY_ERR_OFFSET_OUT_OF_RANGE);

	/* a waiting Fetch is answered as soon as another client produces */
	{
		struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
		struct ferry_kafka_record_in in[2] = { rec_in(5), rec_in(6) };

		one_batch_len =
		    sim_build_batch(one_batch, sizeof(one_batch), FERRY_CODEC_SNAPPY, in, 2, cc);
		ferry_codec_ctx_free(cc);
	}
	if (ferry_kclient_connect(&kc2, sim.addr, "producer", 5000, err, sizeof(err)) != 0)
		fail_msg("connect: %s", err);
	f = (struct fetch_one){ &kc, "sunk", 0, 1 << 20, 20000, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(pthread_create(&th, NULL, fetch_one, &f), 0);
	usleep(300000);
	assert_int_equal(produce_raw(&kc2, "sunk", 0, one_batch, one_batch_len, &base), 0);
	assert_true(base == 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(f.err, 0);
	assert_int_equal(f.n_batches, 1);
	assert_true(f.first_base == 0);
	assert_true(f.secs > 0.2 && f.secs < 5);
	ferry_kclient_close(&kc2);
	ferry_kclient_close(&kc);

	stop_sim(0);
	assert_true(sim_stat(&sim, "fetch_waits") >= 2);
	printf("  KIP-74, mid-batch offsets, out of range, MaxWaitMs, wake-up on Produce: ok\n");
}

/* ---- h. SASL -------------------------------------------------------------------------------- */

#define N_SASL_REC 200 /* records per user */

static const char *const sasl_users[][3] = {
	{ "PLAIN", "alice", "alice-secret" },
	{ "SCRAM-SHA-256", "bob", "bob-secret" },
	{ "SCRAM-SHA-512", "carol", "carol-secret" },
};
#define N_SASL_USERS (sizeof(sasl_users) / sizeof(sasl_users[0]))

/* Send one request (correlation id 7) and decode its answer into resp (mem: its arena). */
static void
raw_call(int fd, int16_t api, int16_t ver, const void *req, void *resp, uint8_t *mem, size_t memcap)
{
	struct ferry_kafka_reqhdr h = { api, ver, 7, ferry_span_str("raw") };
	uint8_t buf[4096], in[4096];
	struct ferry_arena a;
	struct ferry_wr w;
	char err[256];
	size_t n;

	ferry_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(ferry_kafka_request_encode(&w, &h, req), 0);
	send_all(fd, buf, w.len);
	n = recv_frame(fd, in, sizeof(in));
	ferry_arena_init(&a, mem, memcap);
	if (ferry_kafka_response_decode(ferry_span_make(in + 4, n - 4), api, ver, 7, &a, resp, err,
					sizeof(err)) != 0)
		fail_msg("%s v%d response: %s", ferry_kafka_api_name(api), ver, err);
}

/* The version range the simulator advertises for api, or false. */
static bool
advertised(int fd, int16_t api, int16_t *lo, int16_t *hi)
{
	struct ferry_kafka_api_versions_req req = { ferry_span_str("ferry-test"),
						    ferry_span_str("1.0") };
	struct ferry_kafka_api_versions_resp rs;
	uint8_t mem[8192];

	raw_call(fd, FERRY_KAFKA_API_VERSIONS, 3, &req, &rs, mem, sizeof(mem));
	assert_int_equal(rs.ErrorCode, 0);
	for (int32_t i = 0; i < rs.n_api_keys; i++) {
		if (rs.ApiKeys[i].ApiKey == api) {
			*lo = rs.ApiKeys[i].MinVersion;
			*hi = rs.ApiKeys[i].MaxVersion;
			return true;
		}
	}
	return false;
}

static void
sasl_handshake(int fd, const char *mech, int16_t want_err)
{
	struct ferry_kafka_sasl_handshake_req req = { ferry_span_str(mech) };
	struct ferry_kafka_sasl_handshake_resp rs;
	uint8_t mem[4096];

	raw_call(fd, FERRY_KAFKA_SASL_HANDSHAKE, 1, &req, &rs, mem, sizeof(mem));
	assert_int_equal(rs.ErrorCode, want_err);
	/* every answer lists the enabled mechanisms, in the simulator's order */
	assert_int_equal(rs.n_mechanisms, 3);
	assert_true(ferry_span_eq(rs.Mechanisms[0], ferry_span_str("PLAIN")));
	assert_true(ferry_span_eq(rs.Mechanisms[1], ferry_span_str("SCRAM-SHA-256")));
	assert_true(ferry_span_eq(rs.Mechanisms[2], ferry_span_str("SCRAM-SHA-512")));
}

/* SaslAuthenticate with a PLAIN message; the answer's ErrorCode. */
static int16_t
sasl_plain(int fd, int16_t ver, const char *user, const char *password)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "%c%s%c%s", 0, user, 0, password);
	struct ferry_kafka_sasl_authenticate_req req = { ferry_span_make(msg, (size_t)n) };
	struct ferry_kafka_sasl_authenticate_resp rs;
	uint8_t mem[4096];

	raw_call(fd, FERRY_KAFKA_SASL_AUTHENTICATE, ver, &req, &rs, mem, sizeof(mem));
	if (rs.ErrorCode == 0) {
		assert_null(rs.ErrorMessage.p);
	} else {
		assert_non_null(rs.ErrorMessage.p);
		printf("  SaslAuthenticate v%d refused: %s (%.*s)\n", ver,
		       ferry_err_name(rs.ErrorCode), (int)rs.ErrorMessage.len,
		       (const char *)rs.ErrorMessage.p);
	}
	return rs.ErrorCode;
}

static void
metadata_ok(int fd)
{
	struct ferry_kafka_metadata_req req;
	struct ferry_kafka_metadata_resp rs;
	uint8_t mem[16384];

	ferry_kafka_metadata_req_init(&req);
	req.n_topics = -1;
	raw_call(fd, FERRY_KAFKA_METADATA, 9, &req, &rs, mem, sizeof(mem));
	assert_int_equal(rs.n_brokers, 1);
}

static void
metadata_closed(int fd)
{
	struct ferry_kafka_reqhdr h = { FERRY_KAFKA_METADATA, 9, 7, ferry_span_str("raw") };
	struct ferry_kafka_metadata_req req;
	uint8_t buf[256];
	struct ferry_wr w;

	ferry_kafka_metadata_req_init(&req);
	req.n_topics = -1;
	ferry_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(ferry_kafka_request_encode(&w, &h, &req), 0);
	send_all(fd, buf, w.len);
	expect_closed(fd);
}

static rd_kafka_conf_t *
sasl_conf(const char *mech, const char *user, const char *password)
{
	const char *const kv[][2] = {
		{ "security.protocol", "SASL_PLAINTEXT" },
		{ "sasl.mechanisms", mech },
		{ "sasl.username", user },
		{ "sasl.password", password },
	};

	return rdk_conf(kv, sizeof(kv) / sizeof(kv[0]));
}

/* Produce N_SASL_REC records to sasl/partition as this user, then read them back. */
static void
sasl_produce_consume(int32_t partition, const char *mech, const char *user, const char *password)
{
	rd_kafka_conf_t *conf = sasl_conf(mech, user, password);
	rd_kafka_topic_partition_list_t *tp;
	int counts[2] = { 0, 0 }, got = 0;
	char errstr[256], val[64];
	rd_kafka_t *rk;

	assert_int_equal(
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)),
	    RD_KAFKA_CONF_OK);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, counts);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		fail_msg("producer: %s", errstr);
	for (int i = 0; i < N_SASL_REC; i++) {
		int n = snprintf(val, sizeof(val), "%s-%s-%d", mech, user, i);

		assert_int_equal(
		    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("sasl"), RD_KAFKA_V_PARTITION(partition),
				      RD_KAFKA_V_VALUE(val, (size_t)n),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
		    0);
	}
	assert_int_equal(rd_kafka_flush(rk, 30000), 0);
	assert_int_equal(counts[0], N_SASL_REC);
	assert_int_equal(counts[1], 0);
	rd_kafka_destroy(rk);

	conf = sasl_conf(mech, user, password);
	assert_int_equal(rd_kafka_conf_set(conf, "group.id", "ferry-sasl", errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	assert_int_equal(
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)),
	    RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		fail_msg("consumer: %s", errstr);
	tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, "sasl", partition)->offset =
	    RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(rk, tp), 0);
	rd_kafka_topic_partition_list_destroy(tp);
	for (double t0 = now_s(); now_s() - t0 < 20;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);

		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && got == N_SASL_REC) {
			rd_kafka_message_destroy(m);
			break;
		}
		if (m->err == 0) {
			int n = snprintf(val, sizeof(val), "%s-%s-%d", mech, user, got);

			assert_int_equal(m->offset, got);
			assert_int_equal(m->len, (size_t)n);
			assert_memory_equal(m->payload, val, (size_t)n);
			got++;
		} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			fail_msg("%s as %s: %s", mech, user, rd_kafka_message_errstr(m));
		}
		rd_kafka_message_destroy(m);
	}
	assert_int_equal(got, N_SASL_REC);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	printf("  librdkafka %-13s as %-5s: %d records produced (idempotent) and read back\n", mech,
	       user, N_SASL_REC);
}

/* error_cb: remember that an authentication error was reported. */
static void
sasl_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
		snprintf(opaque, 256, "%s", reason);
	}
}

static void
sasl_wrong_password(const char *mech, const char *user)
{
	rd_kafka_conf_t *conf = sasl_conf(mech, user, "not-the-password");
	const struct rd_kafka_metadata *md = NULL;
	char errstr[256], reason[256] = "";
	rd_kafka_resp_err_t e;
	rd_kafka_t *rk;

	rd_kafka_conf_set_error_cb(conf, sasl_error_cb);
	rd_kafka_conf_set_opaque(conf, reason);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		fail_msg("producer: %s", errstr);
	e = rd_kafka_metadata(rk, 1, NULL, &md, 3000);
	if (e == 0) {
		rd_kafka_metadata_destroy(md);
		fail_msg("%s as %s: metadata with a wrong password", mech, user);
	}
	for (double t0 = now_s(); reason[0] == '\0' && now_s() - t0 < 5;)
		rd_kafka_poll(rk, 100);
	rd_kafka_destroy(rk);
	if (strstr(reason, "Authentication failed") == NULL)
		fail_msg("%s as %s, wrong password: no authentication error (%s)", mech, user,
			 reason);
	printf("  librdkafka %-13s as %-5s, wrong password: refused (%s)\n", mech, user, reason);
}

static void
test_sasl(void **state)
{
	const char *const plain_args[] = { NULL };
	const char *const args[] = { "--store",
				     "--topic",
				     "sasl:3",
				     "--sasl-plain",
				     "alice:alice-secret",
				     "--sasl-scram",
				     "SCRAM-SHA-256:bob:bob-secret",
				     "--sasl-scram",
				     "SCRAM-SHA-512:carol:carol-secret",
				     NULL };
	int16_t lo, hi;
	int fd;

	(void)state;
	/* Without --sasl-*: neither API advertised, and SaslHandshake closes like any
	 * API the simulator does not answer. */
	start_sim(plain_args);
	fd = raw_connect();
	assert_false(advertised(fd, FERRY_KAFKA_SASL_HANDSHAKE, &lo, &hi));
	assert_false(advertised(fd, FERRY_KAFKA_SASL_AUTHENTICATE, &lo, &hi));
	metadata_ok(fd);
	{
		struct ferry_kafka_reqhdr h = { FERRY_KAFKA_SASL_HANDSHAKE, 1, 7,
						ferry_span_str("raw") };
		struct ferry_kafka_sasl_handshake_req req = { ferry_span_str("PLAIN") };
		uint8_t buf[256];
		struct ferry_wr w;

		ferry_wr_init(&w, buf, sizeof(buf));
		assert_int_equal(ferry_kafka_request_encode(&w, &h, &req), 0);
		send_all(fd, buf, w.len);
		expect_closed(fd);
	}
	stop_sim(0);
	assert_true(sim_stat(&sim, "conn_unsupported") == 1);
	free(sim.final);
	sim.final = NULL;

	start_sim(args);
	/* ApiVersions before logging in: both APIs, at the codec's versions */
	fd = raw_connect();
	assert_true(advertised(fd, FERRY_KAFKA_SASL_HANDSHAKE, &lo, &hi));
	assert_true(lo == 0 && hi == 1);
	assert_true(advertised(fd, FERRY_KAFKA_SASL_AUTHENTICATE, &lo, &hi));
	assert_true(lo == 0 && hi == 2);
	/* anything else before logging in closes the connection */
	metadata_closed(fd);

	/* an unknown mechanism: UNSUPPORTED_SASL_MECHANISM with the list, then closed */
	fd = raw_connect();
	sasl_handshake(fd, "GSSAPI", FERRY_ERR_UNSUPPORTED_SASL_MECHANISM);
	expect_closed(fd);
	/* SaslAuthenticate before SaslHandshake: ILLEGAL_SASL_STATE, closed */
	fd = raw_connect();
	assert_int_equal(sasl_plain(fd, 1, "alice", "alice-secret"), FERRY_ERR_ILLEGAL_SASL_STATE);
	expect_closed(fd);
	/* PLAIN over SaslAuthenticate v2 (flexible): a wrong password is refused and closed */
	fd = raw_connect();
	sasl_handshake(fd, "PLAIN", 0);
	assert_int_equal(sasl_plain(fd, 2, "alice", "wrong"), FERRY_ERR_SASL_AUTHENTICATION_FAILED);
	expect_closed(fd);
	/* ... the right one logs in; then Metadata is answered and a second handshake is
	 * ILLEGAL_SASL_STATE without closing */
	fd = raw_connect();
	sasl_handshake(fd, "PLAIN", 0);
	assert_int_equal(sasl_plain(fd, 2, "alice", "alice-secret"), 0);
	metadata_ok(fd);
	sasl_handshake(fd, "PLAIN", FERRY_ERR_ILLEGAL_SASL_STATE);
	metadata_ok(fd);
	close(fd);
	printf("  raw frames: ApiVersions lists SaslHandshake v0-1, SaslAuthenticate v0-2; "
	       "state rules hold\n");

	for (size_t i = 0; i < N_SASL_USERS; i++)
		sasl_produce_consume((int32_t)i, sasl_users[i][0], sasl_users[i][1],
				     sasl_users[i][2]);
	for (size_t i = 0; i < N_SASL_USERS; i++)
		sasl_wrong_password(sasl_users[i][0], sasl_users[i][1]);

	stop_sim(0);
	/* raw: 1 login; librdkafka: a producer and a consumer per user, each at least once */
	assert_true(sim_stat(&sim, "sasl_auth_ok") >= 1 + 2 * N_SASL_USERS);
	/* raw: 1 wrong password; librdkafka: at least one per user */
	assert_true(sim_stat(&sim, "sasl_auth_failed") >= 1 + N_SASL_USERS);
	assert_true(sim_stat(&sim, "sasl_mechanism_unsupported") == 1);
	/* Metadata and SaslAuthenticate before logging in */
	assert_true(sim_stat(&sim, "conn_unauthenticated") == 2);
	for (size_t i = 0; i < N_SASL_USERS; i++)
		assert_int_equal(sim_topic_field(&sim, "sasl", (int)i, "records"), N_SASL_REC);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_source_librdkafka, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_kcat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_librdkafka, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutated_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_produce_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl, setup, teardown),
	};

	/* one meson test per scenario: argv[1] names it */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
