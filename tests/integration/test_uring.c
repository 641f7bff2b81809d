/*
 * test_uring.c - the io_uring broker data path (dataplane/uring, issue 4)
 * against librdkafka mock clusters (3 brokers, several partitions) with
 * injected faults, and against a tiny hostile fake broker.
 *
 * Scenarios (argv[1] picks one, so each is its own meson test):
 *  produce_errors  request errors pushed per API (NOT_LEADER_OR_FOLLOWER,
 *                  REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, ..._AFTER_APPEND,
 *                  OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID): every
 *                  batch written exactly once and in order (librdkafka consumer,
 *                  check.crcs=true). One batch in flight per partition: the
 *                  2.0.2 mock does not check idempotent sequences (facts §5.4),
 *                  so with several in flight an injected error on batch k and a
 *                  success on k+1 would reorder its log; a real broker answers
 *                  OUT_OF_ORDER_SEQUENCE_NUMBER there.
 *  produce_faults  5 in flight per partition; leader moved, broker down and up,
 *                  added RTT; same read-back check.
 *  fetch_faults    fetch 4 partitions with pipelining while Fetch errors are
 *                  pushed, a leader moves, a broker goes down and up, RTT is
 *                  added, and one partition is held back (back-pressure): every
 *                  record delivered once, in order, nothing skipped.
 *  truncation      the source log start moves past the fetch position: a loss
 *                  report with the exact offsets, no silent skip.
 *  hostile         a fake broker answering with truncated, oversized, garbage
 *                  and mismatched frames: clear errors, reconnects, no crash.
 *
 * Single-threaded except the fake broker (its own thread, blocking sockets).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"
#include "ferry/uring.h"
#include "kclient.h"

#define MAXP 8

struct harness {
	rd_kafka_t *mock_rk;
	rd_kafka_mock_cluster_t *mc;
	char boot[256];
	struct ferry_uring *ur;
	const char *topic;
	int nparts;
	int h[MAXP];
	bool want_meta;
	int broker_down, broker_up, meta_events;
	/* fetch side */
	int64_t f_next[MAXP];
	int64_t f_records[MAXP];
	int64_t f_expect_val[MAXP];
	int f_losses, f_errors;
	struct ferry_uring_ev_loss loss;
	bool hold[MAXP];
	uint32_t held[256];
	int n_held;
	int64_t f_events;
	/* produce side */
	int64_t p_delivered[MAXP];
	int64_t p_next_off[MAXP];
	int p_errors, p_stopped, p_reconciled;
	int64_t p_total;
	char last_err[256];
};

static struct harness H;
static volatile int fake_mode; /* hostile scenario: the fake broker's last mode, for logs */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- mock cluster and the test's control plane ----------------------------------------------- */

static void
cluster_new(int brokers)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof(errstr));
	H.mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	assert_non_null(H.mock_rk);
	H.mc = rd_kafka_mock_cluster_new(H.mock_rk, brokers);
	assert_non_null(H.mc);
	snprintf(H.boot, sizeof(H.boot), "%s", rd_kafka_mock_cluster_bootstraps(H.mc));
}

static void
cluster_destroy(void)
{
	if (H.ur)
		ferry_uring_destroy(H.ur);
	H.ur = NULL;
	if (H.mc)
		rd_kafka_mock_cluster_destroy(H.mc);
	if (H.mock_rk)
		rd_kafka_destroy(H.mock_rk);
	H.mc = NULL;
	H.mock_rk = NULL;
}

/*
 * What the control plane does on FERRY_URING_EV_METADATA: Metadata from any
 * reachable broker (blocking kclient), then broker addresses and leaders.
 */
static void
meta_refresh(void)
{
	static uint8_t mem[1 << 20];
	char list[256], *save = NULL, err[256];
	struct ferry_kclient kc;
	int rc = -1;

	snprintf(list, sizeof(list), "%s", H.boot);
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		rc = ferry_kclient_connect(&kc, tok, "ferry-test-meta", 2000, err, sizeof(err));
		if (rc == 0)
			break;
	}
	if (rc != 0)
		return; /* every broker down: the next event retries */
	struct ferry_kafka_metadata_req_topic t = { .Name = ferry_span_str(H.topic) };
	struct ferry_kafka_metadata_req req;
	struct ferry_kafka_metadata_resp resp;
	struct ferry_arena a;

	ferry_kafka_metadata_req_init(&req);
	req.n_topics = 1;
	req.Topics = &t;
	ferry_arena_init(&a, mem, sizeof(mem));
	rc = ferry_kclient_call(&kc, FERRY_KAFKA_METADATA,
				(int16_t)ferry_kclient_version(&kc, FERRY_KAFKA_METADATA), &req, &resp,
				&a, err, sizeof(err));
	if (rc != 0) {
		ferry_kclient_close(&kc);
		return;
	}
	/* resp points into the client's receive buffer: close only after using it */
	for (int32_t i = 0; i < resp.n_brokers; i++) {
		char host[256];

		snprintf(host, sizeof(host), "%.*s", (int)resp.Brokers[i].Host.len,
			 (const char *)resp.Brokers[i].Host.p);
		assert_int_equal(ferry_uring_broker_set(H.ur, resp.Brokers[i].NodeId, host,
							(uint16_t)resp.Brokers[i].Port, err,
							sizeof(err)),
				 0);
	}
	for (int32_t ti = 0; ti < resp.n_topics; ti++)
		for (int32_t k = 0; k < resp.Topics[ti].n_partitions; k++) {
			struct ferry_kafka_metadata_resp_partition *mp = &resp.Topics[ti].Partitions[k];

			if (mp->PartitionIndex >= 0 && mp->PartitionIndex < H.nparts &&
			    H.h[mp->PartitionIndex] >= 0)
				ferry_uring_set_leader(H.ur, H.h[mp->PartitionIndex], mp->LeaderId);
		}
	ferry_kclient_close(&kc);
	H.want_meta = false;
}

/* ---- events ----------------------------------------------------------------------------------- */

static int
part_of(int handle)
{
	for (int i = 0; i < H.nparts; i++)
		if (H.h[i] == handle)
			return i;
	fail_msg("event for unknown handle %d", handle);
	return -1;
}

/* Records of an uncompressed batch carry "p<part>-<n>" with n counting up from 0. */
static void
check_fetched_batch(int p, const struct ferry_kafka_batch *b)
{
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;

	assert_int_equal(ferry_kafka_batch_validate(b), 0);
	assert_true(b->hdr.BaseOffset == H.f_next[p]);
	assert_int_equal(ferry_kafka_batch_codec(&b->hdr), 0);
	ferry_kafka_rec_iter_init(&it, b->records, b->hdr.RecordsCount);
	while (ferry_kafka_rec_next(&it, &r) == 1) {
		char want[32];
		int n = snprintf(want, sizeof(want), "p%d-%lld", p, (long long)H.f_expect_val[p]);

		if (r.Value.len != (size_t)n || memcmp(r.Value.p, want, (size_t)n) != 0)
			fail_msg("partition %d offset %lld: value '%.*s', expected '%s'", p,
				 (long long)(b->hdr.BaseOffset + r.OffsetDelta), (int)r.Value.len,
				 (const char *)r.Value.p, want);
		H.f_expect_val[p]++;
		H.f_records[p]++;
	}
	H.f_next[p] = ferry_kafka_batch_last_offset(&b->hdr) + 1;
}

static void
on_event(void *arg, const struct ferry_uring_event *ev)
{
	(void)arg;
	switch (ev->type) {
	case FERRY_URING_EV_BROKER_UP:
		H.broker_up++;
		break;
	case FERRY_URING_EV_BROKER_DOWN:
		H.broker_down++;
		snprintf(H.last_err, sizeof(H.last_err), "%s", ev->u.broker.msg);
		if (getenv("FERRY_TEST_DEBUG"))
			fprintf(stderr, "broker %d down (fake mode %d): %s\n", ev->u.broker.node_id,
				fake_mode, ev->u.broker.msg);
		break;
	case FERRY_URING_EV_METADATA:
		H.meta_events++;
		H.want_meta = true;
		break;
	case FERRY_URING_EV_FETCH: {
		int p = part_of(ev->u.fetch.part);

		assert_true(ev->u.fetch.fetch_offset == H.f_next[p]);
		for (uint32_t i = 0; i < ev->u.fetch.n_batches; i++)
			check_fetched_batch(p, &ev->u.fetch.batches[i]);
		assert_true(ev->u.fetch.next_offset == H.f_next[p]);
		H.f_events++;
		if (H.hold[p] && H.n_held < 256)
			H.held[H.n_held++] = ev->u.fetch.ref;
		else
			ferry_uring_release(H.ur, ev->u.fetch.ref);
		break;
	}
	case FERRY_URING_EV_FETCH_LOSS:
		H.f_losses++;
		H.loss = ev->u.loss;
		break;
	case FERRY_URING_EV_FETCH_ERROR:
		H.f_errors++;
		snprintf(H.last_err, sizeof(H.last_err), "%s", ev->u.fetch_error.msg);
		break;
	case FERRY_URING_EV_DELIVERY: {
		int p = part_of(ev->u.delivery.part);

		if (ev->u.delivery.err) {
			H.p_errors++;
			snprintf(H.last_err, sizeof(H.last_err), "%s", ev->u.delivery.msg);
			break;
		}
		/* reports come in queue order, offsets increase */
		assert_true((int64_t)ev->u.delivery.cookie == H.p_delivered[p]);
		assert_true(ev->u.delivery.base_offset >= H.p_next_off[p]);
		H.p_next_off[p] = ev->u.delivery.base_offset + ev->u.delivery.records;
		H.p_delivered[p]++;
		H.p_total++;
		break;
	}
	case FERRY_URING_EV_PRODUCE_STOPPED:
		H.p_stopped++;
		snprintf(H.last_err, sizeof(H.last_err), "%s", ev->u.pstate.msg);
		break;
	case FERRY_URING_EV_RECONCILED:
		H.p_reconciled++;
		break;
	}
}

static void
pump(void)
{
	int rc = ferry_uring_poll(H.ur, 10);

	assert_true(rc >= 0);
	if (H.want_meta)
		meta_refresh();
}

static void
new_ur(struct ferry_uring_conf *c)
{
	char err[256];

	H.ur = ferry_uring_new(c, on_event, NULL, err, sizeof(err));
	if (H.ur == NULL)
		fail_msg("ferry_uring_new: %s", err);
}

static int32_t
leader_of(int part)
{
	static uint8_t mem[1 << 20];
	struct ferry_kclient kc;
	char err[256], first[256];
	struct ferry_kafka_metadata_req_topic t = { .Name = ferry_span_str(H.topic) };
	struct ferry_kafka_metadata_req req;
	struct ferry_kafka_metadata_resp resp;
	struct ferry_arena a;
	int32_t leader = -1;

	/* any broker that answers in time (one may be down or slowed down) */
	for (const char *e = H.boot;; e = strchr(e, ',') + 1) {
		snprintf(first, sizeof(first), "%s", e);
		*strchrnul(first, ',') = '\0';
		if (ferry_kclient_connect(&kc, first, "ferry-test", 1000, err, sizeof(err)) == 0) {
			ferry_kafka_metadata_req_init(&req);
			req.n_topics = 1;
			req.Topics = &t;
			ferry_arena_init(&a, mem, sizeof(mem));
			if (ferry_kclient_call(&kc, FERRY_KAFKA_METADATA, 2, &req, &resp, &a, err,
					       sizeof(err)) == 0)
				break;
			ferry_kclient_close(&kc);
		}
		if (strchr(e, ',') == NULL)
			fail_msg("metadata: %s", err);
	}
	for (int32_t k = 0; k < resp.Topics[0].n_partitions; k++)
		if (resp.Topics[0].Partitions[k].PartitionIndex == part)
			leader = resp.Topics[0].Partitions[k].LeaderId;
	ferry_kclient_close(&kc);
	return leader;
}

/* ---- producer scenarios ----------------------------------------------------------------------- */

#define P_BATCHES 40
#define P_RECORDS 10

static uint8_t *pbatch[MAXP][P_BATCHES];
static size_t pbatch_len[MAXP][P_BATCHES];

static void
build_produce_batches(int nparts)
{
	static uint8_t scratch[1 << 20];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();

	for (int p = 0; p < nparts; p++)
		for (int b = 0; b < P_BATCHES; b++) {
			struct ferry_kafka_record_in in[P_RECORDS];
			char vals[P_RECORDS][32];
			struct ferry_kafka_batch_args args = {
				.PartitionLeaderEpoch = -1,
				/* alternate plain and lz4 so the consumer decompresses too */
				.Attributes = (int16_t)(b % 2 ? FERRY_CODEC_LZ4 : FERRY_CODEC_NONE),
				.ProducerId = -1, .ProducerEpoch = -1, .BaseSequence = -1,
			};
			struct ferry_wr w;

			for (int r = 0; r < P_RECORDS; r++) {
				snprintf(vals[r], sizeof(vals[r]), "p%d-%d", p, b * P_RECORDS + r);
				in[r] = (struct ferry_kafka_record_in){ 1700000000000LL + b * 10 + r,
									ferry_span_str("k"),
									ferry_span_str(vals[r]), 0,
									NULL };
			}
			pbatch[p][b] = malloc(8192);
			ferry_wr_init(&w, pbatch[p][b], 8192);
			assert_int_equal(ferry_kafka_batch_build(&w, &args, in, P_RECORDS, cc, scratch,
								 sizeof(scratch)),
					 0);
			pbatch_len[p][b] = w.len;
		}
	ferry_codec_ctx_free(cc);
}

/* Debug aid: the batches of a partition as the leader stores them. */
static void
dump_partition(int p)
{
	static uint8_t mem[4 << 20];
	struct ferry_kclient kc;
	char err[256], first[256];
	int64_t off = 0;

	/* the mock lists its brokers in node id order */
	const char *e = H.boot;
	for (int32_t l = leader_of(p); l > 1 && strchr(e, ','); l--)
		e = strchr(e, ',') + 1;
	snprintf(first, sizeof(first), "%s", e);
	*strchrnul(first, ',') = '\0';
	if (ferry_kclient_connect(&kc, first, "dump", 2000, err, sizeof(err)) != 0)
		return;
	for (int i = 0; i < 100; i++) {
		struct ferry_kafka_fetch_resp_part *pr;
		struct ferry_kafka_batch_iter it;
		struct ferry_kafka_batch b;
		struct ferry_arena a;
		int rc;

		ferry_arena_init(&a, mem, sizeof(mem));
		rc = ferry_kclient_fetch_partition(&kc, H.topic, p, off, 0, 1 << 20, 10, &a, &pr, err,
						   sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "dump p%d at %lld: rc %d %s\n", p, (long long)off, rc, err);
			break;
		}
		ferry_kafka_batch_iter_init(&it, pr->Records);
		int n = 0;
		while (ferry_kafka_batch_next(&it, &b) == 1) {
			fprintf(stderr, "p%d base %lld count %d pid %lld epoch %d seq %d crc %s\n", p,
				(long long)b.hdr.BaseOffset, b.hdr.RecordsCount,
				(long long)b.hdr.ProducerId, b.hdr.ProducerEpoch, b.hdr.BaseSequence,
				ferry_kafka_batch_validate(&b) == 0 ? "ok" : "BAD");
			off = ferry_kafka_batch_last_offset(&b.hdr) + 1;
			n++;
		}
		if (n == 0)
			break;
	}
	ferry_kclient_close(&kc);
}

/* Read the target back with librdkafka (check.crcs=true): each record once, in order. */
static void
verify_target(int nparts, int64_t per_part)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = {
		{ "bootstrap.servers", H.boot }, { "group.id", "ferry-uring-test" },
		{ "check.crcs", "true" },	 { "enable.partition.eof", "true" },
		{ "enable.auto.commit", "false" }, { "log_level", "2" },
	};
	int64_t got[MAXP] = { 0 };
	int eofs = 0;

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		assert_int_equal(rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)),
				 RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
	for (int p = 0; p < nparts; p++)
		rd_kafka_topic_partition_list_add(parts, H.topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);
	double t0 = now_s();
	while (now_s() - t0 < 60) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		bool done = true;

		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			eofs++;
			rd_kafka_message_destroy(m);
			for (int p = 0; p < nparts; p++)
				done &= got[p] >= per_part;
			if (done)
				break;
			continue;
		}
		if (m->err)
			fail_msg("consumer: %s", rd_kafka_message_errstr(m));
		int p = m->partition;
		char want[32];
		int n = snprintf(want, sizeof(want), "p%d-%lld", p, (long long)got[p]);
		if (m->len != (size_t)n || memcmp(m->payload, want, (size_t)n) != 0)
			fail_msg("partition %d offset %lld: '%.*s', expected '%s' (duplicate, gap or "
				 "reorder)",
				 p, (long long)m->offset, (int)m->len, (const char *)m->payload, want);
		got[p]++;
		rd_kafka_message_destroy(m);
	}
	for (int p = 0; p < nparts; p++)
		if (got[p] != per_part && getenv("FERRY_TEST_DEBUG"))
			dump_partition(p);
	for (int p = 0; p < nparts; p++)
		if (got[p] != per_part)
			fail_msg("partition %d: %lld records read back, %lld written (%d EOFs, %.1f s)",
				 p, (long long)got[p], (long long)per_part, eofs, now_s() - t0);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

typedef void (*fault_fn)(int64_t delivered, double t);
static int fault_stage, fault_final;
static uint64_t last_st[FERRY_URING_ST__COUNT]; /* counters at the end of produce_run */

static void
produce_run(int inflight, int nparts, fault_fn fault)
{
	struct ferry_uring_conf c;
	int next[MAXP] = { 0 };

	memset(&H, 0, sizeof(H));
	H.topic = "ferry-tgt";
	H.nparts = nparts;
	cluster_new(3);
	assert_int_equal(rd_kafka_mock_topic_create(H.mc, H.topic, nparts, 3), 0);
	build_produce_batches(nparts);
	ferry_uring_conf_defaults(&c);
	c.produce_max_inflight = (unsigned)inflight;
	c.request_timeout_ms = 3000;
	c.backoff_max_ms = 500;
	c.rx_buf_size = 1 << 20;
	c.fetch_max_bytes = 256 << 10;
	c.partition_max_bytes = 128 << 10;
	new_ur(&c);
	for (int p = 0; p < nparts; p++) {
		H.h[p] = ferry_uring_produce_add(H.ur, H.topic, p, -1, (uint64_t)p);
		assert_true(H.h[p] >= 0);
	}
	meta_refresh();
	double t0 = now_s();
	/* the fault schedule runs to its end even when the batches are all written */
	while (H.p_total < (int64_t)nparts * P_BATCHES || fault_stage < fault_final) {
		for (int p = 0; p < nparts; p++)
			while (next[p] < P_BATCHES &&
			       ferry_uring_produce(H.ur, H.h[p], pbatch[p][next[p]],
						   pbatch_len[p][next[p]], NULL,
						   (uint64_t)next[p]) == 0)
				next[p]++;
		pump();
		if (fault)
			fault(H.p_total, now_s() - t0);
		if (H.p_errors || H.p_stopped)
			fail_msg("producer stopped: %s", H.last_err);
		if (now_s() - t0 > 120)
			fail_msg("no progress: %lld of %d batches delivered", (long long)H.p_total,
				 nparts * P_BATCHES);
	}
	for (int p = 0; p < nparts; p++)
		assert_int_equal(ferry_uring_produce_pending(H.ur, H.h[p]), 0);
	/* faults off before reading back: the consumer is not under test */
	for (int32_t b = 1; b <= 3; b++) {
		rd_kafka_mock_broker_set_up(H.mc, b);
		rd_kafka_mock_broker_set_rtt(H.mc, b, 0);
	}
	verify_target(nparts, (int64_t)P_BATCHES * P_RECORDS);
	uint64_t st[FERRY_URING_ST__COUNT];
	ferry_uring_stats(H.ur, st);
	if (getenv("FERRY_TEST_DEBUG"))
		for (int i = 0; i < FERRY_URING_ST__COUNT; i++)
			fprintf(stderr, "%-28s %llu\n", ferry_uring_stat_name((enum ferry_uring_stat)i),
				(unsigned long long)st[i]);
	assert_true(st[FERRY_URING_ST_PRODUCE_BATCHES] == (uint64_t)nparts * P_BATCHES);
	memcpy(last_st, st, sizeof(st));
	for (int p = 0; p < nparts; p++)
		for (int b = 0; b < P_BATCHES; b++)
			free(pbatch[p][b]);
	cluster_destroy();
}

static int err_stage;

static void
fault_errors(int64_t delivered, double t)
{
	(void)t;
	/* one kind of error at a time, each after some progress */
	static const rd_kafka_resp_err_t errs[] = {
		RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
		RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
		RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
		RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
		RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
		RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID,
		RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
	};
	if (err_stage < (int)(sizeof(errs) / sizeof(errs[0])) && delivered >= 8 + err_stage * 18) {
		rd_kafka_mock_push_request_errors(H.mc, FERRY_KAFKA_PRODUCE, 2, errs[err_stage],
						  errs[err_stage]);
		err_stage++;
	}
}

static void
test_produce_errors(void **state)
{
	(void)state;
	err_stage = 0;
	fault_stage = fault_final = 0;
	produce_run(1, 4, fault_errors);
	assert_true(err_stage == 7);
	/* REQUEST_TIMED_OUT, ..._AFTER_APPEND, OUT_OF_ORDER and UNKNOWN_PRODUCER_ID
	 * went through stop-and-reconcile; the others were retried in order */
	assert_true(last_st[FERRY_URING_ST_PRODUCE_RECONCILES] >= 4);
	assert_true(last_st[FERRY_URING_ST_PRODUCE_RETRIES] > 0);
}

static double fault_t;
static int32_t down_broker;

static void
fault_brokers(int64_t delivered, double t)
{
	uint64_t st[FERRY_URING_ST__COUNT];

	switch (fault_stage) {
	case 0:
		if (H.p_delivered[3] >= 5) {
			/* answers slower than request.timeout.ms: the mock appends, the
			 * answer comes too late, the outcome is unknown -> reconcile.
			 * Early, so partition 3 still has batches to write. */
			down_broker = leader_of(3);
			rd_kafka_mock_broker_set_rtt(H.mc, down_broker, 4000);
			fault_stage++;
		}
		break;
	case 1:
		ferry_uring_stats(H.ur, st);
		if (st[FERRY_URING_ST_REQ_TIMEOUTS] > 0) {
			rd_kafka_mock_broker_set_rtt(H.mc, down_broker, 0);
			fault_stage++;
		}
		break;
	case 2:
		if (delivered >= 40) {
			/* 50 ms more on every answer of broker 1 */
			rd_kafka_mock_broker_set_rtt(H.mc, 1, 50);
			int32_t l = leader_of(0);
			rd_kafka_mock_partition_set_leader(H.mc, H.topic, 0, l % 3 + 1);
			fault_stage++;
		}
		break;
	case 3:
		if (delivered >= 70) {
			down_broker = leader_of(1);
			rd_kafka_mock_broker_set_down(H.mc, down_broker);
			fault_t = t;
			fault_stage++;
		}
		break;
	case 4:
		if (t - fault_t > 1.5) {
			rd_kafka_mock_broker_set_up(H.mc, down_broker);
			rd_kafka_mock_broker_set_rtt(H.mc, 1, 0);
			fault_stage++;
		}
		break;
	case 5:
		if (delivered >= 110) {
			int32_t l = leader_of(2);
			rd_kafka_mock_partition_set_leader(H.mc, H.topic, 2, l % 3 + 1);
			fault_stage++;
		}
		break;
	}
}

static void
test_produce_faults(void **state)
{
	(void)state;
	fault_stage = 0;
	fault_final = 5; /* the last leader move happens only if batches are left */
	produce_run(5, 4, fault_brokers);
	assert_true(fault_stage >= 5);
	assert_true(H.broker_down > 0);
	/* the timed-out batches were found written on the target, not sent twice */
	assert_true(last_st[FERRY_URING_ST_REQ_TIMEOUTS] > 0);
	assert_true(last_st[FERRY_URING_ST_PRODUCE_RECONCILE_FOUND] > 0);
	assert_true(H.p_reconciled > 0);
}

/* ---- fetch scenarios -------------------------------------------------------------------------- */

/* Source data written by a librdkafka producer (uncompressed, values "p<part>-<n>"). */
static void
fill_source(int nparts, int per_part, size_t pad)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = {
		{ "bootstrap.servers", H.boot }, { "linger.ms", "5" },
		{ "batch.num.messages", "97" },  { "log_level", "2" },
		{ "compression.codec", "none" }, { "batch.size", "1000000" },
	};
	static char value[4096];

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		assert_int_equal(rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)),
				 RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	for (int i = 0; i < per_part; i++)
		for (int p = 0; p < nparts; p++) {
			int n = snprintf(value, sizeof(value), "p%d-%d", p, i);
			/* pad only in the key: the value check stays exact */
			static char key[4096];
			memset(key, 'k', pad < sizeof(key) ? pad : sizeof(key));
			while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(H.topic), RD_KAFKA_V_PARTITION(p),
						 RD_KAFKA_V_VALUE(value, (size_t)n),
						 RD_KAFKA_V_KEY(key, pad),
						 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(rk, 10);
		}
	assert_int_equal(rd_kafka_flush(rk, 60000), 0);
	rd_kafka_destroy(rk);
}

#define F_RECORDS 3000

static void
fetch_fault(double t, int *stage)
{
	switch (*stage) {
	case 0:
		if (H.f_records[0] + H.f_records[1] + H.f_records[2] + H.f_records[3] > 1000) {
			rd_kafka_mock_push_request_errors(
			    H.mc, FERRY_KAFKA_FETCH, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
			    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
			    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
			    RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE);
			rd_kafka_mock_broker_set_rtt(H.mc, 2, 40);
			(*stage)++;
		}
		break;
	case 1:
		if (H.f_records[1] > 1500) {
			int32_t l = leader_of(1);
			rd_kafka_mock_partition_set_leader(H.mc, H.topic, 1, l % 3 + 1);
			(*stage)++;
		}
		break;
	case 2:
		if (H.f_records[2] > 1200) {
			down_broker = leader_of(2);
			rd_kafka_mock_broker_set_down(H.mc, down_broker);
			fault_t = t;
			(*stage)++;
		}
		break;
	case 3:
		if (t - fault_t > 1.0) {
			rd_kafka_mock_broker_set_up(H.mc, down_broker);
			rd_kafka_mock_broker_set_rtt(H.mc, 2, 0);
			(*stage)++;
		}
		break;
	case 4:
		/* let partition 3 go after it was held back */
		if (t - fault_t > 1.5) {
			H.hold[3] = false;
			for (int i = 0; i < H.n_held; i++)
				ferry_uring_release(H.ur, H.held[i]);
			H.n_held = 0;
			(*stage)++;
		}
		break;
	}
}

static void
test_fetch_faults(void **state)
{
	(void)state;
	struct ferry_uring_conf c;
	int stage = 0;
	uint64_t st[FERRY_URING_ST__COUNT];

	memset(&H, 0, sizeof(H));
	H.topic = "ferry-src";
	H.nparts = 4;
	cluster_new(3);
	assert_int_equal(rd_kafka_mock_topic_create(H.mc, H.topic, 4, 3), 0);
	fill_source(4, F_RECORDS, 0);
	ferry_uring_conf_defaults(&c);
	c.fetch_depth = 3;
	c.fetch_max_wait_ms = 100;
	c.request_timeout_ms = 3000;
	c.backoff_max_ms = 500;
	c.rx_buf_size = 1 << 20;
	c.fetch_max_bytes = 256 << 10;
	c.partition_max_bytes = 64 << 10;
	c.fetch_max_unreleased = 2;
	new_ur(&c);
	for (int p = 0; p < 4; p++) {
		H.h[p] = ferry_uring_fetch_add(H.ur, H.topic, p, -1, 0, (uint64_t)p);
		assert_true(H.h[p] >= 0);
	}
	H.hold[3] = true; /* the owner's queue for partition 3 is "full" */
	meta_refresh();
	double t0 = now_s();
	for (;;) {
		bool done = true;

		pump();
		fetch_fault(now_s() - t0, &stage);
		for (int p = 0; p < 4; p++)
			done &= H.f_records[p] >= F_RECORDS;
		if (done)
			break;
		if (H.f_errors || H.f_losses)
			fail_msg("fetch stopped: %s", H.last_err);
		if (now_s() - t0 > 120)
			fail_msg("no progress: %lld %lld %lld %lld", (long long)H.f_records[0],
				 (long long)H.f_records[1], (long long)H.f_records[2],
				 (long long)H.f_records[3]);
		if (stage < 5 && H.hold[3]) {
			/* back-pressure holds: with 2 deliveries unreleased nothing more comes */
			assert_true(H.n_held <= 2);
		}
	}
	for (int p = 0; p < 4; p++) {
		assert_true(H.f_records[p] == F_RECORDS);
		assert_true(ferry_uring_fetch_position(H.ur, H.h[p]) == F_RECORDS);
	}
	ferry_uring_stats(H.ur, st);
	if (getenv("FERRY_TEST_DEBUG"))
		for (int i = 0; i < FERRY_URING_ST__COUNT; i++)
			fprintf(stderr, "%-28s %llu\n", ferry_uring_stat_name((enum ferry_uring_stat)i),
				(unsigned long long)st[i]);
	assert_true(st[FERRY_URING_ST_FETCH_PAUSED] > 0);
	assert_true(H.broker_down > 0);
	assert_true(stage == 5);
	cluster_destroy();
}

static void
test_truncation(void **state)
{
	(void)state;
	struct ferry_uring_conf c;
	struct ferry_kclient kc;
	char err[256], first[256];
	static uint8_t mem[1 << 16];
	double t0;

	memset(&H, 0, sizeof(H));
	H.topic = "ferry-trunc";
	H.nparts = 1;
	cluster_new(1);
	assert_int_equal(rd_kafka_mock_topic_create(H.mc, H.topic, 1, 1), 0);
	fill_source(1, 100, 0);
	ferry_uring_conf_defaults(&c);
	c.fetch_max_wait_ms = 50;
	c.rx_buf_size = 8 << 20;
	c.fetch_max_bytes = 2 << 20;
	c.partition_max_bytes = 2 << 20;
	new_ur(&c);
	H.h[0] = ferry_uring_fetch_add(H.ur, H.topic, 0, -1, 0, 0);
	meta_refresh();
	t0 = now_s();
	while (H.f_records[0] < 100 && now_s() - t0 < 60)
		pump();
	assert_true(H.f_records[0] == 100);
	/* the downstream queue is full: the fetcher waits while the source keeps growing */
	ferry_uring_fetch_pause(H.ur, H.h[0]);
	for (int i = 0; i < 20; i++)
		pump();
	/* > 5 MiB more: the mock drops its oldest message sets (log start moves) */
	fill_source(1, 7000, 1000);
	snprintf(first, sizeof(first), "%s", H.boot);
	*strchrnul(first, ',') = '\0';
	assert_int_equal(ferry_kclient_connect(&kc, first, "t", 2000, err, sizeof(err)), 0);
	struct ferry_kafka_list_offsets_req_partition lp = { 0, -1, FERRY_KAFKA_OFFSET_EARLIEST };
	struct ferry_kafka_list_offsets_req_topic lt = { ferry_span_str(H.topic), 1, &lp };
	struct ferry_kafka_list_offsets_req lreq = { -1, 0, 1, &lt };
	struct ferry_kafka_list_offsets_resp lresp;
	struct ferry_arena a;
	ferry_arena_init(&a, mem, sizeof(mem));
	assert_int_equal(ferry_kclient_call(&kc, FERRY_KAFKA_LIST_OFFSETS, 1, &lreq, &lresp, &a, err,
					    sizeof(err)),
			 0);
	int64_t log_start = lresp.Topics[0].Partitions[0].Offset;
	ferry_kclient_close(&kc);
	assert_true(log_start > 100);
	/* drained: fetching resumes, and must report the loss instead of jumping */
	ferry_uring_fetch_resume(H.ur, H.h[0]);
	t0 = now_s();
	while (H.f_losses == 0 && now_s() - t0 < 60)
		pump();
	assert_int_equal(H.f_losses, 1);
	assert_true(H.loss.lost_from == 100);
	assert_true(H.loss.lost_to == log_start);
	assert_true(H.loss.position == 100);
	assert_true(H.loss.log_start == log_start);
	assert_true(H.loss.log_end == 7100);
	/* stopped: nothing else is delivered */
	int64_t ev = H.f_events;
	for (int i = 0; i < 30; i++)
		pump();
	assert_true(H.f_events == ev);
	assert_true(H.f_records[0] == 100);
	/* an operator decision restarts it where the log now begins */
	H.f_next[0] = log_start;
	assert_int_equal(ferry_uring_fetch_seek(H.ur, H.h[0], log_start), 0);
	H.f_expect_val[0] = -1; /* values unknown after the gap: count only */
	cluster_destroy();
}

/* ---- hostile broker --------------------------------------------------------------------------- */

struct fake {
	int lfd;
	uint16_t port;
	int mode; /* advances per connection */
	int conns;
	volatile int stop;
};

static void
read_frame(int fd, uint8_t *buf, size_t cap, int32_t *corr, int16_t *api)
{
	uint8_t h[4];
	size_t got = 0;
	uint32_t n;

	*corr = -1;
	while (got < 4) {
		ssize_t r = recv(fd, h + got, 4 - got, 0);
		if (r <= 0)
			return;
		got += (size_t)r;
	}
	n = ferry_be32(h);
	if (n > cap)
		return;
	for (got = 0; got < n;) {
		ssize_t r = recv(fd, buf + got, n - got, 0);
		if (r <= 0)
			return;
		got += (size_t)r;
	}
	*api = (int16_t)ferry_be16(buf);
	*corr = (int32_t)ferry_be32(buf + 4);
}

static void
send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

static void *
fake_broker(void *arg)
{
	struct fake *fk = arg;
	static uint8_t buf[1 << 20], out[1 << 16];

	while (!fk->stop) {
		int fd = accept(fk->lfd, NULL, NULL);
		int32_t corr;
		int16_t api;
		struct ferry_wr w;

		if (fd < 0)
			continue;
		/* accepted sockets inherit the listener's short timeout: give requests time */
		struct timeval tv = { 3, 0 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		fk->conns++;
		/* ApiVersions v0 answer: Fetch 4-11 */
		read_frame(fd, buf, sizeof(buf), &corr, &api);
		struct ferry_kafka_api_version_range r[] = { { 1, 4, 11 }, { 18, 0, 2 }, { 2, 1, 2 } };
		struct ferry_kafka_api_versions_resp av = { 0, 3, r, 0 };
		ferry_wr_init(&w, out, sizeof(out));
		/* the client may start at v3: answer v0 layout with UNSUPPORTED first */
		if (corr >= 0 && ferry_be16(buf + 2) > 0) {
			struct ferry_kafka_api_versions_resp un = { 35, 0, NULL, 0 };
			ferry_kafka_response_encode(&w, 18, 0, corr, &un);
			send_all(fd, out, w.len);
			read_frame(fd, buf, sizeof(buf), &corr, &api);
			ferry_wr_init(&w, out, sizeof(out));
		}
		ferry_kafka_response_encode(&w, 18, 0, corr, &av);
		send_all(fd, out, w.len);
		read_frame(fd, buf, sizeof(buf), &corr, &api);
		uint8_t f[64];
		fake_mode = fk->mode % 5;
		switch (fk->mode++ % 5) {
		case 0: /* truncated: a frame that promises 100 bytes, 10 come, then close */
			ferry_put_be32(f, 100);
			ferry_put_be32(f + 4, (uint32_t)corr);
			send_all(fd, f, 14);
			break;
		case 1: /* oversized: 1 GiB announced (must not be allocated) */
			ferry_put_be32(f, 1u << 30);
			ferry_put_be32(f + 4, (uint32_t)corr);
			send_all(fd, f, 8);
			usleep(200000);
			break;
		case 2: /* garbage body with a valid size and correlation id */
			ferry_put_be32(f, 40);
			ferry_put_be32(f + 4, (uint32_t)corr);
			memset(f + 8, 0xff, 36);
			send_all(fd, f, 44);
			usleep(200000);
			break;
		case 3: /* wrong correlation id */
			ferry_put_be32(f, 8);
			ferry_put_be32(f + 4, (uint32_t)corr + 7);
			memset(f + 8, 0, 4);
			send_all(fd, f, 12);
			usleep(200000);
			break;
		case 4: { /* a well-formed Fetch answer whose first batch is malformed */
			static uint8_t junk[300];
			memset(junk, 0x5a, sizeof(junk));
			ferry_put_be64(junk, 0);
			ferry_put_be32(junk + 8, 20); /* BatchLength below the v2 header: malformed */
			junk[16] = 2;                  /* magic */
			struct ferry_kafka_fetch_resp_part rp = { 0 };
			rp.HighWatermark = 1000;
			rp.LastStableOffset = 1000;
			rp.LogStartOffset = 0;
			rp.n_aborted = -1;
			rp.PreferredReadReplica = -1;
			rp.Records = ferry_span_make(junk, sizeof(junk));
			struct ferry_kafka_fetch_resp_topic rt = { ferry_span_str("hostile"), 1, &rp };
			struct ferry_kafka_fetch_resp fr = { 0, 0, 0, 1, &rt };
			int16_t ver = (int16_t)ferry_be16(buf + 2);
			ferry_wr_init(&w, out, sizeof(out));
			ferry_kafka_response_encode(&w, 1, ver, corr, &fr);
			send_all(fd, out, w.len);
			usleep(200000);
			break;
		}
		}
		close(fd);
	}
	return NULL;
}

static void
test_hostile(void **state)
{
	(void)state;
	struct ferry_uring_conf c;
	struct fake fk = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	pthread_t th;
	uint64_t st[FERRY_URING_ST__COUNT];
	char err[256];
	struct timeval tv = { 0, 100000 };

	memset(&H, 0, sizeof(H));
	H.topic = "hostile";
	H.nparts = 1;
	fk.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fk.lfd >= 0);
	assert_int_equal(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk.lfd, 8), 0);
	setsockopt(fk.lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	getsockname(fk.lfd, (struct sockaddr *)&sa, &sl);
	fk.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&th, NULL, fake_broker, &fk), 0);

	ferry_uring_conf_defaults(&c);
	c.backoff_min_ms = 10;
	c.backoff_max_ms = 40;
	c.request_timeout_ms = 1000;
	c.rx_buf_size = 1 << 20;
	c.fetch_max_bytes = 256 << 10;
	c.partition_max_bytes = 64 << 10;
	new_ur(&c);
	assert_int_equal(ferry_uring_broker_set(H.ur, 1, "127.0.0.1", fk.port, err, sizeof(err)), 0);
	H.h[0] = ferry_uring_fetch_add(H.ur, "hostile", 0, 1, 0, 0);
	double t0 = now_s();
	while ((fk.mode < 11 || H.f_errors == 0) && now_s() - t0 < 60) {
		assert_true(ferry_uring_poll(H.ur, 10) >= 0);
		if (H.f_errors) /* corrupt batches three times: the partition stopped */
			ferry_uring_fetch_seek(H.ur, H.h[0], 0);
	}
	ferry_uring_stats(H.ur, st);
	if (getenv("FERRY_TEST_DEBUG"))
		for (int i = 0; i < FERRY_URING_ST__COUNT; i++)
			fprintf(stderr, "%-28s %llu\n", ferry_uring_stat_name((enum ferry_uring_stat)i),
				(unsigned long long)st[i]);
	/* every mode was seen at least twice, each ended in a clear error and a reconnect */
	assert_true(fk.mode >= 11);
	assert_true(st[FERRY_URING_ST_PROTO_ERRORS] >= 6);
	assert_true(st[FERRY_URING_ST_CONNECTS] >= 11);
	assert_true(H.broker_down >= 10);
	assert_true(H.f_events == 0); /* nothing hostile reached the owner */
	assert_true(H.f_errors >= 1);
	fk.stop = 1;
	pthread_join(th, NULL);
	close(fk.lfd);
	ferry_uring_destroy(H.ur);
	H.ur = NULL;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest all[] = {
		cmocka_unit_test(test_produce_errors), cmocka_unit_test(test_produce_faults),
		cmocka_unit_test(test_fetch_faults),   cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_hostile),
	};
	const char *names[] = { "produce_errors", "produce_faults", "fetch_faults", "truncation",
				"hostile" };

	if (argc > 1) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(argv[1], names[i]) == 0)
				return _cmocka_run_group_tests(names[i], &all[i], 1, NULL, NULL);
		fprintf(stderr, "unknown scenario %s\n", argv[1]);
		return 2;
	}
	return cmocka_run_group_tests(all, NULL, NULL);
}
