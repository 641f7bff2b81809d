/*
 * impair.h - ferry-wanem's link model: what happens to a packet that crosses one direction
 * of the emulated WAN (loss, Gilbert-Elliott bursts, outages, duplication, corruption, a
 * rate-limited bottleneck queue, delay, jitter, reordering), as pure functions over packet
 * metadata and simulated time. No DPDK: the packets are opaque handles, time is nanoseconds
 * since the emulator's time zero, so everything here runs under cmocka.
 *
 * One struct ferry_wanem_dir per direction, owned and used by the one thread that forwards
 * that direction; nothing is shared. Every random decision draws from its own seeded PRNG
 * stream, so the verdicts for packet #i of a direction depend only on (seed, options, i)
 * -- except the time-driven ones (outage, queue full).
 */
#ifndef FERRY_WANEM_IMPAIR_H
#define FERRY_WANEM_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_WANEM_MAX_OUTAGES 16
#define FERRY_WANEM_NS          UINT64_C(1000000000)

/* Drop reasons: id, JSON/stats name, help. */
#define FERRY_WANEM_FOREACH_DROP(_)                                                      \
	_(LOSS, "loss", "random loss (--loss)")                                          \
	_(BURST, "burst", "Gilbert-Elliott burst loss (--ge)")                           \
	_(OUTAGE, "outage", "scheduled outage (--outage)")                               \
	_(QUEUE, "queue_full", "bottleneck queue full, tail drop (--rate/--queue)")      \
	_(LIMIT, "limit", "emulator delay line full (--limit)")                          \
	_(NOMBUF, "nombuf", "no mbuf left to copy a duplicate")

enum ferry_wanem_drop {
	FERRY_WANEM_PASS = 0,
#define FERRY_WANEM_DROP_ENUM(id, name, help) FERRY_WANEM_DROP_##id,
	FERRY_WANEM_FOREACH_DROP(FERRY_WANEM_DROP_ENUM)
#undef FERRY_WANEM_DROP_ENUM
	FERRY_WANEM_DROP_MAX
};

/* Per-direction counters: name, help. Written only by the direction's owner. */
#define FERRY_WANEM_FOREACH_COUNTER(_)                                                   \
	_(rx_pkts, "packets received from the ingress port")                             \
	_(rx_bytes, "bytes received from the ingress port")                              \
	_(tx_pkts, "packets sent on the egress port (duplicates included)")              \
	_(tx_bytes, "bytes sent on the egress port")                                     \
	_(dropped, "packets dropped, all reasons (sum of drop.*)")                       \
	_(duplicated, "extra copies made by --dup")                                      \
	_(corrupted, "packets with one bit flipped by --corrupt")                        \
	_(reordered, "packets held back by --reorder's extra delay")                     \
	_(tx_retries, "tx bursts the egress port did not take whole (retried)")

struct ferry_wanem_stats {
#define FERRY_WANEM_COUNTER_FIELD(name, help) uint64_t name;
	FERRY_WANEM_FOREACH_COUNTER(FERRY_WANEM_COUNTER_FIELD)
#undef FERRY_WANEM_COUNTER_FIELD
	uint64_t drop[FERRY_WANEM_DROP_MAX]; /* [0] (PASS) unused */
};

extern const char *const ferry_wanem_drop_names[FERRY_WANEM_DROP_MAX];

/* A window [start, start + len), repeated every period when period != 0. */
struct ferry_wanem_outage {
	uint64_t start_ns;
	uint64_t len_ns;
	uint64_t period_ns;
};

enum ferry_wanem_jitter_dist {
	FERRY_WANEM_JITTER_UNIFORM, /* delay + U(-jitter, +jitter) */
	FERRY_WANEM_JITTER_NORMAL,  /* delay + N(0, jitter^2), clipped to +-4 sigma */
};

/*
 * Gilbert-Elliott two-state loss: p = P(good -> bad), r = P(bad -> good), per packet;
 * h = P(delivered | bad), k = P(delivered | good) as in the literature (netem's gemodel takes
 * 1-h and 1-k instead). Mean burst length 1/r, stationary loss
 * p/(p+r)*(1-h) + r/(p+r)*(1-k).
 */
struct ferry_wanem_ge {
	double p, r, h, k;
};

struct ferry_wanem_dir_conf {
	uint64_t delay_ns;
	uint64_t jitter_ns;
	enum ferry_wanem_jitter_dist jitter_dist;
	double loss;    /* probabilities in [0, 1] */
	bool ge_on;
	struct ferry_wanem_ge ge;
	double dup;
	double corrupt;
	bool reorder_on; /* lets jitter reorder too, see ferry_wanem_dir_enqueue() */
	double reorder;
	uint64_t reorder_ns; /* extra delay of a reordered packet */
	uint64_t rate_bps;   /* bottleneck rate in bits/s, 0 = none */
	uint64_t queue_bytes; /* bottleneck queue, 0 = default (100 ms at rate) */
	uint32_t overhead;   /* bytes added to each frame for the rate (24 = preamble+IFG+FCS) */
	uint32_t limit;      /* packets the delay line holds, 0 = default */
	uint32_t n_outages;
	struct ferry_wanem_outage outages[FERRY_WANEM_MAX_OUTAGES];
};

#define FERRY_WANEM_DEFAULT_LIMIT 16384u

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
struct ferry_wanem_rng {
	uint64_t s[4];
};

enum ferry_wanem_stream {
	FERRY_WANEM_RNG_LOSS,
	FERRY_WANEM_RNG_GE,
	FERRY_WANEM_RNG_DUP,
	FERRY_WANEM_RNG_CORRUPT,
	FERRY_WANEM_RNG_JITTER,
	FERRY_WANEM_RNG_REORDER,
	FERRY_WANEM_RNG_MAX
};

/* One packet held in the delay line. */
struct ferry_wanem_slot {
	uint64_t release_ns;
	uint64_t seq; /* admission order, breaks ties so equal release times leave FIFO */
	void *pkt;
	uint32_t len;
};

struct ferry_wanem_dir {
	struct ferry_wanem_dir_conf conf;
	struct ferry_wanem_rng rng[FERRY_WANEM_RNG_MAX];
	bool ge_bad;
	uint64_t seq;
	/* Bottleneck: the time it finishes serialising what it holds, and the remainder of
	 * the last serialisation-time division (in bit-nanoseconds) so the long-run rate is
	 * exact. */
	uint64_t link_free_ns;
	uint64_t link_rem;
	uint64_t queue_bytes; /* effective queue size */
	uint64_t last_release_ns; /* tail of the FIFO */
	/* The delay line: a FIFO ring whose release times never decrease, plus a min-heap for
	 * the packets that must overtake or be overtaken (only with --reorder). */
	struct ferry_wanem_slot *fifo;
	uint32_t fifo_mask, fifo_head, fifo_tail;
	struct ferry_wanem_slot *heap;
	uint32_t heap_n;
	uint32_t limit;
	uint32_t held;
	uint64_t held_bytes;
	struct ferry_wanem_stats st;
};

/* What happens to one arriving packet before the bottleneck. */
struct ferry_wanem_verdict {
	enum ferry_wanem_drop drop; /* PASS or LOSS/BURST/OUTAGE (already counted) */
	bool dup;                   /* enqueue one extra copy (counted) */
	bool corrupt;               /* flip bit ferry_wanem_corrupt_pick(.., corrupt_draw) */
	uint64_t corrupt_draw;
};

/* ---- PRNG ---------------------------------------------------------------------------- */
void ferry_wanem_rng_seed(struct ferry_wanem_rng *rng, uint64_t seed);
uint64_t ferry_wanem_rng_next(struct ferry_wanem_rng *rng);
/* Uniform in [0, 1). */
double ferry_wanem_rng_unit(struct ferry_wanem_rng *rng);

/* ---- Option parsing: 0 or -EINVAL with a message in err ------------------------------- */
/* "35ms", "1.5s", "250us", "100ns", "0". A unit is required for non-zero values. */
int ferry_wanem_parse_duration(const char *s, uint64_t *ns, char *err, size_t errlen);
/* "0.5%" -> 0.005; "0" -> 0. The % is required for non-zero values. */
int ferry_wanem_parse_percent(const char *s, double *p, char *err, size_t errlen);
/* tc units: bit kbit mbit gbit tbit (bits/s, x1000) and bps kbps mbps gbps (bytes/s). */
int ferry_wanem_parse_rate(const char *s, uint64_t *bps, char *err, size_t errlen);
/* bytes: "4MB", "64k", "1500", "2MiB"; k/m/g = x1024 as in tc. */
int ferry_wanem_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* "START+LEN" or "START+LEN/PERIOD", e.g. "10s+5s", "1s+200ms/2s". */
int ferry_wanem_parse_outage(const char *s, struct ferry_wanem_outage *o, char *err,
			     size_t errlen);
/* "P,R[,H[,K]]" positional, or named "p=1%,r=25%,loss-bad=100%,loss-good=0%". */
int ferry_wanem_parse_ge(const char *s, struct ferry_wanem_ge *ge, char *err, size_t errlen);
/* "P%" or "P%,EXTRA" (extra delay, default 1ms). */
int ferry_wanem_parse_reorder(const char *s, double *p, uint64_t *extra_ns, char *err,
			      size_t errlen);

/* ---- The direction ------------------------------------------------------------------- */
/*
 * Validates conf, allocates the delay line (limit slots) and seeds the streams from
 * (seed, dir_id). 0 or -EINVAL/-ENOMEM with err.
 */
int ferry_wanem_dir_init(struct ferry_wanem_dir *d, const struct ferry_wanem_dir_conf *conf,
			 uint64_t seed, unsigned int dir_id, char *err, size_t errlen);
void ferry_wanem_dir_fini(struct ferry_wanem_dir *d);

bool ferry_wanem_in_outage(const struct ferry_wanem_dir_conf *conf, uint64_t t_ns);

/*
 * Stage 1, on arrival at now_ns of a frame of len bytes: counts rx, draws every enabled
 * stream once (whatever the outcome, so the pattern does not shift), then decides outage,
 * random loss, burst loss, duplication and corruption. @locality owner of d
 */
void ferry_wanem_dir_classify(struct ferry_wanem_dir *d, uint64_t now_ns, uint32_t len,
			      struct ferry_wanem_verdict *v);

/*
 * Stage 2, for each copy that survived stage 1: the delay line's limit, the bottleneck
 * (tail drop when its backlog + len exceeds the queue; otherwise it leaves after its
 * serialisation time), then delay + jitter. Without --reorder the release time is
 * max(release, previous release): jitter never reorders. With --reorder, jitter may
 * reorder and a share of packets get the extra delay. Returns PASS (pkt is held) or the
 * drop reason (counted; the caller frees pkt).
 */
enum ferry_wanem_drop ferry_wanem_dir_enqueue(struct ferry_wanem_dir *d, uint64_t now_ns,
					      void *pkt, uint32_t len);

/*
 * Stage 3: takes up to n packets whose release time is <= now_ns, in release order, into
 * pkts[]; verdict[i] is PASS (send it) or OUTAGE (its release time fell in an outage:
 * counted, free it). Returns how many were taken.
 */
uint32_t ferry_wanem_dir_dequeue(struct ferry_wanem_dir *d, uint64_t now_ns, void **pkts,
				 enum ferry_wanem_drop *verdict, uint32_t n);

/* Counts a drop the caller decided (NOMBUF): drop[why] and dropped. */
void ferry_wanem_dir_count_drop(struct ferry_wanem_dir *d, enum ferry_wanem_drop why);

/* Earliest release time held, UINT64_MAX when empty. */
uint64_t ferry_wanem_dir_next_release(const struct ferry_wanem_dir *d);
/* Bytes waiting at the bottleneck at now_ns (including the one being serialised). */
uint64_t ferry_wanem_dir_backlog(const struct ferry_wanem_dir *d, uint64_t now_ns);

/*
 * Which bit to flip in a frame of len bytes whose first caplen bytes are hdr: a bit of the
 * payload after Ethernet (+VLAN)/IPv4 or IPv6/UDP or TCP when the frame parses and has
 * payload, else a bit anywhere after the Ethernet header. UINT64_MAX when len == 0.
 */
uint64_t ferry_wanem_corrupt_pick(const uint8_t *hdr, uint32_t caplen, uint32_t len,
				  uint64_t draw);

#endif
