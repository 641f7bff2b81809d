/*
 * bench_nullfwd.c - the DPDK packet-forwarding ceiling of issue 8: one lcore moving bursts
 * from one net_null port to another (rte_eth_rx_burst -> rte_eth_tx_burst), testpmd's "io"
 * forwarding with no NIC and no hugepages. net_null's RX hands out mbufs without touching
 * packet data and its TX frees them, so the figure is the per-packet cost of the poll loop,
 * the ethdev calls and the mempool: what a ferry lcore can never beat on this CPU.
 *
 * usage: bench_nullfwd [--seconds S] [--size B] [--json]
 * EAL arguments are built here (--no-huge, -m 256, two --vdev net_null, --no-pci, one lcore,
 * a --file-prefix unique to the process), so it runs beside anything else using DPDK.
 * Exit: 0; 77 when the EAL cannot start (the caller reports the ceiling as missing); 2 on a
 * usage or set-up error. Main lcore only; the only file of ferry-bench that uses DPDK.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define NF_BURST    32
#define NF_NB_MBUFS 8191 /* 2^n - 1: the mempool's best size */
#define NF_RING     1024

static int
port_setup(uint16_t port, struct rte_mempool *mp, char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	int rc;

	memset(&conf, 0, sizeof(conf));
	if ((rc = rte_eth_dev_configure(port, 1, 1, &conf)) < 0 ||
	    (rc = rte_eth_rx_queue_setup(port, 0, NF_RING, (unsigned)rte_socket_id(), NULL, mp)) <
		0 ||
	    (rc = rte_eth_tx_queue_setup(port, 0, NF_RING, (unsigned)rte_socket_id(), NULL)) < 0 ||
	    (rc = rte_eth_dev_start(port)) < 0) {
		snprintf(err, errlen, "port %u: %s", port, rte_strerror(-rc));
		return rc;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	double seconds = 2;
	unsigned size = 64;
	bool json = false;
	char prefix[64], vdev0[64], vdev1[64], err[256];
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': seconds = atof(optarg); break;
		case 'b': size = (unsigned)atoi(optarg); break;
		case 'j': json = true; break;
		default:
			fprintf(stderr, "usage: bench_nullfwd [--seconds S] [--size B] [--json]\n");
			return 2;
		}
	}
	if (seconds <= 0 || seconds > 600 || size < 60 || size > 9000) {
		fprintf(stderr, "bench_nullfwd: --seconds 0..600, --size 60..9000\n");
		return 2;
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=ferry-nullfwd-%ld", (long)getpid());
	snprintf(vdev0, sizeof(vdev0), "--vdev=net_null0,size=%u,copy=0", size);
	snprintf(vdev1, sizeof(vdev1), "--vdev=net_null1,size=%u,copy=0", size);
	char *eal[] = { argv[0], "--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
			"-l", "0", "--log-level=lib.*:error", prefix, vdev0, vdev1, NULL };
	int eal_argc = (int)(sizeof(eal) / sizeof(eal[0])) - 1;

	/* The EAL wants the first online CPU as "-l 0"; under taskset that may not be CPU 0. */
	cpu_set_t cs;
	char lcore[16];
	if (sched_getaffinity(0, sizeof(cs), &cs) == 0) {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &cs)) {
				snprintf(lcore, sizeof(lcore), "%d", c);
				eal[7] = lcore;
				break;
			}
	}
	if (rte_eal_init(eal_argc, eal) < 0) {
		fprintf(stderr, "bench_nullfwd: EAL did not start: %s\n", rte_strerror(rte_errno));
		return 77;
	}
	int status = 2;
	struct rte_mempool *mp = rte_pktmbuf_pool_create("nf_pool", NF_NB_MBUFS, 256, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE,
							 (int)rte_socket_id());
	if (mp == NULL) {
		snprintf(err, sizeof(err), "mempool: %s", rte_strerror(rte_errno));
		goto out_eal;
	}
	if (rte_eth_dev_count_avail() < 2) {
		snprintf(err, sizeof(err), "net_null ports did not appear");
		goto out_eal;
	}
	if (port_setup(0, mp, err, sizeof(err)) < 0 || port_setup(1, mp, err, sizeof(err)) < 0)
		goto out_eal;

	struct rte_mbuf *pkts[NF_BURST];
	uint64_t hz = rte_get_tsc_hz(), fwd = 0, dropped = 0;
	uint64_t t0 = rte_get_tsc_cycles(), end = t0 + (uint64_t)(seconds * (double)hz), t;
	do {
		/* Check the clock once per 64 bursts: rdtsc is not free either. */
		for (int i = 0; i < 64; i++) {
			uint16_t n = rte_eth_rx_burst(0, 0, pkts, NF_BURST);
			uint16_t s = rte_eth_tx_burst(1, 0, pkts, n);
			if (unlikely(s < n)) {
				rte_pktmbuf_free_bulk(pkts + s, n - s);
				dropped += n - s;
			}
			fwd += s;
		}
		t = rte_get_tsc_cycles();
	} while (t < end);
	double secs = (double)(t - t0) / (double)hz, mpps = (double)fwd / secs / 1e6;
	if (json)
		printf("{\"tool\":\"bench_nullfwd\",\"packet_bytes\":%u,\"seconds\":%.3f,"
		       "\"mpps\":%.3f,\"gbps\":%.3f,\"dropped\":%" PRIu64 "}\n",
		       size, secs, mpps, mpps * 1e6 * size * 8 / 1e9, dropped);
	else
		printf("bench_nullfwd: net_null0 -> net_null1, %u B packets, burst %d: %.2f Mpps "
		       "(%.1f Gb/s) over %.1f s, %" PRIu64 " dropped\n",
		       size, NF_BURST, mpps, mpps * 1e6 * size * 8 / 1e9, secs, dropped);
	status = 0;
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
out_eal:
	if (status != 0)
		fprintf(stderr, "bench_nullfwd: %s\n", err);
	rte_eal_cleanup();
	return status;
}
