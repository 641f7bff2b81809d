/*
 * token.c - keyed deterministic tokens for the `tokenise` action: HMAC-SHA256 over the
 * matched bytes, mapped position by position onto the same character class, so a token has
 * the length and shape of what it replaces and equal inputs give equal tokens (joins still
 * work downstream) while the input cannot be recovered without the key.
 *
 * OpenSSL 3 EVP_MAC: the key is set once (ferry_policy_token_setkey, on a policy change);
 * each token then re-initialises the MAC with the stored key, which OpenSSL's HMAC does by
 * copying its precomputed inner/outer digest states, not by allocating.
 *
 * Follow-up (not done): a tokenised card number is not Luhn-valid in general; if downstream
 * systems check Luhn, fix the last digit after tokenising (format-preserving tokens).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "runtime_int.h"

struct ferry_policy_token {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	bool keyed;
};

struct ferry_policy_token *
ferry_policy_token_new(void)
{
	struct ferry_policy_token *tk = calloc(1, sizeof(*tk));
	if (tk == NULL)
		return NULL;
	tk->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (tk->mac == NULL)
		goto out_free_tk;
	tk->ctx = EVP_MAC_CTX_new(tk->mac);
	if (tk->ctx == NULL)
		goto out_free_mac;
	return tk;

out_free_mac:
	EVP_MAC_free(tk->mac);
out_free_tk:
	free(tk);
	errno = ENOMEM;
	return NULL;
}

void
ferry_policy_token_free(struct ferry_policy_token *tk)
{
	if (tk == NULL)
		return;
	EVP_MAC_CTX_free(tk->ctx);
	EVP_MAC_free(tk->mac);
	free(tk);
}

int
ferry_policy_token_setkey(struct ferry_policy_token *tk, const uint8_t *key, size_t len)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	tk->keyed = false;
	if (len == 0)
		return 0; /* no tokenising rule: the worker never asks for a token */
	if (EVP_MAC_init(tk->ctx, key, len, params) != 1)
		return -EINVAL;
	tk->keyed = true;
	return 0;
}

/* HMAC(key, src || be32(block)) for block >= 1, HMAC(key, src) for block 0. */
static int
token_block(struct ferry_policy_token *tk, const uint8_t *src, size_t n, uint32_t block,
	    uint8_t md[32])
{
	size_t mdlen = 0;
	if (EVP_MAC_init(tk->ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(tk->ctx, src, n) != 1)
		return -1;
	if (block > 0) {
		uint8_t be[4] = { (uint8_t)(block >> 24), (uint8_t)(block >> 16),
				  (uint8_t)(block >> 8), (uint8_t)block };
		if (EVP_MAC_update(tk->ctx, be, sizeof(be)) != 1)
			return -1;
	}
	if (EVP_MAC_final(tk->ctx, md, &mdlen, 32) != 1 || mdlen != 32)
		return -1;
	return 0;
}

int
ferry_policy_token_apply(struct ferry_policy_token *tk, const uint8_t *src, uint8_t *dst, size_t n)
{
	uint8_t md[32];
	if (!tk->keyed)
		return -1;
	/* Block b covers positions 32b .. 32b + 31; spans over 32 bytes are rare (a long
	 * e-mail address). Every block hashes the whole original span. */
	for (size_t blk = 0; blk * 32 < n; blk++) {
		if (token_block(tk, src, n, (uint32_t)blk, md) != 0)
			return -1;
		size_t end = (blk + 1) * 32 < n ? (blk + 1) * 32 : n;
		for (size_t i = blk * 32; i < end; i++) {
			uint8_t c = src[i], v = md[i - blk * 32];
			if (c >= '0' && c <= '9')
				dst[i] = (uint8_t)('0' + v % 10);
			else if (c >= 'A' && c <= 'Z')
				dst[i] = (uint8_t)('A' + v % 26);
			else if (c >= 'a' && c <= 'z')
				dst[i] = (uint8_t)('a' + v % 26);
			else
				dst[i] = c;
		}
	}
	return 0;
}
