/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for app/mcgen/workload.h, options.h and mcgen_resolve(): keys, values, mix, the
 * options table, --server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "rng.h"
#include "run.h"
#include "workload.h"

static int
parse(struct mcgen_options *o, char *err, size_t errlen, int argc, char **argv)
{
	return mcgen_options_parse(o, argc, argv, err, errlen);
}

/* Keys are distinct, within their size range, and the same every time. */
static void
test_keys(void **state)
{
	char *argv[] = {"mcgen", "--keys", "5000", "--key-size", "12-30", NULL};
	struct mcgen_options o;
	struct mcgen_workload w;
	char err[128], a[MCGEN_KEY_MAX + 1], b[MCGEN_KEY_MAX + 1];

	(void)state;
	assert_int_equal(parse(&o, err, sizeof(err), 5, argv), 0);
	assert_int_equal(mcgen_workload_init(&w, &o, err, sizeof(err)), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		unsigned n = mcgen_key(&w, i, a);

		assert_true(n >= 12 && n <= 30);
		assert_int_equal(mcgen_key(&w, i, b), n);
		assert_memory_equal(a, b, n);
		for (unsigned j = 0; j < n; j++)
			assert_true(a[j] > ' ' && a[j] < 127);
		/* The index before ':' makes keys distinct. */
		assert_int_equal(strtoul(a, NULL, 10), i);
	}
}

/* Values: any version checks against itself; another version, a flipped byte do not. */
static void
test_values(void **state)
{
	char *argv[] = {"mcgen", "--value-size", "1-2000", NULL};
	struct mcgen_options o;
	struct mcgen_workload w;
	char err[128], v[2000];

	(void)state;
	assert_int_equal(parse(&o, err, sizeof(err), 3, argv), 0);
	assert_int_equal(mcgen_workload_init(&w, &o, err, sizeof(err)), 0);
	for (uint32_t ver = 0; ver < 300; ver++) {
		uint32_t len = mcgen_value_len(&w, 17, ver);

		assert_true(len >= 1 && len <= 2000);
		mcgen_value_fill(&w, 17, ver, v);
		assert_int_equal(mcgen_value_check(&w, 17, ver, v, len), -1);
		if (mcgen_value_len(&w, 17, ver + 1) == len && len > 3)
			assert_true(mcgen_value_check(&w, 17, ver + 1, v, len) >= 0);
		v[len / 2] ^= 1;
		assert_int_equal(mcgen_value_check(&w, 17, ver, v, len), (long)(len / 2));
	}
}

/* The mix draws each operation in proportion to its weight. */
static void
test_mix(void **state)
{
	char *argv[] = {"mcgen", "--mix", "get=60,set=30,delete=0,multiget=10", NULL};
	struct mcgen_options o;
	struct mcgen_workload w;
	unsigned count[MCGEN_OP_COUNT] = {0};
	uint64_t rng = mcgen_rng_seed(1, 2);
	char err[128];

	(void)state;
	assert_int_equal(parse(&o, err, sizeof(err), 3, argv), 0);
	assert_int_equal(mcgen_workload_init(&w, &o, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 100000; i++)
		count[mcgen_op_draw(&w, &rng)]++;
	assert_in_range(count[MCGEN_OP_GET], 59000, 61000);
	assert_in_range(count[MCGEN_OP_SET], 29000, 31000);
	assert_int_equal(count[MCGEN_OP_DELETE], 0);
	assert_in_range(count[MCGEN_OP_MGET], 9400, 10600);
}

/* The table's parsers: values, ranges, rates, errors naming the option. */
static void
test_options(void **state)
{
	struct mcgen_options o;
	char err[160];

	(void)state;
	char *a1[] = {"mcgen", "-x", "udp", "-P", "binary", "-r", "50k", "-w", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 8, a1), 0);
	assert_int_equal(o.transport, MCGEN_TRANSPORT_UDP);
	assert_int_equal(o.protocol, MCGEN_PROTO_BINARY);
	assert_true(o.rate == 50000.0 && o.warm);
	char *a2[] = {"mcgen", "--sweep", "10k:50k:10k", "--plot", "x.png", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 5, a2), 0);
	assert_int_equal(o.sweep.n, 5);
	assert_true(o.sweep.r[4] == 50000.0);
	char *a3[] = {"mcgen", "--sweep", "1000,2m", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 3, a3), 0);
	assert_true(o.sweep.n == 2 && o.sweep.r[1] == 2e6);
	char *bad[][3] = {
		{"mcgen", "--transport", "sctp"}, {"mcgen", "--mix", "get=1,put=2"},
		{"mcgen", "--key-size", "30-20"}, {"mcgen", "--conns", "0"},
		{"mcgen", "--plot", "x.png"},	  {"mcgen", "--value-size", "abc"},
		{"mcgen", "--keys", "1000000000000"}, {"mcgen", "-j", ""},
		{"mcgen", "--sweep", ""},		  {"mcgen", "--sweep", "1k,,2k"},
		{"mcgen", "--sweep", "1k,"},		  {"mcgen", "--zipf-s", "1.2"},
		{"mcgen", "--arrivals", "poisson"},	  {"mcgen", "-m", "get=1,get=2"},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {bad[i][0], bad[i][1], bad[i][2], NULL};

		err[0] = '\0';
		assert_int_equal(parse(&o, err, sizeof(err), 3, argv), -EINVAL);
		assert_non_null(strstr(err, "--"));
	}
	/* The most keys fit the shortest keys (10 digits and ':'). */
	char *a4[] = {"mcgen", "--keys", "4000000000", "--key-size", "12", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 5, a4), 0);
	char *help[] = {"mcgen", "--help", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 2, help), 1);
	char *zipf[] = {"mcgen", "--key-dist", "zipf", "--zipf-s", "1.2", "-r", "1k",
			"--arrivals", "poisson", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 9, zipf), 0);
	/* A DPDK port from a site file needs neither --eal nor --src-ip; the kernel's none. */
	char *site[] = {"mcgen", "-x", "dpdk-udp", "--site", "gen.ini", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 5, site), 0);
	assert_string_equal(o.site, "gen.ini");
	char *nosite[] = {"mcgen", "-x", "dpdk-udp", "--src-ip", "10.0.0.2", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 5, nosite), -EINVAL);
	assert_non_null(strstr(err, "--site"));
	char *kernel[] = {"mcgen", "-x", "tcp", "--site", "gen.ini", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 5, kernel), -EINVAL);
	assert_non_null(strstr(err, "dpdk transports"));
	char *dir[] = {"mcgen", "-x", "dpdk-udp", "--eal", "-l 0", "--src-ip", "10.0.0.2",
		       "--drivers-dir", "/tmp", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 9, dir), -EINVAL);
	assert_non_null(strstr(err, "--drivers-dir"));
}

/* --server: a port, a service, or none (memcached's); IPv6 bare or in brackets. */
static void
test_resolve(void **state)
{
	static const struct {
		const char *server;
		int family;
		unsigned port; /* 0: refused */
	} cases[] = {
		{"127.0.0.1", AF_INET, 11211},	 {"127.0.0.1:5", AF_INET, 5},
		{"[::1]", AF_INET6, 11211},	 {"::1", AF_INET6, 11211},
		{"[::1]:7", AF_INET6, 7},	 {":5", 0, 0},
		{"127.0.0.1:", 0, 0},		 {"127.0.0.1:70000", 0, 0},
		{"127.0.0.1:nosuchservice", 0, 0}, {"localhost", -1, 11211},
		{"fe80::1", AF_INET6, 11211},	 {"::1:5", 0, 0},
		{"::1:11211", 0, 0},		 {"[::1", 0, 0},
		{"[::1]:", 0, 0},		 {"[]:5", 0, 0},
		{"", 0, 0},
	};
	struct sockaddr_storage addr;
	socklen_t len;
	char err[160];

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = mcgen_resolve(cases[i].server, SOCK_STREAM, &addr, &len, err, sizeof(err));

		if (cases[i].port == 0) {
			assert_int_equal(rc, -EINVAL);
			continue;
		}
		assert_int_equal(rc, 0);
		if (cases[i].family >= 0) /* (localhost: either family) */
			assert_int_equal(addr.ss_family, cases[i].family);
		assert_int_equal(ntohs(addr.ss_family == AF_INET
					       ? ((struct sockaddr_in *)&addr)->sin_port
					       : ((struct sockaddr_in6 *)&addr)->sin6_port),
				 cases[i].port);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_mix),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
