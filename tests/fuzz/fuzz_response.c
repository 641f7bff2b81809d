/*
 * fuzz_response.c - libFuzzer harness for the response side of the codec:
 * the bytes a gateway reads back from a broker for a request it sent.
 *
 * Input layout (3-byte selector, then one frame body without its size):
 *   byte 0  ApiKey: index into ferry_kafka_api_all(), modulo its length
 *   byte 1  ApiVersion: min_ver + byte % (max_ver - min_ver + 1)
 *   byte 2  arena size: 256 KiB >> (byte & 15), so small values of the low
 *           nibble keep the full arena and large ones reach the NOMEM paths
 *   3..     response header + body; the expected correlation id is read from
 *           its first 4 bytes (0 if shorter), so the correlation check passes
 *
 * ferry_kafka_response_decode() must never crash. When it succeeds the
 * message is encoded again with ferry_kafka_response_encode(), the frame is
 * split, and it must decode again (same API, version and correlation id);
 * encoding that second decode must give the same bytes. ApiVersions answers
 * with ErrorCode UNSUPPORTED_VERSION (35) are decoded leniently and encoded
 * in the v0 layout: the same round trip has to hold for them too, and the
 * re-encoded body must be exactly that layout.
 * A broken property is reported on stderr and abort()s.
 *
 * Single-threaded; all buffers are static. Seeds: corpus/response/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"

#define ARENA_SIZE (256u << 10)
/* Inputs are far below 1 MiB (libFuzzer's -max_len); re-encoding never grows them. */
#define ENC_CAP (4u << 20)

/* Storage for any response struct, checked against the API table at start-up. */
union resp_any {
	struct ferry_kafka_api_versions_resp api_versions;
	struct ferry_kafka_fetch_resp fetch;
	struct ferry_kafka_produce_resp produce;
	struct ferry_kafka_metadata_resp metadata;
	struct ferry_kafka_list_offsets_resp list_offsets;
	struct ferry_kafka_init_producer_id_resp init_producer_id;
	struct ferry_kafka_add_partitions_to_txn_resp add_partitions_to_txn;
	struct ferry_kafka_end_txn_resp end_txn;
	uint64_t align;
};

static union resp_any msg1, msg2;
static uint64_t arena1_mem[ARENA_SIZE / 8], arena2_mem[ARENA_SIZE / 8];
static uint8_t enc1[ENC_CAP], enc2[ENC_CAP];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void
die(const char *what, const struct ferry_kafka_api_info *api, int16_t ver, int rc, const char *err)
{
	fprintf(stderr, "fuzz_response: %s: %s v%d: rc %d (%s) %s\n", what, api->name, ver, rc,
		ferry_err_name(rc), err ? err : "");
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	size_t n;
	const struct ferry_kafka_api_info *apis = ferry_kafka_api_all(&n);
	if (n == 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (apis[i].resp_size > sizeof(union resp_any) ||
		    apis[i].max_ver < apis[i].min_ver) {
			fprintf(stderr, "fuzz_response: %s: response struct or versions unusable\n",
				apis[i].name);
			abort();
		}
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	const struct ferry_kafka_api_info *apis, *api;
	struct ferry_arena a1, a2;
	struct ferry_span body, body2;
	struct ferry_wr w1, w2;
	size_t napis, used;
	int32_t corr;
	int16_t ver;
	char err[256];
	int rc;

	if (n < 3)
		return 0;
	apis = ferry_kafka_api_all(&napis);
	api = &apis[d[0] % napis];
	ver = (int16_t)(api->min_ver + d[1] % (api->max_ver - api->min_ver + 1));
	body = ferry_span_make(d + 3, n - 3);
	corr = body.len >= 4 ? (int32_t)ferry_be32(body.p) : 0;

	ferry_arena_init(&a1, arena1_mem, sizeof(arena1_mem) >> (d[2] & 15));
	rc =
	    ferry_kafka_response_decode(body, api->ApiKey, ver, corr, &a1, &msg1, err, sizeof(err));
	if (rc > 0)
		die("decode returned a positive code", api, ver, rc, NULL);
	if (rc == FERRY_ERR__CORRELATION)
		die("correlation id check failed on its own id", api, ver, rc, err);
	if (rc < 0)
		return 0;
	if (a1.used > a1.cap)
		die("arena overrun", api, ver, 0, NULL);

	ferry_wr_init(&w1, enc1, sizeof(enc1));
	rc = ferry_kafka_response_encode(&w1, api->ApiKey, ver, corr, &msg1);
	if (rc != 0)
		die("re-encode of a decoded response failed", api, ver, rc, NULL);
	rc = ferry_kafka_frame_split(ferry_span_make(enc1, w1.len), ENC_CAP, &body2, &used);
	if (rc != 0 || used != w1.len)
		die("re-encoded frame does not split", api, ver, rc, NULL);
	if (body2.len < 4 || (int32_t)ferry_be32(body2.p) != corr)
		die("re-encoded frame lost the correlation id", api, ver, 0, NULL);

	/* kafka-wire-facts.md §1.6: an UNSUPPORTED_VERSION answer is in the v0 layout at
	 * every version (correlation id, ErrorCode, int32 count, 6 bytes per key, no
	 * throttle, no tags). The lenient decoder would not notice extra bytes. */
	if (api->ApiKey == FERRY_KAFKA_API_VERSIONS &&
	    msg1.api_versions.ErrorCode == FERRY_ERR_UNSUPPORTED_VERSION &&
	    body2.len != 4 + 2 + 4 + 6 * (size_t)msg1.api_versions.n_api_keys)
		die("UNSUPPORTED_VERSION answer not in the v0 layout", api, ver, 0, NULL);

	ferry_arena_init(&a2, arena2_mem, sizeof(arena2_mem));
	rc = ferry_kafka_response_decode(body2, api->ApiKey, ver, corr, &a2, &msg2, err,
					 sizeof(err));
	if (rc != 0)
		die("decode of the re-encoded response failed", api, ver, rc, err);

	ferry_wr_init(&w2, enc2, sizeof(enc2));
	rc = ferry_kafka_response_encode(&w2, api->ApiKey, ver, corr, &msg2);
	if (rc != 0)
		die("second re-encode failed", api, ver, rc, NULL);
	if (w2.len != w1.len || memcmp(enc1, enc2, w1.len) != 0)
		die("encode(decode(encode(x))) differs from encode(x)", api, ver, 0, NULL);
	return 0;
}
