/*
 * test_metrics_http.c - the server half of the metrics_http integration test (driven by
 * metrics_http.py, which fetches and parses /metrics with the Prometheus client library).
 *
 * Starts the endpoint on 127.0.0.1 port 0, checks a second registry cannot bind the same port
 * (the error names address and port), stops and restarts on that port (the socket is
 * released), then serves while a writer thread bumps per-lcore counters and a reader thread
 * renders JSON in a loop (two renders at once with the HTTP thread). Prints to stdout:
 *   BINDERR <rc> <message>
 *   PORT <port>
 *   JSON <ferry_metrics_render_json output>
 *   READY
 * and runs until stdin is closed. Exit 1 on any failure of its own checks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics_demo.h"

static atomic_bool stop;
static atomic_ulong json_renders;

static void *
writer_main(void *arg)
{
	unsigned i = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		unsigned l = i % DEMO_LCORES, t = (i / DEMO_LCORES) % DEMO_TOPICS;

		demo_count(l, t, DEMO_CTR_records_in, 3);
		demo_count(l, t, DEMO_CTR_records_out, 2);
		demo_count(l, t, DEMO_CTR_bytes_in, 300);
		i++;
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	}
	return NULL;
}

static void *
reader_main(void *arg)
{
	struct ferry_metrics *m = arg;

	while (!atomic_load(&stop)) {
		char *out;
		size_t len;

		if (ferry_metrics_render_json(m, &out, &len) != 0 || len == 0 || out[0] != '{') {
			fprintf(stderr, "render_json failed\n");
			exit(1);
		}
		free(out);
		atomic_fetch_add(&json_renders, 1);
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return NULL;
}

int
main(void)
{
	struct ferry_metrics *m = ferry_metrics_new(), *m2 = ferry_metrics_new();
	char err[256], want[64], *json;
	pthread_t writer, reader;
	uint16_t port;
	size_t len;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (m == NULL || m2 == NULL || ferry_metrics_add_source(m, demo_lcore_source, NULL) != 0 ||
	    ferry_metrics_add_source(m, demo_static_source, NULL) != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	rc = ferry_metrics_http_start(m, "127.0.0.1", 0, err, sizeof(err));
	if (rc == -ENOTSUP) {
		printf("SKIP %s\n", err);
		return 77;
	}
	if (rc != 0 || (port = ferry_metrics_http_port(m)) == 0) {
		fprintf(stderr, "start on port 0: %d %s\n", rc, err);
		return 1;
	}
	if (ferry_metrics_http_start(m, "127.0.0.1", 0, err, sizeof(err)) != -EALREADY) {
		fprintf(stderr, "second start of one registry was not refused\n");
		return 1;
	}

	/* The port is taken: a second registry cannot bind it, and says where. */
	rc = ferry_metrics_http_start(m2, "127.0.0.1", port, err, sizeof(err));
	printf("BINDERR %d %s\n", rc, err);
	snprintf(want, sizeof(want), "127.0.0.1 port %u", (unsigned)port);
	if (rc != -EADDRINUSE || strstr(err, want) == NULL || ferry_metrics_http_port(m2) != 0) {
		fprintf(stderr, "bind conflict: rc %d, message \"%s\" lacks \"%s\"\n", rc, err,
			want);
		return 1;
	}
	ferry_metrics_free(m2);

	/* Stop releases the socket: the same port binds again. */
	ferry_metrics_http_stop(m);
	if (ferry_metrics_http_port(m) != 0) {
		fprintf(stderr, "port after stop\n");
		return 1;
	}
	rc = ferry_metrics_http_start(m, "127.0.0.1", port, err, sizeof(err));
	if (rc != 0 || ferry_metrics_http_port(m) != port) {
		fprintf(stderr, "restart on port %u: %d %s\n", (unsigned)port, rc, err);
		return 1;
	}
	printf("PORT %u\n", (unsigned)port);

	if (ferry_metrics_render_json(m, &json, &len) != 0) {
		fprintf(stderr, "render_json\n");
		return 1;
	}
	printf("JSON %s", json); /* ends with a newline */
	free(json);

	if (pthread_create(&writer, NULL, writer_main, NULL) != 0 ||
	    pthread_create(&reader, NULL, reader_main, m) != 0) {
		fprintf(stderr, "pthread_create\n");
		return 1;
	}
	printf("READY\n");
	while (getchar() != EOF)
		;
	atomic_store(&stop, true);
	pthread_join(writer, NULL);
	pthread_join(reader, NULL);
	fprintf(stderr, "test_metrics_http: %lu JSON renders beside the HTTP ones\n",
		(unsigned long)atomic_load(&json_renders));
	ferry_metrics_free(m); /* stops the endpoint */
	return 0;
}
