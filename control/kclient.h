/*
 * kclient.h - a minimal blocking Kafka client over one TCP socket, built on
 * ferry's own codec: connect, ApiVersions negotiation, request/response calls.
 *
 * Used by ferryctl (the demo, fetch and produce commands) and by the
 * integration tests to speak the wire protocol to real brokers and to
 * librdkafka's mock cluster. It is control-plane code: one thread owns one
 * client, calls block (with timeouts) and it may allocate. The dataplane's
 * broker connections are io_uring based and live elsewhere.
 */
#ifndef FERRY_KCLIENT_H
#define FERRY_KCLIENT_H

#include "ferry/kafka.h"

struct ferry_kclient {
	int fd;
	int timeout_ms;
	int32_t next_corr;
	char host[256];
	char port[16];
	char client_id[64];
	/* What the broker advertised; ranges owned by the client. */
	struct ferry_kafka_api_versions_resp versions;
	int16_t api_versions_ver; /* the ApiVersions version the broker answered */
	uint8_t *wbuf;
	size_t wcap;
	uint8_t *rbuf; /* body of the last response; decoded spans point here */
	size_t rcap;
	uint64_t bytes_out, bytes_in;
};

/**
 * Connect to "host:port" (the first entry of a bootstrap list) and negotiate
 * versions: ApiVersions v3, falling back as the broker asks (UNSUPPORTED_VERSION
 * with its range, or a closed connection - what librdkafka's mock does).
 * @return 0, or a negative ferry_err / -errno with a message in err.
 */
int ferry_kclient_connect(struct ferry_kclient *kc, const char *hostport, const char *client_id,
			  int timeout_ms, char *err, size_t errlen);

/** Close the socket and free the buffers. */
void ferry_kclient_close(struct ferry_kclient *kc);

/** Highest version of api both sides speak, or a negative ferry_err. */
int ferry_kclient_version(const struct ferry_kclient *kc, int16_t api);

/**
 * One request/response exchange at version ver. resp is decoded into 'a';
 * its spans stay valid until the next call on this client.
 */
int ferry_kclient_call(struct ferry_kclient *kc, int16_t api, int16_t ver, const void *req,
		       void *resp, struct ferry_arena *a, char *err, size_t errlen);

/**
 * Fetch one partition from 'offset' at the negotiated Fetch version: a sessionless
 * fetch (SessionId 0, epoch -1), no leader-epoch fencing, RackId "". PartitionMaxBytes
 * and MaxBytes are both max_bytes. On return *part points into the decoded response
 * (valid until the next call). Returns 0, a negative ferry_err / -errno (message in
 * err), or the broker's Kafka error code (> 0) from the top level or the partition.
 */
int ferry_kclient_fetch_partition(struct ferry_kclient *kc, const char *topic, int32_t partition,
				  int64_t offset, int8_t isolation, int32_t max_bytes,
				  int32_t max_wait_ms, struct ferry_arena *a,
				  struct ferry_kafka_fetch_resp_part **part, char *err, size_t errlen);

/**
 * Produce one record batch to one partition at the negotiated Produce version, not
 * transactional, TimeoutMs 10000. With acks 0 nothing is awaited (*base_offset = -1).
 * Returns 0 with *base_offset set, a negative ferry_err / -errno, or the partition's
 * Kafka error code (> 0).
 */
int ferry_kclient_produce_batch(struct ferry_kclient *kc, const char *topic, int32_t partition,
				struct ferry_span batch, int16_t acks, int64_t *base_offset, char *err,
				size_t errlen);

/** Send a request without waiting for an answer (Produce with Acks 0). */
int ferry_kclient_send(struct ferry_kclient *kc, int16_t api, int16_t ver, const void *req,
		       int32_t *corr, char *err, size_t errlen);

#endif /* FERRY_KCLIENT_H */
