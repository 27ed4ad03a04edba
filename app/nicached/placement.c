/* SPDX-License-Identifier: BSD-3-Clause */
/* NUMA placement before EAL: CPU -> node map and NIC node from sysfs, the CPUs chosen. */
#include "placement.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
placement_topology_flat(struct placement_topology *t)
{
	memset(t->node_of_cpu, 0, sizeof(t->node_of_cpu));
	t->nnodes = 1;
}

/* Parse an unsigned decimal at *p, moving *p past it. @return 0 or -EINVAL. */
static int
parse_uint(const char **p, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	errno = 0;
	*out = strtoul(*p, &end, 10);
	if (errno != 0)
		return -EINVAL;
	*p = end;
	return 0;
}

int
placement_cpulist_parse(const char *text, cpu_set_t *set)
{
	const char *p = text;

	CPU_ZERO(set);
	while (*p != '\0' && *p != '\n') {
		unsigned long lo, hi;

		if (parse_uint(&p, &lo) != 0)
			return -EINVAL;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_uint(&p, &hi) != 0)
				return -EINVAL;
		}
		if (hi < lo || hi >= CPU_SETSIZE)
			return -EINVAL;
		for (unsigned long c = lo; c <= hi; c++)
			CPU_SET(c, set);
		if (*p == ',')
			p++;
		else if (*p != '\0' && *p != '\n')
			return -EINVAL;
	}
	return 0;
}

/* Read the first line of @p path into @p buf. @return 0 or -errno. */
static int
read_line(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (f == NULL)
		return -errno;
	if (fgets(buf, (int)cap, f) == NULL)
		rc = -EIO;
	fclose(f);
	return rc;
}

int
placement_topology_read(struct placement_topology *t, const char *sysfs_root)
{
	char dir[512], path[1024], line[4096];
	unsigned nodes = 0;
	struct dirent *e;
	DIR *d;

	placement_topology_flat(t);
	snprintf(dir, sizeof(dir), "%s/devices/system/node", sysfs_root);
	d = opendir(dir);
	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL) {
		unsigned node;
		char tail;
		cpu_set_t set;

		if (sscanf(e->d_name, "node%u%c", &node, &tail) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/cpulist", dir, e->d_name);
		if (read_line(path, line, sizeof(line)) != 0)
			continue;
		if (placement_cpulist_parse(line, &set) != 0) {
			closedir(d);
			return -EINVAL;
		}
		if (CPU_COUNT(&set) == 0)
			continue; /* a memory-only node */
		for (unsigned c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				t->node_of_cpu[c] = (int)node;
		nodes++;
	}
	closedir(d);
	t->nnodes = nodes > 0 ? nodes : 1;
	return (int)t->nnodes;
}

/* The node in @p path (a numa_node file), or PLACEMENT_NODE_UNKNOWN. */
static int
read_node(const char *path)
{
	char line[32];
	long v;

	if (read_line(path, line, sizeof(line)) != 0)
		return PLACEMENT_NODE_UNKNOWN;
	if (sscanf(line, "%ld", &v) != 1 || v < 0 || v >= CPU_SETSIZE)
		return PLACEMENT_NODE_UNKNOWN;
	return (int)v;
}

int
placement_nic_node(const char *sysfs_root, const char *pci, const char *iface)
{
	char path[1024];

	if (pci != NULL && pci[0] != '\0') {
		/* sysfs names carry the domain: "3b:00.0" is "0000:3b:00.0". */
		bool has_domain = strchr(pci, ':') != strrchr(pci, ':');

		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s%s/numa_node", sysfs_root,
			 has_domain ? "" : "0000:", pci);
		return read_node(path);
	}
	if (iface != NULL && iface[0] != '\0') {
		snprintf(path, sizeof(path), "%s/class/net/%s/device/numa_node", sysfs_root, iface);
		return read_node(path);
	}
	return PLACEMENT_NODE_UNKNOWN;
}

/* Node of CPU @p c in @p t. */
static int
node_of(const struct placement_topology *t, unsigned c)
{
	return t->node_of_cpu[c];
}

/* The node with most allowed CPUs (lowest id on a tie). */
static int
busiest_node(const struct placement_topology *t, const unsigned *allowed, unsigned n)
{
	int best = node_of(t, allowed[0]);
	unsigned best_count = 0;

	for (unsigned i = 0; i < n; i++) {
		int node = node_of(t, allowed[i]);
		unsigned count = 0;

		for (unsigned j = 0; j < n; j++)
			count += node_of(t, allowed[j]) == node;
		if (count > best_count || (count == best_count && node < best)) {
			best = node;
			best_count = count;
		}
	}
	return best;
}

/* Append the allowed CPUs in node order: @p first, then the others by ascending id. */
static void
order_cpus(const struct placement_topology *t, const unsigned *allowed, unsigned n, int first,
	   struct placement_plan *plan)
{
	int node = first, next;

	plan->ncpus = 0;
	for (;;) {
		for (unsigned i = 0; i < n; i++)
			if (node_of(t, allowed[i]) == node) {
				plan->node[plan->ncpus] = node;
				plan->cpus[plan->ncpus++] = allowed[i];
			}
		/* the next node: the lowest id above the last, skipping @p first */
		next = -1;
		for (unsigned i = 0; i < n; i++) {
			int c = node_of(t, allowed[i]);

			if (c != first && (node == first || c > node) && (next < 0 || c < next))
				next = c;
		}
		if (next < 0)
			return;
		node = next;
	}
}

int
placement_choose(const struct placement_topology *t, const unsigned *allowed, unsigned nallowed,
		 int nic_node, unsigned workers, struct placement_plan *plan)
{
	unsigned on_first = 0;

	if (nallowed == 0 || nallowed > CPU_SETSIZE || workers == 0)
		return -EINVAL;
	for (unsigned i = 0; i < nallowed; i++)
		if (allowed[i] >= CPU_SETSIZE)
			return -EINVAL;
	plan->workers = workers;
	plan->nic_node = nic_node;
	plan->workers_off_nic = 0;
	plan->first_node = nic_node;
	for (unsigned i = 0; nic_node != PLACEMENT_NODE_UNKNOWN && i < nallowed; i++)
		on_first += node_of(t, allowed[i]) == nic_node;
	if (on_first == 0) /* no NIC node known, or none of its CPUs allowed */
		plan->first_node = busiest_node(t, allowed, nallowed);
	order_cpus(t, allowed, nallowed, plan->first_node, plan);
	plan->floating = nallowed < workers + 1;
	if (plan->floating)
		return 0;
	on_first = 0;
	while (on_first < plan->ncpus && plan->node[on_first] == plan->first_node)
		on_first++;
	if (on_first < workers + 1) {
		/* Workers first: the control lcore takes the CPU after theirs. */
		unsigned cpu = plan->cpus[workers];
		int node = plan->node[workers];

		memmove(plan->cpus + 1, plan->cpus, workers * sizeof(plan->cpus[0]));
		memmove(plan->node + 1, plan->node, workers * sizeof(plan->node[0]));
		plan->cpus[0] = cpu;
		plan->node[0] = node;
	}
	for (unsigned i = 1; nic_node != PLACEMENT_NODE_UNKNOWN && i <= workers; i++)
		plan->workers_off_nic += plan->node[i] != nic_node;
	return 0;
}
