/*
 * crc32c.c - CRC-32C (Castagnoli) for RecordBatch v2, through ISA-L.
 *
 * ISA-L's crc32_iscsi folds several streams with PCLMULQDQ and runs several
 * times faster than a loop over the SSE4.2 crc32 instruction, which matters
 * because every batch is checked on both gateways. Any thread; no state.
 *
 * crc32_iscsi() takes and returns the raw (non-inverted) register, so the
 * standard CRC-32C is crc32_iscsi(p, n, ~0) ^ ~0; chaining passes the
 * inverted value back in.
 */
#include <isa-l/crc.h>
#include <limits.h>

#include "ferry/kafka.h"

uint32_t
ferry_crc32c_update(uint32_t crc, const void *p, size_t len)
{
	uint32_t reg = crc ^ 0xffffffffu;
	const uint8_t *b = (const uint8_t *)p;
	/* crc32_iscsi takes an int length: feed huge buffers in INT_MAX slices. */
	while (len > 0) {
		int n = len > (size_t)INT_MAX ? INT_MAX : (int)len;
		reg = crc32_iscsi((unsigned char *)(uintptr_t)b, n, reg);
		b += n;
		len -= (size_t)n;
	}
	return reg ^ 0xffffffffu;
}

uint32_t
ferry_crc32c(const void *p, size_t len)
{
	return ferry_crc32c_update(0, p, len);
}
