/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_CLOCK_H
#define NC_CORE_CLOCK_H

/*
 * Coarse clock in whole seconds, as memcached's rel_time_t: "relative time" counts seconds
 * since just before the process started, so item times fit in 32 bits and 0 can mean "never".
 *
 * One thread keeps a clock current with nc_clock_update() (in nicached the control lcore, every
 * few milliseconds, which the 1/16 s ticks rely on); everything else reads nc_clock_now() and
 * nc_clock_ticks(), each one relaxed load. Tests use a fake clock that moves only when
 * told to (nc_clock_set_unix / nc_clock_advance).
 *
 * Threads: one updater per clock (its owner); any thread may read.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/** Seconds since the clock's epoch. 0 is reserved for "never" in exptime fields. */
typedef uint32_t nc_reltime_t;

/**
 * The clock's finer reading: ticks of 1/16 s since the epoch, for how recently an item was
 * used (eviction passes over items used in the last second, which whole seconds cannot
 * tell). A fake clock's ticks are its seconds x 16.
 */
#define NC_CLOCK_TICKS_PER_SEC 16

/** Longest exptime taken as relative seconds; larger values are absolute unix times. */
#define NC_REALTIME_MAXDELTA (60 * 60 * 24 * 30)

/** Distance of the epoch before the start time, so relative time 1 is always in the past. */
#define NC_CLOCK_EPOCH_MARGIN 2

struct nc_clock {
	nc_reltime_t now;      /* relative seconds; written by the owner, read relaxed by all */
	uint32_t ticks;	       /* relative 1/16 s (NC_CLOCK_TICKS_PER_SEC); the same */
	bool fake;	       /* moves only through nc_clock_set_unix / nc_clock_advance */
	time_t epoch_unix;     /* unix time of relative time 0 */
	struct timespec mono0; /* CLOCK_MONOTONIC_COARSE at init (real clocks) */
};

/** Initialise a real clock reading the system time. */
void nc_clock_init(struct nc_clock *c);

/** Initialise a fake clock whose current unix time is @p unix_now. */
void nc_clock_init_fake(struct nc_clock *c, time_t unix_now);

/**
 * Refresh a real clock from CLOCK_MONOTONIC_COARSE (a vDSO read, no syscall); no-op on a fake
 * clock. Owner only.
 */
void nc_clock_update(struct nc_clock *c);

/** Fake clocks only: set the current unix time (may move backwards; tests only). */
void nc_clock_set_unix(struct nc_clock *c, time_t unix_now);

/** Fake clocks only: move forward by @p seconds. */
void nc_clock_advance(struct nc_clock *c, uint32_t seconds);

/** Fake clocks only: move forward by @p ticks (NC_CLOCK_TICKS_PER_SEC); seconds follow. */
void nc_clock_advance_ticks(struct nc_clock *c, uint32_t ticks);

/** Current relative time. Any thread; relaxed load. */
static inline nc_reltime_t
nc_clock_now(const struct nc_clock *c)
{
	return __atomic_load_n(&c->now, __ATOMIC_RELAXED);
}

/** Current relative time in ticks (NC_CLOCK_TICKS_PER_SEC). Any thread; relaxed load. */
static inline uint32_t
nc_clock_ticks(const struct nc_clock *c)
{
	return __atomic_load_n(&c->ticks, __ATOMIC_RELAXED);
}

/**
 * The relative second of a tick count: nc_clock_now() is always nc_clock_tick_second() of
 * nc_clock_ticks(), so one read of the ticks gives both, consistent with each other.
 */
static inline nc_reltime_t
nc_clock_tick_second(uint32_t ticks)
{
	return ticks / NC_CLOCK_TICKS_PER_SEC;
}

/** Unix time corresponding to relative time @p t. */
static inline time_t
nc_clock_to_unix(const struct nc_clock *c, nc_reltime_t t)
{
	return c->epoch_unix + (time_t)t;
}

/**
 * Convert a memcached exptime to relative time with memcached's rules: 0 never expires (returns
 * 0); up to NC_REALTIME_MAXDELTA is seconds from now; larger is an absolute unix time (one at
 * or before the epoch returns 1, which is always in the past); negative is already expired
 * (returns 1). Values beyond the 32-bit range saturate.
 */
nc_reltime_t nc_clock_exptime(const struct nc_clock *c, int64_t exptime);

/** True when an item with relative expiry @p exptime has expired at relative time @p now. */
static inline bool
nc_reltime_expired(nc_reltime_t exptime, nc_reltime_t now)
{
	return exptime != 0 && exptime <= now;
}

#endif /* NC_CORE_CLOCK_H */
