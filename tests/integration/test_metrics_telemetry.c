/*
 * test_metrics_telemetry.c - the DPDK half of the metrics_telemetry integration test (driven
 * by metrics_telemetry.py, which queries it with DPDK's dpdk-telemetry.py).
 *
 * Usage: test_metrics_telemetry <EAL args>, e.g. --no-huge -m 128 --no-pci -l 0
 * --file-prefix <unique>. Initialises EAL (exit 77 when it cannot: no memory, no permission),
 * binds a registry with the demo sources plus series that exercise key folding (labels,
 * replaced bytes, collisions, keys past 127 bytes) and the 256-entry dict limit, checks the
 * one-registry-per-process rule, prints "READY <runtime dir>" and serves until stdin closes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "ferry/metrics_dpdk.h"
#include "metrics_demo.h"

/* Series whose telemetry keys need folding, cutting or a hash suffix. */
static void
fold_source(void *arg, struct ferry_metrics_emit *e)
{
	char long_value[200];

	(void)arg;
	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	ferry_metrics_emit(e, "ferry_fold", "folding", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "topic", "orders.eu-west", NULL });
	/* Same folded key as the first ('.' and '-' both become '_'): gets a hash suffix. */
	ferry_metrics_emit(e, "ferry_fold", "folding", FERRY_METRIC_GAUGE, 2,
			   (const char *const[]){ "topic", "orders-eu.west", NULL });
	ferry_metrics_emit(e, "ferry_fold", "folding", FERRY_METRIC_GAUGE, 3,
			   (const char *const[]){ "topic", long_value, NULL });
	ferry_metrics_emit(e, "ferry_fold_ns:rate", "a colon in the name", FERRY_METRIC_GAUGE, 1e19,
			   NULL);
}

/* 300 series in one family: more than a telemetry dict holds. */
static void
wide_source(void *arg, struct ferry_metrics_emit *e)
{
	char part[16];

	(void)arg;
	for (int p = 0; p < 300; p++) {
		snprintf(part, sizeof(part), "%d", p);
		ferry_metrics_emit(e, "ferry_wide_total", "many partitions", FERRY_METRIC_COUNTER,
				   p, (const char *const[]){ "partition", part, NULL });
	}
}

/* 200 series with ~120-byte keys: more than the 16 KiB a telemetry reply may hold. */
static void
long_source(void *arg, struct ferry_metrics_emit *e)
{
	char value[128];

	(void)arg;
	for (int i = 0; i < 200; i++) {
		snprintf(value, sizeof(value), "%0100d", i);
		ferry_metrics_emit(e, "ferry_long", "long keys", FERRY_METRIC_GAUGE, i,
				   (const char *const[]){ "value", value, NULL });
	}
}

int
main(int argc, char **argv)
{
	struct ferry_metrics *m, *other;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rte_eal_init(argc, argv) < 0) {
		printf("SKIP rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 77;
	}
	m = ferry_metrics_new();
	other = ferry_metrics_new();
	if (m == NULL || other == NULL || ferry_metrics_add_source(m, demo_lcore_source, NULL) ||
	    ferry_metrics_add_source(m, demo_static_source, NULL) ||
	    ferry_metrics_add_source(m, fold_source, NULL) ||
	    ferry_metrics_add_source(m, wide_source, NULL) ||
	    ferry_metrics_add_source(m, long_source, NULL)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	for (unsigned l = 0; l < DEMO_LCORES; l++) {
		demo_count(l, 0, DEMO_CTR_records_in, 10 + l);
		demo_count(l, 1, DEMO_CTR_records_in, 100);
		demo_count(l, 0, DEMO_CTR_bytes_in, 1000);
	}

	/* Bind "other" first, then see the one-registry rule and rebinding. */
	rc = ferry_metrics_telemetry_register(other);
	if (rc != 0) {
		fprintf(stderr, "register: %d\n", rc);
		return 1;
	}
	if (ferry_metrics_telemetry_register(other) != 0 ||
	    ferry_metrics_telemetry_register(m) != -EBUSY) {
		fprintf(stderr, "one registry per process not enforced\n");
		return 1;
	}
	ferry_metrics_telemetry_unregister(m); /* not bound: no-op */
	ferry_metrics_telemetry_unregister(other);
	ferry_metrics_free(other);
	if (ferry_metrics_telemetry_register(m) != 0) {
		fprintf(stderr, "rebind failed\n");
		return 1;
	}

	printf("READY %s\n", rte_eal_get_runtime_dir());
	while (getchar() != EOF)
		;
	ferry_metrics_telemetry_unregister(m);
	ferry_metrics_free(m);
	rte_eal_cleanup();
	return 0;
}
