/*
 * test_msgs.c - framing and the data-path bodies (ApiVersions, Fetch v4-12,
 * Produce v3-9) and the SASL bodies (SaslHandshake v0-1, SaslAuthenticate v0-2):
 * golden frames from kafka-wire-facts.md §1.6 / §7.5 and hand-written ones, round
 * trips at every version, truncation at every byte offset, oversized counts,
 * bad lengths, too many tags, trailing bytes, correlation ids, negotiation.
 */
#include "testutil.h"

#include "ferry/kafka.h"

static uint8_t arena_mem[1 << 20];

static struct ferry_arena
arena(void)
{
	struct ferry_arena a;
	ferry_arena_init(&a, arena_mem, sizeof(arena_mem));
	return a;
}

/* §7.4 heartbeat batch, the payload of the §7.5 frames */
static const char *HB =
	"00 00 00 00 00 00 00 00 00 00 00 53 ff ff ff ff 02 e8 fe 37 81 00 00 00 00 00 00"
	"00 00 01 8b cf e5 68 00 00 00 01 8b cf e5 68 00 ff ff ff ff ff ff ff ff ff ff"
	"ff ff ff ff 00 00 00 01 42 00 00 00 22 00 07 70 72 69 6d 61 72 79 00 06 62 61 63"
	"6b 75 70 14 00 00 00 00 01 8b cf e5 68 00 00";

static void
produce_golden(int16_t ver, int32_t corr, const char *prefix_hex, const char *suffix_hex)
{
	uint8_t batch[128], want[512], out[512];
	size_t blen = hex2bin(HB, batch, sizeof(batch));
	size_t n = hex2bin(prefix_hex, want, sizeof(want));
	memcpy(want + n, batch, blen);
	n += blen;
	n += hex2bin(suffix_hex, want + n, sizeof(want) - n);

	struct ferry_kafka_produce_req_part part = { 0, ferry_span_make(batch, blen) };
	struct ferry_kafka_produce_req_topic topic = { ferry_span_str("heartbeats"), 1, &part };
	struct ferry_kafka_produce_req req = {
		.TransactionalId = { NULL, 0 }, .Acks = -1, .TimeoutMs = 5000,
		.n_topics = 1, .TopicData = &topic,
	};
	struct ferry_kafka_reqhdr h = { FERRY_KAFKA_PRODUCE, ver, corr, ferry_span_str("kfacts") };
	struct ferry_wr w;
	ferry_wr_init(&w, out, sizeof(out));
	assert_int_equal(ferry_kafka_request_encode(&w, &h, &req), 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(out, want, n);

	/* and back */
	struct ferry_span body;
	size_t used;
	assert_int_equal(ferry_kafka_frame_split(ferry_span_make(out, w.len), 1 << 20, &body, &used), 0);
	struct ferry_arena a = arena();
	struct ferry_kafka_reqhdr h2;
	struct ferry_kafka_produce_req r2;
	char err[256];
	assert_int_equal(ferry_kafka_request_decode(body, &a, &h2, &r2, err, sizeof(err)), 0);
	assert_int_equal(h2.CorrelationId, corr);
	assert_true(ferry_span_eq(h2.ClientId, ferry_span_str("kfacts")));
	assert_null(r2.TransactionalId.p);
	assert_int_equal(r2.Acks, -1);
	assert_int_equal(r2.n_topics, 1);
	assert_true(ferry_span_eq(r2.TopicData[0].Name, ferry_span_str("heartbeats")));
	assert_int_equal(r2.TopicData[0].PartitionData[0].Records.len, blen);
}

static void
test_produce_golden(void **state)
{
	(void)state;
	/* §7.5 Produce v7: size 0x93, key 0, ver 7, corr 700 */
	produce_golden(7, 700,
		       "00 00 00 93 00 00 00 07 00 00 02 bc 00 06 6b 66 61 63 74 73 ff ff ff ff"
		       "00 00 13 88 00 00 00 01 00 0a 68 65 61 72 74 62 65 61 74 73 00 00 00 01"
		       "00 00 00 00 00 00 00 5f",
		       "");
	/* §7.5 Produce v9 (flexible): header tags, compact everything */
	produce_golden(9, 702,
		       "00 00 00 8c 00 00 00 09 00 00 02 be 00 06 6b 66 61 63 74 73 00 00 ff ff"
		       "00 00 13 88 02 0b 68 65 61 72 74 62 65 61 74 73 02 00 00 00 00 60",
		       "00 00 00");
}

static void
test_fetch_v12_golden(void **state)
{
	(void)state;
	uint8_t batch[128], want[512], out[512];
	size_t blen = hex2bin(HB, batch, sizeof(batch));
	/* §7.5 Fetch v12 response: hw 1, lso 1, log start 0 */
	size_t n = hex2bin("00 00 00 a2 00 00 02 bf 00 00 00 00 00 00 00 00 00 00 00 02"
			   "0b 68 65 61 72 74 62 65 61 74 73 02 00 00 00 00 00 00"
			   "00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00"
			   "00 ff ff ff ff 60",
			   want, sizeof(want));
	memcpy(want + n, batch, blen);
	n += blen;
	n += hex2bin("00 00 00", want + n, sizeof(want) - n);

	struct ferry_kafka_fetch_resp_part part = {
		.PartitionIndex = 0, .HighWatermark = 1, .LastStableOffset = 1,
		.LogStartOffset = 0, .n_aborted = -1, .PreferredReadReplica = -1,
		.Records = ferry_span_make(batch, blen),
	};
	struct ferry_kafka_fetch_resp_topic topic = { ferry_span_str("heartbeats"), 1, &part };
	struct ferry_kafka_fetch_resp resp = { .n_topics = 1, .Responses = &topic };
	struct ferry_wr w;
	ferry_wr_init(&w, out, sizeof(out));
	assert_int_equal(ferry_kafka_response_encode(&w, FERRY_KAFKA_FETCH, 12, 703, &resp), 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(out, want, n);

	struct ferry_span body;
	size_t used;
	assert_int_equal(ferry_kafka_frame_split(ferry_span_make(want, n), 1 << 20, &body, &used), 0);
	struct ferry_arena a = arena();
	struct ferry_kafka_fetch_resp r;
	char err[256];
	assert_int_equal(ferry_kafka_response_decode(body, FERRY_KAFKA_FETCH, 12, 703, &a, &r, err,
						     sizeof(err)), 0);
	assert_int_equal(r.n_topics, 1);
	struct ferry_kafka_fetch_resp_part *p = &r.Responses[0].Partitions[0];
	assert_int_equal(p->n_aborted, -1);
	assert_int_equal(p->Records.len, blen);
	assert_memory_equal(p->Records.p, batch, blen);
	/* the batch inside decodes */
	struct ferry_kafka_batch_iter it;
	struct ferry_kafka_batch b;
	ferry_kafka_batch_iter_init(&it, p->Records);
	assert_int_equal(ferry_kafka_batch_next(&it, &b), 1);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0);
	/* wrong correlation id */
	a = arena();
	assert_int_equal(ferry_kafka_response_decode(body, FERRY_KAFKA_FETCH, 12, 1, &a, &r, err,
						     sizeof(err)), FERRY_ERR__CORRELATION);
}

static void
test_api_versions_mock_quirk(void **state)
{
	(void)state;
	/* §1.6: the 2.0.2 mock's malformed answer to ApiVersions v3 */
	uint8_t buf[64];
	size_t n = hex2bin("00 00 00 11 00 00 00 02 00 23 01 00 12 00 00 00 02 00 00 00 00", buf,
			   sizeof(buf));
	struct ferry_span body;
	size_t used;
	assert_int_equal(ferry_kafka_frame_split(ferry_span_make(buf, n), 1 << 20, &body, &used), 0);
	struct ferry_arena a = arena();
	struct ferry_kafka_api_versions_resp r;
	char err[256];
	assert_int_equal(ferry_kafka_response_decode(body, FERRY_KAFKA_API_VERSIONS, 3, 2, &a, &r,
						     err, sizeof(err)), 0);
	assert_int_equal(r.ErrorCode, FERRY_ERR_UNSUPPORTED_VERSION);

	/* A proper v0-layout UNSUPPORTED_VERSION answer lists the broker's range. */
	n = hex2bin("00 23 00 00 00 01 00 12 00 00 00 02", buf, sizeof(buf));
	struct ferry_rd rd;
	ferry_rd_init(&rd, buf, n);
	a = arena();
	assert_int_equal(ferry_kafka_api_versions_resp_decode(&rd, 3, &a, &r), 0);
	assert_int_equal(r.n_api_keys, 1);
	assert_int_equal(r.ApiKeys[0].MaxVersion, 2);
}

static void
test_negotiation(void **state)
{
	(void)state;
	/* what the 2.0.2 mock advertises (§1.5) */
	struct ferry_kafka_api_version_range mock[] = {
		{ 0, 0, 7 }, { 1, 0, 11 }, { 2, 0, 5 }, { 3, 0, 2 }, { 18, 0, 2 }, { 22, 0, 4 },
		{ 24, 0, 1 }, { 26, 0, 1 },
	};
	struct ferry_kafka_api_versions_resp r = { 0, 8, mock, 0 };
	assert_int_equal(ferry_kafka_pick_version(&r, FERRY_KAFKA_PRODUCE), 7);
	assert_int_equal(ferry_kafka_pick_version(&r, FERRY_KAFKA_FETCH), 11);
	assert_int_equal(ferry_kafka_pick_version(&r, FERRY_KAFKA_METADATA), 2);
	assert_int_equal(ferry_kafka_pick_version(&r, FERRY_KAFKA_API_VERSIONS), 2);
	assert_int_equal(ferry_kafka_pick_version(&r, FERRY_KAFKA_INIT_PRODUCER_ID), 4);
	/* a modern broker: ferry's ceilings win */
	struct ferry_kafka_api_version_range modern[] = { { 0, 3, 11 }, { 1, 4, 17 } };
	struct ferry_kafka_api_versions_resp m = { 0, 2, modern, 0 };
	assert_int_equal(ferry_kafka_pick_version(&m, FERRY_KAFKA_PRODUCE), 9);
	assert_int_equal(ferry_kafka_pick_version(&m, FERRY_KAFKA_FETCH), 12);
	/* Produce 0-2 only (a 4.0 broker lies about these, KAFKA-18659): refuse */
	struct ferry_kafka_api_version_range old[] = { { 0, 0, 2 } };
	struct ferry_kafka_api_versions_resp o = { 0, 1, old, 0 };
	assert_int_equal(ferry_kafka_pick_version(&o, FERRY_KAFKA_PRODUCE),
			 FERRY_ERR__NO_COMMON_VERSION);
	assert_int_equal(ferry_kafka_pick_version(&o, FERRY_KAFKA_FETCH),
			 FERRY_ERR__NO_COMMON_VERSION);
	assert_int_equal(ferry_kafka_pick_version(&o, 99), FERRY_ERR__BAD_API);
	assert_string_equal(ferry_kafka_api_name(1), "Fetch");
	assert_string_equal(ferry_kafka_api_name(10), "FindCoordinator");
	assert_true(ferry_kafka_api_is_flexible(FERRY_KAFKA_FETCH, 12));
	assert_false(ferry_kafka_api_is_flexible(FERRY_KAFKA_FETCH, 11));
}

/* A populated Fetch request and response exercising every optional field. */
static struct ferry_kafka_fetch_req_part freq_parts[2] = {
	{ 0, 5, 1000, 4, 10, 1 << 20 },
	{ 3, 5, 2000, 4, 20, 1 << 20 },
};
static struct ferry_kafka_fetch_req_topic freq_topics[1] = { { { (const uint8_t *)"orders", 6 }, 2,
								  freq_parts } };
static int32_t forgotten_parts[2] = { 7, 9 };
static struct ferry_kafka_fetch_forgotten freq_forgotten[1] = {
	{ { (const uint8_t *)"old", 3 }, 2, forgotten_parts }
};

static void
fill_fetch_req(struct ferry_kafka_fetch_req *m, int16_t ver)
{
	memset(m, 0, sizeof(*m));
	m->ReplicaId = -1;
	m->MaxWaitMs = 500;
	m->MinBytes = 1;
	m->MaxBytes = 52428800;
	m->IsolationLevel = 1;
	m->SessionId = ver >= 7 ? 0 : 0;
	m->SessionEpoch = -1;
	m->n_topics = 1;
	m->Topics = freq_topics;
	m->n_forgotten = ver >= 7 ? 1 : 0;
	m->ForgottenTopicsData = freq_forgotten;
	m->RackId = ferry_span_str(ver >= 11 ? "rack-a" : "");
	m->ClusterId = ver >= 12 ? ferry_span_str("cluster-x") : ferry_span_make(NULL, 0);
}

static struct ferry_kafka_aborted_txn aborted[2] = { { 42, 100 }, { 43, 150 } };

static void
fill_fetch_resp(struct ferry_kafka_fetch_resp *m, struct ferry_kafka_fetch_resp_topic *t,
		struct ferry_kafka_fetch_resp_part *p, const uint8_t *batch, size_t blen,
		int16_t ver)
{
	memset(p, 0, 2 * sizeof(*p));
	p[0].PartitionIndex = 0;
	p[0].HighWatermark = 500;
	p[0].LastStableOffset = 490;
	p[0].LogStartOffset = ver >= 5 ? 7 : -1;
	p[0].n_aborted = 2;
	p[0].AbortedTransactions = aborted;
	p[0].PreferredReadReplica = ver >= 11 ? 2 : -1;
	p[0].Records = ferry_span_make(batch, blen);
	if (ver >= 12) {
		p[0].has_CurrentLeader = true;
		p[0].CurrentLeader_LeaderId = 3;
		p[0].CurrentLeader_LeaderEpoch = 9;
		p[0].has_DivergingEpoch = true;
		p[0].DivergingEpoch_Epoch = 4;
		p[0].DivergingEpoch_EndOffset = 77;
	}
	p[1].PartitionIndex = 1;
	p[1].ErrorCode = FERRY_ERR_NOT_LEADER_OR_FOLLOWER;
	p[1].HighWatermark = -1;
	p[1].LastStableOffset = -1;
	p[1].LogStartOffset = -1;
	p[1].n_aborted = -1;
	p[1].PreferredReadReplica = -1;
	p[1].Records = ferry_span_make(NULL, 0);
	t->Topic = ferry_span_str("orders");
	t->n_partitions = 2;
	t->Partitions = p;
	memset(m, 0, sizeof(*m));
	m->ThrottleTimeMs = 3;
	m->ErrorCode = 0;
	m->SessionId = ver >= 7 ? 0 : 0;
	m->n_topics = 1;
	m->Responses = t;
}

/* Decode every strict prefix of a body: each must fail, none may crash. */
static void
all_prefixes_fail(int16_t api, int16_t ver, bool response, const uint8_t *body, size_t n)
{
	const struct ferry_kafka_api_info *info = ferry_kafka_api_get(api);
	static uint64_t msg[512];
	for (size_t cut = 0; cut < n; cut++) {
		struct ferry_rd rd;
		struct ferry_arena a = arena();
		ferry_rd_init(&rd, body, cut);
		int rc = response ? info->resp_decode(&rd, ver, &a, msg)
				  : info->req_decode(&rd, ver, &a, msg);
		if (rc == 0 && ferry_rd_left(&rd) == 0) {
			/* only legal if the tail was a trailing empty part, which never
			 * happens for these messages: every prefix loses a field */
			fail_msg("api %d v%d %s: prefix %zu of %zu decoded", api, ver,
				 response ? "resp" : "req", cut, n);
		}
		assert_true(rc < 0);
		assert_true(rd.err_off <= cut);
	}
}

static void
test_fetch_all_versions(void **state)
{
	(void)state;
	uint8_t batch[128], out[4096];
	size_t blen = hex2bin(HB, batch, sizeof(batch));
	for (int16_t ver = 4; ver <= 12; ver++) {
		/* request */
		struct ferry_kafka_fetch_req req, r2;
		fill_fetch_req(&req, ver);
		struct ferry_wr w;
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_fetch_req_encode(&w, ver, &req), 0);
		struct ferry_rd rd;
		ferry_rd_init(&rd, out, w.len);
		struct ferry_arena a = arena();
		assert_int_equal(ferry_kafka_fetch_req_decode(&rd, ver, &a, &r2), 0);
		assert_int_equal(ferry_rd_left(&rd), 0);
		assert_int_equal(r2.MaxBytes, req.MaxBytes);
		assert_int_equal(r2.IsolationLevel, 1);
		assert_int_equal(r2.Topics[0].n_partitions, 2);
		assert_true(r2.Topics[0].Partitions[1].FetchOffset == 2000);
		assert_int_equal(r2.Topics[0].Partitions[1].PartitionMaxBytes, 1 << 20);
		assert_int_equal(r2.Topics[0].Partitions[1].CurrentLeaderEpoch, ver >= 9 ? 5 : -1);
		assert_true(r2.Topics[0].Partitions[1].LogStartOffset == (ver >= 5 ? 20 : -1));
		assert_int_equal(r2.Topics[0].Partitions[1].LastFetchedEpoch, ver >= 12 ? 4 : -1);
		assert_int_equal(r2.n_forgotten, ver >= 7 ? 1 : 0);
		if (ver >= 7)
			assert_int_equal(r2.ForgottenTopicsData[0].Partitions[1], 9);
		if (ver >= 11)
			assert_true(ferry_span_eq(r2.RackId, ferry_span_str("rack-a")));
		if (ver >= 12)
			assert_true(ferry_span_eq(r2.ClusterId, ferry_span_str("cluster-x")));
		/* re-encoding gives the same bytes */
		uint8_t again[4096];
		struct ferry_wr w2;
		ferry_wr_init(&w2, again, sizeof(again));
		assert_int_equal(ferry_kafka_fetch_req_encode(&w2, ver, &r2), 0);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(again, out, w.len);
		all_prefixes_fail(FERRY_KAFKA_FETCH, ver, false, out, w.len);

		/* response */
		struct ferry_kafka_fetch_resp resp, p2;
		struct ferry_kafka_fetch_resp_topic t;
		struct ferry_kafka_fetch_resp_part parts[2];
		fill_fetch_resp(&resp, &t, parts, batch, blen, ver);
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_fetch_resp_encode(&w, ver, &resp), 0);
		ferry_rd_init(&rd, out, w.len);
		a = arena();
		assert_int_equal(ferry_kafka_fetch_resp_decode(&rd, ver, &a, &p2), 0);
		assert_int_equal(ferry_rd_left(&rd), 0);
		struct ferry_kafka_fetch_resp_part *q = p2.Responses[0].Partitions;
		assert_int_equal(q[0].n_aborted, 2);
		assert_true(q[0].AbortedTransactions[1].FirstOffset == 150);
		assert_true(q[0].LogStartOffset == (ver >= 5 ? 7 : -1));
		assert_int_equal(q[0].PreferredReadReplica, ver >= 11 ? 2 : -1);
		assert_int_equal(q[0].Records.len, blen);
		assert_int_equal(q[0].has_CurrentLeader, ver >= 12);
		if (ver >= 12) {
			assert_int_equal(q[0].CurrentLeader_LeaderEpoch, 9);
			assert_true(q[0].DivergingEpoch_EndOffset == 77);
		}
		assert_int_equal(q[1].ErrorCode, FERRY_ERR_NOT_LEADER_OR_FOLLOWER);
		assert_null(q[1].Records.p);
		assert_int_equal(q[1].n_aborted, -1);
		ferry_wr_init(&w2, again, sizeof(again));
		assert_int_equal(ferry_kafka_fetch_resp_encode(&w2, ver, &p2), 0);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(again, out, w.len);
		all_prefixes_fail(FERRY_KAFKA_FETCH, ver, true, out, w.len);
	}
	struct ferry_kafka_fetch_req req;
	struct ferry_wr w;
	fill_fetch_req(&req, 4);
	ferry_wr_init(&w, out, sizeof(out));
	assert_int_equal(ferry_kafka_fetch_req_encode(&w, 3, &req), FERRY_ERR__UNSUPPORTED_VERSION);
	assert_int_equal(ferry_kafka_fetch_req_encode(&w, 13, &req), FERRY_ERR__UNSUPPORTED_VERSION);
	ferry_wr_init(&w, out, 20);
	assert_int_equal(ferry_kafka_fetch_req_encode(&w, 11, &req), FERRY_ERR__NOSPACE);
}

static void
test_produce_all_versions(void **state)
{
	(void)state;
	uint8_t batch[128], out[4096], again[4096];
	size_t blen = hex2bin(HB, batch, sizeof(batch));
	struct ferry_kafka_produce_req_part parts[2] = { { 0, ferry_span_make(batch, blen) },
							 { 5, ferry_span_make(batch, blen) } };
	struct ferry_kafka_produce_req_topic topic = { ferry_span_str("london.trades"), 2, parts };
	struct ferry_kafka_produce_req req = { ferry_span_str("ferry-txn-1"), -1, 30000, 1, &topic };
	struct ferry_kafka_produce_record_error rerr = { 0, ferry_span_str("bad record") };
	struct ferry_kafka_produce_resp_part rparts[2] = {
		{ 0, 0, 1480, -1, 12, 0, NULL, { NULL, 0 } },
		{ 5, FERRY_ERR_INVALID_RECORD, -1, -1, -1, 1, &rerr, { (const uint8_t *)"nope", 4 } },
	};
	struct ferry_kafka_produce_resp_topic rtopic = { ferry_span_str("london.trades"), 2, rparts };
	struct ferry_kafka_produce_resp resp = { 1, &rtopic, 17 };

	for (int16_t ver = 3; ver <= 9; ver++) {
		struct ferry_wr w, w2;
		struct ferry_rd rd;
		struct ferry_arena a = arena();
		struct ferry_kafka_produce_req r2;
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_produce_req_encode(&w, ver, &req), 0);
		ferry_rd_init(&rd, out, w.len);
		assert_int_equal(ferry_kafka_produce_req_decode(&rd, ver, &a, &r2), 0);
		assert_int_equal(ferry_rd_left(&rd), 0);
		assert_true(ferry_span_eq(r2.TransactionalId, req.TransactionalId));
		assert_int_equal(r2.TopicData[0].PartitionData[1].Index, 5);
		ferry_wr_init(&w2, again, sizeof(again));
		assert_int_equal(ferry_kafka_produce_req_encode(&w2, ver, &r2), 0);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(again, out, w.len);
		all_prefixes_fail(FERRY_KAFKA_PRODUCE, ver, false, out, w.len);

		struct ferry_kafka_produce_resp p2;
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_produce_resp_encode(&w, ver, &resp), 0);
		ferry_rd_init(&rd, out, w.len);
		a = arena();
		assert_int_equal(ferry_kafka_produce_resp_decode(&rd, ver, &a, &p2), 0);
		assert_int_equal(ferry_rd_left(&rd), 0);
		assert_int_equal(p2.ThrottleTimeMs, 17);
		struct ferry_kafka_produce_resp_part *q = p2.Responses[0].PartitionResponses;
		assert_true(q[0].BaseOffset == 1480);
		assert_true(q[0].LogStartOffset == (ver >= 5 ? 12 : -1));
		assert_int_equal(q[1].ErrorCode, FERRY_ERR_INVALID_RECORD);
		assert_int_equal(q[1].n_record_errors, ver >= 8 ? 1 : 0);
		if (ver >= 8) {
			assert_true(ferry_span_eq(q[1].RecordErrors[0].BatchIndexErrorMessage,
						  ferry_span_str("bad record")));
			assert_true(ferry_span_eq(q[1].ErrorMessage, ferry_span_str("nope")));
		}
		all_prefixes_fail(FERRY_KAFKA_PRODUCE, ver, true, out, w.len);
	}
}

static void
test_api_versions_all(void **state)
{
	(void)state;
	struct ferry_kafka_api_version_range keys[3] = { { 0, 3, 9 }, { 1, 4, 12 }, { 18, 0, 3 } };
	struct ferry_kafka_api_versions_resp resp = { 0, 3, keys, 5 };
	struct ferry_kafka_api_versions_req req = { ferry_span_str("ferry"), ferry_span_str("0.1.0") };
	uint8_t out[512];
	for (int16_t ver = 0; ver <= 3; ver++) {
		struct ferry_wr w;
		struct ferry_rd rd;
		struct ferry_arena a = arena();
		struct ferry_kafka_api_versions_resp r;
		struct ferry_kafka_api_versions_req q;
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_api_versions_req_encode(&w, ver, &req), 0);
		ferry_rd_init(&rd, out, w.len);
		assert_int_equal(ferry_kafka_api_versions_req_decode(&rd, ver, &a, &q), 0);
		assert_int_equal(ferry_rd_left(&rd), 0);
		if (ver >= 3)
			assert_true(ferry_span_eq(q.ClientSoftwareName, req.ClientSoftwareName));
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_api_versions_resp_encode(&w, ver, &resp), 0);
		ferry_rd_init(&rd, out, w.len);
		assert_int_equal(ferry_kafka_api_versions_resp_decode(&rd, ver, &a, &r), 0);
		assert_int_equal(ferry_rd_left(&rd), 0);
		assert_int_equal(r.n_api_keys, 3);
		assert_int_equal(r.ApiKeys[1].MaxVersion, 12);
		assert_int_equal(r.ThrottleTimeMs, ver >= 1 ? 5 : 0);
		all_prefixes_fail(FERRY_KAFKA_API_VERSIONS, ver, true, out, w.len);
	}
}

static void
test_frames(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct ferry_span body;
	size_t used;
	size_t n = hex2bin("00 00 00 05 01 02 03", buf, sizeof(buf));
	assert_int_equal(ferry_kafka_frame_split(ferry_span_make(buf, n), 100, &body, &used),
			 FERRY_ERR__PARTIAL);
	assert_int_equal(ferry_kafka_frame_split(ferry_span_make(buf, 2), 100, &body, &used),
			 FERRY_ERR__PARTIAL);
	n = hex2bin("80 00 00 00", buf, sizeof(buf));
	assert_int_equal(ferry_kafka_frame_split(ferry_span_make(buf, n), 100, &body, &used),
			 FERRY_ERR__BAD_LENGTH);
	n = hex2bin("00 00 10 00", buf, sizeof(buf));
	assert_int_equal(ferry_kafka_frame_split(ferry_span_make(buf, n), 100, &body, &used),
			 FERRY_ERR__BAD_LENGTH);

	/* §7.5 InitProducerId v2 request header: flexible header v2 with tags */
	n = hex2bin("00 16 00 02 00 00 01 90 00 06 6b 66 61 63 74 73 00", buf, sizeof(buf));
	struct ferry_rd rd;
	struct ferry_kafka_reqhdr h;
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_reqhdr_decode(&rd, &h), 0);
	assert_int_equal(h.ApiKey, 22);
	assert_int_equal(h.CorrelationId, 400);
	assert_int_equal(ferry_rd_left(&rd), 0);

	/* trailing garbage after a complete request is refused with a clear message */
	uint8_t out[256];
	struct ferry_wr w;
	ferry_wr_init(&w, out, sizeof(out));
	struct ferry_kafka_api_versions_req req = { { NULL, 0 }, { NULL, 0 } };
	struct ferry_kafka_reqhdr rh = { FERRY_KAFKA_API_VERSIONS, 2, 9, ferry_span_str("x") };
	assert_int_equal(ferry_kafka_request_encode(&w, &rh, &req), 0);
	out[w.len++] = 0xaa;
	struct ferry_arena a = arena();
	struct ferry_kafka_api_versions_req q;
	char err[256];
	assert_int_equal(ferry_kafka_request_decode(ferry_span_make(out + 4, w.len - 4), &a, &h, &q,
						    err, sizeof(err)), FERRY_ERR__TRAILING);
	assert_non_null(strstr(err, "ApiVersions v2 request"));
	/* unknown api and version */
	rh.ApiKey = 99;
	assert_int_equal(ferry_kafka_request_encode(&w, &rh, &req), FERRY_ERR__BAD_API);
	rh.ApiKey = FERRY_KAFKA_PRODUCE;
	rh.ApiVersion = 2;
	assert_int_equal(ferry_kafka_request_encode(&w, &rh, &req), FERRY_ERR__UNSUPPORTED_VERSION);
}

static void
test_hostile_counts(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct ferry_rd rd;
	struct ferry_arena a = arena();
	struct ferry_kafka_fetch_resp r;
	/* v11 response claiming 2^31-1 topics in 20 bytes: refused before allocating */
	size_t n = hex2bin("00 00 00 00 00 00 00 00 00 00 7f ff ff ff 00 00 00 00 00 00", buf,
			   sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_fetch_resp_decode(&rd, 11, &a, &r), FERRY_ERR__BAD_LENGTH);
	assert_int_equal(rd.err_off, 10);
	/* negative topic-name length */
	n = hex2bin("00 00 00 00 00 00 00 00 00 00 00 00 00 01 ff f0 00 00 00 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_fetch_resp_decode(&rd, 11, &a, &r), FERRY_ERR__BAD_LENGTH);
	/* v12: too many tagged fields at the top level of an empty response */
	n = hex2bin("00 00 00 00 00 00 00 00 00 00 01 50 00 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_fetch_resp_decode(&rd, 12, &a, &r), FERRY_ERR__TOO_MANY_TAGS);
	/* v12: unknown tags are skipped */
	n = hex2bin("00 00 00 00 00 00 00 00 00 00 01 02 05 01 ff 09 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_fetch_resp_decode(&rd, 12, &a, &r), 0);
	assert_int_equal(ferry_rd_left(&rd), 0);
	/* v12: bad varint in the compact array count */
	n = hex2bin("00 00 00 00 00 00 00 00 00 00 ff ff ff ff ff 01", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_fetch_resp_decode(&rd, 12, &a, &r), FERRY_ERR__BAD_VARINT);
	/* arena exhaustion is an error, not an overflow */
	struct ferry_arena tiny;
	uint64_t small[2];
	ferry_arena_init(&tiny, small, sizeof(small));
	n = hex2bin("00 00 00 00 00 00 00 00 00 00 00 00 00 02 00 01 61 00 00 00 00 00 01 62 00 00 00 00",
		    buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_fetch_resp_decode(&rd, 11, &tiny, &r), FERRY_ERR__NOMEM);
}

/* ---- SaslHandshake (17) and SaslAuthenticate (36) ----------------------------------------- */

/*
 * Golden frames written by hand from SaslHandshake{Request,Response}.json and
 * SaslAuthenticate{Request,Response}.json (kafka-wire-facts.md §1.2-1.4), not produced by
 * the encoder. Client id "ferry" = 00 05 66 65 72 72 79. SaslHandshake is never flexible
 * (request header v1, response header v0); SaslAuthenticate v2 is flexible (request header
 * v2 with its tag byte, response header v1, compact strings/bytes, body tag section).
 */
#define CLIENT_FERRY_HEX "00 05 66 65 72 72 79"

static struct ferry_span sasl_mechs[2] = {
	{ (const uint8_t *)"PLAIN", 5 },
	{ (const uint8_t *)"SCRAM-SHA-512", 13 },
};
/* RFC 4616 PLAIN message "\0user\0pass" */
static const uint8_t sasl_plain_tok[10] = { 0, 'u', 's', 'e', 'r', 0, 'p', 'a', 's', 's' };
static const uint8_t sasl_srv_tok[3] = { 1, 2, 3 };

struct sasl_case {
	int16_t api, ver;
	int32_t corr;
	const void *req;
	const char *req_hex; /* whole frame: size, header, body */
	size_t req_hdr;      /* header bytes after the size */
	const void *resp;
	const char *resp_hex;
	size_t resp_hdr;
};

static const struct ferry_kafka_sasl_handshake_req hs_req_plain = {
	{ (const uint8_t *)"PLAIN", 5 }
};
static const struct ferry_kafka_sasl_handshake_req hs_req_scram = {
	{ (const uint8_t *)"SCRAM-SHA-256", 13 }
};
static const struct ferry_kafka_sasl_handshake_resp hs_resp_ok = { 0, 2, sasl_mechs };
static const struct ferry_kafka_sasl_handshake_resp hs_resp_unsupported = {
	FERRY_ERR_UNSUPPORTED_SASL_MECHANISM, 1, sasl_mechs
};
static const struct ferry_kafka_sasl_authenticate_req au_req = { { sasl_plain_tok, 10 } };
static const struct ferry_kafka_sasl_authenticate_resp au_resp_fail = {
	FERRY_ERR_SASL_AUTHENTICATION_FAILED,
	{ (const uint8_t *)"bad password", 12 },
	{ sasl_srv_tok, 0 },
	0
};
static const struct ferry_kafka_sasl_authenticate_resp au_resp_ok = {
	0, { NULL, 0 }, { sasl_srv_tok, 3 }, 3600000
};

static const struct sasl_case sasl_cases[] = {
	/* SaslHandshake v0: Mechanism STRING; ErrorCode, Mechanisms ARRAY(STRING) */
	{ FERRY_KAFKA_SASL_HANDSHAKE, 0, 1, &hs_req_plain,
	  "00 00 00 16 | 00 11 00 00 00 00 00 01 " CLIENT_FERRY_HEX " | 00 05 50 4c 41 49 4e", 15,
	  &hs_resp_ok,
	  "00 00 00 20 | 00 00 00 01 | 00 00 | 00 00 00 02 | 00 05 50 4c 41 49 4e"
	  "| 00 0d 53 43 52 41 4d 2d 53 48 41 2d 35 31 32",
	  4 },
	/* SaslHandshake v1: same bodies */
	{ FERRY_KAFKA_SASL_HANDSHAKE, 1, 2, &hs_req_scram,
	  "00 00 00 1e | 00 11 00 01 00 00 00 02 " CLIENT_FERRY_HEX
	  "| 00 0d 53 43 52 41 4d 2d 53 48 41 2d 32 35 36",
	  15, &hs_resp_unsupported,
	  "00 00 00 11 | 00 00 00 02 | 00 21 | 00 00 00 01 | 00 05 50 4c 41 49 4e", 4 },
	/* SaslAuthenticate v0: AuthBytes BYTES; ErrorCode, ErrorMessage NULLABLE_STRING,
	 * AuthBytes BYTES (empty: length 0, not null) */
	{ FERRY_KAFKA_SASL_AUTHENTICATE, 0, 3, &au_req,
	  "00 00 00 1d | 00 24 00 00 00 00 00 03 " CLIENT_FERRY_HEX
	  "| 00 00 00 0a 00 75 73 65 72 00 70 61 73 73",
	  15, &au_resp_fail,
	  "00 00 00 18 | 00 00 00 03 | 00 3a | 00 0c 62 61 64 20 70 61 73 73 77 6f 72 64"
	  "| 00 00 00 00",
	  4 },
	/* SaslAuthenticate v1: + SessionLifetimeMs INT64; null ErrorMessage = ff ff */
	{ FERRY_KAFKA_SASL_AUTHENTICATE, 1, 4, &au_req,
	  "00 00 00 1d | 00 24 00 01 00 00 00 04 " CLIENT_FERRY_HEX
	  "| 00 00 00 0a 00 75 73 65 72 00 70 61 73 73",
	  15, &au_resp_ok,
	  "00 00 00 17 | 00 00 00 04 | 00 00 | ff ff | 00 00 00 03 01 02 03"
	  "| 00 00 00 00 00 36 ee 80",
	  4 },
	/* SaslAuthenticate v2, flexible: COMPACT_BYTES (len+1), null COMPACT_NULLABLE_STRING = 00,
	 * tag sections in the headers and bodies */
	{ FERRY_KAFKA_SASL_AUTHENTICATE, 2, 5, &au_req,
	  "00 00 00 1c | 00 24 00 02 00 00 00 05 " CLIENT_FERRY_HEX " 00"
	  "| 0b 00 75 73 65 72 00 70 61 73 73 | 00",
	  16, &au_resp_ok,
	  "00 00 00 15 | 00 00 00 05 00 | 00 00 | 00 | 04 01 02 03 | 00 00 00 00 00 36 ee 80"
	  "| 00",
	  5 },
	/* SaslAuthenticate v2 failure: compact string "bad password" = 0d + 12 bytes, empty
	 * AuthBytes = 01 */
	{ FERRY_KAFKA_SASL_AUTHENTICATE, 2, 6, &au_req,
	  "00 00 00 1c | 00 24 00 02 00 00 00 06 " CLIENT_FERRY_HEX " 00"
	  "| 0b 00 75 73 65 72 00 70 61 73 73 | 00",
	  16, &au_resp_fail,
	  "00 00 00 1e | 00 00 00 06 00 | 00 3a | 0d 62 61 64 20 70 61 73 73 77 6f 72 64 | 01"
	  "| 00 00 00 00 00 00 00 00 | 00",
	  5 },
};

static bool
sasl_span_same(struct ferry_span a, struct ferry_span b)
{
	return (a.p == NULL) == (b.p == NULL) && ferry_span_eq(a, b);
}

static void
sasl_check_req(int16_t api, const void *got, const void *want)
{
	if (api == FERRY_KAFKA_SASL_HANDSHAKE) {
		const struct ferry_kafka_sasl_handshake_req *g = got, *e = want;
		assert_true(sasl_span_same(g->Mechanism, e->Mechanism));
	} else {
		const struct ferry_kafka_sasl_authenticate_req *g = got, *e = want;
		assert_true(sasl_span_same(g->AuthBytes, e->AuthBytes));
	}
}

static void
sasl_check_resp(int16_t api, const void *got, const void *want)
{
	if (api == FERRY_KAFKA_SASL_HANDSHAKE) {
		const struct ferry_kafka_sasl_handshake_resp *g = got, *e = want;
		assert_int_equal(g->ErrorCode, e->ErrorCode);
		assert_int_equal(g->n_mechanisms, e->n_mechanisms);
		for (int32_t i = 0; i < e->n_mechanisms; i++)
			assert_true(sasl_span_same(g->Mechanisms[i], e->Mechanisms[i]));
	} else {
		const struct ferry_kafka_sasl_authenticate_resp *g = got, *e = want;
		assert_int_equal(g->ErrorCode, e->ErrorCode);
		/* null stays null (p == NULL), a message stays a message */
		assert_true(sasl_span_same(g->ErrorMessage, e->ErrorMessage));
		assert_true(sasl_span_same(g->AuthBytes, e->AuthBytes));
		assert_true(g->SessionLifetimeMs == e->SessionLifetimeMs);
	}
}

/*
 * Every strict prefix of a frame body (header included) and of the body alone is refused.
 * Each prefix is copied into a heap block of exactly its size, so a read past the end is
 * an AddressSanitizer error, not a silent success.
 */
static void
sasl_prefixes_fail(const struct ferry_kafka_api_info *info, int16_t ver, bool response,
		   int32_t corr, const uint8_t *frame_body, size_t n, size_t hdr)
{
	static uint64_t msg[64];
	char err[256];
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, frame_body, cut);
		struct ferry_arena a = arena();
		struct ferry_kafka_reqhdr h;
		int rc = response
			     ? ferry_kafka_response_decode(ferry_span_make(p, cut), info->ApiKey,
							   ver, corr, &a, msg, err, sizeof(err))
			     : ferry_kafka_request_decode(ferry_span_make(p, cut), &a, &h, msg, err,
							  sizeof(err));
		if (rc >= 0)
			fail_msg("%s v%d %s: frame prefix %zu of %zu decoded", info->name, ver,
				 response ? "resp" : "req", cut, n);
		if (cut >= hdr) {
			struct ferry_rd rd;
			ferry_rd_init(&rd, p + hdr, cut - hdr);
			a = arena();
			rc = response ? info->resp_decode(&rd, ver, &a, msg)
				      : info->req_decode(&rd, ver, &a, msg);
			if (rc >= 0)
				fail_msg("%s v%d %s: body prefix %zu of %zu decoded", info->name,
					 ver, response ? "resp" : "req", cut - hdr, n - hdr);
			assert_int_equal(rc, rd.err);
			assert_true(rd.err_off <= cut - hdr);
		}
		free(p);
	}
}

static void
test_sasl_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sasl_cases) / sizeof(sasl_cases[0]); i++) {
		const struct sasl_case *c = &sasl_cases[i];
		const struct ferry_kafka_api_info *info = ferry_kafka_api_get(c->api);
		uint8_t want[256], out[256], again[256];
		uint64_t back[16];
		struct ferry_wr w;
		struct ferry_span body;
		struct ferry_arena a;
		struct ferry_kafka_reqhdr h = { c->api, c->ver, c->corr, ferry_span_str("ferry") },
					  h2;
		size_t n, used;
		char err[256];

		assert_non_null(info);
		assert_true(info->req_size <= sizeof(back) && info->resp_size <= sizeof(back));

		/* request: exact bytes through the table's generic encoder */
		n = hex2bin(c->req_hex, want, sizeof(want));
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_request_encode(&w, &h, c->req), 0);
		assert_int_equal(w.len, n);
		assert_memory_equal(out, want, n);
		/* and the body codec on its own writes the body part */
		ferry_wr_init(&w, again, sizeof(again));
		assert_int_equal(info->req_encode(&w, c->ver, c->req), 0);
		assert_int_equal(w.len, n - 4 - c->req_hdr);
		assert_memory_equal(again, want + 4 + c->req_hdr, w.len);
		/* back: header and body */
		assert_int_equal(
		    ferry_kafka_frame_split(ferry_span_make(want, n), 1 << 20, &body, &used), 0);
		assert_int_equal(used, n);
		a = arena();
		memset(back, 0xa5, sizeof(back));
		assert_int_equal(ferry_kafka_request_decode(body, &a, &h2, back, err, sizeof(err)),
				 0);
		assert_int_equal(h2.ApiKey, c->api);
		assert_int_equal(h2.ApiVersion, c->ver);
		assert_int_equal(h2.CorrelationId, c->corr);
		assert_true(ferry_span_eq(h2.ClientId, ferry_span_str("ferry")));
		sasl_check_req(c->api, back, c->req);
		/* the decoded message encodes to the same bytes */
		ferry_wr_init(&w, again, sizeof(again));
		assert_int_equal(ferry_kafka_request_encode(&w, &h2, back), 0);
		assert_int_equal(w.len, n);
		assert_memory_equal(again, want, n);
		sasl_prefixes_fail(info, c->ver, false, c->corr, body.p, body.len, c->req_hdr);

		/* response */
		n = hex2bin(c->resp_hex, want, sizeof(want));
		ferry_wr_init(&w, out, sizeof(out));
		assert_int_equal(ferry_kafka_response_encode(&w, c->api, c->ver, c->corr, c->resp),
				 0);
		assert_int_equal(w.len, n);
		assert_memory_equal(out, want, n);
		ferry_wr_init(&w, again, sizeof(again));
		assert_int_equal(info->resp_encode(&w, c->ver, c->resp), 0);
		assert_int_equal(w.len, n - 4 - c->resp_hdr);
		assert_memory_equal(again, want + 4 + c->resp_hdr, w.len);
		assert_int_equal(
		    ferry_kafka_frame_split(ferry_span_make(want, n), 1 << 20, &body, &used), 0);
		a = arena();
		memset(back, 0xa5, sizeof(back));
		assert_int_equal(ferry_kafka_response_decode(body, c->api, c->ver, c->corr, &a,
							     back, err, sizeof(err)),
				 0);
		sasl_check_resp(c->api, back, c->resp);
		ferry_wr_init(&w, again, sizeof(again));
		assert_int_equal(ferry_kafka_response_encode(&w, c->api, c->ver, c->corr, back), 0);
		assert_int_equal(w.len, n);
		assert_memory_equal(again, want, n);
		/* someone else's correlation id */
		a = arena();
		assert_int_equal(ferry_kafka_response_decode(body, c->api, c->ver, c->corr + 1, &a,
							     back, err, sizeof(err)),
				 FERRY_ERR__CORRELATION);
		sasl_prefixes_fail(info, c->ver, true, c->corr, body.p, body.len, c->resp_hdr);
	}
}

static void
test_sasl_edges(void **state)
{
	(void)state;
	uint8_t buf[64], out[64];
	struct ferry_wr w;
	struct ferry_rd rd;
	struct ferry_arena a = arena();
	size_t n;

	/* the table: names, flexibility, sizes, ApiKey order */
	const struct ferry_kafka_api_info *hs = ferry_kafka_api_get(FERRY_KAFKA_SASL_HANDSHAKE);
	const struct ferry_kafka_api_info *au = ferry_kafka_api_get(FERRY_KAFKA_SASL_AUTHENTICATE);
	assert_non_null(hs);
	assert_non_null(au);
	assert_string_equal(ferry_kafka_api_name(17), "SaslHandshake");
	assert_string_equal(ferry_kafka_api_name(36), "SaslAuthenticate");
	assert_int_equal(hs->min_ver, 0);
	assert_int_equal(hs->max_ver, 1);
	assert_int_equal(au->min_ver, 0);
	assert_int_equal(au->max_ver, 2);
	assert_int_equal(hs->req_size, sizeof(struct ferry_kafka_sasl_handshake_req));
	assert_int_equal(hs->resp_size, sizeof(struct ferry_kafka_sasl_handshake_resp));
	assert_int_equal(au->req_size, sizeof(struct ferry_kafka_sasl_authenticate_req));
	assert_int_equal(au->resp_size, sizeof(struct ferry_kafka_sasl_authenticate_resp));
	for (int16_t v = 0; v <= 1; v++)
		assert_false(ferry_kafka_api_is_flexible(FERRY_KAFKA_SASL_HANDSHAKE, v));
	assert_false(ferry_kafka_api_is_flexible(FERRY_KAFKA_SASL_AUTHENTICATE, 1));
	assert_true(ferry_kafka_api_is_flexible(FERRY_KAFKA_SASL_AUTHENTICATE, 2));
	size_t napis;
	const struct ferry_kafka_api_info *apis = ferry_kafka_api_all(&napis);
	for (size_t i = 1; i < napis; i++)
		assert_true(apis[i - 1].ApiKey < apis[i].ApiKey);
	struct ferry_kafka_api_version_range broker[] = { { 17, 0, 1 }, { 36, 0, 2 } };
	struct ferry_kafka_api_versions_resp av = { 0, 2, broker, 0 };
	assert_int_equal(ferry_kafka_pick_version(&av, FERRY_KAFKA_SASL_HANDSHAKE), 1);
	assert_int_equal(ferry_kafka_pick_version(&av, FERRY_KAFKA_SASL_AUTHENTICATE), 2);

	/* versions outside the range, both directions */
	struct ferry_kafka_sasl_handshake_req hq = { ferry_span_str("PLAIN") };
	struct ferry_kafka_sasl_handshake_resp hr;
	struct ferry_kafka_sasl_authenticate_req aq = { ferry_span_make(sasl_plain_tok, 10) };
	struct ferry_kafka_sasl_authenticate_resp ar;
	ferry_wr_init(&w, out, sizeof(out));
	assert_int_equal(ferry_kafka_sasl_handshake_req_encode(&w, 2, &hq),
			 FERRY_ERR__UNSUPPORTED_VERSION);
	assert_int_equal(ferry_kafka_sasl_handshake_req_encode(&w, -1, &hq),
			 FERRY_ERR__UNSUPPORTED_VERSION);
	assert_int_equal(ferry_kafka_sasl_authenticate_req_encode(&w, 3, &aq),
			 FERRY_ERR__UNSUPPORTED_VERSION);
	assert_int_equal(w.len, 0);
	ferry_rd_init(&rd, out, 0);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_decode(&rd, 2, &a, &hr),
			 FERRY_ERR__UNSUPPORTED_VERSION);
	ferry_rd_init(&rd, out, 0);
	assert_int_equal(ferry_kafka_sasl_authenticate_resp_decode(&rd, 3, &a, &ar),
			 FERRY_ERR__UNSUPPORTED_VERSION);

	/* encode refusals: nulls where the spec has none, a negative count, a v1+ field in v0;
	 * the writer is left where it was */
	struct ferry_kafka_sasl_handshake_req hq_null = { { NULL, 0 } };
	struct ferry_span mechs_null[2] = { ferry_span_str("PLAIN"), { NULL, 0 } };
	struct ferry_kafka_sasl_handshake_resp hr_null = { 0, 2, mechs_null };
	struct ferry_kafka_sasl_handshake_resp hr_neg = { 0, -1, NULL };
	struct ferry_kafka_sasl_authenticate_req aq_null = { { NULL, 0 } };
	struct ferry_kafka_sasl_authenticate_resp ar_null = { 0, { NULL, 0 }, { NULL, 0 }, 0 };
	struct ferry_kafka_sasl_authenticate_resp ar_life = {
		0, { NULL, 0 }, ferry_span_make(sasl_srv_tok, 3), 1000
	};
	ferry_wr_init(&w, out, sizeof(out));
	ferry_wr_i8(&w, 0x42);
	assert_int_equal(ferry_kafka_sasl_handshake_req_encode(&w, 1, &hq_null),
			 FERRY_ERR__INVALID_ARG);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_encode(&w, 1, &hr_null),
			 FERRY_ERR__INVALID_ARG);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_encode(&w, 0, &hr_neg),
			 FERRY_ERR__INVALID_ARG);
	for (int16_t v = 0; v <= 2; v++) {
		assert_int_equal(ferry_kafka_sasl_authenticate_req_encode(&w, v, &aq_null),
				 FERRY_ERR__INVALID_ARG);
		assert_int_equal(ferry_kafka_sasl_authenticate_resp_encode(&w, v, &ar_null),
				 FERRY_ERR__INVALID_ARG);
	}
	assert_int_equal(ferry_kafka_sasl_authenticate_resp_encode(&w, 0, &ar_life),
			 FERRY_ERR__INVALID_ARG);
	assert_int_equal(w.len, 1);
	assert_false(w.overflow);
	/* a zero lifetime is the default: v0 can carry it (by leaving it out) */
	ar_life.SessionLifetimeMs = 0;
	assert_int_equal(ferry_kafka_sasl_authenticate_resp_encode(&w, 0, &ar_life), 0);
	/* a full writer is NOSPACE */
	ferry_wr_init(&w, out, 3);
	assert_int_equal(ferry_kafka_sasl_handshake_req_encode(&w, 0, &hq), FERRY_ERR__NOSPACE);

	/* an empty Mechanisms array is fine both ways */
	struct ferry_kafka_sasl_handshake_resp hr_empty = { FERRY_ERR_ILLEGAL_SASL_STATE, 0, NULL };
	ferry_wr_init(&w, out, sizeof(out));
	assert_int_equal(ferry_kafka_sasl_handshake_resp_encode(&w, 1, &hr_empty), 0);
	n = hex2bin("00 22 00 00 00 00", buf, sizeof(buf));
	assert_int_equal(w.len, n);
	assert_memory_equal(out, buf, n);
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_decode(&rd, 1, &a, &hr), 0);
	assert_int_equal(hr.ErrorCode, FERRY_ERR_ILLEGAL_SASL_STATE);
	assert_int_equal(hr.n_mechanisms, 0);

	/* an empty ErrorMessage is not a null one: 00 00 (v0) / 01 (v2) */
	n = hex2bin("00 00 | 00 00 | 00 00 00 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_authenticate_resp_decode(&rd, 0, &a, &ar), 0);
	assert_non_null(ar.ErrorMessage.p);
	assert_int_equal(ar.ErrorMessage.len, 0);
	assert_non_null(ar.AuthBytes.p);
	assert_int_equal(ar.AuthBytes.len, 0);
	assert_true(ar.SessionLifetimeMs == 0);
	n = hex2bin("00 00 | 01 | 01 | 00 00 00 00 00 00 00 07 | 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_authenticate_resp_decode(&rd, 2, &a, &ar), 0);
	assert_non_null(ar.ErrorMessage.p);
	assert_int_equal(ar.ErrorMessage.len, 0);
	assert_true(ar.SessionLifetimeMs == 7);
	assert_int_equal(ferry_rd_left(&rd), 0);

	/* decode refusals: null where the spec forbids it, counts the bytes cannot hold */
	n = hex2bin("ff ff", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_handshake_req_decode(&rd, 0, &a, &hq),
			 FERRY_ERR__NULL_FIELD);
	n = hex2bin("00 00 ff ff ff ff", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_decode(&rd, 1, &a, &hr),
			 FERRY_ERR__NULL_FIELD);
	n = hex2bin("00 00 00 00 00 02 ff ff", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_decode(&rd, 1, &a, &hr),
			 FERRY_ERR__BAD_LENGTH); /* 2 strings need at least 4 bytes */
	n = hex2bin("00 00 7f ff ff ff 00 00 00 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_decode(&rd, 0, &a, &hr),
			 FERRY_ERR__BAD_LENGTH);
	assert_int_equal(rd.err_off, 2);
	n = hex2bin("00 00 | 00 00 00 02 | 00 01 50 | ff ff", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_decode(&rd, 0, &a, &hr),
			 FERRY_ERR__NULL_FIELD);
	assert_int_equal(rd.err_off, 9);
	n = hex2bin("ff ff ff ff", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_authenticate_req_decode(&rd, 1, &a, &aq),
			 FERRY_ERR__NULL_FIELD);
	n = hex2bin("00 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_authenticate_req_decode(&rd, 2, &a, &aq),
			 FERRY_ERR__NULL_FIELD);
	n = hex2bin("00 00 ff ff 00 00 00 09 01 02", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_authenticate_resp_decode(&rd, 0, &a, &ar),
			 FERRY_ERR__TRUNCATED);
	assert_int_equal(rd.err_off, 4);
	n = hex2bin("00 00 | ff ff | ff ff ff ff | 00 00 00 00 00 00 00 00", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_authenticate_resp_decode(&rd, 1, &a, &ar),
			 FERRY_ERR__NULL_FIELD); /* AuthBytes: BYTES, not NULLABLE_BYTES */
	assert_int_equal(rd.err_off, 4);
	/* v2: unknown tags are skipped, a tag count the bytes cannot hold is refused */
	n = hex2bin("00 00 00 04 01 02 03 00 00 00 00 00 00 00 00 | 01 05 02 aa bb", buf,
		    sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_authenticate_resp_decode(&rd, 2, &a, &ar), 0);
	assert_int_equal(ferry_rd_left(&rd), 0);
	assert_int_equal(ar.AuthBytes.len, 3);
	n = hex2bin("01 | 40", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_authenticate_req_decode(&rd, 2, &a, &aq),
			 FERRY_ERR__TOO_MANY_TAGS);
	/* arena exhaustion while allocating Mechanisms */
	struct ferry_arena tiny;
	uint64_t small[1];
	ferry_arena_init(&tiny, small, sizeof(small));
	n = hex2bin("00 00 00 00 00 02 00 01 41 00 01 42", buf, sizeof(buf));
	ferry_rd_init(&rd, buf, n);
	assert_int_equal(ferry_kafka_sasl_handshake_resp_decode(&rd, 0, &tiny, &hr),
			 FERRY_ERR__NOMEM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_produce_golden),	   cmocka_unit_test(test_fetch_v12_golden),
		cmocka_unit_test(test_api_versions_mock_quirk), cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_fetch_all_versions), cmocka_unit_test(test_produce_all_versions),
		cmocka_unit_test(test_api_versions_all),   cmocka_unit_test(test_frames),
		cmocka_unit_test(test_hostile_counts),	   cmocka_unit_test(test_sasl_golden),
		cmocka_unit_test(test_sasl_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
