/*
 * fuzz_policy_apply.c - libFuzzer harness for the policy engine's scan-and-act path
 * (dataplane/policy/runtime.c: ferry_policy_apply) and the record line parser of
 * `ferryctl rules test` (control/rules_lines.c).
 *
 * At start-up one policy is compiled: pii-default plus rules using every action (tag, mask,
 * tokenise, drop, quarantine), every where-kind (key, value, header:NAME, all), every
 * validator, length bounds, a caseless rule, topic selectors and a denied topic, with a key
 * file in a temporary directory. Two workers run it: one with default buffers, one so small
 * that the fail-closed limits (records, headers, candidates, bytes, audit) are reached.
 *
 * The first input byte picks the mode (low 2 bits), the topic (bits 2-3) and the worker
 * (bit 4); the rest is:
 *   0: a raw RecordBatch; if the codec parses it, it is applied as it is (CRC not checked:
 *      the runtime must not trust the bytes either);
 *   1: a recipe building a valid batch (ferry_kafka_batch_build): codec and attribute bits,
 *      then records with fuzz-chosen keys, values and headers, any of them null, optionally
 *      with a known PII or trigger string spliced in, so the fuzzer reaches confirmation
 *      and rewriting instead of stopping at the scan;
 *   2: text lines in the `rules test --records` format, parsed with ferry_rules_line_parse
 *      and built into a batch.
 *
 * Invariants after apply (abort on violation): the input bytes are never modified; an error
 * return is QUARANTINED with res.error set; DENIED exactly for the denied topic; UNCHANGED
 * means no edit and no drop; REWRITTEN output parses as one batch, validates (CRC), keeps the
 * codec, attributes, BaseOffset and producer fields, holds records_out records, and
 * records_out + records_dropped == records_in; for built batches every kept record keeps its
 * timestamp, key/value/header nullness, lengths and header names, records without an audit
 * event are byte-identical, and every changed byte was alphanumeric (or >= 0x80) and became
 * a mask character or a character of the same class (tokenise); a second apply of the same
 * batch gives the same output (deterministic tokens). Leaks are ASan's.
 *
 * Single-threaded (libFuzzer calls in a loop). Seeds: corpus/policy_apply/ (make-seeds
 * style: the first byte selects the mode).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/common.h"
#include "ferry/kafka.h"
#include "ferry/policy.h"
#include "policy_compile.h"
#include "rules.h"
#include "rules_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_RECS   64
#define MAX_HDRS   4 /* per record in a recipe */
#define ARENA_SIZE (256u << 10)
#define BUILD_SIZE (1u << 20)
#define TEXT_MAX   (64u << 10)

/* %s: the key file. */
static const char rules_fmt[] =
    "version: 1\n"
    "default: permit\n"
    "tokenise_key_file: %s\n"
    "topics:\n"
    "  deny: ['secret\\..*']\n"
    "include: [pii-default]\n"
    "rules:\n"
    "  - name: fz.card-key\n"
    "    patterns: ['\\b\\d(?:[ -]?\\d){12,18}\\b']\n"
    "    where: [key]\n"
    "    validator: luhn\n"
    "    action: mask\n"
    "    mask: {char: 'X', keep_last: 4}\n"
    "  - name: fz.email-tok\n"
    "    patterns: ['[A-Za-z0-9._%%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}']\n"
    "    where: [value, 'header:x-mail']\n"
    "    action: tokenise\n"
    "  - name: fz.iban-tok\n"
    "    patterns: ['\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]){11,30}\\b']\n"
    "    validator: iban\n"
    "    action: tokenise\n"
    "  - name: fz.phone\n"
    "    patterns: ['\\+\\d[\\d ()-]{6,18}\\d']\n"
    "    where: ['header:x-phone', 'header:notes']\n"
    "    validator: charset\n"
    "    charset: '0-9 +()-'\n"
    "    min_len: 8\n"
    "    max_len: 16\n"
    "    action: mask\n"
    "    mask: {char: '#', keep_last: 2}\n"
    "  - name: fz.drop\n"
    "    patterns: ['DROP-\\d+']\n"
    "    where: [value]\n"
    "    action: drop\n"
    "  - name: fz.hold\n"
    "    patterns: ['HOLD-\\d{4}']\n"
    "    action: quarantine\n"
    "    topics: ['orders\\..*']\n"
    "  - name: fz.tag\n"
    "    patterns: ['TAG\\d']\n"
    "    where: [key, value]\n"
    "    action: tag\n"
    "  - name: fz.len\n"
    "    patterns: ['[a-z]{3,}-[0-9]+']\n"
    "    where: ['header:x-memo', 'header:notes']\n"
    "    min_len: 5\n"
    "    max_len: 9\n"
    "    caseless: true\n"
    "    action: mask\n"
    "  - name: fz.nric-tok\n"
    "    patterns: ['\\b[STFGM]\\d{7}[A-Z]\\b']\n"
    "    validator: nric\n"
    "    where: [all]\n"
    "    action: tokenise\n"
    "  - name: fz.mynumber-drop\n"
    "    patterns: ['\\b\\d{4}[ -]?\\d{4}[ -]?\\d{4}\\b']\n"
    "    validator: mynumber\n"
    "    where: [value]\n"
    "    action: drop\n"
    "    topics: ['payments']\n";

static const char *const topics[] = { "payments", "orders.eu", "secret.x", "trades" };

/* Strings the recipe splices into fields: PII the validators accept, near misses, triggers. */
static const char *const snippets[] = {
	"4111 1111 1111 1111",
	"4111-1111-1111-1111",
	"4111111111111111",
	"4111 1111 1111 1112",
	"GB82 WEST 1234 5698 7654 32",
	"GB82WEST12345698765432",
	"DE89370400440532013000",
	"jo.bloggs@example.com",
	"Alice.Smith-99@Example-Bank.co.uk",
	"+44 7911 123456",
	"+447911123456",
	"(212) 555-0100",
	"212-555-0100",
	"123-45-6789",
	"AB 12 34 56 C",
	"S1234567D",
	"T0123456G",
	"1234 5678 9012",
	"DEUTDEFF500",
	"DROP-42",
	"HOLD-1234",
	"TAG7",
	"abc-123",
	"ABCDEFGH-1",
	"\xff\xfe@x.io",
};
static const char *const hdr_names[] = {
	"x-memo", "x-mail", "x-phone", "notes", "traceparent", ""
};

struct fz {
	struct ferry_policy_rt *rt;
	struct ferry_policy_worker *w[2];
	struct ferry_codec_ctx *cc;
	uint8_t mask_chars[32];
	uint8_t *build, *scratch, *copy, *out2;
	size_t out2_len;
	uint8_t *arena;
	size_t arena_used;
	char *text;
	bool trace;
};

static struct fz F;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void
init(void)
{
	char dir[] = "/tmp/ferry-fz-policy-XXXXXX", key[64], err[16384];
	static char yaml[8192];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(key, sizeof(key), "%s/token.key", dir);
	FILE *f = fopen(key, "wb");
	CHECK(f != NULL);
	fputs("fuzz-token-key-0123456789abcdef-0123456789", f);
	fclose(f);
	snprintf(yaml, sizeof(yaml), rules_fmt, key);

	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	if (ferry_rules_load_buf("fuzz.yaml", yaml, strlen(yaml), &rs, err, sizeof(err)) != 0 ||
	    ferry_policy_compile(&rs, &snap, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_policy_apply: rules: %s\n", err);
		abort();
	}
	ferry_rules_free(&rs);
	unlink(key);
	rmdir(dir);
	F.rt = ferry_policy_rt_new(&snap, err, sizeof(err));
	if (F.rt == NULL) {
		fprintf(stderr, "fuzz_policy_apply: rt: %s\n", err);
		abort();
	}
	ferry_policy_snapshot_free(&snap);
	struct ferry_policy_worker_conf big = { .max_batch_bytes = 2u << 20 };
	struct ferry_policy_worker_conf tight = { .max_batch_bytes = 2048,
						  .max_records = 8,
						  .max_headers = 6,
						  .max_candidates = 6,
						  .max_audit = 4 };
	F.w[0] = ferry_policy_worker_new(F.rt, &big);
	F.w[1] = ferry_policy_worker_new(F.rt, &tight);
	F.cc = ferry_codec_ctx_new();
	F.build = malloc(BUILD_SIZE);
	F.scratch = malloc(BUILD_SIZE);
	F.copy = malloc(BUILD_SIZE);
	F.out2 = malloc(4u << 20);
	F.arena = malloc(ARENA_SIZE);
	F.text = malloc(TEXT_MAX);
	F.trace = getenv("FERRY_FUZZ_TRACE") != NULL;
	CHECK(F.w[0] && F.w[1] && F.cc && F.build && F.scratch && F.copy && F.out2 && F.arena &&
	      F.text);
	uint32_t n;
	const struct ferry_policy_rule *r = ferry_policy_rt_rules(F.rt, &n);
	for (uint32_t i = 0; i < n; i++)
		if (r[i].action == FERRY_POLICY_ACT_MASK)
			F.mask_chars[r[i].mask_char >> 3] |= (uint8_t)(1u << (r[i].mask_char & 7));
}

/* ---- input reader ------------------------------------------------------------------------- */

struct src {
	const uint8_t *p;
	size_t n;
};

static uint8_t
take_u8(struct src *s)
{
	if (s->n == 0)
		return 0;
	s->n--;
	return *s->p++;
}

static struct ferry_span
take_bytes(struct src *s, size_t len)
{
	if (len > s->n)
		len = s->n;
	struct ferry_span r = ferry_span_make(s->p, len);
	s->p += len;
	s->n -= len;
	return r;
}

/* A field: fuzz bytes, maybe with a snippet spliced in at a fuzz-chosen position. */
static struct ferry_span
take_field(struct src *s, size_t max_len, bool splice)
{
	size_t len = take_u8(s);
	if (max_len > 255)
		len = len << 2 | (take_u8(s) & 3);
	if (len > max_len)
		len = max_len;
	struct ferry_span raw = take_bytes(s, len);
	if (!splice)
		return raw.len ? raw : ferry_span_make(s->p, 0); /* empty, not null */
	const char *sn = snippets[take_u8(s) % (sizeof(snippets) / sizeof(snippets[0]))];
	size_t sl = strlen(sn), at = raw.len ? take_u8(s) % (raw.len + 1) : 0;
	if (F.arena_used + raw.len + sl > ARENA_SIZE)
		return raw.len ? raw : ferry_span_make(s->p, 0);
	uint8_t *d = F.arena + F.arena_used;
	if (at)
		memcpy(d, raw.p, at);
	memcpy(d + at, sn, sl);
	if (raw.len > at)
		memcpy(d + at + sl, raw.p + at, raw.len - at);
	F.arena_used += raw.len + sl;
	return ferry_span_make(d, raw.len + sl);
}

/* ---- invariants --------------------------------------------------------------------------- */

static bool
same_class(uint8_t a, uint8_t b)
{
	if (a >= '0' && a <= '9')
		return b >= '0' && b <= '9';
	if (a >= 'A' && a <= 'Z')
		return b >= 'A' && b <= 'Z';
	if (a >= 'a' && a <= 'z')
		return b >= 'a' && b <= 'z';
	return false;
}

static bool
maskable(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c >= 0x80;
}

/* in -> out of one field: same nullness and length; unedited records identical; an edited
 * byte was maskable and became a mask character or a same-class token character. */
static void
check_field(struct ferry_span in, struct ferry_span out, bool edited)
{
	CHECK((in.p == NULL) == (out.p == NULL));
	CHECK(in.len == out.len);
	if (in.p == NULL || in.len == 0)
		return;
	if (!edited) {
		CHECK(memcmp(in.p, out.p, in.len) == 0);
		return;
	}
	for (size_t i = 0; i < in.len; i++) {
		uint8_t a = in.p[i], b = out.p[i];
		if (a == b)
			continue;
		CHECK(maskable(a));
		CHECK(((F.mask_chars[b >> 3] >> (b & 7)) & 1) || same_class(a, b));
	}
}

/* Does the record at off have an audit event with action a (or, for MASK, MASK or TOKENISE)? */
static bool
audited(const struct ferry_policy_result *res, int64_t off, enum ferry_policy_action a)
{
	for (uint32_t i = 0; i < res->n_audit; i++) {
		uint8_t x = res->audit[i].action;
		if (res->audit[i].offset == off &&
		    (x == a || (a == FERRY_POLICY_ACT_MASK && x == FERRY_POLICY_ACT_TOKENISE)))
			return true;
	}
	return false;
}

/* Kept records of a built batch against the rewritten output. */
static void
check_records(const struct ferry_kafka_batch *b, const struct ferry_kafka_record_in *in,
	      size_t n_in, const struct ferry_kafka_batch *ob,
	      const struct ferry_policy_result *res)
{
	static uint8_t dec[4u << 20];
	struct ferry_span recs;
	CHECK(ferry_kafka_batch_records(F.cc, ob, dec, sizeof(dec), &recs) == 0);
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;
	ferry_kafka_rec_iter_init(&it, recs, ob->hdr.RecordsCount);
	uint32_t kept = 0, dropped = 0;
	for (size_t i = 0; i < n_in; i++) {
		int64_t off = b->hdr.BaseOffset + (int64_t)i;
		if (audited(res, off, FERRY_POLICY_ACT_DROP)) {
			dropped++;
			continue;
		}
		CHECK(ferry_kafka_rec_next(&it, &r) == 1);
		CHECK(r.OffsetDelta == (int32_t)kept);
		kept++;
		CHECK(ob->hdr.BaseTimestamp + r.TimestampDelta == in[i].Timestamp);
		bool edited = audited(res, off, FERRY_POLICY_ACT_MASK);
		check_field(in[i].Key, r.Key, edited);
		check_field(in[i].Value, r.Value, edited);
		CHECK((uint32_t)r.HeadersCount == in[i].n_headers);
		struct ferry_kafka_hdr_iter hi;
		struct ferry_kafka_header h;
		ferry_kafka_hdr_iter_init(&hi, &r);
		for (uint32_t k = 0; k < in[i].n_headers; k++) {
			CHECK(ferry_kafka_hdr_next(&hi, &h) == 1);
			CHECK(ferry_span_eq(h.Key, in[i].Headers[k].Key) ||
			      (h.Key.len == 0 && in[i].Headers[k].Key.len == 0));
			check_field(in[i].Headers[k].Value, h.Value, edited);
		}
		CHECK(ferry_kafka_hdr_next(&hi, &h) == 0);
	}
	CHECK(ferry_kafka_rec_next(&it, &r) == 0);
	CHECK(kept == res->records_out);
	CHECK(dropped == res->records_dropped);
}

/*
 * Apply and check. in/n_in: the records a built batch was made from (NULL for raw input).
 */
static void
run(const struct ferry_kafka_batch *b, unsigned topic, unsigned wi,
    const struct ferry_kafka_record_in *in, size_t n_in)
{
	struct ferry_policy_worker *w = F.w[wi];
	const char *t = topics[topic];
	CHECK(b->bytes.len <= BUILD_SIZE);
	memcpy(F.copy, b->bytes.p, b->bytes.len);
	struct ferry_policy_result res;
	int rc = ferry_policy_apply(w, F.rt, t, strlen(t), 5, b, &res);
	CHECK(memcmp(F.copy, b->bytes.p, b->bytes.len) == 0);
	if (F.trace) /* FERRY_FUZZ_TRACE=1: say what happened, for reading a reproducer */
		fprintf(stderr,
			"apply %s worker %u codec %d: rc %d %s, in %u out %u dropped %u masked %u "
			"tokenised %u audit %u lost %u quarantine_rule %d\n",
			t, wi, ferry_kafka_batch_codec(&b->hdr), rc,
			ferry_policy_result_name(res.kind), res.records_in, res.records_out,
			res.records_dropped, res.spans_masked, res.spans_tokenised, res.n_audit,
			res.audit_lost, res.quarantine_rule);
	if (rc < 0) {
		CHECK(res.kind == FERRY_POLICY_RES_QUARANTINED && res.error == rc);
		CHECK(res.out_len == 0);
		return;
	}
	CHECK(rc == 0 && res.error == 0);
	CHECK((res.kind == FERRY_POLICY_RES_DENIED) == (topic == 2));
	uint32_t n_rules;
	const struct ferry_policy_rule *rules = ferry_policy_rt_rules(F.rt, &n_rules);
	for (uint32_t i = 0; i < res.n_audit; i++) {
		const struct ferry_policy_audit *ev = &res.audit[i];
		CHECK(ev->rule < n_rules && ev->action == rules[ev->rule].action);
		CHECK(ev->partition == 5 && ev->topic_len == strlen(t) &&
		      memcmp(ev->topic, t, ev->topic_len) == 0);
		if (in != NULL)
			CHECK(ev->offset >= b->hdr.BaseOffset &&
			      ev->offset < b->hdr.BaseOffset + (int64_t)n_in);
	}
	switch (res.kind) {
	case FERRY_POLICY_RES_DENIED:
	case FERRY_POLICY_RES_UNCHANGED:
		CHECK(res.out_len == 0 && res.records_dropped == 0);
		CHECK(res.spans_masked == 0 && res.spans_tokenised == 0);
		return;
	case FERRY_POLICY_RES_QUARANTINED:
		CHECK(res.quarantine_rule >= 0 && (uint32_t)res.quarantine_rule < n_rules);
		CHECK(rules[res.quarantine_rule].action == FERRY_POLICY_ACT_QUARANTINE);
		CHECK(res.out_len == 0);
		return;
	case FERRY_POLICY_RES_REWRITTEN: break;
	}
	CHECK(res.records_out + res.records_dropped == res.records_in);
	CHECK(res.records_in == (uint32_t)b->hdr.RecordsCount);
	if (res.out_len == 0) {
		CHECK(res.records_out == 0);
		return;
	}
	CHECK(res.records_out > 0);
	struct ferry_kafka_batch ob;
	size_t used;
	CHECK(ferry_kafka_batch_parse(ferry_span_make(res.out, res.out_len), &ob, &used) == 0);
	CHECK(used == res.out_len);
	CHECK(ferry_kafka_batch_validate(&ob) == 0);
	CHECK(ob.hdr.RecordsCount == (int32_t)res.records_out);
	CHECK(ob.hdr.LastOffsetDelta == (int32_t)res.records_out - 1);
	CHECK(ob.hdr.Attributes == b->hdr.Attributes);
	CHECK(ob.hdr.BaseOffset == b->hdr.BaseOffset);
	CHECK(ob.hdr.PartitionLeaderEpoch == b->hdr.PartitionLeaderEpoch);
	CHECK(ob.hdr.ProducerId == b->hdr.ProducerId);
	CHECK(ob.hdr.ProducerEpoch == b->hdr.ProducerEpoch);
	CHECK(ob.hdr.BaseSequence == b->hdr.BaseSequence);
	if (in == NULL)
		return;
	if (res.audit_lost == 0)
		check_records(b, in, n_in, &ob, &res);

	/* Deterministic: the same batch again gives the same bytes (tokens are keyed hashes;
	 * compressors are deterministic for one input and level). */
	CHECK(res.out_len <= (4u << 20));
	F.out2_len = res.out_len;
	memcpy(F.out2, res.out, res.out_len);
	rc = ferry_policy_apply(w, F.rt, t, strlen(t), 5, b, &res);
	CHECK(rc == 0 && res.kind == FERRY_POLICY_RES_REWRITTEN);
	CHECK(res.out_len == F.out2_len && memcmp(res.out, F.out2, F.out2_len) == 0);
}

/* ---- modes -------------------------------------------------------------------------------- */

static void
build_and_run(struct ferry_kafka_record_in *recs, size_t n, int16_t attrs, int64_t base,
	      unsigned topic, unsigned wi)
{
	struct ferry_kafka_batch_args a = { .BaseOffset = base,
					    .PartitionLeaderEpoch = 9,
					    .Attributes = attrs,
					    .ProducerId = 77,
					    .ProducerEpoch = 2,
					    .BaseSequence = 40 };
	struct ferry_wr wr;
	ferry_wr_init(&wr, F.build, BUILD_SIZE);
	if (ferry_kafka_batch_build(&wr, &a, recs, n, F.cc, F.scratch, BUILD_SIZE) != 0 ||
	    wr.overflow)
		return;
	struct ferry_kafka_batch b;
	size_t used;
	CHECK(ferry_kafka_batch_parse(ferry_span_make(F.build, wr.len), &b, &used) == 0);
	/* The builder's output is valid, except that arbitrary records in a control batch are
	 * not control records (the runtime must still pass the batch untouched). */
	CHECK(used == wr.len);
	CHECK((attrs & FERRY_KAFKA_ATTR_CONTROL) || ferry_kafka_batch_validate(&b) == 0);
	run(&b, topic, wi, (attrs & FERRY_KAFKA_ATTR_CONTROL) ? NULL : recs, n);
}

static void
mode_recipe(struct src *s, unsigned topic, unsigned wi)
{
	static struct ferry_kafka_record_in recs[MAX_RECS];
	static struct ferry_kafka_header hdrs[MAX_RECS][MAX_HDRS];
	uint8_t cf = take_u8(s);
	int16_t attrs = (int16_t)(cf % 5);
	if (cf & 0x08)
		attrs |= FERRY_KAFKA_ATTR_LOG_APPEND_TIME;
	if (cf & 0x10)
		attrs |= FERRY_KAFKA_ATTR_TRANSACTIONAL;
	if ((cf & 0xe0) == 0xe0)
		attrs |= FERRY_KAFKA_ATTR_CONTROL; /* rare: control batches pass untouched */
	size_t n = 1 + take_u8(s) % MAX_RECS;
	int64_t base = (int64_t)take_u8(s) * 1000;
	for (size_t i = 0; i < n; i++) {
		uint8_t fl = take_u8(s);
		struct ferry_kafka_record_in *r = &recs[i];
		r->Timestamp = 1700000000000 + (int64_t)i * 7 - (fl & 0x80 ? 5000 : 0);
		r->Key = (fl & 1) ? ferry_span_make(NULL, 0) : take_field(s, 64, fl & 0x20);
		r->Value = (fl & 2) ? ferry_span_make(NULL, 0) : take_field(s, 1024, fl & 0x10);
		r->n_headers = (fl >> 2) & 3;
		r->Headers = hdrs[i];
		for (uint32_t k = 0; k < r->n_headers; k++) {
			uint8_t hf = take_u8(s);
			size_t ni = hf % (sizeof(hdr_names) / sizeof(hdr_names[0]) + 1);
			hdrs[i][k].Key = ni < sizeof(hdr_names) / sizeof(hdr_names[0])
					     ? ferry_span_str(hdr_names[ni])
					     : take_field(s, 16, false);
			hdrs[i][k].Value =
			    (hf & 0x80) ? ferry_span_make(NULL, 0) : take_field(s, 128, hf & 0x40);
		}
	}
	build_and_run(recs, n, attrs, base, topic, wi);
}

static void
mode_text(struct src *s, unsigned topic, unsigned wi)
{
	static struct ferry_kafka_record_in recs[MAX_RECS];
	static struct ferry_kafka_header hdrs[MAX_RECS][FERRY_RULES_LINE_HEADERS_MAX];
	static struct ferry_rules_line ln;
	size_t len = s->n < TEXT_MAX ? s->n : TEXT_MAX;
	memcpy(F.text, s->p, len);
	size_t n = 0;
	for (size_t pos = 0; pos < len && n < MAX_RECS;) {
		char *nl = memchr(F.text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - F.text) : len;
		char *line = F.text + pos;
		size_t ll = end - pos;
		pos = end + 1;
		char err[256];
		err[0] = '\0';
		if (ferry_rules_line_parse(line, ll, &ln, err, sizeof(err)) != 0) {
			CHECK(err[0] != '\0');
			continue;
		}
		/* every span inside the line, unescaped sizes never above the source */
		size_t total = ln.key.len + ln.value.len;
		const struct ferry_span *sp[2 + 2 * FERRY_RULES_LINE_HEADERS_MAX];
		size_t ns = 0;
		sp[ns++] = &ln.key;
		sp[ns++] = &ln.value;
		CHECK(ln.n_headers <= FERRY_RULES_LINE_HEADERS_MAX);
		for (uint32_t k = 0; k < ln.n_headers; k++) {
			sp[ns++] = &ln.headers[k].Key;
			sp[ns++] = &ln.headers[k].Value;
			total += ln.headers[k].Key.len + ln.headers[k].Value.len;
			CHECK(ln.headers[k].Key.p != NULL);
		}
		for (size_t k = 0; k < ns; k++)
			CHECK(sp[k]->p == NULL ||
			      ((const char *)sp[k]->p >= line &&
			       (const char *)sp[k]->p + sp[k]->len <= line + ll));
		CHECK(total <= ll);
		memcpy(hdrs[n], ln.headers, ln.n_headers * sizeof(ln.headers[0]));
		recs[n] = (struct ferry_kafka_record_in){ .Timestamp = 1700000000000 + (int64_t)n,
							  .Key = ln.key,
							  .Value = ln.value,
							  .n_headers = ln.n_headers,
							  .Headers = hdrs[n] };
		n++;
	}
	if (n > 0)
		build_and_run(recs, n, FERRY_CODEC_NONE, 0, topic, wi);
}

static void
mode_raw(struct src *s, unsigned topic, unsigned wi)
{
	struct ferry_kafka_batch b;
	size_t used;
	if (s->n > BUILD_SIZE)
		return;
	if (ferry_kafka_batch_parse(ferry_span_make(s->p, s->n), &b, &used) != 0)
		return;
	run(&b, topic, wi, NULL, 0);
}

/*
 * Compile the rules before the first input: under ASan with coverage, on a loaded 2-core
 * machine, compiling pii-default takes seconds, and libFuzzer's per-input -timeout would
 * count it against the first input.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (F.rt == NULL)
		init();
	if (size == 0)
		return 0;
	struct src s = { data + 1, size - 1 };
	unsigned mode = data[0] & 3, topic = (data[0] >> 2) & 3, wi = (data[0] >> 4) & 1;
	F.arena_used = 0;
	switch (mode) {
	case 0: mode_raw(&s, topic, wi); break;
	case 1:
	case 3: mode_recipe(&s, topic, wi); break;
	case 2: mode_text(&s, topic, wi); break;
	}
	return 0;
}
