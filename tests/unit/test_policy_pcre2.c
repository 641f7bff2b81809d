/*
 * test_policy_pcre2.c - differential test of the record database against PCRE2 (issue 3):
 * on a generated trading corpus (benchmarks/loadgen, fixed seed, 5 % PII, JSON and binary),
 * the engine's matches agree with libpcre2-8 running the same patterns, record by record,
 * field by field (key, value, each header value): no missed match, no extra one.
 *
 * What is compared, per field:
 *   - per pattern: every pattern of the pii-default pack is also compiled on its own with
 *     hs_compile() and the flags the compiler uses (ferry_policy_rule_hs_flags()). Hyperscan
 *     reports every end offset at which some match of the pattern ends (overlapping ones
 *     included), and with HS_FLAG_SOM_LEFTMOST the leftmost start for that end. PCRE2 gives
 *     the same set through pcre2_dfa_match(): unanchored from offset s, it finds the leftmost
 *     start s' >= s at which the pattern matches and returns every match length from s'
 *     (all alternatives, not just the longest); searching again from s' + 1 enumerates every
 *     start, so the union of the ends is "every e such that some substring ending at e
 *     matches", and the first start seen for an end is its leftmost start. The two end sets
 *     must be equal, and for SOM rules the start at each end too.
 *   - the snapshot's own database (snap.record_db, hs_deserialize_database(), ids = rule
 *     index, all patterns of a rule share the id): the set of (rule, end) pairs must equal the
 *     union over the rule's patterns of PCRE2's ends; for SOM rules the smallest start
 *     reported at an end must be the smallest PCRE2 leftmost start over those patterns, and
 *     every start reported must be the leftmost start of one of them.
 *
 * Semantics: both engines run byte-wise (no UTF mode, no UCP): \d is [0-9], \b uses the ASCII
 * word class [A-Za-z0-9_] (PCRE2's default C-locale tables; Hyperscan without HS_FLAG_UCP),
 * bytes >= 0x80 are non-word. Caseless rules get PCRE2_CASELESS. Every pii-default pattern is
 * expressible identically in both: none uses a construct with differing meaning (no $, no .,
 * no backreference, no lookaround, no empty match), so nothing is excluded or relaxed here.
 *
 * Size: FERRY_PCRE2_RECORDS (default 10000) records per format, so 20000 by default; the
 * counts and the time are printed at the end.
 */
#include <errno.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs_compile.h>
#include <hs_runtime.h>
#include <pcre2.h>

#include "testutil.h"

#include "ferry/policy.h"
#include "gen.h"
#include "policy_compile.h"
#include "rules.h"

#define SEED       UINT64_C(0x5eed0003)
#define PII_SHARE  0.05
#define RECORDS    10000 /* per format */
#define REPORT_MAX 20    /* mismatches printed before giving up on detail */
#define NO_MATCH   INT64_C(-1)

static char errbuf[16384];

/*
 * A set of end offsets, each with the smallest start seen for it: dense array for lookups,
 * list of the ends set so that filling, comparing and clearing cost the matches, not the
 * field length.
 */
struct ends {
	int64_t *at; /* [cap]: smallest start at each end, NO_MATCH when none */
	size_t *list;
	size_t n;
};

static void
ends_init(struct ends *s, size_t cap)
{
	s->at = malloc(cap * sizeof(*s->at));
	s->list = malloc(cap * sizeof(*s->list));
	assert_non_null(s->at);
	assert_non_null(s->list);
	for (size_t e = 0; e < cap; e++)
		s->at[e] = NO_MATCH;
	s->n = 0;
}

static void
ends_add(struct ends *s, size_t e, int64_t start)
{
	if (s->at[e] == NO_MATCH)
		s->list[s->n++] = e;
	if (s->at[e] == NO_MATCH || start < s->at[e])
		s->at[e] = start;
}

static void
ends_clear(struct ends *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->at[s->list[i]] = NO_MATCH;
	s->n = 0;
}

static void
ends_free(struct ends *s)
{
	free(s->at);
	free(s->list);
}

/* One pattern of one rule, compiled by both engines. */
struct pat {
	uint32_t rule;
	size_t index; /* within the rule's patterns */
	const char *expr;
	unsigned int hs_flags;
	hs_database_t *hs_db;
	pcre2_code *re;
	struct ends hs; /* leftmost start (SOM) or 0 at each end */
	struct ends pc;
};

struct ctx {
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	hs_database_t *db; /* the snapshot's record database */
	hs_scratch_t *scratch;
	struct pat *pats;
	size_t n_pats;
	size_t cap;             /* longest field + 1 */
	struct ends *comb_got;  /* [n_rules]: smallest start reported by the record db */
	struct ends *comb_want; /* [n_rules]: smallest PCRE2 start over the rule's patterns */
	struct ends *comb_bad;  /* [n_rules]: a reported start that is no pattern's leftmost */
	pcre2_match_data *md;
	int *ws;
	size_t ws_len;
	/* Counters for the report. */
	uint64_t fields, bytes, pat_ends, comb_ends, mismatches;
};

/* Where a field came from, for mismatch messages. */
struct where {
	const char *format;
	uint64_t seq;
	const char *field;
	unsigned header;
};

static int
on_pat_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	     void *arg)
{
	(void)id;
	(void)flags;
	ends_add(arg, (size_t)to, (int64_t)from);
	return 0;
}

static int
on_comb_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	      void *arg)
{
	(void)flags;
	struct ctx *c = arg;
	if (id >= c->snap.n_rules) {
		c->mismatches++; /* an id that names no rule */
		print_error("record db: match id %u, only %u rules\n", id, c->snap.n_rules);
		return 0;
	}
	ends_add(&c->comb_got[id], (size_t)to, (int64_t)from);
	if (c->snap.rules[id].som) {
		/* The start must be some pattern's leftmost start at this end. */
		bool ok = false;
		for (size_t k = 0; k < c->n_pats && !ok; k++)
			ok = c->pats[k].rule == id && c->pats[k].pc.at[to] == (int64_t)from;
		if (!ok)
			ends_add(&c->comb_bad[id], (size_t)to, (int64_t)from);
	}
	return 0;
}

/* Every end offset of every match of re in s[0 .. len), with its leftmost start. */
static void
pcre2_all_ends(struct ctx *c, pcre2_code *re, const uint8_t *s, size_t len, struct ends *end)
{
	size_t off = 0;
	while (off <= len) {
		int rc = pcre2_dfa_match(re, s, len, off, 0, c->md, NULL, c->ws, c->ws_len);
		if (rc == PCRE2_ERROR_NOMATCH)
			return;
		if (rc == PCRE2_ERROR_DFA_WSSIZE) {
			c->ws_len *= 2;
			c->ws = realloc(c->ws, c->ws_len * sizeof(*c->ws));
			assert_non_null(c->ws);
			continue;
		}
		if (rc <= 0) {
			print_error("pcre2_dfa_match: %d (ovector %s)\n", rc,
				    rc == 0 ? "too small" : "error");
			fail();
		}
		const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
		size_t start = ov[0];
		for (int i = 0; i < rc; i++) {
			assert_int_equal(ov[2 * i], start);
			size_t e = ov[2 * i + 1];
			assert_true(e > start && e <= len); /* no pack pattern matches empty */
			ends_add(end, e, (int64_t)start);   /* the first start is the leftmost */
		}
		off = start + 1;
	}
}

static void
report(struct ctx *c, const struct where *w, const char *what, const struct pat *p, uint32_t rule,
       size_t e, int64_t hs, int64_t pc)
{
	c->mismatches++;
	if (c->mismatches > REPORT_MAX)
		return;
	char field[32];
	if (strcmp(w->field, "header") == 0)
		snprintf(field, sizeof(field), "header[%u]", w->header);
	else
		snprintf(field, sizeof(field), "%s", w->field);
	char pat[512]; /* the longest pack pattern is about 200 bytes; truncation is harmless */
	if (p != NULL)
		snprintf(pat, sizeof(pat), "pattern %zu '%s'", p->index, p->expr);
	else
		snprintf(pat, sizeof(pat), "all patterns");
	print_error("%s record %llu %s: %s: rule %s %s: end %zu: hyperscan %s%lld, pcre2 %s%lld\n",
		    w->format, (unsigned long long)w->seq, field, what, c->snap.rules[rule].name,
		    pat, e, hs == NO_MATCH ? "no match " : "start ", (long long)hs,
		    pc == NO_MATCH ? "no match " : "start ", (long long)pc);
}

static void
check_field(struct ctx *c, const struct where *w, const uint8_t *s, size_t len)
{
	assert_true(len < c->cap);
	c->fields++;
	c->bytes += len;

	for (size_t k = 0; k < c->n_pats; k++) {
		struct pat *p = &c->pats[k];
		bool som = c->snap.rules[p->rule].som;
		assert_int_equal(hs_scan(p->hs_db, (const char *)s, (unsigned int)len, 0,
					 c->scratch, on_pat_match, &p->hs),
				 HS_SUCCESS);
		pcre2_all_ends(c, p->re, s, len, &p->pc);
		c->pat_ends += p->pc.n;
		/* Every Hyperscan end against PCRE2, then the PCRE2 ends Hyperscan missed. */
		for (size_t i = 0; i < p->hs.n; i++) {
			size_t e = p->hs.list[i];
			int64_t pc = p->pc.at[e];
			if (!som && pc != NO_MATCH)
				pc = 0; /* without SOM Hyperscan reports from = 0 */
			if (p->hs.at[e] != pc)
				report(c, w, "pattern", p, p->rule, e, p->hs.at[e], pc);
		}
		for (size_t i = 0; i < p->pc.n; i++) {
			size_t e = p->pc.list[i];
			if (p->hs.at[e] == NO_MATCH)
				report(c, w, "pattern", p, p->rule, e, NO_MATCH, p->pc.at[e]);
			ends_add(&c->comb_want[p->rule], e, som ? p->pc.at[e] : 0);
		}
	}

	/* The snapshot's database: ids are rules, a rule's patterns share one. */
	assert_int_equal(
	    hs_scan(c->db, (const char *)s, (unsigned int)len, 0, c->scratch, on_comb_match, c),
	    HS_SUCCESS);
	for (uint32_t r = 0; r < c->snap.n_rules; r++) {
		struct ends *got = &c->comb_got[r], *want = &c->comb_want[r];
		c->comb_ends += want->n;
		for (size_t i = 0; i < got->n; i++) {
			size_t e = got->list[i];
			if (got->at[e] != want->at[e])
				report(c, w, "record db", NULL, r, e, got->at[e], want->at[e]);
		}
		for (size_t i = 0; i < want->n; i++) {
			size_t e = want->list[i];
			if (got->at[e] == NO_MATCH)
				report(c, w, "record db", NULL, r, e, NO_MATCH, want->at[e]);
		}
		for (size_t i = 0; i < c->comb_bad[r].n; i++) {
			size_t e = c->comb_bad[r].list[i];
			report(c, w, "record db (a start no pattern gives)", NULL, r, e,
			       c->comb_bad[r].at[e], want->at[e]);
		}
		ends_clear(got);
		ends_clear(want);
		ends_clear(&c->comb_bad[r]);
	}
	for (size_t k = 0; k < c->n_pats; k++) {
		ends_clear(&c->pats[k].hs);
		ends_clear(&c->pats[k].pc);
	}
}

static void
setup_ctx(struct ctx *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(ferry_rules_load_pack("pii-default", &c->rs, errbuf, sizeof(errbuf)), 0);
	if (ferry_policy_compile(&c->rs, &c->snap, errbuf, sizeof(errbuf)) != 0) {
		print_error("%s\n", errbuf);
		fail();
	}
	assert_int_equal(hs_deserialize_database(c->snap.record_db, c->snap.record_db_len, &c->db),
			 HS_SUCCESS);
	assert_int_equal(hs_alloc_scratch(c->db, &c->scratch), HS_SUCCESS);
	assert_int_equal(c->snap.n_rules, c->rs.n_rules);

	c->cap = cap;
	for (size_t r = 0; r < c->rs.n_rules; r++)
		c->n_pats += c->rs.rules[r].n_patterns;
	assert_int_equal(c->n_pats, c->snap.n_patterns);
	c->pats = calloc(c->n_pats, sizeof(*c->pats));
	assert_non_null(c->pats);
	size_t k = 0;
	for (size_t r = 0; r < c->rs.n_rules; r++) {
		const struct ferry_rules_rule *rr = &c->rs.rules[r];
		/* The snapshot's rule (what the runtime reads) decides the flags. */
		const struct ferry_policy_rule *sr = &c->snap.rules[r];
		assert_string_equal(sr->name, rr->r.name);
		for (size_t i = 0; i < rr->n_patterns; i++, k++) {
			struct pat *p = &c->pats[k];
			p->rule = (uint32_t)r;
			p->index = i;
			p->expr = rr->patterns[i].expr;
			p->hs_flags = ferry_policy_rule_hs_flags(sr);
			hs_compile_error_t *cerr = NULL;
			if (hs_compile(p->expr, p->hs_flags, HS_MODE_BLOCK, NULL, &p->hs_db,
				       &cerr) != HS_SUCCESS) {
				print_error("hs_compile '%s': %s\n", p->expr,
					    cerr ? cerr->message : "?");
				hs_free_compile_error(cerr);
				fail();
			}
			assert_int_equal(hs_alloc_scratch(p->hs_db, &c->scratch), HS_SUCCESS);
			/* Byte-wise, as Hyperscan without HS_FLAG_UTF8/HS_FLAG_UCP. */
			uint32_t opts = sr->caseless ? PCRE2_CASELESS : 0;
			int ec;
			PCRE2_SIZE eo;
			p->re = pcre2_compile((PCRE2_SPTR)p->expr, PCRE2_ZERO_TERMINATED, opts, &ec,
					      &eo, NULL);
			if (p->re == NULL) {
				PCRE2_UCHAR msg[256];
				pcre2_get_error_message(ec, msg, sizeof(msg));
				print_error("pcre2_compile '%s' at %zu: %s\n", p->expr, (size_t)eo,
					    (const char *)msg);
				fail();
			}
			ends_init(&p->hs, cap);
			ends_init(&p->pc, cap);
		}
	}
	c->comb_got = calloc(c->snap.n_rules, sizeof(*c->comb_got));
	c->comb_want = calloc(c->snap.n_rules, sizeof(*c->comb_want));
	c->comb_bad = calloc(c->snap.n_rules, sizeof(*c->comb_bad));
	assert_non_null(c->comb_got);
	assert_non_null(c->comb_want);
	assert_non_null(c->comb_bad);
	for (uint32_t r = 0; r < c->snap.n_rules; r++) {
		ends_init(&c->comb_got[r], cap);
		ends_init(&c->comb_want[r], cap);
		ends_init(&c->comb_bad[r], cap);
	}
	/* Every match from one start: at most one per end offset. */
	c->md = pcre2_match_data_create((uint32_t)cap + 1, NULL);
	assert_non_null(c->md);
	c->ws_len = 4096;
	c->ws = malloc(c->ws_len * sizeof(*c->ws));
	assert_non_null(c->ws);
}

static void
teardown_ctx(struct ctx *c)
{
	for (size_t k = 0; k < c->n_pats; k++) {
		hs_free_database(c->pats[k].hs_db);
		pcre2_code_free(c->pats[k].re);
		ends_free(&c->pats[k].hs);
		ends_free(&c->pats[k].pc);
	}
	for (uint32_t r = 0; r < c->snap.n_rules; r++) {
		ends_free(&c->comb_got[r]);
		ends_free(&c->comb_want[r]);
		ends_free(&c->comb_bad[r]);
	}
	free(c->pats);
	free(c->comb_got);
	free(c->comb_want);
	free(c->comb_bad);
	free(c->ws);
	pcre2_match_data_free(c->md);
	hs_free_scratch(c->scratch);
	hs_free_database(c->db);
	ferry_policy_snapshot_free(&c->snap);
	ferry_rules_free(&c->rs);
}

static void
test_pcre2_differential(void **state)
{
	(void)state;
	unsigned long n = RECORDS;
	const char *env = getenv("FERRY_PCRE2_RECORDS");
	if (env != NULL && *env != '\0')
		n = strtoul(env, NULL, 10);

	static const struct {
		int format;
		const char *name;
	} formats[] = { { FERRY_GEN_FMT_JSON, "json" }, { FERRY_GEN_FMT_BINARY, "binary" } };

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct ctx *c = malloc(sizeof(*c));
	assert_non_null(c);
	struct ferry_gen g;
	struct ferry_gen_conf conf;
	ferry_gen_conf_default(&conf);
	conf.seed = SEED;
	conf.pii_share = PII_SHARE;
	assert_int_equal(ferry_gen_init(&g, &conf, errbuf, sizeof(errbuf)), 0);
	size_t buf_len = ferry_gen_buf_size(&g);
	/* A field is never longer than the whole record buffer. */
	setup_ctx(c, buf_len + 1);
	uint8_t *buf = malloc(buf_len);
	assert_non_null(buf);
	uint64_t pii_records = 0, pii_items = 0;

	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		conf.format = formats[f].format;
		assert_int_equal(ferry_gen_init(&g, &conf, errbuf, sizeof(errbuf)), 0);
		assert_true(ferry_gen_buf_size(&g) <= buf_len);
		for (unsigned long i = 0; i < n; i++) {
			struct ferry_gen_rec r;
			assert_int_equal(ferry_gen_next(&g, buf, buf_len, &r), 0);
			struct where w = { formats[f].name, r.seq, "key", 0 };
			if (r.key.p != NULL)
				check_field(c, &w, r.key.p, r.key.len);
			w.field = "value";
			check_field(c, &w, r.value.p, r.value.len);
			w.field = "header";
			for (uint32_t h = 0; h < r.n_headers; h++) {
				w.header = h;
				if (r.headers[h].Value.p != NULL)
					check_field(c, &w, r.headers[h].Value.p,
						    r.headers[h].Value.len);
			}
			pii_records += r.n_pii > 0;
			pii_items += r.n_pii;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("pcre2 differential: %lu records x 2 formats (%llu with PII, %llu items), "
	       "%llu fields, %llu bytes, %zu patterns in %u rules\n"
	       "  per-pattern match ends compared: %llu; record-db (rule, end) pairs compared: "
	       "%llu; mismatches: %llu; %.2f s\n",
	       n, (unsigned long long)pii_records, (unsigned long long)pii_items,
	       (unsigned long long)c->fields, (unsigned long long)c->bytes, c->n_pats,
	       c->snap.n_rules, (unsigned long long)c->pat_ends, (unsigned long long)c->comb_ends,
	       (unsigned long long)c->mismatches, secs);
	uint64_t mismatches = c->mismatches;
	uint64_t pat_ends = c->pat_ends;
	free(buf);
	teardown_ctx(c);
	free(c);
	assert_int_equal(mismatches, 0);
	/* The corpus must exercise the patterns, or agreement means nothing. */
	assert_true(pat_ends > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcre2_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
