/*
 * log.c - ferry-brokersim's data: topics and partitions, the source replay
 * (a batches file turned into a log of any length), the sink append path
 * (batch validation, idempotent sequence rules, offset assignment, optional
 * store under a memory cap), group offsets, and two small containers (a hash
 * map and a per-request region allocator).
 *
 * Main thread only (@locality main thread). This file owns every topic,
 * source buffer, stored chunk, producer state and group commit; the
 * ferry_sim_*_free() functions release them at exit.
 *
 * Broker rules implemented here: kafka-wire-facts.md §3.5 (what a broker
 * validates on Produce), §3.6 (what it rewrites on append: BaseOffset and
 * PartitionLeaderEpoch, both outside the CRC), §5.2 (sequence rules), §2.2
 * (Fetch returns whole batches starting with the one holding FetchOffset).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brokersim.h"

/* ---- hash map ------------------------------------------------------------------------------ */

static uint64_t
fnv1a(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

#define FNV_SEED UINT64_C(14695981039346656037)

void *
ferry_sim_map_get(const struct ferry_sim_map *m, const void *key, size_t klen)
{
	uint64_t h;

	if (m->cap == 0)
		return NULL;
	h = fnv1a(key, klen, FNV_SEED);
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct ferry_sim_map_ent *e = &m->ents[i];
		if (e->key == NULL)
			return NULL;
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e->val;
	}
}

static void
map_place(struct ferry_sim_map_ent *ents, size_t cap, const struct ferry_sim_map_ent *e)
{
	size_t i = e->hash & (cap - 1);

	while (ents[i].key != NULL)
		i = (i + 1) & (cap - 1);
	ents[i] = *e;
}

int
ferry_sim_map_put(struct ferry_sim_map *m, const void *key, size_t klen, void *val,
		  const uint8_t **stored)
{
	struct ferry_sim_map_ent e;

	/* Keep the load under one half so probes stay short. */
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 16;
		struct ferry_sim_map_ent *n = calloc(ncap, sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++)
			if (m->ents[i].key != NULL)
				map_place(n, ncap, &m->ents[i]);
		free(m->ents);
		m->ents = n;
		m->cap = ncap;
	}
	e.hash = fnv1a(key, klen, FNV_SEED);
	e.key = malloc(klen ? klen : 1); /* never NULL: NULL marks an empty slot */
	if (e.key == NULL)
		return -ENOMEM;
	if (klen)
		memcpy(e.key, key, klen);
	e.klen = klen;
	e.val = val;
	map_place(m->ents, m->cap, &e);
	m->n++;
	if (stored)
		*stored = e.key;
	return 0;
}

void
ferry_sim_map_free(struct ferry_sim_map *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->ents[i].key == NULL)
			continue;
		if (free_val)
			free_val(m->ents[i].val);
		free(m->ents[i].key);
	}
	free(m->ents);
	memset(m, 0, sizeof(*m));
}

/* ---- region -------------------------------------------------------------------------------- */

#define REGION_BLK ((size_t)1 << 20)

void *
ferry_sim_ralloc_raw(struct ferry_sim_region *r, size_t bytes)
{
	struct ferry_sim_region_blk *b = r->head;
	void *p;

	if (bytes > SIZE_MAX - 16)
		return NULL;
	bytes = (bytes + 15) & ~(size_t)15;
	if (b == NULL || b->cap - b->used < bytes) {
		size_t cap = bytes > REGION_BLK ? bytes : REGION_BLK;
		if (cap > SIZE_MAX - sizeof(*b))
			return NULL;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = r->head;
		r->head = b;
	}
	p = (uint8_t *)(b + 1) + b->used;
	b->used += bytes;
	return p;
}

void *
ferry_sim_ralloc(struct ferry_sim_region *r, size_t n, size_t sz)
{
	void *p;

	if (sz && n > SIZE_MAX / sz)
		return NULL;
	p = ferry_sim_ralloc_raw(r, n * sz);
	if (p != NULL && n * sz != 0)
		memset(p, 0, n * sz);
	return p;
}

void
ferry_sim_region_reset(struct ferry_sim_region *r)
{
	struct ferry_sim_region_blk *keep = NULL, *b = r->head, *next;

	/* Keep one default-size block; big one-off blocks (fetch copies) go back. */
	for (; b != NULL; b = next) {
		next = b->next;
		if (keep == NULL && b->cap == REGION_BLK) {
			keep = b;
			keep->used = 0;
			keep->next = NULL;
		} else {
			free(b);
		}
	}
	r->head = keep;
}

void
ferry_sim_region_free(struct ferry_sim_region *r)
{
	ferry_sim_region_reset(r);
	free(r->head);
	r->head = NULL;
}

/* ---- source: a batches file replayed as a log ---------------------------------------------- */

static int
read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct stat stt;
	uint8_t *b;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &stt) < 0 || !S_ISREG(stt.st_mode) || stt.st_size <= 0) {
		snprintf(err, errlen, "%s: not a non-empty regular file", path);
		rc = -EINVAL;
		goto out_close;
	}
	b = malloc((size_t)stt.st_size);
	if (b == NULL) {
		snprintf(err, errlen, "%s: %lld bytes: out of memory", path,
			 (long long)stt.st_size);
		rc = -ENOMEM;
		goto out_close;
	}
	while (got < (size_t)stt.st_size) {
		ssize_t r = read(fd, b + got, (size_t)stt.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			snprintf(err, errlen, "%s: read: %s", path,
				 r < 0 ? strerror(errno) : "short");
			goto out_free_buf;
		}
		got += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = got;
	return 0;

out_free_buf:
	free(b);
out_close:
	close(fd);
	return rc;
}

struct ferry_sim_source *
ferry_sim_source_load(const char *path, char *err, size_t errlen)
{
	struct ferry_sim_source *src;
	size_t off = 0, cap = 0;
	int rc;

	src = calloc(1, sizeof(*src));
	if (src == NULL)
		goto out_nomem;
	src->path = strdup(path);
	if (src->path == NULL)
		goto out_free_src;
	if (read_file(path, &src->buf, &src->len, err, errlen) < 0)
		goto out_free_src;

	while (off < src->len) {
		struct ferry_kafka_batch b;
		size_t used;

		rc = ferry_kafka_batch_parse(ferry_span_make(src->buf + off, src->len - off), &b,
					     &used);
		if (rc == 0)
			rc = ferry_kafka_batch_validate(&b);
		if (rc < 0) {
			snprintf(err, errlen, "%s: batch %u at byte %zu: %s", path, src->n_batches,
				 off,
				 rc == FERRY_ERR__PARTIAL ? "cut short by the end of the file"
							  : ferry_err_desc(rc));
			goto out_free_arrays;
		}
		if (src->n_batches + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 64;
			size_t *nb = realloc(src->boff, ncap * sizeof(*nb));
			if (nb == NULL)
				goto out_nomem_arrays;
			src->boff = nb;
			int64_t *nf = realloc(src->first, ncap * sizeof(*nf));
			if (nf == NULL)
				goto out_nomem_arrays;
			src->first = nf;
			int32_t *nc = realloc(src->count, ncap * sizeof(*nc));
			if (nc == NULL)
				goto out_nomem_arrays;
			src->count = nc;
			cap = ncap;
		}
		src->boff[src->n_batches] = off;
		src->first[src->n_batches] = src->span;
		src->count[src->n_batches] = b.hdr.RecordsCount;
		src->span += (int64_t)b.hdr.LastOffsetDelta + 1;
		src->records += b.hdr.RecordsCount;
		src->n_batches++;
		off += used;
	}
	src->boff[src->n_batches] = src->len;
	src->first[src->n_batches] = src->span;
	src->pin_gen = calloc(src->n_batches, sizeof(*src->pin_gen));
	if (src->pin_gen == NULL)
		goto out_nomem_arrays;

	/* A broker stamps its leader epoch on append (§3.6); Metadata says epoch 0.
	 * PartitionLeaderEpoch is outside the CRC: no CRC pass. */
	for (uint32_t i = 0; i < src->n_batches; i++) {
		struct ferry_kafka_batch_rewrite rw = { .set = FERRY_KAFKA_RW_LEADER_EPOCH };
		ferry_kafka_batch_rewrite(src->buf + src->boff[i], src->boff[i + 1] - src->boff[i],
					  &rw);
	}
	return src;

out_nomem_arrays:
	snprintf(err, errlen, "%s: out of memory", path);
out_free_arrays:
	free(src->boff);
	free(src->first);
	free(src->count);
	free(src->buf);
out_free_src:
	free(src->path);
	free(src);
	return NULL;
out_nomem:
	snprintf(err, errlen, "%s: out of memory", path);
	return NULL;
}

void
ferry_sim_source_free(struct ferry_sim_source *src)
{
	if (src == NULL)
		return;
	free(src->pin_gen);
	free(src->boff);
	free(src->first);
	free(src->count);
	free(src->buf);
	free(src->path);
	free(src);
}

/* Largest i with first[i] <= w (w inside one cycle). */
static uint32_t
source_batch_at(const struct ferry_sim_source *src, int64_t w)
{
	uint32_t lo = 0, hi = src->n_batches; /* first[lo] <= w < first[hi] */

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (src->first[mid] <= w)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* End of a source partition: the first batch boundary at or after 'want' records. */
static int64_t
source_end(const struct ferry_sim_source *src, int64_t want)
{
	int64_t cycles, rem;
	uint32_t i;

	if (want <= 0)
		return src->span;
	if (want > FERRY_SIM_UNBOUNDED)
		want = FERRY_SIM_UNBOUNDED;
	cycles = want / src->span;
	rem = want % src->span;
	if (rem == 0)
		return want;
	i = source_batch_at(src, rem);
	if (src->first[i] < rem)
		i++;
	return cycles * src->span + src->first[i];
}

static const uint8_t empty_records[1];

static int
source_read(struct ferry_sim *sim, struct ferry_sim_part *p, int64_t offset, int64_t limit,
	    bool min_one, struct ferry_span *out)
{
	struct ferry_sim_source *src = p->topic->src;
	int64_t cycle = offset / src->span, cbase = cycle * src->span;
	uint32_t i = source_batch_at(src, offset - cbase), j = i;
	size_t bytes = 0;
	int64_t records = 0;
	bool conflict = false;
	uint8_t *dst;

	/* Whole batches from the one holding FetchOffset (§2.2), stopping at the end of
	 * the file's cycle like a broker stops at a segment end. */
	while (j < src->n_batches && cbase + src->first[j] < p->end) {
		size_t blen = src->boff[j + 1] - src->boff[j];
		if ((int64_t)(bytes + blen) > limit && !(j == i && min_one))
			break;
		bytes += blen;
		records += src->count[j];
		j++;
	}
	if (j == i)
		return 0;

	/* Serve from the file buffer itself after writing each batch's BaseOffset into
	 * it - unless another partition of this same response already pinned one of
	 * these batches at a different offset (two cycles in one response): copy then. */
	for (uint32_t k = i; k < j && !conflict; k++)
		conflict = src->pin_gen[k] == sim->fetch_gen &&
			   (int64_t)ferry_be64(src->buf + src->boff[k]) != cbase + src->first[k];
	if (!conflict) {
		dst = src->buf + src->boff[i];
		for (uint32_t k = i; k < j; k++)
			src->pin_gen[k] = sim->fetch_gen;
	} else {
		dst = ferry_sim_ralloc_raw(&sim->region, bytes);
		if (dst == NULL)
			return -ENOMEM;
		memcpy(dst, src->buf + src->boff[i], bytes);
		sim->st[FERRY_SIM_ST_FETCH_COPIES]++;
	}
	for (uint32_t k = i; k < j; k++) {
		/* BaseOffset is outside the CRC: the rewrite skips the CRC pass. */
		struct ferry_kafka_batch_rewrite rw = { .set = FERRY_KAFKA_RW_BASE_OFFSET,
							.BaseOffset = cbase + src->first[k] };
		ferry_kafka_batch_rewrite(dst + (src->boff[k] - src->boff[i]),
					  src->boff[k + 1] - src->boff[k], &rw);
	}
	*out = ferry_span_make(dst, bytes);
	p->served_batches += j - i;
	p->served_bytes += bytes;
	sim->st[FERRY_SIM_ST_FETCH_BATCHES] += j - i;
	sim->st[FERRY_SIM_ST_FETCH_RECORDS] += (uint64_t)records;
	sim->st[FERRY_SIM_ST_FETCH_BYTES] += bytes;
	return 0;
}

static int
store_read(struct ferry_sim *sim, struct ferry_sim_part *p, int64_t offset, int64_t limit,
	   bool min_one, struct ferry_span *out)
{
	const struct ferry_sim_stored *st = p->st + p->st_head;
	size_t lo = 0, hi = p->st_n, j, bytes = 0;
	int64_t records = 0;

	if (p->st_n == 0 || offset < st[0].base)
		return 0;
	/* the entry holding offset: st[lo].base <= offset < st[lo].next */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (st[mid].base <= offset)
			lo = mid;
		else
			hi = mid;
	}
	if (offset >= st[lo].next)
		return 0;
	/* whole batches, contiguous in one chunk (appended in order) */
	for (j = lo; j < p->st_n && st[j].chunk == st[lo].chunk; j++) {
		if ((int64_t)(bytes + st[j].len) > limit && !(j == lo && min_one))
			break;
		bytes += st[j].len;
		records += st[j].count;
	}
	if (j == lo)
		return 0;
	*out = ferry_span_make(st[lo].chunk->data + st[lo].off, bytes);
	sim->st[FERRY_SIM_ST_FETCH_BATCHES] += j - lo;
	sim->st[FERRY_SIM_ST_FETCH_RECORDS] += (uint64_t)records;
	sim->st[FERRY_SIM_ST_FETCH_BYTES] += bytes;
	return 0;
}

int
ferry_sim_part_read(struct ferry_sim *sim, struct ferry_sim_part *p, int64_t offset, int64_t limit,
		    bool min_one, struct ferry_span *out)
{
	/* Empty, not null: what brokers send for "nothing" (MemoryRecords.EMPTY). */
	*out = ferry_span_make(empty_records, 0);
	if (limit < 0)
		limit = 0;
	if (offset < p->log_start || offset >= p->end)
		return 0;
	if (p->topic->src != NULL)
		return source_read(sim, p, offset, limit, min_one, out);
	return store_read(sim, p, offset, limit, min_one, out);
}

/* ---- topics -------------------------------------------------------------------------------- */

struct ferry_sim_topic *
ferry_sim_topic_get(struct ferry_sim *sim, struct ferry_span name)
{
	if (name.p == NULL)
		return NULL;
	return ferry_sim_map_get(&sim->topics_by_name, name.p, name.len);
}

struct ferry_sim_topic *
ferry_sim_topic_by_id(struct ferry_sim *sim, const uint8_t id[16])
{
	for (size_t i = 0; i < sim->n_topics; i++)
		if (memcmp(sim->topics[i]->id, id, 16) == 0)
			return sim->topics[i];
	return NULL;
}

bool
ferry_sim_topic_name_ok(struct ferry_span name)
{
	/* Kafka Topic.validate: 1-249 legal characters, not "." or "..". */
	if (name.p == NULL || name.len == 0 || name.len > 249)
		return false;
	if ((name.len == 1 && name.p[0] == '.') ||
	    (name.len == 2 && name.p[0] == '.' && name.p[1] == '.'))
		return false;
	for (size_t i = 0; i < name.len; i++) {
		uint8_t c = name.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void
part_fini(struct ferry_sim_part *p)
{
	ferry_sim_map_free(&p->producers, free);
	free(p->st);
}

static void
topic_free(struct ferry_sim_topic *t)
{
	for (int32_t i = 0; i < t->n_parts; i++)
		part_fini(&t->parts[i]);
	free(t->parts);
	ferry_sim_source_free(t->src);
	free(t->name);
	free(t);
}

struct ferry_sim_topic *
ferry_sim_topic_create(struct ferry_sim *sim, struct ferry_span name, int32_t n_parts,
		       struct ferry_sim_source *src)
{
	struct ferry_sim_topic *t;
	uint64_t h1, h2;

	if (n_parts < 1)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->name = malloc(name.len + 1);
	t->parts = calloc((size_t)n_parts, sizeof(*t->parts));
	if (t->name == NULL || t->parts == NULL)
		goto out_free_topic;
	memcpy(t->name, name.p, name.len);
	t->name[name.len] = '\0';
	t->name_len = name.len;
	t->n_parts = n_parts;
	/* A stable, non-zero TopicId from the name (v10+ clients key on it). */
	h1 = fnv1a(name.p, name.len, FNV_SEED);
	h2 = fnv1a(name.p, name.len, h1 ^ UINT64_C(0x9e3779b97f4a7c15)) | 1;
	ferry_put_be64(t->id, h1);
	ferry_put_be64(t->id + 8, h2);
	for (int32_t i = 0; i < n_parts; i++) {
		struct ferry_sim_part *p = &t->parts[i];
		p->topic = t;
		p->index = i;
		p->end = src ? source_end(src, sim->conf.source_records) : 0;
	}
	if (sim->n_topics == sim->cap_topics) {
		size_t ncap = sim->cap_topics ? sim->cap_topics * 2 : 16;
		struct ferry_sim_topic **nt = realloc(sim->topics, ncap * sizeof(*nt));
		if (nt == NULL)
			goto out_free_topic;
		sim->topics = nt;
		sim->cap_topics = ncap;
	}
	if (ferry_sim_map_put(&sim->topics_by_name, name.p, name.len, t, NULL) < 0)
		goto out_free_topic;
	sim->topics[sim->n_topics++] = t;
	t->src = src;
	return t;

out_free_topic:
	free(t->parts);
	free(t->name);
	free(t);
	return NULL;
}

void
ferry_sim_topics_free(struct ferry_sim *sim)
{
	for (size_t i = 0; i < sim->n_topics; i++)
		topic_free(sim->topics[i]);
	free(sim->topics);
	sim->topics = NULL;
	sim->n_topics = sim->cap_topics = 0;
	ferry_sim_map_free(&sim->topics_by_name, NULL);
}

/* ---- sink: store ---------------------------------------------------------------------------- */

static void
store_unlink(struct ferry_sim *sim, struct ferry_sim_chunk *ck)
{
	if (ck->gprev)
		ck->gprev->gnext = ck->gnext;
	else
		sim->ck_head = ck->gnext;
	if (ck->gnext)
		ck->gnext->gprev = ck->gprev;
	else
		sim->ck_tail = ck->gprev;
	sim->store_bytes -= ck->cap;
}

/* Drop the oldest chunk of all: it is also the oldest of its partition, so its
 * batches are at the front of that partition's index and the log stays whole. */
static void
store_evict_oldest(struct ferry_sim *sim)
{
	struct ferry_sim_chunk *ck = sim->ck_head;
	struct ferry_sim_part *p = ck->part;

	store_unlink(sim, ck);
	while (p->st_n > 0 && p->st[p->st_head].chunk == ck) {
		p->st_head++;
		p->st_n--;
	}
	if (p->st_n == 0)
		p->st_head = 0;
	p->log_start = p->st_n ? p->st[p->st_head].base : p->end;
	if (p->cur == ck)
		p->cur = NULL;
	sim->st[FERRY_SIM_ST_STORE_EVICTED_BYTES] += ck->used;
	free(ck->data);
	free(ck);
}

static int
store_put(struct ferry_sim *sim, struct ferry_sim_part *p, const struct ferry_kafka_batch *b,
	  int64_t base)
{
	size_t len = b->bytes.len;
	struct ferry_sim_chunk *ck = p->cur;
	struct ferry_sim_stored *e;

	if (p->st_head + p->st_n == p->st_cap) {
		if (p->st_head >= p->st_cap / 2 && p->st_head > 0) {
			memmove(p->st, p->st + p->st_head, p->st_n * sizeof(*p->st));
			p->st_head = 0;
		} else {
			size_t ncap = p->st_cap ? p->st_cap * 2 : 256;
			struct ferry_sim_stored *n = realloc(p->st, ncap * sizeof(*n));
			if (n == NULL)
				return -ENOMEM;
			p->st = n;
			p->st_cap = ncap;
		}
	}
	if (ck == NULL || ck->cap - ck->used < len) {
		size_t cap = len > sim->conf.chunk_size ? len : sim->conf.chunk_size;
		/* main() makes store_max >= the largest batch, so this always ends. */
		while (sim->ck_head != NULL && sim->store_bytes + cap > sim->conf.store_max)
			store_evict_oldest(sim);
		ck = calloc(1, sizeof(*ck));
		if (ck == NULL)
			return -ENOMEM;
		ck->data = malloc(cap);
		if (ck->data == NULL) {
			free(ck);
			return -ENOMEM;
		}
		ck->cap = cap;
		ck->part = p;
		ck->gprev = sim->ck_tail;
		if (sim->ck_tail)
			sim->ck_tail->gnext = ck;
		else
			sim->ck_head = ck;
		sim->ck_tail = ck;
		sim->store_bytes += cap;
		p->cur = ck;
	}
	/* Stored as a broker stores it: BaseOffset and PartitionLeaderEpoch set,
	 * both outside the CRC (§3.6), every other byte as produced. */
	memcpy(ck->data + ck->used, b->bytes.p, len);
	struct ferry_kafka_batch_rewrite rw = {
		.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_LEADER_EPOCH,
		.BaseOffset = base,
		.PartitionLeaderEpoch = 0,
	};
	ferry_kafka_batch_rewrite(ck->data + ck->used, len, &rw);
	e = &p->st[p->st_head + p->st_n++];
	e->base = base;
	e->next = base + (int64_t)b->hdr.LastOffsetDelta + 1;
	e->chunk = ck;
	e->off = ck->used;
	e->len = len;
	e->count = b->hdr.RecordsCount;
	ck->used += len;
	p->log_start = p->st[p->st_head].base;
	return 0;
}

void
ferry_sim_store_free(struct ferry_sim *sim)
{
	struct ferry_sim_chunk *ck, *next;

	for (ck = sim->ck_head; ck != NULL; ck = next) {
		next = ck->gnext;
		free(ck->data);
		free(ck);
	}
	sim->ck_head = sim->ck_tail = NULL;
	sim->store_bytes = 0;
}

/* ---- sink: append --------------------------------------------------------------------------- */

/* Sequence arithmetic wraps from INT32_MAX to 0 (§3.1, §5.2). */
static int32_t
seq_add(int32_t seq, int32_t delta)
{
	int64_t s = (int64_t)seq + delta;

	if (s > INT32_MAX)
		s -= (int64_t)INT32_MAX + 1;
	return (int32_t)s;
}

/* --verify-records: what a broker does to every batch (§3.5 rule 9). */
static int
verify_records(struct ferry_sim *sim, const struct ferry_kafka_batch *b)
{
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;
	struct ferry_span recs;
	int rc;

	rc = ferry_kafka_batch_records(sim->cc, b, sim->dbuf, sim->dbuf_cap, &recs);
	if (rc < 0)
		return rc;
	ferry_kafka_rec_iter_init(&it, recs, b->hdr.RecordsCount);
	while ((rc = ferry_kafka_rec_next(&it, &r)) == 1)
		;
	return rc;
}

static int16_t
produce_fail(struct ferry_sim *sim, enum ferry_sim_stat st, int16_t err)
{
	sim->st[st]++;
	return err;
}

int16_t
ferry_sim_sink_append(struct ferry_sim *sim, struct ferry_sim_part *p, bool has_txn_id,
		      struct ferry_span records, int64_t *base_offset)
{
	struct ferry_sim_producer *ps = NULL;
	const struct ferry_kafka_batch_hdr *h;
	struct ferry_kafka_batch b;
	int32_t last_seq = 0;
	int64_t base;
	size_t used;
	int rc;

	*base_offset = -1;
	/* Request level (§2.3): exactly one magic-2 batch per partition. */
	if (records.p == NULL || records.len == 0)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_INVALID,
				    FERRY_ERR_INVALID_RECORD);
	rc = ferry_kafka_batch_parse(records, &b, &used);
	if (rc < 0)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_CORRUPT,
				    FERRY_ERR_CORRUPT_MESSAGE);
	if (used != records.len)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_INVALID,
				    FERRY_ERR_INVALID_RECORD);
	h = &b.hdr;
	/* §3.5 rule 3: max.message.bytes */
	if (b.bytes.len > (size_t)sim->conf.max_message_bytes)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_TOO_LARGE,
				    FERRY_ERR_MESSAGE_TOO_LARGE);
	/* §3.5 rule 4: CRC, then the count and offset rules */
	rc = ferry_kafka_batch_validate(&b);
	if (rc == FERRY_ERR__BAD_CRC || rc == FERRY_ERR__BAD_MAGIC)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_CORRUPT,
				    FERRY_ERR_CORRUPT_MESSAGE);
	if (rc < 0)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_INVALID,
				    FERRY_ERR_INVALID_RECORD);
	/* §3.5 rules 2, 5, 6, 7 */
	if (ferry_kafka_batch_check_produce(&b) != 0)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_INVALID,
				    FERRY_ERR_INVALID_RECORD);
	/* §2.3: a transactional batch needs a TransactionalId */
	if (ferry_kafka_batch_is_transactional(h) && !has_txn_id)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_OTHER,
				    FERRY_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
	if (sim->conf.verify_records && verify_records(sim, &b) < 0)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_CORRUPT,
				    FERRY_ERR_CORRUPT_MESSAGE);

	/* §5.2: per ProducerId, epoch and partition. */
	if (h->ProducerId >= 0) {
		last_seq = seq_add(h->BaseSequence, h->LastOffsetDelta);
		ps = ferry_sim_map_get(&p->producers, &h->ProducerId, sizeof(h->ProducerId));
		if (ps != NULL && h->ProducerEpoch == ps->epoch) {
			/* a retry of one of the last 5 batches: the original offset */
			for (unsigned k = 0; k < ps->n; k++) {
				if (ps->b[k].first_seq == h->BaseSequence &&
				    ps->b[k].last_seq == last_seq) {
					*base_offset = ps->b[k].base;
					p->duplicates++;
					sim->st[FERRY_SIM_ST_PRODUCE_DUPLICATES]++;
					return FERRY_ERR_NONE;
				}
			}
		}
		if (ps != NULL && h->ProducerEpoch < ps->epoch)
			return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_EPOCH,
					    FERRY_ERR_INVALID_PRODUCER_EPOCH);
		if (ps != NULL && h->ProducerEpoch > ps->epoch && h->BaseSequence != 0)
			return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_SEQUENCE,
					    FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
		if (ps != NULL && h->ProducerEpoch == ps->epoch &&
		    h->BaseSequence != seq_add(ps->b[ps->head].last_seq, 1))
			return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_SEQUENCE,
					    FERRY_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
		/* Unknown producer on this partition: any sequence is accepted. */
		if (ps == NULL) {
			ps = calloc(1, sizeof(*ps));
			if (ps == NULL || ferry_sim_map_put(&p->producers, &h->ProducerId,
							    sizeof(h->ProducerId), ps, NULL) < 0) {
				free(ps);
				return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_OTHER,
						    FERRY_ERR_KAFKA_STORAGE_ERROR);
			}
			ps->epoch = h->ProducerEpoch;
		}
	}

	base = p->end;
	if (sim->conf.store && store_put(sim, p, &b, base) < 0)
		return produce_fail(sim, FERRY_SIM_ST_PRODUCE_ERR_OTHER,
				    FERRY_ERR_KAFKA_STORAGE_ERROR);
	p->end = base + (int64_t)h->LastOffsetDelta + 1;
	if (!sim->conf.store)
		p->log_start = p->end; /* counted, not kept */
	if (ps != NULL) {
		if (ps->epoch != h->ProducerEpoch) {
			ps->epoch = h->ProducerEpoch;
			ps->n = 0;
		}
		ps->head = ps->n == 0 ? 0 : (uint8_t)((ps->head + 1) % FERRY_SIM_PRODUCER_BATCHES);
		ps->b[ps->head].first_seq = h->BaseSequence;
		ps->b[ps->head].last_seq = last_seq;
		ps->b[ps->head].base = base;
		if (ps->n < FERRY_SIM_PRODUCER_BATCHES)
			ps->n++;
	}
	p->batches++;
	p->records += (uint64_t)h->RecordsCount;
	p->bytes += b.bytes.len;
	sim->st[FERRY_SIM_ST_PRODUCE_BATCHES]++;
	sim->st[FERRY_SIM_ST_PRODUCE_RECORDS] += (uint64_t)h->RecordsCount;
	sim->st[FERRY_SIM_ST_PRODUCE_BYTES] += b.bytes.len;
	sim->append_gen++;
	*base_offset = base;
	return FERRY_ERR_NONE;
}

/* ---- group offsets -------------------------------------------------------------------------- */

/* Offsets committed per group: a broker's offset.metadata.max.bytes default,
 * and a cap on the simulator's memory. */
#define COMMIT_METADATA_MAX 4096
#define COMMITS_MAX         (1u << 20)

struct ferry_sim_group *
ferry_sim_group_get(struct ferry_sim *sim, struct ferry_span id, bool create)
{
	struct ferry_sim_group *g = ferry_sim_map_get(&sim->groups, id.p, id.len);

	if (g != NULL || !create)
		return g;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	if (ferry_sim_map_put(&sim->groups, id.p, id.len, g, NULL) < 0) {
		free(g);
		return NULL;
	}
	return g;
}

/* topic bytes, '\0', partition big-endian: topic names cannot hold '\0'. */
static size_t
commit_key(uint8_t *key, struct ferry_span topic, int32_t partition)
{
	memcpy(key, topic.p, topic.len);
	key[topic.len] = '\0';
	ferry_put_be32(key + topic.len + 1, (uint32_t)partition);
	return topic.len + 5;
}

/* Topic strings are int16-length on the wire: at most 32767 bytes. */
static uint8_t commit_key_buf[32768 + 8];

struct ferry_sim_commit *
ferry_sim_commit_get(struct ferry_sim_group *g, struct ferry_span topic, int32_t partition)
{
	size_t klen;

	if (topic.p == NULL || topic.len > 32768)
		return NULL;
	klen = commit_key(commit_key_buf, topic, partition);
	return ferry_sim_map_get(&g->commits, commit_key_buf, klen);
}

int16_t
ferry_sim_commit_put(struct ferry_sim *sim, struct ferry_sim_group *g, struct ferry_span topic,
		     int32_t partition, int64_t offset, int32_t leader_epoch,
		     struct ferry_span metadata)
{
	struct ferry_sim_commit *c;
	char *md = NULL;

	if (topic.p == NULL || topic.len > 32768)
		return FERRY_ERR_INVALID_REQUEST;
	if (metadata.len > COMMIT_METADATA_MAX)
		return FERRY_ERR_OFFSET_METADATA_TOO_LARGE;
	if (metadata.p != NULL) {
		md = malloc(metadata.len + 1);
		if (md == NULL)
			return FERRY_ERR_COORDINATOR_NOT_AVAILABLE;
		memcpy(md, metadata.p, metadata.len);
		md[metadata.len] = '\0';
	}
	c = ferry_sim_commit_get(g, topic, partition);
	if (c == NULL) {
		const uint8_t *key;
		size_t klen;

		if (sim->n_commits >= COMMITS_MAX)
			goto out_free_md;
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			goto out_free_md;
		klen = commit_key(commit_key_buf, topic, partition);
		if (ferry_sim_map_put(&g->commits, commit_key_buf, klen, c, &key) < 0) {
			free(c);
			goto out_free_md;
		}
		c->topic = key;
		c->topic_len = topic.len;
		c->partition = partition;
		sim->n_commits++;
	}
	free(c->metadata);
	c->metadata = md;
	c->metadata_len = metadata.len;
	c->offset = offset;
	c->leader_epoch = leader_epoch;
	sim->st[FERRY_SIM_ST_OFFSET_COMMITS]++;
	return FERRY_ERR_NONE;

out_free_md:
	free(md);
	return FERRY_ERR_COORDINATOR_NOT_AVAILABLE;
}

static void
commit_free(void *v)
{
	struct ferry_sim_commit *c = v;

	free(c->metadata);
	free(c);
}

static void
group_free(void *v)
{
	struct ferry_sim_group *g = v;

	ferry_sim_map_free(&g->commits, commit_free);
	free(g);
}

void
ferry_sim_groups_free(struct ferry_sim *sim)
{
	ferry_sim_map_free(&sim->groups, group_free);
	sim->n_commits = 0;
}
