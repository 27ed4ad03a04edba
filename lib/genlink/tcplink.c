/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A load generator's TCP on its link (tcplink.h): lib/tcp's io (mbufs from the link's pool,
 * segments framed and batched for one TX burst a turn) and the link's TCP hook. Moved out of
 * tests/bench/tcpgen_load.c so mcgen's DPDK TCP transport shares it.
 */
#include "genlink/tcplink.h"

#include <errno.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "tcp/tcp.h"

#define TX_MAX 256

struct genlink_tcp {
	struct genlink *l;
	struct tcp_ctx *t;
	struct genlink_tcp_hook hook;
	uint64_t tsc_per_us;
	uint16_t ntx;
	struct rte_mbuf *tx[TX_MAX];
};

uint64_t
genlink_tcp_now_us(const struct genlink_tcp *g)
{
	return rte_get_tsc_cycles() / g->tsc_per_us;
}

static void
tx_flush(struct genlink_tcp *g)
{
	if (g->ntx > 0) {
		genlink_send(g->l, g->tx, g->ntx); /* frames not taken: lib/tcp retransmits */
		g->ntx = 0;
	}
}

static struct rte_mbuf *
io_alloc(void *arg)
{
	return rte_pktmbuf_alloc(((struct genlink_tcp *)arg)->l->pool);
}

static int
io_output(void *arg, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip)
{
	struct genlink_tcp *g = arg;
	int rc = -EHOSTUNREACH;

	if (src_ip == g->l->ip && dst_ip == g->l->peer_ip)
		rc = genlink_tcp_frame(g->l, m);
	if (rc != 0) {
		rte_pktmbuf_free(m); /* dropped, as a NIC may: lib/tcp retransmits */
		return rc;
	}
	if (g->ntx == TX_MAX)
		tx_flush(g);
	g->tx[g->ntx++] = m;
	return 0;
}

/* Own ports: only the link's block of source ports. */
static bool
io_steers_here(void *arg, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport)
{
	const struct genlink *l = ((struct genlink_tcp *)arg)->l;
	uint16_t off = (uint16_t)(rte_be_to_cpu_16(lport) - rte_be_to_cpu_16(l->sport));

	(void)rip;
	(void)rport;
	return off < (l->nsports ? l->nsports : 1);
}

static void
hook_input(void *arg, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip)
{
	struct genlink_tcp *g = arg;

	tcp_input(g->t, m, src_ip, dst_ip, genlink_tcp_now_us(g));
}

void
genlink_tcp_turn(struct genlink_tcp *g)
{
	uint64_t us = genlink_tcp_now_us(g);

	tcp_timers(g->t, us);
	tcp_flush(g->t, us);
	tx_flush(g);
}

static void
hook_tick(void *arg)
{
	genlink_tcp_turn(arg);
}

int
genlink_tcp_create(struct genlink *l, uint32_t max_conns, bool own_ports, struct genlink_tcp **out)
{
	struct tcp_params p = {.local_ip = l->ip, .mtu = GENLINK_MTU, .max_conns = max_conns};
	uint32_t first = rte_be_to_cpu_16(l->sport), n = l->nsports ? l->nsports : 1;
	struct genlink_tcp *g;
	int err;

	*out = NULL;
	if (own_ports && (first < TCP_EPHEMERAL_MIN || first + n - 1 > TCP_EPHEMERAL_MAX))
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -ENOMEM;
	g->l = l;
	g->tsc_per_us = l->hz / 1000000 ? l->hz / 1000000 : 1;
	p.io = (struct tcp_io){.arg = g,
			       .alloc = io_alloc,
			       .output = io_output,
			       .steers_here = own_ports ? io_steers_here : NULL};
	g->t = tcp_create(&p, (int)rte_socket_id(), &err);
	if (g->t == NULL) {
		free(g);
		return err < 0 ? err : -ENOMEM;
	}
	g->hook = (struct genlink_tcp_hook){.arg = g, .input = hook_input, .tick = hook_tick};
	l->tcp = &g->hook;
	*out = g;
	return 0;
}

void
genlink_tcp_destroy(struct genlink_tcp **gp, unsigned linger_ms)
{
	struct genlink_tcp *g = *gp;
	struct rte_mbuf *pkts[GENLINK_BURST];
	struct genlink_dgram d;
	struct tcp_gauges gauges;
	uint64_t end;

	if (g == NULL)
		return;
	end = rte_get_tsc_cycles() + g->l->hz / 1000 * linger_ms;
	for (;;) {
		uint16_t n;

		genlink_tcp_turn(g);
		tcp_gauges(g->t, &gauges);
		if (gauges.conns == 0 || rte_get_tsc_cycles() >= end)
			break;
		n = genlink_receive(g->l, pkts, GENLINK_BURST);
		for (uint16_t i = 0; i < n; i++)
			if (genlink_classify(g->l, pkts[i], &d) == GENLINK_RX_UDP)
				rte_pktmbuf_free(pkts[i]);
	}
	g->l->tcp = NULL;
	tcp_destroy(&g->t);
	tx_flush(g);
	free(g);
	*gp = NULL;
}

struct tcp_ctx *
genlink_tcp_ctx(struct genlink_tcp *g)
{
	return g->t;
}
