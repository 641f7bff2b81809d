/*
 * brokersim.h - internals of ferry-brokersim, a Kafka broker simulator that
 * speaks the real protocol through ferry's codec: it serves Fetch from
 * pre-built record batches at memory speed (source topics) and accepts
 * Produce, checking CRC, sequence and order, and counting (sink topics), so
 * volume runs measure ferry and not a broker (DESIGN §10).
 *
 * Files: main.c (command line, stats output), server.c (epoll loop,
 * connections, framing), handlers.c (one function per Kafka API), sasl.c
 * (SASL PLAIN and SCRAM server side, OpenSSL), log.c (topics, source replay,
 * sink append and store, producer state, group offsets, small containers).
 *
 * Threads: one. Everything below is owned by the thread running
 * ferry_sim_run() (@locality main thread); nothing is locked.
 * Memory: sources, topics and stored sink data are malloc'd at start-up or on
 * first use; per-request memory comes from struct ferry_sim_region and the
 * decode arena, both reset for every request.
 */
#ifndef FERRY_BROKERSIM_H
#define FERRY_BROKERSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/compress.h"
#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"
#include "ferry/kafka_group.h"

/* ---- counters (STYLE rule 12: declared once, names and help generated) ------------------- */

#define FERRY_SIM_FOREACH_STAT(_)                                                                  \
	_(CONN_ACCEPTED, "conn_accepted", "connections accepted")                                  \
	_(CONN_CLOSED, "conn_closed", "connections closed (by either side)")                       \
	_(CONN_BAD_FRAME, "conn_bad_frame",                                                        \
	  "connections closed for a bad frame: size out of range, undecodable, unknown ApiKey")    \
	_(CONN_UNSUPPORTED, "conn_unsupported",                                                    \
	  "connections closed for an API version the simulator does not speak")                    \
	_(APIVERSIONS_UNSUPPORTED, "api_versions_unsupported",                                     \
	  "ApiVersions requests answered UNSUPPORTED_VERSION in the v0 layout (KIP-511)")          \
	_(REQUESTS, "requests", "requests decoded and answered")                                   \
	_(BYTES_IN, "bytes_in", "bytes received")                                                  \
	_(BYTES_OUT, "bytes_out", "bytes sent")                                                    \
	_(FETCH_PARTITIONS, "fetch_partitions", "partitions answered in Fetch responses")          \
	_(FETCH_BATCHES, "fetch_batches", "record batches served")                                 \
	_(FETCH_RECORDS, "fetch_records", "records served (RecordsCount of the batches)")          \
	_(FETCH_BYTES, "fetch_bytes", "record batch bytes served")                                 \
	_(FETCH_WAITS, "fetch_waits", "Fetch requests parked for MaxWaitMs (no data)")             \
	_(FETCH_COPIES, "fetch_copies",                                                            \
	  "source reads served from a copy (one batch at two offsets in one response)")            \
	_(FETCH_ERRORS, "fetch_errors", "Fetch partitions answered with an error")                 \
	_(PRODUCE_BATCHES, "produce_batches", "record batches appended to sink partitions")        \
	_(PRODUCE_RECORDS, "produce_records", "records appended to sink partitions")               \
	_(PRODUCE_BYTES, "produce_bytes", "record batch bytes appended to sink partitions")        \
	_(PRODUCE_DUPLICATES, "produce_duplicates",                                                \
	  "idempotent duplicates answered NO_ERROR with their original offset")                    \
	_(PRODUCE_ACKS0, "produce_acks0", "Produce requests with Acks 0 (no response)")            \
	_(PRODUCE_ERR_CORRUPT, "produce_err_corrupt",                                              \
	  "CORRUPT_MESSAGE: bad CRC, bad batch framing, records that do not parse")                \
	_(PRODUCE_ERR_INVALID, "produce_err_invalid",                                              \
	  "INVALID_RECORD: BaseOffset not 0, counts, control batch, not exactly one batch")        \
	_(PRODUCE_ERR_SEQUENCE, "produce_err_sequence", "OUT_OF_ORDER_SEQUENCE_NUMBER")            \
	_(PRODUCE_ERR_EPOCH, "produce_err_epoch", "INVALID_PRODUCER_EPOCH")                        \
	_(PRODUCE_ERR_TOO_LARGE, "produce_err_too_large", "MESSAGE_TOO_LARGE")                     \
	_(PRODUCE_ERR_OTHER, "produce_err_other",                                                  \
	  "other Produce partition errors (unknown partition, read-only topic, acks)")             \
	_(STORE_EVICTED_BYTES, "store_evicted_bytes",                                              \
	  "stored sink bytes dropped to stay under --store-max-bytes")                             \
	_(TOPICS_CREATED, "topics_created", "sink topics auto-created by Metadata or Produce")     \
	_(OFFSET_COMMITS, "offset_commits", "partition offsets committed")                         \
	_(SASL_AUTH_OK, "sasl_auth_ok", "SASL authentications that succeeded")                     \
	_(SASL_AUTH_FAILED, "sasl_auth_failed",                                                    \
	  "SASL authentications refused (unknown user, wrong password, bad message): closed")      \
	_(SASL_MECHANISM_UNSUPPORTED, "sasl_mechanism_unsupported",                                \
	  "SaslHandshake for a mechanism not enabled (UNSUPPORTED_SASL_MECHANISM): closed")        \
	_(CONN_UNAUTHENTICATED, "conn_unauthenticated",                                            \
	  "connections closed for a request other than ApiVersions and SASL before "               \
	  "authenticating")

enum ferry_sim_stat {
#define FERRY_SIM_STAT_ENUM(e, name, help) FERRY_SIM_ST_##e,
	FERRY_SIM_FOREACH_STAT(FERRY_SIM_STAT_ENUM)
#undef FERRY_SIM_STAT_ENUM
	    FERRY_SIM_ST__COUNT
};

/** Name and help text of a counter, generated from the list above. */
const char *ferry_sim_stat_name(enum ferry_sim_stat s);
const char *ferry_sim_stat_help(enum ferry_sim_stat s);

/* ---- small containers ---------------------------------------------------------------------- */

/** Open-addressing hash map from byte strings (copied) to pointers; no deletion. */
struct ferry_sim_map_ent {
	uint64_t hash;
	uint8_t *key; /* NULL: empty slot */
	size_t klen;
	void *val;
};

struct ferry_sim_map {
	struct ferry_sim_map_ent *ents;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

void *ferry_sim_map_get(const struct ferry_sim_map *m, const void *key, size_t klen);
/**
 * Insert key (copied) -> val; the key must not be present. 0 or -ENOMEM.
 * *stored (if not NULL) gets the map's copy of the key, stable until the map is freed.
 */
int ferry_sim_map_put(struct ferry_sim_map *m, const void *key, size_t klen, void *val,
		      const uint8_t **stored);
/** Free the map and, if free_val is given, every value. */
void ferry_sim_map_free(struct ferry_sim_map *m, void (*free_val)(void *));

/**
 * Region allocator for one request's response: blocks that never move, so a
 * response may point into several allocations; reset per request.
 */
struct ferry_sim_region_blk {
	struct ferry_sim_region_blk *next;
	size_t cap;
	size_t used;
	size_t pad; /* keeps the data behind the header 16-byte aligned */
};

struct ferry_sim_region {
	struct ferry_sim_region_blk *head;
};

/** n zeroed elements of sz bytes, 16-byte aligned; NULL on overflow or ENOMEM. */
void *ferry_sim_ralloc(struct ferry_sim_region *r, size_t n, size_t sz);
/** Same without zeroing (scratch that is overwritten at once). */
void *ferry_sim_ralloc_raw(struct ferry_sim_region *r, size_t bytes);
void ferry_sim_region_reset(struct ferry_sim_region *r);
void ferry_sim_region_free(struct ferry_sim_region *r);

/* ---- topics and partitions ----------------------------------------------------------------- */

/** "Unbounded" source length: offsets stay far from INT64_MAX. */
#define FERRY_SIM_UNBOUNDED (INT64_C(1) << 62)

/**
 * A batches file replayed as a source log. The file is one "cycle"; cycle c
 * holds offsets [c * span, (c + 1) * span). Batch i of cycle c has BaseOffset
 * c * span + first[i], written into buf just before the bytes are copied
 * into a response (BaseOffset is outside the CRC, so this costs 8 bytes).
 */
struct ferry_sim_source {
	char *path;
	uint8_t *buf;
	size_t len;
	uint32_t n_batches;
	size_t *boff;      /* byte offset of batch i; boff[n_batches] = len */
	int64_t *first;    /* first offset of batch i in a cycle; first[n_batches] = span */
	int32_t *count;    /* RecordsCount of batch i */
	uint64_t *pin_gen; /* fetch generation that last wrote batch i's BaseOffset */
	int64_t span;      /* offsets per cycle (sum of LastOffsetDelta + 1) */
	int64_t records;   /* records per cycle */
};

/** Stored sink data: batches copied into chunks, a global FIFO for eviction. */
struct ferry_sim_chunk {
	struct ferry_sim_chunk *gprev, *gnext; /* all chunks, oldest first */
	struct ferry_sim_part *part;
	size_t cap;
	size_t used;
	uint8_t *data;
};

struct ferry_sim_stored {
	int64_t base; /* BaseOffset as assigned */
	int64_t next; /* base + LastOffsetDelta + 1 */
	struct ferry_sim_chunk *chunk;
	size_t off;
	size_t len;
	int32_t count;
};

/** Idempotent producer state of one ProducerId on one partition (§5.2). */
#define FERRY_SIM_PRODUCER_BATCHES 5

struct ferry_sim_producer {
	int16_t epoch;
	uint8_t n;    /* cached batches, at most FERRY_SIM_PRODUCER_BATCHES */
	uint8_t head; /* index of the newest */
	struct {
		int32_t first_seq;
		int32_t last_seq;
		int64_t base;
	} b[FERRY_SIM_PRODUCER_BATCHES];
};

struct ferry_sim_part {
	struct ferry_sim_topic *topic;
	int32_t index;
	int64_t log_start; /* first offset that can be fetched */
	int64_t end;       /* HighWatermark: next offset */
	/* sink */
	struct ferry_sim_map producers; /* 8-byte ProducerId -> struct ferry_sim_producer */
	uint64_t batches, records, bytes, duplicates;
	struct ferry_sim_stored *st; /* stored batches st[st_head .. st_head + st_n) */
	size_t st_head, st_n, st_cap;
	struct ferry_sim_chunk *cur; /* chunk being filled */
	/* source */
	uint64_t served_batches, served_bytes;
};

struct ferry_sim_topic {
	char *name;
	size_t name_len;
	uint8_t id[16]; /* TopicId for Metadata v10+, derived from the name */
	int32_t n_parts;
	struct ferry_sim_part *parts;
	struct ferry_sim_source *src; /* NULL: a sink */
};

/* ---- group offsets ------------------------------------------------------------------------- */

struct ferry_sim_commit {
	const uint8_t *topic; /* points into the map key */
	size_t topic_len;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	char *metadata; /* NULL: null */
	size_t metadata_len;
};

struct ferry_sim_group {
	struct ferry_sim_map commits; /* topic '\0' int32 partition -> struct ferry_sim_commit */
};

/* ---- configuration ------------------------------------------------------------------------- */

struct ferry_sim_topic_spec {
	char *name;
	int32_t partitions;
	char *source; /* NULL: sink */
};

/* SASL mechanisms the simulator can check (--sasl-plain, --sasl-scram). */
enum ferry_sim_sasl_mech {
	FERRY_SIM_SASL_PLAIN,
	FERRY_SIM_SASL_SCRAM_SHA_256,
	FERRY_SIM_SASL_SCRAM_SHA_512,
	FERRY_SIM_SASL__COUNT,
};

/* Largest digest of a SCRAM hash (SHA-512). */
#define FERRY_SIM_SCRAM_KEY_MAX 64
#define FERRY_SIM_SCRAM_SALT    16

/** One --sasl-plain / --sasl-scram user. A user may have one entry per mechanism. */
struct ferry_sim_sasl_user {
	enum ferry_sim_sasl_mech mech;
	char *name;
	char *password;
	/* SCRAM only: what a server stores (RFC 5802 §3), derived by ferry_sim_sasl_init() */
	uint8_t salt[FERRY_SIM_SCRAM_SALT];
	uint8_t stored_key[FERRY_SIM_SCRAM_KEY_MAX];
	uint8_t server_key[FERRY_SIM_SCRAM_KEY_MAX];
};

struct ferry_sim_conf {
	char listen_host[256];
	char listen_port[16];
	char advertise[256]; /* "" = the listen host (127.0.0.1 for a wildcard) */
	uint16_t advertise_port; /* 0 = the listen port; else a proxy's (--advertise HOST:PORT) */
	struct ferry_sim_topic_spec *topics;
	size_t n_topics;
	int64_t source_records; /* per partition; 0 = one pass of the file */
	int32_t default_partitions;
	bool auto_create;
	bool store;
	size_t store_max;
	size_t chunk_size;
	size_t max_frame;
	int32_t max_message_bytes;
	size_t max_topics;
	bool verify_records;
	double stats_interval; /* seconds; 0 = only at exit */
	int32_t node_id;
	struct ferry_sim_sasl_user *sasl_users; /* none: a PLAINTEXT listener */
	size_t n_sasl_users;
};

/* ---- connections and the simulator --------------------------------------------------------- */

struct ferry_sim_sasl_sess; /* sasl.c: one SASL exchange in progress */

struct ferry_sim_conn {
	int fd;
	uint64_t id;
	char peer[64];
	uint8_t *rbuf; /* frames in [rpos, rlen) */
	size_t rcap, rlen, rpos;
	uint8_t *wbuf; /* responses in [wpos, wlen) */
	size_t wcap, wlen, wpos;
	uint32_t events; /* what epoll watches now */
	bool dead;
	/* A Fetch waiting for data: its frame stays at rpos until answered. */
	bool parked;
	int64_t park_deadline; /* CLOCK_MONOTONIC ns */
	uint64_t park_gen;     /* sim->append_gen when last checked */
	/* SASL_PLAINTEXT (conf.n_sasl_users > 0): only ApiVersions, SaslHandshake and
	 * SaslAuthenticate until authenticated; the exchange in progress lives in 'sasl'. */
	bool authenticated;
	bool closing; /* answer what is buffered, then close (a refused login) */
	enum ferry_sim_sasl_mech sasl_mech; /* the one SaslHandshake accepted (for logs) */
	struct ferry_sim_sasl_sess *sasl;
	struct ferry_sim_conn *prev, *next;
	struct ferry_sim_conn *dead_next;
};

/** What the request handler asks the connection to do next. */
enum ferry_sim_act {
	FERRY_SIM_DONE,        /* answered (or nothing to answer): next frame */
	FERRY_SIM_PARK,        /* Fetch with no data: wait (frame kept) */
	FERRY_SIM_CLOSE,       /* protocol violation: close the connection */
	FERRY_SIM_CLOSE_AFTER, /* answered, but close once the answer is sent (SASL refusal) */
};

struct ferry_sim {
	struct ferry_sim_conf conf;
	int lfd, epfd, sigfd, tfd;
	char adv_host[256];  /* Host in Metadata and FindCoordinator answers */
	char bind_host[256]; /* where this process itself is reached (wildcard: 127.0.0.1) */
	uint16_t port;       /* the bound listen port */
	uint16_t adv_port;   /* Port in those answers: conf.advertise_port or port */
	bool stop; /* set from the signalfd handler, same thread */
	bool sasl; /* conf.n_sasl_users > 0: the listener is SASL_PLAINTEXT */
	int64_t t_start;

	struct ferry_sim_map topics_by_name;
	struct ferry_sim_topic **topics; /* creation order */
	size_t n_topics, cap_topics;

	struct ferry_sim_map groups; /* group id -> struct ferry_sim_group */
	size_t n_commits;

	int64_t next_pid;

	struct ferry_sim_chunk *ck_head, *ck_tail;
	size_t store_bytes;

	uint64_t fetch_gen;  /* one per Fetch response built (source BaseOffset pins) */
	uint64_t append_gen; /* one per sink append (wakes parked fetches) */

	/* per request */
	uint8_t *dec_mem;
	size_t dec_cap;
	void *req_msg;
	size_t req_size;
	struct ferry_sim_region region;
	struct ferry_kafka_api_version_range *api_ranges;
	int32_t n_api_ranges;
	struct ferry_codec_ctx *cc;
	uint8_t *dbuf; /* decompression scratch for --verify-records */
	size_t dbuf_cap;

	struct ferry_sim_conn *conns;
	size_t n_conns, n_parked;
	struct ferry_sim_conn *dead;
	uint64_t next_conn_id;
	unsigned log_budget;

	uint64_t st[FERRY_SIM_ST__COUNT];
	uint64_t st_prev[FERRY_SIM_ST__COUNT];
	int64_t t_prev;
	uint64_t req_by_api[FERRY_KAFKA_API_MAX + 1];
};

/* ---- server.c ------------------------------------------------------------------------------ */

int64_t ferry_sim_now_ns(void);
/**
 * Bind and listen on conf.listen_host:listen_port; sets sim->port, sim->bind_host,
 * sim->adv_host and sim->adv_port.
 */
int ferry_sim_listen(struct ferry_sim *sim, char *err, size_t errlen);
/** The event loop; returns 0 after SIGINT/SIGTERM, or -errno. */
int ferry_sim_run(struct ferry_sim *sim, void (*on_tick)(struct ferry_sim *sim));
/** Close every connection and the server's descriptors. */
void ferry_sim_server_close(struct ferry_sim *sim);
/**
 * Encode a response frame into the connection's output buffer ('hint' is
 * the expected size). Returns 0, or -ENOMEM / a negative ferry_err.
 */
int ferry_sim_respond(struct ferry_sim *sim, struct ferry_sim_conn *c, int16_t api, int16_t ver,
		      int32_t corr, const void *msg, size_t hint);
/** Rate-limited warning on stderr (traffic can trigger these). */
void ferry_sim_warn(struct ferry_sim *sim, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- handlers.c ---------------------------------------------------------------------------- */

/** Set up what the handlers need (ApiVersions answer, request storage, decode arena). */
int ferry_sim_handlers_init(struct ferry_sim *sim);
void ferry_sim_handlers_fini(struct ferry_sim *sim);
/**
 * Decode and answer one request frame body. 'rerun' is true when a parked
 * Fetch is evaluated again ('expired': its MaxWaitMs has passed).
 */
enum ferry_sim_act ferry_sim_handle(struct ferry_sim *sim, struct ferry_sim_conn *c,
				    struct ferry_span body, bool rerun, bool expired);

/* ---- sasl.c ------------------------------------------------------------------------------- */

/** "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512". */
const char *ferry_sim_sasl_mech_name(enum ferry_sim_sasl_mech m);
/** The mechanism named (exact, case-sensitive as Kafka), or -1. */
int ferry_sim_sasl_mech_parse(struct ferry_span name);
/**
 * Derive each SCRAM user's salt (random), StoredKey and ServerKey, and set
 * sim->sasl. 0, or -errno with a message.
 */
int ferry_sim_sasl_init(struct ferry_sim *sim, char *err, size_t errlen);
/** True if some user is configured for m (so SaslHandshake accepts it). */
bool ferry_sim_sasl_mech_enabled(const struct ferry_sim *sim, enum ferry_sim_sasl_mech m);
/** Start an exchange for m on c (after a SaslHandshake accepted it). 0 or -ENOMEM. */
int ferry_sim_sasl_begin(struct ferry_sim_conn *c, enum ferry_sim_sasl_mech m);
/**
 * One SaslAuthenticate round: AuthBytes in, the server's bytes in *out
 * (sim->region, or static). Returns FERRY_ERR_NONE with *done set once
 * authenticated (c->authenticated too), FERRY_ERR_NONE without *done when the
 * client must send another message (SCRAM server-first), or
 * SASL_AUTHENTICATION_FAILED / ILLEGAL_SASL_STATE with *errmsg for the
 * response's ErrorMessage; the caller then closes the connection.
 */
int16_t ferry_sim_sasl_step(struct ferry_sim *sim, struct ferry_sim_conn *c, struct ferry_span in,
			    struct ferry_span *out, const char **errmsg, bool *done);
/** Free c's exchange state (wipes it: it holds no password, but nonces and keys). */
void ferry_sim_sasl_sess_free(struct ferry_sim_conn *c);

/* ---- log.c --------------------------------------------------------------------------------- */

struct ferry_sim_source *ferry_sim_source_load(const char *path, char *err, size_t errlen);
void ferry_sim_source_free(struct ferry_sim_source *src);

struct ferry_sim_topic *ferry_sim_topic_get(struct ferry_sim *sim, struct ferry_span name);
struct ferry_sim_topic *ferry_sim_topic_by_id(struct ferry_sim *sim, const uint8_t id[16]);
/** Create a topic; src (owned by the topic from now on) makes it a source. NULL on ENOMEM. */
struct ferry_sim_topic *ferry_sim_topic_create(struct ferry_sim *sim, struct ferry_span name,
					       int32_t n_parts, struct ferry_sim_source *src);
/** Kafka's topic name rule: 1-249 of [a-zA-Z0-9._-], not "." or "..". */
bool ferry_sim_topic_name_ok(struct ferry_span name);
void ferry_sim_topics_free(struct ferry_sim *sim);

/**
 * Whole batches of partition p from 'offset' (inside [log_start, end)):
 * at most 'limit' bytes, but at least one batch when 'min_one' (KIP-74).
 * *out is empty (len 0) when nothing fits. Returns 0 or -ENOMEM.
 */
int ferry_sim_part_read(struct ferry_sim *sim, struct ferry_sim_part *p, int64_t offset,
			int64_t limit, bool min_one, struct ferry_span *out);

/**
 * Validate and append one Produce partition's Records to a sink partition.
 * Returns a Kafka error code (0 = appended, or a duplicate) with *base_offset
 * the batch's offset; counts go to sim->st.
 */
int16_t ferry_sim_sink_append(struct ferry_sim *sim, struct ferry_sim_part *p, bool has_txn_id,
			      struct ferry_span records, int64_t *base_offset);

struct ferry_sim_group *ferry_sim_group_get(struct ferry_sim *sim, struct ferry_span id,
					    bool create);
struct ferry_sim_commit *ferry_sim_commit_get(struct ferry_sim_group *g, struct ferry_span topic,
					      int32_t partition);
/** Store a commit; a Kafka error code (OFFSET_METADATA_TOO_LARGE, ...) or 0. */
int16_t ferry_sim_commit_put(struct ferry_sim *sim, struct ferry_sim_group *g,
			     struct ferry_span topic, int32_t partition, int64_t offset,
			     int32_t leader_epoch, struct ferry_span metadata);
void ferry_sim_groups_free(struct ferry_sim *sim);
void ferry_sim_store_free(struct ferry_sim *sim);

#endif /* FERRY_BROKERSIM_H */
