/*
 * frame.c - the WAN packet on the wire: Ethernet II / IPv4 / UDP / ferry header encode and
 * parse, the drop-reason names, and the whole-packet build and open paths that tie framing to
 * the keyset (crypto.c) and the anti-replay window (replay.c).
 *
 * Parsing and encoding are pure (any thread). An endpoint (struct ferry_wan_ep) belongs to one
 * worker lcore; ferry_wan_pkt_build/_open update its keyset and counters without locks and
 * never allocate. The caller owns every buffer.
 *
 * Why UDP checksums are off by default: RFC 768 makes the checksum optional over IPv4 (0 =
 * none) and the AES-GCM tag already authenticates the ferry header and every payload byte with
 * a 128-bit MAC, far stronger than 16 bits of one's-complement sum; computing it would cost a
 * second pass over the payload (or a NIC offload we cannot count on with memif/ring vdevs).
 * The IP and UDP headers are not covered by the tag (NAT may rewrite them), but a corrupted
 * address or port only misroutes or drops the packet, which reliability already handles.
 * A received non-zero checksum is still verified: a middlebox that sets one expects it checked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/wan.h"

#define ETHERTYPE_IPV4 0x0800
#define IPPROTO_UDP_   17
#define IP4_DF         0x4000
#define IP4_MF         0x2000
#define IP4_OFF_MASK   0x1fff
#define IP4_TTL        64

/* Offsets of the headers inside the FERRY_WAN_HDRS_LEN area. */
#define OFF_IP  FERRY_WAN_ETH_LEN
#define OFF_UDP (OFF_IP + FERRY_WAN_IP4_LEN)
#define OFF_HDR (OFF_UDP + FERRY_WAN_UDP_LEN)

/* Name and description tables from the X-macro (clang-format would fold them). */
/* clang-format off */
static const char *const drop_names[FERRY_WAN_DROP__MAX] = {
	[FERRY_WAN_DROP_NONE] = "FERRY_WAN_DROP_NONE",
#define DROP_NAME(n, desc) [FERRY_WAN_DROP_##n] = "FERRY_WAN_DROP_" #n,
	FERRY_WAN_FOREACH_DROP(DROP_NAME)
#undef DROP_NAME
};

static const char *const drop_descs[FERRY_WAN_DROP__MAX] = {
	[FERRY_WAN_DROP_NONE] = "accepted",
#define DROP_DESC(n, desc) [FERRY_WAN_DROP_##n] = desc,
	FERRY_WAN_FOREACH_DROP(DROP_DESC)
#undef DROP_DESC
};
/* clang-format on */

const char *
ferry_wan_drop_name(enum ferry_wan_drop d)
{
	if ((unsigned)d >= FERRY_WAN_DROP__MAX)
		return "?";
	return drop_names[d];
}

const char *
ferry_wan_drop_desc(enum ferry_wan_drop d)
{
	if ((unsigned)d >= FERRY_WAN_DROP__MAX)
		return "?";
	return drop_descs[d];
}

void
ferry_wan_link_conf_default(struct ferry_wan_link_conf *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->mtu = FERRY_WAN_MTU_DEFAULT;
}

int
ferry_wan_link_conf_check(const struct ferry_wan_link_conf *lc, char *err, size_t errlen)
{
	if (lc->mtu < FERRY_WAN_MTU_MIN || lc->mtu > FERRY_WAN_MTU_MAX) {
		snprintf(err, errlen, "wan mtu %u outside %u..%u", lc->mtu, FERRY_WAN_MTU_MIN,
			 FERRY_WAN_MTU_MAX);
		return -EINVAL;
	}
	if (lc->peer.ip == 0) {
		snprintf(err, errlen, "wan peer IPv4 address not set");
		return -EINVAL;
	}
	if (lc->peer.port == 0 || lc->local.port == 0) {
		snprintf(err, errlen, "wan %s UDP port is 0",
			 lc->peer.port == 0 ? "peer" : "local");
		return -EINVAL;
	}
	return 0;
}

size_t
ferry_wan_max_payload(uint16_t mtu)
{
	if (mtu < FERRY_WAN_MTU_MIN || mtu > FERRY_WAN_MTU_MAX)
		return 0;
	return (size_t)mtu - FERRY_WAN_IP4_LEN - FERRY_WAN_UDP_LEN - FERRY_WAN_HDR_LEN -
	       FERRY_WAN_TAG_LEN;
}

/* ---- checksums --------------------------------------------------------------------------- */

/* One's-complement sum of big-endian 16-bit words, not folded. Only the last piece of a
 * chained sum may have an odd length (RFC 1071 pads it with a zero byte). */
static uint64_t
csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	while (len >= 2) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t
csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t
ferry_wan_inet_csum(const void *p, size_t len)
{
	return csum_fold(csum_add(0, (const uint8_t *)p, len));
}

/* RFC 768 pseudo-header: source, destination, zero, protocol, UDP length. */
static uint64_t
udp_pseudo_sum(const uint8_t *iph, uint16_t udp_len)
{
	uint64_t sum = csum_add(0, iph + 12, 8);
	return sum + IPPROTO_UDP_ + udp_len;
}

void
ferry_wan_udp_csum_fill(uint8_t hdrs[FERRY_WAN_HDRS_LEN], struct ferry_span body)
{
	uint8_t *udp = hdrs + OFF_UDP;
	uint16_t udp_len = ferry_be16(udp + 4);
	ferry_put_be16(udp + 6, 0);
	/* UDP + ferry header is 38 bytes, even, so the body starts on a word boundary. */
	uint64_t sum = udp_pseudo_sum(hdrs + OFF_IP, udp_len);
	sum = csum_add(sum, udp, FERRY_WAN_UDP_LEN + FERRY_WAN_HDR_LEN);
	sum = csum_add(sum, body.p, body.len);
	uint16_t c = csum_fold(sum);
	/* RFC 768: a computed 0 is sent as all ones; 0 means "no checksum". */
	ferry_put_be16(udp + 6, c == 0 ? 0xffff : c);
}

/* ---- ferry header ------------------------------------------------------------------------ */

/* The checks shared by encode and decode, so nothing we send can be refused by a peer of the
 * same version. Lengths are checked by the callers (they know the bytes present). */
static enum ferry_wan_drop
hdr_check(const struct ferry_wan_hdr *h)
{
	if (h->version != FERRY_WAN_VERSION)
		return FERRY_WAN_DROP_BAD_VERSION;
	if (h->type < FERRY_WAN_T_DATA || h->type > FERRY_WAN_T__MAX)
		return FERRY_WAN_DROP_BAD_TYPE;
	if (h->lane >= FERRY_WAN_LANES_MAX)
		return FERRY_WAN_DROP_BAD_LANE;
	/* Fragment fields only mean something on DATA (wan-t.h); ACK/PING/CLOSE leave them 0. */
	if (h->type == FERRY_WAN_T_DATA) {
		if (h->frag_cnt == 0 || h->frag_idx >= h->frag_cnt)
			return FERRY_WAN_DROP_BAD_FRAG;
		if ((h->flags & FERRY_WAN_F_LAST) && h->frag_idx + 1 != h->frag_cnt)
			return FERRY_WAN_DROP_BAD_FRAG;
	}
	return FERRY_WAN_DROP_NONE;
}

int
ferry_wan_hdr_encode(const struct ferry_wan_hdr *h, uint8_t out[FERRY_WAN_HDR_LEN])
{
	if (hdr_check(h) != FERRY_WAN_DROP_NONE)
		return -EINVAL;
	/*
	 * Layout (network byte order), 30 bytes:
	 *  0 version  1 type  2 lane  3 flags  4 epoch(4)  8 pn(8)  16 seq(8)
	 * 24 frag_idx(2)  26 frag_cnt(2)  28 len(2)
	 */
	out[0] = h->version;
	out[1] = h->type;
	out[2] = h->lane;
	out[3] = h->flags;
	ferry_put_be32(out + 4, h->epoch);
	ferry_put_be64(out + 8, h->pn);
	ferry_put_be64(out + 16, h->seq);
	ferry_put_be16(out + 24, h->frag_idx);
	ferry_put_be16(out + 26, h->frag_cnt);
	ferry_put_be16(out + 28, h->len);
	return 0;
}

enum ferry_wan_drop
ferry_wan_hdr_decode(struct ferry_span udp, struct ferry_wan_hdr *h)
{
	if (udp.len < FERRY_WAN_HDR_LEN)
		return FERRY_WAN_DROP_TRUNCATED;
	const uint8_t *p = udp.p;
	h->version = p[0];
	h->type = p[1];
	h->lane = p[2];
	h->flags = p[3];
	h->epoch = ferry_be32(p + 4);
	h->pn = ferry_be64(p + 8);
	h->seq = ferry_be64(p + 16);
	h->frag_idx = ferry_be16(p + 24);
	h->frag_cnt = ferry_be16(p + 26);
	h->len = ferry_be16(p + 28);
	enum ferry_wan_drop d = hdr_check(h);
	if (d != FERRY_WAN_DROP_NONE)
		return d;
	/* Exactly len bytes of ciphertext and the tag follow: a short packet is truncated, a
	 * long one carries bytes nobody authenticated as part of this payload. */
	size_t body = udp.len - FERRY_WAN_HDR_LEN;
	size_t want = (size_t)h->len + FERRY_WAN_TAG_LEN;
	if (body < want)
		return FERRY_WAN_DROP_TRUNCATED;
	if (body > want)
		return FERRY_WAN_DROP_BAD_LEN;
	return FERRY_WAN_DROP_NONE;
}

/* ---- Ethernet / IPv4 / UDP -------------------------------------------------------------- */

int
ferry_wan_hdrs_encode(const struct ferry_wan_link_conf *lc, const struct ferry_wan_hdr *h,
		      uint8_t hdrs[FERRY_WAN_HDRS_LEN])
{
	size_t max = ferry_wan_max_payload(lc->mtu);
	if (max == 0)
		return -EINVAL;
	if (h->len > max)
		return -EMSGSIZE;
	if (ferry_wan_hdr_encode(h, hdrs + OFF_HDR) != 0)
		return -EINVAL;

	uint16_t udp_len =
	    (uint16_t)(FERRY_WAN_UDP_LEN + FERRY_WAN_HDR_LEN + h->len + FERRY_WAN_TAG_LEN);
	uint16_t ip_len = (uint16_t)(FERRY_WAN_IP4_LEN + udp_len);

	uint8_t *eth = hdrs;
	memcpy(eth, lc->peer.mac, 6);
	memcpy(eth + 6, lc->local.mac, 6);
	ferry_put_be16(eth + 12, ETHERTYPE_IPV4);

	uint8_t *ip = hdrs + OFF_IP;
	ip[0] = 0x45; /* version 4, IHL 5: no options */
	ip[1] = 0;    /* DSCP/ECN: best effort */
	ferry_put_be16(ip + 2, ip_len);
	/* RFC 6864: with DF set the ID field has no use, 0 is fine. DF because ferry sizes its
	 * packets to the configured MTU and would rather lose a packet than have it fragmented
	 * (a lost IP fragment loses the whole packet anyway, and fragments are refused on
	 * receive). */
	ferry_put_be16(ip + 4, 0);
	ferry_put_be16(ip + 6, IP4_DF);
	ip[8] = IP4_TTL;
	ip[9] = IPPROTO_UDP_;
	ferry_put_be16(ip + 10, 0);
	ferry_put_be32(ip + 12, lc->local.ip);
	ferry_put_be32(ip + 16, lc->peer.ip);
	ferry_put_be16(ip + 10, ferry_wan_inet_csum(ip, FERRY_WAN_IP4_LEN));

	uint8_t *udp = hdrs + OFF_UDP;
	ferry_put_be16(udp, lc->local.port);
	ferry_put_be16(udp + 2, lc->peer.port);
	ferry_put_be16(udp + 4, udp_len);
	ferry_put_be16(udp + 6, 0); /* none; see the file comment and ferry_wan_udp_csum_fill() */
	return 0;
}

enum ferry_wan_drop
ferry_wan_frame_parse(const struct ferry_wan_link_conf *lc, struct ferry_span pkt,
		      struct ferry_wan_frame *f)
{
	if (pkt.len < FERRY_WAN_ETH_LEN + FERRY_WAN_IP4_LEN)
		return FERRY_WAN_DROP_TRUNCATED;
	/* VLAN tags (0x8100) are stripped by the NIC or not used on the WAN port. */
	if (ferry_be16(pkt.p + 12) != ETHERTYPE_IPV4)
		return FERRY_WAN_DROP_NOT_IPV4;

	const uint8_t *ip = pkt.p + FERRY_WAN_ETH_LEN;
	size_t ip_avail = pkt.len - FERRY_WAN_ETH_LEN;
	/* RFC 791 §3.1: version 4; IHL counts 32-bit words and is at least 5. */
	if (ip[0] >> 4 != 4)
		return FERRY_WAN_DROP_BAD_IP_VERSION;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ihl < FERRY_WAN_IP4_LEN || ihl > ip_avail)
		return FERRY_WAN_DROP_BAD_IP_HDR_LEN;
	/* RFC 1071: the sum over a good header, checksum included, folds to 0. Options (if a
	 * middlebox added any) are covered and then skipped. */
	if (ferry_wan_inet_csum(ip, ihl) != 0)
		return FERRY_WAN_DROP_BAD_IP_CSUM;
	/* Our frames are never below the 60-byte Ethernet minimum (72 bytes of headers alone),
	 * so there is no padding to allow for: the IPv4 packet is exactly the rest of the frame. */
	size_t tot = ferry_be16(ip + 2);
	if (tot > ip_avail)
		return FERRY_WAN_DROP_TRUNCATED;
	if (tot < ip_avail || tot < ihl)
		return FERRY_WAN_DROP_BAD_IP_LEN;
	if (ferry_be16(ip + 6) & (IP4_MF | IP4_OFF_MASK))
		return FERRY_WAN_DROP_IP_FRAGMENT;
	if (ip[9] != IPPROTO_UDP_)
		return FERRY_WAN_DROP_NOT_UDP;

	const uint8_t *udp = ip + ihl;
	size_t udp_avail = tot - ihl;
	if (udp_avail < FERRY_WAN_UDP_LEN)
		return FERRY_WAN_DROP_TRUNCATED;
	/* RFC 768: the UDP length covers header and data; it must fill the IPv4 payload. */
	size_t udp_len = ferry_be16(udp + 4);
	if (udp_len != udp_avail)
		return FERRY_WAN_DROP_BAD_UDP_LEN;

	uint32_t src_ip = ferry_be32(ip + 12), dst_ip = ferry_be32(ip + 16);
	uint16_t sport = ferry_be16(udp), dport = ferry_be16(udp + 2);
	if (src_ip != lc->peer.ip || sport != lc->peer.port)
		return FERRY_WAN_DROP_UNKNOWN_PEER;
	if ((lc->local.ip != 0 && dst_ip != lc->local.ip) || dport != lc->local.port)
		return FERRY_WAN_DROP_NOT_FOR_US;

	if (ferry_be16(udp + 6) != 0) {
		uint64_t sum = udp_pseudo_sum(ip, (uint16_t)udp_len);
		if (csum_fold(csum_add(sum, udp, udp_len)) != 0)
			return FERRY_WAN_DROP_BAD_UDP_CSUM;
	}

	f->hdr_off = (size_t)(udp - pkt.p) + FERRY_WAN_UDP_LEN;
	f->payload_off = f->hdr_off + FERRY_WAN_HDR_LEN;
	return ferry_wan_hdr_decode(
	    ferry_span_make(udp + FERRY_WAN_UDP_LEN, udp_len - FERRY_WAN_UDP_LEN), &f->hdr);
}

/* ---- whole packets ----------------------------------------------------------------------- */

int
ferry_wan_ep_init(struct ferry_wan_ep *ep, const struct ferry_wan_link_conf *lc,
		  const struct ferry_wan_key_conf *kc, char *err, size_t errlen)
{
	memset(ep, 0, sizeof(*ep));
	int rc = ferry_wan_link_conf_check(lc, err, errlen);
	if (rc != 0)
		return rc;
	ep->link = *lc;
	return ferry_wan_keyset_init(&ep->ks, kc, err, errlen);
}

void
ferry_wan_ep_fini(struct ferry_wan_ep *ep)
{
	ferry_wan_keyset_fini(&ep->ks);
}

int
ferry_wan_pkt_build(struct ferry_wan_ep *ep, struct ferry_wan_hdr *h,
		    uint8_t hdrs[FERRY_WAN_HDRS_LEN], const uint8_t *src, uint8_t *dst, size_t len)
{
	struct ferry_wan_keyset *ks = &ep->ks;
	int rc;

	if (!ks->tx_valid) {
		rc = -ENOKEY;
		goto err_refuse;
	}
	/* Never reuse a (key, nonce): past the limit only a new epoch can seal. */
	if (ks->tx_pn >= ks->conf.pn_limit) {
		rc = -EKEYEXPIRED;
		goto err_refuse;
	}
	if (len > ferry_wan_max_payload(ep->link.mtu)) {
		rc = -EMSGSIZE;
		goto err_refuse;
	}
	h->version = FERRY_WAN_VERSION;
	h->epoch = ks->tx_epoch;
	h->pn = ks->tx_pn;
	h->len = (uint16_t)len;
	rc = ferry_wan_hdrs_encode(&ep->link, h, hdrs);
	if (rc != 0)
		goto err_refuse;
	/* The pn is spent from here on, even if sealing fails half-way. */
	ks->tx_pn++;
	rc = ferry_wan_aead_seal(&ks->tx, h->pn, hdrs + OFF_HDR, FERRY_WAN_HDR_LEN, src, dst, len,
				 dst + len);
	if (rc != 0)
		goto err_refuse;
	if (ep->link.udp_csum)
		ferry_wan_udp_csum_fill(hdrs, ferry_span_make(dst, len + FERRY_WAN_TAG_LEN));
	ep->st.tx_ok++;
	return 0;

err_refuse:
	ep->st.tx_refused++;
	return rc;
}

enum ferry_wan_drop
ferry_wan_pkt_open(struct ferry_wan_ep *ep, uint8_t *pkt, size_t len, struct ferry_wan_hdr *h,
		   struct ferry_span *payload)
{
	struct ferry_wan_frame f;
	enum ferry_wan_drop d;

	*payload = ferry_span_make(NULL, 0);
	d = ferry_wan_frame_parse(&ep->link, ferry_span_make(pkt, len), &f);
	if (d != FERRY_WAN_DROP_NONE)
		goto drop;

	/* The epoch picks the key in O(1): slot epoch & 1 holds it if it is installed. */
	struct ferry_wan_rx_epoch *rx = &ep->ks.rx[f.hdr.epoch & 1];
	if (!rx->valid || rx->epoch != f.hdr.epoch) {
		d = FERRY_WAN_DROP_UNKNOWN_EPOCH;
		goto drop;
	}
	/* Check before decrypting so replays cost no AES pass; commit only after the tag has
	 * verified, so a forged pn can never move the window. */
	d = ferry_wan_replay_check(&rx->rw, f.hdr.pn);
	if (d != FERRY_WAN_DROP_NONE)
		goto drop;
	uint8_t *ct = pkt + f.payload_off;
	if (ferry_wan_aead_open(&rx->aead, f.hdr.pn, pkt + f.hdr_off, FERRY_WAN_HDR_LEN, ct,
				f.hdr.len, ct + f.hdr.len) != 0) {
		d = FERRY_WAN_DROP_AUTH_FAILED;
		goto drop;
	}
	d = ferry_wan_replay_commit(&rx->rw, f.hdr.pn);
	if (d != FERRY_WAN_DROP_NONE)
		goto drop;
	rx->seen = true;
	*h = f.hdr;
	*payload = ferry_span_make(ct, f.hdr.len);
	ep->st.rx_ok++;
	return FERRY_WAN_DROP_NONE;

drop:
	ep->st.drop[d]++;
	ep->st.rx_drop++;
	return d;
}
