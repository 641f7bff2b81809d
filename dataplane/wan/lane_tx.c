/*
 * lane_tx.c - the sender of one WAN lane: fragments batches, hands the caller the next
 * fragment to send (pacing, inflight cap, peer window), processes ACKs (cumulative + SACK),
 * detects losses, runs the RTO, measures RTT and reports finished batches in lane order.
 *
 * @locality lcore: one struct ferry_wan_lane_tx per lane, owned by the worker that runs the
 * lane. It owns its fragment ring, batch ring and transmission ring (allocated at create);
 * the batch bytes stay the caller's and are only pointed into, never copied.
 *
 * Structure (QUIC recovery, RFC 9002, over TCP-style lane sequence numbers):
 * - Fragments live in a ring indexed by seq. Each is UNSENT, in FLIGHT, LOST (waiting for a
 *   retransmission) or DONE. The in-flight ones are on a list in send order and the lost
 *   ones on a FIFO, so loss detection only ever looks at the oldest in-flight fragment and
 *   costs O(packets declared lost) per ACK, whatever the window.
 * - A SACK range is walked with a union-find "next not yet delivered" pointer per fragment,
 *   so the same large range reported again by every ACK costs nothing after the first time.
 * - Every transmission gets a lane-local index `xmit`; the ring of (pn, seq, sent time) in
 *   send order maps the ACK's largest pn to its transmission: an RTT sample even for a
 *   retransmitted fragment, and the reference point of loss detection.
 * - Loss: a fragment is lost when a transmission sent `reorder_thresh` packets after it was
 *   acked (fast retransmit; for first transmissions this includes the classic "3 below the
 *   highest SACKed seq"), or when one sent after it was acked and 9/8 RTT have passed
 *   (RACK, RFC 8985). Lost retransmissions are found the same way, which SACK alone cannot.
 *   Once a loss proves spurious (reordering), the packet threshold also waits for a
 *   RACK reordering window of min RTT / 4.
 * - RTO (RFC 6298): armed while data is outstanding; on expiry the oldest in-flight fragment
 *   is retransmitted past the cwnd and the RTO doubles. The same timer probes a zero window.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/wan_lane.h"

#define NIL UINT32_MAX

enum { W_UNSENT = 0, W_FLIGHT, W_LOST, W_DONE };
enum { WHY_NONE = 0, WHY_FAST, WHY_TIME, WHY_RTO };

#define RTO_GRANULARITY_NS 1000ull    /* G in RFC 6298 §2: our clock is ns, 1 us is plenty */
#define LOSS_TIMER_MIN_NS  1000000ull /* RFC 9002 kGranularity */

static inline uint32_t
slot_of(const struct ferry_wan_lane_tx *tx, uint64_t seq)
{
	return (uint32_t)(seq % tx->conf.max_frags);
}

static inline struct ferry_wan_lane_txfrag *
frag_at(struct ferry_wan_lane_tx *tx, uint64_t seq)
{
	return &tx->frags[slot_of(tx, seq)];
}

static inline uint64_t
wire_len(const struct ferry_wan_lane_tx *tx, const struct ferry_wan_lane_txfrag *f)
{
	return (uint64_t)f->len + tx->conf.pkt_overhead;
}

/* ---- lists of fragment slots ----------------------------------------------------------- */

static void
list_init(struct ferry_wan_lane_list *l)
{
	l->head = l->tail = NIL;
	l->n = 0;
}

static void
list_push_tail(struct ferry_wan_lane_tx *tx, struct ferry_wan_lane_list *l, uint32_t i)
{
	struct ferry_wan_lane_txfrag *f = &tx->frags[i];
	f->nxt = NIL;
	f->prev = l->tail;
	if (l->tail != NIL)
		tx->frags[l->tail].nxt = i;
	else
		l->head = i;
	l->tail = i;
	l->n++;
}

static void
list_remove(struct ferry_wan_lane_tx *tx, struct ferry_wan_lane_list *l, uint32_t i)
{
	struct ferry_wan_lane_txfrag *f = &tx->frags[i];
	if (f->prev != NIL)
		tx->frags[f->prev].nxt = f->nxt;
	else
		l->head = f->nxt;
	if (f->nxt != NIL)
		tx->frags[f->nxt].prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->nxt = NIL;
	l->n--;
}

/* ---- configuration --------------------------------------------------------------------- */

void
ferry_wan_lane_tx_conf_default(struct ferry_wan_lane_tx_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->max_payload = 1400;
	conf->max_batches = 1024;
	conf->max_frags = 16384;
	conf->pkt_overhead = 94; /* Ethernet 14 + IPv4 20 + UDP 8 + ferry header ~36 + GCM tag 16 */
	conf->reorder_thresh = 3;
	conf->min_rto_ns = 200000000ull;
	conf->max_rto_ns = 60000000000ull;
	conf->initial_rto_ns = 1000000000ull;
	conf->peer_buf = 1u << 20;
	conf->rate.ceiling_bps = 1000000000ull;
}

struct ferry_wan_lane_tx *
ferry_wan_lane_tx_create(const struct ferry_wan_lane_tx_conf *conf, uint64_t now, char *err,
			 size_t errlen)
{
	struct ferry_wan_lane_tx *tx;
	struct ferry_wan_lane_tx_conf c = *conf;
	int rc;

	if (c.max_payload == 0) {
		snprintf(err, errlen, "wan lane %u tx: max_payload is 0", c.lane);
		errno = EINVAL;
		return NULL;
	}
	if (c.max_batches == 0)
		c.max_batches = 1024;
	if (c.max_frags == 0)
		c.max_frags = 16384;
	if (c.reorder_thresh == 0)
		c.reorder_thresh = 3;
	if (c.min_rto_ns == 0)
		c.min_rto_ns = 200000000ull;
	if (c.max_rto_ns == 0)
		c.max_rto_ns = 60000000000ull;
	if (c.initial_rto_ns == 0)
		c.initial_rto_ns = 1000000000ull;
	if (c.peer_buf == 0)
		c.peer_buf = 1u << 20;
	if (c.min_rto_ns > c.max_rto_ns) {
		snprintf(err, errlen, "wan lane %u tx: min_rto %llu ns above max_rto %llu ns",
			 c.lane, (unsigned long long)c.min_rto_ns, (unsigned long long)c.max_rto_ns);
		errno = EINVAL;
		return NULL;
	}
	if (c.max_frags > UINT32_MAX / 2) {
		snprintf(err, errlen, "wan lane %u tx: max_frags %u too large", c.lane,
			 c.max_frags);
		errno = EINVAL;
		return NULL;
	}
	if (c.rate.mss == 0)
		c.rate.mss = (uint32_t)c.max_payload + c.pkt_overhead;

	tx = calloc(1, sizeof(*tx));
	if (!tx)
		goto out_nomem;
	tx->frags = calloc(c.max_frags, sizeof(*tx->frags));
	if (!tx->frags)
		goto out_free_tx;
	tx->batches = calloc(c.max_batches, sizeof(*tx->batches));
	if (!tx->batches)
		goto out_free_frags;
	/* Twice the fragment ring: room for every fragment in flight plus as many
	 * superseded transmissions whose ACKs may still come back. */
	tx->xring_cap = 2 * c.max_frags;
	tx->xring = calloc(tx->xring_cap, sizeof(*tx->xring));
	if (!tx->xring)
		goto out_free_batches;

	tx->conf = c;
	rc = ferry_wan_rate_init(&tx->rate, &c.rate, now, err, errlen);
	if (rc < 0) {
		errno = -rc;
		goto out_free_xring;
	}
	tx->conf.rate = tx->rate.conf;
	list_init(&tx->inflight_list);
	list_init(&tx->lost_list);
	tx->rto_ns = c.initial_rto_ns;
	tx->rto_deadline = UINT64_MAX;
	tx->loss_deadline = UINT64_MAX;
	tx->rtt_min_ns = UINT64_MAX;
	/* The receiver only ACKs data, so the first window must come from configuration
	 * (both gateways know the receive buffer size), not from an ACK. */
	tx->rwnd_edge = c.peer_buf / c.max_payload;
	for (uint32_t i = 0; i < c.max_frags; i++)
		tx->frags[i].prev = tx->frags[i].nxt = NIL;
	return tx;

out_free_xring:
	free(tx->xring);
out_free_batches:
	free(tx->batches);
out_free_frags:
	free(tx->frags);
out_free_tx:
	free(tx);
out_nomem:
	if (errno != EINVAL) {
		snprintf(err, errlen, "wan lane %u tx: out of memory", c.lane);
		errno = ENOMEM;
	}
	return NULL;
}

void
ferry_wan_lane_tx_free(struct ferry_wan_lane_tx *tx)
{
	if (!tx)
		return;
	free(tx->xring);
	free(tx->batches);
	free(tx->frags);
	free(tx);
}

/* ---- RTT and RTO ----------------------------------------------------------------------- */

static uint64_t
cur_rto(const struct ferry_wan_lane_tx *tx)
{
	uint64_t r = tx->rto_ns;
	for (uint32_t i = 0; i < tx->rto_backoff && r < tx->conf.max_rto_ns; i++)
		r *= 2;
	return r < tx->conf.max_rto_ns ? r : tx->conf.max_rto_ns;
}

void
ferry_wan_lane_tx_rtt_sample(struct ferry_wan_lane_tx *tx, uint64_t r)
{
	if (tx->srtt_ns == 0) {
		/* RFC 6298 §2.2: first measurement. */
		tx->srtt_ns = r;
		tx->rttvar_ns = r / 2;
	} else {
		/* §2.3, beta = 1/4, alpha = 1/8; RTTVAR first, with the old SRTT. */
		uint64_t d = tx->srtt_ns > r ? tx->srtt_ns - r : r - tx->srtt_ns;
		tx->rttvar_ns = (3 * tx->rttvar_ns + d) / 4;
		tx->srtt_ns = (7 * tx->srtt_ns + r) / 8;
	}
	uint64_t k = 4 * tx->rttvar_ns;
	uint64_t rto = tx->srtt_ns + (k > RTO_GRANULARITY_NS ? k : RTO_GRANULARITY_NS);
	/* §2.4 minimum (configurable; RFC says 1 s, data centres and WANs use less), §2.5 max. */
	if (rto < tx->conf.min_rto_ns)
		rto = tx->conf.min_rto_ns;
	if (rto > tx->conf.max_rto_ns)
		rto = tx->conf.max_rto_ns;
	tx->rto_ns = rto;
	tx->rto_backoff = 0; /* a fresh sample ends the backoff (§5.7) */
	tx->latest_rtt_ns = r;
	if (r < tx->rtt_min_ns)
		tx->rtt_min_ns = r;
	tx->st.rtt_samples++;
}

/* Arm the RTO while data is outstanding or a zero window blocks queued data (persist). */
static void
rearm_rto(struct ferry_wan_lane_tx *tx, uint64_t now)
{
	bool outstanding = tx->snd_una < tx->snd_nxt;
	bool zero_window = tx->snd_nxt < tx->snd_end && tx->snd_nxt >= tx->rwnd_edge;
	tx->rto_deadline = outstanding || zero_window ? now + cur_rto(tx) : UINT64_MAX;
}

/* ---- loss detection -------------------------------------------------------------------- */

static void
mark_lost(struct ferry_wan_lane_tx *tx, uint32_t i, uint8_t why)
{
	struct ferry_wan_lane_txfrag *f = &tx->frags[i];
	list_remove(tx, &tx->inflight_list, i);
	tx->inflight -= wire_len(tx, f);
	/* The rate control learns the path's random loss rate from these (rate.c); an RTO
	 * says more about an outage than about a loss rate, so it is left out. */
	if (f->rs.below_bw && why != WHY_RTO)
		tx->lost_pending_below_bw += wire_len(tx, f);
	f->where = W_LOST;
	f->lost_why = why;
	list_push_tail(tx, &tx->lost_list, i);
}

/* Walk the oldest in-flight transmissions; returns wire bytes declared lost. */
static uint64_t
detect_lost(struct ferry_wan_lane_tx *tx, uint64_t now)
{
	uint64_t lost = 0;

	tx->loss_deadline = UINT64_MAX;
	if (tx->largest_acked_xmit == 0)
		return 0;
	uint64_t lax = tx->largest_acked_xmit - 1;
	uint64_t rtt = tx->srtt_ns > tx->latest_rtt_ns ? tx->srtt_ns : tx->latest_rtt_ns;
	uint64_t thresh = rtt + rtt / 8; /* 9/8 RTT: RFC 9002 kTimeThreshold */
	if (thresh < LOSS_TIMER_MIN_NS)
		thresh = LOSS_TIMER_MIN_NS;
	/* RACK (RFC 8985 §6.2): once the path has been seen to reorder, a packet is only
	 * declared lost by the packet threshold when it was sent at least reo_wnd (min
	 * RTT / 4) before the newest acknowledged one; a packet merely overtaken by a few
	 * ms of reordering is left to the time threshold and its ACK normally comes first.
	 * Without this every reordered packet was retransmitted (~1 % of bytes at 0 %
	 * loss) and the spurious copies also disturbed the rate samples. */
	uint64_t reo_limit = UINT64_MAX; /* sent at or before this: old enough */
	if (tx->reordering_seen && tx->rtt_min_ns != UINT64_MAX && lax >= tx->xmit_base) {
		uint64_t lax_sent = tx->xring[lax % tx->xring_cap].sent_ns;
		uint64_t reo_wnd = tx->rtt_min_ns / 4;
		reo_limit = lax_sent > reo_wnd ? lax_sent - reo_wnd : 0;
	}

	while (tx->inflight_list.head != NIL) {
		uint32_t i = tx->inflight_list.head;
		struct ferry_wan_lane_txfrag *f = &tx->frags[i];
		if (f->xmit >= lax)
			break; /* sent after the newest acked transmission: no evidence yet */
		if (f->xmit + tx->conf.reorder_thresh <= lax && f->rs.sent_ns <= reo_limit) {
			lost += wire_len(tx, f);
			mark_lost(tx, i, WHY_FAST);
		} else if (f->rs.sent_ns + thresh <= now) {
			lost += wire_len(tx, f);
			mark_lost(tx, i, WHY_TIME);
		} else {
			tx->loss_deadline = f->rs.sent_ns + thresh;
			break;
		}
	}
	return lost;
}

static void
on_rto(struct ferry_wan_lane_tx *tx, uint64_t now)
{
	if (tx->inflight_list.head != NIL) {
		uint32_t i = tx->inflight_list.head;
		tx->lost_pending += wire_len(tx, &tx->frags[i]);
		mark_lost(tx, i, WHY_RTO);
	} else if (tx->lost_list.n == 0 && !(tx->snd_nxt < tx->snd_end)) {
		tx->rto_deadline = UINT64_MAX; /* nothing to probe with */
		return;
	}
	tx->st.rto_fired++;
	/* One packet past cwnd and window: the retransmission of the oldest fragment, or a
	 * zero-window probe carrying the next new one. */
	tx->probe_credit = 1;
	if (cur_rto(tx) < tx->conf.max_rto_ns)
		tx->rto_backoff++;
	tx->rto_deadline = now + cur_rto(tx);
}

static void
run_timers(struct ferry_wan_lane_tx *tx, uint64_t now)
{
	if (tx->loss_deadline <= now)
		tx->lost_pending += detect_lost(tx, now);
	if (tx->rto_deadline <= now)
		on_rto(tx, now);
}

/* ---- sending --------------------------------------------------------------------------- */

int
ferry_wan_lane_tx_push(struct ferry_wan_lane_tx *tx, const void *data, size_t len,
		       uint64_t cookie)
{
	const uint32_t P = tx->conf.max_payload;
	uint64_t nfrags = len == 0 ? 1 : (len + P - 1) / P;

	if (nfrags > UINT16_MAX || nfrags > tx->conf.max_frags)
		return -EMSGSIZE;
	if (tx->batch_tail - tx->batch_head >= tx->conf.max_batches)
		return -ENOBUFS;
	if (tx->snd_end + nfrags - tx->snd_una > tx->conf.max_frags)
		return -ENOBUFS;

	for (uint64_t k = 0; k < nfrags; k++) {
		uint64_t seq = tx->snd_end + k;
		struct ferry_wan_lane_txfrag *f = frag_at(tx, seq);
		size_t off = (size_t)k * P;
		f->p = (const uint8_t *)data + off;
		f->len = (uint16_t)(len - off < P ? len - off : P);
		f->seq = seq;
		f->next = seq;
		f->frag_idx = (uint16_t)k;
		f->frag_cnt = (uint16_t)nfrags;
		f->retx = 0;
		f->where = W_UNSENT;
		f->lost_why = WHY_NONE;
		f->prev = f->nxt = NIL;
	}
	struct ferry_wan_lane_txbatch *b = &tx->batches[tx->batch_tail % tx->conf.max_batches];
	b->cookie = cookie;
	b->first_seq = tx->snd_end;
	b->nfrags = (uint32_t)nfrags;
	tx->batch_tail++;
	tx->snd_end += nfrags;
	return 0;
}

static void
xring_add(struct ferry_wan_lane_tx *tx, uint64_t pn, uint64_t seq, uint64_t now)
{
	struct ferry_wan_lane_xmit *x = &tx->xring[tx->xmit_next % tx->xring_cap];
	x->pn = pn;
	x->seq = seq;
	x->sent_ns = now;
	tx->xmit_next++;
	if (tx->xmit_next - tx->xmit_base > tx->xring_cap)
		tx->xmit_base++;
}

/* Transmission index of packet number pn, by binary search (pns increase with xmit). */
static bool
xring_find(const struct ferry_wan_lane_tx *tx, uint64_t pn, uint64_t *xmit)
{
	uint64_t lo = tx->xmit_base, hi = tx->xmit_next;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		uint64_t v = tx->xring[mid % tx->xring_cap].pn;
		if (v == pn) {
			*xmit = mid;
			return true;
		}
		if (v < pn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool
cwnd_allows(const struct ferry_wan_lane_tx *tx, uint64_t wire)
{
	return tx->inflight == 0 || tx->inflight + wire <= ferry_wan_rate_cwnd(&tx->rate);
}

int
ferry_wan_lane_tx_poll(struct ferry_wan_lane_tx *tx, uint64_t now, uint64_t pn,
		       struct ferry_wan_lane_frag *out)
{
	struct ferry_wan_lane_txfrag *f = NULL;
	uint32_t i;
	bool probe = false;

	run_timers(tx, now);
	if (now < ferry_wan_rate_next_send(&tx->rate))
		return 0;
	if (tx->xmit_next > 0 && pn <= tx->last_pn)
		return 0; /* pn must increase: refuse rather than corrupt the pn -> xmit map */

	if (tx->lost_list.head != NIL) {
		i = tx->lost_list.head;
		if (cwnd_allows(tx, wire_len(tx, &tx->frags[i])) || tx->probe_credit) {
			probe = !cwnd_allows(tx, wire_len(tx, &tx->frags[i]));
			f = &tx->frags[i];
			list_remove(tx, &tx->lost_list, i);
		}
	} else if (tx->snd_nxt < tx->snd_end) {
		struct ferry_wan_lane_txfrag *n = frag_at(tx, tx->snd_nxt);
		bool ok = cwnd_allows(tx, wire_len(tx, n)) && tx->snd_nxt < tx->rwnd_edge;
		if (ok || tx->probe_credit) {
			probe = !ok;
			f = n;
			tx->snd_nxt++;
			if (tx->snd_max < tx->snd_nxt)
				tx->snd_max = tx->snd_nxt;
		}
	}
	if (!f) {
		/* Room in the pipe but nothing to send (or the peer's window is shut): what
		 * is measured now is our own rate, not the path's. */
		if (tx->lost_list.head == NIL &&
		    cwnd_allows(tx, (uint64_t)tx->conf.max_payload + tx->conf.pkt_overhead))
			ferry_wan_rate_app_limited(&tx->rate, tx->inflight);
		return 0;
	}

	if (probe) {
		tx->st.probes++;
	}
	if (tx->probe_credit)
		tx->probe_credit--;
	i = slot_of(tx, f->seq);
	uint64_t wire = wire_len(tx, f);
	if (f->where == W_LOST) {
		tx->st.pkts_retx++;
		tx->st.bytes_retx += f->len;
		if (f->lost_why == WHY_FAST)
			tx->st.retx_fast++;
		else if (f->lost_why == WHY_TIME)
			tx->st.retx_time++;
		else
			tx->st.retx_rto++;
		if (f->retx < UINT8_MAX)
			f->retx++;
	}
	f->pn = pn;
	f->xmit = tx->xmit_next;
	tx->last_pn = pn;
	xring_add(tx, pn, f->seq, now);
	ferry_wan_rate_on_send(&tx->rate, now, (uint32_t)wire, tx->inflight, &f->rs);
	f->where = W_FLIGHT;
	f->lost_why = WHY_NONE;
	list_push_tail(tx, &tx->inflight_list, i);
	tx->inflight += wire;
	tx->st.pkts_sent++;
	tx->st.bytes_sent += f->len;
	if (tx->rto_deadline == UINT64_MAX)
		tx->rto_deadline = now + cur_rto(tx);
	ferry_wan_rate_pace(&tx->rate, now, (uint32_t)wire);

	memset(&out->hdr, 0, sizeof(out->hdr));
	out->hdr.version = FERRY_WAN_VERSION;
	out->hdr.type = FERRY_WAN_T_DATA;
	out->hdr.lane = tx->conf.lane;
	out->hdr.flags = (uint8_t)((f->retx ? FERRY_WAN_F_RETX : 0) |
				   (f->frag_idx + 1 == f->frag_cnt ? FERRY_WAN_F_LAST : 0));
	out->hdr.pn = pn;
	out->hdr.seq = f->seq;
	out->hdr.frag_idx = f->frag_idx;
	out->hdr.frag_cnt = f->frag_cnt;
	out->hdr.len = f->len;
	out->payload = ferry_span_make(f->p, f->len);
	return 1;
}

/* ---- ACK processing -------------------------------------------------------------------- */

/* Smallest seq >= s in [s, snd_nxt) not yet delivered, or snd_nxt (union-find, halving). */
static uint64_t
find_undelivered(struct ferry_wan_lane_tx *tx, uint64_t s)
{
	while (s < tx->snd_nxt) {
		struct ferry_wan_lane_txfrag *f = frag_at(tx, s);
		if (f->next == s)
			return s;
		uint64_t p = f->next;
		if (p < tx->snd_nxt) {
			uint64_t g = frag_at(tx, p)->next;
			f->next = g; /* path halving: parents only ever point forward */
			s = g;
		} else {
			s = p;
		}
	}
	return tx->snd_nxt;
}

struct ack_scan {
	uint64_t newly;
	uint64_t acked_bytes;
	uint64_t acked_below_bw;
	struct ferry_wan_rate_pkt newest;
	uint64_t newest_xmit;
	bool have_newest;
	uint64_t karn_xmit; /* largest xmit among newly acked never-retransmitted, +1 */
	uint64_t karn_sent_ns;
	uint64_t spurious_seq; /* seq whose earlier transmission the ACK's largest pn is, +1 */
	uint64_t now;
};

static void
ack_one(struct ferry_wan_lane_tx *tx, uint64_t s, struct ack_scan *sc)
{
	uint32_t i = slot_of(tx, s);
	struct ferry_wan_lane_txfrag *f = &tx->frags[i];
	/* A retransmission acknowledged sooner than 3/4 of the path's min RTT after it left
	 * cannot be what arrived: an earlier transmission did (it was reordered, or the
	 * ACKs that reported it were lost). Its rate snapshot is then too recent: used as
	 * the newest delivered packet it ends the round trip after a few ms instead of an
	 * RTT, and with rounds that short the bandwidth filter's window (in rounds) shrinks
	 * below one PROBE_BW cycle, so each probe was forgotten before the next one and the
	 * estimate decayed at 1-10 % loss. The 1/4 margin allows for jitter below min RTT. */
	bool early = f->retx && tx->rtt_min_ns != UINT64_MAX &&
		     f->rs.sent_ns + tx->rtt_min_ns - tx->rtt_min_ns / 4 > sc->now;

	if (f->where == W_FLIGHT) {
		list_remove(tx, &tx->inflight_list, i);
		tx->inflight -= wire_len(tx, f);
		if (f->retx && (early || sc->spurious_seq == s + 1)) {
			/* the original arrived: the retransmission was not needed */
			tx->st.spurious++;
			tx->reordering_seen = true;
		}
	} else if (f->where == W_LOST) {
		/* Acked while waiting for its retransmission: the loss was not real. */
		list_remove(tx, &tx->lost_list, i);
		tx->st.spurious++;
		tx->reordering_seen = true;
	}
	f->where = W_DONE;
	f->next = s + 1;
	sc->newly++;
	sc->acked_bytes += wire_len(tx, f);
	if (f->rs.below_bw)
		sc->acked_below_bw += wire_len(tx, f);
	if (!early && (!sc->have_newest || f->xmit > sc->newest_xmit)) {
		sc->newest = f->rs;
		sc->newest_xmit = f->xmit;
		sc->have_newest = true;
	}
	/* Karn: only a fragment sent once says unambiguously which transmission arrived. */
	if (f->retx == 0 && f->xmit + 1 > sc->karn_xmit) {
		sc->karn_xmit = f->xmit + 1;
		sc->karn_sent_ns = f->rs.sent_ns;
	}
}

static void
ack_range(struct ferry_wan_lane_tx *tx, uint64_t a, uint64_t b, struct ack_scan *sc)
{
	if (a < tx->snd_una)
		a = tx->snd_una;
	for (uint64_t s = find_undelivered(tx, a); s < b; s = find_undelivered(tx, s + 1))
		ack_one(tx, s, sc);
}

int
ferry_wan_lane_tx_on_ack(struct ferry_wan_lane_tx *tx, const struct ferry_wan_ack *ack,
			 uint64_t now)
{
	struct ack_scan sc = { .now = now };
	uint64_t rtt = 0, lost;

	tx->st.acks++;
	/* Validate everything before touching state: an ACK for data never sent means a
	 * confused or hostile peer, and must not mark anything delivered. */
	if (ferry_wan_ack_check(ack, NULL, 0) != 0 || ack->cum_seq > tx->snd_max ||
	    (ack->nranges && ack->ranges[ack->nranges - 1].end > tx->snd_max)) {
		tx->st.acks_bad++;
		return -EINVAL;
	}

	/* The peer's right edge (its base + buffer slots) never moves back, so the max over
	 * ACKs is right even when ACKs arrive reordered or stale. */
	uint64_t edge = ack->cum_seq + ack->rwnd / tx->conf.max_payload;
	if (edge > tx->rwnd_edge)
		tx->rwnd_edge = edge;

	/* Largest pn: which transmission the peer saw last. */
	bool pn_new = ack->largest_pn > tx->largest_acked_pn || tx->largest_acked_sent_ns == 0;
	uint64_t pn_xmit = 0, pn_sent = 0;
	bool pn_found = false;
	if (pn_new && xring_find(tx, ack->largest_pn, &pn_xmit)) {
		const struct ferry_wan_lane_xmit *x = &tx->xring[pn_xmit % tx->xring_cap];
		pn_found = true;
		pn_sent = x->sent_ns;
		if (x->seq >= tx->snd_una && x->seq < tx->snd_nxt && frag_at(tx, x->seq)->xmit != pn_xmit)
			sc.spurious_seq = x->seq + 1;
	}

	ack_range(tx, tx->snd_una, ack->cum_seq, &sc);
	for (unsigned r = 0; r < ack->nranges; r++)
		ack_range(tx, ack->ranges[r].first, ack->ranges[r].end, &sc);
	while (tx->snd_una < tx->snd_nxt && frag_at(tx, tx->snd_una)->where == W_DONE)
		tx->snd_una++;

	if (pn_found) {
		tx->largest_acked_pn = ack->largest_pn;
		tx->largest_acked_sent_ns = pn_sent ? pn_sent : 1;
		if (pn_xmit + 1 > tx->largest_acked_xmit)
			tx->largest_acked_xmit = pn_xmit + 1;
		rtt = now - pn_sent;
	} else if (sc.karn_xmit) {
		rtt = now - sc.karn_sent_ns;
	}
	if (sc.karn_xmit > tx->largest_acked_xmit)
		tx->largest_acked_xmit = sc.karn_xmit;
	if (rtt) {
		/* RFC 9002 §5.3: take the peer's ACK delay out unless that would go below
		 * the minimum seen (a peer cannot make us think the path is faster). */
		uint64_t delay = (uint64_t)ack->ack_delay_us * 1000;
		if (tx->rtt_min_ns != UINT64_MAX && rtt >= tx->rtt_min_ns + delay)
			rtt -= delay;
		ferry_wan_lane_tx_rtt_sample(tx, rtt);
	}

	tx->st.srtt_ns = tx->srtt_ns;
	tx->st.rttvar_ns = tx->rttvar_ns;
	tx->st.rtt_min_ns = tx->rtt_min_ns == UINT64_MAX ? 0 : tx->rtt_min_ns;

	lost = detect_lost(tx, now) + tx->lost_pending;
	tx->lost_pending = 0;

	struct ferry_wan_rate_ack ra = {
		.newest = sc.have_newest ? &sc.newest : NULL,
		.acked_bytes = sc.acked_bytes,
		.lost_bytes = lost,
		.acked_below_bw = sc.acked_below_bw,
		.lost_below_bw = tx->lost_pending_below_bw,
		.rtt_ns = rtt,
		.inflight = tx->inflight,
	};
	ferry_wan_rate_on_ack(&tx->rate, now, &ra);
	tx->lost_pending_below_bw = 0;

	if (sc.newly)
		rearm_rto(tx, now); /* RFC 6298 §5.2-5.3 */
	else
		tx->st.acks_dup++;
	if (tx->rto_deadline == UINT64_MAX)
		rearm_rto(tx, now); /* a window opened or closed: persist timer */
	tx->st.rto_ns = cur_rto(tx);
	tx->st.inflight = tx->inflight;
	return (int)(sc.newly > INT32_MAX ? INT32_MAX : sc.newly);
}

int
ferry_wan_lane_tx_done(struct ferry_wan_lane_tx *tx, uint64_t *cookie)
{
	if (tx->batch_head == tx->batch_tail)
		return 0;
	const struct ferry_wan_lane_txbatch *b = &tx->batches[tx->batch_head % tx->conf.max_batches];
	if (tx->snd_una < b->first_seq + b->nfrags)
		return 0;
	*cookie = b->cookie;
	tx->batch_head++;
	tx->st.batches_done++;
	return 1;
}

uint64_t
ferry_wan_lane_tx_next_event(const struct ferry_wan_lane_tx *tx, uint64_t now)
{
	uint64_t t = tx->rto_deadline < tx->loss_deadline ? tx->rto_deadline : tx->loss_deadline;
	bool ready = false;

	if (tx->lost_list.head != NIL) {
		ready = tx->probe_credit ||
			cwnd_allows(tx, wire_len(tx, &tx->frags[tx->lost_list.head]));
	} else if (tx->snd_nxt < tx->snd_end) {
		const struct ferry_wan_lane_txfrag *f = &tx->frags[slot_of(tx, tx->snd_nxt)];
		ready = tx->probe_credit ||
			(cwnd_allows(tx, wire_len(tx, f)) && tx->snd_nxt < tx->rwnd_edge);
	}
	if (ready) {
		uint64_t s = ferry_wan_rate_next_send(&tx->rate);
		if (s < now)
			s = now;
		if (s < t)
			t = s;
	}
	return t;
}

bool
ferry_wan_lane_tx_idle(const struct ferry_wan_lane_tx *tx)
{
	return tx->batch_head == tx->batch_tail && tx->snd_una == tx->snd_end;
}

/* ---- invariants (tests, fuzzers) ------------------------------------------------------- */

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf(err, errlen, __VA_ARGS__);                                        \
			return -EFAULT;                                                            \
		}                                                                                  \
	} while (0)

static int
check_list(const struct ferry_wan_lane_tx *tx, const struct ferry_wan_lane_list *l, uint8_t where,
	   const char *name, uint64_t *bytes, char *err, size_t errlen)
{
	uint32_t n = 0, prev = NIL;
	uint64_t last_xmit = 0;

	*bytes = 0;
	for (uint32_t i = l->head; i != NIL; i = tx->frags[i].nxt) {
		const struct ferry_wan_lane_txfrag *f = &tx->frags[i];
		CHECK(i < tx->conf.max_frags, "%s list: slot %u out of range", name, i);
		CHECK(n < l->n, "%s list: longer than its count %u", name, l->n);
		CHECK(f->where == where, "%s list: seq %llu has state %u", name,
		      (unsigned long long)f->seq, f->where);
		CHECK(f->prev == prev, "%s list: broken back link at seq %llu", name,
		      (unsigned long long)f->seq);
		CHECK(f->seq >= tx->snd_una && f->seq < tx->snd_nxt,
		      "%s list: seq %llu outside [una %llu, nxt %llu)", name,
		      (unsigned long long)f->seq, (unsigned long long)tx->snd_una,
		      (unsigned long long)tx->snd_nxt);
		CHECK(slot_of(tx, f->seq) == i, "%s list: seq %llu in slot %u", name,
		      (unsigned long long)f->seq, i);
		if (where == W_FLIGHT)
			CHECK(n == 0 || f->xmit > last_xmit, "in-flight list not in send order at %llu",
			      (unsigned long long)f->seq);
		last_xmit = f->xmit;
		*bytes += wire_len(tx, f);
		prev = i;
		n++;
	}
	CHECK(n == l->n, "%s list: %u entries, count says %u", name, n, l->n);
	CHECK(l->tail == prev, "%s list: tail mismatch", name);
	return 0;
}

int
ferry_wan_lane_tx_check(const struct ferry_wan_lane_tx *tx, char *err, size_t errlen)
{
	uint64_t fbytes, lbytes;
	uint32_t nflight = 0, nlost = 0;
	int rc;

	CHECK(tx->snd_una <= tx->snd_nxt && tx->snd_nxt <= tx->snd_end,
	      "seq order: una %llu nxt %llu end %llu", (unsigned long long)tx->snd_una,
	      (unsigned long long)tx->snd_nxt, (unsigned long long)tx->snd_end);
	CHECK(tx->snd_end - tx->snd_una <= tx->conf.max_frags, "more fragments than the ring holds");
	CHECK(tx->batch_tail - tx->batch_head <= tx->conf.max_batches, "batch ring overfull");
	rc = check_list(tx, &tx->inflight_list, W_FLIGHT, "in-flight", &fbytes, err, errlen);
	if (rc)
		return rc;
	rc = check_list(tx, &tx->lost_list, W_LOST, "lost", &lbytes, err, errlen);
	if (rc)
		return rc;
	CHECK(fbytes == tx->inflight, "inflight %llu bytes, list holds %llu",
	      (unsigned long long)tx->inflight, (unsigned long long)fbytes);
	for (uint64_t s = tx->snd_una; s < tx->snd_end; s++) {
		const struct ferry_wan_lane_txfrag *f = &tx->frags[slot_of(tx, s)];
		CHECK(f->seq == s, "slot of seq %llu holds seq %llu", (unsigned long long)s,
		      (unsigned long long)f->seq);
		if (s >= tx->snd_nxt) {
			CHECK(f->where == W_UNSENT, "seq %llu not sent but in state %u",
			      (unsigned long long)s, f->where);
			continue;
		}
		CHECK(f->where != W_UNSENT, "seq %llu below nxt but unsent", (unsigned long long)s);
		CHECK(s != tx->snd_una || f->where != W_DONE, "una %llu is acked",
		      (unsigned long long)s);
		CHECK((f->where == W_DONE) == (f->next != s), "seq %llu delivered flag disagrees",
		      (unsigned long long)s);
		nflight += f->where == W_FLIGHT;
		nlost += f->where == W_LOST;
	}
	CHECK(nflight == tx->inflight_list.n && nlost == tx->lost_list.n,
	      "states count %u in flight / %u lost, lists %u / %u", nflight, nlost,
	      tx->inflight_list.n, tx->lost_list.n);
	uint64_t expect = UINT64_MAX;
	for (uint64_t b = tx->batch_head; b < tx->batch_tail; b++) {
		const struct ferry_wan_lane_txbatch *bt = &tx->batches[b % tx->conf.max_batches];
		CHECK(expect == UINT64_MAX || bt->first_seq == expect, "batch %llu does not follow on",
		      (unsigned long long)b);
		CHECK(bt->nfrags >= 1, "batch %llu has no fragments", (unsigned long long)b);
		expect = bt->first_seq + bt->nfrags;
	}
	CHECK(tx->batch_head == tx->batch_tail || expect == tx->snd_end,
	      "batches end at %llu, fragments at %llu", (unsigned long long)expect,
	      (unsigned long long)tx->snd_end);
	return 0;
}
