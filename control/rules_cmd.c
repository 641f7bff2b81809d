/*
 * rules_cmd.c - `ferryctl rules check FILE | --pack NAME`: parse and compile a policy rules
 * file exactly as the gateway would, print one line per rule and the database sizes, or the
 * FILE:LINE errors and exit 1. Main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/policy.h"
#include "ferryctl.h"
#include "policy_compile.h"
#include "rules.h"

#define ERR_MAX (16u << 10)

static void
rules_usage(FILE *f)
{
	fprintf(f, "usage: ferryctl rules check FILE\n"
		   "       ferryctl rules check --pack NAME   (built-in: pii-default)\n");
}

static void
format_where(const struct ferry_policy_rule *r, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
#define ADD(...)                                                                                   \
	do {                                                                                       \
		int w_ = snprintf(buf + o, len - o, "%s", o ? "," : "");                           \
		o += (w_ > 0 && (size_t)w_ < len - o) ? (size_t)w_ : 0;                            \
		w_ = snprintf(buf + o, len - o, __VA_ARGS__);                                      \
		o += (w_ > 0 && (size_t)w_ < len - o) ? (size_t)w_ : 0;                            \
	} while (0)
	if ((r->where & FERRY_POLICY_WHERE_ALL) == FERRY_POLICY_WHERE_ALL) {
		ADD("all");
	} else {
		if (r->where & FERRY_POLICY_WHERE_KEY)
			ADD("key");
		if (r->where & FERRY_POLICY_WHERE_VALUE)
			ADD("value");
		if (r->where & FERRY_POLICY_WHERE_ALL_HEADERS)
			ADD("headers");
	}
	if (r->where & FERRY_POLICY_WHERE_HEADER)
		for (uint32_t i = 0; i < r->n_headers; i++)
			ADD("header:%s", r->headers[i]);
#undef ADD
}

static int
rules_check(const char *file, const char *pack)
{
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	char *err = malloc(ERR_MAX);
	int rc, status = 1;

	if (err == NULL) {
		fprintf(stderr, "ferryctl rules: out of memory\n");
		return 1;
	}
	rc = pack ? ferry_rules_load_pack(pack, &rs, err, ERR_MAX)
		  : ferry_rules_load_file(file, &rs, err, ERR_MAX);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		goto out_free_rules;
	}
	rc = ferry_policy_compile(&rs, &snap, err, ERR_MAX);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		goto out_free_rules;
	}

	printf("%s: ok: %u rules, %u record patterns\n", pack ? pack : file, snap.n_rules,
	       snap.n_patterns);
	printf("topics: %u permit, %u deny, %u rule selectors, default %s\n", snap.n_topic_permit,
	       snap.n_topic_deny, snap.n_topic_ids - snap.n_topic_permit - snap.n_topic_deny,
	       snap.default_permit ? "permit" : "deny");
	if (rs.key_file)
		printf("tokenise key: %s (%u bytes)\n", rs.key_file, snap.token_key_len);
	printf("  %-3s %-24s %-10s %-9s %-4s %-4s %-20s %s\n", "id", "rule", "action", "validator",
	       "pats", "som", "where", "topics");
	for (uint32_t i = 0; i < snap.n_rules; i++) {
		const struct ferry_policy_rule *r = &snap.rules[i];
		char where[256];
		format_where(r, where, sizeof(where));
		printf("  %-3u %-24s %-10s %-9s %-4u %-4s %-20s %s\n", r->id, r->name,
		       ferry_policy_action_name(r->action),
		       ferry_policy_validator_name(r->validator), r->n_patterns,
		       r->som ? "yes" : "no", where, r->all_topics ? "all inspected" : "selected");
	}
	printf("record db: %zu bytes (serialized %zu bytes)\n", snap.record_db_size,
	       snap.record_db_len);
	printf("topic db: %zu bytes (serialized %zu bytes)\n", snap.topic_db_size,
	       snap.topic_db_len);
	status = 0;
	ferry_policy_snapshot_free(&snap);
out_free_rules:
	ferry_rules_free(&rs);
	free(err);
	return status;
}

int
ferryctl_rules(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		rules_usage(stdout);
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "check") != 0) {
		rules_usage(stderr);
		return 2;
	}
	if (strcmp(argv[2], "--pack") == 0) {
		if (argc != 4) {
			rules_usage(stderr);
			return 2;
		}
		return rules_check(NULL, argv[3]);
	}
	if (argc != 3) {
		rules_usage(stderr);
		return 2;
	}
	return rules_check(argv[2], NULL);
}
