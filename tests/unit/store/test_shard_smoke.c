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
	store_key_init(&k, &env.digest_key, "foo", 3);
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
		store_key_init(&ks[i], &env.digest_key, names[i], (uint32_t)strlen(names[i]));
		kp[i] = &ks[i];
		if (i % 2 == 0)
			assert_int_equal(test_put(s, &ks[i], STORE_MODE_SET, "v", 1, 0, 0, 0, NULL),
					 STORE_STORED);
	}
	store_shard_stats_get(s, &before);
	store_prefetch_bulk(s, kp, INDEX_BULK_MAX, NULL);
	store_prefetch_bulk(s, kp, 0, NULL);
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
		.digest_key = &env.digest_key,
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

/*
 * store_prefetch_bulk's found[] hands store_get_found the item; a hint that is stale (the key
 * replaced or deleted since: store_shard_changes() moved) or for another key is not trusted
 * blindly: a NULL or mismatched hint looks up, and a replaced item is what the owner must not
 * pass (its own writes moved the change count).
 */
static void
test_get_found(void **state)
{
	struct store_shard *s = test_shard_create(&env, 8u << 20);
	struct store_key a, b;
	const struct store_key *kp[2] = {&a, &b};
	const struct item *found[2];
	struct store_hit hit;
	uint64_t changes;

	(void)state;
	store_key_init(&a, &env.digest_key, "alpha", 5);
	store_key_init(&b, &env.digest_key, "beta", 4);
	changes = store_shard_changes(s);
	assert_int_equal(test_put(s, &a, STORE_MODE_SET, "1", 1, 0, 0, 0, NULL), STORE_STORED);
	assert_int_not_equal(store_shard_changes(s), changes);
	store_prefetch_bulk(s, kp, 2, found);
	assert_non_null(found[0]);
	assert_null(found[1]);
	changes = store_shard_changes(s);
	assert_int_equal(store_get_found(s, &a, found[0], &hit), STORE_HIT);
	assert_memory_equal(hit.value, "1", 1);
	/* a hint for another key: looked up */
	assert_int_equal(store_get_found(s, &b, found[0], &hit), STORE_MISS);
	/* no hint: looked up (b stored since the prefetch) */
	assert_int_equal(test_put(s, &b, STORE_MODE_SET, "2", 1, 0, 0, 0, NULL), STORE_STORED);
	assert_int_equal(store_get_found(s, &b, found[1], &hit), STORE_HIT);
	assert_memory_equal(hit.value, "2", 1);
	/* replacing and deleting move the change count: the owner drops its hints */
	changes = store_shard_changes(s);
	assert_int_equal(test_put(s, &a, STORE_MODE_SET, "3", 1, 0, 0, 0, NULL), STORE_STORED);
	assert_int_not_equal(store_shard_changes(s), changes);
	assert_int_equal(store_get_found(s, &a, NULL, &hit), STORE_HIT);
	assert_memory_equal(hit.value, "3", 1);
	changes = store_shard_changes(s);
	assert_int_equal(store_delete(s, &b, 0), STORE_DELETED);
	assert_int_not_equal(store_shard_changes(s), changes);
	assert_int_equal(store_get_found(s, &b, NULL, &hit), STORE_MISS);
	test_shard_settle(s);
	store_shard_destroy(&s);
}

/*
 * store_read_found (a plain get's read) gives what store_get_found gives of the fields a get
 * uses, with a hint or without, hit or miss, and marks a hit used as it does (the next read's
 * `fetched`, which only store_get_found reports).
 */
static void
test_read_found(void **state)
{
	struct store_shard *s = test_shard_create(&env, 8u << 20);
	struct store_key a, b;
	const struct store_key *kp[1] = {&a};
	const struct item *found[1];
	struct store_hit full, plain;
	uint64_t cas = 0;

	(void)state;
	store_key_init(&a, &env.digest_key, "alpha", 5);
	store_key_init(&b, &env.digest_key, "beta", 4);
	assert_int_equal(test_put(s, &a, STORE_MODE_SET, "value", 5, 42, 0, 0, &cas), STORE_STORED);
	store_prefetch_bulk(s, kp, 1, found);
	assert_non_null(found[0]);
	for (int hint = 0; hint < 2; hint++) {
		const struct item *f = hint ? found[0] : NULL;

		assert_int_equal(store_read_found(s, &a, f, &plain), STORE_HIT);
		assert_int_equal(store_get_found(s, &a, f, &full), STORE_HIT);
		assert_int_equal(plain.status, STORE_HIT);
		assert_ptr_equal(plain.it, full.it);
		assert_ptr_equal(plain.value, full.value);
		assert_memory_equal(plain.value, "value", 5);
		assert_int_equal(plain.nbytes, 5);
		assert_int_equal(plain.seg_len, full.seg_len);
		assert_ptr_equal(plain.seg_next, full.seg_next);
		assert_int_equal(plain.client_flags, 42);
		assert_int_equal(plain.cas, cas);
		assert_int_equal(full.cas, cas);
		/* the plain read before it marked the item used */
		assert_true(full.fetched);
	}
	assert_int_equal(store_read_found(s, &b, found[0], &plain), STORE_MISS);
	assert_int_equal(plain.status, STORE_MISS);
	assert_null(plain.it);
	assert_int_equal(store_read_found(s, &b, NULL, &plain), STORE_MISS);
	test_shard_settle(s);
	store_shard_destroy(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_delete),
		cmocka_unit_test(test_prefetch_bulk_changes_nothing),
		cmocka_unit_test(test_mem_socket),
		cmocka_unit_test(test_get_found),
		cmocka_unit_test(test_read_found),
	};

	test_eal_init("0", 256);
	int failed;

	test_env_init(&env);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	test_env_fini(&env);
	return failed;
}
