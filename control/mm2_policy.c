/*
 * mm2_policy.c - MirrorMaker 2's naming and selection rules: DefaultReplicationPolicy and
 * IdentityReplicationPolicy (remote names, topicSource/upstreamTopic/originalTopic, internal
 * topic names and tests), MirrorSourceConnector's cycle check and shouldReplicateTopic, the
 * Default topic/group filters (regex lists, whole-name match), and ferry's provenance set
 * that gives the Identity policy the loop prevention its names cannot carry.
 *
 * Control thread builds filters and provenance sets; once built they are read-only and any
 * thread may match against them (PCRE2 match data is allocated per call).
 * Sources read: Kafka's connect/mirror-client ReplicationPolicy.java,
 * DefaultReplicationPolicy.java, IdentityReplicationPolicy.java, and connect/mirror
 * MirrorSourceConnector.java, DefaultTopicFilter.java (kafka-wire-facts §6.1).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "ferry/mm2.h"

#define HEARTBEATS "heartbeats"

static int
copy_out(char *out, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		return -ENAMETOOLONG;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int
ferry_mm2_policy_kind_parse(const char *class_name, enum ferry_mm2_policy_kind *kind)
{
	/* The simple class name is enough: MM2 users write the full name, docs the short one. */
	const char *dot = class_name ? strrchr(class_name, '.') : NULL;
	const char *simple = dot ? dot + 1 : class_name;
	if (simple == NULL || strcmp(simple, "DefaultReplicationPolicy") == 0)
		*kind = FERRY_MM2_POLICY_DEFAULT;
	else if (strcmp(simple, "IdentityReplicationPolicy") == 0)
		*kind = FERRY_MM2_POLICY_IDENTITY;
	else
		return -EINVAL;
	return 0;
}

int
ferry_mm2_policy_init(struct ferry_mm2_policy *p, enum ferry_mm2_policy_kind kind,
		      const char *separator, bool internal_sep, const char *source_alias)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	if (separator == NULL)
		separator = ".";
	if (separator[0] == '\0' ||
	    copy_out(p->separator, sizeof(p->separator), separator, strlen(separator)) < 0)
		return -EINVAL;
	/* KIP-949: internal topics use the custom separator unless switched off. */
	snprintf(p->internal_separator, sizeof(p->internal_separator), "%s",
		 internal_sep ? p->separator : ".");
	if (source_alias && copy_out(p->source_alias, sizeof(p->source_alias), source_alias,
				     strlen(source_alias)) < 0)
		return -EINVAL;
	return 0;
}

/* ---- DefaultReplicationPolicy ---------------------------------------------------------- */

static int
default_remote(const struct ferry_mm2_policy *p, const char *source, const char *topic, char *out,
	       size_t cap)
{
	int n = snprintf(out, cap, "%s%s%s", source, p->separator, topic);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/*
 * topic.split(Pattern.quote(separator)): Java drops trailing empty pieces, so there are at
 * least two pieces exactly when some non-empty text follows the first separator once any
 * run of separators is skipped. The source is the first piece (possibly "").
 */
static int
default_source(const struct ferry_mm2_policy *p, const char *topic, char *out, size_t cap)
{
	size_t sl = strlen(p->separator);
	const char *first = strstr(topic, p->separator);
	if (first == NULL)
		return 0;
	const char *rest = first + sl;
	while (strncmp(rest, p->separator, sl) == 0)
		rest += sl;
	if (*rest == '\0')
		return 0;
	int rc = copy_out(out, cap, topic, (size_t)(first - topic));
	return rc < 0 ? rc : 1;
}

static int
default_upstream(const struct ferry_mm2_policy *p, const char *topic, char *out, size_t cap)
{
	char src[FERRY_MM2_TOPIC_MAX + 1];
	int rc = default_source(p, topic, src, sizeof(src));
	if (rc <= 0)
		return rc;
	const char *up = topic + strlen(src) + strlen(p->separator);
	rc = copy_out(out, cap, up, strlen(up));
	return rc < 0 ? rc : 1;
}

/* IdentityReplicationPolicy.looksLikeHeartbeat: endsWith("heartbeats"), a known quirk. */
static bool
looks_like_heartbeat(const char *topic)
{
	return ends_with(topic, HEARTBEATS);
}

int
ferry_mm2_remote_topic(const struct ferry_mm2_policy *p, const char *source_alias,
		       const char *topic, char *out, size_t cap)
{
	if (p->kind == FERRY_MM2_POLICY_IDENTITY && !looks_like_heartbeat(topic))
		return copy_out(out, cap, topic, strlen(topic));
	return default_remote(p, source_alias, topic, out, cap);
}

int
ferry_mm2_topic_source(const struct ferry_mm2_policy *p, const char *topic, char *out, size_t cap)
{
	if (p->kind == FERRY_MM2_POLICY_IDENTITY && !looks_like_heartbeat(topic)) {
		/* Identity answers the configured source alias, null when unset. */
		if (p->source_alias[0] == '\0')
			return 0;
		int rc = copy_out(out, cap, p->source_alias, strlen(p->source_alias));
		return rc < 0 ? rc : 1;
	}
	return default_source(p, topic, out, cap);
}

int
ferry_mm2_upstream_topic(const struct ferry_mm2_policy *p, const char *topic, char *out, size_t cap)
{
	if (p->kind == FERRY_MM2_POLICY_IDENTITY && !looks_like_heartbeat(topic)) {
		int rc = copy_out(out, cap, topic, strlen(topic));
		return rc < 0 ? rc : 1;
	}
	return default_upstream(p, topic, out, cap);
}

int
ferry_mm2_original_topic(const struct ferry_mm2_policy *p, const char *topic, char *out, size_t cap)
{
	char cur[FERRY_MM2_TOPIC_MAX + 1], up[FERRY_MM2_TOPIC_MAX + 1];
	int rc = copy_out(cur, sizeof(cur), topic, strlen(topic));
	if (rc < 0)
		return rc;
	/* Each hop strips at least one byte, so this ends; bounded anyway. */
	for (int hop = 0; hop < FERRY_MM2_TOPIC_MAX; hop++) {
		rc = ferry_mm2_upstream_topic(p, cur, up, sizeof(up));
		if (rc < 0)
			return rc;
		if (rc == 0 || strcmp(up, cur) == 0)
			break;
		memcpy(cur, up, strlen(up) + 1);
	}
	return copy_out(out, cap, cur, strlen(cur));
}

const char *
ferry_mm2_heartbeats_topic(const struct ferry_mm2_policy *p)
{
	(void)p;
	return HEARTBEATS;
}

bool
ferry_mm2_is_heartbeats_topic(const struct ferry_mm2_policy *p, const char *topic)
{
	char orig[FERRY_MM2_TOPIC_MAX + 1];
	if (ferry_mm2_original_topic(p, topic, orig, sizeof(orig)) < 0)
		return false;
	return strcmp(orig, HEARTBEATS) == 0;
}

int
ferry_mm2_offset_syncs_topic(const struct ferry_mm2_policy *p, const char *alias, char *out,
			     size_t cap)
{
	const char *s = p->internal_separator;
	int n = snprintf(out, cap, "mm2-offset-syncs%s%s%sinternal", s, alias, s);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int
ferry_mm2_checkpoints_topic(const struct ferry_mm2_policy *p, const char *alias, char *out,
			    size_t cap)
{
	const char *s = p->internal_separator;
	int n = snprintf(out, cap, "%s%scheckpoints%sinternal", alias, s, s);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

bool
ferry_mm2_is_mm2_internal_topic(const struct ferry_mm2_policy *p, const char *topic)
{
	char suffix[80];
	snprintf(suffix, sizeof(suffix), "%sinternal", p->internal_separator);
	return ends_with(topic, suffix);
}

bool
ferry_mm2_is_checkpoints_topic(const struct ferry_mm2_policy *p, const char *topic)
{
	char suffix[160];
	snprintf(suffix, sizeof(suffix), "%scheckpoints%sinternal", p->internal_separator,
		 p->internal_separator);
	return ends_with(topic, suffix);
}

bool
ferry_mm2_is_internal_topic(const struct ferry_mm2_policy *p, const char *topic)
{
	bool kafka_internal = strncmp(topic, "__", 2) == 0 || topic[0] == '.';
	bool connect_internal = ends_with(topic, "-internal") || ends_with(topic, ".internal");
	return ferry_mm2_is_mm2_internal_topic(p, topic) || kafka_internal || connect_internal;
}

bool
ferry_mm2_is_cycle(const struct ferry_mm2_policy *p, const char *topic, const char *target,
		   const struct ferry_mm2_provenance *prov)
{
	char cur[FERRY_MM2_TOPIC_MAX + 1], src[FERRY_MM2_TOPIC_MAX + 1],
	    up[FERRY_MM2_TOPIC_MAX + 1];
	if (strlen(topic) >= sizeof(cur))
		return false;
	memcpy(cur, topic, strlen(topic) + 1);
	for (int hop = 0; hop < FERRY_MM2_TOPIC_MAX; hop++) {
		/*
		 * Provenance first: under Identity a replica looks exactly like a local topic,
		 * so the name alone never says it came from the target. ferry knows which
		 * topics it wrote into this cluster and from where.
		 */
		const char *origin = prov ? ferry_mm2_provenance_origin(prov, cur) : NULL;
		if (origin != NULL && strcmp(origin, target) == 0)
			return true;
		int rc = ferry_mm2_topic_source(p, cur, src, sizeof(src));
		if (rc <= 0)
			return false;
		if (strcmp(src, target) == 0)
			return true;
		rc = ferry_mm2_upstream_topic(p, cur, up, sizeof(up));
		/* MM2's "extra check for IdentityReplicationPolicy": the chain ends here. */
		if (rc <= 0 || strcmp(up, cur) == 0)
			return false;
		memcpy(cur, up, strlen(up) + 1);
	}
	return false;
}

bool
ferry_mm2_should_replicate(const struct ferry_mm2_policy *p, const struct ferry_mm2_filter *topics,
			   bool heartbeats_replication, const char *topic, const char *target,
			   const struct ferry_mm2_provenance *prov)
{
	bool selected = ferry_mm2_filter_match(topics, topic) ||
			(heartbeats_replication && ferry_mm2_is_heartbeats_topic(p, topic));
	return selected && !ferry_mm2_is_internal_topic(p, topic) &&
	       !ferry_mm2_is_cycle(p, topic, target, prov);
}

/* ---- filters (DefaultTopicFilter / DefaultGroupFilter) --------------------------------- */

struct ferry_mm2_filter {
	pcre2_code *include; /* NULL: matches nothing */
	pcre2_code *exclude; /* NULL: excludes nothing */
	char **literals;
	size_t n_literals;
};

/*
 * MM2 joins the list with '|' and calls Matcher.matches(): the whole name must match one
 * alternative. PCRE2_ANCHORED | PCRE2_ENDANCHORED gives the same whole-subject match.
 */
static pcre2_code *
compile_list(const char *const *items, size_t n, const char *what, char *err, size_t errlen,
	     bool *failed)
{
	*failed = false;
	if (n == 0)
		return NULL;
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(items[i]) + 1;
	char *joined = malloc(len);
	if (joined == NULL) {
		snprintf(err, errlen, "out of memory");
		*failed = true;
		return NULL;
	}
	joined[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(joined, "|");
		strcat(joined, items[i]);
	}
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)joined, PCRE2_ZERO_TERMINATED,
				       PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ec, &off, NULL);
	if (re == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "%s regex '%s' does not compile: %s at offset %zu", what,
			 joined, (const char *)msg, (size_t)off);
		*failed = true;
	}
	free(joined);
	return re;
}

static bool
is_literal(const char *s)
{
	return s[0] != '\0' && strpbrk(s, "\\^$.|?*+()[]{}") == NULL;
}

struct ferry_mm2_filter *
ferry_mm2_filter_new(const char *const *include, size_t n_include, const char *const *exclude,
		     size_t n_exclude, char *err, size_t errlen)
{
	bool failed;
	struct ferry_mm2_filter *f = calloc(1, sizeof(*f));
	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->include = compile_list(include, n_include, "include", err, errlen, &failed);
	if (failed)
		goto out_free_filter;
	f->exclude = compile_list(exclude, n_exclude, "exclude", err, errlen, &failed);
	if (failed)
		goto out_free_include;
	f->literals = calloc(n_include ? n_include : 1, sizeof(char *));
	if (f->literals == NULL)
		goto out_free_exclude;
	for (size_t i = 0; i < n_include; i++) {
		if (!is_literal(include[i]))
			continue;
		if ((f->literals[f->n_literals] = strdup(include[i])) == NULL)
			goto out_free_literals;
		f->n_literals++;
	}
	return f;

out_free_literals:
	for (size_t i = 0; i < f->n_literals; i++)
		free(f->literals[i]);
	free(f->literals);
	snprintf(err, errlen, "out of memory");
out_free_exclude:
	pcre2_code_free(f->exclude);
out_free_include:
	pcre2_code_free(f->include);
out_free_filter:
	free(f);
	return NULL;
}

void
ferry_mm2_filter_free(struct ferry_mm2_filter *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n_literals; i++)
		free(f->literals[i]);
	free(f->literals);
	pcre2_code_free(f->include);
	pcre2_code_free(f->exclude);
	free(f);
}

static bool
re_matches(const pcre2_code *re, const char *name)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	if (md == NULL)
		return false;
	int rc = pcre2_match(re, (PCRE2_SPTR)name, strlen(name), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

bool
ferry_mm2_filter_match(const struct ferry_mm2_filter *f, const char *name)
{
	if (f == NULL || f->include == NULL)
		return false;
	if (!re_matches(f->include, name))
		return false;
	return f->exclude == NULL || !re_matches(f->exclude, name);
}

size_t
ferry_mm2_filter_literals(const struct ferry_mm2_filter *f, const char *const **names)
{
	*names = (const char *const *)f->literals;
	return f->n_literals;
}

/* ---- provenance ------------------------------------------------------------------------ */

struct ferry_mm2_prov_entry {
	char *topic;
	char *origin;
};

struct ferry_mm2_provenance {
	struct ferry_mm2_prov_entry *e;
	size_t n, cap;
};

struct ferry_mm2_provenance *
ferry_mm2_provenance_new(void)
{
	return calloc(1, sizeof(struct ferry_mm2_provenance));
}

void
ferry_mm2_provenance_free(struct ferry_mm2_provenance *pv)
{
	if (pv == NULL)
		return;
	for (size_t i = 0; i < pv->n; i++) {
		free(pv->e[i].topic);
		free(pv->e[i].origin);
	}
	free(pv->e);
	free(pv);
}

int
ferry_mm2_provenance_add(struct ferry_mm2_provenance *pv, const char *topic, const char *origin)
{
	const char *known = ferry_mm2_provenance_origin(pv, topic);
	if (known != NULL)
		return strcmp(known, origin) == 0 ? 0 : -EEXIST;
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 16;
		struct ferry_mm2_prov_entry *e = realloc(pv->e, cap * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		pv->e = e;
		pv->cap = cap;
	}
	char *t = strdup(topic), *o = strdup(origin);
	if (t == NULL || o == NULL) {
		free(t);
		free(o);
		return -ENOMEM;
	}
	pv->e[pv->n++] = (struct ferry_mm2_prov_entry){ t, o };
	return 0;
}

const char *
ferry_mm2_provenance_origin(const struct ferry_mm2_provenance *pv, const char *topic)
{
	/* A handful of topics per cluster pair: a linear scan is clearer than a hash here. */
	for (size_t i = 0; pv && i < pv->n; i++)
		if (strcmp(pv->e[i].topic, topic) == 0)
			return pv->e[i].origin;
	return NULL;
}
