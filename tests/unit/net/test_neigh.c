/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for net/neigh.h: learn, lookup, refresh rules, replacement when the probe window
 * is full, walk, and a reader thread racing a writer (it must only ever see MACs written).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "net/neigh.h"
#include "test_eal.h"

#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static const struct rte_ether_addr mac_a = {{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
static const struct rte_ether_addr mac_b = {{0x0a, 0x99, 0x88, 0x77, 0x66, 0xee}};

static int
group_setup(void **state)
{
	const struct test_eal eal = {
		.name = "test_net_neigh", .mem_mb = 64, .prefix = "nc_test_net_neigh"};

	(void)state;
	return test_eal_start(&eal) < 0 ? -1 : 0;
}

static void
test_learn_lookup(void **state)
{
	struct net_neigh *n = net_neigh_create(SOCKET_ID_ANY);
	struct rte_ether_addr mac;
	uint64_t age = 99;

	(void)state;
	assert_non_null(n);
	assert_false(net_neigh_lookup(n, IP4(10, 0, 0, 1), &mac, 100, &age));
	assert_true(net_neigh_learn(n, IP4(10, 0, 0, 1), &mac_a, 100));
	assert_true(net_neigh_lookup(n, IP4(10, 0, 0, 1), &mac, 105, &age));
	assert_memory_equal(&mac, &mac_a, 6);
	assert_int_equal(age, 5);
	assert_true(net_neigh_lookup(n, IP4(10, 0, 0, 1), &mac, 105, NULL));
	assert_false(net_neigh_lookup(n, IP4(10, 0, 0, 2), &mac, 105, NULL));
	/* 0 is never an entry. */
	assert_false(net_neigh_learn(n, 0, &mac_a, 100));
	assert_false(net_neigh_lookup(n, 0, &mac, 100, NULL));

	/* Same MAC within NET_NEIGH_REFRESH_S: nothing written. */
	assert_false(net_neigh_learn(n, IP4(10, 0, 0, 1), &mac_a, 100));
	/* Older than that: refreshed. */
	assert_true(net_neigh_learn(n, IP4(10, 0, 0, 1), &mac_a, 100 + NET_NEIGH_REFRESH_S));
	assert_true(net_neigh_lookup(n, IP4(10, 0, 0, 1), &mac, 100 + NET_NEIGH_REFRESH_S, &age));
	assert_int_equal(age, 0);
	/* A new MAC: replaced at once. */
	assert_true(net_neigh_learn(n, IP4(10, 0, 0, 1), &mac_b, 100 + NET_NEIGH_REFRESH_S));
	assert_true(net_neigh_lookup(n, IP4(10, 0, 0, 1), &mac, 200, NULL));
	assert_memory_equal(&mac, &mac_b, 6);
	net_neigh_destroy(&n);
	assert_null(n);
	net_neigh_destroy(&n);
	net_neigh_destroy(NULL);
}

struct walk_acc {
	unsigned n;
	uint64_t max_age;
};

static void
walk_fn(void *arg, rte_be32_t ip, const struct rte_ether_addr *mac, uint64_t age_s)
{
	struct walk_acc *a = arg;

	(void)ip;
	(void)mac;
	a->n++;
	if (age_s > a->max_age)
		a->max_age = age_s;
}

static void
test_full_replaces_oldest(void **state)
{
	struct net_neigh *n = net_neigh_create(SOCKET_ID_ANY);
	struct rte_ether_addr mac;
	struct walk_acc acc = {0, 0};
	const unsigned count = NET_NEIGH_SIZE * 3;
	unsigned found = 0;

	(void)state;
	assert_non_null(n);
	/* Three times the table: every new address gets in, the oldest give way. */
	for (unsigned i = 0; i < count; i++) {
		rte_be32_t ip = rte_cpu_to_be_32(0x0a000000u + i + 1);

		assert_true(net_neigh_learn(n, ip, &mac_a, 1000 + i));
		assert_true(net_neigh_lookup(n, ip, &mac, 1000 + i, NULL));
	}
	for (unsigned i = 0; i < count; i++)
		found += net_neigh_lookup(n, rte_cpu_to_be_32(0x0a000000u + i + 1), &mac, 0, NULL);
	assert_true(found <= NET_NEIGH_SIZE);
	assert_true(found >= NET_NEIGH_SIZE / 2);
	/* The most recent ones survive. */
	for (unsigned i = count - 8; i < count; i++)
		assert_true(
			net_neigh_lookup(n, rte_cpu_to_be_32(0x0a000000u + i + 1), &mac, 0, NULL));
	assert_int_equal(net_neigh_walk(n, 1000 + count, walk_fn, &acc), found);
	assert_int_equal(acc.n, found);
	assert_true(acc.max_age <= count);
	net_neigh_destroy(&n);
}

/* ---- a reader racing a writer ---- */

#define RACE_ROUNDS 200000

struct race {
	struct net_neigh *n;
	volatile int stop;
	volatile int started;
	unsigned long seen, torn;
};

static void *
race_reader(void *arg)
{
	struct race *r = arg;
	struct rte_ether_addr mac;

	r->started = 1;
	for (unsigned long i = 0; i < 50 * (unsigned long)RACE_ROUNDS && !r->stop; i++) {
		if (!net_neigh_lookup(r->n, IP4(10, 1, 1, 1), &mac, 0, NULL))
			continue;
		r->seen++;
		if (!rte_is_same_ether_addr(&mac, &mac_a) && !rte_is_same_ether_addr(&mac, &mac_b))
			r->torn++;
	}
	return NULL;
}

static void
test_concurrent_reader(void **state)
{
	struct race r = {.n = net_neigh_create(SOCKET_ID_ANY)};
	pthread_t th;

	(void)state;
	assert_non_null(r.n);
	net_neigh_learn(r.n, IP4(10, 1, 1, 1), &mac_a, 0);
	assert_int_equal(pthread_create(&th, NULL, race_reader, &r), 0);
	for (int i = 0; i < 2000 && !r.started; i++)
		usleep(1000);
	for (unsigned i = 1; i <= RACE_ROUNDS; i++)
		assert_true(net_neigh_learn(r.n, IP4(10, 1, 1, 1), (i & 1) ? &mac_b : &mac_a, i));
	r.stop = 1;
	pthread_join(th, NULL);
	assert_true(r.seen > 0);
	assert_int_equal(r.torn, 0);
	net_neigh_destroy(&r.n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learn_lookup),
		cmocka_unit_test(test_full_replaces_oldest),
		cmocka_unit_test(test_concurrent_reader),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
