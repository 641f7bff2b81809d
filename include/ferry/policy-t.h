/*
 * ferry/policy-t.h - types of the data-residency policy engine: actions, where to look,
 * validators, compiled record rules, per-topic decisions and the compiled snapshot the
 * control plane hands to the dataplane.
 *
 * Types only (HAProxy "-t.h" rule): functions live in ferry/policy.h. Pure C11, no
 * third-party headers. Every struct here is flat and fixed-size except the snapshot,
 * which owns its arrays; a worker reads them, never writes them.
 *
 * Who owns what: control/policy_compile.c builds a struct ferry_policy_snapshot (heap) from
 * a rules file; the dataplane deserialises its Hyperscan databases and reads its rule array
 * for as long as the snapshot is published (RCU, STYLE rule 10).
 */
#ifndef FERRY_POLICY_T_H
#define FERRY_POLICY_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Limits of one compiled rule set; the per-topic rule bitmap is sized by RULES_MAX. */
#define FERRY_POLICY_RULES_MAX     256
#define FERRY_POLICY_NAME_MAX      64 /**< rule name, NUL included */
#define FERRY_POLICY_HEADERS_MAX   4  /**< named headers one rule may inspect */
#define FERRY_POLICY_HDR_NAME_MAX  64 /**< header name, NUL included */
#define FERRY_POLICY_KEEP_LAST_MAX 64 /**< largest mask keep_last */
#define FERRY_POLICY_TOKEN_KEY_MIN 32 /**< tokenisation key: at least 256 bits */
#define FERRY_POLICY_TOKEN_KEY_MAX 64 /**< one HMAC-SHA256 block */

/** Version of struct ferry_policy_snapshot's layout; bumped on any change. */
#define FERRY_POLICY_SNAPSHOT_FORMAT 2

/** What a confirmed match does. Ordered by severity: the runtime keeps the highest per record. */
enum ferry_policy_action {
	FERRY_POLICY_ACT_PASS = 0,   /**< nothing (not produced by rules; the "no match" verdict) */
	FERRY_POLICY_ACT_TAG,        /**< pass unchanged, count and audit */
	FERRY_POLICY_ACT_MASK,       /**< overwrite matched bytes in place, same length */
	FERRY_POLICY_ACT_TOKENISE,   /**< keyed deterministic token, same length and class */
	FERRY_POLICY_ACT_DROP,       /**< remove the record from its batch */
	FERRY_POLICY_ACT_QUARANTINE, /**< hold the whole batch back */
	FERRY_POLICY_ACT__COUNT
};

/** Where a rule looks: a bitmask. HEADER means the values of the headers named in the rule. */
#define FERRY_POLICY_WHERE_KEY         (1u << 0)
#define FERRY_POLICY_WHERE_VALUE       (1u << 1)
#define FERRY_POLICY_WHERE_HEADER      (1u << 2) /**< values of the rule's named headers */
#define FERRY_POLICY_WHERE_ALL_HEADERS (1u << 3) /**< values of every header */
#define FERRY_POLICY_WHERE_ALL                                                                     \
	(FERRY_POLICY_WHERE_KEY | FERRY_POLICY_WHERE_VALUE | FERRY_POLICY_WHERE_ALL_HEADERS)

/** Confirmation of a candidate match before the action runs. */
enum ferry_policy_validator {
	FERRY_POLICY_VAL_NONE = 0, /**< the pattern alone decides */
	FERRY_POLICY_VAL_LUHN,     /**< payment card: 12-19 digits, spaces/dashes, Luhn mod 10 */
	FERRY_POLICY_VAL_IBAN,     /**< ISO 13616: country length table + mod 97 == 1 */
	FERRY_POLICY_VAL_CHARSET,  /**< every byte in the rule's charset, length in [min, max] */
	FERRY_POLICY_VAL_NRIC,     /**< Singapore NRIC/FIN: S/T/F/G check letter (M: form only) */
	FERRY_POLICY_VAL_MYNUMBER, /**< Japan My Number: 12 digits, mod-11 check digit */
	FERRY_POLICY_VAL__COUNT
};

/** Run gates (prefilter_run): a class of up to 4 byte ranges, up to 4 separator bytes. */
#define FERRY_POLICY_RUN_RANGES_MAX 4
#define FERRY_POLICY_RUN_SEPS_MAX   4
#define FERRY_POLICY_RUN_MIN_MAX    64

/**
 * A run gate: it fires where at least `min` bytes in a row are class bytes or separators
 * that directly follow a class byte (so "4111 1111" is one run of 9). A rule may use one
 * as its prefilter when every match of it holds such a run (dataplane/policy/runs.c).
 */
struct ferry_policy_run {
	uint8_t lo[FERRY_POLICY_RUN_RANGES_MAX]; /**< class: bytes in [lo[i], hi[i]] */
	uint8_t hi[FERRY_POLICY_RUN_RANGES_MAX];
	uint8_t n_ranges;
	uint8_t sep[FERRY_POLICY_RUN_SEPS_MAX];
	uint8_t n_seps;
	uint16_t min; /**< 1 .. FERRY_POLICY_RUN_MIN_MAX */
};

/** A set of bytes, one bit per value (bit b of set[b >> 3] is byte b). */
struct ferry_policy_charset {
	uint8_t set[32];
};

/**
 * One compiled record rule, as a worker sees it. Its index in the snapshot's rule array
 * is its id and the Hyperscan expression id of every one of its patterns.
 */
struct ferry_policy_rule {
	uint32_t id;                      /**< index in ferry_policy_snapshot.rules */
	char name[FERRY_POLICY_NAME_MAX]; /**< for counters and audit events */
	enum ferry_policy_action action;
	uint32_t where;     /**< FERRY_POLICY_WHERE_* */
	uint32_t n_headers; /**< names used when where has WHERE_HEADER */
	char headers[FERRY_POLICY_HEADERS_MAX][FERRY_POLICY_HDR_NAME_MAX];
	uint16_t header_len[FERRY_POLICY_HEADERS_MAX];
	enum ferry_policy_validator validator;
	uint32_t min_len; /**< match length bounds, 0 = unbounded; any validator */
	uint32_t max_len;
	bool has_charset; /**< charset applies (validator CHARSET requires it) */
	struct ferry_policy_charset charset;
	uint8_t mask_char;  /**< MASK: replacement byte */
	uint16_t keep_last; /**< MASK: trailing bytes of the match left visible */
	bool som;           /**< compiled with start of match (span known) */
	bool caseless;
	bool all_topics; /**< no topic selector: applies to every inspected topic */
	bool gated;      /**< has a prefilter (patterns in gate_db and/or a run) */
	bool has_run;    /**< run is its prefilter (alone or with gate_db patterns) */
	struct ferry_policy_run run;
	uint32_t n_patterns; /**< for reports */
};

/** What happens to a topic as a whole (DESIGN §2 step 3). */
enum ferry_policy_topic_decision {
	FERRY_POLICY_TOPIC_DENY = 0, /**< never leaves; counted */
	FERRY_POLICY_TOPIC_PERMIT,   /**< leaves untouched: no record rule applies */
	FERRY_POLICY_TOPIC_INSPECT,  /**< leaves after the record rules in `rules` have run */
};

/** What one id of the topic database means. */
enum ferry_policy_topic_kind {
	FERRY_POLICY_TOPIC_ID_PERMIT = 0,
	FERRY_POLICY_TOPIC_ID_DENY,
	FERRY_POLICY_TOPIC_ID_SELECT, /**< a record rule's topic selector; `rule` says which */
};

struct ferry_policy_topic_id {
	uint8_t kind;  /**< enum ferry_policy_topic_kind */
	uint16_t rule; /**< for SELECT: index of the rule */
};

/**
 * The outcome for one topic: computed once per topic (or partition assignment) and cached by
 * the worker, never per record. `rules` has bit i set when rule i applies to this topic; a
 * record match of a rule whose bit is clear is ignored.
 */
struct ferry_policy_topic_rules {
	enum ferry_policy_topic_decision decision;
	bool permit_hit; /**< matched a permit pattern */
	bool deny_hit;   /**< matched a deny pattern */
	bool scan_error; /**< Hyperscan failed: decision forced to DENY (fail closed) */
	uint64_t rules[FERRY_POLICY_RULES_MAX / 64];
};

struct hs_database;
struct hs_scratch;
/** A snapshot's topic decisions, ready to ask (ferry_policy_topics_init): its topic database
 *  loaded and scratch for it. One thread at a time; the snapshot must outlive it. */
struct ferry_policy_topics {
	const struct ferry_policy_snapshot *snap;
	struct hs_database *db; /**< NULL when the snapshot has no topic lists */
	struct hs_scratch *scratch;
};

/**
 * A compiled policy, produced by the control plane and read by the workers.
 *
 * The two databases are hs_serialize_database() output: a worker turns them into live
 * databases with hs_deserialize_database_at() in memory on its NUMA node. Record database
 * expression id = rule index; topic database id = index into topic_ids. Either database is
 * absent (NULL, length 0) when it would have no pattern.
 */
struct ferry_policy_snapshot {
	uint32_t format;     /**< FERRY_POLICY_SNAPSHOT_FORMAT */
	uint64_t generation; /**< set by the publisher, increases with each reload */
	bool default_permit; /**< topics matching no list: permit (true) or deny */
	uint32_t n_rules;
	struct ferry_policy_rule *rules;
	uint32_t n_patterns;   /**< record patterns over all rules */
	char *record_db;       /**< serialised record database (block mode) */
	size_t record_db_len;  /**< its serialised size */
	size_t record_db_size; /**< hs_database_size() of the compiled database */
	/* The two-phase scan (runtime.c): gate_db holds the prefilter patterns of the gated
	 * rules (no SOM, id = rule index) and is run once over a batch's records; rule_db[i]
	 * holds gated rule i's own patterns, run per field only on records where its gate
	 * fired; ungated_db holds the patterns of the rules without a prefilter, run on every
	 * field. record_db (all rules) stays the reference the differential test checks. */
	char *gate_db;
	size_t gate_db_len;
	size_t gate_db_size;
	char *ungated_db;
	size_t ungated_db_len;
	size_t ungated_db_size;
	char **rule_db;      /**< [n_rules]: NULL for an ungated rule */
	size_t *rule_db_len; /**< [n_rules] */
	char *topic_db;      /**< serialised topic database (block mode, single match) */
	size_t topic_db_len;
	size_t topic_db_size;
	uint32_t n_topic_ids;
	struct ferry_policy_topic_id *topic_ids;
	uint32_t n_topic_permit; /**< counts, for reports */
	uint32_t n_topic_deny;
	uint8_t
	    token_key[FERRY_POLICY_TOKEN_KEY_MAX]; /**< tokenisation key, when a rule needs it */
	uint32_t token_key_len;
};

/* ---- runtime: scan-and-act results (dataplane/policy/runtime.c) ------------------------------ */

/** What ferry_policy_apply() decided for one batch. */
enum ferry_policy_result_kind {
	FERRY_POLICY_RES_UNCHANGED = 0, /**< forward the original batch bytes untouched */
	FERRY_POLICY_RES_REWRITTEN,     /**< forward ferry_policy_result.out instead */
	FERRY_POLICY_RES_QUARANTINED,   /**< hold the whole batch back (a rule, or fail closed) */
	FERRY_POLICY_RES_DENIED,        /**< the topic is denied: nothing of it leaves */
};

/**
 * One audit event: a rule acted on one record. Never carries the matched bytes. topic points
 * into the worker (a copy of the name given to ferry_policy_apply) and stays valid until the
 * worker's next ferry_policy_apply() call, like the rest of the result.
 */
struct ferry_policy_audit {
	const char *topic;
	uint16_t topic_len;
	int32_t partition;
	int64_t offset; /**< BaseOffset + OffsetDelta of the record in the original batch */
	uint16_t rule;  /**< rule id (index in the snapshot) */
	uint8_t action; /**< enum ferry_policy_action taken by that rule */
	uint8_t field;  /**< FERRY_POLICY_WHERE_KEY / _VALUE / _ALL_HEADERS: first field matched */
};

/** Per-rule counters, cumulative in a worker (records, not matches, except where noted). */
struct ferry_policy_rule_counters {
	uint64_t matched;    /**< records with at least one confirmed match */
	uint64_t gated;      /**< records its prefilter marked for an exact look */
	uint64_t candidates; /**< Hyperscan matches seen (before confirmation) */
	uint64_t rejected;   /**< candidates the validator refused */
	uint64_t tagged;
	uint64_t masked;      /**< spans masked */
	uint64_t tokenised;   /**< spans tokenised */
	uint64_t dropped;     /**< records dropped because of this rule */
	uint64_t quarantined; /**< batches quarantined because of this rule */
};

/** Worker-wide counters (cumulative). The control plane sums them over workers. */
struct ferry_policy_counters {
	uint64_t batches;
	uint64_t unchanged;
	uint64_t rewritten;
	uint64_t quarantined;
	uint64_t denied;
	uint64_t errors; /**< batches failed closed (decode, scan, rebuild, limits) */
	uint64_t records_scanned;
	uint64_t records_matched;
	uint64_t records_dropped;
	uint64_t bytes_scanned;
	uint64_t audit_lost; /**< events beyond the per-batch audit array */
	struct ferry_policy_rule_counters rule[FERRY_POLICY_RULES_MAX];
};

/** Topics a worker keeps counters for; later topics are summed in one "(other)" entry. */
#define FERRY_POLICY_TOPICS_TRACKED 128
#define FERRY_POLICY_TOPIC_NAME_MAX 249 /**< Kafka's Topic.MAX_NAME_LENGTH */

/** Per-topic counters, cumulative in a worker across policy reloads. */
struct ferry_policy_topic_counters {
	char topic[FERRY_POLICY_TOPIC_NAME_MAX + 1]; /**< NUL-terminated; "(other)" for overflow */
	uint64_t batches;
	uint64_t records_scanned;
	uint64_t records_matched;
	uint64_t spans_masked;
	uint64_t spans_tokenised;
	uint64_t records_dropped;
	uint64_t batches_rewritten;
	uint64_t batches_quarantined; /**< by a rule or failed closed */
	uint64_t records_quarantined; /**< records of those batches */
	uint64_t batches_denied;      /**< topic denied */
	uint64_t records_denied;
	uint64_t errors; /**< batches failed closed */
};

/** Outcome of one ferry_policy_apply(); points into the worker until its next call. */
struct ferry_policy_result {
	enum ferry_policy_result_kind kind;
	int error;           /**< 0, or the ferry_err that made the batch fail closed */
	uint64_t generation; /**< generation of the policy that decided */
	const uint8_t *out;  /**< REWRITTEN: the new batch (len 0: every record dropped) */
	size_t out_len;
	uint32_t records_in;  /**< records scanned (0 when the topic needed no scan) */
	uint32_t records_out; /**< records forwarded of those: records_in - records_dropped */
	uint32_t records_matched;
	uint32_t records_dropped;
	uint32_t spans_masked;
	uint32_t spans_tokenised;
	int32_t quarantine_rule; /**< QUARANTINED by a rule: its id, else -1 */
	const struct ferry_policy_audit *audit;
	uint32_t n_audit;
	uint32_t audit_lost; /**< events that did not fit (counted, not reported) */
};

/** Sizes of a worker's buffers, fixed at creation (0 = default). */
struct ferry_policy_worker_conf {
	size_t max_batch_bytes;  /**< decompressed records and rebuilt batch; default 4 MiB */
	uint32_t max_records;    /**< records per batch; default 65536 */
	uint32_t max_headers;    /**< headers over a whole batch; default 4 * max_records */
	uint32_t max_candidates; /**< Hyperscan matches kept per field; default 4096 */
	uint32_t max_audit;      /**< audit events per batch; default 1024 */
};

#endif
