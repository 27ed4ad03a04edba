/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for core/decimal.h: nc_decimal_u64() writes what snprintf("%llu") writes for
 * every power of ten and its neighbours (each digit count's edges), 0..100,000 and random
 * 64-bit values, and never writes past the digits it reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"

/* Write @p v both ways and compare; the byte after the digits must be untouched. */
static void
check(uint64_t v)
{
	char want[32], got[NC_DECIMAL_U64_MAX + 1];
	int wn = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
	unsigned n;

	memset(got, '#', sizeof(got));
	n = nc_decimal_u64(got, v);
	assert_int_equal(n, (unsigned)wn);
	assert_memory_equal(got, want, n);
	if (n < sizeof(got))
		assert_int_equal(got[n], '#');
}

static void
test_digit_count_edges(void **state)
{
	uint64_t p = 1;

	(void)state;
	for (int d = 0; d < 20; d++, p *= 10) {
		check(p - 1);
		check(p);
		check(p + 1);
	}
	check(UINT64_MAX);
	check(UINT64_MAX - 1);
}

static void
test_small_and_random(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (uint64_t v = 0; v <= 100000; v++)
		check(v);
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check(x >> (i % 64));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digit_count_edges),
		cmocka_unit_test(test_small_and_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
