/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_METRICS_H
#define NC_APP_METRICS_H

/*
 * A Prometheus endpoint: GET /metrics on --metrics [addr:]port (a kernel socket served by
 * libmicrohttpd, stepped by the control lcore: no thread of its own, nothing on the workers'
 * path). The page holds every stats group: the server's figures, every worker's counters and
 * every shard's (one series per worker, counted since the start: `stats reset` does not move
 * them), request latency histograms per class of command and worker, `stats slabs` and
 * `stats items` per size class, `stats settings`, `stats cluster`, and on the dpdk backend
 * `stats nic` and `stats tcp` with per-queue series. Every family has HELP and TYPE lines.
 */

#include <stddef.h>

struct nc_server;

/**
 * [setup, main lcore] Open the endpoint when --metrics is set (else nothing).
 * @return 0; -EINVAL (a bad address, message in @p err), -EADDRINUSE (cannot listen),
 *         -ENOMEM.
 */
int metrics_setup(struct nc_server *srv, char *err, size_t errcap);

/**
 * [control lcore] Accept scrapes and answer them; never blocks (each call does what the
 * sockets allow now). Call every control loop tick.
 */
void metrics_service(struct nc_server *srv);

/** [setup] Close the endpoint (after the control loop stopped). */
void metrics_teardown(struct nc_server *srv);

#endif /* NC_APP_METRICS_H */
