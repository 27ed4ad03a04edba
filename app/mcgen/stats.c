/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-thread, per-second counters and latencies (stats.h). */
#include "stats.h"

#include <string.h>

const char *const mcgen_counter_names[MCGEN_C_COUNT] = {
#define MCGEN_COUNTER_NAME(name, desc) #name,
	MCGEN_COUNTERS(MCGEN_COUNTER_NAME)
#undef MCGEN_COUNTER_NAME
};

void
mcgen_sample_reset(struct mcgen_sample *s)
{
	memset(s->c, 0, sizeof(s->c));
	mcgen_hist_reset(&s->lat);
}

void
mcgen_tstats_reset(struct mcgen_tstats *ts)
{
	for (unsigned i = 0; i < MCGEN_SEC_SLOTS; i++)
		mcgen_sample_reset(&ts->sec[i]);
	mcgen_sample_reset(&ts->total);
	ts->cur = 0;
	__atomic_store_n(&ts->done, 0, __ATOMIC_RELEASE);
}

void
mcgen_tstats_roll(struct mcgen_tstats *ts, uint64_t sec)
{
	while (ts->cur < sec) {
		ts->cur++;
		mcgen_sample_reset(&ts->sec[ts->cur % MCGEN_SEC_SLOTS]);
		/* Release: the finished slot's counts are visible before its number. */
		__atomic_store_n(&ts->done, ts->cur, __ATOMIC_RELEASE);
	}
}

void
mcgen_tstats_finish(struct mcgen_tstats *ts)
{
	__atomic_store_n(&ts->done, UINT64_MAX, __ATOMIC_RELEASE);
}

uint64_t
mcgen_tstats_done(const struct mcgen_tstats *ts)
{
	return __atomic_load_n(&ts->done, __ATOMIC_ACQUIRE);
}

void
mcgen_sample_merge(struct mcgen_sample *into, const struct mcgen_sample *from)
{
	for (unsigned i = 0; i < MCGEN_C_COUNT; i++)
		into->c[i] += from->c[i];
	mcgen_hist_merge(&into->lat, &from->lat);
}

void
mcgen_tstats_merge_second(struct mcgen_sample *into, const struct mcgen_tstats *ts, uint64_t sec)
{
	/* A finished owner counted nothing after its last second (cur is stable then). */
	if (mcgen_tstats_done(ts) == UINT64_MAX && sec > ts->cur)
		return;
	mcgen_sample_merge(into, &ts->sec[sec % MCGEN_SEC_SLOTS]);
}
