/*
 * ferry/kafka_ctl.h - body codecs of the control-side Kafka APIs: Metadata (3),
 * ListOffsets (2), InitProducerId (22), AddPartitionsToTxn (24), EndTxn (26).
 *
 * Same convention as the data-path codecs in ferry/kafka.h:
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
#ifndef FERRY_KAFKA_CTL_H
#define FERRY_KAFKA_CTL_H

#include "ferry/common.h"
#include "ferry/kafka_ctl-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Metadata (3) ------------------------------------------------------------------------- */

int ferry_kafka_metadata_req_encode(struct ferry_wr *w, int16_t ver,
				    const struct ferry_kafka_metadata_req *m);
int ferry_kafka_metadata_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				    struct ferry_kafka_metadata_req *m);
int ferry_kafka_metadata_resp_encode(struct ferry_wr *w, int16_t ver,
				     const struct ferry_kafka_metadata_resp *m);
int ferry_kafka_metadata_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				     struct ferry_kafka_metadata_resp *m);

/* ---- ListOffsets (2) ---------------------------------------------------------------------- */

int ferry_kafka_list_offsets_req_encode(struct ferry_wr *w, int16_t ver,
					const struct ferry_kafka_list_offsets_req *m);
int ferry_kafka_list_offsets_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					struct ferry_kafka_list_offsets_req *m);
int ferry_kafka_list_offsets_resp_encode(struct ferry_wr *w, int16_t ver,
					 const struct ferry_kafka_list_offsets_resp *m);
int ferry_kafka_list_offsets_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					 struct ferry_kafka_list_offsets_resp *m);

/* ---- InitProducerId (22) ------------------------------------------------------------------ */

int ferry_kafka_init_producer_id_req_encode(struct ferry_wr *w, int16_t ver,
					    const struct ferry_kafka_init_producer_id_req *m);
int ferry_kafka_init_producer_id_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					    struct ferry_kafka_init_producer_id_req *m);
int ferry_kafka_init_producer_id_resp_encode(struct ferry_wr *w, int16_t ver,
					     const struct ferry_kafka_init_producer_id_resp *m);
int ferry_kafka_init_producer_id_resp_decode(struct ferry_rd *rd, int16_t ver,
					     struct ferry_arena *a,
					     struct ferry_kafka_init_producer_id_resp *m);

/* ---- AddPartitionsToTxn (24) -------------------------------------------------------------- */

int
ferry_kafka_add_partitions_to_txn_req_encode(struct ferry_wr *w, int16_t ver,
					     const struct ferry_kafka_add_partitions_to_txn_req *m);
int ferry_kafka_add_partitions_to_txn_req_decode(struct ferry_rd *rd, int16_t ver,
						 struct ferry_arena *a,
						 struct ferry_kafka_add_partitions_to_txn_req *m);
int ferry_kafka_add_partitions_to_txn_resp_encode(
    struct ferry_wr *w, int16_t ver, const struct ferry_kafka_add_partitions_to_txn_resp *m);
int ferry_kafka_add_partitions_to_txn_resp_decode(struct ferry_rd *rd, int16_t ver,
						  struct ferry_arena *a,
						  struct ferry_kafka_add_partitions_to_txn_resp *m);

/* ---- EndTxn (26) -------------------------------------------------------------------------- */

int ferry_kafka_end_txn_req_encode(struct ferry_wr *w, int16_t ver,
				   const struct ferry_kafka_end_txn_req *m);
int ferry_kafka_end_txn_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				   struct ferry_kafka_end_txn_req *m);
int ferry_kafka_end_txn_resp_encode(struct ferry_wr *w, int16_t ver,
				    const struct ferry_kafka_end_txn_resp *m);
int ferry_kafka_end_txn_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				    struct ferry_kafka_end_txn_resp *m);

/* ---- spec defaults ------------------------------------------------------------------------ */

/*
 * Set a struct to the spec's defaults (what the Java generator's constructor
 * does): a zeroed struct differs where the default is not 0, and encoding a
 * non-default, non-ignorable field into a version that lacks it is refused.
 * Arrays are left empty (n = 0, pointer NULL).
 */

static inline void
ferry_kafka_metadata_req_init(struct ferry_kafka_metadata_req *m)
{
	memset(m, 0, sizeof(*m));
	m->AllowAutoTopicCreation = true;
}

static inline void
ferry_kafka_metadata_resp_init(struct ferry_kafka_metadata_resp *m)
{
	memset(m, 0, sizeof(*m));
	m->ControllerId = -1;
	m->ClusterAuthorizedOperations = FERRY_KAFKA_AUTHORIZED_OPS_UNKNOWN;
}

static inline void
ferry_kafka_metadata_resp_topic_init(struct ferry_kafka_metadata_resp_topic *t)
{
	memset(t, 0, sizeof(*t));
	t->TopicAuthorizedOperations = FERRY_KAFKA_AUTHORIZED_OPS_UNKNOWN;
}

static inline void
ferry_kafka_metadata_resp_partition_init(struct ferry_kafka_metadata_resp_partition *p)
{
	memset(p, 0, sizeof(*p));
	p->LeaderEpoch = -1;
}

static inline void
ferry_kafka_list_offsets_req_init(struct ferry_kafka_list_offsets_req *m)
{
	memset(m, 0, sizeof(*m));
	m->ReplicaId = -1; /* a consumer: the JSON has no default (0), clients all send -1 */
}

static inline void
ferry_kafka_list_offsets_req_partition_init(struct ferry_kafka_list_offsets_req_partition *p)
{
	memset(p, 0, sizeof(*p));
	p->CurrentLeaderEpoch = -1;
}

static inline void
ferry_kafka_list_offsets_resp_partition_init(struct ferry_kafka_list_offsets_resp_partition *p)
{
	memset(p, 0, sizeof(*p));
	p->Timestamp = -1;
	p->Offset = -1;
	p->LeaderEpoch = -1;
}

static inline void
ferry_kafka_init_producer_id_req_init(struct ferry_kafka_init_producer_id_req *m)
{
	memset(m, 0, sizeof(*m));
	m->ProducerId = -1;
	m->ProducerEpoch = -1;
}

static inline void
ferry_kafka_init_producer_id_resp_init(struct ferry_kafka_init_producer_id_resp *m)
{
	memset(m, 0, sizeof(*m));
	m->ProducerId = -1;
}

#ifdef __cplusplus
}
#endif

#endif /* FERRY_KAFKA_CTL_H */
