/*
 * test_policy_runs.c - run gates (dataplane/policy/runs.c) against a byte-by-byte oracle:
 * for random and adversarial inputs of every length around the 64-byte block size, the set
 * of end offsets reported must be exactly the set of ends e where the min bytes before e are
 * all run bytes (class, or a separator right after a class byte).
 */
#include "testutil.h"

#include "runtime_int.h"

struct seen {
	uint8_t *hit; /* [n + 1][n_mins] */
	size_t n;
	unsigned n_mins;
	size_t reports;
};

static void
on_report(void *ctx, unsigned which, size_t first, size_t last)
{
	struct seen *s = ctx;
	assert_true(which < s->n_mins);
	assert_true(first >= 1 && first <= last && last <= s->n);
	for (size_t e = first; e <= last; e++)
		s->hit[e * s->n_mins + which] = 1;
	s->reports++;
}

static bool
in_class(const struct ferry_policy_run *r, uint8_t c)
{
	for (unsigned i = 0; i < r->n_ranges; i++)
		if (c >= r->lo[i] && c <= r->hi[i])
			return true;
	return false;
}

static bool
is_sep(const struct ferry_policy_run *r, uint8_t c)
{
	return memchr(r->sep, c, r->n_seps) != NULL;
}

static void
check(const struct ferry_policy_run *r, const uint16_t *mins, unsigned n_mins, const uint8_t *p,
      size_t n)
{
	struct seen s = { .hit = calloc((n + 1) * n_mins + 1, 1), .n = n, .n_mins = n_mins };
	assert_non_null(s.hit);
	ferry_policy_run_scan(r, mins, n_mins, p, n, on_report, &s);
	/* oracle */
	bool *j = calloc(n + 1, 1);
	for (size_t i = 0; i < n; i++)
		j[i] = in_class(r, p[i]) || (is_sep(r, p[i]) && i > 0 && in_class(r, p[i - 1]));
	for (unsigned k = 0; k < n_mins; k++) {
		size_t run = 0;
		for (size_t e = 1; e <= n; e++) {
			run = j[e - 1] ? run + 1 : 0;
			bool want = run >= mins[k];
			if (want != (bool)s.hit[e * n_mins + k])
				fail_msg("n %zu min %u: end %zu %s", n, mins[k], e,
					 want ? "missed" : "reported wrongly");
		}
	}
	free(j);
	free(s.hit);
}

static void
test_runs_random(void **state)
{
	(void)state;
	struct ferry_policy_run digits = {
		.lo = { '0' }, .hi = { '9' }, .n_ranges = 1, .sep = { ' ', '-' }, .n_seps = 2
	};
	struct ferry_policy_run alnum = { .lo = { '0', 'A' }, .hi = { '9', 'Z' }, .n_ranges = 2 };
	const uint16_t mins[] = { 1, 2, 7, 11, 12, 13, 63, 64 };
	uint8_t buf[700];
	uint64_t x = 88172645463325252ull;
	for (int round = 0; round < 400; round++) {
		size_t n = (size_t)(round % 200) + (round >= 200 ? 500 : 0);
		/* mostly run bytes, so long runs cross block edges */
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			unsigned v = (unsigned)(x % 100);
			buf[i] = v < 70   ? (uint8_t)('0' + v % 10)
				 : v < 80 ? (uint8_t)(v % 2 ? ' ' : '-')
				 : v < 90 ? (uint8_t)('A' + v % 26)
					  : (uint8_t)(x >> 40);
		}
		check(&digits, mins, 8, buf, n);
		check(&alnum, mins, 8, buf, n);
	}
	/* one long run over several blocks, and all-separator input */
	memset(buf, '7', sizeof(buf));
	check(&digits, mins, 8, buf, sizeof(buf));
	memset(buf, ' ', sizeof(buf));
	check(&digits, mins, 8, buf, sizeof(buf));
	check(&digits, mins, 8, buf, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_runs_random) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
