/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the packet path (net/queue.h): the input is one Ethernet frame, fed to
 * net_queue_input() of a queue on a port made of rings (rte_eth_from_rings), as a NIC would
 * hand it over. Every datagram delivered is copied out and answered with net_udp_send; what
 * the path sends is taken from the TX ring and freed; every 64 inputs the clock jumps past the
 * reassembly timeout so held fragments are released.
 *
 * The frame sits in a malloc'd buffer of exactly headroom + frame length, attached to the mbuf
 * as an external buffer: a read past the frame's end is an ASan heap overflow rather than a
 * silent read of the mbuf's unused data room.
 *
 * Build: see tests/fuzz/meson.build (links lib/net and the ring PMD).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "net/neigh.h"
#include "net/queue.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADROOM  RTE_PKTMBUF_HEADROOM
#define FRAME_MAX 9000

static struct {
	struct rte_mempool *pool;
	struct rte_ring *rxr, *txr;
	struct net_iface ifc;
	struct net_queue *q;
	struct net_dgram out[NET_BURST];
	uint8_t copy[FRAME_MAX];
	uint64_t runs;
	uint64_t clock; /* TSC offset added for timers, moved forward every 64 inputs */
} F;

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_net: %s failed\n", what);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz_net",
		       "--no-huge",
		       "--no-shconf",
		       "--no-pci",
		       "--no-telemetry",
		       "--log-level=*:error",
		       "-m",
		       "256",
		       "--lcores",
		       "0",
		       "--file-prefix",
		       "nc_fuzz_net",
		       NULL};
	struct rte_eth_conf conf;
	int port;
	int err;

	(void)argc;
	(void)argv;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		die("rte_eal_init");
	F.pool = rte_pktmbuf_pool_create("fz_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	F.rxr = rte_ring_create("fz_rx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	F.txr = rte_ring_create("fz_tx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (F.pool == NULL || F.rxr == NULL || F.txr == NULL)
		die("pool/rings");
	port = rte_eth_from_rings("net_ring_fz", &F.rxr, 1, &F.txr, 1, SOCKET_ID_ANY);
	if (port < 0)
		die("rte_eth_from_rings");
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure((uint16_t)port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup((uint16_t)port, 0, 64, SOCKET_ID_ANY, NULL, F.pool) != 0 ||
	    rte_eth_tx_queue_setup((uint16_t)port, 0, 64, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start((uint16_t)port) != 0)
		die("port setup");

	F.ifc = (struct net_iface){
		.port_id = (uint16_t)port,
		.nb_queues = 1,
		.mac = {{0x02, 0, 0, 0, 0, 0x01}},
		.ip = RTE_BE32(0x0a090001),	 /* 10.9.0.1 */
		.netmask = RTE_BE32(0xffffff00), /* /24 */
		.gateway = RTE_BE32(0x0a0900fe),
		.mtu = 1500,
		.udp_port = 11211,
		.tcp_port = 11211,
		.pool = F.pool,
		.neigh = net_neigh_create(SOCKET_ID_ANY),
	};
	if (F.ifc.neigh == NULL)
		die("net_neigh_create");
	F.q = net_queue_create(&F.ifc, 0, SOCKET_ID_ANY, &err);
	if (F.q == NULL)
		die("net_queue_create");
	return 0;
}

/*
 * An external frame buffer's shared info, on a list rooted in a global: fragments held for
 * reassembly are referenced only from DPDK memory, which LeakSanitizer does not scan.
 */
struct ext {
	struct rte_mbuf_ext_shared_info sh;
	struct ext *prev, *next;
	uint8_t *buf;
};

static struct ext live = {.prev = &live, .next = &live};

/** Free callback of an external frame buffer: unlink and free it with its shared info. */
static void
ext_free(void *addr, void *opaque)
{
	struct ext *e = opaque;

	e->prev->next = e->next;
	e->next->prev = e->prev;
	free(addr);
	free(e);
}

/** An mbuf whose data is a copy of @p data in an exact-size malloc'd buffer (after headroom). */
static struct rte_mbuf *
frame_mbuf(const uint8_t *data, size_t size)
{
	struct ext *e = malloc(sizeof(*e));
	uint8_t *buf = malloc(HEADROOM + size);
	struct rte_mbuf *m = rte_pktmbuf_alloc(F.pool);

	if (e == NULL || buf == NULL || m == NULL)
		die("frame allocation");
	memcpy(buf + HEADROOM, data, size);
	e->buf = buf;
	e->sh.free_cb = ext_free;
	e->sh.fcb_opaque = e;
	rte_mbuf_ext_refcnt_set(&e->sh, 1);
	e->next = live.next;
	e->prev = &live;
	live.next->prev = e;
	live.next = e;
	rte_pktmbuf_attach_extbuf(m, buf, 0, (uint16_t)(HEADROOM + size), &e->sh);
	m->data_off = HEADROOM;
	m->data_len = (uint16_t)size;
	m->pkt_len = (uint32_t)size;
	return m;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m, *sent[64];
	unsigned n, k;

	if (size > FRAME_MAX)
		size = FRAME_MAX;
	m = frame_mbuf(data, size);
	n = net_queue_input(F.q, &m, 1, F.out, NET_BURST);
	for (unsigned i = 0; i < n; i++) {
		struct net_dgram *d = &F.out[i];
		uint32_t got = net_dgram_copy(d, F.copy, sizeof(F.copy));
		uint8_t *payload;
		uint16_t room;
		struct rte_mbuf *r;

		if (got != d->len)
			die("net_dgram_copy length");
		r = net_udp_alloc(F.q, &payload, &room);
		if (r != NULL) {
			uint16_t len = got < room ? (uint16_t)got : room;

			memcpy(payload, F.copy, len);
			net_udp_send(F.q, r, len, d->src_ip, d->src_port, d->dst_port);
		}
		net_dgram_free(d);
	}
	if (++F.runs % 64 == 0) {
		F.clock += rte_get_tsc_hz();
		net_queue_timers(F.q, rte_rdtsc() + F.clock);
	}
	net_queue_flush(F.q);
	while ((k = rte_ring_dequeue_burst(F.txr, (void **)sent, RTE_DIM(sent), NULL)) != 0)
		rte_pktmbuf_free_bulk(sent, k);
	return 0;
}
