/*
 * test_crc32c.c - CRC-32C through ISA-L against the standard check value
 * and a bit-at-a-time reference, including chaining and odd lengths.
 */
#include "testutil.h"

#include "ferry/kafka.h"

static uint32_t
crc32c_ref(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return c ^ 0xffffffffu;
}

static void
test_check_value(void **state)
{
	(void)state;
	assert_int_equal(ferry_crc32c("123456789", 9), 0xE3069283u);
	assert_int_equal(ferry_crc32c("", 0), 0);
}

static void
test_against_reference(void **state)
{
	(void)state;
	static uint8_t buf[70000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t n = 0; n < 300; n++)
		assert_int_equal(ferry_crc32c(buf + (n % 7), n), crc32c_ref(buf + (n % 7), n));
	assert_int_equal(ferry_crc32c(buf, sizeof(buf)), crc32c_ref(buf, sizeof(buf)));
	/* chaining equals one pass */
	uint32_t c = ferry_crc32c(buf, 1000);
	c = ferry_crc32c_update(c, buf + 1000, sizeof(buf) - 1000);
	assert_int_equal(c, crc32c_ref(buf, sizeof(buf)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
