/*
 * runtime_int.h - private layout of the policy runtime (dataplane/policy/runtime.c,
 * token.c): the loaded policy, the publication point and the per-worker state. Tests may
 * include it (STYLE §11); nothing else should.
 *
 * No OpenSSL or Hyperscan header here: the HMAC state is an opaque pointer owned by token.c.
 */
#ifndef FERRY_POLICY_RUNTIME_INT_H
#define FERRY_POLICY_RUNTIME_INT_H

#include <stdatomic.h>

#include "ferry/kafka-t.h"
#include "ferry/policy.h"

/* Kafka's own limit on a topic name (Topic.MAX_NAME_LENGTH). */
#define FERRY_POLICY_TOPIC_MAX FERRY_POLICY_TOPIC_NAME_MAX

struct ferry_policy_rt {
	/* A shallow snapshot for ferry_policy_topic_decide(): rules and topic_ids point to the
	 * copies below, the serialised databases are not kept. */
	struct ferry_policy_snapshot snap;
	struct hs_database *gate_db;    /* prefilters of the gated rules; NULL: none */
	struct hs_database *ungated_db; /* rules without a prefilter; NULL: none */
	struct hs_database *rule_db[FERRY_POLICY_RULES_MAX]; /* gated rule i's own patterns */
	uint16_t gated[FERRY_POLICY_RULES_MAX];              /* ids of the gated rules */
	uint32_t n_gated;
	struct ferry_policy_run_group *runs; /* [n_runs] */
	uint32_t n_runs;
	bool has_record_rules;           /* some record rule exists */
	struct hs_database *topic_db;    /* NULL: no topic pattern */
	struct ferry_policy_alloc alloc; /* where the databases live */
	uint64_t uid;                    /* unique per rt for the life of the process */
	uint64_t generation;             /* set once by ferry_policy_publish() */
	bool needs_token;                /* some rule tokenises */
};

/* Run gates of the same class and separators, scanned together (one pass per group). */
struct ferry_policy_run_group {
	struct ferry_policy_run run; /* class and separators; min unused */
	uint16_t n;
	uint16_t min[FERRY_POLICY_RULES_MAX];
	uint16_t rule[FERRY_POLICY_RULES_MAX];
};

/*
 * Report every end offset e of p[0 .. n) at which the last mins[k] bytes are all run bytes
 * (runs.c): report(ctx, k, first, last) covers the ends first .. last. Pure; any thread.
 */
void ferry_policy_run_scan(const struct ferry_policy_run *run, const uint16_t *mins,
			   unsigned n_mins, const uint8_t *p, size_t n,
			   void (*report)(void *ctx, unsigned which, size_t first_end,
					  size_t last_end),
			   void *ctx);

struct ferry_policy_pub {
	_Atomic(struct ferry_policy_rt *) cur;
	_Atomic uint64_t generation;
};

/* HMAC-SHA256 tokeniser state (token.c). */
struct ferry_policy_token;
struct ferry_policy_token *ferry_policy_token_new(void);
void ferry_policy_token_free(struct ferry_policy_token *tk);
/* Set the key (allocation-free afterwards). 0 or -errno. */
int ferry_policy_token_setkey(struct ferry_policy_token *tk, const uint8_t *key, size_t len);
/*
 * Write to dst[0 .. n) the token of src[0 .. n): position i keeps its class (digit, upper,
 * lower; any other byte is copied), its value comes from HMAC-SHA256(key, src) stretched
 * over blocks HMAC(key, src || be32(block)) for block >= 1 when n > 32. dst must not
 * overlap src.
 * 0, or -1 on a libcrypto failure.
 */
int ferry_policy_token_apply(struct ferry_policy_token *tk, const uint8_t *src, uint8_t *dst,
			     size_t n);

/* One Hyperscan candidate in the field being scanned. */
struct ferry_policy_cand {
	uint32_t from, to;
	uint16_t rule;
	bool confirmed;
};

/* One confirmed span to rewrite in a field (mask or tokenise). */
struct ferry_policy_edit {
	uint32_t from, to;
	uint16_t rule;
};

struct ferry_policy_worker {
	struct ferry_policy_worker_conf conf;
	struct hs_scratch *scratch;
	struct ferry_codec_ctx *cc;
	struct ferry_policy_token *tk;
	uint64_t prepared_uid; /* rt->uid the scratch and key are ready for, 0 = none */

	/* Topic decision cache: last topic seen under prepared_uid. */
	char topic[FERRY_POLICY_TOPIC_MAX + 1];
	size_t topic_len;
	bool topic_valid;
	struct ferry_policy_topic_rules topic_rules;
	bool topic_gated;   /* a gated rule applies to the cached topic */
	bool topic_ungated; /* an ungated rule applies to the cached topic */

	/* Buffers sized at creation (STYLE rule 7): decompressed records, edited field copies,
	 * the builder's uncompressed scratch, the output batch. */
	uint8_t *dec;
	size_t dec_cap;
	uint8_t *edit;
	size_t edit_cap, edit_used;
	uint8_t *build;
	size_t build_cap;
	uint8_t *out;
	size_t out_cap;
	/* The batch's records, indexed before any scan: parsed fields, the end offset of each
	 * in the decompressed records, and the gates that fired in each of its fields (bit
	 * rule % 64). */
	struct ferry_kafka_record *rv;
	uint32_t *rend;
	uint64_t *rgate; /* [3 * max_records]: key, value, headers of each record */
	const uint8_t *recs_base;
	uint32_t n_rv;
	uint32_t gate_cursor;
	struct ferry_kafka_record_in *recs;
	struct ferry_kafka_header *hdrs;
	struct ferry_policy_cand *cand;
	uint32_t n_cand;
	bool cand_overflow;
	struct ferry_policy_edit *edits; /* per field, max_candidates */
	struct ferry_policy_audit *audit;

	/* Scan callback context. */
	const struct ferry_policy_rt *scan_rt;
	uint32_t scan_field; /* FERRY_POLICY_WHERE_* of the field being scanned */
	const struct ferry_kafka_header *scan_hdr;
	const struct ferry_policy_run_group *scan_group;

	struct ferry_policy_counters ctr;
	/* Per-topic counters (+1: the "(other)" overflow entry); tctr_cur is the entry of the
	 * cached topic, found again whenever the topic changes. */
	struct ferry_policy_topic_counters tctr[FERRY_POLICY_TOPICS_TRACKED + 1];
	uint32_t n_tctr;
	bool tctr_other;
	char tctr_topic[FERRY_POLICY_TOPIC_MAX + 1];
	size_t tctr_topic_len;
	struct ferry_policy_topic_counters *tctr_cur;
};

#endif
