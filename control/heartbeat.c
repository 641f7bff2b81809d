/*
 * heartbeat.c - MM2 heartbeats (MirrorHeartbeatTask's job) and the link health ferry derives
 * from them. Every emit.heartbeats.interval.seconds ferry writes Heartbeat(source, target,
 * now) into `heartbeats` on a cluster of its pair (both directions, as MM2's dedicated mode
 * does). The source's `heartbeats` topic is replicated like any topic (to <source>.heartbeats
 * under either policy), so the newest heartbeat found there on the target says how far behind
 * the replication is, whatever the traffic: that age is the bound on replication latency and
 * the link-health signal of `ferryctl status`.
 *
 * Control thread only; blocking librdkafka calls bounded by the flow's timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ferry/common.h"
#include "mm2.h"

int
ferry_hb_emit(struct ferry_mm2_flow *f, const char *into, const char *source, const char *target,
	      int64_t now_ms, char *err, size_t errlen)
{
	struct ferry_mm2_heartbeat hb = {
		.sourceClusterAlias = ferry_mm2_str(source),
		.targetClusterAlias = ferry_mm2_str(target),
		.timestamp = now_ms,
	};
	uint8_t kb[2 * 130 + 4], vb[FERRY_MM2_HEARTBEAT_VALUE_SIZE];
	struct ferry_wr k, v;
	ferry_wr_init(&k, kb, sizeof(kb));
	ferry_wr_init(&v, vb, sizeof(vb));
	int rc = ferry_mm2_heartbeat_encode(&hb, &k, &v);
	if (rc != 0) {
		snprintf(err, errlen, "heartbeat %s->%s: %s", source, target, ferry_err_desc(rc));
		return -EINVAL;
	}
	/* MM2: partition 0, record timestamp = heartbeat time, no headers. */
	struct ferry_mm2_rec r = { k.p, k.len, v.p, v.len, now_ms, 0 };
	if (f->heartbeats_nowait)
		return ferry_mm2_produce_nowait(f, into, ferry_mm2_heartbeats_topic(&f->policy), 0,
						&r, 1, err, errlen);
	return ferry_mm2_produce(f, into, ferry_mm2_heartbeats_topic(&f->policy), 0, &r, 1, err,
				 errlen);
}

struct hb_scan {
	struct ferry_hb_health *h;
	uint64_t bad;
};

static int
hb_cb(void *arg, const struct ferry_mm2_rec *r)
{
	struct hb_scan *hs = arg;
	struct ferry_mm2_heartbeat hb;
	if (ferry_mm2_heartbeat_decode((struct ferry_span){ r->key, r->key_len },
				       (struct ferry_span){ r->value, r->value_len }, &hb) != 0) {
		hs->bad++;
		return 0;
	}
	hs->h->count++;
	if (!hs->h->seen || hb.timestamp > hs->h->newest_ts) {
		hs->h->seen = true;
		hs->h->newest_ts = hb.timestamp;
		size_t n = hb.sourceClusterAlias.len < sizeof(hs->h->origin) - 1
			       ? hb.sourceClusterAlias.len
			       : sizeof(hs->h->origin) - 1;
		memcpy(hs->h->origin, hb.sourceClusterAlias.p, n);
		hs->h->origin[n] = '\0';
	}
	return 0;
}

int
ferry_hb_health(struct ferry_mm2_flow *f, int64_t now_ms, struct ferry_hb_health *h, char *err,
		size_t errlen)
{
	char topic[FERRY_MM2_TOPIC_MAX + 1];
	memset(h, 0, sizeof(*h));
	if (ferry_mm2_remote_topic(&f->policy, f->source, ferry_mm2_heartbeats_topic(&f->policy),
				   topic, sizeof(topic)) < 0) {
		snprintf(err, errlen, "%s->%s: heartbeats topic name too long", f->source,
			 f->target);
		return -ENAMETOOLONG;
	}
	struct hb_scan hs = { .h = h };
	/* The newest heartbeats are at the end: read the last 100 when the watermarks are
	 * known (heartbeats are compacted, not always, and may be long). */
	int64_t lo, hi, from = -1;
	char werr[256];
	if (ferry_mm2_watermarks(f, f->target, topic, 0, &lo, &hi, werr, sizeof(werr)) == 0 &&
	    hi - 100 > lo)
		from = hi - 100;
	int rc = ferry_mm2_read(f, f->target, topic, 0, from, hb_cb, &hs, NULL, err, errlen);
	if (rc < 0)
		return rc;
	if (h->seen) {
		h->age_ms = now_ms - h->newest_ts;
		/* a heartbeat written while the read ran is newer than now_ms: age 0, not < 0 */
		if (h->age_ms < 0)
			h->age_ms = 0;
		h->healthy = h->age_ms <=
			     3 * (f->heartbeats_interval_ms > 0 ? f->heartbeats_interval_ms : 1000);
	}
	return 0;
}
