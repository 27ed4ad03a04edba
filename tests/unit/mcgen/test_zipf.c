/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for app/mcgen/zipf.h: ranks in range, frequencies as Zipf's law says. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "rng.h"
#include "zipf.h"

/* Draw 1,000,000 ranks over 1..n with exponent s; compare rank frequencies with k^-s / H. */
static void
check_law(uint64_t n, double s)
{
	const unsigned draws = 1000000;
	uint64_t *count = calloc(n + 1, sizeof(*count)), rng = mcgen_rng_seed(42, (uint64_t)(s * 100));
	struct mcgen_zipf z;
	double h = 0;

	assert_int_equal(mcgen_zipf_init(&z, n, s), 0);
	for (uint64_t k = 1; k <= n; k++)
		h += pow((double)k, -s);
	for (unsigned i = 0; i < draws; i++) {
		uint64_t k = mcgen_zipf_draw(&z, &rng);

		if (k < 1 || k > n)
			fail_msg("rank %llu outside 1..%llu", (unsigned long long)k, (unsigned long long)n);
		count[k]++;
	}
	for (uint64_t k = 1; k <= 10 && k <= n; k++) {
		double p = pow((double)k, -s) / h, want = p * draws;
		double sd = sqrt(want * (1 - p));

		if (fabs((double)count[k] - want) > 5 * sd + 1)
			fail_msg("s %g n %llu rank %llu: %llu draws, want %.0f +- %.0f", s,
				 (unsigned long long)n, (unsigned long long)k,
				 (unsigned long long)count[k], want, 5 * sd);
	}
	free(count);
}

static void
test_law(void **state)
{
	(void)state;
	check_law(1000, 0.99);
	check_law(1000, 1.0); /* the log form */
	check_law(100, 0.5);
	check_law(100000, 1.2);
	check_law(1, 0.99);
}

static void
test_bad(void **state)
{
	struct mcgen_zipf z;

	(void)state;
	assert_int_equal(mcgen_zipf_init(&z, 0, 1.0), -EINVAL);
	assert_int_equal(mcgen_zipf_init(&z, 10, 0.0), -EINVAL);
	assert_int_equal(mcgen_zipf_init(&z, 10, -1.0), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_law),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
