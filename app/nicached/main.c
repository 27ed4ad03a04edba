/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nicached: settings (flags and --config) -> EAL -> server (shards, stacks, workers) ->
 * snapshot restored (--restore, --snapshot-file) -> worker lcores launched -> control loop on the main lcore until SIGINT/SIGTERM -> clean stop
 * with a final stats line.
 *
 * Exit codes: 0 after a signal; 64 (EX_USAGE) for bad flags or config (an auth file that
 * cannot be read or is malformed included); 71 (EX_OSERR) when EAL or the server cannot start
 * (e.g. a port in use, a bad snapshot with --restore-strict, --require-hugepages unmet).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "auth_server.h"
#include "cluster.h"
#include "control.h"
#include "core/exit_rmdir.h"
#include "log_eal.h"
#include "metrics.h"
#include "nic.h"
#include "pdump.h"
#include "placement.h"
#include "server.h"
#include "settings.h"
#include "snapshot.h"
#include "worker.h"

#define EXIT_USAGE 64
#define EXIT_OSERR 71

/*
 * Hugepages. Servers starting together each see enough free hugepages, but together they may
 * be short, and EAL then dies in its memory init. So the decision and EAL's reservation are
 * made under one lock shared by every nicached on the machine (the next server decides on
 * what the previous one left); and if EAL still fails with hugepages (another program took
 * them, a limit), the process starts again on 4 KiB pages (EAL cannot be initialized twice in
 * one process), the reason passed in HUGEPAGE_RETRY_ENV and shown in the banner.
 */
#define HUGEPAGE_LOCK "/run/lock/nicached-hugepages.lock"
#define HUGEPAGE_RETRY_ENV "NICACHED_HUGEPAGE_START_FAILED"

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

/**
 * Decide between hugepages and 4 KiB pages for @p need_mb of EAL memory, noting why 4 KiB
 * pages in srv->memory_note. @return the hugepage lock's fd to hold until EAL has reserved its
 * memory, or -1.
 */
static int
choose_pages(struct nc_server *srv, unsigned need_mb)
{
	const char *failed = getenv(HUGEPAGE_RETRY_ENV);
	/* The flag that makes 4 KiB pages a refusal, if any. */
	const char *required = srv->set.require_hugepages ? "--require-hugepages"
			       : srv->set.pdump		  ? "--pdump"
							  : NULL;
	size_t free_mb;
	int fd;

	srv->use_hugepages = false;
	if (settings_eal_user_replaces(&srv->set, SETTINGS_EAL_pages)) {
		/* The user's EAL words say how (--no-huge, --in-memory, --huge-dir ...). */
		srv->use_hugepages = strstr(srv->set.eal, "--no-huge") == NULL;
		snprintf(srv->memory_note, sizeof(srv->memory_note), "as the EAL arguments say");
		return -1;
	}
	if (failed != NULL) {
		if (srv->set.pdump) {
			nc_log(NC_LOG_ERR, "--pdump: the start on hugepages failed (%s) and a "
					   "capture cannot attach to 4 KiB pages: not starting",
			       failed);
			exit(EXIT_OSERR);
		}
		snprintf(srv->memory_note, sizeof(srv->memory_note),
			 "the start on hugepages failed (%s), started again on 4 KiB pages", failed);
		unsetenv(HUGEPAGE_RETRY_ENV);
		return -1;
	}
	if (geteuid() != 0) {
		if (required) {
			nc_log(NC_LOG_ERR, "%s: EAL takes hugepages only as root; %u MB are needed",
			       required, need_mb);
			exit(EXIT_OSERR);
		}
		return -1;
	}
	if (srv->set.pdump && !pdump_hugetlbfs_mounted()) {
		nc_log(NC_LOG_ERR, "--pdump: EAL shares its hugepages with the capture through a "
				   "hugetlbfs mount and there is none: mount -t hugetlbfs nodev "
				   "/dev/hugepages");
		exit(EXIT_OSERR);
	}
	fd = open(HUGEPAGE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
		close(fd);
		fd = -1;
	}
	free_mb = settings_hugepages_free_mb();
	srv->use_hugepages = free_mb > 0 && free_mb >= need_mb;
	if (!srv->use_hugepages) {
		unsigned long long pages = (need_mb - free_mb + 1) / 2, now = 0;
		FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "r");

		if (f != NULL) {
			if (fscanf(f, "%llu", &now) != 1)
				now = 0;
			fclose(f);
		}
		snprintf(srv->memory_note, sizeof(srv->memory_note),
			 "%u MB of hugepages needed, %zu MB free", need_mb, free_mb);
		nc_log(required ? NC_LOG_ERR : NC_LOG_WARNING,
		       "hugepages: %u MB needed, %zu MB free (every page size): %s%s%s; reserve "
		       "%llu more 2 MiB pages (echo %llu > "
		       "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)",
		       need_mb, free_mb, required ? "refusing to start (" : "starting on 4 KiB pages",
		       required ? required : "", required ? ")" : "", pages, now + pages);
		if (required)
			exit(EXIT_OSERR);
	}
	return fd;
}

/**
 * Order @p cpus (the @p ncpus allowed) for settings_eal_args_cpus(): control lcore, workers,
 * the rest, by NUMA node with the NIC's first (placement.h). Unchanged when the user's EAL
 * words give the lcores, or when sysfs cannot be read (said in the log).
 */
static void
place_cpus(const struct nc_server *srv, unsigned *cpus, unsigned ncpus)
{
	static struct placement_topology topo;
	static struct placement_plan plan;

	if (settings_eal_user_replaces(&srv->set, SETTINGS_EAL_lcores))
		return;
	if (placement_topology_read(&topo, "/sys") < 0) {
		nc_log(NC_LOG_WARNING, "NUMA: cannot read /sys/devices/system/node: CPUs in order");
		return;
	}
	if (placement_choose(&topo, cpus, ncpus, srv->nic_node, srv->set.threads, &plan) != 0)
		return;
	memcpy(cpus, plan.cpus, ncpus * sizeof(*cpus));
}

static void
start_eal(struct nc_server *srv, char **argv)
{
	static struct settings_eal eal; /* EAL keeps pointers into argv */
	unsigned cpus[CPU_SETSIZE];
	unsigned ncpus = usable_cpus(cpus);
	char err[512], words[sizeof(eal.text) + SETTINGS_EAL_ARGV_MAX];
	char *eal_folder;
	int lock;

	srv->set.threads = settings_workers(&srv->set, ncpus);
	if (srv->set.hugepages_needed) {
		/* For the service's hugepage reservation (dist/nicached-hugepages). */
		printf("%u\n", settings_eal_memory_total_mb(&srv->set, srv->set.threads, true));
		exit(0);
	}
	/*
	 * Each worker's shard holds its items: an item above the default 1 MB may take at most half
	 * of one (the default stays allowed, as before, on machines with many workers).
	 */
	if (srv->set.max_item_size > 1048576 &&
	    srv->set.max_item_size > (size_t)srv->set.memory_limit * 1024 * 1024 / srv->set.threads / 2) {
		fprintf(stderr,
			"nicached: -I/--max-item-size %zu is more than half of a worker's share of "
			"-m (%u MB over %u workers): raise -m or lower -t\n",
			srv->set.max_item_size, srv->set.memory_limit, srv->set.threads);
		exit(EXIT_USAGE);
	}
	srv->nic_node = PLACEMENT_NODE_UNKNOWN;
	if (srv->set.backend == SETTINGS_BACKEND_DPDK && nic_prepare(srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "nicached: %s\n", err);
		exit(EXIT_USAGE);
	}
	place_cpus(srv, cpus, ncpus);
	lock = choose_pages(srv, settings_eal_memory_total_mb(&srv->set, srv->set.threads, true));
	if (settings_eal_args_cpus(&srv->set, cpus, ncpus, srv->use_hugepages, &eal, err,
				   sizeof(err)) != 0 ||
	    (srv->set.backend == SETTINGS_BACKEND_DPDK &&
	     nic_eal_append(srv, &eal, err, sizeof(err)) != 0)) {
		fprintf(stderr, "nicached: %s\n", err);
		exit(EXIT_USAGE);
	}
	eal.argv[0] = argv[0];
	settings_eal_format(&eal, words, sizeof(words)); /* EAL reorders argv while parsing */
	snprintf(srv->eal_line, sizeof(srv->eal_line), "%s", words);
	/* EAL's runtime folder goes at exit (before its own handlers, so it runs after them). */
	eal_folder = nc_exit_rmdir();
	if (rte_eal_init(eal.argc, eal.argv) < 0) {
		int e = rte_errno;

		nc_log(NC_LOG_ERR, "EAL init failed: %s (EAL arguments: %s)",
			rte_strerror(e), words);
		if (srv->use_hugepages) {
			nc_log(NC_LOG_WARNING, "starting again on 4 KiB pages");
			setenv(HUGEPAGE_RETRY_ENV, rte_strerror(e), 1);
			close_range(3, ~0u, 0); /* EAL's hugepage files, if it left any open */
			execv("/proc/self/exe", argv);
			nc_log(NC_LOG_ERR, "cannot start again: %s", strerror(errno));
		}
		exit(EXIT_OSERR);
	}
	if (eal_folder != NULL)
		snprintf(eal_folder, NC_EXIT_RMDIR_PATH_MAX, "%s", rte_eal_get_runtime_dir());
	if (lock >= 0)
		close(lock); /* EAL has its pages: the next server sees what is left */
}

/** Stop EAL; with --pdump, give back the hugepages its shared files hold. */
static void
eal_cleanup(const struct nc_server *srv)
{
	char dir[512], prefix[256];
	const char *slash;

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	slash = strrchr(dir, '/'); /* the runtime folder is named after the file prefix */
	snprintf(prefix, sizeof(prefix), "%s", slash != NULL ? slash + 1 : "");
	rte_eal_cleanup();
	pdump_remove_eal_files(srv, prefix, dir);
}

/** -P: write the pid once set up. @return 0, or -errno (said in the log). */
static int
write_pidfile(const struct nc_settings *s)
{
	FILE *f;

	if (s->pidfile[0] == '\0')
		return 0;
	f = fopen(s->pidfile, "w");
	if (f == NULL || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
		int e = errno;

		nc_log(NC_LOG_ERR, "-P/--pidfile %s: cannot write it: %s", s->pidfile, strerror(e));
		return -e;
	}
	return 0;
}

/**
 * -u: started as root, become the user once everything that needs root is done (EAL, the NIC,
 * hugepages, ports below 1024). Every thread follows (glibc applies setuid to all).
 * @return 0, or -errno (said in the log).
 */
static int
drop_root(const struct nc_settings *s)
{
	const struct passwd *pw;

	if (s->user[0] == '\0')
		return 0;
	if (geteuid() != 0) {
		nc_log(NC_LOG_NOTICE, "-u/--user %s: not started as root, nothing to drop", s->user);
		return 0;
	}
	pw = getpwnam(s->user);
	if (pw == NULL) {
		nc_log(NC_LOG_ERR, "-u/--user %s: no such user", s->user);
		return -ENOENT;
	}
	if (s->pidfile[0] != '\0' && chown(s->pidfile, pw->pw_uid, pw->pw_gid) != 0)
		nc_log(NC_LOG_WARNING, "-P %s: cannot give it to %s: %s (it stays after the stop)",
		       s->pidfile, s->user, strerror(errno));
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		int e = errno;

		nc_log(NC_LOG_ERR, "-u/--user %s: cannot switch to it: %s", s->user, strerror(e));
		return -e;
	}
	nc_log(NC_LOG_NOTICE, "running as %s (uid %u)", s->user, (unsigned)pw->pw_uid);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct nc_server srv;
	char err[512];
	unsigned lcore, i = 0;

	parse_settings(&srv.set, argc, argv);
	nc_log_open("nicached", srv.set.log);
	{
		char ignored[256];

		if (settings_subopts_ignored(&srv.set, ignored, sizeof(ignored)) != 0)
			nc_log(NC_LOG_NOTICE,
			       "-o %s: memcached's, accepted, no effect here (nicached does this "
			       "its own way)",
			       ignored);
	}
	if (log_eal_redirect() != 0)
		nc_log(NC_LOG_WARNING, "DPDK's messages stay on stderr: no stream for them");
	if (auth_server_setup(&srv, err, sizeof(err)) != 0) {
		nc_log(NC_LOG_ERR, "%s", err);
		exit(EXIT_USAGE);
	}
	/*
	 * Buffers of a megabyte or more (large values arriving or waiting to be sent) are mapped
	 * and unmapped each time: glibc would otherwise raise its threshold after the first
	 * and keep them in its heap, and RSS would stay at the largest value's size.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	start_eal(&srv, argv);
	control_signals();
	if (server_setup(&srv, err, sizeof(err)) != 0) {
		nc_log(NC_LOG_ERR, "%s", err);
		server_teardown(&srv);
		eal_cleanup(&srv);
		return EXIT_OSERR;
	}
	if (metrics_setup(&srv, err, sizeof(err)) != 0) {
		nc_log(NC_LOG_ERR, "%s", err);
		server_teardown(&srv);
		eal_cleanup(&srv);
		return EXIT_OSERR;
	}
	if (write_pidfile(&srv.set) != 0 || drop_root(&srv.set) != 0) {
		metrics_teardown(&srv);
		server_teardown(&srv);
		eal_cleanup(&srv);
		return EXIT_OSERR;
	}
	/* A snapshot is loaded before any worker serves. */
	if (snapshot_restore(&srv, err, sizeof(err)) != 0) {
		nc_log(NC_LOG_ERR, "%s", err);
		metrics_teardown(&srv);
		if (srv.set.pidfile[0] != '\0')
			unlink(srv.set.pidfile);
		server_teardown(&srv);
		eal_cleanup(&srv);
		return EXIT_OSERR;
	}
	if (control_telemetry(&srv) != 0)
		nc_log(NC_LOG_WARNING, "telemetry commands not registered");
	control_banner(&srv, stdout);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		rte_eal_remote_launch(worker_main, srv.workers[i++], lcore);
	}
	control_main(&srv);
	cluster_leave(&srv, 2000);
	rte_eal_mp_wait_lcore();
	snapshot_stop(&srv); /* with --snapshot-file: the clean-stop snapshot */
	control_final_stats(&srv, stdout);
	metrics_teardown(&srv);
	server_teardown(&srv);
	eal_cleanup(&srv);
	if (srv.set.pidfile[0] != '\0' && unlink(srv.set.pidfile) != 0)
		nc_log(NC_LOG_WARNING, "-P %s: cannot remove it: %s", srv.set.pidfile,
		       strerror(errno));
	return 0;
}
