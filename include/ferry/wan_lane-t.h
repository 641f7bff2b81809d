/*
 * ferry/wan_lane-t.h - types of WAN lane reliability and rate control (DESIGN §6, issue 5):
 * the ACK payload, the per-lane sender and receiver, and the BBR-like rate controller.
 *
 * Types only (HAProxy "-t.h" rule): functions are in ferry/wan_lane.h. Pure C11, no DPDK.
 * One lane's sender and receiver belong to one worker lcore; nothing here is shared.
 *
 * Sequence numbers count fragments, not bytes: every DATA packet carries one fragment of a
 * batch, `seq` is reused by retransmissions and `pn` (wan-t.h) is fresh for every
 * transmission. Sequence ranges are half-open, [first, end).
 */
#ifndef FERRY_WAN_LANE_T_H
#define FERRY_WAN_LANE_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/common-t.h"
#include "ferry/wan-t.h"

/* ---- ACK payload ----------------------------------------------------------------------- */

#define FERRY_WAN_ACK_RANGES_MAX 16 /**< SACK ranges in one ACK (wire limit) */
#define FERRY_WAN_ACK_FIXED_LEN  25 /**< cum_seq, largest_pn, ack_delay_us, rwnd, nranges */
#define FERRY_WAN_ACK_RANGE_LEN  16 /**< first, end: two u64 */
#define FERRY_WAN_ACK_MAX_LEN    (FERRY_WAN_ACK_FIXED_LEN + FERRY_WAN_ACK_RANGES_MAX * FERRY_WAN_ACK_RANGE_LEN)

/** Received fragments [first, end), all above the cumulative ack. */
struct ferry_wan_sack_range {
	uint64_t first;
	uint64_t end;
};

/**
 * The payload of a FERRY_WAN_T_ACK packet, decoded. On the wire (big-endian):
 * u64 cum_seq, u64 largest_pn, u32 ack_delay_us, u32 rwnd, u8 nranges, then nranges x
 * (u64 first, u64 end). Ranges on the wire are sorted ascending, disjoint and not adjacent,
 * and lie above cum_seq; the receiver picks WHICH ranges to report by recency (TCP, RFC 2018
 * §4) and the encoder sorts them so the decoder can check them in one pass.
 */
struct ferry_wan_ack {
	uint64_t cum_seq;      /**< every seq below this was received (the next seq expected) */
	uint64_t largest_pn;   /**< largest packet number received on this lane (0: none yet) */
	uint32_t ack_delay_us; /**< time from receiving largest_pn to sending this ACK */
	uint32_t rwnd;         /**< free receive buffer past cum_seq, bytes (fragment slots x max_payload) */
	uint8_t nranges;
	struct ferry_wan_sack_range ranges[FERRY_WAN_ACK_RANGES_MAX];
};

/* ---- rate control ---------------------------------------------------------------------- */

enum ferry_wan_rate_state {
	FERRY_WAN_RATE_STARTUP = 0,
	FERRY_WAN_RATE_DRAIN,
	FERRY_WAN_RATE_PROBE_BW,
	FERRY_WAN_RATE_PROBE_RTT,
};

/** Rate controller settings. Zero means "the default" for every field except ceiling_bps. */
struct ferry_wan_rate_conf {
	uint64_t ceiling_bps;    /**< pacing never exceeds this, bits/s of wire bytes (required) */
	uint64_t initial_bps;    /**< before any bandwidth sample; default ceiling / 10 */
	uint64_t min_bps;        /**< floor of the pacing rate; default ceiling / 1000, >= 64 kbit/s */
	uint32_t mss;            /**< wire bytes of a full packet; cwnd floor is 4 x mss; default 1500 */
	uint64_t initial_cwnd;   /**< bytes in flight before an RTT is known; default initial rate x 200 ms */
	uint64_t min_rtt_win_ns; /**< min RTT filter window; default 10 s */
	uint32_t bw_win_rounds;  /**< bottleneck bandwidth max filter, in round trips; default 10 */
	uint32_t loss_react_pct; /**< cut bw when a round loses more than this %; 0 = never (default) */
	uint32_t seed;           /**< picks the first PROBE_BW phase (deterministic per seed) */
	bool probe_rtt;          /**< run PROBE_RTT when min RTT is older than its window */
};

/** What the controller remembers about one transmission, to make a rate sample on its ACK. */
struct ferry_wan_rate_pkt {
	uint64_t delivered;    /**< rc->delivered when it was sent */
	uint64_t delivered_ns; /**< rc->delivered_ns when it was sent */
	uint64_t first_sent_ns;
	uint64_t sent_ns;
	bool app_limited;
	bool below_bw;         /**< sent while pacing below the bandwidth estimate (see rate.c) */
};

/** One ACK's worth of input to the controller, built by the lane sender. */
struct ferry_wan_rate_ack {
	const struct ferry_wan_rate_pkt *newest; /**< most recently sent of the newly acked, or NULL */
	uint64_t acked_bytes;                    /**< wire bytes newly delivered by this ACK */
	uint64_t lost_bytes;                     /**< wire bytes newly declared lost */
	uint64_t acked_below_bw;                 /**< of acked_bytes: sent with below_bw */
	uint64_t lost_below_bw;                  /**< of lost_bytes: sent with below_bw (RTO losses excluded) */
	uint64_t rtt_ns;                         /**< RTT sample from this ACK, 0 if none */
	uint64_t inflight;                       /**< wire bytes in flight after this ACK */
};

/** Windowed max filter (Kathleen Nichols' 3-sample algorithm, as Linux lib/win_minmax.c). */
struct ferry_wan_maxfilt {
	struct {
		uint64_t t; /**< round count of the sample */
		uint64_t v;
	} s[3];
};

struct ferry_wan_rate {
	struct ferry_wan_rate_conf conf;
	enum ferry_wan_rate_state state;
	struct ferry_wan_maxfilt bw_filt; /**< bytes/s, indexed by round count */
	uint64_t min_rtt_ns;              /**< UINT64_MAX until the first sample */
	uint64_t min_rtt_stamp;
	uint64_t pacing_Bps; /**< current pacing rate, bytes/s */
	uint64_t cwnd;       /**< inflight cap, bytes */
	uint32_t pacing_gain; /**< x 1/256 */
	uint32_t cwnd_gain;   /**< x 1/256 */
	/* delivery accounting (Linux tcp_rate.c) */
	uint64_t delivered;
	uint64_t delivered_ns;
	uint64_t first_sent_ns;
	uint64_t app_limited_until; /**< delivered mark; 0 = not app-limited */
	/* round trips */
	uint64_t round_count;
	uint64_t next_round_delivered;
	bool round_start;
	uint64_t round_acked;
	uint64_t round_lost;
	uint32_t rtt_high_run;    /**< consecutive RTT samples showing a standing queue */
	/* random (non-congestive) loss estimate: bytes sent below the estimate, decayed */
	uint64_t calm_acked;
	uint64_t calm_lost;
	/* STARTUP exit */
	uint64_t full_bw;
	uint32_t full_bw_cnt;
	bool filled_pipe;
	/* PROBE_BW */
	uint32_t cycle_idx;
	uint64_t cycle_stamp;
	/* PROBE_RTT */
	uint64_t probe_rtt_done_ns;
	bool probe_rtt_round_done;
	enum ferry_wan_rate_state prior_state;
	uint32_t rng;
	/* pacing */
	uint64_t next_send_ns;
	/* counters */
	uint64_t loss_cuts; /**< times a round's loss above loss_react_pct cut the estimate */
	uint64_t startup_delay_exits; /**< STARTUP ended by a standing queue (RTT), not a bw plateau */
};

/* ---- sender ---------------------------------------------------------------------------- */

struct ferry_wan_lane_tx_conf {
	uint8_t lane;
	uint16_t max_payload;    /**< batch bytes per fragment: the packet layer's payload for the MTU */
	uint32_t max_batches;    /**< batches queued or unacknowledged at once */
	uint32_t max_frags;      /**< fragments queued or unacknowledged at once (the send buffer) */
	uint32_t pkt_overhead;   /**< wire bytes a packet adds to its payload (pacing, bandwidth) */
	uint32_t reorder_thresh; /**< fast retransmit after this many later packets acked; default 3 */
	uint64_t min_rto_ns;     /**< default 200 ms */
	uint64_t max_rto_ns;     /**< default 60 s */
	uint64_t initial_rto_ns; /**< before any RTT sample; default 1 s (RFC 6298 §2.1) */
	uint64_t peer_buf;       /**< the peer's receive window assumed until its first ACK; default 1 MiB */
	struct ferry_wan_rate_conf rate;
};

/** A fragment the caller must send now: the header to frame and the payload to encrypt. */
struct ferry_wan_lane_frag {
	struct ferry_wan_hdr hdr; /**< version, type, lane, flags, pn, seq, frag_idx, frag_cnt, len */
	struct ferry_span payload; /**< points INTO the batch bytes given to _push (no copy) */
};

#define FERRY_WAN_LANE_TX_FOREACH_CTR(_)                                                           \
	_(pkts_sent, "DATA packets sent, first transmissions and retransmissions")                \
	_(bytes_sent, "payload bytes sent, retransmissions included")                              \
	_(pkts_retx, "retransmitted packets (sum of the three retx_* reasons)")                    \
	_(bytes_retx, "retransmitted payload bytes")                                               \
	_(retx_fast, "retransmissions after packet-threshold loss detection (fast retransmit)")    \
	_(retx_time, "retransmissions after time-threshold loss detection (RACK-like)")            \
	_(retx_rto, "retransmissions after a retransmission timeout")                             \
	_(rto_fired, "retransmission timeouts")                                                    \
	_(probes, "packets sent past the window or cwnd by a timeout (RTO probe, zero-window probe)") \
	_(spurious, "losses later found spurious (the original transmission was acked)")           \
	_(acks, "ACKs processed")                                                                  \
	_(acks_bad, "ACKs rejected: acknowledge a seq never sent, or ranges out of order")         \
	_(acks_dup, "ACKs that acknowledged nothing new")                                          \
	_(batches_done, "batches fully acknowledged")                                              \
	_(rtt_samples, "RTT samples taken")

struct ferry_wan_lane_tx_stats {
#define FERRY_WAN_LANE_CTR_FIELD(n, desc) uint64_t n;
	FERRY_WAN_LANE_TX_FOREACH_CTR(FERRY_WAN_LANE_CTR_FIELD)
#undef FERRY_WAN_LANE_CTR_FIELD
	uint64_t rtt_min_ns;    /**< gauge: smallest RTT sample seen */
	uint64_t srtt_ns;       /**< gauge: smoothed RTT */
	uint64_t rttvar_ns;     /**< gauge */
	uint64_t rto_ns;        /**< gauge: current RTO, backoff included */
	uint64_t inflight;      /**< gauge: wire bytes in flight */
};

/** Per-fragment sender state; index seq % max_frags. Internal to lane_tx.c. */
struct ferry_wan_lane_txfrag {
	const uint8_t *p;      /**< payload inside the batch bytes */
	uint64_t seq;
	uint64_t next;         /**< union-find: smallest seq >= this one not yet delivered */
	uint64_t pn;           /**< pn of the latest transmission */
	uint64_t xmit;         /**< lane-local transmission index of the latest transmission */
	struct ferry_wan_rate_pkt rs; /**< rate snapshot of the latest transmission */
	uint32_t prev, nxt;    /**< links in the in-flight or lost list (slot indices) */
	uint16_t len;
	uint16_t frag_idx;
	uint16_t frag_cnt;
	uint8_t retx;          /**< transmissions - 1, saturating */
	uint8_t where;         /**< internal: unsent / in flight / lost / delivered */
	uint8_t lost_why;      /**< internal: which loss detection put it on the lost list */
};

/** One batch handed to the sender; index (batch number) % max_batches. */
struct ferry_wan_lane_txbatch {
	uint64_t cookie;
	uint64_t first_seq;
	uint32_t nfrags;
};

/** A transmission, in send order; index xmit % xring_cap. Maps an acked pn to its send time. */
struct ferry_wan_lane_xmit {
	uint64_t pn;
	uint64_t seq;
	uint64_t sent_ns;
};

/** Doubly linked list of fragment slots (in-flight list in send order, lost list). */
struct ferry_wan_lane_list {
	uint32_t head, tail; /**< UINT32_MAX when empty */
	uint32_t n;
};

struct ferry_wan_lane_tx {
	struct ferry_wan_lane_tx_conf conf;
	struct ferry_wan_lane_txfrag *frags;  /**< max_frags */
	struct ferry_wan_lane_txbatch *batches; /**< max_batches */
	struct ferry_wan_lane_xmit *xring;     /**< xring_cap */
	uint32_t xring_cap;
	uint64_t snd_una;    /**< oldest seq not yet acknowledged */
	uint64_t snd_nxt;    /**< next seq to send for the first time */
	uint64_t snd_end;    /**< next seq to assign to a pushed fragment */
	uint64_t snd_max;    /**< highest seq ever sent + 1 (== snd_nxt; kept apart for clarity) */
	uint64_t rwnd_edge;  /**< peer accepts seqs below this (monotonic: base + slots on the peer) */
	uint64_t batch_head; /**< oldest batch not yet reported done */
	uint64_t batch_tail; /**< next batch number */
	uint64_t xmit_next;  /**< next transmission index */
	uint64_t xmit_base;  /**< oldest transmission still in xring */
	uint64_t largest_acked_xmit; /**< +1; 0 = none */
	uint64_t largest_acked_pn;
	uint64_t largest_acked_sent_ns;
	struct ferry_wan_lane_list inflight_list; /**< sent, not acked, not lost: send order */
	struct ferry_wan_lane_list lost_list;     /**< declared lost, waiting for retransmission */
	uint64_t inflight;   /**< wire bytes of the in-flight list */
	/* RTT / RTO (RFC 6298) */
	uint64_t srtt_ns, rttvar_ns, latest_rtt_ns, rtt_min_ns;
	uint64_t rto_ns;        /**< base RTO before backoff */
	uint32_t rto_backoff;   /**< doublings since the last RTT sample */
	uint64_t rto_deadline;  /**< UINT64_MAX = not armed */
	uint64_t loss_deadline; /**< time-threshold loss timer, UINT64_MAX = not armed */
	uint32_t probe_credit;  /**< packets allowed past cwnd/rwnd (after a timeout) */
	uint64_t lost_pending;  /**< wire bytes declared lost by a timer, told to the rate control on the next ACK */
	uint64_t lost_pending_below_bw; /**< wire bytes sent below the bw estimate and declared lost (not by RTO) since the last ACK */
	uint64_t last_pn;       /**< pn of the latest transmission (pn must increase) */
	bool reordering_seen;   /**< a loss proved spurious: packet-threshold detection waits for time too */
	struct ferry_wan_rate rate;
	struct ferry_wan_lane_tx_stats st;
};

/* ---- receiver -------------------------------------------------------------------------- */

struct ferry_wan_lane_rx_conf {
	uint8_t lane;
	uint16_t max_payload;   /**< must equal the sender's: every fragment but a batch's last is this long */
	uint64_t buf_bytes;     /**< reassembly buffer; the receive window; rounded down to fragment slots */
	uint32_t max_batch_frags; /**< largest batch accepted, fragments; must fit the buffer */
	uint32_t ack_every;     /**< ACK after this many in-order data packets; default 2 */
	uint64_t ack_delay_ns;  /**< delayed-ACK timer; default 5 ms */
	uint32_t ack_ranges;    /**< SACK ranges per ACK, <= FERRY_WAN_ACK_RANGES_MAX; default max */
};

#define FERRY_WAN_LANE_RX_FOREACH_DROP(_)                                                          \
	_(NOT_DATA, "not a DATA packet, or for another lane")                                     \
	_(BAD_FRAG, "frag_cnt 0, frag_idx >= frag_cnt, or the LAST flag disagrees with them")     \
	_(BAD_LEN, "len differs from the payload, exceeds max_payload, or a non-last fragment is short") \
	_(TOO_BIG, "batch has more fragments than the receive buffer can hold")                    \
	_(DUP_DELIVERED, "duplicate: seq already received in order")                               \
	_(DUP_BUFFERED, "duplicate: seq already held out of order")                                \
	_(BEYOND_WINDOW, "seq beyond the advertised receive window")                               \
	_(INCONSISTENT, "frag_idx/frag_cnt disagree with the neighbouring fragments of the batch")

enum ferry_wan_lane_rx_drop {
#define FERRY_WAN_LANE_DROP_ENUM(n, desc) FERRY_WAN_LANE_RX_DROP_##n,
	FERRY_WAN_LANE_RX_FOREACH_DROP(FERRY_WAN_LANE_DROP_ENUM)
#undef FERRY_WAN_LANE_DROP_ENUM
	FERRY_WAN_LANE_RX_DROP__MAX,
	FERRY_WAN_LANE_RX_OK = -1, /**< accepted (not a drop) */
};

struct ferry_wan_lane_rx_stats {
	uint64_t pkts;          /**< DATA packets offered */
	uint64_t accepted;      /**< new fragments stored */
	uint64_t out_of_order;  /**< accepted above the cumulative point */
	uint64_t batches;       /**< batches handed to the consumer */
	uint64_t bytes;         /**< batch bytes handed to the consumer */
	uint64_t acks;          /**< ACKs built */
	uint64_t dropped;       /**< sum of drop[] */
	uint64_t drop[FERRY_WAN_LANE_RX_DROP__MAX];
};

/** Receiver state of one fragment slot; index seq % nslots. Internal to lane_rx.c. */
struct ferry_wan_lane_rxslot {
	uint64_t seq;
	uint16_t len;
	uint16_t frag_idx;
	uint16_t frag_cnt;
	bool held;
};

/** A whole batch ready for the consumer: at most two spans (the buffer is a ring). */
struct ferry_wan_lane_batch {
	uint64_t first_seq;
	uint32_t nfrags;
	size_t len;
	struct ferry_span seg[2]; /**< seg[1].len == 0 unless the batch wraps the ring */
};

struct ferry_wan_lane_rx {
	struct ferry_wan_lane_rx_conf conf;
	struct ferry_wan_lane_rxslot *slots;
	uint8_t *buf;          /**< nslots x max_payload */
	uint32_t nslots;
	uint64_t base;         /**< oldest seq whose slot is in use (delivered batches not released) */
	uint64_t deliver_seq;  /**< first seq of the next batch to hand to the consumer */
	uint64_t cum;          /**< next seq expected in order */
	/* the batch open at the cumulative edge (seq cum - 1 is not a LAST fragment) */
	bool edge_open;
	uint64_t edge_start;
	uint16_t edge_cnt;
	/* SACK ranges held above cum, most recent first (may hold more than one ACK reports) */
	struct ferry_wan_sack_range sack[FERRY_WAN_ACK_RANGES_MAX * 2];
	uint32_t nsack;
	/* ACK generation */
	uint64_t largest_pn;
	uint64_t largest_pn_ns;
	bool seen_pn;
	uint32_t unacked_pkts;   /**< in-order data packets since the last ACK */
	uint64_t ack_deadline;   /**< UINT64_MAX = no ACK owed */
	bool ack_now;
	uint64_t last_rwnd;      /**< rwnd in the last ACK */
	struct ferry_wan_lane_rx_stats st;
};

#endif /* FERRY_WAN_LANE_T_H */
