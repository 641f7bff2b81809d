/*
 * fuzz_wan_keychan.c - libFuzzer harness for the WAN key channel's message parser
 * (ferry_wan_kc_msg_parse), which reads bytes a TLS peer sent.
 *
 * The input is a stream of messages, parsed the way the channel does: message after message
 * until PARTIAL or an error. For each message parsed: the consumed length is in bounds and at
 * least the header, the body span lies inside the input, and re-encoding gives back exactly
 * the bytes consumed (the encoder and parser agree, so nothing the parser accepts could not
 * have been sent). Every prefix of a good message must be PARTIAL. Then the same bytes go
 * to a key mailbox as raw key material (push until full, apply to a keyset), which must never
 * install a key for an epoch out of sequence without counting it. abort() on a break.
 *
 * Single-threaded, nothing allocated per input except the keyset. Seeds: corpus/wan_keychan/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/wan.h"
#include "ferry/wan_keychan.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_wan_keychan: %s\n", what);
	abort();
}

static void
parse_stream(const uint8_t *d, size_t n)
{
	size_t off = 0;
	while (off < n) {
		struct ferry_wan_kc_msg m;
		size_t used = 0;
		char err[160];
		int rc = ferry_wan_kc_msg_parse(ferry_span_make(d + off, n - off), &m, &used, err,
						sizeof(err));
		if (rc == FERRY_ERR__PARTIAL) {
			if (used != 0)
				die("PARTIAL with bytes consumed");
			return;
		}
		if (rc != 0) {
			if (err[0] == 0)
				die("error without a message");
			return;
		}
		if (used < FERRY_WAN_KC_HDR_LEN || used > n - off)
			die("consumed out of bounds");
		if (m.body.len && (m.body.p < d + off || m.body.p + m.body.len > d + off + used))
			die("body outside the message");
		uint8_t buf[FERRY_WAN_KC_MSG_MAX];
		struct ferry_wr w;
		ferry_wr_init(&w, buf, sizeof(buf));
		if (ferry_wan_kc_msg_encode(&w, &m) != 0)
			die("parsed message does not encode");
		if (w.len != used || memcmp(buf, d + off, used) != 0)
			die("re-encoding differs from the input");
		for (size_t k = 0; k < used; k++) {
			struct ferry_wan_kc_msg m2;
			size_t u2;
			if (ferry_wan_kc_msg_parse(ferry_span_make(buf, k), &m2, &u2, NULL, 0) !=
			    FERRY_ERR__PARTIAL)
				die("prefix of a good message is not PARTIAL");
		}
		off += used;
	}
}

static void
mailbox(const uint8_t *d, size_t n)
{
	static struct ferry_wan_keyset ks;
	static bool init;
	char err[128];
	if (!init) {
		struct ferry_wan_key_conf kc;
		ferry_wan_key_conf_default(&kc);
		kc.replay_window = 1024;
		if (ferry_wan_keyset_init(&ks, &kc, err, sizeof(err)) != 0)
			die(err);
		init = true;
	}
	struct ferry_wan_keybox box;
	ferry_wan_keybox_init(&box);
	unsigned pushed = 0;
	/* 6 bytes per op: kind (low bit), epoch (u8: small numbers make in-sequence runs
	 * likely), 4 key bytes. */
	for (size_t off = 0; off + 6 <= n; off += 6) {
		struct ferry_wan_key_material km;
		memset(&km, d[off + 2], sizeof(km));
		memcpy(km.key, d + off + 2, 4);
		enum ferry_wan_keymsg_kind kind = (d[off] & 1) ? FERRY_WAN_KEYMSG_TX : FERRY_WAN_KEYMSG_RX;
		if (ferry_wan_keybox_push(&box, kind, d[off + 1], &km) == 0)
			pushed++;
		if ((d[off] & 6) == 6 || pushed == FERRY_WAN_KEYBOX_SLOTS) {
			unsigned before = atomic_load(&box.install_errors);
			uint32_t t0 = atomic_load(&box.tail);
			unsigned ok = ferry_wan_keybox_apply(&box, &ks, off);
			uint32_t t1 = atomic_load(&box.tail);
			if (ok + (atomic_load(&box.install_errors) - before) != t1 - t0)
				die("mailbox lost a key: neither installed nor counted");
			pushed = 0;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	parse_stream(d, n);
	mailbox(d, n);
	return 0;
}
