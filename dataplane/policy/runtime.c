/*
 * runtime.c - the policy engine's scan-and-act path: load a compiled snapshot, publish it to
 * the workers, and for each Kafka batch decide UNCHANGED / REWRITTEN / QUARANTINED / DENIED.
 *
 * Contract of ferry_policy_apply(), per batch:
 *   1. Topic: decided once per topic name and cached in the worker (ferry_policy_topic_decide).
 *      DENY -> DENIED. PERMIT (no record rule applies), a policy without record rules and
 *      control batches -> UNCHANGED.
 *   2. Records: the batch is decompressed into the worker's buffer (ferry_kafka_batch_records)
 *      and its records indexed. Then two phases:
 *        a. Gates: one hs_scan() of the gate database (the prefilter patterns of the
 *           gated rules, no SOM) over all the records' bytes at once, and one pass of the
 *           run gates (runs.c) per class. A hit marks, for its rule, the field it ends in
 *           (the key, the value or the record's headers; a hit ending in framing bytes
 *           marks nothing). A prefilter is a superset of its rule (every match of the rule
 *           contains a prefilter match or run, which then ends inside the same field) and
 *           has no anchors or \b (rules.c rejects them), so a field the gates did not mark
 *           cannot hold a match of that rule. Hits that straddle two fields only cost a
 *           needless look.
 *        b. Exact: each record's key, value and header values are scanned as separate
 *           fields, so a match can never span two fields or two records: with the ungated
 *           database (rules without prefilter) always, and with the own database of each
 *           gated rule the gates marked in this field. Which fields a rule sees is its
 *           `where` (key, value, its named headers, or all headers).
 *      Why: Hyperscan runs class-led patterns (\d, [A-Z]) at about 1 byte/ns each on our
 *      hosts, and a pack of nine of them at a tenth of that; literal-led or cheap
 *      prefilters plus an exact look at the few records they mark is several times faster
 *      on clean traffic (bench_policy), and gives the same result (test_policy_runtime
 *      compares gated and ungated compiles of the same pack, byte for byte).
 *   3. Candidates: rules compiled with start of match (mask, tokenise, or gated by a
 *      validator/length/charset) give [from, to); each candidate is confirmed with
 *      ferry_policy_confirm(), and per (rule, start) the longest confirmed span wins. Rules
 *      without SOM need no span: any match is a hit.
 *   4. Actions: a record takes the most severe action of the rules that hit it
 *      (quarantine > drop > tokenise > mask > tag, the enum order). Quarantine holds the
 *      whole batch back at once. Drop removes the record. Mask/tokenise rewrite their spans in
 *      a copy of the field (tokenise first, then mask, so where both cover a byte the mask
 *      wins); tag changes nothing. One audit event per (record, rule) that hit, carrying the
 *      rule's own action; never the matched bytes.
 *   5. Output: no record dropped or edited -> UNCHANGED (the caller forwards b->bytes).
 *      Otherwise the kept records are rebuilt with ferry_kafka_batch_build() with the
 *      original codec, Attributes, BaseOffset, PartitionLeaderEpoch and producer fields; the
 *      CRC is computed by the builder. Keys, values, headers and timestamps of the other
 *      records are copied byte for byte and keep their order. OffsetDeltas are renumbered
 *      0..n-1 (LastOffsetDelta = n - 1), which the destination's Produce path requires; for
 *      a LogAppendTime batch the original MaxTimestamp is kept. Every record dropped ->
 *      REWRITTEN with out_len 0 (nothing to forward).
 *   Anything that cannot be decoded, scanned or rebuilt within the worker's fixed buffers
 *   fails closed: QUARANTINED with res->error set, and the function returns that error.
 *
 * Memory: the hot path never allocates (STYLE rule 7). Buffers are sized at worker creation;
 * the only allocation after it is ferry_policy_worker_prepare() on the first batch under a
 * new policy (scratch growth), which a dataplane calls at its quiescent point instead.
 *
 * Mask semantics (ferry_policy_mask_span): only alphanumerics (and non-ASCII bytes) are
 * masked and keep_last counts alphanumerics, so separators stay where they were:
 * "4111 1111 1111 1111" keep_last 4 -> "**** **** **** 1111". This keeps the shape that
 * downstream parsers and humans expect and leaks nothing the pattern did not already imply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs_runtime.h>

#include "ferry/common.h"
#include "ferry/kafka.h"
#include "runtime_int.h"

#define DEFAULT_MAX_BATCH_BYTES ((size_t)4 << 20)
#define DEFAULT_MAX_RECORDS     65536u
#define DEFAULT_MAX_CANDIDATES  4096u
#define DEFAULT_MAX_AUDIT       1024u

static _Atomic uint64_t rt_uid_seq;

/* ---- loading and publishing ------------------------------------------------------------------ */

/*
 * The one place a live database is allocated: hs_serialized_database_size() says how much,
 * rt->alloc provides it (the heap, or hugepage memory on the workers' NUMA node from the
 * dataplane), hs_deserialize_database_at() fills it. No Hyperscan allocator is involved, so
 * freeing is rt->alloc's free alone.
 */
static void *
heap_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	size_t rounded = (size + align - 1) / align * align;
	return aligned_alloc(align, rounded);
}

static void
heap_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static int
rt_db_load(struct ferry_policy_rt *rt, const char *bytes, size_t len, struct hs_database **db,
	   char *err, size_t errlen)
{
	size_t size = 0;
	*db = NULL;
	hs_error_t hrc = hs_serialized_database_size(bytes, len, &size);
	if (hrc != HS_SUCCESS || size == 0) {
		snprintf(err, errlen, "serialised database is corrupt (%d)", hrc);
		return -EINVAL;
	}
	void *mem = rt->alloc.alloc(rt->alloc.ctx, size, 64);
	if (mem == NULL) {
		snprintf(err, errlen, "out of memory for a %zu-byte database", size);
		return -ENOMEM;
	}
	hrc = hs_deserialize_database_at(bytes, len, mem);
	if (hrc != HS_SUCCESS) {
		rt->alloc.free(rt->alloc.ctx, mem);
		snprintf(err, errlen, "hs_deserialize_database_at failed (%d)%s", hrc,
			 hrc == HS_DB_VERSION_ERROR    ? ": built by another Hyperscan version"
			 : hrc == HS_DB_PLATFORM_ERROR ? ": built for another platform"
						       : "");
		return -EINVAL;
	}
	*db = mem;
	return 0;
}

static void
rt_db_free(struct ferry_policy_rt *rt, struct hs_database *db)
{
	if (db != NULL)
		rt->alloc.free(rt->alloc.ctx, db);
}

static void
wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

/* Put rule r's run gate in the group of its class and separators (a new one if none). */
static int
rt_add_run(struct ferry_policy_rt *rt, const struct ferry_policy_rule *r, char *err, size_t errlen)
{
	const struct ferry_policy_run *x = &r->run;
	if (x->min == 0 || x->min > FERRY_POLICY_RUN_MIN_MAX || x->n_ranges == 0 ||
	    x->n_ranges > FERRY_POLICY_RUN_RANGES_MAX || x->n_seps > FERRY_POLICY_RUN_SEPS_MAX) {
		snprintf(err, errlen, "rule %u: bad run gate", r->id);
		return -EINVAL;
	}
	struct ferry_policy_run_group *g = NULL;
	for (uint32_t i = 0; i < rt->n_runs && g == NULL; i++) {
		const struct ferry_policy_run *y = &rt->runs[i].run;
		if (y->n_ranges == x->n_ranges && y->n_seps == x->n_seps &&
		    memcmp(y->lo, x->lo, x->n_ranges) == 0 &&
		    memcmp(y->hi, x->hi, x->n_ranges) == 0 &&
		    memcmp(y->sep, x->sep, x->n_seps) == 0)
			g = &rt->runs[i];
	}
	if (g == NULL) {
		void *t = realloc(rt->runs, (rt->n_runs + 1) * sizeof(*rt->runs));
		if (t == NULL) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		rt->runs = t;
		g = &rt->runs[rt->n_runs++];
		memset(g, 0, sizeof(*g));
		g->run = *x;
	}
	g->min[g->n] = x->min;
	g->rule[g->n] = (uint16_t)r->id;
	g->n++;
	return 0;
}

struct ferry_policy_rt *
ferry_policy_rt_new(const struct ferry_policy_snapshot *snap, char *err, size_t errlen)
{
	return ferry_policy_rt_new_at(snap, NULL, err, errlen);
}

struct ferry_policy_rt *
ferry_policy_rt_new_at(const struct ferry_policy_snapshot *snap,
		       const struct ferry_policy_alloc *alloc, char *err, size_t errlen)
{
	int rc = -EINVAL;
	if (snap->format != FERRY_POLICY_SNAPSHOT_FORMAT) {
		snprintf(err, errlen, "snapshot format %u, expected %u", snap->format,
			 FERRY_POLICY_SNAPSHOT_FORMAT);
		goto out;
	}
	if (snap->n_rules > FERRY_POLICY_RULES_MAX ||
	    snap->token_key_len > FERRY_POLICY_TOKEN_KEY_MAX) {
		snprintf(err, errlen, "snapshot has %u rules (max %u) or a bad key length",
			 snap->n_rules, FERRY_POLICY_RULES_MAX);
		goto out;
	}
	struct ferry_policy_rt *rt = calloc(1, sizeof(*rt));
	if (rt == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rt->alloc = alloc != NULL
			? *alloc
			: (struct ferry_policy_alloc){ .alloc = heap_alloc, .free = heap_free };
	rt->snap.format = snap->format;
	rt->snap.default_permit = snap->default_permit;
	rt->snap.n_rules = snap->n_rules;
	rt->snap.n_patterns = snap->n_patterns;
	rt->snap.n_topic_ids = snap->n_topic_ids;
	rt->snap.n_topic_permit = snap->n_topic_permit;
	rt->snap.n_topic_deny = snap->n_topic_deny;
	rt->snap.record_db_size = snap->record_db_size;
	rt->snap.topic_db_size = snap->topic_db_size;
	memcpy(rt->snap.token_key, snap->token_key, snap->token_key_len);
	rt->snap.token_key_len = snap->token_key_len;

	rc = -ENOMEM;
	snprintf(err, errlen, "out of memory");
	if (snap->n_rules > 0) {
		rt->snap.rules = malloc(snap->n_rules * sizeof(*snap->rules));
		if (rt->snap.rules == NULL)
			goto out_free_rt;
		memcpy(rt->snap.rules, snap->rules, snap->n_rules * sizeof(*snap->rules));
	}
	if (snap->n_topic_ids > 0) {
		rt->snap.topic_ids = malloc(snap->n_topic_ids * sizeof(*snap->topic_ids));
		if (rt->snap.topic_ids == NULL)
			goto out_free_rt;
		memcpy(rt->snap.topic_ids, snap->topic_ids,
		       snap->n_topic_ids * sizeof(*snap->topic_ids));
	}
	for (uint32_t i = 0; i < snap->n_rules; i++) {
		if (snap->rules[i].action == FERRY_POLICY_ACT_TOKENISE)
			rt->needs_token = true;
		if (snap->rules[i].action <= FERRY_POLICY_ACT_PASS ||
		    snap->rules[i].action >= FERRY_POLICY_ACT__COUNT) {
			rc = -EINVAL;
			snprintf(err, errlen, "rule %u: bad action %d", i, snap->rules[i].action);
			goto out_free_rt;
		}
	}
	if (rt->needs_token && snap->token_key_len < FERRY_POLICY_TOKEN_KEY_MIN) {
		rc = -EINVAL;
		snprintf(err, errlen, "a rule tokenises but the snapshot has no key");
		goto out_free_rt;
	}
	if (snap->gate_db_len > 0) {
		rc = rt_db_load(rt, snap->gate_db, snap->gate_db_len, &rt->gate_db, err, errlen);
		if (rc != 0)
			goto out_free_rt;
	}
	if (snap->ungated_db_len > 0) {
		rc = rt_db_load(rt, snap->ungated_db, snap->ungated_db_len, &rt->ungated_db, err,
				errlen);
		if (rc != 0)
			goto out_free_rt;
	}
	for (uint32_t i = 0; i < snap->n_rules; i++) {
		if (!snap->rules[i].gated)
			continue;
		if (snap->rule_db == NULL || snap->rule_db_len[i] == 0) {
			rc = -EINVAL;
			snprintf(err, errlen, "rule %u is gated but has no database", i);
			goto out_free_rt;
		}
		rc = rt_db_load(rt, snap->rule_db[i], snap->rule_db_len[i], &rt->rule_db[i], err,
				errlen);
		if (rc != 0)
			goto out_free_rt;
		rt->gated[rt->n_gated++] = (uint16_t)i;
		if (snap->rules[i].has_run && (rc = rt_add_run(rt, &snap->rules[i], err, errlen)))
			goto out_free_rt;
	}
	rt->has_record_rules = snap->n_rules > 0;
	if (snap->topic_db_len > 0) {
		rc = rt_db_load(rt, snap->topic_db, snap->topic_db_len, &rt->topic_db, err, errlen);
		if (rc != 0)
			goto out_free_rt;
	}
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rt->uid = atomic_fetch_add(&rt_uid_seq, 1) + 1;
	return rt;

out_free_rt:
	ferry_policy_rt_free(rt);
out:
	errno = -rc;
	return NULL;
}

void
ferry_policy_rt_free(struct ferry_policy_rt *rt)
{
	if (rt == NULL)
		return;
	rt_db_free(rt, rt->gate_db);
	rt_db_free(rt, rt->ungated_db);
	for (uint32_t i = 0; i < FERRY_POLICY_RULES_MAX; i++)
		rt_db_free(rt, rt->rule_db[i]);
	rt_db_free(rt, rt->topic_db);
	free(rt->runs);
	free(rt->snap.rules);
	free(rt->snap.topic_ids);
	wipe(rt->snap.token_key, sizeof(rt->snap.token_key));
	free(rt);
}

uint64_t
ferry_policy_rt_generation(const struct ferry_policy_rt *rt)
{
	return rt->generation;
}

const struct ferry_policy_rule *
ferry_policy_rt_rules(const struct ferry_policy_rt *rt, uint32_t *n)
{
	*n = rt->snap.n_rules;
	return rt->snap.rules;
}

struct ferry_policy_pub *
ferry_policy_pub_new(void)
{
	struct ferry_policy_pub *pub = calloc(1, sizeof(*pub));
	if (pub == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	atomic_init(&pub->cur, NULL);
	atomic_init(&pub->generation, 0);
	return pub;
}

void
ferry_policy_pub_free(struct ferry_policy_pub *pub)
{
	free(pub);
}

/*
 * Publisher side of the RCU scheme: the new rt is fully built before the release store, so a
 * worker that loads the pointer (acquire) sees it complete. The old one is returned to the
 * caller, who frees it after a grace period: in the dataplane, rte_rcu_qsbr_synchronize() on
 * the QSBR variable every lcore reports to with rte_rcu_qsbr_quiescent() between bursts (DPDK
 * is not included here: this file stays testable without EAL).
 */
struct ferry_policy_rt *
ferry_policy_publish(struct ferry_policy_pub *pub, struct ferry_policy_rt *rt)
{
	if (rt != NULL)
		rt->generation = atomic_fetch_add(&pub->generation, 1) + 1;
	return atomic_exchange_explicit(&pub->cur, rt, memory_order_acq_rel);
}

const struct ferry_policy_rt *
ferry_policy_current(struct ferry_policy_pub *pub)
{
	return atomic_load_explicit(&pub->cur, memory_order_acquire);
}

/* ---- workers -------------------------------------------------------------------------------- */

struct ferry_policy_worker *
ferry_policy_worker_new(const struct ferry_policy_rt *rt,
			const struct ferry_policy_worker_conf *conf)
{
	struct ferry_policy_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto out_nomem;
	if (conf != NULL)
		w->conf = *conf;
	struct ferry_policy_worker_conf *c = &w->conf;
	if (c->max_batch_bytes == 0)
		c->max_batch_bytes = DEFAULT_MAX_BATCH_BYTES;
	if (c->max_records == 0)
		c->max_records = DEFAULT_MAX_RECORDS;
	if (c->max_headers == 0)
		c->max_headers = c->max_records > UINT32_MAX / 4 ? UINT32_MAX : 4 * c->max_records;
	if (c->max_candidates == 0)
		c->max_candidates = DEFAULT_MAX_CANDIDATES;
	if (c->max_audit == 0)
		c->max_audit = DEFAULT_MAX_AUDIT;

	/* Output: the rebuilt batch is at most the header plus the records (same sizes or
	 * smaller: edits keep lengths, renumbered deltas never grow) through the codec's
	 * worst case; a few bytes of slack cover timestamp deltas re-based on a new first
	 * record. */
	size_t worst = 0;
	for (int codec = FERRY_CODEC_NONE; codec <= FERRY_CODEC_ZSTD; codec++) {
		size_t bound = ferry_compress_bound(codec, c->max_batch_bytes);
		if (bound > worst)
			worst = bound;
	}
	w->dec_cap = w->edit_cap = w->build_cap = c->max_batch_bytes + 4096;
	w->out_cap = worst + FERRY_KAFKA_BATCH_HDR_SIZE + 4096;
	w->dec = malloc(w->dec_cap);
	w->edit = malloc(w->edit_cap);
	w->build = malloc(w->build_cap);
	w->out = malloc(w->out_cap);
	w->recs = calloc(c->max_records, sizeof(*w->recs));
	w->rv = calloc(c->max_records, sizeof(*w->rv));
	w->rend = calloc(c->max_records, sizeof(*w->rend));
	w->rgate = calloc((size_t)c->max_records * 3, sizeof(*w->rgate));
	w->hdrs = calloc(c->max_headers, sizeof(*w->hdrs));
	w->cand = calloc(c->max_candidates, sizeof(*w->cand));
	w->edits = calloc(c->max_candidates, sizeof(*w->edits));
	w->audit = calloc(c->max_audit, sizeof(*w->audit));
	w->cc = ferry_codec_ctx_new();
	w->tk = ferry_policy_token_new();
	if (!w->dec || !w->edit || !w->build || !w->out || !w->recs || !w->rv || !w->rend ||
	    !w->rgate || !w->hdrs || !w->cand || !w->edits || !w->audit || !w->cc || !w->tk)
		goto out_free_w;
	if (rt != NULL) {
		int rc = ferry_policy_worker_prepare(w, rt);
		if (rc != 0) {
			ferry_policy_worker_free(w);
			errno = -rc;
			return NULL;
		}
	}
	return w;

out_free_w:
	ferry_policy_worker_free(w);
out_nomem:
	errno = ENOMEM;
	return NULL;
}

void
ferry_policy_worker_free(struct ferry_policy_worker *w)
{
	if (w == NULL)
		return;
	if (w->scratch != NULL)
		ferry_policy_scratch_free(w->scratch);
	ferry_codec_ctx_free(w->cc);
	ferry_policy_token_free(w->tk);
	free(w->dec);
	free(w->edit);
	free(w->build);
	free(w->out);
	free(w->recs);
	free(w->rv);
	free(w->rend);
	free(w->rgate);
	free(w->hdrs);
	free(w->cand);
	free(w->edits);
	free(w->audit);
	free(w);
}

int
ferry_policy_worker_prepare(struct ferry_policy_worker *w, const struct ferry_policy_rt *rt)
{
	int rc;
	w->prepared_uid = 0;
	w->topic_valid = false;
	/* One scratch serves both databases (never used concurrently); hs_alloc_scratch grows
	 * an existing scratch only when the new database needs more. */
	const struct hs_database *dbs[] = { rt->gate_db, rt->ungated_db };
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (dbs[i] != NULL && (rc = ferry_policy_scratch_alloc(dbs[i], &w->scratch)) != 0)
			return rc;
	for (uint32_t i = 0; i < rt->n_gated; i++)
		if ((rc = ferry_policy_scratch_alloc(rt->rule_db[rt->gated[i]], &w->scratch)) != 0)
			return rc;
	if (rt->topic_db != NULL &&
	    (rc = ferry_policy_scratch_alloc(rt->topic_db, &w->scratch)) != 0)
		return rc;
	rc = ferry_policy_token_setkey(w->tk, rt->snap.token_key,
				       rt->needs_token ? rt->snap.token_key_len : 0);
	if (rc != 0)
		return rc;
	w->prepared_uid = rt->uid;
	return 0;
}

const struct ferry_policy_counters *
ferry_policy_worker_counters(const struct ferry_policy_worker *w)
{
	return &w->ctr;
}

const char *
ferry_policy_result_name(enum ferry_policy_result_kind k)
{
	switch (k) {
	case FERRY_POLICY_RES_UNCHANGED: return "unchanged";
	case FERRY_POLICY_RES_REWRITTEN: return "rewritten";
	case FERRY_POLICY_RES_QUARANTINED: return "quarantined";
	case FERRY_POLICY_RES_DENIED: return "denied";
	}
	return "unknown";
}

/* ---- actions on bytes ----------------------------------------------------------------------- */

static bool
mask_counts(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c >= 0x80;
}

size_t
ferry_policy_mask_span(uint8_t *p, size_t n, uint8_t mask_char, unsigned keep_last)
{
	size_t changed = 0;
	unsigned kept = 0;
	for (size_t i = n; i-- > 0;) {
		if (!mask_counts(p[i]))
			continue;
		if (kept < keep_last) {
			kept++;
			continue;
		}
		if (p[i] != mask_char) {
			p[i] = mask_char;
			changed++;
		}
	}
	return changed;
}

/* ---- scanning ------------------------------------------------------------------------------- */

static bool
rule_applies(const struct ferry_policy_topic_rules *tr, uint32_t id)
{
	return (tr->rules[id / 64] >> (id % 64)) & 1;
}

/* Does rule r look at the field being scanned? */
static bool
rule_sees_field(const struct ferry_policy_rule *r, uint32_t field,
		const struct ferry_kafka_header *h)
{
	if (field != FERRY_POLICY_WHERE_ALL_HEADERS)
		return (r->where & field) != 0;
	if (r->where & FERRY_POLICY_WHERE_ALL_HEADERS)
		return true;
	if (!(r->where & FERRY_POLICY_WHERE_HEADER) || h->Key.p == NULL)
		return false;
	for (uint32_t i = 0; i < r->n_headers && i < FERRY_POLICY_HEADERS_MAX; i++)
		if (r->header_len[i] == h->Key.len &&
		    memcmp(r->headers[i], h->Key.p, h->Key.len) == 0)
			return true;
	return false;
}

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	 void *ctx)
{
	(void)flags;
	struct ferry_policy_worker *w = ctx;
	const struct ferry_policy_rt *rt = w->scan_rt;
	if (id >= rt->snap.n_rules || !rule_applies(&w->topic_rules, id))
		return 0;
	const struct ferry_policy_rule *r = &rt->snap.rules[id];
	if (!rule_sees_field(r, w->scan_field, w->scan_hdr))
		return 0;
	if (!r->som) {
		/* No span to confirm or rewrite: one hit per field is enough. */
		for (uint32_t i = 0; i < w->n_cand; i++)
			if (w->cand[i].rule == id)
				return 0;
		from = to;
	}
	if (w->n_cand == w->conf.max_candidates) {
		w->cand_overflow = true;
		return 1; /* stop: the field fails closed */
	}
	w->cand[w->n_cand++] = (struct ferry_policy_cand){ .from = (uint32_t)from,
							   .to = (uint32_t)to,
							   .rule = (uint16_t)id };
	return 0;
}

/*
 * Gate marks. A gate report is an end offset (exclusive) in the records' bytes, or a range
 * of them; the byte before it lies in a key, a value, the header region of a record, or in
 * the record framing (lengths, deltas), where no match of a field can end. Each field kind
 * gets its own marks, so a hit in a tracing header sends only the headers to the exact scan
 * and a hit in framing bytes sends nothing.
 */
static void
mark_field(uint64_t *bits, struct ferry_span f, const uint8_t *base, size_t lo, size_t hi,
	   uint64_t bit)
{
	if (f.p == NULL || f.len == 0)
		return;
	size_t a = (size_t)(f.p - base), z = a + f.len - 1; /* bytes a .. z */
	if (lo <= z && hi >= a)
		*bits |= bit;
}

/* Mark, for rule id, the fields that hold a byte in [lo, hi] (offsets in the records). */
static void
mark_bytes(struct ferry_policy_worker *w, uint16_t id, size_t lo, size_t hi)
{
	uint32_t i = w->gate_cursor;
	if (i >= w->n_rv || (i > 0 && w->rend[i - 1] > lo))
		i = 0;
	if (i < w->n_rv && w->rend[i] <= lo) {
		uint32_t a = i, b = w->n_rv; /* first record with rend > lo */
		while (a < b) {
			uint32_t mid = a + (b - a) / 2;
			if (w->rend[mid] <= lo)
				a = mid + 1;
			else
				b = mid;
		}
		i = a;
	}
	w->gate_cursor = i;
	uint64_t bit = UINT64_C(1) << (id % 64);
	for (; i < w->n_rv; i++) {
		const struct ferry_kafka_record *r = &w->rv[i];
		mark_field(&w->rgate[3 * i], r->Key, w->recs_base, lo, hi, bit);
		mark_field(&w->rgate[3 * i + 1], r->Value, w->recs_base, lo, hi, bit);
		mark_field(&w->rgate[3 * i + 2], r->Headers, w->recs_base, lo, hi, bit);
		if (w->rend[i] > hi)
			break;
	}
}

/* Hyperscan gate match: the match's last byte is to - 1. */
static int
on_gate(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	void *ctx)
{
	(void)from, (void)flags;
	struct ferry_policy_worker *w = ctx;
	if (id < w->scan_rt->snap.n_rules && rule_applies(&w->topic_rules, id) && to > 0)
		mark_bytes(w, (uint16_t)id, (size_t)to - 1, (size_t)to - 1);
	return 0;
}

/* Run gate report: ends first .. last, so last bytes first - 1 .. last - 1. */
static void
on_run(void *ctx, unsigned which, size_t first, size_t last)
{
	struct ferry_policy_worker *w = ctx;
	uint16_t id = w->scan_group->rule[which];
	if (rule_applies(&w->topic_rules, id) && first > 0)
		mark_bytes(w, id, first - 1, last - 1);
}

/* Order candidates by rule, start, then longest first. */
static bool
cand_before(const struct ferry_policy_cand *x, const struct ferry_policy_cand *y)
{
	if (x->rule != y->rule)
		return x->rule < y->rule;
	if (x->from != y->from)
		return x->from < y->from;
	return x->to > y->to;
}

/*
 * In-place Shell sort (Ciura's gaps). Not qsort(): glibc's qsort may malloc a merge buffer
 * for arrays over 1 KiB, and the scan path must not allocate. Fields usually yield a handful
 * of candidates; max_candidates bounds the worst case.
 */
static void
cand_sort(struct ferry_policy_cand *c, uint32_t n)
{
	static const uint32_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		uint32_t gap = gaps[g];
		for (uint32_t i = gap; i < n; i++) {
			struct ferry_policy_cand t = c[i];
			uint32_t j = i;
			for (; j >= gap && cand_before(&t, &c[j - gap]); j -= gap)
				c[j] = c[j - gap];
			c[j] = t;
		}
	}
}

/* Tokenise edits before mask edits, so a byte both cover ends up masked. */
static int
edit_cmp_action(const struct ferry_policy_rt *rt, const struct ferry_policy_edit *x)
{
	return rt->snap.rules[x->rule].action == FERRY_POLICY_ACT_TOKENISE ? 0 : 1;
}

/* Per-record state: which rules hit, in which field first. */
struct rec_state {
	uint64_t hit[FERRY_POLICY_RULES_MAX / 64];
	uint16_t hits[FERRY_POLICY_RULES_MAX];
	uint8_t hit_field[FERRY_POLICY_RULES_MAX];
	uint32_t n_hits;
	bool edited;
};

static void
rec_hit(struct rec_state *rs, uint16_t rule, uint32_t field)
{
	if ((rs->hit[rule / 64] >> (rule % 64)) & 1)
		return;
	rs->hit[rule / 64] |= UINT64_C(1) << (rule % 64);
	rs->hit_field[rule] = (uint8_t)field;
	rs->hits[rs->n_hits++] = rule;
}

/*
 * Scan one field and apply its mask/tokenise edits into a copy. *out is the field to emit:
 * f itself, or the edited copy in w->edit. 0 or a negative ferry_err (fail closed).
 */
static int
scan_field(struct ferry_policy_worker *w, const struct ferry_policy_rt *rt, uint32_t field,
	   const struct ferry_kafka_header *h, struct ferry_span f, uint64_t gate,
	   struct rec_state *rs, struct ferry_policy_result *res, struct ferry_span *out)
{
	*out = f;
	if (f.p == NULL || f.len == 0 || (gate == 0 && !w->topic_ungated))
		return 0;
	if (f.len > UINT32_MAX)
		return FERRY_ERR__BAD_LENGTH;
	w->n_cand = 0;
	w->cand_overflow = false;
	w->scan_field = field;
	w->scan_hdr = h;
	hs_error_t hrc = HS_SUCCESS;
	if (w->topic_ungated && rt->ungated_db != NULL)
		hrc = hs_scan(rt->ungated_db, (const char *)f.p, (unsigned int)f.len, 0, w->scratch,
			      on_match, w);
	/* The gated rules whose gate fired in this record (bit = id % 64: with more than 64
	 * rules two may share a bit, which costs a needless scan, never a miss). */
	for (uint32_t i = 0; gate != 0 && hrc == HS_SUCCESS && i < rt->n_gated; i++) {
		uint16_t id = rt->gated[i];
		if (((gate >> (id % 64)) & 1) && rule_applies(&w->topic_rules, id) &&
		    rule_sees_field(&rt->snap.rules[id], field, h))
			hrc = hs_scan(rt->rule_db[id], (const char *)f.p, (unsigned int)f.len, 0,
				      w->scratch, on_match, w);
	}
	if (w->cand_overflow)
		return FERRY_ERR__NOSPACE;
	if (hrc != HS_SUCCESS)
		return FERRY_ERR__INVALID_ARG;
	if (w->n_cand == 0)
		return 0;

	cand_sort(w->cand, w->n_cand);
	uint32_t n_edits = 0;
	for (uint32_t i = 0; i < w->n_cand; i++) {
		struct ferry_policy_cand *c = &w->cand[i];
		const struct ferry_policy_rule *r = &rt->snap.rules[c->rule];
		struct ferry_policy_rule_counters *rc = &w->ctr.rule[c->rule];
		rc->candidates++;
		if (!r->som) {
			rec_hit(rs, c->rule, field);
			continue;
		}
		/* Longest confirmed span per (rule, start): candidates of one start come
		 * longest first, so skip the rest once one is confirmed. */
		if (i > 0 && w->cand[i - 1].rule == c->rule && w->cand[i - 1].from == c->from &&
		    w->cand[i - 1].confirmed) {
			c->confirmed = true; /* carry "start already taken" forward */
			continue;
		}
		if (c->to < c->from || c->to > f.len ||
		    !ferry_policy_confirm(r, f.p + c->from, c->to - c->from)) {
			rc->rejected++;
			continue;
		}
		c->confirmed = true;
		rec_hit(rs, c->rule, field);
		if (r->action == FERRY_POLICY_ACT_MASK || r->action == FERRY_POLICY_ACT_TOKENISE)
			w->edits[n_edits++] = (struct ferry_policy_edit){ .from = c->from,
									  .to = c->to,
									  .rule = c->rule };
	}
	if (n_edits == 0)
		return 0;

	if (f.len > w->edit_cap - w->edit_used)
		return FERRY_ERR__NOSPACE;
	uint8_t *dst = w->edit + w->edit_used;
	memcpy(dst, f.p, f.len);
	w->edit_used += f.len;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < n_edits; i++) {
			const struct ferry_policy_edit *e = &w->edits[i];
			if (edit_cmp_action(rt, e) != pass)
				continue;
			const struct ferry_policy_rule *r = &rt->snap.rules[e->rule];
			size_t len = e->to - e->from;
			if (r->action == FERRY_POLICY_ACT_TOKENISE) {
				if (ferry_policy_token_apply(w->tk, f.p + e->from, dst + e->from,
							     len) != 0)
					return FERRY_ERR__INVALID_ARG;
				w->ctr.rule[e->rule].tokenised++;
				res->spans_tokenised++;
			} else {
				ferry_policy_mask_span(dst + e->from, len, r->mask_char,
						       r->keep_last);
				w->ctr.rule[e->rule].masked++;
				res->spans_masked++;
			}
		}
	}
	rs->edited = true;
	*out = ferry_span_make(dst, f.len);
	return 0;
}

static void
audit_add(struct ferry_policy_worker *w, struct ferry_policy_result *res, int32_t partition,
	  int64_t offset, uint16_t rule, uint8_t action, uint8_t field)
{
	if (res->n_audit == w->conf.max_audit) {
		res->audit_lost++;
		w->ctr.audit_lost++;
		return;
	}
	w->audit[res->n_audit++] = (struct ferry_policy_audit){
		.topic = w->topic,
		.topic_len = (uint16_t)w->topic_len,
		.partition = partition,
		.offset = offset,
		.rule = rule,
		.action = action,
		.field = field,
	};
}

static int
apply_fail(struct ferry_policy_worker *w, struct ferry_policy_result *res, int err)
{
	res->kind = FERRY_POLICY_RES_QUARANTINED;
	res->error = err;
	res->out = NULL;
	res->out_len = 0;
	w->ctr.errors++;
	w->ctr.quarantined++;
	return err;
}

static int
apply_unchanged(struct ferry_policy_worker *w, struct ferry_policy_result *res)
{
	res->kind = FERRY_POLICY_RES_UNCHANGED;
	res->out = NULL;
	res->out_len = 0;
	res->records_out = res->records_in; /* every scanned record goes out as it was */
	w->ctr.unchanged++;
	return 0;
}

const struct ferry_policy_topic_counters *
ferry_policy_worker_topic_counters(const struct ferry_policy_worker *w, uint32_t *n)
{
	/* "(other)" is used only once all named slots are taken, so it is the entry right
	 * after them and the array stays contiguous. */
	*n = w->n_tctr + (w->tctr_other ? 1 : 0);
	return w->tctr;
}

/* The counters of this topic: a linear search when the topic changes (at most 128 names). */
static struct ferry_policy_topic_counters *
topic_counters(struct ferry_policy_worker *w, const char *topic, size_t len)
{
	if (w->tctr_cur != NULL && w->tctr_topic_len == len &&
	    memcmp(w->tctr_topic, topic, len) == 0)
		return w->tctr_cur;
	struct ferry_policy_topic_counters *c = NULL;
	for (uint32_t i = 0; i < w->n_tctr && c == NULL; i++)
		if (strlen(w->tctr[i].topic) == len && memcmp(w->tctr[i].topic, topic, len) == 0)
			c = &w->tctr[i];
	if (c == NULL && w->n_tctr < FERRY_POLICY_TOPICS_TRACKED) {
		c = &w->tctr[w->n_tctr++];
		memcpy(c->topic, topic, len);
		c->topic[len] = '\0';
	}
	if (c == NULL) {
		c = &w->tctr[FERRY_POLICY_TOPICS_TRACKED];
		if (!w->tctr_other)
			snprintf(c->topic, sizeof(c->topic), "(other)");
		w->tctr_other = true;
	}
	memcpy(w->tctr_topic, topic, len);
	w->tctr_topic_len = len;
	w->tctr_cur = c;
	return c;
}

static int apply_batch(struct ferry_policy_worker *w, const struct ferry_policy_rt *rt,
		       const char *topic, size_t topic_len, int32_t partition,
		       const struct ferry_kafka_batch *b, struct ferry_policy_result *res);

int
ferry_policy_apply(struct ferry_policy_worker *w, const struct ferry_policy_rt *rt,
		   const char *topic, size_t topic_len, int32_t partition,
		   const struct ferry_kafka_batch *b, struct ferry_policy_result *res)
{
	int rc = apply_batch(w, rt, topic, topic_len, partition, b, res);
	if (topic_len > FERRY_POLICY_TOPIC_MAX)
		return rc; /* refused before anything else: no topic to count under */
	struct ferry_policy_topic_counters *c = topic_counters(w, topic, topic_len);
	uint64_t n = b->hdr.RecordsCount > 0 ? (uint64_t)b->hdr.RecordsCount : 0;
	c->batches++;
	c->records_scanned += res->records_in;
	c->records_matched += res->records_matched;
	c->spans_masked += res->spans_masked;
	c->spans_tokenised += res->spans_tokenised;
	switch (res->kind) {
	case FERRY_POLICY_RES_DENIED:
		c->batches_denied++;
		c->records_denied += n;
		break;
	case FERRY_POLICY_RES_QUARANTINED:
		c->batches_quarantined++;
		c->records_quarantined += n;
		c->errors += rc != 0;
		break;
	case FERRY_POLICY_RES_REWRITTEN:
		c->batches_rewritten++;
		c->records_dropped += res->records_dropped;
		break;
	case FERRY_POLICY_RES_UNCHANGED: break;
	}
	return rc;
}

static int
apply_batch(struct ferry_policy_worker *w, const struct ferry_policy_rt *rt, const char *topic,
	    size_t topic_len, int32_t partition, const struct ferry_kafka_batch *b,
	    struct ferry_policy_result *res)
{
	int rc;
	memset(res, 0, sizeof(*res));
	res->quarantine_rule = -1;
	res->generation = rt->generation;
	res->audit = w->audit;
	w->ctr.batches++;

	if (w->prepared_uid != rt->uid && (rc = ferry_policy_worker_prepare(w, rt)) != 0)
		return apply_fail(w, res, FERRY_ERR__NOMEM);
	if (topic_len > FERRY_POLICY_TOPIC_MAX)
		return apply_fail(w, res, FERRY_ERR__INVALID_ARG);

	/* 1. topic, cached per name */
	if (!w->topic_valid || w->topic_len != topic_len ||
	    memcmp(w->topic, topic, topic_len) != 0) {
		memcpy(w->topic, topic, topic_len);
		w->topic[topic_len] = '\0';
		w->topic_len = topic_len;
		ferry_policy_topic_decide(&rt->snap, rt->topic_db, w->scratch, w->topic, topic_len,
					  &w->topic_rules);
		w->topic_gated = w->topic_ungated = false;
		for (uint32_t i = 0; i < rt->snap.n_rules; i++) {
			if (!rule_applies(&w->topic_rules, i))
				continue;
			if (rt->snap.rules[i].gated)
				w->topic_gated = true;
			else
				w->topic_ungated = true;
		}
		w->topic_valid = true;
	}
	if (w->topic_rules.decision == FERRY_POLICY_TOPIC_DENY) {
		res->kind = FERRY_POLICY_RES_DENIED;
		w->ctr.denied++;
		return 0;
	}
	if (w->topic_rules.decision == FERRY_POLICY_TOPIC_PERMIT || !rt->has_record_rules ||
	    (!w->topic_gated && !w->topic_ungated) || ferry_kafka_batch_is_control(&b->hdr))
		return apply_unchanged(w, res);

	/* 2. records */
	if (b->hdr.RecordsCount < 0 || (uint32_t)b->hdr.RecordsCount > w->conf.max_records ||
	    b->records.len > w->conf.max_batch_bytes)
		return apply_fail(w, res, FERRY_ERR__NOSPACE);
	struct ferry_span recs;
	rc = ferry_kafka_batch_records(w->cc, b, w->dec, w->conf.max_batch_bytes, &recs);
	if (rc < 0)
		return apply_fail(w, res, rc);

	w->scan_rt = rt;
	w->edit_used = 0;

	/* index the records (a malformed one fails the batch before anything is scanned) */
	struct ferry_kafka_rec_iter it;
	ferry_kafka_rec_iter_init(&it, recs, b->hdr.RecordsCount);
	w->n_rv = 0;
	while ((rc = ferry_kafka_rec_next(&it, &w->rv[w->n_rv])) == 1) {
		if (it.rd.off > UINT32_MAX)
			return apply_fail(w, res, FERRY_ERR__BAD_LENGTH);
		w->rend[w->n_rv] = (uint32_t)it.rd.off;
		w->rgate[3 * w->n_rv] = w->rgate[3 * w->n_rv + 1] = w->rgate[3 * w->n_rv + 2] = 0;
		w->n_rv++;
	}
	if (rc < 0)
		return apply_fail(w, res, rc);

	/* 2a. gates: one scan over every record's bytes with the prefilter patterns, one pass
	 * per group of run gates */
	w->gate_cursor = 0;
	w->recs_base = recs.p;
	w->ctr.bytes_scanned += recs.len;
	if (w->topic_gated && rt->gate_db != NULL && recs.len > 0) {
		if (recs.len > UINT32_MAX)
			return apply_fail(w, res, FERRY_ERR__BAD_LENGTH);
		if (hs_scan(rt->gate_db, (const char *)recs.p, (unsigned int)recs.len, 0,
			    w->scratch, on_gate, w) != HS_SUCCESS)
			return apply_fail(w, res, FERRY_ERR__INVALID_ARG);
	}

	for (uint32_t g = 0; w->topic_gated && g < rt->n_runs && recs.len > 0; g++) {
		const struct ferry_policy_run_group *grp = &rt->runs[g];
		bool any = false;
		for (uint32_t k = 0; k < grp->n && !any; k++)
			any = rule_applies(&w->topic_rules, grp->rule[k]);
		if (!any)
			continue;
		w->scan_group = grp;
		ferry_policy_run_scan(&grp->run, grp->min, grp->n, recs.p, recs.len, on_run, w);
	}

	/* 2b. exact, field by field */
	uint32_t n_out = 0, n_hdr = 0;
	bool changed = false;
	struct rec_state rs;
	for (uint32_t k = 0; k < w->n_rv; k++) {
		const struct ferry_kafka_record r = w->rv[k];
		const uint64_t *gate = &w->rgate[3 * k]; /* key, value, headers */
		uint64_t any = gate[0] | gate[1] | gate[2];
		for (uint32_t i = 0; any != 0 && i < rt->n_gated; i++)
			if ((any >> (rt->gated[i] % 64)) & 1)
				w->ctr.rule[rt->gated[i]].gated++;
		struct ferry_kafka_record_in *ri = &w->recs[n_out];
		memset(&rs, 0, offsetof(struct rec_state, hits));
		rs.n_hits = 0;
		rs.edited = false;
		res->records_in++;
		w->ctr.records_scanned++;
		ri->Timestamp =
		    (int64_t)((uint64_t)b->hdr.BaseTimestamp + (uint64_t)r.TimestampDelta);
		rc = scan_field(w, rt, FERRY_POLICY_WHERE_KEY, NULL, r.Key, gate[0], &rs, res,
				&ri->Key);
		if (rc == 0)
			rc = scan_field(w, rt, FERRY_POLICY_WHERE_VALUE, NULL, r.Value, gate[1],
					&rs, res, &ri->Value);
		if (rc < 0)
			return apply_fail(w, res, rc);
		ri->Headers = &w->hdrs[n_hdr];
		ri->n_headers = 0;
		struct ferry_kafka_hdr_iter hi;
		struct ferry_kafka_header h;
		ferry_kafka_hdr_iter_init(&hi, &r);
		while ((rc = ferry_kafka_hdr_next(&hi, &h)) == 1) {
			if (n_hdr == w->conf.max_headers)
				return apply_fail(w, res, FERRY_ERR__NOSPACE);
			struct ferry_kafka_header *oh = &w->hdrs[n_hdr++];
			oh->Key = h.Key;
			rc = scan_field(w, rt, FERRY_POLICY_WHERE_ALL_HEADERS, &h, h.Value, gate[2],
					&rs, res, &oh->Value);
			if (rc < 0)
				return apply_fail(w, res, rc);
			ri->n_headers++;
		}
		if (rc < 0)
			return apply_fail(w, res, rc);

		/* 4. the record's action: the most severe of the rules that hit */
		enum ferry_policy_action act = FERRY_POLICY_ACT_PASS;
		int64_t offset =
		    (int64_t)((uint64_t)b->hdr.BaseOffset + (uint64_t)(int64_t)r.OffsetDelta);
		for (uint32_t i = 0; i < rs.n_hits; i++) {
			uint16_t id = rs.hits[i];
			enum ferry_policy_action ra = rt->snap.rules[id].action;
			if (ra > act)
				act = ra;
			w->ctr.rule[id].matched++;
			if (ra == FERRY_POLICY_ACT_TAG)
				w->ctr.rule[id].tagged++;
			audit_add(w, res, partition, offset, id, (uint8_t)ra, rs.hit_field[id]);
		}
		if (rs.n_hits > 0) {
			res->records_matched++;
			w->ctr.records_matched++;
		}
		if (act == FERRY_POLICY_ACT_QUARANTINE) {
			for (uint32_t i = 0; i < rs.n_hits; i++)
				if (rt->snap.rules[rs.hits[i]].action ==
				    FERRY_POLICY_ACT_QUARANTINE) {
					res->quarantine_rule = rs.hits[i];
					w->ctr.rule[rs.hits[i]].quarantined++;
					break;
				}
			res->kind = FERRY_POLICY_RES_QUARANTINED;
			w->ctr.quarantined++;
			return 0;
		}
		if (act == FERRY_POLICY_ACT_DROP) {
			for (uint32_t i = 0; i < rs.n_hits; i++)
				if (rt->snap.rules[rs.hits[i]].action == FERRY_POLICY_ACT_DROP)
					w->ctr.rule[rs.hits[i]].dropped++;
			res->records_dropped++;
			w->ctr.records_dropped++;
			n_hdr -= ri->n_headers; /* give the header slots back */
			changed = true;
			continue;
		}
		if (rs.edited)
			changed = true;
		n_out++;
	}
	if (rc < 0)
		return apply_fail(w, res, rc);
	if (!changed)
		return apply_unchanged(w, res);

	/* 5. rebuild */
	res->kind = FERRY_POLICY_RES_REWRITTEN;
	res->records_out = n_out;
	res->out = w->out;
	w->ctr.rewritten++;
	if (n_out == 0)
		return 0;
	struct ferry_kafka_batch_args a = {
		.BaseOffset = b->hdr.BaseOffset,
		.PartitionLeaderEpoch = b->hdr.PartitionLeaderEpoch,
		.Attributes = b->hdr.Attributes,
		.ProducerId = b->hdr.ProducerId,
		.ProducerEpoch = b->hdr.ProducerEpoch,
		.BaseSequence = b->hdr.BaseSequence,
	};
	struct ferry_wr wr;
	ferry_wr_init(&wr, w->out, w->out_cap);
	rc = ferry_kafka_batch_build(&wr, &a, w->recs, n_out, w->cc, w->build, w->build_cap);
	if (rc == 0 && wr.overflow)
		rc = FERRY_ERR__NOSPACE;
	if (rc == 0 && (b->hdr.Attributes & FERRY_KAFKA_ATTR_LOG_APPEND_TIME)) {
		struct ferry_kafka_batch_rewrite rw = { .set = FERRY_KAFKA_RW_MAX_TIMESTAMP,
							.MaxTimestamp = b->hdr.MaxTimestamp };
		rc = ferry_kafka_batch_rewrite(w->out, wr.len, &rw);
	}
	if (rc < 0) {
		w->ctr.rewritten--;
		return apply_fail(w, res, rc);
	}
	res->out_len = wr.len;
	return 0;
}
