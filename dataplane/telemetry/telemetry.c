/*
 * telemetry.c - DPDK telemetry commands over the metrics registry (DESIGN §8):
 * /ferry/metrics and /ferry/metric,<name>. Key folding, value types and size limits are
 * described in ferry/metrics_dpdk.h.
 *
 * Threads: the callbacks run on DPDK's telemetry thread (one per connected client in 22.11,
 * so two clients may call at once); bind/unbind run on the control thread. tel_lock covers
 * the bound registry pointer and the key table, and is held for a whole reply, which is what
 * lets ferry_metrics_telemetry_unregister promise that no reply still uses the registry.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "ferry/metrics_dpdk.h"

/* DPDK 22.11 lib/telemetry/telemetry.c MAX_OUTPUT_LEN, sent as max_output_len to clients. */
#define TEL_MAX_OUTPUT 16384
/* Room kept for {"<cmd>":{ ... }} and the "ferry_metrics_truncated" entry. */
#define TEL_RESERVE   128
#define TEL_KEY_MAX   (RTE_TEL_MAX_STRING_LEN - 1)
#define TEL_HASH_LEN  10 /* "__" + 8 hex digits ('~' or '#' would be refused) */
#define TEL_TRUNCATED "ferry_metrics_truncated"

static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ferry_metrics *tel_m;
static bool tel_cmds;
/* Keys of the reply being built, to keep them unique (under tel_lock). */
static char tel_keys[RTE_TEL_MAX_DICT_ENTRIES][RTE_TEL_MAX_STRING_LEN];

struct tel_reply {
	struct rte_tel_data *d;
	unsigned n;    /* entries added */
	size_t bytes;  /* JSON bytes those entries take */
	uint64_t left; /* series that did not fit */
};

static uint32_t
fnv1a32(uint32_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Hash of the exact series: name, then NUL-separated label names and values. */
static uint32_t
series_hash(const struct ferry_metric_sample *s)
{
	uint32_t h = fnv1a32(2166136261u, s->name, strlen(s->name));

	for (unsigned i = 0; i < 2 * s->nlabels; i++) {
		h = fnv1a32(h, "", 1);
		h = fnv1a32(h, s->labels[i], strlen(s->labels[i]));
	}
	return h;
}

/*
 * Append '/' (sep) then src to key[*len], each byte of src outside [A-Za-z0-9_] as '_';
 * false when the key would pass TEL_KEY_MAX.
 */
static bool
key_add(char *key, size_t *len, bool sep, const char *src)
{
	if (sep) {
		if (*len == TEL_KEY_MAX)
			return false;
		key[(*len)++] = '/';
	}
	for (const char *c = src; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || *c == '_';

		if (*len == TEL_KEY_MAX)
			return false;
		key[(*len)++] = ok ? *c : '_';
	}
	key[*len] = '\0';
	return true;
}

static bool
key_taken(const struct tel_reply *r, const char *key)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(tel_keys[i], key) == 0)
			return true;
	return false;
}

/* name/k1/v1/k2/v2, cut and hashed when too long or already used; false if no unique key. */
static bool
fold_key(const struct tel_reply *r, const struct ferry_metric_sample *s, char *key)
{
	size_t len = 0;
	bool fits = key_add(key, &len, false, s->name);

	for (unsigned i = 0; fits && i < 2 * s->nlabels; i++)
		fits = key_add(key, &len, true, s->labels[i]);
	if (fits && !key_taken(r, key))
		return true;
	len = len < TEL_KEY_MAX - TEL_HASH_LEN ? len : TEL_KEY_MAX - TEL_HASH_LEN;
	snprintf(key + len, TEL_HASH_LEN + 1, "__%08x", (unsigned)series_hash(s));
	return !key_taken(r, key);
}

static int
tel_visit(void *arg, const struct ferry_metric_sample *s)
{
	struct tel_reply *r = arg;
	char *key = tel_keys[r->n];
	char str[40];
	double v = s->value;
	size_t need;
	int kind, rc; /* 0 u64, 1 int, 2 string */

	if (r->n == RTE_TEL_MAX_DICT_ENTRIES - 1 || !fold_key(r, s, key)) {
		r->left++;
		return 0;
	}
	if (isfinite(v) && v == floor(v) && v >= 0 && v < 18446744073709551616.0) {
		kind = 0;
		snprintf(str, sizeof(str), "%llu", (unsigned long long)v);
	} else if (isfinite(v) && v == floor(v) && v < 0 && v >= INT_MIN) {
		kind = 1;
		snprintf(str, sizeof(str), "%d", (int)v);
	} else {
		kind = 2;
		/* The registry collects under the "C" locale: '.' as decimal point. */
		if (isnan(v))
			snprintf(str, sizeof(str), "NaN");
		else if (isinf(v))
			snprintf(str, sizeof(str), "%s", v > 0 ? "+Inf" : "-Inf");
		else if (snprintf(str, sizeof(str), "%.15g", v) > 0 && strtod(str, NULL) != v)
			snprintf(str, sizeof(str), "%.17g", v);
	}
	/* "key":value, plus quotes around a string value; the comma is counted too. */
	need = strlen(key) + 4 + strlen(str) + (kind == 2 ? 2 : 0);
	if (r->bytes + need > TEL_MAX_OUTPUT - TEL_RESERVE) {
		r->left++;
		return 0;
	}
	if (kind == 0)
		rc = rte_tel_data_add_dict_u64(r->d, key, (uint64_t)v);
	else if (kind == 1)
		rc = rte_tel_data_add_dict_int(r->d, key, (int)v);
	else
		rc = rte_tel_data_add_dict_string(r->d, key, str);
	if (rc != 0) {
		r->left++;
		return 0;
	}
	r->n++;
	r->bytes += need;
	return 0;
}

static int
tel_reply(const char *family, struct rte_tel_data *d)
{
	struct tel_reply r = { .d = d };
	int rc;

	pthread_mutex_lock(&tel_lock);
	if (tel_m == NULL) {
		rc = -ENODEV;
		goto out_unlock;
	}
	rte_tel_data_start_dict(d);
	rc = ferry_metrics_collect(tel_m, family, tel_visit, &r);
	if (rc == 0 && r.left > 0)
		rc = rte_tel_data_add_dict_u64(d, TEL_TRUNCATED, r.left) < 0 ? -ENOSPC : 0;
out_unlock:
	pthread_mutex_unlock(&tel_lock);
	return rc;
}

static int
tel_all(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	return tel_reply(NULL, d);
}

static int
tel_one(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	return tel_reply(params, d);
}

int
ferry_metrics_telemetry_register(struct ferry_metrics *m)
{
	int rc = 0;

	if (m == NULL)
		return -EINVAL;
	pthread_mutex_lock(&tel_lock);
	if (tel_m != NULL && tel_m != m) {
		rc = -EBUSY;
		goto out_unlock;
	}
	if (!tel_cmds) {
		rc = rte_telemetry_register_cmd(FERRY_METRICS_TEL_ALL, tel_all,
						"All ferry metrics as a dict series -> value. "
						"No parameters");
		if (rc == 0)
			rc = rte_telemetry_register_cmd(FERRY_METRICS_TEL_ONE, tel_one,
							"One ferry metric family. "
							"Parameters: metric name");
		if (rc != 0)
			goto out_unlock;
		tel_cmds = true;
	}
	tel_m = m;
out_unlock:
	pthread_mutex_unlock(&tel_lock);
	return rc;
}

void
ferry_metrics_telemetry_unregister(struct ferry_metrics *m)
{
	pthread_mutex_lock(&tel_lock);
	if (tel_m == m)
		tel_m = NULL;
	pthread_mutex_unlock(&tel_lock);
}
