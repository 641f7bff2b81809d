/*
 * ferry/common.h - functions over the types in ferry/common-t.h: error names,
 * arena allocation, and the bounds-checked big-endian reader and writer every
 * ferry parser is built from.
 *
 * Thread-safety: all functions are pure or touch only the object passed in;
 * any thread may use them on its own objects.
 *
 * Reader contract: a ferry_rd_* function returns true and advances on success;
 * on failure it returns false, leaves the position where the failed field began,
 * and records the first error and its offset in the reader. Callers keep the
 * `goto err_parse` visible at the call site (STYLE rule 9).
 */
#ifndef FERRY_COMMON_H
#define FERRY_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ferry/common-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Symbolic name of an error code ("FERRY_ERR__BAD_CRC", "NOT_LEADER_OR_FOLLOWER"). */
const char *ferry_err_name(int err);
/** One-line description of an error code for operator-facing messages. */
const char *ferry_err_desc(int err);

/**
 * Write a message into the caller's error buffer (if any) and return rc, so a failure path is
 * one line: `return ferry_errf(-EINVAL, err, errlen, "lane %u: ...", lane);`.
 */
static inline int ferry_errf(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int
ferry_errf(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/** Allocate n elements of size sz (aligned to 8). NULL on overflow or exhaustion. */
void *ferry_arena_alloc(struct ferry_arena *a, size_t n, size_t sz);

static inline void
ferry_arena_init(struct ferry_arena *a, void *mem, size_t cap)
{
	a->base = (uint8_t *)mem;
	a->cap = cap;
	a->used = 0;
}

static inline struct ferry_span
ferry_span_make(const void *p, size_t len)
{
	struct ferry_span s = { (const uint8_t *)p, len };
	return s;
}

static inline struct ferry_span
ferry_span_str(const char *s)
{
	return ferry_span_make(s, s ? strlen(s) : 0);
}

static inline bool
ferry_span_eq(struct ferry_span a, struct ferry_span b)
{
	if ((a.p == NULL) != (b.p == NULL))
		return false;
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ---- reader ---------------------------------------------------------------------------- */

static inline void
ferry_rd_init(struct ferry_rd *rd, const void *p, size_t len)
{
	rd->p = (const uint8_t *)p;
	rd->len = len;
	rd->off = 0;
	rd->err = 0;
	rd->err_off = 0;
}

static inline size_t
ferry_rd_left(const struct ferry_rd *rd)
{
	return rd->len - rd->off;
}

/** Record the first failure; always returns false so callers can `return ferry_rd_fail(...)`. */
static inline bool
ferry_rd_fail(struct ferry_rd *rd, int err)
{
	if (rd->err == 0) {
		rd->err = err;
		rd->err_off = rd->off;
	}
	return false;
}

static inline bool
ferry_rd_need(struct ferry_rd *rd, size_t n)
{
	if (ferry_rd_left(rd) < n)
		return ferry_rd_fail(rd, FERRY_ERR__TRUNCATED);
	return true;
}

static inline bool
ferry_rd_skip(struct ferry_rd *rd, size_t n)
{
	if (!ferry_rd_need(rd, n))
		return false;
	rd->off += n;
	return true;
}

static inline bool
ferry_rd_u8(struct ferry_rd *rd, uint8_t *v)
{
	if (!ferry_rd_need(rd, 1))
		return false;
	*v = rd->p[rd->off++];
	return true;
}

static inline bool
ferry_rd_i8(struct ferry_rd *rd, int8_t *v)
{
	uint8_t u;
	if (!ferry_rd_u8(rd, &u))
		return false;
	*v = (int8_t)u;
	return true;
}

static inline uint16_t
ferry_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
ferry_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
ferry_be64(const uint8_t *p)
{
	return (uint64_t)ferry_be32(p) << 32 | ferry_be32(p + 4);
}

static inline void
ferry_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
ferry_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
ferry_put_be64(uint8_t *p, uint64_t v)
{
	ferry_put_be32(p, (uint32_t)(v >> 32));
	ferry_put_be32(p + 4, (uint32_t)v);
}

static inline bool
ferry_rd_i16(struct ferry_rd *rd, int16_t *v)
{
	if (!ferry_rd_need(rd, 2))
		return false;
	*v = (int16_t)ferry_be16(rd->p + rd->off);
	rd->off += 2;
	return true;
}

static inline bool
ferry_rd_i32(struct ferry_rd *rd, int32_t *v)
{
	if (!ferry_rd_need(rd, 4))
		return false;
	*v = (int32_t)ferry_be32(rd->p + rd->off);
	rd->off += 4;
	return true;
}

static inline bool
ferry_rd_u32(struct ferry_rd *rd, uint32_t *v)
{
	if (!ferry_rd_need(rd, 4))
		return false;
	*v = ferry_be32(rd->p + rd->off);
	rd->off += 4;
	return true;
}

static inline bool
ferry_rd_i64(struct ferry_rd *rd, int64_t *v)
{
	if (!ferry_rd_need(rd, 8))
		return false;
	*v = (int64_t)ferry_be64(rd->p + rd->off);
	rd->off += 8;
	return true;
}

static inline bool
ferry_rd_bool(struct ferry_rd *rd, bool *v)
{
	uint8_t u;
	if (!ferry_rd_u8(rd, &u))
		return false;
	*v = u != 0; /* Kafka BOOLEAN: reader treats non-zero as true */
	return true;
}

static inline bool
ferry_rd_uuid(struct ferry_rd *rd, uint8_t uuid[16])
{
	if (!ferry_rd_need(rd, 16))
		return false;
	memcpy(uuid, rd->p + rd->off, 16);
	rd->off += 16;
	return true;
}

/* Varint readers and the string/bytes/array helpers are out of line (common.c). */

/** UNSIGNED_VARINT, at most 5 bytes, the 5th without continuation (Java ByteUtils). */
bool ferry_rd_uvarint(struct ferry_rd *rd, uint32_t *v);
/** VARINT: zig-zag over an unsigned varint of at most 5 bytes. */
bool ferry_rd_varint(struct ferry_rd *rd, int32_t *v);
/** VARLONG: zig-zag over an unsigned varint of at most 10 bytes. */
bool ferry_rd_varlong(struct ferry_rd *rd, int64_t *v);

/**
 * STRING / NULLABLE_STRING / COMPACT_* / BYTES: the value is a span into the
 * reader's buffer (no copy). 'compact' selects the flexible encoding;
 * 'nullable' allows null (p == NULL). A length beyond the bytes present is
 * FERRY_ERR__TRUNCATED, a forbidden null or negative length FERRY_ERR__BAD_LENGTH.
 */
bool ferry_rd_str(struct ferry_rd *rd, bool compact, bool nullable, struct ferry_span *s);
bool ferry_rd_bytes(struct ferry_rd *rd, bool compact, bool nullable, struct ferry_span *s);

/**
 * ARRAY / COMPACT_ARRAY header. *n gets the element count, or -1 for null
 * (only when 'nullable'). The count is checked against the bytes left:
 * each element needs at least 'min_elem' bytes, so a count the input cannot
 * hold is FERRY_ERR__BAD_LENGTH before anyone allocates for it.
 */
bool ferry_rd_array(struct ferry_rd *rd, bool compact, bool nullable, size_t min_elem,
		    int32_t *n);

/**
 * Tag section of a flexible struct (KIP-482). Known tags are handed to 'cb'
 * with the value's span; unknown ones are skipped by size. 'cb' may be NULL.
 * A count that the bytes left cannot hold is FERRY_ERR__TOO_MANY_TAGS.
 */
typedef bool (*ferry_tag_cb)(void *arg, uint32_t tag, struct ferry_span val);
bool ferry_rd_tags(struct ferry_rd *rd, ferry_tag_cb cb, void *arg);

/* ---- writer ---------------------------------------------------------------------------- */

static inline void
ferry_wr_init(struct ferry_wr *w, void *p, size_t cap)
{
	w->p = (uint8_t *)p;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

/** Reserve n bytes; returns where to write them or NULL (and sets overflow). */
static inline uint8_t *
ferry_wr_reserve(struct ferry_wr *w, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return NULL;
	}
	uint8_t *p = w->p + w->len;
	w->len += n;
	return p;
}

static inline void
ferry_wr_raw(struct ferry_wr *w, const void *src, size_t n)
{
	uint8_t *p = ferry_wr_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}

static inline void
ferry_wr_i8(struct ferry_wr *w, int8_t v)
{
	uint8_t *p = ferry_wr_reserve(w, 1);
	if (p)
		p[0] = (uint8_t)v;
}

static inline void
ferry_wr_i16(struct ferry_wr *w, int16_t v)
{
	uint8_t *p = ferry_wr_reserve(w, 2);
	if (p)
		ferry_put_be16(p, (uint16_t)v);
}

static inline void
ferry_wr_i32(struct ferry_wr *w, int32_t v)
{
	uint8_t *p = ferry_wr_reserve(w, 4);
	if (p)
		ferry_put_be32(p, (uint32_t)v);
}

static inline void
ferry_wr_u32(struct ferry_wr *w, uint32_t v)
{
	uint8_t *p = ferry_wr_reserve(w, 4);
	if (p)
		ferry_put_be32(p, v);
}

static inline void
ferry_wr_i64(struct ferry_wr *w, int64_t v)
{
	uint8_t *p = ferry_wr_reserve(w, 8);
	if (p)
		ferry_put_be64(p, (uint64_t)v);
}

static inline void
ferry_wr_bool(struct ferry_wr *w, bool v)
{
	ferry_wr_i8(w, v ? 1 : 0);
}

void ferry_wr_uvarint(struct ferry_wr *w, uint32_t v);
void ferry_wr_varint(struct ferry_wr *w, int32_t v);
void ferry_wr_varlong(struct ferry_wr *w, int64_t v);
/** Number of bytes ferry_wr_uvarint / varint / varlong would write. */
size_t ferry_uvarint_size(uint32_t v);
size_t ferry_varint_size(int32_t v);
size_t ferry_varlong_size(int64_t v);

/** STRING family; s.p == NULL writes null (caller guarantees the field is nullable). */
void ferry_wr_str(struct ferry_wr *w, bool compact, struct ferry_span s);
/** BYTES family; s.p == NULL writes null. */
void ferry_wr_bytes(struct ferry_wr *w, bool compact, struct ferry_span s);
/** ARRAY header: n >= 0 elements, or n == -1 for null. */
void ferry_wr_array(struct ferry_wr *w, bool compact, int32_t n);
/** An empty tag section (the single byte 00). */
static inline void
ferry_wr_no_tags(struct ferry_wr *w)
{
	ferry_wr_uvarint(w, 0);
}

#ifdef __cplusplus
}
#endif

#endif /* FERRY_COMMON_H */
