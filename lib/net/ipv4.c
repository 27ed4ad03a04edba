/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 input (RFC 791/1122 checks we need): version, header length, total length against the
 * frame (Ethernet padding trimmed), header checksum (NIC verdict when offered), TTL, source
 * sanity, destination. Learns the source of valid packets from on-link hosts, hands
 * fragments to frag.c and the rest to ICMP, UDP or TCP.
 */
#include <netinet/in.h>

#include "net/cksum.h"
#include "net_private.h"

void
net_ipv4_input(struct net_queue *q, struct rte_mbuf *m, struct net_rx *rx)
{
	const struct net_iface *ifc = q->ifc;
	struct rte_ipv4_hdr *ip;
	uint16_t hlen, tlen;

	if (unlikely(m->data_len < sizeof(*ip))) {
		net_drop(q, m, NET_DROP_truncated);
		return;
	}
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	if (unlikely((ip->version_ihl >> 4) != 4)) {
		net_drop(q, m, NET_DROP_ip_version);
		return;
	}
	hlen = (uint16_t)((ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER);
	if (unlikely(hlen < sizeof(*ip))) {
		net_drop(q, m, NET_DROP_ip_header);
		return;
	}
	if (unlikely(m->data_len < hlen)) {
		net_drop(q, m, NET_DROP_truncated);
		return;
	}
	tlen = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(tlen < hlen)) {
		net_drop(q, m, NET_DROP_ip_header);
		return;
	}
	if (unlikely(tlen > m->pkt_len)) {
		net_drop(q, m, NET_DROP_truncated);
		return;
	}
	if (unlikely(!net_ipv4_cksum_ok(q, m, ip, hlen))) {
		net_drop(q, m, NET_DROP_ip_checksum);
		return;
	}
	if (unlikely(ip->time_to_live == 0)) {
		net_drop(q, m, NET_DROP_ip_ttl);
		return;
	}
	if (unlikely(!net_ipv4_source_ok(ifc, ip->src_addr))) {
		net_drop(q, m, NET_DROP_ip_source);
		return;
	}
	if (unlikely(ip->dst_addr != ifc->ip)) {
		net_drop(q, m, NET_DROP_not_for_us);
		return;
	}
	if (tlen < m->pkt_len && rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - tlen)) != 0) {
		/* Padding spread over segments: not something a NIC hands us. */
		net_drop(q, m, NET_DROP_ip_header);
		return;
	}
	if (unlikely(ip->fragment_offset & RTE_BE16(NET_IP_FRAG_BITS))) {
		m->l2_len = 0;
		m->l3_len = hlen;
		m = net_frag_input(q, m, ip);
		if (m == NULL)
			return;
		ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	}
	switch (ip->next_proto_id) {
	case IPPROTO_UDP:
		net_udp_input(q, m, ip, rx);
		break;
	case IPPROTO_TCP:
		net_tcp_input(q, m, ip, rx);
		break;
	case IPPROTO_ICMP:
		net_icmp_input(q, m, ip, rx);
		break;
	default:
		net_drop(q, m, NET_DROP_l4_unsupported);
		break;
	}
}

void
net_ipv4_reply_header(struct rte_ipv4_hdr *ip, uint16_t total_len)
{
	rte_be32_t peer = ip->src_addr;

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(total_len);
	ip->fragment_offset = 0;
	ip->time_to_live = NET_TTL;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = peer;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = net_cksum_ipv4(ip);
}
