/*
 * fuzz_conf.c - libFuzzer harness for ferry's configuration loader (control/conf.c): the
 * input is a properties file. Nothing may crash, leak or read out of bounds, whatever the
 * bytes. On top of that the loader's own promises are checked:
 *   - it returns 0 (no errors) or -EINVAL (errors, all as diagnostics), and always an object;
 *   - diagnostics are sorted by line, name a line the input has, and carry a message;
 *   - every property has a non-empty key and a line within the input;
 *   - every accessor answers for every table key on every flow, and every client property
 *     list is well formed.
 *
 * Single-threaded (libFuzzer calls in a loop). Seeds: corpus/conf/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_conf: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct ferry_conf *c = NULL;
	unsigned flags = size > 0 && (data[0] & 1) ? FERRY_CONF_LOAD_FRAGMENT : 0;
	int rc = ferry_conf_load_buf("fuzz.properties", (const char *)data, size, flags, &c, err,
				     sizeof(err));
	if (rc == -ENOMEM)
		return 0;
	check(c != NULL, "no object returned");
	check(rc == 0 || rc == -EINVAL, "unexpected return code");
	check((rc == 0) == (ferry_conf_n_errors(c) == 0), "return code disagrees with errors");

	unsigned lines = 1;
	for (size_t i = 0; i < size; i++)
		lines +=
		    data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));

	size_t n;
	const struct ferry_conf_diag *d = ferry_conf_diags(c, &n);
	for (size_t i = 0; i < n; i++) {
		check(d[i].msg != NULL && d[i].msg[0] != '\0' && d[i].key != NULL,
		      "empty diagnostic");
		check(d[i].line <= lines, "diagnostic past the last line");
		check(i == 0 || d[i - 1].line <= d[i].line, "diagnostics out of order");
	}
	const struct ferry_conf_prop *p = ferry_conf_props(c, &n);
	for (size_t i = 0; i < n; i++) {
		check(p[i].key[0] != '\0', "empty key accepted");
		check(p[i].line >= 1 && p[i].line <= lines, "property line out of range");
		check(ferry_conf_prop_get(c, p[i].key, NULL) == p[i].value, "property lookup");
	}

	size_t nd, nf, nc;
	const struct ferry_conf_def *defs = ferry_conf_defs(&nd);
	const struct ferry_conf_flow *f = ferry_conf_flows(c, &nf);
	const char *const *clusters = ferry_conf_clusters(c, &nc);
	check(nf == (nc > 1 ? nc * (nc - 1) : 0), "flow count");
	/* global, the first and the last flow: enough to reach every lookup path */
	int probe[3] = { -1, nf ? 0 : -1, nf ? (int)nf - 1 : -1 };
	for (int pi = 0; pi < 3; pi++) {
		int fi = probe[pi];
		if (pi > 0 && fi == probe[pi - 1])
			continue;
		for (size_t k = 0; k < nd; k++) {
			const char *const *items;
			const uint16_t *ids;
			size_t ni = ferry_conf_list(c, fi, defs[k].name, &items);
			for (size_t j = 0; j < ni; j++)
				check(items[j] != NULL, "null list item");
			(void)ferry_conf_str(c, fi, defs[k].name);
			(void)ferry_conf_int(c, fi, defs[k].name);
			(void)ferry_conf_bool(c, fi, defs[k].name);
			(void)ferry_conf_double(c, fi, defs[k].name);
			(void)ferry_conf_line(c, fi, defs[k].name);
			ni = ferry_conf_lcores(c, defs[k].name, &ids);
			for (size_t j = 1; j < ni; j++)
				check(ids[j - 1] < ids[j], "lcores not sorted and unique");
		}
		if (fi >= 0)
			check(ferry_conf_flow_find(c, f[fi].source, f[fi].target) == fi,
			      "flow lookup");
	}
	for (size_t ci = 0; ci < nc; ci++) {
		(void)ferry_conf_cluster_str(c, clusters[ci], "bootstrap.servers");
		for (int role = 0; role < FERRY_CONF_ROLE__COUNT; role++) {
			const struct ferry_conf_kv *kv = ferry_conf_client_props(
			    c, clusters[ci], (enum ferry_conf_role)role, &n);
			for (size_t j = 0; j < n; j++)
				check(kv[j].name && kv[j].name[0] && kv[j].value && kv[j].key,
				      "malformed client property");
		}
	}
	ferry_conf_free(c);
	return 0;
}
