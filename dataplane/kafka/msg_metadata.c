/*
 * msg_metadata.c - body codec of Metadata (ApiKey 3), versions 1-12, flexible
 * (compact types + tag sections) from v9: request and response, encode and
 * decode.
 *
 * Any thread; no state: everything lives in the reader/writer, arena and
 * message passed in.
 * Spec: apache/kafka clients/src/main/resources/common/message/MetadataRequest.json and
 * MetadataResponse.json (validVersions 0-12, flexibleVersions 9+); primitive
 * encodings in kafka-wire-facts.md §1.3-1.4, v1/v2 layout in §2.5.
 * No field of these versions is tagged: every tag section is skipped by size.
 */
#include <string.h>

#include "ferry/kafka_ctl.h"
#include "msg_int.h"

/* ---- request ------------------------------------------------------------------------------ */

/* Smallest encoding of one MetadataRequestTopic: a name and, when flexible, its tag byte. */
static size_t
md_req_topic_min(int16_t ver)
{
	if (ver >= 10)
		return 16 + 1 + 1; /* TopicId, compact (nullable) Name, tags */
	return FERRY_MSG_FLEX(METADATA, ver) ? 1 + 1 : 2;
}

int
ferry_kafka_metadata_req_encode(struct ferry_wr *w, int16_t ver,
				const struct ferry_kafka_metadata_req *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(METADATA, ver);

	if (!FERRY_MSG_VER_OK(METADATA, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	/* Non-ignorable fields the version cannot carry must hold their defaults
	 * (Java generator: UnsupportedVersionException). A v1-3 broker always
	 * auto-creates, v11+ dropped IncludeClusterAuthorizedOperations (KIP-700). */
	if (ver < 4 && !m->AllowAutoTopicCreation)
		return FERRY_ERR__INVALID_ARG;
	if ((ver < 8 || ver > 10) && m->IncludeClusterAuthorizedOperations)
		return FERRY_ERR__INVALID_ARG;
	if (ver < 8 && m->IncludeTopicAuthorizedOperations)
		return FERRY_ERR__INVALID_ARG;
	/* Topics: nullable from v1, null = all topics, empty = none. */
	if (!ferry_msg_arr_ok(m->n_topics, m->Topics, true))
		return FERRY_ERR__INVALID_ARG;

	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		const struct ferry_kafka_metadata_req_topic *t = &m->Topics[i];
		/* TopicId (ignorable) exists from v10; Name may be null only from v10. */
		if (ver >= 10)
			ferry_wr_raw(w, t->TopicId, sizeof(t->TopicId));
		else if (t->Name.p == NULL)
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (ver >= 4)
		ferry_wr_bool(w, m->AllowAutoTopicCreation);
	if (ver >= 8 && ver <= 10)
		ferry_wr_bool(w, m->IncludeClusterAuthorizedOperations);
	if (ver >= 8)
		ferry_wr_bool(w, m->IncludeTopicAuthorizedOperations);
	if (flex)
		ferry_wr_no_tags(w);
	return w->overflow ? FERRY_ERR__NOSPACE : 0;
}

int
ferry_kafka_metadata_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				struct ferry_kafka_metadata_req *m)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(METADATA, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);
	/* Defaults of the fields this version may not carry. */
	m->AllowAutoTopicCreation = true;

	if (!ferry_rd_array(rd, flex, true, md_req_topic_min(ver), &m->n_topics))
		goto err_parse;
	if (m->n_topics >= 0) {
		m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
		if (m->Topics == NULL)
			return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
		memset(m->Topics, 0, (size_t)m->n_topics * sizeof(*m->Topics));
	}
	for (int32_t i = 0; i < m->n_topics; i++) {
		struct ferry_kafka_metadata_req_topic *t = &m->Topics[i];
		if (ver >= 10 && !ferry_rd_uuid(rd, t->TopicId))
			goto err_parse;
		if (!ferry_rd_str(rd, flex, ver >= 10, &t->Name))
			goto err_parse;
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	if (ver >= 4 && !ferry_rd_bool(rd, &m->AllowAutoTopicCreation))
		goto err_parse;
	if (ver >= 8 && ver <= 10 && !ferry_rd_bool(rd, &m->IncludeClusterAuthorizedOperations))
		goto err_parse;
	if (ver >= 8 && !ferry_rd_bool(rd, &m->IncludeTopicAuthorizedOperations))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

/* ---- response ----------------------------------------------------------------------------- */

static size_t
md_str_min(bool flex)
{
	return flex ? 1 : 2; /* length prefix of an empty or null string */
}

static size_t
md_arr_min(bool flex)
{
	return flex ? 1 : 4; /* count of an empty array */
}

static size_t
md_broker_min(int16_t ver)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);
	/* NodeId, Host, Port, Rack (v1+, always here), tags */
	return 4 + md_str_min(flex) + 4 + md_str_min(flex) + (flex ? 1 : 0);
}

static size_t
md_partition_min(int16_t ver)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);
	size_t n = 2 + 4 + 4; /* ErrorCode, PartitionIndex, LeaderId */
	if (ver >= 7)
		n += 4;            /* LeaderEpoch */
	n += 2 * md_arr_min(flex); /* ReplicaNodes, IsrNodes */
	if (ver >= 5)
		n += md_arr_min(flex); /* OfflineReplicas */
	return n + (flex ? 1 : 0);
}

static size_t
md_topic_min(int16_t ver)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);
	size_t n = 2 + md_str_min(flex); /* ErrorCode, Name */
	if (ver >= 10)
		n += 16; /* TopicId */
	n += 1;          /* IsInternal (v1+) */
	n += md_arr_min(flex);
	if (ver >= 8)
		n += 4; /* TopicAuthorizedOperations */
	return n + (flex ? 1 : 0);
}

static int
md_resp_partition_encode(struct ferry_wr *w, int16_t ver,
			 const struct ferry_kafka_metadata_resp_partition *p)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);

	if (!ferry_msg_arr_ok(p->n_replica_nodes, p->ReplicaNodes, false) ||
	    !ferry_msg_arr_ok(p->n_isr_nodes, p->IsrNodes, false))
		return FERRY_ERR__INVALID_ARG;
	ferry_wr_i16(w, p->ErrorCode);
	ferry_wr_i32(w, p->PartitionIndex);
	ferry_wr_i32(w, p->LeaderId);
	if (ver >= 7)
		ferry_wr_i32(w, p->LeaderEpoch);
	ferry_msg_wr_i32_array(w, flex, p->n_replica_nodes, p->ReplicaNodes);
	ferry_msg_wr_i32_array(w, flex, p->n_isr_nodes, p->IsrNodes);
	/* OfflineReplicas is ignorable: dropped before v5. */
	if (ver >= 5) {
		if (!ferry_msg_arr_ok(p->n_offline_replicas, p->OfflineReplicas, false))
			return FERRY_ERR__INVALID_ARG;
		ferry_msg_wr_i32_array(w, flex, p->n_offline_replicas, p->OfflineReplicas);
	}
	if (flex)
		ferry_wr_no_tags(w);
	return 0;
}

static int
md_resp_topic_encode(struct ferry_wr *w, int16_t ver,
		     const struct ferry_kafka_metadata_resp_topic *t)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);
	int err;

	/* Name is nullable only from v12; TopicAuthorizedOperations (v8+) is non-ignorable. */
	if (t->Name.p == NULL && ver < 12)
		return FERRY_ERR__INVALID_ARG;
	if (ver < 8 && t->TopicAuthorizedOperations != FERRY_KAFKA_AUTHORIZED_OPS_UNKNOWN)
		return FERRY_ERR__INVALID_ARG;
	if (!ferry_msg_arr_ok(t->n_partitions, t->Partitions, false))
		return FERRY_ERR__INVALID_ARG;
	ferry_wr_i16(w, t->ErrorCode);
	ferry_wr_str(w, flex, t->Name);
	if (ver >= 10)
		ferry_wr_raw(w, t->TopicId, sizeof(t->TopicId));
	ferry_wr_bool(w, t->IsInternal);
	ferry_wr_array(w, flex, t->n_partitions);
	for (int32_t i = 0; i < t->n_partitions; i++) {
		err = md_resp_partition_encode(w, ver, &t->Partitions[i]);
		if (err)
			return err;
	}
	if (ver >= 8)
		ferry_wr_i32(w, t->TopicAuthorizedOperations);
	if (flex)
		ferry_wr_no_tags(w);
	return 0;
}

int
ferry_kafka_metadata_resp_encode(struct ferry_wr *w, int16_t ver,
				 const struct ferry_kafka_metadata_resp *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(METADATA, ver);
	int err;

	if (!FERRY_MSG_VER_OK(METADATA, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	/* ClusterAuthorizedOperations: v8-10 only and non-ignorable (KIP-700 moved it to
	 * DescribeCluster); ThrottleTimeMs, ClusterId, Rack, TopicId, OfflineReplicas
	 * and LeaderEpoch are ignorable and silently dropped where absent. */
	if ((ver < 8 || ver > 10) &&
	    m->ClusterAuthorizedOperations != FERRY_KAFKA_AUTHORIZED_OPS_UNKNOWN)
		return FERRY_ERR__INVALID_ARG;
	if (!ferry_msg_arr_ok(m->n_brokers, m->Brokers, false) ||
	    !ferry_msg_arr_ok(m->n_topics, m->Topics, false))
		return FERRY_ERR__INVALID_ARG;

	if (ver >= 3)
		ferry_wr_i32(w, m->ThrottleTimeMs);
	ferry_wr_array(w, flex, m->n_brokers);
	for (int32_t i = 0; i < m->n_brokers; i++) {
		const struct ferry_kafka_metadata_resp_broker *b = &m->Brokers[i];
		if (b->Host.p == NULL)
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_i32(w, b->NodeId);
		ferry_wr_str(w, flex, b->Host);
		ferry_wr_i32(w, b->Port);
		ferry_wr_str(w, flex, b->Rack); /* v1+, nullable */
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (ver >= 2)
		ferry_wr_str(w, flex, m->ClusterId);
	ferry_wr_i32(w, m->ControllerId); /* v1+ */
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		err = md_resp_topic_encode(w, ver, &m->Topics[i]);
		if (err)
			return ferry_msg_enc_fail(w, start, ovf, err);
	}
	if (ver >= 8 && ver <= 10)
		ferry_wr_i32(w, m->ClusterAuthorizedOperations);
	if (flex)
		ferry_wr_no_tags(w);
	return w->overflow ? FERRY_ERR__NOSPACE : 0;
}

static bool
md_resp_partition_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
			 struct ferry_kafka_metadata_resp_partition *p)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);

	p->LeaderEpoch = -1;
	if (!ferry_rd_i16(rd, &p->ErrorCode) || !ferry_rd_i32(rd, &p->PartitionIndex) ||
	    !ferry_rd_i32(rd, &p->LeaderId))
		return false;
	if (ver >= 7 && !ferry_rd_i32(rd, &p->LeaderEpoch))
		return false;
	if (!ferry_msg_rd_i32_array(rd, flex, a, &p->n_replica_nodes, &p->ReplicaNodes))
		return false;
	if (!ferry_msg_rd_i32_array(rd, flex, a, &p->n_isr_nodes, &p->IsrNodes))
		return false;
	if (ver >= 5 && !ferry_msg_rd_i32_array(rd, flex, a, &p->n_offline_replicas, &p->OfflineReplicas))
		return false;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		return false;
	return true;
}

static bool
md_resp_topic_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
		     struct ferry_kafka_metadata_resp_topic *t)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);

	t->TopicAuthorizedOperations = FERRY_KAFKA_AUTHORIZED_OPS_UNKNOWN;
	if (!ferry_rd_i16(rd, &t->ErrorCode))
		return false;
	if (!ferry_rd_str(rd, flex, ver >= 12, &t->Name))
		return false;
	if (ver >= 10 && !ferry_rd_uuid(rd, t->TopicId))
		return false;
	if (!ferry_rd_bool(rd, &t->IsInternal))
		return false;
	if (!ferry_rd_array(rd, flex, false, md_partition_min(ver), &t->n_partitions))
		return false;
	t->Partitions = ferry_arena_alloc(a, (size_t)t->n_partitions, sizeof(*t->Partitions));
	if (t->Partitions == NULL)
		return ferry_rd_fail(rd, FERRY_ERR__NOMEM);
	memset(t->Partitions, 0, (size_t)t->n_partitions * sizeof(*t->Partitions));
	for (int32_t i = 0; i < t->n_partitions; i++)
		if (!md_resp_partition_decode(rd, ver, a, &t->Partitions[i]))
			return false;
	if (ver >= 8 && !ferry_rd_i32(rd, &t->TopicAuthorizedOperations))
		return false;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		return false;
	return true;
}

int
ferry_kafka_metadata_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				 struct ferry_kafka_metadata_resp *m)
{
	bool flex = FERRY_MSG_FLEX(METADATA, ver);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(METADATA, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);
	m->ControllerId = -1;
	m->ClusterAuthorizedOperations = FERRY_KAFKA_AUTHORIZED_OPS_UNKNOWN;

	if (ver >= 3 && !ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, md_broker_min(ver), &m->n_brokers))
		goto err_parse;
	m->Brokers = ferry_arena_alloc(a, (size_t)m->n_brokers, sizeof(*m->Brokers));
	if (m->Brokers == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_brokers; i++) {
		struct ferry_kafka_metadata_resp_broker *b = &m->Brokers[i];
		if (!ferry_rd_i32(rd, &b->NodeId))
			goto err_parse;
		if (!ferry_rd_str(rd, flex, false, &b->Host))
			goto err_parse;
		if (!ferry_rd_i32(rd, &b->Port))
			goto err_parse;
		if (!ferry_rd_str(rd, flex, true, &b->Rack))
			goto err_parse;
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	if (ver >= 2 && !ferry_rd_str(rd, flex, true, &m->ClusterId))
		goto err_parse;
	if (!ferry_rd_i32(rd, &m->ControllerId))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, md_topic_min(ver), &m->n_topics))
		goto err_parse;
	m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
	if (m->Topics == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	memset(m->Topics, 0, (size_t)m->n_topics * sizeof(*m->Topics));
	for (int32_t i = 0; i < m->n_topics; i++)
		if (!md_resp_topic_decode(rd, ver, a, &m->Topics[i]))
			goto err_parse;
	if (ver >= 8 && ver <= 10 && !ferry_rd_i32(rd, &m->ClusterAuthorizedOperations))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}
