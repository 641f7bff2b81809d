/*
 * ferry/wan.h - the WAN packet layer (DESIGN §6): Ethernet/IPv4/UDP/ferry framing, AES-256-GCM
 * sealing with per-direction, per-epoch keys from HKDF, and the anti-replay window. Functions
 * over the types in ferry/wan-t.h; plain byte spans, no DPDK (wan_dpdk.c is the glue).
 *
 * Threads: a struct ferry_wan_ep (its keyset, windows and counters) belongs to one worker lcore
 * (@locality lcore). Init/fini/install allocate or wipe and run at start-up or on a rekey
 * message; build/open never allocate, lock or log. ferry_wan_hkdf()/_kdf() are pure.
 *
 * Receive order (ferry_wan_pkt_open): parse (framing, peer) -> epoch -> replay check -> AEAD
 * open -> replay commit. Nothing in the ferry header is believed, and the window never moves,
 * until the tag has verified.
 */
#ifndef FERRY_WAN_H
#define FERRY_WAN_H

#include "ferry/common-t.h"
#include "ferry/wan-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/** "FERRY_WAN_DROP_BAD_IP_CSUM"-style name of a drop reason ("?" if out of range). */
const char *ferry_wan_drop_name(enum ferry_wan_drop d);
/** One-line description of a drop reason. */
const char *ferry_wan_drop_desc(enum ferry_wan_drop d);

/* ---- framing (frame.c) ----------------------------------------------------------------- */

/** Link config with MTU 1500, UDP checksum off and zero addresses. */
void ferry_wan_link_conf_default(struct ferry_wan_link_conf *lc);
/** 0 or -EINVAL with a message naming the bad field (MTU range, zero peer IP or ports). */
int ferry_wan_link_conf_check(const struct ferry_wan_link_conf *lc, char *err, size_t errlen);

/**
 * Largest plaintext payload of one packet at this IP MTU: mtu - IPv4 - UDP - ferry header -
 * GCM tag (1426 at 1500, 8926 at 9000). 0 if mtu is outside FERRY_WAN_MTU_MIN..MAX.
 */
size_t ferry_wan_max_payload(uint16_t mtu);

/**
 * Internet checksum (RFC 1071) of p[0..len) as stored in a header: the one's complement of
 * the one's-complement sum. Over an IPv4 header whose checksum field is zero it gives the
 * value to store; over a header with its checksum in place it gives 0 when the header is good.
 */
uint16_t ferry_wan_inet_csum(const void *p, size_t len);

/**
 * Encode the 30-byte ferry header (network byte order). -EINVAL if the header would not pass
 * ferry_wan_hdr_decode() (version, type, lane, fragment fields): nothing invalid is ever sent.
 */
int ferry_wan_hdr_encode(const struct ferry_wan_hdr *h, uint8_t out[FERRY_WAN_HDR_LEN]);

/**
 * Decode and check a ferry header at the start of 'udp' (the UDP payload: header, ciphertext,
 * tag). Checks version, type, lane, fragment fields and that h->len + FERRY_WAN_TAG_LEN is
 * exactly what follows the header. Returns FERRY_WAN_DROP_NONE or the first failed check.
 * Unauthenticated: the caller believes nothing before the AEAD has opened the packet.
 */
enum ferry_wan_drop ferry_wan_hdr_decode(struct ferry_span udp, struct ferry_wan_hdr *h);

/**
 * Write Ethernet, IPv4 (DF, no options, TTL 64, checksum), UDP and ferry headers into 'hdrs'
 * for a packet of h->len plaintext bytes (the lengths count the tag that follows them). The
 * UDP checksum is left 0 (see frame.c); ferry_wan_udp_csum_fill() sets it once the payload is
 * sealed. 'hdrs' may sit right in front of the payload or in its own segment.
 * Returns 0, -EINVAL (header fields) or -EMSGSIZE (h->len above the MTU's max payload).
 */
int ferry_wan_hdrs_encode(const struct ferry_wan_link_conf *lc, const struct ferry_wan_hdr *h,
			  uint8_t hdrs[FERRY_WAN_HDRS_LEN]);

/**
 * Set the UDP checksum of a packet built by ferry_wan_hdrs_encode(), whose sealed payload and
 * tag ('body', ciphertext || tag) may live apart from the headers.
 */
void ferry_wan_udp_csum_fill(uint8_t hdrs[FERRY_WAN_HDRS_LEN], struct ferry_span body);

/** Where the parts of a received packet are (offsets into the frame). */
struct ferry_wan_frame {
	struct ferry_wan_hdr hdr; /**< decoded, not yet authenticated */
	size_t hdr_off;           /**< ferry header: the associated data, FERRY_WAN_HDR_LEN bytes */
	size_t payload_off;       /**< ciphertext, hdr.len bytes, then the tag */
};

/**
 * Parse a received frame down to the ferry header: Ethernet II type IPv4; IPv4 version 4,
 * IHL >= 5, header checksum, not a fragment, total length == the frame's IPv4 part, UDP;
 * UDP length == IPv4 payload, checksum if non-zero; source == lc->peer (IP and port),
 * destination == lc->local; then ferry_wan_hdr_decode(). Returns FERRY_WAN_DROP_NONE or why.
 */
enum ferry_wan_drop ferry_wan_frame_parse(const struct ferry_wan_link_conf *lc,
					  struct ferry_span pkt, struct ferry_wan_frame *f);

/* ---- keys and AEAD (crypto.c) ---------------------------------------------------------- */

/**
 * HKDF-SHA256 (RFC 5869), extract then expand. out_len <= 255 * 32.
 * Returns 0, -EINVAL (lengths) or -EIO (OpenSSL failed).
 */
int ferry_wan_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		   const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

/**
 * Derive the keys of one epoch from the shared secret (the TLS 1.3 exporter value of the
 * control connection, >= 32 bytes). Labels name the direction ("c2s"/"s2c"), the epoch and a
 * stream id, so the client's tx is the server's rx and no two (direction, epoch, stream)
 * share a key. 'stream' separates senders that must not share a packet-number space (one
 * per worker lcore that seals); 0 when there is one.
 * Returns 0 or -EINVAL/-EIO with a message in err.
 */
int ferry_wan_kdf(const uint8_t *secret, size_t secret_len, enum ferry_wan_role role,
		  uint32_t epoch, uint32_t stream, struct ferry_wan_key_material *tx,
		  struct ferry_wan_key_material *rx, char *err, size_t errlen);

/** Zero key material (not optimised away). */
void ferry_wan_key_wipe(struct ferry_wan_key_material *km);

/** Allocate the cipher context (start-up). 0 or -ENOMEM. */
int ferry_wan_aead_init(struct ferry_wan_aead *a);
/** Free the context and wipe the IV. Safe on a zeroed or already freed struct. */
void ferry_wan_aead_fini(struct ferry_wan_aead *a);
/**
 * Install a key for sealing (seal=true) or opening. Reuses the context: no allocation.
 * 0 or -EIO.
 */
int ferry_wan_aead_setkey(struct ferry_wan_aead *a, const struct ferry_wan_key_material *km,
			  bool seal);

/**
 * AES-256-GCM seal: dst = E(src), tag = GCM tag over aad and the ciphertext, nonce from pn.
 * dst == src encrypts in place; otherwise the two must not overlap (one pass either way, so
 * encrypting from a batch buffer into a packet buffer costs no extra copy).
 * The caller guarantees pn is fresh for this key (the keyset does). 0 or -EIO/-EINVAL.
 */
int ferry_wan_aead_seal(struct ferry_wan_aead *a, uint64_t pn, const uint8_t *aad, size_t aad_len,
			const uint8_t *src, uint8_t *dst, size_t len,
			uint8_t tag[FERRY_WAN_TAG_LEN]);

/**
 * AES-256-GCM open in place: buf (len bytes of ciphertext) becomes plaintext only if the tag
 * verifies; on failure buf is zeroed and -EBADMSG returned, so no unauthenticated plaintext
 * is left behind. 0, -EBADMSG, -EIO/-EINVAL.
 */
int ferry_wan_aead_open(struct ferry_wan_aead *a, uint64_t pn, const uint8_t *aad, size_t aad_len,
			uint8_t *buf, size_t len, const uint8_t tag[FERRY_WAN_TAG_LEN]);

/* ---- keyset: epochs and rekey (crypto.c) ------------------------------------------------ */

/**
 * Defaults: rekey after 2^23 packets (RFC 9001 §6.6, AES-GCM confidentiality limit) or
 * 15 minutes, hard pn limit 2^26, grace 5 s, replay window 2^16 packets.
 */
void ferry_wan_key_conf_default(struct ferry_wan_key_conf *kc);

/** Allocate contexts and replay windows (start-up). 0 or -EINVAL/-ENOMEM with a message. */
int ferry_wan_keyset_init(struct ferry_wan_keyset *ks, const struct ferry_wan_key_conf *kc,
			  char *err, size_t errlen);
/** Free and wipe everything. Safe on a zeroed struct and twice. */
void ferry_wan_keyset_fini(struct ferry_wan_keyset *ks);

/**
 * Start sealing under 'epoch' with pn 0. The epoch must be newer than the current tx epoch
 * (a (key, nonce) pair must never repeat). 0 or -EINVAL (old epoch) / -EIO.
 */
int ferry_wan_keyset_install_tx(struct ferry_wan_keyset *ks, uint32_t epoch,
				const struct ferry_wan_key_material *km, uint64_t now_ns);

/**
 * Accept packets of 'epoch' from now on, with a fresh replay window. The first install takes
 * any epoch; later ones must be exactly current + 1. The previous current epoch stays
 * openable until grace_ns after the first packet authenticates under the new one (see
 * ferry_wan_keyset_tick()); the epoch before that is dropped now.
 * Install rx on both gateways before either installs tx, and nothing is lost in a rekey.
 * 0 or -EINVAL / -EIO.
 */
int ferry_wan_keyset_install_rx(struct ferry_wan_keyset *ks, uint32_t epoch,
				const struct ferry_wan_key_material *km);

/** Soft limits reached (tx packets or tx epoch age): time for the control plane to rekey. */
bool ferry_wan_keyset_rekey_needed(const struct ferry_wan_keyset *ks, uint64_t now_ns);

/**
 * Timer work, called by the owner every so often with a monotonic time: starts the grace of
 * the previous rx epoch once the new one is in use and drops it when the grace is over.
 * Returns ferry_wan_keyset_rekey_needed(). Time comes only from here: the per-packet paths
 * read no clock.
 */
bool ferry_wan_keyset_tick(struct ferry_wan_keyset *ks, uint64_t now_ns);

/* ---- anti-replay window (replay.c) ------------------------------------------------------ */

/** Allocate a window of 'size' packets (power of two, 1024 .. 1 << 20). 0 or -EINVAL/-ENOMEM. */
int ferry_wan_replay_init(struct ferry_wan_replay *rw, uint32_t size);
void ferry_wan_replay_fini(struct ferry_wan_replay *rw);
/** Forget every pn (a new epoch reuses the memory). */
void ferry_wan_replay_reset(struct ferry_wan_replay *rw);

/** Would pn be accepted? NONE, REPLAY or TOO_OLD. Changes nothing. O(1). */
enum ferry_wan_drop ferry_wan_replay_check(const struct ferry_wan_replay *rw, uint64_t pn);

/**
 * Record an authenticated pn: slides the window if pn is the newest and sets its bit.
 * Checks again and returns REPLAY/TOO_OLD without changing anything if pn is no longer
 * acceptable, so a burst that checks several packets before committing any still catches a
 * duplicate inside the burst. O(1) amortised (a slide clears at most nwords words).
 */
enum ferry_wan_drop ferry_wan_replay_commit(struct ferry_wan_replay *rw, uint64_t pn);

/* ---- whole packets (frame.c) -------------------------------------------------------------- */

/** Link conf + key conf -> a ready endpoint (no keys yet). 0 or -EINVAL/-ENOMEM with message. */
int ferry_wan_ep_init(struct ferry_wan_ep *ep, const struct ferry_wan_link_conf *lc,
		      const struct ferry_wan_key_conf *kc, char *err, size_t errlen);
void ferry_wan_ep_fini(struct ferry_wan_ep *ep);

/**
 * Build one packet: assign h->epoch and h->pn from the tx key, set h->len = len, encode all
 * headers into 'hdrs', seal src[0..len) into dst[0..len) and write the tag at dst + len
 * (dst needs len + FERRY_WAN_TAG_LEN bytes; dst == src seals in place). The packet on the
 * wire is hdrs || dst[0 .. len + FERRY_WAN_TAG_LEN).
 * Returns 0, or -ENOKEY (no tx key), -EKEYEXPIRED (pn limit: rekey first), -EINVAL (header
 * fields), -EMSGSIZE (len > max payload), -EIO; each refusal counts in st.tx_refused.
 */
int ferry_wan_pkt_build(struct ferry_wan_ep *ep, struct ferry_wan_hdr *h,
			uint8_t hdrs[FERRY_WAN_HDRS_LEN], const uint8_t *src, uint8_t *dst,
			size_t len);

/**
 * Receive one packet (a whole frame, contiguous, writable): parse, pick the epoch's key,
 * check the replay window, open the payload in place, commit the pn. On FERRY_WAN_DROP_NONE
 * *h is the authenticated header and *payload the plaintext (inside pkt). Otherwise the drop
 * reason, counted in ep->st; *payload is empty.
 */
enum ferry_wan_drop ferry_wan_pkt_open(struct ferry_wan_ep *ep, uint8_t *pkt, size_t len,
				       struct ferry_wan_hdr *h, struct ferry_span *payload);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_WAN_H */
