/*
 * msg_fetch.c - Fetch (key 1) request and response bodies, versions 4-12
 * (flexible from 12; v13+ switch topic names to ids, so v12 is the top).
 *
 * Any thread; no state. Records are returned as spans into the response
 * buffer: batch bytes are never copied here (DESIGN §2 step 1).
 * Spec: Fetch{Request,Response}.json; kafka-wire-facts.md §2.1-2.2, §7.5.
 */
#include "ferry/kafka.h"
#include "msg_int.h"

int
ferry_kafka_fetch_req_encode(struct ferry_wr *w, int16_t ver, const struct ferry_kafka_fetch_req *m)
{
	if (!FERRY_MSG_VER_OK(FETCH, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(FETCH, ver);

	ferry_wr_i32(w, m->ReplicaId);
	ferry_wr_i32(w, m->MaxWaitMs);
	ferry_wr_i32(w, m->MinBytes);
	ferry_wr_i32(w, m->MaxBytes);
	ferry_wr_i8(w, m->IsolationLevel);
	if (ver >= 7) {
		ferry_wr_i32(w, m->SessionId);
		ferry_wr_i32(w, m->SessionEpoch);
	}
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t t = 0; t < m->n_topics; t++) {
		const struct ferry_kafka_fetch_req_topic *tp = &m->Topics[t];
		ferry_wr_str(w, flex, tp->Topic);
		ferry_wr_array(w, flex, tp->n_partitions);
		for (int32_t i = 0; i < tp->n_partitions; i++) {
			const struct ferry_kafka_fetch_req_part *p = &tp->Partitions[i];
			ferry_wr_i32(w, p->Partition);
			if (ver >= 9)
				ferry_wr_i32(w, p->CurrentLeaderEpoch);
			ferry_wr_i64(w, p->FetchOffset);
			if (ver >= 12)
				ferry_wr_i32(w, p->LastFetchedEpoch);
			if (ver >= 5)
				ferry_wr_i64(w, p->LogStartOffset);
			ferry_wr_i32(w, p->PartitionMaxBytes);
			if (flex)
				ferry_wr_no_tags(w);
		}
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (ver >= 7) {
		ferry_wr_array(w, flex, m->n_forgotten);
		for (int32_t t = 0; t < m->n_forgotten; t++) {
			const struct ferry_kafka_fetch_forgotten *f = &m->ForgottenTopicsData[t];
			ferry_wr_str(w, flex, f->Topic);
			ferry_msg_wr_i32_array(w, flex, f->n_partitions, f->Partitions);
			if (flex)
				ferry_wr_no_tags(w);
		}
	}
	if (ver >= 11)
		ferry_wr_str(w, flex, m->RackId.p ? m->RackId : ferry_span_make("", 0));
	if (flex) {
		if (m->ClusterId.p) {
			/* tag 0 ClusterId: COMPACT_NULLABLE_STRING, written only when set */
			ferry_wr_uvarint(w, 1);
			ferry_wr_uvarint(w, 0);
			ferry_wr_uvarint(w, (uint32_t)(ferry_uvarint_size((uint32_t)m->ClusterId.len + 1) +
						       m->ClusterId.len));
			ferry_wr_str(w, true, m->ClusterId);
		} else {
			ferry_wr_no_tags(w);
		}
	}
	return ferry_msg_enc_end(w);
}

static bool
fetch_req_tag(void *arg, uint32_t tag, struct ferry_span val)
{
	struct ferry_kafka_fetch_req *m = arg;
	if (tag == 0) {
		struct ferry_rd sub;
		ferry_rd_init(&sub, val.p, val.len);
		return ferry_rd_str(&sub, true, true, &m->ClusterId) && ferry_rd_left(&sub) == 0;
	}
	return true;
}

int
ferry_kafka_fetch_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
			     struct ferry_kafka_fetch_req *m)
{
	if (!FERRY_MSG_VER_OK(FETCH, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(FETCH, ver);
	int32_t n;

	memset(m, 0, sizeof(*m));
	m->SessionEpoch = -1;
	if (!ferry_rd_i32(rd, &m->ReplicaId) || !ferry_rd_i32(rd, &m->MaxWaitMs) ||
	    !ferry_rd_i32(rd, &m->MinBytes) || !ferry_rd_i32(rd, &m->MaxBytes) ||
	    !ferry_rd_i8(rd, &m->IsolationLevel))
		goto err_parse;
	if (ver >= 7 && (!ferry_rd_i32(rd, &m->SessionId) || !ferry_rd_i32(rd, &m->SessionEpoch)))
		goto err_parse;

	/* Smallest topic: name length + partition count (+ tags when flexible). */
	if (!ferry_rd_array(rd, flex, false, flex ? 3 : 6, &n))
		goto err_parse;
	m->Topics = ferry_arena_alloc(a, (size_t)n, sizeof(*m->Topics));
	if (m->Topics == NULL)
		goto err_nomem;
	m->n_topics = n;
	for (int32_t t = 0; t < m->n_topics; t++) {
		struct ferry_kafka_fetch_req_topic *tp = &m->Topics[t];
		if (!ferry_rd_str(rd, flex, false, &tp->Topic))
			goto err_parse;
		if (!ferry_rd_array(rd, flex, false, 16, &n))
			goto err_parse;
		tp->Partitions = ferry_arena_alloc(a, (size_t)n, sizeof(*tp->Partitions));
		if (tp->Partitions == NULL)
			goto err_nomem;
		tp->n_partitions = n;
		for (int32_t i = 0; i < n; i++) {
			struct ferry_kafka_fetch_req_part *p = &tp->Partitions[i];
			p->CurrentLeaderEpoch = -1;
			p->LastFetchedEpoch = -1;
			p->LogStartOffset = -1;
			if (!ferry_rd_i32(rd, &p->Partition))
				goto err_parse;
			if (ver >= 9 && !ferry_rd_i32(rd, &p->CurrentLeaderEpoch))
				goto err_parse;
			if (!ferry_rd_i64(rd, &p->FetchOffset))
				goto err_parse;
			if (ver >= 12 && !ferry_rd_i32(rd, &p->LastFetchedEpoch))
				goto err_parse;
			if (ver >= 5 && !ferry_rd_i64(rd, &p->LogStartOffset))
				goto err_parse;
			if (!ferry_rd_i32(rd, &p->PartitionMaxBytes))
				goto err_parse;
			if (flex && !ferry_rd_tags(rd, NULL, NULL))
				goto err_parse;
		}
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	if (ver >= 7) {
		if (!ferry_rd_array(rd, flex, false, flex ? 3 : 6, &n))
			goto err_parse;
		m->ForgottenTopicsData = ferry_arena_alloc(a, (size_t)n, sizeof(*m->ForgottenTopicsData));
		if (m->ForgottenTopicsData == NULL)
			goto err_nomem;
		m->n_forgotten = n;
		for (int32_t t = 0; t < m->n_forgotten; t++) {
			struct ferry_kafka_fetch_forgotten *f = &m->ForgottenTopicsData[t];
			if (!ferry_rd_str(rd, flex, false, &f->Topic))
				goto err_parse;
			if (!ferry_msg_rd_i32_array(rd, flex, a, &f->n_partitions, &f->Partitions))
				goto err_parse;
			if (flex && !ferry_rd_tags(rd, NULL, NULL))
				goto err_parse;
		}
	}
	if (ver >= 11 && !ferry_rd_str(rd, flex, false, &m->RackId))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, fetch_req_tag, m))
		goto err_parse;
	return 0;
err_nomem:
	ferry_rd_fail(rd, FERRY_ERR__NOMEM);
err_parse:
	return rd->err;
}

/* Write one tagged struct field: tag, size, then the body built in 'tmp'. */
static void
wr_tagged(struct ferry_wr *w, uint32_t tag, const uint8_t *body, size_t len)
{
	ferry_wr_uvarint(w, tag);
	ferry_wr_uvarint(w, (uint32_t)len);
	ferry_wr_raw(w, body, len);
}

static void
wr_part_tags(struct ferry_wr *w, const struct ferry_kafka_fetch_resp_part *p)
{
	uint8_t tmp[32];
	struct ferry_wr t;
	uint32_t n = (uint32_t)p->has_DivergingEpoch + (uint32_t)p->has_CurrentLeader +
		     (uint32_t)p->has_SnapshotId;
	ferry_wr_uvarint(w, n);
	/* Tags go in ascending order (Java writer). */
	if (p->has_DivergingEpoch) {
		ferry_wr_init(&t, tmp, sizeof(tmp));
		ferry_wr_i32(&t, p->DivergingEpoch_Epoch);
		ferry_wr_i64(&t, p->DivergingEpoch_EndOffset);
		ferry_wr_no_tags(&t);
		wr_tagged(w, 0, tmp, t.len);
	}
	if (p->has_CurrentLeader) {
		ferry_wr_init(&t, tmp, sizeof(tmp));
		ferry_wr_i32(&t, p->CurrentLeader_LeaderId);
		ferry_wr_i32(&t, p->CurrentLeader_LeaderEpoch);
		ferry_wr_no_tags(&t);
		wr_tagged(w, 1, tmp, t.len);
	}
	if (p->has_SnapshotId) {
		ferry_wr_init(&t, tmp, sizeof(tmp));
		ferry_wr_i64(&t, p->SnapshotId_EndOffset);
		ferry_wr_i32(&t, p->SnapshotId_Epoch);
		ferry_wr_no_tags(&t);
		wr_tagged(w, 2, tmp, t.len);
	}
}

int
ferry_kafka_fetch_resp_encode(struct ferry_wr *w, int16_t ver,
			      const struct ferry_kafka_fetch_resp *m)
{
	if (!FERRY_MSG_VER_OK(FETCH, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(FETCH, ver);

	ferry_wr_i32(w, m->ThrottleTimeMs);
	if (ver >= 7) {
		ferry_wr_i16(w, m->ErrorCode);
		ferry_wr_i32(w, m->SessionId);
	}
	ferry_wr_array(w, flex, m->n_topics);
	for (int32_t t = 0; t < m->n_topics; t++) {
		const struct ferry_kafka_fetch_resp_topic *tp = &m->Responses[t];
		ferry_wr_str(w, flex, tp->Topic);
		ferry_wr_array(w, flex, tp->n_partitions);
		for (int32_t i = 0; i < tp->n_partitions; i++) {
			const struct ferry_kafka_fetch_resp_part *p = &tp->Partitions[i];
			ferry_wr_i32(w, p->PartitionIndex);
			ferry_wr_i16(w, p->ErrorCode);
			ferry_wr_i64(w, p->HighWatermark);
			ferry_wr_i64(w, p->LastStableOffset);
			if (ver >= 5)
				ferry_wr_i64(w, p->LogStartOffset);
			ferry_wr_array(w, flex, p->n_aborted);
			for (int32_t k = 0; k < p->n_aborted; k++) {
				ferry_wr_i64(w, p->AbortedTransactions[k].ProducerId);
				ferry_wr_i64(w, p->AbortedTransactions[k].FirstOffset);
				if (flex)
					ferry_wr_no_tags(w);
			}
			if (ver >= 11)
				ferry_wr_i32(w, p->PreferredReadReplica);
			ferry_wr_bytes(w, flex, p->Records);
			if (flex)
				wr_part_tags(w, p);
		}
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

static bool
fetch_part_tag(void *arg, uint32_t tag, struct ferry_span val)
{
	struct ferry_kafka_fetch_resp_part *p = arg;
	struct ferry_rd sub;
	ferry_rd_init(&sub, val.p, val.len);
	switch (tag) {
	case 0:
		p->has_DivergingEpoch = ferry_rd_i32(&sub, &p->DivergingEpoch_Epoch) &&
					ferry_rd_i64(&sub, &p->DivergingEpoch_EndOffset) &&
					ferry_rd_tags(&sub, NULL, NULL);
		return p->has_DivergingEpoch;
	case 1:
		p->has_CurrentLeader = ferry_rd_i32(&sub, &p->CurrentLeader_LeaderId) &&
				       ferry_rd_i32(&sub, &p->CurrentLeader_LeaderEpoch) &&
				       ferry_rd_tags(&sub, NULL, NULL);
		return p->has_CurrentLeader;
	case 2:
		p->has_SnapshotId = ferry_rd_i64(&sub, &p->SnapshotId_EndOffset) &&
				    ferry_rd_i32(&sub, &p->SnapshotId_Epoch) &&
				    ferry_rd_tags(&sub, NULL, NULL);
		return p->has_SnapshotId;
	default:
		return true; /* unknown tags are skipped by size */
	}
}

int
ferry_kafka_fetch_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
			      struct ferry_kafka_fetch_resp *m)
{
	if (!FERRY_MSG_VER_OK(FETCH, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(FETCH, ver);
	int32_t n;

	memset(m, 0, sizeof(*m));
	if (!ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (ver >= 7 && (!ferry_rd_i16(rd, &m->ErrorCode) || !ferry_rd_i32(rd, &m->SessionId)))
		goto err_parse;
	if (!ferry_rd_array(rd, flex, false, flex ? 3 : 6, &n))
		goto err_parse;
	m->Responses = ferry_arena_alloc(a, (size_t)n, sizeof(*m->Responses));
	if (m->Responses == NULL)
		goto err_nomem;
	m->n_topics = n;
	for (int32_t t = 0; t < m->n_topics; t++) {
		struct ferry_kafka_fetch_resp_topic *tp = &m->Responses[t];
		if (!ferry_rd_str(rd, flex, false, &tp->Topic))
			goto err_parse;
		/* Smallest v4 partition: 4+2+8+8+4+4 = 30 bytes; flexible v12 has
		 * 4+2+8+8+8+1+4+1+1 = 37. */
		if (!ferry_rd_array(rd, flex, false, 30, &n))
			goto err_parse;
		tp->Partitions = ferry_arena_alloc(a, (size_t)n, sizeof(*tp->Partitions));
		if (tp->Partitions == NULL)
			goto err_nomem;
		tp->n_partitions = n;
		for (int32_t i = 0; i < n; i++) {
			struct ferry_kafka_fetch_resp_part *p = &tp->Partitions[i];
			memset(p, 0, sizeof(*p));
			p->LogStartOffset = -1;
			p->PreferredReadReplica = -1;
			if (!ferry_rd_i32(rd, &p->PartitionIndex) || !ferry_rd_i16(rd, &p->ErrorCode) ||
			    !ferry_rd_i64(rd, &p->HighWatermark) ||
			    !ferry_rd_i64(rd, &p->LastStableOffset))
				goto err_parse;
			if (ver >= 5 && !ferry_rd_i64(rd, &p->LogStartOffset))
				goto err_parse;
			/* AbortedTransactions may be null (real brokers) or empty (mock). */
			int32_t na;
			if (!ferry_rd_array(rd, flex, true, 16, &na))
				goto err_parse;
			p->n_aborted = na;
			if (na > 0) {
				p->AbortedTransactions =
					ferry_arena_alloc(a, (size_t)na, sizeof(*p->AbortedTransactions));
				if (p->AbortedTransactions == NULL)
					goto err_nomem;
			}
			for (int32_t k = 0; k < na; k++) {
				if (!ferry_rd_i64(rd, &p->AbortedTransactions[k].ProducerId) ||
				    !ferry_rd_i64(rd, &p->AbortedTransactions[k].FirstOffset))
					goto err_parse;
				if (flex && !ferry_rd_tags(rd, NULL, NULL))
					goto err_parse;
			}
			if (ver >= 11 && !ferry_rd_i32(rd, &p->PreferredReadReplica))
				goto err_parse;
			if (!ferry_rd_bytes(rd, flex, true, &p->Records))
				goto err_parse;
			if (flex && !ferry_rd_tags(rd, fetch_part_tag, p))
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
