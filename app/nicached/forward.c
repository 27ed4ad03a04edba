/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writes for another worker's shard travel over rings: the requester posts a message on the
 * owner's inbox; the owner executes it (exec_write, as for its own connections) and posts it
 * back on the requester's done ring. A sleeping worker is woken through its stack.
 *
 * Ordering: rte_ring enqueue/dequeue are release/acquire, so the owner sees the request and
 * the input bytes as the requester left them, and the requester sees the owner's result.
 * Wake-ups: the poster enqueues, then (full fence) reads `sleeping`; the sleeper sets
 * `sleeping`, (full fence) checks its rings, then sleeps: one of the two always sees the other.
 */
#include <errno.h>
#include <stdlib.h>

#include <rte_atomic.h>

#include "peer.h"
#include "worker.h"

/** Messages taken from a ring per call. */
#define FWD_BURST 32

static void
wake_if_sleeping(struct worker *w)
{
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->sleeping, __ATOMIC_RELAXED))
		stack_wake(w->stack);
}

int
forward_post(struct worker *to, struct fwd_msg *m)
{
	if (rte_ring_mp_enqueue(to->inbox, m) != 0)
		return -ENOBUFS;
	wake_if_sleeping(to);
	return 0;
}

void
forward_answer(struct worker *w, struct fwd_msg *m)
{
	if (m->from == w) {
		/* Its own: a list, not its ring (a full ring only it empties would never drain). */
		m->next = NULL;
		if (w->own_done == NULL)
			w->own_done_tail = &w->own_done;
		*w->own_done_tail = m;
		w->own_done_tail = &m->next;
		return;
	}
	while (rte_ring_mp_enqueue(m->from->done, m) != 0)
		rte_pause();
	wake_if_sleeping(m->from);
}

/** [owner] Run one message. @return false when it must wait for memory (kept for later). */
static bool
serve_one(struct worker *w, struct fwd_msg *m)
{
	switch (m->kind) {
	case FWD_WRITE:
		if (!exec_write(&w->exec, w->shard, &m->key, m->req, m->in, &m->res, &m->copy)) {
			if (++m->retries < 100000u && !store_shard_no_room_coming(w->shard)) {
				STAT_INC(&w->stats, write_retries);
				m->room_mark = store_shard_room_mark(w->shard);
				return false;
			}
			exec_write_give_up(w->shard, &m->key, m->req, &m->res);
		}
		STAT_INC(&w->stats, executed_for_others);
		if (peer_replicate(w, &m->key, m->req, m))
			return true; /* answered when its replicas acknowledged */
		break;
	case FWD_FLUSH:
		store_flush(w->shard, m->delay);
		break;
	case FWD_CONNS:
		m->text = stats_conns_text(w, &m->text_len);
		break;
	case FWD_DUMP:
		dump_serve(w, m);
		break;
	case FWD_DETAIL:
		detail_serve(w, m);
		break;
	case FWD_PROXY: /* never posted to another worker */
		break;
	}
	forward_answer(w, m);
	return true;
}

unsigned
forward_serve(struct worker *w)
{
	struct fwd_msg *burst[FWD_BURST];
	struct fwd_msg *retry = w->retry_msgs, **tail = &w->retry_msgs;
	unsigned n, done = 0;

	/* Writes that waited for memory go first: they were received first. */
	if (retry != NULL && !store_shard_room_ready(w->shard, retry->room_mark)) {
		/* No memory has come back since they failed: retrying now would fail again. */
		STAT_INC(&w->stats, write_waits);
		return 0;
	}
	w->retry_msgs = NULL;
	while (retry != NULL) {
		struct fwd_msg *m = retry;

		retry = m->next;
		m->next = NULL;
		if (serve_one(w, m)) {
			done++;
		} else {
			*tail = m;
			tail = &m->next;
		}
	}
	if (w->retry_msgs != NULL)
		return done; /* keep their order: new writes may touch the same keys */
	n = rte_ring_sc_dequeue_burst(w->inbox, (void **)burst, FWD_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		if (w->retry_msgs != NULL || !serve_one(w, burst[i])) {
			*tail = burst[i];
			tail = &burst[i]->next;
			burst[i]->next = NULL;
			continue;
		}
		done++;
	}
	return done;
}

unsigned
forward_collect(struct worker *w)
{
	struct fwd_msg *burst[FWD_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(w->done, (void **)burst, FWD_BURST, NULL);
	struct fwd_msg *own = w->own_done;

	for (unsigned i = 0; i < n; i++)
		conn_answered(w, burst[i]);
	/* Its own answers, those there now (answering may add more: the next loop's). */
	w->own_done = NULL;
	while (own != NULL) {
		struct fwd_msg *m = own;

		own = m->next;
		m->next = NULL;
		conn_answered(w, m);
		n++;
	}
	return n;
}
