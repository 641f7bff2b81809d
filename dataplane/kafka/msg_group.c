/*
 * msg_group.c - body codecs of the group coordinator APIs: FindCoordinator
 * (ApiKey 10, v0-3, flexible from v3), OffsetCommit (8, v2-8, flexible from
 * v8) and OffsetFetch (9, v1-7, flexible from v6). Requests and responses,
 * encode and decode.
 *
 * Any thread; no state: everything lives in the reader/writer, arena and
 * message passed in.
 * Spec: apache/kafka clients/src/main/resources/common/message/
 * FindCoordinator{Request,Response}.json (v4+ batches keys, KIP-699),
 * OffsetCommit{Request,Response}.json (v9 adds TopicId, KIP-848),
 * OffsetFetch{Request,Response}.json (v8+ is multi-group);
 * kafka-wire-facts.md §1.3-1.5. No field of these versions is tagged: every
 * tag section is skipped by size.
 */
#include <string.h>

#include "ferry/kafka_group.h"
#include "msg_int.h"

/* Smallest topic entry shared by these APIs: Name (empty) + an empty array (+ tags). */
static size_t
grp_topic_min(bool flex)
{
	return flex ? 1 + 1 + 1 : 2 + 4;
}

/* A nullable string's smallest encoding: compact 00, or int16 -1. */
static size_t
grp_nstr_min(bool flex)
{
	return flex ? 1 : 2;
}

/* ---- FindCoordinator (10) ----------------------------------------------------------------- */

int
ferry_kafka_find_coordinator_req_encode(struct ferry_wr *w, int16_t ver,
					const struct ferry_kafka_find_coordinator_req *m)
{
	bool flex = FERRY_MSG_FLEX(FIND_COORDINATOR, ver);

	if (!FERRY_MSG_VER_OK(FIND_COORDINATOR, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (m->Key.p == NULL)
		return FERRY_ERR__INVALID_ARG;
	/* KeyType (v1+) is non-ignorable: a v0 broker only knows group coordinators. */
	if (ver < 1 && m->KeyType != FERRY_KAFKA_COORD_GROUP)
		return FERRY_ERR__INVALID_ARG;
	ferry_wr_str(w, flex, m->Key);
	if (ver >= 1)
		ferry_wr_i8(w, m->KeyType);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_find_coordinator_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					struct ferry_kafka_find_coordinator_req *m)
{
	bool flex = FERRY_MSG_FLEX(FIND_COORDINATOR, ver);

	(void)a; /* no arrays */
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(FIND_COORDINATOR, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_str(rd, flex, false, &m->Key))
		goto err_parse;
	if (ver >= 1 && !ferry_rd_i8(rd, &m->KeyType))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

int
ferry_kafka_find_coordinator_resp_encode(struct ferry_wr *w, int16_t ver,
					 const struct ferry_kafka_find_coordinator_resp *m)
{
	bool flex = FERRY_MSG_FLEX(FIND_COORDINATOR, ver);

	if (!FERRY_MSG_VER_OK(FIND_COORDINATOR, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (m->Host.p == NULL)
		return FERRY_ERR__INVALID_ARG;
	/* ThrottleTimeMs and ErrorMessage (v1+) are ignorable: dropped at v0. */
	if (ver >= 1)
		ferry_wr_i32(w, m->ThrottleTimeMs);
	ferry_wr_i16(w, m->ErrorCode);
	if (ver >= 1)
		ferry_wr_str(w, flex, m->ErrorMessage);
	ferry_wr_i32(w, m->NodeId);
	ferry_wr_str(w, flex, m->Host);
	ferry_wr_i32(w, m->Port);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_find_coordinator_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					 struct ferry_kafka_find_coordinator_resp *m)
{
	bool flex = FERRY_MSG_FLEX(FIND_COORDINATOR, ver);

	(void)a;
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(FIND_COORDINATOR, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (ver >= 1 && !ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (!ferry_rd_i16(rd, &m->ErrorCode))
		goto err_parse;
	if (ver >= 1 && !ferry_rd_str(rd, flex, true, &m->ErrorMessage))
		goto err_parse;
	if (!ferry_rd_i32(rd, &m->NodeId))
		goto err_parse;
	if (!ferry_rd_str(rd, flex, false, &m->Host))
		goto err_parse;
	if (!ferry_rd_i32(rd, &m->Port))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

/* ---- OffsetCommit (8) --------------------------------------------------------------------- */

static size_t
oc_req_partition_min(int16_t ver)
{
	bool flex = FERRY_MSG_FLEX(OFFSET_COMMIT, ver);
	/* PartitionIndex, CommittedOffset, CommittedLeaderEpoch (v6+), null metadata, tags */
	return 4u + 8u + (ver >= 6 ? 4u : 0u) + grp_nstr_min(flex) + (flex ? 1u : 0u);
}

int
ferry_kafka_offset_commit_req_encode(struct ferry_wr *w, int16_t ver,
				     const struct ferry_kafka_offset_commit_req *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(OFFSET_COMMIT, ver);

	if (!FERRY_MSG_VER_OK(OFFSET_COMMIT, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (m->GroupId.p == NULL || m->MemberId.p == NULL)
		return FERRY_ERR__INVALID_ARG;
	/* GroupInstanceId (v7+, KIP-345 static membership) is non-ignorable. */
	if (ver < 7 && m->GroupInstanceId.p != NULL)
		return FERRY_ERR__INVALID_ARG;
	if (!ferry_msg_arr_ok(m->n_topics, m->Topics, false))
		return FERRY_ERR__INVALID_ARG;

	ferry_wr_str(w, flex, m->GroupId);
	ferry_wr_i32(w, m->GenerationId);
	ferry_wr_str(w, flex, m->MemberId);
	if (ver >= 7)
		ferry_wr_str(w, flex, m->GroupInstanceId);
	/* RetentionTimeMs: v2-4 only, ignorable (retention became broker config in v5). */
	if (ver <= 4)
		ferry_wr_i64(w, m->RetentionTimeMs);
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		const struct ferry_kafka_offset_commit_req_topic *t = &m->Topics[i];
		if (t->Name.p == NULL || !ferry_msg_arr_ok(t->n_partitions, t->Partitions, false))
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		ferry_wr_array(w, flex, t->n_partitions);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			const struct ferry_kafka_offset_commit_req_partition *p = &t->Partitions[j];
			ferry_wr_i32(w, p->PartitionIndex);
			ferry_wr_i64(w, p->CommittedOffset);
			/* CommittedLeaderEpoch: v6+, ignorable (no fencing before v6). */
			if (ver >= 6)
				ferry_wr_i32(w, p->CommittedLeaderEpoch);
			ferry_wr_str(w, flex, p->CommittedMetadata);
			if (flex)
				ferry_wr_no_tags(w);
		}
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_offset_commit_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				     struct ferry_kafka_offset_commit_req *m)
{
	bool flex = FERRY_MSG_FLEX(OFFSET_COMMIT, ver);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(OFFSET_COMMIT, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);
	m->RetentionTimeMs = -1;

	if (!ferry_rd_str(rd, flex, false, &m->GroupId))
		goto err_parse;
	if (!ferry_rd_i32(rd, &m->GenerationId))
		goto err_parse;
	if (!ferry_rd_str(rd, flex, false, &m->MemberId))
		goto err_parse;
	if (ver >= 7 && !ferry_rd_str(rd, flex, true, &m->GroupInstanceId))
		goto err_parse;
	if (ver <= 4 && !ferry_rd_i64(rd, &m->RetentionTimeMs))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, grp_topic_min(flex), &m->n_topics))
		goto err_parse;
	m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
	if (m->Topics == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_topics; i++) {
		struct ferry_kafka_offset_commit_req_topic *t = &m->Topics[i];
		if (!ferry_rd_str(rd, flex, false, &t->Name))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, oc_req_partition_min(ver), &t->n_partitions))
			goto err_parse;
		t->Partitions =
		    ferry_arena_alloc(a, (size_t)t->n_partitions, sizeof(*t->Partitions));
		if (t->Partitions == NULL)
			return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			struct ferry_kafka_offset_commit_req_partition *p = &t->Partitions[j];
			p->CommittedLeaderEpoch = -1;
			if (!ferry_rd_i32(rd, &p->PartitionIndex))
				goto err_parse;
			if (!ferry_rd_i64(rd, &p->CommittedOffset))
				goto err_parse;
			if (ver >= 6 && !ferry_rd_i32(rd, &p->CommittedLeaderEpoch))
				goto err_parse;
			if (!ferry_rd_str(rd, flex, true, &p->CommittedMetadata))
				goto err_parse;
			if (flex && !ferry_rd_tags(rd, NULL, NULL))
				goto err_parse;
		}
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

int
ferry_kafka_offset_commit_resp_encode(struct ferry_wr *w, int16_t ver,
				      const struct ferry_kafka_offset_commit_resp *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(OFFSET_COMMIT, ver);

	if (!FERRY_MSG_VER_OK(OFFSET_COMMIT, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (!ferry_msg_arr_ok(m->n_topics, m->Topics, false))
		return FERRY_ERR__INVALID_ARG;

	if (ver >= 3)
		ferry_wr_i32(w, m->ThrottleTimeMs);
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		const struct ferry_kafka_offset_commit_resp_topic *t = &m->Topics[i];
		if (t->Name.p == NULL || !ferry_msg_arr_ok(t->n_partitions, t->Partitions, false))
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		ferry_wr_array(w, flex, t->n_partitions);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			ferry_wr_i32(w, t->Partitions[j].PartitionIndex);
			ferry_wr_i16(w, t->Partitions[j].ErrorCode);
			if (flex)
				ferry_wr_no_tags(w);
		}
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_offset_commit_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				      struct ferry_kafka_offset_commit_resp *m)
{
	bool flex = FERRY_MSG_FLEX(OFFSET_COMMIT, ver);
	/* PartitionIndex, ErrorCode, tags */
	size_t part_min = 4 + 2 + (flex ? 1 : 0);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(OFFSET_COMMIT, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (ver >= 3 && !ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, grp_topic_min(flex), &m->n_topics))
		goto err_parse;
	m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
	if (m->Topics == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_topics; i++) {
		struct ferry_kafka_offset_commit_resp_topic *t = &m->Topics[i];
		if (!ferry_rd_str(rd, flex, false, &t->Name))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, part_min, &t->n_partitions))
			goto err_parse;
		t->Partitions =
		    ferry_arena_alloc(a, (size_t)t->n_partitions, sizeof(*t->Partitions));
		if (t->Partitions == NULL)
			return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			if (!ferry_rd_i32(rd, &t->Partitions[j].PartitionIndex))
				goto err_parse;
			if (!ferry_rd_i16(rd, &t->Partitions[j].ErrorCode))
				goto err_parse;
			if (flex && !ferry_rd_tags(rd, NULL, NULL))
				goto err_parse;
		}
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

/* ---- OffsetFetch (9) ---------------------------------------------------------------------- */

static size_t
of_resp_partition_min(int16_t ver)
{
	bool flex = FERRY_MSG_FLEX(OFFSET_FETCH, ver);
	/* PartitionIndex, CommittedOffset, CommittedLeaderEpoch (v5+), null Metadata,
	 * ErrorCode, tags */
	return 4u + 8u + (ver >= 5 ? 4u : 0u) + grp_nstr_min(flex) + 2u + (flex ? 1u : 0u);
}

int
ferry_kafka_offset_fetch_req_encode(struct ferry_wr *w, int16_t ver,
				    const struct ferry_kafka_offset_fetch_req *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(OFFSET_FETCH, ver);

	if (!FERRY_MSG_VER_OK(OFFSET_FETCH, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (m->GroupId.p == NULL)
		return FERRY_ERR__INVALID_ARG;
	/* Topics is nullable ("every topic") from v2 only. */
	if (!ferry_msg_arr_ok(m->n_topics, m->Topics, ver >= 2))
		return FERRY_ERR__INVALID_ARG;
	/* RequireStable (v7+, KIP-447) is non-ignorable. */
	if (ver < 7 && m->RequireStable)
		return FERRY_ERR__INVALID_ARG;

	ferry_wr_str(w, flex, m->GroupId);
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		const struct ferry_kafka_offset_fetch_req_topic *t = &m->Topics[i];
		if (t->Name.p == NULL ||
		    !ferry_msg_arr_ok(t->n_partition_indexes, t->PartitionIndexes, false))
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		/* PartitionIndexes is []int32: no tag sections inside. */
		ferry_msg_wr_i32_array(w, flex, t->n_partition_indexes, t->PartitionIndexes);
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (ver >= 7)
		ferry_wr_bool(w, m->RequireStable);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_offset_fetch_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				    struct ferry_kafka_offset_fetch_req *m)
{
	bool flex = FERRY_MSG_FLEX(OFFSET_FETCH, ver);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(OFFSET_FETCH, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_str(rd, flex, false, &m->GroupId))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, ver >= 2, grp_topic_min(flex), &m->n_topics))
		goto err_parse;
	if (m->n_topics >= 0) {
		m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
		if (m->Topics == NULL)
			return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	}
	for (int32_t i = 0; i < m->n_topics; i++) {
		struct ferry_kafka_offset_fetch_req_topic *t = &m->Topics[i];
		if (!ferry_rd_str(rd, flex, false, &t->Name))
			goto err_parse;
		if (!ferry_msg_rd_i32_array(rd, flex, a, &t->n_partition_indexes,
					    &t->PartitionIndexes))
			goto err_parse;
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	if (ver >= 7 && !ferry_rd_bool(rd, &m->RequireStable))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

int
ferry_kafka_offset_fetch_resp_encode(struct ferry_wr *w, int16_t ver,
				     const struct ferry_kafka_offset_fetch_resp *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(OFFSET_FETCH, ver);

	if (!FERRY_MSG_VER_OK(OFFSET_FETCH, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (!ferry_msg_arr_ok(m->n_topics, m->Topics, false))
		return FERRY_ERR__INVALID_ARG;

	if (ver >= 3)
		ferry_wr_i32(w, m->ThrottleTimeMs);
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		const struct ferry_kafka_offset_fetch_resp_topic *t = &m->Topics[i];
		if (t->Name.p == NULL || !ferry_msg_arr_ok(t->n_partitions, t->Partitions, false))
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		ferry_wr_array(w, flex, t->n_partitions);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			const struct ferry_kafka_offset_fetch_resp_partition *p = &t->Partitions[j];
			ferry_wr_i32(w, p->PartitionIndex);
			ferry_wr_i64(w, p->CommittedOffset);
			/* CommittedLeaderEpoch: v5+, ignorable. */
			if (ver >= 5)
				ferry_wr_i32(w, p->CommittedLeaderEpoch);
			ferry_wr_str(w, flex, p->Metadata);
			ferry_wr_i16(w, p->ErrorCode);
			if (flex)
				ferry_wr_no_tags(w);
		}
		if (flex)
			ferry_wr_no_tags(w);
	}
	/* Top-level ErrorCode: v2+, ignorable (v1 clients read errors per partition). */
	if (ver >= 2)
		ferry_wr_i16(w, m->ErrorCode);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_offset_fetch_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				     struct ferry_kafka_offset_fetch_resp *m)
{
	bool flex = FERRY_MSG_FLEX(OFFSET_FETCH, ver);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(OFFSET_FETCH, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (ver >= 3 && !ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, grp_topic_min(flex), &m->n_topics))
		goto err_parse;
	m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
	if (m->Topics == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_topics; i++) {
		struct ferry_kafka_offset_fetch_resp_topic *t = &m->Topics[i];
		if (!ferry_rd_str(rd, flex, false, &t->Name))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, of_resp_partition_min(ver), &t->n_partitions))
			goto err_parse;
		t->Partitions =
		    ferry_arena_alloc(a, (size_t)t->n_partitions, sizeof(*t->Partitions));
		if (t->Partitions == NULL)
			return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			struct ferry_kafka_offset_fetch_resp_partition *p = &t->Partitions[j];
			p->CommittedLeaderEpoch = -1;
			if (!ferry_rd_i32(rd, &p->PartitionIndex))
				goto err_parse;
			if (!ferry_rd_i64(rd, &p->CommittedOffset))
				goto err_parse;
			if (ver >= 5 && !ferry_rd_i32(rd, &p->CommittedLeaderEpoch))
				goto err_parse;
			if (!ferry_rd_str(rd, flex, true, &p->Metadata))
				goto err_parse;
			if (!ferry_rd_i16(rd, &p->ErrorCode))
				goto err_parse;
			if (flex && !ferry_rd_tags(rd, NULL, NULL))
				goto err_parse;
		}
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	if (ver >= 2 && !ferry_rd_i16(rd, &m->ErrorCode))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}
