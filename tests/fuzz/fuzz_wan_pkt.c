/*
 * fuzz_wan_pkt.c - libFuzzer harness for the WAN packet layer: the whole receive path
 * (framing, peer check, epoch, replay window, AES-256-GCM open, commit) on hostile bytes, and
 * a build -> open round trip of fuzz-chosen headers and payloads.
 *
 * Gateways: A (TLS client, 10.0.0.1:4791) seals, B (server, 10.0.0.2:4792) opens, with keys
 * derived by HKDF from a fixed secret. A sealed under epoch 1 and then 2; B holds rx epochs 1
 * and 2, so both key slots are reachable. B's windows are reset at the start of every input,
 * so an input means the same thing whenever it runs.
 *
 * Input: byte 0 selects the mode.
 *   even  - open: then up to 8 packets, each a big-endian u16 length and that many bytes,
 *           opened in order by B (duplicates inside one input hit the window).
 *           Accepted packets must have a payload inside the packet of the header's length.
 *   odd   - round trip: bytes 1..4 pick type, lane, flags, fragment fields; bit 1 of byte 0
 *           seals out of place, bit 2 turns on UDP checksums; the rest is the payload (cut to
 *           the MTU's max). B must open it to the same header and bytes.
 * A broken property abort()s, which libFuzzer records as a crash.
 *
 * Seeds: corpus/wan_pkt/, written by this harness itself so they always match the key and
 * layout (and are opened back to check them):
 *   FUZZ_WAN_WRITE_SEEDS=tests/fuzz/corpus/wan_pkt <builddir>/tests/fuzz/fuzz_wan_pkt -runs=0
 *
 * Single-threaded (libFuzzer calls in a loop); all state is static.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/wan.h"

#define PKT_CAP  (FERRY_WAN_HDRS_LEN + FERRY_WAN_MTU_MAX + FERRY_WAN_TAG_LEN)
#define PKTS_MAX 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static const uint8_t secret[32] = "fuzz_wan_pkt fixed secret 32 B.";
static struct ferry_wan_ep ep_a, ep_b;
static uint8_t pkt[PKT_CAP], src[PKT_CAP], seed[4 * PKT_CAP];

static void
die(const char *what, int rc)
{
	fprintf(stderr, "fuzz_wan_pkt: %s: %d (%s)\n", what, rc,
		rc > 0 ? ferry_wan_drop_name((enum ferry_wan_drop)rc) : "errno");
	abort();
}

static void
keys(struct ferry_wan_ep *ep, enum ferry_wan_role role, uint32_t epoch, bool tx, bool rx)
{
	struct ferry_wan_key_material ktx, krx;
	char err[128];
	int rc =
	    ferry_wan_kdf(secret, sizeof(secret), role, epoch, 0, &ktx, &krx, err, sizeof(err));
	if (rc != 0)
		die(err, rc);
	if (rx && (rc = ferry_wan_keyset_install_rx(&ep->ks, epoch, &krx)) != 0)
		die("install rx", rc);
	if (tx && (rc = ferry_wan_keyset_install_tx(&ep->ks, epoch, &ktx, 0)) != 0)
		die("install tx", rc);
	ferry_wan_key_wipe(&ktx);
	ferry_wan_key_wipe(&krx);
}

static void
reset_rx(void)
{
	for (int i = 0; i < 2; i++) {
		ferry_wan_replay_reset(&ep_b.ks.rx[i].rw);
		ep_b.ks.rx[i].seen = false;
	}
}

/* Seal src[0..len) from A into pkt; returns the frame length. */
static size_t
seal(struct ferry_wan_hdr *h, size_t len, bool in_place)
{
	uint8_t *dst = pkt + FERRY_WAN_HDRS_LEN;
	if (in_place)
		memcpy(dst, src, len);
	int rc = ferry_wan_pkt_build(&ep_a, h, pkt, in_place ? dst : src, dst, len);
	if (rc != 0)
		die("build", rc);
	return FERRY_WAN_HDRS_LEN + len + FERRY_WAN_TAG_LEN;
}

/* ---- seeds ------------------------------------------------------------------------------- */

static size_t seed_len;

static void
seed_begin(uint8_t mode)
{
	seed[0] = mode;
	seed_len = 1;
}

static void
seed_add_pkt(size_t len)
{
	ferry_put_be16(seed + seed_len, (uint16_t)len);
	memcpy(seed + seed_len + 2, pkt, len);
	seed_len += 2 + len;
}

static void
seed_write(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(seed, 1, seed_len, f) != seed_len || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

static void reset_rx(void);

/* Open the packets of the seed just built, as the harness will, and check each result. */
static void
seed_check(const char *name, const enum ferry_wan_drop *want, size_t nwant)
{
	static uint8_t buf[PKT_CAP];
	const uint8_t *p = seed + 1;
	size_t left = seed_len - 1;
	reset_rx();
	for (size_t i = 0; i < nwant; i++) {
		size_t len = ferry_be16(p);
		memcpy(buf, p + 2, len);
		p += 2 + len, left -= 2 + len;
		struct ferry_wan_hdr h;
		struct ferry_span pl;
		enum ferry_wan_drop r = ferry_wan_pkt_open(&ep_b, buf, len, &h, &pl);
		if (r != want[i]) {
			fprintf(stderr, "fuzz_wan_pkt: seed %s packet %zu: %s, want %s\n", name, i,
				ferry_wan_drop_name(r), ferry_wan_drop_name(want[i]));
			abort();
		}
	}
	if (left != 0)
		die("seed has trailing bytes", (int)left);
}

static struct ferry_wan_hdr
data_hdr(uint64_t seq, uint16_t idx, uint16_t cnt)
{
	struct ferry_wan_hdr h = { 0 };
	h.type = FERRY_WAN_T_DATA;
	h.lane = 2;
	h.seq = seq;
	h.frag_idx = idx;
	h.frag_cnt = cnt;
	h.flags = idx + 1 == cnt ? FERRY_WAN_F_LAST : 0;
	return h;
}

/* A must be at tx epoch 1 on entry; leaves it at epoch 2. */
static void
write_seeds(const char *dir)
{
	static const enum ferry_wan_drop ok = FERRY_WAN_DROP_NONE;
	static const enum ferry_wan_drop multi[4] = { FERRY_WAN_DROP_NONE, FERRY_WAN_DROP_REPLAY,
						      FERRY_WAN_DROP_NONE, FERRY_WAN_DROP_NONE };
	struct ferry_wan_hdr h;
	size_t n;

	for (size_t i = 0; i < 600; i++)
		src[i] = (uint8_t)(i * 7 + 1);

	/* Epoch 1 packet, kept for the multi-packet seed. */
	static uint8_t old[PKT_CAP];
	h = data_hdr(1, 0, 1);
	size_t old_n = seal(&h, 100, true);
	memcpy(old, pkt, old_n);
	keys(&ep_a, FERRY_WAN_ROLE_CLIENT, 2, true, false);

	seed_begin(0);
	h = data_hdr(10, 0, 3);
	seed_add_pkt(seal(&h, 200, true));
	seed_write(dir, "open-data");
	seed_check("open-data", &ok, 1);

	seed_begin(0);
	h = (struct ferry_wan_hdr){ .type = FERRY_WAN_T_ACK, .lane = 5 };
	seed_add_pkt(seal(&h, 24, false));
	seed_write(dir, "open-ack");
	seed_check("open-ack", &ok, 1);

	seed_begin(0);
	h = (struct ferry_wan_hdr){ .type = FERRY_WAN_T_PING };
	seed_add_pkt(seal(&h, 0, true));
	seed_write(dir, "open-ping-empty");
	seed_check("open-ping-empty", &ok, 1);

	seed_begin(0);
	ep_a.link.udp_csum = true;
	h = data_hdr(11, 2, 3);
	seed_add_pkt(seal(&h, 333, true));
	ep_a.link.udp_csum = false;
	seed_write(dir, "open-udp-csum");
	seed_check("open-udp-csum", &ok, 1);

	/* New, duplicate, older-epoch, another new: NONE, REPLAY, NONE, NONE. */
	seed_begin(0);
	h = data_hdr(12, 0, 1);
	n = seal(&h, 64, true);
	seed_add_pkt(n);
	seed_add_pkt(n);
	memcpy(pkt, old, old_n);
	seed_add_pkt(old_n);
	h = data_hdr(13, 0, 1);
	seed_add_pkt(seal(&h, 1426, true));
	seed_write(dir, "open-multi");
	seed_check("open-multi", multi, 4);

	/* Round trips: mode, type, lane, flags, fragment selector, payload. */
	seed_begin(1);
	memcpy(seed + 1, "\x00\x03\x04\x01", 4);
	memcpy(seed + 5, src, 300);
	seed_len = 305;
	seed_write(dir, "rt-data");
	seed_begin(7);
	memcpy(seed + 1, "\x01\x0f\x00\x00", 4);
	seed_len = 5;
	seed_write(dir, "rt-ack-empty-csum");
	fprintf(stderr, "fuzz_wan_pkt: seeds written to %s and opened back\n", dir);
}

/* ---- harness ---------------------------------------------------------------------------- */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	struct ferry_wan_link_conf la, lb;
	struct ferry_wan_key_conf kc;
	char err[128];
	int rc;

	ferry_wan_link_conf_default(&la);
	ferry_wan_link_conf_default(&lb);
	struct ferry_wan_addr aa = { { 0x02, 0, 0, 0, 0, 0x0a }, 0x0a000001, 4791 };
	struct ferry_wan_addr ba = { { 0x02, 0, 0, 0, 0, 0x0b }, 0x0a000002, 4792 };
	la.local = aa, la.peer = ba;
	lb.local = ba, lb.peer = aa;
	ferry_wan_key_conf_default(&kc);
	kc.replay_window = 1024; /* small: a reset per input is cheap, wraps are reachable */
	kc.pn_limit = kc.rekey_packets = UINT64_C(1) << 62; /* never stop sealing mid-run */
	if ((rc = ferry_wan_ep_init(&ep_a, &la, &kc, err, sizeof(err))) != 0 ||
	    (rc = ferry_wan_ep_init(&ep_b, &lb, &kc, err, sizeof(err))) != 0)
		die(err, rc);
	keys(&ep_a, FERRY_WAN_ROLE_CLIENT, 1, true, true);
	keys(&ep_b, FERRY_WAN_ROLE_SERVER, 1, true, true);
	keys(&ep_b, FERRY_WAN_ROLE_SERVER, 2, false, true);

	const char *dir = getenv("FUZZ_WAN_WRITE_SEEDS");
	if (dir != NULL)
		write_seeds(dir);
	else
		keys(&ep_a, FERRY_WAN_ROLE_CLIENT, 2, true, false);
	return 0;
}

static void
fuzz_open(const uint8_t *d, size_t n)
{
	for (int i = 0; i < PKTS_MAX && n >= 2; i++) {
		size_t len = ferry_be16(d);
		d += 2, n -= 2;
		if (len > n)
			len = n;
		memcpy(pkt, d, len);
		d += len, n -= len;

		struct ferry_wan_hdr h;
		struct ferry_span pl;
		enum ferry_wan_drop r = ferry_wan_pkt_open(&ep_b, pkt, len, &h, &pl);
		if ((unsigned)r >= FERRY_WAN_DROP__MAX)
			die("drop reason out of range", (int)r);
		if (r != FERRY_WAN_DROP_NONE) {
			if (pl.p != NULL || pl.len != 0)
				die("payload set on a drop", (int)r);
			continue;
		}
		if (pl.len != h.len || pl.p < pkt || pl.p + pl.len + FERRY_WAN_TAG_LEN > pkt + len)
			die("payload span outside the packet", 0);
		if (h.version != FERRY_WAN_VERSION || h.lane >= FERRY_WAN_LANES_MAX)
			die("accepted header fails its own checks", 0);
		/* Accepted once: the same pn again must be a replay. */
		if (ferry_wan_replay_check(&ep_b.ks.rx[h.epoch & 1].rw, h.pn) !=
		    FERRY_WAN_DROP_REPLAY)
			die("accepted pn not recorded", 0);
	}
}

/* Field by field: the struct has padding that nobody initialises. */
static bool
hdr_eq(const struct ferry_wan_hdr *a, const struct ferry_wan_hdr *b)
{
	return a->version == b->version && a->type == b->type && a->lane == b->lane &&
	       a->flags == b->flags && a->epoch == b->epoch && a->pn == b->pn && a->seq == b->seq &&
	       a->frag_idx == b->frag_idx && a->frag_cnt == b->frag_cnt && a->len == b->len;
}

static void
fuzz_round_trip(const uint8_t *d, size_t n)
{
	if (n < 5)
		return;
	uint8_t mode = d[0];
	struct ferry_wan_hdr h = { 0 }, got;
	h.type = (uint8_t)(FERRY_WAN_T_DATA + d[1] % FERRY_WAN_T__MAX);
	h.lane = d[2] % FERRY_WAN_LANES_MAX;
	h.flags = d[3] & (FERRY_WAN_F_RETX | FERRY_WAN_F_FEC);
	if (h.type == FERRY_WAN_T_DATA) {
		h.frag_cnt = (uint16_t)(1 + (d[4] & 0x0f));
		h.frag_idx = (uint16_t)((d[4] >> 4) % h.frag_cnt);
		if (h.frag_idx + 1 == h.frag_cnt)
			h.flags |= FERRY_WAN_F_LAST;
		h.seq = ferry_be16(d + 3);
	}
	size_t len = n - 5;
	size_t max = ferry_wan_max_payload(ep_a.link.mtu);
	if (len > max)
		len = max;
	memcpy(src, d + 5, len);
	ep_a.link.udp_csum = (mode & 4) != 0;
	size_t plen = seal(&h, len, (mode & 2) == 0);
	ep_a.link.udp_csum = false;

	struct ferry_span pl;
	enum ferry_wan_drop r = ferry_wan_pkt_open(&ep_b, pkt, plen, &got, &pl);
	if (r != FERRY_WAN_DROP_NONE)
		die("round trip dropped", (int)r);
	if (!hdr_eq(&got, &h))
		die("round trip header differs", 0);
	if (pl.len != len || memcmp(pl.p, d + 5, len) != 0)
		die("round trip payload differs", 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 1)
		return 0;
	reset_rx();
	if (d[0] & 1)
		fuzz_round_trip(d, n);
	else
		fuzz_open(d + 1, n - 1);
	return 0;
}
