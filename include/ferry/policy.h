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

#ifdef __cplusplus
}
#endif

#endif
