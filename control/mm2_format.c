/*
 * mm2_format.c - MirrorMaker 2's binary records: Heartbeat, Checkpoint and OffsetSync keys and
 * values, encoded and decoded exactly as MM2's Java classes do (kafka-wire-facts §6.3; the
 * test vectors of §7 are checked byte for byte in tests/unit/test_mm2.c).
 *
 * Pure functions over caller buffers: any thread, no allocation. The data path may call the
 * offset-sync encoder to put a sync in the same transaction as its batch. Decoders take
 * untrusted bytes (whatever is in a topic) and check every length (fuzz: tests/fuzz/fuzz_mm2.c).
 */
#include <stdint.h>

#include <errno.h>
#include <stdlib.h>

#include "ferry/common.h"
#include "ferry/kafka.h"
#include "ferry/mm2.h"

struct ferry_span
ferry_mm2_str(const char *s)
{
	return (struct ferry_span){ (const uint8_t *)s, s ? strlen(s) : 0 };
}

/* MM2's STRING: int16 length + bytes, never null (Type.STRING). */
static bool
str_ok(struct ferry_span s)
{
	return s.p != NULL && s.len <= INT16_MAX;
}

static void
wr_string(struct ferry_wr *w, struct ferry_span s)
{
	ferry_wr_i16(w, (int16_t)s.len);
	ferry_wr_raw(w, s.p, s.len);
}

/* Read a non-null STRING; a -1 length is BAD_LENGTH (Type.STRING refuses null). */
static bool
rd_string(struct ferry_rd *rd, struct ferry_span *s)
{
	return ferry_rd_str(rd, false, false, s);
}

static int
wr_result(const struct ferry_wr *key, const struct ferry_wr *value)
{
	return key->overflow || value->overflow ? FERRY_ERR__NOSPACE : 0;
}

static int
rd_result(const struct ferry_rd *rd)
{
	if (rd->err)
		return rd->err;
	return ferry_rd_left(rd) ? FERRY_ERR__TRAILING : 0;
}

/* ---- heartbeat ------------------------------------------------------------------------ */

size_t
ferry_mm2_heartbeat_key_size(const struct ferry_mm2_heartbeat *hb)
{
	return 4 + hb->sourceClusterAlias.len + hb->targetClusterAlias.len;
}

int
ferry_mm2_heartbeat_encode(const struct ferry_mm2_heartbeat *hb, struct ferry_wr *key,
			   struct ferry_wr *value)
{
	if (!str_ok(hb->sourceClusterAlias) || !str_ok(hb->targetClusterAlias))
		return FERRY_ERR__BAD_LENGTH;
	wr_string(key, hb->sourceClusterAlias);
	wr_string(key, hb->targetClusterAlias);
	ferry_wr_i16(value, FERRY_MM2_VERSION);
	ferry_wr_i64(value, hb->timestamp);
	return wr_result(key, value);
}

int
ferry_mm2_heartbeat_decode(struct ferry_span key, struct ferry_span value,
			   struct ferry_mm2_heartbeat *hb)
{
	struct ferry_rd rd;
	int16_t version;
	int rc;

	ferry_rd_init(&rd, key.p, key.len);
	if (!rd_string(&rd, &hb->sourceClusterAlias))
		goto err_parse;
	if (!rd_string(&rd, &hb->targetClusterAlias))
		goto err_parse;
	if ((rc = rd_result(&rd)) != 0)
		return rc;

	ferry_rd_init(&rd, value.p, value.len);
	/* Heartbeat.deserializeRecord: the version picks the value schema; only 0 exists. */
	if (!ferry_rd_i16(&rd, &version))
		goto err_parse;
	if (version != FERRY_MM2_VERSION)
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (!ferry_rd_i64(&rd, &hb->timestamp))
		goto err_parse;
	return rd_result(&rd);

err_parse:
	return rd.err;
}

/* ---- checkpoint ----------------------------------------------------------------------- */

size_t
ferry_mm2_checkpoint_key_size(const struct ferry_mm2_checkpoint *cp)
{
	return 2 + cp->consumerGroupId.len + 2 + cp->topic.len + 4;
}

size_t
ferry_mm2_checkpoint_value_size(const struct ferry_mm2_checkpoint *cp)
{
	return 2 + 8 + 8 + 2 + cp->metadata.len;
}

int
ferry_mm2_checkpoint_encode(const struct ferry_mm2_checkpoint *cp, struct ferry_wr *key,
			    struct ferry_wr *value)
{
	/* Checkpoint.metadata is never null: MM2 writes "" when the group committed none. */
	struct ferry_span md =
	    cp->metadata.p ? cp->metadata : (struct ferry_span){ (const uint8_t *)"", 0 };
	if (!str_ok(cp->consumerGroupId) || !str_ok(cp->topic) || !str_ok(md))
		return FERRY_ERR__BAD_LENGTH;
	wr_string(key, cp->consumerGroupId);
	wr_string(key, cp->topic);
	ferry_wr_i32(key, cp->partition);
	ferry_wr_i16(value, FERRY_MM2_VERSION);
	ferry_wr_i64(value, cp->upstreamOffset);
	ferry_wr_i64(value, cp->offset);
	wr_string(value, md);
	return wr_result(key, value);
}

int
ferry_mm2_checkpoint_decode(struct ferry_span key, struct ferry_span value,
			    struct ferry_mm2_checkpoint *cp)
{
	struct ferry_rd rd;
	int16_t version;
	int rc;

	ferry_rd_init(&rd, key.p, key.len);
	if (!rd_string(&rd, &cp->consumerGroupId))
		goto err_parse;
	if (!rd_string(&rd, &cp->topic))
		goto err_parse;
	if (!ferry_rd_i32(&rd, &cp->partition))
		goto err_parse;
	if ((rc = rd_result(&rd)) != 0)
		return rc;

	ferry_rd_init(&rd, value.p, value.len);
	if (!ferry_rd_i16(&rd, &version))
		goto err_parse;
	if (version != FERRY_MM2_VERSION)
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (!ferry_rd_i64(&rd, &cp->upstreamOffset))
		goto err_parse;
	if (!ferry_rd_i64(&rd, &cp->offset))
		goto err_parse;
	if (!rd_string(&rd, &cp->metadata))
		goto err_parse;
	return rd_result(&rd);

err_parse:
	return rd.err;
}

/* ---- offset-sync ---------------------------------------------------------------------- */

size_t
ferry_mm2_offset_sync_key_size(const struct ferry_mm2_offset_sync *os)
{
	return 2 + os->topic.len + 4;
}

int
ferry_mm2_offset_sync_encode(const struct ferry_mm2_offset_sync *os, struct ferry_wr *key,
			     struct ferry_wr *value)
{
	if (!str_ok(os->topic))
		return FERRY_ERR__BAD_LENGTH;
	wr_string(key, os->topic);
	ferry_wr_i32(key, os->partition);
	/* OffsetSync has no version field (OffsetSync.VALUE_SCHEMA). */
	ferry_wr_i64(value, os->upstreamOffset);
	ferry_wr_i64(value, os->offset);
	return wr_result(key, value);
}

int
ferry_mm2_offset_sync_decode(struct ferry_span key, struct ferry_span value,
			     struct ferry_mm2_offset_sync *os)
{
	struct ferry_rd rd;
	int rc;

	ferry_rd_init(&rd, key.p, key.len);
	if (!rd_string(&rd, &os->topic))
		goto err_parse;
	if (!ferry_rd_i32(&rd, &os->partition))
		goto err_parse;
	if ((rc = rd_result(&rd)) != 0)
		return rc;

	ferry_rd_init(&rd, value.p, value.len);
	if (!ferry_rd_i64(&rd, &os->upstreamOffset))
		goto err_parse;
	if (!ferry_rd_i64(&rd, &os->offset))
		goto err_parse;
	return rd_result(&rd);

err_parse:
	return rd.err;
}

/* ---- offset-syncs as one record batch ------------------------------------------------- */

int
ferry_mm2_offset_syncs_batch(const struct ferry_mm2_offset_sync *os, size_t n, int64_t ts_ms,
			     uint8_t **buf, size_t *cap, size_t *len)
{
	/* per record: the encoded key and value, plus at most 32 bytes of record framing
	 * (length, attributes, deltas and lengths as varints, header count); the batch header
	 * is 61 bytes. The records are written once to scratch and once into the batch. */
	size_t recs_max = 0;
	for (size_t i = 0; i < n; i++)
		recs_max += ferry_mm2_offset_sync_key_size(&os[i]) + FERRY_MM2_OFFSET_SYNC_VALUE_SIZE +
			    32;
	size_t kv = recs_max, need = 2 * recs_max + kv + 61;
	if (n == 0 || n > INT32_MAX)
		return -EINVAL;
	if (*cap < need) {
		uint8_t *nb = realloc(*buf, need);
		if (nb == NULL)
			return -ENOMEM;
		*buf = nb;
		*cap = need;
	}
	/* layout of *buf: [batch: 61 + recs_max][scratch: recs_max][keys and values: kv] */
	uint8_t *scratch = *buf + 61 + recs_max, *kvp = scratch + recs_max;
	struct ferry_kafka_record_in *recs = calloc(n, sizeof(*recs));
	struct ferry_wr w, k, v;
	size_t used = 0;
	int rc;

	if (recs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t ks = ferry_mm2_offset_sync_key_size(&os[i]);
		ferry_wr_init(&k, kvp + used, ks);
		ferry_wr_init(&v, kvp + used + ks, FERRY_MM2_OFFSET_SYNC_VALUE_SIZE);
		if ((rc = ferry_mm2_offset_sync_encode(&os[i], &k, &v)) != 0)
			goto out_free;
		recs[i] = (struct ferry_kafka_record_in){
			.Timestamp = ts_ms,
			.Key = ferry_span_make(k.p, k.len),
			.Value = ferry_span_make(v.p, v.len),
		};
		used += ks + FERRY_MM2_OFFSET_SYNC_VALUE_SIZE;
	}
	struct ferry_kafka_batch_args a = { .ProducerId = -1, .ProducerEpoch = -1,
					    .BaseSequence = -1 };
	ferry_wr_init(&w, *buf, 61 + recs_max);
	rc = ferry_kafka_batch_build(&w, &a, recs, n, NULL, scratch, recs_max);
	if (rc == 0)
		*len = w.len;
out_free:
	free(recs);
	return rc;
}
