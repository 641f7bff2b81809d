/*
 * validate.c - validators that confirm a Hyperscan candidate before a policy action runs:
 * Luhn (cards), IBAN (ISO 13616 mod 97 + registry lengths), charset/length, Singapore
 * NRIC/FIN, Japan My Number; plus the name tables of the policy enums.
 *
 * Any thread (workers on the hot path): pure functions over the bytes given, no allocation,
 * no state. Each runs in time linear in the candidate, which Hyperscan bounds by the pattern.
 */
#include <string.h>

#include "ferry/policy.h"

static inline bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_alpha(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline uint8_t
to_upper(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
}

bool
ferry_policy_luhn(const uint8_t *p, size_t n)
{
	/* Walk from the right: every second digit is doubled (ISO/IEC 7812-1 Annex B). */
	unsigned sum = 0, digits = 0;
	bool prev_sep = true; /* a separator may not end the number */
	for (size_t i = n; i-- > 0;) {
		uint8_t c = p[i];
		if (c == ' ' || c == '-') {
			if (prev_sep)
				return false;
			prev_sep = true;
			continue;
		}
		if (!is_digit(c))
			return false;
		prev_sep = false;
		unsigned d = (unsigned)(c - '0');
		if (digits & 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		if (++digits > 19)
			return false;
	}
	/* prev_sep here means a leading separator (or empty input). */
	return !prev_sep && digits >= 12 && sum % 10 == 0;
}

/*
 * IBAN lengths from the SWIFT IBAN registry: 89 countries and territories that use their own
 * code (French and British territories use FR/GB). Sorted by code; a linear scan of 89
 * entries costs less than the mod-97 pass that follows it. Checked entry by entry against
 * arthurdejong/python-stdnum stdnum/iban.dat (generated from SWIFT's iban-registry_1.txt;
 * length = 4 + BBAN) and SpeedBankingDe/iban-commons
 * src/main/java/de/speedbanking/iban/IbanRegistry.java (SWIFT release 100, Oct 2025, the
 * part generated from the registry; its hand-added non-registry countries are left out).
 * Every registry example IBAN in the latter validates here.
 */
static const struct {
	char cc[2];
	uint8_t len;
} iban_len[] = {
	{ "AD", 24 }, { "AE", 23 }, { "AL", 28 }, { "AT", 20 }, { "AZ", 28 }, { "BA", 20 },
	{ "BE", 16 }, { "BG", 22 }, { "BH", 22 }, { "BI", 27 }, { "BR", 29 }, { "BY", 28 },
	{ "CH", 21 }, { "CR", 22 }, { "CY", 28 }, { "CZ", 24 }, { "DE", 22 }, { "DJ", 27 },
	{ "DK", 18 }, { "DO", 28 }, { "EE", 20 }, { "EG", 29 }, { "ES", 24 }, { "FI", 18 },
	{ "FK", 18 }, { "FO", 18 }, { "FR", 27 }, { "GB", 22 }, { "GE", 22 }, { "GI", 23 },
	{ "GL", 18 }, { "GR", 27 }, { "GT", 28 }, { "HN", 28 }, { "HR", 21 }, { "HU", 28 },
	{ "IE", 22 }, { "IL", 23 }, { "IQ", 23 }, { "IS", 26 }, { "IT", 27 }, { "JO", 30 },
	{ "KW", 30 }, { "KZ", 20 }, { "LB", 28 }, { "LC", 32 }, { "LI", 21 }, { "LT", 20 },
	{ "LU", 20 }, { "LV", 21 }, { "LY", 25 }, { "MC", 27 }, { "MD", 24 }, { "ME", 22 },
	{ "MK", 19 }, { "MN", 20 }, { "MR", 27 }, { "MT", 31 }, { "MU", 30 }, { "NI", 28 },
	{ "NL", 18 }, { "NO", 15 }, { "OM", 23 }, { "PK", 24 }, { "PL", 28 }, { "PS", 29 },
	{ "PT", 25 }, { "QA", 29 }, { "RO", 24 }, { "RS", 22 }, { "RU", 33 }, { "SA", 24 },
	{ "SC", 31 }, { "SD", 18 }, { "SE", 24 }, { "SI", 19 }, { "SK", 24 }, { "SM", 27 },
	{ "SO", 23 }, { "ST", 25 }, { "SV", 28 }, { "TL", 23 }, { "TN", 24 }, { "TR", 26 },
	{ "UA", 29 }, { "VA", 22 }, { "VG", 24 }, { "XK", 20 }, { "YE", 30 },
};

unsigned
ferry_policy_iban_length(const char cc[2])
{
	char a = (char)to_upper((uint8_t)cc[0]), b = (char)to_upper((uint8_t)cc[1]);
	for (size_t i = 0; i < sizeof(iban_len) / sizeof(iban_len[0]); i++)
		if (iban_len[i].cc[0] == a && iban_len[i].cc[1] == b)
			return iban_len[i].len;
	return 0;
}

#define IBAN_MAX 34 /* ISO 13616: at most 34 characters */

bool
ferry_policy_iban(const uint8_t *p, size_t n)
{
	uint8_t s[IBAN_MAX];
	size_t len = 0;
	bool prev_space = true;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ') {
			if (prev_space)
				return false; /* leading or doubled space */
			prev_space = true;
			continue;
		}
		if (!is_digit(p[i]) && !is_alpha(p[i]))
			return false;
		if (len == IBAN_MAX)
			return false;
		s[len++] = to_upper(p[i]);
		prev_space = false;
	}
	if (len < 5 || prev_space)
		return false;
	if (!is_alpha(s[0]) || !is_alpha(s[1]) || !is_digit(s[2]) || !is_digit(s[3]))
		return false;
	char cc[2] = { (char)s[0], (char)s[1] };
	if (ferry_policy_iban_length(cc) != len)
		return false;
	/* Move the first four characters to the end, letters become 10..35, the number mod 97
	 * must be 1 (ISO 13616-1 §7.1 / ISO 7064 MOD 97-10). Done digit by digit. */
	unsigned rem = 0;
	for (size_t k = 0; k < len; k++) {
		uint8_t c = s[(k + 4) % len];
		if (is_digit(c))
			rem = (rem * 10 + (unsigned)(c - '0')) % 97;
		else
			rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
	}
	return rem == 1;
}

bool
ferry_policy_charset_check(const struct ferry_policy_charset *cs, uint32_t min_len,
			   uint32_t max_len, const uint8_t *p, size_t n)
{
	if ((min_len && n < min_len) || (max_len && n > max_len))
		return false;
	if (cs == NULL)
		return true;
	for (size_t i = 0; i < n; i++)
		if (!(cs->set[p[i] >> 3] & (1u << (p[i] & 7))))
			return false;
	return true;
}

bool
ferry_policy_nric(const uint8_t *p, size_t n)
{
	/* ICA's published algorithm: weights 2,7,6,5,4,3,2 over the digits, +4 for the T and G
	 * series (born / issued from 2000), remainder mod 11 indexes the letter table.
	 * M series (FINs issued from 2022): +3, R = sum mod 11, P = 11 - R, letter
	 * "KLJNPQRTUWX"[P - 1]; written below as m[R] with m = that table reversed. As
	 * implemented by GovTech's FormSG (opengovsg/FormSG
	 * packages/shared/utils/nric-validation.ts, isMFinSeriesValid) and IonBazan/go-nric
	 * nric.go. m differs from fg only at R = 8 (J for M). */
	static const uint8_t w[7] = { 2, 7, 6, 5, 4, 3, 2 };
	static const char st[] = "JZIHGFEDCBA", fg[] = "XWUTRQPNMLK", m[] = "XWUTRQPNJLK";
	if (n != 9)
		return false;
	uint8_t pre = to_upper(p[0]), chk = to_upper(p[8]);
	if (pre != 'S' && pre != 'T' && pre != 'F' && pre != 'G' && pre != 'M')
		return false;
	if (chk < 'A' || chk > 'Z')
		return false;
	unsigned sum = 0;
	for (int i = 0; i < 7; i++) {
		if (!is_digit(p[1 + i]))
			return false;
		sum += (unsigned)(p[1 + i] - '0') * w[i];
	}
	if (pre == 'T' || pre == 'G')
		sum += 4;
	else if (pre == 'M')
		sum += 3;
	const char *tab = (pre == 'S' || pre == 'T') ? st : pre == 'M' ? m : fg;
	return (uint8_t)tab[sum % 11] == chk;
}

bool
ferry_policy_mynumber(const uint8_t *p, size_t n)
{
	/* Ordinance on the individual number, art. 5: P(n) is the n-th digit from the right
	 * excluding the check digit, Q(n) = n + 1 for n <= 6 and n - 5 above; check digit is
	 * 0 when sum mod 11 <= 1, else 11 - (sum mod 11). Spaces between groups are allowed. */
	uint8_t d[12];
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '-') {
			if (i == 0 || i + 1 == n || !is_digit(p[i - 1]))
				return false;
			continue;
		}
		if (!is_digit(p[i]) || nd == 12)
			return false;
		d[nd++] = (uint8_t)(p[i] - '0');
	}
	if (nd != 12)
		return false;
	unsigned sum = 0;
	for (unsigned k = 1; k <= 11; k++)
		sum += d[11 - k] * (k <= 6 ? k + 1 : k - 5);
	unsigned r = sum % 11;
	return d[11] == (r <= 1 ? 0 : 11 - r);
}

bool
ferry_policy_confirm(const struct ferry_policy_rule *r, const uint8_t *p, size_t n)
{
	if (!ferry_policy_charset_check(r->has_charset ? &r->charset : NULL, r->min_len, r->max_len,
					p, n))
		return false;
	switch (r->validator) {
	case FERRY_POLICY_VAL_NONE:
	case FERRY_POLICY_VAL_CHARSET: return true; /* done above */
	case FERRY_POLICY_VAL_LUHN: return ferry_policy_luhn(p, n);
	case FERRY_POLICY_VAL_IBAN: return ferry_policy_iban(p, n);
	case FERRY_POLICY_VAL_NRIC: return ferry_policy_nric(p, n);
	case FERRY_POLICY_VAL_MYNUMBER: return ferry_policy_mynumber(p, n);
	case FERRY_POLICY_VAL__COUNT: break;
	}
	return false;
}

const char *
ferry_policy_action_name(enum ferry_policy_action a)
{
	static const char *const names[FERRY_POLICY_ACT__COUNT] = {
		[FERRY_POLICY_ACT_PASS] = "pass", [FERRY_POLICY_ACT_TAG] = "tag",
		[FERRY_POLICY_ACT_MASK] = "mask", [FERRY_POLICY_ACT_TOKENISE] = "tokenise",
		[FERRY_POLICY_ACT_DROP] = "drop", [FERRY_POLICY_ACT_QUARANTINE] = "quarantine",
	};
	return (unsigned)a < FERRY_POLICY_ACT__COUNT ? names[a] : "?";
}

const char *
ferry_policy_validator_name(enum ferry_policy_validator v)
{
	static const char *const names[FERRY_POLICY_VAL__COUNT] = {
		[FERRY_POLICY_VAL_NONE] = "none", [FERRY_POLICY_VAL_LUHN] = "luhn",
		[FERRY_POLICY_VAL_IBAN] = "iban", [FERRY_POLICY_VAL_CHARSET] = "charset",
		[FERRY_POLICY_VAL_NRIC] = "nric", [FERRY_POLICY_VAL_MYNUMBER] = "mynumber",
	};
	return (unsigned)v < FERRY_POLICY_VAL__COUNT ? names[v] : "?";
}

const char *
ferry_policy_topic_decision_name(enum ferry_policy_topic_decision d)
{
	switch (d) {
	case FERRY_POLICY_TOPIC_DENY: return "deny";
	case FERRY_POLICY_TOPIC_PERMIT: return "permit";
	case FERRY_POLICY_TOPIC_INSPECT: return "inspect";
	}
	return "?";
}
