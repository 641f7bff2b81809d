/*
 * ctl.h - ferryd's control thread work on the Kafka side (ctl.c): partition tables from
 * metadata, leader updates for the io lcore, the target's offset-syncs and COMMITs, the
 * source's progress, MM2 heartbeats and checkpoints. Control thread only.
 */
#ifndef FERRY_FERRYD_CTL_H
#define FERRY_FERRYD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferryd.h"
#include "mm2.h"
#include "offsets.h"

struct ferry_wan_keychan;

struct ferryd_ctl {
	struct ferryd *fd;
	struct ferry_mm2_flow flow;
	bool flow_ok;
	const char *rules_file;
	/* topic decisions (the rules file's topic lists) */
	struct ferry_policy_snapshot *snap;
	struct ferry_policy_topics topics;
	char denied_logged[64][FERRYD_TOPIC_MAX + 1];
	unsigned n_denied_logged;
	/* target */
	struct ferry_osync_store *osync;
	struct ferry_mm2_offset_sync *syncs;
	size_t cap_syncs;
	uint32_t *done;      /* slot indices taken from slot_done this round */
	size_t ns;           /* syncs computed and not yet written (exactly-once: this txn's) */
	uint32_t *txn_slots; /* exactly-once: slots of the open transaction (n_slots of them) */
	uint32_t n_txn_slots;
	bool reload;         /* exactly-once: reload the offset-syncs at the next session */
	unsigned abort_streak; /* exactly-once: transactions aborted since the last commit */
	bool *commit_dirty;  /* per partition: a COMMIT is owed */
	struct ferry_ckpt_state *ckst;
	bool shared_flow;    /* ferry.group.id: other gateway pairs write syncs of this flow too */
	/* source */
	bool resume_done; /* the RESUME set of this session arrived */
	bool new_topics;  /* the topic refresh found partitions the table lacks: restart */
	int64_t next_topics;
	/* schedules (ms, CLOCK_REALTIME) */
	int64_t next_hb, next_ckpt, next_meta, next_progress;
	uint64_t hb_count, ckpt_count;
};

int ferryd_ctl_init(struct ferryd_ctl *c, struct ferryd *fd, char *err, size_t errlen);
void ferryd_ctl_fini(struct ferryd_ctl *c);
/** Topics and partitions of the flow, appended to the table; leaders and brokers sent to io.
 *  Call while the io lcore is parked (the table grows). */
int ferryd_ctl_tables(struct ferryd_ctl *c, char *err, size_t errlen);
/** Leaders only (io lcore running): metadata, then updates through the ring. */
int ferryd_ctl_leaders(struct ferryd_ctl *c, char *err, size_t errlen);
/** Target: rebuild the offset-sync map from the offset-syncs topic, set synced_next. */
int ferryd_ctl_target_load(struct ferryd_ctl *c, char *err, size_t errlen);
/** Target: whether the next session must reload the offset-syncs (an aborted transaction). */
bool ferryd_ctl_target_stale(struct ferryd_ctl *c);
/** Target: offset-syncs for written batches, COMMITs to the source. Exactly-once: the
 *  offset-syncs go to the io lcore's transaction; -ECANCELED when it was aborted (the session
 *  must restart so the source resends from the last COMMIT). */
int ferryd_ctl_target_drain(struct ferryd_ctl *c, struct ferry_wan_keychan *kc, char *err,
			    size_t errlen);
/** Target: whether everything accepted has been written and synced. */
bool ferryd_ctl_target_quiet(struct ferryd_ctl *c);
/** Target: send the RESUME set. */
int ferryd_ctl_target_resume(struct ferryd_ctl *c, struct ferry_wan_keychan *kc, char *err,
			     size_t errlen);
/** Source: handle one control message from the target. */
int ferryd_ctl_source_msg(struct ferryd_ctl *c, const uint8_t *p, size_t len, char *err,
			  size_t errlen);
/** Heartbeats, checkpoints, progress commits, leader refreshes, when due. */
void ferryd_ctl_periodic(struct ferryd_ctl *c, int64_t now_ms);
/** Rules changed: recompute topic decisions (new denied topics stop at the next session). */
int ferryd_ctl_rules(struct ferryd_ctl *c, char *err, size_t errlen);

int64_t ferryd_now_ms(void);

#endif /* FERRY_FERRYD_CTL_H */
