/*
 * ferry/mm2.h - MirrorMaker 2 compatibility: encode and decode MM2's heartbeat, checkpoint and
 * offset-sync records byte for byte (kafka-wire-facts §6.3, vectors in §7), name topics the way
 * MM2's replication policies do (§6.1), and select topics and groups with MM2's filters.
 *
 * Thread-safety: the codec and naming functions are pure. A filter or provenance set is
 * immutable once built and may be shared between threads; build and free it on one thread.
 *
 * Errors: the codec returns 0 or a negative enum ferry_err; the constructors return NULL with a
 * message in 'err'; naming functions return 0 or -ENAMETOOLONG / -EINVAL.
 */
#ifndef FERRY_MM2_H
#define FERRY_MM2_H

#include <stddef.h>

#include "ferry/common-t.h"
#include "ferry/mm2-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- records -------------------------------------------------------------------------- */

/**
 * Encode a record's key and value into two writers. Strings must be non-null and at most
 * INT16_MAX bytes (FERRY_ERR__BAD_LENGTH); a writer that overflows gives FERRY_ERR__NOSPACE.
 */
int ferry_mm2_heartbeat_encode(const struct ferry_mm2_heartbeat *hb, struct ferry_wr *key,
			       struct ferry_wr *value);
int ferry_mm2_checkpoint_encode(const struct ferry_mm2_checkpoint *cp, struct ferry_wr *key,
				struct ferry_wr *value);
int ferry_mm2_offset_sync_encode(const struct ferry_mm2_offset_sync *os, struct ferry_wr *key,
				 struct ferry_wr *value);

/**
 * Decode a record's key and value. Spans in the result point into 'key' / 'value'.
 * Every read is bounds-checked: FERRY_ERR__TRUNCATED for a short field, FERRY_ERR__NULL_FIELD
 * for a null (-1) string and FERRY_ERR__BAD_LENGTH for another negative length (MM2's STRING
 * is not nullable),
 * FERRY_ERR__UNSUPPORTED_VERSION for a value version other than 0, FERRY_ERR__TRAILING for
 * bytes after the last field (MM2 never writes them; a record with them is not MM2's).
 */
int ferry_mm2_heartbeat_decode(struct ferry_span key, struct ferry_span value,
			       struct ferry_mm2_heartbeat *hb);
int ferry_mm2_checkpoint_decode(struct ferry_span key, struct ferry_span value,
				struct ferry_mm2_checkpoint *cp);
int ferry_mm2_offset_sync_decode(struct ferry_span key, struct ferry_span value,
				 struct ferry_mm2_offset_sync *os);

/**
 * Encode offset-syncs as ONE uncompressed v2 record batch (keys and values as above, timestamp
 * ts_ms, no producer id: the producer that writes it sets those), for a producer that writes
 * whole batches itself: ferryd writes them inside the target's transaction with the batches
 * they describe. *buf grows (realloc) as needed; *len gets the batch size. n >= 1.
 * 0, -ENOMEM, or a negative enum ferry_err from the record codec.
 */
int ferry_mm2_offset_syncs_batch(const struct ferry_mm2_offset_sync *os, size_t n, int64_t ts_ms,
				 uint8_t **buf, size_t *cap, size_t *len);

/** Bytes a record's key / value take once encoded (for sizing buffers). */
size_t ferry_mm2_heartbeat_key_size(const struct ferry_mm2_heartbeat *hb);
size_t ferry_mm2_checkpoint_key_size(const struct ferry_mm2_checkpoint *cp);
size_t ferry_mm2_offset_sync_key_size(const struct ferry_mm2_offset_sync *os);
#define FERRY_MM2_HEARTBEAT_VALUE_SIZE   10u
#define FERRY_MM2_OFFSET_SYNC_VALUE_SIZE 16u
size_t ferry_mm2_checkpoint_value_size(const struct ferry_mm2_checkpoint *cp);

/** A NUL-terminated string as a span (for building records from C strings). */
struct ferry_span ferry_mm2_str(const char *s);

/* ---- replication policy --------------------------------------------------------------- */

/**
 * Set up a policy. 'separator' NULL means "."; 'internal_sep' is
 * replication.policy.internal.topic.separator.enabled (true: internal topic names use the
 * separator too, Kafka >= 3.6 default). 'source_alias' is used by Identity's topicSource()
 * (may be NULL). -EINVAL for an empty or too long separator or alias.
 */
int ferry_mm2_policy_init(struct ferry_mm2_policy *p, enum ferry_mm2_policy_kind kind,
			  const char *separator, bool internal_sep, const char *source_alias);
/** Map replication.policy.class to a kind: 0, or -EINVAL for a class ferry does not know. */
int ferry_mm2_policy_kind_parse(const char *class_name, enum ferry_mm2_policy_kind *kind);

/** formatRemoteTopic: the topic's name on the target. */
int ferry_mm2_remote_topic(const struct ferry_mm2_policy *p, const char *source_alias,
			   const char *topic, char *out, size_t cap);
/**
 * topicSource: the cluster a topic was replicated from, written to 'out'. Returns 1 when the
 * topic is remote, 0 when it is not (MM2's null), or a negative errno.
 */
int ferry_mm2_topic_source(const struct ferry_mm2_policy *p, const char *topic, char *out,
			   size_t cap);
/** upstreamTopic: the name one hop upstream. 1, 0 (null: not remote) or a negative errno. */
int ferry_mm2_upstream_topic(const struct ferry_mm2_policy *p, const char *topic, char *out,
			     size_t cap);
/** originalTopic: follow upstreamTopic until the topic is not remote (multi-hop). */
int ferry_mm2_original_topic(const struct ferry_mm2_policy *p, const char *topic, char *out,
			     size_t cap);
/** The heartbeats topic name ("heartbeats"). */
const char *ferry_mm2_heartbeats_topic(const struct ferry_mm2_policy *p);
/** isHeartbeatsTopic: originalTopic(t) == "heartbeats". */
bool ferry_mm2_is_heartbeats_topic(const struct ferry_mm2_policy *p, const char *topic);
/** mm2-offset-syncs<S><alias><S>internal */
int ferry_mm2_offset_syncs_topic(const struct ferry_mm2_policy *p, const char *alias, char *out,
				 size_t cap);
/** <alias><S>checkpoints<S>internal */
int ferry_mm2_checkpoints_topic(const struct ferry_mm2_policy *p, const char *alias, char *out,
				size_t cap);
/** isInternalTopic: MM2 internal, Kafka internal (__x, .x) or a Connect topic (-internal). */
bool ferry_mm2_is_internal_topic(const struct ferry_mm2_policy *p, const char *topic);
bool ferry_mm2_is_mm2_internal_topic(const struct ferry_mm2_policy *p, const char *topic);
bool ferry_mm2_is_checkpoints_topic(const struct ferry_mm2_policy *p, const char *topic);

/**
 * MirrorSourceConnector.isCycle: the topic's source chain contains 'target'. With the Identity
 * policy the name carries no chain; pass the provenance of the source cluster (may be NULL):
 * a topic ferry wrote into the source from 'target' (or from a cluster whose own copy came
 * from 'target') is a cycle too.
 */
bool ferry_mm2_is_cycle(const struct ferry_mm2_policy *p, const char *topic, const char *target,
			const struct ferry_mm2_provenance *prov);

/**
 * MirrorSourceConnector.shouldReplicateTopic for flow source -> target: the topic passes the
 * flow's topic filter (or is a heartbeats topic and heartbeats replication is on), is not
 * internal and is not a cycle.
 */
bool ferry_mm2_should_replicate(const struct ferry_mm2_policy *p,
				const struct ferry_mm2_filter *topics, bool heartbeats_replication,
				const char *topic, const char *target,
				const struct ferry_mm2_provenance *prov);

/* ---- filters -------------------------------------------------------------------------- */

/**
 * Build a filter from include and exclude regex lists (MM2: the entries are joined with '|'
 * into one Java regex that must match the whole name; an empty include list matches
 * nothing, an empty exclude list excludes nothing). NULL with a message naming the bad
 * pattern in 'err' on a regex that does not compile.
 */
struct ferry_mm2_filter *ferry_mm2_filter_new(const char *const *include, size_t n_include,
					      const char *const *exclude, size_t n_exclude,
					      char *err, size_t errlen);
void ferry_mm2_filter_free(struct ferry_mm2_filter *f);
bool ferry_mm2_filter_match(const struct ferry_mm2_filter *f, const char *name);
/**
 * Names the include list spells literally (no regex metacharacters): the groups ferry can
 * still look at when a cluster cannot list groups (the mock). Returns how many; the strings
 * live as long as the filter.
 */
size_t ferry_mm2_filter_literals(const struct ferry_mm2_filter *f, const char *const **names);

/* ---- provenance (Identity policy loop prevention) ------------------------------------ */

struct ferry_mm2_provenance *ferry_mm2_provenance_new(void);
void ferry_mm2_provenance_free(struct ferry_mm2_provenance *pv);
/** Record that 'topic' on this cluster is a replica ferry wrote from cluster 'origin'. */
int ferry_mm2_provenance_add(struct ferry_mm2_provenance *pv, const char *topic,
			     const char *origin);
/** The cluster 'topic' came from, or NULL when it is not known to be a replica. */
const char *ferry_mm2_provenance_origin(const struct ferry_mm2_provenance *pv, const char *topic);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_MM2_H */
