/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The socket backend: kernel TCP/UDP sockets in one level-triggered epoll set per worker.
 * Listeners and UDP sockets use SO_REUSEPORT so that every worker binds the same ports and
 * the kernel spreads connections and datagrams over them; an eventfd carries stack_wake().
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stack/stack.h"

/* Most epoll events and datagrams handled per system call. */
#define SK_BATCH	   64
#define SK_BACKLOG_DEFAULT 1024

/* What an epoll entry is; every entry's data.ptr points to a struct sk_ent. */
enum sk_kind {
	SK_LISTENER,
	SK_UDP,
	SK_WAKE,
	SK_CONN,
};

struct sk_ent {
	enum sk_kind kind;
	int fd;
};

struct stack_conn {
	struct sk_ent ent; /* first: epoll data.ptr points here */
	void *user;
	struct stack_addr peer;
	bool want_write;
	struct stack_conn *prev, *next; /* every open connection, for destroy */
};

struct sock_stack {
	struct stack base; /* first: struct stack * converts to this */
	int ep;
	struct sk_ent wake;
	struct sk_ent listener[STACK_LISTEN_MAX + 1]; /* + a unix socket */
	char unix_path[108];			      /* the unix socket made here, or "" */
	unsigned nlistener;
	struct sk_ent udp[STACK_LISTEN_MAX]; /* stack_dgram.via indexes this */
	unsigned nudp;
	unsigned udp_next; /* where the next recv_dgrams starts, for fairness */
	struct stack_conn *conns;
	struct epoll_event evs[SK_BATCH];
	struct mmsghdr msgs[SK_BATCH];
	struct iovec iov[SK_BATCH];
};

static const struct stack_ops sock_ops;

static struct sock_stack *
to_sock(struct stack *s)
{
	return (struct sock_stack *)s;
}

static int
neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Add @p e to the epoll set, watching @p events. */
static int
ep_add(struct sock_stack *ss, struct sk_ent *e, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = e};

	return epoll_ctl(ss->ep, EPOLL_CTL_ADD, e->fd, &ev) == 0 ? 0 : neg_errno();
}

static int
set_int_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : neg_errno();
}

/* @p a with its port replaced by @p port. */
static struct stack_addr
addr_with_port(const struct stack_addr *a, uint16_t port)
{
	struct stack_addr r = *a;

	if (r.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&r.ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&r.ss)->sin6_port = htons(port);
	return r;
}

/* A non-blocking socket of @p type bound to @p a with SO_REUSEPORT; *fd or -errno. */
static int
open_bound(const struct stack_addr *a, int type, bool reuseaddr, int *fd)
{
	int fam = a->ss.ss_family;
	int err;

	if ((fam != AF_INET && fam != AF_INET6) || a->len == 0 || a->len > sizeof(a->ss))
		return -EAFNOSUPPORT;
	*fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return neg_errno();
	err = set_int_opt(*fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (err == 0 && reuseaddr)
		err = set_int_opt(*fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (err == 0 && fam == AF_INET6)
		err = set_int_opt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	if (err == 0 && bind(*fd, (const struct sockaddr *)&a->ss, a->len) != 0)
		err = neg_errno();
	if (err != 0) {
		close(*fd);
		*fd = -1;
	}
	return err;
}

static int
add_listener(struct sock_stack *ss, const struct stack_listen *l, int backlog)
{
	struct stack_addr a = addr_with_port(&l->addr, l->tcp_port);
	struct sk_ent *e = &ss->listener[ss->nlistener];
	int err = open_bound(&a, SOCK_STREAM, true, &e->fd);

	if (err != 0)
		return err;
	e->kind = SK_LISTENER;
	ss->nlistener++; /* from here on destroy closes it */
	if (listen(e->fd, backlog) != 0)
		return neg_errno();
	return ep_add(ss, e, EPOLLIN);
}

/*
 * A unix socket listener at @p path with permissions @p mode (memcached -s / -a): a stale
 * socket file left by an earlier run is replaced, any other file is not.
 */
static int
add_unix_listener(struct sock_stack *ss, const char *path, unsigned mode, int backlog)
{
	struct sk_ent *e = &ss->listener[ss->nlistener];
	struct sockaddr_un sun;
	struct stat st;
	int err = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	e->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return neg_errno();
	e->kind = SK_LISTENER;
	ss->nlistener++; /* from here on destroy closes it */
	{
		/* Created with its mode (as memcached): nobody else connects before the chmod. */
		mode_t old = umask(~(mode_t)mode & 0777);
		int rc = bind(e->fd, (const struct sockaddr *)&sun, sizeof(sun));

		umask(old);
		if (rc != 0)
			return neg_errno();
	}
	snprintf(ss->unix_path, sizeof(ss->unix_path), "%s", path); /* destroy unlinks it */
	if (chmod(path, mode) != 0 || listen(e->fd, backlog) != 0)
		err = neg_errno();
	return err != 0 ? err : ep_add(ss, e, EPOLLIN);
}

static int
add_udp(struct sock_stack *ss, const struct stack_listen *l, uint32_t rcvbuf)
{
	struct stack_addr a = addr_with_port(&l->addr, l->udp_port);
	struct sk_ent *e = &ss->udp[ss->nudp];
	int err = open_bound(&a, SOCK_DGRAM, false, &e->fd);

	if (err != 0)
		return err;
	e->kind = SK_UDP;
	ss->nudp++;
	if (rcvbuf != 0 && rcvbuf <= INT_MAX) {
		err = set_int_opt(e->fd, SOL_SOCKET, SO_RCVBUF, (int)rcvbuf);
		if (err != 0)
			return err;
	}
	return ep_add(ss, e, EPOLLIN);
}

static int
add_wake(struct sock_stack *ss)
{
	ss->wake.kind = SK_WAKE;
	ss->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ss->wake.fd < 0)
		return neg_errno();
	return ep_add(ss, &ss->wake, EPOLLIN);
}

static int
sock_setup(struct sock_stack *ss, const struct stack_params *p)
{
	int backlog = p->backlog > 0 ? p->backlog : SK_BACKLOG_DEFAULT;
	int err;

	ss->ep = epoll_create1(EPOLL_CLOEXEC);
	if (ss->ep < 0)
		return neg_errno();
	err = add_wake(ss);
	for (unsigned i = 0; err == 0 && i < p->nlisten; i++) {
		if (p->listen[i].tcp_port != 0)
			err = add_listener(ss, &p->listen[i], backlog);
		if (err == 0 && p->listen[i].udp_port != 0)
			err = add_udp(ss, &p->listen[i], p->udp_rcvbuf);
	}
	if (err == 0 && p->unix_path != NULL)
		err = add_unix_listener(ss, p->unix_path, p->unix_mode, backlog);
	return err;
}

struct stack *
stack_socket_create(const struct stack_params *p, int *err)
{
	struct sock_stack *ss;

	if (p == NULL || p->nlisten > STACK_LISTEN_MAX) {
		*err = -EINVAL;
		return NULL;
	}
	ss = calloc(1, sizeof(*ss));
	if (ss == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	ss->base.ops = &sock_ops;
	ss->wake.fd = -1;
	*err = sock_setup(ss, p);
	if (*err != 0) {
		sock_ops.destroy(&ss->base);
		return NULL;
	}
	return &ss->base;
}

static void
close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Link a new connection into the stack's list (for destroy). */
static void
conn_link(struct sock_stack *ss, struct stack_conn *c)
{
	c->next = ss->conns;
	if (c->next != NULL)
		c->next->prev = c;
	ss->conns = c;
}

static int
sock_connect(struct stack *s, const struct stack_addr *to, void *user, struct stack_conn **out)
{
	struct sock_stack *ss = to_sock(s);
	int fam = to->ss.ss_family, err;
	struct stack_conn *c;

	if ((fam != AF_INET && fam != AF_INET6) || to->len == 0 || to->len > sizeof(to->ss))
		return -EAFNOSUPPORT;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->ent.kind = SK_CONN;
	c->ent.fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ent.fd < 0) {
		err = neg_errno();
		free(c);
		return err;
	}
	set_int_opt(c->ent.fd, IPPROTO_TCP, TCP_NODELAY, 1);
	err = connect(c->ent.fd, (const struct sockaddr *)&to->ss, to->len) == 0 ||
			      errno == EINPROGRESS
		      ? 0
		      : neg_errno();
	/* Writable once open; an open that fails shows as EPOLLERR, reported READABLE. */
	if (err == 0)
		err = ep_add(ss, &c->ent, EPOLLIN | EPOLLOUT);
	if (err != 0) {
		close(c->ent.fd);
		free(c);
		return err;
	}
	c->peer = *to;
	c->user = user;
	c->want_write = true;
	conn_link(ss, c);
	*out = c;
	return 0;
}

static void
sock_close(struct stack *s, struct stack_conn *c)
{
	struct sock_stack *ss = to_sock(s);

	epoll_ctl(ss->ep, EPOLL_CTL_DEL, c->ent.fd, NULL);
	close(c->ent.fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ss->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

static void
sock_destroy(struct stack *s)
{
	struct sock_stack *ss = to_sock(s);

	while (ss->conns != NULL)
		sock_close(s, ss->conns);
	for (unsigned i = 0; i < ss->nlistener; i++)
		close_fd(ss->listener[i].fd);
	if (ss->unix_path[0] != '\0')
		unlink(ss->unix_path);
	for (unsigned i = 0; i < ss->nudp; i++)
		close_fd(ss->udp[i].fd);
	close_fd(ss->wake.fd);
	close_fd(ss->ep);
	free(ss);
}

/* Accept one connection from listener @p l; 0, or -errno (-EAGAIN: none waiting). */
static int
accept_one(struct sock_stack *ss, struct sk_ent *l, struct stack_conn **out)
{
	struct stack_conn *c = calloc(1, sizeof(*c));
	socklen_t len = sizeof(c->peer.ss);
	int err;

	if (c == NULL)
		return -ENOMEM;
	c->ent.kind = SK_CONN;
	c->ent.fd =
		accept4(l->fd, (struct sockaddr *)&c->peer.ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c->ent.fd < 0) {
		err = neg_errno();
		free(c);
		return err;
	}
	c->peer.len = len;
	set_int_opt(c->ent.fd, IPPROTO_TCP, TCP_NODELAY, 1);
	err = ep_add(ss, &c->ent, EPOLLIN);
	if (err != 0) {
		close(c->ent.fd);
		free(c);
		return err;
	}
	conn_link(ss, c);
	*out = c;
	return 0;
}

/*
 * Accept up to @p room connections from @p l into @p ev. A listener still holding
 * connections stays ready (level-triggered) and is served again by the next poll.
 */
static unsigned
accept_some(struct sock_stack *ss, struct sk_ent *l, struct stack_event *ev, unsigned room)
{
	unsigned n = 0;
	struct stack_conn *c;

	while (n < room && accept_one(ss, l, &c) == 0)
		ev[n++] = (struct stack_event){.kind = STACK_EV_ACCEPTED, .conn = c};
	return n;
}

static void
drain_wake(struct sock_stack *ss)
{
	uint64_t v;

	while (read(ss->wake.fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

/*
 * One event for a ready connection: WRITABLE when it was asked for and there is room (the
 * worker flushes; reading waits for the next poll), else READABLE (data, EOF or an error:
 * stack_recv tells which).
 */
static struct stack_event
conn_event(struct stack_conn *c, uint32_t events)
{
	enum stack_event_kind k = STACK_EV_READABLE;

	if (c->want_write && (events & EPOLLOUT) && !(events & (EPOLLERR | EPOLLHUP)))
		k = STACK_EV_WRITABLE;
	return (struct stack_event){.kind = k, .conn = c, .user = c->user};
}

static int
sock_poll(struct stack *s, struct stack_event *ev, unsigned max, int timeout_ms)
{
	struct sock_stack *ss = to_sock(s);
	unsigned n = 0;
	bool dgrams = false;
	int nready;

	if (max == 0)
		return -EINVAL;
	nready = epoll_wait(ss->ep, ss->evs, max < SK_BATCH ? (int)max : SK_BATCH, timeout_ms);
	if (nready < 0)
		return neg_errno();
	for (int i = 0; i < nready; i++) {
		struct sk_ent *e = ss->evs[i].data.ptr;
		/* room left once every later epoll event has its one slot */
		unsigned room = max - n - (unsigned)(nready - i - 1);

		if (e->kind == SK_LISTENER) {
			n += accept_some(ss, e, &ev[n], room);
		} else if (e->kind == SK_CONN) {
			ev[n++] = conn_event((struct stack_conn *)e, ss->evs[i].events);
		} else if (e->kind == SK_WAKE) {
			drain_wake(ss);
			ev[n++] = (struct stack_event){.kind = STACK_EV_WAKE};
		} else if (!dgrams) {
			dgrams = true;
			ev[n++] = (struct stack_event){.kind = STACK_EV_DGRAMS};
		}
	}
	return (int)n;
}

static ssize_t
sock_recv(struct stack *s, struct stack_conn *c, void *buf, size_t cap)
{
	ssize_t n;

	(void)s;
	do
		n = read(c->ent.fd, buf, cap);
	while (n < 0 && errno == EINTR);
	return n >= 0 ? n : neg_errno();
}

static ssize_t
sock_sendv(struct stack *s, struct stack_conn *c, const struct iovec *iov, unsigned niov)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = niov};
	ssize_t n;

	(void)s;
	do
		n = sendmsg(c->ent.fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n >= 0 ? n : neg_errno();
}

static int
sock_want_writable(struct stack *s, struct stack_conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = &c->ent};

	if (c->want_write == on)
		return 0;
	if (epoll_ctl(to_sock(s)->ep, EPOLL_CTL_MOD, c->ent.fd, &ev) != 0)
		return neg_errno();
	c->want_write = on;
	return 0;
}

/* Point ss->msgs[0..n) at the caller's buffers d[0..n). */
static void
prepare_recv(struct sock_stack *ss, struct stack_dgram *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		ss->iov[i] = (struct iovec){.iov_base = d[i].data, .iov_len = d[i].cap};
		ss->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &d[i].peer.ss,
			.msg_namelen = sizeof(d[i].peer.ss),
			.msg_iov = &ss->iov[i],
			.msg_iovlen = 1,
		};
	}
}

/* Receive up to @p max (<= SK_BATCH) datagrams from UDP socket @p via. */
static int
recv_from(struct sock_stack *ss, uint16_t via, struct stack_dgram *d, unsigned max)
{
	int n;

	prepare_recv(ss, d, max);
	n = recvmmsg(ss->udp[via].fd, ss->msgs, max, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : neg_errno();
	for (int i = 0; i < n; i++) {
		d[i].bytes = d[i].data;
		d[i].len = ss->msgs[i].msg_len;
		d[i].truncated = (ss->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
		d[i].via = via;
		d[i].peer.len = ss->msgs[i].msg_hdr.msg_namelen;
	}
	return n;
}

static int
sock_recv_dgrams(struct stack *s, struct stack_dgram *d, unsigned max)
{
	struct sock_stack *ss = to_sock(s);
	unsigned got = 0;
	unsigned empty = 0; /* sockets in a row found with nothing waiting */

	while (got < max && ss->nudp > 0 && empty < ss->nudp) {
		unsigned want = max - got < SK_BATCH ? max - got : SK_BATCH;
		int n = recv_from(ss, (uint16_t)ss->udp_next, &d[got], want);

		if (n < 0)
			return got > 0 ? (int)got : n;
		got += (unsigned)n;
		if ((unsigned)n < want) { /* this socket is drained: go on to the next */
			ss->udp_next = (ss->udp_next + 1) % ss->nudp;
			empty = n == 0 ? empty + 1 : 1;
		} else {
			empty = 0;
		}
	}
	return (int)got;
}

/* Length of the run of datagrams from d[0] that go through the same socket (<= SK_BATCH). */
static unsigned
same_via_run(const struct stack_dgram_out *d, unsigned n)
{
	unsigned k = 1;

	while (k < n && k < SK_BATCH && d[k].via == d[0].via)
		k++;
	return k;
}

/* Send the run d[0..n) through one socket; @return how many the kernel took, or -errno. */
static int
send_run(struct sock_stack *ss, const struct stack_dgram_out *d, unsigned n)
{
	int r;

	if (d[0].via >= ss->nudp)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		ss->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = (void *)&d[i].peer->ss,
			.msg_namelen = d[i].peer->len,
			.msg_iov = (struct iovec *)d[i].iov,
			.msg_iovlen = d[i].niov,
		};
	}
	do
		r = sendmmsg(ss->udp[d[0].via].fd, ss->msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r >= 0 ? r : neg_errno();
}

/*
 * Datagrams the kernel refuses are dropped: sendmmsg stops at the first failure, so the
 * failing one is skipped and the rest of its run is tried again (not after -EAGAIN: no room).
 */
static int
sock_send_dgrams(struct stack *s, const struct stack_dgram_out *d, unsigned n)
{
	struct sock_stack *ss = to_sock(s);
	unsigned i = 0, sent = 0;
	int err = 0;

	while (i < n) {
		unsigned run = same_via_run(&d[i], n - i);
		int r = send_run(ss, &d[i], run);

		if (r >= (int)run) {
			sent += run;
			i += run;
			continue;
		}
		if (r > 0) {
			sent += (unsigned)r;
			i += (unsigned)r;
			continue; /* the next call reports the error of d[i] */
		}
		err = r < 0 ? r : -EIO;
		i += err == -EAGAIN ? run : 1;
	}
	return sent > 0 || n == 0 ? (int)sent : err;
}

static void
sock_wake(struct stack *s)
{
	uint64_t one = 1;

	/* -EAGAIN only when the counter is saturated: a wake-up is pending anyway */
	if (write(to_sock(s)->wake.fd, &one, sizeof(one)) < 0)
		return;
}

static void
sock_conn_set_user(struct stack_conn *c, void *user)
{
	c->user = user;
}

static void *
sock_conn_user(const struct stack_conn *c)
{
	return c->user;
}

static const struct stack_addr *
sock_conn_peer(const struct stack_conn *c)
{
	return &c->peer;
}

static int
sock_conn_id(const struct stack_conn *c)
{
	return c->ent.fd;
}

static const struct stack_ops sock_ops = {
	.name = "socket",
	.destroy = sock_destroy,
	.poll = sock_poll,
	.recv = sock_recv,
	.sendv = sock_sendv,
	.want_writable = sock_want_writable,
	.connect = sock_connect,
	.close = sock_close,
	.recv_dgrams = sock_recv_dgrams,
	.send_dgrams = sock_send_dgrams,
	.wake = sock_wake,
	.conn_set_user = sock_conn_set_user,
	.conn_user = sock_conn_user,
	.conn_peer = sock_conn_peer,
	.conn_id = sock_conn_id,
};
