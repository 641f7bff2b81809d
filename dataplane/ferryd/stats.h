/*
 * stats.h - ferryd's counters as one JSON document (stats.c), written atomically to the
 * --stats file every second and at exit; the embedded demo and the e2e tests read it, and the
 * metrics endpoint renders the same values. Control thread only.
 */
#ifndef FERRY_FERRYD_STATS_H
#define FERRY_FERRYD_STATS_H

#include <stdio.h>

#include "ferryd.h"

/** Write the JSON document to f. */
void ferryd_stats_json(struct ferryd *fd, FILE *f);
/** Write it to path (via path.tmp + rename). 0 or -errno. */
int ferryd_stats_write(struct ferryd *fd, const char *path);

struct ferry_metrics_emit;
/** Metrics source (ferry_metrics_add_source) for the Prometheus endpoint and telemetry. */
void ferryd_metrics_source(void *arg, struct ferry_metrics_emit *e);

#endif
