/*
 * mm2_cmd_rules.c - the topic decisions of a flow's rules for `ferryctl status` (which topics
 * never leave the source), compiled exactly as ferryd and `ferryctl verify` do
 * (ferry_rules_load_source + ferry_policy_compile + ferry_policy_topics). Meson picks
 * mm2_cmd_rules_none.c instead when the policy compiler is not built.
 *
 * Main thread of ferryctl only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/policy.h"
#include "ferryctl.h"
#include "policy_compile.h"
#include "rules.h"

struct ferry_status_rules {
	struct ferry_policy_snapshot snap;
	struct ferry_policy_topics topics;
};

int
ferry_status_rules_open(const char *source, struct ferry_status_rules **out, char *err,
			size_t errlen)
{
	struct ferry_status_rules *r;
	struct ferry_rules rs;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ferry_errf(-ENOMEM, err, errlen, "out of memory");
	rc = ferry_rules_load_source(source, &rs, err, errlen);
	if (rc == 0)
		rc = ferry_policy_compile(&rs, &r->snap, err, errlen);
	ferry_rules_free(&rs);
	if (rc != 0)
		goto out_free;
	if ((rc = ferry_policy_topics_init(&r->topics, &r->snap, err, errlen)) != 0)
		goto out_free_snap;
	*out = r;
	return 0;

out_free_snap:
	ferry_policy_snapshot_free(&r->snap);
out_free:
	free(r);
	return rc;
}

const char *
ferry_status_rules_decide(struct ferry_status_rules *r, const char *topic)
{
	struct ferry_policy_topic_rules tr;

	switch (ferry_policy_topics_decide(&r->topics, topic, strlen(topic), &tr)) {
	case FERRY_POLICY_TOPIC_DENY: return "deny";
	case FERRY_POLICY_TOPIC_INSPECT: return "inspect";
	case FERRY_POLICY_TOPIC_PERMIT: break;
	}
	return "permit";
}

void
ferry_status_rules_close(struct ferry_status_rules *r)
{
	if (r == NULL)
		return;
	ferry_policy_topics_fini(&r->topics);
	ferry_policy_snapshot_free(&r->snap);
	free(r);
}
