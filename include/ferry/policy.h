/*
 * ferry/policy.h - runtime side of the policy engine: candidate validators, the per-topic
 * decision, and loading a snapshot's serialised databases.
 *
 * Thread-safety: validators are pure; ferry_policy_topic_decide() reads the snapshot and the
 * database and writes only the caller's scratch and output, so any thread may call it with
 * its own scratch (@locality any, one scratch per thread). No function here allocates except
 * ferry_policy_db_load().
 *
 * Hyperscan handles are forward-declared opaque structs (hs_database_t and hs_scratch_t are
 * typedefs of these), so this header pulls in no third-party header.
 */
#ifndef FERRY_POLICY_H
#define FERRY_POLICY_H

#include "ferry/policy-t.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hs_database;
struct hs_scratch;

/**
 * Luhn (ISO/IEC 7812) check of a card-number candidate: 12 to 19 digits, optionally
 * separated by single spaces or dashes (not leading, trailing or doubled). Any other byte
 * rejects.
 */
bool ferry_policy_luhn(const uint8_t *p, size_t n);

/**
 * IBAN check (ISO 13616): two letters naming a country of the SWIFT IBAN registry, two check
 * digits, a BBAN of that country's exact length, mod 97 == 1. Single spaces between characters
 * are allowed (print format); letters may be either case.
 */
bool ferry_policy_iban(const uint8_t *p, size_t n);

/** Expected IBAN length (electronic format) for a country code, 0 when not in the registry. */
unsigned ferry_policy_iban_length(const char cc[2]);

/** Every byte of p in cs, and min_len <= n <= max_len (a bound of 0 is no bound). */
bool ferry_policy_charset_check(const struct ferry_policy_charset *cs, uint32_t min_len,
				uint32_t max_len, const uint8_t *p, size_t n);

/** Singapore NRIC/FIN: [STFGM] 7 digits, check letter (S/T, F/G and the 2022 M series). */
bool ferry_policy_nric(const uint8_t *p, size_t n);

/** Japan My Number (individual number): 12 digits, spaces allowed in groups, check digit. */
bool ferry_policy_mynumber(const uint8_t *p, size_t n);

/**
 * Confirm a candidate match [p, p + n) for rule r: its length bounds, charset (if any) and
 * validator. A rule without validator or bounds confirms everything.
 */
bool ferry_policy_confirm(const struct ferry_policy_rule *r, const uint8_t *p, size_t n);

/** "mask", "tokenise", ... as written in rules files. */
const char *ferry_policy_action_name(enum ferry_policy_action a);
/** "luhn", "iban", ... ("none" for FERRY_POLICY_VAL_NONE). */
const char *ferry_policy_validator_name(enum ferry_policy_validator v);
/** "deny", "permit", "inspect". */
const char *ferry_policy_topic_decision_name(enum ferry_policy_topic_decision d);

/**
 * Decide what happens to one topic: deny wins over permit; a topic on neither list gets the
 * snapshot's default; a permitted topic is INSPECT when at least one record rule applies to
 * it (its selector matches or it has none), else PERMIT. Matching is on the whole name.
 *
 * topic_db is snap's topic database loaded with ferry_policy_db_load() (NULL when the
 * snapshot has none); scratch was allocated for it. A scan error denies (fail closed) and
 * sets out->scan_error.
 * @locality any thread, with its own scratch
 */
enum ferry_policy_topic_decision ferry_policy_topic_decide(const struct ferry_policy_snapshot *snap,
							   const struct hs_database *topic_db,
							   struct hs_scratch *scratch,
							   const char *topic, size_t len,
							   struct ferry_policy_topic_rules *out);

/**
 * Load snap's topic database and scratch for it, for a control-plane user that decides many
 * topics (ferryd's topic discovery, ferryctl verify, rules test). 0 or -errno with a message.
 */
int ferry_policy_topics_init(struct ferry_policy_topics *t, const struct ferry_policy_snapshot *snap,
			     char *err, size_t errlen);
void ferry_policy_topics_fini(struct ferry_policy_topics *t);
/** ferry_policy_topic_decide() with t's database and scratch. */
enum ferry_policy_topic_decision ferry_policy_topics_decide(struct ferry_policy_topics *t,
							    const char *topic, size_t len,
							    struct ferry_policy_topic_rules *out);

/**
 * Turn serialised bytes (snapshot record_db or topic_db) into a database on the heap.
 * Returns 0 or -errno with a message. The runtime proper will use deserialize_at into
 * NUMA-local memory; this is for the control plane, tools and tests.
 */
int ferry_policy_db_load(const char *bytes, size_t len, struct hs_database **db, char *err,
			 size_t errlen);
void ferry_policy_db_free(struct hs_database *db);
/** Allocate (or grow) scratch for db. 0 or -errno. */
int ferry_policy_scratch_alloc(const struct hs_database *db, struct hs_scratch **scratch);
void ferry_policy_scratch_free(struct hs_scratch *scratch);

/* ---- runtime: scan and act (dataplane/policy/runtime.c) ------------------------------------ */

struct ferry_kafka_batch;
/** A loaded, immutable policy: live databases and a copy of the snapshot's tables. */
struct ferry_policy_rt;
/** One worker's mutable state: scratch, codec context, buffers, counters. */
struct ferry_policy_worker;
/** The published policy: one atomic pointer and a generation counter. */
struct ferry_policy_pub;

/**
 * Where a loaded policy's databases live. The dataplane passes rte_malloc_socket() on the
 * workers' NUMA node (hugepage memory); NULL in ferry_policy_rt_new() means aligned_alloc.
 * alloc returns memory aligned to `align` (Hyperscan needs 8; 64 is asked for) or NULL.
 */
struct ferry_policy_alloc {
	void *(*alloc)(void *ctx, size_t size, size_t align);
	void (*free)(void *ctx, void *p);
	void *ctx;
};

/**
 * Load a snapshot: place its databases with hs_deserialize_database_at() in memory from
 * `alloc` (NULL: the heap) and copy its rule and topic tables, so the snapshot may be freed
 * afterwards. Returns NULL with errno set (and a message in err) on failure. Allocates;
 * control/set-up thread.
 */
struct ferry_policy_rt *ferry_policy_rt_new(const struct ferry_policy_snapshot *snap, char *err,
					    size_t errlen);
struct ferry_policy_rt *ferry_policy_rt_new_at(const struct ferry_policy_snapshot *snap,
					       const struct ferry_policy_alloc *alloc, char *err,
					       size_t errlen);
void ferry_policy_rt_free(struct ferry_policy_rt *rt);
/** Generation given by ferry_policy_publish() (0 before it is published). */
uint64_t ferry_policy_rt_generation(const struct ferry_policy_rt *rt);
/** The rule array (rt-owned) and its size. */
const struct ferry_policy_rule *ferry_policy_rt_rules(const struct ferry_policy_rt *rt,
						      uint32_t *n);

/**
 * Publication point. ferry_policy_publish() stores rt with release order, gives it the next
 * generation and returns the previous policy (or NULL), which the caller frees only after
 * every worker has passed a quiescent state: in the dataplane with rte_rcu_qsbr
 * (rte_rcu_qsbr_synchronize() on the control thread, rte_rcu_qsbr_quiescent() by each lcore
 * between bursts), in tests by joining the workers. Workers read with ferry_policy_current()
 * once per burst and hold no lock.
 */
struct ferry_policy_pub *ferry_policy_pub_new(void);
void ferry_policy_pub_free(struct ferry_policy_pub *pub); /* does not free the current rt */
struct ferry_policy_rt *ferry_policy_publish(struct ferry_policy_pub *pub,
					     struct ferry_policy_rt *rt);
/** @locality any thread; acquire load */
const struct ferry_policy_rt *ferry_policy_current(struct ferry_policy_pub *pub);

/**
 * Create a worker for rt (scratch allocated for rt's databases; buffers sized from conf,
 * NULL for defaults). Returns NULL with errno set. Allocates: set-up only.
 */
struct ferry_policy_worker *ferry_policy_worker_new(const struct ferry_policy_rt *rt,
						    const struct ferry_policy_worker_conf *conf);
void ferry_policy_worker_free(struct ferry_policy_worker *w);
/**
 * Make w ready for rt (grow the Hyperscan scratch, reset the topic cache and the HMAC key).
 * ferry_policy_apply() calls it itself on the first batch under a new rt; a dataplane can
 * call it at its quiescent point after a reload so the burst path never allocates.
 * 0 or -errno. @locality the worker's thread
 */
int ferry_policy_worker_prepare(struct ferry_policy_worker *w, const struct ferry_policy_rt *rt);
/** The worker's cumulative counters. */
const struct ferry_policy_counters *
ferry_policy_worker_counters(const struct ferry_policy_worker *w);

/**
 * The worker's per-topic counters: *n entries, the topics in first-seen order; when more than
 * FERRY_POLICY_TOPICS_TRACKED topics were seen the last entry is "(other)", their sum.
 * Read on the worker's thread, or after it stopped (the control plane sums copies).
 */
const struct ferry_policy_topic_counters *
ferry_policy_worker_topic_counters(const struct ferry_policy_worker *w, uint32_t *n);

/**
 * Scan one parsed batch of topic/partition and act on it (see runtime.c for the contract).
 * Returns 0 with res filled, or a negative ferry_err when the batch could not be decoded,
 * scanned or rebuilt: res->kind is then QUARANTINED (fail closed) and res->error the code.
 * Control batches and topics without record rules come back UNCHANGED.
 * @locality the worker's thread
 */
int ferry_policy_apply(struct ferry_policy_worker *w, const struct ferry_policy_rt *rt,
		       const char *topic, size_t topic_len, int32_t partition,
		       const struct ferry_kafka_batch *b, struct ferry_policy_result *res);

/** "unchanged", "rewritten", "quarantined", "denied". */
const char *ferry_policy_result_name(enum ferry_policy_result_kind k);

/**
 * Mask p[0 .. n) in place: every alphanumeric byte (and every byte >= 0x80) becomes mask_char
 * except the last keep_last alphanumerics; other bytes (separators: space, '-', '.', '@',
 * '+', parentheses) stay, so "4111-1111-1111-1111" keep_last 4 gives "****-****-****-1111".
 * Returns the number of bytes changed.
 */
size_t ferry_policy_mask_span(uint8_t *p, size_t n, uint8_t mask_char, unsigned keep_last);

#ifdef __cplusplus
}
#endif

#endif
