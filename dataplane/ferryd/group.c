/*
 * group.c - several gateway pairs per flow (see group.h). Control thread only; source role.
 *
 * librdkafka's consumer is used for the assignment alone: what it is assigned is paused at
 * once and nothing is committed; the io lcore's fetcher does the reading, from the positions
 * the target gateway sends (RESUME), exactly as with one pair.
 *
 * A rebalance is a session boundary. On revoke, the running session drains inside the
 * rebalance callback (nothing new is fetched, everything sent is acknowledged, written,
 * synced and committed) before the callback returns and the group may hand the partitions
 * on; the next owner's target gateway reloads the offset-syncs at its session start and its
 * source resumes exactly after the last synced record. A gateway that vanishes (kill -9)
 * cannot drain: its partitions move after ferry.group.session.timeout.ms, and what its pair
 * wrote past the last offset-sync is recognised by the next owner's tail reconciliation.
 * The eager protocol (range, roundrobin) revokes everything on every rebalance, so every
 * gateway restarts its session when one joins or leaves: simple and exact, at the price of
 * a pause of a few hundred ms per rebalance.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ferry/common.h"
#include "group.h"

#define POLL_MS 50

static void
rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts,
	  void *opaque)
{
	struct ferryd_group *g = opaque;
	struct ferryd *fd = g->c->fd;

	if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		rd_kafka_assign(rk, parts);
		/* the data path fetches; this consumer must not */
		rd_kafka_pause_partitions(rk, parts);
		if (g->owned)
			rd_kafka_topic_partition_list_destroy(g->owned);
		g->owned = rd_kafka_topic_partition_list_copy(parts);
		ferryd_log(fd, "group %s: %d partition(s) assigned to this gateway", g->id,
			   parts->cnt);
		return;
	}
	/* revoke (or a rebalance error): hand nothing on before it is committed */
	if (g->owned) {
		if (g->drain)
			g->drain(g->drain_arg);
		if (g->leaving)
			ferryd_log(fd, "group %s: left; its %d partition(s) go to the other gateways",
				   g->id, g->owned->cnt);
		else
			ferryd_log(fd, "group %s: %d partition(s) revoked (a gateway joined or "
				   "left): the session restarts with the new assignment", g->id,
				   g->owned->cnt);
		rd_kafka_topic_partition_list_destroy(g->owned);
		g->owned = NULL;
		g->revoked = true;
	}
	rd_kafka_assign(rk, NULL);
}

int
ferryd_group_init(struct ferryd_group *g, struct ferryd_ctl *c, const char *id,
		  int session_timeout_ms, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->c = c;
	g->id = id;
	g->rk = ferry_mm2_assign_client(&c->flow, c->fd->source, id, session_timeout_ms, rebalance,
					g, err, errlen);
	if (g->rk == NULL)
		return -EIO;
	rd_kafka_poll_set_consumer(g->rk);
	return 0;
}

int
ferryd_group_subscribe(struct ferryd_group *g, char *err, size_t errlen)
{
	struct ferryd *fd = g->c->fd;
	uint32_t n = atomic_load(&fd->n_parts);
	rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new((int)n + 1);

	if (t == NULL)
		return ferry_errf(-ENOMEM, err, errlen, "group %s: out of memory", g->id);
	for (uint32_t i = 0; i < n; i++)
		if (rd_kafka_topic_partition_list_find(t, fd->parts[i].topic,
						       RD_KAFKA_PARTITION_UA) == NULL)
			rd_kafka_topic_partition_list_add(t, fd->parts[i].topic,
							  RD_KAFKA_PARTITION_UA);
	bool same = g->subscribed && g->subscribed->cnt == t->cnt;
	for (int i = 0; same && i < t->cnt; i++)
		same = rd_kafka_topic_partition_list_find(g->subscribed, t->elems[i].topic,
							  RD_KAFKA_PARTITION_UA) != NULL;
	if (same || t->cnt == 0) {
		rd_kafka_topic_partition_list_destroy(t);
		return 0;
	}
	rd_kafka_resp_err_t e = rd_kafka_subscribe(g->rk, t);
	if (e) {
		rd_kafka_topic_partition_list_destroy(t);
		return ferry_errf(-EIO, err, errlen, "group %s: subscribe: %s", g->id,
				  rd_kafka_err2str(e));
	}
	if (g->subscribed)
		rd_kafka_topic_partition_list_destroy(g->subscribed);
	g->subscribed = t;
	ferryd_log(fd, "group %s: subscribed to %d topic(s) of %s", g->id, t->cnt, fd->source);
	return 0;
}

void
ferryd_group_poll(struct ferryd_group *g, int timeout_ms)
{
	int64_t now = ferryd_now_ms();

	if (timeout_ms == 0 && now < g->next_poll)
		return;
	g->next_poll = now + POLL_MS;
	rd_kafka_message_t *m = rd_kafka_consumer_poll(g->rk, timeout_ms);
	if (m == NULL)
		return;
	/* paused partitions deliver nothing; errors (a broker down) are librdkafka's to retry */
	if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
		ferryd_log(g->c->fd, "group %s: %s", g->id, rd_kafka_message_errstr(m));
	rd_kafka_message_destroy(m);
}

bool
ferryd_group_assigned(const struct ferryd_group *g)
{
	return g->owned != NULL;
}

bool
ferryd_group_owns(const struct ferryd_group *g, const char *topic, int32_t partition)
{
	return g->owned && rd_kafka_topic_partition_list_find(g->owned, topic, partition) != NULL;
}

bool
ferryd_group_take_revoked(struct ferryd_group *g)
{
	bool r = g->revoked;
	g->revoked = false;
	return r;
}

void
ferryd_group_fini(struct ferryd_group *g)
{
	if (g->rk == NULL)
		return;
	g->drain = NULL; /* the caller drained already; leaving only hands the partitions on */
	g->leaving = true;
	rd_kafka_consumer_close(g->rk);
	rd_kafka_destroy(g->rk);
	if (g->owned)
		rd_kafka_topic_partition_list_destroy(g->owned);
	if (g->subscribed)
		rd_kafka_topic_partition_list_destroy(g->subscribed);
	memset(g, 0, sizeof(*g));
}
