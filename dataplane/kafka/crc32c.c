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
 *
 * ferry_crc32c_patch() updates a CRC for a few changed bytes without reading the
 * rest: CRC is linear over GF(2), so for same-length messages
 * crc(A ^ D) = crc(A) ^ raw(D), raw being the CRC register with zero init and
 * no final xor; raw(D) of a delta that is zero outside [off, off+n) is the raw
 * CRC of those n bytes times x^(8*(len-off-n)) mod P (zlib's crc32_combine
 * arithmetic, Castagnoli polynomial).
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

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

/* a * b mod P, both reflected (bit 31 is x^0) */
static uint32_t
mulmodp(uint32_t a, uint32_t b)
{
	uint32_t m = 1u << 31, p = 0;

	for (;;) {
		if (a & m) {
			p ^= b;
			if ((a & (m - 1)) == 0)
				break;
		}
		m >>= 1;
		b = b & 1 ? (b >> 1) ^ CRC32C_POLY : b >> 1;
	}
	return p;
}

/* x^(8 * nbytes) mod P by squaring: x^(2^k) for k = 3, 4, ... */
static uint32_t
x8nmodp(uint64_t nbytes)
{
	uint32_t p = 1u << 31, sq = 1u << 30; /* 1, x */

	for (int k = 0; k < 3; k++)
		sq = mulmodp(sq, sq); /* x^8 */
	while (nbytes) {
		if (nbytes & 1)
			p = mulmodp(sq, p);
		nbytes >>= 1;
		if (nbytes)
			sq = mulmodp(sq, sq);
	}
	return p;
}

uint32_t
ferry_crc32c_patch(uint32_t crc, size_t len, size_t off, const void *before, const void *after,
		   size_t n)
{
	const uint8_t *a = before, *b = after;
	uint32_t raw = 0;

	if (off > len || n > len - off)
		return crc; /* outside the message: nothing it covers changed */
	for (size_t i = 0; i < n; i++) {
		raw ^= (uint32_t)(a[i] ^ b[i]);
		for (int k = 0; k < 8; k++)
			raw = raw & 1 ? (raw >> 1) ^ CRC32C_POLY : raw >> 1;
	}
	if (raw == 0)
		return crc;
	return crc ^ mulmodp(x8nmodp(len - off - n), raw);
}
