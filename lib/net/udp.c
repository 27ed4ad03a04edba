/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UDP: datagrams to our port checked (length against IPv4, checksum: 0 = none, else the NIC's
 * verdict or software over the whole chain) and handed up as net_dgram; replies built in an
 * mbuf's headroom with DF set, checksums offloaded where the NIC does them, and batched.
 */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_udp.h>

#include "net/cksum.h"
#include "net_private.h"

bool
net_l4_cksum_ok(const struct net_queue *q, const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
		uint16_t l4_off)
{
	uint32_t len = m->pkt_len - l4_off;
	uint16_t raw;
	uint32_t sum;

	/* A chain (reassembled, or scattered by the NIC): software over every segment. */
	if (m->nb_segs == 1 && (uint32_t)l4_off + len <= m->data_len)
		return net_l4_cksum_flat_ok(q, m, ip, rte_pktmbuf_mtod_offset(m, const void *, l4_off),
					    (uint16_t)len);
	if (rte_raw_cksum_mbuf(m, l4_off, len, &raw) != 0)
		return false;
	sum = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

void
net_udp_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip, struct net_rx *rx)
{
	const struct net_iface *ifc = q->ifc;
	uint16_t hlen = rte_ipv4_hdr_len(ip);
	uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - hlen);
	const struct rte_udp_hdr *uh;

	if (unlikely(len < sizeof(*uh) || m->data_len < hlen + sizeof(*uh))) {
		net_drop(q, m, NET_DROP_truncated);
		return;
	}
	uh = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, hlen);
	if (unlikely(rte_be_to_cpu_16(uh->dgram_len) != len)) {
		net_drop(q, m, NET_DROP_udp_length);
		return;
	}
	if (uh->dgram_cksum != 0 && unlikely(!net_l4_cksum_ok(q, m, ip, hlen))) {
		net_drop(q, m, NET_DROP_udp_checksum);
		return;
	}
	net_learn_sender(q, ip, rx);
	if (unlikely(ifc->udp_port == 0 || uh->dst_port != rte_cpu_to_be_16(ifc->udp_port) ||
		     rx->n >= rx->max)) {
		net_drop(q, m, NET_DROP_udp_port);
		return;
	}
	net_udp_deliver(q, m, ip, hlen, uh, len, rx);
}

uint32_t
net_dgram_copy(const struct net_dgram *d, void *buf, uint32_t cap)
{
	uint32_t n = d->len < cap ? d->len : cap;
	const void *p;

	if (n == 0)
		return 0;
	if (d->payload != NULL) {
		memcpy(buf, d->payload, n);
		return n;
	}
	p = rte_pktmbuf_read(d->m, d->off, n, buf);
	if (p != buf && p != NULL)
		memcpy(buf, p, n);
	return p != NULL ? n : 0;
}

/** Payload room of @p m (a fresh mbuf from net_udp_alloc, nothing appended yet). */
static inline uint16_t
udp_room(const struct net_queue *q, const struct rte_mbuf *m)
{
	uint16_t tail = rte_pktmbuf_tailroom(m);
	uint16_t max = net_iface_udp_payload_max(q->ifc);

	return tail < max ? tail : max;
}

struct rte_mbuf *
net_udp_try_alloc(struct net_queue *q, uint8_t **payload, uint16_t *room)
{
	struct rte_mbuf *m = net_tx_take(q, net_udp_hlen(q->l2_len));

	if (unlikely(m == NULL))
		return NULL;
	if (q->nspare >= NET_REPLY_AHEAD) /* (net_queue_prefetch_replies() took the first ones) */
		net_prefetch_reply_frame(q, q->spare[q->nspare - NET_REPLY_AHEAD]);
	if (m->data_off >= q->udp_data_off) /* (the frame moves up to a cache line) */
		m->data_off = q->udp_data_off;
	*payload = rte_pktmbuf_mtod(m, uint8_t *);
	*room = udp_room(q, m);
	return m;
}

struct rte_mbuf *
net_udp_alloc(struct net_queue *q, uint8_t **payload, uint16_t *room)
{
	struct rte_mbuf *m = net_udp_try_alloc(q, payload, room);

	if (unlikely(m == NULL))
		NET_DROP(&q->cnt, no_mbuf);
	return m;
}

void
net_udp_tmpl_init(struct net_queue *q)
{
	const struct rte_ether_addr none = {{0}};
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(q->udp_tmpl + q->l2_len);

	/* (net_udp_send() copies it as 32 bytes and 8 ending at the IPv4 header's end.) */
	RTE_BUILD_BUG_ON(sizeof(q->udp_tmpl) <
			 sizeof(struct rte_ether_hdr) + sizeof(struct rte_vlan_hdr) + sizeof(*ip));
	RTE_BUILD_BUG_ON(sizeof(struct rte_ether_hdr) + sizeof(*ip) < 32);
	memset(q->udp_tmpl, 0, sizeof(q->udp_tmpl));
	net_eth_write(q, q->udp_tmpl, &none, RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = NET_TTL;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = q->ifc->ip;
	/*
	 * Folded: the fields net_udp_send() adds to it must not carry out of 64 bits (unfolded,
	 * the header from 255.255.191.255 sums to within 2^32 of 2^64 on a little-endian CPU).
	 */
	q->udp_tmpl_sum = net_cksum_fold(net_cksum_add(ip, sizeof(*ip), 0));
}

int
net_udp_send(struct net_queue *q, struct rte_mbuf *m, uint16_t len, rte_be32_t dst_ip,
	     rte_be16_t dst_port, rte_be16_t src_port)
{
	const struct net_iface *ifc = q->ifc;
	uint16_t l2_len = q->l2_len, hlen = net_udp_hlen(l2_len);
	uint16_t l4_len = (uint16_t)(len + sizeof(struct rte_udp_hdr));
	rte_be16_t ip_len = rte_cpu_to_be_16((uint16_t)(l4_len + sizeof(struct rte_ipv4_hdr)));
	rte_be16_t ip_id;
	struct rte_ether_addr mac;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *uh;
	uint8_t *frame;

	if (unlikely(len > udp_room(q, m))) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	if (unlikely(net_tx_next_hop(q, dst_ip, &mac) != 0)) {
		net_drop(q, m, NET_DROP_no_neighbour);
		return -EHOSTUNREACH;
	}
	/* The frame laid out at once: headers in the headroom net_udp_alloc() left, then the data. */
	if (unlikely(m->data_len != 0 || rte_pktmbuf_headroom(m) < hlen)) {
		net_drop(q, m, NET_DROP_no_mbuf);
		return -ENOSPC;
	}
	ip_id = rte_cpu_to_be_16(q->ip_id++); /* (a datagram dropped above takes none) */
	m->data_off = (uint16_t)(m->data_off - hlen);
	m->data_len = (uint16_t)(hlen + len);
	m->pkt_len = m->data_len;
	m->l2_len = l2_len;
	m->l3_len = sizeof(*ip);
	/*
	 * The Ethernet and IPv4 headers from the queue's template (l2_len + 20 bytes: 34, or 38
	 * with a VLAN tag; as its first 32 bytes and its last 8), then what differs; the IPv4
	 * checksum from the template's sum and those fields, none of them read back.
	 */
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(frame, q->udp_tmpl, 32);
	memcpy(frame + l2_len + sizeof(*ip) - 8, q->udp_tmpl + l2_len + sizeof(*ip) - 8, 8);
	((struct rte_ether_hdr *)frame)->dst_addr = mac;
	ip = (struct rte_ipv4_hdr *)(frame + l2_len);
	uh = (struct rte_udp_hdr *)(ip + 1);
	ip->total_length = ip_len;
	ip->packet_id = ip_id;
	ip->dst_addr = dst_ip;
	uh->src_port = src_port;
	uh->dst_port = dst_port;
	uh->dgram_len = rte_cpu_to_be_16(l4_len);
	uh->dgram_cksum = 0;

	m->ol_flags &= NET_MBUF_KEEP_FLAGS;
	if (ifc->offloads.tx_ip_cksum)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum =
			(uint16_t)~net_cksum_fold(q->udp_tmpl_sum + ip_len + ip_id + dst_ip);
	if (ifc->offloads.tx_udp_cksum) {
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
		uh->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		/* Sent as 0xffff when it sums to 0 (0 means "no checksum"). */
		uh->dgram_cksum = net_cksum_l4_phdr(
			uh, l4_len, net_cksum_phdr_of(ifc->ip, dst_ip, IPPROTO_UDP, l4_len));
	}
	net_tx_enqueue(q, m);
	return 0;
}
