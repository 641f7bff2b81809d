/*
 * test_metrics.c - the metrics registry (control/metrics.c): family grouping across sources,
 * label sorting and escaping, invalid samples dropped and counted, number formatting, the JSON
 * render, the collect visitor, and two threads rendering at once. No network: the HTTP
 * endpoint and DPDK telemetry are covered by tests/integration.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>

#include "testutil.h"

#include "ferry/metrics.h"

/* The registry's own family as it renders with every drop counter at the given values. */
static void
dropped_text(char *buf, size_t n, const unsigned *counts)
{
	static const char *const reasons[] = { "name", "label",     "utf8", "value",
					       "type", "duplicate", "nomem" };
	size_t off = (size_t)snprintf(buf, n,
				      "# HELP ferry_metrics_dropped_total samples dropped by the "
				      "metrics registry, by reason\n"
				      "# TYPE ferry_metrics_dropped_total counter\n");

	for (int i = 0; i < 7; i++)
		off += (size_t)snprintf(buf + off, n - off,
					"ferry_metrics_dropped_total{reason=\"%s\"} %u\n",
					reasons[i], counts ? counts[i] : 0);
}

static char *
prom(struct ferry_metrics *m)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(ferry_metrics_render_prometheus(m, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, strlen(out));
	return out;
}

static char *
json(struct ferry_metrics *m)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(ferry_metrics_render_json(m, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, strlen(out));
	return out;
}

/* ---- grouping -------------------------------------------------------------------------------- */

static void
src_a(void *arg, struct ferry_metrics_emit *e)
{
	(void)arg;
	ferry_metrics_emit(e, "ferry_records_in_total", "records read", FERRY_METRIC_COUNTER, 1,
			   (const char *const[]){ "topic", "x", NULL });
	ferry_metrics_emit(e, "ferry_lag_records", "replication lag", FERRY_METRIC_GAUGE, 5, NULL);
	/* Labels given out of order come out sorted by name. */
	ferry_metrics_emit(e, "ferry_records_in_total", "records read", FERRY_METRIC_COUNTER, 2,
			   (const char *const[]){ "topic", "y", "partition", "0", NULL });
}

static void
src_b(void *arg, struct ferry_metrics_emit *e)
{
	(void)arg;
	ferry_metrics_emit(e, "ferry_up", "1 when running", FERRY_METRIC_GAUGE, 1, NULL);
	ferry_metrics_emit(e, "ferry_records_in_total", "another help: the first one wins",
			   FERRY_METRIC_COUNTER, 3, (const char *const[]){ "topic", "z", NULL });
	ferry_metrics_emit(e, "ferry_no_help_total", NULL, FERRY_METRIC_COUNTER, 4, NULL);
}

static void
test_grouping(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	char expect[4096], tail[2048], *out;

	(void)state;
	assert_non_null(m);
	assert_int_equal(ferry_metrics_add_source(m, src_a, NULL), 0);
	assert_int_equal(ferry_metrics_add_source(m, src_b, NULL), 0);
	dropped_text(tail, sizeof(tail), NULL);
	snprintf(expect, sizeof(expect),
		 "# HELP ferry_records_in_total records read\n"
		 "# TYPE ferry_records_in_total counter\n"
		 "ferry_records_in_total{topic=\"x\"} 1\n"
		 "ferry_records_in_total{partition=\"0\",topic=\"y\"} 2\n"
		 "ferry_records_in_total{topic=\"z\"} 3\n"
		 "# HELP ferry_lag_records replication lag\n"
		 "# TYPE ferry_lag_records gauge\n"
		 "ferry_lag_records 5\n"
		 "# HELP ferry_up 1 when running\n"
		 "# TYPE ferry_up gauge\n"
		 "ferry_up 1\n"
		 "# TYPE ferry_no_help_total counter\n"
		 "ferry_no_help_total 4\n"
		 "%s",
		 tail);
	out = prom(m);
	assert_string_equal(out, expect);
	free(out);
	/* A second render gives the same text: the scratch area is reset. */
	out = prom(m);
	assert_string_equal(out, expect);
	free(out);
	ferry_metrics_free(m);
}

/* ---- escaping -------------------------------------------------------------------------------- */

static void
src_escape(void *arg, struct ferry_metrics_emit *e)
{
	(void)arg;
	ferry_metrics_emit(
	    e, "ferry_esc", "help with \\ backslash\nand a second line", FERRY_METRIC_GAUGE, 1,
	    (const char *const[]){ "v", "a\\b\"c\nd", "city", "Z\xc3\xbcrich", NULL });
	ferry_metrics_emit(e, "ferry_esc", NULL, FERRY_METRIC_GAUGE, 2,
			   (const char *const[]){ "v", "tab\there", "city", "", NULL });
}

static void
test_escaping(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	char *out;

	(void)state;
	assert_int_equal(ferry_metrics_add_source(m, src_escape, NULL), 0);
	out = prom(m);
	assert_non_null(strstr(out,
			       "# HELP ferry_esc help with \\\\ backslash\\nand a second line\n"
			       "# TYPE ferry_esc gauge\n"
			       "ferry_esc{city=\"Z\xc3\xbcrich\",v=\"a\\\\b\\\"c\\nd\"} 1\n"
			       "ferry_esc{city=\"\",v=\"tab\there\"} 2\n"));
	free(out);
	/* JSON: the Prometheus spelling of the series, JSON-escaped (tab as \t). */
	out = json(m);
	assert_non_null(strstr(out, "{\"ferry_esc{city=\\\"Z\xc3\xbcrich\\\",v=\\\"a\\\\\\\\b"
				    "\\\\\\\"c\\\\nd\\\"}\":1,"
				    "\"ferry_esc{city=\\\"\\\",v=\\\"tab\\there\\\"}\":2,"));
	free(out);
	ferry_metrics_free(m);
}

/* ---- invalid samples ------------------------------------------------------------------------- */

static void
src_invalid(void *arg, struct ferry_metrics_emit *e)
{
	const char *many[2 * FERRY_METRICS_MAX_LABELS + 3];
	static const char *const names[] = { "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8",
					     "l9", "la", "lb", "lc", "ld", "le", "lf", "lg" };

	(void)arg;
	/* name: 5 */
	ferry_metrics_emit(e, "", "h", FERRY_METRIC_GAUGE, 1, NULL);
	ferry_metrics_emit(e, NULL, "h", FERRY_METRIC_GAUGE, 1, NULL);
	ferry_metrics_emit(e, "9lives", "h", FERRY_METRIC_GAUGE, 1, NULL);
	ferry_metrics_emit(e, "ferry-dash", "h", FERRY_METRIC_GAUGE, 1, NULL);
	ferry_metrics_emit(e, "ferry_\xc3\xa9", "h", FERRY_METRIC_GAUGE, 1, NULL);
	/* label: 6 */
	ferry_metrics_emit(e, "ferry_l", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "__name__", "x", NULL });
	ferry_metrics_emit(e, "ferry_l", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "1a", "x", NULL });
	ferry_metrics_emit(e, "ferry_l", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "a:b", "x", NULL });
	ferry_metrics_emit(e, "ferry_l", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "a", "x", "b", "y", "a", "z", NULL });
	ferry_metrics_emit(e, "ferry_l", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "a", NULL });
	for (int i = 0; i <= FERRY_METRICS_MAX_LABELS; i++) {
		many[2 * i] = names[i];
		many[2 * i + 1] = "v";
	}
	many[2 * FERRY_METRICS_MAX_LABELS + 2] = NULL;
	ferry_metrics_emit(e, "ferry_l", "h", FERRY_METRIC_GAUGE, 1, many);
	/* Exactly the maximum is fine. */
	many[2 * FERRY_METRICS_MAX_LABELS] = NULL;
	ferry_metrics_emit(e, "ferry_max_labels", "h", FERRY_METRIC_GAUGE, 1, many);
	/* utf8: 4 (lone continuation, overlong '/', surrogate, help) */
	ferry_metrics_emit(e, "ferry_u", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "a", "\x80", NULL });
	ferry_metrics_emit(e, "ferry_u", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "a", "\xc0\xaf", NULL });
	ferry_metrics_emit(e, "ferry_u", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "a", "\xed\xa0\x80", NULL });
	ferry_metrics_emit(e, "ferry_u", "bad \xff help", FERRY_METRIC_GAUGE, 1, NULL);
	/* value: 3 */
	ferry_metrics_emit(e, "ferry_v_total", "h", FERRY_METRIC_COUNTER, -1, NULL);
	ferry_metrics_emit(e, "ferry_v_total", "h", FERRY_METRIC_COUNTER, NAN, NULL);
	ferry_metrics_emit(e, "ferry_v_total", "h", FERRY_METRIC_COUNTER, INFINITY, NULL);
	/* type: 2 (conflict with the first sample, and an enum value out of range) */
	ferry_metrics_emit(e, "ferry_t", "h", FERRY_METRIC_GAUGE, 1, NULL);
	ferry_metrics_emit(e, "ferry_t", "h", FERRY_METRIC_COUNTER, 2,
			   (const char *const[]){ "k", "v", NULL });
	ferry_metrics_emit(e, "ferry_t2", "h", (enum ferry_metric_type)7, 1, NULL);
	/* duplicate: 2 (same labels in another order count as the same series) */
	ferry_metrics_emit(e, "ferry_d", "h", FERRY_METRIC_GAUGE, 1,
			   (const char *const[]){ "a", "1", "b", "2", NULL });
	ferry_metrics_emit(e, "ferry_d", "h", FERRY_METRIC_GAUGE, 9,
			   (const char *const[]){ "b", "2", "a", "1", NULL });
	ferry_metrics_emit(e, "ferry_t", "h", FERRY_METRIC_GAUGE, 3, NULL);
	/* A NULL emit context is ignored. */
	ferry_metrics_emit(NULL, "ferry_x", "h", FERRY_METRIC_GAUGE, 1, NULL);
}

static void
test_invalid(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	unsigned counts[7] = { 5, 6, 4, 3, 2, 2, 0 };
	char tail[2048], *out;

	(void)state;
	assert_int_equal(ferry_metrics_add_source(m, src_invalid, NULL), 0);
	out = prom(m);
	dropped_text(tail, sizeof(tail), counts);
	assert_non_null(strstr(out, tail));
	/* Only the valid samples are there. */
	assert_non_null(strstr(out, "\nferry_t 1\n"));
	assert_non_null(strstr(out, "\nferry_d{a=\"1\",b=\"2\"} 1\n"));
	assert_non_null(strstr(out, "{l0=\"v\",l1=\"v\","));
	assert_null(strstr(out, "ferry_t{"));
	assert_null(strstr(out, "ferry_t 3"));
	assert_null(strstr(out, "ferry_l"));
	assert_null(strstr(out, "ferry_u"));
	assert_null(strstr(out, "ferry_v_total"));
	assert_null(strstr(out, "ferry_t2"));
	assert_null(strstr(out, "9lives"));
	free(out);
	/* The counters are cumulative: every render counts its drops again. */
	for (int i = 0; i < 7; i++)
		counts[i] *= 2;
	out = prom(m);
	dropped_text(tail, sizeof(tail), counts);
	assert_non_null(strstr(out, tail));
	free(out);
	ferry_metrics_free(m);
}

/* ---- values and JSON ------------------------------------------------------------------------- */

static void
src_values(void *arg, struct ferry_metrics_emit *e)
{
	(void)arg;
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, 0.1,
			   (const char *const[]){ "c", "tenth", NULL });
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, 1.0 / 3,
			   (const char *const[]){ "c", "third", NULL });
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, 9007199254740992.0,
			   (const char *const[]){ "c", "2p53", NULL });
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, 1e21,
			   (const char *const[]){ "c", "big", NULL });
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, -0.0,
			   (const char *const[]){ "c", "negzero", NULL });
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, -3,
			   (const char *const[]){ "c", "neg", NULL });
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, INFINITY,
			   (const char *const[]){ "c", "inf", NULL });
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, -INFINITY,
			   (const char *const[]){ "c", "ninf", NULL });
	ferry_metrics_emit(e, "ferry_v", "values", FERRY_METRIC_GAUGE, NAN,
			   (const char *const[]){ "c", "nan", NULL });
	ferry_metrics_emit(e, "ferry_c_total", "counter", FERRY_METRIC_COUNTER,
			   18446744073709551615.0, NULL);
}

static void
test_values(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	char *out;

	(void)state;
	assert_int_equal(ferry_metrics_add_source(m, src_values, NULL), 0);
	out = prom(m);
	assert_non_null(strstr(out, "# TYPE ferry_v gauge\n"
				    "ferry_v{c=\"tenth\"} 0.1\n"
				    "ferry_v{c=\"third\"} 0.33333333333333331\n"
				    "ferry_v{c=\"2p53\"} 9007199254740992\n"
				    "ferry_v{c=\"big\"} 1e+21\n"
				    "ferry_v{c=\"negzero\"} 0\n"
				    "ferry_v{c=\"neg\"} -3\n"
				    "ferry_v{c=\"inf\"} +Inf\n"
				    "ferry_v{c=\"ninf\"} -Inf\n"
				    "ferry_v{c=\"nan\"} NaN\n"
				    "# HELP ferry_c_total counter\n"
				    "# TYPE ferry_c_total counter\n"
				    "ferry_c_total 1.8446744073709552e+19\n"));
	free(out);
	out = json(m);
	assert_non_null(strstr(out, "{\"ferry_v{c=\\\"tenth\\\"}\":0.1,"
				    "\"ferry_v{c=\\\"third\\\"}\":0.33333333333333331,"
				    "\"ferry_v{c=\\\"2p53\\\"}\":9007199254740992,"
				    "\"ferry_v{c=\\\"big\\\"}\":1e+21,"
				    "\"ferry_v{c=\\\"negzero\\\"}\":0,"
				    "\"ferry_v{c=\\\"neg\\\"}\":-3,"
				    "\"ferry_v{c=\\\"inf\\\"}\":null,"
				    "\"ferry_v{c=\\\"ninf\\\"}\":null,"
				    "\"ferry_v{c=\\\"nan\\\"}\":null,"
				    "\"ferry_c_total\":1.8446744073709552e+19,"
				    "\"ferry_metrics_dropped_total{reason=\\\"name\\\"}\":0,"));
	assert_int_equal(out[strlen(out) - 2], '}');
	assert_int_equal(out[strlen(out) - 1], '\n');
	free(out);
	ferry_metrics_free(m);
}

static void
test_json_grouping(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	char *out;

	(void)state;
	assert_int_equal(ferry_metrics_add_source(m, src_a, NULL), 0);
	assert_int_equal(ferry_metrics_add_source(m, src_b, NULL), 0);
	out = json(m);
	assert_string_equal(out,
			    "{\"ferry_records_in_total{topic=\\\"x\\\"}\":1,"
			    "\"ferry_records_in_total{partition=\\\"0\\\",topic=\\\"y\\\"}\":2,"
			    "\"ferry_records_in_total{topic=\\\"z\\\"}\":3,"
			    "\"ferry_lag_records\":5,"
			    "\"ferry_up\":1,"
			    "\"ferry_no_help_total\":4,"
			    "\"ferry_metrics_dropped_total{reason=\\\"name\\\"}\":0,"
			    "\"ferry_metrics_dropped_total{reason=\\\"label\\\"}\":0,"
			    "\"ferry_metrics_dropped_total{reason=\\\"utf8\\\"}\":0,"
			    "\"ferry_metrics_dropped_total{reason=\\\"value\\\"}\":0,"
			    "\"ferry_metrics_dropped_total{reason=\\\"type\\\"}\":0,"
			    "\"ferry_metrics_dropped_total{reason=\\\"duplicate\\\"}\":0,"
			    "\"ferry_metrics_dropped_total{reason=\\\"nomem\\\"}\":0}\n");
	free(out);
	ferry_metrics_free(m);
}

/* ---- collect --------------------------------------------------------------------------------- */

struct seen {
	char text[1024];
	size_t len;
	int n;
	int stop_after;
};

static int
visit(void *arg, const struct ferry_metric_sample *s)
{
	struct seen *v = arg;

	v->len += (size_t)snprintf(v->text + v->len, sizeof(v->text) - v->len, "%s%s[%u]", s->name,
				   s->type == FERRY_METRIC_COUNTER ? "(c)" : "(g)", s->nlabels);
	for (unsigned i = 0; i < s->nlabels; i++)
		v->len += (size_t)snprintf(v->text + v->len, sizeof(v->text) - v->len, " %s=%s",
					   s->labels[2 * i], s->labels[2 * i + 1]);
	assert_null(s->labels[2 * s->nlabels]);
	v->len += (size_t)snprintf(v->text + v->len, sizeof(v->text) - v->len, " %g|", s->value);
	return ++v->n == v->stop_after ? 42 : 0;
}

static void
test_collect(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	struct seen v = { 0 };

	(void)state;
	assert_int_equal(ferry_metrics_add_source(m, src_a, NULL), 0);
	assert_int_equal(ferry_metrics_add_source(m, src_b, NULL), 0);
	assert_int_equal(ferry_metrics_add_source(m, src_escape, NULL), 0);
	assert_int_equal(ferry_metrics_collect(m, "ferry_records_in_total", visit, &v), 0);
	assert_string_equal(v.text, "ferry_records_in_total(c)[1] topic=x 1|"
				    "ferry_records_in_total(c)[2] partition=0 topic=y 2|"
				    "ferry_records_in_total(c)[1] topic=z 3|");
	/* Raw (unescaped) label values. */
	memset(&v, 0, sizeof(v));
	assert_int_equal(ferry_metrics_collect(m, "ferry_esc", visit, &v), 0);
	assert_string_equal(v.text, "ferry_esc(g)[2] city=Z\xc3\xbcrich v=a\\b\"c\nd 1|"
				    "ferry_esc(g)[2] city= v=tab\there 2|");
	memset(&v, 0, sizeof(v));
	assert_int_equal(ferry_metrics_collect(m, "ferry_nothing", visit, &v), 0);
	assert_int_equal(v.n, 0);
	/* All families, stopped by the visitor after 4 samples. */
	memset(&v, 0, sizeof(v));
	v.stop_after = 4;
	assert_int_equal(ferry_metrics_collect(m, NULL, visit, &v), 42);
	assert_int_equal(v.n, 4);
	assert_int_equal(ferry_metrics_collect(m, NULL, NULL, NULL), -EINVAL);
	ferry_metrics_free(m);
}

/* ---- many series: hash tables grow ----------------------------------------------------------- */

static void
src_many(void *arg, struct ferry_metrics_emit *e)
{
	char name[32], part[16];

	(void)arg;
	/* Interleaved: partition-major, so every family is revisited 200 times. */
	for (int p = 0; p < 200; p++) {
		for (int f = 0; f < 50; f++) {
			snprintf(name, sizeof(name), "ferry_fam%02d_total", f);
			snprintf(part, sizeof(part), "%d", p);
			ferry_metrics_emit(e, name, "h", FERRY_METRIC_COUNTER, p,
					   (const char *const[]){ "partition", part, NULL });
		}
	}
	/* ... and one of them once more: a duplicate (one per collection). */
	ferry_metrics_emit(e, "ferry_fam07_total", "h", FERRY_METRIC_COUNTER, 1,
			   (const char *const[]){ "partition", "123", NULL });
}

static int
count_visit(void *arg, const struct ferry_metric_sample *s)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

static void
test_many(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	int n = 0;
	char *out;

	(void)state;
	assert_int_equal(ferry_metrics_add_source(m, src_many, NULL), 0);
	assert_int_equal(ferry_metrics_collect(m, NULL, count_visit, &n), 0);
	assert_int_equal(n, 200 * 50 + 7);
	n = 0;
	assert_int_equal(ferry_metrics_collect(m, "ferry_fam31_total", count_visit, &n), 0);
	assert_int_equal(n, 200);
	out = prom(m);
	/* Grouped: family 0's 200 samples first, one TYPE line per family. */
	assert_non_null(strstr(out, "# TYPE ferry_fam00_total counter\n"
				    "ferry_fam00_total{partition=\"0\"} 0\n"
				    "ferry_fam00_total{partition=\"1\"} 1\n"));
	assert_non_null(strstr(out, "ferry_fam00_total{partition=\"199\"} 199\n"
				    "# HELP ferry_fam01_total h\n"));
	assert_non_null(strstr(out, "ferry_metrics_dropped_total{reason=\"duplicate\"} 3\n"));
	free(out);
	ferry_metrics_free(m);
}

/* ---- two readers at once --------------------------------------------------------------------- */

struct reader {
	struct ferry_metrics *m;
	bool json;
	const char *expect;
	int bad;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;

	for (int i = 0; i < 300; i++) {
		char *out = NULL;
		size_t len;
		int rc = r->json ? ferry_metrics_render_json(r->m, &out, &len)
				 : ferry_metrics_render_prometheus(r->m, &out, &len);

		if (rc != 0 || strcmp(out, r->expect) != 0)
			r->bad++;
		free(out);
	}
	return NULL;
}

static void
test_concurrent(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	struct reader r[2];
	pthread_t t[2];
	char *p, *j;

	(void)state;
	/* Static sources without drops: every render must give exactly the same text. */
	assert_int_equal(ferry_metrics_add_source(m, src_a, NULL), 0);
	assert_int_equal(ferry_metrics_add_source(m, src_b, NULL), 0);
	p = prom(m);
	j = json(m);
	r[0] = (struct reader){ .m = m, .json = false, .expect = p };
	r[1] = (struct reader){ .m = m, .json = true, .expect = j };
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader_main, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(r[0].bad, 0);
	assert_int_equal(r[1].bad, 0);
	free(p);
	free(j);
	ferry_metrics_free(m);
}

/* ---- API edges ------------------------------------------------------------------------------- */

static void
test_edges(void **state)
{
	struct ferry_metrics *m = ferry_metrics_new();
	char *out = NULL, tail[2048];
	size_t len;

	(void)state;
	assert_int_equal(ferry_metrics_add_source(m, NULL, NULL), -EINVAL);
	assert_int_equal(ferry_metrics_add_source(NULL, src_a, NULL), -EINVAL);
	assert_int_equal(ferry_metrics_render_prometheus(NULL, &out, &len), -EINVAL);
	assert_int_equal(ferry_metrics_render_json(m, NULL, &len), -EINVAL);
	assert_int_equal(ferry_metrics_http_port(m), 0);
	assert_int_equal(ferry_metrics_http_port(NULL), 0);
	ferry_metrics_http_stop(m); /* not started: no-op */
	/* No source: only the registry's own family. */
	out = prom(m);
	dropped_text(tail, sizeof(tail), NULL);
	assert_string_equal(out, tail);
	free(out);
	ferry_metrics_free(m);
	ferry_metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grouping),      cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_invalid),       cmocka_unit_test(test_values),
		cmocka_unit_test(test_json_grouping), cmocka_unit_test(test_collect),
		cmocka_unit_test(test_many),          cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
