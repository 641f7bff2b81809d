/*
 * handlers.c - ferry-brokersim's answer to each Kafka API it speaks:
 * ApiVersions, Metadata, ListOffsets, Fetch, Produce, InitProducerId,
 * FindCoordinator, OffsetCommit, OffsetFetch, AddPartitionsToTxn, EndTxn, and
 * with --sasl-* SaslHandshake and SaslAuthenticate (the mechanisms are in sasl.c).
 * Requests are decoded with ferry_kafka_request_decode() and answered at the
 * request's version with ferry_kafka_response_encode() (ferry_sim_respond()).
 *
 * Main thread only. Per-request memory is the decode arena (grown on NOMEM up
 * to a cap) and sim->region, both reset for every request; a response never
 * outlives its request (it is encoded into the connection's buffer at once).
 *
 * What is simulated and what is not: one broker (node conf.node_id) leads
 * every partition with leader epoch 0; no fetch sessions (SessionId 0 makes
 * clients send full fetches); no consumer-group membership (JoinGroup etc.
 * are not offered: assign() consumers only); transactions are accepted but
 * not tracked (EndTxn writes no markers). Timestamps are not indexed:
 * ListOffsets for a real time answers the log start. SASL: the KIP-152 flow
 * only (SaslHandshake v1, then SaslAuthenticate); no re-authentication
 * (SessionLifetimeMs 0).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brokersim.h"

/* Decode arena: grown on NOMEM, refused beyond this (a 100 MiB frame of tiny
 * elements could ask for more; such a client is closed). */
#define DEC_CAP_INIT ((size_t)1 << 20)
#define DEC_CAP_MAX  ((size_t)256 << 20)

static bool
handled(const struct ferry_sim *sim, int16_t api)
{
	switch (api) {
	/* advertised only on a SASL_PLAINTEXT listener, as a broker does */
	case FERRY_KAFKA_SASL_HANDSHAKE:
	case FERRY_KAFKA_SASL_AUTHENTICATE: return sim->conf.n_sasl_users > 0;
	case FERRY_KAFKA_PRODUCE:
	case FERRY_KAFKA_FETCH:
	case FERRY_KAFKA_LIST_OFFSETS:
	case FERRY_KAFKA_METADATA:
	case FERRY_KAFKA_OFFSET_COMMIT:
	case FERRY_KAFKA_OFFSET_FETCH:
	case FERRY_KAFKA_FIND_COORDINATOR:
	case FERRY_KAFKA_API_VERSIONS:
	case FERRY_KAFKA_INIT_PRODUCER_ID:
	case FERRY_KAFKA_ADD_PARTITIONS_TO_TXN:
	case FERRY_KAFKA_END_TXN: return true;
	default: return false;
	}
}

int
ferry_sim_handlers_init(struct ferry_sim *sim)
{
	const struct ferry_kafka_api_info *apis;
	size_t n;

	apis = ferry_kafka_api_all(&n);
	sim->api_ranges = calloc(n, sizeof(*sim->api_ranges));
	if (sim->api_ranges == NULL)
		return -ENOMEM;
	/* Advertise exactly what ferry's table implements (and this file answers). */
	for (size_t i = 0; i < n; i++) {
		/* Every API in the table decodes into req_msg (then is refused if not
		 * answered), so it must hold the largest of them all. */
		if (apis[i].req_size > sim->req_size)
			sim->req_size = apis[i].req_size;
		if (!handled(sim, apis[i].ApiKey))
			continue;
		sim->api_ranges[sim->n_api_ranges++] =
		    (struct ferry_kafka_api_version_range){ apis[i].ApiKey, apis[i].min_ver,
							    apis[i].max_ver };
	}
	sim->req_msg = calloc(1, sim->req_size);
	if (sim->req_msg == NULL)
		goto out_free_ranges;
	sim->dec_cap = DEC_CAP_INIT;
	sim->dec_mem = malloc(sim->dec_cap);
	if (sim->dec_mem == NULL)
		goto out_free_req;
	if (sim->conf.verify_records) {
		sim->cc = ferry_codec_ctx_new();
		/* the decompression bomb cap of --verify-records */
		sim->dbuf_cap = (size_t)64 << 20;
		sim->dbuf = malloc(sim->dbuf_cap);
		if (sim->cc == NULL || sim->dbuf == NULL)
			goto out_free_codec;
	}
	return 0;

out_free_codec:
	free(sim->dbuf);
	if (sim->cc)
		ferry_codec_ctx_free(sim->cc);
	free(sim->dec_mem);
out_free_req:
	free(sim->req_msg);
out_free_ranges:
	free(sim->api_ranges);
	return -ENOMEM;
}

void
ferry_sim_handlers_fini(struct ferry_sim *sim)
{
	free(sim->dbuf);
	if (sim->cc)
		ferry_codec_ctx_free(sim->cc);
	free(sim->dec_mem);
	free(sim->req_msg);
	free(sim->api_ranges);
	ferry_sim_region_free(&sim->region);
}

static enum ferry_sim_act
respond(struct ferry_sim *sim, struct ferry_sim_conn *c, const struct ferry_kafka_reqhdr *h,
	const void *msg, size_t hint)
{
	int rc = ferry_sim_respond(sim, c, h->ApiKey, h->ApiVersion, h->CorrelationId, msg, hint);

	if (rc == 0)
		return FERRY_SIM_DONE;
	ferry_sim_warn(sim, "conn %llu (%s): cannot encode %s v%d response: %s: closing",
		       (unsigned long long)c->id, c->peer, ferry_kafka_api_name(h->ApiKey),
		       h->ApiVersion, rc == -ENOMEM ? "out of memory" : ferry_err_desc(rc));
	return FERRY_SIM_CLOSE;
}

static enum ferry_sim_act
no_memory(struct ferry_sim *sim, struct ferry_sim_conn *c, const struct ferry_kafka_reqhdr *h)
{
	ferry_sim_warn(sim, "conn %llu (%s): out of memory answering %s: closing",
		       (unsigned long long)c->id, c->peer, ferry_kafka_api_name(h->ApiKey));
	return FERRY_SIM_CLOSE;
}

static struct ferry_span
topic_name(const struct ferry_sim_topic *t)
{
	return ferry_span_make(t->name, t->name_len);
}

/* A partition of a known topic, or NULL. */
static struct ferry_sim_part *
part_of(struct ferry_sim_topic *t, int32_t index)
{
	if (t == NULL || index < 0 || index >= t->n_parts)
		return NULL;
	return &t->parts[index];
}

/* Metadata / Produce for an unknown topic: create a sink (Kafka's
 * auto.create.topics.enable), or say why not. */
static struct ferry_sim_topic *
auto_create(struct ferry_sim *sim, struct ferry_span name, bool allowed, int16_t *err)
{
	struct ferry_sim_topic *t;

	if (!ferry_sim_topic_name_ok(name)) {
		*err = FERRY_ERR_INVALID_TOPIC_EXCEPTION;
		return NULL;
	}
	*err = FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (!allowed || !sim->conf.auto_create || sim->n_topics >= sim->conf.max_topics)
		return NULL;
	t = ferry_sim_topic_create(sim, name, sim->conf.default_partitions, NULL);
	if (t != NULL)
		sim->st[FERRY_SIM_ST_TOPICS_CREATED]++;
	return t;
}

/* ---- ApiVersions (18) ----------------------------------------------------------------------- */

static enum ferry_sim_act
handle_api_versions(struct ferry_sim *sim, struct ferry_sim_conn *c,
		    const struct ferry_kafka_reqhdr *h)
{
	struct ferry_kafka_api_versions_resp rs = { 0, sim->n_api_ranges, sim->api_ranges, 0 };

	return respond(sim, c, h, &rs, 64 + 8 * (size_t)sim->n_api_ranges);
}

/* KIP-511 / kafka-wire-facts.md §1.6: a version we do not speak gets
 * UNSUPPORTED_VERSION in the v0 layout, listing our ApiVersions range. */
static enum ferry_sim_act
api_versions_unsupported(struct ferry_sim *sim, struct ferry_sim_conn *c,
			 const struct ferry_kafka_reqhdr *h)
{
	const struct ferry_kafka_api_info *api = ferry_kafka_api_get(FERRY_KAFKA_API_VERSIONS);
	struct ferry_kafka_api_version_range r = { FERRY_KAFKA_API_VERSIONS, api->min_ver,
						   api->max_ver };
	struct ferry_kafka_api_versions_resp rs = { FERRY_ERR_UNSUPPORTED_VERSION, 1, &r, 0 };
	int rc;

	sim->st[FERRY_SIM_ST_APIVERSIONS_UNSUPPORTED]++;
	rc = ferry_sim_respond(sim, c, FERRY_KAFKA_API_VERSIONS, 0, h->CorrelationId, &rs, 64);
	return rc == 0 ? FERRY_SIM_DONE : FERRY_SIM_CLOSE;
}

/* ---- Metadata (3) --------------------------------------------------------------------------- */

static enum ferry_sim_act
handle_metadata(struct ferry_sim *sim, struct ferry_sim_conn *c, const struct ferry_kafka_reqhdr *h,
		const struct ferry_kafka_metadata_req *rq)
{
	struct ferry_kafka_metadata_resp rs;
	struct ferry_kafka_metadata_resp_broker *b;
	bool all = rq->n_topics < 0;
	/* AllowAutoTopicCreation exists from v4; before, brokers always created. */
	bool allow = h->ApiVersion < 4 || rq->AllowAutoTopicCreation;
	int32_t n = all ? (int32_t)sim->n_topics : rq->n_topics;
	int32_t *node;
	size_t hint = 256;

	ferry_kafka_metadata_resp_init(&rs);
	b = ferry_sim_ralloc(&sim->region, 1, sizeof(*b));
	node = ferry_sim_ralloc(&sim->region, 1, sizeof(*node));
	rs.Topics = ferry_sim_ralloc(&sim->region, (size_t)n, sizeof(*rs.Topics));
	if (b == NULL || node == NULL || rs.Topics == NULL)
		return no_memory(sim, c, h);
	*node = sim->conf.node_id;
	b->NodeId = sim->conf.node_id;
	b->Host = ferry_span_str(sim->adv_host);
	b->Port = sim->adv_port;
	b->Rack = ferry_span_make(NULL, 0);
	rs.n_brokers = 1;
	rs.Brokers = b;
	rs.ClusterId = ferry_span_str("ferry-brokersim");
	rs.ControllerId = sim->conf.node_id;
	rs.n_topics = n;

	for (int32_t i = 0; i < n; i++) {
		struct ferry_kafka_metadata_resp_topic *rt = &rs.Topics[i];
		struct ferry_sim_topic *t = NULL;
		int16_t err = FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION;

		ferry_kafka_metadata_resp_topic_init(rt);
		if (all) {
			t = sim->topics[i];
		} else if (rq->Topics[i].Name.p == NULL) {
			/* v10+: asked by TopicId only */
			t = ferry_sim_topic_by_id(sim, rq->Topics[i].TopicId);
			err = FERRY_ERR_UNKNOWN_TOPIC_ID;
		} else {
			t = ferry_sim_topic_get(sim, rq->Topics[i].Name);
			if (t == NULL)
				t = auto_create(sim, rq->Topics[i].Name, allow, &err);
		}
		if (t == NULL) {
			rt->ErrorCode = err;
			rt->Name = rq->Topics[i].Name;
			/* Name is nullable in responses from v12 only */
			if (rt->Name.p == NULL && h->ApiVersion < 12)
				rt->Name = ferry_span_make("", 0);
			memcpy(rt->TopicId, rq->Topics[i].TopicId, 16);
			hint += 64 + rt->Name.len;
			continue;
		}
		rt->Name = topic_name(t);
		memcpy(rt->TopicId, t->id, 16);
		rt->n_partitions = t->n_parts;
		rt->Partitions =
		    ferry_sim_ralloc(&sim->region, (size_t)t->n_parts, sizeof(*rt->Partitions));
		if (rt->Partitions == NULL)
			return no_memory(sim, c, h);
		for (int32_t j = 0; j < t->n_parts; j++) {
			struct ferry_kafka_metadata_resp_partition *rp = &rt->Partitions[j];
			ferry_kafka_metadata_resp_partition_init(rp);
			rp->PartitionIndex = j;
			rp->LeaderId = sim->conf.node_id;
			rp->LeaderEpoch = 0;
			rp->n_replica_nodes = 1;
			rp->ReplicaNodes = node;
			rp->n_isr_nodes = 1;
			rp->IsrNodes = node;
		}
		hint += 64 + t->name_len + 40 * (size_t)t->n_parts;
	}
	return respond(sim, c, h, &rs, hint);
}

/* ---- ListOffsets (2) ------------------------------------------------------------------------ */

static enum ferry_sim_act
handle_list_offsets(struct ferry_sim *sim, struct ferry_sim_conn *c,
		    const struct ferry_kafka_reqhdr *h,
		    const struct ferry_kafka_list_offsets_req *rq)
{
	struct ferry_kafka_list_offsets_resp rs = { 0 };
	size_t hint = 64;

	rs.n_topics = rq->n_topics;
	rs.Topics = ferry_sim_ralloc(&sim->region, (size_t)rq->n_topics, sizeof(*rs.Topics));
	if (rs.Topics == NULL)
		return no_memory(sim, c, h);
	for (int32_t i = 0; i < rq->n_topics; i++) {
		const struct ferry_kafka_list_offsets_req_topic *qt = &rq->Topics[i];
		struct ferry_kafka_list_offsets_resp_topic *rt = &rs.Topics[i];
		struct ferry_sim_topic *t = ferry_sim_topic_get(sim, qt->Name);

		rt->Name = qt->Name;
		rt->n_partitions = qt->n_partitions;
		rt->Partitions = ferry_sim_ralloc(&sim->region, (size_t)qt->n_partitions,
						  sizeof(*rt->Partitions));
		if (rt->Partitions == NULL)
			return no_memory(sim, c, h);
		hint += 16 + qt->Name.len + 32 * (size_t)qt->n_partitions;
		for (int32_t j = 0; j < qt->n_partitions; j++) {
			const struct ferry_kafka_list_offsets_req_partition *qp =
			    &qt->Partitions[j];
			struct ferry_kafka_list_offsets_resp_partition *rp = &rt->Partitions[j];
			struct ferry_sim_part *p = part_of(t, qp->PartitionIndex);

			ferry_kafka_list_offsets_resp_partition_init(rp);
			rp->PartitionIndex = qp->PartitionIndex;
			if (p == NULL) {
				rp->ErrorCode = FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			/* LeaderEpoch is non-ignorable from v4: leave the default before. */
			if (h->ApiVersion >= 4)
				rp->LeaderEpoch = 0;
			if (qp->Timestamp == FERRY_KAFKA_OFFSET_EARLIEST || qp->Timestamp >= 0)
				rp->Offset = p->log_start;
			else if (qp->Timestamp == FERRY_KAFKA_OFFSET_MAX_TIMESTAMP)
				rp->Offset = p->end > p->log_start ? p->end - 1 : -1;
			else
				rp->Offset = p->end; /* LATEST */
		}
	}
	return respond(sim, c, h, &rs, hint);
}

/* ---- Fetch (1) ------------------------------------------------------------------------------ */

static enum ferry_sim_act
handle_fetch(struct ferry_sim *sim, struct ferry_sim_conn *c, const struct ferry_kafka_reqhdr *h,
	     const struct ferry_kafka_fetch_req *rq, bool rerun, bool expired)
{
	struct ferry_kafka_fetch_resp rs = { 0 };
	int64_t budget = rq->MaxBytes > 0 ? rq->MaxBytes : 0, total = 0;
	bool min_one = true, any_error = false;
	size_t hint = 64, n_parts = 0;

	/* Every response gets its own pin generation (see log.c source_read). */
	sim->fetch_gen++;
	/* No fetch sessions: SessionId 0 in every answer tells clients to send full
	 * fetches (KIP-227); a session we never handed out does not exist. */
	if (rq->SessionId != 0) {
		rs.ErrorCode = FERRY_ERR_FETCH_SESSION_ID_NOT_FOUND;
		return respond(sim, c, h, &rs, hint);
	}
	rs.n_topics = rq->n_topics;
	rs.Responses = ferry_sim_ralloc(&sim->region, (size_t)rq->n_topics, sizeof(*rs.Responses));
	if (rs.Responses == NULL)
		return no_memory(sim, c, h);
	for (int32_t i = 0; i < rq->n_topics; i++) {
		const struct ferry_kafka_fetch_req_topic *qt = &rq->Topics[i];
		struct ferry_kafka_fetch_resp_topic *rt = &rs.Responses[i];
		struct ferry_sim_topic *t = ferry_sim_topic_get(sim, qt->Topic);

		rt->Topic = qt->Topic;
		rt->n_partitions = qt->n_partitions;
		rt->Partitions = ferry_sim_ralloc(&sim->region, (size_t)qt->n_partitions,
						  sizeof(*rt->Partitions));
		if (rt->Partitions == NULL)
			return no_memory(sim, c, h);
		hint += 32 + qt->Topic.len;
		for (int32_t j = 0; j < qt->n_partitions; j++) {
			const struct ferry_kafka_fetch_req_part *qp = &qt->Partitions[j];
			struct ferry_kafka_fetch_resp_part *rp = &rt->Partitions[j];
			struct ferry_sim_part *p = part_of(t, qp->Partition);
			int64_t limit;

			rp->PartitionIndex = qp->Partition;
			rp->PreferredReadReplica = -1;
			/* Brokers send null AbortedTransactions for read_uncommitted (§2.2). */
			rp->n_aborted = rq->IsolationLevel ? 0 : -1;
			rp->Records = ferry_span_make("", 0);
			hint += 96;
			n_parts++;
			if (p == NULL) {
				rp->ErrorCode = FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION;
				rp->HighWatermark = rp->LastStableOffset = rp->LogStartOffset = -1;
				any_error = true;
				continue;
			}
			rp->HighWatermark = p->end;
			rp->LastStableOffset = p->end;
			rp->LogStartOffset = p->log_start;
			if (qp->FetchOffset < p->log_start || qp->FetchOffset > p->end) {
				rp->ErrorCode = FERRY_ERR_OFFSET_OUT_OF_RANGE;
				any_error = true;
				continue;
			}
			/* KIP-74: the first batch of the first partition with data may exceed
			 * both limits; after that MaxBytes is a hard budget. */
			limit = qp->PartitionMaxBytes < budget - total ? qp->PartitionMaxBytes
								       : budget - total;
			if (ferry_sim_part_read(sim, p, qp->FetchOffset, limit, min_one,
						&rp->Records) < 0)
				return no_memory(sim, c, h);
			if (rp->Records.len > 0) {
				total += (int64_t)rp->Records.len;
				min_one = false;
			}
		}
	}
	/* MaxWaitMs matters only when there is no data at all and no error to report. */
	if (total == 0 && !any_error && rq->MaxWaitMs > 0 && rq->MinBytes > 0 && !expired) {
		if (!rerun) {
			c->park_deadline = ferry_sim_now_ns() + (int64_t)rq->MaxWaitMs * 1000000;
			sim->st[FERRY_SIM_ST_FETCH_WAITS]++;
		}
		return FERRY_SIM_PARK;
	}
	sim->st[FERRY_SIM_ST_FETCH_PARTITIONS] += n_parts;
	if (any_error)
		sim->st[FERRY_SIM_ST_FETCH_ERRORS]++;
	return respond(sim, c, h, &rs, hint + (size_t)total);
}

/* ---- Produce (0) ---------------------------------------------------------------------------- */

static enum ferry_sim_act
handle_produce(struct ferry_sim *sim, struct ferry_sim_conn *c, const struct ferry_kafka_reqhdr *h,
	       const struct ferry_kafka_produce_req *rq)
{
	struct ferry_kafka_produce_resp rs = { 0 };
	bool acks_ok = rq->Acks == 0 || rq->Acks == 1 || rq->Acks == -1;
	bool any_error = false;
	size_t hint = 64;

	rs.n_topics = rq->n_topics;
	rs.Responses = ferry_sim_ralloc(&sim->region, (size_t)rq->n_topics, sizeof(*rs.Responses));
	if (rs.Responses == NULL)
		return no_memory(sim, c, h);
	for (int32_t i = 0; i < rq->n_topics; i++) {
		const struct ferry_kafka_produce_req_topic *qt = &rq->TopicData[i];
		struct ferry_kafka_produce_resp_topic *rt = &rs.Responses[i];
		struct ferry_sim_topic *t = ferry_sim_topic_get(sim, qt->Name);
		int16_t terr = FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION;

		if (t == NULL && acks_ok)
			t = auto_create(sim, qt->Name, true, &terr);
		rt->Name = qt->Name;
		rt->n_partitions = qt->n_partitions;
		rt->PartitionResponses = ferry_sim_ralloc(&sim->region, (size_t)qt->n_partitions,
							  sizeof(*rt->PartitionResponses));
		if (rt->PartitionResponses == NULL)
			return no_memory(sim, c, h);
		hint += 32 + qt->Name.len + 96 * (size_t)qt->n_partitions;
		for (int32_t j = 0; j < qt->n_partitions; j++) {
			const struct ferry_kafka_produce_req_part *qp = &qt->PartitionData[j];
			struct ferry_kafka_produce_resp_part *rp = &rt->PartitionResponses[j];
			struct ferry_sim_part *p = part_of(t, qp->Index);
			int16_t err;

			rp->Index = qp->Index;
			rp->BaseOffset = -1;
			rp->LogAppendTimeMs = -1; /* CreateTime topics */
			rp->LogStartOffset = -1;
			if (!acks_ok)
				err = FERRY_ERR_INVALID_REQUIRED_ACKS;
			else if (t == NULL)
				err = terr;
			else if (p == NULL)
				err = FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (t->src != NULL)
				err = FERRY_ERR_TOPIC_AUTHORIZATION_FAILED; /* sources are read-only
									     */
			else
				err = ferry_sim_sink_append(sim, p, rq->TransactionalId.p != NULL,
							    qp->Records, &rp->BaseOffset);
			if (p != NULL)
				rp->LogStartOffset = p->log_start;
			if (err != FERRY_ERR_NONE) {
				rp->ErrorCode = err;
				rp->ErrorMessage = ferry_span_str(ferry_err_desc(err)); /* v8+ */
				if (!acks_ok || t == NULL || p == NULL || t->src != NULL)
					sim->st[FERRY_SIM_ST_PRODUCE_ERR_OTHER]++;
				any_error = true;
			}
		}
	}
	/* Acks 0: no response at all; on an error the broker closes instead (§1.1). */
	if (rq->Acks == 0) {
		sim->st[FERRY_SIM_ST_PRODUCE_ACKS0]++;
		return any_error ? FERRY_SIM_CLOSE : FERRY_SIM_DONE;
	}
	return respond(sim, c, h, &rs, hint);
}

/* ---- InitProducerId (22), FindCoordinator (10), transactions (24, 26) ----------------------- */

static enum ferry_sim_act
handle_init_producer_id(struct ferry_sim *sim, struct ferry_sim_conn *c,
			const struct ferry_kafka_reqhdr *h)
{
	struct ferry_kafka_init_producer_id_resp rs;

	/* A new id for every call, epoch 0 (§5.1: what a broker gives an idempotent
	 * producer; transactional ids are not tracked, so no fencing either). */
	ferry_kafka_init_producer_id_resp_init(&rs);
	rs.ProducerId = sim->next_pid++;
	rs.ProducerEpoch = 0;
	return respond(sim, c, h, &rs, 64);
}

static enum ferry_sim_act
handle_find_coordinator(struct ferry_sim *sim, struct ferry_sim_conn *c,
			const struct ferry_kafka_reqhdr *h,
			const struct ferry_kafka_find_coordinator_req *rq)
{
	struct ferry_kafka_find_coordinator_resp rs;

	ferry_kafka_find_coordinator_resp_init(&rs);
	rs.ErrorMessage = ferry_span_make(NULL, 0);
	if (rq->KeyType != FERRY_KAFKA_COORD_GROUP &&
	    rq->KeyType != FERRY_KAFKA_COORD_TRANSACTION) {
		rs.ErrorCode = FERRY_ERR_INVALID_REQUEST;
		rs.NodeId = -1;
		rs.Port = -1;
		return respond(sim, c, h, &rs, 64);
	}
	/* The only broker coordinates every group and transactional id. */
	rs.NodeId = sim->conf.node_id;
	rs.Host = ferry_span_str(sim->adv_host);
	rs.Port = sim->adv_port;
	return respond(sim, c, h, &rs, 64 + rs.Host.len);
}

static enum ferry_sim_act
handle_add_partitions_to_txn(struct ferry_sim *sim, struct ferry_sim_conn *c,
			     const struct ferry_kafka_reqhdr *h,
			     const struct ferry_kafka_add_partitions_to_txn_req *rq)
{
	struct ferry_kafka_add_partitions_to_txn_resp rs = { 0 };
	size_t hint = 64;

	rs.n_results = rq->n_topics;
	rs.Results = ferry_sim_ralloc(&sim->region, (size_t)rq->n_topics, sizeof(*rs.Results));
	if (rs.Results == NULL)
		return no_memory(sim, c, h);
	for (int32_t i = 0; i < rq->n_topics; i++) {
		const struct ferry_kafka_add_partitions_to_txn_topic *qt = &rq->Topics[i];
		struct ferry_kafka_add_partitions_to_txn_topic_result *rt = &rs.Results[i];

		rt->Name = qt->Name;
		rt->n_results = qt->n_partitions;
		rt->Results =
		    ferry_sim_ralloc(&sim->region, (size_t)qt->n_partitions, sizeof(*rt->Results));
		if (rt->Results == NULL)
			return no_memory(sim, c, h);
		for (int32_t j = 0; j < qt->n_partitions; j++)
			rt->Results[j].PartitionIndex = qt->Partitions[j];
		hint += 16 + qt->Name.len + 8 * (size_t)qt->n_partitions;
	}
	return respond(sim, c, h, &rs, hint);
}

static enum ferry_sim_act
handle_end_txn(struct ferry_sim *sim, struct ferry_sim_conn *c, const struct ferry_kafka_reqhdr *h)
{
	struct ferry_kafka_end_txn_resp rs = { 0, FERRY_ERR_NONE };

	return respond(sim, c, h, &rs, 32);
}

/* ---- SaslHandshake (17), SaslAuthenticate (36) ---------------------------------------------- */

/* The enabled mechanisms, for SaslHandshake answers (Kafka lists them every time). */
static int32_t
sasl_mechanisms(const struct ferry_sim *sim, struct ferry_span *out)
{
	int32_t n = 0;

	for (int m = 0; m < FERRY_SIM_SASL__COUNT; m++)
		if (ferry_sim_sasl_mech_enabled(sim, (enum ferry_sim_sasl_mech)m))
			out[n++] =
			    ferry_span_str(ferry_sim_sasl_mech_name((enum ferry_sim_sasl_mech)m));
	return n;
}

/* Answer, then close once the answer is out (a refusal: Kafka closes after sending it). */
static enum ferry_sim_act
respond_close(struct ferry_sim *sim, struct ferry_sim_conn *c, const struct ferry_kafka_reqhdr *h,
	      const void *msg, size_t hint)
{
	enum ferry_sim_act act = respond(sim, c, h, msg, hint);

	return act == FERRY_SIM_DONE ? FERRY_SIM_CLOSE_AFTER : act;
}

static enum ferry_sim_act
handle_sasl_handshake(struct ferry_sim *sim, struct ferry_sim_conn *c,
		      const struct ferry_kafka_reqhdr *h,
		      const struct ferry_kafka_sasl_handshake_req *rq)
{
	struct ferry_span mechs[FERRY_SIM_SASL__COUNT];
	struct ferry_kafka_sasl_handshake_resp rs = { FERRY_ERR_NONE, 0, mechs };
	int m = ferry_sim_sasl_mech_parse(rq->Mechanism);
	enum ferry_sim_act act;

	rs.n_mechanisms = sasl_mechanisms(sim, mechs);
	/* After authentication: no re-authentication (KIP-368) here, so the broker's
	 * answer, ILLEGAL_SASL_STATE, and the connection stays. */
	if (c->authenticated) {
		rs.ErrorCode = FERRY_ERR_ILLEGAL_SASL_STATE;
		return respond(sim, c, h, &rs, 128);
	}
	/* A second handshake in the middle of an exchange: the broker's authenticator
	 * refuses anything it does not expect and closes. */
	if (c->sasl != NULL) {
		rs.ErrorCode = FERRY_ERR_ILLEGAL_SASL_STATE;
		sim->st[FERRY_SIM_ST_CONN_UNAUTHENTICATED]++;
		return respond_close(sim, c, h, &rs, 128);
	}
	if (m < 0 || !ferry_sim_sasl_mech_enabled(sim, (enum ferry_sim_sasl_mech)m)) {
		rs.ErrorCode = FERRY_ERR_UNSUPPORTED_SASL_MECHANISM;
		sim->st[FERRY_SIM_ST_SASL_MECHANISM_UNSUPPORTED]++;
		ferry_sim_warn(sim, "conn %llu (%s): SASL mechanism '%.*s' not enabled: closing",
			       (unsigned long long)c->id, c->peer,
			       (int)(rq->Mechanism.len > 64 ? 64 : rq->Mechanism.len),
			       rq->Mechanism.p ? (const char *)rq->Mechanism.p : "");
		return respond_close(sim, c, h, &rs, 128);
	}
	if (ferry_sim_sasl_begin(c, (enum ferry_sim_sasl_mech)m) < 0)
		return no_memory(sim, c, h);
	c->sasl_mech = (enum ferry_sim_sasl_mech)m;
	act = respond(sim, c, h, &rs, 128);
	/* v0 (before KIP-152): the SASL tokens would follow as bare size-prefixed frames
	 * without a Kafka request header. Not simulated: every client since Kafka 1.0
	 * sends v1 and SaslAuthenticate, so a v0 client is answered and then closed. */
	if (act == FERRY_SIM_DONE && h->ApiVersion == 0) {
		ferry_sim_warn(sim,
			       "conn %llu (%s): SaslHandshake v0 (raw SASL tokens) is not "
			       "simulated, only v1 + SaslAuthenticate: closing",
			       (unsigned long long)c->id, c->peer);
		sim->st[FERRY_SIM_ST_CONN_UNSUPPORTED]++;
		return FERRY_SIM_CLOSE_AFTER;
	}
	return act;
}

static enum ferry_sim_act
handle_sasl_authenticate(struct ferry_sim *sim, struct ferry_sim_conn *c,
			 const struct ferry_kafka_reqhdr *h,
			 const struct ferry_kafka_sasl_authenticate_req *rq)
{
	struct ferry_kafka_sasl_authenticate_resp rs;
	const char *msg = NULL;
	bool done = false;

	rs.ErrorMessage = ferry_span_make(NULL, 0);
	rs.AuthBytes = ferry_span_make("", 0);
	rs.SessionLifetimeMs = 0; /* no re-authentication (KIP-368) */
	if (c->authenticated) {
		/* KafkaApis' answer to a SaslAuthenticate on an authenticated connection */
		rs.ErrorCode = FERRY_ERR_ILLEGAL_SASL_STATE;
		rs.ErrorMessage =
		    ferry_span_str("SaslAuthenticate request received after successful "
				   "authentication");
		return respond(sim, c, h, &rs, 128);
	}
	rs.ErrorCode = ferry_sim_sasl_step(sim, c, rq->AuthBytes, &rs.AuthBytes, &msg, &done);
	if (rs.ErrorCode != FERRY_ERR_NONE) {
		/* refused: the reason in ErrorMessage, then close (RFC 4422 §3.6: the
		 * exchange is over; Kafka closes the connection after this answer) */
		rs.AuthBytes = ferry_span_make("", 0);
		rs.ErrorMessage = ferry_span_str(msg ? msg : ferry_err_desc(rs.ErrorCode));
		if (rs.ErrorCode == FERRY_ERR_SASL_AUTHENTICATION_FAILED)
			sim->st[FERRY_SIM_ST_SASL_AUTH_FAILED]++;
		else
			sim->st[FERRY_SIM_ST_CONN_UNAUTHENTICATED]++;
		ferry_sim_warn(sim, "conn %llu (%s): SASL/%s authentication refused: %s: closing",
			       (unsigned long long)c->id, c->peer,
			       c->sasl ? ferry_sim_sasl_mech_name(c->sasl_mech) : "-",
			       rs.ErrorMessage.p);
		ferry_sim_sasl_sess_free(c);
		return respond_close(sim, c, h, &rs, 64 + rs.ErrorMessage.len);
	}
	if (done)
		sim->st[FERRY_SIM_ST_SASL_AUTH_OK]++;
	return respond(sim, c, h, &rs, 64 + rs.AuthBytes.len);
}

/* ---- OffsetCommit (8), OffsetFetch (9) ------------------------------------------------------ */

static enum ferry_sim_act
handle_offset_commit(struct ferry_sim *sim, struct ferry_sim_conn *c,
		     const struct ferry_kafka_reqhdr *h,
		     const struct ferry_kafka_offset_commit_req *rq)
{
	struct ferry_kafka_offset_commit_resp rs = { 0 };
	struct ferry_sim_group *g = NULL;
	int16_t gerr = FERRY_ERR_NONE;
	size_t hint = 64;

	/* Generation -1 and member "" is a simple (assign()) consumer: accepted.
	 * Group membership is not simulated, so a member's generation is not checked. */
	if (rq->GroupId.len == 0)
		gerr = FERRY_ERR_INVALID_GROUP_ID;
	else if ((g = ferry_sim_group_get(sim, rq->GroupId, true)) == NULL)
		gerr = FERRY_ERR_COORDINATOR_NOT_AVAILABLE;
	rs.n_topics = rq->n_topics;
	rs.Topics = ferry_sim_ralloc(&sim->region, (size_t)rq->n_topics, sizeof(*rs.Topics));
	if (rs.Topics == NULL)
		return no_memory(sim, c, h);
	for (int32_t i = 0; i < rq->n_topics; i++) {
		const struct ferry_kafka_offset_commit_req_topic *qt = &rq->Topics[i];
		struct ferry_kafka_offset_commit_resp_topic *rt = &rs.Topics[i];

		rt->Name = qt->Name;
		rt->n_partitions = qt->n_partitions;
		rt->Partitions = ferry_sim_ralloc(&sim->region, (size_t)qt->n_partitions,
						  sizeof(*rt->Partitions));
		if (rt->Partitions == NULL)
			return no_memory(sim, c, h);
		hint += 16 + qt->Name.len + 8 * (size_t)qt->n_partitions;
		for (int32_t j = 0; j < qt->n_partitions; j++) {
			const struct ferry_kafka_offset_commit_req_partition *qp =
			    &qt->Partitions[j];

			rt->Partitions[j].PartitionIndex = qp->PartitionIndex;
			rt->Partitions[j].ErrorCode =
			    gerr != FERRY_ERR_NONE
				? gerr
				: ferry_sim_commit_put(
				      sim, g, qt->Name, qp->PartitionIndex, qp->CommittedOffset,
				      qp->CommittedLeaderEpoch, qp->CommittedMetadata);
		}
	}
	return respond(sim, c, h, &rs, hint);
}

static void
fill_committed(struct ferry_kafka_offset_fetch_resp_partition *rp,
	       const struct ferry_sim_commit *cm)
{
	ferry_kafka_offset_fetch_resp_partition_init(rp);
	/* Nothing committed: offset -1 and metadata "" (what brokers answer). */
	rp->Metadata = ferry_span_make("", 0);
	if (cm == NULL)
		return;
	rp->PartitionIndex = cm->partition;
	rp->CommittedOffset = cm->offset;
	rp->CommittedLeaderEpoch = cm->leader_epoch;
	rp->Metadata = ferry_span_make(cm->metadata, cm->metadata_len);
}

static int
commit_cmp(const void *a, const void *b)
{
	const struct ferry_sim_commit *x = *(const struct ferry_sim_commit *const *)a;
	const struct ferry_sim_commit *y = *(const struct ferry_sim_commit *const *)b;
	size_t n = x->topic_len < y->topic_len ? x->topic_len : y->topic_len;
	int r = memcmp(x->topic, y->topic, n);

	if (r != 0)
		return r;
	if (x->topic_len != y->topic_len)
		return x->topic_len < y->topic_len ? -1 : 1;
	return (x->partition > y->partition) - (x->partition < y->partition);
}

/* OffsetFetch with null Topics (v2+): everything the group committed, by topic. */
static int
offset_fetch_all(struct ferry_sim *sim, struct ferry_sim_group *g,
		 struct ferry_kafka_offset_fetch_resp *rs, size_t *hint)
{
	struct ferry_sim_commit **all;
	size_t n = 0, k = 0;
	int32_t nt = 0;

	if (g == NULL || g->commits.n == 0)
		return 0;
	all = ferry_sim_ralloc(&sim->region, g->commits.n, sizeof(*all));
	rs->Topics = ferry_sim_ralloc(&sim->region, g->commits.n, sizeof(*rs->Topics));
	if (all == NULL || rs->Topics == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < g->commits.cap; i++)
		if (g->commits.ents[i].key != NULL)
			all[n++] = g->commits.ents[i].val;
	qsort(all, n, sizeof(*all), commit_cmp);
	while (k < n) {
		struct ferry_kafka_offset_fetch_resp_topic *rt = &rs->Topics[nt++];
		size_t e = k;

		while (e < n && all[e]->topic_len == all[k]->topic_len &&
		       memcmp(all[e]->topic, all[k]->topic, all[k]->topic_len) == 0)
			e++;
		rt->Name = ferry_span_make(all[k]->topic, all[k]->topic_len);
		rt->n_partitions = (int32_t)(e - k);
		rt->Partitions = ferry_sim_ralloc(&sim->region, e - k, sizeof(*rt->Partitions));
		if (rt->Partitions == NULL)
			return -ENOMEM;
		for (size_t j = k; j < e; j++) {
			fill_committed(&rt->Partitions[j - k], all[j]);
			*hint += 32 + all[j]->metadata_len;
		}
		*hint += 16 + rt->Name.len;
		k = e;
	}
	rs->n_topics = nt;
	return 0;
}

static enum ferry_sim_act
handle_offset_fetch(struct ferry_sim *sim, struct ferry_sim_conn *c,
		    const struct ferry_kafka_reqhdr *h,
		    const struct ferry_kafka_offset_fetch_req *rq)
{
	struct ferry_kafka_offset_fetch_resp rs = { 0 };
	struct ferry_sim_group *g = ferry_sim_group_get(sim, rq->GroupId, false);
	size_t hint = 64;

	if (rq->n_topics < 0) {
		if (offset_fetch_all(sim, g, &rs, &hint) < 0)
			return no_memory(sim, c, h);
		return respond(sim, c, h, &rs, hint);
	}
	rs.n_topics = rq->n_topics;
	rs.Topics = ferry_sim_ralloc(&sim->region, (size_t)rq->n_topics, sizeof(*rs.Topics));
	if (rs.Topics == NULL)
		return no_memory(sim, c, h);
	for (int32_t i = 0; i < rq->n_topics; i++) {
		const struct ferry_kafka_offset_fetch_req_topic *qt = &rq->Topics[i];
		struct ferry_kafka_offset_fetch_resp_topic *rt = &rs.Topics[i];

		rt->Name = qt->Name;
		rt->n_partitions = qt->n_partition_indexes;
		rt->Partitions = ferry_sim_ralloc(&sim->region, (size_t)qt->n_partition_indexes,
						  sizeof(*rt->Partitions));
		if (rt->Partitions == NULL)
			return no_memory(sim, c, h);
		hint += 16 + qt->Name.len;
		for (int32_t j = 0; j < qt->n_partition_indexes; j++) {
			int32_t idx = qt->PartitionIndexes[j];
			const struct ferry_sim_commit *cm =
			    g ? ferry_sim_commit_get(g, qt->Name, idx) : NULL;

			fill_committed(&rt->Partitions[j], cm);
			rt->Partitions[j].PartitionIndex = idx;
			hint += 32 + (cm ? cm->metadata_len : 0);
		}
	}
	return respond(sim, c, h, &rs, hint);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

enum ferry_sim_act
ferry_sim_handle(struct ferry_sim *sim, struct ferry_sim_conn *c, struct ferry_span body,
		 bool rerun, bool expired)
{
	struct ferry_kafka_reqhdr h;
	struct ferry_arena a;
	char err[256];
	int rc;

	ferry_sim_region_reset(&sim->region);
	for (;;) {
		memset(&h, 0, sizeof(h));
		ferry_arena_init(&a, sim->dec_mem, sim->dec_cap);
		rc = ferry_kafka_request_decode(body, &a, &h, sim->req_msg, err, sizeof(err));
		if (rc != FERRY_ERR__NOMEM || sim->dec_cap >= DEC_CAP_MAX)
			break;
		/* Counts were checked against the bytes present; a big but honest
		 * request just needs a bigger arena. */
		uint8_t *n = realloc(sim->dec_mem, sim->dec_cap * 4);
		if (n == NULL)
			break;
		sim->dec_mem = n;
		sim->dec_cap *= 4;
	}
	if (rc == FERRY_ERR__UNSUPPORTED_VERSION && h.ApiKey == FERRY_KAFKA_API_VERSIONS)
		return api_versions_unsupported(sim, c, &h);
	if (rc < 0) {
		enum ferry_sim_stat st = rc == FERRY_ERR__UNSUPPORTED_VERSION
					     ? FERRY_SIM_ST_CONN_UNSUPPORTED
					     : FERRY_SIM_ST_CONN_BAD_FRAME;
		sim->st[st]++;
		ferry_sim_warn(sim, "conn %llu (%s): %s: closing", (unsigned long long)c->id,
			       c->peer, err);
		return FERRY_SIM_CLOSE;
	}
	if (!rerun) {
		sim->st[FERRY_SIM_ST_REQUESTS]++;
		sim->req_by_api[h.ApiKey]++;
	}
	/* SASL_PLAINTEXT: before authenticating, only ApiVersions and the SASL exchange.
	 * Anything else closes the connection, as Kafka's SaslServerAuthenticator does
	 * ("Unexpected Kafka request of type ... during SASL handshake"). */
	if (sim->sasl && !c->authenticated && h.ApiKey != FERRY_KAFKA_API_VERSIONS &&
	    h.ApiKey != FERRY_KAFKA_SASL_HANDSHAKE && h.ApiKey != FERRY_KAFKA_SASL_AUTHENTICATE) {
		sim->st[FERRY_SIM_ST_CONN_UNAUTHENTICATED]++;
		ferry_sim_warn(sim, "conn %llu (%s): %s before SASL authentication: closing",
			       (unsigned long long)c->id, c->peer, ferry_kafka_api_name(h.ApiKey));
		return FERRY_SIM_CLOSE;
	}

	switch (h.ApiKey) {
	case FERRY_KAFKA_API_VERSIONS: return handle_api_versions(sim, c, &h);
	case FERRY_KAFKA_METADATA: return handle_metadata(sim, c, &h, sim->req_msg);
	case FERRY_KAFKA_LIST_OFFSETS: return handle_list_offsets(sim, c, &h, sim->req_msg);
	case FERRY_KAFKA_FETCH: return handle_fetch(sim, c, &h, sim->req_msg, rerun, expired);
	case FERRY_KAFKA_PRODUCE: return handle_produce(sim, c, &h, sim->req_msg);
	case FERRY_KAFKA_INIT_PRODUCER_ID: return handle_init_producer_id(sim, c, &h);
	case FERRY_KAFKA_FIND_COORDINATOR: return handle_find_coordinator(sim, c, &h, sim->req_msg);
	case FERRY_KAFKA_OFFSET_COMMIT: return handle_offset_commit(sim, c, &h, sim->req_msg);
	case FERRY_KAFKA_OFFSET_FETCH: return handle_offset_fetch(sim, c, &h, sim->req_msg);
	case FERRY_KAFKA_ADD_PARTITIONS_TO_TXN:
		return handle_add_partitions_to_txn(sim, c, &h, sim->req_msg);
	case FERRY_KAFKA_END_TXN: return handle_end_txn(sim, c, &h);
	case FERRY_KAFKA_SASL_HANDSHAKE:
		if (!sim->sasl)
			break;
		return handle_sasl_handshake(sim, c, &h, sim->req_msg);
	case FERRY_KAFKA_SASL_AUTHENTICATE:
		if (!sim->sasl)
			break;
		return handle_sasl_authenticate(sim, c, &h, sim->req_msg);
	default: break;
	}
	/* in ferry's table but not answered here (not advertised either) */
	sim->st[FERRY_SIM_ST_CONN_UNSUPPORTED]++;
	ferry_sim_warn(sim, "conn %llu (%s): %s is not simulated: closing",
		       (unsigned long long)c->id, c->peer, ferry_kafka_api_name(h.ApiKey));
	return FERRY_SIM_CLOSE;
}
