/* SPDX-License-Identifier: BSD-3-Clause */
/* The core of a load thread: schedule, warm-up, checks, counts (engine.h). */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* Errors printed per thread; the rest are only counted. */
#define ERRORS_SHOWN 10

/* Warm-up: the most requests a thread may keep in flight (all its connections full). */
static double
warm_window_max(const struct mcgen_thread *t)
{
	return (double)t->nconns * (double)t->run->o->depth;
}

void
mcgen_engine_init(struct mcgen_thread *t, const struct mcgen_run *run, unsigned id)
{
	const struct mcgen_options *o = run->o;
	uint64_t keys = run->w->keys;

	memset(t, 0, sizeof(*t));
	t->run = run;
	t->id = id;
	t->nconns = (unsigned)(o->conns / run->nthreads + (id < o->conns % run->nthreads));
	t->rng = mcgen_rng_seed(o->seed, (uint64_t)id << 32 | (uint64_t)(run->rate * 1000));
	t->warm_next = (uint32_t)(keys * id / run->nthreads);
	t->warm_end = (uint32_t)(keys * (id + 1) / run->nthreads);
	if (run->rate > 0) {
		/* Threads' arrivals interleave rather than coincide (mcgen_engine_ready). */
		t->gap_ns = 1e9 * run->nthreads / run->rate;
	}
	t->warm_window = warm_window_max(t);
	mcgen_tstats_reset(&t->st);
}

int
mcgen_gate_init(struct mcgen_gate *g)
{
	int rc;

	g->arrived = 0;
	g->open = false;
	rc = pthread_mutex_init(&g->lock, NULL);
	if (rc != 0)
		return rc;
	rc = pthread_cond_init(&g->cond, NULL);
	if (rc != 0)
		pthread_mutex_destroy(&g->lock);
	return rc;
}

void
mcgen_gate_destroy(struct mcgen_gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

void
mcgen_gate_wait(struct mcgen_gate *g, unsigned n)
{
	pthread_mutex_lock(&g->lock);
	while (g->arrived < n)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void
mcgen_gate_open(struct mcgen_gate *g)
{
	pthread_mutex_lock(&g->lock);
	__atomic_store_n(&g->open, true, __ATOMIC_RELEASE); /* after the start times */
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void
mcgen_engine_arrive(struct mcgen_thread *t)
{
	struct mcgen_gate *g = t->run->gate;

	pthread_mutex_lock(&g->lock);
	g->arrived++;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

bool
mcgen_engine_passed(struct mcgen_thread *t)
{
	/* The reporting thread sets start_ns, end_ns and drain_ns before it opens the gate. */
	if (!__atomic_load_n(&t->run->gate->open, __ATOMIC_ACQUIRE))
		return false;
	if (t->run->rate > 0 && t->next_ns == 0)
		t->next_ns = (double)t->run->start_ns + t->gap_ns * t->id / t->run->nthreads;
	if (t->warm_answer_ns == 0)
		t->warm_answer_ns = t->run->start_ns;
	return true;
}

/* Whether the reporting thread stopped the run (a thread failed). */
static inline bool
stopped(const struct mcgen_thread *t)
{
	return __atomic_load_n(&t->run->stop, __ATOMIC_RELAXED);
}

void
mcgen_engine_ready(struct mcgen_thread *t)
{
	struct mcgen_gate *g = t->run->gate;

	mcgen_engine_arrive(t);
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	mcgen_engine_passed(t);
}

void
mcgen_engine_tick(struct mcgen_thread *t, uint64_t now)
{
	if (now > t->run->start_ns)
		mcgen_tstats_roll(&t->st, (now - t->run->start_ns) / 1000000000ull);
	/* Checked by the clock, not when a request is lost: nothing may be in flight. */
	if (t->run->warm && !t->warm_quit && t->warm_answer_ns != 0 &&
	    now > t->warm_answer_ns + mcgen_run_patience_ns(t->run))
		t->warm_quit = MCGEN_WARM_SILENT;
}

bool
mcgen_engine_issuing(const struct mcgen_thread *t, uint64_t now)
{
	if (now >= t->run->end_ns || stopped(t))
		return false;
	if (t->run->warm)
		return !t->warm_quit && (t->warm_next < t->warm_end || t->warm_retry_n > 0);
	return true;
}

/* Whether the thread ends before its time: the run stopped, or its warm-up gave up. */
static inline bool
cut_short(const struct mcgen_thread *t)
{
	return stopped(t) || t->warm_quit != MCGEN_WARM_GOING;
}

bool
mcgen_engine_drain_over(const struct mcgen_thread *t, uint64_t now)
{
	return now >= t->run->drain_ns || cut_short(t);
}

/* Warm-up: are as many requests in flight as the window allows? */
static inline bool
warm_window_full(const struct mcgen_thread *t)
{
	return (double)t->inflight >= t->warm_window;
}

uint64_t
mcgen_engine_wake(const struct mcgen_thread *t, uint64_t now)
{
	if (t->run->warm && warm_window_full(t))
		return UINT64_MAX; /* (a reply or a loss frees room) */
	if (t->run->warm || t->run->rate <= 0)
		return now < t->run->start_ns ? t->run->start_ns : now;
	return t->next_ns > (double)now ? (uint64_t)t->next_ns : now;
}

/* Open loop: the next scheduled arrival after this one. */
static double
next_arrival(struct mcgen_thread *t)
{
	return t->next_ns + (t->run->o->arrivals == MCGEN_ARRIVALS_POISSON
				     ? mcgen_rng_exp(&t->rng, t->gap_ns)
				     : t->gap_ns);
}

bool
mcgen_engine_next(struct mcgen_thread *t, uint64_t now, struct mcgen_req *q)
{
	const struct mcgen_run *run = t->run;

	if (!mcgen_engine_issuing(t, now) || now < run->start_ns)
		return false;
	if (run->warm) {
		if (warm_window_full(t))
			return false;
		q->op = MCGEN_OP_SET;
		q->nkeys = 1;
		if (t->warm_retry_n > 0) {
			const struct mcgen_warm_retry *r = &t->warm_retry[--t->warm_retry_n];

			q->keys[0] = r->key;
			q->tries = r->tries;
		} else {
			q->keys[0] = t->warm_next++;
			q->tries = 0;
		}
		q->version = 0;
		q->sched_ns = now;
	} else {
		q->tries = 0;
		if (run->rate > 0) {
			if (t->next_ns > (double)now)
				return false;
			q->sched_ns = (uint64_t)t->next_ns;
			t->next_ns = next_arrival(t);
		} else {
			q->sched_ns = now;
		}
		/* Versions differ across threads: the low byte is the thread. */
		mcgen_req_draw(run->w, &t->rng, ++t->version_seq << 8 | (t->id & 0xff), q);
	}
	q->sent_ns = now;
	t->inflight++;
	mcgen_tstats_count(&t->st, MCGEN_C_sent, 1);
	return true;
}

void
mcgen_engine_say(struct mcgen_thread *t, const char *msg)
{
	if (t->errors_shown++ < ERRORS_SHOWN)
		fprintf(stderr, "mcgen: thread %u: %s\n", t->id, msg);
	else if (t->errors_shown == ERRORS_SHOWN + 1)
		fprintf(stderr, "mcgen: thread %u: more errors, only counted from now on\n", t->id);
}

void
mcgen_engine_reply(struct mcgen_thread *t, const struct mcgen_req *q,
		   const struct mcgen_reply *r, uint64_t now)
{
	struct mcgen_outcome out = {0};
	char err[256];
	int rc;

	t->inflight--;
	t->warm_answer_ns = now;
	if (t->run->warm && t->warm_window < warm_window_max(t))
		t->warm_window += t->warm_cut_ns == 0 ? 1.0 : 1.0 / t->warm_window;
	mcgen_tstats_count(&t->st, MCGEN_C_replies, 1);
	rc = mcgen_reply_check(t->run->w, q, r, &out, err, sizeof(err));
	if (rc < 0)
		mcgen_engine_say(t, err);
	mcgen_tstats_count(&t->st, MCGEN_C_wrong, out.wrong);
	mcgen_tstats_count(&t->st, MCGEN_C_server_errors, out.server_errors);
	if (q->op == MCGEN_OP_GET || q->op == MCGEN_OP_MGET) {
		mcgen_tstats_count(&t->st, MCGEN_C_keys, q->nkeys);
		mcgen_tstats_count(&t->st, MCGEN_C_hits, out.hits);
		mcgen_tstats_count(&t->st, MCGEN_C_misses, out.misses);
	} else {
		mcgen_tstats_count(&t->st, q->op == MCGEN_OP_SET ? MCGEN_C_sets : MCGEN_C_deletes, 1);
	}
	mcgen_tstats_latency(&t->st, now > q->sched_ns ? now - q->sched_ns : 0);
}

/*
 * Warm-up set @p q was lost: send it again (later) while it has tries left and the server still
 * answers; else count its key given up.
 */
static void
warm_lost(struct mcgen_thread *t, const struct mcgen_req *q)
{
	uint64_t now = mcgen_now_ns();

	if (!t->warm_quit && q->tries + 1 >= MCGEN_WARM_TRIES) {
		/* Its gets would miss: no point setting the rest. */
		t->warm_quit = MCGEN_WARM_KEY;
		t->warm_lost_key = q->keys[0];
	}
	if (cut_short(t)) {
		mcgen_tstats_count(&t->st, MCGEN_C_gave_up, 1);
		return;
	}
	/* Fewer in flight: at most one cut a --timeout (one burst's losses are one event). */
	if (t->warm_cut_ns == 0 || now - t->warm_cut_ns >= t->run->timeout_ns) {
		t->warm_window = t->warm_window / 2 < 1 ? 1 : t->warm_window / 2;
		t->warm_cut_ns = now;
	}
	if (t->warm_retry_n == t->warm_retry_cap) {
		uint32_t cap = t->warm_retry_cap ? 2 * t->warm_retry_cap : 64;
		struct mcgen_warm_retry *r = realloc(t->warm_retry, cap * sizeof(*r));

		if (r == NULL) {
			mcgen_tstats_count(&t->st, MCGEN_C_gave_up, 1);
			return;
		}
		t->warm_retry = r;
		t->warm_retry_cap = cap;
	}
	t->warm_retry[t->warm_retry_n++] =
		(struct mcgen_warm_retry){.key = q->keys[0], .tries = (uint8_t)(q->tries + 1)};
	mcgen_tstats_count(&t->st, MCGEN_C_retried, 1);
}

void
mcgen_engine_lost(struct mcgen_thread *t, const struct mcgen_req *q, enum mcgen_counter why,
		  const char *msg)
{
	t->inflight--;
	mcgen_tstats_count(&t->st, why, 1);
	if (t->run->warm && q->op == MCGEN_OP_SET &&
	    (why == MCGEN_C_timeouts || why == MCGEN_C_aborted))
		warm_lost(t, q);
	if (msg != NULL)
		mcgen_engine_say(t, msg);
}

void
mcgen_engine_count(struct mcgen_thread *t, enum mcgen_counter c, uint64_t n)
{
	mcgen_tstats_count(&t->st, c, n);
	if (c == MCGEN_C_late) /* a server that answers late still answers */
		t->warm_answer_ns = mcgen_now_ns();
}

enum mcgen_counter
mcgen_engine_drop_reason(const struct mcgen_thread *t)
{
	return cut_short(t) ? MCGEN_C_aborted : MCGEN_C_timeouts;
}

void
mcgen_engine_finish(struct mcgen_thread *t)
{
	const struct mcgen_run *run = t->run;

	/*
	 * Open loop: the arrivals due before the load stopped (its end, or when the run was
	 * stopped) that found no free slot were never sent. Their wait is the queueing the
	 * latencies cannot show: counted (the step's total only: they belong to no second), so
	 * the summary can say so. The next one is due at next_ns; the rest every gap_ns
	 * (Poisson: as many as expected), counted in one division, not drawn one by one.
	 */
	if (!run->warm && run->rate > 0 && t->next_ns != 0) {
		uint64_t now = mcgen_now_ns();
		double limit = (double)(now < run->end_ns ? now : run->end_ns);

		if (t->next_ns < limit)
			t->st.total.c[MCGEN_C_unsent] +=
				1 + (uint64_t)((limit - t->next_ns) / t->gap_ns);
	}
	/* What the warm-up never got to send again is given up too. */
	if (t->warm_retry_n > 0)
		mcgen_tstats_count(&t->st, MCGEN_C_gave_up, t->warm_retry_n);
	t->warm_retry_n = 0;
	free(t->warm_retry);
	t->warm_retry = NULL;
	mcgen_tstats_finish(&t->st);
}
