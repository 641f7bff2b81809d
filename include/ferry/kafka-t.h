/*
 * ferry/kafka-t.h - Kafka wire types: API keys, request/response headers,
 * RecordBatch v2 and records, and the request/response bodies of the APIs on
 * ferry's data path (ApiVersions, Fetch, Produce) and of the SASL exchange that
 * opens a SASL_* connection (SaslHandshake, SaslAuthenticate). The control-side APIs
 * (Metadata, ListOffsets, InitProducerId, AddPartitionsToTxn, EndTxn) are in
 * ferry/kafka_ctl-t.h, the group coordinator APIs (FindCoordinator,
 * OffsetCommit, OffsetFetch) in ferry/kafka_group-t.h.
 *
 * Types only. Field names keep the Kafka spec's CamelCase names so they can be
 * grepped against the message JSON files (librdkafka habit, STYLE rule 3).
 * Strings, bytes and records are spans into the decoded buffer: a decoded
 * message is valid only while its input buffer and arena live.
 */
#ifndef FERRY_KAFKA_T_H
#define FERRY_KAFKA_T_H

#include "ferry/common-t.h"

/* ---- API keys ----------------------------------------------------------------------------- */

enum ferry_kafka_api {
	FERRY_KAFKA_PRODUCE = 0,
	FERRY_KAFKA_FETCH = 1,
	FERRY_KAFKA_LIST_OFFSETS = 2,
	FERRY_KAFKA_METADATA = 3,
	FERRY_KAFKA_OFFSET_COMMIT = 8,
	FERRY_KAFKA_OFFSET_FETCH = 9,
	FERRY_KAFKA_FIND_COORDINATOR = 10,
	FERRY_KAFKA_SASL_HANDSHAKE = 17,
	FERRY_KAFKA_API_VERSIONS = 18,
	FERRY_KAFKA_INIT_PRODUCER_ID = 22,
	FERRY_KAFKA_ADD_PARTITIONS_TO_TXN = 24,
	FERRY_KAFKA_END_TXN = 26,
	FERRY_KAFKA_SASL_AUTHENTICATE = 36,
};

/** The _VER_FLEX of an API with no flexible version ("flexibleVersions": "none"). */
#define FERRY_KAFKA_VER_FLEX_NONE INT16_MAX

/* Versions ferry implements for the data-path APIs (first flexible version from the
 * message JSON files). Floors: Produce 3 and Fetch 4 are Kafka 4.0's baselines
 * (KIP-896), and Fetch below 4 would make the broker down-convert batches. Ceilings:
 * Fetch 12 is the last version with topic names, Produce 9 the first flexible one. */
#define FERRY_KAFKA_PRODUCE_VER_MIN 3
#define FERRY_KAFKA_PRODUCE_VER_MAX 9
#define FERRY_KAFKA_PRODUCE_VER_FLEX 9
#define FERRY_KAFKA_FETCH_VER_MIN 4
#define FERRY_KAFKA_FETCH_VER_MAX 12
#define FERRY_KAFKA_FETCH_VER_FLEX 12
#define FERRY_KAFKA_API_VERSIONS_VER_MIN 0
#define FERRY_KAFKA_API_VERSIONS_VER_MAX 3
#define FERRY_KAFKA_API_VERSIONS_VER_FLEX 3
/* SaslHandshake is never flexible: its versions are frozen because clients up to 2.4
 * negotiate it wrongly (KAFKA-9577, SaslHandshakeResponse.json). */
#define FERRY_KAFKA_SASL_HANDSHAKE_VER_MIN 0
#define FERRY_KAFKA_SASL_HANDSHAKE_VER_MAX 1
#define FERRY_KAFKA_SASL_HANDSHAKE_VER_FLEX FERRY_KAFKA_VER_FLEX_NONE
#define FERRY_KAFKA_SASL_AUTHENTICATE_VER_MIN 0
#define FERRY_KAFKA_SASL_AUTHENTICATE_VER_MAX 2
#define FERRY_KAFKA_SASL_AUTHENTICATE_VER_FLEX 2

/** Highest ApiKey the version tables are sized for. */
#define FERRY_KAFKA_API_MAX 100

/* ---- framing ------------------------------------------------------------------------------ */

/** Broker default socket.request.max.bytes; frames above it are refused before buffering. */
#define FERRY_KAFKA_FRAME_MAX_DEFAULT (100 * 1024 * 1024)

/** Request header v1 (non-flexible) or v2 (flexible: adds a tag section). */
struct ferry_kafka_reqhdr {
	int16_t ApiKey;
	int16_t ApiVersion;
	int32_t CorrelationId;
	struct ferry_span ClientId; /* always int16-length, even in v2 (KIP-482) */
};

/* ---- RecordBatch v2 ----------------------------------------------------------------------- */

#define FERRY_KAFKA_BATCH_HDR_SIZE 61
/** BaseOffset + Length: the bytes a reader needs before it knows a batch's size. */
#define FERRY_KAFKA_BATCH_LOG_OVERHEAD 12
/** First byte covered by the CRC (Attributes); bytes 0..20 are not covered. */
#define FERRY_KAFKA_BATCH_CRC_START 21
#define FERRY_KAFKA_BATCH_MAGIC 2

#define FERRY_KAFKA_ATTR_CODEC_MASK 0x07
#define FERRY_KAFKA_ATTR_LOG_APPEND_TIME 0x08
#define FERRY_KAFKA_ATTR_TRANSACTIONAL 0x10
#define FERRY_KAFKA_ATTR_CONTROL 0x20
#define FERRY_KAFKA_ATTR_DELETE_HORIZON 0x40

/** The 61-byte v2 batch header, host order. */
struct ferry_kafka_batch_hdr {
	int64_t BaseOffset;
	int32_t BatchLength; /* bytes after this field: total size - 12 */
	int32_t PartitionLeaderEpoch;
	int8_t Magic;
	uint32_t CRC;
	int16_t Attributes;
	int32_t LastOffsetDelta;
	int64_t BaseTimestamp;
	int64_t MaxTimestamp;
	int64_t ProducerId;
	int16_t ProducerEpoch;
	int32_t BaseSequence;
	int32_t RecordsCount;
};

/** A batch located in a buffer: header plus where its bytes are. */
struct ferry_kafka_batch {
	struct ferry_kafka_batch_hdr hdr;
	struct ferry_span bytes;   /* the whole batch, 12 + BatchLength bytes */
	struct ferry_span records; /* bytes 61..end: records, or one compressed blob */
};

/** Walks the batches of a Fetch Records blob; a cut tail is reported, not an error. */
struct ferry_kafka_batch_iter {
	struct ferry_span in;
	size_t off;
	size_t partial_tail; /* bytes of an incomplete trailing batch, set at the end */
};

/** One record as it sits on the wire, spans into the (decompressed) records bytes. */
struct ferry_kafka_record {
	int32_t Length;
	int8_t Attributes;
	int64_t TimestampDelta;
	int32_t OffsetDelta;
	struct ferry_span Key;   /* p == NULL: null key */
	struct ferry_span Value; /* p == NULL: null value (tombstone) */
	int32_t HeadersCount;
	struct ferry_span Headers; /* raw header bytes, walk with ferry_kafka_hdr_next() */
};

struct ferry_kafka_header {
	struct ferry_span Key;
	struct ferry_span Value; /* p == NULL: null value */
};

/** Iterates RecordsCount records over an uncompressed records span. */
struct ferry_kafka_rec_iter {
	struct ferry_rd rd;
	int32_t count;
	int32_t index;
};

struct ferry_kafka_hdr_iter {
	struct ferry_rd rd;
	int32_t count;
	int32_t index;
};

/** A record given to the batch builder. */
struct ferry_kafka_record_in {
	int64_t Timestamp;
	struct ferry_span Key;
	struct ferry_span Value;
	uint32_t n_headers;
	const struct ferry_kafka_header *Headers;
};

/** Batch-level fields for ferry_kafka_batch_build(). */
struct ferry_kafka_batch_args {
	int64_t BaseOffset;
	int32_t PartitionLeaderEpoch;
	int16_t Attributes; /* codec bits select the compression */
	int64_t ProducerId;
	int16_t ProducerEpoch;
	int32_t BaseSequence;
	int compression_level; /* 0 = codec default */
};

/** Header fields a replicator rewrites; only the ones flagged in 'set' change. */
#define FERRY_KAFKA_RW_BASE_OFFSET 0x01
#define FERRY_KAFKA_RW_LEADER_EPOCH 0x02
#define FERRY_KAFKA_RW_PRODUCER 0x04 /* ProducerId, ProducerEpoch, BaseSequence */
#define FERRY_KAFKA_RW_ATTRIBUTES 0x08
#define FERRY_KAFKA_RW_MAX_TIMESTAMP 0x10
/* Take the batch's CRC as right for its bytes and patch it for the changed fields
 * (ferry_crc32c_patch) instead of reading the whole batch again: damage anywhere else
 * stays visible to the next CRC check (the target broker's), and it costs no pass. */
#define FERRY_KAFKA_RW_CRC_CARRY 0x100
struct ferry_kafka_batch_rewrite {
	unsigned set;
	int64_t BaseOffset;
	int32_t PartitionLeaderEpoch;
	int64_t ProducerId;
	int16_t ProducerEpoch;
	int32_t BaseSequence;
	int16_t Attributes;
	int64_t MaxTimestamp;
};

/** Control record types (key int16 version, int16 type). */
enum ferry_kafka_control_type {
	FERRY_KAFKA_CONTROL_ABORT = 0,
	FERRY_KAFKA_CONTROL_COMMIT = 1,
};

/* ---- ApiVersions (18) --------------------------------------------------------------------- */

struct ferry_kafka_api_versions_req {
	struct ferry_span ClientSoftwareName;    /* v3+ */
	struct ferry_span ClientSoftwareVersion; /* v3+ */
};

struct ferry_kafka_api_version_range {
	int16_t ApiKey;
	int16_t MinVersion;
	int16_t MaxVersion;
};

struct ferry_kafka_api_versions_resp {
	int16_t ErrorCode;
	int32_t n_api_keys;
	struct ferry_kafka_api_version_range *ApiKeys;
	int32_t ThrottleTimeMs; /* v1+ */
	/* v3+ tagged fields (SupportedFeatures etc.) are skipped on decode. */
};

/* ---- SaslHandshake (17), v0 - v1 ----------------------------------------------------------- */

/*
 * v0: after the handshake the SASL tokens travel as raw size-prefixed frames, without a Kafka
 * header; v1: they travel in SaslAuthenticate requests (KIP-152). The bodies are the same.
 */
struct ferry_kafka_sasl_handshake_req {
	struct ferry_span Mechanism; /* not nullable: "PLAIN", "SCRAM-SHA-256", ... */
};

struct ferry_kafka_sasl_handshake_resp {
	int16_t ErrorCode; /* UNSUPPORTED_SASL_MECHANISM (33) if Mechanism is not enabled */
	int32_t n_mechanisms;
	struct ferry_span *Mechanisms; /* the mechanisms the broker enables; not nullable */
};

/* ---- SaslAuthenticate (36), v0 - v2 ------------------------------------------------------- */

struct ferry_kafka_sasl_authenticate_req {
	struct ferry_span AuthBytes; /* not nullable (BYTES) */
};

struct ferry_kafka_sasl_authenticate_resp {
	int16_t ErrorCode;
	struct ferry_span ErrorMessage; /* nullable: p == NULL = null (no error) */
	struct ferry_span AuthBytes;    /* not nullable */
	int64_t SessionLifetimeMs;      /* v1+, default 0 (no re-authentication), non-ignorable */
};

/* ---- Fetch (1), v4 - v12 ------------------------------------------------------------------ */

struct ferry_kafka_fetch_req_part {
	int32_t Partition;
	int32_t CurrentLeaderEpoch; /* v9+, -1 = no fencing */
	int64_t FetchOffset;
	int32_t LastFetchedEpoch; /* v12+, -1 */
	int64_t LogStartOffset;   /* v5+, -1 for consumers */
	int32_t PartitionMaxBytes;
};

struct ferry_kafka_fetch_req_topic {
	struct ferry_span Topic;
	int32_t n_partitions;
	struct ferry_kafka_fetch_req_part *Partitions;
};

struct ferry_kafka_fetch_forgotten {
	struct ferry_span Topic;
	int32_t n_partitions;
	int32_t *Partitions;
};

struct ferry_kafka_fetch_req {
	int32_t ReplicaId; /* -1 for consumers */
	int32_t MaxWaitMs;
	int32_t MinBytes;
	int32_t MaxBytes;
	int8_t IsolationLevel; /* 0 read_uncommitted, 1 read_committed */
	int32_t SessionId;     /* v7+, 0 with SessionEpoch -1 = sessionless */
	int32_t SessionEpoch;  /* v7+ */
	int32_t n_topics;
	struct ferry_kafka_fetch_req_topic *Topics;
	int32_t n_forgotten; /* v7+ */
	struct ferry_kafka_fetch_forgotten *ForgottenTopicsData;
	struct ferry_span RackId;    /* v11+, "" if none */
	struct ferry_span ClusterId; /* v12+ tag 0, nullable (p == NULL: absent) */
};

struct ferry_kafka_aborted_txn {
	int64_t ProducerId;
	int64_t FirstOffset;
};

struct ferry_kafka_fetch_resp_part {
	int32_t PartitionIndex;
	int16_t ErrorCode;
	int64_t HighWatermark;
	int64_t LastStableOffset; /* v4+ */
	int64_t LogStartOffset;   /* v5+ */
	int32_t n_aborted;        /* -1 = null (real brokers, read_uncommitted) */
	struct ferry_kafka_aborted_txn *AbortedTransactions;
	int32_t PreferredReadReplica; /* v11+ */
	struct ferry_span Records;    /* p == NULL: null */
	/* v12+ tagged fields */
	bool has_DivergingEpoch;
	int32_t DivergingEpoch_Epoch;
	int64_t DivergingEpoch_EndOffset;
	bool has_CurrentLeader;
	int32_t CurrentLeader_LeaderId;
	int32_t CurrentLeader_LeaderEpoch;
	bool has_SnapshotId;
	int64_t SnapshotId_EndOffset;
	int32_t SnapshotId_Epoch;
};

struct ferry_kafka_fetch_resp_topic {
	struct ferry_span Topic;
	int32_t n_partitions;
	struct ferry_kafka_fetch_resp_part *Partitions;
};

struct ferry_kafka_fetch_resp {
	int32_t ThrottleTimeMs;
	int16_t ErrorCode; /* v7+ */
	int32_t SessionId; /* v7+ */
	int32_t n_topics;
	struct ferry_kafka_fetch_resp_topic *Responses;
};

/* ---- Produce (0), v3 - v9 ----------------------------------------------------------------- */

struct ferry_kafka_produce_req_part {
	int32_t Index;
	struct ferry_span Records; /* exactly one v2 batch (request-level rule, v3+) */
};

struct ferry_kafka_produce_req_topic {
	struct ferry_span Name;
	int32_t n_partitions;
	struct ferry_kafka_produce_req_part *PartitionData;
};

struct ferry_kafka_produce_req {
	struct ferry_span TransactionalId; /* p == NULL: not transactional */
	int16_t Acks;
	int32_t TimeoutMs;
	int32_t n_topics;
	struct ferry_kafka_produce_req_topic *TopicData;
};

struct ferry_kafka_produce_record_error {
	int32_t BatchIndex;
	struct ferry_span BatchIndexErrorMessage; /* nullable */
};

struct ferry_kafka_produce_resp_part {
	int32_t Index;
	int16_t ErrorCode;
	int64_t BaseOffset;
	int64_t LogAppendTimeMs; /* v2+, -1 for CreateTime topics */
	int64_t LogStartOffset;  /* v5+ */
	int32_t n_record_errors; /* v8+ */
	struct ferry_kafka_produce_record_error *RecordErrors;
	struct ferry_span ErrorMessage; /* v8+, nullable */
};

struct ferry_kafka_produce_resp_topic {
	struct ferry_span Name;
	int32_t n_partitions;
	struct ferry_kafka_produce_resp_part *PartitionResponses;
};

struct ferry_kafka_produce_resp {
	int32_t n_topics;
	struct ferry_kafka_produce_resp_topic *Responses;
	int32_t ThrottleTimeMs; /* comes last on the wire, unlike Fetch */
};

#endif /* FERRY_KAFKA_T_H */
