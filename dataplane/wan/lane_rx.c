/*
 * lane_rx.c - the receiver of one WAN lane: duplicate suppression, a bounded out-of-order
 * buffer, in-order reassembly of whole batches, and ACK generation (cumulative point, SACK
 * ranges, largest pn, ACK delay, receive window).
 *
 * @locality lcore: one struct ferry_wan_lane_rx per lane, owned by the worker running the
 * lane. It owns its reassembly buffer: nslots fragment slots of max_payload bytes, used as a
 * ring indexed by seq. Fragment payloads are COPIED into their slot; the DPDK version will
 * chain the received mbufs instead and keep this file's bookkeeping.
 *
 * Window: slots from `base` (the oldest batch handed out and not yet released) up to
 * base + nslots may be filled, so the advertised window (base + nslots - cum) x max_payload
 * falls as data is held and rises when the consumer releases batches: back-pressure from
 * the consumer to the sender. The right edge base + nslots never moves back, which lets the
 * sender take the max over reordered ACKs.
 *
 * A batch is the run of seqs frag_idx 0 .. frag_cnt-1. Every fragment but a batch's last is
 * exactly max_payload long, so a batch sits contiguously in its slots (two spans when it
 * wraps the ring) and no second copy is needed to hand it out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/wan_lane.h"

#define SACK_CAP (sizeof(((struct ferry_wan_lane_rx *)0)->sack) / sizeof(struct ferry_wan_sack_range))

static const char *const drop_names[] = {
#define FERRY_WAN_LANE_DROP_NAME(n, desc) #n,
	FERRY_WAN_LANE_RX_FOREACH_DROP(FERRY_WAN_LANE_DROP_NAME)
#undef FERRY_WAN_LANE_DROP_NAME
};

const char *
ferry_wan_lane_rx_drop_name(enum ferry_wan_lane_rx_drop d)
{
	if (d == FERRY_WAN_LANE_RX_OK)
		return "OK";
	if ((unsigned)d >= FERRY_WAN_LANE_RX_DROP__MAX)
		return "?";
	return drop_names[d];
}

void
ferry_wan_lane_rx_conf_default(struct ferry_wan_lane_rx_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->max_payload = 1400;
	conf->buf_bytes = 64ull << 20;
	conf->ack_every = 2;
	conf->ack_delay_ns = 5000000ull;
	conf->ack_ranges = FERRY_WAN_ACK_RANGES_MAX;
}

struct ferry_wan_lane_rx *
ferry_wan_lane_rx_create(const struct ferry_wan_lane_rx_conf *conf, char *err, size_t errlen)
{
	struct ferry_wan_lane_rx_conf c = *conf;
	struct ferry_wan_lane_rx *rx;
	uint64_t nslots;

	if (c.max_payload == 0) {
		snprintf(err, errlen, "wan lane %u rx: max_payload is 0", c.lane);
		goto out_inval;
	}
	nslots = c.buf_bytes / c.max_payload;
	if (nslots < 2 || nslots > UINT32_MAX / 2) {
		snprintf(err, errlen, "wan lane %u rx: buf_bytes %llu gives %llu slots of %u bytes, "
			 "need 2 .. %u", c.lane, (unsigned long long)c.buf_bytes,
			 (unsigned long long)nslots, c.max_payload, UINT32_MAX / 2);
		goto out_inval;
	}
	if (c.max_batch_frags == 0)
		c.max_batch_frags = nslots < UINT16_MAX ? (uint32_t)nslots : UINT16_MAX;
	/* A batch must fit the buffer whole, or it could never complete: a deadlock. */
	if (c.max_batch_frags > nslots) {
		snprintf(err, errlen, "wan lane %u rx: max_batch_frags %u exceeds the %llu buffer slots",
			 c.lane, c.max_batch_frags, (unsigned long long)nslots);
		goto out_inval;
	}
	if (c.ack_every == 0)
		c.ack_every = 2;
	if (c.ack_delay_ns == 0)
		c.ack_delay_ns = 5000000ull;
	if (c.ack_ranges == 0 || c.ack_ranges > FERRY_WAN_ACK_RANGES_MAX)
		c.ack_ranges = FERRY_WAN_ACK_RANGES_MAX;

	rx = calloc(1, sizeof(*rx));
	if (!rx)
		goto out_nomem;
	rx->slots = calloc(nslots, sizeof(*rx->slots));
	if (!rx->slots)
		goto out_free_rx;
	rx->buf = malloc(nslots * c.max_payload);
	if (!rx->buf)
		goto out_free_slots;
	rx->conf = c;
	rx->nslots = (uint32_t)nslots;
	rx->ack_deadline = UINT64_MAX;
	rx->last_rwnd = ferry_wan_lane_rx_rwnd(rx);
	return rx;

out_free_slots:
	free(rx->slots);
out_free_rx:
	free(rx);
out_nomem:
	snprintf(err, errlen, "wan lane %u rx: out of memory", c.lane);
	errno = ENOMEM;
	return NULL;
out_inval:
	errno = EINVAL;
	return NULL;
}

void
ferry_wan_lane_rx_free(struct ferry_wan_lane_rx *rx)
{
	if (!rx)
		return;
	free(rx->buf);
	free(rx->slots);
	free(rx);
}

uint64_t
ferry_wan_lane_rx_rwnd(const struct ferry_wan_lane_rx *rx)
{
	return (rx->base + rx->nslots - rx->cum) * rx->conf.max_payload;
}

static inline struct ferry_wan_lane_rxslot *
slot_at(struct ferry_wan_lane_rx *rx, uint64_t seq)
{
	return &rx->slots[seq % rx->nslots];
}

static inline bool
held(struct ferry_wan_lane_rx *rx, uint64_t seq)
{
	const struct ferry_wan_lane_rxslot *s = slot_at(rx, seq);
	return s->held && s->seq == seq;
}

static enum ferry_wan_lane_rx_drop
drop(struct ferry_wan_lane_rx *rx, enum ferry_wan_lane_rx_drop why)
{
	rx->st.drop[why]++;
	rx->st.dropped++;
	return why;
}

/* ---- SACK ranges: most recent first ---------------------------------------------------- */

static void
sack_to_front(struct ferry_wan_lane_rx *rx, uint32_t i)
{
	struct ferry_wan_sack_range r = rx->sack[i];
	memmove(&rx->sack[1], &rx->sack[0], i * sizeof(r));
	rx->sack[0] = r;
}

static void
sack_remove(struct ferry_wan_lane_rx *rx, uint32_t i)
{
	memmove(&rx->sack[i], &rx->sack[i + 1], (rx->nsack - i - 1) * sizeof(rx->sack[0]));
	rx->nsack--;
}

/* seq arrived above cum: extend, merge or start a range, and make it the most recent. The
 * oldest range falls off when the list is full; its data stays held and is acknowledged
 * when the cumulative point passes it (at worst the sender retransmits a duplicate). */
static void
sack_add(struct ferry_wan_lane_rx *rx, uint64_t seq)
{
	uint32_t up = UINT32_MAX, down = UINT32_MAX;

	for (uint32_t i = 0; i < rx->nsack; i++) {
		if (rx->sack[i].end == seq)
			up = i;
		else if (rx->sack[i].first == seq + 1)
			down = i;
	}
	if (up != UINT32_MAX && down != UINT32_MAX) {
		rx->sack[up].end = rx->sack[down].end;
		sack_remove(rx, down);
		if (down < up)
			up--;
		sack_to_front(rx, up);
	} else if (up != UINT32_MAX) {
		rx->sack[up].end++;
		sack_to_front(rx, up);
	} else if (down != UINT32_MAX) {
		rx->sack[down].first--;
		sack_to_front(rx, down);
	} else {
		if (rx->nsack == SACK_CAP)
			rx->nsack--;
		memmove(&rx->sack[1], &rx->sack[0], rx->nsack * sizeof(rx->sack[0]));
		rx->sack[0].first = seq;
		rx->sack[0].end = seq + 1;
		rx->nsack++;
	}
}

static void
sack_trim(struct ferry_wan_lane_rx *rx)
{
	for (uint32_t i = 0; i < rx->nsack;) {
		struct ferry_wan_sack_range *r = &rx->sack[i];
		/* A range is always passed whole; clamping only matters after a fragment
		 * was discarded as inconsistent at the cumulative point. */
		if (r->first <= rx->cum)
			r->first = rx->cum + 1;
		if (r->first >= r->end)
			sack_remove(rx, i);
		else
			i++;
	}
}

/* ---- input ----------------------------------------------------------------------------- */

/* Move the cumulative point over held fragments, tracking the batch open at the edge. */
static void
advance(struct ferry_wan_lane_rx *rx)
{
	while (rx->cum < rx->base + rx->nslots && held(rx, rx->cum)) {
		struct ferry_wan_lane_rxslot *s = slot_at(rx, rx->cum);
		bool ok = rx->edge_open ? s->frag_idx == rx->cum - rx->edge_start &&
						  s->frag_cnt == rx->edge_cnt
					: s->frag_idx == 0;
		if (!ok) {
			/* Held out of order, and only now contradicted by the batch before
			 * it: drop it (a correct sender never gets here). */
			s->held = false;
			drop(rx, FERRY_WAN_LANE_RX_DROP_INCONSISTENT);
			rx->st.accepted--;
			break;
		}
		if (s->frag_idx + 1 == s->frag_cnt) {
			rx->edge_open = false;
		} else if (s->frag_idx == 0) {
			rx->edge_open = true;
			rx->edge_start = rx->cum;
			rx->edge_cnt = s->frag_cnt;
		}
		rx->cum++;
	}
	sack_trim(rx);
}

/* Does (seq, idx, cnt) agree with the batch at the edge and with held neighbours? */
static bool
consistent(struct ferry_wan_lane_rx *rx, uint64_t seq, uint16_t idx, uint16_t cnt)
{
	if (idx > seq)
		return false; /* the batch would start before seq 0 */
	uint64_t start = seq - idx;
	if (rx->edge_open) {
		uint64_t end = rx->edge_start + rx->edge_cnt;
		if (seq < end ? start != rx->edge_start || cnt != rx->edge_cnt : start < end)
			return false;
	} else if (start < rx->cum) {
		return false;
	}
	if (seq > rx->cum && held(rx, seq - 1)) {
		const struct ferry_wan_lane_rxslot *p = slot_at(rx, seq - 1);
		if (idx > 0 ? p->frag_idx + 1 != idx || p->frag_cnt != cnt
			    : p->frag_idx + 1 != p->frag_cnt)
			return false;
	}
	if (seq + 1 < rx->base + rx->nslots && held(rx, seq + 1)) {
		const struct ferry_wan_lane_rxslot *n = slot_at(rx, seq + 1);
		if (idx + 1 < cnt ? n->frag_idx != idx + 1 || n->frag_cnt != cnt : n->frag_idx != 0)
			return false;
	}
	return true;
}

enum ferry_wan_lane_rx_drop
ferry_wan_lane_rx_input(struct ferry_wan_lane_rx *rx, const struct ferry_wan_hdr *h,
			struct ferry_span payload, uint64_t now)
{
	const uint32_t P = rx->conf.max_payload;
	bool last = h->frag_idx + 1 == h->frag_cnt;

	rx->st.pkts++;
	if (h->type != FERRY_WAN_T_DATA || h->lane != rx->conf.lane)
		return drop(rx, FERRY_WAN_LANE_RX_DROP_NOT_DATA);
	if (h->frag_cnt == 0 || h->frag_idx >= h->frag_cnt ||
	    !!(h->flags & FERRY_WAN_F_LAST) != last)
		return drop(rx, FERRY_WAN_LANE_RX_DROP_BAD_FRAG);
	if (h->len != payload.len || payload.len > P || (!last && payload.len != P))
		return drop(rx, FERRY_WAN_LANE_RX_DROP_BAD_LEN);
	if (h->frag_cnt > rx->conf.max_batch_frags)
		return drop(rx, FERRY_WAN_LANE_RX_DROP_TOO_BIG);

	/* Any well-formed packet of ours counts for the largest pn, duplicates too: the
	 * sender's loss detection and RTT need to know what arrived, not what was new. */
	if (!rx->seen_pn || h->pn > rx->largest_pn) {
		rx->largest_pn = h->pn;
		rx->largest_pn_ns = now;
		rx->seen_pn = true;
	}

	/* Duplicates and out-of-window data get an ACK at once: the sender is probably
	 * retransmitting because ACKs were lost, or probing a closed window. */
	if (h->seq < rx->cum) {
		rx->ack_now = true;
		return drop(rx, FERRY_WAN_LANE_RX_DROP_DUP_DELIVERED);
	}
	if (h->seq - rx->base >= rx->nslots) {
		rx->ack_now = true;
		return drop(rx, FERRY_WAN_LANE_RX_DROP_BEYOND_WINDOW);
	}
	if (held(rx, h->seq)) {
		rx->ack_now = true;
		return drop(rx, FERRY_WAN_LANE_RX_DROP_DUP_BUFFERED);
	}
	if (!consistent(rx, h->seq, h->frag_idx, h->frag_cnt))
		return drop(rx, FERRY_WAN_LANE_RX_DROP_INCONSISTENT);

	struct ferry_wan_lane_rxslot *s = slot_at(rx, h->seq);
	if (payload.len)
		memcpy(rx->buf + (size_t)(h->seq % rx->nslots) * P, payload.p, payload.len);
	s->seq = h->seq;
	s->len = (uint16_t)payload.len;
	s->frag_idx = h->frag_idx;
	s->frag_cnt = h->frag_cnt;
	s->held = true;
	rx->st.accepted++;

	if (h->seq == rx->cum) {
		bool filled_hole = rx->nsack > 0;
		advance(rx);
		rx->unacked_pkts++;
		/* RFC 5681 §4.2: ACK at once when a segment fills a hole; else every
		 * ack_every packets, or when the delayed-ACK timer fires. */
		if (filled_hole || rx->unacked_pkts >= rx->conf.ack_every)
			rx->ack_now = true;
		else if (rx->ack_deadline == UINT64_MAX)
			rx->ack_deadline = now + rx->conf.ack_delay_ns;
	} else {
		rx->st.out_of_order++;
		sack_add(rx, h->seq);
		rx->ack_now = true;
	}
	return FERRY_WAN_LANE_RX_OK;
}

/* ---- delivery -------------------------------------------------------------------------- */

int
ferry_wan_lane_rx_next_batch(struct ferry_wan_lane_rx *rx, struct ferry_wan_lane_batch *b)
{
	const uint32_t P = rx->conf.max_payload;

	if (rx->deliver_seq >= rx->cum)
		return 0;
	const struct ferry_wan_lane_rxslot *s = slot_at(rx, rx->deliver_seq);
	uint32_t cnt = s->frag_cnt;
	if (rx->deliver_seq + cnt > rx->cum)
		return 0; /* the batch is still open at the cumulative point */
	uint64_t first = rx->deliver_seq;
	size_t len = (size_t)(cnt - 1) * P + slot_at(rx, first + cnt - 1)->len;
	uint32_t i0 = (uint32_t)(first % rx->nslots);

	b->first_seq = first;
	b->nfrags = cnt;
	b->len = len;
	b->seg[0].p = rx->buf + (size_t)i0 * P;
	if ((uint64_t)i0 + cnt <= rx->nslots) {
		b->seg[0].len = len;
		b->seg[1] = ferry_span_make(rx->buf, 0);
	} else {
		size_t n0 = (size_t)(rx->nslots - i0) * P;
		b->seg[0].len = n0;
		b->seg[1] = ferry_span_make(rx->buf, len - n0);
	}
	rx->deliver_seq += cnt;
	rx->st.batches++;
	rx->st.bytes += len;
	return 1;
}

int
ferry_wan_lane_rx_release(struct ferry_wan_lane_rx *rx)
{
	if (rx->base >= rx->deliver_seq)
		return -ENOENT;
	uint32_t cnt = slot_at(rx, rx->base)->frag_cnt;
	for (uint32_t k = 0; k < cnt; k++)
		slot_at(rx, rx->base + k)->held = false;
	rx->base += cnt;
	/* Window update: a sender stopped by a window under half the buffer hears at once
	 * that it may go on (if this ACK is lost its zero-window probe asks again). */
	uint64_t half = (uint64_t)rx->nslots * rx->conf.max_payload / 2;
	if (rx->last_rwnd < half && ferry_wan_lane_rx_rwnd(rx) >= half)
		rx->ack_now = true;
	return 0;
}

/* ---- ACKs ------------------------------------------------------------------------------ */

bool
ferry_wan_lane_rx_ack_due(const struct ferry_wan_lane_rx *rx, uint64_t now)
{
	return rx->ack_now || now >= rx->ack_deadline;
}

uint64_t
ferry_wan_lane_rx_ack_deadline(const struct ferry_wan_lane_rx *rx)
{
	return rx->ack_now ? 0 : rx->ack_deadline;
}

void
ferry_wan_lane_rx_build_ack(struct ferry_wan_lane_rx *rx, uint64_t now, struct ferry_wan_ack *ack)
{
	uint64_t rwnd = ferry_wan_lane_rx_rwnd(rx);
	uint32_t n = rx->nsack < rx->conf.ack_ranges ? rx->nsack : rx->conf.ack_ranges;

	memset(ack, 0, sizeof(*ack));
	ack->cum_seq = rx->cum;
	ack->largest_pn = rx->largest_pn;
	if (rx->seen_pn && now > rx->largest_pn_ns) {
		uint64_t us = (now - rx->largest_pn_ns) / 1000;
		ack->ack_delay_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	}
	ack->rwnd = rwnd > UINT32_MAX ? UINT32_MAX : (uint32_t)rwnd;
	/* Report the n most recent ranges (the newest arrival's always first chosen, as
	 * TCP does), stored sorted as on the wire. */
	ack->nranges = (uint8_t)n;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = i;
		while (j > 0 && ack->ranges[j - 1].first > rx->sack[i].first) {
			ack->ranges[j] = ack->ranges[j - 1];
			j--;
		}
		ack->ranges[j] = rx->sack[i];
	}
	rx->unacked_pkts = 0;
	rx->ack_deadline = UINT64_MAX;
	rx->ack_now = false;
	rx->last_rwnd = rwnd;
	rx->st.acks++;
}
