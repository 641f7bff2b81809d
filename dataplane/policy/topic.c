/*
 * topic.c - the topic-level policy decision (DESIGN §2 step 3) and loading of a snapshot's
 * serialised Hyperscan databases.
 *
 * ferry_policy_topic_decide() runs on any thread with that thread's own scratch; it is called
 * once per topic (the result is cached per partition), not per record. The load and scratch
 * helpers allocate and belong to set-up paths. Runtime headers only: hs_compile.h is the
 * control plane's (STYLE §11).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hs_runtime.h>

#include "ferry/policy.h"

/* Scan context: the snapshot and the output being filled. */
struct topic_scan {
	const struct ferry_policy_snapshot *snap;
	struct ferry_policy_topic_rules *out;
};

static int
topic_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	    void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	struct topic_scan *ts = ctx;
	if (id >= ts->snap->n_topic_ids)
		return 0; /* cannot happen with a consistent snapshot; ignore */
	const struct ferry_policy_topic_id *t = &ts->snap->topic_ids[id];
	switch (t->kind) {
	case FERRY_POLICY_TOPIC_ID_PERMIT: ts->out->permit_hit = true; break;
	case FERRY_POLICY_TOPIC_ID_DENY:
		ts->out->deny_hit = true;
		return 1; /* deny wins: nothing else can change the outcome */
	case FERRY_POLICY_TOPIC_ID_SELECT:
		if (t->rule < FERRY_POLICY_RULES_MAX)
			ts->out->rules[t->rule / 64] |= UINT64_C(1) << (t->rule % 64);
		break;
	}
	return 0;
}

enum ferry_policy_topic_decision
ferry_policy_topic_decide(const struct ferry_policy_snapshot *snap,
			  const struct hs_database *topic_db, struct hs_scratch *scratch,
			  const char *topic, size_t len, struct ferry_policy_topic_rules *out)
{
	memset(out, 0, sizeof(*out));
	if (topic_db != NULL) {
		struct topic_scan ts = { .snap = snap, .out = out };
		hs_error_t rc =
		    hs_scan(topic_db, topic, (unsigned int)len, 0, scratch, topic_match, &ts);
		if ((rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) || len > UINT32_MAX) {
			out->scan_error = true;
			return out->decision = FERRY_POLICY_TOPIC_DENY;
		}
	}
	if (out->deny_hit || (!out->permit_hit && !snap->default_permit)) {
		memset(out->rules, 0, sizeof(out->rules));
		return out->decision = FERRY_POLICY_TOPIC_DENY;
	}
	bool any = false;
	for (uint32_t i = 0; i < snap->n_rules && i < FERRY_POLICY_RULES_MAX; i++) {
		if (snap->rules[i].all_topics)
			out->rules[i / 64] |= UINT64_C(1) << (i % 64);
		if (out->rules[i / 64] & (UINT64_C(1) << (i % 64)))
			any = true;
	}
	return out->decision = any ? FERRY_POLICY_TOPIC_INSPECT : FERRY_POLICY_TOPIC_PERMIT;
}

int
ferry_policy_db_load(const char *bytes, size_t len, struct hs_database **db, char *err,
		     size_t errlen)
{
	*db = NULL;
	if (bytes == NULL || len == 0) {
		snprintf(err, errlen, "no database");
		return -EINVAL;
	}
	hs_error_t rc = hs_deserialize_database(bytes, len, db);
	if (rc != HS_SUCCESS) {
		snprintf(err, errlen, "hs_deserialize_database failed (%d)%s", rc,
			 rc == HS_DB_VERSION_ERROR    ? ": built by another Hyperscan version"
			 : rc == HS_DB_PLATFORM_ERROR ? ": built for another platform"
						      : "");
		return rc == HS_NOMEM ? -ENOMEM : -EINVAL;
	}
	return 0;
}

void
ferry_policy_db_free(struct hs_database *db)
{
	hs_free_database(db);
}

int
ferry_policy_scratch_alloc(const struct hs_database *db, struct hs_scratch **scratch)
{
	hs_error_t rc = hs_alloc_scratch(db, scratch);
	return rc == HS_SUCCESS ? 0 : rc == HS_NOMEM ? -ENOMEM : -EINVAL;
}

void
ferry_policy_scratch_free(struct hs_scratch *scratch)
{
	hs_free_scratch(scratch);
}

int
ferry_policy_topics_init(struct ferry_policy_topics *t, const struct ferry_policy_snapshot *snap,
			 char *err, size_t errlen)
{
	int rc;

	t->snap = snap;
	t->db = NULL;
	t->scratch = NULL;
	if (snap->topic_db == NULL)
		return 0;
	rc = ferry_policy_db_load(snap->topic_db, snap->topic_db_len, &t->db, err, errlen);
	if (rc == 0 && (rc = ferry_policy_scratch_alloc(t->db, &t->scratch)) != 0) {
		snprintf(err, errlen, "topic database scratch: %s", strerror(-rc));
		ferry_policy_db_free(t->db);
		t->db = NULL;
	}
	return rc;
}

void
ferry_policy_topics_fini(struct ferry_policy_topics *t)
{
	ferry_policy_scratch_free(t->scratch);
	ferry_policy_db_free(t->db);
	t->scratch = NULL;
	t->db = NULL;
}

enum ferry_policy_topic_decision
ferry_policy_topics_decide(struct ferry_policy_topics *t, const char *topic, size_t len,
			   struct ferry_policy_topic_rules *out)
{
	return ferry_policy_topic_decide(t->snap, t->db, t->scratch, topic, len, out);
}
