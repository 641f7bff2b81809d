/*
 * tls.c - TLS to the brokers for the io_uring data path (security.protocol=SSL): the OpenSSL
 * client context and one session per broker connection.
 *
 * Thread: the owner of the struct ferry_uring. Owns: the SSL_CTX (ur->tls_ctx) and each
 * connection's SSL object and BIO pair.
 *
 * OpenSSL never touches the socket. Each session talks to one end of a BIO pair; conn.c
 * writes the ciphertext the kernel received into the other end (nbio) and sends what OpenSSL
 * left there, with the same io_uring receive and send operations as a plaintext connection.
 * So the ring stays the only place that blocks, and a slow broker never stalls the thread.
 * Verification follows librdkafka's defaults: the chain must lead to ssl.ca.location (or the
 * system store) and, with ssl.endpoint.identification.algorithm=https, the certificate must
 * name the host the broker was reached by (DNS name or IP address).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "uring_int.h"

/* BIO pair buffer per direction: a little more than the largest TLS record (16 KiB + 2 KiB
 * overhead), several times over, so a receive of FERRY_UTLS_IN always fits. */
#define PAIR_BUF (FERRY_UTLS_IN + (64u << 10))

static int
pw_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pw = u;
	(void)rwflag;
	if (pw == NULL)
		return 0;
	int n = (int)strlen(pw);
	if (n > size)
		n = size;
	memcpy(buf, pw, (size_t)n);
	return n;
}

/* The first error on OpenSSL's queue, emptied. */
static void
ssl_errstr(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(buf, len, "no further detail");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

int
ferry_uring_tls_init(struct ferry_uring *ur, char *err, size_t errlen)
{
	const struct ferry_uring_conf *c = &ur->conf;
	char why[256];
	SSL_CTX *ctx;

	if (!c->tls)
		return 0;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		ssl_errstr(why, sizeof(why));
		snprintf(err, errlen, "uring: TLS context: %s", why);
		return -ENOMEM;
	}
	/* Kafka brokers speak TLS 1.2 and 1.3 (librdkafka's floor is 1.2 too) */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (c->tls_ca_file ? SSL_CTX_load_verify_locations(ctx, c->tls_ca_file, NULL) != 1
			   : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ssl_errstr(why, sizeof(why));
		snprintf(err, errlen, "uring: ssl.ca.location %s: %s",
			 c->tls_ca_file ? c->tls_ca_file : "(system store)", why);
		goto out_free_ctx;
	}
	if (c->tls_cert_file || c->tls_key_file) {
		if (!c->tls_cert_file || !c->tls_key_file) {
			snprintf(err, errlen, "uring: ssl.certificate.location and ssl.key.location "
				 "go together");
			goto out_free_ctx;
		}
		SSL_CTX_set_default_passwd_cb(ctx, pw_cb);
		SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)c->tls_key_password);
		if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert_file) != 1) {
			ssl_errstr(why, sizeof(why));
			snprintf(err, errlen, "uring: ssl.certificate.location %s: %s",
				 c->tls_cert_file, why);
			goto out_free_ctx;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			ssl_errstr(why, sizeof(why));
			snprintf(err, errlen, "uring: ssl.key.location %s: %s", c->tls_key_file,
				 why);
			goto out_free_ctx;
		}
	}
	ur->tls_ctx = ctx;
	return 0;

out_free_ctx:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

void
ferry_uring_tls_fini(struct ferry_uring *ur)
{
	for (unsigned i = 0; ur->brokers && i < ur->conf.max_brokers; i++) {
		ferry_uring_tls_close(&ur->brokers[i]);
		free(ur->brokers[i].tin);
		free(ur->brokers[i].tout);
		ur->brokers[i].tin = ur->brokers[i].tout = NULL;
	}
	SSL_CTX_free(ur->tls_ctx);
	ur->tls_ctx = NULL;
}

int
ferry_uring_tls_open(struct ferry_uring *ur, struct ferry_ubroker *b, char *err, size_t errlen)
{
	char why[256];
	BIO *ibio = NULL;
	struct in6_addr a6;

	if (b->tin == NULL && (b->tin = malloc(FERRY_UTLS_IN)) == NULL) {
		snprintf(err, errlen, "%s: TLS: out of memory", b->name);
		return -ENOMEM;
	}
	b->tout_off = b->tout_len = 0;
	b->ssl = SSL_new(ur->tls_ctx);
	if (b->ssl == NULL || BIO_new_bio_pair(&ibio, PAIR_BUF, &b->nbio, PAIR_BUF) != 1)
		goto out_ssl;
	SSL_set_bio(b->ssl, ibio, ibio);
	SSL_set_connect_state(b->ssl);
	bool ip = inet_pton(AF_INET, b->host, &a6) == 1 || inet_pton(AF_INET6, b->host, &a6) == 1;
	/* SNI carries names only (RFC 6066) */
	if (!ip && SSL_set_tlsext_host_name(b->ssl, b->host) != 1)
		goto out_ssl;
	if (ur->conf.tls_verify_host) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(b->ssl);
		if (ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, b->host) != 1
		       : SSL_set1_host(b->ssl, b->host) != 1)
			goto out_ssl;
	}
	return 0;

out_ssl:
	ssl_errstr(why, sizeof(why));
	snprintf(err, errlen, "%s: TLS session: %s", b->name, why);
	ferry_uring_tls_close(b);
	return -ENOMEM;
}

void
ferry_uring_tls_close(struct ferry_ubroker *b)
{
	if (b->ssl)
		SSL_free(b->ssl); /* frees the internal end of the pair */
	b->ssl = NULL;
	if (b->nbio)
		BIO_free(b->nbio);
	b->nbio = NULL;
	b->tout_off = b->tout_len = 0;
}

int
ferry_uring_tls_drain(struct ferry_ubroker *b)
{
	for (;;) {
		size_t pend = BIO_ctrl_pending(b->nbio);
		if (pend == 0)
			return 0;
		if (b->tout_off > 0 && b->tout_off == b->tout_len)
			b->tout_off = b->tout_len = 0;
		if (b->tout_len + pend > b->tout_cap) {
			size_t cap = b->tout_cap ? b->tout_cap : (64u << 10);
			while (cap < b->tout_len + pend)
				cap *= 2;
			uint8_t *n = realloc(b->tout, cap);
			if (n == NULL)
				return -ENOMEM;
			b->tout = n;
			b->tout_cap = cap;
		}
		int r = BIO_read(b->nbio, b->tout + b->tout_len, (int)pend);
		if (r <= 0)
			return 0;
		b->tout_len += (size_t)r;
	}
}

void
ferry_uring_tls_why(struct ferry_ubroker *b, int e, char *buf, size_t len)
{
	char why[256];
	long vr = b->ssl ? SSL_get_verify_result(b->ssl) : X509_V_OK;

	if (vr != X509_V_OK) {
		/* the alert OpenSSL sent says little; the verification result names the cause */
		snprintf(buf, len, "certificate verification failed: %s",
			 X509_verify_cert_error_string(vr));
		ERR_clear_error();
		return;
	}
	ssl_errstr(why, sizeof(why));
	snprintf(buf, len, "%s (SSL error %d)", why, e);
}
