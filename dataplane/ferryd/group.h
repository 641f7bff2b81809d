/*
 * group.h - several gateway pairs per flow (group.c): a consumer group on the source cluster
 * decides which source gateway replicates which partition. Control thread only.
 */
#ifndef FERRY_FERRYD_GROUP_H
#define FERRY_FERRYD_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct ferryd_ctl;

struct ferryd_group {
	struct ferryd_ctl *c;
	rd_kafka_t *rk;
	const char *id;
	rd_kafka_topic_partition_list_t *owned; /* the assignment in force; NULL: none */
	rd_kafka_topic_partition_list_t *subscribed;
	bool revoked; /* partitions were taken away since the last ferryd_group_take_revoked() */
	bool leaving; /* ferryd_group_fini: the revoke is this gateway's own departure */
	/* called from the revoke callback before the group may hand the partitions on: the
	 * running session sends nothing new and waits for everything sent to be committed */
	void (*drain)(void *arg);
	void *drain_arg;
	int64_t next_poll; /* ms: the group is served every POLL_MS, not every loop turn */
};

/** Join group 'id' of the flow's source cluster. Nothing is assigned before the first poll. */
int ferryd_group_init(struct ferryd_group *g, struct ferryd_ctl *c, const char *id,
		      int session_timeout_ms, char *err, size_t errlen);
/** Subscribe to the source topics of the partition table (again only when they changed). */
int ferryd_group_subscribe(struct ferryd_group *g, char *err, size_t errlen);
/** Serve the group's callbacks (assign, revoke); waits up to timeout_ms. */
void ferryd_group_poll(struct ferryd_group *g, int timeout_ms);
/** Whether an assignment is in force (the gateway may start a session). */
bool ferryd_group_assigned(const struct ferryd_group *g);
/** Whether this gateway owns topic/partition in the assignment in force. */
bool ferryd_group_owns(const struct ferryd_group *g, const char *topic, int32_t partition);
/** True once after partitions were revoked (the session must end). */
bool ferryd_group_take_revoked(struct ferryd_group *g);
/** Leave the group (its partitions move to the other gateways at once) and free. */
void ferryd_group_fini(struct ferryd_group *g);

#endif /* FERRY_FERRYD_GROUP_H */
