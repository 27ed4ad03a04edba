/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for lib/tcp (tcp/tcp.h): a script of operations against one context.
 *
 * Each input creates a context with small limits (8 connections, SYN backlog 2, 4 TIME_WAIT,
 * 8 out-of-order segments; MTU, receive/send buffer, mbuf budget, retry counts and a few io
 * behaviours picked by the first two bytes), runs the script, lets the clock run 20 minutes
 * ahead (timers and flushes, no peer answering) and destroys the context.
 *
 * Input: byte 0 = MTU (bits 0-1: 1500 576 88 9000), receive buffer (bits 2-3: default, 4096,
 * 65535, 1 MiB), mbuf budget (bits 4-5: default, 150, 200, 400), io.steers_here (bit 6), the
 * io holds sent mbufs like a TX queue (bit 7); byte 1 = 2 retries (bit 0), 1 SYN retry (bit 1),
 * MSL 1 s and FIN_WAIT_2 3 s (bit 2), 4 KiB send buffer (bit 3), TSO (bit 4: tso_max 65495,
 * as lib/net offers; with bit 5 tight limits: tso_max 5000, 3 segments a frame, only for an
 * MSS up to 1400, so the default 1460 goes one by one). Then operations, each an opcode byte
 * (mod 16) and its arguments (missing bytes read as 0):
 *
 *   0-4  segment   from one of 4 peers to the listening port, to the last port an active open
 *                  used towards that peer, or to a closed port; flags; sequence raw or relative
 *                  to the peer's next one or to our last ACK; ACK number raw or relative to
 *                  our highest sequence or to the peer's last ACK (duplicate ACKs); window;
 *                  options (MSS, window scale, SACK permitted, raw bytes); payload length;
 *                  in one mbuf, in an exact-size external buffer (ASan sees reads past the
 *                  frame), chained in two mbufs, or malformed (short, any data offset, not to
 *                  our address)
 *   5    burst     up to 256 in-order data segments on a 4-tuple (fills the receive queue)
 *   6    clock     advance the fake clock (1 ms .. 550 s) and run tcp_timers()
 *   7    flush     tcp_flush()
 *   8    events    tcp_events(): accepted connections become application handles
 *   9-11 app       on a handle: tcp_recv or tcp_recv_lend, tcp_sendv, tcp_close, tcp_abort,
 *                  tcp_shutdown, tcp_want_writable, accessors, read everything
 *   12   connect   tcp_connect() to a peer (its handle is known at once)
 *   13   txdrain   free the mbufs the io holds, give back the lent segments
 *   14   allocfail the next 0-7 io.alloc() calls fail
 *   15   loop      one server loop iteration: events, read what is readable (maybe close),
 *                  flush
 * FUZZ_TCP_TRACE=1 in the environment prints the operations, segments and connections.
 *
 * Checks (abort() on violation, so libFuzzer reports it):
 *   - every segment the context sends: header length, checksum 0, flags consistent, options
 *     well formed (SYN: MSS and what was offered; ACK: SACK blocks that are exactly the
 *     out-of-order ranges held, above the ACK, the latest first), a SYN's sequence is the
 *     ISS, no byte beyond what the application wrote, payload bytes equal to what the
 *     application wrote at that sequence, a FIN right after the last byte, new data within
 *     the peer's and the congestion window, the ACK number
 *     never going back and the advertised right edge never moving back (but for SYN-cookie
 *     connections, which do not know what their stateless SYN-ACK offered);
 *   - a TSO frame only with TSO on: new data only (no SYN, RST or FIN), tso_segsz the MSS,
 *     more than one segment and at most tso_max bytes and tso_segs segments, the header alone
 *     in the first mbuf, then one indirect mbuf per send-buffer segment whose mbuf has no
 *     next pointer; every wire segment the NIC would cut checked as above;
 *   - every byte the application reads equals what a peer sent at that sequence (payload
 *     bytes are a function of their sequence number), and an EOF comes exactly at a FIN a
 *     peer sent; after an EOF no more bytes;
 *   - after every operation the context's bookkeeping: mbufs held (budget count) equal to
 *     those in send, receive and out-of-order queues and lent, within the budget (lending
 *     only below half of it), and to the mempool's in-use count (with what the io holds: its
 *     frames' own mbufs, and send-buffer mbufs only its indirect mbufs still reference; the
 *     io's mbufs are not in the budget); no send-buffer mbuf chained; connection,
 *     SYN_RECEIVED and TIME_WAIT counts;
 *     send and receive queue byte counts and sequence contiguity; timer wheel membership;
 *     ready and pending lists;
 *   - return values of the application calls are among the documented ones, events name
 *     only connections the application holds (accepted ones once);
 *   - liveness: after 20 silent minutes no connection the application closed is left, but
 *     for one probing a zero (or too small) window, which a closed connection does for ever;
 *   - at the end, after tcp_destroy(), the mempool's in-use count is back where it started.
 *
 * Build: tests/fuzz/meson.build (links lib/tcp; EAL without hugepages for the mempool).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tcp/tcp.h"
#include "tcp/tcp_private.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOCAL_IP    RTE_BE32(0x0a000001) /* 10.0.0.1 */
#define LISTEN_PORT 11211
#define NPEERS	    4
#define NTUPS	    32
#define NHANDLES    32
#define NHELD	    64
#define NLENT	    48
#define NFINS	    16
#define FRAME_MAX   2048
#define POOL_SIZE   4095
#define MAX_SEGS    4096 /* segments injected per input at most */
#define MAX_OPS	    4096 /* operations per input at most */

static const rte_be32_t peer_ip[NPEERS] = {RTE_BE32(0x0a000002), RTE_BE32(0x0a000002),
					   RTE_BE32(0x0a000003), RTE_BE32(0x0a000004)};
static const uint16_t peer_port[NPEERS] = {40000, 40001, 40000, 11211};

/* The checkers are not coverage-instrumented: their loops would only add noise features. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))

static void
fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_tcp: check failed at line %d: %s\n", line, what);
	abort();
}
#define CHECK(cond)                            \
	do {                                   \
		if (!(cond))                   \
			fail(#cond, __LINE__); \
	} while (0)

/* What a peer's byte at sequence x is, and what the application writes at sequence x. */
static inline uint8_t
byte_at(uint32_t x)
{
	return (uint8_t)((x * 2654435761u) >> 24);
}

/** Fill @p n bytes at @p p with the bytes of sequence @p x on (per-byte loops: not traced). */
static NO_COVERAGE void
fill_seq(uint8_t *p, uint32_t n, uint32_t x)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = byte_at(x + i);
}

/** Whether the @p n bytes at @p p are those of sequence @p x on. */
static NO_COVERAGE bool
is_seq(const uint8_t *p, uint32_t n, uint32_t x)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != byte_at(x + i))
			return false;
	return true;
}

/** What the fuzzer knows of one 4-tuple (a peer and one of our ports). */
struct tup {
	bool used;
	uint8_t peer;
	rte_be16_t lport;
	bool seen;	  /* we sent something non-RST on it */
	uint32_t our_end; /* highest seq + len (+SYN/FIN) we sent */
	bool acked;
	uint32_t our_ack; /* last ACK number we sent */
	bool conn_ok;
	uint64_t serial; /* of the connection the numbers below are about */
	bool edge_ok;
	bool edge_syn;	   /* ... in a SYN-ACK */
	uint32_t edge;	   /* right edge we advertised */
	uint32_t peer_nxt; /* what the peer sends next */
	uint32_t peer_ack; /* the last ACK number the peer sent */
	uint32_t fins[NFINS];
	uint8_t nfins;
	bool fins_over;
};

/** An application handle (a connection the application was told about). */
struct handle {
	struct tcp_conn *c;
	uintptr_t tag;
	uint64_t read; /* bytes read */
	bool eof;      /* tcp_recv returned 0 */
	bool want_wr;
	bool pending_connect; /* from tcp_connect, CONNECTED not yet reported */
};

struct rd {
	const uint8_t *p;
	size_t n;
};

static struct {
	struct rte_mempool *pool;
	unsigned base_in_use;
	struct tcp_ctx *t;
	struct tcp_params prm;
	uint64_t now;
	struct tup tups[NTUPS];
	unsigned tup_rr;
	bool tup_forgot; /* a 4-tuple's record was overwritten (see tup_get) */
	struct handle h[NHANDLES];
	unsigned nh;
	uintptr_t next_tag;
	rte_be16_t active_lport[NPEERS];
	bool hold_tx;
	struct rte_mbuf *held[NHELD];
	unsigned nheld;
	struct rte_mbuf *lent[NLENT]; /* segments tcp_recv_lend() lent, not given back yet */
	unsigned nlent;
	unsigned alloc_fail;
	unsigned segs_left; /* segments one input may still inject (bounds a run's time) */
	bool in_output;	    /* re-entrancy guard (output never calls back) */
	bool trace;	    /* FUZZ_TCP_TRACE set: print the script and the segments */
	uint8_t frame[FRAME_MAX];
	uint8_t buf[65536];
} F;

/* ---- input reader ---- */

static uint8_t
u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t
u16(struct rd *r)
{
	return (uint16_t)(u8(r) << 8 | u8(r));
}

static uint32_t
u32(struct rd *r)
{
	return (uint32_t)u16(r) << 16 | u16(r);
}

/** The delta in bits 1-7 of @p b: -64..63, beyond +-40 in steps of 300 (to about 7 KiB). */
static int32_t
delta7(uint8_t b)
{
	int32_t d = (int8_t)(b & 0xfe) / 2;

	if (d > 40 || d < -40)
		d = (d > 0 ? d - 40 : d + 40) * 300;
	return d;
}

/* ---- the 4-tuple model ---- */

static struct tup *
tup_get(uint8_t peer, rte_be16_t lport, bool create)
{
	struct tup *u;

	for (unsigned i = 0; i < NTUPS; i++)
		if (F.tups[i].used && F.tups[i].peer == peer && F.tups[i].lport == lport)
			return &F.tups[i];
	if (!create)
		return NULL;
	u = &F.tups[F.tup_rr++ % NTUPS];
	/*
	 * Once a slot was reused, a 4-tuple made again may have a past (FINs sent on it) that was
	 * forgotten: where its EOF may come is then not checked.
	 */
	F.tup_forgot |= u->used;
	*u = (struct tup){.used = true,
			  .peer = peer,
			  .lport = lport,
			  .peer_nxt = 0x10000000u * (peer + 1) + 1000u,
			  .fins_over = F.tup_forgot};
	return u;
}

static int
peer_of(rte_be32_t ip, rte_be16_t port)
{
	for (int i = 0; i < NPEERS; i++)
		if (peer_ip[i] == ip && rte_cpu_to_be_16(peer_port[i]) == port)
			return i;
	return -1;
}

/* ---- the io ---- */

static struct rte_mbuf *
io_alloc(void *arg)
{
	(void)arg;
	if (F.alloc_fail > 0) {
		F.alloc_fail--;
		return NULL;
	}
	return rte_pktmbuf_alloc(F.pool);
}

static bool
io_steers(void *arg, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport)
{
	(void)arg;
	(void)rip;
	(void)rport;
	return (rte_be_to_cpu_16(lport) % 3) != 1;
}

static void
held_release(void)
{
	for (unsigned i = 0; i < F.nheld; i++)
		rte_pktmbuf_free(F.held[i]);
	F.nheld = 0;
}

/** The options of a segment we send. */
struct out_opts {
	bool mss, ws, sack_ok;
	unsigned nsack;
	uint32_t l[4], r[4];
};

static uint32_t
be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** Parse (and check the form of) the @p n option bytes at @p o. */
static NO_COVERAGE void
parse_out_options(const uint8_t *o, uint32_t n, struct out_opts *oo)
{
	uint32_t i = 0;

	memset(oo, 0, sizeof(*oo));
	while (i < n) {
		uint8_t kind = o[i], len;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		CHECK(i + 1 < n);
		len = o[i + 1];
		CHECK(len >= 2 && i + len <= n);
		switch (kind) {
		case 2:
			CHECK(len == 4 && !oo->mss);
			oo->mss = true;
			break;
		case 3:
			CHECK(len == 3 && !oo->ws && o[i + 2] <= TCP_WSCALE_MAX);
			oo->ws = true;
			break;
		case 4:
			CHECK(len == 2 && !oo->sack_ok);
			oo->sack_ok = true;
			break;
		case 5:
			CHECK(oo->nsack == 0 && len >= 10 && (len - 2) % 8 == 0 &&
			      len <= 2 + 8 * 4);
			for (uint32_t k = 0; k < (len - 2u) / 8; k++) {
				oo->l[k] = be32_at(o + i + 2 + 8 * k);
				oo->r[k] = be32_at(o + i + 6 + 8 * k);
			}
			oo->nsack = (len - 2u) / 8;
			break;
		default:
			CHECK(0); /* we send no other option */
		}
		i += len;
	}
}

/**
 * SACK blocks (RFC 2018) in an ACK of @p c: each exactly one range of the out-of-order
 * data held (segments merged where they touch), above the cumulative ACK, none twice; as
 * many as there are ranges (up to 4); the first the range of the latest segment received.
 */
static NO_COVERAGE void
check_sack(const struct tcp_conn *c, const struct out_opts *oo, uint32_t ack)
{
	uint32_t l[256], r[256];
	unsigned n = 0, latest = UINT32_MAX;

	CHECK(c->sack_ok);
	for (uint16_t i = 0; i < c->ooo_n;) {
		uint32_t a = c->ooo[i].seq, b = a + c->ooo[i].len;
		bool has_latest = false;

		for (; i < c->ooo_n && SEQ_LEQ(c->ooo[i].seq, b); i++) {
			if (SEQ_GT(c->ooo[i].seq + c->ooo[i].len, b))
				b = c->ooo[i].seq + c->ooo[i].len;
			has_latest |= c->ooo[i].seq == c->ooo_last;
		}
		if (a == b || n == RTE_DIM(l))
			continue;
		if (has_latest)
			latest = n;
		l[n] = a;
		r[n++] = b;
	}
	CHECK(oo->nsack == (n < 4 ? n : 4));
	for (unsigned k = 0; k < oo->nsack; k++) {
		bool found = false;

		CHECK(SEQ_LT(ack, oo->l[k]) && SEQ_LT(oo->l[k], oo->r[k]));
		for (unsigned j = 0; j < n; j++)
			found |= oo->l[k] == l[j] && oo->r[k] == r[j];
		CHECK(found);
		for (unsigned j = 0; j < k; j++)
			CHECK(oo->l[j] != oo->l[k]);
	}
	if (latest != UINT32_MAX)
		CHECK(oo->l[0] == l[latest] && oo->r[0] == r[latest]);
}

/**
 * A TSO frame @p m (TCP header of @p hlen bytes, @p len payload bytes) of @p c: TSO on, new
 * data of more than one segment of the MSS, within the limits, built as lib/tcp builds it.
 */
static NO_COVERAGE void
check_tso_frame(const struct rte_mbuf *m, const struct tcp_conn *c, uint32_t hlen, uint32_t len,
		uint8_t fl)
{
	uint32_t segs;

	CHECK(F.prm.tso_max != 0);
	CHECK(c != NULL && !(fl & (TCP_F_SYN | TCP_F_RST | TCP_F_FIN)) && (fl & TCP_F_ACK));
	CHECK(m->tso_segsz == c->mss && len > c->mss && len <= F.prm.tso_max);
	CHECK(F.prm.tso_mss_max == 0 || c->mss <= F.prm.tso_mss_max);
	segs = (len + c->mss - 1) / c->mss;
	CHECK(F.prm.tso_segs == 0 || segs <= F.prm.tso_segs);
	CHECK(m->data_len == hlen && m->nb_segs == segs + 1);
	for (const struct rte_mbuf *s = m->next; s != NULL; s = s->next) {
		const struct rte_mbuf *d = rte_mbuf_from_indirect((struct rte_mbuf *)s);

		CHECK(RTE_MBUF_CLONED(s) && s->nb_segs == 1);
		CHECK(d->next == NULL && d->nb_segs == 1 && rte_mbuf_refcnt_read(d) >= 2);
		CHECK(s->data_len == (s->next != NULL ? c->mss : len - (segs - 1) * c->mss));
	}
}

/** Check one segment the context sends. */
static NO_COVERAGE void
check_segment(struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip)
{
	const struct rte_tcp_hdr *th;
	struct rte_tcp_hdr thc;
	uint32_t hlen, len, seq, ack, sum = 0;
	uint8_t fl;
	struct tcp_conn *c;
	int peer;
	struct tup *u;
	struct out_opts oo;
	bool tso;

	CHECK(src_ip == LOCAL_IP);
	for (struct rte_mbuf *s = m; s != NULL; s = s->next)
		sum += s->data_len;
	CHECK(sum == m->pkt_len);
	CHECK(m->data_len >= sizeof(*th));
	CHECK(rte_pktmbuf_headroom(m) >= 18 + 20);
	th = rte_pktmbuf_read(m, 0, sizeof(thc), &thc);
	hlen = (uint32_t)(th->data_off >> 4) * 4;
	CHECK(hlen >= 20 && hlen <= m->data_len);
	CHECK((th->data_off & 0x0f) == 0);
	CHECK(th->cksum == 0 && th->tcp_urp == 0);
	fl = th->tcp_flags;
	len = m->pkt_len - hlen;
	tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
	seq = rte_be_to_cpu_32(th->sent_seq);
	ack = rte_be_to_cpu_32(th->recv_ack);
	CHECK((fl & ~(TCP_F_FIN | TCP_F_SYN | TCP_F_RST | TCP_F_PSH | TCP_F_ACK)) == 0);
	CHECK(!((fl & TCP_F_SYN) && (fl & (TCP_F_RST | TCP_F_FIN))));
	CHECK(!((fl & TCP_F_RST) && (fl & (TCP_F_FIN | TCP_F_PSH))));
	CHECK((fl & TCP_F_ACK) || ack == 0);
	CHECK((fl & (TCP_F_ACK | TCP_F_SYN | TCP_F_RST)) != 0);
	CHECK(len == 0 || (fl & TCP_F_ACK));
	CHECK(!(fl & (TCP_F_SYN | TCP_F_RST)) || len == 0);
	parse_out_options(rte_pktmbuf_mtod_offset(m, const uint8_t *, 20), hlen - 20, &oo);
	if (fl & TCP_F_SYN)
		CHECK(oo.mss && oo.nsack == 0);
	else
		CHECK(!oo.mss && !oo.ws && !oo.sack_ok);
	CHECK(oo.nsack == 0 || (fl & (TCP_F_ACK | TCP_F_RST)) == TCP_F_ACK);
	if (F.trace)
		fprintf(stderr,
			"  out %u>%u %s%s%s%s%s seq %u ack %u win %u len %u%s%s sack %u%s\n",
			rte_be_to_cpu_16(th->src_port), rte_be_to_cpu_16(th->dst_port),
			fl & TCP_F_SYN ? "S" : "", fl & TCP_F_FIN ? "F" : "",
			fl & TCP_F_RST ? "R" : "", fl & TCP_F_PSH ? "P" : "",
			fl & TCP_F_ACK ? "." : "", seq, ack, rte_be_to_cpu_16(th->rx_win), len,
			oo.ws ? " ws" : "", oo.sack_ok ? " sackok" : "", oo.nsack,
			tso ? " tso" : "");
	if (tso)
		CHECK(F.prm.tso_max != 0);
	if (fl & TCP_F_RST)
		return; /* an RST's numbers come from the segment it answers */

	c = tcp_lookup(F.t, dst_ip, th->dst_port, th->src_port);
	peer = peer_of(dst_ip, th->dst_port);
	CHECK(peer >= 0);
	u = tup_get((uint8_t)peer, th->src_port, true);
	if (c != NULL && (!u->conn_ok || u->serial != c->serial)) {
		/*
		 * Another connection on this 4-tuple (its SYN-ACK may not have gone out; with the
		 * clock standing still it may even have the same ISS).
		 */
		u->conn_ok = true;
		u->serial = c->serial;
		u->acked = false;
		u->edge_ok = false;
	}
	if (c == NULL) {
		/* Only a SYN-ACK carrying a cookie goes out with no connection (MSS alone). */
		CHECK(fl == (TCP_F_SYN | TCP_F_ACK) && !oo.ws && !oo.sack_ok);
		CHECK(th->src_port == rte_cpu_to_be_16(LISTEN_PORT));
	} else if (fl & TCP_F_SYN) {
		CHECK(seq == c->iss);
		CHECK(c->state == TCP_S_SYN_SENT || c->state == TCP_S_SYN_RECEIVED);
		CHECK(((fl & TCP_F_ACK) != 0) == (c->state == TCP_S_SYN_RECEIVED));
		/* A SYN offers window scaling and SACK; a SYN-ACK only what the peer's SYN had. */
		CHECK(oo.ws == (c->state == TCP_S_SYN_SENT || c->wscale_ok));
		CHECK(oo.sack_ok == (c->state == TCP_S_SYN_SENT || c->sack_ok));
	} else {
		if (oo.nsack > 0)
			check_sack(c, &oo, ack);
		uint32_t end = seq + len + !!(fl & TCP_F_FIN);

		CHECK(c->state != TCP_S_SYN_SENT && c->state != TCP_S_CLOSED);
		CHECK(SEQ_LEQ(c->iss, seq));
		/* A segment after our FIN (an ACK) has the FIN's sequence + 1. */
		CHECK(SEQ_LEQ(seq + len, c->snd_end) ||
		      (c->fin_sent && len == 0 && !(fl & TCP_F_FIN) && seq == c->snd_end + 1));
		if (fl & TCP_F_FIN) {
			CHECK(c->shut_wr);
			CHECK(seq + len == c->snd_end);
		}
		if (tso)
			check_tso_frame(m, c, hlen, len, fl);
		if (len > 0) {
			static uint8_t pl[UINT16_MAX];
			const uint8_t *p;

			CHECK((len <= c->mss || tso) && len <= sizeof(pl));
			p = rte_pktmbuf_read(m, hlen, len, pl);
			CHECK(p != NULL);
			/* Each wire segment (the NIC's cuts of a TSO frame) in turn. */
			for (uint32_t off = 0; off < len; off += c->mss) {
				uint32_t n = len - off < c->mss ? len - off : c->mss;

				CHECK(is_seq(p + off, n, seq + off));
				if (SEQ_GT(seq + off + n, c->snd_max)) {
					/* New data: within the peer's and the congestion window. */
					CHECK(SEQ_LEQ(seq + off + n, c->snd_una + c->snd_wnd));
					CHECK(SEQ_LEQ(seq + off + n, c->snd_una + c->cwnd));
				} else {
					CHECK(!tso); /* a TSO frame carries only new data */
				}
			}
		}
		(void)end;
	}
	if (fl & TCP_F_SYN) {
		u->seen = true;
		u->our_end = seq + 1;
		u->acked = false;
		u->edge_ok = false;
	} else {
		uint32_t end = seq + len + !!(fl & TCP_F_FIN);

		if (!u->seen || SEQ_GT(end, u->our_end))
			u->our_end = end;
		u->seen = true;
	}
	if (fl & TCP_F_ACK) {
		uint8_t shift = (fl & TCP_F_SYN) || c == NULL ? 0 : c->rcv_wscale;
		uint32_t edge = ack + ((uint32_t)rte_be_to_cpu_16(th->rx_win) << shift);

		if (u->acked && c != NULL && !(fl & TCP_F_SYN))
			CHECK(SEQ_GEQ(ack, u->our_ack));
		/*
		 * The right edge never moves back (but for the rounding of the scaled window).
		 * Known exception: a connection made from a SYN cookie does not know the window
		 * its SYN-ACK (sent without state) offered.
		 */
		if (u->edge_ok && c != NULL && !(fl & TCP_F_SYN) && !(c->cookie && u->edge_syn))
			CHECK(SEQ_GT(edge + (1u << shift), u->edge));
		u->acked = true;
		u->our_ack = ack;
		if (!u->edge_ok || SEQ_GT(edge, u->edge) || (fl & TCP_F_SYN)) {
			u->edge = edge;
			u->edge_syn = (fl & TCP_F_SYN) != 0;
		}
		u->edge_ok = true;
	}
}

static int
io_output(void *arg, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip)
{
	(void)arg;
	CHECK(!F.in_output);
	F.in_output = true;
	check_segment(m, src_ip, dst_ip);
	F.in_output = false;
	if (F.hold_tx) {
		if (F.nheld == NHELD)
			held_release();
		F.held[F.nheld++] = m;
		return 0;
	}
	rte_pktmbuf_free(m);
	return 0;
}

/* ---- bookkeeping checks ---- */

static NO_COVERAGE bool
on_list(struct tcp_conn *head, struct tcp_conn *c, size_t next_off, unsigned *len)
{
	bool found = false;

	*len = 0;
	for (struct tcp_conn *x = head; x != NULL;
	     x = *(struct tcp_conn **)((char *)x + next_off)) {
		CHECK(++*len <= F.t->nslots);
		if (x == c)
			found = true;
	}
	return found;
}

static int
ptr_cmp(const void *a, const void *b)
{
	const void *const *pa = a, *const *pb = b;
	uintptr_t x = (uintptr_t)*pa, y = (uintptr_t)*pb;

	return x < y ? -1 : x > y;
}

/**
 * mbufs in use only because the io holds frames: each frame's own mbufs (its indirect ones
 * included), and the direct mbufs behind them (a lent send-buffer segment, or the segments
 * a TSO frame's indirect mbufs reference) that the queues no longer hold. A direct mbuf
 * referenced r times by held frames has a reference count of r, or r + 1 while a queue
 * holds it too (counted there).
 */
static NO_COVERAGE unsigned
held_only_mbufs(void)
{
	static const struct rte_mbuf *d[NHELD * 520];
	unsigned n = 0, extra = 0;

	for (unsigned i = 0; i < F.nheld; i++) {
		for (const struct rte_mbuf *s = F.held[i]; s != NULL; s = s->next) {
			CHECK(n < RTE_DIM(d));
			if (RTE_MBUF_CLONED(s)) {
				extra++; /* the indirect mbuf itself */
				d[n++] = rte_mbuf_from_indirect((struct rte_mbuf *)s);
			} else {
				d[n++] = s;
			}
		}
	}
	qsort(d, n, sizeof(d[0]), ptr_cmp);
	for (unsigned i = 0; i < n;) {
		unsigned r = 1;
		uint16_t ref = rte_mbuf_refcnt_read(d[i]);

		while (i + r < n && d[i + r] == d[i])
			r++;
		CHECK(ref == r || ref == r + 1);
		extra += ref == r;
		i += r;
	}
	return extra;
}

static NO_COVERAGE void
check_ctx(void)
{
	struct tcp_ctx *t = F.t;
	uint32_t mbufs = 0, nconns = 0, ntw = 0, nsyn = 0, nwheel = 0, n = 0, extra = 0;
	uint32_t counts[TCP_STATE_MAX], mine[TCP_STATE_MAX] = {0};
	unsigned len;

	for (uint32_t i = 0; i < t->nslots; i++) {
		struct tcp_conn *c = t->conns[i];
		uint32_t bytes = 0;
		bool armed = false;

		if (c == NULL)
			continue;
		n++;
		mine[c->state]++;
		CHECK(c->id == (int)i);
		CHECK(c->state != TCP_S_LISTEN);
		if (c->state == TCP_S_TIME_WAIT)
			ntw++;
		else
			nconns++;
		if (c->state == TCP_S_SYN_RECEIVED)
			nsyn++;
		/* In its hash chain. */
		{
			struct tcp_conn *x = t->hash[c->hash & t->hash_mask];

			while (x != NULL && x != c)
				x = x->hnext;
			CHECK(x == c);
		}
		/* Send buffer. */
		CHECK(c->sndq_n <= TCP_SNDQ_SLOTS && c->sndq_next <= c->sndq_n);
		for (uint16_t k = 0; k < c->sndq_n; k++) {
			struct tcp_snd_seg *e = &c->sndq[(c->sndq_head + k) % TCP_SNDQ_SLOTS];

			CHECK(e->m != NULL && e->len > 0);
			CHECK(e->m->next == NULL && e->m->nb_segs == 1); /* never chained (TSO) */
			if (k + 1 < c->sndq_n)
				CHECK(e->seq + e->len ==
				      c->sndq[(c->sndq_head + k + 1) % TCP_SNDQ_SLOTS].seq);
			else
				CHECK(e->seq + e->len == c->snd_end);
			bytes += e->len;
			mbufs++;
		}
		CHECK(bytes == c->snd_bytes);
		CHECK(c->snd_bytes <= t->p.sndbuf);
		/* Receive queue and out-of-order queue. */
		bytes = 0;
		CHECK(c->rcvq_n <= TCP_RCVQ_SLOTS);
		for (uint16_t k = 0; k < c->rcvq_n; k++) {
			struct tcp_rcv_seg *s = &c->rcvq[(c->rcvq_head + k) % TCP_RCVQ_SLOTS];

			CHECK(s->m != NULL && s->len > 0);
			CHECK(s->off + s->len <= s->m->pkt_len);
			bytes += s->len;
			mbufs += s->m->nb_segs;
		}
		CHECK(bytes == c->rcv_bytes);
		CHECK(c->ooo_n <= t->p.ooo_max);
		for (uint16_t k = 0; k < c->ooo_n; k++) {
			struct tcp_ooo_seg *o = &c->ooo[k];

			CHECK(o->m != NULL);
			CHECK(o->off + o->len <= o->m->pkt_len);
			if (k > 0)
				CHECK(SEQ_LEQ(c->ooo[k - 1].seq, o->seq));
			mbufs += o->m->nb_segs;
		}
		/* Sequence space. */
		if (c->state >= TCP_S_ESTABLISHED && c->state != TCP_S_TIME_WAIT) {
			CHECK(SEQ_LEQ(c->snd_una, c->snd_max));
			CHECK(SEQ_LEQ(c->snd_max, c->snd_end + 1));
		}
		/* Timers: in the wheel exactly when one is armed (a closed one may keep stale ones). */
		for (int k = 0; k < TCP_T_MAX; k++)
			if (c->timer[k] != 0)
				armed = true;
		if (c->wprev != NULL) {
			nwheel++;
			CHECK(armed);
			CHECK(*c->wprev == c);
		} else if (c->state != TCP_S_CLOSED) {
			CHECK(!armed);
		}
		/* Lists. */
		CHECK(on_list(t->ready, c, offsetof(struct tcp_conn, ready_next), &len) ==
		      c->on_ready);
		CHECK(on_list(t->pending, c, offsetof(struct tcp_conn, pending_next), &len) ==
		      c->on_pending);
		CHECK(!(c->orphan && c->on_ready));
	}
	CHECK(n + t->nfree == t->nslots);
	CHECK(t->nconns == nconns);
	CHECK(t->ntw == ntw);
	CHECK(t->nsyn_rcvd == nsyn);
	CHECK(t->wheel_n == nwheel);
	for (unsigned i = 0; i < F.nlent; i++)
		mbufs += F.lent[i]->nb_segs;
	CHECK(t->mbufs == mbufs);
	CHECK(t->mbufs <= t->p.mbuf_budget); /* "mbufs all queues of the context may hold" */
	/* Lists hold only live connections (walked above for membership; here for length). */
	on_list(t->ready, NULL, offsetof(struct tcp_conn, ready_next), &len);
	on_list(t->pending, NULL, offsetof(struct tcp_conn, pending_next), &len);
	tcp_state_counts(t, counts);
	CHECK(memcmp(counts, mine, sizeof(counts)) == 0);
	/* The mempool: queues, plus what the io holds and the queues do not share. */
	extra = held_only_mbufs();
	CHECK(rte_mempool_in_use_count(F.pool) == F.base_in_use + mbufs + extra);
}

/* ---- handles ---- */

static struct handle *
handle_of(struct tcp_conn *c)
{
	for (unsigned i = 0; i < F.nh; i++)
		if (F.h[i].c == c)
			return &F.h[i];
	return NULL;
}

static struct handle *
handle_add(struct tcp_conn *c)
{
	struct handle *h;

	CHECK(handle_of(c) == NULL);
	CHECK(F.nh < NHANDLES);
	h = &F.h[F.nh++];
	*h = (struct handle){.c = c, .tag = ++F.next_tag};
	tcp_conn_set_user(c, (void *)h->tag);
	return h;
}

static void
handle_drop(struct handle *h)
{
	*h = F.h[--F.nh];
}

/** tcp_events() for up to @p max events, checked; accepted connections become handles. */
static unsigned
do_events(struct tcp_event *ev, unsigned max)
{
	unsigned n;

	n = tcp_events(F.t, ev, max);
	CHECK(n <= max);
	CHECK(n == 0 || tcp_has_events(F.t));
	for (unsigned i = 0; i < n; i++) {
		struct handle *h = handle_of(ev[i].conn);

		for (unsigned j = 0; j < i; j++)
			CHECK(ev[j].conn != ev[i].conn);
		switch (ev[i].kind) {
		case TCP_EV_ACCEPTED:
			CHECK(h == NULL && ev[i].user == NULL);
			CHECK(ev[i].conn->passive);
			handle_add(ev[i].conn);
			break;
		case TCP_EV_CONNECTED:
			CHECK(h != NULL && h->pending_connect);
			CHECK(ev[i].user == (void *)h->tag);
			h->pending_connect = false;
			break;
		case TCP_EV_READABLE:
			CHECK(h != NULL && ev[i].user == (void *)h->tag);
			h->pending_connect = false;
			break;
		case TCP_EV_WRITABLE:
			CHECK(h != NULL && ev[i].user == (void *)h->tag);
			CHECK(h->want_wr);
			break;
		default:
			CHECK(0);
		}
	}
	return n;
}

/** tcp_recv on @p h with checks; @return its result. */
static ssize_t
do_recv(struct handle *h, size_t cap)
{
	struct tcp_conn *c = h->c;
	ssize_t r;

	if (cap > sizeof(F.buf))
		cap = sizeof(F.buf);
	r = tcp_recv(F.t, c, F.buf, cap);
	if (r > 0) {
		uint32_t at = c->irs + 1 + (uint32_t)h->read;

		CHECK((size_t)r <= cap);
		CHECK(!h->eof);
		CHECK(is_seq(F.buf, (uint32_t)r, at));
		h->read += (uint64_t)r;
	} else if (r == 0) {
		if (!h->eof && c->rport != 0 && c->rcv_fin) {
			/* An EOF comes where a peer put a FIN. */
			int peer = peer_of(c->rip, c->rport);
			struct tup *u = peer >= 0 ? tup_get((uint8_t)peer, c->lport, false) : NULL;
			uint32_t at = c->irs + 1 + (uint32_t)h->read;

			if (u != NULL && !u->fins_over) {
				bool found = false;

				for (unsigned i = 0; i < u->nfins; i++)
					found |= u->fins[i] == at;
				CHECK(found);
			}
		}
		h->eof = true;
	} else {
		CHECK(r == -EAGAIN || r == -ECONNRESET || r == -ETIMEDOUT || r == -ECONNREFUSED);
	}
	return r;
}

/** Give back every segment tcp_recv_lend() lent. */
static void
lent_release(void)
{
	for (unsigned i = 0; i < F.nlent; i++)
		tcp_lent_release(F.t, F.lent[i]);
	F.nlent = 0;
}

/** tcp_recv_lend on @p h (up to @p max segments) with checks; keeps what it lends. */
static void
do_lend(struct handle *h, unsigned max)
{
	struct tcp_conn *c = h->c;
	struct tcp_lent l[16];
	uint32_t before = F.t->mbufs;
	int n;

	if (max > NLENT - F.nlent)
		lent_release();
	if (max > 16)
		max = 16;
	n = tcp_recv_lend(F.t, c, l, max);
	if (n > 0) {
		CHECK((unsigned)n <= max);
		CHECK(before < F.t->p.mbuf_budget / 2);
		for (int i = 0; i < n; i++) {
			uint32_t at = c->irs + 1 + (uint32_t)h->read;

			CHECK(!h->eof);
			CHECK(l[i].len >= TCP_LEND_MIN && l[i].m->nb_segs == 1);
			CHECK(l[i].data >= rte_pktmbuf_mtod(l[i].m, const uint8_t *) &&
			      l[i].data + l[i].len <=
				      rte_pktmbuf_mtod(l[i].m, const uint8_t *) + l[i].m->data_len);
			CHECK(is_seq(l[i].data, l[i].len, at));
			h->read += l[i].len;
			F.lent[F.nlent++] = l[i].m;
		}
	} else if (n == -ENOBUFS) {
		CHECK(c->rcvq_n > 0);
	} else {
		/* Nothing waiting: tcp_recv says the same (and checks an EOF's place). */
		CHECK(do_recv(h, 1) == n);
	}
}

static void
do_sendv(struct handle *h, size_t len, unsigned niov)
{
	struct iovec iov[3];
	size_t per, off = 0;
	uint32_t at = h->c->snd_end;
	ssize_t r;

	if (len > sizeof(F.buf))
		len = sizeof(F.buf);
	fill_seq(F.buf, (uint32_t)len, at);
	if (niov < 1 || niov > 3)
		niov = 1;
	per = len / niov;
	for (unsigned i = 0; i < niov; i++) {
		iov[i].iov_base = F.buf + off;
		iov[i].iov_len = i + 1 == niov ? len - off : per;
		off += iov[i].iov_len;
	}
	r = tcp_sendv(F.t, h->c, iov, niov);
	if (r >= 0) {
		CHECK(r > 0 && (size_t)r <= len);
		CHECK(h->c->snd_end == at + (uint32_t)r);
	} else {
		CHECK(r == -EAGAIN || r == -EPIPE);
		CHECK(h->c->snd_end == at);
	}
}

static void
do_app(struct rd *r)
{
	struct handle *h;
	uint8_t op;

	if (F.nh == 0) {
		u8(r);
		u8(r);
		return;
	}
	h = &F.h[u8(r) % F.nh];
	op = u8(r);
	switch (op % 9) {
	case 0:
		if (op / 9 % 2)
			do_lend(h, (unsigned)u8(r) % 16 + 1);
		else
			do_recv(h, (size_t)u8(r) * 16 + 1);
		break;
	case 1:
		do_sendv(h, (size_t)u8(r) * 24 + 1, op / 9 % 3 + 1);
		break;
	case 2:
		tcp_close(F.t, h->c);
		handle_drop(h);
		break;
	case 3:
		tcp_abort(F.t, h->c);
		handle_drop(h);
		break;
	case 4: {
		int rc = tcp_shutdown(F.t, h->c);

		CHECK(rc == 0 || rc == -ENOTCONN);
		break;
	}
	case 5:
		h->want_wr = (op / 9) & 1;
		tcp_want_writable(F.t, h->c, h->want_wr);
		break;
	case 6: {
		rte_be32_t ip;
		rte_be16_t port;

		CHECK(tcp_conn_user(h->c) == (void *)h->tag);
		tcp_conn_peer(h->c, &ip, &port);
		CHECK(ip == h->c->rip && port == h->c->rport);
		CHECK(tcp_conn_local_port(h->c) == h->c->lport);
		CHECK(tcp_conn_id(h->c) >= 0 && (uint32_t)tcp_conn_id(h->c) < F.t->nslots);
		CHECK((unsigned)tcp_conn_state(h->c) < TCP_STATE_MAX);
		CHECK(tcp_state_name(tcp_conn_state(h->c))[0] != '?');
		CHECK(tcp_conn_unacked(h->c) == h->c->snd_bytes);
		break;
	}
	case 7:
	case 8: {
		/* Read everything there is, in pieces of one size. */
		size_t cap = (size_t)u8(r) * 64 + 64;

		for (int i = 0; i < 1024 && do_recv(h, cap) > 0; i++)
			;
		break;
	}
	}
}

static void
do_loop(struct rd *r)
{
	struct tcp_event ev[16];
	uint8_t mode = u8(r);
	unsigned n = do_events(ev, RTE_DIM(ev));

	for (unsigned i = 0; i < n; i++) {
		struct handle *h = handle_of(ev[i].conn);

		CHECK(h != NULL);
		if (ev[i].kind == TCP_EV_READABLE ||
		    (ev[i].kind == TCP_EV_ACCEPTED && (mode & 2))) {
			ssize_t rc;

			while ((rc = do_recv(h, 4096)) > 0)
				;
			if (rc != -EAGAIN && (mode & 1)) {
				tcp_close(F.t, h->c);
				handle_drop(h);
			}
		}
	}
	tcp_flush(F.t, F.now);
}

/* ---- segments ---- */

struct segspec {
	uint8_t peer;
	rte_be16_t lport;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint8_t opt[40];
	uint8_t optlen;
	uint32_t len;
	uint8_t mode; /* 0 plain, 1 exact external buffer, 2 chained, 3 malformed */
	uint8_t bad;  /* malformed: what */
	uint16_t split;
};

struct ext {
	struct rte_mbuf_ext_shared_info sh;
};

static void
ext_free(void *addr, void *opaque)
{
	free(addr);
	free(opaque);
}

/** An mbuf holding @p size bytes of @p data in an exact-size malloc'd buffer. */
static struct rte_mbuf *
ext_mbuf(const uint8_t *data, size_t size)
{
	struct ext *e = malloc(sizeof(*e));
	uint8_t *buf = malloc(RTE_PKTMBUF_HEADROOM + size);
	struct rte_mbuf *m = rte_pktmbuf_alloc(F.pool);

	if (e == NULL || buf == NULL || m == NULL) {
		free(e);
		free(buf);
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(buf + RTE_PKTMBUF_HEADROOM, data, size);
	e->sh.free_cb = ext_free;
	e->sh.fcb_opaque = e;
	rte_mbuf_ext_refcnt_set(&e->sh, 1);
	rte_pktmbuf_attach_extbuf(m, buf, 0, (uint16_t)(RTE_PKTMBUF_HEADROOM + size), &e->sh);
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = (uint16_t)size;
	m->pkt_len = (uint32_t)size;
	return m;
}

static struct rte_mbuf *
plain_mbuf(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(F.pool);
	uint8_t *p;

	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)size);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, data, size);
	return m;
}

static void
inject(const struct segspec *s)
{
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)F.frame;
	uint32_t optlen = (s->optlen + 3u) & ~3u;
	uint32_t hlen = 20 + optlen;
	uint32_t len = s->len;
	uint32_t size;
	uint32_t first = s->seq + !!(s->flags & TCP_F_SYN);
	rte_be32_t dst = LOCAL_IP;
	struct rte_mbuf *m;
	struct tup *u;

	if (F.segs_left == 0)
		return;
	F.segs_left--;
	if (hlen + len > FRAME_MAX)
		len = FRAME_MAX - hlen;
	size = hlen + len;
	memset(F.frame, 0, hlen);
	th->src_port = rte_cpu_to_be_16(peer_port[s->peer]);
	th->dst_port = s->lport;
	th->sent_seq = rte_cpu_to_be_32(s->seq);
	th->recv_ack = rte_cpu_to_be_32(s->ack);
	th->data_off = (uint8_t)((hlen / 4) << 4);
	th->tcp_flags = s->flags;
	th->rx_win = rte_cpu_to_be_16(s->win);
	memcpy(F.frame + 20, s->opt, s->optlen);
	fill_seq(F.frame + hlen, len, first);
	if (s->mode == 3) {
		switch (s->bad % 4) {
		case 0:
			size = s->split % 20; /* shorter than a header */
			break;
		case 1:
			th->data_off = (uint8_t)(s->split << 4); /* any data offset */
			break;
		case 2:
			dst = RTE_BE32(0x0a000009); /* not ours */
			break;
		case 3:
			th->data_off = (uint8_t)((s->split & 0xf) << 4 | (s->split >> 4 & 0xf));
			break;
		}
		if (s->bad % 4 == 1 || s->bad % 4 == 3) {
			/* The payload is where the data offset says: keep its bytes those of its sequence. */
			uint32_t h2 = (uint32_t)(th->data_off >> 4) * 4;

			if (h2 >= 20 && h2 < size)
				fill_seq(F.frame + h2, size - h2, first);
			else if (h2 < 20 && size > 20)
				fill_seq(F.frame + 20, size - 20, first + (20 - h2));
		}
	}
	if (s->mode == 1 || s->mode == 3) {
		m = ext_mbuf(F.frame, size);
	} else if (s->mode == 2 && size >= 2) {
		/* Split in the payload; or (split bit 7, or no payload) anywhere, header too. */
		uint32_t cut = size > hlen && !(s->split & 0x80) ?
				       hlen + (s->split & 0x7fu) % (size - hlen) :
				       1 + s->split % (size - 1);
		struct rte_mbuf *tail;

		m = plain_mbuf(F.frame, cut);
		tail = plain_mbuf(F.frame + cut, size - cut);
		if (m == NULL || tail == NULL || rte_pktmbuf_chain(m, tail) != 0) {
			rte_pktmbuf_free(m);
			rte_pktmbuf_free(tail);
			m = NULL;
		}
	} else {
		m = plain_mbuf(F.frame, size);
	}
	if (m == NULL)
		return;
	if (F.trace)
		fprintf(stderr, "  in  %u>%u %s%s%s%s%s seq %u ack %u win %u len %u mode %u\n",
			peer_port[s->peer], rte_be_to_cpu_16(s->lport),
			s->flags & TCP_F_SYN ? "S" : "", s->flags & TCP_F_FIN ? "F" : "",
			s->flags & TCP_F_RST ? "R" : "", s->flags & TCP_F_PSH ? "P" : "",
			s->flags & TCP_F_ACK ? "." : "", s->seq, s->ack, s->win, len, s->mode);
	u = tup_get(s->peer, s->lport, true);
	u->peer_nxt = first + len + !!(s->flags & TCP_F_FIN);
	if (s->flags & TCP_F_ACK)
		u->peer_ack = s->ack;
	if ((s->flags & TCP_F_FIN) && size >= 20) {
		/* Where the FIN is as the context sees it (after the payload the data offset gives). */
		uint32_t h2 = (uint32_t)(th->data_off >> 4) * 4;

		if (h2 >= 20 && h2 <= size) {
			if (u->nfins < NFINS)
				u->fins[u->nfins++] = first + (size - h2);
			else
				u->fins_over = true;
		}
	}
	tcp_input(F.t, m, peer_ip[s->peer], dst, F.now);
}

static rte_be16_t
pick_lport(uint8_t peer, uint8_t sel)
{
	switch (sel & 3) {
	case 0:
		return rte_cpu_to_be_16(LISTEN_PORT);
	case 1:
		if (F.active_lport[peer] != 0)
			return F.active_lport[peer];
		return rte_cpu_to_be_16(LISTEN_PORT);
	case 2:
		return rte_cpu_to_be_16(9999);
	default:
		return F.active_lport[(peer + 1) % NPEERS] != 0 ?
			       F.active_lport[(peer + 1) % NPEERS] :
			       rte_cpu_to_be_16(LISTEN_PORT);
	}
}

static void
do_segment(struct rd *r)
{
	struct segspec s = {0};
	uint8_t b0 = u8(r);
	uint8_t ob, lb;
	struct tup *u;

	s.peer = b0 & 3;
	s.lport = pick_lport(s.peer, b0 >> 2);
	s.mode = (b0 >> 4) & 3;
	s.flags = u8(r);
	u = tup_get(s.peer, s.lport, true);
	if (b0 & 0x40)
		s.seq = u32(r);
	else {
		/* Bit 0: from the peer's next sequence or from the last ACK we sent. */
		uint8_t b = u8(r);

		s.seq = ((b & 1) && u->acked ? u->our_ack : u->peer_nxt) + (uint32_t)delta7(b);
	}
	if (b0 & 0x80)
		s.ack = u32(r);
	else {
		/* Bit 0: from the peer's last ACK (duplicate ACKs) or from our highest sequence. */
		uint8_t b = u8(r);

		s.ack = ((b & 1) ? u->peer_ack : u->seen ? u->our_end : 0) + (uint32_t)delta7(b);
	}
	{
		uint8_t w = u8(r);

		s.win = w == 255 ? u16(r) : (uint16_t)(w * 257u);
	}
	ob = u8(r);
	if (ob & 1) {
		uint16_t mss = (ob & 0x10) ? u16(r) : 1460;

		s.opt[s.optlen++] = 2;
		s.opt[s.optlen++] = 4;
		s.opt[s.optlen++] = (uint8_t)(mss >> 8);
		s.opt[s.optlen++] = (uint8_t)mss;
	}
	if (ob & 2) {
		s.opt[s.optlen++] = 1;
		s.opt[s.optlen++] = 3;
		s.opt[s.optlen++] = 3;
		s.opt[s.optlen++] = (ob & 0x20) ? u8(r) : 7;
	}
	if (ob & 4) {
		uint8_t n = u8(r) % 25;

		for (uint8_t i = 0; i < n; i++)
			s.opt[s.optlen++] = u8(r);
	}
	if (ob & 8)
		s.opt[s.optlen++] = 1;
	if (ob & 0x40) {
		s.opt[s.optlen++] = 4; /* SACK permitted */
		s.opt[s.optlen++] = 2;
	}
	lb = u8(r);
	if (lb < 64)
		s.len = lb;
	else if (lb < 192)
		s.len = (uint32_t)(lb - 64) * 12;
	else
		s.len = u16(r) % FRAME_MAX;
	if (s.mode >= 2) {
		s.split = u8(r);
		s.bad = u8(r);
	}
	inject(&s);
}

static void
do_burst(struct rd *r)
{
	uint8_t b0 = u8(r);
	unsigned n = (unsigned)u8(r) + 1;
	uint8_t lb = u8(r);
	struct segspec s = {0};
	struct tup *u;

	s.peer = b0 & 3;
	s.lport = pick_lport(s.peer, b0 >> 2);
	s.mode = (b0 & 0x10) ? 2 : 0;
	s.flags = TCP_F_ACK | ((b0 & 0x20) ? TCP_F_PSH : 0);
	/* Bit 6: from the last ACK we sent instead of the peer's next sequence; bit 7: flush every 8. */
	s.win = 65535;
	s.len = lb == 0 ? 1 : lb;
	s.split = 0; /* chained: header alone in the first mbuf */
	u = tup_get(s.peer, s.lport, true);
	s.seq = (b0 & 0x40) && u->acked ? u->our_ack : u->peer_nxt;
	for (unsigned i = 0; i < n && F.segs_left > 0; i++) {
		s.ack = u->seen ? u->our_end : 0;
		inject(&s);
		s.seq += s.len;
		if ((b0 & 0x80) && i % 8 == 7)
			tcp_flush(F.t, F.now);
	}
}

static void
do_clock(struct rd *r)
{
	uint8_t b = u8(r);
	uint64_t ms;

	if (b < 100)
		ms = b;
	else if (b < 200)
		ms = (uint64_t)(b - 100) * 100;
	else
		ms = (uint64_t)(b - 200) * 10000;
	F.now += ms * 1000 + (b & 1) * 357;
	tcp_timers(F.t, F.now);
}

static void
do_connect(struct rd *r)
{
	uint8_t peer = u8(r) % NPEERS;
	struct tcp_conn *c = NULL;
	int rc = tcp_connect(F.t, peer_ip[peer], rte_cpu_to_be_16(peer_port[peer]), F.now, &c);

	if (rc == 0) {
		struct handle *h;

		CHECK(c != NULL && c->state == TCP_S_SYN_SENT);
		CHECK(F.t->p.io.steers_here == NULL || io_steers(NULL, c->rip, c->rport, c->lport));
		h = handle_add(c);
		h->pending_connect = true;
		F.active_lport[peer] = c->lport;
	} else {
		CHECK(rc == -ENOBUFS || rc == -EADDRNOTAVAIL);
	}
}

/* ---- setup and the run ---- */

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_tcp: %s failed\n", what);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz_tcp",
		       "--no-huge",
		       "--no-shconf",
		       "--no-pci",
		       "--no-telemetry",
		       "--log-level=*:error",
		       "-m",
		       "128",
		       "--lcores",
		       "0",
		       "--file-prefix",
		       "nc_fuzz_tcp",
		       NULL};

	(void)argc;
	(void)argv;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		die("rte_eal_init");
	F.pool = rte_pktmbuf_pool_create("fz_tcp_pool", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	if (F.pool == NULL)
		die("rte_pktmbuf_pool_create");
	F.trace = getenv("FUZZ_TCP_TRACE") != NULL;
	return 0;
}

static const uint16_t mtu_choice[4] = {1500, 576, 88, 9000};
static const uint32_t rcvbuf_choice[4] = {0, 4096, 65535, 1u << 20};
static const uint32_t budget_choice[4] = {0, 150, 200, 400};
static const uint32_t tso_max_choice[2] = {UINT16_MAX - 40, 5000};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = {.p = data, .n = size};
	uint8_t c0 = u8(&r), c1 = u8(&r);
	int err;
	unsigned ops = 0;

	memset(&F.tups, 0, sizeof(F.tups));
	F.tup_rr = 0;
	F.tup_forgot = false;
	F.nh = 0;
	F.next_tag = 0;
	memset(F.active_lport, 0, sizeof(F.active_lport));
	F.nheld = 0;
	F.nlent = 0;
	F.alloc_fail = 0;
	F.segs_left = MAX_SEGS;
	F.now = 5000000000ull;
	F.hold_tx = (c0 & 0x80) != 0;
	F.base_in_use = rte_mempool_in_use_count(F.pool);
	F.prm = (struct tcp_params){
		.local_ip = LOCAL_IP,
		.listen_port = LISTEN_PORT,
		.mtu = mtu_choice[c0 & 3],
		.max_conns = 8,
		.syn_backlog = 2,
		.time_wait_max = 4,
		.rcvbuf = rcvbuf_choice[(c0 >> 2) & 3],
		.sndbuf = (c1 & 8) ? 4096 : 0,
		.ooo_max = 8,
		.mbuf_budget = budget_choice[(c0 >> 4) & 3],
		.retries = (c1 & 1) ? 2 : 0,
		.syn_retries = (c1 & 2) ? 1 : 0,
		.msl_ms = (c1 & 4) ? 1000 : 0,
		.fin_wait_2_ms = (c1 & 4) ? 3000 : 0,
		.tso_max = (c1 & 0x10) == 0 ? 0 : tso_max_choice[(c1 >> 5) & 1],
		.tso_segs = (c1 & 0x30) == 0x30 ? 3 : 0,
		.tso_mss_max = (c1 & 0x30) == 0x30 ? 1400 : 0,
		.secret = {0x0123456789abcdefull, 0xfedcba9876543210ull},
		.io = {.alloc = io_alloc,
		       .output = io_output,
		       .steers_here = (c0 & 0x40) ? io_steers : NULL},
	};
	F.t = tcp_create(&F.prm, SOCKET_ID_ANY, &err);
	if (F.t == NULL)
		die("tcp_create");
	while (r.n > 0 && ops++ < MAX_OPS) {
		uint8_t op = u8(&r);

		if (F.trace)
			fprintf(stderr, "op %u (%u) at %llu us\n", op % 16, op,
				(unsigned long long)F.now);
		switch (op % 16) {
		case 0:
		case 1:
		case 2:
		case 3:
		case 4:
			do_segment(&r);
			break;
		case 5:
			do_burst(&r);
			break;
		case 6:
			do_clock(&r);
			break;
		case 7:
			tcp_flush(F.t, F.now);
			break;
		case 8: {
			struct tcp_event ev[8];

			do_events(ev, (unsigned)u8(&r) % 8 + 1);
			break;
		}
		case 9:
		case 10:
		case 11:
			do_app(&r);
			break;
		case 12:
			do_connect(&r);
			break;
		case 13:
			held_release();
			lent_release();
			break;
		case 14:
			F.alloc_fail = u8(&r) % 8;
			break;
		case 15:
			do_loop(&r);
			break;
		}
		check_ctx();
		if (F.trace) {
			uint32_t n[TCP_STATE_MAX];

			tcp_state_counts(F.t, n);
			fprintf(stderr, "  states:");
			for (int k = 0; k < TCP_STATE_MAX; k++)
				if (n[k] != 0)
					fprintf(stderr, " %s=%u", tcp_state_name((enum tcp_state)k),
						n[k]);
			fprintf(stderr, " handles=%u mbufs=%u\n", F.nh, F.t->mbufs);
			for (uint32_t i = 0; i < F.t->nslots; i++) {
				struct tcp_conn *c = F.t->conns[i];

				if (c != NULL)
					fprintf(stderr,
						"    #%u %s %u>%u rcv %u (q %u ooo %u%s) snd una %u nxt %u "
						"max %u end %u wnd %u cwnd %u%s%s\n",
						i, tcp_state_name(c->state),
						rte_be_to_cpu_16(c->rport),
						rte_be_to_cpu_16(c->lport), c->rcv_nxt - c->irs,
						c->rcvq_n, c->ooo_n, c->rcv_fin ? " fin" : "",
						c->snd_una - c->iss, c->snd_nxt - c->iss,
						c->snd_max - c->iss, c->snd_end - c->iss,
						c->snd_wnd, c->cwnd, c->orphan ? " orphan" : "",
						c->cookie ? " cookie" : "");
			}
		}
	}
	/* Let time run: every timer fires, retries end, TIME_WAIT and FIN_WAIT_2 end. */
	F.alloc_fail = 0;
	for (int i = 0; i < 40; i++) {
		held_release();
		F.now += 30ull * 1000000;
		tcp_timers(F.t, F.now);
		tcp_flush(F.t, F.now);
		check_ctx();
	}
	held_release();
	check_ctx();
	/*
	 * Liveness: 20 minutes without a word from any peer end every connection the application
	 * gave up (retries, FIN_WAIT_2 and TIME_WAIT timers). Known exception, reported: an
	 * orphan whose peer offers a zero window probes it for ever.
	 */
	for (uint32_t i = 0; i < F.t->nslots; i++) {
		struct tcp_conn *c = F.t->conns[i];

		if (c != NULL && c->orphan)
			CHECK(c->sndq_next < c->sndq_n && c->snd_wnd < c->mss &&
			      c->timer[TCP_T_PERSIST] != 0);
	}
	lent_release();
	tcp_destroy(&F.t);
	CHECK(F.t == NULL);
	held_release();
	CHECK(rte_mempool_in_use_count(F.pool) == F.base_in_use);
	return 0;
}
