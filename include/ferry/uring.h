/*
 * ferry/uring.h - the broker data path over io_uring: connections, the
 * fetcher (source cluster) and the idempotent, optionally transactional,
 * producer (target cluster).
 *
 * One struct ferry_uring per owning thread and per cluster (broker node ids
 * are per cluster). Every function is @locality owner thread: the one that
 * created the instance and calls ferry_uring_poll(). Events are delivered from
 * inside ferry_uring_poll() through the callback; the callback may call
 * ferry_uring_release(), _fetch_pause/_resume, _set_leader, _broker_set and
 * _produce (they only change state; I/O happens on the next poll round).
 *
 * Leaders and broker addresses come from the control plane: it answers
 * FERRY_URING_EV_METADATA with ferry_uring_broker_set() / _set_leader().
 *
 * Errors: 0 or -errno (init and config), pointer or NULL with errno set
 * (constructor); Kafka and local errors in events use enum ferry_err.
 */
#ifndef FERRY_URING_H
#define FERRY_URING_H

#include "ferry/uring-t.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ferry_uring;

/** Fill every field of *c with its default. */
void ferry_uring_conf_defaults(struct ferry_uring_conf *c);

/**
 * Create an instance: the io_uring, receive buffer pool and tables are
 * allocated here, never later. NULL with errno set and a message in err.
 * Call it on the owner thread: the ring accepts submissions from its creator
 * only (SINGLE_ISSUER, DEFER_TASKRUN), destroy included.
 */
struct ferry_uring *ferry_uring_new(const struct ferry_uring_conf *conf, ferry_uring_event_cb cb,
				    void *arg, char *err, size_t errlen);

/** Close every connection (waiting for the kernel to drop its buffer uses) and free all. */
void ferry_uring_destroy(struct ferry_uring *ur);

/**
 * Add or update a broker's address (from the control plane's metadata
 * snapshot). host is numeric or a name (resolved here, blocking). A changed
 * address closes the old connection. 0 or -errno.
 */
int ferry_uring_broker_set(struct ferry_uring *ur, int32_t node_id, const char *host,
			   uint16_t port, char *err, size_t errlen);

/**
 * One round: submit pending I/O, wait up to wait_ms (0: do not wait) for a
 * completion, handle completions and timers, deliver events, schedule new
 * requests. Returns the number of completions handled, or -errno.
 */
int ferry_uring_poll(struct ferry_uring *ur, int wait_ms);

/* ---- fetcher ---------------------------------------------------------------------------------- */

/**
 * Start fetching topic/partition from 'offset' at broker 'leader'.
 * Returns a partition handle >= 0, or -ENOSPC / -EINVAL.
 */
int ferry_uring_fetch_add(struct ferry_uring *ur, const char *topic, int32_t partition,
			  int32_t leader, int64_t offset, uint64_t cookie);

/** Back-pressure: stop fetching (in-flight answers are still delivered) / start again. */
void ferry_uring_fetch_pause(struct ferry_uring *ur, int part);
void ferry_uring_fetch_resume(struct ferry_uring *ur, int part);

/** Restart a stopped (loss, error) fetch partition at 'offset': an operator's decision. */
int ferry_uring_fetch_seek(struct ferry_uring *ur, int part, int64_t offset);

/** Next offset the fetcher will deliver for a partition (its position), or -1. */
int64_t ferry_uring_fetch_position(const struct ferry_uring *ur, int part);

/** Give back the receive buffer reference of a FERRY_URING_EV_FETCH event. */
void ferry_uring_release(struct ferry_uring *ur, uint32_t ref);

/* ---- producer --------------------------------------------------------------------------------- */

/**
 * Declare a target partition. The producer first reads the partition's end
 * offset (for reconciling later) and, when idempotent, gets a producer id.
 * Returns a handle >= 0, or -ENOSPC / -EINVAL.
 */
int ferry_uring_produce_add(struct ferry_uring *ur, const char *topic, int32_t partition,
			    int32_t leader, uint64_t cookie);

/**
 * Queue one v2 record batch (whole, magic 2, not control) for a partition.
 * The bytes stay owned by the caller until its delivery report and are
 * rewritten in place: BaseOffset 0, producer id/epoch/sequence, CRC.
 * Returns 0, -EAGAIN when the partition's queue is full, -EINVAL for a
 * batch that is not producible, -EPIPE when the partition is stopped.
 * A transactional instance (conf.transactional_id) accepts batches only
 * while a transaction is open; they belong to it and get the transactional
 * attribute bit. It also returns -ENOTCONN when no transaction is open (or
 * it is being committed or aborted), -ECANCELED when the open transaction
 * can only be aborted, -EPIPE once the producer is fenced (FATAL).
 */
int ferry_uring_produce(struct ferry_uring *ur, int part, uint8_t *batch, size_t len,
			const struct ferry_uring_src *src, uint64_t cookie);

/** Batches queued or in flight for a partition (0 when everything was reported). */
unsigned ferry_uring_produce_pending(const struct ferry_uring *ur, int part);

/* ---- transactions (conf.transactional_id != NULL) ---------------------------------------- */

/*
 * KIP-98 transactions over the producer above. The instance finds its
 * transaction coordinator (FindCoordinator, key type 1) and gets its
 * producer id with InitProducerId(transactional_id), which fences older
 * instances using the same id and completes or aborts their open
 * transaction. Coordinator errors (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
 * COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS) are retried with
 * backoff. Everything runs inside ferry_uring_poll(); these calls only change
 * state, so they may be called from the event callback.
 *
 * Use: begin; produce batches (any partitions, including the offset-sync
 * records); commit (or abort); wait for FERRY_URING_EV_TXN; begin again.
 * Before the first batch of a partition goes out, the partition is added to
 * the transaction (AddPartitionsToTxn, several partitions per request).
 * Delivery reports inside a transaction mean "written, not yet committed";
 * only FERRY_URING_TXN_COMMITTED makes the batches visible to read_committed
 * consumers. A batch error (delivery report with err, or a stopped
 * partition) makes the transaction abortable only: an EV_TXN
 * FERRY_URING_TXN_ABORT_REQUIRED says so (answering a pending commit, if
 * any), and the owner must call ferry_uring_txn_abort(). PRODUCER_FENCED or
 * INVALID_PRODUCER_EPOCH (another instance took the transactional id) and
 * authorization errors are FATAL for the instance: every queued batch is
 * reported with the error, every producer partition stops, and every call
 * returns -EPIPE afterwards.
 */

/**
 * Open a transaction (local state only; it may be called before the
 * producer id is known). 0, -EINVAL if the instance is not transactional,
 * -EALREADY if a transaction is open, -EBUSY while one is being committed or
 * aborted, -EPIPE once FATAL.
 */
int ferry_uring_txn_begin(struct ferry_uring *ur);

/**
 * Commit the open transaction: once every batch produced in it is
 * acknowledged, EndTxn(commit) goes to the coordinator. The outcome comes as
 * FERRY_URING_EV_TXN with this cookie: COMMITTED, ABORT_REQUIRED (a batch
 * failed; the transaction stays open for ferry_uring_txn_abort()) or FATAL.
 * 0 when accepted, -EINVAL (not transactional), -ENOTCONN (no transaction
 * open), -EBUSY (commit or abort already under way), -ECANCELED (the
 * transaction already failed: abort it), -EPIPE (FATAL).
 */
int ferry_uring_txn_commit(struct ferry_uring *ur, uint64_t cookie);

/**
 * Abort the open transaction: batches not yet sent are reported with
 * OPERATION_NOT_ATTEMPTED, the answers of those in flight are awaited, then
 * EndTxn(abort) goes to the coordinator (skipped when nothing was added).
 * The outcome comes as FERRY_URING_EV_TXN with this cookie: ABORTED or FATAL.
 * 0 when accepted, -EINVAL, -ENOTCONN, -EBUSY, -EPIPE as for commit.
 */
int ferry_uring_txn_abort(struct ferry_uring *ur, uint64_t cookie);

/* ---- both --------------------------------------------------------------------------------- */

/** New leader for a partition (fetch or produce); in-flight state moves to it. */
int ferry_uring_set_leader(struct ferry_uring *ur, int part, int32_t leader);

/** Copy the counters out (FERRY_URING_ST__COUNT values). */
void ferry_uring_stats(const struct ferry_uring *ur, uint64_t *st);
/** Name and help of a counter. */
const char *ferry_uring_stat_name(enum ferry_uring_stat s);
const char *ferry_uring_stat_help(enum ferry_uring_stat s);

/**
 * The fetch-side batch filter, exposed for tests and the fuzzer. Walks the
 * Records of one Fetch partition answer from 'position': batches ending below
 * it are skipped (the broker starts at the batch holding the offset), control
 * batches are removed, and with read_committed so are aborted transactional
 * batches (KIP-98: AbortedTransactions against the ABORT markers, as the Java
 * consumer's CompletedFetch does). 'ab' is sorted in place by FirstOffset.
 */
void ferry_uring_filter_init(struct ferry_uring_filter *f, struct ferry_span records,
			     struct ferry_kafka_aborted_txn *ab, int32_t n_ab, bool read_committed,
			     int64_t position);
/**
 * Up to 'cap' kept batches into out. Returns how many (0 at the end; a cut
 * trailing batch is dropped as Kafka clients do), or a negative ferry_err for
 * a malformed batch, offsets that go backwards or overflow, or more open
 * aborted producers than FERRY_URING_FILTER_PIDS. f->position is the offset
 * after the last batch walked (kept or removed).
 */
int ferry_uring_filter_next(struct ferry_uring_filter *f, struct ferry_kafka_batch *out,
			    uint32_t cap);

/** Whether the data path speaks SASL mechanism 'name' (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). */
bool ferry_uring_sasl_supported(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_URING_H */
