/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP (RFC 826) for our one address: requests for it answered in place, senders of requests
 * and replies that target us learned, gratuitous ARP (sender = target address) only refreshing
 * an entry we already have; requests sent for next hops we need (rate-limited per
 * destination) and the gratuitous announcement of our own address.
 */
#include <errno.h>

#include <rte_arp.h>
#include <rte_cycles.h>

#include "net_private.h"

/** Whether @p sip with hardware address @p sha may go into the neighbour table. */
static inline bool
arp_sender_ok(const struct net_iface *ifc, rte_be32_t sip, const struct rte_ether_addr *sha)
{
	return sip != 0 && sip != ifc->ip && net_iface_on_link(ifc, sip) &&
	       (sip | ifc->netmask) != RTE_BE32(0xffffffff) && rte_is_unicast_ether_addr(sha) &&
	       !rte_is_zero_ether_addr(sha);
}

/** Learn @p sip -> @p sha (counted when the table changed). */
static inline void
arp_learn(struct net_queue *q, rte_be32_t sip, const struct rte_ether_addr *sha)
{
	if (net_neigh_learn(q->ifc->neigh, sip, sha, q->now_s))
		NET_EVENT(&q->cnt, arp_learned, 1);
	q->peer.ip = 0; /* the table is the truth again */
}

void
net_arp_input(struct net_queue *q, struct rte_mbuf *m, struct net_rx *rx)
{
	const struct net_iface *ifc = q->ifc;
	struct rte_arp_hdr *ah;
	struct rte_arp_ipv4 *ad;
	rte_be32_t sip, tip;
	uint16_t op;

	(void)rx;
	if (unlikely(m->data_len < sizeof(*ah))) {
		net_drop(q, m, NET_DROP_truncated);
		return;
	}
	ah = rte_pktmbuf_mtod(m, struct rte_arp_hdr *);
	ad = &ah->arp_data;
	op = rte_be_to_cpu_16(ah->arp_opcode);
	if (ah->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    ah->arp_hlen != RTE_ETHER_ADDR_LEN || ah->arp_plen != sizeof(rte_be32_t) ||
	    (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)) {
		net_drop(q, m, NET_DROP_arp_bad);
		return;
	}
	sip = ad->arp_sip;
	tip = ad->arp_tip;
	if (sip == tip) {
		/* Gratuitous: refresh only a neighbour we already know. */
		struct rte_ether_addr old;

		if (arp_sender_ok(ifc, sip, &ad->arp_sha) &&
		    net_neigh_lookup(ifc->neigh, sip, &old, 0, NULL)) {
			arp_learn(q, sip, &ad->arp_sha);
			rte_pktmbuf_free(m);
		} else {
			net_drop(q, m, NET_DROP_arp_ignored);
		}
		return;
	}
	if (tip != ifc->ip) {
		net_drop(q, m, NET_DROP_arp_ignored);
		return;
	}
	if (arp_sender_ok(ifc, sip, &ad->arp_sha))
		arp_learn(q, sip, &ad->arp_sha);
	if (op != RTE_ARP_OP_REQUEST) {
		rte_pktmbuf_free(m);
		return;
	}
	/* The reply, in place: the asker becomes the target. */
	ah->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	ad->arp_tha = ad->arp_sha;
	ad->arp_tip = sip;
	ad->arp_sha = ifc->mac;
	ad->arp_sip = ifc->ip;
	net_mbuf_cut(m, sizeof(*ah));
	NET_EVENT(&q->cnt, arp_answered, 1);
	net_tx_reply(q, m, &ad->arp_tha, RTE_ETHER_TYPE_ARP);
}

/** Build and batch an ARP request from us for @p tip. @return 0 or -ENOBUFS. */
static int
arp_send_request(struct net_queue *q, rte_be32_t tip)
{
	const struct net_iface *ifc = q->ifc;
	struct rte_ether_addr bcast;
	struct rte_arp_hdr *ah;
	struct rte_mbuf *m;

	m = rte_pktmbuf_alloc(ifc->pool);
	if (unlikely(m == NULL)) {
		NET_DROP(&q->cnt, no_mbuf);
		return -ENOBUFS;
	}
	ah = (struct rte_arp_hdr *)rte_pktmbuf_append(m, sizeof(*ah));
	if (unlikely(ah == NULL)) {
		rte_pktmbuf_free(m);
		NET_DROP(&q->cnt, no_mbuf);
		return -ENOBUFS;
	}
	ah->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = RTE_ETHER_ADDR_LEN;
	ah->arp_plen = sizeof(rte_be32_t);
	ah->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	ah->arp_data.arp_sha = ifc->mac;
	ah->arp_data.arp_sip = ifc->ip;
	memset(&ah->arp_data.arp_tha, 0, sizeof(ah->arp_data.arp_tha));
	ah->arp_data.arp_tip = tip;
	memset(&bcast, 0xff, sizeof(bcast));
	NET_EVENT(&q->cnt, arp_requests_sent, 1);
	net_tx_reply(q, m, &bcast, RTE_ETHER_TYPE_ARP);
	return 0;
}

int
net_arp_solicit(struct net_queue *q, rte_be32_t ip, bool force)
{
	struct net_arp_recent *r = &q->arp_recent[(ip * 2654435761u) >> 28];
	uint64_t now = rte_rdtsc();

	RTE_BUILD_BUG_ON(NET_ARP_RECENT != 16);
	if (!force && r->ip == ip && now - r->tsc < q->arp_gap_cycles)
		return 0;
	r->ip = ip;
	r->tsc = now;
	return arp_send_request(q, ip);
}

int
net_arp_announce(struct net_queue *q)
{
	return arp_send_request(q, q->ifc->ip);
}
