/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A generator's frames (link.h): Ethernet + IPv4 + UDP + memcached frame header built by hand
 * with both checksums in software (the server checks them; memif offloads nothing), the IPv4
 * and Ethernet headers of a TCP load's segments likewise, ARP for our one address, and the
 * checks on what comes back.
 */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "net/cksum.h"
#include "proto/udp.h"
#include "genlink/link.h"

#define MC_HDR_LEN    PROTO_UDP_HEADER_LEN
#define MIN_FRAME     60
#define SEND_RETRY_US 1000

/* Writes the Ethernet header and the IPv4 header (all but its lengths and checksum) at @p eh. */
static struct rte_ipv4_hdr *
headers_write(struct genlink *l, struct rte_ether_hdr *eh, uint8_t proto)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);

	eh->dst_addr = l->peer_mac;
	eh->src_addr = l->mac;
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->packet_id = rte_cpu_to_be_16(l->ip_id++);
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = l->ip;
	ip->dst_addr = l->peer_ip;
	return ip;
}

struct rte_mbuf *
genlink_begin(struct genlink *l, unsigned sport_index, uint16_t id, char **text)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(l->pool);
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *uh;
	uint8_t *mc;

	if (m == NULL)
		return NULL;
	ip = headers_write(l, rte_pktmbuf_mtod(m, struct rte_ether_hdr *), IPPROTO_UDP);
	uh = (struct rte_udp_hdr *)(ip + 1);
	mc = (uint8_t *)(uh + 1);
	uh->src_port = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(l->sport) + sport_index));
	uh->dst_port = l->dport;
	proto_udp_header_write(mc, id, 0, 1); /* a request: sequence 0 of 1 */
	*text = (char *)(mc + MC_HDR_LEN);
	return m;
}

void
genlink_finish(struct rte_mbuf *m, uint32_t len)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
	uint16_t udp_len = (uint16_t)(sizeof(*uh) + MC_HDR_LEN + len);

	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + udp_len));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	uh->dgram_len = rte_cpu_to_be_16(udp_len);
	uh->dgram_cksum = 0;
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
	m->data_len = (uint16_t)(sizeof(struct rte_ether_hdr) + sizeof(*ip) + udp_len);
	m->pkt_len = m->data_len;
}

int
genlink_tcp_frame(struct genlink *l, struct rte_mbuf *m)
{
	uint32_t l4_len = m->pkt_len;
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	/* lib/tcp sends one mbuf per segment; a chain would be made one here. */
	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0)
		return -ENOSPC;
	if (m->data_len < sizeof(*th) || l4_len + sizeof(*ip) > GENLINK_MTU)
		return -EINVAL;
	eh = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eh) + sizeof(*ip));
	if (eh == NULL)
		return -ENOSPC;
	ip = headers_write(l, eh, IPPROTO_TCP);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = net_cksum_ipv4(ip);
	th = (struct rte_tcp_hdr *)(ip + 1);
	th->cksum = 0;
	th->cksum = net_cksum_l4(ip, th, (uint16_t)l4_len);
	return 0;
}

uint16_t
genlink_send(struct genlink *l, struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t deadline = 0;
	uint16_t sent = 0;

	while (sent < n) {
		sent += rte_eth_tx_burst(l->port_id, l->tx_queue_id, pkts + sent, (uint16_t)(n - sent));
		if (sent == n)
			break;
		if (deadline == 0)
			deadline = rte_get_tsc_cycles() + l->hz / 1000000 * SEND_RETRY_US;
		else if (rte_get_tsc_cycles() > deadline)
			break;
	}
	if (sent < n) {
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		l->tx_dropped += n - sent;
	}
	return sent;
}

/* Sends one ARP frame (@p op) about our address to @p tha / @p tip. */
static int
arp_send(struct genlink *l, uint16_t op, const struct rte_ether_addr *dst,
	 const struct rte_ether_addr *tha, rte_be32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(l->pool);
	struct rte_ether_hdr *eh;
	struct rte_arp_hdr *ah;

	if (m == NULL)
		return -ENOMEM;
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	ah = (struct rte_arp_hdr *)(eh + 1);
	memset(eh, 0, MIN_FRAME);
	eh->dst_addr = *dst;
	eh->src_addr = l->mac;
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	ah->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = RTE_ETHER_ADDR_LEN;
	ah->arp_plen = sizeof(rte_be32_t);
	ah->arp_opcode = rte_cpu_to_be_16(op);
	ah->arp_data.arp_sha = l->mac;
	ah->arp_data.arp_sip = l->ip;
	ah->arp_data.arp_tha = *tha;
	ah->arp_data.arp_tip = tip;
	m->data_len = MIN_FRAME;
	m->pkt_len = MIN_FRAME;
	return genlink_send(l, &m, 1) == 1 ? 0 : -EAGAIN;
}

int
genlink_arp_request(struct genlink *l)
{
	static const struct rte_ether_addr bcast = {
		.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	static const struct rte_ether_addr zero;

	return arp_send(l, RTE_ARP_OP_REQUEST, &bcast, &zero, l->peer_ip);
}

/* ARP: learn the server's MAC from anything it says about itself; answer requests for us. */
static void
arp_input(struct genlink *l, struct rte_mbuf *m)
{
	const struct rte_arp_hdr *ah = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *,
							       sizeof(struct rte_ether_hdr));
	struct rte_ether_addr sha;
	rte_be32_t sip, tip;
	uint16_t op;

	if (m->data_len < sizeof(struct rte_ether_hdr) + sizeof(*ah) ||
	    ah->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    ah->arp_hlen != RTE_ETHER_ADDR_LEN || ah->arp_plen != sizeof(rte_be32_t)) {
		l->rx_bad++;
		return;
	}
	op = rte_be_to_cpu_16(ah->arp_opcode);
	sha = ah->arp_data.arp_sha;
	sip = ah->arp_data.arp_sip;
	tip = ah->arp_data.arp_tip;
	if (sip == l->peer_ip && rte_is_unicast_ether_addr(&sha)) {
		l->peer_mac = sha;
		l->peer_known = true;
	}
	if (op == RTE_ARP_OP_REQUEST && tip == l->ip && sip != 0 &&
	    arp_send(l, RTE_ARP_OP_REPLY, &sha, &sha, sip) == 0)
		l->arp_answered++;
}

/* Whether the UDP or TCP checksum (pseudo-header included) of @p len bytes at @p l4 sums right. */
static bool
l4_cksum_ok(const struct rte_ipv4_hdr *ip, const void *l4, uint32_t len)
{
	return net_cksum_fold(net_cksum_add(l4, len, net_cksum_phdr(ip, (uint16_t)len))) == 0xffff;
}

/*
 * Checks the IPv4 header of a frame for us: from the server, to us, @p proto, at least
 * @p l4_min bytes after it, and the header checksum. Returns the IPv4 total length, or 0
 * (counted in rx_other or rx_bad).
 */
static uint32_t
ipv4_check(struct genlink *l, const struct rte_mbuf *m, uint8_t proto, uint32_t l4_min)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								sizeof(struct rte_ether_hdr));
	uint32_t ip_len;

	if (m->nb_segs != 1 || m->data_len < sizeof(struct rte_ether_hdr) + sizeof(*ip) + l4_min ||
	    ip->version_ihl != RTE_IPV4_VHL_DEF || ip->next_proto_id != proto ||
	    ip->dst_addr != l->ip || ip->src_addr != l->peer_ip) {
		l->rx_other++;
		return 0;
	}
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (ip_len + sizeof(struct rte_ether_hdr) > m->data_len || ip_len < sizeof(*ip) + l4_min ||
	    net_cksum(ip, sizeof(*ip)) != 0xffff) {
		l->rx_bad++;
		return 0;
	}
	return ip_len;
}

/* Checks the UDP header of a frame for us; returns the UDP header or NULL, with the index of
 * the source port of ours it came to in *@p port. */
static const struct rte_udp_hdr *
udp_check(struct genlink *l, const struct rte_mbuf *m, uint16_t *port)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								sizeof(struct rte_ether_hdr));
	const struct rte_udp_hdr *uh = (const struct rte_udp_hdr *)(ip + 1);
	uint32_t ip_len = ipv4_check(l, m, IPPROTO_UDP, sizeof(*uh) + MC_HDR_LEN);

	if (ip_len == 0)
		return NULL;
	*port = (uint16_t)(rte_be_to_cpu_16(uh->dst_port) - rte_be_to_cpu_16(l->sport));
	if (*port >= (l->nsports ? l->nsports : 1)) {
		l->rx_other++;
		return NULL;
	}
	if (rte_be_to_cpu_16(uh->dgram_len) != ip_len - sizeof(*ip) ||
	    (uh->dgram_cksum != 0 && !l4_cksum_ok(ip, uh, ip_len - sizeof(*ip)))) {
		l->rx_bad++;
		return NULL;
	}
	return uh;
}

/* Hands a checksum-valid TCP segment to the hook; returns false when @p m is not one. */
static bool
tcp_deliver(struct genlink *l, struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								sizeof(struct rte_ether_hdr));
	uint32_t ip_len = ipv4_check(l, m, IPPROTO_TCP, sizeof(struct rte_tcp_hdr));
	rte_be32_t src = ip->src_addr, dst = ip->dst_addr;

	if (ip_len == 0)
		return false;
	if (!l4_cksum_ok(ip, ip + 1, ip_len - sizeof(*ip))) {
		l->rx_bad++;
		return false;
	}
	/* Ethernet padding off, then the data at the TCP header. */
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - sizeof(struct rte_ether_hdr) - ip_len));
	rte_pktmbuf_adj(m, sizeof(struct rte_ether_hdr) + sizeof(*ip));
	l->rx_tcp++;
	l->tcp->input(l->tcp->arg, m, src, dst);
	return true;
}

enum genlink_rx
genlink_classify(struct genlink *l, struct rte_mbuf *m, struct genlink_dgram *d)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eh + 1);
	const struct rte_udp_hdr *uh;
	const uint8_t *mc;

	if (m->data_len < sizeof(*eh) + sizeof(*ip)) {
		l->rx_other++;
	} else if (eh->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
		arp_input(l, m);
	} else if (eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
		   !rte_is_same_ether_addr(&eh->dst_addr, &l->mac)) {
		l->rx_other++;
	} else if (ip->next_proto_id == IPPROTO_TCP && l->tcp != NULL) {
		if (tcp_deliver(l, m))
			return GENLINK_RX_DONE;
	} else if ((uh = udp_check(l, m, &d->port)) != NULL) {
		struct proto_udp_header h;

		mc = (const uint8_t *)(uh + 1);
		d->len = (uint32_t)(rte_be_to_cpu_16(uh->dgram_len) - sizeof(*uh) - MC_HDR_LEN);
		(void)proto_udp_header_parse(mc, MC_HDR_LEN, &h); /* udp_check saw the length */
		d->id = h.request_id;
		d->seq = h.seq;
		d->total = h.total;
		d->text = (const char *)(mc + MC_HDR_LEN);
		return GENLINK_RX_UDP;
	}
	rte_pktmbuf_free(m);
	return GENLINK_RX_DONE;
}

void
genlink_idle(struct genlink *l, unsigned ms)
{
	uint64_t end = rte_get_tsc_cycles() + l->hz / 1000 * ms;
	struct rte_mbuf *pkts[GENLINK_BURST];
	struct genlink_dgram d;

	do {
		uint16_t n = rte_eth_rx_burst(l->port_id, l->queue_id, pkts, GENLINK_BURST);

		for (uint16_t i = 0; i < n; i++)
			if (genlink_classify(l, pkts[i], &d) == GENLINK_RX_UDP)
				rte_pktmbuf_free(pkts[i]);
		genlink_tick(l);
	} while (rte_get_tsc_cycles() < end);
}
