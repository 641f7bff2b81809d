/*
 * loadgen.c - ferry-loadgen, the trading-data traffic generator: records from gen.c go
 *  - into a Kafka cluster through a librdkafka producer (acks=all, idempotent, any codec),
 *    at a target rate or as fast as the cluster takes them;
 *  - into a file of concatenated v2 record batches built by ferry_kafka_batch_build()
 *    with any codec (for the broker simulator; `ferryctl decode FILE` reads it back);
 *  - or to stdout, one "key<TAB>value" line per record (JSON only).
 * Optionally the PII ground truth goes to a JSON-lines file. A summary ends every run.
 *
 * Single-threaded (librdkafka runs its own threads). Owns the generator, the batch and
 * codec buffers (allocated once at start), the output file and the producer handle.
 * Exit status: 0 success, 1 runtime failure, 2 bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "ferry/compress.h"
#include "ferry/kafka.h"
#include "gen.h"

#define PROG              "ferry-loadgen"
#define MAX_COUNT         UINT64_C(1000000000000) /* see FERRY_GEN_MAX_START_MS */
#define MAX_RDKAFKA_PROPS 64
/* Per-record bytes a v2 batch adds to key, value and header values: record varints
 * (at most 5 each), attributes, header name lengths and names ("traceparent", ...). */
#define BATCH_REC_OVERHEAD 96

enum out_mode { OUT_NONE, OUT_FILE, OUT_KAFKA, OUT_STDOUT };

struct lg_conf {
	struct ferry_gen_conf gen;
	uint64_t count;
	double rate; /* records/s, 0 = as fast as possible */
	enum out_mode mode;
	const char *out_file;
	const char *truth_file;
	int codec;
	bool codec_set;
	uint32_t batch_records;
	uint32_t batch_bytes;
	bool batch_set;
	const char *brokers;
	const char *topic;
	int32_t partitions;                   /* 0 = let librdkafka's partitioner choose */
	const char *props[MAX_RDKAFKA_PROPS]; /* -X key=value */
	int n_props;
};

/* What a run did, for the summary. */
struct lg_run {
	double elapsed;
	uint64_t batches, out_bytes;
	uint64_t delivered, failed, delivered_bytes;
	char first_error[256];
	bool interrupted;
};

static atomic_bool stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_requested, true);
}

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: " PROG " [generator options] OUTPUT [output options]\n"
	    "\n"
	    "Synthetic trading records (trades, orders, risk rows, client records), a share\n"
	    "of them with PII that is valid by its own rules. Same seed and options: same bytes.\n"
	    "\n"
	    "generator:\n"
	    "  --seed N               stream seed (default 1)\n"
	    "  --count N              records to generate (default 100000)\n"
	    "  --min-size B           smallest value in bytes (default 100, at least %u)\n"
	    "  --max-size B           largest value in bytes (default 4096, at most %u);\n"
	    "                         sizes are log-uniform between the two\n"
	    "  --pii-share F          share of records carrying PII, 0..1 (default 0.01)\n"
	    "  --format json|binary   JSON objects, or protobuf in the Confluent wire format\n"
	    "  --key instrument|account|none   record key (default instrument: the ISIN)\n"
	    "  --no-headers           no traceparent/source/content-type headers\n"
	    "  --kinds LIST           e.g. trade,order or trade:5,order:3,risk:1,client:1\n"
	    "                         (default trade:40,order:35,risk:15,client:10)\n"
	    "  --instruments N        instrument universe (default 500)\n"
	    "  --accounts N           account universe (default 100000)\n"
	    "  --start-time MS        event time of record 0, ms since the epoch\n"
	    "                         (default 1710403200000 = 2024-03-14T08:00:00Z)\n"
	    "  --rate R               records per second (default: as fast as possible)\n"
	    "  --truth FILE           write the PII ground truth as JSON lines\n"
	    "\n"
	    "output (exactly one):\n"
	    "  --out-file FILE        concatenated v2 record batches, offsets from 0\n"
	    "      --codec none|gzip|snappy|lz4|zstd   (default none)\n"
	    "      --batch-records N  records per batch at most (default 500)\n"
	    "      --batch-bytes B    uncompressed records per batch at most (default 1000000)\n"
	    "  --brokers H:P[,...] --topic T   produce with librdkafka (acks=all, idempotent)\n"
	    "      --codec C          compression.codec (default none)\n"
	    "      --partitions N     spread over partitions 0..N-1 (murmur2 of the key, as\n"
	    "                         Java clients; round-robin without keys); default: the\n"
	    "                         partitioner picks among the topic's partitions\n"
	    "      -X key=value       any librdkafka property (applied last)\n"
	    "  --stdout               key<TAB>value per line (JSON format only)\n"
	    "\n"
	    "Exit status: 0 success, 1 failure, 2 bad arguments.\n",
	    FERRY_GEN_MIN_SIZE, FERRY_GEN_MAX_SIZE);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !atomic_load(&stop_requested))
		;
}

/* Seconds until record 'done' is due at 'rate' records/s (<= 0: due or no rate). */
static double
pace_ahead(double t0, uint64_t done, double rate)
{
	if (rate <= 0)
		return 0;
	return (double)done / rate - (now_s() - t0);
}

/* ---- argument parsing ----------------------------------------------------------------------- */

/* Print "ferry-loadgen: OPTION: message" and return 2 (usage error). */
static int bad_arg(const char *opt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad_arg(const char *opt, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": %s: ", opt);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* Strict unsigned parse: digits only, within [min, max]. 0 or 2 (usage error). */
static int
parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		goto out_bad;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		goto out_bad;
	*out = v;
	return 0;
out_bad:
	fprintf(stderr, PROG ": %s: '%s' is not a whole number in %llu..%llu\n", opt, s,
		(unsigned long long)min, (unsigned long long)max);
	return 2;
}

static int
parse_double(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || errno || !isfinite(v) || v < min || v > max) {
		fprintf(stderr, PROG ": %s: '%s' is not a number in %g..%g\n", opt, s, min, max);
		return 2;
	}
	*out = v;
	return 0;
}

enum {
	OPT_SEED = 256,
	OPT_COUNT,
	OPT_MIN_SIZE,
	OPT_MAX_SIZE,
	OPT_PII_SHARE,
	OPT_FORMAT,
	OPT_KEY,
	OPT_NO_HEADERS,
	OPT_KINDS,
	OPT_INSTRUMENTS,
	OPT_ACCOUNTS,
	OPT_START_TIME,
	OPT_RATE,
	OPT_TRUTH,
	OPT_OUT_FILE,
	OPT_CODEC,
	OPT_BATCH_RECORDS,
	OPT_BATCH_BYTES,
	OPT_BROKERS,
	OPT_TOPIC,
	OPT_PARTITIONS,
	OPT_STDOUT,
};

static const struct option long_opts[] = {
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "min-size", required_argument, NULL, OPT_MIN_SIZE },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "pii-share", required_argument, NULL, OPT_PII_SHARE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "no-headers", no_argument, NULL, OPT_NO_HEADERS },
	{ "kinds", required_argument, NULL, OPT_KINDS },
	{ "instruments", required_argument, NULL, OPT_INSTRUMENTS },
	{ "accounts", required_argument, NULL, OPT_ACCOUNTS },
	{ "start-time", required_argument, NULL, OPT_START_TIME },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "truth", required_argument, NULL, OPT_TRUTH },
	{ "out-file", required_argument, NULL, OPT_OUT_FILE },
	{ "codec", required_argument, NULL, OPT_CODEC },
	{ "batch-records", required_argument, NULL, OPT_BATCH_RECORDS },
	{ "batch-bytes", required_argument, NULL, OPT_BATCH_BYTES },
	{ "brokers", required_argument, NULL, OPT_BROKERS },
	{ "topic", required_argument, NULL, OPT_TOPIC },
	{ "partitions", required_argument, NULL, OPT_PARTITIONS },
	{ "stdout", no_argument, NULL, OPT_STDOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
set_mode(struct lg_conf *lc, enum out_mode m, const char *opt)
{
	if (lc->mode != OUT_NONE && lc->mode != m) {
		fprintf(stderr,
			PROG ": %s: only one of --out-file, --brokers, --stdout may be given\n",
			opt);
		return 2;
	}
	lc->mode = m;
	return 0;
}

/* Parse argv into lc. Returns 0, 2 on a usage error (message printed), or -1 for --help. */
static int
parse_args(int argc, char **argv, struct lg_conf *lc)
{
	memset(lc, 0, sizeof(*lc));
	ferry_gen_conf_default(&lc->gen);
	lc->count = 100000;
	lc->codec = FERRY_CODEC_NONE;
	lc->batch_records = 500;
	lc->batch_bytes = 1000000;
	bool min_set = false, max_set = false;
	int c, rc = 0;
	uint64_t v;
	char err[256];
	opterr = 1;
	while ((c = getopt_long(argc, argv, "hX:", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_SEED:
			rc = parse_u64("--seed", optarg, 0, UINT64_MAX, &lc->gen.seed);
			break;
		case OPT_COUNT: rc = parse_u64("--count", optarg, 1, MAX_COUNT, &lc->count); break;
		case OPT_MIN_SIZE:
			rc = parse_u64("--min-size", optarg, FERRY_GEN_MIN_SIZE, FERRY_GEN_MAX_SIZE,
				       &v);
			lc->gen.min_size = (uint32_t)v;
			min_set = true;
			break;
		case OPT_MAX_SIZE:
			rc = parse_u64("--max-size", optarg, FERRY_GEN_MIN_SIZE, FERRY_GEN_MAX_SIZE,
				       &v);
			lc->gen.max_size = (uint32_t)v;
			max_set = true;
			break;
		case OPT_PII_SHARE:
			rc = parse_double("--pii-share", optarg, 0, 1, &lc->gen.pii_share);
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				lc->gen.format = FERRY_GEN_FMT_JSON;
			else if (strcmp(optarg, "binary") == 0)
				lc->gen.format = FERRY_GEN_FMT_BINARY;
			else
				rc = bad_arg("--format", "unknown format '%s' (json, binary)",
					     optarg);
			break;
		case OPT_KEY:
			if (strcmp(optarg, "instrument") == 0)
				lc->gen.key_mode = FERRY_GEN_KEY_INSTRUMENT;
			else if (strcmp(optarg, "account") == 0)
				lc->gen.key_mode = FERRY_GEN_KEY_ACCOUNT;
			else if (strcmp(optarg, "none") == 0)
				lc->gen.key_mode = FERRY_GEN_KEY_NONE;
			else
				rc = bad_arg("--key",
					     "unknown key mode '%s' (instrument, account, none)",
					     optarg);
			break;
		case OPT_NO_HEADERS: lc->gen.headers = false; break;
		case OPT_KINDS:
			if (ferry_gen_parse_kinds(optarg, lc->gen.kind_weight, err, sizeof(err)) <
			    0)
				rc = bad_arg("--kinds", "%s", err);
			break;
		case OPT_INSTRUMENTS:
			rc = parse_u64("--instruments", optarg, 1, 1000000, &v);
			lc->gen.n_instruments = (uint32_t)v;
			break;
		case OPT_ACCOUNTS:
			rc = parse_u64("--accounts", optarg, 1, 9999999, &v);
			lc->gen.n_accounts = (uint32_t)v;
			break;
		case OPT_START_TIME:
			rc = parse_u64("--start-time", optarg, 0, (uint64_t)FERRY_GEN_MAX_START_MS,
				       &v);
			lc->gen.start_ms = (int64_t)v;
			break;
		case OPT_RATE: rc = parse_double("--rate", optarg, 0.001, 1e9, &lc->rate); break;
		case OPT_TRUTH: lc->truth_file = optarg; break;
		case OPT_OUT_FILE:
			rc = set_mode(lc, OUT_FILE, "--out-file");
			lc->out_file = optarg;
			break;
		case OPT_CODEC:
			lc->codec = ferry_codec_from_name(optarg);
			lc->codec_set = true;
			if (lc->codec < 0)
				rc = bad_arg("--codec",
					     "unknown codec '%s' (none, gzip, snappy, lz4, zstd)",
					     optarg);
			break;
		case OPT_BATCH_RECORDS:
			rc = parse_u64("--batch-records", optarg, 1, 100000, &v);
			lc->batch_records = (uint32_t)v;
			lc->batch_set = true;
			break;
		case OPT_BATCH_BYTES:
			rc = parse_u64("--batch-bytes", optarg, 1024, 64u << 20, &v);
			lc->batch_bytes = (uint32_t)v;
			lc->batch_set = true;
			break;
		case OPT_BROKERS:
			rc = set_mode(lc, OUT_KAFKA, "--brokers");
			lc->brokers = optarg;
			break;
		case OPT_TOPIC: lc->topic = optarg; break;
		case OPT_PARTITIONS:
			rc = parse_u64("--partitions", optarg, 1, 100000, &v);
			lc->partitions = (int32_t)v;
			break;
		case 'X':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				rc = bad_arg("-X", "'%s' is not key=value", optarg);
			else if (lc->n_props == MAX_RDKAFKA_PROPS)
				rc = bad_arg("-X", "too many properties (at %s)", optarg);
			else
				lc->props[lc->n_props++] = optarg;
			break;
		case OPT_STDOUT: rc = set_mode(lc, OUT_STDOUT, "--stdout"); break;
		case 'h': usage(stdout); return -1;
		default: /* getopt_long already named the option */
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (lc->mode == OUT_NONE) {
		fprintf(stderr, PROG ": no output: give --out-file FILE, --brokers H:P --topic T, "
				     "or --stdout\n");
		return 2;
	}
	/* One size alone moves the other default out of the way instead of failing. */
	if (min_set && !max_set && lc->gen.max_size < lc->gen.min_size)
		lc->gen.max_size = lc->gen.min_size;
	if (max_set && !min_set && lc->gen.min_size > lc->gen.max_size)
		lc->gen.min_size = lc->gen.max_size;
	if (lc->gen.min_size > lc->gen.max_size) {
		fprintf(stderr, PROG ": --min-size: %u is larger than --max-size %u\n",
			lc->gen.min_size, lc->gen.max_size);
		return 2;
	}
	if (lc->mode == OUT_KAFKA && lc->topic == NULL) {
		fprintf(stderr, PROG ": --brokers: --topic is required\n");
		return 2;
	}
	if (lc->mode != OUT_KAFKA && lc->topic) {
		fprintf(stderr, PROG ": --topic: only with --brokers\n");
		return 2;
	}
	if (lc->mode != OUT_KAFKA && (lc->partitions || lc->n_props)) {
		fprintf(stderr, PROG ": %s: only with --brokers\n",
			lc->partitions ? "--partitions" : "-X");
		return 2;
	}
	if (lc->mode != OUT_FILE && lc->batch_set) {
		fprintf(stderr, PROG ": --batch-records/--batch-bytes: only with --out-file\n");
		return 2;
	}
	if (lc->mode == OUT_STDOUT && lc->codec_set) {
		fprintf(stderr, PROG ": --codec: not with --stdout\n");
		return 2;
	}
	if (lc->mode == OUT_STDOUT && lc->gen.format != FERRY_GEN_FMT_JSON) {
		fprintf(stderr,
			PROG ": --stdout: needs --format json (binary values are not lines)\n");
		return 2;
	}
	return 0;
}

/* ---- ground truth ------------------------------------------------------------------------- */

static void
truth_write(FILE *f, const struct ferry_gen_rec *r)
{
	if (f == NULL || r->n_pii == 0)
		return;
	fprintf(f, "{\"seq\":%llu,\"kind\":\"%s\",\"pii\":[", (unsigned long long)r->seq,
		ferry_gen_kind_name(r->kind));
	for (uint32_t i = 0; i < r->n_pii; i++) {
		const struct ferry_gen_pii *p = &r->pii[i];
		fprintf(f,
			"%s{\"type\":\"%s\",\"style\":\"%s\",\"country\":\"%s\",\"in_text\":%s,"
			"\"off\":%u,\"len\":%u}",
			i ? "," : "", ferry_gen_pii_name(p->kind), ferry_gen_style_name(p->style),
			p->country, p->in_text ? "true" : "false", p->off, p->len);
	}
	fputs("]}\n", f);
}

/* ---- output: batch file -------------------------------------------------------------------- */

static int
run_file(const struct lg_conf *lc, struct ferry_gen *g, FILE *truth, struct lg_run *run)
{
	int status = 1;
	size_t rec_cap = ferry_gen_buf_size(g);
	size_t buf_cap = (lc->batch_bytes > rec_cap ? lc->batch_bytes : rec_cap) + rec_cap;
	size_t scratch_cap = buf_cap + (size_t)lc->batch_records * BATCH_REC_OVERHEAD;
	/* NONE writes records straight into the batch; the lz4 bound covers that too. */
	int bound_codec = lc->codec == FERRY_CODEC_NONE ? FERRY_CODEC_LZ4 : lc->codec;
	size_t bound = ferry_compress_bound(bound_codec, scratch_cap);
	size_t out_cap = FERRY_KAFKA_BATCH_HDR_SIZE + (bound > scratch_cap ? bound : scratch_cap);
	/* All buffers up front (free(NULL) is fine, so one label undoes them all). */
	uint8_t *buf = malloc(buf_cap), *scratch = malloc(scratch_cap), *out = malloc(out_cap);
	struct ferry_gen_rec *recs = calloc(lc->batch_records, sizeof(*recs));
	struct ferry_kafka_record_in *in = calloc(lc->batch_records, sizeof(*in));
	if (!buf || !scratch || !out || !recs || !in) {
		fprintf(stderr, PROG ": out of memory for batches of %u records\n",
			lc->batch_records);
		goto out_free_buffers;
	}
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	if (cc == NULL) {
		fprintf(stderr, PROG ": codec context: %s\n", strerror(errno));
		goto out_free_buffers;
	}
	FILE *f = fopen(lc->out_file, "wb");
	if (f == NULL) {
		fprintf(stderr, PROG ": --out-file: %s: %s\n", lc->out_file, strerror(errno));
		goto out_free_cc;
	}

	double t0 = now_s();
	uint64_t done = 0;
	while (done < lc->count && !atomic_load(&stop_requested)) {
		size_t used = 0, est = 0;
		uint32_t n = 0;
		/* Close the batch before a worst-case next record could pass --batch-bytes. */
		while (n < lc->batch_records && done + n < lc->count &&
		       (n == 0 || est + rec_cap + BATCH_REC_OVERHEAD <= lc->batch_bytes)) {
			struct ferry_gen_rec *r = &recs[n];
			if (ferry_gen_next(g, buf + used, buf_cap - used, r) < 0)
				goto out_close; /* cannot happen: buf_cap holds a worst-case record
						 */
			used += r->used;
			est += r->used + BATCH_REC_OVERHEAD;
			in[n] = (struct ferry_kafka_record_in){
				.Timestamp = r->timestamp,
				.Key = r->key,
				.Value = r->value,
				.n_headers = r->n_headers,
				.Headers = r->headers,
			};
			truth_write(truth, r);
			n++;
		}
		/* Offsets continue across batches, so offset == generator sequence number. */
		struct ferry_kafka_batch_args args = {
			.BaseOffset = (int64_t)done,
			.PartitionLeaderEpoch = 0,
			.Attributes = (int16_t)lc->codec,
			.ProducerId = -1,
			.ProducerEpoch = -1,
			.BaseSequence = -1,
		};
		struct ferry_wr w;
		ferry_wr_init(&w, out, out_cap);
		int rc = ferry_kafka_batch_build(&w, &args, in, n, cc, scratch, scratch_cap);
		if (rc < 0) {
			fprintf(stderr, PROG ": building batch at offset %llu: %s\n",
				(unsigned long long)done, ferry_err_desc(rc));
			goto out_close;
		}
		if (fwrite(out, 1, w.len, f) != w.len) {
			fprintf(stderr, PROG ": %s: %s\n", lc->out_file, strerror(errno));
			goto out_close;
		}
		run->batches++;
		run->out_bytes += w.len;
		done += n;
		double ahead = pace_ahead(t0, done, lc->rate);
		if (ahead > 0)
			sleep_s(ahead);
	}
	run->elapsed = now_s() - t0;
	run->interrupted = done < lc->count;
	status = 0;
out_close:
	if (fclose(f) != 0 && status == 0) {
		fprintf(stderr, PROG ": %s: %s\n", lc->out_file, strerror(errno));
		status = 1;
	}
out_free_cc:
	ferry_codec_ctx_free(cc);
out_free_buffers:
	free(in);
	free(recs);
	free(out);
	free(scratch);
	free(buf);
	return status;
}

/* ---- output: stdout ------------------------------------------------------------------------ */

static int
run_stdout(const struct lg_conf *lc, struct ferry_gen *g, FILE *truth, struct lg_run *run)
{
	uint8_t *buf = malloc(ferry_gen_buf_size(g));
	if (buf == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	static char obuf[1 << 20];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	double t0 = now_s();
	uint64_t done = 0;
	struct ferry_gen_rec r;
	while (done < lc->count && !atomic_load(&stop_requested)) {
		ferry_gen_next(g, buf, ferry_gen_buf_size(g), &r);
		if (r.key.p)
			fwrite(r.key.p, 1, r.key.len, stdout);
		putchar('\t');
		fwrite(r.value.p, 1, r.value.len, stdout);
		putchar('\n');
		truth_write(truth, &r);
		done++;
		run->out_bytes += r.key.len + r.value.len + 2;
		if (ferror(stdout))
			break;
		double ahead = pace_ahead(t0, done, lc->rate);
		if (ahead > 0.001) {
			fflush(stdout);
			sleep_s(ahead);
		}
	}
	int status = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
	if (status)
		fprintf(stderr, PROG ": writing to stdout: %s\n", strerror(errno));
	run->elapsed = now_s() - t0;
	run->interrupted = done < lc->count;
	free(buf);
	return status;
}

/* ---- output: Kafka ------------------------------------------------------------------------- */

static void
dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct lg_run *run = opaque;
	if (m->err) {
		if (run->failed++ == 0)
			snprintf(run->first_error, sizeof(run->first_error), "%s",
				 rd_kafka_err2str(m->err));
	} else {
		run->delivered++;
		run->delivered_bytes += m->len + m->key_len;
	}
}

static int
conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char errstr[256];
	if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, PROG ": librdkafka property %s=%s: %s\n", k, v, errstr);
		return -1;
	}
	return 0;
}

/* Poll (serving delivery reports) until record 'done' is due. */
static void
kafka_pace(rd_kafka_t *rk, double t0, uint64_t done, double rate)
{
	double ahead;
	while ((ahead = pace_ahead(t0, done, rate)) > 0.0005 && !atomic_load(&stop_requested))
		rd_kafka_poll(rk, ahead > 0.1 ? 100 : (int)(ahead * 1000) + 1);
}

static int
run_kafka(const struct lg_conf *lc, struct ferry_gen *g, FILE *truth, struct lg_run *run)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* Throughput-oriented but safe: idempotent, acks=all, batches filled for up to 5 ms. */
	const char *kv[][2] = {
		{ "bootstrap.servers", lc->brokers },
		{ "client.id", PROG },
		{ "compression.codec", ferry_codec_name(lc->codec) },
		{ "acks", "all" },
		{ "enable.idempotence", "true" },
		{ "linger.ms", "5" },
		{ "batch.num.messages", "10000" },
		{ "batch.size", "1000000" },
		{ "queue.buffering.max.messages", "1000000" },
		{ "queue.buffering.max.kbytes", "1048576" },
		{ "partitioner", "murmur2_random" },
		{ "log_level", "4" },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (conf_set(conf, kv[i][0], kv[i][1]) < 0)
			goto out_conf;
	for (int i = 0; i < lc->n_props; i++) {
		char prop[512];
		snprintf(prop, sizeof(prop), "%s", lc->props[i]);
		char *eq = strchr(prop, '=');
		*eq = '\0';
		if (conf_set(conf, prop, eq + 1) < 0) {
			rd_kafka_conf_destroy(conf);
			return 2; /* a bad -X is a usage error */
		}
	}
	rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
	rd_kafka_conf_set_opaque(conf, run);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, PROG ": --brokers: %s\n", errstr);
		goto out_conf;
	}
	/* conf is owned by rk from here on. */
	int status = 1;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, lc->topic, NULL);
	if (rkt == NULL) {
		fprintf(stderr, PROG ": --topic %s: %s\n", lc->topic,
			rd_kafka_err2str(rd_kafka_last_error()));
		goto out_destroy;
	}
	uint8_t *buf = malloc(ferry_gen_buf_size(g));
	if (buf == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out_topic;
	}

	double t0 = now_s();
	uint64_t done = 0;
	struct ferry_gen_rec r;
	while (done < lc->count && !atomic_load(&stop_requested)) {
		ferry_gen_next(g, buf, ferry_gen_buf_size(g), &r);
		truth_write(truth, &r);
		int32_t part = RD_KAFKA_PARTITION_UA;
		if (lc->partitions)
			part = r.key.p ? rd_kafka_msg_partitioner_murmur2(
					     rkt, r.key.p, r.key.len, lc->partitions, NULL, NULL)
				       : (int32_t)(r.seq % (uint64_t)lc->partitions);
		rd_kafka_headers_t *hdrs = NULL;
		if (r.n_headers) {
			hdrs = rd_kafka_headers_new(r.n_headers);
			for (uint32_t i = 0; i < r.n_headers; i++)
				rd_kafka_header_add(hdrs, (const char *)r.headers[i].Key.p,
						    (ssize_t)r.headers[i].Key.len,
						    r.headers[i].Value.p,
						    (ssize_t)r.headers[i].Value.len);
		}
		rd_kafka_resp_err_t e;
		for (;;) {
			/* The topic handle and the timestamp (0 = now: a real cluster's retention
			 * would drop the generator's 2024 event times at once) go with it. */
			e = rd_kafka_producev(
			    rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(part),
			    RD_KAFKA_V_KEY(r.key.p, r.key.len),
			    RD_KAFKA_V_VALUE((void *)(uintptr_t)r.value.p, r.value.len),
			    RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_END);
			if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || atomic_load(&stop_requested))
				break;
			rd_kafka_poll(rk, 10); /* local queue full: serve delivery reports */
		}
		if (e) {
			/* On failure the headers stay ours. */
			if (hdrs)
				rd_kafka_headers_destroy(hdrs);
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break; /* interrupted while waiting */
			fprintf(stderr, PROG ": produce to %s: %s\n", lc->topic,
				rd_kafka_err2str(e));
			goto out_flush;
		}
		done++;
		if ((done & 1023) == 0)
			rd_kafka_poll(rk, 0);
		kafka_pace(rk, t0, done, lc->rate);
	}
	status = 0;
out_flush:
	/* Wait for every delivery report; a second Ctrl-C does not cut this short, the
	 * flush timeout does. */
	if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, PROG ": %d message(s) still undelivered after 60 s\n",
			rd_kafka_outq_len(rk));
		status = 1;
	}
	char fatal[256];
	if (rd_kafka_fatal_error(rk, fatal, sizeof(fatal))) {
		fprintf(stderr, PROG ": fatal producer error: %s\n", fatal);
		status = 1;
	}
	if (run->failed) {
		fprintf(stderr, PROG ": %llu record(s) not delivered, first error: %s\n",
			(unsigned long long)run->failed, run->first_error);
		status = 1;
	}
	run->elapsed = now_s() - t0;
	run->interrupted = done < lc->count;
	free(buf);
out_topic:
	rd_kafka_topic_destroy(rkt);
out_destroy:
	rd_kafka_destroy(rk);
	return status;
out_conf:
	rd_kafka_conf_destroy(conf);
	return 1;
}

/* ---- summary ------------------------------------------------------------------------------- */

static void
summary(FILE *f, const struct lg_conf *lc, const struct ferry_gen *g, const struct lg_run *run)
{
	const struct ferry_gen_stats *st = &g->st;
	uint64_t bytes = st->key_bytes + st->value_bytes + st->header_bytes;
	double el = run->elapsed > 1e-9 ? run->elapsed : 1e-9;
	fprintf(
	    f, PROG ": %llu records in %.3f s%s: %.0f records/s, %.1f MB/s (keys+values+headers)\n",
	    (unsigned long long)st->records, run->elapsed, run->interrupted ? " (interrupted)" : "",
	    (double)st->records / el, (double)bytes / el / 1e6);
	fprintf(f, "  kinds    ");
	for (int k = 0; k < FERRY_GEN_KIND_COUNT; k++)
		fprintf(f, " %s %llu", ferry_gen_kind_name(k), (unsigned long long)st->by_kind[k]);
	fprintf(
	    f,
	    "\n  bytes     values %.1f MB (%u..%u B, mean %.0f B), keys %.1f MB, headers %.1f MB\n",
	    (double)st->value_bytes / 1e6, st->records ? st->value_min : 0, st->value_max,
	    st->records ? (double)st->value_bytes / (double)st->records : 0.0,
	    (double)st->key_bytes / 1e6, (double)st->header_bytes / 1e6);
	fprintf(f, "  PII       %llu records (%.2f %%); items by kind:",
		(unsigned long long)st->pii_records,
		st->records ? 100.0 * (double)st->pii_records / (double)st->records : 0.0);
	for (int k = 0; k < FERRY_GEN_PII_COUNT; k++)
		fprintf(f, " %s %llu", ferry_gen_pii_name(k), (unsigned long long)st->pii_items[k]);
	fputc('\n', f);
	switch (lc->mode) {
	case OUT_FILE:
		fprintf(
		    f,
		    "  output    %s: %llu batches (%s), %.1f MB, %.2fx smaller than the records\n",
		    lc->out_file, (unsigned long long)run->batches, ferry_codec_name(lc->codec),
		    (double)run->out_bytes / 1e6,
		    run->out_bytes ? (double)bytes / (double)run->out_bytes : 0.0);
		break;
	case OUT_KAFKA:
		fprintf(
		    f,
		    "  kafka     %s on %s: %llu delivered (%.1f MB), %llu failed; %s, acks=all, "
		    "idempotent%s\n",
		    lc->topic, lc->brokers, (unsigned long long)run->delivered,
		    (double)run->delivered_bytes / 1e6, (unsigned long long)run->failed,
		    ferry_codec_name(lc->codec), lc->n_props ? " (before -X overrides)" : "");
		break;
	default: fprintf(f, "  output    stdout: %.1f MB\n", (double)run->out_bytes / 1e6); break;
	}
}

int
main(int argc, char **argv)
{
	struct lg_conf lc;
	int rc = parse_args(argc, argv, &lc);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct ferry_gen g;
	char err[256];
	if (ferry_gen_init(&g, &lc.gen, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	FILE *truth = NULL;
	if (lc.truth_file && (truth = fopen(lc.truth_file, "w")) == NULL) {
		fprintf(stderr, PROG ": --truth: %s: %s\n", lc.truth_file, strerror(errno));
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct lg_run run = { 0 };
	int status;
	switch (lc.mode) {
	case OUT_FILE: status = run_file(&lc, &g, truth, &run); break;
	case OUT_KAFKA: status = run_kafka(&lc, &g, truth, &run); break;
	default: status = run_stdout(&lc, &g, truth, &run); break;
	}
	if (truth && fclose(truth) != 0) {
		fprintf(stderr, PROG ": --truth: %s: %s\n", lc.truth_file, strerror(errno));
		status = status ? status : 1;
	}
	if (status != 2)
		summary(lc.mode == OUT_STDOUT ? stderr : stdout, &lc, &g, &run);
	return status;
}
