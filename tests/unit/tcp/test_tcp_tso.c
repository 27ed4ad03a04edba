/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tcp: TCP segmentation offload (tcp_params.tso_max). The io here plays a NIC that cuts
 * TSO frames as DPDK's TSO does: every frame is logged (sequence, payload, tso_segsz, mbufs),
 * checked (a header mbuf alone, then indirect mbufs on send-buffer mbufs that have no next
 * pointer), then cut into wire segments of tso_segsz payload (sequence advanced, PSH and FIN
 * only on the last) that the harness captures as usual, so the peer model of tcp_test.h reads
 * the same trace as without TSO. Covered: a large reply in few frames, byte-exact; frames
 * bounded by the peer's window, cwnd, tso_max, tso_segs and tso_mss_max; the short last segment
 * and PSH; retransmissions (timeout, go-back-N, fast retransmit) as single segments; a NIC that
 * still holds frames (retransmission copies, the budget); no mbuf for a frame (single segments
 * instead); the send buffer's mbufs never chained, and every mbuf back at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_test.h"
#include "tcp/tcp_private.h"

#define TSO_MAX	   (65535 - 40) /* what lib/net offers: NET_TSO_PAYLOAD_MAX */
#define FRAMES_MAX 1024
#define HELD_MAX   64

/* One frame the io was given. */
struct frame {
	uint32_t seq;
	uint32_t len;	/* payload bytes */
	uint16_t segsz; /* tso_segsz (0: not a TSO frame) */
	uint16_t mbufs; /* nb_segs */
	uint16_t wire;	/* segments it became */
	uint8_t flags;
};

static struct {
	struct frame log[FRAMES_MAX];
	unsigned n; /* frames logged */
	bool hold;  /* keep TSO frames like a NIC that has not sent them yet */
	struct rte_mbuf *held[HELD_MAX];
	unsigned nheld;
} N;

/* ---- the NIC ---- */

/* A TSO frame's mbufs: the header alone first, then indirect mbufs on unchained mbufs. */
static void
check_frame_mbufs(const struct rte_mbuf *m, uint32_t hlen)
{
	assert_int_equal(m->data_len, hlen);
	for (const struct rte_mbuf *s = m->next; s != NULL; s = s->next) {
		const struct rte_mbuf *d = rte_mbuf_from_indirect((struct rte_mbuf *)s);

		assert_true(RTE_MBUF_CLONED(s));
		assert_null(d->next);
		assert_int_equal(d->nb_segs, 1);
		assert_true(rte_mbuf_refcnt_read(d) >= 2); /* the send buffer's and ours */
		assert_true(s->data_len > 0);
	}
}

/* Copy @p len bytes at @p off of chain @p m to @p dst. */
static void
read_into(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst)
{
	const void *p = rte_pktmbuf_read(m, off, len, dst);

	assert_non_null(p);
	if (p != dst)
		memcpy(dst, p, len);
}

/* The wire segment of TSO frame @p m with payload [off, off + len), as a plain mbuf. */
static struct rte_mbuf *
cut_one(const struct rte_mbuf *m, uint32_t hlen, uint32_t off, uint32_t len, bool last)
{
	struct rte_mbuf *w = rte_pktmbuf_alloc(G.pool);
	struct rte_tcp_hdr *th;
	uint8_t *p;

	assert_non_null(w);
	p = (uint8_t *)rte_pktmbuf_append(w, (uint16_t)(hlen + len));
	assert_non_null(p);
	read_into(m, 0, hlen, p);
	read_into(m, hlen + off, len, p + hlen);
	th = (struct rte_tcp_hdr *)p;
	th->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) + off);
	if (!last)
		th->tcp_flags &= (uint8_t) ~(F_PSH | F_FIN);
	return w;
}

static int
nic_output(void *arg, struct rte_mbuf *m, rte_be32_t src, rte_be32_t dst)
{
	const struct rte_tcp_hdr *th = rte_pktmbuf_mtod(m, const struct rte_tcp_hdr *);
	uint32_t hlen = (uint32_t)(th->data_off >> 4) * 4, len = m->pkt_len - hlen;
	struct frame *f = &N.log[N.n % FRAMES_MAX];

	*f = (struct frame){.seq = rte_be_to_cpu_32(th->sent_seq),
			    .len = len,
			    .mbufs = m->nb_segs,
			    .wire = 1,
			    .flags = th->tcp_flags};
	N.n++;
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))
		return io_output(arg, m, src, dst);
	f->segsz = m->tso_segsz;
	assert_true(m->tso_segsz > 0 && len > m->tso_segsz);
	assert_int_equal(th->tcp_flags & (F_SYN | F_RST | F_FIN), 0);
	check_frame_mbufs(m, hlen);
	f->wire = 0;
	for (uint32_t off = 0; off < len; off += m->tso_segsz) {
		uint32_t n = len - off < m->tso_segsz ? len - off : m->tso_segsz;

		io_output(arg, cut_one(m, hlen, off, n, off + n == len), src, dst);
		f->wire++;
	}
	if (N.hold && N.nheld < HELD_MAX)
		N.held[N.nheld++] = m;
	else
		rte_pktmbuf_free(m);
	return 0;
}

/* The NIC sends what it held. */
static void
nic_release(void)
{
	for (unsigned i = 0; i < N.nheld; i++)
		rte_pktmbuf_free(N.held[i]);
	N.nheld = 0;
}

/* ---- helpers ---- */

static void
tso_start(uint32_t tso_max, uint16_t tso_segs, uint16_t tso_mss_max)
{
	struct tcp_params p = tt_params();

	memset(&N, 0, sizeof(N));
	p.io.output = nic_output;
	p.tso_max = tso_max;
	p.tso_segs = tso_segs;
	p.tso_mss_max = tso_mss_max;
	tt_start(&p);
}

static int
tso_teardown(void **state)
{
	nic_release();
	return tt_teardown(state);
}

/* The frame logged @p back frames ago (0: the last). */
static const struct frame *
frame_last(unsigned back)
{
	assert_true(N.n > back);
	return &N.log[(N.n - 1 - back) % FRAMES_MAX];
}

/* No mbuf of @p c's send buffer is chained (a TSO frame must never link them). */
static void
check_sndq(const struct tcp_conn *c)
{
	for (uint16_t k = 0; k < c->sndq_n; k++) {
		const struct tcp_snd_seg *e = &c->sndq[(c->sndq_head + k) % TCP_SNDQ_SLOTS];

		assert_null(e->m->next);
		assert_int_equal(e->m->nb_segs, 1);
	}
}

/* Flush; @return frames the io got. */
static unsigned
flush_frames(const struct tcp_conn *c)
{
	unsigned before = N.n;

	tt_flush();
	check_sndq(c);
	return N.n - before;
}

/* The peer takes every captured wire segment in order and ACKs each (as Linux ACKs often). */
static unsigned
pr_take_ack_each(struct peer *pr)
{
	struct tseg s;
	unsigned n = 0;

	while (cap_pop(&s)) {
		if (s.len == 0 && !(s.flags & F_FIN))
			continue;
		pr_take(pr, &s);
		pr_ack(pr);
		n++;
	}
	return n;
}

/* ---- tests ---- */

/* 100 KB as few frames: tso_segsz the MSS, sequence right, PSH on the very last byte only. */
static void
test_tso_large_reply(void **state)
{
	const uint32_t total = 100000, segs = (total + OUR_MSS - 1) / OUR_MSS;
	struct peer pr = peer_new(PPORT, 1);
	struct tcp_conn *c;
	unsigned frames = 0, tso = 0, wire = 0, psh = 0;
	struct tseg s;

	(void)state;
	tso_start(TSO_MAX, 0, 0);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, total), total);
	/* The initial window (10 MSS) goes as one frame of 10 segments. */
	assert_int_equal(flush_frames(c), 1);
	assert_int_equal(frame_last(0)->segsz, OUR_MSS);
	assert_int_equal(frame_last(0)->len, 10 * OUR_MSS);
	assert_int_equal(frame_last(0)->seq, pr.una);
	assert_int_equal(frame_last(0)->mbufs, 11);
	assert_int_equal(cap_n(), 10);
	for (int i = 0; i < 10; i++) {
		expect_seg(&s);
		assert_int_equal(s.len, OUR_MSS);
		assert_int_equal(s.flags, F_ACK);
		pr_take(&pr, &s);
	}
	assert_int_equal(c->snd_nxt, pr.una);
	assert_int_equal(c->snd_max, pr.una);
	assert_int_equal(c->rtt_seq, pr.iss + 1 + OUR_MSS); /* timing the first segment */
	assert_true(c->timer[TCP_T_RTO] != 0);
	pr_ack(&pr);
	frames = tso = 1;
	wire = 10;
	/* The rest as the window grows (one ACK per segment: cwnd + 1 MSS each). */
	while (pr.rcvd < total) {
		unsigned before = N.n;

		frames += flush_frames(c);
		for (unsigned i = before; i < N.n; i++) {
			const struct frame *f = &N.log[i % FRAMES_MAX];

			assert_true(f->segsz == 0 || f->segsz == OUR_MSS);
			assert_true(f->len <= TSO_MAX);
			tso += f->segsz != 0;
			wire += f->wire;
			psh += (f->flags & F_PSH) != 0;
		}
		assert_true(pr_take_ack_each(&pr) > 0);
	}
	assert_int_equal(pr.rcvd, total); /* pr_take checked every byte */
	assert_int_equal(wire, segs);
	assert_int_equal(psh, 1);
	assert_true(frame_last(0)->flags & F_PSH);
	assert_true(frames <= 4);
	assert_int_equal(CNT(tso_frames), tso);
	assert_int_equal(CNT(segs_out) - 1 /* SYN-ACK */, segs);
	assert_int_equal(CNT(bytes_out), total);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* Frames end where the peer's window ends; what does not fit waits for the window to slide. */
static void
test_tso_peer_window(void **state)
{
	const uint32_t total = 20 * OUR_MSS;
	struct peer pr = peer_new(PPORT, 2);
	struct tcp_conn *c;
	uint32_t all;

	(void)state;
	tso_start(TSO_MAX, 0, 0);
	pr.win = 8000; /* no window scaling: 8000 bytes */
	c = pr_accept(&pr, 1460, -1);
	assert_int_equal(app_send_pat(c, 0, total), total);
	assert_int_equal(flush_frames(c), 1);
	assert_int_equal(frame_last(0)->len, 5 * OUR_MSS); /* 5 x 1460 = 7300 <= 8000 */
	assert_int_equal(frame_last(0)->segsz, OUR_MSS);
	assert_int_equal(pr_take_all(&pr), 5);
	/* The peer ACKs 3 of the 5: the window slides by 4380, room for 3 more (not 4). */
	all = pr.una;
	pr.una = all - 2 * OUR_MSS;
	pr_ack(&pr);
	pr.una = all;
	assert_int_equal(flush_frames(c), 1);
	assert_int_equal(frame_last(0)->seq, all);
	assert_int_equal(frame_last(0)->len, 3 * OUR_MSS);
	assert_true(SEQ_LEQ(all + 3 * OUR_MSS, all - 2 * OUR_MSS + 8000));
	assert_int_equal(pr_take_all(&pr), 3);
	/* ACKing everything each time: frames of 5, never past the window. */
	while (pr.rcvd < total) {
		uint32_t edge = pr.una + 8000;
		unsigned from = N.n;

		pr_ack(&pr);
		assert_true(flush_frames(c) >= 1);
		for (unsigned i = from; i < N.n; i++) {
			const struct frame *f = &N.log[i % FRAMES_MAX];

			assert_true(SEQ_LEQ(f->seq + f->len, edge));
		}
		assert_true(pr_take_all(&pr) > 0);
	}
	pr_ack(&pr);
	assert_int_equal(CNT(retrans_segs), 0);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* cwnd bounds a frame; tso_max and tso_segs bound it; the last short segment ends it. */
static void
test_tso_limits(void **state)
{
	struct peer pr = peer_new(PPORT, 3);
	struct tcp_conn *c;

	(void)state;
	/* tso_max: at most 3 segments of 1460 in 4400 bytes. */
	tso_start(4400, 0, 0);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 10 * OUR_MSS), 10 * OUR_MSS);
	assert_int_equal(flush_frames(c), 4); /* 3 + 3 + 3 + 1: the initial window is 10 */
	assert_int_equal(frame_last(3)->len, 3 * OUR_MSS);
	assert_int_equal(frame_last(2)->len, 3 * OUR_MSS);
	assert_int_equal(frame_last(1)->len, 3 * OUR_MSS);
	assert_int_equal(frame_last(0)->len, OUR_MSS);
	assert_int_equal(frame_last(0)->segsz, 0); /* a lone segment is no TSO frame */
	assert_true(frame_last(0)->flags & F_PSH);
	assert_int_equal(pr_take_all(&pr), 10);
	assert_int_equal(CNT(tso_frames), 3);
	assert_int_equal(CNT(segs_out), 1 + 10);
	pr_ack(&pr);
	tcp_close(G.t, c);
	tt_finish();

	/* tso_segs: 2 segments a frame; cwnd: 10 segments, so the 11th waits. */
	tso_start(TSO_MAX, 2, 0);
	pr = peer_new(PPORT, 4);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 12 * OUR_MSS), 12 * OUR_MSS);
	assert_int_equal(flush_frames(c), 5);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(frame_last(i)->len, 2 * OUR_MSS);
	assert_int_equal(pr_take_all(&pr), 10);
	assert_int_equal(c->snd_nxt - c->snd_una, c->cwnd);
	pr_ack(&pr); /* one ACK: cwnd + 1 MSS: the window now has room for 11 */
	assert_int_equal(flush_frames(c), 1);
	assert_int_equal(frame_last(0)->len, 2 * OUR_MSS);
	assert_int_equal(pr_take_all(&pr), 2);
	pr_ack(&pr);
	tcp_close(G.t, c);
	tt_finish();

	/* A short segment ends a frame: 3 full + 620 bytes, PSH on the wire's last segment. */
	tso_start(TSO_MAX, 0, 0);
	pr = peer_new(PPORT, 5);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 3 * OUR_MSS + 620), 3 * OUR_MSS + 620);
	assert_int_equal(flush_frames(c), 1);
	assert_int_equal(frame_last(0)->len, 3 * OUR_MSS + 620);
	assert_int_equal(frame_last(0)->wire, 4);
	for (int i = 0; i < 4; i++) {
		struct tseg s;

		expect_seg(&s);
		assert_int_equal(s.len, i < 3 ? OUR_MSS : 620);
		assert_int_equal(s.flags, i < 3 ? F_ACK : F_ACK | F_PSH);
		pr_take(&pr, &s);
	}
	/* More bytes after it: a new frame from them (the sent short one is not grown). */
	assert_int_equal(app_send_pat(c, pr.rcvd, 2 * OUR_MSS), 2 * OUR_MSS);
	assert_int_equal(flush_frames(c), 1);
	assert_int_equal(frame_last(0)->len, 2 * OUR_MSS);
	assert_int_equal(pr_take_all(&pr), 2);
	pr_ack(&pr);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* tso_mss_max: TSO only for connections whose MSS the NIC cuts at; tso_segsz = their MSS. */
static void
test_tso_mss(void **state)
{
	struct peer pr = peer_new(PPORT, 6), pr2 = peer_new(PPORT + 1, 7);
	struct tcp_conn *c, *c2;

	(void)state;
	tso_start(TSO_MAX, 0, 1400);
	c = pr_accept_default(&pr); /* MSS 1460: too large */
	c2 = pr_accept(&pr2, 1000, 7);
	assert_int_equal(app_send_pat(c, 0, 5 * OUR_MSS), 5 * OUR_MSS);
	assert_int_equal(flush_frames(c), 5);
	assert_int_equal(CNT(tso_frames), 0);
	assert_int_equal(pr_take_all(&pr), 5);
	assert_int_equal(app_send_pat(c2, 0, 5000), 5000);
	assert_int_equal(flush_frames(c2), 1);
	assert_int_equal(frame_last(0)->segsz, 1000);
	assert_int_equal(frame_last(0)->wire, 5);
	assert_int_equal(pr_take_all(&pr2), 5);
	assert_int_equal(pr2.rcvd, 5000);
	pr_ack(&pr);
	pr_ack(&pr2);
	tcp_close(G.t, c);
	tcp_close(G.t, c2);
	tt_finish();
}

/* A wire segment as the peer saw it. */
struct wire_seg {
	uint32_t seq, ack, len;
	uint16_t win;
	uint8_t flags;
};

/* The sender's state after a flush. */
struct snd_state {
	uint32_t snd_nxt, snd_max, rtt_seq, cwnd;
	uint64_t rtt_ts, rto_at;
};

/* What one run of same_run() saw. */
struct trace {
	unsigned nseg, nstate;
	struct wire_seg seg[256];
	struct snd_state st[64];
	uint64_t segs_out, bytes_out, tso_frames;
};

/*
 * A reply of 70 segments and a 300-byte one, read by a peer that ACKs every second segment
 * 1 ms later; with or without TSO. @return the trace in @p tr.
 */
static void
same_run(bool tso, struct trace *tr)
{
	struct peer pr = peer_new(PPORT, 11);
	struct tcp_conn *c;
	struct tseg s;

	memset(tr, 0, sizeof(*tr));
	tso_start(tso ? TSO_MAX : 0, 0, 0);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 70 * OUR_MSS), 70 * OUR_MSS);
	assert_int_equal(app_send_pat(c, 70 * OUR_MSS, 300), 300);
	for (int round = 0; pr.rcvd < 70 * OUR_MSS + 300; round++) {
		unsigned k = 0;

		assert_true(round < 64);
		tt_flush();
		tr->st[tr->nstate++] = (struct snd_state){.snd_nxt = c->snd_nxt,
							  .snd_max = c->snd_max,
							  .rtt_seq = c->rtt_seq,
							  .cwnd = c->cwnd,
							  .rtt_ts = c->rtt_ts,
							  .rto_at = c->timer[TCP_T_RTO]};
		tt_advance_ms(1);
		while (cap_pop(&s)) {
			assert_true(tr->nseg < RTE_DIM(tr->seg));
			tr->seg[tr->nseg++] = (struct wire_seg){.seq = s.seq,
								.ack = s.ack,
								.len = s.len,
								.win = s.win,
								.flags = s.flags};
			pr_take(&pr, &s);
			if (++k % 2 == 0)
				pr_ack(&pr);
		}
		pr_ack(&pr);
	}
	tr->segs_out = CNT(segs_out);
	tr->bytes_out = CNT(bytes_out);
	tr->tso_frames = CNT(tso_frames);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* TSO changes the frames, not the wire nor the sender's timing, windows and RTO. */
static void
test_tso_same_wire(void **state)
{
	static struct trace sw, hw;

	(void)state;
	same_run(false, &sw);
	same_run(true, &hw);
	assert_int_equal(hw.nseg, sw.nseg);
	for (unsigned i = 0; i < sw.nseg; i++) {
		assert_int_equal(hw.seg[i].seq, sw.seg[i].seq);
		assert_int_equal(hw.seg[i].ack, sw.seg[i].ack);
		assert_int_equal(hw.seg[i].len, sw.seg[i].len);
		assert_int_equal(hw.seg[i].win, sw.seg[i].win);
		assert_int_equal(hw.seg[i].flags, sw.seg[i].flags);
	}
	assert_int_equal(hw.nstate, sw.nstate);
	for (unsigned i = 0; i < sw.nstate; i++) {
		assert_int_equal(hw.st[i].snd_nxt, sw.st[i].snd_nxt);
		assert_int_equal(hw.st[i].snd_max, sw.st[i].snd_max);
		assert_int_equal(hw.st[i].rtt_seq, sw.st[i].rtt_seq);
		assert_int_equal(hw.st[i].cwnd, sw.st[i].cwnd);
		assert_int_equal(hw.st[i].rtt_ts, sw.st[i].rtt_ts);
		assert_int_equal(hw.st[i].rto_at, sw.st[i].rto_at);
	}
	assert_int_equal(hw.segs_out, sw.segs_out);
	assert_int_equal(hw.bytes_out, sw.bytes_out);
	assert_int_equal(sw.tso_frames, 0);
	assert_true(hw.tso_frames >= 3);
}

/*
 * Everything lost: the timeout resends the first segment alone; go-back-N resends the rest
 * one by one as ACKs open cwnd; new data after them goes as frames again. Fast retransmit
 * resends one segment.
 */
static void
test_tso_retransmit_single(void **state)
{
	struct peer pr = peer_new(PPORT, 8);
	struct tcp_conn *c;
	struct tseg s;
	unsigned before;

	(void)state;
	tso_start(TSO_MAX, 0, 0);
	pr_syn(&pr, 1460, 7);
	pr_expect_synack(&pr, &s);
	pr.wscale = 7;
	pr_ack(&pr); /* RTT 0: RTO 200 ms */
	c = ev_find_port(TCP_EV_ACCEPTED, PPORT);
	assert_non_null(c);
	assert_int_equal(app_send_pat(c, 0, 14 * OUR_MSS), 14 * OUR_MSS);
	assert_int_equal(flush_frames(c), 1);
	assert_int_equal(frame_last(0)->wire, 10);
	cap_clear(); /* all 10 lost */
	before = N.n;
	assert_int_equal(tt_advance_until_output(1000), 200);
	assert_int_equal(N.n - before, 1);
	assert_int_equal(frame_last(0)->segsz, 0);
	expect_seg(&s);
	assert_int_equal(s.seq, pr.una);
	assert_int_equal(s.len, OUR_MSS);
	pr_take(&pr, &s);
	expect_none();
	assert_int_equal(CNT(timeouts), 1);
	/* Go-back-N: the 9 sent before go one by one; then new data (4 segments) in frames. */
	while (pr.rcvd < 14 * OUR_MSS) {
		unsigned from = N.n;

		pr_ack(&pr);
		flush_frames(c);
		for (unsigned i = from; i < N.n; i++) {
			const struct frame *f = &N.log[i % FRAMES_MAX];

			if (SEQ_LT(f->seq, pr.iss + 1 + 10 * OUR_MSS))
				assert_int_equal(f->segsz, 0); /* a retransmission */
		}
		assert_true(pr_take_all(&pr) > 0);
	}
	pr_ack(&pr);
	assert_int_equal(CNT(retrans_segs), 10);
	assert_true(CNT(tso_frames) >= 2);
	assert_int_equal(tcp_conn_unacked(c), 0);

	/* Fast retransmit: one frame of 10, the second segment lost, three duplicate ACKs. */
	assert_int_equal(app_send_pat(c, pr.rcvd, 10 * OUR_MSS), 10 * OUR_MSS);
	assert_true(flush_frames(c) >= 1);
	assert_int_equal(frame_last(0)->segsz, OUR_MSS);
	expect_seg(&s);
	pr_take(&pr, &s);
	pr_ack(&pr);
	expect_seg(&s); /* lost */
	assert_true(cap_n() >= 3);
	cap_clear(); /* the later ones arrive out of order: a duplicate ACK each */
	for (int i = 0; i < 3; i++)
		pr_ack(&pr);
	assert_int_equal(CNT(fast_retrans), 1);
	assert_int_equal(frame_last(0)->segsz, 0);
	expect_seg(&s);
	assert_int_equal(s.seq, pr.una);
	assert_int_equal(s.len, OUR_MSS);
	pat_check(s.data, s.seq - (pr.iss + 1), s.len);
	tcp_abort(G.t, c);
	tt_finish();
}

/*
 * A NIC that holds its frames: the send buffer's mbufs stay referenced by them (acknowledged
 * ones too, until the NIC lets go), a retransmission is a copy, and nothing leaks.
 */
static void
test_tso_nic_holds(void **state)
{
	struct peer pr = peer_new(PPORT, 9);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tso_start(TSO_MAX, 0, 0);
	N.hold = true;
	pr_syn(&pr, 1460, 7);
	pr_expect_synack(&pr, &s);
	pr.wscale = 7;
	pr_ack(&pr);
	c = ev_find_port(TCP_EV_ACCEPTED, PPORT);
	assert_int_equal(app_send_pat(c, 0, 4 * OUR_MSS), 4 * OUR_MSS);
	assert_int_equal(flush_frames(c), 1);
	assert_int_equal(N.nheld, 1);
	assert_int_equal(G.t->mbufs, 4); /* the frame's 5 mbufs are the io's, not the budget's */
	for (uint16_t k = 0; k < c->sndq_n; k++)
		assert_int_equal(
			rte_mbuf_refcnt_read(c->sndq[(c->sndq_head + k) % TCP_SNDQ_SLOTS].m), 2);
	cap_clear(); /* lost on the way */
	assert_int_equal(tt_advance_until_output(1000), 200);
	expect_seg(&s); /* a copy: the NIC still holds the first */
	assert_int_equal(s.len, OUR_MSS);
	pat_check(s.data, 0, OUR_MSS);
	pr_take(&pr, &s);
	pr_ack(&pr);
	assert_int_equal(G.t->mbufs, 3);
	/* The ACKed segment's mbuf lives on in the held frame until the NIC lets go. */
	assert_int_equal(rte_mempool_in_use_count(G.pool), 3 + 5 + 1 /* ACKed one */);
	nic_release();
	assert_int_equal(rte_mempool_in_use_count(G.pool), 3 + cap_n());
	while (pr.rcvd < 4 * OUR_MSS) {
		pr_ack(&pr);
		tt_flush();
		pr_take_all(&pr);
	}
	pr_ack(&pr);
	nic_release();
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* No mbuf for a frame's header or indirect mbufs: the segments go one by one (lent). */
static void
test_tso_no_mbuf(void **state)
{
	struct peer pr = peer_new(PPORT, 10);
	struct tcp_conn *c;

	(void)state;
	tso_start(TSO_MAX, 0, 0);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 6 * OUR_MSS), 6 * OUR_MSS);
	G.alloc_fail = true;
	assert_int_equal(flush_frames(c), 6);
	G.alloc_fail = false;
	assert_int_equal(CNT(tso_frames), 0);
	assert_int_equal(CNT(no_mbuf), 0);
	assert_int_equal(pr_take_all(&pr), 6);
	pr_ack(&pr);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, tso_teardown)
		T_(test_tso_large_reply),
		T_(test_tso_peer_window),
		T_(test_tso_limits),
		T_(test_tso_mss),
		T_(test_tso_same_wire),
		T_(test_tso_retransmit_single),
		T_(test_tso_nic_holds),
		T_(test_tso_no_mbuf),
#undef T_
	};

	tt_eal_init("nc_test_tcp_tso");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
