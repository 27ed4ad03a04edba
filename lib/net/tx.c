/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The send side UDP and TCP share: mbufs for the frames we build (recycled spares first), the
 * next hop's MAC (on-link or the gateway; an ARP request when unknown), and the TX batch: up
 * to NET_BURST finished frames, sent with one rte_eth_tx_burst when full, on
 * net_queue_flush(), or by net_queue_timers() once the oldest waited NET_TX_DRAIN_US (through
 * the TX faults when they are on; with TSO on, through the driver's tx_prepare). What the NIC
 * refuses after one retry is freed (tx_full). The per-frame steps (net_tx_take,
 * net_tx_next_hop, net_tx_enqueue) are inline in net_private.h.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "net_private.h"

struct rte_mbuf *
net_tx_alloc(struct net_queue *q, uint16_t headroom)
{
	struct rte_mbuf *m = net_tx_take(q, headroom);

	if (unlikely(m == NULL))
		NET_DROP(&q->cnt, no_mbuf);
	return m;
}

/**
 * With TSO on, let the driver check and fix up the offload metadata of @p n frames at
 * @p pkts (rte_eth_tx_prepare); a frame it refuses is freed (tx_prepare) and the ones after
 * it move up. @return frames left at @p pkts.
 */
static uint16_t
tx_prepare(struct net_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t ok = 0;

	if (!q->ifc->offloads.tx_tcp_tso)
		return n;
	while (ok < n) {
		ok += rte_eth_tx_prepare(q->port_id, q->queue_id, pkts + ok, (uint16_t)(n - ok));
		if (ok == n)
			break;
		net_drop(q, pkts[ok], NET_DROP_tx_prepare);
		memmove(pkts + ok, pkts + ok + 1, (size_t)(n - ok - 1) * sizeof(*pkts));
		n--;
	}
	return n;
}

unsigned
net_tx_burst(struct net_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent, more;
	uint64_t t0, t1;
	uint64_t bytes = 0;

	n = tx_prepare(q, pkts, n);
	if (n == 0)
		return 0;
	/* Lengths first: the driver may free what it sent before we look again. */
	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	t0 = rte_rdtsc();
	sent = rte_eth_tx_burst(q->port_id, q->queue_id, pkts, n);
	if (unlikely(sent < n)) {
		more = rte_eth_tx_burst(q->port_id, q->queue_id, pkts + sent, n - sent);
		sent += more;
	}
	t1 = rte_rdtsc();
	NET_EVENT(&q->cnt, driver_cycles, t1 - t0);
	if (unlikely(sent < n)) {
		for (uint16_t i = sent; i < n; i++) {
			bytes -= pkts[i]->pkt_len;
			rte_pktmbuf_free(pkts[i]);
		}
		NET_COUNT(&q->cnt, drop, NET_DROP_tx_full, n - sent);
	}
	NET_EVENT(&q->cnt, tx_frames, sent);
	NET_EVENT(&q->cnt, tx_bytes, bytes);
	return sent;
}

unsigned
net_tx_flush(struct net_queue *q)
{
	uint16_t n = q->tx_n;

	if (n == 0)
		return 0;
	q->tx_n = 0;
	if (unlikely(q->fault != NULL))
		return net_fault_tx(q, q->tx, n);
	return net_tx_burst(q, q->tx, n);
}

void
net_tx_reply(struct net_queue *q, struct rte_mbuf *m, const struct rte_ether_addr *dst,
	     uint16_t ethertype)
{
	m->ol_flags &= NET_MBUF_KEEP_FLAGS;
	if (unlikely(net_eth_prepend(q, m, dst, ethertype) < 0)) {
		net_drop(q, m, NET_DROP_no_mbuf);
		return;
	}
	net_tx_enqueue(q, m);
}

void
net_queue_flush(struct net_queue *q)
{
	net_tx_flush(q);
}
