/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STACK_STACK_H
#define NC_STACK_STACK_H

/*
 * The I/O backends behind one interface. A worker owns one `struct stack` and drives it from
 * its loop: stack_poll() reports what happened (a stream connection accepted, bytes to read,
 * room to write, datagrams waiting, a wake-up from another worker); the worker then pulls
 * stream bytes with stack_recv() (or borrows them where the backend can lend its buffers:
 * stack_recv_lend()), pushes replies with stack_sendv(), and moves datagrams in batches with
 * stack_recv_dgrams() / stack_send_dgrams().
 *
 * Backends: "socket" (kernel sockets and epoll, SO_REUSEPORT listeners per worker;
 * stack_socket_create) and "dpdk" (one NIC queue pair and the project's own L2-L4 in lib/net;
 * stack_dpdk_create; its stream connections are lib/tcp's). Both implement struct
 * stack_ops; the worker sees only the functions below.
 *
 * Errors: negative errno values everywhere (-EAGAIN: nothing now, try after the next poll).
 *
 * Threads: a stack and its connections belong to one worker thread. Only stack_wake() may be
 * called from another thread.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tcp/tcp.h"

/** A peer or local address (IPv4 or IPv6). */
struct stack_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/** One address to listen on; port 0 = that transport is off. */
struct stack_listen {
	struct stack_addr addr; /* the port inside is ignored: tcp_port/udp_port apply */
	uint16_t tcp_port;
	uint16_t udp_port;
};

/** Most listen addresses one stack serves (memcached's -l list). */
#define STACK_LISTEN_MAX 8

struct stack_params {
	unsigned worker_id;			/* for names and logs */
	struct stack_listen listen[STACK_LISTEN_MAX];
	unsigned nlisten;
	int backlog;				/* listen() backlog (memcached -b); <= 0: 1024 */
	uint32_t udp_rcvbuf;			/* SO_RCVBUF for UDP sockets, bytes; 0 = default */
	const char *unix_path;			/* socket backend: also listen here (AF_UNIX), or NULL */
	unsigned unix_mode;			/* its permissions (memcached -a) */
	int socket_id;				/* dpdk: NUMA socket of the queue's and TCP's
						 * memory (the worker lcore's), or SOCKET_ID_ANY */
	struct tcp_params tcp;			/* dpdk: limits of the worker's TCP (zeros: defaults;
						 * addresses, port and io are the backend's) */
};

struct stack;

/** A stream connection, owned by the stack; the worker attaches its own state as `user`. */
struct stack_conn;

enum stack_event_kind {
	STACK_EV_ACCEPTED, /* new stream connection .conn (user is NULL until set) */
	STACK_EV_READABLE, /* .conn has bytes to read, or reached EOF/error (stack_recv tells) */
	STACK_EV_WRITABLE, /* .conn can take output again (only while stack_want_writable is on) */
	STACK_EV_DGRAMS,   /* datagrams are waiting: call stack_recv_dgrams until it returns 0 */
	STACK_EV_WAKE,	   /* another thread called stack_wake() */
};

struct stack_event {
	enum stack_event_kind kind;
	struct stack_conn *conn; /* ACCEPTED, READABLE, WRITABLE; else NULL */
	void *user;		 /* stack_conn_user(conn) when conn is set */
};

/**
 * A received datagram: the caller provides data/cap; the stack fills bytes, len, peer and
 * via. The bytes are in the caller's buffer, or (a backend that can lend its own memory, as
 * the dpdk one does with its mbufs) in the stack's memory, valid until the next
 * stack_recv_dgrams() or stack_poll() call: read them through `bytes`.
 */
struct stack_dgram {
	void *data;
	uint32_t cap;
	const uint8_t *bytes;	/* the datagram: data, or lent by the stack */
	uint32_t len;		/* bytes received; a datagram longer than cap is truncated */
	bool truncated;		/* it was longer than cap */
	uint16_t via;		/* which local UDP socket received it: reply through it */
	struct stack_addr peer;
};

/** A datagram to send: gathered from iov, to peer, through local socket via. */
struct stack_dgram_out {
	const struct iovec *iov;
	unsigned niov;
	uint16_t via;
	const struct stack_addr *peer;
};

/** Received stream bytes lent by the stack (see stack_recv_lend()). */
struct stack_lent {
	const uint8_t *data;
	uint32_t len;
	void *ref; /* give it back with stack_lent_release() */
};

/** The operations every backend implements (see the wrappers below for their contracts). */
struct stack_ops {
	const char *name;
	void (*destroy)(struct stack *s);
	int (*poll)(struct stack *s, struct stack_event *ev, unsigned max, int timeout_ms);
	ssize_t (*recv)(struct stack *s, struct stack_conn *c, void *buf, size_t cap);
	/* NULL: the backend does not lend (stack_recv_lend() says -EOPNOTSUPP) */
	int (*recv_lend)(struct stack *s, struct stack_conn *c, struct stack_lent *out,
			 unsigned max);
	void (*lent_release)(struct stack *s, void *ref);
	ssize_t (*sendv)(struct stack *s, struct stack_conn *c, const struct iovec *iov,
			 unsigned niov);
	int (*want_writable)(struct stack *s, struct stack_conn *c, bool on);
	int (*connect)(struct stack *s, const struct stack_addr *to, void *user,
		       struct stack_conn **out);
	void (*close)(struct stack *s, struct stack_conn *c);
	int (*recv_dgrams)(struct stack *s, struct stack_dgram *d, unsigned max);
	int (*send_dgrams)(struct stack *s, const struct stack_dgram_out *d, unsigned n);
	/* NULL: no datagram written in place (stack_dgram_buf() says NULL) */
	void *(*dgram_buf)(struct stack *s, uint32_t *room);
	int (*dgram_buf_send)(struct stack *s, uint32_t len, uint16_t via,
			      const struct stack_addr *to);
	void (*flush)(struct stack *s); /* NULL: sends are immediate */
	void (*wake)(struct stack *s);
	void (*conn_set_user)(struct stack_conn *c, void *user);
	void *(*conn_user)(const struct stack_conn *c);
	const struct stack_addr *(*conn_peer)(const struct stack_conn *c);
	int (*conn_id)(const struct stack_conn *c);
};

/** Every backend's handle starts with this. */
struct stack {
	const struct stack_ops *ops;
};

/*
 * The dpdk backend's ops, and its two calls of a UDP reply written in place: the inline
 * wrappers below call those directly on that backend instead of through the table, so that
 * LTO can inline them into the reply path (every datagram of the fast path makes both).
 */
extern const struct stack_ops stack_dpdk_ops;

/** stack_dgram_buf() on the dpdk backend @p s (its ops are stack_dpdk_ops). */
void *stack_dpdk_dgram_buf(struct stack *s, uint32_t *room);

/** stack_dgram_buf_send() on the dpdk backend @p s (its ops are stack_dpdk_ops). */
int stack_dpdk_dgram_buf_send(struct stack *s, uint32_t len, uint16_t via,
			      const struct stack_addr *to);

/**
 * [setup] Create the socket backend for one worker: for every listen entry a TCP listener
 * (SO_REUSEPORT, non-blocking, TCP_NODELAY on accepted connections) if tcp_port != 0 and a
 * UDP socket (SO_REUSEPORT) if udp_port != 0, an eventfd for stack_wake(), all in one epoll
 * set. Every worker creates its own; the kernel spreads connections and datagrams over them.
 * @return the stack, or NULL with *err = negative errno (-EADDRINUSE, -EACCES, -EINVAL, ...).
 */
struct stack *stack_socket_create(const struct stack_params *p, int *err);

struct net_iface;
struct net_counters;

/**
 * [setup] Create the DPDK backend for one worker: the packet path (lib/net/queue.h) of queue
 * pair @p queue of the started port @p ifc, which must outlive the stack. UDP datagrams to
 * ifc->udp_port come out of stack_recv_dgrams() with their sender as an AF_INET peer (via 0);
 * replies given to stack_send_dgrams() go out in one TX burst at stack_flush() or the next
 * stack_poll(). When ifc->tcp_port is set, the queue's own TCP context (lib/tcp, limits from
 * p->tcp) serves it: connections accepted there are the stack's stream connections; else
 * the connection operations fail with -ENOTCONN (and lib/net answers SYNs with RST). The
 * stack, its queue state and its TCP context are allocated on NUMA socket p->socket_id (the
 * mbufs come from the port's pool, on the NIC's socket).
 * @return the stack, or NULL with *err = negative errno (-ENOMEM, -EINVAL).
 */
struct stack *stack_dpdk_create(const struct stack_params *p, const struct net_iface *ifc,
				uint16_t queue, int *err);

/** The packet-path counters of a DPDK stack (any thread); NULL for other backends. */
const struct net_counters *stack_dpdk_counters(const struct stack *s);

/**
 * The TCP context of a DPDK stack (its counters may be read from any thread; everything else
 * only from the stack's worker); NULL for other backends or without a TCP port.
 */
struct tcp_ctx *stack_dpdk_tcp(const struct stack *s);

/** [setup] Close everything (connections included) and set *s to NULL; NULL allowed. */
static inline void
stack_destroy(struct stack **s)
{
	if (s != NULL && *s != NULL) {
		(*s)->ops->destroy(*s);
		*s = NULL;
	}
}

/**
 * Wait up to @p timeout_ms (0: do not wait; -1: forever) for events and report up to @p max
 * (>= 1). A connection with more bytes than one stack_recv() takes stays readable
 * (level-triggered), and whatever did not fit in @p max is reported by the next call.
 * One poll names a connection in at most one event: WRITABLE when it is wanted and there is
 * room (its input waits for the next poll), else READABLE. Closing a connection while
 * handling a batch invalidates the later events of that batch naming it, so a worker that
 * closes connections other than the event's own must skip them.
 * @return the number of events (0 on timeout); negative errno on failure (-EINTR included;
 *         -EINVAL when max is 0).
 */
static inline int
stack_poll(struct stack *s, struct stack_event *ev, unsigned max, int timeout_ms)
{
	return s->ops->poll(s, ev, max, timeout_ms);
}

/**
 * Read up to @p cap bytes from a stream connection.
 * @return bytes read (> 0); 0 the peer closed its side; -EAGAIN nothing now; other negative
 *         errno (-ECONNRESET, ...) the connection failed: close it.
 */
static inline ssize_t
stack_recv(struct stack *s, struct stack_conn *c, void *buf, size_t cap)
{
	return s->ops->recv(s, c, buf, cap);
}

/**
 * Borrow up to @p max runs of received bytes in the stack's own buffers instead of copying
 * them (the dpdk backend lends TCP segments in their mbufs). Each stays valid, and counts in
 * the stack's memory, until stack_lent_release(); release them as soon as they are consumed.
 * Mixing with stack_recv() is allowed: bytes come out in order whichever call takes them.
 * @return runs lent (> 0); -EOPNOTSUPP the backend does not lend, or -ENOBUFS not now (read
 *         with stack_recv()); otherwise as stack_recv() when nothing is waiting (0 end of
 *         stream, -EAGAIN, or the connection's error).
 */
static inline int
stack_recv_lend(struct stack *s, struct stack_conn *c, struct stack_lent *out, unsigned max)
{
	if (s->ops->recv_lend == NULL)
		return -EOPNOTSUPP;
	return s->ops->recv_lend(s, c, out, max);
}

/**
 * Give back a run lent by stack_recv_lend(); its connection may be closed already, the stack
 * must still exist.
 */
static inline void
stack_lent_release(struct stack *s, void *ref)
{
	s->ops->lent_release(s, ref);
}

/**
 * Send what the stack takes now of @p iov (niov <= IOV_MAX); never blocks.
 * @return bytes taken (may be fewer than offered: keep the rest and call
 *         stack_want_writable()); -EAGAIN none; other negative errno: the connection failed.
 */
static inline ssize_t
stack_sendv(struct stack *s, struct stack_conn *c, const struct iovec *iov, unsigned niov)
{
	return s->ops->sendv(s, c, iov, niov);
}

/** Report (on) or stop reporting (off) STACK_EV_WRITABLE for @p c. @return 0 or -errno. */
static inline int
stack_want_writable(struct stack *s, struct stack_conn *c, bool on)
{
	return s->ops->want_writable(s, c, on);
}

/**
 * Open a stream connection to @p to (an active open), with @p user attached. It is open when it
 * reports STACK_EV_WRITABLE (want_writable starts on; turn it off when nothing waits to be
 * sent); when the open fails it reports STACK_EV_READABLE and stack_recv() returns the error
 * (-ECONNREFUSED, -ETIMEDOUT, ...): close it then. Bytes sent before it is open wait in the
 * backend (dpdk) or are refused with -EAGAIN (socket).
 * @return 0 with *out set; -EAFNOSUPPORT for an address family the backend cannot reach (the
 *         dpdk backend: IPv4 only); -ENOTCONN when the backend has no stream connections
 *         (dpdk without a TCP port); -EADDRNOTAVAIL, -ENOBUFS, -ENOMEM, or the socket
 *         error. Nothing is reported for a connection whose open was refused at once.
 */
static inline int
stack_connect(struct stack *s, const struct stack_addr *to, void *user, struct stack_conn **out)
{
	return s->ops->connect(s, to, user, out);
}

/** Close a connection and free it; it is gone at once (no further events, handle invalid). */
static inline void
stack_close(struct stack *s, struct stack_conn *c)
{
	s->ops->close(s, c);
}

/**
 * Receive up to @p max waiting datagrams into the caller's buffers, or lent (see struct
 * stack_dgram; one system call where the backend can: recvmmsg). Datagrams lent by an earlier
 * call are given back first.
 * @return how many (0: none waiting); negative errno on failure.
 */
static inline int
stack_recv_dgrams(struct stack *s, struct stack_dgram *d, unsigned max)
{
	return s->ops->recv_dgrams(s, d, max);
}

/**
 * Send @p n datagrams (sendmmsg where the backend can). Datagrams the kernel has no room for
 * are dropped, as UDP may.
 * @return how many were sent; negative errno when none could be.
 */
static inline int
stack_send_dgrams(struct stack *s, const struct stack_dgram_out *d, unsigned n)
{
	return s->ops->send_dgrams(s, d, n);
}

/**
 * Room to write one datagram's payload in place (the dpdk backend: in its next TX frame, so
 * nothing is copied again): *@p room bytes at the returned address. Send it with
 * stack_dgram_buf_send(); or leave it unsent, and the next call returns the same buffer, its
 * contents undefined. Until then the buffer is the caller's: stack_send_dgrams() may be used
 * meanwhile.
 * @return the buffer; NULL when the backend writes no datagram in place (socket) or has no
 *         buffer free (then build the datagram elsewhere and use stack_send_dgrams()).
 */
static inline void *
stack_dgram_buf(struct stack *s, uint32_t *room)
{
	if (s->ops == &stack_dpdk_ops) /* (a direct call: inlined where LTO can) */
		return stack_dpdk_dgram_buf(s, room);
	return s->ops->dgram_buf != NULL ? s->ops->dgram_buf(s, room) : NULL;
}

/**
 * Send the first @p len bytes written at stack_dgram_buf()'s buffer as one datagram to @p to
 * (through the backend's address @p via); the buffer is the backend's again, sent or not.
 * @return 0; negative errno when it was dropped (-EMSGSIZE past the room, -EHOSTUNREACH,
 *         -ENOSPC, -EAFNOSUPPORT for a peer that is not IPv4, -EINVAL without a buffer,
 *         -EOPNOTSUPP on a backend without them).
 */
static inline int
stack_dgram_buf_send(struct stack *s, uint32_t len, uint16_t via, const struct stack_addr *to)
{
	if (s->ops == &stack_dpdk_ops)
		return stack_dpdk_dgram_buf_send(s, len, via, to);
	return s->ops->dgram_buf_send != NULL ? s->ops->dgram_buf_send(s, len, via, to) :
						-EOPNOTSUPP;
}

/**
 * Hand what the backend batched (the dpdk backend's TX burst) to the NIC now, instead of at
 * the next stack_poll(): for the end of a receive burst's work. Backends that send at once
 * (socket) do nothing.
 */
static inline void
stack_flush(struct stack *s)
{
	if (s->ops->flush != NULL)
		s->ops->flush(s);
}

/**
 * [any thread] Make the stack's current or next stack_poll() return STACK_EV_WAKE at once
 * (an eventfd for the socket backend). Cheap enough to call after posting to a worker's ring.
 */
static inline void
stack_wake(struct stack *s)
{
	s->ops->wake(s);
}

/** Attach the worker's state to a connection (reported as stack_event.user). */
static inline void
stack_conn_set_user(struct stack *s, struct stack_conn *c, void *user)
{
	s->ops->conn_set_user(c, user);
}

/** The worker's state attached to @p c, or NULL. */
static inline void *
stack_conn_user(const struct stack *s, const struct stack_conn *c)
{
	return s->ops->conn_user(c);
}

/** The peer address of @p c. */
static inline const struct stack_addr *
stack_conn_peer(const struct stack *s, const struct stack_conn *c)
{
	return s->ops->conn_peer(c);
}

/** A small number naming @p c in logs and `stats conns` (the socket backend: its fd). */
static inline int
stack_conn_id(const struct stack *s, const struct stack_conn *c)
{
	return s->ops->conn_id(c);
}

/**
 * Format @p a as "ip:port" (IPv6 as "[ip]:port") into @p buf.
 * @return @p buf.
 */
char *stack_addr_format(const struct stack_addr *a, char *buf, size_t cap);

/**
 * Parse a numeric IPv4 or IPv6 address (no name lookup) into @p a with port @p port.
 * @return 0; -EINVAL when it is not an address.
 */
int stack_addr_parse(const char *text, uint16_t port, struct stack_addr *a);

#endif /* NC_STACK_STACK_H */
