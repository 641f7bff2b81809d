/*
 * ferry/conf.h - load an MM2 properties file into a struct ferry_conf and read typed values
 * from it with MM2's precedence; the key table behind it; per-cluster librdkafka properties.
 *
 * Thread-safety: loading allocates and runs on the control thread. A loaded ferry_conf is
 * never changed by the accessors, so any thread may read it while nobody frees it.
 *
 * Precedence (MM2's MirrorMakerConfig): SRC->DST.KEY over KEY over the table default for flow
 * keys; ALIAS.ROLE.KEY over ALIAS.KEY over KEY for client properties.
 */
#ifndef FERRY_CONF_H
#define FERRY_CONF_H

#include <stdarg.h>

#include "ferry/conf-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Read and check a properties file. On 0 or -EINVAL *out is a loaded configuration (free it
 * with ferry_conf_free()); -EINVAL means it holds at least one error diagnostic. Any other
 * negative errno (-ENOENT, -EISDIR, -EIO, -ENOMEM, -EFBIG) means nothing was loaded: *out is NULL
 * and 'err' says why. 'flags': FERRY_CONF_LOAD_*.
 */
int ferry_conf_load_file(const char *path, unsigned flags, struct ferry_conf **out, char *err,
			 size_t errlen);
/** Same over a buffer; 'name' is what diagnostics call the file. */
int ferry_conf_load_buf(const char *name, const char *buf, size_t len, unsigned flags,
			struct ferry_conf **out, char *err, size_t errlen);
void ferry_conf_free(struct ferry_conf *c);

/** Diagnostics in line order (file-level ones, line 0, first). */
const struct ferry_conf_diag *ferry_conf_diags(const struct ferry_conf *c, size_t *n);
size_t ferry_conf_n_errors(const struct ferry_conf *c);
size_t ferry_conf_n_warnings(const struct ferry_conf *c);
/** Add a diagnostic (used by checks that live outside conf.c, e.g. librdkafka's own). */
__attribute__((format(printf, 6, 7))) void
ferry_conf_diag_add(struct ferry_conf *c, enum ferry_conf_sev sev, unsigned line, const char *key,
		    const char *hint, const char *fmt, ...);
/** Re-sort after ferry_conf_diag_add(). */
void ferry_conf_diags_sort(struct ferry_conf *c);

/** Properties as read (syntax only), in file order of their last occurrence. */
const struct ferry_conf_prop *ferry_conf_props(const struct ferry_conf *c, size_t *n);
/** Raw value of a property key, or NULL; *line (may be NULL) gets its line. */
const char *ferry_conf_prop_get(const struct ferry_conf *c, const char *key, unsigned *line);

/** Cluster aliases from `clusters`, in file order, duplicates removed. */
const char *const *ferry_conf_clusters(const struct ferry_conf *c, size_t *n);
/** All ordered pairs of distinct clusters (MM2's cluster pairs); check ->enabled. */
const struct ferry_conf_flow *ferry_conf_flows(const struct ferry_conf *c, size_t *n);
/** Index of flow SRC->DST in ferry_conf_flows(), or -1. */
int ferry_conf_flow_find(const struct ferry_conf *c, const char *source, const char *target);

/*
 * Typed values. 'flow' is an index from ferry_conf_flows(), or -1 for the global value; a flow
 * reads SRC->DST.KEY, then KEY, then the default. 'key' is a table name ("topics",
 * "ferry.wan.mtu"); a name that is not in the table, or of another type, gives 0 / false /
 * NULL / an empty list. Enum and class values come back in the table's spelling.
 */
const char *ferry_conf_str(const struct ferry_conf *c, int flow, const char *key);
int64_t ferry_conf_int(const struct ferry_conf *c, int flow, const char *key);
double ferry_conf_double(const struct ferry_conf *c, int flow, const char *key);
bool ferry_conf_bool(const struct ferry_conf *c, int flow, const char *key);
size_t ferry_conf_list(const struct ferry_conf *c, int flow, const char *key,
		       const char *const **items);
/** LCORES keys: sorted ids without duplicates. */
size_t ferry_conf_lcores(const struct ferry_conf *c, const char *key, const uint16_t **ids);
/** Line where the value for (flow, key) was set; 0 when it is the default. */
unsigned ferry_conf_line(const struct ferry_conf *c, int flow, const char *key);
/** Cluster-scoped table keys ("bootstrap.servers", "security.protocol"): ALIAS.KEY, then KEY. */
const char *ferry_conf_cluster_str(const struct ferry_conf *c, const char *alias, const char *key);

/**
 * librdkafka properties for one cluster and client role, translated from Java client names
 * (sasl.jaas.config -> sasl.username/sasl.password, sasl.mechanism -> sasl.mechanisms, ...).
 * Java-only names are left out (with a warning diagnostic at load). NULL if 'alias' is not a
 * cluster. The array lives as long as 'c'.
 */
const struct ferry_conf_kv *ferry_conf_client_props(const struct ferry_conf *c, const char *alias,
						    enum ferry_conf_role role, size_t *n);
const char *ferry_conf_role_name(enum ferry_conf_role role);

/** The key table. */
const struct ferry_conf_def *ferry_conf_defs(size_t *n);
/** Table entry for a plain key name (no alias or flow prefix), or NULL. */
const struct ferry_conf_def *ferry_conf_def_find(const char *name);
/** Name as documented, with placeholders: "[<source>-><target>.]topics", "<alias>.ssl.*". */
void ferry_conf_def_display(const struct ferry_conf_def *d, char *buf, size_t len);
const char *ferry_conf_type_name(enum ferry_conf_type t);
/** Check one value against a key's type and range: 0, or -EINVAL with the reason in 'err'. */
int ferry_conf_value_check(const struct ferry_conf_def *d, const char *value, char *err,
			   size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_CONF_H */
