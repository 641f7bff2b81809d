/*
 * latconsume.c - ferry-latconsume: the receiving end of ferry-bench's end-to-end latency run
 * (issue 8, scenario 6). A librdkafka consumer on the target cluster, assigned every partition
 * of one topic from the beginning (no group, no rebalance delay); for each record it prints
 *
 *     <latency ms> <receive time, s since the epoch>
 *
 * where latency = receive time (CLOCK_REALTIME when rd_kafka_consumer_poll hands the record
 * over) - the record's timestamp (CreateTime, set by the producer on the same host, same clock).
 * CreateTime has millisecond resolution and is truncated, so each figure is between 0 and 1 ms
 * high. It stops after --count records, or after --idle seconds without one (exit 1 then).
 *
 * usage: ferry-latconsume --brokers H:P[,...] --topic T --count N [--idle 60]
 *            [-X key=value]...
 * One thread (librdkafka's own threads aside). Exit: 0 all records seen, 1 runtime failure or
 * fewer records than --count, 2 bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define PROG	  "ferry-latconsume"
#define MAX_PROPS 32

static atomic_bool stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_requested, true);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s --brokers H:P[,...] --topic T --count N [--idle SECONDS] "
			"[-X key=value]...\n",
		PROG);
}

static int
conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char errstr[256];
	if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "%s: %s=%s: %s\n", PROG, k, v, errstr);
		return -1;
	}
	return 0;
}

/* Every partition of the topic, from the beginning: 0, or -1 with a message. */
static int
assign_all(rd_kafka_t *rk, const char *topic)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (rkt == NULL)
		return -1;
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TRANSPORT;
	for (int tries = 0; tries < 30 && !atomic_load(&stop_requested); tries++) {
		e = rd_kafka_metadata(rk, 0, rkt, &md, 2000);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
		    md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0)
			break;
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			e = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
			rd_kafka_metadata_destroy(md);
			md = NULL;
		}
	}
	rd_kafka_topic_destroy(rkt);
	if (md == NULL) {
		fprintf(stderr, "%s: metadata for %s: %s\n", PROG, topic, rd_kafka_err2str(e));
		return -1;
	}
	int n = md->topics[0].partition_cnt;
	rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(n);
	for (int i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(tl, topic, md->topics[0].partitions[i].id)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	e = rd_kafka_assign(rk, tl);
	rd_kafka_topic_partition_list_destroy(tl);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "%s: assign: %s\n", PROG, rd_kafka_err2str(e));
		return -1;
	}
	fprintf(stderr, "%s: %s: %d partitions assigned\n", PROG, topic, n);
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_BROKERS = 256, O_TOPIC, O_COUNT, O_IDLE };
	static const struct option lo[] = {
		{ "brokers", 1, NULL, O_BROKERS }, { "topic", 1, NULL, O_TOPIC },
		{ "count", 1, NULL, O_COUNT },	   { "idle", 1, NULL, O_IDLE },
		{ NULL, 0, NULL, 0 },
	};
	const char *brokers = NULL, *topic = NULL, *props[MAX_PROPS];
	unsigned long long count = 0;
	double idle = 60;
	int nprops = 0, c;
	char errstr[512];

	while ((c = getopt_long(argc, argv, "X:", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case O_BROKERS: brokers = optarg; break;
		case O_TOPIC: topic = optarg; break;
		case O_COUNT:
			errno = 0;
			count = strtoull(optarg, &end, 10);
			if (errno || *end || count == 0) {
				fprintf(stderr, "%s: bad --count %s\n", PROG, optarg);
				return 2;
			}
			break;
		case O_IDLE:
			idle = strtod(optarg, &end);
			if (*end || idle <= 0) {
				fprintf(stderr, "%s: bad --idle %s\n", PROG, optarg);
				return 2;
			}
			break;
		case 'X':
			if (strchr(optarg, '=') == NULL || nprops == MAX_PROPS) {
				fprintf(stderr, "%s: bad -X %s\n", PROG, optarg);
				return 2;
			}
			props[nprops++] = optarg;
			break;
		default: usage(); return 2;
		}
	}
	if (brokers == NULL || topic == NULL || count == 0 || optind != argc) {
		usage();
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* fetch.wait.max.ms: the mock cluster answers an empty Fetch only after MaxWait (it does
	 * not wake up when data arrives), so the measuring consumer asks for 1 ms and adds at most
	 * that to the figure. group.id only because the consumer API wants one: no group is
	 * joined (assign, no subscribe) and nothing is committed. */
	const char *kv[][2] = {
		{ "bootstrap.servers", brokers },
		{ "group.id", PROG },
		{ "enable.auto.commit", "false" },
		{ "enable.partition.eof", "false" },
		{ "fetch.wait.max.ms", "1" },
		{ "fetch.error.backoff.ms", "10" },
		{ "check.crcs", "true" },
		{ "log_level", "4" },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (conf_set(conf, kv[i][0], kv[i][1]) < 0)
			goto out_conf;
	for (int i = 0; i < nprops; i++) {
		char prop[512];
		snprintf(prop, sizeof(prop), "%s", props[i]);
		char *eq = strchr(prop, '=');
		*eq = '\0';
		if (conf_set(conf, prop, eq + 1) < 0) {
			rd_kafka_conf_destroy(conf);
			return 2;
		}
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "%s: %s\n", PROG, errstr);
		goto out_conf;
	}
	/* conf is owned by rk from here on. */
	int status = 1;
	if (assign_all(rk, topic) != 0)
		goto out_destroy;
	/* Ready line: the driver starts the load only after it (stderr, unbuffered). */
	fprintf(stderr, "%s: ready\n", PROG);

	unsigned long long seen = 0, no_ts = 0;
	double last = now_s(), lat_sum = 0;
	while (seen < count && !atomic_load(&stop_requested)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		double t = now_s();
		if (m == NULL) {
			if (t - last > idle) {
				fprintf(stderr, "%s: %.0f s without a record\n", PROG, idle);
				break;
			}
			continue;
		}
		if (m->err) {
			fprintf(stderr, "%s: %s\n", PROG, rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		rd_kafka_timestamp_type_t tt;
		int64_t ts = rd_kafka_message_timestamp(m, &tt);
		rd_kafka_message_destroy(m);
		last = t;
		seen++;
		if (tt != RD_KAFKA_TIMESTAMP_CREATE_TIME || ts <= 0) {
			no_ts++;
			continue;
		}
		double lat = t * 1000.0 - (double)ts;
		lat_sum += lat;
		printf("%.3f %.6f\n", lat, t);
	}
	fflush(stdout);
	fprintf(stderr, "%s: %llu/%llu records, %llu without a CreateTime, mean %.1f ms\n", PROG,
		seen, count, no_ts, seen > no_ts ? lat_sum / (double)(seen - no_ts) : 0.0);
	status = seen == count && no_ts == 0 ? 0 : 1;
out_destroy:
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return status;
out_conf:
	rd_kafka_conf_destroy(conf);
	return 1;
}
