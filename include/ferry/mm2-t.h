/*
 * ferry/mm2-t.h - types of MirrorMaker 2's records (heartbeat, checkpoint, offset-sync: the
 * binary "protocol type" schemas of kafka-wire-facts §6.3) and of its replication policies
 * (DefaultReplicationPolicy, IdentityReplicationPolicy: §6.1).
 *
 * Types only (HAProxy "-t.h" rule): functions live in ferry/mm2.h. Pure C11, no third-party
 * headers: the data path encodes offset-syncs with these in exactly-once mode.
 * Field names keep MM2's (Java) names so they can be grepped against Heartbeat.java,
 * Checkpoint.java and OffsetSync.java.
 */
#ifndef FERRY_MM2_T_H
#define FERRY_MM2_T_H

#include <stdbool.h>
#include <stdint.h>

#include "ferry/common-t.h"

/** Value schema version MM2 writes and accepts for heartbeats and checkpoints. */
#define FERRY_MM2_VERSION 0

/** Longest topic name Kafka accepts (Topic.MAX_NAME_LENGTH). */
#define FERRY_MM2_TOPIC_MAX 249

/**
 * Heartbeat: key = sourceClusterAlias STRING, targetClusterAlias STRING;
 * value = version INT16 (0), timestamp INT64 (ms since the epoch).
 * Decoded spans point into the key/value bytes.
 */
struct ferry_mm2_heartbeat {
	struct ferry_span sourceClusterAlias;
	struct ferry_span targetClusterAlias;
	int64_t timestamp;
};

/**
 * Checkpoint: key = consumerGroupId STRING, topic STRING (target-side name), partition INT32;
 * value = version INT16 (0), upstreamOffset INT64, offset INT64 (downstream),
 * metadata STRING (never null; "" when the group committed none).
 */
struct ferry_mm2_checkpoint {
	struct ferry_span consumerGroupId;
	struct ferry_span topic;
	int32_t partition;
	int64_t upstreamOffset;
	int64_t offset; /**< downstream */
	struct ferry_span metadata;
};

/**
 * OffsetSync: key = topic STRING (source name), partition INT32;
 * value = upstreamOffset INT64, offset INT64 (downstream). No version field.
 */
struct ferry_mm2_offset_sync {
	struct ferry_span topic;
	int32_t partition;
	int64_t upstreamOffset;
	int64_t offset; /**< downstream */
};

/** The replication policies ferry implements (replication.policy.class). */
enum ferry_mm2_policy_kind {
	FERRY_MM2_POLICY_DEFAULT,  /**< remote name <source><sep><topic> */
	FERRY_MM2_POLICY_IDENTITY, /**< remote name = source name (heartbeats still prefixed) */
};

/** A replication policy with its settings (no allocation; copy freely). */
struct ferry_mm2_policy {
	enum ferry_mm2_policy_kind kind;
	char separator[65];          /**< replication.policy.separator, 1-64 bytes */
	char internal_separator[65]; /**< separator of internal topic names ("." or separator) */
	/** Identity only: the flow's source alias, what topicSource() answers for plain topics
	 *  (MM2's source.cluster.alias); "" when unknown. */
	char source_alias[128];
};

/** Topic or group filter: MM2's DefaultTopicFilter / DefaultGroupFilter. Opaque (PCRE2). */
struct ferry_mm2_filter;

/**
 * Names of topics known to be replicas written into a cluster by ferry itself, with the
 * cluster they came from: the provenance the Identity policy cannot encode in the name.
 * Opaque; built from the reverse flow's offset-syncs or topic plan (ferry/mm2.h).
 */
struct ferry_mm2_provenance;

#endif /* FERRY_MM2_T_H */
