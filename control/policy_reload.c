/*
 * policy_reload.c - rules file -> compiled snapshot -> loaded policy -> published, or nothing
 * published and the reason in err (DESIGN §7: on reload the old rules stay in force).
 *
 * Control thread only; allocates. Everything that can fail (YAML, regexes, key file,
 * Hyperscan compile, database load) happens before the one atomic store that publishes, so
 * a worker sees either the old policy or the complete new one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy_compile.h"
#include "policy_reload.h"
#include "rules.h"

int
ferry_policy_reload(struct ferry_policy_pub *pub, const char *source,
		    struct ferry_policy_rt **old, char *err, size_t errlen)
{
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	int rc;

	*old = NULL;
	rc = ferry_rules_load_source(source, &rs, err, errlen);
	if (rc != 0)
		return rc;
	rc = ferry_policy_compile(&rs, &snap, err, errlen);
	ferry_rules_free(&rs);
	if (rc != 0)
		return rc;
	struct ferry_policy_rt *rt = ferry_policy_rt_new(&snap, err, errlen);
	rc = rt == NULL ? -errno : 0;
	ferry_policy_snapshot_free(&snap);
	if (rt == NULL)
		return rc != 0 ? rc : -EINVAL;
	*old = ferry_policy_publish(pub, rt);
	return 0;
}
