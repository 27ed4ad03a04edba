/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_DPDK_H
#define NC_MCGEN_DPDK_H

/*
 * mcgen's DPDK side, for the dpdk transports: EAL from --eal, the first port with one queue
 * pair per load thread (lib/genlink), the server's MAC (--dst-mac, or ARP), and the server's
 * own accounting (`stats` over UDP) for its cycles per request.
 *
 * Load threads stay mcgen's pthreads (run.c): each one enters DPDK at its start
 * (mcgen_dpdk_enter: pinned to the CPUs of an lcore of -l, round robin, and registered as a
 * non-EAL lcore, so the pool's per-lcore caches serve it) and leaves at its end. Thread i
 * owns queue pair i and the source ports --src-port + i x B .. + B - 1, B =
 * ceil(--conns / --threads), one per connection (UDP, or a TCP connection's port): RSS on
 * the server spreads them over its queues. Every reply reaches the thread that owns its
 * port (lib/genlink/steer.h): on a device with rte_flow a rule per thread steers its block
 * to its queue; a frame landing on another thread's queue anyway (memif, a single-queue
 * af_xdp, a server answering from another queue) is handed to its owner through the owner's
 * ring and counted (MCGEN_C_handoffs). Each thread needs its own lcore in -l: a thread
 * polls without pause, so two sharing a CPU starve each other; setup refuses that.
 *
 * Threads: setup, teardown and the server readout on the main thread while no load thread
 * runs; enter/leave and the link from the load threads. Errors: negative errno + message.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "options.h"
#include "run.h"

struct mcgen_dpdk;
struct genlink;
struct rte_mbuf;
struct sockaddr_storage;

/** The server's own figures (`stats`) read before and after a step. */
#define MCGEN_SERVER_STATS(X) X(requests) X(busy_cycles) X(busy_driver_cycles) X(tsc_hz)

struct mcgen_server_stats {
#define MCGEN_SERVER_FIELD(name) uint64_t name;
	MCGEN_SERVER_STATS(MCGEN_SERVER_FIELD)
#undef MCGEN_SERVER_FIELD
};

/**
 * Start EAL with --eal (and --site's device: dpdk_site.h), the port with --threads queue
 * pairs (as --site's profile says, else genlink's built-in setup), and learn the MAC of
 * @p server (an IPv4 address). Once per process: EAL cannot start twice.
 * @return 0 with *@p out; -EINVAL (bad --eal, --site, --src-ip, --dst-mac, not IPv4),
 * -ENOENT (--site or its profile missing), -ENODEV (no port), -ETIMEDOUT (no link),
 * -EHOSTUNREACH (no ARP reply), or another negative errno, with a message in @p err.
 */
int mcgen_dpdk_setup(const struct mcgen_options *o, const struct sockaddr_storage *server,
		     struct mcgen_dpdk **out, char *err, size_t errlen);

/** Stop the port and EAL (NULL allowed); sets *@p d NULL. */
void mcgen_dpdk_teardown(struct mcgen_dpdk **d);

/**
 * [load thread @p thread] Pin the calling thread to its lcore's CPUs and register it with
 * EAL.
 * @return its link (queue pair @p thread and its source ports); NULL with a message in
 * @p err (no lcore id left, or @p thread beyond the queues).
 */
struct genlink *mcgen_dpdk_enter(struct mcgen_dpdk *d, unsigned thread, char *err,
				 size_t errlen);

/**
 * [load thread @p t, its link @p l] Receive up to @p max frames for the thread: its queue's
 * burst and the frames other threads handed over (genlink_receive); frames for another
 * thread's ports go to it, counted under MCGEN_C_handoffs.
 * @return how many frames are at @p pkts.
 */
uint16_t mcgen_dpdk_receive(struct mcgen_thread *t, struct genlink *l, struct rte_mbuf **pkts,
			    uint16_t max);

/**
 * [load thread @p t, its link @p l from mcgen_dpdk_enter] The thread's mcgen_engine_ready():
 * arrive at the gate and, until it opens, keep receiving (frames for other threads handed
 * over, the thread's own to the link: ARP, its TCP hook), so a thread still connecting gets
 * the segments that land on this queue. With @p l NULL (the thread got no link) it only
 * waits at the gate, so the other threads are not held up.
 */
void mcgen_dpdk_ready(struct mcgen_thread *t, struct genlink *l);

/**
 * [load thread, after mcgen_dpdk_enter, with @p l its link or NULL] Done: keep receiving
 * and handing over (the thread's own frames are freed) until every thread that entered is
 * done, so none loses the replies that land on this queue; then unregister from EAL.
 */
void mcgen_dpdk_leave(struct mcgen_dpdk *d, struct mcgen_thread *t, struct genlink *l);

/**
 * [main thread, no load thread running] Read the server's `stats` over UDP on queue 0,
 * after a short quiet time for late replies.
 * @return 0 with @p s filled; -ETIMEDOUT, -ENOENT (a figure missing), with a message.
 */
int mcgen_dpdk_server_read(struct mcgen_dpdk *d, struct mcgen_server_stats *s, char *err,
			   size_t errlen);

/**
 * The server's cost over a step of @p seconds from its stats before (@p s0) and after
 * (@p s1): one stats request falls between them and is not counted. @p c is left invalid
 * when the server counted no request.
 */
void mcgen_dpdk_server_cost(const struct mcgen_server_stats *s0,
			    const struct mcgen_server_stats *s1, double seconds,
			    struct mcgen_server_cost *c);

#endif /* NC_MCGEN_DPDK_H */
