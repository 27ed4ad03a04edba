/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
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

/* store_prefetch_bulk only warms caches: results and counters are the same after it. */
static void
test_prefetch_bulk_changes_nothing(void **state)
{
	struct store_shard *s = test_shard_create(&env, 8u << 20);
	struct store_key ks[INDEX_BULK_MAX];
	const struct store_key *kp[INDEX_BULK_MAX];
	char names[INDEX_BULK_MAX][8];
	struct store_shard_stats before, after;
	struct store_hit hit;

	(void)state;
	for (unsigned i = 0; i < INDEX_BULK_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "k%u", i);
		store_key_init(&ks[i], &env.seed, names[i], (uint32_t)strlen(names[i]));
		kp[i] = &ks[i];
		if (i % 2 == 0)
			assert_int_equal(test_put(s, &ks[i], STORE_MODE_SET, "v", 1, 0, 0, 0, NULL),
					 STORE_STORED);
	}
	store_shard_stats_get(s, &before);
	store_prefetch_bulk(s, kp, INDEX_BULK_MAX);
	store_prefetch_bulk(s, kp, 0);
	store_shard_stats_get(s, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	for (unsigned i = 0; i < INDEX_BULK_MAX; i++)
		assert_int_equal(store_get(s, &ks[i], &hit), i % 2 == 0 ? STORE_HIT : STORE_MISS);
	test_shard_settle(s);
	store_shard_destroy(&s);
}

/* The arena lies where EAL has memory: socket 0 without hugepages, asked for or not. */
static void
test_mem_socket(void **state)
{
	struct store_shard_params p = {
		.socket_id = (int)rte_socket_id(),
		.mem_limit = 4u << 20,
		.seed = &env.seed,
		.clock = &env.clock,
		.cas_source = &env.cas,
		.reclaimer = env.reclaimer,
	};
	struct store_shard *s = test_shard_create(&env, 4u << 20);
	int err;

	(void)state;
	assert_int_equal(store_shard_mem_socket(s), 0);
	store_shard_destroy(&s);
	s = store_shard_create(&p, &err);
	assert_non_null(s);
	assert_int_equal(store_shard_mem_socket(s), (int)rte_socket_id());
	store_shard_destroy(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_delete),
		cmocka_unit_test(test_prefetch_bulk_changes_nothing),
		cmocka_unit_test(test_mem_socket),
	};

	test_eal_init("0", 256);
	int failed;

	test_env_init(&env);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	test_env_fini(&env);
	return failed;
}
