/*
 * wanem_probe.c - the integration test client of ferry-wanem: a DPDK process with two ports
 * (memif clients of the emulator's ports A and B) that sends N numbered, timestamped,
 * checksummed Ethernet/IPv4/UDP packets A->B and B->A at a paced rate, receives them on the
 * other port, then stops the emulator (SIGTERM to --wanem-pid), reads its --json report and
 * checks what it saw against what the emulator says it did and against the options given:
 * every packet intact and in order, loss within a statistical bound, duplicate and corrupt
 * counts equal to the emulator's, a lower bound on one-way delay and on the time the
 * bottleneck needs, nothing sent in an outage window delivered before the window ends.
 *
 * Only lower bounds on time are checked: a slow machine makes packets later, never earlier,
 * so the checks do not flake on a loaded 2-core VM.
 *
 * Single-threaded (main lcore). Owns its pool, its two ports and the per-packet records.
 * Exit status: 0 all checks passed, 1 a check failed or a runtime error, 2 bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "impair.h"

#define PROG        "wanem_probe"
#define BURST       32
#define PROBE_MAGIC 0x46574550u /* "FWEP" */
#define HDR_LEN     (sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + \
		     sizeof(struct rte_udp_hdr))

enum { A2B, B2A, NDIRS };
static const char *const dir_names[NDIRS] = { "a2b", "b2a" };

/* The UDP payload; filler bytes derived from the sequence number follow it. */
struct probe_payload {
	uint32_t magic;
	uint32_t dir;
	uint32_t seq;
	uint32_t pad;
	uint64_t send_ns;
	uint64_t sum; /* FNV-1a 64 of the payload with this field zero: any one-bit flip shows */
} __rte_packed;

struct probe_conf {
	uint32_t count;
	double pps;
	uint32_t size; /* frame bytes */
	uint64_t drain_ns;
	pid_t wanem_pid;
	const char *wanem_json;
	bool expect_all;
	bool no_drop[NDIRS];
	bool check_loss;
	double loss;
	bool check_dup, check_corrupt;
	double dup, corrupt;
	uint64_t min_delay_ns;
	uint64_t rate_bps;
	uint32_t overhead;
	bool check_outage;
	struct ferry_wanem_outage outage;
	char expect_drop[4][32]; /* "dir:reason" */
	int n_expect_drop;
};

/* What one direction sent and what arrived. */
struct probe_dir {
	uint16_t tx_port, rx_port;
	uint32_t next_seq;
	struct rte_mbuf *held[BURST]; /* built but not taken by the port yet */
	uint16_t n_held;
	uint64_t *send_ns;     /* [count] */
	uint64_t *recv_ns;     /* [count], first intact copy */
	uint8_t *copies;       /* [count], intact copies received */
	uint64_t received;     /* every frame, intact or not */
	uint64_t corrupt;      /* checksum or header mismatch */
	uint64_t dups;         /* intact copies beyond the first */
	uint64_t inversions;   /* an intact packet with a lower seq than the one before */
	int64_t last_seq;
	uint64_t first_send_ns, last_recv_ns;
	uint8_t hdr[HDR_LEN]; /* Ethernet/IPv4/UDP as sent: the same for every packet */
};

struct probe {
	struct probe_conf conf;
	struct rte_mempool *pool;
	struct probe_dir d[NDIRS];
	uint16_t port[2];
};

static int failures;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(ok ? stdout : stderr, "%s: %s ", PROG, ok ? "ok  " : "FAIL");
	vfprintf(ok ? stdout : stderr, fmt, ap);
	fputc('\n', ok ? stdout : stderr);
	va_end(ap);
	if (!ok)
		failures++;
}

static inline uint64_t
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(1099511628211);
	return h;
}

/* ---- packets ----------------------------------------------------------------------------- */

static struct rte_mbuf *
build(struct probe *pr, int dir, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pr->pool);
	if (m == NULL)
		return NULL;
	uint32_t size = pr->conf.size;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)size);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *payload = (uint8_t *)(udp + 1);
	uint32_t plen = size - (uint32_t)HDR_LEN;

	memset(eth, 0, sizeof(*eth));
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[5] = (uint8_t)(0xa + dir);
	eth->dst_addr.addr_bytes[0] = 0x02;
	eth->dst_addr.addr_bytes[5] = (uint8_t)(0xb - dir);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(size - sizeof(*eth)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, 1 + dir));
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, 2 - dir));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(40000);
	udp->dst_port = rte_cpu_to_be_16(40001);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(plen + sizeof(*udp)));
	udp->dgram_cksum = 0; /* optional in IPv4; the payload carries its own sum */

	struct probe_payload h = { .magic = PROBE_MAGIC, .dir = (uint32_t)dir, .seq = seq,
				   .send_ns = mono_ns() };
	memcpy(payload, &h, sizeof(h));
	for (uint32_t i = sizeof(h); i < plen; i++)
		payload[i] = (uint8_t)(seq * 31 + i);
	h.sum = fnv1a(payload, plen);
	memcpy(payload + offsetof(struct probe_payload, sum), &h.sum, sizeof(h.sum));
	pr->d[dir].send_ns[seq] = h.send_ns;
	memcpy(pr->d[dir].hdr, p, HDR_LEN);
	if (seq == 0)
		pr->d[dir].first_send_ns = h.send_ns;
	return m;
}

/* Records one received frame of direction dir (by the port it came in on). */
static void
record(struct probe *pr, int dir, struct rte_mbuf *m, uint64_t now)
{
	struct probe_dir *x = &pr->d[dir];
	uint8_t buf[2048];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	x->received++;
	x->last_recv_ns = now;
	if (len != pr->conf.size || len > sizeof(buf)) {
		x->corrupt++;
		return;
	}
	const uint8_t *p = rte_pktmbuf_read(m, 0, len, buf);
	const uint8_t *payload = p + HDR_LEN;
	uint32_t plen = len - (uint32_t)HDR_LEN;
	struct probe_payload h;
	memcpy(&h, payload, sizeof(h));
	uint8_t tmp[2048];
	memcpy(tmp, payload, plen);
	memset(tmp + offsetof(struct probe_payload, sum), 0, sizeof(h.sum));
	if (fnv1a(tmp, plen) != h.sum || h.magic != PROBE_MAGIC || h.dir != (uint32_t)dir ||
	    h.seq >= pr->conf.count || memcmp(p, x->hdr, HDR_LEN) != 0) {
		x->corrupt++;
		return;
	}
	if (x->copies[h.seq]++ != 0) {
		x->dups++;
		return;
	}
	x->recv_ns[h.seq] = now;
	if ((int64_t)h.seq < x->last_seq)
		x->inversions++;
	x->last_seq = h.seq;
}

static void
poll_rx(struct probe *pr)
{
	struct rte_mbuf *rx[BURST];
	for (int dir = 0; dir < NDIRS; dir++) {
		uint16_t n = rte_eth_rx_burst(pr->d[dir].rx_port, 0, rx, BURST);
		if (n == 0)
			continue;
		uint64_t now = mono_ns();
		for (uint16_t i = 0; i < n; i++)
			record(pr, dir, rx[i], now);
		rte_pktmbuf_free_bulk(rx, n);
	}
}

/* Sends every packet that is due by the pacing, a burst at a time, in order, keeping what a
 * full port did not take for the next call. Returns whether any remain to be sent. */
static bool
send_due(struct probe *pr, uint64_t start)
{
	bool more = false;
	uint64_t now = mono_ns();
	for (int dir = 0; dir < NDIRS; dir++) {
		struct probe_dir *x = &pr->d[dir];
		while (x->n_held < BURST && x->next_seq < pr->conf.count) {
			uint64_t due = start + (uint64_t)((double)x->next_seq * 1e9 / pr->conf.pps);
			if (due > now)
				break;
			struct rte_mbuf *m = build(pr, dir, x->next_seq);
			if (m == NULL)
				break;
			x->held[x->n_held++] = m;
			x->next_seq++;
		}
		if (x->n_held != 0) {
			/* a full memif ring means the emulator is behind: retry next time */
			uint16_t sent = rte_eth_tx_burst(x->tx_port, 0, x->held, x->n_held);
			memmove(x->held, x->held + sent, (x->n_held - sent) * sizeof(x->held[0]));
			x->n_held = (uint16_t)(x->n_held - sent);
		}
		more |= x->next_seq < pr->conf.count || x->n_held != 0;
	}
	return more;
}

/* ---- the emulator's report ----------------------------------------------------------------- */

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *buf = malloc(1 << 16);
	size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* The number after "key": inside direction dir's object (and its "drop" object if drop). */
static int
json_u64(const char *json, int dir, bool drop, const char *key, uint64_t *v)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\": {", dir_names[dir]);
	const char *p = strstr(json, pat);
	if (p == NULL)
		return -ENOENT;
	const char *end = dir == A2B ? strstr(p, "\"b2a\": {") : NULL;
	if (drop && (p = strstr(p, "\"drop\": {")) == NULL)
		return -ENOENT;
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(p, pat);
	if (p == NULL || (end != NULL && p > end))
		return -ENOENT;
	*v = strtoull(p + strlen(pat), NULL, 10);
	return 0;
}

static uint64_t
J(const char *json, int dir, bool drop, const char *key)
{
	uint64_t v = 0;
	if (json_u64(json, dir, drop, key, &v) != 0)
		check(false, "%s: no \"%s\" in the emulator's report", dir_names[dir], key);
	return v;
}

/* |x - n p| <= 6 sigma + 1 */
static void
check_binomial(const char *what, int dir, uint64_t x, uint64_t n, double p)
{
	double mean = (double)n * p, sd = sqrt((double)n * p * (1 - p));
	check(fabs((double)x - mean) <= 6 * sd + 1,
	      "%s: %s %" PRIu64 " of %" PRIu64 " (expected %.0f +- %.0f)", dir_names[dir], what, x,
	      n, mean, 6 * sd + 1);
}

static void
check_dir(struct probe *pr, int dir, const char *json)
{
	const struct probe_conf *c = &pr->conf;
	struct probe_dir *x = &pr->d[dir];
	const char *dn = dir_names[dir];
	uint64_t n = c->count, intact = 0, missing = 0;
	for (uint64_t s = 0; s < n; s++) {
		intact += x->copies[s] != 0;
		missing += x->copies[s] == 0;
	}
	printf("%s: %s sent %" PRIu64 " received %" PRIu64 " (unique intact %" PRIu64
	       ", duplicates %" PRIu64 ", corrupt %" PRIu64 ", out of order %" PRIu64 ")\n",
	       PROG, dn, n, x->received, intact, x->dups, x->corrupt, x->inversions);

	uint64_t rx = J(json, dir, false, "rx_pkts"), tx = J(json, dir, false, "tx_pkts");
	uint64_t dropped = J(json, dir, false, "dropped"), dup = J(json, dir, false, "duplicated");
	uint64_t corrupted = J(json, dir, false, "corrupted");
	uint64_t held = J(json, dir, false, "held_pkts"), pend = J(json, dir, false, "pending_tx");
	check(rx == n, "%s: the emulator received all %" PRIu64 " sent (%" PRIu64 ")", dn, n, rx);
	check(held == 0 && pend == 0, "%s: nothing left in the emulator (held %" PRIu64
				       ", pending %" PRIu64 ")", dn, held, pend);
	check(tx == x->received, "%s: received what the emulator sent (%" PRIu64 " / %" PRIu64 ")",
	      dn, x->received, tx);
	check(rx + dup == tx + dropped + held + pend,
	      "%s: emulator accounting rx + dup = tx + dropped + held", dn);
	uint64_t sum = 0;
	for (int r = 1; r < FERRY_WANEM_DROP_MAX; r++)
		sum += J(json, dir, true, ferry_wanem_drop_names[r]);
	check(sum == dropped, "%s: dropped (%" PRIu64 ") = sum of reasons (%" PRIu64 ")", dn,
	      dropped, sum);
	if (dropped == 0) {
		/* every corrupted packet was delivered; a duplicated packet that was also
		 * corrupted shows as one intact copy and one corrupt one */
		check(x->corrupt == corrupted, "%s: corrupt seen %" PRIu64 " = emulator's %" PRIu64,
		      dn, x->corrupt, corrupted);
		check((int64_t)x->dups - (int64_t)missing == (int64_t)dup - (int64_t)corrupted,
		      "%s: duplicates seen - missing (%" PRIu64 " - %" PRIu64
		      ") = emulator's dup - corrupt (%" PRIu64 " - %" PRIu64 ")",
		      dn, x->dups, missing, dup, corrupted);
	} else {
		check(x->corrupt <= corrupted, "%s: corrupt seen %" PRIu64 " <= emulator's %" PRIu64,
		      dn, x->corrupt, corrupted);
	}

	if (c->expect_all) {
		check(x->corrupt == 0 && x->dups == 0 && x->inversions == 0,
		      "%s: every packet intact, once, in order", dn);
		check(intact + dropped == n, "%s: intact (%" PRIu64 ") + dropped (%" PRIu64
					     ") = sent", dn, intact, dropped);
	}
	if (c->no_drop[dir])
		check(dropped == 0 && intact == n, "%s: no drops, all %" PRIu64 " arrived", dn, n);
	if (c->check_loss) {
		uint64_t jl = J(json, dir, true, "loss");
		check(missing == jl, "%s: missing %" PRIu64 " = emulator's random loss %" PRIu64, dn,
		      missing, jl);
		check_binomial("lost", dir, missing, n, c->loss);
	}
	if (c->check_dup)
		check_binomial("duplicated", dir, dup, n, c->dup);
	if (c->check_corrupt)
		check_binomial("corrupted", dir, corrupted, n, c->corrupt);
	if (c->min_delay_ns) {
		uint64_t worst = UINT64_MAX;
		for (uint64_t s = 0; s < n; s++)
			if (x->copies[s] && x->recv_ns[s] - x->send_ns[s] < worst)
				worst = x->recv_ns[s] - x->send_ns[s];
		check(worst >= c->min_delay_ns,
		      "%s: shortest one-way time %.3f ms >= %.3f ms", dn, (double)worst / 1e6,
		      (double)c->min_delay_ns / 1e6);
	}
	if (c->rate_bps && intact > 0) {
		/* departures from the bottleneck are at least one serialisation time apart, the
		 * first one a serialisation time after the first send */
		uint64_t ser = ((uint64_t)c->size + c->overhead) * 8 * 1000000000u / c->rate_bps;
		uint64_t bound = intact * ser + c->min_delay_ns;
		uint64_t span = x->last_recv_ns - x->first_send_ns;
		check(span >= bound, "%s: %" PRIu64 " packets took %.3f s >= %.3f s at the rate", dn,
		      intact, (double)span / 1e9, (double)bound / 1e9);
	}
}

/*
 * Outage: the lost packets are one contiguous run; nothing sent after the window opened
 * arrived before it closed; the emulator's outage count equals what is missing.
 */
static void
check_outage(struct probe *pr, int dir, uint64_t t0)
{
	const struct probe_conf *c = &pr->conf;
	struct probe_dir *x = &pr->d[dir];
	const char *dn = dir_names[dir];
	uint64_t ws = t0 + c->outage.start_ns, we = ws + c->outage.len_ns;
	int64_t first_lost = -1, last_lost = -1;
	uint64_t lost = 0, early = 0;
	for (uint32_t s = 0; s < c->count; s++) {
		if (x->copies[s] == 0) {
			if (first_lost < 0)
				first_lost = s;
			last_lost = s;
			lost++;
			continue;
		}
		if (x->send_ns[s] >= ws && x->recv_ns[s] < we)
			early++;
	}
	check(lost > 0, "%s: the outage dropped %" PRIu64 " packets", dn, lost);
	check(lost == (uint64_t)(last_lost - first_lost + 1),
	      "%s: the lost packets are one run (seq %" PRId64 "..%" PRId64 ")", dn, first_lost,
	      last_lost);
	check(early == 0, "%s: nothing sent in the window arrived before it ended (%" PRIu64 ")",
	      dn, early);
	if (lost > 0 && first_lost > 0 && (uint32_t)last_lost + 1 < c->count) {
		uint64_t gap = x->recv_ns[last_lost + 1] - x->send_ns[first_lost - 1];
		check(gap >= c->outage.len_ns, "%s: the gap spans %.3f s >= the window %.3f s", dn,
		      (double)gap / 1e9, (double)c->outage.len_ns / 1e9);
	}
}

/* Removes the report, signals the emulator, waits (10 s at most) for the new report. */
static char *
snapshot(struct probe *pr, int sig)
{
	char *json = NULL;
	unlink(pr->conf.wanem_json);
	if (kill(pr->conf.wanem_pid, sig) != 0) {
		check(false, "signal %d to the emulator (pid %d): %s", sig, (int)pr->conf.wanem_pid,
		      strerror(errno));
		return NULL;
	}
	for (int i = 0; i < 1000 && json == NULL; i++) {
		json = slurp(pr->conf.wanem_json);
		if (json == NULL)
			rte_delay_us_sleep(10000);
	}
	if (json == NULL)
		check(false, "no report in %s", pr->conf.wanem_json);
	return json;
}

/* The emulator has everything we sent, holds nothing, and all it sent has arrived. */
static bool
drained(struct probe *pr, const char *json)
{
	for (int d = 0; d < NDIRS; d++) {
		uint64_t rx = 0, tx = 0, held = 1, pend = 1;
		if (json_u64(json, d, false, "rx_pkts", &rx) != 0 ||
		    json_u64(json, d, false, "tx_pkts", &tx) != 0 ||
		    json_u64(json, d, false, "held_pkts", &held) != 0 ||
		    json_u64(json, d, false, "pending_tx", &pend) != 0)
			return true; /* malformed: let the checks say so */
		if (rx != pr->conf.count || held != 0 || pend != 0 || tx != pr->d[d].received)
			return false;
	}
	return true;
}

/* ---- main ------------------------------------------------------------------------------ */

static int
port_init(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf pconf;
	memset(&pconf, 0, sizeof(pconf));
	int ret = rte_eth_dev_configure(port, 1, 1, &pconf);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL, pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), NULL);
	if (ret == 0 && rte_eth_dev_start(port) != 0) {
		/* a memif client fails to start when the server's socket is not there yet:
		 * wait_links() starts it again */
		fprintf(stderr, "%s: port %u: not started yet, retrying\n", PROG, port);
	}
	return ret;
}

/*
 * Waits for both links. A memif client that connects before the server has started its
 * port is turned away ("ID not found") and does not retry by itself, so restart the port
 * once a second until the emulator has started its side.
 */
static int
wait_links(const struct probe *pr, uint64_t timeout_ns)
{
	uint64_t begin = mono_ns(), restart = begin + 1000000000u;
	while (mono_ns() - begin < timeout_ns) {
		bool up[2];
		for (int p = 0; p < 2; p++) {
			struct rte_eth_link l;
			up[p] = rte_eth_link_get_nowait(pr->port[p], &l) == 0 &&
				l.link_status == RTE_ETH_LINK_UP;
		}
		if (up[0] && up[1])
			return 0;
		if (mono_ns() >= restart) {
			for (int p = 0; p < 2; p++) {
				if (up[p])
					continue;
				rte_eth_dev_stop(pr->port[p]);
				rte_eth_dev_start(pr->port[p]);
			}
			restart = mono_ns() + 1000000000u;
		}
		rte_delay_us_sleep(10000);
	}
	return -ETIMEDOUT;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: %s [EAL options: two ports] -- [options]\n"
		"  --count N          packets per direction (5000)\n"
		"  --pps R            packets/s per direction (20000)\n"
		"  --size B           frame bytes (128)\n"
		"  --drain DUR        quiet time before asking the emulator if it is empty (100ms)\n"
		"  --wanem-pid PID    SIGTERM the emulator when done...\n"
		"  --wanem-json FILE  ...and check its report\n"
		"checks: --expect-all, --expect-no-drop a2b|b2a|both, --expect-loss P%%,\n"
		"  --expect-dup P%%, --expect-corrupt P%%, --min-delay DUR, --rate RATE\n"
		"  [--overhead B], --outage START+LEN, --expect-drop DIR:REASON\n",
		PROG);
}

enum {
	OPT_COUNT = 256,
	OPT_PPS,
	OPT_SIZE,
	OPT_DRAIN,
	OPT_PID,
	OPT_JSON,
	OPT_ALL,
	OPT_NO_DROP,
	OPT_LOSS,
	OPT_DUP,
	OPT_CORRUPT,
	OPT_MIN_DELAY,
	OPT_RATE,
	OPT_OVERHEAD,
	OPT_OUTAGE,
	OPT_EXPECT_DROP,
};

static int
parse_args(int argc, char **argv, struct probe_conf *c, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "pps", required_argument, NULL, OPT_PPS },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "wanem-pid", required_argument, NULL, OPT_PID },
		{ "wanem-json", required_argument, NULL, OPT_JSON },
		{ "expect-all", no_argument, NULL, OPT_ALL },
		{ "expect-no-drop", required_argument, NULL, OPT_NO_DROP },
		{ "expect-loss", required_argument, NULL, OPT_LOSS },
		{ "expect-dup", required_argument, NULL, OPT_DUP },
		{ "expect-corrupt", required_argument, NULL, OPT_CORRUPT },
		{ "min-delay", required_argument, NULL, OPT_MIN_DELAY },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "overhead", required_argument, NULL, OPT_OVERHEAD },
		{ "outage", required_argument, NULL, OPT_OUTAGE },
		{ "expect-drop", required_argument, NULL, OPT_EXPECT_DROP },
		{ NULL, 0, NULL, 0 },
	};
	memset(c, 0, sizeof(*c));
	c->count = 5000;
	c->pps = 20000;
	c->size = 128;
	c->drain_ns = 100000000;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_COUNT:
			c->count = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case OPT_PPS:
			c->pps = strtod(optarg, NULL);
			break;
		case OPT_SIZE:
			c->size = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case OPT_DRAIN:
			if (ferry_wanem_parse_duration(optarg, &c->drain_ns, err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_PID:
			c->wanem_pid = (pid_t)strtol(optarg, NULL, 10);
			break;
		case OPT_JSON:
			c->wanem_json = optarg;
			break;
		case OPT_ALL:
			c->expect_all = true;
			break;
		case OPT_NO_DROP:
			for (int d = 0; d < NDIRS; d++)
				if (strcmp(optarg, "both") == 0 || strcmp(optarg, dir_names[d]) == 0)
					c->no_drop[d] = true;
			break;
		case OPT_LOSS:
			c->check_loss = true;
			if (ferry_wanem_parse_percent(optarg, &c->loss, err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_DUP:
			c->check_dup = true;
			if (ferry_wanem_parse_percent(optarg, &c->dup, err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_CORRUPT:
			c->check_corrupt = true;
			if (ferry_wanem_parse_percent(optarg, &c->corrupt, err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_MIN_DELAY:
			if (ferry_wanem_parse_duration(optarg, &c->min_delay_ns, err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_RATE:
			if (ferry_wanem_parse_rate(optarg, &c->rate_bps, err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_OVERHEAD:
			c->overhead = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case OPT_OUTAGE:
			c->check_outage = true;
			if (ferry_wanem_parse_outage(optarg, &c->outage, err, errlen) != 0)
				return -EINVAL;
			break;
		case OPT_EXPECT_DROP:
			if (c->n_expect_drop == 4 || strchr(optarg, ':') == NULL) {
				snprintf(err, errlen, "--expect-drop DIR:REASON, at most 4");
				return -EINVAL;
			}
			snprintf(c->expect_drop[c->n_expect_drop++], sizeof(c->expect_drop[0]),
				 "%s", optarg);
			break;
		default:
			snprintf(err, errlen, "unknown option");
			return -EINVAL;
		}
	}
	if (c->count == 0 || c->pps <= 0 || c->size < HDR_LEN + sizeof(struct probe_payload) ||
	    c->size > 1514) {
		snprintf(err, errlen, "--count > 0, --pps > 0, --size in [%zu, 1514]",
			 HDR_LEN + sizeof(struct probe_payload));
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct probe pr;
	char err[256];
	int ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(1, "EAL init failed: %s\n", rte_strerror(rte_errno));
	argc -= ret;
	argv += ret;
	memset(&pr, 0, sizeof(pr));
	if (parse_args(argc, argv, &pr.conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		usage();
		rte_eal_cleanup();
		return 2;
	}
	uint16_t nports = 0, pid;
	RTE_ETH_FOREACH_DEV(pid)
	{
		if (nports < 2)
			pr.port[nports] = pid;
		nports++;
	}
	if (nports < 2)
		rte_exit(2, "%s: needs two ports (--vdev ...)\n", PROG);
	pr.pool = rte_pktmbuf_pool_create("probe_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_socket_id());
	if (pr.pool == NULL)
		rte_exit(1, "%s: no mbuf pool: %s\n", PROG, rte_strerror(rte_errno));
	for (int p = 0; p < 2; p++) {
		ret = port_init(pr.port[p], pr.pool);
		if (ret != 0)
			rte_exit(1, "%s: port %u: %s\n", PROG, pr.port[p], rte_strerror(-ret));
	}
	/* port 0 is on the emulator's A side: a2b leaves on it, b2a arrives on it */
	for (int d = 0; d < NDIRS; d++) {
		struct probe_dir *x = &pr.d[d];
		x->tx_port = pr.port[d];
		x->rx_port = pr.port[1 - d];
		x->last_seq = -1;
		x->send_ns = calloc(pr.conf.count, sizeof(*x->send_ns));
		x->recv_ns = calloc(pr.conf.count, sizeof(*x->recv_ns));
		x->copies = calloc(pr.conf.count, 1);
		if (!x->send_ns || !x->recv_ns || !x->copies)
			rte_exit(1, "%s: out of memory\n", PROG);
	}
	if (wait_links(&pr, 10000000000ull) != 0)
		rte_exit(1, "%s: memif links did not come up in 10 s\n", PROG);

	/*
	 * Send, then drain. Silence alone does not prove the link is empty (a stalled emulator
	 * on a busy machine is silent too), so after each quiet period ask the emulator for a
	 * snapshot (SIGUSR1) and stop only when it holds nothing and has sent no more than
	 * arrived.
	 */
	bool report = pr.conf.wanem_pid > 0 && pr.conf.wanem_json != NULL;
	uint64_t start = mono_ns(), last_rx = start, seen = 0;
	bool sending = true;
	char *json = NULL;
	for (;;) {
		if (sending)
			sending = send_due(&pr, start);
		poll_rx(&pr);
		uint64_t now = mono_ns(), total = pr.d[0].received + pr.d[1].received;
		if (total != seen) {
			seen = total;
			last_rx = now;
		}
		if (now - start > 60000000000ull) {
			check(false, "the link did not drain in 60 s");
			break;
		}
		if (sending || now - last_rx < pr.conf.drain_ns) {
			if (!sending)
				rte_delay_us_sleep(20); /* draining: no need to spin */
			continue;
		}
		if (!report)
			break;
		free(json);
		json = snapshot(&pr, SIGUSR1);
		if (json == NULL || drained(&pr, json))
			break;
		last_rx = mono_ns(); /* still in flight: another quiet period */
	}
	printf("%s: sent %u per direction, drained after %.3f s (mbufs free %u of %u)\n", PROG,
	       pr.conf.count, (double)(mono_ns() - start) / 1e9,
	       rte_mempool_avail_count(pr.pool), pr.pool->size);
	if (report) {
		/* the final report, written at exit */
		free(json);
		json = snapshot(&pr, SIGTERM);
	}
	if (json != NULL) {
		/* time zero of the outage windows, at the top of the report */
		uint64_t t0 = 0;
		const char *p = strstr(json, "\"t0_mono_ns\": ");
		if (p != NULL)
			t0 = strtoull(p + strlen("\"t0_mono_ns\": "), NULL, 10);
		for (int d = 0; d < NDIRS; d++) {
			check_dir(&pr, d, json);
			if (pr.conf.check_outage)
				check_outage(&pr, d, t0);
		}
		for (int i = 0; i < pr.conf.n_expect_drop; i++) {
			char *spec = pr.conf.expect_drop[i], *colon = strchr(spec, ':');
			*colon = '\0';
			for (int d = 0; d < NDIRS; d++) {
				if (strcmp(spec, dir_names[d]) != 0)
					continue;
				uint64_t v = J(json, d, true, colon + 1);
				check(v > 0, "%s: the emulator dropped %" PRIu64 " for %s", spec, v,
				      colon + 1);
			}
		}
		free(json);
	}

	for (int d = 0; d < NDIRS; d++) {
		rte_pktmbuf_free_bulk(pr.d[d].held, pr.d[d].n_held);
		free(pr.d[d].send_ns);
		free(pr.d[d].recv_ns);
		free(pr.d[d].copies);
	}
	for (int p = 0; p < 2; p++) {
		rte_eth_dev_stop(pr.port[p]);
		rte_eth_dev_close(pr.port[p]);
	}
	rte_mempool_free(pr.pool);
	rte_eal_cleanup();
	printf("%s: %s (%d failed)\n", PROG, failures ? "FAILED" : "passed", failures);
	return failures ? 1 : 0;
}
