/*
 * msg_sasl.c - body codecs of the two APIs that authenticate a SASL_PLAINTEXT or
 * SASL_SSL connection before anything else is sent on it: SaslHandshake (ApiKey 17,
 * v0-1, never flexible) and SaslAuthenticate (36, v0-2, flexible from v2). Requests
 * and responses, encode and decode. The SASL mechanisms themselves (PLAIN, SCRAM) are
 * not the codec's business: it carries their tokens as opaque bytes.
 *
 * Any thread; no state: everything lives in the reader/writer, arena and message
 * passed in.
 * Spec: apache/kafka clients/src/main/resources/common/message/
 * SaslHandshake{Request,Response}.json, SaslAuthenticate{Request,Response}.json
 * (KIP-43, KIP-152 for SaslAuthenticate, KIP-368 for SessionLifetimeMs);
 * kafka-wire-facts.md §1.3-1.4. No field of these versions is tagged: every tag
 * section is skipped by size.
 */
#include <string.h>

#include "ferry/kafka.h"
#include "msg_int.h"

/* ---- SaslHandshake (17) ------------------------------------------------------------------- */

int
ferry_kafka_sasl_handshake_req_encode(struct ferry_wr *w, int16_t ver,
				      const struct ferry_kafka_sasl_handshake_req *m)
{
	if (!FERRY_MSG_VER_OK(SASL_HANDSHAKE, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	/* Mechanism is a STRING, not a NULLABLE_STRING. */
	if (m->Mechanism.p == NULL)
		return FERRY_ERR__INVALID_ARG;
	ferry_wr_str(w, false, m->Mechanism);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_sasl_handshake_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				      struct ferry_kafka_sasl_handshake_req *m)
{
	(void)a; /* no arrays */
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(SASL_HANDSHAKE, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_str(rd, false, false, &m->Mechanism))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

int
ferry_kafka_sasl_handshake_resp_encode(struct ferry_wr *w, int16_t ver,
				       const struct ferry_kafka_sasl_handshake_resp *m)
{
	size_t start = w->len;
	bool ovf = w->overflow;

	if (!FERRY_MSG_VER_OK(SASL_HANDSHAKE, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (!ferry_msg_arr_ok(m->n_mechanisms, m->Mechanisms, false))
		return FERRY_ERR__INVALID_ARG;

	ferry_wr_i16(w, m->ErrorCode);
	/* Mechanisms is []string: neither the array nor its strings are nullable. */
	ferry_wr_array(w, false, m->n_mechanisms);
	for (int32_t i = 0; i < m->n_mechanisms; i++) {
		if (m->Mechanisms[i].p == NULL)
			return ferry_msg_enc_fail(w, start, ovf, FERRY_ERR__INVALID_ARG);
		ferry_wr_str(w, false, m->Mechanisms[i]);
	}
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_sasl_handshake_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				       struct ferry_kafka_sasl_handshake_resp *m)
{
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(SASL_HANDSHAKE, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_i16(rd, &m->ErrorCode))
		goto err_parse;
	/* each element is at least an int16 length */
	if (!ferry_rd_array(rd, false, false, 2, &m->n_mechanisms))
		goto err_parse;
	m->Mechanisms = ferry_arena_alloc(a, (size_t)m->n_mechanisms, sizeof(*m->Mechanisms));
	if (m->Mechanisms == NULL)
		return ferry_msg_dec_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < m->n_mechanisms; i++)
		if (!ferry_rd_str(rd, false, false, &m->Mechanisms[i]))
			goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

/* ---- SaslAuthenticate (36) ---------------------------------------------------------------- */

int
ferry_kafka_sasl_authenticate_req_encode(struct ferry_wr *w, int16_t ver,
					 const struct ferry_kafka_sasl_authenticate_req *m)
{
	bool flex = FERRY_MSG_FLEX(SASL_AUTHENTICATE, ver);

	if (!FERRY_MSG_VER_OK(SASL_AUTHENTICATE, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	/* AuthBytes is BYTES (COMPACT_BYTES in v2), not nullable. */
	if (m->AuthBytes.p == NULL)
		return FERRY_ERR__INVALID_ARG;
	ferry_wr_bytes(w, flex, m->AuthBytes);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_sasl_authenticate_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					 struct ferry_kafka_sasl_authenticate_req *m)
{
	bool flex = FERRY_MSG_FLEX(SASL_AUTHENTICATE, ver);

	(void)a;
	memset(m, 0, sizeof(*m));
	if (!FERRY_MSG_VER_OK(SASL_AUTHENTICATE, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_bytes(rd, flex, false, &m->AuthBytes))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}

int
ferry_kafka_sasl_authenticate_resp_encode(struct ferry_wr *w, int16_t ver,
					  const struct ferry_kafka_sasl_authenticate_resp *m)
{
	bool flex = FERRY_MSG_FLEX(SASL_AUTHENTICATE, ver);

	if (!FERRY_MSG_VER_OK(SASL_AUTHENTICATE, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (m->AuthBytes.p == NULL)
		return FERRY_ERR__INVALID_ARG;
	/* SessionLifetimeMs (v1+, KIP-368) has no "ignorable": a lifetime the broker cannot
	 * send in v0 is refused, as the Java generator does, not silently dropped. */
	if (ver < 1 && m->SessionLifetimeMs != 0)
		return FERRY_ERR__INVALID_ARG;
	ferry_wr_i16(w, m->ErrorCode);
	ferry_wr_str(w, flex, m->ErrorMessage); /* nullable in every version */
	ferry_wr_bytes(w, flex, m->AuthBytes);
	if (ver >= 1)
		ferry_wr_i64(w, m->SessionLifetimeMs);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_sasl_authenticate_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
					  struct ferry_kafka_sasl_authenticate_resp *m)
{
	bool flex = FERRY_MSG_FLEX(SASL_AUTHENTICATE, ver);

	(void)a;
	memset(m, 0, sizeof(*m)); /* SessionLifetimeMs default 0 for v0 */
	if (!FERRY_MSG_VER_OK(SASL_AUTHENTICATE, ver))
		return ferry_msg_dec_fail(rd, FERRY_ERR__UNSUPPORTED_VERSION);

	if (!ferry_rd_i16(rd, &m->ErrorCode))
		goto err_parse;
	if (!ferry_rd_str(rd, flex, true, &m->ErrorMessage))
		goto err_parse;
	if (!ferry_rd_bytes(rd, flex, false, &m->AuthBytes))
		goto err_parse;
	if (ver >= 1 && !ferry_rd_i64(rd, &m->SessionLifetimeMs))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;

err_parse:
	return rd->err ? rd->err : FERRY_ERR__TRUNCATED;
}
