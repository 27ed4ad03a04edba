/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_GENLINK_TCPLINK_H
#define NC_GENLINK_TCPLINK_H

/*
 * A load generator's TCP on its link (mcgen -x dpdk-tcp): a lib/tcp
 * context (active open) whose segments go out on the link's queue with IPv4 and Ethernet
 * headers and both checksums in software (genlink_tcp_frame), a TX burst per turn, and the
 * link's TCP hook set so received segments reach tcp_input() from every receive loop of the
 * link (the load's own, genlink_idle while `stats` is read).
 *
 * The load keeps its connections: it calls tcp_connect(), tcp_events(), tcp_recv(),
 * tcp_sendv() on genlink_tcp_ctx(), and genlink_tcp_turn() once per loop turn (timers,
 * tcp_flush, the TX burst).
 *
 * Threads: a genlink_tcp belongs to the thread that uses its link. Errors: negative errno.
 */

#include <stdbool.h>
#include <stdint.h>

#include "genlink/link.h"

struct tcp_ctx;
struct genlink_tcp;

/**
 * Create a TCP context on @p l for up to @p max_conns connections and hook it to the link.
 * With @p own_ports, connections take their source ports from the link's block (l->sport ..
 * + nsports - 1, which must lie in TCP_EPHEMERAL_MIN .. MAX); else lib/tcp picks any.
 * @return 0 with *@p out; -ENOMEM; -EINVAL (own ports outside lib/tcp's range).
 */
int genlink_tcp_create(struct genlink *l, uint32_t max_conns, bool own_ports,
		       struct genlink_tcp **out);

/**
 * Unhook and free (NULL allowed; sets *@p g NULL). Connections still open are given up to
 * @p linger_ms to finish the close the caller started (tcp_close), the link's queue received
 * meanwhile (genlink_receive), then freed.
 */
void genlink_tcp_destroy(struct genlink_tcp **g, unsigned linger_ms);

/** The lib/tcp context, for the load's tcp_* calls. */
struct tcp_ctx *genlink_tcp_ctx(struct genlink_tcp *g);

/** Microseconds on the TSC, lib/tcp's clock here. */
uint64_t genlink_tcp_now_us(const struct genlink_tcp *g);

/** One turn: timers due, tcp_flush(), and the frames built since the last turn sent. */
void genlink_tcp_turn(struct genlink_tcp *g);

#endif /* NC_GENLINK_TCPLINK_H */
