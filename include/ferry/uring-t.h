/*
 * ferry/uring-t.h - types of the broker data path over io_uring (issue 4):
 * configuration, the events handed to the owner, delivery reports.
 *
 * Types only (HAProxy "-t.h" rule); functions are in ferry/uring.h.
 * One struct ferry_uring per owning thread (an io lcore); it owns one
 * io_uring, its broker connections, receive buffers and partition state.
 * Nothing here is shared between threads.
 */
#ifndef FERRY_URING_T_H
#define FERRY_URING_T_H

#include "ferry/kafka-t.h"

/** The broker keeps the last 5 batches per producer and partition (kafka-wire-facts §5.2). */
#define FERRY_URING_MAX_INFLIGHT_PER_PART 5

/**
 * Settings of one instance. ferry_uring_conf_defaults() fills every field;
 * property names in comments are the librdkafka/MM2 names where one exists.
 */
struct ferry_uring_conf {
	const char *client_id;      /* client.id, "ferry" */
	unsigned ring_entries;      /* SQ entries, 256 */
	int connect_timeout_ms;     /* socket.connection.setup.timeout.ms, 10000 */
	int request_timeout_ms;     /* request.timeout.ms, 30000 (Fetch adds MaxWaitMs) */
	int backoff_min_ms;         /* reconnect.backoff.ms, 100 */
	int backoff_max_ms;         /* reconnect.backoff.max.ms, 10000 */
	size_t rx_buf_size;         /* one receive buffer; frames up to half of it, 8 MiB */
	unsigned rx_bufs;           /* receive buffer pool, 0 = 2 per broker + 4 */
	unsigned max_brokers;       /* broker table size, 64 */
	unsigned max_parts;         /* fetch + produce partitions, 1024 */
	unsigned max_inflight_conn; /* requests in flight per connection, 32 */
	size_t tx_buf_size;         /* request bytes (not batches) per connection, 256 KiB */

	/* Fetcher */
	int8_t isolation_level;        /* isolation.level: 0 read_uncommitted, 1 read_committed */
	int32_t fetch_max_wait_ms;     /* fetch.wait.max.ms, 500 */
	int32_t fetch_min_bytes;       /* fetch.min.bytes, 1 */
	int32_t fetch_max_bytes;       /* fetch.max.bytes (per request), 2 MiB */
	int32_t partition_max_bytes;   /* max.partition.fetch.bytes, 1 MiB */
	unsigned fetch_depth;          /* Fetch requests in flight per partition, 1..4, 2 */
	unsigned fetch_max_unreleased; /* deliveries held by the owner before a partition waits, 4 */
	int16_t fetch_max_version;     /* cap on the negotiated Fetch version, 0 = none */

	/* Producer */
	int32_t produce_timeout_ms;    /* request TimeoutMs (acks=all), 30000 */
	unsigned produce_max_inflight; /* max.in.flight.requests.per.connection, 1..5, 5 */
	unsigned produce_queue;        /* batches queued per partition, 64 */
	bool idempotent;               /* enable.idempotence, true */
	int16_t produce_max_version;   /* cap on the negotiated Produce version, 0 = none */

	/* TLS to the brokers (security.protocol=SSL), OpenSSL over the same io_uring sockets:
	 * the kernel moves ciphertext, the owner thread encrypts and decrypts. */
	bool tls;                     /* security.protocol SSL, false = PLAINTEXT */
	const char *tls_ca_file;      /* ssl.ca.location, NULL = the system's CA store */
	const char *tls_cert_file;    /* ssl.certificate.location, NULL = no client cert */
	const char *tls_key_file;     /* ssl.key.location */
	const char *tls_key_password; /* ssl.key.password, NULL = none */
	bool tls_verify_host;         /* ssl.endpoint.identification.algorithm=https, true */

	/* SASL (security.protocol SASL_PLAINTEXT or SASL_SSL): after ApiVersions and before any
	 * other request, SaslHandshake v1 then SaslAuthenticate (KIP-152) */
	const char *sasl_mechanism; /* sasl.mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; NULL none */
	const char *sasl_username;  /* sasl.username */
	const char *sasl_password;  /* sasl.password */

	/* Transactions (KIP-98): see ferry_uring_txn_begin() in ferry/uring.h */
	const char *transactional_id;   /* transactional.id, NULL = not transactional (copied) */
	int32_t transaction_timeout_ms; /* transaction.timeout.ms, 60000 */
};

/** What a delivery report refers to on the source side (the WAN lane and source offsets). */
struct ferry_uring_src {
	uint32_t lane;
	int64_t first_offset;
	int64_t last_offset;
};

enum ferry_uring_ev_type {
	FERRY_URING_EV_BROKER_UP,       /* connected and versions negotiated */
	FERRY_URING_EV_BROKER_DOWN,     /* connection lost or failed; it will retry with backoff */
	FERRY_URING_EV_METADATA,        /* the control plane should refresh leaders */
	FERRY_URING_EV_FETCH,           /* batches for a partition (hold a buffer reference) */
	FERRY_URING_EV_FETCH_LOSS,      /* truncation: the partition stopped */
	FERRY_URING_EV_FETCH_ERROR,     /* non-retriable fetch error: the partition stopped */
	FERRY_URING_EV_DELIVERY,        /* one produced batch: written, or a precise error */
	FERRY_URING_EV_PRODUCE_STOPPED, /* the partition stopped (reason in err) */
	FERRY_URING_EV_RECONCILED,      /* target tail read back, writing resumes */
	FERRY_URING_EV_TXN,             /* a transaction's outcome, or why it must be aborted */
};

/** A broker event (BROKER_UP, BROKER_DOWN). */
struct ferry_uring_ev_broker {
	int32_t node_id;
	int err;         /* -errno or a ferry_err; 0 for UP */
	const char *msg; /* human readable reason, valid during the callback */
};

/** Leaders must be refreshed (part = -1 when a whole broker is concerned). */
struct ferry_uring_ev_metadata {
	int32_t node_id;
	int part; /* handle, or -1 */
	struct ferry_span topic;
	int32_t partition;
	int err; /* Kafka error code or local error that triggered it */
};

/**
 * Batches of one partition, in offset order, each whole and CRC not yet
 * checked (the worker verifies). Control batches and, with read_committed,
 * aborted transactional batches are already removed. bytes of every batch
 * point into a receive buffer that stays valid until ferry_uring_release(ref);
 * the batches array itself is valid only during the callback.
 */
struct ferry_uring_ev_fetch {
	int part;
	uint64_t cookie;
	const struct ferry_kafka_batch *batches;
	uint32_t n_batches;
	uint32_t ref;           /* release token */
	int64_t fetch_offset;   /* position before these batches */
	int64_t next_offset;    /* position after them (skipped batches included) */
	int64_t high_watermark;
	int64_t last_stable_offset;
	int64_t log_start_offset; /* -1 if the version does not carry it */
	uint32_t skipped_control;
	uint32_t skipped_aborted;
};

/**
 * Detected loss: offsets [lost_from, lost_to) are gone from the source log
 * (log start moved past the position), or, for a position beyond the log end,
 * lost_from = log end and lost_to = position (those offsets were read once
 * and the log was truncated below them). The partition stops until
 * ferry_uring_fetch_seek().
 */
struct ferry_uring_ev_loss {
	int part;
	uint64_t cookie;
	int64_t position;
	int64_t lost_from;
	int64_t lost_to;
	int64_t log_start;
	int64_t log_end;
	int err; /* the Kafka error that revealed it (OFFSET_OUT_OF_RANGE) or 0 */
};

/** Fetch error that stops a partition (authorization, corrupt data, ...). */
struct ferry_uring_ev_fetch_error {
	int part;
	uint64_t cookie;
	int64_t position;
	int err;
	const char *msg;
};

/**
 * Delivery report: base_offset >= 0 and err 0, or err != 0 with a reason.
 * The batch memory given to ferry_uring_produce() returns to the caller.
 */
struct ferry_uring_ev_delivery {
	int part;
	uint64_t part_cookie;
	uint64_t cookie;
	struct ferry_uring_src src;
	const uint8_t *batch;
	size_t len;
	int64_t base_offset;
	int32_t records;
	int err;
	const char *msg;
};

/** The producer partition stopped, or finished reconciling. */
struct ferry_uring_ev_produce_state {
	int part;
	uint64_t cookie;
	int err;
	const char *msg;
	int64_t target_end;   /* reconcile: log end read back */
	uint32_t found;       /* reconcile: batches found written */
	uint32_t resent;      /* reconcile: batches that will be sent again */
};

/** What a FERRY_URING_EV_TXN event says. */
enum ferry_uring_txn_result {
	FERRY_URING_TXN_COMMITTED,      /* EndTxn(commit) accepted: read_committed readers see it all */
	FERRY_URING_TXN_ABORTED,        /* EndTxn(abort) accepted (or nothing had been written) */
	FERRY_URING_TXN_ABORT_REQUIRED, /* an error: commit is impossible, call ferry_uring_txn_abort */
	FERRY_URING_TXN_FATAL,          /* fenced or refused: this instance can no longer produce */
};

/**
 * Outcome of ferry_uring_txn_commit() / _abort(), or an error that dooms the
 * open transaction. answers_call says whether cookie is the one given to
 * the commit or abort call this event answers (ABORT_REQUIRED and FATAL can
 * come while no call is pending; then cookie is 0).
 */
struct ferry_uring_ev_txn {
	enum ferry_uring_txn_result result;
	bool answers_call;
	uint64_t cookie;
	int err;                 /* 0 for COMMITTED/ABORTED; a Kafka or local ferry_err otherwise */
	const char *msg;         /* human readable, valid during the callback; NULL when err is 0 */
	int64_t producer_id;     /* the producer id and epoch the transaction used */
	int16_t producer_epoch;
	uint32_t partitions;     /* partitions added to the transaction */
};

struct ferry_uring_event {
	enum ferry_uring_ev_type type;
	union {
		struct ferry_uring_ev_broker broker;
		struct ferry_uring_ev_metadata meta;
		struct ferry_uring_ev_fetch fetch;
		struct ferry_uring_ev_loss loss;
		struct ferry_uring_ev_fetch_error fetch_error;
		struct ferry_uring_ev_delivery delivery;
		struct ferry_uring_ev_produce_state pstate;
		struct ferry_uring_ev_txn txn;
	} u;
};

/** Event callback, called from ferry_uring_poll() on the owning thread. */
typedef void (*ferry_uring_event_cb)(void *arg, const struct ferry_uring_event *ev);

/** Aborted producer ids a filter tracks at once (more is refused as malformed). */
#define FERRY_URING_FILTER_PIDS 256

/** State of ferry_uring_filter_next() over one partition's Records. */
struct ferry_uring_filter {
	struct ferry_kafka_batch_iter it;
	struct ferry_kafka_aborted_txn *ab;
	int32_t n_ab;
	int32_t ab_next; /* first entry not yet moved into pids[] */
	bool read_committed;
	int64_t position;
	uint32_t n_pids;
	int64_t pids[FERRY_URING_FILTER_PIDS];
	uint32_t skipped_control, skipped_aborted, skipped_old;
	int err; /* sticky: the first malformed batch */
};

/** Counters of one instance (owner-written, read with ferry_uring_stats()). */
#define FERRY_URING_FOREACH_STAT(_)                                                                \
	_(CONNECTS, "connection attempts")                                                         \
	_(CONNECT_FAILS, "connection attempts failed or timed out")                                \
	_(TLS_HANDSHAKES, "TLS handshakes completed with a broker")                                \
	_(TLS_FAILS, "TLS handshakes or records that failed (certificate, protocol)")              \
	_(SASL_AUTHS, "SASL authentications completed with a broker")                              \
	_(SASL_FAILS, "SASL authentications refused or failed")                                    \
	_(DISCONNECTS, "established connections lost or closed on error")                          \
	_(PROTO_ERRORS, "connections closed for a malformed, oversized or unexpected frame")        \
	_(REQ_TIMEOUTS, "requests that timed out (connection closed)")                             \
	_(REQUESTS, "requests sent")                                                               \
	_(RESPONSES, "responses decoded")                                                          \
	_(RX_BYTES, "bytes received")                                                              \
	_(RECVS, "socket receives completed (RX_BYTES / RECVS: the mean receive)")                 \
	_(TX_BYTES, "bytes sent")                                                                  \
	_(RX_STALLS, "receives delayed because every receive buffer was held")                     \
	_(FETCH_BATCHES, "batches delivered to the owner")                                         \
	_(FETCH_BYTES, "batch bytes delivered to the owner")                                       \
	_(FETCH_SKIP_CONTROL, "control batches removed")                                           \
	_(FETCH_SKIP_ABORTED, "aborted transactional batches removed")                             \
	_(FETCH_SKIP_OLD, "batches below the fetch position skipped")                              \
	_(FETCH_SPEC_MISS, "speculative fetches discarded (started past the position)")            \
	_(FETCH_PAUSED, "fetches held back by back-pressure")                                      \
	_(FETCH_LOSS, "truncations reported")                                                      \
	_(PRODUCE_BATCHES, "batches acknowledged by the target")                                   \
	_(PRODUCE_BYTES, "batch bytes acknowledged by the target")                                 \
	_(PRODUCE_RETRIES, "batches sent again after a retriable error")                           \
	_(PRODUCE_RECONCILES, "stop-and-reconcile rounds")                                         \
	_(PRODUCE_RECONCILE_FOUND, "batches found already written while reconciling")              \
	_(PRODUCE_ERRORS, "batches reported with an error")                                        \
	_(PRODUCER_ID_RESETS, "partitions given a new producer id (epoch exhausted)")              \
	_(TXN_COMMITS, "transactions committed")                                                   \
	_(TXN_ABORTS, "transactions aborted")                                                      \
	_(TXN_ADD_PARTITIONS, "AddPartitionsToTxn requests answered")                              \
	_(TXN_RETRIES, "transaction coordinator requests retried (coordinator moved or busy)")     \
	_(METADATA_REQUESTS, "metadata refreshes asked of the control plane")

enum ferry_uring_stat {
#define FERRY_URING_STAT_ENUM(n, d) FERRY_URING_ST_##n,
	FERRY_URING_FOREACH_STAT(FERRY_URING_STAT_ENUM)
#undef FERRY_URING_STAT_ENUM
	    FERRY_URING_ST__COUNT
};

#endif /* FERRY_URING_T_H */
