/*
 * test_policy_validate.c - the policy validators against published examples and their
 * one-digit-off neighbours: Luhn (card issuers' test PANs), IBAN (ECBS/SWIFT registry
 * examples), NRIC/FIN, My Number, charset/length.
 */
#include "testutil.h"

#include "ferry/policy.h"

#define S(x) (const uint8_t *)(x), strlen(x)

static void
test_luhn(void **state)
{
	(void)state;
	assert_true(ferry_policy_luhn(S("4111111111111111")));
	assert_true(ferry_policy_luhn(S("5500 0000 0000 0004")));
	assert_true(ferry_policy_luhn(S("378282246310005")));
	assert_true(ferry_policy_luhn(S("4111-1111-1111-1111")));
	assert_true(ferry_policy_luhn(S("6011111111111117")));
	/* One digit off, transposed neighbours, check digit off. */
	assert_false(ferry_policy_luhn(S("4111111111111112")));
	assert_false(ferry_policy_luhn(S("5500 0000 0000 0005")));
	assert_false(ferry_policy_luhn(S("378282246310006")));
	assert_false(ferry_policy_luhn(S("4111111111111121")));
	/* Form: too short, too long, separators misplaced, other bytes. */
	assert_false(ferry_policy_luhn(S("00000000000")));
	assert_false(ferry_policy_luhn(S("41111111111111111111")));
	assert_false(ferry_policy_luhn(S(" 4111111111111111")));
	assert_false(ferry_policy_luhn(S("4111111111111111-")));
	assert_false(ferry_policy_luhn(S("4111  1111 1111 1111")));
	assert_false(ferry_policy_luhn(S("4111x111 1111 1111")));
	assert_false(ferry_policy_luhn(S("")));
}

static void
test_iban(void **state)
{
	(void)state;
	assert_true(ferry_policy_iban(S("GB82WEST12345698765432")));
	assert_true(ferry_policy_iban(S("DE89370400440532013000")));
	assert_true(ferry_policy_iban(S("GB82 WEST 1234 5698 7654 32")));
	assert_true(ferry_policy_iban(S("FR1420041010050500013M02606")));
	assert_true(ferry_policy_iban(S("NO9386011117947")));
	assert_true(ferry_policy_iban(S("gb82west12345698765432")));
	/* Wrong check digits. */
	assert_false(ferry_policy_iban(S("GB83WEST12345698765432")));
	assert_false(ferry_policy_iban(S("DE88370400440532013000")));
	/* A BBAN digit changed. */
	assert_false(ferry_policy_iban(S("GB82WEST12345698765433")));
	/* Wrong lengths for the country. */
	assert_false(ferry_policy_iban(S("GB82WEST1234569876543")));
	assert_false(ferry_policy_iban(S("DE8937040044053201300000")));
	/* Unknown country, bad form. */
	assert_false(ferry_policy_iban(S("ZZ82WEST12345698765432")));
	assert_false(ferry_policy_iban(S("GB8XWEST12345698765432")));
	assert_false(ferry_policy_iban(S("GB82  WEST12345698765432")));
	assert_false(ferry_policy_iban(S("GB82-WEST-1234-5698-7654-32")));
	assert_false(ferry_policy_iban(S("")));
	assert_int_equal(ferry_policy_iban_length("GB"), 22);
	assert_int_equal(ferry_policy_iban_length("NO"), 15);
	assert_int_equal(ferry_policy_iban_length("LC"), 32);
	assert_int_equal(ferry_policy_iban_length("US"), 0);
}

/*
 * Registry countries added since 2020, with the example IBAN that the SWIFT IBAN registry
 * gives for each (as copied in SpeedBankingDe/iban-commons
 * src/main/java/de/speedbanking/iban/IbanRegistry.java, release 100): each validates, has
 * the registry length, and fails with its last digit changed by one.
 */
static void
test_iban_registry_examples(void **state)
{
	(void)state;
	static const struct {
		const char *cc;
		unsigned len;
		const char *ok, *off;
	} ex[] = {
		{ "BI", 27, "BI4210000100010000332045181", "BI4210000100010000332045182" },
		{ "BY", 28, "BY13NBRB3600900000002Z00AB00", "BY13NBRB3600900000002Z00AB01" },
		{ "DJ", 27, "DJ2100010000000154000100186", "DJ2100010000000154000100187" },
		{ "EG", 29, "EG380019000500000000263180002", "EG380019000500000000263180003" },
		{ "FK", 18, "FK88SC123456789012", "FK88SC123456789013" },
		{ "HN", 28, "HN88CABF00000000000250005469", "HN88CABF00000000000250005460" },
		{ "LY", 25, "LY83002048000020100120361", "LY83002048000020100120362" },
		{ "MN", 20, "MN121234123456789123", "MN121234123456789124" },
		{ "NI", 28, "NI45BAPR00000013000003558124", "NI45BAPR00000013000003558125" },
		{ "OM", 23, "OM810180000001299123456", "OM810180000001299123457" },
		{ "RU", 33, "RU0304452522540817810538091310419",
		  "RU0304452522540817810538091310410" },
		{ "SC", 31, "SC18SSCB11010000000000001497USD", "SC18SSCB11010000000000001498USD" },
		{ "SD", 18, "SD2129010501234001", "SD2129010501234002" },
		{ "SO", 23, "SO211000001001000100141", "SO211000001001000100142" },
		{ "YE", 30, "YE15CBYE0001018861234567891234", "YE15CBYE0001018861234567891235" },
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		assert_int_equal(ferry_policy_iban_length(ex[i].cc), ex[i].len);
		assert_int_equal(strlen(ex[i].ok), ex[i].len);
		assert_true(ferry_policy_iban(S(ex[i].ok)));
		assert_false(ferry_policy_iban(S(ex[i].off)));
	}
}

static void
test_nric(void **state)
{
	(void)state;
	assert_true(ferry_policy_nric(S("S1234567D")));
	assert_true(ferry_policy_nric(S("T1234567J")));
	assert_true(ferry_policy_nric(S("F1234567N")));
	assert_true(ferry_policy_nric(S("G1234567X")));
	assert_false(ferry_policy_nric(S("S1234567E")));
	assert_false(ferry_policy_nric(S("S1234568D")));
	assert_false(ferry_policy_nric(S("A1234567D")));
	assert_false(ferry_policy_nric(S("S123456D")));
	/* M series (2022): the vectors of opengovsg/FormSG
	 * shared/utils/__tests__/nric-validation.spec.ts (K, L, I) and IonBazan/go-nric
	 * nric_test.go (W, J, M8877689K); then a changed digit. M2424771 has remainder 8, the
	 * one place the M table differs from the F/G one: J, where F/G's would give M. */
	assert_true(ferry_policy_nric(S("M1234567K")));
	assert_true(ferry_policy_nric(S("M5043078W")));
	assert_true(ferry_policy_nric(S("M2424771J")));
	assert_false(ferry_policy_nric(S("M1234567L")));
	assert_false(ferry_policy_nric(S("M1234567I")));
	assert_false(ferry_policy_nric(S("M8877689K")));
	assert_false(ferry_policy_nric(S("M2424771M")));
	assert_false(ferry_policy_nric(S("M1234568K")));
}

static void
test_mynumber(void **state)
{
	(void)state;
	assert_true(ferry_policy_mynumber(S("123456789018")));
	assert_true(ferry_policy_mynumber(S("1234 5678 9018")));
	assert_false(ferry_policy_mynumber(S("123456789017")));
	assert_false(ferry_policy_mynumber(S("123456789019")));
	assert_false(ferry_policy_mynumber(S("12345678901")));
	assert_false(ferry_policy_mynumber(S("1234567890180")));
	assert_false(ferry_policy_mynumber(S(" 123456789018")));
}

static void
test_charset_confirm(void **state)
{
	(void)state;
	struct ferry_policy_rule r = { 0 };
	for (int c = '0'; c <= '9'; c++)
		r.charset.set[c >> 3] |= (uint8_t)(1u << (c & 7));
	r.charset.set[' ' >> 3] |= (uint8_t)(1u << (' ' & 7));
	r.has_charset = true;
	r.validator = FERRY_POLICY_VAL_CHARSET;
	r.min_len = 4;
	r.max_len = 8;
	assert_true(ferry_policy_confirm(&r, S("12 34")));
	assert_false(ferry_policy_confirm(&r, S("123")));
	assert_false(ferry_policy_confirm(&r, S("123456789")));
	assert_false(ferry_policy_confirm(&r, S("12a4")));
	r.validator = FERRY_POLICY_VAL_LUHN;
	r.has_charset = false;
	r.min_len = r.max_len = 0;
	assert_true(ferry_policy_confirm(&r, S("4111111111111111")));
	assert_false(ferry_policy_confirm(&r, S("4111111111111112")));
	r.validator = FERRY_POLICY_VAL_NONE;
	assert_true(ferry_policy_confirm(&r, S("anything")));
	assert_string_equal(ferry_policy_action_name(FERRY_POLICY_ACT_TOKENISE), "tokenise");
	assert_string_equal(ferry_policy_validator_name(FERRY_POLICY_VAL_IBAN), "iban");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_luhn),
		cmocka_unit_test(test_iban),
		cmocka_unit_test(test_iban_registry_examples),
		cmocka_unit_test(test_nric),
		cmocka_unit_test(test_mynumber),
		cmocka_unit_test(test_charset_confirm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
