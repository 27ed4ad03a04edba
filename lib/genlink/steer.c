/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replies to the thread that owns their port (steer.h): the threads' rings, the hand-over in
 * the receive path (genlink_receive), and the flow rules of a device that has rte_flow.
 */
#include "genlink/steer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_ip.h>
#include <rte_errno.h>
#include <rte_ring.h>

struct genlink_steer {
	unsigned nthreads;
	uint16_t base, block;
	struct rte_ring **rings; /* one per thread: any thread enqueues, the owner dequeues */
};

int
genlink_steer_create(uint16_t port_id, unsigned nthreads, uint16_t base, uint16_t block, int socket,
		     struct genlink_steer **out)
{
	struct genlink_steer *s;

	*out = NULL;
	if (nthreads == 0 || block == 0 || (uint32_t)base + (uint32_t)nthreads * block > 65536)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->nthreads = nthreads;
	s->base = base;
	s->block = block;
	s->rings = calloc(nthreads, sizeof(*s->rings));
	if (s->rings == NULL) {
		genlink_steer_destroy(&s);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "glsteer_%u_%u", port_id, i);
		s->rings[i] = rte_ring_create(name, GENLINK_STEER_RING, socket, RING_F_SC_DEQ);
		if (s->rings[i] == NULL) {
			genlink_steer_destroy(&s);
			return -ENOMEM;
		}
	}
	*out = s;
	return 0;
}

/* Free every frame waiting in @p r. */
static void
ring_empty(struct rte_ring *r)
{
	struct rte_mbuf *pkts[GENLINK_BURST];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(r, (void **)pkts, GENLINK_BURST, NULL)) > 0)
		rte_pktmbuf_free_bulk(pkts, n);
}

void
genlink_steer_destroy(struct genlink_steer **sp)
{
	struct genlink_steer *s = *sp;

	if (s == NULL)
		return;
	for (unsigned i = 0; s->rings != NULL && i < s->nthreads; i++) {
		if (s->rings[i] != NULL)
			ring_empty(s->rings[i]);
		rte_ring_free(s->rings[i]);
	}
	free(s->rings);
	free(s);
	*sp = NULL;
}

void
genlink_steer_attach(struct genlink_steer *s, struct genlink *l, uint16_t thread)
{
	l->steer = s;
	l->thread = thread;
}

void
genlink_steer_drain(struct genlink *l)
{
	if (l->steer != NULL)
		ring_empty(l->steer->rings[l->thread]);
}

/* The destination port (host order) of a UDP or TCP frame over IPv4; -1 for anything else. */
static int
frame_dport(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eh + 1);
	const uint8_t *l4;
	uint32_t ihl;

	if (m->data_len < sizeof(*eh) + sizeof(*ip) + 4 ||
	    eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    (ip->next_proto_id != IPPROTO_UDP && ip->next_proto_id != IPPROTO_TCP))
		return -1;
	/* A fragment after the first carries no ports: the thread that got it keeps it. */
	if ((ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return -1;
	ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	if (ihl < sizeof(*ip) || m->data_len < sizeof(*eh) + ihl + 4)
		return -1;
	l4 = (const uint8_t *)ip + ihl;
	return l4[2] << 8 | l4[3];
}

uint16_t
genlink_receive(struct genlink *l, struct rte_mbuf **pkts, uint16_t max)
{
	struct genlink_steer *s = l->steer;
	uint16_t n = rte_eth_rx_burst(l->port_id, l->queue_id, pkts, max), kept = 0;

	if (s == NULL)
		return n;
	for (uint16_t i = 0; i < n; i++) {
		int port = frame_dport(pkts[i]);
		int owner = port < 0 ? -1 :
				       genlink_port_owner(s->base, s->block, s->nthreads,
							  (uint16_t)port);

		if (owner < 0 || owner == l->thread) {
			pkts[kept++] = pkts[i];
		} else if (rte_ring_mp_enqueue(s->rings[owner], pkts[i]) == 0) {
			l->handoffs++;
		} else {
			rte_pktmbuf_free(pkts[i]);
			l->handoff_drops++;
		}
	}
	return (uint16_t)(kept + rte_ring_sc_dequeue_burst(s->rings[l->thread],
							   (void **)(pkts + kept),
							   (unsigned)(max - kept), NULL));
}

/* Validate (or with @p create, create) the rule steering @p proto to thread @p i's queue. */
static int
flow_rule(const struct genlink_steer *s, uint16_t port_id, unsigned i, uint8_t proto, bool create,
	  struct rte_flow_error *fe)
{
	const struct rte_flow_attr attr = {.ingress = 1};
	const rte_be16_t first = rte_cpu_to_be_16((uint16_t)(s->base + i * s->block));
	const rte_be16_t last = rte_cpu_to_be_16((uint16_t)(s->base + (i + 1) * s->block - 1));
	const struct rte_flow_item_udp udp_spec = {.hdr.dst_port = first};
	const struct rte_flow_item_udp udp_last = {.hdr.dst_port = last};
	const struct rte_flow_item_udp udp_mask = {.hdr.dst_port = RTE_BE16(0xffff)};
	const struct rte_flow_item_tcp tcp_spec = {.hdr.dst_port = first};
	const struct rte_flow_item_tcp tcp_last = {.hdr.dst_port = last};
	const struct rte_flow_item_tcp tcp_mask = {.hdr.dst_port = RTE_BE16(0xffff)};
	const bool udp = proto == IPPROTO_UDP;
	const struct rte_flow_item pattern[] = {
		{.type = RTE_FLOW_ITEM_TYPE_ETH},
		{.type = RTE_FLOW_ITEM_TYPE_IPV4},
		{.type = udp ? RTE_FLOW_ITEM_TYPE_UDP : RTE_FLOW_ITEM_TYPE_TCP,
		 .spec = udp ? (const void *)&udp_spec : (const void *)&tcp_spec,
		 .last = s->block > 1 ? (udp ? (const void *)&udp_last : (const void *)&tcp_last) :
					NULL,
		 .mask = udp ? (const void *)&udp_mask : (const void *)&tcp_mask},
		{.type = RTE_FLOW_ITEM_TYPE_END},
	};
	const struct rte_flow_action_queue queue = {.index = (uint16_t)i};
	const struct rte_flow_action actions[] = {
		{.type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &queue},
		{.type = RTE_FLOW_ACTION_TYPE_END},
	};

	if (!create)
		return rte_flow_validate(port_id, &attr, pattern, actions, fe);
	return rte_flow_create(port_id, &attr, pattern, actions, fe) != NULL ? 0 : -rte_errno;
}

int
genlink_steer_flows(const struct genlink_steer *s, uint16_t port_id, char *msg, size_t msgcap)
{
	static const uint8_t protos[] = {IPPROTO_UDP, IPPROTO_TCP};
	struct rte_flow_error fe = {0};
	int rc = 0, made = 0;

	for (unsigned pass = 0; pass < 2 && rc == 0; pass++)
		for (unsigned i = 0; i < s->nthreads && rc == 0; i++)
			for (unsigned p = 0; p < RTE_DIM(protos) && rc == 0; p++) {
				rc = flow_rule(s, port_id, i, protos[p], pass == 1, &fe);
				made += pass == 1 && rc == 0;
			}
	if (rc == 0)
		return made;
	if (made > 0)
		rte_flow_flush(port_id, NULL);
	snprintf(msg, msgcap, "%s", fe.message != NULL ? fe.message : strerror(rc < 0 ? -rc : rc));
	return -ENOTSUP;
}
