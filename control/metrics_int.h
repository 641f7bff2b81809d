/*
 * metrics_int.h - private state of the metrics registry, shared by metrics.c (registry and
 * renders) and the HTTP endpoint (metrics_http.c with libmicrohttpd, metrics_http_none.c
 * without; meson picks one).
 */
#ifndef FERRY_METRICS_INT_H
#define FERRY_METRICS_INT_H

#include <locale.h>
#include <pthread.h>
#include <stdint.h>

#include "ferry/metrics.h"

struct ferry_metrics_src {
	ferry_metrics_source_fn fn;
	void *arg;
};

struct ferry_metrics_http; /* metrics_http.c */

struct ferry_metrics {
	/* Held while sources run and while a render reads the collected samples. */
	pthread_mutex_t lock;
	struct ferry_metrics_src *src;
	size_t nsrc, capsrc;
	/* Scratch of the last collection, reused by the next one (under lock). */
	struct ferry_metrics_emit *e;
	/* Dropped samples by reason, over the registry's life (under lock). */
	uint64_t dropped[FERRY_METRICS_DROP__MAX];
	/* "C" numeric locale: values always print with a '.' whatever setlocale() said. */
	locale_t c_locale;
	/* HTTP endpoint: written by start/stop on the control thread. */
	struct ferry_metrics_http *http;
	uint16_t http_port;
};

#endif /* FERRY_METRICS_INT_H */
