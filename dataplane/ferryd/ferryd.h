/*
 * ferryd.h - the gateway's shared state: what the control thread, the io lcore and the WAN
 * worker lcores of one ferryd process hand each other (DESIGN §5).
 *
 * Ownership, by thread:
 *  - control (main lcore): configuration, librdkafka (metadata, offset-syncs, heartbeats,
 *    checkpoints), the TLS key channel and the peer protocol, sessions (creates and frees the
 *    WAN workers), metrics. Writes the partition tables only while the io lcore is parked.
 *  - io lcore: the io_uring broker connections (fetch on a source, produce on a target), the
 *    policy worker (source), batch slots; talks to the WAN workers through their rings.
 *  - worker lcores: ferry_wan_dp_run, one WAN queue each.
 * Between control and io: atomics (session state, committed positions) and SPSC rte_rings
 * (slot indices, leader updates). Nothing here is locked.
 */
#ifndef FERRY_FERRYD_H
#define FERRY_FERRYD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ferry/policy.h"
#include "ferry/uring.h"
#include "ferry/wan_dpdk.h"
#include "proto.h"

struct rte_ring;
struct ferry_conf;
struct ferry_policy_pub;

#define FERRYD_MAX_QUEUES 16
#define FERRYD_MAX_PARTS  1024
#define FERRYD_LANES      16

enum ferryd_role { FERRYD_SOURCE, FERRYD_TARGET };

/* Counters of the gateway itself (the WAN, uring and policy layers have their own), declared
 * once; each is written by one thread only (the one named) and read by the metrics reader. */
#define FERRYD_FOREACH_CTR(_)                                                                      \
	_(batches_in, "io", "record batches fetched from the source (source) or received over the WAN (target)") \
	_(records_in, "io", "records in those batches")                                           \
	_(bytes_in, "io", "bytes of those batches")                                               \
	_(batches_out, "io", "batches sent over the WAN (source) or written to the target (target)") \
	_(records_out, "io", "records in batches sent (source) or written (target)")               \
	_(bytes_out, "io", "bytes of those batches")                                              \
	_(batches_skipped, "io", "batches that left as a SKIP descriptor (every record dropped or quarantined)") \
	_(records_dropped, "io", "records dropped by deny rules (never left)")                     \
	_(spans_masked, "io", "PII spans masked")                                                 \
	_(spans_tokenised, "io", "PII spans tokenised")                                           \
	_(batches_quarantined, "io", "batches quarantined (policy failed closed or a rule said so)") \
	_(corrupt_batches, "io", "batches with a bad CRC32C or framing: the partition stopped")     \
	_(truncations, "io", "source logs truncated under ferry: the partition stopped")           \
	_(partitions_stopped, "io", "partitions stopped with an alarm")                           \
	_(stash_waits, "io", "fetch answers held because slots or WAN rings were full")           \
	_(dup_batches, "io", "batches the target had already written (resent after a restart), skipped") \
	_(tail_reconciled, "io", "resent batches found already on the target after a restart (synced, not rewritten)") \
	_(produce_errors, "io", "batches the target could not write (partition stopped)")          \
	_(bad_desc, "io", "WAN batches whose descriptor did not decode (dropped, alarm)")          \
	_(unknown_partition, "io", "WAN batches for a partition the target does not know")          \
	_(commits_in, "control", "COMMIT positions received (source)")                            \
	_(commits_out, "control", "COMMIT positions sent (target)")                               \
	_(syncs_written, "control", "offset-sync records written (target)")                       \
	_(txn_commits, "control", "exactly-once: transactions committed (batches and their offset-syncs)") \
	_(txn_aborts, "control", "exactly-once: transactions aborted (the source resent their batches)") \
	_(sessions, "control", "WAN sessions established")                                       \
	_(session_resets, "control", "WAN sessions lost (peer gone, key channel error)")            \
	_(heartbeats, "control", "MM2 heartbeats written")                                        \
	_(checkpoints, "control", "MM2 checkpoints written")                                      \
	_(metadata_refreshes, "control", "metadata refreshes")

enum ferryd_ctr {
#define FERRYD_CTR_ENUM(n, t, h) FERRYD_CTR_##n,
	FERRYD_FOREACH_CTR(FERRYD_CTR_ENUM)
#undef FERRYD_CTR_ENUM
	FERRYD_CTR__MAX
};

/* One batch buffer (source: descriptor + batch on its way over the WAN; target: the batch
 * on its way to the target broker, then its offset-sync facts on their way to control). */
struct ferryd_slot {
	uint8_t *buf;
	uint32_t cap, len;
	uint32_t off;     /* target: where the batch starts in buf */
	int part;         /* index in the partition table */
	uint8_t kind;     /* enum ferryd_desc_kind */
	bool drops_exact;
	bool failed;      /* target: not written (error); no sync, no commit */
	int64_t src_first, src_last;
	int64_t tgt_base;
	uint32_t n_drops;
	uint32_t drops_off; /* target: dropped deltas (BE u32) at buf + drops_off */
	uint32_t records;   /* records in the batch */
};

/* One partition of the flow. Source: a source partition we fetch. Target: the same source
 * partition, written to its remote topic. Index = position in the table, stable for the
 * life of the process (new partitions are appended while the io lcore is parked). */
struct ferryd_part {
	char topic[FERRYD_TOPIC_MAX + 1];  /* source topic */
	char remote[FERRYD_TOPIC_MAX + 1]; /* target topic (replication policy) */
	uint16_t topic_len;                /* strlen(topic): the per-batch paths compare it */
	int32_t partition;
	int32_t leader;
	int uh;        /* io_uring partition handle, -1 until added (io lcore) */
	uint8_t lane;
	bool stopped;  /* alarm raised: no more data moves (io lcore) */
	/* source */
	bool owned; /* replicated by this gateway this session: its group's assignment (control,
		     * before UP; always true without ferry.group.id) */
	_Atomic int64_t committed; /* next source offset the target has written (control) */
	int64_t resume;            /* where this session starts (control, before UP) */
	int64_t sent_next;         /* next source offset to send (io) */
	_Atomic int64_t hw;        /* high watermark seen in the last fetch answer (io) */
	/* target */
	int64_t accepted_last;      /* highest source offset accepted for writing (io) */
	_Atomic int64_t synced_next; /* next source offset after the last offset-sync (control) */
	/* target restart: records on the target partition after the last offset-sync (written,
	 * their syncs lost with the previous process). The resent batches that carry them are
	 * recognised and synced, not written again (control sets them while io is parked). */
	int64_t tail_skip;
	int64_t tail_next_tgt;
	/* source: fetch answers waiting for slots (io) */
	struct ferryd_pend *pend;
	uint32_t n_pend, cap_pend, head_pend;
	/* target: slots in write order, completed in that order (io) */
	uint32_t *order;
	uint32_t n_order, head_order, cap_order;
};

struct ferryd_pend {
	struct ferry_kafka_batch b;
	uint32_t ref;
	bool last_of_ref;
};

enum ferryd_sess {
	FERRYD_SESS_DOWN = 0, /* io lcore does not touch the WAN workers */
	FERRYD_SESS_UP = 1,
	FERRYD_SESS_STOPPING = 2, /* control asks io to park; io answers with io_parked */
};

/* Leader / broker updates, control -> io (allocated by control, freed by io). */
/* Exactly-once (target): one transaction cycle, handed between io and control (io.c, ctl.c).
 * io: OPEN -> CLOSED (nothing more accepted, every batch answered and handed to control),
 *     SYNCS -> COMMITTED or ABORTED (the offset-syncs produced in the transaction, then EndTxn),
 *     OPEN -> ABORTED (a batch failed: the transaction was aborted);
 * control: CLOSED -> SYNCS (the offset-sync batch is in txn_syncs), COMMITTED/ABORTED -> OPEN
 *     (slots freed; commits sent back, or a new session so the source resends). */
enum ferryd_txn_phase {
	FERRYD_TXN_OPEN,
	FERRYD_TXN_CLOSED,
	FERRYD_TXN_SYNCS,
	FERRYD_TXN_COMMITTED,
	FERRYD_TXN_ABORTED,
};

#define FERRYD_PART_SYNCS (-2) /* leader update for the offset-syncs partition (exactly-once) */

struct ferryd_leader_upd {
	int part;          /* -1: broker entry only; FERRYD_PART_SYNCS: the offset-syncs partition */
	int32_t leader;
	int32_t node_id;
	char host[256];
	uint16_t port;
};

struct ferryd {
	enum ferryd_role role;
	const struct ferry_conf *conf;
	int flow;
	const char *source, *target; /* cluster aliases */
	bool exactly_once;
	bool busy_poll;

	/* partitions */
	struct ferryd_part *parts;
	_Atomic uint32_t n_parts; /* appended by control while parked */

	/* slots */
	struct ferryd_slot *slots;
	uint32_t n_slots;
	uint32_t slot_cap;
	struct rte_ring *slot_free; /* io: free slot indices (source: io only; target: ctl -> io) */
	struct rte_ring *slot_done; /* target: io -> control, written slots in per-partition order */
	struct rte_ring *leader_upd; /* control -> io */
	_Atomic uint32_t slots_held; /* target: slots the io lcore holds (produce in flight) */

	/* exactly-once (target): the transaction cycle, see enum ferryd_txn_phase */
	_Atomic int txn_phase;
	char syncs_topic[256];  /* the target cluster's offset-syncs topic (set before io starts) */
	uint8_t *txn_syncs;     /* control builds the offset-sync batch here in phase CLOSED */
	size_t txn_syncs_len, txn_syncs_cap;
	char txn_err[256];      /* io: why the last transaction was aborted (read in ABORTED) */
	atomic_bool txn_fatal;  /* io: the transactional producer was fenced: restart */

	/* session */
	_Atomic int sess_state;
	_Atomic uint32_t sess_gen;
	_Atomic bool io_parked;
	struct ferry_wan_dp *dps[FERRYD_MAX_QUEUES];
	pthread_mutex_t sess_lock; /* dps[] and wan_prev against the metrics reader */
	uint16_t nqueues;
	uint8_t nlanes;

	/* policy (source) */
	struct ferry_policy_pub *policy; /* NULL: no rules */

	/* io */
	struct ferry_uring *ur;
	struct ferry_uring_conf urc;
	_Atomic bool meta_req; /* io -> control: refresh leaders */
	atomic_bool stop;      /* everything stops */
	atomic_bool io_stop;   /* the io lcore returns (after the drain) */
	atomic_bool io_running;
	atomic_bool draining;
	atomic_bool io_failed; /* io lcore could not start: io_err says why */
	char io_err[256];  /* source stopping: fetch nothing new */

	/* WAN counters of the sessions already closed (control) */
	struct ferry_wan_dp_stats wan_prev;

	/* counters */
	_Atomic uint64_t ctr[FERRYD_CTR__MAX];
	_Atomic uint64_t uring_stats[64];
	const struct ferry_policy_worker *pw; /* the io lcore's policy worker (read by metrics) */
};

static inline void
ferryd_count(struct ferryd *fd, enum ferryd_ctr c, uint64_t n)
{
	/* single writer per counter: a relaxed load + store is enough and cheaper than RMW */
	atomic_store_explicit(&fd->ctr[c],
			      atomic_load_explicit(&fd->ctr[c], memory_order_relaxed) + n,
			      memory_order_relaxed);
}

const char *ferryd_ctr_name(enum ferryd_ctr c);
const char *ferryd_ctr_help(enum ferryd_ctr c);

/* io lcore entry points (io.c) */
int ferryd_io_main(void *arg);
int ferryd_io_init(struct ferryd *fd, char *err, size_t errlen);
void ferryd_io_fini(struct ferryd *fd);

/* Find a partition by source topic and partition; -1 if unknown (any thread, table stable). */
int ferryd_part_find(const struct ferryd *fd, const char *topic, size_t topic_len,
		     int32_t partition);

__attribute__((format(printf, 2, 3))) void ferryd_log(const struct ferryd *fd, const char *fmt,
						      ...);

#endif /* FERRY_FERRYD_H */
