/*
 * mm2_sync.c - which topic configs and which topic ACLs MM2 copies to the remote topic, and
 * how (see mm2_sync.h). Sources read: Kafka 3.x connect/mirror MirrorSourceConnector.java
 * (targetConfig, shouldReplicateAcl, targetAclBinding, syncTopicAcls) and
 * DefaultConfigPropertyFilter.java; kafka-wire-facts §6.5.
 *
 * Pure: no I/O, no allocation beyond the filter constructor; any thread.
 */
#include <errno.h>
#include <string.h>

#include "ferry/mm2.h"
#include "mm2_sync.h"

struct ferry_mm2_filter *
ferry_mm2_config_filter_new(const char *const *exclude, size_t n, char *err, size_t errlen)
{
	/* DefaultConfigPropertyFilter: copy a property unless the exclude list matches the
	 * whole name; the filter's include list "everything" expresses that. */
	static const char *const all[] = { ".*" };
	return ferry_mm2_filter_new(all, 1, exclude, n, err, errlen);
}

bool
ferry_mm2_config_keep(const struct ferry_mm2_filter *copy, const struct ferry_mm2_config_entry *e)
{
	if (e->Name == NULL || e->Name[0] == '\0')
		return false;
	/* A read-only entry cannot be altered, and a sensitive one is described without its
	 * value (MM2 filters both before altering). */
	if (e->ReadOnly || e->IsSensitive || e->Value == NULL)
		return false;
	/*
	 * Only what was set on the source topic itself. Everything else (a broker default, a
	 * static or dynamic broker setting) is what the source cluster gives every topic; the
	 * target cluster has its own, and copying them would pin the source's cluster policy
	 * onto the remote topic as topic overrides.
	 */
	if (e->ConfigSource != FERRY_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
		return false;
	return ferry_mm2_filter_match(copy, e->Name);
}

int
ferry_mm2_acl_translate(const struct ferry_mm2_policy *p, const char *source_alias,
			const struct ferry_mm2_acl *in, struct ferry_mm2_acl *out, char *remote,
			size_t cap)
{
	if (in->ResourceName == NULL || in->Principal == NULL || in->Host == NULL)
		return -EINVAL;
	/* syncTopicAcls: resourceType == TOPIC && patternType == LITERAL */
	if (in->ResourceType != FERRY_ACL_RESOURCE_TOPIC ||
	    in->PatternType != FERRY_ACL_PATTERN_LITERAL)
		return 0;
	/* shouldReplicateAcl: not (ALLOW and WRITE) */
	if (in->PermissionType == FERRY_ACL_PERM_ALLOW && in->Operation == FERRY_ACL_OP_WRITE)
		return 0;
	int rc = ferry_mm2_remote_topic(p, source_alias, in->ResourceName, remote, cap);
	if (rc < 0)
		return rc;
	*out = *in;
	out->ResourceName = remote;
	/* targetAclBinding: ALLOW ALL is downgraded to ALLOW READ (downgradeAllowAllACL keeps
	 * principal, host and permission). */
	if (in->PermissionType == FERRY_ACL_PERM_ALLOW && in->Operation == FERRY_ACL_OP_ALL)
		out->Operation = FERRY_ACL_OP_READ;
	return 1;
}
