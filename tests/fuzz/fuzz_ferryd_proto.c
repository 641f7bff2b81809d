/*
 * fuzz_ferryd_proto.c - libFuzzer harness for what one gateway parses from the other
 * (dataplane/ferryd/proto.c): batch descriptors from WAN lanes and control messages from the
 * TLS channel. The first byte picks the parser. Whatever decodes must encode back to the same
 * bytes (the formats have one spelling), and no read may leave the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[70000];
	static uint32_t deltas[FERRYD_DESC_DROPS_MAX];
	char err[256];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		struct ferryd_desc d;
		if (ferryd_desc_decode(data + 1, size - 1, &d, err, sizeof(err)) != 0)
			return 0;
		for (uint32_t i = 0; i < d.n_drops; i++)
			deltas[i] = (uint32_t)d.drops[4 * i] << 24 | (uint32_t)d.drops[4 * i + 1] << 16 |
				    (uint32_t)d.drops[4 * i + 2] << 8 | d.drops[4 * i + 3];
		int n = ferryd_desc_encode(&d, deltas, out, sizeof(out));
		size_t hdr = size - 1 - d.batch.len;
		if (n < 0 || (size_t)n != hdr || memcmp(out, data + 1, hdr) != 0)
			abort();
	} else {
		static struct ferryd_msg m;
		if (ferryd_msg_decode(data + 1, size - 1, &m, err, sizeof(err)) != 0)
			return 0;
		int n = ferryd_msg_encode(&m, out, sizeof(out));
		if (n < 0 || (size_t)n != size - 1 || memcmp(out, data + 1, size - 1) != 0)
			abort();
	}
	return 0;
}
