/*
 * bench_replicate.c - ferry's replication figure until ferryd exists (issue 7): ferry's codec
 * and policy engine moving batches from a source cluster to a target, over the blocking
 * kclient (control/kclient.h) because that is the broker client that exists today.
 *
 * Per Fetch response (one partition, up to --fetch-bytes): every batch is located and checked
 * (ferry_kafka_batch_parse + CRC32C validate), handed to ferry_policy_apply() with the
 * pii-default pack (or a rules file) exactly as the dataplane will, and what leaves (the
 * original bytes, or the rebuilt batch when a record was masked or dropped) gets the target
 * producer's identity and sequence written into its header (ferry_kafka_batch_rewrite, CRC
 * recomputed) and is produced, acks=all, idempotent (InitProducerId first), one batch per
 * Produce request as Kafka requires. Records are never copied out of their batch.
 *
 * What this is not: ferryd's data path. Fetch and Produce here are strictly sequential, one
 * request in flight, blocking sockets; ferryd pipelines both over io_uring. So the figure is a
 * lower bound of ferry's, and ferry-bench labels it "ferry codec+policy over kclient".
 *
 * The clock and CPU account (getrusage, this process) run from the first Fetch to the last
 * Produce response. Output: one line, or one JSON object with --json. Exit: 0; 1 on a
 * replication error; 2 on a usage or set-up error. Single-threaded.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_clock.h"
#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"
#include "ferry/policy.h"
#include "kclient.h"
#include "policy_compile.h"
#include "rules.h"

#define KC_ARENA_BYTES (4 << 20)
#define KC_MAX_PARTS   256

struct kc_conf {
	const char *source, *target, *topic, *target_topic;
	int32_t partitions;
	uint64_t count;
	int32_t fetch_bytes;
	const char *rules_file;
	const char *pack;
	bool no_policy;
	bool json;
};

struct kc_stats {
	uint64_t records, batches, wire_in, wire_out;
	uint64_t rewritten, quarantined, dropped_records, masked_spans;
};

/* InitProducerId (idempotent, no transactional id) on the target. 0 or -1 with err. */
static int
init_producer(struct ferry_kclient *kc, int64_t *pid, int16_t *epoch, char *err, size_t errlen)
{
	static uint8_t mem[1 << 14];
	struct ferry_kafka_init_producer_id_req req;
	struct ferry_kafka_init_producer_id_resp resp;
	struct ferry_arena a;
	int ver = ferry_kclient_version(kc, FERRY_KAFKA_INIT_PRODUCER_ID);

	if (ver < 0) {
		snprintf(err, errlen, "target does not speak InitProducerId");
		return -1;
	}
	ferry_kafka_init_producer_id_req_init(&req);
	req.TransactionalId = (struct ferry_span){ NULL, 0 };
	req.TransactionTimeoutMs = 60000;
	ferry_arena_init(&a, mem, sizeof(mem));
	if (ferry_kclient_call(kc, FERRY_KAFKA_INIT_PRODUCER_ID, (int16_t)ver, &req, &resp, &a, err,
			       errlen) != 0)
		return -1;
	if (resp.ErrorCode != 0) {
		snprintf(err, errlen, "InitProducerId: %s", ferry_err_name(resp.ErrorCode));
		return -1;
	}
	*pid = resp.ProducerId;
	*epoch = resp.ProducerEpoch;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: bench_replicate --source H:P --topic T --target H:P --count N "
		   "[--partitions N] [--target-topic T] [--fetch-bytes N]\n"
		   "                       [--pack NAME | --rules FILE | --no-policy] [--json]\n");
}

static int
parse_args(int argc, char **argv, struct kc_conf *c)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "target", required_argument, NULL, 'd' },
		{ "topic", required_argument, NULL, 't' },
		{ "target-topic", required_argument, NULL, 'T' },
		{ "partitions", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "fetch-bytes", required_argument, NULL, 'f' },
		{ "rules", required_argument, NULL, 'r' },
		{ "pack", required_argument, NULL, 'P' },
		{ "no-policy", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		unsigned long long v = 0;

		switch (o) {
		case 's': c->source = optarg; continue;
		case 'd': c->target = optarg; continue;
		case 't': c->topic = optarg; continue;
		case 'T': c->target_topic = optarg; continue;
		case 'r': c->rules_file = optarg; continue;
		case 'P': c->pack = optarg; continue;
		case 'N': c->no_policy = true; continue;
		case 'j': c->json = true; continue;
		case 'h': usage(stdout); return 1;
		case 'p':
		case 'n':
		case 'f':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || v == 0)
				goto err_value;
			break;
		default: usage(stderr); return -1;
		}
		if (o == 'p' && v <= KC_MAX_PARTS)
			c->partitions = (int32_t)v;
		else if (o == 'n')
			c->count = v;
		else if (o == 'f' && v >= 1024 && v <= (KC_ARENA_BYTES / 2))
			c->fetch_bytes = (int32_t)v;
		else
			goto err_value;
	}
	if (optind != argc || !c->source || !c->target || !c->topic || c->count == 0) {
		usage(stderr);
		return -1;
	}
	if (c->target_topic == NULL)
		c->target_topic = c->topic;
	return 0;

err_value:
	fprintf(stderr, "bench_replicate: bad value '%s'\n", optarg);
	return -1;
}

int
main(int argc, char **argv)
{
	struct kc_conf c = { .partitions = 1, .fetch_bytes = 1 << 20, .pack = "pii-default" };
	struct ferry_kclient src, dst;
	struct ferry_rules rs;
	struct ferry_policy_snapshot snap;
	struct ferry_policy_rt *rt = NULL;
	struct ferry_policy_worker *w = NULL;
	struct kc_stats st = { 0 };
	int64_t next[KC_MAX_PARTS] = { 0 };
	int32_t seq[KC_MAX_PARTS] = { 0 };
	uint8_t *arena_mem = malloc(KC_ARENA_BYTES), *copy = malloc(KC_ARENA_BYTES);
	char err[4096];
	int64_t pid;
	int16_t epoch;
	int status = 2, rc;

	rc = parse_args(argc, argv, &c);
	if (rc != 0 || arena_mem == NULL || copy == NULL) {
		free(arena_mem);
		free(copy);
		return rc > 0 ? 0 : 2;
	}
	if (!c.no_policy) {
		rc = c.rules_file ? ferry_rules_load_file(c.rules_file, &rs, err, sizeof(err))
				  : ferry_rules_load_pack(c.pack, &rs, err, sizeof(err));
		if (rc != 0)
			goto err_setup;
		rc = ferry_policy_compile(&rs, &snap, err, sizeof(err));
		ferry_rules_free(&rs);
		if (rc != 0)
			goto err_setup;
		rt = ferry_policy_rt_new(&snap, err, sizeof(err));
		ferry_policy_snapshot_free(&snap);
		if (rt == NULL)
			goto err_setup;
		struct ferry_policy_worker_conf wc = { .max_batch_bytes = 16 << 20 };
		w = ferry_policy_worker_new(rt, &wc);
		if (w == NULL) {
			snprintf(err, sizeof(err), "policy worker: %s", strerror(errno));
			goto err_setup;
		}
	}
	if (ferry_kclient_connect(&src, c.source, "ferry-bench-src", 30000, err, sizeof(err)) != 0)
		goto err_setup;
	if (ferry_kclient_connect(&dst, c.target, "ferry-bench-dst", 30000, err, sizeof(err)) != 0)
		goto err_close_src;
	if (init_producer(&dst, &pid, &epoch, err, sizeof(err)) != 0)
		goto err_close_dst;

	status = 1;
	double t0 = bench_now_s(), cpu0 = bench_cpu_s();
	while (st.records < c.count) {
		for (int32_t p = 0; p < c.partitions && st.records < c.count; p++) {
			struct ferry_kafka_fetch_resp_part *part;
			struct ferry_kafka_batch_iter it;
			struct ferry_kafka_batch b;
			struct ferry_arena a;

			ferry_arena_init(&a, arena_mem, KC_ARENA_BYTES);
			rc = ferry_kclient_fetch_partition(&src, c.topic, p, next[p], 0,
							   c.fetch_bytes, 500, &a, &part, err,
							   sizeof(err));
			if (rc != 0) {
				if (rc > 0)
					snprintf(err, sizeof(err), "fetch: %s", ferry_err_name(rc));
				goto err_close_dst;
			}
			st.wire_in += part->Records.len;
			ferry_kafka_batch_iter_init(&it, part->Records);
			while (ferry_kafka_batch_next(&it, &b) == 1 && st.records < c.count) {
				struct ferry_policy_result res = { .kind = FERRY_POLICY_RES_UNCHANGED };
				int64_t last = ferry_kafka_batch_last_offset(&b.hdr);
				size_t out_len = b.bytes.len;

				if (last < next[p])
					continue; /* a fetch may start mid-batch */
				if ((rc = ferry_kafka_batch_validate(&b)) < 0) {
					snprintf(err, sizeof(err), "batch at %" PRId64 ": %s",
						 b.hdr.BaseOffset, ferry_err_name(rc));
					goto err_close_dst;
				}
				next[p] = last + 1;
				st.records += (uint64_t)b.hdr.RecordsCount;
				st.batches++;
				if (w != NULL) {
					rc = ferry_policy_apply(w, rt, c.topic, strlen(c.topic), p, &b,
								&res);
					st.masked_spans += res.spans_masked + res.spans_tokenised;
					st.dropped_records += res.records_dropped;
				}
				/* The batch is rewritten where it lies: the kclient's receive buffer
				 * (ours, writable) or the worker's output copied once. */
				uint8_t *out = (uint8_t *)(uintptr_t)b.bytes.p;
				if (res.kind == FERRY_POLICY_RES_REWRITTEN) {
					st.rewritten++;
					if (res.out_len == 0)
						continue; /* every record dropped */
					memcpy(copy, res.out, res.out_len);
					out = copy;
					out_len = res.out_len;
				} else if (res.kind != FERRY_POLICY_RES_UNCHANGED) {
					st.quarantined++;
					continue;
				}
				int32_t nrec = (int32_t)ferry_be32(out + 57); /* RecordsCount */
				struct ferry_kafka_batch_rewrite rw = {
					.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_PRODUCER,
					.BaseOffset = 0,
					.ProducerId = pid,
					.ProducerEpoch = epoch,
					.BaseSequence = seq[p],
				};
				if ((rc = ferry_kafka_batch_rewrite(out, out_len, &rw)) < 0) {
					snprintf(err, sizeof(err), "rewrite: %s", ferry_err_name(rc));
					goto err_close_dst;
				}
				seq[p] = (int32_t)(((int64_t)seq[p] + nrec) & INT32_MAX);
				int64_t base;
				rc = ferry_kclient_produce_batch(&dst, c.target_topic, p,
								 ferry_span_make(out, out_len), -1,
								 &base, err, sizeof(err));
				if (rc != 0) {
					if (rc > 0)
						snprintf(err, sizeof(err), "produce: %s",
							 ferry_err_name(rc));
					goto err_close_dst;
				}
				st.wire_out += out_len;
			}
		}
	}
	double secs = bench_now_s() - t0, cpu = bench_cpu_s() - cpu0;
	status = 0;
	if (c.json)
		printf("{\"tool\":\"bench_replicate\",\"component\":\"ferry codec+policy over "
		       "kclient\",\"records\":%" PRIu64 ",\"batches\":%" PRIu64
		       ",\"wire_bytes_in\":%" PRIu64 ",\"wire_bytes_out\":%" PRIu64
		       ",\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"records_per_s\":%.1f,"
		       "\"records_per_cpu_s\":%.1f,\"rewritten_batches\":%" PRIu64
		       ",\"quarantined_batches\":%" PRIu64 ",\"masked_spans\":%" PRIu64
		       ",\"dropped_records\":%" PRIu64 ",\"policy\":\"%s\"}\n",
		       st.records, st.batches, st.wire_in, st.wire_out, secs, cpu,
		       (double)st.records / secs, cpu > 0 ? (double)st.records / cpu : 0,
		       st.rewritten, st.quarantined, st.masked_spans, st.dropped_records,
		       c.no_policy ? "none" : c.rules_file ? c.rules_file : c.pack);
	else
		printf("bench_replicate: %" PRIu64 " records in %" PRIu64 " batches, %.3f s, %.3f "
		       "CPU s: %.0f rec/s, %.0f rec per CPU-second; %" PRIu64 " batches rewritten, "
		       "%" PRIu64 " quarantined\n",
		       st.records, st.batches, secs, cpu, (double)st.records / secs,
		       cpu > 0 ? (double)st.records / cpu : 0, st.rewritten, st.quarantined);
	goto out_close_dst;

err_close_dst:
	fprintf(stderr, "bench_replicate: %s\n", err);
out_close_dst:
	ferry_kclient_close(&dst);
	ferry_kclient_close(&src);
	goto out_free;
err_close_src:
	ferry_kclient_close(&src);
err_setup:
	fprintf(stderr, "bench_replicate: %s\n", err);
out_free:
	ferry_policy_worker_free(w);
	ferry_policy_rt_free(rt);
	free(arena_mem);
	free(copy);
	return status;
}
