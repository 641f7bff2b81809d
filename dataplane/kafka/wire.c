/*
 * wire.c - Kafka primitive types (KIP-482 flexible versions included):
 * varints, (compact) strings and bytes, array headers and tag sections,
 * read and written over plain byte spans.
 *
 * Any thread; no state beyond the reader/writer passed in.
 * Spec: kafka-wire-facts.md §1.3-1.4 (Java ByteUtils, Type.java, MessageDataGenerator).
 */
#include "ferry/common.h"

bool
ferry_rd_uvarint(struct ferry_rd *rd, uint32_t *v)
{
	size_t start = rd->off;
	uint32_t val = 0;
	for (unsigned i = 0; i < 5; i++) {
		uint8_t b;
		if (!ferry_rd_u8(rd, &b)) {
			rd->off = start;
			return false;
		}
		/* The 5th byte carries bits 28..31 only; more would overflow 32 bits. */
		if (i == 4 && (b & 0xf0)) {
			rd->off = start;
			return ferry_rd_fail(rd, FERRY_ERR__BAD_VARINT);
		}
		val |= (uint32_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = val;
			return true;
		}
	}
	rd->off = start;
	return ferry_rd_fail(rd, FERRY_ERR__BAD_VARINT);
}

bool
ferry_rd_varint(struct ferry_rd *rd, int32_t *v)
{
	uint32_t u;
	if (!ferry_rd_uvarint(rd, &u))
		return false;
	*v = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
	return true;
}

bool
ferry_rd_varlong(struct ferry_rd *rd, int64_t *v)
{
	size_t start = rd->off;
	uint64_t val = 0;
	for (unsigned i = 0; i < 10; i++) {
		uint8_t b;
		if (!ferry_rd_u8(rd, &b)) {
			rd->off = start;
			return false;
		}
		if (i == 9 && (b & 0xfe)) {
			rd->off = start;
			return ferry_rd_fail(rd, FERRY_ERR__BAD_VARINT);
		}
		val |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = (int64_t)((val >> 1) ^ (~(val & 1) + 1));
			return true;
		}
	}
	rd->off = start;
	return ferry_rd_fail(rd, FERRY_ERR__BAD_VARINT);
}

/* Length prefix shared by STRING and BYTES: returns -1 for null, -2 on error. */
static int64_t
rd_len(struct ferry_rd *rd, bool compact, bool is_str, bool nullable)
{
	size_t start = rd->off;
	int64_t n;
	if (compact) {
		uint32_t u;
		if (!ferry_rd_uvarint(rd, &u))
			return -2;
		n = (int64_t)u - 1; /* COMPACT_*: N+1, 0 = null */
	} else if (is_str) {
		int16_t s;
		if (!ferry_rd_i16(rd, &s))
			return -2;
		n = s;
	} else {
		int32_t s;
		if (!ferry_rd_i32(rd, &s))
			return -2;
		n = s;
	}
	if (n < -1 || (n == -1 && !nullable)) {
		rd->off = start;
		ferry_rd_fail(rd, n == -1 ? FERRY_ERR__NULL_FIELD : FERRY_ERR__BAD_LENGTH);
		return -2;
	}
	if (n >= 0 && (uint64_t)n > ferry_rd_left(rd)) {
		rd->off = start;
		ferry_rd_fail(rd, FERRY_ERR__TRUNCATED);
		return -2;
	}
	return n;
}

static bool
rd_lenval(struct ferry_rd *rd, bool compact, bool is_str, bool nullable, struct ferry_span *s)
{
	int64_t n = rd_len(rd, compact, is_str, nullable);
	if (n == -2)
		return false;
	if (n == -1) {
		s->p = NULL;
		s->len = 0;
		return true;
	}
	s->p = rd->p + rd->off;
	s->len = (size_t)n;
	rd->off += (size_t)n;
	return true;
}

bool
ferry_rd_str(struct ferry_rd *rd, bool compact, bool nullable, struct ferry_span *s)
{
	return rd_lenval(rd, compact, true, nullable, s);
}

bool
ferry_rd_bytes(struct ferry_rd *rd, bool compact, bool nullable, struct ferry_span *s)
{
	return rd_lenval(rd, compact, false, nullable, s);
}

bool
ferry_rd_array(struct ferry_rd *rd, bool compact, bool nullable, size_t min_elem, int32_t *n)
{
	size_t start = rd->off;
	int64_t cnt;
	if (compact) {
		uint32_t u;
		if (!ferry_rd_uvarint(rd, &u))
			return false;
		cnt = (int64_t)u - 1;
	} else {
		int32_t c;
		if (!ferry_rd_i32(rd, &c))
			return false;
		cnt = c;
	}
	if (cnt < -1 || (cnt == -1 && !nullable)) {
		rd->off = start;
		return ferry_rd_fail(rd, cnt == -1 ? FERRY_ERR__NULL_FIELD : FERRY_ERR__BAD_LENGTH);
	}
	/* A count the remaining bytes cannot hold is a lie: refuse before allocating. */
	if (cnt > 0 && (uint64_t)cnt * (min_elem ? min_elem : 1) > ferry_rd_left(rd)) {
		rd->off = start;
		return ferry_rd_fail(rd, FERRY_ERR__BAD_LENGTH);
	}
	*n = (int32_t)cnt;
	return true;
}

bool
ferry_rd_tags(struct ferry_rd *rd, ferry_tag_cb cb, void *arg)
{
	size_t start = rd->off;
	uint32_t n;
	if (!ferry_rd_uvarint(rd, &n))
		return false;
	/* Each tagged field takes at least two bytes (tag and size varints). */
	if ((uint64_t)n * 2 > ferry_rd_left(rd)) {
		rd->off = start;
		return ferry_rd_fail(rd, FERRY_ERR__TOO_MANY_TAGS);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t tag, size;
		if (!ferry_rd_uvarint(rd, &tag) || !ferry_rd_uvarint(rd, &size))
			return false;
		if (size > ferry_rd_left(rd))
			return ferry_rd_fail(rd, FERRY_ERR__TRUNCATED);
		struct ferry_span val = { rd->p + rd->off, size };
		if (cb && !cb(arg, tag, val)) {
			return ferry_rd_fail(rd, FERRY_ERR__TRUNCATED);
		}
		rd->off += size;
	}
	return true;
}

size_t
ferry_uvarint_size(uint32_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t
ferry_varint_size(int32_t v)
{
	return ferry_uvarint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t
ferry_varlong_size(int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 1;
	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

void
ferry_wr_uvarint(struct ferry_wr *w, uint32_t v)
{
	uint8_t buf[5];
	size_t n = 0;
	while (v >= 0x80) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	ferry_wr_raw(w, buf, n);
}

void
ferry_wr_varint(struct ferry_wr *w, int32_t v)
{
	ferry_wr_uvarint(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void
ferry_wr_varlong(struct ferry_wr *w, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	uint8_t buf[10];
	size_t n = 0;
	while (u >= 0x80) {
		buf[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	buf[n++] = (uint8_t)u;
	ferry_wr_raw(w, buf, n);
}

void
ferry_wr_str(struct ferry_wr *w, bool compact, struct ferry_span s)
{
	if (compact) {
		ferry_wr_uvarint(w, s.p ? (uint32_t)s.len + 1 : 0);
	} else {
		if (s.len > INT16_MAX) {
			w->overflow = true;
			return;
		}
		ferry_wr_i16(w, s.p ? (int16_t)s.len : -1);
	}
	if (s.p)
		ferry_wr_raw(w, s.p, s.len);
}

void
ferry_wr_bytes(struct ferry_wr *w, bool compact, struct ferry_span s)
{
	if (s.len >= INT32_MAX) {
		w->overflow = true;
		return;
	}
	if (compact)
		ferry_wr_uvarint(w, s.p ? (uint32_t)s.len + 1 : 0);
	else
		ferry_wr_i32(w, s.p ? (int32_t)s.len : -1);
	if (s.p)
		ferry_wr_raw(w, s.p, s.len);
}

void
ferry_wr_array(struct ferry_wr *w, bool compact, int32_t n)
{
	if (compact)
		ferry_wr_uvarint(w, n < 0 ? 0 : (uint32_t)n + 1);
	else
		ferry_wr_i32(w, n < 0 ? -1 : n);
}
