/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_PLACEMENT_EAL_H
#define NC_APP_PLACEMENT_EAL_H

/*
 * NUMA placement after EAL starts: the socket each lcore runs on (whether nicached chose the
 * CPUs with placement.h or the user's --lcores did), the socket to allocate an lcore's memory
 * on, and the banner lines saying where every worker, shard and the NIC are.
 *
 * Threads: [setup] functions on the main lcore after rte_eal_init(); placement_banner after
 * server_setup(), before the workers run.
 */

#include <stdio.h>

#include "server.h"

/** [setup] The NUMA socket of @p lcore's CPUs, or SOCKET_ID_ANY when they span sockets. */
int placement_lcore_socket(unsigned lcore);

/**
 * [setup] The socket to allocate @p lcore's memory on: its socket when EAL's heap there has
 * room now (16 MB free: without hugepages only socket 0 has any; with them, the sockets
 * whose pages EAL reserved), else SOCKET_ID_ANY.
 */
int placement_mem_socket(unsigned lcore);

/** [any] The socket EAL memory at @p p lies on, or SOCKET_ID_ANY (not EAL memory, NULL). */
int placement_ptr_socket(const void *p);

/**
 * [setup] Write the placement lines of the startup banner to @p f: the NIC's socket (backend
 * dpdk), the control lcore's, and per worker its lcore, CPU(s), socket and the sockets its
 * shard's arena and its own state lie on; a warning line when a worker runs on another socket
 * than the NIC. Also logged as a warning.
 */
void placement_banner(const struct nc_server *srv, FILE *f);

#endif /* NC_APP_PLACEMENT_EAL_H */
