/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_walk (shard_walk.c): every live item once, over many bounded calls, whatever is
 * stored or removed between them; expired and flushed items left out; class filter; the
 * callback's stop keeps the cursor on the item.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_env.h"

#define NKEYS 20000

static struct test_env env;

struct seen {
	uint8_t *count; /* per key index */
	unsigned other; /* keys not of the form k<i> */
	unsigned stop_after; /* 0: never stop */
	unsigned calls;
	uint32_t last_clsid;
};

static bool
on_item(const struct store_walk_item *it, void *arg)
{
	struct seen *s = arg;
	char buf[32];
	unsigned i;

	if (s->stop_after != 0 && s->calls++ == s->stop_after) {
		s->calls = 0;
		return false;
	}
	s->last_clsid = it->clsid;
	if (it->nkey < sizeof(buf) && it->key[0] == 'k') {
		memcpy(buf, it->key + 1, it->nkey - 1);
		buf[it->nkey - 1] = '\0';
		i = (unsigned)strtoul(buf, NULL, 10);
		if (i < NKEYS) {
			s->count[i]++;
			return true;
		}
	}
	s->other++;
	return true;
}

static void
put_key(struct store_shard *s, const char *prefix, unsigned i, int64_t exptime, uint32_t vlen)
{
	static char val[4096];
	char name[32];
	struct store_key k;

	snprintf(name, sizeof(name), "%s%u", prefix, i);
	store_key_init(&k, &env.digest_key, name, (uint32_t)strlen(name));
	assert_int_equal(test_put(s, &k, STORE_MODE_SET, val, vlen, 0, exptime, 0, NULL),
			 STORE_STORED);
}

static void
del_key(struct store_shard *s, const char *prefix, unsigned i)
{
	char name[32];
	struct store_key k;

	snprintf(name, sizeof(name), "%s%u", prefix, i);
	store_key_init(&k, &env.digest_key, name, (uint32_t)strlen(name));
	assert_int_equal(store_delete(s, &k, 0), STORE_DELETED);
}

/* Items linked for the whole walk are seen exactly once, however the walk is cut. */
static void
test_walk_every_item_once(void **state)
{
	struct store_shard *s = test_shard_create(&env, 16u << 20);
	struct store_walk w = {0};
	struct seen seen = {.count = calloc(NKEYS, 1)};
	unsigned calls = 0, round = 0;

	(void)state;
	for (unsigned i = 0; i < NKEYS; i++)
		put_key(s, "k", i, 0, 8);
	while (!w.done) {
		store_walk(s, &w, UINT64_MAX, 500, on_item, &seen);
		calls++;
		/* between calls: others come and go, as on a worker between slices */
		put_key(s, "x", round, 0, 8);
		if (round > 0)
			del_key(s, "x", round - 1);
		round++;
		test_shard_settle(s);
	}
	assert_true(calls > 10); /* the budget bounds each call */
	for (unsigned i = 0; i < NKEYS; i++)
		assert_int_equal(seen.count[i], 1);
	assert_true(seen.other <= 1);
	free(seen.count);
	store_shard_destroy(&s);
}

/* Expired, flushed and deleted items are not shown; the class filter applies. */
static void
test_walk_live_and_classes(void **state)
{
	struct store_shard *s = test_shard_create(&env, 16u << 20);
	struct store_walk w = {0};
	struct seen seen = {.count = calloc(NKEYS, 1)};
	uint32_t small;

	(void)state;
	for (unsigned i = 0; i < 100; i++)
		put_key(s, "k", i, i % 2 == 0 ? 0 : 100, 8); /* small: one class */
	for (unsigned i = 100; i < 110; i++)
		put_key(s, "k", i, 0, 3000); /* large: another */
	put_key(s, "k", 200, -1, 8);	    /* already expired */
	del_key(s, "k", 5);
	while (!w.done)
		store_walk(s, &w, UINT64_MAX, 64, on_item, &seen);
	for (unsigned i = 0; i < 110; i++)
		assert_int_equal(seen.count[i], i == 5 ? 0 : 1);
	assert_int_equal(seen.count[200], 0);

	/* only the small items' class */
	memset(seen.count, 0, NKEYS);
	memset(&w, 0, sizeof(w));
	store_walk(s, &w, UINT64_MAX, 1, on_item, &seen); /* learn the small class */
	small = seen.last_clsid;
	memset(seen.count, 0, NKEYS);
	memset(&w, 0, sizeof(w));
	while (!w.done)
		store_walk(s, &w, 1ULL << small, 64, on_item, &seen);
	for (unsigned i = 0; i < 110; i++)
		assert_int_equal(seen.count[i], i == 5 || i >= 100 ? 0 : 1);

	/* relative exptimes pass: the odd ones expire */
	nc_clock_advance(&env.clock, 200);
	memset(seen.count, 0, NKEYS);
	memset(&w, 0, sizeof(w));
	while (!w.done)
		store_walk(s, &w, UINT64_MAX, 64, on_item, &seen);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(seen.count[i], i % 2 == 0 && i != 5 ? 1 : 0);

	/* flush_all hides everything */
	store_flush(s, 0);
	memset(seen.count, 0, NKEYS);
	memset(&w, 0, sizeof(w));
	while (!w.done)
		assert_int_equal(store_walk(s, &w, UINT64_MAX, 64, on_item, &seen), 0);
	free(seen.count);
	test_shard_settle(s);
	store_shard_destroy(&s);
}

/* A callback that stops leaves the cursor on its item: nothing is lost or repeated. */
static void
test_walk_stop_resumes(void **state)
{
	struct store_shard *s = test_shard_create(&env, 8u << 20);
	struct store_walk w = {0};
	struct seen seen = {.count = calloc(NKEYS, 1), .stop_after = 7};
	unsigned shown = 0;

	(void)state;
	for (unsigned i = 0; i < 1000; i++)
		put_key(s, "k", i, 0, 8);
	while (!w.done)
		shown += store_walk(s, &w, UINT64_MAX, 100000, on_item, &seen);
	assert_int_equal(shown, 1000);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(seen.count[i], 1);
	/* an empty shard is done at once */
	free(seen.count);
	store_shard_destroy(&s);
	s = test_shard_create(&env, 8u << 20);
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_walk(s, &w, UINT64_MAX, 10, on_item, &seen), 0);
	assert_true(w.done);
	store_shard_destroy(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_every_item_once),
		cmocka_unit_test(test_walk_live_and_classes),
		cmocka_unit_test(test_walk_stop_resumes),
	};
	int failed;

	test_eal_init("0", 256);
	test_env_init(&env);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	test_env_fini(&env);
	return failed;
}
