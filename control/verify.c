/*
 * verify.c - the end-to-end replication checker (see verify.h) and `ferryctl verify`.
 *
 * Per source topic (the list given, or every non-internal topic of the source):
 *   1. Topic decision from the compiled rules (ferry_policy_topic_decide on the snapshot).
 *      A denied topic is not read on the source; its remote topic on the target must hold
 *      no record, and every record found there counts as `denied`.
 *   2. Expected records, per partition: the source's raw record batches over ferry's kclient
 *      (Fetch at read_committed from the partition leader, from the log start to the last
 *      stable offset read first). We filter as a read_committed consumer does ourselves:
 *      control batches are skipped, and transactional batches of a producer listed in the
 *      response's AbortedTransactions are skipped from its FirstOffset up to its ABORT
 *      marker (the Java consumer's algorithm). This keeps the batches exactly as the gateway
 *      sees them, which the policy needs (quarantine acts per batch). librdkafka's mock
 *      cluster never reports aborted transactions, so that branch is only exercised against
 *      real brokers. Each batch goes through ferry_policy_apply() as in the gateway; the
 *      records of its result (the original batch, or the rebuilt one) are decoded with
 *      ferry's codec. A rebuilt batch renumbers its records, so source offsets are carried
 *      over from the original batch: the kept records are the original ones minus those the
 *      audit events name as dropped, in order (the runtime's contract).
 *   3. Actual records: the remote topic, same partition, read with a librdkafka consumer
 *      (assign, check.crcs=true, read_committed) from its low watermark to the high
 *      watermark read first (or the end of the committed data, PARTITION_EOF).
 *   4. Matching by content: a 128-bit digest of key, value, headers (null distinguished
 *      from empty) and timestamp maps to the source offsets that carry that content
 *      (identical records exist). A target record takes the smallest unmatched offset at or
 *      above the highest one matched so far (in order); failing that, the smallest unmatched
 *      one below it (out of order); when its content has no unmatched offset left it is a
 *      duplicate, and when no expected record has its content it is unexpected.
 *
 * Memory: one partition's expected records at a time (about 40 bytes each).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "ferry/kafka.h"
#include "ferry/mm2.h"
#include "ferryctl.h"
#include "kclient.h"
#include "verify.h"

#ifdef FERRY_VERIFY_POLICY
#include "ferry/policy.h"
#include "policy_compile.h"
#include "rules.h"
#endif

#define V_FETCH_BYTES  (1 << 20)
#define V_ARENA_BYTES  (2 << 20)
#define V_DEC_BYTES    (64u << 20) /* decompressed records of one batch: the bomb cap */
#define V_POLICY_BATCH (16u << 20) /* the policy worker's max_batch_bytes */
#define V_AUDIT_MAX    (1u << 18)
#define V_MAX_BROKERS  64
#define V_RETRIES      10
#define V_POLL_MS      100

/* ---- content digest ------------------------------------------------------------------------ */

/* Two independent 64-bit hashes over a canonical stream (every field preceded by a tag and
 * its length, -1 for null), so a false match needs both to collide. Not cryptographic: the
 * checker guards against bugs, not against an adversary crafting records. */
struct vdigest {
	uint64_t a, b;
};

static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return k;
}

static void
dg_init(struct vdigest *d)
{
	d->a = UINT64_C(0xcbf29ce484222325);
	d->b = UINT64_C(0x9e3779b97f4a7c15);
}

static void
dg_bytes(struct vdigest *d, const uint8_t *p, size_t n)
{
	uint64_t a = d->a, b = d->b;
	size_t i;

	for (i = 0; i < n; i++)
		a = (a ^ p[i]) * UINT64_C(0x100000001b3);
	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		b = rotl64(b ^ (w * UINT64_C(0x87c37b91114253d5)), 31) *
			UINT64_C(0x4cf5ad432745937f) +
		    UINT64_C(0x52dce729);
	}
	if (i < n) {
		uint64_t w = 0;
		memcpy(&w, p + i, n - i);
		b = rotl64(b ^ (w * UINT64_C(0x87c37b91114253d5)) ^ (uint64_t)(n - i), 31) *
		    UINT64_C(0x4cf5ad432745937f);
	}
	d->a = a;
	d->b = b;
}

static void
dg_u64(struct vdigest *d, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	dg_bytes(d, b, 8);
}

enum { DG_KEY = 1, DG_VALUE, DG_HCOUNT, DG_HNAME, DG_HVALUE, DG_TS };

static void
dg_field(struct vdigest *d, unsigned tag, const void *p, size_t n, bool null)
{
	dg_u64(d, tag);
	dg_u64(d, null ? UINT64_MAX : (uint64_t)n);
	if (!null)
		dg_bytes(d, p, n);
}

static void
dg_final(struct vdigest *d)
{
	d->a = fmix64(d->a);
	d->b = fmix64(d->b ^ d->a);
}

/* A record decoded by ferry's codec (the expected side). */
static int
digest_ferry(const struct ferry_kafka_record *r, int64_t ts, bool use_ts, struct vdigest *d)
{
	struct ferry_kafka_hdr_iter hi;
	struct ferry_kafka_header h;
	int rc;

	dg_init(d);
	dg_field(d, DG_KEY, r->Key.p, r->Key.len, r->Key.p == NULL);
	dg_field(d, DG_VALUE, r->Value.p, r->Value.len, r->Value.p == NULL);
	dg_u64(d, DG_HCOUNT);
	dg_u64(d, (uint64_t)(r->HeadersCount > 0 ? r->HeadersCount : 0));
	ferry_kafka_hdr_iter_init(&hi, r);
	while ((rc = ferry_kafka_hdr_next(&hi, &h)) == 1) {
		dg_field(d, DG_HNAME, h.Key.p, h.Key.len, false);
		dg_field(d, DG_HVALUE, h.Value.p, h.Value.len, h.Value.p == NULL);
	}
	if (rc < 0)
		return rc;
	if (use_ts) {
		dg_u64(d, DG_TS);
		dg_u64(d, (uint64_t)ts);
	}
	dg_final(d);
	return 0;
}

/* A message read by librdkafka (the actual side): the same stream. */
static void
digest_rdk(rd_kafka_message_t *m, bool use_ts, struct vdigest *d)
{
	rd_kafka_headers_t *hdrs = NULL;
	size_t n = 0;

	dg_init(d);
	dg_field(d, DG_KEY, m->key, m->key_len, m->key == NULL);
	dg_field(d, DG_VALUE, m->payload, m->len, m->payload == NULL);
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
		n = rd_kafka_header_cnt(hdrs);
	dg_u64(d, DG_HCOUNT);
	dg_u64(d, n);
	for (size_t i = 0; i < n; i++) {
		const char *name;
		const void *val;
		size_t size;
		if (rd_kafka_header_get_all(hdrs, i, &name, &val, &size) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR)
			break;
		dg_field(d, DG_HNAME, name, strlen(name), false);
		dg_field(d, DG_HVALUE, val, size, val == NULL);
	}
	if (use_ts) {
		dg_u64(d, DG_TS);
		dg_u64(d, (uint64_t)rd_kafka_message_timestamp(m, NULL));
	}
	dg_final(d);
}

/* ---- the matcher -------------------------------------------------------------------------- */

struct exp_rec {
	int64_t offset;
	struct vdigest d;
};

/* The source offsets carrying one content: pos[start .. start + count) in ascending offset. */
struct exp_group {
	struct vdigest d;
	uint32_t start, count;
	uint32_t lo;        /* positions below lo are all matched */
	uint32_t unmatched; /* how many are not matched yet */
};

struct matcher {
	struct exp_rec *e; /* source order = ascending offset */
	size_t n, cap;
	uint32_t *pos; /* indexes into e, grouped by digest, ascending within a group */
	uint8_t *matched;
	struct exp_group *g;
	size_t ng;
	uint32_t *tab; /* group index + 1; 0 = empty slot */
	size_t tab_mask;
	int64_t max_matched;
};

static int
m_add(struct matcher *m, int64_t offset, const struct vdigest *d)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 4096;
		struct exp_rec *e = realloc(m->e, cap * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		m->e = e;
		m->cap = cap;
	}
	m->e[m->n].offset = offset;
	m->e[m->n].d = *d;
	m->n++;
	return 0;
}

static int
pos_cmp(const void *x, const void *y, void *arg)
{
	const struct exp_rec *e = arg;
	const struct exp_rec *a = &e[*(const uint32_t *)x], *b = &e[*(const uint32_t *)y];
	if (a->d.a != b->d.a)
		return a->d.a < b->d.a ? -1 : 1;
	if (a->d.b != b->d.b)
		return a->d.b < b->d.b ? -1 : 1;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static void
m_reset(struct matcher *m)
{
	free(m->pos);
	free(m->matched);
	free(m->g);
	free(m->tab);
	m->pos = NULL;
	m->matched = NULL;
	m->g = NULL;
	m->tab = NULL;
	m->n = m->ng = 0;
	m->max_matched = -1;
}

static void
m_free(struct matcher *m)
{
	m_reset(m);
	free(m->e);
	m->e = NULL;
	m->cap = 0;
}

/* Group the expected records by content and index the groups. */
static int
m_build(struct matcher *m)
{
	size_t n = m->n, slots = 16;

	m->max_matched = -1;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX / 4)
		return -E2BIG;
	m->pos = malloc(n * sizeof(*m->pos));
	m->matched = calloc(n, 1);
	m->g = malloc(n * sizeof(*m->g));
	while (slots < 2 * n)
		slots <<= 1;
	m->tab = calloc(slots, sizeof(*m->tab));
	if (!m->pos || !m->matched || !m->g || !m->tab)
		return -ENOMEM;
	m->tab_mask = slots - 1;
	for (size_t i = 0; i < n; i++)
		m->pos[i] = (uint32_t)i;
	qsort_r(m->pos, n, sizeof(*m->pos), pos_cmp, m->e);
	for (size_t i = 0; i < n;) {
		const struct vdigest *d = &m->e[m->pos[i]].d;
		size_t j = i + 1;
		while (j < n && m->e[m->pos[j]].d.a == d->a && m->e[m->pos[j]].d.b == d->b)
			j++;
		struct exp_group *g = &m->g[m->ng];
		*g = (struct exp_group){ .d = *d,
					 .start = (uint32_t)i,
					 .count = (uint32_t)(j - i),
					 .lo = (uint32_t)i,
					 .unmatched = (uint32_t)(j - i) };
		size_t s = d->a & m->tab_mask;
		while (m->tab[s] != 0)
			s = (s + 1) & m->tab_mask;
		m->tab[s] = (uint32_t)(++m->ng);
		i = j;
	}
	return 0;
}

static struct exp_group *
m_find(struct matcher *m, const struct vdigest *d)
{
	if (m->tab == NULL)
		return NULL;
	for (size_t s = d->a & m->tab_mask; m->tab[s] != 0; s = (s + 1) & m->tab_mask) {
		struct exp_group *g = &m->g[m->tab[s] - 1];
		if (g->d.a == d->a && g->d.b == d->b)
			return g;
	}
	return NULL;
}

/* Account one target record (at target offset toff) in vp. */
static void
m_match(struct matcher *m, const struct vdigest *d, int64_t toff, struct ferry_verify_part *vp)
{
	struct exp_group *g = m_find(m, d);
	uint32_t end, lo, hi, p;

	if (g == NULL) {
		if (vp->c.unexpected++ == 0)
			vp->first_unexpected = toff;
		return;
	}
	if (g->unmatched == 0) {
		if (vp->c.duplicates++ == 0)
			vp->first_duplicate = toff;
		return;
	}
	/* In order: the smallest unmatched offset >= the highest matched so far. */
	end = g->start + g->count;
	lo = g->lo;
	hi = end;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->e[m->pos[mid]].offset < m->max_matched)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (p = lo; p < end && m->matched[m->pos[p]]; p++)
		;
	if (p < end) {
		m->max_matched = m->e[m->pos[p]].offset;
	} else {
		/* Every one at or above it is taken: the first occurrence of an earlier record. */
		while (m->matched[m->pos[g->lo]])
			g->lo++;
		p = g->lo;
		if (vp->c.out_of_order++ == 0)
			vp->first_out_of_order = toff;
	}
	m->matched[m->pos[p]] = 1;
	g->unmatched--;
}

static void
m_finish(struct matcher *m, struct ferry_verify_part *vp)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->matched != NULL && m->matched[i])
			continue;
		if (vp->c.lost++ == 0)
			vp->first_lost = m->e[i].offset;
	}
}

/* ---- run context ------------------------------------------------------------------------- */

struct vbroker {
	int32_t id;
	bool up;
	struct ferry_kclient kc;
};

struct vctx {
	const struct ferry_verify_conf *c;
	int timeout_ms;
	struct ferry_mm2_policy naming;
	rd_kafka_t *src, *dst; /* src: metadata and watermarks; dst: the reader */
	const rd_kafka_metadata_t *smd, *dmd;
	struct vbroker brokers[V_MAX_BROKERS];
	size_t n_brokers;
	uint8_t *arena_mem, *dec, *dec2;
	struct ferry_codec_ctx *cc;
	int64_t *offs; /* original record offsets of one batch, ascending */
	uint8_t *dropped;
	size_t offs_cap, dropped_cap;
	struct matcher m;
	struct ferry_kafka_aborted_txn *aborted; /* of the current Fetch response, sorted */
	size_t n_aborted, aborted_cap;
	int64_t *abort_pids; /* producers inside an aborted transaction */
	size_t n_abort_pids, abort_pids_cap;
#ifdef FERRY_VERIFY_POLICY
	bool have_policy;
	struct ferry_policy_snapshot snap;
	struct ferry_policy_rt *rt;
	struct ferry_policy_worker *w;
	struct ferry_policy_topics topics;
#endif
};

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static rd_kafka_t *
rk_new(const char *bootstrap, bool reader, char *err, size_t errlen)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* The reader is the independent peer: CRCs checked, only committed data. */
	const char *kv[][2] = {
		{ "bootstrap.servers", bootstrap }, { "log_level", "2" },
		{ "client.id", "ferry-verify" },    { "group.id", "ferry-verify" },
		{ "enable.auto.commit", "false" },  { "enable.auto.offset.store", "false" },
		{ "enable.partition.eof", "true" }, { "auto.offset.reset", "earliest" },
		{ "check.crcs", "true" },           { "isolation.level", "read_committed" },
		{ "fetch.wait.max.ms", "100" }, /* the end of a partition is seen sooner */
	};
	size_t n = reader ? sizeof(kv) / sizeof(kv[0]) : 3;

	for (size_t i = 0; i < n; i++) {
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)) !=
		    RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%s: %s", kv[i][0], errstr);
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	}
	rd_kafka_t *rk = rd_kafka_new(reader ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, errstr,
				      sizeof(errstr));
	if (rk == NULL)
		snprintf(err, errlen, "%s: %s", bootstrap, errstr);
	return rk;
}

static int
metadata(struct vctx *v, bool source, char *err, size_t errlen)
{
	const rd_kafka_metadata_t **md = source ? &v->smd : &v->dmd;
	const rd_kafka_metadata_t *nmd = NULL;
	rd_kafka_resp_err_t e =
	    rd_kafka_metadata(source ? v->src : v->dst, 1, NULL, &nmd, v->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "%s cluster %s: metadata: %s", source ? "source" : "target",
			 source ? v->c->source_bootstrap : v->c->target_bootstrap,
			 rd_kafka_err2str(e));
		return -EHOSTUNREACH;
	}
	if (*md)
		rd_kafka_metadata_destroy(*md);
	*md = nmd;
	return 0;
}

static const rd_kafka_metadata_topic_t *
md_topic(const rd_kafka_metadata_t *md, const char *name)
{
	for (int i = 0; md && i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, name) == 0 &&
		    md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
			return &md->topics[i];
	return NULL;
}

static const rd_kafka_metadata_partition_t *
md_part(const rd_kafka_metadata_topic_t *t, int32_t p)
{
	for (int i = 0; t && i < t->partition_cnt; i++)
		if (t->partitions[i].id == p)
			return &t->partitions[i];
	return NULL;
}

/* A kclient to the source broker leading topic/partition (connected on first use). */
static struct ferry_kclient *
leader(struct vctx *v, const char *topic, int32_t p, char *err, size_t errlen)
{
	const rd_kafka_metadata_partition_t *mp = md_part(md_topic(v->smd, topic), p);
	if (mp == NULL || mp->leader < 0) {
		snprintf(err, errlen, "source %s [%" PRId32 "]: no leader in metadata", topic, p);
		return NULL;
	}
	for (size_t i = 0; i < v->n_brokers; i++)
		if (v->brokers[i].id == mp->leader && v->brokers[i].up)
			return &v->brokers[i].kc;
	for (int i = 0; i < v->smd->broker_cnt; i++) {
		const rd_kafka_metadata_broker_t *b = &v->smd->brokers[i];
		if (b->id != mp->leader)
			continue;
		struct vbroker *vb = NULL;
		for (size_t k = 0; k < v->n_brokers; k++)
			if (v->brokers[k].id == b->id)
				vb = &v->brokers[k];
		if (vb == NULL) {
			if (v->n_brokers == V_MAX_BROKERS) {
				snprintf(err, errlen, "source: more than %d brokers",
					 V_MAX_BROKERS);
				return NULL;
			}
			vb = &v->brokers[v->n_brokers++];
			vb->id = b->id;
		}
		char hp[300];
		snprintf(hp, sizeof(hp), "%s:%d", b->host, b->port);
		if (ferry_kclient_connect(&vb->kc, hp, "ferry-verify", v->timeout_ms, err,
					  errlen) != 0)
			return NULL;
		vb->up = true;
		return &vb->kc;
	}
	snprintf(err, errlen, "source %s [%" PRId32 "]: leader %" PRId32 " not in metadata", topic,
		 p, mp->leader);
	return NULL;
}

static void
broker_drop(struct vctx *v, struct ferry_kclient *kc)
{
	for (size_t i = 0; i < v->n_brokers; i++) {
		if (v->brokers[i].up && &v->brokers[i].kc == kc) {
			ferry_kclient_close(kc);
			v->brokers[i].up = false;
		}
	}
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* ---- policy -------------------------------------------------------------------------------- */

#ifdef FERRY_VERIFY_POLICY
static int
read_key(const char *path, uint8_t *key, size_t *len, char *err, size_t errlen)
{
	uint8_t buf[FERRY_POLICY_TOKEN_KEY_MAX + 1];
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "key file %s: %s", path, strerror(e));
		return -e;
	}
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n < FERRY_POLICY_TOKEN_KEY_MIN || n > FERRY_POLICY_TOKEN_KEY_MAX) {
		snprintf(err, errlen, "key file %s: %zu bytes; need %d..%d raw bytes", path, n,
			 FERRY_POLICY_TOKEN_KEY_MIN, FERRY_POLICY_TOKEN_KEY_MAX);
		explicit_bzero(buf, sizeof(buf));
		return -EINVAL;
	}
	memcpy(key, buf, n);
	*len = n;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* Compile the rules exactly as bench_replicate and the gateway do. */
static int
policy_init(struct vctx *v, char *err, size_t errlen)
{
	struct ferry_rules rs;
	int rc;

	if (v->c->rules_file == NULL)
		return 0;
	rc = ferry_rules_load_file(v->c->rules_file, &rs, err, errlen);
	if (rc == 0 && v->c->key_file != NULL)
		rc = read_key(v->c->key_file, rs.key, &rs.key_len, err, errlen);
	if (rc == 0)
		rc = ferry_policy_compile(&rs, &v->snap, err, errlen);
	ferry_rules_free(&rs);
	if (rc != 0)
		return rc;
	v->have_policy = true;
	v->rt = ferry_policy_rt_new(&v->snap, err, errlen);
	if (v->rt == NULL)
		return -errno;
	struct ferry_policy_worker_conf wc = { .max_batch_bytes = V_POLICY_BATCH,
					       .max_audit = V_AUDIT_MAX };
	v->w = ferry_policy_worker_new(v->rt, &wc);
	if (v->w == NULL) {
		rc = -errno;
		snprintf(err, errlen, "policy worker: %s", strerror(errno));
		return rc;
	}
	return ferry_policy_topics_init(&v->topics, &v->snap, err, errlen);
}

static void
policy_fini(struct vctx *v)
{
	ferry_policy_topics_fini(&v->topics);
	ferry_policy_worker_free(v->w);
	ferry_policy_rt_free(v->rt);
	if (v->have_policy)
		ferry_policy_snapshot_free(&v->snap);
}

static enum ferry_verify_decision
decide(struct vctx *v, const char *topic)
{
	struct ferry_policy_topic_rules tr;
	if (!v->have_policy)
		return FERRY_VERIFY_PERMIT;
	switch (ferry_policy_topics_decide(&v->topics, topic, strlen(topic), &tr)) {
	case FERRY_POLICY_TOPIC_DENY: return FERRY_VERIFY_DENY;
	case FERRY_POLICY_TOPIC_INSPECT: return FERRY_VERIFY_INSPECT;
	case FERRY_POLICY_TOPIC_PERMIT: break;
	}
	return FERRY_VERIFY_PERMIT;
}
#else
static int
policy_init(struct vctx *v, char *err, size_t errlen)
{
	if (v->c->rules_file == NULL)
		return 0;
	snprintf(err, errlen, "--rules: ferryctl was built without the policy engine (%s)",
		 FERRY_RULES_REASON);
	return -ENOTSUP;
}

static void
policy_fini(struct vctx *v)
{
	(void)v;
}

static enum ferry_verify_decision
decide(struct vctx *v, const char *topic)
{
	(void)v;
	(void)topic;
	return FERRY_VERIFY_PERMIT;
}
#endif

/* ---- expected side ------------------------------------------------------------------------- */

static int64_t
rec_ts(const struct ferry_kafka_batch_hdr *h, const struct ferry_kafka_record *r)
{
	return (h->Attributes & FERRY_KAFKA_ATTR_LOG_APPEND_TIME)
		   ? h->MaxTimestamp
		   : h->BaseTimestamp + r->TimestampDelta;
}

static int
expect(struct vctx *v, const struct ferry_kafka_batch_hdr *h, const struct ferry_kafka_record *r,
       int64_t offset)
{
	struct vdigest d;
	int rc = digest_ferry(r, rec_ts(h, r), !v->c->ignore_timestamps, &d);
	return rc < 0 ? rc : m_add(&v->m, offset, &d);
}

/* Original offsets of b's records into v->offs; how many in *n. Leaves b's records in v->dec
 * (or in the batch itself) at *rb. */
static int
batch_offsets(struct vctx *v, const struct ferry_kafka_batch *b, struct ferry_span *rb, size_t *n)
{
	struct ferry_kafka_rec_iter ri;
	struct ferry_kafka_record r;
	size_t cnt = b->hdr.RecordsCount > 0 ? (size_t)b->hdr.RecordsCount : 0;
	int rc;

	if (grow((void **)&v->offs, &v->offs_cap, cnt + 1, sizeof(*v->offs)) != 0 ||
	    grow((void **)&v->dropped, &v->dropped_cap, cnt + 1, 1) != 0)
		return -ENOMEM;
	memset(v->dropped, 0, cnt + 1);
	if ((rc = ferry_kafka_batch_records(v->cc, b, v->dec, V_DEC_BYTES, rb)) < 0)
		return rc;
	*n = 0;
	ferry_kafka_rec_iter_init(&ri, *rb, b->hdr.RecordsCount);
	while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1)
		v->offs[(*n)++] = b->hdr.BaseOffset + r.OffsetDelta;
	return rc;
}

static bool
in_range(int64_t off, int64_t lo, int64_t end)
{
	return off >= lo && off < end;
}

/* One source data batch: count its records in [lo, end) and add what leaves to the matcher. */
static int
expect_batch(struct vctx *v, struct ferry_verify_part *vp, const struct ferry_kafka_batch *b,
	     int64_t lo, int64_t end, char *err, size_t errlen)
{
	struct ferry_kafka_rec_iter ri;
	struct ferry_kafka_record r;
	struct ferry_span rb;
	size_t n = 0, i;
	int rc;

	if ((rc = batch_offsets(v, b, &rb, &n)) < 0)
		goto err_batch;
	for (i = 0; i < n; i++)
		vp->c.source += in_range(v->offs[i], lo, end);

#ifdef FERRY_VERIFY_POLICY
	if (v->have_policy) {
		struct ferry_policy_result res;
		rc = ferry_policy_apply(v->w, v->rt, vp->topic, strlen(vp->topic), vp->partition, b,
					&res);
		if (res.kind == FERRY_POLICY_RES_QUARANTINED ||
		    res.kind == FERRY_POLICY_RES_DENIED) {
			/* Held back (by a rule, or failed closed as the gateway would): none of
			 * it may be on the target. */
			for (i = 0; i < n; i++)
				vp->c.quarantined += in_range(v->offs[i], lo, end);
			return 0;
		}
		if (res.kind == FERRY_POLICY_RES_REWRITTEN) {
			struct ferry_kafka_batch ob;
			struct ferry_span orb;
			size_t consumed, k = 0, ndrop = 0;

			if (res.audit_lost != 0) {
				snprintf(
				    err, errlen,
				    "%s [%" PRId32 "] batch at %" PRId64 ": %u audit events lost; "
				    "cannot tell which records were dropped",
				    vp->topic, vp->partition, b->hdr.BaseOffset, res.audit_lost);
				return -EOVERFLOW;
			}
			for (uint32_t a = 0; a < res.n_audit; a++) {
				if (res.audit[a].action != FERRY_POLICY_ACT_DROP)
					continue;
				size_t l = 0, h = n;
				while (l < h) {
					size_t mid = l + (h - l) / 2;
					if (v->offs[mid] < res.audit[a].offset)
						l = mid + 1;
					else
						h = mid;
				}
				if (l == n || v->offs[l] != res.audit[a].offset)
					goto err_map;
				ndrop += !v->dropped[l];
				v->dropped[l] = 1;
			}
			if (ndrop != res.records_dropped)
				goto err_map;
			for (i = 0; i < n; i++)
				if (v->dropped[i])
					vp->c.dropped += in_range(v->offs[i], lo, end);
			if (res.out_len == 0) {
				if (ndrop != n)
					goto err_map;
				return 0;
			}
			rc = ferry_kafka_batch_parse(ferry_span_make(res.out, res.out_len), &ob,
						     &consumed);
			if (rc == 0)
				rc = ferry_kafka_batch_records(v->cc, &ob, v->dec2,
							       V_POLICY_BATCH + 4096, &orb);
			if (rc < 0)
				goto err_batch;
			ferry_kafka_rec_iter_init(&ri, orb, ob.hdr.RecordsCount);
			while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1) {
				while (k < n && v->dropped[k])
					k++;
				if (k == n)
					goto err_map;
				if (in_range(v->offs[k], lo, end) &&
				    (rc = expect(v, &ob.hdr, &r, v->offs[k])) < 0)
					goto err_batch;
				k++;
			}
			while (k < n && v->dropped[k])
				k++;
			if (rc < 0)
				goto err_batch;
			if (k != n)
				goto err_map;
			return 0;
		}
		/* UNCHANGED: the original records leave as they are. */
	}
#endif
	ferry_kafka_rec_iter_init(&ri, rb, b->hdr.RecordsCount);
	while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1) {
		int64_t off = b->hdr.BaseOffset + r.OffsetDelta;
		if (in_range(off, lo, end) && (rc = expect(v, &b->hdr, &r, off)) < 0)
			break;
	}
	if (rc < 0)
		goto err_batch;
	return 0;

err_batch:
	snprintf(err, errlen, "source %s [%" PRId32 "] batch at %" PRId64 ": %s", vp->topic,
		 vp->partition, b->hdr.BaseOffset,
		 rc == -ENOMEM ? "out of memory" : ferry_err_desc(rc));
	return rc == -ENOMEM ? rc : -EIO;
#ifdef FERRY_VERIFY_POLICY
err_map:
	snprintf(err, errlen,
		 "source %s [%" PRId32 "] batch at %" PRId64 ": the policy's rebuilt batch does "
		 "not line up with the original records minus the dropped ones",
		 vp->topic, vp->partition, b->hdr.BaseOffset);
	return -EPROTO;
#endif
}

static int
txn_cmp(const void *x, const void *y)
{
	const struct ferry_kafka_aborted_txn *a = x, *b = y;
	return a->FirstOffset < b->FirstOffset ? -1 : a->FirstOffset > b->FirstOffset;
}

static bool
pid_aborted(struct vctx *v, int64_t pid, bool remove)
{
	for (size_t i = 0; i < v->n_abort_pids; i++) {
		if (v->abort_pids[i] != pid)
			continue;
		if (remove)
			v->abort_pids[i] = v->abort_pids[--v->n_abort_pids];
		return true;
	}
	return false;
}

/* Is this control batch an ABORT marker? */
static bool
is_abort_marker(const struct ferry_kafka_batch *b)
{
	struct ferry_kafka_rec_iter ri;
	struct ferry_kafka_record r;
	int16_t type;

	ferry_kafka_rec_iter_init(&ri, b->records, b->hdr.RecordsCount);
	return ferry_kafka_rec_next(&ri, &r) == 1 && ferry_kafka_control_type(&r, &type) == 0 &&
	       type == FERRY_KAFKA_CONTROL_ABORT;
}

static bool
retriable(int rc)
{
	return rc < 0 || rc == FERRY_ERR_NOT_LEADER_OR_FOLLOWER ||
	       rc == FERRY_ERR_LEADER_NOT_AVAILABLE || rc == FERRY_ERR_FENCED_LEADER_EPOCH ||
	       rc == FERRY_ERR_UNKNOWN_LEADER_EPOCH || rc == FERRY_ERR_REQUEST_TIMED_OUT;
}

/* Read source topic/partition [low watermark, last stable offset) into v->m. */
static int
read_source(struct vctx *v, struct ferry_verify_part *vp, char *err, size_t errlen)
{
	int64_t lo, hi, offset, end = -1, progress;
	rd_kafka_resp_err_t e;
	int attempts = 0;

	e = rd_kafka_query_watermark_offsets(v->src, vp->topic, vp->partition, &lo, &hi,
					     v->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "source %s [%" PRId32 "]: watermarks: %s", vp->topic,
			 vp->partition, rd_kafka_err2str(e));
		return -EHOSTUNREACH;
	}
	vp->src_lo = vp->src_end = lo;
	if (vp->decision == FERRY_VERIFY_DENY) {
		/* Not read: nothing of it may leave; the count is for the report. */
		vp->src_end = hi;
		vp->c.source = (uint64_t)(hi - lo);
		return 0;
	}
	if (hi <= lo)
		return 0;
	offset = lo;
	progress = now_ms();
	while (end < 0 || offset < end) {
		struct ferry_kafka_fetch_resp_part *part = NULL;
		struct ferry_kafka_batch_iter it;
		struct ferry_kafka_batch b;
		struct ferry_arena a;
		int64_t next = offset;
		int rc;

		struct ferry_kclient *kc = leader(v, vp->topic, vp->partition, err, errlen);
		if (kc == NULL) {
			rc = -EHOSTUNREACH;
			goto retry;
		}
		ferry_arena_init(&a, v->arena_mem, V_ARENA_BYTES);
		rc = ferry_kclient_fetch_partition(kc, vp->topic, vp->partition, offset,
						   1 /* READ_COMMITTED */, V_FETCH_BYTES, V_POLL_MS,
						   &a, &part, err, errlen);
		if (rc != 0) {
			if (rc > 0)
				snprintf(err, errlen,
					 "source %s [%" PRId32 "] fetch at %" PRId64 ": %s",
					 vp->topic, vp->partition, offset, ferry_err_name(rc));
			if (rc < 0)
				broker_drop(v, kc);
			goto retry;
		}
		attempts = 0;
		if (end < 0) {
			/* The end read first: what was committed when the check started. */
			end = part->LastStableOffset >= 0 ? part->LastStableOffset
							  : part->HighWatermark;
			if (end > hi)
				end = hi;
			vp->src_end = end;
		}
		/* Aborted transactions of this response, in FirstOffset order. */
		v->n_aborted = 0;
		v->n_abort_pids = 0;
		if (part->n_aborted > 0) {
			if (grow((void **)&v->aborted, &v->aborted_cap, (size_t)part->n_aborted,
				 sizeof(*v->aborted)) != 0)
				return -ENOMEM;
			memcpy(v->aborted, part->AbortedTransactions,
			       (size_t)part->n_aborted * sizeof(*v->aborted));
			v->n_aborted = (size_t)part->n_aborted;
			qsort(v->aborted, v->n_aborted, sizeof(*v->aborted), txn_cmp);
		}
		size_t ai = 0;
		ferry_kafka_batch_iter_init(&it, part->Records);
		while ((rc = ferry_kafka_batch_next(&it, &b)) == 1) {
			int64_t last = ferry_kafka_batch_last_offset(&b.hdr);
			if (last < offset)
				continue; /* a fetch may start mid-batch */
			if (b.hdr.BaseOffset >= end)
				break;
			if ((rc = ferry_kafka_batch_validate(&b)) < 0) {
				snprintf(
				    err, errlen, "source %s [%" PRId32 "] batch at %" PRId64 ": %s",
				    vp->topic, vp->partition, b.hdr.BaseOffset, ferry_err_desc(rc));
				return -EIO;
			}
			next = last + 1;
			if (ferry_kafka_batch_is_transactional(&b.hdr)) {
				while (ai < v->n_aborted && v->aborted[ai].FirstOffset <= last) {
					if (!pid_aborted(v, v->aborted[ai].ProducerId, false)) {
						if (grow((void **)&v->abort_pids,
							 &v->abort_pids_cap, v->n_abort_pids + 1,
							 sizeof(*v->abort_pids)) != 0)
							return -ENOMEM;
						v->abort_pids[v->n_abort_pids++] =
						    v->aborted[ai].ProducerId;
					}
					ai++;
				}
			}
			if (ferry_kafka_batch_is_control(&b.hdr)) {
				if (ferry_kafka_batch_is_transactional(&b.hdr) &&
				    is_abort_marker(&b))
					pid_aborted(v, b.hdr.ProducerId, true);
				continue;
			}
			if (ferry_kafka_batch_is_transactional(&b.hdr) &&
			    pid_aborted(v, b.hdr.ProducerId, false))
				continue; /* aborted: never visible to a read_committed reader */
			if ((rc = expect_batch(v, vp, &b, lo, end, err, errlen)) < 0)
				return rc;
		}
		if (rc < 0) {
			snprintf(err, errlen, "source %s [%" PRId32 "] at %" PRId64 ": %s",
				 vp->topic, vp->partition, offset, ferry_err_desc(rc));
			return -EIO;
		}
		if (next == offset) {
			/* Nothing new (an empty answer, or a gap): bounded by the timeout. */
			if (now_ms() - progress > v->timeout_ms) {
				snprintf(err, errlen,
					 "source %s [%" PRId32 "]: no progress at offset %" PRId64
					 " (end %" PRId64 ")",
					 vp->topic, vp->partition, offset, end);
				return -ETIMEDOUT;
			}
			continue;
		}
		progress = now_ms();
		offset = next;
		continue;
	retry:
		if (!retriable(rc) || ++attempts > V_RETRIES)
			return rc < 0 ? rc : -EIO;
		sleep_ms(200);
		if (metadata(v, true, err, errlen) != 0)
			return -EHOSTUNREACH;
	}
	return 0;
}

/* ---- actual side --------------------------------------------------------------------------- */

/* Read remote/partition on the target [low, high) with librdkafka and match (or, for a denied
 * topic, count) every record. */
static int
read_target(struct vctx *v, struct ferry_verify_part *vp, char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *tp;
	rd_kafka_resp_err_t e;
	int64_t lo, hi, progress;
	int rc = 0;

	e = rd_kafka_query_watermark_offsets(v->dst, vp->remote, vp->partition, &lo, &hi,
					     v->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "target %s [%" PRId32 "]: watermarks: %s", vp->remote,
			 vp->partition, rd_kafka_err2str(e));
		return -EHOSTUNREACH;
	}
	vp->dst_lo = lo;
	vp->dst_end = hi;
	if (hi <= lo)
		return 0;
	tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, vp->remote, vp->partition)->offset = lo;
	e = rd_kafka_assign(v->dst, tp);
	rd_kafka_topic_partition_list_destroy(tp);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "target %s [%" PRId32 "]: assign: %s", vp->remote,
			 vp->partition, rd_kafka_err2str(e));
		return -EIO;
	}
	progress = now_ms();
	bool eof_seen = false;
	for (;;) {
		if (now_ms() - progress > v->timeout_ms) {
			if (eof_seen)
				break; /* the end of the committed data stayed below high */
			snprintf(err, errlen,
				 "target %s [%" PRId32 "]: no progress towards offset %" PRId64,
				 vp->remote, vp->partition, hi);
			rc = -ETIMEDOUT;
			break;
		}
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(v->dst, V_POLL_MS);
		if (msg == NULL)
			continue;
		if (msg->rkt != NULL && (msg->partition != vp->partition ||
					 strcmp(rd_kafka_topic_name(msg->rkt), vp->remote) != 0)) {
			rd_kafka_message_destroy(msg); /* left over from an earlier assignment */
			continue;
		}
		if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			/* The end of the committed data: high, or the last stable offset when a
			 * transaction is open (its records are not visible, rightly). An end
			 * below the high watermark read first is taken only once nothing more
			 * comes for the timeout: a consumer right after a leader change can
			 * report an end early, and a record missed that way would be
			 * reported as lost. */
			int64_t at = msg->offset;
			rd_kafka_message_destroy(msg);
			if (at >= hi)
				break;
			eof_seen = true;
			continue;
		}
		if (msg->err == RD_KAFKA_RESP_ERR__BAD_MSG ||
		    msg->err == RD_KAFKA_RESP_ERR__BAD_COMPRESSION) {
			/* CRC mismatch or undecodable batch on the target: a failed copy. */
			vp->c.corrupt++;
			rd_kafka_message_destroy(msg);
			continue;
		}
		if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			bool fatal = msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
				     msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
				     msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
				     msg->err == RD_KAFKA_RESP_ERR__FATAL;
			if (fatal) {
				snprintf(err, errlen, "target %s [%" PRId32 "]: %s", vp->remote,
					 vp->partition, rd_kafka_message_errstr(msg));
				rd_kafka_message_destroy(msg);
				rc = -EIO;
				break;
			}
			rd_kafka_message_destroy(msg); /* transient: librdkafka retries */
			continue;
		}
		progress = now_ms();
		int64_t off = msg->offset;
		if (off >= hi) {
			rd_kafka_message_destroy(msg);
			break; /* written after the check started */
		}
		vp->c.found++;
		if (vp->decision == FERRY_VERIFY_DENY) {
			vp->c.denied++;
		} else {
			struct vdigest d;
			digest_rdk(msg, !v->c->ignore_timestamps, &d);
			m_match(&v->m, &d, off, vp);
		}
		rd_kafka_message_destroy(msg);
		if (off >= hi - 1)
			break;
	}
	rd_kafka_assign(v->dst, NULL);
	return rc;
}

/* ---- driver -------------------------------------------------------------------------------- */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The topics to check: the caller's, or every non-internal topic of the source, sorted. */
static int
topics_list(struct vctx *v, char ***out, size_t *n)
{
	const struct ferry_verify_conf *c = v->c;
	size_t cap = c->n_topics ? c->n_topics : (size_t)v->smd->topic_cnt;
	char **t = calloc(cap + 1, sizeof(*t));

	*n = 0;
	if (t == NULL)
		return -ENOMEM;
	if (c->n_topics) {
		for (size_t i = 0; i < c->n_topics; i++)
			if ((t[(*n)++] = strdup(c->topics[i])) == NULL)
				goto out_nomem;
	} else {
		for (int i = 0; i < v->smd->topic_cnt; i++) {
			const char *name = v->smd->topics[i].topic;
			if (v->smd->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
			    ferry_mm2_is_internal_topic(&v->naming, name) ||
			    ferry_mm2_is_heartbeats_topic(&v->naming, name))
				continue;
			if ((t[(*n)++] = strdup(name)) == NULL)
				goto out_nomem;
		}
		qsort(t, *n, sizeof(*t), str_cmp);
	}
	*out = t;
	return 0;
out_nomem:
	for (size_t i = 0; i < *n; i++)
		free(t[i]);
	free(t);
	return -ENOMEM;
}

static void
counts_add(struct ferry_verify_counts *t, const struct ferry_verify_counts *c)
{
	t->source += c->source;
	t->expected += c->expected;
	t->dropped += c->dropped;
	t->quarantined += c->quarantined;
	t->found += c->found;
	t->lost += c->lost;
	t->duplicates += c->duplicates;
	t->out_of_order += c->out_of_order;
	t->unexpected += c->unexpected;
	t->denied += c->denied;
	t->corrupt += c->corrupt;
}

bool
ferry_verify_counts_pass(const struct ferry_verify_counts *c, bool at_least_once)
{
	return c->lost == 0 && c->out_of_order == 0 && c->unexpected == 0 && c->denied == 0 &&
	       c->corrupt == 0 && (at_least_once || c->duplicates == 0);
}

static int
check_topic(struct vctx *v, struct ferry_verify_report *r, const char *topic, char *err,
	    size_t errlen)
{
	char remote[FERRY_MM2_TOPIC_MAX + 1];
	int rc;

	if (v->c->source_alias == NULL && ferry_mm2_is_heartbeats_topic(&v->naming, topic)) {
		snprintf(err, errlen, "topic '%s': its remote name needs the source alias", topic);
		return -EINVAL;
	}
	rc = ferry_mm2_remote_topic(&v->naming, v->c->source_alias, topic, remote, sizeof(remote));
	if (rc < 0 || strlen(topic) > FERRY_MM2_TOPIC_MAX) {
		snprintf(err, errlen, "topic '%s': no remote name (%s)", topic,
			 strerror(rc < 0 ? -rc : ENAMETOOLONG));
		return -EINVAL;
	}
	const rd_kafka_metadata_topic_t *st = md_topic(v->smd, topic);
	const rd_kafka_metadata_topic_t *dt = md_topic(v->dmd, remote);
	int32_t np = 0;
	for (int i = 0; st && i < st->partition_cnt; i++)
		np = st->partitions[i].id + 1 > np ? st->partitions[i].id + 1 : np;
	for (int i = 0; dt && i < dt->partition_cnt; i++)
		np = dt->partitions[i].id + 1 > np ? dt->partitions[i].id + 1 : np;
	enum ferry_verify_decision dec = decide(v, topic);
	if (np == 0)
		np =
		    1; /* a line for a topic neither cluster has: nothing expected, nothing found */

	struct ferry_verify_part *parts =
	    realloc(r->parts, (r->n_parts + (size_t)np) * sizeof(*parts));
	if (parts == NULL)
		return -ENOMEM;
	r->parts = parts;
	r->n_topics++;
	for (int32_t p = 0; p < np; p++) {
		struct ferry_verify_part *vp = &r->parts[r->n_parts++];
		memset(vp, 0, sizeof(*vp));
		snprintf(vp->topic, sizeof(vp->topic), "%s", topic);
		snprintf(vp->remote, sizeof(vp->remote), "%s", remote);
		vp->partition = p;
		vp->decision = dec;
		vp->on_source = md_part(st, p) != NULL;
		vp->on_target = md_part(dt, p) != NULL;
		vp->src_lo = vp->src_end = vp->dst_lo = vp->dst_end = -1;
		vp->first_lost = vp->first_duplicate = vp->first_out_of_order =
		    vp->first_unexpected = -1;
		m_reset(&v->m);
		if (vp->on_source && (rc = read_source(v, vp, err, errlen)) != 0)
			return rc;
		vp->c.expected = v->m.n;
		if ((rc = m_build(&v->m)) != 0) {
			snprintf(err, errlen, "%s [%" PRId32 "]: %s", topic, p, strerror(-rc));
			return rc;
		}
		if (vp->on_target && (rc = read_target(v, vp, err, errlen)) != 0)
			return rc;
		m_finish(&v->m, vp);
		counts_add(&r->total, &vp->c);
	}
	return 0;
}

int
ferry_verify_run(const struct ferry_verify_conf *c, struct ferry_verify_report *r, char *err,
		 size_t errlen)
{
	struct vctx *v;
	char **topics = NULL;
	size_t n_topics = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	r->at_least_once = c->at_least_once;
	if (c->source_bootstrap == NULL || c->target_bootstrap == NULL) {
		snprintf(err, errlen, "source and target bootstrap servers are required");
		return -EINVAL;
	}
	if (c->policy == FERRY_MM2_POLICY_DEFAULT &&
	    (c->source_alias == NULL || !*c->source_alias)) {
		snprintf(err, errlen, "the Default replication policy needs the source alias");
		return -EINVAL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -ENOMEM;
	v->c = c;
	v->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
	v->m.max_matched = -1;
	rc = ferry_mm2_policy_init(&v->naming, c->policy, c->separator, true, c->source_alias);
	if (rc != 0) {
		snprintf(err, errlen, "replication policy: bad separator or alias");
		goto out;
	}
	v->arena_mem = malloc(V_ARENA_BYTES);
	v->dec = malloc(V_DEC_BYTES);
	v->dec2 = malloc(V_POLICY_BATCH + 4096);
	v->cc = ferry_codec_ctx_new();
	if (!v->arena_mem || !v->dec || !v->dec2 || !v->cc) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = policy_init(v, err, errlen)) != 0)
		goto out;
	if ((v->src = rk_new(c->source_bootstrap, false, err, errlen)) == NULL ||
	    (v->dst = rk_new(c->target_bootstrap, true, err, errlen)) == NULL) {
		rc = -EINVAL;
		goto out;
	}
	if ((rc = metadata(v, true, err, errlen)) != 0 ||
	    (rc = metadata(v, false, err, errlen)) != 0)
		goto out;
	if ((rc = topics_list(v, &topics, &n_topics)) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_topics; i++)
		if ((rc = check_topic(v, r, topics[i], err, errlen)) != 0)
			goto out;
	r->pass = ferry_verify_counts_pass(&r->total, c->at_least_once);
out:
	for (size_t i = 0; i < n_topics; i++)
		free(topics[i]);
	free(topics);
	for (size_t i = 0; i < v->n_brokers; i++)
		if (v->brokers[i].up)
			ferry_kclient_close(&v->brokers[i].kc);
	if (v->smd)
		rd_kafka_metadata_destroy(v->smd);
	if (v->dmd)
		rd_kafka_metadata_destroy(v->dmd);
	if (v->dst) {
		rd_kafka_consumer_close(v->dst);
		rd_kafka_destroy(v->dst);
	}
	if (v->src)
		rd_kafka_destroy(v->src);
	policy_fini(v);
	m_free(&v->m);
	ferry_codec_ctx_free(v->cc);
	free(v->arena_mem);
	free(v->dec);
	free(v->dec2);
	free(v->offs);
	free(v->dropped);
	free(v->aborted);
	free(v->abort_pids);
	free(v);
	if (rc != 0)
		r->pass = false;
	return rc;
}

void
ferry_verify_report_free(struct ferry_verify_report *r)
{
	free(r->parts);
	memset(r, 0, sizeof(*r));
}

/* ---- report -------------------------------------------------------------------------------- */

static const char *
decision_name(enum ferry_verify_decision d)
{
	return d == FERRY_VERIFY_DENY ? "deny" : d == FERRY_VERIFY_INSPECT ? "inspect" : "permit";
}

/* Topic names are [a-zA-Z0-9._-] in Kafka; anything else is escaped anyway. */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
json_counts(FILE *f, const struct ferry_verify_counts *c)
{
	fprintf(f,
		"\"source\":%" PRIu64 ",\"expected\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"quarantined\":%" PRIu64 ",\"found\":%" PRIu64 ",\"lost\":%" PRIu64
		",\"duplicates\":%" PRIu64 ",\"out_of_order\":%" PRIu64 ",\"unexpected\":%" PRIu64
		",\"denied\":%" PRIu64 ",\"corrupt\":%" PRIu64,
		c->source, c->expected, c->dropped, c->quarantined, c->found, c->lost,
		c->duplicates, c->out_of_order, c->unexpected, c->denied, c->corrupt);
}

static void
print_firsts(FILE *f, const struct ferry_verify_part *vp)
{
	if (vp->first_lost >= 0)
		fprintf(f, "; first lost: source offset %" PRId64, vp->first_lost);
	if (vp->first_duplicate >= 0)
		fprintf(f, "; first duplicate: target offset %" PRId64, vp->first_duplicate);
	if (vp->first_out_of_order >= 0)
		fprintf(f, "; first out of order: target offset %" PRId64, vp->first_out_of_order);
	if (vp->first_unexpected >= 0)
		fprintf(f, "; first unexpected: target offset %" PRId64, vp->first_unexpected);
}

void
ferry_verify_report_print(FILE *f, const struct ferry_verify_report *r, bool json)
{
	const char *mode = r->at_least_once ? "at-least-once" : "exactly-once";

	if (json) {
		fprintf(
		    f, "{\"pass\":%s,\"mode\":\"%s\",\"topics\":%zu,\"partitions\":%zu,\"total\":{",
		    r->pass ? "true" : "false", mode, r->n_topics, r->n_parts);
		json_counts(f, &r->total);
		fputs("},\"details\":[", f);
		for (size_t i = 0; i < r->n_parts; i++) {
			const struct ferry_verify_part *vp = &r->parts[i];
			fputs(i ? ",{\"topic\":" : "{\"topic\":", f);
			json_str(f, vp->topic);
			fputs(",\"remote\":", f);
			json_str(f, vp->remote);
			fprintf(f,
				",\"partition\":%" PRId32 ",\"decision\":\"%s\",\"on_source\":%s,"
				"\"on_target\":%s,\"source_range\":[%" PRId64 ",%" PRId64
				"],\"target_range\":[%" PRId64 ",%" PRId64 "],",
				vp->partition, decision_name(vp->decision),
				vp->on_source ? "true" : "false", vp->on_target ? "true" : "false",
				vp->src_lo, vp->src_end, vp->dst_lo, vp->dst_end);
			json_counts(f, &vp->c);
			fprintf(f,
				",\"first_lost\":%" PRId64 ",\"first_duplicate\":%" PRId64
				",\"first_out_of_order\":%" PRId64 ",\"first_unexpected\":%" PRId64
				",\"pass\":%s}",
				vp->first_lost, vp->first_duplicate, vp->first_out_of_order,
				vp->first_unexpected,
				ferry_verify_counts_pass(&vp->c, r->at_least_once) ? "true"
										   : "false");
		}
		fputs("]}\n", f);
		return;
	}
	for (size_t i = 0; i < r->n_parts; i++) {
		const struct ferry_verify_part *vp = &r->parts[i];
		const struct ferry_verify_counts *c = &vp->c;
		bool ok = ferry_verify_counts_pass(c, r->at_least_once);
		fprintf(f, "%s [%" PRId32 "] -> %s%s %s: ", vp->topic, vp->partition, vp->remote,
			vp->on_target ? "" : " (absent)", decision_name(vp->decision));
		if (vp->decision == FERRY_VERIFY_DENY)
			fprintf(f, "source %" PRIu64 ", on target %" PRIu64 " (denied %" PRIu64 ")",
				c->source, c->found, c->denied);
		else
			fprintf(f,
				"source %" PRIu64 " expected %" PRIu64 " (dropped %" PRIu64
				", quarantined %" PRIu64 ") found %" PRIu64 " lost %" PRIu64
				" duplicates %" PRIu64 " out_of_order %" PRIu64
				" unexpected %" PRIu64,
				c->source, c->expected, c->dropped, c->quarantined, c->found,
				c->lost, c->duplicates, c->out_of_order, c->unexpected);
		if (c->corrupt)
			fprintf(f, " corrupt %" PRIu64, c->corrupt);
		fputs(ok ? " ok" : " FAIL", f);
		print_firsts(f, vp);
		fputc('\n', f);
	}
	const struct ferry_verify_counts *t = &r->total;
	fprintf(f,
		"total (%s, %zu topic(s), %zu partition(s)): source %" PRIu64 " expected %" PRIu64
		" found %" PRIu64 " lost %" PRIu64 " duplicates %" PRIu64 " out_of_order %" PRIu64
		" unexpected %" PRIu64 " denied %" PRIu64 " corrupt %" PRIu64 ": %s\n",
		mode, r->n_topics, r->n_parts, t->source, t->expected, t->found, t->lost,
		t->duplicates, t->out_of_order, t->unexpected, t->denied, t->corrupt,
		r->pass ? "PASS" : "FAIL");
}

/* ---- ferryctl verify ---------------------------------------------------------------------- */

static void
verify_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: ferryctl verify --source H:P --target H:P [--source-alias A]\n"
	    "                       [--policy default|identity] [--separator S] [--rules FILE]\n"
	    "                       [--key FILE] [--topic T]... [--at-least-once]\n"
	    "                       [--ignore-timestamps] [--timeout MS] [--json]\n"
	    "Exit status: 0 every check passed, 1 a check failed, 2 usage or connection error.\n");
}

int
ferryctl_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "target", required_argument, NULL, 'd' },
		{ "source-alias", required_argument, NULL, 'a' },
		{ "policy", required_argument, NULL, 'P' },
		{ "separator", required_argument, NULL, 'S' },
		{ "rules", required_argument, NULL, 'r' },
		{ "key", required_argument, NULL, 'k' },
		{ "topic", required_argument, NULL, 't' },
		{ "at-least-once", no_argument, NULL, 'L' },
		{ "ignore-timestamps", no_argument, NULL, 'I' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ferry_verify_conf c = { .policy = FERRY_MM2_POLICY_DEFAULT };
	struct ferry_verify_report r;
	const char **topics = calloc((size_t)argc + 1, sizeof(*topics));
	char err[1024] = "";
	bool json = false;
	int o, status = 2;

	if (topics == NULL)
		return 2;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		switch (o) {
		case 's': c.source_bootstrap = optarg; break;
		case 'd': c.target_bootstrap = optarg; break;
		case 'a': c.source_alias = optarg; break;
		case 'S': c.separator = optarg; break;
		case 'r': c.rules_file = optarg; break;
		case 'k': c.key_file = optarg; break;
		case 't': topics[c.n_topics++] = optarg; break;
		case 'L': c.at_least_once = true; break;
		case 'I': c.ignore_timestamps = true; break;
		case 'j': json = true; break;
		case 'P':
			if (strcmp(optarg, "default") == 0)
				c.policy = FERRY_MM2_POLICY_DEFAULT;
			else if (strcmp(optarg, "identity") == 0)
				c.policy = FERRY_MM2_POLICY_IDENTITY;
			else if (ferry_mm2_policy_kind_parse(optarg, &c.policy) != 0) {
				fprintf(stderr, "verify: --policy: default, identity or a "
						"replication.policy.class\n");
				goto out;
			}
			break;
		case 'T': {
			long ms = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || ms <= 0 || ms > 3600000) {
				fprintf(stderr, "verify: --timeout: milliseconds, 1..3600000\n");
				goto out;
			}
			c.timeout_ms = (int)ms;
			break;
		}
		case 'h':
			verify_usage(stdout);
			status = 0;
			goto out;
		default: verify_usage(stderr); goto out;
		}
	}
	if (optind != argc || c.source_bootstrap == NULL || c.target_bootstrap == NULL ||
	    (c.policy == FERRY_MM2_POLICY_DEFAULT && c.source_alias == NULL)) {
		fprintf(stderr, "verify: --source, --target and (with the default policy) "
				"--source-alias are required\n");
		verify_usage(stderr);
		goto out;
	}
	c.topics = topics;
	int rc = ferry_verify_run(&c, &r, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "verify: %s\n", err);
		ferry_verify_report_free(&r);
		goto out;
	}
	ferry_verify_report_print(stdout, &r, json);
	status = r.pass ? 0 : 1;
	ferry_verify_report_free(&r);
out:
	free(topics);
	return status;
}
