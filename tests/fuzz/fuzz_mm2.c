/*
 * fuzz_mm2.c - libFuzzer harness for MM2's record decoders (control/mm2_format.c): heartbeat,
 * checkpoint and offset-sync keys and values, whatever bytes sit in those topics.
 * Input: byte 0 picks the record type (mod 3), byte 1 is where key and value split.
 * Nothing may crash or read out of bounds; on top of that a record that decodes must encode
 * back to exactly the same bytes (the formats have one encoding each), and every decoded
 * span must lie inside the input.
 *
 * Single-threaded (libFuzzer calls in a loop). Seeds: corpus/mm2/ (kafka-wire-facts §7).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/common.h"
#include "ferry/mm2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_mm2: %s\n", what);
		abort();
	}
}

static bool
inside(struct ferry_span s, const uint8_t *p, size_t len)
{
	return s.p != NULL && s.p >= p && s.p + s.len <= p + len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned kind = data[0] % 3;
	size_t split = data[1];
	const uint8_t *p = data + 2;
	size_t len = size - 2;
	if (split > len)
		split = len;
	struct ferry_span key = { p, split }, value = { p + split, len - split };
	static uint8_t kb[70000], vb[70000];
	struct ferry_wr k, v;
	ferry_wr_init(&k, kb, sizeof(kb));
	ferry_wr_init(&v, vb, sizeof(vb));
	int rc;

	switch (kind) {
	case 0: {
		struct ferry_mm2_heartbeat hb;
		if ((rc = ferry_mm2_heartbeat_decode(key, value, &hb)) != 0)
			return check(rc < 0, "heartbeat: positive error"), 0;
		check(inside(hb.sourceClusterAlias, p, len) &&
			  inside(hb.targetClusterAlias, p, len),
		      "heartbeat: span outside the input");
		check(ferry_mm2_heartbeat_encode(&hb, &k, &v) == 0, "heartbeat: re-encode failed");
		break;
	}
	case 1: {
		struct ferry_mm2_checkpoint cp;
		if ((rc = ferry_mm2_checkpoint_decode(key, value, &cp)) != 0)
			return check(rc < 0, "checkpoint: positive error"), 0;
		check(inside(cp.consumerGroupId, p, len) && inside(cp.topic, p, len) &&
			  inside(cp.metadata, p, len),
		      "checkpoint: span outside the input");
		check(ferry_mm2_checkpoint_encode(&cp, &k, &v) == 0,
		      "checkpoint: re-encode failed");
		break;
	}
	default: {
		struct ferry_mm2_offset_sync os;
		if ((rc = ferry_mm2_offset_sync_decode(key, value, &os)) != 0)
			return check(rc < 0, "offset-sync: positive error"), 0;
		check(inside(os.topic, p, len), "offset-sync: span outside the input");
		check(ferry_mm2_offset_sync_encode(&os, &k, &v) == 0,
		      "offset-sync: re-encode failed");
		break;
	}
	}
	check(k.len == key.len && memcmp(kb, key.p, k.len) == 0, "key does not round-trip");
	check(v.len == value.len && memcmp(vb, value.p, v.len) == 0, "value does not round-trip");
	return 0;
}
