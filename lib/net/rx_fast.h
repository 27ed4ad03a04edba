/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_RX_FAST_H
#define NC_NET_RX_FAST_H

/*
 * The receive path's shortcut for the frame that is nearly all of a cache's traffic: one
 * untagged Ethernet frame to our MAC holding an unfragmented IPv4 packet without options, a
 * UDP datagram to our memcached port. Its headers are read once, in one function, and it is
 * handed up as net_eth_input() -> net_ipv4_input() -> net_udp_input() would hand it (the same
 * checks, learning and counters); anything else, and anything that would be dropped, is left
 * untouched for that path, which says why. Queue worker thread only.
 */

#include "net_private.h"

/** The ether_type of an untagged IPv4 frame, as it lies in the frame. */
#define NET_RX_FAST_IPV4 RTE_BE16(RTE_ETHER_TYPE_IPV4)

/**
 * Take frame @p m (data at its Ethernet header) as a UDP datagram to our port when it is the
 * common case above and passes every check of the full path: then its L2 header is stripped,
 * its sender learned and the datagram added to @p rx. A frame with Ethernet padding is trimmed
 * as net_ipv4_input() trims it (one segment: its data_len is its pkt_len, which that reads).
 * @return true when taken (the mbuf is @p rx's); false when @p m is untouched, for
 *         net_eth_input().
 */
static inline bool
net_rx_fast_udp(struct net_queue *q, struct rte_mbuf *m, struct net_rx *rx)
{
	const uint16_t l2 = sizeof(struct rte_ether_hdr), hlen = sizeof(struct rte_ipv4_hdr);
	const struct net_iface *ifc = q->ifc;
	const struct rte_ether_hdr *eh;
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *uh;
	uint16_t tlen, len;

	if (m->nb_segs != 1 || m->data_len < l2 + hlen + sizeof(*uh) || ifc->vlan_id != 0 ||
	    (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0 || rx->n >= rx->max)
		return false;
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	ip = (const struct rte_ipv4_hdr *)(eh + 1);
	uh = (const struct rte_udp_hdr *)(ip + 1);
	tlen = rte_be_to_cpu_16(ip->total_length);
	len = (uint16_t)(tlen - hlen);
	if (eh->ether_type != NET_RX_FAST_IPV4 ||
	    !net_mac_equal(&eh->dst_addr, &ifc->mac) ||
	    ip->version_ihl != RTE_IPV4_VHL_DEF || ip->next_proto_id != IPPROTO_UDP ||
	    (ip->fragment_offset & RTE_BE16(NET_IP_FRAG_BITS)) != 0 || ip->time_to_live == 0 ||
	    ip->dst_addr != ifc->ip || tlen < hlen + sizeof(*uh) || tlen > m->data_len - l2 ||
	    rte_be_to_cpu_16(uh->dgram_len) != len || ifc->udp_port == 0 ||
	    uh->dst_port != rte_cpu_to_be_16(ifc->udp_port) ||
	    !net_rx_source_ok(q, ip->src_addr) || !net_ipv4_cksum_ok(q, m, ip, hlen) ||
	    (uh->dgram_cksum != 0 && !net_l4_cksum_flat_ok(q, m, ip, uh, len)))
		return false;
	rx->src_mac = eh->src_addr;
	/* The L2 header stripped (rte_pktmbuf_adj) and any padding after the packet cut. */
	m->data_off = (uint16_t)(m->data_off + l2);
	m->data_len = tlen;
	m->pkt_len = tlen;
	net_learn_sender(q, ip, rx);
	net_udp_deliver(q, m, ip, hlen, uh, len, rx);
	return true;
}

#endif /* NC_NET_RX_FAST_H */
