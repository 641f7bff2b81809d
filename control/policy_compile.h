/*
 * policy_compile.h - compile a parsed rules file (rules.h) into a struct
 * ferry_policy_snapshot: Hyperscan databases serialised for the dataplane, the rule array,
 * the topic id map and the tokenisation key.
 *
 * Control thread only (Hyperscan compilation is slow and allocates). The snapshot is the
 * caller's; free it with ferry_policy_snapshot_free().
 */
#ifndef FERRY_POLICY_COMPILE_H
#define FERRY_POLICY_COMPILE_H

#include "ferry/policy-t.h"
#include "rules.h"

/*
 * Check every pattern, then compile. 0, or -EINVAL with one "FILE:LINE: rule 'NAME': ..."
 * line per bad pattern in err (Hyperscan's own message, pattern index), or -ENOMEM.
 * snap is zeroed first and holds nothing on failure.
 */
int ferry_policy_compile(const struct ferry_rules *rs, struct ferry_policy_snapshot *snap,
			 char *err, size_t errlen);

/* Free what a snapshot owns and wipe its key. Safe on a zeroed snapshot. */
void ferry_policy_snapshot_free(struct ferry_policy_snapshot *snap);

/* Hyperscan flags used for a rule's record patterns (exposed for tests and reports). */
unsigned int ferry_policy_rule_hs_flags(const struct ferry_policy_rule *r);

#endif
