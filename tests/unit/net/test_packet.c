/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the packet path (net/queue.h): hand-built frames go in through
 * net_queue_input() on a port made of rings (rte_eth_from_rings); what the path sends is
 * dequeued from the port's TX ring and checked field by field.
 */
/* rte_ipv4_udptcp_cksum_mbuf (the reference for the checksums we build) is experimental. */
#define ALLOW_EXPERIMENTAL_API

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "net/neigh.h"
#include "net/queue.h"
#include "test_eal.h"

#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define OUR_IP		IP4(10, 9, 0, 1)
#define PEER_IP		IP4(10, 9, 0, 2)
#define GW_IP		IP4(10, 9, 0, 254)
#define UDP_PORT	11211
#define PEER_PORT	40000
#define FRAME_MAX	2048

static const struct rte_ether_addr our_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x02}};
static const struct rte_ether_addr gw_mac = {{0x02, 0, 0, 0, 0, 0xfe}};
static const struct rte_ether_addr bcast_mac = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

/* The port, pool and rings live for the whole run; each test gets a fresh table and queue. */
static struct {
	struct rte_mempool *pool;
	struct rte_ring *rxr, *txr;
	uint16_t port;
	struct net_iface ifc;
	struct net_queue *q;
	struct net_dgram out[NET_BURST];
	uint8_t buf[FRAME_MAX];
} T;

/* ---- EAL, port, queue ---------------------------------------------------------------- */

static void
eal_init_once(void)
{
	const struct test_eal eal = {.name = "test_net_packet",
				     .prefix = "nc_test_net_packet",
				     .log = "--log-level=user1:warning"};

	if (test_eal_start(&eal) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		exit(1);
	}
}

static int
group_setup(void **state)
{
	struct rte_eth_conf conf;

	(void)state;
	eal_init_once();
	T.pool = rte_pktmbuf_pool_create("tnp_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	T.rxr = rte_ring_create("tnp_rx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	T.txr = rte_ring_create("tnp_tx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (T.pool == NULL || T.rxr == NULL || T.txr == NULL)
		return -1;
	int port = rte_eth_from_rings("net_ring_tnp", &T.rxr, 1, &T.txr, 1, SOCKET_ID_ANY);
	if (port < 0)
		return -1;
	T.port = (uint16_t)port;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(T.port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(T.port, 0, 64, SOCKET_ID_ANY, NULL, T.pool) != 0 ||
	    rte_eth_tx_queue_setup(T.port, 0, 64, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start(T.port) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	rte_eth_dev_stop(T.port);
	rte_eth_dev_close(T.port);
	return 0;
}

/* Free everything waiting in the TX ring. @return how many frames were there. */
static unsigned
tx_drain(void)
{
	struct rte_mbuf *m;
	unsigned n = 0;

	while (rte_ring_dequeue(T.txr, (void **)&m) == 0) {
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

/* Build the queue for iface @p ifc (a copy is kept), announce, and clear the TX ring. */
static void
queue_start(const struct net_iface *ifc)
{
	int err;

	T.ifc = *ifc;
	T.q = net_queue_create(&T.ifc, 0, SOCKET_ID_ANY, &err);
	assert_non_null(T.q);
	/* The first upkeep call sends our gratuitous ARP; tests start with an empty ring. */
	net_queue_timers(T.q, rte_rdtsc());
	net_queue_flush(T.q);
	tx_drain();
}

static uint64_t
now_s(void)
{
	return rte_rdtsc() / rte_get_tsc_hz();
}

/* A fresh untagged interface and queue; the gateway already known. */
static int
test_setup(void **state)
{
	struct net_iface ifc = {
		.port_id = T.port,
		.nb_queues = 1,
		.mac = our_mac,
		.ip = OUR_IP,
		.netmask = IP4(255, 255, 255, 0),
		.gateway = GW_IP,
		.mtu = 1500,
		.udp_port = UDP_PORT,
		.tcp_port = UDP_PORT,
		.pool = T.pool,
	};

	(void)state;
	ifc.neigh = net_neigh_create(SOCKET_ID_ANY);
	assert_non_null(ifc.neigh);
	net_neigh_learn(ifc.neigh, GW_IP, &gw_mac, now_s());
	queue_start(&ifc);
	return 0;
}

static int
test_teardown(void **state)
{
	struct net_neigh *n = T.ifc.neigh;

	(void)state;
	net_queue_destroy(&T.q);
	net_neigh_destroy(&n);
	tx_drain();
	return 0;
}

/* ---- frame building ------------------------------------------------------------------- */

static size_t
put_eth(uint8_t *p, const struct rte_ether_addr *dst, uint16_t type)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;

	eh->dst_addr = *dst;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(type);
	return sizeof(*eh);
}

static size_t
put_vlan_eth(uint8_t *p, uint16_t tci, uint16_t type)
{
	struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *)(p + sizeof(struct rte_ether_hdr));

	put_eth(p, &our_mac, RTE_ETHER_TYPE_VLAN);
	vh->vlan_tci = rte_cpu_to_be_16(tci);
	vh->eth_proto = rte_cpu_to_be_16(type);
	return sizeof(struct rte_ether_hdr) + sizeof(*vh);
}

static void
ip_fix_cksum(struct rte_ipv4_hdr *ip)
{
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* IPv4 header (IHL 5) from PEER_IP to us carrying @p l4_len bytes of @p proto. */
static size_t
put_ip(uint8_t *p, uint8_t proto, size_t l4_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->packet_id = RTE_BE16(0x1234);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = PEER_IP;
	ip->dst_addr = OUR_IP;
	ip_fix_cksum(ip);
	return sizeof(*ip);
}

/* The folded one's complement sum of an L4 segment with its pseudo-header. */
static uint16_t
l4_sum(const struct rte_ipv4_hdr *ip, const void *l4, size_t len)
{
	uint32_t s = (uint32_t)rte_raw_cksum(l4, len) + rte_ipv4_phdr_cksum(ip, 0);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void
udp_fix_cksum(struct rte_ipv4_hdr *ip)
{
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

	uh->dgram_cksum = 0;
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
}

/* An untagged UDP frame PEER:PEER_PORT -> us:@p dport with @p plen payload bytes (i & 0xff). */
static size_t
udp_frame(uint8_t *p, uint16_t dport, size_t plen)
{
	size_t off = put_eth(p, &our_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + off);
	struct rte_udp_hdr *uh;

	off += put_ip(p + off, IPPROTO_UDP, sizeof(*uh) + plen);
	uh = (struct rte_udp_hdr *)(p + off);
	uh->src_port = RTE_BE16(PEER_PORT);
	uh->dst_port = rte_cpu_to_be_16(dport);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*uh) + plen));
	off += sizeof(*uh);
	for (size_t i = 0; i < plen; i++)
		p[off + i] = (uint8_t)i;
	udp_fix_cksum(ip);
	return off + plen;
}

static struct rte_ipv4_hdr *
ip_of(uint8_t *frame)
{
	return (struct rte_ipv4_hdr *)(frame + sizeof(struct rte_ether_hdr));
}

/* An ARP frame from the peer (request or reply) to @p dst about @p tip. */
static size_t
arp_frame(uint8_t *p, const struct rte_ether_addr *dst, uint16_t op, rte_be32_t sip, rte_be32_t tip)
{
	size_t off = put_eth(p, dst, RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(p + off);

	ah->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = 6;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(op);
	ah->arp_data.arp_sha = peer_mac;
	ah->arp_data.arp_sip = sip;
	memset(&ah->arp_data.arp_tha, 0, 6);
	ah->arp_data.arp_tip = tip;
	off += sizeof(*ah);
	memset(p + off, 0, 60 - off); /* Ethernet padding */
	return 60;
}

/* A TCP segment from the peer with @p flags, @p seq, @p ack and @p dlen data bytes. */
static size_t
tcp_frame(uint8_t *p, uint8_t flags, uint32_t seq, uint32_t ack, size_t dlen)
{
	size_t off = put_eth(p, &our_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + off);
	struct rte_tcp_hdr *th;

	off += put_ip(p + off, IPPROTO_TCP, sizeof(*th) + dlen);
	th = (struct rte_tcp_hdr *)(p + off);
	memset(th, 0, sizeof(*th));
	th->src_port = RTE_BE16(PEER_PORT);
	th->dst_port = RTE_BE16(UDP_PORT);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = RTE_BE16(65535);
	memset(th + 1, 'x', dlen);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return off + sizeof(*th) + dlen;
}

/* An ICMP message from the peer: @p type, id/seq 7/1, @p plen payload bytes. */
static size_t
icmp_frame(uint8_t *p, uint8_t type, size_t plen)
{
	size_t off = put_eth(p, &our_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_icmp_hdr *ih;

	off += put_ip(p + off, IPPROTO_ICMP, sizeof(*ih) + plen);
	ih = (struct rte_icmp_hdr *)(p + off);
	ih->icmp_type = type;
	ih->icmp_code = 0;
	ih->icmp_ident = RTE_BE16(7);
	ih->icmp_seq_nb = RTE_BE16(1);
	ih->icmp_cksum = 0;
	for (size_t i = 0; i < plen; i++)
		((uint8_t *)(ih + 1))[i] = (uint8_t)(0xa0 + i);
	ih->icmp_cksum = (uint16_t)~rte_raw_cksum(ih, sizeof(*ih) + plen);
	return off + sizeof(*ih) + plen;
}

/* ---- running frames through -------------------------------------------------------- */

static struct rte_mbuf *
mbuf_of(const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(T.pool);
	uint8_t *d;

	assert_non_null(m);
	d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(d);
	memcpy(d, frame, len);
	return m;
}

/* Feed one frame. @return datagrams delivered into T.out. */
static unsigned
feed(const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = mbuf_of(frame, len);

	return net_queue_input(T.q, &m, 1, T.out, NET_BURST);
}

/* Flush and take the one frame sent (fails when there is not exactly one). */
static struct rte_mbuf *
sent_one(void)
{
	struct rte_mbuf *m = NULL;

	net_queue_flush(T.q);
	assert_int_equal(rte_ring_count(T.txr), 1);
	assert_int_equal(rte_ring_dequeue(T.txr, (void **)&m), 0);
	return m;
}

static void
assert_nothing_sent(void)
{
	net_queue_flush(T.q);
	assert_int_equal(rte_ring_count(T.txr), 0);
}

/* Feed a frame that must be dropped with reason @p d only: that counter +1, no other drop,
 * nothing delivered, nothing sent. */
static void
expect_drop_frame(const uint8_t *frame, size_t len, enum net_drop d)
{
	struct net_counters before = *net_queue_counters(T.q);
	const struct net_counters *after = net_queue_counters(T.q);

	assert_int_equal(feed(frame, len), 0);
	for (unsigned i = 0; i < NET_DROP_MAX; i++) {
		uint64_t want = before.drop[i] + (i == (unsigned)d ? 1 : 0);

		if (after->drop[i] != want)
			fail_msg("drop %s: %lu, want %lu (expected only %s)", net_drop_name(i),
				 (unsigned long)after->drop[i], (unsigned long)want,
				 net_drop_name(d));
	}
	assert_int_equal(after->ev[NET_EV_rx_frames], before.ev[NET_EV_rx_frames] + 1);
	assert_nothing_sent();
}

#define expect_drop(len, d) expect_drop_frame(T.buf, (len), NET_DROP_##d)

static uint64_t
drop_count(enum net_drop d)
{
	return net_queue_counters(T.q)->drop[d];
}

static uint64_t
event_count(enum net_event e)
{
	return net_queue_counters(T.q)->ev[e];
}

/* The L3 header of a sent frame, after its (untagged) Ethernet header. */
static void *
l3_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, uint8_t *, sizeof(struct rte_ether_hdr));
}

static void
assert_ip_ok(const struct rte_ipv4_hdr *ip)
{
	assert_int_equal(ip->version_ihl, RTE_IPV4_VHL_DEF);
	assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void
test_counter_names(void **state)
{
	(void)state;
	assert_string_equal(net_event_name(NET_EV_rx_frames), "rx_frames");
	assert_string_equal(net_drop_name(NET_DROP_ip_checksum), "ip_checksum");
	assert_null(net_drop_name(NET_DROP_MAX));
	assert_null(net_event_name(NET_EV_MAX));
	for (unsigned i = 0; i < NET_DROP_MAX; i++)
		assert_non_null(net_drop_name(i));
}

static void
test_announce(void **state)
{
	struct net_queue *q;
	struct rte_mbuf *m = NULL;
	struct rte_arp_hdr *ah;
	uint64_t now;
	int err;

	(void)state;
	/* A second queue object on queue 0: its first upkeep call announces us. */
	q = net_queue_create(&T.ifc, 0, SOCKET_ID_ANY, &err);
	assert_non_null(q);
	net_queue_timers(q, rte_rdtsc());
	net_queue_flush(q);
	assert_int_equal(rte_ring_dequeue(T.txr, (void **)&m), 0);
	ah = l3_of(m);
	assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), bcast_mac.addr_bytes, 6);
	assert_int_equal(ah->arp_opcode, RTE_BE16(RTE_ARP_OP_REQUEST));
	assert_int_equal(ah->arp_data.arp_sip, OUR_IP);
	assert_int_equal(ah->arp_data.arp_tip, OUR_IP);
	assert_memory_equal(&ah->arp_data.arp_sha, &our_mac, 6);
	rte_pktmbuf_free(m);
	/* Not again at once; a second time 2 s later (RFC 5227: two, ANNOUNCE_INTERVAL apart). */
	now = rte_rdtsc();
	net_queue_timers(q, now);
	net_queue_flush(q);
	assert_int_equal(rte_ring_count(T.txr), 0);
	net_queue_timers(q, now + 2 * rte_get_tsc_hz() + 1);
	net_queue_flush(q);
	assert_int_equal(rte_ring_dequeue(T.txr, (void **)&m), 0);
	ah = l3_of(m);
	assert_int_equal(ah->arp_opcode, RTE_BE16(RTE_ARP_OP_REQUEST));
	assert_int_equal(ah->arp_data.arp_sip, OUR_IP);
	assert_int_equal(ah->arp_data.arp_tip, OUR_IP);
	rte_pktmbuf_free(m);
	/* Then never again. */
	net_queue_timers(q, now + 10 * rte_get_tsc_hz());
	net_queue_flush(q);
	assert_int_equal(rte_ring_count(T.txr), 0);
	net_queue_destroy(&q);
	assert_null(q);
}

static void
test_arp_request_answered(void **state)
{
	struct rte_ether_addr mac;
	struct rte_ether_hdr *eh;
	struct rte_arp_hdr *ah;
	struct rte_mbuf *m;
	size_t len;

	(void)state;
	len = arp_frame(T.buf, &bcast_mac, RTE_ARP_OP_REQUEST, PEER_IP, OUR_IP);
	assert_int_equal(feed(T.buf, len), 0);
	m = sent_one();
	assert_int_equal(m->pkt_len, sizeof(*eh) + sizeof(*ah));
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_memory_equal(&eh->dst_addr, &peer_mac, 6);
	assert_memory_equal(&eh->src_addr, &our_mac, 6);
	assert_int_equal(eh->ether_type, RTE_BE16(RTE_ETHER_TYPE_ARP));
	ah = (struct rte_arp_hdr *)(eh + 1);
	assert_int_equal(ah->arp_hardware, RTE_BE16(RTE_ARP_HRD_ETHER));
	assert_int_equal(ah->arp_protocol, RTE_BE16(RTE_ETHER_TYPE_IPV4));
	assert_int_equal(ah->arp_hlen, 6);
	assert_int_equal(ah->arp_plen, 4);
	assert_int_equal(ah->arp_opcode, RTE_BE16(RTE_ARP_OP_REPLY));
	assert_memory_equal(&ah->arp_data.arp_sha, &our_mac, 6);
	assert_int_equal(ah->arp_data.arp_sip, OUR_IP);
	assert_memory_equal(&ah->arp_data.arp_tha, &peer_mac, 6);
	assert_int_equal(ah->arp_data.arp_tip, PEER_IP);
	rte_pktmbuf_free(m);
	assert_int_equal(event_count(NET_EV_arp_answered), 1);
	/* The sender was learned. */
	assert_true(net_neigh_lookup(T.ifc.neigh, PEER_IP, &mac, now_s(), NULL));
	assert_memory_equal(&mac, &peer_mac, 6);
	assert_int_equal(event_count(NET_EV_arp_learned), 1);
}

static void
test_arp_other_ip_ignored(void **state)
{
	struct rte_ether_addr mac;
	size_t len;

	(void)state;
	len = arp_frame(T.buf, &bcast_mac, RTE_ARP_OP_REQUEST, PEER_IP, IP4(10, 9, 0, 3));
	expect_drop(len, arp_ignored);
	assert_false(net_neigh_lookup(T.ifc.neigh, PEER_IP, &mac, now_s(), NULL));
	/* A reply to us teaches the sender, answers nothing. */
	len = arp_frame(T.buf, &our_mac, RTE_ARP_OP_REPLY, PEER_IP, OUR_IP);
	assert_int_equal(feed(T.buf, len), 0);
	assert_nothing_sent();
	assert_true(net_neigh_lookup(T.ifc.neigh, PEER_IP, &mac, now_s(), NULL));
}

static void
test_arp_gratuitous(void **state)
{
	struct rte_ether_addr mac, other = {{0x02, 0, 0, 0, 0, 0x33}};
	size_t len;

	(void)state;
	/* Unknown sender: not learned. */
	len = arp_frame(T.buf, &bcast_mac, RTE_ARP_OP_REQUEST, PEER_IP, PEER_IP);
	expect_drop(len, arp_ignored);
	assert_false(net_neigh_lookup(T.ifc.neigh, PEER_IP, &mac, now_s(), NULL));
	/* Known: refreshed with the announced MAC. */
	net_neigh_learn(T.ifc.neigh, PEER_IP, &other, now_s());
	assert_int_equal(feed(T.buf, len), 0);
	assert_nothing_sent();
	assert_true(net_neigh_lookup(T.ifc.neigh, PEER_IP, &mac, now_s(), NULL));
	assert_memory_equal(&mac, &peer_mac, 6);
}

static void
test_arp_bad(void **state)
{
	size_t len = arp_frame(T.buf, &bcast_mac, RTE_ARP_OP_REQUEST, PEER_IP, OUR_IP);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(T.buf + sizeof(struct rte_ether_hdr));

	(void)state;
	ah->arp_hlen = 8;
	expect_drop(len, arp_bad);
	ah->arp_hlen = 6;
	ah->arp_opcode = RTE_BE16(3);
	expect_drop(len, arp_bad);
	expect_drop(sizeof(struct rte_ether_hdr) + 20, truncated);
}

static void
test_icmp_echo(void **state)
{
	uint8_t req[FRAME_MAX];
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *ih;
	struct rte_ether_hdr *eh;
	struct rte_mbuf *m;
	size_t len;

	(void)state;
	len = icmp_frame(req, RTE_IP_ICMP_ECHO_REQUEST, 56);
	assert_int_equal(feed(req, len), 0);
	m = sent_one();
	assert_int_equal(m->pkt_len, len);
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_memory_equal(&eh->dst_addr, &peer_mac, 6);
	assert_memory_equal(&eh->src_addr, &our_mac, 6);
	ip = l3_of(m);
	assert_ip_ok(ip);
	assert_int_equal(ip->src_addr, OUR_IP);
	assert_int_equal(ip->dst_addr, PEER_IP);
	assert_int_equal(ip->total_length, ip_of(req)->total_length);
	ih = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(ih->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(ih->icmp_code, 0);
	assert_int_equal(ih->icmp_ident, RTE_BE16(7));
	assert_int_equal(ih->icmp_seq_nb, RTE_BE16(1));
	assert_int_equal(rte_raw_cksum(ih, sizeof(*ih) + 56), 0xffff);
	assert_memory_equal(ih + 1, req + len - 56, 56);
	rte_pktmbuf_free(m);
	assert_int_equal(event_count(NET_EV_icmp_echo_answered), 1);

	/* Non-echo, bad checksum, too short. */
	len = icmp_frame(T.buf, RTE_IP_ICMP_ECHO_REPLY, 8);
	expect_drop(len, icmp_type);
	len = icmp_frame(T.buf, 13, 12);
	expect_drop(len, icmp_type);
	len = icmp_frame(T.buf, RTE_IP_ICMP_ECHO_REQUEST, 8);
	T.buf[len - 1] ^= 1;
	expect_drop(len, icmp_checksum);
	len = icmp_frame(T.buf, RTE_IP_ICMP_ECHO_REQUEST, 0);
	ip_of(T.buf)->total_length = RTE_BE16(20 + 4);
	ip_fix_cksum(ip_of(T.buf));
	expect_drop(len, truncated);
}

static void
test_udp_delivered(void **state)
{
	struct net_dgram *d = &T.out[0];
	uint8_t copy[100];
	size_t len;

	(void)state;
	len = udp_frame(T.buf, UDP_PORT, 100);
	assert_int_equal(feed(T.buf, len), 1);
	assert_non_null(d->m);
	assert_non_null(d->payload);
	assert_int_equal(d->len, 100);
	assert_int_equal(d->src_ip, PEER_IP);
	assert_int_equal(d->dst_ip, OUR_IP);
	assert_int_equal(d->src_port, RTE_BE16(PEER_PORT));
	assert_int_equal(d->dst_port, RTE_BE16(UDP_PORT));
	assert_int_equal(d->proto, IPPROTO_UDP);
	assert_memory_equal(d->payload, T.buf + len - 100, 100);
	assert_int_equal(net_dgram_copy(d, copy, sizeof(copy)), 100);
	assert_memory_equal(copy, T.buf + len - 100, 100);
	assert_int_equal(net_dgram_copy(d, copy, 10), 10);
	net_dgram_free(d);
	assert_null(d->m);
	assert_nothing_sent();
	assert_int_equal(event_count(NET_EV_udp_delivered), 1);

	/* Checksum 0 means none: accepted. */
	len = udp_frame(T.buf, UDP_PORT, 3);
	((struct rte_udp_hdr *)(ip_of(T.buf) + 1))->dgram_cksum = 0;
	assert_int_equal(feed(T.buf, len), 1);
	net_dgram_free(&T.out[0]);

	/* Ethernet padding after a short datagram is trimmed. */
	len = udp_frame(T.buf, UDP_PORT, 1);
	memset(T.buf + len, 0, 60 - len);
	assert_int_equal(feed(T.buf, 60), 1);
	assert_int_equal(T.out[0].len, 1);
	assert_int_equal(T.out[0].m->pkt_len, 20 + 8 + 1);
	net_dgram_free(&T.out[0]);

	/* The source was learned from the IPv4 packet. */
	struct rte_ether_addr mac;
	assert_true(net_neigh_lookup(T.ifc.neigh, PEER_IP, &mac, now_s(), NULL));
}

/*
 * A datagram with IPv4 options, which the receive shortcut leaves to the full path, is
 * delivered with its payload after the longer header (test_rx_fast compares the two paths).
 */
static void
test_udp_delivered_with_options(void **state)
{
	static const uint8_t opts[4] = {1, 1, 1, 0}; /* NOP, NOP, NOP, end of options */
	size_t off = put_eth(T.buf, &our_mac, RTE_ETHER_TYPE_IPV4), plen = 30;
	struct rte_ipv4_hdr *ip = ip_of(T.buf);
	struct rte_udp_hdr *uh;
	struct net_dgram *d = &T.out[0];

	(void)state;
	off += put_ip(T.buf + off, IPPROTO_UDP, sizeof(opts) + sizeof(*uh) + plen);
	ip->version_ihl = 0x46;
	memcpy(T.buf + off, opts, sizeof(opts));
	off += sizeof(opts);
	ip_fix_cksum(ip);
	uh = (struct rte_udp_hdr *)(T.buf + off);
	uh->src_port = RTE_BE16(PEER_PORT);
	uh->dst_port = RTE_BE16(UDP_PORT);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*uh) + plen));
	uh->dgram_cksum = 0;
	off += sizeof(*uh);
	for (size_t i = 0; i < plen; i++)
		T.buf[off + i] = (uint8_t)(i * 7);
	{
		uint16_t c = (uint16_t)~l4_sum(ip, uh, sizeof(*uh) + plen);

		uh->dgram_cksum = c == 0 ? 0xffff : c;
	}
	assert_int_equal(feed(T.buf, off + plen), 1);
	assert_int_equal(d->off, 24 + 8);
	assert_int_equal(d->len, plen);
	assert_non_null(d->payload);
	assert_memory_equal(d->payload, T.buf + off, plen);
	assert_int_equal(d->src_ip, PEER_IP);
	assert_int_equal(d->dst_ip, OUR_IP);
	assert_int_equal(d->src_port, RTE_BE16(PEER_PORT));
	assert_int_equal(d->dst_port, RTE_BE16(UDP_PORT));
	assert_int_equal(d->proto, IPPROTO_UDP);
	net_dgram_free(d);
	assert_int_equal(event_count(NET_EV_udp_delivered), 1);

	/* One byte of the options changed under the same header checksum: dropped, counted. */
	T.buf[sizeof(struct rte_ether_hdr) + 20] = 2;
	expect_drop(off + plen, ip_checksum);
}

static void
test_recycle(void **state)
{
	struct rte_mbuf *m, *shared, *again[NET_SPARE_MBUFS + 1];
	unsigned avail = rte_mempool_avail_count(T.pool);
	uint8_t *payload;
	uint16_t room;
	size_t len;

	(void)state;
	/* A received datagram's mbuf comes back as the next reply's, reset. */
	len = udp_frame(T.buf, UDP_PORT, 40);
	assert_int_equal(feed(T.buf, len), 1);
	m = T.out[0].m;
	net_queue_recycle(T.q, &m, 1);
	net_queue_prefetch_replies(T.q, 64); /* (a hint only, past the one spare: nothing moves) */
	assert_ptr_equal(net_udp_alloc(T.q, &payload, &room), m);
	assert_int_equal(m->pkt_len, 0);
	assert_int_equal(m->nb_segs, 1);
	assert_ptr_equal(payload, rte_pktmbuf_mtod(m, uint8_t *));
	assert_true(rte_pktmbuf_headroom(m) >= 14 + 20 + 8);
	/* Its frame (the headers before the payload) starts at a cache line, the room kept. */
	assert_int_equal(((uintptr_t)payload - (14 + 20 + 8)) % RTE_CACHE_LINE_SIZE, 0);
	assert_int_equal(room, 1500 - 28);
	rte_pktmbuf_free(m);
	m = net_udp_alloc(T.q, &payload, &room); /* (a fresh one, from the pool) */
	assert_int_equal(((uintptr_t)payload - (14 + 20 + 8)) % RTE_CACHE_LINE_SIZE, 0);
	rte_pktmbuf_free(m);

	/* One still held elsewhere is only released: the other holder keeps it intact. */
	assert_int_equal(feed(T.buf, len), 1);
	shared = T.out[0].m;
	rte_mbuf_refcnt_update(shared, 1);
	net_queue_recycle(T.q, &shared, 1);
	assert_int_equal(rte_mbuf_refcnt_read(shared), 1);
	m = net_udp_alloc(T.q, &payload, &room);
	assert_ptr_not_equal(m, shared);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(shared);

	/* Beyond NET_SPARE_MBUFS they go back to the pool; none is lost. */
	for (unsigned i = 0; i < NET_SPARE_MBUFS + 1; i++)
		again[i] = rte_pktmbuf_alloc(T.pool);
	net_queue_recycle(T.q, again, NET_SPARE_MBUFS + 1);
	assert_int_equal(rte_mempool_avail_count(T.pool), avail - NET_SPARE_MBUFS);
	net_queue_destroy(&T.q);
	assert_int_equal(rte_mempool_avail_count(T.pool), avail);
	queue_start(&T.ifc);
}

static void
test_udp_burst_over_max(void **state)
{
	struct rte_mbuf *pkts[4];
	size_t len = udp_frame(T.buf, UDP_PORT, 10);

	(void)state;
	for (int i = 0; i < 4; i++)
		pkts[i] = mbuf_of(T.buf, len);
	assert_int_equal(net_queue_input(T.q, pkts, 4, T.out, 3), 3);
	for (int i = 0; i < 3; i++)
		net_dgram_free(&T.out[i]);
	assert_int_equal(drop_count(NET_DROP_udp_port), 1);
	assert_int_equal(event_count(NET_EV_rx_frames), 4);
	assert_int_equal(event_count(NET_EV_rx_bytes), 4 * len);
}

/*
 * A neighbour is learned only from a frame that passed every check: a UDP or TCP frame with
 * a bad checksum (or an ICMP one) from a new MAC leaves the entry as it was.
 */
static void
test_dropped_frame_teaches_nothing(void **state)
{
	static const struct rte_ether_addr forged = {{0x02, 0, 0, 0, 0, 0x99}};
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)T.buf;
	struct rte_ether_addr mac;
	size_t len;

	(void)state;
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	len = udp_frame(T.buf, UDP_PORT, 20);
	eh->src_addr = forged;
	T.buf[len - 1] ^= 0x55;
	expect_drop(len, udp_checksum);
	assert_true(net_neigh_lookup(T.ifc.neigh, PEER_IP, &mac, now_s(), NULL));
	assert_memory_equal(&mac, &peer_mac, 6);

	/* The same frame, checksum right: now the peer's new MAC is learned. */
	T.buf[len - 1] ^= 0x55;
	assert_int_equal(feed(T.buf, len), 1);
	net_dgram_free(&T.out[0]);
	assert_true(net_neigh_lookup(T.ifc.neigh, PEER_IP, &mac, now_s(), NULL));
	assert_memory_equal(&mac, &forged, 6);
}

static void
test_drops_udp(void **state)
{
	size_t len;
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip_of(T.buf) + 1);

	(void)state;
	len = udp_frame(T.buf, UDP_PORT, 20);
	T.buf[len - 1] ^= 0x55;
	expect_drop(len, udp_checksum);

	len = udp_frame(T.buf, UDP_PORT, 20);
	uh->dgram_len = RTE_BE16(8 + 19);
	udp_fix_cksum(ip_of(T.buf));
	expect_drop(len, udp_length);

	len = udp_frame(T.buf, UDP_PORT + 1, 20);
	expect_drop(len, udp_port);

	/* UDP header cut: IP says 4 bytes of payload. */
	len = udp_frame(T.buf, UDP_PORT, 0);
	ip_of(T.buf)->total_length = RTE_BE16(20 + 4);
	ip_fix_cksum(ip_of(T.buf));
	expect_drop(len - 4, truncated);
}

static void
test_drops_ip(void **state)
{
	struct rte_ipv4_hdr *ip = ip_of(T.buf);
	size_t len;

	(void)state;
	len = udp_frame(T.buf, UDP_PORT, 20);
	ip->hdr_checksum ^= 0x0101;
	expect_drop(len, ip_checksum);

	len = udp_frame(T.buf, UDP_PORT, 20);
	ip->version_ihl = 0x44;
	ip_fix_cksum(ip);
	expect_drop(len, ip_header);

	len = udp_frame(T.buf, UDP_PORT, 20);
	ip->version_ihl = 0x65;
	expect_drop(len, ip_version);

	len = udp_frame(T.buf, UDP_PORT, 20);
	ip->time_to_live = 0;
	ip_fix_cksum(ip);
	expect_drop(len, ip_ttl);

	static const rte_be32_t bad_src[] = {
		IP4(255, 255, 255, 255),
		IP4(10, 9, 0, 255),
		IP4(224, 0, 0, 1),
		IP4(239, 1, 2, 3),
		0,
		IP4(127, 0, 0, 1),
		OUR_IP,
	};
	for (size_t i = 0; i < RTE_DIM(bad_src); i++) {
		len = udp_frame(T.buf, UDP_PORT, 20);
		ip->src_addr = bad_src[i];
		ip_fix_cksum(ip);
		udp_fix_cksum(ip);
		expect_drop(len, ip_source);
	}

	len = udp_frame(T.buf, UDP_PORT, 20);
	ip->dst_addr = IP4(10, 9, 0, 3);
	ip_fix_cksum(ip);
	udp_fix_cksum(ip);
	expect_drop(len, not_for_us);

	len = udp_frame(T.buf, UDP_PORT, 20);
	ip->next_proto_id = 47;
	ip_fix_cksum(ip);
	expect_drop(len, l4_unsupported);

	/* Total length beyond the frame. */
	len = udp_frame(T.buf, UDP_PORT, 20);
	expect_drop(len - 1, truncated);

	/* Total length below the header. */
	len = udp_frame(T.buf, UDP_PORT, 20);
	ip->total_length = RTE_BE16(19);
	ip_fix_cksum(ip);
	expect_drop(len, ip_header);

	/* IHL 6 with a 20-byte frame body. */
	len = put_eth(T.buf, &our_mac, RTE_ETHER_TYPE_IPV4) + put_ip(T.buf + 14, IPPROTO_UDP, 0);
	ip->version_ihl = 0x46;
	expect_drop(len, truncated);
}

static void
test_drops_l2(void **state)
{
	size_t len;

	(void)state;
	/* Cut at every header boundary (and just before). */
	len = udp_frame(T.buf, UDP_PORT, 20);
	expect_drop(13, truncated);
	expect_drop(14, truncated);
	expect_drop(14 + 19, truncated);
	expect_drop(14 + 20, truncated);
	expect_drop(14 + 27, truncated);
	len = put_vlan_eth(T.buf, 0, RTE_ETHER_TYPE_IPV4);
	expect_drop(16, truncated);

	len = udp_frame(T.buf, UDP_PORT, 20);
	((struct rte_ether_hdr *)T.buf)->dst_addr.addr_bytes[5] = 0x09;
	expect_drop(len, not_for_us);

	len = udp_frame(T.buf, UDP_PORT, 20);
	((struct rte_ether_hdr *)T.buf)->dst_addr = bcast_mac;
	expect_drop(len, not_for_us);

	len = udp_frame(T.buf, UDP_PORT, 20);
	((struct rte_ether_hdr *)T.buf)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	expect_drop(len, l3_unsupported);

	/* No VLAN configured: VID 0 priority tags pass, other tags do not. */
	len = arp_frame(T.buf + 4, &our_mac, RTE_ARP_OP_REQUEST, PEER_IP, OUR_IP) + 4;
	put_vlan_eth(T.buf, 0x2000 | 0, RTE_ETHER_TYPE_ARP);
	assert_int_equal(feed(T.buf, len), 0);
	rte_pktmbuf_free(sent_one());
	put_vlan_eth(T.buf, 7, RTE_ETHER_TYPE_ARP);
	expect_drop(len, vlan);
}

/* Frames tagged with our VLAN accepted (in the frame or stripped), replies tagged. */
static void
test_vlan_iface(void **state)
{
	struct net_iface ifc = T.ifc;
	struct rte_ipv4_hdr *ip;
	struct rte_vlan_hdr *vh;
	struct rte_ether_hdr *eh;
	struct rte_arp_hdr *ah;
	struct rte_mbuf *m;
	size_t len;

	(void)state;
	net_queue_destroy(&T.q);
	ifc.vlan_id = 5;
	queue_start(&ifc);

	len = arp_frame(T.buf + 4, &our_mac, RTE_ARP_OP_REQUEST, PEER_IP, OUR_IP) + 4;
	put_vlan_eth(T.buf, 5, RTE_ETHER_TYPE_ARP);
	assert_int_equal(feed(T.buf, len), 0);
	m = sent_one();
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_int_equal(eh->ether_type, RTE_BE16(RTE_ETHER_TYPE_VLAN));
	vh = (struct rte_vlan_hdr *)(eh + 1);
	assert_int_equal(rte_be_to_cpu_16(vh->vlan_tci) & 0xfff, 5);
	assert_int_equal(vh->eth_proto, RTE_BE16(RTE_ETHER_TYPE_ARP));
	ah = (struct rte_arp_hdr *)(vh + 1);
	assert_int_equal(ah->arp_opcode, RTE_BE16(RTE_ARP_OP_REPLY));
	assert_int_equal(ah->arp_data.arp_tip, PEER_IP);
	rte_pktmbuf_free(m);

	/* Another VID, VID 0 and untagged: dropped. */
	put_vlan_eth(T.buf, 6, RTE_ETHER_TYPE_ARP);
	expect_drop(len, vlan);
	put_vlan_eth(T.buf, 0, RTE_ETHER_TYPE_ARP);
	expect_drop(len, vlan);
	len = arp_frame(T.buf, &our_mac, RTE_ARP_OP_REQUEST, PEER_IP, OUR_IP);
	expect_drop(len, vlan);

	/* Stripped by the NIC: the untagged frame with the VID in the mbuf. */
	m = mbuf_of(T.buf, len);
	m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 5;
	assert_int_equal(net_queue_input(T.q, &m, 1, T.out, NET_BURST), 0);
	m = sent_one();
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_int_equal(eh->ether_type, RTE_BE16(RTE_ETHER_TYPE_VLAN));
	rte_pktmbuf_free(m);

	/* UDP replies are tagged too, addressed and summed, the payload untouched. */
	uint8_t *payload;
	uint16_t room;
	m = net_udp_alloc(T.q, &payload, &room);
	assert_non_null(m);
	for (int i = 0; i < 10; i++)
		payload[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(net_udp_send(T.q, m, 10, PEER_IP, RTE_BE16(PEER_PORT), RTE_BE16(UDP_PORT)),
			 0);
	m = sent_one();
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_memory_equal(&eh->dst_addr, &peer_mac, 6);
	assert_memory_equal(&eh->src_addr, &our_mac, 6);
	assert_int_equal(eh->ether_type, RTE_BE16(RTE_ETHER_TYPE_VLAN));
	vh = (struct rte_vlan_hdr *)(eh + 1);
	assert_int_equal(rte_be_to_cpu_16(vh->vlan_tci) & 0xfff, 5);
	assert_int_equal(vh->eth_proto, RTE_BE16(RTE_ETHER_TYPE_IPV4));
	assert_int_equal(m->pkt_len, 18 + 20 + 8 + 10);
	assert_int_equal(m->l2_len, 18);
	/* The queue's header template with the tag in front: every field where it belongs. */
	ip = (struct rte_ipv4_hdr *)(vh + 1);
	assert_ip_ok(ip);
	assert_int_equal(ip->dst_addr, PEER_IP);
	assert_int_equal(ip->src_addr, OUR_IP);
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 8 + 10);
	assert_int_equal(ip->fragment_offset, RTE_BE16(RTE_IPV4_HDR_DF_FLAG));
	assert_int_equal(ip->time_to_live, 64);
	assert_int_equal(ip->next_proto_id, IPPROTO_UDP);
	assert_int_equal(ip->type_of_service, 0);
	assert_int_equal(rte_be_to_cpu_16(vh->vlan_tci), 5);
	assert_int_equal(((struct rte_udp_hdr *)(ip + 1))->src_port, RTE_BE16(UDP_PORT));
	assert_int_equal(((struct rte_udp_hdr *)(ip + 1))->dst_port, RTE_BE16(PEER_PORT));
	assert_int_equal(l4_sum(ip, ip + 1, 8 + 10), 0xffff);
	for (int i = 0; i < 10; i++)
		assert_int_equal(rte_pktmbuf_mtod_offset(m, uint8_t *, 18 + 28)[i], 0xa0 + i);
	rte_pktmbuf_free(m);
}

/*
 * The IPv4 checksum of the datagrams we send, made from the queue's header template: from the
 * one source address whose header sums closest to 2^64 unfolded (255.255.191.255: adding the
 * varying fields to that would carry out of 64 bits), to the broadcast address, with every
 * identification once, and from an everyday address to random ones.
 */
static void
test_udp_send_ip_sums(void **state)
{
	const rte_be32_t srcs[] = {IP4(255, 255, 191, 255), OUR_IP};
	struct net_iface ifc = T.ifc;

	(void)state;
	srand(17);
	for (unsigned s = 0; s < RTE_DIM(srcs); s++) {
		net_queue_destroy(&T.q);
		ifc.ip = srcs[s];
		ifc.netmask = 0; /* every destination on-link */
		queue_start(&ifc);
		for (unsigned i = 0; i < 65536; i++) {
			rte_be32_t dst = s == 0 ? IP4(255, 255, 255, 255) : (rte_be32_t)rand() | 1;
			uint16_t plen = s == 0 ? 1472 : (uint16_t)(rand() % 1473);
			const struct rte_ipv4_hdr *ip;
			uint8_t *payload;
			struct rte_mbuf *m;
			uint16_t room;

			net_neigh_learn(T.ifc.neigh, dst, &peer_mac, now_s());
			m = net_udp_alloc(T.q, &payload, &room);
			assert_non_null(m);
			memset(payload, (int)i, plen);
			assert_int_equal(net_udp_send(T.q, m, plen, dst, RTE_BE16(PEER_PORT),
						      RTE_BE16(UDP_PORT)),
					 0);
			m = sent_one();
			ip = l3_of(m);
			assert_ip_ok(ip);
			assert_int_equal(ip->src_addr, srcs[s]);
			assert_int_equal(ip->dst_addr, dst);
			assert_int_equal(l4_sum(ip, ip + 1, 8 + plen), 0xffff);
			rte_pktmbuf_free(m);
		}
	}
}

static void
test_tcp_rst(void **state)
{
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m;
	size_t len;

	(void)state;
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1000, 0, 0);
	assert_int_equal(feed(T.buf, len), 0);
	m = sent_one();
	assert_int_equal(m->pkt_len, 14 + 20 + 20);
	ip = l3_of(m);
	assert_ip_ok(ip);
	assert_int_equal(ip->src_addr, OUR_IP);
	assert_int_equal(ip->dst_addr, PEER_IP);
	assert_int_equal(ip->next_proto_id, IPPROTO_TCP);
	th = (struct rte_tcp_hdr *)(ip + 1);
	assert_int_equal(th->src_port, RTE_BE16(UDP_PORT));
	assert_int_equal(th->dst_port, RTE_BE16(PEER_PORT));
	assert_int_equal(th->tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(rte_be_to_cpu_32(th->sent_seq), 0);
	assert_int_equal(rte_be_to_cpu_32(th->recv_ack), 1001);
	assert_int_equal(th->data_off, 5 << 4);
	assert_int_equal(l4_sum(ip, th, sizeof(*th)), 0xffff);
	rte_pktmbuf_free(m);

	/* An ACK segment with data: RST with seq = its ACK. */
	len = tcp_frame(T.buf, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 70000, 5555, 10);
	assert_int_equal(feed(T.buf, len), 0);
	m = sent_one();
	ip = l3_of(m);
	th = (struct rte_tcp_hdr *)(ip + 1);
	assert_int_equal(th->tcp_flags, RTE_TCP_RST_FLAG);
	assert_int_equal(rte_be_to_cpu_32(th->sent_seq), 5555);
	assert_int_equal(l4_sum(ip, th, sizeof(*th)), 0xffff);
	assert_int_equal(m->pkt_len, 14 + 20 + 20);
	rte_pktmbuf_free(m);

	/* FIN with data and no ACK: ack = seq + data + 1. */
	len = tcp_frame(T.buf, RTE_TCP_FIN_FLAG, 10, 0, 5);
	assert_int_equal(feed(T.buf, len), 0);
	m = sent_one();
	th = (struct rte_tcp_hdr *)((struct rte_ipv4_hdr *)l3_of(m) + 1);
	assert_int_equal(rte_be_to_cpu_32(th->recv_ack), 16);
	rte_pktmbuf_free(m);
	assert_int_equal(event_count(NET_EV_tcp_rst_sent), 3);
	assert_int_equal(event_count(NET_EV_tcp_delivered), 0);

	len = tcp_frame(T.buf, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 1, 2, 0);
	expect_drop(len, tcp_ignored);

	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1, 0, 0);
	((struct rte_tcp_hdr *)(ip_of(T.buf) + 1))->data_off = 4 << 4;
	expect_drop(len, tcp_header);
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1, 0, 0);
	((struct rte_tcp_hdr *)(ip_of(T.buf) + 1))->data_off = 6 << 4;
	expect_drop(len, tcp_header);
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1, 0, 0);
	T.buf[len - 1] ^= 0x10; /* urgent pointer: checksum now wrong */
	expect_drop(len, tcp_header);
	/* Shorter than a TCP header. */
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1, 0, 0);
	ip_of(T.buf)->total_length = RTE_BE16(20 + 19);
	ip_fix_cksum(ip_of(T.buf));
	expect_drop(len - 1, truncated);
}

/* ---- TCP delivery and output ------------------------------------------------------------ */

static void
test_tcp_deliver(void **state)
{
	struct net_dgram *d = &T.out[0];
	struct rte_mbuf *m, *tail;
	uint8_t copy[200];
	size_t len;

	(void)state;
	net_queue_set_tcp(T.q, true);
	/* A SYN: handed up, nothing answered. */
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1000, 0, 0);
	assert_int_equal(feed(T.buf, len), 1);
	assert_int_equal(d->proto, IPPROTO_TCP);
	assert_int_equal(d->off, 20);
	assert_int_equal(d->len, 20);
	assert_ptr_equal(d->payload, rte_pktmbuf_mtod_offset(d->m, uint8_t *, 20));
	/* m's data at the IPv4 header, as for UDP. */
	assert_int_equal(d->m->pkt_len, 40);
	assert_memory_equal(rte_pktmbuf_mtod(d->m, uint8_t *), T.buf + 14, 40);
	assert_int_equal(d->src_ip, PEER_IP);
	assert_int_equal(d->dst_ip, OUR_IP);
	assert_int_equal(d->src_port, RTE_BE16(PEER_PORT));
	assert_int_equal(d->dst_port, RTE_BE16(UDP_PORT));
	assert_memory_equal(d->payload, T.buf + 34, 20);
	net_dgram_free(d);
	assert_nothing_sent();

	/* Data, to any port: header and data handed up, copied whole. */
	len = tcp_frame(T.buf, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 7, 9, 101);
	((struct rte_tcp_hdr *)(ip_of(T.buf) + 1))->dst_port = RTE_BE16(5555);
	((struct rte_tcp_hdr *)(ip_of(T.buf) + 1))->cksum = 0;
	((struct rte_tcp_hdr *)(ip_of(T.buf) + 1))->cksum =
		rte_ipv4_udptcp_cksum(ip_of(T.buf), ip_of(T.buf) + 1);
	assert_int_equal(feed(T.buf, len), 1);
	assert_int_equal(d->len, 121);
	assert_int_equal(d->dst_port, RTE_BE16(5555));
	assert_int_equal(net_dgram_copy(d, copy, sizeof(copy)), 121);
	assert_memory_equal(copy, T.buf + 34, 121);
	net_dgram_free(d);

	/* A RST is handed up too: the TCP layer decides. */
	len = tcp_frame(T.buf, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 1, 2, 0);
	assert_int_equal(feed(T.buf, len), 1);
	assert_int_equal(((const struct rte_tcp_hdr *)d->payload)->tcp_flags,
			 RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	net_dgram_free(d);

	/* A chain (data in a second segment): no payload pointer, checksum over the chain. */
	len = tcp_frame(T.buf, RTE_TCP_ACK_FLAG, 5, 6, 99);
	m = mbuf_of(T.buf, 54);
	tail = mbuf_of(T.buf + 54, len - 54);
	assert_int_equal(rte_pktmbuf_chain(m, tail), 0);
	assert_int_equal(net_queue_input(T.q, &m, 1, T.out, NET_BURST), 1);
	assert_null(d->payload);
	assert_int_equal(d->len, 119);
	assert_int_equal(net_dgram_copy(d, copy, sizeof(copy)), 119);
	assert_memory_equal(copy, T.buf + 34, 119);
	net_dgram_free(d);

	assert_int_equal(event_count(NET_EV_tcp_delivered), 4);
	assert_int_equal(event_count(NET_EV_tcp_rst_sent), 0);
	for (unsigned i = 0; i < NET_DROP_MAX; i++)
		assert_int_equal(drop_count(i), 0);

	/* Off again: answered with RST as before. */
	net_queue_set_tcp(T.q, false);
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1000, 0, 0);
	assert_int_equal(feed(T.buf, len), 0);
	m = sent_one();
	assert_int_equal(((struct rte_tcp_hdr *)((struct rte_ipv4_hdr *)l3_of(m) + 1))->tcp_flags,
			 RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	rte_pktmbuf_free(m);
	assert_int_equal(event_count(NET_EV_tcp_rst_sent), 1);
	assert_int_equal(event_count(NET_EV_tcp_delivered), 4);
}

static void
test_tcp_deliver_drops(void **state)
{
	struct rte_mbuf *pkts[3];
	size_t len;

	(void)state;
	net_queue_set_tcp(T.q, true);
	/* Data offset below 20 or past the segment; checksum wrong (RST or not); too short. */
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1, 0, 0);
	((struct rte_tcp_hdr *)(ip_of(T.buf) + 1))->data_off = 4 << 4;
	expect_drop(len, tcp_header);
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1, 0, 3);
	((struct rte_tcp_hdr *)(ip_of(T.buf) + 1))->data_off = 6 << 4;
	expect_drop(len, tcp_header);
	len = tcp_frame(T.buf, RTE_TCP_ACK_FLAG, 1, 0, 10);
	T.buf[len - 1] ^= 0x10;
	expect_drop(len, tcp_header);
	len = tcp_frame(T.buf, RTE_TCP_RST_FLAG, 1, 0, 0);
	T.buf[len - 1] ^= 0x10;
	expect_drop(len, tcp_header);
	len = tcp_frame(T.buf, RTE_TCP_SYN_FLAG, 1, 0, 0);
	ip_of(T.buf)->total_length = RTE_BE16(20 + 19);
	ip_fix_cksum(ip_of(T.buf));
	expect_drop(len - 1, truncated);

	/* out[] full: 3 segments, room for 2. */
	len = tcp_frame(T.buf, RTE_TCP_ACK_FLAG, 1, 0, 5);
	for (int i = 0; i < 3; i++)
		pkts[i] = mbuf_of(T.buf, len);
	assert_int_equal(net_queue_input(T.q, pkts, 3, T.out, 2), 2);
	net_dgram_free(&T.out[0]);
	net_dgram_free(&T.out[1]);
	assert_int_equal(drop_count(NET_DROP_tcp_rx_full), 1);
	assert_int_equal(event_count(NET_EV_tcp_delivered), 2);
	assert_int_equal(event_count(NET_EV_tcp_rst_sent), 0);
	assert_nothing_sent();
}

/* Fill TCP header @p th (@p doff bytes: options are NOPs), checksum 0, from us to the peer. */
static void
tcp_hdr_fill(struct rte_tcp_hdr *th, unsigned doff)
{
	memset(th, 0, sizeof(*th));
	th->src_port = RTE_BE16(UDP_PORT);
	th->dst_port = RTE_BE16(PEER_PORT);
	th->sent_seq = RTE_BE32(0x01020304);
	th->recv_ack = RTE_BE32(0x0a0b0c0d);
	th->data_off = (uint8_t)((doff / 4) << 4);
	th->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
	th->rx_win = RTE_BE16(29200);
	memset(th + 1, 1, doff - sizeof(*th));
}

/* Bytes of the segment last built by tcp_seg(), checksum field 0. */
static uint8_t seg_bytes[FRAME_MAX * 2];

/* A segment from net_tcp_alloc(): @p doff header bytes and @p dlen data bytes, one mbuf. */
static struct rte_mbuf *
tcp_seg(unsigned doff, size_t dlen)
{
	struct rte_mbuf *m = net_tcp_alloc(T.q);
	uint8_t *p;

	assert_non_null(m);
	assert_true(rte_pktmbuf_headroom(m) >= NET_TCP_HEADROOM);
	assert_int_equal(m->pkt_len, 0);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(doff + dlen));
	if (p == NULL)
		abort();
	tcp_hdr_fill((struct rte_tcp_hdr *)p, doff);
	for (size_t i = 0; i < dlen; i++)
		p[doff + i] = (uint8_t)(i * 7 + 3);
	memcpy(seg_bytes, p, doff + dlen);
	return m;
}

/* Append @p n data bytes in a new segment to @p head (and to seg_bytes at @p at). */
static void
tcp_seg_chain(struct rte_mbuf *head, size_t at, size_t n, uint8_t seed)
{
	struct rte_mbuf *s = rte_pktmbuf_alloc(T.pool);
	uint8_t *p;

	assert_non_null(s);
	p = (uint8_t *)rte_pktmbuf_append(s, (uint16_t)n);
	if (p == NULL) /* (not assert_non_null: GCC -O3 then reads p as 0 bytes long) */
		abort();
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 13);
	memcpy(seg_bytes + at, p, n);
	assert_int_equal(rte_pktmbuf_chain(head, s), 0);
}

/*
 * Check a frame net_tcp_output() sent to @p dst via @p mac: Ethernet, IPv4 (checksum as
 * rte_ipv4_cksum computes it), TCP checksum as rte_ipv4_udptcp_cksum_mbuf computes it, and the
 * @p l4_len segment bytes as built (seg_bytes).
 */
static void
check_tcp_sent(struct rte_mbuf *m, const struct rte_ether_addr *mac, rte_be32_t dst,
	       uint32_t l4_len)
{
	static uint8_t got[FRAME_MAX * 2];
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = l3_of(m);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	const void *p;
	uint16_t c;

	assert_int_equal(m->pkt_len, 14 + 20 + l4_len);
	assert_memory_equal(&eh->dst_addr, mac, 6);
	assert_memory_equal(&eh->src_addr, &our_mac, 6);
	assert_int_equal(eh->ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV4));
	assert_ip_ok(ip);
	c = ip->hdr_checksum;
	ip->hdr_checksum = 0;
	assert_int_equal(rte_ipv4_cksum(ip), c);
	ip->hdr_checksum = c;
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + l4_len);
	assert_int_equal(ip->fragment_offset, RTE_BE16(RTE_IPV4_HDR_DF_FLAG));
	assert_int_equal(ip->time_to_live, 64);
	assert_int_equal(ip->next_proto_id, IPPROTO_TCP);
	assert_int_equal(ip->src_addr, OUR_IP);
	assert_int_equal(ip->dst_addr, dst);
	c = th->cksum;
	th->cksum = 0;
	assert_int_equal(rte_ipv4_udptcp_cksum_mbuf(m, ip, 14 + 20), c);
	th->cksum = c;
	p = rte_pktmbuf_read(m, 14 + 20, l4_len, got);
	assert_non_null(p);
	if (p != got)
		memcpy(got, p, l4_len);
	got[16] = got[17] = 0;
	assert_memory_equal(got, seg_bytes, l4_len);
}

static void
test_tcp_output(void **state)
{
	static const struct {
		unsigned doff;
		size_t dlen;
	} cases[] = {{20, 0}, {20, 1}, {20, 333}, {32, 7}, {60, 1001}, {20, 1460}};
	struct rte_mbuf *m, *spare;
	uint16_t id = 0;

	(void)state;
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		uint16_t id2;

		m = tcp_seg(cases[i].doff, cases[i].dlen);
		assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
		m = sent_one();
		assert_int_equal(m->nb_segs, 1);
		check_tcp_sent(m, &peer_mac, PEER_IP, (uint32_t)(cases[i].doff + cases[i].dlen));
		assert_int_equal(m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0);
		id2 = rte_be_to_cpu_16(((struct rte_ipv4_hdr *)l3_of(m))->packet_id);
		if (i > 0)
			assert_int_equal(id2, (uint16_t)(id + 1));
		id = id2;
		rte_pktmbuf_free(m);
	}
	assert_int_equal(event_count(NET_EV_tcp_segs_sent), RTE_DIM(cases));

	/* Off-link: through the gateway. */
	m = tcp_seg(20, 9);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, IP4(192, 0, 2, 7)), 0);
	m = sent_one();
	check_tcp_sent(m, &gw_mac, IP4(192, 0, 2, 7), 29);
	rte_pktmbuf_free(m);

	/* A recycled mbuf is the next segment's. */
	assert_int_equal(feed(T.buf, udp_frame(T.buf, UDP_PORT, 40)), 1);
	spare = T.out[0].m;
	net_queue_recycle(T.q, &spare, 1);
	m = net_tcp_alloc(T.q);
	assert_ptr_equal(m, spare);
	assert_int_equal(m->pkt_len, 0);
	assert_true(rte_pktmbuf_headroom(m) >= NET_TCP_HEADROOM);
	rte_pktmbuf_free(m);
}

/* A 3-segment chain with odd lengths: header + 33 data bytes, then 101, then 77. */
static struct rte_mbuf *
tcp_seg3(void)
{
	struct rte_mbuf *m = tcp_seg(20, 33);

	tcp_seg_chain(m, 53, 101, 0x11);
	tcp_seg_chain(m, 154, 77, 0x22);
	assert_int_equal(m->nb_segs, 3);
	assert_int_equal(m->pkt_len, 231);
	return m;
}

static void
test_tcp_output_chain(void **state)
{
	struct net_iface ifc = T.ifc;
	struct rte_mbuf *m, *data, *clone;
	uint8_t keep[300];

	(void)state;
	/* A NIC that sends chains: the frame stays a chain; software checksum over it. */
	net_queue_destroy(&T.q);
	ifc.tx_multi_seg = true;
	queue_start(&ifc);
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	m = tcp_seg3();
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	m = sent_one();
	assert_int_equal(m->nb_segs, 3);
	check_tcp_sent(m, &peer_mac, PEER_IP, 231);
	rte_pktmbuf_free(m);
	/* Odd total length too. */
	m = tcp_seg(20, 4);
	tcp_seg_chain(m, 24, 3, 0x33);
	tcp_seg_chain(m, 27, 250, 0x44);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	m = sent_one();
	check_tcp_sent(m, &peer_mac, PEER_IP, 277);
	rte_pktmbuf_free(m);

	/* One that cannot: made one segment in place, same bytes and checksum. */
	net_queue_destroy(&T.q);
	ifc.tx_multi_seg = false;
	queue_start(&ifc);
	m = tcp_seg3();
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	m = sent_one();
	assert_int_equal(m->nb_segs, 1);
	check_tcp_sent(m, &peer_mac, PEER_IP, 231);
	rte_pktmbuf_free(m);

	/* No tailroom in the header segment, data held elsewhere (a clone, as a send buffer
	 * keeps it): copied into a fresh mbuf; the held data is untouched. */
	m = rte_pktmbuf_alloc(T.pool);
	assert_non_null(m);
	m->data_off = (uint16_t)(m->buf_len - 32);
	if (rte_pktmbuf_append(m, 32) == NULL)
		abort();
	tcp_hdr_fill(rte_pktmbuf_mtod(m, struct rte_tcp_hdr *), 32);
	assert_int_equal(rte_pktmbuf_tailroom(m), 0);
	memcpy(seg_bytes, rte_pktmbuf_mtod(m, void *), 32);
	data = rte_pktmbuf_alloc(T.pool);
	for (unsigned i = 0; i < 299; i++)
		((uint8_t *)rte_pktmbuf_append(data, 1))[0] = (uint8_t)(i ^ 0xa5);
	memcpy(keep, rte_pktmbuf_mtod(data, void *), 299);
	memcpy(seg_bytes + 32, keep, 299);
	clone = rte_pktmbuf_clone(data, T.pool);
	assert_non_null(clone);
	assert_int_equal(rte_pktmbuf_chain(m, clone), 0);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	m = sent_one();
	assert_int_equal(m->nb_segs, 1);
	check_tcp_sent(m, &peer_mac, PEER_IP, 331);
	rte_pktmbuf_free(m);
	assert_int_equal(rte_mbuf_refcnt_read(data), 1);
	assert_memory_equal(rte_pktmbuf_mtod(data, void *), keep, 299);
	rte_pktmbuf_free(data);
	assert_int_equal(event_count(NET_EV_tcp_segs_sent), 2);
}

static void
test_tcp_output_offload(void **state)
{
	struct net_iface ifc = T.ifc;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m;

	(void)state;
	net_queue_destroy(&T.q);
	ifc.offloads.tx_ip_cksum = true;
	ifc.offloads.tx_tcp_cksum = true;
	ifc.tx_multi_seg = true;
	queue_start(&ifc);
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	m = tcp_seg3();
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	m = sent_one();
	assert_true(m->ol_flags & RTE_MBUF_F_TX_IPV4);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
	assert_int_equal(m->l2_len, 14);
	assert_int_equal(m->l3_len, 20);
	assert_int_equal(m->l4_len, 20);
	ip = l3_of(m);
	th = (struct rte_tcp_hdr *)(ip + 1);
	assert_int_equal(ip->hdr_checksum, 0);
	assert_int_equal(th->cksum, rte_ipv4_phdr_cksum(ip, m->ol_flags));
	rte_pktmbuf_free(m);
}

/* A TSO frame of 2 x 1460 + 500 payload bytes: a header mbuf, then 3 chained payload mbufs. */
static struct rte_mbuf *
tso_frame(uint16_t segsz)
{
	struct rte_mbuf *m = tcp_seg(20, 0);

	tcp_seg_chain(m, 20, 1460, 0x10);
	tcp_seg_chain(m, 20 + 1460, 1460, 0x20);
	tcp_seg_chain(m, 20 + 2920, 500, 0x30);
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	m->tso_segsz = segsz;
	return m;
}

static void
test_tcp_output_tso(void **state)
{
	struct net_iface ifc = T.ifc;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m;
	uint16_t id;

	(void)state;
	/* A port without TSO refuses a frame longer than one segment. */
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	assert_int_equal(net_tcp_output(T.q, tso_frame(1460), OUR_IP, PEER_IP), -EMSGSIZE);
	assert_nothing_sent();

	net_queue_destroy(&T.q);
	ifc.offloads.tx_tcp_tso = true;
	ifc.tx_multi_seg = true;
	ifc.tso = (struct net_tso){.max_payload = 65495, .max_segs = 64, .max_segsz = 1460};
	queue_start(&ifc);
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	m = tso_frame(1460);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	m = sent_one();
	assert_int_equal(m->nb_segs, 4);
	assert_int_equal(m->pkt_len, 14 + 20 + 20 + 3420);
	assert_int_equal(
		m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM),
		RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
	assert_int_equal(m->tso_segsz, 1460);
	assert_int_equal(m->l2_len, 14);
	assert_int_equal(m->l3_len, 20);
	assert_int_equal(m->l4_len, 20);
	ip = l3_of(m);
	th = (struct rte_tcp_hdr *)(ip + 1);
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 20 + 3420);
	assert_int_equal(ip->hdr_checksum, 0);
	/* the pseudo-header sum without the length, as TSO wants it */
	assert_int_equal(th->cksum, rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_TCP_SEG));
	id = rte_be_to_cpu_16(ip->packet_id);
	rte_pktmbuf_free(m);
	assert_int_equal(event_count(NET_EV_tcp_segs_sent), 3);
	assert_int_equal(event_count(NET_EV_tcp_tso_frames), 1);

	/* The NIC numbers the 3 segments: the next datagram's id is 3 on. */
	m = tcp_seg(20, 100);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	m = sent_one();
	assert_int_equal(rte_be_to_cpu_16(((struct rte_ipv4_hdr *)l3_of(m))->packet_id),
			 (uint16_t)(id + 3));
	rte_pktmbuf_free(m);

	/* A TSO frame whose payload fits one segment: an ordinary segment, checksums in software. */
	m = tso_frame(4000);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), -EMSGSIZE); /* over the MTU */
	m = tcp_seg(20, 0);
	tcp_seg_chain(m, 20, 700, 0x40);
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	m->tso_segsz = 1460;
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	m = sent_one();
	assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG, 0);
	check_tcp_sent(m, &peer_mac, PEER_IP, 720);
	rte_pktmbuf_free(m);
	assert_int_equal(event_count(NET_EV_tcp_tso_frames), 1);

	/* Beyond what the port's TSO takes: segment size, frame length, mbufs. */
	assert_int_equal(net_tcp_output(T.q, tso_frame(1461), OUR_IP, PEER_IP), -EMSGSIZE);
	assert_int_equal(net_tcp_output(T.q, tso_frame(0), OUR_IP, PEER_IP), -EMSGSIZE);
	net_queue_destroy(&T.q);
	ifc.tso.max_payload = 3000;
	queue_start(&ifc);
	assert_int_equal(net_tcp_output(T.q, tso_frame(1460), OUR_IP, PEER_IP), -EMSGSIZE);
	net_queue_destroy(&T.q);
	ifc.tso.max_payload = 65495;
	ifc.tso.max_segs = 2;
	queue_start(&ifc);
	assert_int_equal(net_tcp_output(T.q, tso_frame(1460), OUR_IP, PEER_IP), -EMSGSIZE);
	assert_nothing_sent();
	assert_int_equal(event_count(NET_EV_tcp_segs_sent), 0);
}

static void
test_tcp_output_errors(void **state)
{
	struct rte_mbuf *m;
	struct rte_arp_hdr *ah;

	(void)state;
	/* Unknown on-link neighbour: an ARP request, -EHOSTUNREACH, counted. */
	m = tcp_seg(20, 10);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, IP4(10, 9, 0, 7)), -EHOSTUNREACH);
	assert_int_equal(drop_count(NET_DROP_no_neighbour), 1);
	m = sent_one();
	ah = l3_of(m);
	assert_int_equal(ah->arp_opcode, RTE_BE16(RTE_ARP_OP_REQUEST));
	assert_int_equal(ah->arp_data.arp_tip, IP4(10, 9, 0, 7));
	rte_pktmbuf_free(m);

	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	/* Malformed headers and a segment too long for the MTU: refused, consumed. */
	m = tcp_seg(20, 10);
	rte_pktmbuf_mtod(m, struct rte_tcp_hdr *)->data_off = 4 << 4;
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), -EINVAL);
	m = tcp_seg(20, 10);
	rte_pktmbuf_mtod(m, struct rte_tcp_hdr *)->data_off = 8 << 4; /* 32 > 30 bytes */
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), -EINVAL);
	m = tcp_seg(20, 0);
	rte_pktmbuf_trim(m, 1);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), -EINVAL);
	m = tcp_seg(20, 1461);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), -EMSGSIZE);
	assert_int_equal(net_tcp_output(T.q, NULL, OUR_IP, PEER_IP), -EINVAL);
	/* No headroom left for IPv4. */
	m = rte_pktmbuf_alloc(T.pool);
	rte_pktmbuf_prepend(m, rte_pktmbuf_headroom(m));
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - 20));
	tcp_hdr_fill(rte_pktmbuf_mtod(m, struct rte_tcp_hdr *), 20);
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), -ENOSPC);
	assert_int_equal(drop_count(NET_DROP_no_mbuf), 1);
	assert_nothing_sent();
	assert_int_equal(event_count(NET_EV_tcp_segs_sent), 0);
}

static void
test_udp_alloc_pool_empty(void **state)
{
	struct rte_mbuf *held[4096 + NET_SPARE_MBUFS], *m;
	unsigned n = 0;
	uint8_t *payload;
	uint16_t room;

	(void)state;
	/* Every mbuf taken, the queue's spares first: the try that finds none counts nothing. */
	while (n < RTE_DIM(held) && (m = net_udp_try_alloc(T.q, &payload, &room)) != NULL)
		held[n++] = m;
	assert_true(n < RTE_DIM(held));
	assert_int_equal(drop_count(NET_DROP_no_mbuf), 0);
	/* The stack's in-place buffer tries quietly; the send its reply falls back to counts. */
	assert_null(net_udp_alloc(T.q, &payload, &room));
	assert_int_equal(drop_count(NET_DROP_no_mbuf), 1);
	rte_pktmbuf_free_bulk(held, n);
	m = net_udp_try_alloc(T.q, &payload, &room);
	assert_non_null(m);
	assert_true(room > 0);
	rte_pktmbuf_free(m);
}

/* A UDP datagram of @p plen bytes to us, as 3 fragments (data 800, 800, rest). */
static size_t
make_fragments(uint8_t frames[3][FRAME_MAX], size_t lens[3], size_t plen, uint16_t id)
{
	static uint8_t whole[FRAME_MAX * 2];
	struct rte_ipv4_hdr *wip;
	size_t dlen, off = 0;
	const size_t cut[3] = {800, 800, 0};

	/* The whole datagram first, for its UDP checksum. */
	wip = (struct rte_ipv4_hdr *)whole;
	put_ip(whole, IPPROTO_UDP, 8 + plen);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(wip + 1);
	uh->src_port = RTE_BE16(PEER_PORT);
	uh->dst_port = RTE_BE16(UDP_PORT);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		((uint8_t *)(uh + 1))[i] = (uint8_t)(i * 7);
	uh->dgram_cksum = 0;
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(wip, uh);
	dlen = 8 + plen;
	for (int f = 0; f < 3; f++) {
		size_t n = f < 2 ? cut[f] : dlen - off;
		size_t o = put_eth(frames[f], &our_mac, RTE_ETHER_TYPE_IPV4);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frames[f] + o);

		put_ip(frames[f] + o, IPPROTO_UDP, n);
		ip->packet_id = rte_cpu_to_be_16(id);
		ip->fragment_offset = rte_cpu_to_be_16(
			(uint16_t)((off / 8) | (f < 2 ? RTE_IPV4_HDR_MF_FLAG : 0)));
		ip_fix_cksum(ip);
		memcpy(ip + 1, (uint8_t *)(wip + 1) + off, n);
		lens[f] = o + sizeof(*ip) + n;
		off += n;
	}
	return plen;
}

static void
check_reassembled(size_t plen)
{
	static uint8_t buf[FRAME_MAX * 2];
	struct net_dgram *d = &T.out[0];

	assert_int_equal(d->len, plen);
	assert_true(d->m->nb_segs > 1);
	assert_null(d->payload);
	assert_int_equal(net_dgram_copy(d, buf, sizeof(buf)), plen);
	for (size_t i = 0; i < plen; i++)
		assert_int_equal(buf[i], (uint8_t)(i * 7));
	net_dgram_free(d);
}

static void
test_fragments(void **state)
{
	static uint8_t frames[3][FRAME_MAX];
	size_t lens[3], plen = 2000;

	(void)state;
	make_fragments(frames, lens, plen, 1);
	assert_int_equal(feed(frames[0], lens[0]), 0);
	assert_int_equal(feed(frames[1], lens[1]), 0);
	assert_true(net_queue_busy(T.q));
	assert_int_equal(feed(frames[2], lens[2]), 1);
	check_reassembled(plen);

	make_fragments(frames, lens, plen, 2);
	assert_int_equal(feed(frames[2], lens[2]), 0);
	assert_int_equal(feed(frames[1], lens[1]), 0);
	assert_int_equal(feed(frames[0], lens[0]), 1);
	check_reassembled(plen);
	assert_int_equal(event_count(NET_EV_ip_fragments), 6);
	assert_int_equal(event_count(NET_EV_ip_reassembled), 2);

	/* A payload byte changed: the checksum over the chain catches it. */
	make_fragments(frames, lens, plen, 3);
	frames[1][lens[1] - 1] ^= 0x21;
	feed(frames[0], lens[0]);
	feed(frames[1], lens[1]);
	assert_int_equal(feed(frames[2], lens[2]), 0);
	assert_int_equal(drop_count(NET_DROP_udp_checksum), 1);

	/* A middle fragment that is not a multiple of 8. */
	make_fragments(frames, lens, plen, 4);
	ip_of(frames[1])->total_length = RTE_BE16(20 + 799);
	ip_fix_cksum(ip_of(frames[1]));
	expect_drop_frame(frames[1], lens[1] - 1, NET_DROP_frag_dropped);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 1);
	assert_int_equal(drop_count(NET_DROP_udp_checksum), 1);
	assert_nothing_sent();
}

static void
test_fragments_expire(void **state)
{
	static uint8_t frames[3][FRAME_MAX];
	size_t lens[3];
	uint64_t timeout = rte_get_tsc_hz() * NET_FRAG_TIMEOUT_MS / 1000;

	(void)state;
	make_fragments(frames, lens, 2000, 9);
	assert_int_equal(feed(frames[0], lens[0]), 0);
	assert_int_equal(feed(frames[2], lens[2]), 0);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 0);
	/* Not yet. */
	assert_int_equal(net_queue_timers(T.q, rte_rdtsc()), 0);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 0);
	assert_int_equal(net_queue_timers(T.q, rte_rdtsc() + timeout + 1), 2);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 2);
	assert_false(net_queue_busy(T.q));
	/* The late middle fragment starts a new reassembly, which expires too. */
	assert_int_equal(feed(frames[1], lens[1]), 0);
	net_queue_timers(T.q, rte_rdtsc() + timeout + 1);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 3);
	assert_nothing_sent();
}

/* ---- reassembly of large datagrams ---------------------------------------------------- */

/* The datagram the large-fragment tests cut up: IPv4 header, UDP header, payload i * 7. */
static uint8_t big[65536 + 2048]; /* room for fragments reaching past 65535 */

/* Most fragments one test builds at once. */
#define FRAGS_MAX 128

/* Build a UDP datagram of @p plen payload bytes in big. @return its IPv4 payload length. */
static size_t
big_datagram(size_t plen)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)big;
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

	put_ip(big, IPPROTO_UDP, 8 + plen);
	uh->src_port = RTE_BE16(PEER_PORT);
	uh->dst_port = RTE_BE16(UDP_PORT);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		((uint8_t *)(uh + 1))[i] = (uint8_t)(i * 7);
	uh->dgram_cksum = 0;
	uh->dgram_cksum = (uint16_t)~l4_sum(ip, uh, 8 + plen);
	if (uh->dgram_cksum == 0)
		uh->dgram_cksum = 0xffff;
	return 8 + plen;
}

/* A frame carrying bytes [off, off + n) of big's IPv4 payload: a fragment with id @p id. */
static struct rte_mbuf *
frag_mbuf(uint16_t id, size_t off, size_t n, bool more)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(T.pool);
	uint8_t *p;
	struct rte_ipv4_hdr *ip;
	size_t o;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(struct rte_ether_hdr) + 20 + n));
	assert_non_null(p);
	o = put_eth(p, &our_mac, RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(p + o);
	put_ip(p + o, IPPROTO_UDP, n);
	ip->packet_id = rte_cpu_to_be_16(id);
	ip->fragment_offset =
		rte_cpu_to_be_16((uint16_t)((off / 8) | (more ? RTE_IPV4_HDR_MF_FLAG : 0)));
	ip_fix_cksum(ip);
	memcpy(ip + 1, big + 20 + off, n);
	return m;
}

/* Cut big's datagram (@p dlen IPv4 payload bytes) into fragments of @p step bytes. */
static unsigned
split(struct rte_mbuf **ms, size_t dlen, size_t step, uint16_t id)
{
	unsigned n = 0;

	for (size_t off = 0; off < dlen; off += step) {
		size_t len = dlen - off < step ? dlen - off : step;

		assert_true(n < FRAGS_MAX);
		ms[n++] = frag_mbuf(id, off, len, off + len < dlen);
	}
	return n;
}

/* Feed ms[order[i]] (or ms[i] when order is NULL) one at a time. @return datagrams delivered. */
static unsigned
feed_mbufs(struct rte_mbuf **ms, const unsigned *order, unsigned n)
{
	unsigned got = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = ms[order != NULL ? order[i] : i];

		got += net_queue_input(T.q, &m, 1, T.out + got, NET_BURST - got);
	}
	return got;
}

/* Check T.out[0] is big's datagram of @p plen payload bytes, rebuilt as a chain; free it. */
static void
check_big(size_t plen)
{
	static uint8_t buf[65536];
	struct net_dgram *d = &T.out[0];
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(d->m, const struct rte_ipv4_hdr *);
	uint16_t raw = 0;
	uint32_t sum;

	assert_int_equal(d->len, plen);
	assert_true(d->m->nb_segs > 1);
	assert_int_equal(d->m->pkt_len, 20 + 8 + plen);
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 8 + plen);
	assert_int_equal(ip->fragment_offset, 0);
	assert_ip_ok(ip);
	assert_int_equal(net_dgram_copy(d, buf, sizeof(buf)), plen);
	assert_memory_equal(buf, big + 28, plen);
	/* The UDP checksum over the whole chain. */
	assert_int_equal(rte_raw_cksum_mbuf(d->m, 20, (uint32_t)(8 + plen), &raw), 0);
	sum = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
	net_dgram_free(d);
}

/* order[] = 0..n-1 reversed (@p how 1) or shuffled with a fixed seed (@p how 2). */
static void
make_order(unsigned *order, unsigned n, int how)
{
	uint32_t r = 12345;

	for (unsigned i = 0; i < n; i++)
		order[i] = how == 1 ? n - 1 - i : i;
	if (how != 2)
		return;
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j, t;

		r = r * 1103515245u + 12345u;
		j = (r >> 8) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

static unsigned
pool_free(void)
{
	return rte_mempool_avail_count(T.pool);
}

static void
test_frag_20k_any_order(void **state)
{
	struct rte_mbuf *ms[FRAGS_MAX];
	unsigned order[FRAGS_MAX], n = 0, free0 = pool_free();
	size_t dlen = big_datagram(20000);

	(void)state;
	for (int how = 0; how < 3; how++) {
		n = split(ms, dlen, 1400, (uint16_t)(100 + how));
		assert_int_equal(n, 15);
		make_order(order, n, how);
		assert_int_equal(feed_mbufs(ms, order, n - 1), 0);
		assert_true(net_queue_busy(T.q));
		assert_int_equal(feed_mbufs(ms, order + n - 1, 1), 1);
		check_big(20000);
		assert_false(net_queue_busy(T.q));
	}
	assert_int_equal(event_count(NET_EV_ip_fragments), 3 * n);
	assert_int_equal(event_count(NET_EV_ip_reassembled), 3);
	assert_int_equal(event_count(NET_EV_udp_delivered), 3);
	for (unsigned i = 0; i < NET_DROP_MAX; i++)
		assert_int_equal(drop_count(i), 0);
	assert_int_equal(pool_free(), free0);
}

static void
test_frag_64k(void **state)
{
	struct rte_mbuf *ms[FRAGS_MAX];
	unsigned order[FRAGS_MAX], n, free0 = pool_free();
	size_t dlen = big_datagram(65000);

	(void)state;
	n = split(ms, dlen, 1480, 7);
	assert_int_equal(n, 44);
	make_order(order, n, 2);
	assert_int_equal(feed_mbufs(ms, order, n), 1);
	check_big(65000);
	/* The largest there is: 65535 bytes of IPv4, 64 fragments of 1024 (the most we keep). */
	dlen = big_datagram(65535 - 28);
	n = split(ms, dlen, 1024, 8);
	assert_int_equal(n, NET_FRAG_MAX_FRAGS);
	assert_int_equal(feed_mbufs(ms, NULL, n), 1);
	check_big(65535 - 28);
	assert_int_equal(event_count(NET_EV_ip_reassembled), 2);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 0);
	assert_int_equal(pool_free(), free0);
}

static void
test_frag_duplicate(void **state)
{
	struct rte_mbuf *ms[FRAGS_MAX];
	unsigned n, free0 = pool_free();
	size_t dlen = big_datagram(20000);

	(void)state;
	n = split(ms, dlen, 1400, 11);
	assert_int_equal(feed_mbufs(ms, NULL, 5), 0);
	/* Fragment 3 and the last one again: dropped, the datagram still comes out. */
	struct rte_mbuf *dup[2] = {frag_mbuf(11, 3 * 1400, 1400, true),
				   frag_mbuf(11, (n - 1) * 1400, dlen - (n - 1) * 1400, false)};
	assert_int_equal(feed_mbufs(dup, NULL, 1), 0);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 1);
	assert_int_equal(feed_mbufs(ms + n - 1, NULL, 1), 0);
	assert_int_equal(feed_mbufs(dup + 1, NULL, 1), 0);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 2);
	assert_int_equal(feed_mbufs(ms + 5, NULL, n - 6), 1);
	check_big(20000);
	assert_int_equal(drop_count(NET_DROP_frag_overlap), 0);
	assert_int_equal(pool_free(), free0);
}

static void
test_frag_overlap(void **state)
{
	struct rte_mbuf *ms[FRAGS_MAX], *bad;
	unsigned n, free0 = pool_free();
	uint64_t timeout = rte_get_tsc_hz() * NET_FRAG_TIMEOUT_MS / 1000;
	size_t dlen = big_datagram(20000);

	(void)state;
	n = split(ms, dlen, 1400, 21);
	assert_int_equal(feed_mbufs(ms, NULL, 3), 0);
	/* Bytes [2000, 3000) overlap fragment 1: the whole datagram is given up. */
	bad = frag_mbuf(21, 2000, 1000, true);
	assert_int_equal(feed_mbufs(&bad, NULL, 1), 0);
	assert_int_equal(drop_count(NET_DROP_frag_overlap), 4);
	/* Its other fragments are dropped too (RFC 5722), until the flow times out. */
	assert_int_equal(feed_mbufs(ms + 3, NULL, n - 3), 0);
	assert_int_equal(drop_count(NET_DROP_frag_overlap), 4 + n - 3);
	assert_int_equal(event_count(NET_EV_ip_reassembled), 0);
	assert_true(net_queue_busy(T.q));
	assert_int_equal(net_queue_timers(T.q, rte_rdtsc() + timeout + 1), 0);
	assert_false(net_queue_busy(T.q));
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 0);

	/* Two last fragments that disagree on the end; a last one ending before held data. */
	n = split(ms, dlen, 1400, 22);
	assert_int_equal(feed_mbufs(ms + n - 1, NULL, 1), 0);
	bad = frag_mbuf(22, 1400, 100, false);
	assert_int_equal(feed_mbufs(&bad, NULL, 1), 0);
	assert_int_equal(drop_count(NET_DROP_frag_overlap), 4 + 12 + 2);
	for (unsigned i = 0; i < n - 1; i++)
		rte_pktmbuf_free(ms[i]);
	n = split(ms, dlen, 1400, 23);
	assert_int_equal(feed_mbufs(ms + 5, NULL, 1), 0);
	bad = frag_mbuf(23, 1400, 100, false);
	assert_int_equal(feed_mbufs(&bad, NULL, 1), 0);
	assert_int_equal(drop_count(NET_DROP_frag_overlap), 4 + 12 + 4);
	for (unsigned i = 0; i < n; i++)
		if (i != 5)
			rte_pktmbuf_free(ms[i]);
	net_queue_timers(T.q, rte_rdtsc() + timeout + 1);
	assert_false(net_queue_busy(T.q));
	assert_int_equal(pool_free(), free0);
	assert_nothing_sent();
}

static void
test_frag_missing_expires(void **state)
{
	struct rte_mbuf *ms[FRAGS_MAX];
	unsigned n, free0 = pool_free();
	uint64_t timeout = rte_get_tsc_hz() * NET_FRAG_TIMEOUT_MS / 1000;
	size_t dlen = big_datagram(20000);

	(void)state;
	n = split(ms, dlen, 1400, 31);
	assert_int_equal(feed_mbufs(ms, NULL, 7), 0);
	assert_int_equal(feed_mbufs(ms + 8, NULL, n - 8), 0);
	assert_true(net_queue_busy(T.q));
	assert_int_equal(pool_free(), free0 - (n - 1) - 1);
	assert_int_equal(net_queue_timers(T.q, rte_rdtsc()), 0);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 0);
	assert_int_equal(net_queue_timers(T.q, rte_rdtsc() + timeout + 1), n - 1);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), n - 1);
	assert_false(net_queue_busy(T.q));
	rte_pktmbuf_free(ms[7]);
	assert_int_equal(pool_free(), free0);
}

static void
test_frag_table_full(void **state)
{
	struct rte_mbuf *ms[NET_FRAG_FLOWS + 1][2];
	size_t dlen = big_datagram(2000);

	(void)state;
	/* One fragment of NET_FRAG_FLOWS + 1 datagrams: the last evicts the oldest. */
	for (unsigned i = 0; i <= NET_FRAG_FLOWS; i++) {
		assert_int_equal(split(ms[i], dlen, 1024, (uint16_t)(1000 + i)), 2);
		assert_int_equal(feed_mbufs(ms[i], NULL, 1), 0);
	}
	assert_int_equal(drop_count(NET_DROP_frag_evicted), 1);
	/* Datagram 2 is still there and completes. */
	assert_int_equal(feed_mbufs(ms[2] + 1, NULL, 1), 1);
	check_big(2000);
	/* Datagram 0's second fragment starts over (a free entry now), never completes. */
	assert_int_equal(feed_mbufs(ms[0] + 1, NULL, 1), 0);
	assert_int_equal(drop_count(NET_DROP_frag_evicted), 1);
	/* The newest ones complete. */
	assert_int_equal(feed_mbufs(ms[NET_FRAG_FLOWS] + 1, NULL, 1), 1);
	check_big(2000);
	for (unsigned i = 3; i < NET_FRAG_FLOWS; i++)
		rte_pktmbuf_free(ms[i][1]);
	rte_pktmbuf_free(ms[1][1]);
}

static void
test_frag_mbuf_cap(void **state)
{
	static struct rte_mbuf *ms[64][FRAGS_MAX];
	unsigned n = 0, flows = NET_FRAG_MBUFS_MAX / 14 + 1, free0 = pool_free();
	size_t dlen = big_datagram(20000);

	(void)state;
	/* 14 of 15 fragments of 37 datagrams: 518 mbufs, over the cap by 6. */
	for (unsigned f = 0; f < flows; f++) {
		n = split(ms[f], dlen, 1400, (uint16_t)(2000 + f));
		assert_int_equal(feed_mbufs(ms[f], NULL, n - 1), 0);
	}
	/* The oldest datagram made room: its 14 fragments went. */
	assert_int_equal(drop_count(NET_DROP_frag_evicted), 14);
	assert_true(free0 - pool_free() <= NET_FRAG_MBUFS_MAX + flows);
	/* The newest completes; the evicted one does not. */
	assert_int_equal(feed_mbufs(ms[flows - 1] + n - 1, NULL, 1), 1);
	check_big(20000);
	assert_int_equal(feed_mbufs(ms[0] + n - 1, NULL, 1), 0);
	for (unsigned f = 1; f < flows - 1; f++)
		rte_pktmbuf_free(ms[f][n - 1]);
}

static void
test_frag_bad(void **state)
{
	struct rte_mbuf *ms[FRAGS_MAX], *m;
	size_t dlen = big_datagram(600);
	unsigned n;

	(void)state;
	/* Beyond 65535 bytes: offset 65472 + 100 bytes + header. */
	m = frag_mbuf(41, 65472, 100, false);
	assert_int_equal(feed_mbufs(&m, NULL, 1), 0);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 1);
	/* A middle fragment whose payload is not a multiple of 8. */
	m = frag_mbuf(42, 0, 100, true);
	assert_int_equal(feed_mbufs(&m, NULL, 1), 0);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 2);
	assert_false(net_queue_busy(T.q));
	/* 76 fragments of 8 bytes: the 65th gives the datagram up, the rest follow. */
	n = split(ms, dlen, 8, 43);
	assert_int_equal(n, 76);
	assert_int_equal(feed_mbufs(ms, NULL, n), 0);
	assert_int_equal(drop_count(NET_DROP_frag_dropped), 2 + n);
	assert_int_equal(event_count(NET_EV_ip_reassembled), 0);
	assert_nothing_sent();
}

/* Check a UDP frame we sent: to @p mac / @p dst, @p plen payload bytes (i ^ 0x5a). */
static void
check_udp_sent(struct rte_mbuf *m, const struct rte_ether_addr *mac, rte_be32_t dst, uint16_t plen)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *p = (uint8_t *)(uh + 1);

	assert_int_equal(m->pkt_len, 14 + 20 + 8 + plen);
	assert_memory_equal(&eh->dst_addr, mac, 6);
	assert_memory_equal(&eh->src_addr, &our_mac, 6);
	assert_int_equal(eh->ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV4));
	assert_ip_ok(ip);
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 8 + plen);
	assert_int_equal(ip->fragment_offset, RTE_BE16(RTE_IPV4_HDR_DF_FLAG));
	assert_int_equal(ip->time_to_live, 64);
	assert_int_equal(ip->next_proto_id, IPPROTO_UDP);
	assert_int_equal(ip->src_addr, OUR_IP);
	assert_int_equal(ip->dst_addr, dst);
	assert_int_equal(uh->src_port, RTE_BE16(UDP_PORT));
	assert_int_equal(uh->dst_port, RTE_BE16(PEER_PORT));
	assert_int_equal(rte_be_to_cpu_16(uh->dgram_len), 8 + plen);
	assert_int_not_equal(uh->dgram_cksum, 0);
	assert_int_equal(l4_sum(ip, uh, 8 + plen), 0xffff);
	for (uint16_t i = 0; i < plen; i++)
		assert_int_equal(p[i], (uint8_t)(i ^ 0x5a));
}

static int
send_to(rte_be32_t dst, uint16_t plen)
{
	uint8_t *payload;
	uint16_t room;
	struct rte_mbuf *m = net_udp_alloc(T.q, &payload, &room);

	assert_non_null(m);
	assert_true(room >= plen);
	assert_int_equal(room, 1500 - 28);
	for (uint16_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)(i ^ 0x5a);
	return net_udp_send(T.q, m, plen, dst, RTE_BE16(PEER_PORT), RTE_BE16(UDP_PORT));
}

static void
test_udp_send(void **state)
{
	struct rte_mbuf *m = NULL, *m2 = NULL;
	struct rte_arp_hdr *ah;
	uint16_t id1, id2;

	(void)state;
	uint64_t frames0 = event_count(NET_EV_tx_frames), bytes0 = event_count(NET_EV_tx_bytes);
	uint64_t arps0 = event_count(NET_EV_arp_requests_sent); /* our announcement */
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	assert_int_equal(send_to(PEER_IP, 300), 0);
	assert_int_equal(send_to(PEER_IP, 1472), 0);
	net_queue_flush(T.q);
	assert_int_equal(rte_ring_count(T.txr), 2);
	rte_ring_dequeue(T.txr, (void **)&m);
	rte_ring_dequeue(T.txr, (void **)&m2);
	check_udp_sent(m, &peer_mac, PEER_IP, 300);
	check_udp_sent(m2, &peer_mac, PEER_IP, 1472);
	id1 = rte_be_to_cpu_16(((struct rte_ipv4_hdr *)l3_of(m))->packet_id);
	id2 = rte_be_to_cpu_16(((struct rte_ipv4_hdr *)l3_of(m2))->packet_id);
	assert_int_equal((uint16_t)(id1 + 1), id2);
	assert_int_equal(event_count(NET_EV_tx_frames), frames0 + 2);
	assert_int_equal(event_count(NET_EV_tx_bytes), bytes0 + m->pkt_len + m2->pkt_len);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(m2);

	/* Too long for the room. */
	uint8_t *payload;
	uint16_t room;
	m = net_udp_alloc(T.q, &payload, &room);
	assert_int_equal(net_udp_send(T.q, m, room + 1, PEER_IP, 1, 1), -EINVAL);

	/* Off-link: through the gateway. */
	assert_int_equal(send_to(IP4(192, 0, 2, 7), 5), 0);
	m = sent_one();
	check_udp_sent(m, &gw_mac, IP4(192, 0, 2, 7), 5);
	rte_pktmbuf_free(m);

	/* Unknown on-link neighbour: an ARP request, once per 100 ms. */
	assert_int_equal(send_to(IP4(10, 9, 0, 7), 5), -EHOSTUNREACH);
	assert_int_equal(drop_count(NET_DROP_no_neighbour), 1);
	m = sent_one();
	assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), bcast_mac.addr_bytes, 6);
	ah = l3_of(m);
	assert_int_equal(ah->arp_opcode, RTE_BE16(RTE_ARP_OP_REQUEST));
	assert_memory_equal(&ah->arp_data.arp_sha, &our_mac, 6);
	assert_int_equal(ah->arp_data.arp_sip, OUR_IP);
	assert_int_equal(ah->arp_data.arp_tip, IP4(10, 9, 0, 7));
	rte_pktmbuf_free(m);
	assert_int_equal(send_to(IP4(10, 9, 0, 7), 5), -EHOSTUNREACH);
	assert_nothing_sent();
	assert_int_equal(drop_count(NET_DROP_no_neighbour), 2);
	assert_int_equal(event_count(NET_EV_arp_requests_sent), arps0 + 1);

	/* The datagrams dropped (too long, no neighbour) took no identification (id2 + 1 went
	 * through the gateway). */
	assert_int_equal(send_to(PEER_IP, 5), 0);
	m = sent_one();
	assert_int_equal(rte_be_to_cpu_16(((struct rte_ipv4_hdr *)l3_of(m))->packet_id),
			 (uint16_t)(id2 + 2));
	rte_pktmbuf_free(m);
}

static void
test_udp_send_offload(void **state)
{
	struct net_iface ifc = T.ifc;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *uh;
	struct rte_mbuf *m;

	(void)state;
	net_queue_destroy(&T.q);
	ifc.offloads.tx_ip_cksum = true;
	ifc.offloads.tx_udp_cksum = true;
	queue_start(&ifc);
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	assert_int_equal(send_to(PEER_IP, 10), 0);
	m = sent_one();
	assert_true(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_IPV4);
	assert_int_equal(m->l2_len, 14);
	assert_int_equal(m->l3_len, 20);
	ip = l3_of(m);
	uh = (struct rte_udp_hdr *)(ip + 1);
	assert_int_equal(ip->hdr_checksum, 0);
	assert_int_equal(uh->dgram_cksum, rte_ipv4_phdr_cksum(ip, 0));
	rte_pktmbuf_free(m);
}

static void
test_tx_batching(void **state)
{
	uint64_t before, frames0 = event_count(NET_EV_tx_frames);

	(void)state;
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	before = rte_rdtsc();
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_to(PEER_IP, 1), 0);
	assert_int_equal(rte_ring_count(T.txr), 0);
	assert_true(net_queue_busy(T.q));
	/* Upkeep before the drain time keeps them. */
	assert_int_equal(net_queue_timers(T.q, before), 0);
	assert_int_equal(rte_ring_count(T.txr), 0);
	/* After it, sends them. */
	assert_int_equal(net_queue_timers(T.q, rte_rdtsc() + rte_get_tsc_hz() / 1000), 5);
	assert_int_equal(tx_drain(), 5);
	assert_false(net_queue_busy(T.q));
	/* A full batch goes at once. */
	for (int i = 0; i < NET_BURST - 1; i++)
		assert_int_equal(send_to(PEER_IP, 1), 0);
	assert_int_equal(rte_ring_count(T.txr), 0);
	assert_int_equal(send_to(PEER_IP, 1), 0);
	assert_int_equal(rte_ring_count(T.txr), NET_BURST);
	assert_int_equal(tx_drain(), NET_BURST);
	/* Flush sends now. */
	assert_int_equal(send_to(PEER_IP, 1), 0);
	net_queue_flush(T.q);
	assert_int_equal(tx_drain(), 1);
	assert_int_equal(event_count(NET_EV_tx_frames), frames0 + 5 + NET_BURST + 1);
}

static void
test_tx_full(void **state)
{
	void *fill[1024];
	unsigned room = rte_ring_free_count(T.txr);
	uint64_t frames0 = event_count(NET_EV_tx_frames);

	(void)state;
	/* Fill the TX ring but 2 slots; 5 frames: 2 taken, 3 refused. */
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, now_s());
	for (unsigned i = 0; i < room - 2; i++)
		fill[i] = (void *)(uintptr_t)(i + 1);
	assert_int_equal(rte_ring_enqueue_bulk(T.txr, fill, room - 2, NULL), room - 2);
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_to(PEER_IP, 1), 0);
	net_queue_flush(T.q);
	assert_int_equal(drop_count(NET_DROP_tx_full), 3);
	assert_int_equal(event_count(NET_EV_tx_frames), frames0 + 2);
	assert_int_equal(rte_ring_dequeue_bulk(T.txr, fill, room - 2, NULL), room - 2);
	tx_drain();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)
		T_(test_counter_names),
		T_(test_announce),
		T_(test_arp_request_answered),
		T_(test_arp_other_ip_ignored),
		T_(test_arp_gratuitous),
		T_(test_arp_bad),
		T_(test_icmp_echo),
		T_(test_udp_delivered),
		T_(test_udp_delivered_with_options),
		T_(test_dropped_frame_teaches_nothing),
		T_(test_recycle),
		T_(test_udp_alloc_pool_empty),
		T_(test_udp_burst_over_max),
		T_(test_drops_udp),
		T_(test_drops_ip),
		T_(test_drops_l2),
		T_(test_vlan_iface),
		T_(test_udp_send_ip_sums),
		T_(test_tcp_rst),
		T_(test_tcp_deliver),
		T_(test_tcp_deliver_drops),
		T_(test_tcp_output),
		T_(test_tcp_output_chain),
		T_(test_tcp_output_offload),
		T_(test_tcp_output_tso),
		T_(test_tcp_output_errors),
		T_(test_fragments),
		T_(test_fragments_expire),
		T_(test_frag_20k_any_order),
		T_(test_frag_64k),
		T_(test_frag_duplicate),
		T_(test_frag_overlap),
		T_(test_frag_missing_expires),
		T_(test_frag_table_full),
		T_(test_frag_mbuf_cap),
		T_(test_frag_bad),
		T_(test_udp_send),
		T_(test_udp_send_offload),
		T_(test_tx_batching),
		T_(test_tx_full),
#undef T_
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
