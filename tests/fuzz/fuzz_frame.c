/*
 * fuzz_frame.c - libFuzzer harness for the request side of the codec: the
 * input is a byte stream as a broker would read it from a client socket.
 *
 * The stream is cut with ferry_kafka_frame_split() (max frame 1 MiB, as a
 * gateway would configure it) until a frame is incomplete or refused; every
 * complete frame goes through ferry_kafka_request_decode() with a 256 KiB
 * arena. Nothing may crash or read out of bounds. When a frame decodes, it is
 * encoded again with ferry_kafka_request_encode() and that frame must decode
 * too, with the same header, and encoding the second decode must give the
 * same bytes (encode(decode(x)) is a fixed point). A broken property is
 * reported on stderr and abort()s, which libFuzzer records as a crash.
 *
 * Single-threaded (libFuzzer calls in a loop); all buffers are static.
 * Seeds: corpus/frame/, written by make-seeds.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"

#define FRAME_MAX  (1u << 20)
#define ARENA_SIZE (256u << 10)
/* A re-encoded frame is never larger than the frame it came from: the decoder
 * keeps every field, the encoder drops unknown tags. Twice the size leaves room
 * for a bug to show up as a mismatch instead of NOSPACE. */
#define ENC_CAP (2 * (FRAME_MAX + 4))

/* Storage for any request struct. The union is checked against the API table
 * at start-up, so a new API in the table cannot silently overrun it. */
union req_any {
	struct ferry_kafka_api_versions_req api_versions;
	struct ferry_kafka_fetch_req fetch;
	struct ferry_kafka_produce_req produce;
	struct ferry_kafka_metadata_req metadata;
	struct ferry_kafka_list_offsets_req list_offsets;
	struct ferry_kafka_init_producer_id_req init_producer_id;
	struct ferry_kafka_add_partitions_to_txn_req add_partitions_to_txn;
	struct ferry_kafka_end_txn_req end_txn;
	uint64_t align;
};

static union req_any msg1, msg2;
static uint64_t arena1_mem[ARENA_SIZE / 8], arena2_mem[ARENA_SIZE / 8];
static uint8_t enc1[ENC_CAP], enc2[ENC_CAP];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void
die(const char *what, const struct ferry_kafka_reqhdr *h, int rc, const char *err)
{
	fprintf(stderr, "fuzz_frame: %s: %s v%d corr %d: rc %d (%s) %s\n", what,
		ferry_kafka_api_name(h->ApiKey), h->ApiVersion, h->CorrelationId, rc,
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
	for (size_t i = 0; i < n; i++) {
		if (apis[i].req_size > sizeof(union req_any)) {
			fprintf(stderr, "fuzz_frame: %s request (%zu bytes) does not fit in %zu\n",
				apis[i].name, apis[i].req_size, sizeof(union req_any));
			abort();
		}
	}
	return 0;
}

/* Decode one frame body; on success check the encode/decode round trip. */
static void
check_frame(struct ferry_span body)
{
	struct ferry_arena a1, a2;
	struct ferry_kafka_reqhdr h1, h2;
	struct ferry_span body2;
	struct ferry_wr w1, w2;
	size_t used;
	char err[256];
	int rc;

	ferry_arena_init(&a1, arena1_mem, sizeof(arena1_mem));
	rc = ferry_kafka_request_decode(body, &a1, &h1, &msg1, err, sizeof(err));
	if (rc > 0)
		die("decode returned a positive code", &h1, rc, NULL);
	if (rc < 0)
		return;
	if (a1.used > a1.cap)
		die("arena overrun", &h1, 0, NULL);

	ferry_wr_init(&w1, enc1, sizeof(enc1));
	rc = ferry_kafka_request_encode(&w1, &h1, &msg1);
	if (rc != 0)
		die("re-encode of a decoded request failed", &h1, rc, NULL);
	rc = ferry_kafka_frame_split(ferry_span_make(enc1, w1.len), ENC_CAP, &body2, &used);
	if (rc != 0 || used != w1.len)
		die("re-encoded frame does not split", &h1, rc, NULL);

	ferry_arena_init(&a2, arena2_mem, sizeof(arena2_mem));
	rc = ferry_kafka_request_decode(body2, &a2, &h2, &msg2, err, sizeof(err));
	if (rc != 0)
		die("decode of the re-encoded request failed", &h1, rc, err);
	if (h2.ApiKey != h1.ApiKey || h2.ApiVersion != h1.ApiVersion ||
	    h2.CorrelationId != h1.CorrelationId || !ferry_span_eq(h2.ClientId, h1.ClientId))
		die("request header changed in the round trip", &h1, 0, NULL);

	ferry_wr_init(&w2, enc2, sizeof(enc2));
	rc = ferry_kafka_request_encode(&w2, &h2, &msg2);
	if (rc != 0)
		die("second re-encode failed", &h2, rc, NULL);
	if (w2.len != w1.len || memcmp(enc1, enc2, w1.len) != 0)
		die("encode(decode(encode(x))) differs from encode(x)", &h2, 0, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	size_t off = 0;

	while (off < n) {
		struct ferry_span in = ferry_span_make(d + off, n - off);
		struct ferry_span body;
		size_t used;
		int rc = ferry_kafka_frame_split(in, FRAME_MAX, &body, &used);
		if (rc != 0) {
			/* PARTIAL: wait for more bytes; BAD_LENGTH: a gateway closes the
			 * connection. Either way this stream is done. */
			if (rc != FERRY_ERR__PARTIAL && rc != FERRY_ERR__BAD_LENGTH)
				abort();
			break;
		}
		if (used != 4 + body.len || used > in.len || body.p != in.p + 4)
			abort();
		check_frame(body);
		off += used;
	}
	return 0;
}
