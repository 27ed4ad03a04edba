/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_BENCH_UTIL_H
#define NC_BENCH_UTIL_H

/* What the benchmark programs share: option parsing, the clock, medians (header only; libc). */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/**
 * Read the whole of @p s as a number within [@p lo, @p hi] into *v.
 * @return false when @p s is not a number, has trailing text, or is out of range.
 */
static inline bool
bench_number(const char *s, double lo, double hi, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *v >= lo && *v <= hi;
}

/** @return the monotonic clock, in nanoseconds. */
static inline double
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/** qsort() comparison of two doubles, ascending. */
static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/**
 * Sort @p v[0..n) ascending, in place (n >= 1). @return its median (the mean of the middle two
 * when @p n is even); v[0] and v[n - 1] are then its least and greatest.
 */
static inline double
bench_median_sort(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* NC_BENCH_UTIL_H */
