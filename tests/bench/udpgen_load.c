/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_udpgen's closed loop: --window slots, each holding one request in flight. A request's id
 * is its slot index in the low bits and the slot's use count above, so a reply finds its slot
 * at once and a late reply to an earlier use is told apart. A reply frees its slot, which
 * sends the next request at once; a request unanswered for 100 ms is given up and its slot
 * reused. Requests are sent together at the end of each receive burst.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "udpgen.h"

#define TIMEOUT_MS 100
#define SCAN_US	   1000 /* how often slots are checked for timeouts */
#define KEY_MAX	   250
#define LINE_TAIL  32

struct slot {
	uint64_t sent; /* TSC when the request went out */
	uint32_t key;
	uint16_t id, uses;
	bool set;  /* a set (else a get) */
	bool busy; /* waiting for its reply */
	bool redo; /* warm phase: send the same set again */
};

struct udpgen_load {
	const struct udpgen_config *cfg;
	struct udpgen_link *l;
	struct slot *slots;
	unsigned slot_bits;
	uint32_t inflight;
	uint64_t rng;
	uint64_t timeout, scan_every, next_scan;
	bool issuing, warming;
	uint32_t warm_next;
	char set_tail[LINE_TAIL], hit_tail[LINE_TAIL]; /* " 0 0 <n>\r\n", " 0 <n>\r\n" */
	uint32_t set_tail_len, hit_tail_len;
	uint16_t ntx;
	struct rte_mbuf *tx[UDPGEN_WINDOW_MAX];
};

/* xorshift64*: 64 random bits; the state is never zero. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Writes key @p idx: "key:" and its number zero-padded to key_size bytes. */
static void
key_write(const struct udpgen_load *ld, char *k, uint32_t idx)
{
	memcpy(k, "key:", 4);
	for (uint32_t i = ld->cfg->key_size; i-- > 4; idx /= 10)
		k[i] = (char)('0' + idx % 10);
}

/* The value of a key: the key backwards, repeated to value_size bytes. */
static void
value_write(const struct udpgen_load *ld, char *v, const char *k)
{
	uint32_t ks = ld->cfg->key_size;

	for (uint32_t i = 0; i < ld->cfg->value_size; i++)
		v[i] = k[ks - 1 - i % ks];
}

static bool
value_ok(const struct udpgen_load *ld, const char *v, const char *k)
{
	uint32_t ks = ld->cfg->key_size;

	for (uint32_t i = 0; i < ld->cfg->value_size; i++)
		if (v[i] != k[ks - 1 - i % ks])
			return false;
	return true;
}

/* Builds the request of slot @p s and queues it; a slot whose frame cannot be built stays
 * idle and is retried at the next scan. */
static void
slot_send(struct udpgen_load *ld, struct slot *s, uint64_t now, uint64_t *c)
{
	uint32_t ks = ld->cfg->key_size, vs = ld->cfg->value_size, len;
	struct rte_mbuf *m;
	char *t;

	s->uses++;
	s->id = (uint16_t)((uint32_t)s->uses << ld->slot_bits | (uint32_t)(s - ld->slots));
	m = udpgen_link_begin(ld->l, s->id, &t);
	if (m == NULL)
		return;
	memcpy(t, s->set ? "set " : "get ", 4);
	key_write(ld, t + 4, s->key);
	len = 4 + ks;
	if (s->set) {
		memcpy(t + len, ld->set_tail, ld->set_tail_len);
		len += ld->set_tail_len;
		value_write(ld, t + len, t + 4);
		len += vs;
	}
	memcpy(t + len, "\r\n", 2);
	udpgen_link_finish(m, len + 2);
	ld->tx[ld->ntx++] = m;
	s->sent = now;
	s->busy = true;
	ld->inflight++;
	c[UDPGEN_C_requests]++;
}

/* Picks the next request for an idle slot and sends it; returns false when there is none. */
static bool
slot_next(struct udpgen_load *ld, struct slot *s, uint64_t now, uint64_t *c)
{
	const struct udpgen_config *cfg = ld->cfg;

	if (!ld->issuing)
		return false;
	if (ld->warming) {
		if (!s->redo) {
			if (ld->warm_next >= cfg->keys)
				return false;
			s->key = ld->warm_next++;
		}
		s->set = true;
		s->redo = false;
	} else {
		s->key = (uint32_t)(((rng_next(&ld->rng) >> 32) * cfg->keys) >> 32);
		s->set = (double)(rng_next(&ld->rng) >> 11) * 0x1.0p-53 >= cfg->get_ratio;
	}
	slot_send(ld, s, now, c);
	return true;
}

/* Checks the reply to get @p s: a hit with the key's value, or a miss. */
static void
get_reply(struct udpgen_load *ld, const struct slot *s, const char *t, uint32_t len, uint64_t *c)
{
	uint32_t ks = ld->cfg->key_size, vs = ld->cfg->value_size;
	uint32_t head = 6 + ks + ld->hit_tail_len;
	char key[KEY_MAX];

	c[UDPGEN_C_gets]++;
	if (len == 5 && memcmp(t, "END\r\n", 5) == 0) {
		c[UDPGEN_C_misses]++;
		c[UDPGEN_C_verify_failed] += ld->cfg->warm;
		return;
	}
	key_write(ld, key, s->key);
	if (len == head + vs + 7 && memcmp(t, "VALUE ", 6) == 0 && memcmp(t + 6, key, ks) == 0 &&
	    memcmp(t + 6 + ks, ld->hit_tail, ld->hit_tail_len) == 0 &&
	    value_ok(ld, t + head, key) && memcmp(t + head + vs, "\r\nEND\r\n", 7) == 0)
		c[UDPGEN_C_hits]++;
	else
		c[UDPGEN_C_verify_failed]++;
}

/* Retires the request a datagram answers and sends the slot's next one. */
static void
reply_input(struct udpgen_load *ld, const struct udpgen_dgram *d, uint64_t now, uint64_t *c)
{
	uint32_t idx = d->id & ((1u << ld->slot_bits) - 1);
	struct slot *s = idx < ld->cfg->window ? &ld->slots[idx] : NULL;

	if (s == NULL || !s->busy || s->id != d->id) {
		c[UDPGEN_C_late]++;
		return;
	}
	s->busy = false;
	ld->inflight--;
	c[UDPGEN_C_replies]++;
	if (d->seq != 0 || d->total != 1)
		c[UDPGEN_C_verify_failed]++;
	else if (!s->set)
		get_reply(ld, s, d->text, d->len, c);
	else if (d->len == 8 && memcmp(d->text, "STORED\r\n", 8) == 0)
		c[UDPGEN_C_sets]++;
	else
		c[UDPGEN_C_verify_failed]++;
	slot_next(ld, s, now, c);
}

/* Gives up requests older than the timeout and refills idle slots. */
static void
slots_scan(struct udpgen_load *ld, uint64_t now, uint64_t *c)
{
	for (uint32_t i = 0; i < ld->cfg->window; i++) {
		struct slot *s = &ld->slots[i];

		if (s->busy && now - s->sent > ld->timeout) {
			s->busy = false;
			s->redo = ld->warming;
			ld->inflight--;
			c[UDPGEN_C_timeouts]++;
		}
		if (!s->busy)
			slot_next(ld, s, now, c);
	}
}

/* One turn of the loop: a receive burst, its replies, timeouts when due, the sends. */
static uint64_t
pump(struct udpgen_load *ld, uint64_t *c)
{
	struct rte_mbuf *pkts[UDPGEN_BURST];
	uint16_t n = rte_eth_rx_burst(ld->l->port_id, 0, pkts, UDPGEN_BURST);
	uint64_t now = rte_get_tsc_cycles();
	struct udpgen_dgram d;

	for (uint16_t i = 0; i < n; i++) {
		if (udpgen_link_classify(ld->l, pkts[i], &d) != UDPGEN_RX_UDP)
			continue;
		reply_input(ld, &d, now, c);
		rte_pktmbuf_free(pkts[i]);
	}
	if (now >= ld->next_scan) {
		slots_scan(ld, now, c);
		ld->next_scan = now + ld->scan_every;
	}
	if (ld->ntx > 0) {
		udpgen_link_send(ld->l, ld->tx, ld->ntx);
		ld->ntx = 0;
	}
	return now;
}

/* Starts a phase: every slot idle and sent at once. */
static void
phase_start(struct udpgen_load *ld, bool warming, uint64_t *c)
{
	uint64_t now = rte_get_tsc_cycles();

	ld->warming = warming;
	ld->issuing = true;
	ld->next_scan = now + ld->scan_every;
	for (uint32_t i = 0; i < ld->cfg->window; i++) {
		ld->slots[i].redo = false;
		if (!ld->slots[i].busy)
			slot_next(ld, &ld->slots[i], now, c);
	}
}

int
udpgen_load_warm(struct udpgen_load *ld, double max_s, uint64_t c[UDPGEN_C_COUNT])
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)(max_s * (double)ld->l->hz);
	uint64_t now;

	ld->warm_next = 0;
	phase_start(ld, true, c);
	do {
		now = pump(ld, c);
		if (ld->inflight == 0 && ld->warm_next >= ld->cfg->keys) {
			bool redo = false;

			for (uint32_t i = 0; i < ld->cfg->window; i++)
				redo |= ld->slots[i].redo;
			if (!redo)
				break;
		}
	} while (now < end);
	ld->issuing = false;
	return now < end ? 0 : -ETIMEDOUT;
}

double
udpgen_load_timed(struct udpgen_load *ld, uint64_t c[UDPGEN_C_COUNT])
{
	uint64_t start = rte_get_tsc_cycles(), now;
	uint64_t end = start + (uint64_t)(ld->cfg->duration * (double)ld->l->hz);

	phase_start(ld, false, c);
	do {
		now = pump(ld, c);
		if (now >= end)
			ld->issuing = false;
	} while (ld->issuing || ld->inflight > 0);
	return (double)(now - start) / (double)ld->l->hz;
}

struct udpgen_load *
udpgen_load_create(const struct udpgen_config *cfg, struct udpgen_link *l)
{
	struct udpgen_load *ld;
	uint32_t req, rep, digits = 1;

	for (uint32_t k = cfg->keys - 1; k >= 10; k /= 10)
		digits++;
	if (cfg->key_size < 4 + digits) {
		fprintf(stderr,
			"nc_udpgen: --key-size %u cannot hold %u keys (\"key:\" + %u digits)\n",
			cfg->key_size, cfg->keys, digits);
		return NULL;
	}
	ld = calloc(1, sizeof(*ld));
	if (ld == NULL)
		return NULL;
	ld->slots = calloc(cfg->window, sizeof(*ld->slots));
	if (ld->slots == NULL) {
		free(ld);
		return NULL;
	}
	ld->cfg = cfg;
	ld->l = l;
	while ((1u << ld->slot_bits) < cfg->window)
		ld->slot_bits++;
	ld->rng = cfg->seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	ld->rng |= 1;
	ld->timeout = l->hz / 1000 * TIMEOUT_MS;
	ld->scan_every = l->hz / 1000000 * SCAN_US;
	ld->set_tail_len =
		(uint32_t)snprintf(ld->set_tail, LINE_TAIL, " 0 0 %u\r\n", cfg->value_size);
	ld->hit_tail_len =
		(uint32_t)snprintf(ld->hit_tail, LINE_TAIL, " 0 %u\r\n", cfg->value_size);
	/* The set request and the hit reply must each fit one datagram. */
	req = 20 + 8 + 8 + 4 + cfg->key_size + ld->set_tail_len + cfg->value_size + 2;
	rep = 6 + cfg->key_size + ld->hit_tail_len + cfg->value_size + 7;
	if (req > UDPGEN_MTU || rep > UDPGEN_UDP_PAYLOAD) {
		fprintf(stderr,
			"nc_udpgen: a set (%u B of IPv4) or a hit (%u B of reply) does not fit "
			"one datagram: lower --key-size or --value-size\n",
			req, rep);
		udpgen_load_destroy(&ld);
	}
	return ld;
}

void
udpgen_load_destroy(struct udpgen_load **ld)
{
	if (*ld == NULL)
		return;
	free((*ld)->slots);
	free(*ld);
	*ld = NULL;
}
