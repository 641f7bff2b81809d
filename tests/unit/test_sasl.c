/*
 * test_sasl.c - the io_uring data path's SASL client mechanisms (dataplane/uring/sasl.c)
 * against the RFCs' own examples: SCRAM-SHA-256 against RFC 7677 §3 byte for byte, PLAIN's
 * message (RFC 4616), and the refusals (a nonce the server did not extend, a low iteration
 * count, a server error, a forged server signature).
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "sasl.h"

/* RFC 7677 §3: user "user", password "pencil" */
#define C_NONCE "rOprNGfwEbeRWgbNEkqO"
#define S_FIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define C_FINAL                                                                                    \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p="                          \
	"dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define S_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void
test_scram_sha256_rfc7677(void **state)
{
	(void)state;
	struct ferry_scram s;
	char out[512], err[256];
	int n = ferry_scram_first(&s, FERRY_SASL_SCRAM_SHA_256, "user", C_NONCE, out, sizeof(out));
	assert_int_equal(n, (int)strlen("n,,n=user,r=" C_NONCE));
	assert_string_equal(out, "n,,n=user,r=" C_NONCE);
	n = ferry_scram_final(&s, "pencil", (const uint8_t *)S_FIRST, strlen(S_FIRST), out,
			      sizeof(out), err, sizeof(err));
	if (n < 0)
		fail_msg("final: %s", err);
	assert_string_equal(out, C_FINAL);
	assert_int_equal(ferry_scram_verify(&s, (const uint8_t *)S_FINAL, strlen(S_FINAL), err,
					    sizeof(err)),
			 0);
	/* a server that does not know the password cannot sign */
	const char *forged = "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
	assert_int_equal(ferry_scram_verify(&s, (const uint8_t *)forged, strlen(forged), err,
					    sizeof(err)),
			 -EACCES);
	assert_non_null(strstr(err, "does not verify"));
}

static void
test_scram_refusals(void **state)
{
	(void)state;
	struct ferry_scram s;
	char out[512], err[256];
	const char *bad[][2] = {
		/* not an extension of our nonce */
		{ "r=XXXrNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce" },
		/* below RFC 7677's minimum */
		{ "r=" C_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000", "iteration" },
		{ "r=" C_NONCE "abc,s=!!!,i=4096", "base64" },
		{ "r=" C_NONCE "abc,i=4096", "lacks" },
		{ "e=unknown-user", "refused: unknown-user" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(ferry_scram_first(&s, FERRY_SASL_SCRAM_SHA_256, "user", C_NONCE, out,
					      sizeof(out)) > 0);
		int n = ferry_scram_final(&s, "pencil", (const uint8_t *)bad[i][0],
					  strlen(bad[i][0]), out, sizeof(out), err, sizeof(err));
		assert_true(n < 0);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i][1]);
	}
	/* names with ',' and '=' are escaped (RFC 5802 §5.1) */
	assert_true(ferry_scram_first(&s, FERRY_SASL_SCRAM_SHA_512, "a,b=c", "n0nce", out,
				      sizeof(out)) > 0);
	assert_string_equal(out, "n,,n=a=2Cb=3Dc,r=n0nce");
	/* a random nonce: 32 base64 characters, never the same twice */
	char first[512];
	assert_true(ferry_scram_first(&s, FERRY_SASL_SCRAM_SHA_512, "u", NULL, first,
				      sizeof(first)) > 0);
	assert_int_equal(strlen(s.cnonce), 32);
	assert_true(ferry_scram_first(&s, FERRY_SASL_SCRAM_SHA_512, "u", NULL, out, sizeof(out)) >
		    0);
	assert_string_not_equal(first, out);
}

static void
test_plain(void **state)
{
	(void)state;
	uint8_t out[64];
	int n = ferry_sasl_plain("alice", "secret", out, sizeof(out));
	assert_int_equal(n, 13);
	assert_memory_equal(out, "\0alice\0secret", 13);
	assert_int_equal(ferry_sasl_plain("alice", "secret", out, 12), -ENOSPC);
	assert_int_equal(ferry_sasl_mech_parse("scram-sha-512"), FERRY_SASL_SCRAM_SHA_512);
	assert_int_equal(ferry_sasl_mech_parse("GSSAPI"), FERRY_SASL_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_sha256_rfc7677),
		cmocka_unit_test(test_scram_refusals),
		cmocka_unit_test(test_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
