/*
 * bench_clock.h - the two clocks the benchmarks report by: wall seconds (CLOCK_MONOTONIC) and
 * CPU seconds of the whole process (user + system, all threads, so a library's own threads
 * count too), and the median they report rounds by. Header-only; any thread.
 */
#ifndef FERRY_BENCH_CLOCK_H
#define FERRY_BENCH_CLOCK_H

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static inline double
bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 0 if getrusage fails (it cannot for RUSAGE_SELF with a valid pointer). */
static inline double
bench_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n), n > 0; sorts v in place. */
static inline double
bench_median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
