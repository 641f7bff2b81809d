/*
 * metrics.c - the metrics registry (DESIGN §8): sources, sample collection and the two text
 * renders (Prometheus exposition format 0.0.4 and JSON).
 *
 * Threads: sources are added by the control thread; renders run on the reader's thread (the
 * HTTP server thread, the DPDK telemetry thread, a CLI). One mutex serialises a whole
 * collection: the sources run, their samples land in a scratch area owned by the registry
 * (reused by the next render, so a steady scrape does not allocate), and the render reads
 * it, all under the lock. Rendering is not a hot path; the data path never calls in here.
 *
 * Collection: each emitted sample is validated (names against the Prometheus grammar, label
 * values and help as UTF-8, counter values), its labels are sorted by name so that one series
 * always has one spelling, and it is appended to its family's list. Two hash tables (family
 * name -> family, family + label set -> sample) make emit O(1) and catch duplicate series,
 * which Prometheus would reject. Renders then walk families in first-emission order, so the
 * samples of one family come out together however the sources interleaved them.
 *
 * Owns: the source list, the scratch area, the drop counters, the HTTP endpoint's handle
 * (started and stopped by metrics_http.c).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_int.h"

#define NONE UINT32_MAX

struct mfam {
	size_t name; /* offsets into the string arena */
	size_t help;
	enum ferry_metric_type type;
	uint32_t head, tail; /* samples of the family, linked through msample.next */
	uint32_t count;
};

struct msample {
	uint32_t fam;
	uint32_t next;
	uint32_t nlab;
	size_t lab; /* first of 2 * nlab string offsets in loff[] (name, value, ...) */
	size_t key; /* rendered label set 'k="v",k2="v2"' (Prometheus-escaped), "" without */
	size_t keylen;
	double value;
};

struct ferry_metrics_emit {
	struct ferry_metrics *m;
	char *str; /* string arena: names, help, label pairs, rendered label sets */
	size_t slen, scap;
	size_t *loff; /* label string offsets */
	size_t nloff, caploff;
	struct mfam *fam;
	uint32_t nfam;
	size_t capfam;
	struct msample *smp;
	uint32_t nsmp;
	size_t capsmp;
	uint32_t *fmap; /* family hash table: index + 1, 0 = empty; capacity a power of 2 */
	size_t fmapcap;
	uint32_t *smap; /* series hash table, same layout */
	size_t smapcap;
	uint32_t lastfam; /* sources emit runs of one family: checked before hashing */
	bool oom;
};

static const char *const drop_reason[FERRY_METRICS_DROP__MAX] = {
#define FERRY_METRICS_DROP_STR(n, r, h) r,
	FERRY_METRICS_FOREACH_DROP(FERRY_METRICS_DROP_STR)
#undef FERRY_METRICS_DROP_STR
};

/* ---- validation ------------------------------------------------------------------------------ */

/* Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]* (data model, "Metric names and labels"). */
static bool
name_valid(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const char *c = s; *c; c++) {
		bool alpha =
		    (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' || *c == ':';
		if (!alpha && !(c != s && *c >= '0' && *c <= '9'))
			return false;
	}
	return true;
}

/* Label name: [a-zA-Z_][a-zA-Z0-9_]*; names starting with "__" are reserved for Prometheus. */
static bool
label_name_valid(const char *s)
{
	if (s == NULL || *s == '\0' || (s[0] == '_' && s[1] == '_'))
		return false;
	for (const char *c = s; *c; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_';
		if (!alpha && !(c != s && *c >= '0' && *c <= '9'))
			return false;
	}
	return true;
}

/* Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		int n;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			n = 3;
		} else {
			return false;
		}
		/* A NUL ends the loop here: it is not a continuation byte. */
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* ---- scratch area ---------------------------------------------------------------------------- */

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

#define FNV_BASIS UINT64_C(0xcbf29ce484222325)

static uint64_t
series_hash(uint32_t fam, const char *key, size_t keylen)
{
	return fnv1a(fnv1a(FNV_BASIS, &fam, sizeof(fam)), key, keylen);
}

/*
 * Grow the array whose pointer is at pp (any object pointer type: read and written with
 * memcpy, so no aliasing through void **) to hold need elements; false when out of memory.
 */
static bool
grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *p, *np;

	if (need <= *cap)
		return true;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return false;
		ncap *= 2;
	}
	memcpy(&p, pp, sizeof(p));
	np = realloc(p, ncap * elem);
	if (np == NULL)
		return false;
	memcpy(pp, &np, sizeof(np));
	*cap = ncap;
	return true;
}

/* Append n bytes and a NUL to the arena; the offset of the copy, or SIZE_MAX. */
static size_t
str_put(struct ferry_metrics_emit *e, const char *s, size_t n)
{
	size_t off = e->slen;

	if (n >= SIZE_MAX - off - 1 || !grow(&e->str, &e->scap, off + n + 1, 1))
		return SIZE_MAX;
	memcpy(e->str + off, s, n);
	e->str[off + n] = '\0';
	e->slen = off + n + 1;
	return off;
}

/* Append without the NUL (building a string piece by piece); false when out of memory. */
static bool
str_add(struct ferry_metrics_emit *e, const char *s, size_t n)
{
	if (n == 0)
		return true;
	if (n >= SIZE_MAX - e->slen || !grow(&e->str, &e->scap, e->slen + n, 1))
		return false;
	memcpy(e->str + e->slen, s, n);
	e->slen += n;
	return true;
}

static uint32_t
fam_find(struct ferry_metrics_emit *e, const char *name)
{
	size_t mask, i;

	if (e->lastfam != NONE && strcmp(e->str + e->fam[e->lastfam].name, name) == 0)
		return e->lastfam;
	if (e->fmapcap == 0)
		return NONE;
	mask = e->fmapcap - 1;
	for (i = fnv1a(FNV_BASIS, name, strlen(name)) & mask; e->fmap[i] != 0; i = (i + 1) & mask)
		if (strcmp(e->str + e->fam[e->fmap[i] - 1].name, name) == 0)
			return e->fmap[i] - 1;
	return NONE;
}

static void
fam_insert(struct ferry_metrics_emit *e, uint32_t idx)
{
	const char *name = e->str + e->fam[idx].name;
	size_t mask = e->fmapcap - 1;
	size_t i = fnv1a(FNV_BASIS, name, strlen(name)) & mask;

	while (e->fmap[i] != 0)
		i = (i + 1) & mask;
	e->fmap[i] = idx + 1;
}

static void
smp_insert(struct ferry_metrics_emit *e, uint32_t idx)
{
	const struct msample *s = &e->smp[idx];
	size_t mask = e->smapcap - 1;
	size_t i = series_hash(s->fam, e->str + s->key, s->keylen) & mask;

	while (e->smap[i] != 0)
		i = (i + 1) & mask;
	e->smap[i] = idx + 1;
}

/* Keep a table at most half full; rebuilds it from the entries when it grows. */
static bool
map_reserve(struct ferry_metrics_emit *e, bool fam, size_t n)
{
	uint32_t **map = fam ? &e->fmap : &e->smap;
	size_t *cap = fam ? &e->fmapcap : &e->smapcap;
	size_t ncap = *cap ? *cap : 64;
	uint32_t *nmap;

	if (n <= *cap / 2)
		return true;
	while (n > ncap / 2) {
		if (ncap > SIZE_MAX / 2 / sizeof(uint32_t))
			return false;
		ncap *= 2;
	}
	nmap = calloc(ncap, sizeof(uint32_t));
	if (nmap == NULL)
		return false;
	free(*map);
	*map = nmap;
	*cap = ncap;
	if (fam) {
		for (uint32_t i = 0; i < e->nfam; i++)
			fam_insert(e, i);
	} else {
		for (uint32_t i = 0; i < e->nsmp; i++)
			smp_insert(e, i);
	}
	return true;
}

static bool
series_exists(struct ferry_metrics_emit *e, uint32_t fam, const char *key, size_t keylen)
{
	size_t mask, i;

	if (e->smapcap == 0)
		return false;
	mask = e->smapcap - 1;
	for (i = series_hash(fam, key, keylen) & mask; e->smap[i] != 0; i = (i + 1) & mask) {
		const struct msample *s = &e->smp[e->smap[i] - 1];
		if (s->fam == fam && s->keylen == keylen &&
		    memcmp(e->str + s->key, key, keylen) == 0)
			return true;
	}
	return false;
}

static void
emit_reset(struct ferry_metrics_emit *e)
{
	e->slen = 0;
	e->nloff = 0;
	e->nfam = 0;
	e->nsmp = 0;
	e->lastfam = NONE;
	e->oom = false;
	if (e->fmapcap)
		memset(e->fmap, 0, e->fmapcap * sizeof(uint32_t));
	if (e->smapcap)
		memset(e->smap, 0, e->smapcap * sizeof(uint32_t));
}

static void
emit_free(struct ferry_metrics_emit *e)
{
	if (e == NULL)
		return;
	free(e->str);
	free(e->loff);
	free(e->fam);
	free(e->smp);
	free(e->fmap);
	free(e->smap);
	free(e);
}

/* ---- emit ------------------------------------------------------------------------------------ */

static void
drop(struct ferry_metrics_emit *e, enum ferry_metrics_drop why)
{
	e->m->dropped[why]++;
	if (why == FERRY_METRICS_DROP_NOMEM)
		e->oom = true;
}

/* Prometheus label value escaping: backslash, double quote and line feed (format 0.0.4). */
static bool
key_add_escaped(struct ferry_metrics_emit *e, const char *v)
{
	const char *run = v;

	for (const char *c = v;; c++) {
		const char *esc = NULL;

		if (*c == '\\')
			esc = "\\\\";
		else if (*c == '"')
			esc = "\\\"";
		else if (*c == '\n')
			esc = "\\n";
		else if (*c != '\0')
			continue;
		if (!str_add(e, run, (size_t)(c - run)))
			return false;
		if (esc == NULL)
			return true;
		if (!str_add(e, esc, 2))
			return false;
		run = c + 1;
	}
}

void
ferry_metrics_emit(struct ferry_metrics_emit *e, const char *name, const char *help,
		   enum ferry_metric_type type, double value, const char *const *labels)
{
	unsigned order[FERRY_METRICS_MAX_LABELS];
	unsigned n = 0;
	uint32_t fi, si;
	size_t mark, key, keylen, lab, noff = SIZE_MAX, hoff = SIZE_MAX;

	if (e == NULL)
		return;
	if (!name_valid(name)) {
		drop(e, FERRY_METRICS_DROP_NAME);
		return;
	}
	if (type != FERRY_METRIC_COUNTER && type != FERRY_METRIC_GAUGE) {
		drop(e, FERRY_METRICS_DROP_TYPE);
		return;
	}
	if (help == NULL)
		help = "";

	/* Labels: count the pairs, check them, and sort them by name (insertion sort, n <= 16). */
	for (; labels != NULL && labels[2 * n] != NULL; n++) {
		const char *k = labels[2 * n];
		unsigned j;

		if (n == FERRY_METRICS_MAX_LABELS || labels[2 * n + 1] == NULL ||
		    !label_name_valid(k)) {
			drop(e, FERRY_METRICS_DROP_LABEL);
			return;
		}
		if (!utf8_valid(labels[2 * n + 1])) {
			drop(e, FERRY_METRICS_DROP_UTF8);
			return;
		}
		for (j = n; j > 0; j--) {
			int c = strcmp(labels[2 * order[j - 1]], k);

			if (c == 0) {
				drop(e, FERRY_METRICS_DROP_LABEL);
				return;
			}
			if (c < 0)
				break;
			order[j] = order[j - 1];
		}
		order[j] = n;
	}
	if (!utf8_valid(help)) {
		drop(e, FERRY_METRICS_DROP_UTF8);
		return;
	}
	if (type == FERRY_METRIC_COUNTER && !(isfinite(value) && value >= 0)) {
		drop(e, FERRY_METRICS_DROP_VALUE);
		return;
	}
	fi = fam_find(e, name);
	if (fi != NONE && e->fam[fi].type != type) {
		drop(e, FERRY_METRICS_DROP_TYPE);
		return;
	}

	/*
	 * Strings first, at the arena's end: the rendered label set, the raw pairs, the family's
	 * name and help. Nothing refers to them until the commit below, so any failure before it
	 * rolls the arena back to mark.
	 */
	mark = e->slen;
	key = e->slen;
	for (unsigned i = 0; i < n; i++) {
		const char *k = labels[2 * order[i]];

		if ((i > 0 && !str_add(e, ",", 1)) || !str_add(e, k, strlen(k)) ||
		    !str_add(e, "=\"", 2) || !key_add_escaped(e, labels[2 * order[i] + 1]) ||
		    !str_add(e, "\"", 1))
			goto out_nomem;
	}
	keylen = e->slen - key;
	if (!str_add(e, "", 1)) /* the NUL */
		goto out_nomem;
	if (fi != NONE && series_exists(e, fi, e->str + key, keylen)) {
		e->slen = mark;
		drop(e, FERRY_METRICS_DROP_DUPLICATE);
		return;
	}
	if (!grow(&e->loff, &e->caploff, e->nloff + 2 * (size_t)n, sizeof(size_t)))
		goto out_nomem;
	lab = e->nloff;
	for (unsigned i = 0; i < 2 * n; i++) {
		const char *s = labels[2 * order[i / 2] + i % 2];
		size_t off = str_put(e, s, strlen(s));

		if (off == SIZE_MAX)
			goto out_nomem;
		e->loff[lab + i] = off;
	}
	if (fi == NONE) {
		noff = str_put(e, name, strlen(name));
		if (noff == SIZE_MAX)
			goto out_nomem;
	}
	if (fi == NONE || (e->str[e->fam[fi].help] == '\0' && help[0] != '\0')) {
		hoff = str_put(e, help, strlen(help));
		if (hoff == SIZE_MAX)
			goto out_nomem;
	}

	/* Then room in the arrays and tables. */
	if (e->nsmp >= NONE - 1 || e->nfam >= NONE - 1 ||
	    !grow(&e->smp, &e->capsmp, (size_t)e->nsmp + 1, sizeof(struct msample)) ||
	    !map_reserve(e, false, (size_t)e->nsmp + 1))
		goto out_nomem;
	if (fi == NONE && (!grow(&e->fam, &e->capfam, (size_t)e->nfam + 1, sizeof(struct mfam)) ||
			   !map_reserve(e, true, (size_t)e->nfam + 1)))
		goto out_nomem;

	/* Commit: nothing below fails. */
	if (fi == NONE) {
		fi = e->nfam++;
		e->fam[fi] = (struct mfam){ .name = noff,
					    .help = hoff,
					    .type = type,
					    .head = NONE,
					    .tail = NONE,
					    .count = 0 };
		fam_insert(e, fi);
	} else if (hoff != SIZE_MAX) {
		e->fam[fi].help = hoff;
	}
	e->lastfam = fi;
	si = e->nsmp++;
	e->nloff += 2 * (size_t)n;
	e->smp[si] = (struct msample){ .fam = fi,
				       .next = NONE,
				       .nlab = n,
				       .lab = lab,
				       .key = key,
				       .keylen = keylen,
				       .value = value };
	smp_insert(e, si);
	if (e->fam[fi].tail == NONE)
		e->fam[fi].head = si;
	else
		e->smp[e->fam[fi].tail].next = si;
	e->fam[fi].tail = si;
	e->fam[fi].count++;
	return;

out_nomem:
	e->slen = mark;
	drop(e, FERRY_METRICS_DROP_NOMEM);
}

/* ---- registry -------------------------------------------------------------------------------- */

struct ferry_metrics *
ferry_metrics_new(void)
{
	struct ferry_metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		goto out_nomem;
	m->e = calloc(1, sizeof(*m->e));
	if (m->e == NULL)
		goto out_free_m;
	m->e->m = m;
	m->e->lastfam = NONE;
	m->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (m->c_locale == (locale_t)0)
		goto out_free_e;
	if (pthread_mutex_init(&m->lock, NULL) != 0)
		goto out_free_locale;
	return m;

out_free_locale:
	freelocale(m->c_locale);
out_free_e:
	free(m->e);
out_free_m:
	free(m);
out_nomem:
	errno = ENOMEM;
	return NULL;
}

void
ferry_metrics_free(struct ferry_metrics *m)
{
	if (m == NULL)
		return;
	ferry_metrics_http_stop(m);
	pthread_mutex_destroy(&m->lock);
	freelocale(m->c_locale);
	emit_free(m->e);
	free(m->src);
	free(m);
}

int
ferry_metrics_add_source(struct ferry_metrics *m, ferry_metrics_source_fn fn, void *arg)
{
	int ret = 0;

	if (m == NULL || fn == NULL)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (!grow(&m->src, &m->capsrc, m->nsrc + 1, sizeof(*m->src)))
		ret = -ENOMEM;
	else
		m->src[m->nsrc++] = (struct ferry_metrics_src){ .fn = fn, .arg = arg };
	pthread_mutex_unlock(&m->lock);
	return ret;
}

uint16_t
ferry_metrics_http_port(const struct ferry_metrics *m)
{
	return m == NULL ? 0 : m->http_port;
}

/*
 * Run the sources into the scratch area, then the registry's own family (its drop counters,
 * this collection's drops included). Called with m->lock held. 0 or -ENOMEM.
 */
static int
collect_locked(struct ferry_metrics *m)
{
	struct ferry_metrics_emit *e = m->e;

	emit_reset(e);
	for (size_t i = 0; i < m->nsrc; i++)
		m->src[i].fn(m->src[i].arg, e);
	for (int r = 0; r < FERRY_METRICS_DROP__MAX; r++) {
		const char *labels[] = { "reason", drop_reason[r], NULL };

		ferry_metrics_emit(e, "ferry_metrics_dropped_total",
				   "samples dropped by the metrics registry, by reason",
				   FERRY_METRIC_COUNTER, (double)m->dropped[r], labels);
	}
	return e->oom ? -ENOMEM : 0;
}

/* ---- renders --------------------------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (n >= SIZE_MAX - b->len - 1 || !grow(&b->p, &b->cap, b->len + n + 1, 1)) {
		b->oom = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/*
 * Shortest of %.15g / %.17g that reads back as v (Prometheus parses Go floats; JSON numbers
 * take the same syntax). Non-finite values: NaN, +Inf, -Inf in Prometheus text, null in JSON.
 * Runs under uselocale("C"), so the decimal point is always '.'.
 */
static void
fmt_value(double v, char *buf, size_t n, bool json)
{
	if (isnan(v)) {
		snprintf(buf, n, "%s", json ? "null" : "NaN");
	} else if (isinf(v)) {
		snprintf(buf, n, "%s", json ? "null" : v > 0 ? "+Inf" : "-Inf");
	} else if (v == 0) {
		snprintf(buf, n, "0"); /* and never "-0" */
	} else {
		snprintf(buf, n, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, n, "%.17g", v);
	}
}

/* # HELP text escaping: backslash and line feed (format 0.0.4). */
static void
sb_put_help(struct sbuf *b, const char *s)
{
	const char *run = s;

	for (const char *c = s; *c; c++) {
		if (*c != '\\' && *c != '\n')
			continue;
		sb_put(b, run, (size_t)(c - run));
		sb_put(b, *c == '\\' ? "\\\\" : "\\n", 2);
		run = c + 1;
	}
	sb_puts(b, run);
}

/* JSON string body escaping (RFC 8259 §7); the input is valid UTF-8, passed through. */
static void
sb_put_json(struct sbuf *b, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_put(b, s + run, i - run);
		switch (c) {
		case '"': snprintf(esc, sizeof(esc), "\\\""); break;
		case '\\': snprintf(esc, sizeof(esc), "\\\\"); break;
		case '\n': snprintf(esc, sizeof(esc), "\\n"); break;
		case '\r': snprintf(esc, sizeof(esc), "\\r"); break;
		case '\t': snprintf(esc, sizeof(esc), "\\t"); break;
		default: snprintf(esc, sizeof(esc), "\\u%04x", c); break;
		}
		sb_puts(b, esc);
		run = i + 1;
	}
	sb_put(b, s + run, n - run);
}

static int
sb_finish(struct sbuf *b, char **out, size_t *len)
{
	if (!b->oom && b->p == NULL) {
		sb_put(b, "", 1); /* an empty, NUL-terminated result */
		b->len = 0;
	}
	if (b->oom) {
		free(b->p);
		return -ENOMEM;
	}
	*out = b->p;
	if (len != NULL)
		*len = b->len;
	return 0;
}

static void
render_prometheus_locked(struct ferry_metrics *m, struct sbuf *b)
{
	const struct ferry_metrics_emit *e = m->e;
	char val[40];

	for (uint32_t f = 0; f < e->nfam; f++) {
		const struct mfam *fam = &e->fam[f];
		const char *name = e->str + fam->name;

		if (e->str[fam->help] != '\0') {
			sb_puts(b, "# HELP ");
			sb_puts(b, name);
			sb_puts(b, " ");
			sb_put_help(b, e->str + fam->help);
			sb_puts(b, "\n");
		}
		sb_puts(b, "# TYPE ");
		sb_puts(b, name);
		sb_puts(b, fam->type == FERRY_METRIC_COUNTER ? " counter\n" : " gauge\n");
		for (uint32_t i = fam->head; i != NONE; i = e->smp[i].next) {
			const struct msample *s = &e->smp[i];

			sb_puts(b, name);
			if (s->keylen > 0) {
				sb_puts(b, "{");
				sb_put(b, e->str + s->key, s->keylen);
				sb_puts(b, "}");
			}
			fmt_value(s->value, val, sizeof(val), false);
			sb_puts(b, " ");
			sb_puts(b, val);
			sb_puts(b, "\n");
		}
	}
}

static void
render_json_locked(struct ferry_metrics *m, struct sbuf *b)
{
	const struct ferry_metrics_emit *e = m->e;
	bool first = true;
	char val[40];

	sb_puts(b, "{");
	for (uint32_t f = 0; f < e->nfam; f++) {
		const char *name = e->str + e->fam[f].name;

		for (uint32_t i = e->fam[f].head; i != NONE; i = e->smp[i].next) {
			const struct msample *s = &e->smp[i];

			sb_puts(b, first ? "\"" : ",\"");
			first = false;
			sb_put_json(b, name, strlen(name));
			if (s->keylen > 0) {
				sb_puts(b, "{");
				sb_put_json(b, e->str + s->key, s->keylen);
				sb_puts(b, "}");
			}
			fmt_value(s->value, val, sizeof(val), true);
			sb_puts(b, "\":");
			sb_puts(b, val);
		}
	}
	sb_puts(b, "}\n");
}

static int
render(struct ferry_metrics *m, bool json, char **out, size_t *len)
{
	struct sbuf b = { 0 };
	locale_t old;
	int ret;

	if (m == NULL || out == NULL)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	old = uselocale(m->c_locale);
	ret = collect_locked(m);
	if (ret == 0) {
		if (json)
			render_json_locked(m, &b);
		else
			render_prometheus_locked(m, &b);
		ret = sb_finish(&b, out, len);
	}
	uselocale(old);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int
ferry_metrics_render_prometheus(struct ferry_metrics *m, char **out, size_t *len)
{
	return render(m, false, out, len);
}

int
ferry_metrics_render_json(struct ferry_metrics *m, char **out, size_t *len)
{
	return render(m, true, out, len);
}

int
ferry_metrics_collect(struct ferry_metrics *m, const char *family, ferry_metrics_visit_fn fn,
		      void *arg)
{
	const char *labels[2 * FERRY_METRICS_MAX_LABELS + 1];
	struct ferry_metrics_emit *e;
	uint32_t f0, f1;
	locale_t old;
	int ret;

	if (m == NULL || fn == NULL)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	old = uselocale(m->c_locale);
	e = m->e;
	ret = collect_locked(m);
	f0 = 0;
	f1 = e->nfam;
	if (family != NULL) {
		f0 = fam_find(e, family);
		f1 = f0 == NONE ? 0 : f0 + 1;
	}
	for (uint32_t f = f0; ret == 0 && f < f1; f++) {
		const struct mfam *fam = &e->fam[f];

		for (uint32_t i = fam->head; ret == 0 && i != NONE; i = e->smp[i].next) {
			const struct msample *s = &e->smp[i];
			struct ferry_metric_sample ms = {
				.name = e->str + fam->name,
				.help = e->str + fam->help,
				.type = fam->type,
				.value = s->value,
				.labels = labels,
				.nlabels = s->nlab,
			};

			for (uint32_t l = 0; l < 2 * s->nlab; l++)
				labels[l] = e->str + e->loff[s->lab + l];
			labels[2 * s->nlab] = NULL;
			ret = fn(arg, &ms);
		}
	}
	uselocale(old);
	pthread_mutex_unlock(&m->lock);
	return ret;
}
