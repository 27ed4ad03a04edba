/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP delivery off (no TCP layer above the queue): every segment to our address that does not
 * carry RST is answered as a closed port would (RFC 9293 section 3.10.7.1), the reply built in
 * place:
 *   ACK set:  <SEQ=SEG.ACK><CTL=RST>
 *   else:     <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>   (SYN and FIN count in SEG.LEN)
 * Segments with RST are dropped (tcp_ignored); a wrong checksum is tcp_header (tcp.c checked
 * the data offset).
 */
#include <string.h>

#include <netinet/in.h>
#include <rte_tcp.h>

#include "net_private.h"

void
net_tcp_rst(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip, uint16_t hlen,
	    struct net_rx *rx)
{
	uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - hlen);
	struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, hlen);
	uint16_t doff = (uint16_t)((th->data_off >> 4) * 4);
	struct rte_ipv4_hdr *nip;
	uint16_t sport, dport;
	uint32_t seg_len, seq, ack;
	uint8_t flags;

	flags = th->tcp_flags;
	if (flags & RTE_TCP_RST_FLAG) {
		net_drop(q, m, NET_DROP_tcp_ignored);
		return;
	}
	if (unlikely(!net_l4_cksum_ok(q, m, ip, hlen))) {
		net_drop(q, m, NET_DROP_tcp_header);
		return;
	}
	seg_len = (uint32_t)(len - doff) + !!(flags & RTE_TCP_SYN_FLAG) +
		  !!(flags & RTE_TCP_FIN_FLAG);
	seq = rte_be_to_cpu_32(th->sent_seq);
	ack = rte_be_to_cpu_32(th->recv_ack);
	sport = th->src_port;
	dport = th->dst_port;

	/* The reply: 20-byte IPv4 header right before the 20-byte TCP header, nothing after. */
	nip = ip;
	if (hlen != sizeof(*ip)) {
		nip = (struct rte_ipv4_hdr *)rte_pktmbuf_adj(m, (uint16_t)(hlen - sizeof(*ip)));
		memmove(nip, ip, sizeof(*ip));
	}
	net_mbuf_cut(m, sizeof(*nip) + sizeof(*th));
	th = (struct rte_tcp_hdr *)(nip + 1);
	th->src_port = dport;
	th->dst_port = sport;
	if (flags & RTE_TCP_ACK_FLAG) {
		th->sent_seq = rte_cpu_to_be_32(ack);
		th->recv_ack = 0;
		th->tcp_flags = RTE_TCP_RST_FLAG;
	} else {
		th->sent_seq = 0;
		th->recv_ack = rte_cpu_to_be_32(seq + seg_len);
		th->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	th->data_off = (sizeof(*th) / 4) << 4;
	th->rx_win = 0;
	th->tcp_urp = 0;
	th->cksum = 0;
	nip->next_proto_id = IPPROTO_TCP;
	net_ipv4_reply_header(nip, sizeof(*nip) + sizeof(*th));
	th->cksum = rte_ipv4_udptcp_cksum(nip, th);
	NET_EVENT(&q->cnt, tcp_rst_sent, 1);
	net_tx_reply(q, m, &rx->src_mac, RTE_ETHER_TYPE_IPV4);
}
