/*
 * replay.c - the anti-replay window over packet numbers of one (direction, epoch): RFC 6479's
 * ring of 64-bit words, so a check is O(1) whatever the window size and sliding forward only
 * clears the words it passes over, never shifts the bitmap.
 *
 * Threads: a window belongs to the worker lcore that owns its keyset. The bitmap is allocated
 * once at init (up to 128 KiB for 2^20 packets) and reset, not reallocated, on a new epoch.
 *
 * Why a window this wide: packets of one direction arrive up to a bandwidth-delay product out
 * of order (retransmissions get new pns, but loss and reordering in the network still delay
 * old ones), and a packet the window has already passed is dropped as TOO_OLD, which would
 * turn reordering into loss.
 *
 * Contract with the caller (ferry_wan_pkt_open): check -> AEAD open -> commit. Only commit
 * writes, and only authenticated pns reach it, so a forger who can make any pn cannot move the
 * window forward and lock out the real traffic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/wan.h"

#define WORD_BITS  64
#define WINDOW_MIN 1024u
#define WINDOW_MAX (1u << 20)

int
ferry_wan_replay_init(struct ferry_wan_replay *rw, uint32_t size)
{
	memset(rw, 0, sizeof(*rw));
	if (size < WINDOW_MIN || size > WINDOW_MAX || (size & (size - 1)) != 0)
		return -EINVAL;
	rw->nwords = size / WORD_BITS;
	rw->bits = calloc(rw->nwords, sizeof(*rw->bits));
	if (rw->bits == NULL)
		return -ENOMEM;
	return 0;
}

void
ferry_wan_replay_fini(struct ferry_wan_replay *rw)
{
	free(rw->bits);
	rw->bits = NULL;
	rw->nwords = 0;
}

void
ferry_wan_replay_reset(struct ferry_wan_replay *rw)
{
	if (rw->bits)
		memset(rw->bits, 0, (size_t)rw->nwords * sizeof(*rw->bits));
	rw->top = 0;
}

/*
 * Before anything is committed top is 0 and no bit is set, which reads as "pn 0 is the
 * newest and has not been seen": pn 0 is accepted once, anything above slides the window.
 */
enum ferry_wan_drop
ferry_wan_replay_check(const struct ferry_wan_replay *rw, uint64_t pn)
{
	if (pn > rw->top)
		return FERRY_WAN_DROP_NONE;
	/* The live words are the nwords ending at top's word; older words were reused. */
	if ((rw->top / WORD_BITS) - (pn / WORD_BITS) >= rw->nwords)
		return FERRY_WAN_DROP_TOO_OLD;
	uint64_t word = rw->bits[(pn / WORD_BITS) & (rw->nwords - 1)];
	if ((word >> (pn % WORD_BITS)) & 1)
		return FERRY_WAN_DROP_REPLAY;
	return FERRY_WAN_DROP_NONE;
}

enum ferry_wan_drop
ferry_wan_replay_commit(struct ferry_wan_replay *rw, uint64_t pn)
{
	enum ferry_wan_drop d = ferry_wan_replay_check(rw, pn);
	if (d != FERRY_WAN_DROP_NONE)
		return d;
	uint64_t mask = rw->nwords - 1;
	if (pn > rw->top) {
		uint64_t top_w = rw->top / WORD_BITS, pn_w = pn / WORD_BITS;
		/* Words between the old top's and pn's now describe new pns: clear them. A jump of
		 * a whole ring or more clears everything (bounded work whatever the jump). */
		if (pn_w - top_w >= rw->nwords) {
			memset(rw->bits, 0, (size_t)rw->nwords * sizeof(*rw->bits));
		} else {
			for (uint64_t w = top_w + 1; w <= pn_w; w++)
				rw->bits[w & mask] = 0;
		}
		rw->top = pn;
	}
	rw->bits[(pn / WORD_BITS) & mask] |= UINT64_C(1) << (pn % WORD_BITS);
	return FERRY_WAN_DROP_NONE;
}
