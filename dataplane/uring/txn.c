/*
 * txn.c - transactions for the io_uring producer (KIP-98): the transaction
 * coordinator (FindCoordinator, key type 1), the transactional producer id
 * (InitProducerId with the transactional id, which fences older instances and
 * finishes their open transaction), AddPartitionsToTxn before a partition's
 * first batch in a transaction, and EndTxn once every batch is answered.
 *
 * Thread: the owner of the struct ferry_uring (@locality owner thread).
 * Owns: struct ferry_utxn (one transactional id per instance) and each
 * producer partition's txn_part. The batches stay in produce.c's queues;
 * produce.c asks ferry_uring_txn_can_send() before sending one and hands
 * Produce errors to ferry_uring_txn_produce_error() first.
 *
 * Error classes (Java TransactionManager, kafka-wire-facts §5.1, §9):
 *  - coordinator moved (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE): look it
 *    up again; busy (COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS):
 *    retry with capped exponential backoff; a lost connection: send again;
 *  - fencing (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH,
 *    TRANSACTION_COORDINATOR_FENCED) and authorization or state errors the
 *    coordinator cannot get over: FATAL for the instance;
 *  - a batch that cannot be written (a partition error, OUT_OF_ORDER_SEQUENCE,
 *    UNKNOWN_PRODUCER_ID, ...): the open transaction can only be aborted
 *    (ABORTABLE). When sequence numbers may have been used without reaching
 *    the log, the next InitProducerId after the abort passes the current
 *    id and epoch (KIP-360, v3+) so the coordinator bumps the epoch and the
 *    sequences restart at 0.
 *
 * Events are emitted from ferry_uring_poll() only: the public calls change
 * state and the next round acts on it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/kafka_group.h"
#include "uring_int.h"

/* Coordinator retries back off from backoff.min up to this (Java retry.backoff.max.ms is 1 s). */
#define TXN_BACKOFF_MAX_MS 1000
/*
 * AddPartitionsToTxn right after an EndTxn meets CONCURRENT_TRANSACTIONS until
 * the coordinator has written the markers; the Java producer retries that one
 * after 20 ms instead of its usual backoff, to keep back-to-back transactions fast.
 */
#define TXN_CONCURRENT_RETRY_MS 20

/* ---- state and events ---------------------------------------------------------------------- */

int
ferry_uring_txn_init(struct ferry_uring *ur, char *err, size_t errlen)
{
	struct ferry_utxn *t = &ur->txn;

	memset(t, 0, sizeof(*t));
	t->coord_id = -1;
	t->coord_bidx = -1;
	t->backoff_ms = ur->conf.backoff_min_ms;
	if (ur->conf.transactional_id == NULL)
		return 0;
	t->id = strdup(ur->conf.transactional_id);
	if (t->id == NULL) {
		snprintf(err, errlen, "uring: out of memory");
		return -ENOMEM;
	}
	/* the caller's string need not outlive ferry_uring_new() */
	ur->conf.transactional_id = t->id;
	t->on = true;
	t->need_pid = true;
	t->state = FERRY_UTXN_IDLE;
	return 0;
}

void
ferry_uring_txn_free(struct ferry_uring *ur)
{
	free(ur->txn.id);
	ur->txn.id = NULL;
}

static void
emit(struct ferry_uring *ur, enum ferry_uring_txn_result res, bool answers, uint64_t cookie,
     int err, const char *msg)
{
	struct ferry_uring_event ev = { .type = FERRY_URING_EV_TXN };

	ev.u.txn.result = res;
	ev.u.txn.answers_call = answers;
	ev.u.txn.cookie = answers ? cookie : 0;
	ev.u.txn.err = err;
	ev.u.txn.msg = err ? msg : NULL;
	ev.u.txn.producer_id = ur->pid;
	ev.u.txn.producer_epoch = ur->epoch;
	ev.u.txn.partitions = ur->txn.n_added;
	ferry_uring_emit(ur, &ev);
}

static bool
fencing_error(int err)
{
	return err == FERRY_ERR_PRODUCER_FENCED || err == FERRY_ERR_INVALID_PRODUCER_EPOCH ||
	       err == FERRY_ERR_TRANSACTION_COORDINATOR_FENCED;
}

static bool
coord_moved_error(int err)
{
	return err == FERRY_ERR_NOT_COORDINATOR || err == FERRY_ERR_COORDINATOR_NOT_AVAILABLE;
}

static bool
coord_busy_error(int err)
{
	return err == FERRY_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
	       err == FERRY_ERR_CONCURRENT_TRANSACTIONS || err == FERRY_ERR_REQUEST_TIMED_OUT;
}

static void
backoff(struct ferry_uring *ur)
{
	struct ferry_utxn *t = &ur->txn;

	ur->st[FERRY_URING_ST_TXN_RETRIES]++;
	t->retry_at_ns = ur->now_ns + (int64_t)t->backoff_ms * 1000000;
	t->backoff_ms =
	    t->backoff_ms * 2 > TXN_BACKOFF_MAX_MS ? TXN_BACKOFF_MAX_MS : t->backoff_ms * 2;
}

static void
backoff_reset(struct ferry_uring *ur)
{
	ur->txn.backoff_ms = ur->conf.backoff_min_ms;
	ur->txn.retry_at_ns = 0;
}

static void
coord_lost(struct ferry_uring *ur)
{
	ur->txn.coord_id = -1;
	ur->txn.coord_bidx = -1;
	ur->txn.coord_wait_ns = 0;
}

/*
 * Fatal for the instance: every producer partition stops (its queued batches
 * are reported with err), then each pending call gets its FATAL answer.
 */
static void txn_fatal(struct ferry_uring *ur, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
txn_fatal(struct ferry_uring *ur, int err, const char *fmt, ...)
{
	struct ferry_utxn *t = &ur->txn;
	bool answered = false;
	va_list ap;

	if (t->state == FERRY_UTXN_FATAL)
		return;
	t->state = FERRY_UTXN_FATAL;
	t->err = err;
	va_start(ap, fmt);
	vsnprintf(t->errmsg, sizeof(t->errmsg), fmt, ap);
	va_end(ap);
	for (unsigned i = 0; i < ur->n_parts; i++)
		if (ur->parts[i].kind == FERRY_UPART_PRODUCE)
			ferry_uring_produce_stop(ur, (int)i, err, t->errmsg);
	t->abort_due = false;
	if (t->commit_pending) {
		t->commit_pending = false;
		answered = true;
		emit(ur, FERRY_URING_TXN_FATAL, true, t->commit_cookie, err, t->errmsg);
	}
	if (t->abort_pending) {
		t->abort_pending = false;
		answered = true;
		emit(ur, FERRY_URING_TXN_FATAL, true, t->abort_cookie, err, t->errmsg);
	}
	if (!answered)
		emit(ur, FERRY_URING_TXN_FATAL, false, 0, err, t->errmsg);
}

/* The fencing message names the cause: another instance took the transactional id. */
static void
txn_fenced(struct ferry_uring *ur, int err, const char *where)
{
	txn_fatal(ur, err,
		  "transactional id '%s': %s: %s (another producer with this transactional id "
		  "started, or the coordinator aborted this one); this instance can no longer "
		  "produce",
		  ur->txn.id, where, ferry_err_name(err));
}

void
ferry_uring_txn_abortable(struct ferry_uring *ur, int err, const char *msg)
{
	struct ferry_utxn *t = &ur->txn;

	if (!t->on || (t->state != FERRY_UTXN_OPEN && t->state != FERRY_UTXN_COMMITTING))
		return;
	t->state = FERRY_UTXN_ABORTABLE;
	t->err = err;
	snprintf(t->errmsg, sizeof(t->errmsg), "transaction must be aborted: %s",
		 msg ? msg : ferry_err_name(err));
	/* emitted on the next round, after the delivery reports of this one */
	t->abort_due = true;
}

bool
ferry_uring_txn_can_send(const struct ferry_uring *ur, const struct ferry_upart *p)
{
	const struct ferry_utxn *t = &ur->txn;

	return (t->state == FERRY_UTXN_OPEN || t->state == FERRY_UTXN_COMMITTING) &&
	       p->txn_part == FERRY_UTXN_PART_ADDED && ur->pid_ready && !t->need_pid;
}

bool
ferry_uring_txn_produce_error(struct ferry_uring *ur, int part, int err, const char *msg)
{
	struct ferry_upart *p = &ur->parts[part];

	if (fencing_error(err)) {
		char where[300];

		snprintf(where, sizeof(where), "Produce %.*s [%d]", (int)p->topic_len, p->topic,
			 p->partition);
		txn_fenced(ur, err, where);
		return true;
	}
	if (err == FERRY_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED) {
		txn_fatal(ur, err, "transactional id '%s': %s", ur->txn.id, msg);
		return true;
	}
	if (err == FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER || err == FERRY_ERR_UNKNOWN_PRODUCER_ID ||
	    err == FERRY_ERR_INVALID_TXN_STATE || err == FERRY_ERR_INVALID_PRODUCER_ID_MAPPING) {
		/* The broker's producer state disagrees with ours; a transactional producer
		 * cannot re-sequence by itself: report the partition's batches, abort, and
		 * get a new epoch afterwards. Answers still in flight are from now on of an
		 * older generation and ignored. */
		ferry_uring_txn_abortable(ur, err, msg);
		ur->txn.bump_after = true;
		p->gen++;
		p->q_sent = 0;
		p->draining = false;
		ferry_uring_produce_purge(ur, part, err, msg);
		return true;
	}
	return false;
}

/* ---- requests -------------------------------------------------------------------------------- */

/* The coordinator's connection if it is up; asks for it (and notices a dead one) otherwise. */
static struct ferry_ubroker *
coordinator(struct ferry_uring *ur)
{
	struct ferry_utxn *t = &ur->txn;
	struct ferry_ubroker *b;

	if (t->coord_bidx < 0)
		return NULL;
	b = &ur->brokers[t->coord_bidx];
	if (!b->used || b->node_id != t->coord_id) {
		coord_lost(ur);
		return NULL;
	}
	b->want = true;
	if (b->state == FERRY_UCONN_UP) {
		t->coord_wait_ns = 0;
		return b;
	}
	/* unreachable for longer than a request may take: it may have moved, ask again */
	if (t->coord_wait_ns == 0)
		t->coord_wait_ns = ur->now_ns;
	else if (ur->now_ns - t->coord_wait_ns > (int64_t)ur->conf.request_timeout_ms * 1000000)
		coord_lost(ur);
	return NULL;
}

static void
send_find_coordinator(struct ferry_uring *ur)
{
	struct ferry_utxn *t = &ur->txn;
	struct ferry_kafka_find_coordinator_req req;
	struct ferry_ubroker *b = NULL;
	struct ferry_ureq *rq;

	if (t->coord_inflight || ur->now_ns < t->retry_at_ns)
		return;
	for (unsigned i = 0; i < ur->n_brokers && b == NULL; i++)
		if (ur->brokers[i].used && ur->brokers[i].state == FERRY_UCONN_UP)
			b = &ur->brokers[i];
	if (b == NULL) {
		bool any = false;

		/* nobody to ask yet: connect to every known broker (any of them answers) */
		for (unsigned i = 0; i < ur->n_brokers; i++) {
			if (ur->brokers[i].used) {
				ur->brokers[i].want = true;
				any = true;
			}
		}
		if (!any) {
			ferry_uring_want_metadata(ur, -1, -1, FERRY_ERR_COORDINATOR_NOT_AVAILABLE);
			t->retry_at_ns = ur->now_ns + INT64_C(1000000000);
		}
		return;
	}
	/* KeyType (transaction = 1) exists from v1 on */
	if (b->coord_ver < 1) {
		txn_fatal(ur, FERRY_ERR__NO_COMMON_VERSION,
			  "%s: no FindCoordinator version with transaction coordinators (v1+)",
			  b->name);
		return;
	}
	rq = ferry_uring_req_new(ur, b, FERRY_UREQ_FIND_COORD, FERRY_KAFKA_FIND_COORDINATOR,
				 b->coord_ver, ur->conf.request_timeout_ms);
	if (rq == NULL)
		return;
	memset(&req, 0, sizeof(req));
	req.Key = ferry_span_str(t->id);
	req.KeyType = FERRY_KAFKA_COORD_TRANSACTION;
	if (ferry_uring_req_send(ur, b, rq, &req) == 0)
		t->coord_inflight = true;
}

static void
send_init_pid(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	struct ferry_utxn *t = &ur->txn;
	struct ferry_kafka_init_producer_id_req req;
	struct ferry_ureq *rq;

	if (t->pid_inflight || ur->now_ns < t->retry_at_ns)
		return;
	if (b->pid_ver < 0) {
		txn_fatal(ur, FERRY_ERR__NO_COMMON_VERSION, "%s: no InitProducerId version",
			  b->name);
		return;
	}
	rq = ferry_uring_req_new(ur, b, FERRY_UREQ_INIT_PID, FERRY_KAFKA_INIT_PRODUCER_ID,
				 b->pid_ver, ur->conf.request_timeout_ms);
	if (rq == NULL)
		return;
	ferry_kafka_init_producer_id_req_init(&req);
	req.TransactionalId = ferry_span_str(t->id);
	req.TransactionTimeoutMs = ur->conf.transaction_timeout_ms;
	/* KIP-360: with the current id/epoch the coordinator bumps our epoch, or answers
	 * PRODUCER_FENCED if another instance took over meanwhile (v3+) */
	if (t->bump && b->pid_ver >= 3 && ur->pid >= 0) {
		req.ProducerId = ur->pid;
		req.ProducerEpoch = ur->epoch;
	}
	if (ferry_uring_req_send(ur, b, rq, &req) == 0)
		t->pid_inflight = true;
}

/* Partitions with batches that are not in the transaction yet, in one request. */
static void
send_add_partitions(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	struct ferry_utxn *t = &ur->txn;
	struct ferry_kafka_add_partitions_to_txn_topic topics[FERRY_UREQ_MAX_PARTS];
	struct ferry_ureq_part sorted[FERRY_UREQ_MAX_PARTS];
	int32_t pidx[FERRY_UREQ_MAX_PARTS];
	struct ferry_kafka_add_partitions_to_txn_req req;
	struct ferry_ureq *rq;
	unsigned n = 0, nt = 0;

	if (t->add_inflight || ur->now_ns < t->retry_at_ns)
		return;
	if (b->addp_ver < 0) {
		txn_fatal(ur, FERRY_ERR__NO_COMMON_VERSION, "%s: no AddPartitionsToTxn version",
			  b->name);
		return;
	}
	rq = ferry_uring_req_new(ur, b, FERRY_UREQ_ADD_PARTS, FERRY_KAFKA_ADD_PARTITIONS_TO_TXN,
				 b->addp_ver, ur->conf.request_timeout_ms);
	if (rq == NULL)
		return;
	for (unsigned i = 0; i < ur->n_parts && rq->n_parts < FERRY_UREQ_MAX_PARTS; i++) {
		struct ferry_upart *p = &ur->parts[i];

		if (p->kind != FERRY_UPART_PRODUCE || p->pstate == FERRY_UPROD_STOPPED ||
		    p->q_n == 0 || p->txn_part != FERRY_UTXN_PART_NONE)
			continue;
		rq->parts[rq->n_parts].part = (int)i;
		rq->parts[rq->n_parts].gen = p->gen;
		rq->parts[rq->n_parts].offset = 0;
		rq->n_parts++;
	}
	if (rq->n_parts == 0) {
		ferry_uring_req_abort(b, rq);
		return;
	}
	/* one entry per topic, its partitions adjacent in pidx[] (and in rq->parts) */
	for (unsigned i = 0; i < rq->n_parts; i++) {
		const struct ferry_upart *p = &ur->parts[rq->parts[i].part];
		bool seen = false;

		for (unsigned k = 0; k < nt && !seen; k++)
			seen = topics[k].Name.len == p->topic_len &&
			       memcmp(topics[k].Name.p, p->topic, p->topic_len) == 0;
		if (seen)
			continue;
		topics[nt].Name = ferry_span_make(p->topic, p->topic_len);
		topics[nt].Partitions = &pidx[n];
		topics[nt].n_partitions = 0;
		for (unsigned j = i; j < rq->n_parts; j++) {
			const struct ferry_upart *q = &ur->parts[rq->parts[j].part];

			if (q->topic_len != p->topic_len ||
			    memcmp(q->topic, p->topic, p->topic_len) != 0)
				continue;
			pidx[n] = q->partition;
			sorted[n++] = rq->parts[j];
			topics[nt].n_partitions++;
		}
		nt++;
	}
	memcpy(rq->parts, sorted, n * sizeof(sorted[0]));
	req.TransactionalId = ferry_span_str(t->id);
	req.ProducerId = ur->pid;
	req.ProducerEpoch = ur->epoch;
	req.n_topics = (int32_t)nt;
	req.Topics = topics;
	if (ferry_uring_req_send(ur, b, rq, &req) != 0)
		return;
	t->add_inflight = true;
	for (unsigned i = 0; i < n; i++)
		ur->parts[sorted[i].part].txn_part = FERRY_UTXN_PART_ADDING;
}

static void
send_end_txn(struct ferry_uring *ur, struct ferry_ubroker *b, bool commit)
{
	struct ferry_utxn *t = &ur->txn;
	struct ferry_kafka_end_txn_req req;
	struct ferry_ureq *rq;

	if (t->end_inflight || ur->now_ns < t->retry_at_ns)
		return;
	if (b->endtxn_ver < 0) {
		txn_fatal(ur, FERRY_ERR__NO_COMMON_VERSION, "%s: no EndTxn version", b->name);
		return;
	}
	rq = ferry_uring_req_new(ur, b, FERRY_UREQ_END_TXN, FERRY_KAFKA_END_TXN, b->endtxn_ver,
				 ur->conf.request_timeout_ms);
	if (rq == NULL)
		return;
	req.TransactionalId = ferry_span_str(t->id);
	req.ProducerId = ur->pid;
	req.ProducerEpoch = ur->epoch;
	req.Committed = commit;
	if (ferry_uring_req_send(ur, b, rq, &req) == 0)
		t->end_inflight = true;
}

/* ---- ending a transaction -------------------------------------------------------------------- */

/* Every batch of the transaction answered (commit) / nothing in flight any more (abort)? */
static bool
ready_to_end(const struct ferry_uring *ur, bool commit)
{
	const struct ferry_utxn *t = &ur->txn;

	if (t->add_inflight || t->end_inflight)
		return false;
	for (unsigned i = 0; i < ur->n_parts; i++) {
		const struct ferry_upart *p = &ur->parts[i];

		if (p->kind != FERRY_UPART_PRODUCE)
			continue;
		if (commit ? (p->pstate != FERRY_UPROD_STOPPED && p->q_n > 0) : p->inflight > 0)
			return false;
	}
	return true;
}

/* EndTxn accepted, or nothing was added: close the transaction and say so. */
static void
end_done(struct ferry_uring *ur, bool commit)
{
	struct ferry_utxn *t = &ur->txn;
	bool unknown_seq = false;
	uint64_t cookie;
	bool answers;

	for (unsigned i = 0; i < ur->n_parts; i++) {
		struct ferry_upart *p = &ur->parts[i];

		if (p->kind != FERRY_UPART_PRODUCE)
			continue;
		p->txn_part = FERRY_UTXN_PART_NONE;
		if (!commit && p->pstate == FERRY_UPROD_STOPPED && p->txn_stopped &&
		    t->state != FERRY_UTXN_FATAL) {
			/* stopped by a batch error of this transaction: what it held was
			 * reported; its sequences were spent, so the new epoch below */
			p->pstate = FERRY_UPROD_READY;
			p->txn_stopped = false;
			unknown_seq = true;
		}
		if (commit || p->pstate == FERRY_UPROD_STOPPED)
			continue;
		/* aborted: what was not written goes back to the owner; a reconcile under way
		 * no longer matters (its answers become of an older generation) */
		if (p->pstate >= FERRY_UPROD_RECON_WAIT && p->pstate <= FERRY_UPROD_RECON_FETCH)
			p->pstate = FERRY_UPROD_READY;
		p->gen++;
		p->q_sent = 0;
		p->draining = false;
		p->recon_bump = false;
		unknown_seq |=
		    ferry_uring_produce_purge(ur, (int)i, FERRY_ERR_OPERATION_NOT_ATTEMPTED,
					      "transaction aborted before this batch was written");
	}
	if (!commit && (unknown_seq || t->bump_after)) {
		/* sequence numbers were spent without reaching the log: new epoch first */
		t->need_pid = true;
		t->bump = true;
	}
	t->bump_after = false;
	ur->st[commit ? FERRY_URING_ST_TXN_COMMITS : FERRY_URING_ST_TXN_ABORTS]++;
	answers = commit ? t->commit_pending : t->abort_pending;
	cookie = commit ? t->commit_cookie : t->abort_cookie;
	t->commit_pending = t->abort_pending = false;
	t->state = FERRY_UTXN_IDLE;
	t->err = 0;
	emit(ur, commit ? FERRY_URING_TXN_COMMITTED : FERRY_URING_TXN_ABORTED, answers, cookie, 0,
	     NULL);
	t->n_added = 0;
}

/* ---- scheduling ----------------------------------------------------------------------------- */

void
ferry_uring_txn_schedule(struct ferry_uring *ur)
{
	struct ferry_utxn *t = &ur->txn;
	struct ferry_ubroker *cb;

	if (t->state == FERRY_UTXN_FATAL)
		return;
	if (t->abort_due) {
		bool answers = t->commit_pending;

		/* (no news for an owner that already called abort, unless a commit waits) */
		t->abort_due = false;
		t->commit_pending = false;
		if (answers || t->state == FERRY_UTXN_ABORTABLE)
			emit(ur, FERRY_URING_TXN_ABORT_REQUIRED, answers, t->commit_cookie, t->err,
			     t->errmsg);
	}
	/* nothing was added (so nothing written): no coordinator needed to end it */
	if ((t->state == FERRY_UTXN_COMMITTING || t->state == FERRY_UTXN_ABORTING) &&
	    t->n_added == 0 && ready_to_end(ur, t->state == FERRY_UTXN_COMMITTING)) {
		end_done(ur, t->state == FERRY_UTXN_COMMITTING);
		return;
	}
	cb = coordinator(ur);
	if (cb == NULL) {
		send_find_coordinator(ur);
		return;
	}
	if (t->need_pid) {
		/* only between transactions (or before anything was added to the first one) */
		if (t->n_added == 0 && !t->add_inflight && !t->end_inflight)
			send_init_pid(ur, cb);
		return;
	}
	if (!ur->pid_ready)
		return;
	switch (t->state) {
	case FERRY_UTXN_OPEN:
		send_add_partitions(ur, cb);
		break;
	case FERRY_UTXN_COMMITTING:
		send_add_partitions(ur, cb);
		if (t->state == FERRY_UTXN_COMMITTING && ready_to_end(ur, true))
			send_end_txn(ur, cb, true);
		break;
	case FERRY_UTXN_ABORTING:
		if (ready_to_end(ur, false))
			send_end_txn(ur, cb, false);
		break;
	default:
		break;
	}
}

/* ---- answers ------------------------------------------------------------------------------- */

static int
find_coordinator_answer(struct ferry_uring *ur, const struct ferry_kafka_find_coordinator_resp *r)
{
	struct ferry_utxn *t = &ur->txn;
	char host[256], err[256];
	int idx;

	if (r->ErrorCode != 0) {
		if (r->ErrorCode == FERRY_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
		    r->ErrorCode == FERRY_ERR_CLUSTER_AUTHORIZATION_FAILED) {
			txn_fatal(ur, r->ErrorCode, "transactional id '%s': FindCoordinator: %s",
				  t->id, ferry_err_name(r->ErrorCode));
			return 0;
		}
		backoff(ur);
		return 0;
	}
	if (r->NodeId < 0 || r->Port <= 0 || r->Port > 65535 || r->Host.len >= sizeof(host)) {
		backoff(ur);
		return 0;
	}
	idx = ferry_uring_broker_idx(ur, r->NodeId);
	if (idx < 0) {
		/* a broker the control plane did not give us: use its address if numeric,
		 * else ask for metadata (names are resolved there, not on this loop) */
		memcpy(host, r->Host.p, r->Host.len);
		host[r->Host.len] = '\0';
		if (ferry_uring_broker_set_numeric(ur, r->NodeId, host, (uint16_t)r->Port, err,
						   sizeof(err)) != 0) {
			ferry_uring_want_metadata(ur, -1, -1, FERRY_ERR_NOT_COORDINATOR);
			backoff(ur);
			return 0;
		}
		idx = ferry_uring_broker_idx(ur, r->NodeId);
	}
	t->coord_id = r->NodeId;
	t->coord_bidx = idx;
	t->coord_wait_ns = 0;
	ur->brokers[idx].want = true;
	backoff_reset(ur);
	return 0;
}

static int
init_pid_answer(struct ferry_uring *ur, const struct ferry_kafka_init_producer_id_resp *r)
{
	struct ferry_utxn *t = &ur->txn;
	int e = r->ErrorCode;

	if (e == 0 && r->ProducerId >= 0) {
		ur->pid = r->ProducerId;
		ur->epoch = r->ProducerEpoch;
		ur->pid_ready = true;
		t->need_pid = false;
		t->bump = false;
		/* every partition takes the new id/epoch with sequences from 0 */
		for (unsigned i = 0; i < ur->n_parts; i++)
			if (ur->parts[i].kind == FERRY_UPART_PRODUCE)
				ur->parts[i].pid = -1;
		backoff_reset(ur);
		return 0;
	}
	if (e == 0)
		e = FERRY_ERR_UNKNOWN_SERVER_ERROR;
	if (coord_moved_error(e)) {
		coord_lost(ur);
		backoff(ur);
	} else if (coord_busy_error(e)) {
		/* CONCURRENT_TRANSACTIONS: the coordinator is still finishing the transaction
		 * of the instance we fence */
		backoff(ur);
	} else if (fencing_error(e)) {
		txn_fenced(ur, e, "InitProducerId");
	} else {
		/* authorization, INVALID_TRANSACTION_TIMEOUT, ...: retrying changes nothing */
		txn_fatal(ur, e, "transactional id '%s': InitProducerId: %s", t->id,
			  ferry_err_name(e));
	}
	return 0;
}

static int
add_partitions_answer(struct ferry_uring *ur, const struct ferry_ureq *rq,
		      const struct ferry_kafka_add_partitions_to_txn_resp *r)
{
	struct ferry_utxn *t = &ur->txn;
	bool answered[FERRY_UREQ_MAX_PARTS] = { false };
	bool retry = false, moved = false, concurrent = false;
	int fatal = 0;
	char msg[256];

	ur->st[FERRY_URING_ST_TXN_ADD_PARTITIONS]++;
	for (int32_t ti = 0; ti < r->n_results; ti++) {
		const struct ferry_kafka_add_partitions_to_txn_topic_result *tr = &r->Results[ti];

		for (int32_t k = 0; k < tr->n_results; k++) {
			const struct ferry_kafka_add_partitions_to_txn_partition_result *pr =
			    &tr->Results[k];

			for (unsigned i = 0; i < rq->n_parts; i++) {
				int part = rq->parts[i].part;
				struct ferry_upart *p = &ur->parts[part];
				int e = pr->ErrorCode;

				if (answered[i] || p->partition != pr->PartitionIndex ||
				    p->topic_len != tr->Name.len ||
				    memcmp(p->topic, tr->Name.p, tr->Name.len) != 0)
					continue;
				answered[i] = true;
				if (p->kind != FERRY_UPART_PRODUCE ||
				    p->txn_part != FERRY_UTXN_PART_ADDING)
					break;
				if (e == 0) {
					p->txn_part = FERRY_UTXN_PART_ADDED;
					t->n_added++;
					break;
				}
				p->txn_part = FERRY_UTXN_PART_NONE;
				if (e == FERRY_ERR_CONCURRENT_TRANSACTIONS) {
					concurrent = true;
				} else if (e == FERRY_ERR_OPERATION_NOT_ATTEMPTED ||
					   coord_busy_error(e) ||
					   e == FERRY_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
					/* another partition of the request failed, or not yet */
					retry = true;
				} else if (coord_moved_error(e)) {
					moved = true;
				} else if (fencing_error(e) ||
					   e == FERRY_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED) {
					fatal = e;
				} else {
					/* TOPIC_AUTHORIZATION_FAILED, INVALID_TXN_STATE, ...: these
					 * batches cannot be written in this transaction */
					snprintf(msg, sizeof(msg),
						 "AddPartitionsToTxn %.*s [%d]: %s",
						 (int)p->topic_len, p->topic, p->partition,
						 ferry_err_name(e));
					ferry_uring_txn_abortable(ur, e, msg);
					ferry_uring_produce_purge(ur, part, e, msg);
				}
				break;
			}
		}
	}
	/* partitions the answer does not mention: ask again */
	for (unsigned i = 0; i < rq->n_parts; i++) {
		struct ferry_upart *p = &ur->parts[rq->parts[i].part];

		if (!answered[i] && p->kind == FERRY_UPART_PRODUCE &&
		    p->txn_part == FERRY_UTXN_PART_ADDING) {
			p->txn_part = FERRY_UTXN_PART_NONE;
			retry = true;
		}
	}
	if (fatal) {
		txn_fenced(ur, fatal, "AddPartitionsToTxn");
		return 0;
	}
	if (moved)
		coord_lost(ur);
	if (moved || retry) {
		backoff(ur);
	} else if (concurrent) {
		ur->st[FERRY_URING_ST_TXN_RETRIES]++;
		t->retry_at_ns = ur->now_ns + (int64_t)TXN_CONCURRENT_RETRY_MS * 1000000;
	} else {
		backoff_reset(ur);
	}
	return 0;
}

static int
end_txn_answer(struct ferry_uring *ur, const struct ferry_kafka_end_txn_resp *r)
{
	struct ferry_utxn *t = &ur->txn;
	bool commit = t->state == FERRY_UTXN_COMMITTING;
	int e = r->ErrorCode;

	if (t->state != FERRY_UTXN_COMMITTING && t->state != FERRY_UTXN_ABORTING)
		return 0;
	if (e == 0) {
		backoff_reset(ur);
		end_done(ur, commit);
		return 0;
	}
	if (coord_moved_error(e)) {
		coord_lost(ur);
		backoff(ur);
	} else if (coord_busy_error(e)) {
		backoff(ur);
	} else if (fencing_error(e)) {
		txn_fenced(ur, e, commit ? "EndTxn(commit)" : "EndTxn(abort)");
	} else {
		txn_fatal(ur, e, "transactional id '%s': EndTxn(%s): %s", t->id,
			  commit ? "commit" : "abort", ferry_err_name(e));
	}
	return 0;
}

int
ferry_uring_txn_answer(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq *rq,
		       struct ferry_span body, char *err, size_t errlen)
{
	union {
		struct ferry_kafka_find_coordinator_resp fc;
		struct ferry_kafka_init_producer_id_resp ip;
		struct ferry_kafka_add_partitions_to_txn_resp ap;
		struct ferry_kafka_end_txn_resp et;
	} resp;
	struct ferry_utxn *t = &ur->txn;
	struct ferry_arena a;
	int rc;

	(void)b;
	ferry_arena_init(&a, ur->arena_mem, ur->arena_cap);
	rc = ferry_kafka_response_decode(body, rq->api, rq->ver, rq->corr, &a, &resp, err, errlen);
	if (rc < 0)
		return rc; /* the connection closes; ferry_uring_txn_lost() resets the request */
	switch (rq->kind) {
	case FERRY_UREQ_FIND_COORD:
		t->coord_inflight = false;
		if (t->state == FERRY_UTXN_FATAL)
			return 0;
		return find_coordinator_answer(ur, &resp.fc);
	case FERRY_UREQ_INIT_PID:
		t->pid_inflight = false;
		if (t->state == FERRY_UTXN_FATAL)
			return 0;
		return init_pid_answer(ur, &resp.ip);
	case FERRY_UREQ_ADD_PARTS:
		t->add_inflight = false;
		if (t->state == FERRY_UTXN_FATAL)
			return 0;
		return add_partitions_answer(ur, rq, &resp.ap);
	case FERRY_UREQ_END_TXN:
		t->end_inflight = false;
		if (t->state == FERRY_UTXN_FATAL)
			return 0;
		return end_txn_answer(ur, &resp.et);
	default:
		return 0;
	}
}

void
ferry_uring_txn_lost(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq *rq)
{
	struct ferry_utxn *t = &ur->txn;

	(void)b;
	switch (rq->kind) {
	case FERRY_UREQ_FIND_COORD:
		t->coord_inflight = false;
		break;
	case FERRY_UREQ_INIT_PID:
		t->pid_inflight = false;
		break;
	case FERRY_UREQ_ADD_PARTS:
		/* the coordinator may have added them: adding again is harmless */
		t->add_inflight = false;
		for (unsigned i = 0; i < rq->n_parts; i++) {
			struct ferry_upart *p = &ur->parts[rq->parts[i].part];

			if (p->kind == FERRY_UPART_PRODUCE && p->txn_part == FERRY_UTXN_PART_ADDING)
				p->txn_part = FERRY_UTXN_PART_NONE;
		}
		break;
	case FERRY_UREQ_END_TXN:
		/* sent again; a coordinator that already completed it answers the retry */
		t->end_inflight = false;
		break;
	default:
		break;
	}
}

/* ---- public calls ---------------------------------------------------------------------------- */

int
ferry_uring_txn_begin(struct ferry_uring *ur)
{
	struct ferry_utxn *t = &ur->txn;

	if (!t->on)
		return -EINVAL;
	switch (t->state) {
	case FERRY_UTXN_IDLE:
		t->state = FERRY_UTXN_OPEN;
		t->n_added = 0;
		t->err = 0;
		t->errmsg[0] = '\0';
		return 0;
	case FERRY_UTXN_OPEN:
	case FERRY_UTXN_ABORTABLE:
		return -EALREADY;
	case FERRY_UTXN_FATAL:
		return -EPIPE;
	default:
		return -EBUSY;
	}
}

int
ferry_uring_txn_commit(struct ferry_uring *ur, uint64_t cookie)
{
	struct ferry_utxn *t = &ur->txn;

	if (!t->on)
		return -EINVAL;
	switch (t->state) {
	case FERRY_UTXN_OPEN:
		t->state = FERRY_UTXN_COMMITTING;
		t->commit_pending = true;
		t->commit_cookie = cookie;
		return 0;
	case FERRY_UTXN_IDLE:
		return -ENOTCONN;
	case FERRY_UTXN_ABORTABLE:
		return -ECANCELED;
	case FERRY_UTXN_FATAL:
		return -EPIPE;
	default:
		return -EBUSY;
	}
}

int
ferry_uring_txn_abort(struct ferry_uring *ur, uint64_t cookie)
{
	struct ferry_utxn *t = &ur->txn;

	if (!t->on)
		return -EINVAL;
	switch (t->state) {
	case FERRY_UTXN_OPEN:
	case FERRY_UTXN_ABORTABLE:
		/* a doomed commit still gets its ABORT_REQUIRED answer (abort_due) first */
		t->state = FERRY_UTXN_ABORTING;
		t->abort_pending = true;
		t->abort_cookie = cookie;
		return 0;
	case FERRY_UTXN_IDLE:
		return -ENOTCONN;
	case FERRY_UTXN_FATAL:
		return -EPIPE;
	default:
		return -EBUSY;
	}
}
