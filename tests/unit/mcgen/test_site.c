/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for app/mcgen/dpdk_site.h (mcgen --site): a site file and the shipped profile it
 * names give the device's EAL words, our address and the port setup; what mcgen cannot send
 * (a VLAN, an MTU below 1,500) and a missing profile are refused with the file named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpdk_site.h"

static char drivers_dir[512];
static char tmp_dir[64];
static char site_path[128]; /* tmp_dir/site.ini */

/*
 * The source tree's drivers-config: NC_SOURCE_DRIVERS_DIR when the build defines it, else
 * tests/unit/mcgen/test_site.c -> ../../../drivers-config (from meson test's folder).
 */
static void
find_drivers_dir(void)
{
#ifdef NC_SOURCE_DRIVERS_DIR
	snprintf(drivers_dir, sizeof(drivers_dir), "%s", NC_SOURCE_DRIVERS_DIR);
#else
	const char *slash = strrchr(__FILE__, '/');

	snprintf(drivers_dir, sizeof(drivers_dir), "%.*s/../../../drivers-config",
		 slash != NULL ? (int)(slash - __FILE__) : 1, slash != NULL ? __FILE__ : ".");
#endif
}

/*
 * Write site_path ([port] lines @p port, address 10.88.0.2/24) and load it for @p threads
 * threads into @p s. @return mcgen_site_load()'s, its message in @p err (emptied first).
 */
static int
site_load(const char *port, unsigned threads, struct mcgen_site *s, char *err, size_t errcap)
{
	FILE *f = fopen(site_path, "w");

	assert_non_null(f);
	fprintf(f, "[port]\n%s[ipv4]\naddress = 10.88.0.2/24\n", port);
	assert_int_equal(fclose(f), 0);
	err[0] = '\0';
	return mcgen_site_load(site_path, drivers_dir, threads, s, err, errcap);
}

/* memif-client.ini: --no-pci, --vdev and the expanded device string; the profile's rings. */
static void
test_memif_client(void **state)
{
	struct mcgen_site s;
	char err[512];

	(void)state;
	assert_int_equal(site_load("profile = memif-client\niface = lab0\n", 2, &s, err,
				   sizeof(err)),
			 0);
	assert_int_equal(s.argc, 3);
	assert_string_equal(s.argv[0], "--no-pci");
	assert_string_equal(s.argv[1], "--vdev");
	assert_non_null(strstr(s.argv[2], "role=client"));
	assert_non_null(strstr(s.argv[2], "/run/nicached-lab0.memif"));
	assert_int_equal(s.ip, inet_addr("10.88.0.2"));
	assert_int_equal(s.port.rx_desc, 1024);
	assert_int_equal(s.port.mbuf_data_room, 2176);
	assert_int_equal(s.port.rss_key_len, 0);
	assert_string_equal(s.profile, "memif");
	assert_string_equal(s.device, "net_memif0"); /* the port the load runs on */
	assert_ptr_equal(s.port.device, s.device);
	assert_int_equal(s.port.promiscuous, 0);
}

/* A PCI profile: -a with the site's address, no --no-pci; its RSS types asked for. */
static void
test_pci(void **state)
{
	struct mcgen_site s;
	char err[512];

	(void)state;
	assert_int_equal(site_load("profile = i40e\npci = 0000:03:00.1\n", 4, &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.argc, 2);
	assert_string_equal(s.argv[0], "-a");
	assert_non_null(strstr(s.argv[1], "0000:03:00.1"));
	assert_true(s.port.rss_hf != 0);
	assert_string_equal(s.device, "0000:03:00.1");
}

/* What mcgen cannot send, and a profile that is not there: refused, the site named. */
static void
test_refused(void **state)
{
	static const struct {
		const char *port, *want;
		int rc;
	} bad[] = {
		{"profile = memif-client\niface = lab0\nvlan = 7\n", "VLAN", -EINVAL},
		{"profile = memif-client\niface = lab0\nmtu = 1400\n", "MTU", -EINVAL},
		{"profile = no-such-nic\niface = lab0\n", "no-such-nic", -ENOENT},
	};
	struct mcgen_site s;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(site_load(bad[i].port, 1, &s, err, sizeof(err)), bad[i].rc);
		if (strstr(err, bad[i].want) == NULL || strstr(err, site_path) == NULL)
			fail_msg("message '%s' should name '%s' and %s", err, bad[i].want,
				 site_path);
	}
	assert_int_equal(mcgen_site_load("/nonexistent/site.ini", drivers_dir, 1, &s, err,
					 sizeof(err)),
			 -ENOENT);
}

/*
 * A profile of the site's own (a path): mbufs too small for a frame are refused; a queue
 * policy or limit only for more threads than it allows (one thread loads).
 */
static void
test_profile_limits(void **state)
{
	static const struct {
		const char *extra, *want;
		unsigned threads;
	} bad[] = {
		{"[mempool]\ndata_room = 1024\n", "data_room 1024", 1},
		{"[queues]\npolicy = one\n", "policy one", 2},
		{"[queues]\nmax = 2\n", "at most 2 queue pairs", 3},
	};
	struct mcgen_site s;
	char prof[128], line[200], err[512];

	(void)state;
	snprintf(prof, sizeof(prof), "%s/gen.ini", tmp_dir);
	snprintf(line, sizeof(line), "profile = %s\niface = lab0\n", prof);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(prof, "w");

		assert_non_null(f);
		fprintf(f, "[driver]\nname = memif\n[device]\nkind = vdev\n"
			   "args = net_memif0,role=client,socket=/run/{iface}\n%s",
			bad[i].extra);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(site_load(line, bad[i].threads, &s, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("message '%s' should say '%s'", err, bad[i].want);
		if (bad[i].threads > 1)
			assert_int_equal(site_load(line, 1, &s, err, sizeof(err)), 0);
	}
	unlink(prof);
}

static int
setup(void **state)
{
	(void)state;
	find_drivers_dir();
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/nc-mcgen-site.XXXXXX");
	if (mkdtemp(tmp_dir) == NULL)
		return -1;
	snprintf(site_path, sizeof(site_path), "%s/site.ini", tmp_dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(site_path);
	return rmdir(tmp_dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memif_client),
		cmocka_unit_test(test_pci),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_profile_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
