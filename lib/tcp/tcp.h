/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TCP_TCP_H
#define NC_TCP_TCP_H

/*
 * The project's per-core TCP (RFC 9293 with RFC 6298, 5681, 6582, 6928, 7323 window scaling,
 * 6528, 5961 and SYN cookies), one `struct tcp_ctx` per worker, above lib/net and below
 * lib/stack. A context owns every connection of one NIC queue pair: the ones RSS steered
 * there (passive open on the listening port) and the ones it opened (active open, with a
 * source port whose replies RSS steers back to it).
 *
 * Frames in and out:
 *   - tcp_input() takes one received segment: an mbuf whose data starts at the TCP header,
 *     with the IPv4 addresses beside it (lib/net has checked the IPv4 header, the TCP data
 *     offset and the checksum). The context owns the mbuf from then on: a segment's payload
 *     stays in its mbuf in the receive queue until the application reads it (no copy).
 *   - every segment the context sends goes through `struct tcp_io`: alloc() an mbuf with
 *     TCP_HEADROOM bytes of headroom, output() one whose data starts at a complete TCP header
 *     (checksum field zero): the io adds IPv4, the checksum (offloaded or software), Ethernet,
 *     and sends it. Unit tests capture segments there.
 *   - TSO (tcp_params.tso_max set: the io's NIC cuts frames into segments): new data may go
 *     out as one frame of several consecutive send-buffer segments, each of one MSS but the
 *     last, a header mbuf chained with an indirect mbuf on each segment's own (send-buffer
 *     mbufs never get a next pointer); RTE_MBUF_F_TX_TCP_SEG in ol_flags and tso_segsz = the
 *     connection's MSS tell the io. Retransmissions and probes are single segments.
 *   - time is the caller's: every call that may act on time takes `now_us`, microseconds on
 *     any monotonic clock (a fake one in tests).
 *
 * The application side (lib/stack's dpdk backend) works like a socket API without blocking:
 * tcp_events() reports connections accepted, connected, readable (bytes, EOF or an error) and
 * writable; tcp_recv() copies received bytes out and releases their mbufs; tcp_sendv() copies
 * reply bytes into mbufs of the send buffer (so a reply that pointed into item memory no longer
 * does once it returns: the caller may pass an RCU quiescent state right after); those mbufs
 * stay in the send buffer until the peer acknowledges them, and retransmissions find their
 * bytes there, by sequence number. tcp_flush() sends what the send buffers and the congestion
 * and peer windows allow, with the pending ACKs riding on the data.
 *
 * Threads: a context and its connections belong to one thread; nothing here takes a lock.
 * Only tcp_counters() may be read from another thread (relaxed loads).
 *
 * Errors: negative errno values (-EAGAIN: nothing now).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "tcp/counters.h"

/** Active open: the source ports tcp_connect() tries (host order, Linux's default range). */
#define TCP_EPHEMERAL_MIN 32768
#define TCP_EPHEMERAL_MAX 60999

/** Headroom an mbuf from tcp_io.alloc() must have: Ethernet + VLAN + IPv4 + TCP with options. */
#define TCP_HEADROOM (18 + 20 + 60)

/** The connection states of RFC 9293 (LISTEN is the context's listening port itself). */
#define TCP_STATES(X)                                                                              \
	X(CLOSED)                                                                                  \
	X(LISTEN)                                                                                  \
	X(SYN_SENT)                                                                                \
	X(SYN_RECEIVED)                                                                            \
	X(ESTABLISHED)                                                                             \
	X(FIN_WAIT_1)                                                                              \
	X(FIN_WAIT_2)                                                                              \
	X(CLOSE_WAIT)                                                                              \
	X(CLOSING)                                                                                 \
	X(LAST_ACK)                                                                                \
	X(TIME_WAIT)

enum tcp_state {
#define TCP_STATE_ENUM(name) TCP_S_##name,
	TCP_STATES(TCP_STATE_ENUM)
#undef TCP_STATE_ENUM
	TCP_STATE_MAX
};

/** The name of @p s ("ESTABLISHED"), or "?" when out of range. */
const char *tcp_state_name(enum tcp_state s);

struct tcp_ctx;
struct tcp_conn;

/** How a context sends; see the file comment. */
struct tcp_io {
	void *arg;
	/**
	 * An mbuf for one segment, with at least TCP_HEADROOM bytes of headroom and an empty
	 * data area. @return NULL when none is left (the segment is not sent; timers retry).
	 */
	struct rte_mbuf *(*alloc)(void *arg);
	/**
	 * Send @p m (data at its TCP header, checksum field 0, payload after the header, maybe in
	 * chained segments) to @p dst_ip from @p src_ip. A TSO frame (only with tso_max set) has
	 * RTE_MBUF_F_TX_TCP_SEG in m->ol_flags and m->tso_segsz = the MSS: the io cuts it into
	 * segments of that payload (the header's sequence advanced, PSH only on the last).
	 * The mbuf is consumed in every case.
	 * @return 0, or negative errno when it was not sent (counted by the io).
	 */
	int (*output)(void *arg, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip);
	/**
	 * Active open only: whether a segment from @p rip:@p rport to our @p lport (all network
	 * order) would be steered (RSS) to this context's queue. NULL: every port is.
	 */
	bool (*steers_here)(void *arg, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport);
};

/** Limits and parameters of a context; zero fields take the default in brackets. */
struct tcp_params {
	rte_be32_t local_ip;	   /* our address */
	uint16_t listen_port;	   /* passive open on this port (host order); 0: none */
	uint16_t mtu;		   /* IP MTU: our MSS is mtu - 40 [1500] */
	uint32_t max_conns;	   /* connections in any state but TIME_WAIT [4096] */
	uint32_t syn_backlog;	   /* SYN_RECEIVED connections before SYN cookies [256] */
	uint32_t time_wait_max;	   /* TIME_WAIT connections; more recycle the oldest [4096] */
	uint32_t rcvbuf;	   /* receive buffer per connection, bytes (the window) [256 KiB] */
	uint32_t sndbuf;	   /* send buffer per connection, bytes [256 KiB] */
	uint32_t ooo_max;	   /* out-of-order segments kept per connection [256] */
	uint32_t mbuf_budget;	   /* mbufs all queues of the context may hold [16384] */
	uint32_t rto_min_ms;	   /* lower bound of the RTO [200] */
	uint32_t rto_max_ms;	   /* upper bound of the RTO [60000] */
	uint32_t retries;	   /* retransmissions of one segment before abort [8] */
	uint32_t syn_retries;	   /* SYN / SYN-ACK retransmissions before giving up [5] */
	uint32_t msl_ms;	   /* TIME_WAIT lasts 2 x MSL [30000] */
	uint32_t delack_ms;	   /* delayed ACK when no reply carries it [40] */
	uint32_t fin_wait_2_ms;	   /* an orphaned FIN_WAIT_2 lasts this long [60000] */
	uint32_t tso_max;	   /* TSO: most payload bytes in one frame the io cuts (0: no TSO) */
	uint16_t tso_segs;	   /* TSO: most segments in one frame (0: only tso_max bounds it) */
	uint16_t tso_mss_max;	   /* TSO: for connections whose MSS is at most this (0: any) */
	uint64_t secret[2];	   /* ISN and SYN-cookie key; {0, 0}: drawn at random */
	struct tcp_io io;
};

/**
 * [setup] Create a context (connection table, timer wheel, counters) on NUMA @p socket.
 * @return the context, or NULL with *err = -ENOMEM or -EINVAL (no io.alloc/output, mtu < 88).
 */
struct tcp_ctx *tcp_create(const struct tcp_params *p, int socket, int *err);

/** [setup] Free a context and every connection and mbuf it holds; NULL allowed. */
void tcp_destroy(struct tcp_ctx **t);

/**
 * Process one received segment @p m (data at the TCP header; pkt_len = header + payload) from
 * @p src_ip to @p dst_ip (network order). Consumes @p m. Replies (SYN-ACK, RST, challenge and
 * duplicate ACKs) are sent at once through the io; ACKs for data wait for tcp_flush().
 */
void tcp_input(struct tcp_ctx *t, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip,
	       uint64_t now_us);

/**
 * Send what is due: new data the windows allow (cut at the MSS; with TSO, runs of it as one
 * frame each), FINs, and ACKs owed that no data carried (at once when two full segments or an
 * out-of-order segment wait, or the window opened; else the delayed-ACK timer). Call once per
 * loop iteration after the application's work, so replies of one iteration share segments
 * and ACKs ride on them.
 */
void tcp_flush(struct tcp_ctx *t, uint64_t now_us);

/**
 * Run the timers due at @p now_us (retransmission, persist, delayed ACK, TIME_WAIT and
 * FIN_WAIT_2 ends, SYN-ACK retries). Cost: the timers due, plus one step per millisecond
 * passed, independent of how many connections are idle.
 * @return timers that fired.
 */
unsigned tcp_timers(struct tcp_ctx *t, uint64_t now_us);

/**
 * Active open to @p rip:@p rport (network order) from a source port in TCP_EPHEMERAL_MIN ..
 * TCP_EPHEMERAL_MAX, not in use towards that peer, whose replies come back to this context
 * (io.steers_here: a load generator also uses it to keep each thread in its own ports).
 * The SYN goes out at once.
 * @return 0 and *c (CONNECTED or an error is reported by tcp_events() later); -EADDRNOTAVAIL
 *         no usable source port; -ENOBUFS the table is full.
 */
int tcp_connect(struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, uint64_t now_us,
		struct tcp_conn **c);

enum tcp_event_kind {
	TCP_EV_ACCEPTED,  /* a passive open completed: .conn is new (user NULL) */
	TCP_EV_CONNECTED, /* an active open completed */
	TCP_EV_READABLE,  /* bytes to read, EOF, or an error: tcp_recv() tells which */
	TCP_EV_WRITABLE,  /* room in the send buffer again (only while want_writable is on) */
};

struct tcp_event {
	enum tcp_event_kind kind;
	struct tcp_conn *conn;
	void *user;
};

/**
 * Report up to @p max events. Level-triggered: a connection with unread bytes, an unread EOF
 * or error, or (want_writable on) room to send is reported again by every call until that
 * changes; one call names a connection once (WRITABLE before READABLE when both hold).
 * @return how many.
 */
unsigned tcp_events(struct tcp_ctx *t, struct tcp_event *ev, unsigned max);

/** Whether tcp_events() has something to report. */
bool tcp_has_events(const struct tcp_ctx *t);

/**
 * Copy up to @p cap received bytes into @p buf, releasing the mbufs emptied; the window
 * reopens (a window update goes out at tcp_flush() when it grew by 2 MSS or half the buffer).
 * @return bytes (> 0); 0 the peer closed its side and everything was read; -EAGAIN nothing
 *         now; -ECONNRESET the peer reset it; -ETIMEDOUT retransmissions gave up;
 *         -ECONNREFUSED an active open was refused.
 */
ssize_t tcp_recv(struct tcp_ctx *t, struct tcp_conn *c, void *buf, size_t cap);

/** Shortest received segment tcp_recv_lend() lends (shorter ones are copied). */
#define TCP_LEND_MIN 256

/** A received segment lent to the application (see tcp_recv_lend()). */
struct tcp_lent {
	const uint8_t *data; /* the segment's payload bytes not read yet */
	uint32_t len;
	struct rte_mbuf *m;  /* give it back with tcp_lent_release() */
};

/**
 * Take up to @p max whole in-order segments out of the receive queue without copying: their
 * bytes stay in their mbufs, lent to the caller until tcp_lent_release(). The window reopens
 * as for tcp_recv(). Lent mbufs still count in the context's mbuf budget; segments are lent
 * only while the context holds fewer than half of it, so a reader that copies always finds
 * mbufs to read into; and only single-mbuf segments of at least TCP_LEND_MIN bytes (holding
 * a 2 KiB mbuf for a few bytes, as a client trickling bytes would make us, costs more than
 * copying them).
 * @return segments lent (> 0); -ENOBUFS bytes are waiting that are not lent now (read them
 *         with tcp_recv()); otherwise what tcp_recv() returns when nothing is waiting (0,
 *         -EAGAIN or the connection's error).
 */
int tcp_recv_lend(struct tcp_ctx *t, struct tcp_conn *c, struct tcp_lent *out, unsigned max);

/**
 * Give back an mbuf lent by tcp_recv_lend() to the same context; its connection may have
 * closed since. Only on the context's worker.
 */
void tcp_lent_release(struct tcp_ctx *t, struct rte_mbuf *m);

/**
 * Copy what fits of @p iov into the send buffer (mbufs of up to one MSS each); it is sent at
 * tcp_flush(). @return bytes taken (maybe fewer than offered); -EAGAIN no room; -EPIPE the
 * connection can no longer send (closed for writing, reset, timed out).
 */
ssize_t tcp_sendv(struct tcp_ctx *t, struct tcp_conn *c, const struct iovec *iov, unsigned niov);

/** Report TCP_EV_WRITABLE for @p c while @p on and the send buffer has room. */
void tcp_want_writable(struct tcp_ctx *t, struct tcp_conn *c, bool on);

/**
 * Half-close: no more sends; a FIN follows the bytes already in the send buffer.
 * @return 0; -ENOTCONN when not connected.
 */
int tcp_shutdown(struct tcp_ctx *t, struct tcp_conn *c);

/**
 * The application is done with @p c: the handle is invalid once this returns. Unread received
 * bytes make it an abort (RST, as a socket closed with unread data does); else what is in the
 * send buffer goes out followed by a FIN and the connection finishes its close on its own
 * (FIN_WAIT_*, TIME_WAIT or LAST_ACK), bounded by the retry limit and fin_wait_2_ms.
 */
void tcp_close(struct tcp_ctx *t, struct tcp_conn *c);

/** Abort @p c: RST to the peer, everything freed; the handle is invalid once this returns. */
void tcp_abort(struct tcp_ctx *t, struct tcp_conn *c);

/** Attach the application's state to @p c (reported as tcp_event.user). */
void tcp_conn_set_user(struct tcp_conn *c, void *user);

/** The application's state attached to @p c, or NULL. */
void *tcp_conn_user(const struct tcp_conn *c);

/** The peer of @p c (network order). */
void tcp_conn_peer(const struct tcp_conn *c, rte_be32_t *ip, rte_be16_t *port);

/** Our port of @p c (network order). */
rte_be16_t tcp_conn_local_port(const struct tcp_conn *c);

/** The state of @p c. */
enum tcp_state tcp_conn_state(const struct tcp_conn *c);

/** A small number naming @p c (its slot in the connection table) for logs and stats. */
int tcp_conn_id(const struct tcp_conn *c);

/** Bytes in @p c's send buffer not yet acknowledged. */
uint32_t tcp_conn_unacked(const struct tcp_conn *c);

/** The context's counters (any thread, relaxed loads). */
const struct tcp_counters *tcp_counters(const struct tcp_ctx *t);

/** What a context holds now (gauges, not counters). */
struct tcp_gauges {
	uint32_t conns;	    /* connections in any state but TIME_WAIT */
	uint32_t syn_rcvd;  /* half-open (the SYN queue) */
	uint32_t time_wait; /* TIME_WAIT */
	uint32_t mbufs;	    /* mbufs held in send, receive and out-of-order queues */
	uint32_t queues;    /* send and receive queue slot arrays connections hold (8 KB each) */
};

/** The context's gauges (any thread, relaxed loads: a snapshot, not a consistent one). */
void tcp_gauges(const struct tcp_ctx *t, struct tcp_gauges *g);

/** Connections in each state now (owner thread): @p n[TCP_STATE_MAX]. */
void tcp_state_counts(const struct tcp_ctx *t, uint32_t n[TCP_STATE_MAX]);

#endif /* NC_TCP_TCP_H */
