/*
 * stats.c - ferryd's counters as JSON (see stats.h). Control thread; it reads counters other
 * lcores write (single-writer 64-bit values: a torn read is impossible on the 64-bit targets
 * ferry supports, and a value a few microseconds old is what monitoring wants).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ferry/policy.h"
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

void
ferryd_stats_json(struct ferryd *fd, FILE *f)
{
	struct ferry_wan_dp_stats cur, tot;
	uint32_t n = atomic_load(&fd->n_parts);

	memset(&cur, 0, sizeof(cur));
	for (uint16_t q = 0; q < fd->nqueues; q++)
		if (fd->dps[q]) {
			struct ferry_wan_dp_stats s;
			ferry_wan_dp_stats_read(fd->dps[q], &s);
			ferry_wan_dp_stats_add(&cur, &s);
		}
	tot = fd->wan_prev;
	ferry_wan_dp_stats_add(&tot, &cur);

	fprintf(f, "{\"role\":\"%s\",\"source\":", fd->role == FERRYD_SOURCE ? "source" : "target");
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
			",\"lag\":%" PRId64 ",\"stopped\":%s}",
			p->partition, p->lane, pos, hw, hw > 0 && pos >= 0 && hw > pos ? hw - pos : 0,
			p->stopped ? "true" : "false");
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
