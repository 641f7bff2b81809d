/*
 * test_impair.c - ferry-wanem's link model without DPDK, in simulated time: option parsing,
 * random loss over 1e6 draws within a 6-sigma bound, Gilbert-Elliott loss rate and mean
 * burst length, delay/jitter release order (FIFO without --reorder, overtaking with it),
 * the bottleneck's serialisation times and tail drop, outage windows at ingress and egress,
 * duplication and corruption counts, the corruption bit's position, the delay-line limit,
 * and determinism for a seed. The seeds are fixed, so the bounds cannot flake; they are
 * wide enough that any seed passes, and narrow enough that a wrong model fails.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>

#include "testutil.h"

#include "impair.h"

#define MS UINT64_C(1000000)
#define US UINT64_C(1000)

static char errbuf[256];

static struct ferry_wanem_dir *
dir_new(const struct ferry_wanem_dir_conf *c, uint64_t seed)
{
	struct ferry_wanem_dir *d = malloc(sizeof(*d));
	assert_non_null(d);
	assert_int_equal(ferry_wanem_dir_init(d, c, seed, 0, errbuf, sizeof(errbuf)), 0);
	return d;
}

static void
dir_free(struct ferry_wanem_dir *d)
{
	ferry_wanem_dir_fini(d);
	free(d);
}

/* |x - n p| <= 6 sigma of a binomial(n, p) */
static void
assert_binomial(uint64_t x, uint64_t n, double p)
{
	double mean = (double)n * p, sd = sqrt((double)n * p * (1 - p));
	if (fabs((double)x - mean) > 6 * sd + 1) {
		fail_msg("%" PRIu64 " of %" PRIu64 " outside %.1f +- %.1f", x, n, mean, 6 * sd);
	}
}

/* ---- parsing ---------------------------------------------------------------------------- */

static void
test_parse(void **state)
{
	(void)state;
	uint64_t v;
	double p;
	assert_int_equal(ferry_wanem_parse_duration("35ms", &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v, 35 * MS);
	assert_int_equal(ferry_wanem_parse_duration("1.5s", &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v, 1500 * MS);
	assert_int_equal(ferry_wanem_parse_duration("250us", &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v, 250 * US);
	assert_int_equal(ferry_wanem_parse_duration("0", &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ferry_wanem_parse_duration("35", &v, errbuf, sizeof(errbuf)), -EINVAL);
	assert_int_equal(ferry_wanem_parse_duration("-1ms", &v, errbuf, sizeof(errbuf)), -EINVAL);
	assert_int_equal(ferry_wanem_parse_duration("ms", &v, errbuf, sizeof(errbuf)), -EINVAL);

	assert_int_equal(ferry_wanem_parse_percent("0.5%", &p, errbuf, sizeof(errbuf)), 0);
	assert_true(fabs(p - 0.005) < 1e-12);
	assert_int_equal(ferry_wanem_parse_percent("0.5", &p, errbuf, sizeof(errbuf)), -EINVAL);
	assert_int_equal(ferry_wanem_parse_percent("101%", &p, errbuf, sizeof(errbuf)), -EINVAL);

	assert_int_equal(ferry_wanem_parse_rate("1gbit", &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v, UINT64_C(1000000000));
	assert_int_equal(ferry_wanem_parse_rate("125Mbps", &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v, UINT64_C(1000000000));
	assert_int_equal(ferry_wanem_parse_rate("1g", &v, errbuf, sizeof(errbuf)), -EINVAL);

	assert_int_equal(ferry_wanem_parse_size("4MB", &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v, 4 * 1048576);
	assert_int_equal(ferry_wanem_parse_size("1500", &v, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(ferry_wanem_parse_size("3 apples", &v, errbuf, sizeof(errbuf)), -EINVAL);

	struct ferry_wanem_outage o;
	assert_int_equal(ferry_wanem_parse_outage("10s+5s", &o, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(o.start_ns, 10000 * MS);
	assert_int_equal(o.len_ns, 5000 * MS);
	assert_int_equal(o.period_ns, 0);
	assert_int_equal(ferry_wanem_parse_outage("1s+200ms/2s", &o, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(o.period_ns, 2000 * MS);
	assert_int_equal(ferry_wanem_parse_outage("1s+3s/2s", &o, errbuf, sizeof(errbuf)), -EINVAL);
	assert_int_equal(ferry_wanem_parse_outage("10s", &o, errbuf, sizeof(errbuf)), -EINVAL);

	struct ferry_wanem_ge ge;
	assert_int_equal(ferry_wanem_parse_ge("1%,25%", &ge, errbuf, sizeof(errbuf)), 0);
	assert_true(fabs(ge.p - 0.01) < 1e-12 && fabs(ge.r - 0.25) < 1e-12);
	assert_true(ge.h == 0 && ge.k == 1);
	assert_int_equal(
		ferry_wanem_parse_ge("p=1%,r=25%,loss-bad=50%,loss-good=1%", &ge, errbuf,
				     sizeof(errbuf)),
		0);
	assert_true(fabs(ge.h - 0.5) < 1e-12 && fabs(ge.k - 0.99) < 1e-12);
	assert_int_equal(ferry_wanem_parse_ge("p=1%", &ge, errbuf, sizeof(errbuf)), -EINVAL);
	assert_int_equal(ferry_wanem_parse_ge("x=1%,r=1%", &ge, errbuf, sizeof(errbuf)), -EINVAL);

	uint64_t extra;
	assert_int_equal(ferry_wanem_parse_reorder("5%,3ms", &p, &extra, errbuf, sizeof(errbuf)), 0);
	assert_true(fabs(p - 0.05) < 1e-12);
	assert_int_equal(extra, 3 * MS);
}

/* ---- loss ------------------------------------------------------------------------------- */

static void
test_random_loss(void **state)
{
	(void)state;
	struct ferry_wanem_dir_conf c = { .loss = 0.005 };
	struct ferry_wanem_dir *d = dir_new(&c, 42);
	struct ferry_wanem_verdict v;
	const uint64_t n = 1000000;
	for (uint64_t i = 0; i < n; i++)
		ferry_wanem_dir_classify(d, i * US, 100, &v);
	assert_int_equal(d->st.rx_pkts, n);
	assert_int_equal(d->st.dropped, d->st.drop[FERRY_WANEM_DROP_LOSS]);
	assert_binomial(d->st.drop[FERRY_WANEM_DROP_LOSS], n, 0.005);
	dir_free(d);

	/* 0 % and 100 % are exact */
	c.loss = 1.0;
	d = dir_new(&c, 1);
	for (int i = 0; i < 1000; i++)
		ferry_wanem_dir_classify(d, 0, 100, &v);
	assert_int_equal(d->st.drop[FERRY_WANEM_DROP_LOSS], 1000);
	dir_free(d);
}

static void
test_gilbert_elliott(void **state)
{
	(void)state;
	/* Gilbert model: bad state loses everything, good state nothing. Stationary loss
	 * p/(p+r) = 1/26, mean burst 1/r = 4. */
	struct ferry_wanem_dir_conf c = { .ge_on = true, .ge = { .p = 0.01, .r = 0.25, .h = 0,
								  .k = 1 } };
	struct ferry_wanem_dir *d = dir_new(&c, 7);
	struct ferry_wanem_verdict v;
	const uint64_t n = 1000000;
	uint64_t bursts = 0, run = 0, longest = 0;
	for (uint64_t i = 0; i < n; i++) {
		ferry_wanem_dir_classify(d, 0, 100, &v);
		if (v.drop == FERRY_WANEM_DROP_BURST) {
			if (run++ == 0)
				bursts++;
		} else {
			run = 0;
		}
		if (run > longest)
			longest = run;
	}
	uint64_t lost = d->st.drop[FERRY_WANEM_DROP_BURST];
	double rate = (double)lost / n, mean_burst = (double)lost / bursts;
	print_message("GE: loss %.4f (expect %.4f), mean burst %.2f (expect 4), longest %" PRIu64
		      "\n",
		      rate, 1.0 / 26, mean_burst, longest);
	assert_true(fabs(rate - 1.0 / 26) < 0.1 / 26);
	assert_true(fabs(mean_burst - 4.0) < 0.3);
	/* bursty, not independent: independent 3.8 % loss gives 20 in a row with p ~ 1e-23 */
	assert_true(longest >= 20);
	dir_free(d);

	/* with random loss at the same rate the mean burst is ~1/(1-p) = 1.04 */
	struct ferry_wanem_dir_conf r = { .loss = 1.0 / 26 };
	d = dir_new(&r, 7);
	bursts = run = 0;
	for (uint64_t i = 0; i < n; i++) {
		ferry_wanem_dir_classify(d, 0, 100, &v);
		if (v.drop != FERRY_WANEM_PASS) {
			if (run++ == 0)
				bursts++;
		} else {
			run = 0;
		}
	}
	assert_true((double)d->st.dropped / bursts < 1.1);
	dir_free(d);
}

/* ---- delay, jitter, reordering ------------------------------------------------------------ */

/* Feeds n packets 100 us apart, then drains at the end of time; records release order. */
static void
run_delay_line(struct ferry_wanem_dir *d, uint32_t n, uintptr_t *order)
{
	struct ferry_wanem_verdict v;
	for (uint32_t i = 0; i < n; i++) {
		ferry_wanem_dir_classify(d, i * 100 * US, 100, &v);
		assert_int_equal(
			ferry_wanem_dir_enqueue(d, i * 100 * US, (void *)(uintptr_t)(i + 1), 100),
			FERRY_WANEM_PASS);
	}
	void *pkts[64];
	enum ferry_wanem_drop vd[64];
	uint32_t got = 0, k;
	uint64_t prev = 0;
	/* step simulated time by 10 us so every packet leaves at its own release time */
	for (uint64_t t = 0; got < n; t += 10 * US) {
		uint64_t next = ferry_wanem_dir_next_release(d);
		while ((k = ferry_wanem_dir_dequeue(d, t, pkts, vd, 64)) != 0) {
			for (uint32_t i = 0; i < k; i++) {
				uintptr_t id = (uintptr_t)pkts[i];
				assert_int_equal(vd[i], FERRY_WANEM_PASS);
				/* never before its arrival + delay - jitter */
				assert_true(t >= (id - 1) * 100 * US + d->conf.delay_ns -
							  d->conf.jitter_ns);
				order[got++] = id;
			}
			assert_true(next <= t && next >= prev);
			prev = next;
			next = ferry_wanem_dir_next_release(d);
		}
		assert_true(t < 10000 * MS);
	}
	assert_int_equal(d->held, 0);
	assert_int_equal(ferry_wanem_dir_next_release(d), UINT64_MAX);
}

static void
test_delay_jitter_fifo(void **state)
{
	(void)state;
	enum { N = 5000 };
	static uintptr_t order[N];
	/* jitter (+-5 ms) far larger than the 100 us spacing: would reorder if allowed */
	struct ferry_wanem_dir_conf c = { .delay_ns = 35 * MS, .jitter_ns = 5 * MS };
	for (int dist = 0; dist < 2; dist++) {
		c.jitter_dist = dist ? FERRY_WANEM_JITTER_NORMAL : FERRY_WANEM_JITTER_UNIFORM;
		struct ferry_wanem_dir *d = dir_new(&c, 3);
		run_delay_line(d, N, order);
		for (uint32_t i = 0; i < N; i++)
			assert_int_equal(order[i], i + 1);
		dir_free(d);
	}

	/* nothing held yet: a packet leaves exactly delay after arrival */
	struct ferry_wanem_dir_conf fixed = { .delay_ns = 35 * MS };
	struct ferry_wanem_dir *d = dir_new(&fixed, 3);
	void *p;
	enum ferry_wanem_drop vd;
	assert_int_equal(ferry_wanem_dir_enqueue(d, 1000, (void *)1, 100), FERRY_WANEM_PASS);
	assert_int_equal(ferry_wanem_dir_dequeue(d, 1000 + 35 * MS - 1, &p, &vd, 1), 0);
	assert_int_equal(ferry_wanem_dir_dequeue(d, 1000 + 35 * MS, &p, &vd, 1), 1);
	dir_free(d);
}

static void
test_reorder(void **state)
{
	(void)state;
	enum { N = 20000 };
	static uintptr_t order[N];
	/* 5 % held back by 1 ms: each one is overtaken by ~10 later packets */
	struct ferry_wanem_dir_conf c = { .delay_ns = 10 * MS, .reorder_on = true,
					  .reorder = 0.05, .reorder_ns = 1 * MS, .limit = N };
	struct ferry_wanem_dir *d = dir_new(&c, 11);
	run_delay_line(d, N, order);
	assert_binomial(d->st.reordered, N, 0.05);
	uint64_t late = 0;
	for (uint32_t i = 1; i < N; i++)
		if (order[i] < order[i - 1])
			late++;
	/* every held-back packet arrives after later ones: one descent each, except when two
	 * held-back packets are adjacent (~5 % of them) */
	assert_true(late <= d->st.reordered && late >= d->st.reordered * 9 / 10);
	dir_free(d);

	/* with --reorder, jitter alone may reorder */
	struct ferry_wanem_dir_conf j = { .delay_ns = 10 * MS, .jitter_ns = 2 * MS,
					  .reorder_on = true, .limit = N };
	d = dir_new(&j, 11);
	run_delay_line(d, N, order);
	late = 0;
	for (uint32_t i = 1; i < N; i++)
		if (order[i] < order[i - 1])
			late++;
	assert_true(late > N / 10);
	assert_int_equal(d->st.reordered, 0);
	dir_free(d);
}

/* ---- bottleneck --------------------------------------------------------------------------- */

static void
test_rate_timing(void **state)
{
	(void)state;
	/* 1 Mbit/s, 1250-byte frames: 10 ms each; 10 back-to-back at t=0, 5 ms delay */
	struct ferry_wanem_dir_conf c = { .delay_ns = 5 * MS, .rate_bps = 1000000,
					  .queue_bytes = 1 << 20 };
	struct ferry_wanem_dir *d = dir_new(&c, 1);
	for (uintptr_t i = 1; i <= 10; i++)
		assert_int_equal(ferry_wanem_dir_enqueue(d, 0, (void *)i, 1250), FERRY_WANEM_PASS);
	assert_int_equal(ferry_wanem_dir_backlog(d, 0), 12500);
	assert_int_equal(ferry_wanem_dir_backlog(d, 50 * MS), 6250);
	void *p[16];
	enum ferry_wanem_drop vd[16];
	for (uintptr_t i = 1; i <= 10; i++) {
		uint64_t due = i * 10 * MS + 5 * MS;
		assert_int_equal(ferry_wanem_dir_next_release(d), due);
		assert_int_equal(ferry_wanem_dir_dequeue(d, due - 1, p, vd, 16), 0);
		assert_int_equal(ferry_wanem_dir_dequeue(d, due, p, vd, 16), 1);
		assert_ptr_equal(p[0], (void *)i);
	}
	/* an idle link does not bank credit: the next packet waits a full 10 ms again */
	assert_int_equal(ferry_wanem_dir_enqueue(d, 500 * MS, (void *)11, 1250), FERRY_WANEM_PASS);
	assert_int_equal(ferry_wanem_dir_next_release(d), 515 * MS);
	dir_free(d);

	/* the long-run rate is exact even when a frame's time is not a whole ns:
	 * 7 Gbit/s, 1500 + 24 bytes = 1741.714 ns each; 1e5 frames = floor(1e5 * 12192 / 7) */
	struct ferry_wanem_dir_conf g = { .rate_bps = 7000000000ull, .overhead = 24,
					  .queue_bytes = UINT64_C(1) << 40, .limit = 1 << 17 };
	d = dir_new(&g, 1);
	for (uint32_t i = 0; i < 100000; i++)
		assert_int_equal(ferry_wanem_dir_enqueue(d, 0, NULL, 1500), FERRY_WANEM_PASS);
	assert_int_equal(d->link_free_ns, 174171428ull);
	dir_free(d);
}

static void
test_queue_tail_drop(void **state)
{
	(void)state;
	/* 5000-byte queue, 1250-byte frames: 4 fit (the one on the wire counts) */
	struct ferry_wanem_dir_conf c = { .rate_bps = 1000000, .queue_bytes = 5000 };
	struct ferry_wanem_dir *d = dir_new(&c, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ferry_wanem_dir_enqueue(d, 0, NULL, 1250), FERRY_WANEM_PASS);
	assert_int_equal(ferry_wanem_dir_enqueue(d, 0, NULL, 1250), FERRY_WANEM_DROP_QUEUE);
	assert_int_equal(ferry_wanem_dir_enqueue(d, 0, NULL, 100), FERRY_WANEM_DROP_QUEUE);
	assert_int_equal(d->st.drop[FERRY_WANEM_DROP_QUEUE], 2);
	assert_int_equal(d->st.dropped, 2);
	/* 10 ms later one frame has left the bottleneck: room for one more */
	assert_int_equal(ferry_wanem_dir_enqueue(d, 10 * MS, NULL, 1250), FERRY_WANEM_PASS);
	assert_int_equal(ferry_wanem_dir_enqueue(d, 10 * MS, NULL, 1250), FERRY_WANEM_DROP_QUEUE);
	/* the delay line holds all accepted packets until their release */
	assert_int_equal(d->held, 5);
	dir_free(d);

	/* default queue: 100 ms at the rate */
	struct ferry_wanem_dir_conf dq = { .rate_bps = 100000000 };
	d = dir_new(&dq, 1);
	assert_int_equal(d->queue_bytes, 1250000);
	dir_free(d);
}

static void
test_limit(void **state)
{
	(void)state;
	struct ferry_wanem_dir_conf c = { .delay_ns = 1 * MS, .limit = 8 };
	struct ferry_wanem_dir *d = dir_new(&c, 1);
	for (int i = 0; i < 8; i++)
		assert_int_equal(ferry_wanem_dir_enqueue(d, 0, NULL, 64), FERRY_WANEM_PASS);
	assert_int_equal(ferry_wanem_dir_enqueue(d, 0, NULL, 64), FERRY_WANEM_DROP_LIMIT);
	assert_int_equal(d->st.drop[FERRY_WANEM_DROP_LIMIT], 1);
	void *p[8];
	enum ferry_wanem_drop vd[8];
	assert_int_equal(ferry_wanem_dir_dequeue(d, 1 * MS, p, vd, 8), 8);
	assert_int_equal(ferry_wanem_dir_enqueue(d, 1 * MS, NULL, 64), FERRY_WANEM_PASS);
	dir_free(d);
}

/* ---- outages ------------------------------------------------------------------------------ */

static void
test_outage(void **state)
{
	(void)state;
	struct ferry_wanem_dir_conf c = { .delay_ns = 50 * MS, .n_outages = 2 };
	assert_int_equal(ferry_wanem_parse_outage("10s+5s", &c.outages[0], errbuf, sizeof(errbuf)),
			 0);
	assert_int_equal(
		ferry_wanem_parse_outage("100s+1s/10s", &c.outages[1], errbuf, sizeof(errbuf)), 0);
	const uint64_t S = 1000 * MS;
	assert_false(ferry_wanem_in_outage(&c, 10 * S - 1));
	assert_true(ferry_wanem_in_outage(&c, 10 * S));
	assert_true(ferry_wanem_in_outage(&c, 15 * S - 1));
	assert_false(ferry_wanem_in_outage(&c, 15 * S));
	assert_false(ferry_wanem_in_outage(&c, 99 * S));
	assert_true(ferry_wanem_in_outage(&c, 100 * S));
	assert_false(ferry_wanem_in_outage(&c, 101 * S));
	assert_true(ferry_wanem_in_outage(&c, 110 * S + 999 * MS));
	assert_false(ferry_wanem_in_outage(&c, 111 * S));

	/* one packet per ms from 9 s to 16 s, 50 ms delay: what arrives in the window is
	 * dropped at ingress, what is in flight when it starts is dropped at egress, and
	 * nothing is released inside [10 s, 15 s) */
	c.n_outages = 1;
	struct ferry_wanem_dir *d = dir_new(&c, 1);
	struct ferry_wanem_verdict v;
	void *p[64];
	enum ferry_wanem_drop vd[64];
	uint64_t delivered = 0;
	for (uint64_t t = 9 * S; t < 16 * S; t += MS) {
		ferry_wanem_dir_classify(d, t, 100, &v);
		if (v.drop == FERRY_WANEM_PASS)
			assert_int_equal(ferry_wanem_dir_enqueue(d, t, NULL, 100), FERRY_WANEM_PASS);
		uint32_t k = ferry_wanem_dir_dequeue(d, t, p, vd, 64);
		for (uint32_t i = 0; i < k; i++) {
			if (vd[i] == FERRY_WANEM_PASS) {
				assert_false(t >= 10 * S && t < 15 * S);
				delivered++;
			}
		}
	}
	/* 5000 arrivals in the window, and the 50 sent in the 50 ms before it */
	assert_int_equal(d->st.drop[FERRY_WANEM_DROP_OUTAGE], 5000 + 50);
	assert_int_equal(delivered + d->held + d->st.dropped, d->st.rx_pkts);
	dir_free(d);
}

/* ---- duplication, corruption ---------------------------------------------------------------- */

static void
test_dup_corrupt(void **state)
{
	(void)state;
	struct ferry_wanem_dir_conf c = { .dup = 0.1, .corrupt = 0.02, .loss = 0.05 };
	struct ferry_wanem_dir *d = dir_new(&c, 99);
	struct ferry_wanem_verdict v;
	const uint64_t n = 200000;
	uint64_t dups = 0, corrupts = 0, passed = 0;
	for (uint64_t i = 0; i < n; i++) {
		ferry_wanem_dir_classify(d, 0, 100, &v);
		if (v.drop != FERRY_WANEM_PASS) {
			assert_false(v.dup || v.corrupt);
			continue;
		}
		passed++;
		dups += v.dup;
		corrupts += v.corrupt;
	}
	assert_int_equal(dups, d->st.duplicated);
	assert_int_equal(corrupts, d->st.corrupted);
	assert_binomial(d->st.drop[FERRY_WANEM_DROP_LOSS], n, 0.05);
	assert_binomial(dups, passed, 0.1);
	assert_binomial(corrupts, passed, 0.02);
	dir_free(d);
}

static void
test_corrupt_pick(void **state)
{
	(void)state;
	/* Ethernet / IPv4 (IHL 5) / UDP / 100-byte payload */
	uint8_t f[142] = { 0 };
	f[12] = 0x08;
	f[14] = 0x45;
	f[23] = 17;
	for (uint64_t draw = 0; draw < 5000; draw += 7) {
		uint64_t bit = ferry_wanem_corrupt_pick(f, sizeof(f), sizeof(f), draw * 0x9e3779b1u);
		assert_true(bit >= 42 * 8 && bit < 142 * 8);
	}
	/* IPv4 with options (IHL 6): payload starts 4 bytes later */
	f[14] = 0x46;
	assert_true(ferry_wanem_corrupt_pick(f, sizeof(f), sizeof(f), 0) == 46 * 8);
	/* VLAN-tagged IPv6 / TCP (doff 8 = 32 bytes) */
	uint8_t g[200] = { 0 };
	g[12] = 0x81;
	g[16] = 0x86;
	g[17] = 0xdd;
	g[18] = 0x60;
	g[18 + 6] = 6;
	g[58 + 12] = 0x80;
	assert_int_equal(ferry_wanem_corrupt_pick(g, sizeof(g), sizeof(g), 0), 90 * 8);
	/* not IP: anywhere after the Ethernet header; runt: anywhere */
	uint8_t h[60] = { 0 };
	assert_int_equal(ferry_wanem_corrupt_pick(h, sizeof(h), sizeof(h), 0), 14 * 8);
	assert_int_equal(ferry_wanem_corrupt_pick(h, 10, 10, 3), 3);
	/* UDP with no payload: after the Ethernet header */
	f[14] = 0x45;
	assert_int_equal(ferry_wanem_corrupt_pick(f, 42, 42, 0), 14 * 8);
	assert_int_equal(ferry_wanem_corrupt_pick(f, 0, 0, 0), UINT64_MAX);
}

/* ---- determinism ------------------------------------------------------------------------------ */

static uint64_t
fingerprint(uint64_t seed, double dup)
{
	struct ferry_wanem_dir_conf c = { .loss = 0.1, .ge_on = true,
					  .ge = { .p = 0.01, .r = 0.3, .h = 0.2, .k = 1 },
					  .dup = dup, .corrupt = 0.05, .delay_ns = 1 * MS,
					  .jitter_ns = 1 * MS };
	struct ferry_wanem_dir *d = dir_new(&c, seed);
	struct ferry_wanem_verdict v;
	uint64_t h = 1469598103934665603ull;
	for (uint32_t i = 0; i < 100000; i++) {
		ferry_wanem_dir_classify(d, i, 100, &v);
		/* only the loss pattern: it must not depend on the dup option */
		h = (h ^ (uint64_t)(v.drop == FERRY_WANEM_DROP_LOSS)) * 1099511628211ull;
		if (dup == 0)
			h = (h ^ (uint64_t)v.drop ^ v.corrupt_draw) * 1099511628211ull;
	}
	dir_free(d);
	return h;
}

static void
test_determinism(void **state)
{
	(void)state;
	assert_int_equal(fingerprint(1, 0), fingerprint(1, 0));
	assert_int_not_equal(fingerprint(1, 0), fingerprint(2, 0));
	assert_int_equal(fingerprint(5, 0.3), fingerprint(5, 0.7));

	struct ferry_wanem_rng a, b;
	ferry_wanem_rng_seed(&a, 123);
	ferry_wanem_rng_seed(&b, 123);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ferry_wanem_rng_next(&a), ferry_wanem_rng_next(&b));
	double sum = 0;
	for (int i = 0; i < 100000; i++) {
		double u = ferry_wanem_rng_unit(&a);
		assert_true(u >= 0 && u < 1);
		sum += u;
	}
	assert_true(fabs(sum / 100000 - 0.5) < 0.01);
}

static void
test_conf_errors(void **state)
{
	(void)state;
	struct ferry_wanem_dir d;
	struct ferry_wanem_dir_conf c = { .loss = 1.5 };
	assert_int_equal(ferry_wanem_dir_init(&d, &c, 1, 0, errbuf, sizeof(errbuf)), -EINVAL);
	struct ferry_wanem_dir_conf l = { .limit = 1u << 30 };
	assert_int_equal(ferry_wanem_dir_init(&d, &l, 1, 0, errbuf, sizeof(errbuf)), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_random_loss),
		cmocka_unit_test(test_gilbert_elliott),
		cmocka_unit_test(test_delay_jitter_fifo),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_rate_timing),
		cmocka_unit_test(test_queue_tail_drop),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_outage),
		cmocka_unit_test(test_dup_corrupt),
		cmocka_unit_test(test_corrupt_pick),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_conf_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
