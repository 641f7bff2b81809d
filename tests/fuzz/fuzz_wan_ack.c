/*
 * fuzz_wan_ack.c - libFuzzer harness for the WAN lane ACK path: ferry_wan_ack_decode() on
 * the raw input, then the input as a script driving a lane sender with data in flight.
 *
 * 1. The whole input is decoded as one ACK payload. It must not crash; a decoded ACK must
 *    pass ferry_wan_ack_check() and re-encode to the same bytes.
 * 2. The input is read as ops (first byte of each, low 2 bits):
 *      0: [len u8][len bytes]  an ACK payload: decode, and if valid give it to the sender
 *      1: [dt u8]              advance time by dt ms, poll everything sendable
 *      2: [hi u8][lo u8]       push a batch of (hi << 8 | lo) bytes
 *      3: [a u8][b u8][c u8]   a plausible ACK relative to the sender's state: cum_seq =
 *                              snd_una + a % 8, up to 3 ranges from the bits of b, largest pn
 *                              = last pn - c % 16, rwnd from c (reaches the deep paths)
 *    After every op the sender's invariants must hold (ferry_wan_lane_tx_check), on_ack must
 *    return >= 0 or -EINVAL, and completions must come in push order. abort() on a break.
 *
 * Single-threaded; the sender is created per input (small rings), batch bytes are static.
 * Seeds: corpus/wan_ack/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/wan_lane.h"

#define FP 100 /* max_payload */

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static uint8_t batch_bytes[1 << 16];

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_wan_ack: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void
check(const struct ferry_wan_lane_tx *tx)
{
	char err[256];
	if (ferry_wan_lane_tx_check(tx, err, sizeof(err)) != 0)
		die("sender invariant", err);
}

static void
feed(struct ferry_wan_lane_tx *tx, const struct ferry_wan_ack *a, uint64_t now,
     uint64_t *next_done)
{
	uint64_t cookie;
	int rc = ferry_wan_lane_tx_on_ack(tx, a, now);
	if (rc < 0 && rc != -EINVAL)
		die("on_ack returned an unexpected code", NULL);
	check(tx);
	while (ferry_wan_lane_tx_done(tx, &cookie) == 1) {
		if (cookie != *next_done)
			die("completion out of order", NULL);
		(*next_done)++;
	}
}

static void
roundtrip(struct ferry_span in)
{
	struct ferry_wan_ack a;
	char err[256];
	uint8_t buf[FERRY_WAN_ACK_MAX_LEN];
	struct ferry_wr w;

	int rc = ferry_wan_ack_decode(in, &a, err, sizeof(err));
	if (rc > 0)
		die("decode returned a positive code", NULL);
	if (rc < 0)
		return;
	if (ferry_wan_ack_check(&a, err, sizeof(err)) != 0)
		die("decoded ACK fails the check", err);
	ferry_wr_init(&w, buf, sizeof(buf));
	if (ferry_wan_ack_encode(&w, &a) != 0)
		die("re-encode of a decoded ACK failed", NULL);
	if (w.len != in.len || memcmp(buf, in.p, in.len) != 0)
		die("encode(decode(x)) != x", NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ferry_wan_lane_tx_conf c;
	struct ferry_wan_lane_tx *tx;
	struct ferry_wan_lane_frag f;
	char err[256];
	uint64_t now = 1000000, pn = 1, pushed = 0, next_done = 0;
	size_t off = 0;

	roundtrip(ferry_span_make(d, n));

	ferry_wan_lane_tx_conf_default(&c);
	c.max_payload = FP;
	c.max_frags = 64;
	c.max_batches = 8;
	c.peer_buf = 32 * FP;
	c.rate.ceiling_bps = 1000000000ull;
	tx = ferry_wan_lane_tx_create(&c, now, err, sizeof(err));
	if (!tx)
		die("create", err);
	/* Something in flight before the first op. */
	if (ferry_wan_lane_tx_push(tx, batch_bytes, 10 * FP + 1, pushed) == 0)
		pushed++;
	while (ferry_wan_lane_tx_poll(tx, now, pn, &f) == 1) {
		pn++;
		now += 1000;
	}

	while (off < n) {
		uint8_t op = d[off++];
		struct ferry_wan_ack a;
		switch (op & 3) {
		case 0: {
			if (off >= n)
				goto out;
			size_t len = d[off++];
			if (len > n - off)
				len = n - off;
			if (ferry_wan_ack_decode(ferry_span_make(d + off, len), &a, err, sizeof(err)) == 0)
				feed(tx, &a, now, &next_done);
			off += len;
			break;
		}
		case 1:
			if (off >= n)
				goto out;
			now += (uint64_t)d[off++] * 1000000;
			while (ferry_wan_lane_tx_poll(tx, now, pn, &f) == 1) {
				if (f.payload.len != f.hdr.len || f.hdr.len > FP ||
				    f.hdr.frag_idx >= f.hdr.frag_cnt || f.hdr.pn != pn)
					die("bad fragment from poll", NULL);
				pn++;
				now += 1000;
			}
			check(tx);
			break;
		case 2: {
			if (n - off < 2)
				goto out;
			size_t len = (size_t)d[off] << 8 | d[off + 1];
			off += 2;
			int rc = ferry_wan_lane_tx_push(tx, batch_bytes, len, pushed);
			if (rc == 0)
				pushed++;
			else if (rc != -ENOBUFS && rc != -EMSGSIZE)
				die("push returned an unexpected code", NULL);
			check(tx);
			break;
		}
		case 3: {
			if (n - off < 3)
				goto out;
			uint8_t x = d[off], y = d[off + 1], z = d[off + 2];
			off += 3;
			memset(&a, 0, sizeof(a));
			a.cum_seq = tx->snd_una + x % 8;
			a.largest_pn = pn > (uint64_t)(z % 16) + 1 ? pn - 1 - z % 16 : 0;
			a.rwnd = (uint32_t)z * FP / 4;
			a.ack_delay_us = y;
			uint64_t at = a.cum_seq + 1 + (y & 3);
			for (int r = 0; r < 3 && (y >> (2 + 2 * r)) & 3; r++) {
				a.ranges[a.nranges].first = at;
				a.ranges[a.nranges].end = at + ((y >> (2 + 2 * r)) & 3);
				at = a.ranges[a.nranges].end + 1 + (x >> 3 & 3);
				a.nranges++;
			}
			feed(tx, &a, now, &next_done);
			break;
		}
		}
	}
out:
	if (next_done > pushed)
		die("more completions than batches", NULL);
	ferry_wan_lane_tx_free(tx);
	return 0;
}
