/*
 * gen.c - ferry-loadgen's record generator (see gen.h for the contract).
 *
 * Any thread, on its own struct ferry_gen; no allocation, no libm, no locale: every
 * number is integer arithmetic (IEEE division only where the binary format stores a
 * double), so a seed gives the same bytes on every machine.
 *
 * How a record is made:
 *  1. A xoshiro256** stream seeded from (seed, seq) draws the kind, the target value
 *     size (log-uniform between min and max), whether the record carries PII, the
 *     instrument and the account (both skewed: a few are hot).
 *  2. People behind accounts are stable: name, card, IBAN, phone, national id are drawn
 *     from a stream seeded by (seed, account, PII kind), so every record about an
 *     account shows the same person.
 *  3. The value builder writes the mandatory fields, then the kind's fields in priority
 *     order until one no longer fits, then a free-text "notes" field that fills the value
 *     to exactly the target size. PII goes into client fields or into the notes inside a
 *     short sentence; its offset and length are recorded as ground truth.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ferry/common-t.h"
#include "gen.h"

/* 2024-03-14T08:00:00Z: a Thursday, all four venues open. */
#define DEFAULT_START_MS INT64_C(1710403200000)
#define UNIVERSE_SEED    UINT64_C(0x6665727279756e69) /* instruments, LEIs: same for every seed */
#define SALT_PERSON      UINT64_C(0x706572736f6e7321)
#define MAX_INSTRUMENTS  1000000u
#define MAX_ACCOUNTS     9999999u /* "AC-" + 7 digits */
#define KEY_CAP          32u
#define HDR_CAP          128u

/* ---- PRNG: splitmix64 to seed, xoshiro256** to draw ------------------------------------ */

struct rng {
	uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Two 64-bit inputs (a seed and an index) to an independent stream. */
static void
rng_seed(struct rng *r, uint64_t a, uint64_t b)
{
	uint64_t x = a;
	uint64_t y = splitmix64(&x) ^ (b * UINT64_C(0xD1B54A32D192ED03));
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&y);
}

static inline uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-32). */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static uint32_t
rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

static bool
rng_pct(struct rng *r, uint32_t pct)
{
	return rng_below(r, 100) < pct;
}

static char
rng_digit(struct rng *r)
{
	return (char)('0' + rng_below(r, 10));
}

/*
 * Log-uniform integer in [lo, hi] without libm: a piecewise-linear log2 (exact at
 * powers of two, linear between them) in 32.32 fixed point, drawn uniformly and mapped
 * back. Each octave gets the same probability, uniform inside the octave.
 */
static uint64_t
plog2(uint64_t x)
{
	int k = 63 - __builtin_clzll(x);
	uint64_t frac = ((x - (UINT64_C(1) << k)) << 32) >> k;
	return ((uint64_t)k << 32) | frac;
}

static uint64_t
pexp2(uint64_t y)
{
	int k = (int)(y >> 32);
	uint64_t frac = y & 0xffffffffu;
	return (UINT64_C(1) << k) + ((frac << k) >> 32);
}

/* High 64 bits of a 64x64-bit product (portable: no __int128). */
static uint64_t
mulhi64(uint64_t a, uint64_t b)
{
	uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
	uint64_t p0 = al * bl, p1 = al * bh, p2 = ah * bl, p3 = ah * bh;
	uint64_t mid = (p0 >> 32) + (uint32_t)p1 + (uint32_t)p2;
	return p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

static uint64_t
rng_logu(struct rng *r, uint64_t lo, uint64_t hi)
{
	if (lo >= hi)
		return lo;
	uint64_t a = plog2(lo), b = plog2(hi + 1);
	uint64_t y = a + mulhi64(rng_next(r), b - a);
	uint64_t v = pexp2(y);
	return v < lo ? lo : (v > hi ? hi : v);
}

/* Skewed index in [0, n): u^3 puts about half the draws in the first 10 %. */
static uint32_t
rng_skewed(struct rng *r, uint32_t n)
{
	uint64_t u = rng_next(r) >> 43; /* 21 bits */
	uint64_t u3 = (u * u >> 21) * u >> 21;
	return (uint32_t)((u3 * n) >> 21);
}

/* ---- small text helpers -------------------------------------------------------------- */

struct sbuf {
	char s[96];
	size_t n;
};

static void
sb_put(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->n + n < sizeof(b->s)) {
		memcpy(b->s + b->n, s, n);
		b->n += n;
	}
	b->s[b->n] = '\0';
}

static void
sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n < sizeof(b->s)) {
		memcpy(b->s + b->n, s, n);
		b->n += n;
	}
	b->s[b->n] = '\0';
}

static void
sb_ch(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

static size_t
u64_digits(uint64_t v)
{
	size_t n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Write v in decimal, zero-padded to at least 'width' digits; returns the length. */
static size_t
put_u64(char *p, uint64_t v, size_t width)
{
	size_t n = u64_digits(v);
	if (n < width)
		n = width;
	for (size_t i = n; i > 0; i--) {
		p[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	return n;
}

static void
sb_u64(struct sbuf *b, uint64_t v, size_t width)
{
	char tmp[24];
	sb_putn(b, tmp, put_u64(tmp, v, width));
}

/* Crockford base32 (no I, L, O, U): ids that look like exchange and OMS ids. */
static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void
sb_id(struct sbuf *b, const char *prefix, struct rng *r, int n)
{
	sb_put(b, prefix);
	uint64_t x = rng_next(r);
	for (int i = 0; i < n; i++, x >>= 5)
		sb_ch(b, b32[x & 31]);
}

static const char hexd[] = "0123456789abcdef";

/* ---- check digits ---------------------------------------------------------------------- */

/* Luhn check digit for the digits in s[0..n) (the check digit goes after them). */
static char
luhn_digit(const char *s, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[n - 1 - i] - '0');
		if (i % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (char)('0' + (10 - sum % 10) % 10);
}

/* ISIN check digit: letters become 10..35, then Luhn over the digit string. */
static char
isin_digit(const char *body11)
{
	char digits[24];
	size_t n = 0;
	for (int i = 0; i < 11; i++) {
		char c = body11[i];
		if (c >= 'A' && c <= 'Z') {
			int v = c - 'A' + 10;
			digits[n++] = (char)('0' + v / 10);
			digits[n++] = (char)('0' + v % 10);
		} else {
			digits[n++] = c;
		}
	}
	return luhn_digit(digits, n);
}

/* CUSIP check digit (the 9th character of a US NSIN). */
static char
cusip_digit(const char *s8)
{
	unsigned sum = 0;
	for (int i = 0; i < 8; i++) {
		char c = s8[i];
		unsigned v = c >= '0' && c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 10);
		if (i % 2 == 1)
			v *= 2;
		sum += v / 10 + v % 10;
	}
	return (char)('0' + (10 - sum % 10) % 10);
}

/* ISO 7064 mod 97-10 over alphanumerics (letters count as two digits 10..35). */
static unsigned
mod97(const char *s, size_t n)
{
	unsigned m = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			m = (m * 100 + (unsigned)(c - 'A' + 10)) % 97;
		else
			m = (m * 10 + (unsigned)(c - '0')) % 97;
	}
	return m;
}

/* ---- static reference data --------------------------------------------------------------- */

struct venue {
	const char *mic;
	const char *ccy;
	const char *desk;
	const char *city;
	uint8_t px_dp;        /* decimals of a price */
	uint32_t lot;         /* board lot */
	int settle_days;      /* business days to settlement */
	int64_t px_lo, px_hi; /* synthetic reference prices, 1e-4 units */
};

static const struct venue venues[4] = {
	{ "XLON", "GBX", "EQ-CASH-LDN", "ldn", 2, 1, 2, 500000, 50000000 },
	{ "XNYS", "USD", "EQ-CASH-NY", "nyc", 2, 1, 1, 50000, 5000000 },
	{ "XSES", "SGD", "EQ-CASH-SG", "sgp", 3, 100, 2, 2000, 500000 },
	{ "XTKS", "JPY", "EQ-CASH-TKY", "tky", 1, 100, 2, 2000000, 200000000 },
};

/* Real listings (ISIN without its check digit, which is computed). */
struct real_inst {
	uint8_t venue;
	char body[12];
	const char *ticker;
	int64_t px; /* reference price, 1e-4 units of the venue currency */
};

static const struct real_inst real_insts[] = {
	{ 0, "GB000798059", "BP.", 4800000 },   { 0, "GB000540528", "HSBA", 6200000 },
	{ 0, "GB00B03MLX2", "SHEL", 25000000 }, { 0, "GB000989529", "AZN", 105000000 },
	{ 0, "GB000287580", "BATS", 24000000 }, { 0, "GB000718875", "RIO", 52000000 },
	{ 0, "GB003134865", "BARC", 1600000 },  { 0, "GB000870612", "LLOY", 450000 },
	{ 1, "US46625H100", "JPM", 1800000 },   { 1, "US478160104", "JNJ", 1550000 },
	{ 1, "US30231G102", "XOM", 1050000 },   { 1, "US92826C839", "V", 2750000 },
	{ 1, "US191216100", "KO", 600000 },     { 1, "US742718109", "PG", 1600000 },
	{ 1, "US931142103", "WMT", 1700000 },   { 1, "US38141G104", "GS", 3900000 },
	{ 2, "SG1L0100170", "D05", 335000 },    { 2, "SG1S0492622", "O39", 134000 },
	{ 2, "SG1M3100196", "U11", 289000 },    { 2, "SG1T7593149", "Z74", 24500 },
	{ 3, "JP363340000", "7203", 28000000 }, { 3, "JP343500000", "6758", 130000000 },
	{ 3, "JP390290000", "8306", 14000000 }, { 3, "JP343610000", "9984", 82000000 },
	{ 3, "JP375660000", "7974", 78000000 },
};
#define N_REAL (sizeof(real_insts) / sizeof(real_insts[0]))

struct inst {
	char isin[13];
	char ticker[8];
	uint8_t venue;
	int64_t px; /* 1e-4 units */
};

static void
inst_get(uint32_t idx, struct inst *in)
{
	if (idx < N_REAL) {
		const struct real_inst *ri = &real_insts[idx];
		memcpy(in->isin, ri->body, 11);
		in->isin[11] = isin_digit(ri->body);
		in->isin[12] = '\0';
		snprintf(in->ticker, sizeof(in->ticker), "%s", ri->ticker);
		in->venue = ri->venue;
		in->px = ri->px;
		return;
	}
	struct rng r;
	rng_seed(&r, UNIVERSE_SEED, idx);
	in->venue = (uint8_t)(idx % 4);
	char *s = in->isin;
	static const char sedol[] = "0123456789BCDFGHJKLMNPQRSTVWXYZ";
	switch (in->venue) {
	case 0: /* GB00 + SEDOL (B + 6) */
		memcpy(s, "GB00B", 5);
		for (int i = 5; i < 11; i++)
			s[i] = sedol[rng_below(&r, sizeof(sedol) - 1)];
		for (int i = 0; i < 4; i++)
			in->ticker[i] = (char)('A' + rng_below(&r, 26));
		in->ticker[3 + rng_below(&r, 2)] = '\0';
		break;
	case 1: /* US + CUSIP (6 issuer, "10" issue, check) */
		memcpy(s, "US", 2);
		for (int i = 2; i < 7; i++) /* issuer: digits, sometimes a letter last */
			s[i] = rng_digit(&r);
		s[7] = rng_pct(&r, 30) ? (char)('A' + rng_below(&r, 26)) : rng_digit(&r);
		s[8] = '1';
		s[9] = '0';
		s[10] = cusip_digit(s + 2);
		for (int i = 0; i < 4; i++)
			in->ticker[i] = (char)('A' + rng_below(&r, 26));
		in->ticker[1 + rng_below(&r, 4)] = '\0';
		break;
	case 2: /* SG1 + letter + 7 digits */
		memcpy(s, "SG1", 3);
		s[3] = (char)('A' + rng_below(&r, 26));
		for (int i = 4; i < 11; i++)
			s[i] = rng_digit(&r);
		in->ticker[0] = (char)('A' + rng_below(&r, 26));
		in->ticker[1] = rng_digit(&r);
		in->ticker[2] = rng_pct(&r, 50) ? rng_digit(&r) : (char)('A' + rng_below(&r, 26));
		in->ticker[3] = '\0';
		break;
	default: /* JP3 + 4-digit code + 0000 */
		memcpy(s, "JP3", 3);
		for (int i = 3; i < 7; i++)
			s[i] = rng_digit(&r);
		memcpy(s + 7, "0000", 4);
		snprintf(in->ticker, sizeof(in->ticker), "%u", 1300 + rng_below(&r, 8600));
		break;
	}
	s[11] = isin_digit(s);
	s[12] = '\0';
	const struct venue *v = &venues[in->venue];
	in->px = (int64_t)rng_logu(&r, (uint64_t)v->px_lo, (uint64_t)v->px_hi);
}

/* Legal Entity Identifiers of counterparties (ISO 17442: 18 characters + mod-97 check). */
static void
lei_get(uint32_t idx, char out[21])
{
	static const char *lou[] = {
		"5493", "2138", "5299", "9695", "3538", "2549", "7245", "8156"
	};
	struct rng r;
	rng_seed(&r, UNIVERSE_SEED ^ 0x4c4549u, idx);
	memcpy(out, lou[idx % 8], 4);
	for (int i = 4; i < 18; i++)
		out[i] = rng_pct(&r, 40) ? (char)('A' + rng_below(&r, 26)) : rng_digit(&r);
	out[18] = '0';
	out[19] = '0';
	unsigned cd = 98 - mod97(out, 20);
	out[18] = (char)('0' + cd / 10);
	out[19] = (char)('0' + cd % 10);
	out[20] = '\0';
}

/* People. Country indices: 0 GB, 1 US, 2 SG, 3 JP. */
enum { C_GB, C_US, C_SG, C_JP };
static const char *const country_code[4] = { "GB", "US", "SG", "JP" };
static const char *const country_ccy[4] = { "GBP", "USD", "SGD", "JPY" };

struct name {
	const char *display;
	const char *ascii; /* lower case, for email addresses */
};

/* Tables of names stay in rows: one entry per line would be 100 lines. */
/* clang-format off */
static const struct name first_names[4][12] = {
	{ { "Oliver", "oliver" }, { "Amelia", "amelia" }, { "Harry", "harry" },
	  { "Olivia", "olivia" }, { "George", "george" }, { "Isla", "isla" },
	  { "Thomas", "thomas" }, { "Charlotte", "charlotte" }, { "Zo\xc3\xab", "zoe" },
	  { "James", "james" }, { "Emily", "emily" }, { "Arjun", "arjun" } },
	{ { "Michael", "michael" }, { "Jennifer", "jennifer" }, { "David", "david" },
	  { "Jessica", "jessica" }, { "Robert", "robert" }, { "Ashley", "ashley" },
	  { "Jos\xc3\xa9", "jose" }, { "Sarah", "sarah" }, { "William", "william" },
	  { "Linda", "linda" }, { "Daniel", "daniel" }, { "Chlo\xc3\xa9", "chloe" } },
	{ { "Wei Ling", "weiling" }, { "Jun Jie", "junjie" }, { "Siti", "siti" },
	  { "Muhammad", "muhammad" }, { "Priya", "priya" }, { "Mei Hua", "meihua" },
	  { "Kai Xuan", "kaixuan" }, { "Nurul", "nurul" }, { "Rajesh", "rajesh" },
	  { "Hui Min", "huimin" }, { "Zhi Hao", "zhihao" }, { "Aisha", "aisha" } },
	{ { "Haruto", "haruto" }, { "Yui", "yui" }, { "Sota", "sota" }, { "Hina", "hina" },
	  { "Ren", "ren" }, { "Aoi", "aoi" }, { "Takumi", "takumi" }, { "Sakura", "sakura" },
	  { "Kenji", "kenji" }, { "Yuki", "yuki" }, { "Daiki", "daiki" }, { "Mio", "mio" } },
};

static const struct name last_names[4][12] = {
	{ { "Smith", "smith" }, { "Jones", "jones" }, { "Taylor", "taylor" },
	  { "Brown", "brown" }, { "Williams", "williams" }, { "Davies", "davies" },
	  { "Patel", "patel" }, { "O'Brien", "obrien" }, { "Clarke", "clarke" },
	  { "Khan", "khan" }, { "Evans", "evans" }, { "M\xc3\xbcller", "muller" } },
	{ { "Johnson", "johnson" }, { "Miller", "miller" }, { "Garcia", "garcia" },
	  { "Martinez", "martinez" }, { "Anderson", "anderson" }, { "Thompson", "thompson" },
	  { "Nguyen", "nguyen" }, { "Robinson", "robinson" }, { "Walker", "walker" },
	  { "Lopez", "lopez" }, { "Hernandez", "hernandez" }, { "Kim", "kim" } },
	{ { "Tan", "tan" }, { "Lim", "lim" }, { "Lee", "lee" }, { "Ng", "ng" },
	  { "Wong", "wong" }, { "Goh", "goh" }, { "Chua", "chua" }, { "Rahman", "rahman" },
	  { "Kumar", "kumar" }, { "Teo", "teo" }, { "Koh", "koh" }, { "Abdullah", "abdullah" } },
	{ { "Sato", "sato" }, { "Suzuki", "suzuki" }, { "Takahashi", "takahashi" },
	  { "Tanaka", "tanaka" }, { "Watanabe", "watanabe" }, { "Ito", "ito" },
	  { "Yamamoto", "yamamoto" }, { "Nakamura", "nakamura" }, { "Kobayashi", "kobayashi" },
	  { "Kato", "kato" }, { "Yoshida", "yoshida" }, { "Yamada", "yamada" } },
};
/* clang-format on */

static const char *const email_domains[4][4] = {
	{ "gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk" },
	{ "gmail.com", "outlook.com", "icloud.com", "comcast.net" },
	{ "gmail.com", "singnet.com.sg", "yahoo.com.sg", "outlook.com" },
	{ "gmail.com", "yahoo.co.jp", "docomo.ne.jp", "icloud.com" },
};

/* Banks: IBAN country, national bank code, BIC. */
struct bank {
	char cc[3];
	const char *code;
	const char *bic;
};

static const struct bank iban_banks[] = {
	{ "GB", "NWBK", "NWBKGB2L" },     { "GB", "BARC", "BARCGB22" },
	{ "GB", "HBUK", "HBUKGB4B" },     { "GB", "LOYD", "LOYDGB2L" },
	{ "GB", "MIDL", "MIDLGB22" },     { "IE", "AIBK", "AIBKIE2D" },
	{ "IE", "BOFI", "BOFIIE2D" },     { "DE", "37040044", "COBADEFFXXX" },
	{ "DE", "10070000", "DEUTDEBB" }, { "DE", "50070010", "DEUTDEFF" },
	{ "FR", "30004", "BNPAFRPP" },    { "FR", "30003", "SOGEFRPP" },
	{ "FR", "30006", "AGRIFRPP" },    { "NL", "ABNA", "ABNANL2A" },
	{ "NL", "INGB", "INGBNL2A" },     { "NL", "RABO", "RABONL2U" },
	{ "CH", "00230", "UBSWCHZH80A" }, { "CH", "04835", "CRESCHZZ80A" },
	{ "BE", "001", "GEBABEBB" },      { "BE", "068", "GKCCBEBB" },
	{ "LU", "001", "BCEELULL" },      { "LU", "002", "BGLLLULL" },
	{ "ES", "2100", "CAIXESBB" },     { "ES", "0049", "BSCHESMM" },
	{ "ES", "0182", "BBVAESMM" },     { "AT", "20111", "GIBAATWW" },
	{ "AT", "12000", "BKAUATWW" },
};
#define N_IBAN_BANKS (sizeof(iban_banks) / sizeof(iban_banks[0]))

/* Home banks (no IBAN in these countries) for BICs of SG/JP/US clients. */
static const char *const home_bics[4][3] = {
	{ "BARCGB22", "HSBCGB2L", "NWBKGB2L" },
	{ "CHASUS33", "BOFAUS3N", "CITIUS33" },
	{ "DBSSSGSG", "OCBCSGSG", "UOVBSGSG" },
	{ "MHCBJPJT", "BOTKJPJT", "SMBCJPJT" },
};

/* ---- PII generators ---------------------------------------------------------------------- */

/* A person's stream for one PII kind: stable per (seed, account, kind). */
static void
person_rng(const struct ferry_gen *g, uint32_t account, int what, struct rng *r)
{
	rng_seed(r, g->conf.seed ^ SALT_PERSON, (uint64_t)account * 64 + (uint64_t)what);
}

static int
person_country(const struct ferry_gen *g, uint32_t account)
{
	struct rng r;
	person_rng(g, account, 63, &r);
	uint32_t x = rng_below(&r, 100);
	return x < 35 ? C_GB : x < 70 ? C_US : x < 85 ? C_SG : C_JP;
}

static void
person_name(const struct ferry_gen *g, uint32_t account, const struct name **first,
	    const struct name **last)
{
	struct rng r;
	int c = person_country(g, account);
	person_rng(g, account, FERRY_GEN_PII_NAME, &r);
	*first = &first_names[c][rng_below(&r, 12)];
	*last = &last_names[c][rng_below(&r, 12)];
}

/* One generated PII item: the text and what the ground truth says about it. */
struct pii_item {
	struct sbuf t;
	uint8_t kind, style;
	char country[3];
};

static void
group(struct sbuf *out, const char *digits, const int *groups, char sep)
{
	for (int i = 0; groups[i]; i++) {
		if (i > 0 && sep)
			sb_ch(out, sep);
		sb_putn(out, digits, (size_t)groups[i]);
		digits += groups[i];
	}
}

static void
gen_card(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_CARD, &r);
	char d[20];
	size_t len = 16, n;
	uint32_t brand = rng_below(&r, 100);
	if (brand < 50) { /* Visa */
		d[0] = '4';
		n = 1;
	} else if (brand < 85) { /* Mastercard: 51-55, or the 2221-2720 range */
		if (rng_pct(&r, 75)) {
			d[0] = '5';
			d[1] = (char)('1' + rng_below(&r, 5));
			n = 2;
		} else {
			n = put_u64(d, 2221 + rng_below(&r, 500), 4);
		}
	} else { /* Amex: 34 or 37, 15 digits */
		d[0] = '3';
		d[1] = rng_pct(&r, 50) ? '4' : '7';
		n = 2;
		len = 15;
	}
	while (n < len - 1)
		d[n++] = rng_digit(&r);
	d[n] = luhn_digit(d, n);
	d[len] = '\0';

	static const int g16[] = { 4, 4, 4, 4, 0 }, g15[] = { 4, 6, 5, 0 };
	uint32_t st = rng_below(rr, 100);
	it->style = st < 40   ? FERRY_GEN_STYLE_PLAIN
		    : st < 80 ? FERRY_GEN_STYLE_SPACED
			      : FERRY_GEN_STYLE_DASHED;
	group(&it->t, d, len == 16 ? g16 : g15,
	      it->style == FERRY_GEN_STYLE_PLAIN    ? 0
	      : it->style == FERRY_GEN_STYLE_SPACED ? ' '
						    : '-');
}

/* Spanish "dígitos de control": weights 1,2,4,8,5,10,9,7,3,6 over 10 digits, mod 11. */
static char
es_dc(const char *ten)
{
	static const unsigned w[10] = { 1, 2, 4, 8, 5, 10, 9, 7, 3, 6 };
	unsigned s = 0;
	for (int i = 0; i < 10; i++)
		s += w[i] * (unsigned)(ten[i] - '0');
	unsigned d = 11 - s % 11;
	return (char)('0' + (d == 11 ? 0 : d == 10 ? 1 : d));
}

static const struct bank *
person_bank(const struct ferry_gen *g, uint32_t account)
{
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_IBAN, &r);
	/* GB and IE banks for a third of clients, the rest spread over the others. */
	return &iban_banks[rng_pct(&r, 33) ? rng_below(&r, 7) : rng_below(&r, N_IBAN_BANKS)];
}

static void
gen_iban(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	const struct bank *bk = person_bank(g, account);
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_IBAN, &r);
	rng_next(&r); /* same stream as person_bank(): move past its draws */
	rng_next(&r);
	char bban[32];
	size_t n = strlen(bk->code);
	memcpy(bban, bk->code, n);
	const char *cc = bk->cc;
	if (strcmp(cc, "GB") == 0 || strcmp(cc, "IE") == 0) { /* sort code 6 + account 8 */
		while (n < 18)
			bban[n++] = rng_digit(&r);
	} else if (strcmp(cc, "DE") == 0) { /* BLZ 8 + account 10 */
		while (n < 18)
			bban[n++] = rng_digit(&r);
	} else if (strcmp(cc, "FR") == 0) { /* bank 5, branch 5, account 11, RIB key 2 */
		while (n < 21)
			bban[n++] = rng_digit(&r);
		uint64_t bank = 0, branch = 0, acct = 0;
		for (int i = 0; i < 5; i++)
			bank = bank * 10 + (uint64_t)(bban[i] - '0');
		for (int i = 5; i < 10; i++)
			branch = branch * 10 + (uint64_t)(bban[i] - '0');
		for (int i = 10; i < 21; i++)
			acct = acct * 10 + (uint64_t)(bban[i] - '0');
		uint64_t key = 97 - (89 * bank + 15 * branch + 3 * acct) % 97;
		n += put_u64(bban + n, key, 2);
	} else if (strcmp(cc, "NL") == 0) { /* bank 4 letters + 10 digits */
		while (n < 14)
			bban[n++] = rng_digit(&r);
	} else if (strcmp(cc, "CH") == 0) { /* clearing 5 + account 12 */
		while (n < 17)
			bban[n++] = rng_digit(&r);
	} else if (strcmp(cc, "BE") == 0) { /* bank 3 + account 7 + national check 2 */
		while (n < 10)
			bban[n++] = rng_digit(&r);
		uint64_t v = 0;
		for (int i = 0; i < 10; i++)
			v = v * 10 + (uint64_t)(bban[i] - '0');
		uint64_t chk = v % 97 == 0 ? 97 : v % 97;
		n += put_u64(bban + n, chk, 2);
	} else if (strcmp(cc, "LU") == 0) { /* bank 3 + account 13 */
		while (n < 16)
			bban[n++] = rng_digit(&r);
	} else if (strcmp(cc, "ES") == 0) { /* bank 4, branch 4, DC 2, account 10 */
		while (n < 8)
			bban[n++] = rng_digit(&r);
		char first[10] = { '0', '0' };
		memcpy(first + 2, bban, 8);
		char acct[10];
		for (int i = 0; i < 10; i++)
			acct[i] = rng_digit(&r);
		bban[n++] = es_dc(first);
		bban[n++] = es_dc(acct);
		memcpy(bban + n, acct, 10);
		n += 10;
	} else { /* AT: BLZ 5 + account 11 */
		while (n < 16)
			bban[n++] = rng_digit(&r);
	}
	/* Check digits: BBAN + country + "00", mod 97, 98 - remainder. */
	char tmp[40];
	memcpy(tmp, bban, n);
	memcpy(tmp + n, cc, 2);
	tmp[n + 2] = '0';
	tmp[n + 3] = '0';
	unsigned cd = 98 - mod97(tmp, n + 4);
	char iban[40];
	memcpy(iban, cc, 2);
	iban[2] = (char)('0' + cd / 10);
	iban[3] = (char)('0' + cd % 10);
	memcpy(iban + 4, bban, n);
	size_t len = n + 4;

	memcpy(it->country, cc, 3);
	if (rng_pct(rr, 50)) {
		it->style = FERRY_GEN_STYLE_PLAIN;
		sb_putn(&it->t, iban, len);
	} else { /* the paper format: groups of four */
		it->style = FERRY_GEN_STYLE_SPACED;
		for (size_t i = 0; i < len; i += 4) {
			if (i)
				sb_ch(&it->t, ' ');
			sb_putn(&it->t, iban + i, len - i < 4 ? len - i : 4);
		}
	}
}

static void
gen_email(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	(void)rr;
	const struct name *f, *l;
	person_name(g, account, &f, &l);
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_EMAIL, &r);
	struct sbuf *t = &it->t;
	switch (rng_below(&r, 6)) {
	case 0:
		sb_put(t, f->ascii);
		sb_ch(t, '.');
		sb_put(t, l->ascii);
		break;
	case 1:
		sb_ch(t, f->ascii[0]);
		sb_put(t, l->ascii);
		break;
	case 2:
		sb_put(t, f->ascii);
		sb_put(t, l->ascii);
		break;
	case 3:
		sb_put(t, f->ascii);
		sb_ch(t, '_');
		sb_put(t, l->ascii);
		break;
	case 4:
		sb_put(t, f->ascii);
		sb_ch(t, '.');
		sb_put(t, l->ascii);
		sb_u64(t, rng_range(&r, 1, 99), 2);
		break;
	default:
		sb_put(t, l->ascii);
		sb_u64(t, rng_range(&r, 60, 99), 2);
		break;
	}
	sb_ch(t, '@');
	sb_put(t, email_domains[person_country(g, account)][rng_below(&r, 4)]);
	it->style = FERRY_GEN_STYLE_PLAIN;
}

/* Write 'pattern' with each 'D' replaced by the next of 'digits'. */
static void
sb_pattern(struct sbuf *t, const char *pattern, const char *digits)
{
	for (const char *p = pattern; *p; p++)
		sb_ch(t, *p == 'D' ? *digits++ : *p);
}

static void
gen_phone(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	/* Per numbering plan: E.164, E.164 with spaces, national format. */
	static const char *const gb_mobile[3] = { "+44DDDDDDDDDD", "+44 DDDD DDDDDD",
						  "0DDDD DDDDDD" };
	static const char *const gb_london[3] = { "+44DDDDDDDDDD", "+44 DD DDDD DDDD",
						  "0DD DDDD DDDD" };
	static const char *const us[3] = { "+1DDDDDDDDDD", "+1 DDD DDD DDDD", "(DDD) DDD-DDDD" };
	static const char *const sg[3] = { "+65DDDDDDDD", "+65 DDDD DDDD", "DDDD DDDD" };
	static const char *const jp_mobile[3] = { "+81DDDDDDDDDD", "+81 DD DDDD DDDD",
						  "0DD-DDDD-DDDD" };
	static const char *const jp_tokyo[3] = { "+81DDDDDDDDD", "+81 D DDDD DDDD",
						 "0D-DDDD-DDDD" };
	int c = person_country(g, account);
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_PHONE, &r);
	uint32_t st = rng_below(rr, 3);
	it->style = st == 0   ? FERRY_GEN_STYLE_PLAIN
		    : st == 1 ? FERRY_GEN_STYLE_SPACED
			      : FERRY_GEN_STYLE_NATIONAL;
	memcpy(it->country, country_code[c], 3);
	char d[16]; /* the national significant number */
	const char *const *fmt;
	switch (c) {
	case C_GB:
		if (rng_pct(&r, 80)) { /* mobile 07xxx xxxxxx */
			d[0] = '7';
			d[1] = (char)('1' + rng_below(&r, 9));
			for (int i = 2; i < 10; i++)
				d[i] = rng_digit(&r);
			fmt = gb_mobile;
		} else { /* London 020 xxxx xxxx */
			d[0] = '2';
			d[1] = '0';
			d[2] = (char)('3' + rng_below(&r, 6));
			for (int i = 3; i < 10; i++)
				d[i] = rng_digit(&r);
			fmt = gb_london;
		}
		break;
	case C_US: /* NANP: NPA [2-9][0-8][0-9], exchange [2-9][0-9][0-9] but not N11 */
		d[0] = (char)('2' + rng_below(&r, 8));
		d[1] = (char)('0' + rng_below(&r, 9));
		d[2] = rng_digit(&r);
		do {
			d[3] = (char)('2' + rng_below(&r, 8));
			d[4] = rng_digit(&r);
			d[5] = rng_digit(&r);
		} while (d[4] == '1' && d[5] == '1');
		for (int i = 6; i < 10; i++)
			d[i] = rng_digit(&r);
		fmt = us;
		break;
	case C_SG: /* 8 digits: mobile 8/9, fixed line 6 */
		d[0] = "896"[rng_below(&r, 3)];
		for (int i = 1; i < 8; i++)
			d[i] = rng_digit(&r);
		fmt = sg;
		break;
	default: /* JP: mobile 0[789]0-xxxx-xxxx or Tokyo 03-xxxx-xxxx */
		if (rng_pct(&r, 80)) {
			d[0] = "789"[rng_below(&r, 3)];
			d[1] = '0';
			for (int i = 2; i < 10; i++)
				d[i] = rng_digit(&r);
			fmt = jp_mobile;
		} else {
			d[0] = '3';
			for (int i = 1; i < 9; i++)
				d[i] = rng_digit(&r);
			fmt = jp_tokyo;
		}
		break;
	}
	sb_pattern(&it->t, fmt[st], d);
}

static void
gen_ssn(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_SSN, &r);
	/* Area 001-899 except 666, group 01-99, serial 0001-9999 (SSA randomization rules). */
	uint32_t area;
	do
		area = rng_range(&r, 1, 899);
	while (area == 666);
	uint32_t grp = rng_range(&r, 1, 99), serial = rng_range(&r, 1, 9999);
	it->style = rng_pct(rr, 80) ? FERRY_GEN_STYLE_DASHED : FERRY_GEN_STYLE_PLAIN;
	char sep = it->style == FERRY_GEN_STYLE_DASHED ? '-' : 0;
	sb_u64(&it->t, area, 3);
	if (sep)
		sb_ch(&it->t, sep);
	sb_u64(&it->t, grp, 2);
	if (sep)
		sb_ch(&it->t, sep);
	sb_u64(&it->t, serial, 4);
	memcpy(it->country, "US", 3);
}

static void
gen_nino(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	/* First letter not D F I Q U V; second not D F I O Q U V; BG GB KN NK NT TN ZZ unused. */
	static const char first[] = "ABCEGHJKLMNOPRSTWXYZ", second[] = "ABCEGHJKLMNPRSTWXYZ";
	static const char *const banned[] = { "BG", "GB", "KN", "NK", "NT", "TN", "ZZ" };
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_NINO, &r);
	char p[2];
	bool bad;
	do {
		p[0] = first[rng_below(&r, sizeof(first) - 1)];
		p[1] = second[rng_below(&r, sizeof(second) - 1)];
		bad = false;
		for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
			bad |= p[0] == banned[i][0] && p[1] == banned[i][1];
	} while (bad);
	char d[6];
	for (int i = 0; i < 6; i++)
		d[i] = rng_digit(&r);
	char suffix = (char)('A' + rng_below(&r, 4));
	struct sbuf *t = &it->t;
	if (rng_pct(rr, 50)) {
		it->style = FERRY_GEN_STYLE_PLAIN;
		sb_putn(t, p, 2);
		sb_putn(t, d, 6);
		sb_ch(t, suffix);
	} else {
		it->style = FERRY_GEN_STYLE_SPACED;
		sb_putn(t, p, 2);
		for (int i = 0; i < 6; i += 2) {
			sb_ch(t, ' ');
			sb_putn(t, d + i, 2);
		}
		sb_ch(t, ' ');
		sb_ch(t, suffix);
	}
	memcpy(it->country, "GB", 3);
}

static void
gen_nric(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	(void)rr;
	static const unsigned w[7] = { 2, 7, 6, 5, 4, 3, 2 };
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_NRIC, &r);
	uint32_t x = rng_below(&r, 100);
	char prefix = x < 50 ? 'S' : x < 80 ? 'T' : x < 88 ? 'F' : x < 96 ? 'G' : 'M';
	char d[7];
	unsigned sum = 0;
	for (int i = 0; i < 7; i++) {
		d[i] = rng_digit(&r);
		sum += w[i] * (unsigned)(d[i] - '0');
	}
	/* ICA: T and G add 4, M adds 3; S/T and F/G index their tables by the remainder,
	 * M uses "KLJNPQRTUWX" at 10 - remainder (P = 11 - R, letter P). */
	if (prefix == 'T' || prefix == 'G')
		sum += 4;
	else if (prefix == 'M')
		sum += 3;
	unsigned rem = sum % 11;
	char check = prefix == 'S' || prefix == 'T' ? "JZIHGFEDCBA"[rem]
		     : prefix == 'M'                ? "KLJNPQRTUWX"[10 - rem]
						    : "XWUTRQPNMLK"[rem];
	sb_ch(&it->t, prefix);
	sb_putn(&it->t, d, 7);
	sb_ch(&it->t, check);
	it->style = FERRY_GEN_STYLE_PLAIN;
	memcpy(it->country, "SG", 3);
}

static void
gen_mynumber(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_MYNUMBER, &r);
	char d[12];
	for (int i = 0; i < 11; i++)
		d[i] = rng_digit(&r);
	/* Check digit: Q_n is the n-th digit from the right of the 11, P_n = n + 1 for
	 * n <= 6, n - 5 for n >= 7; 11 - (sum mod 11), or 0 when the remainder is 0 or 1. */
	unsigned sum = 0;
	for (unsigned n = 1; n <= 11; n++)
		sum += (unsigned)(d[11 - n] - '0') * (n <= 6 ? n + 1 : n - 5);
	unsigned rem = sum % 11;
	d[11] = (char)('0' + (rem <= 1 ? 0 : 11 - rem));
	static const int g444[] = { 4, 4, 4, 0 };
	uint32_t st = rng_below(rr, 3);
	it->style = st == 0   ? FERRY_GEN_STYLE_PLAIN
		    : st == 1 ? FERRY_GEN_STYLE_SPACED
			      : FERRY_GEN_STYLE_DASHED;
	group(&it->t, d, g444, st == 0 ? 0 : st == 1 ? ' ' : '-');
	memcpy(it->country, "JP", 3);
}

static void
gen_bic(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	struct rng r;
	person_rng(g, account, FERRY_GEN_PII_BIC, &r);
	const char *bic = rng_pct(&r, 50) ? person_bank(g, account)->bic
					  : home_bics[person_country(g, account)][rng_below(&r, 3)];
	sb_put(&it->t, bic);
	if (it->t.n == 8 && rng_pct(rr, 30))
		sb_put(&it->t, "XXX");
	it->style = FERRY_GEN_STYLE_PLAIN;
	memcpy(it->country, bic + 4, 2);
	it->country[2] = '\0';
}

static void
gen_name(const struct ferry_gen *g, uint32_t account, struct rng *rr, struct pii_item *it)
{
	(void)rr;
	const struct name *f, *l;
	person_name(g, account, &f, &l);
	sb_put(&it->t, f->display);
	sb_ch(&it->t, ' ');
	sb_put(&it->t, l->display);
	it->style = FERRY_GEN_STYLE_PLAIN;
}

/* The national id a person of that country carries. */
static int
national_id_kind(int country)
{
	static const int k[4] = { FERRY_GEN_PII_NINO, FERRY_GEN_PII_SSN, FERRY_GEN_PII_NRIC,
				  FERRY_GEN_PII_MYNUMBER };
	return k[country];
}

static void
pii_make(const struct ferry_gen *g, uint32_t account, int kind, struct rng *rr, struct pii_item *it)
{
	typedef void (*gen_fn)(const struct ferry_gen *, uint32_t, struct rng *, struct pii_item *);
	static const gen_fn fns[FERRY_GEN_PII_COUNT] = {
		[FERRY_GEN_PII_CARD] = gen_card,   [FERRY_GEN_PII_IBAN] = gen_iban,
		[FERRY_GEN_PII_EMAIL] = gen_email, [FERRY_GEN_PII_PHONE] = gen_phone,
		[FERRY_GEN_PII_SSN] = gen_ssn,     [FERRY_GEN_PII_NINO] = gen_nino,
		[FERRY_GEN_PII_NRIC] = gen_nric,   [FERRY_GEN_PII_MYNUMBER] = gen_mynumber,
		[FERRY_GEN_PII_BIC] = gen_bic,     [FERRY_GEN_PII_NAME] = gen_name,
	};
	memset(it, 0, sizeof(*it));
	it->kind = (uint8_t)kind;
	fns[kind](g, account, rr, it);
}

/* ---- sentences around PII in free text, and the filler ----------------------------------- */

struct tmpl {
	const char *pre, *post;
};

/* Up to three full sentences per kind, and the short form used when space is tight. */
static const struct tmpl pii_tmpl[FERRY_GEN_PII_COUNT][3] = {
	[FERRY_GEN_PII_CARD] = { { "Refund to card ", " requested by client." },
				 { "Client paid the fee with card ", "." },
				 { "Chargeback raised on card ", ", see ops ticket." } },
	[FERRY_GEN_PII_IBAN] = { { "Settle proceeds to IBAN ", " per new SSI." },
				 { "Client asked to wire the funds to ", "." },
				 { "Beneficiary account ", " confirmed by phone." } },
	[FERRY_GEN_PII_EMAIL] = { { "Send the contract note to ", "." },
				  { "Client emailed from ", " about the fill." },
				  { "Confirmations now go to ", " only." } },
	[FERRY_GEN_PII_PHONE] = { { "Client called from ", " re partial fill." },
				  { "Call back on ", " before the close." },
				  { "Reached the PM on ", ", happy to continue." } },
	[FERRY_GEN_PII_SSN] = { { "W-9 on file, SSN ", "." },
				{ "Tax ID (SSN) ", " verified by onboarding." },
				{ "SSN ", " matched the W-9." } },
	[FERRY_GEN_PII_NINO] = { { "NI number ", " added for the ISA transfer." },
				 { "NINO ", " confirmed with the HMRC letter." },
				 { "National Insurance no. ", " on file." } },
	[FERRY_GEN_PII_NRIC] = { { "KYC: NRIC ", " sighted and copied." },
				 { "Client ID ", " (NRIC/FIN) verified." },
				 { "NRIC/FIN ", " updated after renewal." } },
	[FERRY_GEN_PII_MYNUMBER] = { { "My Number ", " received for the tax filing." },
				     { "Individual Number ", " on file." },
				     { "Kojin bango ", " checked against the card." } },
	[FERRY_GEN_PII_BIC] = { { "Beneficiary bank BIC ", "." },
				{ "Route the payment via ", " as usual." },
				{ "Correspondent ", " confirmed the SSI." } },
	[FERRY_GEN_PII_NAME] = { { "Spoke to ", " about the order." },
				 { "Client ", " asked for a call back." },
				 { "Instruction signed by ", "." } },
};

static const char *const pii_short[FERRY_GEN_PII_COUNT] = {
	[FERRY_GEN_PII_CARD] = "card ",   [FERRY_GEN_PII_IBAN] = "IBAN ",
	[FERRY_GEN_PII_EMAIL] = "email ", [FERRY_GEN_PII_PHONE] = "tel ",
	[FERRY_GEN_PII_SSN] = "SSN ",     [FERRY_GEN_PII_NINO] = "NINO ",
	[FERRY_GEN_PII_NRIC] = "NRIC ",   [FERRY_GEN_PII_MYNUMBER] = "My Number ",
	[FERRY_GEN_PII_BIC] = "BIC ",     [FERRY_GEN_PII_NAME] = "client ",
};

/* Desk notes without PII; '#' becomes a random digit 1-9. Each ends with a space. */
static const char *const filler_exec[] = {
	"Working the order in line with the VWAP schedule. ",
	"Client happy to go passive into the close. ",
	"Partial fill, remainder left on the book. ",
	"Benchmark is arrival price. ",
	"Liquidity thin ahead of the auction. ",
	"Spread widened after the data release. ",
	"Crossed ## lots with internal flow. ",
	"Participation capped at #% of volume. ",
	"Limit amended per PM instruction. ",
	"Allocation split across # sub-accounts, pending. ",
	"Awaiting confirm from the executing broker. ",
	"Settlement on standard terms, no fails expected. ",
	"Dark pool fill at the midpoint. ",
	"Slice # of ## completed. ",
	"Algo paused during the volatility interruption. ",
	"Client wants to be done by #:## local time. ",
	"Price improvement of # ticks vs the far touch. ",
	"Routed to the primary venue for the auction. ",
	"Booked to the wrong account, corrected by middle office. ",
	"Commission at the agreed schedule. ",
};

static const char *const filler_risk[] = {
	"Within limits. ",
	"Limit utilisation above ##%, desk head informed. ",
	"VaR model recalibrated overnight. ",
	"Stress scenario loss within appetite. ",
	"Position marked at the close, no stale prices. ",
	"Hedge ratio reviewed with the trader. ",
	"Concentration flag raised for review. ",
	"P&L explained by delta and carry. ",
	"Margin call likely if the move extends. ",
	"Backtesting exceptions: # in ### days. ",
	"Basis risk to the index hedge noted. ",
	"FX exposure hedged at the desk level. ",
};

static const char *const filler_client[] = {
	"KYC refresh due next quarter. ",
	"Prefers calls in the morning. ",
	"Statements by secure message only. ",
	"Risk profile reviewed, no change. ",
	"On the restricted list for ## days. ",
	"Relationship manager changed. ",
	"Source of wealth documents received. ",
	"Fee schedule B applies. ",
	"Annual review completed. ",
	"Power of attorney on file. ",
	"Complaint closed, no redress due. ",
	"Interested in the structured notes programme. ",
};

/* ---- the value builder ------------------------------------------------------------------ */

/* Protobuf wire types. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };
/* Binary format: the notes field and a one-byte padding field (see vb_notes()). */
#define PB_NOTES 15
#define PB_PAD   14

struct chunk {
	struct pii_item it;
	const char *pre, *post;
	size_t len; /* strlen(pre) + it.t.n + strlen(post) */
};

struct vb {
	uint8_t *p;
	size_t len;
	size_t target;
	size_t reserve; /* kept free for the closing and the mandatory notes */
	int fmt;
	bool stopped; /* an optional field did not fit: the rest are skipped */
	struct ferry_gen_rec *r;
};

static size_t
varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void
vb_raw(struct vb *b, const void *s, size_t n)
{
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
vb_ch(struct vb *b, char c)
{
	b->p[b->len++] = (uint8_t)c;
}

static void
vb_varint(struct vb *b, uint64_t v)
{
	while (v >= 0x80) {
		b->p[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (uint8_t)v;
}

static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Room for 'need' more bytes? Mandatory fields were budgeted when the size floor was set. */
static bool
vb_fits(struct vb *b, size_t need, bool mandatory)
{
	if (mandatory)
		return true;
	if (b->stopped || b->len + need + b->reserve > b->target) {
		b->stopped = true;
		return false;
	}
	return true;
}

/* JSON: `,"name":`; binary: the tag. Returns the size of that prefix. */
static size_t
key_size(const struct vb *b, unsigned fno, const char *name, int wt)
{
	if (b->fmt == FERRY_GEN_FMT_JSON)
		return strlen(name) + 4;
	return varint_size((uint64_t)fno << 3 | (unsigned)wt);
}

static void
vb_key(struct vb *b, unsigned fno, const char *name, int wt)
{
	if (b->fmt == FERRY_GEN_FMT_JSON) {
		vb_raw(b, ",\"", 2);
		vb_raw(b, name, strlen(name));
		vb_raw(b, "\":", 2);
	} else {
		vb_varint(b, (uint64_t)fno << 3 | (unsigned)wt);
	}
}

/* A string field; returns the offset of the string bytes in the value, or -1 if skipped. */
static long
f_str(struct vb *b, unsigned fno, const char *name, const char *s, size_t n, bool mandatory)
{
	size_t need = key_size(b, fno, name, WT_LEN) +
		      (b->fmt == FERRY_GEN_FMT_JSON ? n + 2 : varint_size(n) + n);
	if (!vb_fits(b, need, mandatory))
		return -1;
	vb_key(b, fno, name, WT_LEN);
	if (b->fmt == FERRY_GEN_FMT_JSON)
		vb_ch(b, '"');
	else
		vb_varint(b, n);
	long off = (long)b->len;
	vb_raw(b, s, n);
	if (b->fmt == FERRY_GEN_FMT_JSON)
		vb_ch(b, '"');
	return off;
}

static bool
f_cstr(struct vb *b, unsigned fno, const char *name, const char *s)
{
	return f_str(b, fno, name, s, strlen(s), false) >= 0;
}

/* A signed integer: JSON number, binary sint64 (zig-zag varint). */
static bool
f_int(struct vb *b, unsigned fno, const char *name, int64_t v)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t need =
	    key_size(b, fno, name, WT_VARINT) +
	    (b->fmt == FERRY_GEN_FMT_JSON ? u64_digits(mag) + (v < 0) : varint_size(zigzag(v)));
	if (!vb_fits(b, need, false))
		return false;
	vb_key(b, fno, name, WT_VARINT);
	if (b->fmt == FERRY_GEN_FMT_JSON) {
		if (v < 0)
			vb_ch(b, '-');
		b->len += put_u64((char *)b->p + b->len, mag, 1);
	} else {
		vb_varint(b, zigzag(v));
	}
	return true;
}

static const int64_t pow10_tab[] = { 1, 10, 100, 1000, 10000, 100000, 1000000 };

/* A decimal v / 10^dp: JSON number with exactly dp decimals, binary double. */
static bool
f_dec(struct vb *b, unsigned fno, const char *name, int64_t v, unsigned dp)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	uint64_t ip = mag / (uint64_t)pow10_tab[dp], fp = mag % (uint64_t)pow10_tab[dp];
	size_t need =
	    key_size(b, fno, name, WT_I64) +
	    (b->fmt == FERRY_GEN_FMT_JSON ? (v < 0) + u64_digits(ip) + (dp ? dp + 1 : 0) : 8);
	if (!vb_fits(b, need, false))
		return false;
	vb_key(b, fno, name, WT_I64);
	if (b->fmt == FERRY_GEN_FMT_JSON) {
		char *p = (char *)b->p;
		if (v < 0)
			vb_ch(b, '-');
		b->len += put_u64(p + b->len, ip, 1);
		if (dp) {
			vb_ch(b, '.');
			b->len += put_u64(p + b->len, fp, dp);
		}
	} else {
		double d = (double)v / (double)pow10_tab[dp];
		uint64_t bits;
		memcpy(&bits, &d, sizeof(bits));
		for (int i = 0; i < 8; i++) /* fixed64 is little-endian */
			b->p[b->len++] = (uint8_t)(bits >> (8 * i));
	}
	return true;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void
civil(int64_t days, int *y, unsigned *m, unsigned *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + (unsigned)era * 400 + (*m <= 2));
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* "2024-03-14" into p (10 bytes). */
static void
fmt_date(char *p, int64_t days)
{
	int y;
	unsigned m, d;
	civil(days, &y, &m, &d);
	put_u64(p, (uint64_t)y, 4);
	p[4] = '-';
	put_u64(p + 5, m, 2);
	p[7] = '-';
	put_u64(p + 8, d, 2);
}

/* A date: JSON "YYYY-MM-DD", binary varint YYYYMMDD. */
static bool
f_date(struct vb *b, unsigned fno, const char *name, int64_t days)
{
	if (b->fmt == FERRY_GEN_FMT_JSON) {
		char s[10];
		fmt_date(s, days);
		return f_str(b, fno, name, s, 10, false) >= 0;
	}
	int y;
	unsigned m, d;
	civil(days, &y, &m, &d);
	return f_int(b, fno, name, (int64_t)y * 10000 + m * 100 + d);
}

/* A timestamp in microseconds: JSON "YYYY-MM-DDTHH:MM:SS.ffffffZ", binary varint. */
static bool
f_ts(struct vb *b, unsigned fno, const char *name, int64_t us)
{
	if (b->fmt != FERRY_GEN_FMT_JSON)
		return f_int(b, fno, name, us);
	char s[27];
	int64_t secs = floor_div(us, 1000000), days = floor_div(secs, 86400);
	int64_t sod = secs - days * 86400;
	fmt_date(s, days);
	s[10] = 'T';
	put_u64(s + 11, (uint64_t)(sod / 3600), 2);
	s[13] = ':';
	put_u64(s + 14, (uint64_t)(sod / 60 % 60), 2);
	s[16] = ':';
	put_u64(s + 17, (uint64_t)(sod % 60), 2);
	s[19] = '.';
	put_u64(s + 20, (uint64_t)(us - secs * 1000000), 6);
	s[26] = 'Z';
	return f_str(b, fno, name, s, 27, false) >= 0;
}

static bool
f_bool(struct vb *b, unsigned fno, const char *name, bool v)
{
	size_t need =
	    key_size(b, fno, name, WT_VARINT) + (b->fmt == FERRY_GEN_FMT_JSON ? (v ? 4 : 5) : 1);
	if (!vb_fits(b, need, false))
		return false;
	vb_key(b, fno, name, WT_VARINT);
	if (b->fmt == FERRY_GEN_FMT_JSON)
		vb_raw(b, v ? "true" : "false", v ? 4 : 5);
	else
		vb_ch(b, v ? 1 : 0);
	return true;
}

static void
truth_add(struct vb *b, const struct pii_item *it, size_t off, bool in_text)
{
	struct ferry_gen_rec *r = b->r;
	if (r->n_pii >= FERRY_GEN_MAX_PII)
		return; /* cannot happen: at most 7 structured + 2 in notes */
	struct ferry_gen_pii *p = &r->pii[r->n_pii++];
	p->kind = it->kind;
	p->style = it->style;
	p->in_text = in_text;
	memcpy(p->country, it->country, 3);
	p->off = (uint32_t)off;
	p->len = (uint32_t)it->t.n;
	r->pii_mask |= 1u << it->kind;
}

/* A structured PII field (client records). */
static bool
f_pii(struct vb *b, unsigned fno, const char *name, const struct pii_item *it, bool mandatory)
{
	long off = f_str(b, fno, name, it->t.s, it->t.n, mandatory);
	if (off < 0)
		return false;
	truth_add(b, it, (size_t)off, false);
	return true;
}

/* Bytes the notes field needs around 'text' bytes of text (JSON closing brace included). */
static size_t
notes_overhead(int fmt, size_t text)
{
	if (fmt == FERRY_GEN_FMT_JSON)
		return strlen(",\"notes\":\"\"}");
	return 1 + varint_size(text) + 2; /* tag, length, and room for the padding field */
}

/* Write exactly n filler bytes, sentences from 'list', the last one cut short. */
static void
vb_filler(struct vb *b, size_t n, const char *const *list, uint32_t nlist, struct rng *rr)
{
	while (n > 0) {
		const char *s = list[rng_below(rr, nlist)];
		size_t k = strlen(s);
		if (k > n)
			k = n;
		for (size_t i = 0; i < k; i++)
			b->p[b->len++] =
			    s[i] == '#' ? (uint8_t)('0' + rng_range(rr, 1, 9)) : (uint8_t)s[i];
		n -= k;
	}
}

/*
 * Fill the value to exactly b->target with the notes field: free text with the chunks
 * (PII sentences) at random places among filler sentences, then close the value.
 * The first n_mand chunks were budgeted in b->reserve; the others go in if they fit.
 */
static void
vb_notes(struct vb *b, struct chunk *ch, int n_ch, int n_mand, const char *const *list,
	 uint32_t nlist, struct rng *rr)
{
	size_t R = b->target - b->len, T;
	if (b->fmt == FERRY_GEN_FMT_JSON) {
		R -= 1; /* the closing brace */
		if (R < strlen(",\"notes\":\"\"")) {
			/* Too little room for a field (and no PII chunk was budgeted): pad with
			 * the whitespace JSON allows before the closing brace. */
			memset(b->p + b->len, ' ', R);
			b->len += R;
			vb_ch(b, '}');
			return;
		}
		T = R - strlen(",\"notes\":\"\"");
		vb_raw(b, ",\"notes\":\"", 10);
	} else {
		if (R == 0)
			return;
		/* tag (1) + varint(T) + T == R has no solution just above a varint size
		 * step (R = 130, 16387, ...): then a 2-byte "rev" field takes up the slack. */
		size_t vs = 1;
		while (vs < 5 && !(R >= 1 + vs && varint_size(R - 1 - vs) == vs))
			vs++;
		if (vs == 5) {
			vb_ch(b, PB_PAD << 3 | WT_VARINT);
			vb_ch(b, (char)rng_range(rr, 1, 9));
			R -= 2;
			vs = 1;
			while (!(R >= 1 + vs && varint_size(R - 1 - vs) == vs))
				vs++;
		}
		T = R - 1 - vs;
		vb_ch(b, PB_NOTES << 3 | WT_LEN);
		vb_varint(b, T);
	}

	/* Which chunks go in: each takes its text plus one separating space. */
	size_t used = 0;
	int n = 0;
	for (int i = 0; i < n_ch; i++) {
		if (used + ch[i].len + 1 > T) {
			if (i < n_mand)
				break; /* cannot happen: budgeted in b->reserve */
			continue;
		}
		ch[n++] = ch[i];
		used += ch[i].len + 1;
	}
	/* Random cut points in the filler, sorted; chunk i goes after cut[i] filler bytes. */
	size_t F = T - used, cut[3] = { 0, 0, 0 };
	for (int i = 0; i < n; i++)
		cut[i] = (size_t)mulhi64(rng_next(rr), (uint64_t)F + 1);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
			size_t t = cut[j];
			cut[j] = cut[j - 1];
			cut[j - 1] = t;
		}
	size_t done = 0;
	for (int i = 0; i < n; i++) {
		if (cut[i] > done) {
			vb_filler(b, cut[i] - done, list, nlist, rr);
			b->p[b->len - 1] = ' '; /* a cut sentence still leaves a word break */
			done = cut[i];
		}
		vb_raw(b, ch[i].pre, strlen(ch[i].pre));
		truth_add(b, &ch[i].it, b->len, true);
		vb_raw(b, ch[i].it.t.s, ch[i].it.t.n);
		vb_raw(b, ch[i].post, strlen(ch[i].post));
		vb_ch(b, ' ');
	}
	vb_filler(b, F - done, list, nlist, rr);
	if (b->fmt == FERRY_GEN_FMT_JSON) {
		vb_ch(b, '"');
		vb_ch(b, '}');
	}
}

/* ---- records ------------------------------------------------------------------------------ */

static const uint32_t schema_id[FERRY_GEN_KIND_COUNT] = { 1001, 1002, 1003, 1004 };
static const char *const kind_names[FERRY_GEN_KIND_COUNT] = { "trade", "order", "risk", "client" };

struct ctx {
	const struct ferry_gen *g;
	struct rng rr;
	struct vb b;
	struct ferry_gen_rec *r;
	int64_t ts_us;
	uint32_t account;
	struct inst in;
	bool pii;
	struct chunk ch[3];
	int n_ch, n_mand;
};

static void
fmt_account(char out[11], uint32_t account)
{
	memcpy(out, "AC-", 3);
	put_u64(out + 3, account + 1, 7);
	out[10] = '\0';
}

/* Add business days (Saturday and Sunday skipped). 1970-01-01 was a Thursday. */
static int64_t
add_business_days(int64_t days, int n)
{
	while (n > 0) {
		days++;
		int64_t wd = (days + 4) % 7; /* 0 = Sunday */
		if (wd != 0 && wd != 6)
			n--;
	}
	return days;
}

/* Weights of PII kinds inside desk notes (the national id follows the person). */
static int
pick_text_pii(struct ctx *c)
{
	static const struct {
		int kind;
		uint32_t w;
	} mix[] = {
		{ FERRY_GEN_PII_CARD, 20 },
		{ FERRY_GEN_PII_IBAN, 15 },
		{ FERRY_GEN_PII_EMAIL, 20 },
		{ FERRY_GEN_PII_PHONE, 15 },
		{ -1, 15 },
		{ FERRY_GEN_PII_BIC, 5 },
		{ FERRY_GEN_PII_NAME, 10 },
	};
	uint32_t x = rng_below(&c->rr, 100);
	for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
		if (x < mix[i].w)
			return mix[i].kind >= 0
				   ? mix[i].kind
				   : national_id_kind(person_country(c->g, c->account));
		x -= mix[i].w;
	}
	return FERRY_GEN_PII_EMAIL;
}

static void
chunk_make(struct ctx *c, struct chunk *ch, int kind, bool short_form)
{
	pii_make(c->g, c->account, kind, &c->rr, &ch->it);
	const struct tmpl *t = &pii_tmpl[kind][rng_below(&c->rr, 3)];
	ch->pre = short_form ? pii_short[kind] : t->pre;
	ch->post = short_form ? "" : t->post;
	ch->len = strlen(ch->pre) + ch->it.t.n + strlen(ch->post);
}

/*
 * Plan the PII sentences for the notes. Mandatory ones are budgeted now (b->reserve):
 * a full sentence when it leaves room, else the short form, which always fits above
 * FERRY_GEN_MIN_SIZE.
 */
static void
plan_notes(struct ctx *c, int n_text, int n_mand)
{
	c->n_ch = 0;
	c->n_mand = 0;
	for (int i = 0; i < n_text; i++) {
		struct chunk *ch = &c->ch[c->n_ch];
		int kind = pick_text_pii(c);
		chunk_make(c, ch, kind, false);
		if (i < n_mand) {
			size_t need = notes_overhead(c->b.fmt, c->b.target) + ch->len + 1;
			if (c->b.len + c->b.reserve + need > c->b.target) {
				*ch = (struct chunk){ .it = ch->it };
				ch->pre = pii_short[kind];
				ch->post = "";
				ch->len = strlen(ch->pre) + ch->it.t.n;
				need = notes_overhead(c->b.fmt, c->b.target) + ch->len + 1;
			}
			c->b.reserve += need;
			c->n_mand++;
		}
		c->n_ch++;
	}
}

static void
begin(struct ctx *c, int kind)
{
	struct vb *b = &c->b;
	if (b->fmt == FERRY_GEN_FMT_JSON) {
		vb_raw(b, "{\"type\":\"", 9);
		vb_raw(b, kind_names[kind], strlen(kind_names[kind]));
		vb_ch(b, '"');
		b->reserve = 1; /* '}' */
	} else {
		/* Confluent framing: magic 0, schema id, message-index list [0]. */
		vb_ch(b, 0);
		uint32_t id = schema_id[kind];
		for (int i = 3; i >= 0; i--)
			vb_ch(b, (char)(id >> (8 * i)));
		vb_ch(b, 0);
		b->reserve = 2; /* the notes field needs at least a tag and a length */
	}
}

static int64_t
pick_px(struct ctx *c)
{
	/* Reference price moved by up to +-2 %, rounded to the venue's decimals. */
	const struct venue *v = &venues[c->in.venue];
	int64_t bp = (int64_t)rng_below(&c->rr, 401) - 200;
	int64_t px = c->in.px * (10000 + bp) / 10000;
	int64_t unit = pow10_tab[4 - v->px_dp];
	px = px / unit;
	return px > 0 ? px : 1; /* in 10^-dp units */
}

static void
build_trade(struct ctx *c)
{
	struct vb *b = &c->b;
	struct rng *rr = &c->rr;
	const struct venue *v = &venues[c->in.venue];
	char acct[11], lei[21];
	struct sbuf id = { .n = 0 };
	fmt_account(acct, c->account);
	int64_t qty = (int64_t)(v->lot * rng_logu(rr, 1, 2000));
	int64_t px = pick_px(c);
	int64_t notional = qty * px * 100 / pow10_tab[v->px_dp]; /* cents */
	bool buy = rng_pct(rr, 50);

	begin(c, FERRY_GEN_TRADE);
	plan_notes(c, c->pii ? 1 + rng_pct(rr, 30) : 0, c->pii ? 1 : 0);
	sb_id(&id, "TR-", rr, 10);
	f_cstr(b, 1, "trade_id", id.s);
	f_cstr(b, 2, "isin", c->in.isin);
	f_cstr(b, 3, "venue", v->mic);
	f_cstr(b, 4, "side", buy ? "BUY" : "SELL");
	f_int(b, 5, "qty", qty);
	f_dec(b, 6, "px", px, v->px_dp);
	f_cstr(b, 7, "ccy", v->ccy);
	f_ts(b, 8, "ts", c->ts_us);
	f_cstr(b, 9, "account", acct);
	f_cstr(b, 10, "ticker", c->in.ticker);
	f_dec(b, 11, "notional", notional, 2);
	id.n = 0;
	sb_id(&id, "OR-", rr, 10);
	f_cstr(b, 12, "order_id", id.s);
	id.n = 0;
	sb_id(&id, "EX-", rr, 12);
	f_cstr(b, 13, "exec_id", id.s);
	id.n = 0;
	sb_put(&id, "T");
	sb_u64(&id, rng_range(rr, 1, 400), 4);
	f_cstr(b, 16, "trader", id.s);
	f_cstr(b, 17, "desk", v->desk);
	int64_t day = floor_div(c->ts_us, INT64_C(86400000000));
	f_date(b, 18, "settle_date", add_business_days(day, v->settle_days));
	lei_get(rng_below(rr, 64), lei);
	f_cstr(b, 19, "cpty_lei", lei);
	static const char *const liq[] = { "ADD", "REMOVE", "AUCTION", "DARK" };
	f_cstr(b, 20, "liquidity", liq[rng_below(rr, 4)]);
	f_dec(b, 21, "commission", notional * rng_range(rr, 5, 50) / 100000, 2);
	f_bool(b, 22, "algo", rng_pct(rr, 70));
	vb_notes(b, c->ch, c->n_ch, c->n_mand, filler_exec,
		 sizeof(filler_exec) / sizeof(filler_exec[0]), rr);
}

static void
build_order(struct ctx *c)
{
	struct vb *b = &c->b;
	struct rng *rr = &c->rr;
	const struct venue *v = &venues[c->in.venue];
	char acct[11];
	struct sbuf id = { .n = 0 };
	fmt_account(acct, c->account);
	int64_t qty = (int64_t)(v->lot * rng_logu(rr, 1, 5000));
	int64_t px = pick_px(c);
	static const char *const sides[] = { "BUY", "SELL", "SELL_SHORT" };
	static const char *const types[] = { "LIMIT", "LIMIT", "LIMIT", "MARKET", "STOP_LIMIT" };
	static const char *const tifs[] = { "DAY", "DAY", "IOC", "GTC", "FOK", "AT_CLOSE" };
	static const char *const states[] = { "NEW",      "PARTIALLY_FILLED", "FILLED",
					      "CANCELED", "REPLACED",         "REJECTED" };
	static const char *const algos[] = { "VWAP", "TWAP", "POV", "IS", "DMA", "CLOSE" };
	uint32_t st = rng_below(rr, 6);
	int64_t filled = st == 2 ? qty : st == 1 ? qty * rng_range(rr, 1, 99) / 100 : 0;
	const char *type = types[rng_below(rr, 5)];

	begin(c, FERRY_GEN_ORDER);
	plan_notes(c, c->pii ? 1 + rng_pct(rr, 30) : 0, c->pii ? 1 : 0);
	sb_id(&id, "OR-", rr, 10);
	f_cstr(b, 1, "order_id", id.s);
	f_cstr(b, 2, "isin", c->in.isin);
	f_cstr(b, 3, "venue", v->mic);
	f_cstr(b, 4, "side", sides[rng_below(rr, 3)]);
	f_cstr(b, 5, "ord_type", type);
	f_int(b, 6, "qty", qty);
	if (strcmp(type, "MARKET") != 0)
		f_dec(b, 7, "limit_px", px, v->px_dp);
	f_cstr(b, 8, "tif", tifs[rng_below(rr, 6)]);
	f_cstr(b, 9, "status", states[st]);
	f_int(b, 10, "filled_qty", filled);
	f_cstr(b, 11, "account", acct);
	f_ts(b, 12, "ts", c->ts_us);
	f_cstr(b, 13, "ccy", v->ccy);
	id.n = 0;
	sb_id(&id, "CL", rr, 12);
	f_cstr(b, 16, "cl_ord_id", id.s);
	f_cstr(b, 17, "ticker", c->in.ticker);
	f_cstr(b, 18, "algo", algos[rng_below(rr, 6)]);
	id.n = 0;
	sb_put(&id, "T");
	sb_u64(&id, rng_range(rr, 1, 400), 4);
	f_cstr(b, 19, "trader", id.s);
	f_cstr(b, 20, "desk", v->desk);
	if (filled)
		f_dec(b, 21, "avg_px", px, v->px_dp);
	f_int(b, 22, "max_floor", rng_pct(rr, 30) ? (int64_t)v->lot * rng_range(rr, 1, 50) : 0);
	vb_notes(b, c->ch, c->n_ch, c->n_mand, filler_exec,
		 sizeof(filler_exec) / sizeof(filler_exec[0]), rr);
}

static void
build_risk(struct ctx *c)
{
	struct vb *b = &c->b;
	struct rng *rr = &c->rr;
	const struct venue *v = &venues[c->in.venue];
	char acct[11];
	struct sbuf s = { .n = 0 };
	fmt_account(acct, c->account);
	int64_t pos = (int64_t)(v->lot * rng_logu(rr, 1, 20000)) * (rng_pct(rr, 80) ? 1 : -1);
	int64_t px = pick_px(c);
	int64_t mtm = pos * px * 100 / pow10_tab[v->px_dp]; /* cents */
	int64_t cost = px * (int64_t)(1000 + rng_below(rr, 101) - 50) / 1000;
	int64_t upnl = (px - cost) * pos * 100 / pow10_tab[v->px_dp];
	int64_t mag = mtm < 0 ? -mtm : mtm;
	int64_t var = mag * rng_range(rr, 150, 450) / 10000;
	int64_t limit = var * rng_range(rr, 120, 400) / 100 + 100000;
	int64_t day = floor_div(c->ts_us, INT64_C(86400000000));

	begin(c, FERRY_GEN_RISK);
	plan_notes(c, c->pii ? 1 + rng_pct(rr, 30) : 0, c->pii ? 1 : 0);
	sb_put(&s, v->desk);
	sb_put(&s, "-");
	sb_u64(&s, rng_range(rr, 1, 24), 2);
	f_cstr(b, 1, "book", s.s);
	f_cstr(b, 2, "account", acct);
	f_cstr(b, 3, "isin", c->in.isin);
	f_date(b, 4, "as_of", day);
	f_cstr(b, 5, "ccy", v->ccy);
	f_int(b, 6, "position", pos);
	f_dec(b, 7, "mtm", mtm, 2);
	f_dec(b, 8, "avg_cost", cost, v->px_dp);
	f_dec(b, 9, "unrealised_pnl", upnl, 2);
	f_dec(b, 10, "pnl_day", mtm * ((int64_t)rng_below(rr, 601) - 300) / 10000, 2);
	f_dec(b, 11, "delta", pos * 100, 2);
	f_dec(b, 12, "gamma", (int64_t)rng_below(rr, 100000) - 50000, 4);
	f_dec(b, 13, "vega", mtm * rng_range(rr, 1, 40) / 10000, 2);
	f_dec(b, 16, "var_99_1d", var, 2);
	f_dec(b, 17, "es_97_5", var * rng_range(rr, 105, 130) / 100, 2);
	f_dec(b, 18, "margin", var * rng_range(rr, 150, 300) / 100, 2);
	f_dec(b, 19, "limit", limit, 2);
	f_dec(b, 20, "utilisation_pct", var * 10000 / limit, 2);
	f_ts(b, 21, "ts", c->ts_us);
	f_cstr(b, 22, "desk", v->desk);
	vb_notes(b, c->ch, c->n_ch, c->n_mand, filler_risk,
		 sizeof(filler_risk) / sizeof(filler_risk[0]), rr);
}

static void
build_client(struct ctx *c)
{
	struct vb *b = &c->b;
	struct rng *rr = &c->rr;
	const struct ferry_gen *g = c->g;
	char acct[11], cl[11], lei[21];
	int country = person_country(g, c->account);
	fmt_account(acct, c->account);
	memcpy(cl, "CL-", 3);
	put_u64(cl + 3, (c->account * UINT64_C(7919) + 104729) % 10000000, 7);
	cl[10] = '\0';
	static const char *const segs[] = { "RETAIL", "PRIVATE", "PRIVATE", "INSTITUTIONAL" };
	uint32_t seg = rng_below(rr, 4);
	static const char *const kyc[] = { "VERIFIED", "VERIFIED", "VERIFIED", "PENDING",
					   "EXPIRED" };
	static const char *const risk[] = { "LOW", "MEDIUM", "MEDIUM", "HIGH" };
	static const char *const mifid[] = { "RETAIL", "PROFESSIONAL", "ELIGIBLE_COUNTERPARTY" };
	static const char *const id_type[4] = { "NINO", "SSN", "NRIC", "MYNUMBER" };

	/* The PII this record shows: always the name, each other item with 60 %. */
	struct pii_item name, items[6];
	static const int kinds[6] = {
		FERRY_GEN_PII_EMAIL, FERRY_GEN_PII_PHONE, -1,
		FERRY_GEN_PII_IBAN,  FERRY_GEN_PII_BIC,   FERRY_GEN_PII_CARD
	};
	static const char *const fields[6] = { "email", "phone", "national_id",
					       "iban",  "bic",   "card_on_file" };
	bool has[6] = { false };
	if (c->pii) {
		pii_make(g, c->account, FERRY_GEN_PII_NAME, rr, &name);
		for (int i = 0; i < 6; i++) {
			has[i] = rng_pct(rr, 60);
			if (has[i])
				pii_make(g, c->account,
					 kinds[i] >= 0 ? kinds[i] : national_id_kind(country), rr,
					 &items[i]);
		}
	}

	begin(c, FERRY_GEN_CLIENT);
	plan_notes(c, c->pii && rng_pct(rr, 30) ? 1 : 0, 0);
	f_str(b, 1, "client_id", cl, 10, true);
	if (c->pii)
		f_pii(b, 2, "name", &name, true);
	f_cstr(b, 3, "account", acct);
	f_cstr(b, 4, "segment", segs[seg]);
	f_cstr(b, 5, "domicile", country_code[country]);
	static const unsigned fno[6] = { 6, 7, 8, 10, 11, 12 };
	for (int i = 0; i < 6; i++) {
		if (!has[i])
			continue;
		if (!f_pii(b, fno[i], fields[i], &items[i], false))
			break;
		if (i == 2)
			f_cstr(b, 9, "id_type", id_type[country]);
	}
	f_cstr(b, 13, "base_ccy", country_ccy[country]);
	f_cstr(b, 16, "kyc_status", kyc[rng_below(rr, 5)]);
	f_cstr(b, 17, "risk_rating", risk[rng_below(rr, 4)]);
	f_cstr(b, 18, "mifid_category", mifid[seg == 3 ? 1 + rng_below(rr, 2) : 0]);
	if (seg == 3) {
		lei_get(64 + c->account % 4096, lei);
		f_cstr(b, 19, "lei", lei);
	}
	struct sbuf rm = { .n = 0 };
	sb_put(&rm, "RM");
	sb_u64(&rm, rng_range(rr, 1, 150), 3);
	f_cstr(b, 20, "rm", rm.s);
	int64_t day = floor_div(c->ts_us, INT64_C(86400000000));
	f_date(b, 21, "created", day - 30 - (int64_t)(c->account % 5000));
	f_ts(b, 22, "updated", c->ts_us);
	f_bool(b, 23, "marketing_opt_in", rng_pct(rr, 35));
	vb_notes(b, c->ch, c->n_ch, c->n_mand, filler_client,
		 sizeof(filler_client) / sizeof(filler_client[0]), rr);
}

/* ---- keys and headers --------------------------------------------------------------------- */

static size_t
write_headers(struct ctx *c, uint8_t *p)
{
	static const char *const ctype[2] = { "application/json", "application/x-protobuf" };
	static const char *const role[FERRY_GEN_KIND_COUNT] = { "exec-gw", "oms", "risk", "crm" };
	struct ferry_gen_rec *r = c->r;
	uint8_t *start = p;
	/* W3C traceparent: 00-<trace id 32 hex>-<span id 16 hex>-01 */
	uint8_t *tp = p;
	memcpy(p, "00-", 3);
	p += 3;
	for (int w = 0; w < 3; w++) {
		uint64_t x = rng_next(&c->rr);
		for (int i = 0; i < 16; i++, x >>= 4)
			*p++ = (uint8_t)hexd[x & 15];
		if (w == 1)
			*p++ = '-';
	}
	memcpy(p, "-01", 3);
	p += 3;
	r->headers[0].Key = (struct ferry_span){ (const uint8_t *)"traceparent", 11 };
	r->headers[0].Value = (struct ferry_span){ tp, (size_t)(p - tp) };

	uint8_t *src = p;
	const char *city = r->kind == FERRY_GEN_CLIENT ? "ldn" : venues[c->in.venue].city;
	int n = snprintf((char *)p, 32, "%s-%s-%02u", role[r->kind], city,
			 (unsigned)rng_range(&c->rr, 1, 4));
	p += n;
	r->headers[1].Key = (struct ferry_span){ (const uint8_t *)"source", 6 };
	r->headers[1].Value = (struct ferry_span){ src, (size_t)(p - src) };

	const char *ct = ctype[c->g->conf.format];
	r->headers[2].Key = (struct ferry_span){ (const uint8_t *)"content-type", 12 };
	r->headers[2].Value = (struct ferry_span){ (const uint8_t *)ct, strlen(ct) };
	r->n_headers = 3;
	return (size_t)(p - start);
}

/* ---- public API ---------------------------------------------------------------------------- */

void
ferry_gen_conf_default(struct ferry_gen_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->seed = 1;
	conf->kind_weight[FERRY_GEN_TRADE] = 40;
	conf->kind_weight[FERRY_GEN_ORDER] = 35;
	conf->kind_weight[FERRY_GEN_RISK] = 15;
	conf->kind_weight[FERRY_GEN_CLIENT] = 10;
	conf->format = FERRY_GEN_FMT_JSON;
	conf->min_size = 100;
	conf->max_size = 4096;
	conf->pii_share = 0.01;
	conf->key_mode = FERRY_GEN_KEY_INSTRUMENT;
	conf->headers = true;
	conf->start_ms = DEFAULT_START_MS;
	conf->n_instruments = 500;
	conf->n_accounts = 100000;
}

int
ferry_gen_init(struct ferry_gen *g, const struct ferry_gen_conf *conf, char *err, size_t errlen)
{
	const struct ferry_gen_conf *cf = conf;
	if (cf->min_size < FERRY_GEN_MIN_SIZE || cf->max_size > FERRY_GEN_MAX_SIZE) {
		snprintf(err, errlen, "value size must be within %u..%u bytes (got %u..%u)",
			 FERRY_GEN_MIN_SIZE, FERRY_GEN_MAX_SIZE, cf->min_size, cf->max_size);
		return -EINVAL;
	}
	if (cf->min_size > cf->max_size) {
		snprintf(err, errlen, "min size %u is larger than max size %u", cf->min_size,
			 cf->max_size);
		return -EINVAL;
	}
	if (!(cf->pii_share >= 0.0 && cf->pii_share <= 1.0)) {
		snprintf(err, errlen, "PII share must be within 0..1 (got %g)", cf->pii_share);
		return -EINVAL;
	}
	unsigned total = 0;
	for (int k = 0; k < FERRY_GEN_KIND_COUNT; k++) {
		if (cf->kind_weight[k] > 1000000) {
			snprintf(err, errlen, "weight of %s above 1000000", kind_names[k]);
			return -EINVAL;
		}
		total += cf->kind_weight[k];
	}
	if (total == 0) {
		snprintf(err, errlen, "no record kind selected (all weights are 0)");
		return -EINVAL;
	}
	if (cf->format != FERRY_GEN_FMT_JSON && cf->format != FERRY_GEN_FMT_BINARY) {
		snprintf(err, errlen, "unknown format %d", cf->format);
		return -EINVAL;
	}
	if (cf->key_mode < FERRY_GEN_KEY_INSTRUMENT || cf->key_mode > FERRY_GEN_KEY_NONE) {
		snprintf(err, errlen, "unknown key mode %d", cf->key_mode);
		return -EINVAL;
	}
	if (cf->start_ms < 0 || cf->start_ms > FERRY_GEN_MAX_START_MS) {
		snprintf(err, errlen, "start time must be within 0..%lld ms since the epoch",
			 (long long)FERRY_GEN_MAX_START_MS);
		return -EINVAL;
	}
	if (cf->n_instruments < 1 || cf->n_instruments > MAX_INSTRUMENTS) {
		snprintf(err, errlen, "instrument count must be within 1..%u", MAX_INSTRUMENTS);
		return -EINVAL;
	}
	if (cf->n_accounts < 1 || cf->n_accounts > MAX_ACCOUNTS) {
		snprintf(err, errlen, "account count must be within 1..%u", MAX_ACCOUNTS);
		return -EINVAL;
	}
	memset(g, 0, sizeof(*g));
	g->conf = *cf;
	g->weight_total = total;
	/* 53-bit draw below share * 2^53: exact for 0 and 1, no libm. */
	g->pii_threshold = (uint64_t)(cf->pii_share * 9007199254740992.0);
	g->st.value_min = UINT32_MAX;
	return 0;
}

size_t
ferry_gen_buf_size(const struct ferry_gen *g)
{
	return (size_t)g->conf.max_size + KEY_CAP + HDR_CAP;
}

static int
cmp_pii(const struct ferry_gen_pii *a, const struct ferry_gen_pii *b)
{
	return a->off < b->off ? -1 : a->off > b->off;
}

int
ferry_gen_record(const struct ferry_gen *g, uint64_t seq, uint8_t *buf, size_t cap,
		 struct ferry_gen_rec *r)
{
	if (cap < ferry_gen_buf_size(g))
		return FERRY_ERR__NOSPACE;
	const struct ferry_gen_conf *cf = &g->conf;
	struct ctx c;
	memset(&c, 0, sizeof(c));
	memset(r, 0, sizeof(*r));
	c.g = g;
	c.r = r;
	rng_seed(&c.rr, cf->seed, seq);
	r->seq = seq;

	/* Draw order is part of the format: changing it changes every stream. */
	uint32_t w = rng_below(&c.rr, g->weight_total);
	int kind = 0;
	while (w >= cf->kind_weight[kind]) {
		w -= cf->kind_weight[kind];
		kind++;
	}
	r->kind = kind;
	size_t target = (size_t)rng_logu(&c.rr, cf->min_size, cf->max_size);
	c.pii = (rng_next(&c.rr) >> 11) < g->pii_threshold;
	uint32_t inst_idx = rng_skewed(&c.rr, cf->n_instruments);
	c.account = rng_skewed(&c.rr, cf->n_accounts);
	inst_get(inst_idx, &c.in);
	c.ts_us = (cf->start_ms + (int64_t)seq) * 1000 + (int64_t)rng_below(&c.rr, 1000);
	r->timestamp = floor_div(c.ts_us, 1000);

	c.b = (struct vb){ .p = buf, .target = target, .fmt = cf->format, .r = r };
	switch (kind) {
	case FERRY_GEN_TRADE: build_trade(&c); break;
	case FERRY_GEN_ORDER: build_order(&c); break;
	case FERRY_GEN_RISK: build_risk(&c); break;
	default: build_client(&c); break;
	}
	r->value = (struct ferry_span){ buf, c.b.len };

	/* Key and headers after the value. */
	uint8_t *p = buf + c.b.len;
	if (cf->key_mode == FERRY_GEN_KEY_NONE) {
		r->key = (struct ferry_span){ NULL, 0 };
	} else if (cf->key_mode == FERRY_GEN_KEY_INSTRUMENT && kind != FERRY_GEN_CLIENT) {
		memcpy(p, c.in.isin, 12);
		r->key = (struct ferry_span){ p, 12 };
		p += 12;
	} else {
		char acct[11];
		fmt_account(acct, c.account);
		memcpy(p, acct, 10);
		r->key = (struct ferry_span){ p, 10 };
		p += 10;
	}
	if (cf->headers)
		p += write_headers(&c, p);
	r->used = (size_t)(p - buf);

	/* Ground truth sorted by offset (insertion sort: at most a dozen entries). */
	for (uint32_t i = 1; i < r->n_pii; i++)
		for (uint32_t j = i; j > 0 && cmp_pii(&r->pii[j - 1], &r->pii[j]) > 0; j--) {
			struct ferry_gen_pii t = r->pii[j];
			r->pii[j] = r->pii[j - 1];
			r->pii[j - 1] = t;
		}
	return 0;
}

int
ferry_gen_next(struct ferry_gen *g, uint8_t *buf, size_t cap, struct ferry_gen_rec *r)
{
	int rc = ferry_gen_record(g, g->seq, buf, cap, r);
	if (rc < 0)
		return rc;
	g->seq++;
	struct ferry_gen_stats *st = &g->st;
	st->records++;
	st->by_kind[r->kind]++;
	st->key_bytes += r->key.len;
	st->value_bytes += r->value.len;
	for (uint32_t i = 0; i < r->n_headers; i++)
		st->header_bytes += r->headers[i].Key.len + r->headers[i].Value.len;
	if (r->value.len < st->value_min)
		st->value_min = (uint32_t)r->value.len;
	if (r->value.len > st->value_max)
		st->value_max = (uint32_t)r->value.len;
	if (r->n_pii) {
		st->pii_records++;
		for (uint32_t i = 0; i < r->n_pii; i++)
			st->pii_items[r->pii[i].kind]++;
	}
	return 0;
}

const char *
ferry_gen_kind_name(int kind)
{
	return kind >= 0 && kind < FERRY_GEN_KIND_COUNT ? kind_names[kind] : "unknown";
}

int
ferry_gen_kind_from_name(const char *name, size_t len)
{
	for (int k = 0; k < FERRY_GEN_KIND_COUNT; k++)
		if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0)
			return k;
	return -1;
}

const char *
ferry_gen_pii_name(int kind)
{
	static const char *const names[FERRY_GEN_PII_COUNT] = {
#define FERRY_GEN_PII_STR(n, s) s,
		FERRY_GEN_FOREACH_PII(FERRY_GEN_PII_STR)
#undef FERRY_GEN_PII_STR
	};
	return kind >= 0 && kind < FERRY_GEN_PII_COUNT ? names[kind] : "unknown";
}

const char *
ferry_gen_style_name(int style)
{
	static const char *const names[] = { "plain", "spaced", "dashed", "national" };
	return style >= 0 && style < 4 ? names[style] : "unknown";
}

int
ferry_gen_parse_kinds(const char *spec, unsigned weights[FERRY_GEN_KIND_COUNT], char *err,
		      size_t errlen)
{
	unsigned w[FERRY_GEN_KIND_COUNT] = { 0 };
	bool seen[FERRY_GEN_KIND_COUNT] = { false };
	const char *p = spec;
	for (;;) {
		size_t n = strcspn(p, ",");
		size_t nl = strcspn(p, ":,");
		if (n == 0) {
			snprintf(err, errlen, "empty entry in kind list '%s'", spec);
			return -EINVAL;
		}
		int k = ferry_gen_kind_from_name(p, nl);
		if (k < 0) {
			snprintf(err, errlen,
				 "unknown record kind '%.*s' (trade, order, risk, client)", (int)nl,
				 p);
			return -EINVAL;
		}
		if (seen[k]) {
			snprintf(err, errlen, "record kind '%s' listed twice", kind_names[k]);
			return -EINVAL;
		}
		seen[k] = true;
		w[k] = 1;
		if (nl < n) { /* ":weight" */
			unsigned long v = 0;
			size_t i = nl + 1;
			if (i == n) {
				snprintf(err, errlen, "missing weight after '%s:'", kind_names[k]);
				return -EINVAL;
			}
			for (; i < n; i++) {
				if (p[i] < '0' || p[i] > '9' || v > 1000000) {
					snprintf(err, errlen,
						 "bad weight '%.*s' for %s (1..1000000)",
						 (int)(n - nl - 1), p + nl + 1, kind_names[k]);
					return -EINVAL;
				}
				v = v * 10 + (unsigned long)(p[i] - '0');
			}
			if (v < 1 || v > 1000000) {
				snprintf(err, errlen, "bad weight '%.*s' for %s (1..1000000)",
					 (int)(n - nl - 1), p + nl + 1, kind_names[k]);
				return -EINVAL;
			}
			w[k] = (unsigned)v;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	memcpy(weights, w, sizeof(w));
	return 0;
}
