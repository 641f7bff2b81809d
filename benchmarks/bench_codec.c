/*
 * bench_codec.c - micro-benchmark of the RecordBatch v2 hot path against memory and CRC
 * baselines, over the same bytes in the same run.
 *
 * It builds a working set of uncompressed v2 batches through the public API (default:
 * 64 MiB of ~1 MiB batches holding 1 KiB JSON trade records, so the data comes from DRAM;
 * --in-cache: one 1 MiB batch), then times four kernels over those bytes:
 *   (a) parse + CRC32C verify + record iteration, touching every key and value span;
 *   (b) header rewrite (BaseOffset, ProducerId/Epoch/BaseSequence) + CRC32C recompute;
 *   (c) memcpy of every batch into a separate destination buffer (baseline);
 *   (d) a raw ferry_crc32c() pass over every batch (baseline);
 * and, to show where (a)'s time goes, (a) without the CRC (the record walk alone).
 * Each round runs every kernel over the working set, in an order rotated from round to
 * round, so drift in the machine (frequency, neighbours on a VM) hits all of them alike.
 * One sample is one batch, so a sample the scheduler interrupts is an outlier that the
 * median drops. It prints GB/s, cycles/byte (TSC reference cycles where rdtsc exists),
 * ns/byte, and the ratios the codec is held to: (a)/(c) <= 1.5 and (b)/(d) <= 1.2.
 *
 * Single-threaded, no DPDK; uses only the public headers (STYLE §11: benchmarks measure the
 * API). Exit status: 0; 1 with --check when a target is missed; 2 on a usage or setup error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ferry/common.h"
#include "ferry/kafka.h"

/*
 * The tick source. On x86 the TSC is invariant on every CPU we run on (constant_tsc,
 * nonstop_tsc), so its ticks are reference cycles at the nominal clock; elsewhere ticks are
 * CLOCK_MONOTONIC nanoseconds and cycles are not reported. Picked at file scope so that no
 * function carries an #ifdef (STYLE §13).
 */
static uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_TSC 1
static inline uint64_t
bench_ticks(void)
{
	return __rdtsc();
}
#else
#define BENCH_HAVE_TSC 0
static inline uint64_t
bench_ticks(void)
{
	return bench_now_ns();
}
#endif

#define MIB ((size_t)1 << 20)
#define KIB ((size_t)1 << 10)

/* A kernel sweeps a small (in-cache) working set repeatedly in each round, until it has
 * processed at least this many bytes, so that every round holds enough samples. */
#define BENCH_MIN_ROUND_BYTES (64 * MIB)
#define BENCH_KEY_LEN 16
#define BENCH_MIN_VALUE_LEN 8
#define BENCH_MAX_ROUNDS 101

/* Targets from the issue: the codec may cost this much more than the baseline. */
#define BENCH_TARGET_PARSE_VS_MEMCPY 1.5
#define BENCH_TARGET_REWRITE_VS_CRC 1.2

enum {
	OPT_RECORD_SIZE = 256, /* long-only options (STYLE rule 11) */
	OPT_TOTAL_MB,
	OPT_BATCH_KB,
	OPT_ITERS,
	OPT_IN_CACHE,
	OPT_CHECK,
	OPT_CSV,
	OPT_HELP,
};

struct bench_cfg {
	size_t record_size; /* wire bytes per record, length prefix included */
	size_t total_bytes; /* working set of batches */
	size_t batch_bytes; /* upper bound on one batch */
	unsigned iters;     /* rounds; each kernel is timed once per round */
	bool in_cache;
	bool check;
	bool csv;
};

/* The working set: batches back to back, as in a Fetch response's Records blob. */
struct bench_ws {
	uint8_t *buf;
	size_t len;
	uint8_t *dst; /* memcpy destination, same size, separate pages */
	size_t n_batches;
	size_t *batch_off;
	size_t *batch_len;
	int32_t *batch_count;
	uint64_t n_records;
	uint64_t n_with_headers;
	uint64_t value_bytes;
	/* Rewrite state: the destination offsets and sequences advance as a replicator's do. */
	int64_t next_offset;
	int32_t next_seq;
};

typedef int (*bench_kernel_fn)(struct bench_ws *ws, size_t bi, uint64_t *acc);

struct bench_kernel {
	const char *id;
	const char *label;
	bench_kernel_fn fn;
};

/* Per-byte costs of one kernel: quantiles over all its samples (one sample = one batch). */
struct bench_result {
	double cyc_per_b; /* median, ticks per byte */
	double ns_per_b;  /* median, through the measured tick rate */
	double p10;       /* ticks per byte, 10th and 90th percentile */
	double p90;
};

struct bench_timing {
	double tick_ghz; /* ticks per ns over the timed part */
	size_t passes;   /* sweeps of the working set per kernel per round */
	size_t samples;  /* per kernel */
	long preempted;  /* involuntary context switches while timing */
};

/* Keeps every kernel's result alive so the compiler cannot drop the work. */
static volatile uint64_t bench_sink;

/* ---- workload ---------------------------------------------------------------------------- */

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64*: enough variety for field values, reproducible from the seed. */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(2685821657736338717);
}

/* Append src to out[*pos..cap) if it fits entirely; returns whether it did. */
static bool
append_if_fits(char *out, size_t *pos, size_t cap, const char *src, size_t n)
{
	if (*pos + n > cap)
		return false;
	memcpy(out + *pos, src, n);
	*pos += n;
	return true;
}

/*
 * A JSON trade object of exactly 'len' bytes (len >= 2): as many fields as fit, then a
 * "note" string of filler text up to the length. Short records keep the first fields only,
 * as real small messages do.
 */
static void
make_value(char *out, size_t len, uint64_t *rng, uint64_t seq)
{
	static const char *const syms[] = { "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "TSLA",
					    "META", "JPM",  "XOM",  "BRK.B" };
	static const char *const venues[] = { "XNAS", "XNYS", "ARCX", "BATS", "IEXG" };
	static const char *const strats[] = { "twap-v2", "vwap", "pov-15", "dark-sweep" };
	static const char filler[] = "lorem ipsum dolor sit amet consectetur adipiscing elit ";
	char field[96];
	size_t pos = 0, cap = len - 1; /* room for the closing brace */
	uint64_t r = rng_next(rng);
	int n;

	out[pos++] = '{';
	for (unsigned f = 0; f < 10; f++) {
		const char *sep = f ? "," : "";
		switch (f) {
		case 0:
			n = snprintf(field, sizeof(field), "%s\"trade_id\":%" PRIu64, sep,
				     UINT64_C(880000000000) + seq);
			break;
		case 1:
			n = snprintf(field, sizeof(field), "%s\"sym\":\"%s\"", sep, syms[r % 10]);
			break;
		case 2:
			n = snprintf(field, sizeof(field), "%s\"side\":\"%s\"", sep,
				     (r >> 8) & 1 ? "BUY" : "SELL");
			break;
		case 3:
			n = snprintf(field, sizeof(field), "%s\"qty\":%u", sep,
				     (unsigned)(1 + (r >> 9) % 5000));
			break;
		case 4:
			n = snprintf(field, sizeof(field), "%s\"px\":%u.%02u", sep,
				     (unsigned)(10 + (r >> 22) % 900), (unsigned)((r >> 32) % 100));
			break;
		case 5:
			n = snprintf(field, sizeof(field), "%s\"ccy\":\"USD\"", sep);
			break;
		case 6:
			n = snprintf(field, sizeof(field), "%s\"venue\":\"%s\"", sep,
				     venues[(r >> 40) % 5]);
			break;
		case 7:
			n = snprintf(field, sizeof(field),
				     "%s\"ts\":\"2024-05-01T%02u:%02u:%02u.%03uZ\"", sep,
				     (unsigned)(seq / 3600000 % 24), (unsigned)(seq / 60000 % 60),
				     (unsigned)(seq / 1000 % 60), (unsigned)(seq % 1000));
			break;
		case 8:
			n = snprintf(field, sizeof(field), "%s\"acct\":\"ACCT-%08u\"", sep,
				     (unsigned)((r >> 44) % 100000000));
			break;
		default:
			n = snprintf(field, sizeof(field), "%s\"strat\":\"%s\"", sep,
				     strats[(r >> 60) % 4]);
			break;
		}
		if (n < 0 || !append_if_fits(out, &pos, cap, field, (size_t)n))
			break;
	}
	/* ,"note":"" is 10 bytes; below that, pad with JSON whitespace. */
	if (cap - pos >= 10) {
		size_t text = cap - pos - 10, off = (size_t)(r % (sizeof(filler) - 1));
		append_if_fits(out, &pos, cap, ",\"note\":\"", 9);
		for (size_t i = 0; i < text; i++)
			out[pos++] = filler[(off + i) % (sizeof(filler) - 1)];
		out[pos++] = '"';
	}
	while (pos < cap)
		out[pos++] = ' ';
	out[pos] = '}';
}

/* Wire size of a record (length prefix included) with these parts, as the builder writes it. */
static size_t
record_wire_size(int64_t ts_delta, int32_t off_delta, size_t klen, size_t vlen,
		 const struct ferry_kafka_header *h, uint32_t nh)
{
	size_t body = 1 + ferry_varlong_size(ts_delta) + ferry_varint_size(off_delta);

	body += ferry_varint_size((int32_t)klen) + klen;
	body += ferry_varint_size((int32_t)vlen) + vlen;
	body += ferry_varint_size((int32_t)nh);
	for (uint32_t i = 0; i < nh; i++) {
		body += ferry_varint_size((int32_t)h[i].Key.len) + h[i].Key.len;
		body += ferry_varint_size((int32_t)h[i].Value.len) + h[i].Value.len;
	}
	return ferry_varint_size((int32_t)body) + body;
}

/* Per-batch scratch for the builder's input: records, keys, values, headers. */
struct bench_gen {
	struct ferry_kafka_record_in *recs;
	struct ferry_kafka_header *hdrs; /* two per record */
	char *keys;                      /* BENCH_KEY_LEN + 1 per record */
	char *trace;                     /* 16 per record */
	char *values;                    /* record_size per record */
	size_t n;
};

static void
bench_gen_free(struct bench_gen *g)
{
	free(g->recs);
	free(g->hdrs);
	free(g->keys);
	free(g->trace);
	free(g->values);
}

/* Fill the builder input for batch 'bi': n records of about record_size wire bytes each. */
static void
gen_records(struct bench_gen *g, const struct bench_cfg *cfg, size_t bi, uint64_t *rng,
	    struct bench_ws *ws)
{
	static const char src_key[] = "source", src_val[] = "nyc-2";
	static const char trace_key[] = "trace";
	int64_t base_ts = INT64_C(1714521600000) + (int64_t)(bi * g->n);

	for (size_t i = 0; i < g->n; i++) {
		struct ferry_kafka_record_in *r = &g->recs[i];
		struct ferry_kafka_header *h = &g->hdrs[2 * i];
		uint64_t seq = bi * g->n + i;
		char *key = g->keys + i * (BENCH_KEY_LEN + 1);
		char *trace = g->trace + i * 16;
		char *val = g->values + i * cfg->record_size;
		uint32_t nh = 0;

		snprintf(key, BENCH_KEY_LEN + 1, "ord-%012" PRIu64, seq % UINT64_C(1000000000000));
		/* A header or two on some records: a trace id on one in four, plus the source
		 * region on one in sixteen. */
		if (seq % 4 == 0) {
			snprintf(trace, 16, "%015" PRIx64, rng_next(rng) >> 4);
			h[nh].Key = ferry_span_make(trace_key, sizeof(trace_key) - 1);
			h[nh].Value = ferry_span_make(trace, 15);
			nh++;
		}
		if (seq % 16 == 0) {
			h[nh].Key = ferry_span_make(src_key, sizeof(src_key) - 1);
			h[nh].Value = ferry_span_make(src_val, sizeof(src_val) - 1);
			nh++;
		}
		/* Choose the value length so that the whole record is record_size bytes. */
		int64_t ts_delta = (int64_t)i;
		size_t fixed = record_wire_size(ts_delta, (int32_t)i, BENCH_KEY_LEN, 0, h, nh);
		size_t vlen = cfg->record_size > fixed + 2 ? cfg->record_size - fixed : 0;
		while (vlen > BENCH_MIN_VALUE_LEN &&
		       record_wire_size(ts_delta, (int32_t)i, BENCH_KEY_LEN, vlen, h, nh) >
			       cfg->record_size)
			vlen--;
		if (vlen < BENCH_MIN_VALUE_LEN)
			vlen = BENCH_MIN_VALUE_LEN;
		make_value(val, vlen, rng, seq);

		r->Timestamp = base_ts + ts_delta;
		r->Key = ferry_span_make(key, BENCH_KEY_LEN);
		r->Value = ferry_span_make(val, vlen);
		r->n_headers = nh;
		r->Headers = nh ? h : NULL;
		ws->n_with_headers += nh > 0;
		ws->value_bytes += vlen;
	}
}

static void
bench_ws_free(struct bench_ws *ws)
{
	free(ws->buf);
	free(ws->dst);
	free(ws->batch_off);
	free(ws->batch_len);
	free(ws->batch_count);
}

static void *
page_alloc(size_t len)
{
	void *p = NULL;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	if (posix_memalign(&p, pg, (len + pg - 1) / pg * pg) != 0)
		return NULL;
	/* Touch every page now so no kernel takes a page fault while timed. */
	memset(p, 0, len);
	return p;
}

/* Build the working set; 0, or -errno / a negative ferry_err with a message in err. */
static int
bench_ws_build(struct bench_ws *ws, const struct bench_cfg *cfg, char *err, size_t errlen)
{
	struct bench_gen g = { 0 };
	uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);
	size_t nb = cfg->total_bytes / cfg->batch_bytes;
	int rc = -ENOMEM;

	memset(ws, 0, sizeof(*ws));
	if (nb == 0)
		nb = 1;
	g.n = (cfg->batch_bytes - FERRY_KAFKA_BATCH_HDR_SIZE) / cfg->record_size;
	if (g.n == 0)
		g.n = 1;

	ws->buf = page_alloc(nb * cfg->batch_bytes);
	ws->dst = page_alloc(nb * cfg->batch_bytes);
	ws->batch_off = calloc(nb, sizeof(*ws->batch_off));
	ws->batch_len = calloc(nb, sizeof(*ws->batch_len));
	ws->batch_count = calloc(nb, sizeof(*ws->batch_count));
	g.recs = calloc(g.n, sizeof(*g.recs));
	g.hdrs = calloc(2 * g.n, sizeof(*g.hdrs));
	g.keys = calloc(g.n, BENCH_KEY_LEN + 1);
	g.trace = calloc(g.n, 16);
	g.values = calloc(g.n, cfg->record_size > BENCH_MIN_VALUE_LEN ? cfg->record_size
								       : BENCH_MIN_VALUE_LEN);
	if (!ws->buf || !ws->dst || !ws->batch_off || !ws->batch_len || !ws->batch_count ||
	    !g.recs || !g.hdrs || !g.keys || !g.trace || !g.values) {
		snprintf(err, errlen, "out of memory for a %zu MiB working set",
			 nb * cfg->batch_bytes / MIB);
		goto out_free_gen;
	}

	struct ferry_wr w;
	ferry_wr_init(&w, ws->buf, nb * cfg->batch_bytes);
	for (size_t bi = 0; bi < nb; bi++) {
		struct ferry_kafka_batch_args a = {
			.BaseOffset = 0,
			.PartitionLeaderEpoch = 7,
			.Attributes = FERRY_CODEC_NONE,
			.ProducerId = 4242,
			.ProducerEpoch = 0,
			.BaseSequence = (int32_t)(bi * g.n),
		};
		size_t start = w.len;

		gen_records(&g, cfg, bi, &rng, ws);
		rc = ferry_kafka_batch_build(&w, &a, g.recs, g.n, NULL, NULL, 0);
		if (rc < 0) {
			snprintf(err, errlen, "batch %zu: ferry_kafka_batch_build: %s", bi,
				 ferry_err_name(rc));
			goto out_free_gen;
		}
		ws->batch_off[bi] = start;
		ws->batch_len[bi] = w.len - start;
		ws->batch_count[bi] = (int32_t)g.n;
		ws->n_records += g.n;
	}
	ws->len = w.len;
	ws->n_batches = nb;
	rc = 0;

out_free_gen:
	bench_gen_free(&g);
	return rc;
}

/* ---- kernels ----------------------------------------------------------------------------- */

/*
 * Every kernel handles one batch, so that one timed sample is one batch (tens of
 * microseconds): a sample that the scheduler interrupts is an outlier the median drops,
 * instead of a whole pass that doubles (this runs on shared machines).
 */

/* Parse batch 'bi', optionally check its CRC, and walk its records. */
static inline int
parse_batch(struct bench_ws *ws, size_t bi, bool crc, uint64_t *acc)
{
	struct ferry_kafka_batch b;
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;
	size_t used;
	uint64_t sum = 0;
	int rc;

	/* The span runs to the end of the working set, as the Records blob of a Fetch. */
	rc = ferry_kafka_batch_parse(ferry_span_make(ws->buf + ws->batch_off[bi],
						     ws->len - ws->batch_off[bi]),
				     &b, &used);
	if (rc < 0)
		return rc;
	if (crc) {
		rc = ferry_kafka_batch_validate(&b);
		if (rc < 0)
			return rc;
	}
	ferry_kafka_rec_iter_init(&it, b.records, b.hdr.RecordsCount);
	while ((rc = ferry_kafka_rec_next(&it, &r)) == 1) {
		/* Touch both spans the way a consumer of the record would start to. */
		sum += r.Key.len + r.Value.len;
		if (r.Key.len)
			sum += r.Key.p[0];
		if (r.Value.len)
			sum += r.Value.p[0];
	}
	if (rc < 0)
		return rc;
	*acc += sum;
	return 0;
}

/* (a) What a Fetch path does per batch: locate, check the CRC, walk every record. */
static int
kern_parse(struct bench_ws *ws, size_t bi, uint64_t *acc)
{
	return parse_batch(ws, bi, true, acc);
}

/* (a) without the CRC: the cost of the record walk alone, to show where (a)'s time goes. */
static int
kern_iterate(struct bench_ws *ws, size_t bi, uint64_t *acc)
{
	return parse_batch(ws, bi, false, acc);
}

/* (b) What a replicator does per batch: new offsets and producer identity, new CRC. */
static int
kern_rewrite(struct bench_ws *ws, size_t bi, uint64_t *acc)
{
	struct ferry_kafka_batch_rewrite rw = {
		.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_PRODUCER,
		.BaseOffset = ws->next_offset,
		.ProducerId = 90001,
		.ProducerEpoch = 3,
		.BaseSequence = ws->next_seq,
	};
	int rc = ferry_kafka_batch_rewrite(ws->buf + ws->batch_off[bi], ws->batch_len[bi], &rw);

	if (rc < 0)
		return rc;
	ws->next_offset += ws->batch_count[bi];
	ws->next_seq = (int32_t)(((int64_t)ws->next_seq + ws->batch_count[bi]) & INT32_MAX);
	*acc += (uint64_t)ws->next_offset;
	return 0;
}

/* (c) The floor for anything that reads and writes every byte once. */
static int
kern_memcpy(struct bench_ws *ws, size_t bi, uint64_t *acc)
{
	memcpy(ws->dst + ws->batch_off[bi], ws->buf + ws->batch_off[bi], ws->batch_len[bi]);
	*acc += ws->dst[ws->batch_off[bi] + ws->batch_len[bi] - 1];
	return 0;
}

/* (d) The floor for anything that must checksum every byte once. */
static int
kern_crc(struct bench_ws *ws, size_t bi, uint64_t *acc)
{
	*acc += ferry_crc32c(ws->buf + ws->batch_off[bi], ws->batch_len[bi]);
	return 0;
}

enum { K_PARSE, K_REWRITE, K_MEMCPY, K_CRC, K_ITERATE, K_COUNT };

static const struct bench_kernel bench_kernels[K_COUNT] = {
	[K_PARSE] = { "parse_crc_iter", "(a) parse + CRC verify + iterate", kern_parse },
	[K_REWRITE] = { "rewrite_crc", "(b) rewrite + CRC recompute", kern_rewrite },
	[K_MEMCPY] = { "memcpy", "(c) memcpy (baseline)", kern_memcpy },
	[K_CRC] = { "crc32c", "(d) CRC32C raw (baseline)", kern_crc },
	[K_ITERATE] = { "parse_iter_no_crc", "  (a) w/o CRC: parse + iterate", kern_iterate },
};

/* ---- measurement ------------------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n sorted values, nearest rank. */
static double
quantile(const double *sorted, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return sorted[i < n ? i : n - 1];
}

/* Walk the working set once through the API and check it holds what was built. */
static int
bench_verify(struct bench_ws *ws, char *err, size_t errlen)
{
	struct ferry_kafka_batch_iter bit;
	struct ferry_kafka_batch b;
	uint64_t recs = 0, batches = 0;
	int rc;

	ferry_kafka_batch_iter_init(&bit, ferry_span_make(ws->buf, ws->len));
	while ((rc = ferry_kafka_batch_next(&bit, &b)) == 1) {
		struct ferry_kafka_rec_iter it;
		struct ferry_kafka_record r;

		if ((rc = ferry_kafka_batch_validate(&b)) < 0)
			break;
		ferry_kafka_rec_iter_init(&it, b.records, b.hdr.RecordsCount);
		while ((rc = ferry_kafka_rec_next(&it, &r)) == 1)
			recs++;
		if (rc < 0)
			break;
		batches++;
	}
	if (rc < 0 || batches != ws->n_batches || recs != ws->n_records || bit.partial_tail) {
		snprintf(err, errlen, "verify: %s after %" PRIu64 " batches, %" PRIu64 " records",
			 rc < 0 ? ferry_err_name(rc) : "count mismatch", batches, recs);
		return rc < 0 ? rc : FERRY_ERR__BAD_COUNT;
	}
	return 0;
}

/* Involuntary context switches of this process so far (0 if unknown). */
static long
preemptions(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_nivcsw : 0;
}

/*
 * Time every kernel in 'iters' rounds. Round r runs the kernels starting at kernel
 * r % K_COUNT, so each kernel takes every place in the round in turn and a slow patch of
 * the machine lands on all of them. Within a round a kernel sweeps the working set
 * 'passes' times (enough for BENCH_MIN_ROUND_BYTES), one timed sample per batch.
 * Results are per-byte quantiles over all of a kernel's samples.
 */
static int
bench_run(struct bench_ws *ws, const struct bench_cfg *cfg, struct bench_result res[K_COUNT],
	  struct bench_timing *tm, char *err, size_t errlen)
{
	size_t passes = BENCH_MIN_ROUND_BYTES / ws->len;
	uint64_t acc = 0;
	int rc = 0;

	if (passes == 0)
		passes = 1;
	size_t per_round = passes * ws->n_batches, n = per_round * cfg->iters;
	double *samples = malloc(K_COUNT * n * sizeof(*samples));
	if (samples == NULL) {
		snprintf(err, errlen, "out of memory for %zu samples", K_COUNT * n);
		return -ENOMEM;
	}
	tm->passes = passes;
	tm->samples = n;

	/* Warm-up: one untimed sweep of each (code, branch predictors, the TLB). */
	for (unsigned k = 0; k < K_COUNT; k++) {
		for (size_t bi = 0; bi < ws->n_batches && rc == 0; bi++)
			rc = bench_kernels[k].fn(ws, bi, &acc);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", bench_kernels[k].id, ferry_err_name(rc));
			goto out_free;
		}
	}

	long csw0 = preemptions();
	uint64_t n0 = bench_now_ns(), t0 = bench_ticks();
	for (unsigned round = 0; round < cfg->iters; round++) {
		for (unsigned j = 0; j < K_COUNT; j++) {
			unsigned k = (round + j) % K_COUNT;
			double *out = samples + k * n + round * per_round;

			for (size_t p = 0; p < passes; p++) {
				for (size_t bi = 0; bi < ws->n_batches; bi++) {
					uint64_t s = bench_ticks();
					rc = bench_kernels[k].fn(ws, bi, &acc);
					uint64_t e = bench_ticks();
					if (rc < 0) {
						snprintf(err, errlen, "%s: %s", bench_kernels[k].id,
							 ferry_err_name(rc));
						goto out_free;
					}
					*out++ = (double)(e - s) / (double)ws->batch_len[bi];
				}
			}
		}
	}
	uint64_t t1 = bench_ticks(), n1 = bench_now_ns();
	tm->preempted = preemptions() - csw0;
	tm->tick_ghz = (double)(t1 - t0) / (double)(n1 - n0);
	bench_sink = acc;

	for (unsigned k = 0; k < K_COUNT; k++) {
		double *v = samples + k * n;

		qsort(v, n, sizeof(*v), cmp_double);
		res[k].cyc_per_b = quantile(v, n, 0.5);
		res[k].p10 = quantile(v, n, 0.1);
		res[k].p90 = quantile(v, n, 0.9);
		res[k].ns_per_b = res[k].cyc_per_b / tm->tick_ghz;
	}

out_free:
	free(samples);
	return rc;
}

/* ---- report ------------------------------------------------------------------------------ */

/* The "model name" line of /proc/cpuinfo, or "unknown". */
static void
cpu_model(char *out, size_t outlen, bool *virt)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, outlen, "unknown");
	*virt = false;
	if (f == NULL)
		return;
	bool have_model = false;
	while (fgets(line, sizeof(line), f)) {
		if (!have_model && strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');
			if (v) {
				v += 1 + (v[1] == ' ');
				v[strcspn(v, "\n")] = '\0';
				snprintf(out, outlen, "%s", v);
				have_model = true;
			}
		} else if (strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor")) {
			*virt = true;
		}
		if (strncmp(line, "flags", 5) == 0)
			break; /* the first CPU's block is enough */
	}
	fclose(f);
}

static const char *
verdict(double ratio, double target)
{
	return ratio <= target ? "PASS" : "FAIL";
}

/* The 1-minute load average, or -1 if unknown. */
static double
loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static void
print_context(FILE *out, const struct bench_cfg *cfg, const struct bench_ws *ws,
	      const struct bench_timing *tm, double load)
{
	char model[256];
	bool virt;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE), l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);

	cpu_model(model, sizeof(model), &virt);
	fprintf(out, "bench_codec: RecordBatch v2 codec vs memcpy and CRC32C, same bytes, same run\n");
	fprintf(out, "cpu          : %s, %ld online CPUs%s\n", model, ncpu,
		virt ? ", virtualised (hypervisor flag)" : "");
	fprintf(out, "caches       : L2 %ld KiB, L3 %ld KiB (sysconf)\n", l2 > 0 ? l2 / 1024 : 0,
		l3 > 0 ? l3 / 1024 : 0);
	if (BENCH_HAVE_TSC)
		fprintf(out, "timer        : rdtsc: yes, %.3f GHz against CLOCK_MONOTONIC; "
			     "cycles are TSC reference cycles\n",
			tm->tick_ghz);
	else
		fprintf(out, "timer        : rdtsc: no, clock_gettime; the cyc/B columns are ns/B\n");
	fprintf(out, "compiler     : %s\n", __VERSION__);
	/* More than one preemption per hundred samples: others want this CPU too. */
	fprintf(out, "load         : %.2f (1 min) on %ld CPUs before the run; %ld involuntary "
		     "context switches while timing%s\n",
		load, ncpu, tm->preempted,
		(size_t)tm->preempted * 100 > tm->samples * K_COUNT ? " (busy machine: expect noise)"
								    : "");
	fprintf(out,
		"workload     : %zu batches x %" PRId32 " records of %zu B (key %d B, value avg "
		"%.0f B JSON, %.0f%% with headers), uncompressed\n",
		ws->n_batches, ws->batch_count[0], cfg->record_size, BENCH_KEY_LEN,
		(double)ws->value_bytes / (double)ws->n_records,
		100.0 * (double)ws->n_with_headers / (double)ws->n_records);
	fprintf(out, "batch        : %zu B (avg record on the wire %.1f B)\n", ws->batch_len[0],
		(double)(ws->batch_len[0] - FERRY_KAFKA_BATCH_HDR_SIZE) / ws->batch_count[0]);
	fprintf(out, "working set  : %.2f MiB %s, plus as much again as memcpy destination\n",
		(double)ws->len / MIB, cfg->in_cache ? "(in cache)" : "(out of cache)");
	fprintf(out, "sampling     : %u rounds, kernels interleaved (order rotated each round), "
		     "%zu sweep%s per round; one sample per batch, %zu per kernel; median shown\n",
		cfg->iters, tm->passes, tm->passes == 1 ? "" : "s", tm->samples);
}

static void
print_table(const struct bench_ws *ws, const struct bench_result res[K_COUNT], double r_parse,
	    double r_rewrite)
{
	double rec_bytes = (double)(ws->len - ws->n_batches * FERRY_KAFKA_BATCH_HDR_SIZE) /
			   (double)ws->n_records;

	printf("\n%-34s %8s %8s %8s %8s %8s\n", "kernel", "GB/s", "cyc/B", "ns/B", "p10 cyc",
	       "p90 cyc");
	for (unsigned k = 0; k < K_COUNT; k++)
		printf("%-34s %8.2f %8.4f %8.4f %8.4f %8.4f\n", bench_kernels[k].label,
		       1.0 / res[k].ns_per_b, res[k].cyc_per_b, res[k].ns_per_b, res[k].p10,
		       res[k].p90);
	printf("\n%-34s %8.2f   target <= %.2f  %s\n", "ratio (a)/(c) parse vs memcpy", r_parse,
	       BENCH_TARGET_PARSE_VS_MEMCPY, verdict(r_parse, BENCH_TARGET_PARSE_VS_MEMCPY));
	printf("%-34s %8.2f   target <= %.2f  %s\n", "ratio (b)/(d) rewrite vs raw CRC", r_rewrite,
	       BENCH_TARGET_REWRITE_VS_CRC, verdict(r_rewrite, BENCH_TARGET_REWRITE_VS_CRC));
	printf("%-34s %8.1f cyc, %.1f ns per record (from the no-CRC row)\n", "record walk",
	       res[K_ITERATE].cyc_per_b * rec_bytes, res[K_ITERATE].ns_per_b * rec_bytes);
}

static void
print_csv(const struct bench_cfg *cfg, const struct bench_ws *ws,
	  const struct bench_result res[K_COUNT], double r_parse, double r_rewrite)
{
	const char *mode = cfg->in_cache ? "in_cache" : "out_of_cache";

	printf("mode,record_size,working_set_bytes,row,gb_per_s,cycles_per_byte,ns_per_byte,"
	       "p10_cycles_per_byte,p90_cycles_per_byte,ratio,target,verdict\n");
	for (unsigned k = 0; k < K_COUNT; k++)
		printf("%s,%zu,%zu,%s,%.4f,%.5f,%.5f,%.5f,%.5f,,,\n", mode, cfg->record_size,
		       ws->len, bench_kernels[k].id, 1.0 / res[k].ns_per_b, res[k].cyc_per_b,
		       res[k].ns_per_b, res[k].p10, res[k].p90);
	printf("%s,%zu,%zu,ratio_parse_vs_memcpy,,,,,,%.4f,%.2f,%s\n", mode, cfg->record_size,
	       ws->len, r_parse, BENCH_TARGET_PARSE_VS_MEMCPY,
	       verdict(r_parse, BENCH_TARGET_PARSE_VS_MEMCPY));
	printf("%s,%zu,%zu,ratio_rewrite_vs_crc,,,,,,%.4f,%.2f,%s\n", mode, cfg->record_size,
	       ws->len, r_rewrite, BENCH_TARGET_REWRITE_VS_CRC,
	       verdict(r_rewrite, BENCH_TARGET_REWRITE_VS_CRC));
}

/* ---- command line ------------------------------------------------------------------------ */

static void
usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s [options]\n"
		"  --record-size N  wire bytes per record, key and headers included (default 1024)\n"
		"  --total-mb N     working set of batches in MiB (default 64: out of cache)\n"
		"  --in-cache       working set of 1 MiB (overrides --total-mb)\n"
		"  --batch-kb N     batch size in KiB (default 1024)\n"
		"  --iters N        rounds; each kernel is timed once per round (default 7, max %d)\n"
		"  --check          exit 1 if a target ratio is missed\n"
		"  --csv            CSV on stdout (context goes to stderr)\n"
		"  --help\n",
		prog, BENCH_MAX_ROUNDS);
}

/* Strict unsigned parse: all digits, within [lo, hi]. */
static bool
parse_size(const char *s, size_t lo, size_t hi, size_t *v)
{
	char *end;
	unsigned long long x;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end != '\0' || x < lo || x > hi)
		return false;
	*v = (size_t)x;
	return true;
}

static int
parse_args(int argc, char **argv, struct bench_cfg *cfg)
{
	/* In OPT_* order: err_usage names an option by opts[c - OPT_RECORD_SIZE]. */
	static const struct option opts[] = {
		{ "record-size", required_argument, NULL, OPT_RECORD_SIZE },
		{ "total-mb", required_argument, NULL, OPT_TOTAL_MB },
		{ "batch-kb", required_argument, NULL, OPT_BATCH_KB },
		{ "iters", required_argument, NULL, OPT_ITERS },
		{ "in-cache", no_argument, NULL, OPT_IN_CACHE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	size_t v;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RECORD_SIZE:
			/* 80 B holds the 16 B key, two headers, the varints and an 8 B value. */
			if (!parse_size(optarg, 80, 16 * MIB, &cfg->record_size))
				goto err_usage;
			break;
		case OPT_TOTAL_MB:
			if (!parse_size(optarg, 1, 64 * KIB, &v))
				goto err_usage;
			cfg->total_bytes = v * MIB;
			break;
		case OPT_BATCH_KB:
			if (!parse_size(optarg, 1, 64 * KIB, &v))
				goto err_usage;
			cfg->batch_bytes = v * KIB;
			break;
		case OPT_ITERS:
			if (!parse_size(optarg, 1, BENCH_MAX_ROUNDS, &v))
				goto err_usage;
			cfg->iters = (unsigned)v;
			break;
		case OPT_IN_CACHE:
			cfg->in_cache = true;
			break;
		case OPT_CHECK:
			cfg->check = true;
			break;
		case OPT_CSV:
			cfg->csv = true;
			break;
		case OPT_HELP:
			usage(stdout, argv[0]);
			return 1;
		default:
			goto err_usage;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		usage(stderr, argv[0]);
		return -EINVAL;
	}
	if (cfg->in_cache)
		cfg->total_bytes = 1 * MIB;
	if (cfg->batch_bytes > cfg->total_bytes)
		cfg->batch_bytes = cfg->total_bytes;
	if (cfg->record_size + FERRY_KAFKA_BATCH_HDR_SIZE > cfg->batch_bytes) {
		fprintf(stderr, "%s: a %zu B record does not fit a %zu B batch\n", argv[0],
			cfg->record_size, cfg->batch_bytes);
		return -EINVAL;
	}
	return 0;

err_usage:
	/* getopt_long has already named an unknown option or a missing argument ('?'). */
	if (c >= OPT_RECORD_SIZE && c < OPT_HELP)
		fprintf(stderr, "%s: bad value for --%s: '%s'\n", argv[0],
			opts[c - OPT_RECORD_SIZE].name, optarg ? optarg : "");
	usage(stderr, argv[0]);
	return -EINVAL;
}

int
main(int argc, char **argv)
{
	struct bench_cfg cfg = {
		.record_size = 1024,
		.total_bytes = 64 * MIB,
		.batch_bytes = 1 * MIB,
		.iters = 7,
	};
	struct bench_result res[K_COUNT];
	struct bench_ws ws;
	char err[256];
	struct bench_timing tm;
	double load = loadavg();
	int rc, status = 2;

	rc = parse_args(argc, argv, &cfg);
	if (rc != 0)
		return rc > 0 ? 0 : 2;

	if (bench_ws_build(&ws, &cfg, err, sizeof(err)) < 0)
		goto err_ws;
	if (bench_verify(&ws, err, sizeof(err)) < 0)
		goto err_ws;
	if (bench_run(&ws, &cfg, res, &tm, err, sizeof(err)) < 0)
		goto err_ws;

	double r_parse = res[K_PARSE].cyc_per_b / res[K_MEMCPY].cyc_per_b;
	double r_rewrite = res[K_REWRITE].cyc_per_b / res[K_CRC].cyc_per_b;
	bool missed = r_parse > BENCH_TARGET_PARSE_VS_MEMCPY ||
		      r_rewrite > BENCH_TARGET_REWRITE_VS_CRC;

	print_context(cfg.csv ? stderr : stdout, &cfg, &ws, &tm, load);
	if (cfg.csv)
		print_csv(&cfg, &ws, res, r_parse, r_rewrite);
	else
		print_table(&ws, res, r_parse, r_rewrite);
	status = cfg.check && missed ? 1 : 0;
	bench_ws_free(&ws);
	return status;

err_ws:
	fprintf(stderr, "%s: %s\n", argv[0], err);
	bench_ws_free(&ws);
	return status;
}
