/*
 * keychan_msg.c - the key channel's message codec and the key mailbox between the control
 * thread and one worker lcore. No OpenSSL TLS and no DPDK here, so the parser runs under
 * cmocka and libFuzzer (tests/fuzz/fuzz_wan_keychan.c) on its own.
 *
 * Threads: the codec is pure (the control thread uses it). A mailbox has exactly two users:
 * the control thread pushes (ferry_wan_keybox_push), the owning worker applies
 * (ferry_wan_keybox_apply, @locality lcore). Lamport's SPSC ring with C11 acquire/release:
 * the producer writes the slot then releases head; the consumer acquires head, reads the slot
 * and releases tail; no lock, no allocation, no syscall on the worker side.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/wan.h"
#include "ferry/wan_keychan.h"

static const char *const type_names[] = {
	[FERRY_WAN_KC_HELLO] = "HELLO",         [FERRY_WAN_KC_REKEY] = "REKEY",
	[FERRY_WAN_KC_REKEY_ACK] = "REKEY_ACK", [FERRY_WAN_KC_APP] = "APP",
	[FERRY_WAN_KC_CLOSE] = "CLOSE",
};

const char *
ferry_wan_kc_type_name(unsigned type)
{
	if (type == 0 || type > FERRY_WAN_KC__MAX)
		return "?";
	return type_names[type];
}

/* The checks shared by parse and encode: a message that would not parse is never sent. */
static int
msg_check(const struct ferry_wan_kc_msg *m, char *err, size_t errlen)
{
	switch (m->type) {
	case FERRY_WAN_KC_HELLO:
		if (m->nqueues == 0 || m->nqueues > FERRY_WAN_LANES_MAX)
			return ferry_errf(FERRY_ERR__INVALID_ARG, err, errlen,
				       "keychan HELLO: %u queues, want 1..%d", m->nqueues,
				       FERRY_WAN_LANES_MAX);
		if (m->nlanes == 0 || m->nlanes > FERRY_WAN_LANES_MAX)
			return ferry_errf(FERRY_ERR__INVALID_ARG, err, errlen,
				       "keychan HELLO: %u lanes, want 1..%d", m->nlanes,
				       FERRY_WAN_LANES_MAX);
		if (m->mtu < FERRY_WAN_MTU_MIN || m->mtu > FERRY_WAN_MTU_MAX)
			return ferry_errf(FERRY_ERR__INVALID_ARG, err, errlen,
				       "keychan HELLO: MTU %u, want %d..%d", m->mtu,
				       FERRY_WAN_MTU_MIN, FERRY_WAN_MTU_MAX);
		/* the epoch check below */
		__attribute__((fallthrough));
	case FERRY_WAN_KC_REKEY:
	case FERRY_WAN_KC_REKEY_ACK:
		/* Epoch 0 means "no key" in the mailbox and the keyset's published words. */
		if (m->epoch == 0)
			return ferry_errf(FERRY_ERR__INVALID_ARG, err, errlen, "keychan %s: epoch 0",
				       ferry_wan_kc_type_name(m->type));
		return 0;
	case FERRY_WAN_KC_APP:
		if (m->body.len > FERRY_WAN_KC_BODY_MAX)
			return ferry_errf(FERRY_ERR__BAD_LENGTH, err, errlen,
				       "keychan APP: %zu bytes, at most %d", m->body.len,
				       FERRY_WAN_KC_BODY_MAX);
		return 0;
	case FERRY_WAN_KC_CLOSE:
		if (m->body.len > FERRY_WAN_KC_REASON_MAX)
			return ferry_errf(FERRY_ERR__BAD_LENGTH, err, errlen,
				       "keychan CLOSE: reason of %zu bytes, at most %d",
				       m->body.len, FERRY_WAN_KC_REASON_MAX);
		/* The reason ends up in logs and error messages: printable ASCII only. */
		for (size_t i = 0; i < m->body.len; i++)
			if (m->body.p[i] < 0x20 || m->body.p[i] > 0x7e)
				return ferry_errf(FERRY_ERR__INVALID_ARG, err, errlen,
					       "keychan CLOSE: reason byte %zu is 0x%02x, not "
					       "printable ASCII",
					       i, m->body.p[i]);
		return 0;
	default:
		return ferry_errf(FERRY_ERR__BAD_API, err, errlen, "keychan: message type %u unknown",
			       m->type);
	}
}

static size_t
body_len_of(const struct ferry_wan_kc_msg *m)
{
	switch (m->type) {
	case FERRY_WAN_KC_HELLO:
		return 10;
	case FERRY_WAN_KC_REKEY:
	case FERRY_WAN_KC_REKEY_ACK:
		return 4;
	case FERRY_WAN_KC_CLOSE:
		return 2 + m->body.len;
	default:
		return m->body.len;
	}
}

int
ferry_wan_kc_msg_parse(struct ferry_span in, struct ferry_wan_kc_msg *m, size_t *consumed,
		       char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	*consumed = 0;
	if (in.len < FERRY_WAN_KC_HDR_LEN)
		return FERRY_ERR__PARTIAL;
	const uint8_t *p = in.p;
	/* Version and length first: they decide how the rest of the stream is cut, and a wrong
	 * one means we are not talking to a ferry key channel at all. */
	if (p[0] != FERRY_WAN_KC_VERSION)
		return ferry_errf(FERRY_ERR__UNSUPPORTED_VERSION, err, errlen,
			       "keychan: message version %u, this side speaks %d", p[0],
			       FERRY_WAN_KC_VERSION);
	m->type = p[1];
	size_t blen = ferry_be16(p + 2);
	if (blen > FERRY_WAN_KC_BODY_MAX)
		return ferry_errf(FERRY_ERR__BAD_LENGTH, err, errlen,
			       "keychan %s: body of %zu bytes, at most %d",
			       ferry_wan_kc_type_name(m->type), blen, FERRY_WAN_KC_BODY_MAX);
	if (m->type == 0 || m->type > FERRY_WAN_KC__MAX)
		return ferry_errf(FERRY_ERR__BAD_API, err, errlen, "keychan: message type %u unknown",
			       m->type);
	if (in.len - FERRY_WAN_KC_HDR_LEN < blen)
		return FERRY_ERR__PARTIAL;
	const uint8_t *b = p + FERRY_WAN_KC_HDR_LEN;

	switch (m->type) {
	case FERRY_WAN_KC_HELLO:
		if (blen != 10)
			goto err_len;
		m->epoch = ferry_be32(b);
		m->nqueues = ferry_be16(b + 4);
		m->nlanes = ferry_be16(b + 6);
		m->mtu = ferry_be16(b + 8);
		break;
	case FERRY_WAN_KC_REKEY:
	case FERRY_WAN_KC_REKEY_ACK:
		if (blen != 4)
			goto err_len;
		m->epoch = ferry_be32(b);
		break;
	case FERRY_WAN_KC_APP:
		m->body = ferry_span_make(b, blen);
		break;
	case FERRY_WAN_KC_CLOSE:
		if (blen < 2)
			goto err_len;
		m->code = ferry_be16(b);
		m->body = ferry_span_make(b + 2, blen - 2);
		break;
	}
	int rc = msg_check(m, err, errlen);
	if (rc != 0)
		return rc;
	*consumed = FERRY_WAN_KC_HDR_LEN + blen;
	return 0;

err_len:
	return ferry_errf(FERRY_ERR__BAD_LENGTH, err, errlen, "keychan %s: body of %zu bytes is wrong",
		       ferry_wan_kc_type_name(m->type), blen);
}

int
ferry_wan_kc_msg_encode(struct ferry_wr *w, const struct ferry_wan_kc_msg *m)
{
	int rc = msg_check(m, NULL, 0);
	if (rc != 0)
		return rc;
	size_t blen = body_len_of(m);
	uint8_t *p = ferry_wr_reserve(w, FERRY_WAN_KC_HDR_LEN + blen);
	if (p == NULL)
		return FERRY_ERR__NOSPACE;
	p[0] = FERRY_WAN_KC_VERSION;
	p[1] = m->type;
	ferry_put_be16(p + 2, (uint16_t)blen);
	uint8_t *b = p + FERRY_WAN_KC_HDR_LEN;
	switch (m->type) {
	case FERRY_WAN_KC_HELLO:
		ferry_put_be32(b, m->epoch);
		ferry_put_be16(b + 4, m->nqueues);
		ferry_put_be16(b + 6, m->nlanes);
		ferry_put_be16(b + 8, m->mtu);
		break;
	case FERRY_WAN_KC_REKEY:
	case FERRY_WAN_KC_REKEY_ACK:
		ferry_put_be32(b, m->epoch);
		break;
	case FERRY_WAN_KC_APP:
		if (m->body.len)
			memcpy(b, m->body.p, m->body.len);
		break;
	case FERRY_WAN_KC_CLOSE:
		ferry_put_be16(b, m->code);
		if (m->body.len)
			memcpy(b + 2, m->body.p, m->body.len);
		break;
	}
	return 0;
}

/* ---- key mailbox ------------------------------------------------------------------------- */

void
ferry_wan_keybox_init(struct ferry_wan_keybox *box)
{
	memset(box, 0, sizeof(*box));
	atomic_init(&box->head, 0);
	atomic_init(&box->tail, 0);
	atomic_init(&box->rx_epoch, 0);
	atomic_init(&box->tx_epoch, 0);
	atomic_init(&box->rekey_wanted, false);
	atomic_init(&box->install_errors, 0);
}

int
ferry_wan_keybox_push(struct ferry_wan_keybox *box, enum ferry_wan_keymsg_kind kind,
		      uint32_t epoch, const struct ferry_wan_key_material *km)
{
	uint32_t head = atomic_load_explicit(&box->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&box->tail, memory_order_acquire);
	if (head - tail >= FERRY_WAN_KEYBOX_SLOTS)
		return -ENOBUFS;
	struct ferry_wan_keymsg *s = &box->slot[head & (FERRY_WAN_KEYBOX_SLOTS - 1)];
	s->kind = kind;
	s->epoch = epoch;
	s->km = *km;
	/* Release: the worker that sees the new head sees the slot's contents. */
	atomic_store_explicit(&box->head, head + 1, memory_order_release);
	return 0;
}

unsigned
ferry_wan_keybox_apply(struct ferry_wan_keybox *box, struct ferry_wan_keyset *ks, uint64_t now)
{
	unsigned n = 0;
	uint32_t tail = atomic_load_explicit(&box->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&box->head, memory_order_acquire);

	for (; tail != head; tail++) {
		struct ferry_wan_keymsg *s = &box->slot[tail & (FERRY_WAN_KEYBOX_SLOTS - 1)];
		int rc;
		if (s->kind == FERRY_WAN_KEYMSG_RX)
			rc = ferry_wan_keyset_install_rx(ks, s->epoch, &s->km);
		else if (s->kind == FERRY_WAN_KEYMSG_TX)
			rc = ferry_wan_keyset_install_tx(ks, s->epoch, &s->km, now);
		else
			rc = -EINVAL;
		if (rc == 0 && s->kind == FERRY_WAN_KEYMSG_RX)
			atomic_store_explicit(&box->rx_epoch, s->epoch, memory_order_release);
		else if (rc == 0)
			atomic_store_explicit(&box->tx_epoch, s->epoch, memory_order_release);
		else
			atomic_fetch_add_explicit(&box->install_errors, 1, memory_order_release);
		if (rc == 0)
			n++;
		/* The keyset keeps its own expanded copy; the slot must not keep the key. */
		ferry_wan_key_wipe(&s->km);
	}
	atomic_store_explicit(&box->tail, tail, memory_order_release);

	bool want = ferry_wan_keyset_tick(ks, now);
	if (want != atomic_load_explicit(&box->rekey_wanted, memory_order_relaxed))
		atomic_store_explicit(&box->rekey_wanted, want, memory_order_release);
	return n;
}
