/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_PORT_H
#define NC_NET_PORT_H

/*
 * A DPDK port from two files:
 *
 *  - a NIC profile, drivers-config/<family>.ini (rte_cfgfile INI): how EAL finds the device
 *    (a PCI address or a vdev string with {iface}, {pci}, {queues} placeholders), rx/tx
 *    descriptors, queue policy, RSS hash types and key, offloads to request, MTU, mbuf pool
 *    sizing;
 *  - a site file (INI): which profile, the interface name or PCI address, our IPv4
 *    address/prefix, gateway, VLAN.
 *
 * Before rte_eal_init() the app loads both and asks net_port_eal_args() for the device
 * arguments. After it, net_port_start() checks the profile against rte_eth_dev_info (queues,
 * descriptors, RSS types, offloads, MTU), configures one rx/tx queue pair per worker with RSS
 * over them, creates the mbuf pool sized from queues x descriptors, starts the port, waits
 * briefly for link, and records every choice: what it enabled and what it had to fall back
 * from (e.g. "tx udp checksum: not offered by the device: software"), shown in the banner.
 *
 * Threads: setup functions run on the main lcore before workers start; net_port_stats() and
 * net_port_describe() may run on any thread afterwards. Errors: negative errno plus a message.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>

#include "net/iface.h"

#define NET_PROFILE_NAME_MAX 32
#define NET_DEVARGS_MAX 256
#define NET_RSS_KEY_MAX 52

enum net_queue_policy {
	NET_QUEUES_PER_WORKER, /* one rx/tx pair per worker (RSS spreads flows) */
	NET_QUEUES_ONE,	       /* the device has one queue pair: only one worker may use it */
};

/** A NIC profile, as loaded (what we want; net_port_start says what we got). */
struct net_profile {
	char name[NET_PROFILE_NAME_MAX];      /* [driver] name: "af_packet", "mlx5", ... */
	bool vdev;			      /* [device] kind = vdev (else pci) */
	char devargs[NET_DEVARGS_MAX];	      /* [device] args: "net_af_packet0,iface={iface}" */
	uint16_t rx_desc, tx_desc;	      /* [rings] */
	enum net_queue_policy queues;	      /* [queues] policy */
	uint16_t max_queues;		      /* [queues] max (0: the device's limit) */
	uint64_t rss_hf;		      /* [rss] types -> RTE_ETH_RSS_* bits; 0: no RSS */
	uint8_t rss_key[NET_RSS_KEY_MAX];     /* [rss] key (hex); rss_key_len 0: driver default */
	uint8_t rss_key_len;
	struct net_offloads offloads;	      /* [offloads] wanted (tx_tcp_tso default off) */
	uint16_t mtu;			      /* [port] mtu */
	bool promiscuous;		      /* [port] promiscuous */
	uint16_t mbuf_data_room;	      /* [mempool] data room per mbuf (with headroom) */
	uint16_t mbuf_cache;		      /* [mempool] per-lcore cache */
	uint32_t mbuf_extra;		      /* [mempool] mbufs beyond rings (in flight, frags) */
};

/** A site file: where this server sits. */
struct net_site {
	char profile[256];  /* [port] profile: a name in the drivers-config dir, or a path */
	char iface[64];	    /* [port] iface: kernel interface name (vdev profiles) */
	char pci[64];	    /* [port] pci: PCI address (pci profiles) */
	rte_be32_t ip;	    /* [ipv4] address = a.b.c.d/prefix */
	uint8_t prefix;
	rte_be32_t gateway; /* [ipv4] gateway (optional) */
	uint16_t vlan_id;   /* [port] vlan (optional, 0: untagged) */
	uint16_t mtu;	    /* [port] mtu (optional, 0: the profile's) */
	struct net_fault fault; /* not in the file: the caller's (tests); zero: no faults */
};

/**
 * Load a NIC profile; missing keys take documented defaults, unknown sections/keys and bad
 * values are errors. @return 0; -ENOENT (no file), -EINVAL (with @p msg saying which key).
 */
int net_profile_load(const char *path, struct net_profile *p, char *msg, size_t msgcap);

/**
 * Load a site file. @return 0; -ENOENT, -EINVAL (with @p msg).
 */
int net_site_load(const char *path, struct net_site *s, char *msg, size_t msgcap);

/**
 * The path of the profile a site names: @p site->profile itself when it contains a '/',
 * else "<drivers_dir>/<profile>.ini". @return @p buf, or NULL when it does not fit.
 */
const char *net_site_profile_path(const struct net_site *s, const char *drivers_dir, char *buf,
				  size_t cap);

/**
 * Load the profile site @p s names (net_site_profile_path() in @p drivers_dir) into @p p.
 * @return 0; -ENAMETOOLONG (the path does not fit), or net_profile_load()'s error, with
 *         @p msg naming the profile's path.
 */
int net_site_profile_load(const struct net_site *s, const char *drivers_dir,
			  struct net_profile *p, char *msg, size_t msgcap);

/**
 * EAL arguments that make the device appear: {"--vdev", "<devargs expanded>"} for vdev
 * profiles, {"-a", "<pci>"} for PCI ones (placeholders {iface}, {pci}, {queues} filled from
 * the site and @p nb_queues). Strings live in @p buf.
 * @return the number of arguments stored in @p argv (<= max); -ENOSPC; -EINVAL with @p msg
 *         (e.g. a vdev profile and no iface in the site).
 */
int net_port_eal_args(const struct net_profile *p, const struct net_site *s, unsigned nb_queues,
		      char *buf, size_t bufcap, char **argv, int max, char *msg, size_t msgcap);

struct net_port;

/** What a started port reports (rte_eth_stats_get), for `stats nic` and telemetry. */
struct net_port_stats {
	uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
	bool link_up;
	uint32_t link_speed_mbps;
};

/**
 * Find the device the profile/site name (after rte_eal_init), check the profile against
 * rte_eth_dev_info and its capabilities, configure @p nb_queues rx/tx queue pairs with RSS
 * (when the device has it and more than one queue), create the mbuf pool (on the port's NUMA
 * node) sized nb_queues x (rx_desc + tx_desc + 2 x NET_BURST + cache + the TCP layer's
 * budget + NET_BURST x NET_TSO_SEGS_MAX with TSO) + mbuf_extra, set MTU, start the port, and
 * fill its net_iface (MAC, address, offloads in use and the TSO limits, multi-segment TX when
 * TSO is on, pool, neighbour table, @p s->fault for every queue) with @p udp_port /
 * @p tcp_port.
 * @return 0 with *out; negative errno with @p msg (-ENODEV no such device, -EINVAL the profile
 *         asks what the device cannot do and has no fallback, e.g. more queues than it has).
 */
int net_port_start(const struct net_profile *p, const struct net_site *s, uint16_t nb_queues,
		   uint16_t udp_port, uint16_t tcp_port, struct net_port **out, char *msg,
		   size_t msgcap);

/** [setup] Stop and close the port, free its pool and table; NULL allowed; sets *p NULL. */
void net_port_stop(struct net_port **p);

/** The interface the queues use (valid until net_port_stop). */
const struct net_iface *net_port_iface(const struct net_port *p);

/**
 * Describe the port in lines for the startup banner: device and driver, MAC, address/prefix,
 * gateway, VLAN, MTU, queues and descriptors, RSS (types, or why not), each offload (on, or the
 * fallback), pool size, link. @return bytes written (truncated to cap - 1).
 */
size_t net_port_describe(const struct net_port *p, char *buf, size_t cap);

/** Read the device's counters and link state. @return 0 or negative errno. Any thread. */
int net_port_stats(const struct net_port *p, struct net_port_stats *st);

#endif /* NC_NET_PORT_H */
