/*
 * runs.c - run gates: find where a run of bytes of one class (say digits, with single
 * spaces or dashes between them) reaches a minimum length, 64 bytes per step.
 *
 * Why: Hyperscan runs a class-led pattern such as \d(?:[ -]?\d){11} at about 1.5 bytes/ns
 * on our hosts however it is written, because digits are everywhere in trading data and keep
 * its automata busy; a pack with several such rules scans at a tenth of that. "Is there a run
 * of 12 digits here" is a far simpler question: two vector compares and a few shifts per 64
 * bytes. A rule whose every match holds such a run (cards, national ids, phone numbers) uses
 * one as its prefilter (rules.c: `prefilter_run`), and only the records a run marks are
 * scanned with the rule itself (runtime.c).
 *
 * What is detected: J = class bytes, plus separator bytes that directly follow a class byte;
 * every end offset e at which the bytes [e - min, e) are all in J is reported. A match of the
 * rule with at least `min` class bytes joined by single separators therefore always ends a
 * report inside it: the gate is a superset, it may fire on runs with fewer class bytes, never
 * miss. Reports come as ranges of consecutive end offsets.
 *
 * Thread: any (pure function of its inputs). AVX2 when the CPU has it, else a portable
 * version that builds the same 64-bit masks byte by byte; both give identical reports
 * (tests/unit/test_policy_runs.c).
 */
#include <string.h>

#include "runtime_int.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RUNS_HAVE_AVX2 1
#else
#define RUNS_HAVE_AVX2 0
#endif

/* Class and separator masks of one 64-byte block, bit i = byte i. */
struct runs_masks {
	uint64_t cls, sep;
};

static void
masks_scalar(const struct ferry_policy_run *run, const uint8_t *p, struct runs_masks *m)
{
	m->cls = m->sep = 0;
	for (unsigned i = 0; i < 64; i++) {
		uint8_t c = p[i];
		bool in = false, sp = false;
		for (unsigned r = 0; r < run->n_ranges; r++)
			in |= c >= run->lo[r] && c <= run->hi[r];
		for (unsigned s = 0; s < run->n_seps; s++)
			sp |= c == run->sep[s];
		m->cls |= (uint64_t)in << i;
		m->sep |= (uint64_t)sp << i;
	}
}

#if RUNS_HAVE_AVX2
__attribute__((target("avx2"))) static uint32_t
half_class(const struct ferry_policy_run *run, __m256i x)
{
	__m256i in = _mm256_setzero_si256();
	for (unsigned r = 0; r < run->n_ranges; r++) {
		/* lo <= x <= hi, unsigned: max(x, lo) == x and min(x, hi) == x */
		__m256i lo = _mm256_set1_epi8((char)run->lo[r]);
		__m256i hi = _mm256_set1_epi8((char)run->hi[r]);
		__m256i ge = _mm256_cmpeq_epi8(_mm256_max_epu8(x, lo), x);
		__m256i le = _mm256_cmpeq_epi8(_mm256_min_epu8(x, hi), x);
		in = _mm256_or_si256(in, _mm256_and_si256(ge, le));
	}
	return (uint32_t)_mm256_movemask_epi8(in);
}

__attribute__((target("avx2"))) static uint32_t
half_sep(const struct ferry_policy_run *run, __m256i x)
{
	__m256i sp = _mm256_setzero_si256();
	for (unsigned s = 0; s < run->n_seps; s++)
		sp = _mm256_or_si256(sp, _mm256_cmpeq_epi8(x, _mm256_set1_epi8((char)run->sep[s])));
	return (uint32_t)_mm256_movemask_epi8(sp);
}

__attribute__((target("avx2"))) static void
masks_avx2(const struct ferry_policy_run *run, const uint8_t *p, struct runs_masks *m)
{
	__m256i a = _mm256_loadu_si256((const __m256i *)p);
	__m256i b = _mm256_loadu_si256((const __m256i *)(p + 32));
	m->cls = half_class(run, a) | (uint64_t)half_class(run, b) << 32;
	m->sep = run->n_seps ? half_sep(run, a) | (uint64_t)half_sep(run, b) << 32 : 0;
}
#endif

/* Bit i set iff bits i .. i + len - 1 of x are all set (zeros shifted in from the top). */
static uint64_t
window_all(uint64_t x, unsigned len)
{
	unsigned have = 1;
	while (have < len && x != 0) {
		unsigned s = have <= len - have ? have : len - have;
		x &= x >> s;
		have += s;
	}
	return x;
}

void
ferry_policy_run_scan(const struct ferry_policy_run *run, const uint16_t *mins, unsigned n_mins,
		      const uint8_t *p, size_t n,
		      void (*report)(void *ctx, unsigned which, size_t first_end, size_t last_end),
		      void *ctx)
{
	void (*masks)(const struct ferry_policy_run *, const uint8_t *, struct runs_masks *) =
	    masks_scalar;
#if RUNS_HAVE_AVX2
	if (__builtin_cpu_supports("avx2"))
		masks = masks_avx2;
#endif
	uint64_t carry = 0;    /* J bytes just before this block (run length so far) */
	bool prev_cls = false; /* the byte before this block is a class byte */
	uint8_t tail[64];
	for (size_t base = 0; base < n; base += 64) {
		struct runs_masks m;
		size_t avail = n - base;
		if (avail >= 64) {
			masks(run, p + base, &m);
		} else {
			/* Last partial block: zero padding, then the padding's bits cleared, so no
			 * run crosses it and no report ends past n. */
			memset(tail, 0, sizeof(tail));
			memcpy(tail, p + base, avail);
			masks_scalar(run, tail, &m);
			uint64_t keep = (UINT64_C(1) << avail) - 1;
			m.cls &= keep;
			m.sep &= keep;
		}
		/* A separator counts only right after a class byte. */
		uint64_t j = m.cls | (m.sep & ((m.cls << 1) | (uint64_t)prev_cls));
		prev_cls = (m.cls >> 63) & 1;
		unsigned lead = j == UINT64_MAX ? 64 : (unsigned)__builtin_ctzll(~j);

		for (unsigned k = 0; k < n_mins; k++) {
			unsigned min = mins[k];
			if (min == 0 || min > FERRY_POLICY_RUN_MIN_MAX)
				continue;
			/* The run carried in from earlier blocks (carry may be 0), continued by
			 * this block's leading J bytes: the end base + e (1 <= e <= lead) closes
			 * a run of carry + e bytes. This also covers a block of all ones. */
			if (lead > 0 && carry + lead >= min) {
				size_t first = carry >= min ? 1 : (size_t)(min - carry);
				report(ctx, k, base + first, base + lead);
			}
			if (j == UINT64_MAX)
				continue;
			/* Runs inside the block: a window of min ones starting at bit i ends at
			 * base + i + min; the starts of one run are consecutive bits. */
			uint64_t w = window_all(j, min);
			while (w != 0) {
				unsigned i = (unsigned)__builtin_ctzll(w);
				uint64_t rest = ~(w >> i);
				unsigned len = rest == 0 ? 64 - i : (unsigned)__builtin_ctzll(rest);
				report(ctx, k, base + i + min, base + i + len - 1 + min);
				w = i + len >= 64 ? 0 : w & ~((UINT64_C(1) << (i + len)) - 1);
			}
		}
		/* The ones at the top continue into the next block. */
		carry = j == UINT64_MAX ? carry + 64 : (uint64_t)__builtin_clzll(~j);
	}
}
