/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Expiry of a shard's items with a fake clock, across every level of the TTL wheel: seconds,
 * minutes, hours, days, 29 and 30 days (the last relative exptime), absolute unix times months
 * ahead and beyond the wheel's 2^24 s horizon, already expired ones, and never.
 *
 * The test keeps its own notion of time in unix seconds and derives every expected expiry from
 * memcached's rules (0 never; up to 30 days relative; larger absolute; negative or absolute in
 * the past already expired), independently of the shard's relative time.
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
#include <time.h>

#include "test_env.h"
#include "test_track.h"

#define DAY INT64_C(86400)
#define YEAR (365 * DAY)
#define NITEMS 10000u
#define VLEN 24u

static struct test_env env;
static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	uint64_t x;

	rng_state += 0x9e3779b97f4a7c15ULL;
	x = rng_state;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int64_t
rng_below(int64_t n)
{
	return (int64_t)(rng_next() % (uint64_t)n);
}

/* ---- time ---- */

static int64_t
unix_now(void)
{
	return (int64_t)nc_clock_to_unix(&env.clock, nc_clock_now(&env.clock));
}

static void
advance_to(int64_t u)
{
	int64_t now = unix_now();

	assert_true(u >= now);
	assert_true(u - now <= UINT32_MAX);
	nc_clock_advance(&env.clock, (uint32_t)(u - now));
	assert_true(unix_now() == u);
}

/* ---- shard and items ---- */

static struct store_shard *
shard_new(void)
{
	struct store_shard_params p = {
		.socket_id = SOCKET_ID_ANY,
		.mem_limit = 16u << 20,
		.digest_key = &env.digest_key,
		.clock = &env.clock,
		.cas_source = &env.cas,
		.reclaimer = env.reclaimer,
	};
	int err = 1;
	struct store_shard *s;

	/* A fresh clock at TEST_UNIX_START for every test (no shard is alive here). */
	nc_clock_init_fake(&env.clock, TEST_UNIX_START);
	nc_cas_source_init(&env.cas);
	s = store_shard_create(&p, &err);
	assert_non_null(s);
	assert_int_equal(err, 0);
	track_shard(s);
	return s;
}

static struct store_shard_stats
stats(const struct store_shard *s)
{
	struct store_shard_stats st;

	store_shard_stats_get(s, &st);
	return st;
}

struct xitem {
	uint32_t id;
	uint32_t ver;
	int64_t arg;    /* exptime given to the last set (part of the value) */
	int64_t expire; /* unix time from which it is invisible; 0 = never */
};

static void
key_of(uint32_t id, char *buf, struct store_key *k)
{
	int n = snprintf(buf, 16, "x%06" PRIu32, id);

	store_key_init(k, &env.digest_key, buf, (uint32_t)n);
}

static void
value_of(const struct xitem *x, char *buf)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%06" PRIu32 ":%04" PRIu32 ":%020" PRId64, x->id, x->ver,
		 x->arg);
	memcpy(buf, tmp, VLEN);
}

/* Expected invisibility time of an item set at unix time u with exptime arg. */
static int64_t
expected_expire(int64_t arg, int64_t u)
{
	if (arg == 0)
		return 0;
	if (arg < 0)
		return u; /* already expired */
	if (arg <= NC_REALTIME_MAXDELTA)
		return u + arg;
	if (arg <= u)
		return u; /* absolute, in the past (1970 for small ones) */
	return arg;
}

static bool
visible(const struct xitem *x, int64_t u)
{
	return x->expire == 0 || u < x->expire;
}

static void
xput(struct store_shard *s, struct xitem *x, int64_t arg)
{
	char key[16], val[VLEN];
	struct store_key k;

	x->ver++;
	x->arg = arg;
	x->expire = expected_expire(arg, unix_now());
	key_of(x->id, key, &k);
	value_of(x, val);
	assert_int_equal(test_put(s, &k, STORE_MODE_SET, val, VLEN, x->ver, arg, 0, NULL),
			 STORE_STORED);
}

/* store_get on x; a hit must be the last stored value. Returns the status. */
static enum store_status
xget(const struct store_shard *s, const struct xitem *x)
{
	char key[16], val[VLEN];
	struct store_key k;
	struct store_hit hit;
	enum store_status st;

	key_of(x->id, key, &k);
	st = store_get(s, &k, &hit);
	if (st == STORE_HIT) {
		value_of(x, val);
		assert_int_equal(hit.nbytes, VLEN);
		assert_memory_equal(hit.value, val, VLEN);
		assert_int_equal(hit.client_flags, x->ver);
	}
	return st;
}

/* x must be a hit now, holding its last stored value. */
static void
expect_hit(const struct store_shard *s, const struct xitem *x)
{
	assert_int_equal(xget(s, x), STORE_HIT);
}

/*
 * Run the wheel with @p budget per call until a call returns less than the budget, which
 * means everything due has been removed. Each call removes at most the budget and exactly
 * as many items as it reports (no reads or writes happen meanwhile). Returns the calls made.
 */
static unsigned
maintain_all(struct store_shard *s, unsigned budget, uint64_t *removed)
{
	uint64_t before = stats(s).curr_items;
	unsigned calls = 0;
	unsigned ret;

	*removed = 0;
	do {
		ret = store_shard_maintain(s, budget);
		calls++;
		assert_true(ret <= budget);
		*removed += ret;
		assert_int_equal(stats(s).curr_items, before - *removed);
		assert_true(calls < 1000000);
	} while (ret == budget);
	return calls;
}

/*
 * A TTL for a random item, across every wheel level and every exptime form; about 8% never
 * expire and about 7% are already expired when stored.
 */
static int64_t
draw_exptime(int64_t u0)
{
	int64_t r = rng_below(100);

	if (r < 15)
		return 1 + rng_below(63);                   /* seconds: level 0 */
	if (r < 30)
		return 64 + rng_below(4096 - 64);           /* minutes: level 1 */
	if (r < 43)
		return 4096 + rng_below(DAY - 4096 + 1);    /* hours: level 2 */
	if (r < 53)
		return DAY + 1 + rng_below(28 * DAY);       /* more than a day, up to 29 days */
	if (r < 60)
		return 29 * DAY + rng_below(DAY + 1);       /* 29 days .. 30 days, still relative */
	if (r < 73)
		return u0 + 31 * DAY + rng_below(150 * DAY); /* absolute, months ahead: level 3 */
	if (r < 85)
		return u0 + 195 * DAY + rng_below(3 * YEAR); /* absolute, past the wheel's horizon */
	if (r < 93)
		return 0;                                    /* never */
	switch (rng_below(3)) {
	case 0:
		return -1 - rng_below(1000);                 /* negative: expired */
	case 1:
		return u0 - 1 - rng_below(100000);           /* absolute in the past */
	default:
		return NC_REALTIME_MAXDELTA + 1 + rng_below(1000); /* absolute in 1970 */
	}
}

/* Exptimes on and next to every boundary the shard cares about, for the first items. */
static size_t
edge_exptimes(int64_t u0, nc_reltime_t rel0, int64_t *out)
{
	static const int64_t rel_targets[] = {
		64, 4096, 262144, 16777216, /* wheel level boundaries in relative time */
	};
	size_t n = 0;

	out[n++] = 1;
	out[n++] = 2;
	out[n++] = 63;
	out[n++] = 64;
	out[n++] = 65;
	out[n++] = 4095;
	out[n++] = 4096;
	out[n++] = 4097;
	out[n++] = DAY;
	out[n++] = DAY + 1;
	out[n++] = 29 * DAY;
	out[n++] = NC_REALTIME_MAXDELTA - 1;
	out[n++] = NC_REALTIME_MAXDELTA;     /* the longest relative exptime */
	out[n++] = NC_REALTIME_MAXDELTA + 1; /* absolute: 1970, expired */
	out[n++] = u0 + NC_REALTIME_MAXDELTA + 1;
	out[n++] = u0 + 1;
	out[n++] = u0;                       /* absolute now: expired */
	out[n++] = -1;
	for (size_t i = 0; i < sizeof(rel_targets) / sizeof(rel_targets[0]); i++) {
		for (int64_t d = -1; d <= 1; d++) {
			int64_t t = rel_targets[i] + d - (int64_t)rel0; /* seconds from now */

			out[n++] = t <= NC_REALTIME_MAXDELTA ? t : u0 + t;
		}
	}
	return n;
}

/* NITEMS items with drawn exptimes, stored at the current time. */
static struct xitem *
store_population(struct store_shard *s, uint64_t seed, unsigned *never)
{
	struct xitem *xs = track_calloc(NITEMS, sizeof(*xs));
	int64_t u0 = unix_now();
	int64_t edges[64];
	size_t nedges = edge_exptimes(u0, nc_clock_now(&env.clock), edges);

	assert_non_null(xs);
	rng_state = seed;
	*never = 0;
	for (uint32_t i = 0; i < NITEMS; i++) {
		xs[i].id = i;
		xput(s, &xs[i], i < nedges ? edges[i] : draw_exptime(u0));
		*never += xs[i].expire == 0;
	}
	assert_int_equal(stats(s).curr_items, NITEMS);
	assert_int_equal(stats(s).evictions, 0);
	return xs;
}

static unsigned
count_visible(const struct xitem *xs, int64_t u)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < NITEMS; i++)
		n += visible(&xs[i], u);
	return n;
}

/* Every item is a hit exactly when it should be visible now. */
static void
check_all(const struct store_shard *s, const struct xitem *xs)
{
	int64_t u = unix_now();

	for (uint32_t i = 0; i < NITEMS; i++) {
		enum store_status st = xget(s, &xs[i]);

		if (visible(&xs[i], u))
			assert_int_equal(st, STORE_HIT);
		else
			assert_int_not_equal(st, STORE_HIT);
	}
}

static int
cmp_expire(const void *a, const void *b)
{
	const struct xitem *x = *(const struct xitem *const *)a;
	const struct xitem *y = *(const struct xitem *const *)b;

	return (x->expire > y->expire) - (x->expire < y->expire);
}

/* ---- tests ---- */

/*
 * Walk the clock through every distinct expiry time t of 10k items: at t-1 the items expiring
 * at t are hits (also after the wheel ran: nothing fires early); at t store_get reports them
 * EXPIRED before the wheel runs; then the wheel removes exactly them.
 */
static void
test_expiry_boundaries(void **state)
{
	struct store_shard *s = shard_new();
	unsigned never;
	struct xitem *xs = store_population(s, 11, &never);
	struct xitem **order = track_calloc(NITEMS, sizeof(*order));
	int64_t u0 = unix_now();
	uint64_t removed, expired = 0;
	unsigned live = 0, groups = 0;
	size_t i = 0;

	(void)state;
	assert_non_null(order);
	/* At once: the already expired ones are invisible, the rest visible. */
	check_all(s, xs);
	maintain_all(s, 100, &removed);
	live = count_visible(xs, u0);
	expired = NITEMS - live;
	assert_int_equal(removed, expired);
	assert_int_equal(stats(s).ttl_expired, expired);
	assert_int_equal(stats(s).curr_items, live);

	for (uint32_t k = 0; k < NITEMS; k++)
		order[k] = &xs[k];
	qsort(order, NITEMS, sizeof(*order), cmp_expire);
	while (i < NITEMS && (order[i]->expire == 0 || order[i]->expire <= u0))
		i++;
	while (i < NITEMS) {
		int64_t t = order[i]->expire;
		size_t j = i;

		while (j < NITEMS && order[j]->expire == t)
			j++;
		/* One second before: still there, even after the wheel ran. */
		if (unix_now() < t - 1)
			advance_to(t - 1);
		maintain_all(s, 100, &removed);
		assert_int_equal(removed, 0);
		for (size_t k = i; k < j; k++)
			expect_hit(s, order[k]);
		/* At t: a miss for readers before the wheel runs... */
		advance_to(t);
		for (size_t k = i; k < j; k++)
			assert_int_equal(xget(s, order[k]), STORE_EXPIRED);
		/* ... and the wheel removes exactly these. */
		maintain_all(s, 100, &removed);
		assert_int_equal(removed, j - i);
		for (size_t k = i; k < j; k++)
			assert_int_equal(xget(s, order[k]), STORE_MISS);
		live -= (unsigned)(j - i);
		expired += j - i;
		assert_int_equal(stats(s).curr_items, live);
		assert_int_equal(stats(s).ttl_expired, expired);
		if (++groups % 1000 == 0)
			check_all(s, xs);
		i = j;
	}
	assert_int_equal(live, never);
	check_all(s, xs);
	/* Ten more years: the never-expiring ones stay. */
	advance_to(unix_now() + 10 * YEAR);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 0);
	check_all(s, xs);
	assert_int_equal(stats(s).curr_items, never);
	assert_int_equal(stats(s).reclaimed, stats(s).ttl_expired);
	print_message("  %u distinct expiry times walked, %u never expire\n", groups, never);

	test_shard_settle(s);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
	shard_free(&s);
	track_free(order);
	track_free(xs);
}

/*
 * No reads at all: jump the clock to checkpoints across every range; the wheel alone brings
 * curr_items to exactly the unexpired count, within budgeted calls.
 */
static void
test_wheel_removes_without_reads(void **state)
{
	static const int64_t checkpoints[] = {
		0, 30, 63, 64, 3600, 4096, DAY, 2 * DAY, 29 * DAY, 30 * DAY, 30 * DAY + 1,
		100 * DAY, 194 * DAY, 200 * DAY, YEAR, 2 * YEAR, 4 * YEAR,
	};
	static const unsigned budgets[] = {100, 1, 7, 100, 1000};
	struct store_shard *s = shard_new();
	unsigned never;
	struct xitem *xs = store_population(s, 22, &never);
	int64_t u0 = unix_now();
	uint64_t prev = NITEMS;

	(void)state;
	for (size_t c = 0; c < sizeof(checkpoints) / sizeof(checkpoints[0]); c++) {
		unsigned budget = budgets[c % (sizeof(budgets) / sizeof(budgets[0]))];
		uint64_t removed;
		unsigned calls, live;

		advance_to(u0 + checkpoints[c]);
		live = count_visible(xs, unix_now());
		calls = maintain_all(s, budget, &removed);
		assert_int_equal(stats(s).curr_items, live);
		assert_int_equal(removed, prev - live);
		assert_int_equal(stats(s).ttl_expired, NITEMS - live);
		/* Full calls until the due items run out, then one short call. */
		assert_int_equal(calls, removed / budget + 1);
		prev = live;
	}
	assert_int_equal(prev, never);
	assert_int_equal(stats(s).reclaimed, NITEMS - never);
	assert_int_equal(stats(s).expired_unfetched, NITEMS - never);
	check_all(s, xs);

	test_shard_settle(s);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
	shard_free(&s);
	track_free(xs);
}

/* Step to t-1 (x still visible, the wheel leaves it), then to t (expired, removed once). */
static void
expires_at(struct store_shard *s, const struct xitem *x, int64_t t, uint64_t *ttl_expired)
{
	uint64_t removed;

	assert_int_equal(x->expire, t);
	advance_to(t - 1);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 0);
	expect_hit(s, x);
	advance_to(t);
	assert_int_equal(xget(s, x), STORE_EXPIRED);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 1);
	assert_int_equal(xget(s, x), STORE_MISS);
	++*ttl_expired;
	assert_int_equal(stats(s).ttl_expired, *ttl_expired);
}

static void
xtouch(struct store_shard *s, struct xitem *x, int64_t arg)
{
	char key[16];
	struct store_key k;

	key_of(x->id, key, &k);
	assert_int_equal(store_touch(s, &k, arg), STORE_TOUCHED);
	/* x->arg stays: it is part of the stored value, which touch does not change. */
	x->expire = expected_expire(arg, unix_now());
}

/* touch moves an item in the wheel: earlier, later, across levels, to and from never. */
static void
test_touch_moves_expiry(void **state)
{
	struct store_shard *s = shard_new();
	int64_t u0 = unix_now();
	struct xitem x[9];
	uint64_t ttl = 0, removed;
	char key[16], val[VLEN];
	struct store_key k;
	struct store_hit hit;

	(void)state;
	memset(x, 0, sizeof(x));
	for (uint32_t i = 0; i < 9; i++)
		x[i].id = i;
	xput(s, &x[0], 1000);           /* a: -> 10 s */
	xput(s, &x[1], 1000);           /* b: -> 5000 s, later 3000 s from u0+1500 */
	xput(s, &x[2], 1000);           /* c: -> never */
	xput(s, &x[3], 1000);           /* d: untouched */
	xput(s, &x[4], u0 + 100 * DAY); /* e: level 3 -> 30 s */
	xput(s, &x[5], 30);             /* f: 30 s -> past the horizon */
	xput(s, &x[6], 1000);           /* g: gat -> 20 s */
	xput(s, &x[7], 0);              /* h: never -> 50 s */
	xput(s, &x[8], 40);             /* i: expires at 40, touched then: NOT_FOUND */

	xtouch(s, &x[0], 10);
	xtouch(s, &x[1], 5000);
	xtouch(s, &x[2], 0);
	xtouch(s, &x[4], 30);
	xtouch(s, &x[5], u0 + 300 * DAY);
	xtouch(s, &x[7], 50);
	key_of(x[6].id, key, &k);
	assert_int_equal(store_gat(s, &k, 20, &hit), STORE_HIT);
	value_of(&x[6], val);
	assert_memory_equal(hit.value, val, VLEN);
	x[6].expire = u0 + 20;
	/* Touch does not change the value. */
	expect_hit(s, &x[0]);

	expires_at(s, &x[0], u0 + 10, &ttl);
	expires_at(s, &x[6], u0 + 20, &ttl);
	/* f's first expiry (u0+30) passes with e's new one: only e goes. */
	expires_at(s, &x[4], u0 + 30, &ttl);
	expect_hit(s, &x[5]);
	/* i: expired, then touched before the wheel saw it: a miss, reclaimed on the spot. */
	advance_to(u0 + 40);
	key_of(x[8].id, key, &k);
	assert_int_equal(store_touch(s, &k, 1000), STORE_NOT_FOUND);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 0);
	assert_int_equal(stats(s).ttl_expired, ttl);
	expires_at(s, &x[7], u0 + 50, &ttl);
	/* b, c (and f) are still there when their first expiry passes; d goes. */
	expires_at(s, &x[3], u0 + 1000, &ttl);
	expect_hit(s, &x[1]);
	expect_hit(s, &x[2]);
	/* b again, earlier than its last touch: 3000 s from u0+1500. */
	advance_to(u0 + 1500);
	xtouch(s, &x[1], 3000);
	expires_at(s, &x[1], u0 + 4500, &ttl);
	expires_at(s, &x[5], u0 + 300 * DAY, &ttl);
	/* c never expires. */
	advance_to(unix_now() + 10 * YEAR);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 0);
	expect_hit(s, &x[2]);
	assert_int_equal(stats(s).curr_items, 1);
	assert_int_equal(stats(s).ttl_expired, 7);
	assert_int_equal(stats(s).reclaimed, 8);

	test_shard_settle(s);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
	shard_free(&s);
}

/* Items replaced, deleted or re-added before their expiry are never counted by the wheel. */
static void
test_replaced_deleted_expire_once(void **state)
{
	struct store_shard *s = shard_new();
	int64_t u0 = unix_now();
	enum { NX = 4000 };
	struct xitem *x = track_calloc(NX, sizeof(*x));
	uint64_t ttl = 0, reclaimed = 0, removed;
	char key[16], val[VLEN];
	struct store_key k;
	struct store_hit hit;
	uint64_t v;

	(void)state;
	assert_non_null(x);
	for (uint32_t i = 0; i < NX; i++)
		x[i].id = i;

	/* 0: replaced by a later expiry; 1: deleted; 2: replaced by never (REPLACE). */
	xput(s, &x[0], 10);
	xput(s, &x[0], 20);
	xput(s, &x[1], 10);
	xput(s, &x[2], 10);
	x[2].ver++;
	x[2].arg = 0;
	x[2].expire = 0;
	key_of(x[2].id, key, &k);
	value_of(&x[2], val);
	assert_int_equal(test_put(s, &k, STORE_MODE_REPLACE, val, VLEN, x[2].ver, 0, 0, NULL),
			 STORE_STORED);
	/* 3: append keeps the exptime (30); 4: incr keeps it too. */
	xput(s, &x[3], 30);
	key_of(x[4].id, key, &k);
	assert_int_equal(test_put(s, &k, STORE_MODE_SET, "5", 1, 0, 30, 0, NULL), STORE_STORED);
	/* 100..1099: five versions each, all expiring at u0+100. */
	for (int r = 0; r < 5; r++) {
		for (uint32_t i = 100; i < 1100; i++)
			xput(s, &x[i], 100);
	}
	/* 2000..2999: expire at u0+200, then get deleted, set, added, or left to the wheel. */
	for (uint32_t i = 2000; i < 3000; i++)
		xput(s, &x[i], 200);

	advance_to(u0 + 5);
	key_of(x[1].id, key, &k);
	assert_int_equal(store_delete(s, &k, 0), STORE_DELETED);
	key_of(x[3].id, key, &k);
	assert_int_equal(test_put(s, &k, STORE_MODE_APPEND, "+tail", 5, 0, 0, 0, NULL),
			 STORE_STORED);
	key_of(x[4].id, key, &k);
	assert_int_equal(store_arith(s, &k, true, 37, &v, NULL), STORE_OK);
	assert_int_equal(v, 42);

	/* u0+10: nothing for the wheel (0 moved to 20, 1 deleted, 2 never). */
	advance_to(u0 + 10);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 0);
	expect_hit(s, &x[0]);
	assert_int_equal(xget(s, &x[1]), STORE_MISS);
	expect_hit(s, &x[2]);
	expires_at(s, &x[0], u0 + 20, &ttl);

	/* u0+30: the appended item and the incremented one go, once each. */
	advance_to(u0 + 29);
	key_of(x[3].id, key, &k);
	assert_int_equal(store_get(s, &k, &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, VLEN + 5);
	value_of(&x[3], val);
	assert_memory_equal(hit.value, val, VLEN);
	assert_memory_equal(hit.value + VLEN, "+tail", 5);
	key_of(x[4].id, key, &k);
	assert_int_equal(store_get(s, &k, &hit), STORE_HIT);
	assert_int_equal(hit.nbytes, 2);
	assert_memory_equal(hit.value, "42", 2);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 0);
	advance_to(u0 + 30);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 2);
	ttl += 2;
	assert_int_equal(stats(s).ttl_expired, ttl);

	/* u0+100: 1000 keys with five versions each expire once each. */
	advance_to(u0 + 100);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 1000);
	ttl += 1000;
	assert_int_equal(stats(s).ttl_expired, ttl);
	reclaimed = stats(s).reclaimed;
	assert_int_equal(reclaimed, ttl);

	/* u0+200, before the wheel runs: 250 deleted, 250 set again, 250 added, 250 left. */
	advance_to(u0 + 200);
	for (uint32_t i = 2000; i < 3000; i++) {
		key_of(x[i].id, key, &k);
		assert_int_equal(xget(s, &x[i]), STORE_EXPIRED);
		if (i < 2250) {
			/* memcached: deleting an expired key is NOT_FOUND. */
			assert_int_equal(store_delete(s, &k, 0), STORE_NOT_FOUND);
		} else if (i < 2500) {
			xput(s, &x[i], 0);
		} else if (i < 2750) {
			x[i].ver++;
			x[i].arg = 0;
			x[i].expire = 0;
			value_of(&x[i], val);
			assert_int_equal(test_put(s, &k, STORE_MODE_ADD, val, VLEN, x[i].ver, 0, 0,
						  NULL),
					 STORE_STORED);
		}
	}
	/* Those 750 were reclaimed on the spot; the wheel takes exactly the other 250. */
	assert_int_equal(stats(s).reclaimed, reclaimed + 750);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 250);
	ttl += 250;
	assert_int_equal(stats(s).ttl_expired, ttl);
	for (uint32_t i = 2000; i < 3000; i++) {
		if (i >= 2250 && i < 2750)
			expect_hit(s, &x[i]);
		else
			assert_int_equal(xget(s, &x[i]), STORE_MISS);
	}

	/* Ten years on: only what never expires is left; nothing was counted twice. */
	advance_to(unix_now() + 10 * YEAR);
	maintain_all(s, 100, &removed);
	assert_int_equal(removed, 0);
	assert_int_equal(stats(s).ttl_expired, ttl);
	assert_int_equal(stats(s).curr_items, 1 + 500); /* x[2] and the re-stored 500 */
	expect_hit(s, &x[2]);

	test_shard_settle(s);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
	shard_free(&s);
	track_free(x);
}

/* Ten years in one step: bounded calls, bounded time, and the wheel works on afterwards. */
static void
test_big_jump(void **state)
{
	struct store_shard *s = shard_new();
	unsigned never;
	struct xitem *xs;
	uint64_t removed;
	unsigned calls;
	struct timespec t0, t1;
	double secs;
	int64_t u;

	(void)state;
	/* An empty wheel first. */
	advance_to(unix_now() + 10 * YEAR);
	assert_int_equal(store_shard_maintain(s, 100), 0);
	shard_free(&s);

	s = shard_new();
	xs = store_population(s, 33, &never);
	advance_to(unix_now() + 10 * YEAR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	calls = maintain_all(s, 1000, &removed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("  10 years: %" PRIu64 " expired in %u calls, %.3f s\n", removed, calls,
		      secs);
	assert_int_equal(removed, NITEMS - never);
	assert_int_equal(calls, removed / 1000 + 1);
	assert_true(secs < 2.0);
	assert_int_equal(stats(s).curr_items, never);
	assert_int_equal(stats(s).ttl_expired, NITEMS - never);
	check_all(s, xs);

	/* The wheel still works from the new time: fresh TTLs on the first 1000 keys. */
	u = unix_now();
	for (uint32_t i = 0; i < 1000; i++)
		xput(s, &xs[i], 1 + (int64_t)(i % 100) * 37);
	for (int64_t d = 1; d <= 37 * 99 + 1; d++) {
		advance_to(u + d);
		maintain_all(s, 100, &removed);
		assert_int_equal(stats(s).curr_items, count_visible(xs, u + d));
	}
	check_all(s, xs);

	test_shard_settle(s);
	assert_int_equal(store_shard_retired_outstanding(s), 0);
	shard_free(&s);
	track_free(xs);
}

int
main(void)
{
	int failed;
	const struct CMUnitTest tests[] = {
		T(test_expiry_boundaries),
		T(test_wheel_removes_without_reads),
		T(test_touch_moves_expiry),
		T(test_replaced_deleted_expire_once),
		T(test_big_jump),
	};

	test_eal_init("0", 256);
	test_env_init(&env);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	test_env_fini(&env);
	return failed;
}
