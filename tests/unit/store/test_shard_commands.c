/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached 1.6 semantics of every storage command of the shard API (store/shard.h):
 * get/gets, bulk get, set/add/replace/append/prepend/cas, incr/decr, touch, gat, delete,
 * flush_all, exptime rules, counters and the alloc/commit path.
 *
 * Each test gets a fresh fake clock (TEST_UNIX_START), CAS source and shard.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/item.h"
#include "test_env.h"

/* Item memory of the shard each test gets: room for several 1 MiB items. */
#define SHARD_MEM (16u << 20)
/* The default -I: the largest item, header included. */
#define ITEM_MAX ((size_t)1 << 20)
#define DAY (24u * 60u * 60u)
#define YEAR (365u * DAY)

static struct test_env env;

/* ---- helpers ---- */

/* Compare statuses by name, so a failure reads "NOT_STORED" != "STORED". */
#define assert_status(actual, expected) \
	assert_string_equal(store_status_name(actual), store_status_name(expected))

static struct store_key
key_n(const void *key, size_t len)
{
	struct store_key k;

	store_key_init(&k, &env.digest_key, key, (uint32_t)len);
	return k;
}

static struct store_key
key_s(const char *key)
{
	return key_n(key, strlen(key));
}

static enum store_status
put_n(struct store_shard *s, const char *key, enum store_mode mode, const void *val,
      size_t len, uint32_t flags, int64_t exptime, uint64_t cas_in, uint64_t *cas_out)
{
	struct store_key k = key_s(key);

	return test_put(s, &k, mode, val, (uint32_t)len, flags, exptime, cas_in, cas_out);
}

static enum store_status
put(struct store_shard *s, const char *key, enum store_mode mode, const char *val,
    uint32_t flags, int64_t exptime)
{
	return put_n(s, key, mode, val, strlen(val), flags, exptime, 0, NULL);
}

static enum store_status
set(struct store_shard *s, const char *key, const char *val)
{
	return put(s, key, STORE_MODE_SET, val, 0, 0);
}

static enum store_status
set_exp(struct store_shard *s, const char *key, const char *val, int64_t exptime)
{
	return put(s, key, STORE_MODE_SET, val, 0, exptime);
}

static enum store_status
cas_put(struct store_shard *s, const char *key, const char *val, uint64_t cas_in,
	uint64_t *cas_out)
{
	return put_n(s, key, STORE_MODE_CAS, val, strlen(val), 0, 0, cas_in, cas_out);
}

static enum store_status
get(struct store_shard *s, const char *key, struct store_hit *hit)
{
	struct store_key k = key_s(key);
	struct store_hit local;

	return store_get(s, &k, hit != NULL ? hit : &local);
}

static uint64_t
get_cas(struct store_shard *s, const char *key)
{
	struct store_hit hit;

	assert_status(get(s, key, &hit), STORE_HIT);
	return hit.cas;
}

static enum store_status
arith(struct store_shard *s, const char *key, bool incr, uint64_t delta, uint64_t *value_out)
{
	struct store_key k = key_s(key);
	enum store_status st = STORE_NO_MEMORY;

	for (int i = 0; i < 1000 && st == STORE_NO_MEMORY; i++) {
		st = store_arith(s, &k, incr, delta, value_out, NULL);
		if (st == STORE_NO_MEMORY) {
			rcu_quiescent_state();
			store_shard_maintain(s, 0);
		}
	}
	return st;
}

static enum store_status
touch(struct store_shard *s, const char *key, int64_t exptime)
{
	struct store_key k = key_s(key);

	return store_touch(s, &k, exptime);
}

static enum store_status
del(struct store_shard *s, const char *key, uint64_t cas_in)
{
	struct store_key k = key_s(key);

	return store_delete(s, &k, cas_in);
}

static enum store_status
gat(struct store_shard *s, const char *key, int64_t exptime, struct store_hit *hit)
{
	struct store_key k = key_s(key);
	struct store_hit local;

	return store_gat(s, &k, exptime, hit != NULL ? hit : &local);
}

static void
advance(uint32_t seconds)
{
	nc_clock_advance(&env.clock, seconds);
}

static struct store_shard_stats
stats(const struct store_shard *s)
{
	struct store_shard_stats st;

	store_shard_stats_get(s, &st);
	return st;
}

/* The key reads as exactly val[0..len), whatever the flags. */
#define assert_value_n(s, key, val, len)                               \
	do {                                                           \
		struct store_hit h_;                                   \
		assert_status(get((s), (key), &h_), STORE_HIT);        \
		assert_int_equal(h_.nbytes, (len));                    \
		assert_memory_equal(test_hit_flat(&h_), (val), (len));  \
	} while (0)

#define assert_value(s, key, val) assert_value_n((s), (key), (val), strlen(val))

/* The key is a miss (any of MISS, EXPIRED, FLUSHED). */
#define assert_miss(s, key)                                                    \
	do {                                                                   \
		enum store_status st_ = get((s), (key), NULL);                \
		assert_true(st_ == STORE_MISS || st_ == STORE_EXPIRED ||       \
			    st_ == STORE_FLUSHED);                             \
	} while (0)

/*
 * Heap buffers of the running test, freed by teardown so that a failed assertion (which
 * leaves the test early) leaks nothing.
 */
static void *owned[8];
static unsigned nowned;
/* A second shard of the running test, destroyed by teardown. */
static struct store_shard *extra_shard;

static void *
test_alloc(size_t len)
{
	void *p;

	assert_true(nowned < sizeof(owned) / sizeof(owned[0]));
	p = calloc(1, len ? len : 1);
	assert_non_null(p);
	owned[nowned++] = p;
	return p;
}

/* A buffer of @p len bytes with a position-dependent pattern (seeded by @p seed). */
static char *
pattern(size_t len, unsigned seed)
{
	char *p = test_alloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (char)((i * 31u + seed * 7u + (i >> 9)) & 0xff);
	return p;
}

/* Largest value that fits -I with a key of @p nkey bytes. */
static size_t
value_max(size_t nkey)
{
	return ITEM_MAX - item_total_size(nkey, 0);
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
	if (extra_shard != NULL) {
		test_shard_settle(extra_shard);
		store_shard_destroy(&extra_shard);
	}
	while (nowned > 0)
		free(owned[--nowned]);
	test_env_fini(&env);
	return 0;
}

/* ---- get / gets ---- */

static void
test_get_miss(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;

	assert_status(get(s, "nope", &hit), STORE_MISS);
	assert_status(hit.status, STORE_MISS);
	assert_null(hit.it);
}

static void
test_get_hit_returns_value_flags_cas(void **state)
{
	struct store_shard *s = *state;
	static const uint32_t flags[] = {0, 1, 7, 0x7fffffffu, 0x80000000u, 0xdeadbeefu,
					 0xffffffffu};
	struct store_hit hit;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		uint64_t cas = 0;

		assert_status(put_n(s, "k", STORE_MODE_SET, "value", 5, flags[i], 0, 0, &cas),
			      STORE_STORED);
		assert_true(cas != 0);
		assert_status(get(s, "k", &hit), STORE_HIT);
		assert_status(hit.status, STORE_HIT);
		assert_non_null(hit.it);
		assert_int_equal(hit.nbytes, 5);
		assert_memory_equal(hit.value, "value", 5);
		assert_true(hit.client_flags == flags[i]);
		assert_true(hit.cas == cas);
		assert_int_equal(hit.exptime, 0);
	}
}

static void
test_cas_changes_on_every_store(void **state)
{
	struct store_shard *s = *state;
	uint64_t seen[16];
	unsigned n = 0;
	uint64_t cas = 0, v;

	assert_status(put_n(s, "c", STORE_MODE_SET, "1", 1, 0, 0, 0, &cas), STORE_STORED);
	seen[n++] = cas;
	assert_status(put_n(s, "c", STORE_MODE_SET, "1", 1, 0, 0, 0, &cas), STORE_STORED);
	seen[n++] = cas;
	assert_status(put_n(s, "c", STORE_MODE_REPLACE, "2", 1, 0, 0, 0, &cas), STORE_STORED);
	seen[n++] = cas;
	assert_status(put_n(s, "c", STORE_MODE_APPEND, "3", 1, 0, 0, 0, &cas), STORE_STORED);
	seen[n++] = cas;
	assert_status(put_n(s, "c", STORE_MODE_PREPEND, "4", 1, 0, 0, 0, &cas), STORE_STORED);
	seen[n++] = cas;
	assert_status(put_n(s, "c", STORE_MODE_CAS, "5", 1, 0, 0, cas, &cas), STORE_STORED);
	seen[n++] = cas;
	assert_status(arith(s, "c", true, 1, &v), STORE_OK);
	seen[n++] = get_cas(s, "c");
	assert_status(arith(s, "c", false, 1, &v), STORE_OK);
	seen[n++] = get_cas(s, "c");
	assert_status(del(s, "c", 0), STORE_DELETED);
	assert_status(put_n(s, "c", STORE_MODE_ADD, "6", 1, 0, 0, 0, &cas), STORE_STORED);
	seen[n++] = cas;
	assert_true(get_cas(s, "c") == cas);

	for (unsigned i = 0; i < n; i++) {
		assert_true(seen[i] != 0);
		for (unsigned j = 0; j < i; j++)
			assert_true(seen[i] != seen[j]);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_cas_unique_across_shards_sharing_source(void **state)
{
	struct store_shard *a = *state;
	struct store_shard *b = extra_shard = test_shard_create(&env, 8u << 20);
	/* More than two NC_CAS_BLOCK leases per shard, interleaved. */
	enum { PER_SHARD = 2 * NC_CAS_BLOCK + 500 };
	uint64_t *all = test_alloc(2 * PER_SHARD * sizeof(*all));
	unsigned n = 0;

	for (unsigned i = 0; i < PER_SHARD; i++) {
		char key[32];
		uint64_t cas = 0;

		snprintf(key, sizeof(key), "key-%u", i % 700);
		assert_status(put_n(a, key, STORE_MODE_SET, "x", 1, 0, 0, 0, &cas),
			      STORE_STORED);
		all[n++] = cas;
		assert_status(put_n(b, key, STORE_MODE_SET, "y", 1, 0, 0, 0, &cas),
			      STORE_STORED);
		all[n++] = cas;
		if (i % 64 == 0) {
			rcu_quiescent_state();
			store_shard_maintain(a, 0);
			store_shard_maintain(b, 0);
		}
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	assert_true(all[0] != 0);
	for (unsigned i = 1; i < n; i++)
		assert_true(all[i] != all[i - 1]);
}

static void
test_get_bulk_64_mixed_hits_misses_expired_flushed(void **state)
{
	struct store_shard *s = *state;
	enum { N = 64 };
	char names[N][16];
	char vals[N][16];
	struct store_key keys[N];
	const struct store_key *kp[N];
	struct store_hit hits[N];
	unsigned want_hits = 0;

	assert_true(N <= INDEX_BULK_MAX);
	for (unsigned i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "bulk-%02u", i);
		snprintf(vals[i], sizeof(vals[i]), "val-%u", i * 3);
		keys[i] = key_s(names[i]);
		kp[i] = &keys[i];
	}
	/* i % 4: 0 hit, 1 never stored, 2 expired, 3 flushed. */
	for (unsigned i = 3; i < N; i += 4)
		assert_status(set(s, names[i], vals[i]), STORE_STORED);
	store_flush(s, 0);
	for (unsigned i = 0; i < N; i += 4) {
		assert_status(put(s, names[i], STORE_MODE_SET, vals[i], i, 0), STORE_STORED);
		want_hits++;
	}
	for (unsigned i = 2; i < N; i += 4)
		assert_status(set_exp(s, names[i], vals[i], 1), STORE_STORED);
	advance(1);

	assert_int_equal(store_get_bulk(s, kp, N, hits), want_hits);
	for (unsigned i = 0; i < N; i++) {
		struct store_hit one;

		switch (i % 4) {
		case 0:
			assert_status(hits[i].status, STORE_HIT);
			assert_int_equal(hits[i].nbytes, strlen(vals[i]));
			assert_memory_equal(hits[i].value, vals[i], hits[i].nbytes);
			assert_int_equal(hits[i].client_flags, i);
			assert_true(hits[i].cas != 0);
			break;
		case 1:
			assert_status(hits[i].status, STORE_MISS);
			assert_null(hits[i].it);
			break;
		case 2:
			assert_status(hits[i].status, STORE_EXPIRED);
			assert_null(hits[i].it);
			break;
		default:
			assert_status(hits[i].status, STORE_FLUSHED);
			assert_null(hits[i].it);
			break;
		}
		/* The burst agrees with single lookups. */
		assert_status(store_get(s, &keys[i], &one), hits[i].status);
		if (one.status == STORE_HIT)
			assert_true(one.cas == hits[i].cas);
	}
}

static void
test_zero_length_value(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;

	assert_status(put_n(s, "empty", STORE_MODE_SET, "", 0, 5, 0, 0, NULL), STORE_STORED);
	assert_status(get(s, "empty", &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, 0);
	assert_int_equal(hit.client_flags, 5);
	/* Appending and prepending to an empty value, and empty appends. */
	assert_status(put(s, "empty", STORE_MODE_APPEND, "ab", 0, 0), STORE_STORED);
	assert_value(s, "empty", "ab");
	assert_status(put_n(s, "empty", STORE_MODE_PREPEND, "", 0, 0, 0, 0, NULL), STORE_STORED);
	assert_value(s, "empty", "ab");
	assert_status(put_n(s, "empty", STORE_MODE_SET, "", 0, 0, 0, 0, NULL), STORE_STORED);
	assert_value_n(s, "empty", "", 0);
	/* incr on an empty value is not a number. */
	assert_status(arith(s, "empty", true, 1, NULL), STORE_NON_NUMERIC);
}

static void
test_largest_item_fits_one_byte_more_too_large(void **state)
{
	struct store_shard *s = *state;
	size_t max = value_max(3);
	char *big = pattern(max + 1, 1);
	struct store_hit hit;

	assert_true(item_total_size(3, max) == ITEM_MAX);
	assert_status(put_n(s, "big", STORE_MODE_SET, big, max, 0, 0, 0, NULL), STORE_STORED);
	assert_status(get(s, "big", &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, max);
	assert_memory_equal(test_hit_flat(&hit), big, max);
	/* One byte more does not fit, for every mode. */
	assert_status(put_n(s, "big2", STORE_MODE_SET, big, max + 1, 0, 0, 0, NULL),
		      STORE_TOO_LARGE);
	assert_status(put_n(s, "big2", STORE_MODE_ADD, big, max + 1, 0, 0, 0, NULL),
		      STORE_TOO_LARGE);
	assert_status(get(s, "big2", NULL), STORE_MISS);
	/* A longer key leaves less room for the value. */
	assert_status(put_n(s, "big22", STORE_MODE_SET, big, max - 1, 0, 0, 0, NULL),
		      STORE_TOO_LARGE);
	assert_status(put_n(s, "big22", STORE_MODE_SET, big, max - 2, 0, 0, 0, NULL),
		      STORE_STORED);
	assert_value_n(s, "big", big, max);
}

static void
test_set_too_large_removes_old_value(void **state)
{
	struct store_shard *s = *state;
	size_t max = value_max(1);
	char *big = pattern(max + 1, 2);

	/*
	 * memcached 1.6 process_update_command(): when the item cannot be allocated (too large
	 * or out of memory) a SET unlinks the existing item ("Avoid stale data persisting in
	 * cache because we failed alloc. Unacceptable for SET."). Other modes leave it alone.
	 */
	assert_status(set(s, "k", "old"), STORE_STORED);
	assert_status(set(s, "r", "old"), STORE_STORED);
	assert_status(put_n(s, "r", STORE_MODE_REPLACE, big, max + 1, 0, 0, 0, NULL),
		      STORE_TOO_LARGE);
	assert_value(s, "r", "old");
	assert_status(put_n(s, "k", STORE_MODE_SET, big, max + 1, 0, 0, 0, NULL),
		      STORE_TOO_LARGE);
	assert_status(get(s, "k", NULL), STORE_MISS);
}

static void
test_key_250_ok_251_too_long(void **state)
{
	struct store_shard *s = *state;
	char key[STORE_KEY_MAX + 2];
	struct store_key k250, k251;
	struct store_hit hit;
	enum store_status st;

	memset(key, 'k', sizeof(key));
	assert_int_equal(STORE_KEY_MAX, 250);
	k250 = key_n(key, 250);
	k251 = key_n(key, 251);
	assert_status(test_put(s, &k250, STORE_MODE_SET, "v250", 4, 0, 0, 0, NULL),
		      STORE_STORED);
	assert_status(store_get(s, &k250, &hit), STORE_HIT);
	assert_memory_equal(hit.value, "v250", 4);
	assert_memory_equal(item_key(hit.it), key, 250);
	assert_int_equal(hit.it->nkey, 250);

	assert_status(test_put(s, &k251, STORE_MODE_SET, "v251", 4, 0, 0, 0, NULL),
		      STORE_KEY_TOO_LONG);
	assert_status(test_put(s, &k251, STORE_MODE_ADD, "v251", 4, 0, 0, 0, NULL),
		      STORE_KEY_TOO_LONG);
	assert_null(store_item_alloc(s, &k251, 0, 0, 4, &st));
	assert_status(st, STORE_KEY_TOO_LONG);
	assert_status(store_get(s, &k251, &hit), STORE_MISS);
	/* The 250-byte key is untouched. */
	assert_status(store_get(s, &k250, &hit), STORE_HIT);
	assert_memory_equal(hit.value, "v250", 4);
}

static void
test_binary_keys_and_values_with_nul(void **state)
{
	struct store_shard *s = *state;
	static const char k1[] = {'a', '\0', 'b'};
	static const char k2[] = {'a', '\0', 'c'};
	static const char k3[] = {'a'};
	static const char v1[] = {'x', '\0', 'y', '\0'};
	static const char v2[] = {'\0', '\0', '\0'};
	static const char v3[] = {'\r', '\n', '\0', '\xff', ' '};
	struct store_key a = key_n(k1, sizeof(k1)), b = key_n(k2, sizeof(k2));
	struct store_key c = key_n(k3, sizeof(k3));
	struct store_hit hit;

	assert_status(test_put(s, &a, STORE_MODE_SET, v1, sizeof(v1), 0, 0, 0, NULL),
		      STORE_STORED);
	assert_status(test_put(s, &b, STORE_MODE_SET, v2, sizeof(v2), 0, 0, 0, NULL),
		      STORE_STORED);
	assert_status(test_put(s, &c, STORE_MODE_SET, v3, sizeof(v3), 0, 0, 0, NULL),
		      STORE_STORED);
	assert_status(store_get(s, &a, &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, sizeof(v1));
	assert_memory_equal(hit.value, v1, sizeof(v1));
	assert_status(store_get(s, &b, &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, sizeof(v2));
	assert_memory_equal(hit.value, v2, sizeof(v2));
	assert_status(store_get(s, &c, &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, sizeof(v3));
	assert_memory_equal(hit.value, v3, sizeof(v3));
	/* Binary append keeps every byte. */
	assert_status(test_put(s, &a, STORE_MODE_APPEND, v2, sizeof(v2), 0, 0, 0, NULL),
		      STORE_STORED);
	assert_status(store_get(s, &a, &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, sizeof(v1) + sizeof(v2));
	assert_memory_equal(hit.value, v1, sizeof(v1));
	assert_memory_equal(hit.value + sizeof(v1), v2, sizeof(v2));
	/* Deleting one binary key leaves its near twins. */
	assert_status(store_delete(s, &a, 0), STORE_DELETED);
	assert_status(store_get(s, &a, &hit), STORE_MISS);
	assert_status(store_get(s, &b, &hit), STORE_HIT);
	assert_status(store_get(s, &c, &hit), STORE_HIT);
}

/* ---- set / add / replace / append / prepend / cas ---- */

static void
test_set_overwrites_value_cas_flags(void **state)
{
	struct store_shard *s = *state;
	uint64_t cas1 = 0, cas2 = 0;
	struct store_hit hit;

	assert_status(put_n(s, "k", STORE_MODE_SET, "first", 5, 1, 100, 0, &cas1),
		      STORE_STORED);
	assert_status(put_n(s, "k", STORE_MODE_SET, "second!", 7, 2, 0, 0, &cas2),
		      STORE_STORED);
	assert_true(cas1 != cas2);
	assert_status(get(s, "k", &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, 7);
	assert_memory_equal(hit.value, "second!", 7);
	assert_int_equal(hit.client_flags, 2);
	assert_true(hit.cas == cas2);
	/* The new exptime (0: never) replaces the old one. */
	assert_int_equal(hit.exptime, 0);
	advance(200);
	assert_value(s, "k", "second!");
	assert_int_equal(stats(s).curr_items, 1);
}

static void
test_add_existing_not_stored(void **state)
{
	struct store_shard *s = *state;
	uint64_t cas = 0, cas_out = 12345;
	struct store_hit hit;

	assert_status(put_n(s, "k", STORE_MODE_SET, "orig", 4, 3, 0, 0, &cas), STORE_STORED);
	assert_status(put_n(s, "k", STORE_MODE_ADD, "new", 3, 4, 0, 0, &cas_out),
		      STORE_NOT_STORED);
	assert_true(cas_out == 12345); /* untouched when not stored */
	assert_status(get(s, "k", &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, 4);
	assert_memory_equal(hit.value, "orig", 4);
	assert_int_equal(hit.client_flags, 3);
	assert_true(hit.cas == cas);
}

static void
test_add_missing_stored(void **state)
{
	struct store_shard *s = *state;
	uint64_t cas = 0;
	struct store_hit hit;

	assert_status(put_n(s, "k", STORE_MODE_ADD, "v", 1, 9, 0, 0, &cas), STORE_STORED);
	assert_status(get(s, "k", &hit), STORE_HIT);
	assert_memory_equal(hit.value, "v", 1);
	assert_int_equal(hit.client_flags, 9);
	assert_true(hit.cas == cas);
}

static void
test_add_on_expired_key_stored(void **state)
{
	struct store_shard *s = *state;

	assert_status(set_exp(s, "k", "old", 5), STORE_STORED);
	advance(5);
	assert_status(get(s, "k", NULL), STORE_EXPIRED);
	assert_status(put(s, "k", STORE_MODE_ADD, "new", 0, 0), STORE_STORED);
	assert_value(s, "k", "new");
	advance(YEAR);
	assert_value(s, "k", "new");
}

static void
test_replace_missing_not_stored_existing_stored(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;

	assert_status(put(s, "k", STORE_MODE_REPLACE, "v", 0, 0), STORE_NOT_STORED);
	assert_status(get(s, "k", NULL), STORE_MISS);
	assert_status(put(s, "k", STORE_MODE_SET, "v1", 1, 0), STORE_STORED);
	assert_status(put(s, "k", STORE_MODE_REPLACE, "v2", 2, 0), STORE_STORED);
	assert_status(get(s, "k", &hit), STORE_HIT);
	assert_memory_equal(hit.value, "v2", 2);
	assert_int_equal(hit.client_flags, 2);
}

static void
test_append_prepend_missing_not_stored(void **state)
{
	struct store_shard *s = *state;

	assert_status(put(s, "k", STORE_MODE_APPEND, "x", 0, 0), STORE_NOT_STORED);
	assert_status(put(s, "k", STORE_MODE_PREPEND, "x", 0, 0), STORE_NOT_STORED);
	assert_status(get(s, "k", NULL), STORE_MISS);
	assert_int_equal(stats(s).curr_items, 0);
}

static void
test_append_prepend_concat_keep_old_flags_exptime(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;
	nc_reltime_t exp;
	uint64_t cas0, cas1 = 0;

	assert_status(put(s, "k", STORE_MODE_SET, "mid", 7, 100), STORE_STORED);
	assert_status(get(s, "k", &hit), STORE_HIT);
	exp = hit.exptime;
	cas0 = hit.cas;
	assert_int_equal(exp, store_shard_now(s) + 100);

	assert_status(put_n(s, "k", STORE_MODE_APPEND, "end", 3, 99, 0, 0, &cas1), STORE_STORED);
	assert_true(cas1 != cas0);
	assert_status(get(s, "k", &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, 6);
	assert_memory_equal(hit.value, "midend", 6);
	assert_int_equal(hit.client_flags, 7);
	assert_int_equal(hit.exptime, exp);
	assert_true(hit.cas == cas1);

	assert_status(put(s, "k", STORE_MODE_PREPEND, "pre", 1, 5), STORE_STORED);
	assert_status(get(s, "k", &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, 9);
	assert_memory_equal(hit.value, "premidend", 9);
	assert_int_equal(hit.client_flags, 7);
	assert_int_equal(hit.exptime, exp);

	/* The kept exptime is the one that counts. */
	advance(99);
	assert_value(s, "k", "premidend");
	advance(1);
	assert_status(get(s, "k", NULL), STORE_EXPIRED);

	/* A permanent item stays permanent whatever exptime the append carries. */
	assert_status(put(s, "p", STORE_MODE_SET, "a", 0xffffffffu, 0), STORE_STORED);
	assert_status(put(s, "p", STORE_MODE_APPEND, "b", 0, 1), STORE_STORED);
	assert_status(put(s, "p", STORE_MODE_PREPEND, "c", 0, -1), STORE_STORED);
	assert_status(get(s, "p", &hit), STORE_HIT);
	assert_int_equal(hit.exptime, 0);
	assert_true(hit.client_flags == 0xffffffffu);
	advance(YEAR);
	assert_value(s, "p", "cab");
}

static void
test_append_beyond_item_max_too_large_old_intact(void **state)
{
	struct store_shard *s = *state;
	size_t max = value_max(3);
	char *big = pattern(max, 3);
	uint64_t cas;
	struct store_hit hit;

	assert_status(put_n(s, "big", STORE_MODE_SET, big, max - 10, 4, 0, 0, NULL),
		      STORE_STORED);
	cas = get_cas(s, "big");
	assert_status(put_n(s, "big", STORE_MODE_APPEND, "0123456789X", 11, 0, 0, 0, NULL),
		      STORE_TOO_LARGE);
	assert_status(put_n(s, "big", STORE_MODE_PREPEND, "0123456789X", 11, 0, 0, 0, NULL),
		      STORE_TOO_LARGE);
	assert_status(get(s, "big", &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, max - 10);
	assert_memory_equal(test_hit_flat(&hit), big, max - 10);
	assert_int_equal(hit.client_flags, 4);
	assert_true(hit.cas == cas);
	/* Exactly filling -I is fine. */
	assert_status(put_n(s, "big", STORE_MODE_APPEND, "0123456789", 10, 0, 0, 0, NULL),
		      STORE_STORED);
	assert_status(get(s, "big", &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, max);
	assert_memory_equal(test_hit_flat(&hit), big, max - 10);
	assert_memory_equal(test_hit_flat(&hit) + max - 10, "0123456789", 10);
}

static void
test_cas_not_found_exists_stored(void **state)
{
	struct store_shard *s = *state;
	uint64_t cas = 0, cas2 = 0;
	struct store_hit hit;

	assert_status(cas_put(s, "k", "v", 1, NULL), STORE_NOT_FOUND);
	assert_status(get(s, "k", NULL), STORE_MISS);

	assert_status(put_n(s, "k", STORE_MODE_SET, "orig", 4, 0, 0, 0, &cas), STORE_STORED);
	assert_status(cas_put(s, "k", "bad", cas + 1, NULL), STORE_EXISTS);
	assert_status(cas_put(s, "k", "bad", 0, NULL), STORE_EXISTS);
	assert_status(get(s, "k", &hit), STORE_HIT);
	assert_memory_equal(hit.value, "orig", 4);
	assert_true(hit.cas == cas);

	assert_status(put_n(s, "k", STORE_MODE_CAS, "good", 4, 6, 0, cas, &cas2), STORE_STORED);
	assert_true(cas2 != cas);
	assert_status(get(s, "k", &hit), STORE_HIT);
	assert_memory_equal(hit.value, "good", 4);
	assert_int_equal(hit.client_flags, 6);
	assert_true(hit.cas == cas2);
	/* The same cas a second time is stale now. */
	assert_status(cas_put(s, "k", "again", cas, NULL), STORE_EXISTS);
	assert_value(s, "k", "good");
}

static void
test_cas_against_replaced_item_exists(void **state)
{
	struct store_shard *s = *state;
	uint64_t old = 0, cur = 0;

	assert_status(put_n(s, "k", STORE_MODE_SET, "one", 3, 0, 0, 0, &old), STORE_STORED);
	assert_status(put_n(s, "k", STORE_MODE_SET, "two", 3, 0, 0, 0, &cur), STORE_STORED);
	assert_status(cas_put(s, "k", "three", old, NULL), STORE_EXISTS);
	assert_value(s, "k", "two");
	/* Deleted and re-added: the old cas is stale too. */
	assert_status(del(s, "k", 0), STORE_DELETED);
	assert_status(put(s, "k", STORE_MODE_ADD, "four", 0, 0), STORE_STORED);
	assert_status(cas_put(s, "k", "five", cur, NULL), STORE_EXISTS);
	assert_value(s, "k", "four");
	/* And the cas of a deleted item finds nothing. */
	cur = get_cas(s, "k");
	assert_status(del(s, "k", 0), STORE_DELETED);
	assert_status(cas_put(s, "k", "six", cur, NULL), STORE_NOT_FOUND);
	assert_status(get(s, "k", NULL), STORE_MISS);
}

/* ---- incr / decr ---- */

static void
test_incr_decr_missing_not_found(void **state)
{
	struct store_shard *s = *state;

	assert_status(arith(s, "n", true, 1, NULL), STORE_NOT_FOUND);
	assert_status(arith(s, "n", false, 1, NULL), STORE_NOT_FOUND);
	assert_status(get(s, "n", NULL), STORE_MISS);
}

static void
test_incr_non_numeric(void **state)
{
	struct store_shard *s = *state;
	static const char *const bad[] = {"abc", "", "12abc", "-5", " ", "0x1", "1.5"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t cas;

		assert_status(set(s, "n", bad[i]), STORE_STORED);
		cas = get_cas(s, "n");
		assert_status(arith(s, "n", true, 1, NULL), STORE_NON_NUMERIC);
		assert_status(arith(s, "n", false, 1, NULL), STORE_NON_NUMERIC);
		/* Untouched. */
		assert_value(s, "n", bad[i]);
		assert_true(get_cas(s, "n") == cas);
	}
}

static void
test_incr_leading_and_trailing_spaces(void **state)
{
	struct store_shard *s = *state;
	uint64_t v = 0;

	assert_status(set(s, "a", "  12"), STORE_STORED);
	assert_status(arith(s, "a", true, 1, &v), STORE_OK);
	assert_true(v == 13);
	assert_value(s, "a", "13  ");

	assert_status(set(s, "b", "12 "), STORE_STORED);
	assert_status(arith(s, "b", true, 1, &v), STORE_OK);
	assert_true(v == 13);
	assert_value(s, "b", "13 ");

	/* Longer than 20 characters is fine while the number itself fits (strtoull). */
	assert_status(set(s, "c", "5                         "), STORE_STORED);
	assert_status(arith(s, "c", true, 1, &v), STORE_OK);
	assert_true(v == 6);
	assert_value(s, "c", "6                         ");
	assert_status(set(s, "d", "0000000000000000000000042"), STORE_STORED);
	assert_status(arith(s, "d", true, 1, &v), STORE_OK);
	assert_true(v == 43);
	assert_value(s, "d", "43                       ");
}

static void
test_incr_wraps_at_2_64(void **state)
{
	struct store_shard *s = *state;
	uint64_t v = 1;

	assert_status(set(s, "m", "18446744073709551615"), STORE_STORED);
	assert_status(arith(s, "m", true, 1, &v), STORE_OK);
	assert_true(v == 0);
	/* In place: the old length is kept, padded with spaces. */
	assert_value(s, "m", "0                   ");

	assert_status(set(s, "w", "18446744073709551614"), STORE_STORED);
	assert_status(arith(s, "w", true, 5, &v), STORE_OK);
	assert_true(v == 3);
	assert_value(s, "w", "3                   ");

	assert_status(set(s, "x", "1"), STORE_STORED);
	assert_status(arith(s, "x", true, UINT64_MAX, &v), STORE_OK);
	assert_true(v == 0);
	assert_value(s, "x", "0");
}

static void
test_decr_floors_at_zero(void **state)
{
	struct store_shard *s = *state;
	uint64_t v = 1;

	assert_status(set(s, "d", "5"), STORE_STORED);
	assert_status(arith(s, "d", false, 10, &v), STORE_OK);
	assert_true(v == 0);
	assert_value(s, "d", "0");

	assert_status(set(s, "e", "10"), STORE_STORED);
	assert_status(arith(s, "e", false, UINT64_MAX, &v), STORE_OK);
	assert_true(v == 0);
	assert_value(s, "e", "0 ");
}

static void
test_decr_zero_stays_zero(void **state)
{
	struct store_shard *s = *state;
	uint64_t v = 1;

	assert_status(set(s, "z", "0"), STORE_STORED);
	assert_status(arith(s, "z", false, 1, &v), STORE_OK);
	assert_true(v == 0);
	assert_value(s, "z", "0");
	assert_status(arith(s, "z", false, 0, &v), STORE_OK);
	assert_true(v == 0);
	assert_value(s, "z", "0");
}

static void
test_decr_shorter_result_padded_with_space(void **state)
{
	struct store_shard *s = *state;
	uint64_t v = 0;

	assert_status(set(s, "n", "100"), STORE_STORED);
	assert_status(arith(s, "n", false, 1, &v), STORE_OK);
	assert_true(v == 99);
	/* memcached rewrites in place: "99" then one space, length stays 3. */
	assert_value(s, "n", "99 ");
	/* The padded value is still a number. */
	assert_status(arith(s, "n", false, 90, &v), STORE_OK);
	assert_true(v == 9);
	assert_value(s, "n", "9  ");
	assert_status(arith(s, "n", true, 991, &v), STORE_OK);
	assert_true(v == 1000);
	assert_value(s, "n", "1000");
}

static void
test_incr_longer_result_grows_value(void **state)
{
	struct store_shard *s = *state;
	uint64_t v = 0;

	assert_status(set(s, "n", "99"), STORE_STORED);
	assert_status(arith(s, "n", true, 1, &v), STORE_OK);
	assert_true(v == 100);
	assert_value(s, "n", "100");

	assert_status(set(s, "o", "9"), STORE_STORED);
	assert_status(arith(s, "o", true, 18446744073709551606ULL, &v), STORE_OK);
	assert_true(v == UINT64_MAX);
	assert_value(s, "o", "18446744073709551615");
}

static void
test_incr_decr_twenty_digit_values(void **state)
{
	struct store_shard *s = *state;
	uint64_t v = 0;

	assert_status(set(s, "a", "18446744073709551614"), STORE_STORED);
	assert_status(arith(s, "a", true, 1, &v), STORE_OK);
	assert_true(v == UINT64_MAX);
	assert_value(s, "a", "18446744073709551615");
	assert_status(arith(s, "a", false, 18446744073709551615ULL, &v), STORE_OK);
	assert_true(v == 0);
	assert_value(s, "a", "0                   ");

	assert_status(set(s, "b", "10000000000000000000"), STORE_STORED);
	assert_status(arith(s, "b", false, 1, &v), STORE_OK);
	assert_true(v == 9999999999999999999ULL);
	assert_value(s, "b", "9999999999999999999 ");
}

static void
test_incr_over_twenty_digits_or_overflow_non_numeric(void **state)
{
	struct store_shard *s = *state;
	static const char *const bad[] = {
		"18446744073709551616",  /* 2^64 */
		"99999999999999999999",  /* 20 digits, too big */
		"123456789012345678901", /* 21 digits */
		"100000000000000000000000000000",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_status(set(s, "n", bad[i]), STORE_STORED);
		assert_status(arith(s, "n", true, 1, NULL), STORE_NON_NUMERIC);
		assert_status(arith(s, "n", false, 1, NULL), STORE_NON_NUMERIC);
		assert_value(s, "n", bad[i]);
	}
}

static void
test_incr_changes_cas_keeps_flags_exptime(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;
	uint64_t cas0, cas_out = 0, v = 0;
	nc_reltime_t exp;
	struct store_key k = key_s("n");

	assert_status(put(s, "n", STORE_MODE_SET, "41", 0xfeedfaceu, 100), STORE_STORED);
	assert_status(get(s, "n", &hit), STORE_HIT);
	cas0 = hit.cas;
	exp = hit.exptime;
	assert_int_equal(exp, store_shard_now(s) + 100);

	assert_status(store_arith(s, &k, true, 1, &v, &cas_out), STORE_OK);
	assert_true(v == 42);
	assert_true(cas_out != 0 && cas_out != cas0);
	assert_status(get(s, "n", &hit), STORE_HIT);
	assert_memory_equal(hit.value, "42", 2);
	assert_true(hit.cas == cas_out);
	assert_true(hit.client_flags == 0xfeedfaceu);
	assert_int_equal(hit.exptime, exp);

	/* decr too, and a result that grows. */
	assert_status(put(s, "g", STORE_MODE_SET, "99", 3, 50), STORE_STORED);
	cas0 = get_cas(s, "g");
	assert_status(arith(s, "g", true, 1, NULL), STORE_OK);
	assert_status(get(s, "g", &hit), STORE_HIT);
	assert_true(hit.cas != cas0);
	assert_int_equal(hit.client_flags, 3);
	assert_int_equal(hit.exptime, store_shard_now(s) + 50);
	cas0 = hit.cas;
	assert_status(arith(s, "g", false, 1, NULL), STORE_OK);
	assert_status(get(s, "g", &hit), STORE_HIT);
	assert_true(hit.cas != cas0);
	assert_int_equal(hit.client_flags, 3);

	/* The kept exptime still expires the item. */
	advance(99);
	assert_value(s, "n", "42");
	advance(1);
	assert_status(get(s, "n", NULL), STORE_EXPIRED);
	assert_status(arith(s, "n", true, 1, NULL), STORE_NOT_FOUND);
}

/* ---- touch ---- */

static void
test_touch_missing_not_found(void **state)
{
	struct store_shard *s = *state;

	assert_status(touch(s, "t", 10), STORE_NOT_FOUND);
	assert_status(touch(s, "t", 0), STORE_NOT_FOUND);
	assert_status(get(s, "t", NULL), STORE_MISS);
}

static void
test_touch_short_exptime_expires_at_new_time(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;

	assert_status(set_exp(s, "t", "v", 1000), STORE_STORED);
	assert_status(touch(s, "t", 5), STORE_TOUCHED);
	assert_status(get(s, "t", &hit), STORE_HIT);
	assert_int_equal(hit.exptime, store_shard_now(s) + 5);
	advance(4);
	test_shard_settle(s);
	assert_value(s, "t", "v");
	advance(1);
	assert_status(get(s, "t", NULL), STORE_EXPIRED);
	assert_true(test_shard_settle(s) >= 1);
	assert_status(get(s, "t", NULL), STORE_MISS);
	assert_int_equal(stats(s).curr_items, 0);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
}

static void
test_touch_longer_exptime_survives_old_time(void **state)
{
	struct store_shard *s = *state;

	assert_status(set_exp(s, "t", "v", 5), STORE_STORED);
	assert_status(touch(s, "t", 100), STORE_TOUCHED);
	advance(50);
	assert_int_equal(test_shard_settle(s), 0);
	assert_value(s, "t", "v");
	advance(49);
	test_shard_settle(s);
	assert_value(s, "t", "v");
	advance(1);
	test_shard_settle(s);
	assert_status(get(s, "t", NULL), STORE_MISS);
}

static void
test_touch_zero_makes_item_permanent(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;

	assert_status(set_exp(s, "t", "v", 5), STORE_STORED);
	assert_status(touch(s, "t", 0), STORE_TOUCHED);
	assert_status(get(s, "t", &hit), STORE_HIT);
	assert_int_equal(hit.exptime, 0);
	advance(YEAR);
	assert_int_equal(test_shard_settle(s), 0);
	assert_value(s, "t", "v");
}

static void
test_touch_keeps_cas_value_flags(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;
	uint64_t cas = 0;

	assert_status(put_n(s, "t", STORE_MODE_SET, "val", 3, 77, 10, 0, &cas), STORE_STORED);
	assert_status(touch(s, "t", 20), STORE_TOUCHED);
	assert_status(get(s, "t", &hit), STORE_HIT);
	assert_true(hit.cas == cas);
	assert_int_equal(hit.client_flags, 77);
	assert_memory_equal(hit.value, "val", 3);
	/* A cas taken before the touch still matches. */
	assert_status(cas_put(s, "t", "new", cas, NULL), STORE_STORED);
	/* Touch to a negative exptime expires the item now. */
	assert_status(touch(s, "t", -1), STORE_TOUCHED);
	assert_status(get(s, "t", NULL), STORE_EXPIRED);
}

/* ---- gat ---- */

static void
test_gat_miss(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;

	assert_status(gat(s, "g", 10, &hit), STORE_MISS);
	assert_status(hit.status, STORE_MISS);
	assert_null(hit.it);
	assert_status(get(s, "g", NULL), STORE_MISS);
}

static void
test_gat_hit_returns_value_updates_exptime(void **state)
{
	struct store_shard *s = *state;
	struct store_hit hit;
	uint64_t cas = 0;

	assert_status(put_n(s, "g", STORE_MODE_SET, "gval", 4, 0xffffffffu, 0, 0, &cas),
		      STORE_STORED);
	assert_status(gat(s, "g", 10, &hit), STORE_HIT);
	assert_status(hit.status, STORE_HIT);
	assert_int_equal(hit.nbytes, 4);
	assert_memory_equal(hit.value, "gval", 4);
	assert_true(hit.client_flags == 0xffffffffu);
	assert_true(hit.cas == cas); /* gat does not change the cas */
	assert_int_equal(hit.exptime, store_shard_now(s) + 10);
	assert_status(get(s, "g", &hit), STORE_HIT);
	assert_int_equal(hit.exptime, store_shard_now(s) + 10);
	advance(9);
	assert_value(s, "g", "gval");
	/* gat to 0 makes it permanent again. */
	assert_status(gat(s, "g", 0, &hit), STORE_HIT);
	assert_int_equal(hit.exptime, 0);
	advance(YEAR);
	test_shard_settle(s);
	assert_value(s, "g", "gval");
	/* gat on an expired item is a miss. */
	assert_status(set_exp(s, "h", "x", 1), STORE_STORED);
	advance(1);
	assert_true(gat(s, "h", 100, &hit) != STORE_HIT);
	assert_null(hit.it);
	assert_miss(s, "h");
}

/* ---- delete ---- */

static void
test_delete_missing_not_found_existing_deleted(void **state)
{
	struct store_shard *s = *state;

	assert_status(del(s, "d", 0), STORE_NOT_FOUND);
	assert_status(set(s, "d", "v"), STORE_STORED);
	assert_status(del(s, "d", 0), STORE_DELETED);
	assert_status(get(s, "d", NULL), STORE_MISS);
	assert_status(del(s, "d", 0), STORE_NOT_FOUND);
}

static void
test_delete_with_cas(void **state)
{
	struct store_shard *s = *state;
	uint64_t cas = 0;

	assert_status(put_n(s, "d", STORE_MODE_SET, "v", 1, 0, 0, 0, &cas), STORE_STORED);
	assert_status(del(s, "d", cas + 1), STORE_EXISTS);
	assert_value(s, "d", "v");
	assert_true(get_cas(s, "d") == cas);
	assert_status(del(s, "d", cas), STORE_DELETED);
	assert_status(get(s, "d", NULL), STORE_MISS);
	assert_status(del(s, "d", cas), STORE_NOT_FOUND);
}

static void
test_delete_then_add_stored(void **state)
{
	struct store_shard *s = *state;

	assert_status(set(s, "d", "old"), STORE_STORED);
	assert_status(del(s, "d", 0), STORE_DELETED);
	assert_status(put(s, "d", STORE_MODE_ADD, "new", 0, 0), STORE_STORED);
	assert_value(s, "d", "new");
	assert_status(put(s, "d", STORE_MODE_ADD, "newer", 0, 0), STORE_NOT_STORED);
	assert_value(s, "d", "new");
}

/* ---- flush_all ---- */

static void
test_flush_immediate_hides_everything(void **state)
{
	struct store_shard *s = *state;

	assert_status(set(s, "a", "1"), STORE_STORED);
	advance(3);
	assert_status(set(s, "b", "2"), STORE_STORED);
	assert_status(set_exp(s, "c", "3", 1000), STORE_STORED);
	store_flush(s, 0);
	assert_status(get(s, "a", NULL), STORE_FLUSHED);
	assert_status(get(s, "b", NULL), STORE_FLUSHED); /* stored in this very second */
	assert_status(get(s, "c", NULL), STORE_FLUSHED);
	advance(1);
	assert_status(get(s, "a", NULL), STORE_FLUSHED);
	assert_status(get(s, "b", NULL), STORE_FLUSHED);
	advance(YEAR);
	assert_status(get(s, "b", NULL), STORE_FLUSHED);
	/* A negative delay is "now" as well. */
	assert_status(set(s, "d", "4"), STORE_STORED);
	store_flush(s, -5);
	assert_status(get(s, "d", NULL), STORE_FLUSHED);
}

static void
test_flush_then_set_same_second_visible(void **state)
{
	struct store_shard *s = *state;

	assert_status(set(s, "before", "1"), STORE_STORED);
	store_flush(s, 0);
	assert_status(set(s, "after", "2"), STORE_STORED);
	assert_status(set(s, "before", "3"), STORE_STORED);
	assert_value(s, "after", "2");
	assert_value(s, "before", "3");
	advance(1);
	assert_value(s, "after", "2");
	assert_value(s, "before", "3");
	advance(100);
	assert_value(s, "after", "2");
}

/*
 * A reader that read the clock before a flush_all, then found an item the owner linked after
 * it, must not date the item back before the flush (the item's touch is what flush_all judges).
 */
static void
test_reader_older_clock_keeps_item_after_flush(void **state)
{
	struct store_shard *s = *state;
	uint32_t reader_ticks;
	struct store_hit hit;
	struct store_key k;

	advance(5);
	reader_ticks = nc_clock_ticks(&env.clock); /* a reader's reading in second F-1 */
	advance(1);
	store_flush(s, 0);
	assert_status(set(s, "new", "1"), STORE_STORED);
	store_key_init(&k, &env.digest_key, "new", 3);
	assert_status(store_meta_get(s, &k, false, &hit), STORE_HIT);
	item_mark_used((struct item *)hit.it, reader_ticks);
	assert_value(s, "new", "1");
	advance(1);
	assert_value(s, "new", "1");
}

static void
test_flush_with_delay(void **state)
{
	struct store_shard *s = *state;

	assert_status(set(s, "old", "1"), STORE_STORED);
	store_flush(s, 10);
	assert_value(s, "old", "1");
	advance(1);
	/* Stored during the delay: flushed too when the time comes. */
	assert_status(set(s, "mid", "2"), STORE_STORED);
	advance(7); /* +8 */
	assert_value(s, "old", "1");
	assert_value(s, "mid", "2");
	/*
	 * memcached sets oldest_live = realtime(delay) - 1 and an item is flushed once
	 * oldest_live <= current_time, so "flush_all 10" takes effect at +9.
	 */
	advance(1); /* +9 */
	assert_status(get(s, "old", NULL), STORE_FLUSHED);
	assert_status(get(s, "mid", NULL), STORE_FLUSHED);
	advance(1); /* +10 */
	assert_status(get(s, "old", NULL), STORE_FLUSHED);
	/* Stored after the flush time: visible, now and later. */
	assert_status(set(s, "new", "3"), STORE_STORED);
	assert_value(s, "new", "3");
	advance(1);
	assert_value(s, "new", "3");
	advance(DAY);
	assert_value(s, "new", "3");
	assert_status(get(s, "old", NULL), STORE_FLUSHED);
}

static void
test_add_after_flush_stored(void **state)
{
	struct store_shard *s = *state;

	assert_status(set(s, "k", "old"), STORE_STORED);
	store_flush(s, 0);
	assert_status(put(s, "k", STORE_MODE_ADD, "new", 0, 0), STORE_STORED);
	assert_value(s, "k", "new");
	advance(5);
	assert_value(s, "k", "new");
}

static void
test_flushed_is_miss_for_every_command(void **state)
{
	struct store_shard *s = *state;
	static const char *const keys[] = {"rep", "app", "pre", "cas", "inc", "dec",
					   "tou", "del", "gat", "add"};
	uint64_t cas[sizeof(keys) / sizeof(keys[0])];
	struct store_hit hit;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_status(set(s, keys[i], "5"), STORE_STORED);
		cas[i] = get_cas(s, keys[i]);
	}
	store_flush(s, 0);
	assert_status(put(s, "rep", STORE_MODE_REPLACE, "x", 0, 0), STORE_NOT_STORED);
	assert_status(put(s, "app", STORE_MODE_APPEND, "x", 0, 0), STORE_NOT_STORED);
	assert_status(put(s, "pre", STORE_MODE_PREPEND, "x", 0, 0), STORE_NOT_STORED);
	assert_status(cas_put(s, "cas", "x", cas[3], NULL), STORE_NOT_FOUND);
	assert_status(arith(s, "inc", true, 1, NULL), STORE_NOT_FOUND);
	assert_status(arith(s, "dec", false, 1, NULL), STORE_NOT_FOUND);
	assert_status(touch(s, "tou", 0), STORE_NOT_FOUND);
	assert_status(del(s, "del", 0), STORE_NOT_FOUND);
	assert_true(gat(s, "gat", 0, &hit) != STORE_HIT);
	assert_status(put(s, "add", STORE_MODE_ADD, "x", 0, 0), STORE_STORED);
	for (size_t i = 0; i + 1 < sizeof(keys) / sizeof(keys[0]); i++)
		assert_miss(s, keys[i]);
	assert_value(s, "add", "x");
}

/* ---- exptime rules ---- */

static void
test_exptime_zero_never_expires(void **state)
{
	struct store_shard *s = *state;

	assert_status(set_exp(s, "k", "v", 0), STORE_STORED);
	advance(YEAR);
	assert_int_equal(test_shard_settle(s), 0);
	assert_value(s, "k", "v");
}

static void
test_exptime_one_second(void **state)
{
	struct store_shard *s = *state;

	assert_status(set_exp(s, "k", "v", 1), STORE_STORED);
	assert_value(s, "k", "v");
	advance(1);
	assert_status(get(s, "k", NULL), STORE_EXPIRED);
	assert_int_equal(test_shard_settle(s), 1);
	assert_status(get(s, "k", NULL), STORE_MISS);
}

static void
test_exptime_thirty_days_is_relative(void **state)
{
	struct store_shard *s = *state;

	assert_int_equal(NC_REALTIME_MAXDELTA, 2592000);
	assert_status(set_exp(s, "k", "v", 2592000), STORE_STORED);
	advance(2591999);
	test_shard_settle(s);
	assert_value(s, "k", "v");
	advance(1);
	assert_status(get(s, "k", NULL), STORE_EXPIRED);
	test_shard_settle(s);
	assert_status(get(s, "k", NULL), STORE_MISS);
}

static void
test_exptime_above_thirty_days_is_absolute_past(void **state)
{
	struct store_shard *s = *state;

	/* 2592001 is a unix time in January 1970. */
	assert_status(set_exp(s, "k", "v", 2592001), STORE_STORED);
	assert_status(get(s, "k", NULL), STORE_EXPIRED);
	/* It replaces (hides) an existing value. */
	assert_status(set(s, "o", "old"), STORE_STORED);
	assert_status(set_exp(s, "o", "new", 2592001), STORE_STORED);
	assert_status(get(s, "o", NULL), STORE_EXPIRED);
	/* The current unix time itself is already past too. */
	assert_status(set_exp(s, "n", "v", TEST_UNIX_START), STORE_STORED);
	assert_status(get(s, "n", NULL), STORE_EXPIRED);
	test_shard_settle(s);
	assert_status(get(s, "k", NULL), STORE_MISS);
	assert_status(get(s, "o", NULL), STORE_MISS);
	assert_int_equal(stats(s).curr_items, 0);
}

static void
test_exptime_absolute_future(void **state)
{
	struct store_shard *s = *state;

	assert_status(set_exp(s, "k", "v", (int64_t)TEST_UNIX_START + 100), STORE_STORED);
	assert_status(set_exp(s, "j", "w", (int64_t)TEST_UNIX_START + 1), STORE_STORED);
	assert_value(s, "j", "w");
	advance(1);
	assert_status(get(s, "j", NULL), STORE_EXPIRED);
	advance(98);
	test_shard_settle(s);
	assert_value(s, "k", "v");
	advance(1);
	assert_status(get(s, "k", NULL), STORE_EXPIRED);
	test_shard_settle(s);
	assert_status(get(s, "k", NULL), STORE_MISS);
}

static void
test_exptime_negative_stored_but_invisible(void **state)
{
	struct store_shard *s = *state;

	assert_status(set_exp(s, "k", "v", -1), STORE_STORED);
	assert_status(get(s, "k", NULL), STORE_EXPIRED);
	/* It replaces (hides) an existing value for the key. */
	assert_status(set(s, "o", "old"), STORE_STORED);
	assert_status(set_exp(s, "o", "new", -1000), STORE_STORED);
	assert_miss(s, "o");
	assert_status(get(s, "o", NULL), STORE_EXPIRED);
	/* add with a negative exptime on a missing key also stores an invisible item. */
	assert_status(put(s, "a", STORE_MODE_ADD, "x", 0, -1), STORE_STORED);
	assert_miss(s, "a");
	test_shard_settle(s);
	assert_status(get(s, "k", NULL), STORE_MISS);
	assert_status(get(s, "o", NULL), STORE_MISS);
	assert_int_equal(stats(s).curr_items, 0);
	/* And the key is free again. */
	assert_status(put(s, "o", STORE_MODE_ADD, "again", 0, 0), STORE_STORED);
	assert_value(s, "o", "again");
}

static void
test_expired_is_miss_for_every_command(void **state)
{
	struct store_shard *s = *state;
	static const char *const keys[] = {"rep", "app", "pre", "cas", "inc", "dec",
					   "tou", "del", "gat", "add"};
	uint64_t cas[sizeof(keys) / sizeof(keys[0])];
	struct store_hit hit;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_status(set_exp(s, keys[i], "5", 1), STORE_STORED);
		cas[i] = get_cas(s, keys[i]);
	}
	advance(1);
	assert_status(put(s, "rep", STORE_MODE_REPLACE, "x", 0, 0), STORE_NOT_STORED);
	assert_status(put(s, "app", STORE_MODE_APPEND, "x", 0, 0), STORE_NOT_STORED);
	assert_status(put(s, "pre", STORE_MODE_PREPEND, "x", 0, 0), STORE_NOT_STORED);
	assert_status(cas_put(s, "cas", "x", cas[3], NULL), STORE_NOT_FOUND);
	assert_status(arith(s, "inc", true, 1, NULL), STORE_NOT_FOUND);
	assert_status(arith(s, "dec", false, 1, NULL), STORE_NOT_FOUND);
	assert_status(touch(s, "tou", 0), STORE_NOT_FOUND);
	assert_status(del(s, "del", 0), STORE_NOT_FOUND);
	assert_true(gat(s, "gat", 0, &hit) != STORE_HIT);
	assert_status(put(s, "add", STORE_MODE_ADD, "x", 0, 0), STORE_STORED);
	for (size_t i = 0; i + 1 < sizeof(keys) / sizeof(keys[0]); i++)
		assert_miss(s, keys[i]);
	assert_value(s, "add", "x");
	test_shard_settle(s);
	assert_int_equal(stats(s).curr_items, 1);
}

/* ---- counters ---- */

static void
test_stats_track_sets_replacements_deletes(void **state)
{
	struct store_shard *s = *state;
	struct store_shard_stats st = stats(s);
	uint64_t a3 = item_total_size(1, 3), a5 = item_total_size(1, 5);
	uint64_t b2 = item_total_size(2, 2);

	assert_int_equal(st.curr_items, 0);
	assert_int_equal(st.total_items, 0);
	assert_int_equal(st.bytes, 0);

	assert_status(set(s, "a", "abc"), STORE_STORED);
	st = stats(s);
	assert_int_equal(st.curr_items, 1);
	assert_int_equal(st.total_items, 1);
	assert_int_equal(st.bytes, a3);

	assert_status(set(s, "a", "abcde"), STORE_STORED); /* replacement */
	st = stats(s);
	assert_int_equal(st.curr_items, 1);
	assert_int_equal(st.total_items, 2);
	assert_int_equal(st.bytes, a5);

	assert_status(set(s, "bb", "xy"), STORE_STORED);
	st = stats(s);
	assert_int_equal(st.curr_items, 2);
	assert_int_equal(st.total_items, 3);
	assert_int_equal(st.bytes, a5 + b2);

	/* Failed stores change nothing. */
	assert_status(put(s, "a", STORE_MODE_ADD, "zz", 0, 0), STORE_NOT_STORED);
	assert_status(put(s, "c", STORE_MODE_REPLACE, "zz", 0, 0), STORE_NOT_STORED);
	assert_status(put(s, "c", STORE_MODE_APPEND, "zz", 0, 0), STORE_NOT_STORED);
	assert_status(cas_put(s, "a", "zz", get_cas(s, "a") + 1000, NULL), STORE_EXISTS);
	assert_status(del(s, "c", 0), STORE_NOT_FOUND);
	st = stats(s);
	assert_int_equal(st.curr_items, 2);
	assert_int_equal(st.total_items, 3);
	assert_int_equal(st.bytes, a5 + b2);

	/* append replaces the item: one more linked item, new size. */
	assert_status(put(s, "bb", STORE_MODE_APPEND, "zz", 0, 0), STORE_STORED);
	st = stats(s);
	assert_int_equal(st.curr_items, 2);
	assert_int_equal(st.total_items, 4);
	assert_int_equal(st.bytes, a5 + item_total_size(2, 4));

	assert_status(del(s, "a", 0), STORE_DELETED);
	st = stats(s);
	assert_int_equal(st.curr_items, 1);
	assert_int_equal(st.total_items, 4);
	assert_int_equal(st.bytes, item_total_size(2, 4));

	assert_status(del(s, "bb", 0), STORE_DELETED);
	st = stats(s);
	assert_int_equal(st.curr_items, 0);
	assert_int_equal(st.total_items, 4);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.evictions, 0);
}

static void
test_stats_retired_outstanding_zero_after_settle(void **state)
{
	struct store_shard *s = *state;
	char key[32];

	for (unsigned i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "r-%02u", i % 50);
		assert_status(set(s, key, "some value"), STORE_STORED);
	}
	for (unsigned i = 0; i < 50; i += 2) {
		snprintf(key, sizeof(key), "r-%02u", i);
		assert_status(del(s, key, 0), STORE_DELETED);
	}
	assert_true(store_shard_retired_outstanding(s) > 0);
	test_shard_settle(s);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
	assert_int_equal(stats(s).curr_items, 25);
	assert_int_equal(stats(s).total_items, 500);
	assert_int_equal(stats(s).bytes, 25 * item_total_size(4, 10));
}

static void
test_stats_incr_in_place_is_not_a_new_item(void **state)
{
	struct store_shard *s = *state;
	struct store_shard_stats st;

	/*
	 * memcached's do_add_delta() rewrites the value in place when the new number fits
	 * (res + 2 <= it->nbytes): no do_item_link(), so total_items does not move. Only a
	 * result that grows goes through item_replace() and counts as a new item.
	 */
	assert_status(set(s, "n", "99"), STORE_STORED);
	assert_status(arith(s, "n", true, 1, NULL), STORE_OK); /* "100": grows */
	st = stats(s);
	assert_int_equal(st.curr_items, 1);
	assert_int_equal(st.total_items, 2);
	assert_int_equal(st.bytes, item_total_size(1, 3));
	assert_status(arith(s, "n", true, 1, NULL), STORE_OK); /* "101": in place */
	assert_status(arith(s, "n", false, 2, NULL), STORE_OK); /* "99 ": in place */
	st = stats(s);
	assert_int_equal(st.curr_items, 1);
	assert_int_equal(st.total_items, 2);
	assert_int_equal(st.bytes, item_total_size(1, 3));
}

/* ---- alloc / commit ---- */

static void
test_alloc_commit_works_like_put(void **state)
{
	struct store_shard *s = *state;
	struct store_key k = key_s("ac");
	enum store_status st;
	struct store_hit hit;
	struct item *it;
	uint64_t cas = 0;

	it = store_item_alloc(s, &k, 0xabcdef01u, 100, 6, &st);
	assert_non_null(it);
	assert_int_equal(it->nbytes, 6);
	assert_true(item_key_equals(it, "ac", 2));
	/* Not visible before the commit. */
	assert_status(store_get(s, &k, &hit), STORE_MISS);
	memcpy(item_value(it), "abc", 3);
	memcpy(item_value(it) + 3, "def", 3);
	assert_status(store_item_commit(s, it, &k, STORE_MODE_SET, 0, &cas), STORE_STORED);
	assert_true(cas != 0);
	assert_status(store_get(s, &k, &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, 6);
	assert_memory_equal(hit.value, "abcdef", 6);
	assert_true(hit.client_flags == 0xabcdef01u);
	assert_true(hit.cas == cas);
	assert_int_equal(hit.exptime, store_shard_now(s) + 100);

	/* Every mode goes through commit: add on a live key is refused and consumed. */
	it = store_item_alloc(s, &k, 0, 0, 1, &st);
	assert_non_null(it);
	item_value(it)[0] = 'z';
	assert_status(store_item_commit(s, it, &k, STORE_MODE_ADD, 0, NULL), STORE_NOT_STORED);
	assert_value(s, "ac", "abcdef");
	/* append through commit keeps the old flags. */
	it = store_item_alloc(s, &k, 5, 0, 1, &st);
	assert_non_null(it);
	item_value(it)[0] = 'g';
	assert_status(store_item_commit(s, it, &k, STORE_MODE_APPEND, 0, NULL), STORE_STORED);
	assert_status(store_get(s, &k, &hit), STORE_HIT);
	assert_memory_equal(hit.value, "abcdefg", 7);
	assert_true(hit.client_flags == 0xabcdef01u);
	/* cas through commit. */
	it = store_item_alloc(s, &k, 1, 0, 1, &st);
	assert_non_null(it);
	item_value(it)[0] = 'c';
	assert_status(store_item_commit(s, it, &k, STORE_MODE_CAS, hit.cas, &cas), STORE_STORED);
	assert_value(s, "ac", "c");
	assert_int_equal(stats(s).curr_items, 1);
}

static void
test_alloc_abandon_leaves_no_trace(void **state)
{
	struct store_shard *s = *state;
	struct store_key k = key_s("ab");
	struct store_shard_stats before, after;
	enum store_status st;
	struct store_hit hit;
	size_t half = ITEM_MAX / 2;

	assert_status(set(s, "other", "v"), STORE_STORED);
	before = stats(s);
	/* Far more big allocations than the shard could hold if any leaked. */
	for (unsigned i = 0; i < 200; i++) {
		struct item *it = store_item_alloc(s, &k, 1, 0, (uint32_t)half, &st);

		assert_non_null(it);
		/* Half of -I is larger than the largest chunk: the value is chained. */
		assert_true(item_is_chained(it));
		{
			struct item_writer w;
			static char a[ITEM_MAX / 2];

			memset(a, 'a', sizeof(a));
			item_writer_init(&w, it);
			item_writer_put(&w, a, (uint32_t)half);
		}
		store_item_abandon(s, it);
	}
	assert_status(store_get(s, &k, &hit), STORE_MISS);
	after = stats(s);
	assert_int_equal(after.curr_items, before.curr_items);
	assert_int_equal(after.total_items, before.total_items);
	assert_int_equal(after.bytes, before.bytes);
	assert_int_equal(after.evictions, 0);
	assert_int_equal(after.alloc_retries, 0);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
	assert_value(s, "other", "v");
	/* The key is still free for add. */
	assert_status(put(s, "ab", STORE_MODE_ADD, "x", 0, 0), STORE_STORED);
}

static void
test_alloc_too_large(void **state)
{
	struct store_shard *s = *state;
	struct store_key k = key_s("big");
	enum store_status st = STORE_STORED;
	struct item *it;

	assert_null(store_item_alloc(s, &k, 0, 0, (uint32_t)value_max(3) + 1, &st));
	assert_status(st, STORE_TOO_LARGE);
	st = STORE_STORED;
	assert_null(store_item_alloc(s, &k, 0, 0, UINT32_MAX, &st));
	assert_status(st, STORE_TOO_LARGE);
	/* The largest one fits. */
	it = store_item_alloc(s, &k, 0, 0, (uint32_t)value_max(3), &st);
	assert_non_null(it);
	store_item_abandon(s, it);
	assert_status(get(s, "big", NULL), STORE_MISS);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		/* get / gets */
		T(test_get_miss),
		T(test_get_hit_returns_value_flags_cas),
		T(test_cas_changes_on_every_store),
		T(test_cas_unique_across_shards_sharing_source),
		T(test_get_bulk_64_mixed_hits_misses_expired_flushed),
		T(test_zero_length_value),
		T(test_largest_item_fits_one_byte_more_too_large),
		T(test_set_too_large_removes_old_value),
		T(test_key_250_ok_251_too_long),
		T(test_binary_keys_and_values_with_nul),
		/* storage modes */
		T(test_set_overwrites_value_cas_flags),
		T(test_add_existing_not_stored),
		T(test_add_missing_stored),
		T(test_add_on_expired_key_stored),
		T(test_replace_missing_not_stored_existing_stored),
		T(test_append_prepend_missing_not_stored),
		T(test_append_prepend_concat_keep_old_flags_exptime),
		T(test_append_beyond_item_max_too_large_old_intact),
		T(test_cas_not_found_exists_stored),
		T(test_cas_against_replaced_item_exists),
		/* incr / decr */
		T(test_incr_decr_missing_not_found),
		T(test_incr_non_numeric),
		T(test_incr_leading_and_trailing_spaces),
		T(test_incr_wraps_at_2_64),
		T(test_decr_floors_at_zero),
		T(test_decr_zero_stays_zero),
		T(test_decr_shorter_result_padded_with_space),
		T(test_incr_longer_result_grows_value),
		T(test_incr_decr_twenty_digit_values),
		T(test_incr_over_twenty_digits_or_overflow_non_numeric),
		T(test_incr_changes_cas_keeps_flags_exptime),
		/* touch / gat */
		T(test_touch_missing_not_found),
		T(test_touch_short_exptime_expires_at_new_time),
		T(test_touch_longer_exptime_survives_old_time),
		T(test_touch_zero_makes_item_permanent),
		T(test_touch_keeps_cas_value_flags),
		T(test_gat_miss),
		T(test_gat_hit_returns_value_updates_exptime),
		/* delete */
		T(test_delete_missing_not_found_existing_deleted),
		T(test_delete_with_cas),
		T(test_delete_then_add_stored),
		/* flush_all */
		T(test_flush_immediate_hides_everything),
		T(test_flush_then_set_same_second_visible),
		T(test_reader_older_clock_keeps_item_after_flush),
		T(test_flush_with_delay),
		T(test_add_after_flush_stored),
		T(test_flushed_is_miss_for_every_command),
		/* exptime */
		T(test_exptime_zero_never_expires),
		T(test_exptime_one_second),
		T(test_exptime_thirty_days_is_relative),
		T(test_exptime_above_thirty_days_is_absolute_past),
		T(test_exptime_absolute_future),
		T(test_exptime_negative_stored_but_invisible),
		T(test_expired_is_miss_for_every_command),
		/* counters */
		T(test_stats_track_sets_replacements_deletes),
		T(test_stats_retired_outstanding_zero_after_settle),
		T(test_stats_incr_in_place_is_not_a_new_item),
		/* alloc / commit */
		T(test_alloc_commit_works_like_put),
		T(test_alloc_abandon_leaves_no_trace),
		T(test_alloc_too_large),
	};
#undef T

	test_eal_init("0", 256);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
