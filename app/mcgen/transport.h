/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_TRANSPORT_H
#define NC_MCGEN_TRANSPORT_H

/*
 * Transports: each line of MCGEN_TRANSPORTS (options.h) has a run function here, which drives
 * one load thread from start to end over its own connections (struct mcgen_thread.nconns of
 * them), asking the engine (engine.h) what to send and handing it every reply:
 *
 *   tcp   sock_tcp.c   kernel TCP, epoll; replies parsed from the byte stream in order
 *   udp   sock_udp.c   kernel UDP, one socket per connection; request ids in memcached's frame
 *                      header; multi-datagram replies reassembled (udp_book.h)
 *   dpdk-udp  dpdk_udp.c  the same over a DPDK queue pair per thread (dpdk.h): a connection is
 *                      a UDP source port; frames built by hand (lib/genlink)
 *   dpdk-tcp  dpdk_tcp.c  lib/tcp's active open on the thread's queue pair, one connection
 *                      per source port of its block; streams parsed as over the kernel
 *                      (stream.h, shared with tcp)
 *
 * Every run function calls mcgen_engine_ready() exactly once, when its connections are open
 * or failed to open, before it sends anything.
 *
 * A DPDK transport owns a queue pair per thread (a registered lcore, mcgen_dpdk_enter) and
 * its frames, and calls the same engine functions.
 *
 * Threads: a run function runs on its thread with its own struct mcgen_thread; the transports
 * share nothing between threads.
 */

#include "engine.h"
#include "options.h"

#define MCGEN_TRANSPORT_DECLARE(e, id, name, dpdk) int mcgen_##id##_run(struct mcgen_thread *t);
MCGEN_TRANSPORTS(MCGEN_TRANSPORT_DECLARE)
#undef MCGEN_TRANSPORT_DECLARE

/**
 * Run thread @p t over transport @p which (enum mcgen_transport) until its phase ends and the
 * requests in flight are answered or timed out. Sets t->status (with release) and publishes
 * every second of its statistics before it returns.
 * @return 0; a negative errno when the thread could not run or stopped on an error (e.g.
 * -ECONNREFUSED; -ETIMEDOUT: the warm-up heard nothing for too long), with the reason in
 * t->err; the requests it left in flight are then counted aborted.
 */
int mcgen_transport_run(unsigned which, struct mcgen_thread *t);

#endif /* NC_MCGEN_TRANSPORT_H */
