/*
 * wan_dpdk.c - the WAN transport's DPDK glue: one worker context per port queue running the
 * packet layer, the lanes and the key mailbox over rx/tx bursts. The only WAN file that
 * includes DPDK (STYLE §11).
 *
 * Threads: a struct ferry_wan_dp belongs to one worker lcore (ferry_wan_dp_poll/_run,
 * @locality lcore). Other threads reach it only through its SPSC rings (in, out, done), the
 * per-lane release counters, the key mailbox, and the published counters; see wan_dpdk.h.
 *
 * Owns: the endpoint (keyset, replay windows), the lanes' senders and receivers (their
 * buffers), the three rings, a tx buffer of built frames, a scratch frame for chained rx
 * mbufs. The mempool and the port belong to the caller.
 *
 * Copies. Sending: the seal writes the ciphertext straight from the batch bytes into the
 * mbuf (ferry_wan_pkt_build with dst != src), so building a packet is one pass over the
 * payload, the same pass AES-GCM needs anyway. External buffers or an mbuf chain pointing at
 * the batch would not save it: the batch must stay plaintext for retransmission, so the
 * ciphertext has to be written somewhere else, and that somewhere is the mbuf. Receiving: the
 * packet opens in place in the rx mbuf, and the lane receiver copies the plaintext into its
 * reassembly ring (one copy) so whole batches can be handed out as at most two spans.
 *
 * Packet numbers. The packet layer's pn restarts at 0 in every key epoch, but a lane needs
 * packet numbers that only grow (it maps an ACK's largest pn back to a transmission). Both
 * gateways therefore show the lanes pn' = epoch << 40 | pn: the sender passes it to
 * ferry_wan_lane_tx_poll, the receiver rewrites the authenticated header's pn to it before
 * ferry_wan_lane_rx_input, so the ACK echoes pn'. Hence key.pn_limit <= 2^40.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "ferry/common.h"
#include "ferry/wan.h"
#include "ferry/wan_dpdk.h"
#include "ferry/wan_keychan.h"
#include "ferry/wan_lane.h"

#define BURST      32
#define TXBUF      (2 * BURST)
#define PN_SHIFT   40
#define FRAME_MAX  (FERRY_WAN_ETH_LEN + FERRY_WAN_MTU_MAX)

static_assert(sizeof(struct ferry_wan_dp_batch) % 4 == 0, "rte_ring elements are 4-byte multiples");
static_assert(sizeof(struct ferry_wan_dp_done) % 4 == 0, "rte_ring elements are 4-byte multiples");
static_assert(sizeof(struct ferry_wan_dp_delivery) % 4 == 0,
	      "rte_ring elements are 4-byte multiples");
static_assert(sizeof(struct ferry_wan_dp_stats) % sizeof(uint64_t) == 0,
	      "stats are published word by word");

struct ferry_wan_dp {
	struct ferry_wan_dp_conf conf;
	struct ferry_wan_ep ep;
	struct ferry_wan_keybox box;
	struct ferry_wan_lane_tx *tx[FERRY_WAN_LANES_MAX]; /* NULL: another queue's lane */
	struct ferry_wan_lane_rx *rx[FERRY_WAN_LANES_MAX];
	uint8_t lanes[FERRY_WAN_LANES_MAX]; /* the lanes this worker serves */
	uint8_t nlanes;
	uint8_t rr; /* round-robin start among lanes for DATA */
	struct rte_ring *in, *out, *done;
	/* batches taken from the in ring that a lane could not take yet (-ENOBUFS) */
	struct ferry_wan_dp_batch stash[FERRY_WAN_LANES_MAX];
	bool stash_valid[FERRY_WAN_LANES_MAX];
	struct ferry_wan_dp_batch hol; /* head of line: its lane's stash is occupied */
	bool hol_valid;
	/* consumer -> worker: batches released per lane; worker's count of the same */
	_Alignas(64) _Atomic uint64_t released[FERRY_WAN_LANES_MAX];
	uint64_t released_seen[FERRY_WAN_LANES_MAX];
	/* tx buffer: built frames not yet accepted by the port, oldest first */
	struct rte_mbuf *txb[TXBUF];
	uint16_t ntx;
	uint64_t next_event; /* earliest lane timer, for the idle sleep */
	uint32_t idle;
	struct ferry_wan_dp_stats st;  /* worker's working copy */
	_Alignas(64) struct ferry_wan_dp_stats pub; /* published copy (atomic word stores) */
	uint8_t scratch[FRAME_MAX];
};

/* clang-format off */
static const char *const ctr_names[FERRY_WAN_DP_CTR__MAX] = {
#define CTR_NAME(n, h) [FERRY_WAN_DP_CTR_##n] = #n,
	FERRY_WAN_DP_FOREACH_CTR(CTR_NAME)
#undef CTR_NAME
};
static const char *const ctr_helps[FERRY_WAN_DP_CTR__MAX] = {
#define CTR_HELP(n, h) [FERRY_WAN_DP_CTR_##n] = h,
	FERRY_WAN_DP_FOREACH_CTR(CTR_HELP)
#undef CTR_HELP
};
/* clang-format on */

const char *
ferry_wan_dp_ctr_name(enum ferry_wan_dp_ctr c)
{
	return (unsigned)c < FERRY_WAN_DP_CTR__MAX ? ctr_names[c] : "?";
}

const char *
ferry_wan_dp_ctr_help(enum ferry_wan_dp_ctr c)
{
	return (unsigned)c < FERRY_WAN_DP_CTR__MAX ? ctr_helps[c] : "?";
}

uint64_t
ferry_wan_dp_ctr_get(const struct ferry_wan_dp_stats *s, enum ferry_wan_dp_ctr c)
{
	switch (c) {
#define CTR_GET(n, h)                                                                              \
	case FERRY_WAN_DP_CTR_##n:                                                                 \
		return s->n;
		FERRY_WAN_DP_FOREACH_CTR(CTR_GET)
#undef CTR_GET
	default:
		return 0;
	}
}

uint64_t
ferry_wan_dp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
ferry_wan_dp_conf_default(struct ferry_wan_dp_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->nqueues = 1;
	conf->nlanes = 1;
	conf->socket_id = SOCKET_ID_ANY;
	ferry_wan_link_conf_default(&conf->link);
	ferry_wan_key_conf_default(&conf->key);
	ferry_wan_lane_tx_conf_default(&conf->lane_tx);
	ferry_wan_lane_rx_conf_default(&conf->lane_rx);
	conf->ring_size = 1024;
	conf->idle_polls = 32;
	conf->idle_sleep_us = 200;
}

uint16_t
ferry_wan_dp_data_room(uint16_t mtu)
{
	if (mtu < FERRY_WAN_MTU_MIN || mtu > FERRY_WAN_MTU_MAX)
		return 0;
	size_t room = RTE_PKTMBUF_HEADROOM + FERRY_WAN_ETH_LEN + (size_t)mtu + RTE_ETHER_CRC_LEN;
	return (uint16_t)RTE_MAX(room, (size_t)RTE_MBUF_DEFAULT_BUF_SIZE);
}

/*
 * memif and frames longer than its buffers. The PMD has no MTU: its tx spreads a frame over
 * as many bsize-byte ring buffers as it needs (MEMIF_DESC_FLAG_NEXT) and its rx copies them
 * into an mbuf chain, with no length check. But in DPDK 22.11 (and in the newer upstream
 * source we read) the copy tx sets NEXT on a chain's buffers and never clears it on the
 * first buffer of a later packet that reuses the slot; a single-buffer packet there then
 * looks chained, the rx follows NEXT past the slots that were published, and the ring is
 * corrupt from then on (seen with ferry-wanpeer at MTU 9000 and the default bsize: the
 * receiver read stale slots millions of times, replays and bad lengths). So no frame may
 * span buffers: the buffers are the client's (it creates the shared memory; the server
 * uses the sizes it finds in the descriptors), and its bsize (default 2048) must hold
 * 14 + MTU. A client's devargs are checked here; a server can only be told.
 */
static int
memif_check(const struct rte_eth_dev_info *di, uint16_t port, uint16_t mtu, char *msg,
	    size_t msglen)
{
	const struct rte_devargs *da = di->device ? rte_dev_devargs(di->device) : NULL;
	struct rte_kvargs *kv = da && da->args ? rte_kvargs_parse(da->args, NULL) : NULL;
	const char *role = kv ? rte_kvargs_get(kv, "role") : NULL;
	const char *bs = kv ? rte_kvargs_get(kv, "bsize") : NULL;
	bool client = role == NULL || strstr(role, "client") || strstr(role, "slave");
	unsigned long bsize = bs ? strtoul(bs, NULL, 10) : 2048; /* the PMD's default */
	unsigned frame = FERRY_WAN_ETH_LEN + mtu;
	int rc = 0;

	if (client && bsize < frame) {
		snprintf(msg, msglen,
			 "port %u (net_memif client): bsize %lu is below the %u-byte frames of MTU "
			 "%u; add bsize=%u (or more) to its devargs (a frame spanning memif buffers "
			 "corrupts the DPDK 22.11 memif ring)",
			 port, bsize, frame, mtu, RTE_ALIGN_CEIL(frame, 1024));
		rc = -EINVAL;
	} else if (!client && frame > 2048) {
		snprintf(msg, msglen,
			 "port %u (net_memif server): MTU %u needs the memif client's bsize >= %u "
			 "(its buffers are used; a frame spanning buffers corrupts the ring)",
			 port, mtu, frame);
	}
	rte_kvargs_free(kv);
	return rc;
}

int
ferry_wan_dp_port_mtu(uint16_t port, uint16_t mtu, uint32_t *rx_mtu, char *msg, size_t msglen)
{
	struct rte_eth_dev_info di;
	int rc = rte_eth_dev_info_get(port, &di);

	*rx_mtu = 0;
	if (msglen)
		msg[0] = 0;
	if (rc != 0) {
		snprintf(msg, msglen, "port %u: device info: %s", port, rte_strerror(-rc));
		return rc;
	}
	bool memif = di.driver_name != NULL && strcmp(di.driver_name, "net_memif") == 0;
	if (memif && (rc = memif_check(&di, port, mtu, msg, msglen)) != 0)
		return rc;
	/* The overhead rte_eth_dev_configure assumes (eth_dev_get_overhead_len in 22.11): the
	 * PMD's own when it gives both limits, else Ethernet header + CRC. */
	uint32_t overhead = di.max_mtu != UINT16_MAX && di.max_rx_pktlen > di.max_mtu
				    ? di.max_rx_pktlen - di.max_mtu
				    : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	if (mtu >= di.min_mtu && mtu <= di.max_mtu && mtu + overhead <= di.max_rx_pktlen) {
		*rx_mtu = mtu;
		return 0;
	}
	/* memif reports max_rx_pktlen = RTE_ETHER_MAX_LEN and has no mtu_set, yet carries any
	 * frame its buffers hold (memif_check): leave the PMD's default, configuring the MTU
	 * would only fail. */
	if (memif)
		return 0;
	snprintf(msg, msglen,
		 "port %u (%s) takes MTU %u..%u and frames up to %u bytes: it cannot carry the "
		 "link's MTU %u (jumbo frames need a port that takes them)",
		 port, di.driver_name ? di.driver_name : "?", di.min_mtu, di.max_mtu,
		 di.max_rx_pktlen, mtu);
	return -ENOTSUP;
}

struct ferry_wan_keybox *
ferry_wan_dp_keybox(struct ferry_wan_dp *dp)
{
	return &dp->box;
}

static struct rte_ring *
ring_make(const struct ferry_wan_dp_conf *c, const char *what, unsigned esize)
{
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "fwan%u_%u_%s", c->port_id, c->queue_id, what);
	return rte_ring_create_elem(name, esize, c->ring_size, c->socket_id,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
}

struct ferry_wan_dp *
ferry_wan_dp_create(const struct ferry_wan_dp_conf *conf, char *err, size_t errlen)
{
	struct ferry_wan_dp *dp;
	int rc = -EINVAL;

	if (conf->nqueues == 0 || conf->queue_id >= conf->nqueues || conf->nlanes == 0 ||
	    conf->nlanes > FERRY_WAN_LANES_MAX || conf->mp == NULL ||
	    !rte_is_power_of_2(conf->ring_size)) {
		snprintf(err, errlen,
			 "wan dp: queue %u of %u, %u lanes (1..%d), mempool and a power-of-two "
			 "ring size are required",
			 conf->queue_id, conf->nqueues, conf->nlanes, FERRY_WAN_LANES_MAX);
		goto err;
	}
	if (conf->key.pn_limit > (UINT64_C(1) << PN_SHIFT)) {
		snprintf(err, errlen, "wan dp: pn limit above 2^%d (the lanes see epoch<<%d | pn)",
			 PN_SHIFT, PN_SHIFT);
		goto err;
	}
	size_t room = rte_pktmbuf_data_room_size(conf->mp);
	if (room < RTE_PKTMBUF_HEADROOM + FERRY_WAN_ETH_LEN + (size_t)conf->link.mtu) {
		snprintf(err, errlen, "wan dp: mbuf data room %zu cannot hold a %u-byte IP packet",
			 room - RTE_PKTMBUF_HEADROOM, conf->link.mtu);
		goto err;
	}
	dp = rte_zmalloc_socket("ferry_wan_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE, conf->socket_id);
	if (dp == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "wan dp: out of memory");
		goto err;
	}
	dp->conf = *conf;
	ferry_wan_keybox_init(&dp->box);
	rc = ferry_wan_ep_init(&dp->ep, &conf->link, &conf->key, err, errlen);
	if (rc != 0)
		goto out_free_dp;

	uint64_t now = ferry_wan_dp_now();
	uint16_t maxp = (uint16_t)ferry_wan_max_payload(conf->link.mtu);
	for (uint8_t l = 0; l < conf->nlanes; l++) {
		if (ferry_wan_dp_lane_queue(l, conf->nqueues) != conf->queue_id)
			continue;
		struct ferry_wan_lane_tx_conf tc = conf->lane_tx;
		tc.lane = l;
		tc.max_payload = maxp;
		tc.pkt_overhead = FERRY_WAN_HDRS_LEN + FERRY_WAN_TAG_LEN;
		tc.rate.seed = tc.rate.seed * 31 + l;
		dp->tx[l] = ferry_wan_lane_tx_create(&tc, now, err, errlen);
		if (dp->tx[l] == NULL) {
			rc = -errno;
			goto out_free_lanes;
		}
		struct ferry_wan_lane_rx_conf rcf = conf->lane_rx;
		rcf.lane = l;
		rcf.max_payload = maxp;
		dp->rx[l] = ferry_wan_lane_rx_create(&rcf, err, errlen);
		if (dp->rx[l] == NULL) {
			rc = -errno;
			goto out_free_lanes;
		}
		dp->lanes[dp->nlanes++] = l;
	}
	dp->in = ring_make(conf, "in", sizeof(struct ferry_wan_dp_batch));
	if (dp->in == NULL)
		goto err_ring;
	dp->out = ring_make(conf, "out", sizeof(struct ferry_wan_dp_delivery));
	if (dp->out == NULL)
		goto out_free_in;
	dp->done = ring_make(conf, "done", sizeof(struct ferry_wan_dp_done));
	if (dp->done == NULL)
		goto out_free_out;
	dp->next_event = UINT64_MAX;
	return dp;

out_free_out:
	rte_ring_free(dp->out);
out_free_in:
	rte_ring_free(dp->in);
err_ring:
	rc = -rte_errno;
	snprintf(err, errlen, "wan dp: queue %u rings: %s", conf->queue_id, rte_strerror(rte_errno));
out_free_lanes:
	for (unsigned l = 0; l < FERRY_WAN_LANES_MAX; l++) {
		ferry_wan_lane_tx_free(dp->tx[l]);
		ferry_wan_lane_rx_free(dp->rx[l]);
	}
	ferry_wan_ep_fini(&dp->ep);
out_free_dp:
	rte_free(dp);
err:
	errno = rc < 0 ? -rc : EINVAL;
	return NULL;
}

void
ferry_wan_dp_free(struct ferry_wan_dp *dp)
{
	if (dp == NULL)
		return;
	rte_pktmbuf_free_bulk(dp->txb, dp->ntx);
	rte_ring_free(dp->in);
	rte_ring_free(dp->out);
	rte_ring_free(dp->done);
	for (unsigned l = 0; l < FERRY_WAN_LANES_MAX; l++) {
		ferry_wan_lane_tx_free(dp->tx[l]);
		ferry_wan_lane_rx_free(dp->rx[l]);
	}
	ferry_wan_ep_fini(&dp->ep);
	for (unsigned i = 0; i < FERRY_WAN_KEYBOX_SLOTS; i++)
		ferry_wan_key_wipe(&dp->box.slot[i].km);
	rte_free(dp);
}

/* ---- producer / consumer side ------------------------------------------------------------ */

int
ferry_wan_dp_send(struct ferry_wan_dp *dp, uint8_t lane, const void *data, uint32_t len,
		  uint64_t cookie)
{
	if (lane >= FERRY_WAN_LANES_MAX || dp->tx[lane] == NULL)
		return -EINVAL;
	struct ferry_wan_dp_batch b = { .data = data, .cookie = cookie, .len = len, .lane = lane };
	return rte_ring_enqueue_elem(dp->in, &b, sizeof(b)) == 0 ? 0 : -ENOBUFS;
}

unsigned
ferry_wan_dp_done(struct ferry_wan_dp *dp, struct ferry_wan_dp_done *out, unsigned n)
{
	return rte_ring_dequeue_burst_elem(dp->done, out, sizeof(*out), n, NULL);
}

unsigned
ferry_wan_dp_recv(struct ferry_wan_dp *dp, struct ferry_wan_dp_delivery *out, unsigned n)
{
	return rte_ring_dequeue_burst_elem(dp->out, out, sizeof(*out), n, NULL);
}

void
ferry_wan_dp_release(struct ferry_wan_dp *dp, uint8_t lane)
{
	if (lane < FERRY_WAN_LANES_MAX)
		atomic_fetch_add_explicit(&dp->released[lane], 1, memory_order_release);
}

/* ---- worker: receive ----------------------------------------------------------------------- */

static inline uint64_t
lane_pn(uint32_t epoch, uint64_t pn)
{
	return (uint64_t)epoch << PN_SHIFT | pn;
}

static void
rx_frame(struct ferry_wan_dp *dp, struct rte_mbuf *m, uint64_t now)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint8_t *p;

	dp->st.rx_pkts++;
	dp->st.rx_bytes += len;
	if (m->nb_segs == 1) {
		p = rte_pktmbuf_mtod(m, uint8_t *);
	} else {
		/* ferry_wan_pkt_open needs one writable buffer; a frame larger than any MTU
		 * allows is cut to the scratch size and fails the length checks. */
		if (len > sizeof(dp->scratch))
			len = sizeof(dp->scratch);
		p = dp->scratch;
		const void *src = rte_pktmbuf_read(m, 0, len, dp->scratch);
		if (src != dp->scratch)
			memcpy(dp->scratch, src, len);
		dp->st.rx_linearized++;
	}

	struct ferry_wan_hdr h;
	struct ferry_span payload;
	if (ferry_wan_pkt_open(&dp->ep, p, len, &h, &payload) != FERRY_WAN_DROP_NONE)
		return; /* counted by reason in ep.st */
	if (h.lane >= FERRY_WAN_LANES_MAX || dp->rx[h.lane] == NULL) {
		dp->st.rx_not_ours++;
		return;
	}
	switch (h.type) {
	case FERRY_WAN_T_DATA: {
		dp->st.rx_data++;
		h.pn = lane_pn(h.epoch, h.pn);
		if (ferry_wan_lane_rx_input(dp->rx[h.lane], &h, payload, now) != FERRY_WAN_LANE_RX_OK)
			dp->st.rx_lane_drop++;
		break;
	}
	case FERRY_WAN_T_ACK: {
		struct ferry_wan_ack ack;
		dp->st.rx_acks++;
		if (ferry_wan_ack_decode(payload, &ack, NULL, 0) != 0 ||
		    ferry_wan_lane_tx_on_ack(dp->tx[h.lane], &ack, now) < 0)
			dp->st.rx_bad_ack++;
		break;
	}
	default:
		dp->st.rx_other++;
		break;
	}
}

/* ---- worker: transmit ---------------------------------------------------------------------- */

static bool
can_seal(const struct ferry_wan_dp *dp)
{
	const struct ferry_wan_keyset *ks = &dp->ep.ks;
	return ks->tx_valid && ks->tx_pn < ks->conf.pn_limit;
}

/* Build one packet of 'len' plaintext bytes at src into a new mbuf at the end of the tx
 * buffer. h: type, lane, flags, seq and fragment fields; the packet layer sets the rest. */
static int
tx_build(struct ferry_wan_dp *dp, struct ferry_wan_hdr *h, const uint8_t *src, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->conf.mp);
	if (m == NULL) {
		dp->st.tx_nombuf++;
		return -ENOMEM;
	}
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(FERRY_WAN_HDRS_LEN + len +
								FERRY_WAN_TAG_LEN));
	if (p == NULL) {
		rte_pktmbuf_free(m);
		dp->st.tx_refused++;
		return -EMSGSIZE;
	}
	int rc = ferry_wan_pkt_build(&dp->ep, h, p, src, p + FERRY_WAN_HDRS_LEN, len);
	if (rc != 0) {
		rte_pktmbuf_free(m);
		dp->st.tx_refused++;
		return rc;
	}
	dp->txb[dp->ntx++] = m;
	return 0;
}

static unsigned
tx_flush(struct ferry_wan_dp *dp)
{
	if (dp->ntx == 0)
		return 0;
	if (dp->conf.tx_tap)
		dp->conf.tx_tap(dp->conf.tx_tap_arg, dp->txb, dp->ntx);
	uint16_t sent = rte_eth_tx_burst(dp->conf.port_id, dp->conf.queue_id, dp->txb, dp->ntx);
	for (uint16_t i = 0; i < sent; i++)
		dp->st.tx_bytes += rte_pktmbuf_pkt_len(dp->txb[i]);
	dp->st.tx_pkts += sent;
	/* Keep what the port did not take, in order, for the next poll (l2fwd's tx buffer): a
	 * busy port slows the lanes down instead of losing packets. */
	if (sent < dp->ntx) {
		memmove(dp->txb, dp->txb + sent, (dp->ntx - sent) * sizeof(dp->txb[0]));
		dp->st.tx_full++;
	}
	dp->ntx -= sent;
	return sent;
}

static unsigned
send_acks(struct ferry_wan_dp *dp, uint64_t now)
{
	unsigned n = 0;
	for (unsigned i = 0; i < dp->nlanes && dp->ntx < TXBUF && can_seal(dp); i++) {
		struct ferry_wan_lane_rx *rx = dp->rx[dp->lanes[i]];
		if (!ferry_wan_lane_rx_ack_due(rx, now))
			continue;
		struct ferry_wan_ack ack;
		uint8_t buf[FERRY_WAN_ACK_MAX_LEN];
		struct ferry_wr w;
		ferry_wan_lane_rx_build_ack(rx, now, &ack);
		ferry_wr_init(&w, buf, sizeof(buf));
		if (ferry_wan_ack_encode(&w, &ack) != 0)
			continue;
		struct ferry_wan_hdr h = { .type = FERRY_WAN_T_ACK, .lane = dp->lanes[i] };
		if (tx_build(dp, &h, buf, w.len) == 0) {
			dp->st.tx_acks++;
			n++;
		}
	}
	return n;
}

/* Batches from the in ring into their lanes; a lane with a full send buffer keeps one in its
 * stash, and a second batch for it stops the ring (head of line) until the stash drains. */
static unsigned
take_batches(struct ferry_wan_dp *dp)
{
	unsigned n = 0;
	for (unsigned i = 0; i < dp->nlanes; i++) {
		uint8_t l = dp->lanes[i];
		if (!dp->stash_valid[l])
			continue;
		struct ferry_wan_dp_batch *b = &dp->stash[l];
		if (ferry_wan_lane_tx_push(dp->tx[l], b->data, b->len, b->cookie) == -ENOBUFS)
			continue;
		dp->stash_valid[l] = false;
		dp->st.batches_in++;
		n++;
	}
	for (;;) {
		struct ferry_wan_dp_batch b;
		if (dp->hol_valid) {
			if (dp->stash_valid[dp->hol.lane])
				break;
			b = dp->hol;
			dp->hol_valid = false;
		} else if (rte_ring_dequeue_elem(dp->in, &b, sizeof(b)) != 0) {
			break;
		}
		if (dp->stash_valid[b.lane]) {
			dp->hol = b;
			dp->hol_valid = true;
			break;
		}
		int rc = ferry_wan_lane_tx_push(dp->tx[b.lane], b.data, b.len, b.cookie);
		if (rc == -ENOBUFS) {
			dp->stash[b.lane] = b;
			dp->stash_valid[b.lane] = true;
		} else if (rc != 0) {
			struct ferry_wan_dp_done d = { .cookie = b.cookie, .status = rc,
						       .lane = b.lane };
			/* The done ring holds ring_size entries, like in: it has room unless the
			 * producer stopped reading completions, and then it loses its own. */
			rte_ring_enqueue_elem(dp->done, &d, sizeof(d));
			dp->st.batches_rejected++;
		} else {
			dp->st.batches_in++;
		}
		n++;
	}
	return n;
}

/* Paced DATA: one fragment per lane per round, round-robin, until the tx buffer is full or no
 * lane may send. */
static unsigned
send_data(struct ferry_wan_dp *dp, uint64_t now)
{
	unsigned n = 0;
	bool any = true;
	while (any && dp->ntx < TXBUF && can_seal(dp)) {
		any = false;
		for (unsigned k = 0; k < dp->nlanes && dp->ntx < TXBUF && can_seal(dp); k++) {
			uint8_t l = dp->lanes[(dp->rr + k) % dp->nlanes];
			struct ferry_wan_lane_frag f;
			uint64_t pn = lane_pn(dp->ep.ks.tx_epoch, dp->ep.ks.tx_pn);
			if (ferry_wan_lane_tx_poll(dp->tx[l], now, pn, &f) != 1)
				continue;
			any = true;
			/* A refused build loses the fragment like the network would; the lane
			 * retransmits it. */
			if (tx_build(dp, &f.hdr, f.payload.p, f.payload.len) == 0) {
				dp->st.tx_data++;
				n++;
			}
		}
		dp->rr++;
	}
	return n;
}

/* ---- worker: the poll ----------------------------------------------------------------------- */

static void
publish(struct ferry_wan_dp *dp)
{
	struct ferry_wan_dp_stats *s = &dp->st;
	uint64_t retx = 0, retx_b = 0, pay = 0, rto = 0, srtt = 0, rmin = 0, pace = 0, infl = 0;
	for (unsigned i = 0; i < dp->nlanes; i++) {
		const struct ferry_wan_lane_tx *tx = dp->tx[dp->lanes[i]];
		retx += tx->st.pkts_retx;
		retx_b += tx->st.bytes_retx;
		pay += tx->st.bytes_sent;
		rto += tx->st.rto_fired;
		if (tx->st.srtt_ns > srtt)
			srtt = tx->st.srtt_ns;
		if (tx->st.rtt_samples && (rmin == 0 || tx->st.rtt_min_ns < rmin))
			rmin = tx->st.rtt_min_ns;
		pace += ferry_wan_rate_pacing_bps(&tx->rate);
		infl += tx->inflight;
	}
	s->tx_retx = retx;
	s->tx_retx_bytes = retx_b;
	s->tx_payload_bytes = pay;
	s->rto_fired = rto;
	s->srtt_ns = srtt;
	s->rtt_min_ns = rmin;
	s->pacing_bps = pace;
	s->inflight_bytes = infl;
	s->tx_epoch = dp->ep.ks.tx_valid ? dp->ep.ks.tx_epoch : 0;
	s->rx_ok = dp->ep.st.rx_ok;
	s->rx_drop = dp->ep.st.rx_drop;
	memcpy(s->drop, dp->ep.st.drop, sizeof(s->drop));

	const uint64_t *src = (const uint64_t *)s;
	uint64_t *dst = (uint64_t *)&dp->pub;
	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

unsigned
ferry_wan_dp_poll(struct ferry_wan_dp *dp, uint64_t now)
{
	unsigned work = 0;

	/* Keys first: a new receive epoch must be in before packets under it are opened. */
	unsigned k = ferry_wan_keybox_apply(&dp->box, &dp->ep.ks, now);
	dp->st.keys_installed += k;
	work += k;

	struct rte_mbuf *pkts[BURST];
	uint16_t nrx = rte_eth_rx_burst(dp->conf.port_id, dp->conf.queue_id, pkts, BURST);
	for (uint16_t i = 0; i < nrx; i++)
		rx_frame(dp, pkts[i], now);
	if (nrx)
		rte_pktmbuf_free_bulk(pkts, nrx);
	work += nrx;

	for (unsigned i = 0; i < dp->nlanes; i++) {
		uint8_t l = dp->lanes[i];
		struct ferry_wan_lane_rx *rx = dp->rx[l];
		/* Releases by the consumer return buffer space, so the window reopens. */
		uint64_t rel = atomic_load_explicit(&dp->released[l], memory_order_acquire);
		while (dp->released_seen[l] < rel && ferry_wan_lane_rx_release(rx) == 0) {
			dp->released_seen[l]++;
			work++;
		}
		/* Deliveries: when out is full the batch stays in the lane's buffer, the
		 * buffer fills and the advertised window falls: back-pressure to the sender. */
		struct ferry_wan_lane_batch b;
		while (rte_ring_free_count(dp->out) > 0 && ferry_wan_lane_rx_next_batch(rx, &b) == 1) {
			struct ferry_wan_dp_delivery d = { .seg = { b.seg[0], b.seg[1] },
							   .len = b.len,
							   .first_seq = b.first_seq,
							   .lane = l };
			rte_ring_enqueue_elem(dp->out, &d, sizeof(d));
			dp->st.batches_out++;
			dp->st.goodput_bytes += b.len;
			work++;
		}
		if (rte_ring_free_count(dp->out) == 0)
			dp->st.out_full++;
	}

	work += send_acks(dp, now);
	work += take_batches(dp);
	work += send_data(dp, now);

	for (unsigned i = 0; i < dp->nlanes; i++) {
		uint8_t l = dp->lanes[i];
		uint64_t cookie;
		while (rte_ring_free_count(dp->done) > 0 &&
		       ferry_wan_lane_tx_done(dp->tx[l], &cookie) == 1) {
			struct ferry_wan_dp_done d = { .cookie = cookie, .lane = l };
			rte_ring_enqueue_elem(dp->done, &d, sizeof(d));
			dp->st.batches_done++;
			work++;
		}
	}
	tx_flush(dp);

	uint64_t ev = UINT64_MAX;
	for (unsigned i = 0; i < dp->nlanes; i++) {
		uint8_t l = dp->lanes[i];
		uint64_t t = ferry_wan_lane_tx_next_event(dp->tx[l], now);
		if (t < ev)
			ev = t;
		t = ferry_wan_lane_rx_ack_deadline(dp->rx[l]);
		if (t < ev)
			ev = t;
	}
	dp->next_event = dp->ntx ? now : ev;
	if (work)
		publish(dp);
	return work;
}

void
ferry_wan_dp_run(struct ferry_wan_dp *dp, const atomic_bool *stop)
{
	uint64_t last_pub = 0;
	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		uint64_t now = ferry_wan_dp_now();
		unsigned work = ferry_wan_dp_poll(dp, now);
		if (now - last_pub > 10 * 1000000u) {
			publish(dp); /* gauges and timers move without work too */
			last_pub = now;
		}
		if (work) {
			dp->idle = 0;
			continue;
		}
		if (dp->conf.busy_poll || ++dp->idle < dp->conf.idle_polls)
			continue;
		/* Idle: sleep until the next lane timer, at most idle_sleep_us (packets may
		 * arrive any time and the port cannot wake us). */
		uint64_t max_ns = (uint64_t)dp->conf.idle_sleep_us * 1000;
		uint64_t ns = dp->next_event > now ? dp->next_event - now : 0;
		if (ns > max_ns)
			ns = max_ns;
		if (ns < 20000)
			continue; /* shorter than a sleep's own overhead */
		struct timespec ts = { 0, (long)ns };
		nanosleep(&ts, NULL);
		dp->st.idle_sleeps++;
	}
	publish(dp);
}

bool
ferry_wan_dp_idle(const struct ferry_wan_dp *dp)
{
	for (unsigned i = 0; i < dp->nlanes; i++) {
		uint8_t l = dp->lanes[i];
		if (!ferry_wan_lane_tx_idle(dp->tx[l]) || dp->stash_valid[l])
			return false;
	}
	return !dp->hol_valid && rte_ring_count(dp->in) == 0;
}

/* ---- counters ---------------------------------------------------------------------------- */

void
ferry_wan_dp_stats_read(const struct ferry_wan_dp *dp, struct ferry_wan_dp_stats *out)
{
	const uint64_t *src = (const uint64_t *)&dp->pub;
	uint64_t *dst = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void
ferry_wan_dp_stats_add(struct ferry_wan_dp_stats *sum, const struct ferry_wan_dp_stats *one)
{
	uint64_t srtt = sum->srtt_ns > one->srtt_ns ? sum->srtt_ns : one->srtt_ns;
	uint64_t rmin = sum->rtt_min_ns == 0 ? one->rtt_min_ns
			: one->rtt_min_ns == 0	? sum->rtt_min_ns
			: one->rtt_min_ns < sum->rtt_min_ns ? one->rtt_min_ns
							    : sum->rtt_min_ns;
	uint64_t epoch = sum->tx_epoch > one->tx_epoch ? sum->tx_epoch : one->tx_epoch;
	/* Generated from the list, so no counter can be forgotten or assigned with '=' (STYLE
	 * §13); the gauges that do not add are fixed up after. */
#define CTR_ADD(n, h) sum->n += one->n;
	FERRY_WAN_DP_FOREACH_CTR(CTR_ADD)
#undef CTR_ADD
	for (unsigned d = 0; d < FERRY_WAN_DROP__MAX; d++)
		sum->drop[d] += one->drop[d];
	sum->srtt_ns = srtt;
	sum->rtt_min_ns = rmin;
	sum->tx_epoch = epoch;
}
