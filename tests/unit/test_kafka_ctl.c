/*
 * test_kafka_ctl.c - unit tests of the control-side Kafka body codecs:
 * Metadata (3), ListOffsets (2), InitProducerId (22), AddPartitionsToTxn (24),
 * EndTxn (26), requests and responses, every version ferry implements.
 *
 * For every API, direction, version and a few shapes of message (full,
 * minimal elements, empty/null arrays) the generic runner checks:
 * encode -> decode -> same fields (version-aware: fields a version lacks come
 * back as spec defaults) -> re-encode gives the same bytes; every strict
 * prefix fails to decode (from an exact-size heap copy, so a sanitizer sees any
 * over-read); every too-small output buffer gives NOSPACE; every too-small
 * arena gives NOMEM. Then byte-exact golden vectors written by hand from the
 * message JSON layouts (and kafka-wire-facts.md §7.5 for InitProducerId v2),
 * unknown tagged fields, tag-count and array-count lies, bad string lengths,
 * and the encoders' refusals.
 *
 * Single-threaded (cmocka); static fixtures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ferry/kafka_ctl.h"

#define BUF_SIZE   8192
#define ARENA_SIZE (1 << 16)

static uint8_t enc_buf[BUF_SIZE];
static uint8_t enc_buf2[BUF_SIZE];
static _Alignas(16) uint8_t arena_mem[ARENA_SIZE];
static struct ferry_arena arena;

union ctl_msg {
	struct ferry_kafka_metadata_req md_req;
	struct ferry_kafka_metadata_resp md_resp;
	struct ferry_kafka_list_offsets_req lo_req;
	struct ferry_kafka_list_offsets_resp lo_resp;
	struct ferry_kafka_init_producer_id_req ipid_req;
	struct ferry_kafka_init_producer_id_resp ipid_resp;
	struct ferry_kafka_add_partitions_to_txn_req apt_req;
	struct ferry_kafka_add_partitions_to_txn_resp apt_resp;
	struct ferry_kafka_end_txn_req etx_req;
	struct ferry_kafka_end_txn_resp etx_resp;
};

/* Message shapes the fill functions build. */
enum shape {
	SHAPE_FULL,    /* non-default values everywhere, several elements */
	SHAPE_MINIMAL, /* many smallest-possible elements: checks the min element sizes */
	SHAPE_EMPTY,   /* empty (or null where nullable) arrays, null/empty strings */
	SHAPE_COUNT,
};

struct codec {
	const char *name;
	int16_t min_ver, max_ver;
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

CODEC_WRAP(metadata, req)
CODEC_WRAP(metadata, resp)
CODEC_WRAP(list_offsets, req)
CODEC_WRAP(list_offsets, resp)
CODEC_WRAP(init_producer_id, req)
CODEC_WRAP(init_producer_id, resp)
CODEC_WRAP(add_partitions_to_txn, req)
CODEC_WRAP(add_partitions_to_txn, resp)
CODEC_WRAP(end_txn, req)
CODEC_WRAP(end_txn, resp)

static const uint8_t zero_uuid[16];
static const uint8_t uuid_a[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
static const uint8_t uuid_b[16] = { 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
				    0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f };

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

static void
assert_i32s(const int32_t *a, const int32_t *b, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		assert_int_equal(a[i], b[i]);
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

/* ---- Metadata fixtures -------------------------------------------------------------------- */

static struct ferry_kafka_metadata_req_topic md_req_topics[3];

static void
fill_md_req(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_metadata_req *m = p;

	ferry_kafka_metadata_req_init(m);
	memset(md_req_topics, 0, sizeof(md_req_topics));
	m->Topics = md_req_topics;
	switch (s) {
	case SHAPE_FULL:
		m->n_topics = 3;
		md_req_topics[0].Name = sp("heartbeats");
		md_req_topics[1].Name = sp("mm2-offset-syncs.target.internal");
		/* Name is nullable from v10 (look up by TopicId). */
		md_req_topics[2].Name = ver >= 10 ? null_span : sp("x");
		/* TopicId is ignorable: set it everywhere, expect it dropped before v10. */
		memcpy(md_req_topics[0].TopicId, uuid_a, 16);
		memcpy(md_req_topics[2].TopicId, uuid_b, 16);
		m->AllowAutoTopicCreation = ver < 4;
		m->IncludeClusterAuthorizedOperations = ver >= 8 && ver <= 10;
		m->IncludeTopicAuthorizedOperations = ver >= 8;
		break;
	case SHAPE_MINIMAL:
		m->n_topics = 3;
		for (int i = 0; i < 3; i++)
			md_req_topics[i].Name = ver >= 10 ? null_span : sp("");
		break;
	default:
		m->n_topics = -1; /* all topics */
		m->Topics = NULL;
		break;
	}
}

static void
check_md_req(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_metadata_req *o = po, *d = pd;

	assert_int_equal(d->n_topics, o->n_topics);
	if (o->n_topics < 0)
		assert_null(d->Topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		assert_memory_equal(d->Topics[i].TopicId,
				    ver >= 10 ? o->Topics[i].TopicId : zero_uuid, 16);
		assert_span(d->Topics[i].Name, o->Topics[i].Name);
	}
	assert_int_equal(d->AllowAutoTopicCreation, ver >= 4 ? o->AllowAutoTopicCreation : true);
	assert_int_equal(d->IncludeClusterAuthorizedOperations,
			 ver >= 8 && ver <= 10 ? o->IncludeClusterAuthorizedOperations : false);
	assert_int_equal(d->IncludeTopicAuthorizedOperations,
			 ver >= 8 ? o->IncludeTopicAuthorizedOperations : false);
}

static struct ferry_kafka_metadata_resp_broker md_brokers[3];
static struct ferry_kafka_metadata_resp_topic md_topics[3];
static struct ferry_kafka_metadata_resp_partition md_parts[4];
static const int32_t md_rep[] = { 1, 2, 3 };
static const int32_t md_isr[] = { 2, 1 };
static const int32_t md_off[] = { 3 };

static void
fill_md_resp(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_metadata_resp *m = p;

	ferry_kafka_metadata_resp_init(m);
	memset(md_brokers, 0, sizeof(md_brokers));
	for (int i = 0; i < 3; i++)
		ferry_kafka_metadata_resp_topic_init(&md_topics[i]);
	for (int i = 0; i < 4; i++)
		ferry_kafka_metadata_resp_partition_init(&md_parts[i]);
	m->Brokers = md_brokers;
	m->Topics = md_topics;

	if (s == SHAPE_EMPTY)
		return; /* no brokers, no topics, null ClusterId */
	if (s == SHAPE_MINIMAL) {
		m->n_brokers = 3;
		m->n_topics = 3;
		for (int i = 0; i < 3; i++) {
			md_brokers[i].Host = sp("");
			md_topics[i].Name = ver >= 12 ? null_span : sp("");
		}
		md_topics[2].n_partitions = 3;
		md_topics[2].Partitions = md_parts;
		return;
	}

	/* ThrottleTimeMs, ClusterId, TopicId, LeaderEpoch, OfflineReplicas are ignorable:
	 * set them in every version and expect them dropped where absent. */
	m->ThrottleTimeMs = 123;
	m->n_brokers = 2;
	md_brokers[0] = (struct ferry_kafka_metadata_resp_broker){ 1, sp("broker-1.example"), 9092,
								   sp("rack-a") };
	md_brokers[1] = (struct ferry_kafka_metadata_resp_broker){ 2, sp("b2"), 9093, null_span };
	m->ClusterId = sp("cluster-xyz");
	m->ControllerId = 2;
	m->n_topics = 2;
	md_topics[0].ErrorCode = 0;
	md_topics[0].Name = sp("heartbeats");
	memcpy(md_topics[0].TopicId, uuid_a, 16);
	md_topics[0].IsInternal = true;
	md_topics[0].n_partitions = 2;
	md_topics[0].Partitions = md_parts;
	if (ver >= 8)
		md_topics[0].TopicAuthorizedOperations = 0x0ff8;
	md_topics[1].ErrorCode = FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	md_topics[1].Name = ver >= 12 ? null_span : sp("gone");
	memcpy(md_topics[1].TopicId, uuid_b, 16);
	md_parts[0].PartitionIndex = 0;
	md_parts[0].LeaderId = 1;
	md_parts[0].LeaderEpoch = 7;
	md_parts[0].n_replica_nodes = 3;
	md_parts[0].ReplicaNodes = (int32_t *)md_rep;
	md_parts[0].n_isr_nodes = 2;
	md_parts[0].IsrNodes = (int32_t *)md_isr;
	md_parts[0].n_offline_replicas = 1;
	md_parts[0].OfflineReplicas = (int32_t *)md_off;
	md_parts[1].ErrorCode = FERRY_ERR_LEADER_NOT_AVAILABLE;
	md_parts[1].PartitionIndex = 1;
	md_parts[1].LeaderId = -1;
	md_parts[1].LeaderEpoch = 8;
	md_parts[1].n_replica_nodes = 1;
	md_parts[1].ReplicaNodes = (int32_t *)md_off;
	if (ver >= 8 && ver <= 10)
		m->ClusterAuthorizedOperations = 0x1234;
}

static void
check_md_part(int16_t ver, const struct ferry_kafka_metadata_resp_partition *o,
	      const struct ferry_kafka_metadata_resp_partition *d)
{
	assert_int_equal(d->ErrorCode, o->ErrorCode);
	assert_int_equal(d->PartitionIndex, o->PartitionIndex);
	assert_int_equal(d->LeaderId, o->LeaderId);
	assert_int_equal(d->LeaderEpoch, ver >= 7 ? o->LeaderEpoch : -1);
	assert_int_equal(d->n_replica_nodes, o->n_replica_nodes);
	assert_i32s(d->ReplicaNodes, o->ReplicaNodes, o->n_replica_nodes);
	assert_int_equal(d->n_isr_nodes, o->n_isr_nodes);
	assert_i32s(d->IsrNodes, o->IsrNodes, o->n_isr_nodes);
	if (ver >= 5) {
		assert_int_equal(d->n_offline_replicas, o->n_offline_replicas);
		assert_i32s(d->OfflineReplicas, o->OfflineReplicas, o->n_offline_replicas);
	} else {
		assert_int_equal(d->n_offline_replicas, 0);
	}
}

static void
check_md_resp(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_metadata_resp *o = po, *d = pd;

	assert_int_equal(d->ThrottleTimeMs, ver >= 3 ? o->ThrottleTimeMs : 0);
	assert_int_equal(d->n_brokers, o->n_brokers);
	for (int32_t i = 0; i < o->n_brokers; i++) {
		assert_int_equal(d->Brokers[i].NodeId, o->Brokers[i].NodeId);
		assert_span(d->Brokers[i].Host, o->Brokers[i].Host);
		assert_int_equal(d->Brokers[i].Port, o->Brokers[i].Port);
		assert_span(d->Brokers[i].Rack, o->Brokers[i].Rack);
	}
	assert_span(d->ClusterId, ver >= 2 ? o->ClusterId : null_span);
	assert_int_equal(d->ControllerId, o->ControllerId);
	assert_int_equal(d->n_topics, o->n_topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		const struct ferry_kafka_metadata_resp_topic *ot = &o->Topics[i],
							     *dt = &d->Topics[i];
		assert_int_equal(dt->ErrorCode, ot->ErrorCode);
		assert_span(dt->Name, ot->Name);
		assert_memory_equal(dt->TopicId, ver >= 10 ? ot->TopicId : zero_uuid, 16);
		assert_int_equal(dt->IsInternal, ot->IsInternal);
		assert_int_equal(dt->n_partitions, ot->n_partitions);
		for (int32_t j = 0; j < ot->n_partitions; j++)
			check_md_part(ver, &ot->Partitions[j], &dt->Partitions[j]);
		assert_int_equal(dt->TopicAuthorizedOperations, ot->TopicAuthorizedOperations);
	}
	assert_int_equal(d->ClusterAuthorizedOperations, o->ClusterAuthorizedOperations);
}

/* ---- ListOffsets fixtures ----------------------------------------------------------------- */

static struct ferry_kafka_list_offsets_req_topic lo_req_topics[3];
static struct ferry_kafka_list_offsets_req_partition lo_req_parts[4];

static void
fill_lo_req(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_list_offsets_req *m = p;

	ferry_kafka_list_offsets_req_init(m);
	memset(lo_req_topics, 0, sizeof(lo_req_topics));
	for (int i = 0; i < 4; i++)
		ferry_kafka_list_offsets_req_partition_init(&lo_req_parts[i]);
	m->Topics = lo_req_topics;
	if (s == SHAPE_EMPTY)
		return;
	if (s == SHAPE_MINIMAL) {
		m->n_topics = 3;
		for (int i = 0; i < 3; i++)
			lo_req_topics[i].Name = sp("");
		lo_req_topics[2].n_partitions = 4;
		lo_req_topics[2].Partitions = lo_req_parts;
		return;
	}
	m->ReplicaId = 3;
	m->IsolationLevel = ver >= 2 ? 1 : 0;
	m->n_topics = 2;
	lo_req_topics[0] =
	    (struct ferry_kafka_list_offsets_req_topic){ sp("alpha"), 3, lo_req_parts };
	lo_req_topics[1] =
	    (struct ferry_kafka_list_offsets_req_topic){ sp("beta"), 1, lo_req_parts + 3 };
	/* CurrentLeaderEpoch is ignorable: dropped before v4. */
	lo_req_parts[0] =
	    (struct ferry_kafka_list_offsets_req_partition){ 0, 4, FERRY_KAFKA_OFFSET_LATEST };
	lo_req_parts[1] =
	    (struct ferry_kafka_list_offsets_req_partition){ 1, 5, FERRY_KAFKA_OFFSET_EARLIEST };
	lo_req_parts[2] =
	    (struct ferry_kafka_list_offsets_req_partition){ 2, -1, INT64_C(1700000000123) };
	lo_req_parts[3] = (struct ferry_kafka_list_offsets_req_partition){ 7, 9, INT64_MIN };
}

static void
check_lo_req(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_list_offsets_req *o = po, *d = pd;

	assert_int_equal(d->ReplicaId, o->ReplicaId);
	assert_int_equal(d->IsolationLevel, ver >= 2 ? o->IsolationLevel : 0);
	assert_int_equal(d->n_topics, o->n_topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		assert_span(d->Topics[i].Name, o->Topics[i].Name);
		assert_int_equal(d->Topics[i].n_partitions, o->Topics[i].n_partitions);
		for (int32_t j = 0; j < o->Topics[i].n_partitions; j++) {
			const struct ferry_kafka_list_offsets_req_partition *op =
			    &o->Topics[i].Partitions[j];
			const struct ferry_kafka_list_offsets_req_partition *dp =
			    &d->Topics[i].Partitions[j];
			assert_int_equal(dp->PartitionIndex, op->PartitionIndex);
			assert_int_equal(dp->CurrentLeaderEpoch,
					 ver >= 4 ? op->CurrentLeaderEpoch : -1);
			assert_int_equal(dp->Timestamp, op->Timestamp);
		}
	}
}

static struct ferry_kafka_list_offsets_resp_topic lo_resp_topics[3];
static struct ferry_kafka_list_offsets_resp_partition lo_resp_parts[4];

static void
fill_lo_resp(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_list_offsets_resp *m = p;

	memset(m, 0, sizeof(*m));
	memset(lo_resp_topics, 0, sizeof(lo_resp_topics));
	for (int i = 0; i < 4; i++)
		ferry_kafka_list_offsets_resp_partition_init(&lo_resp_parts[i]);
	m->Topics = lo_resp_topics;
	if (s == SHAPE_EMPTY)
		return;
	if (s == SHAPE_MINIMAL) {
		m->n_topics = 3;
		for (int i = 0; i < 3; i++)
			lo_resp_topics[i].Name = sp("");
		lo_resp_topics[2].n_partitions = 4;
		lo_resp_topics[2].Partitions = lo_resp_parts;
		return;
	}
	m->ThrottleTimeMs = 50; /* ignorable: dropped at v1 */
	m->n_topics = 2;
	lo_resp_topics[0] =
	    (struct ferry_kafka_list_offsets_resp_topic){ sp("alpha"), 2, lo_resp_parts };
	lo_resp_topics[1] =
	    (struct ferry_kafka_list_offsets_resp_topic){ sp("beta"), 2, lo_resp_parts + 2 };
	lo_resp_parts[0] =
	    (struct ferry_kafka_list_offsets_resp_partition){ 0, 0, INT64_C(1700000000123), 42,
							      ver >= 4 ? 3 : -1 };
	lo_resp_parts[1] =
	    (struct ferry_kafka_list_offsets_resp_partition){ 1, FERRY_ERR_NOT_LEADER_OR_FOLLOWER,
							      -1, -1, -1 };
	lo_resp_parts[2] =
	    (struct ferry_kafka_list_offsets_resp_partition){ 5, 0, -1, INT64_MAX,
							      ver >= 4 ? INT32_MAX : -1 };
	lo_resp_parts[3] =
	    (struct ferry_kafka_list_offsets_resp_partition){ 6, FERRY_ERR_OFFSET_NOT_AVAILABLE, 0,
							      0, -1 };
}

static void
check_lo_resp(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_list_offsets_resp *o = po, *d = pd;

	assert_int_equal(d->ThrottleTimeMs, ver >= 2 ? o->ThrottleTimeMs : 0);
	assert_int_equal(d->n_topics, o->n_topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		assert_span(d->Topics[i].Name, o->Topics[i].Name);
		assert_int_equal(d->Topics[i].n_partitions, o->Topics[i].n_partitions);
		for (int32_t j = 0; j < o->Topics[i].n_partitions; j++) {
			const struct ferry_kafka_list_offsets_resp_partition *op =
			    &o->Topics[i].Partitions[j];
			const struct ferry_kafka_list_offsets_resp_partition *dp =
			    &d->Topics[i].Partitions[j];
			assert_int_equal(dp->PartitionIndex, op->PartitionIndex);
			assert_int_equal(dp->ErrorCode, op->ErrorCode);
			assert_int_equal(dp->Timestamp, op->Timestamp);
			assert_int_equal(dp->Offset, op->Offset);
			assert_int_equal(dp->LeaderEpoch, op->LeaderEpoch);
		}
	}
}

/* ---- InitProducerId fixtures -------------------------------------------------------------- */

static void
fill_ipid_req(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_init_producer_id_req *m = p;

	ferry_kafka_init_producer_id_req_init(m);
	m->TransactionalId = s == SHAPE_FULL    ? sp("mm2-txn-0")
			     : s == SHAPE_EMPTY ? sp("")
						: null_span;
	m->TransactionTimeoutMs = s == SHAPE_FULL ? 60000 : 0;
	if (ver >= 3 && s == SHAPE_FULL) {
		m->ProducerId = INT64_C(0x0102030405060708);
		m->ProducerEpoch = 17;
	}
}

static void
check_ipid_req(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_init_producer_id_req *o = po, *d = pd;

	(void)ver;
	assert_span(d->TransactionalId, o->TransactionalId);
	assert_int_equal(d->TransactionTimeoutMs, o->TransactionTimeoutMs);
	assert_int_equal(d->ProducerId, o->ProducerId);
	assert_int_equal(d->ProducerEpoch, o->ProducerEpoch);
}

static void
fill_ipid_resp(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_init_producer_id_resp *m = p;

	(void)ver;
	ferry_kafka_init_producer_id_resp_init(m);
	if (s == SHAPE_FULL) {
		m->ThrottleTimeMs = 10;
		m->ErrorCode = FERRY_ERR_CONCURRENT_TRANSACTIONS;
		m->ProducerId = INT64_MAX;
		m->ProducerEpoch = INT16_MAX;
	} else if (s == SHAPE_MINIMAL) {
		m->ProducerId = 4000;
	}
}

static void
check_ipid_resp(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_init_producer_id_resp *o = po, *d = pd;

	(void)ver;
	assert_int_equal(d->ThrottleTimeMs, o->ThrottleTimeMs);
	assert_int_equal(d->ErrorCode, o->ErrorCode);
	assert_int_equal(d->ProducerId, o->ProducerId);
	assert_int_equal(d->ProducerEpoch, o->ProducerEpoch);
}

/* ---- AddPartitionsToTxn fixtures ---------------------------------------------------------- */

static struct ferry_kafka_add_partitions_to_txn_topic apt_topics[4];
static const int32_t apt_parts[] = { 0, 1, 2, 1000 };

static void
fill_apt_req(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_add_partitions_to_txn_req *m = p;

	(void)ver;
	memset(m, 0, sizeof(*m));
	memset(apt_topics, 0, sizeof(apt_topics));
	m->Topics = apt_topics;
	m->TransactionalId = s == SHAPE_FULL ? sp("mm2-txn-0") : sp("");
	if (s == SHAPE_EMPTY)
		return;
	if (s == SHAPE_MINIMAL) {
		m->n_topics = 4;
		for (int i = 0; i < 4; i++)
			apt_topics[i].Name = sp("");
		return;
	}
	m->ProducerId = 77;
	m->ProducerEpoch = 2;
	m->n_topics = 2;
	apt_topics[0] = (struct ferry_kafka_add_partitions_to_txn_topic){ sp("alpha"), 3,
									  (int32_t *)apt_parts };
	apt_topics[1] =
	    (struct ferry_kafka_add_partitions_to_txn_topic){ sp("beta"), 1,
							      (int32_t *)apt_parts + 3 };
}

static void
check_apt_req(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_add_partitions_to_txn_req *o = po, *d = pd;

	(void)ver;
	assert_span(d->TransactionalId, o->TransactionalId);
	assert_int_equal(d->ProducerId, o->ProducerId);
	assert_int_equal(d->ProducerEpoch, o->ProducerEpoch);
	assert_int_equal(d->n_topics, o->n_topics);
	for (int32_t i = 0; i < o->n_topics; i++) {
		assert_span(d->Topics[i].Name, o->Topics[i].Name);
		assert_int_equal(d->Topics[i].n_partitions, o->Topics[i].n_partitions);
		assert_i32s(d->Topics[i].Partitions, o->Topics[i].Partitions,
			    o->Topics[i].n_partitions);
	}
}

static struct ferry_kafka_add_partitions_to_txn_topic_result apt_results[3];
static struct ferry_kafka_add_partitions_to_txn_partition_result apt_presults[4];

static void
fill_apt_resp(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_add_partitions_to_txn_resp *m = p;

	(void)ver;
	memset(m, 0, sizeof(*m));
	memset(apt_results, 0, sizeof(apt_results));
	memset(apt_presults, 0, sizeof(apt_presults));
	m->Results = apt_results;
	if (s == SHAPE_EMPTY)
		return;
	if (s == SHAPE_MINIMAL) {
		m->n_results = 3;
		for (int i = 0; i < 3; i++)
			apt_results[i].Name = sp("");
		apt_results[2].n_results = 4;
		apt_results[2].Results = apt_presults;
		return;
	}
	m->ThrottleTimeMs = 99;
	m->n_results = 3;
	apt_results[0] =
	    (struct ferry_kafka_add_partitions_to_txn_topic_result){ sp("alpha"), 3, apt_presults };
	apt_results[1] =
	    (struct ferry_kafka_add_partitions_to_txn_topic_result){ sp("beta"), 0, apt_presults };
	apt_results[2] =
	    (struct ferry_kafka_add_partitions_to_txn_topic_result){ sp("gamma"), 1,
								     apt_presults + 3 };
	apt_presults[0] = (struct ferry_kafka_add_partitions_to_txn_partition_result){ 0, 0 };
	apt_presults[1] = (struct ferry_kafka_add_partitions_to_txn_partition_result){
		1, FERRY_ERR_INVALID_TXN_STATE
	};
	apt_presults[2] = (struct ferry_kafka_add_partitions_to_txn_partition_result){
		2, FERRY_ERR_OPERATION_NOT_ATTEMPTED
	};
	apt_presults[3] = (struct ferry_kafka_add_partitions_to_txn_partition_result){
		9, FERRY_ERR_PRODUCER_FENCED
	};
}

static void
check_apt_resp(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_add_partitions_to_txn_resp *o = po, *d = pd;

	(void)ver;
	assert_int_equal(d->ThrottleTimeMs, o->ThrottleTimeMs);
	assert_int_equal(d->n_results, o->n_results);
	for (int32_t i = 0; i < o->n_results; i++) {
		assert_span(d->Results[i].Name, o->Results[i].Name);
		assert_int_equal(d->Results[i].n_results, o->Results[i].n_results);
		for (int32_t j = 0; j < o->Results[i].n_results; j++) {
			assert_int_equal(d->Results[i].Results[j].PartitionIndex,
					 o->Results[i].Results[j].PartitionIndex);
			assert_int_equal(d->Results[i].Results[j].ErrorCode,
					 o->Results[i].Results[j].ErrorCode);
		}
	}
}

/* ---- EndTxn fixtures ---------------------------------------------------------------------- */

static void
fill_etx_req(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_end_txn_req *m = p;

	(void)ver;
	memset(m, 0, sizeof(*m));
	m->TransactionalId = s == SHAPE_FULL ? sp("mm2-txn-0") : sp("");
	if (s == SHAPE_FULL) {
		m->ProducerId = INT64_C(123456789012);
		m->ProducerEpoch = 3;
		m->Committed = true;
	} else if (s == SHAPE_MINIMAL) {
		m->ProducerId = -1;
		m->ProducerEpoch = -1;
	}
}

static void
check_etx_req(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_end_txn_req *o = po, *d = pd;

	(void)ver;
	assert_span(d->TransactionalId, o->TransactionalId);
	assert_int_equal(d->ProducerId, o->ProducerId);
	assert_int_equal(d->ProducerEpoch, o->ProducerEpoch);
	assert_int_equal(d->Committed, o->Committed);
}

static void
fill_etx_resp(int16_t ver, enum shape s, void *p)
{
	struct ferry_kafka_end_txn_resp *m = p;

	(void)ver;
	memset(m, 0, sizeof(*m));
	if (s == SHAPE_FULL) {
		m->ThrottleTimeMs = 5;
		m->ErrorCode = FERRY_ERR_INVALID_PRODUCER_EPOCH;
	} else if (s == SHAPE_MINIMAL) {
		m->ThrottleTimeMs = -1;
		m->ErrorCode = -1;
	}
}

static void
check_etx_resp(int16_t ver, const void *po, const void *pd)
{
	const struct ferry_kafka_end_txn_resp *o = po, *d = pd;

	(void)ver;
	assert_int_equal(d->ThrottleTimeMs, o->ThrottleTimeMs);
	assert_int_equal(d->ErrorCode, o->ErrorCode);
}

/* ---- codec table -------------------------------------------------------------------------- */

#define CODEC(label, stem, dir, api, fill, check)                                                  \
	{                                                                                          \
		label, FERRY_KAFKA_##api##_VER_MIN, FERRY_KAFKA_##api##_VER_MAX,                   \
		    stem##_##dir##_enc, stem##_##dir##_dec, fill, check                            \
	}

static const struct codec c_md_req =
    CODEC("Metadata request", metadata, req, METADATA, fill_md_req, check_md_req);
static const struct codec c_md_resp =
    CODEC("Metadata response", metadata, resp, METADATA, fill_md_resp, check_md_resp);
static const struct codec c_lo_req =
    CODEC("ListOffsets request", list_offsets, req, LIST_OFFSETS, fill_lo_req, check_lo_req);
static const struct codec c_lo_resp =
    CODEC("ListOffsets response", list_offsets, resp, LIST_OFFSETS, fill_lo_resp, check_lo_resp);
static const struct codec c_ipid_req = CODEC("InitProducerId request", init_producer_id, req,
					     INIT_PRODUCER_ID, fill_ipid_req, check_ipid_req);
static const struct codec c_ipid_resp = CODEC("InitProducerId response", init_producer_id, resp,
					      INIT_PRODUCER_ID, fill_ipid_resp, check_ipid_resp);
static const struct codec c_apt_req =
    CODEC("AddPartitionsToTxn request", add_partitions_to_txn, req, ADD_PARTITIONS_TO_TXN,
	  fill_apt_req, check_apt_req);
static const struct codec c_apt_resp =
    CODEC("AddPartitionsToTxn response", add_partitions_to_txn, resp, ADD_PARTITIONS_TO_TXN,
	  fill_apt_resp, check_apt_resp);
static const struct codec c_etx_req =
    CODEC("EndTxn request", end_txn, req, END_TXN, fill_etx_req, check_etx_req);
static const struct codec c_etx_resp =
    CODEC("EndTxn response", end_txn, resp, END_TXN, fill_etx_resp, check_etx_resp);

/* ---- the generic runner ------------------------------------------------------------------- */

static void
run_one(const struct codec *c, int16_t ver, enum shape s)
{
	union ctl_msg orig, dec;
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
	union ctl_msg m;
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
test_metadata_req(void **state)
{
	(void)state;
	run_codec(&c_md_req);
}

static void
test_metadata_resp(void **state)
{
	(void)state;
	run_codec(&c_md_resp);
}

static void
test_list_offsets_req(void **state)
{
	(void)state;
	run_codec(&c_lo_req);
}

static void
test_list_offsets_resp(void **state)
{
	(void)state;
	run_codec(&c_lo_resp);
}

static void
test_init_producer_id_req(void **state)
{
	(void)state;
	run_codec(&c_ipid_req);
}

static void
test_init_producer_id_resp(void **state)
{
	(void)state;
	run_codec(&c_ipid_resp);
}

static void
test_add_partitions_to_txn_req(void **state)
{
	(void)state;
	run_codec(&c_apt_req);
}

static void
test_add_partitions_to_txn_resp(void **state)
{
	(void)state;
	run_codec(&c_apt_resp);
}

static void
test_end_txn_req(void **state)
{
	(void)state;
	run_codec(&c_etx_req);
}

static void
test_end_txn_resp(void **state)
{
	(void)state;
	run_codec(&c_etx_resp);
}

/* ---- golden vectors ----------------------------------------------------------------------- */

/* Encode m at ver and compare with the expected bytes, then decode those bytes
 * (all consumed) and re-check through the codec's field comparison. */
static void
golden(const struct codec *c, int16_t ver, const void *m, const uint8_t *exp, size_t n)
{
	union ctl_msg dec;
	struct ferry_wr w;
	size_t off;

	ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
	assert_int_equal(c->enc(&w, ver, m), 0);
	assert_int_equal(w.len, n);
	assert_memory_equal(enc_buf, exp, n);
	ferry_arena_init(&arena, arena_mem, sizeof(arena_mem));
	assert_int_equal(dec_exact(c, ver, exp, n, &arena, &dec, &off), 0);
	assert_int_equal(off, n);
	c->check(ver, m, &dec);
}

/* kafka-wire-facts.md §7.5: the bodies of the InitProducerId v2 frames seen against the mock. */
static void
test_golden_init_producer_id_v2(void **state)
{
	/* request body after the v2 header: null txn id, timeout 60000, no tags */
	static const uint8_t req[] = { 0x00, 0x00, 0x00, 0xea, 0x60, 0x00 };
	/* response body after the v1 header: throttle 0, error 0, pid, epoch 0, no tags */
	static const uint8_t resp[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00 };
	struct ferry_kafka_init_producer_id_req rq;
	struct ferry_kafka_init_producer_id_resp rs;

	(void)state;
	ferry_kafka_init_producer_id_req_init(&rq);
	rq.TransactionTimeoutMs = 60000;
	golden(&c_ipid_req, 2, &rq, req, sizeof(req));

	ferry_kafka_init_producer_id_resp_init(&rs);
	rs.ProducerId = 1000;
	rs.ProducerEpoch = 0;
	golden(&c_ipid_resp, 2, &rs, resp, sizeof(resp));

	/* v0/v1: same fields, int16 string length, no tags; v3 adds pid + epoch */
	static const uint8_t req_v0[] = { 0xff, 0xff, 0x00, 0x00, 0xea, 0x60 };
	golden(&c_ipid_req, 0, &rq, req_v0, sizeof(req_v0));
	static const uint8_t req_v3[] = { 0x02, 't',  0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00,
					  0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x05, 0x00 };
	rq.TransactionalId = sp("t");
	rq.TransactionTimeoutMs = 1000;
	rq.ProducerId = 42;
	rq.ProducerEpoch = 5;
	golden(&c_ipid_req, 3, &rq, req_v3, sizeof(req_v3));
}

static void
test_golden_metadata(void **state)
{
	struct ferry_kafka_metadata_req rq;
	struct ferry_kafka_metadata_req_topic t = { { 0 }, sp("heartbeats") };

	(void)state;
	/* v1: Topics ["heartbeats"] */
	static const uint8_t v1[] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0x0a, 'h', 'e',
				      'a',  'r',  't',  'b',  'e',  'a',  't', 's' };
	ferry_kafka_metadata_req_init(&rq);
	rq.n_topics = 1;
	rq.Topics = &t;
	golden(&c_md_req, 1, &rq, v1, sizeof(v1));

	/* v1: null Topics = all topics */
	static const uint8_t v1_all[] = { 0xff, 0xff, 0xff, 0xff };
	rq.n_topics = -1;
	rq.Topics = NULL;
	golden(&c_md_req, 1, &rq, v1_all, sizeof(v1_all));

	/* v4: empty Topics, AllowAutoTopicCreation false */
	static const uint8_t v4[] = { 0x00, 0x00, 0x00, 0x00, 0x00 };
	rq.n_topics = 0;
	rq.AllowAutoTopicCreation = false;
	golden(&c_md_req, 4, &rq, v4, sizeof(v4));

	/* v9: null compact array, AllowAuto true, IncludeCluster, IncludeTopic, tags */
	static const uint8_t v9[] = { 0x00, 0x01, 0x01, 0x00, 0x00 };
	ferry_kafka_metadata_req_init(&rq);
	rq.n_topics = -1;
	rq.IncludeClusterAuthorizedOperations = true;
	golden(&c_md_req, 9, &rq, v9, sizeof(v9));

	/* v12: one topic by id with a null name; no IncludeCluster field any more */
	static const uint8_t v12[] = { 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
				       0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
				       0x1f, 0x00, 0x00, 0x01, 0x01, 0x00 };
	ferry_kafka_metadata_req_init(&rq);
	memcpy(t.TopicId, uuid_a, 16);
	t.Name = null_span;
	rq.n_topics = 1;
	rq.Topics = &t;
	rq.IncludeTopicAuthorizedOperations = true;
	golden(&c_md_req, 12, &rq, v12, sizeof(v12));

	/* Response v1 (the mock's version, kafka-wire-facts.md §2.5): one broker with a
	 * null rack, controller 1, one topic "t" with one partition led by broker 1. */
	static const uint8_t r1[] = {
		0x00, 0x00, 0x00, 0x01,                         /* Brokers: 1 */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'h',        /* NodeId 1, Host "h" */
		0x00, 0x00, 0x23, 0x84, 0xff, 0xff,             /* Port 9092, Rack null */
		0x00, 0x00, 0x00, 0x01,                         /* ControllerId 1 */
		0x00, 0x00, 0x00, 0x01,                         /* Topics: 1 */
		0x00, 0x00, 0x00, 0x01, 't',  0x00,             /* ErrorCode, Name, IsInternal */
		0x00, 0x00, 0x00, 0x01,                         /* Partitions: 1 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* ErrorCode, PartitionIndex 0 */
		0x00, 0x00, 0x00, 0x01,                         /* LeaderId 1 */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* ReplicaNodes [1] */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* IsrNodes [1] */
	};
	struct ferry_kafka_metadata_resp rs;
	struct ferry_kafka_metadata_resp_broker b = { 1, sp("h"), 9092, null_span };
	struct ferry_kafka_metadata_resp_topic tp;
	struct ferry_kafka_metadata_resp_partition pp;
	int32_t one = 1;

	ferry_kafka_metadata_resp_init(&rs);
	ferry_kafka_metadata_resp_topic_init(&tp);
	ferry_kafka_metadata_resp_partition_init(&pp);
	pp.LeaderId = 1;
	pp.n_replica_nodes = 1;
	pp.ReplicaNodes = &one;
	pp.n_isr_nodes = 1;
	pp.IsrNodes = &one;
	tp.Name = sp("t");
	tp.n_partitions = 1;
	tp.Partitions = &pp;
	rs.n_brokers = 1;
	rs.Brokers = &b;
	rs.ControllerId = 1;
	rs.n_topics = 1;
	rs.Topics = &tp;
	golden(&c_md_resp, 1, &rs, r1, sizeof(r1));

	/* The same at v9: throttle, compact forms, cluster id null, epoch, offline
	 * replicas, authorized operations and a tag byte after every struct. */
	static const uint8_t r9[] = {
		0x00, 0x00, 0x00, 0x00,                               /* ThrottleTimeMs */
		0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 'h',              /* Brokers [NodeId 1, "h" */
		0x00, 0x00, 0x23, 0x84, 0x00, 0x00,                   /* 9092, Rack null, tags] */
		0x00,                                                 /* ClusterId null */
		0x00, 0x00, 0x00, 0x01,                               /* ControllerId 1 */
		0x02, 0x00, 0x00, 0x02, 't',  0x00,                   /* Topics [0, "t", false */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* Partitions [0, 0 */
		0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff,       /* Leader 1, Epoch -1 */
		0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, /* [1], [1] */
		0x01, 0x01, 0x00,                                     /* [], tags] */
		0x80, 0x00, 0x00, 0x00, 0x00,                         /* TopicAuthOps, tags] */
		0x80, 0x00, 0x00, 0x00, 0x00,                         /* ClusterAuthOps, tags */
	};
	golden(&c_md_resp, 9, &rs, r9, sizeof(r9));
}

static void
test_golden_list_offsets(void **state)
{
	struct ferry_kafka_list_offsets_req rq;
	struct ferry_kafka_list_offsets_req_partition p;
	struct ferry_kafka_list_offsets_req_topic t = { sp("t"), 1, &p };

	(void)state;
	/* v1 (the mock's version): ReplicaId -1, ["t", [0, EARLIEST]] */
	static const uint8_t v1[] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00,
				      0x01, 't',  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
				      0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	ferry_kafka_list_offsets_req_init(&rq);
	ferry_kafka_list_offsets_req_partition_init(&p);
	p.Timestamp = FERRY_KAFKA_OFFSET_EARLIEST;
	rq.n_topics = 1;
	rq.Topics = &t;
	golden(&c_lo_req, 1, &rq, v1, sizeof(v1));

	/* v7: IsolationLevel 1, CurrentLeaderEpoch 3, MAX_TIMESTAMP, compact + tags */
	static const uint8_t v7[] = { 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x02, 't',  0x02, 0x00,
				      0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xfd, 0x00, 0x00, 0x00 };
	rq.IsolationLevel = 1;
	p.PartitionIndex = 2;
	p.CurrentLeaderEpoch = 3;
	p.Timestamp = FERRY_KAFKA_OFFSET_MAX_TIMESTAMP;
	golden(&c_lo_req, 7, &rq, v7, sizeof(v7));

	/* response v6: throttle 0, ["t", [0, 0, ts -1, offset 42, epoch 5]] */
	static const uint8_t r6[] = { 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't',  0x02, 0x00, 0x00,
				      0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
				      0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00 };
	struct ferry_kafka_list_offsets_resp rs;
	struct ferry_kafka_list_offsets_resp_partition rp;
	struct ferry_kafka_list_offsets_resp_topic rt = { sp("t"), 1, &rp };
	memset(&rs, 0, sizeof(rs));
	ferry_kafka_list_offsets_resp_partition_init(&rp);
	rp.Offset = 42;
	rp.LeaderEpoch = 5;
	rs.n_topics = 1;
	rs.Topics = &rt;
	golden(&c_lo_resp, 6, &rs, r6, sizeof(r6));

	/* response v1: no throttle, no leader epoch */
	static const uint8_t r1[] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00, 0x00,
				      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
				      0x00, 0x00, 0x00, 0x00, 0x00, 0x2a };
	rp.LeaderEpoch = -1;
	golden(&c_lo_resp, 1, &rs, r1, sizeof(r1));
}

static void
test_golden_txn(void **state)
{
	(void)state;
	/* AddPartitionsToTxn v3: "x", pid 5, epoch 1, ["t", [0, 1]] */
	static const uint8_t apt3[] = { 0x02, 'x',  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					0x05, 0x00, 0x01, 0x02, 0x02, 't',  0x03, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00 };
	static const uint8_t apt0[] = { 0x00, 0x01, 'x',  0x00, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00,
					0x01, 0x00, 0x01, 't',  0x00, 0x00, 0x00, 0x02,
					0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
	int32_t parts[] = { 0, 1 };
	struct ferry_kafka_add_partitions_to_txn_topic at = { sp("t"), 2, parts };
	struct ferry_kafka_add_partitions_to_txn_req aq = { sp("x"), 5, 1, 1, &at };
	golden(&c_apt_req, 3, &aq, apt3, sizeof(apt3));
	golden(&c_apt_req, 0, &aq, apt0, sizeof(apt0));

	/* AddPartitionsToTxn response v0 and v3: throttle 0, ["t", [0, INVALID_TXN_STATE]] */
	static const uint8_t aptr0[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					 0x01, 0x00, 0x01, 't',  0x00, 0x00, 0x00,
					 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30 };
	static const uint8_t aptr3[] = { 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't',  0x02, 0x00,
					 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00 };
	struct ferry_kafka_add_partitions_to_txn_partition_result pr = { 0, 48 };
	struct ferry_kafka_add_partitions_to_txn_topic_result tr = { sp("t"), 1, &pr };
	struct ferry_kafka_add_partitions_to_txn_resp ar = { 0, 1, &tr };
	golden(&c_apt_resp, 0, &ar, aptr0, sizeof(aptr0));
	golden(&c_apt_resp, 3, &ar, aptr3, sizeof(aptr3));

	/* EndTxn v3 and v0: "x", pid 5, epoch 1, commit */
	static const uint8_t etx3[] = { 0x02, 'x',  0x00, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x05, 0x00, 0x01, 0x01, 0x00 };
	static const uint8_t etx0[] = { 0x00, 0x01, 'x',  0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x01 };
	struct ferry_kafka_end_txn_req eq = { sp("x"), 5, 1, true };
	golden(&c_etx_req, 3, &eq, etx3, sizeof(etx3));
	golden(&c_etx_req, 0, &eq, etx0, sizeof(etx0));

	static const uint8_t etxr3[] = { 0x00, 0x00, 0x00, 0x07, 0x00, 0x33, 0x00 };
	static const uint8_t etxr2[] = { 0x00, 0x00, 0x00, 0x07, 0x00, 0x33 };
	struct ferry_kafka_end_txn_resp er = { 7, FERRY_ERR_CONCURRENT_TRANSACTIONS };
	golden(&c_etx_resp, 3, &er, etxr3, sizeof(etxr3));
	golden(&c_etx_resp, 2, &er, etxr2, sizeof(etxr2));
}

/* ---- malformed input ---------------------------------------------------------------------- */

static int
dec_bytes(const struct codec *c, int16_t ver, const uint8_t *p, size_t n, void *out, size_t *off)
{
	ferry_arena_init(&arena, arena_mem, sizeof(arena_mem));
	return dec_exact(c, ver, p, n, &arena, out, off);
}

/* Unknown tags (KIP-482) anywhere a struct ends are skipped by their size. */
static void
test_unknown_tags_skipped(void **state)
{
	union ctl_msg m;
	size_t off;

	(void)state;
	/* InitProducerId v2 request: body tags {tag 0: 3 bytes, tag 300: empty} */
	static const uint8_t ipid[] = { 0x00, 0x00, 0x00, 0xea, 0x60, 0x02, 0x00,
					0x03, 0xaa, 0xbb, 0xcc, 0xac, 0x02, 0x00 };
	assert_int_equal(dec_bytes(&c_ipid_req, 2, ipid, sizeof(ipid), &m, &off), 0);
	assert_int_equal(off, sizeof(ipid));
	assert_null(m.ipid_req.TransactionalId.p);
	assert_int_equal(m.ipid_req.TransactionTimeoutMs, 60000);
	assert_int_equal(m.ipid_req.ProducerId, -1);

	/* Metadata v9 request: tags on the topic and on the body */
	static const uint8_t md[] = { 0x02, 0x02, 't',  0x01, 0x05, 0x02, 0x01,
				      0x02, 0x00, 0x01, 0x00, 0x01, 0x07, 0x00 };
	assert_int_equal(dec_bytes(&c_md_req, 9, md, sizeof(md), &m, &off), 0);
	assert_int_equal(off, sizeof(md));
	assert_int_equal(m.md_req.n_topics, 1);
	assert_span(m.md_req.Topics[0].Name, sp("t"));
	assert_false(m.md_req.AllowAutoTopicCreation);
	assert_true(m.md_req.IncludeClusterAuthorizedOperations);
	assert_false(m.md_req.IncludeTopicAuthorizedOperations);

	/* Metadata v12 response: tags on broker, partition, topic and body */
	static const uint8_t mr[] = {
		0x00, 0x00, 0x00, 0x00,                               /* ThrottleTimeMs */
		0x02, 0x00, 0x00, 0x00, 0x07, 0x02, 'h',              /* Brokers [7, "h" */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x09, 0x01, 0xee, /* 1, null, {9: ee}] */
		0x04, 'c',  'i',  'd',                                /* ClusterId "cid" */
		0x00, 0x00, 0x00, 0x07,                               /* ControllerId */
		0x02, 0x00, 0x00, 0x00,                               /* Topics [0, null */
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,       /* TopicId */
		0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x01, /* IsInternal */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,             /* Partitions [0, 3 */
		0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x02,       /* leader 7, epoch 2 */
		0x01, 0x01, 0x01,                                     /* [], [], [] */
		0x02, 0x00, 0x00, 0x03, 0x03, 0x00, 0x00, 0x00,       /* {0: "", 3: 00 00 00}] */
		0x00, 0x00, 0x00, 0x08,       /* TopicAuthorizedOperations */
		0x01, 0x7f, 0x00,             /* {127: ""}] */
		0x01, 0x00, 0x02, 0x05, 0x06, /* body {0: 05 06} */
	};
	assert_int_equal(dec_bytes(&c_md_resp, 12, mr, sizeof(mr), &m, &off), 0);
	assert_int_equal(off, sizeof(mr));
	assert_int_equal(m.md_resp.n_brokers, 1);
	assert_int_equal(m.md_resp.Brokers[0].NodeId, 7);
	assert_span(m.md_resp.Brokers[0].Host, sp("h"));
	assert_null(m.md_resp.Brokers[0].Rack.p);
	assert_span(m.md_resp.ClusterId, sp("cid"));
	assert_int_equal(m.md_resp.ControllerId, 7);
	assert_int_equal(m.md_resp.n_topics, 1);
	assert_null(m.md_resp.Topics[0].Name.p);
	assert_memory_equal(m.md_resp.Topics[0].TopicId, uuid_a, 16);
	assert_true(m.md_resp.Topics[0].IsInternal);
	assert_int_equal(m.md_resp.Topics[0].n_partitions, 1);
	assert_int_equal(m.md_resp.Topics[0].Partitions[0].ErrorCode, 0);
	assert_int_equal(m.md_resp.Topics[0].Partitions[0].PartitionIndex, 3);
	assert_int_equal(m.md_resp.Topics[0].Partitions[0].LeaderId, 7);
	assert_int_equal(m.md_resp.Topics[0].Partitions[0].LeaderEpoch, 2);
	assert_int_equal(m.md_resp.Topics[0].TopicAuthorizedOperations, 8);
	assert_int_equal(m.md_resp.ClusterAuthorizedOperations, FERRY_KAFKA_AUTHORIZED_OPS_UNKNOWN);

	/* ListOffsets v6 response: tags on partition, topic and body */
	static const uint8_t lo[] = {
		0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't',  0x02, /* throttle, ["t", [ */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00,             /* partition 1, error 0 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, /* Timestamp 9 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, /* Offset 10 */
		0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x01, 0x00, /* epoch -1, {1: 00}] */
		0x01, 0x02, 0x00,                               /* {2: ""}] */
		0x02, 0x00, 0x01, 0x01, 0x05, 0x01, 0x00,       /* {0: 01, 5: 00} */
	};
	assert_int_equal(dec_bytes(&c_lo_resp, 6, lo, sizeof(lo), &m, &off), 0);
	assert_int_equal(off, sizeof(lo));
	assert_int_equal(m.lo_resp.Topics[0].Partitions[0].PartitionIndex, 1);
	assert_int_equal(m.lo_resp.Topics[0].Partitions[0].Timestamp, 9);
	assert_int_equal(m.lo_resp.Topics[0].Partitions[0].Offset, 10);
	assert_int_equal(m.lo_resp.Topics[0].Partitions[0].LeaderEpoch, -1);

	/* AddPartitionsToTxn v3 response: tags on partition result and topic result */
	static const uint8_t ar[] = { 0x00, 0x00, 0x00, 0x01, 0x02, 0x02, 't',  0x02,
				      0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x01,
				      0x01, 0x55, 0x01, 0x02, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_apt_resp, 3, ar, sizeof(ar), &m, &off), 0);
	assert_int_equal(off, sizeof(ar));
	assert_int_equal(m.apt_resp.ThrottleTimeMs, 1);
	assert_int_equal(m.apt_resp.Results[0].Results[0].PartitionIndex, 4);

	/* EndTxn v3 response with a 200-byte unknown tag (two-byte size varint) */
	uint8_t er[6 + 1 + 1 + 2 + 200];
	memset(er, 0x5a, sizeof(er));
	memcpy(er, (const uint8_t[]){ 0x00, 0x00, 0x00, 0x00, 0x00, 0x2f, 0x01, 0x04, 0xc8, 0x01 },
	       10);
	assert_int_equal(dec_bytes(&c_etx_resp, 3, er, sizeof(er), &m, &off), 0);
	assert_int_equal(off, sizeof(er));
	assert_int_equal(m.etx_resp.ErrorCode, 47);
	/* ... and cut inside that tag's value */
	assert_int_equal(dec_bytes(&c_etx_resp, 3, er, sizeof(er) - 1, &m, NULL),
			 FERRY_ERR__TRUNCATED);
}

static void
test_too_many_tags(void **state)
{
	union ctl_msg m;

	(void)state;
	/* body tag count 127 with nothing behind it */
	static const uint8_t ipid[] = { 0x00, 0x00, 0x00, 0xea, 0x60, 0x7f };
	assert_int_equal(dec_bytes(&c_ipid_req, 2, ipid, sizeof(ipid), &m, NULL),
			 FERRY_ERR__TOO_MANY_TAGS);
	/* tag count 3 where only 4 bytes follow (3 tags need at least 6) */
	static const uint8_t etx[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				       0x03, 0x00, 0x00, 0x01, 0x00 };
	assert_int_equal(dec_bytes(&c_etx_resp, 3, etx, sizeof(etx), &m, NULL),
			 FERRY_ERR__TOO_MANY_TAGS);
	/* nested: a Metadata v9 request topic claiming 0x3fff tags */
	static const uint8_t md[] = { 0x02, 0x02, 't', 0xff, 0x7f, 0x01, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_md_req, 9, md, sizeof(md), &m, NULL),
			 FERRY_ERR__TOO_MANY_TAGS);
	/* a huge tag count varint (2^32-1) */
	static const uint8_t apt[] = { 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f };
	assert_int_equal(dec_bytes(&c_apt_resp, 3, apt, sizeof(apt), &m, NULL),
			 FERRY_ERR__TOO_MANY_TAGS);
	/* a tag whose size runs past the end */
	static const uint8_t lo[] = { 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x05, 0x00 };
	assert_int_equal(dec_bytes(&c_lo_resp, 6, lo, sizeof(lo), &m, NULL), FERRY_ERR__TRUNCATED);
}

static void
test_oversized_counts(void **state)
{
	union ctl_msg m;

	(void)state;
	/* Metadata v1 request: 0x7fffffff topics */
	static const uint8_t md1[] = { 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 't' };
	assert_int_equal(dec_bytes(&c_md_req, 1, md1, sizeof(md1), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* Metadata v9 request: compact count 2^32-2 */
	static const uint8_t md9[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_md_req, 9, md9, sizeof(md9), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* Metadata v12 request: 2 topics need 2 * 18 bytes, only 20 present */
	uint8_t md12[1 + 20] = { 0x03 };
	assert_int_equal(dec_bytes(&c_md_req, 12, md12, sizeof(md12), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* Metadata v1 response: 1000 brokers in 12 bytes */
	static const uint8_t mr[] = { 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x01,
				      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff };
	assert_int_equal(dec_bytes(&c_md_resp, 1, mr, sizeof(mr), &m, NULL), FERRY_ERR__BAD_LENGTH);
	/* AddPartitionsToTxn v0 request: Partitions []int32 of 3 with 8 bytes behind */
	static const uint8_t apt[] = { 0x00, 0x01, 'x',  0x00, 0x00, 0x00, 0x00, 0x00,
				       0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00,
				       0x01, 0x00, 0x01, 't',  0x00, 0x00, 0x00, 0x03,
				       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
	assert_int_equal(dec_bytes(&c_apt_req, 0, apt, sizeof(apt), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	/* ListOffsets v1 response: partitions count 2 with one 22-byte entry present */
	static const uint8_t lo[] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00, 0x00,
				      0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_lo_resp, 1, lo, sizeof(lo), &m, NULL), FERRY_ERR__BAD_LENGTH);
	/* negative count (-2) on an array, and -1 on a non-nullable one */
	static const uint8_t neg2[] = { 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xfe };
	assert_int_equal(dec_bytes(&c_apt_resp, 0, neg2, sizeof(neg2), &m, NULL),
			 FERRY_ERR__BAD_LENGTH);
	static const uint8_t neg1[] = { 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(dec_bytes(&c_apt_resp, 0, neg1, sizeof(neg1), &m, NULL),
			 FERRY_ERR__NULL_FIELD);
	/* Metadata response v9: compact 0 (null) Brokers is not allowed */
	static const uint8_t mr9[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				       0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_md_resp, 9, mr9, sizeof(mr9), &m, NULL),
			 FERRY_ERR__NULL_FIELD);
	/* ... while the nullable request Topics decodes null as n = -1 */
	static const uint8_t mq9[] = { 0x00, 0x01, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_md_req, 9, mq9, sizeof(mq9), &m, NULL), 0);
	assert_int_equal(m.md_req.n_topics, -1);
	assert_null(m.md_req.Topics);
}

static void
test_bad_strings(void **state)
{
	union ctl_msg m;

	(void)state;
	/* EndTxn v0: TransactionalId is not nullable: -1 is NULL_FIELD, -2 BAD_LENGTH */
	static const uint8_t e1[] = { 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x05, 0x00, 0x01, 0x01 };
	assert_int_equal(dec_bytes(&c_etx_req, 0, e1, sizeof(e1), &m, NULL), FERRY_ERR__NULL_FIELD);
	static const uint8_t e2[] = { 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x05, 0x00, 0x01, 0x01 };
	assert_int_equal(dec_bytes(&c_etx_req, 0, e2, sizeof(e2), &m, NULL), FERRY_ERR__BAD_LENGTH);
	/* ... the largest negative length too */
	static const uint8_t e3[] = { 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x05, 0x00, 0x01, 0x01 };
	assert_int_equal(dec_bytes(&c_etx_req, 0, e3, sizeof(e3), &m, NULL), FERRY_ERR__BAD_LENGTH);
	/* a length past the end */
	static const uint8_t e4[] = { 0x00, 0x20, 'x' };
	assert_int_equal(dec_bytes(&c_etx_req, 0, e4, sizeof(e4), &m, NULL), FERRY_ERR__TRUNCATED);
	/* EndTxn v3: compact 0 = null, also refused */
	static const uint8_t e5[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x00, 0x05, 0x00, 0x01, 0x01, 0x00 };
	assert_int_equal(dec_bytes(&c_etx_req, 3, e5, sizeof(e5), &m, NULL), FERRY_ERR__NULL_FIELD);
	/* Metadata v1 response broker Host -1 */
	static const uint8_t mr[] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
				      0xff, 0xff, 0x00, 0x00, 0x23, 0x84, 0xff, 0xff,
				      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_md_resp, 1, mr, sizeof(mr), &m, NULL), FERRY_ERR__NULL_FIELD);
	/* Metadata v9 request: topic Name null before v10 */
	static const uint8_t mq[] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 };
	assert_int_equal(dec_bytes(&c_md_req, 9, mq, sizeof(mq), &m, NULL), FERRY_ERR__NULL_FIELD);
	/* Metadata v11 response: topic Name null before v12 */
	uint8_t mr11[64] = {
		0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00
	}; /* ... zeros: room for the topic */
	assert_int_equal(dec_bytes(&c_md_resp, 11, mr11, sizeof(mr11), &m, NULL),
			 FERRY_ERR__NULL_FIELD);
	/* ListOffsets v6 request: compact length varint too long */
	static const uint8_t lq[] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x02,
				      0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	assert_int_equal(dec_bytes(&c_lo_req, 6, lq, sizeof(lq), &m, NULL), FERRY_ERR__BAD_VARINT);
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
	union ctl_msg m;

	(void)state;
	/* Metadata request: non-ignorable fields absent in the version */
	fill_md_req(3, SHAPE_EMPTY, &m);
	m.md_req.AllowAutoTopicCreation = false;
	expect_invalid(&c_md_req, 3, &m);
	fill_md_req(11, SHAPE_EMPTY, &m);
	m.md_req.IncludeClusterAuthorizedOperations = true;
	expect_invalid(&c_md_req, 11, &m);
	expect_invalid(&c_md_req, 7, &m);
	fill_md_req(7, SHAPE_EMPTY, &m);
	m.md_req.IncludeTopicAuthorizedOperations = true;
	expect_invalid(&c_md_req, 7, &m);
	/* null topic name before v10 (caught after the first topic was written) */
	fill_md_req(12, SHAPE_FULL, &m);
	expect_invalid(&c_md_req, 9, &m);
	/* bad counts */
	fill_md_req(9, SHAPE_EMPTY, &m);
	m.md_req.n_topics = -2;
	expect_invalid(&c_md_req, 9, &m);
	m.md_req.n_topics = 2;
	m.md_req.Topics = NULL;
	expect_invalid(&c_md_req, 9, &m);

	/* Metadata response */
	fill_md_resp(9, SHAPE_FULL, &m);
	expect_invalid(&c_md_resp, 11, &m); /* ClusterAuthorizedOperations set */
	expect_invalid(&c_md_resp, 7, &m);
	fill_md_resp(7, SHAPE_FULL, &m);
	md_topics[1].TopicAuthorizedOperations = 0; /* second topic: first one already written */
	expect_invalid(&c_md_resp, 7, &m);
	fill_md_resp(12, SHAPE_FULL, &m);
	expect_invalid(&c_md_resp, 11, &m); /* null topic name */
	fill_md_resp(12, SHAPE_FULL, &m);
	md_brokers[1].Host = null_span;
	expect_invalid(&c_md_resp, 12, &m);
	fill_md_resp(12, SHAPE_FULL, &m);
	md_parts[1].n_isr_nodes = -1;
	expect_invalid(&c_md_resp, 12, &m);
	fill_md_resp(12, SHAPE_FULL, &m);
	m.md_resp.n_brokers = -1;
	expect_invalid(&c_md_resp, 12, &m);

	/* ListOffsets */
	fill_lo_req(2, SHAPE_FULL, &m);
	expect_invalid(&c_lo_req, 1, &m); /* IsolationLevel 1 at v1 */
	fill_lo_req(1, SHAPE_FULL, &m);
	lo_req_topics[1].Name = null_span;
	expect_invalid(&c_lo_req, 1, &m);
	fill_lo_resp(7, SHAPE_FULL, &m);
	expect_invalid(&c_lo_resp, 3, &m); /* LeaderEpoch 3 before v4 */
	fill_lo_resp(3, SHAPE_FULL, &m);
	lo_resp_topics[1].n_partitions = -1;
	expect_invalid(&c_lo_resp, 6, &m);

	/* InitProducerId: ProducerId/Epoch are non-ignorable from v3 */
	fill_ipid_req(3, SHAPE_FULL, &m);
	expect_invalid(&c_ipid_req, 2, &m);
	m.ipid_req.ProducerId = -1;
	expect_invalid(&c_ipid_req, 0, &m);
	m.ipid_req.ProducerEpoch = -1;
	struct ferry_wr w;
	ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
	assert_int_equal(c_ipid_req.enc(&w, 0, &m), 0);

	/* AddPartitionsToTxn / EndTxn: non-nullable strings and counts */
	fill_apt_req(3, SHAPE_FULL, &m);
	m.apt_req.TransactionalId = null_span;
	expect_invalid(&c_apt_req, 3, &m);
	fill_apt_req(3, SHAPE_FULL, &m);
	apt_topics[1].Partitions = NULL;
	expect_invalid(&c_apt_req, 1, &m);
	fill_apt_resp(3, SHAPE_FULL, &m);
	apt_results[2].Name = null_span;
	expect_invalid(&c_apt_resp, 0, &m);
	fill_etx_req(3, SHAPE_FULL, &m);
	m.etx_req.TransactionalId = null_span;
	expect_invalid(&c_etx_req, 3, &m);
}

/* Ignorable fields a version lacks are dropped without complaint. */
static void
test_ignorable_dropped(void **state)
{
	struct ferry_kafka_metadata_resp rs;
	struct ferry_wr w;

	(void)state;
	ferry_kafka_metadata_resp_init(&rs);
	rs.ThrottleTimeMs = 99;   /* v3+ */
	rs.ClusterId = sp("abc"); /* v2+ */
	ferry_wr_init(&w, enc_buf, sizeof(enc_buf));
	assert_int_equal(ferry_kafka_metadata_resp_encode(&w, 1, &rs), 0);
	/* Brokers [], ControllerId -1, Topics [] */
	static const uint8_t exp[] = { 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
				       0xff, 0xff, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(w.len, sizeof(exp));
	assert_memory_equal(enc_buf, exp, sizeof(exp));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata_req),
		cmocka_unit_test(test_metadata_resp),
		cmocka_unit_test(test_list_offsets_req),
		cmocka_unit_test(test_list_offsets_resp),
		cmocka_unit_test(test_init_producer_id_req),
		cmocka_unit_test(test_init_producer_id_resp),
		cmocka_unit_test(test_add_partitions_to_txn_req),
		cmocka_unit_test(test_add_partitions_to_txn_resp),
		cmocka_unit_test(test_end_txn_req),
		cmocka_unit_test(test_end_txn_resp),
		cmocka_unit_test(test_golden_init_producer_id_v2),
		cmocka_unit_test(test_golden_metadata),
		cmocka_unit_test(test_golden_list_offsets),
		cmocka_unit_test(test_golden_txn),
		cmocka_unit_test(test_unknown_tags_skipped),
		cmocka_unit_test(test_too_many_tags),
		cmocka_unit_test(test_oversized_counts),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_ignorable_dropped),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	dec_copy_free();
	return failed;
}
