/*
 * hw/memcalc.c - ferry's memory formula (hw/memcalc.h; written out in hw/README.md, "Memory"):
 * the bytes and mbufs a gateway needs from its link and its load, and the parsers for the
 * units operators type ("10gbit", "200ms", "1m").
 *
 * Owns nothing and keeps no state; every product is checked for 64-bit overflow because the
 * inputs come from a command line.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memcalc.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)

void
ferry_memcalc_defaults(struct ferry_memcalc_in *in)
{
	memset(in, 0, sizeof(*in));
	in->ports = 1;
	in->queues = 1;
	in->rx_desc = 1024;
	in->tx_desc = 1024;
	in->burst = 32;
	in->mempool_cache = 256;
	in->io_lcores = 1;
	in->worker_lcores = 1;
	in->mtu = 1500;
	in->queue_depth = 4096;
	in->partitions = 16;
	in->batch_bytes = 1 * MIB; /* ferry.fetch.partition.max.bytes default */
	in->batch_depth = 2;
	in->policy_db_bytes = 0;
	in->scratch_bytes = 1 * MIB;
	in->numa_nodes = 1;
	in->role = FERRY_MEMCALC_BOTH;
	in->headroom_pct = 25;
	in->base_bytes = 64 * MIB;
}

static uint64_t
div_ceil(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* Smallest 2^n - 1 >= v: the ring under a DPDK mempool holds 2^n - 1 entries, so this size
 * wastes no ring slot (rte_mempool.h, "optimum size ... is when n is a power of two minus
 * one"). */
static uint64_t
pow2m1_at_least(uint64_t v)
{
	uint64_t p = 1;
	while (p - 1 < v)
		p <<= 1;
	return p - 1;
}

/* Overflow-checked accumulators: the first overflow sticks in *ovf. */
static uint64_t
mul(uint64_t a, uint64_t b, bool *ovf)
{
	uint64_t r;
	if (__builtin_mul_overflow(a, b, &r)) {
		*ovf = true;
		return 0;
	}
	return r;
}

static uint64_t
add(uint64_t a, uint64_t b, bool *ovf)
{
	uint64_t r;
	if (__builtin_add_overflow(a, b, &r)) {
		*ovf = true;
		return 0;
	}
	return r;
}

int
ferry_memcalc(const struct ferry_memcalc_in *in, struct ferry_memcalc_out *out, char *err,
	      size_t errlen)
{
	bool ovf = false;
	memset(out, 0, sizeof(*out));

	const char *bad = NULL;
	if (in->rate_bps == 0)
		bad = "the link rate must be above 0";
	else if (in->rtt_ns == 0)
		bad = "the RTT must be above 0";
	else if (in->ports == 0 || in->queues == 0 || in->queues > 16)
		bad = "ports must be >= 1 and queues 1..16 (ferry.wan.queues)";
	else if (in->rx_desc == 0 || in->tx_desc == 0 || in->burst == 0)
		bad = "descriptor counts and the burst must be above 0";
	else if (in->io_lcores == 0 || in->worker_lcores == 0)
		bad = "there must be at least one io and one worker lcore";
	else if (in->mtu < 576 || in->mtu > 9000)
		bad = "the MTU must be 576..9000";
	else if (in->numa_nodes == 0 || in->numa_nodes > in->ports)
		bad = "numa nodes must be 1..ports (each node with WAN ports has its own pool)";
	else if ((in->role & FERRY_MEMCALC_BOTH) == 0 || (in->role & ~FERRY_MEMCALC_BOTH) != 0)
		bad = "role must be source, target or both";
	else if (in->headroom_pct > 1000)
		bad = "headroom must be 0..1000 %";
	if (bad) {
		snprintf(err, errlen, "memcalc: %s", bad);
		return -EINVAL;
	}

	/* Bandwidth-delay product: what the link holds in one round trip. rate * rtt needs 128
	 * bits for 400 Gbit/s x 60 s, so divide first where that keeps the result exact enough:
	 * bits/s * ns / 8e9, with the remainder carried. */
	{
		unsigned __int128 bits = (unsigned __int128)in->rate_bps * in->rtt_ns;
		unsigned __int128 bytes = bits / 8000000000u + (bits % 8000000000u != 0);
		if (bytes > UINT64_MAX / 8) {
			snprintf(err, errlen, "memcalc: rate x RTT is beyond any host's memory");
			return -EOVERFLOW;
		}
		out->bdp_bytes = (uint64_t)bytes;
	}
	if (in->role & FERRY_MEMCALC_SOURCE)
		out->tx_retx_bytes = mul(out->bdp_bytes, FERRY_MEMCALC_BDP_MULT, &ovf);
	if (in->role & FERRY_MEMCALC_TARGET)
		out->rx_window_bytes = mul(out->bdp_bytes, FERRY_MEMCALC_BDP_MULT, &ovf);

	/* mbufs do not scale with the RTT: a packet's mbuf is freed once the NIC sent it, and a
	 * received packet is copied into its lane's buffer at once; retransmissions are re-sealed
	 * from the batch bytes. What holds mbufs is the NIC rings, the bursts an lcore holds, and
	 * the per-lcore caches. Ports spread evenly over the nodes; each node has its own pool. */
	uint64_t ports_node = div_ceil(in->ports, in->numa_nodes);
	/* one worker lcore polls each WAN queue and has its own mempool cache */
	uint64_t pollers_node = mul(ports_node, in->queues, &ovf);
	uint64_t per_queue = (uint64_t)in->rx_desc + in->tx_desc + 2ull * in->burst;
	uint64_t need = add(mul(pollers_node, per_queue, &ovf),
			    mul(pollers_node, in->mempool_cache, &ovf), &ovf);
	uint64_t pool = pow2m1_at_least(need < 1023 ? 1023 : need); /* key minimum 1023 */
	if (ovf || pool > 16777215) {
		snprintf(err, errlen,
			 "memcalc: %llu mbufs per node is above ferry.mempool.mbufs' limit "
			 "(16777215)",
			 (unsigned long long)need);
		return -EOVERFLOW;
	}
	out->mbufs_needed = (uint32_t)need;
	out->mbufs = (uint32_t)pool;
	uint32_t frame = FERRY_MEMCALC_L2_LEN + in->mtu;
	out->mbuf_dataroom = FERRY_MEMCALC_MBUF_HEADROOM +
			     (uint32_t)div_ceil(frame, FERRY_MEMCALC_RXBUF_ALIGN) *
				 FERRY_MEMCALC_RXBUF_ALIGN;
	out->mbuf_obj_bytes = FERRY_MEMCALC_OBJ_HDR + FERRY_MEMCALC_MBUF_STRUCT +
			      out->mbuf_dataroom;
	out->mbuf_bytes = mul(mul(pool, out->mbuf_obj_bytes, &ovf), in->numa_nodes, &ovf);

	/* Batch buffers: one filling (Fetch response or reassembly) and one in policy/produce per
	 * partition. Bytes already sent and waiting for an ack are in tx_retx, not here. */
	out->batch_total_bytes =
	    mul(mul(in->partitions, in->batch_bytes, &ovf), in->batch_depth, &ovf);

	/* Policy: during a reload the old database and scratch live until the RCU grace period
	 * ends, so two of each; one database copy per node (deserialized on the workers' node). */
	out->policy_bytes = add(mul(mul(2, in->policy_db_bytes, &ovf), in->numa_nodes, &ovf),
				mul(mul(2, in->scratch_bytes, &ovf), in->worker_lcores, &ovf), &ovf);

	/* SPSC rings of pointers, one each way between every io and worker lcore. */
	out->ring_bytes = mul(mul(mul(2ull * in->io_lcores, in->worker_lcores, &ovf),
				  in->queue_depth, &ovf),
			      sizeof(void *), &ovf);

	out->base_bytes = mul(in->base_bytes, in->numa_nodes, &ovf);

	uint64_t sum = 0;
	sum = add(sum, out->tx_retx_bytes, &ovf);
	sum = add(sum, out->rx_window_bytes, &ovf);
	sum = add(sum, out->mbuf_bytes, &ovf);
	sum = add(sum, out->batch_total_bytes, &ovf);
	sum = add(sum, out->policy_bytes, &ovf);
	sum = add(sum, out->ring_bytes, &ovf);
	sum = add(sum, out->base_bytes, &ovf);
	out->subtotal_bytes = sum;
	out->headroom_bytes = div_ceil(mul(sum, in->headroom_pct, &ovf), 100);
	out->total_bytes = add(sum, out->headroom_bytes, &ovf);
	if (ovf) {
		snprintf(err, errlen, "memcalc: the inputs overflow 64-bit byte counts");
		return -EOVERFLOW;
	}
	out->pages_2m = div_ceil(out->total_bytes, 2 * MIB);
	out->pages_1g = div_ceil(out->total_bytes, GIB);
	out->pages_2m_node = div_ceil(out->pages_2m, in->numa_nodes);
	out->pages_1g_node = div_ceil(out->pages_1g, in->numa_nodes);
	return 0;
}

/* ---- parsers ------------------------------------------------------------------------------ */

/* A non-negative decimal number (digits, optional fraction) and the rest after it. */
static int
parse_number(const char *s, double *v, const char **rest)
{
	const char *p = s;
	bool digits = false;
	while (isspace((unsigned char)*p))
		p++;
	const char *start = p;
	while (isdigit((unsigned char)*p)) {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return -EINVAL;
	char buf[64];
	size_t n = (size_t)(p - start);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, start, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	while (isspace((unsigned char)*p))
		p++;
	*rest = p;
	return 0;
}

static int
to_u64(double v, uint64_t *out)
{
	v = nearbyint(v);
	if (!(v >= 0) || v >= 18446744073709551616.0)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

int
ferry_memcalc_parse_rate(const char *s, uint64_t *bps)
{
	static const struct {
		const char *suf;
		double mult;
	} sufs[] = {
		{ "", 1 },      { "bit", 1 },      { "bps", 1 },      { "k", 1e3 },
		{ "kbit", 1e3 }, { "kbps", 1e3 },  { "m", 1e6 },      { "mbit", 1e6 },
		{ "mbps", 1e6 }, { "g", 1e9 },     { "gbit", 1e9 },   { "gbps", 1e9 },
		{ "t", 1e12 },   { "tbit", 1e12 }, { "tbps", 1e12 },
	};
	double v;
	const char *rest;
	if (parse_number(s, &v, &rest) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++)
		if (strcasecmp(rest, sufs[i].suf) == 0)
			return to_u64(v * sufs[i].mult, bps);
	return -EINVAL;
}

int
ferry_memcalc_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *suf;
		double mult;
	} sufs[] = {
		{ "", 1e6 }, { "ms", 1e6 }, { "us", 1e3 }, { "ns", 1 }, { "s", 1e9 },
	};
	double v;
	const char *rest;
	if (parse_number(s, &v, &rest) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++)
		if (strcasecmp(rest, sufs[i].suf) == 0)
			return to_u64(v * sufs[i].mult, ns);
	return -EINVAL;
}

int
ferry_memcalc_parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *suf;
		uint64_t mult;
	} sufs[] = {
		{ "", 1 },     { "b", 1 },        { "k", 1024 },     { "kib", 1024 },
		{ "m", MIB },  { "mib", MIB },    { "g", GIB },      { "gib", GIB },
	};
	const char *p = s;
	uint64_t v = 0;
	bool digits = false;
	while (isspace((unsigned char)*p))
		p++;
	for (; isdigit((unsigned char)*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -EINVAL;
		digits = true;
	}
	if (!digits)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++)
		if (strcasecmp(p, sufs[i].suf) == 0)
			return __builtin_mul_overflow(v, sufs[i].mult, bytes) ? -EINVAL : 0;
	return -EINVAL;
}

int
ferry_memcalc_parse_role(const char *s, enum ferry_memcalc_role *role)
{
	if (strcmp(s, "source") == 0)
		*role = FERRY_MEMCALC_SOURCE;
	else if (strcmp(s, "target") == 0)
		*role = FERRY_MEMCALC_TARGET;
	else if (strcmp(s, "both") == 0)
		*role = FERRY_MEMCALC_BOTH;
	else
		return -EINVAL;
	return 0;
}

const char *
ferry_memcalc_role_name(enum ferry_memcalc_role role)
{
	switch (role) {
	case FERRY_MEMCALC_SOURCE: return "source";
	case FERRY_MEMCALC_TARGET: return "target";
	case FERRY_MEMCALC_BOTH: return "both";
	}
	return "?";
}
