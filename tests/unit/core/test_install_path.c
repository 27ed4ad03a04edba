/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for core/install_path.h: the installed path when it is there, the source tree's
 * when only that is, the installed one when neither is or when there is no source path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/install_path.h"

static void
test_choice(void **state)
{
	static const char there[] = "/", also[] = "/tmp", missing[] = "/nonexistent/nicached";

	(void)state;
	assert_ptr_equal(nc_installed_or_source(there, also), there);
	assert_ptr_equal(nc_installed_or_source(missing, also), also);
	assert_ptr_equal(nc_installed_or_source(missing, "/nonexistent/source"), missing);
	assert_ptr_equal(nc_installed_or_source(missing, NULL), missing);
	assert_ptr_equal(nc_installed_or_source(there, NULL), there);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
