/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_TCP_TEST_H
#define NC_TEST_TCP_TEST_H

/*
 * Shared harness of the lib/tcp unit tests: EAL without hugepages, one mbuf pool, a context
 * whose io captures every segment it sends (tests pop and parse them), segments built by
 * hand and fed to tcp_input(), a fake clock (G.now, µs) and a small model of the peer
 * (struct peer: its sequence numbers and window) so tests read like a packet trace.
 *
 * Payload bytes follow a pattern of their stream offset (pat()), so every byte received on
 * either side can be checked for order and content.
 *
 * Each test ends with tt_finish(): captured segments freed, the context destroyed, and the
 * pool back to zero mbufs in use (any mbuf the stack forgot would show there).
 * Include after cmocka.h.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "tcp/tcp.h"
#include "test_eal.h"

#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define OUR_IP		IP4(10, 7, 0, 1)
#define PEER_IP		IP4(10, 7, 0, 2)
#define LPORT		11211 /* our listening port */
#define PPORT		40000 /* the peer's first port */
#define OUR_MSS		1460  /* mtu 1500 - 40 */

#define F_FIN RTE_TCP_FIN_FLAG
#define F_SYN RTE_TCP_SYN_FLAG
#define F_RST RTE_TCP_RST_FLAG
#define F_PSH RTE_TCP_PSH_FLAG
#define F_ACK RTE_TCP_ACK_FLAG

#define CAP_MAX	 8192
#define SEG_DATA 10240

/* ---- global state of one test ---- */

static struct {
	struct rte_mempool *pool;	/* every mbuf of the tests */
	struct rte_mempool *big_pool;	/* 10 KiB data rooms, for jumbo MSS tests */
	struct rte_mempool *alloc_pool; /* what io.alloc takes from (pool unless a test says) */
	struct tcp_ctx *t;
	uint64_t now; /* fake clock, µs */
	struct rte_mbuf *cap[CAP_MAX];
	rte_be32_t cap_dst[CAP_MAX];
	unsigned cap_r, cap_w; /* captured segments: ring read / write counters */
	bool alloc_fail;       /* io.alloc returns NULL while set */
} G;

/* ---- the io ---- */

static inline struct rte_mbuf *
io_alloc(void *arg)
{
	(void)arg;
	if (G.alloc_fail)
		return NULL;
	return rte_pktmbuf_alloc(G.alloc_pool);
}

static inline int
io_output(void *arg, struct rte_mbuf *m, rte_be32_t src, rte_be32_t dst)
{
	(void)arg;
	if (src != OUR_IP || G.cap_w - G.cap_r >= CAP_MAX) {
		rte_pktmbuf_free(m);
		fail_msg("io_output: bad source address or capture full");
		return -EIO;
	}
	G.cap[G.cap_w % CAP_MAX] = m;
	G.cap_dst[G.cap_w % CAP_MAX] = dst;
	G.cap_w++;
	return 0;
}

/* ---- EAL, pool, context ---- */

static inline void
tt_eal_init(const char *prefix)
{
	const struct test_eal eal = {.name = "nc_test_tcp", .prefix = prefix};

	if (test_eal_start(&eal) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		exit(1);
	}
	/* No per-lcore cache: the in-use count is exact at any time. */
	G.pool = rte_pktmbuf_pool_create("tt_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	G.big_pool = rte_pktmbuf_pool_create("tt_big", 255, 0, 0, 10240 + RTE_PKTMBUF_HEADROOM,
					     SOCKET_ID_ANY);
	if (G.pool == NULL || G.big_pool == NULL) {
		fprintf(stderr, "mbuf pool creation failed\n");
		exit(1);
	}
}

/* Parameters every test starts from: listening port, fixed secret (reproducible ISNs). */
static inline struct tcp_params
tt_params(void)
{
	struct tcp_params p = {
		.local_ip = OUR_IP,
		.listen_port = LPORT,
		.secret = {0x0123456789abcdefULL, 0xfedcba9876543210ULL},
		.io = {.alloc = io_alloc, .output = io_output},
	};

	return p;
}

static inline void
tt_start(const struct tcp_params *p)
{
	int err = 1;

	G.alloc_pool = G.pool;
	G.alloc_fail = false;
	G.cap_r = G.cap_w = 0;
	G.now = 1000000; /* 1 s */
	G.t = tcp_create(p, SOCKET_ID_ANY, &err);
	assert_non_null(G.t);
	assert_int_equal(err, 0);
}

static inline void
tt_start_default(void)
{
	struct tcp_params p = tt_params();

	tt_start(&p);
}

/* Captured segments not popped yet. */
static inline unsigned
cap_n(void)
{
	return G.cap_w - G.cap_r;
}

static inline void
cap_clear(void)
{
	while (G.cap_r != G.cap_w) {
		rte_pktmbuf_free(G.cap[G.cap_r % CAP_MAX]);
		G.cap_r++;
	}
}

/* mbufs of the pools in use now, minus those sitting in the capture list. */
static inline unsigned
tt_mbufs_held(void)
{
	unsigned n = rte_mempool_in_use_count(G.pool) + rte_mempool_in_use_count(G.big_pool);

	for (unsigned i = G.cap_r; i != G.cap_w; i++)
		n -= G.cap[i % CAP_MAX]->nb_segs;
	return n;
}

/* Free what is left (also after a failed test, from the teardown). */
static inline int
tt_teardown(void **state)
{
	(void)state;
	cap_clear();
	tcp_destroy(&G.t);
	return 0;
}

/* The end of every test: the context destroyed (freeing what is left), no mbuf in use. */
static inline void
tt_finish(void)
{
	cap_clear();
	tcp_destroy(&G.t);
	assert_null(G.t);
	assert_int_equal(rte_mempool_in_use_count(G.pool), 0);
	assert_int_equal(rte_mempool_in_use_count(G.big_pool), 0);
}

static inline uint64_t
cnt(enum tcp_counter k)
{
	return tcp_counters(G.t)->c[k];
}
#define CNT(name) cnt(TCP_C_##name)

/* Connections in state @p s now. */
static inline uint32_t
tt_count(enum tcp_state s)
{
	uint32_t n[TCP_STATE_MAX];

	tcp_state_counts(G.t, n);
	return n[s];
}

/* Connections in any state. */
static inline uint32_t
tt_conns(void)
{
	uint32_t n[TCP_STATE_MAX], sum = 0;

	tcp_state_counts(G.t, n);
	for (int i = 0; i < TCP_STATE_MAX; i++)
		sum += n[i];
	return sum;
}

/* ---- the clock ---- */

static inline void
tt_flush(void)
{
	tcp_flush(G.t, G.now);
}

/* Let @p ms milliseconds pass, one at a time, as a worker loop would: timers, then flush. */
static inline void
tt_advance_ms(uint64_t ms)
{
	for (uint64_t i = 0; i < ms; i++) {
		G.now += 1000;
		tcp_timers(G.t, G.now);
		tcp_flush(G.t, G.now);
	}
}

/* Advance until at least one segment is captured or @p max_ms passed. @return ms waited. */
static inline uint64_t
tt_advance_until_output(uint64_t max_ms)
{
	for (uint64_t i = 1; i <= max_ms; i++) {
		tt_advance_ms(1);
		if (cap_n() > 0)
			return i;
	}
	return max_ms + 1;
}

/* ---- payload pattern ---- */

static inline uint8_t
pat(uint32_t off)
{
	return (uint8_t)(off * 131u + (off >> 8) * 7u + (off >> 16) + 1u);
}

static inline void
pat_fill(uint8_t *b, uint32_t off, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		b[i] = pat(off + i);
}

static inline void
pat_check(const uint8_t *b, uint32_t off, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (b[i] != pat(off + i))
			fail_msg("byte %u (stream offset %u): %02x, want %02x", i, off + i, b[i],
				 pat(off + i));
	}
}

/* ---- segments out (what the stack sent) ---- */

struct tseg {
	uint16_t sport, dport; /* host order */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	int mss;    /* MSS option, -1: none */
	int wscale; /* window scale option, -1: none */
	uint32_t hlen;
	uint32_t len; /* payload bytes */
	rte_be32_t dst;
	uint8_t data[SEG_DATA];
};

/* Pop and parse the oldest captured segment. @return false when there is none. */
static inline bool
cap_pop(struct tseg *s)
{
	struct rte_mbuf *m;
	struct rte_tcp_hdr th;
	const struct rte_tcp_hdr *h;
	uint8_t opt[40];

	if (G.cap_r == G.cap_w)
		return false;
	m = G.cap[G.cap_r % CAP_MAX];
	s->dst = G.cap_dst[G.cap_r % CAP_MAX];
	G.cap_r++;
	h = rte_pktmbuf_read(m, 0, sizeof(th), &th);
	assert_non_null(h);
	s->sport = rte_be_to_cpu_16(h->src_port);
	s->dport = rte_be_to_cpu_16(h->dst_port);
	s->seq = rte_be_to_cpu_32(h->sent_seq);
	s->ack = rte_be_to_cpu_32(h->recv_ack);
	s->flags = h->tcp_flags;
	s->win = rte_be_to_cpu_16(h->rx_win);
	s->hlen = (uint32_t)(h->data_off >> 4) * 4;
	assert_int_equal(h->cksum, 0); /* the io fills it */
	assert_true(s->hlen >= 20 && s->hlen <= m->pkt_len);
	s->mss = -1;
	s->wscale = -1;
	if (s->hlen > 20) {
		uint32_t n = s->hlen - 20, i = 0;
		const uint8_t *o = rte_pktmbuf_read(m, 20, n, opt);

		assert_non_null(o);
		while (i < n && o[i] != 0) {
			if (o[i] == 1) {
				i++;
				continue;
			}
			assert_true(i + 1 < n && o[i + 1] >= 2 && i + o[i + 1] <= n);
			if (o[i] == 2 && o[i + 1] == 4)
				s->mss = (o[i + 2] << 8) | o[i + 3];
			else if (o[i] == 3 && o[i + 1] == 3)
				s->wscale = o[i + 2];
			i += o[i + 1];
		}
	}
	s->len = m->pkt_len - s->hlen;
	assert_true(s->len <= SEG_DATA);
	if (s->len > 0) {
		const void *d = rte_pktmbuf_read(m, s->hlen, s->len, s->data);

		assert_non_null(d);
		if (d != s->data)
			memcpy(s->data, d, s->len);
	}
	rte_pktmbuf_free(m);
	return true;
}

static inline void
expect_seg(struct tseg *s)
{
	if (!cap_pop(s))
		fail_msg("expected a segment, none was sent");
	assert_int_equal(s->dst, PEER_IP);
}

static inline void
expect_none(void)
{
	if (cap_n() != 0) {
		struct tseg s;

		cap_pop(&s);
		fail_msg("expected no segment, got flags %#x seq %u ack %u len %u (%u more)",
			 s.flags, s.seq, s.ack, s.len, cap_n());
	}
}

/* ---- segments in (what the peer sends) ---- */

/* An mbuf holding exactly @p n bytes copied from @p bytes. */
static inline struct rte_mbuf *
raw_mbuf(const void *bytes, unsigned n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(G.pool);
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)n);
	assert_non_null(p);
	memcpy(p, bytes, n);
	return m;
}

/* Build one segment (options padded to 4 bytes) and give it to tcp_input(). */
static inline void
inject_from(rte_be32_t src, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
	    uint8_t flags, uint16_t win, const uint8_t *opt, unsigned optlen, const void *data,
	    unsigned len)
{
	static uint8_t frame[2048];
	unsigned olen = (optlen + 3) & ~3u;
	unsigned hlen = 20 + olen;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)frame;

	assert_true(hlen + len <= sizeof(frame));
	memset(frame, 0, hlen);
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)((hlen / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(win);
	if (optlen > 0)
		memcpy(frame + 20, opt, optlen);
	if (len > 0)
		memcpy(frame + hlen, data, len);
	tcp_input(G.t, raw_mbuf(frame, hlen + len), src, OUR_IP, G.now);
}

static inline void
inject(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
       const uint8_t *opt, unsigned optlen, const void *data, unsigned len)
{
	inject_from(PEER_IP, sport, dport, seq, ack, flags, win, opt, optlen, data, len);
}

/* SYN options: MSS (@p mss > 0) and window scale (@p wscale >= 0). @return their length. */
static inline unsigned
syn_opts(uint8_t *o, int mss, int wscale)
{
	unsigned n = 0;

	if (mss > 0) {
		o[n++] = 2;
		o[n++] = 4;
		o[n++] = (uint8_t)(mss >> 8);
		o[n++] = (uint8_t)mss;
	}
	if (wscale >= 0) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = (uint8_t)wscale;
	}
	return n;
}

/* ---- the peer ---- */

struct peer {
	uint16_t port;	/* the peer's port (host order) */
	uint16_t lport; /* ours */
	uint32_t nxt;	/* the peer's next sequence number */
	uint32_t una;	/* the next sequence the peer expects from us (what it ACKs) */
	uint32_t iss;	/* our ISS as the peer saw it */
	uint16_t win;	/* the window field the peer sends */
	uint8_t wscale; /* the shift it asked for (our sends are limited by win << wscale) */
	uint16_t mss;	/* our MSS as seen in our SYN(-ACK) */
	int our_wscale; /* the shift we offered (-1: none) */
	uint32_t rcvd;	/* payload bytes of ours the peer took in order */
	bool fin;	/* our FIN received */
	struct tcp_conn *c;
};

static inline struct peer
peer_new(uint16_t port, uint32_t isn)
{
	struct peer pr = {.port = port, .lport = LPORT, .nxt = isn, .win = 65535};

	return pr;
}

/* Send at the peer's next sequence (advanced by the payload, SYN and FIN). */
static inline void
pr_send(struct peer *pr, uint8_t flags, const void *data, unsigned len)
{
	inject(pr->port, pr->lport, pr->nxt, (flags & F_ACK) ? pr->una : 0, flags, pr->win, NULL, 0,
	       data, len);
	pr->nxt += len + !!(flags & F_SYN) + !!(flags & F_FIN);
}

/* Send at sequence @p seq without moving the peer's sequence. */
static inline void
pr_send_at(struct peer *pr, uint32_t seq, uint8_t flags, const void *data, unsigned len)
{
	inject(pr->port, pr->lport, seq, (flags & F_ACK) ? pr->una : 0, flags, pr->win, NULL, 0,
	       data, len);
}

/* The peer's pattern bytes [off, off + len) at sequence nxt. */
static inline void
pr_send_pat(struct peer *pr, uint8_t flags, uint32_t off, unsigned len)
{
	uint8_t buf[2048];

	assert_true(len <= sizeof(buf));
	pat_fill(buf, off, len);
	pr_send(pr, flags, buf, len);
}

/* The peer's pattern bytes [off, off + len) at sequence @p seq (nxt unchanged). */
static inline void
pr_send_pat_at(struct peer *pr, uint32_t seq, uint8_t flags, uint32_t off, unsigned len)
{
	uint8_t buf[2048];

	assert_true(len <= sizeof(buf));
	pat_fill(buf, off, len);
	pr_send_at(pr, seq, flags, buf, len);
}

static inline void
pr_ack(struct peer *pr)
{
	pr_send(pr, F_ACK, NULL, 0);
}

/* The peer's SYN with options. */
static inline void
pr_syn(struct peer *pr, int mss, int wscale)
{
	uint8_t o[8];
	unsigned n = syn_opts(o, mss, wscale);

	inject(pr->port, pr->lport, pr->nxt, 0, F_SYN, pr->win, o, n, NULL, 0);
	pr->nxt++;
}

/* Expect our SYN-ACK to pr's SYN; remember our ISS. */
static inline void
pr_expect_synack(struct peer *pr, struct tseg *s)
{
	expect_seg(s);
	assert_int_equal(s->flags, F_SYN | F_ACK);
	assert_int_equal(s->sport, pr->lport);
	assert_int_equal(s->dport, pr->port);
	assert_int_equal(s->ack, pr->nxt);
	assert_int_equal(s->len, 0);
	pr->iss = s->seq;
	pr->una = s->seq + 1;
	pr->mss = (uint16_t)s->mss;
	pr->our_wscale = s->wscale;
}

/* The connection named in an event of @p kind for peer port @p port, or NULL. */
static inline struct tcp_conn *
ev_find_port(enum tcp_event_kind kind, uint16_t port)
{
	struct tcp_event ev[64];
	unsigned n = tcp_events(G.t, ev, 64);

	for (unsigned i = 0; i < n; i++) {
		rte_be32_t ip;
		rte_be16_t p;

		tcp_conn_peer(ev[i].conn, &ip, &p);
		if (ev[i].kind == kind && rte_be_to_cpu_16(p) == port && ip == PEER_IP)
			return ev[i].conn;
	}
	return NULL;
}

/* Whether tcp_events() reports @p kind for @p c now. */
static inline bool
ev_has(struct tcp_conn *c, enum tcp_event_kind kind)
{
	struct tcp_event ev[64];
	unsigned n = tcp_events(G.t, ev, 64);

	for (unsigned i = 0; i < n; i++)
		if (ev[i].conn == c && ev[i].kind == kind)
			return true;
	return false;
}

/*
 * Passive open: SYN (with @p mss > 0 and @p wscale >= 0 options when given), our SYN-ACK,
 * the peer's ACK, and the ACCEPTED event. @return the connection.
 */
static inline struct tcp_conn *
pr_accept(struct peer *pr, int mss, int wscale)
{
	struct tseg s;

	pr_syn(pr, mss, wscale);
	pr_expect_synack(pr, &s);
	if (wscale >= 0)
		pr->wscale = (uint8_t)wscale;
	pr_ack(pr);
	expect_none();
	pr->c = ev_find_port(TCP_EV_ACCEPTED, pr->port);
	assert_non_null(pr->c);
	assert_int_equal(tcp_conn_state(pr->c), TCP_S_ESTABLISHED);
	return pr->c;
}

/* The usual connection: MSS 1460, window scale 7 offered by the peer, window 65535 << 7. */
static inline struct tcp_conn *
pr_accept_default(struct peer *pr)
{
	return pr_accept(pr, 1460, 7);
}

/* ---- our data, seen from the peer ---- */

/* The application sends pattern bytes [off, off + n). @return tcp_sendv's result. */
static inline ssize_t
app_send_pat(struct tcp_conn *c, uint32_t off, uint32_t n)
{
	static uint8_t buf[1 << 20];
	struct iovec iov = {.iov_base = buf, .iov_len = n};

	assert_true(n <= sizeof(buf));
	pat_fill(buf, off, n);
	return tcp_sendv(G.t, c, &iov, 1);
}

/* Read exactly @p n bytes (in chunks of at most @p chunk) and check them against the pattern. */
static inline void
app_recv_pat(struct tcp_conn *c, uint32_t off, uint32_t n, size_t chunk)
{
	static uint8_t buf[1 << 20];
	uint32_t got = 0;

	while (got < n) {
		size_t want = n - got < chunk ? n - got : chunk;
		ssize_t r = tcp_recv(G.t, c, buf, want);

		if (r <= 0)
			fail_msg("tcp_recv: %zd after %u of %u bytes", r, got, n);
		pat_check(buf, off + got, (uint32_t)r);
		got += (uint32_t)r;
	}
}

/*
 * The peer takes a captured data segment of ours: in order (seq == una), pattern bytes at
 * stream offset seq - (iss + 1). A FIN is taken too. Does not ACK.
 */
static inline void
pr_take(struct peer *pr, const struct tseg *s)
{
	assert_int_equal(s->dport, pr->port);
	assert_true(s->flags & F_ACK);
	assert_int_equal(s->seq, pr->una);
	pat_check(s->data, s->seq - (pr->iss + 1), s->len);
	pr->una += s->len;
	pr->rcvd += s->len;
	if (s->flags & F_FIN) {
		pr->una++;
		pr->fin = true;
	}
}

/* Pop every captured segment; in-order data goes to the peer. @return data segments. */
static inline unsigned
pr_take_all(struct peer *pr)
{
	struct tseg s;
	unsigned n = 0;

	while (cap_pop(&s)) {
		if (s.len > 0 || (s.flags & F_FIN)) {
			pr_take(pr, &s);
			n++;
		}
	}
	return n;
}

/*
 * The peer waits for @p n bytes: every 100 ms (at most 100 times) it takes the in-order data
 * segments captured and ACKs. The caller checks pr->rcvd.
 */
static inline void
pr_receive_acking(struct peer *pr, uint64_t n)
{
	struct tseg s;

	for (int i = 0; i < 100 && pr->rcvd < n; i++) {
		tt_advance_ms(100);
		while (cap_pop(&s)) {
			if (s.len > 0 && s.seq == pr->una)
				pr_take(pr, &s);
		}
		pr_ack(pr);
	}
}

/* Like pr_take_all, for segments of several connections: each goes to its peer by port. */
static inline unsigned
peers_take_all(struct peer *const *prs, unsigned n)
{
	struct tseg s;
	unsigned segs = 0;

	while (cap_pop(&s)) {
		unsigned i = 0;

		while (i < n && (prs[i]->port != s.dport || prs[i]->lport != s.sport))
			i++;
		if (i == n)
			fail_msg("segment to port %u: no such peer", s.dport);
		if (s.len > 0 || (s.flags & F_FIN)) {
			pr_take(prs[i], &s);
			segs++;
		}
	}
	return segs;
}

/*
 * Place our ISS at @p want for the next SYN from @p port: ISN = F(4-tuple, secret) + now / 4 µs
 * (RFC 6528), so learn F with a SYN now (then reset it) and move the clock.
 */
static inline void
place_our_iss(uint16_t port, uint32_t want)
{
	struct peer probe = peer_new(port, 1);
	uint32_t half_open = tt_count(TCP_S_SYN_RECEIVED);
	struct tseg s;

	pr_syn(&probe, 1460, 7);
	pr_expect_synack(&probe, &s);
	pr_send(&probe, F_RST, NULL, 0); /* exact sequence: gone */
	assert_int_equal(tt_count(TCP_S_SYN_RECEIVED), half_open);
	assert_int_equal(G.now % 4, 0);
	G.now += 4ull * (uint32_t)(want - s.seq);
	tcp_timers(G.t, G.now);
}

#endif /* NC_TEST_TCP_TEST_H */
