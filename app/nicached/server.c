/* SPDX-License-Identifier: BSD-3-Clause */
/* Building and taking down the appliance: shared pieces, then one worker per worker lcore. */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth_server.h"
#include "cluster.h"
#include "cluster_warm.h"
#include "nic.h"
#include "placement_eal.h"
#include "snapshot.h"
#include "worker.h"

int
server_setup(struct nc_server *srv, char *err, size_t errcap)
{
	unsigned lcore, id = 0;
	int rc = 0;

	srv->pid = getpid();
	srv->started = time(NULL);
	srv->verbosity = srv->set.verbose;
	nc_clock_init(&srv->clock);
	latency_bounds_init(&srv->latency, rte_get_tsc_hz());
	nc_cas_source_init(&srv->cas);
	rc = nc_digest_seed_random(&srv->seed);
	if (rc != 0) {
		snprintf(err, errcap, "cannot draw the digest seed: %s", strerror(-rc));
		return rc;
	}
	nc_digest_key_init(&srv->digest_key, &srv->seed);
	/* The reclaimer serves the control lcore: its memory on that lcore's socket. */
	srv->reclaimer = retire_reclaimer_create(placement_mem_socket(rte_get_main_lcore()), -1, &rc);
	if (srv->reclaimer == NULL) {
		snprintf(err, errcap, "cannot start the RCU reclaimer: %s", strerror(-rc));
		return rc ? rc : -ENOMEM;
	}
	rc = cluster_setup(srv, err, errcap);
	if (rc == 0)
		rc = cluster_warm_setup(srv);
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, errcap, "cluster warm-up: %s", strerror(-rc));
		return rc;
	}
	srv->nworkers = rte_lcore_count() - 1;
	if (srv->nworkers == 0) {
		snprintf(err, errcap, "no worker lcore: EAL gave only the main lcore");
		return -EINVAL;
	}
	if (srv->set.backend == SETTINGS_BACKEND_DPDK) {
		rc = nic_start(srv, err, errcap);
		if (rc != 0)
			return rc;
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		srv->workers[id] = worker_create(srv, id, lcore, &rc, err, errcap);
		if (srv->workers[id] == NULL)
			return rc ? rc : -ENOMEM;
		id++;
	}
	return snapshot_setup(srv, err, errcap);
}

void
server_teardown(struct nc_server *srv)
{
	for (unsigned i = 0; i < RTE_MAX_LCORE; i++)
		worker_destroy(&srv->workers[i]);
	nic_stop(srv);
	retire_reclaimer_destroy(&srv->reclaimer);
	cluster_teardown(srv);
	auth_server_teardown(srv);
	cluster_warm_teardown(srv);
	snapshot_teardown(srv);
}
