/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the receive shortcut (lib/net/rx_fast.h): net_rx_fast_udp() takes the common
 * frame (untagged IPv4 without options, unfragmented, UDP to our port) and leaves it exactly as
 * the full path (net_eth_input) would; every other frame it leaves untouched (mbuf, bytes,
 * counters, neighbour cache, output). Directed cases for each guard, the NIC's checksum
 * verdicts and Ethernet padding, then a seeded differential run: the same random frames
 * through the shortcut (then the full path if declined) on one queue and through the full path
 * alone on a twin queue must give the same datagrams, mbufs, counters and learned neighbours.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "net/rx_fast.h"
#include "test_eal.h"

#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define OUR_IP		IP4(10, 9, 0, 1)
#define PEER_IP		IP4(10, 9, 0, 2)
#define UDP_PORT	11211
#define L2		sizeof(struct rte_ether_hdr)
#define HDRS		(L2 + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))
/* Random frames of the differential run (each on a fresh pair of queues). */
#define DIFF_FRAMES 20000

static const struct rte_ether_addr our_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x02}};

/* One interface and its queue; twin() makes a second of the same configuration. */
struct side {
	struct net_iface ifc;
	struct net_queue *q;
	struct net_dgram out[4];
	struct net_rx rx;
};

static struct rte_mempool *pool;
static struct side A, B;

static int
group_setup(void **state)
{
	const struct test_eal eal = {
		.name = "test_net_rx_fast", .mem_mb = 128, .prefix = "nc_test_net_rx_fast"};

	(void)state;
	if (test_eal_start(&eal) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("trf_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	return pool == NULL ? -1 : 0;
}

/* The interface of @p s: ours, /24, UDP on UDP_PORT, @p vlan_id (0: untagged). */
static void
side_open(struct side *s, uint16_t vlan_id, bool ip_offload, bool l4_offload)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->ifc = (struct net_iface){
		.nb_queues = 1,
		.mac = our_mac,
		.ip = OUR_IP,
		.netmask = IP4(255, 255, 255, 0),
		.mtu = 1500,
		.udp_port = UDP_PORT,
		.tcp_port = UDP_PORT,
		.vlan_id = vlan_id,
		.pool = pool,
	};
	s->ifc.offloads.rx_ip_cksum = ip_offload;
	s->ifc.offloads.rx_l4_cksum = l4_offload;
	s->ifc.neigh = net_neigh_create(SOCKET_ID_ANY);
	assert_non_null(s->ifc.neigh);
	s->q = net_queue_create(&s->ifc, 0, SOCKET_ID_ANY, &err);
	assert_non_null(s->q);
	s->rx = (struct net_rx){.out = s->out, .max = RTE_DIM(s->out)};
}

static void
side_close(struct side *s)
{
	for (unsigned i = 0; i < s->rx.n; i++)
		rte_pktmbuf_free(s->out[i].m);
	net_queue_destroy(&s->q);
	net_neigh_destroy(&s->ifc.neigh);
}

static int
test_setup(void **state)
{
	(void)state;
	side_open(&A, 0, false, false);
	return 0;
}

static int
test_teardown(void **state)
{
	(void)state;
	side_close(&A);
	return 0;
}

/*
 * The common frame at @p f: PEER:40000 -> us:UDP_PORT, @p plen payload bytes, both checksums
 * right. @return its length.
 */
static size_t
udp_frame(uint8_t *f, size_t plen)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

	memset(f, 0, HDRS);
	eh->dst_addr = our_mac;
	eh->src_addr = peer_mac;
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*uh) + plen));
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = PEER_IP;
	ip->dst_addr = OUR_IP;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	uh->src_port = RTE_BE16(40000);
	uh->dst_port = RTE_BE16(UDP_PORT);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*uh) + plen));
	for (size_t i = 0; i < plen; i++)
		f[HDRS + i] = (uint8_t)(i * 3 + 1);
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
	return HDRS + plen;
}

static struct rte_ipv4_hdr *
ip_of(uint8_t *f)
{
	return (struct rte_ipv4_hdr *)(f + L2);
}

static struct rte_udp_hdr *
udp_of(uint8_t *f)
{
	return (struct rte_udp_hdr *)(f + L2 + sizeof(struct rte_ipv4_hdr));
}

/* Both checksums of frame @p f made right again after a change to its headers. */
static void
fix_sums(uint8_t *f)
{
	ip_of(f)->hdr_checksum = 0;
	ip_of(f)->hdr_checksum = rte_ipv4_cksum(ip_of(f));
	udp_of(f)->dgram_cksum = 0;
	udp_of(f)->dgram_cksum = rte_ipv4_udptcp_cksum(ip_of(f), udp_of(f));
}

/* An mbuf holding @p len bytes of @p f (in two segments from @p split on, when not 0). */
static struct rte_mbuf *
mbuf_of(const uint8_t *f, size_t len, size_t split, uint64_t ol_flags)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	size_t first = split != 0 && split < len ? split : len;

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)first), f, first);
	if (first < len) {
		struct rte_mbuf *n = rte_pktmbuf_alloc(pool);

		assert_non_null(n);
		memcpy(rte_pktmbuf_append(n, (uint16_t)(len - first)), f + first, len - first);
		assert_int_equal(rte_pktmbuf_chain(m, n), 0);
	}
	m->ol_flags = ol_flags;
	return m;
}

/*
 * Offer frame @p f (@p len bytes) to the shortcut of side @p s: it must decline and change
 * nothing (mbuf header and bytes, output, counters, neighbour cache); then the full path takes
 * it (a drop or a delivery, as it decides).
 */
static void
expect_declined(struct side *s, const uint8_t *f, size_t len, size_t split, uint64_t ol_flags)
{
	struct rte_mbuf *m = mbuf_of(f, len, split, ol_flags);
	struct rte_mbuf before = *m;
	struct net_counters cnt = s->q->cnt;
	struct net_peer_cache peer = s->q->peer;
	unsigned n = s->rx.n;

	assert_false(net_rx_fast_udp(s->q, m, &s->rx));
	assert_memory_equal(&before, m, sizeof(before));
	assert_memory_equal(rte_pktmbuf_mtod(m, void *), f, m->data_len);
	assert_memory_equal(&cnt, &s->q->cnt, sizeof(cnt));
	assert_memory_equal(&peer, &s->q->peer, sizeof(peer));
	assert_int_equal(s->rx.n, n);
	net_eth_input(s->q, m, &s->rx);
}

static void
test_takes_common_frame(void **state)
{
	uint8_t f[128];
	size_t len = udp_frame(f, 9);
	struct net_dgram *d = &A.out[0];
	struct rte_mbuf *m;
	uint16_t off;
	struct rte_ether_addr mac;

	(void)state;
	/* 51 bytes: padded to Ethernet's 60, and the padding cut as the full path cuts it. */
	memset(f + len, 0xee, 60 - len);
	m = mbuf_of(f, 60, 0, 0);
	off = m->data_off;
	assert_true(net_rx_fast_udp(A.q, m, &A.rx));
	assert_int_equal(A.rx.n, 1);
	assert_ptr_equal(d->m, m);
	assert_int_equal(m->data_off, off + L2);
	assert_int_equal(m->data_len, len - L2);
	assert_int_equal(m->pkt_len, len - L2);
	assert_int_equal(d->off, 28);
	assert_int_equal(d->len, 9);
	assert_ptr_equal(d->payload, rte_pktmbuf_mtod_offset(m, uint8_t *, 28));
	assert_memory_equal(d->payload, f + HDRS, 9);
	assert_int_equal(d->src_ip, PEER_IP);
	assert_int_equal(d->dst_ip, OUR_IP);
	assert_int_equal(d->src_port, RTE_BE16(40000));
	assert_int_equal(d->dst_port, RTE_BE16(UDP_PORT));
	assert_int_equal(d->proto, IPPROTO_UDP);
	assert_memory_equal(&A.rx.src_mac, &peer_mac, sizeof(peer_mac));
	assert_int_equal(A.q->cnt.ev[NET_EV_udp_delivered], 1);
	assert_true(net_neigh_lookup(A.ifc.neigh, PEER_IP, &mac, A.q->now_s, NULL));
	assert_memory_equal(&mac, &peer_mac, sizeof(mac));

	/* A UDP checksum of 0 means none. */
	len = udp_frame(f, 20);
	udp_of(f)->dgram_cksum = 0;
	assert_true(net_rx_fast_udp(A.q, mbuf_of(f, len, 0, 0), &A.rx));
	assert_int_equal(A.rx.n, 2);
}

/* Each guard of the shortcut: a frame that differs from the common one in that alone. */
static void
test_declines_each_other_frame(void **state)
{
	uint8_t f[128];
	size_t len;

	(void)state;
	/* Not for our MAC (broadcast: the full path's ARP-only rule), not IPv4, a VLAN tag. */
	len = udp_frame(f, 20);
	memset(f, 0xff, 6);
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	f[5] = 0x07;
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	((struct rte_ether_hdr *)f)->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
	expect_declined(&A, f, len, 0, 0);
	/* Tagged by the NIC (stripped), even with VLAN id 0. */
	len = udp_frame(f, 20);
	expect_declined(&A, f, len, 0, RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
	/* IPv4: options, fragments, TTL 0, not to us, a source we refuse, not UDP. */
	len = udp_frame(f, 20);
	ip_of(f)->version_ihl = 0x46;
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	ip_of(f)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	ip_of(f)->fragment_offset = RTE_BE16(1);
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	ip_of(f)->time_to_live = 0;
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	ip_of(f)->dst_addr = IP4(10, 9, 0, 3);
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	ip_of(f)->src_addr = IP4(10, 9, 0, 255);
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	ip_of(f)->next_proto_id = IPPROTO_TCP;
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	/* Lengths: the packet past the frame, UDP's length not IPv4's, a frame cut short. */
	len = udp_frame(f, 20);
	expect_declined(&A, f, len - 1, 0, 0);
	len = udp_frame(f, 20);
	udp_of(f)->dgram_len = RTE_BE16(8 + 19);
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	expect_declined(&A, f, HDRS - 1, 0, 0);
	/* Checksums, another port, a frame in two segments. */
	len = udp_frame(f, 20);
	ip_of(f)->hdr_checksum ^= 0x0101;
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	f[len - 1] ^= 0x55;
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	udp_of(f)->dst_port = RTE_BE16(UDP_PORT + 1);
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	len = udp_frame(f, 20);
	expect_declined(&A, f, len, 50, 0);
	/* UDP off (port 0): not even a datagram to port 0 is taken. */
	A.ifc.udp_port = 0;
	len = udp_frame(f, 20);
	udp_of(f)->dst_port = 0;
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	A.ifc.udp_port = UDP_PORT;
	/* No room left in the output. */
	A.rx.max = A.rx.n;
	expect_declined(&A, f, len, 0, 0);
	A.rx.max = RTE_DIM(A.out);
}

/* Frame @p f (@p len bytes) must be taken by the shortcut of side @p s; its output emptied. */
static void
expect_taken(struct side *s, const uint8_t *f, size_t len)
{
	assert_true(net_rx_fast_udp(s->q, mbuf_of(f, len, 0, 0), &s->rx));
	for (unsigned i = 0; i < s->rx.n; i++)
		rte_pktmbuf_free(s->out[i].m);
	s->rx.n = 0;
}

/*
 * The source the shortcut last accepted is remembered (net_rx_source_ok): a source of 0 on a
 * queue that has accepted none yet, and refused sources between accepted ones, are declined.
 */
static void
test_source_remembered(void **state)
{
	static const rte_be32_t refused[] = {0, IP4(10, 9, 0, 255), OUR_IP, IP4(127, 0, 0, 1)};
	uint8_t f[128];
	size_t len;

	(void)state;
	len = udp_frame(f, 20);
	ip_of(f)->src_addr = 0;
	fix_sums(f);
	expect_declined(&A, f, len, 0, 0);
	for (unsigned i = 0; i < RTE_DIM(refused); i++) {
		len = udp_frame(f, 20);
		expect_taken(&A, f, len);
		ip_of(f)->src_addr = refused[i];
		fix_sums(f);
		expect_declined(&A, f, len, 0, 0);
	}
	/* another valid source is taken, and then the first again */
	len = udp_frame(f, 20);
	ip_of(f)->src_addr = IP4(10, 9, 0, 77);
	fix_sums(f);
	expect_taken(&A, f, len);
	len = udp_frame(f, 20);
	expect_taken(&A, f, len);
}

/* A queue on a VLAN interface takes no untagged frame (the full path drops it: vlan). */
static void
test_declines_on_vlan_iface(void **state)
{
	struct side v;
	uint8_t f[128];
	size_t len = udp_frame(f, 20);

	(void)state;
	side_open(&v, 5, false, false);
	expect_declined(&v, f, len, 0, 0);
	expect_declined(&v, f, len, 0, RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
	assert_int_equal(v.rx.n, 0);
	assert_int_equal(v.q->cnt.drop[NET_DROP_vlan], 2);
	side_close(&v);
}

/* With the offloads on, the NIC's verdicts decide as in the full path; NONE counts as right. */
static void
test_nic_verdicts(void **state)
{
	struct side o;
	uint8_t f[128];
	size_t len;

	(void)state;
	side_open(&o, 0, true, true);
	/* GOOD (or NONE) is trusted over a wrong sum: taken. */
	len = udp_frame(f, 20);
	ip_of(f)->hdr_checksum ^= 0x0101;
	f[len - 1] ^= 0x55;
	assert_true(net_rx_fast_udp(
		o.q, mbuf_of(f, len, 0, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_NONE),
		&o.rx));
	/* BAD over a right sum: declined, and the full path drops it for that checksum. */
	len = udp_frame(f, 20);
	expect_declined(&o, f, len, 0, RTE_MBUF_F_RX_IP_CKSUM_BAD);
	assert_int_equal(o.q->cnt.drop[NET_DROP_ip_checksum], 1);
	expect_declined(&o, f, len, 0, RTE_MBUF_F_RX_L4_CKSUM_BAD);
	assert_int_equal(o.q->cnt.drop[NET_DROP_udp_checksum], 1);
	/* No verdict (UNKNOWN): the sums are checked in software. */
	assert_true(net_rx_fast_udp(o.q, mbuf_of(f, len, 0, 0), &o.rx));
	f[len - 1] ^= 0x55;
	expect_declined(&o, f, len, 0, 0);
	assert_int_equal(o.q->cnt.drop[NET_DROP_udp_checksum], 2);
	assert_int_equal(o.rx.n, 2);
	side_close(&o);
}

/* xorshift64: the differential run's frames, the same on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random frame near the common one: up to three changes, sums fixed or not. @return len. */
static size_t
random_frame(uint8_t *f, size_t cap, uint64_t *s)
{
	static const rte_be32_t sources[] = {0,
					     0xffffffff,
					     IP4(224, 0, 0, 1),
					     IP4(127, 0, 0, 1),
					     OUR_IP,
					     IP4(10, 9, 0, 255),
					     IP4(10, 9, 0, 3),
					     IP4(192, 0, 2, 1),
					     IP4(10, 9, 0, 0)};
	size_t plen = rnd(s) % 3 ? rnd(s) % 40 : rnd(s) % 1000;
	size_t len = udp_frame(f, plen);
	unsigned changes = (unsigned)(rnd(s) % 4);

	for (size_t i = 0; i < plen; i++)
		f[HDRS + i] = (uint8_t)rnd(s);
	fix_sums(f);
	if (rnd(s) % 4 == 0) {
		size_t pad = rnd(s) % 30;

		memset(f + len, (int)(rnd(s) & 0xff), pad);
		len += pad;
	}
	if (len < 60 && rnd(s) % 2)
		len = 60;
	for (unsigned k = 0; k < changes; k++) {
		struct rte_ipv4_hdr *ip = ip_of(f);
		struct rte_udp_hdr *uh = udp_of(f);

		switch (rnd(s) % 11) {
		case 0:
			f[rnd(s) % HDRS] ^= (uint8_t)(1u << (rnd(s) % 8));
			break;
		case 1:
			ip->total_length = rte_cpu_to_be_16(
				(uint16_t)(rte_be_to_cpu_16(ip->total_length) + rnd(s) % 9 - 4));
			break;
		case 2:
			uh->dgram_len = rte_cpu_to_be_16(
				(uint16_t)(rte_be_to_cpu_16(uh->dgram_len) + rnd(s) % 5 - 2));
			break;
		case 3:
			ip->time_to_live = 0;
			break;
		case 4:
			ip->src_addr = sources[rnd(s) % RTE_DIM(sources)];
			break;
		case 5:
			memset(f, 0xff, 6);
			break;
		case 6:
			ip->fragment_offset |=
				rnd(s) % 2 ? RTE_BE16(RTE_IPV4_HDR_MF_FLAG) : RTE_BE16(1);
			break;
		case 7:
			ip->version_ihl = rnd(s) % 2 ? 0x46 : 0x44;
			break;
		case 8:
			uh->dst_port ^= RTE_BE16(1);
			break;
		case 9:
			len = rnd(s) % (len + 1);
			break;
		default:
			f[6] |= 1; /* a multicast source MAC: delivered, not learned */
			break;
		}
	}
	if (rnd(s) % 2) {
		/* (The UDP sum over what the IPv4 header says, when that lies in the buffer.) */
		size_t tlen = rte_be_to_cpu_16(ip_of(f)->total_length);

		if (tlen >= rte_ipv4_hdr_len(ip_of(f)) + sizeof(struct rte_udp_hdr) &&
		    L2 + tlen <= cap)
			fix_sums(f);
	}
	/* Only UDP in IPv4 frames: the full path answers others (ARP, ICMP, TCP RST). */
	if (((struct rte_ether_hdr *)f)->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    ip_of(f)->next_proto_id != IPPROTO_UDP)
		len = 0;
	assert_true(len <= cap);
	return len;
}

/* Everything a delivery leaves: the datagram and its mbuf's place in the buffer. */
static void
assert_same_delivery(const struct side *a, const struct side *b)
{
	for (unsigned i = 0; i < a->rx.n; i++) {
		const struct net_dgram *x = &a->out[i], *y = &b->out[i];

		assert_int_equal(x->off, y->off);
		assert_int_equal(x->len, y->len);
		assert_int_equal(x->payload == NULL, y->payload == NULL);
		if (x->payload != NULL)
			assert_int_equal(x->payload - (const uint8_t *)x->m->buf_addr,
					 y->payload - (const uint8_t *)y->m->buf_addr);
		assert_int_equal(x->src_ip, y->src_ip);
		assert_int_equal(x->dst_ip, y->dst_ip);
		assert_int_equal(x->src_port, y->src_port);
		assert_int_equal(x->dst_port, y->dst_port);
		assert_int_equal(x->proto, y->proto);
		assert_int_equal(x->m->data_off, y->m->data_off);
		assert_int_equal(x->m->data_len, y->m->data_len);
		assert_int_equal(x->m->pkt_len, y->m->pkt_len);
		assert_int_equal(x->m->nb_segs, y->m->nb_segs);
	}
}

static void
test_same_as_full_path(void **state)
{
	static const uint64_t verdicts[] = {
		0,
		RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
		RTE_MBUF_F_RX_IP_CKSUM_BAD,
		RTE_MBUF_F_RX_L4_CKSUM_BAD,
		RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE,
	};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned taken = 0, delivered = 0;
	uint8_t f[1200];

	(void)state;
	side_close(&A); /* (test_setup's: each frame gets a fresh pair) */
	for (unsigned it = 0; it < DIFF_FRAMES; it++) {
		bool offload = rnd(&seed) % 2;
		uint16_t vlan = rnd(&seed) % 8 == 0 ? 5 : 0;
		size_t len = random_frame(f, sizeof(f), &seed);
		uint64_t ol = verdicts[rnd(&seed) % RTE_DIM(verdicts)];
		size_t split = rnd(&seed) % 10 == 0 ? 1 + rnd(&seed) % 60 : 0;
		struct rte_mbuf *ma, *mb;

		if (len < L2)
			continue;
		if (rnd(&seed) % 8 == 0)
			ol |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
		side_open(&A, vlan, offload, offload);
		side_open(&B, vlan, offload, offload);
		A.q->now_s = B.q->now_s;
		A.rx.max = B.rx.max = rnd(&seed) % 6 == 0 ? 0 : RTE_DIM(A.out);
		ma = mbuf_of(f, len, split, ol);
		mb = mbuf_of(f, len, split, ol);
		if (net_rx_fast_udp(A.q, ma, &A.rx))
			taken++;
		else
			net_eth_input(A.q, ma, &A.rx);
		net_eth_input(B.q, mb, &B.rx);
		assert_int_equal(A.rx.n, B.rx.n);
		delivered += A.rx.n;
		assert_same_delivery(&A, &B);
		assert_memory_equal(&A.q->cnt, &B.q->cnt, sizeof(A.q->cnt));
		assert_memory_equal(&A.q->peer, &B.q->peer, sizeof(A.q->peer));
		side_close(&A);
		side_close(&B);
	}
	print_message("%u frames: %u taken by the shortcut, %u delivered\n", DIFF_FRAMES, taken,
		      delivered);
	/* (Both kinds were there in numbers: the run compared something.) */
	assert_true(taken > DIFF_FRAMES / 10);
	assert_true(delivered > taken);
	side_open(&A, 0, false, false); /* (for the teardown) */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_takes_common_frame, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_declines_each_other_frame, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_source_remembered, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_declines_on_vlan_iface, test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_nic_verdicts, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_same_as_full_path, test_setup, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
