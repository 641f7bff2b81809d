/*
 * test_memcalc.c - the memory formula of hw/memcalc.c against values computed by hand (the
 * worked example of hw/README.md and a jumbo-frame two-node case, arithmetic in the comments),
 * its input checks and overflow guards, and the unit parsers of ferry-hwcheck --memory.
 */
#include <errno.h>

#include "memcalc.h"
#include "testutil.h"

/* hw/README.md, "Worked example": 10 Gbit/s, 200 ms, hw/profiles/c16-n1 (1 port x 4 queues,
 * 4 io + 10 workers), 64 partitions, a 32 MiB policy database, both roles. */
static void
test_worked_example(void **state)
{
	(void)state;
	struct ferry_memcalc_in in;
	struct ferry_memcalc_out o;
	char err[256];
	ferry_memcalc_defaults(&in);
	in.rate_bps = 10000000000ull;
	in.rtt_ns = 200000000ull;
	in.queues = 4;
	in.io_lcores = 4;
	in.worker_lcores = 10;
	in.partitions = 64;
	in.policy_db_bytes = 32ull << 20;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), 0);

	assert_int_equal(o.bdp_bytes, 250000000ull);       /* 10e9 x 0.2 / 8 */
	assert_int_equal(o.tx_retx_bytes, 500000000ull);   /* 2 x BDP */
	assert_int_equal(o.rx_window_bytes, 500000000ull); /* 2 x BDP */
	assert_int_equal(o.mbufs_needed, 9472);            /* 4 queues x (1024+1024+64) + 4 queue-polling workers x 256 */
	assert_int_equal(o.mbufs, 16383);                  /* 2^14 - 1 */
	assert_int_equal(o.mbuf_dataroom, 2176);           /* 128 + 2048 (1518 rounded to 1 KiB) */
	assert_int_equal(o.mbuf_obj_bytes, 2368);          /* 64 + 128 + 2176 */
	assert_int_equal(o.mbuf_bytes, 38794944ull);       /* 16383 x 2368 */
	assert_int_equal(o.batch_total_bytes, 134217728ull); /* 64 x 1 MiB x 2 */
	assert_int_equal(o.policy_bytes, 88080384ull);     /* 2 x 32 MiB + 2 x 1 MiB x 10 */
	assert_int_equal(o.ring_bytes, 2621440ull);        /* 2 x 4 x 10 x 4096 x 8 */
	assert_int_equal(o.base_bytes, 67108864ull);       /* 64 MiB x 1 node */
	assert_int_equal(o.subtotal_bytes, 1330823360ull);
	assert_int_equal(o.headroom_bytes, 332705840ull);  /* 25 % */
	assert_int_equal(o.total_bytes, 1663529200ull);
	assert_int_equal(o.pages_2m, 794);                 /* ceil(1663529200 / 2097152) */
	assert_int_equal(o.pages_1g, 2);
	assert_int_equal(o.pages_2m_node, 794);
}

/* 1 Gbit/s, 70 ms, MTU 9000, two ports on two nodes, source only, no headroom or base:
 *   BDP 8,750,000; retransmit 17,500,000; receive window 0
 *   mbufs per node: 1 port x 2 queues x 2112 + 2 queue-polling workers x 256 = 4736 -> 8191
 *   data room 128 + 9 KiB (9018 rounded up) = 9344; object 9536; pools 8191 x 9536 x 2
 *   batches 10 x 1 MiB x 2; policy 2 x 512 KiB x 8 workers; rings 2 x 4 x 8 x 4096 x 8 */
static void
test_jumbo_two_nodes_source(void **state)
{
	(void)state;
	struct ferry_memcalc_in in;
	struct ferry_memcalc_out o;
	char err[256];
	ferry_memcalc_defaults(&in);
	in.rate_bps = 1000000000ull;
	in.rtt_ns = 70000000ull;
	in.mtu = 9000;
	in.ports = 2;
	in.numa_nodes = 2;
	in.queues = 2;
	in.io_lcores = 4;
	in.worker_lcores = 8;
	in.partitions = 10;
	in.scratch_bytes = 512 * 1024;
	in.role = FERRY_MEMCALC_SOURCE;
	in.headroom_pct = 0;
	in.base_bytes = 0;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), 0);
	assert_int_equal(o.bdp_bytes, 8750000ull);
	assert_int_equal(o.tx_retx_bytes, 17500000ull);
	assert_int_equal(o.rx_window_bytes, 0);
	assert_int_equal(o.mbufs_needed, 4736);
	assert_int_equal(o.mbufs, 8191);
	assert_int_equal(o.mbuf_dataroom, 9344);
	assert_int_equal(o.mbuf_obj_bytes, 9536);
	assert_int_equal(o.mbuf_bytes, 156218752ull);
	assert_int_equal(o.batch_total_bytes, 20971520ull);
	assert_int_equal(o.policy_bytes, 8388608ull);
	assert_int_equal(o.ring_bytes, 2097152ull);
	assert_int_equal(o.subtotal_bytes, 205176032ull);
	assert_int_equal(o.total_bytes, 205176032ull);
	assert_int_equal(o.pages_2m, 98);
	assert_int_equal(o.pages_2m_node, 49);
	assert_int_equal(o.pages_1g, 1);

	/* target only: the same window on the other side, nothing kept for retransmission */
	in.role = FERRY_MEMCALC_TARGET;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), 0);
	assert_int_equal(o.tx_retx_bytes, 0);
	assert_int_equal(o.rx_window_bytes, 17500000ull);
}

/* Small inputs: the BDP rounds up to a whole byte, the pool never goes under the key's 1023. */
static void
test_rounding_and_floor(void **state)
{
	(void)state;
	struct ferry_memcalc_in in;
	struct ferry_memcalc_out o;
	char err[256];
	ferry_memcalc_defaults(&in);
	in.rate_bps = 1;
	in.rtt_ns = 1;
	in.rx_desc = 64;
	in.tx_desc = 64;
	in.mempool_cache = 0;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), 0);
	assert_int_equal(o.bdp_bytes, 1);
	assert_int_equal(o.mbufs_needed, 192); /* 64 + 64 + 2 x 32 */
	assert_int_equal(o.mbufs, 1023);
	/* exactly 2^n - 1 needed stays; one more doubles */
	in.rx_desc = 1023 - 64 - 64;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), 0);
	assert_int_equal(o.mbufs_needed, 1023);
	assert_int_equal(o.mbufs, 1023);
	in.rx_desc++;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), 0);
	assert_int_equal(o.mbufs, 2047);
	/* headroom rounds up */
	in.headroom_pct = 1;
	in.base_bytes = 1;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), 0);
	assert_int_equal(o.headroom_bytes, (o.subtotal_bytes + 99) / 100);
}

static void
test_bad_inputs(void **state)
{
	(void)state;
	struct ferry_memcalc_in in, base;
	struct ferry_memcalc_out o;
	char err[256];
	ferry_memcalc_defaults(&base);
	base.rate_bps = 10000000000ull;
	base.rtt_ns = 200000000ull;

	in = base;
	in.rate_bps = 0;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rate"));
	in = base;
	in.rtt_ns = 0;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EINVAL);
	in = base;
	in.queues = 17;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EINVAL);
	in = base;
	in.numa_nodes = 2; /* one port cannot be on two nodes */
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EINVAL);
	in = base;
	in.mtu = 9001;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EINVAL);
	in = base;
	in.role = 0;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EINVAL);
	in = base;
	in.worker_lcores = 0;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EINVAL);

	/* overflow is reported, never wrapped */
	in = base;
	in.partitions = UINT32_MAX;
	in.batch_bytes = 1ull << 40;
	in.batch_depth = 1u << 20;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EOVERFLOW);
	in = base;
	in.rate_bps = UINT64_MAX;
	in.rtt_ns = UINT64_MAX;
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EOVERFLOW);
	in = base;
	in.queues = 16;
	in.rx_desc = 1u << 20; /* 16 x 1 Mi descriptors: beyond ferry.mempool.mbufs' max */
	assert_int_equal(ferry_memcalc(&in, &o, err, sizeof(err)), -EOVERFLOW);
	assert_non_null(strstr(err, "ferry.mempool.mbufs"));
}

static void
test_parsers(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(ferry_memcalc_parse_rate("10gbit", &v), 0);
	assert_int_equal(v, 10000000000ull);
	assert_int_equal(ferry_memcalc_parse_rate("2.5G", &v), 0);
	assert_int_equal(v, 2500000000ull);
	assert_int_equal(ferry_memcalc_parse_rate("400Mbit", &v), 0);
	assert_int_equal(v, 400000000ull);
	assert_int_equal(ferry_memcalc_parse_rate("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(ferry_memcalc_parse_rate("1tbps", &v), 0);
	assert_int_equal(v, 1000000000000ull);
	assert_int_equal(ferry_memcalc_parse_rate("fast", &v), -EINVAL);
	assert_int_equal(ferry_memcalc_parse_rate("10 furlongs", &v), -EINVAL);
	assert_int_equal(ferry_memcalc_parse_rate("-1g", &v), -EINVAL);
	assert_int_equal(ferry_memcalc_parse_rate("", &v), -EINVAL);

	assert_int_equal(ferry_memcalc_parse_duration("200ms", &v), 0);
	assert_int_equal(v, 200000000ull);
	assert_int_equal(ferry_memcalc_parse_duration("0.17s", &v), 0);
	assert_int_equal(v, 170000000ull);
	assert_int_equal(ferry_memcalc_parse_duration("150000us", &v), 0);
	assert_int_equal(v, 150000000ull);
	assert_int_equal(ferry_memcalc_parse_duration("200", &v), 0); /* bare number: ms */
	assert_int_equal(v, 200000000ull);
	assert_int_equal(ferry_memcalc_parse_duration("5m", &v), -EINVAL); /* minutes? metres? */
	assert_int_equal(ferry_memcalc_parse_duration("ms", &v), -EINVAL);

	assert_int_equal(ferry_memcalc_parse_size("1m", &v), 0);
	assert_int_equal(v, 1048576ull);
	assert_int_equal(ferry_memcalc_parse_size("64MiB", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(ferry_memcalc_parse_size("2g", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(ferry_memcalc_parse_size("512k", &v), 0);
	assert_int_equal(v, 524288ull);
	assert_int_equal(ferry_memcalc_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(ferry_memcalc_parse_size("1.5m", &v), -EINVAL);
	assert_int_equal(ferry_memcalc_parse_size("18446744073709551615g", &v), -EINVAL);
	assert_int_equal(ferry_memcalc_parse_size("99999999999999999999", &v), -EINVAL);

	enum ferry_memcalc_role r;
	assert_int_equal(ferry_memcalc_parse_role("target", &r), 0);
	assert_int_equal(r, FERRY_MEMCALC_TARGET);
	assert_string_equal(ferry_memcalc_role_name(r), "target");
	assert_int_equal(ferry_memcalc_parse_role("both", &r), 0);
	assert_int_equal(r, FERRY_MEMCALC_BOTH);
	assert_int_equal(ferry_memcalc_parse_role("sink", &r), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_jumbo_two_nodes_source),
		cmocka_unit_test(test_rounding_and_floor),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_parsers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
