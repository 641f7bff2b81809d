/*
 * verify.h - the end-to-end replication checker (`ferryctl verify`, the e2e tests, the demo's
 * exit code). Per partition it proves that every permitted source record is on the target
 * exactly once, in source order, with its policy applied, and that nothing denied crossed.
 *
 * Two independent readers:
 *  - Expected: the source partitions' raw record batches (kclient Fetch, read_committed, from
 *    each partition's leader), through ferry's policy engine exactly as the gateway runs it
 *    (topic decision, then ferry_policy_apply() per batch), decoded with ferry's codec.
 *  - Actual: the target's remote topic (named by the replication policy) read with a plain
 *    librdkafka consumer (check.crcs=true, isolation.level=read_committed), never with
 *    ferry's codec.
 * A target record is matched to a source offset by its content (key, value, headers and, by
 * default, timestamp; a 128-bit digest of them).
 *
 * Control thread only; blocking (every call bounded by conf.timeout_ms); allocates.
 * Errors: 0 or -errno with a message in 'err' (STYLE rule 4a).
 */
#ifndef FERRY_VERIFY_H
#define FERRY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/mm2-t.h"

/** What to check. Strings are the caller's and must outlive ferry_verify_run(). */
struct ferry_verify_conf {
	const char *source_bootstrap; /**< host:port[,host:port...] */
	const char *target_bootstrap;
	const char *source_alias; /**< e.g. "london"; names remote topics (Default policy) */
	enum ferry_mm2_policy_kind policy;
	const char *separator;     /**< Default policy separator; NULL: "." */
	const char *rules_file;    /**< YAML rules; NULL: no policy, every record passes */
	const char *key_file;      /**< tokenisation key (32..64 raw bytes) overriding the rules
					file's tokenise_key_file; NULL: the rules file's */
	const char *const *topics; /**< source topics; n_topics 0: every non-internal topic */
	size_t n_topics;
	bool at_least_once;     /**< duplicates are counted but do not fail the check */
	bool ignore_timestamps; /**< leave timestamps out of a record's identity (a target
				     topic with LogAppendTime) */
	int timeout_ms;         /**< each blocking call; 0: 10000 */
};

/** Counters of one partition, and their sums in the total. */
struct ferry_verify_counts {
	uint64_t source;       /**< data records read on the source in range */
	uint64_t expected;     /**< of those, what the policy lets through */
	uint64_t dropped;      /**< records a drop rule removes */
	uint64_t quarantined;  /**< records of batches held back (a rule, or fail closed) */
	uint64_t found;        /**< records read on the target in range */
	uint64_t lost;         /**< expected source offsets never seen on the target */
	uint64_t duplicates;   /**< target records whose source offset was already seen */
	uint64_t out_of_order; /**< first occurrences below a source offset already seen */
	uint64_t unexpected;   /**< target records matching no expected record */
	uint64_t denied;       /**< target records of a topic the policy denies */
	uint64_t corrupt;      /**< target messages librdkafka refused (CRC, decoding) */
};

enum ferry_verify_decision {
	FERRY_VERIFY_PERMIT = 0, /**< no record rule applies (or no rules file) */
	FERRY_VERIFY_INSPECT,    /**< record rules apply */
	FERRY_VERIFY_DENY,       /**< the topic never leaves */
};

/** One checked partition: source topic/partition -> remote topic, same partition. */
struct ferry_verify_part {
	char topic[FERRY_MM2_TOPIC_MAX + 1];
	char remote[FERRY_MM2_TOPIC_MAX + 1];
	int32_t partition;
	enum ferry_verify_decision decision;
	bool on_source;          /**< the source has this partition */
	bool on_target;          /**< the target has this partition */
	int64_t src_lo, src_end; /**< source range read: [lo, end) (end: last stable offset) */
	int64_t dst_lo, dst_end; /**< target range read */
	struct ferry_verify_counts c;
	/* The first offending offset of each kind, -1 when none (for the report). */
	int64_t first_lost;         /**< source offset */
	int64_t first_duplicate;    /**< target offset */
	int64_t first_out_of_order; /**< target offset */
	int64_t first_unexpected;   /**< target offset */
};

struct ferry_verify_report {
	struct ferry_verify_part *parts; /**< topics in the order checked, partitions ascending */
	size_t n_parts;
	size_t n_topics;
	struct ferry_verify_counts total;
	bool at_least_once;
	bool pass; /**< lost, out_of_order, unexpected, denied, corrupt all 0; duplicates too
		       unless at_least_once */
};

/**
 * Run the check. Returns 0 with 'r' filled (look at r->pass), or -errno with a message in
 * err (bad configuration, rules that do not compile, a cluster that cannot be reached, a
 * corrupt source batch). 'r' is zeroed first; free it with ferry_verify_report_free()
 * whatever the result.
 */
int ferry_verify_run(const struct ferry_verify_conf *c, struct ferry_verify_report *r, char *err,
		     size_t errlen);
void ferry_verify_report_free(struct ferry_verify_report *r);

/** One line per partition and a total line, or (json) one JSON object on one line. */
void ferry_verify_report_print(FILE *f, const struct ferry_verify_report *r, bool json);

/** The counters' pass rule, for one partition or the total. */
bool ferry_verify_counts_pass(const struct ferry_verify_counts *c, bool at_least_once);

#endif
