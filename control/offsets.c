/*
 * offsets.c - the offset-sync map behind exact offset translation and resume (DESIGN §4,
 * kafka-wire-facts §6.6). Control thread only; owns its arrays, no I/O (mm2_kafka.c writes
 * and reads the offset-syncs topic, checkpoint.c and ferryctl translate through this).
 *
 * Why not MM2's rule. MM2 writes a sync every ~100 records and translates a group offset g
 * to "the newest sync's downstream, + 1 if g is past it", so a failed-over consumer re-reads
 * up to offset.lag.max records. ferry knows every batch it wrote, including which records
 * policy dropped, so it writes enough syncs to make translation exact:
 *
 *   Per replicated batch, split the records written into runs of consecutive source offsets
 *   (a drop or a compaction gap ends a run). For each run [a, b] written at target offsets
 *   [c, c + b - a] write a START sync (a, c) and, when b > a, an END sync (b, c + b - a).
 *   When the batch's last source offset was not written (trailing drops, or nothing at all
 *   was written), write a DROP sync (src_last, d) whose downstream d repeats the previous
 *   sync's: "everything up to src_last is done; the next record lands after d". A DROP sync
 *   is recognised on reading because its downstream equals the previous one's, which two
 *   written records can never share.
 *
 * Translation of g then needs only the syncs around it. Let x(s) = s.d for a written record
 * and s.d + 1 for a DROP. With s the newest sync at or below g and n the next one:
 *   g == s.u          -> x(s)
 *   otherwise         -> min(x(s) + (g - s.u), x(n))
 *   no n              -> s.d + 1 (and AHEAD when g > s.u + 1: not replicated yet)
 * Inside a run this is the record's own target offset. In a gap (dropped or compacted
 * records, a transaction marker on the target) any target offset in (s.d, n.d] is the same
 * position for a consumer, because ferry is the only writer of the target partition and no
 * data record lies in between; the min() keeps the answer in that interval.
 *
 * Every sync is a normal MM2 OffsetSync record: MM2's own reader still gets correct (merely
 * conservative) answers from ferry's syncs. ferry's reader assumes syncs written by ferry;
 * MM2-written syncs (sparse) would make it interpolate across gaps it cannot see.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "offsets.h"

#define OSYNC_DEFAULT_MAX (1u << 20)

struct osync_entry {
	int64_t u;
	int64_t d;
	bool drop; /* DROP sync: u and the offsets before it down to the previous sync were
		      not written */
};

struct osync_part {
	char *topic;
	int32_t partition;
	struct osync_entry *e;
	size_t n, cap;
};

struct ferry_osync_store {
	struct osync_part *p; /* sorted by (topic, partition) */
	size_t n, cap;
	size_t max_per_part;
};

struct ferry_osync_store *
ferry_osync_store_new(size_t max_per_partition)
{
	struct ferry_osync_store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->max_per_part = max_per_partition >= 4 ? max_per_partition : OSYNC_DEFAULT_MAX;
	return s;
}

void
ferry_osync_store_free(struct ferry_osync_store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->p[i].topic);
		free(s->p[i].e);
	}
	free(s->p);
	free(s);
}

static int
part_cmp(const struct osync_part *p, const char *topic, int32_t partition)
{
	int c = strcmp(p->topic, topic);
	if (c)
		return c;
	return p->partition < partition ? -1 : p->partition > partition;
}

/* Index of the partition, or -(insertion point) - 1. */
static long
part_find(const struct ferry_osync_store *s, const char *topic, int32_t partition)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = part_cmp(&s->p[mid], topic, partition);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static struct osync_part *
part_get(struct ferry_osync_store *s, const char *topic, int32_t partition, bool create)
{
	long i = part_find(s, topic, partition);
	if (i >= 0)
		return &s->p[i];
	if (!create)
		return NULL;
	size_t at = (size_t)(-i - 1);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct osync_part *np = realloc(s->p, cap * sizeof(*np));
		if (np == NULL)
			return NULL;
		s->p = np;
		s->cap = cap;
	}
	char *t = strdup(topic);
	if (t == NULL)
		return NULL;
	memmove(&s->p[at + 1], &s->p[at], (s->n - at) * sizeof(*s->p));
	s->p[at] = (struct osync_part){ .topic = t, .partition = partition };
	s->n++;
	return &s->p[at];
}

/* Last entry with u <= g, or -1. */
static long
entry_floor(const struct osync_part *p, int64_t g)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->e[mid].u <= g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

int
ferry_osync_store_add(struct ferry_osync_store *s, const char *topic, int32_t partition,
		      int64_t upstream, int64_t downstream)
{
	if (upstream < 0 || downstream < 0 || partition < 0)
		return -EINVAL;
	struct osync_part *p = part_get(s, topic, partition, true);
	if (p == NULL)
		return -ENOMEM;
	if (p->n > 0 && upstream <= p->e[p->n - 1].u) {
		/* Source rewound (replication restarted from an older position): what was
		 * synced from 'upstream' on is superseded. */
		p->n = (size_t)(entry_floor(p, upstream - 1) + 1);
	}
	if (p->n > 0 && downstream < p->e[p->n - 1].d)
		p->n = 0; /* target truncated or recreated: the old map means nothing now */
	bool drop = p->n > 0 && downstream == p->e[p->n - 1].d;
	if (drop && p->e[p->n - 1].drop) {
		/* Consecutive DROPs (whole batches denied): one entry covers them all. */
		p->e[p->n - 1].u = upstream;
		return 0;
	}
	if (p->n == p->cap) {
		if (p->cap >= s->max_per_part) {
			/* Keep the newer half: old group offsets become untranslatable
			 * (-ERANGE), as with MM2's bounded OffsetSyncStore. */
			size_t keep = p->n / 2;
			memmove(p->e, p->e + (p->n - keep), keep * sizeof(*p->e));
			p->n = keep;
		} else {
			size_t cap = p->cap ? p->cap * 2 : 64;
			if (cap > s->max_per_part)
				cap = s->max_per_part;
			struct osync_entry *ne = realloc(p->e, cap * sizeof(*ne));
			if (ne == NULL)
				return -ENOMEM;
			p->e = ne;
			p->cap = cap;
		}
	}
	p->e[p->n++] = (struct osync_entry){ upstream, downstream, drop };
	return 0;
}

size_t
ferry_osync_batch_max(const struct ferry_osync_batch *b)
{
	size_t n = b->repl
		       ? b->n_repl
		       : (b->src_last >= b->src_base ? (size_t)(b->src_last - b->src_base + 1) : 0);
	return 2 * (b->repl ? n : (n ? 1 : 0)) + 1;
}

static int
emit(struct ferry_osync_store *s, const struct ferry_osync_batch *b,
     struct ferry_mm2_offset_sync *out, size_t cap, size_t *n, int64_t u, int64_t d)
{
	if (*n >= cap)
		return -ENOSPC;
	int rc = ferry_osync_store_add(s, b->topic, b->partition, u, d);
	if (rc < 0)
		return rc;
	out[(*n)++] = (struct ferry_mm2_offset_sync){
		.topic = { (const uint8_t *)b->topic, strlen(b->topic) },
		.partition = b->partition,
		.upstreamOffset = u,
		.offset = d,
	};
	return 0;
}

int
ferry_osync_from_batch(struct ferry_osync_store *s, const struct ferry_osync_batch *b,
		       struct ferry_mm2_offset_sync *out, size_t cap)
{
	if (b->topic == NULL || b->partition < 0 || b->src_base < 0 || b->src_last < b->src_base)
		return -EINVAL;
	uint32_t n = b->repl ? b->n_repl : (uint32_t)(b->src_last - b->src_base + 1);
	if (b->repl == NULL && (uint64_t)(b->src_last - b->src_base) >= UINT32_MAX)
		return -EINVAL;
	if (n > 0 && b->tgt_base < 0)
		return -EINVAL;
	for (uint32_t i = 0; b->repl && i < n; i++)
		if (b->repl[i] < b->src_base || b->repl[i] > b->src_last ||
		    (i > 0 && b->repl[i] <= b->repl[i - 1]))
			return -EINVAL;

	/* Count first: a batch's syncs go into the store all or none. */
	size_t need = b->repl == NULL ? (n > 1 ? 2 : n) : 0;
	for (uint32_t i = 0; b->repl && i < n; i++) {
		bool starts = i == 0 || b->repl[i] != b->repl[i - 1] + 1;
		bool ends = i == n - 1 || b->repl[i + 1] != b->repl[i] + 1;
		need += starts + (ends && !starts);
	}
	need += 1; /* a possible DROP sync */
	if (need > cap)
		return -ENOSPC;

	size_t k = 0;
	int rc;
	uint32_t i = 0;
	while (i < n) {
		/* A run: consecutive source offsets, consecutive target offsets. */
		uint32_t j = i;
		if (b->repl == NULL)
			j = n - 1;
		else
			while (j + 1 < n && b->repl[j + 1] == b->repl[j] + 1)
				j++;
		int64_t ua = b->repl ? b->repl[i] : b->src_base;
		int64_t ub = b->repl ? b->repl[j] : b->src_last;
		if ((rc = emit(s, b, out, cap, &k, ua, b->tgt_base + i)) < 0)
			return rc;
		if (j > i && (rc = emit(s, b, out, cap, &k, ub, b->tgt_base + j)) < 0)
			return rc;
		i = j + 1;
	}
	int64_t last_written = n ? (b->repl ? b->repl[n - 1] : b->src_last) : -1;
	if (last_written < b->src_last) {
		/* DROP sync: repeat the last downstream so readers see "done up to src_last". */
		int64_t d = -1;
		if (n)
			d = b->tgt_base + n - 1;
		else {
			const struct osync_part *p = part_get(s, b->topic, b->partition, false);
			if (p && p->n)
				d = p->e[p->n - 1].d;
		}
		/* Nothing written yet anywhere: no downstream to repeat. After a restart the
		 * records are fetched and dropped again, which changes nothing. */
		if (d >= 0 && (rc = emit(s, b, out, cap, &k, b->src_last, d)) < 0)
			return rc;
	}
	return (int)k;
}

int
ferry_osync_translate(const struct ferry_osync_store *s, const char *topic, int32_t partition,
		      int64_t upstream, int64_t *downstream, enum ferry_xlate *how)
{
	long pi = part_find(s, topic, partition);
	if (pi < 0 || s->p[pi].n == 0)
		return -ENOENT;
	const struct osync_part *p = &s->p[pi];
	long i = entry_floor(p, upstream);
	if (i < 0)
		return -ERANGE;
	const struct osync_entry *e = &p->e[i];
	int64_t xs = e->d + (e->drop ? 1 : 0);
	*how = FERRY_XLATE_EXACT;
	if (e->u == upstream) {
		*downstream = xs;
		return 0;
	}
	if ((size_t)i + 1 < p->n) {
		const struct osync_entry *nx = &p->e[i + 1];
		int64_t xn = nx->d + (nx->drop ? 1 : 0);
		/* min(xs + (g - s.u), xn) without overflowing on a far-away g */
		*downstream = upstream - e->u >= xn - xs ? xn : xs + (upstream - e->u);
		return 0;
	}
	*downstream = e->d + 1;
	if (upstream > e->u + 1)
		*how = FERRY_XLATE_AHEAD;
	return 0;
}

int64_t
ferry_osync_resume(const struct ferry_osync_store *s, const char *topic, int32_t partition)
{
	long pi = part_find(s, topic, partition);
	if (pi < 0 || s->p[pi].n == 0)
		return -1;
	return s->p[pi].e[s->p[pi].n - 1].u + 1;
}

size_t
ferry_osync_parts(const struct ferry_osync_store *s, struct ferry_osync_part_info *info, size_t cap)
{
	for (size_t i = 0; info && i < s->n && i < cap; i++) {
		const struct osync_part *p = &s->p[i];
		info[i] = (struct ferry_osync_part_info){
			.topic = p->topic,
			.partition = p->partition,
			.n_syncs = p->n,
			.oldest_upstream = p->n ? p->e[0].u : -1,
			.resume = p->n ? p->e[p->n - 1].u + 1 : -1,
			.last_downstream = p->n ? p->e[p->n - 1].d : -1,
		};
	}
	return s->n;
}

int
ferry_osync_reverse(const struct ferry_osync_store *s, const char *topic, int32_t partition,
		    int64_t downstream, int64_t *upstream)
{
	long pi = part_find(s, topic, partition);
	if (pi < 0 || s->p[pi].n == 0)
		return -ENOENT;
	const struct osync_part *p = &s->p[pi];
	/* Last written-record sync at or below 'downstream' (d never decreases, so bisect). */
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->e[mid].d <= downstream)
			lo = mid + 1;
		else
			hi = mid;
	}
	long i = (long)lo - 1;
	while (i >= 0 && p->e[i].drop)
		i--;
	if (i < 0)
		return -ERANGE;
	const struct osync_entry *e = &p->e[i];
	if (e->d == downstream) {
		*upstream = e->u;
		return 0;
	}
	/* The next written-record sync; DROPs in between mean source records no one on the
	 * target ever saw. */
	size_t j = (size_t)i + 1;
	while (j < p->n && p->e[j].drop)
		j++;
	if (j == p->n) {
		/* Past everything written: resume the source where replication stands. */
		*upstream = p->e[p->n - 1].u + 1;
		return 0;
	}
	const struct osync_entry *nx = &p->e[j];
	int64_t guess = e->u + (downstream - e->d);
	*upstream = guess < nx->u ? guess : nx->u;
	return 0;
}

int
ferry_osync_dropped(const struct ferry_osync_store *s, const char *topic, int32_t partition,
		    int64_t *dropped, int64_t *first_upstream)
{
	long pi = part_find(s, topic, partition);
	if (pi < 0 || s->p[pi].n == 0)
		return -ENOENT;
	const struct osync_part *p = &s->p[pi];
	int64_t n = 0;
	/* The rules are in offsets.h; why they hold is in the header comment of this file
	 * (how ferry_osync_from_batch() lays syncs out). */
	for (size_t i = 1; i < p->n; i++) {
		const struct osync_entry *a = &p->e[i - 1], *b = &p->e[i];
		int64_t du = b->u - a->u, dd = b->d - a->d;
		if (b->drop)
			n += du;
		else if (a->drop || du != dd)
			n += du - 1;
	}
	*dropped = n;
	if (first_upstream)
		*first_upstream = p->e[0].u;
	return 0;
}
