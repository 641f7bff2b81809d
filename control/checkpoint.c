/*
 * checkpoint.c - MM2 checkpoints (MirrorCheckpointTask's job): for consumer groups passing the
 * flow's `groups` filter, translate their committed source offsets exactly through the
 * offset-sync map, write MM2-format checkpoints to <source>.checkpoints.internal on the
 * target, and with sync.group.offsets.enabled commit the translated offsets for groups that
 * are not active on the target. Also reads checkpoints back (RemoteClusterUtils's way).
 *
 * Control thread only; one round per emit.checkpoints.interval.seconds, driven by the
 * caller's loop. Owns the last-checkpoint state it is given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "mm2.h"

/* ---- lists ----------------------------------------------------------------------------- */

void
ferry_ckpt_list_free(struct ferry_ckpt_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->c[i].metadata);
	free(l->c);
	memset(l, 0, sizeof(*l));
}

static struct ferry_ckpt *
list_push(struct ferry_ckpt_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ferry_ckpt *c = realloc(l->c, cap * sizeof(*c));
		if (c == NULL)
			return NULL;
		l->c = c;
		l->cap = cap;
	}
	struct ferry_ckpt *c = &l->c[l->n];
	memset(c, 0, sizeof(*c));
	return c;
}

/* ---- last checkpoint per (group, topic, partition) ------------------------------------- */

struct ckpt_last {
	char *key; /* group \0 topic, then the partition compared apart */
	size_t key_len;
	int32_t partition;
	int64_t upstream, downstream;
};

struct ferry_ckpt_state {
	struct ckpt_last *e;
	size_t n, cap;
};

struct ferry_ckpt_state *
ferry_ckpt_state_new(void)
{
	return calloc(1, sizeof(struct ferry_ckpt_state));
}

void
ferry_ckpt_state_free(struct ferry_ckpt_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n; i++)
		free(st->e[i].key);
	free(st->e);
	free(st);
}

static struct ckpt_last *
state_find(struct ferry_ckpt_state *st, const char *group, const char *topic, int32_t partition,
	   bool create)
{
	size_t gl = strlen(group), tl = strlen(topic);
	for (size_t i = 0; i < st->n; i++)
		if (st->e[i].partition == partition && st->e[i].key_len == gl + 1 + tl &&
		    memcmp(st->e[i].key, group, gl + 1) == 0 &&
		    memcmp(st->e[i].key + gl + 1, topic, tl) == 0)
			return &st->e[i];
	if (!create)
		return NULL;
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 32;
		struct ckpt_last *e = realloc(st->e, cap * sizeof(*e));
		if (e == NULL)
			return NULL;
		st->e = e;
		st->cap = cap;
	}
	char *key = malloc(gl + 1 + tl + 1);
	if (key == NULL)
		return NULL;
	memcpy(key, group, gl + 1);
	memcpy(key + gl + 1, topic, tl + 1);
	st->e[st->n] = (struct ckpt_last){ key, gl + 1 + tl, partition, -1, -1 };
	return &st->e[st->n++];
}

/* ---- translate ------------------------------------------------------------------------- */

int
ferry_ckpt_translate(const struct ferry_mm2_flow *f, const struct ferry_osync_store *s,
		     struct ferry_ckpt_state *st, const char *group,
		     const struct ferry_group_offset *o, size_t n, struct ferry_ckpt_list *out,
		     size_t *skipped, char *err, size_t errlen)
{
	size_t skip = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t down;
		enum ferry_xlate how;
		/* MirrorCheckpointTask: only partitions of topics the flow replicates. */
		if (o[i].offset < 0 || !ferry_mm2_filter_match(f->topics, o[i].topic)) {
			skip++;
			continue;
		}
		if (ferry_osync_translate(s, o[i].topic, o[i].partition, o[i].offset, &down, &how) <
		    0) {
			skip++;
			continue;
		}
		struct ferry_ckpt *c = list_push(out);
		if (c == NULL)
			goto out_nomem;
		if (ferry_mm2_remote_topic(&f->policy, f->source, o[i].topic, c->topic,
					   sizeof(c->topic)) < 0 ||
		    strlen(group) >= sizeof(c->group)) {
			skip++;
			continue;
		}
		snprintf(c->group, sizeof(c->group), "%s", group);
		c->partition = o[i].partition;
		c->upstream = o[i].offset;
		c->downstream = down;
		c->how = how;
		if (st) {
			struct ckpt_last *last =
			    state_find(st, group, c->topic, c->partition, true);
			if (last == NULL)
				goto out_nomem;
			/* MM2 emits a checkpoint only when it moves the group forward on the
			 * target, or when the upstream group rewound. */
			bool newer = last->downstream < 0 || down > last->downstream ||
				     c->upstream < last->upstream;
			if (!newer)
				continue;
			last->upstream = c->upstream;
			last->downstream = down;
		}
		if ((c->metadata = strdup(o[i].metadata ? o[i].metadata : "")) == NULL)
			goto out_nomem;
		out->n++;
	}
	if (skipped)
		*skipped = skip;
	return 0;

out_nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* ---- write / read ---------------------------------------------------------------------- */

int
ferry_ckpt_write(struct ferry_mm2_flow *f, const struct ferry_ckpt_list *l, char *err,
		 size_t errlen)
{
	if (l->n == 0)
		return 0;
	struct ferry_mm2_rec *recs = calloc(l->n, sizeof(*recs));
	uint8_t **bufs = calloc(l->n, sizeof(*bufs));
	int rc = -ENOMEM;
	if (recs == NULL || bufs == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct ferry_ckpt *c = &l->c[i];
		struct ferry_mm2_checkpoint cp = {
			.consumerGroupId = ferry_mm2_str(c->group),
			.topic = ferry_mm2_str(c->topic),
			.partition = c->partition,
			.upstreamOffset = c->upstream,
			.offset = c->downstream,
			.metadata = ferry_mm2_str(c->metadata ? c->metadata : ""),
		};
		size_t kl = ferry_mm2_checkpoint_key_size(&cp),
		       vl = ferry_mm2_checkpoint_value_size(&cp);
		if ((bufs[i] = malloc(kl + vl)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
		struct ferry_wr k, v;
		ferry_wr_init(&k, bufs[i], kl);
		ferry_wr_init(&v, bufs[i] + kl, vl);
		int erc = ferry_mm2_checkpoint_encode(&cp, &k, &v);
		if (erc != 0) {
			snprintf(err, errlen, "checkpoint for group %s %s/%d: %s", c->group,
				 c->topic, c->partition, ferry_err_desc(erc));
			rc = -EINVAL;
			goto out_free;
		}
		recs[i] = (struct ferry_mm2_rec){ k.p, k.len, v.p, v.len, 0, 0 };
	}
	rc = ferry_mm2_produce(f, f->target, f->checkpoints_topic, 0, recs, l->n, err, errlen);
out_free:
	for (size_t i = 0; bufs && i < l->n; i++)
		free(bufs[i]);
	free(bufs);
	free(recs);
	return rc;
}

struct ckpt_load {
	const char *group;
	struct ferry_ckpt_list *out;
	size_t bad;
	int rc;
};

static bool
span_eq(struct ferry_span s, const char *c)
{
	return s.len == strlen(c) && memcmp(s.p, c, s.len) == 0;
}

static int
ckpt_load_cb(void *arg, const struct ferry_mm2_rec *r)
{
	struct ckpt_load *cl = arg;
	struct ferry_mm2_checkpoint cp;
	if (ferry_mm2_checkpoint_decode((struct ferry_span){ r->key, r->key_len },
					(struct ferry_span){ r->value, r->value_len }, &cp) != 0 ||
	    cp.consumerGroupId.len >= sizeof(cl->out->c[0].group) ||
	    cp.topic.len > FERRY_MM2_TOPIC_MAX) {
		cl->bad++; /* RemoteClusterUtils skips what it cannot parse */
		return 0;
	}
	if (cl->group && !span_eq(cp.consumerGroupId, cl->group))
		return 0;
	/* Keep the newest per (group, topic, partition): a later record replaces. */
	struct ferry_ckpt *c = NULL;
	for (size_t i = 0; i < cl->out->n; i++) {
		struct ferry_ckpt *x = &cl->out->c[i];
		if (x->partition == cp.partition && span_eq(cp.consumerGroupId, x->group) &&
		    span_eq(cp.topic, x->topic)) {
			c = x;
			free(c->metadata);
			break;
		}
	}
	if (c == NULL) {
		if ((c = list_push(cl->out)) == NULL)
			goto out_nomem;
		cl->out->n++;
	}
	memcpy(c->group, cp.consumerGroupId.p, cp.consumerGroupId.len);
	c->group[cp.consumerGroupId.len] = '\0';
	memcpy(c->topic, cp.topic.p, cp.topic.len);
	c->topic[cp.topic.len] = '\0';
	c->partition = cp.partition;
	c->upstream = cp.upstreamOffset;
	c->downstream = cp.offset;
	c->how = FERRY_XLATE_EXACT;
	if ((c->metadata = strndup((const char *)cp.metadata.p, cp.metadata.len)) == NULL)
		goto out_nomem;
	return 0;

out_nomem:
	cl->rc = -ENOMEM;
	return 1;
}

int
ferry_ckpt_load(struct ferry_mm2_flow *f, const char *group, struct ferry_ckpt_list *out,
		size_t *bad, char *err, size_t errlen)
{
	struct ckpt_load cl = { .group = group, .out = out };
	int rc = ferry_mm2_read(f, f->target, f->checkpoints_topic, 0, -1, ckpt_load_cb, &cl, NULL,
				err, errlen);
	if (rc == 0 && cl.rc < 0) {
		snprintf(err, errlen, "out of memory");
		rc = cl.rc;
	}
	if (bad)
		*bad = cl.bad;
	return rc;
}

/* ---- one round ------------------------------------------------------------------------- */

static bool
in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int
ferry_ckpt_round(struct ferry_mm2_flow *f, const struct ferry_osync_store *s,
		 struct ferry_ckpt_state *st, const char *const *extra_groups, size_t n_extra,
		 struct ferry_ckpt_round *res, char *err, size_t errlen)
{
	char **groups = NULL;
	size_t ng = 0;
	struct ferry_mm2_topic *topics = NULL;
	size_t nt = 0;
	int rc;
	memset(res, 0, sizeof(*res));
	if ((rc = ferry_mm2_groups_list(f, f->source, &groups, &ng, err, errlen)) < 0)
		return rc;
	/* Extra names (operator-given, or known from earlier rounds) join the list. */
	for (size_t i = 0; i < n_extra; i++) {
		if (!ferry_mm2_filter_match(f->groups, extra_groups[i]) ||
		    in_list(groups, ng, extra_groups[i]))
			continue;
		char **v = realloc(groups, (ng + 1) * sizeof(char *));
		if (v == NULL || (v[ng] = strdup(extra_groups[i])) == NULL) {
			groups = v ? v : groups;
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out_free_groups;
		}
		groups = v;
		ng++;
	}
	if ((rc = ferry_mm2_topics_list(f, NULL, &topics, &nt, err, errlen)) < 0)
		goto out_free_groups;

	for (size_t g = 0; g < ng; g++) {
		struct ferry_group_offsets go;
		struct ferry_ckpt_list l = { 0 };
		size_t skipped = 0;
		res->groups++;
		if ((rc = ferry_mm2_group_offsets_fetch(f, f->source, groups[g], topics, nt, false,
							&go, err, errlen)) < 0)
			goto out_free_topics;
		rc = ferry_ckpt_translate(f, s, st, groups[g], go.o, go.n, &l, &skipped, err,
					  errlen);
		ferry_group_offsets_free(&go);
		res->skipped += skipped;
		if (rc == 0)
			rc = ferry_ckpt_write(f, &l, err, errlen);
		if (rc == 0)
			res->checkpoints += l.n;
		if (rc == 0 && f->sync_group_offsets && l.n) {
			struct ferry_group_offset *o = calloc(l.n, sizeof(*o));
			size_t done = 0;
			if (o == NULL) {
				rc = -ENOMEM;
			} else {
				for (size_t i = 0; i < l.n; i++)
					o[i] = (struct ferry_group_offset){ l.c[i].topic,
									    l.c[i].partition,
									    l.c[i].downstream,
									    l.c[i].metadata };
				char serr[512];
				int src = ferry_mm2_group_commit(f, f->target, groups[g], o, l.n,
								 true, &done, serr, sizeof(serr));
				if (src == -EBUSY)
					res->groups_active++; /* MM2 skips active groups quietly */
				else if (src < 0)
					ferry_mm2_warn(f, "%s->%s: group offset sync: %s",
						       f->source, f->target, serr);
				res->synced += done;
				free(o);
			}
		}
		ferry_ckpt_list_free(&l);
		if (rc < 0)
			goto out_free_topics;
	}
out_free_topics:
	ferry_mm2_topics_free(topics, nt);
out_free_groups:
	ferry_mm2_names_free(groups, ng);
	return rc;
}
