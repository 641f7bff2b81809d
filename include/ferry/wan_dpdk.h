/*
 * ferry/wan_dpdk.h - the WAN transport on a DPDK port queue (DESIGN §5, §6, §8; issue 5): one
 * worker context per queue ties the packet layer (ferry/wan.h), the lanes (ferry/wan_lane.h)
 * and the key mailbox (ferry/wan_keychan.h) to rx/tx bursts, and talks to the rest of the
 * process through three single-producer single-consumer rings.
 *
 * Threads:
 *  - the worker lcore owns the context and is the only caller of ferry_wan_dp_poll/_run
 *    (@locality lcore); nothing writable is shared between workers;
 *  - one producer thread calls ferry_wan_dp_send (the "in" ring) and reads completions
 *    (ferry_wan_dp_done, the "done" ring);
 *  - one consumer thread reads delivered batches (ferry_wan_dp_recv, the "out" ring) and gives
 *    each back with ferry_wan_dp_release when done with its bytes;
 *  - any thread may read the counters (ferry_wan_dp_stats_read), lock-free.
 *
 * Multi-queue: lane L is served by queue L % nqueues on both gateways; that queue's worker
 * seals with key stream = queue index (ferry_wan_kdf), so workers never share a nonce space.
 * The link must carry a packet sent on queue q to queue q on the other side (memif does).
 *
 * Public header: pure C11, DPDK types only as opaque forward declarations (STYLE §11).
 */
#ifndef FERRY_WAN_DPDK_H
#define FERRY_WAN_DPDK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/common-t.h"
#include "ferry/wan-t.h"
#include "ferry/wan_keychan-t.h"
#include "ferry/wan_lane-t.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mempool;
struct rte_mbuf;

/** A batch to send (element of the "in" ring). The bytes stay untouched until done. */
struct ferry_wan_dp_batch {
	const void *data;
	uint64_t cookie;
	uint32_t len;
	uint8_t lane;
	uint8_t pad_[3];
};

/** A completed batch (element of the "done" ring). */
struct ferry_wan_dp_done {
	uint64_t cookie;
	int32_t status; /**< 0 delivered and acknowledged; -EMSGSIZE too large for a lane */
	uint8_t lane;
	uint8_t pad_[3];
};

/** A whole batch received (element of the "out" ring): spans into the lane's buffer. */
struct ferry_wan_dp_delivery {
	struct ferry_span seg[2]; /**< seg[1].len == 0 unless the batch wraps the lane ring */
	uint64_t len;
	uint64_t first_seq;
	uint8_t lane;
	uint8_t pad_[7];
};

/**
 * Counters of one worker: X-macro (name, help). Written by the worker only, published with
 * relaxed atomic stores after each poll that did work, summed by readers.
 */
#define FERRY_WAN_DP_FOREACH_CTR(_)                                                                \
	_(rx_pkts, "frames received from the port")                                                \
	_(rx_bytes, "bytes of frames received")                                                    \
	_(rx_ok, "packets authenticated (AEAD tag verified, pn fresh)")                            \
	_(rx_drop, "packets dropped by the packet layer (sum of drop_*)")                          \
	_(rx_data, "authenticated DATA packets")                                                   \
	_(rx_acks, "authenticated ACK packets")                                                    \
	_(rx_other, "authenticated PING/CLOSE packets (ignored)")                                  \
	_(rx_not_ours, "authenticated packets for a lane another queue serves")                    \
	_(rx_lane_drop, "DATA refused by the lane receiver (duplicates, beyond window, ...)")      \
	_(rx_bad_ack, "ACKs that did not decode or that the lane sender refused")                  \
	_(rx_linearized, "chained frames copied into one buffer before opening")                   \
	_(tx_pkts, "frames the port accepted")                                                     \
	_(tx_bytes, "bytes of frames the port accepted")                                           \
	_(tx_data, "DATA packets built, retransmissions included")                                 \
	_(tx_acks, "ACK packets built")                                                            \
	_(tx_retx, "retransmitted DATA packets (from the lanes)")                                  \
	_(tx_retx_bytes, "retransmitted payload bytes (from the lanes)")                           \
	_(tx_payload_bytes, "DATA payload bytes sent, retransmissions included (from the lanes)")  \
	_(tx_refused, "packets the packet layer refused to seal (no key, pn limit)")               \
	_(tx_nombuf, "packet builds skipped: mempool empty")                                       \
	_(tx_full, "polls that left frames in the tx buffer (port busy)")                          \
	_(rto_fired, "retransmission timeouts (from the lanes)")                                   \
	_(batches_in, "batches taken from the in ring into lanes")                                 \
	_(batches_done, "batches acknowledged whole and reported on the done ring")                \
	_(batches_rejected, "batches refused by a lane (too large)")                               \
	_(batches_out, "whole batches delivered on the out ring")                                  \
	_(goodput_bytes, "bytes of the batches delivered (the goodput)")                           \
	_(out_full, "polls that held back deliveries: out ring full (rwnd falls)")                 \
	_(keys_installed, "keys installed from the key mailbox")                                   \
	_(idle_sleeps, "idle back-off sleeps")                                                     \
	_(srtt_ns, "gauge: largest smoothed RTT of this worker's lanes")                           \
	_(rtt_min_ns, "gauge: smallest RTT sample of this worker's lanes")                         \
	_(pacing_bps, "gauge: sum of the lanes' pacing rates, bits/s")                             \
	_(inflight_bytes, "gauge: wire bytes in flight")                                           \
	_(tx_epoch, "gauge: key epoch this worker seals under")

enum ferry_wan_dp_ctr {
#define FERRY_WAN_DP_CTR_ENUM(n, h) FERRY_WAN_DP_CTR_##n,
	FERRY_WAN_DP_FOREACH_CTR(FERRY_WAN_DP_CTR_ENUM)
#undef FERRY_WAN_DP_CTR_ENUM
	FERRY_WAN_DP_CTR__MAX,
};

/** Counters by name plus the packet layer's drop counters by reason (FERRY_WAN_DROP_*). */
struct ferry_wan_dp_stats {
#define FERRY_WAN_DP_CTR_FIELD(n, h) uint64_t n;
	FERRY_WAN_DP_FOREACH_CTR(FERRY_WAN_DP_CTR_FIELD)
#undef FERRY_WAN_DP_CTR_FIELD
	uint64_t drop[FERRY_WAN_DROP__MAX];
};

/** Settings of one worker (ferry_wan_dp_conf_default() fills the defaults). */
struct ferry_wan_dp_conf {
	uint16_t port_id;
	uint16_t queue_id; /**< this worker's rx and tx queue, and its key stream */
	uint16_t nqueues;  /**< queues (workers) on the port; the same on both gateways */
	uint8_t nlanes;    /**< lanes of the gateway pair; this worker serves lane % nqueues == queue_id */
	int socket_id;     /**< NUMA node for the rings */
	struct rte_mempool *mp; /**< tx mbufs: data room >= 14 + MTU (plus headroom) */
	struct ferry_wan_link_conf link;
	struct ferry_wan_key_conf key; /**< pn_limit <= 2^40 (see wan_dpdk.c) */
	struct ferry_wan_lane_tx_conf lane_tx; /**< template; lane, max_payload, overhead set here */
	struct ferry_wan_lane_rx_conf lane_rx; /**< template; lane and max_payload set here */
	uint32_t ring_size;     /**< in/out/done ring entries, power of two; default 1024 */
	bool busy_poll;         /**< production: never sleep; default false (idle back-off) */
	uint32_t idle_polls;    /**< polls with no work before sleeping; default 32 */
	uint32_t idle_sleep_us; /**< longest idle sleep; default 200 */
	/** Test hook: sees every burst just before rte_eth_tx_burst (worker thread). */
	void (*tx_tap)(void *arg, struct rte_mbuf **pkts, uint16_t n);
	void *tx_tap_arg;
};

struct ferry_wan_dp; /* opaque; one per worker queue */

void ferry_wan_dp_conf_default(struct ferry_wan_dp_conf *conf);

/**
 * Create a worker context: endpoint (keyset without keys), lanes, rings, key mailbox. Does not
 * touch the port (the caller configures and starts it). NULL with errno and a message.
 */
struct ferry_wan_dp *ferry_wan_dp_create(const struct ferry_wan_dp_conf *conf, char *err,
					 size_t errlen);
/** Free everything. The worker must have stopped. NULL is a no-op. */
void ferry_wan_dp_free(struct ferry_wan_dp *dp);

/* ---- port and pool set-up (jumbo frames) -------------------------------------------------- */

/**
 * The data room (rte_pktmbuf_pool_create's data_room_size) of a pool whose mbufs hold a
 * whole frame of a link with this IP MTU: RTE_PKTMBUF_HEADROOM + 14 + mtu + 4 (the CRC,
 * which some NICs write into the buffer even when they strip it), and never less than
 * RTE_MBUF_DEFAULT_BUF_SIZE. ferry_wan_dp_create refuses a pool below headroom + 14 + mtu:
 * every frame is built in one mbuf. 0 if mtu is outside FERRY_WAN_MTU_MIN..MAX.
 */
uint16_t ferry_wan_dp_data_room(uint16_t mtu);

/**
 * The MTU to put in rte_eth_conf.rxmode.mtu (a uint32_t) before rte_eth_dev_configure (@locality main,
 * before the port is configured). 0 with *rx_mtu = mtu when the PMD says it takes frames of
 * 14 + mtu (+ its own overhead). net_memif reports 1518-byte frames at most and has no MTU
 * setting, yet carries any frame that fits one of its buffers: for it, 0 with *rx_mtu = 0
 * (the PMD default), but -EINVAL when it is a memif client whose devarg bsize (default 2048)
 * is below 14 + mtu (a frame spanning buffers corrupts the 22.11 memif ring; wan_dpdk.c),
 * and a note in msg when it is a server (the client's bsize counts). Otherwise -ENOTSUP (the
 * port cannot carry the link's frames) or the error of rte_eth_dev_info_get, with a
 * message. msg is "" when there is nothing to say.
 */
int ferry_wan_dp_port_mtu(uint16_t port, uint16_t mtu, uint32_t *rx_mtu, char *msg,
			  size_t msglen);

/** The key mailbox of this worker (give it to the key channel; stream = queue_id). */
struct ferry_wan_keybox *ferry_wan_dp_keybox(struct ferry_wan_dp *dp);

/** Queue serving a lane: the same function on both gateways. */
static inline uint16_t
ferry_wan_dp_lane_queue(uint8_t lane, uint16_t nqueues)
{
	return (uint16_t)(lane % nqueues);
}

/* ---- producer side ---------------------------------------------------------------------- */

/** Queue a batch for 'lane' (served by this worker). 0, -ENOBUFS (ring full), -EINVAL (lane). */
int ferry_wan_dp_send(struct ferry_wan_dp *dp, uint8_t lane, const void *data, uint32_t len,
		      uint64_t cookie);
/** Take up to n completions. Returns how many. */
unsigned ferry_wan_dp_done(struct ferry_wan_dp *dp, struct ferry_wan_dp_done *out, unsigned n);

/* ---- consumer side ---------------------------------------------------------------------- */

/** Take up to n delivered batches (per lane in order, exactly once). Returns how many. */
unsigned ferry_wan_dp_recv(struct ferry_wan_dp *dp, struct ferry_wan_dp_delivery *out,
			   unsigned n);
/** The consumer is done with the oldest batch it took from 'lane': its buffer space returns. */
void ferry_wan_dp_release(struct ferry_wan_dp *dp, uint8_t lane);

/* ---- worker ------------------------------------------------------------------------------ */

/** Monotonic nanoseconds (the clock the worker passes to _poll). */
uint64_t ferry_wan_dp_now(void);

/**
 * One iteration (@locality lcore): keys from the mailbox; rx burst -> open -> lanes; releases;
 * deliveries to the out ring; ACKs due; batches from the in ring; paced DATA from the lanes;
 * completions to the done ring; tx burst. Never allocates, locks or logs. Returns a count of
 * the work done (0 = nothing moved).
 */
unsigned ferry_wan_dp_poll(struct ferry_wan_dp *dp, uint64_t now);

/**
 * Poll until *stop: busy, or with the idle back-off (sleep up to idle_sleep_us, or until the
 * next lane timer, after idle_polls empty polls).
 */
void ferry_wan_dp_run(struct ferry_wan_dp *dp, const atomic_bool *stop);

/** Nothing queued, unacknowledged or undelivered on any lane of this worker. */
bool ferry_wan_dp_idle(const struct ferry_wan_dp *dp);

/* ---- counters ---------------------------------------------------------------------------- */

/** Snapshot of one worker's published counters (any thread, no lock). */
void ferry_wan_dp_stats_read(const struct ferry_wan_dp *dp, struct ferry_wan_dp_stats *out);
/** sum += one: counters add; gauges: srtt max, rtt_min min (0 = none), pacing/inflight add. */
void ferry_wan_dp_stats_add(struct ferry_wan_dp_stats *sum, const struct ferry_wan_dp_stats *one);
const char *ferry_wan_dp_ctr_name(enum ferry_wan_dp_ctr c);
const char *ferry_wan_dp_ctr_help(enum ferry_wan_dp_ctr c);
/** Value of counter c in s. */
uint64_t ferry_wan_dp_ctr_get(const struct ferry_wan_dp_stats *s, enum ferry_wan_dp_ctr c);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_WAN_DPDK_H */
