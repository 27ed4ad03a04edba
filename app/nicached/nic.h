/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_NIC_H
#define NC_APP_NIC_H

/*
 * The DPDK port of the server (backend dpdk): the site file and NIC profile read before EAL
 * starts (they say which device EAL must create), the port started after it with one queue
 * pair per worker, and its figures for `stats nic` and the /nicached/nic telemetry command:
 * the device's own counters, every packet-path event and drop reason summed over the queues,
 * per-queue receive counts, and the neighbour table.
 *
 * Threads: nic_prepare/nic_start/nic_stop on the main lcore during setup and teardown;
 * nic_stats_visit on any thread while the port runs.
 */

#include <stddef.h>
#include <stdint.h>

#include "server.h"
#include "settings.h"

/**
 * [setup, before EAL] Load srv->set.site and the profile it names (from srv->set.drivers_dir)
 * and find the NIC's NUMA node in sysfs (srv->nic_node: its PCI device's, or for a vdev the
 * kernel interface's device; PLACEMENT_NODE_UNKNOWN for a virtual interface).
 * @return 0; negative errno with a message in @p err (-EINVAL: no --site, a bad file).
 */
int nic_prepare(struct nc_server *srv, char *err, size_t errcap);

/**
 * [setup, before EAL, after nic_prepare] Append the EAL device arguments (--vdev ... or
 * -a ..., and --no-pci for a vdev) for srv->set.threads queue pairs to @p eal.
 * @return 0; negative errno with a message in @p err (-E2BIG: they do not fit).
 */
int nic_eal_append(struct nc_server *srv, struct settings_eal *eal, char *err, size_t errcap);

/**
 * [setup, after EAL] Start the port with srv->nworkers queue pairs (net_port_start) for -U
 * and -p on the site's address, with the --fault faults (if any) on every queue.
 * @return 0; negative errno with a message in @p err.
 */
int nic_start(struct nc_server *srv, char *err, size_t errcap);

/** [teardown] Stop the port (workers must have stopped and their stacks be gone). */
void nic_stop(struct nc_server *srv);

/** Called for each number of nic_stats_visit(). */
typedef void (*nic_number_fn)(void *arg, const char *name, uint64_t value);
/** Called for each text of nic_stats_visit() (the neighbour table). */
typedef void (*nic_text_fn)(void *arg, const char *name, const char *value);

/**
 * [any thread] Report the port's figures: port_* (device counters and link), the packet-path
 * events and drop_<reason> summed over the queues, q<N>_rx_frames / q<N>_udp_delivered /
 * q<N>_drops per queue, and neigh_<ip> = <mac> age <s>. Nothing when the backend is not dpdk.
 */
void nic_stats_visit(const struct nc_server *srv, nic_number_fn num, nic_text_fn text,
		     void *arg);

/**
 * Visit the figures of `stats tcp` (and telemetry /nicached/tcp): every TCP counter summed
 * over the workers' queues (lib/tcp/counters.h), the gauges (tcp_conns, tcp_syn_rcvd,
 * tcp_time_wait, tcp_mbufs) summed, per queue q<i>_tcp_conns, and with more than one queue
 * every counter per queue (q<i>_<counter>; each queue's counters read once, so the sums add
 * up to them). Nothing when the port serves no TCP. Any thread (relaxed loads; about 40 KiB
 * of the caller's stack).
 */
void nic_tcp_visit(const struct nc_server *srv, nic_number_fn num, void *arg);

#endif /* NC_APP_NIC_H */
