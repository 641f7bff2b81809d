/*
 * policy_reload.h - load a rules file (or built-in pack) and publish it to the workers, the
 * way ferryd does at start-up, on SIGHUP and on `ferryctl rules reload`.
 *
 * Control thread only. The workers never wait: they read the publication point once per
 * burst (ferry_policy_current) and hold no lock. A file that does not parse or compile is
 * reported and the policy in force stays in force.
 */
#ifndef FERRY_POLICY_RELOAD_H
#define FERRY_POLICY_RELOAD_H

#include "ferry/policy.h"

/*
 * Parse and compile `source` (a path, or "pack:NAME" for a built-in pack), load it and
 * publish it on pub. On success returns 0 and puts the policy it replaced in *old (NULL the
 * first time): free it with ferry_policy_rt_free() only after every worker has passed a
 * quiescent state (rte_rcu_qsbr_synchronize() in the dataplane). On failure returns -errno
 * with every problem in err (FILE:LINE: ... lines), publishes nothing and sets *old = NULL.
 */
int ferry_policy_reload(struct ferry_policy_pub *pub, const char *source,
			struct ferry_policy_rt **old, char *err, size_t errlen);

#endif
