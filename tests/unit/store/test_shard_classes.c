/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The classes a shard reports for `stats slabs` and `stats items`: store_hit_class(),
 * store_shard_found_class(), store_class_for(), and each class's tail_atime (age).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "test_env.h"

static struct test_env env;

static struct store_key
key_s(const char *key)
{
	struct store_key k;

	store_key_init(&k, &env.digest_key, key, (uint32_t)strlen(key));
	return k;
}

/* A hit's class, the found class of each owner command, and the class of a size agree. */
static void
test_classes_of_items(void **state)
{
	struct store_shard *s = test_shard_create(&env, 8u << 20);
	struct store_key small = key_s("small"), big = key_s("big"), none = key_s("none");
	static char bigval[3000];
	int cs = store_class_for(s, small.len, 5), cb = store_class_for(s, big.len, 3000);
	struct store_hit hit;
	uint64_t cas = 0, v;

	(void)state;
	memset(bigval, '7', sizeof(bigval));
	assert_true(cs >= 0 && cb > cs);
	assert_int_equal(store_class_for(s, 3, 2u << 20), -1); /* above -I */
	assert_int_equal(store_shard_found_class(s), -1);
	assert_int_equal(test_put(s, &small, STORE_MODE_SET, "12345", 5, 0, 0, 0, NULL),
			 STORE_STORED);
	assert_int_equal(store_shard_found_class(s), -1); /* nothing was there */
	assert_int_equal(test_put(s, &big, STORE_MODE_SET, bigval, 3000, 0, 0, 0, &cas),
			 STORE_STORED);
	assert_int_equal(store_get(s, &small, &hit), STORE_HIT);
	assert_int_equal(store_hit_class(&hit), cs);
	assert_int_equal(store_get(s, &big, &hit), STORE_HIT);
	assert_int_equal(store_hit_class(&hit), cb);
	/* a cas compare: the class of the item compared, whatever the new value's size */
	assert_int_equal(test_put(s, &big, STORE_MODE_CAS, "1", 1, 0, 0, cas + 1000, NULL),
			 STORE_EXISTS);
	assert_int_equal(store_shard_found_class(s), cb);
	assert_int_equal(store_arith(s, &small, true, 1, &v, NULL), STORE_OK);
	assert_int_equal(v, 12346);
	assert_int_equal(store_shard_found_class(s), cs);
	assert_int_equal(store_arith(s, &none, true, 1, &v, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_shard_found_class(s), -1);
	assert_int_equal(store_touch(s, &big, 100), STORE_TOUCHED);
	assert_int_equal(store_shard_found_class(s), cb);
	assert_int_equal(store_delete(s, &small, 0), STORE_DELETED);
	assert_int_equal(store_shard_found_class(s), cs);
	assert_int_equal(store_delete(s, &small, 0), STORE_NOT_FOUND);
	assert_int_equal(store_shard_found_class(s), -1);
	test_shard_settle(s);
	store_shard_destroy(&s);
}

/* One refresh pass over every class (one class per store_shard_maintain()). */
static void
refresh_ages(struct store_shard *s)
{
	for (unsigned i = 0; i <= store_shard_slab(s)->nclasses; i++)
		store_shard_maintain(s, 0);
}

/*
 * tail_atime: the last access of the coldest item near the hand (what eviction takes first),
 * refreshed once a second.
 */
static void
test_class_tail_age(void **state)
{
	struct store_shard *s = test_shard_create(&env, 8u << 20);
	struct store_key a = key_s("a"), b = key_s("b");
	const struct slab *sl = store_shard_slab(s);
	int c = store_class_for(s, 1, 1);
	nc_reltime_t t0 = store_shard_now(s);
	struct store_hit hit;

	(void)state;
	refresh_ages(s);
	assert_int_equal(sl->cls[c].tail_atime, 0); /* no page yet */
	assert_int_equal(test_put(s, &a, STORE_MODE_SET, "x", 1, 0, 0, 0, NULL), STORE_STORED);
	nc_clock_advance_ticks(&env.clock, 2 * NC_CLOCK_TICKS_PER_SEC);
	assert_int_equal(test_put(s, &b, STORE_MODE_SET, "y", 1, 0, 0, 0, NULL), STORE_STORED);
	refresh_ages(s);
	/* a, stored first, is at the hand: its store time, not b's */
	assert_int_equal(sl->cls[c].tail_atime, t0);
	nc_clock_advance_ticks(&env.clock, 3 * NC_CLOCK_TICKS_PER_SEC);
	refresh_ages(s);
	assert_int_equal(sl->cls[c].tail_atime, t0); /* left alone: it only ages */
	/* read now: b is the coldest, seen at the next second's refresh */
	assert_int_equal(store_get(s, &a, &hit), STORE_HIT);
	refresh_ages(s);
	assert_int_equal(sl->cls[c].tail_atime, t0); /* same second: not looked again */
	nc_clock_advance_ticks(&env.clock, NC_CLOCK_TICKS_PER_SEC);
	refresh_ages(s);
	assert_int_equal(sl->cls[c].tail_atime, t0 + 2);
	/* b read too: a (read at t0 + 5) is the coldest now */
	assert_int_equal(store_get(s, &b, &hit), STORE_HIT);
	nc_clock_advance_ticks(&env.clock, NC_CLOCK_TICKS_PER_SEC);
	refresh_ages(s);
	assert_int_equal(sl->cls[c].tail_atime, t0 + 5);
	/* a gone: b, read at t0 + 6 */
	assert_int_equal(store_delete(s, &a, 0), STORE_DELETED);
	test_shard_settle(s);
	nc_clock_advance_ticks(&env.clock, NC_CLOCK_TICKS_PER_SEC);
	refresh_ages(s);
	assert_int_equal(sl->cls[c].tail_atime, t0 + 6);
	store_shard_destroy(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_of_items),
		cmocka_unit_test(test_class_tail_age),
	};
	int rc;

	test_eal_init("0", 128);
	test_env_init(&env);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	test_env_fini(&env);
	return rc;
}
