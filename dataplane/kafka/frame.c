/*
 * frame.c - Kafka framing: the int32 size prefix, request header v1/v2 and
 * response header v0/v1, and whole-frame encode/decode through the API table.
 *
 * Any thread; no state. Spec: RequestHeader.json / ResponseHeader.json,
 * kafka-wire-facts.md §1.1-1.2 (ApiVersions responses always use header v0).
 */
#include <stdio.h>

#include "ferry/kafka.h"

int
ferry_kafka_frame_split(struct ferry_span in, size_t max_frame, struct ferry_span *body,
			size_t *consumed)
{
	if (in.len < 4)
		return FERRY_ERR__PARTIAL;
	int32_t size = (int32_t)ferry_be32(in.p);
	/* Refuse absurd sizes before anyone sizes a buffer from them. */
	if (size < 0 || (size_t)size > max_frame)
		return FERRY_ERR__BAD_LENGTH;
	if (in.len - 4 < (size_t)size)
		return FERRY_ERR__PARTIAL;
	*body = ferry_span_make(in.p + 4, (size_t)size);
	*consumed = 4 + (size_t)size;
	return 0;
}

size_t
ferry_kafka_req_begin(struct ferry_wr *w, const struct ferry_kafka_reqhdr *h)
{
	size_t start = w->len;
	ferry_wr_i32(w, 0); /* size, patched by ferry_kafka_frame_end() */
	ferry_wr_i16(w, h->ApiKey);
	ferry_wr_i16(w, h->ApiVersion);
	ferry_wr_i32(w, h->CorrelationId);
	/* ClientId stays an int16-length nullable string even in header v2. */
	ferry_wr_str(w, false, h->ClientId);
	if (ferry_kafka_api_is_flexible(h->ApiKey, h->ApiVersion))
		ferry_wr_no_tags(w);
	return start;
}

/* KIP-511: ApiVersions responses use header v0 even when the body is flexible,
 * so a client can read them before it knows what the broker speaks. */
static bool
resp_hdr_is_v1(int16_t api_key, int16_t ver)
{
	return api_key != FERRY_KAFKA_API_VERSIONS && ferry_kafka_api_is_flexible(api_key, ver);
}

size_t
ferry_kafka_resp_begin(struct ferry_wr *w, int16_t api_key, int16_t ver, int32_t corr_id)
{
	size_t start = w->len;
	ferry_wr_i32(w, 0);
	ferry_wr_i32(w, corr_id);
	if (resp_hdr_is_v1(api_key, ver))
		ferry_wr_no_tags(w);
	return start;
}

int
ferry_kafka_frame_end(struct ferry_wr *w, size_t start)
{
	if (w->overflow)
		return FERRY_ERR__NOSPACE;
	size_t size = w->len - start - 4;
	if (size > INT32_MAX)
		return FERRY_ERR__BAD_LENGTH;
	ferry_put_be32(w->p + start, (uint32_t)size);
	return 0;
}

int
ferry_kafka_reqhdr_decode(struct ferry_rd *rd, struct ferry_kafka_reqhdr *h)
{
	if (!ferry_rd_i16(rd, &h->ApiKey) || !ferry_rd_i16(rd, &h->ApiVersion) ||
	    !ferry_rd_i32(rd, &h->CorrelationId))
		goto err_parse;
	if (!ferry_rd_str(rd, false, true, &h->ClientId))
		goto err_parse;
	if (ferry_kafka_api_is_flexible(h->ApiKey, h->ApiVersion) && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;
err_parse:
	return rd->err;
}

int
ferry_kafka_resphdr_decode(struct ferry_rd *rd, int16_t api_key, int16_t ver, int32_t *corr_id)
{
	if (!ferry_rd_i32(rd, corr_id))
		goto err_parse;
	if (resp_hdr_is_v1(api_key, ver) && !ferry_rd_tags(rd, NULL, NULL))
		goto err_parse;
	return 0;
err_parse:
	return rd->err;
}

int
ferry_kafka_request_encode(struct ferry_wr *w, const struct ferry_kafka_reqhdr *h, const void *msg)
{
	const struct ferry_kafka_api_info *api = ferry_kafka_api_get(h->ApiKey);
	if (api == NULL)
		return FERRY_ERR__BAD_API;
	if (h->ApiVersion < api->min_ver || h->ApiVersion > api->max_ver)
		return FERRY_ERR__UNSUPPORTED_VERSION;
	size_t start = ferry_kafka_req_begin(w, h);
	int rc = api->req_encode(w, h->ApiVersion, msg);
	if (rc < 0)
		return rc;
	return ferry_kafka_frame_end(w, start);
}

int
ferry_kafka_response_encode(struct ferry_wr *w, int16_t api_key, int16_t ver, int32_t corr_id,
			    const void *msg)
{
	const struct ferry_kafka_api_info *api = ferry_kafka_api_get(api_key);
	if (api == NULL)
		return FERRY_ERR__BAD_API;
	if (ver < api->min_ver || ver > api->max_ver)
		return FERRY_ERR__UNSUPPORTED_VERSION;
	size_t start = ferry_kafka_resp_begin(w, api_key, ver, corr_id);
	int rc = api->resp_encode(w, ver, msg);
	if (rc < 0)
		return rc;
	return ferry_kafka_frame_end(w, start);
}

static void
fmt_err(char *err, size_t errlen, const char *what, int16_t api_key, int16_t ver, int rc,
	const struct ferry_rd *rd)
{
	if (err == NULL || errlen == 0)
		return;
	if (rd && rd->err)
		snprintf(err, errlen, "%s v%d %s: %s (%s) at byte %zu of %zu",
			 ferry_kafka_api_name(api_key), ver, what, ferry_err_desc(rc),
			 ferry_err_name(rc), rd->err_off, rd->len);
	else
		snprintf(err, errlen, "%s v%d %s: %s (%s)", ferry_kafka_api_name(api_key), ver,
			 what, ferry_err_desc(rc), ferry_err_name(rc));
}

int
ferry_kafka_request_decode(struct ferry_span body, struct ferry_arena *a,
			   struct ferry_kafka_reqhdr *h, void *msg, char *err, size_t errlen)
{
	struct ferry_rd rd;
	ferry_rd_init(&rd, body.p, body.len);
	int rc = ferry_kafka_reqhdr_decode(&rd, h);
	if (rc < 0) {
		fmt_err(err, errlen, "request header", -1, 0, rc, &rd);
		return rc;
	}
	const struct ferry_kafka_api_info *api = ferry_kafka_api_get(h->ApiKey);
	if (api == NULL) {
		rc = FERRY_ERR__BAD_API;
		if (err && errlen)
			snprintf(err, errlen, "request: ApiKey %d is not implemented", h->ApiKey);
		return rc;
	}
	if (h->ApiVersion < api->min_ver || h->ApiVersion > api->max_ver) {
		rc = FERRY_ERR__UNSUPPORTED_VERSION;
		fmt_err(err, errlen, "request", h->ApiKey, h->ApiVersion, rc, NULL);
		return rc;
	}
	rc = api->req_decode(&rd, h->ApiVersion, a, msg);
	if (rc == 0 && ferry_rd_left(&rd) != 0) {
		ferry_rd_fail(&rd, FERRY_ERR__TRAILING);
		rc = FERRY_ERR__TRAILING;
	}
	if (rc < 0)
		fmt_err(err, errlen, "request", h->ApiKey, h->ApiVersion, rc, &rd);
	return rc;
}

int
ferry_kafka_response_decode(struct ferry_span body, int16_t api_key, int16_t ver,
			    int32_t expect_corr, struct ferry_arena *a, void *msg, char *err,
			    size_t errlen)
{
	const struct ferry_kafka_api_info *api = ferry_kafka_api_get(api_key);
	if (api == NULL) {
		fmt_err(err, errlen, "response", api_key, ver, FERRY_ERR__BAD_API, NULL);
		return FERRY_ERR__BAD_API;
	}
	if (ver < api->min_ver || ver > api->max_ver) {
		fmt_err(err, errlen, "response", api_key, ver, FERRY_ERR__UNSUPPORTED_VERSION, NULL);
		return FERRY_ERR__UNSUPPORTED_VERSION;
	}
	struct ferry_rd rd;
	ferry_rd_init(&rd, body.p, body.len);
	int32_t corr;
	int rc = ferry_kafka_resphdr_decode(&rd, api_key, ver, &corr);
	if (rc == 0 && corr != expect_corr) {
		rc = FERRY_ERR__CORRELATION;
		if (err && errlen)
			snprintf(err, errlen, "%s v%d response: correlation id %d, expected %d",
				 api->name, ver, corr, expect_corr);
		return rc;
	}
	if (rc == 0)
		rc = api->resp_decode(&rd, ver, a, msg);
	if (rc == 0 && ferry_rd_left(&rd) != 0) {
		ferry_rd_fail(&rd, FERRY_ERR__TRAILING);
		rc = FERRY_ERR__TRAILING;
	}
	if (rc < 0)
		fmt_err(err, errlen, "response", api_key, ver, rc, &rd);
	return rc;
}
