/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel TCP transport: a thread's connections in one epoll set, their streams in a book
 * (stream.h: requests in flight in order, bytes unsent, bytes not yet a reply). A connection
 * that breaks the protocol, is closed by the server, or leaves a request unanswered past
 * --timeout is opened again; its requests are counted lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"
#include "stream.h"
#include "transport.h"

#define EVENTS_MAX 64

struct conn {
	int fd;
	bool want_out;
	struct mcgen_stream *s;
};

struct tcp {
	struct mcgen_thread *t;
	const struct mcgen_options *o;
	int epfd;
	struct conn *conns;
	unsigned n;
	struct mcgen_stream_book *book;
};

static int
conn_open(struct tcp *x, struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int fd = mcgen_sock_open(x->t->run, SOCK_STREAM, x->t->err, sizeof(x->t->err));

	if (fd < 0)
		return fd;
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int rc = -errno;

		snprintf(x->t->err, sizeof(x->t->err), "epoll_ctl: %s", strerror(errno));
		close(fd);
		return rc;
	}
	c->fd = fd;
	c->want_out = false;
	c->s->up = true;
	return 0;
}

/* Count every request of @p c lost under @p why, close it and open it again. */
static int
conn_reset(struct tcp *x, struct conn *c, enum mcgen_counter why, const char *msg)
{
	mcgen_stream_lose(x->book, c->s, why, msg);
	close(c->fd);
	c->fd = -1;
	mcgen_engine_count(x->t, MCGEN_C_reconnects, 1);
	return conn_open(x, c);
}

static void
set_want_out(struct tcp *x, struct conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};

	if (c->want_out != on && epoll_ctl(x->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_out = on;
}

/* Write what @p c has to send. @return 0; -EPIPE when the connection broke. */
static int
conn_flush(struct tcp *x, struct conn *c)
{
	size_t len;
	const char *p;

	while ((p = mcgen_stream_pending(c->s, &len)), len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_want_out(x, c, true);
				return 0;
			}
			return -EPIPE;
		}
		mcgen_stream_sent(c->s, (size_t)n);
	}
	set_want_out(x, c, false);
	return 0;
}

static int
conn_read(struct tcp *x, struct conn *c, uint64_t now)
{
	char err[256];
	ssize_t n;
	int rc;

	for (;;) {
		size_t cap;
		char *room = mcgen_stream_room(x->book, c->s, &cap);

		n = recv(c->fd, room, cap, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			snprintf(err, sizeof(err), "the server closed a connection (%s)",
				 n == 0 ? "end of stream" : strerror(errno));
			return conn_reset(x, c, MCGEN_C_aborted, err);
		}
		rc = mcgen_stream_received(x->book, c->s, (size_t)n, now);
		if (rc == -ECONNREFUSED)
			return rc; /* (turned away: t->err says how) */
		if (rc < 0)
			return conn_reset(x, c, MCGEN_C_aborted, NULL);
	}
}

/* Requests unanswered past the timeout: the connection is stuck; open it again. */
static int
scan_timeouts(struct tcp *x, uint64_t now)
{
	for (unsigned i = 0; i < x->n; i++) {
		struct conn *c = &x->conns[i];
		char msg[128];
		int rc;

		if (!mcgen_stream_overdue(x->book, c->s, now))
			continue;
		snprintf(msg, sizeof(msg), "no reply within %llu ms: connection opened again",
			 (unsigned long long)x->o->timeout_ms);
		rc = conn_reset(x, c, MCGEN_C_timeouts, msg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
loop(struct tcp *x)
{
	struct epoll_event ev[EVENTS_MAX];
	uint64_t now = mcgen_now_ns(), next_scan = now + MCGEN_SCAN_NS;
	struct mcgen_thread *t = x->t;
	int rc;

	for (;;) {
		bool room;
		int n;

		mcgen_engine_tick(t, now);
		room = mcgen_stream_issue(x->book, now);
		for (unsigned i = 0; i < x->n; i++) {
			struct conn *c = &x->conns[i];
			size_t len;

			(void)mcgen_stream_pending(c->s, &len);
			if (len > 0 && !c->want_out && conn_flush(x, c) < 0 &&
			    (rc = conn_reset(x, c, MCGEN_C_aborted, "send failed: connection opened "
					     "again")) < 0)
				return rc;
		}
		if (mcgen_stream_drained(x->book, now))
			return 0;
		n = mcgen_sock_wait(x->epfd, ev, EVENTS_MAX, now, mcgen_sock_until(t, now, room));
		if (n < 0) {
			snprintf(t->err, sizeof(t->err), "epoll_wait: %s", strerror(-n));
			return n;
		}
		now = mcgen_now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;

			if ((ev[i].events & EPOLLOUT) && conn_flush(x, c) < 0)
				rc = conn_reset(x, c, MCGEN_C_aborted, "send failed: connection opened "
						"again");
			else if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				rc = conn_read(x, c, now);
			else
				rc = 0;
			if (rc < 0)
				return rc;
		}
		if (now >= next_scan) {
			next_scan = now + MCGEN_SCAN_NS;
			rc = scan_timeouts(x, now);
			if (rc < 0)
				return rc;
		}
	}
}

static void
tcp_free(struct tcp *x)
{
	for (unsigned i = 0; x->conns != NULL && i < x->n; i++)
		if (x->conns[i].fd >= 0)
			close(x->conns[i].fd);
	free(x->conns);
	mcgen_stream_book_destroy(&x->book);
	if (x->epfd >= 0)
		close(x->epfd);
}

int
mcgen_tcp_run(struct mcgen_thread *t)
{
	struct tcp x = {.t = t, .o = t->run->o, .epfd = -1, .n = t->nconns};
	int rc = 0;

	x.epfd = epoll_create1(EPOLL_CLOEXEC);
	x.conns = calloc(x.n ? x.n : 1, sizeof(*x.conns));
	if (x.epfd < 0 || x.conns == NULL || mcgen_stream_book_create(t, x.n, &x.book) < 0) {
		snprintf(t->err, sizeof(t->err), "out of memory or descriptors");
		mcgen_engine_ready(t);
		tcp_free(&x);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < x.n; i++)
		x.conns[i] = (struct conn){.fd = -1, .s = mcgen_stream_at(x.book, i)};
	for (unsigned i = 0; i < x.n && rc == 0; i++)
		rc = conn_open(&x, &x.conns[i]);
	mcgen_engine_ready(t);
	if (rc == 0)
		rc = loop(&x);
	tcp_free(&x);
	return rc;
}
