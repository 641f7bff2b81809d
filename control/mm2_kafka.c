/*
 * mm2_kafka.c - a replication flow's settings and its librdkafka side: clients built from the
 * cluster's client properties, producing and reading MM2's internal topics, offset-syncs out
 * and back, topic listing, and consumer-group offsets (OffsetFetch / OffsetCommit as a simple
 * consumer, ListGroups / DescribeGroups where the cluster has them).
 *
 * Control thread only; every call blocks for at most f->timeout_ms per request. Owns the
 * clients cached in the flow. librdkafka 2.0.2's mock cluster has no ListGroups,
 * DescribeGroups or CreateTopics: the callers degrade with a warning (see mm2.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/common.h"
#include "mm2.h"
#include "mm2_sync.h"

#define FLOW_DEFAULT_TIMEOUT_MS 10000

void
ferry_mm2_warn(const struct ferry_mm2_flow *f, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->warn)
		f->warn(f->warn_arg, msg);
	else
		fprintf(stderr, "warning: %s\n", msg);
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* with_reverse: also look at the reverse flow (not when initialising that reverse flow). */
static int
flow_init(struct ferry_mm2_flow *f, const struct ferry_conf *c, int flow, bool with_reverse,
	  char *err, size_t errlen)
{
	size_t nf;
	const struct ferry_conf_flow *flows = ferry_conf_flows(c, &nf);
	memset(f, 0, sizeof(*f));
	if (flow < 0 || (size_t)flow >= nf) {
		snprintf(err, errlen, "no flow #%d in the configuration", flow);
		return -EINVAL;
	}
	f->conf = c;
	f->flow = flow;
	f->source = flows[flow].source;
	f->target = flows[flow].target;
	f->timeout_ms = FLOW_DEFAULT_TIMEOUT_MS;

	enum ferry_mm2_policy_kind kind;
	const char *cls = ferry_conf_str(c, flow, "replication.policy.class");
	if (ferry_mm2_policy_kind_parse(cls, &kind) < 0) {
		snprintf(err, errlen, "%s->%s: replication.policy.class %s is not supported",
			 f->source, f->target, cls);
		return -EINVAL;
	}
	if (ferry_mm2_policy_init(
		&f->policy, kind, ferry_conf_str(c, flow, "replication.policy.separator"),
		ferry_conf_bool(c, flow, "replication.policy.internal.topic.separator.enabled"),
		f->source) < 0) {
		snprintf(err, errlen, "%s->%s: bad replication.policy.separator", f->source,
			 f->target);
		return -EINVAL;
	}

	const char *const *inc, *const *exc;
	size_t ni = ferry_conf_list(c, flow, "topics", &inc);
	size_t ne = ferry_conf_list(c, flow, "topics.exclude", &exc);
	char ferr[512];
	if ((f->topics = ferry_mm2_filter_new(inc, ni, exc, ne, ferr, sizeof(ferr))) == NULL) {
		snprintf(err, errlen, "%s->%s: topics: %s", f->source, f->target, ferr);
		return -EINVAL;
	}
	ni = ferry_conf_list(c, flow, "groups", &inc);
	ne = ferry_conf_list(c, flow, "groups.exclude", &exc);
	if ((f->groups = ferry_mm2_filter_new(inc, ni, exc, ne, ferr, sizeof(ferr))) == NULL) {
		snprintf(err, errlen, "%s->%s: groups: %s", f->source, f->target, ferr);
		ferry_mm2_filter_free(f->topics);
		f->topics = NULL;
		return -EINVAL;
	}
	/* heartbeats.replication.enabled is not in ferry's key table: MM2's default, true. */
	f->heartbeats_replication = true;
	f->emit_heartbeats = ferry_conf_bool(c, flow, "emit.heartbeats.enabled");
	f->emit_checkpoints = ferry_conf_bool(c, flow, "emit.checkpoints.enabled");
	f->sync_group_offsets = ferry_conf_bool(c, flow, "sync.group.offsets.enabled");
	f->heartbeats_interval_ms =
	    ferry_conf_int(c, flow, "emit.heartbeats.interval.seconds") * 1000;
	f->checkpoints_interval_ms =
	    ferry_conf_int(c, flow, "emit.checkpoints.interval.seconds") * 1000;
	f->sync_group_offsets_interval_ms =
	    ferry_conf_int(c, flow, "sync.group.offsets.interval.seconds") * 1000;
	f->refresh_topics_interval_ms =
	    ferry_conf_int(c, flow, "refresh.topics.interval.seconds") * 1000;
	f->replication_factor = (int)ferry_conf_int(c, flow, "replication.factor");
	f->sync_topic_configs = ferry_conf_bool(c, flow, "sync.topic.configs.enabled");
	f->sync_topic_acls = ferry_conf_bool(c, flow, "sync.topic.acls.enabled");
	f->sync_topic_configs_interval_ms =
	    ferry_conf_int(c, flow, "sync.topic.configs.interval.seconds") * 1000;
	f->sync_topic_acls_interval_ms =
	    ferry_conf_int(c, flow, "sync.topic.acls.interval.seconds") * 1000;
	ne = ferry_conf_list(c, flow, "config.properties.exclude", &exc);
	if ((f->config_copy = ferry_mm2_config_filter_new(exc, ne, ferr, sizeof(ferr))) == NULL) {
		snprintf(err, errlen, "%s->%s: config.properties.exclude: %s", f->source, f->target,
			 ferr);
		goto out_free_filters;
	}

	/* MM2: location source -> mm2-offset-syncs.<target>.internal on the source;
	 * target -> mm2-offset-syncs.<source>.internal on the target. */
	bool on_target =
	    strcmp(ferry_conf_str(c, flow, "offset-syncs.topic.location"), "target") == 0;
	f->syncs_cluster = on_target ? f->target : f->source;
	ferry_mm2_offset_syncs_topic(&f->policy, on_target ? f->source : f->target, f->syncs_topic,
				     sizeof(f->syncs_topic));
	ferry_mm2_checkpoints_topic(&f->policy, f->source, f->checkpoints_topic,
				    sizeof(f->checkpoints_topic));

	/*
	 * Identity policy, active-active: the reverse flow TARGET->SOURCE writes topics into
	 * this flow's source under their own names, so nothing in a name says they came from
	 * the target. What does say it is the reverse flow's offset-syncs: one per batch it
	 * wrote (DESIGN §4), naming the topic. Remember where they are and how the reverse flow
	 * names remote topics; ferry_mm2_provenance_refresh() reads them.
	 */
	int rev = ferry_conf_flow_find(c, f->target, f->source);
	if (with_reverse && kind == FERRY_MM2_POLICY_IDENTITY && rev >= 0 && flows[rev].enabled) {
		struct ferry_mm2_flow r;
		char rerr[512];
		if (flow_init(&r, c, rev, false, rerr, sizeof(rerr)) < 0) {
			snprintf(err, errlen, "%s->%s: its reverse flow: %s", f->source, f->target,
				 rerr);
			goto out_free_filters;
		}
		f->rev_syncs_cluster = r.syncs_cluster;
		snprintf(f->rev_syncs_topic, sizeof(f->rev_syncs_topic), "%s", r.syncs_topic);
		f->rev_policy = r.policy;
		ferry_mm2_flow_fini(&r);
		if ((f->auto_prov = ferry_mm2_provenance_new()) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out_free_filters;
		}
	}
	return 0;

out_free_filters:
	ferry_mm2_filter_free(f->config_copy);
	ferry_mm2_filter_free(f->topics);
	ferry_mm2_filter_free(f->groups);
	f->config_copy = f->topics = f->groups = NULL;
	return -EINVAL;
}

int
ferry_mm2_flow_init(struct ferry_mm2_flow *f, const struct ferry_conf *c, int flow, char *err,
		    size_t errlen)
{
	return flow_init(f, c, flow, true, err, errlen);
}

/* Delivery state of one ferry_mm2_produce() call (the message opaque). On the heap, not the
 * call's stack: a call that times out returns without waiting for the remaining reports and
 * leaves its state on the flow's abandoned list (a purge does not always report at once:
 * a CI run waited librdkafka's whole message.timeout.ms, 300 s, for one in-flight batch to a
 * broker that had been down). dr_cb runs only inside rd_kafka_poll/flush on the control
 * thread, so nothing here needs a lock. */
struct ferry_mm2_dr {
	size_t done, queued;
	rd_kafka_resp_err_t first_err;
	bool nowait; /* ferry_mm2_produce_nowait(): its outcome is reported by a later call */
	struct ferry_mm2_dr *next; /* on f->abandoned */
};

void
ferry_mm2_flow_fini(struct ferry_mm2_flow *f)
{
	for (int i = 0; i < 2; i++)
		for (int r = 0; r < FERRY_MM2_CLIENT__COUNT; r++)
			if (f->clients[i][r]) {
				if (r == FERRY_MM2_PRODUCER)
					rd_kafka_flush(f->clients[i][r], f->timeout_ms);
				rd_kafka_destroy(f->clients[i][r]);
				f->clients[i][r] = NULL;
			}
	/* The clients are gone: no report can reach an abandoned state any more. */
	while (f->abandoned) {
		struct ferry_mm2_dr *d = f->abandoned;
		f->abandoned = d->next;
		free(d);
	}
	ferry_mm2_filter_free(f->topics);
	ferry_mm2_filter_free(f->groups);
	ferry_mm2_filter_free(f->config_copy);
	ferry_mm2_provenance_free(f->auto_prov);
	f->topics = f->groups = f->config_copy = NULL;
	f->auto_prov = NULL;
}

/* ---- clients --------------------------------------------------------------------------- */


static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	struct ferry_mm2_dr *st = m->_private;
	if (st == NULL)
		return;
	st->done++;
	if (m->err && !st->first_err)
		st->first_err = m->err;
}

static rd_kafka_t *
new_client(struct ferry_mm2_flow *f, const char *alias, rd_kafka_type_t type,
	   enum ferry_conf_role role, const char *const (*extra)[2], size_t n_extra,
	   ferry_mm2_rebalance_cb *rebalance, void *opaque, char *err, size_t errlen)
{
	char errstr[512];
	size_t n;
	const struct ferry_conf_kv *kv = ferry_conf_client_props(f->conf, alias, role, &n);
	if (kv == NULL) {
		snprintf(err, errlen, "cluster %s is not in `clusters`", alias);
		return NULL;
	}
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* Quiet by default (the operator sees ferry's messages); the file may override. */
	rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
	for (size_t i = 0; i < n; i++) {
		if (rd_kafka_conf_set(conf, kv[i].name, kv[i].value, errstr, sizeof(errstr)) !=
		    RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "cluster %s: %s (line %u): %s", alias, kv[i].key,
				 kv[i].line, errstr);
			goto out_destroy_conf;
		}
	}
	for (size_t i = 0; i < n_extra; i++) {
		if (rd_kafka_conf_set(conf, extra[i][0], extra[i][1], errstr, sizeof(errstr)) !=
		    RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "cluster %s: %s: %s", alias, extra[i][0], errstr);
			goto out_destroy_conf;
		}
	}
	if (type == RD_KAFKA_PRODUCER)
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	if (rebalance) {
		rd_kafka_conf_set_rebalance_cb(conf, rebalance);
		rd_kafka_conf_set_opaque(conf, opaque);
	}
	rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		snprintf(err, errlen, "cluster %s: cannot create a client: %s", alias, errstr);
		goto out_destroy_conf;
	}
	return rk;

out_destroy_conf:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static int
cluster_index(const struct ferry_mm2_flow *f, const char *alias)
{
	if (strcmp(alias, f->source) == 0)
		return 0;
	if (strcmp(alias, f->target) == 0)
		return 1;
	return -1;
}

rd_kafka_t *
ferry_mm2_client(struct ferry_mm2_flow *f, const char *alias, enum ferry_mm2_client role, char *err,
		 size_t errlen)
{
	int ci = cluster_index(f, alias);
	if (ci < 0) {
		snprintf(err, errlen, "cluster %s is not part of flow %s->%s", alias, f->source,
			 f->target);
		return NULL;
	}
	if (f->clients[ci][role])
		return f->clients[ci][role];
	static const char *const prod[][2] = { { "acks", "all" } };
	/* MM2 uses acks=all and one partition for its internal topics; the file's
	 * ALIAS.producer.* settings come later in the list, so they win. */
	rd_kafka_t *rk;
	if (role == FERRY_MM2_PRODUCER)
		rk = new_client(f, alias, RD_KAFKA_PRODUCER, FERRY_CONF_ROLE_PRODUCER, prod, 1, NULL,
				NULL, err,
				errlen);
	else
		rk = new_client(f, alias, RD_KAFKA_CONSUMER, FERRY_CONF_ROLE_ADMIN, NULL, 0, NULL, NULL,
				err,
				errlen);
	f->clients[ci][role] = rk;
	return rk;
}

rd_kafka_t *
ferry_mm2_group_client(struct ferry_mm2_flow *f, const char *alias, const char *group, char *err,
		       size_t errlen)
{
	const char *const extra[][2] = {
		{ "group.id", group },
		{ "enable.auto.commit", "false" },
		{ "enable.auto.offset.store", "false" },
	};
	return new_client(f, alias, RD_KAFKA_CONSUMER, FERRY_CONF_ROLE_CONSUMER, extra, 3, NULL,
			  NULL, err, errlen);
}

rd_kafka_t *
ferry_mm2_assign_client(struct ferry_mm2_flow *f, const char *alias, const char *group,
			int session_timeout_ms, ferry_mm2_rebalance_cb *rebalance, void *opaque,
			char *err, size_t errlen)
{
	char st[16];
	snprintf(st, sizeof(st), "%d", session_timeout_ms);
	/* The group only assigns: partitions are paused once assigned, nothing is committed,
	 * and a fetch that slipped through starts at the end rather than reading history. */
	const char *const extra[][2] = {
		{ "group.id", group },
		{ "enable.auto.commit", "false" },
		{ "enable.auto.offset.store", "false" },
		{ "auto.offset.reset", "latest" },
		{ "session.timeout.ms", st },
		{ "heartbeat.interval.ms", "1000" },
		{ "partition.assignment.strategy", "range,roundrobin" },
	};
	return new_client(f, alias, RD_KAFKA_CONSUMER, FERRY_CONF_ROLE_CONSUMER, extra, 7,
			  rebalance, opaque, err, errlen);
}

/* Admin requests that go to the controller wait for one up to the request timeout; a cluster
 * that names none (librdkafka's mock) would cost that timeout per call, on the control thread.
 * Ask first, briefly. */
int
ferry_mm2_need_controller(rd_kafka_t *rk, const char *cluster, const char *api, char *err,
			  size_t errlen)
{
	if (rd_kafka_controllerid(rk, 2000) >= 0)
		return 0;
	snprintf(err, errlen, "cluster %s: %s: the cluster names no controller (librdkafka's mock "
		 "names none)", cluster, api);
	return -ENOTSUP;
}

/* A fresh reader per read: a reused consumer can hand back a stale EOF of an earlier read. */
static rd_kafka_t *
new_reader(struct ferry_mm2_flow *f, const char *alias, char *err, size_t errlen)
{
	/* A group id is needed by librdkafka's consumer even for assign(); it never joins
	 * or commits, and "__" keeps it out of MM2's default group filter. */
	const char *const extra[][2] = {
		{ "group.id", "__ferry-reader" },        { "enable.auto.commit", "false" },
		{ "enable.auto.offset.store", "false" }, { "enable.partition.eof", "true" },
		{ "auto.offset.reset", "earliest" },     { "check.crcs", "true" },
	};
	return new_client(f, alias, RD_KAFKA_CONSUMER, FERRY_CONF_ROLE_CONSUMER, extra, 6, NULL,
			  NULL, err, errlen);
}

/* ---- produce / read -------------------------------------------------------------------- */

/* Frees the abandoned delivery states whose reports have all arrived. */
static void
dr_sweep(struct ferry_mm2_flow *f)
{
	for (struct ferry_mm2_dr **pp = &f->abandoned; *pp;) {
		struct ferry_mm2_dr *d = *pp;
		if (d->done >= d->queued) {
			if (d->nowait && d->first_err) {
				f->nowait_failed++;
				f->nowait_err = d->first_err;
			}
			*pp = d->next;
			free(d);
		} else {
			pp = &d->next;
		}
	}
}

/* Queue recs with the delivery state st (st->queued counts them). A full queue is waited
 * out when wait_full, an error otherwise. 0, or -EIO with err. */
static int
dr_queue(rd_kafka_t *rk, const char *alias, const char *topic, int32_t partition,
	 const struct ferry_mm2_rec *recs, size_t n, struct ferry_mm2_dr *st, bool wait_full,
	 char *err, size_t errlen)
{
	int64_t ts_now = now_ms();

	for (size_t i = 0; i < n; i++) {
		rd_kafka_resp_err_t e;
		do {
			e = rd_kafka_producev(
			    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
			    RD_KAFKA_V_KEY(recs[i].key, recs[i].key_len),
			    RD_KAFKA_V_VALUE((void *)recs[i].value, recs[i].value_len),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_TIMESTAMP(recs[i].timestamp ? recs[i].timestamp : ts_now),
			    RD_KAFKA_V_OPAQUE(st), RD_KAFKA_V_END);
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && wait_full)
				rd_kafka_poll(rk, 10);
		} while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && wait_full);
		if (e) {
			snprintf(err, errlen, "cluster %s: produce to %s/%d: %s", alias, topic,
				 partition, rd_kafka_err2str(e));
			return -EIO;
		}
		st->queued++;
	}
	return 0;
}

/* A call's delivery state is done with: freed, or kept on the flow while reports are owed. */
static void
dr_settle(struct ferry_mm2_flow *f, struct ferry_mm2_dr *st)
{
	if (st->done < st->queued) {
		st->next = f->abandoned;
		f->abandoned = st;
	} else {
		free(st);
	}
	dr_sweep(f);
}

/* The producer of 'alias' and a fresh delivery state for one produce call; NULL with *rc
 * and err set. Shared by the waiting and the non-waiting produce. */
static struct ferry_mm2_dr *
dr_begin(struct ferry_mm2_flow *f, const char *alias, const char *topic, int32_t partition,
	 rd_kafka_t **rk, int *rc, char *err, size_t errlen)
{
	struct ferry_mm2_dr *st;

	*rk = ferry_mm2_client(f, alias, FERRY_MM2_PRODUCER, err, errlen);
	if (*rk == NULL) {
		*rc = -EIO;
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "cluster %s: produce to %s/%d: out of memory", alias, topic,
			 partition);
		*rc = -ENOMEM;
	}
	return st;
}

int
ferry_mm2_produce(struct ferry_mm2_flow *f, const char *alias, const char *topic, int32_t partition,
		  const struct ferry_mm2_rec *recs, size_t n, char *err, size_t errlen)
{
	rd_kafka_t *rk;
	int rc;
	struct ferry_mm2_dr *st = dr_begin(f, alias, topic, partition, &rk, &rc, err, errlen);
	if (st == NULL)
		return rc;
	rc = dr_queue(rk, alias, topic, partition, recs, n, st, true, err, errlen);
	/* Wait for this call's delivery reports, at most the flow's timeout. */
	int64_t deadline = mono_ms() + f->timeout_ms;
	while (st->done < st->queued && mono_ms() < deadline)
		rd_kafka_poll(rk, 50);
	if (st->done < st->queued) {
		/* Give up on them: the purge voids their outcome (the callers write again next
		 * round); reports still owed land in the abandoned state, freed later. */
		rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(rk, 0);
		snprintf(err, errlen, "cluster %s: produce to %s/%d: timed out after %d ms", alias,
			 topic, partition, f->timeout_ms);
		rc = -ETIMEDOUT;
	} else if (rc == 0 && st->first_err) {
		snprintf(err, errlen, "cluster %s: produce to %s/%d: %s", alias, topic, partition,
			 rd_kafka_err2str(st->first_err));
		rc = -EIO;
	}
	dr_settle(f, st);
	return rc;
}

int
ferry_mm2_produce_nowait(struct ferry_mm2_flow *f, const char *alias, const char *topic,
			 int32_t partition, const struct ferry_mm2_rec *recs, size_t n, char *err,
			 size_t errlen)
{
	rd_kafka_t *rk;
	int rc;
	struct ferry_mm2_dr *st = dr_begin(f, alias, topic, partition, &rk, &rc, err, errlen);
	if (st == NULL)
		return rc;
	st->nowait = true;
	/* a full queue too is an error: the caller does not wait, it tries next time */
	rc = dr_queue(rk, alias, topic, partition, recs, n, st, false, err, errlen);
	rd_kafka_poll(rk, 0); /* delivery reports of earlier calls */
	dr_settle(f, st);
	if (rc == 0 && f->nowait_failed > f->nowait_reported) {
		snprintf(err, errlen, "cluster %s: %" PRIu64 " earlier record(s) to %s/%d not "
			 "delivered: %s", alias, f->nowait_failed - f->nowait_reported, topic,
			 partition, rd_kafka_err2str(f->nowait_err));
		f->nowait_reported = f->nowait_failed;
		rc = -EIO;
	}
	return rc;
}

/* Partition count of 'topic' on the cluster 'rk' talks to: >0, 0 when missing, <0 error. */
static int
topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, rd_kafka_resp_err_t *e)
{
	const struct rd_kafka_metadata *md;
	/* All topics: asking for one topic could auto-create it on a broker that allows it. */
	*e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
	if (*e)
		return -EIO;
	int n = 0;
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].err == 0)
			n = md->topics[i].partition_cnt;
	rd_kafka_metadata_destroy(md);
	return n;
}

int
ferry_mm2_read(struct ferry_mm2_flow *f, const char *alias, const char *topic, int32_t partition,
	       int64_t from, int (*cb)(void *arg, const struct ferry_mm2_rec *r), void *arg,
	       bool *exists, char *err, size_t errlen)
{
	rd_kafka_resp_err_t e;
	int rc = 0;
	rd_kafka_t *rk = new_reader(f, alias, err, errlen);
	if (rk == NULL)
		return -EIO;
	int np = topic_partitions(rk, topic, f->timeout_ms, &e);
	if (np < 0) {
		snprintf(err, errlen, "cluster %s: metadata: %s", alias, rd_kafka_err2str(e));
		rc = -EIO;
		goto out_destroy;
	}
	if (exists)
		*exists = np > partition;
	if (np <= partition)
		goto out_destroy; /* reads as empty */

	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, topic, partition)->offset =
	    from < 0 ? RD_KAFKA_OFFSET_BEGINNING : from;
	e = rd_kafka_assign(rk, tp);
	rd_kafka_topic_partition_list_destroy(tp);
	if (e) {
		snprintf(err, errlen, "cluster %s: assign %s/%d: %s", alias, topic, partition,
			 rd_kafka_err2str(e));
		rc = -EIO;
		goto out_destroy;
	}
	int64_t deadline = mono_ms() + f->timeout_ms;
	for (;;) {
		if (mono_ms() > deadline) {
			snprintf(err, errlen, "cluster %s: reading %s/%d: no end after %d ms",
				 alias, topic, partition, f->timeout_ms);
			rc = -ETIMEDOUT;
			break;
		}
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		if (m->err) {
			snprintf(err, errlen, "cluster %s: reading %s/%d: %s", alias, topic,
				 partition, rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			rc = -EIO;
			break;
		}
		struct ferry_mm2_rec r = {
			.key = m->key,
			.key_len = m->key_len,
			.value = m->payload,
			.value_len = m->len,
			.timestamp = rd_kafka_message_timestamp(m, NULL),
			.offset = m->offset,
		};
		/* Progress resets the clock: a long topic is fine, a stuck one is not. */
		deadline = mono_ms() + f->timeout_ms;
		int stop = cb(arg, &r);
		rd_kafka_message_destroy(m);
		if (stop)
			break;
	}
	rd_kafka_assign(rk, NULL);
out_destroy:
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return rc;
}

int
ferry_mm2_watermarks(struct ferry_mm2_flow *f, const char *alias, const char *topic,
		     int32_t partition, int64_t *low, int64_t *high, char *err, size_t errlen)
{
	rd_kafka_t *rk = ferry_mm2_client(f, alias, FERRY_MM2_READER, err, errlen);
	if (rk == NULL)
		return -EIO;
	rd_kafka_resp_err_t e =
	    rd_kafka_query_watermark_offsets(rk, topic, partition, low, high, f->timeout_ms);
	if (e) {
		snprintf(err, errlen, "cluster %s: watermarks of %s/%d: %s", alias, topic,
			 partition, rd_kafka_err2str(e));
		return -EIO;
	}
	return 0;
}

/* ---- offset-syncs ---------------------------------------------------------------------- */

int
ferry_mm2_syncs_write(struct ferry_mm2_flow *f, const struct ferry_mm2_offset_sync *os, size_t n,
		      char *err, size_t errlen)
{
	if (n == 0)
		return 0;
	/* Keys are <= 2 + 249 + 4 bytes (topic names are bounded), values 16. */
	size_t per = 2 + FERRY_MM2_TOPIC_MAX + 4 + FERRY_MM2_OFFSET_SYNC_VALUE_SIZE;
	uint8_t *buf = malloc(n * per);
	struct ferry_mm2_rec *recs = calloc(n, sizeof(*recs));
	int rc = -ENOMEM;
	if (buf == NULL || recs == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		struct ferry_wr k, v;
		uint8_t *p = buf + i * per;
		ferry_wr_init(&k, p, per - FERRY_MM2_OFFSET_SYNC_VALUE_SIZE);
		ferry_wr_init(&v, p + per - FERRY_MM2_OFFSET_SYNC_VALUE_SIZE,
			      FERRY_MM2_OFFSET_SYNC_VALUE_SIZE);
		if ((rc = ferry_mm2_offset_sync_encode(&os[i], &k, &v)) != 0) {
			snprintf(err, errlen, "offset-sync for %.*s/%d: %s", (int)os[i].topic.len,
				 (const char *)os[i].topic.p, os[i].partition, ferry_err_desc(rc));
			rc = -EINVAL;
			goto out_free;
		}
		recs[i] = (struct ferry_mm2_rec){ k.p, k.len, v.p, v.len, 0, 0 };
	}
	rc = ferry_mm2_produce(f, f->syncs_cluster, f->syncs_topic, 0, recs, n, err, errlen);
out_free:
	free(recs);
	free(buf);
	return rc;
}

struct syncs_load {
	struct ferry_osync_store *s;
	size_t bad;
	int rc;
};

static int
syncs_load_cb(void *arg, const struct ferry_mm2_rec *r)
{
	struct syncs_load *sl = arg;
	struct ferry_mm2_offset_sync os;
	char topic[FERRY_MM2_TOPIC_MAX + 1];
	if (ferry_mm2_offset_sync_decode((struct ferry_span){ r->key, r->key_len },
					 (struct ferry_span){ r->value, r->value_len }, &os) != 0 ||
	    os.topic.len > FERRY_MM2_TOPIC_MAX || memchr(os.topic.p, '\0', os.topic.len)) {
		sl->bad++; /* OffsetSyncStore skips what it cannot parse; so does ferry */
		return 0;
	}
	memcpy(topic, os.topic.p, os.topic.len);
	topic[os.topic.len] = '\0';
	int rc = ferry_osync_store_add(sl->s, topic, os.partition, os.upstreamOffset, os.offset);
	if (rc == -EINVAL)
		sl->bad++;
	else if (rc < 0) {
		sl->rc = rc;
		return 1;
	}
	return 0;
}

int
ferry_mm2_syncs_load(struct ferry_mm2_flow *f, struct ferry_osync_store *s, size_t *bad, char *err,
		     size_t errlen)
{
	struct syncs_load sl = { .s = s };
	int rc = ferry_mm2_read(f, f->syncs_cluster, f->syncs_topic, 0, -1, syncs_load_cb, &sl,
				NULL, err, errlen);
	if (rc == 0 && sl.rc < 0) {
		snprintf(err, errlen, "cluster %s: loading %s: out of memory", f->syncs_cluster,
			 f->syncs_topic);
		rc = sl.rc;
	}
	if (bad)
		*bad = sl.bad;
	return rc;
}

/* ---- provenance (Identity policy, active-active) ------------------------------------------ */

struct prov_load {
	struct ferry_mm2_flow *f;
	int rc;
};

static int
prov_load_cb(void *arg, const struct ferry_mm2_rec *r)
{
	struct prov_load *pl = arg;
	struct ferry_mm2_flow *f = pl->f;
	struct ferry_mm2_offset_sync os;
	char topic[FERRY_MM2_TOPIC_MAX + 1], remote[FERRY_MM2_TOPIC_MAX + 1];

	f->rev_syncs_next = r->offset + 1;
	if (ferry_mm2_offset_sync_decode((struct ferry_span){ r->key, r->key_len },
					 (struct ferry_span){ r->value, r->value_len }, &os) != 0 ||
	    os.topic.len > FERRY_MM2_TOPIC_MAX || memchr(os.topic.p, '\0', os.topic.len))
		return 0; /* not an offset-sync: says nothing about any topic */
	memcpy(topic, os.topic.p, os.topic.len);
	topic[os.topic.len] = '\0';
	/* The sync names the reverse flow's source topic (on this flow's target); the topic it
	 * wrote into this flow's source is its remote name by the reverse flow's policy. */
	if (ferry_mm2_remote_topic(&f->rev_policy, f->target, topic, remote, sizeof(remote)) < 0)
		return 0;
	int rc = ferry_mm2_provenance_add(f->auto_prov, remote, f->target);
	if (rc == -ENOMEM) {
		pl->rc = rc;
		return 1;
	}
	return 0;
}

int
ferry_mm2_provenance_refresh(struct ferry_mm2_flow *f, char *err, size_t errlen)
{
	if (f->auto_prov == NULL)
		return 0;
	/*
	 * Incremental: the set only grows (a topic that once came from the target stays a
	 * replica), so each refresh reads only the syncs written since the last one. A syncs
	 * topic that was recreated below that offset resets to its start (auto.offset.reset),
	 * which re-adds the same names.
	 */
	struct prov_load pl = { f, 0 };
	int rc = ferry_mm2_read(f, f->rev_syncs_cluster, f->rev_syncs_topic, 0,
				f->rev_syncs_next > 0 ? f->rev_syncs_next : -1, prov_load_cb, &pl,
				NULL, err, errlen);
	if (rc == 0 && pl.rc < 0)
		rc = ferry_errf(pl.rc, err, errlen, "cluster %s: reading %s: out of memory",
				f->rev_syncs_cluster, f->rev_syncs_topic);
	return rc;
}

/* ---- topics ---------------------------------------------------------------------------- */

void
ferry_mm2_topics_free(struct ferry_mm2_topic *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++) {
		free(t[i].name);
		free(t[i].remote);
	}
	free(t);
}

int
ferry_mm2_topics_list(struct ferry_mm2_flow *f, const struct ferry_mm2_provenance *prov,
		      struct ferry_mm2_topic **out, size_t *n, char *err, size_t errlen)
{
	const struct rd_kafka_metadata *smd = NULL, *tmd = NULL;
	rd_kafka_resp_err_t e;
	int rc = 0;
	*out = NULL;
	*n = 0;
	if (prov == NULL && f->auto_prov != NULL) {
		/* Fail closed: without knowing what the reverse flow wrote here, a replica
		 * could be sent back where it came from (a loop). */
		char perr[512];
		if ((rc = ferry_mm2_provenance_refresh(f, perr, sizeof(perr))) < 0)
			return ferry_errf(rc, err, errlen,
					  "%s->%s: which topics came from %s is unknown (the "
					  "reverse flow's offset-syncs): %s",
					  f->source, f->target, f->target, perr);
		prov = f->auto_prov;
	}
	rd_kafka_t *src = ferry_mm2_client(f, f->source, FERRY_MM2_READER, err, errlen);
	rd_kafka_t *dst =
	    src ? ferry_mm2_client(f, f->target, FERRY_MM2_READER, err, errlen) : NULL;
	if (dst == NULL)
		return -EIO;
	if ((e = rd_kafka_metadata(src, 1, NULL, &smd, f->timeout_ms)) != 0) {
		snprintf(err, errlen, "cluster %s: metadata: %s", f->source, rd_kafka_err2str(e));
		return -EIO;
	}
	if ((e = rd_kafka_metadata(dst, 1, NULL, &tmd, f->timeout_ms)) != 0) {
		snprintf(err, errlen, "cluster %s: metadata: %s", f->target, rd_kafka_err2str(e));
		rc = -EIO;
		goto out_free_md;
	}
	struct ferry_mm2_topic *t = calloc((size_t)smd->topic_cnt + 1, sizeof(*t));
	if (t == NULL) {
		rc = -ENOMEM;
		goto out_free_md;
	}
	size_t k = 0;
	for (int i = 0; i < smd->topic_cnt; i++) {
		const char *name = smd->topics[i].topic;
		char remote[FERRY_MM2_TOPIC_MAX + 1];
		if (smd->topics[i].err ||
		    !ferry_mm2_should_replicate(&f->policy, f->topics, f->heartbeats_replication,
						name, f->target, prov) ||
		    (f->topic_allow && !f->topic_allow(f->topic_allow_arg, name)))
			continue;
		if (ferry_mm2_remote_topic(&f->policy, f->source, name, remote, sizeof(remote)) <
		    0) {
			ferry_mm2_warn(f, "%s->%s: topic %s: remote name too long, not replicated",
				       f->source, f->target, name);
			continue;
		}
		t[k].name = strdup(name);
		t[k].remote = strdup(remote);
		t[k].partitions = smd->topics[i].partition_cnt;
		t[k].remote_partitions = -1;
		for (int j = 0; j < tmd->topic_cnt; j++)
			if (strcmp(tmd->topics[j].topic, remote) == 0 && tmd->topics[j].err == 0)
				t[k].remote_partitions = tmd->topics[j].partition_cnt;
		k++;
		if (t[k - 1].name == NULL || t[k - 1].remote == NULL) {
			ferry_mm2_topics_free(t, k);
			rc = -ENOMEM;
			goto out_free_md;
		}
	}
	*out = t;
	*n = k;
out_free_md:
	if (tmd)
		rd_kafka_metadata_destroy(tmd);
	rd_kafka_metadata_destroy(smd);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc;
}

/* ---- consumer groups ------------------------------------------------------------------- */

void
ferry_group_offsets_free(struct ferry_group_offsets *go)
{
	free(go->o);
	free(go->strings);
	memset(go, 0, sizeof(*go));
}

int
ferry_mm2_group_offsets_fetch(struct ferry_mm2_flow *f, const char *alias, const char *group,
			      const struct ferry_mm2_topic *topics, size_t n_topics,
			      bool remote_names, struct ferry_group_offsets *out, char *err,
			      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	rd_kafka_t *rk = ferry_mm2_group_client(f, alias, group, err, errlen);
	if (rk == NULL)
		return -EIO;
	int rc = 0;
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(16);
	for (size_t i = 0; i < n_topics; i++) {
		int32_t np = remote_names ? topics[i].remote_partitions : topics[i].partitions;
		for (int32_t p = 0; p < np; p++)
			rd_kafka_topic_partition_list_add(
			    tp, remote_names ? topics[i].remote : topics[i].name, p);
	}
	if (tp->cnt == 0)
		goto out_destroy;
	/* OffsetFetch to the group coordinator: the mock answers it too. */
	rd_kafka_resp_err_t e = rd_kafka_committed(rk, tp, f->timeout_ms);
	if (e) {
		snprintf(err, errlen, "cluster %s: group %s: OffsetFetch: %s", alias, group,
			 rd_kafka_err2str(e));
		rc = -EIO;
		goto out_destroy;
	}
	size_t n = 0, slen = 0;
	for (int i = 0; i < tp->cnt; i++) {
		if (tp->elems[i].err) {
			snprintf(err, errlen, "cluster %s: group %s: %s/%d: %s", alias, group,
				 tp->elems[i].topic, tp->elems[i].partition,
				 rd_kafka_err2str(tp->elems[i].err));
			rc = -EIO;
			goto out_destroy;
		}
		if (tp->elems[i].offset < 0)
			continue;
		n++;
		slen += strlen(tp->elems[i].topic) + 1 + tp->elems[i].metadata_size + 1;
	}
	out->o = calloc(n ? n : 1, sizeof(*out->o));
	out->strings = malloc(slen ? slen : 1);
	if (out->o == NULL || out->strings == NULL) {
		ferry_group_offsets_free(out);
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out_destroy;
	}
	char *sp = out->strings;
	for (int i = 0; i < tp->cnt; i++) {
		const rd_kafka_topic_partition_t *el = &tp->elems[i];
		if (el->offset < 0)
			continue;
		struct ferry_group_offset *o = &out->o[out->n++];
		o->topic = sp;
		sp = stpcpy(sp, el->topic) + 1;
		o->metadata = sp;
		memcpy(sp, el->metadata ? el->metadata : "", el->metadata_size);
		sp[el->metadata_size] = '\0';
		sp += el->metadata_size + 1;
		o->partition = el->partition;
		o->offset = el->offset;
	}
out_destroy:
	rd_kafka_topic_partition_list_destroy(tp);
	rd_kafka_destroy(rk);
	return rc;
}

void
ferry_mm2_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* ListGroups/DescribeGroups through librdkafka; -ENOTSUP when the cluster lacks them. */
static int
list_groups(struct ferry_mm2_flow *f, const char *alias, const char *group,
	    const struct rd_kafka_group_list **gl, char *err, size_t errlen)
{
	rd_kafka_t *rk = ferry_mm2_client(f, alias, FERRY_MM2_READER, err, errlen);
	if (rk == NULL)
		return -EIO;
	rd_kafka_resp_err_t e = rd_kafka_list_groups(rk, group, gl, f->timeout_ms);
	if (e == 0)
		return 0;
	snprintf(err, errlen, "cluster %s: %s groups: %s", alias, group ? "describing" : "listing",
		 rd_kafka_err2str(e));
	/* The mock has neither API; librdkafka reports that as unsupported, or (because it
	 * still tries) as a timeout or a transport error. */
	if (e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE || e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
	    e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION || e == RD_KAFKA_RESP_ERR__TRANSPORT ||
	    e == RD_KAFKA_RESP_ERR__PARTIAL)
		return -ENOTSUP;
	return -EIO;
}

int
ferry_mm2_group_active(struct ferry_mm2_flow *f, const char *alias, const char *group, char *state,
		       size_t state_len, char *err, size_t errlen)
{
	const struct rd_kafka_group_list *gl;
	int rc = list_groups(f, alias, group, &gl, err, errlen);
	if (rc < 0)
		return rc;
	int active = 0;
	if (state_len)
		snprintf(state, state_len, "Unknown");
	for (int i = 0; i < gl->group_cnt; i++) {
		if (strcmp(gl->groups[i].group, group) != 0)
			continue;
		if (state_len)
			snprintf(state, state_len, "%s", gl->groups[i].state);
		/* Empty and Dead groups may be written by a simple consumer; anything with
		 * members (Stable, PreparingRebalance, CompletingRebalance) may not. */
		active = gl->groups[i].member_cnt > 0 ||
			 (strcmp(gl->groups[i].state, "Empty") != 0 &&
			  strcmp(gl->groups[i].state, "Dead") != 0 && gl->groups[i].state[0]);
	}
	rd_kafka_group_list_destroy(gl);
	return active;
}

int
ferry_mm2_groups_list(struct ferry_mm2_flow *f, const char *alias, char ***names, size_t *n,
		      char *err, size_t errlen)
{
	const struct rd_kafka_group_list *gl;
	char lerr[512];
	*names = NULL;
	*n = 0;
	int rc = list_groups(f, alias, NULL, &gl, lerr, sizeof(lerr));
	if (rc == -EIO) {
		snprintf(err, errlen, "%s", lerr);
		return rc;
	}
	size_t cap = rc == 0 ? (size_t)gl->group_cnt : 0;
	const char *const *lit = NULL;
	size_t nlit = 0;
	if (rc == -ENOTSUP) {
		nlit = ferry_mm2_filter_literals(f->groups, &lit);
		if (!f->warned_no_list_groups)
			ferry_mm2_warn(f,
				       "%s (no ListGroups on this cluster); checkpointing only the %zu "
				       "group(s) named literally in `groups`",
				       lerr, nlit);
		f->warned_no_list_groups = true;
		cap = nlit;
	}
	char **v = calloc(cap ? cap : 1, sizeof(char *));
	if (v == NULL)
		goto out_nomem;
	for (size_t i = 0; i < cap; i++) {
		const char *g = rc == 0 ? gl->groups[i].group : lit[i];
		if (!ferry_mm2_filter_match(f->groups, g))
			continue;
		if ((v[*n] = strdup(g)) == NULL)
			goto out_nomem;
		(*n)++;
	}
	if (rc == 0)
		rd_kafka_group_list_destroy(gl);
	*names = v;
	return 0;

out_nomem:
	if (rc == 0)
		rd_kafka_group_list_destroy(gl);
	ferry_mm2_names_free(v, *n);
	*n = 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int
ferry_mm2_group_commit(struct ferry_mm2_flow *f, const char *alias, const char *group,
		       const struct ferry_group_offset *o, size_t n, bool only_forward,
		       size_t *committed, char *err, size_t errlen)
{
	char state[64], aerr[512];
	if (committed)
		*committed = 0;
	int active =
	    ferry_mm2_group_active(f, alias, group, state, sizeof(state), aerr, sizeof(aerr));
	if (active == 1) {
		snprintf(err, errlen,
			 "cluster %s: group %s is active there (state %s): refusing to move its "
			 "offsets; stop its consumers first",
			 alias, group, state);
		return -EBUSY;
	}
	if (active == -EIO) {
		snprintf(err, errlen, "%s", aerr);
		return -EIO;
	}
	/* -ENOTSUP (the mock): the commit itself is the check. A simple-consumer commit
	 * (generation -1, no member id) is refused by the coordinator for a group that has
	 * members (UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION). */
	rd_kafka_t *rk = ferry_mm2_group_client(f, alias, group, err, errlen);
	if (rk == NULL)
		return -EIO;
	int rc = 0;
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new((int)n + 1);
	for (size_t i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(tp, o[i].topic, o[i].partition)->offset =
		    o[i].offset;
	if (only_forward && tp->cnt) {
		rd_kafka_topic_partition_list_t *cur = rd_kafka_topic_partition_list_copy(tp);
		rd_kafka_resp_err_t e = rd_kafka_committed(rk, cur, f->timeout_ms);
		if (e) {
			snprintf(err, errlen, "cluster %s: group %s: OffsetFetch: %s", alias, group,
				 rd_kafka_err2str(e));
			rd_kafka_topic_partition_list_destroy(cur);
			rc = -EIO;
			goto out_destroy;
		}
		/* MM2 syncs a partition only when the translated offset is ahead. */
		for (int i = cur->cnt - 1; i >= 0; i--)
			if (cur->elems[i].offset >= 0 &&
			    cur->elems[i].offset >= tp->elems[i].offset)
				rd_kafka_topic_partition_list_del_by_idx(tp, i);
		rd_kafka_topic_partition_list_destroy(cur);
	}
	for (int i = 0; i < tp->cnt; i++) {
		const char *md = o[0].metadata;
		for (size_t j = 0; j < n; j++)
			if (strcmp(o[j].topic, tp->elems[i].topic) == 0 &&
			    o[j].partition == tp->elems[i].partition)
				md = o[j].metadata;
		if (md && md[0]) {
			tp->elems[i].metadata = strdup(md);
			tp->elems[i].metadata_size = strlen(md);
		}
	}
	if (tp->cnt == 0)
		goto out_destroy;
	rd_kafka_resp_err_t e = rd_kafka_commit(rk, tp, 0);
	if (e == 0)
		for (int i = 0; i < tp->cnt && !e; i++)
			e = tp->elems[i].err;
	if (e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
	    e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) {
		snprintf(err, errlen,
			 "cluster %s: group %s has members (the coordinator refused a commit from "
			 "outside the group: %s): refusing to move its offsets; stop its consumers "
			 "first",
			 alias, group, rd_kafka_err2str(e));
		rc = -EBUSY;
	} else if (e) {
		snprintf(err, errlen, "cluster %s: group %s: OffsetCommit: %s", alias, group,
			 rd_kafka_err2str(e));
		rc = -EIO;
	} else if (committed) {
		*committed = (size_t)tp->cnt;
	}
out_destroy:
	rd_kafka_topic_partition_list_destroy(tp);
	rd_kafka_destroy(rk);
	return rc;
}
