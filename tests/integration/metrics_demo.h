/*
 * metrics_demo.h - metric sources shared by the metrics integration programs
 * (test_metrics_http.c, test_metrics_telemetry.c), shaped like ferryd's:
 *
 *  - demo_lcore_source: per-lcore counters declared once with an X-macro, written by their
 *    owner only (relaxed atomic stores), summed by the reader without locks (STYLE rule 12);
 *  - demo_static_source: fixed values from a second source, interleaved with the first's
 *    families, plus label values that need escaping and one invalid name (dropped, counted).
 */
#ifndef FERRY_METRICS_DEMO_H
#define FERRY_METRICS_DEMO_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "ferry/metrics.h"

#define DEMO_LCORES 4
#define DEMO_TOPICS 2

static const char *const demo_topics[DEMO_TOPICS] = { "orders", "payments" };

/* X-macro: (field, metric name, help). */
#define DEMO_FOREACH_CTR(_)                                                                        \
	_(records_in, "ferry_demo_records_in_total", "records read from the source cluster")       \
	_(records_out, "ferry_demo_records_out_total", "records written to the target cluster")    \
	_(bytes_in, "ferry_demo_bytes_in_total", "record bytes read from the source cluster")

enum demo_ctr {
#define DEMO_CTR_ENUM(f, n, h) DEMO_CTR_##f,
	DEMO_FOREACH_CTR(DEMO_CTR_ENUM)
#undef DEMO_CTR_ENUM
	DEMO_CTR__MAX,
};

struct demo_lcore {
	_Atomic uint64_t ctr[DEMO_TOPICS][DEMO_CTR__MAX];
	char pad_[64];
};

static struct demo_lcore demo_lcores[DEMO_LCORES];

/* The owner's increment: a relaxed load and store, no read-modify-write (one writer). */
static inline void
demo_count(unsigned lcore, unsigned topic, enum demo_ctr c, uint64_t n)
{
	_Atomic uint64_t *p = &demo_lcores[lcore].ctr[topic][c];

	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void
demo_lcore_source(void *arg, struct ferry_metrics_emit *e)
{
	static const char *const names[] = {
#define DEMO_CTR_NAME(f, n, h) n,
		DEMO_FOREACH_CTR(DEMO_CTR_NAME)
#undef DEMO_CTR_NAME
	};
	static const char *const helps[] = {
#define DEMO_CTR_HELP(f, n, h) h,
		DEMO_FOREACH_CTR(DEMO_CTR_HELP)
#undef DEMO_CTR_HELP
	};

	(void)arg;
	for (unsigned c = 0; c < DEMO_CTR__MAX; c++) {
		for (unsigned t = 0; t < DEMO_TOPICS; t++) {
			const char *labels[] = { "topic", demo_topics[t], NULL };
			uint64_t sum = 0;

			for (unsigned l = 0; l < DEMO_LCORES; l++)
				sum += atomic_load_explicit(&demo_lcores[l].ctr[t][c],
							    memory_order_relaxed);
			ferry_metrics_emit(e, names[c], helps[c], FERRY_METRIC_COUNTER, (double)sum,
					   labels);
		}
	}
	ferry_metrics_emit(e, "ferry_demo_lcores", "worker lcores", FERRY_METRIC_GAUGE, DEMO_LCORES,
			   NULL);
}

/* A label value and a help text that need every escape of the text format. */
#define DEMO_WEIRD_VALUE "a\\b\"c\nd \xc3\xbc"
#define DEMO_WEIRD_HELP  "help with \\ backslash\nand a newline"

static inline void
demo_static_source(void *arg, struct ferry_metrics_emit *e)
{
	(void)arg;
	/* Same family as demo_lcore_source's, from another source: grouped on output. */
	ferry_metrics_emit(e, "ferry_demo_records_in_total", "records read from the source cluster",
			   FERRY_METRIC_COUNTER, 7,
			   (const char *const[]){ "topic", "audit", NULL });
	ferry_metrics_emit(e, "ferry_demo_lag_records", "replication lag in records",
			   FERRY_METRIC_GAUGE, 12,
			   (const char *const[]){ "topic", "orders", "partition", "0", NULL });
	ferry_metrics_emit(e, "ferry_demo_lag_records", "replication lag in records",
			   FERRY_METRIC_GAUGE, 0.5,
			   (const char *const[]){ "topic", "orders", "partition", "1", NULL });
	ferry_metrics_emit(e, "ferry_demo_escape", DEMO_WEIRD_HELP, FERRY_METRIC_GAUGE, -2,
			   (const char *const[]){ "v", DEMO_WEIRD_VALUE, NULL });
	ferry_metrics_emit(e, "ferry-demo-invalid", "dropped: not a Prometheus name",
			   FERRY_METRIC_GAUGE, 1, NULL);
	ferry_metrics_emit(e, "ferry_demo_lag_records", NULL, FERRY_METRIC_GAUGE, 3,
			   (const char *const[]){ "partition", "2", "topic", "payments", NULL });
}

#endif /* FERRY_METRICS_DEMO_H */
