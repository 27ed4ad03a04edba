/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet and 802.1Q: which frames are ours, and the L2 header of what we send.
 *
 * Accepted: unicast to our MAC (any ethertype we handle), broadcast only for ARP. With a VLAN
 * configured only that VID is accepted, whether the tag is in the frame or was stripped by the
 * NIC (RTE_MBUF_F_RX_VLAN_STRIPPED, m->vlan_tci); without one, untagged frames and VID-0
 * priority tags are accepted, other tags dropped (vlan).
 */
#include <errno.h>

#include "net_private.h"

#define VLAN_VID_MASK 0x0fff

void
net_eth_input(struct net_queue *q, struct rte_mbuf *m, struct net_rx *rx)
{
	const struct net_iface *ifc = q->ifc;
	const struct rte_ether_hdr *eh;
	uint16_t type, l2 = sizeof(struct rte_ether_hdr);
	bool tagged = false;
	uint16_t vid = 0;
	bool bcast;

	if (unlikely(m->data_len < sizeof(*eh))) {
		net_drop(q, m, NET_DROP_truncated);
		return;
	}
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	bcast = false;
	if (!net_mac_equal(&eh->dst_addr, &ifc->mac)) {
		if (!rte_is_broadcast_ether_addr(&eh->dst_addr)) {
			net_drop(q, m, NET_DROP_not_for_us);
			return;
		}
		bcast = true;
	}
	type = rte_be_to_cpu_16(eh->ether_type);
	if (type == RTE_ETHER_TYPE_VLAN) {
		const struct rte_vlan_hdr *vh;

		l2 += sizeof(*vh);
		if (unlikely(m->data_len < l2)) {
			net_drop(q, m, NET_DROP_truncated);
			return;
		}
		vh = (const struct rte_vlan_hdr *)(eh + 1);
		tagged = true;
		vid = rte_be_to_cpu_16(vh->vlan_tci) & VLAN_VID_MASK;
		type = rte_be_to_cpu_16(vh->eth_proto);
	} else if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
		tagged = true;
		vid = m->vlan_tci & VLAN_VID_MASK;
	}
	if (unlikely(ifc->vlan_id != 0 ? !tagged || vid != ifc->vlan_id : vid != 0)) {
		net_drop(q, m, NET_DROP_vlan);
		return;
	}
	if (unlikely(bcast && type != RTE_ETHER_TYPE_ARP)) {
		net_drop(q, m, NET_DROP_not_for_us);
		return;
	}
	rx->src_mac = eh->src_addr;
	rte_pktmbuf_adj(m, l2);
	if (likely(type == RTE_ETHER_TYPE_IPV4)) {
		net_ipv4_input(q, m, rx);
	} else if (type == RTE_ETHER_TYPE_ARP) {
		net_arp_input(q, m, rx);
	} else if (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) {
		net_drop(q, m, NET_DROP_vlan);
	} else {
		net_drop(q, m, NET_DROP_l3_unsupported);
	}
}

int
net_eth_prepend(struct net_queue *q, struct rte_mbuf *m, const struct rte_ether_addr *dst,
		uint16_t ethertype)
{
	if (unlikely(rte_pktmbuf_prepend(m, q->l2_len) == NULL))
		return -ENOSPC;
	net_eth_fill(q, m, dst, ethertype);
	return 0;
}
