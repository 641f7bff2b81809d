/*
 * io.c - ferryd's io lcore: the broker side of the data path (DESIGN §2).
 *
 * Source role: pipelined Fetch over io_uring; per batch: CRC32C check (a bad batch stops its
 * partition with an alarm naming topic, partition and offset), the policy (deny / mask /
 * tokenise / drop / quarantine), then the batch and its descriptor are copied into a slot and
 * handed to the WAN worker that serves the partition's lane. A slot comes back when the peer
 * acknowledged every packet of it. When slots or WAN rings run out, the fetch answer is held
 * (its buffer reference kept) and the partition paused: back-pressure reaches the broker.
 *
 * Target role: whole batches from the WAN workers are copied into slots (the lane is released
 * at once) and produced, idempotent, to the remote topic. A batch whose source offsets were
 * already accepted (the source resends after a restart) is skipped. Written slots go to the
 * control thread in per-partition order; it writes the offset-syncs and commits back.
 *
 * Sessions: the io lcore never touches the WAN workers unless the session is UP. When control
 * asks it to park (peer lost), a source drops what was in flight and rewinds every partition
 * to its committed position at the next UP; a target keeps writing what it accepted.
 *
 * This lcore owns: the io_uring (ferry_uring), the policy worker, the slots it holds, the
 * partitions' io fields. Policy runs here (not on the WAN workers as DESIGN §5 draws it): with
 * one io lcore per set of partitions the scan scales with io lcores, and a WAN worker stays a
 * pure packet loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "ferry/common.h"
#include "ferry/kafka.h"
#include "ferryd.h"

#define DONE_BURST 32
#define RECV_BURST 16
/* Exactly-once: a transaction closes after this long (Kafka Streams' EOS commit.interval.ms
 * default), or earlier when half the slots are in it: every close costs a round of
 * AddPartitionsToTxn/EndTxn, every ms open is latency before the COMMIT. */
#define TXN_MS 100
#define SYNCS_COOKIE UINT64_MAX

/* State private to the io lcore. */
struct io {
	struct ferryd *fd;
	uint32_t gen;   /* session generation seen */
	int state;      /* session state seen */
	struct ferry_policy_worker *pw;
	/* target: a WAN delivery that found no slot or a full produce queue */
	bool held;
	uint16_t held_q;
	struct ferry_wan_dp_delivery held_d;
	uint32_t idle;
	bool drained; /* source: fetches paused for the stop */
	uint32_t drops[FERRYD_DESC_DROPS_MAX];
	/* exactly-once (target): the transaction this lcore has open, see ferryd_txn_phase */
	bool txn_open;      /* begun */
	bool txn_closing;   /* nothing more goes into it */
	bool txn_ending;    /* commit or abort asked, its EV_TXN not yet seen */
	bool txn_aborted;   /* its abort completed: hand it to control once flushed */
	bool txn_hold;      /* aborted: nothing is accepted until the next session (the source
			     * rewinds to its last COMMIT; what is in the lanes now is stale) */
	int64_t txn_t0;     /* ms its first slot came */
	uint32_t txn_slots; /* slots accepted into it */
	int sync_uh;        /* producer handle of the offset-syncs partition, -1 until used */
	int32_t sync_leader;
	int64_t sync_wait_ms; /* since when a commit waits for that leader (0: not waiting) */
};

static struct io io_state;

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
extern struct rte_rcu_qsbr *ferryd_qsbr;
struct rte_rcu_qsbr *ferryd_qsbr;

const char *
ferryd_ctr_name(enum ferryd_ctr c)
{
	static const char *const n[] = {
#define FERRYD_CTR_NAME(n, t, h) #n,
		FERRYD_FOREACH_CTR(FERRYD_CTR_NAME)
#undef FERRYD_CTR_NAME
	};
	return c < FERRYD_CTR__MAX ? n[c] : "?";
}

const char *
ferryd_ctr_help(enum ferryd_ctr c)
{
	static const char *const h[] = {
#define FERRYD_CTR_HELP(n, t, h) h,
		FERRYD_FOREACH_CTR(FERRYD_CTR_HELP)
#undef FERRYD_CTR_HELP
	};
	return c < FERRYD_CTR__MAX ? h[c] : "?";
}

void
ferryd_log(const struct ferryd *fd, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	struct timespec ts;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "ferryd[%s] %lld.%03ld %s\n", fd->role == FERRYD_SOURCE ? "source" : "target",
		(long long)ts.tv_sec, ts.tv_nsec / 1000000, line);
}

int
ferryd_part_find(const struct ferryd *fd, const char *topic, size_t topic_len, int32_t partition)
{
	uint32_t n = atomic_load_explicit(&fd->n_parts, memory_order_acquire);

	for (uint32_t i = 0; i < n; i++) {
		const struct ferryd_part *p = &fd->parts[i];
		if (p->partition == partition && p->topic_len == topic_len &&
		    memcmp(p->topic, topic, topic_len) == 0)
			return (int)i;
	}
	return -1;
}

static void
part_alarm(struct io *io, struct ferryd_part *p, const char *what, int64_t offset)
{
	if (!p->stopped) {
		p->stopped = true;
		ferryd_count(io->fd, FERRYD_CTR_partitions_stopped, 1);
	}
	ferryd_log(io->fd, "ALARM partition %s-%d stopped at offset %" PRId64 ": %s", p->topic,
		   p->partition, offset, what);
}

/* ---- source ---------------------------------------------------------------------------- */

static int
slot_get(struct ferryd *fd)
{
	uint32_t i;

	if (rte_ring_sc_dequeue_elem(fd->slot_free, &i, sizeof(i)) != 0)
		return -1;
	return (int)i;
}

static void
slot_put(struct ferryd *fd, uint32_t i)
{
	rte_ring_enqueue_elem(fd->slot_free, &i, sizeof(i));
}

/* Put one batch on its way. 0 sent (or skipped / stopped: consumed), -EAGAIN no capacity. */
static int
src_batch(struct io *io, int pi, const struct ferry_kafka_batch *b)
{
	struct ferryd *fd = io->fd;
	struct ferryd_part *p = &fd->parts[pi];
	int64_t first = b->hdr.BaseOffset, last = ferry_kafka_batch_last_offset(&b->hdr);
	struct ferry_policy_result res = { .kind = FERRY_POLICY_RES_UNCHANGED };
	const struct ferry_policy_rt *rt;
	const uint8_t *out;
	size_t out_len;
	struct ferryd_desc d;
	struct ferry_wan_dp *dp;
	uint32_t n_drops = 0;
	bool exact = true;
	int si, rc;

	if (p->stopped)
		return 0;
	if (last < p->sent_next)
		return 0; /* already sent in this session (an answer from before a seek) */
	dp = fd->dps[p->lane % fd->nqueues];
	si = slot_get(fd);
	if (si < 0)
		return -EAGAIN;
	if (b->bytes.len + ferryd_desc_size(FERRYD_TOPIC_MAX, FERRYD_DESC_DROPS_MAX) >
	    fd->slots[si].cap) {
		slot_put(fd, (uint32_t)si);
		char why[160];
		snprintf(why, sizeof(why), "batch of %zu bytes exceeds the gateway's batch slot (%u)",
			 b->bytes.len, fd->slot_cap);
		part_alarm(io, p, why, first);
		return 0;
	}
	if ((rc = ferry_kafka_batch_validate(b)) < 0) {
		slot_put(fd, (uint32_t)si);
		ferryd_count(fd, FERRYD_CTR_corrupt_batches, 1);
		char why[160];
		snprintf(why, sizeof(why), "corrupt record batch (%s): not forwarded",
			 ferry_err_name(rc));
		part_alarm(io, p, why, first);
		return 0;
	}
	ferryd_count(fd, FERRYD_CTR_batches_in, 1);
	ferryd_count(fd, FERRYD_CTR_records_in, (uint64_t)b->hdr.RecordsCount);
	ferryd_count(fd, FERRYD_CTR_bytes_in, b->bytes.len);
	out = b->bytes.p;
	out_len = b->bytes.len;
	rt = fd->policy ? ferry_policy_current(fd->policy) : NULL;
	if (rt != NULL) {
		ferry_policy_apply(io->pw, rt, p->topic, p->topic_len, p->partition, b, &res);
		ferryd_count(fd, FERRYD_CTR_records_dropped, res.records_dropped);
		ferryd_count(fd, FERRYD_CTR_spans_masked, res.spans_masked);
		ferryd_count(fd, FERRYD_CTR_spans_tokenised, res.spans_tokenised);
		switch (res.kind) {
		case FERRY_POLICY_RES_UNCHANGED:
			break;
		case FERRY_POLICY_RES_REWRITTEN:
			out = res.out;
			out_len = res.out_len;
			break;
		case FERRY_POLICY_RES_QUARANTINED:
			ferryd_count(fd, FERRYD_CTR_batches_quarantined, 1);
			ferryd_log(fd, "quarantined %s-%d offsets %" PRId64 "..%" PRId64 " (%s)",
				   p->topic, p->partition, first, last,
				   res.error ? ferry_err_name(res.error) : "rule");
			out_len = 0;
			break;
		case FERRY_POLICY_RES_DENIED:
			out_len = 0; /* topic denied by a reload: nothing leaves */
			break;
		}
		/* source offsets of the dropped records, for exact offset-syncs on the target */
		if (res.records_dropped > 0 && out_len > 0) {
			int64_t prev = -1;
			for (uint32_t k = 0; k < res.n_audit; k++) {
				const struct ferry_policy_audit *a = &res.audit[k];
				if (a->action != FERRY_POLICY_ACT_DROP || a->offset <= prev)
					continue;
				if (n_drops == FERRYD_DESC_DROPS_MAX || a->offset < first ||
				    a->offset > last) {
					exact = false;
					break;
				}
				io->drops[n_drops++] = (uint32_t)(a->offset - first);
				prev = a->offset;
			}
			if (res.audit_lost || n_drops != res.records_dropped)
				exact = false;
		}
	}
	d = (struct ferryd_desc){
		.kind = out_len ? FERRYD_DESC_DATA : FERRYD_DESC_SKIP,
		.drops_exact = exact,
		.topic_len = p->topic_len,
		.partition = p->partition,
		.src_first = first,
		.src_last = last,
		.generation = res.generation,
		.n_drops = out_len ? n_drops : 0,
		.topic = p->topic,
	};
	struct ferryd_slot *s = &fd->slots[si];
	rc = ferryd_desc_encode(&d, io->drops, s->buf, s->cap);
	if (rc < 0 || (size_t)rc + out_len > s->cap) {
		slot_put(fd, (uint32_t)si);
		part_alarm(io, p, "batch descriptor does not fit the slot", first);
		return 0;
	}
	memcpy(s->buf + rc, out, out_len);
	s->len = (uint32_t)(rc + out_len);
	s->part = pi;
	s->src_first = first;
	s->src_last = last;
	if (ferry_wan_dp_send(dp, p->lane, s->buf, s->len,
			      (uint64_t)atomic_load(&fd->sess_gen) << 32 | (uint32_t)si) != 0) {
		slot_put(fd, (uint32_t)si);
		return -EAGAIN; /* the policy ran for nothing; it will run again (deterministic) */
	}
	p->sent_next = last + 1;
	if (out_len) {
		ferryd_count(fd, FERRYD_CTR_batches_out, 1);
		ferryd_count(fd, FERRYD_CTR_records_out,
			     rt ? (res.kind == FERRY_POLICY_RES_REWRITTEN ? res.records_out
									 : (uint64_t)b->hdr.RecordsCount)
				: (uint64_t)b->hdr.RecordsCount);
		ferryd_count(fd, FERRYD_CTR_bytes_out, out_len);
	} else {
		ferryd_count(fd, FERRYD_CTR_batches_skipped, 1);
	}
	return 0;
}

static bool
pend_push(struct ferryd_part *p, const struct ferry_kafka_batch *b, uint32_t ref, bool last)
{
	if (p->n_pend == p->cap_pend) {
		/* compact, then grow: rare (only under sustained back-pressure) */
		if (p->head_pend > 0) {
			memmove(p->pend, p->pend + p->head_pend,
				(p->n_pend - p->head_pend) * sizeof(*p->pend));
			p->n_pend -= p->head_pend;
			p->head_pend = 0;
		}
		if (p->n_pend == p->cap_pend) {
			uint32_t cap = p->cap_pend ? p->cap_pend * 2 : 64;
			struct ferryd_pend *np = realloc(p->pend, cap * sizeof(*np));
			if (np == NULL)
				return false;
			p->pend = np;
			p->cap_pend = cap;
		}
	}
	struct ferryd_pend *e = &p->pend[p->n_pend++];
	memset(e, 0, sizeof(*e));
	if (b)
		e->b = *b;
	e->ref = ref;
	e->last_of_ref = last;
	return true;
}

/* Send what waits for a partition; true when nothing is left. */
static bool
pend_drain(struct io *io, int pi)
{
	struct ferryd_part *p = &io->fd->parts[pi];

	while (p->head_pend < p->n_pend) {
		struct ferryd_pend *e = &p->pend[p->head_pend];
		if (e->b.bytes.len > 0 && src_batch(io, pi, &e->b) == -EAGAIN)
			return false;
		if (e->last_of_ref)
			ferry_uring_release(io->fd->ur, e->ref);
		p->head_pend++;
	}
	p->head_pend = p->n_pend = 0;
	if (p->uh >= 0 && !p->stopped)
		ferry_uring_fetch_resume(io->fd->ur, p->uh);
	return true;
}

static void
pend_drop(struct io *io, struct ferryd_part *p)
{
	for (uint32_t k = p->head_pend; k < p->n_pend; k++)
		if (p->pend[k].last_of_ref)
			ferry_uring_release(io->fd->ur, p->pend[k].ref);
	p->head_pend = p->n_pend = 0;
}

static void
src_fetch(struct io *io, const struct ferry_uring_ev_fetch *f)
{
	struct ferryd *fd = io->fd;
	int pi = (int)f->cookie;
	struct ferryd_part *p = &fd->parts[pi];
	uint32_t i = 0;

	atomic_store_explicit(&p->hw, f->high_watermark, memory_order_relaxed);
	if (io->state != FERRYD_SESS_UP || p->stopped || atomic_load(&fd->draining)) {
		ferry_uring_release(fd->ur, f->ref);
		return;
	}
	if (p->n_pend == 0)
		for (; i < f->n_batches; i++)
			if (src_batch(io, pi, &f->batches[i]) == -EAGAIN)
				break;
	if (i == f->n_batches) {
		ferry_uring_release(fd->ur, f->ref);
		return;
	}
	/* hold the rest (and the buffer) until capacity returns; stop fetching meanwhile */
	ferryd_count(fd, FERRYD_CTR_stash_waits, 1);
	ferry_uring_fetch_pause(fd->ur, p->uh);
	for (; i < f->n_batches; i++)
		if (!pend_push(p, &f->batches[i], f->ref, i + 1 == f->n_batches)) {
			/* out of memory: give the buffer back and refetch from here later */
			ferryd_log(fd, "out of memory holding %s-%d: refetching", p->topic,
				   p->partition);
			pend_drop(io, p);
			ferry_uring_release(fd->ur, f->ref);
			ferry_uring_fetch_seek(fd->ur, p->uh, p->sent_next);
			return;
		}
}

static unsigned
src_done(struct io *io)
{
	struct ferryd *fd = io->fd;
	struct ferry_wan_dp_done d[DONE_BURST];
	unsigned total = 0;

	for (uint16_t q = 0; q < fd->nqueues; q++) {
		unsigned n = ferry_wan_dp_done(fd->dps[q], d, DONE_BURST);
		for (unsigned k = 0; k < n; k++) {
			uint32_t si = (uint32_t)d[k].cookie;
			if (d[k].status != 0) {
				struct ferryd_slot *s = &fd->slots[si];
				part_alarm(io, &fd->parts[s->part],
					   "a batch did not fit a WAN lane (raise the lane buffer)",
					   s->src_first);
			}
			slot_put(fd, si);
		}
		total += n;
	}
	return total;
}

static void
src_up(struct io *io)
{
	struct ferryd *fd = io->fd;
	uint32_t n = atomic_load_explicit(&fd->n_parts, memory_order_acquire);

	io->drained = false; /* a new session: a group rebalance may have drained the last one */
	for (uint32_t i = 0; i < n; i++) {
		struct ferryd_part *p = &fd->parts[i];
		if (p->stopped || !p->owned || p->resume < 0)
			continue; /* another gateway of the group replicates it (paused at park) */
		p->sent_next = p->resume;
		if (p->uh < 0) {
			p->uh = ferry_uring_fetch_add(fd->ur, p->topic, p->partition, p->leader,
						      p->resume, i);
			if (p->uh < 0) {
				part_alarm(io, p, "cannot add the partition to the fetcher", p->resume);
				continue;
			}
		} else {
			ferry_uring_fetch_seek(fd->ur, p->uh, p->resume);
		}
		ferry_uring_fetch_resume(fd->ur, p->uh);
	}
}

static void
src_park(struct io *io)
{
	struct ferryd *fd = io->fd;
	uint32_t n = atomic_load_explicit(&fd->n_parts, memory_order_acquire);
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct ferryd_part *p = &fd->parts[i];
		if (p->uh >= 0)
			ferry_uring_fetch_pause(fd->ur, p->uh);
		pend_drop(io, p);
	}
	/* every slot is free again: what was in flight is resent from the committed positions */
	rte_ring_reset(fd->slot_free);
	for (i = 0; i < fd->n_slots; i++)
		slot_put(fd, i);
}

/* ---- target ---------------------------------------------------------------------------- */

static void
order_push(struct ferryd_part *p, uint32_t si)
{
	if (p->n_order - p->head_order == p->cap_order || p->n_order == p->cap_order) {
		if (p->head_order > 0) {
			memmove(p->order, p->order + p->head_order,
				(p->n_order - p->head_order) * sizeof(*p->order));
			p->n_order -= p->head_order;
			p->head_order = 0;
		}
		if (p->n_order == p->cap_order) {
			uint32_t cap = p->cap_order ? p->cap_order * 2 : 64;
			uint32_t *no = realloc(p->order, cap * sizeof(*no));
			if (no == NULL)
				abort(); /* slots are bounded: cap never exceeds n_slots */
			p->order = no;
			p->cap_order = cap;
		}
	}
	p->order[p->n_order++] = si;
}

/* Hand finished slots of a partition to control, in order. */
static void
order_flush(struct io *io, struct ferryd_part *p)
{
	struct ferryd *fd = io->fd;

	while (p->head_order < p->n_order) {
		uint32_t si = p->order[p->head_order];
		struct ferryd_slot *s = &fd->slots[si];
		if (s->tgt_base == INT64_MIN)
			break; /* still being written */
		if (rte_ring_enqueue_elem(fd->slot_done, &si, sizeof(si)) != 0)
			break; /* control is behind; retried next loop */
		p->head_order++;
	}
	if (p->head_order == p->n_order)
		p->head_order = p->n_order = 0;
}

/* Take one WAN delivery. false: hold it (no slot or the partition's produce queue is full). */
/* The slot is in the partition's write order: the lane's bytes are no longer needed. */
static bool
tgt_queued(struct io *io, struct ferryd_part *p, uint32_t si, uint16_t q, uint8_t lane)
{
	atomic_fetch_add(&io->fd->slots_held, 1);
	if (io->txn_slots++ == 0)
		io->txn_t0 = mono_ms();
	order_push(p, si);
	ferry_wan_dp_release(io->fd->dps[q], lane);
	order_flush(io, p);
	return true;
}

/* Nothing of the delivery is kept: the slot and the lane's bytes go back. */
static void
tgt_refused(struct ferryd *fd, uint32_t si, uint16_t q, uint8_t lane)
{
	rte_ring_enqueue_elem(fd->slot_free, &si, sizeof(si));
	ferry_wan_dp_release(fd->dps[q], lane);
}

static bool
tgt_delivery(struct io *io, uint16_t q, const struct ferry_wan_dp_delivery *dl)
{
	struct ferryd *fd = io->fd;
	struct ferryd_desc d;
	struct ferryd_slot *s;
	struct ferryd_part *p;
	char err[160];
	uint32_t si;
	int pi, rc;

	if (rte_ring_sc_dequeue_elem(fd->slot_free, &si, sizeof(si)) != 0)
		return false;
	s = &fd->slots[si];
	if (dl->len > s->cap) {
		ferryd_log(fd, "ALARM a %" PRIu64 " byte batch exceeds the slot (%u): dropped; "
			   "the source will resend it after a reset", dl->len, s->cap);
		ferryd_count(fd, FERRYD_CTR_bad_desc, 1);
		tgt_refused(fd, si, q, dl->lane);
		atomic_store(&fd->meta_req, true);
		return true;
	}
	memcpy(s->buf, dl->seg[0].p, dl->seg[0].len);
	if (dl->seg[1].len)
		memcpy(s->buf + dl->seg[0].len, dl->seg[1].p, dl->seg[1].len);
	s->len = (uint32_t)dl->len;
	rc = ferryd_desc_decode(s->buf, s->len, &d, err, sizeof(err));
	pi = rc == 0 ? ferryd_part_find(fd, d.topic, d.topic_len, d.partition) : -1;
	if (rc != 0 || pi < 0) {
		if (rc != 0) {
			ferryd_count(fd, FERRYD_CTR_bad_desc, 1);
			ferryd_log(fd, "ALARM lane %u: %s", dl->lane, err);
		} else {
			ferryd_count(fd, FERRYD_CTR_unknown_partition, 1);
			ferryd_log(fd, "batch for unknown partition %.*s-%d: asking for a new "
				   "session (topic tables differ)", d.topic_len, d.topic, d.partition);
		}
		tgt_refused(fd, si, q, dl->lane);
		atomic_store(&fd->meta_req, true);
		return true;
	}
	p = &fd->parts[pi];
	s->part = pi;
	s->kind = d.kind;
	s->src_first = d.src_first;
	s->src_last = d.src_last;
	s->n_drops = d.n_drops;
	s->drops_off = (uint32_t)(d.drops - s->buf);
	s->drops_exact = d.drops_exact;
	s->failed = false;
	s->off = (uint32_t)(d.batch.p - s->buf);
	s->records = 0;
	s->tgt_base = INT64_MIN;
	if (d.src_last <= p->accepted_last || p->stopped) {
		/* written before (a resend after a restart) or the partition is stopped */
		if (!p->stopped)
			ferryd_count(fd, FERRYD_CTR_dup_batches, 1);
		s->failed = p->stopped;
		s->kind = FERRYD_DESC_SKIP;
		s->n_drops = UINT32_MAX; /* marks "nothing new": control only answers a COMMIT */
		s->tgt_base = -1;
		return tgt_queued(io, p, si, q, dl->lane);
	}
	if (d.kind == FERRYD_DESC_DATA && p->tail_skip > 0) {
		/* after a target restart: this batch may already be on the target (written by the
		 * previous process, its offset-sync lost); the resend follows the same order */
		struct ferry_kafka_batch kb;
		size_t used;
		if (ferry_kafka_batch_parse(d.batch, &kb, &used) == 0 &&
		    kb.hdr.RecordsCount <= p->tail_skip) {
			s->tgt_base = p->tail_next_tgt;
			s->records = (uint32_t)kb.hdr.RecordsCount;
			p->tail_next_tgt += kb.hdr.RecordsCount;
			p->tail_skip -= kb.hdr.RecordsCount;
			p->accepted_last = d.src_last;
			ferryd_count(fd, FERRYD_CTR_tail_reconciled, 1);
			return tgt_queued(io, p, si, q, dl->lane);
		}
		tgt_refused(fd, si, q, dl->lane);
		char why[400];
		snprintf(why, sizeof(why),
			 "the target holds %" PRId64 " unsynced record(s) that do not line up with the "
			 "resent batches: not writing (operator: check who else writes %s)",
			 p->tail_skip, p->remote);
		part_alarm(io, p, why, d.src_first);
		return true;
	}
	if (d.kind == FERRYD_DESC_DATA) {
		struct ferry_uring_src src = { .lane = dl->lane,
					       .first_offset = d.src_first,
					       .last_offset = d.src_last };
		if (p->uh < 0) {
			p->uh = ferry_uring_produce_add(fd->ur, p->remote, p->partition, p->leader,
							(uint64_t)pi);
			if (p->uh < 0) {
				tgt_refused(fd, si, q, dl->lane);
				part_alarm(io, p, "cannot add the partition to the producer",
					   d.src_first);
				return true;
			}
		}
		rc = ferry_uring_produce(fd->ur, p->uh, s->buf + s->off, d.batch.len, &src, si);
		if (rc == -EAGAIN) {
			rte_ring_enqueue_elem(fd->slot_free, &si, sizeof(si));
			return false;
		}
		if (rc != 0) {
			tgt_refused(fd, si, q, dl->lane);
			snprintf(err, sizeof(err), "the producer refused the batch (%s)",
				 rc == -EPIPE ? "partition stopped" : "not a batch Produce accepts");
			part_alarm(io, p, err, d.src_first);
			return true;
		}
		ferryd_count(fd, FERRYD_CTR_batches_in, 1);
		ferryd_count(fd, FERRYD_CTR_bytes_in, d.batch.len);
		/* RecordsCount, the v2 header's last field (the source checked the batch) */
		if (d.batch.len >= FERRY_KAFKA_BATCH_HDR_SIZE)
			ferryd_count(fd, FERRYD_CTR_records_in,
				     ferry_be32(d.batch.p + FERRY_KAFKA_BATCH_HDR_SIZE - 4));
	} else {
		s->tgt_base = -1; /* nothing to write: done at once, synced in order */
		ferryd_count(fd, FERRYD_CTR_batches_skipped, 1);
	}
	p->accepted_last = d.src_last;
	return tgt_queued(io, p, si, q, dl->lane);
}

static unsigned
tgt_recv(struct io *io)
{
	struct ferryd *fd = io->fd;
	struct ferry_wan_dp_delivery d;
	unsigned total = 0;

	if (fd->exactly_once) {
		/* deliveries wait (in the lanes) while a transaction is being ended */
		if (io->txn_closing || io->txn_hold ||
		    atomic_load_explicit(&fd->txn_phase, memory_order_acquire) != FERRYD_TXN_OPEN)
			return 0;
		if (!io->txn_open) {
			int rc = ferry_uring_txn_begin(fd->ur);
			if (rc != 0 && rc != -EALREADY)
				return 0; /* FATAL: reported by tgt_txn_event */
			io->txn_open = true;
			io->txn_slots = 0;
		}
	}
	if (io->held) {
		if (!tgt_delivery(io, io->held_q, &io->held_d))
			return 0;
		io->held = false;
		total++;
	}
	/* one at a time: a delivery that cannot be taken is held, and nothing behind it is
	 * dequeued (the out ring keeps the rest, the lane's window closes: back-pressure) */
	for (uint16_t q = 0; q < fd->nqueues; q++)
		for (unsigned k = 0; k < RECV_BURST && ferry_wan_dp_recv(fd->dps[q], &d, 1) == 1;
		     k++) {
			if (!tgt_delivery(io, q, &d)) {
				io->held = true;
				io->held_q = q;
				io->held_d = d;
				ferryd_count(fd, FERRYD_CTR_stash_waits, 1);
				return total;
			}
			total++;
		}
	return total;
}

static void
tgt_delivered(struct io *io, const struct ferry_uring_ev_delivery *dv)
{
	struct ferryd *fd = io->fd;
	uint32_t si = (uint32_t)dv->cookie;
	struct ferryd_slot *s;
	struct ferryd_part *p;

	if (dv->cookie == SYNCS_COOKIE) {
		if (dv->err != 0) /* the transaction is doomed: EV_TXN ABORT_REQUIRED follows */
			ferryd_log(fd, "offset-syncs batch refused: %s",
				   dv->msg ? dv->msg : ferry_err_name(dv->err));
		return;
	}
	s = &fd->slots[si];
	p = &fd->parts[s->part];
	if (dv->err != 0 && fd->exactly_once) {
		/* not a partition stop: the transaction is aborted and the source resends */
		ferryd_count(fd, FERRYD_CTR_produce_errors, 1);
		snprintf(fd->txn_err, sizeof(fd->txn_err), "%s-%d: %s", p->remote, p->partition,
			 dv->msg ? dv->msg : ferry_err_name(dv->err));
		s->failed = true;
		s->tgt_base = -1;
	} else if (dv->err != 0) {
		char why[256];
		snprintf(why, sizeof(why), "the target refused a batch: %s",
			 dv->msg ? dv->msg : ferry_err_name(dv->err));
		ferryd_count(fd, FERRYD_CTR_produce_errors, 1);
		part_alarm(io, p, why, s->src_first);
		s->failed = true;
		s->tgt_base = -1;
	} else {
		s->tgt_base = dv->base_offset;
		s->records = (uint32_t)dv->records;
		ferryd_count(fd, FERRYD_CTR_batches_out, 1);
		ferryd_count(fd, FERRYD_CTR_records_out, (uint64_t)dv->records);
		ferryd_count(fd, FERRYD_CTR_bytes_out, dv->len);
	}
	order_flush(io, p);
}

static void
tgt_up(struct io *io)
{
	struct ferryd *fd = io->fd;
	uint32_t n = atomic_load_explicit(&fd->n_parts, memory_order_acquire);

	for (uint32_t i = 0; i < n; i++) {
		struct ferryd_part *p = &fd->parts[i];
		int64_t synced = atomic_load(&p->synced_next);
		if (synced - 1 > p->accepted_last || p->head_order == p->n_order)
			p->accepted_last = synced - 1;
	}
	io->held = false;
	io->txn_hold = false;
}

/* ---- target, exactly-once -------------------------------------------------------------- */

/* Every batch of the transaction answered and handed to control, in order? */
static bool
tgt_txn_flushed(struct io *io)
{
	struct ferryd *fd = io->fd;
	uint32_t n = atomic_load(&fd->n_parts);

	for (uint32_t i = 0; i < n; i++) {
		struct ferryd_part *p = &fd->parts[i];
		if (p->head_order != p->n_order ||
		    (p->uh >= 0 && ferry_uring_produce_pending(fd->ur, p->uh) > 0))
			return false;
	}
	return io->sync_uh < 0 || ferry_uring_produce_pending(fd->ur, io->sync_uh) == 0;
}

static void
tgt_txn_abort(struct io *io, const char *why)
{
	struct ferryd *fd = io->fd;

	if (why && !fd->txn_err[0])
		snprintf(fd->txn_err, sizeof(fd->txn_err), "%s", why);
	io->txn_closing = true;
	if (ferry_uring_txn_abort(fd->ur, 2) == 0)
		io->txn_ending = true;
}

static void
tgt_txn_event(struct io *io, const struct ferry_uring_ev_txn *t)
{
	struct ferryd *fd = io->fd;

	switch (t->result) {
	case FERRY_URING_TXN_COMMITTED:
		io->txn_open = io->txn_closing = io->txn_ending = false;
		io->txn_slots = 0;
		atomic_store_explicit(&fd->txn_phase, FERRYD_TXN_COMMITTED, memory_order_release);
		break;
	case FERRY_URING_TXN_ABORT_REQUIRED:
		tgt_txn_abort(io, t->msg ? t->msg : ferry_err_name(t->err));
		break;
	case FERRY_URING_TXN_ABORTED:
		io->txn_open = io->txn_ending = false;
		io->txn_aborted = true; /* handed to control by tgt_txn once flushed */
		break;
	case FERRY_URING_TXN_FATAL:
		snprintf(fd->txn_err, sizeof(fd->txn_err), "%s",
			 t->msg ? t->msg : ferry_err_name(t->err));
		ferryd_log(fd, "ALARM exactly-once producer stopped: %s (another target gateway "
			   "took the transactional id, or the cluster refused it): restart needed",
			   fd->txn_err);
		atomic_store(&fd->txn_fatal, true);
		io->txn_open = io->txn_ending = false;
		io->txn_closing = true;
		io->txn_aborted = true;
		break;
	}
}

/* Close the open transaction when due, produce its offset-syncs, commit. */
static unsigned
tgt_txn(struct io *io)
{
	struct ferryd *fd = io->fd;
	int ph = atomic_load_explicit(&fd->txn_phase, memory_order_acquire);

	if (ph == FERRYD_TXN_OPEN) {
		if (!io->txn_open && !io->txn_aborted)
			return 0;
		if (!io->txn_closing && io->txn_slots > 0 &&
		    (mono_ms() - io->txn_t0 >= TXN_MS || io->txn_slots >= fd->n_slots / 2 ||
		     io->held || io->state != FERRYD_SESS_UP))
			io->txn_closing = true;
		if (!io->txn_closing || io->txn_ending || !tgt_txn_flushed(io))
			return 0;
		if (io->txn_aborted) {
			io->txn_aborted = false;
			io->txn_closing = false;
			io->txn_slots = 0;
			io->txn_hold = true;
			atomic_store_explicit(&fd->txn_phase, FERRYD_TXN_ABORTED,
					      memory_order_release);
		} else {
			atomic_store_explicit(&fd->txn_phase, FERRYD_TXN_CLOSED,
					      memory_order_release);
		}
		return 1;
	}
	if (ph != FERRYD_TXN_SYNCS)
		return 0;
	if (io->txn_aborted) {
		if (!tgt_txn_flushed(io))
			return 0;
		io->txn_aborted = false;
		io->txn_closing = false;
		io->txn_slots = 0;
		io->txn_hold = true;
		atomic_store_explicit(&fd->txn_phase, FERRYD_TXN_ABORTED, memory_order_release);
		return 1;
	}
	if (io->txn_ending)
		return 0;
	if (fd->txn_syncs_len > 0) {
		struct ferry_uring_src src = { .lane = 0, .first_offset = -1, .last_offset = -1 };
		int rc;
		if (io->sync_uh < 0) {
			if (io->sync_leader < 0) {
				/* control sends the leader with its next metadata; say what
				 * the commit waits for when that does not come */
				int64_t now = mono_ms();
				if (io->sync_wait_ms == 0)
					io->sync_wait_ms = now;
				if (now - io->sync_wait_ms >= 5000) {
					ferryd_log(fd, "exactly-once: commit waits for a leader of "
						   "%s partition 0 on %s (does the topic exist?)",
						   fd->syncs_topic, fd->target);
					io->sync_wait_ms = now;
					atomic_store(&fd->meta_req, true);
				}
				return 0;
			}
			io->sync_uh = ferry_uring_produce_add(fd->ur, fd->syncs_topic, 0,
							      io->sync_leader, SYNCS_COOKIE);
			if (io->sync_uh < 0) {
				tgt_txn_abort(io, "cannot add the offset-syncs partition");
				return 1;
			}
		}
		rc = ferry_uring_produce(fd->ur, io->sync_uh, fd->txn_syncs, fd->txn_syncs_len, &src,
					 SYNCS_COOKIE);
		if (rc == -EAGAIN)
			return 0;
		fd->txn_syncs_len = 0;
		if (rc != 0) {
			tgt_txn_abort(io, "the producer refused the offset-syncs batch");
			return 1;
		}
	}
	int rc = ferry_uring_txn_commit(fd->ur, 1);
	if (rc == 0)
		io->txn_ending = true;
	else if (rc == -ECANCELED)
		tgt_txn_abort(io, NULL);
	return 1;
}

/* ---- both ------------------------------------------------------------------------------ */

static void
on_event(void *arg, const struct ferry_uring_event *ev)
{
	struct io *io = arg;
	struct ferryd *fd = io->fd;

	switch (ev->type) {
	case FERRY_URING_EV_BROKER_UP:
		ferryd_log(fd, "broker %d connected", ev->u.broker.node_id);
		break;
	case FERRY_URING_EV_BROKER_DOWN:
		ferryd_log(fd, "broker %d down: %s (retrying)", ev->u.broker.node_id,
			   ev->u.broker.msg ? ev->u.broker.msg : "");
		atomic_store(&fd->meta_req, true);
		break;
	case FERRY_URING_EV_METADATA:
		atomic_store(&fd->meta_req, true);
		break;
	case FERRY_URING_EV_FETCH:
		src_fetch(io, &ev->u.fetch);
		break;
	case FERRY_URING_EV_FETCH_LOSS: {
		char why[200];
		struct ferryd_part *p = &fd->parts[ev->u.loss.cookie];
		snprintf(why, sizeof(why),
			 "source log truncated under ferry: offsets %" PRId64 "..%" PRId64
			 " are gone (log %" PRId64 "..%" PRId64 ")",
			 ev->u.loss.lost_from, ev->u.loss.lost_to, ev->u.loss.log_start,
			 ev->u.loss.log_end);
		ferryd_count(fd, FERRYD_CTR_truncations, 1);
		part_alarm(io, p, why, ev->u.loss.position);
		break;
	}
	case FERRY_URING_EV_FETCH_ERROR:
		part_alarm(io, &fd->parts[ev->u.fetch_error.cookie],
			   ev->u.fetch_error.msg ? ev->u.fetch_error.msg : "fetch error",
			   ev->u.fetch_error.position);
		break;
	case FERRY_URING_EV_DELIVERY:
		tgt_delivered(io, &ev->u.delivery);
		break;
	case FERRY_URING_EV_TXN:
		tgt_txn_event(io, &ev->u.txn);
		break;
	case FERRY_URING_EV_PRODUCE_STOPPED:
		ferryd_log(fd, "producer partition %d stopped: %s", ev->u.pstate.part,
			   ev->u.pstate.msg ? ev->u.pstate.msg : "");
		break;
	case FERRY_URING_EV_RECONCILED:
		ferryd_log(fd, "producer partition %d reconciled: target end %" PRId64
			   ", %u found written, %u to resend",
			   ev->u.pstate.part, ev->u.pstate.target_end, ev->u.pstate.found,
			   ev->u.pstate.resent);
		break;
	default:
		break;
	}
}

static void
apply_leaders(struct io *io)
{
	struct ferryd *fd = io->fd;
	struct ferryd_leader_upd *u;

	while (rte_ring_sc_dequeue(fd->leader_upd, (void **)&u) == 0) {
		if (u->part == FERRYD_PART_SYNCS) {
			io->sync_leader = u->leader;
			if (io->sync_uh >= 0)
				ferry_uring_set_leader(fd->ur, io->sync_uh, u->leader);
		} else if (u->part < 0) {
			char err[160];
			if (ferry_uring_broker_set(fd->ur, u->node_id, u->host, u->port, err,
						   sizeof(err)) != 0)
				ferryd_log(fd, "broker %d %s:%u: %s", u->node_id, u->host, u->port,
					   err);
		} else {
			struct ferryd_part *p = &fd->parts[u->part];
			p->leader = u->leader;
			if (p->uh >= 0)
				ferry_uring_set_leader(fd->ur, p->uh, u->leader);
		}
		free(u);
	}
}

int
ferryd_io_init(struct ferryd *fd, char *err, size_t errlen)
{
	struct io *io = &io_state;

	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->sync_uh = -1;
	io->sync_leader = -1;
	fd->ur = ferry_uring_new(&fd->urc, on_event, io, err, errlen);
	if (fd->ur == NULL)
		return -EINVAL;
	if (fd->policy) {
		const struct ferry_policy_rt *rt = ferry_policy_current(fd->policy);
		struct ferry_policy_worker_conf wc = { .max_batch_bytes = fd->slot_cap,
						       .max_audit = 8192 };
		io->pw = ferry_policy_worker_new(rt, &wc);
		if (io->pw == NULL) {
			ferry_uring_destroy(fd->ur);
			fd->ur = NULL;
			return ferry_errf(-ENOMEM, err, errlen, "policy worker: %s", strerror(errno));
		}
		fd->pw = io->pw;
	}
	return 0;
}

void
ferryd_io_fini(struct ferryd *fd)
{
	struct io *io = &io_state;

	ferry_policy_worker_free(io->pw);
	io->pw = NULL;
	fd->pw = NULL;
	ferry_uring_destroy(fd->ur);
	fd->ur = NULL;
}

int
ferryd_io_main(void *arg)
{
	struct ferryd *fd = arg;
	struct io *io = &io_state;
	unsigned sleep_us = 0;

	/* the ring is made here: io_uring SINGLE_ISSUER binds it to the thread that creates it */
	if (ferryd_io_init(fd, fd->io_err, sizeof(fd->io_err)) != 0) {
		atomic_store(&fd->io_failed, true);
		return -1;
	}
	rte_rcu_qsbr_thread_register(ferryd_qsbr, 0);
	rte_rcu_qsbr_thread_online(ferryd_qsbr, 0);
	atomic_store(&fd->io_running, true);
	io->state = FERRYD_SESS_DOWN;
	while (!atomic_load_explicit(&fd->io_stop, memory_order_relaxed)) {
		unsigned work = 0;
		int st = atomic_load_explicit(&fd->sess_state, memory_order_acquire);
		uint32_t gen = atomic_load_explicit(&fd->sess_gen, memory_order_acquire);

		apply_leaders(io);
		if (st == FERRYD_SESS_STOPPING && io->state == FERRYD_SESS_UP) {
			if (fd->role == FERRYD_SOURCE)
				src_park(io);
			io->held = false; /* the lane ring it pointed into is going away */
			io->state = FERRYD_SESS_DOWN;
			atomic_store_explicit(&fd->io_parked, true, memory_order_release);
		} else if (st == FERRYD_SESS_STOPPING || st == FERRYD_SESS_DOWN) {
			if (!atomic_load(&fd->io_parked))
				atomic_store_explicit(&fd->io_parked, true, memory_order_release);
			io->state = FERRYD_SESS_DOWN;
		} else if (st == FERRYD_SESS_UP && (io->state != FERRYD_SESS_UP || gen != io->gen)) {
			io->gen = gen;
			io->state = FERRYD_SESS_UP;
			atomic_store(&fd->io_parked, false);
			if (fd->role == FERRYD_SOURCE)
				src_up(io);
			else
				tgt_up(io);
		}
		work += (unsigned)ferry_uring_poll(fd->ur, 0) > 0;
		if (io->state == FERRYD_SESS_UP) {
			if (fd->role == FERRYD_SOURCE) {
				uint32_t n = atomic_load(&fd->n_parts);
				if (atomic_load_explicit(&fd->draining, memory_order_relaxed) &&
				    !io->drained) {
					for (uint32_t i = 0; i < n; i++) {
						if (fd->parts[i].uh >= 0)
							ferry_uring_fetch_pause(fd->ur, fd->parts[i].uh);
						pend_drop(io, &fd->parts[i]);
					}
					io->drained = true;
				}
				work += src_done(io);
				for (uint32_t i = 0; i < n; i++)
					if (fd->parts[i].n_pend)
						work += pend_drain(io, (int)i);
			} else {
				work += tgt_recv(io);
			}
		}
		if (fd->role == FERRYD_TARGET) {
			uint32_t n = atomic_load(&fd->n_parts);
			for (uint32_t i = 0; i < n; i++)
				if (fd->parts[i].n_order)
					order_flush(io, &fd->parts[i]);
			if (fd->exactly_once)
				work += tgt_txn(io);
		}
		rte_rcu_qsbr_quiescent(ferryd_qsbr, 0);
		if (work || fd->busy_poll) {
			sleep_us = 0;
			continue;
		}
		/* idle back-off (development, CI): block in io_uring up to 1 ms */
		sleep_us = sleep_us < 1000 ? sleep_us + 50 : 1000;
		if (sleep_us >= 1000)
			ferry_uring_poll(fd->ur, 1);
		else
			usleep(sleep_us);
	}
	rte_rcu_qsbr_thread_offline(ferryd_qsbr, 0);
	rte_rcu_qsbr_thread_unregister(ferryd_qsbr, 0);
	ferryd_io_fini(fd);
	atomic_store(&fd->io_running, false);
	return 0;
}
