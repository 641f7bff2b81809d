/*
 * ferry/wan-t.h - types of the long-haul transport (DESIGN §6): the ferry packet header as
 * both gateways see it once decoded, packet types and flags.
 *
 * Types only (HAProxy "-t.h" rule): the wire encoding, AEAD and replay window are in
 * ferry/wan.h; lane reliability and rate control in ferry/wan_lane.h. Pure C11, no DPDK.
 *
 * Two numbers on purpose (QUIC's split): `pn` is the packet number of one transmission,
 * unique per direction and key epoch; it builds the AES-GCM nonce and drives the anti-replay
 * window, so a retransmission always gets a fresh pn. `seq` is the lane sequence of a
 * fragment's data, reused by retransmissions, which reliability, duplicate suppression and
 * reassembly work on.
 */
#ifndef FERRY_WAN_T_H
#define FERRY_WAN_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_WAN_VERSION   1
#define FERRY_WAN_LANES_MAX 16 /**< lanes per gateway pair */

/** Packet types. */
enum ferry_wan_type {
	FERRY_WAN_T_DATA = 1, /**< one fragment of a batch on a lane */
	FERRY_WAN_T_ACK = 2,  /**< cumulative ack + SACK ranges + receive window for a lane */
	FERRY_WAN_T_PING = 3, /**< keepalive / RTT probe when idle */
	FERRY_WAN_T_CLOSE = 4,
	FERRY_WAN_T__MAX = FERRY_WAN_T_CLOSE,
};

/** Header flags. */
#define FERRY_WAN_F_RETX (1u << 0) /**< this DATA packet is a retransmission */
#define FERRY_WAN_F_FEC  (1u << 1) /**< payload is a parity fragment (FEC) */
#define FERRY_WAN_F_LAST (1u << 2) /**< last fragment of its batch (frag_idx + 1 == frag_cnt) */

/**
 * The ferry header, decoded. On the wire it follows the UDP header and is the AEAD's
 * associated data; the payload after it is encrypted and followed by the 16-byte GCM tag.
 */
struct ferry_wan_hdr {
	uint8_t version;   /**< FERRY_WAN_VERSION */
	uint8_t type;      /**< enum ferry_wan_type */
	uint8_t lane;      /**< < FERRY_WAN_LANES_MAX */
	uint8_t flags;     /**< FERRY_WAN_F_* */
	uint32_t epoch;    /**< key epoch: selects the key (rekey without stopping) */
	uint64_t pn;       /**< packet number: nonce and replay window, per direction+epoch */
	uint64_t seq;      /**< DATA: lane sequence of this fragment; 0 otherwise */
	uint16_t frag_idx; /**< DATA: index of this fragment in its batch */
	uint16_t frag_cnt; /**< DATA: fragments in the batch (>= 1) */
	uint16_t len;      /**< plaintext payload length */
};

/* ---- packet layer: framing, AEAD, anti-replay (ferry/wan.h; dataplane/wan/frame.c etc.) - */

/*
 * Wire sizes. A ferry packet is Ethernet II (no VLAN tag) / IPv4 without options / UDP /
 * ferry header / ciphertext / GCM tag. The headers together are FERRY_WAN_HDRS_LEN bytes, so
 * the dataplane can reserve exactly that much in front of the payload (mbuf headroom or a
 * separate header segment) and never move batch bytes to make room. 72 is a multiple of 8:
 * the payload starts as aligned as the buffer holding the headers.
 */
#define FERRY_WAN_ETH_LEN  14
#define FERRY_WAN_IP4_LEN  20
#define FERRY_WAN_UDP_LEN  8
#define FERRY_WAN_HDR_LEN  30 /**< encoded ferry header (the AEAD's associated data) */
#define FERRY_WAN_HDRS_LEN                                                                         \
	(FERRY_WAN_ETH_LEN + FERRY_WAN_IP4_LEN + FERRY_WAN_UDP_LEN + FERRY_WAN_HDR_LEN)
#define FERRY_WAN_TAG_LEN  16 /**< AES-GCM tag after the ciphertext */
#define FERRY_WAN_KEY_LEN  32 /**< AES-256 */
#define FERRY_WAN_IV_LEN   12 /**< 96-bit GCM nonce */

/* IP MTU (the IPv4 packet, without the Ethernet header). */
#define FERRY_WAN_MTU_DEFAULT 1500
#define FERRY_WAN_MTU_MIN     576 /* RFC 791: every IPv4 host accepts 576-byte datagrams */
#define FERRY_WAN_MTU_MAX     9000

/** One end of the UDP path. ip is host byte order (192.168.0.1 == 0xc0a80001). */
struct ferry_wan_addr {
	uint8_t mac[6];
	uint32_t ip;
	uint16_t port;
};

/** Addresses and MTU of one gateway's WAN link, the same on every worker lcore. */
struct ferry_wan_link_conf {
	struct ferry_wan_addr local; /**< our addresses; local.ip == 0 accepts any destination IP */
	struct ferry_wan_addr peer;  /**< the only source accepted; peer.mac is the next hop */
	uint16_t mtu;                /**< FERRY_WAN_MTU_MIN..FERRY_WAN_MTU_MAX */
	bool udp_csum;               /**< compute UDP checksums on send (default off) */
};

/**
 * Why a received packet was dropped; one counter each. The order is the order of the checks
 * in ferry_wan_pkt_open(), cheapest and unauthenticated first, so a packet is counted under the
 * first check it fails. The peer check comes before the UDP checksum so a flood from
 * unknown sources costs no pass over its payload.
 */
#define FERRY_WAN_FOREACH_DROP(_)                                                                  \
	_(TRUNCATED, "frame ends before the headers or the payload it declares")                   \
	_(NOT_IPV4, "EtherType is not IPv4 (VLAN-tagged frames are not supported)")                \
	_(BAD_IP_VERSION, "IPv4 version field is not 4")                                           \
	_(BAD_IP_HDR_LEN, "IPv4 IHL below 5 or past the end of the frame")                         \
	_(BAD_IP_CSUM, "IPv4 header checksum mismatch")                                            \
	_(BAD_IP_LEN, "IPv4 total length shorter than the frame (trailing bytes)")                 \
	_(IP_FRAGMENT, "IPv4 fragment (MF or offset set); ferry never sends IP fragments")         \
	_(NOT_UDP, "IPv4 protocol is not UDP")                                                     \
	_(BAD_UDP_LEN, "UDP length disagrees with the IPv4 payload")                               \
	_(UNKNOWN_PEER, "source IPv4 address or UDP port is not the configured peer")              \
	_(NOT_FOR_US, "destination IPv4 address or UDP port is not ours")                          \
	_(BAD_UDP_CSUM, "UDP checksum present and wrong")                                          \
	_(BAD_VERSION, "ferry header version unknown")                                             \
	_(BAD_TYPE, "ferry packet type unknown")                                                   \
	_(BAD_LANE, "ferry lane >= FERRY_WAN_LANES_MAX")                                           \
	_(BAD_FRAG, "DATA fragment count 0, index >= count, or LAST flag not on the last")         \
	_(BAD_LEN, "ferry payload length shorter than the bytes present")                          \
	_(UNKNOWN_EPOCH, "no receive key for this epoch (not installed yet or expired)")           \
	_(TOO_OLD, "packet number older than the anti-replay window")                              \
	_(REPLAY, "packet number already received (duplicate or replay)")                          \
	_(AUTH_FAILED, "AES-256-GCM tag mismatch: forged or corrupted")

enum ferry_wan_drop {
	FERRY_WAN_DROP_NONE = 0, /**< accepted */
#define FERRY_WAN_DROP_ENUM(n, desc) FERRY_WAN_DROP_##n,
	FERRY_WAN_FOREACH_DROP(FERRY_WAN_DROP_ENUM)
#undef FERRY_WAN_DROP_ENUM
	FERRY_WAN_DROP__MAX,
};

/** Which side of the TLS 1.3 control connection this gateway is; picks the key direction. */
enum ferry_wan_role {
	FERRY_WAN_ROLE_CLIENT = 0,
	FERRY_WAN_ROLE_SERVER = 1,
};

/** Keys of one direction and epoch, as derived by ferry_wan_kdf(). Secret: wiped after use. */
struct ferry_wan_key_material {
	uint8_t key[FERRY_WAN_KEY_LEN];
	uint8_t iv[FERRY_WAN_IV_LEN]; /**< nonce = iv XOR (0^32 || pn), TLS 1.3 style */
};

struct evp_cipher_ctx_st; /* OpenSSL EVP_CIPHER_CTX, opaque here */

/**
 * One AES-256-GCM key ready to seal or open: the cipher context keeps the expanded key
 * schedule, so a packet only sets the nonce. Owned by one thread (an EVP context is not
 * thread-safe); each worker lcore has its own.
 */
struct ferry_wan_aead {
	struct evp_cipher_ctx_st *ctx; /* OpenSSL build (no intel-ipsec-mb) */
	void *imb_mgr;                 /* intel-ipsec-mb: the lcore's IMB_MGR */
	void *imb;                     /* intel-ipsec-mb: expanded key and GCM scratch (crypto.c) */
	void *imb_raw;                 /* intel-ipsec-mb: the allocation imb is aligned in */
	uint8_t iv[FERRY_WAN_IV_LEN];
	bool seal;  /**< initialised for sealing (true) or opening */
	bool keyed; /**< a key is installed */
};

/**
 * Anti-replay window over packet numbers (RFC 6479's ring of words): bit (pn mod 64*nwords)
 * says "pn was accepted". The window is the nwords words ending at the word holding 'top',
 * so at least (size - 63) packets below the highest accepted one are always checkable.
 */
struct ferry_wan_replay {
	uint64_t *bits;
	uint32_t nwords; /**< power of two */
	uint64_t top;    /**< highest pn committed (0 before any) */
};

/** Receive side of one epoch: key and its replay window. */
struct ferry_wan_rx_epoch {
	struct ferry_wan_aead aead;
	struct ferry_wan_replay rw;
	uint32_t epoch;
	bool valid;
	bool seen;           /**< a packet authenticated under this epoch */
	uint64_t expire_ns;  /**< 0 = no expiry; set when the next epoch is in use */
};

/** Key lifetime and window settings (ferry_wan_key_conf_default() gives the defaults). */
struct ferry_wan_key_conf {
	uint64_t rekey_packets; /**< ask for a rekey after this many sealed packets (soft) */
	uint64_t pn_limit;      /**< seal refuses pn >= this in one epoch (hard) */
	uint64_t rekey_ns;      /**< ask for a rekey when the tx epoch is this old */
	uint64_t grace_ns;      /**< previous rx epoch kept this long once the new one is used */
	uint32_t replay_window; /**< packets; power of two, 1024 .. 1 << 20 */
};

/**
 * The keys of one worker lcore: the tx key of the current epoch and the rx keys of the
 * current and previous epoch, in slot (epoch & 1) like QUIC's key phase, so the epoch in a
 * header selects its key in O(1).
 */
struct ferry_wan_keyset {
	struct ferry_wan_key_conf conf;
	struct ferry_wan_aead tx;
	uint32_t tx_epoch;
	bool tx_valid;
	uint64_t tx_pn;          /**< next packet number to seal */
	uint64_t tx_installed_ns;
	struct ferry_wan_rx_epoch rx[2];
	bool rx_any;             /**< an rx epoch was ever installed */
	uint32_t rx_cur;         /**< the newest installed rx epoch */
};

/** Per-lcore packet counters: written by the owner only, summed by telemetry. */
struct ferry_wan_pkt_stats {
	uint64_t rx_ok;
	uint64_t rx_drop; /**< == sum of drop[] */
	uint64_t drop[FERRY_WAN_DROP__MAX];
	uint64_t tx_ok;
	uint64_t tx_refused; /**< build refused: no tx key, pn limit, bad header or size */
};

/** The packet layer of one endpoint on one worker lcore. */
struct ferry_wan_ep {
	struct ferry_wan_link_conf link;
	struct ferry_wan_keyset ks;
	struct ferry_wan_pkt_stats st;
};

#endif
