/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_ENGINE_H
#define NC_MCGEN_ENGINE_H

/*
 * The transport-agnostic core of one load thread: what to send next and when, and what to do
 * with a reply. A transport (transport.h) owns the connections and the I/O and asks the engine:
 *
 *   loop:
 *     now = mcgen_now_ns(); mcgen_engine_tick(t, now)
 *     while a connection has room and mcgen_engine_next(t, now, &q): encode q, send it
 *     receive; for each reply: parse it, mcgen_engine_reply(t, &q, &r, now)
 *     requests older than the timeout: mcgen_engine_lost(t, &q, MCGEN_C_timeouts)
 *     stop when !mcgen_engine_issuing(t) and nothing is in flight, or when
 *       mcgen_engine_drain_over(t): the rest lost as mcgen_engine_drop_reason(t) says
 *     sleep at most until mcgen_engine_wake(t, now)
 *
 * Closed loop: a request is due whenever a connection has room; its latency counts from its
 * send. Open loop: arrivals are scheduled at the offered rate (uniform or Poisson gaps), each
 * request carries its arrival time, and its latency counts from that time; when every
 * connection is full the schedule falls behind and the wait is counted (no coordinated
 * omission). Warm-up: the thread's share of the keys, each set once, closed loop; a set lost
 * (timed out, or with its connection) is sent again, up to MCGEN_WARM_TRIES times in all, and
 * losses halve the requests it keeps in flight (at most once a --timeout; a reply adds one
 * back, one per window once it was cut: a server whose receive buffer overflows is given
 * less, not the same burst again). It gives up when a key used all its tries, or when nothing
 * has answered for mcgen_run_patience_ns(): the transport then returns
 * -ETIMEDOUT (mcgen_transport_run()).
 *
 * Threads: a struct mcgen_thread belongs to its thread (its status, published with release
 * before its last second, is read by the reporting thread); struct mcgen_run is shared
 * read-only but for stop, which the reporting thread sets (atomically) when a thread failed.
 */

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "options.h"
#include "stats.h"
#include "workload.h"

/**
 * Where the load threads wait, once connected, for the start time to be set: the reporting
 * thread waits for them all (mcgen_gate_wait), sets the times, and opens it (mcgen_gate_open).
 */
struct mcgen_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned arrived;
	bool open;
};

/** Set up a closed gate. @return 0; a positive pthread error. */
int mcgen_gate_init(struct mcgen_gate *g);

/** Free what a gate holds (no thread may wait in it). */
void mcgen_gate_destroy(struct mcgen_gate *g);

/** [reporting thread] Wait until @p n threads arrived at the gate. */
void mcgen_gate_wait(struct mcgen_gate *g, unsigned n);

/** [reporting thread] Open the gate: every thread in it goes on, later ones pass. */
void mcgen_gate_open(struct mcgen_gate *g);

struct mcgen_dpdk;

/** Warm-up: how many times in all a key's set is sent when it keeps being lost. */
#define MCGEN_WARM_TRIES 5
/** The least patience_ns() allows a server (ns). */
#define MCGEN_PATIENCE_MIN_NS 3000000000ull

/** What every thread of one run (warm-up, or one measured step) shares: read-only but stop. */
struct mcgen_run {
	const struct mcgen_options *o;
	const struct mcgen_workload *w;
	struct sockaddr_storage addr; /* the server */
	socklen_t addrlen;
	struct mcgen_dpdk *dpdk; /* dpdk transports: the port (dpdk.h); else NULL */
	unsigned nthreads;
	struct mcgen_gate *gate; /* connections open; then the start times are set */
	bool warm;	    /* set every key once, then stop */
	double rate;	    /* offered requests/s in all; 0: closed loop */
	uint64_t start_ns;  /* CLOCK_MONOTONIC: the measured phase starts */
	uint64_t end_ns;    /* no new request after this */
	uint64_t drain_ns;  /* requests in flight after this are timeouts */
	uint64_t timeout_ns;
	bool stop; /* [atomic] set by the reporting thread when a thread failed: the rest stop */
};

/**
 * How long @p run waits for any sign of life before it takes the server for gone: a TCP
 * connect, a warm-up that hears nothing. Three --timeout, and at least MCGEN_PATIENCE_MIN_NS.
 */
static inline uint64_t
mcgen_run_patience_ns(const struct mcgen_run *run)
{
	uint64_t ns = 3 * run->timeout_ns;

	return ns < MCGEN_PATIENCE_MIN_NS ? MCGEN_PATIENCE_MIN_NS : ns;
}

/** Why a thread's warm-up gave up. */
enum mcgen_warm_quit {
	MCGEN_WARM_GOING,  /* it did not */
	MCGEN_WARM_SILENT, /* nothing answered for too long */
	MCGEN_WARM_KEY,	   /* a key's set was lost MCGEN_WARM_TRIES times */
};

/** A warm-up set to send again: its key and the times it was sent. */
struct mcgen_warm_retry {
	uint32_t key;
	uint8_t tries;
};

/** One load thread. */
struct mcgen_thread {
	const struct mcgen_run *run;
	unsigned id;
	unsigned nconns; /* its share of --conns */
	uint64_t rng;
	uint32_t version_seq;
	double next_ns, gap_ns; /* open loop: the next arrival, the mean gap */
	uint32_t warm_next, warm_end;
	struct mcgen_warm_retry *warm_retry; /* warm-up: lost sets to send again (a stack) */
	uint32_t warm_retry_n, warm_retry_cap;
	uint64_t warm_answer_ns; /* warm-up: the last reply (the start before any) */
	double warm_window;	 /* warm-up: most requests in flight now (losses cut it) */
	uint64_t warm_cut_ns;	 /* warm-up: when it was last cut (0: never) */
	uint8_t warm_quit;	 /* warm-up: enum mcgen_warm_quit, why it gave up */
	uint32_t warm_lost_key;	 /* warm-up: MCGEN_WARM_KEY: the key that used its tries */
	uint64_t inflight;
	unsigned errors_shown;
	int status; /* 0, or the negative errno that stopped the thread */
	char err[256];
	struct mcgen_tstats st;
};

/** CLOCK_MONOTONIC in ns. */
static inline uint64_t
mcgen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/** Set up thread @p id of @p run (its keys to warm, its share of the rate, its stream). */
void mcgen_engine_init(struct mcgen_thread *t, const struct mcgen_run *run, unsigned id);

/**
 * The transport has opened its connections (or failed to: call it anyway, then return):
 * arrive at the run's gate and wait there until the start times are set.
 */
void mcgen_engine_ready(struct mcgen_thread *t);

/**
 * A polling transport's mcgen_engine_ready(), in two halves: arrive at the gate without
 * waiting, then keep serving its queue until mcgen_engine_passed() says the gate is open.
 */
void mcgen_engine_arrive(struct mcgen_thread *t);

/** Whether the gate is open (the start times set); the first true sets the schedule. */
bool mcgen_engine_passed(struct mcgen_thread *t);

/** Account the time: roll the per-second statistics. */
void mcgen_engine_tick(struct mcgen_thread *t, uint64_t now);

/**
 * Is the thread still to issue requests (before the end, or keys left to warm, or lost sets to
 * send again)? False once the run was stopped (struct mcgen_run stop).
 */
bool mcgen_engine_issuing(const struct mcgen_thread *t, uint64_t now);

/**
 * Whether requests still in flight are no longer waited for: past the drain limit, or the run
 * was stopped. The transport then counts them lost (mcgen_engine_lost()) and returns.
 */
bool mcgen_engine_drain_over(const struct mcgen_thread *t, uint64_t now);

/**
 * The next request, when one is due at @p now: filled in @p q with sched_ns and sent_ns set
 * (the caller sets opaque, sends it, and counts it in flight: the engine's inflight is
 * already counted).
 * @return true with @p q filled; false when none is due (not time yet, phase over, warm done).
 */
bool mcgen_engine_next(struct mcgen_thread *t, uint64_t now, struct mcgen_req *q);

/** When the next request is due (ns), for a sleep; @p now when one is due already. */
uint64_t mcgen_engine_wake(const struct mcgen_thread *t, uint64_t now);

/** A reply @p r to @p q arrived at @p now: checked, counted, its latency recorded. */
void mcgen_engine_reply(struct mcgen_thread *t, const struct mcgen_req *q,
			const struct mcgen_reply *r, uint64_t now);

/**
 * Request @p q will never be answered: counted under @p why (timeouts, aborted, wrong: the
 * bytes broke the protocol), with @p msg shown (when not NULL) among the first errors.
 */
void mcgen_engine_lost(struct mcgen_thread *t, const struct mcgen_req *q, enum mcgen_counter why,
		       const char *msg);

/** Count @p n under @p c (late replies, reconnects); a late reply shows the server alive. */
void mcgen_engine_count(struct mcgen_thread *t, enum mcgen_counter c, uint64_t n);

/**
 * What requests dropped once mcgen_engine_drain_over() are counted as: timeouts past the drain
 * limit, aborted when the run was stopped or the warm-up gave up on a silent server.
 */
enum mcgen_counter mcgen_engine_drop_reason(const struct mcgen_thread *t);

/** Show an error message (the first few per thread are printed on stderr). */
void mcgen_engine_say(struct mcgen_thread *t, const char *msg);

/**
 * The thread's last act: the open loop's arrivals due but never sent counted (MCGEN_C_unsent,
 * in the total only; one division), the warm-up's unsent retries given up, every second
 * published, what it held freed.
 */
void mcgen_engine_finish(struct mcgen_thread *t);

#endif /* NC_MCGEN_ENGINE_H */
