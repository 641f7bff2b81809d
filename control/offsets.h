/*
 * offsets.h - ferry's offset-sync map: which source offset became which target offset, built
 * from offset-syncs in MM2's format (one set per replicated batch, see offsets.c for the exact
 * rule) and used to translate consumer-group offsets exactly and to say where to resume.
 *
 * Control thread only: a store is not locked. The data path reports batches through
 * ferry_osync_from_batch() via the control channel; nothing here blocks or does I/O.
 */
#ifndef FERRY_OFFSETS_H
#define FERRY_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/mm2-t.h"

struct ferry_osync_store; /* opaque */

/**
 * One replicated batch as the data path reports it once the target acknowledged it:
 * the source range it covered (dropped and denied records included), the base offset the
 * target assigned, and the source offsets of the records actually written, in order.
 */
struct ferry_osync_batch {
	const char *topic; /**< source topic */
	int32_t partition;
	int64_t src_base; /**< first source offset the batch covered */
	int64_t src_last; /**< last source offset the batch covered */
	int64_t tgt_base; /**< BaseOffset assigned by the target; unused when n_repl == 0 */
	/** Source offsets of the records written to the target, ascending, inside
	 *  [src_base, src_last]. NULL: every offset of [src_base, src_last] was written. */
	const int64_t *repl;
	uint32_t n_repl; /**< records written (with repl NULL: src_last - src_base + 1) */
};

/** What a translation is worth. */
enum ferry_xlate {
	FERRY_XLATE_EXACT, /**< target offset of the first replicated record at or after g */
	/** g is past everything replicated so far: the answer is the next target offset, and
	 *  records of [replicated-up-to, g) may still arrive there later (re-read once). */
	FERRY_XLATE_AHEAD,
};

/** Per-partition summary (status, resume). */
struct ferry_osync_part_info {
	const char *topic;
	int32_t partition;
	size_t n_syncs;
	int64_t oldest_upstream; /**< translations below this are impossible */
	int64_t resume;          /**< next source offset to fetch: last upstream + 1 */
	int64_t last_downstream; /**< target offset of the last record written */
};

/** A store keeping at most 'max_per_partition' syncs per partition (0: 1 << 20). */
struct ferry_osync_store *ferry_osync_store_new(size_t max_per_partition);
void ferry_osync_store_free(struct ferry_osync_store *s);

/**
 * Add one sync (as written, or read back from the offset-syncs topic in order). A sync whose
 * upstream is not above the partition's last one means the source was rewound: later syncs
 * are forgotten. One whose downstream is below the last means the target was truncated: the
 * partition's history is reset. Returns 0 or -ENOMEM / -EINVAL (negative offsets).
 */
int ferry_osync_store_add(struct ferry_osync_store *s, const char *topic, int32_t partition,
			  int64_t upstream, int64_t downstream);

/** How many syncs ferry_osync_from_batch() may emit for a batch: 2 * n_repl + 1. */
size_t ferry_osync_batch_max(const struct ferry_osync_batch *b);

/**
 * Turn a replicated batch into the offset-syncs to write (into out[], at most 'cap'), and add
 * them to the store. Spans in out[] point at b->topic. Returns how many, or -EINVAL (offsets
 * out of order or outside the range), -ENOSPC, -ENOMEM.
 */
int ferry_osync_from_batch(struct ferry_osync_store *s, const struct ferry_osync_batch *b,
			   struct ferry_mm2_offset_sync *out, size_t cap);

/**
 * Translate a committed source offset 'upstream' of topic/partition into the target offset a
 * consumer must start from so it misses nothing and repeats nothing. 0 with *downstream and
 * *how set; -ENOENT when the partition has no sync; -ERANGE when 'upstream' is older than the
 * oldest sync kept.
 */
int ferry_osync_translate(const struct ferry_osync_store *s, const char *topic, int32_t partition,
			  int64_t upstream, int64_t *downstream, enum ferry_xlate *how);

/**
 * The reverse (failback): the source offset a consumer must start from on the source after it
 * committed target offset 'downstream' on the target: the source offset of the target record
 * at or after 'downstream', or the replication position when it is past everything written.
 * 0, -ENOENT (no sync) or -ERANGE (older than the oldest sync).
 */
int ferry_osync_reverse(const struct ferry_osync_store *s, const char *topic, int32_t partition,
			int64_t downstream, int64_t *upstream);

/** Next source offset to fetch after a restart, or -1 when the partition has no sync. */
int64_t ferry_osync_resume(const struct ferry_osync_store *s, const char *topic, int32_t partition);

/**
 * Source offsets of topic/partition that replication covered but did not write to the target
 * (records denied or dropped by policy; also offsets that hold no record on the source:
 * transaction markers, compaction gaps), counted exactly from the syncs kept, from the first
 * one on. Between consecutive syncs p -> s (offsets.c writes START/END per run of written
 * records and a DROP for a batch's unwritten tail):
 *   s a DROP                      s.u - p.u  (nothing in (p.u, s.u] was written)
 *   p a DROP                      s.u - p.u - 1  (s starts the next run)
 *   s.u - p.u == s.d - p.d        0  (the END of p's run, or a new run right after it)
 *   otherwise                     s.u - p.u - 1  (s starts a new run after a gap)
 * Target offsets that hold no record of ours (an EOS commit marker) only widen s.d - p.d,
 * which the last rule does not read: they are not counted. Offsets before the first sync are
 * not counted here; *first_upstream (may be NULL) says where the syncs start so the caller
 * can add [where replication started, first_upstream). 0, or -ENOENT (no sync).
 */
int ferry_osync_dropped(const struct ferry_osync_store *s, const char *topic, int32_t partition,
			int64_t *dropped, int64_t *first_upstream);

/** Partitions known, in (topic, partition) order. Returns the count; 'info' may be NULL. */
size_t ferry_osync_parts(const struct ferry_osync_store *s, struct ferry_osync_part_info *info,
			 size_t cap);

#endif /* FERRY_OFFSETS_H */
