/*
 * wanpeer.c - ferry-wanpeer: one end of a WAN transfer test (issue 5). Two of these, a sender
 * and a receiver, move N deterministic batches over the ferry WAN transport on a DPDK port
 * (memif to each other, or through ferry-wanem), with keys from the TLS 1.3 key channel over
 * localhost TCP. The receiver checks every batch arrives exactly once, in order per lane,
 * byte for byte, and that no injected packet was accepted.
 *
 * Usage (EAL args, "--", application args):
 *   ferry-wanpeer --no-huge -m 512 --file-prefix rx -l 0-1 \
 *       --vdev net_memif0,role=server,socket=/tmp/w.sock,socket-abstract=no -- \
 *       --role recv --ca ca.crt --cert b.crt --key b.key --peer-name gw-a --kc-port 7000 \
 *       --batches 200 --seed 1
 *   ferry-wanpeer ... --vdev net_memif0,role=client,socket=/tmp/w.sock,socket-abstract=no -- \
 *       --role send --ca ca.crt --cert a.crt --key a.key --peer-name gw-b --kc-port 7000 \
 *       --batches 200 --seed 1 [--inject-forged 50 --inject-replay 50 --inject-trunc 50]
 *       [--rekey-at 100] [--rekey-packets 20000]
 * Both sides take the same --batches/--seed/--min-size/--max-size/--lanes/--queues/--mtu
 * (the key channel refuses a peer with another MTU).
 *
 * Jumbo frames (--mtu up to 9000): the mbuf pool's data room holds a whole 14 + MTU frame
 * (ferry_wan_dp_data_room) and the port is configured for the MTU where the PMD has the
 * setting (ferry_wan_dp_port_mtu). memif has none and carries any frame that fits one of its
 * buffers, bsize bytes (default 2048) of the memif client (the sender of a direct link, both
 * peers behind ferry-wanem): give it bsize=9216. A client with a smaller bsize is refused,
 * since a frame spanning memif buffers corrupts the DPDK 22.11 memif ring (wan_dpdk.c).
 *
 * Threads: the main lcore runs the key channel, the batch producer (sender) or the checker
 * (receiver) and the end-of-run exchange; one worker lcore per queue runs ferry_wan_dp_run.
 * The injector runs inside the workers' tx tap (their own queue, their own thread).
 *
 * End of run: the sender, once every batch is acknowledged, sends its counters on the key
 * channel (APP "DONE ..."); the receiver waits until it has seen every packet the sender put
 * on the wire (or 1 s of quiet), checks, replies "RESULT ok|fail", and both exit 0 only on ok.
 * Exit 77 when the environment cannot run DPDK (no port, memory).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "ferry/common.h"
#include "ferry/wan.h"
#include "ferry/wan_dpdk.h"
#include "ferry/wan_keychan.h"
#include "ferry/wan_lane.h"

#define PROG     "ferry-wanpeer"
#define MAXQ     8
#define NBUF     48 /* sender batch buffers in flight */
#define NS       UINT64_C(1000000000)
#define MS       UINT64_C(1000000)

enum role { ROLE_SEND, ROLE_RECV };

struct opts {
	enum role role;
	uint64_t batches, seed;
	uint32_t min_size, max_size;
	uint8_t lanes;
	uint16_t queues;
	const char *ca, *cert, *key, *peer_name, *kc_host;
	uint16_t kc_port;
	uint16_t udp_port;
	uint64_t rate_mbps;
	uint64_t inject_forged, inject_replay, inject_trunc;
	uint64_t rekey_at, rekey_packets;
	bool busy, lossless;
	uint64_t timeout_s;
	uint32_t lane_buf_kb;
	uint16_t mtu;
};

/* Injection state of one worker's tx tap (that worker's thread only). */
struct injector {
	const struct opts *o;
	uint16_t port, queue;
	struct rte_mempool *mp;
	struct ferry_wan_link_conf link;
	uint64_t rng;
	uint64_t bursts;
	struct rte_mbuf *saved[8]; /* copies of sent packets, replayed later */
	unsigned nsaved;
	_Atomic uint64_t forged, replayed, trunc; /* sent (read by main at the end) */
	uint64_t quota_forged, quota_replay, quota_trunc;
};

static struct opts o;
static struct ferry_wan_dp *dps[MAXQ];
static struct injector inj[MAXQ];
static atomic_bool stop;
/* Each worker's CPU clock (set by the worker when it starts), so the main thread can read
 * the workers' CPU time over the transfer window alone (ferry-bench: goodput per core). */
static clockid_t wclk[MAXQ];
static atomic_bool wclk_set[MAXQ];

/* ---- deterministic batches ---------------------------------------------------------------- */

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Size of batch k: log-uniform in [min, max], so 1-byte and 1 MiB batches both occur. */
static uint32_t
batch_size(uint64_t k)
{
	uint64_t s = o.seed * 0x100000001b3ull ^ k;
	uint64_t r = splitmix(&s);
	uint32_t span = o.max_size - o.min_size;
	if (span == 0)
		return o.min_size;
	unsigned bits = 0;
	while (bits < 32 && (UINT64_C(1) << bits) <= span)
		bits++;
	uint64_t cap = UINT64_C(1) << (r % (bits + 1));
	uint64_t v = splitmix(&s) % (cap < (uint64_t)span + 1 ? cap : (uint64_t)span + 1);
	return o.min_size + (uint32_t)v;
}

static void
batch_fill(uint64_t k, uint8_t *p, uint32_t len)
{
	uint64_t s = o.seed ^ (k * 0xd1342543de82ef95ull) ^ 0x5bd1e995;
	uint32_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t v = splitmix(&s);
		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		uint64_t v = splitmix(&s);
		memcpy(p + i, &v, len - i);
	}
}

/* ---- options ------------------------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- --role send|recv --ca F --cert F --key F --peer-name N\n"
		"  [--kc-host 127.0.0.1] [--kc-port 7000] [--udp-port 4789]\n"
		"  [--batches 200] [--seed 1] [--min-size 1] [--max-size 1048576] [--lanes 4]\n"
		"  [--queues 1] [--rate-mbps 1000] [--lane-buf-kb 4096] [--busy-poll] [--timeout 120]\n"
		"  [--mtu 1500] (IP MTU %u..%u, the same on both peers)\n"
		"  sender: [--inject-forged N] [--inject-replay N] [--inject-trunc N]\n"
		"          [--rekey-at K] (force a rekey after K batches are acknowledged)\n"
		"  both:   [--rekey-packets P] (keyset asks for a rekey every P packets)\n"
		"  recv:   [--lossless] (direct link: every count must match exactly)\n",
		PROG, FERRY_WAN_MTU_MIN, FERRY_WAN_MTU_MAX);
}

static int
num(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *end || end == s || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

static int
parse_opts(int argc, char **argv)
{
	enum { O_ROLE = 256, O_BATCHES, O_SEED, O_MIN, O_MAX, O_LANES, O_QUEUES, O_CA, O_CERT,
	       O_KEY, O_PEER, O_KCHOST, O_KCPORT, O_UDP, O_RATE, O_FORGED, O_REPLAY, O_TRUNC,
	       O_REKEYAT, O_REKEYPK, O_BUSY, O_LOSSLESS, O_TIMEOUT, O_LANEBUF, O_MTU, O_HELP };
	static const struct option lo[] = {
		{ "role", 1, NULL, O_ROLE },	       { "batches", 1, NULL, O_BATCHES },
		{ "seed", 1, NULL, O_SEED },	       { "min-size", 1, NULL, O_MIN },
		{ "max-size", 1, NULL, O_MAX },	       { "lanes", 1, NULL, O_LANES },
		{ "queues", 1, NULL, O_QUEUES },       { "ca", 1, NULL, O_CA },
		{ "cert", 1, NULL, O_CERT },	       { "key", 1, NULL, O_KEY },
		{ "peer-name", 1, NULL, O_PEER },      { "kc-host", 1, NULL, O_KCHOST },
		{ "kc-port", 1, NULL, O_KCPORT },      { "udp-port", 1, NULL, O_UDP },
		{ "rate-mbps", 1, NULL, O_RATE },      { "inject-forged", 1, NULL, O_FORGED },
		{ "inject-replay", 1, NULL, O_REPLAY }, { "inject-trunc", 1, NULL, O_TRUNC },
		{ "rekey-at", 1, NULL, O_REKEYAT },    { "rekey-packets", 1, NULL, O_REKEYPK },
		{ "busy-poll", 0, NULL, O_BUSY },      { "lossless", 0, NULL, O_LOSSLESS },
		{ "timeout", 1, NULL, O_TIMEOUT },     { "lane-buf-kb", 1, NULL, O_LANEBUF },
		{ "mtu", 1, NULL, O_MTU },	       { "help", 0, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;
	bool have_role = false;

	o.batches = 200;
	o.seed = 1;
	o.min_size = 1;
	o.max_size = 1u << 20;
	o.lanes = 4;
	o.queues = 1;
	o.kc_host = "127.0.0.1";
	o.kc_port = 7000;
	o.udp_port = 4789;
	o.rate_mbps = 1000;
	o.timeout_s = 120;
	o.lane_buf_kb = 4096;
	o.mtu = FERRY_WAN_MTU_DEFAULT;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		const char *a = optarg;
		int bad = 0;
		switch (c) {
		case O_ROLE:
			have_role = true;
			if (!strcmp(a, "send"))
				o.role = ROLE_SEND;
			else if (!strcmp(a, "recv"))
				o.role = ROLE_RECV;
			else
				bad = 1;
			break;
		case O_BATCHES: bad = num(a, 1, UINT32_MAX, &o.batches); break;
		case O_SEED: bad = num(a, 0, UINT64_MAX, &o.seed); break;
		case O_MIN: bad = num(a, 1, 1u << 20, &v); o.min_size = (uint32_t)v; break;
		case O_MAX: bad = num(a, 1, 1u << 20, &v); o.max_size = (uint32_t)v; break;
		case O_LANES: bad = num(a, 1, FERRY_WAN_LANES_MAX, &v); o.lanes = (uint8_t)v; break;
		case O_QUEUES: bad = num(a, 1, MAXQ, &v); o.queues = (uint16_t)v; break;
		case O_CA: o.ca = a; break;
		case O_CERT: o.cert = a; break;
		case O_KEY: o.key = a; break;
		case O_PEER: o.peer_name = a; break;
		case O_KCHOST: o.kc_host = a; break;
		case O_KCPORT: bad = num(a, 1, 65535, &v); o.kc_port = (uint16_t)v; break;
		case O_UDP: bad = num(a, 1, 65535, &v); o.udp_port = (uint16_t)v; break;
		case O_RATE: bad = num(a, 1, 100000, &o.rate_mbps); break;
		case O_FORGED: bad = num(a, 0, 1u << 20, &o.inject_forged); break;
		case O_REPLAY: bad = num(a, 0, 1u << 20, &o.inject_replay); break;
		case O_TRUNC: bad = num(a, 0, 1u << 20, &o.inject_trunc); break;
		case O_REKEYAT: bad = num(a, 1, UINT32_MAX, &o.rekey_at); break;
		case O_REKEYPK: bad = num(a, 16, UINT64_C(1) << 30, &o.rekey_packets); break;
		case O_BUSY: o.busy = true; break;
		case O_LOSSLESS: o.lossless = true; break;
		case O_TIMEOUT: bad = num(a, 1, 3600, &o.timeout_s); break;
		case O_LANEBUF: bad = num(a, 64, 1u << 20, &v); o.lane_buf_kb = (uint32_t)v; break;
		case O_MTU:
			bad = num(a, FERRY_WAN_MTU_MIN, FERRY_WAN_MTU_MAX, &v);
			o.mtu = (uint16_t)v;
			break;
		default:
			usage();
			return -1;
		}
		if (bad) {
			fprintf(stderr, "%s: bad value for --%s: %s\n", PROG, lo[c - 256].name, a);
			return -1;
		}
	}
	if (!have_role || !o.ca || !o.cert || !o.key || !o.peer_name || o.min_size > o.max_size) {
		usage();
		return -1;
	}
	if ((uint64_t)o.lane_buf_kb * 1024 < 2 * (uint64_t)o.max_size) {
		fprintf(stderr, "%s: --lane-buf-kb must hold two batches of --max-size\n", PROG);
		return -1;
	}
	return 0;
}

/* ---- injection (worker thread, via the tx tap) -------------------------------------------- */

static struct rte_mbuf *
frame_mbuf(struct rte_mempool *mp, const uint8_t *p, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	if (m == NULL)
		return NULL;
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(d, p, len);
	return m;
}

static void
tap(void *arg, struct rte_mbuf **pkts, uint16_t n)
{
	struct injector *in = arg;
	struct rte_mbuf *out[3];
	unsigned nout = 0;

	if (n == 0)
		return;
	in->bursts++;
	/* Keep a copy of one real packet now and then, to replay a few bursts later (after the
	 * original has certainly arrived on a FIFO link). */
	if (in->quota_replay && in->bursts % 3 == 0) {
		struct rte_mbuf *c = rte_pktmbuf_copy(pkts[0], in->mp, 0, UINT32_MAX);
		if (c) {
			unsigned slot = in->nsaved % 8;
			if (in->nsaved >= 8) {
				/* Replay the oldest before reusing its slot. */
				out[nout++] = in->saved[slot];
				in->quota_replay--;
				atomic_fetch_add(&in->replayed, 1);
			}
			in->saved[slot] = c;
			in->nsaved++;
		}
	}
	if (in->bursts % 2)
		goto send;
	if (in->quota_forged) {
		/* Valid framing, random ferry payload and tag: passes every check up to the AEAD. */
		uint8_t buf[FERRY_WAN_HDRS_LEN + 1400 + FERRY_WAN_TAG_LEN];
		uint32_t plen = 1 + (uint32_t)(splitmix(&in->rng) % 1400);
		struct ferry_wan_hdr h = {
			.version = FERRY_WAN_VERSION,
			.type = FERRY_WAN_T_DATA,
			.lane = (uint8_t)(splitmix(&in->rng) % o.lanes),
			.flags = FERRY_WAN_F_LAST,
			/* the current epoch (below), so the key exists and only the tag fails */
			.pn = (UINT64_C(1) << 39) + (splitmix(&in->rng) % (UINT64_C(1) << 30)),
			.seq = splitmix(&in->rng) % 100000,
			.frag_cnt = 1,
			.len = (uint16_t)plen,
		};
		struct ferry_wan_dp_stats st;
		ferry_wan_dp_stats_read(dps[in->queue], &st);
		h.epoch = (uint32_t)st.tx_epoch;
		if (ferry_wan_hdrs_encode(&in->link, &h, buf) == 0) {
			for (uint32_t i = 0; i < plen + FERRY_WAN_TAG_LEN; i += 8) {
				uint64_t v = splitmix(&in->rng);
				memcpy(buf + FERRY_WAN_HDRS_LEN + i, &v,
				       plen + FERRY_WAN_TAG_LEN - i < 8 ? plen + FERRY_WAN_TAG_LEN - i : 8);
			}
			struct rte_mbuf *m =
			    frame_mbuf(in->mp, buf, FERRY_WAN_HDRS_LEN + plen + FERRY_WAN_TAG_LEN);
			if (m) {
				out[nout++] = m;
				in->quota_forged--;
				atomic_fetch_add(&in->forged, 1);
			}
		}
	}
	if (in->quota_trunc && nout < 3) {
		/* A real packet cut short: the IPv4/UDP lengths promise more than is there. */
		struct rte_mbuf *src = pkts[n - 1];
		uint32_t len = rte_pktmbuf_pkt_len(src);
		uint32_t cut = 1 + (uint32_t)(splitmix(&in->rng) % (len - 1));
		uint8_t buf[FERRY_WAN_ETH_LEN + FERRY_WAN_MTU_MAX];
		const uint8_t *p = rte_pktmbuf_read(src, 0, cut, buf);
		struct rte_mbuf *m = p ? frame_mbuf(in->mp, p, cut) : NULL;
		if (m) {
			out[nout++] = m;
			in->quota_trunc--;
			atomic_fetch_add(&in->trunc, 1);
		}
	}
send:
	if (nout == 0)
		return;
	/* Same thread and queue as the burst that follows: no sharing. Retry: an injected
	 * packet that never leaves would make the exact counts of --lossless wrong. */
	unsigned sent = 0;
	for (int tries = 0; sent < nout && tries < 100000; tries++)
		sent += rte_eth_tx_burst(in->port, in->queue, out + sent, (uint16_t)(nout - sent));
	for (unsigned i = sent; i < nout; i++)
		rte_pktmbuf_free(out[i]);
}

static int
worker_main(void *arg)
{
	uint16_t q = (uint16_t)(uintptr_t)arg;
	if (pthread_getcpuclockid(pthread_self(), &wclk[q]) == 0)
		atomic_store(&wclk_set[q], true);
	ferry_wan_dp_run(dps[q], &stop);
	return 0;
}

/* CPU seconds the workers have used so far (those whose clock is known). */
static double
workers_cpu_s(void)
{
	double s = 0;
	for (uint16_t q = 0; q < o.queues; q++) {
		struct timespec ts;
		if (atomic_load(&wclk_set[q]) && clock_gettime(wclk[q], &ts) == 0)
			s += (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	return s;
}

/* CPU seconds of the whole process (every thread) so far. */
static double
process_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- port ---------------------------------------------------------------------------------- */

static int
port_setup(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf pc;
	char msg[256];
	memset(&pc, 0, sizeof(pc));
	int rc = ferry_wan_dp_port_mtu(port, o.mtu, &pc.rxmode.mtu, msg, sizeof(msg));
	if (msg[0])
		fprintf(stderr, "%s: %s\n", PROG, msg);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_configure(port, o.queues, o.queues, &pc);
	if (rc != 0)
		return rc;
	for (uint16_t q = 0; q < o.queues; q++) {
		rc = rte_eth_rx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), NULL, mp);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), NULL);
		if (rc != 0)
			return rc;
	}
	return rte_eth_dev_start(port);
}

static uint64_t
now_ns(void)
{
	return ferry_wan_dp_now();
}

static void
stats_sum(struct ferry_wan_dp_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (uint16_t q = 0; q < o.queues; q++) {
		struct ferry_wan_dp_stats s;
		ferry_wan_dp_stats_read(dps[q], &s);
		ferry_wan_dp_stats_add(sum, &s);
	}
}

static void
print_stats(const char *who, const struct ferry_wan_dp_stats *s)
{
	printf("%s:", who);
	for (unsigned c = 0; c < FERRY_WAN_DP_CTR__MAX; c++) {
		uint64_t v = ferry_wan_dp_ctr_get(s, c);
		if (v)
			printf(" %s=%" PRIu64, ferry_wan_dp_ctr_name(c), v);
	}
	printf("\n%s: drops:", who);
	for (unsigned d = 1; d < FERRY_WAN_DROP__MAX; d++)
		if (s->drop[d])
			printf(" %s=%" PRIu64, ferry_wan_drop_name(d) + strlen("FERRY_WAN_DROP_"),
			       s->drop[d]);
	printf("\n");
}

/* ---- sender ---------------------------------------------------------------------------------- */

static int
run_send(struct ferry_wan_keychan *kc, uint64_t deadline, uint8_t **bufs)
{
	char err[512];
	int freelist[NBUF], nfree = NBUF;
	uint64_t next = 0, done = 0, t0 = 0, bytes = 0;
	double wcpu0 = 0, pcpu0 = 0;
	bool rekeyed = o.rekey_at == 0;

	for (int i = 0; i < NBUF; i++)
		freelist[i] = i;
	while (done < o.batches) {
		if (now_ns() > deadline) {
			fprintf(stderr, "%s: timeout: %" PRIu64 "/%" PRIu64 " batches acknowledged\n",
				PROG, done, o.batches);
			return 1;
		}
		int rc = ferry_wan_keychan_poll(kc, 1, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			return 1;
		}
		if (ferry_wan_keychan_epoch(kc) == 0)
			continue; /* no keys yet */
		if (t0 == 0) {
			t0 = now_ns();
			wcpu0 = workers_cpu_s();
			pcpu0 = process_cpu_s();
		}
		while (next < o.batches && nfree > 0) {
			uint8_t lane = (uint8_t)(next % o.lanes);
			int b = freelist[nfree - 1];
			uint32_t len = batch_size(next);
			batch_fill(next, bufs[b], len);
			struct ferry_wan_dp *dp = dps[ferry_wan_dp_lane_queue(lane, o.queues)];
			if (ferry_wan_dp_send(dp, lane, bufs[b], len, next << 8 | (uint64_t)b) != 0)
				break;
			nfree--;
			next++;
			bytes += len;
		}
		for (uint16_t q = 0; q < o.queues; q++) {
			struct ferry_wan_dp_done d[32];
			unsigned n = ferry_wan_dp_done(dps[q], d, 32);
			for (unsigned i = 0; i < n; i++) {
				if (d[i].status != 0) {
					fprintf(stderr, "%s: batch %" PRIu64 " refused: %d\n", PROG,
						d[i].cookie >> 8, d[i].status);
					return 1;
				}
				freelist[nfree++] = (int)(d[i].cookie & 0xff);
				done++;
			}
		}
		if (!rekeyed && done >= o.rekey_at && ferry_wan_keychan_rekey(kc) == 0) {
			rekeyed = true;
			printf("%s: forced rekey after %" PRIu64 " batches (epoch %u)\n", PROG, done,
			       ferry_wan_keychan_epoch(kc));
		}
	}
	double secs = (double)(now_ns() - t0) / NS;
	double wcpu = workers_cpu_s() - wcpu0, pcpu = process_cpu_s() - pcpu0;
	/* Let the workers finish what is queued (injections, the last ACK processing). */
	for (int i = 0; i < 200; i++) {
		ferry_wan_keychan_poll(kc, 1, err, sizeof(err));
	}
	struct ferry_wan_dp_stats s;
	stats_sum(&s);
	uint64_t forged = 0, replayed = 0, trunc = 0;
	for (uint16_t q = 0; q < o.queues; q++) {
		forged += atomic_load(&inj[q].forged);
		replayed += atomic_load(&inj[q].replayed);
		trunc += atomic_load(&inj[q].trunc);
	}
	print_stats("sender", &s);
	/* Frame sizes: the evidence that a jumbo MTU was really used (tests check it). */
	printf("sender: mtu %u: up to %zu payload bytes per packet; DATA packets carried %.0f "
	       "on average; %" PRIu64 " frames sent, %.0f bytes on average\n",
	       o.mtu, ferry_wan_max_payload(o.mtu),
	       s.tx_data ? (double)s.tx_payload_bytes / (double)s.tx_data : 0.0, s.tx_pkts,
	       s.tx_pkts ? (double)s.tx_bytes / (double)s.tx_pkts : 0.0);
	printf("sender: %" PRIu64 " batches acknowledged in %.2f s; retx %" PRIu64 " pkts (%.2f %% "
	       "of payload bytes); srtt %.3f ms, min rtt %.3f ms; injected forged %" PRIu64
	       " replay %" PRIu64 " trunc %" PRIu64 "; epoch %u, rekeys %" PRIu64 "\n",
	       done, secs, s.tx_retx,
	       s.tx_payload_bytes ? 100.0 * (double)s.tx_retx_bytes / (double)s.tx_payload_bytes : 0,
	       (double)s.srtt_ns / MS, (double)s.rtt_min_ns / MS, forged, replayed, trunc,
	       ferry_wan_keychan_epoch(kc), ferry_wan_keychan_stats(kc)->rekeys_done);
	/* From the first batch handed to the transport to the last acknowledgement. */
	printf("sender: cpu: %" PRIu64 " payload bytes in %.3f s wall; workers %.3f CPU-s, "
	       "process %.3f CPU-s\n", bytes, secs, wcpu, pcpu);
	char msg[256];
	int ml = snprintf(msg, sizeof(msg),
			  "DONE legit=%" PRIu64 " forged=%" PRIu64 " replay=%" PRIu64 " trunc=%" PRIu64
			  " retx=%" PRIu64 " srtt_ns=%" PRIu64 " epoch=%u",
			  s.tx_pkts, forged, replayed, trunc, s.tx_retx, s.srtt_ns,
			  ferry_wan_keychan_epoch(kc));
	if (ferry_wan_keychan_send_app(kc, msg, (size_t)ml, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return 1;
	}
	/* The receiver's verdict. */
	while (now_ns() < deadline) {
		int rc = ferry_wan_keychan_poll(kc, 5, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "%s: waiting for the verdict: %s\n", PROG, err);
			return 1;
		}
		int n = ferry_wan_keychan_recv_app(kc, msg, sizeof(msg) - 1);
		if (n > 0) {
			msg[n] = 0;
			printf("sender: receiver says: %s\n", msg);
			return strncmp(msg, "RESULT ok", 9) == 0 ? 0 : 1;
		}
	}
	fprintf(stderr, "%s: no verdict from the receiver\n", PROG);
	return 1;
}

/* ---- receiver -------------------------------------------------------------------------------- */

static int
run_recv(struct ferry_wan_keychan *kc, uint64_t deadline)
{
	char err[512];
	uint8_t *want = malloc(o.max_size);
	uint64_t next_k[FERRY_WAN_LANES_MAX];
	uint64_t got = 0, bytes = 0, bad = 0, t_first = 0, t_last = 0;
	double wcpu_first = 0, wcpu_last = 0, pcpu_first = 0, pcpu_last = 0;
	bool have_done = false;
	unsigned moved = 1;
	uint64_t legit = 0, forged = 0, replayed = 0, trunc = 0, retx = 0, srtt = 0;
	uint32_t sender_epoch = 0;

	if (want == NULL)
		return 1;
	for (unsigned l = 0; l < FERRY_WAN_LANES_MAX; l++)
		next_k[l] = l;
	while (got < o.batches || !have_done) {
		if (now_ns() > deadline) {
			fprintf(stderr, "%s: timeout: %" PRIu64 "/%" PRIu64 " batches, DONE %s\n", PROG,
				got, o.batches, have_done ? "received" : "not received");
			/* The counters say where packets went (drops by reason, chained frames). */
			struct ferry_wan_dp_stats s;
			stats_sum(&s);
			print_stats("receiver", &s);
			free(want);
			return 1;
		}
		/* Spin while batches arrive; after an empty round wait up to 1 ms, so the checker
		 * does not take a whole core from the workers (and the emulator) on a small host. */
		int rc = ferry_wan_keychan_poll(kc, got < o.batches && moved ? 0 : got < o.batches ? 1 : 2,
						err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			free(want);
			return 1;
		}
		char msg[300];
		int n = ferry_wan_keychan_recv_app(kc, msg, sizeof(msg) - 1);
		if (n > 0) {
			msg[n] = 0;
			if (sscanf(msg,
				   "DONE legit=%" SCNu64 " forged=%" SCNu64 " replay=%" SCNu64
				   " trunc=%" SCNu64 " retx=%" SCNu64 " srtt_ns=%" SCNu64 " epoch=%u",
				   &legit, &forged, &replayed, &trunc, &retx, &srtt, &sender_epoch) == 7)
				have_done = true;
		}
		moved = 0;
		for (uint16_t q = 0; q < o.queues; q++) {
			struct ferry_wan_dp_delivery d[32];
			unsigned nd = ferry_wan_dp_recv(dps[q], d, 32);
			moved += nd;
			for (unsigned i = 0; i < nd; i++) {
				uint8_t l = d[i].lane;
				uint64_t k = next_k[l];
				next_k[l] += o.lanes;
				if (k >= o.batches) {
					fprintf(stderr, "%s: lane %u delivered a batch past the last\n",
						PROG, l);
					bad++;
				} else {
					uint32_t len = batch_size(k);
					batch_fill(k, want, len);
					if (d[i].len != len ||
					    memcmp(d[i].seg[0].p, want, d[i].seg[0].len) != 0 ||
					    (d[i].seg[1].len &&
					     memcmp(d[i].seg[1].p, want + d[i].seg[0].len,
						    d[i].seg[1].len) != 0)) {
						if (bad < 10)
							fprintf(stderr,
								"%s: batch %" PRIu64 " (lane %u) differs: "
								"%" PRIu64 " bytes, want %u\n",
								PROG, k, l, d[i].len, len);
						bad++;
					}
				}
				got++;
				bytes += d[i].len;
				ferry_wan_dp_release(dps[q], l);
			}
		}
		if (moved) {
			t_last = now_ns();
			wcpu_last = workers_cpu_s();
			pcpu_last = process_cpu_s();
			if (t_first == 0) {
				t_first = t_last;
				wcpu_first = wcpu_last;
				pcpu_first = pcpu_last;
			}
		}
	}
	/* Every packet the sender put on the wire (legit and injected) should have reached the
	 * workers; on a lossy link some never will: stop after 1 s without change. */
	struct ferry_wan_dp_stats s;
	uint64_t seen = UINT64_MAX, quiet_since = now_ns();
	for (;;) {
		ferry_wan_keychan_poll(kc, 5, err, sizeof(err));
		stats_sum(&s);
		uint64_t now = now_ns();
		if (s.rx_pkts != seen) {
			seen = s.rx_pkts;
			quiet_since = now;
		}
		if (s.rx_ok + s.rx_drop >= legit + forged + replayed + trunc ||
		    now - quiet_since > NS || now > deadline)
			break;
	}
	print_stats("receiver", &s);
	printf("receiver: mtu %u: %" PRIu64 " frames received, %.0f bytes on average, %" PRIu64
	       " in chained mbufs\n",
	       o.mtu, s.rx_pkts, s.rx_pkts ? (double)s.rx_bytes / (double)s.rx_pkts : 0.0,
	       s.rx_linearized);
	double secs = t_last > t_first ? (double)(t_last - t_first) / NS : 0;
	uint64_t injected = forged + replayed + trunc;
	/* Accepted packets can only be the sender's own, each at most once (the replay window):
	 * more accepted than it sent means something forged or replayed got through. */
	bool ok = bad == 0 && got == o.batches && s.rx_ok <= legit;
	const char *why = bad ? "batches differ" : got != o.batches ? "batches missing" :
			  s.rx_ok > legit ? "accepted more packets than the sender sent" : "";
	if (ok && o.lossless &&
	    (s.rx_ok != legit || s.rx_drop != injected || s.rx_pkts != legit + injected)) {
		ok = false;
		why = "lossless counts differ (rx_ok != legit or drops != injected)";
	}
	if (ok && o.rekey_at && sender_epoch < 2) {
		ok = false;
		why = "no rekey happened";
	}
	printf("receiver: %" PRIu64 "/%" PRIu64 " batches, %" PRIu64 " bytes in %.2f s: goodput "
	       "%.1f Mb/s; sender: legit pkts %" PRIu64 ", retx %" PRIu64 ", srtt %.3f ms; "
	       "injected %" PRIu64 " (forged %" PRIu64 " replay %" PRIu64 " trunc %" PRIu64
	       "), accepted %" PRIu64 " of %" PRIu64 " received, dropped %" PRIu64
	       "; epoch %u; %s%s\n",
	       got, o.batches, bytes, secs, secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0, legit,
	       retx, (double)srtt / MS, injected, forged, replayed, trunc, s.rx_ok, s.rx_pkts,
	       s.rx_drop, sender_epoch, ok ? "OK" : "FAIL: ", why);
	/* From the first delivery to the last (the checker's memcmp is in the process figure). */
	printf("receiver: cpu: %" PRIu64 " payload bytes in %.3f s wall; workers %.3f CPU-s, "
	       "process %.3f CPU-s\n", bytes, secs, wcpu_last - wcpu_first,
	       pcpu_last - pcpu_first);
	char res[128];
	int rl = snprintf(res, sizeof(res), "RESULT %s %s", ok ? "ok" : "fail", why);
	ferry_wan_keychan_send_app(kc, res, (size_t)rl, err, sizeof(err));
	fflush(stdout);
	/* Let the sender close first (it does once it has the verdict): the memif server must
	 * not close its port while the client is still tearing the connection down. */
	for (int i = 0; i < 400; i++)
		if (ferry_wan_keychan_poll(kc, 5, err, sizeof(err)) != 0)
			break;
	for (int i = 0; i < 100; i++) {
		struct rte_eth_link link;
		if (rte_eth_link_get_nowait(0, &link) != 0 || !link.link_status)
			break;
		usleep(10000);
	}
	free(want);
	return ok ? 0 : 1;
}

/* ---- main ---------------------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	char err[512];
	int ret = 1;

	signal(SIGPIPE, SIG_IGN);
	int n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "%s: EAL init failed: %s (skipping)\n", PROG, rte_strerror(rte_errno));
		return 77;
	}
	if (parse_opts(argc - n, argv + n) != 0)
		rte_exit(2, "%s: bad arguments\n", PROG);
	if (rte_eth_dev_count_avail() < 1) {
		fprintf(stderr, "%s: no port (add --vdev net_memif0,...) (skipping)\n", PROG);
		rte_eal_cleanup();
		return 77;
	}
	if (rte_lcore_count() < (unsigned)o.queues + 1)
		rte_exit(2, "%s: %u queues need %u lcores (-l)\n", PROG, o.queues, o.queues + 1);
	uint16_t port = 0;
	/* Every frame in one mbuf (the transport builds each in one). The mbuf count was set
	 * for 2 KB buffers; with larger ones keep about the same memory, but never fewer than
	 * a NIC's rx and tx rings and the lcore caches hold (memif needs far fewer). */
	uint16_t room = ferry_wan_dp_data_room(o.mtu);
	unsigned nmbufs = 8192 * o.queues + 4096;
	if (room > RTE_MBUF_DEFAULT_BUF_SIZE) {
		unsigned floor = 2048 * o.queues + 256 * rte_lcore_count() + 2048;
		nmbufs = (unsigned)((uint64_t)nmbufs * RTE_MBUF_DEFAULT_BUF_SIZE / room);
		nmbufs = RTE_MAX(nmbufs, floor);
	}
	struct rte_mempool *mp =
	    rte_pktmbuf_pool_create("wanpeer", nmbufs, 256, 0, room, rte_socket_id());
	if (mp == NULL)
		rte_exit(77, "%s: mempool: %s (skipping)\n", PROG, rte_strerror(rte_errno));
	if (port_setup(port, mp) != 0)
		rte_exit(1, "%s: port %u setup failed\n", PROG, port);
	/* memif: wait for the peer (or the emulator) to connect, so the first packets are not
	 * sent into a link that is down. A memif client connects when its port starts; if the
	 * server's socket existed but its port was not started yet, the attempt is refused and
	 * not retried: restart the port every 2 s until the link comes up. */
	int up_ms = -1;
	for (int i = 1; i <= 200 && up_ms < 0; i++) {
		struct rte_eth_link link;
		if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status) {
			up_ms = i * 100;
			break;
		}
		usleep(100000);
		if (i % 20 == 0) {
			rte_eth_dev_stop(port);
			rte_eth_dev_start(port);
		}
	}
	if (up_ms < 0)
		fprintf(stderr, "%s: port %u link still down after 20 s; going on\n", PROG, port);

	/* Addresses: the sender is 10.0.0.1, the receiver 10.0.0.2, both on --udp-port. */
	struct ferry_wan_dp_conf dc;
	ferry_wan_dp_conf_default(&dc);
	dc.port_id = port;
	dc.nqueues = o.queues;
	dc.nlanes = o.lanes;
	dc.mp = mp;
	dc.socket_id = (int)rte_socket_id();
	uint32_t me = o.role == ROLE_SEND ? 0x0a000001 : 0x0a000002;
	dc.link.local = (struct ferry_wan_addr){ { 2, 0, 0, 0, 0, (uint8_t)me }, me, o.udp_port };
	dc.link.peer = (struct ferry_wan_addr){ { 2, 0, 0, 0, 0, (uint8_t)(me ^ 3) }, me ^ 3,
						 o.udp_port };
	dc.link.mtu = o.mtu;
	dc.key.replay_window = 1u << 16;
	if (o.rekey_packets) {
		dc.key.rekey_packets = o.rekey_packets;
		dc.key.pn_limit = o.rekey_packets * 8;
	}
	dc.lane_tx.rate.ceiling_bps = o.rate_mbps * 1000000;
	dc.lane_tx.peer_buf = (uint64_t)o.lane_buf_kb * 1024;
	dc.lane_tx.max_batches = NBUF;
	dc.lane_rx.buf_bytes = (uint64_t)o.lane_buf_kb * 1024;
	dc.ring_size = 256;
	dc.busy_poll = o.busy;
	for (uint16_t q = 0; q < o.queues; q++) {
		dc.queue_id = q;
		dc.lane_tx.rate.seed = (uint32_t)o.seed + q;
		if (o.role == ROLE_SEND && (o.inject_forged || o.inject_replay || o.inject_trunc)) {
			struct injector *in = &inj[q];
			in->port = port;
			in->queue = q;
			in->mp = mp;
			in->link = dc.link;
			in->rng = o.seed * 77 + q;
			/* Split the quotas over the queues. */
			in->quota_forged = o.inject_forged / o.queues + (q < o.inject_forged % o.queues);
			in->quota_replay = o.inject_replay / o.queues + (q < o.inject_replay % o.queues);
			in->quota_trunc = o.inject_trunc / o.queues + (q < o.inject_trunc % o.queues);
			dc.tx_tap = tap;
			dc.tx_tap_arg = in;
		}
		dps[q] = ferry_wan_dp_create(&dc, err, sizeof(err));
		if (dps[q] == NULL)
			rte_exit(1, "%s: %s\n", PROG, err);
	}
	unsigned lc = rte_get_next_lcore(-1, 1, 0);
	for (uint16_t q = 0; q < o.queues; q++, lc = rte_get_next_lcore(lc, 1, 0))
		rte_eal_remote_launch(worker_main, (void *)(uintptr_t)q, lc);

	struct ferry_wan_keybox *boxes[MAXQ];
	for (uint16_t q = 0; q < o.queues; q++)
		boxes[q] = ferry_wan_dp_keybox(dps[q]);
	struct ferry_wan_keychan_conf kcc;
	ferry_wan_keychan_conf_default(&kcc);
	kcc.role = o.role == ROLE_SEND ? FERRY_WAN_ROLE_CLIENT : FERRY_WAN_ROLE_SERVER;
	kcc.ca_file = o.ca;
	kcc.cert_file = o.cert;
	kcc.key_file = o.key;
	kcc.peer_name = o.peer_name;
	kcc.host = o.kc_host;
	kcc.port = o.kc_port;
	kcc.timeout_ms = 20000;
	kcc.nqueues = o.queues;
	kcc.nlanes = o.lanes;
	kcc.mtu = dc.link.mtu;
	kcc.boxes = boxes;
	uint64_t deadline = now_ns() + o.timeout_s * NS;
	struct ferry_wan_keychan *kc = ferry_wan_keychan_create(&kcc, err, sizeof(err));
	if (kc == NULL) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		goto out_stop;
	}
	if (ferry_wan_keychan_establish(kc, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		goto out_free_kc;
	}
	printf("%s: %s: key channel up with %s, %u lanes on %u queues\n", PROG,
	       o.role == ROLE_SEND ? "sender" : "receiver", o.peer_name, o.lanes, o.queues);
	fflush(stdout);
	if (o.role == ROLE_SEND) {
		/* The batch buffers outlive run_send: the workers may still read them until
		 * they stop. */
		static uint8_t *bufs[NBUF];
		for (int i = 0; i < NBUF; i++)
			if ((bufs[i] = malloc(o.max_size)) == NULL)
				rte_exit(1, "%s: out of memory\n", PROG);
		ret = run_send(kc, deadline, bufs);
		ferry_wan_keychan_close(kc, 0, ret == 0 ? "done" : "failed");
		atomic_store(&stop, true);
		rte_eal_mp_wait_lcore();
		for (int i = 0; i < NBUF; i++)
			free(bufs[i]);
	} else {
		ret = run_recv(kc, deadline);
	}
	if (o.role == ROLE_RECV)
		ferry_wan_keychan_close(kc, 0, ret == 0 ? "done" : "failed");
out_free_kc:
	ferry_wan_keychan_free(kc);
out_stop:
	atomic_store(&stop, true);
	rte_eal_mp_wait_lcore();
	for (uint16_t q = 0; q < o.queues; q++) {
		for (unsigned i = 0; i < 8 && i < inj[q].nsaved; i++)
			rte_pktmbuf_free(inj[q].saved[i]);
		ferry_wan_dp_free(dps[q]);
	}
	fflush(stdout);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	fflush(stdout);
	return ret;
}
