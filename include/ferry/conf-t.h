/*
 * ferry/conf-t.h - types of ferry's configuration (DESIGN §7): an MM2 properties file read
 * the way java.util.Properties reads it, resolved against one declarative table of keys
 * (control/conf_table.h) into typed values, per-cluster librdkafka property lists and a list
 * of diagnostics.
 *
 * Types only (HAProxy "-t.h" rule): functions live in ferry/conf.h. Pure C11, no third-party
 * headers, so ferryd's dataplane can read its ferry.* keys without librdkafka or PCRE2 headers.
 */
#ifndef FERRY_CONF_T_H
#define FERRY_CONF_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Value types of the key table. Every value is trimmed first, as Kafka's ConfigDef does. */
enum ferry_conf_type {
	FERRY_CONF_T_STRING,    /**< free text */
	FERRY_CONF_T_LIST,      /**< comma-separated, items trimmed (ConfigDef LIST) */
	FERRY_CONF_T_BOOL,      /**< true | false, any case (ConfigDef BOOLEAN) */
	FERRY_CONF_T_INT,       /**< 32-bit decimal integer within [min, max] */
	FERRY_CONF_T_LONG,      /**< 64-bit decimal integer within [min, max] */
	FERRY_CONF_T_DOUBLE,    /**< decimal number within [min, max] */
	FERRY_CONF_T_ENUM,      /**< one of 'enums' ("a|b|c"), any case; kept in the table's case */
	FERRY_CONF_T_CLASS,     /**< a Java class name, one of 'enums' exactly */
	FERRY_CONF_T_PASSWORD,  /**< text never printed back */
	FERRY_CONF_T_SECONDS,   /**< integer seconds within [min, max] */
	FERRY_CONF_T_MS,        /**< integer milliseconds within [min, max] */
	FERRY_CONF_T_SIZE,      /**< bytes; suffix k, m or g (KiB, MiB, GiB) allowed */
	FERRY_CONF_T_HOSTPORTS, /**< comma-separated host:port (bootstrap.servers) */
	FERRY_CONF_T_IPV4,      /**< dotted-quad IPv4 address (the WAN transport is IPv4) */
	FERRY_CONF_T_LCORES,    /**< lcore ids and ranges: "1,2,4-7" */
	FERRY_CONF_T_DEVARGS,   /**< ';'-separated DPDK devargs: PCI address or vdev, ",k=v" args */
	FERRY_CONF_T_QMAP,      /**< WAN queue-to-lcore map: "port:queue@lcore, ..." */
	FERRY_CONF_T_FEC,       /**< "off" or "DATA+PARITY" packets per FEC group */
	FERRY_CONF_T_PASSTHRU,  /**< a family of client properties handed to librdkafka */
	FERRY_CONF_T__COUNT,
};

/** Where a key may be written. A key may allow several. */
#define FERRY_CONF_SC_GLOBAL  (1u << 0) /**< KEY */
#define FERRY_CONF_SC_FLOW    (1u << 1) /**< SRC->DST.KEY, overrides KEY for that flow (MM2) */
#define FERRY_CONF_SC_CLUSTER (1u << 2) /**< ALIAS.KEY, overrides KEY for that cluster */

/** Key flags. */
#define FERRY_CONF_F_PREFIX     (1u << 0) /**< 'name' is a family: any key starting with it */
#define FERRY_CONF_F_IGNORED    (1u << 1) /**< MM2 key ferry does not use: checked, warned */
#define FERRY_CONF_F_REGEX      (1u << 2) /**< LIST of Java regexes, each must compile */
#define FERRY_CONF_F_REQUIRED   (1u << 3) /**< must be set (not in fragment mode) */
#define FERRY_CONF_F_MINUS1     (1u << 4) /**< -1 is also accepted (broker default) */
#define FERRY_CONF_F_DEPRECATED (1u << 5) /**< old MM2 name ferry refuses: use 'alt' */
#define FERRY_CONF_F_POW2       (1u << 6) /**< integer must be a power of two */

/** One key of the table (control/conf_table.h). */
struct ferry_conf_def {
	const char *name; /**< without placeholders: "topics", "bootstrap.servers" */
	enum ferry_conf_type type;
	unsigned scope;    /**< FERRY_CONF_SC_* */
	unsigned flags;    /**< FERRY_CONF_F_* */
	const char *def;   /**< default as written in a file; NULL: none */
	int64_t min, max;  /**< numeric range (inclusive); min > max: unchecked */
	const char *enums; /**< ENUM/CLASS values "a|b"; NULL otherwise */
	const char *alt;   /**< related key named in hints (replacement, ferry's word) */
	const char *desc;
};

enum ferry_conf_sev {
	FERRY_CONF_WARNING,
	FERRY_CONF_ERROR,
};

/** One finding. Strings are owned by the struct ferry_conf. line 0: the file as a whole. */
struct ferry_conf_diag {
	enum ferry_conf_sev sev;
	const char *file;
	unsigned line;
	const char *key; /**< the property key as written ("london->singapore.topics") */
	const char *msg;
	const char *hint; /**< NULL when there is nothing to suggest */
};

/** One property as read from the file (after escapes; the last duplicate wins). */
struct ferry_conf_prop {
	char *key;
	char *value;    /**< untrimmed, as Properties.load returns it */
	unsigned line;  /**< physical line where the logical line starts */
	unsigned flags; /**< private to conf.c */
};

/** A replication flow: every ordered pair of distinct clusters, as MM2 enumerates them. */
struct ferry_conf_flow {
	const char *source;
	const char *target;
	bool enabled;  /**< SRC->DST.enabled (default false) */
	unsigned line; /**< line of SRC->DST.enabled, 0 if not set */
};

/** librdkafka client roles. */
enum ferry_conf_role {
	FERRY_CONF_ROLE_CONSUMER,
	FERRY_CONF_ROLE_PRODUCER,
	FERRY_CONF_ROLE_ADMIN,
	FERRY_CONF_ROLE__COUNT,
};

/** One librdkafka property derived from the file, with the key and line it came from. */
struct ferry_conf_kv {
	const char *name; /**< librdkafka name */
	const char *value;
	const char *key; /**< the property key it came from */
	unsigned line;
};

/** Load flags. */
#define FERRY_CONF_LOAD_FRAGMENT                                                                   \
	(1u << 0) /**< a partial file (hw/ profiles): no whole-file checks */

struct ferry_conf; /* opaque: ferry/conf.h */

#endif /* FERRY_CONF_T_H */
