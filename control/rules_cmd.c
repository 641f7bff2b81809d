/*
 * rules_cmd.c - `ferryctl rules check` and `ferryctl rules test`.
 *
 * check: parse and compile a policy rules file exactly as the gateway would, print one line
 * per rule and the database sizes, or the FILE:LINE errors and exit 1.
 *
 * test: compile the same way, then run records (text lines, rules_lines.h) or Kafka batch
 * files through the runtime's ferry_policy_apply() and print what each rule did to each
 * record, and what became of each batch. Two workers: one runs every batch whole (the
 * authoritative outcome, as a gateway would see it), the other runs each record alone in a
 * one-record batch, so every record gets its own audit events and before/after fields even
 * when an earlier record quarantines or drops. The runtime reports rules and fields but not
 * spans; spans are found here by scanning the field again with a copy of the record database
 * compiled with start of match for every rule, confirmed with the same validators
 * (ferry_policy_confirm) and the runtime's "longest confirmed span per start" rule.
 *
 * Main thread only; owns every buffer it allocates and frees it before returning.
 */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hs_runtime.h>

#include "ferry/common.h"
#include "ferry/kafka.h"
#include "ferry/policy.h"
#include "ferryctl.h"
#include "policy_compile.h"
#include "rules.h"
#include "rules_lines.h"

#define ERR_MAX (16u << 10)

static void
rules_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: ferryctl rules check FILE | --pack NAME\n"
	    "       ferryctl rules test FILE | --pack NAME  (--records FILE | --batch FILE)\n"
	    "       ferryctl rules reload --pidfile F [--check FILE]\n"
	    "                           [--topic T] [--partition P] [--codec C] [--out FILE] "
	    "[--json]\n"
	    "\n"
	    "check  compile a rules file (or a built-in pack: pii-default), print its rules and\n"
	    "       database sizes; errors as FILE:LINE.\n"
	    "test   compile, then run records through the policy runtime and print, per record,\n"
	    "       each rule that acted (name, action, field, span [start,end) in that field,\n"
	    "       and for mask/tokenise the bytes before -> after), the topic decision and\n"
	    "       each batch's outcome (unchanged, rewritten, quarantined, denied).\n"
	    "  --records FILE   one record per line ('-' = stdin), TAB-separated fields:\n"
	    "                     VALUE                              null key\n"
	    "                     KEY<TAB>VALUE[<TAB>h:NAME=VALUE]...   key, value, headers\n"
	    "                   an empty KEY is a null key (ferry-loadgen --stdout output reads\n"
	    "                   as is); a field that is exactly \\N is null; escapes \\t \\n \\r\n"
	    "                   \\\\ \\xHH; empty lines are skipped. Records go into batches of\n"
	    "                   at most 500 records / 1 MiB, offsets from 0.\n"
	    "  --batch FILE     Kafka RecordBatch v2 bytes back to back, any codec (what\n"
	    "                   ferry-loadgen --out-file writes; '-' = stdin)\n"
	    "  --topic T        topic the records belong to (default \"test\")\n"
	    "  --partition P    partition in audit events (default 0)\n"
	    "  --codec C        codec of the batches built from --records: none (default),\n"
	    "                   gzip, snappy, lz4, zstd\n"
	    "  --out FILE       write what a gateway would forward, batch after batch: the\n"
	    "                   original bytes (unchanged) or the rebuilt batch (rewritten);\n"
	    "                   quarantined and denied batches are left out\n"
	    "  --json           one JSON object per line: \"type\" is topic, record or batch;\n"
	    "                   bytes >= 0x80 are written as \\u00XX (Latin-1 code points)\n"
	    "Exit status: 0 success, 1 errors (rules, input, bad batch), 2 usage.\n");
}

static void
format_where(const struct ferry_policy_rule *r, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
#define ADD(...)                                                                                   \
	do {                                                                                       \
		int w_ = snprintf(buf + o, len - o, "%s", o ? "," : "");                           \
		o += (w_ > 0 && (size_t)w_ < len - o) ? (size_t)w_ : 0;                            \
		w_ = snprintf(buf + o, len - o, __VA_ARGS__);                                      \
		o += (w_ > 0 && (size_t)w_ < len - o) ? (size_t)w_ : 0;                            \
	} while (0)
	if ((r->where & FERRY_POLICY_WHERE_ALL) == FERRY_POLICY_WHERE_ALL) {
		ADD("all");
	} else {
		if (r->where & FERRY_POLICY_WHERE_KEY)
			ADD("key");
		if (r->where & FERRY_POLICY_WHERE_VALUE)
			ADD("value");
		if (r->where & FERRY_POLICY_WHERE_ALL_HEADERS)
			ADD("headers");
	}
	if (r->where & FERRY_POLICY_WHERE_HEADER)
		for (uint32_t i = 0; i < r->n_headers; i++)
			ADD("header:%s", r->headers[i]);
#undef ADD
}

static int
rules_check(const char *file, const char *pack)
{
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	char *err = malloc(ERR_MAX);
	int rc, status = 1;

	if (err == NULL) {
		fprintf(stderr, "ferryctl rules: out of memory\n");
		return 1;
	}
	rc = pack ? ferry_rules_load_pack(pack, &rs, err, ERR_MAX)
		  : ferry_rules_load_file(file, &rs, err, ERR_MAX);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		goto out_free_rules;
	}
	rc = ferry_policy_compile(&rs, &snap, err, ERR_MAX);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		goto out_free_rules;
	}

	printf("%s: ok: %u rules, %u record patterns\n", pack ? pack : file, snap.n_rules,
	       snap.n_patterns);
	printf("topics: %u permit, %u deny, %u rule selectors, default %s\n", snap.n_topic_permit,
	       snap.n_topic_deny, snap.n_topic_ids - snap.n_topic_permit - snap.n_topic_deny,
	       snap.default_permit ? "permit" : "deny");
	if (rs.key_file)
		printf("tokenise key: %s (%u bytes)\n", rs.key_file, snap.token_key_len);
	printf("  %-3s %-24s %-10s %-9s %-4s %-4s %-20s %s\n", "id", "rule", "action", "validator",
	       "pats", "som", "where", "topics");
	for (uint32_t i = 0; i < snap.n_rules; i++) {
		const struct ferry_policy_rule *r = &snap.rules[i];
		char where[256];
		format_where(r, where, sizeof(where));
		printf("  %-3u %-24s %-10s %-9s %-4u %-4s %-20s %s\n", r->id, r->name,
		       ferry_policy_action_name(r->action),
		       ferry_policy_validator_name(r->validator), r->n_patterns,
		       r->som ? "yes" : "no", where, r->all_topics ? "all inspected" : "selected");
	}
	printf("record db: %zu bytes (serialized %zu bytes)\n", snap.record_db_size,
	       snap.record_db_len);
	printf("topic db: %zu bytes (serialized %zu bytes)\n", snap.topic_db_size,
	       snap.topic_db_len);
	status = 0;
	ferry_policy_snapshot_free(&snap);
out_free_rules:
	ferry_rules_free(&rs);
	free(err);
	return status;
}

/* ---- rules test --------------------------------------------------------------------------- */

#define TEST_CHUNK_RECORDS 500        /* records per batch built from --records */
#define TEST_CHUNK_BYTES   (1u << 20) /* uncompressed bytes per batch built from --records */
#define TEST_DEC_MAX       ((size_t)64 << 20) /* decompressed records of one --batch batch */
#define TEST_TEXT_MAX      512                /* bytes of one field printed in text mode */
#define TEST_SPANS_MAX     4096               /* candidates kept per (rule, field) for the report */
#define TEST_AUDIT_MAX     65536              /* audit events per batch: enough to never lose one */

/* One field of a record, before the policy and (when the record is kept) after it. */
struct test_field {
	uint32_t where;         /* FERRY_POLICY_WHERE_KEY / _VALUE / _ALL_HEADERS */
	struct ferry_span name; /* header name */
	struct ferry_span before, after;
	bool has_after;
};

struct test_span {
	uint32_t from, to;
};

/* Candidate collection for one rule in one field (Hyperscan callback context). */
struct test_scan {
	unsigned int rule;
	struct test_span *c;
	uint32_t n;
	bool more;
};

struct test_ctx {
	const char *topic;
	size_t topic_len;
	int32_t partition;
	bool json;
	struct ferry_policy_snapshot snap; /* the rules as the gateway compiles them */
	struct ferry_policy_rt *rt;
	struct ferry_policy_worker *wb; /* whole batches */
	struct ferry_policy_worker *wr; /* one record at a time */
	struct hs_database *span_db;    /* record patterns, start of match for every rule */
	bool span_db_som;               /* false: compiled as the gateway's (SOM failed) */
	struct hs_database *topic_db;
	struct hs_scratch *scratch; /* span_db and topic_db */
	struct ferry_codec_ctx *cc;
	struct ferry_policy_topic_rules tr;
	FILE *out;               /* --out, NULL when not given */
	struct test_span *spans; /* TEST_SPANS_MAX */
	struct test_field *fields;
	size_t fields_cap;
	struct ferry_kafka_header *hdrs; /* one record's headers (--batch) */
	size_t hdrs_cap;
	uint8_t *one, *one_scratch; /* a one-record batch and its builder scratch */
	size_t one_cap;
	uint8_t *dec; /* decompressed records of a --batch batch */
	uint64_t n_batches;
	int status;
};

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Whole file (or stdin for "-") into a heap buffer. 0 or -errno. */
static int
read_all(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL)
		return -errno;
	size_t cap = 0, n = 0;
	uint8_t *b = NULL;
	int rc = 0;
	for (;;) {
		if (n == cap && (rc = grow((void **)&b, &cap, n + 65536, 1)) != 0)
			break;
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = -EIO;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (rc != 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* ---- printing ----------------------------------------------------------------------------- */

/* Text: printable ASCII as is, everything else \xHH; at most TEST_TEXT_MAX bytes. */
static void
put_text(struct ferry_span s)
{
	if (s.p == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	size_t n = s.len < TEST_TEXT_MAX ? s.len : TEST_TEXT_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s.p[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('"');
	if (n < s.len)
		printf("...(+%zu bytes)", s.len - n);
}

/* JSON string; bytes >= 0x80 as \u00XX (Latin-1 code points, lossless byte for byte). */
static void
put_json(struct ferry_span s)
{
	if (s.p == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = s.p[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\u%04x", c);
	}
	putchar('"');
}

static void
put_json_str(const char *s)
{
	put_json(ferry_span_str(s));
}

/* "key", "value" or "header:NAME"; in JSON a quoted string. */
static void
put_field_name(const struct test_ctx *t, const struct test_field *f)
{
	const char *k = f->where == FERRY_POLICY_WHERE_KEY ? "key" : "value";
	if (f->where != FERRY_POLICY_WHERE_ALL_HEADERS) {
		printf(t->json ? "\"%s\"" : "%s", k);
		return;
	}
	if (t->json) {
		/* "header:" + name, as one JSON string */
		fputs("\"header:", stdout);
		for (size_t i = 0; i < f->name.len; i++) {
			unsigned char c = f->name.p[i];
			if (c == '"' || c == '\\')
				printf("\\%c", c);
			else if (c >= 0x20 && c < 0x7f)
				putchar(c);
			else
				printf("\\u%04x", c);
		}
		putchar('"');
		return;
	}
	fputs("header:", stdout);
	for (size_t i = 0; i < f->name.len; i++) {
		unsigned char c = f->name.p[i];
		if (c >= 0x21 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

static const char *
outcome_name(enum ferry_policy_action a)
{
	switch (a) {
	case FERRY_POLICY_ACT_PASS: return "pass";
	case FERRY_POLICY_ACT_TAG: return "tagged";
	case FERRY_POLICY_ACT_MASK: return "masked";
	case FERRY_POLICY_ACT_TOKENISE: return "tokenised";
	case FERRY_POLICY_ACT_DROP: return "dropped";
	case FERRY_POLICY_ACT_QUARANTINE: return "quarantined";
	case FERRY_POLICY_ACT__COUNT: break;
	}
	return "?";
}

/* ---- spans -------------------------------------------------------------------------------- */

/* Does rule r look at field f? The runtime's rule: where bits, named headers by exact name. */
static bool
rule_sees(const struct ferry_policy_rule *r, const struct test_field *f)
{
	if (f->where != FERRY_POLICY_WHERE_ALL_HEADERS)
		return (r->where & f->where) != 0;
	if (r->where & FERRY_POLICY_WHERE_ALL_HEADERS)
		return true;
	if (!(r->where & FERRY_POLICY_WHERE_HEADER) || f->name.p == NULL)
		return false;
	for (uint32_t i = 0; i < r->n_headers && i < FERRY_POLICY_HEADERS_MAX; i++)
		if (r->header_len[i] == f->name.len &&
		    memcmp(r->headers[i], f->name.p, f->name.len) == 0)
			return true;
	return false;
}

static int
span_cb(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	void *ctx)
{
	(void)flags;
	struct test_scan *s = ctx;
	if (id != s->rule)
		return 0;
	if (s->n == TEST_SPANS_MAX) {
		s->more = true;
		return 1;
	}
	s->c[s->n++] = (struct test_span){ .from = (uint32_t)from, .to = (uint32_t)to };
	return 0;
}

static int
span_cmp(const void *a, const void *b)
{
	const struct test_span *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->to != y->to)
		return x->to > y->to ? -1 : 1; /* longest first */
	return 0;
}

/*
 * The confirmed spans of rule id in field f, as the runtime picks them: per start, the longest
 * candidate its validator confirms. Writes them to t->spans; returns how many. *start_known is
 * false when the report database lacks SOM for this rule (only ends are known then).
 */
static uint32_t
find_spans(struct test_ctx *t, uint16_t id, const struct test_field *f, bool *start_known,
	   bool *more)
{
	const struct ferry_policy_rule *r = &t->snap.rules[id];
	*start_known = t->span_db_som || r->som;
	*more = false;
	if (t->span_db == NULL || f->before.p == NULL || f->before.len == 0 ||
	    f->before.len > UINT32_MAX || !rule_sees(r, f))
		return 0;
	struct test_scan s = { .rule = id, .c = t->spans };
	if (hs_scan(t->span_db, (const char *)f->before.p, (unsigned int)f->before.len, 0,
		    t->scratch, span_cb, &s) != HS_SUCCESS &&
	    !s.more)
		return 0;
	*more = s.more;
	if (!*start_known) {
		/* ends only: keep one per end */
		for (uint32_t i = 0; i < s.n; i++)
			s.c[i].from = s.c[i].to;
		return s.n;
	}
	qsort(s.c, s.n, sizeof(*s.c), span_cmp);
	uint32_t n = 0;
	for (uint32_t i = 0; i < s.n; i++) {
		if (n > 0 && t->spans[n - 1].from == s.c[i].from)
			continue; /* this start already has its longest confirmed span */
		if (s.c[i].to < s.c[i].from || s.c[i].to > f->before.len ||
		    !ferry_policy_confirm(r, f->before.p + s.c[i].from, s.c[i].to - s.c[i].from))
			continue;
		t->spans[n++] = s.c[i];
	}
	return n;
}

/* ---- one record --------------------------------------------------------------------------- */

/* Print one rule's spans (text or JSON array body). */
static void
print_rule_spans(struct test_ctx *t, const struct ferry_policy_audit *ev, uint32_t n_fields)
{
	const struct ferry_policy_rule *r = &t->snap.rules[ev->rule];
	bool edits = ev->action == FERRY_POLICY_ACT_MASK || ev->action == FERRY_POLICY_ACT_TOKENISE;
	bool any = false, first = true;
	for (uint32_t fi = 0; fi < n_fields; fi++) {
		const struct test_field *f = &t->fields[fi];
		bool start_known, more;
		uint32_t n = find_spans(t, ev->rule, f, &start_known, &more);
		for (uint32_t i = 0; i < n; i++) {
			struct test_span sp = t->spans[i];
			struct ferry_span before =
			    ferry_span_make(f->before.p + sp.from, sp.to - sp.from);
			bool show_after = edits && f->has_after && f->after.p != NULL &&
					  f->after.len == f->before.len;
			struct ferry_span after =
			    show_after ? ferry_span_make(f->after.p + sp.from, sp.to - sp.from)
				       : ferry_span_make(NULL, 0);
			any = true;
			if (t->json) {
				printf("%s{\"field\":", first ? "" : ",");
				put_field_name(t, f);
				if (start_known)
					printf(",\"start\":%u", sp.from);
				else
					fputs(",\"start\":null", stdout);
				printf(",\"end\":%u", sp.to);
				if (start_known) {
					fputs(",\"match\":", stdout);
					put_json(before);
				}
				if (show_after) {
					fputs(",\"after\":", stdout);
					put_json(after);
				}
				putchar('}');
			} else {
				printf("    %s %s ", r->name, ferry_policy_action_name(ev->action));
				put_field_name(t, f);
				if (!start_known) {
					printf(" [?,%u) (rule compiled without start of match)\n",
					       sp.to);
					first = false;
					continue;
				}
				printf(" [%u,%u) ", sp.from, sp.to);
				put_text(before);
				if (show_after) {
					fputs(" -> ", stdout);
					put_text(after);
				}
				putchar('\n');
			}
			first = false;
		}
		if (more && !t->json)
			printf("    %s: more than %u candidates in one field, not all shown\n",
			       r->name, TEST_SPANS_MAX);
	}
	if (!any && !t->json) {
		printf("    %s %s ", r->name, ferry_policy_action_name(ev->action));
		if (ev->field == FERRY_POLICY_WHERE_KEY)
			fputs("key", stdout);
		else if (ev->field == FERRY_POLICY_WHERE_VALUE)
			fputs("value", stdout);
		else
			fputs("headers", stdout);
		fputs(" (span not found by the report scan)\n", stdout);
	}
}

/*
 * Decode the kept record of a rewritten one-record batch and set every field's `after`.
 * 0, or a negative ferry_err when the runtime's output does not decode (reported).
 */
static int
record_after(struct test_ctx *t, const struct ferry_policy_result *res, uint32_t n_fields)
{
	struct ferry_kafka_batch ob;
	size_t used;
	int rc = ferry_kafka_batch_parse(ferry_span_make(res->out, res->out_len), &ob, &used);
	if (rc == 0 && used != res->out_len)
		rc = FERRY_ERR__BAD_LENGTH;
	if (rc == 0)
		rc = ferry_kafka_batch_validate(&ob);
	if (rc != 0)
		return rc;
	/* The one-record batches are built uncompressed, so records are the batch's bytes. */
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;
	ferry_kafka_rec_iter_init(&it, ob.records, ob.hdr.RecordsCount);
	if ((rc = ferry_kafka_rec_next(&it, &r)) != 1)
		return rc < 0 ? rc : FERRY_ERR__BAD_COUNT;
	t->fields[0].after = r.Key;
	t->fields[1].after = r.Value;
	t->fields[0].has_after = t->fields[1].has_after = true;
	struct ferry_kafka_hdr_iter hi;
	struct ferry_kafka_header h;
	ferry_kafka_hdr_iter_init(&hi, &r);
	uint32_t i = 2;
	while ((rc = ferry_kafka_hdr_next(&hi, &h)) == 1 && i < n_fields) {
		t->fields[i].after = h.Value;
		t->fields[i].has_after = true;
		i++;
	}
	return rc < 0 ? rc : 0;
}

/*
 * Run one record alone through the runtime and print what each rule did to it. *outcome gets
 * the record's action (PASS when nothing hit). 0, or -1 when the record could not be run
 * (reported; status set).
 */
static int
test_record(struct test_ctx *t, uint64_t batch_no, int64_t offset, int64_t ts,
	    struct ferry_span key, struct ferry_span value, const struct ferry_kafka_header *hdrs,
	    uint32_t nh, enum ferry_policy_action *outcome, bool *denied)
{
	*outcome = FERRY_POLICY_ACT_PASS;
	*denied = false;
	/* Record bound: its varints (at most 36 bytes) and 10 per header around the bytes. */
	size_t est = key.len + value.len + 64 + (size_t)nh * 16;
	for (uint32_t i = 0; i < nh; i++)
		est += hdrs[i].Key.len + hdrs[i].Value.len;
	size_t cap = t->one_cap;
	if (grow((void **)&t->one, &cap, est + FERRY_KAFKA_BATCH_HDR_SIZE + 64, 1) != 0 ||
	    grow((void **)&t->one_scratch, &t->one_cap, est + FERRY_KAFKA_BATCH_HDR_SIZE + 64, 1) !=
		0 ||
	    grow((void **)&t->fields, &t->fields_cap, (size_t)nh + 2, sizeof(*t->fields)) != 0) {
		fprintf(stderr, "ferryctl rules test: out of memory\n");
		return -1;
	}
	struct ferry_kafka_record_in ri = {
		.Timestamp = ts, .Key = key, .Value = value, .n_headers = nh, .Headers = hdrs
	};
	struct ferry_kafka_batch_args a = {
		.BaseOffset = offset, .ProducerId = -1, .ProducerEpoch = -1, .BaseSequence = -1
	};
	struct ferry_wr wr;
	ferry_wr_init(&wr, t->one, t->one_cap);
	struct ferry_kafka_batch b;
	size_t used;
	int rc = ferry_kafka_batch_build(&wr, &a, &ri, 1, t->cc, t->one_scratch, t->one_cap);
	if (rc == 0 && wr.overflow)
		rc = FERRY_ERR__NOSPACE;
	if (rc == 0)
		rc = ferry_kafka_batch_parse(ferry_span_make(t->one, wr.len), &b, &used);
	if (rc != 0) {
		fprintf(stderr,
			"ferryctl rules test: offset %" PRId64 ": cannot build a batch: %s\n",
			offset, ferry_err_desc(rc));
		t->status = 1;
		return -1;
	}

	struct ferry_policy_result res;
	int arc = ferry_policy_apply(t->wr, t->rt, t->topic, t->topic_len, t->partition, &b, &res);
	uint32_t nf = 2 + nh;
	t->fields[0] = (struct test_field){ .where = FERRY_POLICY_WHERE_KEY, .before = key };
	t->fields[1] = (struct test_field){ .where = FERRY_POLICY_WHERE_VALUE, .before = value };
	for (uint32_t i = 0; i < nh; i++)
		t->fields[2 + i] = (struct test_field){ .where = FERRY_POLICY_WHERE_ALL_HEADERS,
							.name = hdrs[i].Key,
							.before = hdrs[i].Value };
	for (uint32_t i = 0; i < res.n_audit; i++)
		if (res.audit[i].action > *outcome)
			*outcome = res.audit[i].action;
	int orc = 0;
	if (arc == 0 && res.kind == FERRY_POLICY_RES_REWRITTEN && res.out_len > 0)
		orc = record_after(t, &res, nf);

	const char *what = res.kind == FERRY_POLICY_RES_DENIED ? "denied"
			   : arc < 0                           ? "error"
							       : outcome_name(*outcome);
	*denied = res.kind == FERRY_POLICY_RES_DENIED;
	if (t->json) {
		printf("{\"type\":\"record\",\"batch\":%" PRIu64 ",\"offset\":%" PRId64
		       ",\"outcome\":\"%s\"",
		       batch_no, offset, what);
		if (arc < 0) {
			fputs(",\"error\":", stdout);
			put_json_str(ferry_err_desc(arc));
		}
		fputs(",\"rules\":[", stdout);
	} else {
		printf("  offset %" PRId64 ": %s", offset, what);
		if (arc < 0)
			printf(" (fail closed: %s)", ferry_err_desc(arc));
		putchar('\n');
	}
	for (uint32_t i = 0; i < res.n_audit; i++) {
		const struct ferry_policy_audit *ev = &res.audit[i];
		if (t->json) {
			printf("%s{\"rule\":", i ? "," : "");
			put_json_str(t->snap.rules[ev->rule].name);
			printf(",\"action\":\"%s\",\"field\":\"%s\",\"spans\":[",
			       ferry_policy_action_name(ev->action),
			       ev->field == FERRY_POLICY_WHERE_KEY     ? "key"
			       : ev->field == FERRY_POLICY_WHERE_VALUE ? "value"
								       : "headers");
		}
		print_rule_spans(t, ev, nf);
		if (t->json)
			fputs("]}", stdout);
	}
	/* Fields the record's edits changed, whole, before -> after. */
	bool first = true;
	if (t->json)
		fputs("],\"changes\":[", stdout);
	for (uint32_t i = 0; i < nf && orc == 0; i++) {
		const struct test_field *f = &t->fields[i];
		if (!f->has_after || ferry_span_eq(f->before, f->after))
			continue;
		if (t->json) {
			printf("%s{\"field\":", first ? "" : ",");
			put_field_name(t, f);
			fputs(",\"before\":", stdout);
			put_json(f->before);
			fputs(",\"after\":", stdout);
			put_json(f->after);
			putchar('}');
		} else {
			fputs("    ", stdout);
			put_field_name(t, f);
			fputs(": ", stdout);
			put_text(f->before);
			fputs(" -> ", stdout);
			put_text(f->after);
			putchar('\n');
		}
		first = false;
	}
	if (t->json)
		fputs("]}\n", stdout);
	if (orc != 0) {
		fprintf(stderr,
			"ferryctl rules test: offset %" PRId64
			": the runtime's rewritten batch does not decode: %s\n",
			offset, ferry_err_desc(orc));
		t->status = 1;
	}
	if (res.audit_lost > 0) {
		fprintf(stderr, "ferryctl rules test: offset %" PRId64 ": %u audit events lost\n",
			offset, res.audit_lost);
		t->status = 1;
	}
	return 0;
}

/* ---- one batch ---------------------------------------------------------------------------- */

/*
 * Report on one parsed batch: each record alone, then the batch whole. file_off is the
 * batch's position in a --batch file, or SIZE_MAX for batches built from --records.
 */
static void
test_batch(struct test_ctx *t, const struct ferry_kafka_batch *b, size_t file_off)
{
	uint64_t no = t->n_batches++;
	int codec = ferry_kafka_batch_codec(&b->hdr);
	if (!t->json) {
		printf("batch %" PRIu64 ":", no);
		if (file_off != SIZE_MAX)
			printf(" file offset %zu,", file_off);
		printf(" offsets %" PRId64 "..%" PRId64 ", %d records, codec %s%s\n",
		       b->hdr.BaseOffset, ferry_kafka_batch_last_offset(&b->hdr),
		       b->hdr.RecordsCount, ferry_codec_name(codec),
		       ferry_kafka_batch_is_control(&b->hdr) ? ", control batch (not inspected)"
							     : "");
	}

	/* Each record alone. */
	uint32_t n_dropped = 0, n_edited = 0, n_quarantine = 0, n_records = 0;
	bool rec_error = false;
	if (!ferry_kafka_batch_is_control(&b->hdr)) {
		struct ferry_span recs;
		int rc = ferry_kafka_batch_records(t->cc, b, t->dec, TEST_DEC_MAX, &recs);
		if (rc < 0) {
			fprintf(stderr, "ferryctl rules test: batch %" PRIu64 ": records: %s\n", no,
				ferry_err_desc(rc));
			t->status = 1;
			rec_error = true;
		}
		struct ferry_kafka_rec_iter it;
		struct ferry_kafka_record r;
		if (rc == 0)
			ferry_kafka_rec_iter_init(&it, recs, b->hdr.RecordsCount);
		while (rc == 0 && (rc = ferry_kafka_rec_next(&it, &r)) == 1) {
			uint32_t nh = 0;
			struct ferry_kafka_hdr_iter hi;
			struct ferry_kafka_header h;
			ferry_kafka_hdr_iter_init(&hi, &r);
			while ((rc = ferry_kafka_hdr_next(&hi, &h)) == 1) {
				if (grow((void **)&t->hdrs, &t->hdrs_cap, (size_t)nh + 1,
					 sizeof(*t->hdrs)) != 0) {
					rc = FERRY_ERR__NOMEM;
					break;
				}
				t->hdrs[nh++] = h;
			}
			if (rc < 0)
				break;
			int64_t off = (int64_t)((uint64_t)b->hdr.BaseOffset +
						(uint64_t)(int64_t)r.OffsetDelta);
			int64_t ts =
			    (int64_t)((uint64_t)b->hdr.BaseTimestamp + (uint64_t)r.TimestampDelta);
			enum ferry_policy_action act;
			bool denied;
			if (test_record(t, no, off, ts, r.Key, r.Value, t->hdrs, nh, &act,
					&denied) != 0) {
				rec_error = true;
				rc = 0;
				break;
			}
			n_records++;
			n_dropped += act == FERRY_POLICY_ACT_DROP;
			n_edited +=
			    act == FERRY_POLICY_ACT_MASK || act == FERRY_POLICY_ACT_TOKENISE;
			n_quarantine += act == FERRY_POLICY_ACT_QUARANTINE;
			rc = 0;
		}
		if (rc < 0) {
			fprintf(stderr, "ferryctl rules test: batch %" PRIu64 ": record %u: %s\n",
				no, n_records, ferry_err_desc(rc));
			t->status = 1;
			rec_error = true;
		}
	}

	/* The batch whole: what a gateway would forward. */
	struct ferry_policy_result res;
	int arc = ferry_policy_apply(t->wb, t->rt, t->topic, t->topic_len, t->partition, b, &res);
	const char *qrule =
	    res.quarantine_rule >= 0 && (uint32_t)res.quarantine_rule < t->snap.n_rules
		? t->snap.rules[res.quarantine_rule].name
		: NULL;
	int64_t qoff = -1;
	for (uint32_t i = 0; i < res.n_audit; i++)
		if (res.audit[i].action == FERRY_POLICY_ACT_QUARANTINE &&
		    (int32_t)res.audit[i].rule == res.quarantine_rule)
			qoff = res.audit[i].offset;
	if (t->json) {
		printf("{\"type\":\"batch\",\"batch\":%" PRIu64, no);
		if (file_off != SIZE_MAX)
			printf(",\"file_offset\":%zu", file_off);
		printf(",\"base_offset\":%" PRId64
		       ",\"records\":%d,\"codec\":\"%s\",\"result\":\"%s\"",
		       b->hdr.BaseOffset, b->hdr.RecordsCount, ferry_codec_name(codec),
		       ferry_policy_result_name(res.kind));
		printf(",\"records_in\":%u,\"records_out\":%u,\"records_dropped\":%u"
		       ",\"spans_masked\":%u,\"spans_tokenised\":%u,\"out_bytes\":%zu",
		       res.records_in, res.records_out, res.records_dropped, res.spans_masked,
		       res.spans_tokenised,
		       res.kind == FERRY_POLICY_RES_UNCHANGED ? b->bytes.len : res.out_len);
		fputs(",\"quarantine_rule\":", stdout);
		if (qrule)
			put_json_str(qrule);
		else
			fputs("null", stdout);
		if (qoff >= 0)
			printf(",\"quarantine_offset\":%" PRId64, qoff);
		fputs(",\"error\":", stdout);
		if (arc < 0)
			put_json_str(ferry_err_desc(arc));
		else
			fputs("null", stdout);
		fputs("}\n", stdout);
	} else {
		printf("  result: %s", ferry_policy_result_name(res.kind));
		if (arc < 0)
			printf(": fail closed: %s", ferry_err_desc(arc));
		else if (res.kind == FERRY_POLICY_RES_UNCHANGED)
			printf(": the original %zu bytes go out", b->bytes.len);
		else if (res.kind == FERRY_POLICY_RES_DENIED)
			printf(": topic \"%.*s\" is denied", (int)t->topic_len, t->topic);
		else if (res.kind == FERRY_POLICY_RES_QUARANTINED && qrule)
			printf(" by rule %s at offset %" PRId64, qrule, qoff);
		else if (res.kind == FERRY_POLICY_RES_REWRITTEN)
			printf(": %u in, %u out, %u dropped, %u spans masked, %u tokenised, %zu "
			       "bytes out",
			       res.records_in, res.records_out, res.records_dropped,
			       res.spans_masked, res.spans_tokenised, res.out_len);
		putchar('\n');
	}

	if (t->out != NULL && arc == 0) {
		if (res.kind == FERRY_POLICY_RES_UNCHANGED)
			fwrite(b->bytes.p, 1, b->bytes.len, t->out);
		else if (res.kind == FERRY_POLICY_RES_REWRITTEN)
			fwrite(res.out, 1, res.out_len, t->out);
	}

	/* The rewritten batch must be a valid batch; the whole-batch and per-record runs must
	 * agree. Either failing is a runtime bug: say so, exit 1. */
	if (arc == 0 && res.kind == FERRY_POLICY_RES_REWRITTEN && res.out_len > 0) {
		struct ferry_kafka_batch ob;
		size_t used;
		int rc = ferry_kafka_batch_parse(ferry_span_make(res.out, res.out_len), &ob, &used);
		if (rc == 0)
			rc = used == res.out_len ? ferry_kafka_batch_validate(&ob)
						 : FERRY_ERR__BAD_LENGTH;
		if (rc == 0 && ob.hdr.RecordsCount != (int32_t)res.records_out)
			rc = FERRY_ERR__BAD_COUNT;
		if (rc != 0) {
			fprintf(stderr,
				"ferryctl rules test: batch %" PRIu64
				": the rewritten batch is invalid: %s\n",
				no, ferry_err_desc(rc));
			t->status = 1;
		}
	}
	if (arc == 0 && !rec_error && res.kind != FERRY_POLICY_RES_DENIED &&
	    !ferry_kafka_batch_is_control(&b->hdr)) {
		bool agree = true;
		if (res.kind == FERRY_POLICY_RES_QUARANTINED)
			agree = n_quarantine > 0;
		else if (res.kind == FERRY_POLICY_RES_REWRITTEN)
			agree = n_quarantine == 0 && res.records_dropped == n_dropped &&
				res.records_in == n_records;
		else if (t->tr.decision == FERRY_POLICY_TOPIC_INSPECT)
			agree = n_quarantine == 0 && n_dropped == 0 && n_edited == 0;
		if (!agree) {
			fprintf(
			    stderr,
			    "ferryctl rules test: batch %" PRIu64
			    ": the batch result (%s, %u dropped) disagrees with its records run "
			    "alone (%u dropped, %u edited, %u quarantining)\n",
			    no, ferry_policy_result_name(res.kind), res.records_dropped, n_dropped,
			    n_edited, n_quarantine);
			t->status = 1;
		}
	}
}

/* ---- inputs ------------------------------------------------------------------------------- */

static void
test_batch_file(struct test_ctx *t, const char *path, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		struct ferry_kafka_batch b;
		size_t used;
		int rc = ferry_kafka_batch_parse(ferry_span_make(buf + off, len - off), &b, &used);
		if (rc == FERRY_ERR__PARTIAL) {
			fprintf(stderr,
				"ferryctl rules test: %s: offset %zu: truncated batch (%zu bytes "
				"left in the file)\n",
				path, off, len - off);
			t->status = 1;
			return;
		}
		if (rc < 0) {
			fprintf(stderr, "ferryctl rules test: %s: offset %zu: bad batch: %s\n",
				path, off, ferry_err_desc(rc));
			t->status = 1;
			return; /* its length cannot be trusted: nothing after it can be found */
		}
		rc = ferry_kafka_batch_validate(&b);
		if (rc < 0) {
			fprintf(stderr, "ferryctl rules test: %s: offset %zu: bad batch: %s\n",
				path, off, ferry_err_desc(rc));
			t->status = 1;
		} else {
			test_batch(t, &b, off);
		}
		off += used;
	}
	if (t->n_batches == 0 && t->status == 0) {
		fprintf(stderr, "ferryctl rules test: %s: no batch in the file\n", path);
		t->status = 1;
	}
}

/* Records parsed from --records, all lines first so every bad line is reported at once. */
struct test_lines {
	struct ferry_kafka_record_in *r;
	size_t n, cap;
	struct ferry_kafka_header *h;
	size_t nh, hcap;
	size_t *hfirst; /* index of each record's first header in h (h moves as it grows) */
	size_t hfirst_cap;
};

static int
parse_lines(const char *path, uint8_t *buf, size_t len, struct test_lines *L)
{
	struct ferry_rules_line *ln = malloc(sizeof(*ln));
	int status = 0;
	if (ln == NULL)
		return -ENOMEM;
	size_t lineno = 0;
	for (size_t pos = 0; pos < len;) {
		uint8_t *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		char *s = (char *)buf + pos;
		size_t n = end - pos;
		pos = end + 1;
		lineno++;
		if (n == 0 || (n == 1 && s[0] == '\r'))
			continue;
		char err[256];
		if (ferry_rules_line_parse(s, n, ln, err, sizeof(err)) != 0) {
			fprintf(stderr, "ferryctl rules test: %s:%zu: %s\n", path, lineno, err);
			status = -EINVAL;
			continue;
		}
		if (grow((void **)&L->r, &L->cap, L->n + 1, sizeof(*L->r)) != 0 ||
		    grow((void **)&L->hfirst, &L->hfirst_cap, L->n + 1, sizeof(*L->hfirst)) != 0 ||
		    grow((void **)&L->h, &L->hcap, L->nh + ln->n_headers, sizeof(*L->h)) != 0) {
			free(ln);
			return -ENOMEM;
		}
		L->r[L->n] = (struct ferry_kafka_record_in){ .Key = ln->key,
							     .Value = ln->value,
							     .n_headers = ln->n_headers };
		L->hfirst[L->n++] = L->nh;
		if (ln->n_headers > 0)
			memcpy(L->h + L->nh, ln->headers, ln->n_headers * sizeof(*L->h));
		L->nh += ln->n_headers;
	}
	free(ln);
	for (size_t i = 0; i < L->n; i++)
		L->r[i].Headers = L->r[i].n_headers > 0 ? L->h + L->hfirst[i] : NULL;
	return status;
}

static size_t
rec_size(const struct ferry_kafka_record_in *r)
{
	size_t n = r->Key.len + r->Value.len + 64 + (size_t)r->n_headers * 16;
	for (uint32_t i = 0; i < r->n_headers; i++)
		n += r->Headers[i].Key.len + r->Headers[i].Value.len;
	return n;
}

static void
test_records(struct test_ctx *t, const char *path, uint8_t *buf, size_t len, int codec)
{
	struct test_lines L = { 0 };
	uint8_t *out = NULL, *scratch = NULL;
	size_t out_cap = 0, scratch_cap = 0;
	int rc = parse_lines(path, buf, len, &L);
	if (rc == -ENOMEM)
		fprintf(stderr, "ferryctl rules test: out of memory\n");
	if (rc != 0) {
		t->status = 1;
		goto out_free_lines;
	}
	if (L.n == 0) {
		fprintf(stderr, "ferryctl rules test: %s: no record in the file\n", path);
		t->status = 1;
		goto out_free_lines;
	}
	int64_t ts0 = (int64_t)time(NULL) * 1000;
	for (size_t i = 0; i < L.n;) {
		size_t j = i, bytes = 0;
		while (j < L.n && j - i < TEST_CHUNK_RECORDS &&
		       (j == i || bytes + rec_size(&L.r[j]) <= TEST_CHUNK_BYTES)) {
			L.r[j].Timestamp = ts0 + (int64_t)j;
			bytes += rec_size(&L.r[j]);
			j++;
		}
		size_t need = ferry_compress_bound(codec, bytes) + FERRY_KAFKA_BATCH_HDR_SIZE + 64;
		if (grow((void **)&out, &out_cap, need, 1) != 0 ||
		    grow((void **)&scratch, &scratch_cap, bytes + 64, 1) != 0) {
			fprintf(stderr, "ferryctl rules test: out of memory\n");
			t->status = 1;
			goto out_free_lines;
		}
		struct ferry_kafka_batch_args a = { .BaseOffset = (int64_t)i,
						    .Attributes = (int16_t)codec,
						    .ProducerId = -1,
						    .ProducerEpoch = -1,
						    .BaseSequence = -1 };
		struct ferry_wr wr;
		ferry_wr_init(&wr, out, out_cap);
		rc = ferry_kafka_batch_build(&wr, &a, &L.r[i], j - i, t->cc, scratch, scratch_cap);
		if (rc == 0 && wr.overflow)
			rc = FERRY_ERR__NOSPACE;
		struct ferry_kafka_batch b;
		size_t used;
		if (rc == 0)
			rc = ferry_kafka_batch_parse(ferry_span_make(out, wr.len), &b, &used);
		if (rc != 0) {
			fprintf(stderr,
				"ferryctl rules test: records %zu..%zu: cannot build a batch: %s\n",
				i, j - 1, ferry_err_desc(rc));
			t->status = 1;
			goto out_free_lines;
		}
		test_batch(t, &b, SIZE_MAX);
		i = j;
	}
out_free_lines:
	free(out);
	free(scratch);
	free(L.r);
	free(L.h);
	free(L.hfirst);
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void
print_topic(struct test_ctx *t)
{
	const struct ferry_policy_topic_rules *tr = &t->tr;
	const char *why = tr->scan_error   ? "topic scan failed (fail closed)"
			  : tr->deny_hit   ? "deny list"
			  : tr->permit_hit ? "permit list"
					   : NULL;
	if (t->json) {
		fputs("{\"type\":\"topic\",\"topic\":", stdout);
		put_json(ferry_span_make(t->topic, t->topic_len));
		printf(",\"partition\":%" PRId32 ",\"decision\":\"%s\",\"permit_list\":%s"
		       ",\"deny_list\":%s,\"default\":\"%s\",\"rules\":[",
		       t->partition, ferry_policy_topic_decision_name(tr->decision),
		       tr->permit_hit ? "true" : "false", tr->deny_hit ? "true" : "false",
		       t->snap.default_permit ? "permit" : "deny");
	} else {
		printf("topic \"%.*s\" partition %" PRId32 ": %s (", (int)t->topic_len, t->topic,
		       t->partition, ferry_policy_topic_decision_name(tr->decision));
		if (why)
			printf("matched the %s", why);
		else
			printf("on neither list: default %s",
			       t->snap.default_permit ? "permit" : "deny");
		fputs(")", stdout);
	}
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->snap.n_rules && tr->decision == FERRY_POLICY_TOPIC_INSPECT;
	     i++) {
		if (!((tr->rules[i / 64] >> (i % 64)) & 1))
			continue;
		if (t->json) {
			fputs(n ? "," : "", stdout);
			put_json_str(t->snap.rules[i].name);
		}
		n++;
	}
	if (t->json)
		fputs("]}\n", stdout);
	else if (tr->decision == FERRY_POLICY_TOPIC_INSPECT)
		printf("; %u of %u record rules apply\n", n, t->snap.n_rules);
	else
		putchar('\n');
}

/*
 * The report database: the same record patterns, every rule with start of match, so tag,
 * drop and quarantine spans can be shown too. A rule whose pattern is too large for SOM
 * makes this fail; the gateway's own database is used then, and such rules show only ends.
 */
static int
load_span_db(struct test_ctx *t, struct ferry_rules *rs, char *err)
{
	struct ferry_policy_snapshot som;
	for (size_t i = 0; i < rs->n_rules; i++)
		rs->rules[i].r.som = true;
	int rc = ferry_policy_compile(rs, &som, err, ERR_MAX);
	if (rc == 0 && som.record_db_len > 0) {
		rc = ferry_policy_db_load(som.record_db, som.record_db_len, &t->span_db, err,
					  ERR_MAX);
		t->span_db_som = rc == 0;
	}
	ferry_policy_snapshot_free(&som);
	if (t->span_db == NULL && t->snap.record_db_len > 0) {
		t->span_db_som = false;
		rc = ferry_policy_db_load(t->snap.record_db, t->snap.record_db_len, &t->span_db,
					  err, ERR_MAX);
		if (rc != 0)
			return rc;
	}
	if (t->span_db != NULL && (rc = ferry_policy_scratch_alloc(t->span_db, &t->scratch)) != 0) {
		snprintf(err, ERR_MAX, "cannot allocate Hyperscan scratch");
		return rc;
	}
	return 0;
}

static int
parse_partition(const char *s, int32_t *p)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT32_MAX)
		return -EINVAL;
	*p = (int32_t)v;
	return 0;
}

static int
rules_test(int argc, char **argv)
{
	enum { O_PACK = 256, O_TOPIC, O_PARTITION, O_RECORDS, O_BATCH, O_CODEC, O_JSON, O_OUT };
	static const struct option opts[] = {
		{ "pack", required_argument, NULL, O_PACK },
		{ "topic", required_argument, NULL, O_TOPIC },
		{ "partition", required_argument, NULL, O_PARTITION },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "codec", required_argument, NULL, O_CODEC },
		{ "json", no_argument, NULL, O_JSON },
		{ "out", required_argument, NULL, O_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct test_ctx t = { .topic = "test", .status = 1 };
	const char *pack = NULL, *records = NULL, *batch = NULL, *file = NULL, *out = NULL;
	int codec = FERRY_CODEC_NONE, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_PACK: pack = optarg; break;
		case O_TOPIC: t.topic = optarg; break;
		case O_PARTITION:
			if (parse_partition(optarg, &t.partition) != 0) {
				fprintf(stderr,
					"ferryctl rules test: --partition: '%s' is not a "
					"partition number\n",
					optarg);
				return 2;
			}
			break;
		case O_RECORDS: records = optarg; break;
		case O_BATCH: batch = optarg; break;
		case O_CODEC:
			codec = ferry_codec_from_name(optarg);
			if (codec < 0) {
				fprintf(stderr,
					"ferryctl rules test: --codec: unknown codec '%s' "
					"(none, gzip, snappy, lz4, zstd)\n",
					optarg);
				return 2;
			}
			break;
		case O_JSON: t.json = true; break;
		case O_OUT: out = optarg; break;
		case 'h': rules_usage(stdout); return 0;
		default:
			fprintf(stderr, "ferryctl rules test: bad option '%s'\n", argv[optind - 1]);
			rules_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		file = argv[optind++];
	const char *why = NULL;
	if (optind < argc)
		why = "more than one rules FILE";
	else if ((file == NULL) == (pack == NULL))
		why = "give a rules FILE or --pack NAME (one of them)";
	else if ((records == NULL) == (batch == NULL))
		why = "give --records FILE or --batch FILE (one of them)";
	else if (batch != NULL && codec != FERRY_CODEC_NONE)
		why = "--codec is for --records (a batch file keeps its codecs)";
	if (why != NULL) {
		fprintf(stderr, "ferryctl rules test: %s\n", why);
		rules_usage(stderr);
		return 2;
	}
	t.topic_len = strlen(t.topic);

	struct ferry_rules rs;
	uint8_t *in = NULL;
	size_t in_len = 0;
	char *err = malloc(ERR_MAX);
	if (err == NULL) {
		fprintf(stderr, "ferryctl rules: out of memory\n");
		return 1;
	}
	int rc = pack ? ferry_rules_load_pack(pack, &rs, err, ERR_MAX)
		      : ferry_rules_load_file(file, &rs, err, ERR_MAX);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		goto out_free_rules;
	}
	rc = ferry_policy_compile(&rs, &t.snap, err, ERR_MAX);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		goto out_free_rules;
	}
	t.rt = ferry_policy_rt_new(&t.snap, err, ERR_MAX);
	if (t.rt == NULL) {
		fprintf(stderr, "ferryctl rules test: cannot load the policy: %s\n", err);
		goto out_free_snap;
	}
	/* Audit arrays large enough that no event of a batch is lost to the report. */
	struct ferry_policy_worker_conf wc = { .max_audit = TEST_AUDIT_MAX };
	t.wb = ferry_policy_worker_new(t.rt, &wc);
	t.wr = ferry_policy_worker_new(t.rt, &wc);
	t.cc = ferry_codec_ctx_new();
	t.spans = malloc(TEST_SPANS_MAX * sizeof(*t.spans));
	t.dec = malloc(TEST_DEC_MAX);
	if (!t.wb || !t.wr || !t.cc || !t.spans || !t.dec) {
		fprintf(stderr, "ferryctl rules test: out of memory\n");
		goto out_free_test;
	}
	if (load_span_db(&t, &rs, err) != 0) {
		fprintf(stderr, "ferryctl rules test: %s\n", err);
		goto out_free_test;
	}
	if (t.snap.topic_db_len > 0) {
		rc = ferry_policy_db_load(t.snap.topic_db, t.snap.topic_db_len, &t.topic_db, err,
					  ERR_MAX);
		if (rc == 0)
			rc = ferry_policy_scratch_alloc(t.topic_db, &t.scratch);
		if (rc != 0) {
			fprintf(stderr, "ferryctl rules test: topic database: %s\n", err);
			goto out_free_test;
		}
	}
	if (t.topic_len > 249) {
		fprintf(stderr, "ferryctl rules test: --topic: longer than Kafka's 249 bytes\n");
		goto out_free_test;
	}
	ferry_policy_topic_decide(&t.snap, t.topic_db, t.scratch, t.topic, t.topic_len, &t.tr);

	const char *path = records ? records : batch;
	rc = read_all(path, &in, &in_len);
	if (rc != 0) {
		fprintf(stderr, "ferryctl rules test: %s: %s\n", path, strerror(-rc));
		goto out_free_test;
	}
	if (out != NULL && (t.out = fopen(out, "wb")) == NULL) {
		fprintf(stderr, "ferryctl rules test: --out %s: %s\n", out, strerror(errno));
		goto out_free_test;
	}
	t.status = 0;
	print_topic(&t);
	if (records)
		test_records(&t, path, in, in_len, codec);
	else
		test_batch_file(&t, path, in, in_len);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "ferryctl rules test: writing the report: %s\n", strerror(errno));
		t.status = 1;
	}
	if (t.out != NULL) {
		bool bad = ferror(t.out) != 0;
		if (fclose(t.out) != 0 || bad) {
			fprintf(stderr, "ferryctl rules test: --out %s: write failed\n", out);
			t.status = 1;
		}
		t.out = NULL;
	}

out_free_test:
	if (t.out != NULL)
		fclose(t.out);
	free(in);
	free(t.dec);
	free(t.spans);
	free(t.fields);
	free(t.hdrs);
	free(t.one);
	free(t.one_scratch);
	ferry_codec_ctx_free(t.cc);
	ferry_policy_worker_free(t.wb);
	ferry_policy_worker_free(t.wr);
	ferry_policy_scratch_free(t.scratch);
	if (t.span_db)
		ferry_policy_db_free(t.span_db);
	if (t.topic_db)
		ferry_policy_db_free(t.topic_db);
	ferry_policy_rt_free(t.rt);
out_free_snap:
	ferry_policy_snapshot_free(&t.snap);
out_free_rules:
	ferry_rules_free(&rs);
	free(err);
	return t.status;
}

/* `ferryctl rules reload`: check the file first (so the operator sees the errors here), then
 * SIGHUP the running ferryd, which recompiles and swaps the rules without a pause (RCU) or
 * keeps the old ones and logs why. */
static int
rules_reload(int argc, char **argv)
{
	const char *pidfile = NULL, *check = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--pidfile") == 0)
			pidfile = argv[i + 1];
		else if (strcmp(argv[i], "--check") == 0)
			check = argv[i + 1];
	}
	if (pidfile == NULL || argc % 2 == 0) {
		rules_usage(stderr);
		return 2;
	}
	if (check && rules_check(check, NULL) != 0) {
		fprintf(stderr, "rules reload: %s has errors: not reloading\n", check);
		return 1;
	}
	FILE *f = fopen(pidfile, "r");
	long pid = 0;
	if (f == NULL || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
		fprintf(stderr, "rules reload: %s: no ferryd pid in it%s%s\n", pidfile, f ? "" : ": ",
			f ? "" : strerror(errno));
		if (f)
			fclose(f);
		return 1;
	}
	fclose(f);
	if (kill((pid_t)pid, SIGHUP) != 0) {
		fprintf(stderr, "rules reload: ferryd pid %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf("rules reload: asked ferryd (pid %ld); its log says whether the new rules are in "
	       "force\n", pid);
	return 0;
}

int
ferryctl_rules(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		rules_usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "test") == 0)
		return rules_test(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "reload") == 0)
		return rules_reload(argc - 1, argv + 1);
	if (argc < 3 || strcmp(argv[1], "check") != 0) {
		rules_usage(stderr);
		return 2;
	}
	if (strcmp(argv[2], "--pack") == 0) {
		if (argc != 4) {
			rules_usage(stderr);
			return 2;
		}
		return rules_check(NULL, argv[3]);
	}
	if (argc != 3) {
		rules_usage(stderr);
		return 2;
	}
	return rules_check(argv[2], NULL);
}
