/* SPDX-License-Identifier: BSD-3-Clause */
/* The server's users: loaded at start, reloaded on SIGHUP, published by RCU (auth_server.h). */
#include "auth_server.h"

#include <urcu-qsbr.h>

#include "core/log.h"

int
auth_server_setup(struct nc_server *srv, char *err, size_t errcap)
{
	const char *file = settings_auth_file(&srv->set);

	if (!settings_auth_on(&srv->set))
		return 0;
	if (file == NULL) {
		snprintf(err, errcap, "-S/--enable-sasl: no user:password file named");
		return -EINVAL;
	}
	return nc_auth_load(file, &srv->auth, err, errcap);
}

void
auth_server_reload(struct nc_server *srv)
{
	const char *file = settings_auth_file(&srv->set);
	struct nc_auth *fresh = NULL, *old;
	char err[512];

	if (srv->auth == NULL || file == NULL) {
		nc_log(NC_LOG_NOTICE, "SIGHUP: authentication is off, nothing to reload");
		return;
	}
	if (nc_auth_load(file, &fresh, err, sizeof(err)) != 0) {
		nc_log(NC_LOG_ERR, "SIGHUP: %s; keeping the %u users loaded before", err,
		       nc_auth_count(srv->auth));
		return;
	}
	old = __atomic_exchange_n(&srv->auth, fresh, __ATOMIC_ACQ_REL);
	synchronize_rcu(); /* no worker holds the old set past its next quiescent state */
	nc_auth_destroy(&old);
	nc_log(NC_LOG_NOTICE, "SIGHUP: auth file %s reloaded: %u users", file,
	       nc_auth_count(fresh));
}

void
auth_server_teardown(struct nc_server *srv)
{
	nc_auth_destroy(&srv->auth);
}
