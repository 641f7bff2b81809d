/*
 * ferry/common-t.h - types shared by every ferry module: byte spans, the one
 * error enum, bump arenas, and the bounds-checked wire reader/writer state.
 *
 * Types only (HAProxy "-t.h" rule): functions live in ferry/common.h.
 * Pure C11, no third-party headers: the codec and policy engine build on it.
 */
#ifndef FERRY_COMMON_T_H
#define FERRY_COMMON_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * A read-only view of bytes owned by someone else.
 * For Kafka nullable strings/bytes, p == NULL means null; an empty but present
 * value has p != NULL and len 0.
 */
struct ferry_span {
	const uint8_t *p;
	size_t len;
};

/**
 * One error enum for the whole project (librdkafka's rd_kafka_resp_err_t shape):
 * Kafka broker error codes >= 0 exactly as the protocol spec numbers them,
 * ferry-local codes in the reserved range (FERRY_ERR__BEGIN, FERRY_ERR__END).
 * ferry_err_name() gives the symbolic name for logs.
 */
#define FERRY_FOREACH_LOCAL_ERR(_)                                                                 \
	_(PARTIAL, "incomplete input: more bytes needed (normal for a stream)")                    \
	_(TRUNCATED, "a field or declared length runs past the end of the message")                \
	_(BAD_LENGTH, "length or count is negative where not allowed, or larger than allowed")     \
	_(BAD_VARINT, "varint longer than its type allows")                                        \
	_(TOO_MANY_TAGS, "more tagged fields than the bytes present could hold")                   \
	_(BAD_CRC, "record batch CRC32C mismatch")                                                 \
	_(BAD_MAGIC, "record batch magic is not 2")                                                \
	_(BAD_COUNT, "record count disagrees with the records present or LastOffsetDelta")         \
	_(BAD_RECORD, "record length disagrees with its parsed fields")                            \
	_(BAD_API, "unknown ApiKey")                                                               \
	_(UNSUPPORTED_VERSION, "API version outside what ferry implements")                        \
	_(NO_COMMON_VERSION, "no API version supported by both ferry and the broker")              \
	_(UNSUPPORTED_CODEC, "unknown compression codec")                                          \
	_(DECOMPRESS, "compressed data is corrupt")                                                \
	_(DECOMPRESS_LIMIT, "decompressed size exceeds the configured cap (bomb)")                 \
	_(COMPRESS, "compression failed")                                                          \
	_(NOSPACE, "output buffer too small")                                                      \
	_(NOMEM, "decode arena or allocation exhausted")                                           \
	_(TRAILING, "unexpected bytes after the end of the message")                               \
	_(NULL_FIELD, "null where the protocol forbids null")                                      \
	_(INVALID_ARG, "invalid argument")                                                         \
	_(CORRELATION, "response correlation id does not match the request")                      \
	_(BAD_OFFSET, "record batch offsets out of range (negative or overflowing)")

#define FERRY_FOREACH_KAFKA_ERR(_)                                                                 \
	_(UNKNOWN_SERVER_ERROR, -1)                                                                \
	_(NONE, 0)                                                                                 \
	_(OFFSET_OUT_OF_RANGE, 1)                                                                  \
	_(CORRUPT_MESSAGE, 2)                                                                      \
	_(UNKNOWN_TOPIC_OR_PARTITION, 3)                                                           \
	_(INVALID_FETCH_SIZE, 4)                                                                   \
	_(LEADER_NOT_AVAILABLE, 5)                                                                 \
	_(NOT_LEADER_OR_FOLLOWER, 6)                                                               \
	_(REQUEST_TIMED_OUT, 7)                                                                    \
	_(BROKER_NOT_AVAILABLE, 8)                                                                 \
	_(REPLICA_NOT_AVAILABLE, 9)                                                                \
	_(MESSAGE_TOO_LARGE, 10)                                                                   \
	_(STALE_CONTROLLER_EPOCH, 11)                                                              \
	_(OFFSET_METADATA_TOO_LARGE, 12)                                                           \
	_(NETWORK_EXCEPTION, 13)                                                                   \
	_(COORDINATOR_LOAD_IN_PROGRESS, 14)                                                        \
	_(COORDINATOR_NOT_AVAILABLE, 15)                                                           \
	_(NOT_COORDINATOR, 16)                                                                     \
	_(INVALID_TOPIC_EXCEPTION, 17)                                                             \
	_(RECORD_LIST_TOO_LARGE, 18)                                                               \
	_(NOT_ENOUGH_REPLICAS, 19)                                                                 \
	_(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20)                                                    \
	_(INVALID_REQUIRED_ACKS, 21)                                                               \
	_(ILLEGAL_GENERATION, 22)                                                                  \
	_(INCONSISTENT_GROUP_PROTOCOL, 23)                                                         \
	_(INVALID_GROUP_ID, 24)                                                                    \
	_(UNKNOWN_MEMBER_ID, 25)                                                                   \
	_(INVALID_SESSION_TIMEOUT, 26)                                                             \
	_(REBALANCE_IN_PROGRESS, 27)                                                               \
	_(INVALID_COMMIT_OFFSET_SIZE, 28)                                                          \
	_(TOPIC_AUTHORIZATION_FAILED, 29)                                                          \
	_(GROUP_AUTHORIZATION_FAILED, 30)                                                          \
	_(CLUSTER_AUTHORIZATION_FAILED, 31)                                                        \
	_(INVALID_TIMESTAMP, 32)                                                                   \
	_(UNSUPPORTED_SASL_MECHANISM, 33)                                                          \
	_(ILLEGAL_SASL_STATE, 34)                                                                  \
	_(UNSUPPORTED_VERSION, 35)                                                                 \
	_(TOPIC_ALREADY_EXISTS, 36)                                                                \
	_(INVALID_PARTITIONS, 37)                                                                  \
	_(INVALID_REPLICATION_FACTOR, 38)                                                          \
	_(INVALID_REPLICA_ASSIGNMENT, 39)                                                          \
	_(INVALID_CONFIG, 40)                                                                      \
	_(NOT_CONTROLLER, 41)                                                                      \
	_(INVALID_REQUEST, 42)                                                                     \
	_(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43)                                                      \
	_(POLICY_VIOLATION, 44)                                                                    \
	_(OUT_OF_ORDER_SEQUENCE_NUMBER, 45)                                                        \
	_(DUPLICATE_SEQUENCE_NUMBER, 46)                                                           \
	_(INVALID_PRODUCER_EPOCH, 47)                                                              \
	_(INVALID_TXN_STATE, 48)                                                                   \
	_(INVALID_PRODUCER_ID_MAPPING, 49)                                                         \
	_(INVALID_TRANSACTION_TIMEOUT, 50)                                                         \
	_(CONCURRENT_TRANSACTIONS, 51)                                                             \
	_(TRANSACTION_COORDINATOR_FENCED, 52)                                                      \
	_(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53)                                               \
	_(SECURITY_DISABLED, 54)                                                                   \
	_(OPERATION_NOT_ATTEMPTED, 55)                                                             \
	_(KAFKA_STORAGE_ERROR, 56)                                                                 \
	_(LOG_DIR_NOT_FOUND, 57)                                                                   \
	_(SASL_AUTHENTICATION_FAILED, 58)                                                          \
	_(UNKNOWN_PRODUCER_ID, 59)                                                                 \
	_(REASSIGNMENT_IN_PROGRESS, 60)                                                            \
	_(DELEGATION_TOKEN_AUTH_DISABLED, 61)                                                      \
	_(DELEGATION_TOKEN_NOT_FOUND, 62)                                                          \
	_(DELEGATION_TOKEN_OWNER_MISMATCH, 63)                                                     \
	_(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 64)                                                \
	_(DELEGATION_TOKEN_AUTHORIZATION_FAILED, 65)                                               \
	_(DELEGATION_TOKEN_EXPIRED, 66)                                                            \
	_(INVALID_PRINCIPAL_TYPE, 67)                                                              \
	_(NON_EMPTY_GROUP, 68)                                                                     \
	_(GROUP_ID_NOT_FOUND, 69)                                                                  \
	_(FETCH_SESSION_ID_NOT_FOUND, 70)                                                          \
	_(INVALID_FETCH_SESSION_EPOCH, 71)                                                         \
	_(LISTENER_NOT_FOUND, 72)                                                                  \
	_(TOPIC_DELETION_DISABLED, 73)                                                             \
	_(FENCED_LEADER_EPOCH, 74)                                                                 \
	_(UNKNOWN_LEADER_EPOCH, 75)                                                                \
	_(UNSUPPORTED_COMPRESSION_TYPE, 76)                                                        \
	_(STALE_BROKER_EPOCH, 77)                                                                  \
	_(OFFSET_NOT_AVAILABLE, 78)                                                                \
	_(MEMBER_ID_REQUIRED, 79)                                                                  \
	_(PREFERRED_LEADER_NOT_AVAILABLE, 80)                                                      \
	_(GROUP_MAX_SIZE_REACHED, 81)                                                              \
	_(FENCED_INSTANCE_ID, 82)                                                                  \
	_(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83)                                                      \
	_(ELECTION_NOT_NEEDED, 84)                                                                 \
	_(NO_REASSIGNMENT_IN_PROGRESS, 85)                                                         \
	_(GROUP_SUBSCRIBED_TO_TOPIC, 86)                                                           \
	_(INVALID_RECORD, 87)                                                                      \
	_(UNSTABLE_OFFSET_COMMIT, 88)                                                              \
	_(THROTTLING_QUOTA_EXCEEDED, 89)                                                           \
	_(PRODUCER_FENCED, 90)                                                                     \
	_(RESOURCE_NOT_FOUND, 91)                                                                  \
	_(DUPLICATE_RESOURCE, 92)                                                                  \
	_(UNACCEPTABLE_CREDENTIAL, 93)                                                             \
	_(INCONSISTENT_VOTER_SET, 94)                                                              \
	_(INVALID_UPDATE_VERSION, 95)                                                              \
	_(FEATURE_UPDATE_FAILED, 96)                                                               \
	_(PRINCIPAL_DESERIALIZATION_FAILURE, 97)                                                   \
	_(SNAPSHOT_NOT_FOUND, 98)                                                                  \
	_(POSITION_OUT_OF_RANGE, 99)                                                               \
	_(UNKNOWN_TOPIC_ID, 100)                                                                   \
	_(DUPLICATE_BROKER_REGISTRATION, 101)                                                      \
	_(BROKER_ID_NOT_REGISTERED, 102)                                                           \
	_(INCONSISTENT_TOPIC_ID, 103)                                                              \
	_(INCONSISTENT_CLUSTER_ID, 104)                                                            \
	_(TRANSACTIONAL_ID_NOT_FOUND, 105)                                                         \
	_(FETCH_SESSION_TOPIC_ID_ERROR, 106)                                                       \
	_(INELIGIBLE_REPLICA, 107)                                                                 \
	_(NEW_LEADER_ELECTED, 108)

enum ferry_err {
	/* Local codes: never sent on the wire. Kept below -100 so they cannot
	 * collide with Kafka's -1 (UNKNOWN_SERVER_ERROR). */
	FERRY_ERR__BEGIN = -200,
#define FERRY_ERR_LOCAL_ENUM(n, desc) FERRY_ERR__##n,
	FERRY_FOREACH_LOCAL_ERR(FERRY_ERR_LOCAL_ENUM)
#undef FERRY_ERR_LOCAL_ENUM
	FERRY_ERR__END,
#define FERRY_ERR_KAFKA_ENUM(n, v) FERRY_ERR_##n = v,
	FERRY_FOREACH_KAFKA_ERR(FERRY_ERR_KAFKA_ENUM)
#undef FERRY_ERR_KAFKA_ENUM
};

/**
 * Bump allocator over caller-owned memory. Decoders take their arrays from it
 * (after checking counts against the bytes present), so a decode never calls
 * malloc and a whole response is released by resetting 'used'.
 */
struct ferry_arena {
	uint8_t *base;
	size_t cap;
	size_t used;
};

/**
 * Bounds-checked big-endian reader over a span. Every read checks the bytes
 * left; on failure 'err' is set once (the first failure wins) and 'err_off'
 * records where, so a caller can say exactly what was wrong.
 */
struct ferry_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
	size_t err_off;
};

/**
 * Writer into a caller buffer. Writes past 'cap' set 'overflow' and are
 * dropped, so an encoder can write unconditionally and check once at the end.
 */
struct ferry_wr {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool overflow;
};

#endif /* FERRY_COMMON_T_H */
