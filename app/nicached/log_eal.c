/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK's own messages (EAL, drivers, telemetry) through the process's log (core/log.h), so
 * they carry the time and their level like nicached's and reach the journal or syslog too.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <rte_log.h>

#include "core/log.h"
#include "log_eal.h"

/* The core/log.h level of the DPDK message being written (RTE_LOG_ERR is 4, syslog's 3). */
static enum nc_log_level
eal_level(void)
{
	int l = rte_log_cur_msg_loglevel();

	if (l <= (int)RTE_LOG_ERR)
		return NC_LOG_ERR;
	if (l == (int)RTE_LOG_WARNING)
		return NC_LOG_WARNING;
	if (l == (int)RTE_LOG_NOTICE)
		return NC_LOG_NOTICE;
	return l == (int)RTE_LOG_INFO ? NC_LOG_INFO : NC_LOG_DEBUG;
}

/*
 * The stream's write: DPDK writes one message per call (rte_vlog), usually ending in a
 * newline; each line becomes one log line.
 */
static ssize_t
eal_write(void *cookie, const char *buf, size_t len)
{
	size_t off = 0;

	(void)cookie;
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;

		if (n > 0)
			nc_log(eal_level(), "%.*s", (int)n, buf + off);
		off += n + (nl != NULL);
	}
	return (ssize_t)len;
}

int
log_eal_redirect(void)
{
	static const cookie_io_functions_t io = {.write = eal_write};
	FILE *f = fopencookie(NULL, "w", io);

	if (f == NULL)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	return rte_openlog_stream(f) == 0 ? 0 : -1;
}
