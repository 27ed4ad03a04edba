/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel TCP transport: a thread's connections in one epoll set; each connection keeps its
 * requests in flight in a FIFO (replies come in order), its unsent bytes, and its received
 * bytes not yet parsed. A connection that breaks the protocol, is closed by the server, or
 * leaves a request unanswered past --timeout is opened again; its requests are counted lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "sock.h"
#include "transport.h"

#define EVENTS_MAX 64
#define READ_ROOM  65536 /* receive buffer beyond the longest reply */

struct conn {
	int fd;
	struct mcgen_req *q; /* FIFO of depth requests */
	unsigned head, count;
	char *out;
	size_t out_off, out_len;
	char *in;
	size_t in_len, need;
	bool want_out;
};

struct tcp {
	struct mcgen_thread *t;
	const struct mcgen_options *o;
	int epfd;
	struct conn *conns;
	unsigned n, rr;
	size_t out_cap, in_cap, req_max;
	uint32_t opaque;
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
	c->head = c->count = 0;
	c->out_off = c->out_len = c->in_len = 0;
	c->need = 0;
	c->want_out = false;
	return 0;
}

/* Count every request of @p c lost under @p why, close it and open it again. */
static int
conn_reset(struct tcp *x, struct conn *c, enum mcgen_counter why, const char *msg)
{
	while (c->count > 0) {
		mcgen_engine_lost(x->t, &c->q[c->head], why, msg);
		msg = NULL;
		c->head = (c->head + 1) % (unsigned)x->o->depth;
		c->count--;
	}
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
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_want_out(x, c, true);
				return 0;
			}
			return -EPIPE;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	set_want_out(x, c, false);
	return 0;
}

/* Parse the replies received on @p c. @return 0; -EPROTO when the bytes broke the protocol. */
static int
conn_parse(struct tcp *x, struct conn *c, uint64_t now, char *err, size_t errlen)
{
	size_t off = 0;
	int rc = 0;

	while (c->in_len - off >= c->need && c->in_len > off) {
		struct mcgen_reply r;
		struct mcgen_req *q;
		long n;

		if (c->count == 0) {
			snprintf(err, errlen, "%zu bytes from the server with no request in flight",
				 c->in_len - off);
			rc = -EPROTO;
			break;
		}
		q = &c->q[c->head];
		n = mcgen_proto_parse(x->o->protocol, q, c->in + off, c->in_len - off, &r, &c->need,
				      err, errlen);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0)
			break; /* need counts from off, the start after the move below */
		mcgen_engine_reply(x->t, q, &r, now);
		c->head = (c->head + 1) % (unsigned)x->o->depth;
		c->count--;
		off += (size_t)n;
		c->need = 0;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	if (rc == 0 && c->need > x->in_cap) {
		snprintf(err, errlen, "a reply of more than %zu bytes", x->in_cap);
		rc = -EPROTO;
	}
	return rc;
}

static int
conn_read(struct tcp *x, struct conn *c, uint64_t now)
{
	char err[256];
	ssize_t n;
	int rc;

	for (;;) {
		n = recv(c->fd, c->in + c->in_len, x->in_cap - c->in_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			snprintf(err, sizeof(err), "the server closed a connection (%s)",
				 n == 0 ? "end of stream" : strerror(errno));
			return conn_reset(x, c, MCGEN_C_aborted, err);
		}
		c->in_len += (size_t)n;
		rc = conn_parse(x, c, now, err, sizeof(err));
		if (rc < 0) {
			/* The first request is the one the bytes broke; the rest are lost. */
			if (c->count > 0) {
				mcgen_engine_lost(x->t, &c->q[c->head], MCGEN_C_wrong, err);
				c->head = (c->head + 1) % (unsigned)x->o->depth;
				c->count--;
			} else {
				mcgen_engine_count(x->t, MCGEN_C_wrong, 1);
				mcgen_engine_say(x->t, err);
			}
			return conn_reset(x, c, MCGEN_C_aborted, NULL);
		}
	}
}

/* Issue every due request on connections with room, round robin. @return any room left. */
static bool
issue(struct tcp *x, uint64_t now)
{
	unsigned full = 0;

	while (full < x->n) {
		struct conn *c = &x->conns[x->rr];
		struct mcgen_req *q;
		long len;

		if (c->count == x->o->depth) {
			full++;
			x->rr = (x->rr + 1) % x->n;
			continue;
		}
		q = &c->q[(c->head + c->count) % (unsigned)x->o->depth];
		if (!mcgen_engine_next(x->t, now, q))
			return true;
		q->opaque = ++x->opaque;
		if (c->out_off > 0) {
			/* Unsent bytes belong to requests in flight: at most depth - 1 of them. */
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		len = mcgen_proto_encode(x->o->protocol, x->t->run->w, q, c->out + c->out_len,
					 x->out_cap - c->out_len);
		if (len < 0) {
			mcgen_engine_lost(x->t, q, MCGEN_C_wrong, "a request does not fit the buffer");
			continue;
		}
		c->out_len += (size_t)len;
		c->count++;
		full = 0;
		x->rr = (x->rr + 1) % x->n;
	}
	return false;
}

/* Requests unanswered past the timeout: the connection is stuck; open it again. */
static int
scan_timeouts(struct tcp *x, uint64_t now)
{
	for (unsigned i = 0; i < x->n; i++) {
		struct conn *c = &x->conns[i];
		char msg[128];
		int rc;

		if (c->count == 0 || now - c->q[c->head].sent_ns < x->t->run->timeout_ns)
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
		room = issue(x, now);
		for (unsigned i = 0; i < x->n; i++) {
			struct conn *c = &x->conns[i];

			if (c->out_len > c->out_off && !c->want_out && conn_flush(x, c) < 0 &&
			    (rc = conn_reset(x, c, MCGEN_C_aborted, "send failed: connection opened "
					     "again")) < 0)
				return rc;
		}
		if (!mcgen_engine_issuing(t, now) && t->inflight == 0)
			return 0;
		if (!mcgen_engine_issuing(t, now) && now >= t->run->drain_ns) {
			for (unsigned i = 0; i < x->n; i++)
				while (x->conns[i].count > 0) {
					struct conn *c = &x->conns[i];

					mcgen_engine_lost(t, &c->q[c->head], MCGEN_C_timeouts, NULL);
					c->head = (c->head + 1) % (unsigned)x->o->depth;
					c->count--;
				}
			return 0;
		}
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
	for (unsigned i = 0; x->conns != NULL && i < x->n; i++) {
		if (x->conns[i].fd >= 0)
			close(x->conns[i].fd);
		free(x->conns[i].q);
		free(x->conns[i].out);
		free(x->conns[i].in);
	}
	free(x->conns);
	if (x->epfd >= 0)
		close(x->epfd);
}

int
mcgen_tcp_run(struct mcgen_thread *t)
{
	const struct mcgen_options *o = t->run->o;
	struct tcp x = {.t = t, .o = o, .epfd = -1, .n = t->nconns};
	int rc = 0;

	x.req_max = mcgen_proto_request_max(t->run->w);
	x.out_cap = x.req_max * o->depth;
	x.in_cap = mcgen_proto_reply_max(t->run->w) + READ_ROOM;
	x.epfd = epoll_create1(EPOLL_CLOEXEC);
	x.conns = calloc(x.n, sizeof(*x.conns));
	if (x.epfd < 0 || x.conns == NULL) {
		snprintf(t->err, sizeof(t->err), "out of memory or descriptors");
		mcgen_engine_ready(t);
		tcp_free(&x);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < x.n; i++) {
		struct conn *c = &x.conns[i];

		c->fd = -1;
		c->q = calloc(o->depth, sizeof(*c->q));
		c->out = malloc(x.out_cap);
		c->in = malloc(x.in_cap);
		if (c->q == NULL || c->out == NULL || c->in == NULL) {
			snprintf(t->err, sizeof(t->err), "out of memory for %u connections", x.n);
			rc = -ENOMEM;
			break;
		}
		rc = conn_open(&x, c);
		if (rc < 0)
			break;
	}
	mcgen_engine_ready(t);
	if (rc == 0)
		rc = loop(&x);
	tcp_free(&x);
	return rc;
}
