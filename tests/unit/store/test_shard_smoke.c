/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "test_env.h"

static struct test_env env;

static void
test_set_get_delete(void **state)
{
	struct store_shard *s = test_shard_create(&env, 8u << 20);
	struct store_key k;
	struct store_hit hit;
	uint64_t cas = 0;

	(void)state;
	store_key_init(&k, &env.seed, "foo", 3);
	assert_int_equal(store_get(s, &k, &hit), STORE_MISS);
	assert_int_equal(test_put(s, &k, STORE_MODE_SET, "bar", 3, 7, 0, 0, &cas), STORE_STORED);
	assert_true(cas != 0);
	assert_int_equal(store_get(s, &k, &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, 3);
	assert_memory_equal(hit.value, "bar", 3);
	assert_int_equal(hit.client_flags, 7);
	assert_int_equal(hit.cas, cas);
	assert_int_equal(store_delete(s, &k, 0), STORE_DELETED);
	assert_int_equal(store_get(s, &k, &hit), STORE_MISS);
	test_shard_settle(s);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
	store_shard_destroy(&s);
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_delete),
	};

	test_eal_init("0", 256);
	int failed;

	test_env_init(&env);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	test_env_fini(&env);
	return failed;
}
