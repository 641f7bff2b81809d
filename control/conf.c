/*
 * conf.c - ferry's configuration: an MM2 properties file read exactly as
 * java.util.Properties.load reads it, each key resolved against the table in conf_table.h
 * (global, per cluster ALIAS.KEY, per flow SRC->DST.KEY), values checked by type and range,
 * cross-key checks (flows, clusters, lcores, WAN), and per-cluster librdkafka property lists
 * translated from Java client names.
 *
 * Runs on the control thread at start-up and on `ferryctl config check`; allocates; a loaded
 * struct ferry_conf owns every string it hands out until ferry_conf_free(). No librdkafka
 * here (the dataplane may link it); PCRE2 only to check that topic/group regexes compile.
 *
 * Every problem becomes a diagnostic {severity, file, line, key, message, hint}; loading goes
 * on after errors so one run reports all of them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf_table.h"
#include "ferry/conf.h"

#define CONF_FILE_MAX      (16u << 20) /* a properties file larger than this is a mistake */
#define CONF_CLUSTERS_MAX  64
#define CONF_LCORE_MAX     1023
#define CONF_WAN_PORTS_MAX 32

/* ---- the table ------------------------------------------------------------------------- */

static const struct ferry_conf_def defs[] = {
#define CONF_DEF(n, t, s, f, d, mn, mx, e, a, ds)                                                  \
	{ n, FERRY_CONF_T_##t, s, f, d, mn, mx, e, a, ds },
	FERRY_CONF_FOREACH_KEY(CONF_DEF)
#undef CONF_DEF
};
#define N_DEFS (sizeof(defs) / sizeof(defs[0]))

static const char *const type_names[FERRY_CONF_T__COUNT] = {
	[FERRY_CONF_T_STRING] = "string",
	[FERRY_CONF_T_LIST] = "list",
	[FERRY_CONF_T_BOOL] = "bool",
	[FERRY_CONF_T_INT] = "int",
	[FERRY_CONF_T_LONG] = "long",
	[FERRY_CONF_T_DOUBLE] = "double",
	[FERRY_CONF_T_ENUM] = "enum",
	[FERRY_CONF_T_CLASS] = "class",
	[FERRY_CONF_T_PASSWORD] = "password",
	[FERRY_CONF_T_SECONDS] = "seconds",
	[FERRY_CONF_T_MS] = "ms",
	[FERRY_CONF_T_SIZE] = "size",
	[FERRY_CONF_T_HOSTPORTS] = "host:port list",
	[FERRY_CONF_T_IPV4] = "IPv4 address",
	[FERRY_CONF_T_LCORES] = "lcore list",
	[FERRY_CONF_T_DEVARGS] = "devargs list",
	[FERRY_CONF_T_QMAP] = "queue map",
	[FERRY_CONF_T_FEC] = "fec",
	[FERRY_CONF_T_PASSTHRU] = "client properties",
};

const char *
ferry_conf_type_name(enum ferry_conf_type t)
{
	return (unsigned)t < FERRY_CONF_T__COUNT ? type_names[t] : "?";
}

const struct ferry_conf_def *
ferry_conf_defs(size_t *n)
{
	*n = N_DEFS;
	return defs;
}

static int
def_exact(const char *name)
{
	for (size_t i = 0; i < N_DEFS; i++)
		if (!(defs[i].flags & FERRY_CONF_F_PREFIX) && strcmp(defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Exact name first, then the longest family prefix ("ssl." for "ssl.key.password"). */
static int
def_lookup(const char *name)
{
	int best = def_exact(name);
	size_t best_len = 0;
	if (best >= 0)
		return best;
	for (size_t i = 0; i < N_DEFS; i++) {
		size_t l = strlen(defs[i].name);
		if ((defs[i].flags & FERRY_CONF_F_PREFIX) && l > best_len &&
		    strncmp(defs[i].name, name, l) == 0 && name[l] != '\0') {
			best = (int)i;
			best_len = l;
		}
	}
	return best;
}

const struct ferry_conf_def *
ferry_conf_def_find(const char *name)
{
	int i = def_lookup(name);
	return i < 0 ? NULL : &defs[i];
}

void
ferry_conf_def_display(const struct ferry_conf_def *d, char *buf, size_t len)
{
	const char *pre = "", *star = (d->flags & FERRY_CONF_F_PREFIX) ? "*" : "";
	switch (d->scope) {
	case CONF_F: pre = "<source>-><target>."; break;
	case CONF_GF: pre = "[<source>-><target>.]"; break;
	case CONF_C: pre = "<alias>."; break;
	case CONF_GC: pre = "[<alias>.]"; break;
	default: break;
	}
	snprintf(buf, len, "%s%s%s", pre, d->name, star);
}

/* ---- small helpers --------------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void
sb_putc(struct sbuf *b, char ch)
{
	if (b->oom)
		return;
	if (b->len + 2 > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 128;
		char *np = realloc(b->p, ncap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	b->p[b->len++] = ch;
	b->p[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

/* Append code point cp as UTF-8. */
static void
sb_utf8(struct sbuf *b, uint32_t cp)
{
	if (cp < 0x80) {
		sb_putc(b, (char)cp);
	} else if (cp < 0x800) {
		sb_putc(b, (char)(0xc0 | cp >> 6));
		sb_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		sb_putc(b, (char)(0xe0 | cp >> 12));
		sb_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sb_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		sb_putc(b, (char)(0xf0 | cp >> 18));
		sb_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		sb_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sb_putc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

static bool
is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\f'; /* Properties' whitespace */
}

/* Trim what Kafka's ConfigDef trims (String.trim: every char <= ' '). */
static char *
trim_dup(const char *s)
{
	while (*s && (unsigned char)*s <= ' ')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (unsigned char)s[n - 1] <= ' ')
		n--;
	char *r = malloc(n + 1);
	if (r) {
		memcpy(r, s, n);
		r[n] = '\0';
	}
	return r;
}

/* Levenshtein distance, capped: strings longer than 128 bytes are "far". */
static unsigned
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[129];
	if (la > 128 || lb > 128)
		return 1000;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* ---- typed values ---------------------------------------------------------------------- */

struct tval {
	bool set;
	int64_t i;
	double d;
	bool b;
	const char *s; /* canonical text: 'owned' or a table string */
	char *owned;   /* trimmed copy of the value */
	char **items;  /* LIST, HOSTPORTS, DEVARGS; each owned */
	size_t n_items;
	uint16_t *ids; /* LCORES (sorted, unique); QMAP (port, queue, lcore) triples */
	size_t n_ids;
};

static void
tval_free(struct tval *tv)
{
	for (size_t i = 0; i < tv->n_items; i++)
		free(tv->items[i]);
	free(tv->items);
	free(tv->ids);
	free(tv->owned);
	memset(tv, 0, sizeof(*tv));
}

/* Split s on 'sep' into trimmed items (Java's "\\s*,\\s*" split of a trimmed string; an
 * empty string is an empty list). */
static int
split_items(const char *s, char sep, struct tval *tv)
{
	if (*s == '\0')
		return 0;
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == sep;
	tv->items = calloc(n, sizeof(char *));
	if (tv->items == NULL)
		return -ENOMEM;
	const char *start = s;
	for (;;) {
		const char *end = strchr(start, sep);
		size_t l = end ? (size_t)(end - start) : strlen(start);
		char *tmp = malloc(l + 1);
		if (tmp == NULL)
			return -ENOMEM;
		memcpy(tmp, start, l);
		tmp[l] = '\0';
		tv->items[tv->n_items] = trim_dup(tmp);
		free(tmp);
		if (tv->items[tv->n_items] == NULL)
			return -ENOMEM;
		tv->n_items++;
		if (end == NULL)
			break;
		start = end + 1;
	}
	return 0;
}

/* Strict decimal integer, optional sign (Java Long.parseLong). */
static bool
parse_i64(const char *s, int64_t *v)
{
	const char *p = s;
	bool neg = false;
	uint64_t acc = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (acc > (UINT64_C(1) << 63) / 10)
			return false;
		acc = acc * 10 + (uint64_t)(*p - '0');
		if (acc > (UINT64_C(1) << 63))
			return false;
	}
	if (*p != '\0' || (!neg && acc > (uint64_t)INT64_MAX))
		return false;
	*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return true;
}

static bool
parse_u32_part(const char **pp, uint32_t max, uint32_t *v)
{
	const char *p = *pp;
	uint32_t acc = 0;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		acc = acc * 10 + (uint32_t)(*p - '0');
		if (acc > max)
			return false;
	}
	*pp = p;
	*v = acc;
	return true;
}

static bool
enum_has(const char *enums, const char *v, bool nocase, const char **canon)
{
	size_t vl = strlen(v);
	for (const char *p = enums; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == vl && (nocase ? strncasecmp(p, v, l) : strncmp(p, v, l)) == 0) {
			*canon = p; /* table string; the length is vl (the '|' follows) */
			return true;
		}
		p = bar ? bar + 1 : p + l;
	}
	return false;
}

/* "a|b|c" -> "a, b, c" */
static void
enum_list(const char *enums, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (const char *p = enums; p && *p && o + 3 < len; p++) {
		if (*p == '|') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else {
			buf[o++] = *p;
		}
	}
	buf[o < len ? o : len - 1] = '\0';
}

static bool
valid_pci(const char *s, size_t l)
{
	/* DDDD:BB:DD.F or BB:DD.F, hex */
	const char *fmt_long = "xxxx:xx:xx.x", *fmt_short = "xx:xx.x";
	const char *fmt = l == strlen(fmt_long)    ? fmt_long
			  : l == strlen(fmt_short) ? fmt_short
						   : NULL;
	if (fmt == NULL)
		return false;
	for (size_t i = 0; i < l; i++)
		if (fmt[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != fmt[i])
			return false;
	return true;
}

#define ERRF(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/*
 * Parse 'text' for key 'd' into tv. -EINVAL with the reason in err and, when there is one,
 * a suggestion in hint; -ENOMEM. tv is always safe to tval_free().
 */
static int
parse_value(const struct ferry_conf_def *d, const char *text, struct tval *tv, char *err,
	    size_t errlen, char *hint, size_t hintlen)
{
	char lst[256];
	int64_t v;
	int rc;
	memset(tv, 0, sizeof(*tv));
	if (hint && hintlen)
		hint[0] = '\0';
	tv->owned = trim_dup(text);
	if (tv->owned == NULL)
		return -ENOMEM;
	const char *s = tv->owned;
	tv->s = s;
	switch (d->type) {
	case FERRY_CONF_T_STRING:
	case FERRY_CONF_T_PASSWORD:
		if (d->min <= d->max &&
		    ((int64_t)strlen(s) < d->min || (int64_t)strlen(s) > d->max))
			return ERRF("must be %lld to %lld bytes long", (long long)d->min,
				    (long long)d->max);
		break;
	case FERRY_CONF_T_PASSTHRU: break;
	case FERRY_CONF_T_BOOL:
		if (strcasecmp(s, "true") == 0)
			tv->b = true;
		else if (strcasecmp(s, "false") != 0)
			return ERRF("expected true or false, got '%s'", s);
		tv->s = tv->b ? "true" : "false";
		break;
	case FERRY_CONF_T_INT:
	case FERRY_CONF_T_LONG:
	case FERRY_CONF_T_SECONDS:
	case FERRY_CONF_T_MS:
		if (!parse_i64(s, &v) ||
		    (d->type == FERRY_CONF_T_INT && (v < INT32_MIN || v > INT32_MAX)))
			return ERRF("expected %s integer, got '%s'",
				    d->type == FERRY_CONF_T_INT ? "a 32-bit" : "an", s);
		if ((d->flags & FERRY_CONF_F_MINUS1) && v == -1) {
			tv->i = v;
			break;
		}
		if (d->min <= d->max && (v < d->min || v > d->max))
			return ERRF("%lld is out of range [%lld, %lld]%s", (long long)v,
				    (long long)d->min, (long long)d->max,
				    (d->flags & FERRY_CONF_F_MINUS1) ? " (or -1)" : "");
		if ((d->flags & FERRY_CONF_F_POW2) && (v <= 0 || (v & (v - 1)) != 0))
			return ERRF("%lld is not a power of two", (long long)v);
		tv->i = v;
		break;
	case FERRY_CONF_T_DOUBLE: {
		char *end;
		errno = 0;
		tv->d = strtod(s, &end);
		if (*s == '\0' || *end != '\0' || errno == ERANGE)
			return ERRF("expected a number, got '%s'", s);
		if (d->min <= d->max && (tv->d < (double)d->min || tv->d > (double)d->max))
			return ERRF("%g is out of range [%lld, %lld]", tv->d, (long long)d->min,
				    (long long)d->max);
		break;
	}
	case FERRY_CONF_T_SIZE: {
		size_t l = strlen(s);
		uint64_t mul = 1;
		char num[32];
		if (l > 0 && strchr("kKmMgG", s[l - 1])) {
			char u = (char)tolower((unsigned char)s[l - 1]);
			mul = u == 'k' ? 1024 : u == 'm' ? 1024 * 1024 : 1024 * 1024 * 1024;
			l--;
		}
		if (l == 0 || l >= sizeof(num))
			return ERRF("expected a size in bytes (suffix k, m or g allowed), got '%s'",
				    s);
		memcpy(num, s, l);
		num[l] = '\0';
		if (!parse_i64(num, &v) || v < 0 || (uint64_t)v > (uint64_t)INT64_MAX / mul)
			return ERRF("expected a size in bytes (suffix k, m or g allowed), got '%s'",
				    s);
		v *= (int64_t)mul;
		if (d->min <= d->max && (v < d->min || v > d->max))
			return ERRF("%lld bytes is out of range [%lld, %lld]", (long long)v,
				    (long long)d->min, (long long)d->max);
		tv->i = v;
		break;
	}
	case FERRY_CONF_T_ENUM:
		if (!enum_has(d->enums, s, true, &tv->s)) {
			enum_list(d->enums, lst, sizeof(lst));
			if (hint)
				snprintf(hint, hintlen, "one of: %s", lst);
			return ERRF("'%s' is not one of the allowed values", s);
		}
		/* tv->s points into the table; keep only the matched value */
		tv->s = NULL;
		for (const char *p = d->enums; *p;) {
			const char *bar = strchr(p, '|');
			size_t l = bar ? (size_t)(bar - p) : strlen(p);
			if (l == strlen(s) && strncasecmp(p, s, l) == 0) {
				memcpy(tv->owned, p,
				       l); /* same length: canonical spelling in place */
				tv->s = tv->owned;
				break;
			}
			p = bar ? bar + 1 : p + l;
		}
		break;
	case FERRY_CONF_T_CLASS: {
		const char *canon;
		if (enum_has(d->enums, s, false, &canon))
			break;
		enum_list(d->enums, lst, sizeof(lst));
		if (hint) {
			/* "IdentityReplicationPolicy" or a case slip: name the full class. */
			const char *dot = strrchr(s, '.');
			const char *base = dot ? dot + 1 : s;
			snprintf(hint, hintlen, "supported: %s", lst);
			for (const char *p = d->enums; p && *p;) {
				const char *bar = strchr(p, '|');
				size_t l = bar ? (size_t)(bar - p) : strlen(p);
				const char *pd = p + l;
				while (pd > p && pd[-1] != '.')
					pd--;
				if (strlen(base) == (size_t)(p + l - pd) &&
				    strncasecmp(pd, base, (size_t)(p + l - pd)) == 0) {
					snprintf(hint, hintlen, "did you mean %.*s?", (int)l, p);
					break;
				}
				p = bar ? bar + 1 : p + l;
			}
		}
		return ERRF("class '%s' is not supported by ferry", s);
	}
	case FERRY_CONF_T_LIST:
		if ((rc = split_items(s, ',', tv)) < 0)
			return rc;
		if (d->flags & FERRY_CONF_F_REGEX) {
			/*
			 * MM2 compiles these as java.util.regex patterns and matches whole names.
			 * PCRE2 is close but not identical (possessive/atomic corner cases,
			 * \p{javaXxx} classes, (?U) and \R semantics): a pattern compiling here
			 * is a strong hint, not a proof, that MM2 accepts it, and vice versa.
			 */
			for (size_t i = 0; i < tv->n_items; i++) {
				int ec;
				PCRE2_SIZE off;
				pcre2_code *re =
				    pcre2_compile((PCRE2_SPTR)tv->items[i], PCRE2_ZERO_TERMINATED,
						  0, &ec, &off, NULL);
				if (re == NULL) {
					PCRE2_UCHAR msg[256];
					pcre2_get_error_message(ec, msg, sizeof(msg));
					return ERRF("regex '%s' (item %zu) does not compile: %s at "
						    "offset %zu",
						    tv->items[i], i + 1, (const char *)msg,
						    (size_t)off);
				}
				pcre2_code_free(re);
			}
		}
		break;
	case FERRY_CONF_T_HOSTPORTS:
		if ((rc = split_items(s, ',', tv)) < 0)
			return rc;
		if (tv->n_items == 0)
			return ERRF("no brokers listed (expected host:port[,host:port...])");
		for (size_t i = 0; i < tv->n_items; i++) {
			const char *it = tv->items[i], *colon = strrchr(it, ':');
			const char *p = colon ? colon + 1 : NULL;
			uint32_t port;
			if (colon == NULL || colon == it || !parse_u32_part(&p, 65535, &port) ||
			    *p != '\0' || port == 0)
				return ERRF("'%s' is not host:port (port 1-65535)", it);
			if (it[0] == '[' ? colon[-1] != ']'
					 : memchr(it, ':', (size_t)(colon - it)) != NULL)
				return ERRF("'%s': write IPv6 addresses as [addr]:port", it);
		}
		break;
	case FERRY_CONF_T_IPV4: {
		struct in_addr a4;
		struct in6_addr a6;
		if (inet_pton(AF_INET, s, &a4) == 1)
			break;
		if (inet_pton(AF_INET6, s, &a6) == 1)
			return ERRF("'%s' is IPv6; the WAN transport is IPv4 only", s);
		return ERRF("'%s' is not an IPv4 address", s);
	}
	case FERRY_CONF_T_LCORES: {
		if ((rc = split_items(s, ',', tv)) < 0)
			return rc;
		if (tv->n_items == 0)
			return ERRF("no lcores listed (expected ids or ranges like 1,2,4-7)");
		uint8_t seen[CONF_LCORE_MAX + 1] = { 0 };
		size_t n = 0;
		for (size_t i = 0; i < tv->n_items; i++) {
			const char *p = tv->items[i];
			uint32_t lo, hi;
			if (!parse_u32_part(&p, 1u << 20, &lo))
				return ERRF("'%s' is not an lcore id or range (like 4-7)",
					    tv->items[i]);
			hi = lo;
			if (*p == '-') {
				p++;
				if (!parse_u32_part(&p, 1u << 20, &hi))
					return ERRF("'%s' is not an lcore range (like 4-7)",
						    tv->items[i]);
			}
			if (*p != '\0')
				return ERRF("'%s' is not an lcore id or range (like 4-7)",
					    tv->items[i]);
			if (hi < lo)
				return ERRF("range '%s' runs backwards", tv->items[i]);
			if (hi > (uint32_t)d->max || (int64_t)lo < d->min)
				return ERRF("lcore %u is out of range [%lld, %lld]",
					    hi > (uint32_t)d->max ? hi : lo, (long long)d->min,
					    (long long)d->max);
			for (uint32_t x = lo; x <= hi; x++) {
				if (seen[x])
					return ERRF("lcore %u is listed twice", x);
				seen[x] = 1;
				n++;
			}
		}
		tv->ids = malloc(n * sizeof(uint16_t));
		if (tv->ids == NULL)
			return -ENOMEM;
		for (uint32_t x = 0; x <= CONF_LCORE_MAX; x++)
			if (seen[x])
				tv->ids[tv->n_ids++] = (uint16_t)x;
		break;
	}
	case FERRY_CONF_T_DEVARGS:
		if ((rc = split_items(s, ';', tv)) < 0)
			return rc;
		if (tv->n_items > CONF_WAN_PORTS_MAX)
			return ERRF("at most %d ports", CONF_WAN_PORTS_MAX);
		for (size_t i = 0; i < tv->n_items; i++) {
			const char *it = tv->items[i], *comma = strchr(it, ',');
			size_t l = comma ? (size_t)(comma - it) : strlen(it);
			bool vdev = strncmp(it, "net_", 4) == 0 && l > 4;
			for (size_t k = 4; vdev && k < l; k++)
				vdev = isalnum((unsigned char)it[k]) || it[k] == '_';
			if (!vdev && !valid_pci(it, l)) {
				if (hint)
					snprintf(hint, hintlen,
						 "a PCI address like 0000:3b:00.0 or a vdev like "
						 "net_tap0, then optional ,key=value");
				return ERRF(
				    "port %zu '%.*s' is neither a PCI address nor a net_ vdev",
				    i + 1, (int)l, it);
			}
			for (const char *a = comma; a; a = strchr(a + 1, ',')) {
				const char *next = strchr(a + 1, ',');
				size_t al = next ? (size_t)(next - a - 1) : strlen(a + 1);
				if (al == 0 || a[1] == '=')
					return ERRF("port %zu '%s': empty driver argument", i + 1,
						    it);
			}
		}
		break;
	case FERRY_CONF_T_QMAP:
		if ((rc = split_items(s, ',', tv)) < 0)
			return rc;
		tv->ids = calloc(tv->n_items * 3 + 1, sizeof(uint16_t));
		if (tv->ids == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < tv->n_items; i++) {
			const char *p = tv->items[i];
			uint32_t port, q, lc;
			if (!parse_u32_part(&p, CONF_WAN_PORTS_MAX - 1, &port) || *p++ != ':' ||
			    !parse_u32_part(&p, 15, &q) || *p++ != '@' ||
			    !parse_u32_part(&p, CONF_LCORE_MAX, &lc) || *p != '\0')
				return ERRF("'%s' is not port:queue@lcore (port < %d, queue < 16, "
					    "lcore <= %d)",
					    tv->items[i], CONF_WAN_PORTS_MAX, CONF_LCORE_MAX);
			tv->ids[tv->n_ids++] = (uint16_t)port;
			tv->ids[tv->n_ids++] = (uint16_t)q;
			tv->ids[tv->n_ids++] = (uint16_t)lc;
		}
		break;
	case FERRY_CONF_T_FEC: {
		const char *p = s;
		uint32_t dat, par;
		if (strcasecmp(s, "off") == 0) {
			tv->s = "off";
			break;
		}
		if (!parse_u32_part(&p, 1000, &dat) || *p++ != '+' ||
		    !parse_u32_part(&p, 1000, &par) || *p != '\0')
			return ERRF("expected off or DATA+PARITY (like 16+2), got '%s'", s);
		if (dat < 2 || dat > 64 || par < 1 || par > 8)
			return ERRF("'%s': DATA must be 2..64 and PARITY 1..8", s);
		break;
	}
	case FERRY_CONF_T__COUNT: return ERRF("bad type");
	}
	return 0;
}

int
ferry_conf_value_check(const struct ferry_conf_def *d, const char *value, char *err, size_t errlen)
{
	struct tval tv;
	int rc = parse_value(d, value, &tv, err, errlen, NULL, 0);
	tval_free(&tv);
	return rc;
}

/* ---- the loaded configuration ---------------------------------------------------------- */

/* A value of a table key found in the file. */
struct cval {
	int def;
	int flow;    /* -1: not per flow */
	int cluster; /* -1: not per cluster */
	size_t prop;
	struct tval tv;
};

/* A client property for librdkafka, before translation. */
struct cpass {
	int cluster;      /* -1: every cluster (unprefixed ssl.*, sasl.*) */
	int role;         /* -1: every role */
	const char *name; /* Java name, points into the prop key */
	size_t prop;
};

struct kvlist {
	struct ferry_conf_kv *kv;
	size_t n, cap;
};

#define DEF_IX_SIZE 512 /* > 2 * N_DEFS, a power of two */
_Static_assert(N_DEFS < 255 && 2 * N_DEFS < DEF_IX_SIZE, "def_ix holds index + 1 in a byte");

/* prop flags */
#define PROP_XLATE_DONE (1u << 0) /* translation diagnostics emitted once */

struct ferry_conf {
	char *file;
	unsigned flags;
	bool oom;

	struct ferry_conf_prop *props;
	size_t n_props, cap_props;
	uint32_t *ht; /* open addressing: prop index + 1 */
	size_t ht_cap;

	struct ferry_conf_diag *diags;
	size_t n_diags, cap_diags, n_err, n_warn;

	char **clusters;
	size_t n_clusters;
	unsigned clusters_line;
	struct ferry_conf_flow *flows;
	size_t n_flows;

	struct cval *vals;
	size_t n_vals, cap_vals;
	struct cpass *pass;
	size_t n_pass, cap_pass;
	struct tval defaults[N_DEFS];
	uint8_t def_ix[DEF_IX_SIZE]; /* exact table names: hash -> index + 1 (accessors) */
	struct kvlist (*client)[FERRY_CONF_ROLE__COUNT];

	unsigned n_suggest; /* "did you mean" searches so far (bounded: they cost) */
	char **pool;        /* strings owned by diags and kvs */
	size_t n_pool, cap_pool;
};

static bool
grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*arr, ncap * elem);
	if (np == NULL)
		return false;
	*arr = np;
	*cap = ncap;
	return true;
}

/* Keep s in the pool; returns s, or NULL (and frees it) when the pool cannot grow. */
static char *
pool_keep(struct ferry_conf *c, char *s)
{
	if (s == NULL || !grow((void **)&c->pool, &c->cap_pool, c->n_pool + 1, sizeof(char *))) {
		free(s);
		c->oom = true;
		return NULL;
	}
	c->pool[c->n_pool++] = s;
	return s;
}

static const char *
pool_dup(struct ferry_conf *c, const char *s)
{
	return s ? pool_keep(c, strdup(s)) : NULL;
}

__attribute__((format(printf, 6, 0))) static void
diag_vadd(struct ferry_conf *c, enum ferry_conf_sev sev, unsigned line, const char *key,
	  const char *hint, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!grow((void **)&c->diags, &c->cap_diags, c->n_diags + 1, sizeof(*c->diags))) {
		c->oom = true;
		return;
	}
	struct ferry_conf_diag *d = &c->diags[c->n_diags++];
	d->sev = sev;
	d->file = c->file;
	d->line = line;
	d->key = pool_dup(c, key ? key : "");
	d->msg = pool_dup(c, msg);
	d->hint = hint && hint[0] ? pool_dup(c, hint) : NULL;
	if (d->key == NULL || d->msg == NULL) {
		d->key = d->key ? d->key : "";
		d->msg = d->msg ? d->msg : "(out of memory)";
	}
	if (sev == FERRY_CONF_ERROR)
		c->n_err++;
	else
		c->n_warn++;
}

void
ferry_conf_diag_add(struct ferry_conf *c, enum ferry_conf_sev sev, unsigned line, const char *key,
		    const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(c, sev, line, key, hint, fmt, ap);
	va_end(ap);
}

#define ERR(c, line, key, hint, ...)                                                               \
	ferry_conf_diag_add(c, FERRY_CONF_ERROR, line, key, hint, __VA_ARGS__)
#define WARN(c, line, key, hint, ...)                                                              \
	ferry_conf_diag_add(c, FERRY_CONF_WARNING, line, key, hint, __VA_ARGS__)

void
ferry_conf_diags_sort(struct ferry_conf *c)
{
	/* Insertion sort: stable, so findings on one line keep the order they were made in. */
	for (size_t i = 1; i < c->n_diags; i++) {
		struct ferry_conf_diag d = c->diags[i];
		size_t j = i;
		while (j > 0 && c->diags[j - 1].line > d.line) {
			c->diags[j] = c->diags[j - 1];
			j--;
		}
		c->diags[j] = d;
	}
}

const struct ferry_conf_diag *
ferry_conf_diags(const struct ferry_conf *c, size_t *n)
{
	*n = c->n_diags;
	return c->diags;
}

size_t
ferry_conf_n_errors(const struct ferry_conf *c)
{
	return c->n_err;
}

size_t
ferry_conf_n_warnings(const struct ferry_conf *c)
{
	return c->n_warn;
}

/* ---- properties hash ------------------------------------------------------------------- */

static uint64_t
hash_str(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static size_t *
ht_slot_find(const struct ferry_conf *c, const char *key, size_t *slot)
{
	if (c->ht_cap == 0)
		return NULL;
	size_t i = (size_t)hash_str(key) & (c->ht_cap - 1);
	while (c->ht[i] != 0) {
		if (strcmp(c->props[c->ht[i] - 1].key, key) == 0) {
			*slot = i;
			return slot;
		}
		i = (i + 1) & (c->ht_cap - 1);
	}
	*slot = i;
	return NULL;
}

static bool
ht_rebuild(struct ferry_conf *c, size_t cap)
{
	uint32_t *nh = calloc(cap, sizeof(uint32_t));
	if (nh == NULL)
		return false;
	free(c->ht);
	c->ht = nh;
	c->ht_cap = cap;
	for (size_t k = 0; k < c->n_props; k++) {
		size_t i = (size_t)hash_str(c->props[k].key) & (cap - 1);
		while (nh[i] != 0)
			i = (i + 1) & (cap - 1);
		nh[i] = (uint32_t)(k + 1);
	}
	return true;
}

/* Java Properties.put: the last duplicate wins (warned). Takes ownership of key and value. */
static void
prop_put(struct ferry_conf *c, char *key, char *value, unsigned line)
{
	size_t slot;
	if (ht_slot_find(c, key, &slot)) {
		struct ferry_conf_prop *p = &c->props[c->ht[slot] - 1];
		WARN(c, line, key, "remove one of them",
		     "set twice, line %u and line %u; the last one wins", p->line, line);
		free(p->value);
		free(key);
		p->value = value;
		p->line = line;
		return;
	}
	if (!grow((void **)&c->props, &c->cap_props, c->n_props + 1, sizeof(*c->props)) ||
	    ((c->n_props + 1) * 2 > c->ht_cap && !ht_rebuild(c, c->ht_cap ? c->ht_cap * 2 : 64))) {
		free(key);
		free(value);
		c->oom = true;
		return;
	}
	c->props[c->n_props++] = (struct ferry_conf_prop){ key, value, line, 0 };
	ht_slot_find(c, key, &slot);
	c->ht[slot] = (uint32_t)c->n_props;
}

const struct ferry_conf_prop *
ferry_conf_props(const struct ferry_conf *c, size_t *n)
{
	*n = c->n_props;
	return c->props;
}

const char *
ferry_conf_prop_get(const struct ferry_conf *c, const char *key, unsigned *line)
{
	size_t slot;
	if (!ht_slot_find(c, key, &slot))
		return NULL;
	const struct ferry_conf_prop *p = &c->props[c->ht[slot] - 1];
	if (line)
		*line = p->line;
	return p->value;
}

/* ---- java.util.Properties.load ----------------------------------------------------------- */

/*
 * The reader follows JDK 11+'s Properties.LineReader and load0:
 *  - a natural line ends at \n, \r or \r\n; leading ' ', '\t', '\f' are skipped and blank
 *    lines ignored;
 *  - a line whose first non-blank char is '#' or '!' is a comment (and cannot continue);
 *  - a line ending in an odd number of backslashes continues on the next one, whose leading
 *    whitespace is dropped; at end of input a dangling backslash is dropped;
 *  - the key ends at the first unescaped '=', ':' or whitespace; whitespace, then one '=' or
 *    ':', then whitespace, separate it from the value;
 *  - escapes: \t \n \r \f, \uXXXX (exactly four hex digits, else Java throws "Malformed
 *    \uxxxx encoding"), and \x -> x for any other x.
 * Java reads the file as ISO-8859-1; ferry keeps bytes as they are (so UTF-8 stays UTF-8) and
 * warns about non-ASCII bytes, which MM2 would read differently.
 */
struct props_rd {
	const char *p;
	size_t len, off;
	unsigned line; /* physical line of p[off] */
};

/* Consume an end of line at p[off] if there is one. */
static bool
rd_eol(struct props_rd *r)
{
	if (r->off >= r->len)
		return false;
	if (r->p[r->off] == '\n') {
		r->off++;
		r->line++;
		return true;
	}
	if (r->p[r->off] == '\r') {
		r->off++;
		if (r->off < r->len && r->p[r->off] == '\n')
			r->off++;
		r->line++;
		return true;
	}
	return false;
}

/* Next logical line into 'out' (raw, escapes intact). false at end of input. */
static bool
rd_logical_line(struct props_rd *r, struct sbuf *out, unsigned *start_line)
{
	bool skip_ws = true, appended = false, bs = false, started = false;
	out->len = 0;
	if (out->p)
		out->p[0] = '\0';
	for (;;) {
		if (r->off >= r->len) {
			if (out->len == 0)
				return false;
			if (bs)
				out->p[--out->len] = '\0';
			return true;
		}
		char ch = r->p[r->off];
		bool eol = ch == '\n' || ch == '\r';
		if (skip_ws) {
			if (is_ws(ch)) {
				r->off++;
				continue;
			}
			if (!appended && eol) {
				rd_eol(r);
				continue;
			}
			skip_ws = false;
			appended = false;
		}
		if (out->len == 0 && (ch == '#' || ch == '!')) {
			while (r->off < r->len && r->p[r->off] != '\n' && r->p[r->off] != '\r')
				r->off++;
			rd_eol(r);
			skip_ws = true;
			continue;
		}
		if (!eol) {
			if (!started) {
				started = true;
				*start_line = r->line;
			}
			sb_putc(out, ch);
			r->off++;
			bs = ch == '\\' ? !bs : false;
			continue;
		}
		rd_eol(r);
		if (out->len == 0) {
			skip_ws = true;
			continue;
		}
		if (!bs)
			return true;
		out->p[--out->len] = '\0'; /* the continuation backslash is not part of the line */
		skip_ws = true;
		appended = true;
		bs = false;
	}
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Properties.loadConvert of s[0, n) into a new UTF-8 string. NULL with 'why' on error. */
static char *
load_convert(const char *s, size_t n, const char **why)
{
	struct sbuf b = { 0 };
	uint32_t hi_sur = 0;
	sb_putc(&b, '\0'); /* allocate even for "" */
	b.len = 0;
	for (size_t i = 0; i < n;) {
		char ch = s[i++];
		if (ch != '\\') {
			if (hi_sur) {
				*why = "a \\u high surrogate is not followed by a low one";
				goto err_convert;
			}
			sb_putc(&b, ch);
			continue;
		}
		if (i >= n)
			break; /* a lone trailing backslash: nothing to escape */
		ch = s[i++];
		if (ch != 'u') {
			if (hi_sur) {
				*why = "a \\u high surrogate is not followed by a low one";
				goto err_convert;
			}
			sb_putc(&b, ch == 't'   ? '\t'
				    : ch == 'n' ? '\n'
				    : ch == 'r' ? '\r'
				    : ch == 'f' ? '\f'
						: ch);
			continue;
		}
		uint32_t cp = 0;
		for (int k = 0; k < 4; k++) {
			int h = i < n ? hexval(s[i]) : -1;
			if (h < 0) {
				*why = "malformed \\uXXXX escape (needs four hex digits)";
				goto err_convert;
			}
			cp = cp << 4 | (uint32_t)h;
			i++;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (hi_sur) {
				*why = "two \\u high surrogates in a row";
				goto err_convert;
			}
			hi_sur = cp;
			continue;
		}
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			if (!hi_sur) {
				*why = "a \\u low surrogate without a high one";
				goto err_convert;
			}
			cp = 0x10000 + ((hi_sur - 0xd800) << 10) + (cp - 0xdc00);
			hi_sur = 0;
		} else if (hi_sur) {
			*why = "a \\u high surrogate is not followed by a low one";
			goto err_convert;
		}
		if (cp == 0) {
			*why = "\\u0000 (NUL) is not allowed";
			goto err_convert;
		}
		sb_utf8(&b, cp);
	}
	if (hi_sur) {
		*why = "a \\u high surrogate is not followed by a low one";
		goto err_convert;
	}
	if (b.oom) {
		*why = "out of memory";
		goto err_convert;
	}
	return b.p;
err_convert:
	free(b.p);
	return NULL;
}

static void
props_parse(struct ferry_conf *c, const char *buf, size_t len)
{
	struct props_rd r = { buf, len, 0, 1 };
	struct sbuf line = { 0 };
	unsigned ln = 1;
	while (!c->oom && rd_logical_line(&r, &line, &ln)) {
		if (line.oom) {
			c->oom = true;
			break;
		}
		const char *lb = line.p;
		size_t lim = line.len, key_len = 0, val_start = lim;
		bool has_sep = false, bs = false;
		if (memchr(lb, '\0', lim) != NULL) {
			ERR(c, ln, "", NULL, "NUL byte in the line; line ignored");
			continue;
		}
		for (size_t i = 0; i < lim; i++) {
			if ((unsigned char)lb[i] >= 0x80) {
				WARN(c, ln, "", "write non-ASCII characters as \\uXXXX",
				     "non-ASCII bytes: MM2 reads properties files as ISO-8859-1, "
				     "so it "
				     "would read them differently from ferry (UTF-8 kept as is)");
				break;
			}
		}
		/* load0: the key ends at the first unescaped separator or whitespace */
		while (key_len < lim) {
			char ch = lb[key_len];
			if ((ch == '=' || ch == ':') && !bs) {
				val_start = key_len + 1;
				has_sep = true;
				break;
			}
			if (is_ws(ch) && !bs) {
				val_start = key_len + 1;
				break;
			}
			bs = ch == '\\' ? !bs : false;
			key_len++;
		}
		while (val_start < lim) {
			char ch = lb[val_start];
			if (!is_ws(ch)) {
				if (!has_sep && (ch == '=' || ch == ':'))
					has_sep = true;
				else
					break;
			}
			val_start++;
		}
		const char *why = NULL;
		char *key = load_convert(lb, key_len, &why);
		if (key == NULL) {
			ERR(c, ln, "", "MM2 fails to start on this too", "key: %s", why);
			continue;
		}
		char *value = load_convert(lb + val_start, lim - val_start, &why);
		if (value == NULL) {
			ERR(c, ln, key, "MM2 fails to start on this too", "value: %s", why);
			free(key);
			continue;
		}
		if (key[0] == '\0') {
			ERR(c, ln, "", NULL, "empty key (the line starts with a separator)");
			free(key);
			free(value);
			continue;
		}
		prop_put(c, key, value, ln);
	}
	free(line.p);
}

/* ---- classification: which table key, which cluster or flow ---------------------------------- */

/* Java client settings accepted as ALIAS.NAME (every role) besides ssl.* and sasl.*. */
static const char *const client_names[] = {
	"client.id",
	"client.rack",
	"request.timeout.ms",
	"retry.backoff.ms",
	"reconnect.backoff.ms",
	"reconnect.backoff.max.ms",
	"connections.max.idle.ms",
	"metadata.max.age.ms",
	"receive.buffer.bytes",
	"send.buffer.bytes",
	"socket.connection.setup.timeout.ms",
	"socket.connection.setup.timeout.max.ms",
	"client.dns.lookup",
	"security.providers",
	"metric.reporters",
	"metrics.num.samples",
	"metrics.sample.window.ms",
	"metrics.recording.level",
	"auto.include.jmx.reporter",
};

static bool
client_name_known(const char *name)
{
	for (size_t i = 0; i < sizeof(client_names) / sizeof(client_names[0]); i++)
		if (strcmp(client_names[i], name) == 0)
			return true;
	return false;
}

/* Longest declared alias A with key == "A." + rest; returns its index or -1. */
static int
alias_prefix(const struct ferry_conf *c, const char *key, const char **rest)
{
	int best = -1;
	size_t best_len = 0;
	for (size_t i = 0; i < c->n_clusters; i++) {
		size_t l = strlen(c->clusters[i]);
		if (l > best_len && strncmp(key, c->clusters[i], l) == 0 && key[l] == '.') {
			best = (int)i;
			best_len = l;
		}
	}
	if (best >= 0)
		*rest = key + best_len + 1;
	return best;
}

static int
cluster_index(const struct ferry_conf *c, const char *alias, size_t len)
{
	for (size_t i = 0; i < c->n_clusters; i++)
		if (strlen(c->clusters[i]) == len && strncmp(c->clusters[i], alias, len) == 0)
			return (int)i;
	return -1;
}

static void
clusters_hint(const struct ferry_conf *c, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "clusters = ");
	for (size_t i = 0; i < c->n_clusters && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", c->clusters[i]);
	if (c->n_clusters == 0 && o < len)
		snprintf(buf + o, len - o, "(none)");
}

/* "did you mean PREFIX+K?" for the table key (of the given scope) closest to 'name'. */
static unsigned
near(const char *a, const char *b, unsigned limit)
{
	size_t la = strlen(a), lb = strlen(b);
	/* the distance is at least the length difference: skip the DP when that is too far */
	if ((la > lb ? la - lb : lb - la) > limit)
		return 1000;
	return edit_distance(a, b);
}

#define SUGGEST_MAX 64 /* a file with more unknown keys than this is not an MM2 file */

static void
suggest(struct ferry_conf *c, const char *name, unsigned scope, const char *prefix, char *hint,
	size_t len)
{
	size_t nl = strlen(name);
	unsigned limit = nl < 8 ? 2 : nl < 20 ? 3 : 4;
	unsigned best = limit + 1;
	const char *best_name = NULL;
	bool best_fam = false;
	hint[0] = '\0';
	if (c->n_suggest++ >= SUGGEST_MAX)
		return;
	for (size_t i = 0; i < N_DEFS; i++) {
		if (!(defs[i].scope & scope) || (defs[i].flags & FERRY_CONF_F_DEPRECATED))
			continue;
		unsigned dist;
		bool fam = defs[i].flags & FERRY_CONF_F_PREFIX;
		if (fam) {
			/* compare with the family name plus as much of the key as would follow it
			 */
			size_t l = strlen(defs[i].name);
			char cand[160];
			const char *tail = strchr(name, '.');
			snprintf(cand, sizeof(cand), "%s%s", defs[i].name, tail ? tail + 1 : "");
			dist = l > 1 ? near(name, cand, limit) : 1000;
		} else {
			dist = near(name, defs[i].name, limit);
		}
		if (dist < best) {
			best = dist;
			best_name = defs[i].name;
			best_fam = fam;
		}
	}
	if (scope & FERRY_CONF_SC_CLUSTER)
		for (size_t i = 0; i < sizeof(client_names) / sizeof(client_names[0]); i++) {
			unsigned dist = near(name, client_names[i], limit);
			if (dist < best) {
				best = dist;
				best_name = client_names[i];
				best_fam = false;
			}
		}
	if (best_name && best <= limit)
		snprintf(hint, len, "did you mean %s%s%s?", prefix, best_name, best_fam ? "*" : "");
}

static void
add_pass(struct ferry_conf *c, int cluster, int role, const char *name, size_t prop)
{
	if (!grow((void **)&c->pass, &c->cap_pass, c->n_pass + 1, sizeof(*c->pass))) {
		c->oom = true;
		return;
	}
	c->pass[c->n_pass++] = (struct cpass){ cluster, role, name, prop };
}

/* A key of table entry d for (flow, cluster): check and keep its value. */
static void
take_value(struct ferry_conf *c, int d, int flow, int cluster, size_t pi, const char *name)
{
	const struct ferry_conf_def *def = &defs[d];
	const struct ferry_conf_prop *p = &c->props[pi];
	char err[600], hint[400];
	if (def->flags & FERRY_CONF_F_DEPRECATED) {
		snprintf(hint, sizeof(hint), "rename it to %s", def->alt);
		ERR(c, p->line, p->key, hint, "old MM2 name that ferry does not read");
		return;
	}
	if (def->type == FERRY_CONF_T_PASSTHRU) {
		int role = -1;
		if (strcmp(def->name, "consumer.") == 0)
			role = FERRY_CONF_ROLE_CONSUMER;
		else if (strcmp(def->name, "producer.") == 0)
			role = FERRY_CONF_ROLE_PRODUCER;
		else if (strcmp(def->name, "admin.") == 0)
			role = FERRY_CONF_ROLE_ADMIN;
		add_pass(c, cluster, role, role >= 0 ? name + strlen(def->name) : name, pi);
		return;
	}
	if (!grow((void **)&c->vals, &c->cap_vals, c->n_vals + 1, sizeof(*c->vals))) {
		c->oom = true;
		return;
	}
	struct cval *v = &c->vals[c->n_vals];
	int rc = parse_value(def, p->value, &v->tv, err, sizeof(err), hint, sizeof(hint));
	if (rc == -ENOMEM) {
		tval_free(&v->tv);
		c->oom = true;
		return;
	}
	if (rc < 0) {
		tval_free(&v->tv);
		ERR(c, p->line, p->key, hint, "%s", err);
		return;
	}
	if (def->flags & FERRY_CONF_F_IGNORED) {
		if (def->alt)
			snprintf(hint, sizeof(hint), "ferry's setting is %s", def->alt);
		WARN(c, p->line, p->key, def->alt ? hint : NULL,
		     "MM2 setting that ferry ignores: %s", def->desc);
		tval_free(&v->tv);
		return;
	}
	v->tv.set = true;
	v->def = d;
	v->flow = flow;
	v->cluster = cluster;
	v->prop = pi;
	c->n_vals++;
}

static void
classify(struct ferry_conf *c, size_t pi)
{
	const struct ferry_conf_prop *p = &c->props[pi];
	const char *key = p->key, *arrow = strstr(key, "->"), *rest;
	char hint[400], pre[300];
	int d;

	if (strcmp(key, "clusters") == 0)
		return; /* read first, by load */
	if (arrow) {
		const char *after = arrow + 2, *name = NULL;
		int src = cluster_index(c, key, (size_t)(arrow - key)), tgt;
		tgt = alias_prefix(c, after, &name);
		if (tgt < 0) {
			const char *dot = strchr(after, '.');
			if (dot == NULL) {
				ERR(c, p->line, key,
				    "write SOURCE->TARGET.KEY, e.g. london->singapore.enabled",
				    "flow key without a key after the target alias");
				return;
			}
			name = dot + 1;
		}
		if (src < 0 || tgt < 0) {
			clusters_hint(c, hint, sizeof(hint));
			ERR(c, p->line, key, hint, "flow names unknown cluster '%.*s'",
			    src < 0 ? (int)(arrow - key) : (int)(name - 1 - after),
			    src < 0 ? key : after);
			return;
		}
		if (src == tgt) {
			ERR(c, p->line, key, NULL, "a flow needs two different clusters");
			return;
		}
		d = def_lookup(name);
		snprintf(pre, sizeof(pre), "%s->%s.", c->clusters[src], c->clusters[tgt]);
		if (d < 0) {
			suggest(c, name, FERRY_CONF_SC_FLOW, pre, hint, sizeof(hint));
			ERR(c, p->line, key, hint, "unknown key");
			return;
		}
		if (!(defs[d].scope & FERRY_CONF_SC_FLOW)) {
			snprintf(hint, sizeof(hint), "set %s%s without the flow prefix",
				 defs[d].scope & FERRY_CONF_SC_CLUSTER ? "<alias>." : "", name);
			ERR(c, p->line, key, hint, "%s cannot be set per flow", name);
			return;
		}
		take_value(c, d, (int)(src * (int)c->n_clusters + tgt), -1, pi, name);
		return;
	}
	d = def_lookup(key);
	if (d >= 0 && (defs[d].scope & FERRY_CONF_SC_GLOBAL)) {
		take_value(c, d, -1, -1, pi, key);
		return;
	}
	int ci = alias_prefix(c, key, &rest);
	if (ci >= 0) {
		int d2 = def_lookup(rest);
		snprintf(pre, sizeof(pre), "%s.", c->clusters[ci]);
		if (d2 >= 0 && (defs[d2].scope & FERRY_CONF_SC_CLUSTER)) {
			take_value(c, d2, -1, ci, pi, rest);
		} else if (client_name_known(rest)) {
			add_pass(c, ci, -1, rest, pi);
		} else if (d2 >= 0) {
			snprintf(hint, sizeof(hint), "set %s%s without the '%s.' prefix",
				 defs[d2].scope & FERRY_CONF_SC_FLOW ? "[<source>-><target>.]" : "",
				 rest, c->clusters[ci]);
			ERR(c, p->line, key, hint, "%s cannot be set per cluster", rest);
		} else {
			suggest(c, rest, FERRY_CONF_SC_CLUSTER, pre, hint, sizeof(hint));
			ERR(c, p->line, key, hint, "unknown key");
		}
		return;
	}
	if (d >= 0) {
		const struct ferry_conf_def *def = &defs[d];
		if (def->type == FERRY_CONF_T_PASSTHRU) {
			snprintf(hint, sizeof(hint), "write it per cluster: <alias>.%s", key);
			WARN(c, p->line, key, hint,
			     "client settings apply per cluster; this one applies to none and is "
			     "ignored");
		} else if (def->scope & FERRY_CONF_SC_FLOW) {
			snprintf(hint, sizeof(hint), "write it per flow: <source>-><target>.%s",
				 key);
			ERR(c, p->line, key, hint, "%s is set per flow", key);
		} else {
			snprintf(hint, sizeof(hint), "write it per cluster: <alias>.%s", key);
			ERR(c, p->line, key, hint, "%s is set per cluster", key);
		}
		return;
	}
	/* ALIAS.KEY for an alias that is not in `clusters`: MM2 ignores it; say so. */
	const char *dot = strchr(key, '.');
	if (dot) {
		int d3 = def_lookup(dot + 1);
		if ((d3 >= 0 && (defs[d3].scope & FERRY_CONF_SC_CLUSTER)) ||
		    client_name_known(dot + 1)) {
			clusters_hint(c, hint, sizeof(hint));
			WARN(c, p->line, key, hint, "cluster '%.*s' is not in clusters; ignored",
			     (int)(dot - key), key);
			return;
		}
	}
	suggest(c, key, FERRY_CONF_SC_GLOBAL, "", hint, sizeof(hint));
	ERR(c, p->line, key, hint, "unknown key");
}

/* ---- lookups ---------------------------------------------------------------------------- */

static const struct cval *
val_find(const struct ferry_conf *c, int d, int flow, int cluster)
{
	for (size_t i = 0; i < c->n_vals; i++)
		if (c->vals[i].def == d && c->vals[i].flow == flow && c->vals[i].cluster == cluster)
			return &c->vals[i];
	return NULL;
}

static uint64_t hash_str(const char *s);

static void
def_ix_build(struct ferry_conf *c)
{
	for (size_t i = 0; i < N_DEFS; i++) {
		if (defs[i].flags & FERRY_CONF_F_PREFIX)
			continue;
		size_t h = (size_t)hash_str(defs[i].name) & (DEF_IX_SIZE - 1);
		while (c->def_ix[h] != 0)
			h = (h + 1) & (DEF_IX_SIZE - 1);
		c->def_ix[h] = (uint8_t)(i + 1);
	}
}

/* def_exact() through the per-object index: accessors are called often, names are few. */
static int
def_fast(const struct ferry_conf *c, const char *name)
{
	size_t h = (size_t)hash_str(name) & (DEF_IX_SIZE - 1);
	while (c->def_ix[h] != 0) {
		int i = c->def_ix[h] - 1;
		if (strcmp(defs[i].name, name) == 0)
			return i;
		h = (h + 1) & (DEF_IX_SIZE - 1);
	}
	return -1;
}

/*
 * Values of flow keys are stored under slot src * n + dst (n clusters; the diagonal unused).
 * The public flow list skips the diagonal: flow fi is source fi / (n-1) and the (fi % (n-1))th
 * of the other clusters.
 */
static int
flow_slot(const struct ferry_conf *c, int fi)
{
	size_t n = c->n_clusters;
	if (fi < 0 || (size_t)fi >= c->n_flows || n < 2)
		return -1;
	size_t s = (size_t)fi / (n - 1), r = (size_t)fi % (n - 1);
	return (int)(s * n + (r < s ? r : r + 1));
}

/* MM2 precedence: SRC->DST.KEY, then KEY, then the default. */
static const struct tval *
resolve(const struct ferry_conf *c, int flow, const char *key, enum ferry_conf_type want,
	unsigned *line)
{
	int d = def_fast(c, key);
	const struct cval *v = NULL;
	if (line)
		*line = 0;
	if (d < 0 || (want != FERRY_CONF_T__COUNT && defs[d].type != want))
		return NULL;
	if (flow >= 0 && flow_slot(c, flow) >= 0)
		v = val_find(c, d, flow_slot(c, flow), -1);
	if (v == NULL)
		v = val_find(c, d, -1, -1);
	if (v) {
		if (line)
			*line = c->props[v->prop].line;
		return &v->tv;
	}
	return c->defaults[d].set ? &c->defaults[d] : NULL;
}

static bool
type_is_int(enum ferry_conf_type t)
{
	return t == FERRY_CONF_T_INT || t == FERRY_CONF_T_LONG || t == FERRY_CONF_T_SECONDS ||
	       t == FERRY_CONF_T_MS || t == FERRY_CONF_T_SIZE;
}

const char *
ferry_conf_str(const struct ferry_conf *c, int flow, const char *key)
{
	const struct tval *tv = resolve(c, flow, key, FERRY_CONF_T__COUNT, NULL);
	return tv ? tv->s : NULL;
}

int64_t
ferry_conf_int(const struct ferry_conf *c, int flow, const char *key)
{
	const struct tval *tv = resolve(c, flow, key, FERRY_CONF_T__COUNT, NULL);
	int d = def_fast(c, key);
	return tv && d >= 0 && type_is_int(defs[d].type) ? tv->i : 0;
}

double
ferry_conf_double(const struct ferry_conf *c, int flow, const char *key)
{
	const struct tval *tv = resolve(c, flow, key, FERRY_CONF_T_DOUBLE, NULL);
	return tv ? tv->d : 0.0;
}

bool
ferry_conf_bool(const struct ferry_conf *c, int flow, const char *key)
{
	const struct tval *tv = resolve(c, flow, key, FERRY_CONF_T_BOOL, NULL);
	return tv ? tv->b : false;
}

size_t
ferry_conf_list(const struct ferry_conf *c, int flow, const char *key, const char *const **items)
{
	const struct tval *tv = resolve(c, flow, key, FERRY_CONF_T__COUNT, NULL);
	int d = def_fast(c, key);
	*items = NULL;
	if (tv == NULL || d < 0 ||
	    (defs[d].type != FERRY_CONF_T_LIST && defs[d].type != FERRY_CONF_T_HOSTPORTS &&
	     defs[d].type != FERRY_CONF_T_DEVARGS))
		return 0;
	*items = (const char *const *)tv->items;
	return tv->n_items;
}

size_t
ferry_conf_lcores(const struct ferry_conf *c, const char *key, const uint16_t **ids)
{
	const struct tval *tv = resolve(c, -1, key, FERRY_CONF_T_LCORES, NULL);
	*ids = tv ? tv->ids : NULL;
	return tv ? tv->n_ids : 0;
}

unsigned
ferry_conf_line(const struct ferry_conf *c, int flow, const char *key)
{
	unsigned line;
	resolve(c, flow, key, FERRY_CONF_T__COUNT, &line);
	return line;
}

static const struct cval *
cluster_val(const struct ferry_conf *c, int ci, int d)
{
	const struct cval *v = val_find(c, d, -1, ci);
	return v ? v : val_find(c, d, -1, -1);
}

const char *
ferry_conf_cluster_str(const struct ferry_conf *c, const char *alias, const char *key)
{
	int ci = cluster_index(c, alias, strlen(alias)), d = def_fast(c, key);
	if (ci < 0 || d < 0 || !(defs[d].scope & FERRY_CONF_SC_CLUSTER))
		return NULL;
	const struct cval *v = cluster_val(c, ci, d);
	if (v)
		return v->tv.s;
	return c->defaults[d].set ? c->defaults[d].s : NULL;
}

const char *const *
ferry_conf_clusters(const struct ferry_conf *c, size_t *n)
{
	*n = c->n_clusters;
	return (const char *const *)c->clusters;
}

const struct ferry_conf_flow *
ferry_conf_flows(const struct ferry_conf *c, size_t *n)
{
	*n = c->n_flows;
	return c->flows;
}

int
ferry_conf_flow_find(const struct ferry_conf *c, const char *source, const char *target)
{
	for (size_t i = 0; i < c->n_flows; i++)
		if (strcmp(c->flows[i].source, source) == 0 &&
		    strcmp(c->flows[i].target, target) == 0)
			return (int)i;
	return -1;
}

/* ---- librdkafka translation -------------------------------------------------------------- */

enum xl_kind {
	XL_RENAME, /* same value, librdkafka name */
	XL_DROP,   /* no librdkafka equivalent: warn with the hint */
	XL_LOWER,  /* same name, lower-case value */
	XL_JAAS,   /* sasl.jaas.config -> sasl.username / sasl.password / kerberos */
	XL_EIA,    /* ssl.endpoint.identification.algorithm: "" -> none */
	XL_KBYTES, /* buffer.memory bytes -> queue.buffering.max.kbytes */
	XL_KSTYPE, /* ssl.keystore.type: PKCS12 is what librdkafka reads; JKS is not */
	XL_ASSIGN, /* partition.assignment.strategy: Java classes -> librdkafka names */
};

static const struct {
	const char *java;
	const char *rdk;
	enum xl_kind kind;
	const char *hint;
} xlate[] = {
	{ "sasl.mechanism", "sasl.mechanisms", XL_RENAME, NULL },
	{ "sasl.jaas.config", NULL, XL_JAAS, NULL },
	{ "security.protocol", "security.protocol", XL_LOWER, NULL },
	{ "fetch.max.wait.ms", "fetch.wait.max.ms", XL_RENAME, NULL },
	{ "receive.buffer.bytes", "socket.receive.buffer.bytes", XL_RENAME, NULL },
	{ "send.buffer.bytes", "socket.send.buffer.bytes", XL_RENAME, NULL },
	{ "max.request.size", "message.max.bytes", XL_RENAME, NULL },
	{ "buffer.memory", "queue.buffering.max.kbytes", XL_KBYTES, NULL },
	{ "ssl.endpoint.identification.algorithm", "ssl.endpoint.identification.algorithm", XL_EIA,
	  NULL },
	{ "ssl.truststore.certificates", "ssl.ca.pem", XL_RENAME, NULL },
	{ "ssl.keystore.certificate.chain", "ssl.certificate.pem", XL_RENAME, NULL },
	{ "ssl.keystore.key", "ssl.key.pem", XL_RENAME, NULL },
	{ "ssl.keystore.type", NULL, XL_KSTYPE, NULL },
	{ "partition.assignment.strategy", "partition.assignment.strategy", XL_ASSIGN, NULL },
	{ "ssl.truststore.location", NULL, XL_DROP,
	  "librdkafka cannot read a Java truststore: export the CA certificates as PEM and set "
	  "ssl.ca.location" },
	{ "ssl.truststore.password", NULL, XL_DROP, "use a PEM ssl.ca.location instead" },
	{ "ssl.truststore.type", NULL, XL_DROP, "use a PEM ssl.ca.location instead" },
	{ "ssl.protocol", NULL, XL_DROP, "librdkafka negotiates TLS 1.2/1.3 through OpenSSL" },
	{ "ssl.enabled.protocols", NULL, XL_DROP,
	  "librdkafka negotiates TLS 1.2/1.3 through OpenSSL" },
	{ "ssl.provider", NULL, XL_DROP, "Java security provider" },
	{ "ssl.trustmanager.algorithm", NULL, XL_DROP, "Java TLS internals" },
	{ "ssl.keymanager.algorithm", NULL, XL_DROP, "Java TLS internals" },
	{ "ssl.secure.random.implementation", NULL, XL_DROP, "Java TLS internals" },
	{ "ssl.engine.factory.class", NULL, XL_DROP, "Java TLS internals" },
	{ "sasl.login.class", NULL, XL_DROP, "Java login plug-in" },
	{ "sasl.login.callback.handler.class", NULL, XL_DROP, "Java login plug-in" },
	{ "sasl.client.callback.handler.class", NULL, XL_DROP, "Java login plug-in" },
	{ "key.serializer", NULL, XL_DROP, "ferry copies bytes" },
	{ "value.serializer", NULL, XL_DROP, "ferry copies bytes" },
	{ "key.deserializer", NULL, XL_DROP, "ferry copies bytes" },
	{ "value.deserializer", NULL, XL_DROP, "ferry copies bytes" },
	{ "interceptor.classes", NULL, XL_DROP, "Java plug-in" },
	{ "partitioner.class", NULL, XL_DROP, "ferry keeps source partitions" },
	{ "max.poll.records", NULL, XL_DROP, "Java consumer batching" },
	{ "default.api.timeout.ms", NULL, XL_DROP, "Java client timeout" },
	{ "exclude.internal.topics", NULL, XL_DROP, "use topics.exclude" },
	{ "metric.reporters", NULL, XL_DROP, "ferry serves Prometheus metrics" },
	{ "metrics.num.samples", NULL, XL_DROP, "Java client metrics" },
	{ "metrics.sample.window.ms", NULL, XL_DROP, "Java client metrics" },
	{ "metrics.recording.level", NULL, XL_DROP, "Java client metrics" },
	{ "auto.include.jmx.reporter", NULL, XL_DROP, "Java client metrics" },
	{ "client.dns.lookup", NULL, XL_DROP, "librdkafka resolves every address" },
	{ "security.providers", NULL, XL_DROP, "Java security provider" },
};

static void
kv_put(struct ferry_conf *c, struct kvlist *l, const char *name, const char *value,
       const struct ferry_conf_prop *p)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].name, name) == 0) {
			l->kv[i].value = value; /* a more specific level overrides */
			l->kv[i].key = p->key;
			l->kv[i].line = p->line;
			return;
		}
	if (!grow((void **)&l->kv, &l->cap, l->n + 1, sizeof(*l->kv))) {
		c->oom = true;
		return;
	}
	l->kv[l->n++] = (struct ferry_conf_kv){ name, value, p->key, p->line };
}

/* One JAAS value: "quoted \"text\"" or a bare token. */
static const char *
jaas_value(const char *p, struct sbuf *out)
{
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			sb_putc(out, *p);
		}
		return *p == '"' ? p + 1 : NULL;
	}
	if (*p == '\0' || *p == ';' || isspace((unsigned char)*p))
		return NULL;
	while (*p && *p != ';' && !isspace((unsigned char)*p))
		sb_putc(out, *p++);
	return p;
}

/*
 * sasl.jaas.config: "<LoginModule class> <flag> key=value ... ;". The value is a secret:
 * diagnostics never quote it.
 */
static void
xl_jaas(struct ferry_conf *c, struct kvlist *l, const struct ferry_conf_prop *p, bool diag)
{
	const char *s = p->value, *user = NULL, *pass = NULL, *princ = NULL, *ktab = NULL;
	char module[256];
	size_t ml = 0;
	bool ok = true;
	while (isspace((unsigned char)*s))
		s++;
	while (*s && !isspace((unsigned char)*s) && ml + 1 < sizeof(module))
		module[ml++] = *s++;
	module[ml] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	const char *flag = s;
	while (*s && !isspace((unsigned char)*s) && *s != ';')
		s++;
	size_t fl = (size_t)(s - flag);
	if (!((fl == 8 && strncmp(flag, "required", 8) == 0) ||
	      (fl == 9 && strncmp(flag, "requisite", 9) == 0) ||
	      (fl == 10 && strncmp(flag, "sufficient", 10) == 0) ||
	      (fl == 8 && strncmp(flag, "optional", 8) == 0)))
		ok = false;
	while (ok) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == ';' || *s == '\0')
			break;
		const char *k = s;
		while (*s && *s != '=' && !isspace((unsigned char)*s) && *s != ';')
			s++;
		size_t kl = (size_t)(s - k);
		if (*s != '=' || kl == 0) {
			ok = false;
			break;
		}
		struct sbuf v = { 0 };
		sb_putc(&v, '\0');
		v.len = 0;
		s = jaas_value(s + 1, &v);
		if (s == NULL || v.oom) {
			free(v.p);
			ok = false;
			break;
		}
		const char **dst = NULL;
		if (kl == 8 && strncmp(k, "username", 8) == 0)
			dst = &user;
		else if (kl == 8 && strncmp(k, "password", 8) == 0)
			dst = &pass;
		else if (kl == 9 && strncmp(k, "principal", 9) == 0)
			dst = &princ;
		else if (kl == 6 && strncmp(k, "keyTab", 6) == 0)
			dst = &ktab;
		if (dst)
			*dst = pool_keep(c, v.p);
		else
			free(v.p);
	}
	if (!ok || *s != ';') {
		if (diag)
			ERR(c, p->line, p->key,
			    "expected: <LoginModule class> required username=\"...\" "
			    "password=\"...\";",
			    "cannot read this JAAS configuration");
		return;
	}
	const char *base = strrchr(module, '.');
	base = base ? base + 1 : module;
	if (strcmp(base, "PlainLoginModule") == 0 || strcmp(base, "ScramLoginModule") == 0) {
		if (user == NULL || pass == NULL) {
			if (diag)
				ERR(c, p->line, p->key, "add username=\"...\" password=\"...\"",
				    "%s without a username and password", base);
			return;
		}
		kv_put(c, l, "sasl.username", user, p);
		kv_put(c, l, "sasl.password", pass, p);
	} else if (strcmp(base, "Krb5LoginModule") == 0) {
		if (princ)
			kv_put(c, l, "sasl.kerberos.principal", princ, p);
		if (ktab)
			kv_put(c, l, "sasl.kerberos.keytab", ktab, p);
	} else if (strcmp(base, "OAuthBearerLoginModule") == 0) {
		if (diag)
			WARN(c, p->line, p->key,
			     "set librdkafka's sasl.oauthbearer.method=oidc and sasl.oauthbearer.* "
			     "keys",
			     "OAUTHBEARER login module is not translated");
	} else if (diag) {
		ERR(c, p->line, p->key,
		    "supported: PlainLoginModule, ScramLoginModule, Krb5LoginModule",
		    "unsupported login module '%s'", module);
	}
}

static void
translate(struct ferry_conf *c, struct kvlist *l, const struct cpass *cp)
{
	struct ferry_conf_prop *p = &c->props[cp->prop];
	bool diag = !(p->flags & PROP_XLATE_DONE);
	char *tv = trim_dup(p->value);
	char hint[300];
	p->flags |= PROP_XLATE_DONE;
	if (pool_keep(c, tv) == NULL)
		return;
	for (size_t i = 0; i < sizeof(xlate) / sizeof(xlate[0]); i++) {
		if (strcmp(xlate[i].java, cp->name) != 0)
			continue;
		switch (xlate[i].kind) {
		case XL_RENAME: kv_put(c, l, xlate[i].rdk, tv, p); return;
		case XL_DROP:
			if (diag)
				WARN(c, p->line, p->key, xlate[i].hint,
				     "Java client setting with no librdkafka equivalent; not "
				     "passed on");
			return;
		case XL_LOWER:
			for (char *q = tv; *q; q++)
				*q = (char)tolower((unsigned char)*q);
			if (strcmp(tv, "plaintext") != 0 && strcmp(tv, "ssl") != 0 &&
			    strcmp(tv, "sasl_plaintext") != 0 && strcmp(tv, "sasl_ssl") != 0) {
				if (diag)
					ERR(c, p->line, p->key,
					    "one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
					    "'%s' is not a security protocol", p->value);
				return;
			}
			kv_put(c, l, xlate[i].rdk, tv, p);
			return;
		case XL_JAAS: xl_jaas(c, l, p, diag); return;
		case XL_EIA: kv_put(c, l, xlate[i].rdk, tv[0] == '\0' ? "none" : tv, p); return;
		case XL_KBYTES: {
			int64_t b;
			if (!parse_i64(tv, &b) || b < 1024) {
				if (diag)
					ERR(c, p->line, p->key, NULL,
					    "expected bytes (>= 1024), got '%s'", tv);
				return;
			}
			char kb[32];
			snprintf(kb, sizeof(kb), "%lld", (long long)(b / 1024));
			kv_put(c, l, xlate[i].rdk, pool_dup(c, kb), p);
			return;
		}
		case XL_KSTYPE:
			if (strcasecmp(tv, "PKCS12") != 0 && diag) {
				snprintf(
				    hint, sizeof(hint),
				    "convert it: keytool -importkeystore -deststoretype PKCS12");
				WARN(c, p->line, p->key, hint,
				     "librdkafka reads PKCS#12 keystores only, not %s", tv);
			}
			return;
		case XL_ASSIGN: {
			struct sbuf out = { 0 };
			struct tval items = { 0 };
			if (split_items(tv, ',', &items) < 0) {
				tval_free(&items);
				c->oom = true;
				return;
			}
			for (size_t k = 0; k < items.n_items; k++) {
				const char *it = items.items[k], *dot = strrchr(it, '.');
				const char *b = dot ? dot + 1 : it, *rn = NULL;
				if (strcmp(b, "RangeAssignor") == 0 || strcmp(b, "range") == 0)
					rn = "range";
				else if (strcmp(b, "RoundRobinAssignor") == 0 ||
					 strcmp(b, "roundrobin") == 0)
					rn = "roundrobin";
				else if (strcmp(b, "CooperativeStickyAssignor") == 0 ||
					 strcmp(b, "cooperative-sticky") == 0)
					rn = "cooperative-sticky";
				if (rn == NULL) {
					if (diag)
						WARN(c, p->line, p->key,
						     "librdkafka has range, roundrobin, "
						     "cooperative-sticky",
						     "assignor '%s' has no librdkafka equivalent; "
						     "skipped",
						     it);
					continue;
				}
				if (out.len)
					sb_putc(&out, ',');
				sb_puts(&out, rn);
			}
			tval_free(&items);
			if (out.p)
				kv_put(c, l, xlate[i].rdk, pool_keep(c, out.p), p);
			return;
		}
		}
	}
	kv_put(c, l, cp->name, tv, p); /* same name in both clients (or checked by librdkafka) */
}

static void
build_client_props(struct ferry_conf *c)
{
	int d_bs = def_exact("bootstrap.servers"), d_sp = def_exact("security.protocol");
	c->client = calloc(c->n_clusters ? c->n_clusters : 1, sizeof(*c->client));
	if (c->client == NULL) {
		c->oom = true;
		return;
	}
	for (size_t ci = 0; ci < c->n_clusters; ci++) {
		for (int role = 0; role < FERRY_CONF_ROLE__COUNT; role++) {
			struct kvlist *l = &c->client[ci][role];
			const struct cval *v = val_find(c, d_bs, -1, (int)ci);
			/* Lowest precedence first: unprefixed, then ALIAS., then ALIAS.ROLE. */
			for (size_t k = 0; k < c->n_pass; k++)
				if (c->pass[k].cluster < 0)
					translate(c, l, &c->pass[k]);
			if (v)
				kv_put(c, l, "bootstrap.servers", v->tv.s, &c->props[v->prop]);
			if ((v = cluster_val(c, (int)ci, d_sp)) != NULL) {
				char *lw = pool_keep(c, strdup(v->tv.s));
				for (char *q = lw; q && *q; q++)
					*q = (char)tolower((unsigned char)*q);
				if (lw)
					kv_put(c, l, "security.protocol", lw, &c->props[v->prop]);
			}
			for (size_t k = 0; k < c->n_pass; k++)
				if (c->pass[k].cluster == (int)ci && c->pass[k].role < 0)
					translate(c, l, &c->pass[k]);
			for (size_t k = 0; k < c->n_pass; k++)
				if (c->pass[k].cluster == (int)ci && c->pass[k].role == role)
					translate(c, l, &c->pass[k]);
		}
	}
}

const struct ferry_conf_kv *
ferry_conf_client_props(const struct ferry_conf *c, const char *alias, enum ferry_conf_role role,
			size_t *n)
{
	int ci = cluster_index(c, alias, strlen(alias));
	*n = 0;
	if (ci < 0 || (unsigned)role >= FERRY_CONF_ROLE__COUNT || c->client == NULL)
		return NULL;
	*n = c->client[ci][role].n;
	return c->client[ci][role].kv;
}

const char *
ferry_conf_role_name(enum ferry_conf_role role)
{
	static const char *const names[] = { "consumer", "producer", "admin" };
	return (unsigned)role < FERRY_CONF_ROLE__COUNT ? names[role] : "?";
}

static const char *
kv_get(const struct kvlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].name, name) == 0)
			return l->kv[i].value;
	return NULL;
}

/* ---- whole-file checks ------------------------------------------------------------------- */

static void
load_clusters(struct ferry_conf *c)
{
	unsigned line;
	const char *v = ferry_conf_prop_get(c, "clusters", &line);
	struct tval tv;
	char err[600];
	if (v == NULL) {
		if (!(c->flags & FERRY_CONF_LOAD_FRAGMENT))
			ERR(c, 0, "clusters", "clusters = london, singapore",
			    "not set: MM2 needs the list of cluster aliases");
		return;
	}
	c->clusters_line = line;
	if (parse_value(&defs[def_exact("clusters")], v, &tv, err, sizeof(err), NULL, 0) < 0) {
		ERR(c, line, "clusters", NULL, "%s", err);
		tval_free(&tv);
		return;
	}
	c->clusters = calloc(tv.n_items + 1, sizeof(char *));
	if (c->clusters == NULL) {
		c->oom = true;
		tval_free(&tv);
		return;
	}
	for (size_t i = 0; i < tv.n_items; i++) {
		char *a = tv.items[i];
		bool bad = a[0] == '\0' || strstr(a, "->") != NULL;
		for (const char *q = a; *q && !bad; q++)
			bad = isspace((unsigned char)*q) || *q == '=' || *q == ':';
		if (bad) {
			ERR(c, line, "clusters", "aliases are names like london or dc-east",
			    "'%s' is not a usable cluster alias", a);
			continue;
		}
		if (cluster_index(c, a, strlen(a)) >= 0) {
			WARN(c, line, "clusters", NULL, "cluster '%s' is listed twice", a);
			continue;
		}
		if (c->n_clusters == CONF_CLUSTERS_MAX) {
			ERR(c, line, "clusters", NULL, "more than %d clusters", CONF_CLUSTERS_MAX);
			break;
		}
		c->clusters[c->n_clusters++] = a;
		tv.items[i] = NULL; /* now owned by c->clusters */
	}
	tval_free(&tv);
}

static void
build_flows(struct ferry_conf *c)
{
	int d_en = def_exact("enabled");
	size_t n = c->n_clusters;
	c->flows = calloc(n * n + 1, sizeof(*c->flows));
	if (c->flows == NULL) {
		c->oom = true;
		return;
	}
	for (size_t s = 0; s < n; s++)
		for (size_t t = 0; t < n; t++) {
			if (s == t)
				continue;
			struct ferry_conf_flow *f = &c->flows[c->n_flows++];
			const struct cval *v = val_find(c, d_en, (int)(s * n + t), -1);
			f->source = c->clusters[s];
			f->target = c->clusters[t];
			f->enabled = v ? v->tv.b : false;
			f->line = v ? c->props[v->prop].line : 0;
		}
}

static void
check_flows(struct ferry_conf *c)
{
	int d_bs = def_exact("bootstrap.servers");
	size_t enabled = 0;
	char hint[400];
	bool reported[CONF_CLUSTERS_MAX] = { false };
	if (c->flags & FERRY_CONF_LOAD_FRAGMENT)
		return;
	for (size_t fi = 0; fi < c->n_flows; fi++) {
		const struct ferry_conf_flow *f = &c->flows[fi];
		if (!f->enabled)
			continue;
		enabled++;
		const char *ends[2] = { f->source, f->target };
		for (int e = 0; e < 2; e++) {
			int ci = cluster_index(c, ends[e], strlen(ends[e]));
			if (val_find(c, d_bs, -1, ci) != NULL || reported[ci])
				continue;
			reported[ci] = true;
			char key[300];
			snprintf(key, sizeof(key), "%s.bootstrap.servers", ends[e]);
			snprintf(hint, sizeof(hint), "add %s = host:port", key);
			ERR(c, f->line, key, hint,
			    "cluster '%s' is used by enabled flow %s->%s but has "
			    "no bootstrap.servers",
			    ends[e], f->source, f->target);
		}
		/* exactly-once needs committed reads; checked here only where the flow overrides
		 * one of the two keys (check_wan checks the global pair) */
		int fl = (int)fi, slot = flow_slot(c, fl);
		bool own = val_find(c, def_exact("ferry.exactly.once"), slot, -1) ||
			   val_find(c, def_exact("ferry.fetch.isolation.level"), slot, -1);
		if (own && ferry_conf_bool(c, fl, "ferry.exactly.once") &&
		    strcmp(ferry_conf_str(c, fl, "ferry.fetch.isolation.level"),
			   "read_committed") != 0) {
			unsigned l = ferry_conf_line(c, fl, "ferry.fetch.isolation.level");
			ERR(c, l ? l : f->line, "ferry.fetch.isolation.level",
			    "set ferry.fetch.isolation.level = read_committed",
			    "flow %s->%s: ferry.exactly.once needs read_committed", f->source,
			    f->target);
		}
		/* exactly-once writes the offset-syncs in the target's transaction */
		if (ferry_conf_bool(c, fl, "ferry.exactly.once") &&
		    strcmp(ferry_conf_str(c, fl, "offset-syncs.topic.location"), "target") != 0) {
			unsigned l = ferry_conf_line(c, fl, "offset-syncs.topic.location");
			if (l == 0)
				l = ferry_conf_line(c, fl, "ferry.exactly.once");
			ERR(c, l ? l : f->line, "offset-syncs.topic.location",
			    "set offset-syncs.topic.location = target",
			    "flow %s->%s: ferry.exactly.once writes the offset-syncs in the same "
			    "transaction as the batches, on the target cluster",
			    f->source, f->target);
		}
	}
	if (enabled == 0 && c->n_clusters > 0)
		WARN(c, c->clusters_line, "clusters",
		     "set SOURCE->TARGET.enabled = true, e.g. "
		     "london->singapore.enabled = true",
		     "no flow is enabled: nothing will be replicated");
}

static void
check_lcores(struct ferry_conf *c)
{
	static const char *const roles[] = { "ferry.lcore.control", "ferry.lcores.io",
					     "ferry.lcores.worker" };
	uint16_t ctl = (uint16_t)ferry_conf_int(c, -1, roles[0]);
	int owner[CONF_LCORE_MAX + 1];
	for (int i = 0; i <= CONF_LCORE_MAX; i++)
		owner[i] = -1;
	owner[ctl] = 0;
	for (int r = 1; r < 3; r++) {
		const uint16_t *ids;
		size_t n = ferry_conf_lcores(c, roles[r], &ids);
		for (size_t i = 0; i < n; i++) {
			if (owner[ids[i]] >= 0) {
				int o = owner[ids[i]];
				unsigned lo = ferry_conf_line(c, -1, roles[o]);
				unsigned lr = ferry_conf_line(c, -1, roles[r]);
				char where[48] = "default";
				if (lo)
					snprintf(where, sizeof(where), "line %u", lo);
				ERR(c, lr ? lr : lo, lr ? roles[r] : roles[o],
				    "give each lcore one role: control, io or worker",
				    "lcore %u is in both %s (%s) and %s", ids[i], roles[o], where,
				    roles[r]);
				continue;
			}
			owner[ids[i]] = r;
		}
	}
}

static void
check_wan(struct ferry_conf *c)
{
	const char *lip = ferry_conf_str(c, -1, "ferry.wan.local.ip");
	const char *pip = ferry_conf_str(c, -1, "ferry.wan.peer.ip");
	if (lip && pip && strcmp(lip, pip) == 0)
		ERR(c, ferry_conf_line(c, -1, "ferry.wan.peer.ip"), "ferry.wan.peer.ip", NULL,
		    "the peer address is this gateway's own address (%s)", lip);

	static const char *const tls[] = { "ferry.wan.tls.cert", "ferry.wan.tls.key",
					   "ferry.wan.tls.ca" };
	int set = 0;
	unsigned first = 0;
	for (int i = 0; i < 3; i++)
		if (ferry_conf_str(c, -1, tls[i]) != NULL) {
			set++;
			if (!first)
				first = ferry_conf_line(c, -1, tls[i]);
		}
	if (set > 0 && set < 3)
		for (int i = 0; i < 3; i++)
			if (ferry_conf_str(c, -1, tls[i]) == NULL)
				ERR(c, first, tls[i],
				    "the control channel authenticates both ends: set cert, key "
				    "and ca",
				    "%s is missing", tls[i]);

	int64_t mport = ferry_conf_int(c, -1, "ferry.metrics.port");
	if (mport != 0 && mport == ferry_conf_int(c, -1, "ferry.wan.control.port"))
		ERR(c, ferry_conf_line(c, -1, "ferry.metrics.port"), "ferry.metrics.port", NULL,
		    "same TCP port as ferry.wan.control.port (%lld)", (long long)mport);

	if (ferry_conf_bool(c, -1, "ferry.exactly.once") &&
	    strcmp(ferry_conf_str(c, -1, "ferry.fetch.isolation.level"), "read_committed") != 0) {
		unsigned l = ferry_conf_line(c, -1, "ferry.fetch.isolation.level");
		ERR(c, l ? l : ferry_conf_line(c, -1, "ferry.exactly.once"),
		    "ferry.fetch.isolation.level",
		    "set ferry.fetch.isolation.level = read_committed",
		    "ferry.exactly.once needs read_committed");
	}

	/* The queue map must name existing ports and queues, worker lcores (DESIGN §5: workers
	 * run the WAN transport, one queue each), each queue once and each lcore once. */
	const struct tval *qm = resolve(c, -1, "ferry.wan.queue.map", FERRY_CONF_T_QMAP, NULL);
	if (qm == NULL || !qm->set)
		return;
	unsigned ql = ferry_conf_line(c, -1, "ferry.wan.queue.map");
	const char *const *ports;
	size_t nports = ferry_conf_list(c, -1, "ferry.wan.ports", &ports);
	int64_t nq = ferry_conf_int(c, -1, "ferry.wan.queues");
	const uint16_t *wk;
	size_t nwk = ferry_conf_lcores(c, "ferry.lcores.worker", &wk);
	uint8_t seen[CONF_WAN_PORTS_MAX][16] = { { 0 } };
	uint16_t used[CONF_WAN_PORTS_MAX * 16];
	size_t n_used = 0;
	for (size_t i = 0; i + 2 < qm->n_ids; i += 3) {
		uint16_t port = qm->ids[i], q = qm->ids[i + 1], lc = qm->ids[i + 2];
		bool is_wk = false, twice = false;
		for (size_t k = 0; k < nwk; k++)
			is_wk |= wk[k] == lc;
		for (size_t k = 0; k < n_used; k++)
			twice |= used[k] == lc;
		if (nports > 0 && port >= nports)
			ERR(c, ql, "ferry.wan.queue.map", NULL,
			    "port %u does not exist (ferry.wan.ports has %zu)", port, nports);
		else if (q >= nq)
			ERR(c, ql, "ferry.wan.queue.map", NULL,
			    "queue %u does not exist (ferry.wan.queues = %lld)", q, (long long)nq);
		else if (!is_wk)
			ERR(c, ql, "ferry.wan.queue.map", "list it in ferry.lcores.worker",
			    "lcore %u polls %u:%u but is not a worker lcore", lc, port, q);
		else if (seen[port][q]++)
			ERR(c, ql, "ferry.wan.queue.map", NULL, "queue %u:%u is mapped twice", port,
			    q);
		else if (twice)
			ERR(c, ql, "ferry.wan.queue.map", "one queue per worker lcore",
			    "lcore %u polls two queues", lc);
		else if (n_used < sizeof(used) / sizeof(used[0]))
			used[n_used++] = lc;
	}
	for (size_t port = 0; port < nports; port++)
		for (int64_t q = 0; q < nq; q++)
			if (!seen[port][q]) {
				ERR(c, ql, "ferry.wan.queue.map",
				    "map every queue, or unset the map",
				    "queue %zu:%lld is not mapped to any lcore", port,
				    (long long)q);
				return;
			}
}

/* SASL without credentials fails at the first connection; say so now. */
static void
check_clients(struct ferry_conf *c)
{
	int d_sp = def_exact("security.protocol");
	for (size_t ci = 0; ci < c->n_clusters && c->client; ci++) {
		const struct cval *v = cluster_val(c, (int)ci, d_sp);
		if (v == NULL || strncmp(v->tv.s, "SASL_", 5) != 0)
			continue;
		for (int role = 0; role < FERRY_CONF_ROLE__COUNT; role++) {
			const struct kvlist *l = &c->client[ci][role];
			const char *mech = kv_get(l, "sasl.mechanisms");
			if (mech && (strcasecmp(mech, "GSSAPI") == 0 ||
				     strcasecmp(mech, "OAUTHBEARER") == 0))
				continue;
			if (kv_get(l, "sasl.username") == NULL) {
				char key[300], hint[400];
				snprintf(key, sizeof(key), "%s.sasl.jaas.config", c->clusters[ci]);
				snprintf(hint, sizeof(hint), "set %s with a username and password",
					 key);
				WARN(c, c->props[v->prop].line, key, hint,
				     "cluster '%s' uses %s but its %s has no SASL credentials",
				     c->clusters[ci], v->tv.s,
				     ferry_conf_role_name((enum ferry_conf_role)role));
				break;
			}
		}
	}
}

/* ---- load / free ------------------------------------------------------------------------- */

void
ferry_conf_free(struct ferry_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_props; i++) {
		free(c->props[i].key);
		free(c->props[i].value);
	}
	free(c->props);
	free(c->ht);
	free(c->diags);
	for (size_t i = 0; i < c->n_clusters; i++)
		free(c->clusters[i]);
	free(c->clusters);
	free(c->flows);
	for (size_t i = 0; i < c->n_vals; i++)
		tval_free(&c->vals[i].tv);
	free(c->vals);
	free(c->pass);
	for (size_t i = 0; i < N_DEFS; i++)
		tval_free(&c->defaults[i]);
	if (c->client)
		for (size_t i = 0; i < c->n_clusters; i++)
			for (int r = 0; r < FERRY_CONF_ROLE__COUNT; r++)
				free(c->client[i][r].kv);
	free(c->client);
	for (size_t i = 0; i < c->n_pool; i++)
		free(c->pool[i]);
	free(c->pool);
	free(c->file);
	free(c);
}

int
ferry_conf_load_buf(const char *name, const char *buf, size_t len, unsigned flags,
		    struct ferry_conf **out, char *err, size_t errlen)
{
	struct ferry_conf *c = calloc(1, sizeof(*c));
	char e[600];
	*out = NULL;
	if (c == NULL || (c->file = strdup(name ? name : "-")) == NULL)
		goto err_nomem;
	c->flags = flags;
	def_ix_build(c);

	/* Table defaults are parsed like file values (tests check each one parses). */
	for (size_t i = 0; i < N_DEFS; i++) {
		if (defs[i].def == NULL || defs[i].type == FERRY_CONF_T_PASSTHRU)
			continue;
		if (parse_value(&defs[i], defs[i].def, &c->defaults[i], e, sizeof(e), NULL, 0) <
		    0) {
			snprintf(err, errlen, "built-in default of %s: %s", defs[i].name, e);
			ferry_conf_free(c);
			return -EINVAL;
		}
		c->defaults[i].set = true;
	}

	props_parse(c, buf, len);
	load_clusters(c);
	for (size_t i = 0; i < c->n_props && !c->oom; i++)
		classify(c, i);
	build_flows(c);
	build_client_props(c);
	if (c->oom)
		goto err_nomem;
	check_flows(c);
	check_lcores(c);
	check_wan(c);
	check_clients(c);
	if (c->oom)
		goto err_nomem;
	ferry_conf_diags_sort(c);
	*out = c;
	return c->n_err ? -EINVAL : 0;

err_nomem:
	ferry_conf_free(c);
	snprintf(err, errlen, "%s: out of memory", name ? name : "-");
	return -ENOMEM;
}

int
ferry_conf_load_file(const char *path, unsigned flags, struct ferry_conf **out, char *err,
		     size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
	char *buf;
	*out = NULL;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CONF_FILE_MAX) {
		/* never -EINVAL here: that means "loaded, with errors" */
		rc = S_ISREG(st.st_mode) ? -EFBIG : S_ISDIR(st.st_mode) ? -EISDIR : -ENOTSUP;
		snprintf(err, errlen, "%s: %s", path,
			 S_ISREG(st.st_mode) ? "larger than 16 MiB" : "not a regular file");
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			snprintf(err, errlen, "%s: %s", path,
				 r < 0 ? strerror(errno) : "short read");
			goto out_free_buf;
		}
		got += (size_t)r;
	}
	rc = ferry_conf_load_buf(path, buf, got, flags, out, err, errlen);
out_free_buf:
	free(buf);
out_close:
	close(fd);
	return rc;
}
