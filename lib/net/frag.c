/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 reassembly with rte_ip_frag: one table per queue (NET_FRAG_FLOWS flows in flight, at
 * most RTE_LIBRTE_IP_FRAG_MAX_FRAG fragments each, NET_FRAG_TIMEOUT_MS to complete). What the
 * library gives up (overlaps, table full, too many fragments, timeouts) goes to the queue's
 * death row, which net_frag_reap() frees and counts as frag_dropped after every burst.
 *
 * We check before the library does: a fragment carries data, every fragment but the last a
 * multiple of 8 bytes, and the datagram fits 65535 bytes.
 */
/* rte_ip_frag_table_del_expired_entries() is still experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API 1

#include <errno.h>

#include "net_private.h"

/* Hash buckets x ways: twice the flows, so collisions rarely refuse a flow. */
#define FRAG_WAYS    4
#define FRAG_BUCKETS (NET_FRAG_FLOWS * 2 / FRAG_WAYS)

int
net_frag_setup(struct net_queue *q, int socket)
{
	q->frag_cycles = q->hz * NET_FRAG_TIMEOUT_MS / 1000;
	q->frag = rte_ip_frag_table_create(FRAG_BUCKETS, FRAG_WAYS, NET_FRAG_FLOWS, q->frag_cycles,
					   socket);
	return q->frag == NULL ? -ENOMEM : 0;
}

void
net_frag_teardown(struct net_queue *q)
{
	if (q->frag == NULL)
		return;
	/* Everything still waiting expires "now + forever". */
	rte_ip_frag_table_del_expired_entries(q->frag, &q->dr, UINT64_MAX);
	rte_ip_frag_free_death_row(&q->dr, 0);
	rte_ip_frag_table_destroy(q->frag);
	q->frag = NULL;
}

struct rte_mbuf *
net_frag_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
	uint32_t off = (uint32_t)(fo & RTE_IPV4_HDR_OFFSET_MASK) * RTE_IPV4_HDR_OFFSET_UNITS;
	uint32_t plen = m->pkt_len - m->l3_len;
	struct rte_mbuf *whole;

	NET_EVENT(&q->cnt, ip_fragments, 1);
	if (unlikely(plen == 0 || ((fo & RTE_IPV4_HDR_MF_FLAG) && (plen & 7) != 0) ||
		     off + plen + m->l3_len > UINT16_MAX)) {
		net_drop(q, m, NET_DROP_frag_dropped);
		return NULL;
	}
	whole = rte_ipv4_frag_reassemble_packet(q->frag, &q->dr, m, q->now_tsc, ip);
	if (whole == NULL) {
		q->frag_last_tsc = q->now_tsc;
		q->frag_pending = true;
		return NULL;
	}
	NET_EVENT(&q->cnt, ip_reassembled, 1);
	return whole;
}

unsigned
net_frag_reap(struct net_queue *q)
{
	unsigned n = q->dr.cnt;

	if (n == 0)
		return 0;
	NET_COUNT(&q->cnt, drop, NET_DROP_frag_dropped, n);
	rte_ip_frag_free_death_row(&q->dr, 0);
	return n;
}

unsigned
net_frag_expire(struct net_queue *q, uint64_t now_tsc)
{
	unsigned freed = 0, n;

	if (!q->frag_pending)
		return 0;
	/* The library stops when the death row is nearly full: empty it and go on. */
	do {
		rte_ip_frag_table_del_expired_entries(q->frag, &q->dr, now_tsc);
		n = net_frag_reap(q);
		freed += n;
	} while (n != 0);
	if ((int64_t)(now_tsc - q->frag_last_tsc) > (int64_t)q->frag_cycles)
		q->frag_pending = false;
	return freed;
}

bool
net_frag_busy(const struct net_queue *q)
{
	return q->frag_pending;
}
