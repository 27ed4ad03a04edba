/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for cluster/route.h: the shard comes from the keyed digest with or without a
 * ring; with a ring the copies are the ring's replica set of the key's point and this node's
 * role follows from them; a node outside the ring holds nothing; a member's keys go, once a
 * ketama client drops it, to the member that holds their second copy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cluster/route.h"

#define NKEYS 20000

static const struct nc_digest_seed seed = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

static struct nc_ring *
build(const char *const *names, uint32_t n)
{
	struct nc_ring_member m[8];
	struct nc_ring *ring = NULL;

	assert_true(n <= 8);
	for (uint32_t i = 0; i < n; i++) {
		m[i].name = names[i];
		m[i].weight = 1;
	}
	assert_int_equal(nc_ring_build(m, n, NULL, &ring, NULL), 0);
	return ring;
}

static int
key_of(uint32_t i, char *buf, size_t cap)
{
	return snprintf(buf, cap, "user:%u:profile", i);
}

static const char *const three[] = {"127.0.0.1:21001", "127.0.0.1:21002", "127.0.0.1:21003"};

/* Without a ring: the digest's shard, no point, no copies, no ring hash needed. */
static void
test_alone(void **state)
{
	struct nc_route_table t = {.ring = NULL, .self = NC_ROUTE_NO_MEMBER, .copies = 2,
				   .nshards = 4};
	unsigned per_shard[4] = {0};

	(void)state;
	for (uint32_t i = 0; i < NKEYS; i++) {
		char key[32];
		int len = key_of(i, key, sizeof(key));
		struct nc_digest d;
		struct nc_route r;

		nc_digest_siphash13(&seed, key, (size_t)len, &d);
		nc_route(&t, &d, key, (size_t)len, &r);
		assert_int_equal(r.role, NC_ROUTE_ALONE);
		assert_int_equal(r.shard, nc_digest_shard(&d, 4));
		assert_int_equal(r.ncopies, 0);
		assert_int_equal(r.point, 0);
		assert_true(nc_route_is_local(&r));
		assert_int_equal(nc_route_primary(&r), NC_ROUTE_NO_MEMBER);
		per_shard[r.shard]++;
	}
	for (unsigned s = 0; s < 4; s++)
		assert_in_range(per_shard[s], NKEYS / 4 - NKEYS / 20, NKEYS / 4 + NKEYS / 20);
}

/*
 * Three members, R = 2, this node member 1: copies are the ring's successors of the key's
 * point, the role is where self is among them, the shard is the digest's as without a ring.
 */
static void
test_roles_follow_the_ring(void **state)
{
	struct nc_ring *ring = build(three, 3);
	struct nc_route_table t = {.ring = ring, .self = 1, .copies = 2, .nshards = 3};
	unsigned roles[4] = {0};

	(void)state;
	for (uint32_t i = 0; i < NKEYS; i++) {
		char key[32];
		int len = key_of(i, key, sizeof(key));
		uint32_t want[2];
		struct nc_digest d;
		struct nc_route r;

		nc_digest_siphash13(&seed, key, (size_t)len, &d);
		nc_route(&t, &d, key, (size_t)len, &r);
		assert_int_equal(r.shard, nc_digest_shard(&d, 3));
		assert_int_equal(r.point, nc_ring_hash(ring, key, (size_t)len));
		assert_int_equal(r.ncopies, 2);
		assert_int_equal(nc_ring_successors(ring, key, (size_t)len, 2, want), 2);
		assert_int_equal(r.copy[0], want[0]);
		assert_int_equal(r.copy[1], want[1]);
		assert_int_equal(nc_route_primary(&r), nc_ring_primary(ring, key, (size_t)len));
		assert_int_not_equal(r.copy[0], r.copy[1]);
		if (r.copy[0] == 1)
			assert_int_equal(r.role, NC_ROUTE_PRIMARY);
		else if (r.copy[1] == 1)
			assert_int_equal(r.role, NC_ROUTE_REPLICA);
		else
			assert_int_equal(r.role, NC_ROUTE_REMOTE);
		assert_true(nc_route_is_local(&r) == (r.role != NC_ROUTE_REMOTE));
		roles[r.role]++;
	}
	/* Each member is primary for about a third of the keys and holds about two thirds. */
	print_message("  primary %u, replica %u, remote %u of %u keys\n", roles[NC_ROUTE_PRIMARY],
		      roles[NC_ROUTE_REPLICA], roles[NC_ROUTE_REMOTE], NKEYS);
	assert_in_range(roles[NC_ROUTE_PRIMARY], NKEYS / 4, NKEYS / 2);
	assert_in_range(roles[NC_ROUTE_REPLICA], NKEYS / 4, NKEYS / 2);
	assert_in_range(roles[NC_ROUTE_REMOTE], NKEYS / 4, NKEYS / 2);
	nc_ring_destroy(&ring);
}

/* A node the ring does not name (etcd lease lost) holds nothing; R above the members is capped. */
static void
test_not_member_and_r_capped(void **state)
{
	struct nc_ring *ring = build(three, 3);
	struct nc_route_table out = {.ring = ring, .self = NC_ROUTE_NO_MEMBER, .copies = 1,
				     .nshards = 2};
	struct nc_route_table all = {.ring = ring, .self = 2, .copies = 5, .nshards = 2};

	(void)state;
	for (uint32_t i = 0; i < 2000; i++) {
		char key[32];
		int len = key_of(i, key, sizeof(key));
		struct nc_digest d;
		struct nc_route r;

		nc_digest_siphash13(&seed, key, (size_t)len, &d);
		nc_route(&out, &d, key, (size_t)len, &r);
		assert_int_equal(r.role, NC_ROUTE_REMOTE);
		assert_int_equal(r.ncopies, 1);
		nc_route(&all, &d, key, (size_t)len, &r);
		assert_int_equal(r.ncopies, 3);
		assert_true(r.role == NC_ROUTE_PRIMARY || r.role == NC_ROUTE_REPLICA);
	}
	nc_ring_destroy(&ring);
}

/*
 * The placement's promise to ketama clients with auto-eject: once member X is dropped from the
 * list, every key X was primary for goes to the member holding its second copy, and no other
 * key moves (equal weights, 3 members to 2).
 */
static void
test_ejected_member_lands_on_the_copy(void **state)
{
	struct nc_ring *ring = build(three, 3);
	const char *const two[] = {three[1], three[2]}; /* member 0 ejected */
	struct nc_ring *ejected = build(two, 2);
	struct nc_route_table t = {.ring = ring, .self = 0, .copies = 2, .nshards = 1};
	unsigned moved = 0;

	(void)state;
	for (uint32_t i = 0; i < NKEYS; i++) {
		char key[32];
		int len = key_of(i, key, sizeof(key));
		uint32_t after = nc_ring_primary(ejected, key, (size_t)len) + 1; /* index in ring */
		struct nc_digest d;
		struct nc_route r;

		nc_digest_siphash13(&seed, key, (size_t)len, &d);
		nc_route(&t, &d, key, (size_t)len, &r);
		if (r.role == NC_ROUTE_PRIMARY) {
			assert_int_equal(after, r.copy[1]);
			moved++;
		} else {
			assert_int_equal(after, r.copy[0]);
		}
	}
	assert_true(moved > NKEYS / 5);
	nc_ring_destroy(&ejected);
	nc_ring_destroy(&ring);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alone),
		cmocka_unit_test(test_roles_follow_the_ring),
		cmocka_unit_test(test_not_member_and_r_capped),
		cmocka_unit_test(test_ejected_member_lands_on_the_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
