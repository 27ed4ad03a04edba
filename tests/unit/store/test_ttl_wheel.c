/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ttl_wheel.h"

#define DAY (24u * 60 * 60)
#define YEAR (365u * DAY)

/* Distances from the start time that sit on or next to every level boundary, and beyond. */
static const nc_reltime_t deltas[] = {
	1, 2, 63, 64, 65, 127, 128, 129, 300, 3600, 4095, 4096, 4097, 5 * 3600 + 17,
	DAY + 1, 2 * DAY + 5, 262143, 262144, 262145, 30 * DAY, 16777215, 16777216, 16777217,
	200 * DAY, YEAR, 10 * YEAR + 3,
};
#define NDELTAS (sizeof(deltas) / sizeof(deltas[0]))

/* Start times: the clock's start, unaligned ones, ones just short of higher-level carries. */
static const nc_reltime_t starts[] = {
	2, 1000003, (1u << 24) - 5, 3u * (1u << 24) + 262143, 0x7fffff00u,
};
#define NSTARTS (sizeof(starts) / sizeof(starts[0]))

struct titem {
	struct tw_node node;
	uint32_t id;
	unsigned fired;
	nc_reltime_t fired_at;
	bool free_on_fire;
};

#define TITEM(n) ((struct titem *)(void *)((char *)(n) - offsetof(struct titem, node)))

struct fire_ctx {
	nc_reltime_t high;          /* latest time ever given to the wheel (init or advance) */
	unsigned calls;
	bool check_order;           /* expiries must come out non-decreasing */
	nc_reltime_t last_expire;
	void (*hook)(struct fire_ctx *c, struct titem *it);
	struct ttl_wheel *w;
	void *user;
};

static void
on_expire(struct tw_node *n, void *arg)
{
	struct fire_ctx *c = arg;
	struct titem *it = TITEM(n);

	assert_false(tw_node_linked(n));
	/* Never early: the caller's time has reached the expiry. */
	assert_true(n->expire <= c->high);
	assert_int_equal(it->fired, 0);
	it->fired++;
	it->fired_at = c->high;
	c->calls++;
	if (c->check_order) {
		assert_true(n->expire >= c->last_expire);
		c->last_expire = n->expire;
	}
	if (c->hook != NULL)
		c->hook(c, it);
	if (it->free_on_fire)
		free(it);
}

static void
ctx_init(struct fire_ctx *c, struct ttl_wheel *w, nc_reltime_t start)
{
	memset(c, 0, sizeof(*c));
	c->high = start;
	c->w = w;
	ttl_wheel_init(w, start);
}

/* Advance and check that the return value matches the callbacks made. */
static unsigned
adv(struct fire_ctx *c, nc_reltime_t now, unsigned budget)
{
	unsigned before = c->calls;
	unsigned r;

	if (now > c->high)
		c->high = now;
	r = ttl_wheel_advance(c->w, now, budget, on_expire, c);
	assert_int_equal(r, c->calls - before);
	assert_true(r <= budget);
	return r;
}

static void
item_init(struct titem *it, uint32_t id)
{
	memset(it, 0, sizeof(*it));
	tw_node_init(&it->node);
	it->id = id;
}

static struct ttl_wheel *
wheel_new(void)
{
	struct ttl_wheel *w = malloc(sizeof(*w));

	assert_non_null(w);
	return w;
}

static void
test_init_empty(void **state)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem it;

	(void)state;
	ctx_init(&c, w, 7);
	item_init(&it, 0);
	assert_false(tw_node_linked(&it.node));
	assert_int_equal(ttl_wheel_count(w), 0);
	assert_int_equal(ttl_wheel_now(w), 7);
	assert_int_equal(adv(&c, 7, UINT_MAX), 0);
	assert_int_equal(adv(&c, 8, UINT_MAX), 0);
	assert_int_equal(ttl_wheel_now(w), 8);
	/* Removing an unlinked node is a no-op. */
	ttl_wheel_remove(w, &it.node);
	assert_int_equal(ttl_wheel_count(w), 0);
	free(w);
}

/* One node per wheel, for every start and every delta: fires exactly at its second. */
static void
test_exact_each_delta(void **state)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem it;
	size_t s, d;
	int way;

	(void)state;
	for (s = 0; s < NSTARTS; s++) {
		for (d = 0; d < NDELTAS; d++) {
			for (way = 0; way < 5; way++) {
				nc_reltime_t start = starts[s];
				nc_reltime_t e = start + deltas[d];
				nc_reltime_t t;

				ctx_init(&c, w, start);
				item_init(&it, 0);
				ttl_wheel_insert(w, &it.node, e);
				assert_true(tw_node_linked(&it.node));
				assert_int_equal(ttl_wheel_count(w), 1);
				if (way == 3) {
					/* Straight from the start to the expiry in one call. */
					assert_int_equal(adv(&c, e, UINT_MAX), 1);
					assert_int_equal(it.fired_at, e);
					assert_int_equal(ttl_wheel_count(w), 0);
					assert_true(w->events <= TW_LEVELS + 1);
					continue;
				}
				if (way == 4) {
					/* Straight past the expiry by various amounts. */
					t = e + deltas[(d * 7 + s) % NDELTAS];
					assert_int_equal(adv(&c, t, UINT_MAX), 1);
					assert_int_equal(it.fired_at, t);
					assert_int_equal(ttl_wheel_now(w), t);
					assert_true(w->events <= TW_LEVELS + 1);
					continue;
				}
				if (way == 1) {
					/* Stop half way, so the node cascades on the way. */
					assert_int_equal(adv(&c, start + deltas[d] / 2, UINT_MAX), 0);
				} else if (way == 2) {
					/* Walk up in steps of a seventh. */
					for (t = start; e - t > deltas[d] / 7 + 1; t += deltas[d] / 7 + 1)
						assert_int_equal(adv(&c, t, UINT_MAX), 0);
				}
				assert_int_equal(adv(&c, e - 1, UINT_MAX), 0);
				assert_int_equal(it.fired, 0);
				assert_true(tw_node_linked(&it.node));
				assert_int_equal(ttl_wheel_count(w), 1);
				assert_int_equal(adv(&c, e, UINT_MAX), 1);
				assert_int_equal(it.fired, 1);
				assert_int_equal(it.fired_at, e);
				assert_false(tw_node_linked(&it.node));
				assert_int_equal(ttl_wheel_count(w), 0);
				assert_int_equal(adv(&c, e + 100, UINT_MAX), 0);
				/* One event per level crossed at most, plus an overflow scan. */
				assert_true(w->events <= TW_LEVELS + 1);
			}
		}
	}
	free(w);
}

static int
cmp_reltime(const void *a, const void *b)
{
	nc_reltime_t x = *(const nc_reltime_t *)a, y = *(const nc_reltime_t *)b;

	return x < y ? -1 : x > y;
}

/* All deltas in one wheel: each expiry second fires exactly its own nodes. */
static void
test_exact_all_in_one(void **state)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem items[NDELTAS * 2];
	nc_reltime_t sorted[NDELTAS];
	size_t s, i, j;

	(void)state;
	memcpy(sorted, deltas, sizeof(sorted));
	qsort(sorted, NDELTAS, sizeof(sorted[0]), cmp_reltime);
	for (s = 0; s < NSTARTS; s++) {
		nc_reltime_t start = starts[s];

		ctx_init(&c, w, start);
		c.check_order = true;
		for (i = 0; i < NDELTAS * 2; i++) {
			item_init(&items[i], (uint32_t)i);
			ttl_wheel_insert(w, &items[i].node, start + deltas[i % NDELTAS]);
		}
		assert_int_equal(ttl_wheel_count(w), NDELTAS * 2);
		for (i = 0; i < NDELTAS; i++) {
			nc_reltime_t e = start + sorted[i];
			unsigned left = ttl_wheel_count(w);

			assert_int_equal(adv(&c, e - 1, UINT_MAX), 0);
			assert_int_equal(adv(&c, e, UINT_MAX), 2);
			assert_int_equal(ttl_wheel_count(w), left - 2);
			for (j = 0; j < NDELTAS * 2; j++) {
				nc_reltime_t ej = start + deltas[j % NDELTAS];

				assert_int_equal(items[j].fired, ej <= e ? 1 : 0);
				if (ej <= e)
					assert_int_equal(items[j].fired_at, ej);
			}
		}
		assert_int_equal(ttl_wheel_count(w), 0);
		assert_true(w->events <= NDELTAS * (TW_LEVELS + 1));
	}
	free(w);
}

static void
test_budget(void **state)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem *items = calloc(160, sizeof(*items));
	unsigned i, r, total = 0, rounds = 0;

	(void)state;
	assert_non_null(items);
	ctx_init(&c, w, 100);
	c.check_order = true;
	for (i = 0; i < 160; i++) {
		item_init(&items[i], i);
		ttl_wheel_insert(w, &items[i].node, i < 100 ? 200 : i < 150 ? 201 : 5000);
	}
	/* Budget 0 fires nothing and loses nothing. */
	assert_int_equal(adv(&c, 6000, 0), 0);
	assert_int_equal(ttl_wheel_count(w), 160);
	assert_true(ttl_wheel_now(w) <= 200);
	/* The first 30 are all from second 200. */
	assert_int_equal(adv(&c, 6000, 30), 30);
	for (i = 0; i < 160; i++)
		assert_int_equal(items[i].fired, i < 30 ? 1 : 0);
	assert_int_equal(ttl_wheel_count(w), 130);
	total = 30;
	/* Leftovers keep firing with the same now until a call comes in under budget. */
	do {
		r = adv(&c, 6000, 30);
		total += r;
		rounds++;
	} while (r == 30);
	assert_int_equal(total, 160);
	assert_int_equal(rounds, 5);
	assert_int_equal(ttl_wheel_count(w), 0);
	assert_int_equal(ttl_wheel_now(w), 6000);
	for (i = 0; i < 160; i++)
		assert_int_equal(items[i].fired, 1);

	/* Budget of exactly what is due, then more arrives later. */
	ctx_init(&c, w, 100);
	for (i = 0; i < 10; i++) {
		item_init(&items[i], i);
		ttl_wheel_insert(w, &items[i].node, 150 + i);
	}
	assert_int_equal(adv(&c, 154, 5), 5);
	assert_int_equal(adv(&c, 154, 5), 0);
	assert_int_equal(adv(&c, 1000, 1), 1);
	assert_int_equal(items[5].fired, 1);
	assert_int_equal(items[6].fired, 0);
	assert_int_equal(adv(&c, 1000, 100), 4);
	assert_int_equal(ttl_wheel_count(w), 0);
	free(items);
	free(w);
}

/* Remove a node from every level (alone in its slot and with slot mates). */
static void
test_remove_each_level(void **state)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem target, mate, next;
	size_t s, d;
	int alone;

	(void)state;
	for (s = 0; s < NSTARTS; s++) {
		for (d = 0; d < NDELTAS; d++) {
			for (alone = 0; alone < 2; alone++) {
				nc_reltime_t start = starts[s];
				nc_reltime_t e = start + deltas[d];

				ctx_init(&c, w, start);
				item_init(&target, 0);
				item_init(&mate, 1);
				item_init(&next, 2);
				ttl_wheel_insert(w, &target.node, e);
				if (!alone) {
					ttl_wheel_insert(w, &mate.node, e);
					ttl_wheel_insert(w, &next.node, e + 1);
				}
				ttl_wheel_remove(w, &target.node);
				assert_false(tw_node_linked(&target.node));
				assert_int_equal(ttl_wheel_count(w), alone ? 0 : 2);
				ttl_wheel_remove(w, &target.node);
				assert_int_equal(ttl_wheel_count(w), alone ? 0 : 2);
				assert_int_equal(adv(&c, e - 1, UINT_MAX), 0);
				assert_int_equal(adv(&c, e, UINT_MAX), alone ? 0 : 1);
				assert_int_equal(adv(&c, e + 1, UINT_MAX), alone ? 0 : 1);
				assert_int_equal(target.fired, 0);
				if (alone) {
					/* Bitmaps and the overflow minimum were cleared: no work at all. */
					assert_int_equal(w->events, 0);
				} else {
					assert_int_equal(mate.fired_at, e);
					assert_int_equal(next.fired_at, e + 1);
				}
				assert_int_equal(ttl_wheel_count(w), 0);
			}
		}
	}

	/* Remove after the node has cascaded down part of the way. */
	ctx_init(&c, w, 2);
	item_init(&target, 0);
	ttl_wheel_insert(w, &target.node, 2 + 300 * DAY);
	assert_int_equal(adv(&c, 2 + 299 * DAY, UINT_MAX), 0);
	ttl_wheel_remove(w, &target.node);
	assert_int_equal(adv(&c, 2 + 301 * DAY, UINT_MAX), 0);
	assert_int_equal(target.fired, 0);

	/* Remove from the due list. */
	ctx_init(&c, w, 1000);
	item_init(&target, 0);
	item_init(&mate, 1);
	ttl_wheel_insert(w, &target.node, 10);
	ttl_wheel_insert(w, &mate.node, 1000);
	ttl_wheel_remove(w, &target.node);
	assert_int_equal(ttl_wheel_count(w), 1);
	assert_int_equal(adv(&c, 1000, UINT_MAX), 1);
	assert_int_equal(target.fired, 0);
	assert_int_equal(mate.fired, 1);
	free(w);
}

/* Move nodes between every pair of levels, both earlier and later, before and after cascading. */
static void
test_reschedule(void **state)
{
	static const nc_reltime_t level_deltas[] = {
		5, 100, 5000, 300000, 20000000, 10 * YEAR,
	};
	const size_t n = sizeof(level_deltas) / sizeof(level_deltas[0]);
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem it;
	size_t s, a, b;
	int partial;

	(void)state;
	for (s = 0; s < NSTARTS; s++) {
		for (a = 0; a < n; a++) {
			for (b = 0; b < n; b++) {
				for (partial = 0; partial < 2; partial++) {
					nc_reltime_t start = starts[s];
					nc_reltime_t e1 = start + level_deltas[a];
					nc_reltime_t t = partial ? start + level_deltas[a] / 2 : start;
					nc_reltime_t e2 = t + level_deltas[b];

					ctx_init(&c, w, start);
					item_init(&it, 0);
					ttl_wheel_insert(w, &it.node, e1);
					assert_int_equal(adv(&c, t, UINT_MAX), 0);
					ttl_wheel_reschedule(w, &it.node, e2);
					assert_int_equal(ttl_wheel_count(w), 1);
					assert_int_equal(it.node.expire, e2);
					/* Passing the old expiry (if earlier) fires nothing. */
					assert_int_equal(adv(&c, e2 - 1, UINT_MAX), 0);
					assert_int_equal(adv(&c, e2, UINT_MAX), 1);
					assert_int_equal(it.fired_at, e2);
					assert_int_equal(adv(&c, e2 > e1 ? e2 + 1 : e1 + 1, UINT_MAX), 0);
					assert_int_equal(ttl_wheel_count(w), 0);
				}
			}
		}
	}

	/* Rescheduling an unlinked node inserts it; rescheduling into the past makes it due. */
	ctx_init(&c, w, 50);
	item_init(&it, 0);
	ttl_wheel_reschedule(w, &it.node, 60);
	assert_int_equal(ttl_wheel_count(w), 1);
	ttl_wheel_reschedule(w, &it.node, 40);
	assert_int_equal(ttl_wheel_count(w), 1);
	assert_int_equal(adv(&c, 50, UINT_MAX), 1);
	assert_int_equal(adv(&c, 70, UINT_MAX), 0);
	free(w);
}

static void
test_insert_due(void **state)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem a, b, d;

	(void)state;
	ctx_init(&c, w, 1000);
	item_init(&a, 0);
	item_init(&b, 1);
	item_init(&d, 2);
	ttl_wheel_insert(w, &a.node, 500);
	ttl_wheel_insert(w, &b.node, 1000);
	ttl_wheel_insert(w, &d.node, 1);
	assert_int_equal(ttl_wheel_count(w), 3);
	assert_true(tw_node_linked(&a.node));
	/* Same now as the wheel's: must not take the "nothing to do" shortcut. */
	assert_int_equal(adv(&c, 1000, 2), 2);
	assert_int_equal(a.fired + b.fired, 2);
	/* An older now still drains the due list. */
	assert_int_equal(adv(&c, 900, UINT_MAX), 1);
	assert_int_equal(d.fired, 1);
	assert_int_equal(ttl_wheel_now(w), 1000);
	assert_int_equal(ttl_wheel_count(w), 0);
	free(w);
}

static void
test_time_backwards(void **state)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem a, b;

	(void)state;
	ctx_init(&c, w, 5000);
	item_init(&a, 0);
	item_init(&b, 1);
	ttl_wheel_insert(w, &a.node, 5010);
	assert_int_equal(adv(&c, 100, UINT_MAX), 0);
	assert_int_equal(ttl_wheel_now(w), 5000);
	assert_int_equal(adv(&c, 5009, UINT_MAX), 0);
	assert_int_equal(adv(&c, 4000, UINT_MAX), 0);
	assert_int_equal(ttl_wheel_now(w), 5009);
	assert_int_equal(adv(&c, 5010, UINT_MAX), 1);
	assert_int_equal(adv(&c, 4000, UINT_MAX), 0);
	assert_int_equal(ttl_wheel_now(w), 5010);
	/* Already due against the wheel's time even though older than the caller's now. */
	ttl_wheel_insert(w, &b.node, 5005);
	assert_int_equal(adv(&c, 4000, UINT_MAX), 1);
	assert_int_equal(b.fired, 1);
	free(w);
}

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * UINT64_C(2685821657736338717);
}

static uint32_t
rng_below(uint32_t n)
{
	return n == 0 ? 0 : (uint32_t)(rng() % n);
}

static void
test_big_jumps(void **state)
{
	enum { N = 2000 };
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem *items = calloc(N, sizeof(*items));
	unsigned i, fired;
	nc_reltime_t start = 2, jump = start + 10 * YEAR;

	(void)state;
	assert_non_null(items);
	/* Empty wheel: ten years in one call, no work at all. */
	ctx_init(&c, w, start);
	assert_int_equal(adv(&c, jump, UINT_MAX), 0);
	assert_int_equal(ttl_wheel_now(w), jump);
	assert_int_equal(w->events, 0);
	assert_int_equal(adv(&c, UINT32_MAX, UINT_MAX), 0);
	assert_int_equal(w->events, 0);

	/* Nodes spread over twenty years, one jump of ten years, then to the end of time. */
	rng_state = 12345;
	ctx_init(&c, w, start);
	for (i = 0; i < N; i++) {
		item_init(&items[i], i);
		ttl_wheel_insert(w, &items[i].node,
			i == N - 1 ? UINT32_MAX : start + 1 + rng_below(20 * YEAR));
	}
	fired = adv(&c, jump, UINT_MAX);
	for (i = 0; i < N; i++)
		assert_int_equal(items[i].fired, items[i].node.expire <= jump ? 1 : 0);
	assert_int_equal(ttl_wheel_count(w), N - fired);
	/* Bounded work: each node is placed at most once per level plus once off overflow. */
	assert_true(w->events <= (uint64_t)N * (TW_LEVELS + 1));
	assert_int_equal(adv(&c, UINT32_MAX - 1, UINT_MAX), N - fired - 1);
	assert_int_equal(items[N - 1].fired, 0);
	assert_int_equal(adv(&c, UINT32_MAX, UINT_MAX), 1);
	assert_int_equal(ttl_wheel_count(w), 0);
	assert_true(w->events <= (uint64_t)N * (TW_LEVELS + 1) * 2);
	for (i = 0; i < N; i++)
		assert_int_equal(items[i].fired, 1);

	/* Near the top of the time range. */
	ctx_init(&c, w, UINT32_MAX - 100);
	item_init(&items[0], 0);
	ttl_wheel_insert(w, &items[0].node, UINT32_MAX);
	assert_int_equal(adv(&c, UINT32_MAX - 1, UINT_MAX), 0);
	assert_int_equal(adv(&c, UINT32_MAX, UINT_MAX), 1);
	free(items);
	free(w);
}

/* The callback removes, reschedules, re-inserts and frees nodes. */
struct mut_user {
	struct titem *victim_due;    /* due at the same time: removed before it fires */
	struct titem *victim_far;    /* far away: removed */
	struct titem *pulled_in;     /* moved from far away to now: fires in this same call */
	struct titem *pushed_out;    /* due at the same time: moved a day later */
	struct titem *trigger;
	bool reinserted;
};

static void
mut_hook(struct fire_ctx *c, struct titem *it)
{
	struct mut_user *u = c->user;

	if (it != u->trigger || u->reinserted)
		return;
	ttl_wheel_remove(c->w, &u->victim_due->node);
	ttl_wheel_remove(c->w, &u->victim_far->node);
	ttl_wheel_reschedule(c->w, &u->pulled_in->node, c->high);
	ttl_wheel_reschedule(c->w, &u->pushed_out->node, c->high + DAY);
	/* Re-insert the node being expired itself; reset its record for the second fire. */
	u->reinserted = true;
	ttl_wheel_insert(c->w, &it->node, c->high + 10);
	it->fired = 0;
}

static void
test_callback_mutations(void **state)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct titem it[5];
	struct titem *heap_item = malloc(sizeof(*heap_item));
	struct mut_user u;
	unsigned i;

	(void)state;
	assert_non_null(heap_item);
	ctx_init(&c, w, 100);
	for (i = 0; i < 5; i++)
		item_init(&it[i], i);
	item_init(heap_item, 99);
	heap_item->free_on_fire = true;
	u = (struct mut_user){
		.victim_due = &it[1], .victim_far = &it[2], .pulled_in = &it[3],
		.pushed_out = &it[4], .trigger = &it[0],
	};
	c.hook = mut_hook;
	c.user = &u;
	ttl_wheel_insert(w, &it[0].node, 200);
	ttl_wheel_insert(w, &it[1].node, 200);
	ttl_wheel_insert(w, &it[2].node, 100 + YEAR);
	ttl_wheel_insert(w, &it[3].node, 100 + 5 * YEAR);
	ttl_wheel_insert(w, &it[4].node, 200);
	ttl_wheel_insert(w, &heap_item->node, 150);
	assert_int_equal(ttl_wheel_count(w), 6);
	/* heap_item (freed by the callback), it[0], then it[3] pulled in. */
	assert_int_equal(adv(&c, 200, UINT_MAX), 3);
	assert_int_equal(it[0].fired, 0); /* re-inserted; record reset */
	assert_true(tw_node_linked(&it[0].node));
	assert_int_equal(it[1].fired, 0);
	assert_int_equal(it[2].fired, 0);
	assert_int_equal(it[3].fired, 1);
	assert_int_equal(it[4].fired, 0);
	assert_int_equal(ttl_wheel_count(w), 2);
	assert_int_equal(adv(&c, 210, UINT_MAX), 1);
	assert_int_equal(it[0].fired, 1);
	assert_int_equal(adv(&c, 200 + DAY - 1, UINT_MAX), 0);
	assert_int_equal(adv(&c, 200 + DAY, UINT_MAX), 1);
	assert_int_equal(it[4].fired_at, 200 + DAY);
	assert_int_equal(adv(&c, 100 + 10 * YEAR, UINT_MAX), 0);
	assert_int_equal(ttl_wheel_count(w), 0);
	free(w);
}

/*
 * Randomised test against a reference model: every scheduling fires exactly once unless
 * removed, never early, and never late when the advance came in under budget.
 */

struct rnode {
	struct titem t;
	uint32_t gen;
	bool scheduled;
	nc_reltime_t expire;
};

struct hent {
	nc_reltime_t expire;
	uint32_t id;
	uint32_t gen;
};

struct model {
	struct rnode *nodes;
	uint32_t n;
	struct hent *heap;
	size_t heap_len, heap_cap;
	uint32_t scheduled;
	uint64_t schedules, removes, fires;
};

static struct model *cur_model;

static void
heap_push(struct model *m, struct hent e)
{
	size_t i;

	if (m->heap_len == m->heap_cap) {
		m->heap_cap = m->heap_cap ? m->heap_cap * 2 : 1024;
		m->heap = realloc(m->heap, m->heap_cap * sizeof(*m->heap));
		assert_non_null(m->heap);
	}
	i = m->heap_len++;
	while (i > 0 && m->heap[(i - 1) / 2].expire > e.expire) {
		m->heap[i] = m->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	m->heap[i] = e;
}

static void
heap_pop(struct model *m)
{
	struct hent last = m->heap[--m->heap_len];
	size_t i = 0, k;

	for (;;) {
		k = 2 * i + 1;
		if (k >= m->heap_len)
			break;
		if (k + 1 < m->heap_len && m->heap[k + 1].expire < m->heap[k].expire)
			k++;
		if (m->heap[k].expire >= last.expire)
			break;
		m->heap[i] = m->heap[k];
		i = k;
	}
	if (m->heap_len > 0)
		m->heap[i] = last;
}

/* Earliest expiry among scheduled nodes (UINT32_MAX + 1 if none), dropping stale entries. */
static uint64_t
model_earliest(struct model *m)
{
	while (m->heap_len > 0) {
		struct hent *e = &m->heap[0];
		struct rnode *r = &m->nodes[e->id];

		if (r->scheduled && r->gen == e->gen)
			return e->expire;
		heap_pop(m);
	}
	return (uint64_t)UINT32_MAX + 1;
}

static void
model_schedule(struct model *m, struct ttl_wheel *w, uint32_t id, nc_reltime_t e)
{
	struct rnode *r = &m->nodes[id];

	if (!r->scheduled)
		m->scheduled++;
	else
		m->removes++;
	r->scheduled = true;
	r->gen++;
	r->expire = e;
	r->t.fired = 0;
	m->schedules++;
	heap_push(m, (struct hent){ .expire = e, .id = id, .gen = r->gen });
	if (rng_below(2))
		ttl_wheel_reschedule(w, &r->t.node, e);
	else {
		ttl_wheel_remove(w, &r->t.node);
		ttl_wheel_insert(w, &r->t.node, e);
	}
}

static void
model_remove(struct model *m, struct ttl_wheel *w, uint32_t id)
{
	struct rnode *r = &m->nodes[id];

	if (r->scheduled) {
		m->scheduled--;
		m->removes++;
	}
	r->scheduled = false;
	r->gen++;
	ttl_wheel_remove(w, &r->t.node);
	assert_false(tw_node_linked(&r->t.node));
}

static nc_reltime_t
random_expiry(nc_reltime_t now)
{
	uint32_t p = rng_below(1000);
	uint64_t e;

	if (p < 20)
		e = now > 100 ? now - rng_below(100) : 1;            /* already past */
	else if (p < 400)
		e = (uint64_t)now + rng_below(300);                  /* seconds to minutes */
	else if (p < 700)
		e = (uint64_t)now + rng_below(4 * DAY);              /* up to days */
	else if (p < 900)
		e = (uint64_t)now + rng_below(400 * DAY);            /* up to a year */
	else if (p < 970)
		e = (uint64_t)now + rng_below(10 * YEAR);            /* overflow */
	else
		e = (uint64_t)now + deltas[rng_below(NDELTAS)];      /* on boundaries */
	if (e == 0)
		e = 1;
	return e > UINT32_MAX ? UINT32_MAX : (nc_reltime_t)e;
}

static void
random_hook(struct fire_ctx *c, struct titem *it)
{
	struct model *m = cur_model;
	struct rnode *r = (struct rnode *)(void *)it;
	uint32_t p;

	/* The wheel's view and the model's agree. */
	assert_true(r->scheduled);
	assert_int_equal(r->expire, it->node.expire);
	r->scheduled = false;
	r->gen++;
	m->scheduled--;
	m->fires++;
	/* Sometimes mutate the wheel from inside the callback. */
	p = rng_below(256);
	if (p < 4)
		model_remove(m, c->w, rng_below(m->n));
	else if (p < 8)
		model_schedule(m, c->w, rng_below(m->n), random_expiry(c->high));
	else if (p < 10)
		model_schedule(m, c->w, it->id, random_expiry(c->high));
}

static void
run_randomized(uint32_t nnodes, unsigned rounds, unsigned max_ops)
{
	struct ttl_wheel *w = wheel_new();
	struct fire_ctx c;
	struct model m;
	const char *seed_env = getenv("TW_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : UINT64_C(0x9e3779b97f4a7c15);
	nc_reltime_t now = 2, end;
	unsigned round, ops, budget, r, exhausted = 0, under = 0;
	uint32_t id, p;

	print_message("ttl_wheel randomized: %u nodes, %u rounds, seed 0x%llx\n", nnodes, rounds,
		(unsigned long long)seed);
	rng_state = seed ? seed : 1;
	memset(&m, 0, sizeof(m));
	m.n = nnodes;
	m.nodes = calloc(nnodes, sizeof(*m.nodes));
	assert_non_null(m.nodes);
	cur_model = &m;
	ctx_init(&c, w, now);
	c.hook = random_hook;
	for (id = 0; id < nnodes; id++) {
		item_init(&m.nodes[id].t, id);
		model_schedule(&m, w, id, random_expiry(now));
	}
	assert_int_equal(ttl_wheel_count(w), m.scheduled);

	for (round = 0; round < rounds; round++) {
		for (ops = rng_below(max_ops + 1); ops > 0; ops--) {
			id = rng_below(nnodes);
			if (m.nodes[id].scheduled && rng_below(2))
				model_remove(&m, w, id);
			else
				model_schedule(&m, w, id, random_expiry(c.high));
		}
		assert_int_equal(ttl_wheel_count(w), m.scheduled);

		p = rng_below(100);
		if (p < 5) {
			/* same now */
		} else if (p < 7) {
			now = now > 1000 ? now - rng_below(1000) : now;  /* older now */
		} else {
			uint32_t bits = rng_below(19);
			uint32_t step = 1 + rng_below(UINT32_C(1) << bits);

			if (step > 3 * DAY)
				step = 3 * DAY;
			now = c.high + step;
		}
		p = rng_below(100);
		budget = p < 30 ? UINT_MAX : p < 60 ? rng_below(4) : rng_below(5000);
		r = adv(&c, now, budget);
		assert_int_equal(ttl_wheel_count(w), m.scheduled);
		if (r < budget) {
			/* Not late: nothing scheduled is at or before the time asked for. */
			under++;
			assert_true(ttl_wheel_now(w) >= now);
			assert_true(model_earliest(&m) > ttl_wheel_now(w));
		} else {
			exhausted++;
		}
	}
	end = c.high;
	/* Drain everything: each scheduled node fires exactly once. */
	while (adv(&c, UINT32_MAX, 100000) == 100000)
		;
	assert_int_equal(m.scheduled, 0);
	assert_int_equal(ttl_wheel_count(w), 0);
	assert_int_equal(m.schedules, m.fires + m.removes);
	for (id = 0; id < nnodes; id++)
		assert_false(tw_node_linked(&m.nodes[id].t.node));
	print_message("ttl_wheel randomized: time %u s, %llu schedules, %llu fires, %llu removes, "
		"%u advances under budget, %u exhausted, %llu events\n", end,
		(unsigned long long)m.schedules, (unsigned long long)m.fires,
		(unsigned long long)m.removes, under, exhausted, (unsigned long long)w->events);
	assert_true(under > rounds / 4);
	assert_true(exhausted > rounds / 20);
	cur_model = NULL;
	free(m.heap);
	free(m.nodes);
	free(w);
}

/* Dense: 100k nodes, so something happens at almost every second. */
static void
test_randomized_dense(void **state)
{
	(void)state;
	run_randomized(100000, 50000, 24);
}

/* Sparse: a few nodes, so most advances jump across long empty stretches. */
static void
test_randomized_sparse(void **state)
{
	(void)state;
	run_randomized(40, 200000, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_exact_each_delta),
		cmocka_unit_test(test_exact_all_in_one),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_remove_each_level),
		cmocka_unit_test(test_reschedule),
		cmocka_unit_test(test_insert_due),
		cmocka_unit_test(test_time_backwards),
		cmocka_unit_test(test_big_jumps),
		cmocka_unit_test(test_callback_mutations),
		cmocka_unit_test(test_randomized_dense),
		cmocka_unit_test(test_randomized_sparse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
