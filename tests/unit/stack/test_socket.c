/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the socket backend (lib/stack/socket.c) and addresses (lib/stack/addr.c),
 * over loopback only, on random ports in 20000-60000. Every wait is bounded in time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack/stack.h"

#define WAIT_MS 3000
#define BIG	(8u << 20)

/* What a failed test (cmocka leaves it with a longjmp) leaves open, released in teardown. */
#define TRACK_MAX 16
static struct stack *tracked_stack[TRACK_MAX];
static int tracked_fd[TRACK_MAX];
static void *tracked_mem[TRACK_MAX];

static void
track_stack(struct stack *s)
{
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		if (tracked_stack[i] == NULL) {
			tracked_stack[i] = s;
			return;
		}
	}
	fail_msg("too many stacks");
}

static int
track_fd(int fd)
{
	assert_true(fd >= 0);
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		if (tracked_fd[i] < 0) {
			tracked_fd[i] = fd;
			return fd;
		}
	}
	fail_msg("too many fds");
	return -1;
}

static void *
track_malloc(size_t n)
{
	void *p = malloc(n);

	assert_non_null(p);
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		if (tracked_mem[i] == NULL) {
			tracked_mem[i] = p;
			return p;
		}
	}
	fail_msg("too many buffers");
	return NULL;
}

/* Close @p fd now (and forget it). */
static void
untrack_close(int fd)
{
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		if (tracked_fd[i] == fd)
			tracked_fd[i] = -1;
	}
	close(fd);
}

static int
setup(void **state)
{
	(void)state;
	for (unsigned i = 0; i < TRACK_MAX; i++)
		tracked_fd[i] = -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		stack_destroy(&tracked_stack[i]);
		if (tracked_fd[i] >= 0)
			close(tracked_fd[i]);
		tracked_fd[i] = -1;
		free(tracked_mem[i]);
		tracked_mem[i] = NULL;
	}
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static unsigned
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static uint16_t
random_port(void)
{
	return (uint16_t)(20000 + random() % 40001);
}

static struct stack_params
params_at(const char *ip, uint16_t tcp_port, uint16_t udp_port)
{
	struct stack_params p = {.nlisten = 1, .backlog = 64};

	assert_int_equal(stack_addr_parse(ip, 0, &p.listen[0].addr), 0);
	p.listen[0].tcp_port = tcp_port;
	p.listen[0].udp_port = udp_port;
	return p;
}

/* A tracked stack on @p ip with TCP and/or UDP on one random port (retries on EADDRINUSE). */
static struct stack *
open_stack(const char *ip, bool tcp, bool udp, uint16_t *port)
{
	for (int tries = 0; tries < 50; tries++) {
		struct stack_params p;
		struct stack *s;
		int err;

		*port = random_port();
		p = params_at(ip, tcp ? *port : 0, udp ? *port : 0);
		s = stack_socket_create(&p, &err);
		if (s != NULL) {
			track_stack(s);
			return s;
		}
		assert_int_equal(err, -EADDRINUSE);
	}
	fail_msg("no free port");
	return NULL;
}

/* Poll until an event of @p kind arrives (others are dropped); fails after WAIT_MS. */
static struct stack_event
wait_event(struct stack *s, enum stack_event_kind kind)
{
	int64_t end = now_ms() + WAIT_MS;
	struct stack_event ev[16];

	while (now_ms() < end) {
		int n = stack_poll(s, ev, 16, 50);

		assert_true(n >= 0 || n == -EINTR);
		for (int i = 0; i < n; i++) {
			if (ev[i].kind == kind)
				return ev[i];
		}
	}
	fail_msg("no event of kind %d within %d ms", kind, WAIT_MS);
	return ev[0];
}

static void
set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = WAIT_MS / 1000};

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

/* A tracked blocking TCP client connected to @p ip:@p port (receive buffer @p rcvbuf if set). */
static int
tcp_client(const char *ip, uint16_t port, int rcvbuf)
{
	struct stack_addr a;
	int fd;

	assert_int_equal(stack_addr_parse(ip, port, &a), 0);
	fd = track_fd(socket(a.ss.ss_family, SOCK_STREAM, 0));
	set_timeouts(fd);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(connect(fd, (struct sockaddr *)&a.ss, a.len), 0);
	return fd;
}

/* A tracked UDP socket bound to @p ip, port chosen by the kernel; its address in *a. */
static int
udp_client(const char *ip, struct stack_addr *a)
{
	int fd;

	assert_int_equal(stack_addr_parse(ip, 0, a), 0);
	fd = track_fd(socket(a->ss.ss_family, SOCK_DGRAM, 0));
	set_timeouts(fd);
	assert_int_equal(bind(fd, (struct sockaddr *)&a->ss, a->len), 0);
	a->len = sizeof(a->ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a->ss, &a->len), 0);
	return fd;
}

static void
assert_same_addr(const struct stack_addr *x, const struct stack_addr *y)
{
	char a[64], b[64];

	assert_string_equal(stack_addr_format(x, a, sizeof(a)), stack_addr_format(y, b, sizeof(b)));
}

static void
test_tcp_accept_recv_eof(void **state)
{
	unsigned fds = count_fds();
	struct stack_addr local;
	socklen_t len = sizeof(local.ss);
	char buf[64];
	uint16_t port;
	struct stack *s = open_stack("127.0.0.1", true, false, &port);
	int cl = tcp_client("127.0.0.1", port, 0);
	struct stack_event ev = wait_event(s, STACK_EV_ACCEPTED);
	int marker;

	(void)state;
	assert_non_null(ev.conn);
	assert_null(ev.user);
	assert_null(stack_conn_user(s, ev.conn));
	assert_true(stack_conn_id(s, ev.conn) >= 0);
	assert_int_equal(getsockname(cl, (struct sockaddr *)&local.ss, &len), 0);
	local.len = len;
	assert_same_addr(stack_conn_peer(s, ev.conn), &local);
	stack_conn_set_user(s, ev.conn, &marker);

	assert_int_equal(send(cl, "hello", 5, 0), 5);
	ev = wait_event(s, STACK_EV_READABLE);
	assert_ptr_equal(ev.user, &marker);
	assert_int_equal(stack_recv(s, ev.conn, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(stack_recv(s, ev.conn, buf, sizeof(buf)), -EAGAIN);

	/* a reply reaches the client */
	struct iovec iov[2] = {{"wor", 3}, {"ld", 2}};
	assert_int_equal(stack_sendv(s, ev.conn, iov, 2), 5);
	assert_int_equal(recv(cl, buf, sizeof(buf), MSG_WAITALL), 5);
	assert_memory_equal(buf, "world", 5);

	assert_int_equal(shutdown(cl, SHUT_WR), 0);
	ev = wait_event(s, STACK_EV_READABLE);
	assert_int_equal(stack_recv(s, ev.conn, buf, sizeof(buf)), 0);
	stack_close(s, ev.conn);
	untrack_close(cl);
	teardown(NULL);
	assert_int_equal(count_fds(), fds);
}

static void
fill_pattern(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i % 251);
}

/* Offer big[off..BIG) as two iovecs. */
static ssize_t
send_rest(struct stack *s, struct stack_conn *c, const uint8_t *big, size_t off)
{
	size_t half = (BIG - off) / 2;
	struct iovec iov[2] = {{(void *)(big + off), half},
			       {(void *)(big + off + half), BIG - off - half}};

	return stack_sendv(s, c, iov, 2);
}

/* Read what the client has now (non-blocking), checking the pattern from offset @p got. */
static size_t
client_drain(int cl, uint8_t *buf, size_t cap, size_t got)
{
	ssize_t r;

	while ((r = recv(cl, buf, cap, MSG_DONTWAIT)) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != (uint8_t)((got + (size_t)i) % 251))
				fail_msg("byte %zu wrong", got + (size_t)i);
		}
		got += (size_t)r;
	}
	assert_true(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	return got;
}

static void
test_tcp_short_write_then_writable(void **state)
{
	uint8_t *big = track_malloc(BIG);
	uint8_t *rbuf = track_malloc(1 << 16);
	uint16_t port;
	struct stack *s = open_stack("127.0.0.1", true, false, &port);
	int cl = tcp_client("127.0.0.1", port, 65536);
	struct stack_conn *c = wait_event(s, STACK_EV_ACCEPTED).conn;
	struct stack_event ev[8];
	size_t off = 0, got = 0;
	unsigned writable = 0;
	int64_t end;
	ssize_t r;

	(void)state;
	fill_pattern(big, BIG);
	r = send_rest(s, c, big, 0);
	assert_true(r > 0 && (size_t)r < BIG);
	off = (size_t)r;
	for (int i = 0; i < 100 && (r = send_rest(s, c, big, off)) > 0; i++)
		off += (size_t)r;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(stack_want_writable(s, c, true), 0);
	/* nothing drained yet: no WRITABLE */
	for (int i = 0, n = stack_poll(s, ev, 8, 0); i < n; i++)
		assert_int_not_equal(ev[i].kind, STACK_EV_WRITABLE);

	end = now_ms() + 20000;
	while (got < BIG && now_ms() < end) {
		int n;

		got = client_drain(cl, rbuf, 1 << 16, got);
		n = stack_poll(s, ev, 8, 10);
		for (int i = 0; i < n; i++) {
			if (ev[i].kind != STACK_EV_WRITABLE || off == BIG)
				continue;
			assert_ptr_equal(ev[i].conn, c);
			writable++;
			r = send_rest(s, c, big, off);
			assert_true(r > 0 || r == -EAGAIN);
			off += r > 0 ? (size_t)r : 0;
			if (off == BIG)
				assert_int_equal(stack_want_writable(s, c, false), 0);
		}
	}
	assert_int_equal(got, BIG);
	assert_true(writable > 0);
	/* turned off: no more WRITABLE even though there is room now */
	for (int i = 0, n = stack_poll(s, ev, 8, 20); i < n; i++)
		assert_int_not_equal(ev[i].kind, STACK_EV_WRITABLE);
}

static void
test_tcp_send_to_closed_peer(void **state)
{
	uint16_t port;
	struct stack *s = open_stack("127.0.0.1", true, false, &port);
	int cl = tcp_client("127.0.0.1", port, 0);
	struct stack_conn *c = wait_event(s, STACK_EV_ACCEPTED).conn;
	struct iovec iov = {"x", 1};
	ssize_t r = 1;

	(void)state;
	untrack_close(cl);
	/* the first write may be taken (the peer answers it with a reset); then it fails */
	for (int i = 0; i < 200 && r > 0; i++) {
		r = stack_sendv(s, c, &iov, 1);
		usleep(5000);
	}
	assert_true(r == -EPIPE || r == -ECONNRESET);
}

static void
test_poll_respects_max(void **state)
{
	uint16_t port;
	struct stack *s = open_stack("127.0.0.1", true, false, &port);
	struct stack_event ev[16]; /* room for more than asked: an overrun is seen, not a crash */
	unsigned accepted = 0, wakes = 0;
	int64_t end = now_ms() + WAIT_MS;

	(void)state;
	for (int i = 0; i < 5; i++)
		tcp_client("127.0.0.1", port, 0);
	stack_wake(s);
	usleep(20000);
	while ((accepted < 5 || wakes < 1) && now_ms() < end) {
		int n = stack_poll(s, ev, 1, 50);

		assert_true(n >= 0 && n <= 1);
		for (int i = 0; i < n; i++) {
			accepted += ev[i].kind == STACK_EV_ACCEPTED;
			wakes += ev[i].kind == STACK_EV_WAKE;
		}
	}
	assert_int_equal(accepted, 5);
	assert_int_equal(wakes, 1);
	assert_int_equal(stack_poll(s, ev, 0, 0), -EINVAL);
}

static void
test_reuseport_two_stacks(void **state)
{
	uint16_t port;
	struct stack *a = open_stack("127.0.0.1", true, false, &port);
	struct stack_params p = params_at("127.0.0.1", port, 0);
	struct stack_event ev[16];
	unsigned na = 0, nb = 0;
	int64_t end = now_ms() + WAIT_MS;
	struct stack *b;
	int err;

	(void)state;
	b = stack_socket_create(&p, &err);
	assert_non_null(b);
	track_stack(b);
	for (int i = 0; i < 12; i++)
		tcp_client("127.0.0.1", port, 0);
	while (na + nb < 12 && now_ms() < end) {
		int n = stack_poll(a, ev, 16, 5);

		for (int i = 0; i < n; i++)
			na += ev[i].kind == STACK_EV_ACCEPTED;
		n = stack_poll(b, ev, 16, 5);
		for (int i = 0; i < n; i++)
			nb += ev[i].kind == STACK_EV_ACCEPTED;
	}
	assert_int_equal(na + nb, 12);
	/* the kernel hashes each connection to one listener: all 12 on one is 1 in 2048 */
	assert_true(na > 0 && nb > 0);
}

/* Collect @p want datagrams (bounded in time). */
static unsigned
collect_dgrams(struct stack *s, struct stack_dgram *d, unsigned cap, unsigned want)
{
	int64_t end = now_ms() + WAIT_MS;
	unsigned got = 0;

	wait_event(s, STACK_EV_DGRAMS);
	while (got < want && now_ms() < end) {
		int n = stack_recv_dgrams(s, &d[got], cap - got);

		assert_true(n >= 0);
		got += (unsigned)n;
		if (n == 0)
			usleep(1000);
	}
	return got;
}

static void
test_udp_batch_and_reply(void **state)
{
	static const char *const ips[2] = {"127.0.0.1", "127.0.0.2"};
	static char bufs[16][256];
	struct stack_dgram d[16];
	struct stack_dgram_out out[16];
	struct iovec iov[16][2];
	struct stack_addr me, to[2];
	uint16_t port = 0;
	struct stack *s = NULL;
	int cl = udp_client("127.0.0.1", &me);
	char msg[64], reply[300];

	(void)state;
	/* two UDP sockets on one port: via tells them apart */
	for (int tries = 0; tries < 50 && s == NULL; tries++) {
		struct stack_params p = params_at(ips[0], 0, port = random_port());
		int err;

		assert_int_equal(stack_addr_parse(ips[1], 0, &p.listen[1].addr), 0);
		p.listen[1].udp_port = port;
		p.nlisten = 2;
		p.udp_rcvbuf = 1 << 20;
		s = stack_socket_create(&p, &err);
		if (s == NULL)
			assert_int_equal(err, -EADDRINUSE);
	}
	assert_non_null(s);
	track_stack(s);
	for (int i = 0; i < 2; i++)
		assert_int_equal(stack_addr_parse(ips[i], port, &to[i]), 0);
	for (int i = 0; i < 6; i++) {
		int len = snprintf(msg, sizeof(msg), "dgram %d to %d%.*s", i, i % 2, i * 5,
				   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		assert_int_equal(sendto(cl, msg, (size_t)len, 0, (struct sockaddr *)&to[i % 2].ss,
					to[i % 2].len),
				 len);
	}
	for (int i = 0; i < 16; i++)
		d[i] = (struct stack_dgram){.data = bufs[i], .cap = sizeof(bufs[i])};
	assert_int_equal(collect_dgrams(s, d, 16, 6), 6);
	assert_int_equal(stack_recv_dgrams(s, d, 16), 0);
	for (int i = 0; i < 6; i++) {
		int k, dst;

		assert_false(d[i].truncated);
		assert_same_addr(&d[i].peer, &me);
		assert_int_equal(sscanf(bufs[i], "dgram %d to %d", &k, &dst), 2);
		assert_int_equal(d[i].len, strlen("dgram 0 to 0") + (unsigned)k * 5);
		assert_int_equal(d[i].via, dst);
		iov[i][0] = (struct iovec){"re:", 3};
		iov[i][1] = (struct iovec){d[i].data, d[i].len};
		out[i] = (struct stack_dgram_out){iov[i], 2, d[i].via, &d[i].peer};
	}
	assert_int_equal(stack_send_dgrams(s, out, 6), 6);
	for (int i = 0; i < 6; i++) {
		struct stack_addr from = {.len = sizeof(from.ss)};
		ssize_t r = recvfrom(cl, reply, sizeof(reply), 0, (struct sockaddr *)&from.ss,
				     &from.len);
		int k, dst;

		assert_true(r > 3);
		assert_memory_equal(reply, "re:", 3);
		reply[r] = '\0';
		assert_int_equal(sscanf(reply + 3, "dgram %d to %d", &k, &dst), 2);
		assert_int_equal(r, 3 + (ssize_t)strlen("dgram 0 to 0") + k * 5);
		/* the reply comes from the address the request went to */
		assert_same_addr(&from, &to[dst]);
	}
	/* a bad via is refused */
	out[0].via = 7;
	assert_int_equal(stack_send_dgrams(s, out, 1), -EINVAL);
}

static void
test_udp_truncated(void **state)
{
	char small[10], ok[64], big[100];
	struct stack_dgram d[2] = {{.data = small, .cap = sizeof(small)},
				   {.data = ok, .cap = sizeof(ok)}};
	struct stack_addr me, to;
	uint16_t port;
	struct stack *s = open_stack("127.0.0.1", false, true, &port);
	int cl = udp_client("127.0.0.1", &me);

	(void)state;
	memset(big, 'b', sizeof(big));
	assert_int_equal(stack_addr_parse("127.0.0.1", port, &to), 0);
	assert_int_equal(sendto(cl, big, sizeof(big), 0, (struct sockaddr *)&to.ss, to.len), 100);
	assert_int_equal(sendto(cl, "tiny", 4, 0, (struct sockaddr *)&to.ss, to.len), 4);
	assert_int_equal(collect_dgrams(s, d, 2, 2), 2);
	assert_true(d[0].truncated);
	assert_int_equal(d[0].len, sizeof(small));
	assert_memory_equal(small, big, sizeof(small));
	assert_false(d[1].truncated);
	assert_int_equal(d[1].len, 4);
	assert_memory_equal(ok, "tiny", 4);
}

struct waiter {
	struct stack *s;
	int n;
	struct stack_event ev[4];
};

static void *
poll_forever(void *arg)
{
	struct waiter *w = arg;

	w->n = stack_poll(w->s, w->ev, 4, -1);
	return NULL;
}

static void
test_wake_from_thread(void **state)
{
	struct stack_params p = {.nlisten = 0};
	struct waiter w = {0};
	struct stack_event ev[4];
	struct timespec deadline;
	pthread_t t;
	int err;

	(void)state;
	w.s = stack_socket_create(&p, &err);
	assert_non_null(w.s);
	/* wake-ups before a poll coalesce into one event */
	stack_wake(w.s);
	stack_wake(w.s);
	assert_int_equal(stack_poll(w.s, ev, 4, 0), 1);
	assert_int_equal(ev[0].kind, STACK_EV_WAKE);
	assert_null(ev[0].conn);
	assert_int_equal(stack_poll(w.s, ev, 4, 0), 0);

	assert_int_equal(pthread_create(&t, NULL, poll_forever, &w), 0);
	usleep(50000);
	stack_wake(w.s);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_MS / 1000;
	if (pthread_timedjoin_np(t, NULL, &deadline) != 0) {
		/* the poller is still blocked: leave the stack to it and fail */
		pthread_detach(t);
		fail_msg("stack_wake did not wake a blocked poll");
	}
	track_stack(w.s);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.ev[0].kind, STACK_EV_WAKE);
}

static bool
have_ipv6_loopback(void)
{
	struct stack_addr a;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	stack_addr_parse("::1", 0, &a);
	ok = bind(fd, (struct sockaddr *)&a.ss, a.len) == 0;
	close(fd);
	return ok;
}

static void
test_ipv6_loopback(void **state)
{
	struct stack_addr me, to;
	char buf[64], text[64];
	struct stack_dgram d = {.data = buf, .cap = sizeof(buf)};
	uint16_t port;
	struct stack *s;
	struct stack_event ev;
	int cl, ucl;

	(void)state;
	if (!have_ipv6_loopback()) {
		print_message("  no ::1 here: skipped\n");
		skip();
	}
	s = open_stack("::1", true, true, &port);
	cl = tcp_client("::1", port, 0);
	ev = wait_event(s, STACK_EV_ACCEPTED);
	stack_addr_format(stack_conn_peer(s, ev.conn), text, sizeof(text));
	assert_memory_equal(text, "[::1]:", 6);
	assert_int_equal(send(cl, "v6", 2, 0), 2);
	ev = wait_event(s, STACK_EV_READABLE);
	assert_int_equal(stack_recv(s, ev.conn, buf, sizeof(buf)), 2);

	ucl = udp_client("::1", &me);
	assert_int_equal(stack_addr_parse("::1", port, &to), 0);
	assert_int_equal(sendto(ucl, "u6", 2, 0, (struct sockaddr *)&to.ss, to.len), 2);
	assert_int_equal(collect_dgrams(s, &d, 1, 1), 1);
	assert_int_equal(d.len, 2);
	assert_same_addr(&d.peer, &me);
}

/* Connecting to @p ip:@p port is refused. */
static void
assert_refused(const char *ip, uint16_t port)
{
	struct stack_addr a;
	int fd;

	assert_int_equal(stack_addr_parse(ip, port, &a), 0);
	fd = track_fd(socket(a.ss.ss_family, SOCK_STREAM, 0));
	set_timeouts(fd);
	assert_int_equal(connect(fd, (struct sockaddr *)&a.ss, a.len), -1);
	assert_int_equal(errno, ECONNREFUSED);
	untrack_close(fd);
}

/* 0.0.0.0 and :: on one port in one stack (IPV6_V6ONLY); only loopback is ever sent to. */
static void
test_dual_wildcard(void **state)
{
	struct stack *s = NULL;
	uint16_t port = 0;
	int err = 0;

	(void)state;
	if (!have_ipv6_loopback())
		skip();
	/* "::" alone takes no IPv4 connections */
	s = open_stack("::", true, false, &port);
	tcp_client("::1", port, 0);
	wait_event(s, STACK_EV_ACCEPTED);
	assert_refused("127.0.0.1", port);
	teardown(NULL);
	s = NULL;
	for (int tries = 0; tries < 50 && s == NULL; tries++) {
		struct stack_params p = params_at("0.0.0.0", port = random_port(), 0);

		assert_int_equal(stack_addr_parse("::", 0, &p.listen[1].addr), 0);
		p.listen[1].tcp_port = port;
		p.nlisten = 2;
		s = stack_socket_create(&p, &err);
		if (s == NULL)
			assert_int_equal(err, -EADDRINUSE);
	}
	assert_non_null(s);
	track_stack(s);
	tcp_client("127.0.0.1", port, 0);
	wait_event(s, STACK_EV_ACCEPTED);
	tcp_client("::1", port, 0);
	wait_event(s, STACK_EV_ACCEPTED);
}

static void
test_addr_round_trip(void **state)
{
	static const char *const good[] = {"1.2.3.4", "0.0.0.0",   "255.255.255.255",	    "::1",
					   "::",      "fe80::1:2", "2001:db8::ff00:42:8329"};
	static const char *const bad[] = {"",	   "1.2.3",  "256.1.1.1", "abc", "1.2.3.4:80",
					  "[::1]", "::1%lo", "1.2.3.4 ",  ":::", "localhost"};
	struct stack_addr a;
	char buf[80], want[80], tiny[4];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		bool v6 = strchr(good[i], ':') != NULL;

		assert_int_equal(stack_addr_parse(good[i], 11211, &a), 0);
		assert_int_equal(a.ss.ss_family, v6 ? AF_INET6 : AF_INET);
		snprintf(want, sizeof(want), v6 ? "[%s]:11211" : "%s:11211", good[i]);
		assert_string_equal(stack_addr_format(&a, buf, sizeof(buf)), want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(stack_addr_parse(bad[i], 1, &a), -EINVAL);
	assert_int_equal(stack_addr_parse(NULL, 1, &a), -EINVAL);
	/* a short buffer is cut, still terminated */
	assert_int_equal(stack_addr_parse("10.0.0.1", 80, &a), 0);
	assert_string_equal(stack_addr_format(&a, tiny, sizeof(tiny)), "10.");
	memset(&a, 0, sizeof(a));
	assert_string_equal(stack_addr_format(&a, buf, sizeof(buf)), "?");
}

static void
test_create_port_taken(void **state)
{
	struct stack_params p;
	struct stack_addr a;
	unsigned fds;
	int fd = -1, err;

	(void)state;
	for (int tries = 0; tries < 50 && fd < 0; tries++) {
		assert_int_equal(stack_addr_parse("127.0.0.1", random_port(), &a), 0);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fd >= 0);
		if (bind(fd, (struct sockaddr *)&a.ss, a.len) != 0 || listen(fd, 4) != 0) {
			close(fd);
			fd = -1;
		}
	}
	track_fd(fd);
	fds = count_fds();
	p = params_at("127.0.0.1", ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 0);
	assert_null(stack_socket_create(&p, &err));
	assert_int_equal(err, -EADDRINUSE);
	assert_int_equal(count_fds(), fds);

	p.nlisten = STACK_LISTEN_MAX + 1;
	assert_null(stack_socket_create(&p, &err));
	assert_int_equal(err, -EINVAL);
	p = params_at("127.0.0.1", 1, 0);
	p.listen[0].addr.ss.ss_family = AF_UNIX;
	assert_null(stack_socket_create(&p, &err));
	assert_int_equal(err, -EAFNOSUPPORT);
	assert_int_equal(count_fds(), fds);
}

/*
 * An active open from one stack to another's listener: WRITABLE once open, bytes both ways
 * (the user given to stack_connect() comes back with every event); then an open to a port
 * nobody listens on: READABLE, and stack_recv() says -ECONNREFUSED.
 */
static void
test_tcp_connect(void **state)
{
	unsigned fds = count_fds();
	uint16_t port, dead;
	struct stack *srv = open_stack("127.0.0.1", true, false, &port);
	struct stack *cli = open_stack("127.0.0.1", false, true, &dead);
	struct stack_conn *c = NULL;
	struct stack_event ev, acc;
	struct stack_addr to;
	char buf[64];
	int marker;

	(void)state;
	assert_int_equal(stack_addr_parse("127.0.0.1", port, &to), 0);
	assert_int_equal(stack_connect(cli, &to, &marker, &c), 0);
	assert_non_null(c);
	ev = wait_event(cli, STACK_EV_WRITABLE);
	assert_ptr_equal(ev.conn, c);
	assert_ptr_equal(ev.user, &marker);
	assert_same_addr(stack_conn_peer(cli, c), &to);
	assert_int_equal(stack_want_writable(cli, c, false), 0);
	acc = wait_event(srv, STACK_EV_ACCEPTED);

	struct iovec out = {"ping", 4};
	assert_int_equal(stack_sendv(cli, c, &out, 1), 4);
	ev = wait_event(srv, STACK_EV_READABLE);
	assert_int_equal(stack_recv(srv, ev.conn, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	out = (struct iovec){"pong", 4};
	assert_int_equal(stack_sendv(srv, acc.conn, &out, 1), 4);
	ev = wait_event(cli, STACK_EV_READABLE);
	assert_ptr_equal(ev.user, &marker);
	assert_int_equal(stack_recv(cli, c, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	stack_close(cli, c);
	stack_close(srv, acc.conn);

	/* Refused: the UDP-only stack's port has no TCP listener. */
	assert_int_equal(stack_addr_parse("127.0.0.1", dead, &to), 0);
	assert_int_equal(stack_connect(cli, &to, &marker, &c), 0);
	ev = wait_event(cli, STACK_EV_READABLE);
	assert_ptr_equal(ev.conn, c);
	assert_int_equal(stack_recv(cli, c, buf, sizeof(buf)), -ECONNREFUSED);
	stack_close(cli, c);

	/* An address family no socket can reach. */
	to.ss.ss_family = AF_UNIX;
	assert_int_equal(stack_connect(cli, &to, NULL, &c), -EAFNOSUPPORT);
	teardown(NULL);
	assert_int_equal(count_fds(), fds);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tcp_accept_recv_eof),	 T(test_tcp_short_write_then_writable),
		T(test_tcp_send_to_closed_peer), T(test_poll_respects_max),
		T(test_reuseport_two_stacks),	 T(test_udp_batch_and_reply),
		T(test_udp_truncated),		 T(test_wake_from_thread),
		T(test_ipv6_loopback),		 T(test_dual_wildcard),
		T(test_addr_round_trip),	 T(test_create_port_taken),
		T(test_tcp_connect),
	};

	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
