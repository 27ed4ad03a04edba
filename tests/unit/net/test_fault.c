/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for fault injection (net/fault.h, lib/net/fault.c): the specification parser, and
 * faults on a queue of a port made of rings (rte_eth_from_rings): frames enqueued on the RX
 * ring meet the RX faults in net_queue_rx(), frames the queue sends meet the TX faults before
 * they reach the TX ring. Rates are checked over 10,000 frames with a fixed seed.
 */
/* rte_ipv4_udptcp_cksum_verify (checks what reached the TX ring) is experimental. */
#define ALLOW_EXPERIMENTAL_API

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "net/fault.h"
#include "net/neigh.h"
#include "net/queue.h"
#include "test_eal.h"

#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define OUR_IP		IP4(10, 9, 0, 1)
#define PEER_IP		IP4(10, 9, 0, 2)
#define UDP_PORT	11211
#define PEER_PORT	40000
#define PLEN		100   /* payload bytes of the test datagrams: frames of 142 bytes */
#define NFRAMES		10000 /* frames per rate test */
#define CHUNK		64    /* frames enqueued on the RX ring at once */

static const struct rte_ether_addr our_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x02}};

static struct {
	struct rte_mempool *pool;
	struct rte_ring *rxr, *txr;
	uint16_t port;
	struct net_iface ifc;
	struct net_queue *q;
	struct net_dgram out[NET_BURST];
	unsigned seen[NFRAMES + 1];  /* deliveries per frame id */
	uint32_t order[3 * NFRAMES]; /* ids in the order they came out */
	unsigned norder;
} T;

/* ---- EAL, port, queue ---------------------------------------------------------------- */

static int
group_setup(void **state)
{
	const struct test_eal eal = {.name = "test_net_fault", .prefix = "nc_test_net_fault"};
	struct rte_eth_conf conf;
	int port;

	(void)state;
	if (test_eal_start(&eal) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		exit(1);
	}
	T.pool = rte_pktmbuf_pool_create("tnf_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	T.rxr = rte_ring_create("tnf_rx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	T.txr = rte_ring_create("tnf_tx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (T.pool == NULL || T.rxr == NULL || T.txr == NULL)
		return -1;
	port = rte_eth_from_rings("net_ring_tnf", &T.rxr, 1, &T.txr, 1, SOCKET_ID_ANY);
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

static unsigned
ring_drain(struct rte_ring *r)
{
	struct rte_mbuf *m;
	unsigned n = 0;

	while (rte_ring_dequeue(r, (void **)&m) == 0) {
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

/* A queue on @p ifc (a copy is kept), announced, its gratuitous ARP drained; the peer known. */
static void
queue_start(const struct net_iface *ifc)
{
	int err;

	T.ifc = *ifc;
	T.q = net_queue_create(&T.ifc, 0, SOCKET_ID_ANY, &err);
	assert_non_null(T.q);
	net_queue_timers(T.q, rte_rdtsc());
	net_queue_flush(T.q);
	ring_drain(T.txr);
	net_neigh_learn(T.ifc.neigh, PEER_IP, &peer_mac, rte_rdtsc() / rte_get_tsc_hz());
}

static int
test_setup(void **state)
{
	struct net_iface ifc = {
		.port_id = T.port,
		.nb_queues = 1,
		.mac = our_mac,
		.ip = OUR_IP,
		.netmask = IP4(255, 255, 255, 0),
		.mtu = 1500,
		.udp_port = UDP_PORT,
		.pool = T.pool,
	};

	(void)state;
	ifc.neigh = net_neigh_create(SOCKET_ID_ANY);
	assert_non_null(ifc.neigh);
	queue_start(&ifc);
	memset(T.seen, 0, sizeof(T.seen));
	T.norder = 0;
	return 0;
}

static int
test_teardown(void **state)
{
	struct net_neigh *n = T.ifc.neigh;

	(void)state;
	net_queue_destroy(&T.q);
	net_neigh_destroy(&n);
	ring_drain(T.rxr);
	ring_drain(T.txr);
	return 0;
}

/* Replace the queue by one on the same interface with @p ifc's changes. */
static void
queue_restart(const struct net_iface *ifc)
{
	net_queue_destroy(&T.q);
	queue_start(ifc);
}

static uint64_t
ev(enum net_event e)
{
	return net_queue_counters(T.q)->ev[e];
}

/* Every drop the path counted, all reasons. */
static uint64_t
path_drops(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < NET_DROP_MAX; i++)
		n += net_queue_counters(T.q)->drop[i];
	return n;
}

/* ---- frames ------------------------------------------------------------------------------ */

/* An untagged UDP frame from the peer to our port, payload PLEN bytes starting with @p id. */
static struct rte_mbuf *
udp_frame(uint32_t id)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(T.pool);
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *uh;
	uint8_t *p;

	if (m == NULL ||
	    rte_pktmbuf_append(m, sizeof(*eh) + sizeof(*ip) + sizeof(*uh) + PLEN) == NULL)
		abort();
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	eh->dst_addr = our_mac;
	eh->src_addr = peer_mac;
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*uh) + PLEN);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = PEER_IP;
	ip->dst_addr = OUR_IP;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	uh = (struct rte_udp_hdr *)(ip + 1);
	uh->src_port = RTE_BE16(PEER_PORT);
	uh->dst_port = RTE_BE16(UDP_PORT);
	uh->dgram_len = rte_cpu_to_be_16(sizeof(*uh) + PLEN);
	uh->dgram_cksum = 0;
	p = (uint8_t *)(uh + 1);
	for (unsigned i = 0; i < PLEN; i++)
		p[i] = (uint8_t)(i * 3);
	memcpy(p, &id, sizeof(id));
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
	return m;
}

/* Note one delivered or sent payload: its id (seen, order) and that its bytes are intact. */
static void
note_payload(const uint8_t *p)
{
	uint32_t id;

	memcpy(&id, p, sizeof(id));
	assert_true(id >= 1 && id <= NFRAMES);
	for (unsigned i = sizeof(id); i < PLEN; i++)
		assert_int_equal(p[i], (uint8_t)(i * 3));
	T.seen[id]++;
	if (T.norder < RTE_DIM(T.order))
		T.order[T.norder++] = id;
}

/* Receive until the RX ring is empty; every delivery noted and freed. @return deliveries. */
static unsigned
rx_until_empty(void)
{
	unsigned total = 0, n;

	do {
		n = net_queue_rx(T.q, T.out, NET_BURST);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(T.out[i].len, PLEN);
			assert_non_null(T.out[i].payload);
			note_payload(T.out[i].payload);
			net_dgram_free(&T.out[i]);
		}
		total += n;
	} while (n > 0 || rte_ring_count(T.rxr) > 0);
	return total;
}

/* After NET_FAULT_HOLD_US, the held frame (if any) comes out: one more receive. */
static unsigned
rx_release(void)
{
	rte_delay_us_block(NET_FAULT_HOLD_US + 200);
	return rx_until_empty();
}

/* Frames 1..@p n through the RX ring. @return deliveries (held frames released). */
static unsigned
rx_frames(unsigned n)
{
	struct rte_mbuf *m[CHUNK];
	unsigned total = 0;

	for (unsigned id = 1; id <= n;) {
		unsigned k = 0;

		for (; k < CHUNK && id <= n; k++, id++)
			m[k] = udp_frame(id);
		assert_int_equal(rte_ring_enqueue_bulk(T.rxr, (void **)m, k, NULL), k);
		total += rx_until_empty();
	}
	total += rx_release();
	assert_false(net_queue_busy(T.q));
	return total;
}

/* Whether a sent frame's IPv4 and UDP checksums are right. */
static bool
tx_cksums_ok(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);

	return rte_raw_cksum(ip, sizeof(*ip)) == 0xffff &&
	       rte_ipv4_udptcp_cksum_verify(ip, ip + 1) == 0;
}

/* Take what reached the TX ring: count, note intact frames, count bad checksums. */
static unsigned
tx_collect(unsigned *bad)
{
	struct rte_mbuf *m;
	unsigned n = 0;

	while (rte_ring_dequeue(T.txr, (void **)&m) == 0) {
		if (tx_cksums_ok(m))
			note_payload(rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 20 + 8));
		else
			(*bad)++;
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

/* Send UDP datagram @p id (payload as udp_frame's) to the peer. */
static void
send_one(uint32_t id)
{
	uint8_t *p;
	uint16_t room;
	struct rte_mbuf *m = net_udp_alloc(T.q, &p, &room);

	assert_non_null(m);
	for (unsigned i = 0; i < PLEN; i++)
		p[i] = (uint8_t)(i * 3);
	memcpy(p, &id, sizeof(id));
	assert_int_equal(
		net_udp_send(T.q, m, PLEN, PEER_IP, RTE_BE16(PEER_PORT), RTE_BE16(UDP_PORT)), 0);
}

/* Send 1..@p n, flushing every 16; held frames released by the timers. @return frames out. */
static unsigned
tx_frames(unsigned n, unsigned *bad)
{
	unsigned out = 0;

	*bad = 0;
	for (uint32_t id = 1; id <= n; id++) {
		send_one(id);
		if (id % 16 == 0) {
			net_queue_flush(T.q);
			out += tx_collect(bad);
		}
	}
	net_queue_flush(T.q);
	net_queue_timers(T.q, rte_rdtsc() + rte_get_tsc_hz());
	out += tx_collect(bad);
	assert_false(net_queue_busy(T.q));
	return out;
}

/*
 * A frame left in the TX batch is sent by the queue's timers NET_TX_DRAIN_US after the receive
 * burst it was queued in (the queue's time then), not before: the drain needs no clock read per
 * batch.
 */
static void
test_tx_drain(void **state)
{
	uint64_t drain = rte_get_tsc_hz() / 1000000 * NET_TX_DRAIN_US, before, after;
	unsigned bad = 0;

	(void)state;
	before = rte_rdtsc();
	assert_int_equal(net_queue_input(T.q, NULL, 0, T.out, NET_BURST), 0);
	after = rte_rdtsc();
	send_one(1);
	assert_true(net_queue_busy(T.q));
	net_queue_timers(T.q, before + drain - 1);
	assert_int_equal(tx_collect(&bad), 0);
	assert_true(net_queue_busy(T.q));
	net_queue_timers(T.q, after + drain);
	assert_int_equal(tx_collect(&bad), 1);
	assert_int_equal(bad, 0);
	assert_int_equal(T.seen[1], 1);
	assert_false(net_queue_busy(T.q));
}

/* @p got is within 5 standard deviations (binomial, @p trials at @p p) of its mean. */
static void
assert_rate(const char *what, uint64_t got, double trials, double p)
{
	double mean = trials * p, sd = sqrt(trials * p * (1 - p));

	if (fabs((double)got - mean) > 5 * sd + 2)
		fail_msg("%s: %lu, expected %.0f +- %.0f", what, (unsigned long)got, mean, 5 * sd);
}

/* Ids that came out after a larger one. */
static unsigned
out_of_order(void)
{
	unsigned n = 0;
	uint32_t max = 0;

	for (unsigned i = 0; i < T.norder; i++) {
		if (T.order[i] < max)
			n++;
		else
			max = T.order[i];
	}
	return n;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void
test_parse(void **state)
{
	struct net_fault f, keep;
	char text[200];

	(void)state;
	memset(&f, 0x5a, sizeof(f));
	assert_int_equal(net_fault_parse("", &f), 0);
	assert_false(net_fault_active(&f));
	assert_int_equal(f.seed, 0);
	assert_true(f.rx.drop == 0 && f.tx.corrupt == 0);
	assert_int_equal(net_fault_parse("  \t", &f), 0);
	assert_false(net_fault_active(&f));

	assert_int_equal(
		net_fault_parse("seed=7,rx-drop=0.05,rx-reorder=0.05,rx-dup=0.01,"
				"rx-corrupt=0.001,tx-drop=0.05,tx-reorder=0.05,tx-dup=0.01",
				&f),
		0);
	assert_int_equal(f.seed, 7);
	assert_true(f.rx.drop == 0.05 && f.rx.reorder == 0.05 && f.rx.dup == 0.01 &&
		    f.rx.corrupt == 0.001);
	assert_true(f.tx.drop == 0.05 && f.tx.reorder == 0.05 && f.tx.dup == 0.01 &&
		    f.tx.corrupt == 0);
	assert_true(net_fault_active(&f));

	/* Both directions; later items override; blanks; edge values. */
	assert_int_equal(net_fault_parse("drop=0.05", &f), 0);
	assert_true(f.rx.drop == 0.05 && f.tx.drop == 0.05 && f.seed == 0);
	assert_int_equal(net_fault_parse("drop=0.5,rx-drop=0.1", &f), 0);
	assert_true(f.rx.drop == 0.1 && f.tx.drop == 0.5);
	assert_int_equal(net_fault_parse(" seed = 3 , dup=1 ,corrupt=0,reorder=.25", &f), 0);
	assert_true(f.seed == 3 && f.rx.dup == 1 && f.tx.dup == 1 && f.rx.reorder == 0.25);
	assert_int_equal(net_fault_parse("seed=18446744073709551615,tx-corrupt=1e-3", &f), 0);
	assert_true(f.seed == UINT64_MAX && f.tx.corrupt == 0.001 && f.rx.corrupt == 0);
	assert_int_equal(net_fault_parse("seed=9", &f), 0);
	assert_false(net_fault_active(&f));

	/* Malformed or out of range: -EINVAL, *f untouched. */
	static const char *const bad[] = {
		"drop",
		"drop=",
		"=0.1",
		"drop=1.5",
		"drop=1.0000001",
		"drop=-0.1",
		"drop=+0.1",
		"drop=nan",
		"drop=inf",
		"drop=0x1p-3",
		"drop=0.1x",
		"drop=1e5",
		"drop=0.1 0.2",
		"seed=-1",
		"seed=1.5",
		"seed=",
		"seed=18446744073709551616",
		"seed=1=2",
		"rx-foo=0.1",
		"xx-drop=0.1",
		"rx-seed=1",
		"rx-=0.1",
		"Drop=0.1",
		"drop=0.1,",
		",drop=0.1",
		"drop=0.1,,dup=0.1",
		"drop=0.1;dup=0.1",
		"drop=0.00000000000000000000000000000000000000001",
	};
	assert_int_equal(net_fault_parse("seed=5,drop=0.2", &keep), 0);
	for (size_t i = 0; i < RTE_DIM(bad); i++) {
		f = keep;
		if (net_fault_parse(bad[i], &f) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_memory_equal(&f, &keep, sizeof(f));
	}
	assert_int_equal(net_fault_parse(NULL, &f), -EINVAL);
	assert_int_equal(net_fault_parse("drop=0.1", NULL), -EINVAL);

	/* Formatted back and read again. */
	assert_int_equal(net_fault_parse("seed=7,drop=0.05,rx-dup=0.01,tx-reorder=0.5,"
					 "rx-corrupt=0.25,tx-corrupt=0.125",
					 &f),
			 0);
	net_fault_format(&f, text, sizeof(text));
	assert_string_equal(text, "seed=7,drop=0.05,rx-dup=0.01,tx-reorder=0.5,"
				  "rx-corrupt=0.25,tx-corrupt=0.125");
	assert_int_equal(net_fault_parse(text, &keep), 0);
	assert_memory_equal(&f, &keep, sizeof(f));
	memset(&f, 0, sizeof(f));
	assert_string_equal(net_fault_format(&f, text, sizeof(text)), "off");
	assert_false(net_fault_active(NULL));
}

static void
test_set_fault(void **state)
{
	struct net_fault f = {.rx = {.drop = 1.5}};

	(void)state;
	assert_int_equal(net_queue_set_fault(T.q, &f), -EINVAL);
	f.rx.drop = NAN;
	assert_int_equal(net_queue_set_fault(T.q, &f), -EINVAL);
	f.rx.drop = 0;
	f.tx.dup = -0.5;
	assert_int_equal(net_queue_set_fault(T.q, &f), -EINVAL);
	assert_int_equal(net_queue_set_fault(NULL, NULL), -EINVAL);
	f.tx.dup = 1;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	assert_int_equal(net_queue_set_fault(T.q, NULL), 0);
	memset(&f, 0, sizeof(f));
	f.seed = 99;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	/* Off: a full burst, and frames pass. */
	for (uint32_t id = 1; id <= NET_BURST; id++) {
		struct rte_mbuf *m = udp_frame(id);

		assert_int_equal(rte_ring_enqueue(T.rxr, m), 0);
	}
	assert_int_equal(net_queue_rx(T.q, T.out, NET_BURST), NET_BURST);
	for (unsigned i = 0; i < NET_BURST; i++)
		net_dgram_free(&T.out[i]);

	/* On (only TX faults here): an rx burst leaves room for duplicates. */
	f.tx.drop = 1;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	for (uint32_t id = 1; id <= NET_BURST; id++)
		assert_int_equal(rte_ring_enqueue(T.rxr, udp_frame(id)), 0);
	assert_int_equal(net_queue_rx(T.q, T.out, NET_BURST), (NET_BURST - 1) / 2);
	for (unsigned i = 0; i < (NET_BURST - 1) / 2; i++)
		net_dgram_free(&T.out[i]);
	ring_drain(T.rxr);
}

/* Everything 0 (or only the other direction on): frames pass untouched and in order. */
static void
test_zero_passes(void **state)
{
	struct net_fault f = {.seed = 1};
	unsigned bad, avail = rte_mempool_avail_count(T.pool);

	(void)state;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	assert_int_equal(rx_frames(500), 500);
	assert_int_equal(out_of_order(), 0);
	T.norder = 0;
	assert_int_equal(tx_frames(500, &bad), 500);
	assert_int_equal(bad, 0);
	assert_int_equal(out_of_order(), 0);
	for (unsigned id = 1; id <= 500; id++)
		assert_int_equal(T.seen[id], 2);

	/* TX drops everything, RX untouched. */
	f.tx.drop = 1;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	memset(T.seen, 0, sizeof(T.seen));
	T.norder = 0;
	assert_int_equal(rx_frames(300), 300);
	assert_int_equal(out_of_order(), 0);
	assert_int_equal(tx_frames(300, &bad), 0);
	assert_int_equal(ev(NET_EV_fault_dropped), 300);
	assert_int_equal(ev(NET_EV_fault_duplicated) + ev(NET_EV_fault_reordered) +
				 ev(NET_EV_fault_corrupted),
			 0);
	for (unsigned id = 1; id <= 300; id++)
		assert_int_equal(T.seen[id], 1);
	assert_int_equal(rte_mempool_avail_count(T.pool), avail);
}

static void
test_rx_rates(void **state)
{
	struct net_fault f = {.rx = {.drop = 0.05, .dup = 0.05, .reorder = 0.05, .corrupt = 0.02},
			      .seed = 42};
	unsigned avail = rte_mempool_avail_count(T.pool);
	uint64_t dropped, dup, reord, corrupt, got, again[4];

	(void)state;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	got = rx_frames(NFRAMES);
	dropped = ev(NET_EV_fault_dropped);
	dup = ev(NET_EV_fault_duplicated);
	reord = ev(NET_EV_fault_reordered);
	corrupt = ev(NET_EV_fault_corrupted);
	assert_rate("dropped", dropped, NFRAMES, 0.05);
	assert_rate("corrupted", corrupt, (double)(NFRAMES - dropped), 0.02);
	assert_rate("duplicated", dup, (double)(NFRAMES - dropped), 0.05);
	assert_rate("reordered", reord, (double)(NFRAMES - dropped + dup), 0.05);
	/* Every frame the faults let through was delivered or dropped by the path. */
	assert_int_equal(got + path_drops(), NFRAMES - dropped + dup);
	/* The corrupted ones (and their copies) were caught by the checks. */
	assert_true(path_drops() >= corrupt && path_drops() <= 2 * corrupt);
	assert_true(out_of_order() > 0);
	assert_int_equal(ev(NET_EV_rx_frames), NFRAMES - dropped + dup);
	assert_int_equal(rte_mempool_avail_count(T.pool), avail);

	/* The same seed, the same traffic: the same decisions. */
	queue_restart(&T.ifc);
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	assert_int_equal(rx_frames(NFRAMES), got);
	again[0] = ev(NET_EV_fault_dropped);
	again[1] = ev(NET_EV_fault_duplicated);
	again[2] = ev(NET_EV_fault_reordered);
	again[3] = ev(NET_EV_fault_corrupted);
	assert_true(again[0] == dropped && again[1] == dup && again[2] == reord &&
		    again[3] == corrupt);
	/* Another seed: other decisions. */
	queue_restart(&T.ifc);
	f.seed = 43;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	rx_frames(NFRAMES);
	assert_true(ev(NET_EV_fault_dropped) != dropped || ev(NET_EV_fault_duplicated) != dup ||
		    ev(NET_EV_fault_reordered) != reord);
}

static void
test_tx_rates(void **state)
{
	struct net_fault f = {.tx = {.drop = 0.05, .dup = 0.05, .reorder = 0.05, .corrupt = 0.02},
			      .seed = 7};
	unsigned avail = rte_mempool_avail_count(T.pool), bad;
	uint64_t dropped, dup, reord, corrupt, out, frames0 = ev(NET_EV_tx_frames);

	(void)state;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	out = tx_frames(NFRAMES, &bad);
	dropped = ev(NET_EV_fault_dropped);
	dup = ev(NET_EV_fault_duplicated);
	reord = ev(NET_EV_fault_reordered);
	corrupt = ev(NET_EV_fault_corrupted);
	assert_rate("dropped", dropped, NFRAMES, 0.05);
	assert_rate("corrupted", corrupt, (double)(NFRAMES - dropped), 0.02);
	assert_rate("duplicated", dup, (double)(NFRAMES - dropped), 0.05);
	assert_rate("reordered", reord, (double)(NFRAMES - dropped + dup), 0.05);
	assert_int_equal(out, NFRAMES - dropped + dup);
	assert_int_equal(ev(NET_EV_tx_frames) - frames0, out);
	assert_true(bad >= corrupt && bad <= 2 * corrupt);
	assert_true(out_of_order() > 0);
	/* Every frame not dropped (and not corrupted) came out. */
	for (unsigned id = 1, missing = 0; id <= NFRAMES; id++) {
		missing += T.seen[id] == 0;
		assert_true(missing <= dropped + corrupt);
	}
	assert_int_equal(rte_mempool_avail_count(T.pool), avail);
}

/* Only reorder and dup on: nothing lost, every copy counted, order changed. */
static void
test_no_loss(void **state)
{
	struct net_fault f = {
		.rx = {.dup = 0.1, .reorder = 0.2}, .tx = {.dup = 0.1, .reorder = 0.2}, .seed = 3};
	uint64_t dup, got, bad;
	unsigned b;

	(void)state;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	got = rx_frames(NFRAMES);
	dup = ev(NET_EV_fault_duplicated);
	assert_true(dup > 0 && ev(NET_EV_fault_reordered) > 0);
	assert_int_equal(got, NFRAMES + dup);
	assert_int_equal(path_drops(), 0);
	assert_true(out_of_order() > 0);
	for (unsigned id = 1; id <= NFRAMES; id++)
		assert_true(T.seen[id] >= 1 && T.seen[id] <= 2);

	memset(T.seen, 0, sizeof(T.seen));
	T.norder = 0;
	got = tx_frames(NFRAMES, &b);
	bad = b;
	assert_int_equal(bad, 0);
	assert_int_equal(got, NFRAMES + ev(NET_EV_fault_duplicated) - dup);
	assert_true(out_of_order() > 0);
	for (unsigned id = 1; id <= NFRAMES; id++)
		assert_true(T.seen[id] >= 1 && T.seen[id] <= 2);
	assert_int_equal(ev(NET_EV_fault_dropped) + ev(NET_EV_fault_corrupted), 0);
}

/* A held frame comes out after the next one, or alone after NET_FAULT_HOLD_US. */
static void
test_reorder_release(void **state)
{
	struct net_fault f = {.rx = {.reorder = 1}, .tx = {.reorder = 1}};
	uint64_t t0;
	unsigned bad = 0;

	(void)state;
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	/* RX: 1 held; 2 goes out and 1 right after it; 3 held. */
	assert_int_equal(rte_ring_enqueue(T.rxr, udp_frame(1)), 0);
	assert_int_equal(rx_until_empty(), 0);
	assert_true(net_queue_busy(T.q));
	assert_int_equal(rte_ring_enqueue(T.rxr, udp_frame(2)), 0);
	assert_int_equal(rte_ring_enqueue(T.rxr, udp_frame(3)), 0);
	assert_int_equal(rx_until_empty(), 2);
	assert_int_equal(T.order[0], 2);
	assert_int_equal(T.order[1], 1);
	assert_true(net_queue_busy(T.q));
	/* 3 alone: not before its time, then by the next receive call. */
	t0 = rte_rdtsc();
	assert_int_equal(net_queue_rx(T.q, T.out, NET_BURST), 0);
	if (rte_rdtsc() - t0 < rte_get_tsc_hz() / 1000000 * NET_FAULT_HOLD_US / 2)
		assert_true(net_queue_busy(T.q));
	assert_int_equal(rx_release(), 1);
	assert_int_equal(T.order[2], 3);
	assert_false(net_queue_busy(T.q));
	assert_int_equal(ev(NET_EV_fault_reordered), 2);

	/* TX: the same; a held frame goes out by the timers. */
	T.norder = 0;
	send_one(1);
	net_queue_flush(T.q);
	assert_int_equal(tx_collect(&bad), 0);
	assert_true(net_queue_busy(T.q));
	send_one(2);
	send_one(3);
	net_queue_flush(T.q);
	assert_int_equal(tx_collect(&bad), 2);
	assert_int_equal(T.order[0], 2);
	assert_int_equal(T.order[1], 1);
	assert_int_equal(net_queue_timers(T.q, rte_rdtsc()), 0);
	assert_true(net_queue_busy(T.q));
	assert_int_equal(net_queue_timers(T.q, rte_rdtsc() + rte_get_tsc_hz() / 100), 1);
	assert_int_equal(tx_collect(&bad), 1);
	assert_int_equal(T.order[2], 3);
	assert_false(net_queue_busy(T.q));
	assert_int_equal(bad, 0);

	/* A held frame is freed with the queue (no leak; checked by ASan and the pool). */
	send_one(4);
	net_queue_flush(T.q);
	assert_true(net_queue_busy(T.q));
}

/* Corruption is caught: NIC verdicts cleared on RX, checksums done in software on TX. */
static void
test_corrupt(void **state)
{
	struct net_iface ifc = T.ifc;
	struct net_fault f = {.rx = {.corrupt = 1}, .tx = {.corrupt = 1}, .seed = 11};
	struct rte_mbuf *m, *data, *clone;
	uint8_t keep[200];
	unsigned bad = 0;

	(void)state;
	ifc.offloads.rx_ip_cksum = true;
	ifc.offloads.rx_l4_cksum = true;
	ifc.offloads.tx_ip_cksum = true;
	ifc.offloads.tx_udp_cksum = true;
	ifc.offloads.tx_tcp_cksum = true;
	ifc.tx_multi_seg = true;
	queue_restart(&ifc);
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	/* RX: every frame said GOOD by the "NIC", every one dropped after the flip. */
	for (uint32_t id = 1; id <= 200; id++) {
		m = udp_frame(id);
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		assert_int_equal(rte_ring_enqueue(T.rxr, m), 0);
	}
	assert_int_equal(rx_until_empty(), 0);
	assert_int_equal(path_drops(), 200);
	assert_int_equal(ev(NET_EV_fault_corrupted), 200);

	/* TX with offloads: frames come out with software checksums that catch the flip. */
	for (uint32_t id = 1; id <= 200; id++)
		send_one(id);
	net_queue_flush(T.q);
	while (rte_ring_dequeue(T.txr, (void **)&m) == 0) {
		assert_int_equal(m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0);
		bad += !tx_cksums_ok(m);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(bad, 200);
	assert_int_equal(ev(NET_EV_fault_corrupted), 400);

	/* A TCP segment whose data is shared (a clone): the frame is copied, the data kept. */
	data = rte_pktmbuf_alloc(T.pool);
	for (unsigned i = 0; i < sizeof(keep); i++)
		((uint8_t *)rte_pktmbuf_append(data, 1))[0] = (uint8_t)(i + 1);
	memcpy(keep, rte_pktmbuf_mtod(data, void *), sizeof(keep));
	for (int i = 0; i < 50; i++) {
		struct rte_tcp_hdr *th;

		m = net_tcp_alloc(T.q);
		th = (struct rte_tcp_hdr *)rte_pktmbuf_append(m, sizeof(*th));
		if (th == NULL)
			abort();
		memset(th, 0, sizeof(*th));
		th->data_off = 5 << 4;
		th->tcp_flags = RTE_TCP_ACK_FLAG;
		clone = rte_pktmbuf_clone(data, T.pool);
		assert_int_equal(rte_pktmbuf_chain(m, clone), 0);
		assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
	}
	net_queue_flush(T.q);
	assert_int_equal(ring_drain(T.txr), 50);
	assert_int_equal(rte_mbuf_refcnt_read(data), 1);
	assert_memory_equal(rte_pktmbuf_mtod(data, void *), keep, sizeof(keep));
	rte_pktmbuf_free(data);

	/* ARP is left alone (no checksum would catch it). */
	{
		uint8_t *p;
		uint16_t room;

		m = net_udp_alloc(T.q, &p, &room);
		assert_non_null(m);
		assert_int_equal(net_udp_send(T.q, m, 1, IP4(10, 9, 0, 77), 1, 1), -EHOSTUNREACH);
	}
	net_queue_flush(T.q);
	assert_int_equal(ring_drain(T.txr), 1);
	assert_int_equal(ev(NET_EV_fault_corrupted), 450);
}

/* A TSO frame to send: a header mbuf and 2 x 1000 payload bytes, cut at 1000 by the NIC. */
static void
send_tso_frame(void)
{
	struct rte_mbuf *m = net_tcp_alloc(T.q), *d;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)rte_pktmbuf_append(m, sizeof(*th));

	if (th == NULL)
		abort();
	memset(th, 0, sizeof(*th));
	th->data_off = 5 << 4;
	th->tcp_flags = RTE_TCP_ACK_FLAG;
	for (int i = 0; i < 2; i++) {
		d = rte_pktmbuf_alloc(T.pool);
		assert_non_null(d);
		memset(rte_pktmbuf_append(d, 1000), i + 1, 1000);
		assert_int_equal(rte_pktmbuf_chain(m, d), 0);
	}
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	m->tso_segsz = 1000;
	assert_int_equal(net_tcp_output(T.q, m, OUR_IP, PEER_IP), 0);
}

/* TSO frames: a corrupted one is dropped (the NIC would checksum over the flip); a copy keeps
 * the segmentation metadata. */
static void
test_tso_frames(void **state)
{
	struct net_iface ifc = T.ifc;
	struct net_fault f = {.tx = {.corrupt = 1}, .seed = 12};
	struct rte_mbuf *m;

	(void)state;
	ifc.offloads.tx_tcp_tso = true;
	ifc.tx_multi_seg = true;
	ifc.tso = (struct net_tso){.max_payload = 65495, .max_segs = 64, .max_segsz = 1460};
	queue_restart(&ifc);
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	for (int i = 0; i < 10; i++)
		send_tso_frame();
	net_queue_flush(T.q);
	assert_int_equal(ring_drain(T.txr), 0);
	assert_int_equal(ev(NET_EV_fault_corrupted), 10);

	f = (struct net_fault){.tx = {.dup = 1}, .seed = 13};
	queue_restart(&ifc);
	assert_int_equal(net_queue_set_fault(T.q, &f), 0);
	send_tso_frame();
	net_queue_flush(T.q);
	assert_int_equal(rte_ring_count(T.txr), 2);
	while (rte_ring_dequeue(T.txr, (void **)&m) == 0) {
		assert_true(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
		assert_int_equal(m->tso_segsz, 1000);
		assert_int_equal(m->pkt_len, 14 + 20 + 20 + 2000);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(ev(NET_EV_fault_duplicated), 1);
}

/* Faults set on the interface reach every queue net_queue_create() makes. */
static void
test_iface_fault(void **state)
{
	struct net_iface ifc = T.ifc;

	(void)state;
	assert_int_equal(net_fault_parse("seed=1,rx-reorder=1", &ifc.fault), 0);
	queue_restart(&ifc);
	assert_int_equal(rte_ring_enqueue(T.rxr, udp_frame(1)), 0);
	assert_int_equal(rx_until_empty(), 0);
	assert_true(net_queue_busy(T.q));
	assert_int_equal(ev(NET_EV_fault_reordered), 1);
	assert_int_equal(rx_release(), 1);

	/* A bad one makes creation fail. */
	ifc.fault.tx.drop = 2;
	{
		struct net_queue *q;
		int err;

		q = net_queue_create(&ifc, 0, SOCKET_ID_ANY, &err);
		assert_null(q);
		assert_int_equal(err, -EINVAL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)
		T_(test_parse),		  T_(test_set_fault), T_(test_zero_passes),
		T_(test_rx_rates),	  T_(test_tx_rates),  T_(test_no_loss),
		T_(test_reorder_release), T_(test_corrupt),   T_(test_iface_fault),
		T_(test_tso_frames),	  T_(test_tx_drain),
#undef T_
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
