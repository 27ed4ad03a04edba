/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One queue pair's packet path: creation, the receive loop over a burst (prefetching frames
 * ahead of the one being classified, the common UDP datagram taken by rx_fast.h's shortcut;
 * RX faults first when they are on), and the periodic upkeep (TX drain, reassembly timeouts,
 * frames held by fault injection, our ARP announcements and the gateway's refresh on queue 0).
 */
#include <errno.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "net_private.h"
#include "rx_fast.h"

/** Frames ahead of the current one whose first cache line is prefetched. */
#define RX_PREFETCH 3

/* Whether this CPU has PREFETCHW (CPUID 0x80000001, ECX bit 8; AMD's since K8, Intel's since
 * Broadwell). */
static bool
cpu_has_prefetchw(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;

	return __get_cpuid(0x80000001, &a, &b, &c, &d) != 0 && (c & (1u << 8)) != 0;
#else
	return false;
#endif
}

struct net_queue *
net_queue_create(const struct net_iface *ifc, uint16_t queue_id, int socket, int *err)
{
	struct net_queue *q;
	int rc;

	if (ifc == NULL || ifc->pool == NULL || ifc->neigh == NULL || queue_id >= ifc->nb_queues ||
	    ifc->mtu < 68) {
		*err = -EINVAL;
		return NULL;
	}
	q = rte_zmalloc_socket("net_queue", sizeof(*q), RTE_CACHE_LINE_SIZE, socket);
	if (q == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	q->ifc = ifc;
	q->port_id = ifc->port_id;
	q->queue_id = queue_id;
	q->socket = socket;
	q->rx_burst = NET_BURST;
	q->l2_len = sizeof(struct rte_ether_hdr) +
		    (ifc->vlan_id != 0 ? sizeof(struct rte_vlan_hdr) : 0);
	q->udp_data_off = net_udp_data_off(q->l2_len);
	net_udp_tmpl_init(q);
	q->prefetchw = cpu_has_prefetchw();
	q->hz = rte_get_tsc_hz();
	q->drain_cycles = q->hz / 1000000 * NET_TX_DRAIN_US;
	q->arp_gap_cycles = q->hz / 1000 * NET_ARP_GAP_MS;
	q->ip_id = (uint16_t)(rte_rdtsc() ^ ((uint32_t)queue_id << 12));
	q->now_tsc = rte_rdtsc();
	q->now_s = net_seconds(q, q->now_tsc);
	q->gw_next_tsc = q->now_tsc;
	q->announce_left = NET_ARP_ANNOUNCE_NUM;
	q->announce_next_tsc = q->now_tsc;
	if (net_frag_setup(q, socket) != 0) {
		rte_free(q);
		*err = -ENOMEM;
		return NULL;
	}
	if (net_fault_active(&ifc->fault)) {
		rc = net_queue_set_fault(q, &ifc->fault);
		if (rc != 0) {
			net_queue_destroy(&q);
			*err = rc;
			return NULL;
		}
	}
	*err = 0;
	return q;
}

void
net_queue_recycle(struct net_queue *q, struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *s = m[i];

		/* Only a lone segment of our pool that nobody else holds is reused as it is. */
		if (q->nspare < NET_SPARE_MBUFS && s->pool == q->ifc->pool && s->nb_segs == 1 &&
		    (s = rte_pktmbuf_prefree_seg(s)) != NULL)
			q->spare[q->nspare++] = s;
		else if (s != NULL)
			rte_pktmbuf_free(s);
	}
}

void
net_queue_prefetch_replies(struct net_queue *q, unsigned n)
{
	/* net_tx_take() hands out the spares last in, first out; net_udp_try_alloc() the rest. */
	for (unsigned i = 0; i < n && i < q->nspare && i < NET_REPLY_AHEAD; i++)
		net_prefetch_reply_frame(q, q->spare[q->nspare - 1 - i]);
}

void
net_queue_destroy(struct net_queue **qp)
{
	struct net_queue *q;

	if (qp == NULL || *qp == NULL)
		return;
	q = *qp;
	for (uint16_t i = 0; i < q->tx_n; i++)
		rte_pktmbuf_free(q->tx[i]);
	q->tx_n = 0;
	if (q->nspare > 0)
		rte_mempool_put_bulk(q->ifc->pool, (void **)q->spare, q->nspare);
	q->nspare = 0;
	net_fault_teardown(q);
	net_frag_teardown(q);
	rte_free(q);
	*qp = NULL;
}

/** Run @p n received frames through the packet path; @p now is the TSC of their arrival. */
static unsigned
queue_input(struct net_queue *q, struct rte_mbuf **pkts, unsigned n, struct net_dgram *out,
	    unsigned max, uint64_t now)
{
	struct net_rx rx = {.out = out, .max = max, .n = 0};
	uint64_t bytes = 0;
	unsigned i;

	q->now_tsc = now;
	q->now_s = net_seconds(q, now);
	for (i = 0; i < n && i < RX_PREFETCH; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		if (i + RX_PREFETCH < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + RX_PREFETCH], void *));
		/* Its second line (a request's key, mostly) is read once the burst is handed up. */
		if (pkts[i]->data_len > RTE_CACHE_LINE_SIZE)
			rte_prefetch0(
				rte_pktmbuf_mtod_offset(pkts[i], char *, RTE_CACHE_LINE_SIZE));
		bytes += pkts[i]->pkt_len;
		if (!net_rx_fast_udp(q, pkts[i], &rx))
			net_eth_input(q, pkts[i], &rx);
	}
	NET_EVENT(&q->cnt, rx_frames, n);
	NET_EVENT(&q->cnt, rx_bytes, bytes);
	return rx.n;
}

unsigned
net_queue_input(struct net_queue *q, struct rte_mbuf **pkts, unsigned n, struct net_dgram *out,
		unsigned max)
{
	return queue_input(q, pkts, n, out, max, rte_rdtsc());
}

/* (Never inlined, LTO or not: one call a burst, and scripts/callgrind-memif.sh counts it.) */
__attribute__((noinline)) unsigned
net_queue_rx(struct net_queue *q, struct net_dgram *out, unsigned max)
{
	/* With faults on, rx_burst leaves room for what they add (NET_FAULT_OUT_MAX). */
	struct rte_mbuf *pkts[NET_BURST];
	uint64_t t0 = rte_rdtsc(), t1;
	unsigned n = rte_eth_rx_burst(q->port_id, q->queue_id, pkts, q->rx_burst);

	t1 = rte_rdtsc();
	NET_EVENT(&q->cnt, driver_cycles, t1 - t0);
	if (unlikely(q->fault != NULL))
		n = net_fault_rx(q, pkts, n, t1);
	if (n == 0)
		return 0;
	NET_EVENT(&q->cnt, rx_bursts, 1);
	return queue_input(q, pkts, n, out, max, t1);
}

/** Whether the port's link is up (a frame sent while it is down is lost: tx_full). */
static bool
link_up(const struct net_queue *q)
{
	struct rte_eth_link link;

	return rte_eth_link_get_nowait(q->port_id, &link) == 0 &&
	       link.link_status == RTE_ETH_LINK_UP;
}

unsigned
net_queue_timers(struct net_queue *q, uint64_t now_tsc)
{
	const struct net_iface *ifc = q->ifc;
	unsigned done = 0;

	if (q->tx_n != 0 && (int64_t)(now_tsc - q->tx_first_tsc) >= (int64_t)q->drain_cycles)
		done += net_tx_flush(q);
	done += net_frag_expire(q, now_tsc);
	if (unlikely(q->fault != NULL))
		done += net_fault_timers(q, now_tsc);
	if (q->queue_id != 0)
		return done;
	if (q->announce_left > 0 && (int64_t)(now_tsc - q->announce_next_tsc) >= 0 && link_up(q) &&
	    net_arp_announce(q) == 0) {
		q->announce_left--;
		q->announce_next_tsc = now_tsc + q->hz * NET_ARP_ANNOUNCE_INTERVAL_S;
	}
	if (ifc->gateway != 0 && (int64_t)(now_tsc - q->gw_next_tsc) >= 0) {
		struct rte_ether_addr mac;
		uint64_t age;

		q->gw_next_tsc = now_tsc + q->hz;
		if (!net_neigh_lookup(ifc->neigh, ifc->gateway, &mac, net_seconds(q, now_tsc),
				      &age) ||
		    age >= NET_NEIGH_STALE_S)
			net_arp_solicit(q, ifc->gateway, true);
	}
	return done;
}

bool
net_queue_busy(const struct net_queue *q)
{
	return q->tx_n != 0 || net_frag_busy(q) || (q->fault != NULL && net_fault_busy(q));
}

const struct net_counters *
net_queue_counters(const struct net_queue *q)
{
	return &q->cnt;
}
