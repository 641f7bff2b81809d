/*
 * msg_list_offsets.c - body codec of ListOffsets (ApiKey 2), versions 1-7,
 * flexible (compact types + tag sections) from v6: request and response,
 * encode and decode. v0 (MaxNumOffsets, OldStyleOffsets) is not implemented.
 *
 * Any thread; no state: everything lives in the reader/writer, arena and
 * message passed in.
 * Spec: apache/kafka clients/src/main/resources/common/message/ListOffsetsRequest.json and
 * ListOffsetsResponse.json (flexibleVersions 6+; v7 = v6 on the wire, KIP-734
 * only adds the -3 timestamp); kafka-wire-facts.md §1.3-1.4, §2.5.
 * No field of these versions is tagged: every tag section is skipped by size.
 */
#include <string.h>

#include "ferry/kafka_ctl.h"
#include "msg_int.h"

/* Name (empty) + Partitions (empty) + tags: the smallest topic entry. */
static size_t
lo_topic_min(int16_t ver)
{
	return FERRY_MSG_FLEX(LIST_OFFSETS, ver) ? 1 + 1 + 1 : 2 + 4;
}

/* ---- request ------------------------------------------------------------------------------ */

static size_t
lo_req_partition_min(int16_t ver)
{
	/* PartitionIndex, CurrentLeaderEpoch (v4+), Timestamp, tags */
	return 4u + (ver >= 4 ? 4u : 0u) + 8u + (FERRY_MSG_FLEX(LIST_OFFSETS, ver) ? 1u : 0u);
}

int
ferry_kafka_list_offsets_req_encode(struct ferry_wr *w, int16_t ver,
				    const struct ferry_kafka_list_offsets_req *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(LIST_OFFSETS, ver);

	if (!FERRY_MSG_VER_OK(LIST_OFFSETS, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	/* IsolationLevel (v2+) is non-ignorable: read_committed cannot be asked at v1. */
	if (ver < 2 && m->IsolationLevel != 0)
		return FERRY_ERR__INVALID_ARG;
	if (!ferry_msg_arr_ok(m->n_topics, m->Topics, false))
		return FERRY_ERR__INVALID_ARG;

	ferry_wr_i32(w, m->ReplicaId);
	if (ver >= 2)
		ferry_wr_i8(w, m->IsolationLevel);
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		const struct ferry_kafka_list_offsets_req_topic *t = &m->Topics[i];
		if (t->Name.p == NULL || !ferry_msg_arr_ok(t->n_partitions, t->Partitions, false))
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		ferry_wr_array(w, flex, t->n_partitions);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			const struct ferry_kafka_list_offsets_req_partition *p = &t->Partitions[j];
			ferry_wr_i32(w, p->PartitionIndex);
			/* CurrentLeaderEpoch: v4+, ignorable (fencing is simply off before v4). */
			if (ver >= 4)
				ferry_wr_i32(w, p->CurrentLeaderEpoch);
			ferry_wr_i64(w, p->Timestamp);
			if (flex)
				ferry_wr_no_tags(w);
		}
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (flex)
		ferry_wr_no_tags(w);
	return w->overflow ? FERRY_ERR__NOSPACE : 0;
}

int
ferry_kafka_list_offsets_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				    struct ferry_kafka_list_offsets_req *m)
{
	bool flex = FERRY_MSG_FLEX(LIST_OFFSETS, ver);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(LIST_OFFSETS, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_i32(rd, &m->ReplicaId))
		goto err_parse;
	if (ver >= 2 && !ferry_rd_i8(rd, &m->IsolationLevel))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, lo_topic_min(ver), &m->n_topics))
		goto err_parse;
	m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
	if (m->Topics == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_topics; i++) {
		struct ferry_kafka_list_offsets_req_topic *t = &m->Topics[i];
		if (!ferry_rd_str(rd, flex, false, &t->Name))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, lo_req_partition_min(ver), &t->n_partitions))
			goto err_parse;
		t->Partitions =
		    ferry_arena_alloc(a, (size_t)t->n_partitions, sizeof(*t->Partitions));
		if (t->Partitions == NULL)
			return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			struct ferry_kafka_list_offsets_req_partition *p = &t->Partitions[j];
			p->CurrentLeaderEpoch = -1;
			if (!ferry_rd_i32(rd, &p->PartitionIndex))
				goto err_parse;
			if (ver >= 4 && !ferry_rd_i32(rd, &p->CurrentLeaderEpoch))
				goto err_parse;
			if (!ferry_rd_i64(rd, &p->Timestamp))
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

/* ---- response ----------------------------------------------------------------------------- */

static size_t
lo_resp_partition_min(int16_t ver)
{
	/* PartitionIndex, ErrorCode, Timestamp, Offset, LeaderEpoch (v4+), tags */
	return 4u + 2u + 8u + 8u + (ver >= 4 ? 4u : 0u) + (FERRY_MSG_FLEX(LIST_OFFSETS, ver) ? 1u : 0u);
}

int
ferry_kafka_list_offsets_resp_encode(struct ferry_wr *w, int16_t ver,
				     const struct ferry_kafka_list_offsets_resp *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(LIST_OFFSETS, ver);

	if (!FERRY_MSG_VER_OK(LIST_OFFSETS, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (!ferry_msg_arr_ok(m->n_topics, m->Topics, false))
		return FERRY_ERR__INVALID_ARG;

	/* ThrottleTimeMs: v2+, ignorable. */
	if (ver >= 2)
		ferry_wr_i32(w, m->ThrottleTimeMs);
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		const struct ferry_kafka_list_offsets_resp_topic *t = &m->Topics[i];
		if (t->Name.p == NULL || !ferry_msg_arr_ok(t->n_partitions, t->Partitions, false))
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		ferry_wr_array(w, flex, t->n_partitions);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			const struct ferry_kafka_list_offsets_resp_partition *p = &t->Partitions[j];
			/* LeaderEpoch (v4+) is not marked ignorable in the spec. */
			if (ver < 4 && p->LeaderEpoch != -1)
				return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
			ferry_wr_i32(w, p->PartitionIndex);
			ferry_wr_i16(w, p->ErrorCode);
			ferry_wr_i64(w, p->Timestamp);
			ferry_wr_i64(w, p->Offset);
			if (ver >= 4)
				ferry_wr_i32(w, p->LeaderEpoch);
			if (flex)
				ferry_wr_no_tags(w);
		}
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (flex)
		ferry_wr_no_tags(w);
	return w->overflow ? FERRY_ERR__NOSPACE : 0;
}

int
ferry_kafka_list_offsets_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				     struct ferry_kafka_list_offsets_resp *m)
{
	bool flex = FERRY_MSG_FLEX(LIST_OFFSETS, ver);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(LIST_OFFSETS, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (ver >= 2 && !ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, lo_topic_min(ver), &m->n_topics))
		goto err_parse;
	m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
	if (m->Topics == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_topics; i++) {
		struct ferry_kafka_list_offsets_resp_topic *t = &m->Topics[i];
		if (!ferry_rd_str(rd, flex, false, &t->Name))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, lo_resp_partition_min(ver), &t->n_partitions))
			goto err_parse;
		t->Partitions =
		    ferry_arena_alloc(a, (size_t)t->n_partitions, sizeof(*t->Partitions));
		if (t->Partitions == NULL)
			return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
		for (int32_t j = 0; j < t->n_partitions; j++) {
			struct ferry_kafka_list_offsets_resp_partition *p = &t->Partitions[j];
			p->LeaderEpoch = -1;
			if (!ferry_rd_i32(rd, &p->PartitionIndex))
				goto err_parse;
			if (!ferry_rd_i16(rd, &p->ErrorCode))
				goto err_parse;
			if (!ferry_rd_i64(rd, &p->Timestamp))
				goto err_parse;
			if (!ferry_rd_i64(rd, &p->Offset))
				goto err_parse;
			if (ver >= 4 && !ferry_rd_i32(rd, &p->LeaderEpoch))
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
