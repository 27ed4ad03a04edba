/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/clock.h"

#include <string.h>

/* Store seconds and ticks (a fake clock's ticks are whole seconds). */
static void
clock_store(struct nc_clock *c, nc_reltime_t now, uint32_t ticks)
{
	__atomic_store_n(&c->now, now, __ATOMIC_RELAXED);
	__atomic_store_n(&c->ticks, ticks, __ATOMIC_RELAXED);
}

void
nc_clock_init(struct nc_clock *c)
{
	struct timespec real;

	memset(c, 0, sizeof(*c));
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &c->mono0);
	c->epoch_unix = real.tv_sec - NC_CLOCK_EPOCH_MARGIN;
	clock_store(c, NC_CLOCK_EPOCH_MARGIN, NC_CLOCK_EPOCH_MARGIN * NC_CLOCK_TICKS_PER_SEC);
}

void
nc_clock_init_fake(struct nc_clock *c, time_t unix_now)
{
	memset(c, 0, sizeof(*c));
	c->fake = true;
	c->epoch_unix = unix_now - NC_CLOCK_EPOCH_MARGIN;
	clock_store(c, NC_CLOCK_EPOCH_MARGIN, NC_CLOCK_EPOCH_MARGIN * NC_CLOCK_TICKS_PER_SEC);
}

void
nc_clock_update(struct nc_clock *c)
{
	struct timespec mono;
	nc_reltime_t now;
	uint32_t ticks;

	if (c->fake)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	now = (nc_reltime_t)(mono.tv_sec - c->mono0.tv_sec) + NC_CLOCK_EPOCH_MARGIN;
	ticks = now * NC_CLOCK_TICKS_PER_SEC +
		(uint32_t)(mono.tv_nsec / (1000000000L / NC_CLOCK_TICKS_PER_SEC));
	if (ticks != c->ticks)
		clock_store(c, now, ticks);
}

void
nc_clock_set_unix(struct nc_clock *c, time_t unix_now)
{
	if (!c->fake || unix_now <= c->epoch_unix)
		return;
	clock_store(c, (nc_reltime_t)(unix_now - c->epoch_unix),
		    (uint32_t)(unix_now - c->epoch_unix) * NC_CLOCK_TICKS_PER_SEC);
}

void
nc_clock_advance(struct nc_clock *c, uint32_t seconds)
{
	if (c->fake)
		clock_store(c, c->now + seconds, c->ticks + seconds * NC_CLOCK_TICKS_PER_SEC);
}

void
nc_clock_advance_ticks(struct nc_clock *c, uint32_t ticks)
{
	if (c->fake)
		clock_store(c, (c->ticks + ticks) / NC_CLOCK_TICKS_PER_SEC, c->ticks + ticks);
}

nc_reltime_t
nc_clock_exptime(const struct nc_clock *c, int64_t exptime)
{
	int64_t rel;

	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1;
	if (exptime > NC_REALTIME_MAXDELTA) {
		if (exptime <= (int64_t)c->epoch_unix)
			return 1;
		rel = exptime - (int64_t)c->epoch_unix;
	} else {
		rel = exptime + (int64_t)nc_clock_now(c);
	}
	return rel > UINT32_MAX ? UINT32_MAX : (nc_reltime_t)rel;
}
