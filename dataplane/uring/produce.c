/*
 * produce.c - the producer: Produce v3+ with acks=all, one batch per
 * partition per request, up to 5 requests in flight per partition,
 * idempotent (InitProducerId, per-partition epoch and sequences, header
 * rewrite and CRC through the codec), retries that keep the order, and
 * "stop and reconcile" when the outcome of a batch is unknown.
 *
 * Thread: the owner of the struct ferry_uring (@locality owner thread).
 * Owns: per-partition queues of caller batches (the bytes stay the caller's
 * until their delivery report). Queues are allocated by ferry_uring_produce_add
 * (control path), never while producing.
 *
 * Error classes (kafka-wire-facts §5, §9):
 *  - not written, retriable (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, ...):
 *    every batch of the partition goes back to the queue with its sequence;
 *    they are sent again, in order, once every older answer is back (so a
 *    broker that does not check sequences cannot append out of order);
 *  - outcome unknown (REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
 *    connection lost, request timeout) and broker producer-state errors
 *    (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, DUPLICATE_SEQUENCE,
 *    INVALID_PRODUCER_EPOCH): stop and reconcile. Wait for every answer,
 *    ListOffsets latest, Fetch the target from the last acknowledged offset
 *    (or from its end when the partition started) to that end, and recognise
 *    our batches by CRC, count and producer id/epoch/sequence. The written
 *    ones are reported with their real offsets, the rest are sent again; after
 *    a producer-state error the partition's epoch is bumped and sequences
 *    restart at 0 (what the Java producer does for an idempotent producer);
 *  - anything else is fatal for the partition: the failing batch and every
 *    queued one are reported with the error and the partition stops.
 *
 * Transactional instances (txn.c owns the transaction state) differ in three
 * places: batches carry the transactional bit and go out only once their
 * partition is in the open transaction; the Produce request carries the
 * TransactionalId; and the epoch cannot be bumped locally (the coordinator
 * owns it), so fencing is fatal for the instance and the other producer-state
 * errors make the transaction abortable (txn.c) instead of re-sequencing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uring_int.h"

/* ---- encoding ---------------------------------------------------------------------------------- */

long
ferry_uring_produce_encode(int16_t ver, int32_t corr, struct ferry_span client_id, int16_t acks,
			   int32_t timeout_ms, const struct ferry_uprod_enc_part *parts, unsigned n,
			   uint8_t *tx, size_t tx_cap, size_t *tx_used, struct iovec *iov,
			   unsigned iov_cap, unsigned *n_iov)
{
	return ferry_uring_produce_encode_txn(ver, corr, client_id, ferry_span_make(NULL, 0), acks,
					      timeout_ms, parts, n, tx, tx_cap, tx_used, iov,
					      iov_cap, n_iov);
}

long
ferry_uring_produce_encode_txn(int16_t ver, int32_t corr, struct ferry_span client_id,
			       struct ferry_span transactional_id, int16_t acks, int32_t timeout_ms,
			       const struct ferry_uprod_enc_part *parts, unsigned n, uint8_t *tx,
			       size_t tx_cap, size_t *tx_used, struct iovec *iov, unsigned iov_cap,
			       unsigned *n_iov)
{
	bool flex = ver >= FERRY_KAFKA_PRODUCE_VER_FLEX;
	size_t seg = 0, total = 0;
	unsigned ni = 0, ntopics = 0;
	struct ferry_wr w;

	if (n == 0 || ver < FERRY_KAFKA_PRODUCE_VER_MIN || ver > FERRY_KAFKA_PRODUCE_VER_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (i == 0 || !ferry_span_eq(parts[i].topic, parts[i - 1].topic))
			ntopics++;
	ferry_wr_init(&w, tx, tx_cap);
	ferry_wr_i32(&w, 0); /* size, patched below */
	/* request header v1 (v2 + tag section when flexible); ClientId stays int16-length */
	ferry_wr_i16(&w, FERRY_KAFKA_PRODUCE);
	ferry_wr_i16(&w, ver);
	ferry_wr_i32(&w, corr);
	ferry_wr_str(&w, false, client_id);
	if (flex)
		ferry_wr_no_tags(&w);
	/* TransactionalId: null unless transactional (kafka-wire-facts §2.3: a batch with the
	 * transactional bit needs it) */
	ferry_wr_str(&w, flex, transactional_id);
	ferry_wr_i16(&w, acks);
	ferry_wr_i32(&w, timeout_ms);
	ferry_wr_array(&w, flex, (int32_t)ntopics);
	for (unsigned i = 0; i < n;) {
		unsigned j = i;

		while (j < n && ferry_span_eq(parts[j].topic, parts[i].topic))
			j++;
		ferry_wr_str(&w, flex, parts[i].topic);
		ferry_wr_array(&w, flex, (int32_t)(j - i));
		for (; i < j; i++) {
			ferry_wr_i32(&w, parts[i].partition);
			/* Records: NULLABLE_BYTES (int32 length) or COMPACT_RECORDS (length + 1) */
			if (flex)
				ferry_wr_uvarint(&w, (uint32_t)parts[i].batch.len + 1);
			else
				ferry_wr_i32(&w, (int32_t)parts[i].batch.len);
			if (w.overflow || ni + 2 > iov_cap)
				return -ENOSPC;
			iov[ni].iov_base = tx + seg;
			iov[ni++].iov_len = w.len - seg;
			iov[ni].iov_base = (void *)(uintptr_t)parts[i].batch.p;
			iov[ni++].iov_len = parts[i].batch.len;
			total += w.len - seg + parts[i].batch.len;
			seg = w.len;
			if (flex)
				ferry_wr_no_tags(&w);
		}
		if (flex)
			ferry_wr_no_tags(&w);
	}
	if (flex)
		ferry_wr_no_tags(&w);
	if (w.overflow || ni + 1 > iov_cap)
		return -ENOSPC;
	if (w.len > seg) {
		iov[ni].iov_base = tx + seg;
		iov[ni++].iov_len = w.len - seg;
		total += w.len - seg;
	}
	if (total - 4 > INT32_MAX)
		return -EMSGSIZE;
	ferry_put_be32(tx, (uint32_t)(total - 4));
	*tx_used = w.len;
	*n_iov = ni;
	return (long)total;
}

/* ---- partitions -------------------------------------------------------------------------------- */

static struct ferry_upart *
prod_part(const struct ferry_uring *ur, int part)
{
	if (part < 0 || (unsigned)part >= ur->conf.max_parts ||
	    ur->parts[part].kind != FERRY_UPART_PRODUCE)
		return NULL;
	return &ur->parts[part];
}

int
ferry_uring_produce_add(struct ferry_uring *ur, const char *topic, int32_t partition,
			int32_t leader, uint64_t cookie)
{
	struct ferry_upart *p;
	int i = ferry_uring_part_alloc(ur, topic, partition, leader, cookie, FERRY_UPART_PRODUCE);

	if (i < 0)
		return i;
	p = &ur->parts[i];
	if (p->q == NULL) {
		p->q = calloc(ur->conf.produce_queue, sizeof(*p->q));
		if (p->q == NULL) {
			p->kind = FERRY_UPART_FREE;
			return -ENOMEM;
		}
	}
	p->pstate = FERRY_UPROD_INIT;
	p->pid = -1;
	p->epoch = -1;
	p->last_acked = -1;
	p->init_end = -1;
	p->inflight_bidx = -1;
	return i;
}

unsigned
ferry_uring_produce_pending(const struct ferry_uring *ur, int part)
{
	const struct ferry_upart *p = prod_part(ur, part);

	return p ? p->q_n : 0;
}

int
ferry_uring_produce(struct ferry_uring *ur, int part, uint8_t *batch, size_t len,
		    const struct ferry_uring_src *src, uint64_t cookie)
{
	struct ferry_upart *p = prod_part(ur, part);
	struct ferry_kafka_batch b;
	struct ferry_ubatch *s;
	size_t consumed;

	if (p == NULL || batch == NULL)
		return -EINVAL;
	if (ur->txn.on) {
		/* a transactional batch belongs to the open transaction (ferry/uring.h) */
		switch (ur->txn.state) {
		case FERRY_UTXN_OPEN:
			break;
		case FERRY_UTXN_ABORTABLE:
			return -ECANCELED;
		case FERRY_UTXN_FATAL:
			return -EPIPE;
		default:
			return -ENOTCONN;
		}
	}
	if (p->pstate == FERRY_UPROD_STOPPED)
		return -EPIPE;
	if (p->q_n == ur->conf.produce_queue)
		return -EAGAIN;
	/* the broker's Produce rules (kafka-wire-facts §3.5) that the header shows */
	if (ferry_kafka_batch_parse(ferry_span_make(batch, len), &b, &consumed) != 0 ||
	    consumed != len || ferry_kafka_batch_is_control(&b.hdr) || b.hdr.RecordsCount <= 0 ||
	    b.hdr.LastOffsetDelta + 1 != b.hdr.RecordsCount || len > INT32_MAX)
		return -EINVAL;
	s = &p->q[(p->q_head + p->q_n) % ur->conf.produce_queue];
	memset(s, 0, sizeof(*s));
	s->p = batch;
	s->len = len;
	if (src)
		s->src = *src;
	s->cookie = cookie;
	s->count = b.hdr.RecordsCount;
	s->state = FERRY_UBATCH_QUEUED;
	s->base_offset = -1;
	p->q_n++;
	return 0;
}

static struct ferry_ubatch *
slot(const struct ferry_uring *ur, const struct ferry_upart *p, uint32_t k)
{
	return &p->q[(p->q_head + k) % ur->conf.produce_queue];
}

/* Rewrite the header for this partition's producer state; sequences follow queue order. */
static void
stamp(struct ferry_uring *ur, struct ferry_upart *p, struct ferry_ubatch *s)
{
	struct ferry_kafka_batch_rewrite rw = { 0 };
	int16_t attr = (int16_t)ferry_be16(s->p + FERRY_KAFKA_BATCH_CRC_START);

	if (s->stamped)
		return;
	if (ur->conf.idempotent) {
		s->pid = p->pid;
		s->epoch = p->epoch;
		s->seq = p->next_seq;
		/* lastSequence wraps from INT32_MAX to 0 (§3.1) */
		p->next_seq = (int32_t)(((int64_t)p->next_seq + s->count) & INT32_MAX);
	} else {
		/* never pin the source's producer id into the target's producer state */
		s->pid = -1;
		s->epoch = -1;
		s->seq = -1;
	}
	/* CRC_CARRY: the CRC the batch came with is patched, not recomputed, so the batch is not
	 * read again (it was a sixth of the producer's CPU in bench_uring) and damage since the
	 * source's check reaches the target broker as CORRUPT_MESSAGE instead of being
	 * laundered into a valid batch */
	rw.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_PRODUCER | FERRY_KAFKA_RW_ATTRIBUTES |
		 FERRY_KAFKA_RW_CRC_CARRY;
	rw.BaseOffset = 0;
	rw.ProducerId = s->pid;
	rw.ProducerEpoch = s->epoch;
	rw.BaseSequence = s->seq;
	/* A source transaction's bit must go unless this producer runs its own transaction
	 * (§3.7); a transactional producer marks every batch (KIP-98, attributes bit 4). */
	if (ur->txn.on)
		rw.Attributes = (int16_t)(attr | FERRY_KAFKA_ATTR_TRANSACTIONAL);
	else
		rw.Attributes = (int16_t)(attr & ~FERRY_KAFKA_ATTR_TRANSACTIONAL);
	ferry_kafka_batch_rewrite(s->p, s->len, &rw);
	s->stamped = true;
}

static void
report(struct ferry_uring *ur, int part, struct ferry_ubatch *s, int64_t base, int err,
       const char *msg)
{
	struct ferry_upart *p = &ur->parts[part];
	struct ferry_uring_event ev = { .type = FERRY_URING_EV_DELIVERY };

	ev.u.delivery.part = part;
	ev.u.delivery.part_cookie = p->cookie;
	ev.u.delivery.cookie = s->cookie;
	ev.u.delivery.src = s->src;
	ev.u.delivery.batch = s->p;
	ev.u.delivery.len = s->len;
	ev.u.delivery.base_offset = base;
	ev.u.delivery.records = s->count;
	ev.u.delivery.err = err;
	ev.u.delivery.msg = msg;
	if (err) {
		ur->st[FERRY_URING_ST_PRODUCE_ERRORS]++;
	} else {
		ur->st[FERRY_URING_ST_PRODUCE_BATCHES]++;
		ur->st[FERRY_URING_ST_PRODUCE_BYTES] += s->len;
	}
	ferry_uring_emit(ur, &ev);
}

/* The head batch is written at 'base': report it and drop it from the queue. */
static void
pop_written(struct ferry_uring *ur, int part, int64_t base)
{
	struct ferry_upart *p = &ur->parts[part];
	struct ferry_ubatch s = *slot(ur, p, 0);

	p->q_head = (p->q_head + 1) % ur->conf.produce_queue;
	p->q_n--;
	p->q_abs++;
	if (p->q_sent > 0)
		p->q_sent--;
	p->last_acked = base + s.count;
	report(ur, part, &s, base, 0, NULL);
}

/* Fatal for the partition: report every queued batch with the error and stop. */
static void
stop_partition(struct ferry_uring *ur, int part, int err, const char *msg)
{
	struct ferry_upart *p = &ur->parts[part];
	struct ferry_uring_event ev = { .type = FERRY_URING_EV_PRODUCE_STOPPED };

	/* batches of the open transaction are lost: it can only be aborted now; its abort
	 * discards everything the partition had and bumps the epoch, so the partition can
	 * serve the next transaction (the Java producer carries on after abortTransaction) */
	if (ur->txn.on && p->q_n > 0)
		ferry_uring_txn_abortable(ur, err, msg);
	p->txn_stopped = ur->txn.on && ur->txn.state != FERRY_UTXN_FATAL;
	p->pstate = FERRY_UPROD_STOPPED;
	p->gen++;
	while (p->q_n > 0) {
		struct ferry_ubatch s = *slot(ur, p, 0);

		p->q_head = (p->q_head + 1) % ur->conf.produce_queue;
		p->q_n--;
		p->q_abs++;
		report(ur, part, &s, -1, err, msg);
	}
	p->q_sent = 0;
	ev.u.pstate.part = part;
	ev.u.pstate.cookie = p->cookie;
	ev.u.pstate.err = err;
	ev.u.pstate.msg = msg;
	ev.u.pstate.target_end = p->recon_end;
	ferry_uring_emit(ur, &ev);
}

void
ferry_uring_produce_stop(struct ferry_uring *ur, int part, int err, const char *msg)
{
	const struct ferry_upart *p = &ur->parts[part];

	if (p->kind == FERRY_UPART_PRODUCE && p->pstate != FERRY_UPROD_STOPPED)
		stop_partition(ur, part, err, msg);
}

bool
ferry_uring_produce_purge(struct ferry_uring *ur, int part, int err, const char *msg)
{
	struct ferry_upart *p = &ur->parts[part];
	/* waiting to resend or reconciling: nothing counts as in flight any more (answers
	 * of older generations are ignored) */
	uint32_t keep = p->pstate == FERRY_UPROD_READY && !p->draining ? p->q_sent : 0;
	bool stamped = false;

	for (uint32_t k = keep; k < p->q_n; k++) {
		struct ferry_ubatch *s = slot(ur, p, k);

		stamped |= s->stamped;
		report(ur, part, s, -1, err, msg);
	}
	p->q_n = keep;
	if (p->q_sent > keep)
		p->q_sent = keep;
	return stamped;
}

static void
start_reconcile(struct ferry_uring *ur, struct ferry_upart *p, int err, bool bump)
{
	if (p->pstate == FERRY_UPROD_STOPPED)
		return;
	p->recon_bump |= bump;
	if (p->pstate >= FERRY_UPROD_RECON_WAIT && p->pstate <= FERRY_UPROD_RECON_FETCH)
		return;
	ur->st[FERRY_URING_ST_PRODUCE_RECONCILES]++;
	p->pstate = FERRY_UPROD_RECON_WAIT;
	p->recon_err = err;
	p->recon_tries = 0;
	p->gen++;
	p->q_sent = 0;
}

static bool
not_written_error(int err)
{
	/* the broker refused before appending: safe to send again as is */
	return err == FERRY_ERR_NOT_LEADER_OR_FOLLOWER || err == FERRY_ERR_LEADER_NOT_AVAILABLE ||
	       err == FERRY_ERR_NOT_ENOUGH_REPLICAS || err == FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION ||
	       err == FERRY_ERR_FENCED_LEADER_EPOCH || err == FERRY_ERR_UNKNOWN_LEADER_EPOCH ||
	       err == FERRY_ERR_THROTTLING_QUOTA_EXCEEDED || err == FERRY_ERR_CONCURRENT_TRANSACTIONS;
}

static bool
unknown_outcome_error(int err)
{
	return err == FERRY_ERR_REQUEST_TIMED_OUT || err == FERRY_ERR_NETWORK_EXCEPTION ||
	       err == FERRY_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND ||
	       err == FERRY_ERR_KAFKA_STORAGE_ERROR || err == FERRY_ERR_UNKNOWN_SERVER_ERROR;
}

static bool
producer_state_error(int err)
{
	return err == FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER || err == FERRY_ERR_UNKNOWN_PRODUCER_ID ||
	       err == FERRY_ERR_DUPLICATE_SEQUENCE_NUMBER || err == FERRY_ERR_INVALID_PRODUCER_EPOCH;
}

static void
retry_later(struct ferry_uring *ur, struct ferry_upart *p)
{
	p->retry_at_ns = ur->now_ns + (int64_t)p->backoff_ms * 1000000;
	p->backoff_ms = p->backoff_ms * 2 > 1000 ? 1000 : p->backoff_ms * 2;
}

/* ---- scheduling -------------------------------------------------------------------------------- */

static void
send_init_pid(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	struct ferry_kafka_init_producer_id_req req;
	struct ferry_ureq *rq;

	if (b->pid_ver < 0 || b->pid_inflight)
		return;
	rq = ferry_uring_req_new(ur, b, FERRY_UREQ_INIT_PID, FERRY_KAFKA_INIT_PRODUCER_ID,
				 b->pid_ver, ur->conf.request_timeout_ms);
	if (rq == NULL)
		return;
	ferry_kafka_init_producer_id_req_init(&req);
	req.TransactionalId = ferry_span_make(NULL, 0);
	req.TransactionTimeoutMs = INT32_MAX; /* ignored without a transactional id */
	if (ferry_uring_req_send(ur, b, rq, &req) == 0)
		b->pid_inflight = true;
}

static void
send_recon_fetch(struct ferry_uring *ur, struct ferry_ubroker *b, int part)
{
	struct ferry_upart *p = &ur->parts[part];
	struct ferry_kafka_fetch_req_part fp = { p->partition, -1, p->recon_pos, -1, -1,
						 ur->conf.partition_max_bytes };
	struct ferry_kafka_fetch_req_topic ft = { ferry_span_make(p->topic, p->topic_len), 1, &fp };
	struct ferry_kafka_fetch_req req = {
		.ReplicaId = -1, .MaxWaitMs = 0, .MinBytes = 1,
		.MaxBytes = ur->conf.partition_max_bytes, .IsolationLevel = 0,
		.SessionEpoch = -1, .n_topics = 1, .Topics = &ft, .RackId = ferry_span_str(""),
	};
	struct ferry_ureq *rq;

	if (b->fetch_ver < 0) {
		stop_partition(ur, part, FERRY_ERR__NO_COMMON_VERSION,
			       "reconcile: the target speaks no Fetch version ferry supports");
		return;
	}
	rq = ferry_uring_req_new(ur, b, FERRY_UREQ_RECON_FETCH, FERRY_KAFKA_FETCH, b->fetch_ver,
				 ur->conf.request_timeout_ms);
	if (rq == NULL)
		return;
	rq->n_parts = 1;
	rq->parts[0].part = part;
	rq->parts[0].gen = p->gen;
	rq->parts[0].offset = p->recon_pos;
	if (ferry_uring_req_send(ur, b, rq, &req) == 0)
		p->recon_inflight = true;
}

/* Can this partition put its next batch in a request to broker bidx now? */
static bool
can_send(const struct ferry_uring *ur, const struct ferry_upart *p, int bidx)
{
	if (p->kind != FERRY_UPART_PRODUCE || p->pstate != FERRY_UPROD_READY || p->bidx != bidx ||
	    ur->now_ns < p->retry_at_ns || p->q_sent >= p->q_n ||
	    p->q_sent >= ur->conf.produce_max_inflight)
		return false;
	if (ur->conf.idempotent && p->pid < 0)
		return false;
	if (ur->txn.on && !ferry_uring_txn_can_send(ur, p))
		return false;
	/* order: answers from an old leader, or after a retriable error, come first */
	if (p->inflight > 0 && (p->draining || p->inflight_bidx != bidx))
		return false;
	return true;
}

static void
build_produce(struct ferry_uring *ur, struct ferry_ubroker *b, bool *more)
{
	struct ferry_uprod_enc_part ep[FERRY_UREQ_MAX_PARTS];
	struct ferry_ureq_part sorted[FERRY_UREQ_MAX_PARTS];
	int bidx = (int)(b - ur->brokers);
	unsigned n = 0, niov;
	struct ferry_ureq *rq;
	size_t used;
	long size;

	*more = false;
	rq = ferry_uring_req_new(ur, b, FERRY_UREQ_PRODUCE, FERRY_KAFKA_PRODUCE, b->produce_ver,
				 ur->conf.request_timeout_ms);
	if (rq == NULL)
		return;
	for (unsigned i = 0; i < ur->n_parts && rq->n_parts < FERRY_UREQ_MAX_PARTS; i++) {
		struct ferry_upart *p = &ur->parts[i];

		if (!can_send(ur, p, bidx))
			continue;
		rq->parts[rq->n_parts].part = (int)i;
		rq->parts[rq->n_parts].gen = p->gen;
		rq->parts[rq->n_parts].offset = (int64_t)(p->q_abs + p->q_sent);
		rq->n_parts++;
	}
	if (rq->n_parts == 0) {
		ferry_uring_req_abort(b, rq);
		return;
	}
	/* partitions of one topic adjacent */
	for (unsigned i = 0; i < rq->n_parts; i++) {
		struct ferry_upart *p = &ur->parts[rq->parts[i].part];
		bool seen = false;

		for (unsigned k = 0; k < n; k++)
			if (ep[k].topic.len == p->topic_len &&
			    memcmp(ep[k].topic.p, p->topic, p->topic_len) == 0)
				seen = true;
		if (seen)
			continue;
		for (unsigned j = i; j < rq->n_parts; j++) {
			struct ferry_upart *q = &ur->parts[rq->parts[j].part];
			struct ferry_ubatch *s;

			if (q->topic_len != p->topic_len || memcmp(q->topic, p->topic, p->topic_len))
				continue;
			s = slot(ur, q, q->q_sent);
			stamp(ur, q, s);
			ep[n].topic = ferry_span_make(q->topic, q->topic_len);
			ep[n].partition = q->partition;
			ep[n].batch = ferry_span_make(s->p, s->len);
			sorted[n++] = rq->parts[j];
		}
	}
	memcpy(rq->parts, sorted, n * sizeof(sorted[0]));
	rq->n_parts = (uint16_t)n;
	size = ferry_uring_produce_encode_txn(
	    b->produce_ver, rq->corr, ferry_span_str(ur->conf.client_id),
	    ur->txn.on ? ferry_span_str(ur->txn.id) : ferry_span_make(NULL, 0), -1,
	    ur->conf.produce_timeout_ms, ep, n, b->tx + b->tx_len, ur->conf.tx_buf_size - b->tx_len,
	    &used, &b->iov[b->iov_n], FERRY_UCONN_IOV - b->iov_n, &niov);
	if (size < 0) {
		/* no room in the send queue now; the next round tries again */
		ferry_uring_req_abort(b, rq);
		return;
	}
	b->tx_len += used;
	b->iov_n += niov;
	ferry_uring_req_commit(ur, b, rq);
	for (unsigned i = 0; i < rq->n_parts; i++) {
		struct ferry_upart *p = &ur->parts[rq->parts[i].part];

		slot(ur, p, p->q_sent)->state = FERRY_UBATCH_INFLIGHT;
		p->q_sent++;
		p->inflight++;
		p->inflight_bidx = bidx;
	}
	*more = true;
}

void
ferry_uring_produce_schedule(struct ferry_uring *ur)
{
	bool need_pid = false;

	/* transactions first: a partition added or a producer id obtained here may send below */
	if (ur->txn.on)
		ferry_uring_txn_schedule(ur);
	for (unsigned i = 0; i < ur->n_parts; i++) {
		struct ferry_upart *p = &ur->parts[i];
		struct ferry_ubroker *b;

		if (p->kind != FERRY_UPART_PRODUCE || p->pstate == FERRY_UPROD_STOPPED)
			continue;
		if (p->bidx < 0) {
			if (ur->now_ns >= p->retry_at_ns && (p->q_n > 0 || p->pstate != FERRY_UPROD_READY)) {
				ferry_uring_want_metadata(ur, -1, (int)i, FERRY_ERR_LEADER_NOT_AVAILABLE);
				p->retry_at_ns = ur->now_ns + INT64_C(1000000000);
			}
			continue;
		}
		b = &ur->brokers[p->bidx];
		b->want = true;
		if (p->inflight == 0)
			p->draining = false;
		if (ur->conf.idempotent && p->pid < 0) {
			if (ur->pid_ready) {
				p->pid = ur->pid;
				p->epoch = ur->epoch;
				p->next_seq = 0;
			} else {
				need_pid = true;
			}
		}
		if (b->state != FERRY_UCONN_UP || ur->now_ns < p->retry_at_ns)
			continue;
		switch (p->pstate) {
		case FERRY_UPROD_INIT:
			if (ferry_uring_send_list_offsets(ur, b, (int)i, FERRY_KAFKA_OFFSET_LATEST, p->gen) ==
			    0)
				p->pstate = FERRY_UPROD_INIT_LIST;
			break;
		case FERRY_UPROD_RECON_WAIT:
			if (p->inflight == 0 &&
			    ferry_uring_send_list_offsets(ur, b, (int)i, FERRY_KAFKA_OFFSET_LATEST,
							  p->gen) == 0)
				p->pstate = FERRY_UPROD_RECON_LIST;
			break;
		case FERRY_UPROD_RECON_FETCH:
			if (!p->recon_inflight)
				send_recon_fetch(ur, b, (int)i);
			break;
		default:
			break;
		}
	}
	/* a transactional producer id comes from the coordinator (txn.c) */
	if (need_pid && !ur->txn.on && ur->now_ns >= ur->pid_retry_at_ns) {
		for (unsigned i = 0; i < ur->n_brokers; i++) {
			struct ferry_ubroker *b = &ur->brokers[i];

			if (b->used && b->state == FERRY_UCONN_UP && b->pid_ver >= 0) {
				bool busy = false;

				for (unsigned k = 0; k < ur->n_brokers; k++)
					busy |= ur->brokers[k].pid_inflight;
				if (!busy)
					send_init_pid(ur, b);
				break;
			}
		}
	}
	for (unsigned i = 0; i < ur->n_brokers; i++) {
		struct ferry_ubroker *b = &ur->brokers[i];
		bool more = true;

		if (!b->used || b->state != FERRY_UCONN_UP || b->produce_ver < 0)
			continue;
		while (more)
			build_produce(ur, b, &more);
	}
}

/* ---- answers ----------------------------------------------------------------------------------- */

int
ferry_uring_pid_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
		       const struct ferry_kafka_init_producer_id_resp *resp)
{
	(void)b;
	if (resp->ErrorCode != 0 || resp->ProducerId < 0) {
		int e = resp->ErrorCode ? resp->ErrorCode : FERRY_ERR_UNKNOWN_SERVER_ERROR;

		if (e == FERRY_ERR_CLUSTER_AUTHORIZATION_FAILED ||
		    e == FERRY_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED) {
			for (unsigned i = 0; i < ur->conf.max_parts; i++)
				if (ur->parts[i].kind == FERRY_UPART_PRODUCE &&
				    ur->parts[i].pstate != FERRY_UPROD_STOPPED)
					stop_partition(ur, (int)i, e, "InitProducerId refused");
			return 0;
		}
		ur->pid_retry_at_ns = ur->now_ns + (int64_t)ur->conf.backoff_min_ms * 1000000;
		return 0;
	}
	ur->pid = resp->ProducerId;
	ur->epoch = resp->ProducerEpoch;
	ur->pid_ready = true;
	return 0;
}

static void
answer_part(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq_part *e,
	    const struct ferry_kafka_produce_resp_part *pr)
{
	struct ferry_upart *p = &ur->parts[e->part];
	int err = pr->ErrorCode;
	char msg[160];

	if (p->kind != FERRY_UPART_PRODUCE)
		return;
	if (p->inflight > 0)
		p->inflight--;
	if (e->gen != p->gen) {
		/* An answer from before a retry or a reconcile. In READY state a success
		 * here means the broker appended a batch after refusing an earlier one
		 * (it does not check sequences): the order is broken, say so. */
		if (err == 0 && p->pstate == FERRY_UPROD_READY &&
		    !(ur->txn.on && (ur->txn.state == FERRY_UTXN_ABORTABLE ||
				     ur->txn.state == FERRY_UTXN_ABORTING))) {
			/* (a transaction that will be aborted anyway does not care) */
			snprintf(msg, sizeof(msg),
				 "%.*s [%d]: broker appended a batch after refusing an earlier "
				 "one (offset %lld): order broken",
				 (int)p->topic_len, p->topic, p->partition, (long long)pr->BaseOffset);
			stop_partition(ur, e->part, FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, msg);
		}
		return;
	}
	if (p->pstate != FERRY_UPROD_READY)
		return;
	if (err == 0) {
		if ((uint64_t)e->offset != p->q_abs || p->q_n == 0 || pr->BaseOffset < 0) {
			snprintf(msg, sizeof(msg), "%.*s [%d]: answer for batch %lld, expected %llu",
				 (int)p->topic_len, p->topic, p->partition, (long long)e->offset,
				 (unsigned long long)p->q_abs);
			stop_partition(ur, e->part, FERRY_ERR__CORRELATION, msg);
			return;
		}
		p->backoff_ms = ur->conf.backoff_min_ms;
		pop_written(ur, e->part, pr->BaseOffset);
		return;
	}
	if (ur->txn.on && !not_written_error(err) && !unknown_outcome_error(err) &&
	    err != FERRY_ERR_DUPLICATE_SEQUENCE_NUMBER) {
		snprintf(msg, sizeof(msg), "Produce %.*s [%d]: %s%s%.*s", (int)p->topic_len, p->topic,
			 p->partition, ferry_err_name(err), pr->ErrorMessage.p ? ": " : "",
			 (int)(pr->ErrorMessage.p ? pr->ErrorMessage.len : 0),
			 pr->ErrorMessage.p ? (const char *)pr->ErrorMessage.p : "");
		if (ferry_uring_txn_produce_error(ur, e->part, err, msg))
			return;
	}
	if (not_written_error(err)) {
		ur->st[FERRY_URING_ST_PRODUCE_RETRIES] += p->q_sent;
		p->gen++;
		p->q_sent = 0;
		p->draining = true;
		for (uint32_t k = 0; k < p->q_n; k++)
			slot(ur, p, k)->state = FERRY_UBATCH_QUEUED;
		if (ferry_uring_leader_error(err))
			ferry_uring_want_metadata(ur, (int)(b - ur->brokers), e->part, err);
		retry_later(ur, p);
		return;
	}
	if (unknown_outcome_error(err) || producer_state_error(err)) {
		/* a transactional producer cannot bump its epoch itself: only a duplicate
		 * reaches here, and reading back finds it */
		start_reconcile(ur, p, err, producer_state_error(err) && !ur->txn.on);
		return;
	}
	snprintf(msg, sizeof(msg), "Produce %.*s [%d]: %s%s%.*s", (int)p->topic_len, p->topic,
		 p->partition, ferry_err_name(err), pr->ErrorMessage.p ? ": " : "",
		 (int)(pr->ErrorMessage.p ? pr->ErrorMessage.len : 0),
		 pr->ErrorMessage.p ? (const char *)pr->ErrorMessage.p : "");
	stop_partition(ur, e->part, err, msg);
}

int
ferry_uring_produce_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
			   const struct ferry_ureq *rq, struct ferry_span body, char *err,
			   size_t errlen)
{
	struct ferry_kafka_produce_resp resp;
	bool answered[FERRY_UREQ_MAX_PARTS] = { false };
	struct ferry_arena a;
	int rc;

	ferry_arena_init(&a, ur->arena_mem, ur->arena_cap);
	rc = ferry_kafka_response_decode(body, rq->api, rq->ver, rq->corr, &a, &resp, err, errlen);
	if (rc < 0) {
		/* the request's outcome is unknown now: the connection closes and
		 * ferry_uring_produce_lost() reconciles these partitions */
		return rc;
	}
	for (int32_t t = 0; t < resp.n_topics; t++) {
		struct ferry_kafka_produce_resp_topic *rt = &resp.Responses[t];

		for (int32_t k = 0; k < rt->n_partitions; k++) {
			struct ferry_kafka_produce_resp_part *pr = &rt->PartitionResponses[k];

			for (unsigned i = 0; i < rq->n_parts; i++) {
				struct ferry_upart *q = &ur->parts[rq->parts[i].part];

				if (!answered[i] && q->partition == pr->Index &&
				    q->topic_len == rt->Name.len &&
				    memcmp(q->topic, rt->Name.p, rt->Name.len) == 0) {
					answered[i] = true;
					answer_part(ur, b, &rq->parts[i], pr);
					break;
				}
			}
		}
	}
	for (unsigned i = 0; i < rq->n_parts; i++) {
		struct ferry_upart *p = &ur->parts[rq->parts[i].part];

		if (answered[i] || p->kind != FERRY_UPART_PRODUCE)
			continue;
		/* a partition the answer does not mention: its outcome is unknown */
		if (p->inflight > 0)
			p->inflight--;
		start_reconcile(ur, p, FERRY_ERR__TRUNCATED, false);
	}
	return 0;
}

void
ferry_uring_produce_lost(struct ferry_uring *ur, struct ferry_ubroker *b,
			 const struct ferry_ureq *rq)
{
	(void)b;
	for (unsigned i = 0; i < rq->n_parts; i++) {
		struct ferry_upart *p = &ur->parts[rq->parts[i].part];

		if (p->kind != FERRY_UPART_PRODUCE)
			continue;
		switch (rq->kind) {
		case FERRY_UREQ_PRODUCE:
			if (p->inflight > 0)
				p->inflight--;
			/* sent, never answered: it may or may not be written */
			start_reconcile(ur, p, FERRY_ERR_NETWORK_EXCEPTION, false);
			break;
		case FERRY_UREQ_LIST_OFFSETS:
			if (p->gen != rq->parts[i].gen)
				break;
			if (p->pstate == FERRY_UPROD_INIT_LIST)
				p->pstate = FERRY_UPROD_INIT;
			else if (p->pstate == FERRY_UPROD_RECON_LIST)
				p->pstate = FERRY_UPROD_RECON_WAIT;
			break;
		case FERRY_UREQ_RECON_FETCH:
			p->recon_inflight = false;
			break;
		default:
			break;
		}
	}
}

/*
 * A new epoch for an idempotent partition after a producer-state error, sequences from 0.
 * An epoch cannot pass INT16_MAX: the partition then takes a new producer id (epoch 0)
 * from the next InitProducerId, as the Java producer resets its id (KIP-360); the
 * schedule asks for one because the shared id is no longer marked ready. Transactional
 * instances never come here: their coordinator hands out the new id (txn.c).
 */
static void
new_epoch(struct ferry_uring *ur, struct ferry_upart *p)
{
	p->next_seq = 0;
	if (p->epoch < INT16_MAX) {
		p->epoch++;
		return;
	}
	ur->st[FERRY_URING_ST_PRODUCER_ID_RESETS]++;
	if (p->pid == ur->pid)
		ur->pid_ready = false;
	p->pid = -1;
	p->epoch = -1;
}

/* Read-back done: report what is written, send the rest again. */
static void
finish_reconcile(struct ferry_uring *ur, int part)
{
	struct ferry_upart *p = &ur->parts[part];
	struct ferry_uring_event ev = { .type = FERRY_URING_EV_RECONCILED };
	uint32_t found = 0, k;
	char msg[160];

	while (found < p->q_n && slot(ur, p, found)->state == FERRY_UBATCH_FOUND)
		found++;
	for (k = found; k < p->q_n; k++) {
		if (slot(ur, p, k)->state == FERRY_UBATCH_FOUND) {
			snprintf(msg, sizeof(msg),
				 "reconcile %.*s [%d]: batch %u of the queue is written but batch "
				 "%u is not: order broken on the target",
				 (int)p->topic_len, p->topic, p->partition, k, found);
			stop_partition(ur, part, FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, msg);
			return;
		}
	}
	ur->st[FERRY_URING_ST_PRODUCE_RECONCILE_FOUND] += found;
	for (k = 0; k < found; k++)
		pop_written(ur, part, slot(ur, p, 0)->base_offset);
	if (p->recon_bump && p->q_n > 0) {
		/* the broker's producer state disagrees with ours: new epoch, sequences
		 * from 0 (an idempotent producer may bump its epoch itself, §5.1) */
		new_epoch(ur, p);
		for (k = 0; k < p->q_n; k++)
			slot(ur, p, k)->stamped = false;
	} else if (p->recon_bump) {
		new_epoch(ur, p);
	}
	for (k = 0; k < p->q_n; k++)
		slot(ur, p, k)->state = FERRY_UBATCH_QUEUED;
	p->pstate = FERRY_UPROD_READY;
	p->recon_bump = false;
	p->q_sent = 0;
	p->gen++;
	ev.u.pstate.part = part;
	ev.u.pstate.cookie = p->cookie;
	ev.u.pstate.err = p->recon_err;
	ev.u.pstate.target_end = p->recon_end;
	ev.u.pstate.found = found;
	ev.u.pstate.resent = p->q_n;
	ferry_uring_emit(ur, &ev);
}

int
ferry_uring_produce_list_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
				const struct ferry_ureq *rq,
				const struct ferry_kafka_list_offsets_resp *resp)
{
	int part = rq->parts[0].part;
	struct ferry_upart *p = &ur->parts[part];
	const struct ferry_kafka_list_offsets_resp_partition *lp = NULL;

	if (p->kind != FERRY_UPART_PRODUCE || p->gen != rq->parts[0].gen)
		return 0;
	if (p->pstate != FERRY_UPROD_INIT_LIST && p->pstate != FERRY_UPROD_RECON_LIST)
		return 0;
	if (resp->n_topics > 0 && resp->Topics[0].n_partitions > 0)
		lp = &resp->Topics[0].Partitions[0];
	if (lp == NULL || lp->ErrorCode != 0 || lp->Offset < 0) {
		int e = lp ? lp->ErrorCode : FERRY_ERR_UNKNOWN_SERVER_ERROR;

		if (ferry_uring_leader_error(e))
			ferry_uring_want_metadata(ur, (int)(b - ur->brokers), part, e);
		p->pstate = p->pstate == FERRY_UPROD_INIT_LIST ? FERRY_UPROD_INIT
							       : FERRY_UPROD_RECON_WAIT;
		retry_later(ur, p);
		return 0;
	}
	if (p->pstate == FERRY_UPROD_INIT_LIST) {
		p->init_end = lp->Offset;
		p->pstate = FERRY_UPROD_READY;
		return 0;
	}
	p->recon_end = lp->Offset;
	p->recon_pos = p->last_acked >= 0 ? p->last_acked : p->init_end;
	p->pstate = FERRY_UPROD_RECON_FETCH;
	p->recon_inflight = false;
	if (p->recon_pos >= p->recon_end)
		finish_reconcile(ur, part);
	return 0;
}

/* Is this target batch one of ours still waiting for its outcome? */
static void
match_batch(struct ferry_uring *ur, struct ferry_upart *p, const struct ferry_kafka_batch *tb)
{
	for (uint32_t k = 0; k < p->q_n; k++) {
		struct ferry_ubatch *s = slot(ur, p, k);

		if (!s->stamped || s->state == FERRY_UBATCH_FOUND)
			continue;
		/* the CRC covers producer id/epoch/sequence and every record byte */
		if (ferry_be32(s->p + 17) != tb->hdr.CRC || s->count != tb->hdr.RecordsCount ||
		    s->pid != tb->hdr.ProducerId || s->epoch != tb->hdr.ProducerEpoch ||
		    s->seq != tb->hdr.BaseSequence || s->len != tb->bytes.len)
			continue;
		s->state = FERRY_UBATCH_FOUND;
		s->base_offset = tb->hdr.BaseOffset;
		return;
	}
}

int
ferry_uring_recon_fetch_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
			       const struct ferry_ureq *rq, struct ferry_span body, char *err,
			       size_t errlen)
{
	int part = rq->parts[0].part;
	struct ferry_upart *p = &ur->parts[part];
	struct ferry_kafka_fetch_resp resp;
	struct ferry_kafka_fetch_resp_part *pr = NULL;
	struct ferry_kafka_batch_iter it;
	struct ferry_kafka_batch tb;
	struct ferry_arena a;
	int64_t before;
	char msg[160];
	int rc, perr;

	ferry_arena_init(&a, ur->arena_mem, ur->arena_cap);
	rc = ferry_kafka_response_decode(body, rq->api, rq->ver, rq->corr, &a, &resp, err, errlen);
	if (p->kind != FERRY_UPART_PRODUCE)
		return rc < 0 ? rc : 0;
	p->recon_inflight = false;
	if (rc < 0)
		return rc;
	if (p->gen != rq->parts[0].gen || p->pstate != FERRY_UPROD_RECON_FETCH)
		return 0;
	if (resp.n_topics > 0 && resp.Responses[0].n_partitions > 0)
		pr = &resp.Responses[0].Partitions[0];
	perr = pr ? (pr->ErrorCode ? pr->ErrorCode : resp.ErrorCode) : FERRY_ERR__TRUNCATED;
	if (perr) {
		if (ferry_uring_leader_error(perr))
			ferry_uring_want_metadata(ur, (int)(b - ur->brokers), part, perr);
		if (perr == FERRY_ERR_OFFSET_OUT_OF_RANGE || ++p->recon_tries > 20) {
			snprintf(msg, sizeof(msg), "reconcile %.*s [%d]: cannot read the target at %lld: %s",
				 (int)p->topic_len, p->topic, p->partition,
				 (long long)p->recon_pos, ferry_err_name(perr));
			stop_partition(ur, part, perr, msg);
			return 0;
		}
		retry_later(ur, p);
		return 0;
	}
	before = p->recon_pos;
	ferry_kafka_batch_iter_init(&it, pr->Records);
	while ((rc = ferry_kafka_batch_next(&it, &tb)) == 1) {
		int64_t last = ferry_kafka_batch_last_offset(&tb.hdr);

		if (tb.hdr.BaseOffset < 0 || last < tb.hdr.BaseOffset || last == INT64_MAX)
			break;
		if (last < p->recon_pos)
			continue;
		match_batch(ur, p, &tb);
		p->recon_pos = last + 1;
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "reconcile %.*s [%d]: malformed batch at %lld on the target",
			 (int)p->topic_len, p->topic, p->partition, (long long)p->recon_pos);
		stop_partition(ur, part, rc, msg);
		return 0;
	}
	if (p->recon_pos >= p->recon_end || (pr->HighWatermark >= 0 && p->recon_pos >= pr->HighWatermark)) {
		finish_reconcile(ur, part);
		return 0;
	}
	if (p->recon_pos == before && ++p->recon_tries > 20) {
		snprintf(msg, sizeof(msg), "reconcile %.*s [%d]: no progress reading the target at %lld",
			 (int)p->topic_len, p->topic, p->partition, (long long)p->recon_pos);
		stop_partition(ur, part, FERRY_ERR__PARTIAL, msg);
	}
	return 0;
}
