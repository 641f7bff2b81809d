/*
 * sasl.h - SASL client mechanisms of the io_uring data path (sasl.c): PLAIN (RFC 4616) and
 * SCRAM-SHA-256/512 (RFC 5802, RFC 7677), as messages on byte spans; conn.c carries them in
 * SaslAuthenticate requests. Thread: the owner of the struct ferry_uring.
 */
#ifndef FERRY_URING_SASL_H
#define FERRY_URING_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Mechanisms (security.protocol SASL_*; sasl.mechanism). */
enum ferry_sasl_mech {
	FERRY_SASL_NONE,
	FERRY_SASL_PLAIN,
	FERRY_SASL_SCRAM_SHA_256,
	FERRY_SASL_SCRAM_SHA_512,
};

/** The mechanism named 'name' (Kafka's spelling), or FERRY_SASL_NONE. */
enum ferry_sasl_mech ferry_sasl_mech_parse(const char *name);
const char *ferry_sasl_mech_name(enum ferry_sasl_mech m);

/** One SCRAM exchange (client side). */
struct ferry_scram {
	enum ferry_sasl_mech mech;
	char cnonce[48];
	char first_bare[640]; /* client-first-message-bare, kept for the AuthMessage */
	uint8_t server_sig[64];
	size_t sig_len;
};

/** PLAIN's one message: "\0user\0password". Its length, or -ENOSPC. */
int ferry_sasl_plain(const char *user, const char *password, uint8_t *out, size_t cap);
/**
 * SCRAM client-first-message ("n,,n=USER,r=NONCE") into out; 'nonce' NULL draws a random one
 * (a given one is for the RFC test vectors). Its length, or -errno.
 */
int ferry_scram_first(struct ferry_scram *s, enum ferry_sasl_mech mech, const char *user,
		      const char *nonce, char *out, size_t cap);
/**
 * From the server-first-message, the client-final-message (with the proof) into out. Its
 * length, or -EPROTO / -EINVAL with the reason in err (a nonce that does not extend ours, a bad
 * salt or iteration count, a server error "e=...").
 */
int ferry_scram_final(struct ferry_scram *s, const char *password, const uint8_t *server_first,
		      size_t n, char *out, size_t cap, char *err, size_t errlen);
/** Check the server-final-message ("v=SIGNATURE"): 0, or -EACCES / -EPROTO with err. */
int ferry_scram_verify(const struct ferry_scram *s, const uint8_t *server_final, size_t n,
		       char *err, size_t errlen);

#endif /* FERRY_URING_SASL_H */
