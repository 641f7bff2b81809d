/*
 * test_wan_lane.c - WAN lane reliability without a network: the ACK codec (round trip and
 * every rejection), the receiver (SACK range generation, windows, duplicates, reassembly of
 * multi-fragment batches out of order and across the ring's wrap, rwnd falling and rising
 * with buffer use) and the sender (RFC 6298 RTO arithmetic and backoff, fast retransmit on
 * a gap, RTO on tail loss, in-order completion, stale and bogus ACKs).
 */
#include <errno.h>

#include "testutil.h"

#include "ferry/common.h"
#include "ferry/wan_lane.h"

#define MS 1000000ull

static char errbuf[256];

/* ---- ACK codec ------------------------------------------------------------------------- */

static size_t
encode(const struct ferry_wan_ack *a, uint8_t *buf, size_t cap)
{
	struct ferry_wr w;
	ferry_wr_init(&w, buf, cap);
	assert_int_equal(ferry_wan_ack_encode(&w, a), 0);
	return w.len;
}

static void
test_ack_roundtrip(void **state)
{
	(void)state;
	struct ferry_wan_ack a = { .cum_seq = 100, .largest_pn = 7777, .ack_delay_us = 1234,
				   .rwnd = 65536, .nranges = 3 };
	/* given out of order (recency order): the encoder sorts */
	a.ranges[0] = (struct ferry_wan_sack_range){ 200, 210 };
	a.ranges[1] = (struct ferry_wan_sack_range){ 102, 105 };
	a.ranges[2] = (struct ferry_wan_sack_range){ 150, 151 };
	uint8_t buf[FERRY_WAN_ACK_MAX_LEN];
	size_t n = encode(&a, buf, sizeof(buf));
	assert_int_equal(n, FERRY_WAN_ACK_FIXED_LEN + 3 * FERRY_WAN_ACK_RANGE_LEN);

	struct ferry_wan_ack d;
	assert_int_equal(ferry_wan_ack_decode(ferry_span_make(buf, n), &d, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(d.cum_seq, 100);
	assert_int_equal(d.largest_pn, 7777);
	assert_int_equal(d.ack_delay_us, 1234);
	assert_int_equal(d.rwnd, 65536);
	assert_int_equal(d.nranges, 3);
	assert_int_equal(d.ranges[0].first, 102);
	assert_int_equal(d.ranges[0].end, 105);
	assert_int_equal(d.ranges[1].first, 150);
	assert_int_equal(d.ranges[2].first, 200);
	assert_int_equal(d.ranges[2].end, 210);

	/* every strict prefix is truncated */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(ferry_wan_ack_decode(ferry_span_make(buf, k), &d, errbuf,
						      sizeof(errbuf)),
				 FERRY_ERR__TRUNCATED);
	/* no room in the output */
	struct ferry_wr w;
	ferry_wr_init(&w, buf, 10);
	assert_int_equal(ferry_wan_ack_encode(&w, &a), FERRY_ERR__NOSPACE);
}

/* Write a raw ACK with the given ranges (no checks) and return the decode result. */
static int
decode_raw_n(uint64_t cum, unsigned nr, const uint64_t *r, unsigned nw, size_t extra)
{
	uint8_t buf[FERRY_WAN_ACK_MAX_LEN + 64];
	struct ferry_wr w;
	struct ferry_wan_ack d;
	ferry_wr_init(&w, buf, sizeof(buf));
	ferry_wr_i64(&w, (int64_t)cum);
	ferry_wr_i64(&w, 1);
	ferry_wr_u32(&w, 0);
	ferry_wr_u32(&w, 1000);
	ferry_wr_i8(&w, (int8_t)nr);
	for (unsigned i = 0; i < nw; i++) {
		ferry_wr_i64(&w, (int64_t)r[2 * i]);
		ferry_wr_i64(&w, (int64_t)r[2 * i + 1]);
	}
	for (size_t i = 0; i < extra; i++)
		ferry_wr_i8(&w, 0);
	assert_false(w.overflow);
	errbuf[0] = 0;
	return ferry_wan_ack_decode(ferry_span_make(buf, w.len), &d, errbuf, sizeof(errbuf));
}

/* Declared count == ranges written. */
static int
decode_raw(uint64_t cum, unsigned nr, const uint64_t *r, size_t extra)
{
	return decode_raw_n(cum, nr, r, nr, extra);
}

static void
test_ack_rejects(void **state)
{
	(void)state;
	const uint64_t ok[] = { 12, 14, 20, 25 };
	assert_int_equal(decode_raw(10, 2, ok, 0), 0);
	assert_int_equal(decode_raw(10, 2, ok, 1), FERRY_ERR__TRAILING);
	assert_non_null(strstr(errbuf, "after"));

	const uint64_t unsorted[] = { 20, 25, 12, 14 };
	assert_int_equal(decode_raw(10, 2, unsorted, 0), FERRY_ERR__INVALID_ARG);
	assert_non_null(strstr(errbuf, "range 1"));
	const uint64_t overlap[] = { 12, 20, 18, 25 };
	assert_int_equal(decode_raw(10, 2, overlap, 0), FERRY_ERR__INVALID_ARG);
	const uint64_t adjacent[] = { 12, 20, 20, 25 };
	assert_int_equal(decode_raw(10, 2, adjacent, 0), FERRY_ERR__INVALID_ARG);
	const uint64_t below[] = { 5, 8 };
	assert_int_equal(decode_raw(10, 1, below, 0), FERRY_ERR__INVALID_ARG);
	assert_non_null(strstr(errbuf, "cumulative"));
	const uint64_t at_cum[] = { 10, 12 };
	assert_int_equal(decode_raw(10, 1, at_cum, 0), FERRY_ERR__INVALID_ARG);
	const uint64_t empty[] = { 12, 12 };
	assert_int_equal(decode_raw(10, 1, empty, 0), FERRY_ERR__INVALID_ARG);
	assert_non_null(strstr(errbuf, "empty"));
	const uint64_t inverted[] = { 14, 12 };
	assert_int_equal(decode_raw(10, 1, inverted, 0), FERRY_ERR__INVALID_ARG);

	uint64_t many[2 * 17];
	for (unsigned i = 0; i < 17; i++) {
		many[2 * i] = 20 + 3 * i;
		many[2 * i + 1] = 21 + 3 * i;
	}
	assert_int_equal(decode_raw(10, 17, many, 0), FERRY_ERR__BAD_LENGTH);
	assert_int_equal(decode_raw(10, 16, many, 0), 0);
	/* a count the bytes cannot hold */
	assert_int_equal(decode_raw_n(10, 3, ok, 2, 0), FERRY_ERR__TRUNCATED);

	/* the encoder refuses what the decoder would refuse */
	struct ferry_wan_ack a = { .cum_seq = 10, .nranges = 2 };
	a.ranges[0] = (struct ferry_wan_sack_range){ 12, 20 };
	a.ranges[1] = (struct ferry_wan_sack_range){ 15, 25 };
	uint8_t buf[FERRY_WAN_ACK_MAX_LEN];
	struct ferry_wr w;
	ferry_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(ferry_wan_ack_encode(&w, &a), FERRY_ERR__INVALID_ARG);
}

/* ---- receiver -------------------------------------------------------------------------- */

#define RP 100 /* max_payload in receiver tests */

static struct ferry_wan_lane_rx *
rx_make(uint32_t nslots, uint32_t ack_ranges)
{
	struct ferry_wan_lane_rx_conf c;
	ferry_wan_lane_rx_conf_default(&c);
	c.max_payload = RP;
	c.buf_bytes = (uint64_t)nslots * RP;
	c.ack_ranges = ack_ranges;
	struct ferry_wan_lane_rx *rx = ferry_wan_lane_rx_create(&c, errbuf, sizeof(errbuf));
	assert_non_null(rx);
	return rx;
}

static uint8_t pattern[1 << 16];

static enum ferry_wan_lane_rx_drop
rx_frag(struct ferry_wan_lane_rx *rx, uint64_t seq, uint16_t idx, uint16_t cnt, uint16_t len,
	uint64_t pn, const uint8_t *p)
{
	struct ferry_wan_hdr h = { .version = FERRY_WAN_VERSION, .type = FERRY_WAN_T_DATA,
				   .pn = pn, .seq = seq, .frag_idx = idx, .frag_cnt = cnt,
				   .len = len };
	if (idx + 1 == cnt)
		h.flags |= FERRY_WAN_F_LAST;
	return ferry_wan_lane_rx_input(rx, &h, ferry_span_make(p, len), 1000);
}

static void
test_rx_sack_ranges(void **state)
{
	(void)state;
	struct ferry_wan_lane_rx *rx = rx_make(64, 2);
	struct ferry_wan_ack a;
	const uint64_t order[] = { 0, 1, 3, 5, 6, 9 };
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(rx_frag(rx, order[i], 0, 1, 10, 100 + i, pattern), FERRY_WAN_LANE_RX_OK);
	assert_true(ferry_wan_lane_rx_ack_due(rx, 1000)); /* out of order: at once */
	ferry_wan_lane_rx_build_ack(rx, 3000, &a);
	assert_int_equal(a.cum_seq, 2);
	assert_int_equal(a.largest_pn, 105);
	assert_int_equal(a.ack_delay_us, 2);
	/* three ranges held, two reported: the most recent ones ([9,10) and [5,7)), sorted */
	assert_int_equal(a.nranges, 2);
	assert_int_equal(a.ranges[0].first, 5);
	assert_int_equal(a.ranges[0].end, 7);
	assert_int_equal(a.ranges[1].first, 9);
	assert_int_equal(a.ranges[1].end, 10);
	assert_int_equal(ferry_wan_ack_check(&a, errbuf, sizeof(errbuf)), 0);
	assert_false(ferry_wan_lane_rx_ack_due(rx, 3000));

	/* 4 joins [3,4) and [5,7) into one; 2 then fills the hole up to 7 */
	assert_int_equal(rx_frag(rx, 4, 0, 1, 10, 106, pattern), FERRY_WAN_LANE_RX_OK);
	ferry_wan_lane_rx_build_ack(rx, 3000, &a);
	assert_int_equal(a.nranges, 2);
	assert_int_equal(a.ranges[0].first, 3);
	assert_int_equal(a.ranges[0].end, 7);
	assert_int_equal(rx_frag(rx, 2, 0, 1, 10, 107, pattern), FERRY_WAN_LANE_RX_OK);
	assert_true(ferry_wan_lane_rx_ack_due(rx, 3000)); /* filled a hole: at once */
	ferry_wan_lane_rx_build_ack(rx, 3000, &a);
	assert_int_equal(a.cum_seq, 7);
	assert_int_equal(a.nranges, 1);
	assert_int_equal(a.ranges[0].first, 9);
	assert_int_equal(rx->st.out_of_order, 5);
	ferry_wan_lane_rx_free(rx);
}

static void
test_rx_dups_window_and_rwnd(void **state)
{
	(void)state;
	struct ferry_wan_lane_rx *rx = rx_make(8, 0);
	struct ferry_wan_lane_batch b;

	assert_int_equal(ferry_wan_lane_rx_rwnd(rx), 8 * RP);
	for (uint64_t s = 0; s < 3; s++)
		assert_int_equal(rx_frag(rx, s, 0, 1, 7, s + 1, pattern), FERRY_WAN_LANE_RX_OK);
	/* held data shrinks the window */
	assert_int_equal(ferry_wan_lane_rx_rwnd(rx), 5 * RP);
	/* in-order packets: an ACK every 2, else the delay timer */
	assert_int_equal(rx->st.accepted, 3);
	assert_int_equal(rx_frag(rx, 1, 0, 1, 7, 9, pattern), FERRY_WAN_LANE_RX_DROP_DUP_DELIVERED);
	assert_int_equal(rx_frag(rx, 5, 0, 1, 7, 10, pattern), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 5, 0, 1, 7, 11, pattern), FERRY_WAN_LANE_RX_DROP_DUP_BUFFERED);
	/* window: base 0 + 8 slots */
	assert_int_equal(rx_frag(rx, 8, 0, 1, 7, 12, pattern), FERRY_WAN_LANE_RX_DROP_BEYOND_WINDOW);
	assert_int_equal(rx_frag(rx, 1000000, 0, 1, 7, 12, pattern),
			 FERRY_WAN_LANE_RX_DROP_BEYOND_WINDOW);
	assert_int_equal(rx_frag(rx, 7, 0, 1, 7, 13, pattern), FERRY_WAN_LANE_RX_OK);

	/* delivering does not free space; releasing does */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 1);
	assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 0); /* seq 3 missing */
	assert_int_equal(ferry_wan_lane_rx_rwnd(rx), 5 * RP);
	assert_int_equal(ferry_wan_lane_rx_release(rx), 0);
	assert_int_equal(ferry_wan_lane_rx_rwnd(rx), 6 * RP);
	assert_int_equal(rx_frag(rx, 8, 0, 1, 7, 14, pattern), FERRY_WAN_LANE_RX_OK); /* edge moved */
	assert_int_equal(ferry_wan_lane_rx_release(rx), 0);
	assert_int_equal(ferry_wan_lane_rx_release(rx), 0);
	assert_int_equal(ferry_wan_lane_rx_release(rx), -ENOENT);
	assert_int_equal(ferry_wan_lane_rx_rwnd(rx), 8 * RP);
	/* seq 3, 4, 6 arrive: cum jumps to 9 and the window falls by all of it */
	assert_int_equal(rx_frag(rx, 3, 0, 1, 7, 15, pattern), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 4, 0, 1, 7, 16, pattern), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 6, 0, 1, 7, 17, pattern), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx->cum, 9);
	assert_int_equal(ferry_wan_lane_rx_rwnd(rx), 2 * RP);
	assert_int_equal(rx->st.drop[FERRY_WAN_LANE_RX_DROP_DUP_DELIVERED], 1);
	assert_int_equal(rx->st.drop[FERRY_WAN_LANE_RX_DROP_DUP_BUFFERED], 1);
	assert_int_equal(rx->st.drop[FERRY_WAN_LANE_RX_DROP_BEYOND_WINDOW], 2);
	assert_int_equal(rx->st.dropped, 4);
	ferry_wan_lane_rx_free(rx);
}

static void
test_rx_ack_timing(void **state)
{
	(void)state;
	struct ferry_wan_lane_rx *rx = rx_make(64, 0);
	struct ferry_wan_ack a;
	assert_int_equal(ferry_wan_lane_rx_ack_deadline(rx), UINT64_MAX);
	assert_int_equal(rx_frag(rx, 0, 0, 1, 7, 1, pattern), FERRY_WAN_LANE_RX_OK);
	assert_false(ferry_wan_lane_rx_ack_due(rx, 1000));
	assert_int_equal(ferry_wan_lane_rx_ack_deadline(rx), 1000 + 5 * MS);
	assert_true(ferry_wan_lane_rx_ack_due(rx, 1000 + 5 * MS));
	assert_int_equal(rx_frag(rx, 1, 0, 1, 7, 2, pattern), FERRY_WAN_LANE_RX_OK);
	assert_true(ferry_wan_lane_rx_ack_due(rx, 1000)); /* every 2 packets */
	ferry_wan_lane_rx_build_ack(rx, 1000, &a);
	assert_int_equal(a.cum_seq, 2);
	assert_int_equal(ferry_wan_lane_rx_ack_deadline(rx), UINT64_MAX);
	ferry_wan_lane_rx_free(rx);
}

static void
test_rx_reassembly(void **state)
{
	(void)state;
	/* 10 slots: the second 4-fragment batch starts at seq 8 and wraps the ring */
	struct ferry_wan_lane_rx *rx = rx_make(10, 0);
	struct ferry_wan_lane_batch b;
	uint64_t pn = 1;

	/* batch A: seq 0..2 (250 bytes), batch B: seq 3 (1 byte), batch C: seq 4..7 (350) */
	const uint8_t *A = pattern, *B = pattern + 1000, *C = pattern + 2000;
	assert_int_equal(rx_frag(rx, 2, 2, 3, 50, pn++, A + 200), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 4, 0, 4, RP, pn++, C), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 3, 0, 1, 1, pn++, B), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 7, 3, 4, 50, pn++, C + 300), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 1, 1, 3, RP, pn++, A + 100), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 0); /* nothing in order yet */
	assert_int_equal(rx_frag(rx, 0, 0, 3, RP, pn++, A), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 1);
	assert_int_equal(b.first_seq, 0);
	assert_int_equal(b.nfrags, 3);
	assert_int_equal(b.len, 250);
	assert_int_equal(b.seg[0].len, 250);
	assert_int_equal(b.seg[1].len, 0);
	assert_memory_equal(b.seg[0].p, A, 250);
	assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 1);
	assert_int_equal(b.len, 1);
	assert_memory_equal(b.seg[0].p, B, 1);
	assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 0); /* C misses 5, 6 */

	/* inconsistent fragments are refused: 5 must be (1, 4) */
	assert_int_equal(rx_frag(rx, 5, 0, 1, 7, pn++, C), FERRY_WAN_LANE_RX_DROP_INCONSISTENT);
	assert_int_equal(rx_frag(rx, 5, 1, 5, RP, pn++, C), FERRY_WAN_LANE_RX_DROP_INCONSISTENT);
	assert_int_equal(rx_frag(rx, 6, 1, 4, RP, pn++, C), FERRY_WAN_LANE_RX_DROP_INCONSISTENT);
	assert_int_equal(rx_frag(rx, 5, 1, 4, 99, pn++, C), FERRY_WAN_LANE_RX_DROP_BAD_LEN);
	assert_int_equal(rx_frag(rx, 5, 4, 4, RP, pn++, C), FERRY_WAN_LANE_RX_DROP_BAD_FRAG);
	assert_int_equal(rx_frag(rx, 5, 1, 11, RP, pn++, C), FERRY_WAN_LANE_RX_DROP_TOO_BIG);
	struct ferry_wan_hdr h = { .type = FERRY_WAN_T_DATA, .seq = 5, .frag_idx = 1,
				   .frag_cnt = 4, .len = RP, .flags = FERRY_WAN_F_LAST };
	assert_int_equal(ferry_wan_lane_rx_input(rx, &h, ferry_span_make(C + 100, RP), 1),
			 FERRY_WAN_LANE_RX_DROP_BAD_FRAG); /* LAST on a middle fragment */
	h.flags = 0;
	h.type = FERRY_WAN_T_PING;
	assert_int_equal(ferry_wan_lane_rx_input(rx, &h, ferry_span_make(C + 100, RP), 1),
			 FERRY_WAN_LANE_RX_DROP_NOT_DATA);

	assert_int_equal(rx_frag(rx, 6, 2, 4, RP, pn++, C + 200), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 5, 1, 4, RP, pn++, C + 100), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 1);
	assert_int_equal(b.first_seq, 4);
	assert_int_equal(b.len, 350);
	assert_memory_equal(b.seg[0].p, C, 350);
	/* free A and B, then batch D (seq 8..11, 4 fragments, 333 bytes) wraps */
	assert_int_equal(ferry_wan_lane_rx_release(rx), 0);
	assert_int_equal(ferry_wan_lane_rx_release(rx), 0);
	const uint8_t *D = pattern + 5000;
	assert_int_equal(rx_frag(rx, 11, 3, 4, 33, pn++, D + 300), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 9, 1, 4, RP, pn++, D + 100), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 8, 0, 4, RP, pn++, D), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(rx_frag(rx, 10, 2, 4, RP, pn++, D + 200), FERRY_WAN_LANE_RX_OK);
	assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 1);
	assert_int_equal(b.first_seq, 8);
	assert_int_equal(b.len, 333);
	assert_int_equal(b.seg[0].len, 200);
	assert_int_equal(b.seg[1].len, 133);
	assert_memory_equal(b.seg[0].p, D, 200);
	assert_memory_equal(b.seg[1].p, D + 200, 133);
	assert_int_equal(ferry_wan_lane_rx_next_batch(rx, &b), 0); /* exactly once */
	assert_int_equal(rx->st.batches, 4);
	assert_int_equal(rx->st.drop[FERRY_WAN_LANE_RX_DROP_INCONSISTENT], 3);
	ferry_wan_lane_rx_free(rx);
}

/* ---- sender ---------------------------------------------------------------------------- */

#define TP 1000 /* max_payload in sender tests */

static uint64_t tx_peer_buf; /* 0: the default */

static struct ferry_wan_lane_tx *
tx_make(uint64_t min_rto)
{
	struct ferry_wan_lane_tx_conf c;
	ferry_wan_lane_tx_conf_default(&c);
	c.max_payload = TP;
	c.max_frags = 256;
	c.max_batches = 16;
	c.min_rto_ns = min_rto;
	c.peer_buf = tx_peer_buf;
	c.rate.ceiling_bps = 1000000000000ull; /* pacing out of the way: 1 Tbit/s */
	struct ferry_wan_lane_tx *tx = ferry_wan_lane_tx_create(&c, 0, errbuf, sizeof(errbuf));
	assert_non_null(tx);
	return tx;
}

static void
check_tx(const struct ferry_wan_lane_tx *tx)
{
	char e[256];
	if (ferry_wan_lane_tx_check(tx, e, sizeof(e)) != 0)
		fail_msg("sender invariant: %s", e);
}

static void
test_tx_rto_rfc6298(void **state)
{
	(void)state;
	struct ferry_wan_lane_tx *tx = tx_make(1 * MS);
	assert_int_equal(tx->rto_ns, 1000 * MS); /* §2.1: 1 s before any sample */
	ferry_wan_lane_tx_rtt_sample(tx, 100 * MS);
	/* §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR */
	assert_int_equal(tx->srtt_ns, 100 * MS);
	assert_int_equal(tx->rttvar_ns, 50 * MS);
	assert_int_equal(tx->rto_ns, 300 * MS);
	/* §2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| = 42.5, SRTT = 7/8 SRTT + 1/8 R' = 102.5 */
	ferry_wan_lane_tx_rtt_sample(tx, 120 * MS);
	assert_int_equal(tx->rttvar_ns, 42500000);
	assert_int_equal(tx->srtt_ns, 102500000);
	assert_int_equal(tx->rto_ns, 272500000);
	ferry_wan_lane_tx_free(tx);

	/* §2.4 minimum, here 200 ms */
	tx = tx_make(200 * MS);
	ferry_wan_lane_tx_rtt_sample(tx, 10 * MS);
	assert_int_equal(tx->rto_ns, 200 * MS);
	ferry_wan_lane_tx_free(tx);
}

/* Poll everything sendable at 'now' (1 us apart); returns how many fragments. */
static int
send_all(struct ferry_wan_lane_tx *tx, uint64_t *now, uint64_t *pn,
	 struct ferry_wan_lane_frag *out, int max)
{
	int n = 0;
	while (n < max && ferry_wan_lane_tx_poll(tx, *now, *pn, &out[n]) == 1) {
		assert_int_equal(out[n].hdr.pn, *pn);
		(*pn)++;
		n++;
		*now += 1000;
	}
	check_tx(tx);
	return n;
}

static void
test_tx_fragments_and_completion(void **state)
{
	(void)state;
	struct ferry_wan_lane_tx *tx = tx_make(200 * MS);
	struct ferry_wan_lane_frag f[64];
	uint64_t now = 1000, pn = 1, cookie;

	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern, 2 * TP, 11), 0); /* exact multiple */
	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern + 7, 2 * TP + 1, 22), 0);
	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern, 0, 33), 0);
	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern, (size_t)300 * TP, 44), -EMSGSIZE);
	assert_int_equal(send_all(tx, &now, &pn, f, 64), 6);
	const uint16_t want_idx[] = { 0, 1, 0, 1, 2, 0 }, want_cnt[] = { 2, 2, 3, 3, 3, 1 };
	const uint16_t want_len[] = { TP, TP, TP, TP, 1, 0 };
	for (int i = 0; i < 6; i++) {
		assert_int_equal(f[i].hdr.seq, i);
		assert_int_equal(f[i].hdr.type, FERRY_WAN_T_DATA);
		assert_int_equal(f[i].hdr.frag_idx, want_idx[i]);
		assert_int_equal(f[i].hdr.frag_cnt, want_cnt[i]);
		assert_int_equal(f[i].hdr.len, want_len[i]);
		assert_int_equal(f[i].payload.len, want_len[i]);
		assert_int_equal(!!(f[i].hdr.flags & FERRY_WAN_F_LAST), want_idx[i] + 1 == want_cnt[i]);
	}
	assert_ptr_equal(f[3].payload.p, pattern + 7 + TP); /* a span into the batch, no copy */

	/* SACK of the second batch does not complete it before the first */
	struct ferry_wan_ack a = { .cum_seq = 0, .largest_pn = 5, .rwnd = 100 * TP, .nranges = 1 };
	a.ranges[0] = (struct ferry_wan_sack_range){ 2, 5 };
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), 3);
	check_tx(tx);
	assert_int_equal(ferry_wan_lane_tx_done(tx, &cookie), 0);
	a.cum_seq = 6;
	a.nranges = 0;
	a.largest_pn = 6;
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), 3);
	assert_int_equal(ferry_wan_lane_tx_done(tx, &cookie), 1);
	assert_int_equal(cookie, 11);
	assert_int_equal(ferry_wan_lane_tx_done(tx, &cookie), 1);
	assert_int_equal(cookie, 22);
	assert_int_equal(ferry_wan_lane_tx_done(tx, &cookie), 1);
	assert_int_equal(cookie, 33);
	assert_int_equal(ferry_wan_lane_tx_done(tx, &cookie), 0);
	assert_true(ferry_wan_lane_tx_idle(tx));
	/* duplicate and stale ACKs are harmless; an ACK of unsent data is refused */
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), 0);
	a.cum_seq = 2;
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), 0);
	a.cum_seq = 7;
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), -EINVAL);
	a.cum_seq = 6;
	a.nranges = 1;
	a.ranges[0] = (struct ferry_wan_sack_range){ 8, 9 };
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), -EINVAL);
	assert_int_equal(tx->st.acks_bad, 2);
	assert_int_equal(tx->st.acks_dup, 2);
	check_tx(tx);
	assert_int_equal(tx->st.rto_fired, 0);
	ferry_wan_lane_tx_free(tx);
}

static void
test_tx_fast_retransmit(void **state)
{
	(void)state;
	struct ferry_wan_lane_tx *tx = tx_make(200 * MS);
	struct ferry_wan_lane_frag f[16];
	uint64_t now = 1000, pn = 100;

	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern, 10 * TP, 1), 0);
	assert_int_equal(send_all(tx, &now, &pn, f, 16), 10);
	now += 50 * MS;
	/* seq 0 lost; 1..9 arrive; the ACK names pn of seq 9 */
	struct ferry_wan_ack a = { .cum_seq = 0, .largest_pn = f[9].hdr.pn, .rwnd = 100 * TP,
				   .nranges = 1 };
	a.ranges[0] = (struct ferry_wan_sack_range){ 1, 10 };
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), 9);
	check_tx(tx);
	assert_int_equal(tx->lost_list.n, 1);
	assert_int_equal(tx->st.rtt_samples, 1);
	assert_true(tx->srtt_ns >= 50 * MS && tx->srtt_ns < 51 * MS);
	struct ferry_wan_lane_frag r;
	assert_int_equal(ferry_wan_lane_tx_poll(tx, now, pn, &r), 1);
	assert_int_equal(r.hdr.seq, 0);
	assert_int_equal(r.hdr.pn, pn);
	assert_true(r.hdr.flags & FERRY_WAN_F_RETX);
	assert_ptr_equal(r.payload.p, pattern);
	assert_int_equal(tx->st.retx_fast, 1);
	assert_int_equal(tx->st.pkts_retx, 1);
	assert_int_equal(tx->st.bytes_retx, TP);
	assert_int_equal(tx->st.rto_fired, 0);
	check_tx(tx);

	/* the retransmission is acked: the batch is done, RTT by pn */
	a.cum_seq = 10;
	a.nranges = 0;
	a.largest_pn = pn;
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now + 50 * MS), 1);
	uint64_t c;
	assert_int_equal(ferry_wan_lane_tx_done(tx, &c), 1);
	assert_int_equal(tx->st.rtt_samples, 2);
	assert_int_equal(tx->latest_rtt_ns, 50 * MS);
	check_tx(tx);
	ferry_wan_lane_tx_free(tx);
}

static void
test_tx_rto_tail_loss(void **state)
{
	(void)state;
	struct ferry_wan_lane_tx *tx = tx_make(200 * MS);
	struct ferry_wan_lane_frag f[4], r;
	uint64_t now = 1000, pn = 1;

	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern, 3 * TP, 1), 0);
	assert_int_equal(send_all(tx, &now, &pn, f, 4), 3);
	uint64_t t0 = now;
	/* 0 and 1 acked, the tail (2) is lost: no later packet can reveal it */
	struct ferry_wan_ack a = { .cum_seq = 2, .largest_pn = f[1].hdr.pn, .rwnd = 100 * TP };
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, t0 + 10 * MS), 2);
	assert_int_equal(tx->lost_list.n, 0);
	uint64_t rto = tx->rto_ns;
	assert_int_equal(rto, 200 * MS); /* 10 ms sample, clamped to min_rto */
	assert_int_equal(tx->rto_deadline, t0 + 10 * MS + rto);
	assert_int_equal(ferry_wan_lane_tx_next_event(tx, t0 + 10 * MS), t0 + 10 * MS + rto);
	assert_int_equal(ferry_wan_lane_tx_poll(tx, t0 + 10 * MS + rto - 1, pn, &r), 0);
	assert_int_equal(ferry_wan_lane_tx_poll(tx, t0 + 10 * MS + rto, pn, &r), 1);
	assert_int_equal(r.hdr.seq, 2);
	assert_true(r.hdr.flags & FERRY_WAN_F_RETX);
	assert_true(r.hdr.flags & FERRY_WAN_F_LAST);
	assert_int_equal(tx->st.rto_fired, 1);
	assert_int_equal(tx->st.retx_rto, 1);
	check_tx(tx);
	/* lost again: the next RTO is backed off (doubled) */
	uint64_t t1 = t0 + 10 * MS + rto;
	assert_int_equal(tx->rto_deadline, t1 + 2 * rto);
	pn++;
	assert_int_equal(ferry_wan_lane_tx_poll(tx, t1 + 2 * rto, pn, &r), 1);
	assert_int_equal(r.hdr.seq, 2);
	assert_int_equal(tx->st.rto_fired, 2);
	assert_int_equal(tx->rto_deadline, t1 + 2 * rto + 4 * rto);
	check_tx(tx);
	ferry_wan_lane_tx_free(tx);
}

static void
test_tx_window_and_ring(void **state)
{
	(void)state;
	tx_peer_buf = 2 * TP;
	struct ferry_wan_lane_tx *tx = tx_make(200 * MS);
	tx_peer_buf = 0;
	struct ferry_wan_lane_frag f[300];
	uint64_t now = 1000, pn = 1;

	/* until the first ACK the configured peer buffer is the window: 2 fragments */
	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern, 5 * TP, 1), 0);
	assert_int_equal(send_all(tx, &now, &pn, f, 300), 2);
	/* an ACK opens 1 more: the right edge is cum + rwnd / max_payload */
	struct ferry_wan_ack a = { .cum_seq = 1, .rwnd = 2 * TP, .largest_pn = f[0].hdr.pn };
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), 1);
	assert_int_equal(send_all(tx, &now, &pn, f, 300), 1);
	assert_int_equal(f[0].hdr.seq, 2);
	/* a stale ACK with a smaller edge does not shrink the window */
	a.cum_seq = 0;
	a.rwnd = 0;
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), 0);
	assert_int_equal(tx->rwnd_edge, 3);
	a.cum_seq = 3;
	a.rwnd = 0;
	a.largest_pn = f[0].hdr.pn;
	assert_int_equal(ferry_wan_lane_tx_on_ack(tx, &a, now), 2);
	assert_int_equal(send_all(tx, &now, &pn, f, 300), 0); /* zero window */
	assert_true(tx->rto_deadline != UINT64_MAX);          /* persist timer */
	now = tx->rto_deadline;
	assert_int_equal(send_all(tx, &now, &pn, f, 300), 1); /* zero-window probe */
	assert_int_equal(f[0].hdr.seq, 3);
	assert_int_equal(tx->st.probes, 1);
	/* the fragment ring is the send buffer: 256 fragments, 2 still unacked */
	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern, 254 * TP, 2), 0);
	assert_int_equal(ferry_wan_lane_tx_push(tx, pattern, 1, 3), -ENOBUFS);
	check_tx(tx);
	ferry_wan_lane_tx_free(tx);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 131 + (i >> 8));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_roundtrip),
		cmocka_unit_test(test_ack_rejects),
		cmocka_unit_test(test_rx_sack_ranges),
		cmocka_unit_test(test_rx_dups_window_and_rwnd),
		cmocka_unit_test(test_rx_ack_timing),
		cmocka_unit_test(test_rx_reassembly),
		cmocka_unit_test(test_tx_rto_rfc6298),
		cmocka_unit_test(test_tx_fragments_and_completion),
		cmocka_unit_test(test_tx_fast_retransmit),
		cmocka_unit_test(test_tx_rto_tail_loss),
		cmocka_unit_test(test_tx_window_and_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
