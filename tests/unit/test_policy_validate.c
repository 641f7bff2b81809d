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
		cmocka_unit_test(test_nric),
		cmocka_unit_test(test_mynumber),
		cmocka_unit_test(test_charset_confirm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
