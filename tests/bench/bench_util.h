/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_BENCH_OPTS_H
#define NC_BENCH_OPTS_H

/* Option parsing shared by the benchmark programs (header only; libc). */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

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

#endif /* NC_BENCH_OPTS_H */
