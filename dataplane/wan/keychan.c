/*
 * keychan.c - the WAN key channel: a TLS 1.3 control connection between the two gateways
 * over kernel TCP (OpenSSL), mutual certificate authentication with the peer's name checked
 * against its certificate, per-epoch secrets from the TLS exporter, and the rekey exchange
 * that hands keys to the workers through their mailboxes (keychan_msg.c).
 *
 * Threads: everything here runs on the control thread. Connect, accept and the handshake
 * block (poll with a deadline, never longer than conf.timeout_ms); afterwards the socket is
 * non-blocking and ferry_wan_keychan_poll() waits at most the time it is given. The workers
 * are reached only through their struct ferry_wan_keybox.
 *
 * Owns: the SSL_CTX (CA store, our certificate and private key), the SSL connection, the
 * sockets, a read buffer of at most two messages and a small inbox of APP messages. Secrets
 * are exported on demand, expanded per worker and wiped right after being queued.
 *
 * Why TLS 1.3 only: its handshake encrypts the certificates, always has forward secrecy and
 * its exporter (RFC 8446 §7.5) is bound to the whole handshake; TLS 1.2 adds nothing ferry
 * needs. Session tickets are off: a gateway pair keeps one long connection, and resumption
 * would only add state to secure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ferry/common.h"
#include "ferry/wan.h"
#include "ferry/wan_keychan.h"

#define NS_PER_MS   UINT64_C(1000000)
#define NAME_MAX_   256
#define INBOX_SLOTS 8

struct kc_app {
	uint16_t len;
	uint8_t data[FERRY_WAN_KC_BODY_MAX];
};

struct ferry_wan_keychan {
	struct ferry_wan_keychan_conf conf;
	char host[NAME_MAX_];
	char peer_name[NAME_MAX_];
	struct ferry_wan_keybox *boxes[FERRY_WAN_LANES_MAX];
	SSL_CTX *ctx;
	SSL *ssl;
	int lfd; /* SERVER: listening socket */
	int fd;  /* the connection */
	uint16_t port;
	bool up; /* HELLO exchanged */
	/* read buffer: bytes received, not yet parsed */
	uint8_t rbuf[2 * FERRY_WAN_KC_MSG_MAX];
	size_t rlen;
	/* epoch exchange (see wan_keychan.h) */
	uint32_t epoch;     /* newest epoch both sides seal under */
	uint32_t next;      /* epoch being exchanged; 0 = idle */
	uint32_t rx_pushed; /* bit per box: RX(next) queued */
	uint32_t tx_pushed; /* bit per box: TX(next) queued */
	bool ready_sent;    /* we told the peer our RX(next) keys are in */
	bool peer_ready;    /* the peer told us its RX(next) keys are in */
	bool force;         /* ferry_wan_keychan_rekey() was called */
	uint64_t idle_since;
	/* APP inbox */
	struct kc_app inbox[INBOX_SLOTS];
	unsigned in_head, in_n;
	struct ferry_wan_keychan_stats st;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The newest OpenSSL error as text ("" if none), and the queue cleared. */
static const char *
ssl_errstr(char *buf, size_t len, unsigned long *code)
{
	unsigned long e = ERR_peek_last_error();
	if (code)
		*code = e;
	if (e == 0) {
		snprintf(buf, len, "no OpenSSL error recorded");
	} else {
		ERR_error_string_n(e, buf, len);
	}
	ERR_clear_error();
	return buf;
}

static bool
copy_name(char *dst, const char *src)
{
	if (src == NULL)
		return false;
	size_t n = strlen(src);
	if (n == 0 || n >= NAME_MAX_)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

void
ferry_wan_keychan_conf_default(struct ferry_wan_keychan_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->role = FERRY_WAN_ROLE_CLIENT;
	conf->host = "127.0.0.1";
	conf->timeout_ms = 10000;
	conf->nqueues = 1;
	conf->nlanes = 1;
	conf->mtu = FERRY_WAN_MTU_DEFAULT;
	/* Installing epoch N+1's receive keys drops epoch N-1 from the keyset: leave packets of
	 * N-1 a second (several RTTs) to arrive before the next rekey may start. */
	conf->rekey_gap_ns = 1000 * NS_PER_MS;
}

/* ---- setup -------------------------------------------------------------------------------- */

static int
ctx_build(struct ferry_wan_keychan *kc, const struct ferry_wan_keychan_conf *c, char *err,
	  size_t errlen)
{
	char e[256];

	kc->ctx = SSL_CTX_new(TLS_method());
	if (kc->ctx == NULL)
		return ferry_errf(-ENOMEM, err, errlen, "keychan: SSL_CTX_new: %s",
			       ssl_errstr(e, sizeof(e), NULL));
	if (SSL_CTX_set_min_proto_version(kc->ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(kc->ctx, TLS1_3_VERSION) != 1)
		return ferry_errf(-EINVAL, err, errlen, "keychan: this OpenSSL cannot do TLS 1.3 only: %s",
			       ssl_errstr(e, sizeof(e), NULL));
	if (SSL_CTX_load_verify_locations(kc->ctx, c->ca_file, NULL) != 1)
		return ferry_errf(-EINVAL, err, errlen, "keychan: CA file %s: %s", c->ca_file,
			       ssl_errstr(e, sizeof(e), NULL));
	if (SSL_CTX_use_certificate_chain_file(kc->ctx, c->cert_file) != 1)
		return ferry_errf(-EINVAL, err, errlen, "keychan: certificate file %s: %s",
			       c->cert_file, ssl_errstr(e, sizeof(e), NULL));
	if (SSL_CTX_use_PrivateKey_file(kc->ctx, c->key_file, SSL_FILETYPE_PEM) != 1)
		return ferry_errf(-EINVAL, err, errlen, "keychan: key file %s: %s", c->key_file,
			       ssl_errstr(e, sizeof(e), NULL));
	if (SSL_CTX_check_private_key(kc->ctx) != 1)
		return ferry_errf(-EINVAL, err, errlen,
			       "keychan: key file %s does not match certificate %s: %s", c->key_file,
			       c->cert_file, ssl_errstr(e, sizeof(e), NULL));
	/* Both roles demand a certificate: a server without FAIL_IF_NO_PEER_CERT would let a
	 * client with no certificate through. */
	SSL_CTX_set_verify(kc->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_num_tickets(kc->ctx, 0);
	SSL_CTX_set_options(kc->ctx, SSL_OP_NO_TICKET);
	return 0;
}

static int
listen_on(struct ferry_wan_keychan *kc, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", kc->conf.port);
	int g = getaddrinfo(kc->host, portstr, &hints, &res);
	if (g != 0)
		return ferry_errf(-EINVAL, err, errlen, "keychan: address %s: %s", kc->host,
			       gai_strerror(g));
	int rc = -EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4) != 0) {
			rc = -errno;
			close(fd);
			continue;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		kc->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							  : ((struct sockaddr_in *)&ss)->sin_port);
		kc->lfd = fd;
		rc = 0;
		break;
	}
	freeaddrinfo(res);
	if (rc != 0)
		return ferry_errf(rc, err, errlen, "keychan: listen on %s:%u: %s", kc->host,
			       kc->conf.port, strerror(-rc));
	return 0;
}

struct ferry_wan_keychan *
ferry_wan_keychan_create(const struct ferry_wan_keychan_conf *conf, char *err, size_t errlen)
{
	struct ferry_wan_keychan *kc;
	int rc;

	if (conf->role != FERRY_WAN_ROLE_CLIENT && conf->role != FERRY_WAN_ROLE_SERVER) {
		rc = ferry_errf(-EINVAL, err, errlen, "keychan: role %d unknown", (int)conf->role);
		goto err;
	}
	if (!conf->ca_file || !conf->cert_file || !conf->key_file) {
		rc = ferry_errf(-EINVAL, err, errlen, "keychan: CA, certificate and key files are all "
						   "required (mutual authentication)");
		goto err;
	}
	if (conf->nqueues == 0 || conf->nqueues > FERRY_WAN_LANES_MAX || conf->nlanes == 0 ||
	    conf->nlanes > FERRY_WAN_LANES_MAX || conf->mtu < FERRY_WAN_MTU_MIN ||
	    conf->mtu > FERRY_WAN_MTU_MAX || conf->timeout_ms == 0) {
		rc = ferry_errf(-EINVAL, err, errlen,
			     "keychan: queues %u, lanes %u (1..%d each), MTU %u or timeout 0 out of "
			     "range",
			     conf->nqueues, conf->nlanes, FERRY_WAN_LANES_MAX, conf->mtu);
		goto err;
	}
	kc = calloc(1, sizeof(*kc));
	if (kc == NULL) {
		rc = ferry_errf(-ENOMEM, err, errlen, "keychan: out of memory");
		goto err;
	}
	kc->conf = *conf;
	kc->lfd = kc->fd = -1;
	if (!copy_name(kc->host, conf->host) || !copy_name(kc->peer_name, conf->peer_name)) {
		rc = ferry_errf(-EINVAL, err, errlen, "keychan: host and peer name are required "
						   "(1..255 characters)");
		goto out_free_kc;
	}
	for (unsigned i = 0; i < conf->nqueues; i++) {
		if (conf->boxes == NULL || conf->boxes[i] == NULL) {
			rc = ferry_errf(-EINVAL, err, errlen, "keychan: no key mailbox for queue %u",
				     i);
			goto out_free_kc;
		}
		kc->boxes[i] = conf->boxes[i];
	}
	kc->conf.boxes = NULL; /* the caller's array may go; kc->boxes holds the pointers */
	kc->conf.host = kc->host;
	kc->conf.peer_name = kc->peer_name;
	/* The file names are used here only: the context keeps what they hold. */
	kc->conf.ca_file = kc->conf.cert_file = kc->conf.key_file = NULL;

	rc = ctx_build(kc, conf, err, errlen);
	if (rc != 0)
		goto out_free_ctx;
	if (conf->role == FERRY_WAN_ROLE_SERVER) {
		rc = listen_on(kc, err, errlen);
		if (rc != 0)
			goto out_free_ctx;
	}
	return kc;

out_free_ctx:
	SSL_CTX_free(kc->ctx);
out_free_kc:
	free(kc);
err:
	errno = -rc;
	return NULL;
}

uint16_t
ferry_wan_keychan_port(const struct ferry_wan_keychan *kc)
{
	return kc->port;
}

/* ---- I/O helpers ------------------------------------------------------------------------ */

static int
wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		uint64_t ms = (deadline - now + NS_PER_MS - 1) / NS_PER_MS;
		struct pollfd p = { .fd = fd, .events = ev };
		int n = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static bool
is_auth_reason(unsigned long code)
{
	switch (ERR_GET_REASON(code)) {
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		return true;
	default:
		return false;
	}
}

/*
 * Turn a failed SSL call into 0 ("wait and retry": the wait is done here, up to deadline)
 * or a negative errno with a message saying what the peer or we refused.
 */
static int
ssl_wait_or_fail(struct ferry_wan_keychan *kc, int ret, uint64_t deadline, const char *what,
		 char *err, size_t errlen)
{
	char e[256];
	unsigned long code;
	int se = SSL_get_error(kc->ssl, ret);

	switch (se) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE: {
		int rc = wait_fd(kc->fd, se == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (rc != 0)
			return ferry_errf(rc, err, errlen, "keychan: %s with %s: %s", what,
				       kc->peer_name, rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		return 0;
	}
	case SSL_ERROR_ZERO_RETURN:
		return ferry_errf(-ECONNRESET, err, errlen, "keychan: %s: %s closed the connection",
			       what, kc->peer_name);
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		return ferry_errf(-ECONNRESET, err, errlen, "keychan: %s with %s: connection lost (%s)",
			       what, kc->peer_name, errno ? strerror(errno) : "EOF");
	default:
		break;
	}
	ssl_errstr(e, sizeof(e), &code);
	long vr = SSL_get_verify_result(kc->ssl);
	if (vr != X509_V_OK)
		return ferry_errf(-EACCES, err, errlen,
			       "keychan: refused peer %s: certificate verification failed: %s",
			       kc->peer_name, X509_verify_cert_error_string(vr));
	if (ERR_GET_REASON(code) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		return ferry_errf(-EACCES, err, errlen,
			       "keychan: refused peer %s: it sent no certificate (mutual "
			       "authentication is required)",
			       kc->peer_name);
	if (is_auth_reason(code))
		return ferry_errf(-EACCES, err, errlen,
			       "keychan: %s refused our certificate during %s: %s", kc->peer_name,
			       what, e);
	if (ERR_GET_REASON(code) == SSL_R_UNSUPPORTED_PROTOCOL ||
	    ERR_GET_REASON(code) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
	    ERR_GET_REASON(code) == SSL_R_NO_PROTOCOLS_AVAILABLE)
		return ferry_errf(-EPROTO, err, errlen,
			       "keychan: refused peer %s: it does not speak TLS 1.3 (%s)",
			       kc->peer_name, e);
	return ferry_errf(-EPROTO, err, errlen, "keychan: %s with %s failed: %s", what, kc->peer_name,
		       e);
}

static int
ssl_write_all(struct ferry_wan_keychan *kc, const uint8_t *p, size_t len, char *err,
	      size_t errlen)
{
	uint64_t deadline = now_ns() + (uint64_t)kc->conf.timeout_ms * NS_PER_MS;
	while (len > 0) {
		size_t w = 0;
		int ret = SSL_write_ex(kc->ssl, p, len, &w);
		if (ret == 1) {
			p += w;
			len -= w;
			continue;
		}
		int rc = ssl_wait_or_fail(kc, ret, deadline, "write", err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
send_msg(struct ferry_wan_keychan *kc, const struct ferry_wan_kc_msg *m, char *err, size_t errlen)
{
	uint8_t buf[FERRY_WAN_KC_MSG_MAX];
	struct ferry_wr w;
	ferry_wr_init(&w, buf, sizeof(buf));
	int rc = ferry_wan_kc_msg_encode(&w, m);
	if (rc != 0)
		return ferry_errf(-EINVAL, err, errlen, "keychan: cannot encode %s (error %d)",
			       ferry_wan_kc_type_name(m->type), rc);
	rc = ssl_write_all(kc, buf, w.len, err, errlen);
	if (rc == 0)
		kc->st.msgs_out++;
	return rc;
}

/* Read what is available into rbuf without waiting. >0 bytes, 0 nothing yet, <0 error. */
static int
read_avail(struct ferry_wan_keychan *kc, char *err, size_t errlen)
{
	size_t got = 0;
	while (kc->rlen < sizeof(kc->rbuf)) {
		size_t n = 0;
		int ret = SSL_read_ex(kc->ssl, kc->rbuf + kc->rlen, sizeof(kc->rbuf) - kc->rlen, &n);
		if (ret == 1) {
			kc->rlen += n;
			got += n;
			continue;
		}
		int se = SSL_get_error(kc->ssl, ret);
		if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			break;
		}
		/* A deadline in the past: the wait path is never taken here. The error text is
		 * kept; the bytes read before it are still parsed by the caller. */
		return ssl_wait_or_fail(kc, ret, 0, "read", err, errlen);
	}
	return got > 0 ? 1 : 0;
}

/* ---- the epoch exchange ----------------------------------------------------------------- */

static uint32_t
all_boxes_mask(const struct ferry_wan_keychan *kc)
{
	return (uint32_t)((UINT64_C(1) << kc->conf.nqueues) - 1);
}

/* Queue keys of 'epoch' (kind RX or TX) for every box not yet done; progress in *mask. */
static int
push_keys(struct ferry_wan_keychan *kc, enum ferry_wan_keymsg_kind kind, uint32_t epoch,
	  uint32_t *mask, char *err, size_t errlen)
{
	uint8_t secret[FERRY_WAN_KC_SECRET_LEN];
	int rc = ferry_wan_keychan_secret(kc, epoch, secret);
	if (rc != 0)
		return ferry_errf(rc, err, errlen, "keychan: TLS exporter for epoch %u failed", epoch);
	for (unsigned i = 0; i < kc->conf.nqueues && rc == 0; i++) {
		if (*mask & (1u << i))
			continue;
		struct ferry_wan_key_material tx, rx;
		/* stream = queue index: every worker seals in its own nonce space. */
		rc = ferry_wan_kdf(secret, sizeof(secret), kc->conf.role, epoch, i, &tx, &rx, err,
				   errlen);
		if (rc == 0) {
			if (ferry_wan_keybox_push(kc->boxes[i], kind, epoch,
						  kind == FERRY_WAN_KEYMSG_RX ? &rx : &tx) == 0)
				*mask |= 1u << i;
			/* -ENOBUFS: that worker is behind; the next poll retries. */
		}
		ferry_wan_key_wipe(&tx);
		ferry_wan_key_wipe(&rx);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

static bool
boxes_reached(const struct ferry_wan_keychan *kc, bool tx, uint32_t epoch)
{
	for (unsigned i = 0; i < kc->conf.nqueues; i++) {
		const struct ferry_wan_keybox *b = kc->boxes[i];
		uint32_t e = atomic_load_explicit(tx ? &b->tx_epoch : &b->rx_epoch,
						  memory_order_acquire);
		if (e < epoch)
			return false;
	}
	return true;
}

static void
exchange_start(struct ferry_wan_keychan *kc, uint32_t epoch)
{
	kc->next = epoch;
	kc->rx_pushed = kc->tx_pushed = 0;
	kc->ready_sent = kc->peer_ready = false;
}

static int
exchange_step(struct ferry_wan_keychan *kc, char *err, size_t errlen)
{
	uint64_t now = now_ns();
	int rc;

	for (unsigned i = 0; i < kc->conf.nqueues; i++)
		if (atomic_load_explicit(&kc->boxes[i]->install_errors, memory_order_acquire))
			return ferry_errf(-EIO, err, errlen,
				       "keychan: worker %u refused a key (epoch out of sequence)", i);
	if (kc->next == 0) {
		bool want = kc->force;
		for (unsigned i = 0; i < kc->conf.nqueues && !want; i++)
			want = atomic_load_explicit(&kc->boxes[i]->rekey_wanted,
						    memory_order_acquire);
		if (!want || kc->epoch == 0 || kc->epoch == UINT32_MAX)
			return 0;
		if (!kc->force && now - kc->idle_since < kc->conf.rekey_gap_ns)
			return 0;
		exchange_start(kc, kc->epoch + 1);
		kc->st.rekeys_started++;
	}
	uint32_t all = all_boxes_mask(kc);
	if (kc->rx_pushed != all) {
		rc = push_keys(kc, FERRY_WAN_KEYMSG_RX, kc->next, &kc->rx_pushed, err, errlen);
		if (rc != 0)
			return rc;
	}
	if (kc->rx_pushed == all && !kc->ready_sent && boxes_reached(kc, false, kc->next)) {
		/* Our workers open epoch next now: the peer may seal under it. */
		struct ferry_wan_kc_msg m = {
			.type = kc->peer_ready ? FERRY_WAN_KC_REKEY_ACK : FERRY_WAN_KC_REKEY,
			.epoch = kc->next,
		};
		rc = send_msg(kc, &m, err, errlen);
		if (rc != 0)
			return rc;
		kc->ready_sent = true;
	}
	if (kc->peer_ready && kc->tx_pushed != all) {
		/* The peer opens epoch next: seal under it. */
		rc = push_keys(kc, FERRY_WAN_KEYMSG_TX, kc->next, &kc->tx_pushed, err, errlen);
		if (rc != 0)
			return rc;
	}
	if (kc->ready_sent && kc->tx_pushed == all && boxes_reached(kc, true, kc->next)) {
		kc->epoch = kc->next;
		kc->next = 0;
		kc->force = false;
		kc->idle_since = now;
		kc->st.rekeys_done++;
	}
	return 0;
}

static int
handle_msg(struct ferry_wan_keychan *kc, const struct ferry_wan_kc_msg *m, char *err,
	   size_t errlen)
{
	kc->st.msgs_in++;
	switch (m->type) {
	case FERRY_WAN_KC_REKEY:
		/* The peer's receive keys for m->epoch are in. Either it asks first (we are
		 * idle and it is our next epoch) or we both asked at once. */
		if (kc->next == 0 && m->epoch == kc->epoch + 1) {
			exchange_start(kc, m->epoch);
		} else if (kc->next != m->epoch || kc->peer_ready) {
			return ferry_errf(-EPROTO, err, errlen,
				       "keychan: %s sent REKEY(%u) while epoch is %u and %u is being "
				       "exchanged",
				       kc->peer_name, m->epoch, kc->epoch, kc->next);
		}
		kc->peer_ready = true;
		return 0;
	case FERRY_WAN_KC_REKEY_ACK:
		if (kc->next != m->epoch || !kc->ready_sent || kc->peer_ready)
			return ferry_errf(-EPROTO, err, errlen,
				       "keychan: %s sent REKEY_ACK(%u) unasked (epoch %u, exchanging "
				       "%u)",
				       kc->peer_name, m->epoch, kc->epoch, kc->next);
		kc->peer_ready = true;
		return 0;
	case FERRY_WAN_KC_APP:
		kc->st.app_in++;
		if (kc->in_n == INBOX_SLOTS) {
			kc->st.app_dropped++;
			return 0;
		}
		struct kc_app *a = &kc->inbox[(kc->in_head + kc->in_n) % INBOX_SLOTS];
		a->len = (uint16_t)m->body.len;
		if (m->body.len)
			memcpy(a->data, m->body.p, m->body.len);
		kc->in_n++;
		return 0;
	case FERRY_WAN_KC_CLOSE:
		return ferry_errf(-ECONNRESET, err, errlen, "keychan: %s closed the channel: %u %.*s",
			       kc->peer_name, m->code, (int)m->body.len, (const char *)m->body.p);
	default:
		return ferry_errf(-EPROTO, err, errlen, "keychan: %s sent %s after the handshake",
			       kc->peer_name, ferry_wan_kc_type_name(m->type));
	}
}

/* Parse and handle every whole message in rbuf. */
static int
drain_rbuf(struct ferry_wan_keychan *kc, char *err, size_t errlen)
{
	size_t off = 0;
	int rc = 0;
	while (off < kc->rlen) {
		struct ferry_wan_kc_msg m;
		size_t used;
		char perr[160];
		int prc = ferry_wan_kc_msg_parse(ferry_span_make(kc->rbuf + off, kc->rlen - off), &m,
						 &used, perr, sizeof(perr));
		if (prc == FERRY_ERR__PARTIAL)
			break;
		if (prc != 0) {
			rc = ferry_errf(-EPROTO, err, errlen, "keychan: bad message from %s: %s",
				     kc->peer_name, perr);
			break;
		}
		/* an application message waits in rbuf while the inbox is full (never dropped:
		 * a lost COMMIT left a source a few offsets short for good), and rbuf full
		 * stops reading: back-pressure to the peer through TCP */
		if (m.type == FERRY_WAN_KC_APP && kc->in_n == INBOX_SLOTS)
			break;
		rc = handle_msg(kc, &m, err, errlen);
		off += used;
		if (rc != 0)
			break;
	}
	memmove(kc->rbuf, kc->rbuf + off, kc->rlen - off);
	kc->rlen -= off;
	return rc;
}

/* ---- establish ------------------------------------------------------------------------------ */

static int
tcp_connect(struct ferry_wan_keychan *kc, uint64_t deadline, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	char portstr[8];
	int rc = -ECONNREFUSED;

	snprintf(portstr, sizeof(portstr), "%u", kc->conf.port);
	int g = getaddrinfo(kc->host, portstr, &hints, &res);
	if (g != 0)
		return ferry_errf(-EINVAL, err, errlen, "keychan: address %s: %s", kc->host,
			       gai_strerror(g));
	/* The peer gateway may start after us: retry refused connections until the deadline. */
	while (now_ns() < deadline) {
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
					ai->ai_protocol);
			if (fd < 0) {
				rc = -errno;
				continue;
			}
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
				rc = -errno;
				close(fd);
				continue;
			}
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc == 0) {
				int so = 0;
				socklen_t sl = sizeof(so);
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
				rc = -so;
			}
			if (rc == 0) {
				kc->fd = fd;
				freeaddrinfo(res);
				return 0;
			}
			close(fd);
		}
		if (rc == -ETIMEDOUT)
			break;
		struct timespec ts = { 0, 50 * 1000000 };
		nanosleep(&ts, NULL);
	}
	freeaddrinfo(res);
	return ferry_errf(rc == -ECONNREFUSED || rc == -ETIMEDOUT ? -ETIMEDOUT : rc, err, errlen,
		       "keychan: connect to %s:%u: %s (gave up after %u ms)", kc->host,
		       kc->conf.port, strerror(-rc), kc->conf.timeout_ms);
}

static int
tcp_accept(struct ferry_wan_keychan *kc, uint64_t deadline, char *err, size_t errlen)
{
	int rc = wait_fd(kc->lfd, POLLIN, deadline);
	if (rc != 0)
		return ferry_errf(rc, err, errlen, "keychan: no connection from %s on %s:%u in %u ms",
			       kc->peer_name, kc->host, kc->port, kc->conf.timeout_ms);
	int fd = accept4(kc->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return ferry_errf(-errno, err, errlen, "keychan: accept: %s", strerror(errno));
	kc->fd = fd;
	return 0;
}

int
ferry_wan_keychan_establish(struct ferry_wan_keychan *kc, char *err, size_t errlen)
{
	uint64_t deadline = now_ns() + (uint64_t)kc->conf.timeout_ms * NS_PER_MS;
	char e[256];
	int rc;

	if (kc->ssl != NULL)
		return ferry_errf(-EISCONN, err, errlen, "keychan: already established");
	rc = kc->conf.role == FERRY_WAN_ROLE_SERVER ? tcp_accept(kc, deadline, err, errlen)
						    : tcp_connect(kc, deadline, err, errlen);
	if (rc != 0)
		return rc;
	int one = 1;
	setsockopt(kc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	kc->ssl = SSL_new(kc->ctx);
	if (kc->ssl == NULL) {
		rc = ferry_errf(-ENOMEM, err, errlen, "keychan: SSL_new: %s",
			     ssl_errstr(e, sizeof(e), NULL));
		goto out_close;
	}
	/* The peer's certificate must name it (DNS SAN, or CN when there is no SAN) in both
	 * directions: a valid certificate of some other host under the same CA is refused. */
	X509_VERIFY_PARAM *vp = SSL_get0_param(kc->ssl);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(kc->ssl, kc->peer_name) != 1 || SSL_set_fd(kc->ssl, kc->fd) != 1) {
		rc = ferry_errf(-EINVAL, err, errlen, "keychan: peer name %s: %s", kc->peer_name,
			     ssl_errstr(e, sizeof(e), NULL));
		goto out_free_ssl;
	}
	if (kc->conf.role == FERRY_WAN_ROLE_CLIENT) {
		SSL_set_tlsext_host_name(kc->ssl, kc->peer_name);
		SSL_set_connect_state(kc->ssl);
	} else {
		SSL_set_accept_state(kc->ssl);
	}
	for (;;) {
		int ret = SSL_do_handshake(kc->ssl);
		if (ret == 1)
			break;
		rc = ssl_wait_or_fail(kc, ret, deadline, "TLS handshake", err, errlen);
		if (rc != 0)
			goto out_free_ssl;
	}
	if (SSL_version(kc->ssl) != TLS1_3_VERSION) {
		rc = ferry_errf(-EPROTO, err, errlen, "keychan: %s negotiated %s, not TLS 1.3",
			     kc->peer_name, SSL_get_version(kc->ssl));
		goto out_free_ssl;
	}

	/* HELLO both ways, the server's first. In TLS 1.3 a client's handshake ends before the
	 * server has checked the client's certificate, so a refusal of the client's certificate
	 * reaches the client as an alert in place of the server's HELLO. The client reads before
	 * it writes: writing first could meet the server's closed socket, and the reset would
	 * hide the alert that says why. */
	struct ferry_wan_kc_msg hello = {
		.type = FERRY_WAN_KC_HELLO,
		.epoch = 1,
		.nqueues = kc->conf.nqueues,
		.nlanes = kc->conf.nlanes,
		.mtu = kc->conf.mtu,
	};
	if (kc->conf.role == FERRY_WAN_ROLE_SERVER) {
		rc = send_msg(kc, &hello, err, errlen);
		if (rc != 0)
			goto out_free_ssl;
	}
	struct ferry_wan_kc_msg m;
	size_t used;
	for (;;) {
		char perr[160];
		int prc = ferry_wan_kc_msg_parse(ferry_span_make(kc->rbuf, kc->rlen), &m, &used,
						 perr, sizeof(perr));
		if (prc == 0)
			break;
		if (prc != FERRY_ERR__PARTIAL) {
			rc = ferry_errf(-EPROTO, err, errlen, "keychan: bad HELLO from %s: %s",
				     kc->peer_name, perr);
			goto out_free_ssl;
		}
		size_t n = 0;
		int ret = SSL_read_ex(kc->ssl, kc->rbuf + kc->rlen, sizeof(kc->rbuf) - kc->rlen, &n);
		if (ret == 1) {
			kc->rlen += n;
			continue;
		}
		rc = ssl_wait_or_fail(kc, ret, deadline, "HELLO", err, errlen);
		if (rc != 0)
			goto out_free_ssl;
	}
	kc->st.msgs_in++;
	if (kc->conf.role == FERRY_WAN_ROLE_CLIENT) {
		rc = send_msg(kc, &hello, err, errlen);
		if (rc != 0)
			goto out_free_ssl;
	}
	if (m.type != FERRY_WAN_KC_HELLO || m.epoch != 1) {
		rc = ferry_errf(-EPROTO, err, errlen, "keychan: %s sent %s(%u) first, not HELLO(1)",
			     kc->peer_name, ferry_wan_kc_type_name(m.type), m.epoch);
		goto out_free_ssl;
	}
	if (m.nqueues != kc->conf.nqueues || m.nlanes != kc->conf.nlanes ||
	    m.mtu != kc->conf.mtu) {
		char reason[FERRY_WAN_KC_REASON_MAX];
		snprintf(reason, sizeof(reason),
			 "configuration mismatch: queues %u/%u lanes %u/%u mtu %u/%u (ours/peer's)",
			 kc->conf.nqueues, m.nqueues, kc->conf.nlanes, m.nlanes, kc->conf.mtu,
			 m.mtu);
		ferry_wan_keychan_close(kc, 1, reason);
		return ferry_errf(-EPROTO, err, errlen, "keychan: %s: %s", kc->peer_name, reason);
	}
	memmove(kc->rbuf, kc->rbuf + used, kc->rlen - used);
	kc->rlen -= used;
	kc->up = true;
	/* Both sides ask for epoch 1 at once; the exchange completes in _poll. */
	exchange_start(kc, 1);
	rc = exchange_step(kc, err, errlen);
	if (rc == 0)
		rc = drain_rbuf(kc, err, errlen);
	return rc;

out_free_ssl:
	SSL_free(kc->ssl);
	kc->ssl = NULL;
out_close:
	close(kc->fd);
	kc->fd = -1;
	return rc;
}

/* ---- running ---------------------------------------------------------------------------- */

int
ferry_wan_keychan_poll(struct ferry_wan_keychan *kc, int timeout_ms, char *err, size_t errlen)
{
	if (!kc->up)
		return ferry_errf(-ENOTCONN, err, errlen, "keychan: not established");
	int rc = exchange_step(kc, err, errlen);
	if (rc != 0)
		return rc;
	/* messages left in rbuf by a full inbox go first */
	if ((rc = drain_rbuf(kc, err, errlen)) != 0)
		return rc;
	rc = read_avail(kc, err, errlen);
	if (rc == 0 && timeout_ms > 0 && kc->in_n == 0) {
		struct pollfd p = { .fd = kc->fd, .events = POLLIN };
		if (poll(&p, 1, timeout_ms) > 0)
			rc = read_avail(kc, err, errlen);
	}
	/* Messages read before an error first: a CLOSE followed by the TLS close_notify must
	 * report the peer's reason, not just "closed". */
	int drc = drain_rbuf(kc, err, errlen);
	if (drc != 0)
		return drc;
	if (rc < 0) {
		if (kc->rlen) /* a message cut by the end of the connection */
			return ferry_errf(rc, err, errlen, "keychan: %s: connection ended inside a "
							"message",
				       kc->peer_name);
		return rc;
	}
	return exchange_step(kc, err, errlen);
}

int
ferry_wan_keychan_rekey(struct ferry_wan_keychan *kc)
{
	if (!kc->up || kc->next != 0 || kc->epoch == 0)
		return -EBUSY;
	kc->force = true;
	return 0;
}

uint32_t
ferry_wan_keychan_epoch(const struct ferry_wan_keychan *kc)
{
	return kc->epoch;
}

bool
ferry_wan_keychan_idle(const struct ferry_wan_keychan *kc)
{
	return kc->next == 0 && !kc->force;
}

int
ferry_wan_keychan_secret(struct ferry_wan_keychan *kc, uint32_t epoch,
			 uint8_t out[FERRY_WAN_KC_SECRET_LEN])
{
	uint8_t ctx[4];
	if (kc->ssl == NULL)
		return -ENOTCONN;
	ferry_put_be32(ctx, epoch);
	if (SSL_export_keying_material(kc->ssl, out, FERRY_WAN_KC_SECRET_LEN,
				       FERRY_WAN_KC_EXPORTER_LABEL,
				       sizeof(FERRY_WAN_KC_EXPORTER_LABEL) - 1, ctx, sizeof(ctx),
				       1) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

int
ferry_wan_keychan_send_app(struct ferry_wan_keychan *kc, const void *p, size_t len, char *err,
			   size_t errlen)
{
	if (!kc->up)
		return ferry_errf(-ENOTCONN, err, errlen, "keychan: not established");
	struct ferry_wan_kc_msg m = { .type = FERRY_WAN_KC_APP, .body = ferry_span_make(p, len) };
	int rc = send_msg(kc, &m, err, errlen);
	if (rc == 0)
		kc->st.app_out++;
	return rc;
}

int
ferry_wan_keychan_recv_app(struct ferry_wan_keychan *kc, void *buf, size_t cap)
{
	if (kc->in_n == 0)
		return -EAGAIN;
	struct kc_app *a = &kc->inbox[kc->in_head];
	if (a->len > cap)
		return -ENOSPC;
	memcpy(buf, a->data, a->len);
	kc->in_head = (kc->in_head + 1) % INBOX_SLOTS;
	kc->in_n--;
	return a->len;
}

void
ferry_wan_keychan_close(struct ferry_wan_keychan *kc, uint16_t code, const char *reason)
{
	if (kc->ssl == NULL)
		return;
	size_t rl = reason ? strnlen(reason, FERRY_WAN_KC_REASON_MAX) : 0;
	struct ferry_wan_kc_msg m = { .type = FERRY_WAN_KC_CLOSE, .code = code,
				      .body = ferry_span_make(reason, rl) };
	char e[64];
	send_msg(kc, &m, e, sizeof(e));
	SSL_shutdown(kc->ssl);
	ERR_clear_error();
	SSL_free(kc->ssl);
	kc->ssl = NULL;
	close(kc->fd);
	kc->fd = -1;
	kc->up = false;
}

int
ferry_wan_keychan_fd(const struct ferry_wan_keychan *kc)
{
	return kc->fd;
}

const struct ferry_wan_keychan_stats *
ferry_wan_keychan_stats(const struct ferry_wan_keychan *kc)
{
	return &kc->st;
}

void
ferry_wan_keychan_free(struct ferry_wan_keychan *kc)
{
	if (kc == NULL)
		return;
	if (kc->ssl) {
		SSL_free(kc->ssl); /* no CLOSE: the caller chose not to send one */
		kc->ssl = NULL;
	}
	if (kc->fd >= 0)
		close(kc->fd);
	if (kc->lfd >= 0)
		close(kc->lfd);
	SSL_CTX_free(kc->ctx); /* frees the private key it holds */
	OPENSSL_cleanse(kc, sizeof(*kc));
	free(kc);
}
