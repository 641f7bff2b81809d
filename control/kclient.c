/*
 * kclient.c - blocking Kafka client for the control plane and tests
 * (see kclient.h). One thread per client; calls block up to timeout_ms.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kclient.h"

#define KCLIENT_MAX_FRAME (128u * 1024 * 1024)

static int
grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (*cap >= need)
		return 0;
	size_t ncap = *cap ? *cap : 65536;
	while (ncap < need)
		ncap *= 2;
	uint8_t *n = realloc(*buf, ncap);
	if (n == NULL)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	return 0;
}

static int
split_hostport(const char *hostport, char *host, size_t hlen, char *port, size_t plen)
{
	/* first entry of a comma-separated bootstrap list */
	const char *end = strchr(hostport, ',');
	size_t len = end ? (size_t)(end - hostport) : strlen(hostport);
	const char *colon = NULL;
	for (size_t i = 0; i < len; i++)
		if (hostport[i] == ':')
			colon = hostport + i;
	if (colon == NULL || (size_t)(colon - hostport) >= hlen ||
	    len - (size_t)(colon - hostport) - 1 >= plen || colon == hostport)
		return -EINVAL;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	memcpy(port, colon + 1, len - (size_t)(colon - hostport) - 1);
	port[len - (size_t)(colon - hostport) - 1] = '\0';
	return 0;
}

static int
tcp_connect(struct ferry_kclient *kc, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(kc->host, kc->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "resolve %s:%s: %s", kc->host, kc->port, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	int fd = -1, last = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		struct timeval tv = { kc->timeout_ms / 1000, (kc->timeout_ms % 1000) * 1000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "connect %s:%s: %s", kc->host, kc->port, strerror(last));
		return -last;
	}
	kc->fd = fd;
	return 0;
}

static void
sock_close(struct ferry_kclient *kc)
{
	if (kc->fd >= 0)
		close(kc->fd);
	kc->fd = -1;
}

static int
send_all(struct ferry_kclient *kc, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	while (n > 0) {
		ssize_t w = send(kc->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "send to %s:%s: %s", kc->host, kc->port, strerror(errno));
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		kc->bytes_out += (uint64_t)w;
	}
	return 0;
}

/* Read exactly n bytes; -EPIPE on a clean close by the peer. */
static int
recv_all(struct ferry_kclient *kc, uint8_t *p, size_t n, char *err, size_t errlen)
{
	while (n > 0) {
		ssize_t r = recv(kc->fd, p, n, 0);
		if (r == 0) {
			snprintf(err, errlen, "%s:%s closed the connection", kc->host, kc->port);
			return -EPIPE;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno == EAGAIN ? ETIMEDOUT : errno;
			snprintf(err, errlen, "recv from %s:%s: %s", kc->host, kc->port, strerror(e));
			return -e;
		}
		p += r;
		n -= (size_t)r;
		kc->bytes_in += (uint64_t)r;
	}
	return 0;
}

int
ferry_kclient_send(struct ferry_kclient *kc, int16_t api, int16_t ver, const void *req,
		   int32_t *corr, char *err, size_t errlen)
{
	struct ferry_kafka_reqhdr h = { api, ver, kc->next_corr++, ferry_span_str(kc->client_id) };
	*corr = h.CorrelationId;
	/* Encode, growing the buffer until the request fits. */
	for (;;) {
		if (grow(&kc->wbuf, &kc->wcap, kc->wcap ? kc->wcap : 65536) < 0)
			return -ENOMEM;
		struct ferry_wr w;
		ferry_wr_init(&w, kc->wbuf, kc->wcap);
		int rc = ferry_kafka_request_encode(&w, &h, req);
		if (rc == FERRY_ERR__NOSPACE && kc->wcap < KCLIENT_MAX_FRAME) {
			if (grow(&kc->wbuf, &kc->wcap, kc->wcap * 2) < 0)
				return -ENOMEM;
			continue;
		}
		if (rc < 0) {
			snprintf(err, errlen, "encode %s v%d request: %s", ferry_kafka_api_name(api), ver,
				 ferry_err_desc(rc));
			return rc;
		}
		return send_all(kc, kc->wbuf, w.len, err, errlen);
	}
}

/* Receive one response frame into rbuf; returns its body. */
static int
recv_frame(struct ferry_kclient *kc, struct ferry_span *body, char *err, size_t errlen)
{
	uint8_t szb[4];
	int rc = recv_all(kc, szb, 4, err, errlen);
	if (rc < 0)
		return rc;
	int32_t size = (int32_t)ferry_be32(szb);
	if (size < 4 || (uint32_t)size > KCLIENT_MAX_FRAME) {
		snprintf(err, errlen, "%s:%s sent a frame of %d bytes", kc->host, kc->port, size);
		return FERRY_ERR__BAD_LENGTH;
	}
	if (grow(&kc->rbuf, &kc->rcap, (size_t)size) < 0)
		return -ENOMEM;
	rc = recv_all(kc, kc->rbuf, (size_t)size, err, errlen);
	if (rc < 0)
		return rc;
	*body = ferry_span_make(kc->rbuf, (size_t)size);
	return 0;
}

int
ferry_kclient_call(struct ferry_kclient *kc, int16_t api, int16_t ver, const void *req, void *resp,
		   struct ferry_arena *a, char *err, size_t errlen)
{
	int32_t corr;
	int rc = ferry_kclient_send(kc, api, ver, req, &corr, err, errlen);
	if (rc < 0)
		return rc;
	struct ferry_span body;
	rc = recv_frame(kc, &body, err, errlen);
	if (rc < 0)
		return rc;
	return ferry_kafka_response_decode(body, api, ver, corr, a, resp, err, errlen);
}

static int
negotiate(struct ferry_kclient *kc, char *err, size_t errlen)
{
	static uint8_t mem[256 * 1024];
	int16_t ver = 3;
	for (int attempt = 0; attempt < 4; attempt++) {
		struct ferry_arena a;
		ferry_arena_init(&a, mem, sizeof(mem));
		struct ferry_kafka_api_versions_req req = { ferry_span_str("ferry"),
							    ferry_span_str("0.1.0") };
		struct ferry_kafka_api_versions_resp resp;
		int rc = ferry_kclient_call(kc, FERRY_KAFKA_API_VERSIONS, ver, &req, &resp, &a, err,
					    errlen);
		if (rc == -EPIPE && ver > 0) {
			/* §1.6: a broker that does not know the version may just hang up. */
			sock_close(kc);
			if ((rc = tcp_connect(kc, err, errlen)) < 0)
				return rc;
			ver = ver == 3 ? 2 : 0;
			continue;
		}
		if (rc < 0)
			return rc;
		if (resp.ErrorCode == FERRY_ERR_UNSUPPORTED_VERSION && ver > 0) {
			int16_t next = 0;
			for (int32_t i = 0; i < resp.n_api_keys; i++)
				if (resp.ApiKeys[i].ApiKey == FERRY_KAFKA_API_VERSIONS)
					next = resp.ApiKeys[i].MaxVersion;
			ver = next < ver ? next : (int16_t)(ver - 1);
			if (ver < 0)
				ver = 0;
			continue;
		}
		if (resp.ErrorCode != 0) {
			snprintf(err, errlen, "ApiVersions v%d: broker error %s", ver,
				 ferry_err_name(resp.ErrorCode));
			return resp.ErrorCode;
		}
		free(kc->versions.ApiKeys);
		kc->versions = resp;
		kc->versions.ApiKeys = NULL;
		if (resp.n_api_keys > 0) {
			kc->versions.ApiKeys = calloc((size_t)resp.n_api_keys, sizeof(*resp.ApiKeys));
			if (kc->versions.ApiKeys == NULL)
				return -ENOMEM;
			memcpy(kc->versions.ApiKeys, resp.ApiKeys,
			       (size_t)resp.n_api_keys * sizeof(*resp.ApiKeys));
		}
		kc->api_versions_ver = ver;
		return 0;
	}
	snprintf(err, errlen, "ApiVersions: no version accepted by %s:%s", kc->host, kc->port);
	return FERRY_ERR__NO_COMMON_VERSION;
}

int
ferry_kclient_connect(struct ferry_kclient *kc, const char *hostport, const char *client_id,
		      int timeout_ms, char *err, size_t errlen)
{
	memset(kc, 0, sizeof(*kc));
	kc->fd = -1;
	kc->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	kc->next_corr = 1;
	snprintf(kc->client_id, sizeof(kc->client_id), "%s", client_id ? client_id : "ferry");
	if (split_hostport(hostport, kc->host, sizeof(kc->host), kc->port, sizeof(kc->port)) < 0) {
		snprintf(err, errlen, "bad broker address '%s' (want host:port)", hostport);
		return -EINVAL;
	}
	int rc = tcp_connect(kc, err, errlen);
	if (rc < 0)
		return rc;
	rc = negotiate(kc, err, errlen);
	if (rc < 0)
		ferry_kclient_close(kc);
	return rc;
}

void
ferry_kclient_close(struct ferry_kclient *kc)
{
	sock_close(kc);
	free(kc->wbuf);
	free(kc->rbuf);
	free(kc->versions.ApiKeys);
	kc->wbuf = kc->rbuf = NULL;
	kc->wcap = kc->rcap = 0;
	kc->versions.ApiKeys = NULL;
	kc->versions.n_api_keys = 0;
}

int
ferry_kclient_version(const struct ferry_kclient *kc, int16_t api)
{
	return ferry_kafka_pick_version(&kc->versions, api);
}

int
ferry_kclient_fetch_partition(struct ferry_kclient *kc, const char *topic, int32_t partition,
			      int64_t offset, int8_t isolation, int32_t max_bytes, int32_t max_wait_ms,
			      struct ferry_arena *a, struct ferry_kafka_fetch_resp_part **part,
			      char *err, size_t errlen)
{
	int ver = ferry_kclient_version(kc, FERRY_KAFKA_FETCH);
	if (ver < 0) {
		snprintf(err, errlen, "%s:%s speaks no Fetch version ferry supports (v4-v12)",
			 kc->host, kc->port);
		return ver;
	}
	struct ferry_kafka_fetch_req_part p = { partition, -1, offset, -1, -1, max_bytes };
	struct ferry_kafka_fetch_req_topic t = { ferry_span_str(topic), 1, &p };
	struct ferry_kafka_fetch_req req = {
		.ReplicaId = -1, .MaxWaitMs = max_wait_ms, .MinBytes = 1, .MaxBytes = max_bytes,
		.IsolationLevel = isolation, .SessionEpoch = -1, .n_topics = 1, .Topics = &t,
		.RackId = ferry_span_str(""),
	};
	struct ferry_kafka_fetch_resp resp;
	int rc = ferry_kclient_call(kc, FERRY_KAFKA_FETCH, (int16_t)ver, &req, &resp, a, err, errlen);
	if (rc < 0)
		return rc;
	if (resp.ErrorCode)
		return resp.ErrorCode;
	if (resp.n_topics < 1 || resp.Responses[0].n_partitions < 1) {
		snprintf(err, errlen, "Fetch v%d: the answer holds no partition", ver);
		return FERRY_ERR__BAD_COUNT;
	}
	*part = &resp.Responses[0].Partitions[0];
	return (*part)->ErrorCode;
}

int
ferry_kclient_produce_batch(struct ferry_kclient *kc, const char *topic, int32_t partition,
			    struct ferry_span batch, int16_t acks, int64_t *base_offset, char *err,
			    size_t errlen)
{
	static uint8_t mem[1 << 16];
	int ver = ferry_kclient_version(kc, FERRY_KAFKA_PRODUCE);
	if (ver < 0) {
		snprintf(err, errlen, "%s:%s speaks no Produce version ferry supports (v3-v9)",
			 kc->host, kc->port);
		return ver;
	}
	struct ferry_kafka_produce_req_part p = { partition, batch };
	struct ferry_kafka_produce_req_topic t = { ferry_span_str(topic), 1, &p };
	struct ferry_kafka_produce_req req = { { NULL, 0 }, acks, 10000, 1, &t };
	*base_offset = -1;
	if (acks == 0) {
		/* §1.1: Acks 0 gets no response at all. */
		int32_t corr;
		return ferry_kclient_send(kc, FERRY_KAFKA_PRODUCE, (int16_t)ver, &req, &corr, err,
					  errlen);
	}
	struct ferry_arena a;
	ferry_arena_init(&a, mem, sizeof(mem));
	struct ferry_kafka_produce_resp resp;
	int rc = ferry_kclient_call(kc, FERRY_KAFKA_PRODUCE, (int16_t)ver, &req, &resp, &a, err,
				    errlen);
	if (rc < 0)
		return rc;
	if (resp.n_topics < 1 || resp.Responses[0].n_partitions < 1) {
		snprintf(err, errlen, "Produce v%d: the answer holds no partition", ver);
		return FERRY_ERR__BAD_COUNT;
	}
	struct ferry_kafka_produce_resp_part *pr = &resp.Responses[0].PartitionResponses[0];
	*base_offset = pr->BaseOffset;
	return pr->ErrorCode;
}
