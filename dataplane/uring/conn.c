/*
 * conn.c - the io_uring side of the broker data path: the ring, broker
 * connections (non-blocking connect with a linked timeout, ApiVersions
 * negotiation, pipelined requests matched by correlation id, reconnect with
 * capped exponential backoff, clean close), receive buffers and framing, and
 * the poll loop that drives fetch.c and produce.c.
 *
 * Thread: the owner of the struct ferry_uring (@locality owner thread).
 * Owns: the ring, sockets, the receive buffer pool, per-connection send
 * buffers and request rings. Allocates only in ferry_uring_new().
 *
 * Receive buffers (no copy of batch bytes after the kernel's): a connection
 * receives into one large buffer and responses are parsed where they land.
 * A frame is never allowed to straddle the end of a buffer: every frame must
 * start at or below L = size - max_frame (max_frame = size / 2), and the
 * receive length is cut so that bytes at or above L belong to the frame in
 * progress. When the next frame would start above L the connection moves to
 * a fresh buffer (or rewinds the same one when nobody holds it). Fetch events
 * hold a reference on the buffer until the owner releases it; when every
 * buffer is held the connection stops receiving (back-pressure), it does not
 * allocate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "uring_int.h"

static const char *const stat_names[] = {
#define FERRY_URING_STAT_NAME(n, d) #n,
	FERRY_URING_FOREACH_STAT(FERRY_URING_STAT_NAME)
#undef FERRY_URING_STAT_NAME
};
static const char *const stat_help[] = {
#define FERRY_URING_STAT_HELP(n, d) d,
	FERRY_URING_FOREACH_STAT(FERRY_URING_STAT_HELP)
#undef FERRY_URING_STAT_HELP
};

const char *
ferry_uring_stat_name(enum ferry_uring_stat s)
{
	return s < FERRY_URING_ST__COUNT ? stat_names[s] : "?";
}

const char *
ferry_uring_stat_help(enum ferry_uring_stat s)
{
	return s < FERRY_URING_ST__COUNT ? stat_help[s] : "?";
}

void
ferry_uring_stats(const struct ferry_uring *ur, uint64_t *st)
{
	memcpy(st, ur->st, sizeof(ur->st));
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
ferry_uring_conf_defaults(struct ferry_uring_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->client_id = "ferry";
	c->ring_entries = 256;
	c->connect_timeout_ms = 10000;
	c->request_timeout_ms = 30000;
	c->backoff_min_ms = 100;
	c->backoff_max_ms = 10000;
	c->rx_buf_size = 8u << 20;
	c->max_brokers = 64;
	c->max_parts = 1024;
	c->max_inflight_conn = 32;
	c->tx_buf_size = 256u << 10;
	c->isolation_level = 0;
	c->fetch_max_wait_ms = 500;
	c->fetch_min_bytes = 1;
	c->fetch_max_bytes = 2 << 20;
	c->partition_max_bytes = 1 << 20;
	c->fetch_depth = 2;
	c->fetch_max_unreleased = 4;
	c->produce_timeout_ms = 30000;
	c->produce_max_inflight = FERRY_URING_MAX_INFLIGHT_PER_PART;
	c->produce_queue = 64;
	c->idempotent = true;
	c->transactional_id = NULL;
	c->transaction_timeout_ms = 60000;
	c->tls_verify_host = true;
}

/* ---- receive buffers ------------------------------------------------------------------------ */

static int32_t
buf_take(struct ferry_uring *ur)
{
	int32_t i = ur->free_buf;

	if (i < 0)
		return -1;
	ur->free_buf = ur->bufs[i].next_free;
	ur->bufs[i].refs = 1;
	return i;
}

static void
buf_put(struct ferry_uring *ur, int32_t i)
{
	struct ferry_urbuf *rb = &ur->bufs[i];

	if (rb->refs == 0)
		return; /* a double release is the owner's bug; refuse to corrupt the list */
	if (--rb->refs == 0) {
		rb->next_free = ur->free_buf;
		ur->free_buf = i;
		ur->buf_freed = true;
	}
}

void
ferry_uring_release(struct ferry_uring *ur, uint32_t ref)
{
	uint32_t buf = ref & FERRY_URING_REF_BUF_MASK, part = ref >> FERRY_URING_REF_PART_SHIFT;

	if (buf >= ur->n_bufs || part >= ur->conf.max_parts)
		return;
	if (ur->parts[part].unreleased > 0)
		ur->parts[part].unreleased--;
	buf_put(ur, (int32_t)buf);
}

/* ---- instance ------------------------------------------------------------------------------- */

struct ferry_uring *
ferry_uring_new(const struct ferry_uring_conf *conf, ferry_uring_event_cb cb, void *arg, char *err,
		size_t errlen)
{
	struct ferry_uring *ur;
	struct ferry_uring_conf c = *conf;
	int rc;

	if (cb == NULL || c.max_brokers == 0 || c.max_parts == 0 || c.max_inflight_conn == 0 ||
	    c.rx_buf_size < (64u << 10) || c.tx_buf_size < 4096 || c.produce_queue == 0 ||
	    c.produce_max_inflight == 0 || c.produce_max_inflight > FERRY_URING_MAX_INFLIGHT_PER_PART ||
	    c.fetch_depth == 0 || c.fetch_depth > 4 || c.fetch_max_bytes <= 0 ||
	    c.partition_max_bytes <= 0) {
		snprintf(err, errlen, "uring: invalid configuration (a size or count out of range)");
		errno = EINVAL;
		return NULL;
	}
	/* A Fetch answer may exceed MaxBytes by one batch (KIP-74); keep a margin of 1 MiB
	 * or a quarter of the frame limit for it and the response framing. */
	if ((size_t)c.fetch_max_bytes + (c.rx_buf_size / 8) > c.rx_buf_size / 2 ||
	    c.partition_max_bytes > c.fetch_max_bytes) {
		snprintf(err, errlen,
			 "uring: fetch.max.bytes %d must stay below 3/8 of the receive buffer (%zu) "
			 "and max.partition.fetch.bytes (%d) below it",
			 c.fetch_max_bytes, c.rx_buf_size, c.partition_max_bytes);
		errno = EINVAL;
		return NULL;
	}
	if (c.client_id == NULL)
		c.client_id = "ferry";
	/* KIP-98: a transactional producer is idempotent; the id is a Kafka STRING */
	if (c.transactional_id != NULL &&
	    (!c.idempotent || c.transactional_id[0] == '\0' || strlen(c.transactional_id) > 32767 ||
	     c.transaction_timeout_ms <= 0)) {
		snprintf(err, errlen,
			 "uring: transactional.id needs enable.idempotence, 1 to 32767 bytes and "
			 "transaction.timeout.ms > 0");
		errno = EINVAL;
		return NULL;
	}
	if (c.sasl_mechanism != NULL &&
	    (ferry_sasl_mech_parse(c.sasl_mechanism) == FERRY_SASL_NONE || c.sasl_username == NULL ||
	     c.sasl_password == NULL)) {
		snprintf(err, errlen,
			 "uring: sasl.mechanism %s: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with "
			 "sasl.username and sasl.password",
			 c.sasl_mechanism);
		errno = EINVAL;
		return NULL;
	}
	if (c.rx_bufs == 0)
		c.rx_bufs = 2 * c.max_brokers + 4 < 64 ? 2 * c.max_brokers + 4 : 64;
	/* release tokens carry the buffer and the partition (FERRY_URING_REF_*) */
	if (c.rx_bufs > FERRY_URING_REF_BUF_MASK + 1 || c.max_parts > (1u << 20)) {
		snprintf(err, errlen, "uring: at most %u receive buffers and %u partitions",
			 FERRY_URING_REF_BUF_MASK + 1, 1u << 20);
		errno = EINVAL;
		return NULL;
	}

	ur = calloc(1, sizeof(*ur));
	if (ur == NULL)
		goto out_nomem;
	ur->conf = c;
	ur->sasl = ferry_sasl_mech_parse(c.sasl_mechanism);
	ur->cb = cb;
	ur->cb_arg = arg;
	ur->max_frame = c.rx_buf_size / 2;
	ur->pid = -1;
	ur->epoch = -1;
	ur->free_buf = -1;
	ur->brokers = calloc(c.max_brokers, sizeof(*ur->brokers));
	ur->parts = calloc(c.max_parts, sizeof(*ur->parts));
	ur->bufs = calloc(c.rx_bufs, sizeof(*ur->bufs));
	ur->arena_cap = 1u << 20;
	ur->arena_mem = malloc(ur->arena_cap);
	ur->bscratch_cap = 4096;
	ur->bscratch = calloc(ur->bscratch_cap, sizeof(*ur->bscratch));
	if (!ur->brokers || !ur->parts || !ur->bufs || !ur->arena_mem || !ur->bscratch)
		goto out_free;
	for (unsigned i = 0; i < c.rx_bufs; i++) {
		/* Lazily committed by the kernel: untouched buffers cost address space only. */
		ur->bufs[i].p = malloc(c.rx_buf_size);
		if (ur->bufs[i].p == NULL)
			goto out_free;
		ur->n_bufs++;
		ur->bufs[i].next_free = ur->free_buf;
		ur->free_buf = (int32_t)i;
	}
	for (unsigned i = 0; i < c.max_brokers; i++) {
		struct ferry_ubroker *b = &ur->brokers[i];

		b->fd = -1;
		b->rxb = -1;
		b->tx = malloc(c.tx_buf_size);
		b->rq = calloc(c.max_inflight_conn, sizeof(*b->rq));
		if (b->tx == NULL || b->rq == NULL)
			goto out_free;
	}
	for (unsigned i = 0; i < c.max_parts; i++)
		ur->parts[i].bidx = -1;
	if (ferry_uring_txn_init(ur, err, errlen) < 0) {
		errno = ENOMEM;
		goto out_free_keep_errno;
	}
	if (ferry_uring_tls_init(ur, err, errlen) < 0) {
		errno = EINVAL;
		goto out_free_keep_errno;
	}

	/* SINGLE_ISSUER: only the owner submits (it also creates the ring: ferryd's io lcore,
	 * a test's thread). DEFER_TASKRUN (Linux 6.1): completion work runs only when the owner
	 * asks for events, never from an interrupt on its core or an IPI from the broker's core;
	 * TASKRUN_FLAG tells liburing when to ask, so a poll with wait 0 still sees every
	 * completion. In bench_uring (client and simulator on two cores) this took fetch from
	 * 4.5 to 6.9 and produce from 3.0 to 7.7 GB per CPU-second against COOP_TASKRUN.
	 * Older kernels refuse the flags: COOP_TASKRUN (5.19), then none. */
	rc = io_uring_queue_init(c.ring_entries, &ur->ring,
				 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
					 IORING_SETUP_TASKRUN_FLAG);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(c.ring_entries, &ur->ring,
					 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
						 IORING_SETUP_TASKRUN_FLAG);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(c.ring_entries, &ur->ring, 0);
	if (rc < 0) {
		snprintf(err, errlen, "uring: io_uring_queue_init: %s", strerror(-rc));
		errno = -rc;
		goto out_free_keep_errno;
	}
	ur->ring_ok = true;
	return ur;

out_free:
	snprintf(err, errlen, "uring: out of memory");
	errno = ENOMEM;
out_free_keep_errno:
	rc = errno;
	ferry_uring_destroy(ur);
	errno = rc;
	return NULL;
out_nomem:
	snprintf(err, errlen, "uring: out of memory");
	errno = ENOMEM;
	return NULL;
}

static void conn_reap(struct ferry_uring *ur, struct ferry_ubroker *b);
static void handle_cqe(struct ferry_uring *ur, struct io_uring_cqe *cqe);

void
ferry_uring_destroy(struct ferry_uring *ur)
{
	if (ur == NULL)
		return;
	if (ur->ring_ok) {
		int64_t until = mono_ns() + INT64_C(2000000000);
		bool busy = false;

		for (unsigned i = 0; i < ur->conf.max_brokers; i++) {
			struct ferry_ubroker *b = &ur->brokers[i];

			if (b->fd >= 0 && b->state != FERRY_UCONN_CLOSING) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ur->ring);

				b->state = FERRY_UCONN_CLOSING;
				if (sqe) {
					io_uring_prep_cancel_fd(sqe, b->fd, IORING_ASYNC_CANCEL_ALL);
					io_uring_sqe_set_data64(sqe, FERRY_UOP_IGNORE);
				}
				shutdown(b->fd, SHUT_RDWR);
			}
		}
		/* The kernel may still write into receive buffers: wait for every operation. */
		do {
			struct __kernel_timespec ts = { 0, 50000000 };
			struct io_uring_cqe *cqe;
			unsigned head, n = 0;

			busy = false;
			for (unsigned i = 0; i < ur->conf.max_brokers; i++)
				busy |= ur->brokers[i].ops > 0;
			if (!busy)
				break;
			io_uring_submit_and_wait_timeout(&ur->ring, &cqe, 1, &ts, NULL);
			io_uring_for_each_cqe(&ur->ring, head, cqe)
			{
				uint64_t ud = io_uring_cqe_get_data64(cqe);
				struct ferry_ubroker *b = (struct ferry_ubroker *)(uintptr_t)(ud & ~(uint64_t)FERRY_UOP_MASK);

				if (b && (ud & FERRY_UOP_MASK) != FERRY_UOP_IGNORE)
					b->ops--;
				n++;
			}
			io_uring_cq_advance(&ur->ring, n);
		} while (mono_ns() < until);
		if (!busy)
			io_uring_queue_exit(&ur->ring);
		/* else: leak the ring and buffers rather than free memory the kernel writes to */
		if (busy)
			return;
	}
	ferry_uring_tls_fini(ur);
	if (ur->brokers) {
		for (unsigned i = 0; i < ur->conf.max_brokers; i++) {
			if (ur->brokers[i].fd >= 0)
				close(ur->brokers[i].fd);
			free(ur->brokers[i].tx);
			free(ur->brokers[i].rq);
		}
	}
	if (ur->parts)
		for (unsigned i = 0; i < ur->conf.max_parts; i++)
			free(ur->parts[i].q);
	for (unsigned i = 0; i < ur->n_bufs; i++)
		free(ur->bufs[i].p);
	free(ur->bufs);
	free(ur->brokers);
	free(ur->parts);
	free(ur->arena_mem);
	free(ur->bscratch);
	ferry_uring_txn_free(ur);
	free(ur);
}

int
ferry_uring_broker_idx(const struct ferry_uring *ur, int32_t node_id)
{
	for (unsigned i = 0; i < ur->conf.max_brokers; i++)
		if (ur->brokers[i].used && ur->brokers[i].node_id == node_id)
			return (int)i;
	return -1;
}

static int
broker_set(struct ferry_uring *ur, int32_t node_id, const char *host, uint16_t port,
	   bool numeric_only, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char portstr[8];
	int idx = ferry_uring_broker_idx(ur, node_id);
	struct ferry_ubroker *b;
	int rc;

	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc == EAI_NONAME && numeric_only) {
		snprintf(err, errlen, "broker %d: %s is not a numeric address", node_id, host);
		return -EAGAIN;
	}
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(host, portstr, &hints, &res);
	}
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "broker %d: resolve %s: %s", node_id, host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	if (idx < 0) {
		for (unsigned i = 0; i < ur->conf.max_brokers; i++)
			if (!ur->brokers[i].used) {
				idx = (int)i;
				break;
			}
		if (idx < 0) {
			freeaddrinfo(res);
			snprintf(err, errlen, "broker %d: broker table full (%u)", node_id,
				 ur->conf.max_brokers);
			return -ENOSPC;
		}
		b = &ur->brokers[idx];
		b->used = true;
		b->node_id = node_id;
		b->backoff_ms = ur->conf.backoff_min_ms;
		b->av_ver = FERRY_KAFKA_API_VERSIONS_VER_MAX;
		if ((unsigned)idx >= ur->n_brokers)
			ur->n_brokers = (unsigned)idx + 1;
	} else {
		b = &ur->brokers[idx];
		if (b->addrlen == res->ai_addrlen && memcmp(&b->addr, res->ai_addr, b->addrlen) == 0) {
			freeaddrinfo(res);
			return 0;
		}
		if (b->state != FERRY_UCONN_DOWN && b->state != FERRY_UCONN_CLOSING)
			ferry_uring_conn_fail(ur, b, -ECONNRESET, "broker %d moved to %s:%u", node_id,
					      host, port);
	}
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addrlen = res->ai_addrlen;
	snprintf(b->name, sizeof(b->name), "%s:%u", host, port);
	snprintf(b->host, sizeof(b->host), "%s", host);
	freeaddrinfo(res);
	b->retry_at_ns = 0;
	/* partitions whose leader is this node can use it now */
	for (unsigned i = 0; i < ur->conf.max_parts; i++)
		if (ur->parts[i].kind != FERRY_UPART_FREE && ur->parts[i].leader == node_id)
			ur->parts[i].bidx = idx;
	return 0;
}

int
ferry_uring_broker_set(struct ferry_uring *ur, int32_t node_id, const char *host, uint16_t port,
		       char *err, size_t errlen)
{
	return broker_set(ur, node_id, host, port, false, err, errlen);
}

int
ferry_uring_broker_set_numeric(struct ferry_uring *ur, int32_t node_id, const char *host,
			       uint16_t port, char *err, size_t errlen)
{
	return broker_set(ur, node_id, host, port, true, err, errlen);
}

void
ferry_uring_want_metadata(struct ferry_uring *ur, int bidx, int part, int err)
{
	struct ferry_uring_event ev = { .type = FERRY_URING_EV_METADATA };

	ev.u.meta.node_id = bidx >= 0 ? ur->brokers[bidx].node_id : -1;
	ev.u.meta.part = part;
	ev.u.meta.partition = -1;
	ev.u.meta.err = err;
	if (part >= 0) {
		struct ferry_upart *p = &ur->parts[part];

		ev.u.meta.topic = ferry_span_make(p->topic, p->topic_len);
		ev.u.meta.partition = p->partition;
	}
	ur->st[FERRY_URING_ST_METADATA_REQUESTS]++;
	ferry_uring_emit(ur, &ev);
}

/* ---- connections ---------------------------------------------------------------------------- */

static struct io_uring_sqe *
get_sqe(struct ferry_uring *ur)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ur->ring);

	if (sqe == NULL) {
		/* SQ full: hand what is queued to the kernel and try once more */
		io_uring_submit(&ur->ring);
		sqe = io_uring_get_sqe(&ur->ring);
	}
	return sqe;
}

static uint64_t
udata(struct ferry_ubroker *b, enum ferry_uop op)
{
	return (uint64_t)(uintptr_t)b | (uint64_t)op;
}

static void
conn_start(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	struct io_uring_sqe *sqe;
	int fd, one = 1;

	fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	ur->st[FERRY_URING_ST_CONNECTS]++;
	if (fd < 0) {
		b->retry_at_ns = ur->now_ns + (int64_t)b->backoff_ms * 1000000;
		ur->st[FERRY_URING_ST_CONNECT_FAILS]++;
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b->fd = fd;
	b->rx_lowat = 0;
	b->state = FERRY_UCONN_CONNECTING;
	b->err = 0;
	b->errmsg[0] = '\0';
	b->connect_start_ns = ur->now_ns;
	b->connect_ts.tv_sec = ur->conf.connect_timeout_ms / 1000;
	b->connect_ts.tv_nsec = (long long)(ur->conf.connect_timeout_ms % 1000) * 1000000;
	sqe = get_sqe(ur);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&b->addr, b->addrlen);
	io_uring_sqe_set_data64(sqe, udata(b, FERRY_UOP_CONNECT));
	/* the connect is cancelled when the linked timeout fires first (-ECANCELED) */
	sqe->flags |= IOSQE_IO_LINK;
	b->ops++;
	sqe = get_sqe(ur);
	io_uring_prep_link_timeout(sqe, &b->connect_ts, 0);
	io_uring_sqe_set_data64(sqe, udata(b, FERRY_UOP_LINK_TIMEOUT));
	b->ops++;
}

static unsigned
next_rand(struct ferry_uring *ur)
{
	/* jitter only; xorshift over the clock is plenty */
	uint64_t x = (uint64_t)ur->now_ns ^ (uint64_t)(uintptr_t)ur;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (unsigned)x;
}

/* A request that will never be answered: give its partitions back their state. */
static void
req_lost(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq *rq)
{
	if (rq->kind == FERRY_UREQ_INIT_PID)
		b->pid_inflight = false;
	if (ur->txn.on && (rq->kind == FERRY_UREQ_INIT_PID || rq->kind == FERRY_UREQ_FIND_COORD ||
			   rq->kind == FERRY_UREQ_ADD_PARTS || rq->kind == FERRY_UREQ_END_TXN))
		ferry_uring_txn_lost(ur, b, rq);
	if (rq->kind == FERRY_UREQ_FETCH || rq->kind == FERRY_UREQ_LIST_OFFSETS)
		ferry_uring_fetch_lost(ur, rq);
	if (rq->kind == FERRY_UREQ_PRODUCE || rq->kind == FERRY_UREQ_LIST_OFFSETS ||
	    rq->kind == FERRY_UREQ_RECON_FETCH)
		ferry_uring_produce_lost(ur, b, rq);
}

void
ferry_uring_conn_fail(struct ferry_uring *ur, struct ferry_ubroker *b, int err, const char *fmt,
		      ...)
{
	struct ferry_uring_event ev = { .type = FERRY_URING_EV_BROKER_DOWN };
	bool was_up = b->state == FERRY_UCONN_UP;
	va_list ap;

	if (b->state == FERRY_UCONN_DOWN || b->state == FERRY_UCONN_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(b->errmsg, sizeof(b->errmsg), fmt, ap);
	va_end(ap);
	b->err = err;
	if (b->state == FERRY_UCONN_CONNECTING || b->state == FERRY_UCONN_TLS)
		ur->st[FERRY_URING_ST_CONNECT_FAILS]++;
	else
		ur->st[FERRY_URING_ST_DISCONNECTS]++;
	b->state = FERRY_UCONN_CLOSING;
	if (b->fd >= 0) {
		struct io_uring_sqe *sqe = get_sqe(ur);

		if (sqe) {
			io_uring_prep_cancel_fd(sqe, b->fd, IORING_ASYNC_CANCEL_ALL);
			io_uring_sqe_set_data64(sqe, FERRY_UOP_IGNORE);
		}
		shutdown(b->fd, SHUT_RDWR);
	}
	/* Requests in flight are lost: fetches go back to their partitions, produces
	 * have an unknown outcome (produce.c reconciles). */
	while (b->rq_n > 0) {
		struct ferry_ureq *rq = &b->rq[b->rq_head];

		b->rq_head = (b->rq_head + 1) % ur->conf.max_inflight_conn;
		b->rq_n--;
		req_lost(ur, b, rq);
	}
	b->n_fetch = 0;
	b->pid_inflight = false;
	ev.u.broker.node_id = b->node_id;
	ev.u.broker.err = err;
	ev.u.broker.msg = b->errmsg;
	ferry_uring_emit(ur, &ev);
	/* A lost connection may mean the leader moved (KIP: clients refresh on disconnect). */
	if (was_up)
		ferry_uring_want_metadata(ur, (int)(b - ur->brokers), -1, err);
	if (b->ops == 0)
		conn_reap(ur, b);
}

/* Every operation came back: close the socket and wait out the backoff. */
static void
conn_reap(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	unsigned jitter;

	if (b->state != FERRY_UCONN_CLOSING || b->ops > 0)
		return;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	if (b->rxb >= 0)
		buf_put(ur, b->rxb);
	b->rxb = -1;
	b->rx_start = b->rx_end = 0;
	b->recv_armed = b->send_armed = b->rx_stalled = false;
	b->iov_head = b->iov_n = 0;
	b->tx_len = 0;
	ferry_uring_tls_close(b);
	b->state = FERRY_UCONN_DOWN;
	/* capped exponential backoff with +-20% jitter, so brokers are not hit in lockstep */
	jitter = next_rand(ur) % 41;
	b->retry_at_ns = ur->now_ns + (int64_t)b->backoff_ms * (80 + jitter) * 10000;
	b->backoff_ms = b->backoff_ms * 2 > ur->conf.backoff_max_ms ? ur->conf.backoff_max_ms
								     : b->backoff_ms * 2;
}

static void
tx_reset_if_idle(struct ferry_ubroker *b)
{
	if (!b->send_armed && b->iov_head == b->iov_n) {
		b->iov_head = b->iov_n = 0;
		b->tx_len = 0;
	}
}

bool
ferry_uring_tx_room(const struct ferry_ubroker *b, size_t bytes, unsigned iovs, size_t tx_cap)
{
	return b->tx_len + bytes <= tx_cap && b->iov_n + iovs <= FERRY_UCONN_IOV;
}

struct ferry_ureq *
ferry_uring_req_new(struct ferry_uring *ur, struct ferry_ubroker *b, uint8_t kind, int16_t api,
		    int16_t ver, int64_t timeout_ms)
{
	struct ferry_ureq *rq;

	if (b->rq_n >= ur->conf.max_inflight_conn)
		return NULL;
	tx_reset_if_idle(b);
	rq = &b->rq[(b->rq_head + b->rq_n) % ur->conf.max_inflight_conn];
	rq->kind = kind;
	rq->api = api;
	rq->ver = ver;
	rq->corr = b->next_corr;
	rq->n_parts = 0;
	rq->ts = 0;
	rq->deadline_ns = ur->now_ns + timeout_ms * 1000000;
	return rq;
}

void
ferry_uring_req_abort(struct ferry_ubroker *b, struct ferry_ureq *rq)
{
	(void)b;
	rq->n_parts = 0;
}

void
ferry_uring_req_commit(struct ferry_uring *ur, struct ferry_ubroker *b, struct ferry_ureq *rq)
{
	(void)rq;
	b->next_corr = b->next_corr == INT32_MAX ? 1 : b->next_corr + 1;
	b->rq_n++;
	if (rq->kind == FERRY_UREQ_FETCH)
		b->n_fetch++;
	ur->st[FERRY_URING_ST_REQUESTS]++;
}

int
ferry_uring_req_send(struct ferry_uring *ur, struct ferry_ubroker *b, struct ferry_ureq *rq,
		     const void *msg)
{
	struct ferry_kafka_reqhdr h = { rq->api, rq->ver, rq->corr,
					ferry_span_str(ur->conf.client_id) };
	struct ferry_wr w;
	int rc;

	if (b->iov_n >= FERRY_UCONN_IOV)
		return -ENOSPC;
	ferry_wr_init(&w, b->tx + b->tx_len, ur->conf.tx_buf_size - b->tx_len);
	rc = ferry_kafka_request_encode(&w, &h, msg);
	if (rc < 0) {
		ferry_uring_req_abort(b, rq);
		return rc == FERRY_ERR__NOSPACE ? -ENOSPC : rc;
	}
	b->iov[b->iov_n].iov_base = b->tx + b->tx_len;
	b->iov[b->iov_n].iov_len = w.len;
	b->iov_n++;
	b->tx_len += w.len;
	ferry_uring_req_commit(ur, b, rq);
	return 0;
}

static void
send_api_versions(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	struct ferry_kafka_api_versions_req req = { ferry_span_str("ferry"),
						    ferry_span_str("0.1.0") };
	struct ferry_ureq *rq = ferry_uring_req_new(ur, b, FERRY_UREQ_API_VERSIONS,
						    FERRY_KAFKA_API_VERSIONS, b->av_ver,
						    ur->conf.request_timeout_ms);

	if (rq == NULL || ferry_uring_req_send(ur, b, rq, &req) < 0)
		ferry_uring_conn_fail(ur, b, -ENOBUFS, "%s: cannot queue ApiVersions", b->name);
}

static int16_t
pick(const struct ferry_ubroker *b, int16_t api, int16_t cap)
{
	struct ferry_kafka_api_versions_resp r = { 0 };
	int v;

	r.n_api_keys = b->n_av;
	r.ApiKeys = (struct ferry_kafka_api_version_range *)b->av;
	v = ferry_kafka_pick_version(&r, api);
	if (v < 0)
		return -1;
	if (cap > 0 && v > cap) {
		const struct ferry_kafka_api_info *ai = ferry_kafka_api_get(api);
		v = cap < ai->min_ver ? -1 : cap;
	}
	return (int16_t)v;
}

/* Negotiated (and authenticated): the connection serves requests. */
static void
conn_up(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	struct ferry_uring_event ev = { .type = FERRY_URING_EV_BROKER_UP };

	b->state = FERRY_UCONN_UP;
	b->backoff_ms = ur->conf.backoff_min_ms;
	ev.u.broker.node_id = b->node_id;
	ev.u.broker.msg = b->name;
	ferry_uring_emit(ur, &ev);
}

/* ---- SASL (KIP-152): SaslHandshake v1, then SaslAuthenticate until the mechanism is done.
 * The connection stays in NEGOTIATE meanwhile: nothing else is sent on it. */

static int
sasl_send_auth(struct ferry_uring *ur, struct ferry_ubroker *b, const void *p, size_t n)
{
	struct ferry_kafka_sasl_authenticate_req req = { ferry_span_make(p, n) };
	struct ferry_ureq *rq = ferry_uring_req_new(ur, b, FERRY_UREQ_SASL_AUTH,
						    FERRY_KAFKA_SASL_AUTHENTICATE, b->sasl_auth_ver,
						    ur->conf.request_timeout_ms);

	if (rq == NULL || ferry_uring_req_send(ur, b, rq, &req) < 0)
		return -ENOBUFS;
	return 0;
}

static int
sasl_start(struct ferry_uring *ur, struct ferry_ubroker *b, char *err, size_t errlen)
{
	int16_t hs = pick(b, FERRY_KAFKA_SASL_HANDSHAKE, 1);
	struct ferry_kafka_sasl_handshake_req req = {
		ferry_span_str(ferry_sasl_mech_name(ur->sasl))
	};
	struct ferry_ureq *rq;

	b->sasl_auth_ver = pick(b, FERRY_KAFKA_SASL_AUTHENTICATE, 1);
	if (hs < 1 || b->sasl_auth_ver < 0) {
		ur->st[FERRY_URING_ST_SASL_FAILS]++;
		snprintf(err, errlen, "SASL: the broker offers no SaslHandshake v1 and "
			 "SaslAuthenticate (Kafka 1.0 or later, with a SASL listener)");
		return -EPROTO;
	}
	rq = ferry_uring_req_new(ur, b, FERRY_UREQ_SASL_HS, FERRY_KAFKA_SASL_HANDSHAKE, 1,
				 ur->conf.request_timeout_ms);
	if (rq == NULL || ferry_uring_req_send(ur, b, rq, &req) < 0)
		return -ENOBUFS;
	b->sasl_step = 0;
	return 0;
}

static int
sasl_answer(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq *rq,
	    struct ferry_span body, char *err, size_t errlen)
{
	struct ferry_arena a;
	char msg[1024];
	int rc, n;

	ferry_arena_init(&a, ur->arena_mem, ur->arena_cap);
	if (rq->kind == FERRY_UREQ_SASL_HS) {
		struct ferry_kafka_sasl_handshake_resp r;
		if ((rc = ferry_kafka_response_decode(body, rq->api, rq->ver, rq->corr, &a, &r, err,
						      errlen)) < 0)
			return rc;
		if (r.ErrorCode != 0) {
			size_t k = 0;
			for (int32_t i = 0; i < r.n_mechanisms && k + 2 < sizeof(msg); i++)
				k += (size_t)snprintf(msg + k, sizeof(msg) - k, "%s%.*s",
						      i ? ", " : "", (int)r.Mechanisms[i].len,
						      (const char *)r.Mechanisms[i].p);
			ur->st[FERRY_URING_ST_SASL_FAILS]++;
			snprintf(err, errlen, "SASL: mechanism %s not enabled on the broker (%s; it "
				 "offers: %.160s)", ferry_sasl_mech_name(ur->sasl),
				 ferry_err_name(r.ErrorCode), k ? msg : "none");
			return r.ErrorCode;
		}
		if (ur->sasl == FERRY_SASL_PLAIN)
			n = ferry_sasl_plain(ur->conf.sasl_username, ur->conf.sasl_password,
					     (uint8_t *)msg, sizeof(msg));
		else
			n = ferry_scram_first(&b->scram, ur->sasl, ur->conf.sasl_username, NULL, msg,
					      sizeof(msg));
		if (n < 0) {
			snprintf(err, errlen, "SASL: sasl.username or sasl.password too long");
			return -EINVAL;
		}
		b->sasl_step = 1;
		return sasl_send_auth(ur, b, msg, (size_t)n);
	}
	struct ferry_kafka_sasl_authenticate_resp r;
	if ((rc = ferry_kafka_response_decode(body, rq->api, rq->ver, rq->corr, &a, &r, err,
					      errlen)) < 0)
		return rc;
	if (r.ErrorCode != 0) {
		ur->st[FERRY_URING_ST_SASL_FAILS]++;
		snprintf(err, errlen, "SASL %s authentication as %s failed: %s%s%.*s",
			 ferry_sasl_mech_name(ur->sasl), ur->conf.sasl_username,
			 ferry_err_name(r.ErrorCode), r.ErrorMessage.p ? ": " : "",
			 r.ErrorMessage.p ? (int)r.ErrorMessage.len : 0,
			 r.ErrorMessage.p ? (const char *)r.ErrorMessage.p : "");
		return r.ErrorCode;
	}
	if (ur->sasl == FERRY_SASL_PLAIN || b->sasl_step == 2) {
		if (ur->sasl != FERRY_SASL_PLAIN &&
		    (rc = ferry_scram_verify(&b->scram, r.AuthBytes.p, r.AuthBytes.len, err,
					     errlen)) != 0) {
			ur->st[FERRY_URING_ST_SASL_FAILS]++;
			return rc;
		}
		ur->st[FERRY_URING_ST_SASL_AUTHS]++;
		conn_up(ur, b);
		return 0;
	}
	n = ferry_scram_final(&b->scram, ur->conf.sasl_password, r.AuthBytes.p, r.AuthBytes.len, msg,
			      sizeof(msg), err, errlen);
	if (n < 0) {
		ur->st[FERRY_URING_ST_SASL_FAILS]++;
		return n;
	}
	b->sasl_step = 2;
	return sasl_send_auth(ur, b, msg, (size_t)n);
}

static int
api_versions_answer(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq *rq,
		    struct ferry_span body, char *err, size_t errlen)
{
	struct ferry_kafka_api_versions_resp resp;
	struct ferry_arena a;
	int rc;

	ferry_arena_init(&a, ur->arena_mem, ur->arena_cap);
	rc = ferry_kafka_response_decode(body, rq->api, rq->ver, rq->corr, &a, &resp, err, errlen);
	if (rc < 0)
		return rc;
	if (resp.ErrorCode == FERRY_ERR_UNSUPPORTED_VERSION && rq->ver > 0) {
		/* kafka-wire-facts §1.6: use the advertised maximum if it parsed, else v0 */
		int16_t next = 0;

		for (int32_t i = 0; i < resp.n_api_keys; i++)
			if (resp.ApiKeys[i].ApiKey == FERRY_KAFKA_API_VERSIONS &&
			    resp.ApiKeys[i].MaxVersion < rq->ver && resp.ApiKeys[i].MaxVersion >= 0)
				next = resp.ApiKeys[i].MaxVersion;
		b->av_ver = next;
		send_api_versions(ur, b);
		return 0;
	}
	if (resp.ErrorCode != 0) {
		snprintf(err, errlen, "ApiVersions v%d: broker error %s", rq->ver,
			 ferry_err_name(resp.ErrorCode));
		return resp.ErrorCode;
	}
	b->n_av = 0;
	for (int32_t i = 0; i < resp.n_api_keys && b->n_av < FERRY_UBROKER_MAX_APIS; i++)
		b->av[b->n_av++] = resp.ApiKeys[i];
	b->fetch_ver = pick(b, FERRY_KAFKA_FETCH, ur->conf.fetch_max_version);
	b->produce_ver = pick(b, FERRY_KAFKA_PRODUCE, ur->conf.produce_max_version);
	/* ListOffsets v4/v5 are broken on the librdkafka mock (8-byte LeaderEpoch), and ferry
	 * needs nothing newer than v2's isolation level: stay at v3 or below. */
	b->list_ver = pick(b, FERRY_KAFKA_LIST_OFFSETS, 3);
	b->pid_ver = pick(b, FERRY_KAFKA_INIT_PRODUCER_ID, 0);
	b->coord_ver = pick(b, FERRY_KAFKA_FIND_COORDINATOR, 0);
	b->addp_ver = pick(b, FERRY_KAFKA_ADD_PARTITIONS_TO_TXN, 0);
	b->endtxn_ver = pick(b, FERRY_KAFKA_END_TXN, 0);
	if (ur->sasl != FERRY_SASL_NONE)
		return sasl_start(ur, b, err, errlen);
	conn_up(ur, b);
	return 0;
}

static int
list_offsets_answer(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq *rq,
		    struct ferry_span body, char *err, size_t errlen)
{
	struct ferry_kafka_list_offsets_resp resp;
	struct ferry_arena a;
	int rc;

	ferry_arena_init(&a, ur->arena_mem, ur->arena_cap);
	rc = ferry_kafka_response_decode(body, rq->api, rq->ver, rq->corr, &a, &resp, err, errlen);
	if (rc < 0)
		return rc;
	if (rq->n_parts != 1)
		return 0;
	if (ur->parts[rq->parts[0].part].kind == FERRY_UPART_FETCH)
		return ferry_uring_fetch_list_answer(ur, b, rq, &resp);
	return ferry_uring_produce_list_answer(ur, b, rq, &resp);
}

static int
pid_answer(struct ferry_uring *ur, struct ferry_ubroker *b, const struct ferry_ureq *rq,
	   struct ferry_span body, char *err, size_t errlen)
{
	struct ferry_kafka_init_producer_id_resp resp;
	struct ferry_arena a;
	int rc;

	b->pid_inflight = false;
	ferry_arena_init(&a, ur->arena_mem, ur->arena_cap);
	rc = ferry_kafka_response_decode(body, rq->api, rq->ver, rq->corr, &a, &resp, err, errlen);
	if (rc < 0)
		return rc;
	return ferry_uring_pid_answer(ur, b, &resp);
}

/* Parse every whole frame received; a frame that breaks the rules closes the connection. */
static void
conn_frames(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	char err[256];

	while (b->state == FERRY_UCONN_UP || b->state == FERRY_UCONN_NEGOTIATE) {
		uint8_t *base = ur->bufs[b->rxb].p;
		size_t have = b->rx_end - b->rx_start;
		struct ferry_ureq rq;
		int32_t size;
		int rc;

		if (have < 4)
			return;
		size = (int32_t)ferry_be32(base + b->rx_start);
		if (size < 4 || (size_t)size > ur->max_frame - 4) {
			ur->st[FERRY_URING_ST_PROTO_ERRORS]++;
			ferry_uring_conn_fail(ur, b, FERRY_ERR__BAD_LENGTH,
					      "%s: response frame of %d bytes (limit %zu)", b->name,
					      size, ur->max_frame - 4);
			return;
		}
		if (have < 4 + (size_t)size)
			return;
		if (b->rq_n == 0) {
			ur->st[FERRY_URING_ST_PROTO_ERRORS]++;
			ferry_uring_conn_fail(ur, b, FERRY_ERR__CORRELATION,
					      "%s: response with no request outstanding", b->name);
			return;
		}
		if ((int32_t)ferry_be32(base + b->rx_start + 4) != b->rq[b->rq_head].corr) {
			ur->st[FERRY_URING_ST_PROTO_ERRORS]++;
			ferry_uring_conn_fail(ur, b, FERRY_ERR__CORRELATION,
					      "%s: correlation id %d, expected %d", b->name,
					      (int32_t)ferry_be32(base + b->rx_start + 4),
					      b->rq[b->rq_head].corr);
			return;
		}
		/* Pop before handling: a handler may queue new requests on this connection. */
		rq = b->rq[b->rq_head];
		b->rq_head = (b->rq_head + 1) % ur->conf.max_inflight_conn;
		b->rq_n--;
		if (rq.kind == FERRY_UREQ_FETCH)
			b->n_fetch--;
		struct ferry_span body = ferry_span_make(base + b->rx_start + 4, (size_t)size);
		b->rx_start += 4 + (size_t)size;
		ur->st[FERRY_URING_ST_RESPONSES]++;
		err[0] = '\0';
		switch (rq.kind) {
		case FERRY_UREQ_API_VERSIONS:
			rc = api_versions_answer(ur, b, &rq, body, err, sizeof(err));
			break;
		case FERRY_UREQ_FETCH:
			rc = ferry_uring_fetch_answer(ur, b, &rq, body, err, sizeof(err));
			break;
		case FERRY_UREQ_PRODUCE:
			rc = ferry_uring_produce_answer(ur, b, &rq, body, err, sizeof(err));
			break;
		case FERRY_UREQ_INIT_PID:
			if (ur->txn.on)
				rc = ferry_uring_txn_answer(ur, b, &rq, body, err, sizeof(err));
			else
				rc = pid_answer(ur, b, &rq, body, err, sizeof(err));
			break;
		case FERRY_UREQ_FIND_COORD:
		case FERRY_UREQ_ADD_PARTS:
		case FERRY_UREQ_END_TXN:
			rc = ferry_uring_txn_answer(ur, b, &rq, body, err, sizeof(err));
			break;
		case FERRY_UREQ_LIST_OFFSETS:
			rc = list_offsets_answer(ur, b, &rq, body, err, sizeof(err));
			break;
		case FERRY_UREQ_RECON_FETCH:
			rc = ferry_uring_recon_fetch_answer(ur, b, &rq, body, err, sizeof(err));
			break;
		case FERRY_UREQ_SASL_HS:
		case FERRY_UREQ_SASL_AUTH:
			rc = sasl_answer(ur, b, &rq, body, err, sizeof(err));
			break;
		default:
			rc = FERRY_ERR__INVALID_ARG;
			break;
		}
		if (rc != 0) {
			/* the answer was taken off the ring: its partitions learn it is lost
			 * (an undecodable Produce answer is an unknown outcome) */
			req_lost(ur, b, &rq);
			if (rc < 0)
				ur->st[FERRY_URING_ST_PROTO_ERRORS]++;
			ferry_uring_conn_fail(ur, b, rc, "%s: %s", b->name,
					      err[0] ? err : ferry_err_desc(rc));
			return;
		}
	}
}

/*
 * Wake the receive only when the rest of the frame being read has arrived (at most
 * FERRY_URING_RX_LOWAT_MAX): nothing can be parsed before, and a large Fetch answer then
 * comes in a few big receives instead of one per loopback/GRO segment. That halved the
 * kernel CPU per fetched byte in bench_uring (135 KiB -> ~600 KiB per receive). The wait
 * never passes the frame's end, so nothing is delayed; Linux caps the value at half of
 * tcp_rmem[2], grows the socket buffer to fit it, and still wakes a reader whose window
 * is closing (tcp_data_ready), so a small socket buffer cannot deadlock it. Plaintext
 * only: under TLS the frame's bytes are not the socket's bytes.
 */
static void
rx_lowat(struct ferry_ubroker *b, size_t want)
{
	int v = want > FERRY_URING_RX_LOWAT_MAX ? FERRY_URING_RX_LOWAT_MAX : (int)want;

	if (v != b->rx_lowat && setsockopt(b->fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)) == 0)
		b->rx_lowat = v;
}

/* Where the next plaintext bytes of a connection go (see the file comment for the buffer
 * rule): false when no buffer is free (back-pressure) or the connection failed. */
static bool
rx_region(struct ferry_uring *ur, struct ferry_ubroker *b, uint8_t **dst, size_t *len)
{
	size_t cap = ur->conf.rx_buf_size, lim = cap - ur->max_frame, fe, end;

	if (b->rxb >= 0 && b->rx_start == b->rx_end) {
		if (ur->bufs[b->rxb].refs == 1) {
			b->rx_start = b->rx_end = 0;
		} else if (b->rx_start > lim) {
			buf_put(ur, b->rxb);
			b->rxb = -1;
		}
	}
	if (b->rxb < 0) {
		b->rxb = buf_take(ur);
		b->rx_start = b->rx_end = 0;
		if (b->rxb < 0) {
			if (!b->rx_stalled)
				ur->st[FERRY_URING_ST_RX_STALLS]++;
			b->rx_stalled = true;
			return false;
		}
	}
	b->rx_stalled = false;
	if (b->rx_end - b->rx_start >= 4)
		fe = b->rx_start + 4 + ferry_be32(ur->bufs[b->rxb].p + b->rx_start);
	else
		fe = b->rx_start + 4;
	end = fe > lim ? fe : lim;
	if (end > cap)
		end = cap;
	if (end <= b->rx_end) {
		/* cannot happen while the frame rule holds; never spin on a zero-length recv */
		ferry_uring_conn_fail(ur, b, FERRY_ERR__BAD_LENGTH, "%s: receive buffer rule broken",
				      b->name);
		return false;
	}
	*dst = ur->bufs[b->rxb].p + b->rx_end;
	*len = end - b->rx_end;
	if (!b->ssl)
		rx_lowat(b, b->rx_end - b->rx_start >= 4 && fe > b->rx_end ? fe - b->rx_end : 1);
	return true;
}

static bool
conn_live(const struct ferry_ubroker *b)
{
	return b->state == FERRY_UCONN_UP || b->state == FERRY_UCONN_NEGOTIATE ||
	       b->state == FERRY_UCONN_TLS;
}

/* A TLS failure on b: counted, and the connection closed with OpenSSL's reason. */
static void
tls_fail(struct ferry_uring *ur, struct ferry_ubroker *b, int e, const char *what)
{
	char why[300];

	ferry_uring_tls_why(b, e, why, sizeof(why));
	ur->st[FERRY_URING_ST_TLS_FAILS]++;
	ferry_uring_conn_fail(ur, b, -EPROTO, "%s: TLS %s: %s%s", b->name, what, why,
			      b->state == FERRY_UCONN_TLS && strstr(why, "wrong version")
				  ? " (is the listener a PLAINTEXT one?)"
				  : "");
}

/* Handshake step after new ciphertext (or at the start): done moves to ApiVersions. */
static void
tls_handshake(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	int r = SSL_do_handshake(b->ssl);

	if (ferry_uring_tls_drain(b) < 0) {
		ferry_uring_conn_fail(ur, b, -ENOMEM, "%s: TLS: out of memory", b->name);
		return;
	}
	if (r == 1) {
		ur->st[FERRY_URING_ST_TLS_HANDSHAKES]++;
		b->state = FERRY_UCONN_NEGOTIATE;
		send_api_versions(ur, b);
		return;
	}
	int e = SSL_get_error(b->ssl, r);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		tls_fail(ur, b, e, "handshake");
}

/* Decrypt what OpenSSL holds into the receive buffer and parse the frames it completes. */
static void
tls_read(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	uint8_t *dst;
	size_t len;

	while ((b->state == FERRY_UCONN_UP || b->state == FERRY_UCONN_NEGOTIATE) &&
	       rx_region(ur, b, &dst, &len)) {
		int r = SSL_read(b->ssl, dst, len > INT32_MAX ? INT32_MAX : (int)len);
		if (ferry_uring_tls_drain(b) < 0) {
			ferry_uring_conn_fail(ur, b, -ENOMEM, "%s: TLS: out of memory", b->name);
			return;
		}
		if (r > 0) {
			b->rx_end += (size_t)r;
			ur->st[FERRY_URING_ST_RX_BYTES] += (uint64_t)r;
			conn_frames(ur, b);
			continue;
		}
		int e = SSL_get_error(b->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		if (e == SSL_ERROR_ZERO_RETURN) {
			ferry_uring_conn_fail(ur, b, -EPIPE, "%s: connection closed by the broker "
					      "(TLS close_notify)", b->name);
			return;
		}
		tls_fail(ur, b, e, "read");
		return;
	}
}

/* Arm the one receive of a connection. TLS: plaintext OpenSSL already holds first, then the
 * kernel receives ciphertext into tin, at most what the BIO pair can take. */
static void
conn_arm_recv(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	struct io_uring_sqe *sqe;
	uint8_t *dst;
	size_t len;

	if (!conn_live(b))
		return;
	if (b->ssl) {
		/* plaintext OpenSSL holds first, even with a receive armed: after a stall (every
		 * buffer held) it may be all the broker sends until we answer */
		if (b->state != FERRY_UCONN_TLS)
			tls_read(ur, b);
		if (b->recv_armed || !conn_live(b))
			return;
		len = BIO_ctrl_get_write_guarantee(b->nbio);
		if (len > FERRY_UTLS_IN)
			len = FERRY_UTLS_IN;
		if (len == 0)
			return; /* OpenSSL holds ciphertext it cannot decrypt into a full buffer */
		dst = b->tin;
	} else if (b->recv_armed || !rx_region(ur, b, &dst, &len)) {
		return;
	}
	sqe = get_sqe(ur);
	io_uring_prep_recv(sqe, b->fd, dst, len, 0);
	io_uring_sqe_set_data64(sqe, udata(b, FERRY_UOP_RECV));
	b->ops++;
	b->recv_armed = true;
}

/* TLS: encrypt the queued request bytes and batches into tout (they are copied, so the
 * iovecs are done with); OpenSSL's records go out with one send. */
static void
tls_encrypt(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	while (b->iov_head < b->iov_n) {
		struct iovec *v = &b->iov[b->iov_head];
		while (v->iov_len > 0) {
			int n = v->iov_len > 16384 ? 16384 : (int)v->iov_len;
			int r = SSL_write(b->ssl, v->iov_base, n);
			if (ferry_uring_tls_drain(b) < 0) {
				ferry_uring_conn_fail(ur, b, -ENOMEM, "%s: TLS: out of memory",
						      b->name);
				return;
			}
			if (r <= 0) {
				int e = SSL_get_error(b->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					continue; /* drained above: room again */
				tls_fail(ur, b, e, "write");
				return;
			}
			v->iov_base = (uint8_t *)v->iov_base + r;
			v->iov_len -= (size_t)r;
			ur->st[FERRY_URING_ST_TX_BYTES] += (uint64_t)r;
		}
		b->iov_head++;
	}
}

static void
conn_arm_send(struct ferry_uring *ur, struct ferry_ubroker *b)
{
	struct io_uring_sqe *sqe;

	if (b->send_armed || !conn_live(b))
		return;
	if (b->ssl) {
		if (b->state != FERRY_UCONN_TLS)
			tls_encrypt(ur, b);
		if (!conn_live(b))
			return;
		tx_reset_if_idle(b);
		if (b->tout_off == b->tout_len)
			return;
		sqe = get_sqe(ur);
		io_uring_prep_send(sqe, b->fd, b->tout + b->tout_off, b->tout_len - b->tout_off,
				   MSG_NOSIGNAL);
		io_uring_sqe_set_data64(sqe, udata(b, FERRY_UOP_SEND));
		b->ops++;
		b->send_armed = true;
		return;
	}
	if (b->iov_head == b->iov_n) {
		tx_reset_if_idle(b);
		return;
	}
	b->send_n = b->iov_n - b->iov_head;
	memset(&b->msg, 0, sizeof(b->msg));
	b->msg.msg_iov = &b->iov[b->iov_head];
	b->msg.msg_iovlen = b->send_n;
	sqe = get_sqe(ur);
	io_uring_prep_sendmsg(sqe, b->fd, &b->msg, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, udata(b, FERRY_UOP_SEND));
	b->ops++;
	b->send_armed = true;
}

static void
handle_cqe(struct ferry_uring *ur, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	enum ferry_uop op = (enum ferry_uop)(ud & FERRY_UOP_MASK);
	struct ferry_ubroker *b = (struct ferry_ubroker *)(uintptr_t)(ud & ~(uint64_t)FERRY_UOP_MASK);
	int res = cqe->res;

	if (op == FERRY_UOP_IGNORE || b == NULL)
		return;
	b->ops--;
	switch (op) {
	case FERRY_UOP_CONNECT:
		if (b->state != FERRY_UCONN_CONNECTING)
			break;
		if (res < 0) {
			ferry_uring_conn_fail(ur, b, res == -ECANCELED ? -ETIMEDOUT : res,
					      "connect %s: %s", b->name,
					      res == -ECANCELED ? "timed out" : strerror(-res));
			break;
		}
		if (ur->tls_ctx) {
			char err[300];
			if (ferry_uring_tls_open(ur, b, err, sizeof(err)) != 0) {
				ferry_uring_conn_fail(ur, b, -ENOMEM, "%s", err);
				break;
			}
			b->state = FERRY_UCONN_TLS;
			tls_handshake(ur, b); /* the ClientHello */
			break;
		}
		b->state = FERRY_UCONN_NEGOTIATE;
		send_api_versions(ur, b);
		break;
	case FERRY_UOP_LINK_TIMEOUT:
		break;
	case FERRY_UOP_RECV:
		b->recv_armed = false;
		if (!conn_live(b))
			break;
		if (res <= 0) {
			if (res == 0 && b->state == FERRY_UCONN_TLS) {
				ferry_uring_conn_fail(ur, b, -EPIPE, "%s: connection closed by the "
						      "broker during the TLS handshake (is the "
						      "listener a PLAINTEXT one?)", b->name);
				break;
			}
			if (res == 0 && b->state == FERRY_UCONN_NEGOTIATE && b->av_ver > 0) {
				/* §1.6: a broker may hang up on an ApiVersions version it does
				 * not know; the next attempt starts at v0 */
				b->av_ver = 0;
			}
			ferry_uring_conn_fail(ur, b, res == 0 ? -EPIPE : res, "%s: %s", b->name,
					      res == 0 ? "connection closed by the broker"
						       : strerror(-res));
			break;
		}
		ur->st[FERRY_URING_ST_RECVS]++;
		if (b->ssl) {
			/* the write guarantee was asked before the receive: it all fits */
			if (BIO_write(b->nbio, b->tin, res) != res) {
				ferry_uring_conn_fail(ur, b, -EPROTO, "%s: TLS: ciphertext buffer "
						      "full", b->name);
				break;
			}
			if (b->state == FERRY_UCONN_TLS)
				tls_handshake(ur, b);
			else
				tls_read(ur, b);
			break;
		}
		b->rx_end += (size_t)res;
		ur->st[FERRY_URING_ST_RX_BYTES] += (uint64_t)res;
		conn_frames(ur, b);
		break;
	case FERRY_UOP_SEND: {
		size_t left;

		b->send_armed = false;
		if (!conn_live(b))
			break;
		if (res < 0) {
			ferry_uring_conn_fail(ur, b, res, "send to %s: %s", b->name, strerror(-res));
			break;
		}
		if (b->ssl) { /* ciphertext; the plaintext was counted when encrypted */
			b->tout_off += (size_t)res;
			if (b->tout_off == b->tout_len)
				b->tout_off = b->tout_len = 0;
			break;
		}
		ur->st[FERRY_URING_ST_TX_BYTES] += (uint64_t)res;
		left = (size_t)res;
		while (left > 0 && b->iov_head < b->iov_n) {
			struct iovec *v = &b->iov[b->iov_head];

			if (left >= v->iov_len) {
				left -= v->iov_len;
				b->iov_head++;
			} else {
				v->iov_base = (uint8_t *)v->iov_base + left;
				v->iov_len -= left;
				left = 0;
			}
		}
		break;
	}
	default:
		break;
	}
	if (b->state == FERRY_UCONN_CLOSING && b->ops == 0)
		conn_reap(ur, b);
}

/* Connect where needed, time out requests, re-arm receives and sends. */
static int64_t
conn_timers(struct ferry_uring *ur)
{
	int64_t next = INT64_MAX;

	for (unsigned i = 0; i < ur->n_brokers; i++) {
		struct ferry_ubroker *b = &ur->brokers[i];

		if (!b->used)
			continue;
		if (b->state == FERRY_UCONN_DOWN && b->want) {
			if (ur->now_ns >= b->retry_at_ns)
				conn_start(ur, b);
			else if (b->retry_at_ns < next)
				next = b->retry_at_ns;
		}
		if (b->state == FERRY_UCONN_TLS &&
		    ur->now_ns - b->connect_start_ns >
			(int64_t)ur->conf.connect_timeout_ms * 1000000) {
			ur->st[FERRY_URING_ST_TLS_FAILS]++;
			ferry_uring_conn_fail(ur, b, -ETIMEDOUT, "%s: TLS handshake timed out after "
					      "%d ms", b->name, ur->conf.connect_timeout_ms);
			continue;
		}
		if ((b->state == FERRY_UCONN_UP || b->state == FERRY_UCONN_NEGOTIATE) && b->rq_n > 0) {
			int64_t dl = b->rq[b->rq_head].deadline_ns;

			if (ur->now_ns >= dl) {
				ur->st[FERRY_URING_ST_REQ_TIMEOUTS]++;
				ferry_uring_conn_fail(ur, b, -ETIMEDOUT, "%s: %s request timed out",
						      b->name,
						      ferry_kafka_api_name(b->rq[b->rq_head].api));
			} else if (dl < next) {
				next = dl;
			}
		}
	}
	return next;
}

static void
arm_all(struct ferry_uring *ur)
{
	ur->buf_freed = false;
	for (unsigned i = 0; i < ur->n_brokers; i++) {
		struct ferry_ubroker *b = &ur->brokers[i];

		if (!b->used)
			continue;
		conn_arm_recv(ur, b);
		conn_arm_send(ur, b);
	}
}

static int
process_cqes(struct ferry_uring *ur)
{
	struct io_uring_cqe *cqe;
	int n = 0;

	/* One at a time: handlers may queue SQEs and even submit when the SQ is full. */
	while (io_uring_peek_cqe(&ur->ring, &cqe) == 0) {
		struct io_uring_cqe copy = *cqe;

		io_uring_cqe_seen(&ur->ring, cqe);
		handle_cqe(ur, &copy);
		n++;
	}
	return n;
}

int
ferry_uring_poll(struct ferry_uring *ur, int wait_ms)
{
	struct io_uring_cqe *cqe;
	int64_t next;
	int n, rc;

	ur->now_ns = mono_ns();
	ferry_uring_fetch_schedule(ur);
	ferry_uring_produce_schedule(ur);
	next = conn_timers(ur);
	arm_all(ur);
	if (wait_ms > 0) {
		int64_t wait_ns = (int64_t)wait_ms * 1000000;
		struct __kernel_timespec ts;

		if (next != INT64_MAX && next - ur->now_ns < wait_ns)
			wait_ns = next - ur->now_ns > 0 ? next - ur->now_ns : 0;
		ts.tv_sec = wait_ns / 1000000000;
		ts.tv_nsec = wait_ns % 1000000000;
		rc = io_uring_submit_and_wait_timeout(&ur->ring, &cqe, 1, &ts, NULL);
	} else {
		rc = io_uring_submit(&ur->ring);
	}
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		return rc;
	ur->now_ns = mono_ns();
	n = process_cqes(ur);
	for (unsigned i = 0; i < ur->n_brokers; i++)
		conn_reap(ur, &ur->brokers[i]);
	/* act on what the completions changed without waiting for the next round */
	ferry_uring_fetch_schedule(ur);
	ferry_uring_produce_schedule(ur);
	arm_all(ur);
	rc = io_uring_submit(&ur->ring);
	if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		return rc;
	return n;
}
