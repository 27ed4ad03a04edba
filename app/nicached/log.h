/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_LOG_H
#define NC_APP_LOG_H

/*
 * Verbose logging as memcached's -v/-vv/-vvv: a message is logged (core/log.h: time, level,
 * to stderr, the journal or syslog) when the server's verbosity (-v count, or the `verbosity`
 * command) is at least its level. Level 1 (-v): warnings and refused connections, logged as
 * warnings; 2 (-vv): connections opening and closing, each command, links, resyncs, as info;
 * 3 (-vvv): as debug (nothing uses it yet: memcached's state changes have no counterpart). Messages that always matter (start-up errors, cluster membership) call
 * nc_log() directly with their level.
 */

#include "core/log.h"
#include "server.h"

/** The core/log.h level of a -v level (1, 2, 3). */
#define NC_LOG_VERBOSE_LEVEL(v) \
	((v) <= 1 ? NC_LOG_WARNING : (v) == 2 ? NC_LOG_INFO : NC_LOG_DEBUG)

#define NC_LOG(srv, level, ...)                                                          \
	do {                                                                             \
		if (__atomic_load_n(&(srv)->verbosity, __ATOMIC_RELAXED) >= (level))    \
			nc_log(NC_LOG_VERBOSE_LEVEL(level), __VA_ARGS__);                 \
	} while (0)

#endif /* NC_APP_LOG_H */
