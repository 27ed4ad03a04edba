/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for cluster/ring.h: key hashes and placements against values taken from
 * libmemcached 1.1.4, point counts and weights, replica sets, ring change diffs, errors.
 * ring_libmemcached.py checks 100,000 keys per member list against libmemcached itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/ring.h"

static const struct nc_ring_params weighted_md5 = {NC_RING_POINTS_WEIGHTED, NC_RING_HASH_MD5};
static const struct nc_ring_params flat_oaat = {NC_RING_POINTS_FLAT, NC_RING_HASH_OAAT};
static const struct nc_ring_params flat_md5 = {NC_RING_POINTS_FLAT, NC_RING_HASH_MD5};

#define LOCAL3	  "127.0.0.1:21001", "127.0.0.1:21002", "127.0.0.1:21003"
#define PORT11211 "10.0.0.1", "10.0.0.2:11211", "10.0.0.3:11212", "[::1]", "[::1]:22122"

#define NAMES(...) ((const char *const[]){__VA_ARGS__})
#define COUNT(...) ((uint32_t)(sizeof(NAMES(__VA_ARGS__)) / sizeof(const char *)))

/* Build a ring of @p n names with @p weights (NULL: all 1); fails the test on error. */
static struct nc_ring *
build(const char *const *names, const uint32_t *weights, uint32_t n,
      const struct nc_ring_params *params)
{
	struct nc_ring_member m[64];
	struct nc_ring *ring = NULL;
	uint32_t bad = UINT32_MAX;
	int ret;

	assert_true(n <= 64);
	for (uint32_t i = 0; i < n; i++) {
		m[i].name = names[i];
		m[i].weight = weights == NULL ? 1 : weights[i];
	}
	ret = nc_ring_build(m, n, params, &ring, &bad);
	if (ret != 0)
		fail_msg("nc_ring_build: %s (member %u)", strerror(-ret), bad);
	return ring;
}

#define BUILD(params, ...) build(NAMES(__VA_ARGS__), NULL, COUNT(__VA_ARGS__), params)

/* Deterministic 32-bit points for sampling (xorshift32). */
static uint32_t
next_point(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* ---- diff collection ---- */

#define MAX_CHANGES 4096

struct changes {
	uint32_t n;
	uint64_t covered; /* key points in all reported arcs */
	struct nc_ring_change c[MAX_CHANGES];
};

static int
collect(const struct nc_ring_change *c, void *arg)
{
	struct changes *ch = arg;

	assert_true(c->first <= c->last);
	/* Ascending, not overlapping, and never two adjacent arcs with the same sets. */
	if (ch->n > 0) {
		const struct nc_ring_change *prev = &ch->c[ch->n - 1];

		assert_true(prev->last < c->first);
		if (prev->last + 1 == c->first)
			assert_false(prev->n_old == c->n_old && prev->n_new == c->n_new &&
				     memcmp(prev->old_set, c->old_set, sizeof(c->old_set)) == 0 &&
				     memcmp(prev->new_set, c->new_set, sizeof(c->new_set)) == 0);
	}
	assert_true(ch->n < MAX_CHANGES);
	ch->c[ch->n++] = *c;
	ch->covered += (uint64_t)c->last - c->first + 1;
	return 0;
}

static struct changes *
diff(const struct nc_ring *old, const struct nc_ring *new, uint32_t r)
{
	struct changes *ch = calloc(1, sizeof(*ch));

	assert_non_null(ch);
	assert_int_equal(nc_ring_diff(old, new, r, collect, ch), 0);
	return ch;
}

/* The reported arc holding @p p, or NULL. */
static const struct nc_ring_change *
arc_of(const struct changes *ch, uint32_t p)
{
	for (uint32_t i = 0; i < ch->n; i++)
		if (ch->c[i].first <= p && p <= ch->c[i].last)
			return &ch->c[i];
	return NULL;
}

/* Key space member @p m owns in @p ring, from the arcs a diff against no ring reports. */
static uint64_t
owned(const struct nc_ring *ring, uint32_t m)
{
	struct changes *all = diff(NULL, ring, 1);
	uint64_t sum = 0;

	assert_int_equal(all->covered, UINT64_C(1) << 32);
	for (uint32_t i = 0; i < all->n; i++) {
		assert_int_equal(all->c[i].n_old, 0);
		assert_int_equal(all->c[i].n_new, 1);
		if (all->c[i].new_set[0] == m)
			sum += (uint64_t)all->c[i].last - all->c[i].first + 1;
	}
	free(all);
	return sum;
}

/* ---- hashes and fixed placements (expected values from libmemcached 1.1.4) ---- */

/*
 * Expected hashes: libhashkit.so.2 (Debian 12, 1.1.4) through ctypes:
 *   CDLL("libhashkit.so.2").libhashkit_md5(key, len) and .libhashkit_one_at_a_time(key, len)
 */
static void
test_key_hash_vectors(void **state)
{
	struct nc_ring *md5 = BUILD(&weighted_md5, LOCAL3);
	struct nc_ring *oaat = BUILD(&flat_oaat, LOCAL3);
	static const struct {
		const char *key;
		size_t len;
		uint32_t md5, oaat;
	} v[] = {
		{"foo", 3, 0xdb18bdac, 0x238678dd},
		{"", 0, 0xd98c1dd4, 0x00000000},
		{"\377\200abc", 5, 0xa7eac204, 0xea10f0b9},
		{"127.0.0.1:21001-0", 17, 0xe8b65ed5, 0x18aeb587},
		{"10.0.0.1-0", 10, 0x2194783c, 0xf618fafa},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(nc_ring_hash(md5, v[i].key, v[i].len), v[i].md5);
		assert_int_equal(nc_ring_hash(oaat, v[i].key, v[i].len), v[i].oaat);
	}
	assert_int_equal(nc_ring_hash(md5, NULL, 0), 0xd98c1dd4);
	nc_ring_destroy(&md5);
	nc_ring_destroy(&oaat);
}

static const char *const fixed_keys[] = {
	"foo",	 "bar",	    "baz",	    "key:1",	   "key:2",
	"key:3", "user:42", "session/7f3a", "\377\200abc", "x",
};
#define N_FIXED (sizeof(fixed_keys) / sizeof(fixed_keys[0]))

static void
check_fixed(struct nc_ring *ring, const uint32_t want[N_FIXED])
{
	for (size_t i = 0; i < N_FIXED; i++) {
		uint32_t got = nc_ring_primary(ring, fixed_keys[i], strlen(fixed_keys[i]));

		if (got != want[i])
			fail_msg("key %zu: member %u, libmemcached says %u", i, got, want[i]);
	}
}

/*
 * Expected primaries: pylibmc 1.6.3 on libmemcached 1.1.4 (Debian 12), server index from
 *   pylibmc.Client(servers, behaviors=B).hash(key)
 * with B = {"ketama_weighted": True}, {"ketama": True} or {"ketama": True, "hash": "md5"} and
 * weights written "host:port:weight". "2nd" is the index, in the full list, of
 * libmemcached's placement over the list without the key's primary (what an ejecting
 * client does).
 */
static void
test_fixed_placements(void **state)
{
	static const uint32_t local3_weighted[N_FIXED] = {0, 0, 0, 1, 0, 1, 1, 2, 2, 1};
	static const uint32_t local3_weighted_2nd[N_FIXED] = {2, 2, 1, 2, 1, 0, 0, 0, 1, 2};
	static const uint32_t local3_flat_oaat[N_FIXED] = {0, 1, 1, 2, 0, 0, 2, 1, 0, 0};
	static const uint32_t local3_flat_md5[N_FIXED] = {2, 0, 2, 2, 0, 2, 0, 2, 2, 2};
	static const uint32_t port11211_weighted[N_FIXED] = {1, 1, 3, 3, 3, 4, 0, 1, 2, 0};
	static const uint32_t port11211_flat_oaat[N_FIXED] = {1, 0, 4, 0, 3, 0, 3, 3, 3, 1};
	static const uint32_t weighted10[N_FIXED] = {4, 4, 7, 4, 9, 4, 0, 8, 4, 8};
	static const uint32_t w10[] = {1, 2, 3, 5, 8, 1, 1, 4, 10, 7};
	const char *const names10[] = {
		"10.1.0.1:11211", "10.1.0.2:11211",  "10.1.0.3:11211", "10.1.0.4:11211",
		"10.1.0.5:11211", "10.1.0.6:11211",  "10.1.0.7:11211", "10.1.0.8:11211",
		"10.1.0.9:11211", "10.1.0.10:11211",
	};
	struct nc_ring *ring;
	uint32_t set[2];

	(void)state;
	ring = BUILD(&weighted_md5, LOCAL3);
	check_fixed(ring, local3_weighted);
	for (size_t i = 0; i < N_FIXED; i++) {
		assert_int_equal(
			nc_ring_successors(ring, fixed_keys[i], strlen(fixed_keys[i]), 2, set), 2);
		assert_int_equal(set[0], local3_weighted[i]);
		assert_int_equal(set[1], local3_weighted_2nd[i]);
	}
	nc_ring_destroy(&ring);

	ring = BUILD(&flat_oaat, LOCAL3);
	check_fixed(ring, local3_flat_oaat);
	nc_ring_destroy(&ring);
	ring = BUILD(&flat_md5, LOCAL3);
	check_fixed(ring, local3_flat_md5);
	nc_ring_destroy(&ring);
	ring = BUILD(NULL, PORT11211);
	check_fixed(ring, port11211_weighted);
	nc_ring_destroy(&ring);
	ring = BUILD(&flat_oaat, PORT11211);
	check_fixed(ring, port11211_flat_oaat);
	nc_ring_destroy(&ring);
	ring = build(names10, w10, 10, NULL);
	check_fixed(ring, weighted10);
	nc_ring_destroy(&ring);
}

/*
 * Equal points go to the member listed first, as libmemcached sorts by (value, index).
 * tie167.example and tie606.example (port 11211, weighted MD5) share the point 0x0f58fa0f;
 * ring_libmemcached.py finds the pair and checks libmemcached places the tied keys this way.
 */
static void
test_tie_goes_to_first_listed(void **state)
{
	struct nc_ring *ab = BUILD(NULL, "tie167.example", "tie606.example");
	struct nc_ring *ba = BUILD(NULL, "tie606.example", "tie167.example");

	(void)state;
	assert_int_equal(nc_ring_primary_at(ab, 0x0f58fa0f), 0);
	assert_int_equal(nc_ring_primary_at(ba, 0x0f58fa0f), 0);
	nc_ring_destroy(&ab);
	nc_ring_destroy(&ba);
}

/*
 * A point above the largest ring point belongs to the member of the smallest: the arc a
 * diff from no ring reports last (up to 0xffffffff) has the first arc's member.
 */
static void
test_wrap_around(void **state)
{
	const struct nc_ring_params *modes[] = {&weighted_md5, &flat_oaat, &flat_md5};

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct nc_ring *ring = BUILD(modes[i], LOCAL3);
		struct changes *all = diff(NULL, ring, 1);
		const struct nc_ring_change *first = &all->c[0], *last = &all->c[all->n - 1];

		assert_int_equal(first->first, 0);
		assert_int_equal(last->last, UINT32_MAX);
		assert_true(last->first > first->last + 1);
		assert_int_equal(last->new_set[0], first->new_set[0]);
		assert_int_equal(nc_ring_primary_at(ring, UINT32_MAX), first->new_set[0]);
		assert_int_equal(nc_ring_primary_at(ring, last->first), first->new_set[0]);
		assert_int_not_equal(nc_ring_primary_at(ring, last->first - 1), first->new_set[0]);
		free(all);
		nc_ring_destroy(&ring);
	}
}

/* ---- point counts and weights ---- */

static void
test_point_counts(void **state)
{
	static const uint32_t w[] = {1, 2, 3, 4};
	const char *names25[25];
	char buf[25][32];
	struct nc_ring *ring;

	(void)state;
	ring = BUILD(NULL, LOCAL3);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(nc_ring_member_points(ring, i), 160);
	assert_int_equal(nc_ring_point_count(ring), 480);
	nc_ring_destroy(&ring);

	ring = BUILD(&flat_oaat, LOCAL3);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(nc_ring_member_points(ring, i), 100);
	assert_int_equal(nc_ring_point_count(ring), 300);
	nc_ring_destroy(&ring);

	/* floor(w / 10 * 160 / 4 * 4) * 4 = 64 w */
	ring = build(NAMES("a:1", "b:1", "c:1", "d:1"), w, 4, NULL);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(nc_ring_member_points(ring, i), 64 * w[i]);
		assert_int_equal(nc_ring_member_weight(ring, i), w[i]);
	}
	nc_ring_destroy(&ring);

	/* libmemcached's float rounding: 25 equal members get 156 points each, not 160. */
	for (int i = 0; i < 25; i++) {
		snprintf(buf[i], sizeof(buf[i]), "10.2.0.%d:11211", i + 1);
		names25[i] = buf[i];
	}
	ring = build(names25, NULL, 25, NULL);
	for (uint32_t i = 0; i < 25; i++)
		assert_int_equal(nc_ring_member_points(ring, i), 156);
	nc_ring_destroy(&ring);

	/* A share that rounds to no points: the member owns nothing. */
	ring = build(NAMES("a", "b"), (const uint32_t[]){1, 100}, 2, NULL);
	assert_int_equal(nc_ring_member_points(ring, 0), 0);
	assert_int_equal(nc_ring_member_points(ring, 1), 316);
	nc_ring_destroy(&ring);
}

/* More weight, proportionally more keys. */
static void
test_weights_share_keys(void **state)
{
	static const uint32_t w[] = {1, 2, 3, 4};
	struct nc_ring *ring =
		build(NAMES("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"), w, 4, NULL);
	uint32_t count[4] = {0};
	char key[32];

	(void)state;
	for (int i = 0; i < 100000; i++) {
		int len = snprintf(key, sizeof(key), "key:%d", i);

		count[nc_ring_primary(ring, key, (size_t)len)]++;
	}
	for (int i = 0; i < 4; i++) {
		double want = 100000.0 * w[i] / 10.0;

		if (count[i] < 0.85 * want || count[i] > 1.15 * want)
			fail_msg("member %d (weight %u): %u keys, expected about %.0f", i, w[i],
				 count[i], want);
		if (i > 0)
			assert_true(count[i] > count[i - 1]);
	}
	nc_ring_destroy(&ring);
}

/* ---- replica sets ---- */

/* Members of @p ring in @p set[0..n), named, found in @p other; fails if one is missing. */
static void
map_set(const struct nc_ring *ring, const uint32_t *set, uint32_t n, const struct nc_ring *other,
	uint32_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		int j = nc_ring_member_find(other, nc_ring_member_name(ring, set[i]));

		assert_true(j >= 0);
		out[i] = (uint32_t)j;
	}
}

static void
test_successors(void **state)
{
	const char *const names[] = {"a:1", "b:2", "c:3", "d:4", "e:5"};
	struct nc_ring *ring = build(names, NULL, 5, NULL);
	struct nc_ring *without[5];
	uint32_t seed = 12345;

	(void)state;
	for (uint32_t i = 0; i < 5; i++) {
		const char *rest[4];
		uint32_t k = 0;

		for (uint32_t j = 0; j < 5; j++)
			if (j != i)
				rest[k++] = names[j];
		without[i] = build(rest, NULL, 4, NULL);
	}
	for (int n = 0; n < 20000; n++) {
		uint32_t p = next_point(&seed);
		uint32_t set[8], short_set[2], second;

		/* r above the member count: every member, once. */
		assert_int_equal(nc_ring_successors_at(ring, p, 8, set), 5);
		assert_int_equal(set[0], nc_ring_primary_at(ring, p));
		for (int a = 0; a < 5; a++)
			for (int b = a + 1; b < 5; b++)
				assert_int_not_equal(set[a], set[b]);
		/* Clockwise: the next distinct member is where the key goes without the primary
		 * (equal weights, so the others keep their points). */
		map_set(without[set[0]], (uint32_t[]){nc_ring_primary_at(without[set[0]], p)}, 1,
			ring, &second);
		assert_int_equal(set[1], second);
		/* A shorter set is a prefix of the longer one. */
		assert_int_equal(nc_ring_successors_at(ring, p, 2, short_set), 2);
		assert_memory_equal(short_set, set, sizeof(short_set));
		assert_int_equal(nc_ring_successors_at(ring, p, 1, short_set), 1);
		assert_int_equal(short_set[0], set[0]);
	}
	for (uint32_t i = 0; i < 5; i++)
		nc_ring_destroy(&without[i]);
	nc_ring_destroy(&ring);
}

/* A member without points is never in a replica set; the set is as large as it can be. */
static void
test_successors_skip_pointless_member(void **state)
{
	struct nc_ring *ring =
		build(NAMES("a", "b", "c"), (const uint32_t[]){1, 200, 200}, 3, NULL);
	uint32_t seed = 99, set[3];

	(void)state;
	assert_int_equal(nc_ring_member_points(ring, 0), 0);
	for (int n = 0; n < 1000; n++) {
		assert_int_equal(nc_ring_successors_at(ring, next_point(&seed), 3, set), 2);
		assert_int_not_equal(set[0], 0);
		assert_int_not_equal(set[1], 0);
	}
	nc_ring_destroy(&ring);
}

static void
test_single_member(void **state)
{
	struct nc_ring *ring = BUILD(NULL, "only:1");
	uint32_t set[3] = {9, 9, 9};

	(void)state;
	assert_int_equal(nc_ring_primary(ring, "k", 1), 0);
	assert_int_equal(nc_ring_successors(ring, "k", 1, 3, set), 1);
	assert_int_equal(set[0], 0);
	assert_int_equal(set[1], 9);
	nc_ring_destroy(&ring);
}

/* ---- ring change diffs ---- */

/* Sampled points: a point is in a reported arc exactly when its first r members changed. */
static void
check_arcs_cover_changes(const struct nc_ring *old, const struct nc_ring *new, uint32_t r,
			 const struct changes *ch)
{
	uint32_t seed = 4242;

	for (int n = 0; n < 20000; n++) {
		uint32_t p = next_point(&seed);
		uint32_t os[NC_RING_REPLICAS_MAX], ns[NC_RING_REPLICAS_MAX];
		uint32_t n_old = nc_ring_successors_at(old, p, r, os);
		uint32_t n_new = nc_ring_successors_at(new, p, r, ns);
		const struct nc_ring_change *c = arc_of(ch, p);
		bool same = n_old == n_new;

		for (uint32_t i = 0; same && i < n_old; i++) {
			int j = nc_ring_member_find(new, nc_ring_member_name(old, os[i]));

			same = j >= 0 && (uint32_t)j == ns[i];
		}
		if (same) {
			assert_null(c);
			continue;
		}
		assert_non_null(c);
		assert_int_equal(c->n_old, n_old);
		assert_int_equal(c->n_new, n_new);
		assert_memory_equal(c->old_set, os, n_old * sizeof(os[0]));
		assert_memory_equal(c->new_set, ns, n_new * sizeof(ns[0]));
	}
}

/* Adding a 4th member: only the arcs it now holds change, and they add up to all it owns. */
static void
test_diff_add_member(void **state)
{
	struct nc_ring *old = BUILD(NULL, "10.0.0.1", "10.0.0.2", "10.0.0.3");
	struct nc_ring *new = BUILD(NULL, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4");
	struct changes *ch;

	(void)state;
	ch = diff(old, new, 1);
	assert_true(ch->n > 0);
	for (uint32_t i = 0; i < ch->n; i++) {
		assert_int_equal(ch->c[i].n_old, 1);
		assert_int_equal(ch->c[i].n_new, 1);
		assert_int_equal(ch->c[i].new_set[0], 3);
	}
	assert_int_equal(ch->covered, owned(new, 3));
	check_arcs_cover_changes(old, new, 1, ch);
	free(ch);

	/* Two replicas: a set changes only where the new member joins it. */
	ch = diff(old, new, 2);
	for (uint32_t i = 0; i < ch->n; i++)
		assert_true(ch->c[i].new_set[0] == 3 || ch->c[i].new_set[1] == 3);
	check_arcs_cover_changes(old, new, 2, ch);
	free(ch);
	nc_ring_destroy(&old);
	nc_ring_destroy(&new);
}

/*
 * Removing a member: its arcs go to the next distinct member clockwise, which is exactly the
 * old ring's 2nd replica there. A ketama client that ejects the member lands on the copy.
 */
static void
test_diff_remove_member_lands_on_copy(void **state)
{
	struct nc_ring *old = BUILD(NULL, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4");
	struct nc_ring *new = BUILD(NULL, "10.0.0.1", "10.0.0.3", "10.0.0.4");
	struct changes *ch;
	uint64_t gone;

	(void)state;
	ch = diff(old, new, 1);
	gone = owned(old, 1);
	assert_int_equal(ch->covered, gone);
	for (uint32_t i = 0; i < ch->n; i++) {
		uint32_t before[2], copy;

		assert_int_equal(ch->c[i].old_set[0], 1);
		/* The old replica set is the same over the whole arc: look at both ends. */
		assert_int_equal(nc_ring_successors_at(old, ch->c[i].first, 2, before), 2);
		assert_int_equal(before[0], 1);
		map_set(old, &before[1], 1, new, &copy);
		assert_int_equal(ch->c[i].new_set[0], copy);
		assert_int_equal(nc_ring_successors_at(old, ch->c[i].last, 2, before), 2);
		map_set(old, &before[1], 1, new, &copy);
		assert_int_equal(ch->c[i].new_set[0], copy);
	}
	check_arcs_cover_changes(old, new, 1, ch);
	free(ch);

	ch = diff(old, new, 3);
	check_arcs_cover_changes(old, new, 3, ch);
	free(ch);
	nc_ring_destroy(&old);
	nc_ring_destroy(&new);
}

/* Identity across rings is host and port: "h" and "h:11211" are one member. */
static void
test_diff_same_members(void **state)
{
	struct nc_ring *a = BUILD(NULL, "10.0.0.1", "10.0.0.2:11211", "10.0.0.3:11212");
	struct nc_ring *b = BUILD(NULL, "10.0.0.1:11211", "10.0.0.2", "10.0.0.3:11212");
	struct changes *ch;

	(void)state;
	ch = diff(a, b, 3);
	assert_int_equal(ch->n, 0);
	free(ch);
	assert_int_equal(nc_ring_member_find(a, "10.0.0.2"), 1);
	assert_int_equal(nc_ring_member_find(a, "10.0.0.1:11211"), 0);
	assert_int_equal(nc_ring_member_find(a, "10.0.0.3"), -ENOENT);
	assert_int_equal(nc_ring_member_find(a, "10.0.0.3:"), -EINVAL);

	/* From or to no ring: every arc, all 2^32 points, once. */
	ch = diff(a, NULL, 2);
	assert_int_equal(ch->covered, UINT64_C(1) << 32);
	for (uint32_t i = 0; i < ch->n; i++) {
		assert_int_equal(ch->c[i].n_old, 2);
		assert_int_equal(ch->c[i].n_new, 0);
	}
	free(ch);
	ch = diff(NULL, NULL, 1);
	assert_int_equal(ch->n, 0);
	free(ch);
	nc_ring_destroy(&a);
	nc_ring_destroy(&b);
}

static int
stop_at_third(const struct nc_ring_change *c, void *arg)
{
	int *calls = arg;

	(void)c;
	return ++*calls == 3 ? 42 : 0;
}

static void
test_diff_errors_and_stop(void **state)
{
	struct nc_ring *md5 = BUILD(NULL, LOCAL3);
	struct nc_ring *oaat = BUILD(&flat_oaat, LOCAL3);
	struct nc_ring *flat = BUILD(&flat_md5, LOCAL3);
	struct changes *ch;
	int calls = 0;

	(void)state;
	assert_int_equal(nc_ring_diff(md5, md5, 0, stop_at_third, &calls), -EINVAL);
	assert_int_equal(nc_ring_diff(md5, md5, NC_RING_REPLICAS_MAX + 1, stop_at_third, &calls),
			 -EINVAL);
	assert_int_equal(nc_ring_diff(md5, oaat, 1, stop_at_third, &calls), -EINVAL);
	assert_int_equal(nc_ring_diff(md5, NULL, 1, NULL, NULL), -EINVAL);
	assert_int_equal(calls, 0);
	assert_int_equal(nc_ring_diff(NULL, md5, 1, stop_at_third, &calls), 42);
	assert_int_equal(calls, 3);
	/* Same hash, other point mode: a valid diff (a client switching modes). */
	ch = diff(md5, flat, 1);

	assert_true(ch->n > 0);
	check_arcs_cover_changes(md5, flat, 1, ch);
	free(ch);
	nc_ring_destroy(&flat);
	nc_ring_destroy(&md5);
	nc_ring_destroy(&oaat);
}

/* ---- errors ---- */

/* nc_ring_build() of one bad list: the error, the member blamed, and *out untouched. */
static void
expect_error(const struct nc_ring_member *m, uint32_t n, const struct nc_ring_params *params,
	     int err, uint32_t bad_member)
{
	struct nc_ring *ring = (struct nc_ring *)&ring;
	uint32_t bad = UINT32_MAX;

	assert_int_equal(nc_ring_build(m, n, params, &ring, &bad), err);
	assert_ptr_equal(ring, (struct nc_ring *)&ring);
	assert_int_equal(bad, bad_member);
}

static void
test_build_errors(void **state)
{
	static const char *const malformed[] = {
		"",	    ":11211", "h:0", "h:65536", "h:x",	  "h:", "::1", "[::1",
		"[]:11211", "[::1]x", "h p", "h\t",	"[a]:1:", "a]", "a[b",
	};
	char long_name[NC_RING_NAME_MAX + 2];
	struct nc_ring_member m[3];
	struct nc_ring *ring = NULL;

	(void)state;
	m[0] = (struct nc_ring_member){"10.0.0.1:11211", 1};
	m[1] = (struct nc_ring_member){"10.0.0.2:11211", 1};

	/* An empty list. */
	expect_error(m, 0, NULL, -EINVAL, UINT32_MAX);
	assert_int_equal(nc_ring_build(NULL, 1, NULL, &ring, NULL), -EINVAL);

	/* The same node twice, written alike or not. */
	m[2] = (struct nc_ring_member){"10.0.0.1:11211", 1};
	expect_error(m, 3, NULL, -EEXIST, 2);
	m[2] = (struct nc_ring_member){"10.0.0.2", 3};
	expect_error(m, 3, NULL, -EEXIST, 2);
	m[2] = (struct nc_ring_member){"[::1]", 1};
	m[1] = (struct nc_ring_member){"[::1]:11211", 1};
	expect_error(m, 3, NULL, -EEXIST, 2);
	m[1] = (struct nc_ring_member){"10.0.0.2:11211", 1};

	/* Weights. */
	m[2] = (struct nc_ring_member){"10.0.0.3", 0};
	expect_error(m, 3, NULL, -EINVAL, 2);
	m[2] = (struct nc_ring_member){"10.0.0.3", 2};
	expect_error(m, 3, &flat_oaat, -EINVAL, 2);

	/* Names. */
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		m[1] = (struct nc_ring_member){malformed[i], 1};
		expect_error(m, 2, NULL, -EINVAL, 1);
	}
	m[1] = (struct nc_ring_member){NULL, 1};
	expect_error(m, 2, NULL, -EINVAL, 1);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	m[1] = (struct nc_ring_member){long_name, 1};
	expect_error(m, 2, NULL, -ENAMETOOLONG, 1);
	long_name[NC_RING_NAME_MAX] = '\0'; /* exactly the longest */
	assert_int_equal(nc_ring_build(m, 2, NULL, &ring, NULL), 0);
	assert_string_equal(nc_ring_member_name(ring, 1), long_name);
	assert_null(nc_ring_member_name(ring, 2));
	nc_ring_destroy(&ring);

	/* Parameters. */
	m[1] = (struct nc_ring_member){"10.0.0.2", 1};
	expect_error(m, 2, &(struct nc_ring_params){.points = 7}, -EINVAL, UINT32_MAX);
	expect_error(m, 2, &(struct nc_ring_params){.hash = 7}, -EINVAL, UINT32_MAX);
	expect_error(m, NC_RING_MEMBERS_MAX + 1, NULL, -E2BIG, UINT32_MAX);

	/* Valid forms. */
	m[0] = (struct nc_ring_member){"[fe80::1%eth0]:22122", 1};
	m[1] = (struct nc_ring_member){"cache-1.example.com", 1};
	m[2] = (struct nc_ring_member){"h:00080", 1};
	assert_int_equal(nc_ring_build(m, 3, NULL, &ring, NULL), 0);
	assert_int_equal(nc_ring_member_find(ring, "h:80"), 2);
	nc_ring_destroy(&ring);
	nc_ring_destroy(&ring);
	nc_ring_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_hash_vectors),
		cmocka_unit_test(test_fixed_placements),
		cmocka_unit_test(test_tie_goes_to_first_listed),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_point_counts),
		cmocka_unit_test(test_weights_share_keys),
		cmocka_unit_test(test_successors),
		cmocka_unit_test(test_successors_skip_pointless_member),
		cmocka_unit_test(test_single_member),
		cmocka_unit_test(test_diff_add_member),
		cmocka_unit_test(test_diff_remove_member_lands_on_copy),
		cmocka_unit_test(test_diff_same_members),
		cmocka_unit_test(test_diff_errors_and_stop),
		cmocka_unit_test(test_build_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
