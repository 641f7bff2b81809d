/*
 * impair.c - ferry-wanem's link model (see impair.h): option parsing, the seeded PRNG
 * streams, and the three stages a packet crosses in one direction -- classify (outage,
 * loss, bursts, duplication, corruption), enqueue (delay-line limit, bottleneck rate and
 * tail drop, delay, jitter, reordering) and dequeue (release in time order, outage at
 * egress).
 *
 * Pure C on packet metadata and nanoseconds; runs in the thread that owns the direction.
 * Owns the delay line's two arrays (allocated once in ferry_wanem_dir_init()).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "impair.h"

const char *const ferry_wanem_drop_names[FERRY_WANEM_DROP_MAX] = {
	[FERRY_WANEM_PASS] = "pass",
#define FERRY_WANEM_DROP_NAME(id, name, help) [FERRY_WANEM_DROP_##id] = name,
	FERRY_WANEM_FOREACH_DROP(FERRY_WANEM_DROP_NAME)
#undef FERRY_WANEM_DROP_NAME
};

/* ---- PRNG ---------------------------------------------------------------------------- */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
ferry_wanem_rng_seed(struct ferry_wanem_rng *rng, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
ferry_wanem_rng_next(struct ferry_wanem_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
ferry_wanem_rng_unit(struct ferry_wanem_rng *rng)
{
	/* the top 53 bits: every double in [0, 1) with that spacing is equally likely */
	return (double)(ferry_wanem_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* ---- Option parsing ------------------------------------------------------------------ */

/* strtod that must consume something and leaves *end at the unit. */
static int
parse_number(const char *s, double *v, const char **end, char *err, size_t errlen)
{
	char *e;
	errno = 0;
	*v = strtod(s, &e);
	if (e == s || errno != 0 || !isfinite(*v) || *v < 0) {
		snprintf(err, errlen, "'%s': expected a non-negative number", s);
		return -EINVAL;
	}
	*end = e;
	return 0;
}

int
ferry_wanem_parse_duration(const char *s, uint64_t *ns, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 } };
	double v;
	const char *u;
	if (parse_number(s, &v, &u, err, errlen) != 0)
		return -EINVAL;
	if (*u == '\0' && v == 0) {
		*ns = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(u, units[i].unit) == 0) {
			double x = v * units[i].mult;
			if (x > 1e18) {
				snprintf(err, errlen, "'%s': duration too long", s);
				return -EINVAL;
			}
			*ns = (uint64_t)llround(x);
			return 0;
		}
	}
	snprintf(err, errlen, "'%s': expected a duration with a unit (ns, us, ms, s)", s);
	return -EINVAL;
}

int
ferry_wanem_parse_percent(const char *s, double *p, char *err, size_t errlen)
{
	double v;
	const char *u;
	if (parse_number(s, &v, &u, err, errlen) != 0)
		return -EINVAL;
	if (*u == '\0' && v == 0) {
		*p = 0;
		return 0;
	}
	if (strcmp(u, "%") != 0 || v > 100) {
		snprintf(err, errlen, "'%s': expected a percentage from 0%% to 100%%", s);
		return -EINVAL;
	}
	*p = v / 100.0;
	return 0;
}

int
ferry_wanem_parse_rate(const char *s, uint64_t *bps, char *err, size_t errlen)
{
	/* tc's units (tc(8) "RATES"): ...bit are bits per second, ...bps bytes per second */
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{ "bit", 1 },	 { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 }, { "tbit", 1e12 },
		{ "bps", 8 },	 { "kbps", 8e3 }, { "mbps", 8e6 }, { "gbps", 8e9 },
	};
	double v;
	const char *u;
	if (parse_number(s, &v, &u, err, errlen) != 0)
		return -EINVAL;
	if (*u == '\0' && v == 0) {
		*bps = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(u, units[i].unit) == 0) {
			double x = v * units[i].mult;
			if (x < 1 || x > 1e13) {
				snprintf(err, errlen, "'%s': rate out of range (1bit..10tbit)", s);
				return -EINVAL;
			}
			*bps = (uint64_t)llround(x);
			return 0;
		}
	}
	snprintf(err, errlen, "'%s': expected a rate such as 100mbit, 1gbit or 125mbps", s);
	return -EINVAL;
}

int
ferry_wanem_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	/* tc(8) "SIZES": k/kb = 1024 bytes; the IEC spellings mean the same */
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{ "", 1 },	     { "b", 1 },	{ "k", 1024 },	     { "kb", 1024 },
		{ "kib", 1024 },     { "m", 1048576 },	{ "mb", 1048576 },   { "mib", 1048576 },
		{ "g", 1073741824 }, { "gb", 1073741824 }, { "gib", 1073741824 },
	};
	double v;
	const char *u;
	if (parse_number(s, &v, &u, err, errlen) != 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(u, units[i].unit) == 0) {
			double x = v * units[i].mult;
			if (x > 1e15) {
				snprintf(err, errlen, "'%s': size too large", s);
				return -EINVAL;
			}
			*bytes = (uint64_t)llround(x);
			return 0;
		}
	}
	snprintf(err, errlen, "'%s': expected a size such as 1500, 64k or 4MB", s);
	return -EINVAL;
}

/* Copies s[0..n) into a bounded buffer for the sub-parsers. */
static int
part(char *dst, size_t cap, const char *s, size_t n, const char *whole, char *err, size_t errlen)
{
	if (n == 0 || n >= cap) {
		snprintf(err, errlen, "'%s': malformed", whole);
		return -EINVAL;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

int
ferry_wanem_parse_outage(const char *s, struct ferry_wanem_outage *o, char *err, size_t errlen)
{
	char a[64], b[64], c[64];
	const char *plus = strchr(s, '+');
	if (plus == NULL) {
		snprintf(err, errlen, "'%s': expected START+LEN[/PERIOD], e.g. 10s+5s", s);
		return -EINVAL;
	}
	const char *slash = strchr(plus, '/');
	size_t blen = slash ? (size_t)(slash - plus - 1) : strlen(plus + 1);
	if (part(a, sizeof(a), s, (size_t)(plus - s), s, err, errlen) != 0 ||
	    part(b, sizeof(b), plus + 1, blen, s, err, errlen) != 0)
		return -EINVAL;
	o->period_ns = 0;
	if (ferry_wanem_parse_duration(a, &o->start_ns, err, errlen) != 0 ||
	    ferry_wanem_parse_duration(b, &o->len_ns, err, errlen) != 0)
		return -EINVAL;
	if (slash != NULL) {
		if (part(c, sizeof(c), slash + 1, strlen(slash + 1), s, err, errlen) != 0 ||
		    ferry_wanem_parse_duration(c, &o->period_ns, err, errlen) != 0)
			return -EINVAL;
		if (o->period_ns <= o->len_ns) {
			snprintf(err, errlen, "'%s': the period must be longer than the outage", s);
			return -EINVAL;
		}
	}
	if (o->len_ns == 0) {
		snprintf(err, errlen, "'%s': an outage needs a length", s);
		return -EINVAL;
	}
	return 0;
}

int
ferry_wanem_parse_ge(const char *s, struct ferry_wanem_ge *ge, char *err, size_t errlen)
{
	char buf[256];
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "--ge: too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	struct ferry_wanem_ge g = { .p = -1, .r = -1, .h = 0, .k = 1 };
	int idx = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), idx++) {
		char *eq = strchr(tok, '=');
		double v;
		const char *val = eq ? eq + 1 : tok;
		if (ferry_wanem_parse_percent(val, &v, err, errlen) != 0)
			return -EINVAL;
		if (eq == NULL) {
			double *pos[] = { &g.p, &g.r, &g.h, &g.k };
			if (idx >= 4) {
				snprintf(err, errlen, "--ge '%s': at most 4 values P,R,H,K", s);
				return -EINVAL;
			}
			*pos[idx] = v;
			continue;
		}
		*eq = '\0';
		if (strcmp(tok, "p") == 0) {
			g.p = v;
		} else if (strcmp(tok, "r") == 0) {
			g.r = v;
		} else if (strcmp(tok, "h") == 0) {
			g.h = v;
		} else if (strcmp(tok, "k") == 0) {
			g.k = v;
		} else if (strcmp(tok, "loss-bad") == 0) {
			g.h = 1 - v;
		} else if (strcmp(tok, "loss-good") == 0) {
			g.k = 1 - v;
		} else {
			snprintf(err, errlen,
				 "--ge: unknown key '%s' (p, r, h, k, loss-bad, loss-good)", tok);
			return -EINVAL;
		}
	}
	if (g.p < 0 || g.r <= 0) {
		snprintf(err, errlen, "--ge '%s': needs p >= 0 and r > 0 (P,R[,H[,K]])", s);
		return -EINVAL;
	}
	*ge = g;
	return 0;
}

int
ferry_wanem_parse_reorder(const char *s, double *p, uint64_t *extra_ns, char *err,
			  size_t errlen)
{
	char a[64];
	const char *comma = strchr(s, ',');
	*extra_ns = 1000000; /* 1 ms: a few packets' worth at WAN rates */
	if (comma == NULL)
		return ferry_wanem_parse_percent(s, p, err, errlen);
	if (part(a, sizeof(a), s, (size_t)(comma - s), s, err, errlen) != 0 ||
	    ferry_wanem_parse_percent(a, p, err, errlen) != 0 ||
	    ferry_wanem_parse_duration(comma + 1, extra_ns, err, errlen) != 0)
		return -EINVAL;
	return 0;
}

/* ---- The direction ------------------------------------------------------------------- */

static bool
prob_ok(double p)
{
	return p >= 0 && p <= 1;
}

int
ferry_wanem_dir_init(struct ferry_wanem_dir *d, const struct ferry_wanem_dir_conf *conf,
		     uint64_t seed, unsigned int dir_id, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (!prob_ok(conf->loss) || !prob_ok(conf->dup) || !prob_ok(conf->corrupt) ||
	    !prob_ok(conf->reorder) ||
	    (conf->ge_on && (!prob_ok(conf->ge.p) || !prob_ok(conf->ge.r) ||
			     !prob_ok(conf->ge.h) || !prob_ok(conf->ge.k)))) {
		snprintf(err, errlen, "probabilities must lie in [0, 1]");
		return -EINVAL;
	}
	if (conf->n_outages > FERRY_WANEM_MAX_OUTAGES) {
		snprintf(err, errlen, "at most %d outages", FERRY_WANEM_MAX_OUTAGES);
		return -EINVAL;
	}
	d->conf = *conf;
	d->limit = conf->limit ? conf->limit : FERRY_WANEM_DEFAULT_LIMIT;
	if (d->limit > (1u << 24)) {
		snprintf(err, errlen, "--limit: at most %u packets", 1u << 24);
		return -EINVAL;
	}
	d->queue_bytes = conf->queue_bytes;
	if (d->queue_bytes == 0 && conf->rate_bps != 0) {
		/* 100 ms at the bottleneck rate, and never less than a few jumbo frames */
		d->queue_bytes = conf->rate_bps / 80;
		if (d->queue_bytes < 64 * 1024)
			d->queue_bytes = 64 * 1024;
	}
	uint32_t cap = 1;
	while (cap < d->limit)
		cap <<= 1;
	d->fifo = calloc(cap, sizeof(*d->fifo));
	if (d->fifo == NULL)
		goto out_nomem;
	d->heap = calloc(d->limit, sizeof(*d->heap));
	if (d->heap == NULL)
		goto out_free_fifo;
	d->fifo_mask = cap - 1;
	/* One stream per impairment, each from its own (seed, direction, stream) so turning
	 * one impairment on does not change another's pattern. */
	for (unsigned int i = 0; i < FERRY_WANEM_RNG_MAX; i++)
		ferry_wanem_rng_seed(&d->rng[i],
				     seed ^ (UINT64_C(0x5157) * (dir_id + 1) << 32) ^ (i + 1));
	return 0;

out_free_fifo:
	free(d->fifo);
	d->fifo = NULL;
out_nomem:
	snprintf(err, errlen, "no memory for a %u-packet delay line", d->limit);
	return -ENOMEM;
}

void
ferry_wanem_dir_fini(struct ferry_wanem_dir *d)
{
	free(d->heap);
	free(d->fifo);
	d->heap = NULL;
	d->fifo = NULL;
}

bool
ferry_wanem_in_outage(const struct ferry_wanem_dir_conf *conf, uint64_t t_ns)
{
	for (uint32_t i = 0; i < conf->n_outages; i++) {
		const struct ferry_wanem_outage *o = &conf->outages[i];
		if (t_ns < o->start_ns)
			continue;
		uint64_t into = t_ns - o->start_ns;
		if (o->period_ns != 0)
			into %= o->period_ns;
		if (into < o->len_ns)
			return true;
	}
	return false;
}

void
ferry_wanem_dir_count_drop(struct ferry_wanem_dir *d, enum ferry_wanem_drop why)
{
	d->st.drop[why]++;
	d->st.dropped++;
}

void
ferry_wanem_dir_classify(struct ferry_wanem_dir *d, uint64_t now_ns, uint32_t len,
			 struct ferry_wanem_verdict *v)
{
	const struct ferry_wanem_dir_conf *c = &d->conf;
	d->st.rx_pkts++;
	d->st.rx_bytes += len;

	bool lost = c->loss > 0 && ferry_wanem_rng_unit(&d->rng[FERRY_WANEM_RNG_LOSS]) < c->loss;
	bool burst = false;
	if (c->ge_on) {
		/* the packet's fate in the current state, then the state's next step */
		struct ferry_wanem_rng *g = &d->rng[FERRY_WANEM_RNG_GE];
		double u = ferry_wanem_rng_unit(g);
		burst = d->ge_bad ? u >= c->ge.h : u >= c->ge.k;
		u = ferry_wanem_rng_unit(g);
		if (d->ge_bad ? u < c->ge.r : u < c->ge.p)
			d->ge_bad = !d->ge_bad;
	}
	v->dup = c->dup > 0 && ferry_wanem_rng_unit(&d->rng[FERRY_WANEM_RNG_DUP]) < c->dup;
	v->corrupt = false;
	v->corrupt_draw = 0;
	if (c->corrupt > 0) {
		struct ferry_wanem_rng *r = &d->rng[FERRY_WANEM_RNG_CORRUPT];
		v->corrupt = ferry_wanem_rng_unit(r) < c->corrupt;
		v->corrupt_draw = ferry_wanem_rng_next(r);
	}

	v->drop = FERRY_WANEM_PASS;
	if (c->n_outages != 0 && ferry_wanem_in_outage(c, now_ns))
		v->drop = FERRY_WANEM_DROP_OUTAGE;
	else if (lost)
		v->drop = FERRY_WANEM_DROP_LOSS;
	else if (burst)
		v->drop = FERRY_WANEM_DROP_BURST;
	if (v->drop != FERRY_WANEM_PASS) {
		ferry_wanem_dir_count_drop(d, v->drop);
		v->dup = false;
		v->corrupt = false;
		return;
	}
	if (v->dup)
		d->st.duplicated++;
	if (v->corrupt)
		d->st.corrupted++;
}

uint64_t
ferry_wanem_dir_backlog(const struct ferry_wanem_dir *d, uint64_t now_ns)
{
	if (d->conf.rate_bps == 0 || d->link_free_ns <= now_ns)
		return 0;
	/* double: (ns x bits/s) overflows 64 bits past ~1.8 s at 10 Gb/s */
	return (uint64_t)ceil((double)(d->link_free_ns - now_ns) * (double)d->conf.rate_bps / 8e9);
}

/* (release, seq) order */
static inline bool
slot_before(const struct ferry_wanem_slot *a, const struct ferry_wanem_slot *b)
{
	return a->release_ns < b->release_ns || (a->release_ns == b->release_ns && a->seq < b->seq);
}

static void
heap_push(struct ferry_wanem_dir *d, const struct ferry_wanem_slot *s)
{
	uint32_t i = d->heap_n++;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!slot_before(s, &d->heap[parent]))
			break;
		d->heap[i] = d->heap[parent];
		i = parent;
	}
	d->heap[i] = *s;
}

static void
heap_pop(struct ferry_wanem_dir *d)
{
	struct ferry_wanem_slot last = d->heap[--d->heap_n];
	uint32_t i = 0, n = d->heap_n;
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;
		const struct ferry_wanem_slot *best = &last;
		if (l < n && slot_before(&d->heap[l], best)) {
			m = l;
			best = &d->heap[l];
		}
		if (l + 1 < n && slot_before(&d->heap[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		d->heap[i] = d->heap[m];
		i = m;
	}
	if (n > 0)
		d->heap[i] = last;
}

static int64_t
jitter_sample(struct ferry_wanem_dir *d)
{
	const struct ferry_wanem_dir_conf *c = &d->conf;
	struct ferry_wanem_rng *r = &d->rng[FERRY_WANEM_RNG_JITTER];
	double j = (double)c->jitter_ns;
	if (c->jitter_dist == FERRY_WANEM_JITTER_NORMAL) {
		/* Box-Muller; always two draws so the stream stays aligned */
		double u1 = ferry_wanem_rng_unit(r), u2 = ferry_wanem_rng_unit(r);
		double z = sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
		if (z > 4)
			z = 4;
		if (z < -4)
			z = -4;
		return (int64_t)llround(z * j);
	}
	return (int64_t)llround((2.0 * ferry_wanem_rng_unit(r) - 1.0) * j);
}

enum ferry_wanem_drop
ferry_wanem_dir_enqueue(struct ferry_wanem_dir *d, uint64_t now_ns, void *pkt, uint32_t len)
{
	const struct ferry_wanem_dir_conf *c = &d->conf;
	/* draw first: a drop below must not shift the jitter/reorder patterns */
	int64_t jit = c->jitter_ns ? jitter_sample(d) : 0;
	bool held_back = c->reorder_on && c->reorder > 0 &&
			 ferry_wanem_rng_unit(&d->rng[FERRY_WANEM_RNG_REORDER]) < c->reorder;

	if (d->held >= d->limit) {
		ferry_wanem_dir_count_drop(d, FERRY_WANEM_DROP_LIMIT);
		return FERRY_WANEM_DROP_LIMIT;
	}
	uint64_t dep = now_ns;
	if (c->rate_bps != 0) {
		uint64_t wire = (uint64_t)len + c->overhead;
		if (ferry_wanem_dir_backlog(d, now_ns) + wire > d->queue_bytes) {
			ferry_wanem_dir_count_drop(d, FERRY_WANEM_DROP_QUEUE);
			return FERRY_WANEM_DROP_QUEUE;
		}
		uint64_t start = d->link_free_ns > now_ns ? d->link_free_ns : now_ns;
		/* serialisation time = wire * 8 / rate seconds, carried exactly */
		uint64_t num = wire * 8 * FERRY_WANEM_NS + d->link_rem;
		d->link_free_ns = start + num / c->rate_bps;
		d->link_rem = num % c->rate_bps;
		dep = d->link_free_ns;
	}
	int64_t lat = (int64_t)c->delay_ns + jit;
	uint64_t release = dep + (lat > 0 ? (uint64_t)lat : 0);
	if (held_back) {
		release += c->reorder_ns;
		d->st.reordered++;
	}
	struct ferry_wanem_slot s = { .seq = d->seq++, .pkt = pkt, .len = len };
	if (!c->reorder_on && release < d->last_release_ns)
		release = d->last_release_ns; /* FIFO: jitter alone never reorders */
	s.release_ns = release;
	if (!held_back && release >= d->last_release_ns) {
		d->fifo[d->fifo_tail++ & d->fifo_mask] = s;
		d->last_release_ns = release;
	} else {
		heap_push(d, &s);
	}
	d->held++;
	d->held_bytes += len;
	return FERRY_WANEM_PASS;
}

uint64_t
ferry_wanem_dir_next_release(const struct ferry_wanem_dir *d)
{
	uint64_t t = UINT64_MAX;
	if (d->fifo_head != d->fifo_tail)
		t = d->fifo[d->fifo_head & d->fifo_mask].release_ns;
	if (d->heap_n != 0 && d->heap[0].release_ns < t)
		t = d->heap[0].release_ns;
	return t;
}

uint32_t
ferry_wanem_dir_dequeue(struct ferry_wanem_dir *d, uint64_t now_ns, void **pkts,
			enum ferry_wanem_drop *verdict, uint32_t n)
{
	uint32_t i = 0;
	while (i < n) {
		const struct ferry_wanem_slot *f = NULL;
		if (d->fifo_head != d->fifo_tail)
			f = &d->fifo[d->fifo_head & d->fifo_mask];
		bool from_heap = d->heap_n != 0 && (f == NULL || slot_before(&d->heap[0], f));
		const struct ferry_wanem_slot *s = from_heap ? &d->heap[0] : f;
		if (s == NULL || s->release_ns > now_ns)
			break;
		pkts[i] = s->pkt;
		d->held--;
		d->held_bytes -= s->len;
		/* in-flight packets die with the link too: nothing is delivered in a window */
		if (d->conf.n_outages != 0 && ferry_wanem_in_outage(&d->conf, s->release_ns)) {
			verdict[i] = FERRY_WANEM_DROP_OUTAGE;
			ferry_wanem_dir_count_drop(d, FERRY_WANEM_DROP_OUTAGE);
		} else {
			verdict[i] = FERRY_WANEM_PASS;
		}
		if (from_heap)
			heap_pop(d);
		else
			d->fifo_head++;
		i++;
	}
	return i;
}

/* ---- Corruption ---------------------------------------------------------------------- */

uint64_t
ferry_wanem_corrupt_pick(const uint8_t *hdr, uint32_t caplen, uint32_t len, uint64_t draw)
{
	if (len == 0)
		return UINT64_MAX;
	uint32_t lim = caplen < len ? caplen : len;
	uint32_t off = 14, payload = 0;
	if (lim >= 14) {
		uint16_t et = (uint16_t)(hdr[12] << 8 | hdr[13]);
		/* up to two VLAN tags (802.1Q / 802.1ad) */
		for (int tags = 0; tags < 2 && (et == 0x8100 || et == 0x88a8) && off + 4 <= lim;
		     tags++) {
			et = (uint16_t)(hdr[off + 2] << 8 | hdr[off + 3]);
			off += 4;
		}
		uint32_t l4 = 0;
		uint8_t proto = 0;
		if (et == 0x0800 && off + 20 <= lim && (hdr[off] >> 4) == 4) {
			l4 = off + (uint32_t)(hdr[off] & 0xf) * 4;
			proto = hdr[off + 9];
		} else if (et == 0x86dd && off + 40 <= lim && (hdr[off] >> 4) == 6) {
			l4 = off + 40;
			proto = hdr[off + 6];
		}
		if (proto == 17 && l4 + 8 <= lim)
			payload = l4 + 8;
		else if (proto == 6 && l4 + 20 <= lim)
			payload = l4 + (uint32_t)(hdr[l4 + 12] >> 4) * 4;
		else if (l4 != 0)
			payload = l4;
	}
	if (payload != 0 && payload < len)
		off = payload;
	else if (off >= len)
		off = 0;
	return (uint64_t)off * 8 + draw % ((uint64_t)(len - off) * 8);
}
