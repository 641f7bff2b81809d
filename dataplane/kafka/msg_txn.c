/*
 * msg_txn.c - body codecs of the producer-id and transaction APIs ferry's
 * Produce side needs: InitProducerId (ApiKey 22, v0-4, flexible from v2),
 * AddPartitionsToTxn (24, v0-3, flexible from v3) and EndTxn (26, v0-3,
 * flexible from v3). Requests and responses, encode and decode.
 *
 * Any thread; no state: everything lives in the reader/writer, arena and
 * message passed in.
 * Spec: apache/kafka clients/src/main/resources/common/message/
 * InitProducerId{Request,Response}.json, AddPartitionsToTxn{Request,Response}.json
 * (the v0-3 "V3AndBelow" client layout; v4+ is broker-to-broker batching, KIP-890),
 * EndTxn{Request,Response}.json; kafka-wire-facts.md §1.3-1.4, §2.5, §7.5.
 * No field of these versions is tagged: every tag section is skipped by size.
 */
#include <string.h>

#include "ferry/kafka_ctl.h"
#include "msg_int.h"

/* ---- InitProducerId (22) ------------------------------------------------------------------ */

int
ferry_kafka_init_producer_id_req_encode(struct ferry_wr *w, int16_t ver,
					const struct ferry_kafka_init_producer_id_req *m)
{
	bool flex = FERRY_MSG_FLEX(INIT_PRODUCER_ID, ver);

	if (!FERRY_MSG_VER_OK(INIT_PRODUCER_ID, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	/* ProducerId/ProducerEpoch (v3+, KIP-360 epoch bump) are non-ignorable, default -1. */
	if (ver < 3 && (m->ProducerId != -1 || m->ProducerEpoch != -1))
		return FERRY_ERR__INVALID_ARG;
	ferry_wr_str(w, flex, m->TransactionalId); /* nullable in every version */
	ferry_wr_i32(w, m->TransactionTimeoutMs);
	if (ver >= 3) {
		ferry_wr_i64(w, m->ProducerId);
		ferry_wr_i16(w, m->ProducerEpoch);
	}
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_init_producer_id_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					struct ferry_kafka_init_producer_id_req *m)
{
	bool flex = FERRY_MSG_FLEX(INIT_PRODUCER_ID, ver);

	(void)a; /* no arrays */
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(INIT_PRODUCER_ID, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);
	m->ProducerId = -1;
	m->ProducerEpoch = -1;

	if (!ferry_rd_str(rd, flex, true, &m->TransactionalId))
		goto err_parse;
	if (!ferry_rd_i32(rd, &m->TransactionTimeoutMs))
		goto err_parse;
	if (ver >= 3 && !ferry_rd_i64(rd, &m->ProducerId))
		goto err_parse;
	if (ver >= 3 && !ferry_rd_i16(rd, &m->ProducerEpoch))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

int
ferry_kafka_init_producer_id_resp_encode(struct ferry_wr *w, int16_t ver,
					 const struct ferry_kafka_init_producer_id_resp *m)
{
	bool flex = FERRY_MSG_FLEX(INIT_PRODUCER_ID, ver);

	if (!FERRY_MSG_VER_OK(INIT_PRODUCER_ID, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	ferry_wr_i32(w, m->ThrottleTimeMs);
	ferry_wr_i16(w, m->ErrorCode);
	ferry_wr_i64(w, m->ProducerId);
	ferry_wr_i16(w, m->ProducerEpoch);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_init_producer_id_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					 struct ferry_kafka_init_producer_id_resp *m)
{
	bool flex = FERRY_MSG_FLEX(INIT_PRODUCER_ID, ver);

	(void)a;
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(INIT_PRODUCER_ID, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (!ferry_rd_i16(rd, &m->ErrorCode))
		goto err_parse;
	if (!ferry_rd_i64(rd, &m->ProducerId))
		goto err_parse;
	if (!ferry_rd_i16(rd, &m->ProducerEpoch))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

/* ---- AddPartitionsToTxn (24) -------------------------------------------------------------- */

/* A topic entry with an empty name and no partitions: Name + array count (+ tags). */
static size_t
apt_topic_min(bool flex)
{
	return flex ? 1 + 1 + 1 : 2 + 4;
}

int
ferry_kafka_add_partitions_to_txn_req_encode(struct ferry_wr *w, int16_t ver,
					     const struct ferry_kafka_add_partitions_to_txn_req *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(ADD_PARTITIONS_TO_TXN, ver);

	if (!FERRY_MSG_VER_OK(ADD_PARTITIONS_TO_TXN, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (m->TransactionalId.p == NULL || !ferry_msg_arr_ok(m->n_topics, m->Topics, false))
		return FERRY_ERR__INVALID_ARG;

	ferry_wr_str(w, flex, m->TransactionalId);
	ferry_wr_i64(w, m->ProducerId);
	ferry_wr_i16(w, m->ProducerEpoch);
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t i = 0; i < m->n_topics; i++) {
		const struct ferry_kafka_add_partitions_to_txn_topic *t = &m->Topics[i];
		if (t->Name.p == NULL || !ferry_msg_arr_ok(t->n_partitions, t->Partitions, false))
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		/* Partitions is []int32: the elements are not structs, so no tag sections. */
		ferry_msg_wr_i32_array(w, flex, t->n_partitions, t->Partitions);
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_add_partitions_to_txn_req_decode(struct ferry_rd *rd, int16_t ver,
					     struct ferry_arena *a,
					     struct ferry_kafka_add_partitions_to_txn_req *m)
{
	bool flex = FERRY_MSG_FLEX(ADD_PARTITIONS_TO_TXN, ver);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(ADD_PARTITIONS_TO_TXN, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_str(rd, flex, false, &m->TransactionalId))
		goto err_parse;
	if (!ferry_rd_i64(rd, &m->ProducerId))
		goto err_parse;
	if (!ferry_rd_i16(rd, &m->ProducerEpoch))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, apt_topic_min(flex), &m->n_topics))
		goto err_parse;
	m->Topics = ferry_arena_alloc(a, (size_t)m->n_topics, sizeof(*m->Topics));
	if (m->Topics == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_topics; i++) {
		struct ferry_kafka_add_partitions_to_txn_topic *t = &m->Topics[i];
		if (!ferry_rd_str(rd, flex, false, &t->Name))
			goto err_parse;
		if (!ferry_msg_rd_i32_array(rd, flex, a, &t->n_partitions, &t->Partitions))
			goto err_parse;
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
ferry_kafka_add_partitions_to_txn_resp_encode(
    struct ferry_wr *w, int16_t ver, const struct ferry_kafka_add_partitions_to_txn_resp *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;
	bool flex = FERRY_MSG_FLEX(ADD_PARTITIONS_TO_TXN, ver);

	if (!FERRY_MSG_VER_OK(ADD_PARTITIONS_TO_TXN, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (!ferry_msg_arr_ok(m->n_results, m->Results, false))
		return FERRY_ERR__INVALID_ARG;

	ferry_wr_i32(w, m->ThrottleTimeMs);
	ferry_wr_array(w, flex, m->n_results);
	for (int32_t i = 0; i < m->n_results; i++) {
		const struct ferry_kafka_add_partitions_to_txn_topic_result *t = &m->Results[i];
		if (t->Name.p == NULL || !ferry_msg_arr_ok(t->n_results, t->Results, false))
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, flex, t->Name);
		ferry_wr_array(w, flex, t->n_results);
		for (int32_t j = 0; j < t->n_results; j++) {
			ferry_wr_i32(w, t->Results[j].PartitionIndex);
			ferry_wr_i16(w, t->Results[j].ErrorCode);
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
ferry_kafka_add_partitions_to_txn_resp_decode(struct ferry_rd *rd, int16_t ver,
					      struct ferry_arena *a,
					      struct ferry_kafka_add_partitions_to_txn_resp *m)
{
	bool flex = FERRY_MSG_FLEX(ADD_PARTITIONS_TO_TXN, ver);
	/* PartitionIndex, ErrorCode, tags */
	size_t part_min = 4 + 2 + (flex ? 1 : 0);

	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(ADD_PARTITIONS_TO_TXN, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, apt_topic_min(flex), &m->n_results))
		goto err_parse;
	m->Results = ferry_arena_alloc(a, (size_t)m->n_results, sizeof(*m->Results));
	if (m->Results == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_results; i++) {
		struct ferry_kafka_add_partitions_to_txn_topic_result *t = &m->Results[i];
		if (!ferry_rd_str(rd, flex, false, &t->Name))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, part_min, &t->n_results))
			goto err_parse;
		t->Results = ferry_arena_alloc(a, (size_t)t->n_results, sizeof(*t->Results));
		if (t->Results == NULL)
			return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
		for (int32_t j = 0; j < t->n_results; j++) {
			if (!ferry_rd_i32(rd, &t->Results[j].PartitionIndex))
				goto err_parse;
			if (!ferry_rd_i16(rd, &t->Results[j].ErrorCode))
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

/* ---- EndTxn (26) -------------------------------------------------------------------------- */

int
ferry_kafka_end_txn_req_encode(struct ferry_wr *w, int16_t ver,
			       const struct ferry_kafka_end_txn_req *m)
{
	bool flex = FERRY_MSG_FLEX(END_TXN, ver);

	if (!FERRY_MSG_VER_OK(END_TXN, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (m->TransactionalId.p == NULL)
		return FERRY_ERR__INVALID_ARG;
	ferry_wr_str(w, flex, m->TransactionalId);
	ferry_wr_i64(w, m->ProducerId);
	ferry_wr_i16(w, m->ProducerEpoch);
	ferry_wr_bool(w, m->Committed);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_end_txn_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
			       struct ferry_kafka_end_txn_req *m)
{
	bool flex = FERRY_MSG_FLEX(END_TXN, ver);

	(void)a;
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(END_TXN, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_str(rd, flex, false, &m->TransactionalId))
		goto err_parse;
	if (!ferry_rd_i64(rd, &m->ProducerId))
		goto err_parse;
	if (!ferry_rd_i16(rd, &m->ProducerEpoch))
		goto err_parse;
	if (!ferry_rd_bool(rd, &m->Committed))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

int
ferry_kafka_end_txn_resp_encode(struct ferry_wr *w, int16_t ver,
				const struct ferry_kafka_end_txn_resp *m)
{
	bool flex = FERRY_MSG_FLEX(END_TXN, ver);

	if (!FERRY_MSG_VER_OK(END_TXN, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	ferry_wr_i32(w, m->ThrottleTimeMs);
	ferry_wr_i16(w, m->ErrorCode);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_end_txn_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				struct ferry_kafka_end_txn_resp *m)
{
	bool flex = FERRY_MSG_FLEX(END_TXN, ver);

	(void)a;
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(END_TXN, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (!ferry_rd_i16(rd, &m->ErrorCode))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}
