/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for lib/genlink/steer.h: which thread owns a port (genlink_port_owner). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "genlink/steer.h"

/* Blocks of 3 ports from 40000 for 4 threads: 40000-40002 thread 0, ..., 40009-40011 thread 3. */
static void
test_owner_blocks(void **state)
{
	(void)state;
	assert_int_equal(genlink_port_owner(40000, 3, 4, 40000), 0);
	assert_int_equal(genlink_port_owner(40000, 3, 4, 40002), 0);
	assert_int_equal(genlink_port_owner(40000, 3, 4, 40003), 1);
	assert_int_equal(genlink_port_owner(40000, 3, 4, 40008), 2);
	assert_int_equal(genlink_port_owner(40000, 3, 4, 40011), 3);
}

/* Ports outside every block (the server's own port, ports below or past the blocks). */
static void
test_owner_outside(void **state)
{
	(void)state;
	assert_int_equal(genlink_port_owner(40000, 3, 4, 39999), -1);
	assert_int_equal(genlink_port_owner(40000, 3, 4, 40012), -1);
	assert_int_equal(genlink_port_owner(40000, 3, 4, 11211), -1);
	assert_int_equal(genlink_port_owner(40000, 3, 4, 0), -1);
	assert_int_equal(genlink_port_owner(40000, 0, 4, 40000), -1);
	assert_int_equal(genlink_port_owner(65000, 268, 2, 65535), 1);
}

/*
 * mcgen's split (dpdk.c links_fill): --conns c over n threads, block ceil(c / n), thread i
 * uses c / n (+1 for the first c % n) ports from the start of its block: every port a
 * thread uses is its own, and no two threads share one.
 */
static void
test_owner_matches_split(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 8; n++)
		for (unsigned c = n; c <= 70; c++) {
			uint16_t block = (uint16_t)((c + n - 1) / n);

			for (unsigned i = 0; i < n; i++) {
				unsigned used = c / n + (i < c % n);

				for (unsigned p = 0; p < used; p++)
					assert_int_equal(genlink_port_owner(50000, block, n,
									    (uint16_t)(50000 + i * block + p)),
							 (int)i);
			}
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_blocks),
		cmocka_unit_test(test_owner_outside),
		cmocka_unit_test(test_owner_matches_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
