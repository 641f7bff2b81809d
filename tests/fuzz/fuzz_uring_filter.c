/*
 * fuzz_uring_filter.c - libFuzzer harness for the io_uring fetcher's batch
 * filter (ferry_uring_filter_*): the Records and AbortedTransactions of a
 * Fetch answer come from the broker, so they are hostile input.
 *
 * Input layout: byte 0 flags (bit 0 read_committed, bits 1-3 chunk size - 1),
 * byte 1 number of aborted entries (0-15), then 8 bytes position (big-endian,
 * masked to 0..2^40), then 16 bytes per aborted entry (ProducerId,
 * FirstOffset), then the Records bytes.
 *
 * Properties (abort() when broken): every batch returned lies inside the
 * records, offsets of kept batches strictly increase and end at or above the
 * position asked, the position never goes back, the walk ends (0 or error)
 * within records/61 + 1 calls per chunk.
 *
 * Single-threaded; static buffers. Seeds: corpus/uring_filter/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/kafka.h"
#include "ferry/uring.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct ferry_kafka_aborted_txn ab[16];
	static struct ferry_kafka_batch out[8];
	struct ferry_uring_filter f;
	size_t nab, hdr;
	uint32_t cap;
	int64_t pos, prev_last = -1;
	bool rc_flag;

	if (n < 10)
		return 0;
	rc_flag = d[0] & 1;
	cap = ((d[0] >> 1) & 7) + 1;
	nab = d[1] & 15;
	pos = (int64_t)(ferry_be64(d + 2) & ((UINT64_C(1) << 40) - 1));
	hdr = 10 + nab * 16;
	if (n < hdr)
		return 0;
	for (size_t i = 0; i < nab; i++) {
		ab[i].ProducerId = (int64_t)ferry_be64(d + 10 + i * 16);
		ab[i].FirstOffset = (int64_t)ferry_be64(d + 18 + i * 16);
	}
	struct ferry_span rec = ferry_span_make(d + hdr, n - hdr);
	ferry_uring_filter_init(&f, rec, ab, (int32_t)nab, rc_flag, pos);
	for (size_t calls = 0;; calls++) {
		int64_t before = f.position;
		int k = ferry_uring_filter_next(&f, out, cap);

		if (k <= 0)
			break;
		if ((uint32_t)k > cap || calls > rec.len / 61 + 1)
			abort();
		for (int i = 0; i < k; i++) {
			const struct ferry_kafka_batch *b = &out[i];
			int64_t last = b->hdr.BaseOffset + b->hdr.LastOffsetDelta;

			if (b->bytes.p < rec.p || b->bytes.p + b->bytes.len > rec.p + rec.len)
				abort();
			if (last < pos || last <= prev_last || ferry_kafka_batch_is_control(&b->hdr))
				abort();
			prev_last = last;
		}
		if (f.position < before)
			abort();
	}
	return 0;
}
