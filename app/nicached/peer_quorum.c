/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --replication quorum: a write to a replicated key is answered once a majority of the key's
 * R copies hold it (AllMajority: this node's, then R/2 replicas' acknowledgements).
 *
 * Commands to replicas go without `q` in this mode, so every command gets exactly one reply
 * line, in order: each link keeps a FIFO naming the wait each reply acknowledges
 * (PEER_WAIT_NONE for resync writes, keepalives and undos). A fine reply (HD, NF, NS, EX, MN)
 * acknowledges; anything else, a link that breaks, a link that is not up when the write is
 * shipped, or the deadline (--replication-timeout) fails the replica.
 *
 * A write whose quorum cannot be reached any more is undone, so no copy keeps it readable on
 * its own: this node deletes its item if it still has the CAS the write gave it (a later
 * client write is left alone), and ships `md <key> C<cas>` to every replica after the write
 * itself, on the same ordered links, so a replica that applied it (even one whose
 * acknowledgement comes after the deadline) deletes it again. The request is answered
 * "SERVER_ERROR replication quorum not reached" (binary: 0x0086 Temporary failure); a touch
 * and get (gat, mg T) answers a miss, which is what the key now is.
 *
 * The request's message (its connection's, or another worker's forwarded one) goes back on
 * its worker's done ring when the wait ends, as a forwarded write's answer does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peer_private.h"

/* Waits added when the table is full. */
#define QUORUM_WAITS_GROW 64
/* References added when a FIFO is full. */
#define FIFO_GROW 64

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
fifo_push(struct peer_fifo *f, struct peer_ref r)
{
	if (f->len == f->cap) {
		uint32_t cap = f->cap != 0 ? f->cap * 2 : FIFO_GROW;
		struct peer_ref *e = malloc((size_t)cap * sizeof(*e));

		if (e == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < f->len; i++)
			e[i] = f->e[(f->head + i) & (f->cap - 1)];
		free(f->e);
		f->e = e;
		f->cap = cap;
		f->head = 0;
	}
	f->e[(f->head + f->len) & (f->cap - 1)] = r;
	f->len++;
	return 0;
}

bool
fifo_pop(struct peer_fifo *f, struct peer_ref *r)
{
	if (f->len == 0)
		return false;
	*r = f->e[f->head];
	f->head = (f->head + 1) & (f->cap - 1);
	f->len--;
	return true;
}

void
fifo_free(struct peer_fifo *f)
{
	free(f->e);
	memset(f, 0, sizeof(*f));
}

struct peer_wait *
wait_of(struct peer_set *ps, struct peer_ref ref)
{
	struct peer_wait *wt;

	if (ref.slot >= ps->nwait)
		return NULL;
	wt = &ps->wait[ref.slot];
	return wt->used && wt->gen == ref.gen ? wt : NULL;
}

/* Room for one more wait. @return false when there is no memory. */
static bool
waits_grow(struct peer_set *ps)
{
	uint32_t n = ps->nwait + QUORUM_WAITS_GROW;
	struct peer_wait *wait;

	if (ps->free_wait != PEER_WAIT_NONE && ps->nwait != 0)
		return true;
	wait = realloc(ps->wait, (size_t)n * sizeof(*wait));
	if (wait == NULL)
		return false;
	memset(wait + ps->nwait, 0, (size_t)QUORUM_WAITS_GROW * sizeof(*wait));
	for (uint32_t i = ps->nwait; i < n; i++)
		wait[i].next_free = i + 1 < n ? i + 1 : PEER_WAIT_NONE;
	ps->free_wait = ps->nwait;
	ps->wait = wait;
	ps->nwait = n;
	return true;
}

uint32_t
wait_take(struct worker *w, struct peer_set *ps, enum peer_wait_kind kind)
{
	uint32_t ticks = (w->srv->set.replication_timeout * NC_CLOCK_TICKS_PER_SEC + 999) / 1000;
	struct peer_wait *wt;
	uint32_t slot;

	if (!waits_grow(ps))
		return PEER_WAIT_NONE;
	slot = ps->free_wait;
	wt = &ps->wait[slot];
	/* (an undo has no deadline: it is not on the age FIFO) */
	if (kind != WAIT_UNDO && fifo_push(&ps->by_age, (struct peer_ref){slot, wt->gen}) != 0)
		return PEER_WAIT_NONE;
	ps->free_wait = wt->next_free;
	wt->used = true;
	wt->kind = kind;
	/* One tick more: the current one may be about to end. */
	wt->deadline = nc_clock_ticks(&w->srv->clock) + ticks + 1;
	wt->start_ns = now_ns();
	return slot;
}

void
wait_free(struct peer_set *ps, uint32_t slot)
{
	struct peer_wait *wt = &ps->wait[slot];

	wt->used = false;
	wt->gen++;
	wt->next_free = ps->free_wait;
	ps->free_wait = slot;
}

uint32_t
quorum_begin(struct worker *w, struct peer_set *ps, const struct store_key *k,
	     struct fwd_msg *m, const uint32_t *copy, uint32_t ncopies)
{
	struct peer_wait *wt;
	uint32_t slot;

	if (k->len > PEER_KEY_MAX || ncopies < 2 || ncopies > NC_RING_REPLICAS_MAX)
		return PEER_WAIT_NONE;
	slot = wait_take(w, ps, WAIT_QUORUM);
	if (slot == PEER_WAIT_NONE)
		return PEER_WAIT_NONE;
	wt = &ps->wait[slot];
	wt->shipping = true;
	wt->need = (uint8_t)(ncopies / 2);
	wt->asked = wt->acked = wt->failed = 0;
	wt->asked_mask = 0;
	wt->ncopies = (uint8_t)ncopies;
	memcpy(wt->copy, copy, ncopies * sizeof(copy[0]));
	wt->msg = m;
	wt->cas = 0;
	wt->nkey = (uint16_t)k->len;
	memcpy(wt->key, k->key, k->len);
	STAT_INC(&w->stats, repl_quorum_writes);
	return slot;
}

/* The request of a failed write: the error, or for a touch-and-get the miss the key now is. */
static void
answer_failed(struct fwd_msg *m)
{
	memset(&m->res, 0, sizeof(m->res));
	m->res.status = m->req->op == PROTO_OP_GAT || m->req->op == PROTO_OP_GET
				? PROTO_ST_MISS
				: PROTO_ST_NOT_REPLICATED;
}

void
quorum_refuse(struct worker *w, const struct store_key *k, struct fwd_msg *m)
{
	struct store_hit hit;

	STAT_INC(&w->stats, repl_quorum_failures);
	if (store_meta_get(w->shard, k, false, &hit) == STORE_HIT)
		store_delete(w->shard, k, hit.cas);
	answer_failed(m);
}

/* End wait @p slot: answer its request; undo the write when the quorum failed. */
static void
wait_end(struct worker *w, struct peer_set *ps, uint32_t slot, bool ok)
{
	struct peer_wait *wt = &ps->wait[slot];
	struct fwd_msg *m = wt->msg;
	uint32_t copy[NC_RING_REPLICAS_MAX], ncopies = wt->ncopies;
	char key[PEER_KEY_MAX];
	uint16_t nkey = wt->nkey;
	uint64_t cas = wt->cas;
	struct store_key k;

	uint8_t asked = wt->asked_mask;

	/* Free the slot first: the undo below may end other waits (a link that breaks). */
	memcpy(copy, wt->copy, sizeof(copy));
	memcpy(key, wt->key, nkey);
	if (ok)
		STAT_ADD(&w->stats, repl_quorum_wait_us, (now_ns() - wt->start_ns) / 1000);
	wait_free(ps, slot);
	if (!ok) {
		STAT_INC(&w->stats, repl_quorum_failures);
		store_key_init(&k, &w->srv->digest_key, key, nkey);
		if (cas != 0)
			store_delete(w->shard, &k, cas); /* only the write's own item */
		/* Every replica that was sent the write may hold it (an ack, or one still on
		 * its way): each gets an undo that lasts until it answers. */
		for (uint32_t i = 1; i < ncopies; i++)
			if (asked & (1u << i))
				undo_begin(w, ps, &ps->link[copy[i]], key, nkey, cas);
		answer_failed(m);
	}
	forward_answer(w, m);
}

/* Whether wait @p wt can no longer reach its quorum. */
static bool
wait_lost(const struct peer_wait *wt)
{
	return !wt->shipping && wt->asked - wt->failed < wt->need;
}

void
quorum_asked(struct peer_set *ps, uint32_t slot, const struct peer_link *l)
{
	struct peer_wait *wt = &ps->wait[slot];

	wt->asked++;
	for (uint32_t i = 1; i < wt->ncopies; i++)
		if (wt->copy[i] == l->member)
			wt->asked_mask |= (uint8_t)(1u << i);
}

bool
quorum_acknowledges(const char *line, uint32_t len)
{
	/* ms answers HD; md HD, or NF when the replica did not hold the key either. */
	return len >= 2 && (len == 2 || line[2] == ' ') &&
	       ((line[0] == 'H' && line[1] == 'D') || (line[0] == 'N' && line[1] == 'F'));
}

/* ---- undos ---- */

/* Ship undo @p slot on link @p l (up): md C<cas>, or the primary's state when the write left
 * no item (a failed delete: ms or md of what is here now, never a blind delete that could
 * remove a later write). */
static void
undo_ship(struct worker *w, struct peer_set *ps, struct peer_link *l, uint32_t slot)
{
	struct peer_wait *wt = &ps->wait[slot];
	uint32_t member = l->member;
	struct store_key k;

	store_key_init(&k, &w->srv->digest_key, wt->key, wt->nkey);
	STAT_INC(&w->stats, repl_undos);
	if (wt->cas != 0)
		ship_state(w, ps, &k, SHIP_UNDO, &member, 1, wt->cas, slot);
	else
		ship_state(w, ps, &k, SHIP_SET, &member, 1, 0, slot);
}

void
undo_begin(struct worker *w, struct peer_set *ps, struct peer_link *l, const char *key,
	   uint16_t nkey, uint64_t cas)
{
	uint32_t slot = wait_take(w, ps, WAIT_UNDO);
	struct peer_wait *wt;

	if (slot == PEER_WAIT_NONE) {
		STAT_INC(&w->stats, repl_undos_lost);
		return;
	}
	wt = &ps->wait[slot];
	wt->nkey = nkey;
	memcpy(wt->key, key, nkey);
	wt->cas = cas;
	undo_ship(w, ps, l, slot);
}

void
undo_pend(struct worker *w, struct peer_set *ps, struct peer_link *l, uint32_t slot)
{
	if (l->nundo == l->undo_cap) {
		uint32_t cap = l->undo_cap != 0 ? l->undo_cap * 2 : 64;
		uint32_t *u = cap <= PEER_UNDO_MAX ? realloc(l->undo, cap * sizeof(*u)) : NULL;

		if (u == NULL) {
			STAT_INC(&w->stats, repl_undos_lost);
			wait_free(ps, slot);
			return;
		}
		l->undo = u;
		l->undo_cap = cap;
	}
	l->undo[l->nundo++] = slot;
}

void
undo_resume(struct worker *w, struct peer_set *ps, struct peer_link *l)
{
	uint32_t *u = l->undo, n = l->nundo;

	/* Taken first: one that cannot be queued now is pended again (on a fresh list). */
	l->undo = NULL;
	l->nundo = l->undo_cap = 0;
	for (uint32_t i = 0; i < n; i++)
		if (ps->wait[u[i]].used && ps->wait[u[i]].kind == WAIT_UNDO)
			undo_ship(w, ps, l, u[i]);
	free(u);
}

void
undo_drop(struct peer_set *ps, struct peer_link *l)
{
	for (uint32_t i = 0; i < l->nundo; i++)
		if (ps->wait[l->undo[i]].used && ps->wait[l->undo[i]].kind == WAIT_UNDO)
			wait_free(ps, l->undo[i]);
	l->nundo = 0;
}

void
quorum_shipped(struct worker *w, struct peer_set *ps, uint32_t slot, uint64_t cas)
{
	struct peer_wait *wt = &ps->wait[slot];

	wt->shipping = false;
	wt->cas = cas;
	if (wt->acked >= wt->need)
		wait_end(w, ps, slot, true);
	else if (wait_lost(wt))
		wait_end(w, ps, slot, false);
}

void
quorum_reply(struct worker *w, struct peer_set *ps, struct peer_ref ref, bool ok)
{
	struct peer_wait *wt = wait_of(ps, ref);

	if (wt == NULL)
		return; /* ended already (a quorum, a failure or the deadline) */
	if (ok)
		wt->acked++;
	else
		wt->failed++;
	if (wt->shipping)
		return; /* quorum_shipped() decides */
	if (wt->acked >= wt->need)
		wait_end(w, ps, ref.slot, true);
	else if (wait_lost(wt))
		wait_end(w, ps, ref.slot, false);
}

unsigned
quorum_expire(struct worker *w, struct peer_set *ps)
{
	uint32_t tick = nc_clock_ticks(&w->srv->clock);
	unsigned work = 0;
	struct peer_ref ref;

	while (ps->by_age.len > 0) {
		struct peer_wait *wt;

		ref = ps->by_age.e[ps->by_age.head];
		wt = wait_of(ps, ref);
		if (wt != NULL && (int32_t)(tick - wt->deadline) < 0)
			break;
		fifo_pop(&ps->by_age, &ref);
		if (wt == NULL)
			continue;
		work = 1;
		if (wt->kind == WAIT_PROXY) {
			proxy_timeout(w, ps, ref.slot);
			continue;
		}
		STAT_INC(&w->stats, repl_quorum_timeouts);
		wait_end(w, ps, ref.slot, false);
	}
	return work;
}

void
waits_fail_all(struct worker *w, struct peer_set *ps)
{
	struct peer_ref ref;

	while (fifo_pop(&ps->by_age, &ref)) {
		struct peer_wait *wt = wait_of(ps, ref);

		if (wt != NULL && wt->kind == WAIT_PROXY)
			proxy_fail(w, ps, ref.slot);
		else if (wt != NULL)
			wait_end(w, ps, ref.slot, false);
	}
}

void
quorum_free(struct peer_set *ps)
{
	free(ps->wait);
	ps->wait = NULL;
	ps->nwait = 0;
	ps->free_wait = PEER_WAIT_NONE;
	fifo_free(&ps->by_age);
}
