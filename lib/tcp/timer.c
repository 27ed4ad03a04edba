/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Timers: each connection has a few deadlines (retransmission, persist, delayed ACK, end of
 * TIME_WAIT or of an orphaned FIN_WAIT_2) and is filed once in a hashed wheel of 1 ms slots
 * under the earliest of them. tcp_timers() visits the slots of the milliseconds that passed
 * (at most one turn of the wheel) and fires what is due; a connection whose deadline is in a
 * later turn stays. Idle connections without a deadline are not in the wheel at all, so the
 * cost does not grow with them.
 */
#include <errno.h>

#include "tcp_private.h"

static inline uint64_t
deadline_ms(uint64_t us)
{
	return (us + 999) / 1000;
}

void
tcp_timer_remove(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->wprev == NULL)
		return;
	*c->wprev = c->wnext;
	if (c->wnext != NULL)
		c->wnext->wprev = c->wprev;
	c->wnext = NULL;
	c->wprev = NULL;
	c->wheel_at = 0;
	t->wheel_n--;
}

/** File @p c under its earliest deadline (or take it out when none is armed). */
static void
timer_refile(struct tcp_ctx *t, struct tcp_conn *c)
{
	uint64_t first = 0;
	struct tcp_conn **slot;

	for (int k = 0; k < TCP_T_MAX; k++)
		if (c->timer[k] != 0 && (first == 0 || c->timer[k] < first))
			first = c->timer[k];
	if (first != 0 && c->wprev != NULL && deadline_ms(first) == deadline_ms(c->wheel_at))
		return;
	tcp_timer_remove(t, c);
	if (first == 0)
		return;
	/* A deadline already past is served by the next tcp_timers() call. */
	if (deadline_ms(first) <= t->wheel_ms)
		first = (t->wheel_ms + 1) * 1000;
	slot = &t->wheel[deadline_ms(first) % TCP_WHEEL_SLOTS];
	c->wnext = *slot;
	if (c->wnext != NULL)
		c->wnext->wprev = &c->wnext;
	c->wprev = slot;
	*slot = c;
	c->wheel_at = first;
	t->wheel_n++;
}

void
tcp_timer_set(struct tcp_ctx *t, struct tcp_conn *c, enum tcp_timer_kind k, uint64_t at_us)
{
	if (c->timer[k] == at_us)
		return;
	c->timer[k] = at_us;
	if (c->wprev == NULL && at_us == 0)
		return;
	timer_refile(t, c);
}

void
tcp_rto_arm(struct tcp_ctx *t, struct tcp_conn *c, bool restart)
{
	uint64_t d = (uint64_t)c->rto_us << (c->backoff < 16 ? c->backoff : 16);

	if (d > t->p.rto_max_ms * 1000ull)
		d = t->p.rto_max_ms * 1000ull;
	if (restart || c->timer[TCP_T_RTO] == 0)
		tcp_timer_set(t, c, TCP_T_RTO, t->now_us + d);
}

/** The retransmission timer fired. @return true when @p c was freed. */
static bool
on_rto(struct tcp_ctx *t, struct tcp_conn *c)
{
	bool orphan = c->orphan || (c->passive && !c->reported);

	c->backoff++;
	if (c->state == TCP_S_SYN_SENT || c->state == TCP_S_SYN_RECEIVED) {
		if (c->backoff > t->p.syn_retries) {
			tcp_conn_fail(t, c, -ETIMEDOUT);
			return orphan;
		}
		TCP_CNT(t, timeouts, 1);
		TCP_CNT(t, retrans_segs, 1);
		c->rtt_ts = 0; /* Karn: the handshake's RTT is not sampled from a retransmission */
		tcp_send_syn(t, c);
		tcp_rto_arm(t, c, true);
		return false;
	}
	if (c->snd_una == c->snd_max)
		return false; /* nothing outstanding any more */
	if (c->backoff > t->p.retries) {
		TCP_CNT(t, aborts_timeout, 1);
		if (c->state != TCP_S_CLOSED)
			tcp_send_ctl(t, c, TCP_F_RST | TCP_F_ACK, c->snd_nxt);
		tcp_conn_fail(t, c, -ETIMEDOUT);
		return orphan;
	}
	TCP_CNT(t, timeouts, 1);
	tcp_cc_timeout(t, c);
	/* Go back to the first unacknowledged byte; the rest follows as ACKs open cwnd. */
	c->snd_nxt = c->snd_una;
	c->sndq_next = 0;
	tcp_retransmit_first(t, c);
	tcp_rto_arm(t, c, true);
	return false;
}

/**
 * The persist timer fired: probe the zero window with an old byte's sequence. A connection
 * the application has closed is not probed forever: after `retries` probes it is reset, so a
 * peer that keeps its window shut cannot pin it.
 * @return true when @p c was freed.
 */
static bool
on_persist(struct tcp_ctx *t, struct tcp_conn *c)
{
	uint64_t d;

	if (c->sndq_next >= c->sndq_n || c->snd_wnd > 0 || tcp_flight(c) != 0) {
		tcp_mark_pending(t, c);
		return false;
	}
	if (c->orphan && c->persist_backoff >= t->p.retries) {
		TCP_CNT(t, aborts_timeout, 1);
		tcp_abort(t, c);
		return true;
	}
	TCP_CNT(t, zero_window_probes, 1);
	tcp_send_ctl(t, c, TCP_F_ACK, c->snd_una - 1);
	c->persist_backoff++;
	d = (uint64_t)c->rto_us << (c->persist_backoff < 16 ? c->persist_backoff : 16);
	if (d < TCP_PERSIST_MIN_US)
		d = TCP_PERSIST_MIN_US;
	if (d > TCP_PERSIST_MAX_US)
		d = TCP_PERSIST_MAX_US;
	tcp_timer_set(t, c, TCP_T_PERSIST, t->now_us + d);
	return false;
}

/** Fire the due timers of @p c. @return how many fired. */
static unsigned
conn_fire(struct tcp_ctx *t, struct tcp_conn *c, uint64_t now)
{
	unsigned n = 0;

	if (c->timer[TCP_T_END] != 0 && c->timer[TCP_T_END] <= now) {
		c->timer[TCP_T_END] = 0;
		tcp_conn_finish(t, c);
		return 1;
	}
	if (c->timer[TCP_T_DELACK] != 0 && c->timer[TCP_T_DELACK] <= now) {
		c->timer[TCP_T_DELACK] = 0;
		if (c->ack_delayed || c->ack_now) {
			TCP_CNT(t, delayed_acks, 1);
			tcp_send_ctl(t, c, TCP_F_ACK, c->snd_nxt);
		}
		n++;
	}
	if (c->timer[TCP_T_PERSIST] != 0 && c->timer[TCP_T_PERSIST] <= now) {
		c->timer[TCP_T_PERSIST] = 0;
		n++;
		if (on_persist(t, c))
			return n; /* freed */
	}
	if (c->timer[TCP_T_RTO] != 0 && c->timer[TCP_T_RTO] <= now) {
		c->timer[TCP_T_RTO] = 0;
		n++;
		if (on_rto(t, c))
			return n; /* freed */
	}
	timer_refile(t, c);
	return n;
}

unsigned
tcp_timers(struct tcp_ctx *t, uint64_t now_us)
{
	uint64_t now_ms = now_us / 1000;
	uint64_t from, steps;
	unsigned fired = 0;

	t->now_us = now_us;
	if (now_ms <= t->wheel_ms)
		return 0;
	from = t->wheel_ms + 1;
	steps = now_ms - t->wheel_ms;
	if (steps > TCP_WHEEL_SLOTS)
		steps = TCP_WHEEL_SLOTS;
	t->wheel_ms = now_ms;
	if (t->wheel_n == 0)
		return 0;
	for (uint64_t i = 0; i < steps; i++) {
		struct tcp_conn **slot = &t->wheel[(from + i) % TCP_WHEEL_SLOTS];
		struct tcp_conn *due = NULL;

		/* Take out what is due now; deadlines of later turns stay. */
		for (struct tcp_conn *c = *slot, *next; c != NULL; c = next) {
			next = c->wnext;
			if (deadline_ms(c->wheel_at) <= now_ms) {
				tcp_timer_remove(t, c);
				c->wnext = due;
				due = c;
			}
		}
		while (due != NULL) {
			struct tcp_conn *c = due;

			due = c->wnext;
			c->wnext = NULL;
			fired += conn_fire(t, c, now_us);
		}
	}
	return fired;
}
