/*
 * test_policy_rules.c - the rules file parser and compiler (control/rules.c,
 * control/policy_compile.c) and the runtime pieces that read their output:
 *   - every rules-file error, each with its expected FILE:LINE and message;
 *   - the built-in pii-default pack compiled, scanned with Hyperscan over positive and
 *     negative examples per rule, candidates confirmed with the rule's validator;
 *   - topic decisions: deny wins, default deny/permit, whole-name matches, rule selectors.
 * Files are written to a fresh temporary directory.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hs_runtime.h>

#include "testutil.h"

#include "ferry/policy.h"
#include "policy_compile.h"
#include "rules.h"

static char tmpdir[256];
static char errbuf[16384];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-rules-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

/* Load and compile; return the first failing rc (0 when both succeed). */
static int
load_compile(const char *name, const char *yaml)
{
	char path[512];
	snprintf(path, sizeof(path), "%s", write_file(name, yaml, strlen(yaml)));
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	int rc = ferry_rules_load_file(path, &rs, errbuf, sizeof(errbuf));
	if (rc == 0) {
		rc = ferry_policy_compile(&rs, &snap, errbuf, sizeof(errbuf));
		if (rc == 0)
			ferry_policy_snapshot_free(&snap);
	}
	ferry_rules_free(&rs);
	return rc;
}

/* The file must fail with `want` ("NAME:LINE: ..." with NAME under tmpdir) in its errors. */
static void
expect_error(const char *name, const char *yaml, const char *want)
{
	char full[1024];
	int rc = load_compile(name, yaml);
	snprintf(full, sizeof(full), "%s/%s", tmpdir, want);
	if (rc == 0 || strstr(errbuf, full) == NULL) {
		print_error("rc %d, wanted \"%s\" in:\n%s\n", rc, full, errbuf);
		fail();
	}
	assert_int_equal(rc, -EINVAL);
}

#define RULE_HEAD "version: 1\nrules:\n  - name: r1\n"

static void
test_errors_file(void **state)
{
	(void)state;
	expect_error("yaml.yaml", "version: 1\nrules: [\n  {name: x\n", "yaml.yaml:4: bad YAML");
	expect_error("tab.yaml", "version: 1\nrules:\n\t- name: x\n", "tab.yaml:3: bad YAML");
	expect_error("empty.yaml", "", "empty.yaml:1: empty rules file");
	expect_error("list.yaml", "- a\n- b\n", "list.yaml:1: the document must be a mapping");
	expect_error("nover.yaml", "default: deny\n", "nover.yaml:1: missing 'version'");
	expect_error("ver2.yaml", "version: 2\n", "ver2.yaml:1: unsupported version '2'");
	expect_error("key.yaml", "version: 1\nrulez: []\n",
		     "key.yaml:2: top level: unknown key 'rulez'");
	expect_error("dupkey.yaml", "version: 1\ndefault: deny\ndefault: permit\n",
		     "dupkey.yaml:3: top level: duplicate key 'default' (first on line 2)");
	expect_error("default.yaml", "version: 1\ndefault: maybe\n",
		     "default.yaml:2: 'default' must be deny or permit");
	expect_error("pack.yaml", "version: 1\ninclude: [pii-extra]\n",
		     "pack.yaml:2: unknown pack 'pii-extra'");
	expect_error("pack2.yaml", "version: 1\ninclude: [pii-default, pii-default]\n",
		     "pack2.yaml:2: pack 'pii-default' included twice");
	expect_error("topics.yaml", "version: 1\ntopics:\n  permit: ['a']\n  allow: ['b']\n",
		     "topics.yaml:4: topics: unknown key 'allow'");
	expect_error("two.yaml", "version: 1\n---\nversion: 1\n",
		     "two.yaml:3: more than one YAML document");
}

static void
test_errors_rule(void **state)
{
	(void)state;
	expect_error("act.yaml", RULE_HEAD "    patterns: ['abc']\n    action: explode\n",
		     "act.yaml:5: rule 'r1': unknown action 'explode'");
	expect_error("val.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: tag\n    validator: md5\n",
		     "val.yaml:6: rule 'r1': unknown validator 'md5'");
	expect_error("where.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: tag\n    where: [value, body]\n",
		     "where.yaml:6: rule 'r1': unknown where 'body'");
	expect_error("unk.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: tag\n    colour: red\n",
		     "unk.yaml:6: rule 'r1': rule: unknown key 'colour'");
	expect_error("noname.yaml", "version: 1\nrules:\n  - patterns: ['abc']\n    action: tag\n",
		     "noname.yaml:3: rule #1: missing 'name'");
	expect_error("nopat.yaml", RULE_HEAD "    action: tag\n",
		     "nopat.yaml:3: rule 'r1': missing 'patterns'");
	expect_error("noact.yaml", RULE_HEAD "    patterns: ['abc']\n",
		     "noact.yaml:3: rule 'r1': missing 'action'");
	expect_error("dup.yaml",
		     RULE_HEAD "    patterns: ['a1']\n    action: tag\n"
			       "  - name: r1\n    patterns: ['b2']\n    action: drop\n",
		     "dup.yaml:6: rule 'r1': duplicate rule name (first defined at ");
	expect_error("duppack.yaml",
		     "version: 1\ninclude: [pii-default]\nrules:\n  - name: pii.email\n"
		     "    patterns: ['x@y']\n    action: tag\n",
		     "duppack.yaml:4: rule 'pii.email': duplicate rule name (first defined at "
		     "builtin:pii-default:");
	expect_error("mask1.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: mask\n    mask: {char: '**'}\n",
		     "mask1.yaml:6: rule 'r1': mask.char must be one printable ASCII character");
	expect_error("mask2.yaml",
		     RULE_HEAD
		     "    patterns: ['abc']\n    action: mask\n    mask: {keep_last: 100}\n",
		     "mask2.yaml:6: rule 'r1': 'mask.keep_last' is 100, at most 64 allowed");
	expect_error("mask3.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: drop\n    mask: {char: '#'}\n",
		     "mask3.yaml:6: rule 'r1': 'mask' is only valid with action mask, not drop");
	expect_error("mask4.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: mask\n    mask: {colour: x}\n",
		     "mask4.yaml:6: rule 'r1': mask: unknown key 'colour'");
	expect_error("cs.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: tag\n"
			       "    validator: charset\n",
		     "cs.yaml:3: rule 'r1': validator charset needs 'charset'");
	expect_error("len.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: tag\n"
			       "    min_len: 9\n    max_len: 3\n",
		     "len.yaml:6: rule 'r1': min_len 9 is larger than max_len 3");
	expect_error("name.yaml",
		     "version: 1\nrules:\n  - name: 'has space'\n"
		     "    patterns: ['abc']\n    action: tag\n",
		     "name.yaml:3: rule #1: name 'has space' must be");
}

static void
test_errors_regex(void **state)
{
	(void)state;
	expect_error("re1.yaml", RULE_HEAD "    patterns: ['abc', 'a(b']\n    action: tag\n",
		     "re1.yaml:4: rule 'r1': patterns[1] \"a(b\": bad regex: ");
	/* Back-references are PCRE but not Hyperscan. */
	expect_error("re2.yaml",
		     RULE_HEAD "    patterns:\n      - 'ok'\n      - '(a)\\1'\n    action: tag\n",
		     "re2.yaml:6: rule 'r1': patterns[1] \"(a)\\1\": bad regex: ");
	expect_error("re3.yaml", RULE_HEAD "    patterns: ['x*']\n    action: tag\n",
		     "re3.yaml:4: rule 'r1': patterns[0] \"x*\": matches the empty string");
	expect_error("re4.yaml", "version: 1\ntopics:\n  permit: ['ok']\n  deny: ['a)|(b']\n",
		     "re4.yaml:4: topics.deny[0] \"a)|(b\": bad regex: ");
	expect_error("re5.yaml",
		     RULE_HEAD "    patterns: ['abc']\n    action: tag\n    topics: ['[z-a]']\n",
		     "re5.yaml:6: rule 'r1': topics[0] \"[z-a]\": bad regex: ");
	/* Prefilters: no anchors or word boundaries (they run across fields), valid regex,
	 * no empty match; '^' inside a class and an escaped '\\b' in a class are fine. */
	expect_error("pf1.yaml",
		     RULE_HEAD "    patterns: ['\\bab']\n    prefilter: ['a', '\\bab']\n"
			       "    action: tag\n",
		     "pf1.yaml:5: rule 'r1': prefilter[1]: '\\b' is not allowed in a prefilter");
	expect_error("pf2.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter: ['^a']\n    action: tag\n",
		     "pf2.yaml:5: rule 'r1': prefilter[0]: '^' is not allowed");
	expect_error("pf3.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter: ['b$']\n    action: tag\n",
		     "pf3.yaml:5: rule 'r1': prefilter[0]: '$' is not allowed");
	expect_error("pf4.yaml",
		     RULE_HEAD
		     "    patterns: ['ab']\n    prefilter: ['(?<=x)a']\n    action: tag\n",
		     "pf4.yaml:5: rule 'r1': prefilter[0]: 'lookbehind' is not allowed");
	expect_error("pf5.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter: ['a(']\n    action: tag\n",
		     "pf5.yaml:5: rule 'r1': prefilter[0] \"a(\": bad regex: ");
	expect_error("pf6.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter: ['a?']\n    action: tag\n",
		     "pf6.yaml:5: rule 'r1': prefilter[0] \"a?\": matches the empty string");
	expect_error("pr1.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter_run: {class: '0-9'}\n"
			       "    action: tag\n",
		     "pr1.yaml:5: rule 'r1': prefilter_run: missing 'min'");
	expect_error("pr2.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter_run: {class: '0-9', min: 65}\n"
			       "    action: tag\n",
		     "pr2.yaml:5: rule 'r1': 'prefilter_run.min' is 65, at most 64 allowed");
	expect_error("pr3.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter_run: {class: 'acegi', min: 3}\n"
			       "    action: tag\n",
		     "pr3.yaml:5: rule 'r1': prefilter_run: class has more than 4 ranges");
	expect_error("pr4.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter_run: {class: '0-9', min: 3, "
			       "separators: ' -./:'}\n    action: tag\n",
		     "pr4.yaml:5: rule 'r1': prefilter_run.separators: at most 4 bytes");
	expect_error("pr5.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter_run: {class: '0-9', min: 3, "
			       "sep: ' '}\n    action: tag\n",
		     "pr5.yaml:5: rule 'r1': prefilter_run: unknown key 'sep'");
	expect_error("pr6.yaml",
		     RULE_HEAD "    patterns: ['ab']\n    prefilter_run: '0-9'\n    action: tag\n",
		     "pr6.yaml:5: rule 'r1': 'prefilter_run' must be a mapping");
	struct ferry_rules rs;
	const char *run = RULE_HEAD "    patterns: ['ab']\n    prefilter_run: {class: 'A-Z0-9', "
				    "min: 12, separators: ' '}\n    action: tag\n";
	assert_int_equal(
	    ferry_rules_load_buf("pr7.yaml", run, strlen(run), &rs, errbuf, sizeof(errbuf)), 0);
	assert_true(rs.rules[0].r.gated && rs.rules[0].r.has_run);
	assert_int_equal(rs.rules[0].r.run.n_ranges, 2);
	assert_int_equal(rs.rules[0].r.run.lo[0], '0');
	assert_int_equal(rs.rules[0].r.run.hi[1], 'Z');
	assert_int_equal(rs.rules[0].r.run.min, 12);
	assert_int_equal(rs.rules[0].r.run.n_seps, 1);
	ferry_rules_free(&rs);
	const char *ok = RULE_HEAD "    patterns: ['a\\d']\n    prefilter: ['[^$]a[\\b]', "
				   "'a\\$']\n    action: tag\n";
	assert_int_equal(
	    ferry_rules_load_buf("pf7.yaml", ok, strlen(ok), &rs, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(rs.rules[0].n_prefilter, 2);
	assert_true(rs.rules[0].r.gated);
	ferry_rules_free(&rs);

	/* Every bad pattern is reported, not only the first. */
	load_compile("re6.yaml", RULE_HEAD "    patterns: ['(', ')']\n    action: tag\n");
	assert_non_null(strstr(errbuf, "patterns[0]"));
	assert_non_null(strstr(errbuf, "patterns[1]"));
}

static void
test_errors_key(void **state)
{
	(void)state;
	const char *tok = RULE_HEAD "    patterns: ['abc']\n    action: tokenise\n";
	expect_error("tok1.yaml", tok,
		     "tok1.yaml:3: rule 'r1': action tokenise needs 'tokenise_key_file'");

	char yaml[512];
	snprintf(yaml, sizeof(yaml),
		 "version: 1\ntokenise_key_file: nokey.bin\nrules:\n  - name: r1\n"
		 "    patterns: ['abc']\n    action: tokenise\n");
	expect_error("tok2.yaml", yaml, "tok2.yaml:2: tokenise_key_file '");
	assert_non_null(strstr(errbuf, "nokey.bin': No such file or directory"));

	write_file("short.key", "0123456789", 10);
	snprintf(yaml, sizeof(yaml),
		 "version: 1\ntokenise_key_file: short.key\nrules:\n  - name: r1\n"
		 "    patterns: ['abc']\n    action: tokenise\n");
	expect_error("tok3.yaml", yaml, "tok3.yaml:2: tokenise_key_file '");
	assert_non_null(strstr(errbuf, "key too short (10 bytes"));

	snprintf(yaml, sizeof(yaml),
		 "version: 1\ntokenise_key_file: /\nrules:\n  - name: r1\n"
		 "    patterns: ['abc']\n    action: tokenise\n");
	expect_error("tok4.yaml", yaml, "tok4.yaml:2: tokenise_key_file '/': not a regular file");

	if (geteuid() != 0) { /* root reads anything */
		const char *p = write_file("locked.key", "0123456789abcdef0123456789abcdef", 32);
		chmod(p, 0);
		snprintf(yaml, sizeof(yaml),
			 "version: 1\ntokenise_key_file: locked.key\nrules:\n  - name: r1\n"
			 "    patterns: ['abc']\n    action: tokenise\n");
		expect_error("tok5.yaml", yaml, "tok5.yaml:2: tokenise_key_file '");
		assert_non_null(strstr(errbuf, "Permission denied"));
	}

	/* A good key, relative to the rules file: loads and reaches the snapshot. */
	write_file("good.key", "0123456789abcdef0123456789abcdef!", 33);
	snprintf(yaml, sizeof(yaml),
		 "version: 1\ntokenise_key_file: good.key\nrules:\n  - name: r1\n"
		 "    patterns: ['abc']\n    action: tokenise\n");
	char path[512];
	snprintf(path, sizeof(path), "%s", write_file("tok6.yaml", yaml, strlen(yaml)));
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	assert_int_equal(ferry_rules_load_file(path, &rs, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(ferry_policy_compile(&rs, &snap, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(snap.token_key_len, 33);
	assert_memory_equal(snap.token_key, "0123456789abcdef0123456789abcdef!", 33);
	assert_true(snap.rules[0].som);
	ferry_policy_snapshot_free(&snap);
	ferry_rules_free(&rs);
}

static void
test_good_file(void **state)
{
	(void)state;
	const char *yaml = "version: 1\n"
			   "default: permit\n"
			   "topics:\n  deny: ['__.*']\n"
			   "rules:\n"
			   "  - name: card\n"
			   "    patterns: ['\\b\\d(?:[ -]?\\d){12,18}\\b']\n"
			   "    where: [value, 'header:notes', 'header:memo']\n"
			   "    validator: luhn\n"
			   "    action: mask\n"
			   "    mask: {char: '#', keep_last: 4}\n"
			   "    topics: ['trades\\..*']\n"
			   "  - name: secret\n"
			   "    patterns: ['TOPSECRET']\n"
			   "    where: [key]\n"
			   "    action: drop\n"
			   "    caseless: true\n"
			   "  - name: phone\n"
			   "    patterns: ['\\+\\d{8,14}']\n"
			   "    validator: charset\n"
			   "    charset: '0-9+'\n"
			   "    min_len: 9\n"
			   "    action: quarantine\n";
	char path[512];
	snprintf(path, sizeof(path), "%s", write_file("good.yaml", yaml, strlen(yaml)));
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	assert_int_equal(ferry_rules_load_file(path, &rs, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(ferry_policy_compile(&rs, &snap, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(snap.format, FERRY_POLICY_SNAPSHOT_FORMAT);
	assert_int_equal(snap.n_rules, 3);
	const struct ferry_policy_rule *r = &snap.rules[0];
	assert_string_equal(r->name, "card");
	assert_int_equal(r->action, FERRY_POLICY_ACT_MASK);
	assert_int_equal(r->where, FERRY_POLICY_WHERE_VALUE | FERRY_POLICY_WHERE_HEADER);
	assert_int_equal(r->n_headers, 2);
	assert_string_equal(r->headers[1], "memo");
	assert_int_equal(r->header_len[1], 4);
	assert_int_equal(r->mask_char, '#');
	assert_int_equal(r->keep_last, 4);
	assert_true(r->som);
	assert_false(r->all_topics);
	r = &snap.rules[1];
	assert_int_equal(r->where, FERRY_POLICY_WHERE_KEY);
	assert_true(r->caseless);
	assert_false(r->som); /* drop without validator: end offsets suffice */
	assert_true(r->all_topics);
	r = &snap.rules[2];
	assert_int_equal(r->where, FERRY_POLICY_WHERE_ALL);
	assert_true(r->has_charset);
	assert_true(r->som);
	assert_true(ferry_policy_confirm(r, (const uint8_t *)"+4412345678", 11));
	assert_false(ferry_policy_confirm(r, (const uint8_t *)"+44123", 6));
	assert_true(snap.record_db_len > 0 && snap.record_db_size > 0);
	assert_true(snap.topic_db_len > 0 && snap.topic_db_size > 0);
	assert_int_equal(snap.n_topic_ids, 2);
	ferry_policy_snapshot_free(&snap);
	ferry_rules_free(&rs);
}

/* ---- pii-default under Hyperscan ---------------------------------------------------------- */

struct hit {
	unsigned id;
	unsigned long long from, to;
};

struct hits {
	struct hit h[256];
	size_t n;
};

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	 void *ctx)
{
	(void)flags;
	struct hits *hs = ctx;
	if (hs->n < 256)
		hs->h[hs->n++] = (struct hit){ id, from, to };
	return 0;
}

struct sample {
	const char *rule;
	const char *text; /* the PII itself; scanned inside surrounding text */
	bool positive;
};

static const struct sample samples[] = {
	{ "pii.card-number", "4111111111111111", true },
	{ "pii.card-number", "5500 0000 0000 0004", true },
	{ "pii.card-number", "378282246310005", true },
	{ "pii.card-number", "4111-1111-1111-1111", true },
	{ "pii.card-number", "4111111111111112", false },
	{ "pii.card-number", "5500 0000 0000 0005", false },
	{ "pii.card-number", "order 1234567890123", false },
	{ "pii.iban", "GB82WEST12345698765432", true },
	{ "pii.iban", "DE89370400440532013000", true },
	{ "pii.iban", "GB82 WEST 1234 5698 7654 32", true },
	{ "pii.iban", "GB83WEST12345698765432", false },
	{ "pii.iban", "DE8937040044053201300", false },
	{ "pii.email", "jane.doe+fx@example.co.uk", true },
	{ "pii.email", "ops@bank.com", true },
	{ "pii.email", "not an @ address", false },
	{ "pii.email", "user@localhost", false },
	{ "pii.phone", "+447911123456", true },
	{ "pii.phone", "07911 123 456", true },
	{ "pii.phone", "020 7946 0018", true },
	{ "pii.phone", "(212) 555-0100", true },
	{ "pii.phone", "212-555-0100", true },
	{ "pii.phone", "+1 212 555-0100", true },
	{ "pii.phone", "+65 9123 4567", true },
	{ "pii.phone", "090-1234-5678", true },
	{ "pii.phone", "+81 3 1234 5678", true },
	{ "pii.phone", "qty 12345 px 101.5", false },
	{ "pii.phone", "+12", false },
	{ "pii.us-ssn", "123-45-6789", true },
	{ "pii.us-ssn", "000-12-3456", false },
	{ "pii.us-ssn", "666-12-3456", false },
	{ "pii.us-ssn", "912-12-3456", false },
	{ "pii.us-ssn", "123-00-4567", false },
	{ "pii.us-ssn", "123-45-0000", false },
	{ "pii.uk-nino", "AB123456C", true },
	{ "pii.uk-nino", "AB 12 34 56 C", true },
	{ "pii.uk-nino", "GB123456A", false },
	{ "pii.uk-nino", "QQ123456C", false },
	{ "pii.uk-nino", "AB123456E", false },
	{ "pii.uk-nino", "AO123456A", false },
	{ "pii.sg-nric", "S1234567D", true },
	{ "pii.sg-nric", "T1234567J", true },
	{ "pii.sg-nric", "F1234567N", true },
	{ "pii.sg-nric", "S1234567E", false },
	{ "pii.sg-nric", "X1234567D", false },
	{ "pii.jp-mynumber", "123456789018", true },
	{ "pii.jp-mynumber", "1234 5678 9018", true },
	{ "pii.jp-mynumber", "123456789017", false },
	{ "pii.swift-bic", "DEUTDEFF", true },
	{ "pii.swift-bic", "NWBKGB2LXXX", true },
	{ "pii.swift-bic", "DEUTXXFF", false },
	{ "pii.swift-bic", "deutdeff", false },
	{ "pii.swift-bic", "NWBKGB20", false }, /* location 'x0' is a test BIC */
};

static void
test_pii_default(void **state)
{
	(void)state;
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	struct hs_database *db;
	struct hs_scratch *scratch = NULL;
	assert_int_equal(ferry_rules_load_pack("pii-default", &rs, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(ferry_policy_compile(&rs, &snap, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(
	    ferry_policy_db_load(snap.record_db, snap.record_db_len, &db, errbuf, sizeof(errbuf)),
	    0);
	assert_int_equal(ferry_policy_scratch_alloc(db, &scratch), 0);

	bool covered[FERRY_POLICY_RULES_MAX] = { false };
	for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
		const struct sample *sm = &samples[s];
		uint32_t id;
		for (id = 0; id < snap.n_rules; id++)
			if (strcmp(snap.rules[id].name, sm->rule) == 0)
				break;
		assert_true(id < snap.n_rules);
		const struct ferry_policy_rule *r = &snap.rules[id];
		char text[256];
		int prefix = snprintf(text, sizeof(text), "{\"note\":\"pay ");
		int len = prefix + snprintf(text + prefix, sizeof(text) - (size_t)prefix,
					    "%s please\"}", sm->text);
		struct hits hs = { .n = 0 };
		assert_int_equal(hs_scan(db, text, (unsigned)len, 0, scratch, on_match, &hs),
				 HS_SUCCESS);
		/* The runtime's rule: a candidate counts when its rule's validator confirms it;
		 * with SOM the span is [from, to), otherwise only the end is known. */
		bool confirmed = false, exact = false;
		for (size_t i = 0; i < hs.n; i++) {
			if (hs.h[i].id != id)
				continue;
			size_t from = r->som ? hs.h[i].from : 0, to = hs.h[i].to;
			if (!r->som ||
			    ferry_policy_confirm(r, (const uint8_t *)text + from, to - from)) {
				confirmed = true;
				exact |= from == (size_t)prefix &&
					 to == (size_t)prefix + strlen(sm->text);
			}
		}
		if (confirmed != sm->positive || (sm->positive && r->som && !exact)) {
			print_error("%s: \"%s\": expected %s, got %s%s\n", sm->rule, sm->text,
				    sm->positive ? "match" : "no match",
				    confirmed ? "match" : "no match",
				    confirmed && !exact ? " (not the exact span)" : "");
			fail();
		}
		covered[id] |= sm->positive;
	}
	for (uint32_t id = 0; id < snap.n_rules; id++)
		if (!covered[id]) {
			print_error("rule %s has no positive sample\n", snap.rules[id].name);
			fail();
		}
	ferry_policy_scratch_free(scratch);
	ferry_policy_db_free(db);
	ferry_policy_snapshot_free(&snap);
	ferry_rules_free(&rs);
}

/* ---- topic decisions ------------------------------------------------------------------------ */

struct topic_fixture {
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	struct hs_database *db;
	struct hs_scratch *scratch;
};

static void
topic_load(struct topic_fixture *tf, const char *yaml)
{
	memset(tf, 0, sizeof(*tf));
	assert_int_equal(
	    ferry_rules_load_buf("t.yaml", yaml, strlen(yaml), &tf->rs, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(ferry_policy_compile(&tf->rs, &tf->snap, errbuf, sizeof(errbuf)), 0);
	if (tf->snap.topic_db != NULL) {
		assert_int_equal(ferry_policy_db_load(tf->snap.topic_db, tf->snap.topic_db_len,
						      &tf->db, errbuf, sizeof(errbuf)),
				 0);
		assert_int_equal(ferry_policy_scratch_alloc(tf->db, &tf->scratch), 0);
	}
}

static void
topic_unload(struct topic_fixture *tf)
{
	ferry_policy_scratch_free(tf->scratch);
	ferry_policy_db_free(tf->db);
	ferry_policy_snapshot_free(&tf->snap);
	ferry_rules_free(&tf->rs);
}

static enum ferry_policy_topic_decision
decide(struct topic_fixture *tf, const char *topic, struct ferry_policy_topic_rules *out)
{
	return ferry_policy_topic_decide(&tf->snap, tf->db, tf->scratch, topic, strlen(topic), out);
}

static void
test_topics(void **state)
{
	(void)state;
	struct topic_fixture tf;
	struct ferry_policy_topic_rules out;
	topic_load(&tf, "version: 1\n"
			"default: deny\n"
			"topics:\n"
			"  permit: ['trades', 'orders\\..*', 'fx\\..*']\n"
			"  deny: ['.*\\.internal', '__.*']\n"
			"rules:\n"
			"  - name: everywhere\n    patterns: ['abc']\n    action: tag\n"
			"  - name: fx-only\n    patterns: ['def']\n    action: drop\n"
			"    topics: ['fx\\.spot', 'fx\\.fwd']\n");
	/* Whole-name matches only. */
	assert_int_equal(decide(&tf, "trades", &out), FERRY_POLICY_TOPIC_INSPECT);
	assert_int_equal(decide(&tf, "trades.x", &out), FERRY_POLICY_TOPIC_DENY);
	assert_int_equal(decide(&tf, "xtrades", &out), FERRY_POLICY_TOPIC_DENY);
	assert_int_equal(decide(&tf, "trades\n", &out), FERRY_POLICY_TOPIC_DENY);
	assert_int_equal(decide(&tf, "orders.eu", &out), FERRY_POLICY_TOPIC_INSPECT);
	assert_true(out.permit_hit);
	assert_false(out.deny_hit);
	assert_int_equal(out.rules[0], UINT64_C(1)); /* fx-only does not apply */
	/* Deny wins over permit. */
	assert_int_equal(decide(&tf, "orders.internal", &out), FERRY_POLICY_TOPIC_DENY);
	assert_true(out.permit_hit || out.deny_hit);
	assert_true(out.deny_hit);
	assert_int_equal(out.rules[0], 0);
	assert_int_equal(decide(&tf, "__consumer_offsets", &out), FERRY_POLICY_TOPIC_DENY);
	/* Default deny: on neither list. */
	assert_int_equal(decide(&tf, "payroll", &out), FERRY_POLICY_TOPIC_DENY);
	assert_false(out.permit_hit || out.deny_hit);
	/* Rule selectors: whole names too. */
	assert_int_equal(decide(&tf, "fx.spot", &out), FERRY_POLICY_TOPIC_INSPECT);
	assert_int_equal(out.rules[0], UINT64_C(3));
	assert_int_equal(decide(&tf, "fx.spotx", &out), FERRY_POLICY_TOPIC_INSPECT);
	assert_int_equal(out.rules[0], UINT64_C(1));
	topic_unload(&tf);

	/* Default permit, no record rule: PERMIT (not inspected), deny list still wins. */
	topic_load(&tf, "version: 1\ndefault: permit\ntopics:\n  deny: ['secret\\..*']\n");
	assert_int_equal(decide(&tf, "anything", &out), FERRY_POLICY_TOPIC_PERMIT);
	assert_int_equal(decide(&tf, "secret.a", &out), FERRY_POLICY_TOPIC_DENY);
	topic_unload(&tf);

	/* A rule only for some topics: others pass without inspection. */
	topic_load(&tf, "version: 1\ndefault: permit\nrules:\n"
			"  - name: r\n    patterns: ['abc']\n    action: tag\n"
			"    topics: ['pay\\..*']\n");
	assert_int_equal(decide(&tf, "pay.sg", &out), FERRY_POLICY_TOPIC_INSPECT);
	assert_int_equal(decide(&tf, "trades", &out), FERRY_POLICY_TOPIC_PERMIT);
	topic_unload(&tf);

	/* No topic database at all: default decides. */
	topic_load(&tf, "version: 1\n");
	assert_null(tf.snap.topic_db);
	assert_int_equal(decide(&tf, "trades", &out), FERRY_POLICY_TOPIC_DENY);
	topic_unload(&tf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_file),  cmocka_unit_test(test_errors_rule),
		cmocka_unit_test(test_errors_regex), cmocka_unit_test(test_errors_key),
		cmocka_unit_test(test_good_file),    cmocka_unit_test(test_pii_default),
		cmocka_unit_test(test_topics),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
