/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for app/mcgen/hist.h: bucket bounds, quantiles, merging. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "hist.h"

/* Every value lies within its bucket, whose width is at most 1/64 of its values. */
static void
test_bucket_bounds(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < (1ull << 39); v = v < 1000 ? v + 1 : v + v / 97 + 1) {
		unsigned b = mcgen_hist_bucket(v);
		uint64_t high = mcgen_hist_bucket_high(b);
		uint64_t low = b == 0 ? 0 : mcgen_hist_bucket_high(b - 1) + 1;

		assert_true(b < MCGEN_HIST_BUCKETS);
		if (v < low || v > high)
			fail_msg("value %llu outside bucket %u [%llu, %llu]", (unsigned long long)v, b,
				 (unsigned long long)low, (unsigned long long)high);
		assert_true((double)(high - low) <= (double)low / 64.0 + 1.0);
	}
	assert_int_equal(mcgen_hist_bucket(UINT64_MAX), MCGEN_HIST_BUCKETS - 1);
}

/* 1..100000 us: quantiles within 1.6% of the exact ones; max exact. */
static void
test_quantiles(void **state)
{
	struct mcgen_hist *h = malloc(sizeof(*h));

	(void)state;
	mcgen_hist_reset(h);
	assert_int_equal(mcgen_hist_quantile(h, 0.5), 0);
	for (uint64_t i = 1; i <= 100000; i++)
		mcgen_hist_add(h, i * 1000);
	assert_int_equal(h->count, 100000);
	assert_int_equal(h->min, 1000);
	assert_int_equal(h->max, 100000000);
	double want[] = {0.5, 50000e3, 0.99, 99000e3, 0.999, 99900e3};
	for (unsigned i = 0; i < 6; i += 2) {
		double got = (double)mcgen_hist_quantile(h, want[i]);

		if (got < want[i + 1] || got > want[i + 1] * 1.016)
			fail_msg("quantile %g: %g, want %g (+1.6%%)", want[i], got, want[i + 1]);
	}
	assert_int_equal(mcgen_hist_quantile(h, 1.0), 100000000);
	free(h);
}

/* Two halves merged equal the whole. */
static void
test_merge(void **state)
{
	struct mcgen_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));

	(void)state;
	mcgen_hist_reset(a);
	mcgen_hist_reset(b);
	mcgen_hist_reset(all);
	for (uint64_t i = 0; i < 5000; i++) {
		uint64_t v = (i * 7919) % 100003;

		mcgen_hist_add(i % 2 ? a : b, v);
		mcgen_hist_add(all, v);
	}
	mcgen_hist_merge(a, b);
	assert_int_equal(a->count, all->count);
	assert_int_equal(a->sum, all->sum);
	assert_int_equal(a->min, all->min);
	assert_int_equal(a->max, all->max);
	assert_memory_equal(a->b, all->b, sizeof(a->b));
	free(a);
	free(b);
	free(all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
