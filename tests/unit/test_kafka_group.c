/*
 * test_kafka_group.c - unit tests of the group coordinator body codecs:
 * FindCoordinator (10, v0-3), OffsetCommit (8, v2-8), OffsetFetch (9, v1-7),
 * requests and responses, every version ferry implements.
 *
 * For every API, direction, version and three shapes of message (full,
 * minimal elements, empty/null arrays) the generic runner checks:
 * encode -> decode -> same fields (version-aware: fields a version lacks come
 * back as spec defaults) -> re-encode gives the same bytes; every strict
 * prefix fails to decode (from an exact-size heap copy, so a sanitizer sees any
 * over-read); every too-small output buffer gives NOSPACE; every too-small
 * arena gives NOMEM. Then whole frames through the API table (headers v1/v2,
 * v0/v1 by flexibility), byte-exact golden vectors written by hand from the
 * message JSON layouts, unknown tagged fields, hostile counts and lengths,
 * and the encoders' refusals.
 *
 * Single-threaded (cmocka); static fixtures.
 */
#include "testutil.h"

#include "ferry/kafka.h"
#include "ferry/kafka_group.h"

#define BUF_SIZE   8192
#define ARENA_SIZE (1 << 16)

static uint8_t enc_buf[BUF_SIZE];
static uint8_t enc_buf2[BUF_SIZE];
static _Alignas(16) uint8_t arena_mem[ARENA_SIZE];
static struct ferry_arena arena;

union grp_msg {
	struct ferry_kafka_find_coordinator_req fc_req;
	struct ferry_kafka_find_coordinator_resp fc_resp;
	struct ferry_kafka_offset_commit_req oc_req;
	struct ferry_kafka_offset_commit_resp oc_resp;
	struct ferry_kafka_offset_fetch_req of_req;
	struct ferry_kafka_offset_fetch_resp of_resp;
};

/* Message shapes the fill functions build. */
enum shape {
	SHAPE_FULL,    /* non-default values everywhere, several elements */
	SHAPE_MINIMAL, /* many smallest-possible elements: checks the min element sizes */
	SHAPE_EMPTY,   /* empty (or null where nullable) arrays, empty strings */
	SHAPE_COUNT,
};

struct codec {
	const char *name;
	int16_t api;
	bool is_req;
	int16_t min_ver, max_ver, flex_ver;
	int (*enc)(struct ferry_wr *w, int16_t ver, const void *m);
	int (*dec)(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a, void *m);
	void (*fill)(int16_t ver, enum shape s, void *m);
	void (*check)(int16_t ver, const void *orig, const void *dec);
};

#define CODEC_WRAP(stem, dir)                                                                      \
	static int stem##_##dir##_enc(struct ferry_wr *w, int16_t ver, const void *m)              \
	{                                                                                          \
		return ferry_kafka_##stem##_##dir##_encode(w, ver, m);                             \
	}                                                                                          \
	static int stem##_##dir##_dec(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,     \
				      void *m)                                                     \
	{                                                                                          \
		return ferry_kafka_##stem##_##dir##_decode(rd, ver, a, m);                         \
	}

CODEC_WRAP(find_coordinator, req)
CODEC_WRAP(find_coordinator, resp)
CODEC_WRAP(offset_commit, req)
CODEC_WRAP(offset_commit, resp)
CODEC_WRAP(offset_fetch, req)
CODEC_WRAP(offset_fetch, resp)

static struct ferry_span
sp(const char *s)
{
	return ferry_span_str(s);
}

static const struct ferry_span null_span = { NULL, 0 };

static void
assert_span(struct ferry_span a, struct ferry_span b)
{
	assert_true(ferry_span_eq(a, b));
}

/* The input of the last decode: decoded spans point into it, so it lives until the next one. */
static uint8_t *dec_copy;

static void
dec_copy_free(void)
{
	free(dec_copy);
	dec_copy = NULL;
}

/* Decode 'n' bytes from an exact-size heap copy (so ASan catches any over-read). */
static int
dec_exact(const struct codec *c, int16_t ver, const uint8_t *p, size_t n, struct ferry_arena *a,
	  void *out, size_t *off)
{
	uint8_t *copy;
	struct ferry_rd rd;
	int rc;

	dec_copy_free();
	copy = dec_copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	ferry_rd_init(&rd, copy, n);
	rc = c->dec(&rd, ver, a, out);
	if (rc != 0)
		assert_int_equal(rd.err, rc);
	if (off)
		*off = rd.off;
	return rc;
}

/* Decode with a fresh full arena; returns the ferry_err. */
static int
dec_bytes(const struct codec *c, int16_t ver, const uint8_t *p, size_t n, void *out, size_t *off)
{
	ferry_arena_init(&arena, arena_mem, sizeof(arena_mem));
	return dec_exact(c, ver, p, n, &arena, out, off);
}

/* ---- FindCoordinator fixtures ------------------------------------------------------------- */

static void
fill_fc_req(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_find_coordinator_req *m = p;

	memset(m, 0, sizeof(*m));
	switch (s) {
	case SHAPE_FULL:
		m->Key = sp("mm2-checkpoint-group");
		m->KeyType = ver >= 1 ? FERRY_KAFKA_COORD_TRANSACTION : FERRY_KAFKA_COORD_GROUP;
		break;
	default: m->Key = sp(""); break;
	}
}

static void
check_fc_req(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_find_coordinator_req *o = po, *d = pd;

	assert_span(d->Key, o->Key);
	assert_int_equal(d->KeyType, ver >= 1 ? o->KeyType : 0);
}

static void
fill_fc_resp(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_find_coordinator_resp *m = p;

	(void)ver;
	ferry_kafka_find_coordinator_resp_init(m);
	switch (s) {
	case SHAPE_FULL:
		/* ThrottleTimeMs and ErrorMessage are ignorable: set everywhere, dropped at v0. */
		m->ThrottleTimeMs = 250;
		m->ErrorCode = FERRY_ERR_COORDINATOR_LOAD_IN_PROGRESS;
		m->ErrorMessage = sp("loading __consumer_offsets");
		m->NodeId = 3;
		m->Host = sp("broker-3.ldn.example");
		m->Port = 9093;
		break;
	case SHAPE_MINIMAL:
		m->ErrorMessage = null_span;
		m->NodeId = -1;
		m->Port = -1;
		break;
	default: m->ErrorMessage = sp(""); break;
	}
}

static void
check_fc_resp(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_find_coordinator_resp *o = po, *d = pd;

	assert_int_equal(d->ThrottleTimeMs, ver >= 1 ? o->ThrottleTimeMs : 0);
	assert_int_equal(d->ErrorCode, o->ErrorCode);
	assert_span(d->ErrorMessage, ver >= 1 ? o->ErrorMessage : null_span);
	assert_int_equal(d->NodeId, o->NodeId);
	assert_span(d->Host, o->Host);
	assert_int_equal(d->Port, o->Port);
}

/* ---- OffsetCommit fixtures ---------------------------------------------------------------- */

static struct ferry_kafka_offset_commit_req_topic oc_req_topics[4];
static struct ferry_kafka_offset_commit_req_partition oc_req_parts[5];

static void
fill_oc_req(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_offset_commit_req *m = p;

	ferry_kafka_offset_commit_req_init(m);
	memset(oc_req_topics, 0, sizeof(oc_req_topics));
	for (int i = 0; i < 5; i++)
		ferry_kafka_offset_commit_req_partition_init(&oc_req_parts[i]);
	m->Topics = oc_req_topics;
	switch (s) {
	case SHAPE_FULL:
		m->GroupId = sp("app-group");
		m->GenerationId = 7;
		m->MemberId = sp("rdkafka-5a1c2f0e");
		m->GroupInstanceId = ver >= 7 ? sp("instance-ldn-1") : null_span;
		m->RetentionTimeMs = 86400000; /* ignorable: expect it dropped from v5 */
		m->n_topics = 2;
		oc_req_topics[0] = (struct ferry_kafka_offset_commit_req_topic){ sp("orders"), 2,
										 &oc_req_parts[0] };
		oc_req_topics[1] =
		    (struct ferry_kafka_offset_commit_req_topic){ sp("primary.heartbeats"), 1,
								  &oc_req_parts[2] };
		oc_req_parts[0] =
		    (struct ferry_kafka_offset_commit_req_partition){ 0, 1500, 4, sp("meta") };
		oc_req_parts[1] =
		    (struct ferry_kafka_offset_commit_req_partition){ 3, INT64_MAX, -1, null_span };
		oc_req_parts[2] =
		    (struct ferry_kafka_offset_commit_req_partition){ 7, 99, 2, sp("") };
		break;
	case SHAPE_MINIMAL:
		/* three empty topics, then one whose partitions end the message (their
		 * count is checked against exactly the bytes they need) */
		m->n_topics = 4;
		for (int i = 0; i < 4; i++)
			oc_req_topics[i].Name = sp("");
		oc_req_topics[3].n_partitions = 5;
		oc_req_topics[3].Partitions = oc_req_parts;
		for (int i = 0; i < 5; i++)
			oc_req_parts[i].CommittedMetadata = null_span;
		break;
	default: m->n_topics = 0; break;
	}
}

static void
check_oc_req(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_offset_commit_req *o = po, *d = pd;

	assert_span(d->GroupId, o->GroupId);
	assert_int_equal(d->GenerationId, o->GenerationId);
	assert_span(d->MemberId, o->MemberId);
	assert_span(d->GroupInstanceId, ver >= 7 ? o->GroupInstanceId : null_span);
	assert_true(d->RetentionTimeMs == (ver <= 4 ? o->RetentionTimeMs : -1));
	assert_int_equal(d->n_topics, o->n_topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		const struct ferry_kafka_offset_commit_req_topic *ot = &o->Topics[i],
								 *dt = &d->Topics[i];
		assert_span(dt->Name, ot->Name);
		assert_int_equal(dt->n_partitions, ot->n_partitions);
		for (int32_t j = 0; j < ot->n_partitions; j++) {
			const struct ferry_kafka_offset_commit_req_partition *op =
										 &ot->Partitions[j],
									     *dp =
										 &dt->Partitions[j];
			assert_int_equal(dp->PartitionIndex, op->PartitionIndex);
			assert_true(dp->CommittedOffset == op->CommittedOffset);
			assert_int_equal(dp->CommittedLeaderEpoch,
					 ver >= 6 ? op->CommittedLeaderEpoch : -1);
			assert_span(dp->CommittedMetadata, op->CommittedMetadata);
		}
	}
}

static struct ferry_kafka_offset_commit_resp_topic oc_resp_topics[4];
static struct ferry_kafka_offset_commit_resp_partition oc_resp_parts[4];

static void
fill_oc_resp(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_offset_commit_resp *m = p;

	(void)ver;
	memset(m, 0, sizeof(*m));
	memset(oc_resp_topics, 0, sizeof(oc_resp_topics));
	memset(oc_resp_parts, 0, sizeof(oc_resp_parts));
	m->Topics = oc_resp_topics;
	switch (s) {
	case SHAPE_FULL:
		m->ThrottleTimeMs = 12; /* ignorable: dropped before v3 */
		m->n_topics = 2;
		oc_resp_topics[0] =
		    (struct ferry_kafka_offset_commit_resp_topic){ sp("orders"), 3, oc_resp_parts };
		oc_resp_topics[1] =
		    (struct ferry_kafka_offset_commit_resp_topic){ sp("primary.heartbeats"), 1,
								   &oc_resp_parts[3] };
		oc_resp_parts[0] = (struct ferry_kafka_offset_commit_resp_partition){ 0, 0 };
		oc_resp_parts[1] = (struct ferry_kafka_offset_commit_resp_partition){
			1, FERRY_ERR_OFFSET_METADATA_TOO_LARGE
		};
		oc_resp_parts[2] = (struct ferry_kafka_offset_commit_resp_partition){
			2, FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION
		};
		oc_resp_parts[3] = (struct ferry_kafka_offset_commit_resp_partition){
			9, FERRY_ERR_ILLEGAL_GENERATION
		};
		break;
	case SHAPE_MINIMAL:
		m->n_topics = 4;
		for (int i = 0; i < 4; i++)
			oc_resp_topics[i].Name = sp("");
		oc_resp_topics[3].n_partitions = 4;
		oc_resp_topics[3].Partitions = oc_resp_parts;
		break;
	default: m->n_topics = 0; break;
	}
}

static void
check_oc_resp(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_offset_commit_resp *o = po, *d = pd;

	assert_int_equal(d->ThrottleTimeMs, ver >= 3 ? o->ThrottleTimeMs : 0);
	assert_int_equal(d->n_topics, o->n_topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		assert_span(d->Topics[i].Name, o->Topics[i].Name);
		assert_int_equal(d->Topics[i].n_partitions, o->Topics[i].n_partitions);
		for (int32_t j = 0; j < o->Topics[i].n_partitions; j++) {
			assert_int_equal(d->Topics[i].Partitions[j].PartitionIndex,
					 o->Topics[i].Partitions[j].PartitionIndex);
			assert_int_equal(d->Topics[i].Partitions[j].ErrorCode,
					 o->Topics[i].Partitions[j].ErrorCode);
		}
	}
}

/* ---- OffsetFetch fixtures ----------------------------------------------------------------- */

static struct ferry_kafka_offset_fetch_req_topic of_req_topics[3];
static int32_t of_req_parts[] = { 0, 1, 2, 2147483647 };

static void
fill_of_req(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_offset_fetch_req *m = p;

	memset(m, 0, sizeof(*m));
	memset(of_req_topics, 0, sizeof(of_req_topics));
	m->Topics = of_req_topics;
	switch (s) {
	case SHAPE_FULL:
		m->GroupId = sp("app-group");
		m->n_topics = 2;
		of_req_topics[0] =
		    (struct ferry_kafka_offset_fetch_req_topic){ sp("orders"), 3, of_req_parts };
		of_req_topics[1] =
		    (struct ferry_kafka_offset_fetch_req_topic){ sp("primary.heartbeats"), 1,
								 &of_req_parts[3] };
		m->RequireStable = ver >= 7;
		break;
	case SHAPE_MINIMAL:
		m->GroupId = sp("");
		m->n_topics = 3;
		for (int i = 0; i < 3; i++)
			of_req_topics[i].Name = sp("");
		break;
	default:
		/* null = every topic, from v2; v1 can only say "none" */
		m->GroupId = sp("g");
		m->n_topics = ver >= 2 ? -1 : 0;
		m->Topics = ver >= 2 ? NULL : of_req_topics;
		break;
	}
}

static void
check_of_req(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_offset_fetch_req *o = po, *d = pd;

	assert_span(d->GroupId, o->GroupId);
	assert_int_equal(d->n_topics, o->n_topics);
	if (o->n_topics < 0)
		assert_null(d->Topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		assert_span(d->Topics[i].Name, o->Topics[i].Name);
		assert_int_equal(d->Topics[i].n_partition_indexes,
				 o->Topics[i].n_partition_indexes);
		for (int32_t j = 0; j < o->Topics[i].n_partition_indexes; j++)
			assert_int_equal(d->Topics[i].PartitionIndexes[j],
					 o->Topics[i].PartitionIndexes[j]);
	}
	assert_int_equal(d->RequireStable, ver >= 7 ? o->RequireStable : false);
}

static struct ferry_kafka_offset_fetch_resp_topic of_resp_topics[4];
static struct ferry_kafka_offset_fetch_resp_partition of_resp_parts[4];

static void
fill_of_resp(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_offset_fetch_resp *m = p;

	(void)ver;
	memset(m, 0, sizeof(*m));
	memset(of_resp_topics, 0, sizeof(of_resp_topics));
	for (int i = 0; i < 4; i++)
		ferry_kafka_offset_fetch_resp_partition_init(&of_resp_parts[i]);
	m->Topics = of_resp_topics;
	switch (s) {
	case SHAPE_FULL:
		m->ThrottleTimeMs = 3;                    /* ignorable, v3+ */
		m->ErrorCode = FERRY_ERR_NOT_COORDINATOR; /* ignorable, v2+ */
		m->n_topics = 2;
		of_resp_topics[0] =
		    (struct ferry_kafka_offset_fetch_resp_topic){ sp("orders"), 3, of_resp_parts };
		of_resp_topics[1] =
		    (struct ferry_kafka_offset_fetch_resp_topic){ sp("primary.heartbeats"), 1,
								  &of_resp_parts[3] };
		of_resp_parts[0] =
		    (struct ferry_kafka_offset_fetch_resp_partition){ 0, 1500, 4, sp("meta"), 0 };
		of_resp_parts[1] =
		    (struct ferry_kafka_offset_fetch_resp_partition){ 1, -1, -1, sp(""), 0 };
		of_resp_parts[2] = (struct ferry_kafka_offset_fetch_resp_partition){
			2, 5, 3, null_span, FERRY_ERR_UNSTABLE_OFFSET_COMMIT
		};
		of_resp_parts[3] = (struct ferry_kafka_offset_fetch_resp_partition){
			4, INT64_MAX, 2147483647, sp("x"), FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION
		};
		break;
	case SHAPE_MINIMAL:
		m->n_topics = 4;
		for (int i = 0; i < 4; i++)
			of_resp_topics[i].Name = sp("");
		of_resp_topics[3].n_partitions = 4;
		of_resp_topics[3].Partitions = of_resp_parts;
		for (int i = 0; i < 4; i++)
			of_resp_parts[i].Metadata = null_span;
		break;
	default: m->n_topics = 0; break;
	}
}

static void
check_of_resp(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_offset_fetch_resp *o = po, *d = pd;

	assert_int_equal(d->ThrottleTimeMs, ver >= 3 ? o->ThrottleTimeMs : 0);
	assert_int_equal(d->ErrorCode, ver >= 2 ? o->ErrorCode : 0);
	assert_int_equal(d->n_topics, o->n_topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		const struct ferry_kafka_offset_fetch_resp_topic *ot = &o->Topics[i],
								 *dt = &d->Topics[i];
		assert_span(dt->Name, ot->Name);
		assert_int_equal(dt->n_partitions, ot->n_partitions);
		for (int32_t j = 0; j < ot->n_partitions; j++) {
			const struct ferry_kafka_offset_fetch_resp_partition *op =
										 &ot->Partitions[j],
									     *dp =
										 &dt->Partitions[j];
			assert_int_equal(dp->PartitionIndex, op->PartitionIndex);
			assert_true(dp->CommittedOffset == op->CommittedOffset);
			assert_int_equal(dp->CommittedLeaderEpoch,
					 ver >= 5 ? op->CommittedLeaderEpoch : -1);
			assert_span(dp->Metadata, op->Metadata);
			assert_int_equal(dp->ErrorCode, op->ErrorCode);
		}
	}
}

/* ---- codec table -------------------------------------------------------------------------- */

#define CODEC(label, stem, dir, api, isreq, fill, check)                                           \
	{                                                                                          \
		label, FERRY_KAFKA_##api, isreq, FERRY_KAFKA_##api##_VER_MIN,                      \
		    FERRY_KAFKA_##api##_VER_MAX, FERRY_KAFKA_##api##_VER_FLEX, stem##_##dir##_enc, \
		    stem##_##dir##_dec, fill, check                                                \
	}

static const struct codec c_fc_req = CODEC("FindCoordinator request", find_coordinator, req,
					   FIND_COORDINATOR, true, fill_fc_req, check_fc_req);
static const struct codec c_fc_resp = CODEC("FindCoordinator response", find_coordinator, resp,
					    FIND_COORDINATOR, false, fill_fc_resp, check_fc_resp);
static const struct codec c_oc_req = CODEC("OffsetCommit request", offset_commit, req,
					   OFFSET_COMMIT, true, fill_oc_req, check_oc_req);
static const struct codec c_oc_resp = CODEC("OffsetCommit response", offset_commit, resp,
					    OFFSET_COMMIT, false, fill_oc_resp, check_oc_resp);
static const struct codec c_of_req =
    CODEC("OffsetFetch request", offset_fetch, req, OFFSET_FETCH, true, fill_of_req, check_of_req);
static const struct codec c_of_resp = CODEC("OffsetFetch response", offset_fetch, resp,
					    OFFSET_FETCH, false, fill_of_resp, check_of_resp);

static const struct codec *const all_codecs[] = { &c_fc_req,  &c_fc_resp, &c_oc_req,
						  &c_oc_resp, &c_of_req,  &c_of_resp };

/* ---- the generic runner ------------------------------------------------------------------- */

static void
run_one(const struct codec *c, int16_t ver, enum shape s)
{
	union grp_msg orig, dec;
	struct ferry_wr w;
	size_t len, off;
	int rc;

	c->fill(ver, s, &orig);

	/* encode */
	ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
	rc = c->enc(&w, ver, &orig);
	if (rc != 0)
		print_error("%s v%d shape %d: encode -> %s\n", c->name, ver, s, ferry_err_name(rc));
	assert_int_equal(rc, 0);
	len = w.len;
	assert_true(len > 0);

	/* decode everything, compare fields */
	ferry_arena_init(&arena, arena_mem, sizeof(arena_mem));
	rc = dec_exact(c, ver, enc_buf, len, &arena, &dec, &off);
	if (rc != 0)
		print_error("%s v%d shape %d: decode -> %s\n", c->name, ver, s, ferry_err_name(rc));
	assert_int_equal(rc, 0);
	assert_int_equal(off, len);
	c->check(ver, &orig, &dec);

	/* the decoded message encodes to the same bytes (dropped fields came back as defaults) */
	ferry_wr_init(&w, enc_buf2, sizeof(enc_buf2));
	assert_int_equal(c->enc(&w, ver, &dec), 0);
	assert_int_equal(w.len, len);
	assert_memory_equal(enc_buf2, enc_buf, len);

	/* every strict prefix fails, with a length error, never NOMEM and never success */
	for (size_t k = 0; k < len; k++) {
		ferry_arena_init(&arena, arena_mem, sizeof(arena_mem));
		rc = dec_exact(c, ver, enc_buf, k, &arena, &dec, NULL);
		if (rc != FERRY_ERR__TRUNCATED && rc != FERRY_ERR__BAD_LENGTH)
			print_error("%s v%d shape %d: prefix %zu/%zu -> %s\n", c->name, ver, s, k,
				    len, ferry_err_name(rc));
		assert_true(rc == FERRY_ERR__TRUNCATED || rc == FERRY_ERR__BAD_LENGTH);
	}

	/* every output buffer too small reports NOSPACE */
	for (size_t k = 0; k < len; k++) {
		ferry_wr_init(&w, enc_buf2, k);
		assert_int_equal(c->enc(&w, ver, &orig), FERRY_ERR__NOSPACE);
	}

	/* every arena too small reports NOMEM, then success once it fits */
	for (size_t cap = 0;; cap += 8) {
		assert_true(cap <= sizeof(arena_mem));
		ferry_arena_init(&arena, arena_mem, cap);
		rc = dec_exact(c, ver, enc_buf, len, &arena, &dec, NULL);
		if (rc == 0)
			break;
		assert_int_equal(rc, FERRY_ERR__NOMEM);
	}
}

static void
run_codec(const struct codec *c)
{
	union grp_msg m;
	struct ferry_wr w;
	struct ferry_rd rd;
	const uint8_t bytes[64] = { 0 };

	for (int16_t ver = c->min_ver; ver <= c->max_ver; ver++)
		for (int s = 0; s < SHAPE_COUNT; s++)
			run_one(c, ver, (enum shape)s);

	/* versions outside the range, both directions */
	const int16_t bad[] = { (int16_t)(c->min_ver - 1), (int16_t)(c->max_ver + 1), INT16_MAX,
				-1 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i] >= c->min_ver && bad[i] <= c->max_ver)
			continue;
		c->fill(c->max_ver, SHAPE_FULL, &m);
		ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
		assert_int_equal(c->enc(&w, bad[i], &m), FERRY_ERR__UNSUPPORTED_VERSION);
		assert_int_equal(w.len, 0);
		ferry_rd_init(&rd, bytes, sizeof(bytes));
		ferry_arena_init(&arena, arena_mem, sizeof(arena_mem));
		assert_int_equal(c->dec(&rd, bad[i], &arena, &m), FERRY_ERR__UNSUPPORTED_VERSION);
		assert_int_equal(rd.err, FERRY_ERR__UNSUPPORTED_VERSION);
	}
}

static void
test_find_coordinator_req(void **state)
{
	(void)state;
	run_codec(&c_fc_req);
}

static void
test_find_coordinator_resp(void **state)
{
	(void)state;
	run_codec(&c_fc_resp);
}

static void
test_offset_commit_req(void **state)
{
	(void)state;
	run_codec(&c_oc_req);
}

static void
test_offset_commit_resp(void **state)
{
	(void)state;
	run_codec(&c_oc_resp);
}

static void
test_offset_fetch_req(void **state)
{
	(void)state;
	run_codec(&c_of_req);
}

static void
test_offset_fetch_resp(void **state)
{
	(void)state;
	run_codec(&c_of_resp);
}

/* ---- whole frames through the API table --------------------------------------------------- */

/*
 * Every version of every group API as a whole request and response frame:
 * the table entry has the right range, name and first flexible version, the
 * header is v2/v1 exactly from the flexible version on, and
 * ferry_kafka_request_decode / ferry_kafka_response_decode give the fields back.
 */
static void
test_api_table(void **state)
{
	static uint8_t frame[BUF_SIZE];
	union grp_msg orig, dec;
	struct ferry_kafka_reqhdr h, h2;
	struct ferry_span body;
	struct ferry_wr w, wb;
	size_t used;
	char err[256];

	(void)state;
	assert_int_equal(ferry_kafka_api_get(FERRY_KAFKA_FIND_COORDINATOR)->req_size,
			 sizeof(struct ferry_kafka_find_coordinator_req));
	assert_int_equal(ferry_kafka_api_get(FERRY_KAFKA_FIND_COORDINATOR)->resp_size,
			 sizeof(struct ferry_kafka_find_coordinator_resp));
	assert_int_equal(ferry_kafka_api_get(FERRY_KAFKA_OFFSET_COMMIT)->req_size,
			 sizeof(struct ferry_kafka_offset_commit_req));
	assert_int_equal(ferry_kafka_api_get(FERRY_KAFKA_OFFSET_COMMIT)->resp_size,
			 sizeof(struct ferry_kafka_offset_commit_resp));
	assert_int_equal(ferry_kafka_api_get(FERRY_KAFKA_OFFSET_FETCH)->req_size,
			 sizeof(struct ferry_kafka_offset_fetch_req));
	assert_int_equal(ferry_kafka_api_get(FERRY_KAFKA_OFFSET_FETCH)->resp_size,
			 sizeof(struct ferry_kafka_offset_fetch_resp));
	for (size_t i = 0; i < sizeof(all_codecs) / sizeof(all_codecs[0]); i++) {
		const struct codec *c = all_codecs[i];
		const struct ferry_kafka_api_info *api = ferry_kafka_api_get(c->api);

		assert_non_null(api);
		assert_int_equal(api->min_ver, c->min_ver);
		assert_int_equal(api->max_ver, c->max_ver);
		assert_int_equal(api->flex_ver, c->flex_ver);
		assert_string_equal(ferry_kafka_api_name(c->api), api->name);
		for (int16_t ver = c->min_ver; ver <= c->max_ver; ver++) {
			bool flex = ver >= c->flex_ver;
			size_t hdr;

			assert_int_equal(ferry_kafka_api_is_flexible(c->api, ver), flex);
			c->fill(ver, SHAPE_FULL, &orig);
			/* the body alone, to find it again inside the frame */
			ferry_wr_init(&wb, enc_buf, sizeof(enc_buf));
			assert_int_equal(c->enc(&wb, ver, &orig), 0);
			ferry_wr_init(&w, frame, sizeof(frame));
			if (c->is_req) {
				h = (struct ferry_kafka_reqhdr){ c->api, ver, 4000 + ver,
								 sp("cid") };
				assert_int_equal(ferry_kafka_request_encode(&w, &h, &orig), 0);
				/* key, version, correlation id, int16 client id, tags if flexible
				 */
				hdr = 2 + 2 + 4 + 2 + 3 + (flex ? 1 : 0);
			} else {
				assert_int_equal(
				    ferry_kafka_response_encode(&w, c->api, ver, 77, &orig), 0);
				/* correlation id, tags if flexible (response header v1) */
				hdr = 4 + (flex ? 1 : 0);
			}
			assert_int_equal(w.len, 4 + hdr + wb.len);
			assert_memory_equal(frame + 4 + hdr, enc_buf, wb.len);
			if (flex)
				assert_int_equal(frame[4 + hdr - 1], 0x00);
			assert_int_equal(ferry_kafka_frame_split(ferry_span_make(frame, w.len),
								 sizeof(frame), &body, &used),
					 0);
			assert_int_equal(used, w.len);
			ferry_arena_init(&arena, arena_mem, sizeof(arena_mem));
			if (c->is_req) {
				assert_int_equal(ferry_kafka_request_decode(body, &arena, &h2, &dec,
									    err, sizeof(err)),
						 0);
				assert_int_equal(h2.ApiKey, c->api);
				assert_int_equal(h2.ApiVersion, ver);
				assert_int_equal(h2.CorrelationId, 4000 + ver);
				assert_span(h2.ClientId, sp("cid"));
			} else {
				/* the wrong correlation id is refused, the right one decodes */
				assert_int_equal(ferry_kafka_response_decode(body, c->api, ver, 78,
									     &arena, &dec, err,
									     sizeof(err)),
						 FERRY_ERR__CORRELATION);
				ferry_arena_init(&arena, arena_mem, sizeof(arena_mem));
				assert_int_equal(ferry_kafka_response_decode(body, c->api, ver, 77,
									     &arena, &dec, err,
									     sizeof(err)),
						 0);
			}
			c->check(ver, &orig, &dec);
		}
		/* one past the top is refused by the table, before any body codec runs */
		c->fill(c->max_ver, SHAPE_FULL, &orig);
		ferry_wr_init(&w, frame, sizeof(frame));
		if (c->is_req) {
			h = (struct ferry_kafka_reqhdr){ c->api, (int16_t)(c->max_ver + 1), 1,
							 sp("cid") };
			assert_int_equal(ferry_kafka_request_encode(&w, &h, &orig),
					 FERRY_ERR__UNSUPPORTED_VERSION);
		} else {
			assert_int_equal(ferry_kafka_response_encode(
					     &w, c->api, (int16_t)(c->max_ver + 1), 1, &orig),
					 FERRY_ERR__UNSUPPORTED_VERSION);
		}
	}
}

/* ---- golden vectors ----------------------------------------------------------------------- */

/* Encode m at ver and compare with the expected bytes, then decode those bytes
 * (all consumed) and re-check through the codec's field comparison. */
static void
golden(const struct codec *c, int16_t ver, const void *m, const char *hex)
{
	uint8_t exp[512];
	size_t n = hex2bin(hex, exp, sizeof(exp));
	union grp_msg dec;
	struct ferry_wr w;
	size_t off;

	ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
	assert_int_equal(c->enc(&w, ver, m), 0);
	if (w.len != n || memcmp(enc_buf, exp, n) != 0) {
		print_error("%s v%d golden mismatch: got", c->name, ver);
		for (size_t i = 0; i < w.len; i++)
			print_error(" %02x", enc_buf[i]);
		print_error("\n");
	}
	assert_int_equal(w.len, n);
	assert_memory_equal(enc_buf, exp, n);
	assert_int_equal(dec_bytes(c, ver, exp, n, &dec, &off), 0);
	assert_int_equal(off, n);
	c->check(ver, m, &dec);
}

static void
test_golden_find_coordinator(void **state)
{
	struct ferry_kafka_find_coordinator_req rq = { sp("g1"), 0 };
	struct ferry_kafka_find_coordinator_resp rs;

	(void)state;
	/* request: Key STRING, KeyType INT8 (v1+); v3 compact + tags */
	golden(&c_fc_req, 0, &rq, "00 02 67 31");
	rq.KeyType = FERRY_KAFKA_COORD_TRANSACTION;
	golden(&c_fc_req, 1, &rq, "00 02 67 31 01");
	golden(&c_fc_req, 2, &rq, "00 02 67 31 01");
	rq.KeyType = FERRY_KAFKA_COORD_GROUP;
	golden(&c_fc_req, 3, &rq, "03 67 31 00 00");

	/* response: [ThrottleTimeMs v1+] ErrorCode [ErrorMessage v1+] NodeId Host Port */
	ferry_kafka_find_coordinator_resp_init(&rs);
	rs.NodeId = 1;
	rs.Host = sp("h");
	rs.Port = 9092;
	golden(&c_fc_resp, 0, &rs, "00 00 | 00 00 00 01 | 00 01 68 | 00 00 23 84");
	golden(&c_fc_resp, 2, &rs,
	       "00 00 00 00 | 00 00 | ff ff | 00 00 00 01 | 00 01 68 | 00 00 23 84");
	golden(&c_fc_resp, 3, &rs,
	       "00 00 00 00 | 00 00 | 00 | 00 00 00 01 | 02 68 | 00 00 23 84 | 00");
	rs.ErrorCode = FERRY_ERR_COORDINATOR_NOT_AVAILABLE;
	rs.ErrorMessage = sp("no");
	rs.NodeId = -1;
	rs.Host = sp("");
	rs.Port = -1;
	golden(&c_fc_resp, 1, &rs,
	       "00 00 00 00 | 00 0f | 00 02 6e 6f | ff ff ff ff | 00 00 | ff ff ff ff");
}

static void
test_golden_offset_commit(void **state)
{
	struct ferry_kafka_offset_commit_req rq;
	struct ferry_kafka_offset_commit_req_partition p;
	struct ferry_kafka_offset_commit_req_topic t = { sp("t"), 1, &p };
	struct ferry_kafka_offset_commit_resp_partition rp = { 0, 0 };
	struct ferry_kafka_offset_commit_resp_topic rt = { sp("t"), 1, &rp };
	struct ferry_kafka_offset_commit_resp rs = { 0, 1, &rt };

	(void)state;
	/* What a librdkafka consumer using assign() commits: generation -1, member "". */
	ferry_kafka_offset_commit_req_init(&rq);
	ferry_kafka_offset_commit_req_partition_init(&p);
	rq.GroupId = sp("g");
	rq.n_topics = 1;
	rq.Topics = &t;
	p.CommittedOffset = 42;
	p.CommittedMetadata = sp("");
	/* v2: GroupId, GenerationId, MemberId, RetentionTimeMs, Topics */
	golden(&c_oc_req, 2, &rq,
	       "00 01 67 | ff ff ff ff | 00 00 | ff ff ff ff ff ff ff ff | 00 00 00 01"
	       "| 00 01 74 | 00 00 00 01 | 00 00 00 00 | 00 00 00 00 00 00 00 2a | 00 00");
	/* v5: RetentionTimeMs gone */
	golden(&c_oc_req, 5, &rq,
	       "00 01 67 | ff ff ff ff | 00 00 | 00 00 00 01"
	       "| 00 01 74 | 00 00 00 01 | 00 00 00 00 | 00 00 00 00 00 00 00 2a | 00 00");
	/* v8: GroupInstanceId null, CommittedLeaderEpoch, compact + tags, metadata null */
	p.CommittedMetadata = null_span;
	golden(&c_oc_req, 8, &rq,
	       "02 67 | ff ff ff ff | 01 | 00 | 02 | 02 74 | 02 | 00 00 00 00"
	       "| 00 00 00 00 00 00 00 2a | ff ff ff ff | 00 | 00 | 00 | 00");

	/* response v2 (no throttle), v3, v8 */
	golden(&c_oc_resp, 2, &rs, "00 00 00 01 | 00 01 74 | 00 00 00 01 | 00 00 00 00 | 00 00");
	golden(&c_oc_resp, 3, &rs,
	       "00 00 00 00 | 00 00 00 01 | 00 01 74 | 00 00 00 01 | 00 00 00 00 | 00 00");
	golden(&c_oc_resp, 8, &rs,
	       "00 00 00 00 | 02 | 02 74 | 02 | 00 00 00 00 | 00 00 | 00 | 00 | 00");
}

static void
test_golden_offset_fetch(void **state)
{
	int32_t parts[] = { 0 };
	struct ferry_kafka_offset_fetch_req_topic t = { sp("t"), 1, parts };
	struct ferry_kafka_offset_fetch_req rq = { sp("g"), 1, &t, false };
	struct ferry_kafka_offset_fetch_resp_partition rp;
	struct ferry_kafka_offset_fetch_resp_topic rt = { sp("t"), 1, &rp };
	struct ferry_kafka_offset_fetch_resp rs = { 0, 1, &rt, 0 };

	(void)state;
	golden(&c_of_req, 1, &rq, "00 01 67 | 00 00 00 01 | 00 01 74 | 00 00 00 01 00 00 00 00");
	golden(&c_of_req, 6, &rq, "02 67 | 02 | 02 74 | 02 00 00 00 00 | 00 | 00");
	/* v7: null topics (every committed topic), RequireStable true */
	rq.n_topics = -1;
	rq.Topics = NULL;
	rq.RequireStable = true;
	golden(&c_of_req, 7, &rq, "02 67 | 00 | 01 | 00");
	rq.RequireStable = false;
	golden(&c_of_req, 2, &rq, "00 01 67 | ff ff ff ff");

	/* response: nothing committed = offset -1, metadata "" (what brokers send) */
	ferry_kafka_offset_fetch_resp_partition_init(&rp);
	rp.Metadata = sp("");
	golden(&c_of_resp, 1, &rs,
	       "00 00 00 01 | 00 01 74 | 00 00 00 01 | 00 00 00 00 | ff ff ff ff ff ff ff ff"
	       "| 00 00 | 00 00");
	rp.CommittedOffset = 42;
	rp.CommittedLeaderEpoch = 0;
	golden(&c_of_resp, 6, &rs,
	       "00 00 00 00 | 02 | 02 74 | 02 | 00 00 00 00 | 00 00 00 00 00 00 00 2a"
	       "| 00 00 00 00 | 01 | 00 00 | 00 | 00 | 00 00 | 00");
}

/* ---- hostile input ------------------------------------------------------------------------ */

static void
test_unknown_tags_skipped(void **state)
{
	union grp_msg m;
	size_t off;

	(void)state;
	/* FindCoordinator v3 request, body tags: 2 unknown tags (7: 3 bytes, 40: 0 bytes) */
	static const uint8_t fc[] = { 0x03, 'g',  '1',  0x01, 0x02, 0x07,
				      0x03, 0xaa, 0xbb, 0xcc, 0x28, 0x00 };
	assert_int_equal(dec_bytes(&c_fc_req, 3, fc, sizeof(fc), &m, &off), 0);
	assert_int_equal(off, sizeof(fc));
	assert_span(m.fc_req.Key, sp("g1"));
	assert_int_equal(m.fc_req.KeyType, 1);

	/* OffsetFetch v6 response: an unknown tag in a partition and in the topic */
	uint8_t of[64];
	size_t nof =
	    hex2bin("00 00 00 00 | 02 | 02 74 | 02 | 00 00 00 05 | 00 00 00 00 00 00 00 07"
		    "| ff ff ff ff | 00 | 00 00 | 01 05 02 01 02 | 01 00 01 00 | 00 00 | 00",
		    of, sizeof(of));
	assert_int_equal(dec_bytes(&c_of_resp, 6, of, nof, &m, &off), 0);
	assert_int_equal(off, nof);
	assert_int_equal(m.of_resp.Topics[0].Partitions[0].PartitionIndex, 5);
	assert_true(m.of_resp.Topics[0].Partitions[0].CommittedOffset == 7);
	assert_null(m.of_resp.Topics[0].Partitions[0].Metadata.p);

	/* OffsetCommit v8 response with a 300-byte unknown body tag (two-byte size varint) */
	uint8_t oc[4 + 1 + 1 + 1 + 2 + 300];
	memset(oc, 0x5a, sizeof(oc));
	memcpy(oc, (const uint8_t[]){ 0x00, 0x00, 0x00, 0x09, 0x01, 0x01, 0x03, 0xac, 0x02 }, 9);
	assert_int_equal(dec_bytes(&c_oc_resp, 8, oc, sizeof(oc), &m, &off), 0);
	assert_int_equal(off, sizeof(oc));
	assert_int_equal(m.oc_resp.ThrottleTimeMs, 9);
	assert_int_equal(m.oc_resp.n_topics, 0);
	/* ... and cut inside that tag's value */
	assert_int_equal(dec_bytes(&c_oc_resp, 8, oc, sizeof(oc) - 1, &m, NULL),
			 FERRY_ERR__TRUNCATED);
}

static void
test_too_many_tags(void **state)
{
	union grp_msg m;

	(void)state;
	/* FindCoordinator v3 response: body tag count 127 with nothing behind it */
	uint8_t fc[32];
	size_t nfc = hex2bin("00 00 00 00 | 00 00 | 00 | 00 00 00 01 | 01 | 00 00 23 84 | 7f", fc,
			     sizeof(fc));
	assert_int_equal(dec_bytes(&c_fc_resp, 3, fc, nfc, &m, NULL), FERRY_ERR__TOO_MANY_TAGS);
	/* OffsetFetch v6 request: a topic claiming 0x3fff tags */
	static const uint8_t of[] = { 0x02, 'g', 0x02, 0x02, 't', 0x01, 0xff, 0x7f, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_of_req, 6, of, sizeof(of), &m, NULL),
			 FERRY_ERR__TOO_MANY_TAGS);
	/* OffsetCommit v8 request: a huge tag count varint (2^32-1) on the body */
	static const uint8_t oc[] = { 0x02, 'g',  0xff, 0xff, 0xff, 0xff, 0x01,
				      0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f };
	assert_int_equal(dec_bytes(&c_oc_req, 8, oc, sizeof(oc), &m, NULL),
			 FERRY_ERR__TOO_MANY_TAGS);
	/* a tag whose size runs past the end */
	static const uint8_t fq[] = { 0x02, 'g', 0x00, 0x01, 0x00, 0x09, 0x00 };
	assert_int_equal(dec_bytes(&c_fc_req, 3, fq, sizeof(fq), &m, NULL), FERRY_ERR__TRUNCATED);
}

static void
test_hostile_counts(void **state)
{
	union grp_msg m;

	(void)state;
	/* OffsetCommit v2 request: 0x7fffffff topics in a few bytes */
	static const uint8_t oc2[] = { 0x00, 0x01, 'g',  0xff, 0xff, 0xff, 0xff, 0x00,
				       0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 't' };
	assert_int_equal(dec_bytes(&c_oc_req, 2, oc2, sizeof(oc2), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* ... 3 partitions (at least 14 bytes each at v5) with 30 bytes behind */
	uint8_t oc5[3 + 4 + 2 + 4 + 3 + 4 + 30] = { 0x00, 0x01, 'g',  0xff, 0xff, 0xff, 0xff,
						    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
						    0x01, 't',  0x00, 0x00, 0x00, 0x03 };
	assert_int_equal(dec_bytes(&c_oc_req, 5, oc5, sizeof(oc5), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* OffsetCommit v8: compact count 2^32-2 */
	static const uint8_t oc8[] = { 0x02, 'g',  0xff, 0xff, 0xff, 0xff, 0x01, 0x00,
				       0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_oc_req, 8, oc8, sizeof(oc8), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* OffsetFetch v1 request: PartitionIndexes []int32 of 3 with 8 bytes behind */
	static const uint8_t of1[] = { 0x00, 0x01, 'g',  0x00, 0x00, 0x00, 0x01, 0x00,
				       0x01, 't',  0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
				       0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
	assert_int_equal(dec_bytes(&c_of_req, 1, of1, sizeof(of1), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* OffsetFetch v5 response: 1000 partitions (24 bytes each) in 30 bytes */
	uint8_t of5[4 + 4 + 3 + 4 + 30] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
					    0x00, 0x01, 't',  0x00, 0x00, 0x03, 0xe8 };
	assert_int_equal(dec_bytes(&c_of_resp, 5, of5, sizeof(of5), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* negative count (-2) on an array, and -1 on a non-nullable one */
	static const uint8_t neg2[] = { 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xfe };
	assert_int_equal(dec_bytes(&c_oc_resp, 3, neg2, sizeof(neg2), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	static const uint8_t neg1[] = { 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(dec_bytes(&c_oc_resp, 3, neg1, sizeof(neg1), &m, NULL),
			 FERRY_ERR__NULL_FIELD);
	/* OffsetFetch request: null Topics is NULL_FIELD at v1, "every topic" from v2 */
	static const uint8_t ofn[] = { 0x00, 0x01, 'g', 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(dec_bytes(&c_of_req, 1, ofn, sizeof(ofn), &m, NULL),
			 FERRY_ERR__NULL_FIELD);
	assert_int_equal(dec_bytes(&c_of_req, 2, ofn, sizeof(ofn), &m, NULL), 0);
	assert_int_equal(m.of_req.n_topics, -1);
	assert_null(m.of_req.Topics);
	/* ... and compact 0 at v6 (the -1 of the compact form) */
	static const uint8_t ofc[] = { 0x02, 'g', 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_of_req, 6, ofc, sizeof(ofc), &m, NULL), 0);
	assert_int_equal(m.of_req.n_topics, -1);
	/* OffsetFetch v6 response: compact 0 (null) Topics is not allowed */
	static const uint8_t ofr[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_of_resp, 6, ofr, sizeof(ofr), &m, NULL),
			 FERRY_ERR__NULL_FIELD);
}

static void
test_bad_strings(void **state)
{
	union grp_msg m;

	(void)state;
	/* FindCoordinator: Key is not nullable: -1 is NULL_FIELD, -2 BAD_LENGTH */
	static const uint8_t k1[] = { 0xff, 0xff, 0x00 };
	assert_int_equal(dec_bytes(&c_fc_req, 1, k1, sizeof(k1), &m, NULL), FERRY_ERR__NULL_FIELD);
	static const uint8_t k2[] = { 0xff, 0xfe, 0x00 };
	assert_int_equal(dec_bytes(&c_fc_req, 1, k2, sizeof(k2), &m, NULL), FERRY_ERR__BAD_LENGTH);
	static const uint8_t k3[] = { 0x80, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_fc_req, 0, k3, sizeof(k3), &m, NULL), FERRY_ERR__BAD_LENGTH);
	/* a length past the end, and a compact null Key at v3 */
	static const uint8_t k4[] = { 0x00, 0x20, 'x' };
	assert_int_equal(dec_bytes(&c_fc_req, 0, k4, sizeof(k4), &m, NULL), FERRY_ERR__TRUNCATED);
	static const uint8_t k5[] = { 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_fc_req, 3, k5, sizeof(k5), &m, NULL), FERRY_ERR__NULL_FIELD);
	/* FindCoordinator v1 response: Host -1 */
	static const uint8_t h1[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00,
				      0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x23, 0x84 };
	assert_int_equal(dec_bytes(&c_fc_resp, 1, h1, sizeof(h1), &m, NULL), FERRY_ERR__NULL_FIELD);
	/* OffsetCommit v7: GroupInstanceId may be null, MemberId may not */
	static const uint8_t oc7[] = { 0x00, 0x01, 'g',  0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_oc_req, 7, oc7, sizeof(oc7), &m, NULL),
			 FERRY_ERR__NULL_FIELD);
	/* OffsetCommit v8: compact length varint too long on GroupId */
	static const uint8_t oc8[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00 };
	assert_int_equal(dec_bytes(&c_oc_req, 8, oc8, sizeof(oc8), &m, NULL),
			 FERRY_ERR__BAD_VARINT);
}

/* Encoders refuse what the version cannot say and leave the writer as it was. */
static void
expect_invalid(const struct codec *c, int16_t ver, const void *m)
{
	struct ferry_wr w;

	ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
	ferry_wr_raw(&w, "hdr", 3); /* something already in the buffer */
	assert_int_equal(c->enc(&w, ver, m), FERRY_ERR__INVALID_ARG);
	assert_int_equal(w.len, 3);
	assert_false(w.overflow);
	assert_memory_equal(enc_buf, "hdr", 3);
}

static void
test_encode_refusals(void **state)
{
	union grp_msg m;

	(void)state;
	/* FindCoordinator: KeyType is non-ignorable, Key and Host not nullable */
	fill_fc_req(1, SHAPE_FULL, &m);
	expect_invalid(&c_fc_req, 0, &m);
	m.fc_req.KeyType = 0;
	m.fc_req.Key = null_span;
	expect_invalid(&c_fc_req, 2, &m);
	fill_fc_resp(3, SHAPE_FULL, &m);
	m.fc_resp.Host = null_span;
	expect_invalid(&c_fc_resp, 3, &m);

	/* OffsetCommit: GroupInstanceId before v7, null GroupId/MemberId/Name, counts */
	fill_oc_req(7, SHAPE_FULL, &m);
	expect_invalid(&c_oc_req, 6, &m);
	fill_oc_req(2, SHAPE_FULL, &m);
	m.oc_req.MemberId = null_span;
	expect_invalid(&c_oc_req, 2, &m);
	fill_oc_req(2, SHAPE_FULL, &m);
	m.oc_req.GroupId = null_span;
	expect_invalid(&c_oc_req, 8, &m);
	fill_oc_req(2, SHAPE_FULL, &m);
	oc_req_topics[1].Name = null_span; /* the second topic: refused after writing the first */
	expect_invalid(&c_oc_req, 4, &m);
	fill_oc_req(2, SHAPE_FULL, &m);
	m.oc_req.n_topics = -1;
	expect_invalid(&c_oc_req, 8, &m);
	fill_oc_resp(3, SHAPE_FULL, &m);
	oc_resp_topics[1].Partitions = NULL;
	expect_invalid(&c_oc_resp, 3, &m);

	/* OffsetFetch: RequireStable before v7, null Topics at v1, null names */
	fill_of_req(7, SHAPE_FULL, &m);
	expect_invalid(&c_of_req, 6, &m);
	fill_of_req(2, SHAPE_EMPTY, &m);
	expect_invalid(&c_of_req, 1, &m);
	fill_of_req(1, SHAPE_FULL, &m);
	of_req_topics[1].Name = null_span;
	expect_invalid(&c_of_req, 1, &m);
	fill_of_req(1, SHAPE_FULL, &m);
	m.of_req.GroupId = null_span;
	expect_invalid(&c_of_req, 5, &m);
	fill_of_resp(7, SHAPE_FULL, &m);
	m.of_resp.n_topics = -1;
	expect_invalid(&c_of_resp, 7, &m);
	fill_of_resp(7, SHAPE_FULL, &m);
	of_resp_topics[1].n_partitions = -2;
	expect_invalid(&c_of_resp, 4, &m);
}

/* Ignorable fields a version lacks are dropped without complaint. */
static void
test_ignorable_dropped(void **state)
{
	struct ferry_kafka_offset_commit_req rq;
	struct ferry_kafka_find_coordinator_resp rs;
	struct ferry_wr w;

	(void)state;
	ferry_kafka_offset_commit_req_init(&rq);
	rq.GroupId = sp("g");
	rq.RetentionTimeMs = 1000; /* v2-4 only */
	ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
	assert_int_equal(ferry_kafka_offset_commit_req_encode(&w, 6, &rq), 0);
	static const uint8_t exp[] = { 0x00, 0x01, 'g',  0xff, 0xff, 0xff, 0xff,
				       0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(w.len, sizeof(exp));
	assert_memory_equal(enc_buf, exp, sizeof(exp));

	ferry_kafka_find_coordinator_resp_init(&rs);
	rs.ThrottleTimeMs = 100;
	rs.ErrorMessage = sp("dropped at v0");
	rs.Host = sp("h");
	ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
	assert_int_equal(ferry_kafka_find_coordinator_resp_encode(&w, 0, &rs), 0);
	assert_int_equal(w.len, 2 + 4 + 3 + 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_coordinator_req),
		cmocka_unit_test(test_find_coordinator_resp),
		cmocka_unit_test(test_offset_commit_req),
		cmocka_unit_test(test_offset_commit_resp),
		cmocka_unit_test(test_offset_fetch_req),
		cmocka_unit_test(test_offset_fetch_resp),
		cmocka_unit_test(test_api_table),
		cmocka_unit_test(test_golden_find_coordinator),
		cmocka_unit_test(test_golden_offset_commit),
		cmocka_unit_test(test_golden_offset_fetch),
		cmocka_unit_test(test_unknown_tags_skipped),
		cmocka_unit_test(test_too_many_tags),
		cmocka_unit_test(test_hostile_counts),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_ignorable_dropped),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	dec_copy_free();
	return failed;
}
