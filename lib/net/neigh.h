/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_NEIGH_H
#define NC_NET_NEIGH_H

/*
 * The neighbour (ARP) table of one port: IPv4 address -> MAC of on-link hosts, shared by the
 * port's queues. Entries are learned from ARP requests and replies that concern our address and
 * refreshed from the source of every IPv4 packet received from an on-link host, so replies find
 * their next hop without asking. Lookups are lock-free (a per-entry sequence counter); writers
 * (any queue's worker) take a spinlock, and only when an entry is new, changed or older than
 * NET_NEIGH_REFRESH_S, so steady traffic writes nothing shared.
 *
 * Fixed size (NET_NEIGH_SIZE entries, open addressing); when full the oldest entry in the probe
 * window is replaced. Entries older than NET_NEIGH_STALE_S are stale: still used, and the
 * periodic net_queue_timers() of queue 0 sends an ARP request to refresh those it needs (the
 * gateway).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#define NET_NEIGH_SIZE 1024
#define NET_NEIGH_REFRESH_S 1
#define NET_NEIGH_STALE_S 60

struct net_neigh;

/** [setup] Create an empty table on NUMA @p socket. @return it, or NULL (out of memory). */
struct net_neigh *net_neigh_create(int socket);

/** [setup] Free a table (no queue may use it any more); NULL allowed; sets *n to NULL. */
void net_neigh_destroy(struct net_neigh **n);

/**
 * [any worker] Learn or refresh @p ip -> @p mac at time @p now_s (seconds, any monotonic base).
 * @return true when the table changed (new entry, new MAC or refreshed timestamp).
 */
bool net_neigh_learn(struct net_neigh *n, rte_be32_t ip, const struct rte_ether_addr *mac,
		     uint64_t now_s);

/**
 * [any thread] Look up @p ip.
 * @return true with *mac (and *age_s = seconds since learned, if age_s is not NULL); false
 *         when unknown.
 */
bool net_neigh_lookup(const struct net_neigh *n, rte_be32_t ip, struct rte_ether_addr *mac,
		      uint64_t now_s, uint64_t *age_s);

/**
 * [any thread] Call @p fn for every entry (for `stats nic`); entries changing meanwhile may be
 * skipped or seen twice. @return the number of entries visited.
 */
unsigned net_neigh_walk(const struct net_neigh *n, uint64_t now_s,
			void (*fn)(void *arg, rte_be32_t ip, const struct rte_ether_addr *mac,
				   uint64_t age_s),
			void *arg);

#endif /* NC_NET_NEIGH_H */
