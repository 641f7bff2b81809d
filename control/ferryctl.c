/*
 * ferryctl.c - ferry's operator CLI: entry point and the wire-level commands
 * (api-versions, fetch, produce, decode, mock). The demo lives in demo.c.
 *
 * Single-threaded, blocking; talks to brokers with the kclient (ferry's own
 * codec), so what it prints is what ferry's data path sees on the wire.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ferry/kafka.h"
#include "ferryctl.h"
#include "kclient.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: ferryctl COMMAND [options]\n"
		"\n"
		"commands:\n"
		"  demo          replicate real batches between two in-process mock clusters\n"
		"                with ferry's codec, and verify them with librdkafka (check.crcs)\n"
		"  api-versions  --broker H:P                 versions ferry negotiates with a broker\n"
		"  fetch         --broker H:P --topic T [--partition N] [--offset O] [--count N]\n"
		"                [--isolation committed|uncommitted]   fetch and print records\n"
		"  produce       --broker H:P --topic T [--partition N] [--codec C] [--acks A]\n"
		"                [--corrupt-crc]  (test aid: a batch with a wrong CRC32C)\n"
		"                produce stdin lines (key<TAB>value, or value) as one batch\n"
		"  decode        FILE                         decode a file of raw record batches\n"
		"  mock          [--brokers N] [--topic T[:PARTS]]... [--control FIFO]  run a librdkafka mock\n"
		"                cluster; FIFO lines: down N, up N, leader TOPIC PART BROKER,\n"
		"                errors APIKEY ERRCODE COUNT (the next COUNT requests of APIKEY\n"
		"                fail with ERRCODE), create TOPIC PARTS\n"
		"  rules check   FILE | --pack NAME           compile a policy rules file, print its\n"
		"                rules and database sizes; errors as FILE:LINE\n"
		"  rules test    FILE | --pack NAME (--records F | --batch F)\n"
		"                what each rule would do to records or Kafka batches\n"
		"\n"
		"  config docs   [--markdown]                 the configuration reference (every key)\n"
		"  config check  FILE [--json] [--fragment]   check an MM2/ferry properties file;\n"
		"                findings as FILE:LINE: error|warning: KEY: message (hint)\n"
		"\n"
		"  status      --config F [--from A --to B] [--json] [--stats FILE]   per flow and\n"
		"              partition: source end, replicated up to, lag (records, ms), heartbeat\n"
		"              age, denied records; masked/tokenised from ferryd's --stats JSON\n"
		"              (`status --help` says where each count comes from)\n"
		"  translate   --config F --group G --from A --to B [--via auto|syncs|checkpoints]\n"
		"  failover    --config F --group G --from A --to B   commit translated offsets on B\n"
		"              (refused while G is active there)\n"
		"  failback    --config F --group G --from A --to B   move G back from B to A\n"
		"\n"
		"  verify      --source H:P --target H:P --source-alias A [--rules FILE] [--topic T]...\n"
		"              [--policy default|identity] [--separator S] [--key FILE]\n"
		"              [--at-least-once] [--ignore-timestamps] [--timeout MS] [--json]\n"
		"              every permitted source record on the target once, in order, with its\n"
		"              policy applied; nothing denied crossed (exit 1 when not)\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n");
}

/* ---- shared printing ------------------------------------------------------------------ */

static void
print_bytes(const char *label, struct ferry_span s)
{
	if (s.p == NULL) {
		printf("%s=(null)", label);
		return;
	}
	printf("%s=\"", label);
	for (size_t i = 0; i < s.len && i < 200; i++) {
		unsigned char c = s.p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	printf(s.len > 200 ? "...\"(%zu bytes)" : "\"", s.len);
}

/* Print every record of a Records blob at or after 'from'; returns records printed or <0. */
static int
print_records(struct ferry_codec_ctx *cc, struct ferry_span records, int64_t from, int64_t *next,
	      int limit)
{
	static uint8_t dec[64 << 20];
	struct ferry_kafka_batch_iter it;
	struct ferry_kafka_batch b;
	int printed = 0, rc;
	ferry_kafka_batch_iter_init(&it, records);
	while (printed < limit && (rc = ferry_kafka_batch_next(&it, &b)) == 1) {
		int vrc = ferry_kafka_batch_validate(&b);
		if (vrc < 0) {
			fprintf(stderr, "batch at offset %lld: %s\n", (long long)b.hdr.BaseOffset,
				ferry_err_desc(vrc));
			return vrc;
		}
		*next = ferry_kafka_batch_last_offset(&b.hdr) + 1;
		if (ferry_kafka_batch_is_control(&b.hdr))
			continue; /* transaction markers occupy offsets but carry no data */
		struct ferry_span rb;
		if ((rc = ferry_kafka_batch_records(cc, &b, dec, sizeof(dec), &rb)) < 0) {
			fprintf(stderr, "batch at offset %lld: %s\n", (long long)b.hdr.BaseOffset,
				ferry_err_desc(rc));
			return rc;
		}
		struct ferry_kafka_rec_iter ri;
		struct ferry_kafka_record r;
		ferry_kafka_rec_iter_init(&ri, rb, b.hdr.RecordsCount);
		while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1) {
			int64_t off = b.hdr.BaseOffset + r.OffsetDelta;
			if (off < from)
				continue;
			int64_t ts = (b.hdr.Attributes & FERRY_KAFKA_ATTR_LOG_APPEND_TIME)
					     ? b.hdr.MaxTimestamp
					     : b.hdr.BaseTimestamp + r.TimestampDelta;
			printf("offset=%lld ts=%lld codec=%s ", (long long)off, (long long)ts,
			       ferry_codec_name(ferry_kafka_batch_codec(&b.hdr)));
			print_bytes("key", r.Key);
			putchar(' ');
			print_bytes("value", r.Value);
			struct ferry_kafka_hdr_iter hi;
			struct ferry_kafka_header h;
			ferry_kafka_hdr_iter_init(&hi, &r);
			while (ferry_kafka_hdr_next(&hi, &h) == 1) {
				printf(" hdr:%.*s=", (int)h.Key.len, (const char *)h.Key.p);
				print_bytes("", h.Value);
			}
			putchar('\n');
			if (++printed >= limit)
				break;
		}
		if (rc < 0) {
			fprintf(stderr, "record in batch at offset %lld: %s\n",
				(long long)b.hdr.BaseOffset, ferry_err_desc(rc));
			return rc;
		}
	}
	if (it.partial_tail)
		fprintf(stderr, "(dropped a cut trailing batch of %zu bytes)\n", it.partial_tail);
	return printed;
}

/* ---- api-versions ---------------------------------------------------------------------- */

int
ferryctl_api_versions(int argc, char **argv)
{
	const char *broker = NULL;
	static const struct option opts[] = { { "broker", required_argument, NULL, 'b' },
					      { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
		if (c == 'b')
			broker = optarg;
		else
			return 2;
	}
	if (broker == NULL) {
		fprintf(stderr, "api-versions: --broker is required\n");
		return 2;
	}
	struct ferry_kclient kc;
	char err[256];
	if (ferry_kclient_connect(&kc, broker, "ferryctl", 10000, err, sizeof(err)) < 0) {
		fprintf(stderr, "api-versions: %s\n", err);
		return 1;
	}
	printf("broker %s answered ApiVersions v%d\n", broker, kc.api_versions_ver);
	printf("%-20s %-10s %-10s %s\n", "API", "broker", "ferry", "chosen");
	size_t n;
	const struct ferry_kafka_api_info *apis = ferry_kafka_api_all(&n);
	for (size_t i = 0; i < n; i++) {
		char bro[16] = "-", fer[16];
		for (int32_t k = 0; k < kc.versions.n_api_keys; k++)
			if (kc.versions.ApiKeys[k].ApiKey == apis[i].ApiKey)
				snprintf(bro, sizeof(bro), "%d-%d", kc.versions.ApiKeys[k].MinVersion,
					 kc.versions.ApiKeys[k].MaxVersion);
		snprintf(fer, sizeof(fer), "%d-%d", apis[i].min_ver, apis[i].max_ver);
		int v = ferry_kclient_version(&kc, apis[i].ApiKey);
		if (v >= 0)
			printf("%-20s %-10s %-10s v%d\n", apis[i].name, bro, fer, v);
		else
			printf("%-20s %-10s %-10s none\n", apis[i].name, bro, fer);
	}
	ferry_kclient_close(&kc);
	return 0;
}

/* ---- fetch ------------------------------------------------------------------------------ */

int
ferryctl_fetch(int argc, char **argv)
{
	const char *broker = NULL, *topic = NULL;
	int32_t partition = 0;
	int64_t offset = 0;
	int count = 1000000;
	int8_t isolation = 0;
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'b' },    { "topic", required_argument, NULL, 't' },
		{ "partition", required_argument, NULL, 'p' }, { "offset", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'c' },     { "isolation", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "b:t:p:o:c:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'b': broker = optarg; break;
		case 't': topic = optarg; break;
		case 'p': partition = (int32_t)strtol(optarg, NULL, 10); break;
		case 'o': offset = strtoll(optarg, NULL, 10); break;
		case 'c': count = (int)strtol(optarg, NULL, 10); break;
		case 'i':
			if (strcmp(optarg, "committed") == 0)
				isolation = 1;
			else if (strcmp(optarg, "uncommitted") != 0) {
				fprintf(stderr, "fetch: --isolation must be committed or uncommitted\n");
				return 2;
			}
			break;
		default: return 2;
		}
	}
	if (broker == NULL || topic == NULL) {
		fprintf(stderr, "fetch: --broker and --topic are required\n");
		return 2;
	}
	struct ferry_kclient kc;
	char err[256];
	if (ferry_kclient_connect(&kc, broker, "ferryctl", 10000, err, sizeof(err)) < 0) {
		fprintf(stderr, "fetch: %s\n", err);
		return 1;
	}
	int ver = ferry_kclient_version(&kc, FERRY_KAFKA_FETCH);
	if (ver < 0) {
		fprintf(stderr, "fetch: broker %s speaks no Fetch version ferry supports (v4-v12)\n",
			broker);
		ferry_kclient_close(&kc);
		return 1;
	}
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	static uint8_t mem[1 << 20];
	int printed = 0, status = 0, idle = 0;
	while (printed < count && idle < 3) {
		struct ferry_arena a;
		ferry_arena_init(&a, mem, sizeof(mem));
		struct ferry_kafka_fetch_resp_part *rp = NULL;
		int rc = ferry_kclient_fetch_partition(&kc, topic, partition, offset, isolation,
						       4 << 20, 300, &a, &rp, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "fetch: %s\n", err);
			status = 1;
			break;
		}
		if (rc > 0) {
			fprintf(stderr, "fetch: %s [%d] offset %lld: broker error %s\n", topic, partition,
				(long long)offset, ferry_err_name(rc));
			status = 1;
			break;
		}
		int64_t next = offset;
		int n = print_records(cc, rp->Records, offset, &next, count - printed);
		if (n < 0) {
			status = 1;
			break;
		}
		printed += n;
		idle = next == offset ? idle + 1 : 0;
		offset = next;
		if (offset >= rp->HighWatermark)
			break;
	}
	fprintf(stderr, "fetch: %d record(s) from %s [%d] with Fetch v%d\n", printed, topic,
		partition, ver);
	ferry_codec_ctx_free(cc);
	ferry_kclient_close(&kc);
	return status;
}

/* ---- produce ---------------------------------------------------------------------------- */

int
ferryctl_produce(int argc, char **argv)
{
	const char *broker = NULL, *topic = NULL;
	int32_t partition = 0;
	int codec = FERRY_CODEC_NONE;
	int16_t acks = -1;
	bool corrupt = false;
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'b' },    { "topic", required_argument, NULL, 't' },
		{ "partition", required_argument, NULL, 'p' }, { "codec", required_argument, NULL, 'z' },
		{ "acks", required_argument, NULL, 'a' },      { "corrupt-crc", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "b:t:p:z:a:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': corrupt = true; break;
		case 'b': broker = optarg; break;
		case 't': topic = optarg; break;
		case 'p': partition = (int32_t)strtol(optarg, NULL, 10); break;
		case 'z':
			codec = ferry_codec_from_name(optarg);
			if (codec < 0) {
				fprintf(stderr, "produce: unknown codec '%s' (none, gzip, snappy, lz4, zstd)\n",
					optarg);
				return 2;
			}
			break;
		case 'a': acks = (int16_t)strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (broker == NULL || topic == NULL) {
		fprintf(stderr, "produce: --broker and --topic are required\n");
		return 2;
	}
	/* Read stdin lines into records: "key\tvalue" or "value". */
	size_t cap = 1024, n = 0;
	struct ferry_kafka_record_in *recs = calloc(cap, sizeof(*recs));
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	while (recs && (len = getline(&line, &lcap, stdin)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (n == cap) {
			struct ferry_kafka_record_in *nr = realloc(recs, 2 * cap * sizeof(*recs));
			if (nr == NULL)
				break;
			recs = nr;
			cap *= 2;
		}
		char *copy = strdup(line);
		char *tab = strchr(copy, '\t');
		memset(&recs[n], 0, sizeof(recs[n]));
		recs[n].Timestamp = 0;
		if (tab) {
			*tab = '\0';
			recs[n].Key = ferry_span_str(copy);
			recs[n].Value = ferry_span_str(tab + 1);
		} else {
			recs[n].Value = ferry_span_str(copy);
		}
		n++;
	}
	free(line);
	if (n == 0) {
		fprintf(stderr, "produce: no records on stdin\n");
		free(recs);
		return 1;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	for (size_t i = 0; i < n; i++)
		recs[i].Timestamp = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	size_t raw = 0;
	for (size_t i = 0; i < n; i++)
		raw += recs[i].Key.len + recs[i].Value.len + 32;
	size_t bcap = ferry_compress_bound(codec == 0 ? 1 : codec, raw) + raw + 1024;
	uint8_t *batch = malloc(bcap), *scratch = malloc(raw + 1024);
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	struct ferry_kafka_batch_args args = { .Attributes = (int16_t)codec, .ProducerId = -1,
					       .ProducerEpoch = -1, .BaseSequence = -1 };
	struct ferry_wr w;
	ferry_wr_init(&w, batch, bcap);
	int status = 1, rc = ferry_kafka_batch_build(&w, &args, recs, n, cc, scratch, raw + 1024);
	if (rc < 0) {
		fprintf(stderr, "produce: building the batch: %s\n", ferry_err_desc(rc));
		goto out_free;
	}
	/* test aid: a batch whose CRC32C no longer matches (one bit of the last record flipped
	 * after the CRC was computed), as a faulty disk or client would leave it */
	if (corrupt && w.len > 61)
		batch[w.len - 1] ^= 0x01;
	struct ferry_kclient kc;
	char err[256];
	if (ferry_kclient_connect(&kc, broker, "ferryctl", 10000, err, sizeof(err)) < 0) {
		fprintf(stderr, "produce: %s\n", err);
		goto out_free;
	}
	int ver = ferry_kclient_version(&kc, FERRY_KAFKA_PRODUCE);
	int64_t base;
	rc = ferry_kclient_produce_batch(&kc, topic, partition, ferry_span_make(batch, w.len), acks,
					 &base, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "produce: %s\n", err);
		goto out_close;
	}
	if (rc > 0) {
		fprintf(stderr, "produce: %s [%d]: broker error %s\n", topic, partition,
			ferry_err_name(rc));
		goto out_close;
	}
	if (acks == 0)
		printf("produced %zu record(s), %zu bytes (%s), acks=0: no answer expected\n", n,
		       w.len, ferry_codec_name(codec));
	else
		printf("produced %zu record(s) in one %s batch of %zu bytes to %s [%d] at offset "
		       "%lld (Produce v%d)\n",
		       n, ferry_codec_name(codec), w.len, topic, partition, (long long)base, ver);
	status = 0;
out_close:
	ferry_kclient_close(&kc);
out_free:
	ferry_codec_ctx_free(cc);
	for (size_t i = 0; i < n; i++)
		free((void *)(recs[i].Key.p ? recs[i].Key.p : recs[i].Value.p));
	free(recs);
	free(batch);
	free(scratch);
	return status;
}

/* ---- decode ----------------------------------------------------------------------------- */

int
ferryctl_decode(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "decode: FILE is required\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (f == NULL) {
		fprintf(stderr, "decode: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	static uint8_t buf[64 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	int64_t next = 0;
	int rc = print_records(cc, ferry_span_make(buf, n), INT64_MIN, &next, INT32_MAX);
	ferry_codec_ctx_free(cc);
	if (rc < 0) {
		fprintf(stderr, "decode: %s: %s\n", argv[1], ferry_err_desc(rc));
		return 1;
	}
	fprintf(stderr, "decode: %d record(s)\n", rc);
	return 0;
}

/* ---- mock ------------------------------------------------------------------------------- */

static atomic_bool mock_stop;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&mock_stop, true);
}

int
ferryctl_mock(int argc, char **argv)
{
	int brokers = 1;
	static const struct option opts[] = { { "brokers", required_argument, NULL, 'n' },
					      { "topic", required_argument, NULL, 't' },
					      { "control", required_argument, NULL, 'c' },
					      { NULL, 0, NULL, 0 } };
	const char *topics[64], *control = NULL;
	int ntopics = 0, c;
	while ((c = getopt_long(argc, argv, "n:t:", opts, NULL)) != -1) {
		if (c == 'n')
			brokers = (int)strtol(optarg, NULL, 10);
		else if (c == 'c')
			control = optarg;
		else if (c == 't' && ntopics < 64)
			topics[ntopics++] = optarg;
		else
			return 2;
	}
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "mock: %s\n", errstr);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (mc == NULL) {
		fprintf(stderr, "mock: cannot start a mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	for (int i = 0; i < ntopics; i++) {
		char name[256];
		snprintf(name, sizeof(name), "%s", topics[i]);
		char *colon = strchr(name, ':');
		int parts = 1;
		if (colon) {
			*colon = '\0';
			parts = (int)strtol(colon + 1, NULL, 10);
		}
		rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3);
	}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	FILE *cf = control ? fopen(control, "r") : NULL;
	if (control && cf == NULL)
		fprintf(stderr, "mock: --control %s: %s\n", control, strerror(errno));
	while (!atomic_load(&mock_stop)) {
		char line[512], topic[256];
		int a, b, n;
		if (cf == NULL || fgets(line, sizeof(line), cf) == NULL) {
			if (cf && feof(cf))
				clearerr(cf);
			usleep(100 * 1000);
			continue;
		}
		/* fault injection for the e2e tests: real broker-side behaviour of the mock */
		if (sscanf(line, "down %d", &a) == 1)
			rd_kafka_mock_broker_set_down(mc, a);
		else if (sscanf(line, "up %d", &a) == 1)
			rd_kafka_mock_broker_set_up(mc, a);
		else if (sscanf(line, "leader %255s %d %d", topic, &a, &b) == 3)
			rd_kafka_mock_partition_set_leader(mc, topic, a, b);
		else if (sscanf(line, "create %255s %d", topic, &a) == 2 && a > 0)
			rd_kafka_mock_topic_create(mc, topic, a, brokers < 3 ? brokers : 3);
		else if (sscanf(line, "errors %d %d %d", &a, &b, &n) == 3 && a >= 0 && n > 0 &&
			 n <= 64) {
			rd_kafka_resp_err_t errs[64];
			for (int i = 0; i < n; i++)
				errs[i] = (rd_kafka_resp_err_t)b;
			rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)n, errs);
		}
		else
			fprintf(stderr, "mock: unknown control command: %s", line);
		fprintf(stderr, "mock: %s", line);
	}
	if (cf)
		fclose(cf);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "demo", ferryctl_demo },	{ "fetch", ferryctl_fetch },
		{ "produce", ferryctl_produce }, { "decode", ferryctl_decode },
		{ "mock", ferryctl_mock },	{ "api-versions", ferryctl_api_versions },
		{ "rules", ferryctl_rules },
		{ "config", ferryctl_config },
		{ "status", ferryctl_status },
		{ "translate", ferryctl_translate },
		{ "failover", ferryctl_failover },
		{ "failback", ferryctl_failback },
		{ "verify", ferryctl_verify },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ferryctl: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
