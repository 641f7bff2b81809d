/*
 * mm2_sync.h - the pure decisions of MM2's topic config and topic ACL sync
 * (MirrorSourceConnector.syncTopicConfigs / syncTopicAcls, Kafka 3.x), over plain structs so
 * that a unit test can check them against MM2's rules without a cluster. The librdkafka side
 * (DescribeConfigs -> AlterConfigs, DescribeAcls -> CreateAcls) is in topic_sync.c.
 *
 * Field names and enum values are Kafka's (DescribeConfigs / DescribeAcls / CreateAcls wire
 * values), which are also the values of librdkafka's rd_kafka_ConfigSource_t,
 * rd_kafka_ResourceType_t, rd_kafka_ResourcePatternType_t, rd_kafka_AclOperation_t and
 * rd_kafka_AclPermissionType_t, so the librdkafka side converts by a cast.
 *
 * Pure functions: no I/O, no allocation, any thread.
 */
#ifndef FERRY_CONTROL_MM2_SYNC_H
#define FERRY_CONTROL_MM2_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/mm2-t.h"

/** DescribeConfigs v1+ ConfigSource. */
enum ferry_config_source {
	FERRY_CONFIG_SOURCE_UNKNOWN = 0,
	FERRY_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG = 1,
	FERRY_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG = 2,
	FERRY_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG = 3,
	FERRY_CONFIG_SOURCE_STATIC_BROKER_CONFIG = 4,
	FERRY_CONFIG_SOURCE_DEFAULT_CONFIG = 5,
	FERRY_CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER_CONFIG = 6,
};

/** One entry of a DescribeConfigs result for a topic (strings owned by the caller). */
struct ferry_mm2_config_entry {
	const char *Name;
	const char *Value;   /**< NULL for a sensitive entry */
	int8_t ConfigSource; /**< enum ferry_config_source */
	bool ReadOnly;
	bool IsSensitive;
};

/**
 * Whether a source topic's config entry is copied to the remote topic. 'copy' is
 * config.properties.exclude as a filter (ferry_mm2_config_filter_new()): a name it does not
 * match is excluded (MM2's DefaultConfigPropertyFilter). Kept: not read-only, not sensitive,
 * set on the topic itself (DYNAMIC_TOPIC_CONFIG: MM2's "not isDefault()" as far as the
 * topic is concerned; the source cluster's broker-wide settings are its own policy, not the
 * topic's), name not excluded.
 */
bool ferry_mm2_config_keep(const struct ferry_mm2_filter *copy,
			   const struct ferry_mm2_config_entry *e);

/**
 * The config-name filter: matches every name except those the exclude regex list matches
 * (whole-name Java regex match, as MM2). NULL with a message on a bad regex.
 */
struct ferry_mm2_filter *ferry_mm2_config_filter_new(const char *const *exclude, size_t n,
						     char *err, size_t errlen);

/** DescribeAcls / CreateAcls ResourceType. */
enum ferry_acl_resource {
	FERRY_ACL_RESOURCE_UNKNOWN = 0,
	FERRY_ACL_RESOURCE_ANY = 1,
	FERRY_ACL_RESOURCE_TOPIC = 2,
	FERRY_ACL_RESOURCE_GROUP = 3,
	FERRY_ACL_RESOURCE_CLUSTER = 4,
};

/** PatternType. */
enum ferry_acl_pattern {
	FERRY_ACL_PATTERN_UNKNOWN = 0,
	FERRY_ACL_PATTERN_ANY = 1,
	FERRY_ACL_PATTERN_MATCH = 2,
	FERRY_ACL_PATTERN_LITERAL = 3,
	FERRY_ACL_PATTERN_PREFIXED = 4,
};

/** Operation (the ones MM2's rule looks at; others pass through unchanged). */
enum ferry_acl_operation {
	FERRY_ACL_OP_UNKNOWN = 0,
	FERRY_ACL_OP_ANY = 1,
	FERRY_ACL_OP_ALL = 2,
	FERRY_ACL_OP_READ = 3,
	FERRY_ACL_OP_WRITE = 4,
};

/** PermissionType. */
enum ferry_acl_permission {
	FERRY_ACL_PERM_UNKNOWN = 0,
	FERRY_ACL_PERM_ANY = 1,
	FERRY_ACL_PERM_DENY = 2,
	FERRY_ACL_PERM_ALLOW = 3,
};

/** One ACL binding (strings owned by the caller). */
struct ferry_mm2_acl {
	int8_t ResourceType; /**< enum ferry_acl_resource */
	const char *ResourceName;
	int8_t PatternType; /**< enum ferry_acl_pattern */
	const char *Principal;
	const char *Host;
	int8_t Operation;      /**< enum ferry_acl_operation */
	int8_t PermissionType; /**< enum ferry_acl_permission */
};

/**
 * MirrorSourceConnector.syncTopicAcls for one source binding whose topic the flow
 * replicates (the caller checks shouldReplicateTopic): only TOPIC resources with a LITERAL
 * pattern (MM2 drops PREFIXED and the rest: a prefix does not map to remote names under the
 * Default policy), never ALLOW WRITE (nobody but the replicator writes a remote topic), ALLOW
 * ALL becomes ALLOW READ, everything else (DENY included) is copied as is; the resource
 * becomes the remote topic name by the policy. Returns 1 with *out filled (ResourceName
 * points at 'remote'), 0 when MM2 would not copy it, -ENAMETOOLONG / -EINVAL.
 */
int ferry_mm2_acl_translate(const struct ferry_mm2_policy *p, const char *source_alias,
			    const struct ferry_mm2_acl *in, struct ferry_mm2_acl *out, char *remote,
			    size_t cap);

#endif /* FERRY_CONTROL_MM2_SYNC_H */
