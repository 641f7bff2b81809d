/*
 * rules.h - the policy rules file (YAML) parsed into a struct ferry_rules: topic lists, record
 * rules with their source patterns and line numbers, the tokenisation key. Compilation into
 * Hyperscan databases is policy_compile.h's.
 *
 * Control thread only. A struct ferry_rules owns every string in it; ferry_rules_free()
 * releases them (and wipes the key).
 */
#ifndef FERRY_RULES_H
#define FERRY_RULES_H

#include <stdarg.h>

#include "ferry/policy-t.h"

#define FERRY_RULES_PATTERNS_MAX 64  /* per rule */
#define FERRY_RULES_TOPICS_MAX   256 /* per list */

/* A regex as written, with where it came from (for file:line errors). */
struct ferry_rules_regex {
	char *expr;
	const char *file; /* points into ferry_rules.sources */
	unsigned line;
};

struct ferry_rules_rule {
	struct ferry_policy_rule r; /* compiled fields, r.id = index */
	const char *file;
	unsigned line;
	struct ferry_rules_regex *patterns;
	size_t n_patterns;
	/* Optional gate: regexes whose matches are a superset of the rule's (every match of a
	 * pattern contains a match of one of these). Empty = the rule is scanned on every field. */
	struct ferry_rules_regex *prefilter;
	size_t n_prefilter;
	struct ferry_rules_regex *topics; /* selector; empty = every inspected topic */
	size_t n_topics;
};

#define FERRY_RULES_SOURCES_MAX 8

struct ferry_rules {
	char *sources[FERRY_RULES_SOURCES_MAX]; /* file and pack names used in errors */
	size_t n_sources;
	const char *file; /* the top-level file name */
	bool default_permit;
	char *key_file; /* resolved path, NULL when none */
	uint8_t key[FERRY_POLICY_TOKEN_KEY_MAX];
	size_t key_len;
	struct ferry_rules_regex *permit;
	size_t n_permit;
	struct ferry_rules_regex *deny;
	size_t n_deny;
	struct ferry_rules_rule *rules;
	size_t n_rules;
};

/*
 * Error accumulation: every problem found is appended as one "FILE:LINE: ..." line, so a
 * check reports all of them at once. Truncates silently when errlen is reached.
 */
struct ferry_rules_err {
	char *buf;
	size_t cap;
	size_t len;
	unsigned n;
};

__attribute__((format(printf, 2, 3))) void ferry_rules_errf(struct ferry_rules_err *e,
							    const char *fmt, ...);

/*
 * Parse a rules file. 0 on success; -EINVAL (bad content, all errors in err, one per line),
 * -ENOENT/-EACCES/... (file unreadable) or -ENOMEM. rs is zeroed first and must be freed with
 * ferry_rules_free() whatever the result.
 */
int ferry_rules_load_file(const char *path, struct ferry_rules *rs, char *err, size_t errlen);

/* The same from memory; name is used in error messages and to resolve relative paths. */
int ferry_rules_load_buf(const char *name, const char *buf, size_t len, struct ferry_rules *rs,
			 char *err, size_t errlen);

/* Load a built-in pack ("pii-default") on its own, as if a file held only its rules. */
int ferry_rules_load_pack(const char *pack, struct ferry_rules *rs, char *err, size_t errlen);

/* A rules source as ferry's config names it: "pack:NAME" for a built-in pack, else a file. */
int ferry_rules_load_source(const char *source, struct ferry_rules *rs, char *err, size_t errlen);

/* Text of a built-in pack, NULL when unknown. */
const char *ferry_rules_pack_text(const char *pack, size_t *len);

void ferry_rules_free(struct ferry_rules *rs);

#endif
