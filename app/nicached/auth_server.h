/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_AUTH_SERVER_H
#define NC_APP_AUTH_SERVER_H

/*
 * The server's users (auth.h), when -S or -Y turns authentication on: read at start (a
 * missing, unreadable or malformed file stops the start), read again on SIGHUP by the control
 * lcore and published in srv->auth; a failed reload keeps the users loaded before, and says so.
 *
 * RCU: workers read srv->auth with auth_current() inside their read section (between
 * quiescent states) and do not keep the pointer past it; a replaced set is freed after a
 * grace period.
 */

#include <stdio.h>

#include "auth.h"
#include "server.h"

/**
 * [setup, before the workers start] Load the users of the file settings_auth_file() names
 * into srv->auth; nothing when authentication is off.
 * @return 0; as nc_auth_load() with a message naming the file and the problem in @p err.
 */
int auth_server_setup(struct nc_server *srv, char *err, size_t errcap);

/**
 * [control lcore] Read the file again (SIGHUP): publish the new users, free the old ones after
 * a grace period; on failure keep the old ones. Either way one line in the log (core/log.h).
 */
void auth_server_reload(struct nc_server *srv);

/** [setup] Free the users (workers stopped). */
void auth_server_teardown(struct nc_server *srv);

/** [worker, in its RCU read section] The current users; NULL when authentication is off. */
static inline const struct nc_auth *
auth_current(const struct nc_server *srv)
{
	return __atomic_load_n(&srv->auth, __ATOMIC_ACQUIRE);
}

#endif /* NC_APP_AUTH_SERVER_H */
