/*
 * api.c - the table of Kafka APIs ferry implements: version ranges, first
 * flexible version, and the body codecs, dispatched by ApiKey (the shape of
 * librdkafka's mock handler table, STYLE rule 9). Also version negotiation
 * against a broker's ApiVersions answer.
 *
 * Any thread; the table is read-only.
 */
#include "ferry/kafka.h"
#include "ferry/kafka_ctl.h"
#include "ferry/kafka_group.h"

/* Adapters from the typed body codecs to the table's generic signatures
 * (calling through a mismatched function pointer type would be undefined). */
#define FERRY_API_ADAPT(stem)                                                                      \
	static int stem##_req_enc(struct ferry_wr *w, int16_t v, const void *m)                    \
	{                                                                                          \
		return ferry_kafka_##stem##_req_encode(w, v, m);                                   \
	}                                                                                          \
	static int stem##_req_dec(struct ferry_rd *rd, int16_t v, struct ferry_arena *a, void *m) \
	{                                                                                          \
		return ferry_kafka_##stem##_req_decode(rd, v, a, m);                               \
	}                                                                                          \
	static int stem##_resp_enc(struct ferry_wr *w, int16_t v, const void *m)                   \
	{                                                                                          \
		return ferry_kafka_##stem##_resp_encode(w, v, m);                                  \
	}                                                                                          \
	static int stem##_resp_dec(struct ferry_rd *rd, int16_t v, struct ferry_arena *a, void *m) \
	{                                                                                          \
		return ferry_kafka_##stem##_resp_decode(rd, v, a, m);                              \
	}

FERRY_API_ADAPT(produce)
FERRY_API_ADAPT(fetch)
FERRY_API_ADAPT(list_offsets)
FERRY_API_ADAPT(metadata)
FERRY_API_ADAPT(offset_commit)
FERRY_API_ADAPT(offset_fetch)
FERRY_API_ADAPT(find_coordinator)
FERRY_API_ADAPT(api_versions)
FERRY_API_ADAPT(init_producer_id)
FERRY_API_ADAPT(add_partitions_to_txn)
FERRY_API_ADAPT(end_txn)
FERRY_API_ADAPT(sasl_handshake)
FERRY_API_ADAPT(sasl_authenticate)

#define FERRY_API_ENTRY(key, nm, stem, lo, hi, flex)                                               \
	{                                                                                          \
		.ApiKey = key, .name = nm, .min_ver = lo, .max_ver = hi, .flex_ver = flex,         \
		.req_size = sizeof(struct ferry_kafka_##stem##_req),                               \
		.resp_size = sizeof(struct ferry_kafka_##stem##_resp), .req_encode = stem##_req_enc, \
		.req_decode = stem##_req_dec, .resp_encode = stem##_resp_enc,                      \
		.resp_decode = stem##_resp_dec,                                                    \
	}

/* Version ranges come from the FERRY_KAFKA_<API>_VER_* constants (kafka-t.h and the
 * control-side headers), the same ones the body codecs check against. Kept in ApiKey
 * order (ferry_kafka_api_all() promises it; the response fuzzer's seeds select an API by
 * its index here, so tests/fuzz/make-seeds.c must be rerun when an entry is inserted). */
static const struct ferry_kafka_api_info ferry_kafka_apis[] = {
	FERRY_API_ENTRY(FERRY_KAFKA_PRODUCE, "Produce", produce, FERRY_KAFKA_PRODUCE_VER_MIN,
			FERRY_KAFKA_PRODUCE_VER_MAX, FERRY_KAFKA_PRODUCE_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_FETCH, "Fetch", fetch, FERRY_KAFKA_FETCH_VER_MIN,
			FERRY_KAFKA_FETCH_VER_MAX, FERRY_KAFKA_FETCH_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_LIST_OFFSETS, "ListOffsets", list_offsets,
			FERRY_KAFKA_LIST_OFFSETS_VER_MIN, FERRY_KAFKA_LIST_OFFSETS_VER_MAX,
			FERRY_KAFKA_LIST_OFFSETS_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_METADATA, "Metadata", metadata, FERRY_KAFKA_METADATA_VER_MIN,
			FERRY_KAFKA_METADATA_VER_MAX, FERRY_KAFKA_METADATA_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_OFFSET_COMMIT, "OffsetCommit", offset_commit,
			FERRY_KAFKA_OFFSET_COMMIT_VER_MIN, FERRY_KAFKA_OFFSET_COMMIT_VER_MAX,
			FERRY_KAFKA_OFFSET_COMMIT_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_OFFSET_FETCH, "OffsetFetch", offset_fetch,
			FERRY_KAFKA_OFFSET_FETCH_VER_MIN, FERRY_KAFKA_OFFSET_FETCH_VER_MAX,
			FERRY_KAFKA_OFFSET_FETCH_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_FIND_COORDINATOR, "FindCoordinator", find_coordinator,
			FERRY_KAFKA_FIND_COORDINATOR_VER_MIN, FERRY_KAFKA_FIND_COORDINATOR_VER_MAX,
			FERRY_KAFKA_FIND_COORDINATOR_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_SASL_HANDSHAKE, "SaslHandshake", sasl_handshake,
			FERRY_KAFKA_SASL_HANDSHAKE_VER_MIN, FERRY_KAFKA_SASL_HANDSHAKE_VER_MAX,
			FERRY_KAFKA_SASL_HANDSHAKE_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_API_VERSIONS, "ApiVersions", api_versions,
			FERRY_KAFKA_API_VERSIONS_VER_MIN, FERRY_KAFKA_API_VERSIONS_VER_MAX,
			FERRY_KAFKA_API_VERSIONS_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_INIT_PRODUCER_ID, "InitProducerId", init_producer_id,
			FERRY_KAFKA_INIT_PRODUCER_ID_VER_MIN, FERRY_KAFKA_INIT_PRODUCER_ID_VER_MAX,
			FERRY_KAFKA_INIT_PRODUCER_ID_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_ADD_PARTITIONS_TO_TXN, "AddPartitionsToTxn",
			add_partitions_to_txn, FERRY_KAFKA_ADD_PARTITIONS_TO_TXN_VER_MIN,
			FERRY_KAFKA_ADD_PARTITIONS_TO_TXN_VER_MAX,
			FERRY_KAFKA_ADD_PARTITIONS_TO_TXN_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_END_TXN, "EndTxn", end_txn, FERRY_KAFKA_END_TXN_VER_MIN,
			FERRY_KAFKA_END_TXN_VER_MAX, FERRY_KAFKA_END_TXN_VER_FLEX),
	FERRY_API_ENTRY(FERRY_KAFKA_SASL_AUTHENTICATE, "SaslAuthenticate", sasl_authenticate,
			FERRY_KAFKA_SASL_AUTHENTICATE_VER_MIN,
			FERRY_KAFKA_SASL_AUTHENTICATE_VER_MAX,
			FERRY_KAFKA_SASL_AUTHENTICATE_VER_FLEX),
};

#define N_APIS (sizeof(ferry_kafka_apis) / sizeof(ferry_kafka_apis[0]))

const struct ferry_kafka_api_info *
ferry_kafka_api_get(int16_t api_key)
{
	for (size_t i = 0; i < N_APIS; i++)
		if (ferry_kafka_apis[i].ApiKey == api_key)
			return &ferry_kafka_apis[i];
	return NULL;
}

const struct ferry_kafka_api_info *
ferry_kafka_api_all(size_t *n)
{
	*n = N_APIS;
	return ferry_kafka_apis;
}

const char *
ferry_kafka_api_name(int16_t api_key)
{
	/* Names of APIs ferry logs but does not implement (seen in ApiVersions answers). */
	static const char *const other[] = {
		[11] = "JoinGroup",	   [12] = "Heartbeat",	     [13] = "LeaveGroup",
		[14] = "SyncGroup",	   [15] = "DescribeGroups",  [16] = "ListGroups",
		[19] = "CreateTopics",	   [20] = "DeleteTopics",
		[21] = "DeleteRecords",	   [23] = "OffsetForLeaderEpoch",
		[25] = "AddOffsetsToTxn",  [27] = "WriteTxnMarkers", [28] = "TxnOffsetCommit",
		[29] = "DescribeAcls",	   [30] = "CreateAcls",	     [32] = "DescribeConfigs",
		[37] = "CreatePartitions", [44] = "IncrementalAlterConfigs",
	};
	const struct ferry_kafka_api_info *api = ferry_kafka_api_get(api_key);
	if (api)
		return api->name;
	if (api_key >= 0 && (size_t)api_key < sizeof(other) / sizeof(other[0]) && other[api_key])
		return other[api_key];
	return "Unknown";
}

bool
ferry_kafka_api_is_flexible(int16_t api_key, int16_t ver)
{
	const struct ferry_kafka_api_info *api = ferry_kafka_api_get(api_key);
	return api != NULL && ver >= api->flex_ver;
}

int
ferry_kafka_pick_version(const struct ferry_kafka_api_versions_resp *broker, int16_t api_key)
{
	const struct ferry_kafka_api_info *api = ferry_kafka_api_get(api_key);
	if (api == NULL)
		return FERRY_ERR__BAD_API;
	for (int32_t i = 0; i < broker->n_api_keys; i++) {
		const struct ferry_kafka_api_version_range *r = &broker->ApiKeys[i];
		if (r->ApiKey != api_key)
			continue;
		int16_t hi = r->MaxVersion < api->max_ver ? r->MaxVersion : api->max_ver;
		int16_t lo = r->MinVersion > api->min_ver ? r->MinVersion : api->min_ver;
		if (hi < lo)
			return FERRY_ERR__NO_COMMON_VERSION;
		return hi;
	}
	return FERRY_ERR__NO_COMMON_VERSION;
}
