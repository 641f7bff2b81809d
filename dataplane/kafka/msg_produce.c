/*
 * msg_produce.c - Produce (key 0) request and response bodies, versions 3-9
 * (flexible from 9). v3 is the floor: Kafka 4.0 removed v0-2 and still
 * advertises them (KAFKA-18659), so ferry never picks them.
 *
 * Any thread; no state. A request's Records are spans: the encoder copies the
 * caller's batch bytes into the frame once.
 * Spec: Produce{Request,Response}.json; kafka-wire-facts.md §2.3-2.4, §7.5.
 */
#include "ferry/kafka.h"
#include "msg_int.h"

int
ferry_kafka_produce_req_encode(struct ferry_wr *w, int16_t ver,
			       const struct ferry_kafka_produce_req *m)
{
	if (!FERRY_MSG_VER_OK(PRODUCE, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(PRODUCE, ver);

	ferry_wr_str(w, flex, m->TransactionalId);
	ferry_wr_i16(w, m->Acks);
	ferry_wr_i32(w, m->TimeoutMs);
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t t = 0; t < m->n_topics; t++) {
		const struct ferry_kafka_produce_req_topic *tp = &m->TopicData[t];
		ferry_wr_str(w, flex, tp->Name);
		ferry_wr_array(w, flex, tp->n_partitions);
		for (int32_t i = 0; i < tp->n_partitions; i++) {
			ferry_wr_i32(w, tp->PartitionData[i].Index);
			ferry_wr_bytes(w, flex, tp->PartitionData[i].Records);
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
ferry_kafka_produce_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
			       struct ferry_kafka_produce_req *m)
{
	if (!FERRY_MSG_VER_OK(PRODUCE, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(PRODUCE, ver);
	int32_t n;

	memset(m, 0, sizeof(*m));
	if (!ferry_rd_str(rd, flex, true, &m->TransactionalId) || !ferry_rd_i16(rd, &m->Acks) ||
	    !ferry_rd_i32(rd, &m->TimeoutMs))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, flex ? 3 : 6, &n))
		goto err_parse;
	m->TopicData = ferry_arena_alloc(a, (size_t)n, sizeof(*m->TopicData));
	if (m->TopicData == NULL)
		goto err_nomem;
	m->n_topics = n;
	for (int32_t t = 0; t < m->n_topics; t++) {
		struct ferry_kafka_produce_req_topic *tp = &m->TopicData[t];
		if (!ferry_rd_str(rd, flex, false, &tp->Name))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, flex ? 6 : 8, &n))
			goto err_parse;
		tp->PartitionData = ferry_arena_alloc(a, (size_t)n, sizeof(*tp->PartitionData));
		if (tp->PartitionData == NULL)
			goto err_nomem;
		tp->n_partitions = n;
		for (int32_t i = 0; i < n; i++) {
			struct ferry_kafka_produce_req_part *p = &tp->PartitionData[i];
			if (!ferry_rd_i32(rd, &p->Index) || !ferry_rd_bytes(rd, flex, true, &p->Records))
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
err_nomem:
	ferry_rd_fail(rd, FERRY_ERR__NOMEM);
err_parse:
	return rd->err;
}

int
ferry_kafka_produce_resp_encode(struct ferry_wr *w, int16_t ver,
				const struct ferry_kafka_produce_resp *m)
{
	if (!FERRY_MSG_VER_OK(PRODUCE, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(PRODUCE, ver);

	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t t = 0; t < m->n_topics; t++) {
		const struct ferry_kafka_produce_resp_topic *tp = &m->Responses[t];
		ferry_wr_str(w, flex, tp->Name);
		ferry_wr_array(w, flex, tp->n_partitions);
		for (int32_t i = 0; i < tp->n_partitions; i++) {
			const struct ferry_kafka_produce_resp_part *p = &tp->PartitionResponses[i];
			ferry_wr_i32(w, p->Index);
			ferry_wr_i16(w, p->ErrorCode);
			ferry_wr_i64(w, p->BaseOffset);
			ferry_wr_i64(w, p->LogAppendTimeMs);
			if (ver >= 5)
				ferry_wr_i64(w, p->LogStartOffset);
			if (ver >= 8) {
				ferry_wr_array(w, flex, p->n_record_errors);
				for (int32_t k = 0; k < p->n_record_errors; k++) {
					ferry_wr_i32(w, p->RecordErrors[k].BatchIndex);
					ferry_wr_str(w, flex, p->RecordErrors[k].BatchIndexErrorMessage);
					if (flex)
						ferry_wr_no_tags(w);
				}
				ferry_wr_str(w, flex, p->ErrorMessage);
			}
			if (flex)
				ferry_wr_no_tags(w);
		}
		if (flex)
			ferry_wr_no_tags(w);
	}
	/* ThrottleTimeMs comes after Responses in Produce (unlike Fetch). */
	ferry_wr_i32(w, m->ThrottleTimeMs);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_produce_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				struct ferry_kafka_produce_resp *m)
{
	if (!FERRY_MSG_VER_OK(PRODUCE, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(PRODUCE, ver);
	int32_t n;

	memset(m, 0, sizeof(*m));
	if (!ferry_rd_array(rd, flex, false, flex ? 3 : 6, &n))
		goto err_parse;
	m->Responses = ferry_arena_alloc(a, (size_t)n, sizeof(*m->Responses));
	if (m->Responses == NULL)
		goto err_nomem;
	m->n_topics = n;
	for (int32_t t = 0; t < m->n_topics; t++) {
		struct ferry_kafka_produce_resp_topic *tp = &m->Responses[t];
		if (!ferry_rd_str(rd, flex, false, &tp->Name))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, 22, &n))
			goto err_parse;
		tp->PartitionResponses = ferry_arena_alloc(a, (size_t)n, sizeof(*tp->PartitionResponses));
		if (tp->PartitionResponses == NULL)
			goto err_nomem;
		tp->n_partitions = n;
		for (int32_t i = 0; i < n; i++) {
			struct ferry_kafka_produce_resp_part *p = &tp->PartitionResponses[i];
			memset(p, 0, sizeof(*p));
			p->LogStartOffset = -1;
			if (!ferry_rd_i32(rd, &p->Index) || !ferry_rd_i16(rd, &p->ErrorCode) ||
			    !ferry_rd_i64(rd, &p->BaseOffset) || !ferry_rd_i64(rd, &p->LogAppendTimeMs))
				goto err_parse;
			if (ver >= 5 && !ferry_rd_i64(rd, &p->LogStartOffset))
				goto err_parse;
			if (ver >= 8) {
				int32_t ne;
				if (!ferry_rd_array(rd, flex, false, flex ? 6 : 6, &ne))
					goto err_parse;
				p->RecordErrors = ferry_arena_alloc(a, (size_t)ne, sizeof(*p->RecordErrors));
				if (p->RecordErrors == NULL)
					goto err_nomem;
				p->n_record_errors = ne;
				for (int32_t k = 0; k < ne; k++) {
					struct ferry_kafka_produce_record_error *e = &p->RecordErrors[k];
					if (!ferry_rd_i32(rd, &e->BatchIndex) ||
					    !ferry_rd_str(rd, flex, true, &e->BatchIndexErrorMessage))
						goto err_parse;
					if (flex && !ferry_rd_tags(rd, NULL, NULL))
						goto err_parse;
				}
				if (!ferry_rd_str(rd, flex, true, &p->ErrorMessage))
					goto err_parse;
			}
			if (flex && !ferry_rd_tags(rd, NULL, NULL))
				goto err_parse;
		}
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	if (!ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;
err_nomem:
	ferry_rd_fail(rd, FERRY_ERR__NOMEM);
err_parse:
	return rd->err;
}
