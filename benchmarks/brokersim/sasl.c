/*
 * sasl.c - ferry-brokersim's SASL server side, so that clients can be tested
 * against a SASL_PLAINTEXT listener: PLAIN (RFC 4616) and SCRAM-SHA-256 /
 * SCRAM-SHA-512 (RFC 5802, RFC 7677), carried in SaslAuthenticate requests
 * after a SaslHandshake v1 (KIP-152; handlers.c speaks the Kafka side).
 *
 * What a real server stores is what this file keeps: for a SCRAM user, a salt
 * (random, drawn at start-up), the iteration count (4096) and StoredKey /
 * ServerKey derived once with PBKDF2-HMAC (RFC 5802 §3), so an exchange costs
 * two HMACs and a hash, not 4096 iterations. PLAIN compares the password.
 * Passwords are taken as given (no SASLprep, RFC 4013): use ASCII.
 *
 * Main thread only. Owns each connection's exchange state (struct
 * ferry_sim_sasl_sess, freed once authenticated or with the connection).
 * Crypto is OpenSSL's libcrypto: digests, HMAC, PBKDF2, RAND_bytes, base64.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "brokersim.h"

/* RFC 7677 §4: at least 4096 iterations (Kafka's minimum for SCRAM-SHA-256 too). */
#define SCRAM_ITERATIONS 4096
/* Server nonce: 18 random bytes, 24 base64 characters (printable, no ','). */
#define SCRAM_SNONCE_BYTES 18
/* Client messages longer than this are refused (a user name and a nonce fit easily). */
#define SCRAM_MSG_MAX 1024

/* Refusals in the words of Kafka's PlainSaslServer and ScramSaslServer. */
#define MSG_PLAIN_BAD "Authentication failed: Invalid username or password"
#define MSG_SCRAM_BAD "Authentication failed: Invalid user credentials"
#define MSG_AUTHZID                                                                                \
	"Authentication failed: Client requested an authorization id that is different from "      \
	"username"

static const char *const mech_names[FERRY_SIM_SASL__COUNT] = {
	[FERRY_SIM_SASL_PLAIN] = "PLAIN",
	[FERRY_SIM_SASL_SCRAM_SHA_256] = "SCRAM-SHA-256",
	[FERRY_SIM_SASL_SCRAM_SHA_512] = "SCRAM-SHA-512",
};

enum sess_state {
	SESS_FIRST,       /* waiting for PLAIN's message or SCRAM's client-first */
	SESS_SCRAM_FINAL, /* server-first sent, waiting for client-final */
};

struct ferry_sim_sasl_sess {
	enum ferry_sim_sasl_mech mech;
	enum sess_state state;
	const struct ferry_sim_sasl_user *user; /* SCRAM: named in client-first */
	/* RFC 5802 §3 AuthMessage parts, kept between the two rounds */
	char gs2[SCRAM_MSG_MAX]; /* gs2-header as the client sent it ("n,,") */
	size_t gs2_len;
	char first_bare[SCRAM_MSG_MAX]; /* client-first-message-bare */
	size_t first_bare_len;
	char server_first[SCRAM_MSG_MAX + 128];
	size_t server_first_len;
	const char *nonce; /* c-nonce s-nonce: the r= value inside server_first */
	size_t nonce_len;
};

const char *
ferry_sim_sasl_mech_name(enum ferry_sim_sasl_mech m)
{
	return (unsigned)m < FERRY_SIM_SASL__COUNT ? mech_names[m] : "?";
}

int
ferry_sim_sasl_mech_parse(struct ferry_span name)
{
	for (int m = 0; m < FERRY_SIM_SASL__COUNT; m++)
		if (name.p != NULL && name.len == strlen(mech_names[m]) &&
		    memcmp(name.p, mech_names[m], name.len) == 0)
			return m;
	return -1;
}

bool
ferry_sim_sasl_mech_enabled(const struct ferry_sim *sim, enum ferry_sim_sasl_mech m)
{
	for (size_t i = 0; i < sim->conf.n_sasl_users; i++)
		if (sim->conf.sasl_users[i].mech == m)
			return true;
	return false;
}

static const EVP_MD *
scram_md(enum ferry_sim_sasl_mech m)
{
	return m == FERRY_SIM_SASL_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

/* ---- base64 (RFC 4648 §4, padded: what SCRAM uses) ----------------------------------------- */

/* Encode n bytes to out (room for 4 * ceil(n / 3) + 1); returns the length, NUL-terminated. */
static size_t
b64_encode(const uint8_t *in, size_t n, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/*
 * Decode exactly the characters given; the decoded length or -1. EVP_DecodeBlock
 * trims surrounding whitespace and counts '=' padding as zero bytes in its result,
 * so the input is checked to be strict base64 first and the padding subtracted.
 */
static int
b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	size_t pad = 0;
	int r;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap || n > INT32_MAX)
		return -1;
	if (in[n - 1] == '=')
		pad = in[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++) {
		char ch = in[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return -1;
	}
	r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (r < 0 || (size_t)r < pad)
		return -1;
	return r - (int)pad;
}

/* ---- start-up ------------------------------------------------------------------------------- */

/* RFC 5802 §3: SaltedPassword, then ClientKey -> StoredKey and ServerKey. */
static int
scram_derive(struct ferry_sim_sasl_user *u)
{
	const EVP_MD *md = scram_md(u->mech);
	int dl = EVP_MD_get_size(md);
	uint8_t salted[FERRY_SIM_SCRAM_KEY_MAX], client_key[FERRY_SIM_SCRAM_KEY_MAX];
	unsigned int len = 0;
	int rc = -EIO;

	if (RAND_bytes(u->salt, sizeof(u->salt)) != 1)
		return -EIO;
	if (PKCS5_PBKDF2_HMAC(u->password, (int)strlen(u->password), u->salt, (int)sizeof(u->salt),
			      SCRAM_ITERATIONS, md, dl, salted) != 1)
		goto out_wipe;
	if (HMAC(md, salted, dl, (const unsigned char *)"Client Key", 10, client_key, &len) ==
		NULL ||
	    EVP_Digest(client_key, (size_t)dl, u->stored_key, NULL, md, NULL) != 1 ||
	    HMAC(md, salted, dl, (const unsigned char *)"Server Key", 10, u->server_key, &len) ==
		NULL)
		goto out_wipe;
	rc = 0;
out_wipe:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return rc;
}

int
ferry_sim_sasl_init(struct ferry_sim *sim, char *err, size_t errlen)
{
	for (size_t i = 0; i < sim->conf.n_sasl_users; i++) {
		struct ferry_sim_sasl_user *u = &sim->conf.sasl_users[i];

		if (u->mech == FERRY_SIM_SASL_PLAIN)
			continue;
		if (scram_derive(u) < 0) {
			snprintf(err, errlen, "%s user %s: key derivation failed (OpenSSL)",
				 ferry_sim_sasl_mech_name(u->mech), u->name);
			return -EIO;
		}
	}
	sim->sasl = sim->conf.n_sasl_users > 0;
	return 0;
}

/* ---- exchanges ------------------------------------------------------------------------------ */

int
ferry_sim_sasl_begin(struct ferry_sim_conn *c, enum ferry_sim_sasl_mech m)
{
	ferry_sim_sasl_sess_free(c);
	c->sasl = calloc(1, sizeof(*c->sasl));
	if (c->sasl == NULL)
		return -ENOMEM;
	c->sasl->mech = m;
	c->sasl->state = SESS_FIRST;
	return 0;
}

void
ferry_sim_sasl_sess_free(struct ferry_sim_conn *c)
{
	if (c->sasl == NULL)
		return;
	OPENSSL_cleanse(c->sasl, sizeof(*c->sasl));
	free(c->sasl);
	c->sasl = NULL;
}

static const struct ferry_sim_sasl_user *
user_find(const struct ferry_sim *sim, enum ferry_sim_sasl_mech m, const char *name, size_t len)
{
	for (size_t i = 0; i < sim->conf.n_sasl_users; i++) {
		const struct ferry_sim_sasl_user *u = &sim->conf.sasl_users[i];

		if (u->mech == m && strlen(u->name) == len && memcmp(u->name, name, len) == 0)
			return u;
	}
	return NULL;
}

/* The server's bytes for the response, copied into the request's region. */
static int
out_copy(struct ferry_sim *sim, const char *s, size_t n, struct ferry_span *out)
{
	char *p = ferry_sim_ralloc_raw(&sim->region, n ? n : 1);

	if (p == NULL)
		return -ENOMEM;
	memcpy(p, s, n);
	*out = ferry_span_make(p, n);
	return 0;
}

/*
 * RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. An authzid other
 * than the user's own is refused (Kafka's PlainSaslServer does the same).
 */
static int16_t
plain_step(struct ferry_sim *sim, struct ferry_span in, const char **errmsg)
{
	const char *p = (const char *)in.p, *end = p + in.len, *nul1, *nul2;
	const struct ferry_sim_sasl_user *u;
	size_t zlen, clen, plen;

	*errmsg = MSG_PLAIN_BAD;
	if (p == NULL || (nul1 = memchr(p, '\0', in.len)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1))) == NULL ||
	    memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL)
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	zlen = (size_t)(nul1 - p);
	clen = (size_t)(nul2 - nul1 - 1);
	plen = (size_t)(end - nul2 - 1);
	if (clen == 0 || plen == 0)
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	if (zlen != 0 && (zlen != clen || memcmp(p, nul1 + 1, clen) != 0)) {
		*errmsg = MSG_AUTHZID;
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	}
	u = user_find(sim, FERRY_SIM_SASL_PLAIN, nul1 + 1, clen);
	if (u == NULL || strlen(u->password) != plen ||
	    CRYPTO_memcmp(u->password, nul2 + 1, plen) != 0)
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	*errmsg = NULL;
	return FERRY_ERR_NONE;
}

/* RFC 5802 §7: printable = %x21-2B / %x2D-7E (no ','). */
static bool
nonce_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return true;
}

/* RFC 5802 §5.1: saslname, "=2C" for ',' and "=3D" for '='; -1 if malformed. */
static int
saslname_decode(const char *s, size_t n, char *out, size_t cap, size_t *olen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == ',')
			return -1;
		if (ch == '=') {
			if (i + 2 >= n)
				return -1;
			if (s[i + 1] == '2' && s[i + 2] == 'C')
				ch = ',';
			else if (s[i + 1] == '3' && s[i + 2] == 'D')
				ch = '=';
			else
				return -1;
			i += 2;
		}
		if (o >= cap)
			return -1;
		out[o++] = ch;
	}
	*olen = o;
	return o > 0 ? 0 : -1;
}

/*
 * client-first-message = gs2-header client-first-message-bare
 *   gs2-header = gs2-cbind-flag "," [ "a=" saslname ] ","   (flag "n" or "y": no channel
 *                                                             binding, which is all we do)
 *   client-first-message-bare = [reserved-mext ","] "n=" saslname ",r=" c-nonce ["," ext]
 * Answer server-first-message = "r=" c-nonce s-nonce ",s=" salt ",i=" iteration-count.
 */
static int16_t
scram_first(struct ferry_sim *sim, struct ferry_sim_sasl_sess *s, struct ferry_span in,
	    struct ferry_span *out, const char **errmsg)
{
	const char *p = (const char *)in.p, *end = p + in.len, *q, *bare, *name, *nonce;
	char user[256], authzid[256], salt64[4 * ((FERRY_SIM_SCRAM_SALT + 2) / 3) + 1];
	char snonce64[4 * ((SCRAM_SNONCE_BYTES + 2) / 3) + 1];
	uint8_t snonce[SCRAM_SNONCE_BYTES];
	size_t ulen, zlen = 0, nlen;
	int n;

	*errmsg = MSG_SCRAM_BAD;
	if (p == NULL || in.len < 3 || in.len >= SCRAM_MSG_MAX || memchr(p, '\0', in.len))
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	/* gs2-cbind-flag: "p=" asks for channel binding, which a plaintext listener has not */
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	q = memchr(p + 2, ',', (size_t)(end - p - 2));
	if (q == NULL)
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	if (q > p + 2) {
		if (q - p < 5 || p[2] != 'a' || p[3] != '=' ||
		    saslname_decode(p + 4, (size_t)(q - p - 4), authzid, sizeof(authzid), &zlen) <
			0)
			return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	}
	bare = q + 1;
	s->gs2_len = (size_t)(bare - p);
	memcpy(s->gs2, p, s->gs2_len);
	s->first_bare_len = (size_t)(end - bare);
	memcpy(s->first_bare, bare, s->first_bare_len);
	/* "m=" (reserved-mext) is a mandatory extension nobody defines: refuse */
	if (end - bare < 2 || bare[0] != 'n' || bare[1] != '=')
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	name = bare + 2;
	q = memchr(name, ',', (size_t)(end - name));
	if (q == NULL || saslname_decode(name, (size_t)(q - name), user, sizeof(user), &ulen) < 0)
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	if (end - q < 4 || q[1] != 'r' || q[2] != '=')
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	nonce = q + 3;
	q = memchr(nonce, ',', (size_t)(end - nonce)); /* extensions (tokenauth=...) follow */
	nlen = (size_t)((q ? q : end) - nonce);
	if (!nonce_ok(nonce, nlen))
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	if (zlen != 0 && (zlen != ulen || memcmp(authzid, user, ulen) != 0)) {
		*errmsg = MSG_AUTHZID;
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	}
	/* Unknown user: refused here, as Kafka's ScramSaslServer does. */
	s->user = user_find(sim, s->mech, user, ulen);
	if (s->user == NULL)
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;

	if (RAND_bytes(snonce, sizeof(snonce)) != 1) {
		*errmsg = "Authentication failed: server out of randomness";
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	}
	b64_encode(snonce, sizeof(snonce), snonce64);
	b64_encode(s->user->salt, sizeof(s->user->salt), salt64);
	n = snprintf(s->server_first, sizeof(s->server_first), "r=%.*s%s,s=%s,i=%d", (int)nlen,
		     nonce, snonce64, salt64, SCRAM_ITERATIONS);
	if (n < 0 || (size_t)n >= sizeof(s->server_first))
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	s->server_first_len = (size_t)n;
	s->nonce = s->server_first + 2;
	s->nonce_len = nlen + strlen(snonce64);
	if (out_copy(sim, s->server_first, s->server_first_len, out) < 0) {
		*errmsg = "Authentication failed: server out of memory";
		return FERRY_ERR_SASL_AUTHENTICATION_FAILED;
	}
	s->state = SESS_SCRAM_FINAL;
	*errmsg = NULL;
	return FERRY_ERR_NONE;
}

/*
 * client-final-message = "c=" base64(gs2-header) ",r=" nonce ["," ext] ",p=" base64(proof)
 * RFC 5802 §3: AuthMessage = client-first-bare "," server-first "," client-final-without-proof;
 * ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), accepted if H(ClientKey) ==
 * StoredKey. Answer server-final-message = "v=" base64(HMAC(ServerKey, AuthMessage)).
 */
static int16_t
scram_final(struct ferry_sim *sim, struct ferry_sim_sasl_sess *s, struct ferry_span in,
	    struct ferry_span *out, const char **errmsg)
{
	const EVP_MD *md = scram_md(s->mech);
	size_t dl = (size_t)EVP_MD_get_size(md), wlen, amlen;
	const char *p = (const char *)in.p, *end = p + in.len, *pp = NULL, *r, *rend;
	char cbind[4 * ((SCRAM_MSG_MAX + 2) / 3) + 1], am[3 * SCRAM_MSG_MAX + 256];
	char final[2 + 4 * ((FERRY_SIM_SCRAM_KEY_MAX + 2) / 3) + 1];
	uint8_t proof[FERRY_SIM_SCRAM_KEY_MAX + 3], sig[FERRY_SIM_SCRAM_KEY_MAX];
	uint8_t key[FERRY_SIM_SCRAM_KEY_MAX], hkey[FERRY_SIM_SCRAM_KEY_MAX];
	unsigned int len = 0;
	size_t clen;
	int plen;
	int16_t rc = FERRY_ERR_SASL_AUTHENTICATION_FAILED;

	*errmsg = MSG_SCRAM_BAD;
	if (p == NULL || in.len >= SCRAM_MSG_MAX || memchr(p, '\0', in.len))
		return rc;
	/* the proof is the last attribute */
	for (const char *x = p; x + 3 <= end; x++)
		if (x[0] == ',' && x[1] == 'p' && x[2] == '=')
			pp = x;
	if (pp == NULL)
		return rc;
	wlen = (size_t)(pp - p);
	/* c=: the gs2-header again, base64 ("biws" for "n,,"); no channel binding data */
	clen = b64_encode((const uint8_t *)s->gs2, s->gs2_len, cbind);
	if (wlen < 2 + clen + 1 || memcmp(p, "c=", 2) != 0 || memcmp(p + 2, cbind, clen) != 0 ||
	    p[2 + clen] != ',')
		return rc;
	/* r=: RFC 5802 wants exactly the nonce of server-first. librdkafka (2.0.2 and
	 * later) sends its c-nonce once more in front (it prints c-nonce, then the whole
	 * r= value), and Kafka's ScramSaslServer accepts that because it only checks that
	 * the nonce ends with server-first's; so do we, or librdkafka could not log in.
	 * The proof covers what was sent either way (it is part of AuthMessage). */
	r = p + 2 + clen + 1;
	if (pp - r < 2 || r[0] != 'r' || r[1] != '=')
		return rc;
	r += 2;
	rend = memchr(r, ',', (size_t)(pp - r));
	if (rend == NULL)
		rend = pp;
	if ((size_t)(rend - r) < s->nonce_len ||
	    memcmp(rend - s->nonce_len, s->nonce, s->nonce_len) != 0)
		return rc;
	plen = b64_decode(pp + 3, (size_t)(end - pp - 3), proof, sizeof(proof));
	if (plen < 0 || (size_t)plen != dl)
		return rc;

	amlen = s->first_bare_len + 1 + s->server_first_len + 1 + wlen;
	if (amlen > sizeof(am))
		return rc;
	memcpy(am, s->first_bare, s->first_bare_len);
	am[s->first_bare_len] = ',';
	memcpy(am + s->first_bare_len + 1, s->server_first, s->server_first_len);
	am[s->first_bare_len + 1 + s->server_first_len] = ',';
	memcpy(am + s->first_bare_len + 1 + s->server_first_len + 1, p, wlen);

	if (HMAC(md, s->user->stored_key, (int)dl, (const unsigned char *)am, amlen, sig, &len) ==
	    NULL)
		goto out_wipe;
	for (size_t i = 0; i < dl; i++)
		key[i] = proof[i] ^ sig[i];
	if (EVP_Digest(key, dl, hkey, NULL, md, NULL) != 1 ||
	    CRYPTO_memcmp(hkey, s->user->stored_key, dl) != 0)
		goto out_wipe;
	if (HMAC(md, s->user->server_key, (int)dl, (const unsigned char *)am, amlen, sig, &len) ==
	    NULL)
		goto out_wipe;
	memcpy(final, "v=", 2);
	wlen = 2 + b64_encode(sig, dl, final + 2);
	if (out_copy(sim, final, wlen, out) < 0) {
		*errmsg = "Authentication failed: server out of memory";
		goto out_wipe;
	}
	*errmsg = NULL;
	rc = FERRY_ERR_NONE;
out_wipe:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(sig, sizeof(sig));
	return rc;
}

int16_t
ferry_sim_sasl_step(struct ferry_sim *sim, struct ferry_sim_conn *c, struct ferry_span in,
		    struct ferry_span *out, const char **errmsg, bool *done)
{
	struct ferry_sim_sasl_sess *s = c->sasl;
	int16_t rc;

	*done = false;
	*out = ferry_span_make("", 0);
	if (s == NULL) {
		*errmsg = "SaslAuthenticate before a SaslHandshake";
		return FERRY_ERR_ILLEGAL_SASL_STATE;
	}
	if (s->mech == FERRY_SIM_SASL_PLAIN)
		rc = plain_step(sim, in, errmsg);
	else if (s->state == SESS_FIRST)
		return scram_first(sim, s, in, out, errmsg);
	else
		rc = scram_final(sim, s, in, out, errmsg);
	if (rc == FERRY_ERR_NONE) {
		c->authenticated = true;
		*done = true;
		ferry_sim_sasl_sess_free(c);
	}
	return rc;
}
