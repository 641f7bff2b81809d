/*
 * ferry/wan_keychan.h - the WAN key channel (DESIGN §6, issue 5): a TLS 1.3 connection over
 * kernel TCP between the two gateways, with mutual certificate authentication, from which
 * each key epoch's secret is exported (SSL_export_keying_material, label
 * FERRY_WAN_KC_EXPORTER_LABEL, context = epoch) and expanded per worker with ferry_wan_kdf().
 *
 * Threads: a struct ferry_wan_keychan runs on the control thread only (blocking connect and
 * handshake with a timeout, then poll-based). Keys reach the workers through one
 * struct ferry_wan_keybox each; a worker calls ferry_wan_keybox_apply() between bursts
 * (@locality lcore, lock-free, no allocation). The message codec is pure.
 *
 * Rekey without stopping traffic: the side that wants epoch N+1 installs its N+1 receive keys
 * on every worker, waits until each worker has confirmed, and sends REKEY(N+1). The peer then
 * installs its own N+1 receive keys, starts sealing under N+1 (the asker can already open
 * it) and, once its workers confirm the receive keys, answers REKEY_ACK(N+1); the asker starts
 * sealing under N+1 on that answer. Epoch 1 runs the same exchange right after the handshake
 * (both sides ask at once, which the protocol allows). Epoch N stays openable for the
 * keyset's grace time after N+1 is first seen, so packets in flight are not lost.
 */
#ifndef FERRY_WAN_KEYCHAN_H
#define FERRY_WAN_KEYCHAN_H

#include "ferry/common-t.h"
#include "ferry/wan-t.h"
#include "ferry/wan_keychan-t.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- message codec (keychan_msg.c) ----------------------------------------------------- */

/**
 * Parse one message at the start of 'in'. Returns 0 with *m filled and *consumed set,
 * FERRY_ERR__PARTIAL when 'in' holds only part of a message (read more), or
 * FERRY_ERR__UNSUPPORTED_VERSION, FERRY_ERR__BAD_API (unknown type), FERRY_ERR__BAD_LENGTH
 * (body length wrong for the type or above the maximum), FERRY_ERR__INVALID_ARG (a field out
 * of range: epoch 0, queue/lane count, MTU, non-printable reason) with a message in err.
 */
int ferry_wan_kc_msg_parse(struct ferry_span in, struct ferry_wan_kc_msg *m, size_t *consumed,
			   char *err, size_t errlen);

/**
 * Encode a message into w. Checks what the parser checks, so nothing invalid is sent.
 * 0, FERRY_ERR__INVALID_ARG / FERRY_ERR__BAD_LENGTH / FERRY_ERR__BAD_API, FERRY_ERR__NOSPACE.
 */
int ferry_wan_kc_msg_encode(struct ferry_wr *w, const struct ferry_wan_kc_msg *m);

/** "HELLO", "REKEY", ... ("?" if unknown). */
const char *ferry_wan_kc_type_name(unsigned type);

/* ---- key mailbox (keychan_msg.c) -------------------------------------------------------- */

/** Zero a mailbox before either side uses it. */
void ferry_wan_keybox_init(struct ferry_wan_keybox *box);

/**
 * Control thread: queue a key for the worker. The key material is copied; the caller wipes
 * its own copy. 0 or -ENOBUFS (the worker has not caught up; retry later).
 */
int ferry_wan_keybox_push(struct ferry_wan_keybox *box, enum ferry_wan_keymsg_kind kind,
			  uint32_t epoch, const struct ferry_wan_key_material *km);

/**
 * Worker (@locality lcore): install every queued key into 'ks' in order, wipe the slots and
 * publish rx_epoch/tx_epoch; then publish whether the keyset wants a rekey (its
 * ferry_wan_keyset_tick() at 'now'). Returns the number of keys installed. A key the keyset
 * refuses (an epoch out of sequence) is counted in install_errors and skipped.
 */
unsigned ferry_wan_keybox_apply(struct ferry_wan_keybox *box, struct ferry_wan_keyset *ks,
				uint64_t now);

/* ---- the channel (keychan.c, OpenSSL) --------------------------------------------------- */

struct ferry_wan_keychan; /* opaque */

/** Defaults: 127.0.0.1, timeout 10 s, one queue and lane, MTU 1500, rekey gap 1 s. */
void ferry_wan_keychan_conf_default(struct ferry_wan_keychan_conf *conf);

/**
 * Load the CA, certificate and key, build a TLS 1.3-only context that requires and verifies
 * the peer's certificate and its name, and (SERVER) bind and listen. Returns NULL with errno
 * set and a message in err (a file that does not load, a key that does not match its
 * certificate, a port in use, a bad conf).
 */
struct ferry_wan_keychan *ferry_wan_keychan_create(const struct ferry_wan_keychan_conf *conf,
						   char *err, size_t errlen);

/** SERVER: the port actually bound (useful with conf.port 0). */
uint16_t ferry_wan_keychan_port(const struct ferry_wan_keychan *kc);

/**
 * Connect (CLIENT, retrying until the timeout while the server is not up yet) or accept one
 * connection (SERVER), run the TLS 1.3 handshake, check the peer's certificate and name, and
 * exchange HELLO (queues, lanes and MTU must agree). Then starts epoch 1 (see the file
 * comment); ferry_wan_keychan_poll() completes it. Returns 0, or -ETIMEDOUT, -ECONNREFUSED,
 * -EACCES (the peer's certificate or name was refused, by us or by the peer), -EPROTO (not
 * TLS 1.3, bad HELLO, configuration mismatch) with a message that says which.
 */
int ferry_wan_keychan_establish(struct ferry_wan_keychan *kc, char *err, size_t errlen);

/**
 * Wait up to timeout_ms for a message, handle every message received, and advance the epoch
 * exchange (workers' confirmations, rekeys the workers or the API asked for). Call it every
 * few milliseconds. 0, or -ECONNRESET (peer closed; its CLOSE reason in err), -EPROTO
 * (malformed or out-of-sequence message), -EIO (a worker refused a key).
 */
int ferry_wan_keychan_poll(struct ferry_wan_keychan *kc, int timeout_ms, char *err,
			   size_t errlen);

/** Ask for a rekey now. 0, or -EBUSY (an epoch exchange is still running, or not established). */
int ferry_wan_keychan_rekey(struct ferry_wan_keychan *kc);

/** Newest epoch both sides seal under (0 before epoch 1 is complete). */
uint32_t ferry_wan_keychan_epoch(const struct ferry_wan_keychan *kc);

/** No epoch exchange running. */
bool ferry_wan_keychan_idle(const struct ferry_wan_keychan *kc);

/**
 * The epoch's exporter secret (FERRY_WAN_KC_SECRET_LEN bytes), as both sides compute it.
 * For tests and diagnostics; the channel itself hands out only derived keys. 0 or -EIO/-ENOTCONN.
 */
int ferry_wan_keychan_secret(struct ferry_wan_keychan *kc, uint32_t epoch,
			     uint8_t out[FERRY_WAN_KC_SECRET_LEN]);

/** Send an APP message (<= FERRY_WAN_KC_BODY_MAX bytes). 0 or -errno with a message. */
int ferry_wan_keychan_send_app(struct ferry_wan_keychan *kc, const void *p, size_t len,
			       char *err, size_t errlen);

/** Take the oldest APP message received: its length (copied into buf), or -EAGAIN / -ENOSPC. */
int ferry_wan_keychan_recv_app(struct ferry_wan_keychan *kc, void *buf, size_t cap);

/** Send CLOSE(code, reason) and shut the TLS connection down (best effort). */
void ferry_wan_keychan_close(struct ferry_wan_keychan *kc, uint16_t code, const char *reason);

/** The connection's socket (for an outer poll loop), -1 when not connected. */
int ferry_wan_keychan_fd(const struct ferry_wan_keychan *kc);

const struct ferry_wan_keychan_stats *ferry_wan_keychan_stats(const struct ferry_wan_keychan *kc);

/** Close and free everything (the private key and secrets are wiped). NULL is a no-op. */
void ferry_wan_keychan_free(struct ferry_wan_keychan *kc);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_WAN_KEYCHAN_H */
