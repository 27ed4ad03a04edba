/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The growing index (lib/store/index.c): it starts small, asks for a larger table at three
 * quarters full, moves its keys over a few at a time, and a reader never misses a key that is
 * in the index while tables switch and keys move, with the larger tables made by a service
 * thread (as the control core does) or, when nobody makes them, by the owner when full.
 */
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

#include "test_env.h"

/* Keys the owner inserts (several growths from INDEX_ENTRIES_MIN). */
#define NKEYS (600u * 1000u)
/* Keys inserted first and never removed: the readers must always find them. */
#define NSTABLE 4096u

static struct test_env env;
static struct store_key *keys;
static char (*names)[16];
static struct store_index g_ix;
static uint32_t g_stop;
static uint64_t g_misses;
static uint64_t g_lookups;

static void
keys_make(void)
{
	keys = calloc(NKEYS, sizeof(*keys));
	names = calloc(NKEYS, sizeof(*names));
	assert_non_null(keys);
	assert_non_null(names);
	for (uint32_t i = 0; i < NKEYS; i++) {
		int n = snprintf(names[i], sizeof(names[i]), "key:%u", i);

		store_key_init(&keys[i], &env.seed, names[i], (uint32_t)n);
	}
}

/* The data stored for key i: a recognisable non-NULL pointer. */
static void *
data_of(uint32_t i)
{
	return (void *)(uintptr_t)(0x1000u + (uintptr_t)i * 8u);
}

static size_t
heap_used(void)
{
	struct rte_malloc_socket_stats st;

	rte_malloc_get_socket_stats(0, &st);
	return st.heap_allocsz_bytes;
}

/* index_table_bytes() is what rte_hash_create() takes, within a few percent. */
static void
test_table_bytes_estimate(void **state)
{
	const uint32_t sizes[] = {1000, 65536, 100000, 1u << 20};

	(void)state;
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct store_index ix;
		size_t before = heap_used(), took;
		double ratio;

		assert_int_equal(index_init(&ix, "ixb", sizes[i], true, SOCKET_ID_ANY), 0);
		took = heap_used() - before;
		ratio = (double)index_table_bytes(sizes[i]) / (double)took;
		print_message("  %u slots: %zu bytes, estimated %zu (%.3f)\n", sizes[i], took,
			      index_table_bytes(sizes[i]), ratio);
		assert_true(ratio > 0.97 && ratio < 1.1);
		index_fini(&ix);
	}
}

/* Owner alone, nobody servicing: the owner makes each larger table when the table is full. */
static void
test_grows_without_service(void **state)
{
	struct store_index ix;
	uint32_t grows = 0;

	(void)state;
	assert_int_equal(index_init(&ix, "ixo", 1u << 20, false, SOCKET_ID_ANY), 0);
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
	assert_int_equal(ix.entries, 1u << 20);
	for (uint32_t i = 0; i < NKEYS; i++)
		assert_ptr_equal(index_lookup(&ix, &keys[i]), data_of(i));
	/* Deletes free slots of the current table; a full table at the maximum says so. */
	for (uint32_t i = 0; i < NKEYS; i += 2) {
		int32_t pos = index_del(&ix, &keys[i]);

		assert_true(pos >= 0);
		index_free_pos(&ix, pos);
		assert_null(index_lookup(&ix, &keys[i]));
	}
	assert_int_equal(index_count(&ix), NKEYS / 2);
	index_fini(&ix);
}

static int
reader_main(void *arg)
{
	const struct store_key *bk[INDEX_BULK_MAX];
	void *out[INDEX_BULK_MAX];
	uint64_t rng = (uintptr_t)arg, misses = 0, lookups = 0;

	(void)arg;
	rcu_register_thread();
	while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		for (unsigned i = 0; i < INDEX_BULK_MAX; i++) {
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			bk[i] = &keys[(rng >> 33) % NSTABLE];
		}
		if (rng & (1ull << 20)) {
			for (unsigned i = 0; i < INDEX_BULK_MAX; i++)
				misses += index_lookup(&g_ix, bk[i]) == NULL;
		} else {
			misses += INDEX_BULK_MAX -
				  (uint64_t)index_lookup_bulk(&g_ix, bk, INDEX_BULK_MAX, out);
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
	int32_t *deleted = calloc(NKEYS / 5 + 1, sizeof(*deleted));
	uint32_t ndeleted = 0;
	uint64_t serviced = 0;

	(void)state;
	assert_non_null(deleted);
	assert_int_equal(index_init(&g_ix, "ixc", 1u << 20, false, SOCKET_ID_ANY), 0);
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
		/* Churn: replace a stable key's data, delete and re-add an unstable one. */
		if (i % 7 == 0)
			assert_int_equal(index_put(&g_ix, &keys[i % NSTABLE], data_of(i % NSTABLE)), 0);
		if (i % 5 == 0) {
			/*
			 * A freed slot can recycle an extendable bucket a reader is walking, so
			 * slots are freed only after a grace period, as the shard frees them.
			 */
			int32_t pos = index_del(&g_ix, &keys[i - 1]);

			if (pos >= 0)
				deleted[ndeleted++] = pos;
			assert_int_equal(index_put(&g_ix, &keys[i - 1], data_of(i - 1)), 0);
		}
		if (i % 32 == 0) {
			index_maintain(&g_ix, 128);
			rcu_quiescent_state();
		}
		if (i % 20000 == 0) {
			/* A grace period, then the deleted slots go back (as the shard does). */
			rcu_thread_offline();
			synchronize_rcu();
			rcu_thread_online();
			for (uint32_t j = 0; j < ndeleted; j++)
				index_free_pos(&g_ix, deleted[j]);
			ndeleted = 0;
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
	for (uint32_t i = 0; i < ndeleted; i++)
		index_free_pos(&g_ix, deleted[i]);
	free(deleted);
	print_message("  %u growths, %" PRIu64 " keys moved, %" PRIu64 " lookups, %" PRIu64
		      " misses, %" PRIu64 " service actions\n",
		      g_ix.grows, g_ix.moved, g_lookups, g_misses, serviced);
	assert_int_equal(g_misses, 0);
	assert_true(g_ix.grows >= 3);
	assert_true(serviced > 0); /* the service made tables or freed emptied ones */
	assert_int_equal(index_count(&g_ix), NKEYS);
	for (uint32_t i = 0; i < NKEYS; i++)
		assert_ptr_equal(index_lookup(&g_ix, &keys[i]), data_of(i));
	index_fini(&g_ix);
}

int
main(void)
{
	int failed;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_bytes_estimate),
		cmocka_unit_test(test_grows_without_service),
		cmocka_unit_test(test_readers_never_miss_while_growing),
	};

	test_eal_init("(0-3)@(0,1)", 512);
	test_env_init(&env);
	keys_make();
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	free(keys);
	free(names);
	test_env_fini(&env);
	return failed;
}
