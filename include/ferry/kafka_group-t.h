/*
 * ferry/kafka_group-t.h - request/response bodies of the consumer-group
 * coordinator APIs ferry speaks: FindCoordinator (10), OffsetCommit (8) and
 * OffsetFetch (9). Enough for a consumer that uses assign() and commits its
 * offsets (no group membership: JoinGroup/SyncGroup/Heartbeat are not here),
 * and for reading and writing MM2 group offsets (kafka-wire-facts.md §6.6).
 *
 * Types only. Same conventions as ferry/kafka_ctl-t.h: field names are the
 * spec's CamelCase names (apache/kafka clients/src/main/resources/common/
 * message/<Api>{Request,Response}.json); arrays are `int32_t n_xxx` plus a
 * pointer (n_xxx == -1: null, only where the spec allows null); strings are
 * spans (p == NULL: null). A decoded message points into the decoded buffer
 * and the arena: it lives as long as both do.
 *
 * A field a version does not carry decodes as its spec default (noted below).
 * Encoding a non-default value into a version that cannot carry it is
 * FERRY_ERR__INVALID_ARG for fields the spec marks non-ignorable and silently
 * dropped for ignorable ones. The ferry_kafka_*_init() helpers in
 * ferry/kafka_group.h set the defaults.
 *
 * Version ceilings: FindCoordinator v4+ batches keys (KIP-699), OffsetFetch
 * v8+ is multi-group, OffsetCommit/OffsetFetch v9+ add topic ids (KIP-848);
 * ferry stops below each. Floors: OffsetCommit v0-1 (ZooKeeper era, commit
 * timestamps) and OffsetFetch v0 (ZooKeeper storage) are not implemented.
 */
#ifndef FERRY_KAFKA_GROUP_T_H
#define FERRY_KAFKA_GROUP_T_H

#include "ferry/common-t.h"

/* ---- versions ferry implements (first flexible version per the JSON files) ---------------- */

#define FERRY_KAFKA_FIND_COORDINATOR_VER_MIN  0
#define FERRY_KAFKA_FIND_COORDINATOR_VER_MAX  3
#define FERRY_KAFKA_FIND_COORDINATOR_VER_FLEX 3

#define FERRY_KAFKA_OFFSET_COMMIT_VER_MIN  2
#define FERRY_KAFKA_OFFSET_COMMIT_VER_MAX  8
#define FERRY_KAFKA_OFFSET_COMMIT_VER_FLEX 8

#define FERRY_KAFKA_OFFSET_FETCH_VER_MIN  1
#define FERRY_KAFKA_OFFSET_FETCH_VER_MAX  7
#define FERRY_KAFKA_OFFSET_FETCH_VER_FLEX 6

/* ---- FindCoordinator (10), v0 - v3 -------------------------------------------------------- */

/** FindCoordinator KeyType values. */
#define FERRY_KAFKA_COORD_GROUP       0
#define FERRY_KAFKA_COORD_TRANSACTION 1

struct ferry_kafka_find_coordinator_req {
	struct ferry_span Key; /* group id or transactional id; not nullable */
	int8_t KeyType;        /* v1+, default 0 (group), non-ignorable */
};

struct ferry_kafka_find_coordinator_resp {
	int32_t ThrottleTimeMs; /* v1+, ignorable */
	int16_t ErrorCode;
	struct ferry_span ErrorMessage; /* v1+, nullable, ignorable; decodes as null before v1 */
	int32_t NodeId;
	struct ferry_span Host; /* not nullable */
	int32_t Port;
};

/* ---- OffsetCommit (8), v2 - v8 ------------------------------------------------------------ */

struct ferry_kafka_offset_commit_req_partition {
	int32_t PartitionIndex;
	int64_t CommittedOffset;
	int32_t CommittedLeaderEpoch;        /* v6+, default -1, ignorable */
	struct ferry_span CommittedMetadata; /* nullable in every version */
};

struct ferry_kafka_offset_commit_req_topic {
	struct ferry_span Name;
	int32_t n_partitions;
	struct ferry_kafka_offset_commit_req_partition *Partitions;
};

struct ferry_kafka_offset_commit_req {
	struct ferry_span GroupId;
	int32_t GenerationId;              /* default -1 (a simple consumer: no generation) */
	struct ferry_span MemberId;        /* "" for a simple consumer; not nullable */
	struct ferry_span GroupInstanceId; /* v7+, nullable, default null, non-ignorable */
	int64_t RetentionTimeMs;           /* v2-4 only, default -1, ignorable */
	int32_t n_topics;
	struct ferry_kafka_offset_commit_req_topic *Topics;
};

struct ferry_kafka_offset_commit_resp_partition {
	int32_t PartitionIndex;
	int16_t ErrorCode;
};

struct ferry_kafka_offset_commit_resp_topic {
	struct ferry_span Name;
	int32_t n_partitions;
	struct ferry_kafka_offset_commit_resp_partition *Partitions;
};

struct ferry_kafka_offset_commit_resp {
	int32_t ThrottleTimeMs; /* v3+, ignorable */
	int32_t n_topics;
	struct ferry_kafka_offset_commit_resp_topic *Topics;
};

/* ---- OffsetFetch (9), v1 - v7 ------------------------------------------------------------- */

struct ferry_kafka_offset_fetch_req_topic {
	struct ferry_span Name;
	int32_t n_partition_indexes;
	int32_t *PartitionIndexes;
};

struct ferry_kafka_offset_fetch_req {
	struct ferry_span GroupId;
	int32_t n_topics; /* -1 = null = every topic the group committed (v2+ only) */
	struct ferry_kafka_offset_fetch_req_topic *Topics;
	bool RequireStable; /* v7+, default false, non-ignorable */
};

struct ferry_kafka_offset_fetch_resp_partition {
	int32_t PartitionIndex;
	int64_t CommittedOffset;      /* -1: nothing committed */
	int32_t CommittedLeaderEpoch; /* v5+, default -1, ignorable */
	struct ferry_span Metadata;   /* nullable in every version */
	int16_t ErrorCode;
};

struct ferry_kafka_offset_fetch_resp_topic {
	struct ferry_span Name;
	int32_t n_partitions;
	struct ferry_kafka_offset_fetch_resp_partition *Partitions;
};

struct ferry_kafka_offset_fetch_resp {
	int32_t ThrottleTimeMs; /* v3+, ignorable */
	int32_t n_topics;
	struct ferry_kafka_offset_fetch_resp_topic *Topics;
	int16_t ErrorCode; /* v2+ (top-level), default 0, ignorable */
};

#endif /* FERRY_KAFKA_GROUP_T_H */
