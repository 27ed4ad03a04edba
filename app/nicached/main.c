/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nicached: settings (flags and --config) -> EAL -> server (shards, stacks, workers) ->
 * worker lcores launched -> control loop on the main lcore until SIGINT/SIGTERM -> clean stop
 * with a final stats line.
 *
 * Exit codes: 0 after a signal; 64 (EX_USAGE) for bad flags or config; 71 (EX_OSERR) when
 * EAL or the server cannot start (e.g. a port in use).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "control.h"
#include "nic.h"
#include "server.h"
#include "settings.h"
#include "worker.h"

#define EXIT_USAGE 64
#define EXIT_OSERR 71

/** The ids of the CPUs this process may run on (its affinity set); returns how many. */
static unsigned
usable_cpus(unsigned *cpus)
{
	cpu_set_t set;
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		cpus[0] = 0;
		return 1;
	}
	for (unsigned c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

/** Parse flags; exits for help, version and errors. */
static void
parse_settings(struct nc_settings *s, int argc, char **argv)
{
	enum settings_action act;
	char err[512];

	settings_defaults(s);
	if (settings_parse(s, argc, argv, &act, err, sizeof(err)) != 0) {
		fprintf(stderr, "nicached: %s\n(nicached -h lists the settings)\n", err);
		exit(EXIT_USAGE);
	}
	if (act == SETTINGS_HELP) {
		settings_usage(stdout, argv[0]);
		exit(0);
	}
	if (act == SETTINGS_VERSION) {
		printf("nicached %s\n", NC_VERSION);
		exit(0);
	}
}

static void
start_eal(struct nc_server *srv, const char *prog)
{
	static struct settings_eal eal; /* EAL keeps pointers into argv */
	unsigned cpus[CPU_SETSIZE];
	unsigned ncpus = usable_cpus(cpus);
	char err[512];

	srv->set.threads = settings_workers(&srv->set, ncpus);
	srv->use_hugepages = settings_hugepages_usable(
		settings_eal_memory_total_mb(&srv->set, srv->set.threads));
	if (settings_eal_args_cpus(&srv->set, cpus, ncpus, srv->use_hugepages, &eal, err,
				   sizeof(err)) != 0 ||
	    (srv->set.backend == SETTINGS_BACKEND_DPDK &&
	     nic_prepare(srv, &eal, err, sizeof(err)) != 0)) {
		fprintf(stderr, "nicached: %s\n", err);
		exit(EXIT_USAGE);
	}
	eal.argv[0] = (char *)prog;
	if (rte_eal_init(eal.argc, eal.argv) < 0) {
		fprintf(stderr, "nicached: EAL init failed: %s (EAL arguments:",
			rte_strerror(rte_errno));
		for (int i = 1; i < eal.argc; i++)
			fprintf(stderr, " %s", eal.argv[i]);
		fprintf(stderr, ")\n");
		exit(EXIT_OSERR);
	}
}

int
main(int argc, char **argv)
{
	static struct nc_server srv;
	char err[512];
	unsigned lcore, i = 0;

	parse_settings(&srv.set, argc, argv);
	start_eal(&srv, argv[0]);
	control_signals();
	if (server_setup(&srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "nicached: %s\n", err);
		server_teardown(&srv);
		rte_eal_cleanup();
		return EXIT_OSERR;
	}
	if (control_telemetry(&srv) != 0)
		fprintf(stderr, "nicached: telemetry commands not registered\n");
	control_banner(&srv, stdout);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		rte_eal_remote_launch(worker_main, srv.workers[i++], lcore);
	}
	control_main(&srv);
	rte_eal_mp_wait_lcore();
	control_final_stats(&srv, stdout);
	server_teardown(&srv);
	rte_eal_cleanup();
	return 0;
}
