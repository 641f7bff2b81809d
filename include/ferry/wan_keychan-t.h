/*
 * ferry/wan_keychan-t.h - types of the WAN key channel (DESIGN §6, issue 5): the messages the
 * two gateways exchange over their TLS 1.3 control connection, and the key mailbox that hands
 * each epoch's keys from the control thread to one worker lcore.
 *
 * Types only (HAProxy "-t.h" rule): functions are in ferry/wan_keychan.h. Pure C11 (atomics
 * from <stdatomic.h>), no DPDK, no OpenSSL headers.
 *
 * The mailbox is the only memory the control thread and a worker share: a single-producer
 * single-consumer ring of key messages plus a few words the worker publishes back (which
 * epochs it has installed, whether its keyset wants a rekey). The worker side takes no lock.
 */
#ifndef FERRY_WAN_KEYCHAN_T_H
#define FERRY_WAN_KEYCHAN_T_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/common-t.h"
#include "ferry/wan-t.h"

/* ---- messages on the TLS connection ---------------------------------------------------- */

/*
 * Wire format (big-endian), one message after another on the TLS stream:
 *   u8 version (FERRY_WAN_KC_VERSION)  u8 type  u16 body_len  body[body_len]
 * Bodies:
 *   HELLO      u32 epoch (first epoch, 1)  u16 nqueues  u16 nlanes  u16 mtu     (10 bytes)
 *   REKEY      u32 epoch: "my receive keys for epoch are installed; start it"   (4 bytes)
 *   REKEY_ACK  u32 epoch: "my receive keys for epoch are installed too"         (4 bytes)
 *   APP        opaque bytes for the application (0..FERRY_WAN_KC_BODY_MAX)
 *   CLOSE      u16 code, then a reason text of printable ASCII (0..200 bytes)
 */
#define FERRY_WAN_KC_VERSION    1
#define FERRY_WAN_KC_HDR_LEN    4
#define FERRY_WAN_KC_BODY_MAX   1024
#define FERRY_WAN_KC_MSG_MAX    (FERRY_WAN_KC_HDR_LEN + FERRY_WAN_KC_BODY_MAX)
#define FERRY_WAN_KC_REASON_MAX 200

/** TLS exporter label (RFC 8446 §7.5); the context is the epoch as a big-endian u32. */
#define FERRY_WAN_KC_EXPORTER_LABEL "EXPORTER-ferry-wan"
/** Bytes taken from the exporter per epoch: the secret ferry_wan_kdf() expands. */
#define FERRY_WAN_KC_SECRET_LEN 32

enum ferry_wan_kc_type {
	FERRY_WAN_KC_HELLO = 1,
	FERRY_WAN_KC_REKEY = 2,
	FERRY_WAN_KC_REKEY_ACK = 3,
	FERRY_WAN_KC_APP = 4,
	FERRY_WAN_KC_CLOSE = 5,
	FERRY_WAN_KC__MAX = FERRY_WAN_KC_CLOSE,
};

/** A decoded key-channel message; body points into the parsed buffer. */
struct ferry_wan_kc_msg {
	uint8_t type;     /**< enum ferry_wan_kc_type */
	uint32_t epoch;   /**< HELLO, REKEY, REKEY_ACK; >= 1 */
	uint16_t nqueues; /**< HELLO: worker queues (the key streams); 1..FERRY_WAN_LANES_MAX */
	uint16_t nlanes;  /**< HELLO: lanes; 1..FERRY_WAN_LANES_MAX */
	uint16_t mtu;     /**< HELLO: IP MTU, FERRY_WAN_MTU_MIN..MAX */
	uint16_t code;    /**< CLOSE */
	struct ferry_span body; /**< APP payload, CLOSE reason text */
};

/* ---- key mailbox: control thread -> one worker ----------------------------------------- */

#define FERRY_WAN_KEYBOX_SLOTS 8 /**< power of two; a rekey needs at most 2 */

enum ferry_wan_keymsg_kind {
	FERRY_WAN_KEYMSG_RX = 1, /**< install as the newest receive epoch */
	FERRY_WAN_KEYMSG_TX = 2, /**< start sealing under this epoch */
};

/** One key handed to a worker. Secret: wiped by the worker once installed. */
struct ferry_wan_keymsg {
	uint32_t kind;  /**< enum ferry_wan_keymsg_kind */
	uint32_t epoch;
	struct ferry_wan_key_material km;
};

/**
 * SPSC mailbox (Lamport ring): the control thread writes slots and `head`, the worker reads
 * them and writes `tail` and the published words below. Producer and consumer words sit on
 * their own cache lines so neither side's stores bounce the other's line.
 */
struct ferry_wan_keybox {
	struct ferry_wan_keymsg slot[FERRY_WAN_KEYBOX_SLOTS];
	_Alignas(64) _Atomic uint32_t head; /**< written by the control thread */
	_Alignas(64) _Atomic uint32_t tail; /**< written by the worker */
	_Atomic uint32_t rx_epoch;          /**< worker: newest receive epoch installed (0: none) */
	_Atomic uint32_t tx_epoch;          /**< worker: epoch it seals under (0: none) */
	_Atomic bool rekey_wanted;          /**< worker: its keyset's soft limits are reached */
	_Atomic uint32_t install_errors;    /**< worker: keys the keyset refused */
};

/* ---- the channel ------------------------------------------------------------------------ */

/** Settings of a key channel (ferry_wan_keychan_conf_default() fills the defaults). */
struct ferry_wan_keychan_conf {
	enum ferry_wan_role role; /**< CLIENT connects, SERVER listens; also the key direction */
	const char *ca_file;      /**< PEM: the CA(s) the peer's certificate must chain to */
	const char *cert_file;    /**< PEM: our certificate (chain) */
	const char *key_file;     /**< PEM: our private key */
	const char *peer_name;    /**< the peer certificate's DNS SAN (or CN if it has no SAN) */
	const char *host;         /**< SERVER: address to bind ("127.0.0.1"); CLIENT: to connect */
	uint16_t port;            /**< SERVER: 0 picks a free port (see ferry_wan_keychan_port) */
	uint32_t timeout_ms;      /**< connect + handshake + HELLO, and one message write */
	uint16_t nqueues;         /**< must match the peer: lanes hash to queues the same way */
	uint16_t nlanes;          /**< must match the peer */
	uint16_t mtu;             /**< must match the peer: fragments have one size */
	struct ferry_wan_keybox *const *boxes; /**< one per worker queue; stream id = index */
	uint64_t rekey_gap_ns;    /**< least time between the end of a rekey and the next one */
};

/** Counters of one channel (control thread only). */
struct ferry_wan_keychan_stats {
	uint64_t msgs_in, msgs_out;
	uint64_t rekeys_started; /**< rekeys this side asked for */
	uint64_t rekeys_done;    /**< epochs in use on both sides (the first one included) */
	uint64_t app_in, app_out;
	uint64_t app_dropped;    /**< APP messages dropped because the inbox was full */
};

#endif /* FERRY_WAN_KEYCHAN_T_H */
