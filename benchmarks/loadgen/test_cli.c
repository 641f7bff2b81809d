/*
 * test_cli.c - integration test of the ferry-loadgen CLI, run as a subprocess
 * (usage: test_loadgen_cli FERRY_LOADGEN FERRYCTL):
 *  1. batch files with each codec: `ferryctl decode` counts every record, ferry's codec
 *     validates every batch (CRC32C, offsets continuous from 0), and each record equals
 *     the generator's record of the same sequence number; same options, same file bytes;
 *  2. production into an in-process librdkafka mock cluster (explicit partitions, and
 *     the partitioner with a target rate): a librdkafka consumer with check.crcs=true
 *     reads back the same number of records with the same values and headers;
 *  3. --stdout lines, the --truth file, and the usage errors (exit 2, option named).
 *
 * Main thread only (the mock cluster and the consumer run librdkafka threads).
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ferry/kafka.h"
#include "gen.h"

extern char **environ;

static const char *loadgen_path, *ferryctl_path;
static char tmpdir[256];
static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mcluster;
static char bootstraps[256];

/* Run argv with stdout and stderr to files (NULL: /dev/null); returns the exit status. */
static int
run(const char *const *argv, const char *out, const char *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err ? err : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		fail_msg("spawn %s: %s", argv[0], strerror(rc));
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void
tmp_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void
show_file(const char *path)
{
	size_t n;
	char *s = slurp(path, &n);
	fprintf(stderr, "--- %s:\n%s\n", path, s);
	free(s);
}

/* The generator the CLI runs for these options (CLI defaults plus what the tests set). */
static void
gen_for(struct ferry_gen *g, uint64_t seed, double pii, int fmt, int key_mode, bool headers)
{
	struct ferry_gen_conf cf;
	ferry_gen_conf_default(&cf);
	cf.seed = seed;
	cf.pii_share = pii;
	cf.format = fmt;
	cf.key_mode = key_mode;
	cf.headers = headers;
	char err[256];
	assert_int_equal(ferry_gen_init(g, &cf, err, sizeof(err)), 0);
}

static uint64_t
fnv(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(1099511628211);
	return h;
}

/* ---- 1. batch files ------------------------------------------------------------------------ */

/* Walk a batch file with ferry's codec and compare each record with the generator's. */
static void
check_file(const char *path, int codec, struct ferry_gen *g, uint64_t count, int max_batch)
{
	size_t len;
	uint8_t *data = (uint8_t *)slurp(path, &len);
	static uint8_t dec[16 << 20], buf[FERRY_GEN_MAX_SIZE + 4096];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	struct ferry_kafka_batch_iter it;
	struct ferry_kafka_batch b;
	int rc;
	uint64_t seq = 0;
	ferry_kafka_batch_iter_init(&it, ferry_span_make(data, len));
	while ((rc = ferry_kafka_batch_next(&it, &b)) == 1) {
		assert_int_equal(ferry_kafka_batch_validate(&b), 0);
		assert_int_equal(ferry_kafka_batch_check_produce(&b) == 0, b.hdr.BaseOffset == 0);
		assert_int_equal(ferry_kafka_batch_codec(&b.hdr), codec);
		assert_true(b.hdr.BaseOffset == (int64_t)seq);
		assert_true(b.hdr.RecordsCount >= 1 && b.hdr.RecordsCount <= max_batch);
		struct ferry_span rb;
		assert_int_equal(ferry_kafka_batch_records(cc, &b, dec, sizeof(dec), &rb), 0);
		struct ferry_kafka_rec_iter ri;
		struct ferry_kafka_record r;
		ferry_kafka_rec_iter_init(&ri, rb, b.hdr.RecordsCount);
		while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1) {
			struct ferry_gen_rec want;
			assert_int_equal(ferry_gen_record(g, seq, buf, sizeof(buf), &want), 0);
			assert_int_equal(r.OffsetDelta,
					 (int32_t)(seq - (uint64_t)b.hdr.BaseOffset));
			assert_true(b.hdr.BaseTimestamp + r.TimestampDelta == want.timestamp);
			assert_int_equal(r.Key.p == NULL, want.key.p == NULL);
			assert_int_equal(r.Key.len, want.key.len);
			if (r.Key.len)
				assert_memory_equal(r.Key.p, want.key.p, r.Key.len);
			assert_int_equal(r.Value.len, want.value.len);
			assert_memory_equal(r.Value.p, want.value.p, r.Value.len);
			assert_int_equal(r.HeadersCount, (int32_t)want.n_headers);
			struct ferry_kafka_hdr_iter hi;
			struct ferry_kafka_header h;
			ferry_kafka_hdr_iter_init(&hi, &r);
			for (uint32_t k = 0; ferry_kafka_hdr_next(&hi, &h) == 1; k++) {
				assert_true(ferry_span_eq(h.Key, want.headers[k].Key));
				assert_true(ferry_span_eq(h.Value, want.headers[k].Value));
			}
			seq++;
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(it.partial_tail, 0);
	assert_true(seq == count);
	ferry_codec_ctx_free(cc);
	free(data);
}

/* `ferryctl decode FILE`: exit 0 and "decode: N record(s)" on stderr. */
static long
ferryctl_decode_count(const char *path)
{
	char err[512];
	tmp_path(err, sizeof(err), "decode.err");
	const char *argv[] = { ferryctl_path, "decode", path, NULL };
	int st = run(argv, NULL, err);
	if (st != 0) {
		show_file(err);
		fail_msg("ferryctl decode %s: exit %d", path, st);
	}
	size_t n;
	char *s = slurp(err, &n);
	char *p = strstr(s, "decode: ");
	long count = p ? strtol(p + 8, NULL, 10) : -1;
	free(s);
	return count;
}

static void
test_file_codecs(void **state)
{
	(void)state;
	static const char *const codecs[] = { "none", "gzip", "snappy", "lz4", "zstd" };
	struct ferry_gen g;
	gen_for(&g, 7, 0.05, FERRY_GEN_FMT_JSON, FERRY_GEN_KEY_INSTRUMENT, true);
	for (size_t c = 0; c < 5; c++) {
		char file[512], truth[512], out[512], err[512];
		snprintf(file, sizeof(file), "%s/%s.batches", tmpdir, codecs[c]);
		snprintf(truth, sizeof(truth), "%s/%s.truth", tmpdir, codecs[c]);
		tmp_path(out, sizeof(out), "loadgen.out");
		tmp_path(err, sizeof(err), "loadgen.err");
		const char *argv[] = { loadgen_path, "--seed",      "7",       "--count",
				       "3000",       "--pii-share", "0.05",    "--out-file",
				       file,         "--codec",     codecs[c], "--batch-records",
				       "200",        "--truth",     truth,     NULL };
		int st = run(argv, out, err);
		if (st != 0) {
			show_file(err);
			fail_msg("ferry-loadgen --codec %s: exit %d", codecs[c], st);
		}
		assert_int_equal(ferryctl_decode_count(file), 3000);
		check_file(file, ferry_codec_from_name(codecs[c]), &g, 3000, 200);

		/* The summary names the output; the truth file has one line per PII record. */
		size_t n;
		char *s = slurp(out, &n);
		assert_non_null(strstr(s, "3000 records"));
		assert_non_null(strstr(s, codecs[c]));
		free(s);
		s = slurp(truth, &n);
		int lines = 0, pii_records = 0;
		for (size_t i = 0; i < n; i++)
			lines += s[i] == '\n';
		static uint8_t buf[FERRY_GEN_MAX_SIZE + 4096];
		for (uint64_t q = 0; q < 3000; q++) {
			struct ferry_gen_rec r;
			ferry_gen_record(&g, q, buf, sizeof(buf), &r);
			pii_records += r.n_pii > 0;
		}
		assert_int_equal(lines, pii_records);
		assert_true(pii_records > 75 && pii_records < 225);
		assert_non_null(strstr(s, "\"pii\":[{\"type\":\""));
		free(s);
	}

	/* Deterministic end to end: the same options write the same bytes. */
	char again[512], first[512];
	tmp_path(again, sizeof(again), "again.batches");
	tmp_path(first, sizeof(first), "zstd.batches");
	const char *argv[] = { loadgen_path, "--seed",      "7",    "--count",
			       "3000",       "--pii-share", "0.05", "--out-file",
			       again,        "--codec",     "zstd", "--batch-records",
			       "200",        NULL };
	assert_int_equal(run(argv, NULL, NULL), 0);
	size_t n1, n2;
	char *a = slurp(first, &n1), *b = slurp(again, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	free(a);
	free(b);
}

/* Binary values, no keys, no headers, large records split by --batch-bytes. */
static void
test_file_binary(void **state)
{
	(void)state;
	char file[512], err[512];
	tmp_path(file, sizeof(file), "binary.batches");
	tmp_path(err, sizeof(err), "loadgen.err");
	const char *argv[] = { loadgen_path,    "--seed",       "11",          "--count",
			       "2000",          "--format",     "binary",      "--key",
			       "none",          "--no-headers", "--pii-share", "0.5",
			       "--out-file",    file,           "--codec",     "lz4",
			       "--batch-bytes", "65536",        NULL };
	int st = run(argv, NULL, err);
	if (st != 0) {
		show_file(err);
		fail_msg("ferry-loadgen binary: exit %d", st);
	}
	assert_int_equal(ferryctl_decode_count(file), 2000);
	struct ferry_gen g;
	gen_for(&g, 11, 0.5, FERRY_GEN_FMT_BINARY, FERRY_GEN_KEY_NONE, false);
	/* 65536-byte batches hold at most ~15 records of up to 4 KiB. */
	check_file(file, FERRY_CODEC_LZ4, &g, 2000, 500);
}

/* ---- 2. Kafka (mock cluster) ---------------------------------------------------------------- */

static int
setup_cluster(void **state)
{
	(void)state;
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (mock_rk == NULL)
		return -1;
	mcluster = rd_kafka_mock_cluster_new(mock_rk, 1);
	if (mcluster == NULL)
		return -1;
	snprintf(bootstraps, sizeof(bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(mcluster));
	return 0;
}

static int
teardown_cluster(void **state)
{
	(void)state;
	rd_kafka_mock_cluster_destroy(mcluster);
	rd_kafka_destroy(mock_rk);
	return 0;
}

struct consumed {
	int count;
	uint64_t value_hash; /* sum of per-record hashes: order-independent */
	int with_headers;
	int key_partition_conflicts;
};

/* Read partitions 0..nparts-1 from the start with CRC checks until 'expect' records. */
static void
consume(const char *topic, int nparts, int expect, struct consumed *c)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = {
		{ "bootstrap.servers", bootstraps },
		{ "group.id", "ferry-loadgen-test" },
		{ "check.crcs", "true" },
		{ "enable.auto.commit", "false" },
		{ "log_level", "3" },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		assert_int_equal(
		    rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)),
		    RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
	for (int p = 0; p < nparts; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);

	/* key -> partition seen first, to check that a key always lands in one partition */
	static char keys[4096][16];
	static int32_t key_part[4096];
	int nkeys = 0;
	memset(c, 0, sizeof(*c));
	time_t deadline = time(NULL) + 60;
	while (c->count < expect && time(NULL) < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL)
			continue;
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fail_msg("%s: consumer error: %s", topic,
					 rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		c->count++;
		c->value_hash += fnv(m->payload, m->len, UINT64_C(14695981039346656037));
		rd_kafka_headers_t *h = NULL;
		if (rd_kafka_message_headers(m, &h) == 0 && rd_kafka_header_cnt(h) == 3) {
			const void *v;
			size_t vsz;
			if (rd_kafka_header_get_last(h, "traceparent", &v, &vsz) == 0 && vsz == 55)
				c->with_headers++;
		}
		if (m->key_len > 0 && m->key_len < 16) {
			int k = 0;
			while (k < nkeys && (strlen(keys[k]) != m->key_len ||
					     memcmp(keys[k], m->key, m->key_len) != 0))
				k++;
			if (k == nkeys && nkeys < 4096) {
				memcpy(keys[k], m->key, m->key_len);
				keys[k][m->key_len] = '\0';
				key_part[k] = m->partition;
				nkeys++;
			} else if (k < nkeys && key_part[k] != m->partition) {
				c->key_partition_conflicts++;
			}
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

static uint64_t
expected_hash(struct ferry_gen *g, int n)
{
	static uint8_t buf[FERRY_GEN_MAX_SIZE + 4096];
	uint64_t h = 0;
	for (int i = 0; i < n; i++) {
		struct ferry_gen_rec r;
		ferry_gen_record(g, (uint64_t)i, buf, sizeof(buf), &r);
		h += fnv(r.value.p, r.value.len, UINT64_C(14695981039346656037));
	}
	return h;
}

/*
 * Keep the volumes small: librdkafka 2.0.2's mock keeps at most 5 MiB (and 100000 message
 * sets) per partition and drops the oldest beyond that (rdkafka_mock.c, max_size/max_cnt),
 * so a consumer from the beginning would see fewer records than were delivered.
 * 5000 records of ~1.1 KB over 3 partitions stay well below it.
 */
static void
test_kafka_partitions(void **state)
{
	(void)state;
	assert_int_equal(rd_kafka_mock_topic_create(mcluster, "loadgen-parts", 3, 1), 0);
	char out[512], err[512];
	tmp_path(out, sizeof(out), "kafka.out");
	tmp_path(err, sizeof(err), "kafka.err");
	const char *argv[] = { loadgen_path,    "--seed",       "9",        "--count",
			       "5000",          "--brokers",    bootstraps, "--topic",
			       "loadgen-parts", "--partitions", "3",        "--codec",
			       "zstd",          "--pii-share",  "0.02",     NULL };
	int st = run(argv, out, err);
	if (st != 0) {
		show_file(out);
		show_file(err);
		fail_msg("ferry-loadgen --brokers: exit %d", st);
	}
	size_t n;
	char *s = slurp(out, &n);
	assert_non_null(strstr(s, "5000 delivered"));
	free(s);

	struct consumed c;
	consume("loadgen-parts", 3, 5000, &c);
	assert_int_equal(c.count, 5000);
	struct ferry_gen g;
	gen_for(&g, 9, 0.02, FERRY_GEN_FMT_JSON, FERRY_GEN_KEY_INSTRUMENT, true);
	assert_true(c.value_hash == expected_hash(&g, 5000));
	assert_int_equal(c.with_headers, 5000);
	assert_int_equal(c.key_partition_conflicts, 0);
}

/* librdkafka's partitioner, binary values, lz4, and --rate: 1000 records at 2500/s. */
static void
test_kafka_rate(void **state)
{
	(void)state;
	assert_int_equal(rd_kafka_mock_topic_create(mcluster, "loadgen-rate", 2, 1), 0);
	char err[512];
	tmp_path(err, sizeof(err), "kafka.err");
	const char *argv[] = { loadgen_path, "--seed",      "3",       "--count",      "1000",
			       "--brokers",  bootstraps,    "--topic", "loadgen-rate", "--codec",
			       "lz4",        "--format",    "binary",  "--rate",       "2500",
			       "-X",         "linger.ms=2", NULL };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int st = run(argv, NULL, err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (st != 0) {
		show_file(err);
		fail_msg("ferry-loadgen --rate: exit %d", st);
	}
	double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(el >= 0.35); /* 1000 records at 2500/s take at least 0.4 s */
	struct consumed c;
	consume("loadgen-rate", 2, 1000, &c);
	assert_int_equal(c.count, 1000);
	struct ferry_gen g;
	gen_for(&g, 3, 0.01, FERRY_GEN_FMT_BINARY, FERRY_GEN_KEY_INSTRUMENT, true);
	assert_true(c.value_hash == expected_hash(&g, 1000));
}

/* ---- 3. stdout, usage errors ---------------------------------------------------------------- */

static void
test_stdout(void **state)
{
	(void)state;
	char out[512], err[512];
	tmp_path(out, sizeof(out), "stdout.txt");
	tmp_path(err, sizeof(err), "stdout.err");
	const char *argv[] = { loadgen_path, "--stdout", "--count", "500",     "--seed",
			       "5",          "--key",    "account", "--kinds", "client,trade:2",
			       NULL };
	assert_int_equal(run(argv, out, err), 0);
	struct ferry_gen_conf cf;
	ferry_gen_conf_default(&cf);
	cf.seed = 5;
	cf.key_mode = FERRY_GEN_KEY_ACCOUNT;
	char e[256];
	assert_int_equal(ferry_gen_parse_kinds("client,trade:2", cf.kind_weight, e, sizeof(e)), 0);
	struct ferry_gen g;
	assert_int_equal(ferry_gen_init(&g, &cf, e, sizeof(e)), 0);
	size_t n;
	char *s = slurp(out, &n), *line = s;
	static uint8_t buf[FERRY_GEN_MAX_SIZE + 4096];
	for (int i = 0; i < 500; i++) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		struct ferry_gen_rec r;
		ferry_gen_next(&g, buf, sizeof(buf), &r);
		assert_int_equal((size_t)(nl - line), r.key.len + 1 + r.value.len);
		assert_memory_equal(line, r.key.p, r.key.len);
		assert_int_equal(line[r.key.len], '\t');
		assert_memory_equal(line + r.key.len + 1, r.value.p, r.value.len);
		line = nl + 1;
	}
	assert_int_equal(*line, '\0');
	free(s);
	s = slurp(err, &n); /* the summary goes to stderr when stdout carries records */
	assert_non_null(strstr(s, "500 records"));
	free(s);
}

static void
test_usage_errors(void **state)
{
	(void)state;
	static const struct {
		const char *args[8];
		const char *needle;
	} cases[] = {
		{ { "--count", "0", "--stdout" }, "--count" },
		{ { "--count", "12x", "--stdout" }, "--count" },
		{ { "--pii-share", "2", "--stdout" }, "--pii-share" },
		{ { "--pii-share", "abc", "--stdout" }, "--pii-share" },
		{ { "--format", "xml", "--stdout" }, "--format" },
		{ { "--key", "isin", "--stdout" }, "--key" },
		{ { "--kinds", "trade,swap", "--stdout" }, "--kinds" },
		{ { "--min-size", "50", "--stdout" }, "--min-size" },
		{ { "--max-size", "9999999", "--stdout" }, "--max-size" },
		{ { "--min-size", "5000", "--max-size", "4000", "--stdout" }, "--min-size" },
		{ { "--rate", "-5", "--stdout" }, "--rate" },
		{ { "--codec", "brotli", "--out-file", "x" }, "--codec" },
		{ { "--stdout", "--out-file", "x" }, "--out-file" },
		{ { "--count", "5" }, "no output" },
		{ { "--brokers", "localhost:9" }, "--topic" },
		{ { "--topic", "t", "--stdout" }, "--topic" },
		{ { "--partitions", "3", "--stdout" }, "--partitions" },
		{ { "--stdout", "--format", "binary" }, "--stdout" },
		{ { "--batch-records", "10", "--stdout" }, "--batch-records" },
		{ { "--stdout", "--codec", "zstd" }, "--codec" },
		{ { "-X", "nonsense", "--brokers", "h:1", "--topic", "t" }, "-X" },
		{ { "--bogus", "--stdout" }, "bogus" },
		{ { "--stdout", "extra" }, "extra" },
	};
	char err[512];
	tmp_path(err, sizeof(err), "usage.err");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[12] = { loadgen_path };
		int k = 1;
		for (int j = 0; j < 8 && cases[i].args[j]; j++)
			argv[k++] = cases[i].args[j];
		argv[k] = NULL;
		int st = run(argv, NULL, err);
		size_t n;
		char *s = slurp(err, &n);
		if (st != 2 || strstr(s, cases[i].needle) == NULL)
			fail_msg("case %zu (%s ...): exit %d, stderr: %s", i, cases[i].args[0], st,
				 s);
		free(s);
	}
	/* A librdkafka property it does not know is a usage error too. */
	const char *argv[] = { loadgen_path, "--brokers", bootstraps,
			       "--topic",    "t",         "--count",
			       "1",          "-X",        "no.such.property=1",
			       NULL };
	assert_int_equal(run(argv, NULL, err), 2);
	char out[512];
	tmp_path(out, sizeof(out), "help.out");
	const char *help[] = { loadgen_path, "--help", NULL };
	assert_int_equal(run(help, out, NULL), 0);
	size_t n;
	char *s = slurp(out, &n);
	assert_non_null(strstr(s, "usage: ferry-loadgen"));
	free(s);
}

static int
cleanup_tmp(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s FERRY_LOADGEN FERRYCTL\n", argv[0]);
		return 2;
	}
	loadgen_path = argv[1];
	ferryctl_path = argv[2];
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/ferry-loadgen-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_codecs),      cmocka_unit_test(test_file_binary),
		cmocka_unit_test(test_kafka_partitions), cmocka_unit_test(test_kafka_rate),
		cmocka_unit_test(test_stdout),           cmocka_unit_test(test_usage_errors),
	};
	int rc = cmocka_run_group_tests(tests, setup_cluster, teardown_cluster);
	if (rc == 0 || getenv("FERRY_TEST_KEEP") == NULL)
		cleanup_tmp();
	else
		fprintf(stderr, "kept %s\n", tmpdir);
	return rc;
}
