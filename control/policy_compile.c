/*
 * policy_compile.c - turn a struct ferry_rules into a struct ferry_policy_snapshot:
 *
 *   record database  every pattern of every rule, hs_compile_multi, block mode, expression
 *                    id = rule index; HS_FLAG_SOM_LEFTMOST when the rule needs the match
 *                    span (mask, tokenise, or a validator/length/charset gate),
 *                    HS_FLAG_CASELESS per rule.
 *   gate database    the prefilter patterns of the gated rules, id = rule index, no SOM:
 *                    scanned once per batch to find the records worth a closer look.
 *   rule databases   one per gated rule, its own patterns (flags as above).
 *   ungated database the patterns of the rules without a prefilter (flags as above).
 *                    The runtime scans with these three; the record database is the
 *                    reference that tools and the differential test use.
 *   topic database   permit, deny and per-rule topic selectors, each wrapped as \A(?:...)\z
 *                    (whole-name match, MM2 semantics) with HS_FLAG_SINGLEMATCH; id = index
 *                    into snapshot.topic_ids, which says permit / deny / selector of rule N.
 *
 * All are serialised (hs_serialize_database) so the dataplane can place them in its own
 * memory with hs_deserialize_database_at. Every pattern is first checked alone with
 * hs_expression_info so that all bad patterns are reported with file:line, not just the first
 * one hs_compile_multi stops at.
 *
 * Control thread only; allocates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs_compile.h>
#include <hs_runtime.h>

#include "ferry/policy.h"
#include "policy_compile.h"

unsigned int
ferry_policy_rule_hs_flags(const struct ferry_policy_rule *r)
{
	unsigned int f = 0;
	if (r->som)
		f |= HS_FLAG_SOM_LEFTMOST;
	if (r->caseless)
		f |= HS_FLAG_CASELESS;
	return f;
}

/* The flat expression list handed to hs_compile_multi, with where each came from. */
struct exprs {
	const char **expr;
	unsigned int *flags;
	unsigned int *ids;
	const struct ferry_rules_regex **src;
	const char **rule; /* rule name or NULL (topic lists) */
	const char **what; /* "patterns", "topics", "topics.permit", ... */
	size_t *index;     /* index within that list */
	char **owned;      /* wrapped copies to free */
	size_t n, cap;
};

static int
exprs_add(struct exprs *x, const struct ferry_rules_regex *src, const char *rule, const char *what,
	  size_t index, unsigned int flags, unsigned int id, bool whole)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
#define GROW(f)                                                                                    \
	do {                                                                                       \
		void *t = realloc((void *)x->f, cap * sizeof(*x->f));                              \
		if (t == NULL)                                                                     \
			return -ENOMEM;                                                            \
		x->f = t;                                                                          \
	} while (0)
		GROW(expr);
		GROW(flags);
		GROW(ids);
		GROW(src);
		GROW(rule);
		GROW(what);
		GROW(index);
		GROW(owned);
#undef GROW
		x->cap = cap;
	}
	char *own = NULL;
	if (whole) {
		/* Whole-name match. The raw pattern is checked alone first, so a pattern that
		 * could escape the group ("a)|(b") has already been rejected. */
		size_t len = strlen(src->expr) + sizeof("\\A(?:)\\z");
		own = malloc(len);
		if (own == NULL)
			return -ENOMEM;
		snprintf(own, len, "\\A(?:%s)\\z", src->expr);
	}
	x->expr[x->n] = own ? own : src->expr;
	x->owned[x->n] = own;
	x->flags[x->n] = flags;
	x->ids[x->n] = id;
	x->src[x->n] = src;
	x->rule[x->n] = rule;
	x->what[x->n] = what;
	x->index[x->n] = index;
	x->n++;
	return 0;
}

static void
exprs_free(struct exprs *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->owned[i]);
	free((void *)x->expr);
	free(x->flags);
	free(x->ids);
	free((void *)x->src);
	free((void *)x->rule);
	free((void *)x->what);
	free(x->index);
	free(x->owned);
}

static void
report(struct ferry_rules_err *e, const struct exprs *x, size_t i, const char *msg)
{
	const struct ferry_rules_regex *s = x->src[i];
	if (x->rule[i])
		ferry_rules_errf(e, "%s:%u: rule '%s': %s[%zu] \"%.80s\": %s", s->file, s->line,
				 x->rule[i], x->what[i], x->index[i], s->expr, msg);
	else
		ferry_rules_errf(e, "%s:%u: %s[%zu] \"%.80s\": %s", s->file, s->line, x->what[i],
				 x->index[i], s->expr, msg);
}

/* Check each expression alone: syntax, unsupported constructs, empty matches. */
static void
check_exprs(struct ferry_rules_err *e, const struct exprs *x, bool record)
{
	for (size_t i = 0; i < x->n; i++) {
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *cerr = NULL;
		/* The raw pattern first, so messages speak of what the user wrote. */
		const char *raw = x->src[i]->expr;
		unsigned int fl = x->flags[i] & ~(HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY);
		if (hs_expression_info(raw, fl | HS_FLAG_ALLOWEMPTY, &info, &cerr) != HS_SUCCESS) {
			char msg[256];
			snprintf(msg, sizeof(msg), "bad regex: %s",
				 cerr ? cerr->message : "rejected by Hyperscan");
			report(e, x, i, msg);
			hs_free_compile_error(cerr);
			continue;
		}
		if (record && info->min_width == 0)
			report(e, x, i, "matches the empty string (would fire on every field)");
		free(info);
	}
}

static int
compile_db(struct ferry_rules_err *e, const struct exprs *x, char **ser, size_t *ser_len,
	   size_t *db_size)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *cerr = NULL;
	if (x->n == 0)
		return 0;
	if (hs_compile_multi(x->expr, x->flags, x->ids, (unsigned int)x->n, HS_MODE_BLOCK, NULL,
			     &db, &cerr) != HS_SUCCESS) {
		char msg[256];
		snprintf(msg, sizeof(msg), "Hyperscan: %s",
			 cerr ? cerr->message : "compile failed");
		if (cerr && cerr->expression >= 0 && (size_t)cerr->expression < x->n)
			report(e, x, (size_t)cerr->expression, msg);
		else
			ferry_rules_errf(e, "%s", msg);
		hs_free_compile_error(cerr);
		return -EINVAL;
	}
	int rc = 0;
	if (hs_database_size(db, db_size) != HS_SUCCESS ||
	    hs_serialize_database(db, ser, ser_len) != HS_SUCCESS) {
		ferry_rules_errf(e, "Hyperscan: cannot serialise the database");
		rc = -ENOMEM;
	}
	hs_free_database(db);
	return rc;
}

int
ferry_policy_compile(const struct ferry_rules *rs, struct ferry_policy_snapshot *snap, char *err,
		     size_t errlen)
{
	struct ferry_rules_err e = { .buf = err, .cap = errlen };
	struct exprs rec = { 0 }, top = { 0 }, gate = { 0 }, ungated = { 0 };
	struct exprs *own = NULL; /* [n_rules]: a gated rule's own patterns */
	int rc = -ENOMEM;

	memset(snap, 0, sizeof(*snap));
	if (errlen > 0)
		err[0] = '\0';
	if (rs->n_rules > FERRY_POLICY_RULES_MAX)
		return -EINVAL;
	snap->format = FERRY_POLICY_SNAPSHOT_FORMAT;
	snap->default_permit = rs->default_permit;
	snap->n_rules = (uint32_t)rs->n_rules;
	snap->rules = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*snap->rules));
	own = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*own));
	snap->rule_db = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*snap->rule_db));
	snap->rule_db_len = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*snap->rule_db_len));
	if (snap->rules == NULL || own == NULL || snap->rule_db == NULL ||
	    snap->rule_db_len == NULL)
		goto out_free_exprs;

	/* Record patterns: id = rule index, in the reference database and in either the
	 * rule's own database (gated) or the ungated one; prefilters go to the gate database,
	 * without SOM (the gate only says which records to look at). */
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct ferry_rules_rule *rr = &rs->rules[i];
		unsigned int fl = ferry_policy_rule_hs_flags(&rr->r);
		snap->rules[i] = rr->r;
		snap->rules[i].id = (uint32_t)i;
		snap->rules[i].gated = rr->r.gated;
		for (size_t k = 0; k < rr->n_patterns; k++) {
			if (exprs_add(&rec, &rr->patterns[k], rr->r.name, "patterns", k, fl,
				      (unsigned int)i, false) ||
			    exprs_add(rr->r.gated ? &own[i] : &ungated, &rr->patterns[k],
				      rr->r.name, "patterns", k, fl, (unsigned int)i, false))
				goto out_free_exprs;
		}
		for (size_t k = 0; k < rr->n_prefilter; k++)
			if (exprs_add(&gate, &rr->prefilter[k], rr->r.name, "prefilter", k,
				      fl & ~(unsigned int)HS_FLAG_SOM_LEFTMOST, (unsigned int)i,
				      false))
				goto out_free_exprs;
	}
	snap->n_patterns = (uint32_t)rec.n;

	/* Topic patterns: id = index into topic_ids. Selectors of one rule share no id with
	 * another rule, so a match names exactly one rule. */
	const unsigned int tflags = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
	size_t n_ids = rs->n_permit + rs->n_deny;
	for (size_t i = 0; i < rs->n_rules; i++)
		n_ids += rs->rules[i].n_topics;
	snap->topic_ids = calloc(n_ids ? n_ids : 1, sizeof(*snap->topic_ids));
	if (snap->topic_ids == NULL)
		goto out_free_exprs;
	for (size_t k = 0; k < rs->n_permit; k++) {
		snap->topic_ids[top.n] =
		    (struct ferry_policy_topic_id){ FERRY_POLICY_TOPIC_ID_PERMIT, 0 };
		if (exprs_add(&top, &rs->permit[k], NULL, "topics.permit", k, tflags,
			      (unsigned int)top.n, true))
			goto out_free_exprs;
	}
	for (size_t k = 0; k < rs->n_deny; k++) {
		snap->topic_ids[top.n] =
		    (struct ferry_policy_topic_id){ FERRY_POLICY_TOPIC_ID_DENY, 0 };
		if (exprs_add(&top, &rs->deny[k], NULL, "topics.deny", k, tflags,
			      (unsigned int)top.n, true))
			goto out_free_exprs;
	}
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct ferry_rules_rule *rr = &rs->rules[i];
		for (size_t k = 0; k < rr->n_topics; k++) {
			snap->topic_ids[top.n] =
			    (struct ferry_policy_topic_id){ FERRY_POLICY_TOPIC_ID_SELECT,
							    (uint16_t)i };
			if (exprs_add(&top, &rr->topics[k], rr->r.name, "topics", k, tflags,
				      (unsigned int)top.n, true))
				goto out_free_exprs;
		}
	}
	snap->n_topic_ids = (uint32_t)top.n;
	snap->n_topic_permit = (uint32_t)rs->n_permit;
	snap->n_topic_deny = (uint32_t)rs->n_deny;

	check_exprs(&e, &rec, true);
	check_exprs(&e, &gate, true);
	check_exprs(&e, &top, false);
	if (e.n > 0) {
		rc = -EINVAL;
		goto out_free_exprs;
	}
	rc = compile_db(&e, &rec, &snap->record_db, &snap->record_db_len, &snap->record_db_size);
	if (rc == 0)
		rc = compile_db(&e, &top, &snap->topic_db, &snap->topic_db_len,
				&snap->topic_db_size);
	if (rc == 0)
		rc = compile_db(&e, &gate, &snap->gate_db, &snap->gate_db_len, &snap->gate_db_size);
	if (rc == 0)
		rc = compile_db(&e, &ungated, &snap->ungated_db, &snap->ungated_db_len,
				&snap->ungated_db_size);
	for (size_t i = 0; rc == 0 && i < rs->n_rules; i++) {
		size_t size;
		rc = compile_db(&e, &own[i], &snap->rule_db[i], &snap->rule_db_len[i], &size);
	}
	if (rc != 0)
		goto out_free_exprs;

	memcpy(snap->token_key, rs->key, rs->key_len);
	snap->token_key_len = (uint32_t)rs->key_len;
	rc = 0;

out_free_exprs:
	for (size_t i = 0; own != NULL && i < rs->n_rules; i++)
		exprs_free(&own[i]);
	free(own);
	exprs_free(&ungated);
	exprs_free(&gate);
	exprs_free(&top);
	exprs_free(&rec);
	if (rc != 0)
		ferry_policy_snapshot_free(snap);
	if (rc == -ENOMEM && e.n == 0)
		snprintf(err, errlen, "out of memory compiling rules");
	return rc;
}

void
ferry_policy_snapshot_free(struct ferry_policy_snapshot *snap)
{
	free(snap->rules);
	/* hs_serialize_database allocates with the Hyperscan misc allocator: malloc by
	 * default, and ferry does not install another. */
	free(snap->record_db);
	free(snap->gate_db);
	free(snap->ungated_db);
	for (uint32_t i = 0; snap->rule_db != NULL && i < snap->n_rules; i++)
		free(snap->rule_db[i]);
	free(snap->rule_db);
	free(snap->rule_db_len);
	free(snap->topic_db);
	free(snap->topic_ids);
	explicit_bzero(snap->token_key, sizeof(snap->token_key));
	memset(snap, 0, sizeof(*snap));
}
