/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_EAL_H
#define NC_TEST_EAL_H

/*
 * DPDK's EAL for a unit test: no hugepages, no shared configuration, no PCI scan, no
 * telemetry, EAL's own log at errors only. The one place the unit tests spell EAL's
 * arguments; header-only, no dependency beyond DPDK.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>

/** What a test asks of EAL; NULL or 0 fields take the defaults said. */
struct test_eal {
	const char *name;   /* argv[0] (NULL: "nc_test") */
	const char *lcores; /* --lcores (NULL: "0", the calling thread alone) */
	unsigned mem_mb;    /* -m (0: 256) */
	const char *prefix; /* --file-prefix (NULL: EAL's default) */
	const char *vdev;   /* one --vdev (NULL: none) */
	const char *log;    /* one more --log-level (NULL: none) */
};

/**
 * Start EAL as @p t says. Once per process; the calling thread becomes the main lcore.
 * @return rte_eal_init()'s result: < 0 when EAL did not start (it says why on stderr).
 */
static inline int
test_eal_start(const struct test_eal *t)
{
	char mem[16];
	char *argv[16]; /* (15 at most, and the NULL) */
	int argc = 0;

	snprintf(mem, sizeof(mem), "%u", t->mem_mb != 0 ? t->mem_mb : 256);
	argv[argc++] = (char *)(t->name != NULL ? t->name : "nc_test");
	argv[argc++] = (char *)"--no-huge";
	argv[argc++] = (char *)"--no-shconf";
	argv[argc++] = (char *)"--no-pci";
	argv[argc++] = (char *)"--no-telemetry";
	argv[argc++] = (char *)"--log-level=lib.eal:error";
	argv[argc++] = (char *)"-m";
	argv[argc++] = mem;
	argv[argc++] = (char *)"--lcores";
	argv[argc++] = (char *)(t->lcores != NULL ? t->lcores : "0");
	if (t->prefix != NULL) {
		argv[argc++] = (char *)"--file-prefix";
		argv[argc++] = (char *)t->prefix;
	}
	if (t->vdev != NULL) {
		argv[argc++] = (char *)"--vdev";
		argv[argc++] = (char *)t->vdev;
	}
	if (t->log != NULL)
		argv[argc++] = (char *)t->log;
	argv[argc] = NULL;
	return rte_eal_init(argc, argv);
}

/**
 * Stop EAL (rte_eal_cleanup()) and remove the runtime folder it made for the test's file
 * prefix, empty by then (no shared files, no telemetry): a test under a prefix of its own (a
 * pid) leaves no /var/run/dpdk folder behind. @return 0; -1 when the folder is still there.
 */
static inline int
test_eal_stop(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (dir[0] != '\0' && rmdir(dir) != 0 && errno != ENOENT) {
		fprintf(stderr, "test_eal_stop: %s stays: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

#endif /* NC_TEST_EAL_H */
