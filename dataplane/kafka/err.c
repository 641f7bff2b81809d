/*
 * err.c - names and descriptions of ferry's one error enum (Kafka broker codes
 * and ferry-local codes), for logs and operator messages.
 *
 * Any thread; no state.
 */
#include "ferry/common.h"

const char *
ferry_err_name(int err)
{
	switch (err) {
#define FERRY_ERR_LOCAL_NAME(n, desc)                                                              \
	case FERRY_ERR__##n:                                                                       \
		return "FERRY_ERR__" #n;
		FERRY_FOREACH_LOCAL_ERR(FERRY_ERR_LOCAL_NAME)
#undef FERRY_ERR_LOCAL_NAME
#define FERRY_ERR_KAFKA_NAME(n, v)                                                                 \
	case v:                                                                                    \
		return #n;
		FERRY_FOREACH_KAFKA_ERR(FERRY_ERR_KAFKA_NAME)
#undef FERRY_ERR_KAFKA_NAME
	default:
		return "UNKNOWN_ERROR_CODE";
	}
}

const char *
ferry_err_desc(int err)
{
	switch (err) {
#define FERRY_ERR_LOCAL_DESC(n, desc)                                                              \
	case FERRY_ERR__##n:                                                                       \
		return desc;
		FERRY_FOREACH_LOCAL_ERR(FERRY_ERR_LOCAL_DESC)
#undef FERRY_ERR_LOCAL_DESC
	case FERRY_ERR_NONE:
		return "success";
	default:
		/* Kafka codes: the symbolic name is the description brokers use too. */
		return ferry_err_name(err);
	}
}

void *
ferry_arena_alloc(struct ferry_arena *a, size_t n, size_t sz)
{
	size_t start = (a->used + 7u) & ~(size_t)7u;
	if (start < a->used || (sz && n > SIZE_MAX / sz))
		return NULL;
	size_t bytes = n * sz;
	if (start > a->cap || a->cap - start < bytes)
		return NULL;
	a->used = start + bytes;
	/* Never hand out NULL for a zero-length array: callers use NULL for "null array". */
	return a->base + start;
}
