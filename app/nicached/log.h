/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_LOG_H
#define NC_APP_LOG_H

/*
 * Verbose logging as memcached's -v/-vv: a line on stderr when the server's verbosity
 * (-v count, or the `verbosity` command) is at least the message's level. 1: warnings and
 * refused connections; 2: connections opening and closing, and each command.
 */

#include <stdio.h>

#include "server.h"

#define NC_LOG(srv, level, ...)                                                          \
	do {                                                                             \
		if (__atomic_load_n(&(srv)->verbosity, __ATOMIC_RELAXED) >= (level)) {  \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
		}                                                                        \
	} while (0)

#endif /* NC_APP_LOG_H */
