/*
 * uring_int.h - private state of the io_uring broker data path (see
 * ferry/uring.h): the instance, broker connections, receive buffers,
 * requests in flight, fetch and produce partitions.
 *
 * Files: conn.c (ring, connections, framing, timers, the poll loop),
 * fetch.c (fetch scheduling, answers, batch filter, loss detection),
 * produce.c (produce scheduling, idempotence, retries, reconcile),
 * txn.c (transactions: coordinator, InitProducerId, AddPartitionsToTxn, EndTxn).
 *
 * Everything is @locality owner thread: one thread creates the instance and
 * is the only one to touch it. All memory is allocated in ferry_uring_new().
 */
#ifndef FERRY_URING_INT_H
#define FERRY_URING_INT_H

#include <liburing.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"
#include "ferry/uring.h"
#include "sasl.h"

/* user_data of an SQE: broker pointer | operation (brokers are 8-byte aligned). */
enum ferry_uop {
	FERRY_UOP_IGNORE = 0, /* cancels: nothing to account */
	FERRY_UOP_CONNECT = 1,
	FERRY_UOP_LINK_TIMEOUT = 2,
	FERRY_UOP_RECV = 3,
	FERRY_UOP_SEND = 4,
};
#define FERRY_UOP_MASK 7u

/** A fetch event's release token: partition << 12 | receive buffer. */
#define FERRY_URING_REF_PART_SHIFT 12
#define FERRY_URING_REF_BUF_MASK 0xfffu

/** Partitions in one Fetch or Produce request. */
#define FERRY_UREQ_MAX_PARTS 64
/** ApiKeys remembered from a broker's ApiVersions answer. */
#define FERRY_UBROKER_MAX_APIS 128
/** iovecs queued for sending on one connection. */
#define FERRY_UCONN_IOV 1024

enum ferry_ureq_kind {
	FERRY_UREQ_API_VERSIONS,
	FERRY_UREQ_FETCH,
	FERRY_UREQ_PRODUCE,
	FERRY_UREQ_INIT_PID,
	FERRY_UREQ_LIST_OFFSETS, /* one partition; what for is in the part's state */
	FERRY_UREQ_RECON_FETCH,  /* producer reading its target tail back */
	FERRY_UREQ_FIND_COORD,   /* transaction coordinator lookup */
	FERRY_UREQ_ADD_PARTS,    /* AddPartitionsToTxn; parts[] are the partitions asked */
	FERRY_UREQ_END_TXN,
	FERRY_UREQ_SASL_HS,   /* SaslHandshake */
	FERRY_UREQ_SASL_AUTH, /* SaslAuthenticate */
};

struct ferry_ureq_part {
	int part;
	uint32_t gen;
	int64_t offset; /* Fetch: offset asked; Produce: absolute queue index of the batch */
};

/** A request in flight on a connection (FIFO: brokers answer in order). */
struct ferry_ureq {
	int32_t corr;
	int16_t api;
	int16_t ver;
	uint8_t kind;
	int64_t deadline_ns;
	int64_t ts; /* ListOffsets: the Timestamp asked (-1 latest, -2 earliest) */
	uint16_t n_parts;
	struct ferry_ureq_part parts[FERRY_UREQ_MAX_PARTS];
};

enum ferry_uconn_state {
	FERRY_UCONN_DOWN,       /* no socket; retry_at says when to connect */
	FERRY_UCONN_CONNECTING, /* connect + link timeout in flight */
	FERRY_UCONN_TLS,        /* TLS handshake (security.protocol=SSL) */
	FERRY_UCONN_NEGOTIATE,  /* ApiVersions in flight */
	FERRY_UCONN_UP,
	FERRY_UCONN_CLOSING, /* waiting for the kernel to return every operation */
};

/** A receive buffer; refs counts the connection using it plus every undelivered event. */
struct ferry_urbuf {
	uint8_t *p;
	uint32_t refs;
	int32_t next_free;
};

/** One broker and its single connection. */
#define FERRY_URING_RX_LOWAT_MAX (1 << 20) /* see rx_lowat() in conn.c */

struct ferry_ubroker {
	int32_t node_id;
	bool used;
	char name[280]; /* "host:port" for messages */
	struct sockaddr_storage addr;
	socklen_t addrlen;

	int fd;
	enum ferry_uconn_state state;
	int ops;         /* SQEs not yet completed */
	bool want;       /* some partition or request needs this broker */
	int64_t retry_at_ns;
	int backoff_ms;
	int64_t connect_start_ns;
	struct __kernel_timespec connect_ts;
	int16_t av_ver; /* ApiVersions version to send next */
	int32_t n_av;
	struct ferry_kafka_api_version_range av[FERRY_UBROKER_MAX_APIS];
	int16_t fetch_ver, produce_ver, list_ver, pid_ver;
	int16_t coord_ver, addp_ver, endtxn_ver; /* FindCoordinator, AddPartitionsToTxn, EndTxn */
	int err;             /* why it is closing */
	char errmsg[256];

	/* receive: frames in rxb's bytes [rx_start, rx_end) */
	int32_t rxb;
	size_t rx_start, rx_end;
	bool recv_armed;
	bool rx_stalled;
	int rx_lowat; /* SO_RCVLOWAT in force (0: the kernel's default of 1) */

	/* send: iov[iov_head, iov_n) not sent yet; tx holds request bytes (not batches) */
	uint8_t *tx;
	size_t tx_len;
	struct iovec iov[FERRY_UCONN_IOV];
	unsigned iov_head, iov_n;
	unsigned send_n; /* iovecs given to the SEND in flight */
	bool send_armed;
	struct msghdr msg;

	/* TLS (tls.c): the socket carries TLS records; rxb and iov keep plaintext. The SSL
	 * object talks to a BIO pair whose network end (nbio) the kernel feeds from tin and
	 * drains into tout: no blocking call, no socket BIO. */
	char host[256]; /* for SNI and certificate verification */
	SSL *ssl;
	BIO *nbio;
	uint8_t *tin;  /* ciphertext received (FERRY_UTLS_IN bytes) */
	uint8_t *tout; /* ciphertext to send: [tout_off, tout_len) */
	size_t tout_off, tout_len, tout_cap;

	/* SASL (sasl.c): step of the exchange on this connection, SCRAM's state */
	int sasl_step;
	int16_t sasl_auth_ver;
	struct ferry_scram scram;

	/* requests in flight, a ring */
	struct ferry_ureq *rq;
	unsigned rq_head, rq_n;
	int32_t next_corr;
	unsigned n_fetch; /* Fetch requests in flight */
	bool pid_inflight;
};

enum ferry_upart_kind {
	FERRY_UPART_FREE,
	FERRY_UPART_FETCH,
	FERRY_UPART_PRODUCE,
};

enum ferry_ufetch_state {
	FERRY_UFETCH_ACTIVE,
	FERRY_UFETCH_LISTING, /* asking log start and end after OFFSET_OUT_OF_RANGE */
	FERRY_UFETCH_STOPPED,
};

enum ferry_uprod_state {
	FERRY_UPROD_INIT,        /* needs the target end offset */
	FERRY_UPROD_INIT_LIST,   /* ListOffsets in flight */
	FERRY_UPROD_READY,
	FERRY_UPROD_RECON_WAIT,  /* waiting for in-flight answers before reading back */
	FERRY_UPROD_RECON_LIST,  /* ListOffsets latest in flight */
	FERRY_UPROD_RECON_FETCH, /* reading the tail */
	FERRY_UPROD_STOPPED,
};

enum ferry_ubatch_state {
	FERRY_UBATCH_QUEUED,
	FERRY_UBATCH_INFLIGHT,
	FERRY_UBATCH_FOUND, /* reconcile found it written */
};

struct ferry_ubatch {
	uint8_t *p;
	size_t len;
	struct ferry_uring_src src;
	uint64_t cookie;
	int32_t count;
	int64_t pid;
	int16_t epoch;
	int32_t seq;
	bool stamped; /* header rewritten for (pid, epoch, seq) */
	uint8_t state;
	int64_t base_offset;
};

struct ferry_upart {
	uint8_t kind;
	char topic[256];
	uint16_t topic_len;
	int32_t partition;
	int32_t leader;
	int bidx; /* broker index, -1 if the leader is unknown */
	uint64_t cookie;
	uint32_t gen;       /* answers of older generations are ignored */
	int64_t retry_at_ns;
	int backoff_ms;

	/* fetch */
	uint8_t fstate;
	bool paused;
	uint32_t unreleased;
	uint8_t n_chain; /* Fetch requests in flight for this partition (this gen) */
	int64_t position;
	int64_t spec_next;
	int64_t stride; /* offsets the last answer advanced */
	int64_t hw, lso, log_start;
	int64_t list_start, list_end; /* loss inquiry answers (-1: to ask, -3: asked) */
	int list_err;
	uint8_t corrupt; /* malformed answers in a row */

	/* produce */
	uint8_t pstate;
	struct ferry_ubatch *q; /* ring of produce_queue slots */
	uint32_t q_head, q_n;
	uint64_t q_abs;    /* absolute index of q[q_head] */
	uint32_t q_sent;   /* slots from the head that are in flight (current gen) */
	uint32_t inflight; /* answers outstanding, any gen */
	int64_t pid;
	int16_t epoch;
	int32_t next_seq;
	int64_t last_acked; /* target offset after the last acknowledged batch, -1 */
	int64_t init_end;   /* target end when the partition started */
	int64_t recon_end, recon_pos;
	int recon_err;
	bool recon_bump;
	bool recon_inflight;
	uint8_t recon_tries;
	bool draining;     /* retriable error: resend only when every answer is back */
	bool txn_stopped;  /* stopped by a batch error inside a transaction: its abort revives it */
	int inflight_bidx; /* broker the in-flight batches went to */
	uint8_t txn_part;  /* enum ferry_utxn_part: in the open transaction yet? */
};

/* ---- transactions (txn.c) ---- */

/** A producer partition and the open transaction (AddPartitionsToTxn). */
enum ferry_utxn_part {
	FERRY_UTXN_PART_NONE,   /* not in the transaction */
	FERRY_UTXN_PART_ADDING, /* AddPartitionsToTxn in flight */
	FERRY_UTXN_PART_ADDED,  /* its batches may be sent */
};

enum ferry_utxn_state {
	FERRY_UTXN_IDLE,       /* no transaction open */
	FERRY_UTXN_OPEN,       /* ferry_uring_txn_begin() was called */
	FERRY_UTXN_COMMITTING, /* waiting for every batch's answer, then EndTxn(commit) */
	FERRY_UTXN_ABORTABLE,  /* a batch failed: only abort is possible */
	FERRY_UTXN_ABORTING,   /* waiting for the answers in flight, then EndTxn(abort) */
	FERRY_UTXN_FATAL,      /* fenced or refused: nothing more can be produced */
};

/** The transactional producer's state (one transactional id per instance). */
struct ferry_utxn {
	bool on;      /* conf.transactional_id != NULL */
	char *id;     /* copy of the transactional id */
	uint8_t state;
	int32_t coord_id; /* coordinator node id, -1 unknown */
	int coord_bidx;   /* its broker slot, -1 unknown */
	int64_t coord_wait_ns; /* since when the coordinator's connection is not up, 0 if up */
	bool coord_inflight, pid_inflight, add_inflight, end_inflight;
	bool need_pid;   /* (re)initialise the producer id before producing */
	bool bump;       /* the next InitProducerId passes the current id/epoch (KIP-360, v3+) */
	bool bump_after; /* sequences are unknown: new epoch once the abort is done */
	int64_t retry_at_ns; /* coordinator requests wait until then (backoff) */
	int backoff_ms;
	bool commit_pending, abort_pending; /* calls waiting for their EV_TXN */
	uint64_t commit_cookie, abort_cookie;
	bool abort_due;   /* ABORT_REQUIRED to emit on the next round */
	uint32_t n_added; /* partitions added to the open transaction */
	int err;          /* why ABORTABLE / FATAL */
	char errmsg[256];
};

struct ferry_uring {
	struct ferry_uring_conf conf;
	ferry_uring_event_cb cb;
	void *cb_arg;
	struct io_uring ring;
	bool ring_ok;
	int64_t now_ns;
	size_t max_frame;

	struct ferry_ubroker *brokers;
	unsigned n_brokers;
	struct ferry_upart *parts;
	unsigned n_parts; /* high-water mark of allocated partition slots */

	struct ferry_urbuf *bufs;
	unsigned n_bufs;
	int32_t free_buf;
	bool buf_freed; /* a stalled connection may continue */

	/* producer id (idempotent; transactional: from the coordinator, see txn) */
	int64_t pid;
	int16_t epoch;
	bool pid_ready;
	int64_t pid_retry_at_ns;
	unsigned rr; /* fetch round-robin start */
	struct ferry_utxn txn;

	/* decode scratch */
	uint8_t *arena_mem;
	size_t arena_cap;
	struct ferry_kafka_batch *bscratch;
	uint32_t bscratch_cap;

	uint64_t st[FERRY_URING_ST__COUNT];
	SSL_CTX *tls_ctx; /* conf.tls: one context for every broker */
	enum ferry_sasl_mech sasl; /* conf.sasl_mechanism parsed */
};

/* ---- tls.c --------------------------------------------------------------------------------- */

/** Ciphertext read per receive; at most one TLS record plus slack is buffered in the pair. */
#define FERRY_UTLS_IN (64u << 10)

/** The client context from conf (CA, client certificate, verification); -errno with 'err'. */
int ferry_uring_tls_init(struct ferry_uring *ur, char *err, size_t errlen);
void ferry_uring_tls_fini(struct ferry_uring *ur);
/** A new TLS session on b's fresh connection (client mode, SNI, host check). */
int ferry_uring_tls_open(struct ferry_uring *ur, struct ferry_ubroker *b, char *err, size_t errlen);
/** Drop b's TLS session (the connection is being reaped). */
void ferry_uring_tls_close(struct ferry_ubroker *b);
/** Move the ciphertext OpenSSL produced into b->tout; -ENOMEM. */
int ferry_uring_tls_drain(struct ferry_ubroker *b);
/** Why the last SSL call on b failed (SSL_get_error code 'e'), for conn_fail messages. */
void ferry_uring_tls_why(struct ferry_ubroker *b, int e, char *buf, size_t len);

/* ---- conn.c -------------------------------------------------------------------------------- */

static inline void
ferry_uring_emit(struct ferry_uring *ur, const struct ferry_uring_event *ev)
{
	ur->cb(ur->cb_arg, ev);
}

/** Broker index for a node id, or -1. */
int ferry_uring_broker_idx(const struct ferry_uring *ur, int32_t node_id);
/**
 * Add or update a broker from an answer (a coordinator's address): like
 * ferry_uring_broker_set() but never resolves a name (the loop must not block);
 * -EAGAIN for a host name.
 */
int ferry_uring_broker_set_numeric(struct ferry_uring *ur, int32_t node_id, const char *host,
				   uint16_t port, char *err, size_t errlen);
/** Ask the control plane for a metadata refresh. */
void ferry_uring_want_metadata(struct ferry_uring *ur, int bidx, int part, int err);
/**
 * Reserve the next request slot on an UP connection (NULL if the ring or the
 * send queue is full). The caller fills parts, then calls ferry_uring_req_send()
 * with its encoding.
 */
struct ferry_ureq *ferry_uring_req_new(struct ferry_uring *ur, struct ferry_ubroker *b,
				       uint8_t kind, int16_t api, int16_t ver, int64_t timeout_ms);
/** Encode a request with the codec and queue it; on failure the slot is dropped. */
int ferry_uring_req_send(struct ferry_uring *ur, struct ferry_ubroker *b, struct ferry_ureq *rq,
			 const void *msg);
/** Queue an already built request (iovecs pushed with ferry_uring_tx_*). */
void ferry_uring_req_commit(struct ferry_uring *ur, struct ferry_ubroker *b, struct ferry_ureq *rq);
/** Drop the slot taken by ferry_uring_req_new (nothing was queued). */
void ferry_uring_req_abort(struct ferry_ubroker *b, struct ferry_ureq *rq);
/** Room in tx bytes / iovecs. */
bool ferry_uring_tx_room(const struct ferry_ubroker *b, size_t bytes, unsigned iovs,
			 size_t tx_cap);
/** Close the connection on error (events, partition state, reconnect later). */
void ferry_uring_conn_fail(struct ferry_uring *ur, struct ferry_ubroker *b, int err,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- fetch.c ------------------------------------------------------------------------------- */

/** Take a free partition slot (kind FETCH or PRODUCE); handle or -EINVAL / -ENOSPC. */
int ferry_uring_part_alloc(struct ferry_uring *ur, const char *topic, int32_t partition,
			   int32_t leader, uint64_t cookie, uint8_t kind);
/** ListOffsets (one partition, Timestamp ts) on an UP connection; 0 or -errno. */
int ferry_uring_send_list_offsets(struct ferry_uring *ur, struct ferry_ubroker *b, int part,
				  int64_t ts, uint32_t gen);
/** Leadership errors: the control plane should refresh metadata. */
bool ferry_uring_leader_error(int err);

void ferry_uring_fetch_schedule(struct ferry_uring *ur);
/** Handle a Fetch answer (frame body). 0, or a negative error that closes the connection. */
int ferry_uring_fetch_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
			     const struct ferry_ureq *rq, struct ferry_span body, char *err,
			     size_t errlen);
int ferry_uring_fetch_list_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
				  const struct ferry_ureq *rq,
				  const struct ferry_kafka_list_offsets_resp *resp);
/** A request of these partitions was lost with its connection. */
void ferry_uring_fetch_lost(struct ferry_uring *ur, const struct ferry_ureq *rq);

/* ---- produce.c ----------------------------------------------------------------------------- */

void ferry_uring_produce_schedule(struct ferry_uring *ur);
int ferry_uring_produce_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
			       const struct ferry_ureq *rq, struct ferry_span body, char *err,
			       size_t errlen);
int ferry_uring_produce_list_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
				    const struct ferry_ureq *rq,
				    const struct ferry_kafka_list_offsets_resp *resp);
int ferry_uring_recon_fetch_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
				   const struct ferry_ureq *rq, struct ferry_span body, char *err,
				   size_t errlen);
int ferry_uring_pid_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
			   const struct ferry_kafka_init_producer_id_resp *resp);
void ferry_uring_produce_lost(struct ferry_uring *ur, struct ferry_ubroker *b,
			      const struct ferry_ureq *rq);
/** Stop a producer partition: every queued batch is reported with err, then PRODUCE_STOPPED. */
void ferry_uring_produce_stop(struct ferry_uring *ur, int part, int err, const char *msg);
/**
 * Report every batch of a partition's queue that is not in flight with err
 * (q_sent and later; all of them when the partition waits to resend or to
 * reconcile). Returns true if one of them had been given a sequence number.
 */
bool ferry_uring_produce_purge(struct ferry_uring *ur, int part, int err, const char *msg);

/* ---- txn.c --------------------------------------------------------------------------------- */

/** Copy the transactional id; 0 or -errno with a message. */
int ferry_uring_txn_init(struct ferry_uring *ur, char *err, size_t errlen);
void ferry_uring_txn_free(struct ferry_uring *ur);
/** Coordinator lookup, producer id, AddPartitionsToTxn, EndTxn: called by produce_schedule. */
void ferry_uring_txn_schedule(struct ferry_uring *ur);
/** May this partition send its next batch as far as the transaction is concerned? */
bool ferry_uring_txn_can_send(const struct ferry_uring *ur, const struct ferry_upart *p);
/** Answers of FIND_COORD, ADD_PARTS, END_TXN and (transactional) INIT_PID requests. */
int ferry_uring_txn_answer(struct ferry_uring *ur, struct ferry_ubroker *b,
			   const struct ferry_ureq *rq, struct ferry_span body, char *err,
			   size_t errlen);
/** One of those requests was lost with its connection. */
void ferry_uring_txn_lost(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq *rq);
/**
 * A Produce answer error on a transactional instance. Returns true when the
 * transaction layer handled it (fencing: FATAL; producer-state errors: the
 * transaction must be aborted), false to let produce.c apply its own rules.
 */
bool ferry_uring_txn_produce_error(struct ferry_uring *ur, int part, int err, const char *msg);
/** A batch of the open transaction failed for good: the transaction must be aborted. */
void ferry_uring_txn_abortable(struct ferry_uring *ur, int err, const char *msg);

/**
 * Encode a Produce request (v3-v9) as iovecs without copying the batches:
 * request bytes go to tx (tx_cap bytes), batches are referenced. Partitions
 * of one topic must be adjacent in 'topics'. Exposed for the unit test that
 * compares it with the codec's encoder. Returns the frame size or -ENOSPC.
 */
struct ferry_uprod_enc_part {
	struct ferry_span topic;
	int32_t partition;
	struct ferry_span batch;
};
long ferry_uring_produce_encode(int16_t ver, int32_t corr, struct ferry_span client_id,
				int16_t acks, int32_t timeout_ms,
				const struct ferry_uprod_enc_part *parts, unsigned n, uint8_t *tx,
				size_t tx_cap, size_t *tx_used, struct iovec *iov, unsigned iov_cap,
				unsigned *n_iov);
/** The same with a TransactionalId (a null span: not transactional). */
long ferry_uring_produce_encode_txn(int16_t ver, int32_t corr, struct ferry_span client_id,
				    struct ferry_span transactional_id, int16_t acks,
				    int32_t timeout_ms, const struct ferry_uprod_enc_part *parts,
				    unsigned n, uint8_t *tx, size_t tx_cap, size_t *tx_used,
				    struct iovec *iov, unsigned iov_cap, unsigned *n_iov);

#endif /* FERRY_URING_INT_H */
