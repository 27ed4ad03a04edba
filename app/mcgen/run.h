/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_RUN_H
#define NC_MCGEN_RUN_H

/*
 * One run of the load: the threads started over the transport, a line per second while they
 * work (from the threads' per-second statistics), their totals when they are done. mcgen runs
 * the warm-up as one (every key set once), then one measured step, or one per --sweep rate.
 *
 * Threads: call from the main thread; it starts and joins the load threads itself.
 */

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#include "options.h"
#include "stats.h"
#include "workload.h"

/** One second of a step, as reported. */
struct mcgen_second {
	uint64_t c[MCGEN_C_COUNT];
	double seconds; /* its length: 1, less for the last of a fractional --duration or a cut step */
	uint64_t p50, p99, p999, max; /* ns */
};

/** Where the load goes. */
struct mcgen_target {
	struct sockaddr_storage addr; /* the server */
	socklen_t addrlen;
	struct mcgen_dpdk *dpdk; /* dpdk transports: the port (dpdk.h); else NULL */
};

/** The server's cost of a step, from its own `stats` (dpdk transports). */
struct mcgen_server_cost {
	bool valid;	      /* read before and after the step */
	uint64_t requests;    /* the server counted, the second stats request not included */
	double cycles;	      /* busy cycles per request */
	double app_cycles;    /* the same without the cycles inside the driver's calls */
	double busy_percent;  /* busy cycles over the step's seconds, of one core */
};

/** What one step measured. */
struct mcgen_step {
	double rate; /* offered requests/s; 0: closed loop */
	double seconds; /* measured: --duration, less when the step failed */
	double planned; /* --duration (0: the warm-up) */
	struct mcgen_sample total;
	unsigned nsec;
	struct mcgen_second *sec; /* nsec of them */
	int status;		  /* 0, or the first thread's negative errno */
	char error[256];	  /* status < 0: why (the thread's message) */
	struct mcgen_server_cost server;
};

/**
 * Resolve --server into @p addr: host[:port] (a name or an address; IPv6 in brackets when a
 * port follows, "[::1]:11211", or bare without one, "::1"; an IPv6 address whose last group
 * could be a port, "::1:5", is refused as ambiguous), the port a number or a service name
 * looked up for @p socktype (SOCK_STREAM or SOCK_DGRAM), 11211 when none is given.
 * @return 0; -EINVAL (malformed) or -EHOSTUNREACH (no address) with a message in @p err.
 */
int mcgen_resolve(const char *server, int socktype, struct sockaddr_storage *addr,
		  socklen_t *len, char *err, size_t errlen);

/**
 * Run one step: @p warm sets every key once (no lines printed); otherwise --duration seconds
 * at offered @p rate (0: closed loop), a line per second on @p out unless --quiet, with
 * @p label in front. A thread that stops on an error (a connection refused, a server that went
 * away) stops the step, the warm-up too: no line for the second it failed in nor after it;
 * res->seconds is then the time the load ran (0 when it failed before the start).
 * @return 0 with @p res filled (free res->sec with mcgen_step_release); a negative errno when
 * the threads could not run (res->status too), with a message in @p err.
 */
int mcgen_run_step(const struct mcgen_options *o, const struct mcgen_workload *w,
		   const struct mcgen_target *target, bool warm, double rate, const char *label,
		   FILE *out, struct mcgen_step *res, char *err, size_t errlen);

/**
 * Ask the run under way, and mcgen_run_step() calls after it, to stop: a step not yet done
 * (its drain included) ends within a few ms with status -EINTR, the seconds begun kept (the
 * last as long as it ran), requests in flight counted aborted; a blocking wait of a thread (a
 * TCP connect, the DPDK link and ARP) gives up too. Async-signal-safe: mcgen's SIGINT and
 * SIGTERM handler calls it with the signal's number. Process-wide: one flag, the first signal
 * kept, never cleared.
 */
void mcgen_run_interrupt(int signo);

/** The signal that interrupted mcgen (mcgen_run_interrupt()), or 0. Any thread. */
int mcgen_run_interrupted(void);

/** "interrupted by SIGINT" (or SIGTERM) when mcgen was interrupted; else NULL. Any thread. */
const char *mcgen_run_interrupted_why(void);

struct mcgen_run;

/**
 * Whether a load thread's blocking wait (a connect) must give up: @p run was stopped (a thread
 * failed) or mcgen was interrupted. Any thread.
 */
bool mcgen_run_given_up(const struct mcgen_run *run);

/** Why mcgen_run_given_up() said so: the interrupt, else "the run stopped". Any thread. */
const char *mcgen_run_given_up_why(void);

/** Free what a step holds. */
void mcgen_step_release(struct mcgen_step *res);

/** Errors of a sample: wrong replies and server errors (timeouts apart). */
uint64_t mcgen_sample_errors(const struct mcgen_sample *s);

/** Write @p ns as a short latency ("31.2us", "1.52ms") into @p buf. @return buf. */
const char *mcgen_fmt_ns(uint64_t ns, char *buf, size_t len);

#endif /* NC_MCGEN_RUN_H */
