/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel UDP transport: each connection is a connected UDP socket; the requests in flight,
 * their ids and the replies put together are the book's (udp_book.h).
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
#include "udp_book.h"

#define EVENTS_MAX 64
#define DGRAM_MAX  65536

struct udp {
	struct mcgen_thread *t;
	struct mcgen_udp_book *book;
	int epfd;
	int *fds; /* a connected socket per connection */
	unsigned n;
	char *req; /* the request being sent: frame header and text */
	size_t req_cap;
	char dgram[DGRAM_MAX];
};

static char *
io_begin(void *arg, unsigned conn, uint16_t id, size_t *cap)
{
	struct udp *x = arg;

	(void)conn;
	mcgen_udp_frame_write(x->req, id);
	*cap = x->req_cap - MCGEN_UDP_FRAME_HDR;
	return x->req + MCGEN_UDP_FRAME_HDR;
}

static void
io_finish(void *arg, unsigned conn, size_t len)
{
	struct udp *x = arg;

	/* A datagram the kernel refuses (buffer full) is lost: it times out. */
	if (len > 0)
		(void)send(x->fds[conn], x->req, len + MCGEN_UDP_FRAME_HDR, 0);
}

static void
conn_read(struct udp *x, unsigned conn, uint64_t now)
{
	for (;;) {
		ssize_t n = recv(x->fds[conn], x->dgram, sizeof(x->dgram), 0);
		uint16_t id, seq, total;

		if (n < 0)
			return; /* EAGAIN, or an ICMP error: requests time out */
		if (mcgen_udp_frame_read(x->dgram, (size_t)n, &id, &seq, &total) < 0) {
			mcgen_engine_count(x->t, MCGEN_C_late, 1);
			continue;
		}
		mcgen_udp_book_input(x->book, conn, id, seq, total, x->dgram + MCGEN_UDP_FRAME_HDR,
				     (size_t)n - MCGEN_UDP_FRAME_HDR, now);
	}
}

static int
loop(struct udp *x)
{
	const struct mcgen_udp_io io = {.arg = x, .begin = io_begin, .finish = io_finish};
	struct epoll_event ev[EVENTS_MAX];
	uint64_t now = mcgen_now_ns(), next_scan = now + MCGEN_SCAN_NS;
	struct mcgen_thread *t = x->t;

	for (;;) {
		bool room;
		int n;

		mcgen_engine_tick(t, now);
		room = mcgen_udp_book_issue(x->book, now, &io);
		if (!mcgen_engine_issuing(t, now) && t->inflight == 0)
			return 0;
		if (!mcgen_engine_issuing(t, now) && mcgen_engine_drain_over(t, now)) {
			mcgen_udp_book_scan(x->book, now, true);
			return 0;
		}
		n = mcgen_sock_wait(x->epfd, ev, EVENTS_MAX, now, mcgen_sock_until(t, now, room));
		if (n < 0) {
			snprintf(t->err, sizeof(t->err), "epoll_wait: %s", strerror(-n));
			return n;
		}
		now = mcgen_now_ns();
		for (int i = 0; i < n; i++)
			conn_read(x, ev[i].data.u32, now);
		if (now >= next_scan) {
			next_scan = now + MCGEN_SCAN_NS;
			mcgen_udp_book_scan(x->book, now, false);
		}
	}
}

static void
udp_free(struct udp *x)
{
	for (unsigned i = 0; x->fds != NULL && i < x->n; i++)
		if (x->fds[i] >= 0)
			close(x->fds[i]);
	free(x->fds);
	free(x->req);
	mcgen_udp_book_destroy(&x->book);
	if (x->epfd >= 0)
		close(x->epfd);
	free(x);
}

int
mcgen_udp_run(struct mcgen_thread *t)
{
	struct udp *x = calloc(1, sizeof(*x));
	size_t req = mcgen_proto_request_max(t->run->w) + MCGEN_UDP_FRAME_HDR;
	int rc = 0;

	if (x == NULL) {
		snprintf(t->err, sizeof(t->err), "out of memory");
		mcgen_engine_ready(t);
		return -ENOMEM;
	}
	x->t = t;
	x->n = t->nconns;
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	x->req_cap = req < DGRAM_MAX ? req : DGRAM_MAX;
	x->req = malloc(x->req_cap);
	x->fds = malloc(x->n * sizeof(*x->fds));
	if (x->epfd < 0 || x->req == NULL || x->fds == NULL ||
	    mcgen_udp_book_create(t, x->n, &x->book) < 0) {
		snprintf(t->err, sizeof(t->err), "out of memory or descriptors");
		mcgen_engine_ready(t);
		if (x->fds != NULL)
			memset(x->fds, 0xff, x->n * sizeof(*x->fds));
		udp_free(x);
		return -ENOMEM;
	}
	memset(x->fds, 0xff, x->n * sizeof(*x->fds)); /* -1: not open */
	for (unsigned i = 0; i < x->n; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		x->fds[i] = mcgen_sock_open(t->run, SOCK_DGRAM, t->err, sizeof(t->err));
		if (x->fds[i] < 0) {
			rc = x->fds[i];
			break;
		}
		if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->fds[i], &ev) < 0) {
			rc = -errno;
			snprintf(t->err, sizeof(t->err), "epoll_ctl: %s", strerror(errno));
			break;
		}
	}
	mcgen_engine_ready(t);
	if (rc == 0)
		rc = loop(x);
	udp_free(x);
	return rc;
}
