/*
 * rdk_replicator.c - ferry-rdk-replicator: the MirrorMaker-2-shaped baseline of issue 8, in C.
 *
 * What a team would run instead of ferry: a librdkafka consumer (assign(), no group
 * membership, large fetch sizes, CRCs checked as Java consumers do by default) hands every
 * record to the application, which scans its key and value with Hyperscan (one hs_scan per
 * field, every pattern of the rules in one database compiled with start-of-match), confirms
 * each candidate with ferry's own validators (Luhn, mod 97, ...) and masks it in a private
 * copy the way ferry does (ferry_policy_mask_span); a librdkafka producer (idempotent,
 * acks=all, the source codec, tuned linger and batch size) re-produces the record, headers and
 * timestamp included, to the same partition of the target. That is MM2's consume, transform,
 * re-produce loop with the JVM taken out, so it is the strongest form of that design.
 *
 * Differences from ferry's policy, all in the baseline's favour: header values are not scanned,
 * topic selectors are ignored (every rule applies), TOKENISE is done as MASK (no HMAC), DROP
 * and QUARANTINE drop the record.
 *
 * It replicates --count records and stops: the clock and the CPU account (getrusage of the
 * whole process, so librdkafka's threads are included) run from assign() to the last delivery
 * report. The result is one line (--json: one JSON object) on stdout: records, payload bytes
 * (keys + values as consumed), seconds, CPU seconds and the rates per second and per
 * CPU-second. Exit status: 0; 1 when records were lost or failed delivery; 2 on a usage or
 * set-up error.
 *
 * Threads: main (poll loop) plus librdkafka's own. Owns the two librdkafka handles, the
 * Hyperscan database and scratch, the compiled rules.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <hs_compile.h>
#include <hs_runtime.h>
#include <librdkafka/rdkafka.h>

#include "../bench_clock.h"
#include "ferry/policy.h"
#include "rules.h"

#define REPL_MAX_MATCHES  256       /* per field; more are counted and ignored */
#define REPL_MAX_FIELD    (4 << 20) /* largest key or value masked (copy buffer) */
#define REPL_MAX_PARTS    1024
#define REPL_MAX_X        64

enum {
	OPT_SOURCE = 256, /* long-only options (STYLE rule 11) */
	OPT_TARGET,
	OPT_TOPIC,
	OPT_TARGET_TOPIC,
	OPT_PARTITIONS,
	OPT_COUNT,
	OPT_CODEC,
	OPT_RULES,
	OPT_PACK,
	OPT_NO_POLICY,
	OPT_LINGER_MS,
	OPT_BATCH_BYTES,
	OPT_CONSUMER_X,
	OPT_PRODUCER_X,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_HELP,
};

struct repl_conf {
	const char *source;
	const char *target;
	const char *topic;
	const char *target_topic;
	int32_t partitions;
	uint64_t count;
	const char *codec;
	const char *rules_file;
	const char *pack;
	bool no_policy;
	const char *linger_ms;
	const char *batch_bytes;
	const char *cx[REPL_MAX_X]; /* key=value for the consumer */
	size_t n_cx;
	const char *px[REPL_MAX_X]; /* key=value for the producer */
	size_t n_px;
	double timeout_s;
	bool json;
};

/* One candidate match in a field, as Hyperscan reported it. */
struct repl_match {
	unsigned rule;
	unsigned long long from, to;
};

struct repl_scan {
	struct repl_match m[REPL_MAX_MATCHES];
	unsigned n;
	uint64_t overflow;
};

struct repl {
	struct repl_conf conf;
	rd_kafka_t *consumer;
	rd_kafka_t *producer;
	struct ferry_rules rules;
	bool have_rules;
	hs_database_t *db;
	hs_scratch_t *scratch;
	uint8_t *copy; /* a masked field is built here; the consumer's buffer stays intact */
	/* Counters: main thread, except delivered/failed (delivery reports also run on main,
	 * from rd_kafka_poll/flush, so plain integers suffice). */
	uint64_t consumed, produced, dropped, matched, masked, payload_bytes;
	uint64_t delivered, failed;
	uint64_t overflow;
	char first_error[256];
};

static atomic_bool repl_stop;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&repl_stop, true);
}

/* ---- policy: the naive per-record scan ------------------------------------------------------ */

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	 void *ctx)
{
	struct repl_scan *s = ctx;

	(void)flags;
	if (s->n == REPL_MAX_MATCHES) {
		s->overflow++;
		return 0;
	}
	s->m[s->n++] = (struct repl_match){ id, from, to };
	return 0;
}

/*
 * Every pattern of every rule in one block-mode database with start-of-match, expression id =
 * rule index: what a per-record filter written against Hyperscan's API looks like. 0 or -1
 * with a message in err.
 */
static int
repl_compile(struct repl *r, char *err, size_t errlen)
{
	const struct ferry_rules *rs = &r->rules;
	size_t n = 0, k = 0;
	hs_compile_error_t *ce = NULL;
	int rc = -1;

	for (size_t i = 0; i < rs->n_rules; i++)
		n += rs->rules[i].n_patterns;
	if (n == 0) {
		snprintf(err, errlen, "the rules have no record pattern");
		return -1;
	}
	const char **expr = calloc(n, sizeof(*expr));
	unsigned int *flags = calloc(n, sizeof(*flags));
	unsigned int *ids = calloc(n, sizeof(*ids));
	if (expr == NULL || flags == NULL || ids == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < rs->n_rules; i++)
		for (size_t j = 0; j < rs->rules[i].n_patterns; j++, k++) {
			expr[k] = rs->rules[i].patterns[j].expr;
			flags[k] = HS_FLAG_SOM_LEFTMOST |
				   (rs->rules[i].r.caseless ? HS_FLAG_CASELESS : 0);
			ids[k] = (unsigned int)i;
		}
	if (hs_compile_multi(expr, flags, ids, (unsigned int)n, HS_MODE_BLOCK, NULL, &r->db,
			     &ce) != HS_SUCCESS) {
		snprintf(err, errlen, "hs_compile_multi: %s", ce ? ce->message : "failed");
		hs_free_compile_error(ce);
		goto out_free;
	}
	if (hs_alloc_scratch(r->db, &r->scratch) != HS_SUCCESS) {
		snprintf(err, errlen, "hs_alloc_scratch failed");
		goto out_free;
	}
	rc = 0;
out_free:
	free(expr);
	free(flags);
	free(ids);
	return rc;
}

/*
 * Scan one field and apply the confirmed matches of the rules that look at it ('where' bit).
 * *out is the field to produce: the original bytes, or r->copy when something was masked.
 * Returns the highest action taken (FERRY_POLICY_ACT_PASS when none).
 */
static enum ferry_policy_action
repl_field(struct repl *r, uint32_t where, const uint8_t *p, size_t len, const uint8_t **out)
{
	struct repl_scan s;
	enum ferry_policy_action worst = FERRY_POLICY_ACT_PASS;
	bool copied = false;

	*out = p;
	if (p == NULL || len == 0)
		return worst;
	s.n = 0;
	s.overflow = 0;
	hs_scan(r->db, (const char *)p, (unsigned int)len, 0, r->scratch, on_match, &s);
	r->overflow += s.overflow;
	for (unsigned i = 0; i < s.n; i++) {
		const struct ferry_policy_rule *rule = &r->rules.rules[s.m[i].rule].r;
		size_t from = (size_t)s.m[i].from, n = (size_t)(s.m[i].to - s.m[i].from);

		if (!(rule->where & where) || !ferry_policy_confirm(rule, p + from, n))
			continue;
		if (rule->action > worst)
			worst = rule->action;
		if (rule->action != FERRY_POLICY_ACT_MASK && rule->action != FERRY_POLICY_ACT_TOKENISE)
			continue;
		if (!copied) {
			if (len > REPL_MAX_FIELD)
				continue; /* counted as matched, left as is */
			memcpy(r->copy, p, len);
			copied = true;
			*out = r->copy;
		}
		r->masked += ferry_policy_mask_span(r->copy + from, n, rule->mask_char,
						    rule->keep_last) > 0;
	}
	return worst;
}

/* ---- librdkafka ----------------------------------------------------------------------------- */

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct repl *r = opaque;

	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		r->delivered++;
		return;
	}
	if (r->failed++ == 0)
		snprintf(r->first_error, sizeof(r->first_error), "delivery: %s",
			 rd_kafka_err2str(m->err));
}

/* Apply "key=value" settings; 0 or -1 with a message in err. */
static int
conf_apply(rd_kafka_conf_t *c, const char *const *kv, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		char key[256];
		const char *eq = strchr(kv[i], '=');

		if (eq == NULL || (size_t)(eq - kv[i]) >= sizeof(key)) {
			snprintf(err, errlen, "'%s': want key=value", kv[i]);
			return -1;
		}
		memcpy(key, kv[i], (size_t)(eq - kv[i]));
		key[eq - kv[i]] = '\0';
		if (rd_kafka_conf_set(c, key, eq + 1, err, errlen) != RD_KAFKA_CONF_OK)
			return -1;
	}
	return 0;
}

static int
repl_clients(struct repl *r, char *err, size_t errlen)
{
	const struct repl_conf *c = &r->conf;
	const char *const consumer_kv[] = {
		"group.id=ferry-rdk-replicator", /* required by the API; nothing joins or commits */
		"enable.auto.commit=false",
		"enable.auto.offset.store=false",
		"auto.offset.reset=earliest",
		"check.crcs=true", /* the Java consumer's default, and ferry verifies every batch */
		"fetch.max.bytes=52428800",
		"max.partition.fetch.bytes=4194304",
		"fetch.wait.max.ms=100",
		"queued.max.messages.kbytes=1048576",
		"queued.min.messages=1000000",
		"log_level=3",
	};
	char kv_buf[4][128];
	const char *producer_kv[] = {
		"enable.idempotence=true",
		"acks=all",
		kv_buf[0], /* compression.codec */
		kv_buf[1], /* linger.ms */
		kv_buf[2], /* batch.size */
		"batch.num.messages=1000000",
		"queue.buffering.max.messages=2000000",
		"queue.buffering.max.kbytes=2097151",
		"message.max.bytes=16777216",
		"log_level=3",
	};
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_conf_t *cc, *pc;

	snprintf(kv_buf[0], sizeof(kv_buf[0]), "compression.codec=%s", c->codec);
	snprintf(kv_buf[1], sizeof(kv_buf[1]), "linger.ms=%s", c->linger_ms);
	snprintf(kv_buf[2], sizeof(kv_buf[2]), "batch.size=%s", c->batch_bytes);

	cc = rd_kafka_conf_new();
	if (rd_kafka_conf_set(cc, "bootstrap.servers", c->source, err, errlen) ||
	    conf_apply(cc, consumer_kv, sizeof(consumer_kv) / sizeof(consumer_kv[0]), err,
		       errlen) ||
	    conf_apply(cc, c->cx, c->n_cx, err, errlen)) {
		rd_kafka_conf_destroy(cc);
		return -1;
	}
	r->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, errlen);
	if (r->consumer == NULL) {
		rd_kafka_conf_destroy(cc);
		return -1;
	}

	pc = rd_kafka_conf_new();
	rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
	rd_kafka_conf_set_opaque(pc, r);
	if (rd_kafka_conf_set(pc, "bootstrap.servers", c->target, err, errlen) ||
	    conf_apply(pc, producer_kv, sizeof(producer_kv) / sizeof(producer_kv[0]), err,
		       errlen) ||
	    conf_apply(pc, c->px, c->n_px, err, errlen)) {
		rd_kafka_conf_destroy(pc);
		return -1;
	}
	r->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, errlen);
	if (r->producer == NULL) {
		rd_kafka_conf_destroy(pc);
		return -1;
	}

	parts = rd_kafka_topic_partition_list_new(c->partitions);
	for (int32_t p = 0; p < c->partitions; p++)
		rd_kafka_topic_partition_list_add(parts, c->topic, p)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_resp_err_t e = rd_kafka_assign(r->consumer, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "assign: %s", rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

/* One consumed record through the policy and into the producer's queue. */
static int
repl_record(struct repl *r, rd_kafka_message_t *m, char *err, size_t errlen)
{
	const uint8_t *key = m->key, *value = m->payload;
	enum ferry_policy_action a = FERRY_POLICY_ACT_PASS;
	rd_kafka_headers_t *hdrs = NULL, *copy = NULL;
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);
	uint8_t *vbuf = NULL;
	rd_kafka_resp_err_t e;

	r->consumed++;
	r->payload_bytes += m->len + m->key_len;
	if (r->db != NULL) {
		enum ferry_policy_action ak, av;

		/* The key first: its masked copy must not share r->copy with the value's. */
		ak = repl_field(r, FERRY_POLICY_WHERE_KEY, m->key, m->key_len, &key);
		if (key != m->key) {
			vbuf = malloc(m->key_len);
			if (vbuf == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			memcpy(vbuf, key, m->key_len);
			key = vbuf;
		}
		av = repl_field(r, FERRY_POLICY_WHERE_VALUE, m->payload, m->len, &value);
		a = ak > av ? ak : av;
		r->matched += a != FERRY_POLICY_ACT_PASS;
	}
	if (a >= FERRY_POLICY_ACT_DROP) {
		r->dropped++;
		free(vbuf);
		return 0;
	}
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
		copy = rd_kafka_headers_copy(hdrs);
	for (;;) {
		/* RD_KAFKA_MSG_F_COPY: the record outlives neither the consumer's buffer nor
		 * r->copy, exactly as MM2 hands the producer a new ProducerRecord. */
		e = rd_kafka_producev(r->producer, RD_KAFKA_V_TOPIC(r->conf.target_topic),
				      RD_KAFKA_V_PARTITION(m->partition),
				      RD_KAFKA_V_KEY(key, m->key_len),
				      /* F_COPY: librdkafka copies and never writes the value */
				      RD_KAFKA_V_VALUE((void *)(uintptr_t)value, m->len),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(copy),
				      RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(r->producer, 10);
	}
	free(vbuf);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (copy != NULL)
			rd_kafka_headers_destroy(copy); /* producev owns it only on success */
		snprintf(err, errlen, "produce: %s", rd_kafka_err2str(e));
		return -1;
	}
	r->produced++;
	return 0;
}

/* ---- command line --------------------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: ferry-rdk-replicator --source H:P --topic T --target H:P --count N "
		"[options]\n"
		"The librdkafka consume -> per-record Hyperscan policy -> produce baseline.\n"
		"  --source H:P[,..]     source bootstrap servers\n"
		"  --topic T             source topic (partitions 0..N-1 are assigned)\n"
		"  --partitions N        source partitions (default 1)\n"
		"  --target H:P[,..]     target bootstrap servers\n"
		"  --target-topic T      target topic (default: the source topic's name)\n"
		"  --count N             records to replicate, then stop\n"
		"  --codec C             producer compression.codec: the source codec "
		"(default none)\n"
		"  --pack NAME           built-in rules pack (default pii-default)\n"
		"  --rules FILE          a rules file instead of the pack\n"
		"  --no-policy           no scan: a plain consume-produce pipe\n"
		"  --linger-ms N         producer linger.ms (default 5)\n"
		"  --batch-bytes N       producer batch.size (default 1000000)\n"
		"  --cx key=value        any consumer property (repeatable, applied last)\n"
		"  --px key=value        any producer property (repeatable, applied last)\n"
		"  --timeout S           give up after S seconds (default 600)\n"
		"  --json                the result as one JSON object\n");
}

static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* 0, 1 for --help, -1 on a usage error (already reported). */
static int
parse_args(int argc, char **argv, struct repl_conf *c)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "topic", required_argument, NULL, OPT_TOPIC },
		{ "target-topic", required_argument, NULL, OPT_TARGET_TOPIC },
		{ "partitions", required_argument, NULL, OPT_PARTITIONS },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "codec", required_argument, NULL, OPT_CODEC },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "pack", required_argument, NULL, OPT_PACK },
		{ "no-policy", no_argument, NULL, OPT_NO_POLICY },
		{ "linger-ms", required_argument, NULL, OPT_LINGER_MS },
		{ "batch-bytes", required_argument, NULL, OPT_BATCH_BYTES },
		{ "cx", required_argument, NULL, OPT_CONSUMER_X },
		{ "px", required_argument, NULL, OPT_PRODUCER_X },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case OPT_SOURCE: c->source = optarg; break;
		case OPT_TARGET: c->target = optarg; break;
		case OPT_TOPIC: c->topic = optarg; break;
		case OPT_TARGET_TOPIC: c->target_topic = optarg; break;
		case OPT_PARTITIONS:
			if (parse_u64(optarg, 1, REPL_MAX_PARTS, &v) != 0)
				goto err_value;
			c->partitions = (int32_t)v;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, 1, UINT64_C(1) << 40, &c->count) != 0)
				goto err_value;
			break;
		case OPT_CODEC: c->codec = optarg; break;
		case OPT_RULES: c->rules_file = optarg; break;
		case OPT_PACK: c->pack = optarg; break;
		case OPT_NO_POLICY: c->no_policy = true; break;
		case OPT_LINGER_MS:
			if (parse_u64(optarg, 0, 900000, &v) != 0)
				goto err_value;
			c->linger_ms = optarg;
			break;
		case OPT_BATCH_BYTES:
			if (parse_u64(optarg, 1, INT32_MAX, &v) != 0)
				goto err_value;
			c->batch_bytes = optarg;
			break;
		case OPT_CONSUMER_X:
		case OPT_PRODUCER_X: {
			const char **arr = o == OPT_CONSUMER_X ? c->cx : c->px;
			size_t *n = o == OPT_CONSUMER_X ? &c->n_cx : &c->n_px;
			if (*n == REPL_MAX_X || strchr(optarg, '=') == NULL)
				goto err_value;
			arr[(*n)++] = optarg;
			break;
		}
		case OPT_TIMEOUT:
			if (parse_u64(optarg, 1, 86400, &v) != 0)
				goto err_value;
			c->timeout_s = (double)v;
			break;
		case OPT_JSON: c->json = true; break;
		case OPT_HELP: usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || c->source == NULL || c->target == NULL || c->topic == NULL ||
	    c->count == 0) {
		fprintf(stderr, "ferry-rdk-replicator: --source, --topic, --target and --count are "
				"required\n");
		usage(stderr);
		return -1;
	}
	if (c->target_topic == NULL)
		c->target_topic = c->topic;
	return 0;

err_value:
	fprintf(stderr, "ferry-rdk-replicator: bad value '%s'\n", optarg);
	return -1;
}

/* ---- main ----------------------------------------------------------------------------------- */

static void
report(const struct repl *r, double secs, double cpu)
{
	const struct repl_conf *c = &r->conf;
	double rps = secs > 0 ? (double)r->consumed / secs : 0;
	double bps = secs > 0 ? (double)r->payload_bytes / secs : 0;
	double rpc = cpu > 0 ? (double)r->consumed / cpu : 0;
	double bpc = cpu > 0 ? (double)r->payload_bytes / cpu : 0;

	if (c->json) {
		printf("{\"tool\":\"ferry-rdk-replicator\",\"records\":%" PRIu64
		       ",\"payload_bytes\":%" PRIu64 ",\"seconds\":%.6f,\"cpu_seconds\":%.6f,"
		       "\"records_per_s\":%.1f,\"bytes_per_s\":%.1f,\"records_per_cpu_s\":%.1f,"
		       "\"bytes_per_cpu_s\":%.1f,\"produced\":%" PRIu64 ",\"delivered\":%" PRIu64
		       ",\"failed\":%" PRIu64 ",\"matched\":%" PRIu64 ",\"masked_spans\":%" PRIu64
		       ",\"dropped\":%" PRIu64 ",\"match_overflow\":%" PRIu64
		       ",\"policy\":\"%s\",\"codec\":\"%s\"}\n",
		       r->consumed, r->payload_bytes, secs, cpu, rps, bps, rpc, bpc, r->produced,
		       r->delivered, r->failed, r->matched, r->masked, r->dropped, r->overflow,
		       c->no_policy ? "none" : c->rules_file ? c->rules_file : c->pack, c->codec);
		return;
	}
	printf("ferry-rdk-replicator: %" PRIu64 " records, %.1f MB payload in %.3f s, %.3f CPU s: "
	       "%.0f rec/s, %.1f MB/s; per CPU-second %.0f rec, %.1f MB; matched %" PRIu64
	       ", masked spans %" PRIu64 ", dropped %" PRIu64 ", delivery failures %" PRIu64 "\n",
	       r->consumed, (double)r->payload_bytes / 1e6, secs, cpu, rps, bps / 1e6, rpc,
	       bpc / 1e6, r->matched, r->masked, r->dropped, r->failed);
}

int
main(int argc, char **argv)
{
	static struct repl r = {
		.conf = { .partitions = 1, .codec = "none", .pack = "pii-default",
			  .linger_ms = "5", .batch_bytes = "1000000", .timeout_s = 600 },
	};
	char err[4096];
	int status = 2, rc;

	rc = parse_args(argc, argv, &r.conf);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (!r.conf.no_policy) {
		rc = r.conf.rules_file ? ferry_rules_load_file(r.conf.rules_file, &r.rules, err,
							       sizeof(err))
				       : ferry_rules_load_pack(r.conf.pack, &r.rules, err, sizeof(err));
		if (rc != 0)
			goto err_setup;
		r.have_rules = true;
		r.copy = malloc(REPL_MAX_FIELD);
		if (r.copy == NULL) {
			snprintf(err, sizeof(err), "out of memory");
			goto err_setup;
		}
		if (repl_compile(&r, err, sizeof(err)) != 0)
			goto err_setup;
	}

	double cpu0 = bench_cpu_s(), t0 = bench_now_s(), deadline = t0 + r.conf.timeout_s;
	if (repl_clients(&r, err, sizeof(err)) != 0)
		goto err_setup;

	status = 1;
	while (r.consumed < r.conf.count && !atomic_load(&repl_stop)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(r.consumer, 100);

		if (m == NULL) {
			rd_kafka_poll(r.producer, 0);
			if (bench_now_s() > deadline) {
				snprintf(err, sizeof(err), "timed out after %" PRIu64 " of %" PRIu64
					 " records", r.consumed, r.conf.count);
				goto err_run;
			}
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			continue;
		}
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			snprintf(err, sizeof(err), "consume: %s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			goto err_run;
		}
		rc = repl_record(&r, m, err, sizeof(err));
		rd_kafka_message_destroy(m);
		if (rc != 0)
			goto err_run;
		if ((r.consumed & 1023) == 0)
			rd_kafka_poll(r.producer, 0); /* delivery reports */
	}
	/* Everything produced must be acknowledged (acks=all) before the clock stops. */
	while (rd_kafka_outq_len(r.producer) > 0 && bench_now_s() < deadline)
		rd_kafka_flush(r.producer, 100);
	double secs = bench_now_s() - t0, cpu = bench_cpu_s() - cpu0;

	if (atomic_load(&repl_stop))
		snprintf(err, sizeof(err), "interrupted");
	else if (r.delivered != r.produced || r.failed != 0)
		snprintf(err, sizeof(err), "%" PRIu64 " produced, %" PRIu64 " delivered, %" PRIu64
			 " failed%s%s", r.produced, r.delivered, r.failed,
			 r.first_error[0] ? ": " : "", r.first_error);
	else
		status = 0;
	report(&r, secs, cpu);
	if (status != 0)
		goto err_run;
	goto out;

err_setup:
	status = 2;
err_run:
	fprintf(stderr, "ferry-rdk-replicator: %s\n", err);
out:
	if (r.consumer != NULL) {
		rd_kafka_consumer_close(r.consumer);
		rd_kafka_destroy(r.consumer);
	}
	if (r.producer != NULL)
		rd_kafka_destroy(r.producer);
	hs_free_scratch(r.scratch);
	hs_free_database(r.db);
	if (r.have_rules)
		ferry_rules_free(&r.rules);
	free(r.copy);
	return status;
}
