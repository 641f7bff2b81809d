/*
 * stats.c - ferryd's counters as JSON (see stats.h). Control thread; it reads counters other
 * lcores write (single-writer 64-bit values: a torn read is impossible on the 64-bit targets
 * ferry supports, and a value a few microseconds old is what monitoring wants).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "ferry/metrics.h"
#include "ferry/policy.h"
#include "ferry/wan.h"
#include "stats.h"

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static bool
wan_gauge(enum ferry_wan_dp_ctr c)
{
	return c == FERRY_WAN_DP_CTR_srtt_ns || c == FERRY_WAN_DP_CTR_rtt_min_ns ||
	       c == FERRY_WAN_DP_CTR_pacing_bps || c == FERRY_WAN_DP_CTR_inflight_bytes ||
	       c == FERRY_WAN_DP_CTR_tx_epoch;
}

/* WAN counters: cur = this session's workers (gauges come from here), tot = every session.
 * The session lock keeps the workers from being freed under a reader on another thread. */
static void
wan_stats(struct ferryd *fd, struct ferry_wan_dp_stats *cur, struct ferry_wan_dp_stats *tot)
{
	memset(cur, 0, sizeof(*cur));
	pthread_mutex_lock(&fd->sess_lock);
	for (uint16_t q = 0; q < fd->nqueues; q++)
		if (fd->dps[q]) {
			struct ferry_wan_dp_stats s;
			ferry_wan_dp_stats_read(fd->dps[q], &s);
			ferry_wan_dp_stats_add(cur, &s);
		}
	*tot = fd->wan_prev;
	pthread_mutex_unlock(&fd->sess_lock);
	ferry_wan_dp_stats_add(tot, cur);
}

void
ferryd_stats_json(struct ferryd *fd, FILE *f)
{
	struct ferry_wan_dp_stats cur, tot;
	uint32_t n = atomic_load(&fd->n_parts);

	wan_stats(fd, &cur, &tot);

	fprintf(f, "{\"role\":\"%s\",\"pid\":%ld,\"source\":",
		fd->role == FERRYD_SOURCE ? "source" : "target", (long)getpid());
	json_str(f, fd->source);
	fprintf(f, ",\"target\":");
	json_str(f, fd->target);
	fprintf(f, ",\"session\":{\"up\":%s,\"generation\":%u},\"counters\":{",
		atomic_load(&fd->sess_state) == FERRYD_SESS_UP ? "true" : "false",
		atomic_load(&fd->sess_gen));
	for (int c = 0; c < FERRYD_CTR__MAX; c++)
		fprintf(f, "%s\"%s\":%" PRIu64, c ? "," : "", ferryd_ctr_name(c),
			atomic_load_explicit(&fd->ctr[c], memory_order_relaxed));
	fprintf(f, "},\"wan\":{");
	for (int c = 0; c < FERRY_WAN_DP_CTR__MAX; c++)
		fprintf(f, "%s\"%s\":%" PRIu64, c ? "," : "", ferry_wan_dp_ctr_name(c),
			ferry_wan_dp_ctr_get(wan_gauge(c) ? &cur : &tot, c));
	fprintf(f, "},\"uring\":{");
	if (fd->ur) {
		uint64_t st[FERRY_URING_ST__COUNT];
		ferry_uring_stats(fd->ur, st);
		for (int s = 0; s < FERRY_URING_ST__COUNT; s++)
			fprintf(f, "%s\"%s\":%" PRIu64, s ? "," : "", ferry_uring_stat_name(s), st[s]);
	}
	fprintf(f, "},\"rules\":[");
	if (fd->pw && fd->policy) {
		const struct ferry_policy_counters *pc = ferry_policy_worker_counters(fd->pw);
		uint32_t nr = 0;
		const struct ferry_policy_rule *r =
		    ferry_policy_rt_rules(ferry_policy_current(fd->policy), &nr);
		for (uint32_t i = 0; i < nr && i < FERRY_POLICY_RULES_MAX; i++) {
			const struct ferry_policy_rule_counters *rc = &pc->rule[i];
			fprintf(f, "%s{\"name\":", i ? "," : "");
			json_str(f, r[i].name);
			fprintf(f,
				",\"action\":\"%s\",\"matched\":%" PRIu64 ",\"masked\":%" PRIu64
				",\"tokenised\":%" PRIu64 ",\"dropped\":%" PRIu64
				",\"quarantined\":%" PRIu64 "}",
				ferry_policy_action_name(r[i].action), rc->matched, rc->masked,
				rc->tokenised, rc->dropped, rc->quarantined);
		}
	}
	fprintf(f, "],\"topics\":[");
	if (fd->pw) {
		uint32_t nt = 0;
		const struct ferry_policy_topic_counters *tc =
		    ferry_policy_worker_topic_counters(fd->pw, &nt);
		for (uint32_t i = 0; i < nt; i++) {
			fprintf(f, "%s{\"topic\":", i ? "," : "");
			json_str(f, tc[i].topic);
			fprintf(f,
				",\"batches\":%" PRIu64 ",\"records_scanned\":%" PRIu64
				",\"records_matched\":%" PRIu64 ",\"spans_masked\":%" PRIu64
				",\"spans_tokenised\":%" PRIu64 ",\"records_dropped\":%" PRIu64 "}",
				tc[i].batches, tc[i].records_scanned, tc[i].records_matched,
				tc[i].spans_masked, tc[i].spans_tokenised, tc[i].records_dropped);
		}
	}
	fprintf(f, "],\"partitions\":[");
	for (uint32_t i = 0; i < n; i++) {
		struct ferryd_part *p = &fd->parts[i];
		int64_t pos = fd->role == FERRYD_SOURCE ? atomic_load(&p->committed)
						       : atomic_load(&p->synced_next);
		int64_t hw = atomic_load_explicit(&p->hw, memory_order_relaxed);
		fprintf(f, "%s{\"topic\":", i ? "," : "");
		json_str(f, p->topic);
		fprintf(f, ",\"remote\":");
		json_str(f, p->remote);
		fprintf(f,
			",\"partition\":%d,\"lane\":%u,\"committed\":%" PRId64 ",\"high_watermark\":%" PRId64
			",\"lag\":%" PRId64 ",\"stopped\":%s,\"owned\":%s}",
			p->partition, p->lane, pos, hw,
			p->owned && hw > 0 && pos >= 0 && hw > pos ? hw - pos : 0,
			p->stopped ? "true" : "false", p->owned ? "true" : "false");
	}
	fprintf(f, "]}\n");
}

int
ferryd_stats_write(struct ferryd *fd, const char *path)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	ferryd_stats_json(fd, f);
	if (fclose(f) != 0)
		return -errno;
	return rename(tmp, path) == 0 ? 0 : -errno;
}

/* ---- Prometheus / telemetry (DESIGN §8) ----------------------------------------------------
 * Runs on the reader's thread (HTTP server or telemetry); the session lock keeps the WAN
 * workers from being freed under it. */

static void
emit_u64(struct ferry_metrics_emit *e, const char *name, const char *help,
	 enum ferry_metric_type t, uint64_t v, const char *const *labels)
{
	ferry_metrics_emit(e, name, help, t, (double)v, labels);
}

void
ferryd_metrics_source(void *arg, struct ferry_metrics_emit *e)
{
	struct ferryd *fd = arg;
	const char *role = fd->role == FERRYD_SOURCE ? "source" : "target";
	const char *const rl[] = { "role", role, "source", fd->source, "target", fd->target, NULL };
	char name[160];
	uint32_t n = atomic_load(&fd->n_parts);

	for (int c = 0; c < FERRYD_CTR__MAX; c++) {
		snprintf(name, sizeof(name), "ferry_%s_total", ferryd_ctr_name(c));
		emit_u64(e, name, ferryd_ctr_help(c), FERRY_METRIC_COUNTER,
			 atomic_load_explicit(&fd->ctr[c], memory_order_relaxed), rl);
	}
	emit_u64(e, "ferry_session_up", "1 when the WAN session with the peer gateway is up",
		 FERRY_METRIC_GAUGE, atomic_load(&fd->sess_state) == FERRYD_SESS_UP, rl);

	struct ferry_wan_dp_stats cur, tot;
	wan_stats(fd, &cur, &tot);
	for (int c = 0; c < FERRY_WAN_DP_CTR__MAX; c++) {
		bool g = wan_gauge(c);
		snprintf(name, sizeof(name), "ferry_wan_%s%s", ferry_wan_dp_ctr_name(c),
			 g ? "" : "_total");
		emit_u64(e, name, ferry_wan_dp_ctr_help(c), g ? FERRY_METRIC_GAUGE : FERRY_METRIC_COUNTER,
			 ferry_wan_dp_ctr_get(g ? &cur : &tot, c), rl);
	}
	for (int d = 0; d < FERRY_WAN_DROP__MAX; d++) {
		const char *const dl[] = { "role", role, "reason", ferry_wan_drop_name(d), NULL };
		emit_u64(e, "ferry_wan_auth_drops_total",
			 "packets refused by the packet layer (forged, corrupt, replayed, unknown peer)",
			 FERRY_METRIC_COUNTER, tot.drop[d], dl);
	}
	if (fd->ur) {
		uint64_t st[FERRY_URING_ST__COUNT];
		ferry_uring_stats(fd->ur, st);
		for (int s = 0; s < FERRY_URING_ST__COUNT; s++) {
			char lower[64];
			const char *sn = ferry_uring_stat_name(s);
			size_t k;
			for (k = 0; sn[k] && k + 1 < sizeof(lower); k++)
				lower[k] = (char)(sn[k] >= 'A' && sn[k] <= 'Z' ? sn[k] + 32 : sn[k]);
			lower[k] = 0;
			snprintf(name, sizeof(name), "ferry_broker_%s_total", lower);
			emit_u64(e, name, ferry_uring_stat_help(s), FERRY_METRIC_COUNTER, st[s], rl);
		}
	}
	if (fd->pw && fd->policy) {
		const struct ferry_policy_counters *pc = ferry_policy_worker_counters(fd->pw);
		uint32_t nr = 0;
		const struct ferry_policy_rule *r =
		    ferry_policy_rt_rules(ferry_policy_current(fd->policy), &nr);
		for (uint32_t i = 0; i < nr && i < FERRY_POLICY_RULES_MAX; i++) {
			const char *const ll[] = { "rule", r[i].name, "action",
						   ferry_policy_action_name(r[i].action), NULL };
			emit_u64(e, "ferry_rule_records_matched_total", "records a rule matched",
				 FERRY_METRIC_COUNTER, pc->rule[i].matched, ll);
			emit_u64(e, "ferry_rule_spans_masked_total", "spans a rule masked",
				 FERRY_METRIC_COUNTER, pc->rule[i].masked, ll);
			emit_u64(e, "ferry_rule_spans_tokenised_total", "spans a rule tokenised",
				 FERRY_METRIC_COUNTER, pc->rule[i].tokenised, ll);
			emit_u64(e, "ferry_rule_records_dropped_total", "records a rule dropped (denied)",
				 FERRY_METRIC_COUNTER, pc->rule[i].dropped, ll);
			emit_u64(e, "ferry_rule_batches_quarantined_total", "batches a rule quarantined",
				 FERRY_METRIC_COUNTER, pc->rule[i].quarantined, ll);
		}
		uint32_t nt = 0;
		const struct ferry_policy_topic_counters *tc =
		    ferry_policy_worker_topic_counters(fd->pw, &nt);
		for (uint32_t i = 0; i < nt; i++) {
			const char *const tl[] = { "topic", tc[i].topic, NULL };
			emit_u64(e, "ferry_topic_records_scanned_total", "records scanned per topic",
				 FERRY_METRIC_COUNTER, tc[i].records_scanned, tl);
			emit_u64(e, "ferry_topic_records_dropped_total", "records dropped per topic",
				 FERRY_METRIC_COUNTER, tc[i].records_dropped, tl);
			emit_u64(e, "ferry_topic_spans_masked_total", "spans masked per topic",
				 FERRY_METRIC_COUNTER, tc[i].spans_masked, tl);
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct ferryd_part *p = &fd->parts[i];
		char part[16];
		snprintf(part, sizeof(part), "%d", p->partition);
		const char *const pl[] = { "topic", p->topic, "partition", part, NULL };
		int64_t pos = fd->role == FERRYD_SOURCE ? atomic_load(&p->committed)
						       : atomic_load(&p->synced_next);
		int64_t hw = atomic_load_explicit(&p->hw, memory_order_relaxed);
		emit_u64(e, "ferry_partition_committed_offset",
			 "next source offset the target has durably written", FERRY_METRIC_GAUGE,
			 pos > 0 ? (uint64_t)pos : 0, pl);
		if (fd->role == FERRYD_SOURCE)
			emit_u64(e, "ferry_partition_lag_records",
				 "source high watermark minus committed position (records not yet "
				 "durable on the target: the RPO in records)",
				 FERRY_METRIC_GAUGE, hw > pos && pos >= 0 ? (uint64_t)(hw - pos) : 0, pl);
		emit_u64(e, "ferry_partition_stopped", "1 when the partition stopped with an alarm",
			 FERRY_METRIC_GAUGE, p->stopped, pl);
	}
}
