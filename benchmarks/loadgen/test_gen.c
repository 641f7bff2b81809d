/*
 * test_gen.c - unit tests of ferry-loadgen's record generator (gen.c): determinism,
 * sizes, well-formed JSON and protobuf values, the PII share, and every PII item
 * checked by a validator written here independently of the generator (Luhn, IBAN
 * mod 97 and per-country length, NRIC/FIN, My Number, SSN, NINO, phone plans, BIC),
 * plus ISIN and LEI check digits of the instrument and counterparty fields, and the
 * ground truth: offsets point at the PII, and records without PII hold none.
 */
#include "testutil.h"

#include <errno.h>
#include <math.h>

#include "gen.h"

#define BUFSZ (FERRY_GEN_MAX_SIZE + 4096)
/* Golden FNV-1a of the first 1000 records of seed 7 with the default configuration. */
#define GOLDEN_FNV UINT64_C(0xbbb3ce9049c4690b)
/* A string literal as (bytes, length) for the validators. */
#define V(s) (const uint8_t *)(s), strlen(s)
static uint8_t buf_a[BUFSZ], buf_b[BUFSZ];

static void
init_gen(struct ferry_gen *g, const struct ferry_gen_conf *cf)
{
	char err[256] = "";
	int rc = ferry_gen_init(g, cf, err, sizeof(err));
	if (rc != 0)
		fail_msg("ferry_gen_init: %s", err);
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
is_upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_alnum(uint8_t c)
{
	return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z');
}

/* ---- independent validators -------------------------------------------------------------- */

/* Luhn over a digit string, the textbook way: from the right, double every second digit. */
static bool
luhn_ok(const char *d, size_t n)
{
	static const int dbl[10] = { 0, 2, 4, 6, 8, 1, 3, 5, 7, 9 };
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';
		sum += (i & 1) ? dbl[v] : v;
	}
	return sum % 10 == 0;
}

/* Copy s without separators 'seps' into out; false if another non-alnum char shows up. */
static size_t
strip(const uint8_t *s, size_t n, const char *seps, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (strchr(seps, s[i]) && s[i])
			continue;
		if (k + 1 >= cap)
			return 0;
		out[k++] = (char)s[i];
	}
	out[k] = '\0';
	return k;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit((uint8_t)s[i]))
			return false;
	return true;
}

/* Groups of the given sizes separated by exactly 'sep'. */
static bool
grouped(const uint8_t *s, size_t n, const int *groups, char sep)
{
	size_t i = 0;
	for (int g = 0; groups[g]; g++) {
		if (g) {
			if (i >= n || s[i] != sep)
				return false;
			i++;
		}
		for (int k = 0; k < groups[g]; k++, i++)
			if (i >= n || !is_digit(s[i]))
				return false;
	}
	return i == n;
}

static bool
card_ok(const uint8_t *s, size_t n, int style)
{
	char d[32];
	size_t k = strip(s, n, style == FERRY_GEN_STYLE_SPACED ? " " : "-", d, sizeof(d));
	if (!all_digits(d, k) || !luhn_ok(d, k))
		return false;
	static const int g16[] = { 4, 4, 4, 4, 0 }, g15[] = { 4, 6, 5, 0 };
	if (style != FERRY_GEN_STYLE_PLAIN &&
	    !grouped(s, n, k == 15 ? g15 : g16, style == FERRY_GEN_STYLE_SPACED ? ' ' : '-'))
		return false;
	if (style == FERRY_GEN_STYLE_PLAIN && k != n)
		return false;
	if (k == 15) /* Amex */
		return d[0] == '3' && (d[1] == '4' || d[1] == '7');
	if (k != 16)
		return false;
	if (d[0] == '4')
		return true; /* Visa */
	int p2 = (d[0] - '0') * 10 + (d[1] - '0');
	int p4 = p2 * 100 + (d[2] - '0') * 10 + (d[3] - '0');
	return (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720); /* Mastercard */
}

/* IBAN: ISO 13616 lengths per country, mod 97 over the rearranged digits == 1. */
static bool
iban_ok(const uint8_t *s, size_t n, int style, const char *country)
{
	static const struct {
		const char *cc;
		size_t len;
	} lens[] = { { "GB", 22 }, { "DE", 22 }, { "FR", 27 }, { "NL", 18 }, { "CH", 21 },
		     { "BE", 16 }, { "IE", 22 }, { "LU", 20 }, { "ES", 24 }, { "AT", 20 } };
	char c[48];
	size_t k = strip(s, n, style == FERRY_GEN_STYLE_SPACED ? " " : "", c, sizeof(c));
	if (k < 15 || !is_upper((uint8_t)c[0]) || !is_upper((uint8_t)c[1]) ||
	    !is_digit((uint8_t)c[2]) || !is_digit((uint8_t)c[3]))
		return false;
	if (style == FERRY_GEN_STYLE_SPACED) /* groups of four, the last may be shorter */
		for (size_t i = 0; i < n; i++)
			if ((i % 5 == 4) != (s[i] == ' '))
				return false;
	size_t want = 0;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		if (memcmp(lens[i].cc, c, 2) == 0)
			want = lens[i].len;
	if (want == 0 || k != want || memcmp(c, country, 2) != 0)
		return false;
	/* Rearranged: BBAN + country + check digits, as one decimal number, mod 97. */
	char num[128];
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		char ch = c[(i + 4) % k];
		if (is_upper((uint8_t)ch)) {
			m += (size_t)snprintf(num + m, sizeof(num) - m, "%d", ch - 'A' + 10);
		} else if (is_digit((uint8_t)ch)) {
			num[m++] = ch;
		} else {
			return false;
		}
	}
	/* Nine digits at a time keeps the partial remainder within 64 bits. */
	uint64_t rem = 0;
	for (size_t i = 0; i < m; i += 9) {
		size_t take = m - i < 9 ? m - i : 9;
		uint64_t chunk = 0, scale = 1;
		for (size_t j = 0; j < take; j++) {
			chunk = chunk * 10 + (uint64_t)(num[i + j] - '0');
			scale *= 10;
		}
		rem = (rem * scale + chunk) % 97;
	}
	return rem == 1;
}

/* LEI (ISO 17442): 20 alphanumerics, mod 97 of the whole code (letters 10..35) == 1. */
static bool
lei_ok(const uint8_t *s, size_t n)
{
	if (n != 20)
		return false;
	unsigned rem = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_digit(s[i]))
			rem = (rem * 10 + (unsigned)(s[i] - '0')) % 97;
		else if (is_upper(s[i]))
			rem = (rem * 100 + (unsigned)(s[i] - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1 && is_digit(s[18]) && is_digit(s[19]);
}

/* ISIN: 2 letters, 9 alphanumerics, check digit by Luhn over the letter-expanded string. */
static bool
isin_ok(const uint8_t *s, size_t n)
{
	if (n != 12 || !is_upper(s[0]) || !is_upper(s[1]) || !is_digit(s[11]))
		return false;
	char d[32];
	size_t k = 0;
	for (size_t i = 0; i < 12; i++) {
		if (is_digit(s[i]))
			d[k++] = (char)s[i];
		else if (is_upper(s[i]))
			k += (size_t)snprintf(d + k, sizeof(d) - k, "%d", s[i] - 'A' + 10);
		else
			return false;
	}
	return luhn_ok(d, k);
}

static bool
email_ok(const uint8_t *s, size_t n)
{
	size_t at = n, dots_after = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '@') {
			if (at != n)
				return false;
			at = i;
		} else if (s[i] == '.') {
			if (at != n)
				dots_after++;
		} else if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-') {
			return false;
		}
	}
	return at > 0 && at < n - 3 && dots_after >= 1 && s[n - 1] != '.' && s[at + 1] != '.';
}

static bool
digits_in(const uint8_t *s, size_t n, const char *allowed_seps, size_t *nd)
{
	*nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_digit(s[i]))
			(*nd)++;
		else if (!strchr(allowed_seps, s[i]) || s[i] == 0)
			return false;
	}
	return true;
}

static bool
prefix(const uint8_t *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && memcmp(s, p, k) == 0;
}

/* Phone numbers per numbering plan and format. */
static bool
phone_ok(const uint8_t *s, size_t n, int style, const char *cc)
{
	size_t nd;
	if (strcmp(cc, "US") == 0) {
		const uint8_t *d; /* the 10 NANP digits */
		char tmp[16];
		if (style == FERRY_GEN_STYLE_NATIONAL) {
			/* (NPA) NXX-XXXX */
			if (n != 14 || s[0] != '(' || s[4] != ')' || s[5] != ' ' || s[9] != '-')
				return false;
			memcpy(tmp, s + 1, 3);
			memcpy(tmp + 3, s + 6, 3);
			memcpy(tmp + 6, s + 10, 4);
		} else {
			if (!prefix(s, n, "+1"))
				return false;
			size_t k = strip(s + 2, n - 2, " ", tmp, sizeof(tmp));
			if (k != 10)
				return false;
			if (style == FERRY_GEN_STYLE_SPACED && (n != 15 || s[2] != ' '))
				return false;
		}
		d = (const uint8_t *)tmp;
		if (!all_digits(tmp, 10))
			return false;
		/* NPA [2-9][0-8]X, exchange [2-9]XX and not N11. */
		return d[0] >= '2' && d[1] <= '8' && d[3] >= '2' && !(d[4] == '1' && d[5] == '1');
	}
	if (strcmp(cc, "GB") == 0) {
		if (style == FERRY_GEN_STYLE_NATIONAL)
			return s[0] == '0' && digits_in(s, n, " ", &nd) && nd == 11 &&
			       (s[1] == '7' || prefix(s, n, "020 "));
		return prefix(s, n, style == FERRY_GEN_STYLE_SPACED ? "+44 " : "+44") &&
		       digits_in(s + 1, n - 1, " ", &nd) && nd == 12 &&
		       (s[3 + (style != 0)] == '7' || s[3 + (style != 0)] == '2');
	}
	if (strcmp(cc, "SG") == 0) {
		const uint8_t *p = s;
		size_t m = n;
		if (style != FERRY_GEN_STYLE_NATIONAL) {
			if (!prefix(s, n, style == FERRY_GEN_STYLE_SPACED ? "+65 " : "+65"))
				return false;
			p += style == FERRY_GEN_STYLE_SPACED ? 4 : 3;
			m -= style == FERRY_GEN_STYLE_SPACED ? 4 : 3;
		}
		return digits_in(p, m, " ", &nd) && nd == 8 && strchr("689", p[0]);
	}
	if (strcmp(cc, "JP") == 0) {
		if (style == FERRY_GEN_STYLE_NATIONAL) /* 090-1234-5678 or 03-1234-5678 */
			return s[0] == '0' && digits_in(s, n, "-", &nd) &&
			       ((nd == 11 && strchr("789", s[1]) && s[2] == '0') ||
				(nd == 10 && s[1] == '3'));
		if (!prefix(s, n, "+81"))
			return false;
		return digits_in(s + 1, n - 1, " ", &nd) && (nd == 12 || nd == 11);
	}
	return false;
}

static bool
ssn_ok(const uint8_t *s, size_t n, int style)
{
	char d[16];
	if (style == FERRY_GEN_STYLE_DASHED) {
		if (n != 11 || s[3] != '-' || s[6] != '-')
			return false;
	} else if (n != 9) {
		return false;
	}
	size_t k = strip(s, n, "-", d, sizeof(d));
	if (k != 9 || !all_digits(d, 9))
		return false;
	int area = atoi((char[]){ d[0], d[1], d[2], 0 });
	int group = atoi((char[]){ d[3], d[4], 0 });
	int serial = atoi((char[]){ d[5], d[6], d[7], d[8], 0 });
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

static bool
nino_ok(const uint8_t *s, size_t n, int style)
{
	char c[16];
	if (style == FERRY_GEN_STYLE_SPACED) {
		/* "AB 12 34 56 C" */
		if (n != 13 || s[2] != ' ' || s[5] != ' ' || s[8] != ' ' || s[11] != ' ')
			return false;
	} else if (n != 9) {
		return false;
	}
	size_t k = strip(s, n, " ", c, sizeof(c));
	if (k != 9 || !all_digits(c + 2, 6) || c[8] < 'A' || c[8] > 'D')
		return false;
	if (strchr("DFIQUV", c[0]) || strchr("DFIOQUV", c[1]) || !is_upper((uint8_t)c[0]) ||
	    !is_upper((uint8_t)c[1]))
		return false;
	static const char *const unused[] = { "BG", "GB", "KN", "NK", "NT", "TN", "ZZ" };
	for (int i = 0; i < 7; i++)
		if (memcmp(c, unused[i], 2) == 0)
			return false;
	return true;
}

/* Singapore NRIC/FIN (ICA): weights 2765432; T/G +4, M +3; check letter tables indexed
 * by the remainder (the M table written reversed here, from "P = 11 - R"). */
static bool
nric_ok(const uint8_t *s, size_t n)
{
	static const int w[7] = { 2, 7, 6, 5, 4, 3, 2 };
	if (n != 9 || !strchr("STFGM", s[0]) || s[0] == 0)
		return false;
	int sum = 0;
	for (int i = 0; i < 7; i++) {
		if (!is_digit(s[1 + i]))
			return false;
		sum += w[i] * (s[1 + i] - '0');
	}
	if (s[0] == 'T' || s[0] == 'G')
		sum += 4;
	if (s[0] == 'M')
		sum += 3;
	const char *table = (s[0] == 'S' || s[0] == 'T') ? "JZIHGFEDCBA"
			    : s[0] == 'M'                ? "XWUTRQPNJLK"
							 : "XWUTRQPNMLK";
	return s[8] == table[sum % 11];
}

/* Japan My Number: check digit = 11 - (sum P_n * Q_n mod 11), 0 if the remainder <= 1. */
static bool
mynumber_ok(const uint8_t *s, size_t n, int style)
{
	static const int g444[] = { 4, 4, 4, 0 };
	if (style == FERRY_GEN_STYLE_SPACED && !grouped(s, n, g444, ' '))
		return false;
	if (style == FERRY_GEN_STYLE_DASHED && !grouped(s, n, g444, '-'))
		return false;
	char d[16];
	size_t k = strip(s, n, style == FERRY_GEN_STYLE_SPACED ? " " : "-", d, sizeof(d));
	if (k != 12 || !all_digits(d, 12))
		return false;
	int sum = 0;
	for (int i = 0; i < 11; i++) {
		int pos = 11 - i; /* position from the right among the first 11 digits */
		int weight = pos <= 6 ? pos + 1 : pos - 5;
		sum += (d[i] - '0') * weight;
	}
	int r = sum % 11, check = r <= 1 ? 0 : 11 - r;
	return d[11] - '0' == check;
}

static bool
bic_ok(const uint8_t *s, size_t n, const char *country)
{
	static const char *const iso[] = { "GB", "IE", "DE", "FR", "NL", "CH", "BE",
					   "LU", "ES", "AT", "US", "SG", "JP" };
	if (n != 8 && n != 11)
		return false;
	for (size_t i = 0; i < 6; i++)
		if (!is_upper(s[i]))
			return false;
	for (size_t i = 6; i < n; i++)
		if (!is_upper(s[i]) && !is_digit(s[i]))
			return false;
	if (memcmp(s + 4, country, 2) != 0)
		return false;
	for (size_t i = 0; i < sizeof(iso) / sizeof(iso[0]); i++)
		if (memcmp(s + 4, iso[i], 2) == 0)
			return true;
	return false;
}

static bool
name_ok(const uint8_t *s, size_t n)
{
	bool space = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ')
			space = true;
		else if (!(is_alnum(s[i]) || s[i] == '\'' || s[i] >= 0x80))
			return false;
	}
	return n >= 5 && space && is_upper(s[0]);
}

static bool
pii_ok(const struct ferry_gen_pii *p, const uint8_t *s)
{
	switch (p->kind) {
	case FERRY_GEN_PII_CARD: return card_ok(s, p->len, p->style);
	case FERRY_GEN_PII_IBAN: return iban_ok(s, p->len, p->style, p->country);
	case FERRY_GEN_PII_EMAIL: return email_ok(s, p->len);
	case FERRY_GEN_PII_PHONE: return phone_ok(s, p->len, p->style, p->country);
	case FERRY_GEN_PII_SSN: return ssn_ok(s, p->len, p->style);
	case FERRY_GEN_PII_NINO: return nino_ok(s, p->len, p->style);
	case FERRY_GEN_PII_NRIC: return nric_ok(s, p->len);
	case FERRY_GEN_PII_MYNUMBER: return mynumber_ok(s, p->len, p->style);
	case FERRY_GEN_PII_BIC: return bic_ok(s, p->len, p->country);
	case FERRY_GEN_PII_NAME: return name_ok(s, p->len);
	default: return false;
	}
}

/* The validators against published examples, so a wrong validator cannot pass bad data. */
static void
test_validators(void **state)
{
	(void)state;
	assert_true(luhn_ok("4111111111111111", 16));
	assert_false(luhn_ok("4111111111111112", 16));
	assert_true(card_ok(V("4111 1111 1111 1111"), FERRY_GEN_STYLE_SPACED));
	assert_true(card_ok(V("378282246310005"), FERRY_GEN_STYLE_PLAIN));
	assert_true(card_ok(V("5555-5555-5555-4444"), FERRY_GEN_STYLE_DASHED));
	assert_true(card_ok(V("2221000000000009"), FERRY_GEN_STYLE_PLAIN));
	assert_false(card_ok(V("6011111111111117"), FERRY_GEN_STYLE_PLAIN));
	assert_true(iban_ok(V("GB82WEST12345698765432"), 0, "GB"));
	assert_true(iban_ok(V("GB82 WEST 1234 5698 7654 32"), FERRY_GEN_STYLE_SPACED, "GB"));
	assert_true(iban_ok(V("DE89370400440532013000"), 0, "DE"));
	assert_true(iban_ok(V("FR1420041010050500013M02606"), 0, "FR"));
	assert_true(iban_ok(V("BE68539007547034"), 0, "BE"));
	assert_false(iban_ok(V("GB83WEST12345698765432"), 0, "GB"));
	assert_false(iban_ok(V("GB82WEST1234569876543"), 0, "GB"));
	assert_true(isin_ok(V("US0378331005")));
	assert_true(isin_ok(V("GB0002634946")));
	assert_false(isin_ok(V("US0378331006")));
	assert_true(lei_ok(V("5493001KJTIIGC8Y1R12")));
	assert_false(lei_ok(V("5493001KJTIIGC8Y1R13")));
	assert_true(nric_ok(V("S1234567D")));
	assert_true(nric_ok(V("T1234567J")));
	assert_true(nric_ok(V("F1234567N")));
	assert_true(nric_ok(V("G1234567X")));
	assert_true(nric_ok(V("M1234567K")));
	assert_false(nric_ok(V("S1234567A")));
	assert_true(mynumber_ok(V("123456789018"), FERRY_GEN_STYLE_PLAIN));
	assert_false(mynumber_ok(V("123456789012"), FERRY_GEN_STYLE_PLAIN));
	assert_true(ssn_ok(V("123-45-6789"), FERRY_GEN_STYLE_DASHED));
	assert_false(ssn_ok(V("666-45-6789"), FERRY_GEN_STYLE_DASHED));
	assert_false(ssn_ok(V("900-45-6789"), FERRY_GEN_STYLE_DASHED));
	assert_true(nino_ok(V("AB123456C"), FERRY_GEN_STYLE_PLAIN));
	assert_false(nino_ok(V("GB123456C"), FERRY_GEN_STYLE_PLAIN));
	assert_false(nino_ok(V("AO123456C"), FERRY_GEN_STYLE_PLAIN));
	assert_true(phone_ok(V("(212) 555-0147"), FERRY_GEN_STYLE_NATIONAL, "US"));
	assert_false(phone_ok(V("(212) 411-0147"), FERRY_GEN_STYLE_NATIONAL, "US"));
	assert_true(phone_ok(V("+44 7911 123456"), FERRY_GEN_STYLE_SPACED, "GB"));
}

/* ---- a tiny JSON checker (RFC 8259 grammar, no semantics) ------------------------------- */

struct jp {
	const uint8_t *p;
	size_t n, i;
	int depth;
};

static void
j_ws(struct jp *j)
{
	while (j->i < j->n && strchr(" \t\r\n", j->p[j->i]) && j->p[j->i])
		j->i++;
}

static bool j_value(struct jp *j);

static bool
j_lit(struct jp *j, const char *s)
{
	size_t k = strlen(s);
	if (j->n - j->i < k || memcmp(j->p + j->i, s, k) != 0)
		return false;
	j->i += k;
	return true;
}

static bool
j_string(struct jp *j)
{
	if (j->i >= j->n || j->p[j->i] != '"')
		return false;
	j->i++;
	while (j->i < j->n) {
		uint8_t c = j->p[j->i++];
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->i >= j->n)
				return false;
			c = j->p[j->i++];
			if (c == 'u') {
				for (int k = 0; k < 4; k++, j->i++)
					if (j->i >= j->n || !isxdigit(j->p[j->i]))
						return false;
			} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
				return false;
			}
		} else if (c >= 0x80) { /* UTF-8: a lead byte and its continuation bytes */
			int more = (c & 0xe0) == 0xc0   ? 1
				   : (c & 0xf0) == 0xe0 ? 2
				   : (c & 0xf8) == 0xf0 ? 3
							: -1;
			if (more < 0)
				return false;
			for (int k = 0; k < more; k++, j->i++)
				if (j->i >= j->n || (j->p[j->i] & 0xc0) != 0x80)
					return false;
		}
	}
	return false;
}

static bool
j_number(struct jp *j)
{
	size_t s = j->i;
	if (j->i < j->n && j->p[j->i] == '-')
		j->i++;
	if (j->i >= j->n || !is_digit(j->p[j->i]))
		return false;
	if (j->p[j->i] == '0')
		j->i++;
	else
		while (j->i < j->n && is_digit(j->p[j->i]))
			j->i++;
	if (j->i < j->n && j->p[j->i] == '.') {
		j->i++;
		if (j->i >= j->n || !is_digit(j->p[j->i]))
			return false;
		while (j->i < j->n && is_digit(j->p[j->i]))
			j->i++;
	}
	if (j->i < j->n && (j->p[j->i] == 'e' || j->p[j->i] == 'E')) {
		j->i++;
		if (j->i < j->n && (j->p[j->i] == '+' || j->p[j->i] == '-'))
			j->i++;
		if (j->i >= j->n || !is_digit(j->p[j->i]))
			return false;
		while (j->i < j->n && is_digit(j->p[j->i]))
			j->i++;
	}
	return j->i > s;
}

static bool
j_container(struct jp *j, uint8_t open, uint8_t close)
{
	if (++j->depth > 64)
		return false;
	j->i++; /* open */
	(void)open;
	j_ws(j);
	if (j->i < j->n && j->p[j->i] == close) {
		j->i++;
		j->depth--;
		return true;
	}
	for (;;) {
		j_ws(j);
		if (close == '}') {
			if (!j_string(j))
				return false;
			j_ws(j);
			if (j->i >= j->n || j->p[j->i++] != ':')
				return false;
		}
		if (!j_value(j))
			return false;
		j_ws(j);
		if (j->i >= j->n)
			return false;
		uint8_t c = j->p[j->i++];
		if (c == close)
			break;
		if (c != ',')
			return false;
	}
	j->depth--;
	return true;
}

static bool
j_value(struct jp *j)
{
	j_ws(j);
	if (j->i >= j->n)
		return false;
	switch (j->p[j->i]) {
	case '{': return j_container(j, '{', '}');
	case '[': return j_container(j, '[', ']');
	case '"': return j_string(j);
	case 't': return j_lit(j, "true");
	case 'f': return j_lit(j, "false");
	case 'n': return j_lit(j, "null");
	default: return j_number(j);
	}
}

/* A whole value: one JSON object, nothing but whitespace after it. */
static bool
json_ok(const uint8_t *p, size_t n)
{
	struct jp j = { p, n, 0, 0 };
	j_ws(&j);
	if (j.i >= n || p[j.i] != '{' || !j_value(&j))
		return false;
	j_ws(&j);
	return j.i == n;
}

static void
test_json_checker(void **state)
{
	(void)state;
	assert_true(json_ok(V("{\"a\":[1,2.5,-0.1e3,true,null,{\"b\":\"x\\\"y\"}]}")));
	assert_true(json_ok(V("{\"z\":\"Zo\xc3\xab\"}  ")));
	assert_false(json_ok(V("{\"a\":1,}")));
	assert_false(json_ok(V("{\"a\":01}")));
	assert_false(json_ok(V("{\"a\":\"x\ty\"}")));
	assert_false(json_ok(V("{\"a\":1} x")));
	assert_false(json_ok(V("{\"a\":\"\xc3\"}")));
}

/* ---- protobuf (Confluent framing) walker ------------------------------------------------- */

static bool
pb_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
	*v = 0;
	for (int s = 0; s < 64; s += 7) {
		if (*i >= n)
			return false;
		uint8_t c = p[(*i)++];
		*v |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/* Walk magic 0, schema id, message index 0, then fields to exactly the end. */
static bool
pb_ok(const uint8_t *p, size_t n, uint32_t *schema)
{
	if (n < 6 || p[0] != 0 || p[5] != 0)
		return false;
	*schema = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	size_t i = 6;
	while (i < n) {
		uint64_t tag, v;
		if (!pb_varint(p, n, &i, &tag) || (tag >> 3) == 0)
			return false;
		switch (tag & 7) {
		case 0:
			if (!pb_varint(p, n, &i, &v))
				return false;
			break;
		case 1:
			if (n - i < 8)
				return false;
			i += 8;
			break;
		case 2:
			if (!pb_varint(p, n, &i, &v) || v > n - i)
				return false;
			i += v;
			break;
		default: return false;
		}
	}
	return i == n;
}

/* ---- tests of the generator --------------------------------------------------------------- */

static void
assert_same_rec(const struct ferry_gen_rec *a, const struct ferry_gen_rec *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->kind, b->kind);
	assert_true(a->timestamp == b->timestamp);
	assert_int_equal(a->value.len, b->value.len);
	assert_memory_equal(a->value.p, b->value.p, a->value.len);
	assert_int_equal(a->key.p == NULL, b->key.p == NULL);
	assert_int_equal(a->key.len, b->key.len);
	if (a->key.len)
		assert_memory_equal(a->key.p, b->key.p, a->key.len);
	assert_int_equal(a->n_headers, b->n_headers);
	for (uint32_t h = 0; h < a->n_headers; h++) {
		assert_int_equal(a->headers[h].Value.len, b->headers[h].Value.len);
		assert_memory_equal(a->headers[h].Value.p, b->headers[h].Value.p,
				    a->headers[h].Value.len);
	}
	assert_int_equal(a->n_pii, b->n_pii);
	for (uint32_t k = 0; k < a->n_pii; k++) {
		assert_int_equal(a->pii[k].kind, b->pii[k].kind);
		assert_int_equal(a->pii[k].style, b->pii[k].style);
		assert_int_equal(a->pii[k].in_text, b->pii[k].in_text);
		assert_string_equal(a->pii[k].country, b->pii[k].country);
		assert_int_equal(a->pii[k].off, b->pii[k].off);
		assert_int_equal(a->pii[k].len, b->pii[k].len);
	}
}

static void
test_determinism(void **state)
{
	(void)state;
	for (int fmt = 0; fmt < 2; fmt++) {
		struct ferry_gen_conf cf;
		ferry_gen_conf_default(&cf);
		cf.seed = 42;
		cf.format = fmt;
		cf.pii_share = 0.05;
		struct ferry_gen a, b, c;
		init_gen(&a, &cf);
		init_gen(&b, &cf);
		cf.seed = 43;
		init_gen(&c, &cf);
		int differ = 0;
		for (int i = 0; i < 10000; i++) {
			struct ferry_gen_rec ra, rb, rc;
			assert_int_equal(ferry_gen_next(&a, buf_a, sizeof(buf_a), &ra), 0);
			assert_int_equal(ferry_gen_next(&b, buf_b, sizeof(buf_b), &rb), 0);
			assert_same_rec(&ra, &rb);
			/* Record i by random access equals record i of the stream. */
			if (i % 97 == 0) {
				assert_int_equal(
				    ferry_gen_record(&a, (uint64_t)i, buf_b, sizeof(buf_b), &rb),
				    0);
				assert_same_rec(&ra, &rb);
			}
			assert_int_equal(ferry_gen_next(&c, buf_b, sizeof(buf_b), &rc), 0);
			differ += ra.value.len != rc.value.len ||
				  memcmp(ra.value.p, rc.value.p, ra.value.len) != 0;
		}
		assert_true(differ >= 9990);
		/* The stats of two identical streams agree too. */
		assert_memory_equal(&a.st, &b.st, sizeof(a.st));
	}
}

/* A golden value: the stream format is pinned, so a change to it is a deliberate one. */
static void
test_golden(void **state)
{
	(void)state;
	struct ferry_gen_conf cf;
	ferry_gen_conf_default(&cf);
	cf.seed = 7;
	struct ferry_gen g;
	init_gen(&g, &cf);
	uint64_t h = UINT64_C(14695981039346656037);
	for (int i = 0; i < 1000; i++) {
		struct ferry_gen_rec r;
		assert_int_equal(ferry_gen_next(&g, buf_a, sizeof(buf_a), &r), 0);
		for (size_t k = 0; k < r.used; k++)
			h = (h ^ buf_a[k]) * UINT64_C(1099511628211);
	}
	if (getenv("FERRY_TEST_DEBUG"))
		fprintf(stderr, "golden FNV-1a: 0x%016llx\n", (unsigned long long)h);
	assert_true(h == GOLDEN_FNV);
}

static void
test_sizes(void **state)
{
	(void)state;
	static const uint32_t ranges[][2] = { { 100, 100 },    { 100, 4096 }, { 1000, 1000 },
					      { 4096, 65536 }, { 127, 140 },  { 16380, 16400 } };
	for (int fmt = 0; fmt < 2; fmt++) {
		for (size_t k = 0; k < sizeof(ranges) / sizeof(ranges[0]); k++) {
			struct ferry_gen_conf cf;
			ferry_gen_conf_default(&cf);
			cf.format = fmt;
			cf.min_size = ranges[k][0];
			cf.max_size = ranges[k][1];
			cf.pii_share = 0.2;
			struct ferry_gen g;
			init_gen(&g, &cf);
			int n = ranges[k][1] > 10000 ? 500 : 5000;
			for (int i = 0; i < n; i++) {
				struct ferry_gen_rec r;
				assert_int_equal(ferry_gen_next(&g, buf_a, sizeof(buf_a), &r), 0);
				assert_in_range(r.value.len, cf.min_size, cf.max_size);
				assert_true(r.used <= ferry_gen_buf_size(&g));
			}
		}
	}
	/* Every exact size in a range is reachable in both formats (the binary format has
	 * gaps where a length varint grows: 130 and 16387 bytes of notes field). */
	for (int fmt = 0; fmt < 2; fmt++)
		for (uint32_t sz = 100; sz < 420; sz++) {
			struct ferry_gen_conf cf;
			ferry_gen_conf_default(&cf);
			cf.format = fmt;
			cf.min_size = cf.max_size = sz;
			cf.pii_share = 0.5;
			struct ferry_gen g;
			init_gen(&g, &cf);
			for (int i = 0; i < 40; i++) {
				struct ferry_gen_rec r;
				assert_int_equal(ferry_gen_next(&g, buf_a, sizeof(buf_a), &r), 0);
				assert_int_equal(r.value.len, sz);
			}
		}
	/* Log-uniform 100..4096: about half the values below sqrt(100 * 4096) = 640. */
	struct ferry_gen_conf cf;
	ferry_gen_conf_default(&cf);
	struct ferry_gen g;
	init_gen(&g, &cf);
	int below = 0;
	for (int i = 0; i < 20000; i++) {
		struct ferry_gen_rec r;
		ferry_gen_next(&g, buf_a, sizeof(buf_a), &r);
		below += r.value.len < 640;
	}
	assert_in_range(below, 8000, 12000);
}

/* Smallest values with PII required: the mandatory PII always fits, for every kind. */
static void
test_min_size_pii(void **state)
{
	(void)state;
	for (int fmt = 0; fmt < 2; fmt++)
		for (int kind = 0; kind < FERRY_GEN_KIND_COUNT; kind++) {
			struct ferry_gen_conf cf;
			ferry_gen_conf_default(&cf);
			cf.format = fmt;
			cf.min_size = cf.max_size = FERRY_GEN_MIN_SIZE;
			cf.pii_share = 1.0;
			memset(cf.kind_weight, 0, sizeof(cf.kind_weight));
			cf.kind_weight[kind] = 1;
			struct ferry_gen g;
			init_gen(&g, &cf);
			for (int i = 0; i < 3000; i++) {
				struct ferry_gen_rec r;
				assert_int_equal(ferry_gen_next(&g, buf_a, sizeof(buf_a), &r), 0);
				assert_int_equal(r.kind, kind);
				assert_int_equal(r.value.len, FERRY_GEN_MIN_SIZE);
				assert_true(r.n_pii >= 1);
				for (uint32_t k = 0; k < r.n_pii; k++)
					assert_true(pii_ok(&r.pii[k], r.value.p + r.pii[k].off));
			}
		}
}

/* Offset of `"name":"` + its value span in a JSON value, or false. */
static bool
json_field(const uint8_t *v, size_t n, const char *name, size_t from, size_t *off, size_t *len)
{
	char pat[64];
	int k = snprintf(pat, sizeof(pat), "\"%s\":\"", name);
	for (size_t i = from; i + (size_t)k <= n; i++) {
		if (memcmp(v + i, pat, (size_t)k) != 0)
			continue;
		size_t s = i + (size_t)k, e = s;
		while (e < n && v[e] != '"')
			e++;
		*off = s;
		*len = e - s;
		return e < n;
	}
	return false;
}

static void
test_wellformed(void **state)
{
	(void)state;
	static const char *const type_str[] = { "{\"type\":\"trade\"", "{\"type\":\"order\"",
						"{\"type\":\"risk\"", "{\"type\":\"client\"" };
	for (int fmt = 0; fmt < 2; fmt++) {
		struct ferry_gen_conf cf;
		ferry_gen_conf_default(&cf);
		cf.format = fmt;
		cf.pii_share = 0.3;
		cf.max_size = 8192;
		struct ferry_gen g;
		init_gen(&g, &cf);
		int isins = 0, leis = 0;
		for (int i = 0; i < 20000; i++) {
			struct ferry_gen_rec r;
			assert_int_equal(ferry_gen_next(&g, buf_a, sizeof(buf_a), &r), 0);
			const uint8_t *v = r.value.p;
			size_t n = r.value.len, off, len;
			if (fmt == FERRY_GEN_FMT_JSON) {
				if (!json_ok(v, n))
					fail_msg("record %d is not JSON: %.*s", i, (int)n,
						 (const char *)v);
				const char *t = type_str[r.kind];
				assert_memory_equal(v, t, strlen(t));
				for (size_t p = 0; json_field(v, n, "isin", p, &off, &len);
				     p = off) {
					assert_true(isin_ok(v + off, len));
					isins++;
				}
				for (size_t p = 0; json_field(v, n, "cpty_lei", p, &off, &len);
				     p = off) {
					assert_true(lei_ok(v + off, len));
					leis++;
				}
				for (size_t p = 0; json_field(v, n, "lei", p, &off, &len);
				     p = off) {
					assert_true(lei_ok(v + off, len));
					leis++;
				}
			} else {
				uint32_t schema;
				if (!pb_ok(v, n, &schema))
					fail_msg("record %d: not Confluent-framed protobuf", i);
				assert_int_equal(schema, 1001 + (uint32_t)r.kind);
			}
			/* Keys: ISIN by instrument (account for client records). */
			assert_non_null(r.key.p);
			if (r.kind == FERRY_GEN_CLIENT) {
				assert_int_equal(r.key.len, 10);
				assert_memory_equal(r.key.p, "AC-", 3);
			} else {
				assert_true(isin_ok(r.key.p, r.key.len));
			}
			assert_int_equal(r.n_headers, 3);
			assert_int_equal(r.headers[0].Value.len, 55); /* traceparent */
		}
		if (fmt == FERRY_GEN_FMT_JSON) {
			assert_true(isins > 10000);
			assert_true(leis > 1000);
		}
	}
}

/* Every PII item passes its own rules and sits at its offset; coverage of kinds/styles. */
static void
test_pii_valid(void **state)
{
	(void)state;
	for (int fmt = 0; fmt < 2; fmt++) {
		struct ferry_gen_conf cf;
		ferry_gen_conf_default(&cf);
		cf.format = fmt;
		cf.pii_share = 1.0;
		cf.seed = 99;
		struct ferry_gen g;
		init_gen(&g, &cf);
		unsigned seen[FERRY_GEN_PII_COUNT][4] = { { 0 } };
		unsigned iban_cc = 0, phone_cc[4] = { 0 };
		static const char *const ibans[] = { "GB", "DE", "FR", "NL", "CH",
						     "BE", "IE", "LU", "ES", "AT" };
		static const char *const phones[] = { "GB", "US", "SG", "JP" };
		for (int i = 0; i < 50000; i++) {
			struct ferry_gen_rec r;
			assert_int_equal(ferry_gen_next(&g, buf_a, sizeof(buf_a), &r), 0);
			assert_true(r.n_pii >= 1);
			uint32_t mask = 0;
			for (uint32_t k = 0; k < r.n_pii; k++) {
				const struct ferry_gen_pii *p = &r.pii[k];
				assert_true(p->off + p->len <= r.value.len);
				if (k)
					assert_true(r.pii[k - 1].off + r.pii[k - 1].len <= p->off);
				const uint8_t *s = r.value.p + p->off;
				if (!pii_ok(p, s))
					fail_msg("record %d: %s (%s, %s) '%.*s' fails its rules", i,
						 ferry_gen_pii_name(p->kind),
						 ferry_gen_style_name(p->style), p->country,
						 (int)p->len, (const char *)s);
				/* Delimited: structured fields by quotes, free text by non-alnum.
				 */
				if (fmt == FERRY_GEN_FMT_JSON || p->in_text) {
					assert_false(is_alnum(s[-1]));
					assert_false(p->off + p->len < r.value.len &&
						     is_alnum(s[p->len]));
				}
				if (fmt == FERRY_GEN_FMT_JSON && !p->in_text)
					assert_true(s[-1] == '"' && s[p->len] == '"');
				seen[p->kind][p->style]++;
				mask |= 1u << p->kind;
				for (int c = 0; c < 10; c++)
					if (p->kind == FERRY_GEN_PII_IBAN &&
					    strcmp(p->country, ibans[c]) == 0)
						iban_cc |= 1u << c;
				for (int c = 0; c < 4; c++)
					if (p->kind == FERRY_GEN_PII_PHONE &&
					    strcmp(p->country, phones[c]) == 0)
						phone_cc[c] |= 1u << p->style;
			}
			assert_int_equal(mask, r.pii_mask);
		}
		/* Coverage: every kind, every format a kind has, every country. */
		for (int k = 0; k < FERRY_GEN_PII_COUNT; k++) {
			unsigned total = 0;
			for (int s = 0; s < 4; s++)
				total += seen[k][s];
			if (total < 100)
				fail_msg("only %u %s items", total, ferry_gen_pii_name(k));
		}
		assert_true(seen[FERRY_GEN_PII_CARD][FERRY_GEN_STYLE_PLAIN] &&
			    seen[FERRY_GEN_PII_CARD][FERRY_GEN_STYLE_SPACED] &&
			    seen[FERRY_GEN_PII_CARD][FERRY_GEN_STYLE_DASHED]);
		assert_true(seen[FERRY_GEN_PII_IBAN][FERRY_GEN_STYLE_SPACED] &&
			    seen[FERRY_GEN_PII_IBAN][FERRY_GEN_STYLE_PLAIN]);
		assert_int_equal(iban_cc, 0x3ff);
		for (int c = 0; c < 4; c++)
			assert_int_equal(phone_cc[c], 1u << FERRY_GEN_STYLE_PLAIN |
							  1u << FERRY_GEN_STYLE_SPACED |
							  1u << FERRY_GEN_STYLE_NATIONAL);
		assert_true(seen[FERRY_GEN_PII_MYNUMBER][FERRY_GEN_STYLE_DASHED] > 0);
		assert_true(seen[FERRY_GEN_PII_SSN][FERRY_GEN_STYLE_DASHED] > 0);
		assert_true(seen[FERRY_GEN_PII_NINO][FERRY_GEN_STYLE_SPACED] > 0);
	}
}

/*
 * Ground truth is complete for the shapes a detector hunts with checksums: outside the
 * items the truth lists, no value holds a Luhn-valid card-shaped digit run or an
 * IBAN-shaped code that passes mod 97.
 */
static bool
covered(const struct ferry_gen_rec *r, size_t off)
{
	for (uint32_t k = 0; k < r->n_pii; k++)
		if (off >= r->pii[k].off && off < r->pii[k].off + r->pii[k].len)
			return true;
	return false;
}

static void
test_truth_complete(void **state)
{
	(void)state;
	struct ferry_gen_conf cf;
	ferry_gen_conf_default(&cf);
	cf.pii_share = 0.1;
	cf.seed = 5;
	struct ferry_gen g;
	init_gen(&g, &cf);
	int found = 0;
	for (int i = 0; i < 20000; i++) {
		struct ferry_gen_rec r;
		ferry_gen_next(&g, buf_a, sizeof(buf_a), &r);
		const uint8_t *v = r.value.p;
		size_t n = r.value.len;
		for (size_t s = 0; s < n; s++) {
			if (s > 0 && is_alnum(v[s - 1]))
				continue; /* only runs that start at a word boundary */
			/* Card: 13-19 digits, optionally with single spaces or dashes. */
			char d[24];
			size_t k = 0, e = s;
			while (e < n && k < 20 &&
			       (is_digit(v[e]) || ((v[e] == ' ' || v[e] == '-') && e + 1 < n &&
						   is_digit(v[e + 1]) && e > s)))
				if (is_digit(v[e++]))
					d[k++] = (char)v[e - 1];
			if (k >= 13 && k <= 19 && luhn_ok(d, k) && strchr("2345", d[0])) {
				if (!covered(&r, s))
					fail_msg("record %d: untracked card-like '%.*s'", i,
						 (int)(e - s), (const char *)v + s);
				found++;
			}
			/* IBAN: 2 letters, 2 digits, 11..30 alphanumerics. */
			if (s + 15 <= n && is_upper(v[s]) && is_upper(v[s + 1]) &&
			    is_digit(v[s + 2]) && is_digit(v[s + 3])) {
				e = s + 4;
				while (e < n && (is_upper(v[e]) || is_digit(v[e])))
					e++;
				char cc[3] = { (char)v[s], (char)v[s + 1], 0 };
				if (e - s >= 15 &&
				    iban_ok(v + s, e - s, FERRY_GEN_STYLE_PLAIN, cc) &&
				    !covered(&r, s))
					fail_msg("record %d: untracked IBAN-like '%.*s'", i,
						 (int)(e - s), (const char *)v + s);
			}
		}
	}
	assert_true(found > 50);
}

static void
test_pii_share(void **state)
{
	(void)state;
	static const struct {
		double share;
		uint64_t lo, hi;
	} cases[] = {
		{ 0.01, 700, 1300 }, { 0.0, 0, 0 }, { 1.0, 100000, 100000 }, { 0.25, 24000, 26000 }
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct ferry_gen_conf cf;
		ferry_gen_conf_default(&cf);
		cf.pii_share = cases[c].share;
		cf.min_size = 100;
		cf.max_size = 300;
		struct ferry_gen g;
		init_gen(&g, &cf);
		uint64_t with = 0;
		for (int i = 0; i < 100000; i++) {
			struct ferry_gen_rec r;
			ferry_gen_next(&g, buf_a, sizeof(buf_a), &r);
			with += r.n_pii > 0;
		}
		assert_true(with == g.st.pii_records);
		if (with < cases[c].lo || with > cases[c].hi)
			fail_msg("share %.2f: %llu of 100000 records with PII", cases[c].share,
				 (unsigned long long)with);
	}
}

static void
test_kinds_keys_headers(void **state)
{
	(void)state;
	struct ferry_gen_conf cf;
	ferry_gen_conf_default(&cf);
	char err[256];
	assert_int_equal(ferry_gen_parse_kinds("trade:3,client", cf.kind_weight, err, sizeof(err)),
			 0);
	assert_int_equal(cf.kind_weight[FERRY_GEN_TRADE], 3);
	assert_int_equal(cf.kind_weight[FERRY_GEN_ORDER], 0);
	assert_int_equal(cf.kind_weight[FERRY_GEN_CLIENT], 1);
	cf.key_mode = FERRY_GEN_KEY_ACCOUNT;
	cf.headers = false;
	struct ferry_gen g;
	init_gen(&g, &cf);
	unsigned n[FERRY_GEN_KIND_COUNT] = { 0 };
	for (int i = 0; i < 8000; i++) {
		struct ferry_gen_rec r;
		ferry_gen_next(&g, buf_a, sizeof(buf_a), &r);
		n[r.kind]++;
		assert_int_equal(r.n_headers, 0);
		assert_int_equal(r.key.len, 10);
		assert_memory_equal(r.key.p, "AC-", 3);
		assert_true(all_digits((const char *)r.key.p + 3, 7));
	}
	assert_int_equal(n[FERRY_GEN_ORDER] + n[FERRY_GEN_RISK], 0);
	assert_in_range(n[FERRY_GEN_TRADE], 5700, 6300);

	cf.key_mode = FERRY_GEN_KEY_NONE;
	init_gen(&g, &cf);
	struct ferry_gen_rec r;
	ferry_gen_next(&g, buf_a, sizeof(buf_a), &r);
	assert_null(r.key.p);
	assert_int_equal(r.key.len, 0);

	/* Names and the errors of the kind list. */
	assert_int_equal(ferry_gen_kind_from_name("risk", 4), FERRY_GEN_RISK);
	assert_int_equal(ferry_gen_kind_from_name("riskx", 5), -1);
	assert_string_equal(ferry_gen_pii_name(FERRY_GEN_PII_MYNUMBER), "mynumber");
	static const char *const bad[] = { "",       "trade,",  "swap",    "trade,trade",
					   "trade:", "trade:0", "trade:x", "trade:2000000",
					   ",order" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(ferry_gen_parse_kinds(bad[i], cf.kind_weight, err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
	}
}

static void
test_conf_errors(void **state)
{
	(void)state;
	struct ferry_gen g;
	char err[256];
	struct ferry_gen_conf cf;
	for (int c = 0; c < 11; c++) {
		ferry_gen_conf_default(&cf);
		switch (c) {
		case 0: cf.min_size = 99; break;
		case 1: cf.max_size = FERRY_GEN_MAX_SIZE + 1; break;
		case 2: cf.min_size = 500, cf.max_size = 400; break;
		case 3: cf.pii_share = 1.5; break;
		case 4: cf.pii_share = NAN; break;
		case 5: memset(cf.kind_weight, 0, sizeof(cf.kind_weight)); break;
		case 6: cf.format = 7; break;
		case 7: cf.key_mode = -1; break;
		case 8: cf.start_ms = -1; break;
		case 9: cf.start_ms = FERRY_GEN_MAX_START_MS + 1; break;
		default: cf.n_accounts = 0; break;
		}
		err[0] = '\0';
		assert_int_equal(ferry_gen_init(&g, &cf, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
	}
	ferry_gen_conf_default(&cf);
	init_gen(&g, &cf);
	struct ferry_gen_rec r;
	assert_int_equal(ferry_gen_next(&g, buf_a, ferry_gen_buf_size(&g) - 1, &r),
			 FERRY_ERR__NOSPACE);
	assert_int_equal(g.seq, 0);
	assert_int_equal(ferry_gen_next(&g, buf_a, ferry_gen_buf_size(&g), &r), 0);
	assert_int_equal(g.seq, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_json_checker),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_min_size_pii),
		cmocka_unit_test(test_wellformed),
		cmocka_unit_test(test_pii_valid),
		cmocka_unit_test(test_truth_complete),
		cmocka_unit_test(test_pii_share),
		cmocka_unit_test(test_kinds_keys_headers),
		cmocka_unit_test(test_conf_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
