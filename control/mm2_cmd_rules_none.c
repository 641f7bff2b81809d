/*
 * mm2_cmd_rules_none.c - `ferryctl status` in a build without the policy compiler: topic
 * decisions are not available, which status says once and then shows as unknown. Main thread.
 */
#include <errno.h>
#include <stdio.h>

#include "ferryctl.h"

int
ferry_status_rules_open(const char *source, struct ferry_status_rules **out, char *err,
			size_t errlen)
{
	*out = NULL;
	snprintf(err, errlen, "rules %s: ferryctl was built without the policy engine (%s)", source,
		 FERRY_RULES_REASON);
	return -ENOTSUP;
}

const char *
ferry_status_rules_decide(struct ferry_status_rules *r, const char *topic)
{
	(void)r;
	(void)topic;
	return NULL;
}

void
ferry_status_rules_close(struct ferry_status_rules *r)
{
	(void)r;
}
