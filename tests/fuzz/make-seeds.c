/*
 * make-seeds.c - writes the seed corpora of the frame, response and batch
 * fuzzers (tests/fuzz/corpus/{frame,response,batch}/) with the codec's own
 * encoders, so the seeds follow the codec when a layout changes.
 *
 * Not part of the meson build: run it by hand after a codec change and commit
 * the files it writes (same bytes on every run: fixed timestamps and ids).
 *
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude tests/fuzz/make-seeds.c \
 *      <builddir>/dataplane/kafka/libferry_kafka.a \
 *      $(pkg-config --libs libisal snappy liblz4 libzstd libdeflate) -lstdc++ -o make-seeds
 *   ./make-seeds tests/fuzz/corpus
 *
 * (with a sanitizer build of the library, add the same -fsanitize flags.)
 *
 * What it writes, each file under 4 KiB and checked by decoding it back:
 *   frame/     request streams: every implemented version of each API back to
 *              back (Fetch v4-12, Produce v3-9, ApiVersions v0-3, Metadata v1-12,
 *              ListOffsets v1-7, InitProducerId v0-4, AddPartitionsToTxn v0-3,
 *              EndTxn v0-3, SaslHandshake v0-1, SaslAuthenticate v0-2), single
 *              frames of the key versions, a SASL connection start (ApiVersions,
 *              SaslHandshake, SaslAuthenticate) and a pipelined stream that ends
 *              in a cut frame;
 *   response/  3-byte selector (API index in ferry_kafka_api_all(), version -
 *              min_ver, 0 = full arena) + response header and body, for the
 *              versions of each API that differ most, the ApiVersions
 *              UNSUPPORTED_VERSION answer (v0 layout) and the librdkafka 2.0.2
 *              mock's malformed answer (kafka-wire-facts.md §1.6);
 *   batch/     Records blobs: the MM2 heartbeat golden batch (§7.4) and its
 *              idempotent variant, batches built with each codec (none, gzip,
 *              xerial and raw snappy, lz4, zstd), a transaction with its COMMIT
 *              control batch, a compacted batch with an offset gap, records
 *              with edge-case (long, non-minimal) varints, and a multi-batch
 *              blob with a cut tail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"

#define SEED_MAX 4096

static const char *out_root;
static struct ferry_codec_ctx *cc;
static uint64_t arena_mem[(1 << 20) / 8]; /* 8-aligned, as the arena wants */
static uint8_t scratch[64 << 10];

/* §7.4: the MM2 heartbeat primary->backup as an uncompressed v2 batch (95 bytes). */
static const char *HEARTBEAT_HEX =
    "00 00 00 00 00 00 00 00  00 00 00 53  ff ff ff ff  02  e8 fe 37 81  00 00  00 00 00 00"
    "00 00 01 8b cf e5 68 00  00 00 01 8b cf e5 68 00  ff ff ff ff ff ff ff ff  ff ff"
    "ff ff ff ff  00 00 00 01"
    "42 00 00 00 22  00 07 70 72 69 6d 61 72 79 00 06 62 61 63 6b 75 70"
    "14 00 00 00 00 01 8b cf e5 68 00  00";

/* §1.6: the 2.0.2 mock's answer to ApiVersions v3 (error 35, malformed body), correlation 2. */
static const char *MOCK_AV_QUIRK_HEX = "00 00 00 02 | 00 23 | 01 | 00 12 00 00 00 02 | 00 00 00 00";

static const struct ferry_span null_span = { NULL, 0 };

static uint8_t heartbeat[128];
static size_t heartbeat_len;

static void
fail(const char *what, int rc)
{
	fprintf(stderr, "make-seeds: %s: %d (%s)\n", what, rc, ferry_err_name(rc));
	exit(1);
}

static size_t
hex2bin(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *c = hex; *c; c++) {
		int v;
		if (*c >= '0' && *c <= '9')
			v = *c - '0';
		else if (*c >= 'a' && *c <= 'f')
			v = *c - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			fail("hex string too long", 0);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return n;
}

static void
write_seed(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];
	if (len == 0 || len >= SEED_MAX) {
		fprintf(stderr, "make-seeds: %s/%s: %zu bytes, want 1..%d\n", dir, name, len,
			SEED_MAX - 1);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", out_root, dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", out_root, dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	printf("%-48s %5zu bytes\n", path, len);
}

/* ---- record batches ----------------------------------------------------------------------- */

#define TS0 INT64_C(1700000000000)

static const struct ferry_kafka_header rec_hdrs[] = {
	{ { (const uint8_t *)"trace-id", 8 }, { (const uint8_t *)"4bf92f3577b34da6", 16 } },
	{ { (const uint8_t *)"source", 6 }, { NULL, 0 } }, /* null header value */
};

/* Three records: headers, a null key, a tombstone (null value). */
static const struct ferry_kafka_record_in data_recs[] = {
	{ TS0,
	  { (const uint8_t *)"order-1", 7 },
	  { (const uint8_t *)"{\"qty\":3,\"sku\":\"A-17\"}", 22 },
	  2,
	  rec_hdrs },
	{ TS0 + 5, { NULL, 0 }, { (const uint8_t *)"keyless value", 13 }, 0, NULL },
	{ TS0 + 2, { (const uint8_t *)"order-0", 7 }, { NULL, 0 }, 1, rec_hdrs },
};

static const struct ferry_kafka_batch_args plain_args = {
	.BaseOffset = 0,
	.PartitionLeaderEpoch = -1,
	.Attributes = 0,
	.ProducerId = -1,
	.ProducerEpoch = -1,
	.BaseSequence = -1,
};

/* Build one batch into w and check that it validates and that its records iterate. */
static void
build_batch(struct ferry_wr *w, const struct ferry_kafka_batch_args *a,
	    const struct ferry_kafka_record_in *recs, size_t n)
{
	size_t start = w->len, used;
	int rc = ferry_kafka_batch_build(w, a, recs, n, cc, scratch, sizeof(scratch));
	if (rc != 0)
		fail("ferry_kafka_batch_build", rc);
	struct ferry_kafka_batch b;
	rc = ferry_kafka_batch_parse(ferry_span_make(w->p + start, w->len - start), &b, &used);
	if (rc != 0)
		fail("parse of a built batch", rc);
	rc = ferry_kafka_batch_validate(&b);
	if (rc != 0)
		fail("validate of a built batch", rc);
}

/* Check every batch of a blob: each validates and its records all iterate. */
static void
check_blob(const uint8_t *p, size_t len, size_t expect_batches)
{
	static uint8_t dst[1 << 20];
	struct ferry_kafka_batch_iter it;
	struct ferry_kafka_batch b;
	size_t nb = 0;
	int rc;

	ferry_kafka_batch_iter_init(&it, ferry_span_make(p, len));
	while ((rc = ferry_kafka_batch_next(&it, &b)) == 1) {
		struct ferry_kafka_rec_iter ri;
		struct ferry_kafka_record r;
		struct ferry_span recs;
		nb++;
		if ((rc = ferry_kafka_batch_validate(&b)) != 0)
			fail("seed batch does not validate", rc);
		if ((rc = ferry_kafka_batch_records(cc, &b, dst, sizeof(dst), &recs)) != 0)
			fail("seed batch does not decompress", rc);
		ferry_kafka_rec_iter_init(&ri, recs, b.hdr.RecordsCount);
		while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1)
			;
		if (rc != 0)
			fail("seed batch records do not iterate", rc);
	}
	if (rc != 0 || nb != expect_batches)
		fail("seed blob does not hold the expected batches", rc);
}

static void
batch_seed(const char *name, int codec)
{
	uint8_t buf[SEED_MAX];
	struct ferry_wr w;
	struct ferry_kafka_batch_args a = plain_args;

	a.Attributes = (int16_t)codec;
	ferry_wr_init(&w, buf, sizeof(buf));
	build_batch(&w, &a, data_recs, 3);
	check_blob(buf, w.len, 1);
	write_seed("batch", name, buf, w.len);
}

/* Raw snappy (librdkafka's format): batch_build writes xerial framing, so
 * assemble this one by hand from an uncompressed build. */
static void
batch_seed_snappy_raw(void)
{
	uint8_t plain[SEED_MAX], buf[SEED_MAX];
	struct ferry_wr w;
	size_t clen;
	int rc;

	ferry_wr_init(&w, plain, sizeof(plain));
	build_batch(&w, &plain_args, data_recs, 3);
	struct ferry_span recs =
	    ferry_span_make(plain + FERRY_KAFKA_BATCH_HDR_SIZE, w.len - FERRY_KAFKA_BATCH_HDR_SIZE);
	rc = ferry_compress(cc, FERRY_CODEC_SNAPPY, recs, buf + FERRY_KAFKA_BATCH_HDR_SIZE,
			    sizeof(buf) - FERRY_KAFKA_BATCH_HDR_SIZE, &clen, 0,
			    FERRY_COMPRESS_SNAPPY_RAW);
	if (rc != 0)
		fail("raw snappy compress", rc);
	size_t total = FERRY_KAFKA_BATCH_HDR_SIZE + clen;
	memcpy(buf, plain, FERRY_KAFKA_BATCH_HDR_SIZE);
	ferry_put_be32(buf + 8, (uint32_t)(total - FERRY_KAFKA_BATCH_LOG_OVERHEAD));
	/* Attributes := snappy; the rewrite recomputes the CRC over the new bytes. */
	struct ferry_kafka_batch_rewrite rw = { .set = FERRY_KAFKA_RW_ATTRIBUTES,
						.Attributes = FERRY_CODEC_SNAPPY };
	if ((rc = ferry_kafka_batch_rewrite(buf, total, &rw)) != 0)
		fail("rewrite of the raw snappy batch", rc);
	check_blob(buf, total, 1);
	write_seed("batch", "snappy-raw", buf, total);
}

/*
 * Records with edge-case varints, written by hand (batch_build writes minimal
 * ones): a 10-byte TimestampDelta (INT64_MAX), a 5-byte OffsetDelta written
 * non-minimally, a non-minimal key length, a null key and a null header value,
 * a header count of 0 written in two bytes. Each but the last has at least 10
 * bytes after it, where rec_next takes its fast path.
 */
static void
batch_seed_edge_varints(void)
{
	static const uint8_t long_ts[] = { 0xfe, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0xff, 0xff, 0x01 }; /* INT64_MAX */
	static const uint8_t off1_5b[] = { 0x82, 0x80, 0x80, 0x80, 0x00 }; /* 1, 5 bytes */
	static const uint8_t klen2_2b[] = { 0x84, 0x00 };                  /* 2, 2 bytes */
	static const uint8_t hcount0_2b[] = { 0x80, 0x00 };                /* 0, 2 bytes */
	uint8_t body[3][64], buf[SEED_MAX];
	size_t blen[3];
	struct ferry_wr w;
	int rc;

	/* record 0: TimestampDelta INT64_MAX, key null, value "v0", one header (null value) */
	ferry_wr_init(&w, body[0], sizeof(body[0]));
	ferry_wr_i8(&w, 0);
	ferry_wr_raw(&w, long_ts, sizeof(long_ts));
	ferry_wr_varint(&w, 0);
	ferry_wr_varint(&w, -1);
	ferry_wr_varint(&w, 2);
	ferry_wr_raw(&w, "v0", 2);
	ferry_wr_varint(&w, 1);
	ferry_wr_varint(&w, 3);
	ferry_wr_raw(&w, "hdr", 3);
	ferry_wr_varint(&w, -1);
	blen[0] = w.len;
	/* record 1: TimestampDelta -1, OffsetDelta 1 in 5 bytes, key "k1" with a 2-byte
	 * length, null value (tombstone), header count 0 in 2 bytes */
	ferry_wr_init(&w, body[1], sizeof(body[1]));
	ferry_wr_i8(&w, 0);
	ferry_wr_varlong(&w, -1);
	ferry_wr_raw(&w, off1_5b, sizeof(off1_5b));
	ferry_wr_raw(&w, klen2_2b, sizeof(klen2_2b));
	ferry_wr_raw(&w, "k1", 2);
	ferry_wr_varint(&w, -1);
	ferry_wr_raw(&w, hcount0_2b, sizeof(hcount0_2b));
	blen[1] = w.len;
	/* record 2: plain, the last one (careful path) */
	ferry_wr_init(&w, body[2], sizeof(body[2]));
	ferry_wr_i8(&w, 0);
	ferry_wr_varlong(&w, 7);
	ferry_wr_varint(&w, 2);
	ferry_wr_varint(&w, 2);
	ferry_wr_raw(&w, "k2", 2);
	ferry_wr_varint(&w, 2);
	ferry_wr_raw(&w, "v2", 2);
	ferry_wr_varint(&w, 0);
	blen[2] = w.len;

	/* Header from a built one-record batch, then the records, then fix
	 * Length, LastOffsetDelta, RecordsCount and (via a rewrite) the CRC. */
	ferry_wr_init(&w, buf, sizeof(buf));
	build_batch(&w, &plain_args, data_recs, 1);
	w.len = FERRY_KAFKA_BATCH_HDR_SIZE;
	for (int i = 0; i < 3; i++) {
		ferry_wr_varint(&w, (int32_t)blen[i]);
		ferry_wr_raw(&w, body[i], blen[i]);
	}
	if (w.overflow)
		fail("edge-varints seed too big", 0);
	ferry_put_be32(buf + 8, (uint32_t)(w.len - FERRY_KAFKA_BATCH_LOG_OVERHEAD));
	ferry_put_be32(buf + 23, 2);         /* LastOffsetDelta */
	ferry_put_be64(buf + 27, 0);         /* BaseTimestamp */
	ferry_put_be64(buf + 35, INT64_MAX); /* MaxTimestamp */
	ferry_put_be32(buf + 57, 3);         /* RecordsCount */
	struct ferry_kafka_batch_rewrite rw;
	memset(&rw, 0, sizeof(rw));
	rw.set = FERRY_KAFKA_RW_ATTRIBUTES; /* same Attributes: only recomputes the CRC */
	if ((rc = ferry_kafka_batch_rewrite(buf, w.len, &rw)) != 0)
		fail("rewrite of the edge-varints batch", rc);
	check_blob(buf, w.len, 1);
	write_seed("batch", "record-edge-varints", buf, w.len);
}

static void
batch_seeds(void)
{
	uint8_t buf[SEED_MAX];
	struct ferry_wr w;
	int rc;

	/* §7.4 golden, then the same batch made idempotent: the doc gives its CRC. */
	check_blob(heartbeat, heartbeat_len, 1);
	write_seed("batch", "mm2-heartbeat-golden", heartbeat, heartbeat_len);
	memcpy(buf, heartbeat, heartbeat_len);
	struct ferry_kafka_batch_rewrite rw = { .set = FERRY_KAFKA_RW_PRODUCER,
						.ProducerId = 1000,
						.ProducerEpoch = 0,
						.BaseSequence = 0 };
	if ((rc = ferry_kafka_batch_rewrite(buf, heartbeat_len, &rw)) != 0)
		fail("rewrite of the heartbeat", rc);
	if (ferry_be32(buf + 17) != 0x8959529fu)
		fail("idempotent heartbeat CRC differs from kafka-wire-facts.md §7.4", 0);
	check_blob(buf, heartbeat_len, 1);
	write_seed("batch", "mm2-heartbeat-idempotent", buf, heartbeat_len);

	batch_seed("codec-none", FERRY_CODEC_NONE);
	batch_seed("codec-gzip", FERRY_CODEC_GZIP);
	batch_seed("codec-snappy-xerial", FERRY_CODEC_SNAPPY);
	batch_seed_snappy_raw();
	batch_seed("codec-lz4", FERRY_CODEC_LZ4);
	batch_seed("codec-zstd", FERRY_CODEC_ZSTD);
	batch_seed_edge_varints();

	/* A transaction as a read_committed Fetch returns it: a transactional
	 * data batch, then the coordinator's COMMIT marker (§3.4). */
	static const uint8_t commit_key[] = { 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t commit_val[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x05 };
	const struct ferry_kafka_record_in marker = { TS0 + 9,
						      { commit_key, sizeof(commit_key) },
						      { commit_val, sizeof(commit_val) },
						      0,
						      NULL };
	struct ferry_kafka_batch_args ta = {
		.BaseOffset = 100,
		.PartitionLeaderEpoch = 3,
		.Attributes = FERRY_KAFKA_ATTR_TRANSACTIONAL | FERRY_CODEC_LZ4,
		.ProducerId = 4242,
		.ProducerEpoch = 1,
		.BaseSequence = 0,
	};
	ferry_wr_init(&w, buf, sizeof(buf));
	build_batch(&w, &ta, data_recs, 2);
	ta.BaseOffset = 102;
	ta.Attributes = FERRY_KAFKA_ATTR_TRANSACTIONAL | FERRY_KAFKA_ATTR_CONTROL;
	ta.BaseSequence = -1;
	build_batch(&w, &ta, &marker, 1);
	check_blob(buf, w.len, 2);
	write_seed("batch", "txn-data-then-commit", buf, w.len);

	/* A compacted batch: records at offset deltas 0 and 4, LastOffsetDelta 4
	 * (the offsets between were cleaned away). Build, then patch by hand. */
	ferry_wr_init(&w, buf, sizeof(buf));
	build_batch(&w, &plain_args, data_recs, 2);
	size_t rec1 = FERRY_KAFKA_BATCH_HDR_SIZE;
	struct ferry_rd rd;
	int32_t len0;
	ferry_rd_init(&rd, buf + rec1, w.len - rec1);
	if (!ferry_rd_varint(&rd, &len0))
		fail("compacted seed: record length", rd.err);
	/* Second record: length, attributes 00, timestamp delta 5 (0a), OffsetDelta 1 (02). */
	size_t rec2 = rec1 + rd.off + (size_t)len0;
	if (buf[rec2 + 1] != 0x00 || buf[rec2 + 2] != 0x0a || buf[rec2 + 3] != 0x02)
		fail("compacted seed: unexpected second record layout", 0);
	buf[rec2 + 3] = 0x08;        /* OffsetDelta 1 -> 4 (zig-zag) */
	ferry_put_be32(buf + 23, 4); /* LastOffsetDelta */
	memset(&rw, 0, sizeof(rw));
	rw.set = FERRY_KAFKA_RW_ATTRIBUTES; /* same Attributes: only recomputes the CRC */
	if ((rc = ferry_kafka_batch_rewrite(buf, w.len, &rw)) != 0)
		fail("rewrite of the compacted batch", rc);
	check_blob(buf, w.len, 1);
	write_seed("batch", "compacted-offset-gap", buf, w.len);

	/* Several batches, as one Fetch partition: heartbeat, a zstd batch, and
	 * the first 40 bytes of a third one (a cut tail the reader drops). */
	ferry_wr_init(&w, buf, sizeof(buf));
	ferry_wr_raw(&w, heartbeat, heartbeat_len);
	struct ferry_kafka_batch_args za = plain_args;
	za.BaseOffset = 1;
	za.Attributes = FERRY_CODEC_ZSTD;
	build_batch(&w, &za, data_recs + 1, 2);
	ferry_wr_raw(&w, heartbeat, 40);
	check_blob(buf, w.len, 2);
	write_seed("batch", "multi-batch-cut-tail", buf, w.len);
}

/* ---- requests ----------------------------------------------------------------------------- */

union req_any {
	struct ferry_kafka_api_versions_req api_versions;
	struct ferry_kafka_fetch_req fetch;
	struct ferry_kafka_produce_req produce;
	struct ferry_kafka_metadata_req metadata;
	struct ferry_kafka_list_offsets_req list_offsets;
	struct ferry_kafka_init_producer_id_req init_producer_id;
	struct ferry_kafka_add_partitions_to_txn_req add_partitions_to_txn;
	struct ferry_kafka_end_txn_req end_txn;
	struct ferry_kafka_sasl_handshake_req sasl_handshake;
	struct ferry_kafka_sasl_authenticate_req sasl_authenticate;
};

/* RFC 4616 PLAIN initial response "\0user\0pass", what a client sends in SaslAuthenticate. */
static const uint8_t sasl_plain[] = { 0, 'u', 's', 'e', 'r', 0, 'p', 'a', 's', 's' };

/* Fill the request of api/ver. Arrays point to static storage. */
static void
make_request(int16_t api, int16_t ver, union req_any *m)
{
	static struct ferry_kafka_fetch_req_part fparts[2];
	static struct ferry_kafka_fetch_req_topic ftopic;
	static int32_t forgotten_parts[] = { 1, 2 };
	static struct ferry_kafka_fetch_forgotten forgotten;
	static struct ferry_kafka_produce_req_part pparts[1];
	static struct ferry_kafka_produce_req_topic ptopic;
	static struct ferry_kafka_metadata_req_topic mtopics[2];
	static struct ferry_kafka_list_offsets_req_partition lparts[2];
	static struct ferry_kafka_list_offsets_req_topic ltopic;
	static int32_t txn_parts[] = { 0, 1, 2 };
	static struct ferry_kafka_add_partitions_to_txn_topic atopic;

	memset(m, 0, sizeof(*m));
	switch (api) {
	case FERRY_KAFKA_API_VERSIONS:
		m->api_versions.ClientSoftwareName = ferry_span_str("ferry");
		m->api_versions.ClientSoftwareVersion = ferry_span_str("0.1.0");
		break;
	case FERRY_KAFKA_FETCH:
		for (int i = 0; i < 2; i++) {
			fparts[i] = (struct ferry_kafka_fetch_req_part){
				.Partition = i * 3,
				.CurrentLeaderEpoch = i ? -1 : 7,
				.FetchOffset = 42 + i,
				.LastFetchedEpoch = -1,
				.LogStartOffset = -1,
				.PartitionMaxBytes = 1 << 20,
			};
		}
		ftopic = (struct ferry_kafka_fetch_req_topic){ ferry_span_str("mm2-heartbeats"), 2,
							       fparts };
		forgotten = (struct ferry_kafka_fetch_forgotten){ ferry_span_str("old-topic"), 2,
								  forgotten_parts };
		m->fetch = (struct ferry_kafka_fetch_req){
			.ReplicaId = -1,
			.MaxWaitMs = 500,
			.MinBytes = 1,
			.MaxBytes = 52428800,
			.IsolationLevel = 1,
			.SessionId = 0,
			.SessionEpoch = -1,
			.n_topics = 1,
			.Topics = &ftopic,
			.n_forgotten = ver >= 7 ? 1 : 0,
			.ForgottenTopicsData = &forgotten,
			.RackId = ferry_span_str(ver == 12 ? "rack-a" : ""),
			.ClusterId = ver == 12 ? ferry_span_str("src-cluster") : null_span,
		};
		break;
	case FERRY_KAFKA_PRODUCE:
		pparts[0].Index = 0;
		pparts[0].Records = ferry_span_make(heartbeat, heartbeat_len);
		ptopic = (struct ferry_kafka_produce_req_topic){ ferry_span_str("heartbeats"), 1,
								 pparts };
		m->produce = (struct ferry_kafka_produce_req){
			.TransactionalId = ver >= 8 ? ferry_span_str("mm2-txn") : null_span,
			.Acks = -1,
			.TimeoutMs = 30000,
			.n_topics = 1,
			.TopicData = &ptopic,
		};
		break;
	case FERRY_KAFKA_METADATA:
		ferry_kafka_metadata_req_init(&m->metadata);
		memset(mtopics, 0, sizeof(mtopics));
		mtopics[0].Name = ferry_span_str("orders");
		mtopics[1].Name = ferry_span_str("heartbeats");
		m->metadata.n_topics = 2;
		m->metadata.Topics = mtopics;
		m->metadata.AllowAutoTopicCreation = ver < 4 || ver % 2 == 1;
		m->metadata.IncludeClusterAuthorizedOperations = ver >= 8 && ver <= 10;
		m->metadata.IncludeTopicAuthorizedOperations = ver >= 8;
		break;
	case FERRY_KAFKA_LIST_OFFSETS:
		ferry_kafka_list_offsets_req_init(&m->list_offsets);
		for (int i = 0; i < 2; i++) {
			ferry_kafka_list_offsets_req_partition_init(&lparts[i]);
			lparts[i].PartitionIndex = i;
		}
		lparts[0].CurrentLeaderEpoch = 5;
		lparts[0].Timestamp = FERRY_KAFKA_OFFSET_LATEST;
		lparts[1].Timestamp =
		    ver >= 7 ? FERRY_KAFKA_OFFSET_MAX_TIMESTAMP : FERRY_KAFKA_OFFSET_EARLIEST;
		ltopic = (struct ferry_kafka_list_offsets_req_topic){ ferry_span_str("orders"), 2,
								      lparts };
		m->list_offsets.IsolationLevel = ver >= 2 ? 1 : 0;
		m->list_offsets.n_topics = 1;
		m->list_offsets.Topics = &ltopic;
		break;
	case FERRY_KAFKA_INIT_PRODUCER_ID:
		ferry_kafka_init_producer_id_req_init(&m->init_producer_id);
		m->init_producer_id.TransactionalId =
		    ver == 0 ? null_span : ferry_span_str("mm2-txn");
		m->init_producer_id.TransactionTimeoutMs = 60000;
		if (ver >= 4) {
			m->init_producer_id.ProducerId = 1000;
			m->init_producer_id.ProducerEpoch = 0;
		}
		break;
	case FERRY_KAFKA_ADD_PARTITIONS_TO_TXN:
		atopic.Name = ferry_span_str("orders");
		atopic.n_partitions = 3;
		atopic.Partitions = txn_parts;
		m->add_partitions_to_txn =
		    (struct ferry_kafka_add_partitions_to_txn_req){ ferry_span_str("mm2-txn"), 1000,
								    0, 1, &atopic };
		break;
	case FERRY_KAFKA_END_TXN:
		m->end_txn = (struct ferry_kafka_end_txn_req){ ferry_span_str("mm2-txn"), 1000, 0,
							       ver % 2 == 0 };
		break;
	case FERRY_KAFKA_SASL_HANDSHAKE:
		m->sasl_handshake.Mechanism = ferry_span_str(ver == 0 ? "PLAIN" : "SCRAM-SHA-512");
		break;
	case FERRY_KAFKA_SASL_AUTHENTICATE:
		m->sasl_authenticate.AuthBytes = ferry_span_make(sasl_plain, sizeof(sasl_plain));
		break;
	default: fail("make_request: unknown API", api);
	}
}

/* Append one request frame of api/ver to w and check that it decodes. */
static void
add_request(struct ferry_wr *w, int16_t api, int16_t ver, int32_t corr)
{
	static union req_any m, back;
	struct ferry_kafka_reqhdr h = { api, ver, corr, ferry_span_str("ferry-gw") };
	size_t start = w->len, used;
	struct ferry_span body;
	struct ferry_arena a;
	char err[256];
	int rc;

	make_request(api, ver, &m);
	if ((rc = ferry_kafka_request_encode(w, &h, &m)) != 0)
		fail("request encode", rc);
	rc = ferry_kafka_frame_split(ferry_span_make(w->p + start, w->len - start), 1 << 20, &body,
				     &used);
	if (rc != 0)
		fail("request frame split", rc);
	ferry_arena_init(&a, arena_mem, sizeof(arena_mem));
	if ((rc = ferry_kafka_request_decode(body, &a, &h, &back, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err);
		fail("request decode", rc);
	}
}

static void
frame_seeds(void)
{
	static const struct {
		int16_t api;
		const char *name;
	} streams[] = {
		{ FERRY_KAFKA_FETCH, "fetch-all-versions" },
		{ FERRY_KAFKA_PRODUCE, "produce-all-versions" },
		{ FERRY_KAFKA_API_VERSIONS, "api-versions-all-versions" },
		{ FERRY_KAFKA_METADATA, "metadata-all-versions" },
		{ FERRY_KAFKA_LIST_OFFSETS, "list-offsets-all-versions" },
		{ FERRY_KAFKA_INIT_PRODUCER_ID, "init-producer-id-all-versions" },
		{ FERRY_KAFKA_ADD_PARTITIONS_TO_TXN, "add-partitions-to-txn-all-versions" },
		{ FERRY_KAFKA_END_TXN, "end-txn-all-versions" },
		{ FERRY_KAFKA_SASL_HANDSHAKE, "sasl-handshake-all-versions" },
		{ FERRY_KAFKA_SASL_AUTHENTICATE, "sasl-authenticate-all-versions" },
	};
	static const struct {
		int16_t api, ver;
		const char *name;
	} singles[] = {
		{ FERRY_KAFKA_FETCH, 4, "fetch-v4" },
		{ FERRY_KAFKA_FETCH, 11, "fetch-v11" },
		{ FERRY_KAFKA_FETCH, 12, "fetch-v12" },
		{ FERRY_KAFKA_PRODUCE, 3, "produce-v3" },
		{ FERRY_KAFKA_PRODUCE, 9, "produce-v9" },
		{ FERRY_KAFKA_API_VERSIONS, 3, "api-versions-v3" },
		{ FERRY_KAFKA_METADATA, 12, "metadata-v12" },
		{ FERRY_KAFKA_INIT_PRODUCER_ID, 4, "init-producer-id-v4" },
	};
	uint8_t buf[SEED_MAX];
	struct ferry_wr w;

	for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		const struct ferry_kafka_api_info *api = ferry_kafka_api_get(streams[i].api);
		ferry_wr_init(&w, buf, sizeof(buf));
		for (int16_t v = api->min_ver; v <= api->max_ver; v++)
			add_request(&w, api->ApiKey, v, 100 * api->ApiKey + v);
		write_seed("frame", streams[i].name, buf, w.len);
	}
	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		ferry_wr_init(&w, buf, sizeof(buf));
		add_request(&w, singles[i].api, singles[i].ver, 7);
		write_seed("frame", singles[i].name, buf, w.len);
	}
	/* What a client pipelines after connecting, the last frame cut short. */
	ferry_wr_init(&w, buf, sizeof(buf));
	add_request(&w, FERRY_KAFKA_API_VERSIONS, 3, 1);
	add_request(&w, FERRY_KAFKA_METADATA, 1, 2);
	add_request(&w, FERRY_KAFKA_INIT_PRODUCER_ID, 2, 3);
	add_request(&w, FERRY_KAFKA_FETCH, 11, 4);
	size_t cut = w.len;
	add_request(&w, FERRY_KAFKA_PRODUCE, 7, 5);
	write_seed("frame", "pipelined-cut-tail", buf, cut + (w.len - cut) / 2);
	/* A SASL_* connection opens with ApiVersions, SaslHandshake v1, SaslAuthenticate. */
	ferry_wr_init(&w, buf, sizeof(buf));
	add_request(&w, FERRY_KAFKA_API_VERSIONS, 3, 1);
	add_request(&w, FERRY_KAFKA_SASL_HANDSHAKE, 1, 2);
	add_request(&w, FERRY_KAFKA_SASL_AUTHENTICATE, 2, 3);
	write_seed("frame", "sasl-connection-start", buf, w.len);
}

/* ---- responses ---------------------------------------------------------------------------- */

union resp_any {
	struct ferry_kafka_api_versions_resp api_versions;
	struct ferry_kafka_fetch_resp fetch;
	struct ferry_kafka_produce_resp produce;
	struct ferry_kafka_metadata_resp metadata;
	struct ferry_kafka_list_offsets_resp list_offsets;
	struct ferry_kafka_init_producer_id_resp init_producer_id;
	struct ferry_kafka_add_partitions_to_txn_resp add_partitions_to_txn;
	struct ferry_kafka_end_txn_resp end_txn;
	struct ferry_kafka_sasl_handshake_resp sasl_handshake;
	struct ferry_kafka_sasl_authenticate_resp sasl_authenticate;
};

/* Fill the response of api/ver ('variant' picks an error answer where there is one). */
static void
make_response(int16_t api, int16_t ver, int variant, union resp_any *m)
{
	static struct ferry_kafka_api_version_range ranges[16];
	static struct ferry_kafka_aborted_txn aborted[] = { { 4242, 100 }, { 4243, 105 } };
	static struct ferry_kafka_fetch_resp_part fparts[2];
	static struct ferry_kafka_fetch_resp_topic ftopic;
	static struct ferry_kafka_produce_record_error rec_errs[] = {
		{ 0, { (const uint8_t *)"record 0 has a null key", 23 } },
	};
	static struct ferry_kafka_produce_resp_part pparts[2];
	static struct ferry_kafka_produce_resp_topic ptopic;
	static struct ferry_kafka_metadata_resp_broker brokers[2];
	static int32_t replicas[] = { 1, 2 }, isr[] = { 1 }, offline[] = { 2 };
	static struct ferry_kafka_metadata_resp_partition mparts[2];
	static struct ferry_kafka_metadata_resp_topic mtopic;
	static struct ferry_kafka_list_offsets_resp_partition lparts[2];
	static struct ferry_kafka_list_offsets_resp_topic ltopic;
	static struct ferry_kafka_add_partitions_to_txn_partition_result aresults[2];
	static struct ferry_kafka_add_partitions_to_txn_topic_result aresult;
	static struct ferry_span mechs[] = {
		{ (const uint8_t *)"PLAIN", 5 },
		{ (const uint8_t *)"SCRAM-SHA-256", 13 },
		{ (const uint8_t *)"SCRAM-SHA-512", 13 },
	};
	static const uint8_t server_final[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
	size_t napis;
	const struct ferry_kafka_api_info *apis = ferry_kafka_api_all(&napis);

	memset(m, 0, sizeof(*m));
	switch (api) {
	case FERRY_KAFKA_API_VERSIONS:
		if (variant) {
			/* UNSUPPORTED_VERSION: the v0 layout, listing the broker's range. */
			ranges[0].ApiKey = FERRY_KAFKA_API_VERSIONS;
			ranges[0].MinVersion = 0;
			ranges[0].MaxVersion = 2;
			m->api_versions =
			    (struct ferry_kafka_api_versions_resp){ FERRY_ERR_UNSUPPORTED_VERSION,
								    1, ranges, 0 };
			break;
		}
		for (size_t i = 0; i < napis && i < 16; i++)
			ranges[i] =
			    (struct ferry_kafka_api_version_range){ apis[i].ApiKey, apis[i].min_ver,
								    apis[i].max_ver };
		m->api_versions = (struct ferry_kafka_api_versions_resp){ 0, (int32_t)napis, ranges,
									  ver >= 1 ? 10 : 0 };
		break;
	case FERRY_KAFKA_FETCH:
		fparts[0] = (struct ferry_kafka_fetch_resp_part){
			.PartitionIndex = 0,
			.HighWatermark = 1,
			.LastStableOffset = 1,
			.LogStartOffset = ver >= 5 ? 0 : -1,
			.n_aborted = ver == 4 ? 2 : (ver == 12 ? 0 : -1),
			.AbortedTransactions = aborted,
			.PreferredReadReplica = -1,
			.Records = ferry_span_make(heartbeat, heartbeat_len),
		};
		fparts[1] = (struct ferry_kafka_fetch_resp_part){
			.PartitionIndex = 3,
			.ErrorCode = FERRY_ERR_NOT_LEADER_OR_FOLLOWER,
			.HighWatermark = -1,
			.LastStableOffset = -1,
			.LogStartOffset = -1,
			.n_aborted = -1,
			.PreferredReadReplica = ver >= 11 ? 2 : -1,
			.Records = null_span,
		};
		if (ver == 12) {
			fparts[0].has_DivergingEpoch = true;
			fparts[0].DivergingEpoch_Epoch = 4;
			fparts[0].DivergingEpoch_EndOffset = 1;
			fparts[1].has_CurrentLeader = true;
			fparts[1].CurrentLeader_LeaderId = 2;
			fparts[1].CurrentLeader_LeaderEpoch = 8;
			fparts[1].has_SnapshotId = true;
			fparts[1].SnapshotId_EndOffset = 77;
			fparts[1].SnapshotId_Epoch = 6;
		}
		ftopic = (struct ferry_kafka_fetch_resp_topic){ ferry_span_str("heartbeats"), 2,
								fparts };
		m->fetch = (struct ferry_kafka_fetch_resp){ .ThrottleTimeMs = 0,
							    .ErrorCode = 0,
							    .SessionId = 0,
							    .n_topics = 1,
							    .Responses = &ftopic };
		break;
	case FERRY_KAFKA_PRODUCE:
		pparts[0] = (struct ferry_kafka_produce_resp_part){
			.Index = 0,
			.BaseOffset = 42,
			.LogAppendTimeMs = -1,
			.LogStartOffset = 0,
			.ErrorMessage = null_span,
		};
		pparts[1] = (struct ferry_kafka_produce_resp_part){
			.Index = 1,
			.ErrorCode = FERRY_ERR_INVALID_RECORD,
			.BaseOffset = -1,
			.LogAppendTimeMs = -1,
			.LogStartOffset = -1,
			.n_record_errors = ver >= 8 ? 1 : 0,
			.RecordErrors = rec_errs,
			.ErrorMessage = ver >= 8 ? ferry_span_str("batch rejected") : null_span,
		};
		ptopic.Name = ferry_span_str("orders");
		ptopic.n_partitions = 2;
		ptopic.PartitionResponses = pparts;
		m->produce.n_topics = 1;
		m->produce.Responses = &ptopic;
		m->produce.ThrottleTimeMs = 15;
		break;
	case FERRY_KAFKA_METADATA:
		ferry_kafka_metadata_resp_init(&m->metadata);
		brokers[0].NodeId = 1;
		brokers[0].Host = ferry_span_str("broker-1");
		brokers[0].Port = 9092;
		brokers[0].Rack = ferry_span_str("rack-a");
		brokers[1].NodeId = 2;
		brokers[1].Host = ferry_span_str("broker-2");
		brokers[1].Port = 9093;
		brokers[1].Rack = null_span;
		for (int i = 0; i < 2; i++) {
			ferry_kafka_metadata_resp_partition_init(&mparts[i]);
			mparts[i].PartitionIndex = i;
			mparts[i].LeaderId = 1 + i;
			mparts[i].LeaderEpoch = ver >= 7 ? 3 : -1;
			mparts[i].n_replica_nodes = 2;
			mparts[i].ReplicaNodes = replicas;
			mparts[i].n_isr_nodes = 1;
			mparts[i].IsrNodes = isr;
			mparts[i].n_offline_replicas = ver >= 5 ? 1 : 0;
			mparts[i].OfflineReplicas = offline;
		}
		ferry_kafka_metadata_resp_topic_init(&mtopic);
		mtopic.Name = ferry_span_str("orders");
		if (ver >= 10)
			memset(mtopic.TopicId, 0xab, sizeof(mtopic.TopicId));
		mtopic.n_partitions = 2;
		mtopic.Partitions = mparts;
		if (ver >= 8)
			mtopic.TopicAuthorizedOperations = 0x0ff8;
		m->metadata.ThrottleTimeMs = ver >= 3 ? 5 : 0;
		m->metadata.n_brokers = 2;
		m->metadata.Brokers = brokers;
		m->metadata.ClusterId = ver >= 2 ? ferry_span_str("src-cluster") : null_span;
		m->metadata.ControllerId = 1;
		m->metadata.n_topics = 1;
		m->metadata.Topics = &mtopic;
		if (ver >= 8 && ver <= 10)
			m->metadata.ClusterAuthorizedOperations = 0x0ff8;
		break;
	case FERRY_KAFKA_LIST_OFFSETS:
		for (int i = 0; i < 2; i++) {
			ferry_kafka_list_offsets_resp_partition_init(&lparts[i]);
			lparts[i].PartitionIndex = i;
			lparts[i].Offset = 1234 + i;
			lparts[i].LeaderEpoch = ver >= 4 ? 3 : -1;
		}
		lparts[1].ErrorCode = FERRY_ERR_OFFSET_NOT_AVAILABLE;
		ltopic = (struct ferry_kafka_list_offsets_resp_topic){ ferry_span_str("orders"), 2,
								       lparts };
		m->list_offsets.ThrottleTimeMs = ver >= 2 ? 1 : 0;
		m->list_offsets.n_topics = 1;
		m->list_offsets.Topics = &ltopic;
		break;
	case FERRY_KAFKA_INIT_PRODUCER_ID:
		ferry_kafka_init_producer_id_resp_init(&m->init_producer_id);
		m->init_producer_id.ThrottleTimeMs = 0;
		m->init_producer_id.ProducerId = 1000;
		m->init_producer_id.ProducerEpoch = (int16_t)ver;
		break;
	case FERRY_KAFKA_ADD_PARTITIONS_TO_TXN:
		aresults[0] = (struct ferry_kafka_add_partitions_to_txn_partition_result){ 0, 0 };
		aresults[1] = (struct ferry_kafka_add_partitions_to_txn_partition_result){
			1, FERRY_ERR_INVALID_TXN_STATE
		};
		aresult = (struct ferry_kafka_add_partitions_to_txn_topic_result){
			ferry_span_str("orders"), 2, aresults
		};
		m->add_partitions_to_txn.n_results = 1;
		m->add_partitions_to_txn.Results = &aresult;
		break;
	case FERRY_KAFKA_END_TXN: m->end_txn.ErrorCode = FERRY_ERR_CONCURRENT_TRANSACTIONS; break;
	case FERRY_KAFKA_SASL_HANDSHAKE:
		/* variant: the mechanism asked for is not enabled */
		m->sasl_handshake.ErrorCode = variant ? FERRY_ERR_UNSUPPORTED_SASL_MECHANISM : 0;
		m->sasl_handshake.n_mechanisms = 3;
		m->sasl_handshake.Mechanisms = mechs;
		break;
	case FERRY_KAFKA_SASL_AUTHENTICATE:
		if (variant) {
			/* failed: an error message, empty AuthBytes */
			m->sasl_authenticate.ErrorCode = FERRY_ERR_SASL_AUTHENTICATION_FAILED;
			m->sasl_authenticate.ErrorMessage =
			    ferry_span_str("Authentication failed: Invalid username or password");
			m->sasl_authenticate.AuthBytes = ferry_span_make(server_final, 0);
			break;
		}
		/* SCRAM server-final-message, null ErrorMessage, a session lifetime (v1+) */
		m->sasl_authenticate.AuthBytes =
		    ferry_span_make(server_final, sizeof(server_final) - 1);
		m->sasl_authenticate.SessionLifetimeMs = ver >= 1 ? 3600000 : 0;
		break;
	default: fail("make_response: unknown API", api);
	}
}

/* Index of api in ferry_kafka_api_all(): the fuzzer's selector byte 0. */
static uint8_t
api_index(int16_t api)
{
	size_t n;
	const struct ferry_kafka_api_info *apis = ferry_kafka_api_all(&n);
	for (size_t i = 0; i < n; i++)
		if (apis[i].ApiKey == api)
			return (uint8_t)i;
	fail("api_index: not implemented", api);
	return 0;
}

/* selector + body, checked by decoding the body as the fuzzer will. */
static void
write_response_seed(const char *name, int16_t api, int16_t ver, const uint8_t *body, size_t len)
{
	static union resp_any back;
	uint8_t buf[SEED_MAX];
	const struct ferry_kafka_api_info *info = ferry_kafka_api_get(api);
	struct ferry_arena a;
	char err[256];
	int rc;

	if (len < 4 || 3 + len > sizeof(buf))
		fail("response seed size", 0);
	ferry_arena_init(&a, arena_mem, sizeof(arena_mem));
	rc = ferry_kafka_response_decode(ferry_span_make(body, len), api, ver,
					 (int32_t)ferry_be32(body), &a, &back, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		fail("response seed decode", rc);
	}
	buf[0] = api_index(api);
	buf[1] = (uint8_t)(ver - info->min_ver);
	buf[2] = 0;
	memcpy(buf + 3, body, len);
	write_seed("response", name, buf, 3 + len);
}

static void
response_seed(const char *name, int16_t api, int16_t ver, int variant)
{
	static union resp_any m;
	uint8_t buf[SEED_MAX];
	struct ferry_wr w;
	int rc;

	make_response(api, ver, variant, &m);
	ferry_wr_init(&w, buf, sizeof(buf));
	if ((rc = ferry_kafka_response_encode(&w, api, ver, 0x1000 + ver, &m)) != 0)
		fail("response encode", rc);
	write_response_seed(name, api, ver, buf + 4, w.len - 4);
}

static void
response_seeds(void)
{
	static const struct {
		int16_t api, ver;
		int variant;
		const char *name;
	} seeds[] = {
		{ FERRY_KAFKA_API_VERSIONS, 0, 0, "api-versions-v0" },
		{ FERRY_KAFKA_API_VERSIONS, 3, 0, "api-versions-v3" },
		{ FERRY_KAFKA_API_VERSIONS, 3, 1, "api-versions-v3-unsupported-version" },
		{ FERRY_KAFKA_FETCH, 4, 0, "fetch-v4-aborted-txns" },
		{ FERRY_KAFKA_FETCH, 11, 0, "fetch-v11" },
		{ FERRY_KAFKA_FETCH, 12, 0, "fetch-v12-tags" },
		{ FERRY_KAFKA_PRODUCE, 3, 0, "produce-v3" },
		{ FERRY_KAFKA_PRODUCE, 8, 0, "produce-v8-record-errors" },
		{ FERRY_KAFKA_PRODUCE, 9, 0, "produce-v9" },
		{ FERRY_KAFKA_METADATA, 1, 0, "metadata-v1" },
		{ FERRY_KAFKA_METADATA, 9, 0, "metadata-v9" },
		{ FERRY_KAFKA_METADATA, 12, 0, "metadata-v12" },
		{ FERRY_KAFKA_LIST_OFFSETS, 1, 0, "list-offsets-v1" },
		{ FERRY_KAFKA_LIST_OFFSETS, 7, 0, "list-offsets-v7" },
		{ FERRY_KAFKA_INIT_PRODUCER_ID, 0, 0, "init-producer-id-v0" },
		{ FERRY_KAFKA_INIT_PRODUCER_ID, 4, 0, "init-producer-id-v4" },
		{ FERRY_KAFKA_ADD_PARTITIONS_TO_TXN, 3, 0, "add-partitions-to-txn-v3" },
		{ FERRY_KAFKA_END_TXN, 3, 0, "end-txn-v3" },
		{ FERRY_KAFKA_SASL_HANDSHAKE, 1, 0, "sasl-handshake-v1" },
		{ FERRY_KAFKA_SASL_HANDSHAKE, 0, 1, "sasl-handshake-v0-unsupported-mechanism" },
		{ FERRY_KAFKA_SASL_AUTHENTICATE, 0, 1, "sasl-authenticate-v0-failed" },
		{ FERRY_KAFKA_SASL_AUTHENTICATE, 1, 0, "sasl-authenticate-v1" },
		{ FERRY_KAFKA_SASL_AUTHENTICATE, 2, 0, "sasl-authenticate-v2" },
		{ FERRY_KAFKA_SASL_AUTHENTICATE, 2, 1, "sasl-authenticate-v2-failed" },
	};
	uint8_t quirk[64];
	size_t n;

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		response_seed(seeds[i].name, seeds[i].api, seeds[i].ver, seeds[i].variant);
	n = hex2bin(MOCK_AV_QUIRK_HEX, quirk, sizeof(quirk));
	write_response_seed("api-versions-v3-rdkafka-mock-quirk", FERRY_KAFKA_API_VERSIONS, 3,
			    quirk, n);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
		return 2;
	}
	out_root = argv[1];
	cc = ferry_codec_ctx_new();
	if (cc == NULL) {
		perror("ferry_codec_ctx_new");
		return 1;
	}
	heartbeat_len = hex2bin(HEARTBEAT_HEX, heartbeat, sizeof(heartbeat));
	if (heartbeat_len != 95)
		fail("heartbeat golden is not 95 bytes", 0);

	frame_seeds();
	response_seeds();
	batch_seeds();
	ferry_codec_ctx_free(cc);
	return 0;
}
