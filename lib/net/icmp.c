/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP: echo requests (checksum verified first) answered with an echo reply built in place
 * in the request's mbuf; everything else dropped (icmp_type). A reassembled request is
 * answered only when the reply fits the MTU unfragmented (linearized first).
 */
#include <string.h>

#include <rte_icmp.h>

#include "net_private.h"

/** Move the first 20 bytes of the IPv4 header @p hlen bytes long so it ends where it did. */
static inline struct rte_ipv4_hdr *
icmp_drop_ip_options(struct rte_mbuf *m, struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	struct rte_ipv4_hdr *nip;

	if (likely(hlen == sizeof(*ip)))
		return ip;
	nip = (struct rte_ipv4_hdr *)rte_pktmbuf_adj(m, (uint16_t)(hlen - sizeof(*ip)));
	memmove(nip, ip, sizeof(*ip));
	return nip;
}

void
net_icmp_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip, struct net_rx *rx)
{
	uint16_t hlen = rte_ipv4_hdr_len(ip);
	uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - hlen);
	struct rte_icmp_hdr *ih;
	uint16_t sum;
	uint32_t c;

	if (unlikely(len < sizeof(*ih) || m->data_len < hlen + sizeof(*ih))) {
		net_drop(q, m, NET_DROP_truncated);
		return;
	}
	if (unlikely(rte_raw_cksum_mbuf(m, hlen, len, &sum) != 0 || sum != 0xffff)) {
		net_drop(q, m, NET_DROP_icmp_checksum);
		return;
	}
	net_learn_sender(q, ip, rx);
	ih = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, hlen);
	if (ih->icmp_type != RTE_IP_ICMP_ECHO_REQUEST) {
		net_drop(q, m, NET_DROP_icmp_type);
		return;
	}
	if (unlikely(sizeof(*ip) + len > q->ifc->mtu)) {
		net_drop(q, m, NET_DROP_icmp_too_big);
		return;
	}
	if (unlikely(m->nb_segs > 1)) {
		if (rte_pktmbuf_linearize(m) != 0) {
			net_drop(q, m, NET_DROP_icmp_too_big);
			return;
		}
		ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
		ih = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, hlen);
	}
	/* Type 8 -> 0: the checksum changes by the same amount (RFC 1624, eqn. 3). */
	c = (uint16_t)~ih->icmp_cksum;
	c += (uint16_t)~rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REQUEST << 8 | ih->icmp_code);
	c += rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REPLY << 8 | ih->icmp_code);
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	ih->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ih->icmp_cksum = (uint16_t)~c;

	ip = icmp_drop_ip_options(m, ip, hlen);
	net_ipv4_reply_header(ip, (uint16_t)(sizeof(*ip) + len));
	NET_EVENT(&q->cnt, icmp_echo_answered, 1);
	net_tx_reply(q, m, &rx->src_mac, RTE_ETHER_TYPE_IPV4);
}
