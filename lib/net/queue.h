/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_QUEUE_H
#define NC_NET_QUEUE_H

/*
 * The packet path of one rx/tx queue pair, burst-oriented, allocating nothing but mbufs:
 *
 *   net_queue_rx():   rte_eth_rx_burst, then for every frame: Ethernet (802.1Q tag checked or
 *                     stripped), ARP (requests for our address answered, senders learned),
 *                     IPv4 (version, IHL, lengths, checksum, TTL, source sanity; fragments
 *                     reassembled into an mbuf chain within the NET_FRAG_* limits below,
 *                     datagrams up to 65535 bytes), ICMP echo answered, TCP answered with RST
 *                     (no TCP on this path yet), UDP to our port checked (length, checksum)
 *                     and handed up as a net_dgram. Everything else is dropped with a reason
 *                     counter. Replies the path makes itself (ARP, ICMP, RST) join the
 *                     queue's TX batch.
 *   net_udp_alloc() / net_udp_send():  build a reply datagram in an mbuf whose headroom takes
 *                     the Ethernet/VLAN/IPv4/UDP headers; checksums filled by the NIC where it
 *                     offers it, else in software; the next hop's MAC from the neighbour table.
 *   net_queue_flush(): one rte_eth_tx_burst of the batch. net_queue_timers() flushes a batch
 *                     older than its drain time, frees expired fragments and refreshes the
 *                     neighbours we need.
 *
 * Threads: a queue belongs to one worker thread; only net_queue_counters() may be read from
 * elsewhere (relaxed loads). Errors: negative errno.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "net/counters.h"
#include "net/iface.h"

/** Most frames received per rte_eth_rx_burst, and most frames in one TX batch. */
#define NET_BURST 32
/** Received mbufs a queue keeps for its next replies instead of the pool (net_queue_recycle). */
#define NET_SPARE_MBUFS (2 * NET_BURST)
/** A partial TX batch older than this is sent by net_queue_timers(). */
#define NET_TX_DRAIN_US 10
/*
 * IPv4 reassembly limits, per queue, fixed at creation:
 * - NET_FRAG_FLOWS datagrams in flight at once (an entry is ~40 bytes; the mbuf cap, not this,
 *   bounds memory). When all are taken, a new datagram evicts the oldest (frag_evicted): real
 *   fragments arrive back to back and finish in microseconds, a flood of incomplete ones ages.
 * - NET_FRAG_MAX_FRAGS fragments per datagram: 64 rebuild 65535 bytes from fragments of 1024
 *   payload bytes or more (any MTU >= 1044; 45 at MTU 1500); a datagram needing more is given
 *   up (frag_dropped).
 * - NET_FRAG_MBUFS_MAX mbuf segments held by all of a queue's reassemblies: 11 datagrams of
 *   64 KB at MTU 1500. Kept well under the pool's `extra` (2048 in the smallest profiles) so a
 *   flood of incomplete datagrams cannot starve RX or replies; reaching it evicts the oldest.
 * - NET_FRAG_TIMEOUT_MS from a datagram's first fragment; then net_queue_timers() frees it.
 */
#define NET_FRAG_FLOWS	    256
#define NET_FRAG_MAX_FRAGS  64
#define NET_FRAG_MBUFS_MAX  512
#define NET_FRAG_TIMEOUT_MS 100

struct net_queue;

/** A UDP datagram for our port, as received (the mbuf is the datagram's owner). */
struct net_dgram {
	struct rte_mbuf *m;	/* may be a chain (reassembled); free with net_dgram_free() */
	const uint8_t *payload; /* the payload when contiguous in the first segment, else NULL */
	uint32_t off;		/* payload offset from the start of the packet data */
	uint16_t len;		/* payload length */
	rte_be32_t src_ip;
	rte_be32_t dst_ip;
	rte_be16_t src_port;
	rte_be16_t dst_port;
};

/**
 * [setup] Create the packet path of queue pair @p queue_id of @p ifc's port (the port must be
 * configured with that many queues; rx/tx are not started here). Allocates the TX batch and
 * the fragment table on NUMA @p socket.
 * @return the queue, or NULL with *err = -ENOMEM or -EINVAL.
 */
struct net_queue *net_queue_create(const struct net_iface *ifc, uint16_t queue_id, int socket,
				   int *err);

/** [setup] Free a queue (frames still batched are freed, not sent); NULL allowed. */
void net_queue_destroy(struct net_queue **q);

/**
 * Receive one burst from the NIC queue and run it through the packet path.
 * @return the number of UDP datagrams for our port stored in @p out (at most @p max, which
 *         should be >= NET_BURST: datagrams beyond @p max are dropped and counted as udp_port).
 */
unsigned net_queue_rx(struct net_queue *q, struct net_dgram *out, unsigned max);

/**
 * Run frames already received (@p n mbufs, ownership passes to the queue) through the packet
 * path, as net_queue_rx does after its rx burst. For tests and for callers that receive by
 * other means. @return as net_queue_rx.
 */
unsigned net_queue_input(struct net_queue *q, struct rte_mbuf **pkts, unsigned n,
			 struct net_dgram *out, unsigned max);

/**
 * Copy up to @p cap payload bytes of @p d (across segments) into @p buf.
 * @return bytes copied (min(len, cap)).
 */
uint32_t net_dgram_copy(const struct net_dgram *d, void *buf, uint32_t cap);

/** Free a received datagram's mbuf. */
static inline void
net_dgram_free(struct net_dgram *d)
{
	rte_pktmbuf_free(d->m);
	d->m = NULL;
}

/**
 * Give back the mbufs of @p n received datagrams: the queue keeps them (up to
 * NET_SPARE_MBUFS, the rest are freed) and net_udp_alloc() hands them out again, still warm in
 * the cache and without a trip through the pool.
 */
void net_queue_recycle(struct net_queue *q, struct rte_mbuf **m, unsigned n);

/**
 * Start a UDP datagram: an mbuf (a recycled one, else from the interface's pool) with headroom
 * reserved for the
 * headers. The caller writes up to *room payload bytes at *payload (room is the smaller of the
 * mbuf's space and the MTU's UDP payload) and passes the mbuf to net_udp_send().
 * @return the mbuf; NULL when the pool is empty (counted as no_mbuf).
 */
struct rte_mbuf *net_udp_alloc(struct net_queue *q, uint8_t **payload, uint16_t *room);

/**
 * Finish a datagram begun by net_udp_alloc() with @p len payload bytes: headers (our MAC and
 * address as source, the next hop's MAC from the neighbour table, VLAN tag if configured),
 * checksums (offloaded or software), and add it to the TX batch (a full batch is sent first).
 * The mbuf is consumed in every case.
 * @return 0; -EHOSTUNREACH when the next hop is unknown (an ARP request was sent, at most one
 *         per next hop per 100 ms; counted as no_neighbour); -EINVAL when len exceeds the room;
 *         -ENOSPC when the mbuf lost its headroom (counted as no_mbuf).
 */
int net_udp_send(struct net_queue *q, struct rte_mbuf *m, uint16_t len, rte_be32_t dst_ip,
		 rte_be16_t dst_port, rte_be16_t src_port);

/** Send the TX batch now (one rte_eth_tx_burst; what the NIC refuses is freed as tx_full). */
void net_queue_flush(struct net_queue *q);

/**
 * Upkeep, called every loop iteration with the current TSC: sends a TX batch older than
 * NET_TX_DRAIN_US, frees fragments of expired reassemblies, and (queue 0, about once a second)
 * sends ARP requests for the neighbours we need that are missing or stale (the gateway).
 * @return frames sent or freed (0 when there was nothing to do).
 */
unsigned net_queue_timers(struct net_queue *q, uint64_t now_tsc);

/**
 * Whether frames wait in the TX batch or fragments in reassembly (the latter until the last
 * fragment kept is older than NET_FRAG_TIMEOUT_MS and net_queue_timers() ran).
 */
bool net_queue_busy(const struct net_queue *q);

/** The queue's counters (any thread, relaxed loads). */
const struct net_counters *net_queue_counters(const struct net_queue *q);

#endif /* NC_NET_QUEUE_H */
