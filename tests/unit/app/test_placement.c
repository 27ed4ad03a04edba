/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for app/nicached/placement.c: CPU lists, fake sysfs trees, CPU choice by node. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "placement.h"

/* A topology of @p nodes nodes of @p per CPUs each: node n holds CPUs n*per .. n*per+per-1. */
static void
blocks(struct placement_topology *t, unsigned nodes, unsigned per)
{
	placement_topology_flat(t);
	for (unsigned c = 0; c < nodes * per; c++)
		t->node_of_cpu[c] = (int)(c / per);
	t->nnodes = nodes;
}

/* 0 .. n-1 into @p cpus. */
static unsigned
all_cpus(unsigned *cpus, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		cpus[i] = i;
	return n;
}

/* Expect the control CPU and then the workers' CPUs of @p plan to be @p want (n of them). */
static void
expect_cpus(const struct placement_plan *plan, const unsigned *want, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (plan->cpus[i] != want[i])
			fail_msg("cpus[%u] = %u, wanted %u", i, plan->cpus[i], want[i]);
}

static void
test_cpulist(void **state)
{
	cpu_set_t set;

	(void)state;
	assert_int_equal(placement_cpulist_parse("0-3,8,10-11\n", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 7);
	assert_true(CPU_ISSET(3, &set) && CPU_ISSET(8, &set) && CPU_ISSET(11, &set));
	assert_false(CPU_ISSET(4, &set) || CPU_ISSET(9, &set));
	assert_int_equal(placement_cpulist_parse("\n", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 0);
	assert_int_equal(placement_cpulist_parse("5", &set), 0);
	assert_true(CPU_ISSET(5, &set));
	assert_int_equal(placement_cpulist_parse("3-1", &set), -EINVAL);
	assert_int_equal(placement_cpulist_parse("a", &set), -EINVAL);
	assert_int_equal(placement_cpulist_parse("1,,2", &set), -EINVAL);
	assert_int_equal(placement_cpulist_parse("0-99999", &set), -EINVAL);
	assert_int_equal(placement_cpulist_parse("1;2", &set), -EINVAL);
}

/* One node holding every CPU: today's layout, control on the first CPU. */
static void
test_one_node(void **state)
{
	struct placement_topology t;
	struct placement_plan plan;
	unsigned cpus[4];

	(void)state;
	placement_topology_flat(&t);
	assert_int_equal(
		placement_choose(&t, cpus, all_cpus(cpus, 2), PLACEMENT_NODE_UNKNOWN, 1, &plan), 0);
	expect_cpus(&plan, (unsigned[]){0, 1}, 2);
	assert_false(plan.floating);
	assert_int_equal(plan.workers_off_nic, 0);
	assert_int_equal(plan.first_node, 0);
	/* The NIC on node 0 changes nothing. */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 4), 0, 3, &plan), 0);
	expect_cpus(&plan, (unsigned[]){0, 1, 2, 3}, 4);
	/* More lcores than CPUs: floating, nothing off the NIC's node counted. */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 2), 0, 4, &plan), 0);
	assert_true(plan.floating);
	assert_int_equal(plan.ncpus, 2);
	assert_int_equal(plan.workers_off_nic, 0);
	/* Bad input. */
	assert_int_equal(placement_choose(&t, cpus, 0, 0, 1, &plan), -EINVAL);
	assert_int_equal(placement_choose(&t, cpus, 2, 0, 0, &plan), -EINVAL);
	cpus[0] = CPU_SETSIZE;
	assert_int_equal(placement_choose(&t, cpus, 1, 0, 1, &plan), -EINVAL);
}

/* Two nodes of 4 CPUs (0-3, 4-7). */
static void
test_two_nodes(void **state)
{
	struct placement_topology t;
	struct placement_plan plan;
	unsigned cpus[8];

	(void)state;
	blocks(&t, 2, 4);
	/* NIC on node 1, 3 workers: all of them and the control lcore there. */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 8), 1, 3, &plan), 0);
	expect_cpus(&plan, (unsigned[]){4, 5, 6, 7}, 4);
	assert_int_equal(plan.workers_off_nic, 0);
	assert_int_equal(plan.first_node, 1);
	/* 4 workers fill node 1: the control lcore goes to node 0. */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 8), 1, 4, &plan), 0);
	expect_cpus(&plan, (unsigned[]){0, 4, 5, 6, 7}, 5);
	assert_int_equal(plan.node[0], 0);
	assert_int_equal(plan.workers_off_nic, 0);
	/* 7 workers (the default on 8 CPUs): 4 on node 1, 3 on node 0, control on CPU 3. */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 8), 1, 7, &plan), 0);
	expect_cpus(&plan, (unsigned[]){3, 4, 5, 6, 7, 0, 1, 2}, 8);
	assert_int_equal(plan.workers_off_nic, 3);
	/* NIC on node 0, 2 workers: control 0, workers 1 and 2. */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 8), 0, 2, &plan), 0);
	expect_cpus(&plan, (unsigned[]){0, 1, 2}, 3);
	/* Unknown NIC node (virtual device): the node with most allowed CPUs goes first. */
	assert_int_equal(
		placement_choose(&t, (unsigned[]){2, 4, 5, 6}, 4, PLACEMENT_NODE_UNKNOWN, 2, &plan),
		0);
	expect_cpus(&plan, (unsigned[]){4, 5, 6, 2}, 4);
	assert_int_equal(plan.first_node, 1);
	assert_int_equal(plan.workers_off_nic, 0);
	/* The NIC's node has none of the allowed CPUs: everything elsewhere, and said so. */
	assert_int_equal(placement_choose(&t, (unsigned[]){0, 1, 2}, 3, 1, 2, &plan), 0);
	expect_cpus(&plan, (unsigned[]){0, 1, 2}, 3);
	assert_int_equal(plan.first_node, 0);
	assert_int_equal(plan.workers_off_nic, 2);
	/* Floating: the allowed CPUs in node order, NIC node first. */
	assert_int_equal(placement_choose(&t, (unsigned[]){1, 5}, 2, 1, 3, &plan), 0);
	assert_true(plan.floating);
	expect_cpus(&plan, (unsigned[]){5, 1}, 2);
}

/* Four nodes of 2 CPUs with interleaved ids (node n: CPUs n and n + 4). */
static void
test_four_nodes(void **state)
{
	struct placement_topology t;
	struct placement_plan plan;
	unsigned cpus[8];

	(void)state;
	placement_topology_flat(&t);
	for (unsigned c = 0; c < 8; c++)
		t.node_of_cpu[c] = (int)(c % 4);
	t.nnodes = 4;
	/* NIC on node 2, 1 worker: control 2, worker 6. */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 8), 2, 1, &plan), 0);
	expect_cpus(&plan, (unsigned[]){2, 6}, 2);
	assert_int_equal(plan.workers_off_nic, 0);
	/* 5 workers: node 2 (2, 6), then nodes 0 (0, 4) and 1 (1); control on 5 (node 1). */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 8), 2, 5, &plan), 0);
	expect_cpus(&plan, (unsigned[]){5, 2, 6, 0, 4, 1}, 6);
	assert_int_equal(plan.workers_off_nic, 3);
	assert_int_equal(plan.node[0], 1);
	/* Every node order after the first is ascending: 2, 0, 1, 3. */
	assert_int_equal(placement_choose(&t, cpus, all_cpus(cpus, 8), 2, 7, &plan), 0);
	expect_cpus(&plan, (unsigned[]){7, 2, 6, 0, 4, 1, 5, 3}, 8);
	assert_int_equal(plan.node[7], 3);
	assert_int_equal(plan.workers_off_nic, 5);
}

/* Write @p text to @p root/@p rel, making its directories. */
static void
put_file(const char *root, const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0700);
			*p = '/';
		}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_sysfs(void **state)
{
	char root[] = "/tmp/nc_test_placement_XXXXXX", cmd[128];
	struct placement_topology t;

	(void)state;
	assert_non_null(mkdtemp(root));
	/* No node directory: one node. */
	assert_int_equal(placement_topology_read(&t, root), 1);
	assert_int_equal(t.node_of_cpu[5], 0);
	put_file(root, "devices/system/node/node0/cpulist", "0-1,4-5\n");
	put_file(root, "devices/system/node/node1/cpulist", "2-3,6-7\n");
	put_file(root, "devices/system/node/node2/cpulist", "\n"); /* memory only */
	put_file(root, "devices/system/node/online", "0-2\n");
	assert_int_equal(placement_topology_read(&t, root), 2);
	assert_int_equal(t.node_of_cpu[1], 0);
	assert_int_equal(t.node_of_cpu[3], 1);
	assert_int_equal(t.node_of_cpu[6], 1);
	assert_int_equal(t.node_of_cpu[5], 0);
	put_file(root, "bus/pci/devices/0000:3b:00.0/numa_node", "1\n");
	put_file(root, "bus/pci/devices/0000:3c:00.0/numa_node", "-1\n");
	put_file(root, "class/net/eth7/device/numa_node", "1\n");
	assert_int_equal(placement_nic_node(root, "0000:3b:00.0", NULL), 1);
	assert_int_equal(placement_nic_node(root, "3b:00.0", NULL), 1);
	assert_int_equal(placement_nic_node(root, "3c:00.0", NULL), PLACEMENT_NODE_UNKNOWN);
	assert_int_equal(placement_nic_node(root, "3d:00.0", NULL), PLACEMENT_NODE_UNKNOWN);
	assert_int_equal(placement_nic_node(root, "", "eth7"), 1);
	assert_int_equal(placement_nic_node(root, NULL, "veth0"), PLACEMENT_NODE_UNKNOWN);
	assert_int_equal(placement_nic_node(root, NULL, NULL), PLACEMENT_NODE_UNKNOWN);
	put_file(root, "devices/system/node/node3/cpulist", "1-x\n");
	assert_int_equal(placement_topology_read(&t, root), -EINVAL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* This machine's own sysfs: every allowed CPU has a node, and a plan can be made. */
static void
test_this_machine(void **state)
{
	struct placement_topology t;
	struct placement_plan plan;
	unsigned cpus[CPU_SETSIZE], n = 0;
	cpu_set_t set;

	(void)state;
	assert_true(placement_topology_read(&t, "/sys") >= 1);
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (unsigned c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	assert_int_equal(placement_choose(&t, cpus, n, PLACEMENT_NODE_UNKNOWN, 1, &plan), 0);
	assert_int_equal(plan.ncpus, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpulist),	  cmocka_unit_test(test_one_node),
		cmocka_unit_test(test_two_nodes), cmocka_unit_test(test_four_nodes),
		cmocka_unit_test(test_sysfs),	  cmocka_unit_test(test_this_machine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
