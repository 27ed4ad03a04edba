/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_STATS_H
#define NC_MCGEN_STATS_H

/*
 * Counters and latency of a run, per thread and per second, without shared writes: each thread
 * counts into its own struct mcgen_tstats; the reporting thread reads a second's slot once
 * the owner has moved past it (published with a release store) and merges the threads'.
 *
 * A thread keeps MCGEN_SEC_SLOTS slots in a ring: the reader must read second s before the
 * owner reaches second s + MCGEN_SEC_SLOTS - 1 (it reads within a few ms; the ring gives it
 * seconds).
 *
 * Threads: [owner] functions only from the thread that counts; [reader] from any thread.
 */

#include <stdint.h>

#include "hist.h"

/* Counters: X(name, JSON/summary description). */
#define MCGEN_COUNTERS(X)                                                        \
	X(sent, "requests sent")                                                 \
	X(replies, "replies received")                                           \
	X(keys, "keys asked by get and multiget")                                \
	X(hits, "keys found")                                                    \
	X(misses, "keys not found")                                              \
	X(sets, "sets answered")                                                 \
	X(deletes, "deletes answered")                                           \
	X(wrong, "replies with a wrong byte, a wrong key, or that broke the protocol") \
	X(server_errors, "error replies and refused sets")                       \
	X(timeouts, "requests unanswered within --timeout")                     \
	X(aborted, "requests lost with a connection the server closed or that broke") \
	X(late, "udp: replies after their timeout, or to no request")           \
	X(reconnects, "tcp: connections opened again")                         \
	X(retried, "warm-up: sets lost (timed out or aborted) and sent again")    \
	X(gave_up, "warm-up: keys still not set after every try")                 \
	X(unsent, "open loop: requests due before the end that found no free slot, never sent") \
	X(handoffs, "dpdk: frames (replies, TCP segments) received on another thread's queue and handed to it")

enum mcgen_counter {
#define MCGEN_COUNTER_ENUM(name, desc) MCGEN_C_##name,
	MCGEN_COUNTERS(MCGEN_COUNTER_ENUM)
#undef MCGEN_COUNTER_ENUM
	MCGEN_C_COUNT
};

/** The counter names, in enum order. */
extern const char *const mcgen_counter_names[MCGEN_C_COUNT];

#define MCGEN_SEC_SLOTS 4

/** The counters and latencies of one interval. */
struct mcgen_sample {
	uint64_t c[MCGEN_C_COUNT];
	struct mcgen_hist lat; /* ns from the scheduled send to the reply */
};

/** One thread's statistics. */
struct mcgen_tstats {
	struct mcgen_sample sec[MCGEN_SEC_SLOTS];
	struct mcgen_sample total;
	uint64_t cur;  /* [owner] the second being counted */
	uint64_t done; /* seconds complete: written with release by the owner */
};

/** Empty every slot and the total; the current second is 0. [owner, before the reader starts] */
void mcgen_sample_reset(struct mcgen_sample *s);

/** @copydoc mcgen_sample_reset */
void mcgen_tstats_reset(struct mcgen_tstats *ts);

/** Move to second @p sec (if later), publishing the seconds finished. [owner] */
void mcgen_tstats_roll(struct mcgen_tstats *ts, uint64_t sec);

/** Publish every second as finished (the thread stops counting). [owner] */
void mcgen_tstats_finish(struct mcgen_tstats *ts);

/** Add @p n to counter @p c of the current second and the total. [owner] */
static inline void
mcgen_tstats_count(struct mcgen_tstats *ts, enum mcgen_counter c, uint64_t n)
{
	ts->sec[ts->cur % MCGEN_SEC_SLOTS].c[c] += n;
	ts->total.c[c] += n;
}

/** Record one latency of @p ns. [owner] */
static inline void
mcgen_tstats_latency(struct mcgen_tstats *ts, uint64_t ns)
{
	mcgen_hist_add(&ts->sec[ts->cur % MCGEN_SEC_SLOTS].lat, ns);
	mcgen_hist_add(&ts->total.lat, ns);
}

/** How many seconds the owner has finished. [reader] */
uint64_t mcgen_tstats_done(const struct mcgen_tstats *ts);

/**
 * Add second @p sec of @p ts to @p into. [reader, once mcgen_tstats_done() > sec, and before
 * the owner reaches sec + MCGEN_SEC_SLOTS - 1]
 */
void mcgen_tstats_merge_second(struct mcgen_sample *into, const struct mcgen_tstats *ts,
			       uint64_t sec);

/** Add @p from to @p into. */
void mcgen_sample_merge(struct mcgen_sample *into, const struct mcgen_sample *from);

#endif /* NC_MCGEN_STATS_H */
