/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_PLACEMENT_H
#define NC_APP_PLACEMENT_H

/*
 * NUMA placement before EAL starts: which CPU the control lcore and each worker lcore run on.
 * Workers go on the NIC's NUMA node first, then on the other nodes (lowest node id first);
 * the control lcore takes a CPU of the NIC's node only when the workers leave one there.
 * Pure logic over a CPU -> node map, the allowed CPUs and the NIC's node, read from sysfs
 * by placement_topology_read() and placement_nic_node() (their root is a parameter, so tests
 * give a fake tree). No EAL: usable before rte_eal_init() and in unit tests.
 *
 * The EAL side (sockets of the lcores EAL made, memory sockets, the banner) is
 * placement_eal.h.
 *
 * Threads: every function works on the caller's structs only; any thread.
 */

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

/** Unknown NUMA node (a virtual NIC, no sysfs entry, a kernel without NUMA). */
#define PLACEMENT_NODE_UNKNOWN (-1)

/** The NUMA node of every CPU id (0 .. CPU_SETSIZE - 1). */
struct placement_topology {
	int node_of_cpu[CPU_SETSIZE]; /* every CPU sysfs lists in no node: node 0 */
	unsigned nnodes;	      /* nodes that list CPUs (at least 1) */
};

/** The CPUs chosen: cpus[0] the control lcore, cpus[1..workers] the workers, then the rest. */
struct placement_plan {
	unsigned cpus[CPU_SETSIZE];
	int node[CPU_SETSIZE]; /* node of cpus[i] */
	unsigned ncpus;	       /* = the allowed CPUs given, reordered */
	unsigned workers;
	bool floating;		  /* fewer CPUs than lcores: every lcore floats over all of them */
	int nic_node;		  /* as given (PLACEMENT_NODE_UNKNOWN: none known) */
	int first_node;		  /* the node workers were placed on first */
	unsigned workers_off_nic; /* pinned workers on another node than a known NIC node */
};

/**
 * Make the one-node topology: every CPU on node 0 (a machine without NUMA, and the default
 * of placement_topology_read()).
 */
void placement_topology_flat(struct placement_topology *t);

/**
 * Read the CPU -> node map from @p sysfs_root (normally "/sys"):
 * <root>/devices/system/node/node<N>/cpulist for every node N.
 * @return the number of nodes found (>= 1); with none (no such directory: a kernel without
 *         NUMA) the flat topology and 1. -EINVAL if a cpulist cannot be parsed.
 */
int placement_topology_read(struct placement_topology *t, const char *sysfs_root);

/**
 * Parse a kernel CPU list ("0-3,8,10-11\n") into @p set.
 * @return 0, or -EINVAL (bad syntax, a CPU id >= CPU_SETSIZE, a range going down).
 */
int placement_cpulist_parse(const char *text, cpu_set_t *set);

/**
 * The NUMA node of the NIC: <root>/bus/pci/devices/<pci>/numa_node for a PCI address
 * ("0000:3b:00.0", or "3b:00.0" for domain 0), else <root>/class/net/<iface>/device/numa_node
 * for a kernel interface (an af_xdp/af_packet vdev on a real NIC). Either may be NULL or "".
 * @return the node, or PLACEMENT_NODE_UNKNOWN (no such file, -1 there: a virtual device or a
 *         one-node machine).
 */
int placement_nic_node(const char *sysfs_root, const char *pci, const char *iface);

/**
 * Choose the CPUs for 1 control lcore and @p workers worker lcores among the @p nallowed
 * CPUs in @p allowed (the process's affinity, ascending). Workers take CPUs of the first
 * node (the NIC's; with none known, the node with most allowed CPUs, lowest id on a tie)
 * before other nodes (lowest id first), lowest CPU id first within a node. The control lcore
 * takes the first CPU of the first node when that node has a CPU for every worker and one
 * more; else the first CPU the workers leave. With fewer CPUs than lcores nothing is pinned
 * (plan->floating) and cpus[] is the allowed list in that same order.
 * @return 0; -EINVAL (no allowed CPU, no worker, a CPU id >= CPU_SETSIZE).
 */
int placement_choose(const struct placement_topology *t, const unsigned *allowed, unsigned nallowed,
		     int nic_node, unsigned workers, struct placement_plan *plan);

#endif /* NC_APP_PLACEMENT_H */
