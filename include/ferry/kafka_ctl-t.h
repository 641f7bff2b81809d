/*
 * ferry/kafka_ctl-t.h - request/response bodies of the control-side Kafka APIs:
 * Metadata (3), ListOffsets (2), InitProducerId (22), AddPartitionsToTxn (24)
 * and EndTxn (26). The data-path APIs are in ferry/kafka-t.h.
 *
 * Types only. Field names keep the Kafka spec's CamelCase names (apache/kafka
 * clients/src/main/resources/common/message/<Api>{Request,Response}.json) so
 * they can be grepped against the JSON; arrays are `int32_t n_xxx` plus a
 * pointer (n_xxx == -1: null, only where the spec allows null); strings are
 * spans (p == NULL: null); UUIDs are 16 raw bytes. A decoded message points
 * into the decoded buffer and the arena: it lives as long as both do.
 *
 * A field a version does not carry decodes as its spec default (noted below
 * as "default X"). Encoding a non-default value into a version that cannot
 * carry it is FERRY_ERR__INVALID_ARG for the fields the spec marks
 * non-ignorable, and silently dropped for the ignorable ones (the Java
 * generator's rule). The ferry_kafka_*_init() helpers in ferry/kafka_ctl.h
 * set the defaults.
 */
#ifndef FERRY_KAFKA_CTL_T_H
#define FERRY_KAFKA_CTL_T_H

#include "ferry/common-t.h"

/* ---- versions ferry implements (first flexible version per the JSON files) ---------------- */

#define FERRY_KAFKA_METADATA_VER_MIN  1
#define FERRY_KAFKA_METADATA_VER_MAX  12
#define FERRY_KAFKA_METADATA_VER_FLEX 9

#define FERRY_KAFKA_LIST_OFFSETS_VER_MIN  1
#define FERRY_KAFKA_LIST_OFFSETS_VER_MAX  7
#define FERRY_KAFKA_LIST_OFFSETS_VER_FLEX 6

#define FERRY_KAFKA_INIT_PRODUCER_ID_VER_MIN  0
#define FERRY_KAFKA_INIT_PRODUCER_ID_VER_MAX  4
#define FERRY_KAFKA_INIT_PRODUCER_ID_VER_FLEX 2

#define FERRY_KAFKA_ADD_PARTITIONS_TO_TXN_VER_MIN  0
#define FERRY_KAFKA_ADD_PARTITIONS_TO_TXN_VER_MAX  3
#define FERRY_KAFKA_ADD_PARTITIONS_TO_TXN_VER_FLEX 3

#define FERRY_KAFKA_END_TXN_VER_MIN  0
#define FERRY_KAFKA_END_TXN_VER_MAX  3
#define FERRY_KAFKA_END_TXN_VER_FLEX 3

/** "No authorized operations reported" (Metadata *AuthorizedOperations default, INT32_MIN). */
#define FERRY_KAFKA_AUTHORIZED_OPS_UNKNOWN (-2147483647 - 1)

/* ---- Metadata (3), v1 - v12 --------------------------------------------------------------- */

struct ferry_kafka_metadata_req_topic {
	uint8_t TopicId[16];    /* v10+, ignorable (all zero: none) */
	struct ferry_span Name; /* nullable v10+ (lookup by TopicId) */
};

struct ferry_kafka_metadata_req {
	int32_t n_topics; /* -1 = null = all topics; 0 = no topics (v1+) */
	struct ferry_kafka_metadata_req_topic *Topics;
	bool AllowAutoTopicCreation;             /* v4+, default true, non-ignorable */
	bool IncludeClusterAuthorizedOperations; /* v8-10, default false, non-ignorable */
	bool IncludeTopicAuthorizedOperations;   /* v8+, default false, non-ignorable */
};

struct ferry_kafka_metadata_resp_broker {
	int32_t NodeId;
	struct ferry_span Host;
	int32_t Port;
	struct ferry_span Rack; /* nullable, default null */
};

struct ferry_kafka_metadata_resp_partition {
	int16_t ErrorCode;
	int32_t PartitionIndex;
	int32_t LeaderId;
	int32_t LeaderEpoch; /* v7+, default -1, ignorable */
	int32_t n_replica_nodes;
	int32_t *ReplicaNodes;
	int32_t n_isr_nodes;
	int32_t *IsrNodes;
	int32_t n_offline_replicas; /* v5+, ignorable (default empty) */
	int32_t *OfflineReplicas;
};

struct ferry_kafka_metadata_resp_topic {
	int16_t ErrorCode;
	struct ferry_span Name; /* nullable v12+ (topic asked for by id only) */
	uint8_t TopicId[16];    /* v10+, ignorable */
	bool IsInternal;        /* default false, ignorable */
	int32_t n_partitions;
	struct ferry_kafka_metadata_resp_partition *Partitions;
	int32_t TopicAuthorizedOperations; /* v8+, default INT32_MIN, non-ignorable */
};

struct ferry_kafka_metadata_resp {
	int32_t ThrottleTimeMs; /* v3+, ignorable */
	int32_t n_brokers;
	struct ferry_kafka_metadata_resp_broker *Brokers;
	struct ferry_span ClusterId; /* v2+, nullable, default null, ignorable */
	int32_t ControllerId;        /* default -1, ignorable */
	int32_t n_topics;
	struct ferry_kafka_metadata_resp_topic *Topics;
	int32_t ClusterAuthorizedOperations; /* v8-10, default INT32_MIN, non-ignorable */
};

/* ---- ListOffsets (2), v1 - v7 ------------------------------------------------------------- */

/** Special ListOffsets timestamps (the request's Timestamp field). */
#define FERRY_KAFKA_OFFSET_LATEST        (-1) /* next offset to be written */
#define FERRY_KAFKA_OFFSET_EARLIEST      (-2) /* log start offset */
#define FERRY_KAFKA_OFFSET_MAX_TIMESTAMP (-3) /* v7+ (KIP-734) */

struct ferry_kafka_list_offsets_req_partition {
	int32_t PartitionIndex;
	int32_t CurrentLeaderEpoch; /* v4+, default -1 (no fencing), ignorable */
	int64_t Timestamp;          /* or FERRY_KAFKA_OFFSET_* */
};

struct ferry_kafka_list_offsets_req_topic {
	struct ferry_span Name;
	int32_t n_partitions;
	struct ferry_kafka_list_offsets_req_partition *Partitions;
};

struct ferry_kafka_list_offsets_req {
	int32_t ReplicaId;     /* -1 for consumers */
	int8_t IsolationLevel; /* v2+, 0 read_uncommitted, 1 read_committed, non-ignorable */
	int32_t n_topics;
	struct ferry_kafka_list_offsets_req_topic *Topics;
};

struct ferry_kafka_list_offsets_resp_partition {
	int32_t PartitionIndex;
	int16_t ErrorCode;
	int64_t Timestamp;   /* default -1 */
	int64_t Offset;      /* default -1 */
	int32_t LeaderEpoch; /* v4+, default -1, non-ignorable */
};

struct ferry_kafka_list_offsets_resp_topic {
	struct ferry_span Name;
	int32_t n_partitions;
	struct ferry_kafka_list_offsets_resp_partition *Partitions;
};

struct ferry_kafka_list_offsets_resp {
	int32_t ThrottleTimeMs; /* v2+, ignorable */
	int32_t n_topics;
	struct ferry_kafka_list_offsets_resp_topic *Topics;
};

/* ---- InitProducerId (22), v0 - v4 --------------------------------------------------------- */

struct ferry_kafka_init_producer_id_req {
	struct ferry_span TransactionalId; /* nullable: null = idempotent, not transactional */
	int32_t TransactionTimeoutMs;
	int64_t ProducerId;    /* v3+, default -1, non-ignorable */
	int16_t ProducerEpoch; /* v3+, default -1, non-ignorable */
};

struct ferry_kafka_init_producer_id_resp {
	int32_t ThrottleTimeMs;
	int16_t ErrorCode;
	int64_t ProducerId; /* default -1 */
	int16_t ProducerEpoch;
};

/* ---- AddPartitionsToTxn (24), v0 - v3 ----------------------------------------------------- */

/*
 * The client layout used up to v3. Field names are those of the pre-v4 JSON;
 * the v4+ JSON calls the same v0-3 fields V3AndBelowTransactionalId,
 * V3AndBelowProducerId, V3AndBelowProducerEpoch, V3AndBelowTopics, and the
 * response's ResultsByTopicV3AndBelow[Name, ResultsByPartition[PartitionIndex,
 * PartitionErrorCode]]. The wire bytes are identical.
 */
struct ferry_kafka_add_partitions_to_txn_topic {
	struct ferry_span Name;
	int32_t n_partitions;
	int32_t *Partitions;
};

struct ferry_kafka_add_partitions_to_txn_req {
	struct ferry_span TransactionalId; /* not nullable */
	int64_t ProducerId;
	int16_t ProducerEpoch;
	int32_t n_topics;
	struct ferry_kafka_add_partitions_to_txn_topic *Topics;
};

struct ferry_kafka_add_partitions_to_txn_partition_result {
	int32_t PartitionIndex;
	int16_t ErrorCode;
};

struct ferry_kafka_add_partitions_to_txn_topic_result {
	struct ferry_span Name;
	int32_t n_results;
	struct ferry_kafka_add_partitions_to_txn_partition_result *Results;
};

struct ferry_kafka_add_partitions_to_txn_resp {
	int32_t ThrottleTimeMs;
	int32_t n_results;
	struct ferry_kafka_add_partitions_to_txn_topic_result *Results;
};

/* ---- EndTxn (26), v0 - v3 ----------------------------------------------------------------- */

struct ferry_kafka_end_txn_req {
	struct ferry_span TransactionalId; /* not nullable */
	int64_t ProducerId;
	int16_t ProducerEpoch;
	bool Committed; /* true: commit, false: abort */
};

struct ferry_kafka_end_txn_resp {
	int32_t ThrottleTimeMs;
	int16_t ErrorCode;
};

#endif /* FERRY_KAFKA_CTL_T_H */
