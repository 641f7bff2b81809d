/*
 * msg_int.h - private helpers shared by the body codecs (msg_*.c): encoder
 * refusal with writer rewind, decoder failure, array sanity and int32 arrays.
 *
 * Any thread; no state.
 */
#ifndef FERRY_MSG_INT_H
#define FERRY_MSG_INT_H

#include "ferry/common.h"

/* Version checks against the FERRY_KAFKA_<API>_VER_MIN/MAX/FLEX constants, the same ones
 * the API table in api.c is built from, so a range is written down once. */
#define FERRY_MSG_VER_OK(api, ver)                                                                 \
	((ver) >= FERRY_KAFKA_##api##_VER_MIN && (ver) <= FERRY_KAFKA_##api##_VER_MAX)
#define FERRY_MSG_FLEX(api, ver) ((ver) >= FERRY_KAFKA_##api##_VER_FLEX)

/* Encode-time refusal: rewind the writer so no half message is left behind. */
static inline int
ferry_msg_enc_fail(struct ferry_wr *w, size_t start, bool overflow, int err)
{
	w->len = start;
	w->overflow = overflow;
	return err;
}

static inline int
ferry_msg_enc_end(const struct ferry_wr *w)
{
	return w->overflow ? FERRY_ERR__NOSPACE : 0;
}

static inline int
ferry_msg_dec_fail(struct ferry_rd *rd, int err)
{
	ferry_rd_fail(rd, err);
	return rd->err;
}

/* An array to encode: count >= 0 (or -1 where nullable) and storage behind a positive count. */
static inline bool
ferry_msg_arr_ok(int32_t n, const void *p, bool nullable)
{
	if (n < (nullable ? -1 : 0))
		return false;
	return n <= 0 || p != NULL;
}

static inline void
ferry_msg_wr_i32_array(struct ferry_wr *w, bool flex, int32_t n, const int32_t *v)
{
	ferry_wr_array(w, flex, n);
	for (int32_t i = 0; i < n; i++)
		ferry_wr_i32(w, v[i]);
}

/* []int32, not nullable, 4 bytes per element: count checked before the arena hands out room. */
static inline bool
ferry_msg_rd_i32_array(struct ferry_rd *rd, bool flex, struct ferry_arena *a, int32_t *n,
		       int32_t **v)
{
	if (!ferry_rd_array(rd, flex, false, 4, n))
		return false;
	*v = ferry_arena_alloc(a, (size_t)*n, sizeof(**v));
	if (*v == NULL)
		return ferry_rd_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < *n; i++)
		if (!ferry_rd_i32(rd, &(*v)[i]))
			return false;
	return true;
}

#endif /* FERRY_MSG_INT_H */
