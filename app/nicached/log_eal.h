/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_LOG_EAL_H
#define NC_APP_LOG_EAL_H

/**
 * Send DPDK's log (rte_log: EAL, drivers) through nc_log(), one log line per message line,
 * at the matching level. Call once, after nc_log_open() and before rte_eal_init(), from the
 * main thread.
 * @return 0, or -1 when the stream could not be made (DPDK keeps writing to stderr).
 */
int log_eal_redirect(void);

#endif /* NC_APP_LOG_EAL_H */
