/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_CONTROL_H
#define NC_APP_CONTROL_H

/*
 * The control lcore (EAL's main lcore): keeps the coarse clock, watches for SIGINT/SIGTERM,
 * serves DPDK telemetry (/nicached/stats, /nicached/settings, /nicached/nic: the figures of
 * `stats`, `stats settings` and `stats nic`), and
 * prints the startup banner and the final stats line. Never on a request's path.
 */

#include <stdio.h>

#include "server.h"

/**
 * [setup] Catch SIGINT and SIGTERM (they ask control_main to stop), SIGHUP (control_main
 * reads the auth file again, auth_server.h) and SIGUSR1 (write a snapshot to
 * --snapshot-file); ignore SIGPIPE.
 */
void control_signals(void);

/**
 * [any thread] Ask for a clean stop, as SIGTERM does (the shutdown command of -A). Safe from
 * workers: it only sets the flag the control loop reads.
 */
void control_stop(void);

/**
 * [setup] Register the telemetry commands for @p srv (DPDK telemetry callbacks take no
 * argument, so the server is kept in one file-static pointer until control_unregister()).
 * @return 0 or negative errno.
 */
int control_telemetry(struct nc_server *srv);

/** Print what is starting: backend, workers, memory, addresses and ports. */
void control_banner(const struct nc_server *srv, FILE *f);

/**
 * Run the control loop until a signal arrives: update the clock a few hundred times a
 * second, then set srv->stop for the workers and return.
 */
void control_main(struct nc_server *srv);

/** Print one line with the final figures (uptime, connections, gets, sets, items). */
void control_final_stats(const struct nc_server *srv, FILE *f);

#endif /* NC_APP_CONTROL_H */
