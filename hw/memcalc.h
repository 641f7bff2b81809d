/*
 * hw/memcalc.h - how much memory (hugepages) and how many mbufs one ferry gateway needs, from
 * the link rate, the RTT, the queue counts, the MTU, the partitions it carries and the policy
 * database (issue 9; the formula with a worked example is in hw/README.md, "Memory").
 *
 * Pure arithmetic on plain structs: no DPDK, no I/O, so it is unit-tested (tests/unit/
 * test_memcalc.c) and shared by `ferry-hwcheck --memory` and, later, ferryd's mempool sizing.
 * Every constant that stands for a DPDK internal is named here with the reason for its value.
 */
#ifndef FERRY_HW_MEMCALC_H
#define FERRY_HW_MEMCALC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* DPDK's RTE_PKTMBUF_HEADROOM (config/rte_config.h). */
#define FERRY_MEMCALC_MBUF_HEADROOM 128u
/* sizeof(struct rte_mbuf): two cache lines (lib/mbuf/rte_mbuf_core.h). */
#define FERRY_MEMCALC_MBUF_STRUCT 128u
/* rte_mempool_objhdr rounded up to a cache line (rte_mempool_calc_obj_size). */
#define FERRY_MEMCALC_OBJ_HDR 64u
/* Ethernet header + one VLAN tag: the frame the NIC writes around an IP MTU (CRC stripped). */
#define FERRY_MEMCALC_L2_LEN 18u
/* RX buffer sizes are programmed in 1 KiB units on ixgbe (SRRCTL.BSIZEPKT) and in 128-byte
 * units on i40e/ice: a 1 KiB multiple suits every NIC in hw/nics. */
#define FERRY_MEMCALC_RXBUF_ALIGN 1024u
/* Send and receive buffers hold two bandwidth-delay products: one RTT of data in flight and one
 * more while a loss is reported (SACK) and the retransmission crosses (RFC 6349 §3.3 sizes TCP
 * buffers at BDP; loss recovery without stalling needs the second one). */
#define FERRY_MEMCALC_BDP_MULT 2u

/** Which direction(s) of replication this gateway carries. */
enum ferry_memcalc_role {
	FERRY_MEMCALC_SOURCE = 1,                                          /**< sends: retransmit buffer */
	FERRY_MEMCALC_TARGET = 2,                                          /**< receives: receive window */
	FERRY_MEMCALC_BOTH = FERRY_MEMCALC_SOURCE | FERRY_MEMCALC_TARGET, /**< both flows, or spare */
};

/** Inputs. ferry_memcalc_defaults() fills everything but rate_bps and rtt_ns. */
struct ferry_memcalc_in {
	uint64_t rate_bps;      /**< WAN link rate, bits/s (ferry.wan.rate.mbps or the port's speed) */
	uint64_t rtt_ns;        /**< round-trip time of the WAN path */
	uint32_t ports;         /**< WAN ports (ferry.wan.ports) */
	uint32_t queues;        /**< queue pairs per port (ferry.wan.queues) */
	uint32_t rx_desc;       /**< ferry.wan.rx.desc */
	uint32_t tx_desc;       /**< ferry.wan.tx.desc */
	uint32_t burst;         /**< mbufs one lcore holds between rx and tx (FERRY_BURST, 32) */
	uint32_t mempool_cache; /**< per-lcore mempool cache (256) */
	uint32_t io_lcores;     /**< broker-connection lcores (ferry.lcores.io): io<->worker rings */
	uint32_t worker_lcores; /**< ferry.lcores.worker: one Hyperscan scratch each */
	uint32_t mtu;           /**< ferry.wan.mtu */
	uint32_t queue_depth;   /**< ferry.queue.depth: io<->worker ring entries */
	uint32_t partitions;    /**< partitions this gateway carries */
	uint64_t batch_bytes;   /**< one batch buffer (ferry.fetch.partition.max.bytes) */
	uint32_t batch_depth;   /**< batch buffers per partition (one filling, one in policy) */
	uint64_t policy_db_bytes; /**< serialized Hyperscan database (`ferryctl rules check`) */
	uint64_t scratch_bytes; /**< Hyperscan scratch per worker */
	uint32_t numa_nodes;    /**< nodes with WAN ports: one packet pool and one db copy each */
	enum ferry_memcalc_role role;
	uint32_t headroom_pct;  /**< added on top of the sum (fragmentation, growth) */
	uint64_t base_bytes;    /**< per node: EAL memzones, NIC rings, telemetry, librte_* state */
};

/** Results. Byte counts are exact products of the formula (hw/README.md). */
struct ferry_memcalc_out {
	uint64_t bdp_bytes;       /**< rate x RTT / 8 */
	uint64_t tx_retx_bytes;   /**< source: batch bytes kept until acknowledged */
	uint64_t rx_window_bytes; /**< target: reassembly buffers, all lanes together */
	uint32_t mbufs_needed;    /**< per node, before rounding */
	uint32_t mbufs;           /**< per node pool size: 2^n - 1 >= needed (ferry.mempool.mbufs) */
	uint32_t mbuf_dataroom;   /**< data room of one mbuf */
	uint32_t mbuf_obj_bytes;  /**< one mbuf in the pool, header included */
	uint64_t mbuf_bytes;      /**< all pools */
	uint64_t batch_total_bytes;
	uint64_t policy_bytes;    /**< databases (two during a reload) and scratch (two too) */
	uint64_t ring_bytes;      /**< io<->worker rings */
	uint64_t base_bytes;      /**< base x nodes */
	uint64_t subtotal_bytes;
	uint64_t headroom_bytes;
	uint64_t total_bytes;
	uint64_t pages_2m;        /**< 2 MiB pages for total_bytes, all nodes */
	uint64_t pages_1g;        /**< 1 GiB pages for total_bytes, all nodes */
	uint64_t pages_2m_node;   /**< per node when spread evenly (nr_hugepages per node) */
	uint64_t pages_1g_node;
};

/** Defaults: one port, one queue, 1024/1024 descriptors, MTU 1500, ... (hw/README.md). */
void ferry_memcalc_defaults(struct ferry_memcalc_in *in);

/**
 * Compute. 0, or -EINVAL (an input is zero or out of range) / -EOVERFLOW (a product does not
 * fit 64 bits), with the reason in 'err'.
 */
int ferry_memcalc(const struct ferry_memcalc_in *in, struct ferry_memcalc_out *out, char *err,
		  size_t errlen);

/** "10gbit", "10G", "400mbit", "2.5gbit", "100000000" (bits/s). 0 or -EINVAL. */
int ferry_memcalc_parse_rate(const char *s, uint64_t *bps);
/** "200ms", "0.2s", "150000us", "200" (ms). 0 or -EINVAL. */
int ferry_memcalc_parse_duration(const char *s, uint64_t *ns);
/** "1m", "512k", "2g", "1048576", "64MiB" (bytes, binary suffixes). 0 or -EINVAL. */
int ferry_memcalc_parse_size(const char *s, uint64_t *bytes);
/** "source", "target", "both". 0 or -EINVAL. */
int ferry_memcalc_parse_role(const char *s, enum ferry_memcalc_role *role);
const char *ferry_memcalc_role_name(enum ferry_memcalc_role role);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_HW_MEMCALC_H */
