/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for core/clock.h: relative time, memcached exptime rules, fake and real clocks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <time.h>

#include "core/clock.h"

/* Some fixed "now" for fake clocks: 2023-11-14T22:13:20Z. */
#define T0 ((time_t)1700000000)

static void
test_fake_init(void **state)
{
	struct nc_clock c;

	(void)state;
	nc_clock_init_fake(&c, T0);
	assert_true(c.fake);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN);
	assert_true(nc_clock_to_unix(&c, nc_clock_now(&c)) == T0);
	assert_true(nc_clock_to_unix(&c, 0) == T0 - NC_CLOCK_EPOCH_MARGIN);
	/* Relative time 1 is in the past from the very start. */
	assert_true(nc_reltime_expired(1, nc_clock_now(&c)));
}

static void
test_exptime_zero_and_negative(void **state)
{
	struct nc_clock c;

	(void)state;
	nc_clock_init_fake(&c, T0);
	assert_int_equal(nc_clock_exptime(&c, 0), 0);
	assert_int_equal(nc_clock_exptime(&c, -1), 1);
	assert_int_equal(nc_clock_exptime(&c, -2592001), 1);
	assert_int_equal(nc_clock_exptime(&c, INT64_MIN), 1);
	/* 0 never expires, 1 always has. */
	assert_false(nc_reltime_expired(nc_clock_exptime(&c, 0), nc_clock_now(&c)));
	assert_true(nc_reltime_expired(nc_clock_exptime(&c, -1), nc_clock_now(&c)));

	nc_clock_advance(&c, 1000000);
	assert_int_equal(nc_clock_exptime(&c, 0), 0);
	assert_int_equal(nc_clock_exptime(&c, -1), 1);
}

static void
test_exptime_relative(void **state)
{
	struct nc_clock c;
	nc_reltime_t now;

	(void)state;
	nc_clock_init_fake(&c, T0);
	now = nc_clock_now(&c);
	assert_int_equal(NC_REALTIME_MAXDELTA, 2592000);
	assert_int_equal(nc_clock_exptime(&c, 1), now + 1);
	assert_int_equal(nc_clock_exptime(&c, 60), now + 60);
	/* Exactly 30 days is still relative. */
	assert_int_equal(nc_clock_exptime(&c, 2592000), now + 2592000);

	/* Relative values follow the clock. */
	nc_clock_advance(&c, 500);
	assert_int_equal(nc_clock_exptime(&c, 60), now + 500 + 60);
}

static void
test_exptime_absolute(void **state)
{
	struct nc_clock c;
	nc_reltime_t now;

	(void)state;
	nc_clock_init_fake(&c, T0);
	now = nc_clock_now(&c);

	/* Absolute unix times in the future map through the epoch. */
	assert_int_equal(nc_clock_exptime(&c, (int64_t)T0 + 60), now + 60);
	assert_int_equal(nc_clock_exptime(&c, (int64_t)T0 + 2592001), now + 2592001);

	/* Absolute times in the past are expired (1). */
	assert_int_equal(nc_clock_exptime(&c, (int64_t)T0 - 3600), 1);
	assert_int_equal(nc_clock_exptime(&c, (int64_t)T0 - NC_CLOCK_EPOCH_MARGIN), 1);
	assert_int_equal(nc_clock_exptime(&c, 2592001), 1); /* 1970-01-31: long past */
	/* Just after the epoch but before now: expired too. */
	assert_true(nc_reltime_expired(nc_clock_exptime(&c, (int64_t)T0 - 1), now));
	/* Exactly now: expires now, as in memcached (exptime <= current_time). */
	assert_int_equal(nc_clock_exptime(&c, (int64_t)T0), now);
	assert_true(nc_reltime_expired(nc_clock_exptime(&c, (int64_t)T0), now));

	/* Absolute values do not move with the clock. */
	nc_clock_advance(&c, 30);
	assert_int_equal(nc_clock_exptime(&c, (int64_t)T0 + 60), now + 60);
	assert_false(nc_reltime_expired(nc_clock_exptime(&c, (int64_t)T0 + 60), nc_clock_now(&c)));
}

/* The 30-day boundary decides between relative and absolute on the value alone. */
static void
test_exptime_boundary_30_days(void **state)
{
	struct nc_clock c;
	nc_reltime_t now;

	(void)state;
	/* A clock early enough that 2592001 as a unix time is still in the future. */
	nc_clock_init_fake(&c, 1000000);
	now = nc_clock_now(&c);
	/* 2592000 is relative: now + 2592000. */
	assert_int_equal(nc_clock_exptime(&c, 2592000), now + 2592000);
	/* 2592001 is absolute: 1592001 seconds after 1000000, not now + 2592001. */
	assert_int_equal(nc_clock_exptime(&c, 2592001), now + (2592001 - 1000000));
	assert_true(nc_clock_exptime(&c, 2592001) < nc_clock_exptime(&c, 2592000));
}

static void
test_exptime_saturates(void **state)
{
	struct nc_clock c;

	(void)state;
	nc_clock_init_fake(&c, T0);
	assert_int_equal(nc_clock_exptime(&c, INT64_MAX), UINT32_MAX);
	assert_int_equal(nc_clock_exptime(&c, (int64_t)T0 + ((int64_t)1 << 33)), UINT32_MAX);

	/* Relative exptime near the end of relative time saturates as well. */
	nc_clock_advance(&c, UINT32_MAX - 1000 - NC_CLOCK_EPOCH_MARGIN);
	assert_int_equal(nc_clock_now(&c), UINT32_MAX - 1000);
	assert_int_equal(nc_clock_exptime(&c, 500), UINT32_MAX - 500);
	assert_int_equal(nc_clock_exptime(&c, 2592000), UINT32_MAX);
}

static void
test_fake_advance_and_set(void **state)
{
	struct nc_clock c;
	nc_reltime_t exp;

	(void)state;
	nc_clock_init_fake(&c, T0);
	exp = nc_clock_exptime(&c, 10);

	nc_clock_advance(&c, 9);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN + 9);
	assert_false(nc_reltime_expired(exp, nc_clock_now(&c)));
	nc_clock_advance(&c, 1);
	assert_true(nc_reltime_expired(exp, nc_clock_now(&c)));
	nc_clock_advance(&c, 0);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN + 10);

	/* nc_clock_update never moves a fake clock. */
	nc_clock_update(&c);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN + 10);

	/* set_unix jumps to a given wall time, backwards too. */
	nc_clock_set_unix(&c, T0 + 3600);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN + 3600);
	assert_true(nc_clock_to_unix(&c, nc_clock_now(&c)) == T0 + 3600);
	nc_clock_set_unix(&c, T0 + 5);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN + 5);
	assert_false(nc_reltime_expired(exp, nc_clock_now(&c)));

	/* At or before the epoch is ignored (relative time would be 0 or wrap). */
	nc_clock_set_unix(&c, T0 - NC_CLOCK_EPOCH_MARGIN);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN + 5);
	nc_clock_set_unix(&c, 0);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN + 5);
}

static void
test_reltime_expired(void **state)
{
	(void)state;
	/* 0 means never. */
	assert_false(nc_reltime_expired(0, 0));
	assert_false(nc_reltime_expired(0, 1));
	assert_false(nc_reltime_expired(0, UINT32_MAX));
	/* Expired at and after the expiry second, not before. */
	assert_false(nc_reltime_expired(5, 4));
	assert_true(nc_reltime_expired(5, 5));
	assert_true(nc_reltime_expired(5, 6));
	assert_true(nc_reltime_expired(1, 1));
	assert_true(nc_reltime_expired(1, NC_CLOCK_EPOCH_MARGIN));
	assert_false(nc_reltime_expired(UINT32_MAX, UINT32_MAX - 1));
	assert_true(nc_reltime_expired(UINT32_MAX, UINT32_MAX));
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
test_real_clock(void **state)
{
	struct nc_clock c;
	nc_reltime_t prev, now;
	time_t wall;
	struct timespec start, cur;

	(void)state;
	nc_clock_init(&c);
	wall = time(NULL);
	assert_false(c.fake);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN);
	/* Relative "now" maps back to about the wall time. */
	assert_true(nc_clock_to_unix(&c, nc_clock_now(&c)) >= wall - 1);
	assert_true(nc_clock_to_unix(&c, nc_clock_now(&c)) <= wall + 1);

	/* Fake-only controls do nothing on a real clock. */
	nc_clock_advance(&c, 1000);
	nc_clock_set_unix(&c, wall + 1000);
	assert_int_equal(nc_clock_now(&c), NC_CLOCK_EPOCH_MARGIN);

	/* Relative exptimes work on a real clock. */
	assert_int_equal(nc_clock_exptime(&c, 100), nc_clock_now(&c) + 100);

	/* Updating for a little over a second: never backwards, and it does move. */
	prev = nc_clock_now(&c);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		sleep_ms(10);
		nc_clock_update(&c);
		now = nc_clock_now(&c);
		assert_true(now >= prev);
		prev = now;
		clock_gettime(CLOCK_MONOTONIC, &cur);
	} while ((cur.tv_sec - start.tv_sec) * 1000000000L + (cur.tv_nsec - start.tv_nsec) <
		 1200000000L);
	assert_true(now >= NC_CLOCK_EPOCH_MARGIN + 1);
	assert_true(now <= NC_CLOCK_EPOCH_MARGIN + 3);
	/* Still tracks the wall clock. */
	wall = time(NULL);
	assert_true(nc_clock_to_unix(&c, now) >= wall - 2);
	assert_true(nc_clock_to_unix(&c, now) <= wall + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_init),
		cmocka_unit_test(test_exptime_zero_and_negative),
		cmocka_unit_test(test_exptime_relative),
		cmocka_unit_test(test_exptime_absolute),
		cmocka_unit_test(test_exptime_boundary_30_days),
		cmocka_unit_test(test_exptime_saturates),
		cmocka_unit_test(test_fake_advance_and_set),
		cmocka_unit_test(test_reltime_expired),
		cmocka_unit_test(test_real_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
