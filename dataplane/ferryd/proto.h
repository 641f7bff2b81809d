/*
 * proto.h - what the two gateways say to each other, besides the WAN transport's own packets.
 *
 * Two kinds of message, both parsed from bytes the peer sent (bounds-checked, fuzzed in
 * tests/fuzz/fuzz_ferryd_proto.c):
 *
 *  - the batch descriptor, prefixed to every record batch a source gateway puts on a WAN lane
 *    (DESIGN §2 step 5): which source topic/partition and offsets the batch covers, which
 *    source offsets policy dropped from it, and the policy generation that decided;
 *  - control messages on the TLS key channel (APP messages, at most FERRY_WAN_KC_BODY_MAX
 *    bytes each): the target's RESUME positions when a session starts, and COMMITs, the
 *    target's word that everything of a partition below an offset is durably written (data and
 *    offset-syncs), the only thing that advances the source gateway's progress (DESIGN §2
 *    step 8).
 *
 * No DPDK, no threads: any thread may call these.
 */
#ifndef FERRY_FERRYD_PROTO_H
#define FERRY_FERRYD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/common-t.h"

#define FERRYD_DESC_MAGIC   0x4642 /* "FB" */
#define FERRYD_DESC_VERSION 1
#define FERRYD_TOPIC_MAX    249
/** Dropped offsets a descriptor lists; more and the target writes a coarse offset-sync. */
#define FERRYD_DESC_DROPS_MAX 4096

enum ferryd_desc_kind {
	FERRYD_DESC_DATA = 0, /**< a record batch follows */
	FERRYD_DESC_SKIP = 1, /**< no batch: policy dropped every record, or quarantined it */
};

/** Batch descriptor as sent (big-endian on the wire). */
struct ferryd_desc {
	uint8_t kind;
	uint8_t drops_exact; /**< 1: drops[] lists every dropped record; 0: the list is partial */
	uint16_t topic_len;
	int32_t partition;
	int64_t src_first; /**< first source offset the batch covered */
	int64_t src_last;  /**< last source offset it covered */
	uint64_t generation; /**< policy generation */
	uint32_t n_drops;
	const char *topic;      /**< points into the message when decoded */
	const uint8_t *drops;   /**< n_drops x u32 BE offset deltas from src_first (decoded) */
	struct ferry_span batch; /**< the record batch (DATA), empty for SKIP */
};

/** Fixed part of a descriptor on the wire. */
#define FERRYD_DESC_FIXED (2 + 1 + 1 + 1 + 1 + 2 + 4 + 8 + 8 + 8 + 4)

size_t ferryd_desc_size(uint16_t topic_len, uint32_t n_drops);
/** Encode the descriptor (without the batch) into out[cap]; returns bytes or -ENOSPC/-EINVAL. */
int ferryd_desc_encode(const struct ferryd_desc *d, const uint32_t *drop_deltas, uint8_t *out,
		       size_t cap);
/** Decode a lane payload; the batch is what follows the descriptor. 0 or -EBADMSG (err says). */
int ferryd_desc_decode(const uint8_t *p, size_t len, struct ferryd_desc *d, char *err,
		       size_t errlen);

/* ---- control messages --------------------------------------------------------------------- */

enum ferryd_msg_type {
	FERRYD_MSG_RESUME = 1, /**< T->S: where each partition resumes; last one has flags & 1 */
	FERRYD_MSG_COMMIT = 2, /**< T->S: partitions durably written up to next_offset */
};

struct ferryd_pos {
	struct ferry_span topic;
	int32_t partition;
	int64_t offset; /**< RESUME: next source offset to send; COMMIT: next offset not yet written */
};

#define FERRYD_MSG_MAX_POS 64

struct ferryd_msg {
	uint8_t type;
	uint8_t flags; /**< RESUME: 1 = last message of the set */
	uint16_t n;
	struct ferryd_pos pos[FERRYD_MSG_MAX_POS];
};

/** Bytes one position takes in a message. */
static inline size_t
ferryd_pos_size(size_t topic_len)
{
	return 2 + topic_len + 4 + 8;
}
#define FERRYD_MSG_HDR 4

int ferryd_msg_encode(const struct ferryd_msg *m, uint8_t *out, size_t cap);
int ferryd_msg_decode(const uint8_t *p, size_t len, struct ferryd_msg *m, char *err, size_t errlen);

#endif /* FERRY_FERRYD_PROTO_H */
