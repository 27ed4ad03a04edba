/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_SOCK_H
#define NC_MCGEN_SOCK_H

/*
 * What the kernel-socket transports share: opening a connected socket to the server, and how
 * long a thread may sleep in epoll.
 *
 * Threads: no state; any thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "engine.h"

/** How often requests are scanned for timeouts. */
#define MCGEN_SCAN_NS 10000000ull

/**
 * Open a socket of @p type (SOCK_STREAM, SOCK_DGRAM) connected to the run's server,
 * non-blocking (TCP: TCP_NODELAY, connected before it returns, after the run's patience at most).
 * @return the descriptor; a negative errno with a message in @p err: -ETIMEDOUT (no answer),
 * -EINTR (the run stopped, or mcgen was interrupted, while it waited).
 */
int mcgen_sock_open(const struct mcgen_run *run, int type, char *err, size_t errlen);

/**
 * Wait for events on @p epfd until @p until (CLOCK_MONOTONIC ns; now or earlier: poll).
 * @return the number of events (0 on timeout or EINTR); a negative errno.
 */
int mcgen_sock_wait(int epfd, struct epoll_event *ev, int max, uint64_t now, uint64_t until);

/**
 * The latest time thread @p t may sleep to at @p now: the next due request when a connection
 * has @p room, the next second boundary, the next timeout scan.
 */
uint64_t mcgen_sock_until(const struct mcgen_thread *t, uint64_t now, bool room);

#endif /* NC_MCGEN_SOCK_H */
