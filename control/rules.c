/*
 * rules.c - parse a policy rules file (YAML, with libyaml's document loader) into a
 * struct ferry_rules, checking everything that can be checked without Hyperscan. Pattern
 * syntax is checked by policy_compile.c, which reports with the line numbers kept here.
 *
 * Control thread only; allocates; owns nothing after ferry_rules_free().
 *
 * Schema (version 1). Every key is optional unless marked; unknown keys are errors.
 *
 *   version: 1                          # required
 *   default: deny                       # deny | permit: topics on neither list (default deny)
 *   tokenise_key_file: /etc/ferry/token.key
 *                                       # 32..64 raw bytes, regular file, relative paths are
 *                                       # relative to the rules file; required if any rule
 *                                       # tokenises. Never inline.
 *   topics:
 *     permit: ["trades\\..*", "orders"] # whole-name regexes (MM2 `topics`)
 *     deny:   [".*\\.internal", "__.*"] # whole-name regexes (MM2 `topics.exclude`); deny wins
 *   include: [pii-default]              # built-in packs; their rules come first
 *   rules:
 *     - name: card-number               # required; [A-Za-z0-9._-], < 64 bytes, unique
 *       description: free text
 *       patterns: ["\\b(?:\\d[ -]?){12,18}\\d\\b"]   # required; Hyperscan (PCRE) syntax
 *       prefilter: ["\\d[ -]?\\d[ -]?\\d"] # optional gate: every match of the patterns
 *                                       # contains a prefilter match; no anchors or \\b.
 *                                       # The batch is scanned once with all gates; only
 *                                       # records where a rule's gate fired are scanned
 *                                       # with the rule itself (see runtime.c)
 *       prefilter_run: {class: "0-9", min: 12, separators: " -"}
 *                                       # optional gate: every match holds a run of min
 *                                       # class bytes joined by single separators
 *                                       # (dataplane/policy/runs.c); with prefilter, a
 *                                       # record is looked at when either fires
 *       where: [value, header:notes]    # key | value | header:NAME | all (default: all)
 *       validator: luhn                 # none | luhn | iban | charset | nric | mynumber
 *       charset: "0-9 +()-"             # bytes allowed in a match (ranges a-z; '-' last)
 *       min_len: 8                      # match length bounds (any validator)
 *       max_len: 20
 *       action: mask                    # required: tag | mask | tokenise | drop | quarantine
 *       mask: {char: "*", keep_last: 4} # action mask only; defaults "*" and 0
 *       topics: ["trades\\..*"]         # whole-name regexes; default: every inspected topic
 *       caseless: false
 *
 * A built-in pack is the same format with only version, description and rules.
 *
 * Errors are "FILE:LINE: what" or "FILE:LINE: rule 'NAME': what", one per line, all of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "ferry/policy.h"
#include "rules.h"

/* Built-in packs, embedded at build time (control/rules/embed.py). */
extern const char ferry_pack_pii_default[];
extern const size_t ferry_pack_pii_default_len;

static const struct {
	const char *name;
	const char *text;
	const size_t *len;
} packs[] = {
	{ "pii-default", ferry_pack_pii_default, &ferry_pack_pii_default_len },
};

const char *
ferry_rules_pack_text(const char *pack, size_t *len)
{
	for (size_t i = 0; i < sizeof(packs) / sizeof(packs[0]); i++) {
		if (strcmp(packs[i].name, pack) == 0) {
			*len = *packs[i].len;
			return packs[i].text;
		}
	}
	return NULL;
}

void
ferry_rules_errf(struct ferry_rules_err *e, const char *fmt, ...)
{
	e->n++;
	if (e->buf == NULL || e->cap == 0 || e->len + 1 >= e->cap)
		return;
	if (e->len > 0)
		e->buf[e->len++] = '\n';
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(e->buf + e->len, e->cap - e->len, fmt, ap);
	va_end(ap);
	if (w > 0)
		e->len += (size_t)w < e->cap - e->len ? (size_t)w : e->cap - e->len - 1;
	e->buf[e->len] = '\0';
}

/* ---- parse state and helpers ---------------------------------------------------------- */

struct parse {
	struct ferry_rules *rs;
	struct ferry_rules_err *e;
	yaml_document_t *doc;
	const char *file; /* source name in messages, owned by rs->sources */
	bool pack;        /* a built-in pack: rules only */
	bool nomem;
	bool included[sizeof(packs) / sizeof(packs[0])];
};

/* The rule being parsed, for message prefixes. */
struct rule_ctx {
	const char *name; /* NULL until known */
	size_t index;
};

static yaml_node_t *
node(struct parse *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

static unsigned
line_of(const yaml_node_t *n)
{
	return n ? (unsigned)n->start_mark.line + 1 : 0;
}

__attribute__((format(printf, 4, 5))) static void
perr(struct parse *p, const yaml_node_t *n, const struct rule_ctx *rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rc == NULL)
		ferry_rules_errf(p->e, "%s:%u: %s", p->file, line_of(n), msg);
	else if (rc->name != NULL)
		ferry_rules_errf(p->e, "%s:%u: rule '%s': %s", p->file, line_of(n), rc->name, msg);
	else
		ferry_rules_errf(p->e, "%s:%u: rule #%zu: %s", p->file, line_of(n), rc->index + 1,
				 msg);
}

static bool
is_scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE;
}

static const char *
sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool
scalar_eq(const yaml_node_t *n, const char *s)
{
	return is_scalar(n) && n->data.scalar.length == strlen(s) &&
	       memcmp(sval(n), s, n->data.scalar.length) == 0;
}

/* A string scalar without NUL bytes, else an error naming `what`. */
static const char *
get_str(struct parse *p, const yaml_node_t *n, const struct rule_ctx *rc, const char *what)
{
	if (!is_scalar(n)) {
		perr(p, n, rc, "'%s' must be a string", what);
		return NULL;
	}
	if (strlen(sval(n)) != n->data.scalar.length) {
		perr(p, n, rc, "'%s' contains a NUL byte", what);
		return NULL;
	}
	return sval(n);
}

static bool
get_bool(struct parse *p, const yaml_node_t *n, const struct rule_ctx *rc, const char *what,
	 bool *v)
{
	if (scalar_eq(n, "true")) {
		*v = true;
		return true;
	}
	if (scalar_eq(n, "false")) {
		*v = false;
		return true;
	}
	perr(p, n, rc, "'%s' must be true or false", what);
	return false;
}

static bool
get_uint(struct parse *p, const yaml_node_t *n, const struct rule_ctx *rc, const char *what,
	 unsigned long max, unsigned long *v)
{
	const char *s = is_scalar(n) ? sval(n) : NULL;
	if (s == NULL || n->data.scalar.length == 0 || n->data.scalar.length > 10 ||
	    strspn(s, "0123456789") != n->data.scalar.length) {
		perr(p, n, rc, "'%s' must be a non-negative integer", what);
		return false;
	}
	*v = strtoul(s, NULL, 10);
	if (*v > max) {
		perr(p, n, rc, "'%s' is %lu, at most %lu allowed", what, *v, max);
		return false;
	}
	return true;
}

static bool
grow(struct parse *p, void **arr, size_t n, size_t elem)
{
	/* Grow by one element, zeroed. */
	void *a = realloc(*arr, (n + 1) * elem);
	if (a == NULL) {
		p->nomem = true;
		return false;
	}
	memset((char *)a + n * elem, 0, elem);
	*arr = a;
	return true;
}

/* Check a mapping's keys against a list and for duplicates; returns false on any error. */
static bool
check_keys(struct parse *p, const yaml_node_t *map, const struct rule_ctx *rc,
	   const char *const *allowed, const char *where)
{
	bool ok = true;
	for (yaml_node_pair_t *a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top;
	     a++) {
		yaml_node_t *k = node(p, a->key);
		if (!is_scalar(k)) {
			perr(p, k, rc, "%s: keys must be strings", where);
			ok = false;
			continue;
		}
		bool known = false;
		for (const char *const *s = allowed; *s; s++)
			known |= scalar_eq(k, *s);
		if (!known) {
			perr(p, k, rc, "%s: unknown key '%.64s'", where, sval(k));
			ok = false;
		}
		for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
			yaml_node_t *k2 = node(p, b->key);
			if (is_scalar(k2) && k2->data.scalar.length == k->data.scalar.length &&
			    memcmp(sval(k2), sval(k), k->data.scalar.length) == 0) {
				perr(p, k, rc, "%s: duplicate key '%.64s' (first on line %u)",
				     where, sval(k), line_of(k2));
				ok = false;
				break;
			}
		}
	}
	return ok;
}

/* Value node of `key` in a mapping, NULL when absent. */
static yaml_node_t *
lookup(struct parse *p, const yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top;
	     a++)
		if (scalar_eq(node(p, a->key), key))
			return node(p, a->value);
	return NULL;
}

/* Parse a list of regexes into (*out, *n). */
static void
get_regex_list(struct parse *p, const yaml_node_t *seq, const struct rule_ctx *rc, const char *what,
	       struct ferry_rules_regex **out, size_t *n, size_t max)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE) {
		perr(p, seq, rc, "'%s' must be a list of regexes", what);
		return;
	}
	size_t idx = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++, idx++) {
		yaml_node_t *v = node(p, *it);
		if (idx >= max) {
			perr(p, v, rc, "'%s': more than %zu entries", what, max);
			return;
		}
		const char *s = get_str(p, v, rc, what);
		if (s == NULL)
			continue;
		if (*s == '\0') {
			perr(p, v, rc, "%s[%zu]: empty regex", what, idx);
			continue;
		}
		if (!grow(p, (void **)out, *n, sizeof(**out)))
			return;
		char *dup = strdup(s);
		if (dup == NULL) {
			p->nomem = true;
			return;
		}
		(*out)[*n] = (struct ferry_rules_regex){ dup, p->file, line_of(v) };
		(*n)++;
	}
}

/* ---- one rule --------------------------------------------------------------------------- */

/*
 * A prefilter runs once over a batch's concatenated records, so an assertion about what
 * surrounds a match (\b, \B, ^, $, \A, \z, \Z, \G, lookbehind) would look at the bytes of
 * a neighbouring field or record and could miss a match the rule itself finds inside one
 * field. Returns the first such construct, or NULL. Escapes and bracket classes are skipped
 * properly; inside a class '^' and '$' are ordinary.
 */
static const char *
prefilter_anchor(const char *re)
{
	bool in_class = false;
	for (const char *c = re; *c; c++) {
		if (*c == '\\') {
			if (c[1] == '\0')
				break;
			c++;
			if (!in_class && strchr("bBAzZG", *c) != NULL) {
				static const char *const names[] = { "\\b", "\\B", "\\A",
								     "\\z", "\\Z", "\\G" };
				return names[strchr("bBAzZG", *c) - "bBAzZG"];
			}
			continue;
		}
		if (in_class) {
			if (*c == ']')
				in_class = false;
			continue;
		}
		if (*c == '[') {
			in_class = true;
			if (c[1] == '^')
				c++;
			if (c[1] == ']')
				c++; /* a leading ']' is a literal */
			continue;
		}
		if (*c == '^')
			return "^";
		if (*c == '$')
			return "$";
		if (c[0] == '(' && c[1] == '?' && c[2] == '<' && (c[3] == '=' || c[3] == '!'))
			return "lookbehind";
	}
	return NULL;
}

static bool
valid_rule_name(const char *s, size_t len)
{
	if (len == 0 || len >= FERRY_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static void
parse_where(struct parse *p, const yaml_node_t *seq, const struct rule_ctx *rc,
	    struct ferry_policy_rule *r)
{
	if (seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.items.start == seq->data.sequence.items.top) {
		perr(p, seq, rc,
		     "'where' must be a non-empty list of key, value, header:NAME, all");
		return;
	}
	r->where = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *v = node(p, *it);
		const char *s = get_str(p, v, rc, "where");
		if (s == NULL)
			continue;
		if (strcmp(s, "key") == 0) {
			r->where |= FERRY_POLICY_WHERE_KEY;
		} else if (strcmp(s, "value") == 0) {
			r->where |= FERRY_POLICY_WHERE_VALUE;
		} else if (strcmp(s, "all") == 0) {
			r->where |= FERRY_POLICY_WHERE_ALL;
		} else if (strncmp(s, "header:", 7) == 0) {
			size_t hl = strlen(s + 7);
			if (hl == 0 || hl >= FERRY_POLICY_HDR_NAME_MAX) {
				perr(p, v, rc, "where: header name must be 1..%d bytes",
				     FERRY_POLICY_HDR_NAME_MAX - 1);
				continue;
			}
			if (r->n_headers == FERRY_POLICY_HEADERS_MAX) {
				perr(p, v, rc, "where: at most %d named headers",
				     FERRY_POLICY_HEADERS_MAX);
				continue;
			}
			memcpy(r->headers[r->n_headers], s + 7, hl + 1);
			r->header_len[r->n_headers++] = (uint16_t)hl;
			r->where |= FERRY_POLICY_WHERE_HEADER;
		} else {
			perr(p, v, rc, "unknown where '%.64s' (key, value, header:NAME, all)", s);
		}
	}
}

static bool
parse_charset(struct parse *p, const yaml_node_t *n, const struct rule_ctx *rc,
	      struct ferry_policy_charset *cs)
{
	const char *s = get_str(p, n, rc, "charset");
	if (s == NULL)
		return false;
	size_t len = strlen(s);
	if (len == 0) {
		perr(p, n, rc, "'charset' is empty");
		return false;
	}
	memset(cs, 0, sizeof(*cs));
	for (size_t i = 0; i < len; i++) {
		unsigned lo = (uint8_t)s[i], hi = lo;
		if (i + 2 < len && s[i + 1] == '-') {
			hi = (uint8_t)s[i + 2];
			i += 2;
			if (hi < lo) {
				perr(p, n, rc, "charset: range '%c-%c' is reversed", (int)lo,
				     (int)hi);
				return false;
			}
		}
		for (unsigned c = lo; c <= hi; c++)
			cs->set[c >> 3] |= (uint8_t)(1u << (c & 7));
	}
	return true;
}

/*
 * prefilter_run: {class: "0-9", min: 12, separators: " -"}. The class is written like a
 * charset and must come to at most FERRY_POLICY_RUN_RANGES_MAX ranges; separators are single
 * bytes. Returns whether the run is usable.
 */
static bool
parse_run(struct parse *p, const yaml_node_t *n, const struct rule_ctx *rc,
	  struct ferry_policy_run *run)
{
	static const char *const keys[] = { "class", "min", "separators", NULL };
	if (n->type != YAML_MAPPING_NODE) {
		perr(p, n, rc,
		     "'prefilter_run' must be a mapping {class: \"0-9\", min: N, separators: \" "
		     "-\"}");
		return false;
	}
	if (!check_keys(p, n, rc, keys, "prefilter_run"))
		return false;
	memset(run, 0, sizeof(*run));
	yaml_node_t *c = lookup(p, n, "class"), *mn = lookup(p, n, "min"),
		    *sp = lookup(p, n, "separators");
	bool ok = true;
	struct ferry_policy_charset cs;
	if (c == NULL) {
		perr(p, n, rc, "prefilter_run: missing 'class'");
		ok = false;
	} else if (!parse_charset(p, c, rc, &cs)) {
		ok = false;
	} else {
		/* the set as ranges, lowest first */
		for (unsigned b = 0; b < 256; b++) {
			if (!((cs.set[b >> 3] >> (b & 7)) & 1))
				continue;
			unsigned e = b;
			while (e + 1 < 256 && ((cs.set[(e + 1) >> 3] >> ((e + 1) & 7)) & 1))
				e++;
			if (run->n_ranges == FERRY_POLICY_RUN_RANGES_MAX) {
				perr(p, c, rc, "prefilter_run: class has more than %d ranges",
				     FERRY_POLICY_RUN_RANGES_MAX);
				ok = false;
				break;
			}
			run->lo[run->n_ranges] = (uint8_t)b;
			run->hi[run->n_ranges] = (uint8_t)e;
			run->n_ranges++;
			b = e;
		}
	}
	unsigned long v;
	if (mn == NULL) {
		perr(p, n, rc, "prefilter_run: missing 'min'");
		ok = false;
	} else if (!get_uint(p, mn, rc, "prefilter_run.min", FERRY_POLICY_RUN_MIN_MAX, &v)) {
		ok = false;
	} else if (v == 0) {
		perr(p, mn, rc, "prefilter_run.min must be 1..%d", FERRY_POLICY_RUN_MIN_MAX);
		ok = false;
	} else {
		run->min = (uint16_t)v;
	}
	if (sp != NULL) {
		const char *s = get_str(p, sp, rc, "prefilter_run.separators");
		size_t len = s ? strlen(s) : 0;
		if (s == NULL) {
			ok = false;
		} else if (len > FERRY_POLICY_RUN_SEPS_MAX) {
			perr(p, sp, rc, "prefilter_run.separators: at most %d bytes",
			     FERRY_POLICY_RUN_SEPS_MAX);
			ok = false;
		} else {
			memcpy(run->sep, s, len);
			run->n_seps = (uint8_t)len;
		}
	}
	return ok;
}

static void
parse_mask(struct parse *p, const yaml_node_t *n, const struct rule_ctx *rc,
	   struct ferry_policy_rule *r)
{
	static const char *const keys[] = { "char", "keep_last", NULL };
	if (n->type != YAML_MAPPING_NODE) {
		perr(p, n, rc, "'mask' must be a mapping {char: \"*\", keep_last: N}");
		return;
	}
	if (!check_keys(p, n, rc, keys, "mask"))
		return;
	yaml_node_t *c = lookup(p, n, "char"), *k = lookup(p, n, "keep_last");
	if (c != NULL) {
		const char *s = get_str(p, c, rc, "mask.char");
		if (s != NULL && (strlen(s) != 1 || (uint8_t)s[0] < 0x20 || (uint8_t)s[0] > 0x7e))
			perr(p, c, rc, "mask.char must be one printable ASCII character");
		else if (s != NULL)
			r->mask_char = (uint8_t)s[0];
	}
	unsigned long v;
	if (k != NULL && get_uint(p, k, rc, "mask.keep_last", FERRY_POLICY_KEEP_LAST_MAX, &v))
		r->keep_last = (uint16_t)v;
}

static void
parse_rule(struct parse *p, const yaml_node_t *m, size_t index)
{
	static const char *const keys[] = { "name",      "description",   "patterns",
					    "prefilter", "prefilter_run", "where",
					    "validator", "charset",       "min_len",
					    "max_len",   "action",        "mask",
					    "topics",    "caseless",      NULL };
	struct ferry_rules *rs = p->rs;
	struct rule_ctx rc = { .name = NULL, .index = index };
	if (m->type != YAML_MAPPING_NODE) {
		perr(p, m, &rc, "must be a mapping");
		return;
	}
	if (rs->n_rules >= FERRY_POLICY_RULES_MAX) {
		perr(p, m, &rc, "more than %d rules", FERRY_POLICY_RULES_MAX);
		return;
	}
	if (!grow(p, (void **)&rs->rules, rs->n_rules, sizeof(*rs->rules)))
		return;
	struct ferry_rules_rule *rr = &rs->rules[rs->n_rules];
	struct ferry_policy_rule *r = &rr->r;
	rr->file = p->file;
	rr->line = line_of(m);
	r->id = (uint32_t)rs->n_rules;
	r->where = FERRY_POLICY_WHERE_ALL;
	r->mask_char = '*';
	rs->n_rules++; /* counted now so ferry_rules_free() sees what was allocated */

	yaml_node_t *n = lookup(p, m, "name");
	const char *name = n ? get_str(p, n, &rc, "name") : NULL;
	if (n == NULL) {
		perr(p, m, &rc, "missing 'name'");
	} else if (name != NULL && !valid_rule_name(name, strlen(name))) {
		perr(p, n, &rc, "name '%.64s' must be 1..%d of [A-Za-z0-9._-]", name,
		     FERRY_POLICY_NAME_MAX - 1);
	} else if (name != NULL) {
		memcpy(r->name, name, strlen(name) + 1);
		rc.name = r->name;
		for (size_t i = 0; i + 1 < rs->n_rules; i++) {
			if (strcmp(rs->rules[i].r.name, name) == 0) {
				perr(p, n, &rc, "duplicate rule name (first defined at %s:%u)",
				     rs->rules[i].file, rs->rules[i].line);
				break;
			}
		}
	}
	check_keys(p, m, &rc, keys, "rule");

	if ((n = lookup(p, m, "description")) != NULL)
		get_str(p, n, &rc, "description");

	if ((n = lookup(p, m, "patterns")) == NULL)
		perr(p, m, &rc, "missing 'patterns'");
	else if (n->type == YAML_SEQUENCE_NODE &&
		 n->data.sequence.items.start == n->data.sequence.items.top)
		perr(p, n, &rc, "'patterns' is empty");
	else
		get_regex_list(p, n, &rc, "patterns", &rr->patterns, &rr->n_patterns,
			       FERRY_RULES_PATTERNS_MAX);
	r->n_patterns = (uint32_t)rr->n_patterns;

	if ((n = lookup(p, m, "prefilter")) != NULL) {
		get_regex_list(p, n, &rc, "prefilter", &rr->prefilter, &rr->n_prefilter,
			       FERRY_RULES_PATTERNS_MAX);
		for (size_t k = 0; k < rr->n_prefilter; k++) {
			const char *bad = prefilter_anchor(rr->prefilter[k].expr);
			if (bad != NULL)
				perr(p, n, &rc,
				     "prefilter[%zu]: '%s' is not allowed in a prefilter: it runs "
				     "over "
				     "the whole batch, across field boundaries, where anchors and "
				     "word "
				     "boundaries do not mean what they mean in one field",
				     k, bad);
		}
		r->gated = rr->n_prefilter > 0;
	}
	if ((n = lookup(p, m, "prefilter_run")) != NULL) {
		r->has_run = parse_run(p, n, &rc, &r->run);
		r->gated = r->gated || r->has_run;
	}

	if ((n = lookup(p, m, "where")) != NULL)
		parse_where(p, n, &rc, r);

	if ((n = lookup(p, m, "validator")) != NULL) {
		const char *s = get_str(p, n, &rc, "validator");
		enum ferry_policy_validator v;
		for (v = 0; s != NULL && v < FERRY_POLICY_VAL__COUNT; v++)
			if (strcmp(s, ferry_policy_validator_name(v)) == 0)
				break;
		if (s != NULL && v == FERRY_POLICY_VAL__COUNT)
			perr(
			    p, n, &rc,
			    "unknown validator '%.64s' (none, luhn, iban, charset, nric, mynumber)",
			    s);
		else if (s != NULL)
			r->validator = v;
	}
	if ((n = lookup(p, m, "charset")) != NULL)
		r->has_charset = parse_charset(p, n, &rc, &r->charset);
	else if (r->validator == FERRY_POLICY_VAL_CHARSET)
		perr(p, m, &rc, "validator charset needs 'charset'");
	unsigned long v;
	if ((n = lookup(p, m, "min_len")) != NULL && get_uint(p, n, &rc, "min_len", 65535, &v))
		r->min_len = (uint32_t)v;
	if ((n = lookup(p, m, "max_len")) != NULL && get_uint(p, n, &rc, "max_len", 65535, &v))
		r->max_len = (uint32_t)v;
	if (r->min_len && r->max_len && r->min_len > r->max_len)
		perr(p, lookup(p, m, "min_len"), &rc, "min_len %u is larger than max_len %u",
		     r->min_len, r->max_len);

	yaml_node_t *an = lookup(p, m, "action");
	if (an == NULL) {
		perr(p, m, &rc, "missing 'action'");
	} else {
		const char *s = get_str(p, an, &rc, "action");
		enum ferry_policy_action a;
		for (a = FERRY_POLICY_ACT_TAG; s != NULL && a < FERRY_POLICY_ACT__COUNT; a++)
			if (strcmp(s, ferry_policy_action_name(a)) == 0)
				break;
		if (s != NULL && a == FERRY_POLICY_ACT__COUNT)
			perr(p, an, &rc,
			     "unknown action '%.64s' (tag, mask, tokenise, drop, quarantine)", s);
		else if (s != NULL)
			r->action = a;
	}
	if ((n = lookup(p, m, "mask")) != NULL) {
		if (r->action != FERRY_POLICY_ACT_MASK && r->action != FERRY_POLICY_ACT_PASS)
			perr(p, n, &rc, "'mask' is only valid with action mask, not %s",
			     ferry_policy_action_name(r->action));
		else
			parse_mask(p, n, &rc, r);
	}

	if ((n = lookup(p, m, "topics")) != NULL)
		get_regex_list(p, n, &rc, "topics", &rr->topics, &rr->n_topics,
			       FERRY_RULES_TOPICS_MAX);
	r->all_topics = rr->n_topics == 0;

	bool b;
	if ((n = lookup(p, m, "caseless")) != NULL && get_bool(p, n, &rc, "caseless", &b))
		r->caseless = b;

	/* Start of match is what lets a worker know the span: masking and tokenising rewrite
	 * it, and a validator or length/charset gate must see it to confirm the candidate.
	 * Without either, end offsets are enough and SOM's cost is not paid. */
	r->som = r->action == FERRY_POLICY_ACT_MASK || r->action == FERRY_POLICY_ACT_TOKENISE ||
		 r->validator != FERRY_POLICY_VAL_NONE || r->has_charset || r->min_len ||
		 r->max_len;
}

/* ---- files, packs, keys ----------------------------------------------------------------- */

static const char *
add_source(struct parse *p, const char *name)
{
	struct ferry_rules *rs = p->rs;
	if (rs->n_sources == FERRY_RULES_SOURCES_MAX)
		return rs->sources[rs->n_sources - 1];
	char *s = strdup(name);
	if (s == NULL) {
		p->nomem = true;
		return NULL;
	}
	rs->sources[rs->n_sources++] = s;
	return s;
}

static int parse_doc(struct parse *p, const char *name, const char *buf, size_t len);

static void
parse_include(struct parse *p, const yaml_node_t *seq)
{
	if (seq->type != YAML_SEQUENCE_NODE) {
		perr(p, seq, NULL, "'include' must be a list of pack names");
		return;
	}
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *v = node(p, *it);
		const char *s = get_str(p, v, NULL, "include");
		if (s == NULL)
			continue;
		size_t k;
		for (k = 0; k < sizeof(packs) / sizeof(packs[0]); k++)
			if (strcmp(packs[k].name, s) == 0)
				break;
		if (k == sizeof(packs) / sizeof(packs[0])) {
			perr(p, v, NULL, "unknown pack '%.64s' (built-in: pii-default)", s);
			continue;
		}
		if (p->included[k]) {
			perr(p, v, NULL, "pack '%s' included twice", s);
			continue;
		}
		p->included[k] = true;
		char src[96];
		snprintf(src, sizeof(src), "builtin:%s", packs[k].name);
		struct parse sub = { .rs = p->rs, .e = p->e, .pack = true };
		if (parse_doc(&sub, src, packs[k].text, *packs[k].len) == -ENOMEM)
			p->nomem = true;
	}
}

static void
load_key(struct parse *p, const yaml_node_t *n, const char *path)
{
	struct ferry_rules *rs = p->rs;
	char full[4096];
	/* A relative key path is relative to the rules file, not to the working directory. */
	const char *slash = strrchr(rs->file, '/');
	if (path[0] != '/' && slash != NULL)
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - rs->file), rs->file, path);
	else
		snprintf(full, sizeof(full), "%s", path);
	rs->key_file = strdup(full);
	if (rs->key_file == NULL) {
		p->nomem = true;
		return;
	}
	/* O_NONBLOCK: a FIFO or device named here must not hang the control plane. */
	int fd = open(full, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		perr(p, n, NULL, "tokenise_key_file '%s': %s", full, strerror(errno));
		return;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		perr(p, n, NULL, "tokenise_key_file '%s': not a regular file", full);
		goto out_close;
	}
	uint8_t buf[FERRY_POLICY_TOKEN_KEY_MAX + 1];
	ssize_t got = read(fd, buf, sizeof(buf));
	if (got < 0) {
		perr(p, n, NULL, "tokenise_key_file '%s': %s", full, strerror(errno));
		goto out_close;
	}
	if (got < FERRY_POLICY_TOKEN_KEY_MIN || got > FERRY_POLICY_TOKEN_KEY_MAX) {
		perr(p, n, NULL, "tokenise_key_file '%s': %s (%zd bytes; need %d..%d raw bytes)",
		     full, got < FERRY_POLICY_TOKEN_KEY_MIN ? "key too short" : "key too long", got,
		     FERRY_POLICY_TOKEN_KEY_MIN, FERRY_POLICY_TOKEN_KEY_MAX);
		goto out_wipe;
	}
	memcpy(rs->key, buf, (size_t)got);
	rs->key_len = (size_t)got;
out_wipe:
	explicit_bzero(buf, sizeof(buf));
out_close:
	close(fd);
}

static void
parse_topics(struct parse *p, const yaml_node_t *m)
{
	static const char *const keys[] = { "permit", "deny", NULL };
	if (m->type != YAML_MAPPING_NODE) {
		perr(p, m, NULL, "'topics' must be a mapping {permit: [...], deny: [...]}");
		return;
	}
	check_keys(p, m, NULL, keys, "topics");
	yaml_node_t *n;
	if ((n = lookup(p, m, "permit")) != NULL)
		get_regex_list(p, n, NULL, "topics.permit", &p->rs->permit, &p->rs->n_permit,
			       FERRY_RULES_TOPICS_MAX);
	if ((n = lookup(p, m, "deny")) != NULL)
		get_regex_list(p, n, NULL, "topics.deny", &p->rs->deny, &p->rs->n_deny,
			       FERRY_RULES_TOPICS_MAX);
}

static void
parse_root(struct parse *p, const yaml_node_t *root)
{
	static const char *const file_keys[] = { "version", "description",
						 "default", "tokenise_key_file",
						 "topics",  "include",
						 "rules",   NULL };
	static const char *const pack_keys[] = { "version", "description", "rules", NULL };
	struct ferry_rules *rs = p->rs;
	if (root->type != YAML_MAPPING_NODE) {
		perr(p, root, NULL, "the document must be a mapping (version, topics, rules, ...)");
		return;
	}
	check_keys(p, root, NULL, p->pack ? pack_keys : file_keys, p->pack ? "pack" : "top level");

	yaml_node_t *n = lookup(p, root, "version");
	if (n == NULL)
		perr(p, root, NULL, "missing 'version' (this ferry reads version 1)");
	else if (!scalar_eq(n, "1"))
		perr(p, n, NULL, "unsupported version '%.16s' (this ferry reads version 1)",
		     is_scalar(n) ? sval(n) : "?");
	if ((n = lookup(p, root, "description")) != NULL)
		get_str(p, n, NULL, "description");

	/* Packs first: their rules take the lowest ids whatever the key order. */
	if (!p->pack && (n = lookup(p, root, "include")) != NULL)
		parse_include(p, n);

	if ((n = lookup(p, root, "rules")) != NULL) {
		if (n->type != YAML_SEQUENCE_NODE) {
			perr(p, n, NULL, "'rules' must be a list");
		} else {
			size_t idx = 0;
			for (yaml_node_item_t *it = n->data.sequence.items.start;
			     it < n->data.sequence.items.top && !p->nomem; it++, idx++)
				parse_rule(p, node(p, *it), idx);
		}
	}
	if (p->pack)
		return;

	if ((n = lookup(p, root, "topics")) != NULL)
		parse_topics(p, n);

	rs->default_permit = false;
	if ((n = lookup(p, root, "default")) != NULL) {
		if (scalar_eq(n, "permit"))
			rs->default_permit = true;
		else if (!scalar_eq(n, "deny"))
			perr(p, n, NULL, "'default' must be deny or permit");
	}

	yaml_node_t *kn = lookup(p, root, "tokenise_key_file");
	if (kn != NULL) {
		const char *s = get_str(p, kn, NULL, "tokenise_key_file");
		if (s != NULL && *s == '\0')
			perr(p, kn, NULL, "'tokenise_key_file' is empty");
		else if (s != NULL)
			load_key(p, kn, s);
	}
	for (size_t i = 0; i < rs->n_rules; i++) {
		struct ferry_rules_rule *rr = &rs->rules[i];
		if (rr->r.action != FERRY_POLICY_ACT_TOKENISE || rs->key_len != 0)
			continue;
		if (kn == NULL)
			ferry_rules_errf(p->e,
					 "%s:%u: rule '%s': action tokenise needs "
					 "'tokenise_key_file' at the top level",
					 rr->file, rr->line, rr->r.name);
		else
			ferry_rules_errf(p->e,
					 "%s:%u: rule '%s': action tokenise needs a usable "
					 "key (see tokenise_key_file on line %u)",
					 rr->file, rr->line, rr->r.name, line_of(kn));
	}
}

static int
parse_doc(struct parse *p, const char *name, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = 0;

	p->file = add_source(p, name);
	if (p->file == NULL)
		return -ENOMEM;
	if (!p->pack)
		p->rs->file = p->file;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		if (parser.error == YAML_MEMORY_ERROR) {
			rc = -ENOMEM;
			goto out_parser;
		}
		ferry_rules_errf(p->e, "%s:%zu: bad YAML: %s%s%s", p->file,
				 parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "parse error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
		rc = -EINVAL;
		goto out_parser;
	}
	p->doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		ferry_rules_errf(p->e, "%s:1: empty rules file", p->file);
		rc = -EINVAL;
		goto out_doc;
	}
	parse_root(p, root);
	if (p->nomem) {
		rc = -ENOMEM;
		goto out_doc;
	}

	/* A second document would be silently ignored by the loader: refuse it. */
	yaml_document_t next;
	if (yaml_parser_load(&parser, &next)) {
		yaml_node_t *r2 = yaml_document_get_root_node(&next);
		if (r2 != NULL)
			ferry_rules_errf(p->e, "%s:%u: more than one YAML document", p->file,
					 line_of(r2));
		yaml_document_delete(&next);
	}
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	return rc;
}

int
ferry_rules_load_buf(const char *name, const char *buf, size_t len, struct ferry_rules *rs,
		     char *err, size_t errlen)
{
	struct ferry_rules_err e = { .buf = err, .cap = errlen };
	struct parse p = { .rs = rs, .e = &e };
	memset(rs, 0, sizeof(*rs));
	if (errlen > 0)
		err[0] = '\0';
	int rc = parse_doc(&p, name, buf, len);
	if (rc == 0 && e.n > 0)
		rc = -EINVAL;
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", name);
	return rc;
}

int
ferry_rules_load_file(const char *path, struct ferry_rules *rs, char *err, size_t errlen)
{
	memset(rs, 0, sizeof(*rs));
	int rc = 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	/* Rules files are small: a cap keeps a mistaken path (a log file) from eating memory. */
	enum { RULES_FILE_MAX = 4 << 20 };
	char *buf = malloc(RULES_FILE_MAX);
	if (buf == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	size_t len = fread(buf, 1, RULES_FILE_MAX, f);
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto out_free;
	}
	if (len == RULES_FILE_MAX) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s:1: larger than %d bytes", path, RULES_FILE_MAX);
		goto out_free;
	}
	rc = ferry_rules_load_buf(path, buf, len, rs, err, errlen);
out_free:
	free(buf);
out_close:
	fclose(f);
	return rc;
}

int
ferry_rules_load_source(const char *source, struct ferry_rules *rs, char *err, size_t errlen)
{
	if (strncmp(source, "pack:", 5) == 0)
		return ferry_rules_load_pack(source + 5, rs, err, errlen);
	return ferry_rules_load_file(source, rs, err, errlen);
}

int
ferry_rules_load_pack(const char *pack, struct ferry_rules *rs, char *err, size_t errlen)
{
	char doc[128];
	size_t len;
	if (ferry_rules_pack_text(pack, &len) == NULL) {
		memset(rs, 0, sizeof(*rs));
		snprintf(err, errlen, "unknown pack '%s' (built-in: pii-default)", pack);
		return -ENOENT;
	}
	/* A file that includes the pack and permits every topic: the pack as the runtime would
	 * see it, with the pack's own line numbers in errors. */
	int n = snprintf(doc, sizeof(doc), "version: 1\ndefault: permit\ninclude: [%s]\n", pack);
	return ferry_rules_load_buf("<command line>", doc, (size_t)n, rs, err, errlen);
}

static void
free_regexes(struct ferry_rules_regex *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].expr);
	free(r);
}

void
ferry_rules_free(struct ferry_rules *rs)
{
	for (size_t i = 0; i < rs->n_rules; i++) {
		free_regexes(rs->rules[i].patterns, rs->rules[i].n_patterns);
		free_regexes(rs->rules[i].prefilter, rs->rules[i].n_prefilter);
		free_regexes(rs->rules[i].topics, rs->rules[i].n_topics);
	}
	free(rs->rules);
	free_regexes(rs->permit, rs->n_permit);
	free_regexes(rs->deny, rs->n_deny);
	free(rs->key_file);
	for (size_t i = 0; i < rs->n_sources; i++)
		free(rs->sources[i]);
	explicit_bzero(rs->key, sizeof(rs->key));
	memset(rs, 0, sizeof(*rs));
}
