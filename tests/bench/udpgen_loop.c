/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What nc_udpgen's two closed loops (UDP, TCP) share: the phases. Warming sets every key once;
 * the timed phase sends random gets and sets for --duration seconds and then drains. Each
 * phase starts with every window filled (the load's fill), then turns the load's pump, in
 * which every reply frees its place for the next request the phase picks here.
 */
#include <errno.h>

#include <rte_cycles.h>

#include "udpgen.h"

#define SCAN_US 1000 /* how often requests in flight are checked for timeouts */

/* xorshift64*: 64 random bits; the state is never zero. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

int
udpgen_loop_init(struct udpgen_loop *lp, const struct udpgen_config *cfg, struct genlink *l,
		 unsigned timeout_ms)
{
	int rc = udpgen_text_init(&lp->x, cfg);

	if (rc != 0)
		return rc;
	lp->cfg = cfg;
	lp->l = l;
	lp->rng = (cfg->seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull) | 1;
	lp->timeout = l->hz / 1000 * timeout_ms;
	lp->scan_every = l->hz / 1000000 * SCAN_US;
	return 0;
}

bool
udpgen_loop_pick(struct udpgen_loop *lp, uint32_t *key, bool *set)
{
	if (!lp->issuing)
		return false;
	if (lp->warming) {
		if (lp->warm_next >= lp->cfg->keys)
			return false;
		*key = lp->warm_next++;
		*set = true;
		return true;
	}
	*key = (uint32_t)(((rng_next(&lp->rng) >> 32) * lp->cfg->keys) >> 32);
	*set = (double)(rng_next(&lp->rng) >> 11) * 0x1.0p-53 >= lp->cfg->get_ratio;
	return true;
}

/* Starts a phase: every window filled at once. */
static void
phase_start(struct udpgen_loop *lp, bool warming, uint64_t *c)
{
	uint64_t now = rte_get_tsc_cycles();

	lp->warming = warming;
	lp->issuing = true;
	lp->redo = 0;
	lp->next_scan = now + lp->scan_every;
	lp->fill(lp, now, c);
}

int
udpgen_loop_warm(struct udpgen_loop *lp, double max_s, uint64_t c[UDPGEN_C_COUNT])
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)(max_s * (double)lp->l->hz);
	uint64_t now;
	bool done;

	lp->warm_next = 0;
	phase_start(lp, true, c);
	do {
		now = lp->pump(lp, c);
		done = lp->inflight == 0 && lp->warm_next >= lp->cfg->keys && lp->redo == 0;
	} while (!done && !lp->stuck && now < end);
	lp->issuing = false;
	if (lp->failed > 0)
		return -EPIPE;
	return done ? 0 : -ETIMEDOUT;
}

double
udpgen_loop_timed(struct udpgen_loop *lp, uint64_t c[UDPGEN_C_COUNT])
{
	uint64_t start = rte_get_tsc_cycles(), now;
	uint64_t end = start + (uint64_t)(lp->cfg->duration * (double)lp->l->hz);

	phase_start(lp, false, c);
	do {
		now = lp->pump(lp, c);
		if (now >= end || lp->stuck)
			lp->issuing = false;
	} while (lp->issuing || lp->inflight > 0);
	return (double)(now - start) / (double)lp->l->hz;
}
