/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK TCP transport: the thread's queue pair (dpdk.h) with the project's own TCP in
 * active open (lib/tcp, on the link through genlink/tcplink.h), each connection from a
 * source port of the thread's block, and its stream in a book (stream.h) as over the
 * kernel: requests pipelined up to --depth, replies cut from the byte stream by the
 * protocol's parser and checked. A turn of the loop: requests due into the streams, the
 * streams' bytes to lib/tcp (tcp_sendv), tcp_flush and one TX burst, a receive burst
 * (replies on other threads' queues handed over: genlink_receive), lib/tcp's events.
 *
 * Connections open before the thread reaches the gate (all up within CONNECT_S, else the
 * thread fails: -ECONNREFUSED, -ETIMEDOUT). A connection that breaks the protocol, is
 * reset or closed by the server, or leaves a request unanswered past --timeout is aborted
 * (RST) and opened again at the next scan; its requests count as lost (timeouts for the
 * stalled one), as sock_tcp.c does. The thread polls: it never sleeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "dpdk.h"
#include "genlink/link.h"
#include "genlink/tcplink.h"
#include "run.h"
#include "sock.h"
#include "stream.h"
#include "tcp/tcp.h"
#include "transport.h"

#define CONNECT_S 5
#define CLOSE_MS  200 /* at the end: time for the FIN exchanges */
#define EVENTS	  64

struct dconn {
	struct tcp_conn *c; /* NULL: to be opened (again) at the next scan */
	struct mcgen_stream *s;
};

struct dtcp {
	struct mcgen_thread *t;
	struct genlink *l;
	struct genlink_tcp *g;
	struct tcp_ctx *tc;
	struct mcgen_stream_book *book;
	struct dconn *conns;
	unsigned n;
	int refused; /* a connect failed: its negative errno (before the gate) */
	bool turned_away; /* the server said it turned a connection away (t->err quotes it) */
};

/* Open @p k: the SYN goes out at the next turn; up at TCP_EV_CONNECTED. */
static int
conn_open(struct dtcp *x, struct dconn *k)
{
	int rc = tcp_connect(x->tc, x->l->peer_ip, x->l->dport, genlink_tcp_now_us(x->g), &k->c);

	if (rc < 0) {
		k->c = NULL;
		return rc;
	}
	tcp_conn_set_user(k->c, k);
	return 0;
}

/* Give @p k up: its requests lost under @p why, RST; opened again at the next scan. */
static void
conn_reset(struct dtcp *x, struct dconn *k, enum mcgen_counter why, const char *msg)
{
	mcgen_stream_lose(x->book, k->s, why, msg);
	if (k->c != NULL)
		tcp_abort(x->tc, k->c);
	k->c = NULL;
	mcgen_engine_count(x->t, MCGEN_C_reconnects, 1);
}

/* Read what @p k received and parse it. */
static void
conn_read(struct dtcp *x, struct dconn *k, uint64_t now)
{
	char msg[128];

	for (;;) {
		size_t cap;
		char *room = mcgen_stream_room(x->book, k->s, &cap);
		ssize_t n = cap > 0 ? tcp_recv(x->tc, k->c, room, cap) : -ENOBUFS;

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			if (!k->s->up && (n == -ECONNREFUSED || n == -ETIMEDOUT))
				x->refused = (int)n;
			snprintf(msg, sizeof(msg), "the server %s a connection",
				 n == 0 ? "closed" : n == -ENOBUFS ? "overran" : "reset or refused");
			conn_reset(x, k, MCGEN_C_aborted, msg);
			return;
		}
		n = mcgen_stream_received(x->book, k->s, (size_t)n, now);
		if (n == -ECONNREFUSED) {
			x->turned_away = true;
			return;
		}
		if (n < 0) {
			conn_reset(x, k, MCGEN_C_aborted, NULL);
			return;
		}
	}
}

/* lib/tcp's events: connections up, bytes to read. */
static void
events(struct dtcp *x, uint64_t now)
{
	struct tcp_event ev[EVENTS];
	unsigned n;

	do {
		n = tcp_events(x->tc, ev, EVENTS);
		for (unsigned i = 0; i < n; i++) {
			struct dconn *k = ev[i].user;

			if (k == NULL || k->c != ev[i].conn)
				continue;
			if (ev[i].kind == TCP_EV_CONNECTED)
				k->s->up = true;
			else if (ev[i].kind == TCP_EV_READABLE)
				conn_read(x, k, now);
		}
	} while (n == EVENTS);
}

/* The streams' bytes to lib/tcp's send buffers (what does not fit waits a turn). */
static void
send_pending(struct dtcp *x)
{
	for (unsigned i = 0; i < x->n; i++) {
		struct dconn *k = &x->conns[i];
		struct iovec iov;
		size_t len;
		ssize_t r;

		if (k->c == NULL || !k->s->up)
			continue;
		iov.iov_base = (void *)mcgen_stream_pending(k->s, &len);
		iov.iov_len = len;
		if (len == 0)
			continue;
		r = tcp_sendv(x->tc, k->c, &iov, 1);
		if (r > 0)
			mcgen_stream_sent(k->s, (size_t)r);
		else if (r == -EPIPE)
			conn_reset(x, k, MCGEN_C_aborted, "send failed: connection opened again");
	}
}

/* A receive burst through the link (segments to lib/tcp), then lib/tcp's events. */
static void
receive(struct dtcp *x)
{
	struct rte_mbuf *pkts[GENLINK_BURST];
	uint16_t n = mcgen_dpdk_receive(x->t, x->l, pkts, GENLINK_BURST);
	struct genlink_dgram d;

	for (uint16_t i = 0; i < n; i++)
		if (genlink_classify(x->l, pkts[i], &d) == GENLINK_RX_UDP)
			rte_pktmbuf_free(pkts[i]); /* a straggling stats datagram */
	if (n > 0 || tcp_has_events(x->tc))
		events(x, mcgen_now_ns());
}

/* Stalled connections reset, broken ones opened again. */
static void
scan(struct dtcp *x, uint64_t now)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "no reply within %llu ms: connection opened again",
		 (unsigned long long)x->t->run->o->timeout_ms);
	for (unsigned i = 0; i < x->n; i++) {
		struct dconn *k = &x->conns[i];

		if (mcgen_stream_overdue(x->book, k->s, now))
			conn_reset(x, k, MCGEN_C_timeouts, msg);
		if (k->c == NULL && conn_open(x, k) < 0)
			mcgen_engine_say(x->t, "cannot open a connection again (no source port)");
	}
}

/* Open every connection and wait until all are up. @return 0; a negative errno (t->err). */
static int
conns_open(struct dtcp *x)
{
	uint64_t end = mcgen_now_ns() + CONNECT_S * 1000000000ull;
	unsigned up = 0;
	int rc;

	for (unsigned i = 0; i < x->n; i++) {
		rc = conn_open(x, &x->conns[i]);
		if (rc < 0) {
			snprintf(x->t->err, sizeof(x->t->err), "connect: %s", strerror(-rc));
			return rc;
		}
	}
	while (up < x->n && x->refused == 0 && !x->turned_away && mcgen_now_ns() < end &&
	       !mcgen_run_given_up(x->t->run)) {
		genlink_tcp_turn(x->g);
		receive(x);
		up = 0;
		for (unsigned i = 0; i < x->n; i++)
			up += x->conns[i].s->up;
	}
	if (up == x->n && !x->turned_away)
		return 0;
	if (x->turned_away)
		return -ECONNREFUSED;
	if (x->refused != 0) {
		snprintf(x->t->err, sizeof(x->t->err), "connect to the server's port: %s",
			 strerror(-x->refused));
		return x->refused;
	}
	if (mcgen_run_given_up(x->t->run)) {
		snprintf(x->t->err, sizeof(x->t->err), "connect: %s", mcgen_run_given_up_why());
		return -EINTR;
	}
	snprintf(x->t->err, sizeof(x->t->err), "%u of %u connections up in %d s", up, x->n,
		 CONNECT_S);
	return -ETIMEDOUT;
}

static int
loop(struct dtcp *x)
{
	struct mcgen_thread *t = x->t;
	uint64_t now = mcgen_now_ns(), next_scan = now + MCGEN_SCAN_NS;

	x->refused = 0; /* (what the first connects met: they are all up) */
	for (;;) {
		mcgen_engine_tick(t, now);
		mcgen_stream_issue(x->book, now);
		send_pending(x);
		genlink_tcp_turn(x->g);
		if (mcgen_stream_drained(x->book, now))
			return 0;
		receive(x);
		if (x->turned_away)
			return -ECONNREFUSED;
		/* A connection opened again and refused: the server is gone, as on kernel TCP. */
		if (x->refused != 0) {
			snprintf(t->err, sizeof(t->err), "connect to the server's port again: %s",
				 strerror(-x->refused));
			return x->refused;
		}
		now = mcgen_now_ns();
		if (now >= next_scan) {
			next_scan = now + MCGEN_SCAN_NS;
			scan(x, now);
		}
	}
}

/* Close every connection (FIN), give the exchanges a moment, free everything. */
static void
dtcp_free(struct dtcp *x)
{
	for (unsigned i = 0; x->conns != NULL && x->tc != NULL && i < x->n; i++)
		if (x->conns[i].c != NULL)
			tcp_close(x->tc, x->conns[i].c);
	genlink_tcp_destroy(&x->g, CLOSE_MS);
	mcgen_stream_book_destroy(&x->book);
	free(x->conns);
}

/* Everything the thread needs before it connects. @return 0; a negative errno (t->err). */
static int
setup(struct dtcp *x)
{
	struct mcgen_thread *t = x->t;
	int rc;

	if (t->run->dpdk == NULL) {
		snprintf(t->err, sizeof(t->err), "no DPDK port set up");
		return -EINVAL;
	}
	x->l = mcgen_dpdk_enter(t->run->dpdk, t->id, t->err, sizeof(t->err));
	if (x->l == NULL)
		return -EBUSY;
	x->conns = calloc(x->n ? x->n : 1, sizeof(*x->conns));
	if (x->conns == NULL || mcgen_stream_book_create(t, x->n, &x->book) < 0) {
		snprintf(t->err, sizeof(t->err), "out of memory");
		return -ENOMEM;
	}
	rc = genlink_tcp_create(x->l, x->n + EVENTS, true, &x->g);
	if (rc < 0) {
		snprintf(t->err, sizeof(t->err), "TCP context: %s", strerror(-rc));
		return rc;
	}
	x->tc = genlink_tcp_ctx(x->g);
	for (unsigned i = 0; i < x->n; i++)
		x->conns[i].s = mcgen_stream_at(x->book, i);
	return conns_open(x);
}

int
mcgen_dpdk_tcp_run(struct mcgen_thread *t)
{
	struct dtcp x = {.t = t, .n = t->nconns};
	int rc = setup(&x);

	mcgen_dpdk_ready(t, x.l);
	if (rc == 0)
		rc = loop(&x);
	dtcp_free(&x);
	if (x.l != NULL)
		mcgen_dpdk_leave(t->run->dpdk, t, x.l);
	return rc;
}
