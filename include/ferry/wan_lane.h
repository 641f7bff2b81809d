/*
 * ferry/wan_lane.h - WAN lane reliability and rate control (DESIGN §6, issue 5): the ACK
 * payload codec, the per-lane sender (fragmentation, SACK processing, loss detection, RTO,
 * completion), the per-lane receiver (duplicate suppression, bounded out-of-order buffer,
 * in-order reassembly, ACK generation) and the BBR-like rate controller with its pacer.
 *
 * Pure logic: no clock reads, no I/O, no allocation after _create. Time is passed in by the
 * caller as nanoseconds on any monotonic clock. The caller (the DPDK glue) drives it:
 *
 *   sender:   _push(batch) ... loop { _poll(now, pn) -> frag: frame, seal, send } ;
 *             on an ACK packet: ferry_wan_ack_decode() then _on_ack(); _done() -> cookies;
 *             sleep until _next_event().
 *   receiver: on a DATA packet (authenticated): _input(); _next_batch() -> consumer;
 *             consumer done: _release(); if _ack_due(now): _build_ack() -> encode, send;
 *             sleep until _ack_deadline().
 *
 * @locality lcore: one lane's sender and receiver belong to the worker that owns the lane.
 */
#ifndef FERRY_WAN_LANE_H
#define FERRY_WAN_LANE_H

#include "ferry/wan_lane-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ACK codec (ack.c) ----------------------------------------------------------------- */

/**
 * Encode an ACK payload into w (layout in wan_lane-t.h). The ranges may be given in any
 * order; they are written sorted. Returns 0, FERRY_ERR__INVALID_ARG if the ranges are empty,
 * overlap, touch, lie at or below cum_seq or are too many, FERRY_ERR__NOSPACE on overflow.
 */
int ferry_wan_ack_encode(struct ferry_wr *w, const struct ferry_wan_ack *ack);

/**
 * Decode an ACK payload. Returns 0, or FERRY_ERR__TRUNCATED, FERRY_ERR__TRAILING,
 * FERRY_ERR__BAD_LENGTH (too many ranges) or FERRY_ERR__INVALID_ARG (an empty, unsorted,
 * overlapping or adjacent range, or one not above cum_seq) with a message in err.
 */
int ferry_wan_ack_decode(struct ferry_span in, struct ferry_wan_ack *ack, char *err,
			 size_t errlen);

/** The checks of ferry_wan_ack_decode() on a struct (ranges must already be sorted). */
int ferry_wan_ack_check(const struct ferry_wan_ack *ack, char *err, size_t errlen);

/* ---- rate control (rate.c) ------------------------------------------------------------- */

/** Fill defaults and check. 0 or -EINVAL with a message. */
int ferry_wan_rate_init(struct ferry_wan_rate *rc, const struct ferry_wan_rate_conf *conf,
			uint64_t now, char *err, size_t errlen);

/** A packet of 'bytes' wire bytes leaves now with 'inflight' bytes already in flight. */
void ferry_wan_rate_on_send(struct ferry_wan_rate *rc, uint64_t now, uint32_t bytes,
			    uint64_t inflight, struct ferry_wan_rate_pkt *pkt);

/** An ACK was processed: take the delivery-rate sample, update the model and the gains. */
void ferry_wan_rate_on_ack(struct ferry_wan_rate *rc, uint64_t now,
			   const struct ferry_wan_rate_ack *ra);

/** The sender has nothing to send although the cwnd allows: samples until now are app-limited. */
void ferry_wan_rate_app_limited(struct ferry_wan_rate *rc, uint64_t inflight);

/** Earliest time the next packet may leave (pacing). */
static inline uint64_t
ferry_wan_rate_next_send(const struct ferry_wan_rate *rc)
{
	return rc->next_send_ns;
}

/**
 * Pacing helper: a packet of 'bytes' wire bytes leaves at 'now'; returns the earliest time
 * the next one may leave. Credit for idle time is capped (a short burst at most).
 */
uint64_t ferry_wan_rate_pace(struct ferry_wan_rate *rc, uint64_t now, uint32_t bytes);

/** Current pacing rate in bits/s. */
uint64_t ferry_wan_rate_pacing_bps(const struct ferry_wan_rate *rc);

/** Estimated bottleneck bandwidth in bits/s (0 before the first sample). */
uint64_t ferry_wan_rate_btlbw_bps(const struct ferry_wan_rate *rc);

static inline uint64_t
ferry_wan_rate_cwnd(const struct ferry_wan_rate *rc)
{
	return rc->cwnd;
}

const char *ferry_wan_rate_state_name(enum ferry_wan_rate_state s);

/* ---- sender (lane_tx.c) ---------------------------------------------------------------- */

/** Fill a conf with the defaults (zero fields) documented in wan_lane-t.h. */
void ferry_wan_lane_tx_conf_default(struct ferry_wan_lane_tx_conf *conf);

/**
 * Create a lane sender; all its memory is allocated here. Returns NULL with errno set
 * (EINVAL with a message in err for a bad conf, ENOMEM).
 */
struct ferry_wan_lane_tx *ferry_wan_lane_tx_create(const struct ferry_wan_lane_tx_conf *conf,
						   uint64_t now, char *err, size_t errlen);
void ferry_wan_lane_tx_free(struct ferry_wan_lane_tx *tx);

/**
 * Queue a batch: 'len' bytes at 'data' (0 allowed), owned by the caller and left untouched
 * until _done() returns its cookie. Returns 0, -ENOBUFS when the batch or fragment ring is
 * full (back-pressure: retry after some batches are done) or -EMSGSIZE when the batch needs
 * more than 65535 fragments or more than max_frags.
 */
int ferry_wan_lane_tx_push(struct ferry_wan_lane_tx *tx, const void *data, size_t len,
			   uint64_t cookie);

/**
 * Run the timers due at 'now', then pick the next fragment to send, subject to pacing, the
 * inflight cap and the peer's window: retransmissions first, then new data. Returns 1 with
 * *out filled (the caller frames it with packet number 'pn' and sends it now), or 0.
 * pn must increase from call to call that returns 1 (the packet layer's counter).
 */
int ferry_wan_lane_tx_poll(struct ferry_wan_lane_tx *tx, uint64_t now, uint64_t pn,
			   struct ferry_wan_lane_frag *out);

/**
 * Process a decoded ACK received at 'now'. Returns the number of fragments newly
 * acknowledged (>= 0), or -EINVAL for an ACK that acknowledges a seq never sent or whose
 * ranges are not sorted and disjoint (counted in acks_bad; nothing is changed).
 * Duplicate and stale ACKs are harmless.
 */
int ferry_wan_lane_tx_on_ack(struct ferry_wan_lane_tx *tx, const struct ferry_wan_ack *ack,
			     uint64_t now);

/** Pop the cookie of the oldest fully acknowledged batch (lane order). 1 if one, else 0. */
int ferry_wan_lane_tx_done(struct ferry_wan_lane_tx *tx, uint64_t *cookie);

/**
 * When the caller should call _poll() again if nothing else happens: the pacing time if
 * something is ready to send, else the earliest timer; UINT64_MAX when idle.
 */
uint64_t ferry_wan_lane_tx_next_event(const struct ferry_wan_lane_tx *tx, uint64_t now);

/** Nothing queued, nothing unacknowledged, nothing waiting in _done(). */
bool ferry_wan_lane_tx_idle(const struct ferry_wan_lane_tx *tx);

/**
 * Check the sender's internal invariants (list membership and byte counts, sequence
 * order, batch ring). 0 or -EFAULT with what is wrong in err. For tests and fuzzers: O(n).
 */
int ferry_wan_lane_tx_check(const struct ferry_wan_lane_tx *tx, char *err, size_t errlen);

/**
 * RFC 6298 §2.2-2.3 RTT estimator step on one sample (exported for tests): updates srtt,
 * rttvar and the RTO (clamped to [min_rto, max_rto]).
 */
void ferry_wan_lane_tx_rtt_sample(struct ferry_wan_lane_tx *tx, uint64_t rtt_ns);

/* ---- receiver (lane_rx.c) -------------------------------------------------------------- */

void ferry_wan_lane_rx_conf_default(struct ferry_wan_lane_rx_conf *conf);

/** Create a lane receiver, buffer included. NULL with errno set (EINVAL + message, ENOMEM). */
struct ferry_wan_lane_rx *ferry_wan_lane_rx_create(const struct ferry_wan_lane_rx_conf *conf,
						   char *err, size_t errlen);
void ferry_wan_lane_rx_free(struct ferry_wan_lane_rx *rx);

/**
 * Take one authenticated DATA packet received at 'now'. The payload is copied into the
 * reassembly buffer. Returns FERRY_WAN_LANE_RX_OK or the drop reason (also counted).
 * Either way the packet may make an ACK due (see _ack_due).
 */
enum ferry_wan_lane_rx_drop ferry_wan_lane_rx_input(struct ferry_wan_lane_rx *rx,
						    const struct ferry_wan_hdr *h,
						    struct ferry_span payload, uint64_t now);

/**
 * Hand the next whole batch to the consumer, in lane order, exactly once. Returns 1 with *b
 * filled, 0 when the next batch is not complete. The spans stay valid until the batch is
 * released.
 */
int ferry_wan_lane_rx_next_batch(struct ferry_wan_lane_rx *rx, struct ferry_wan_lane_batch *b);

/**
 * The consumer is done with the oldest batch handed out: its buffer space returns to the
 * receive window. 0, or -ENOENT when no batch is outstanding.
 */
int ferry_wan_lane_rx_release(struct ferry_wan_lane_rx *rx);

/** Receive window to advertise now, bytes. */
uint64_t ferry_wan_lane_rx_rwnd(const struct ferry_wan_lane_rx *rx);

/** An ACK should be sent now. */
bool ferry_wan_lane_rx_ack_due(const struct ferry_wan_lane_rx *rx, uint64_t now);

/** When the delayed ACK falls due; UINT64_MAX if no ACK is owed. */
uint64_t ferry_wan_lane_rx_ack_deadline(const struct ferry_wan_lane_rx *rx);

/** Build the ACK to send at 'now' (cumulative point, SACK ranges, rwnd) and clear what was owed. */
void ferry_wan_lane_rx_build_ack(struct ferry_wan_lane_rx *rx, uint64_t now,
				 struct ferry_wan_ack *ack);

const char *ferry_wan_lane_rx_drop_name(enum ferry_wan_lane_rx_drop d);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_WAN_LANE_H */
