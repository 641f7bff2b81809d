/*
 * fuzz_rules.c - libFuzzer harness for the policy rules parser (control/rules.c): the input is
 * a rules file. Nothing may crash, leak or read out of bounds; on success every rule must be
 * well formed (named, with patterns, an action, ids in order), and on failure the error text
 * must start with a FILE:LINE position.
 *
 * Hyperscan compilation is not run here: its cost on hostile patterns is Hyperscan's, and it
 * would turn the run into a compile benchmark. The compiler's error mapping is covered by
 * tests/unit/test_policy_rules.c.
 *
 * Single-threaded (libFuzzer calls in a loop). Seeds: corpus/rules/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/policy.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char err[4096];
	struct ferry_rules rs;
	int rc = ferry_rules_load_buf("fuzz.yaml", (const char *)data, size, &rs, err, sizeof(err));
	if (rc == 0) {
		for (size_t i = 0; i < rs.n_rules; i++) {
			const struct ferry_rules_rule *rr = &rs.rules[i];
			if (rr->r.id != i || rr->r.name[0] == '\0' || rr->n_patterns == 0 ||
			    rr->r.action <= FERRY_POLICY_ACT_PASS ||
			    rr->r.action >= FERRY_POLICY_ACT__COUNT ||
			    rr->r.n_headers > FERRY_POLICY_HEADERS_MAX) {
				fprintf(stderr, "accepted a malformed rule %zu\n", i);
				abort();
			}
		}
	} else if (rc == -22 /* EINVAL */ && strncmp(err, "fuzz.yaml:", 10) != 0 &&
		   strncmp(err, "builtin:", 8) != 0) {
		fprintf(stderr, "error without position: %s\n", err);
		abort();
	}
	ferry_rules_free(&rs);
	return 0;
}
