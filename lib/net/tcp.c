/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP on the packet path, below the TCP layer: a received segment's header checked (data
 * offset at least 20 and within the IPv4 payload, checksum: the NIC's verdict or software over
 * the whole chain) and handed up as a net_dgram when delivery is on (else tcp_rst.c answers
 * it); a segment the TCP layer built gets its IPv4 header, checksums (offloaded where the NIC
 * does them) and Ethernet header, and joins the TX batch. A TSO frame (several segments'
 * payload for the NIC to cut) gets the offload metadata the NIC needs instead.
 */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_tcp.h>

#include "net/cksum.h"
#include "net_private.h"

void
net_queue_set_tcp(struct net_queue *q, bool deliver)
{
	q->tcp_deliver = deliver;
}

void
net_tcp_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip, struct net_rx *rx)
{
	uint16_t hlen = rte_ipv4_hdr_len(ip);
	uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - hlen);
	const struct rte_tcp_hdr *th;
	uint16_t doff;

	if (unlikely(len < sizeof(*th) || m->data_len < hlen + sizeof(*th))) {
		net_drop(q, m, NET_DROP_truncated);
		return;
	}
	th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, hlen);
	doff = (uint16_t)((th->data_off >> 4) * 4);
	if (unlikely(doff < sizeof(*th) || doff > len)) {
		net_drop(q, m, NET_DROP_tcp_header);
		return;
	}
	if (!q->tcp_deliver) {
		net_tcp_rst(q, m, ip, hlen, rx);
		return;
	}
	if (unlikely(!net_l4_cksum_ok(q, m, ip, hlen))) {
		net_drop(q, m, NET_DROP_tcp_header);
		return;
	}
	net_learn_sender(q, ip, rx);
	if (unlikely(rx->n >= rx->max)) {
		net_drop(q, m, NET_DROP_tcp_rx_full);
		return;
	}
	net_rx_deliver(rx, m, ip, hlen, len, th->src_port, th->dst_port, IPPROTO_TCP);
	NET_EVENT(&q->cnt, tcp_delivered, 1);
}

struct rte_mbuf *
net_tcp_alloc(struct net_queue *q)
{
	return net_tx_alloc(q, NET_TCP_HEADROOM);
}

/**
 * Make chain *@p mp one segment for a NIC that sends no chains: in place when the first
 * segment has the room, else copied into a fresh mbuf (the chain is then freed).
 * @return 0; -ENOSPC (tx_chain counted: too long for one mbuf; or no_mbuf). *mp stays owned
 *         by the caller on error.
 */
static int
tcp_linearize(struct net_queue *q, struct rte_mbuf **mp)
{
	struct rte_mbuf *m = *mp, *c;
	const void *p;
	uint8_t *dst;

	/* In place only into a buffer nobody else holds. */
	if (RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && rte_pktmbuf_linearize(m) == 0)
		return 0;
	c = net_tx_alloc(q, NET_TCP_HEADROOM);
	if (c == NULL)
		return -ENOSPC;
	if (m->pkt_len > rte_pktmbuf_tailroom(c)) {
		rte_pktmbuf_free(c);
		NET_DROP(&q->cnt, tx_chain);
		return -ENOSPC;
	}
	dst = (uint8_t *)rte_pktmbuf_append(c, (uint16_t)m->pkt_len);
	p = rte_pktmbuf_read(m, 0, m->pkt_len, dst);
	if (p != dst)
		memcpy(dst, p, m->pkt_len);
	rte_pktmbuf_free(m);
	*mp = c;
	return 0;
}

/**
 * The TCP checksum field of @p m (data at the IPv4 header @p ip; TCP at @p l4_off, @p l4_len
 * bytes to the end of the chain, field 0), as rte_ipv4_udptcp_cksum_mbuf() computes it.
 */
static uint16_t
tcp_cksum(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint16_t l4_off, uint16_t l4_len)
{
	uint16_t raw;
	uint32_t sum;

	if (m->nb_segs == 1)
		return (uint16_t)~net_cksum_fold(
			net_cksum_add(rte_pktmbuf_mtod_offset(m, const void *, l4_off), l4_len,
				      net_cksum_phdr(ip, l4_len)));
	/* Cannot fail: the range is the chain's own. */
	if (rte_raw_cksum_mbuf(m, l4_off, l4_len, &raw) != 0)
		return 0;
	sum = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/**
 * The wire segments of TSO frame @p m (TCP header of @p doff bytes first), or 0 when the
 * frame is not one the port's TSO takes: TSO off, no segment size, a segment or the frame
 * larger than the device cuts or IPv4 carries, more mbufs than the device takes.
 */
static uint32_t
tso_segments(const struct net_iface *ifc, const struct rte_mbuf *m, uint16_t doff)
{
	uint32_t payload = m->pkt_len - doff;

	/* max_segsz is for segments whose TCP header has no options */
	if (!ifc->offloads.tx_tcp_tso || m->tso_segsz == 0 ||
	    (uint32_t)m->tso_segsz + doff - sizeof(struct rte_tcp_hdr) > ifc->tso.max_segsz ||
	    payload > ifc->tso.max_payload ||
	    m->pkt_len + sizeof(struct rte_ipv4_hdr) > UINT16_MAX ||
	    m->nb_segs > (uint32_t)ifc->tso.max_segs + 1)
		return 0;
	return (payload + m->tso_segsz - 1) / m->tso_segsz;
}

/**
 * The checksums of @p m (IPv4 header @p ip, TCP header @p th, @p l4_len TCP bytes): offload
 * flags with the pseudo-header sum where the NIC fills them, else computed here. A TSO frame
 * (@p tso) gets the NIC's segmentation flags: it fills both checksums of every segment it
 * cuts, from the pseudo-header sum without the length.
 */
static void
tcp_tx_cksums(const struct net_iface *ifc, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
	      struct rte_tcp_hdr *th, uint32_t l4_len, bool tso)
{
	ip->hdr_checksum = 0;
	th->cksum = 0;
	if (tso) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		return;
	}
	if (ifc->offloads.tx_ip_cksum)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = net_cksum_ipv4(ip);
	if (ifc->offloads.tx_tcp_cksum) {
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
		th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		th->cksum = tcp_cksum(m, ip, sizeof(*ip), (uint16_t)l4_len);
	}
}

int
net_tcp_output(struct net_queue *q, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip)
{
	const struct net_iface *ifc = q->ifc;
	struct rte_ether_addr mac;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint32_t l4_len, segs = 1;
	uint16_t doff;
	bool tso;

	if (unlikely(m == NULL))
		return -EINVAL;
	l4_len = m->pkt_len;
	th = rte_pktmbuf_mtod(m, struct rte_tcp_hdr *);
	doff = m->data_len >= sizeof(*th) ? (uint16_t)((th->data_off >> 4) * 4) : 0;
	if (unlikely(doff < sizeof(*th) || doff > m->data_len)) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	/* A TSO frame whose payload fits one segment is sent as an ordinary segment. */
	tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0 && l4_len - doff > m->tso_segsz;
	if (tso)
		segs = tso_segments(ifc, m, doff);
	if (unlikely(segs == 0 || (!tso && l4_len + sizeof(*ip) > ifc->mtu))) {
		rte_pktmbuf_free(m);
		return -EMSGSIZE;
	}
	if (unlikely(m->nb_segs > 1 && !ifc->tx_multi_seg) && tcp_linearize(q, &m) != 0) {
		rte_pktmbuf_free(m);
		return -ENOSPC;
	}
	if (unlikely(net_tx_next_hop(q, dst_ip, &mac) != 0)) {
		net_drop(q, m, NET_DROP_no_neighbour);
		return -EHOSTUNREACH;
	}
	ip = (struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, sizeof(*ip));
	if (unlikely(ip == NULL)) {
		net_drop(q, m, NET_DROP_no_mbuf);
		return -ENOSPC;
	}
	th = (struct rte_tcp_hdr *)(ip + 1);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(l4_len + sizeof(*ip)));
	ip->packet_id = rte_cpu_to_be_16(q->ip_id);
	q->ip_id = (uint16_t)(q->ip_id + segs); /* the NIC numbers the segments it cuts */
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = NET_TTL;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = src_ip;
	ip->dst_addr = dst_ip;

	m->ol_flags &= NET_MBUF_KEEP_FLAGS;
	m->l3_len = sizeof(*ip);
	m->l4_len = doff;
	tcp_tx_cksums(ifc, m, ip, th, l4_len, tso);
	if (unlikely(net_eth_prepend(q, m, &mac, RTE_ETHER_TYPE_IPV4) != 0)) {
		net_drop(q, m, NET_DROP_no_mbuf);
		return -ENOSPC;
	}
	NET_EVENT(&q->cnt, tcp_segs_sent, segs);
	if (tso)
		NET_EVENT(&q->cnt, tcp_tso_frames, 1);
	net_tx_enqueue(q, m);
	return 0;
}
