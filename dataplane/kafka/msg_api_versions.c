/*
 * msg_api_versions.c - ApiVersions (key 18) request and response bodies,
 * versions 0-3 (flexible from 3).
 *
 * Any thread; no state. Spec: ApiVersions{Request,Response}.json, KIP-511,
 * kafka-wire-facts.md §1.6 (including the UNSUPPORTED_VERSION fallback).
 */
#include "ferry/kafka.h"
#include "msg_int.h"

int
ferry_kafka_api_versions_req_encode(struct ferry_wr *w, int16_t ver,
				    const struct ferry_kafka_api_versions_req *m)
{
	if (!FERRY_MSG_VER_OK(API_VERSIONS, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	if (ver >= 3) {
		ferry_wr_str(w, true, m->ClientSoftwareName);
		ferry_wr_str(w, true, m->ClientSoftwareVersion);
		ferry_wr_no_tags(w);
	}
	return ferry_msg_enc_end(w);
}

int
ferry_kafka_api_versions_req_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				    struct ferry_kafka_api_versions_req *m)
{
	(void)a;
	if (!FERRY_MSG_VER_OK(API_VERSIONS, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	m->ClientSoftwareName = ferry_span_make(NULL, 0);
	m->ClientSoftwareVersion = ferry_span_make(NULL, 0);
	if (ver >= 3) {
		if (!ferry_rd_str(rd, true, false, &m->ClientSoftwareName))
			goto err_parse;
		if (!ferry_rd_str(rd, true, false, &m->ClientSoftwareVersion))
			goto err_parse;
		if (!ferry_rd_tags(rd, NULL, NULL))
			goto err_parse;
	}
	return 0;
err_parse:
	return rd->err;
}

int
ferry_kafka_api_versions_resp_encode(struct ferry_wr *w, int16_t ver,
				     const struct ferry_kafka_api_versions_resp *m)
{
	if (!FERRY_MSG_VER_OK(API_VERSIONS, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	/* An UNSUPPORTED_VERSION answer uses the v0 body so any client can read it. */
	bool flex = FERRY_MSG_FLEX(API_VERSIONS, ver) && m->ErrorCode != FERRY_ERR_UNSUPPORTED_VERSION;
	bool v0 = m->ErrorCode == FERRY_ERR_UNSUPPORTED_VERSION;
	ferry_wr_i16(w, m->ErrorCode);
	ferry_wr_array(w, flex, m->n_api_keys);
	for (int32_t i = 0; i < m->n_api_keys; i++) {
		ferry_wr_i16(w, m->ApiKeys[i].ApiKey);
		ferry_wr_i16(w, m->ApiKeys[i].MinVersion);
		ferry_wr_i16(w, m->ApiKeys[i].MaxVersion);
		if (flex)
			ferry_wr_no_tags(w);
	}
	if (ver >= 1 && !v0)
		ferry_wr_i32(w, m->ThrottleTimeMs);
	if (flex)
		ferry_wr_no_tags(w);
	return ferry_msg_enc_end(w);
}

static bool
rd_api_keys(struct ferry_rd *rd, bool flex, struct ferry_arena *a,
	    struct ferry_kafka_api_versions_resp *m)
{
	int32_t n;
	if (!ferry_rd_array(rd, flex, false, flex ? 7 : 6, &n))
		return false;
	m->ApiKeys = ferry_arena_alloc(a, (size_t)n, sizeof(*m->ApiKeys));
	if (m->ApiKeys == NULL)
		return ferry_rd_fail(rd, FERRY_ERR__NOMEM);
	for (int32_t i = 0; i < n; i++) {
		struct ferry_kafka_api_version_range *k = &m->ApiKeys[i];
		if (!ferry_rd_i16(rd, &k->ApiKey) || !ferry_rd_i16(rd, &k->MinVersion) ||
		    !ferry_rd_i16(rd, &k->MaxVersion))
			return false;
		if (flex && !ferry_rd_tags(rd, NULL, NULL))
			return false;
	}
	m->n_api_keys = n;
	return true;
}

int
ferry_kafka_api_versions_resp_decode(struct ferry_rd *rd, int16_t ver, struct ferry_arena *a,
				     struct ferry_kafka_api_versions_resp *m)
{
	if (!FERRY_MSG_VER_OK(API_VERSIONS, ver))
		return FERRY_ERR__UNSUPPORTED_VERSION;
	bool flex = FERRY_MSG_FLEX(API_VERSIONS, ver);
	m->n_api_keys = 0;
	m->ApiKeys = NULL;
	m->ThrottleTimeMs = 0;
	if (!ferry_rd_i16(rd, &m->ErrorCode))
		goto err_parse;
	if (m->ErrorCode == FERRY_ERR_UNSUPPORTED_VERSION) {
		/* §1.6: the broker answered in the v0 layout, listing (at least) its
		 * ApiVersions range. Keep what parses, ignore the rest, and let the
		 * caller retry with a version the broker speaks. */
		struct ferry_rd sub = *rd;
		size_t used = a->used;
		if (!rd_api_keys(&sub, false, a, m)) {
			a->used = used;
			m->n_api_keys = 0;
			m->ApiKeys = NULL;
		}
		rd->off = rd->len;
		return 0;
	}
	if (!rd_api_keys(rd, flex, a, m))
		goto err_parse;
	if (ver >= 1 && !ferry_rd_i32(rd, &m->ThrottleTimeMs))
		goto err_parse;
	if (flex && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;
err_parse:
	return rd->err;
}
