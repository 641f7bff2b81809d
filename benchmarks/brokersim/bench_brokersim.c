/*
 * bench_brokersim.c - how fast ferry-brokersim serves and sinks, measured
 * through real client paths on this host (the simulator runs as a child
 * process, one core; the client on another):
 *  1. Fetch: ferry's kclient in a loop of 1 MiB Fetch v12 responses from an
 *     unbounded source topic (the client walks batch headers only), GB/s;
 *  2. the same with the client verifying every batch CRC (ferry_kafka_batch_validate);
 *  3. a librdkafka consumer (check.crcs=false) reading the source, records/s;
 *  4. Produce: a librdkafka idempotent producer (acks=all) into a sink, per codec;
 *  5. Produce: kclient streaming pre-built 1 MiB batches with Acks 0 (the
 *     simulator's own sink path: parse, CRC32C, checks, count), GB/s.
 *
 * Usage: bench_brokersim [--seconds S] [--records N]   (FERRY_BROKERSIM names
 * the simulator; meson sets it for `meson test --benchmark --suite perf`).
 * Single-threaded.
 */
#include <getopt.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "../bench_clock.h"
#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"
#include "kclient.h"
#include "sim_util.h"

#define BATCHES        64
#define BATCH_RECORDS  100
#define VALUE_BYTES    1000
#define RESPONSE_BYTES (1 << 20)

static struct sim_proc sim;
static double seconds = 3;
static long produce_records = 1000000;

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "bench_brokersim: %s: %s\n", what, err);
	sim_kill(&sim);
	exit(1);
}

/* BATCHES uncompressed batches of BATCH_RECORDS records (~100 KiB each). */
static size_t
build_source(uint8_t *file, size_t cap, int codec)
{
	static char values[BATCH_RECORDS][VALUE_BYTES];
	static char keys[BATCH_RECORDS][16];
	struct ferry_kafka_record_in in[BATCH_RECORDS];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	size_t len = 0;

	for (int i = 0; i < BATCH_RECORDS; i++) {
		int n = snprintf(values[i], VALUE_BYTES, "{\"trade\":%d,\"px\":%d.%02d,\"pad\":\"",
				 i, 100 + i, i % 100);
		for (; n < VALUE_BYTES - 2; n++)
			values[i][n] = (char)('a' + (n * 7 + i) % 26);
		values[i][VALUE_BYTES - 2] = '"';
		values[i][VALUE_BYTES - 1] = '}';
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		in[i] =
		    (struct ferry_kafka_record_in){ 1700000000000LL + i, ferry_span_str(keys[i]),
						    ferry_span_make(values[i], VALUE_BYTES), 0,
						    NULL };
	}
	for (int b = 0; b < BATCHES; b++) {
		size_t n = sim_build_batch(file + len, cap - len, codec, in, BATCH_RECORDS, cc);
		if (n == 0)
			die("build", "batch does not fit");
		len += n;
	}
	ferry_codec_ctx_free(cc);
	return len;
}

/* 1 and 2: kclient Fetch loop. */
static void
bench_fetch(bool verify)
{
	static uint8_t mem[4 << 20];
	struct ferry_kclient kc;
	uint64_t bytes = 0, records = 0, responses = 0;
	int64_t offset = 0;
	char err[256];
	double t0, t;

	if (ferry_kclient_connect(&kc, sim.addr, "bench-fetch", 10000, err, sizeof(err)) != 0)
		die("connect", err);
	t0 = bench_now_s();
	do {
		struct ferry_kafka_fetch_req_part p = { 0, -1, offset, -1, -1, RESPONSE_BYTES };
		struct ferry_kafka_fetch_req_topic tp = { ferry_span_str("bench-src"), 1, &p };
		struct ferry_kafka_fetch_req req = {
			.ReplicaId = -1,
			.MaxWaitMs = 500,
			.MinBytes = 1,
			.MaxBytes = RESPONSE_BYTES,
			.SessionEpoch = -1,
			.n_topics = 1,
			.Topics = &tp,
			.RackId = ferry_span_str(""),
		};
		struct ferry_kafka_fetch_resp resp;
		struct ferry_kafka_batch_iter it;
		struct ferry_kafka_batch b;
		struct ferry_arena a;

		ferry_arena_init(&a, mem, sizeof(mem));
		if (ferry_kclient_call(&kc, FERRY_KAFKA_FETCH, 12, &req, &resp, &a, err,
				       sizeof(err)) != 0)
			die("fetch", err);
		if (resp.Responses[0].Partitions[0].ErrorCode != 0)
			die("fetch", ferry_err_name(resp.Responses[0].Partitions[0].ErrorCode));
		ferry_kafka_batch_iter_init(&it, resp.Responses[0].Partitions[0].Records);
		while (ferry_kafka_batch_next(&it, &b) == 1) {
			if (verify && ferry_kafka_batch_validate(&b) != 0)
				die("fetch", "bad batch");
			records += (uint64_t)b.hdr.RecordsCount;
			offset = ferry_kafka_batch_last_offset(&b.hdr) + 1;
		}
		bytes += resp.Responses[0].Partitions[0].Records.len;
		responses++;
		t = bench_now_s();
	} while (t - t0 < seconds);
	printf("%-48s %7.2f GB/s  %6.2f Mrec/s  %8.0f responses/s  (%.2f GB in %.1f s)\n",
	       verify ? "fetch   kclient 1 MiB responses, client CRC check"
		      : "fetch   kclient 1 MiB responses",
	       (double)bytes / (t - t0) / 1e9, (double)records / (t - t0) / 1e6,
	       (double)responses / (t - t0), (double)bytes / 1e9, t - t0);
	ferry_kclient_close(&kc);
}

static rd_kafka_conf_t *
conf_new(const char *const (*kv)[2], size_t n)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];

	if (rd_kafka_conf_set(conf, "bootstrap.servers", sim.addr, errstr, sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)))
		die("conf", errstr);
	for (size_t i = 0; i < n; i++)
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)))
			die(kv[i][0], errstr);
	return conf;
}

/* 3: a librdkafka consumer on the source. */
static void
bench_consume(void)
{
	const char *const kv[][2] = {
		{ "group.id", "bench" },
		{ "enable.auto.commit", "false" },
		{ "check.crcs", "false" },
		{ "fetch.max.bytes", "52428800" },
		{ "max.partition.fetch.bytes", "1048576" },
		{ "queued.max.messages.kbytes", "1048576" },
	};
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	char errstr[256];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf_new(kv, sizeof(kv) / sizeof(kv[0])),
				      errstr, sizeof(errstr));
	uint64_t n = 0, bytes = 0;
	double t0, t;

	if (rk == NULL)
		die("consumer", errstr);
	rd_kafka_topic_partition_list_add(parts, "bench-src", 0)->offset = 0;
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	/* the first message starts the clock (connection set-up excluded) */
	for (t0 = 0;;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
		if (m == NULL)
			continue;
		if (m->err)
			die("consume", rd_kafka_message_errstr(m));
		if (t0 == 0)
			t0 = bench_now_s();
		n++;
		bytes += m->len + m->key_len;
		rd_kafka_message_destroy(m);
		if ((n & 1023) == 0 && (t = bench_now_s()) - t0 >= seconds)
			break;
	}
	printf("%-48s %7.2f GB/s  %6.2f Mrec/s  (keys+values)\n",
	       "fetch   librdkafka consumer, assign, no CRC check", (double)bytes / (t - t0) / 1e9,
	       (double)n / (t - t0) / 1e6);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	long *counts = opaque;

	(void)rk;
	counts[m->err ? 1 : 0]++;
}

/* 4: a librdkafka idempotent producer into a sink. */
static void
bench_produce(const char *codec)
{
	const char *const kv[][2] = {
		{ "enable.idempotence", "true" },
		{ "acks", "all" },
		{ "compression.codec", codec },
		{ "linger.ms", "5" },
		{ "batch.size", "1000000" },
		{ "batch.num.messages", "100000" },
		{ "queue.buffering.max.messages", "2000000" },
		{ "queue.buffering.max.kbytes", "2097151" },
	};
	static char value[100];
	long counts[2] = { 0, 0 };
	rd_kafka_conf_t *conf = conf_new(kv, sizeof(kv) / sizeof(kv[0]));
	char errstr[256], topic[64];
	rd_kafka_t *rk;
	double t0, t;

	snprintf(topic, sizeof(topic), "bench-sink-%s", codec);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, counts);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		die("producer", errstr);
	/* connect and get the producer id before the clock starts */
	rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE("warm-up", 7),
			  RD_KAFKA_V_END);
	rd_kafka_flush(rk, 10000);
	t0 = bench_now_s();
	for (long i = 0; i < produce_records; i++) {
		snprintf(value, sizeof(value),
			 "{\"trade\":%ld,\"px\":101.25,\"qty\":%ld,\"pad\":"
			 "\"xxxxxxxxxxxxxxxxxxxx\"}",
			 i, i % 977);
		while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
					 RD_KAFKA_V_VALUE(value, sizeof(value)),
					 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
		if ((i & 4095) == 0)
			rd_kafka_poll(rk, 0);
	}
	if (rd_kafka_flush(rk, 60000) != 0)
		die("produce", "flush timed out");
	t = bench_now_s();
	if (counts[0] != produce_records + 1 || counts[1] != 0)
		die("produce", "not every record was delivered");
	snprintf(errstr, sizeof(errstr), "produce librdkafka idempotent acks=all %s", codec);
	printf("%-48s %7.2f GB/s  %6.2f Mrec/s  (%ld values of %zu B)\n", errstr,
	       (double)produce_records * sizeof(value) / (t - t0) / 1e9,
	       (double)produce_records / (t - t0) / 1e6, produce_records, sizeof(value));
	rd_kafka_destroy(rk);
}

/* 5: kclient streams pre-built batches with Acks 0; a ListOffsets answers when all are in. */
static void
bench_sink_raw(const uint8_t *file)
{
	static uint8_t mem[1 << 16];
	const uint8_t *batch = file;
	size_t blen = FERRY_KAFKA_BATCH_LOG_OVERHEAD + ferry_be32(file + 8);
	struct ferry_kafka_produce_req_part part = { 0, ferry_span_make(batch, blen) };
	struct ferry_kafka_produce_req_topic tp = { ferry_span_str("bench-raw"), 1, &part };
	struct ferry_kafka_produce_req req = { { NULL, 0 }, 0, 1000, 1, &tp };
	struct ferry_kafka_list_offsets_req_partition lp = { 0, -1, FERRY_KAFKA_OFFSET_LATEST };
	struct ferry_kafka_list_offsets_req_topic lt = { ferry_span_str("bench-raw"), 1, &lp };
	struct ferry_kafka_list_offsets_req lo = { -1, 0, 1, &lt };
	struct ferry_kafka_list_offsets_resp lr;
	struct ferry_kclient kc;
	struct ferry_arena a;
	long n = 0;
	char err[256];
	int32_t corr;
	double t0, t;

	if (ferry_kclient_connect(&kc, sim.addr, "bench-sink", 30000, err, sizeof(err)) != 0)
		die("connect", err);
	/* the first one creates the topic */
	req.Acks = 1;
	{
		struct ferry_kafka_produce_resp pr;
		ferry_arena_init(&a, mem, sizeof(mem));
		if (ferry_kclient_call(&kc, FERRY_KAFKA_PRODUCE, 9, &req, &pr, &a, err,
				       sizeof(err)) != 0)
			die("produce", err);
	}
	req.Acks = 0;
	t0 = bench_now_s();
	do {
		for (int i = 0; i < 64; i++, n++)
			if (ferry_kclient_send(&kc, FERRY_KAFKA_PRODUCE, 9, &req, &corr, err,
					       sizeof(err)) != 0)
				die("produce", err);
		t = bench_now_s();
	} while (t - t0 < seconds);
	ferry_arena_init(&a, mem, sizeof(mem));
	if (ferry_kclient_call(&kc, FERRY_KAFKA_LIST_OFFSETS, 7, &lo, &lr, &a, err, sizeof(err)) !=
	    0)
		die("list offsets", err);
	t = bench_now_s();
	if (lr.Topics[0].Partitions[0].Offset != (n + 1) * BATCH_RECORDS)
		die("sink", "record count does not match");
	snprintf(err, sizeof(err), "produce kclient Acks 0, %zu KiB batches", blen >> 10);
	printf("%-48s %7.2f GB/s  %6.2f Mrec/s  %8.0f batches/s (parse, CRC, checks)\n", err,
	       (double)n * (double)blen / (t - t0) / 1e9,
	       (double)n * BATCH_RECORDS / (t - t0) / 1e6, (double)n / (t - t0));
	ferry_kclient_close(&kc);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "records", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t file[16 << 20];
	char path[] = "/tmp/ferry-bench-brokersim-XXXXXX", fpath[64], topic[128];
	const char *args[16];
	size_t len;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': seconds = atof(optarg); break;
		case 'n': produce_records = atol(optarg); break;
		default:
			fprintf(stderr, "usage: bench_brokersim [--seconds S] [--records N]\n");
			return 2;
		}
	}
	if (mkdtemp(path) == NULL)
		die("mkdtemp", strerror(errno));
	len = build_source(file, sizeof(file), FERRY_CODEC_NONE);
	snprintf(fpath, sizeof(fpath), "%s/src.batches", path);
	if (sim_write_file(fpath, file, len) != 0)
		die("write", fpath);
	snprintf(topic, sizeof(topic), "bench-src:1:source=%s", fpath);
	args[0] = "--topic";
	args[1] = topic;
	args[2] = "--source-records";
	args[3] = "inf";
	args[4] = NULL;
	if (sim_start(&sim, args) != 0)
		die("start", "ferry-brokersim did not start");
	printf("ferry-brokersim at %s; source: %d batches x %d records x %d B values (%.1f MiB per "
	       "pass, unbounded)\n",
	       sim.addr, BATCHES, BATCH_RECORDS, VALUE_BYTES, (double)len / (1 << 20));

	bench_fetch(false);
	bench_fetch(true);
	bench_consume();
	bench_produce("none");
	bench_produce("lz4");
	bench_sink_raw(file);

	if (sim_stop(&sim) != 0)
		die("stop", "ferry-brokersim did not exit cleanly");
	printf("simulator counters: fetch_bytes %" PRIu64 ", produce_batches %" PRIu64
	       ", produce_records %" PRIu64 ", fetch_copies %" PRIu64 "\n",
	       sim_stat(&sim, "fetch_bytes"), sim_stat(&sim, "produce_batches"),
	       sim_stat(&sim, "produce_records"), sim_stat(&sim, "fetch_copies"));
	free(sim.final);
	unlink(fpath);
	rmdir(path);
	return 0;
}
