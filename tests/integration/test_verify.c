/*
 * test_verify.c - the replication checker (control/verify.c, `ferryctl verify`) against two
 * librdkafka mock clusters, "london" (source, 3 brokers, partition leaders away from the
 * bootstrap broker) and "singapore" (target).
 *
 * The source holds, written by a librdkafka producer: "trades" (2 partitions: card numbers
 * and IBANs the rules mask, e-mail headers they tokenise, records a drop rule removes, a null
 * and an empty value, identical records), "payments" (lz4), "orders" (one record in a batch
 * of its own that a quarantine rule holds back) and "secret.ledger" (a denied topic).
 *
 * The test then plays the replicator itself: ferry's policy engine on every fetched source
 * batch, as the gateway does, and kclient Produce of what leaves to singapore, each case
 * under its own source alias (so its own remote topics): a correct copy, and copies with one
 * fault each - a record missing, a batch twice, a record left unmasked, the denied topic
 * copied, two batches swapped. Each case asserts the exact counts the fault must produce, so
 * a checker that missed it (or reported something else) fails. The correct copy is also
 * checked without the checker (a plain consumer finds the masked card and no dropped record),
 * and the checker without the rules must reject it: its PASS is not vacuous.
 *
 * Scenarios (argv[1]): "cases" (the above and the CLI, argv[2] = ferryctl) and "scale" (100k
 * records through the checker, timed). Main thread; librdkafka runs its own threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ferry/kafka.h"
#include "ferry/policy.h"
#include "kclient.h"
#include "policy_compile.h"
#include "rules.h"
#include "verify.h"

#define N_TRADES 1200
#define N_PAY    400
#define N_ORDERS 100 /* plus the held one */
#define N_SECRET 30
#define N_SCALE  100000
#define TS0      INT64_C(1700000000000)

#define CARD        "4111 1111 1111 1111"
#define CARD_MASKED "**** **** **** 1111"

static rd_kafka_t *lrk, *srk; /* own the mock clusters */
static rd_kafka_mock_cluster_t *london, *singapore;
static char lbs[256], sbs[256];
static rd_kafka_t *prod; /* producer on london; also answers metadata */
static char rules_path[] = "/tmp/ferry-test-verify-XXXXXX";
static const char *ferryctl_path;

/* What the source holds, counted while producing (independently of the checker). */
static uint64_t n_drop_trades, n_drop_pay;
static uint64_t n_cards, n_changed_trades; /* trades records the rules mask or tokenise */

/* The simulated gateway's policy. */
static struct ferry_policy_snapshot snap;
static struct ferry_policy_rt *rt;
static struct ferry_policy_worker *pw;
static struct ferry_codec_ctx *cc;
static uint8_t *arena_mem, *buf, *dec, *scratch;
#define BUF_BYTES (16 << 20)

static rd_kafka_mock_cluster_t *
start_cluster(rd_kafka_t **rkp, int brokers, char *bs, size_t bslen)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	*rkp = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	assert_non_null(*rkp);
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(*rkp, brokers);
	assert_non_null(mc);
	snprintf(bs, bslen, "%s", rd_kafka_mock_cluster_bootstraps(mc));
	return mc;
}

static rd_kafka_t *
producer(const char *codec)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = { { "bootstrap.servers", lbs },
				{ "log_level", "3" },
				{ "linger.ms", "20" },
				{ "compression.codec", codec } };
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		assert_int_equal(
		    rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)),
		    RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	return rk;
}

static void
produce(rd_kafka_t *rk, const char *topic, int32_t p, const char *key, const char *val, size_t vlen,
	int64_t ts, const char *hname, const char *hval)
{
	rd_kafka_headers_t *h = NULL;
	if (hname != NULL) {
		h = rd_kafka_headers_new(1);
		rd_kafka_header_add(h, hname, -1, hval, -1);
	}
	rd_kafka_resp_err_t e;
	do {
		e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
				      RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_TIMESTAMP(ts),
				      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
	} while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
	assert_int_equal(e, 0);
}

static void
flush(rd_kafka_t *rk)
{
	assert_int_equal(rd_kafka_flush(rk, 30000), 0);
}

/* trades record i: what it carries decides what the policy does to it. */
static void
produce_trade(int i)
{
	char v[128], key[32], hv[64];
	const char *hname = NULL, *val = v, *k = key;
	size_t vlen;
	int64_t ts = TS0 + i;
	int32_t p = i % 2;

	snprintf(key, sizeof(key), "acct-%04d", i % 37);
	if (i == 11) {
		val = NULL; /* tombstone */
		vlen = 0;
	} else if (i == 13) {
		val = ""; /* empty, not null */
		vlen = 0;
		k = NULL;
	} else if (i % 100 == 50) {
		/* identical records: same key, value and timestamp (partition 0) */
		snprintf(key, sizeof(key), "same");
		vlen = (size_t)snprintf(v, sizeof(v), "identical record");
		ts = TS0;
	} else if (i % 50 == 7) {
		vlen = (size_t)snprintf(v, sizeof(v), "trade %d DROP-ME-%d", i, i);
		n_drop_trades++;
	} else if (i % 10 == 3) {
		vlen = (size_t)snprintf(v, sizeof(v), "trade %d card " CARD " qty 5", i);
		n_cards++;
		n_changed_trades++;
	} else if (i % 10 == 5) {
		vlen = (size_t)snprintf(v, sizeof(v),
					"trade %d iban GB82 WEST 1234 5698 7654 32 ok", i);
		n_changed_trades++;
	} else {
		vlen =
		    (size_t)snprintf(v, sizeof(v), "trade %d px %d.%02d", i, 100 + i % 50, i % 100);
	}
	if (i % 10 == 8) {
		n_changed_trades++;
		hname = "x-contact";
		snprintf(hv, sizeof(hv), "client%d@example.com", i);
	} else if (i % 7 == 0) {
		hname = "src";
		snprintf(hv, sizeof(hv), "london");
	}
	produce(prod, "trades", p, k, val, vlen, ts, hname, hv);
}

static void
write_rules(void)
{
	const char *data = getenv("FERRY_TEST_DATA");
	assert_non_null(data);
	int fd = mkstemp(rules_path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f,
		"version: 1\n"
		"default: permit\n"
		"tokenise_key_file: %s/rules-test.key\n"
		"topics:\n"
		"  deny: ['secret\\..*']\n"
		"rules:\n"
		"  - name: card\n"
		"    patterns: ['\\b\\d(?:[ -]?\\d){12,18}\\b']\n"
		"    where: [value]\n"
		"    validator: luhn\n"
		"    action: mask\n"
		"    mask: {char: '*', keep_last: 4}\n"
		"  - name: iban\n"
		"    patterns: ['\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]){11,30}\\b']\n"
		"    where: [value]\n"
		"    validator: iban\n"
		"    action: mask\n"
		"    mask: {char: '#', keep_last: 4}\n"
		"  - name: contact\n"
		"    patterns: "
		"['\\b[A-Za-z0-9._%%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}\\b']\n"
		"    where: [header:x-contact]\n"
		"    action: tokenise\n"
		"  - name: drop\n"
		"    patterns: ['DROP-ME-\\d+']\n"
		"    where: [value]\n"
		"    action: drop\n"
		"  - name: hold\n"
		"    patterns: ['HOLD-\\d{4}']\n"
		"    action: quarantine\n"
		"    topics: ['orders']\n",
		data);
	fclose(f);
}

static void
policy_setup(void)
{
	struct ferry_rules rs;
	char err[2048];
	int rc = ferry_rules_load_file(rules_path, &rs, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	rc = ferry_policy_compile(&rs, &snap, err, sizeof(err));
	ferry_rules_free(&rs);
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	rt = ferry_policy_rt_new(&snap, err, sizeof(err));
	assert_non_null(rt);
	pw = ferry_policy_worker_new(rt, NULL);
	assert_non_null(pw);
}

static int
setup(void **state)
{
	(void)state;
	london = start_cluster(&lrk, 3, lbs, sizeof(lbs));
	singapore = start_cluster(&srk, 1, sbs, sizeof(sbs));
	/* Leaders away from the first (bootstrap) broker: the checker must follow metadata. */
	assert_int_equal(rd_kafka_mock_topic_create(london, "trades", 2, 1), 0);
	assert_int_equal(rd_kafka_mock_partition_set_leader(london, "trades", 0, 2), 0);
	assert_int_equal(rd_kafka_mock_partition_set_leader(london, "trades", 1, 3), 0);
	assert_int_equal(rd_kafka_mock_topic_create(london, "payments", 1, 1), 0);
	assert_int_equal(rd_kafka_mock_partition_set_leader(london, "payments", 0, 3), 0);
	assert_int_equal(rd_kafka_mock_topic_create(london, "orders", 1, 1), 0);
	assert_int_equal(rd_kafka_mock_topic_create(london, "secret.ledger", 1, 1), 0);
	write_rules();
	policy_setup();
	cc = ferry_codec_ctx_new();
	arena_mem = malloc(BUF_BYTES);
	buf = malloc(BUF_BYTES);
	dec = malloc(BUF_BYTES);
	scratch = malloc(BUF_BYTES);
	assert_true(cc && arena_mem && buf && dec && scratch);

	prod = producer("none");
	for (int i = 0; i < N_TRADES; i++) {
		produce_trade(i);
		if (i % 100 == 99)
			flush(prod); /* several batches per partition, for the batch faults */
	}
	for (int i = 0; i < N_SECRET; i++) {
		char v[64];
		size_t n = (size_t)snprintf(v, sizeof(v), "ledger entry %d", i);
		produce(prod, "secret.ledger", 0, "gl", v, n, TS0 + i, NULL, NULL);
	}
	flush(prod);
	/* orders: the held record alone in its batch, so exactly one record is quarantined */
	for (int phase = 0; phase < 3; phase++) {
		for (int i = 0; i < (phase == 1 ? 1 : N_ORDERS / 2); i++) {
			char v[64];
			size_t n =
			    phase == 1
				? (size_t)snprintf(v, sizeof(v), "order HOLD-1234 review")
				: (size_t)snprintf(v, sizeof(v), "order %d", phase * 1000 + i);
			produce(prod, "orders", 0, "o", v, n, TS0 + phase * 1000 + i, NULL, NULL);
		}
		flush(prod);
	}
	rd_kafka_t *lz4 = producer("lz4");
	for (int i = 0; i < N_PAY; i++) {
		char v[128], key[32];
		size_t n;
		snprintf(key, sizeof(key), "pay-%d", i);
		if (i % 20 == 9) {
			n = (size_t)snprintf(v, sizeof(v), "payment %d DROP-ME-%d", i, i);
			n_drop_pay++;
		} else if (i % 4 == 0) {
			n = (size_t)snprintf(v, sizeof(v), "payment %d from card " CARD, i);
		} else {
			n = (size_t)snprintf(v, sizeof(v), "payment %d of %d.00 GBP", i, i * 3);
		}
		produce(lz4, "payments", 0, key, v, n, TS0 + i, NULL, NULL);
	}
	flush(lz4);
	rd_kafka_destroy(lz4);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(rules_path);
	ferry_policy_worker_free(pw);
	ferry_policy_rt_free(rt);
	ferry_policy_snapshot_free(&snap);
	ferry_codec_ctx_free(cc);
	free(arena_mem);
	free(buf);
	free(dec);
	free(scratch);
	rd_kafka_destroy(prod);
	rd_kafka_mock_cluster_destroy(london);
	rd_kafka_mock_cluster_destroy(singapore);
	rd_kafka_destroy(lrk);
	rd_kafka_destroy(srk);
	return 0;
}

/* ---- the simulated replicator ------------------------------------------------------------ */

enum fault {
	FAULT_NONE,
	FAULT_SKIP,   /* trades [0]: the 10th record forwarded is left out */
	FAULT_DUP,    /* trades [1]: the 3rd batch forwarded is produced twice */
	FAULT_UNMASK, /* trades [1]: the first masked card goes out unmasked */
	FAULT_LEAK,   /* secret.ledger is copied although denied */
	FAULT_SWAP,   /* trades [1]: the 2nd batch forwarded goes out after the 3rd */
};

struct sim {
	enum fault fault;
	struct ferry_kclient dst;
	uint64_t affected; /* records the fault touched */
	uint64_t forwarded;
	int batches;   /* forwarded in the current partition */
	uint64_t recs; /* records forwarded in the current partition */
	bool done;
	uint8_t held[1 << 20];
	size_t held_len;
};

static void
leader_hostport(const char *topic, int32_t p, char *hp, size_t cap)
{
	const rd_kafka_metadata_t *md;
	assert_int_equal(rd_kafka_metadata(prod, 1, NULL, &md, 5000), 0);
	int32_t id = -1;
	for (int t = 0; t < md->topic_cnt; t++)
		if (strcmp(md->topics[t].topic, topic) == 0)
			for (int i = 0; i < md->topics[t].partition_cnt; i++)
				if (md->topics[t].partitions[i].id == p)
					id = md->topics[t].partitions[i].leader;
	hp[0] = '\0';
	for (int b = 0; b < md->broker_cnt; b++)
		if (md->brokers[b].id == id)
			snprintf(hp, cap, "%s:%d", md->brokers[b].host, md->brokers[b].port);
	rd_kafka_metadata_destroy(md);
	assert_true(hp[0] != '\0');
}

static void
send_batch(struct sim *s, const char *remote, int32_t p, uint8_t *b, size_t len)
{
	char err[256];
	int64_t base;
	struct ferry_kafka_batch_rewrite rw = {
		.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_PRODUCER,
		.BaseOffset = 0,
		.ProducerId = -1,
		.ProducerEpoch = -1,
		.BaseSequence = -1,
	};
	assert_int_equal(ferry_kafka_batch_rewrite(b, len, &rw), 0);
	int rc = ferry_kclient_produce_batch(&s->dst, remote, p, ferry_span_make(b, len), -1, &base,
					     err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "produce %s [%d]: %s (%d)\n", remote, p, err, rc);
	assert_int_equal(rc, 0);
}

/* Re-encode batch 'in' record by record, leaving out record 'skip' (-1: none) and giving
 * record 'unmask' (-1: none) its card number back. Returns the new length (0: no record). */
static size_t
rebuild(const uint8_t *in, size_t len, int skip, int unmask, uint8_t *out, size_t cap)
{
	static struct ferry_kafka_record_in recs[4096];
	static struct ferry_kafka_header hdrs[4096];
	static char val[256];
	struct ferry_kafka_batch b;
	struct ferry_span rb;
	struct ferry_kafka_rec_iter ri;
	struct ferry_kafka_record r;
	size_t consumed, n = 0, nh = 0;
	int idx = 0;

	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(in, len), &b, &consumed), 0);
	assert_int_equal(ferry_kafka_batch_records(cc, &b, dec, BUF_BYTES, &rb), 0);
	ferry_kafka_rec_iter_init(&ri, rb, b.hdr.RecordsCount);
	while (ferry_kafka_rec_next(&ri, &r) == 1) {
		if (idx++ == skip)
			continue;
		struct ferry_kafka_record_in *ri_ = &recs[n++];
		ri_->Timestamp = b.hdr.BaseTimestamp + r.TimestampDelta;
		ri_->Key = r.Key;
		ri_->Value = r.Value;
		ri_->Headers = &hdrs[nh];
		ri_->n_headers = 0;
		struct ferry_kafka_hdr_iter hi;
		ferry_kafka_hdr_iter_init(&hi, &r);
		while (ferry_kafka_hdr_next(&hi, &hdrs[nh]) == 1) {
			nh++;
			ri_->n_headers++;
		}
		if (idx - 1 == unmask) {
			assert_true(r.Value.len < sizeof(val));
			memcpy(val, r.Value.p, r.Value.len);
			char *m = memmem(val, r.Value.len, CARD_MASKED, strlen(CARD_MASKED));
			assert_non_null(m);
			memcpy(m, CARD, strlen(CARD));
			ri_->Value = ferry_span_make(val, r.Value.len);
		}
	}
	if (n == 0)
		return 0;
	struct ferry_kafka_batch_args a = { .Attributes = (int16_t)ferry_kafka_batch_codec(&b.hdr),
					    .ProducerId = -1,
					    .ProducerEpoch = -1,
					    .BaseSequence = -1 };
	struct ferry_wr w;
	ferry_wr_init(&w, out, cap);
	assert_int_equal(ferry_kafka_batch_build(&w, &a, recs, n, cc, scratch, BUF_BYTES), 0);
	return w.len;
}

/* Index of the first record of batch 'in' whose value holds a masked card, or -1. */
static int
masked_card_index(const uint8_t *in, size_t len)
{
	struct ferry_kafka_batch b;
	struct ferry_span rb;
	struct ferry_kafka_rec_iter ri;
	struct ferry_kafka_record r;
	size_t consumed;
	int idx = 0;

	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(in, len), &b, &consumed), 0);
	assert_int_equal(ferry_kafka_batch_records(cc, &b, dec, BUF_BYTES, &rb), 0);
	ferry_kafka_rec_iter_init(&ri, rb, b.hdr.RecordsCount);
	for (; ferry_kafka_rec_next(&ri, &r) == 1; idx++)
		if (r.Value.p && memmem(r.Value.p, r.Value.len, CARD_MASKED, strlen(CARD_MASKED)))
			return idx;
	return -1;
}

/* One batch leaving the simulated gateway, with the scenario's fault applied. */
static void
forward(struct sim *s, const char *topic, const char *remote, int32_t p, const uint8_t *out,
	size_t len)
{
	bool trades = strcmp(topic, "trades") == 0;
	int32_t nrec = (int32_t)ferry_be32(out + 57);

	memcpy(buf, out, len);
	s->batches++;
	if (s->fault == FAULT_LEAK && strncmp(topic, "secret.", 7) == 0)
		s->affected += (uint64_t)nrec;
	if (trades && p == 0 && s->fault == FAULT_SKIP && !s->done &&
	    s->recs + (uint64_t)nrec > 9) {
		len = rebuild(out, len, (int)(9 - s->recs), -1, buf, BUF_BYTES);
		s->done = true;
		s->affected = 1;
	} else if (trades && p == 1 && s->fault == FAULT_UNMASK && !s->done) {
		int k = masked_card_index(out, len);
		if (k >= 0) {
			len = rebuild(out, len, -1, k, buf, BUF_BYTES);
			s->done = true;
			s->affected = 1;
		}
	}
	s->recs += (uint64_t)nrec;
	s->forwarded += (uint64_t)nrec;
	if (len == 0)
		return;
	if (trades && p == 1 && s->fault == FAULT_SWAP && s->batches == 2) {
		memcpy(s->held, buf, len); /* goes out after the next one */
		s->held_len = len;
		s->affected = (uint64_t)nrec;
		return;
	}
	send_batch(s, remote, p, buf, len);
	if (s->held_len) {
		send_batch(s, remote, p, s->held, s->held_len);
		s->held_len = 0;
	}
	if (trades && p == 1 && s->fault == FAULT_DUP && s->batches == 3) {
		memcpy(buf, out, len);
		send_batch(s, remote, p, buf, len);
		s->affected = (uint64_t)nrec;
	}
}

static void
replicate_topic(struct sim *s, const char *alias, const char *topic, int32_t parts)
{
	char remote[512], err[256], hp[300];
	bool denied = strncmp(topic, "secret.", 7) == 0;

	snprintf(remote, sizeof(remote), "%s.%s", alias, topic);
	if (denied && s->fault != FAULT_LEAK)
		return; /* the gateway never creates it */
	assert_int_equal(rd_kafka_mock_topic_create(singapore, remote, parts, 1), 0);
	for (int32_t p = 0; p < parts; p++) {
		struct ferry_kclient kc;
		int64_t offset = 0, hwm = 1;
		leader_hostport(topic, p, hp, sizeof(hp));
		assert_int_equal(
		    ferry_kclient_connect(&kc, hp, "test-sim", 10000, err, sizeof(err)), 0);
		s->batches = 0;
		s->recs = 0;
		while (offset < hwm) {
			struct ferry_kafka_fetch_resp_part *part;
			struct ferry_kafka_batch_iter it;
			struct ferry_kafka_batch b;
			struct ferry_arena a;
			ferry_arena_init(&a, arena_mem, BUF_BYTES);
			assert_int_equal(ferry_kclient_fetch_partition(&kc, topic, p, offset, 1,
								       1 << 20, 100, &a, &part, err,
								       sizeof(err)),
					 0);
			hwm = part->HighWatermark;
			ferry_kafka_batch_iter_init(&it, part->Records);
			while (ferry_kafka_batch_next(&it, &b) == 1) {
				struct ferry_policy_result res;
				int64_t last = ferry_kafka_batch_last_offset(&b.hdr);
				if (last < offset)
					continue;
				assert_int_equal(ferry_kafka_batch_validate(&b), 0);
				offset = last + 1;
				ferry_policy_apply(pw, rt, topic, strlen(topic), p, &b, &res);
				switch (res.kind) {
				case FERRY_POLICY_RES_DENIED:
					assert_true(denied);
					forward(s, topic, remote, p, b.bytes.p, b.bytes.len);
					break;
				case FERRY_POLICY_RES_QUARANTINED: break;
				case FERRY_POLICY_RES_UNCHANGED:
					forward(s, topic, remote, p, b.bytes.p, b.bytes.len);
					break;
				case FERRY_POLICY_RES_REWRITTEN:
					if (res.out_len > 0)
						forward(s, topic, remote, p, res.out, res.out_len);
					break;
				}
			}
		}
		ferry_kclient_close(&kc);
	}
}

static uint64_t
simulate(const char *alias, enum fault fault)
{
	static struct sim s;
	char err[256];
	memset(&s, 0, sizeof(s));
	s.fault = fault;
	assert_int_equal(ferry_kclient_connect(&s.dst, sbs, "test-sim", 10000, err, sizeof(err)),
			 0);
	replicate_topic(&s, alias, "trades", 2);
	replicate_topic(&s, alias, "payments", 1);
	replicate_topic(&s, alias, "orders", 1);
	replicate_topic(&s, alias, "secret.ledger", 1);
	ferry_kclient_close(&s.dst);
	if (fault != FAULT_NONE)
		assert_true(s.affected > 0);
	return s.affected;
}

/* ---- the checker ------------------------------------------------------------------------- */

static int
check(const char *alias, bool rules, bool at_least_once, struct ferry_verify_report *r)
{
	char err[1024];
	struct ferry_verify_conf c = {
		.source_bootstrap = lbs,
		.target_bootstrap = sbs,
		.source_alias = alias,
		.policy = FERRY_MM2_POLICY_DEFAULT,
		.rules_file = rules ? rules_path : NULL,
		.at_least_once = at_least_once,
		.timeout_ms = 10000,
	};
	int rc = ferry_verify_run(&c, r, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "verify: %s\n", err);
	ferry_verify_report_print(stderr, r, false);
	return rc;
}

static const struct ferry_verify_part *
part_of(const struct ferry_verify_report *r, const char *topic, int32_t p)
{
	for (size_t i = 0; i < r->n_parts; i++)
		if (strcmp(r->parts[i].topic, topic) == 0 && r->parts[i].partition == p)
			return &r->parts[i];
	fail_msg("no line for %s [%d]", topic, p);
	return NULL;
}

static uint64_t
expected_total(void)
{
	return (N_TRADES - n_drop_trades) + (N_PAY - n_drop_pay) + N_ORDERS;
}

/* The failure counters other than the ones a case is about are all zero. */
#define assert_zero_but(t, field_a, field_b)                                                       \
	do {                                                                                       \
		const struct ferry_verify_counts *_t = (t);                                        \
		struct ferry_verify_counts _z = *_t;                                               \
		_z.field_a = 0;                                                                    \
		_z.field_b = 0;                                                                    \
		assert_int_equal(_z.lost, 0);                                                      \
		assert_int_equal(_z.duplicates, 0);                                                \
		assert_int_equal(_z.out_of_order, 0);                                              \
		assert_int_equal(_z.unexpected, 0);                                                \
		assert_int_equal(_z.denied, 0);                                                    \
		assert_int_equal(_z.corrupt, 0);                                                   \
	} while (0)

/* A plain librdkafka read of one target partition: the card masked, nothing dropped left. */
static void
inspect_copy(const char *remote, int32_t p, int *masked, int *clear, int *dropped, int *tokenised)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", sbs, errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "group.id", "inspect", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, remote, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(rk, tp), 0);
	rd_kafka_topic_partition_list_destroy(tp);
	for (int idle = 0; idle < 100;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL) {
			idle++;
			continue;
		}
		bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
		if (!m->err && m->payload) {
			*masked +=
			    memmem(m->payload, m->len, CARD_MASKED, strlen(CARD_MASKED)) != NULL;
			*clear += memmem(m->payload, m->len, CARD, strlen(CARD)) != NULL;
			*dropped += memmem(m->payload, m->len, "DROP-ME", 7) != NULL;
			rd_kafka_headers_t *h;
			const void *v;
			size_t n;
			if (rd_kafka_message_headers(m, &h) == 0 &&
			    rd_kafka_header_get(h, 0, "x-contact", &v, &n) == 0) {
				/* same length, still an address shape, not the original */
				*tokenised += n > 0 && memchr(v, '@', n) != NULL &&
					      memmem(v, n, "@example.com", 12) == NULL;
			}
		}
		rd_kafka_message_destroy(m);
		if (eof)
			break;
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

/* (a) A correct copy passes with zeros; the same copy fails a check made without the rules. */
static void
test_correct(void **state)
{
	(void)state;
	struct ferry_verify_report r;
	simulate("a", FAULT_NONE);

	/* The copy itself, read without the checker. */
	int masked = 0, clear = 0, dropped = 0, tokenised = 0;
	inspect_copy("a.trades", 0, &masked, &clear, &dropped, &tokenised);
	inspect_copy("a.trades", 1, &masked, &clear, &dropped, &tokenised);
	assert_int_equal(masked, n_cards);
	assert_int_equal(clear, 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(tokenised, N_TRADES / 10);

	assert_int_equal(check("a", true, false, &r), 0);
	assert_true(r.pass);
	assert_int_equal(r.n_topics, 4);
	assert_zero_but(&r.total, source, source);
	assert_int_equal(r.total.expected, expected_total());
	assert_int_equal(r.total.found, expected_total());
	assert_int_equal(r.total.dropped, n_drop_trades + n_drop_pay);
	assert_int_equal(r.total.quarantined, 1);
	assert_int_equal(r.total.source, N_TRADES + N_PAY + N_ORDERS + 1 + N_SECRET);
	const struct ferry_verify_part *sp = part_of(&r, "secret.ledger", 0);
	assert_int_equal(sp->decision, FERRY_VERIFY_DENY);
	assert_false(sp->on_target);
	assert_int_equal(sp->c.source, N_SECRET);
	assert_string_equal(part_of(&r, "trades", 1)->remote, "a.trades");
	assert_int_equal(part_of(&r, "trades", 0)->decision, FERRY_VERIFY_INSPECT);
	ferry_verify_report_free(&r);

	/* Without the rules the checker expects the raw records: the masked ones are unexpected,
	 * the raw ones lost, and the denied topic (now permitted) is missing. */
	assert_int_equal(check("a", false, false, &r), 0);
	assert_false(r.pass);
	assert_int_equal(r.total.unexpected, n_changed_trades + N_PAY / 4);
	assert_int_equal(r.total.lost,
			 r.total.unexpected + n_drop_trades + n_drop_pay + 1 + N_SECRET);
	ferry_verify_report_free(&r);
}

/* (b) One record missing: lost = 1, on the partition it belongs to. */
static void
test_lost(void **state)
{
	(void)state;
	struct ferry_verify_report r;
	simulate("b", FAULT_SKIP);
	assert_int_equal(check("b", true, false, &r), 0);
	assert_false(r.pass);
	assert_int_equal(r.total.lost, 1);
	assert_zero_but(&r.total, lost, lost);
	assert_int_equal(part_of(&r, "trades", 0)->c.lost, 1);
	assert_true(part_of(&r, "trades", 0)->first_lost >= 0);
	assert_int_equal(r.total.found, expected_total() - 1);
	ferry_verify_report_free(&r);
}

/* (c) A batch produced twice: duplicates counted; fails exactly-once, passes at-least-once. */
static void
test_duplicates(void **state)
{
	(void)state;
	struct ferry_verify_report r;
	uint64_t n = simulate("c", FAULT_DUP);
	assert_int_equal(check("c", true, false, &r), 0);
	assert_false(r.pass);
	assert_int_equal(r.total.duplicates, n);
	assert_int_equal(part_of(&r, "trades", 1)->c.duplicates, n);
	assert_zero_but(&r.total, duplicates, duplicates);
	ferry_verify_report_free(&r);

	assert_int_equal(check("c", true, true, &r), 0);
	assert_true(r.pass);
	assert_int_equal(r.total.duplicates, n);
	assert_zero_but(&r.total, duplicates, duplicates);
	ferry_verify_report_free(&r);
}

/* (d) A card left unmasked: that record is unexpected, and its masked form lost. */
static void
test_unmasked(void **state)
{
	(void)state;
	struct ferry_verify_report r;
	simulate("d", FAULT_UNMASK);
	assert_int_equal(check("d", true, false, &r), 0);
	assert_false(r.pass);
	assert_int_equal(r.total.unexpected, 1);
	assert_int_equal(r.total.lost, 1);
	assert_zero_but(&r.total, unexpected, lost);
	assert_int_equal(part_of(&r, "trades", 1)->c.unexpected, 1);
	ferry_verify_report_free(&r);
}

/* (e) The denied topic copied: every one of its records is reported denied. */
static void
test_denied(void **state)
{
	(void)state;
	struct ferry_verify_report r;
	simulate("e", FAULT_LEAK);
	assert_int_equal(check("e", true, false, &r), 0);
	assert_false(r.pass);
	assert_int_equal(r.total.denied, N_SECRET);
	assert_zero_but(&r.total, denied, denied);
	const struct ferry_verify_part *sp = part_of(&r, "secret.ledger", 0);
	assert_true(sp->on_target);
	assert_int_equal(sp->c.denied, N_SECRET);
	ferry_verify_report_free(&r);
}

/* (f) Two batches swapped: the late one's records are out of order, nothing lost. */
static void
test_out_of_order(void **state)
{
	(void)state;
	struct ferry_verify_report r;
	uint64_t n = simulate("f", FAULT_SWAP);
	assert_int_equal(check("f", true, false, &r), 0);
	assert_false(r.pass);
	assert_int_equal(r.total.out_of_order, n);
	assert_zero_but(&r.total, out_of_order, out_of_order);
	ferry_verify_report_free(&r);
}

/* `ferryctl verify`: exit status and output. */
static int
run_cli(const char *const *args, const char *out_path)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		execv(ferryctl_path, (char *const *)args);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *
slurp(const char *path)
{
	static char text[1 << 16];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void
test_cli(void **state)
{
	(void)state;
	char out[] = "/tmp/ferry-test-verify-out-XXXXXX";
	int fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	if (ferryctl_path == NULL)
		skip();

	const char *ok[] = { ferryctl_path,    "verify", "--source", lbs,        "--target", sbs,
			     "--source-alias", "a",      "--rules",  rules_path, "--json",   NULL };
	assert_int_equal(run_cli(ok, out), 0);
	char *t = slurp(out);
	fprintf(stderr, "%s", t);
	assert_non_null(strstr(t, "{\"pass\":true,\"mode\":\"exactly-once\""));
	assert_non_null(strstr(t, "\"lost\":0,\"duplicates\":0,\"out_of_order\":0,\"unexpected\":0,"
				  "\"denied\":0"));
	assert_ptr_equal(strchr(t, '\n'), t + strlen(t) - 1); /* one object, one line */

	const char *lost[] = { ferryctl_path, "verify",         "--source", lbs,       "--target",
			       sbs,           "--source-alias", "b",        "--rules", rules_path,
			       "--topic",     "trades",         NULL };
	assert_int_equal(run_cli(lost, out), 1);
	t = slurp(out);
	fprintf(stderr, "%s", t);
	assert_non_null(strstr(t, "trades [0] -> b.trades inspect:"));
	assert_non_null(strstr(t, " lost 1 "));
	assert_non_null(strstr(t, ": FAIL\n"));
	assert_null(strstr(t, "payments")); /* --topic limits the check */

	const char *dups[] = { ferryctl_path, "verify",   "--source",        lbs,
			       "--target",    sbs,        "--source-alias",  "c",
			       "--rules",     rules_path, "--at-least-once", NULL };
	assert_int_equal(run_cli(dups, out), 0);
	dups[10] = NULL; /* the same, exactly-once */
	assert_int_equal(run_cli(dups, out), 1);

	/* --key overrides the rules file's key: the right one passes, another one makes every
	 * tokenised header unexpected. */
	char key_path[512], other_key[] = "/tmp/ferry-test-verify-key-XXXXXX";
	snprintf(key_path, sizeof(key_path), "%s/rules-test.key", getenv("FERRY_TEST_DATA"));
	fd = mkstemp(other_key);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "another-tokenisation-key-0123456789", 35), 35);
	close(fd);
	const char *key[] = { ferryctl_path, "verify",         "--source", lbs,       "--target",
			      sbs,           "--source-alias", "a",        "--rules", rules_path,
			      "--key",       key_path,         "--topic",  "trades",  NULL };
	assert_int_equal(run_cli(key, out), 0);
	key[11] = other_key;
	assert_int_equal(run_cli(key, out), 1);
	t = slurp(out);
	fprintf(stderr, "%s", t);
	assert_non_null(strstr(t, "trades [0] -> a.trades inspect: source 600 expected 600 "
				  "(dropped 0, quarantined 0) found 600 lost 120 duplicates 0 "
				  "out_of_order 0 unexpected 120 FAIL"));
	unlink(other_key);

	/* Identity policy: the remote name is the source name (absent on this target). */
	const char *identity[] = { ferryctl_path, "verify",   "--source", lbs,      "--target", sbs,
				   "--policy",    "identity", "--topic",  "orders", NULL };
	assert_int_equal(run_cli(identity, out), 1);
	t = slurp(out);
	fprintf(stderr, "%s", t);
	assert_non_null(strstr(t, "orders [0] -> orders (absent) permit: source 101 expected 101"));

	const char *usage[] = { ferryctl_path, "verify", "--source", lbs, NULL };
	assert_int_equal(run_cli(usage, out), 2);
	const char *down[] = { ferryctl_path, "verify",         "--source", lbs,         "--target",
			       "127.0.0.1:1", "--source-alias", "a",        "--timeout", "2000",
			       NULL };
	assert_int_equal(run_cli(down, out), 2);
	const char *badrules[] = {
		ferryctl_path, "verify",         "--source", lbs,       "--target",
		sbs,           "--source-alias", "a",        "--rules", "/nonexistent.yaml",
		NULL
	};
	assert_int_equal(run_cli(badrules, out), 2);
	unlink(out);
}

/* 100k records (4 partitions, a tenth with cards) through a correct copy, timed. */
static void
test_scale(void **state)
{
	(void)state;
	struct ferry_verify_report r;
	char err[1024];
	assert_int_equal(rd_kafka_mock_topic_create(london, "bulk", 4, 1), 0);
	for (int i = 0; i < N_SCALE; i++) {
		char v[160], key[32];
		size_t n;
		snprintf(key, sizeof(key), "k%d", i % 1000);
		if (i % 10 == 0)
			n = (size_t)snprintf(v, sizeof(v), "bulk %d card " CARD " %064d", i, 0);
		else
			n = (size_t)snprintf(v, sizeof(v), "bulk %d plain row %080d", i, i);
		produce(prod, "bulk", i % 4, key, v, n, TS0 + i, NULL, NULL);
	}
	flush(prod);
	struct sim *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	assert_int_equal(ferry_kclient_connect(&s->dst, sbs, "test-sim", 10000, err, sizeof(err)),
			 0);
	replicate_topic(s, "s", "bulk", 4);
	ferry_kclient_close(&s->dst);
	free(s);

	const char *topics[] = { "bulk" };
	struct ferry_verify_conf c = {
		.source_bootstrap = lbs,
		.target_bootstrap = sbs,
		.source_alias = "s",
		.rules_file = rules_path,
		.topics = topics,
		.n_topics = 1,
		.timeout_ms = 10000,
	};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = ferry_verify_run(&c, &r, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc != 0)
		fprintf(stderr, "verify: %s\n", err);
	assert_int_equal(rc, 0);
	ferry_verify_report_print(stderr, &r, false);
	fprintf(stderr, "verify: %" PRIu64 " records checked in %.2f s\n", r.total.found,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_true(r.pass);
	assert_int_equal(r.total.expected, N_SCALE);
	assert_int_equal(r.total.found, N_SCALE);
	ferry_verify_report_free(&r);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		cmocka_unit_test(test_correct),    cmocka_unit_test(test_lost),
		cmocka_unit_test(test_duplicates), cmocka_unit_test(test_unmasked),
		cmocka_unit_test(test_denied),     cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_cli),
	};
	const struct CMUnitTest scale[] = { cmocka_unit_test(test_scale) };

	if (argc > 2)
		ferryctl_path = argv[2];
	if (argc > 1 && strcmp(argv[1], "scale") == 0)
		return cmocka_run_group_tests_name("verify_scale", scale, setup, teardown);
	if (argc > 1 && strcmp(argv[1], "cases") != 0) {
		fprintf(stderr, "unknown scenario %s (cases, scale)\n", argv[1]);
		return 2;
	}
	return cmocka_run_group_tests_name("verify_cases", cases, setup, teardown);
}
