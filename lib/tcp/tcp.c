/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The context: creation, the connection table (chained hash on the 4-tuple, plus a slot array
 * that names connections), the lists of connections with events and with output, and the
 * application calls (events, recv, sendv, shutdown, close, abort, connect).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "core/digest.h"
#include "tcp_private.h"

static const char *const state_names[] = {
#define TCP_STATE_NAME(name) #name,
	TCP_STATES(TCP_STATE_NAME)
#undef TCP_STATE_NAME
};

const char *
tcp_state_name(enum tcp_state s)
{
	return (unsigned)s < TCP_STATE_MAX ? state_names[s] : "?";
}

static uint32_t
pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

#define DEF(field, value)                                                                          \
	do {                                                                                       \
		if (t->p.field == 0)                                                               \
			t->p.field = (value);                                                      \
	} while (0)

struct tcp_ctx *
tcp_create(const struct tcp_params *p, int socket, int *err)
{
	struct tcp_ctx *t;

	if (p == NULL || p->io.alloc == NULL || p->io.output == NULL ||
	    (p->mtu != 0 && p->mtu < 88)) {
		*err = -EINVAL;
		return NULL;
	}
	t = rte_zmalloc_socket("tcp_ctx", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	t->p = *p;
	DEF(mtu, 1500);
	DEF(max_conns, 4096);
	DEF(syn_backlog, 256);
	DEF(time_wait_max, 4096);
	DEF(rcvbuf, 256 * 1024);
	DEF(sndbuf, 256 * 1024);
	DEF(ooo_max, 256);
	DEF(mbuf_budget, 16384);
	DEF(rto_min_ms, 200);
	DEF(rto_max_ms, 60000);
	DEF(retries, 8);
	DEF(syn_retries, 5);
	DEF(msl_ms, 30000);
	DEF(delack_ms, 40);
	DEF(fin_wait_2_ms, 60000);
	if (t->p.rcvbuf > (1u << 30))
		t->p.rcvbuf = 1u << 30;
	if (t->p.secret[0] == 0 && t->p.secret[1] == 0) {
		struct nc_digest_seed s;

		if (nc_digest_seed_random(&s) != 0) {
			rte_free(t);
			*err = -EIO;
			return NULL;
		}
		t->p.secret[0] = s.k0;
		t->p.secret[1] = s.k1;
	}
	nc_digest_key_init(&t->isn_key,
			   &(struct nc_digest_seed){.k0 = t->p.secret[0], .k1 = t->p.secret[1]});
	t->mss_local = (uint16_t)(t->p.mtu - 40);
	while (t->rcv_wscale < TCP_WSCALE_MAX && (65535u << t->rcv_wscale) < t->p.rcvbuf)
		t->rcv_wscale++;
	t->nslots = t->p.max_conns + t->p.time_wait_max;
	t->hash_mask = pow2_at_least(t->nslots) - 1;
	t->hash = calloc(t->hash_mask + 1, sizeof(*t->hash));
	t->conns = calloc(t->nslots, sizeof(*t->conns));
	t->free_ids = malloc(t->nslots * sizeof(*t->free_ids));
	if (t->hash == NULL || t->conns == NULL || t->free_ids == NULL) {
		tcp_destroy(&t);
		*err = -ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < t->nslots; i++)
		t->free_ids[i] = t->nslots - 1 - i;
	t->nfree = t->nslots;
	t->next_port = (uint16_t)(TCP_EPHEMERAL_MIN + (t->p.secret[0] & 0x3fff));
	*err = 0;
	return t;
}

void
tcp_destroy(struct tcp_ctx **tp)
{
	struct tcp_ctx *t;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	if (t->conns != NULL)
		for (uint32_t i = 0; i < t->nslots; i++)
			if (t->conns[i] != NULL)
				tcp_conn_free(t, t->conns[i]);
	while (t->nspare_rcvq > 0)
		free(t->spare_rcvq[--t->nspare_rcvq]);
	while (t->nspare_sndq > 0)
		free(t->spare_sndq[--t->nspare_sndq]);
	free(t->hash);
	free(t->conns);
	free(t->free_ids);
	rte_free(t);
	*tp = NULL;
}

/* ---- the table ---- */

static inline uint32_t
tuple_hash(rte_be32_t rip, rte_be16_t rport, rte_be16_t lport)
{
	uint64_t x = ((uint64_t)rip << 32) | ((uint32_t)rport << 16) | lport;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

struct tcp_conn *
tcp_lookup(struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport)
{
	struct tcp_conn *c = t->hash[tuple_hash(rip, rport, lport) & t->hash_mask];

	for (; c != NULL; c = c->hnext)
		if (c->rip == rip && c->rport == rport && c->lport == lport)
			return c;
	return NULL;
}

struct tcp_conn *
tcp_conn_new(struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport,
	     enum tcp_state state)
{
	struct tcp_conn *c;
	uint32_t b;

	if (t->nconns >= t->p.max_conns || t->nfree == 0) {
		TCP_CNT(t, conn_table_full, 1);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->rip = rip;
	c->rport = rport;
	c->lport = lport;
	c->hash = tuple_hash(rip, rport, lport);
	c->id = (int)t->free_ids[--t->nfree];
	c->serial = ++t->made;
	t->conns[c->id] = c;
	b = c->hash & t->hash_mask;
	c->hnext = t->hash[b];
	t->hash[b] = c;
	c->state = TCP_S_CLOSED;
	t->nconns++;
	tcp_set_state(t, c, state);
	tcp_cc_init(t, c);
	return c;
}

static void
list_unlink(struct tcp_conn **head, struct tcp_conn *c, size_t next_off)
{
	for (struct tcp_conn **pp = head; *pp != NULL;
	     pp = (struct tcp_conn **)((char *)*pp + next_off)) {
		if (*pp == c) {
			*pp = *(struct tcp_conn **)((char *)c + next_off);
			return;
		}
	}
}

void
tcp_conn_free(struct tcp_ctx *t, struct tcp_conn *c)
{
	struct tcp_conn **pp = &t->hash[c->hash & t->hash_mask];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	tcp_set_state(t, c, TCP_S_CLOSED); /* leaves the SYN and TIME_WAIT accounting */
	t->nconns--;
	tcp_timer_remove(t, c);
	if (c->on_ready)
		list_unlink(&t->ready, c, offsetof(struct tcp_conn, ready_next));
	if (c->on_pending)
		list_unlink(&t->pending, c, offsetof(struct tcp_conn, pending_next));
	tcp_sndq_clear(t, c); /* both give their slot arrays back */
	tcp_rcvq_clear(t, c);
	free(c->ooo);
	t->conns[c->id] = NULL;
	t->free_ids[t->nfree++] = (uint32_t)c->id;
	free(c);
}

void
tcp_set_state(struct tcp_ctx *t, struct tcp_conn *c, enum tcp_state s)
{
	if (c->state == s)
		return;
	if (c->state == TCP_S_SYN_RECEIVED)
		t->nsyn_rcvd--;
	if (c->state == TCP_S_TIME_WAIT) {
		if (c->tw_prev != NULL)
			c->tw_prev->tw_next = c->tw_next;
		else
			t->tw_head = c->tw_next;
		if (c->tw_next != NULL)
			c->tw_next->tw_prev = c->tw_prev;
		else
			t->tw_tail = c->tw_prev;
		c->tw_next = c->tw_prev = NULL;
		t->ntw--;
		t->nconns++;
	}
	if (s == TCP_S_SYN_RECEIVED)
		t->nsyn_rcvd++;
	if (s == TCP_S_TIME_WAIT) {
		c->tw_prev = t->tw_tail;
		if (t->tw_tail != NULL)
			t->tw_tail->tw_next = c;
		else
			t->tw_head = c;
		t->tw_tail = c;
		t->ntw++;
		t->nconns--;
	}
	if (s == TCP_S_ESTABLISHED)
		TCP_CNT(t, established, 1);
	c->state = s;
}

void
tcp_enter_time_wait(struct tcp_ctx *t, struct tcp_conn *c)
{
	tcp_set_state(t, c, TCP_S_TIME_WAIT);
	tcp_sndq_clear(t, c);
	/* Bytes received before the FIN stay readable while the application holds the handle. */
	if (c->orphan)
		tcp_rcvq_clear(t, c);
	for (int k = 0; k < TCP_T_MAX; k++)
		tcp_timer_set(t, c, (enum tcp_timer_kind)k, 0);
	tcp_timer_set(t, c, TCP_T_END, t->now_us + 2ull * t->p.msl_ms * 1000);
	if (!c->orphan)
		tcp_mark_ready(t, c); /* the application still has to read the EOF */
	while (t->ntw > t->p.time_wait_max && t->tw_head != NULL) {
		struct tcp_conn *old = t->tw_head;

		TCP_CNT(t, time_wait_recycled, 1);
		if (old->orphan)
			tcp_conn_free(t, old);
		else
			tcp_set_state(t, old, TCP_S_CLOSED);
		if (old == c)
			break;
	}
}

void
tcp_conn_finish(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->orphan) {
		tcp_conn_free(t, c);
		return;
	}
	tcp_set_state(t, c, TCP_S_CLOSED);
	tcp_timer_remove(t, c);
	tcp_mark_ready(t, c); /* the application reads EOF */
}

void
tcp_conn_fail(struct tcp_ctx *t, struct tcp_conn *c, int err)
{
	if (c->state == TCP_S_SYN_SENT || c->state == TCP_S_SYN_RECEIVED)
		TCP_CNT(t, attempt_fails, 1);
	if (c->orphan || (c->passive && !c->reported)) {
		tcp_conn_free(t, c);
		return;
	}
	c->err = err;
	tcp_set_state(t, c, TCP_S_CLOSED);
	tcp_sndq_clear(t, c);
	for (int k = 0; k < TCP_T_MAX; k++)
		tcp_timer_set(t, c, (enum tcp_timer_kind)k, 0);
	tcp_mark_ready(t, c);
}

void
tcp_mark_ready(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->on_ready || c->orphan)
		return;
	c->on_ready = true;
	c->ready_next = t->ready;
	t->ready = c;
}

void
tcp_mark_pending(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->on_pending)
		return;
	c->on_pending = true;
	c->pending_next = t->pending;
	t->pending = c;
}

/* ---- the application's calls ---- */

static bool
conn_readable(const struct tcp_conn *c)
{
	return c->rcv_bytes > 0 || c->rcv_fin || c->err != 0 || c->state == TCP_S_CLOSED ||
	       c->state == TCP_S_TIME_WAIT;
}

static bool
conn_send_room(const struct tcp_ctx *t, const struct tcp_conn *c)
{
	return c->snd_bytes < t->p.sndbuf && c->sndq_n < TCP_SNDQ_SLOTS;
}

static bool
conn_synchronized(const struct tcp_conn *c)
{
	return c->state >= TCP_S_ESTABLISHED;
}

unsigned
tcp_events(struct tcp_ctx *t, struct tcp_event *ev, unsigned max)
{
	struct tcp_conn **pp = &t->ready;
	unsigned n = 0;

	while (*pp != NULL && n < max) {
		struct tcp_conn *c = *pp;
		enum tcp_event_kind kind;
		bool report = true;

		if (!c->reported && conn_synchronized(c)) {
			c->reported = true;
			kind = c->passive ? TCP_EV_ACCEPTED : TCP_EV_CONNECTED;
		} else if (!c->reported && c->passive) {
			report = false; /* not yet established */
		} else if (c->want_writable && conn_send_room(t, c) && c->err == 0 &&
			   conn_synchronized(c)) {
			kind = TCP_EV_WRITABLE;
		} else if (conn_readable(c) || (!c->reported && c->err != 0)) {
			c->reported = true;
			kind = TCP_EV_READABLE;
		} else {
			report = false;
		}
		if (!report) {
			*pp = c->ready_next; /* nothing to say: off the list until something changes */
			c->on_ready = false;
			continue;
		}
		ev[n++] = (struct tcp_event){.kind = kind, .conn = c, .user = c->user};
		pp = &c->ready_next;
	}
	if (*pp != NULL && pp != &t->ready) {
		/* Stopped at max: the ones named go behind the rest, so none is starved. */
		struct tcp_conn *rest = *pp, **end;

		*pp = NULL;
		for (end = &rest; *end != NULL; end = &(*end)->ready_next)
			;
		*end = t->ready;
		t->ready = rest;
	}
	return n;
}

bool
tcp_has_events(const struct tcp_ctx *t)
{
	return t->ready != NULL;
}

/**
 * After bytes left the receive queue (window @p before they did): a window update goes out at
 * the next flush once the window grew by 2 MSS or half the buffer (RFC 9293 3.8.6.2.2).
 */
static void
window_reopened(struct tcp_ctx *t, struct tcp_conn *c, uint32_t before)
{
	uint32_t after = tcp_rcv_window(t, c);

	if (after - before >= 2u * t->mss_local || after - before >= t->p.rcvbuf / 2 ||
	    (before < t->mss_local && after >= t->mss_local)) {
		if (c->state == TCP_S_ESTABLISHED || c->state == TCP_S_FIN_WAIT_1 ||
		    c->state == TCP_S_FIN_WAIT_2) {
			c->ack_now = true;
			tcp_mark_pending(t, c);
		}
	}
}

/** What tcp_recv() and tcp_recv_lend() return when the receive queue is empty. */
static int
recv_empty(const struct tcp_conn *c)
{
	if (c->err != 0)
		return c->err;
	if (c->rcv_fin || c->state == TCP_S_TIME_WAIT || c->state == TCP_S_CLOSED)
		return 0;
	return -EAGAIN;
}

ssize_t
tcp_recv(struct tcp_ctx *t, struct tcp_conn *c, void *buf, size_t cap)
{
	uint8_t *out = buf;
	size_t n = 0;
	uint32_t before = tcp_rcv_window(t, c);

	while (n < cap && c->rcvq_n > 0) {
		struct tcp_rcv_seg *s = &c->rcvq[c->rcvq_head];
		uint32_t take = s->len < cap - n ? s->len : (uint32_t)(cap - n);
		const void *p = rte_pktmbuf_read(s->m, s->off, take, out + n);

		if (p != out + n)
			memcpy(out + n, p, take);
		n += take;
		s->off += take;
		s->len -= take;
		c->rcv_bytes -= take;
		if (s->len == 0) {
			t->mbufs -= s->m->nb_segs;
			rte_pktmbuf_free(s->m);
			s->m = NULL;
			c->rcvq_head = (uint16_t)((c->rcvq_head + 1) % TCP_RCVQ_SLOTS);
			c->rcvq_n--;
		}
	}
	tcp_rcvq_put(t, c);
	if (n > 0) {
		window_reopened(t, c, before);
		return (ssize_t)n;
	}
	return recv_empty(c);
}

int
tcp_recv_lend(struct tcp_ctx *t, struct tcp_conn *c, struct tcp_lent *out, unsigned max)
{
	unsigned n = 0;
	uint32_t before = tcp_rcv_window(t, c);

	while (n < max && c->rcvq_n > 0) {
		struct tcp_rcv_seg *s = &c->rcvq[c->rcvq_head];

		/*
		 * Lent mbufs stay in the budget: at most half of it, so copying readers go on. A
		 * short segment is cheaper to copy than to hold a whole mbuf for.
		 */
		if (s->m->nb_segs != 1 || s->len < TCP_LEND_MIN ||
		    t->mbufs >= t->p.mbuf_budget / 2)
			break;
		out[n].data = rte_pktmbuf_mtod_offset(s->m, const uint8_t *, s->off);
		out[n].len = s->len;
		out[n].m = s->m;
		n++;
		TCP_CNT(t, lent_segs, 1);
		c->rcv_bytes -= s->len;
		s->m = NULL;
		c->rcvq_head = (uint16_t)((c->rcvq_head + 1) % TCP_RCVQ_SLOTS);
		c->rcvq_n--;
	}
	tcp_rcvq_put(t, c);
	if (n > 0) {
		window_reopened(t, c, before);
		return (int)n;
	}
	if (c->rcvq_n > 0)
		return -ENOBUFS;
	return recv_empty(c);
}

void
tcp_lent_release(struct tcp_ctx *t, struct rte_mbuf *m)
{
	t->mbufs -= m->nb_segs;
	rte_pktmbuf_free(m);
}

void
tcp_want_writable(struct tcp_ctx *t, struct tcp_conn *c, bool on)
{
	c->want_writable = on;
	if (on)
		tcp_mark_ready(t, c);
}

/* ---- queue slot arrays: held only while something is queued ---- */

/** A slot array of @p size bytes: a spare one, else new. @return NULL when memory is short. */
static void *
spare_take(struct tcp_ctx *t, void **spare, uint16_t *nspare, size_t size)
{
	void *q = *nspare > 0 ? spare[--*nspare] : malloc(size);

	if (q != NULL)
		t->nqueues++;
	return q;
}

/** Slot array @p q is empty: kept as a spare, or freed when there are enough. */
static void
spare_give(struct tcp_ctx *t, void **spare, uint16_t *nspare, void *q)
{
	if (*nspare < TCP_SPARE_QUEUES)
		spare[(*nspare)++] = q;
	else
		free(q);
	t->nqueues--;
}

int
tcp_rcvq_get(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->rcvq == NULL) {
		c->rcvq = spare_take(t, t->spare_rcvq, &t->nspare_rcvq,
				     TCP_RCVQ_SLOTS * sizeof(*c->rcvq));
		c->rcvq_head = 0;
	}
	return c->rcvq != NULL ? 0 : -ENOMEM;
}

void
tcp_rcvq_put(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->rcvq != NULL && c->rcvq_n == 0) {
		spare_give(t, t->spare_rcvq, &t->nspare_rcvq, c->rcvq);
		c->rcvq = NULL;
	}
}

int
tcp_sndq_get(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->sndq == NULL) {
		c->sndq = spare_take(t, t->spare_sndq, &t->nspare_sndq,
				     TCP_SNDQ_SLOTS * sizeof(*c->sndq));
		c->sndq_head = 0;
	}
	return c->sndq != NULL ? 0 : -ENOMEM;
}

void
tcp_sndq_put(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->sndq != NULL && c->sndq_n == 0) {
		spare_give(t, t->spare_sndq, &t->nspare_sndq, c->sndq);
		c->sndq = NULL;
	}
}

ssize_t
tcp_sendv(struct tcp_ctx *t, struct tcp_conn *c, const struct iovec *iov, unsigned niov)
{
	size_t taken = 0;

	if (c->err != 0 || c->shut_wr || c->state == TCP_S_CLOSED || c->state == TCP_S_TIME_WAIT ||
	    c->state == TCP_S_CLOSING || c->state == TCP_S_LAST_ACK)
		return -EPIPE;
	if (!conn_synchronized(c))
		return -EAGAIN;
	if (tcp_sndq_get(t, c) != 0)
		return -EAGAIN;
	for (unsigned i = 0; i < niov; i++) {
		const uint8_t *src = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left > 0) {
			struct tcp_snd_seg *tail = NULL;
			uint32_t room;

			if (c->snd_bytes >= t->p.sndbuf)
				goto out;
			if (c->sndq_n > 0) {
				tail = &c->sndq[(c->sndq_head + c->sndq_n - 1) % TCP_SNDQ_SLOTS];
				/* Only bytes never sent may grow: a sent segment is fixed. */
				if (tail->sent != 0 || tail->len >= c->mss)
					tail = NULL;
			}
			if (tail == NULL) {
				struct rte_mbuf *m;

				if (c->sndq_n >= TCP_SNDQ_SLOTS || t->mbufs >= t->p.mbuf_budget)
					goto out;
				m = t->p.io.alloc(t->p.io.arg);
				if (m == NULL) {
					TCP_CNT(t, no_mbuf, 1);
					goto out;
				}
				t->mbufs++;
				tail = &c->sndq[(c->sndq_head + c->sndq_n) % TCP_SNDQ_SLOTS];
				*tail = (struct tcp_snd_seg){.m = m, .seq = c->snd_end};
				c->sndq_n++;
			}
			room = c->mss - tail->len;
			if (room > rte_pktmbuf_tailroom(tail->m))
				room = rte_pktmbuf_tailroom(tail->m);
			if (room > t->p.sndbuf - c->snd_bytes)
				room = t->p.sndbuf - c->snd_bytes;
			if (room > left)
				room = (uint32_t)left;
			if (room == 0)
				goto out;
			memcpy(rte_pktmbuf_mtod_offset(tail->m, uint8_t *, tail->len), src, room);
			tail->m->data_len = (uint16_t)(tail->m->data_len + room);
			tail->m->pkt_len += room;
			tail->len = (uint16_t)(tail->len + room);
			c->snd_bytes += room;
			c->snd_end += room;
			src += room;
			left -= room;
			taken += room;
		}
	}
out:
	if (taken == 0) {
		tcp_sndq_put(t, c);
		return -EAGAIN;
	}
	tcp_mark_pending(t, c);
	return (ssize_t)taken;
}

int
tcp_shutdown(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (!conn_synchronized(c) && c->state != TCP_S_SYN_RECEIVED)
		return -ENOTCONN;
	if (!c->shut_wr) {
		c->shut_wr = true;
		tcp_mark_pending(t, c);
	}
	return 0;
}

void
tcp_close(struct tcp_ctx *t, struct tcp_conn *c)
{
	c->orphan = true;
	c->user = NULL;
	c->want_writable = false;
	if (c->on_ready) {
		list_unlink(&t->ready, c, offsetof(struct tcp_conn, ready_next));
		c->on_ready = false;
	}
	switch (c->state) {
	case TCP_S_CLOSED:
	case TCP_S_SYN_SENT:
		tcp_conn_free(t, c);
		return;
	case TCP_S_TIME_WAIT:
		tcp_rcvq_clear(t, c); /* unread bytes: nobody will read them now */
		return; /* it ends at its 2 MSL timer, orphaned */
	default:
		break;
	}
	if (c->rcv_bytes > 0 || c->err != 0) {
		/*
		 * Unread input: reset, as a socket closed with unread data does. What the
		 * application wrote before closing goes out first, as it would have from a socket
		 * (e.g. memcached's "ERROR Too many open connections" to a client that already sent
		 * its request), as far as the windows allow; the RST follows it.
		 */
		if (c->err == 0)
			tcp_output(t, c);
		tcp_abort(t, c);
		return;
	}
	c->shut_wr = true;
	tcp_mark_pending(t, c);
	if (c->state == TCP_S_FIN_WAIT_2)
		tcp_timer_set(t, c, TCP_T_END, t->now_us + (uint64_t)t->p.fin_wait_2_ms * 1000);
}

void
tcp_abort(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->state != TCP_S_CLOSED && c->state != TCP_S_TIME_WAIT && c->state != TCP_S_SYN_SENT &&
	    c->err == 0)
		tcp_send_ctl(t, c, TCP_F_RST | TCP_F_ACK, c->snd_nxt);
	tcp_conn_free(t, c);
}

int
tcp_connect(struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, uint64_t now_us,
	    struct tcp_conn **cp)
{
	struct tcp_conn *c;

	t->now_us = now_us;
	for (unsigned tries = 0; tries <= TCP_EPHEMERAL_MAX - TCP_EPHEMERAL_MIN; tries++) {
		uint16_t port = t->next_port;
		rte_be16_t lport = rte_cpu_to_be_16(port);

		t->next_port = (uint16_t)(port >= TCP_EPHEMERAL_MAX ? TCP_EPHEMERAL_MIN : port + 1);
		if (tcp_lookup(t, rip, rport, lport) != NULL)
			continue;
		if (t->p.io.steers_here != NULL && !t->p.io.steers_here(t->p.io.arg, rip, rport, lport))
			continue;
		c = tcp_conn_new(t, rip, rport, lport, TCP_S_SYN_SENT);
		if (c == NULL)
			return -ENOBUFS;
		c->iss = tcp_isn(t, rip, rport, lport, now_us);
		c->snd_una = c->snd_nxt = c->snd_max = c->iss;
		c->snd_end = c->iss + 1;
		c->mss = TCP_MSS_DEFAULT;
		c->rcv_wscale = t->rcv_wscale;
		TCP_CNT(t, active_opens, 1);
		tcp_send_syn(t, c);
		tcp_rto_arm(t, c, true);
		*cp = c;
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/* ---- small accessors ---- */

void
tcp_conn_set_user(struct tcp_conn *c, void *user)
{
	c->user = user;
}

void *
tcp_conn_user(const struct tcp_conn *c)
{
	return c->user;
}

void
tcp_conn_peer(const struct tcp_conn *c, rte_be32_t *ip, rte_be16_t *port)
{
	*ip = c->rip;
	*port = c->rport;
}

rte_be16_t
tcp_conn_local_port(const struct tcp_conn *c)
{
	return c->lport;
}

enum tcp_state
tcp_conn_state(const struct tcp_conn *c)
{
	return c->state;
}

int
tcp_conn_id(const struct tcp_conn *c)
{
	return c->id;
}

uint32_t
tcp_conn_unacked(const struct tcp_conn *c)
{
	return c->snd_bytes;
}

const struct tcp_counters *
tcp_counters(const struct tcp_ctx *t)
{
	return &t->cnt;
}

void
tcp_gauges(const struct tcp_ctx *t, struct tcp_gauges *g)
{
	g->conns = __atomic_load_n(&t->nconns, __ATOMIC_RELAXED);
	g->syn_rcvd = __atomic_load_n(&t->nsyn_rcvd, __ATOMIC_RELAXED);
	g->time_wait = __atomic_load_n(&t->ntw, __ATOMIC_RELAXED);
	g->mbufs = __atomic_load_n(&t->mbufs, __ATOMIC_RELAXED);
	g->queues = __atomic_load_n(&t->nqueues, __ATOMIC_RELAXED);
}

void
tcp_state_counts(const struct tcp_ctx *t, uint32_t n[TCP_STATE_MAX])
{
	memset(n, 0, sizeof(uint32_t) * TCP_STATE_MAX);
	for (uint32_t i = 0; i < t->nslots; i++)
		if (t->conns[i] != NULL)
			n[t->conns[i]->state]++;
}
