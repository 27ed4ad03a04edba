/* SPDX-License-Identifier: BSD-3-Clause */
/* Kernel socket helpers shared by the tcp and udp transports (sock.h). */
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run.h"

/* The receive buffer a UDP socket asks for (forced as root, else capped at rmem_max). */
#define UDP_RCVBUF (8 * 1024 * 1024)

/* Most a connect's wait sleeps before it looks at the run again. */
#define CONNECT_SLICE_MS 20

/*
 * Wait for the TCP connect of non-blocking @p fd: at most the run's patience (a host that drops
 * SYNs would hold it minutes), given up when the run stops or mcgen is interrupted.
 * @return 0; -ETIMEDOUT, -EINTR (stopped, interrupted) or the connect's negative errno.
 */
static int
connect_wait(const struct mcgen_run *run, int fd)
{
	uint64_t end = mcgen_now_ns() + mcgen_run_patience_ns(run);
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int so_err = 0;

	for (;;) {
		if (mcgen_run_given_up(run))
			return -EINTR;
		if (mcgen_now_ns() >= end)
			return -ETIMEDOUT;
		int n = poll(&p, 1, CONNECT_SLICE_MS);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &len) < 0)
		return -errno;
	return -so_err;
}

int
mcgen_sock_open(const struct mcgen_run *run, int type, char *err, size_t errlen)
{
	int fd, one = 1, rc;

	fd = socket(run->addr.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/*
	 * UDP: a reply of many datagrams (a multiget of large values) lands at once; the default
	 * buffer (about 208 KiB) drops the rest of one larger than it. Root gets the size asked
	 * (SO_RCVBUFFORCE); anyone else what net.core.rmem_max allows.
	 */
	if (type == SOCK_DGRAM &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){UDP_RCVBUF}, sizeof(int)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){UDP_RCVBUF}, sizeof(int));
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		close(fd);
		return rc;
	}
	rc = connect(fd, (const struct sockaddr *)&run->addr, run->addrlen) < 0 ? -errno : 0;
	if (rc == -EINPROGRESS)
		rc = connect_wait(run, fd);
	if (rc < 0) {
		snprintf(err, errlen, "connect to %s: %s", run->o->server,
			 rc == -ETIMEDOUT ? "no answer to the connection request"
			 : rc == -EINTR	  ? mcgen_run_given_up_why()
					  : strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

int
mcgen_sock_wait(int epfd, struct epoll_event *ev, int max, uint64_t now, uint64_t until)
{
	uint64_t ns = until > now ? until - now : 0;
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
	int n = epoll_pwait2(epfd, ev, max, &ts, NULL);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

uint64_t
mcgen_sock_until(const struct mcgen_thread *t, uint64_t now, bool room)
{
	const struct mcgen_run *run = t->run;
	uint64_t until = now + MCGEN_SCAN_NS, wake;

	if (now >= run->start_ns) {
		uint64_t next_sec = now + 1000000000ull - (now - run->start_ns) % 1000000000ull;

		if (next_sec < until)
			until = next_sec;
	} else if (run->start_ns < until) {
		until = run->start_ns;
	}
	if (room && mcgen_engine_issuing(t, now)) {
		wake = mcgen_engine_wake(t, now);
		if (wake < until)
			until = wake;
	}
	return until;
}
