/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_udpgen's closed loop over UDP: --window slots, each one request in flight. A request's id
 * is its slot index in the low bits and the slot's use count above, so a reply finds its slot
 * at once and a late reply to an earlier use is told apart. A reply frees its slot, which
 * sends the next request at once; a request unanswered for 100 ms is given up and its slot
 * reused. Requests are sent together at the end of each receive burst.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "udpgen.h"

#define TIMEOUT_MS 100

struct slot {
	uint64_t sent; /* TSC when the request went out */
	uint32_t key;
	uint16_t id, uses;
	bool set;  /* a set (else a get) */
	bool busy; /* waiting for its reply */
	bool redo; /* warm phase: send the same set again */
};

struct udpgen_load {
	struct udpgen_loop lp; /* first: the load is its loop */
	struct slot *slots;
	unsigned slot_bits;
	uint16_t ntx;
	struct rte_mbuf *tx[UDPGEN_WINDOW_MAX];
};

/* Builds the request of slot @p s and queues it; a slot whose frame cannot be built stays
 * idle and is retried at the next scan. */
static void
slot_send(struct udpgen_load *ld, struct slot *s, uint64_t now, uint64_t *c)
{
	struct rte_mbuf *m;
	char *t;

	s->uses++;
	s->id = (uint16_t)((uint32_t)s->uses << ld->slot_bits | (uint32_t)(s - ld->slots));
	m = genlink_begin(ld->lp.l, 0, s->id, &t);
	if (m == NULL)
		return;
	genlink_finish(m, udpgen_text_request(&ld->lp.x, t, s->key, s->set));
	ld->tx[ld->ntx++] = m;
	s->sent = now;
	s->busy = true;
	ld->lp.inflight++;
	c[UDPGEN_C_requests]++;
}

/* Picks the next request for an idle slot and sends it; returns false when there is none. */
static bool
slot_next(struct udpgen_load *ld, struct slot *s, uint64_t now, uint64_t *c)
{
	if (s->redo && ld->lp.issuing) {
		s->redo = false; /* the same set again */
		ld->lp.redo--;
	} else if (!udpgen_loop_pick(&ld->lp, &s->key, &s->set)) {
		return false;
	}
	slot_send(ld, s, now, c);
	return true;
}

/* Retires the request a datagram answers and sends the slot's next one. */
static void
reply_input(struct udpgen_load *ld, const struct genlink_dgram *d, uint64_t now, uint64_t *c)
{
	uint32_t idx = d->id & ((1u << ld->slot_bits) - 1);
	struct slot *s = idx < ld->lp.cfg->window ? &ld->slots[idx] : NULL;

	if (s == NULL || !s->busy || s->id != d->id) {
		c[UDPGEN_C_late]++;
		return;
	}
	s->busy = false;
	ld->lp.inflight--;
	c[UDPGEN_C_replies]++;
	if (d->seq != 0 || d->total != 1)
		c[UDPGEN_C_verify_failed]++;
	else
		udpgen_text_check(&ld->lp.x, s->key, s->set, d->text, d->len, c);
	slot_next(ld, s, now, c);
}

/* Gives up requests older than the timeout and refills idle slots. */
static void
slots_scan(struct udpgen_load *ld, uint64_t now, uint64_t *c)
{
	for (uint32_t i = 0; i < ld->lp.cfg->window; i++) {
		struct slot *s = &ld->slots[i];

		if (s->busy && now - s->sent > ld->lp.timeout) {
			s->busy = false;
			if (ld->lp.warming && !s->redo) {
				s->redo = true;
				ld->lp.redo++;
			}
			ld->lp.inflight--;
			c[UDPGEN_C_timeouts]++;
		}
		if (!s->busy)
			slot_next(ld, s, now, c);
	}
}

/* One turn of the loop: a receive burst, its replies, timeouts when due, the sends. */
static uint64_t
pump(struct udpgen_loop *lp, uint64_t *c)
{
	struct udpgen_load *ld = (struct udpgen_load *)lp;
	struct rte_mbuf *pkts[GENLINK_BURST];
	uint16_t n = rte_eth_rx_burst(lp->l->port_id, lp->l->queue_id, pkts, GENLINK_BURST);
	uint64_t now = rte_get_tsc_cycles();
	struct genlink_dgram d;

	for (uint16_t i = 0; i < n; i++) {
		if (genlink_classify(lp->l, pkts[i], &d) != GENLINK_RX_UDP)
			continue;
		reply_input(ld, &d, now, c);
		rte_pktmbuf_free(pkts[i]);
	}
	if (now >= lp->next_scan) {
		slots_scan(ld, now, c);
		lp->next_scan = now + lp->scan_every;
	}
	if (ld->ntx > 0) {
		genlink_send(lp->l, ld->tx, ld->ntx);
		ld->ntx = 0;
	}
	return now;
}

/* A phase starts: every idle slot sends. */
static void
fill(struct udpgen_loop *lp, uint64_t now, uint64_t *c)
{
	struct udpgen_load *ld = (struct udpgen_load *)lp;

	for (uint32_t i = 0; i < lp->cfg->window; i++) {
		ld->slots[i].redo = false;
		if (!ld->slots[i].busy)
			slot_next(ld, &ld->slots[i], now, c);
	}
}

static void
destroy(struct udpgen_loop *lp)
{
	struct udpgen_load *ld = (struct udpgen_load *)lp;

	free(ld->slots);
	free(ld);
}

struct udpgen_loop *
udpgen_load_create(const struct udpgen_config *cfg, struct genlink *l)
{
	struct udpgen_load *ld = calloc(1, sizeof(*ld));
	uint32_t req;

	if (ld == NULL)
		return NULL;
	ld->lp.pump = pump;
	ld->lp.fill = fill;
	ld->lp.destroy = destroy;
	ld->slots = calloc(cfg->window, sizeof(*ld->slots));
	if (ld->slots == NULL || udpgen_loop_init(&ld->lp, cfg, l, TIMEOUT_MS) != 0) {
		destroy(&ld->lp);
		return NULL;
	}
	while ((1u << ld->slot_bits) < cfg->window)
		ld->slot_bits++;
	/* The set request and the hit reply must each fit one datagram. */
	req = 20 + 8 + 8 + ld->lp.x.request_max;
	if (req > GENLINK_MTU || ld->lp.x.hit_len > UDPGEN_UDP_PAYLOAD) {
		fprintf(stderr,
			"nc_udpgen: a set (%u B of IPv4) or a hit (%u B of reply) does not fit "
			"one datagram: lower --key-size or --value-size\n",
			req, ld->lp.x.hit_len);
		destroy(&ld->lp);
		return NULL;
	}
	return &ld->lp;
}
