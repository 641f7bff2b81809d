/*
 * ferry/metrics.h - the metrics registry (DESIGN §8): one list of metric sources, rendered as
 * Prometheus text (exposition format 0.0.4, served on GET /metrics) and as JSON (one object
 * series -> value, for DPDK telemetry and `ferryctl status`-style tools).
 *
 * A source is a callback that emits samples: it typically sums per-lcore counters declared
 * with an X-macro (FERRY_WAN_DP_FOREACH_CTR, FERRY_URING_FOREACH_STAT), reading them without
 * locks (relaxed atomic loads), and calls ferry_metrics_emit() once per series:
 *
 *	static void
 *	wan_source(void *arg, struct ferry_metrics_emit *e)
 *	{
 *		struct ferry_wan_dp_stats st;
 *		ferry_wan_dp_stats_read(arg, &st);
 *		ferry_metrics_emit(e, "ferry_wan_retransmits_total", "retransmitted DATA packets",
 *				   FERRY_METRIC_COUNTER, (double)st.tx_retx, NULL);
 *	}
 *
 * Threads: sources are registered by the control thread before serving. Rendering runs on
 * the reader's thread (the HTTP server thread, the telemetry thread, a CLI) and is serialised
 * by a mutex held while the sources run, so two readers may render at once, a source never
 * runs twice concurrently, and a source must not render the registry it belongs to (it would
 * deadlock). Rendering is not a hot path: it allocates.
 *
 * Names are full Prometheus names ("ferry_records_in_total"): the registry adds no prefix.
 * Counters should end in _total (Prometheus convention; not enforced). Samples with an
 * invalid name or label, invalid UTF-8, a type that conflicts with an earlier sample of the
 * same family, a negative or non-finite counter value, or a series (name + labels) already
 * emitted in the same render are dropped and counted in the registry's own family
 * ferry_metrics_dropped_total{reason="..."} (reasons: FERRY_METRICS_FOREACH_DROP), which
 * every render includes. Sources run at every render, so a source that emits a bad sample
 * is counted once per render (per scrape).
 *
 * Values are doubles, as in Prometheus itself: integers above 2^53 lose precision.
 *
 * Errors: 0 or -errno (with a message in err where the caller gives one); the constructor
 * returns NULL with errno set.
 *
 * Public header: pure C11, no third-party headers (STYLE §11).
 */
#ifndef FERRY_METRICS_H
#define FERRY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ferry_metrics;
struct ferry_metrics_emit;

/** Prometheus metric types the registry renders (no histograms or summaries). */
enum ferry_metric_type {
	FERRY_METRIC_COUNTER,
	FERRY_METRIC_GAUGE,
};

/** Content-Type of GET /metrics (Prometheus text exposition format 0.0.4). */
#define FERRY_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/** Most label pairs one sample may carry; more is dropped with reason "label". */
#define FERRY_METRICS_MAX_LABELS 16

/** Why samples are dropped: X-macro (enum suffix, label value of reason, help). */
#define FERRY_METRICS_FOREACH_DROP(_)                                                              \
	_(NAME, "name", "metric name does not match [a-zA-Z_:][a-zA-Z0-9_:]*")                     \
	_(LABEL, "label", "label name invalid, reserved (__*) or repeated, odd or too long list")  \
	_(UTF8, "utf8", "help text or label value is not valid UTF-8")                             \
	_(VALUE, "value", "counter value negative, NaN or infinite")                               \
	_(TYPE, "type", "unknown type, or family already emitted with the other type")             \
	_(DUPLICATE, "duplicate", "series (name and labels) already emitted in this render")       \
	_(NOMEM, "nomem", "out of memory while collecting")

enum ferry_metrics_drop {
#define FERRY_METRICS_DROP_ENUM(n, r, h) FERRY_METRICS_DROP_##n,
	FERRY_METRICS_FOREACH_DROP(FERRY_METRICS_DROP_ENUM)
#undef FERRY_METRICS_DROP_ENUM
	FERRY_METRICS_DROP__MAX,
};

/**
 * A source: emits its samples with ferry_metrics_emit(e, ...). Called on the reader's
 * thread with the registry's render lock held (@locality any thread, serialised).
 */
typedef void (*ferry_metrics_source_fn)(void *arg, struct ferry_metrics_emit *e);

/** Create an empty registry. NULL with errno set (ENOMEM). */
struct ferry_metrics *ferry_metrics_new(void);

/**
 * Stop the HTTP endpoint if it runs, then free the registry. Unbind it from DPDK telemetry
 * first (ferry_metrics_telemetry_unregister, ferry/metrics_dpdk.h). NULL is a no-op.
 */
void ferry_metrics_free(struct ferry_metrics *m);

/**
 * Add a source; sources run in the order they were added. arg is passed back untouched and
 * must stay valid until the registry is freed. 0, -EINVAL (fn NULL) or -ENOMEM.
 */
int ferry_metrics_add_source(struct ferry_metrics *m, ferry_metrics_source_fn fn, void *arg);

/**
 * Emit one sample, from inside a source only.
 * @param name   full metric name, e.g. "ferry_records_in_total"
 * @param help   one line of help text (may be NULL); the first non-empty help of a family wins
 * @param labels NULL, or pairs {"k1", "v1", "k2", "v2", NULL}: label names match
 *               [a-zA-Z_][a-zA-Z0-9_]* without a "__" prefix, values are any UTF-8
 *               (escaped on output); at most FERRY_METRICS_MAX_LABELS pairs
 * All strings are copied. Samples of one family may come from several sources and be
 * interleaved with other families: renders group them. Invalid samples are dropped and
 * counted (see the file comment).
 */
void ferry_metrics_emit(struct ferry_metrics_emit *e, const char *name, const char *help,
			enum ferry_metric_type type, double value, const char *const *labels);

/**
 * Run every source and render Prometheus text exposition format 0.0.4: families in the
 * order they were first emitted, each with one "# HELP" (when it has help) and one "# TYPE"
 * line followed by all its samples. *out is NUL-terminated, *len excludes the NUL; the
 * caller frees *out with free(). 0 or -ENOMEM (nothing returned).
 */
int ferry_metrics_render_prometheus(struct ferry_metrics *m, char **out, size_t *len);

/**
 * Run every source and render one JSON object, series -> value, in the same order:
 * {"ferry_up":1,"ferry_records_in_total{topic=\"orders\"}":42}. A key is the series as it
 * appears in the Prometheus text (name, then {labels} when it has any), JSON-escaped.
 * NaN and infinities are null. Ownership and errors as ferry_metrics_render_prometheus.
 */
int ferry_metrics_render_json(struct ferry_metrics *m, char **out, size_t *len);

/** One sample handed to a ferry_metrics_visit_fn; every pointer is valid during the call. */
struct ferry_metric_sample {
	const char *name;
	const char *help; /**< "" when the family has none */
	enum ferry_metric_type type;
	double value;
	const char *const *labels; /**< {"k1", "v1", ..., NULL}, raw (unescaped) values */
	unsigned nlabels;          /**< number of pairs */
};

/** Visitor of ferry_metrics_collect: return 0 to go on, anything else to stop. */
typedef int (*ferry_metrics_visit_fn)(void *arg, const struct ferry_metric_sample *s);

/**
 * Run every source and hand each valid sample to fn, grouped by family as the renders do;
 * with family != NULL only the samples of that metric name (none if unknown). fn runs with
 * the render lock held: it must not render this registry. Returns 0, -ENOMEM, or the first
 * non-zero value fn returned.
 */
int ferry_metrics_collect(struct ferry_metrics *m, const char *family, ferry_metrics_visit_fn fn,
			  void *arg);

/**
 * Serve GET (and HEAD) /metrics over HTTP/1.1 from a thread of libmicrohttpd: 200 with
 * Content-Type FERRY_METRICS_CONTENT_TYPE, 404 for any other path, 405 (Allow: GET, HEAD)
 * for other methods, 500 when rendering fails.
 * @param bind_addr numeric IPv4/IPv6 address or host name to bind; NULL means "0.0.0.0"
 * @param port      TCP port; 0 picks a free one (read it with ferry_metrics_http_port)
 * 0 or -errno with a message in err naming the address and port: -EADDRINUSE when the port
 * is taken, -EALREADY when already started, -ENOTSUP when ferry was built without
 * libmicrohttpd. @locality control thread (start and stop from the same thread).
 */
int ferry_metrics_http_start(struct ferry_metrics *m, const char *bind_addr, uint16_t port,
			     char *err, size_t errlen);

/** Stop the endpoint (waits for requests in progress). No-op when not started. */
void ferry_metrics_http_stop(struct ferry_metrics *m);

/** The TCP port the endpoint listens on, 0 when not started. */
uint16_t ferry_metrics_http_port(const struct ferry_metrics *m);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_METRICS_H */
