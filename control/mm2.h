/*
 * mm2.h - the MM2-compatible control plane of one replication flow (SRC->DST): its settings
 * resolved from the configuration, the librdkafka clients it uses, and the periodic tasks:
 * offset-syncs out and back in (mm2_kafka.c), checkpoints and group offset sync
 * (checkpoint.c), heartbeats and link health (heartbeat.c), topic discovery and creation
 * (topics.c). ferryctl status/translate/failover are built on the same calls (mm2_cmd.c).
 *
 * Control thread only. Calls block (bounded by timeouts) on librdkafka; nothing here is on
 * the data path, which reports replicated batches through ferry_osync_from_batch() and
 * ferry_mm2_syncs_write().
 *
 * Errors: 0 or -errno with a message naming cluster, topic, partition and group in 'err'.
 */
#ifndef FERRY_CONTROL_MM2_H
#define FERRY_CONTROL_MM2_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ferry/conf.h"
#include "ferry/mm2.h"
#include "offsets.h"

/** Client roles a flow keeps open, per cluster. */
enum ferry_mm2_client {
	FERRY_MM2_PRODUCER,
	FERRY_MM2_READER, /**< consumer without a group: assign + read to the end */
	FERRY_MM2_CLIENT__COUNT,
};

struct ferry_mm2_flow {
	const struct ferry_conf *conf;
	int flow; /**< index in ferry_conf_flows() */
	const char *source, *target;
	struct ferry_mm2_policy policy;
	struct ferry_mm2_filter *topics, *groups;
	bool heartbeats_replication;
	bool emit_heartbeats, emit_checkpoints, sync_group_offsets;
	int64_t heartbeats_interval_ms, checkpoints_interval_ms, sync_group_offsets_interval_ms,
	    refresh_topics_interval_ms;
	int replication_factor;
	/** offset-syncs.topic.location: the cluster holding the offset-syncs topic. */
	const char *syncs_cluster;
	char syncs_topic[FERRY_MM2_TOPIC_MAX + 1];
	/** <source>.checkpoints.internal, on the target. */
	char checkpoints_topic[FERRY_MM2_TOPIC_MAX + 1];
	int timeout_ms; /**< every blocking call, default 10000 */
	/** Warnings (degraded features) go here; NULL: stderr. */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
	/** Residency filter on top of `topics` (the rules file's topic decision): a topic it
	 *  refuses is neither listed nor created on the target. NULL: none. */
	bool (*topic_allow)(void *arg, const char *topic);
	bool warned_no_list_groups; /* the ListGroups fallback is said once, not every round */
	void *topic_allow_arg;
	/* Topic config and ACL sync (topic_sync.c): sync.topic.{configs,acls}.enabled and
	 * .interval.seconds, when each is next due (0: now), and config.properties.exclude. */
	bool sync_topic_configs, sync_topic_acls;
	int64_t sync_topic_configs_interval_ms, sync_topic_acls_interval_ms;
	int64_t next_configs_ms, next_acls_ms;
	struct ferry_mm2_filter *config_copy;
	/* A cluster without the admin API (the mock) is said once per flow and kind, then the
	 * sync keeps its interval: one refused request per interval, no retry storm. */
	bool warned_configs_api, warned_acls_api;
	/* Identity policy with the reverse flow enabled: the topics the reverse flow wrote into
	 * this flow's source, read from the reverse flow's offset-syncs (ferry_mm2_topics_list
	 * uses it when its caller passes no provenance). NULL otherwise. */
	struct ferry_mm2_provenance *auto_prov;
	const char *rev_syncs_cluster;                  /* where the reverse flow's syncs are */
	char rev_syncs_topic[FERRY_MM2_TOPIC_MAX + 1];  /* their topic */
	struct ferry_mm2_policy rev_policy;             /* the reverse flow's naming */
	int64_t rev_syncs_next;                         /* next offset to read there */
	rd_kafka_t *clients[2][FERRY_MM2_CLIENT__COUNT]; /* [0] source, [1] target; lazy */
	/* Delivery states of produce calls that timed out with reports still owed: the
	 * producer may report those messages any time later (a broker that comes back), so
	 * the state outlives the call and is freed once complete or at fini (mm2_kafka.c). */
	struct ferry_mm2_dr *abandoned;
	/* ferry_mm2_produce_nowait(): failures seen so far, reported so far, the last error */
	uint64_t nowait_failed, nowait_reported;
	rd_kafka_resp_err_t nowait_err;
	/* heartbeats with ferry_mm2_produce_nowait(): a control thread that also serves a
	 * session (ferryd) must not block on a cluster that is down */
	bool heartbeats_nowait;
};

/** One committed group offset (source or target side). Strings owned by the caller. */
struct ferry_group_offset {
	const char *topic;
	int32_t partition;
	int64_t offset;       /**< next offset to consume; < 0: none committed */
	const char *metadata; /**< never NULL ("" when none) */
};

/** A list of group offsets that owns its strings. */
struct ferry_group_offsets {
	struct ferry_group_offset *o;
	size_t n;
	char *strings; /* private */
};

/* ---- flow (mm2_kafka.c) ---------------------------------------------------------------- */

/** Resolve flow 'flow' of 'c'. Fails with -EINVAL on a bad policy class or regex. */
int ferry_mm2_flow_init(struct ferry_mm2_flow *f, const struct ferry_conf *c, int flow, char *err,
			size_t errlen);
void ferry_mm2_flow_fini(struct ferry_mm2_flow *f);
/** printf-style warning through f->warn. */
__attribute__((format(printf, 2, 3))) void ferry_mm2_warn(const struct ferry_mm2_flow *f,
							  const char *fmt, ...);

/**
 * librdkafka handle for 'alias' (the flow's source or target) in a role, created on first use
 * from the cluster's client properties. Owned by the flow. NULL with a message in 'err'.
 */
rd_kafka_t *ferry_mm2_client(struct ferry_mm2_flow *f, const char *alias,
			     enum ferry_mm2_client role, char *err, size_t errlen);
/**
 * A consumer in group 'group' on 'alias' (not subscribed: used for OffsetFetch/OffsetCommit
 * only). The caller destroys it with rd_kafka_destroy().
 */
rd_kafka_t *ferry_mm2_group_client(struct ferry_mm2_flow *f, const char *alias, const char *group,
				   char *err, size_t errlen);
typedef void ferry_mm2_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
				    rd_kafka_topic_partition_list_t *parts, void *opaque);
/**
 * A consumer in group 'group' on 'alias' for partition assignment only (ferryd's several
 * gateway pairs per flow): eager rebalancing, 'rebalance' called from rd_kafka_consumer_poll
 * with 'opaque'. The caller subscribes, serves it and destroys it.
 */
rd_kafka_t *ferry_mm2_assign_client(struct ferry_mm2_flow *f, const char *alias, const char *group,
				    int session_timeout_ms, ferry_mm2_rebalance_cb *rebalance,
				    void *opaque, char *err, size_t errlen);

/** 0 when the cluster 'rk' talks to names a controller (admin requests go there); -ENOTSUP
 *  with "cluster CLUSTER: API: ..." in 'err' when it names none within 2 s (the mock). */
int ferry_mm2_need_controller(rd_kafka_t *rk, const char *cluster, const char *api, char *err,
			      size_t errlen);

/** One record of an internal topic. */
struct ferry_mm2_rec {
	const void *key;
	size_t key_len;
	const void *value;
	size_t value_len;
	int64_t timestamp; /**< ms; 0: now */
	int64_t offset;    /**< when read */
};

/** Produce records to topic/partition on 'alias' and wait for all acknowledgements. */
int ferry_mm2_produce(struct ferry_mm2_flow *f, const char *alias, const char *topic,
		      int32_t partition, const struct ferry_mm2_rec *recs, size_t n, char *err,
		      size_t errlen);
/**
 * Queue records to topic/partition on 'alias' and return at once (never blocks: a full queue
 * is an error). Their delivery is learnt later: a call reports, once, records of earlier calls
 * that were not delivered (-EIO with the count and the error), after queueing its own.
 */
int ferry_mm2_produce_nowait(struct ferry_mm2_flow *f, const char *alias, const char *topic,
			     int32_t partition, const struct ferry_mm2_rec *recs, size_t n,
			     char *err, size_t errlen);
/**
 * Read topic/partition on 'alias' from 'from' (or the beginning when < 0) to its end as it
 * was when the read started; cb() per record (returning non-zero stops). A topic that does not
 * exist reads as empty (returns 0, *exists = false when 'exists' is non-NULL).
 */
int ferry_mm2_read(struct ferry_mm2_flow *f, const char *alias, const char *topic,
		   int32_t partition, int64_t from,
		   int (*cb)(void *arg, const struct ferry_mm2_rec *r), void *arg, bool *exists,
		   char *err, size_t errlen);
/** Low and high watermarks of a partition. */
int ferry_mm2_watermarks(struct ferry_mm2_flow *f, const char *alias, const char *topic,
			 int32_t partition, int64_t *low, int64_t *high, char *err, size_t errlen);

/** Encode the syncs and produce them to the flow's offset-syncs topic (partition 0). */
int ferry_mm2_syncs_write(struct ferry_mm2_flow *f, const struct ferry_mm2_offset_sync *os,
			  size_t n, char *err, size_t errlen);
/**
 * Rebuild 's' from the offset-syncs topic (read from the start). *bad (may be NULL) counts
 * records that do not decode (skipped, as MM2's reader does).
 */
int ferry_mm2_syncs_load(struct ferry_mm2_flow *f, struct ferry_osync_store *s, size_t *bad,
			 char *err, size_t errlen);

/**
 * The source topics of the flow (metadata, flow filter, loop check) with their partition
 * counts. 'prov' NULL: the flow's own (Identity policy with the reverse flow enabled: what the
 * reverse flow's offset-syncs say it wrote into the source, refreshed first; failing to read
 * them fails the call, so that no replica is sent back). Frees with ferry_mm2_topics_free().
 */
struct ferry_mm2_topic {
	char *name;
	char *remote;
	int32_t partitions;
	int32_t remote_partitions; /**< -1: the remote topic does not exist (yet) */
};
int ferry_mm2_topics_list(struct ferry_mm2_flow *f, const struct ferry_mm2_provenance *prov,
			  struct ferry_mm2_topic **out, size_t *n, char *err, size_t errlen);
void ferry_mm2_topics_free(struct ferry_mm2_topic *t, size_t n);

/**
 * Committed offsets of 'group' on 'alias' for 'topics' (all partitions of each). Partitions
 * without a committed offset are left out.
 */
int ferry_mm2_group_offsets_fetch(struct ferry_mm2_flow *f, const char *alias, const char *group,
				  const struct ferry_mm2_topic *topics, size_t n_topics,
				  bool remote_names, struct ferry_group_offsets *out, char *err,
				  size_t errlen);
void ferry_group_offsets_free(struct ferry_group_offsets *go);

/**
 * Whether 'group' has members on 'alias'. 1 active, 0 not (empty, dead or unknown to the
 * cluster), -ENOTSUP when the cluster cannot describe groups (the mock), other -errno.
 */
int ferry_mm2_group_active(struct ferry_mm2_flow *f, const char *alias, const char *group,
			   char *state, size_t state_len, char *err, size_t errlen);
/**
 * Groups on 'alias' passing the flow's group filter. When the cluster cannot list groups
 * (the mock), the literal names of `groups` are used, with a warning. Free with
 * ferry_mm2_names_free().
 */
int ferry_mm2_groups_list(struct ferry_mm2_flow *f, const char *alias, char ***names, size_t *n,
			  char *err, size_t errlen);
void ferry_mm2_names_free(char **names, size_t n);

/**
 * Commit offsets for an inactive group on 'alias' (OffsetCommit as a simple consumer:
 * generation -1, no member id, which Kafka refuses for a group with members). Refuses with
 * -EBUSY when the group is active. With 'only_forward', partitions whose committed offset is
 * already at or past the new one are left alone (sync.group.offsets semantics).
 * *committed (may be NULL) gets how many partitions were written.
 */
int ferry_mm2_group_commit(struct ferry_mm2_flow *f, const char *alias, const char *group,
			   const struct ferry_group_offset *o, size_t n, bool only_forward,
			   size_t *committed, char *err, size_t errlen);

/* ---- checkpoints (checkpoint.c) -------------------------------------------------------- */

/** One checkpoint as ferry computes it (strings owned by the struct). */
struct ferry_ckpt {
	char group[256];
	char topic[FERRY_MM2_TOPIC_MAX + 1]; /**< target-side name */
	int32_t partition;
	int64_t upstream, downstream;
	char *metadata;
	enum ferry_xlate how;
};

struct ferry_ckpt_list {
	struct ferry_ckpt *c;
	size_t n, cap;
};
void ferry_ckpt_list_free(struct ferry_ckpt_list *l);

/** Last checkpoint per (group, topic, partition): MM2 emits only newer ones. */
struct ferry_ckpt_state;
struct ferry_ckpt_state *ferry_ckpt_state_new(void);
void ferry_ckpt_state_free(struct ferry_ckpt_state *st);

/**
 * Translate 'group's source offsets into checkpoints through 's'. Offsets that cannot be
 * translated (no sync, older than the oldest) are skipped and counted in *skipped (may be
 * NULL). With 'st', only checkpoints newer than the last for that partition (downstream
 * advanced or upstream rewound) are added, and 'st' is updated.
 */
int ferry_ckpt_translate(const struct ferry_mm2_flow *f, const struct ferry_osync_store *s,
			 struct ferry_ckpt_state *st, const char *group,
			 const struct ferry_group_offset *o, size_t n, struct ferry_ckpt_list *out,
			 size_t *skipped, char *err, size_t errlen);
/** Produce checkpoints to <source>.checkpoints.internal on the target. */
int ferry_ckpt_write(struct ferry_mm2_flow *f, const struct ferry_ckpt_list *l, char *err,
		     size_t errlen);
/**
 * Read <source>.checkpoints.internal on the target; keep the newest per (group, topic,
 * partition) for 'group' (NULL: all groups), as RemoteClusterUtils.translateOffsets does.
 */
int ferry_ckpt_load(struct ferry_mm2_flow *f, const char *group, struct ferry_ckpt_list *out,
		    size_t *bad, char *err, size_t errlen);

/** What one checkpoint round did. */
struct ferry_ckpt_round {
	size_t groups;        /**< groups looked at */
	size_t checkpoints;   /**< checkpoints written */
	size_t skipped;       /**< offsets not translatable */
	size_t synced;        /**< target partitions committed (sync.group.offsets) */
	size_t groups_active; /**< groups skipped for sync because active on the target */
};
/**
 * One checkpoint round (every emit.checkpoints.interval.seconds): list groups on the source,
 * fetch their committed offsets, translate through 's', write the new checkpoints, and when
 * sync.group.offsets.enabled commit them on the target for groups not active there.
 * 'extra_groups' (may be NULL) are looked at too when the source cannot list groups.
 */
int ferry_ckpt_round(struct ferry_mm2_flow *f, const struct ferry_osync_store *s,
		     struct ferry_ckpt_state *st, const char *const *extra_groups, size_t n_extra,
		     struct ferry_ckpt_round *res, char *err, size_t errlen);

/* ---- heartbeats (heartbeat.c) ---------------------------------------------------------- */

/**
 * Write Heartbeat(source, target, now_ms) into `heartbeats` on 'into' (MM2's herder for a
 * pair writes into that pair's target; ferry writes both directions of its pair).
 */
int ferry_hb_emit(struct ferry_mm2_flow *f, const char *into, const char *source,
		  const char *target, int64_t now_ms, char *err, size_t errlen);

/** Replication health of the flow from the source's heartbeats as replicated to the target. */
struct ferry_hb_health {
	bool seen;         /**< a replicated heartbeat was found */
	int64_t newest_ts; /**< newest heartbeat timestamp in <source>.heartbeats */
	int64_t age_ms;    /**< now - newest_ts: the link's replication delay bound */
	uint64_t count;    /**< heartbeats read */
	bool healthy;      /**< age within 3 heartbeat intervals */
	char origin[128];  /**< sourceClusterAlias of the newest one */
};
int ferry_hb_health(struct ferry_mm2_flow *f, int64_t now_ms, struct ferry_hb_health *h, char *err,
		    size_t errlen);

/**
 * Bring f->auto_prov up to date from the reverse flow's offset-syncs (read incrementally).
 * A no-op unless the flow uses the Identity policy and its reverse flow is enabled.
 */
int ferry_mm2_provenance_refresh(struct ferry_mm2_flow *f, char *err, size_t errlen);

/* ---- topics (topics.c) ------------------------------------------------------------------ */

/** An admin error that means "this cluster does not do that" (the mock), not "that failed". */
bool ferry_mm2_admin_unsupported(rd_kafka_resp_err_t e);

/** What ferry_mm2_topics_sync() did. */
struct ferry_topics_round {
	size_t topics;       /**< source topics selected */
	size_t created;      /**< remote topics created (CreateTopics) */
	size_t auto_created; /**< remote topics left to auto-creation (no admin API) */
	size_t grown;        /**< remote topics given more partitions */
	size_t mismatched;   /**< remote topics with fewer partitions that could not grow */
};
/**
 * Discover the flow's source topics and make their remote topics exist on the target with the
 * same partition count (CreateTopics, CreatePartitions). When the target has no admin API
 * (the mock) degrade: warn once, trigger auto-creation through a metadata request, and count
 * mismatches. Internal topics (heartbeats, checkpoints, offset-syncs) are created the same way.
 * Then ferry_mm2_topic_meta_sync() (forced when a topic was created); its failures are warned,
 * not returned.
 */
int ferry_mm2_topics_sync(struct ferry_mm2_flow *f, const struct ferry_mm2_provenance *prov,
			  struct ferry_topics_round *res, char *err, size_t errlen);

/* ---- topic configs and ACLs (topic_sync.c) ---------------------------------------------- */

/** What one ferry_mm2_topic_meta_sync() did. */
struct ferry_topic_meta_round {
	bool configs_ran, acls_ran;   /**< the sync was due (or forced) and enabled */
	bool configs_unsupported;     /**< a cluster refused DescribeConfigs/AlterConfigs */
	bool acls_unsupported;        /**< a cluster refused DescribeAcls/CreateAcls */
	size_t topics;                /**< replicated topics whose remote topic exists */
	size_t configs_altered;       /**< remote topics given their source's configs */
	size_t configs_copied;        /**< config entries copied over all topics */
	size_t acls_seen;             /**< topic ACL bindings described on the source */
	size_t acls_created;          /**< bindings created on the target */
};
/**
 * MM2's topic config sync and topic ACL sync for the flow, each when enabled and due (its
 * interval since the last run) or when 'force'. Configs: DescribeConfigs of the source topics,
 * the entries ferry_mm2_config_keep() keeps, AlterConfigs on the remote topics (librdkafka
 * 2.0.2 has no IncrementalAlterConfigs: the set replaces the remote topic's overrides, as
 * MM2's legacy mode does). ACLs: DescribeAcls for TOPIC resources on the source,
 * ferry_mm2_acl_translate() for the replicated topics, CreateAcls on the target.
 * A cluster without these admin APIs degrades to one warning per flow and kind; the call
 * still returns 0 (res says so). Other failures: -EIO with cluster, topic and API in 'err'.
 * 'prov' as for ferry_mm2_topics_list(); 'res' may be NULL.
 */
int ferry_mm2_topic_meta_sync(struct ferry_mm2_flow *f, const struct ferry_mm2_provenance *prov,
			      int64_t now_ms, bool force, struct ferry_topic_meta_round *res,
			      char *err, size_t errlen);

#endif /* FERRY_CONTROL_MM2_H */
