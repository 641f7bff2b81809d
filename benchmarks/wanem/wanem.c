/*
 * wanem.c - ferry-wanem, the WAN emulator: a DPDK program that forwards between two ports,
 * A and B, in both directions, and impairs each direction on its own (delay, jitter, random
 * and Gilbert-Elliott loss, reordering, duplication, corruption, a rate-limited bottleneck
 * with a tail-drop queue, scheduled outages). The link model is impair.c; this file is the
 * DPDK glue, the command line, the stats and the JSON report.
 *
 * Threads: one. The main lcore runs both directions in one loop (rx a burst from A, impair,
 * hold, release what is due to B; the same from B to A) and prints the stats itself once per
 * interval. Owns the mbuf pool, both ports and both directions' delay lines.
 *
 * Usage (EAL args, "--", application args):
 *   ferry-wanem --no-huge -m 512 --file-prefix wanem \
 *       --vdev net_memif0,role=server,socket=/tmp/wanem-a.sock,socket-abstract=no \
 *       --vdev net_memif1,role=server,socket=/tmp/wanem-b.sock,socket-abstract=no \
 *       -- --delay 35ms --jitter 2ms --loss 0.5% --rate 1gbit --queue 4MB
 * Port A is the first ethdev, port B the second (vdev order on the command line), unless
 * --port-a/--port-b say otherwise. README.md and netns.sh: tap ports, and iperf3 between
 * two network namespaces through the emulator.
 *
 * Jumbo frames: --mtu N (IP MTU, default 1500) sizes the mbufs for whole frames of 14 + 4
 * (VLAN) + N bytes and sets the ports' MTU where the PMD has the setting. memif has none and
 * carries any frame that fits one of its buffers; the buffers are the memif client's (bsize,
 * default 2048), so the peers, clients of the emulator's two servers, need bsize >= 14 + N:
 * a frame spanning memif buffers corrupts the DPDK 22.11 memif ring (see wan_dpdk.c).
 *
 * Time zero (for --outage) is the first packet received, so a run does not depend on how
 * long the peers take to start. SIGINT/SIGTERM stop it (final stats, --json); SIGUSR1
 * prints the stats and writes --json without stopping. Exit status: 0, 1 runtime failure,
 * 2 bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_common.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "impair.h"

#define PROG        "ferry-wanem"
#define BURST       32
#define NB_RXD      1024
#define NB_TXD      1024
#define POOL_CACHE  256
/* empty polls before the loop starts sleeping (keeps latency low under bursty load) */
#define IDLE_SPINS  16
/* after this long with nothing received or held, sleep DEEP_IDLE_MULT x longer: an idle
 * emulator then costs ~1 % of a core instead of ~10 %; the price is up to that much extra
 * delay for the first packet after a silence */
#define DEEP_IDLE_NS   (10 * 1000000ull)
#define DEEP_IDLE_MULT 10
#define CORRUPT_HDR 128 /* header bytes read to find the payload (VLANs + IPv6 + TCP opts) */

static_assert(BURST <= POOL_CACHE, "a burst must fit the per-lcore mempool cache");

enum dir_id { A2B, B2A, NDIRS };
static const char *const dir_names[NDIRS] = { "a2b", "b2a" };

/* Options that take a per-direction form: --X (both), --a2b-X, --b2a-X. */
#define FOREACH_DIR_OPT(_)                                                                \
	_(DELAY, "delay", "DUR", "one-way delay (e.g. 35ms)")                             \
	_(JITTER, "jitter", "DUR", "jitter added to the delay (e.g. 2ms)")                \
	_(JITTER_DIST, "jitter-dist", "uniform|normal", "jitter distribution (uniform)")  \
	_(LOSS, "loss", "P%", "random loss (e.g. 0.5%)")                                  \
	_(GE, "ge", "P,R[,H,K]", "Gilbert-Elliott burst loss, or p=,r=,loss-bad=,loss-good=") \
	_(REORDER, "reorder", "P%[,DUR]", "hold P% back by DUR (1ms); jitter may reorder") \
	_(DUP, "dup", "P%", "duplicate packets")                                          \
	_(CORRUPT, "corrupt", "P%", "flip one bit in the L4 payload")                     \
	_(RATE, "rate", "RATE", "bottleneck rate (tc units: 100mbit, 1gbit, 125mbps)")    \
	_(QUEUE, "queue", "SIZE", "bottleneck queue, tail drop (default 100 ms at rate)") \
	_(OVERHEAD, "overhead", "BYTES", "per-frame bytes counted by --rate (24 = wire)")  \
	_(LIMIT, "limit", "PKTS", "packets the delay line holds (16384)")                 \
	_(OUTAGE, "outage", "START+LEN[/PERIOD]", "drop everything in a window; repeatable")

enum dir_opt {
#define DIR_OPT_ENUM(id, name, arg, help) DOPT_##id,
	FOREACH_DIR_OPT(DIR_OPT_ENUM)
#undef DIR_OPT_ENUM
	DOPT_MAX
};

static const struct {
	const char *name, *arg, *help;
} dir_opts[DOPT_MAX] = {
#define DIR_OPT_DESC(id, name, arg, help) [DOPT_##id] = { name, arg, help },
	FOREACH_DIR_OPT(DIR_OPT_DESC)
#undef DIR_OPT_DESC
};

/* getopt values: 256 + 32 * (0 both, 1 a2b, 2 b2a) + dir_opt; globals from 512 */
#define DIR_OPT_BASE 256
enum {
	OPT_SEED = 512,
	OPT_STATS_INTERVAL,
	OPT_JSON,
	OPT_DURATION,
	OPT_IDLE_SLEEP,
	OPT_BUSY,
	OPT_PORT_A,
	OPT_PORT_B,
	OPT_MTU,
	OPT_HELP,
};

struct wanem_conf {
	struct ferry_wanem_dir_conf dir[NDIRS];
	uint64_t seed;
	uint64_t stats_interval_ns; /* 0 = only at exit */
	uint64_t duration_ns;       /* 0 = until SIGINT/SIGTERM */
	uint64_t idle_sleep_ns;     /* 0 = busy polling */
	const char *json;
	int port_a, port_b; /* -1 = first / second ethdev */
	uint16_t mtu;       /* 0 = not given: the PMDs' default MTU, 2 KB mbufs */
};

/* One direction: its ports, its link model, the packets the egress port did not take. */
struct wanem_dir {
	uint16_t rx_port, tx_port;
	struct ferry_wanem_dir model;
	struct rte_mbuf *pend[BURST];
	uint32_t pend_len[BURST];
	uint16_t n_pend;
	struct ferry_wanem_stats last; /* at the previous stats line, for rates */
};

struct wanem {
	struct wanem_conf conf;
	struct rte_mempool *pool;
	struct wanem_dir d[NDIRS];
	uint16_t port[2];
	bool started;       /* first packet seen */
	uint64_t t0_ns;     /* CLOCK_MONOTONIC of the first packet: time zero */
	uint64_t begin_ns;  /* CLOCK_MONOTONIC when forwarding began */
	uint64_t last_stats_ns;
};

static atomic_bool force_quit;
static atomic_bool dump_request;

static void
signal_handler(int signum)
{
	if (signum == SIGUSR1)
		atomic_store(&dump_request, true);
	else
		atomic_store(&force_quit, true);
}

static inline uint64_t
mono_ns(void)
{
	/* CLOCK_MONOTONIC rather than the TSC: exact in ns, and the same clock as the probe
	 * and the JSON's t0 (one vDSO call, ~40 ns here, per loop iteration) */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * FERRY_WANEM_NS + (uint64_t)ts.tv_nsec;
}

/* ---- command line ------------------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- [options]\n"
		"Forwards between ports A and B, impairing each direction. Impairment options\n"
		"apply to both directions; prefix with a2b- or b2a- for one (e.g. --a2b-loss 1%%).\n",
		PROG);
	for (int i = 0; i < DOPT_MAX; i++)
		fprintf(stderr, "  --%-12s %-20s %s\n", dir_opts[i].name, dir_opts[i].arg,
			dir_opts[i].help);
	fprintf(stderr,
		"  --seed N                          PRNG seed (1); same seed, same pattern\n"
		"  --stats-interval DUR              periodic stats (1s; 0 = only at exit)\n"
		"  --json FILE                       final stats as JSON (SIGUSR1: write it now)\n"
		"  --duration DUR                    stop after DUR (default: SIGINT/SIGTERM)\n"
		"  --idle-sleep-us N                 sleep up to N us when idle (50; 0 = busy);\n"
		"                                    10x that after 10 ms with nothing in flight\n"
		"  --busy                            busy polling (same as --idle-sleep-us 0)\n"
		"  --port-a ID, --port-b ID          ethdev ids (default: first and second)\n"
		"  --mtu N                           IP MTU to forward, 68..9600 (default: the\n"
		"                                    ports' 1500); mbufs hold whole frames, so\n"
		"                                    lower --limit or raise EAL -m for jumbo\n"
		"Probabilities take a %% sign; durations a unit (ns, us, ms, s). Outage times\n"
		"count from the first packet received; packets arriving in a window are dropped,\n"
		"and so are packets whose release time falls in it.\n");
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *v, const char *what, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (end == s || *end != '\0' || errno != 0 || x > max || s[0] == '-') {
		snprintf(err, errlen, "%s: '%s' is not an integer in [0, %" PRIu64 "]", what, s,
			 max);
		return -EINVAL;
	}
	*v = x;
	return 0;
}

static int
apply_dir_opt(struct ferry_wanem_dir_conf *c, enum dir_opt o, const char *arg, char *err,
	      size_t errlen)
{
	uint64_t v;
	switch (o) {
	case DOPT_DELAY:
		return ferry_wanem_parse_duration(arg, &c->delay_ns, err, errlen);
	case DOPT_JITTER:
		return ferry_wanem_parse_duration(arg, &c->jitter_ns, err, errlen);
	case DOPT_JITTER_DIST:
		if (strcmp(arg, "uniform") == 0) {
			c->jitter_dist = FERRY_WANEM_JITTER_UNIFORM;
		} else if (strcmp(arg, "normal") == 0) {
			c->jitter_dist = FERRY_WANEM_JITTER_NORMAL;
		} else {
			snprintf(err, errlen, "'%s': uniform or normal", arg);
			return -EINVAL;
		}
		return 0;
	case DOPT_LOSS:
		return ferry_wanem_parse_percent(arg, &c->loss, err, errlen);
	case DOPT_GE:
		c->ge_on = true;
		return ferry_wanem_parse_ge(arg, &c->ge, err, errlen);
	case DOPT_REORDER:
		c->reorder_on = true;
		return ferry_wanem_parse_reorder(arg, &c->reorder, &c->reorder_ns, err, errlen);
	case DOPT_DUP:
		return ferry_wanem_parse_percent(arg, &c->dup, err, errlen);
	case DOPT_CORRUPT:
		return ferry_wanem_parse_percent(arg, &c->corrupt, err, errlen);
	case DOPT_RATE:
		return ferry_wanem_parse_rate(arg, &c->rate_bps, err, errlen);
	case DOPT_QUEUE:
		return ferry_wanem_parse_size(arg, &c->queue_bytes, err, errlen);
	case DOPT_OVERHEAD:
		if (parse_u64(arg, 1024, &v, "--overhead", err, errlen) != 0)
			return -EINVAL;
		c->overhead = (uint32_t)v;
		return 0;
	case DOPT_LIMIT:
		if (parse_u64(arg, 1u << 24, &v, "--limit", err, errlen) != 0)
			return -EINVAL;
		c->limit = (uint32_t)v;
		return 0;
	case DOPT_OUTAGE:
		if (c->n_outages == FERRY_WANEM_MAX_OUTAGES) {
			snprintf(err, errlen, "--outage: at most %d per direction",
				 FERRY_WANEM_MAX_OUTAGES);
			return -EINVAL;
		}
		if (ferry_wanem_parse_outage(arg, &c->outages[c->n_outages], err, errlen) != 0)
			return -EINVAL;
		c->n_outages++;
		return 0;
	case DOPT_MAX:
		break;
	}
	return -EINVAL;
}

static int
parse_args(int argc, char **argv, struct wanem_conf *conf, char *err, size_t errlen)
{
	/* 3 forms of each direction option, the globals, the terminator */
	static char names[3 * DOPT_MAX][32];
	struct option opts[3 * DOPT_MAX + 16];
	int n = 0;
	for (int form = 0; form < 3; form++) {
		for (int o = 0; o < DOPT_MAX; o++) {
			snprintf(names[n], sizeof(names[n]), "%s%s",
				 form == 0 ? "" : form == 1 ? "a2b-" : "b2a-", dir_opts[o].name);
			opts[n] = (struct option){ names[n], required_argument, NULL,
						   DIR_OPT_BASE + 32 * form + o };
			n++;
		}
	}
	static const struct option globals[] = {
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "idle-sleep-us", required_argument, NULL, OPT_IDLE_SLEEP },
		{ "busy", no_argument, NULL, OPT_BUSY },
		{ "port-a", required_argument, NULL, OPT_PORT_A },
		{ "port-b", required_argument, NULL, OPT_PORT_B },
		{ "mtu", required_argument, NULL, OPT_MTU },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	memcpy(&opts[n], globals, sizeof(globals));

	memset(conf, 0, sizeof(*conf));
	conf->seed = 1;
	conf->stats_interval_ns = FERRY_WANEM_NS;
	conf->idle_sleep_ns = 50000;
	conf->port_a = conf->port_b = -1;

	int c;
	uint64_t v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c >= DIR_OPT_BASE && c < DIR_OPT_BASE + 3 * 32) {
			int form = (c - DIR_OPT_BASE) / 32;
			enum dir_opt o = (enum dir_opt)((c - DIR_OPT_BASE) % 32);
			for (int d = 0; d < NDIRS; d++) {
				if (form != 0 && form != d + 1)
					continue;
				if (apply_dir_opt(&conf->dir[d], o, optarg, err, errlen) != 0)
					return -EINVAL;
			}
			continue;
		}
		switch (c) {
		case OPT_SEED:
			if (parse_u64(optarg, UINT64_MAX, &conf->seed, "--seed", err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_STATS_INTERVAL:
			if (ferry_wanem_parse_duration(optarg, &conf->stats_interval_ns, err,
						       errlen) != 0)
				return -EINVAL;
			break;
		case OPT_JSON:
			conf->json = optarg;
			break;
		case OPT_DURATION:
			if (ferry_wanem_parse_duration(optarg, &conf->duration_ns, err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_IDLE_SLEEP:
			if (parse_u64(optarg, 1000000, &v, "--idle-sleep-us", err, errlen) != 0)
				return -EINVAL;
			conf->idle_sleep_ns = v * 1000;
			break;
		case OPT_BUSY:
			conf->idle_sleep_ns = 0;
			break;
		case OPT_PORT_A:
		case OPT_PORT_B:
			if (parse_u64(optarg, RTE_MAX_ETHPORTS - 1, &v, "--port-a/--port-b", err,
				      errlen) != 0)
				return -EINVAL;
			*(c == OPT_PORT_A ? &conf->port_a : &conf->port_b) = (int)v;
			break;
		case OPT_MTU:
			if (parse_u64(optarg, 9600, &v, "--mtu", err, errlen) != 0)
				return -EINVAL;
			if (v < RTE_ETHER_MIN_MTU) {
				snprintf(err, errlen, "--mtu: %" PRIu64 " is below %u", v,
					 RTE_ETHER_MIN_MTU);
				return -EINVAL;
			}
			conf->mtu = (uint16_t)v;
			break;
		case OPT_HELP:
			usage();
			return 1;
		default:
			snprintf(err, errlen, "unknown option (see -- --help)");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* ---- ports ----------------------------------------------------------------------------- */

/* Largest frame of an IP MTU: Ethernet header and one VLAN tag (we forward any L2). */
static uint32_t
frame_len(uint16_t mtu)
{
	return RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + (uint32_t)mtu;
}

/*
 * The port's rxmode.mtu for --mtu: the MTU itself when the PMD takes it (dev_info, the
 * overhead rte_eth_dev_configure assumes). memif has no MTU setting and reports 1518-byte
 * frames, yet carries whatever fits one of its buffers: there, check the buffers instead
 * (a client's bsize; a server uses its clients' and can only say so). Anything else that
 * cannot take the MTU is an error: it would drop the big frames we are asked to forward.
 */
static int
port_mtu(uint16_t port, uint16_t mtu, uint32_t *rx_mtu, char *err, size_t errlen)
{
	struct rte_eth_dev_info di;
	int ret = rte_eth_dev_info_get(port, &di);
	if (ret != 0) {
		snprintf(err, errlen, "port %u: device info: %s", port, rte_strerror(-ret));
		return ret;
	}
	uint32_t overhead = di.max_mtu != UINT16_MAX && di.max_rx_pktlen > di.max_mtu
				    ? di.max_rx_pktlen - di.max_mtu
				    : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	if (di.driver_name != NULL && strcmp(di.driver_name, "net_memif") == 0) {
		const struct rte_devargs *da = di.device ? rte_dev_devargs(di.device) : NULL;
		struct rte_kvargs *kv = da && da->args ? rte_kvargs_parse(da->args, NULL) : NULL;
		const char *role = kv ? rte_kvargs_get(kv, "role") : NULL;
		const char *bs = kv ? rte_kvargs_get(kv, "bsize") : NULL;
		unsigned long bsize = bs ? strtoul(bs, NULL, 10) : 2048;
		bool client = role == NULL || strstr(role, "client") || strstr(role, "slave");
		rte_kvargs_free(kv);
		if (client && bsize < frame_len(mtu)) {
			snprintf(err, errlen,
				 "port %u (net_memif client): bsize %lu is below the %u-byte frames "
				 "of --mtu %u; add bsize=%u to its devargs",
				 port, bsize, frame_len(mtu), mtu, RTE_ALIGN_CEIL(frame_len(mtu), 1024));
			return -EINVAL;
		}
		if (!client && frame_len(mtu) > 2048)
			printf("%s: port %u (net_memif server): --mtu %u needs the clients' bsize "
			       ">= %u\n", PROG, port, mtu, frame_len(mtu));
		*rx_mtu = mtu + overhead <= di.max_rx_pktlen ? mtu : 0;
		return 0;
	}
	if (mtu < di.min_mtu || mtu > di.max_mtu || mtu + overhead > di.max_rx_pktlen) {
		snprintf(err, errlen, "port %u (%s) takes MTU %u..%u, frames up to %u bytes: not "
			 "--mtu %u", port, di.driver_name ? di.driver_name : "?", di.min_mtu,
			 di.max_mtu, di.max_rx_pktlen, mtu);
		return -ENOTSUP;
	}
	*rx_mtu = mtu;
	return 0;
}

static int
port_init(uint16_t port, uint16_t mtu, struct rte_mempool *pool, char *err, size_t errlen)
{
	struct rte_eth_conf pconf;
	uint16_t nb_rxd = NB_RXD, nb_txd = NB_TXD;
	char name[RTE_ETH_NAME_MAX_LEN] = "?";
	int ret;

	memset(&pconf, 0, sizeof(pconf));
	if (mtu != 0 && (ret = port_mtu(port, mtu, &pconf.rxmode.mtu, err, errlen)) != 0)
		return ret;
	ret = rte_eth_dev_configure(port, 1, 1, &pconf);
	if (ret != 0)
		goto out_err;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (ret != 0)
		goto out_err;
	int socket = rte_eth_dev_socket_id(port);
	if (socket < 0)
		socket = (int)rte_socket_id();
	ret = rte_eth_rx_queue_setup(port, 0, nb_rxd, (unsigned int)socket, NULL, pool);
	if (ret != 0)
		goto out_err;
	ret = rte_eth_tx_queue_setup(port, 0, nb_txd, (unsigned int)socket, NULL);
	if (ret != 0)
		goto out_err;
	ret = rte_eth_dev_start(port);
	if (ret != 0)
		goto out_err;
	/* a tap or a NIC must pass frames for any MAC: we are a wire, not a host. Not every
	 * PMD implements it (memif, ring): ignore failures. */
	(void)rte_eth_promiscuous_enable(port);
	return 0;

out_err:
	rte_eth_dev_get_name_by_port(port, name);
	snprintf(err, errlen, "port %u (%s): %s", port, name, rte_strerror(-ret));
	return ret < 0 ? ret : -EIO;
}

/* ---- forwarding ------------------------------------------------------------------------ */

/* Flips bit number `bit` of the packet, walking a segment chain if needed. */
static void
mbuf_flip_bit(struct rte_mbuf *m, uint64_t bit)
{
	uint64_t byte = bit / 8;
	for (struct rte_mbuf *seg = m; seg != NULL; seg = seg->next) {
		if (byte < seg->data_len) {
			rte_pktmbuf_mtod(seg, uint8_t *)[byte] ^= (uint8_t)(1u << (bit % 8));
			return;
		}
		byte -= seg->data_len;
	}
}

static void
corrupt_mbuf(struct rte_mbuf *m, uint64_t draw)
{
	uint8_t buf[CORRUPT_HDR];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint32_t cap = len < CORRUPT_HDR ? len : CORRUPT_HDR;
	const uint8_t *h = rte_pktmbuf_read(m, 0, cap, buf);
	uint64_t bit = ferry_wanem_corrupt_pick(h, h ? cap : 0, len, draw);
	if (bit != UINT64_MAX)
		mbuf_flip_bit(m, bit);
}

/* Sends what the egress port did not take last time, in order; true if it sent any. */
static bool
flush_pending(struct wanem_dir *x)
{
	if (x->n_pend == 0)
		return false;
	uint16_t sent = rte_eth_tx_burst(x->tx_port, 0, x->pend, x->n_pend);
	for (uint16_t i = 0; i < sent; i++)
		x->model.st.tx_bytes += x->pend_len[i];
	x->model.st.tx_pkts += sent;
	if (sent < x->n_pend) {
		x->model.st.tx_retries++;
		memmove(x->pend, x->pend + sent, (x->n_pend - sent) * sizeof(x->pend[0]));
		memmove(x->pend_len, x->pend_len + sent, (x->n_pend - sent) * sizeof(x->pend_len[0]));
	}
	x->n_pend = (uint16_t)(x->n_pend - sent);
	return sent != 0;
}

/*
 * One pass over one direction at CLOCK_MONOTONIC time `mono`: receive a burst and put
 * each packet through the model, then release what is due. Returns whether it moved any
 * packet. @locality main lcore
 */
static bool
dir_poll(struct wanem *w, struct wanem_dir *x, uint64_t mono)
{
	struct rte_mbuf *rx[BURST];
	bool work = false;
	uint16_t nb = rte_eth_rx_burst(x->rx_port, 0, rx, BURST);
	/* stamp arrivals after the poll: a clock read before it could predate a packet
	 * that landed while the other direction was being served */
	if (nb != 0)
		mono = mono_ns();
	if (nb != 0 && !w->started) {
		w->started = true;
		w->t0_ns = mono;
	}
	uint64_t now = w->started ? mono - w->t0_ns : 0;
	for (uint16_t i = 0; i < nb; i++) {
		struct rte_mbuf *m = rx[i];
		uint32_t len = rte_pktmbuf_pkt_len(m);
		struct ferry_wanem_verdict v;
		ferry_wanem_dir_classify(&x->model, now, len, &v);
		if (v.drop != FERRY_WANEM_PASS) {
			rte_pktmbuf_free(m);
			continue;
		}
		struct rte_mbuf *copy = NULL;
		if (v.dup) {
			/* a deep copy made before corruption: only the original is damaged */
			copy = rte_pktmbuf_copy(m, w->pool, 0, UINT32_MAX);
			if (copy == NULL)
				ferry_wanem_dir_count_drop(&x->model, FERRY_WANEM_DROP_NOMBUF);
		}
		if (v.corrupt)
			corrupt_mbuf(m, v.corrupt_draw);
		if (ferry_wanem_dir_enqueue(&x->model, now, m, len) != FERRY_WANEM_PASS)
			rte_pktmbuf_free(m);
		if (copy != NULL && ferry_wanem_dir_enqueue(&x->model, now, copy, len) !=
					    FERRY_WANEM_PASS)
			rte_pktmbuf_free(copy);
	}
	work = nb != 0;

	work |= flush_pending(x);
	if (x->n_pend != 0)
		return work; /* the port is full: keep order, release nothing more now */
	void *out[BURST];
	enum ferry_wanem_drop vd[BURST];
	uint32_t n = ferry_wanem_dir_dequeue(&x->model, now, out, vd, BURST);
	for (uint32_t i = 0; i < n; i++) {
		struct rte_mbuf *m = out[i];
		if (vd[i] != FERRY_WANEM_PASS) {
			rte_pktmbuf_free(m);
			continue;
		}
		x->pend_len[x->n_pend] = rte_pktmbuf_pkt_len(m);
		x->pend[x->n_pend++] = m;
	}
	work |= n != 0;
	flush_pending(x);
	return work;
}

/* ---- stats ----------------------------------------------------------------------------- */

static void
print_dir(const struct wanem *w, const struct wanem_dir *x, const char *name, uint64_t now,
	  double dt)
{
	const struct ferry_wanem_stats *s = &x->model.st, *l = &x->last;
	uint64_t backlog = ferry_wanem_dir_backlog(&x->model, now);
	uint64_t qdelay = x->model.link_free_ns > now ? x->model.link_free_ns - now : 0;
	(void)w;
	printf("  %s in %" PRIu64 " pkt %" PRIu64 " B (%.1f kpps %.1f Mbit/s)  out %" PRIu64
	       " pkt %" PRIu64 " B (%.1f kpps %.1f Mbit/s)\n",
	       name, s->rx_pkts, s->rx_bytes, (double)(s->rx_pkts - l->rx_pkts) / dt / 1e3,
	       (double)(s->rx_bytes - l->rx_bytes) * 8 / dt / 1e6, s->tx_pkts, s->tx_bytes,
	       (double)(s->tx_pkts - l->tx_pkts) / dt / 1e3,
	       (double)(s->tx_bytes - l->tx_bytes) * 8 / dt / 1e6);
	printf("      dropped %" PRIu64 " (", s->dropped);
	for (int r = 1; r < FERRY_WANEM_DROP_MAX; r++)
		printf("%s%s %" PRIu64, r > 1 ? ", " : "", ferry_wanem_drop_names[r], s->drop[r]);
	printf(")  dup %" PRIu64 " corrupt %" PRIu64 " reorder %" PRIu64 "\n", s->duplicated,
	       s->corrupted, s->reordered);
	printf("      held %u pkt %" PRIu64 " B, bottleneck queue %" PRIu64 " B %.3f ms, "
	       "tx retries %" PRIu64 "\n",
	       x->model.held, x->model.held_bytes, backlog, (double)qdelay / 1e6, s->tx_retries);
}

static void
print_stats(struct wanem *w, uint64_t mono, bool final)
{
	uint64_t now = w->started ? mono - w->t0_ns : 0;
	uint64_t since = w->last_stats_ns ? w->last_stats_ns : w->begin_ns;
	double dt = (double)(mono - since) / 1e9;
	if (dt <= 0)
		dt = 1e-9;
	printf("%s %s t=%.3fs (since first packet %.3fs)\n", PROG, final ? "final" : "stats",
	       (double)(mono - w->begin_ns) / 1e9, (double)now / 1e9);
	for (int d = 0; d < NDIRS; d++) {
		print_dir(w, &w->d[d], dir_names[d], now, dt);
		w->d[d].last = w->d[d].model.st;
	}
	fflush(stdout);
	w->last_stats_ns = mono;
}

static void
json_dir(FILE *f, const struct wanem_dir *x, uint64_t now)
{
	const struct ferry_wanem_stats *s = &x->model.st;
	const struct ferry_wanem_dir_conf *c = &x->model.conf;
#define JSON_COUNTER(name, help) fprintf(f, "\"%s\": %" PRIu64 ", ", #name, s->name);
	FERRY_WANEM_FOREACH_COUNTER(JSON_COUNTER)
#undef JSON_COUNTER
	fprintf(f, "\"drop\": {");
	for (int r = 1; r < FERRY_WANEM_DROP_MAX; r++)
		fprintf(f, "%s\"%s\": %" PRIu64, r > 1 ? ", " : "", ferry_wanem_drop_names[r],
			s->drop[r]);
	uint64_t qdelay = x->model.link_free_ns > now ? x->model.link_free_ns - now : 0;
	fprintf(f,
		"}, \"held_pkts\": %u, \"held_bytes\": %" PRIu64 ", \"pending_tx\": %u, "
		"\"queue_bytes\": %" PRIu64 ", \"queue_delay_ns\": %" PRIu64 ", ",
		x->model.held, x->model.held_bytes, x->n_pend, ferry_wanem_dir_backlog(&x->model, now),
		qdelay);
	fprintf(f,
		"\"conf\": {\"delay_ns\": %" PRIu64 ", \"jitter_ns\": %" PRIu64
		", \"jitter_dist\": \"%s\", \"loss_prob\": %.9g, ",
		c->delay_ns, c->jitter_ns,
		c->jitter_dist == FERRY_WANEM_JITTER_NORMAL ? "normal" : "uniform", c->loss);
	if (c->ge_on)
		fprintf(f, "\"ge\": {\"p\": %.9g, \"r\": %.9g, \"h\": %.9g, \"k\": %.9g}, ", c->ge.p,
			c->ge.r, c->ge.h, c->ge.k);
	else
		fprintf(f, "\"ge\": null, ");
	fprintf(f,
		"\"dup_prob\": %.9g, \"corrupt_prob\": %.9g, \"reorder\": %s, "
		"\"reorder_prob\": %.9g, \"reorder_extra_ns\": %" PRIu64 ", \"rate_bps\": %" PRIu64
		", \"queue_limit_bytes\": %" PRIu64 ", \"overhead_bytes\": %u, \"limit_pkts\": %u, "
		"\"outages\": [",
		c->dup, c->corrupt, c->reorder_on ? "true" : "false", c->reorder, c->reorder_ns,
		c->rate_bps, x->model.queue_bytes, c->overhead, x->model.limit);
	for (uint32_t i = 0; i < c->n_outages; i++)
		fprintf(f, "%s{\"start_ns\": %" PRIu64 ", \"len_ns\": %" PRIu64
			   ", \"period_ns\": %" PRIu64 "}",
			i ? ", " : "", c->outages[i].start_ns, c->outages[i].len_ns,
			c->outages[i].period_ns);
	fprintf(f, "]}");
}

/* Writes FILE.tmp then renames it, so a reader never sees half a report. */
static int
write_json(const struct wanem *w, uint64_t mono, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "--json: path too long");
		return -ENAMETOOLONG;
	}
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "%.*s: %s", (int)(errlen > 64 ? errlen - 64 : 0), tmp,
			 strerror(e));
		return -e;
	}
	uint64_t now = w->started ? mono - w->t0_ns : 0;
	char na[RTE_ETH_NAME_MAX_LEN] = "?", nb[RTE_ETH_NAME_MAX_LEN] = "?";
	rte_eth_dev_get_name_by_port(w->port[0], na);
	rte_eth_dev_get_name_by_port(w->port[1], nb);
	fprintf(f,
		"{\"tool\": \"%s\", \"seed\": %" PRIu64 ", \"elapsed_ns\": %" PRIu64
		", \"t0_mono_ns\": %" PRIu64 ", \"since_t0_ns\": %" PRIu64
		", \"ports\": {\"a\": \"%s\", \"b\": \"%s\"}, \"mtu\": %u",
		PROG, w->conf.seed, mono - w->begin_ns, w->started ? w->t0_ns : 0, now, na, nb,
		w->conf.mtu ? w->conf.mtu : RTE_ETHER_MTU);
	for (int d = 0; d < NDIRS; d++) {
		fprintf(f, ",\n \"%s\": {", dir_names[d]);
		json_dir(f, &w->d[d], now);
		fprintf(f, "}");
	}
	fprintf(f, "}\n");
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

static void
main_loop(struct wanem *w)
{
	const struct wanem_conf *c = &w->conf;
	unsigned int idle = 0;
	w->begin_ns = mono_ns();
	uint64_t last_work = w->begin_ns;
	w->last_stats_ns = 0;
	uint64_t next_stats = c->stats_interval_ns ? w->begin_ns + c->stats_interval_ns
						   : UINT64_MAX;
	while (!atomic_load_explicit(&force_quit, memory_order_relaxed)) {
		uint64_t mono = mono_ns();
		bool work = false;
		for (int d = 0; d < NDIRS; d++)
			work |= dir_poll(w, &w->d[d], mono);
		if (mono >= next_stats) {
			print_stats(w, mono, false);
			next_stats += c->stats_interval_ns;
			if (next_stats <= mono)
				next_stats = mono + c->stats_interval_ns;
		}
		if (atomic_load_explicit(&dump_request, memory_order_relaxed)) {
			/* a snapshot on request: scripts poll it to know the link has drained */
			char err[256];
			atomic_store(&dump_request, false);
			print_stats(w, mono, false);
			if (c->json != NULL && write_json(w, mono, c->json, err, sizeof(err)) != 0)
				fprintf(stderr, "%s: %s\n", PROG, err);
		}
		if (c->duration_ns && mono - w->begin_ns >= c->duration_ns)
			break;
		if (work || c->idle_sleep_ns == 0) {
			idle = 0;
			last_work = mono;
			continue;
		}
		if (++idle < IDLE_SPINS)
			continue;
		/* nothing moves: sleep, but wake for the next release */
		uint64_t now = w->started ? mono - w->t0_ns : 0;
		uint64_t sleep_ns = c->idle_sleep_ns;
		if (mono - last_work > DEEP_IDLE_NS && w->d[A2B].model.held == 0 &&
		    w->d[B2A].model.held == 0)
			sleep_ns *= DEEP_IDLE_MULT;
		for (int d = 0; d < NDIRS; d++) {
			uint64_t next = ferry_wanem_dir_next_release(&w->d[d].model);
			if (next != UINT64_MAX && w->d[d].n_pend == 0) {
				uint64_t wait = next > now ? next - now : 0;
				if (wait < sleep_ns)
					sleep_ns = wait;
			}
		}
		if (sleep_ns > 0) {
			struct timespec ts = { .tv_sec = (time_t)(sleep_ns / FERRY_WANEM_NS),
					       .tv_nsec = (long)(sleep_ns % FERRY_WANEM_NS) };
			nanosleep(&ts, NULL);
		}
	}
}

static void
free_held(struct wanem_dir *x)
{
	void *out[BURST];
	enum ferry_wanem_drop vd[BURST];
	uint32_t n;
	/* the model keeps its counters: held_pkts in the report says what was in flight */
	struct ferry_wanem_stats keep = x->model.st;
	uint32_t held = x->model.held;
	uint64_t held_bytes = x->model.held_bytes;
	while ((n = ferry_wanem_dir_dequeue(&x->model, UINT64_MAX, out, vd, BURST)) != 0)
		rte_pktmbuf_free_bulk((struct rte_mbuf **)out, n);
	x->model.st = keep;
	x->model.held = held;
	x->model.held_bytes = held_bytes;
	rte_pktmbuf_free_bulk(x->pend, x->n_pend);
}

int
main(int argc, char **argv)
{
	struct wanem w;
	char err[512];
	int ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(1, "EAL init failed: %s\n", rte_strerror(rte_errno));
	argc -= ret;
	argv += ret;

	memset(&w, 0, sizeof(w));
	ret = parse_args(argc, argv, &w.conf, err, sizeof(err));
	if (ret > 0) {
		rte_eal_cleanup();
		return 0;
	}
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		usage();
		rte_eal_cleanup();
		return 2;
	}
	/* nanosleep's default 50 us timer slack would double every idle sleep */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	uint16_t ports[RTE_MAX_ETHPORTS], nports = 0, pid;
	RTE_ETH_FOREACH_DEV(pid)
		ports[nports++] = pid;
	if (w.conf.port_a < 0)
		w.conf.port_a = nports > 0 ? ports[0] : -1;
	if (w.conf.port_b < 0)
		w.conf.port_b = nports > 1 ? ports[1] : -1;
	if (w.conf.port_a < 0 || w.conf.port_b < 0 || w.conf.port_a == w.conf.port_b ||
	    !rte_eth_dev_is_valid_port((uint16_t)w.conf.port_a) ||
	    !rte_eth_dev_is_valid_port((uint16_t)w.conf.port_b))
		rte_exit(2, "%s: needs two distinct ports (found %u; add --vdev ...)\n", PROG,
			 nports);
	w.port[0] = (uint16_t)w.conf.port_a;
	w.port[1] = (uint16_t)w.conf.port_b;

	/* Pool: both delay lines full, plus what the rx rings (tap pre-fills them) and the tx
	 * paths may hold, plus the per-lcore caches. */
	uint64_t limit = 0;
	for (int d = 0; d < NDIRS; d++)
		limit += w.conf.dir[d].limit ? w.conf.dir[d].limit : FERRY_WANEM_DEFAULT_LIMIT;
	unsigned int nb_mbufs = (unsigned int)(limit + 2 * (NB_RXD + NB_TXD) + 4 * BURST +
					       (uint64_t)rte_lcore_count() * POOL_CACHE + 1024);
	/* --mtu: every frame in one mbuf (+ CRC, which some NICs store). A chain of 2 KB
	 * mbufs would work too, but would take 5 mbufs from the pool per 9 KB frame where the
	 * pool is sized in packets. */
	uint32_t room = RTE_MBUF_DEFAULT_BUF_SIZE;
	if (w.conf.mtu != 0)
		room = RTE_MAX(room, RTE_PKTMBUF_HEADROOM + frame_len(w.conf.mtu) +
					     RTE_ETHER_CRC_LEN);
	w.pool = rte_pktmbuf_pool_create("wanem_pool", nb_mbufs, POOL_CACHE, 0, (uint16_t)room,
					 (int)rte_socket_id());
	if (w.pool == NULL)
		rte_exit(1, "%s: cannot create a pool of %u mbufs of %u bytes (%s); raise EAL -m "
			 "or lower --limit\n", PROG, nb_mbufs, room, rte_strerror(rte_errno));

	int status = 1;
	int d;
	for (d = 0; d < NDIRS; d++) {
		w.d[d].rx_port = w.port[d];
		w.d[d].tx_port = w.port[1 - d];
		if (ferry_wanem_dir_init(&w.d[d].model, &w.conf.dir[d], w.conf.seed, (unsigned)d,
					 err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s: %s\n", PROG, dir_names[d], err);
			status = 2;
			goto out_fini_dirs;
		}
	}
	int p;
	for (p = 0; p < 2; p++) {
		if (port_init(w.port[p], w.conf.mtu, w.pool, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			goto out_stop_ports;
		}
	}

	signal(SIGINT, signal_handler);
	signal(SIGTERM, signal_handler);
	signal(SIGUSR1, signal_handler);
	char na[RTE_ETH_NAME_MAX_LEN] = "?", nb[RTE_ETH_NAME_MAX_LEN] = "?";
	rte_eth_dev_get_name_by_port(w.port[0], na);
	rte_eth_dev_get_name_by_port(w.port[1], nb);
	printf("%s: A = port %u (%s), B = port %u (%s), seed %" PRIu64 ", %s, mbufs of %u "
	       "bytes (MTU %u)\n", PROG, w.port[0], na, w.port[1], nb, w.conf.seed,
	       w.conf.idle_sleep_ns ? "idle back-off" : "busy polling", room,
	       w.conf.mtu ? w.conf.mtu : RTE_ETHER_MTU);
	fflush(stdout);

	main_loop(&w);

	uint64_t mono = mono_ns();
	print_stats(&w, mono, true);
	status = 0;
	if (w.conf.json != NULL && write_json(&w, mono, w.conf.json, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		status = 1;
	}

out_stop_ports:
	while (p-- > 0) {
		rte_eth_dev_stop(w.port[p]);
		rte_eth_dev_close(w.port[p]);
	}
out_fini_dirs:
	while (d-- > 0) {
		free_held(&w.d[d]);
		ferry_wanem_dir_fini(&w.d[d].model);
	}
	rte_mempool_free(w.pool);
	rte_eal_cleanup();
	return status;
}
