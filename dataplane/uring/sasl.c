/*
 * sasl.c - SASL client mechanisms for the io_uring data path (see sasl.h): PLAIN and
 * SCRAM-SHA-256/512. Pure functions over byte spans plus OpenSSL's digests, so the RFC 7677
 * test vector checks them without a broker.
 *
 * Thread: the owner of the struct ferry_uring. Owns nothing beyond the struct ferry_scram the
 * caller holds. The password never leaves this file's stack except as the proof.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "ferry/uring.h"
#include "sasl.h"

enum ferry_sasl_mech
ferry_sasl_mech_parse(const char *name)
{
	if (name == NULL)
		return FERRY_SASL_NONE;
	if (strcasecmp(name, "PLAIN") == 0)
		return FERRY_SASL_PLAIN;
	if (strcasecmp(name, "SCRAM-SHA-256") == 0)
		return FERRY_SASL_SCRAM_SHA_256;
	if (strcasecmp(name, "SCRAM-SHA-512") == 0)
		return FERRY_SASL_SCRAM_SHA_512;
	return FERRY_SASL_NONE;
}

bool
ferry_uring_sasl_supported(const char *name)
{
	return ferry_sasl_mech_parse(name) != FERRY_SASL_NONE;
}

const char *
ferry_sasl_mech_name(enum ferry_sasl_mech m)
{
	switch (m) {
	case FERRY_SASL_PLAIN: return "PLAIN";
	case FERRY_SASL_SCRAM_SHA_256: return "SCRAM-SHA-256";
	case FERRY_SASL_SCRAM_SHA_512: return "SCRAM-SHA-512";
	default: return "none";
	}
}

int
ferry_sasl_plain(const char *user, const char *password, uint8_t *out, size_t cap)
{
	size_t u = strlen(user), p = strlen(password);

	/* authzid empty: act as the authenticated identity (what Kafka's clients send) */
	if (2 + u + p > cap)
		return -ENOSPC;
	out[0] = 0;
	memcpy(out + 1, user, u);
	out[1 + u] = 0;
	memcpy(out + 2 + u, password, p);
	return (int)(2 + u + p);
}

/* saslname (RFC 5802 §5.1): ',' and '=' escaped as =2C and =3D. */
static int
put_saslname(char *out, size_t cap, const char *name)
{
	size_t n = 0;

	for (const char *c = name; *c; c++) {
		const char *rep = *c == ',' ? "=2C" : *c == '=' ? "=3D" : NULL;
		size_t l = rep ? 3 : 1;
		if (n + l >= cap)
			return -ENOSPC;
		if (rep)
			memcpy(out + n, rep, 3);
		else
			out[n] = *c;
		n += l;
	}
	out[n] = '\0';
	return (int)n;
}

int
ferry_scram_first(struct ferry_scram *s, enum ferry_sasl_mech mech, const char *user,
		  const char *nonce, char *out, size_t cap)
{
	char name[256];
	int n;

	if (mech != FERRY_SASL_SCRAM_SHA_256 && mech != FERRY_SASL_SCRAM_SHA_512)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->mech = mech;
	if (nonce) {
		if (strlen(nonce) >= sizeof(s->cnonce))
			return -EINVAL;
		snprintf(s->cnonce, sizeof(s->cnonce), "%s", nonce);
	} else {
		uint8_t r[24];
		if (RAND_bytes(r, sizeof(r)) != 1)
			return -EIO;
		/* base64 of 24 bytes: 32 printable characters, none of them ',' */
		EVP_EncodeBlock((unsigned char *)s->cnonce, r, sizeof(r));
	}
	if (put_saslname(name, sizeof(name), user) < 0)
		return -ENOSPC;
	n = snprintf(s->first_bare, sizeof(s->first_bare), "n=%s,r=%s", name, s->cnonce);
	if (n < 0 || (size_t)n >= sizeof(s->first_bare))
		return -ENOSPC;
	n = snprintf(out, cap, "n,,%s", s->first_bare);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* The value of attribute 'k' ("k=value", comma separated) in msg, or NULL. */
static const char *
attr(const char *msg, char k, size_t *len)
{
	for (const char *p = msg; p && *p;) {
		const char *end = strchr(p, ',');
		if (p[0] == k && p[1] == '=') {
			*len = (size_t)((end ? end : p + strlen(p)) - (p + 2));
			return p + 2;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static bool
hmac(const EVP_MD *md, const uint8_t *key, size_t klen, const void *msg, size_t mlen, uint8_t *out)
{
	unsigned int ol = 0;
	return HMAC(md, key, (int)klen, msg, mlen, out, &ol) != NULL;
}

int
ferry_scram_final(struct ferry_scram *s, const char *password, const uint8_t *server_first,
		  size_t n, char *out, size_t cap, char *err, size_t errlen)
{
	const EVP_MD *md = s->mech == FERRY_SASL_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
	size_t hl = (size_t)EVP_MD_get_size(md), rl = 0, sl = 0, il = 0, el = 0;
	char sf[1024], without[1200], auth[3000], salt_b64[512], iters[16];
	uint8_t salt[384], salted[64], ckey[64], stored[64], csig[64], proof[64],
	    srvkey[64];
	char proof_b64[128];
	int slen, r;

	if (n == 0 || n >= sizeof(sf) || memchr(server_first, 0, n)) {
		snprintf(err, errlen, "SCRAM: server-first-message of %zu bytes", n);
		return -EPROTO;
	}
	memcpy(sf, server_first, n);
	sf[n] = '\0';
	const char *e = attr(sf, 'e', &el);
	if (e) {
		snprintf(err, errlen, "SCRAM: the broker refused: %.*s", (int)el, e);
		return -EACCES;
	}
	const char *nonce = attr(sf, 'r', &rl), *sb = attr(sf, 's', &sl), *it = attr(sf, 'i', &il);
	if (!nonce || !sb || !it || sl >= sizeof(salt_b64) || il >= sizeof(iters)) {
		snprintf(err, errlen, "SCRAM: server-first-message lacks r=, s= or i=: '%s'", sf);
		return -EPROTO;
	}
	/* the server's nonce extends ours: anything else is a replay or a man in the middle */
	if (rl <= strlen(s->cnonce) || strncmp(nonce, s->cnonce, strlen(s->cnonce)) != 0) {
		snprintf(err, errlen, "SCRAM: the server nonce does not extend the client's");
		return -EPROTO;
	}
	memcpy(iters, it, il);
	iters[il] = '\0';
	char *endp;
	long iter = strtol(iters, &endp, 10);
	if (*endp || iter < 4096 || iter > 10000000) {
		/* RFC 7677 §4: at least 4096 */
		snprintf(err, errlen, "SCRAM: iteration count '%s' (want 4096 or more)", iters);
		return -EPROTO;
	}
	memcpy(salt_b64, sb, sl);
	salt_b64[sl] = '\0';
	if (sl % 4 != 0 || (slen = EVP_DecodeBlock(salt, (unsigned char *)salt_b64, (int)sl)) < 0) {
		snprintf(err, errlen, "SCRAM: salt is not base64");
		return -EPROTO;
	}
	/* EVP_DecodeBlock counts the '=' padding as zero bytes */
	while (sl > 0 && salt_b64[sl - 1] == '=') {
		slen--;
		sl--;
	}
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, slen, (int)iter, md, (int)hl,
			      salted) != 1 ||
	    !hmac(md, salted, hl, "Client Key", 10, ckey) ||
	    EVP_Digest(ckey, hl, stored, NULL, md, NULL) != 1 ||
	    !hmac(md, salted, hl, "Server Key", 10, srvkey)) {
		snprintf(err, errlen, "SCRAM: digest failed");
		return -EIO;
	}
	r = snprintf(without, sizeof(without), "c=biws,r=%.*s", (int)rl, nonce);
	if (r < 0 || (size_t)r >= sizeof(without))
		return -ENOSPC;
	r = snprintf(auth, sizeof(auth), "%s,%s,%s", s->first_bare, sf, without);
	if (r < 0 || (size_t)r >= sizeof(auth))
		return -ENOSPC;
	if (!hmac(md, stored, hl, auth, (size_t)r, csig) ||
	    !hmac(md, srvkey, hl, auth, (size_t)r, s->server_sig)) {
		snprintf(err, errlen, "SCRAM: digest failed");
		return -EIO;
	}
	s->sig_len = hl;
	for (size_t i = 0; i < hl; i++)
		proof[i] = ckey[i] ^ csig[i];
	EVP_EncodeBlock((unsigned char *)proof_b64, proof, (int)hl);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	r = snprintf(out, cap, "%s,p=%s", without, proof_b64);
	return r < 0 || (size_t)r >= cap ? -ENOSPC : r;
}

int
ferry_scram_verify(const struct ferry_scram *s, const uint8_t *server_final, size_t n, char *err,
		   size_t errlen)
{
	char sf[512], want[128];
	size_t vl = 0, el = 0;

	if (n == 0 || n >= sizeof(sf) || memchr(server_final, 0, n)) {
		snprintf(err, errlen, "SCRAM: server-final-message of %zu bytes", n);
		return -EPROTO;
	}
	memcpy(sf, server_final, n);
	sf[n] = '\0';
	const char *e = attr(sf, 'e', &el);
	if (e) {
		snprintf(err, errlen, "SCRAM: the broker refused: %.*s", (int)el, e);
		return -EACCES;
	}
	const char *v = attr(sf, 'v', &vl);
	EVP_EncodeBlock((unsigned char *)want, s->server_sig, (int)s->sig_len);
	if (v == NULL || vl != strlen(want) || CRYPTO_memcmp(v, want, vl) != 0) {
		/* the broker does not know the password: it is not the broker we meant */
		snprintf(err, errlen, "SCRAM: the broker's signature does not verify");
		return -EACCES;
	}
	return 0;
}
