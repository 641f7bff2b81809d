/*
 * test_mm2.c - ferry's MM2-compatible control plane against two librdkafka mock clusters,
 * "london" and "singapore" (issue 6): the real mm2.properties, topic naming and discovery
 * under both policies, loop prevention, offset-syncs and checkpoints written and read back
 * (with ferry's decoders and with a plain librdkafka consumer), exact translation after
 * records were denied by policy, heartbeats, `ferryctl status/translate/failover/failback`,
 * and consumption after failover with no record missed and none repeated.
 *
 * The data path is simulated: librdkafka consumes london, drops "denied" records, produces
 * the rest batch by batch to singapore and reports each batch to ferry_osync_from_batch(),
 * which is what the io_uring producer will do. Main thread; librdkafka runs its own threads.
 * No timing asserts: every wait is bounded and only the outcome is checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ferry/common.h"
#include "ferry/conf.h"
#include "ferry/mm2.h"
#include "ferryctl.h"
#include "mm2.h"

#define NREC      300
#define SRC_TOPIC "trades"
#define DST_TOPIC "london.trades"

static rd_kafka_t *lrk, *srk; /* the handles that own the mock clusters */
static rd_kafka_mock_cluster_t *london, *singapore;
static char lbs[256], sbs[256];
static char conf_path[] = "/tmp/ferry-test-mm2-XXXXXX";
static char warnings[8192];

static void
warn_cb(void *arg, const char *msg)
{
	(void)arg;
	strncat(warnings, msg, sizeof(warnings) - strlen(warnings) - 2);
	strcat(warnings, "\n");
}

static rd_kafka_mock_cluster_t *
start_cluster(rd_kafka_t **rkp, char *bs, size_t bslen)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	*rkp = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	assert_non_null(*rkp);
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(*rkp, 1);
	assert_non_null(mc);
	snprintf(bs, bslen, "%s", rd_kafka_mock_cluster_bootstraps(mc));
	return mc;
}

static void
write_conf(const char *extra)
{
	FILE *f = fopen(conf_path, "w");
	assert_non_null(f);
	fprintf(f,
		"clusters = london, singapore\n"
		"london.bootstrap.servers = %s\n"
		"singapore.bootstrap.servers = %s\n"
		"london->singapore.enabled = true\n"
		"london->singapore.topics = trades, orders\\\\..*, heartbeats\n"
		"groups = risk-engine\n"
		"offset-syncs.topic.location = target\n"
		"sync.group.offsets.enabled = true\n"
		"emit.checkpoints.interval.seconds = 1\n"
		"%s",
		lbs, sbs, extra);
	fclose(f);
}

static struct ferry_conf *
load(void)
{
	char err[256];
	struct ferry_conf *c = NULL;
	int rc = ferry_conf_load_file(conf_path, 0, &c, err, sizeof(err));
	if (rc < 0 && c) {
		size_t n;
		const struct ferry_conf_diag *d = ferry_conf_diags(c, &n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%u: %s: %s\n", d[i].line, d[i].key, d[i].msg);
	}
	assert_int_equal(rc, 0);
	return c;
}

static void
open_flow(struct ferry_conf *c, struct ferry_mm2_flow *f)
{
	char err[512];
	int fi = ferry_conf_flow_find(c, "london", "singapore");
	assert_true(fi >= 0);
	assert_int_equal(ferry_mm2_flow_init(f, c, fi, err, sizeof(err)), 0);
	f->timeout_ms = 5000;
	f->warn = warn_cb;
}

static int
setup(void **state)
{
	(void)state;
	london = start_cluster(&lrk, lbs, sizeof(lbs));
	singapore = start_cluster(&srk, sbs, sizeof(sbs));
	int fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(conf_path);
	rd_kafka_mock_cluster_destroy(london);
	rd_kafka_mock_cluster_destroy(singapore);
	rd_kafka_destroy(lrk);
	rd_kafka_destroy(srk);
	return 0;
}

/* ---- plain librdkafka helpers ------------------------------------------------------------ */

static rd_kafka_t *
client(rd_kafka_type_t type, const char *bs, const char *group)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *kv[][2] = { { "bootstrap.servers", bs },
				{ "log_level", "3" },
				{ "enable.partition.eof", "true" },
				{ "enable.auto.commit", "false" },
				{ "auto.offset.reset", "earliest" },
				{ "check.crcs", "true" },
				{ "group.id", group ? group : "test-reader" } };
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (type == RD_KAFKA_PRODUCER && i >= 2)
			break;
		assert_int_equal(
		    rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)),
		    RD_KAFKA_CONF_OK);
	}
	rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	return rk;
}

struct msg {
	int64_t offset;
	int64_t ts;
	char key[64];
	size_t key_len;
	char value[64];
	size_t value_len;
};

/* Read topic/partition from 'from' to EOF with an assign()ed consumer. */
static size_t
read_all(const char *bs, const char *topic, int32_t partition, int64_t from, struct msg *out,
	 size_t cap)
{
	rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, bs, NULL);
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, topic, partition)->offset =
	    from < 0 ? RD_KAFKA_OFFSET_BEGINNING : from;
	assert_int_equal(rd_kafka_assign(rk, tp), 0);
	rd_kafka_topic_partition_list_destroy(tp);
	size_t n = 0;
	for (int idle = 0; idle < 300;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL) {
			idle++;
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		assert_int_equal(m->err, 0);
		assert_true(n < cap);
		out[n].offset = m->offset;
		out[n].ts = rd_kafka_message_timestamp(m, NULL);
		out[n].key_len = m->key_len < 64 ? m->key_len : 64;
		memcpy(out[n].key, m->key, out[n].key_len);
		out[n].value_len = m->len < 64 ? m->len : 64;
		memcpy(out[n].value, m->payload, out[n].value_len);
		n++;
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return n;
}

static void
dr_offset(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	int64_t *slot = m->_private;
	assert_int_equal(m->err, 0);
	*slot = m->offset;
}

/* Produce records synchronously, one flush per call; offsets[] get the assigned offsets. */
static void
produce(const char *bs, const char *topic, int32_t partition, const struct msg *m, size_t n,
	int64_t *offsets)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", bs, errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "max.in.flight", "1", errstr, sizeof(errstr));
	rd_kafka_conf_set_dr_msg_cb(conf, dr_offset);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
		    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
				      RD_KAFKA_V_KEY(m[i].key, m[i].key_len),
				      RD_KAFKA_V_VALUE((void *)m[i].value, m[i].value_len),
				      RD_KAFKA_V_TIMESTAMP(m[i].ts),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_OPAQUE(&offsets[i]), RD_KAFKA_V_END),
		    0);
	assert_int_equal(rd_kafka_flush(rk, 10000), 0);
	rd_kafka_destroy(rk);
}

/* Run a ferryctl subcommand in-process with stdout captured into 'out'. */
static int
ferryctl(int (*fn)(int, char **), char *out, size_t outlen, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	va_start(ap, outlen);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 15;)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	char path[] = "/tmp/ferry-test-mm2-out-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	int saved = dup(1);
	dup2(fd, 1);
	int rc = fn(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	fprintf(stderr, "ferryctl %s -> %d\n%s", argv[0], rc, out);
	return rc;
}

/* ---- 1. configuration ------------------------------------------------------------------ */

static void
test_real_config(void **state)
{
	(void)state;
	char err[512], path[512];
	const char *data = getenv("FERRY_TEST_DATA");
	snprintf(path, sizeof(path), "%s/mm2/mm2.properties", data ? data : "tests/data");
	struct ferry_conf *c = NULL;
	int rc = ferry_conf_load_file(path, 0, &c, err, sizeof(err));
	assert_int_equal(rc, 0);
	struct ferry_mm2_flow f;
	assert_int_equal(ferry_mm2_flow_init(&f, c, ferry_conf_flow_find(c, "london", "singapore"),
					     err, sizeof(err)),
			 0);
	assert_int_equal(f.policy.kind, FERRY_MM2_POLICY_DEFAULT);
	assert_string_equal(f.syncs_cluster, "singapore");
	assert_string_equal(f.syncs_topic, "mm2-offset-syncs.london.internal");
	assert_string_equal(f.checkpoints_topic, "london.checkpoints.internal");
	assert_true(ferry_mm2_filter_match(f.topics, "trades.eq"));
	assert_true(ferry_mm2_filter_match(f.topics, "orders"));
	assert_false(ferry_mm2_filter_match(f.topics, "apac.x"));
	assert_false(ferry_mm2_filter_match(f.groups, "console-consumer-1"));
	assert_true(ferry_mm2_filter_match(f.groups, "risk-engine"));
	assert_true(f.sync_group_offsets);
	assert_int_equal(f.checkpoints_interval_ms, 30000);
	assert_int_equal(f.heartbeats_interval_ms, 1000);
	assert_int_equal(f.replication_factor, 3);
	ferry_mm2_flow_fini(&f);
	assert_int_equal(ferry_mm2_flow_init(&f, c, ferry_conf_flow_find(c, "singapore", "london"),
					     err, sizeof(err)),
			 0);
	assert_int_equal(f.heartbeats_interval_ms, 5000);
	assert_true(ferry_mm2_filter_match(f.topics, "apac.fx"));
	assert_false(ferry_mm2_filter_match(f.topics, "trades.eq"));
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);
}

/* ---- 2. topics: discovery, naming, loop prevention, creation --------------------------- */

static bool
has_topic(struct ferry_mm2_topic *t, size_t n, const char *name, const char *remote)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return remote == NULL || strcmp(t[i].remote, remote) == 0;
	return false;
}

static void
test_topics_default(void **state)
{
	(void)state;
	char err[512];
	rd_kafka_mock_topic_create(london, "orders.eu", 2, 1);
	rd_kafka_mock_topic_create(london, "client-x", 1, 1);
	rd_kafka_mock_topic_create(london, "singapore.orders.sg", 1, 1); /* a replica */
	rd_kafka_mock_topic_create(london, "heartbeats", 1, 1);
	rd_kafka_mock_topic_create(london, "__consumer_offsets_x", 1, 1);
	write_conf("");
	struct ferry_conf *c = load();
	struct ferry_mm2_flow f;
	open_flow(c, &f);
	struct ferry_mm2_topic *t;
	size_t n;
	assert_int_equal(ferry_mm2_topics_list(&f, NULL, &t, &n, err, sizeof(err)), 0);
	assert_true(has_topic(t, n, "orders.eu", "london.orders.eu"));
	assert_true(has_topic(t, n, "heartbeats", "london.heartbeats"));
	assert_false(has_topic(t, n, "client-x", NULL));
	assert_false(has_topic(t, n, "singapore.orders.sg", NULL)); /* never back home */
	assert_false(has_topic(t, n, "__consumer_offsets_x", NULL));
	ferry_mm2_topics_free(t, n);

	struct ferry_topics_round tr;
	warnings[0] = '\0';
	assert_int_equal(ferry_mm2_topics_sync(&f, NULL, &tr, err, sizeof(err)), 0);
	assert_true(tr.topics >= 2);
	/* The mock has no CreateTopics: ferry says so and relies on auto-creation. */
	assert_int_equal(tr.created + tr.auto_created, tr.topics);
	if (tr.auto_created)
		assert_non_null(strstr(warnings, "auto-creat"));
	fprintf(stderr,
		"topics round: %zu selected, %zu created, %zu auto-created, %zu "
		"mismatched\nwarnings:\n%s",
		tr.topics, tr.created, tr.auto_created, tr.mismatched, warnings);
	assert_int_equal(ferry_mm2_topics_list(&f, NULL, &t, &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(t[i].remote_partitions > 0);
	ferry_mm2_topics_free(t, n);
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);
}

static void
test_topics_identity(void **state)
{
	(void)state;
	char err[512];
	rd_kafka_mock_topic_create(london, "orders.apac", 1, 1);
	write_conf("replication.policy.class = "
		   "org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n");
	struct ferry_conf *c = load();
	struct ferry_mm2_flow f;
	open_flow(c, &f);
	struct ferry_mm2_provenance *pv = ferry_mm2_provenance_new();
	/* ferry's reverse flow wrote orders.apac into london from singapore */
	assert_int_equal(ferry_mm2_provenance_add(pv, "orders.apac", "singapore"), 0);
	struct ferry_mm2_topic *t;
	size_t n;
	assert_int_equal(ferry_mm2_topics_list(&f, pv, &t, &n, err, sizeof(err)), 0);
	assert_true(has_topic(t, n, "orders.eu", "orders.eu"));
	assert_true(has_topic(t, n, "heartbeats", "london.heartbeats"));
	assert_false(has_topic(t, n, "orders.apac", NULL));
	ferry_mm2_topics_free(t, n);
	/* without provenance MM2 could not tell (the loop it is known for) */
	assert_int_equal(ferry_mm2_topics_list(&f, NULL, &t, &n, err, sizeof(err)), 0);
	assert_true(has_topic(t, n, "orders.apac", "orders.apac"));
	ferry_mm2_topics_free(t, n);
	assert_string_equal(f.checkpoints_topic, "london.checkpoints.internal");
	ferry_mm2_provenance_free(pv);
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);
}

/* Occurrences of 'needle' in 'hay'. */
static int
count_str(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/*
 * Topic config and ACL sync against the mock, which has neither DescribeConfigs/AlterConfigs
 * nor DescribeAcls/CreateAcls: each kind degrades to one warning per flow naming the cluster
 * and the API, the call still succeeds, and nothing is asked again before the interval.
 * (Which configs and ACLs would be copied is unit-tested against MM2's rules in
 * tests/unit/test_mm2_sync.c; no real broker is available here.)
 */
static void
test_topic_meta_degrade(void **state)
{
	(void)state;
	char err[512];
	write_conf("sync.topic.configs.interval.seconds = 30\n");
	struct ferry_conf *c = load();
	struct ferry_mm2_flow f;
	open_flow(c, &f);
	f.timeout_ms = 2000;
	assert_true(f.sync_topic_configs);
	assert_true(f.sync_topic_acls);
	assert_int_equal(f.sync_topic_configs_interval_ms, 30000);
	assert_int_equal(f.sync_topic_acls_interval_ms, 600000); /* MM2's default */
	struct ferry_topic_meta_round r;
	int64_t t0 = 1700000000000LL;
	warnings[0] = '\0';
	assert_int_equal(ferry_mm2_topic_meta_sync(&f, NULL, t0, true, &r, err, sizeof(err)), 0);
	fprintf(stderr,
		"topic meta sync: configs ran %d unsupported %d, acls ran %d unsupported %d"
		"\nwarnings:\n%s",
		r.configs_ran, r.configs_unsupported, r.acls_ran, r.acls_unsupported, warnings);
	assert_true(r.configs_ran && r.configs_unsupported);
	assert_true(r.acls_ran && r.acls_unsupported);
	assert_true(r.topics > 0); /* there were remote topics to configure */
	assert_int_equal(r.configs_altered + r.acls_created, 0);
	assert_int_equal(count_str(warnings, "topic config sync skipped: cluster london: "
					     "DescribeConfigs"),
			 1);
	assert_int_equal(count_str(warnings, "topic ACL sync skipped: cluster london: "
					     "DescribeAcls"),
			 1);
	/* said once per flow and kind, however often it is refused */
	assert_int_equal(ferry_mm2_topic_meta_sync(&f, NULL, t0 + 1, true, &r, err, sizeof(err)),
			 0);
	assert_true(r.configs_unsupported && r.acls_unsupported);
	assert_int_equal(count_str(warnings, "topic config sync skipped"), 1);
	assert_int_equal(count_str(warnings, "topic ACL sync skipped"), 1);
	/* no retry storm: not asked again before each kind's interval */
	assert_int_equal(
	    ferry_mm2_topic_meta_sync(&f, NULL, t0 + 29000, false, &r, err, sizeof(err)), 0);
	assert_false(r.configs_ran);
	assert_false(r.acls_ran);
	assert_int_equal(
	    ferry_mm2_topic_meta_sync(&f, NULL, t0 + 31001, false, &r, err, sizeof(err)), 0);
	assert_true(r.configs_ran);
	assert_false(r.acls_ran);
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);

	/* disabled: never asked */
	write_conf("sync.topic.configs.enabled = false\nsync.topic.acls.enabled = false\n");
	c = load();
	open_flow(c, &f);
	assert_int_equal(ferry_mm2_topic_meta_sync(&f, NULL, t0, true, &r, err, sizeof(err)), 0);
	assert_false(r.configs_ran);
	assert_false(r.acls_ran);
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);
}

/*
 * Active-active under the Identity policy: london->singapore and singapore->london both on,
 * topics keep their names. What singapore->london wrote into london (its offset-syncs say
 * so) must never go back to singapore, and the other way round; a local topic still flows.
 * The reverse flows' data paths are simulated like the one in section 3.
 */
static void
test_identity_active_active(void **state)
{
	(void)state;
	char err[512], out[16384];
	struct msg m[4];
	int64_t offs[4];
	const char *ident = "replication.policy.class = "
			    "org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n"
			    "singapore->london.enabled = true\n"
			    "singapore->london.topics = orders\\\\..*\n";
	for (int i = 0; i < 4; i++) {
		m[i].key_len = (size_t)snprintf(m[i].key, sizeof(m[i].key), "k%d", i);
		m[i].value_len = (size_t)snprintf(m[i].value, sizeof(m[i].value), "order-%d", i);
		m[i].ts = 1700000000000LL + i;
	}
	/* orders.sg is singapore's own; orders.ldn is london's own */
	rd_kafka_mock_topic_create(singapore, "orders.sg", 1, 1);
	rd_kafka_mock_topic_create(london, "orders.ldn", 1, 1);
	produce(sbs, "orders.sg", 0, m, 4, offs);
	produce(lbs, "orders.ldn", 0, m, 4, offs);
	write_conf(ident);
	struct ferry_conf *c = load();
	struct ferry_mm2_flow f, r;
	open_flow(c, &f);
	int ri = ferry_conf_flow_find(c, "singapore", "london");
	assert_true(ri >= 0);
	assert_int_equal(ferry_mm2_flow_init(&r, c, ri, err, sizeof(err)), 0);
	r.timeout_ms = 5000;
	r.warn = warn_cb;
	assert_non_null(f.auto_prov); /* Identity + reverse flow enabled */
	assert_non_null(r.auto_prov);

	/* singapore->london replicates orders.sg into london under the same name, with its
	 * offset-syncs (location target: mm2-offset-syncs.singapore.internal on london) */
	produce(lbs, "orders.sg", 0, m, 4, offs);
	struct ferry_osync_store *s = ferry_osync_store_new(0);
	struct ferry_osync_batch b = { "orders.sg", 0, 0, 3, offs[0], NULL, 0 };
	struct ferry_mm2_offset_sync os[8];
	int ns = ferry_osync_from_batch(s, &b, os, 8);
	assert_true(ns > 0);
	assert_int_equal(ferry_mm2_syncs_write(&r, os, (size_t)ns, err, sizeof(err)), 0);
	assert_string_equal(r.syncs_cluster, "london");

	/* london->singapore: orders.ldn goes, orders.sg (from singapore) never goes back */
	struct ferry_mm2_topic *t;
	size_t n;
	assert_int_equal(ferry_mm2_topics_list(&f, NULL, &t, &n, err, sizeof(err)), 0);
	assert_true(has_topic(t, n, "orders.ldn", "orders.ldn"));
	assert_false(has_topic(t, n, "orders.sg", NULL));
	ferry_mm2_topics_free(t, n);
	assert_string_equal(ferry_mm2_provenance_origin(f.auto_prov, "orders.sg"), "singapore");
	/* the topic round and status follow the same list */
	struct ferry_topics_round tr;
	assert_int_equal(ferry_mm2_topics_sync(&f, NULL, &tr, err, sizeof(err)), 0);
	assert_int_equal(ferryctl(ferryctl_status, out, sizeof(out), "status", "--config",
				  conf_path, "--from", "london", "--to", "singapore", "--json",
				  NULL),
			 0);
	assert_non_null(strstr(out, "\"topic\":\"orders.ldn\""));
	assert_null(strstr(out, "\"topic\":\"orders.sg\""));

	/* the other way: london->singapore writes orders.ldn into singapore; from then on
	 * singapore->london does not send it back, and still sends orders.sg */
	produce(sbs, "orders.ldn", 0, m, 4, offs);
	struct ferry_osync_batch b2 = { "orders.ldn", 0, 0, 3, offs[0], NULL, 0 };
	ns = ferry_osync_from_batch(s, &b2, os, 8);
	assert_true(ns > 0);
	assert_int_equal(ferry_mm2_syncs_write(&f, os, (size_t)ns, err, sizeof(err)), 0);
	assert_int_equal(ferry_mm2_topics_list(&r, NULL, &t, &n, err, sizeof(err)), 0);
	assert_true(has_topic(t, n, "orders.sg", "orders.sg"));
	assert_false(has_topic(t, n, "orders.ldn", NULL));
	ferry_mm2_topics_free(t, n);
	/* incremental: later syncs are picked up by the same flow */
	assert_int_equal(ferry_mm2_topics_list(&f, NULL, &t, &n, err, sizeof(err)), 0);
	assert_false(has_topic(t, n, "orders.sg", NULL));
	ferry_mm2_topics_free(t, n);
	ferry_osync_store_free(s);
	ferry_mm2_flow_fini(&r);
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);

	/* with the reverse flow off there is nothing to learn from, and MM2's Identity policy
	 * cannot tell: orders.sg would be replicated (the loop the reverse flow prevents) */
	write_conf("replication.policy.class = "
		   "org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n");
	c = load();
	open_flow(c, &f);
	assert_null(f.auto_prov);
	assert_int_equal(ferry_mm2_topics_list(&f, NULL, &t, &n, err, sizeof(err)), 0);
	assert_true(has_topic(t, n, "orders.sg", "orders.sg"));
	ferry_mm2_topics_free(t, n);
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);
	write_conf("");
}

/* ---- 3. replication with denials, syncs, checkpoints, failover --------------------------- */

static int64_t tgt_of[NREC]; /* target offset of each source offset, -1 if denied */
static int64_t tgt_end;

static bool
denied(int64_t i)
{
	/* policy: every 7th record, and all of batch 4 (source offsets 80..99) */
	return i % 7 == 3 || (i >= 80 && i < 100);
}

/* The reference answer: target offset of the first replicated record at or after g. */
static int64_t
expect_xlate(int64_t g)
{
	for (int64_t u = g; u < NREC; u++)
		if (tgt_of[u] >= 0)
			return tgt_of[u];
	return tgt_end;
}

static int
count_cb(void *arg, const struct ferry_mm2_rec *r)
{
	(void)r;
	(*(size_t *)arg)++;
	return 0;
}

static void
commit_simple(const char *bs, const char *group, const char *topic, int64_t offset)
{
	rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, bs, group);
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, topic, 0)->offset = offset;
	assert_int_equal(rd_kafka_commit(rk, tp, 0), 0);
	rd_kafka_topic_partition_list_destroy(tp);
	rd_kafka_destroy(rk);
}

static int64_t
committed(const char *bs, const char *group, const char *topic)
{
	rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, bs, group);
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, topic, 0);
	assert_int_equal(rd_kafka_committed(rk, tp, 5000), 0);
	int64_t off = tp->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(tp);
	rd_kafka_destroy(rk);
	return off;
}

/*
 * ferryctl status with the flow's rules (a topic denied as a whole) and the gateway's stats
 * JSON (masked/tokenised per topic), after the replication run above.
 */
static void
status_with_rules_and_stats(int64_t n_denied)
{
	char out[16384], rules[] = "/tmp/ferry-test-mm2-rules-XXXXXX",
			 stats[] = "/tmp/ferry-test-mm2-stats-XXXXXX", extra[512], want[256];
	struct msg m[5];
	int64_t offs[5];
	int fd;

	/* a topic the flow selects but the rules keep home: 5 records, none ever leave */
	rd_kafka_mock_topic_create(london, "orders.secret", 1, 1);
	for (int i = 0; i < 5; i++) {
		m[i].key_len = (size_t)snprintf(m[i].key, sizeof(m[i].key), "s%d", i);
		m[i].value_len = (size_t)snprintf(m[i].value, sizeof(m[i].value), "secret-%d", i);
		m[i].ts = 1700000000000LL + i;
	}
	produce(lbs, "orders.secret", 0, m, 5, offs);
	assert_true((fd = mkstemp(rules)) >= 0);
	dprintf(fd, "version: 1\ndefault: permit\ntopics:\n  deny: ['orders\\.secret']\n"
		    "rules:\n  - name: vip\n    patterns: ['VIP-\\d+']\n    action: tag\n");
	close(fd);
	/* what `ferryd --stats FILE` writes (dataplane/ferryd/stats.c), abridged */
	assert_true((fd = mkstemp(stats)) >= 0);
	dprintf(fd,
		"{\"role\":\"source\",\"source\":\"london\",\"target\":\"singapore\","
		"\"session\":{\"up\":true,\"generation\":1},\"counters\":{\"x\":1},"
		"\"wan\":{},\"uring\":{},\"rules\":[{\"name\":\"vip\",\"action\":\"tag\","
		"\"matched\":0}],\"topics\":[{\"topic\":\"trades\",\"batches\":15,"
		"\"records_scanned\":300,\"records_matched\":9,\"spans_masked\":7,"
		"\"spans_tokenised\":2,\"records_dropped\":%lld}],\"partitions\":[]}\n",
		(long long)n_denied);
	close(fd);
	snprintf(extra, sizeof(extra), "ferry.rules.file = %s\n", rules);
	write_conf(extra);

	assert_int_equal(ferryctl(ferryctl_status, out, sizeof(out), "status", "--config",
				  conf_path, "--json", "--stats", stats, NULL),
			 0);
#ifdef FERRY_TEST_RULES
	assert_non_null(strstr(out, "\"topic\":\"orders.secret\",\"remote\":"
				    "\"london.orders.secret\",\"partition\":0,\"source_end\":5"));
	assert_non_null(strstr(out, "\"decision\":\"deny\",\"denied\":5}"));
	/* the record rule applies to every topic: trades is inspected, and 60 were denied */
	snprintf(want, sizeof(want), "\"decision\":\"inspect\",\"denied\":%lld}",
		 (long long)n_denied);
	assert_non_null(strstr(out, want));
#endif
	assert_non_null(strstr(out, "\"gateway\":{\"stats\":"));
	snprintf(want, sizeof(want),
		 "{\"topic\":\"trades\",\"masked\":7,\"tokenised\":2,\"records_dropped\":%lld,"
		 "\"records_scanned\":300}",
		 (long long)n_denied);
	assert_non_null(strstr(out, want));

	/* the terminal layout: a denied column, the topic decision, the gateway's counters */
	assert_int_equal(ferryctl(ferryctl_status, out, sizeof(out), "status", "--config",
				  conf_path, "--stats", stats, NULL),
			 0);
	assert_non_null(strstr(out, "denied"));
	assert_non_null(strstr(out, "trades at the gateway: masked 7, tokenised 2 span(s)"));
#ifdef FERRY_TEST_RULES
	assert_non_null(strstr(out, "(topic denied)"));
#endif
	/* without --stats: '-' and where the numbers come from */
	assert_int_equal(
	    ferryctl(ferryctl_status, out, sizeof(out), "status", "--config", conf_path, NULL), 0);
	assert_non_null(strstr(out, "masked/tokenised: - (counted only by the source gateway"));
	/* a stats file that is not ferryd's is refused, naming it */
	fd = open(stats, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	dprintf(fd, "{\"topics\":[{\"topic\":\"trades\",\"spans_masked\":-1}]}");
	close(fd);
	assert_int_equal(ferryctl(ferryctl_status, out, sizeof(out), "status", "--config",
				  conf_path, "--stats", stats, NULL),
			 1);
	unlink(rules);
	unlink(stats);
	write_conf("");
}

static void
test_replicate_translate_failover(void **state)
{
	(void)state;
	char err[512], out[16384];
	static struct msg src[NREC], got[2 * NREC];
	rd_kafka_mock_topic_create(london, SRC_TOPIC, 1, 1);
	rd_kafka_mock_topic_create(singapore, DST_TOPIC, 1, 1);
	for (int i = 0; i < NREC; i++) {
		src[i].key_len = (size_t)snprintf(src[i].key, sizeof(src[i].key), "k%d", i);
		src[i].value_len =
		    (size_t)snprintf(src[i].value, sizeof(src[i].value), "trade-%d", i);
		src[i].ts = 1700000000000LL + i;
	}
	static int64_t offs[NREC];
	produce(lbs, SRC_TOPIC, 0, src, NREC, offs);
	assert_int_equal(offs[NREC - 1], NREC - 1);

	write_conf("");
	struct ferry_conf *c = load();
	struct ferry_mm2_flow f;
	open_flow(c, &f);
	struct ferry_osync_store *s = ferry_osync_store_new(0);

	/* The simulated data path: batches of 20 source records, denied ones dropped. */
	size_t n = read_all(lbs, SRC_TOPIC, 0, -1, got, NREC);
	assert_int_equal(n, NREC);
	size_t total_syncs = 0;
	int64_t next_tgt = 0;
	for (int64_t base = 0; base < NREC; base += 20) {
		struct msg keep[20];
		int64_t repl[20], toff[20];
		uint32_t k = 0;
		for (int64_t u = base; u < base + 20; u++) {
			tgt_of[u] = -1;
			if (!denied(u)) {
				keep[k] = got[u];
				repl[k++] = u;
			}
		}
		if (k)
			produce(sbs, DST_TOPIC, 0, keep, k, toff);
		for (uint32_t i = 0; i < k; i++) {
			assert_int_equal(toff[i], k ? toff[0] + i : 0); /* one contiguous batch */
			tgt_of[repl[i]] = toff[i];
		}
		if (k)
			next_tgt = toff[k - 1] + 1;
		struct ferry_osync_batch b = { SRC_TOPIC,        0,    base, base + 19,
					       k ? toff[0] : -1, repl, k };
		struct ferry_mm2_offset_sync os[64];
		int ns = ferry_osync_from_batch(s, &b, os, 64);
		assert_true(ns >= 0);
		assert_int_equal(ferry_mm2_syncs_write(&f, os, (size_t)ns, err, sizeof(err)), 0);
		total_syncs += (size_t)ns;
	}
	tgt_end = next_tgt;
	assert_int_equal(ferry_osync_resume(s, SRC_TOPIC, 0), NREC);

	/* offset-syncs read back: with a plain consumer, and decoded into a fresh map */
	struct msg *raw = calloc(total_syncs + 8, sizeof(*raw));
	size_t nraw = read_all(sbs, f.syncs_topic, 0, -1, raw, total_syncs + 8);
	assert_int_equal(nraw, total_syncs);
	uint8_t kb[64], vb[16];
	struct ferry_wr kw, vw;
	ferry_wr_init(&kw, kb, sizeof(kb));
	ferry_wr_init(&vw, vb, sizeof(vb));
	struct ferry_mm2_offset_sync first = { ferry_mm2_str(SRC_TOPIC), 0, 0, 0 };
	assert_int_equal(ferry_mm2_offset_sync_encode(&first, &kw, &vw), 0);
	assert_int_equal(raw[0].key_len, kw.len);
	assert_memory_equal(raw[0].key, kb, kw.len); /* "trades", partition 0 */
	assert_memory_equal(raw[0].value, vb, 16);   /* 0 -> 0 */
	free(raw);
	struct ferry_osync_store *back = ferry_osync_store_new(0);
	size_t bad = 99;
	assert_int_equal(ferry_mm2_syncs_load(&f, back, &bad, err, sizeof(err)), 0);
	assert_int_equal(bad, 0);
	for (int64_t g = 0; g <= NREC; g++) {
		int64_t d1, d2;
		enum ferry_xlate h;
		assert_int_equal(ferry_osync_translate(s, SRC_TOPIC, 0, g, &d1, &h), 0);
		assert_int_equal(ferry_osync_translate(back, SRC_TOPIC, 0, g, &d2, &h), 0);
		assert_int_equal(d1, d2);
		assert_int_equal(d1, expect_xlate(g)); /* exact, denied records or not */
	}

	/* risk-engine consumed london up to a denied stretch; settlement a bit further */
	int64_t g_risk = 80, g_settle = 143; /* 80..99 denied; 143 = 7*20+3 denied */
	assert_true(denied(g_settle));
	commit_simple(lbs, "risk-engine", SRC_TOPIC, g_risk);
	commit_simple(lbs, "settlement", SRC_TOPIC, g_settle);

	/* A checkpoint round: no ListGroups on the mock -> the literal `groups` names. */
	struct ferry_ckpt_state *st = ferry_ckpt_state_new();
	struct ferry_ckpt_round res;
	warnings[0] = '\0';
	assert_int_equal(ferry_ckpt_round(&f, back, st, NULL, 0, &res, err, sizeof(err)), 0);
	fprintf(stderr, "checkpoint round: %zu groups, %zu checkpoints, %zu synced\n%s", res.groups,
		res.checkpoints, res.synced, warnings);
	assert_int_equal(res.groups, 1);
	assert_int_equal(res.checkpoints, 1);
	assert_int_equal(res.synced, 1);
	/* group offset sync: the target group now sits exactly where it must */
	assert_int_equal(committed(sbs, "risk-engine", DST_TOPIC), expect_xlate(g_risk));
	/* a second round with nothing new writes nothing (MM2: only newer checkpoints) */
	assert_int_equal(ferry_ckpt_round(&f, back, st, NULL, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(res.checkpoints, 0);

	/* checkpoints read back: ferry's reader, and raw bytes through a plain consumer */
	struct ferry_ckpt_list cl = { 0 };
	assert_int_equal(ferry_ckpt_load(&f, "risk-engine", &cl, &bad, err, sizeof(err)), 0);
	assert_int_equal(cl.n, 1);
	assert_string_equal(cl.c[0].topic, DST_TOPIC);
	assert_int_equal(cl.c[0].upstream, g_risk);
	assert_int_equal(cl.c[0].downstream, expect_xlate(g_risk));
	ferry_ckpt_list_free(&cl);
	struct msg cm[8];
	assert_int_equal(read_all(sbs, "london.checkpoints.internal", 0, -1, cm, 8), 1);
	struct ferry_mm2_checkpoint want = {
		ferry_mm2_str("risk-engine"), ferry_mm2_str(DST_TOPIC), 0, g_risk,
		expect_xlate(g_risk),         ferry_mm2_str("")
	};
	uint8_t ck[64], cv[64];
	ferry_wr_init(&kw, ck, sizeof(ck));
	ferry_wr_init(&vw, cv, sizeof(cv));
	assert_int_equal(ferry_mm2_checkpoint_encode(&want, &kw, &vw), 0);
	assert_int_equal(cm[0].key_len, kw.len);
	assert_memory_equal(cm[0].key, ck, kw.len);
	assert_int_equal(cm[0].value_len, vw.len);
	assert_memory_equal(cm[0].value, cv, vw.len);

	/* ferryctl translate and failover for settlement (not in `groups`: no checkpoints) */
	assert_int_equal(ferryctl(ferryctl_translate, out, sizeof(out), "translate", "--config",
				  conf_path, "--group", "settlement", "--from", "london", "--to",
				  "singapore", "--json", NULL),
			 0);
	char want_json[128];
	snprintf(want_json, sizeof(want_json), "\"source_offset\":%lld,\"target_offset\":%lld",
		 (long long)g_settle, (long long)expect_xlate(g_settle));
	assert_non_null(strstr(out, want_json));
	assert_int_equal(ferryctl(ferryctl_failover, out, sizeof(out), "failover", "--config",
				  conf_path, "--group", "settlement", "--from", "london", "--to",
				  "singapore", NULL),
			 0);
	assert_int_equal(committed(sbs, "settlement", DST_TOPIC), expect_xlate(g_settle));

	/* Consume on singapore as the failed-over group: exactly the replicated records at or
	 * after its london position, none missed, none repeated. */
	rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, sbs, "settlement");
	rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, DST_TOPIC, RD_KAFKA_PARTITION_UA);
	assert_int_equal(rd_kafka_subscribe(rk, sub), 0);
	rd_kafka_topic_partition_list_destroy(sub);
	int64_t next_src = g_settle;
	size_t consumed = 0;
	for (int idle = 0; idle < 300;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL) {
			idle++;
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		assert_int_equal(m->err, 0);
		int idx = -1;
		assert_int_equal(sscanf(m->payload, "trade-%d", &idx), 1);
		while (next_src < NREC && denied(next_src))
			next_src++;
		assert_int_equal(idx, next_src); /* the next allowed record, in order */
		next_src++;
		consumed++;
		rd_kafka_commit_message(rk, m, 0);
		rd_kafka_message_destroy(m);
	}
	while (next_src < NREC && denied(next_src))
		next_src++;
	assert_int_equal(next_src, NREC); /* nothing missed at the end */
	assert_true(consumed > 0);

	/* refused for a group active on the target: settlement's consumer is still in */
	assert_int_not_equal(ferryctl(ferryctl_failover, out, sizeof(out), "failover", "--config",
				      conf_path, "--group", "settlement", "--from", "london",
				      "--to", "singapore", NULL),
			     0);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);

	/* failback: settlement's singapore position maps back to london's replication point */
	assert_int_equal(ferryctl(ferryctl_failback, out, sizeof(out), "failback", "--config",
				  conf_path, "--group", "settlement", "--from", "london", "--to",
				  "singapore", NULL),
			 0);
	assert_int_equal(committed(lbs, "settlement", SRC_TOPIC), NREC);

	/* status: replicated up to the end, no lag */
	assert_int_equal(ferryctl(ferryctl_status, out, sizeof(out), "status", "--config",
				  conf_path, "--json", NULL),
			 0);
	char want_st[256];
	snprintf(want_st, sizeof(want_st),
		 "\"topic\":\"trades\",\"remote\":\"london.trades\",\"partition\":0,"
		 "\"source_end\":%d,\"replicated_to\":%d,\"lag_records\":0",
		 NREC, NREC);
	assert_non_null(strstr(out, want_st));
	/* denied by policy, counted exactly from the offset-syncs: the reference run's count */
	int64_t n_denied = 0;
	for (int64_t u = 0; u < NREC; u++)
		n_denied += denied(u);
	assert_int_equal(n_denied, 60); /* 43 with i % 7 == 3, 20 in 80..99, 3 in both */
	snprintf(want_st, sizeof(want_st), "\"lag_ms\":0,\"decision\":null,\"denied\":%lld}",
		 (long long)n_denied);
	assert_non_null(strstr(out, want_st));
	assert_non_null(strstr(out, "\"gateway\":null"));
	status_with_rules_and_stats(n_denied);

	size_t cnt = 0;
	assert_int_equal(ferry_mm2_read(&f, "singapore", f.checkpoints_topic, 0, -1, count_cb, &cnt,
					NULL, err, sizeof(err)),
			 0);
	assert_int_equal(cnt, 1);
	ferry_ckpt_state_free(st);
	ferry_osync_store_free(back);
	ferry_osync_store_free(s);
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);
}

/* ---- 4. heartbeats ----------------------------------------------------------------------- */

static void
test_heartbeats(void **state)
{
	(void)state;
	char err[512];
	write_conf("");
	struct ferry_conf *c = load();
	struct ferry_mm2_flow f;
	open_flow(c, &f);
	int64_t t0 = 1700000000000LL;
	/* both directions of the pair, as MM2's dedicated mode */
	assert_int_equal(
	    ferry_hb_emit(&f, "singapore", "london", "singapore", t0, err, sizeof(err)), 0);
	assert_int_equal(
	    ferry_hb_emit(&f, "london", "singapore", "london", t0 + 1, err, sizeof(err)), 0);
	struct msg hb[4];
	assert_int_equal(read_all(sbs, "heartbeats", 0, -1, hb, 4), 1);
	uint8_t want[] = { 0,   6,   'l', 'o', 'n', 'd', 'o', 'n', 0,  9,
			   's', 'i', 'n', 'g', 'a', 'p', 'o', 'r', 'e' };
	assert_int_equal(hb[0].key_len, sizeof(want));
	assert_memory_equal(hb[0].key, want, sizeof(want));
	assert_int_equal(hb[0].ts, t0);

	struct ferry_hb_health h;
	assert_int_equal(ferry_hb_health(&f, t0 + 500, &h, err, sizeof(err)), 0);
	assert_false(h.seen); /* nothing replicated yet */
	/* the data path replicates london's heartbeats topic to london.heartbeats */
	size_t n = read_all(lbs, "heartbeats", 0, -1, hb, 4);
	assert_int_equal(n, 1);
	int64_t off[4];
	produce(sbs, "london.heartbeats", 0, hb, n, off);
	assert_int_equal(ferry_hb_health(&f, t0 + 500, &h, err, sizeof(err)), 0);
	assert_true(h.seen);
	assert_int_equal(h.newest_ts, t0 + 1);
	assert_int_equal(h.age_ms, 499);
	assert_true(h.healthy);
	assert_string_equal(h.origin, "singapore");
	assert_int_equal(ferry_hb_health(&f, t0 + 60000, &h, err, sizeof(err)), 0);
	assert_false(h.healthy); /* a stalled link shows */
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);
}

/* ---- 5. internal-topic produce that times out ------------------------------------------ */

static int64_t
mono_ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A broker that answers late: the control thread's produce gives up at the flow's timeout
 * (it must not wait for the late answer: a CI run once waited librdkafka's 300 s message
 * timeout here), and the next produce on the same client works once the broker answers. */
static void
test_produce_timeout(void **state)
{
	(void)state;
	char err[512];
	write_conf("");
	struct ferry_conf *c = load();
	struct ferry_mm2_flow f;
	open_flow(c, &f);
	rd_kafka_mock_topic_create(london, "slow-probe", 1, 1);
	struct ferry_mm2_rec r = { .key = "k", .key_len = 1, .value = "v0", .value_len = 2 };
	assert_int_equal(ferry_mm2_produce(&f, "london", "slow-probe", 0, &r, 1, err, sizeof(err)),
			 0);
	rd_kafka_mock_broker_set_rtt(london, 1, 8000);
	f.timeout_ms = 500;
	r.value = "v1";
	int64_t t0 = mono_ms_now();
	assert_int_equal(ferry_mm2_produce(&f, "london", "slow-probe", 0, &r, 1, err, sizeof(err)),
			 -ETIMEDOUT);
	int64_t took = mono_ms_now() - t0;
	assert_non_null(strstr(err, "slow-probe/0: timed out after 500 ms"));
	/* well under the broker's 8 s: the call did not wait for the late answer */
	assert_true(took < 4000);
	rd_kafka_mock_broker_set_rtt(london, 1, 0);
	/* a broker that is down: the same */
	rd_kafka_mock_broker_set_down(london, 1);
	r.value = "v1b";
	t0 = mono_ms_now();
	assert_int_equal(ferry_mm2_produce(&f, "london", "slow-probe", 0, &r, 1, err, sizeof(err)),
			 -ETIMEDOUT);
	took = mono_ms_now() - t0;
	assert_true(took < 4000);
	rd_kafka_mock_broker_set_up(london, 1);
	f.timeout_ms = 10000;
	r.value = "v2";
	assert_int_equal(ferry_mm2_produce(&f, "london", "slow-probe", 0, &r, 1, err, sizeof(err)),
			 0);
	struct msg m[4];
	size_t n = read_all(lbs, "slow-probe", 0, -1, m, 4);
	assert_true(n >= 2); /* v0 and v2; v1's outcome was given up, it may be there too */
	assert_memory_equal(m[n - 1].value, "v2", 2);
	ferry_mm2_flow_fini(&f); /* frees a state whose reports are still owed (ASan: no leak) */
	ferry_conf_free(c);
}

/* The heartbeat path of ferryd: queued without waiting even with the broker down; a record
 * that was not delivered is reported by a later call, once. */
static void
test_produce_nowait(void **state)
{
	(void)state;
	char err[512];
	write_conf("london.producer.message.timeout.ms = 1000\n");
	struct ferry_conf *c = load();
	struct ferry_mm2_flow f;
	open_flow(c, &f);
	rd_kafka_mock_topic_create(london, "nowait-probe", 1, 1);
	struct ferry_mm2_rec r = { .key = "k", .key_len = 1, .value = "n0", .value_len = 2 };
	assert_int_equal(ferry_mm2_produce(&f, "london", "nowait-probe", 0, &r, 1, err,
					   sizeof(err)),
			 0);
	rd_kafka_mock_broker_set_down(london, 1);
	r.value = "n1";
	int64_t t0 = mono_ms_now();
	assert_int_equal(ferry_mm2_produce_nowait(&f, "london", "nowait-probe", 0, &r, 1, err,
						  sizeof(err)),
			 0);
	assert_true(mono_ms_now() - t0 < 500); /* queued, not waited for */
	sleep(3); /* n1's message.timeout.ms (1 s) passes with the broker down */
	rd_kafka_mock_broker_set_up(london, 1);
	r.value = "n2";
	assert_int_equal(ferry_mm2_produce_nowait(&f, "london", "nowait-probe", 0, &r, 1, err,
						  sizeof(err)),
			 -EIO);
	assert_non_null(strstr(err, "1 earlier record(s) to nowait-probe/0 not delivered"));
	r.value = "n3"; /* reported once */
	assert_int_equal(ferry_mm2_produce(&f, "london", "nowait-probe", 0, &r, 1, err,
					   sizeof(err)),
			 0);
	struct msg m[8];
	size_t n = read_all(lbs, "nowait-probe", 0, -1, m, 8);
	assert_memory_equal(m[n - 1].value, "n3", 2);
	ferry_mm2_flow_fini(&f);
	ferry_conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_config),
		cmocka_unit_test(test_topics_default),
		cmocka_unit_test(test_topics_identity),
		cmocka_unit_test(test_replicate_translate_failover),
		cmocka_unit_test(test_heartbeats),
		cmocka_unit_test(test_produce_timeout),
		cmocka_unit_test(test_produce_nowait),
		/* last: they write offset-syncs of their own into the shared clusters */
		cmocka_unit_test(test_topic_meta_degrade),
		cmocka_unit_test(test_identity_active_active),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
