/*
 * ferry/kafka_group.h - body codecs of the group coordinator APIs:
 * FindCoordinator (10), OffsetCommit (8), OffsetFetch (9).
 *
 * Same convention as ferry/kafka_ctl.h:
 *   int ..._encode(struct ferry_wr *w, int16_t ver, const struct X *m);
 *   int ..._decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a, struct X *m);
 * They handle the body only (after the request/response header) and return 0
 * or a negative ferry_err:
 *   - FERRY_ERR__UNSUPPORTED_VERSION: ver outside FERRY_KAFKA_<API>_VER_MIN..MAX;
 *   - encode: FERRY_ERR__NOSPACE if the writer overflowed; FERRY_ERR__INVALID_ARG
 *     for a null where the version forbids null, a bad array count, or a
 *     non-default value in a non-ignorable field the version cannot carry (the
 *     writer is then rewound to where it was);
 *   - decode: the reader's error (TRUNCATED, BAD_LENGTH for counts the input
 *     cannot hold, NULL_FIELD, BAD_VARINT, TOO_MANY_TAGS, NOMEM when the arena
 *     is exhausted); rd->err / rd->err_off are set too. Unknown tagged fields
 *     are skipped. The decoder stops at the end of the body; whether bytes
 *     remain is the caller's check.
 *
 * Any thread; no state beyond the objects passed in. Decoders never allocate
 * from a count they have not checked against the bytes present.
 */
#ifndef FERRY_KAFKA_GROUP_H
#define FERRY_KAFKA_GROUP_H

#include "ferry/common.h"
#include "ferry/kafka_group-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- FindCoordinator (10) ----------------------------------------------------------------- */

int ferry_kafka_find_coordinator_req_encode(struct ferry_wr *w, int16_t ver,
					    const struct ferry_kafka_find_coordinator_req *m);
int ferry_kafka_find_coordinator_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					    struct ferry_kafka_find_coordinator_req *m);
int ferry_kafka_find_coordinator_resp_encode(struct ferry_wr *w, int16_t ver,
					     const struct ferry_kafka_find_coordinator_resp *m);
int ferry_kafka_find_coordinator_resp_decode(struct ferry_rd *rd, int16_t ver,
					     struct ferry_arena *a,
					     struct ferry_kafka_find_coordinator_resp *m);

/* ---- OffsetCommit (8) --------------------------------------------------------------------- */

int ferry_kafka_offset_commit_req_encode(struct ferry_wr *w, int16_t ver,
					 const struct ferry_kafka_offset_commit_req *m);
int ferry_kafka_offset_commit_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					 struct ferry_kafka_offset_commit_req *m);
int ferry_kafka_offset_commit_resp_encode(struct ferry_wr *w, int16_t ver,
					  const struct ferry_kafka_offset_commit_resp *m);
int ferry_kafka_offset_commit_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					  struct ferry_kafka_offset_commit_resp *m);

/* ---- OffsetFetch (9) ---------------------------------------------------------------------- */

int ferry_kafka_offset_fetch_req_encode(struct ferry_wr *w, int16_t ver,
					const struct ferry_kafka_offset_fetch_req *m);
int ferry_kafka_offset_fetch_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					struct ferry_kafka_offset_fetch_req *m);
int ferry_kafka_offset_fetch_resp_encode(struct ferry_wr *w, int16_t ver,
					 const struct ferry_kafka_offset_fetch_resp *m);
int ferry_kafka_offset_fetch_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					 struct ferry_kafka_offset_fetch_resp *m);

/* ---- spec defaults ------------------------------------------------------------------------ */

/*
 * Set a struct to the spec's defaults. A zeroed struct differs where the
 * default is not 0 or where a string must not be null; encoding a non-default,
 * non-ignorable field into a version that lacks it is refused. Arrays are left
 * empty (n = 0, pointer NULL).
 */

static inline void
ferry_kafka_find_coordinator_resp_init(struct ferry_kafka_find_coordinator_resp *m)
{
	memset(m, 0, sizeof(*m));
	m->Host = ferry_span_make("", 0);
}

static inline void
ferry_kafka_offset_commit_req_init(struct ferry_kafka_offset_commit_req *m)
{
	memset(m, 0, sizeof(*m));
	m->GroupId = ferry_span_make("", 0);
	m->GenerationId = -1;
	m->MemberId = ferry_span_make("", 0);
	m->RetentionTimeMs = -1;
}

static inline void
ferry_kafka_offset_commit_req_partition_init(struct ferry_kafka_offset_commit_req_partition *p)
{
	memset(p, 0, sizeof(*p));
	p->CommittedLeaderEpoch = -1;
}

static inline void
ferry_kafka_offset_fetch_resp_partition_init(struct ferry_kafka_offset_fetch_resp_partition *p)
{
	memset(p, 0, sizeof(*p));
	p->CommittedOffset = -1;
	p->CommittedLeaderEpoch = -1;
}

#ifdef __cplusplus
}
#endif

#endif /* FERRY_KAFKA_GROUP_H */
