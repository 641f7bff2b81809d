/*
 * topics.c - topic discovery and creation for a flow (MirrorSourceConnector's topic side):
 * find the source topics the flow replicates (filters, internal topics, loop check), give each
 * its remote name by the replication policy, and make the remote topic exist on the target
 * with the same partition count (CreateTopics), growing it when the source grows
 * (CreatePartitions; decreases are impossible in Kafka). Also creates the flow's internal
 * topics (heartbeats, <source>.checkpoints.internal, the offset-syncs topic) with one
 * partition, as MM2 does. After a round, the topic config and ACL syncs run (topic_sync.c):
 * forced when topics were created, else when due.
 *
 * Control thread only; run at start and every refresh.topics.interval.seconds. Where the
 * target has no admin API (librdkafka's mock cluster) it degrades: one warning, then a
 * metadata request from a producer so the broker auto-creates the topic, and a count of
 * topics whose partition count differs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mm2.h"

/* An admin error that means "this cluster does not do that", not "that failed". */
bool
ferry_mm2_admin_unsupported(rd_kafka_resp_err_t e)
{
	return e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE || e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
	       e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION || e == RD_KAFKA_RESP_ERR__TRANSPORT ||
	       e == RD_KAFKA_RESP_ERR_INVALID_REQUEST;
}

/* Run one admin call's result out of 'q'; returns the event or NULL on timeout. */
static rd_kafka_event_t *
admin_wait(rd_kafka_queue_t *q, int timeout_ms)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
	return ev;
}

/* CreateTopics for one topic. 0 created or already there; -ENOTSUP; -EIO with 'err'. */
static int
create_topic(struct ferry_mm2_flow *f, rd_kafka_t *rk, const char *cluster, const char *topic,
	     int partitions, int rf, char *err, size_t errlen)
{
	char errstr[256];
	int rc = ferry_mm2_need_controller(rk, cluster, "CreateTopics", err, errlen);
	if (rc != 0)
		return rc;
	rd_kafka_NewTopic_t *nt =
	    rd_kafka_NewTopic_new(topic, partitions, rf, errstr, sizeof(errstr));
	if (nt == NULL) {
		snprintf(err, errlen, "cluster %s: topic %s: %s", cluster, topic, errstr);
		return -EINVAL;
	}
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_request_timeout(ao, f->timeout_ms, NULL, 0);
	rd_kafka_AdminOptions_set_operation_timeout(ao, f->timeout_ms, NULL, 0);
	rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
	rd_kafka_event_t *ev = admin_wait(q, f->timeout_ms);
	rd_kafka_resp_err_t e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
	if (ev && e == 0) {
		size_t n;
		const rd_kafka_topic_result_t **tr =
		    rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
		if (n > 0)
			e = rd_kafka_topic_result_error(tr[0]);
	}
	if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS || e == 0)
		rc = 0;
	else if (ferry_mm2_admin_unsupported(e))
		rc = -ENOTSUP;
	else
		rc = -EIO;
	if (rc)
		snprintf(err, errlen, "cluster %s: CreateTopics %s (%d partitions, RF %d): %s",
			 cluster, topic, partitions, rf, rd_kafka_err2str(e));
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

static int
grow_topic(struct ferry_mm2_flow *f, rd_kafka_t *rk, const char *cluster, const char *topic,
	   int partitions, char *err, size_t errlen)
{
	char errstr[256];
	int rc = ferry_mm2_need_controller(rk, cluster, "CreatePartitions", err, errlen);
	if (rc != 0)
		return rc;
	rd_kafka_NewPartitions_t *np =
	    rd_kafka_NewPartitions_new(topic, (size_t)partitions, errstr, sizeof(errstr));
	if (np == NULL) {
		snprintf(err, errlen, "cluster %s: topic %s: %s", cluster, topic, errstr);
		return -EINVAL;
	}
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *ao =
	    rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
	rd_kafka_AdminOptions_set_request_timeout(ao, f->timeout_ms, NULL, 0);
	rd_kafka_CreatePartitions(rk, &np, 1, ao, q);
	rd_kafka_event_t *ev = admin_wait(q, f->timeout_ms);
	rd_kafka_resp_err_t e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
	if (ev && e == 0) {
		size_t n;
		const rd_kafka_topic_result_t **tr = rd_kafka_CreatePartitions_result_topics(
		    rd_kafka_event_CreatePartitions_result(ev), &n);
		if (n > 0)
			e = rd_kafka_topic_result_error(tr[0]);
	}
	rc = e == 0 ? 0 : ferry_mm2_admin_unsupported(e) ? -ENOTSUP : -EIO;
	if (rc)
		snprintf(err, errlen, "cluster %s: CreatePartitions %s to %d: %s", cluster, topic,
			 partitions, rd_kafka_err2str(e));
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewPartitions_destroy(np);
	return rc;
}

/* Ask for the topic's metadata as a producer: a broker with auto.create.topics.enable creates
 * it (with its default partition count). Returns the partition count, 0 or -EIO. */
static int
auto_create(struct ferry_mm2_flow *f, const char *cluster, const char *topic, char *err,
	    size_t errlen)
{
	rd_kafka_t *rk = ferry_mm2_client(f, cluster, FERRY_MM2_PRODUCER, err, errlen);
	if (rk == NULL)
		return -EIO;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, f->timeout_ms);
	int n = 0;
	if (e == 0) {
		if (md->topic_cnt == 1 && md->topics[0].err == 0)
			n = md->topics[0].partition_cnt;
		rd_kafka_metadata_destroy(md);
	} else {
		snprintf(err, errlen, "cluster %s: metadata for %s: %s", cluster, topic,
			 rd_kafka_err2str(e));
		n = -EIO;
	}
	rd_kafka_topic_destroy(rkt);
	return n;
}

/* Create (or auto-create) one topic; *unsupported is set and warned once per round. */
static int
ensure_topic(struct ferry_mm2_flow *f, const char *cluster, const char *topic, int partitions,
	     int rf, bool *unsupported, struct ferry_topics_round *res, char *err, size_t errlen)
{
	char cerr[512];
	int rc = -ENOTSUP;
	if (!*unsupported) {
		rd_kafka_t *rk = ferry_mm2_client(f, cluster, FERRY_MM2_READER, err, errlen);
		if (rk == NULL)
			return -EIO;
		rc = create_topic(f, rk, cluster, topic, partitions, rf, cerr, sizeof(cerr));
		if (rc == 0) {
			res->created++;
			return 0;
		}
		if (rc == -ENOTSUP) {
			*unsupported = true;
			ferry_mm2_warn(
			    f,
			    "%s; the cluster seems to have no admin API (librdkafka's mock "
			    "has none): relying on topic auto-creation, partition counts "
			    "may differ from the source",
			    cerr);
		} else {
			snprintf(err, errlen, "%s", cerr);
			return rc;
		}
	}
	int n = auto_create(f, cluster, topic, err, errlen);
	if (n < 0)
		return n;
	res->auto_created++;
	if (n != partitions) {
		res->mismatched++;
		ferry_mm2_warn(f,
			       "cluster %s: topic %s was auto-created with %d partition(s), "
			       "not %d",
			       cluster, topic, n, partitions);
	}
	return 0;
}

int
ferry_mm2_topics_sync(struct ferry_mm2_flow *f, const struct ferry_mm2_provenance *prov,
		      struct ferry_topics_round *res, char *err, size_t errlen)
{
	struct ferry_mm2_topic *t;
	size_t n;
	bool unsupported = false;
	int rc;
	memset(res, 0, sizeof(*res));
	if ((rc = ferry_mm2_topics_list(f, prov, &t, &n, err, errlen)) < 0)
		return rc;
	res->topics = n;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (t[i].remote_partitions < 0) {
			rc = ensure_topic(f, f->target, t[i].remote, t[i].partitions,
					  f->replication_factor, &unsupported, res, err, errlen);
		} else if (t[i].remote_partitions < t[i].partitions) {
			char gerr[512];
			int grc =
			    unsupported
				? -ENOTSUP
				: grow_topic(
				      f,
				      ferry_mm2_client(f, f->target, FERRY_MM2_READER, err, errlen),
				      f->target, t[i].remote, t[i].partitions, gerr, sizeof(gerr));
			if (grc == 0) {
				res->grown++;
			} else {
				res->mismatched++;
				ferry_mm2_warn(
				    f,
				    "%s->%s: %s has %d partition(s), its remote topic %s "
				    "%d and cannot grow%s%s",
				    f->source, f->target, t[i].name, t[i].partitions, t[i].remote,
				    t[i].remote_partitions, grc == -ENOTSUP ? "" : ": ",
				    grc == -ENOTSUP ? " (no admin API)" : gerr);
			}
		}
	}
	ferry_mm2_topics_free(t, n);
	if (rc < 0)
		return rc;

	/* Internal topics: one partition each (readers use partition 0 only). */
	const char *internal[][3] = {
		{ f->target, ferry_mm2_heartbeats_topic(&f->policy),
		  "heartbeats.topic.replication.factor" },
		{ f->target, f->checkpoints_topic, "checkpoints.topic.replication.factor" },
		{ f->syncs_cluster, f->syncs_topic, "offset-syncs.topic.replication.factor" },
	};
	for (size_t i = 0; i < 3 && rc == 0; i++) {
		rd_kafka_t *rk = ferry_mm2_client(f, internal[i][0], FERRY_MM2_READER, err, errlen);
		const struct rd_kafka_metadata *md;
		if (rk == NULL)
			return -EIO;
		rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, f->timeout_ms);
		if (e) {
			snprintf(err, errlen, "cluster %s: metadata: %s", internal[i][0],
				 rd_kafka_err2str(e));
			return -EIO;
		}
		bool found = false;
		for (int j = 0; j < md->topic_cnt; j++)
			found |= strcmp(md->topics[j].topic, internal[i][1]) == 0;
		rd_kafka_metadata_destroy(md);
		if (!found) {
			struct ferry_topics_round ir = { 0 };
			int rf = (int)ferry_conf_int(f->conf, f->flow, internal[i][2]);
			rc = ensure_topic(f, internal[i][0], internal[i][1], 1, rf, &unsupported,
					  &ir, err, errlen);
		}
	}
	if (rc < 0)
		return rc;

	/*
	 * Topic configs and ACLs: at creation (MM2 runs both syncs when its connector starts,
	 * right after creating the missing topics) and then when due. A failure here is said
	 * and does not fail the round: the topics exist, replication can go on.
	 */
	char merr[512];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (ferry_mm2_topic_meta_sync(f, prov, now, res->created + res->auto_created > 0, NULL,
				      merr, sizeof(merr)) < 0)
		ferry_mm2_warn(f, "%s->%s: topic config/ACL sync: %s", f->source, f->target, merr);
	return 0;
}
