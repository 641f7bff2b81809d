/*
 * fuzz_batch.c - libFuzzer harness for RecordBatch v2: the input is the
 * Records blob of one Fetch partition, as a broker sends it.
 *
 * For each batch ferry_kafka_batch_next() finds, the harness
 *   1. validates it (ferry_kafka_batch_validate, _check_produce) and takes
 *      its last offset (ferry_kafka_batch_last_offset);
 *   2. whatever the CRC says, gets its records with ferry_kafka_batch_records()
 *      into a 1 MiB buffer (the bomb cap) and walks every record and header
 *      (ferry_kafka_rec_next, ferry_kafka_hdr_next; ferry_kafka_control_type
 *      for control batches), over an exact-size heap copy so ASan sees any
 *      read past them. A record rec_next accepted must yield exactly
 *      HeadersCount headers without error (rec_next already checked them),
 *      and must parse to the same fields when it is alone in a buffer of its
 *      own size (rec_next's fast path runs only with 10 bytes of slack after
 *      a record, so this compares it with the careful path);
 *   3. rewrites a copy of the batch with ferry_kafka_batch_rewrite():
 *      - BaseOffset + PartitionLeaderEpoch only: bytes outside the CRC, so
 *        validate must give the same answer as before;
 *      - RW_PRODUCER: the CRC is recomputed, so validate must not say BAD_CRC,
 *        and must say what it says of the original with its CRC fixed (0 when
 *        the CRC was the batch's only problem);
 *      - every field (Attributes keep all bits validate looks at): the same;
 *   4. if all records decoded, builds a new batch from them with
 *      ferry_kafka_batch_build() and the batch's codec, and checks that it
 *      validates, passes the Produce rules, and holds the same keys, values,
 *      headers and timestamps with OffsetDeltas 0..n-1.
 * A broken property is reported on stderr and abort()s.
 *
 * Single-threaded; one static codec context and static buffers.
 * Seeds: corpus/batch/, written by make-seeds.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/kafka.h"

#define DECOMP_CAP       (1u << 20) /* bomb limit */
#define MAX_RECS         256        /* records kept for the rebuild check */
#define MAX_HDRS         1024       /* headers kept for the rebuild check */
#define REBUILD_MAX      (64u << 10)
#define BATCH_CRC_OFFSET 17 /* the CRC field, bytes 17..20 of the header (§3.1) */

static struct ferry_codec_ctx *cc;
static uint8_t dst[DECOMP_CAP], dst2[DECOMP_CAP];
static uint8_t scratch[REBUILD_MAX + 1024];
static uint8_t built[2 * REBUILD_MAX + 4096];

/* What the walk kept of each record, for the rebuild check. */
static struct ferry_kafka_record_in recs_in[MAX_RECS];
static struct ferry_kafka_header hdrs[MAX_HDRS];
/* Results the harness computes but does not check, kept so they are computed. */
static volatile int64_t last_offset_sink;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void
die(const char *what, const struct ferry_kafka_batch *b, int rc)
{
	fprintf(stderr,
		"fuzz_batch: %s: rc %d (%s); batch of %zu bytes, attributes 0x%x, count %d, "
		"last offset delta %d\n",
		what, rc, ferry_err_name(rc), b->bytes.len, (unsigned)(uint16_t)b->hdr.Attributes,
		b->hdr.RecordsCount, b->hdr.LastOffsetDelta);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cc = ferry_codec_ctx_new();
	if (cc == NULL) {
		perror("fuzz_batch: ferry_codec_ctx_new");
		abort();
	}
	return 0;
}

static bool
span_within(struct ferry_span inner, struct ferry_span outer)
{
	if (inner.p == NULL)
		return inner.len == 0;
	return inner.p >= outer.p && inner.len <= outer.len &&
	       (size_t)(inner.p - outer.p) <= outer.len - inner.len;
}

/* Wrapping int64 arithmetic, so the harness itself has no undefined behaviour. */
static int64_t
add_wrap(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t
sub_wrap(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

/* Field-by-field equality of two records, spans compared by offset from their bases. */
static bool
rec_same(const struct ferry_kafka_record *a, const uint8_t *abase,
	 const struct ferry_kafka_record *b, const uint8_t *bbase)
{
	const struct ferry_span *as[] = { &a->Key, &a->Value, &a->Headers };
	const struct ferry_span *bs[] = { &b->Key, &b->Value, &b->Headers };

	if (a->Length != b->Length || a->Attributes != b->Attributes ||
	    a->TimestampDelta != b->TimestampDelta || a->OffsetDelta != b->OffsetDelta ||
	    a->HeadersCount != b->HeadersCount)
		return false;
	for (size_t i = 0; i < 3; i++) {
		if ((as[i]->p == NULL) != (bs[i]->p == NULL) || as[i]->len != bs[i]->len)
			return false;
		if (as[i]->p && as[i]->p - abase != bs[i]->p - bbase)
			return false;
	}
	return true;
}

/*
 * The same record parsed alone, as the last bytes of a buffer of its own size:
 * rec_next must give the same fields. rec_next has a fast path that runs only
 * when at least 10 bytes follow the record, so this compares it with the
 * careful path, which the last record of a batch always takes.
 */
static void
check_rec_alone(const struct ferry_kafka_batch *b, const struct ferry_kafka_record *r,
		const uint8_t *rbase, size_t len)
{
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r2;
	uint8_t *cp = malloc(len);
	int rc;

	if (cp == NULL)
		abort();
	memcpy(cp, rbase, len);
	ferry_kafka_rec_iter_init(&it, ferry_span_make(cp, len), 1);
	rc = ferry_kafka_rec_next(&it, &r2);
	if (rc != 1)
		die("a record rec_next accepted is refused when parsed alone", b, rc);
	if (!rec_same(r, rbase, &r2, cp))
		die("a record parses differently when alone (fast vs careful path)", b, 0);
	rc = ferry_kafka_rec_next(&it, &r2);
	if (rc != 0)
		die("a record parsed alone leaves bytes behind", b, rc);
	free(cp);
}

/*
 * Walk every record and header of b. The records are copied to a heap buffer
 * of their exact size first, so ASan catches a read past their end even when
 * more batches follow in the input or the records sit in the 1 MiB dst.
 * Returns the number of records kept in recs_in[] when all of them decoded
 * and fit, -1 otherwise; *owned is the copy (recs_in[] points into it), for
 * the caller to free.
 */
static int
walk_records(const struct ferry_kafka_batch *b, uint8_t **owned)
{
	struct ferry_kafka_rec_iter ri;
	struct ferry_kafka_record r;
	struct ferry_span recs;
	int32_t nrec = 0;
	size_t nhdr = 0;
	bool keep = true;
	int rc;

	*owned = NULL;
	rc = ferry_kafka_batch_records(cc, b, dst, sizeof(dst), &recs);
	if (rc > 0)
		die("batch_records returned a positive code", b, rc);
	if (rc < 0)
		return -1;
	if (ferry_kafka_batch_codec(&b->hdr) == FERRY_CODEC_NONE) {
		if (recs.p != b->records.p || recs.len != b->records.len)
			die("uncompressed records are not the batch's own bytes", b, 0);
	} else if (recs.len > sizeof(dst) || (recs.len && recs.p != dst)) {
		die("decompressed records outside dst", b, 0);
	}
	if (recs.len) {
		*owned = malloc(recs.len);
		if (*owned == NULL)
			abort();
		memcpy(*owned, recs.p, recs.len);
		recs.p = *owned;
	}

	ferry_kafka_rec_iter_init(&ri, recs, b->hdr.RecordsCount);
	for (;;) {
		struct ferry_kafka_hdr_iter hi;
		struct ferry_kafka_header h;
		size_t start = ri.rd.off;
		int32_t nh = 0;
		int hrc;

		if ((rc = ferry_kafka_rec_next(&ri, &r)) != 1)
			break;
		if (ri.rd.off <= start || ri.rd.off > recs.len)
			die("rec_next moved its reader outside the records", b, 0);
		if (!span_within(r.Key, recs) || !span_within(r.Value, recs) ||
		    !span_within(r.Headers, recs))
			die("record field outside the records bytes", b, 0);
		check_rec_alone(b, &r, recs.p + start, ri.rd.off - start);
		ferry_kafka_hdr_iter_init(&hi, &r);
		while ((hrc = ferry_kafka_hdr_next(&hi, &h)) == 1) {
			if (h.Key.p == NULL || !span_within(h.Key, r.Headers) ||
			    !span_within(h.Value, r.Headers))
				die("header outside the record's header bytes", b, 0);
			if (keep && nhdr < MAX_HDRS)
				hdrs[nhdr] = h;
			nhdr++;
			nh++;
		}
		if (hrc != 0 || nh != r.HeadersCount)
			die("headers of a record rec_next accepted do not iterate", b, hrc);
		if (ferry_kafka_batch_is_control(&b->hdr)) {
			int16_t type;
			rc = ferry_kafka_control_type(&r, &type);
			if (rc > 0)
				die("control_type returned a positive code", b, rc);
		}
		if (nrec < MAX_RECS && nhdr <= MAX_HDRS) {
			struct ferry_kafka_record_in *ri_in = &recs_in[nrec];
			ri_in->Timestamp = add_wrap(b->hdr.BaseTimestamp, r.TimestampDelta);
			ri_in->Key = r.Key;
			ri_in->Value = r.Value;
			ri_in->n_headers = (uint32_t)nh;
			ri_in->Headers = &hdrs[nhdr - (size_t)nh];
		} else {
			keep = false;
		}
		nrec++;
	}
	if (rc > 0)
		die("rec_next returned a positive code", b, rc);
	if (rc < 0 || !keep || nrec == 0 || recs.len > REBUILD_MAX)
		return -1;
	if (nrec != b->hdr.RecordsCount)
		die("rec_next ended cleanly before RecordsCount records", b, nrec);
	return nrec;
}

/* Rewrite a copy of b and check what validate says afterwards. */
static void
check_rewrite(const struct ferry_kafka_batch *b, int vrc)
{
	struct ferry_kafka_batch b2;
	struct ferry_kafka_batch_rewrite rw;
	size_t len = b->bytes.len, used;
	uint8_t *cp = malloc(len); /* exact size: ASan catches a write past the batch */
	int rc;

	if (cp == NULL)
		abort();

	/* What validate says about this batch once its CRC is right: its other
	 * problems, if any. A rewrite that recomputes the CRC must give this. */
	memcpy(cp, b->bytes.p, len);
	uint32_t crc =
	    ferry_crc32c(cp + FERRY_KAFKA_BATCH_CRC_START, len - FERRY_KAFKA_BATCH_CRC_START);
	ferry_put_be32(cp + BATCH_CRC_OFFSET, crc);
	if (ferry_kafka_batch_parse(ferry_span_make(cp, len), &b2, &used) != 0 || used != len)
		die("batch with a fixed CRC does not parse", b, 0);
	int vfixed = ferry_kafka_batch_validate(&b2);
	if (vfixed == FERRY_ERR__BAD_CRC || (vrc != FERRY_ERR__BAD_CRC && vfixed != vrc))
		die("fixing the CRC changed another validation result", b, vfixed);

	/* Only bytes the CRC does not cover. */
	memcpy(cp, b->bytes.p, len);
	memset(&rw, 0, sizeof(rw));
	rw.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_LEADER_EPOCH;
	rw.BaseOffset = 0;
	rw.PartitionLeaderEpoch = -1;
	rc = ferry_kafka_batch_rewrite(cp, len, &rw);
	if (rc != 0)
		die("rewrite of a parsed batch failed", b, rc);
	if (ferry_kafka_batch_parse(ferry_span_make(cp, len), &b2, &used) != 0 || used != len)
		die("rewritten batch does not parse", b, 0);
	if (b2.hdr.BaseOffset != 0 || b2.hdr.PartitionLeaderEpoch != -1 || b2.hdr.CRC != b->hdr.CRC)
		die("BaseOffset/PLE rewrite wrote the wrong fields", b, 0);
	rc = ferry_kafka_batch_validate(&b2);
	/* BaseOffset is validated (FERRY_ERR__BAD_OFFSET), so a new one may turn
	 * that verdict on or off; nothing else may change. */
	if (rc != vrc && rc != FERRY_ERR__BAD_OFFSET && vrc != FERRY_ERR__BAD_OFFSET)
		die("BaseOffset/PLE rewrite changed the validation result", b, rc);

	/* Producer fields: inside the CRC, so it must be recomputed. */
	memcpy(cp, b->bytes.p, len);
	memset(&rw, 0, sizeof(rw));
	rw.set = FERRY_KAFKA_RW_PRODUCER;
	rw.ProducerId = 1000;
	rw.ProducerEpoch = 0;
	rw.BaseSequence = 0;
	rc = ferry_kafka_batch_rewrite(cp, len, &rw);
	if (rc != 0)
		die("producer rewrite of a parsed batch failed", b, rc);
	if (ferry_kafka_batch_parse(ferry_span_make(cp, len), &b2, &used) != 0 || used != len)
		die("rewritten batch does not parse", b, 0);
	if (b2.hdr.ProducerId != 1000 || b2.hdr.ProducerEpoch != 0 || b2.hdr.BaseSequence != 0)
		die("producer rewrite wrote the wrong fields", b, 0);
	rc = ferry_kafka_batch_validate(&b2);
	if (rc == FERRY_ERR__BAD_CRC)
		die("producer rewrite left a bad CRC", b, rc);
	if (rc != vfixed)
		die("producer rewrite changed more than the CRC problem", b, rc);

	/* Everything at once, values taken from the batch itself. */
	memcpy(cp, b->bytes.p, len);
	memset(&rw, 0, sizeof(rw));
	rw.set = FERRY_KAFKA_RW_BASE_OFFSET | FERRY_KAFKA_RW_LEADER_EPOCH |
		 FERRY_KAFKA_RW_PRODUCER | FERRY_KAFKA_RW_ATTRIBUTES | FERRY_KAFKA_RW_MAX_TIMESTAMP;
	rw.BaseOffset = b->hdr.MaxTimestamp;
	rw.PartitionLeaderEpoch = b->hdr.BaseSequence;
	rw.ProducerId = -1;
	rw.ProducerEpoch = -1;
	rw.BaseSequence = -1;
	rw.Attributes = (int16_t)(b->hdr.Attributes & ~FERRY_KAFKA_ATTR_TRANSACTIONAL);
	rw.MaxTimestamp = b->hdr.BaseTimestamp;
	rc = ferry_kafka_batch_rewrite(cp, len, &rw);
	if (rc != 0)
		die("full rewrite of a parsed batch failed", b, rc);
	if (ferry_kafka_batch_parse(ferry_span_make(cp, len), &b2, &used) != 0 || used != len)
		die("rewritten batch does not parse", b, 0);
	if (b2.hdr.BaseOffset != rw.BaseOffset || b2.hdr.Attributes != rw.Attributes ||
	    b2.hdr.MaxTimestamp != rw.MaxTimestamp || b2.hdr.ProducerId != -1)
		die("full rewrite wrote the wrong fields", b, 0);
	rc = ferry_kafka_batch_validate(&b2);
	if (rc == FERRY_ERR__BAD_CRC)
		die("full rewrite left a bad CRC", b, rc);
	/* Only the transactional bit changed in Attributes; validate ignores it.
	 * The new BaseOffset may turn FERRY_ERR__BAD_OFFSET on or off. */
	if (rc != vfixed && rc != FERRY_ERR__BAD_OFFSET && vfixed != FERRY_ERR__BAD_OFFSET)
		die("full rewrite changed more than the CRC problem", b, rc);

	free(cp);
}

/* Build a new batch from the records the walk kept and read it back. */
static void
check_rebuild(const struct ferry_kafka_batch *b, int nrec)
{
	struct ferry_kafka_batch_args args;
	struct ferry_kafka_batch nb;
	struct ferry_kafka_rec_iter ri;
	struct ferry_kafka_record r;
	struct ferry_span recs;
	struct ferry_wr w;
	int codec = ferry_kafka_batch_codec(&b->hdr);
	size_t used;
	int32_t i = 0;
	int rc;

	if (codec > FERRY_CODEC_ZSTD)
		return;
	memset(&args, 0, sizeof(args));
	args.BaseOffset = 0;
	args.PartitionLeaderEpoch = -1;
	args.Attributes = (int16_t)codec;
	args.ProducerId = -1;
	args.ProducerEpoch = -1;
	args.BaseSequence = -1;
	ferry_wr_init(&w, built, sizeof(built));
	rc =
	    ferry_kafka_batch_build(&w, &args, recs_in, (size_t)nrec, cc, scratch, sizeof(scratch));
	if (rc != 0)
		die("build from decoded records failed", b, rc);
	rc = ferry_kafka_batch_parse(ferry_span_make(built, w.len), &nb, &used);
	if (rc != 0 || used != w.len)
		die("built batch does not parse", b, rc);
	rc = ferry_kafka_batch_validate(&nb);
	if (rc != 0)
		die("built batch does not validate", b, rc);
	rc = ferry_kafka_batch_check_produce(&nb);
	if (rc != 0)
		die("built batch breaks the Produce rules", b, rc);
	if (nb.hdr.RecordsCount != nrec || nb.hdr.BaseTimestamp != recs_in[0].Timestamp)
		die("built batch header disagrees with its records", b, 0);
	rc = ferry_kafka_batch_records(cc, &nb, dst2, sizeof(dst2), &recs);
	if (rc != 0)
		die("records of the built batch do not decompress", b, rc);
	ferry_kafka_rec_iter_init(&ri, recs, nb.hdr.RecordsCount);
	while ((rc = ferry_kafka_rec_next(&ri, &r)) == 1) {
		const struct ferry_kafka_record_in *in = &recs_in[i];
		struct ferry_kafka_hdr_iter hi;
		struct ferry_kafka_header h;
		uint32_t k = 0;
		int hrc;

		if (r.OffsetDelta != i ||
		    r.TimestampDelta != sub_wrap(in->Timestamp, recs_in[0].Timestamp) ||
		    !ferry_span_eq(r.Key, in->Key) || !ferry_span_eq(r.Value, in->Value) ||
		    r.HeadersCount < 0 || (uint32_t)r.HeadersCount != in->n_headers)
			die("built record differs from its source", b, i);
		ferry_kafka_hdr_iter_init(&hi, &r);
		while ((hrc = ferry_kafka_hdr_next(&hi, &h)) == 1) {
			if (!ferry_span_eq(h.Key, in->Headers[k].Key) ||
			    !ferry_span_eq(h.Value, in->Headers[k].Value))
				die("built header differs from its source", b, i);
			k++;
		}
		if (hrc != 0 || k != in->n_headers)
			die("built record's headers do not iterate", b, hrc);
		i++;
	}
	if (rc != 0 || i != nrec)
		die("built batch's records do not iterate", b, rc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ferry_span in = ferry_span_make(d, n);
	struct ferry_kafka_batch_iter it;
	struct ferry_kafka_batch b;
	int rc;

	ferry_kafka_batch_iter_init(&it, in);
	while ((rc = ferry_kafka_batch_next(&it, &b)) == 1) {
		if (!span_within(b.bytes, in) ||
		    b.bytes.len != FERRY_KAFKA_BATCH_LOG_OVERHEAD + (size_t)b.hdr.BatchLength ||
		    b.records.p != b.bytes.p + FERRY_KAFKA_BATCH_HDR_SIZE ||
		    b.records.len != b.bytes.len - FERRY_KAFKA_BATCH_HDR_SIZE)
			die("parsed batch spans are inconsistent", &b, 0);
		int vrc = ferry_kafka_batch_validate(&b);
		if (vrc > 0)
			die("validate returned a positive code", &b, vrc);
		(void)ferry_kafka_batch_check_produce(&b);
		/* What a consumer computes its next fetch position from. */
		last_offset_sink = ferry_kafka_batch_last_offset(&b.hdr);
		uint8_t *owned;
		int nrec = walk_records(&b, &owned);
		check_rewrite(&b, vrc);
		if (nrec > 0)
			check_rebuild(&b, nrec);
		free(owned);
	}
	if (rc > 0 || it.partial_tail > n)
		abort();
	return 0;
}
