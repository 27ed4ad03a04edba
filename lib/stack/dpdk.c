/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK backend: one rx/tx queue pair of a port, driven through lib/net's packet path.
 * Replies are batched and go out as one TX burst at stack_flush() (the worker calls it after
 * a receive burst's work) or at the next stack_poll(), which then receives one burst: ARP,
 * ICMP and TCP RSTs are answered inside lib/net, and the UDP datagrams for our
 * port are kept for stack_recv_dgrams(). TCP segments go to the queue's own TCP context
 * (lib/tcp) when the interface has a TCP port: its connections are this backend's stream
 * connections (a struct stack_conn is a struct tcp_conn), its events become stack events,
 * and its output (ACKs riding on replies) goes out at stack_flush() or the next stack_poll(),
 * before the TX burst (as TSO frames where the port cuts them: see dpdk_tso_params). A
 * blocking poll (the worker is idle) polls the queue with short sleeps in between, so an
 * idle server does not hold a CPU at 100% and a wake-up
 * or a packet is noticed within DPDK_IDLE_SLEEP_US. A datagram whose payload is contiguous in
 * its mbuf is lent, not copied: its mbuf is freed at the next recv_dgrams or poll call.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include <rte_ethdev.h>
#include <rte_thash.h>

#include "net/queue.h"
#include "stack/stack.h"
#include "tcp/tcp.h"

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
	struct tcp_ctx *tcp;	/* NULL: no TCP port (lib/net answers SYNs with RST) */
	struct rte_mbuf *dgram_m; /* stack_dgram_buf()'s frame, until sent (kept if not) */
	uint8_t *dgram_payload;
	uint16_t dgram_room;
	uint64_t cycles_per_us;
	uint16_t queue_id;
	/* The port's RSS, for active opens: which queue a peer's segments reach. */
	bool rss;
	uint16_t reta_size;
	uint8_t rss_key[64];
	uint16_t reta[512];
};

/** Most segments one dpdk_recv_lend() call lends. */
#define STACK_DPDK_LEND_MAX 16

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

static inline uint64_t
dpdk_now_us(const struct dpdk_stack *ds, uint64_t tsc)
{
	return tsc / ds->cycles_per_us;
}

/* ---- the TCP context's io: segments through the queue's packet path ---- */

static struct rte_mbuf *
dpdk_tcp_alloc(void *arg)
{
	return net_tcp_alloc(((struct dpdk_stack *)arg)->q);
}

static int
dpdk_tcp_output(void *arg, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip)
{
	return net_tcp_output(((struct dpdk_stack *)arg)->q, m, src_ip, dst_ip);
}

/** Whether the port's RSS sends a peer's segments of this 4-tuple to our queue. */
static bool
dpdk_tcp_steers_here(void *arg, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport)
{
	struct dpdk_stack *ds = arg;
	struct rte_ipv4_tuple tuple;
	uint32_t h;

	if (!ds->rss)
		return true;
	tuple.src_addr = rte_be_to_cpu_32(rip);
	tuple.dst_addr = rte_be_to_cpu_32(ds->ifc->ip);
	tuple.sport = rte_be_to_cpu_16(rport);
	tuple.dport = rte_be_to_cpu_16(lport);
	h = rte_softrss((uint32_t *)&tuple, RTE_THASH_V4_L4_LEN, ds->rss_key);
	return ds->reta[h % ds->reta_size] == ds->queue_id;
}

/**
 * Read the port's RSS key and redirection table when it has several queues and hashes TCP
 * over IPv4; otherwise any source port is taken (one queue, or the device does not say).
 */
static void
dpdk_rss_setup(struct dpdk_stack *ds)
{
	struct rte_eth_rss_conf conf = {.rss_key = ds->rss_key, .rss_key_len = sizeof(ds->rss_key)};
	struct rte_eth_rss_reta_entry64 reta[512 / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_dev_info info;

	ds->rss = false;
	if (ds->ifc->nb_queues < 2 || rte_eth_dev_info_get(ds->ifc->port_id, &info) != 0 ||
	    info.reta_size == 0 || info.reta_size > 512 || info.hash_key_size > 64)
		return;
	if (rte_eth_dev_rss_hash_conf_get(ds->ifc->port_id, &conf) != 0 ||
	    !(conf.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP))
		return;
	memset(reta, 0, sizeof(reta));
	for (unsigned i = 0; i < info.reta_size / RTE_ETH_RETA_GROUP_SIZE; i++)
		reta[i].mask = UINT64_MAX;
	if (rte_eth_dev_rss_reta_query(ds->ifc->port_id, reta, info.reta_size) != 0)
		return;
	for (unsigned i = 0; i < info.reta_size; i++)
		ds->reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
	ds->reta_size = info.reta_size;
	ds->rss = true;
}

/**
 * TSO for the TCP context when the port has it: frames as long as the NIC cuts, of at most
 * its mbufs, for connections whose MSS it cuts at (net_tcp_output() checks the same limits).
 */
static void
dpdk_tso_params(const struct net_iface *ifc, struct tcp_params *tp)
{
	if (!ifc->offloads.tx_tcp_tso) {
		tp->tso_max = 0;
		return;
	}
	tp->tso_max = ifc->tso.max_payload;
	tp->tso_segs = ifc->tso.max_segs;
	tp->tso_mss_max = ifc->tso.max_segsz;
}

/** Create the queue's TCP context on the interface's TCP port. @return 0 or -errno. */
static int
dpdk_tcp_setup(struct dpdk_stack *ds, const struct stack_params *p)
{
	struct tcp_params tp = p->tcp;
	int err = 0;

	tp.local_ip = ds->ifc->ip;
	tp.listen_port = ds->ifc->tcp_port;
	tp.mtu = ds->ifc->mtu;
	if (tp.mbuf_budget == 0 || (ds->ifc->tcp_mbufs != 0 && tp.mbuf_budget > ds->ifc->tcp_mbufs))
		tp.mbuf_budget = ds->ifc->tcp_mbufs;
	dpdk_tso_params(ds->ifc, &tp);
	tp.io = (struct tcp_io){
		.arg = ds,
		.alloc = dpdk_tcp_alloc,
		.output = dpdk_tcp_output,
		.steers_here = dpdk_tcp_steers_here,
	};
	dpdk_rss_setup(ds);
	ds->tcp = tcp_create(&tp, p->socket_id, &err);
	if (ds->tcp == NULL)
		return err ? err : -ENOMEM;
	net_queue_set_tcp(ds->q, true);
	return 0;
}

struct stack *
stack_dpdk_create(const struct stack_params *p, const struct net_iface *ifc, uint16_t queue,
		  int *err)
{
	struct dpdk_stack *ds;

	ds = rte_zmalloc_socket("nc_stack_dpdk", sizeof(*ds), RTE_CACHE_LINE_SIZE, p->socket_id);
	if (ds == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	ds->base.ops = &stack_dpdk_ops;
	ds->ifc = ifc;
	ds->queue_id = queue;
	ds->cycles_per_us = rte_get_tsc_hz() / 1000000 ? rte_get_tsc_hz() / 1000000 : 1;
	ds->q = net_queue_create(ifc, queue, p->socket_id, err);
	if (ds->q == NULL) {
		rte_free(ds);
		return NULL;
	}
	if (ifc->tcp_port != 0) {
		*err = dpdk_tcp_setup(ds, p);
		if (*err != 0) {
			net_queue_destroy(&ds->q);
			rte_free(ds);
			return NULL;
		}
	}
	return &ds->base;
}

const struct net_counters *
stack_dpdk_counters(const struct stack *s)
{
	if (s == NULL || s->ops != &stack_dpdk_ops)
		return NULL;
	return net_queue_counters(to_cdpdk(s)->q);
}

struct tcp_ctx *
stack_dpdk_tcp(const struct stack *s)
{
	if (s == NULL || s->ops != &stack_dpdk_ops)
		return NULL;
	return to_cdpdk(s)->tcp;
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
	rte_pktmbuf_free(ds->dgram_m);
	tcp_destroy(&ds->tcp);
	net_queue_destroy(&ds->q);
	rte_free(ds);
}

/** Hand the burst's TCP segments to the TCP context; keep the datagrams in rx[], in order. */
static void
dpdk_tcp_segments(struct dpdk_stack *ds, uint64_t now_us)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < ds->rx_n; i++) {
		struct net_dgram *d = &ds->rx[i];

		if (d->proto != IPPROTO_TCP) {
			if (keep != i) /* (a datagram after a segment moves up) */
				ds->rx[keep] = *d;
			keep++;
			continue;
		}
		rte_pktmbuf_adj(d->m, (uint16_t)d->off);
		tcp_input(ds->tcp, d->m, d->src_ip, d->dst_ip, now_us);
	}
	ds->rx_n = keep;
}

/** Send what the last iteration built, do the upkeep (TCP timers too), receive one burst. */
static void
dpdk_poll_once(struct dpdk_stack *ds)
{
	uint64_t now = rte_rdtsc();

	dpdk_take_back(ds);
	if (ds->tcp != NULL) {
		tcp_timers(ds->tcp, dpdk_now_us(ds, now));
		tcp_flush(ds->tcp, dpdk_now_us(ds, now));
	}
	net_queue_flush(ds->q);
	net_queue_timers(ds->q, now);
	if (ds->rx_next >= ds->rx_n) {
		ds->rx_next = 0;
		ds->rx_n = net_queue_rx(ds->q, ds->rx, NET_BURST);
		if (ds->tcp != NULL && ds->rx_n > 0)
			dpdk_tcp_segments(ds, dpdk_now_us(ds, rte_rdtsc()));
	}
}

/** Turn up to @p max of the TCP context's events into stack events. @return how many. */
static unsigned
dpdk_tcp_events(struct dpdk_stack *ds, struct stack_event *ev, unsigned max)
{
	static const enum stack_event_kind kind[] = {
		[TCP_EV_ACCEPTED] = STACK_EV_ACCEPTED,
		[TCP_EV_CONNECTED] = STACK_EV_WRITABLE,
		[TCP_EV_READABLE] = STACK_EV_READABLE,
		[TCP_EV_WRITABLE] = STACK_EV_WRITABLE,
	};
	struct tcp_event te[64];
	unsigned n;

	if (ds->tcp == NULL || max == 0)
		return 0;
	n = tcp_events(ds->tcp, te, max < 64 ? max : 64);
	for (unsigned i = 0; i < n; i++)
		ev[i] = (struct stack_event){
			.kind = kind[te[i].kind],
			.conn = (struct stack_conn *)te[i].conn,
			.user = te[i].user,
		};
	return n;
}

static int
dpdk_poll(struct stack *s, struct stack_event *ev, unsigned max, int timeout_ms)
{
	struct dpdk_stack *ds = to_dpdk(s);
	uint64_t deadline = 0;
	unsigned n = 0;

	if (max == 0)
		return -EINVAL;
	if (timeout_ms != 0)
		deadline = rte_rdtsc() + (timeout_ms < 0 ?
						  UINT64_MAX / 2 :
						  (uint64_t)timeout_ms * rte_get_tsc_hz() / 1000);
	for (;;) {
		dpdk_poll_once(ds);
		if (__atomic_load_n(&ds->wake, __ATOMIC_RELAXED)) {
			__atomic_store_n(&ds->wake, false, __ATOMIC_RELAXED);
			ev[n++] = (struct stack_event){.kind = STACK_EV_WAKE};
		}
		if (ds->rx_next < ds->rx_n && n < max)
			ev[n++] = (struct stack_event){.kind = STACK_EV_DGRAMS};
		n += dpdk_tcp_events(ds, ev + n, max - n);
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
	/* The frames most of these datagrams' replies will take, made ready while they are read. */
	net_queue_prefetch_replies(ds->q, RTE_MIN(max, ds->rx_n - ds->rx_next));
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

void *
stack_dpdk_dgram_buf(struct stack *s, uint32_t *room)
{
	struct dpdk_stack *ds = to_dpdk(s);

	if (ds->dgram_m == NULL) {
		/* None free: counted once, by the send the reply falls back to. */
		ds->dgram_m = net_udp_try_alloc(ds->q, &ds->dgram_payload, &ds->dgram_room);
		if (ds->dgram_m == NULL)
			return NULL;
	}
	*room = ds->dgram_room;
	return ds->dgram_payload;
}

int
stack_dpdk_dgram_buf_send(struct stack *s, uint32_t len, uint16_t via, const struct stack_addr *to)
{
	struct dpdk_stack *ds = to_dpdk(s);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&to->ss;
	struct rte_mbuf *m = ds->dgram_m;

	(void)via;
	if (m == NULL)
		return -EINVAL;
	if (sin->sin_family != AF_INET)
		return -EAFNOSUPPORT; /* (the frame stays for the next datagram) */
	if (len > ds->dgram_room)
		return -EMSGSIZE;
	ds->dgram_m = NULL;
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
	struct dpdk_stack *ds = to_dpdk(s);

	if (ds->tcp != NULL)
		tcp_flush(ds->tcp, dpdk_now_us(ds, rte_rdtsc()));
	net_queue_flush(ds->q);
}

static void
dpdk_wake(struct stack *s)
{
	__atomic_store_n(&to_dpdk(s)->wake, true, __ATOMIC_RELAXED);
}

/* Stream connections are the TCP context's; without a TCP port none is ever reported. */

static inline struct tcp_conn *
to_tcp(struct stack_conn *c)
{
	return (struct tcp_conn *)c;
}

static inline const struct tcp_conn *
to_ctcp(const struct stack_conn *c)
{
	return (const struct tcp_conn *)c;
}

static ssize_t
dpdk_recv(struct stack *s, struct stack_conn *c, void *buf, size_t cap)
{
	struct dpdk_stack *ds = to_dpdk(s);

	return ds->tcp != NULL ? tcp_recv(ds->tcp, to_tcp(c), buf, cap) : -ENOTCONN;
}

static int
dpdk_recv_lend(struct stack *s, struct stack_conn *c, struct stack_lent *out, unsigned max)
{
	struct dpdk_stack *ds = to_dpdk(s);
	struct tcp_lent l[STACK_DPDK_LEND_MAX];
	int n;

	if (ds->tcp == NULL)
		return -ENOTCONN;
	if (max > STACK_DPDK_LEND_MAX)
		max = STACK_DPDK_LEND_MAX;
	n = tcp_recv_lend(ds->tcp, to_tcp(c), l, max);
	for (int i = 0; i < n; i++)
		out[i] = (struct stack_lent){.data = l[i].data, .len = l[i].len, .ref = l[i].m};
	return n;
}

static void
dpdk_lent_release(struct stack *s, void *ref)
{
	tcp_lent_release(to_dpdk(s)->tcp, ref);
}

static ssize_t
dpdk_sendv(struct stack *s, struct stack_conn *c, const struct iovec *iov, unsigned niov)
{
	struct dpdk_stack *ds = to_dpdk(s);

	return ds->tcp != NULL ? tcp_sendv(ds->tcp, to_tcp(c), iov, niov) : -ENOTCONN;
}

static int
dpdk_want_writable(struct stack *s, struct stack_conn *c, bool on)
{
	struct dpdk_stack *ds = to_dpdk(s);

	if (ds->tcp == NULL)
		return -ENOTCONN;
	tcp_want_writable(ds->tcp, to_tcp(c), on);
	return 0;
}

static int
dpdk_connect(struct stack *s, const struct stack_addr *to, void *user, struct stack_conn **out)
{
	struct dpdk_stack *ds = to_dpdk(s);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&to->ss;
	struct tcp_conn *tc;
	int rc;

	if (ds->tcp == NULL)
		return -ENOTCONN;
	if (to->ss.ss_family != AF_INET || to->len < sizeof(*sin))
		return -EAFNOSUPPORT;
	/* lib/tcp's active open: TCP_EV_CONNECTED becomes STACK_EV_WRITABLE. */
	rc = tcp_connect(ds->tcp, sin->sin_addr.s_addr, sin->sin_port,
			 dpdk_now_us(ds, rte_rdtsc()), &tc);
	if (rc < 0)
		return rc;
	tcp_conn_set_user(tc, user);
	tcp_want_writable(ds->tcp, tc, true);
	*out = (struct stack_conn *)tc;
	return 0;
}

static void
dpdk_close(struct stack *s, struct stack_conn *c)
{
	struct dpdk_stack *ds = to_dpdk(s);

	if (ds->tcp != NULL)
		tcp_close(ds->tcp, to_tcp(c));
}

static void
dpdk_conn_set_user(struct stack_conn *c, void *user)
{
	tcp_conn_set_user(to_tcp(c), user);
}

static void *
dpdk_conn_user(const struct stack_conn *c)
{
	return tcp_conn_user(to_ctcp(c));
}

static const struct stack_addr *
dpdk_conn_peer(const struct stack_conn *c)
{
	/* One answer per thread at a time: callers format it at once. */
	static __thread struct stack_addr peer;
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer.ss;
	rte_be32_t ip;
	rte_be16_t port;

	tcp_conn_peer(to_ctcp(c), &ip, &port);
	*sin = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = port, .sin_addr.s_addr = ip};
	peer.len = sizeof(*sin);
	return &peer;
}

static int
dpdk_conn_id(const struct stack_conn *c)
{
	return tcp_conn_id(to_ctcp(c));
}

const struct stack_ops stack_dpdk_ops = {
	.name = "dpdk",
	.destroy = dpdk_destroy,
	.poll = dpdk_poll,
	.recv = dpdk_recv,
	.recv_lend = dpdk_recv_lend,
	.lent_release = dpdk_lent_release,
	.sendv = dpdk_sendv,
	.want_writable = dpdk_want_writable,
	.connect = dpdk_connect,
	.close = dpdk_close,
	.recv_dgrams = dpdk_recv_dgrams,
	.send_dgrams = dpdk_send_dgrams,
	.dgram_buf = stack_dpdk_dgram_buf,
	.dgram_buf_send = stack_dpdk_dgram_buf_send,
	.flush = dpdk_flush,
	.wake = dpdk_wake,
	.conn_set_user = dpdk_conn_set_user,
	.conn_user = dpdk_conn_user,
	.conn_peer = dpdk_conn_peer,
	.conn_id = dpdk_conn_id,
};
