/*
 * demo.c - `ferryctl demo`: the quick-start job. Two regions on one host,
 * each a librdkafka mock cluster (real Kafka protocol): "london" (source)
 * and "singapore" (target).
 *
 *  1. A librdkafka producer writes trading records to london, one topic per
 *     codec (none, gzip, snappy, lz4, zstd), as any bank application would.
 *  2. Ferry fetches them with its own Fetch codec over TCP, walks the v2
 *     batches, verifies every CRC32C and iterates every record (decompressing
 *     where needed) — batches stay bytes, nothing is re-produced record by record.
 *  3. Ferry obtains an idempotent producer id from singapore (InitProducerId),
 *     rewrites each batch header (BaseOffset 0, producer id / epoch /
 *     sequence) with a CRC recompute, and produces the same bytes to
 *     singapore as `london.<topic>` (MM2's DefaultReplicationPolicy name).
 *  4. A librdkafka consumer with check.crcs=true reads singapore and the demo
 *     compares every key, value and timestamp with what was written in london.
 *
 * Main thread only; librdkafka runs its own threads for the mock clusters.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"
#include "ferryctl.h"
#include "kclient.h"

struct demo_rec {
	char key[24];
	char *value;
	size_t vlen;
	int64_t ts;
};

struct demo_stats {
	int batches, records, verified;
	uint64_t src_bytes, raw_bytes;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A trade, an order or a risk row, as JSON; some carry client PII the
 * policy engine (a later issue) will mask. */
static void
make_record(struct demo_rec *r, int i, unsigned *seed)
{
	static const char *isins[] = { "GB00B03MLX29", "US0378331005", "SG1L01001701",
				       "JP3633400001" };
	static const char *venues[] = { "XLON", "XNYS", "XSES", "XTKS" };
	char buf[1024];
	int n;
	*seed = *seed * 1103515245u + 12345u;
	unsigned x = *seed >> 8;
	snprintf(r->key, sizeof(r->key), "acct-%05u", x % 50000);
	switch (i % 3) {
	case 0:
		n = snprintf(buf, sizeof(buf),
			     "{\"type\":\"trade\",\"id\":%d,\"isin\":\"%s\",\"venue\":\"%s\","
			     "\"px\":%u.%02u,\"qty\":%u,\"side\":\"%s\",\"trader\":\"T%03u\"}",
			     i, isins[x % 4], venues[x % 4], 50 + x % 400, x % 100, 100 * (1 + x % 90),
			     x & 1 ? "BUY" : "SELL", x % 300);
		break;
	case 1:
		n = snprintf(buf, sizeof(buf),
			     "{\"type\":\"order\",\"id\":%d,\"isin\":\"%s\",\"limit\":%u.%02u,"
			     "\"tif\":\"DAY\",\"client\":{\"name\":\"Client %u\","
			     "\"iban\":\"GB82WEST12345698765432\",\"email\":\"c%u@example.com\"}}",
			     i, isins[x % 4], 50 + x % 400, x % 100, x % 1000, x % 1000);
		break;
	default:
		n = snprintf(buf, sizeof(buf),
			     "{\"type\":\"risk\",\"book\":\"RATES-%u\",\"dv01\":%d.%03u,"
			     "\"vega\":%u.%u,\"var99\":%u,\"scenario\":\"%s\"}",
			     x % 20, (int)(x % 5000) - 2500, x % 1000, x % 900, x % 10, x % 1000000,
			     x & 2 ? "parallel+25bp" : "steepener");
		break;
	}
	r->value = malloc((size_t)n);
	memcpy(r->value, buf, (size_t)n);
	r->vlen = (size_t)n;
	r->ts = 1700000000000LL + i * 13;
}

static int
set_all(rd_kafka_conf_t *conf, const char *kv[][2], size_t n)
{
	char errstr[256];
	for (size_t i = 0; i < n; i++)
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)) !=
		    RD_KAFKA_CONF_OK) {
			fprintf(stderr, "demo: %s\n", errstr);
			return -1;
		}
	return 0;
}

static int
produce_source(const char *bootstraps, const char *topic, const char *codec,
	       const struct demo_rec *recs, int n)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = { { "bootstrap.servers", bootstraps }, { "compression.codec", codec },
				{ "linger.ms", "20" }, { "enable.idempotence", "true" },
				{ "log_level", "3" } };
	if (set_all(conf, kv, sizeof(kv) / sizeof(kv[0])) < 0)
		return -1;
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "demo: %s\n", errstr);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		rd_kafka_resp_err_t e;
		do {
			e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
					      RD_KAFKA_V_KEY(recs[i].key, strlen(recs[i].key)),
					      RD_KAFKA_V_VALUE(recs[i].value, recs[i].vlen),
					      RD_KAFKA_V_TIMESTAMP(recs[i].ts),
					      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(rk, 10);
		} while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
		if (e) {
			fprintf(stderr, "demo: produce: %s\n", rd_kafka_err2str(e));
			rd_kafka_destroy(rk);
			return -1;
		}
	}
	int rc = rd_kafka_flush(rk, 30000) == 0 ? 0 : -1;
	rd_kafka_destroy(rk);
	return rc;
}

/* Steps 2 and 3 for one topic: fetch batches, verify, rewrite, produce. */
static int
replicate(struct ferry_kclient *src, struct ferry_kclient *dst, const char *topic,
	  const char *target_topic, int64_t pid, int16_t epoch, int expect, struct demo_stats *st,
	  struct ferry_codec_ctx *cc)
{
	static uint8_t mem[1 << 20], dec[16 << 20];
	char err[256];
	int64_t offset = 0;
	int32_t seq = 0;
	for (int round = 0; round < 10000 && st->records < expect; round++) {
		struct ferry_arena a;
		ferry_arena_init(&a, mem, sizeof(mem));
		struct ferry_kafka_fetch_resp_part *rp = NULL;
		int frc = ferry_kclient_fetch_partition(src, topic, 0, offset, 0, 8 << 20, 200, &a,
							&rp, err, sizeof(err));
		if (frc != 0) {
			fprintf(stderr, "demo: fetch %s: %s\n", topic,
				frc < 0 ? err : ferry_err_name(frc));
			return -1;
		}
		struct ferry_kafka_batch_iter it;
		struct ferry_kafka_batch b;
		int rc;
		ferry_kafka_batch_iter_init(&it, rp->Records);
		while ((rc = ferry_kafka_batch_next(&it, &b)) == 1) {
			if ((rc = ferry_kafka_batch_validate(&b)) < 0) {
				fprintf(stderr, "demo: %s batch at %lld: %s\n", topic,
					(long long)b.hdr.BaseOffset, ferry_err_desc(rc));
				return -1;
			}
			offset = ferry_kafka_batch_last_offset(&b.hdr) + 1;
			if (ferry_kafka_batch_is_control(&b.hdr))
				continue;
			struct ferry_span rb;
			if ((rc = ferry_kafka_batch_records(cc, &b, dec, sizeof(dec), &rb)) < 0) {
				fprintf(stderr, "demo: %s: %s\n", topic, ferry_err_desc(rc));
				return -1;
			}
			struct ferry_kafka_rec_iter ri;
			struct ferry_kafka_record r;
			ferry_kafka_rec_iter_init(&ri, rb, b.hdr.RecordsCount);
			int nrec = 0;
			while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1)
				nrec++;
			if (rc < 0) {
				fprintf(stderr, "demo: %s: record: %s\n", topic, ferry_err_desc(rc));
				return -1;
			}
			st->batches++;
			st->records += nrec;
			st->src_bytes += b.bytes.len;
			st->raw_bytes += rb.len;

			/* Step 3: the bytes go on as they are, with our producer's
			 * header fields; only the CRC is recomputed (DESIGN §2 step 4). */
			uint8_t *copy = (uint8_t *)(uintptr_t)b.bytes.p; /* our own receive buffer */
			struct ferry_kafka_batch_rewrite rw = {
				.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_PRODUCER,
				.BaseOffset = 0, .ProducerId = pid, .ProducerEpoch = epoch,
				.BaseSequence = seq,
			};
			if ((rc = ferry_kafka_batch_rewrite(copy, b.bytes.len, &rw)) < 0) {
				fprintf(stderr, "demo: rewrite: %s\n", ferry_err_desc(rc));
				return -1;
			}
			seq += b.hdr.RecordsCount;
			int64_t base;
			rc = ferry_kclient_produce_batch(dst, target_topic, 0, b.bytes, -1, &base, err,
							 sizeof(err));
			if (rc != 0) {
				fprintf(stderr, "demo: produce %s: %s\n", target_topic,
					rc < 0 ? err : ferry_err_name(rc));
				return -1;
			}
		}
		if (rc < 0) {
			fprintf(stderr, "demo: %s: %s\n", topic, ferry_err_desc(rc));
			return -1;
		}
	}
	return st->records == expect ? 0 : -1;
}

/* Step 4: consume the target with CRC checks and compare with the source records. */
static int
verify_target(const char *bootstraps, const char *topic, const struct demo_rec *recs, int n,
	      struct demo_stats *st)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = { { "bootstrap.servers", bootstraps }, { "group.id", "ferry-demo" },
				{ "check.crcs", "true" }, { "enable.partition.eof", "true" },
				{ "enable.auto.commit", "false" }, { "log_level", "3" } };
	if (set_all(conf, kv, sizeof(kv) / sizeof(kv[0])) < 0)
		return -1;
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		return -1;
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	double deadline = now_s() + 60;
	int bad = 0;
	while (st->verified + bad < n && now_s() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			continue;
		}
		if (m->err) {
			fprintf(stderr, "demo: consume %s: %s\n", topic, rd_kafka_message_errstr(m));
			bad++;
		} else {
			const struct demo_rec *r = &recs[m->offset < n ? m->offset : 0];
			rd_kafka_timestamp_type_t tt;
			if (m->key_len == strlen(r->key) && memcmp(m->key, r->key, m->key_len) == 0 &&
			    m->len == r->vlen && memcmp(m->payload, r->value, r->vlen) == 0 &&
			    rd_kafka_message_timestamp(m, &tt) == r->ts)
				st->verified++;
			else
				bad++;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return bad == 0 && st->verified == n ? 0 : -1;
}

static rd_kafka_mock_cluster_t *
start_cluster(rd_kafka_t **rkp)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	*rkp = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (*rkp == NULL)
		return NULL;
	return rd_kafka_mock_cluster_new(*rkp, 1);
}

int
ferryctl_demo(int argc, char **argv)
{
	int nrec = 20000;
	static const struct option opts[] = { { "records", required_argument, NULL, 'n' },
					      { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (c == 'n')
			nrec = (int)strtol(optarg, NULL, 10);
		else
			return 2;
	}
	if (nrec < 1 || nrec > 1000000) {
		fprintf(stderr, "demo: --records must be 1..1000000\n");
		return 2;
	}
	int status = 1;
	rd_kafka_t *lrk = NULL, *srk = NULL;
	rd_kafka_mock_cluster_t *london = start_cluster(&lrk);
	rd_kafka_mock_cluster_t *singapore = start_cluster(&srk);
	if (london == NULL || singapore == NULL) {
		fprintf(stderr, "demo: cannot start the mock clusters\n");
		goto out_clusters;
	}
	char lbs[256], sbs[256];
	snprintf(lbs, sizeof(lbs), "%s", rd_kafka_mock_cluster_bootstraps(london));
	snprintf(sbs, sizeof(sbs), "%s", rd_kafka_mock_cluster_bootstraps(singapore));
	printf("ferry demo: two regions on one host (librdkafka mock clusters)\n");
	printf("  london    (source) %s\n  singapore (target) %s\n\n", lbs, sbs);

	struct demo_rec *recs = calloc((size_t)nrec, sizeof(*recs));
	unsigned seed = 42;
	for (int i = 0; i < nrec; i++)
		make_record(&recs[i], i, &seed);

	static const char *codecs[] = { "none", "gzip", "snappy", "lz4", "zstd" };
	struct ferry_kclient src, dst;
	char err[256];
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	double t0 = now_s();
	for (int k = 0; k < 5; k++) {
		char topic[64];
		snprintf(topic, sizeof(topic), "trades-%s", codecs[k]);
		rd_kafka_mock_topic_create(london, topic, 1, 1);
		if (produce_source(lbs, topic, codecs[k], recs, nrec) < 0)
			goto out_recs;
	}
	printf("1. librdkafka wrote %d trading records to each of 5 london topics (%.2f s)\n",
	       nrec, now_s() - t0);

	if (ferry_kclient_connect(&src, lbs, "ferry-demo", 10000, err, sizeof(err)) < 0) {
		fprintf(stderr, "demo: london: %s\n", err);
		goto out_recs;
	}
	if (ferry_kclient_connect(&dst, sbs, "ferry-demo", 10000, err, sizeof(err)) < 0) {
		fprintf(stderr, "demo: singapore: %s\n", err);
		ferry_kclient_close(&src);
		goto out_recs;
	}
	printf("2. ferry negotiated with london: Fetch v%d; with singapore: Produce v%d, "
	       "InitProducerId v%d\n",
	       ferry_kclient_version(&src, FERRY_KAFKA_FETCH),
	       ferry_kclient_version(&dst, FERRY_KAFKA_PRODUCE),
	       ferry_kclient_version(&dst, FERRY_KAFKA_INIT_PRODUCER_ID));

	static uint8_t mem[1 << 16];
	struct ferry_arena a;
	ferry_arena_init(&a, mem, sizeof(mem));
	struct ferry_kafka_init_producer_id_req ipreq;
	struct ferry_kafka_init_producer_id_resp ipresp;
	ferry_kafka_init_producer_id_req_init(&ipreq);
	ipreq.TransactionTimeoutMs = 60000;
	if (ferry_kclient_call(&dst, FERRY_KAFKA_INIT_PRODUCER_ID,
			       (int16_t)ferry_kclient_version(&dst, FERRY_KAFKA_INIT_PRODUCER_ID),
			       &ipreq, &ipresp, &a, err, sizeof(err)) < 0 ||
	    ipresp.ErrorCode) {
		fprintf(stderr, "demo: InitProducerId: %s\n",
			ipresp.ErrorCode ? ferry_err_name(ipresp.ErrorCode) : err);
		goto out_conn;
	}
	printf("3. singapore gave ferry idempotent producer id %lld epoch %d\n\n",
	       (long long)ipresp.ProducerId, ipresp.ProducerEpoch);

	printf("   %-14s %-22s %8s %8s %11s %11s %6s %9s\n", "source topic", "target topic",
	       "batches", "records", "wire bytes", "raw bytes", "ratio", "verified");
	int failures = 0;
	for (int k = 0; k < 5; k++) {
		char topic[64], target[80];
		struct demo_stats st = { 0 };
		snprintf(topic, sizeof(topic), "trades-%s", codecs[k]);
		snprintf(target, sizeof(target), "london.%s", topic);
		rd_kafka_mock_topic_create(singapore, target, 1, 1);
		int rrc = replicate(&src, &dst, topic, target, ipresp.ProducerId, ipresp.ProducerEpoch,
				    nrec, &st, cc);
		int vrc = rrc == 0 ? verify_target(sbs, target, recs, nrec, &st) : -1;
		printf("   %-14s %-22s %8d %8d %11llu %11llu %5.2fx %9d %s\n", topic, target,
		       st.batches, st.records, (unsigned long long)st.src_bytes,
		       (unsigned long long)st.raw_bytes,
		       st.src_bytes ? (double)st.raw_bytes / (double)st.src_bytes : 0.0, st.verified,
		       rrc == 0 && vrc == 0 ? "OK" : "FAILED");
		failures += rrc != 0 || vrc != 0;
	}
	printf("\n4. every batch CRC32C verified by ferry; every record read back from singapore by\n"
	       "   a librdkafka consumer with check.crcs=true and compared with london: %s\n",
	       failures ? "FAILED" : "all equal");
	printf("   ferry moved %llu bytes in, %llu bytes out in %.2f s\n",
	       (unsigned long long)src.bytes_in, (unsigned long long)dst.bytes_out, now_s() - t0);
	status = failures ? 1 : 0;
out_conn:
	ferry_kclient_close(&src);
	ferry_kclient_close(&dst);
out_recs:
	ferry_codec_ctx_free(cc);
	for (int i = 0; i < nrec; i++)
		free(recs[i].value);
	free(recs);
out_clusters:
	if (london)
		rd_kafka_mock_cluster_destroy(london);
	if (singapore)
		rd_kafka_mock_cluster_destroy(singapore);
	if (lrk)
		rd_kafka_destroy(lrk);
	if (srk)
		rd_kafka_destroy(srk);
	return status;
}
