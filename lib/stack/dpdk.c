/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK backend: one rx/tx queue pair of a port, driven through lib/net's packet path.
 * Replies are batched and go out as one TX burst at stack_flush() (the worker calls it after
 * a receive burst's work) or at the next stack_poll(), which then receives one burst: ARP,
 * ICMP and TCP RSTs are answered inside lib/net, and the UDP datagrams for our
 * port are kept for stack_recv_dgrams(). There are no stream connections yet (TCP is a later
 * issue: lib/net answers SYNs with RST). A blocking poll (the worker is idle) polls the queue
 * with short sleeps in between, so an idle server does not hold a CPU at 100% and a wake-up
 * or a packet is noticed within DPDK_IDLE_SLEEP_US. A datagram whose payload is contiguous in
 * its mbuf is lent, not copied: its mbuf is freed at the next recv_dgrams or poll call.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "net/queue.h"
#include "stack/stack.h"

/** Sleep between polls of an idle queue (µs): the latency after an idle period. */
#define DPDK_IDLE_SLEEP_US 20

struct dpdk_stack {
	struct stack base; /* first: struct stack * converts to this */
	const struct net_iface *ifc;
	struct net_queue *q;
	bool wake;		/* set by stack_wake() from any thread (atomic) */
	unsigned rx_next, rx_n; /* datagrams of the last burst not yet taken */
	unsigned nlent;		/* mbufs of datagrams lent by the last recv_dgrams call */
	struct net_dgram rx[NET_BURST];
	struct rte_mbuf *lent[NET_BURST];
};

static const struct stack_ops dpdk_ops;

static struct dpdk_stack *
to_dpdk(struct stack *s)
{
	return (struct dpdk_stack *)s;
}

static const struct dpdk_stack *
to_cdpdk(const struct stack *s)
{
	return (const struct dpdk_stack *)s;
}

struct stack *
stack_dpdk_create(const struct stack_params *p, const struct net_iface *ifc, uint16_t queue,
		  int *err)
{
	struct dpdk_stack *ds;

	(void)p;
	ds = rte_zmalloc("nc_stack_dpdk", sizeof(*ds), RTE_CACHE_LINE_SIZE);
	if (ds == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	ds->base.ops = &dpdk_ops;
	ds->ifc = ifc;
	ds->q = net_queue_create(ifc, queue, (int)rte_socket_id(), err);
	if (ds->q == NULL) {
		rte_free(ds);
		return NULL;
	}
	return &ds->base;
}

const struct net_counters *
stack_dpdk_counters(const struct stack *s)
{
	if (s == NULL || s->ops != &dpdk_ops)
		return NULL;
	return net_queue_counters(to_cdpdk(s)->q);
}

/** Free the mbufs of the datagrams the last recv_dgrams call lent. */
static inline void
dpdk_take_back(struct dpdk_stack *ds)
{
	if (ds->nlent > 0) {
		net_queue_recycle(ds->q, ds->lent, ds->nlent);
		ds->nlent = 0;
	}
}

static void
dpdk_destroy(struct stack *s)
{
	struct dpdk_stack *ds = to_dpdk(s);

	dpdk_take_back(ds);
	for (unsigned i = ds->rx_next; i < ds->rx_n; i++)
		net_dgram_free(&ds->rx[i]);
	net_queue_destroy(&ds->q);
	rte_free(ds);
}

/** Send what the last iteration built, do the queue's upkeep, and receive one burst. */
static bool
dpdk_poll_once(struct dpdk_stack *ds)
{
	dpdk_take_back(ds);
	net_queue_flush(ds->q);
	net_queue_timers(ds->q, rte_rdtsc());
	if (ds->rx_next >= ds->rx_n) {
		ds->rx_next = 0;
		ds->rx_n = net_queue_rx(ds->q, ds->rx, NET_BURST);
	}
	return ds->rx_next < ds->rx_n;
}

static int
dpdk_poll(struct stack *s, struct stack_event *ev, unsigned max, int timeout_ms)
{
	struct dpdk_stack *ds = to_dpdk(s);
	uint64_t deadline = 0;
	unsigned n = 0;
	bool dgrams;

	if (max == 0)
		return -EINVAL;
	if (timeout_ms != 0)
		deadline = rte_rdtsc() + (timeout_ms < 0 ?
						  UINT64_MAX / 2 :
						  (uint64_t)timeout_ms * rte_get_tsc_hz() / 1000);
	for (;;) {
		dgrams = dpdk_poll_once(ds);
		if (__atomic_load_n(&ds->wake, __ATOMIC_RELAXED)) {
			__atomic_store_n(&ds->wake, false, __ATOMIC_RELAXED);
			ev[n++] = (struct stack_event){.kind = STACK_EV_WAKE};
		}
		if (dgrams && n < max)
			ev[n++] = (struct stack_event){.kind = STACK_EV_DGRAMS};
		if (n > 0 || timeout_ms == 0 || rte_rdtsc() >= deadline)
			return (int)n;
		if (!net_queue_busy(ds->q)) {
			struct timespec ts = {.tv_nsec = DPDK_IDLE_SLEEP_US * 1000};

			nanosleep(&ts, NULL);
		}
	}
}

static int
dpdk_recv_dgrams(struct stack *s, struct stack_dgram *d, unsigned max)
{
	struct dpdk_stack *ds = to_dpdk(s);
	unsigned n = 0;

	dpdk_take_back(ds);
	for (; n < max && ds->rx_next < ds->rx_n; n++) {
		struct net_dgram *in = &ds->rx[ds->rx_next++];
		struct sockaddr_in *sin = (struct sockaddr_in *)&d[n].peer.ss;

		if (in->payload != NULL && in->len <= d[n].cap) {
			d[n].bytes = in->payload;
			d[n].len = in->len;
			d[n].truncated = false;
			ds->lent[ds->nlent++] = in->m;
		} else {
			d[n].bytes = d[n].data;
			d[n].len = net_dgram_copy(in, d[n].data, d[n].cap);
			d[n].truncated = in->len > d[n].cap;
			net_dgram_free(in);
		}
		d[n].via = 0;
		*sin = (struct sockaddr_in){
			.sin_family = AF_INET,
			.sin_port = in->src_port,
			.sin_addr.s_addr = in->src_ip,
		};
		d[n].peer.len = sizeof(*sin);
	}
	return (int)n;
}

/** Gather @p d's iovecs into one datagram and queue it for the next TX burst. */
static int
dpdk_send_one(struct dpdk_stack *ds, const struct stack_dgram_out *d)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&d->peer->ss;
	uint8_t *payload;
	uint16_t room;
	size_t len = 0;
	struct rte_mbuf *m;

	if (sin->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	m = net_udp_alloc(ds->q, &payload, &room);
	if (m == NULL)
		return -ENOBUFS;
	for (unsigned i = 0; i < d->niov; i++) {
		if (d->iov[i].iov_len > (size_t)room - len) {
			rte_pktmbuf_free(m);
			return -EMSGSIZE;
		}
		memcpy(payload + len, d->iov[i].iov_base, d->iov[i].iov_len);
		len += d->iov[i].iov_len;
	}
	return net_udp_send(ds->q, m, (uint16_t)len, sin->sin_addr.s_addr, sin->sin_port,
			    rte_cpu_to_be_16(ds->ifc->udp_port));
}

static int
dpdk_send_dgrams(struct stack *s, const struct stack_dgram_out *d, unsigned n)
{
	struct dpdk_stack *ds = to_dpdk(s);
	int sent = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		int rc = dpdk_send_one(ds, &d[i]);

		if (rc == 0)
			sent++;
		else
			err = rc;
	}
	return sent > 0 || n == 0 ? sent : err;
}

static void
dpdk_flush(struct stack *s)
{
	net_queue_flush(to_dpdk(s)->q);
}

static void
dpdk_wake(struct stack *s)
{
	__atomic_store_n(&to_dpdk(s)->wake, true, __ATOMIC_RELAXED);
}

/* No stream connections on this backend yet: the connection operations are never reached. */

static ssize_t
dpdk_recv(struct stack *s, struct stack_conn *c, void *buf, size_t cap)
{
	(void)s, (void)c, (void)buf, (void)cap;
	return -ENOTCONN;
}

static ssize_t
dpdk_sendv(struct stack *s, struct stack_conn *c, const struct iovec *iov, unsigned niov)
{
	(void)s, (void)c, (void)iov, (void)niov;
	return -ENOTCONN;
}

static int
dpdk_want_writable(struct stack *s, struct stack_conn *c, bool on)
{
	(void)s, (void)c, (void)on;
	return -ENOTCONN;
}

static void
dpdk_close(struct stack *s, struct stack_conn *c)
{
	(void)s, (void)c;
}

static void
dpdk_conn_set_user(struct stack_conn *c, void *user)
{
	(void)c, (void)user;
}

static void *
dpdk_conn_user(const struct stack_conn *c)
{
	(void)c;
	return NULL;
}

static const struct stack_addr *
dpdk_conn_peer(const struct stack_conn *c)
{
	(void)c;
	return NULL;
}

static int
dpdk_conn_id(const struct stack_conn *c)
{
	(void)c;
	return -1;
}

static const struct stack_ops dpdk_ops = {
	.name = "dpdk",
	.destroy = dpdk_destroy,
	.poll = dpdk_poll,
	.recv = dpdk_recv,
	.sendv = dpdk_sendv,
	.want_writable = dpdk_want_writable,
	.close = dpdk_close,
	.recv_dgrams = dpdk_recv_dgrams,
	.send_dgrams = dpdk_send_dgrams,
	.flush = dpdk_flush,
	.wake = dpdk_wake,
	.conn_set_user = dpdk_conn_set_user,
	.conn_user = dpdk_conn_user,
	.conn_peer = dpdk_conn_peer,
	.conn_id = dpdk_conn_id,
};
