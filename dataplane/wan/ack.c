/*
 * ack.c - the payload of a FERRY_WAN_T_ACK packet: encode and bounds-checked decode.
 *
 * Any thread; no state, no allocation. Layout (big-endian, wan_lane-t.h): u64 cum_seq,
 * u64 largest_pn, u32 ack_delay_us, u32 rwnd, u8 nranges, nranges x (u64 first, u64 end).
 * The decoder is the only thing between the peer and the sender's scoreboard, so it checks
 * everything the sender relies on: ranges non-empty, above cum_seq, ascending, disjoint and
 * not touching (touching ranges are one range: a sender would merge them anyway).
 */
#include <stdarg.h>
#include <stdio.h>

#include "ferry/common.h"
#include "ferry/wan_lane.h"

int
ferry_wan_ack_check(const struct ferry_wan_ack *ack, char *err, size_t errlen)
{
	if (ack->nranges > FERRY_WAN_ACK_RANGES_MAX)
		return ferry_errf(FERRY_ERR__BAD_LENGTH, err, errlen,
				"ack: %u SACK ranges, at most %d allowed", ack->nranges,
				FERRY_WAN_ACK_RANGES_MAX);
	uint64_t floor = ack->cum_seq; /* a range must start above this */
	for (unsigned i = 0; i < ack->nranges; i++) {
		const struct ferry_wan_sack_range *r = &ack->ranges[i];
		if (r->end <= r->first)
			return ferry_errf(FERRY_ERR__INVALID_ARG, err, errlen,
					"ack: range %u [%llu, %llu) is empty", i,
					(unsigned long long)r->first, (unsigned long long)r->end);
		/* first == cum_seq would mean cum_seq was received: the cumulative point is
		 * wrong, or the range should have been folded into it. */
		if (i == 0 && r->first <= floor)
			return ferry_errf(FERRY_ERR__INVALID_ARG, err, errlen,
					"ack: range %u starts at %llu, not above the cumulative ack %llu",
					i, (unsigned long long)r->first, (unsigned long long)floor);
		if (i > 0 && r->first <= floor)
			return ferry_errf(FERRY_ERR__INVALID_ARG, err, errlen,
					"ack: range %u starts at %llu, overlapping, touching or below "
					"the previous range's end %llu",
					i, (unsigned long long)r->first, (unsigned long long)floor);
		floor = r->end;
	}
	return 0;
}

int
ferry_wan_ack_encode(struct ferry_wr *w, const struct ferry_wan_ack *ack)
{
	struct ferry_wan_sack_range r[FERRY_WAN_ACK_RANGES_MAX];
	struct ferry_wan_ack sorted;

	if (ack->nranges > FERRY_WAN_ACK_RANGES_MAX)
		return FERRY_ERR__INVALID_ARG;
	/* Insertion sort: at most 16 ranges, usually nearly sorted already. */
	for (unsigned i = 0; i < ack->nranges; i++) {
		unsigned j = i;
		while (j > 0 && r[j - 1].first > ack->ranges[i].first) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = ack->ranges[i];
	}
	sorted = *ack;
	for (unsigned i = 0; i < ack->nranges; i++)
		sorted.ranges[i] = r[i];
	if (ferry_wan_ack_check(&sorted, NULL, 0) != 0)
		return FERRY_ERR__INVALID_ARG;

	ferry_wr_i64(w, (int64_t)sorted.cum_seq);
	ferry_wr_i64(w, (int64_t)sorted.largest_pn);
	ferry_wr_u32(w, sorted.ack_delay_us);
	ferry_wr_u32(w, sorted.rwnd);
	ferry_wr_i8(w, (int8_t)sorted.nranges);
	for (unsigned i = 0; i < sorted.nranges; i++) {
		ferry_wr_i64(w, (int64_t)sorted.ranges[i].first);
		ferry_wr_i64(w, (int64_t)sorted.ranges[i].end);
	}
	return w->overflow ? FERRY_ERR__NOSPACE : 0;
}

int
ferry_wan_ack_decode(struct ferry_span in, struct ferry_wan_ack *ack, char *err, size_t errlen)
{
	struct ferry_rd rd;
	int64_t v;

	ferry_rd_init(&rd, in.p, in.len);
	if (!ferry_rd_i64(&rd, &v))
		goto err_parse;
	ack->cum_seq = (uint64_t)v;
	if (!ferry_rd_i64(&rd, &v))
		goto err_parse;
	ack->largest_pn = (uint64_t)v;
	if (!ferry_rd_u32(&rd, &ack->ack_delay_us) || !ferry_rd_u32(&rd, &ack->rwnd) ||
	    !ferry_rd_u8(&rd, &ack->nranges))
		goto err_parse;
	if (ack->nranges > FERRY_WAN_ACK_RANGES_MAX)
		return ferry_errf(FERRY_ERR__BAD_LENGTH, err, errlen,
				"ack: %u SACK ranges, at most %d allowed", ack->nranges,
				FERRY_WAN_ACK_RANGES_MAX);
	/* Check the declared count against the bytes present before reading any range. */
	if (ferry_rd_left(&rd) < (size_t)ack->nranges * FERRY_WAN_ACK_RANGE_LEN) {
		ferry_rd_fail(&rd, FERRY_ERR__TRUNCATED);
		goto err_parse;
	}
	for (unsigned i = 0; i < ack->nranges; i++) {
		if (!ferry_rd_i64(&rd, &v))
			goto err_parse;
		ack->ranges[i].first = (uint64_t)v;
		if (!ferry_rd_i64(&rd, &v))
			goto err_parse;
		ack->ranges[i].end = (uint64_t)v;
	}
	if (ferry_rd_left(&rd) != 0)
		return ferry_errf(FERRY_ERR__TRAILING, err, errlen,
				"ack: %zu bytes after %u ranges (payload %zu bytes)",
				ferry_rd_left(&rd), ack->nranges, in.len);
	return ferry_wan_ack_check(ack, err, errlen);

err_parse:
	return ferry_errf(rd.err, err, errlen, "ack: truncated at byte %zu of %zu", rd.err_off,
			in.len);
}
