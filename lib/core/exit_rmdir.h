/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_EXIT_RMDIR_H
#define NC_CORE_EXIT_RMDIR_H

/*
 * A folder removed when the process exits, if it is empty by then. For EAL's runtime folder
 * (/var/run/dpdk/<file prefix>): EAL makes it, its exit handlers unlink what it put there (the
 * telemetry socket) but leave the folder, and a process started under a prefix of its own (a
 * port, a pid: tests start many) would leave an empty folder behind each time.
 */

/** Room for the path nc_exit_rmdir() hands out, its NUL included. */
#define NC_EXIT_RMDIR_PATH_MAX 4096

/**
 * [setup, main thread] Register an on_exit() handler that removes the folder whose path the
 * caller writes, later, into the returned buffer (NC_EXIT_RMDIR_PATH_MAX bytes, empty until
 * then: nothing is removed), when nothing is left in it (a folder with anything in it stays);
 * the handler frees the buffer. Exit handlers run last registered first: for EAL's folder,
 * call this before rte_eal_init() so that it runs after EAL's own handlers.
 * @return the buffer; NULL (nothing registered) when out of memory.
 */
char *nc_exit_rmdir(void);

#endif /* NC_CORE_EXIT_RMDIR_H */
