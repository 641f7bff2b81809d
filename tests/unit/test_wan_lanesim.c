/*
 * test_wan_lanesim.c - a deterministic discrete-event simulation of one WAN lane: a sender
 * (struct ferry_wan_lane_tx) and a receiver (struct ferry_wan_lane_rx) over a simulated link
 * with one-way delay, a bottleneck rate with a finite drop-tail queue, seeded random loss in
 * both directions (ACKs too), reordering, duplication and an outage that drops everything
 * both ways. ACKs cross the link encoded (ferry_wan_ack_encode/decode).
 *
 * Asserts: every batch delivered exactly once, in order, byte for byte; completion reported
 * on the sender for each batch, in order; the sender's invariants hold throughout. Prints
 * goodput as a share of the link (whose ceiling here is 1400/1494 = 93.7 %: the rest is
 * headers) and of the payload capacity, and the retransmitted share. Asserts bounds with
 * margin below what the rate control reaches (issue 5), so a regression fails: at
 * 0.1 % / 70 ms and 0.5 % / 200 ms RTT retransmissions at most loss + 2 % and goodput
 * near the link; at 30 % random loss no collapse. Time is simulated, never read from a
 * clock.
 *
 * Environment, for tuning: LANESIM_TRACE=1 prints the rate controller's state every
 * 250 ms of simulated time (LANESIM_TRACE=<ms> at that interval), LANESIM_ONLY=<substring>
 * runs only the scenarios whose name contains it, LANESIM_SEED=<n> shifts every seed.
 * Single-threaded; everything is allocated once per run.
 */
#include <errno.h>
#include <inttypes.h>

#include "testutil.h"

#include "ferry/common.h"
#include "ferry/wan_lane.h"

#define MS       1000000ull
#define SEC      1000000000ull
#define P        1400u /* max_payload */
#define OVERHEAD 94u   /* wire bytes per packet beyond the payload */
#define MASTER   (8u << 20)
#define POOL     (1u << 16)

/* ---- deterministic PRNG (splitmix64) --------------------------------------------------- */

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* true with probability ppm / 1e6 */
static bool
chance(uint64_t *s, uint32_t ppm)
{
	return ppm && rnd(s) % 1000000u < ppm;
}

/* ---- scenario -------------------------------------------------------------------------- */

struct scen {
	const char *name;
	uint64_t delay_ns;     /* one way */
	uint64_t rate_bps;     /* bottleneck, both directions */
	uint64_t queue_bytes;  /* drop-tail queue at the bottleneck */
	uint32_t loss_ppm;     /* random loss, both directions */
	uint32_t reorder_ppm;  /* packets delayed by an extra 0..reorder_ns */
	uint64_t reorder_ns;
	uint32_t dup_ppm;
	uint64_t outage_start, outage_end; /* [start, end) everything dropped */
	uint32_t nbatches;
	bool big;              /* all batches 1 MiB (throughput runs) */
	bool slow_consumer;    /* release batches late: exercises rwnd back-pressure */
	uint64_t seed;
};

struct result {
	uint64_t bytes, end_ns, start_ns;
	struct ferry_wan_lane_tx_stats txst;
	struct ferry_wan_lane_rx_stats rxst;
	uint64_t link_drops, queue_drops;
};

/* ---- events ---------------------------------------------------------------------------- */

enum { EV_DATA = 1, EV_ACK, EV_TX_WAKE, EV_RX_WAKE, EV_CONSUME };

struct ev {
	uint64_t t;
	uint64_t order; /* FIFO among equal times: determinism */
	uint32_t kind;
	uint32_t pkt;
};

struct pkt {
	struct ferry_wan_hdr hdr;
	struct ferry_span payload; /* into the master buffer: it outlives every packet */
	uint8_t ack[FERRY_WAN_ACK_MAX_LEN];
	uint16_t ack_len;
	uint32_t next_free;
};

struct link {
	uint64_t free_at; /* the bottleneck is busy until then */
};

struct sim {
	const struct scen *sc;
	uint64_t rng;
	struct ev *heap;
	uint32_t nheap, capheap;
	uint64_t order;
	struct pkt *pool;
	uint32_t free_head;
	struct link fwd, rev;
	struct ferry_wan_lane_tx *tx;
	struct ferry_wan_lane_rx *rx;
	uint64_t tx_sched, rx_sched;
	uint64_t pn;
	const uint8_t *master;
	/* batches */
	uint32_t *boff, *blen;
	uint32_t pushed, done, delivered, unreleased;
	uint64_t delivered_bytes, last_deliver_ns;
	uint64_t link_drops, queue_drops;
	uint64_t acks_seen;
	uint64_t trace_tick;
	uint64_t trace_ns; /* 0: no trace */
};

static void
heap_push(struct sim *s, uint64_t t, uint32_t kind, uint32_t pkt)
{
	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? 2 * s->capheap : 4096;
		s->heap = realloc(s->heap, s->capheap * sizeof(*s->heap));
		assert_non_null(s->heap);
	}
	struct ev e = { t, s->order++, kind, pkt };
	uint32_t i = s->nheap++;
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		struct ev *q = &s->heap[p];
		if (q->t < e.t || (q->t == e.t && q->order < e.order))
			break;
		s->heap[i] = *q;
		i = p;
	}
	s->heap[i] = e;
}

static struct ev
heap_pop(struct sim *s)
{
	struct ev top = s->heap[0];
	struct ev e = s->heap[--s->nheap];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		const struct ev *best = &e;
		if (l < s->nheap && (s->heap[l].t < best->t ||
				     (s->heap[l].t == best->t && s->heap[l].order < best->order))) {
			m = l;
			best = &s->heap[l];
		}
		if (r < s->nheap && (s->heap[r].t < best->t ||
				     (s->heap[r].t == best->t && s->heap[r].order < best->order)))
			m = r;
		if (m == i)
			break;
		s->heap[i] = s->heap[m];
		i = m;
	}
	if (s->nheap)
		s->heap[i] = e;
	return top;
}

static uint32_t
pkt_alloc(struct sim *s)
{
	uint32_t i = s->free_head;
	if (i == UINT32_MAX)
		fail_msg("%s: packet pool exhausted", s->sc->name);
	s->free_head = s->pool[i].next_free;
	return i;
}

static void
pkt_free(struct sim *s, uint32_t i)
{
	s->pool[i].next_free = s->free_head;
	s->free_head = i;
}

/* Put a packet on a link at 'now': outage, drop-tail queue at the bottleneck, serialisation,
 * random loss (after the bottleneck: a lost packet used capacity), delay, reordering,
 * duplication. */
static void
link_send(struct sim *s, struct link *l, uint64_t now, uint32_t wire, uint32_t kind, uint32_t pi)
{
	const struct scen *sc = s->sc;
	if (now >= sc->outage_start && now < sc->outage_end) {
		s->link_drops++;
		pkt_free(s, pi);
		return;
	}
	uint64_t backlog_ns = l->free_at > now ? l->free_at - now : 0;
	uint64_t backlog = backlog_ns * sc->rate_bps / 8 / SEC;
	if (backlog + wire > sc->queue_bytes) {
		s->queue_drops++;
		pkt_free(s, pi);
		return;
	}
	uint64_t depart = (l->free_at > now ? l->free_at : now) + (uint64_t)wire * 8 * SEC / sc->rate_bps;
	l->free_at = depart;
	if (chance(&s->rng, sc->loss_ppm)) {
		s->link_drops++;
		pkt_free(s, pi);
		return;
	}
	uint64_t at = depart + sc->delay_ns;
	if (chance(&s->rng, sc->reorder_ppm))
		at += rnd(&s->rng) % (sc->reorder_ns + 1);
	if (chance(&s->rng, sc->dup_ppm)) {
		uint32_t d = pkt_alloc(s);
		uint32_t nf = s->pool[d].next_free;
		s->pool[d] = s->pool[pi];
		s->pool[d].next_free = nf;
		heap_push(s, at + rnd(&s->rng) % (2 * MS), kind, d);
	}
	heap_push(s, at, kind, pi);
}

/* ---- endpoints ------------------------------------------------------------------------- */

static void
check_tx(struct sim *s)
{
	char e[256];
	if (ferry_wan_lane_tx_check(s->tx, e, sizeof(e)) != 0)
		fail_msg("%s: sender invariant broken: %s", s->sc->name, e);
}

static void
tx_reschedule(struct sim *s, uint64_t now)
{
	uint64_t t = ferry_wan_lane_tx_next_event(s->tx, now);
	if (t < s->tx_sched) {
		s->tx_sched = t;
		heap_push(s, t, EV_TX_WAKE, 0);
	}
}

static void
tx_service(struct sim *s, uint64_t now)
{
	struct ferry_wan_lane_frag f;
	uint64_t cookie;

	/* Feed batches while the send buffer takes them (back-pressure: -ENOBUFS). */
	while (s->pushed < s->sc->nbatches) {
		int rc = ferry_wan_lane_tx_push(s->tx, s->master + s->boff[s->pushed],
						s->blen[s->pushed], s->pushed);
		if (rc == -ENOBUFS)
			break;
		assert_int_equal(rc, 0);
		s->pushed++;
	}
	while (ferry_wan_lane_tx_poll(s->tx, now, s->pn, &f) == 1) {
		uint32_t pi = pkt_alloc(s);
		s->pool[pi].hdr = f.hdr;
		s->pool[pi].payload = f.payload;
		s->pn++;
		link_send(s, &s->fwd, now, f.hdr.len + OVERHEAD, EV_DATA, pi);
	}
	while (ferry_wan_lane_tx_done(s->tx, &cookie) == 1) {
		if (cookie != s->done)
			fail_msg("%s: completion of batch %" PRIu64 ", expected %u", s->sc->name,
				 cookie, s->done);
		s->done++;
	}
	if (s->done > s->delivered)
		fail_msg("%s: batch %u reported done before the receiver delivered it",
			 s->sc->name, s->done - 1);
	tx_reschedule(s, now);
}

static void
rx_send_ack(struct sim *s, uint64_t now)
{
	struct ferry_wan_ack a;
	struct ferry_wr w;
	ferry_wan_lane_rx_build_ack(s->rx, now, &a);
	uint32_t pi = pkt_alloc(s);
	ferry_wr_init(&w, s->pool[pi].ack, sizeof(s->pool[pi].ack));
	assert_int_equal(ferry_wan_ack_encode(&w, &a), 0);
	s->pool[pi].ack_len = (uint16_t)w.len;
	link_send(s, &s->rev, now, (uint32_t)w.len + OVERHEAD, EV_ACK, pi);
}

static void
rx_reschedule(struct sim *s, uint64_t now)
{
	if (ferry_wan_lane_rx_ack_due(s->rx, now))
		rx_send_ack(s, now);
	uint64_t t = ferry_wan_lane_rx_ack_deadline(s->rx);
	if (t != UINT64_MAX && t < s->rx_sched) {
		s->rx_sched = t;
		heap_push(s, t, EV_RX_WAKE, 0);
	}
}

static void
rx_consume(struct sim *s, uint64_t now)
{
	struct ferry_wan_lane_batch b;
	while (ferry_wan_lane_rx_next_batch(s->rx, &b) == 1) {
		uint32_t k = s->delivered;
		if (k >= s->sc->nbatches)
			fail_msg("%s: batch delivered past the last one sent", s->sc->name);
		if (b.len != s->blen[k])
			fail_msg("%s: batch %u delivered with %zu bytes, sent %u", s->sc->name, k,
				 b.len, s->blen[k]);
		const uint8_t *want = s->master + s->boff[k];
		if (memcmp(b.seg[0].p, want, b.seg[0].len) != 0 ||
		    b.seg[0].len + b.seg[1].len != b.len ||
		    (b.seg[1].len && memcmp(b.seg[1].p, want + b.seg[0].len, b.seg[1].len) != 0))
			fail_msg("%s: batch %u bytes differ", s->sc->name, k);
		s->delivered++;
		s->delivered_bytes += b.len;
		s->last_deliver_ns = now;
		if (s->sc->slow_consumer) {
			s->unreleased++;
			heap_push(s, now + 20 * MS, EV_CONSUME, 0);
		} else {
			assert_int_equal(ferry_wan_lane_rx_release(s->rx), 0);
		}
	}
}

/* Returns false when LANESIM_ONLY=<substring> in the environment leaves this scenario out
 * (for tuning one scenario with the trace); the caller then skips its checks. */
static bool
run(const struct scen *sc, struct result *res)
{
	struct sim s = { 0 };
	char err[256];
	const char *only = getenv("LANESIM_ONLY");
	struct scen shifted;

	memset(res, 0, sizeof(*res));
	if (only && !strstr(sc->name, only))
		return false;
	if (getenv("LANESIM_SEED")) {
		/* LANESIM_SEED=n shifts every seed: is a result more than one seed's luck? */
		shifted = *sc;
		shifted.seed += strtoull(getenv("LANESIM_SEED"), NULL, 10);
		sc = &shifted;
	}
	uint64_t seed = sc->seed;

	s.sc = sc;
	s.rng = sc->seed * 7 + 1;
	s.pool = calloc(POOL, sizeof(*s.pool));
	assert_non_null(s.pool);
	for (uint32_t i = 0; i < POOL; i++)
		s.pool[i].next_free = i + 1 < POOL ? i + 1 : UINT32_MAX;
	s.free_head = 0;

	/* Batches: views of a random master buffer at varying offsets (so a misordered or
	 * shifted batch shows), sizes 1 B .. 1 MiB, log-uniform, with exact multiples of
	 * max_payload and whole 1 MiB ones mixed in. */
	uint8_t *master = malloc(MASTER);
	assert_non_null(master);
	for (uint32_t i = 0; i < MASTER; i += 8) {
		uint64_t v = rnd(&seed);
		memcpy(master + i, &v, 8);
	}
	s.master = master;
	s.boff = calloc(sc->nbatches, sizeof(*s.boff));
	s.blen = calloc(sc->nbatches, sizeof(*s.blen));
	assert_true(s.boff && s.blen);
	for (uint32_t k = 0; k < sc->nbatches; k++) {
		uint32_t len;
		uint64_t r = rnd(&seed);
		if (sc->big || r % 20 == 0)
			len = 1u << 20;
		else if (r % 20 == 1)
			len = P * (uint32_t)(1 + rnd(&seed) % ((1u << 20) / P));
		else if (r % 20 == 2)
			len = 1 + (uint32_t)(rnd(&seed) % 3);
		else
			len = 1 + (uint32_t)(rnd(&seed) % (1u << (1 + rnd(&seed) % 20)));
		s.blen[k] = len;
		s.boff[k] = (uint32_t)(rnd(&seed) % (MASTER - len + 1));
	}

	struct ferry_wan_lane_tx_conf tc;
	ferry_wan_lane_tx_conf_default(&tc);
	tc.max_payload = P;
	tc.pkt_overhead = OVERHEAD;
	tc.max_frags = 16384;
	tc.max_batches = 64;
	tc.peer_buf = 16u << 20;
	tc.rate.ceiling_bps = 4 * sc->rate_bps; /* the controller has to find the bottleneck */
	tc.rate.seed = (uint32_t)sc->seed;
	s.tx = ferry_wan_lane_tx_create(&tc, 0, err, sizeof(err));
	if (!s.tx)
		fail_msg("tx create: %s", err);
	struct ferry_wan_lane_rx_conf rc;
	ferry_wan_lane_rx_conf_default(&rc);
	rc.max_payload = P;
	rc.buf_bytes = 16u << 20;
	s.rx = ferry_wan_lane_rx_create(&rc, err, sizeof(err));
	if (!s.rx)
		fail_msg("rx create: %s", err);
	s.tx_sched = s.rx_sched = UINT64_MAX;
	s.pn = 1;
	if (getenv("LANESIM_TRACE")) {
		/* LANESIM_TRACE=1: every 250 ms; a larger value is the interval in ms */
		uint64_t ms = strtoull(getenv("LANESIM_TRACE"), NULL, 10);
		s.trace_ns = (ms > 1 ? ms : 250) * MS;
	}

	tx_service(&s, 0);
	uint64_t now = 0, limit = 3600 * SEC;
	while (s.nheap && (s.done < sc->nbatches || s.delivered < sc->nbatches)) {
		struct ev e = heap_pop(&s);
		now = e.t;
		if (now > limit)
			fail_msg("%s: not done after an hour of simulated time: %u/%u delivered, "
				 "%u done", sc->name, s.delivered, sc->nbatches, s.done);
		switch (e.kind) {
		case EV_DATA: {
			struct pkt *p = &s.pool[e.pkt];
			ferry_wan_lane_rx_input(s.rx, &p->hdr, p->payload, now);
			pkt_free(&s, e.pkt);
			rx_consume(&s, now);
			rx_reschedule(&s, now);
			break;
		}
		case EV_ACK: {
			if (s.trace_ns && now / s.trace_ns != s.trace_tick) {
				const struct ferry_wan_rate *rr = &s.tx->rate;
				s.trace_tick = now / s.trace_ns;
				printf("  t=%.3f %s g %u pace %.1f btlbw %.1f Mb/s cwnd %" PRIu64
				       " inflight %" PRIu64 " minrtt %.1f srtt %.1f lost %u round %" PRIu64
				       " drops q %" PRIu64 " l %" PRIu64 " queued %" PRIu64 " unsent %" PRIu64
				       " dlv %.1f MB%s\n",
				       (double)now / SEC, ferry_wan_rate_state_name(rr->state),
				       rr->pacing_gain, ferry_wan_rate_pacing_bps(rr) / 1e6,
				       ferry_wan_rate_btlbw_bps(rr) / 1e6, rr->cwnd, s.tx->inflight,
				       rr->min_rtt_ns == UINT64_MAX ? -1.0 : (double)rr->min_rtt_ns / MS,
				       (double)s.tx->srtt_ns / MS, s.tx->lost_list.n, rr->round_count,
				       s.queue_drops, s.link_drops, s.tx->snd_end - s.tx->snd_una,
				       s.tx->snd_end - s.tx->snd_nxt, s.delivered_bytes / 1e6,
				       rr->app_limited_until ? " app-limited" : "");
			}
			struct pkt *p = &s.pool[e.pkt];
			struct ferry_wan_ack a;
			int rc2 = ferry_wan_ack_decode(ferry_span_make(p->ack, p->ack_len), &a, err,
						       sizeof(err));
			if (rc2 != 0)
				fail_msg("%s: ack decode: %s", sc->name, err);
			pkt_free(&s, e.pkt);
			if (ferry_wan_lane_tx_on_ack(s.tx, &a, now) < 0)
				fail_msg("%s: sender refused a receiver's ACK", sc->name);
			if (++s.acks_seen % 512 == 0)
				check_tx(&s);
			tx_service(&s, now);
			break;
		}
		case EV_TX_WAKE:
			if (e.t != s.tx_sched)
				break; /* superseded */
			s.tx_sched = UINT64_MAX;
			tx_service(&s, now);
			break;
		case EV_RX_WAKE:
			if (e.t != s.rx_sched)
				break;
			s.rx_sched = UINT64_MAX;
			rx_reschedule(&s, now);
			break;
		case EV_CONSUME:
			assert_int_equal(ferry_wan_lane_rx_release(s.rx), 0);
			s.unreleased--;
			rx_reschedule(&s, now);
			break;
		}
	}
	if (s.delivered != sc->nbatches || s.done != sc->nbatches)
		fail_msg("%s: simulation stalled at %.3f s: %u/%u delivered, %u done, tx %s", sc->name,
			 (double)now / SEC, s.delivered, sc->nbatches, s.done,
			 ferry_wan_lane_tx_idle(s.tx) ? "idle" : "busy");
	check_tx(&s);
	assert_true(ferry_wan_lane_tx_idle(s.tx));
	/* exactly once: the receiver holds nothing more */
	struct ferry_wan_lane_batch b;
	assert_int_equal(ferry_wan_lane_rx_next_batch(s.rx, &b), 0);

	res->bytes = s.delivered_bytes;
	res->start_ns = 0;
	res->end_ns = s.last_deliver_ns;
	res->txst = s.tx->st;
	res->rxst = s.rx->st;
	res->link_drops = s.link_drops;
	res->queue_drops = s.queue_drops;

	ferry_wan_lane_tx_free(s.tx);
	ferry_wan_lane_rx_free(s.rx);
	free(s.boff);
	free(s.blen);
	free(master);
	free(s.pool);
	free(s.heap);
	return true;
}

/* Delivered batch bytes as a percentage of the link rate. */
static double
goodput_pct(const struct scen *sc, const struct result *r)
{
	double secs = (double)(r->end_ns - r->start_ns) / SEC;
	return secs > 0 ? 100.0 * (double)r->bytes * 8 / secs / (double)sc->rate_bps : 0;
}

static double
retx_pct(const struct result *r)
{
	return 100.0 * (double)r->txst.bytes_retx /
	       (double)(r->txst.bytes_sent ? r->txst.bytes_sent : 1);
}

static void
report(const struct scen *sc, const struct result *r)
{
	double secs = (double)(r->end_ns - r->start_ns) / SEC;
	printf("# %-28s %4.0f MB in %7.2f s sim: goodput %5.1f %% of link (%5.1f %% of payload "
	       "capacity), retx %5.2f %% of bytes, "
	       "pkts %" PRIu64 " (fast %" PRIu64 " time %" PRIu64 " rto %" PRIu64 "), rto fired %" PRIu64
	       ", spurious %" PRIu64 ", srtt %.1f ms, rx dups %" PRIu64 ", drops link %" PRIu64
	       " queue %" PRIu64 "\n",
	       sc->name, (double)r->bytes / 1e6, secs, goodput_pct(sc, r),
	       goodput_pct(sc, r) * (P + OVERHEAD) / P, retx_pct(r),
	       r->txst.pkts_sent, r->txst.retx_fast, r->txst.retx_time, r->txst.retx_rto,
	       r->txst.rto_fired, r->txst.spurious, (double)r->txst.srtt_ns / MS,
	       r->rxst.drop[FERRY_WAN_LANE_RX_DROP_DUP_DELIVERED] +
		       r->rxst.drop[FERRY_WAN_LANE_RX_DROP_DUP_BUFFERED],
	       r->link_drops, r->queue_drops);
	fflush(stdout);
}

static struct scen
base(const char *name, uint64_t delay_ms, uint32_t loss_ppm, uint64_t seed)
{
	struct scen sc = {
		.name = name,
		.delay_ns = delay_ms * MS,
		.rate_bps = 100000000ull,
		.queue_bytes = 1u << 20,
		.loss_ppm = loss_ppm,
		.reorder_ppm = 10000,
		.reorder_ns = 5 * MS,
		.dup_ppm = 5000,
		.outage_start = UINT64_MAX,
		.outage_end = UINT64_MAX,
		.nbatches = 300,
		.seed = seed,
	};
	return sc;
}

static void
test_sim_loss(void **state)
{
	(void)state;
	/* min_goodput: % of the link that must be reached (0: none). At 30 % random loss a
	 * sender that read loss as congestion (or BBR v1, whose 1.25 probe cannot outgrow
	 * 30 % loss) delivered 1-6 %; now ~40-55 % at 70 ms and ~25-35 % at 200 ms RTT, where
	 * the 64-batch send buffer stalls behind fragments lost several times (see report). */
	static const struct {
		const char *name;
		uint64_t delay_ms;
		uint32_t loss_ppm;
		double min_goodput;
	} cases[] = {
		{ "35ms loss 0%", 35, 0, 0 },       { "35ms loss 1%", 35, 10000, 0 },
		{ "35ms loss 10%", 35, 100000, 0 }, { "35ms loss 30%", 35, 300000, 30 },
		{ "100ms loss 0%", 100, 0, 0 },     { "100ms loss 1%", 100, 10000, 0 },
		{ "100ms loss 10%", 100, 100000, 0 }, { "100ms loss 30%", 100, 300000, 15 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scen sc = base(cases[i].name, cases[i].delay_ms, cases[i].loss_ppm, 11 + i);
		struct result r;
		if (!run(&sc, &r))
			continue;
		report(&sc, &r);
		if (goodput_pct(&sc, &r) < cases[i].min_goodput)
			fail_msg("%s: goodput collapsed to %.1f %% of the link (bound %.0f %%)",
				 sc.name, goodput_pct(&sc, &r), cases[i].min_goodput);
	}
}

static void
test_sim_outage(void **state)
{
	(void)state;
	struct scen sc = base("35ms 1% + 5 s outage", 35, 10000, 99);
	sc.outage_start = 1 * SEC;
	sc.outage_end = 6 * SEC;
	struct result r;
	if (run(&sc, &r)) {
		report(&sc, &r);
		assert_true(r.txst.rto_fired > 0);
	}

	sc = base("100ms 1% + 8 s outage, slow consumer", 100, 10000, 7);
	sc.outage_start = 2 * SEC;
	sc.outage_end = 10 * SEC;
	sc.slow_consumer = true;
	if (run(&sc, &r))
		report(&sc, &r);
}

/*
 * Issue 5 targets, with margin below what the simulation reaches (92-93 % and 89-90 % of
 * the link, of a 93.7 % ceiling; retx 0.1 % and 1.0-1.2 %): retransmitted bytes at most
 * the loss rate + 2 %, most of which used to be the sender's own overshoot into the
 * bottleneck queue in STARTUP (7.8 % at 0.5 % loss).
 */
static void
check_goodput(const struct scen *sc, const struct result *r, double min_goodput, double max_retx)
{
	if (goodput_pct(sc, r) < min_goodput)
		fail_msg("%s: goodput %.1f %% of the link, below %.1f %%", sc->name,
			 goodput_pct(sc, r), min_goodput);
	if (retx_pct(r) > max_retx)
		fail_msg("%s: retransmitted %.2f %% of bytes, above %.2f %%", sc->name, retx_pct(r),
			 max_retx);
}

static void
test_sim_goodput(void **state)
{
	(void)state;
	struct result r;
	struct scen sc = base("goodput 0.1% 70ms RTT", 35, 1000, 5);
	sc.big = true;
	sc.nbatches = 150;
	sc.reorder_ppm = sc.dup_ppm = 0;
	if (run(&sc, &r)) {
		report(&sc, &r);
		check_goodput(&sc, &r, 88.0, 0.1 + 2.0);
	}

	sc = base("goodput 0.5% 200ms RTT", 100, 5000, 6);
	sc.big = true;
	sc.nbatches = 150;
	sc.reorder_ppm = sc.dup_ppm = 0;
	if (!run(&sc, &r))
		return;
	report(&sc, &r);
	check_goodput(&sc, &r, 85.0, 0.5 + 2.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_loss),
		cmocka_unit_test(test_sim_outage),
		cmocka_unit_test(test_sim_goodput),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
