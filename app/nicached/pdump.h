/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_PDUMP_H
#define NC_APP_PDUMP_H

/*
 * --pdump: packet capture of the DPDK port by dpdk-dumpcap or dpdk-pdump, DPDK's own tools.
 * They run as EAL secondary processes under nicached's --file-prefix and ask it (the
 * primary, through rte_pdump) for copies of the port's frames, both directions. That needs
 * EAL's shared files, which need hugepages on a hugetlbfs mount (a second process cannot map
 * 4 KiB-page or --in-memory memory): main refuses --pdump without them, and removes the
 * shared files at a clean stop so the hugepages go back to the system.
 *
 * Threads: all on the main lcore, during setup and teardown.
 */

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

/** @return whether a hugetlbfs is mounted (true when /proc/mounts cannot be read). */
bool pdump_hugetlbfs_mounted(void);

/**
 * [setup, after the port started] Answer capture requests (rte_pdump_init) with --pdump.
 * @return 0 (also without --pdump); negative errno with a message in @p err.
 */
int pdump_start(const struct nc_server *srv, char *err, size_t errcap);

/** [teardown, before the port stops] Stop answering capture requests (with --pdump). */
void pdump_stop(const struct nc_server *srv);

/**
 * [after rte_eal_cleanup] With --pdump, remove what EAL leaves for secondary processes: the
 * hugepage files named after file prefix @p prefix in every hugetlbfs mount (they would hold
 * the pages until the next start under that prefix) and the files of runtime folder
 * @p runtime_dir (then the folder). @return how many files were removed.
 */
unsigned pdump_remove_eal_files(const struct nc_server *srv, const char *prefix,
				const char *runtime_dir);

#endif /* NC_APP_PDUMP_H */
