/*
 * proto.c - batch descriptors and gateway control messages (see proto.h). Pure byte code:
 * any thread; every read is bounds-checked with ferry_rd and every field validated, because
 * these bytes come from the peer (authenticated, but a bug or a version skew must give a
 * clear error, not a crash).
 */
#include <errno.h>
#include <string.h>

#include "ferry/common.h"
#include "proto.h"

size_t
ferryd_desc_size(uint16_t topic_len, uint32_t n_drops)
{
	return FERRYD_DESC_FIXED + topic_len + (size_t)n_drops * 4;
}

int
ferryd_desc_encode(const struct ferryd_desc *d, const uint32_t *drop_deltas, uint8_t *out,
		   size_t cap)
{
	struct ferry_wr w;
	size_t need;

	if (d->topic_len == 0 || d->topic_len > FERRYD_TOPIC_MAX || d->n_drops > FERRYD_DESC_DROPS_MAX ||
	    d->src_first < 0 || d->src_last < d->src_first || d->kind > FERRYD_DESC_SKIP)
		return -EINVAL;
	need = ferryd_desc_size(d->topic_len, d->n_drops);
	if (need > cap)
		return -ENOSPC;
	ferry_wr_init(&w, out, cap);
	ferry_wr_i16(&w, (int16_t)FERRYD_DESC_MAGIC);
	ferry_wr_i8(&w, FERRYD_DESC_VERSION);
	ferry_wr_i8(&w, (int8_t)d->kind);
	ferry_wr_i8(&w, (int8_t)d->drops_exact);
	ferry_wr_i8(&w, 0);
	ferry_wr_i16(&w, (int16_t)d->topic_len);
	ferry_wr_i32(&w, d->partition);
	ferry_wr_i64(&w, d->src_first);
	ferry_wr_i64(&w, d->src_last);
	ferry_wr_i64(&w, (int64_t)d->generation);
	ferry_wr_u32(&w, d->n_drops);
	ferry_wr_raw(&w, d->topic, d->topic_len);
	for (uint32_t i = 0; i < d->n_drops; i++)
		ferry_wr_u32(&w, drop_deltas[i]);
	return (int)need;
}

int
ferryd_desc_decode(const uint8_t *p, size_t len, struct ferryd_desc *d, char *err, size_t errlen)
{
	struct ferry_rd rd;
	int16_t magic, tl;
	int8_t ver, kind, exact, pad;
	int64_t gen;

	memset(d, 0, sizeof(*d));
	ferry_rd_init(&rd, p, len);
	if (!ferry_rd_i16(&rd, &magic) || !ferry_rd_i8(&rd, &ver) || !ferry_rd_i8(&rd, &kind) ||
	    !ferry_rd_i8(&rd, &exact) || !ferry_rd_i8(&rd, &pad) || !ferry_rd_i16(&rd, &tl) ||
	    !ferry_rd_i32(&rd, &d->partition) || !ferry_rd_i64(&rd, &d->src_first) ||
	    !ferry_rd_i64(&rd, &d->src_last) || !ferry_rd_i64(&rd, &gen) ||
	    !ferry_rd_u32(&rd, &d->n_drops))
		return ferry_errf(-EBADMSG, err, errlen, "batch descriptor truncated (%zu bytes)", len);
	if ((uint16_t)magic != FERRYD_DESC_MAGIC || ver != FERRYD_DESC_VERSION)
		return ferry_errf(-EBADMSG, err, errlen,
				  "batch descriptor: magic 0x%04x version %d, want 0x%04x version %d",
				  (uint16_t)magic, ver, FERRYD_DESC_MAGIC, FERRYD_DESC_VERSION);
	if (kind != FERRYD_DESC_DATA && kind != FERRYD_DESC_SKIP)
		return ferry_errf(-EBADMSG, err, errlen, "batch descriptor: unknown kind %d", kind);
	if ((exact != 0 && exact != 1) || pad != 0)
		return ferry_errf(-EBADMSG, err, errlen, "batch descriptor: flags %d/%d", exact, pad);
	if (tl <= 0 || tl > FERRYD_TOPIC_MAX)
		return ferry_errf(-EBADMSG, err, errlen, "batch descriptor: topic length %d", tl);
	if (d->partition < 0 || d->src_first < 0 || d->src_last < d->src_first)
		return ferry_errf(-EBADMSG, err, errlen,
				  "batch descriptor: partition %d offsets %lld..%lld", d->partition,
				  (long long)d->src_first, (long long)d->src_last);
	if (d->n_drops > FERRYD_DESC_DROPS_MAX)
		return ferry_errf(-EBADMSG, err, errlen, "batch descriptor: %u dropped offsets",
				  d->n_drops);
	d->kind = (uint8_t)kind;
	d->drops_exact = exact != 0;
	d->topic_len = (uint16_t)tl;
	d->generation = (uint64_t)gen;
	if (!ferry_rd_need(&rd, (size_t)tl + (size_t)d->n_drops * 4))
		return ferry_errf(-EBADMSG, err, errlen, "batch descriptor: topic or drops truncated");
	d->topic = (const char *)(rd.p + rd.off);
	ferry_rd_skip(&rd, (size_t)tl);
	d->drops = rd.p + rd.off;
	for (uint32_t i = 0; i < d->n_drops; i++) {
		uint32_t delta = ferry_be32(d->drops + 4 * i);
		if ((int64_t)delta > d->src_last - d->src_first ||
		    (i > 0 && delta <= ferry_be32(d->drops + 4 * (i - 1))))
			return ferry_errf(-EBADMSG, err, errlen,
					  "batch descriptor: dropped offset delta %u out of order or "
					  "range", delta);
	}
	ferry_rd_skip(&rd, (size_t)d->n_drops * 4);
	d->batch = (struct ferry_span){ .p = rd.p + rd.off, .len = ferry_rd_left(&rd) };
	if (d->kind == FERRYD_DESC_SKIP && d->batch.len != 0)
		return ferry_errf(-EBADMSG, err, errlen, "batch descriptor: SKIP carries %zu bytes",
				  d->batch.len);
	if (d->kind == FERRYD_DESC_DATA && d->batch.len == 0)
		return ferry_errf(-EBADMSG, err, errlen, "batch descriptor: DATA without a batch");
	return 0;
}

int
ferryd_msg_encode(const struct ferryd_msg *m, uint8_t *out, size_t cap)
{
	struct ferry_wr w;
	size_t need = FERRYD_MSG_HDR;

	if (m->n > FERRYD_MSG_MAX_POS)
		return -EINVAL;
	for (unsigned i = 0; i < m->n; i++) {
		if (m->pos[i].topic.len == 0 || m->pos[i].topic.len > FERRYD_TOPIC_MAX)
			return -EINVAL;
		need += ferryd_pos_size(m->pos[i].topic.len);
	}
	if (need > cap)
		return -ENOSPC;
	ferry_wr_init(&w, out, cap);
	ferry_wr_i8(&w, (int8_t)m->type);
	ferry_wr_i8(&w, (int8_t)m->flags);
	ferry_wr_i16(&w, (int16_t)m->n);
	for (unsigned i = 0; i < m->n; i++) {
		ferry_wr_i16(&w, (int16_t)m->pos[i].topic.len);
		ferry_wr_raw(&w, m->pos[i].topic.p, m->pos[i].topic.len);
		ferry_wr_i32(&w, m->pos[i].partition);
		ferry_wr_i64(&w, m->pos[i].offset);
	}
	return (int)need;
}

int
ferryd_msg_decode(const uint8_t *p, size_t len, struct ferryd_msg *m, char *err, size_t errlen)
{
	struct ferry_rd rd;
	int8_t type, flags;
	int16_t n;

	ferry_rd_init(&rd, p, len);
	if (!ferry_rd_i8(&rd, &type) || !ferry_rd_i8(&rd, &flags) || !ferry_rd_i16(&rd, &n))
		return ferry_errf(-EBADMSG, err, errlen, "control message truncated (%zu bytes)", len);
	if (type != FERRYD_MSG_RESUME && type != FERRYD_MSG_COMMIT)
		return ferry_errf(-EBADMSG, err, errlen, "control message: unknown type %d", type);
	if (n < 0 || n > FERRYD_MSG_MAX_POS)
		return ferry_errf(-EBADMSG, err, errlen, "control message: %d positions", n);
	m->type = (uint8_t)type;
	m->flags = (uint8_t)flags;
	m->n = (uint16_t)n;
	for (int i = 0; i < n; i++) {
		struct ferryd_pos *ps = &m->pos[i];
		int16_t tl;
		if (!ferry_rd_i16(&rd, &tl) || tl <= 0 || tl > FERRYD_TOPIC_MAX ||
		    !ferry_rd_need(&rd, (size_t)tl))
			return ferry_errf(-EBADMSG, err, errlen,
					  "control message: position %d: bad topic", i);
		ps->topic = (struct ferry_span){ .p = rd.p + rd.off, .len = (size_t)tl };
		ferry_rd_skip(&rd, (size_t)tl);
		if (!ferry_rd_i32(&rd, &ps->partition) || !ferry_rd_i64(&rd, &ps->offset))
			return ferry_errf(-EBADMSG, err, errlen,
					  "control message: position %d truncated", i);
		if (ps->partition < 0 || ps->offset < 0)
			return ferry_errf(-EBADMSG, err, errlen,
					  "control message: position %d: partition %d offset %lld", i,
					  ps->partition, (long long)ps->offset);
	}
	if (ferry_rd_left(&rd) != 0)
		return ferry_errf(-EBADMSG, err, errlen, "control message: %zu trailing bytes",
				  ferry_rd_left(&rd));
	return 0;
}
