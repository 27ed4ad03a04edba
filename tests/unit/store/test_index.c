/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The index (lib/store/index.c, index_table.c): a table takes exactly the keys it is made for,
 * moving entries between their two buckets; two keys are two entries even with one digest;
 * the index starts small, asks for a larger table at 7/8 full, moves its keys over a few at a
 * time, and a reader never misses a key that is in the index while entries move between
 * buckets, tables switch and keys move to a larger table, with the larger tables made by a
 * service thread (as the control core does) or, when nobody makes them, by the owner when full.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "test_env.h"

/* Keys the owner inserts (several growths from INDEX_ENTRIES_MIN). */
#define NKEYS (600u * 1000u)
/* Keys inserted first and never removed: the readers must always find them. */
#define NSTABLE 4096u

/* An item as the index sees it: the header and the key. */
struct key_item {
	struct item it;
	char key[16];
};

static struct test_env env;
static struct store_key *keys;
static struct key_item *items;
static struct key_item *twins; /* a second item with each key: replacements alternate */
static struct store_index g_ix;
static struct itab *g_tab;
static uint32_t g_stop;
static uint64_t g_misses;
static uint64_t g_lookups;

static void
keys_make(void)
{
	keys = calloc(NKEYS, sizeof(*keys));
	items = calloc(NKEYS, sizeof(*items));
	twins = calloc(NSTABLE, sizeof(*twins));
	assert_non_null(keys);
	assert_non_null(items);
	assert_non_null(twins);
	for (uint32_t i = 0; i < NKEYS; i++) {
		int n = snprintf(items[i].key, sizeof(items[i].key), "key:%u", i);

		items[i].it.nkey = (uint8_t)n;
		store_key_init(&keys[i], &env.digest_key, items[i].key, (uint32_t)n);
		if (i < NSTABLE)
			twins[i] = items[i];
	}
}

/* The item stored for key i. */
static struct item *
data_of(uint32_t i)
{
	return &items[i].it;
}

/* The other item with stable key i's key. */
static struct item *
twin_of(uint32_t i)
{
	return &twins[i].it;
}

/* Whether a reader got an item of stable key i (either of its two). */
static bool
is_stable_item(const struct item *it, uint32_t i)
{
	return it == data_of(i) || it == twin_of(i);
}

/* A table takes 8 bytes per slot, 8 slots per 7 keys: about 9.1 bytes per key. */
static void
test_table_bytes(void **state)
{
	const uint32_t sizes[] = {1000, 65536, 100000, 1u << 20};

	(void)state;
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct store_index ix;

		assert_int_equal(index_init(&ix, &env.digest_key, sizes[i], true, SOCKET_ID_ANY),
				 0);
		assert_int_equal(index_bytes(&ix), index_table_bytes(sizes[i]));
		print_message("  %u keys: %zu bytes (%.2f per key)\n", sizes[i], index_bytes(&ix),
			      (double)index_bytes(&ix) / sizes[i]);
		assert_true(index_bytes(&ix) <= (size_t)sizes[i] * 8 * 8 / 7 + 128);
		index_fini(&ix);
	}
}

/* A digest key that was never initialised (zeroed: NC_DIGEST_UNSET) is refused. */
static void
test_unset_digest_key(void **state)
{
	const struct nc_digest_key unset = {.kind = NC_DIGEST_UNSET};
	struct store_index ix;

	(void)state;
	assert_int_equal(index_init(&ix, &unset, 1000, true, SOCKET_ID_ANY), -EINVAL);
	assert_int_equal(index_init(&ix, NULL, 1000, true, SOCKET_ID_ANY), -EINVAL);
}

/*
 * A table made for N keys takes exactly N (moving entries between buckets as it fills), finds
 * each, refuses one more, and frees a slot on delete at once.
 */
static void
test_table_takes_its_capacity(void **state)
{
	const uint32_t sizes[] = {8, 1000, 100000};

	(void)state;
	for (unsigned z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		uint32_t n = sizes[z];
		struct itab *t = itab_create(n, SOCKET_ID_ANY);

		assert_non_null(t);
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(itab_put(t, &keys[i], data_of(i), true), 0);
		assert_int_equal(itab_count(t), n);
		assert_int_equal(itab_put(t, &keys[n], data_of(n), true), -ENOSPC);
		/* Replacing needs no room. */
		assert_int_equal(itab_put(t, &keys[0], data_of(0), true), 1);
		for (uint32_t i = 0; i < n; i++)
			assert_ptr_equal(itab_lookup(t, &keys[i]), data_of(i));
		assert_null(itab_lookup(t, &keys[n]));
		print_message("  %u keys in %u buckets: %u moves between buckets\n", n, t->nbuckets,
			      t->moves);
		assert_int_equal(itab_del(t, &keys[1]), 0);
		assert_int_equal(itab_del(t, &keys[1]), -ENOENT);
		assert_null(itab_lookup(t, &keys[1]));
		assert_int_equal(itab_put(t, &keys[n], data_of(n), true), 0);
		assert_ptr_equal(itab_lookup(t, &keys[n]), data_of(n));
		itab_free(t);
	}
}

/* A digest whose first bucket in @p t is @p b, with tag @p tag. */
static struct nc_digest
digest_for(const struct itab *t, uint32_t b, uint32_t tag)
{
	uint64_t lo32 = (((uint64_t)b << 32) + t->nbuckets - 1) / t->nbuckets;
	struct nc_digest d = {.lo = 0, .hi = (uint64_t)tag << 48 | lo32};

	assert_int_equal(itab_b1(t, &d), b);
	return d;
}

/*
 * Sixteen keys with one digest fill both their buckets: the first bucket holds eight with the
 * same tag, so a lookup's first tag match is mostly another key's; the sixteenth lands in the
 * second bucket; a seventeenth finds no room (every entry's other bucket is full) although
 * the table is nearly empty. Single and bulk lookups find each key's own item.
 */
static void
test_forged_digests_fill_both_buckets(void **state)
{
	struct itab *t = itab_create(1000, SOCKET_ID_ANY);
	const struct store_key *bk[17];
	struct store_key k[17];
	struct item *out[17];
	struct nc_digest d;
	uint64_t hits;

	(void)state;
	assert_non_null(t);
	d = digest_for(t, 5, 0x1234);
	assert_int_not_equal(itab_alt(t, 5, 0x1234), 5);
	for (unsigned i = 0; i < 17; i++) {
		k[i] = keys[i];
		k[i].digest = d;
		bk[i] = &k[i];
		out[i] = NULL;
	}
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(itab_put(t, &k[i], data_of(i), true), 0);
	assert_int_equal(itab_put(t, &k[16], data_of(16), true), -ENOSPC);
	assert_int_equal(itab_count(t), 16);
	for (unsigned i = 0; i < 16; i++)
		assert_ptr_equal(itab_lookup(t, &k[i]), data_of(i));
	assert_null(itab_lookup(t, &k[16]));
	hits = itab_lookup_bulk(t, bk, 17, out);
	assert_true(hits == (UINT64_C(1) << 16) - 1);
	for (unsigned i = 0; i < 16; i++)
		assert_ptr_equal(out[i], data_of(i));
	assert_null(out[16]);
	/* One leaves the first bucket: the seventeenth fits there. */
	assert_int_equal(itab_del(t, &k[3]), 0);
	assert_int_equal(itab_put(t, &k[16], data_of(16), true), 0);
	assert_ptr_equal(itab_lookup(t, &k[16]), data_of(16));
	assert_null(itab_lookup(t, &k[3]));
	itab_free(t);
}

/* A key whose two buckets are one: eight fit, the ninth does not, all are found. */
static void
test_forged_digests_one_bucket(void **state)
{
	struct itab *t = itab_create(1000, SOCKET_ID_ANY);
	const struct store_key *bk[9];
	struct store_key k[9];
	struct item *out[9] = {NULL};
	uint32_t b = UINT32_MAX, tag = 0;

	(void)state;
	assert_non_null(t);
	for (tag = 0; tag < 65536 && b == UINT32_MAX; tag++)
		for (uint32_t x = 0; x < t->nbuckets; x++)
			if (itab_alt(t, x, tag) == x) {
				b = x;
				break;
			}
	assert_int_not_equal(b, UINT32_MAX);
	tag--;
	for (unsigned i = 0; i < 9; i++) {
		k[i] = keys[i];
		k[i].digest = digest_for(t, b, tag);
		bk[i] = &k[i];
	}
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(itab_put(t, &k[i], data_of(i), true), 0);
	assert_int_equal(itab_put(t, &k[8], data_of(8), true), -ENOSPC);
	assert_true(itab_lookup_bulk(t, bk, 9, out) == 0xff);
	for (unsigned i = 0; i < 8; i++) {
		assert_ptr_equal(itab_lookup(t, &k[i]), data_of(i));
		assert_ptr_equal(out[i], data_of(i));
	}
	itab_free(t);
}

/* alt() is its own inverse and stays in range, for table sizes of every shape. */
static void
test_alt_symmetric(void **state)
{
	(void)state;
	for (uint32_t cap = 8; cap < 3000; cap += 7) {
		struct itab *t = itab_create(cap, SOCKET_ID_ANY);

		assert_non_null(t);
		for (uint32_t tag = 0; tag < 65536; tag += 251) {
			for (uint32_t b = 0; b < t->nbuckets; b++) {
				uint32_t a = itab_alt(t, b, tag);

				assert_true(a < t->nbuckets);
				assert_int_equal(itab_alt(t, a, tag), b);
			}
		}
		itab_free(t);
	}
}

/* Two keys with one digest (a forged collision) are two entries: the key is the identity. */
static void
test_same_digest_two_keys(void **state)
{
	struct itab *t = itab_create(100, SOCKET_ID_ANY);
	struct store_key a = keys[0], b = keys[1];

	(void)state;
	assert_non_null(t);
	b.digest = a.digest;
	assert_int_equal(itab_put(t, &a, data_of(0), true), 0);
	assert_null(itab_lookup(t, &b));
	assert_int_equal(itab_put(t, &b, data_of(1), true), 0);
	assert_ptr_equal(itab_lookup(t, &a), data_of(0));
	assert_ptr_equal(itab_lookup(t, &b), data_of(1));
	assert_int_equal(itab_count(t), 2);
	assert_int_equal(itab_del(t, &a), 0);
	assert_null(itab_lookup(t, &a));
	assert_ptr_equal(itab_lookup(t, &b), data_of(1));
	itab_free(t);
}

/* Owner alone, nobody servicing: the owner makes each larger table when the table is full. */
static void
test_grows_without_service(void **state)
{
	struct store_index ix;
	uint32_t grows = 0;

	(void)state;
	assert_int_equal(index_init(&ix, &env.digest_key, 1u << 20, false, SOCKET_ID_ANY), 0);
	assert_int_equal(ix.entries, INDEX_ENTRIES_MIN);
	for (uint32_t i = 0; i < NKEYS; i++) {
		assert_int_equal(index_put(&ix, &keys[i], data_of(i)), 0);
		if (i % 64 == 0)
			index_maintain(&ix, 128);
		if (ix.grows != grows) {
			grows = ix.grows;
			/* Everything stored so far is still found, from either table. */
			for (uint32_t j = 0; j <= i; j += 97)
				assert_ptr_equal(index_lookup(&ix, &keys[j]), data_of(j));
		}
	}
	while (index_maintain(&ix, 4096) > 0)
		;
	assert_null(ix.old);
	assert_int_equal(index_count(&ix), NKEYS);
	assert_true(ix.grows >= 3);
	assert_true(ix.entries >= NKEYS && ix.entries <= 1u << 20);
	for (uint32_t i = 0; i < NKEYS; i++)
		assert_ptr_equal(index_lookup(&ix, &keys[i]), data_of(i));
	for (uint32_t i = 0; i < NKEYS; i += 2) {
		assert_int_equal(index_del(&ix, &keys[i]), 0);
		assert_null(index_lookup(&ix, &keys[i]));
	}
	assert_int_equal(index_count(&ix), NKEYS / 2);
	index_fini(&ix);
}

static int
reader_main(void *arg)
{
	const struct store_key *bk[INDEX_BULK_MAX];
	struct item *out[INDEX_BULK_MAX];
	uint32_t id[INDEX_BULK_MAX];
	uint64_t rng = (uintptr_t)arg, misses = 0, lookups = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		for (unsigned i = 0; i < INDEX_BULK_MAX; i++) {
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			id[i] = (uint32_t)((rng >> 33) % NSTABLE);
			bk[i] = &keys[id[i]];
		}
		if (rng & (1ull << 20)) {
			for (unsigned i = 0; i < INDEX_BULK_MAX; i++)
				misses += !is_stable_item(index_lookup(&g_ix, bk[i]), id[i]);
		} else {
			if (index_lookup_bulk(&g_ix, bk, INDEX_BULK_MAX, out) < 0)
				misses += INDEX_BULK_MAX;
			for (unsigned i = 0; i < INDEX_BULK_MAX; i++)
				misses += !is_stable_item(out[i], id[i]);
		}
		lookups += INDEX_BULK_MAX;
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	__atomic_fetch_add(&g_misses, misses, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g_lookups, lookups, __ATOMIC_RELAXED);
	return 0;
}

static int
service_main(void *arg)
{
	uint64_t *done = arg;

	/* Not an RCU reader: index_service() waits for grace periods. */
	while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		if (index_service(&g_ix) > 0)
			(*done)++;
		rte_pause();
	}
	return 0;
}

/*
 * Readers look up NSTABLE keys that are always in the index while the owner inserts the rest
 * (three growths and their moves), deletes and re-adds some, with a service lcore making the
 * larger tables and freeing the emptied ones: no reader may ever miss.
 */
static void
test_readers_never_miss_while_growing(void **state)
{
	unsigned lcores[4], nl = 0, lcore, service = RTE_MAX_LCORE;
	uint64_t serviced = 0;

	(void)state;
	assert_int_equal(index_init(&g_ix, &env.digest_key, 1u << 20, false, SOCKET_ID_ANY), 0);
	for (uint32_t i = 0; i < NSTABLE; i++)
		assert_int_equal(index_put(&g_ix, &keys[i], data_of(i)), 0);
	g_stop = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (service == RTE_MAX_LCORE) {
			service = lcore;
			assert_int_equal(rte_eal_remote_launch(service_main, &serviced, lcore), 0);
		} else if (nl < 4) {
			lcores[nl] = lcore;
			assert_int_equal(rte_eal_remote_launch(reader_main,
							       (void *)(uintptr_t)(nl + 1), lcore),
					 0);
			nl++;
		}
	}
	assert_true(nl > 0);
	for (uint32_t i = NSTABLE; i < NKEYS; i++) {
		assert_int_equal(index_put(&g_ix, &keys[i], data_of(i)), 0);
		/* Churn: replace a stable key's item, delete and re-add an unstable one. */
		if (i % 7 == 0) {
			uint32_t k = i % NSTABLE;
			struct item *next = index_lookup(&g_ix, &keys[k]) == data_of(k) ? twin_of(k)
											 : data_of(k);

			assert_int_equal(index_put(&g_ix, &keys[k], next), 0);
			assert_ptr_equal(index_lookup(&g_ix, &keys[k]), next);
		}
		if (i % 5 == 0) {
			assert_int_equal(index_del(&g_ix, &keys[i - 1]), 0);
			assert_int_equal(index_put(&g_ix, &keys[i - 1], data_of(i - 1)), 0);
		}
		if (i % 32 == 0) {
			index_maintain(&g_ix, 128);
			rcu_quiescent_state();
		}
	}
	while (g_ix.old != NULL || __atomic_load_n(&g_ix.want, __ATOMIC_ACQUIRE) != 0) {
		index_maintain(&g_ix, 4096);
		rcu_quiescent_state();
	}
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
	rcu_thread_offline();
	for (unsigned i = 0; i < nl; i++)
		assert_int_equal(rte_eal_wait_lcore(lcores[i]), 0);
	assert_int_equal(rte_eal_wait_lcore(service), 0);
	rcu_thread_online();
	print_message("  %u growths, %" PRIu64 " keys moved, %" PRIu64 " lookups, %" PRIu64
		      " misses, %" PRIu64 " service actions\n",
		      g_ix.grows, g_ix.moved, g_lookups, g_misses, serviced);
	assert_int_equal(g_misses, 0);
	assert_true(g_ix.grows >= 3);
	assert_true(serviced > 0); /* the service made tables or freed emptied ones */
	assert_int_equal(index_count(&g_ix), NKEYS);
	for (uint32_t i = 0; i < NKEYS; i++) {
		if (i < NSTABLE)
			assert_true(is_stable_item(index_lookup(&g_ix, &keys[i]), i));
		else
			assert_ptr_equal(index_lookup(&g_ix, &keys[i]), data_of(i));
	}
	index_fini(&g_ix);
}

static int
table_reader_main(void *arg)
{
	const struct store_key *bk[64];
	struct item *out[64];
	uint32_t id[64];
	uint64_t rng = (uintptr_t)arg, misses = 0, lookups = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		for (unsigned i = 0; i < 64; i++) {
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			id[i] = (uint32_t)((rng >> 33) % NSTABLE);
			bk[i] = &keys[id[i]];
			out[i] = NULL;
		}
		if (rng & (1ull << 21)) {
			for (unsigned i = 0; i < 64; i++)
				misses += !is_stable_item(itab_lookup(g_tab, bk[i]), id[i]);
		} else {
			uint64_t hits = itab_lookup_bulk(g_tab, bk, 64, out);

			for (unsigned i = 0; i < 64; i++)
				misses += !(hits >> i & 1) || !is_stable_item(out[i], id[i]);
		}
		lookups += 64;
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	__atomic_fetch_add(&g_misses, misses, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g_lookups, lookups, __ATOMIC_RELAXED);
	return 0;
}

/*
 * A table kept full (7 of 8 slots) while the owner deletes and adds keys, so entries keep
 * moving between their buckets: readers looking up keys that never leave must never miss.
 */
static void
test_readers_never_miss_while_entries_move(void **state)
{
	const uint32_t cap = 50000, rounds = 400000;
	unsigned lcores[4], nl = 0, lcore;
	uint32_t next;

	(void)state;
	g_tab = itab_create(cap, SOCKET_ID_ANY);
	assert_non_null(g_tab);
	for (next = 0; next < cap; next++)
		assert_int_equal(itab_put(g_tab, &keys[next], data_of(next), true), 0);
	g_stop = 0;
	g_misses = 0;
	g_lookups = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (nl < 4) {
			lcores[nl] = lcore;
			assert_int_equal(rte_eal_remote_launch(table_reader_main,
							       (void *)(uintptr_t)(nl + 7), lcore),
					 0);
			nl++;
		}
	}
	assert_true(nl > 0);
	for (uint32_t r = 0; r < rounds; r++) {
		/* Out goes a random unstable key, in comes a new one (wrapping over the pool). */
		uint32_t victim;

		do {
			victim = NSTABLE + (uint32_t)(rte_rand() % (NKEYS - NSTABLE));
		} while (itab_del(g_tab, &keys[victim]) != 0);
		do {
			next = next + 1 >= NKEYS ? NSTABLE : next + 1;
		} while (itab_lookup(g_tab, &keys[next]) != NULL);
		assert_int_equal(itab_put(g_tab, &keys[next], data_of(next), true), 0);
		/* And a stable key's item replaced by its twin (or back). */
		if (r % 3 == 0) {
			uint32_t k = (uint32_t)(rte_rand() % NSTABLE);
			struct item *cur = itab_lookup(g_tab, &keys[k]);

			assert_true(is_stable_item(cur, k));
			assert_int_equal(itab_put(g_tab, &keys[k],
						  cur == data_of(k) ? twin_of(k) : data_of(k), true),
					 1);
		}
		if (r % 64 == 0)
			rcu_quiescent_state();
	}
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
	rcu_thread_offline();
	for (unsigned i = 0; i < nl; i++)
		assert_int_equal(rte_eal_wait_lcore(lcores[i]), 0);
	rcu_thread_online();
	print_message("  %u adds at 7/8 full: %u moves between buckets, %" PRIu64
		      " lookups, %" PRIu64 " misses\n",
		      rounds, g_tab->moves, g_lookups, g_misses);
	assert_int_equal(g_misses, 0);
	assert_true(g_tab->moves > rounds / 10);
	assert_int_equal(itab_count(g_tab), cap);
	itab_free(g_tab);
	g_tab = NULL;
}

/*
 * item_key_equals() (the index's and the reads' key compare) against memcmp for every key
 * length up to 250, a difference at each position, keys at odd addresses; a key of another
 * length never equals.
 */
static void
test_item_key_equals(void **state)
{
	struct item *it = malloc(sizeof(*it) + 256 + 8);
	char key[256 + 8];

	(void)state;
	assert_non_null(it);
	for (size_t len = 0; len <= 250; len++) {
		char *k = key + 1 + len % 7;

		memset(it, 0, sizeof(*it));
		it->nkey = (uint8_t)len;
		for (size_t i = 0; i < len; i++)
			it->data[i] = k[i] = (char)('!' + (i * 7 + len) % 90);
		assert_true(item_key_equals(it, k, len));
		if (len > 0)
			assert_false(item_key_equals(it, k, len - 1));
		for (size_t i = 0; i < len; i++) {
			k[i] ^= 0x20;
			assert_false(item_key_equals(it, k, len));
			k[i] ^= 0x20;
		}
	}
	free(it);
}

int
main(void)
{
	int failed;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_item_key_equals),
		cmocka_unit_test(test_table_bytes),
		cmocka_unit_test(test_unset_digest_key),
		cmocka_unit_test(test_table_takes_its_capacity),
		cmocka_unit_test(test_same_digest_two_keys),
		cmocka_unit_test(test_forged_digests_fill_both_buckets),
		cmocka_unit_test(test_forged_digests_one_bucket),
		cmocka_unit_test(test_alt_symmetric),
		cmocka_unit_test(test_readers_never_miss_while_entries_move),
		cmocka_unit_test(test_grows_without_service),
		cmocka_unit_test(test_readers_never_miss_while_growing),
	};

	test_eal_init("(0-3)@(0,1)", 512);
	test_env_init(&env);
	keys_make();
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	free(keys);
	free(items);
	free(twins);
	test_env_fini(&env);
	return failed;
}
