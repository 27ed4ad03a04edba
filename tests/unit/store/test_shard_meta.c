/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The meta-command part of the shard API (store/shard.h, shard_meta.c): before-access state,
 * the recache token, stale items, explicit cas, md x, vivify and ma. Each test gets a fresh
 * fake clock, CAS source and shard.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_env.h"

#define SHARD_MEM (8u << 20)

static struct test_env env;

#define assert_status(actual, expected) \
	assert_string_equal(store_status_name(actual), store_status_name(expected))

static struct store_key
key_s(const char *key)
{
	struct store_key k;

	store_key_init(&k, &env.digest_key, key, (uint32_t)strlen(key));
	return k;
}

static uint64_t
set(struct store_shard *s, const char *key, const char *val, int64_t exptime)
{
	struct store_key k = key_s(key);
	uint64_t cas = 0;

	assert_status(
		test_put(s, &k, STORE_MODE_SET, val, (uint32_t)strlen(val), 0, exptime, 0, &cas),
		STORE_STORED);
	return cas;
}

/* ms through store_item_alloc() + store_item_commit_meta(), retried on NO_MEMORY. */
static enum store_status
put_meta(struct store_shard *s, const char *key, enum store_mode mode, const char *val,
	 const struct store_put_opts *o, uint64_t *cas_out)
{
	struct store_key k = key_s(key);
	enum store_status st = STORE_NO_MEMORY;

	for (int tries = 0; tries < 100 && st == STORE_NO_MEMORY; tries++) {
		struct item *it = store_item_alloc(s, &k, 0, 0, (uint32_t)strlen(val), &st);

		if (it != NULL) {
			memcpy(item_value(it), val, strlen(val));
			st = store_item_commit_meta(s, it, &k, mode, o, cas_out);
		}
		if (st == STORE_NO_MEMORY) {
			rcu_quiescent_state();
			store_shard_maintain(s, 0);
		}
	}
	return st;
}

static struct store_hit
get(struct store_shard *s, const char *key, bool bump)
{
	struct store_key k = key_s(key);
	struct store_hit hit;

	memset(&hit, 0, sizeof(hit));
	store_meta_get(s, &k, bump, &hit);
	return hit;
}

static int
setup(void **state)
{
	test_env_init(&env);
	*state = test_shard_create(&env, SHARD_MEM);
	return 0;
}

static int
teardown(void **state)
{
	struct store_shard *s = *state;

	test_shard_settle(s);
	store_shard_destroy(&s);
	test_env_fini(&env);
	return 0;
}

/* h and l report the state before the access; bump false (u, me) leaves it alone. */
static void
test_before_access_state(void **state)
{
	struct store_shard *s = *state;
	struct store_hit h;

	set(s, "a", "v", 0);
	nc_clock_advance(&env.clock, 5);
	h = get(s, "a", false);
	assert_status(h.status, STORE_HIT);
	assert_false(h.fetched);
	h = get(s, "a", true);
	assert_false(h.fetched);
	assert_int_equal(store_shard_now(s) - h.atime, 5);
	h = get(s, "a", true);
	assert_true(h.fetched);
	assert_int_equal(store_shard_now(s) - h.atime, 0);
	assert_false(h.stale);
	assert_false(h.win_sent);
}

/* Exactly one claim wins per item; the bit shows as win_sent afterwards. */
static void
test_claim_win_once(void **state)
{
	struct store_shard *s = *state;
	struct store_hit h;

	set(s, "a", "v", 0);
	h = get(s, "a", true);
	assert_true(store_hit_claim_win(&h));
	assert_false(store_hit_claim_win(&h));
	h = get(s, "a", true);
	assert_true(h.win_sent);
	assert_false(store_hit_claim_win(&h));
	/* A new value is a new item: its token is free again. */
	set(s, "a", "w", 0);
	h = get(s, "a", true);
	assert_false(h.win_sent);
	assert_true(store_hit_claim_win(&h));
}

/* md I: stale, new cas, token cleared, value, flags and history kept, T applied. */
static void
test_invalidate(void **state)
{
	struct store_shard *s = *state;
	struct store_key k = key_s("a");
	struct store_invalidate_opts o = {.stale = true};
	uint64_t cas0 = set(s, "a", "val", 100);
	uint64_t cas1 = 0;
	struct store_hit h = get(s, "a", true);

	assert_true(store_hit_claim_win(&h));
	o.cas_in = cas0 + 1;
	assert_status(store_meta_invalidate(s, &k, &o, &cas1), STORE_EXISTS);
	o.cas_in = cas0;
	assert_status(store_meta_invalidate(s, &k, &o, &cas1), STORE_DELETED);
	assert_true(cas1 > cas0);
	h = get(s, "a", true);
	assert_true(h.stale);
	assert_false(h.win_sent);
	assert_true(h.fetched);
	assert_int_equal(h.nbytes, 3);
	assert_memory_equal(h.value, "val", 3);
	assert_int_equal(h.cas, cas1);
	assert_int_equal(h.exptime - store_shard_now(s), 100);
	o = (struct store_invalidate_opts){
		.stale = true, .set_exptime = true, .exptime = 30, .explicit_cas = 4242};
	assert_status(store_meta_invalidate(s, &k, &o, &cas1), STORE_DELETED);
	assert_int_equal(cas1, 4242);
	h = get(s, "a", true);
	assert_int_equal(h.exptime - store_shard_now(s), 30);
	assert_int_equal(h.cas, 4242);
	k = key_s("missing");
	assert_status(store_meta_invalidate(s, &k, &o, NULL), STORE_NOT_FOUND);
}

/* md x: empty value, flags from F, exptime T or never, not stale without I. */
static void
test_clear_value(void **state)
{
	struct store_shard *s = *state;
	struct store_key k = key_s("a");
	struct store_invalidate_opts o = {.clear_value = true, .client_flags = 9};
	struct store_hit h;

	set(s, "a", "value", 100);
	assert_status(store_meta_invalidate(s, &k, &o, NULL), STORE_DELETED);
	h = get(s, "a", true);
	assert_status(h.status, STORE_HIT);
	assert_int_equal(h.nbytes, 0);
	assert_int_equal(h.client_flags, 9);
	assert_int_equal(h.exptime, 0);
	assert_false(h.stale);
	o.stale = true;
	o.set_exptime = true;
	o.exptime = 20;
	assert_status(store_meta_invalidate(s, &k, &o, NULL), STORE_DELETED);
	h = get(s, "a", true);
	assert_true(h.stale);
	assert_int_equal(h.exptime - store_shard_now(s), 20);
}

/* ms I: an older cas stores as stale, keeping exptime and token; newer is EXISTS. */
static void
test_commit_stale_and_explicit(void **state)
{
	struct store_shard *s = *state;
	struct store_put_opts o = {.stale_if_older = true};
	uint64_t cas0 = set(s, "a", "v1", 50);
	uint64_t cas;
	struct store_hit h = get(s, "a", true);

	assert_true(store_hit_claim_win(&h));
	o.cas_in = cas0 + 5;
	assert_status(put_meta(s, "a", STORE_MODE_CAS, "x", &o, &cas), STORE_EXISTS);
	o.cas_in = cas0 - 1;
	assert_status(put_meta(s, "a", STORE_MODE_CAS, "v2", &o, &cas), STORE_STORED);
	h = get(s, "a", true);
	assert_true(h.stale);
	assert_true(h.win_sent);
	assert_int_equal(h.exptime - store_shard_now(s), 50);
	assert_memory_equal(h.value, "v2", 2);
	/* Matching cas: a normal store. Explicit cas E. */
	o = (struct store_put_opts){.cas_in = h.cas, .explicit_cas = 777};
	assert_status(put_meta(s, "a", STORE_MODE_CAS, "v3", &o, &cas), STORE_STORED);
	assert_int_equal(cas, 777);
	h = get(s, "a", true);
	assert_false(h.stale);
	assert_int_equal(h.cas, 777);
	/* Append compares a non-zero cas. */
	o = (struct store_put_opts){.cas_in = 1};
	assert_status(put_meta(s, "a", STORE_MODE_APPEND, "z", &o, &cas), STORE_EXISTS);
	o.cas_in = 777;
	assert_status(put_meta(s, "a", STORE_MODE_APPEND, "z", &o, &cas), STORE_STORED);
	h = get(s, "a", true);
	assert_memory_equal(h.value, "v3z", 3);
	assert_status(put_meta(s, "b", STORE_MODE_CAS, "z", &o, &cas), STORE_NOT_FOUND);
	assert_status(put_meta(s, "b", STORE_MODE_SET, "z", NULL, &cas), STORE_STORED);
}

/* Vivify links an empty item whose token is taken; gat keeps the before-access state. */
static void
test_vivify_and_gat(void **state)
{
	struct store_shard *s = *state;
	struct store_key k = key_s("a");
	struct store_hit h;

	assert_status(store_meta_vivify(s, &k, 30, 0, &h), STORE_STORED);
	assert_int_equal(h.nbytes, 0);
	assert_false(h.fetched);
	assert_int_equal(h.exptime - store_shard_now(s), 30);
	assert_false(store_hit_claim_win(&h));
	h = get(s, "a", false);
	assert_true(h.win_sent);
	assert_true(h.fetched);
	assert_status(store_meta_gat(s, &k, 90, true, &h), STORE_HIT);
	assert_int_equal(h.exptime - store_shard_now(s), 90);
	k = key_s("b");
	assert_status(store_meta_vivify(s, &k, 0, 99, &h), STORE_STORED);
	assert_int_equal(h.cas, 99);
	assert_int_equal(h.exptime, 0);
	assert_status(store_meta_gat(s, &k, 10, true, &h), STORE_HIT);
}

/* ma: cas first, vivify holds the initial value, T and E applied. */
static void
test_arith(void **state)
{
	struct store_shard *s = *state;
	struct store_key k = key_s("n");
	struct store_arith_opts o = {.vivify = true, .initial = 13, .vivify_exptime = 100};
	struct store_arith_result r;
	uint32_t cls, size;
	struct store_hit h;

	assert_status(store_meta_arith(s, &k, true, 1, &(struct store_arith_opts){0}, &r),
		      STORE_NOT_FOUND);
	assert_status(store_meta_arith(s, &k, true, 1, &o, &r), STORE_STORED);
	assert_int_equal(r.value, 13);
	assert_int_equal(r.exptime - store_shard_now(s), 100);
	o = (struct store_arith_opts){.cas_in = r.cas + 1};
	assert_status(store_meta_arith(s, &k, true, 1, &o, &r), STORE_EXISTS);
	o = (struct store_arith_opts){
		.cas_in = r.cas, .explicit_cas = 555, .set_exptime = true, .exptime = 0};
	assert_status(store_meta_arith(s, &k, false, 20, &o, &r), STORE_OK);
	assert_int_equal(r.value, 0);
	assert_int_equal(r.cas, 555);
	assert_int_equal(r.exptime, 0);
	h = get(s, "n", true);
	assert_memory_equal(h.value, "0 ", 2);
	store_hit_item_size(&h, &cls, &size);
	assert_int_equal(size, sizeof(struct item) + 1 + 2);
	set(s, "t", "abc", 0);
	k = key_s("t");
	assert_status(store_meta_arith(s, &k, true, 1, &(struct store_arith_opts){0}, &r),
		      STORE_NON_NUMERIC);
}

/*
 * Issue 12: a flush_all must not be decided by cas values, which meta E lets a client
 * choose. Items stored with a small explicit cas right after a flush stay readable; an item
 * stored with a huge one just before it is flushed; a second flush in the same second hides
 * what was stored between the two.
 */
static void
test_explicit_cas_after_flush(void **state)
{
	struct store_shard *s = *state;
	struct store_put_opts big = {.explicit_cas = UINT64_MAX - 1};
	struct store_put_opts one = {.explicit_cas = 1};
	struct store_arith_opts ma = {.explicit_cas = 3};
	struct store_invalidate_opts md = {.stale = true, .explicit_cas = 5};
	struct store_arith_result r;
	struct store_key k;
	struct store_hit h;
	uint64_t cas;

	set(s, "old", "v", 0);
	set(s, "n", "5", 0);
	assert_status(put_meta(s, "huge", STORE_MODE_SET, "v", &big, &cas), STORE_STORED);
	store_flush(s, 0);
	assert_status(get(s, "old", false).status, STORE_FLUSHED);
	assert_status(get(s, "huge", false).status, STORE_FLUSHED);

	/* ms k E1 after the flush, in the same second. */
	assert_status(put_meta(s, "e1", STORE_MODE_SET, "hi", &one, &cas), STORE_STORED);
	h = get(s, "e1", false);
	assert_status(h.status, STORE_HIT);
	assert_int_equal(h.cas, 1);
	/* ma E3 on an item stored after the flush. */
	set(s, "n", "5", 0);
	k = key_s("n");
	assert_status(store_meta_arith(s, &k, true, 1, &ma, &r), STORE_OK);
	h = get(s, "n", false);
	assert_status(h.status, STORE_HIT);
	assert_int_equal(h.cas, 3);
	assert_memory_equal(h.value, "6", 1);
	/* md I E5 and mg N E7: the copies they link are visible too. */
	k = key_s("e1");
	assert_status(store_meta_invalidate(s, &k, &md, NULL), STORE_DELETED);
	assert_status(get(s, "e1", false).status, STORE_HIT);
	k = key_s("viv");
	assert_status(store_meta_vivify(s, &k, 0, 7, &h), STORE_STORED);
	assert_status(get(s, "viv", false).status, STORE_HIT);

	/* A second flush in the same second hides what the first one let through. */
	store_flush(s, 0);
	assert_status(get(s, "e1", false).status, STORE_FLUSHED);
	assert_status(get(s, "n", false).status, STORE_FLUSHED);
	assert_status(get(s, "viv", false).status, STORE_FLUSHED);
	assert_status(put_meta(s, "e1", STORE_MODE_SET, "again", &one, &cas), STORE_STORED);
	assert_status(get(s, "e1", false).status, STORE_HIT);
	nc_clock_advance(&env.clock, 1);
	assert_status(get(s, "e1", false).status, STORE_HIT);
	assert_status(get(s, "huge", false).status, STORE_FLUSHED);
	assert_status(put_meta(s, "huge", STORE_MODE_SET, "v", &big, &cas), STORE_STORED);
	assert_status(get(s, "huge", false).status, STORE_HIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_before_access_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_win_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_stale_and_explicit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vivify_and_gat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arith, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_cas_after_flush, setup, teardown),
	};
	int rc;

	test_eal_init("0", 64);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return rc;
}
