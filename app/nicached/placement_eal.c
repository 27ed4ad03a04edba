/* SPDX-License-Identifier: BSD-3-Clause */
/* NUMA placement after EAL: lcore and memory sockets, and the banner lines saying them. */
#include "placement_eal.h"

#include <stdbool.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "core/log.h"
#include "placement.h"
#include "worker.h"

/* Free heap a socket needs for a worker's small allocations to go there (they are a few MB). */
#define PLACEMENT_SOCKET_FREE_MIN (16u << 20)

int
placement_lcore_socket(unsigned lcore)
{
	unsigned s = rte_lcore_to_socket_id(lcore);

	return s == (unsigned)SOCKET_ID_ANY ? SOCKET_ID_ANY : (int)s;
}

int
placement_mem_socket(unsigned lcore)
{
	int s = placement_lcore_socket(lcore);
	struct rte_malloc_socket_stats st;

	/*
	 * EAL makes a memory list for every socket with CPUs, pages or not: what counts is
	 * memory its heap there holds now. The worker's small allocations (rings, stack, TCP)
	 * do not fall back by themselves; the shard does (lib/store).
	 */
	if (s == SOCKET_ID_ANY || rte_malloc_get_socket_stats(s, &st) != 0 ||
	    st.heap_freesz_bytes < PLACEMENT_SOCKET_FREE_MIN)
		return SOCKET_ID_ANY;
	return s;
}

int
placement_ptr_socket(const void *p)
{
	const struct rte_memseg_list *msl = p != NULL ? rte_mem_virt2memseg_list(p) : NULL;

	return msl != NULL ? msl->socket_id : SOCKET_ID_ANY;
}

/* "3", "0-3,8" or "(none)": the CPUs of @p lcore. */
static void
lcore_cpus(unsigned lcore, char *buf, size_t cap)
{
	rte_cpuset_t set = rte_lcore_cpuset(lcore);
	size_t k = 0;

	buf[0] = '\0';
	for (unsigned c = 0; c < CPU_SETSIZE && k < cap; c++) {
		unsigned last = c;
		int n;

		if (!CPU_ISSET(c, &set))
			continue;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
			last++;
		n = last == c ? snprintf(buf + k, cap - k, "%s%u", k ? "," : "", c) :
				snprintf(buf + k, cap - k, "%s%u-%u", k ? "," : "", c, last);
		if (n < 0)
			break;
		k += (size_t)n;
		c = last;
	}
	if (buf[0] == '\0')
		snprintf(buf, cap, "(none)");
}

/* "CPU" or "CPUs" for the list @p cpus. */
static const char *
cpu_word(const char *cpus)
{
	return strpbrk(cpus, ",-") != NULL ? "CPUs" : "CPU";
}

/* "0", or "any" for SOCKET_ID_ANY. */
static const char *
socket_text(int socket, char *buf, size_t cap)
{
	if (socket < 0)
		return "any";
	snprintf(buf, cap, "%d", socket);
	return buf;
}

/*
 * The NIC's socket: for a PCI device DPDK's (sysfs's when DPDK does not know); for a vdev the
 * node of its kernel interface's device (DPDK only reports where the vdev was created).
 */
static int
nic_socket(const struct nc_server *srv)
{
	int s = rte_eth_dev_socket_id(net_port_iface(srv->port)->port_id);

	return srv->profile.vdev || s < 0 ? srv->nic_node : s;
}

void
placement_banner(const struct nc_server *srv, FILE *f)
{
	char cpus[128], a[16], b[16], c[16], off[256];
	unsigned main_lcore = rte_get_main_lcore();
	int nic = srv->port != NULL ? nic_socket(srv) : SOCKET_ID_ANY;
	const char *how;
	size_t k = 0;

	off[0] = '\0';
	lcore_cpus(main_lcore, cpus, sizeof(cpus));
	if (srv->port != NULL)
		fprintf(f, "nicached: NUMA: NIC on socket %s%s; ", socket_text(nic, a, sizeof(a)),
			nic < 0 ? " (a virtual interface: no node of its own)" : "");
	else
		fprintf(f, "nicached: NUMA: ");
	if (settings_eal_user_replaces(&srv->set, SETTINGS_EAL_lcores))
		how = "as the EAL arguments say";
	else if (nic >= 0)
		how = "chosen on the NIC's socket first";
	else
		how = "chosen on one socket first";
	fprintf(f, "control lcore %u on %s %s, socket %s; lcores %s\n", main_lcore, cpu_word(cpus),
		cpus, socket_text(placement_lcore_socket(main_lcore), a, sizeof(a)), how);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct worker *w = srv->workers[i];
		int s = placement_lcore_socket(w->lcore);

		lcore_cpus(w->lcore, cpus, sizeof(cpus));
		fprintf(f,
			"nicached: NUMA: worker %u: lcore %u, %s %s, socket %s; shard memory on "
			"socket %s, worker state on socket %s\n",
			i, w->lcore, cpu_word(cpus), cpus, socket_text(s, a, sizeof(a)),
			socket_text(store_shard_mem_socket(w->shard), b, sizeof(b)),
			socket_text(placement_ptr_socket(w), c, sizeof(c)));
		if (nic >= 0 && s != nic && k < sizeof(off)) {
			int n = snprintf(off + k, sizeof(off) - k, "%s%u", k ? ", " : "", i);

			k += n > 0 ? (size_t)n : 0;
		}
	}
	if (k > 0) {
		fprintf(f,
			"nicached: NUMA warning: worker%s %s run%s off the NIC's socket %d: their "
			"packets cross between sockets (free CPUs on socket %d, or give -- --lcores)\n",
			strchr(off, ',') ? "s" : "", off, strchr(off, ',') ? "" : "s", nic, nic);
		nc_log(NC_LOG_WARNING, "NUMA: worker(s) %s run off the NIC's socket %d", off, nic);
	}
}
