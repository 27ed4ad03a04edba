/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tcp: the data path. In-order receive and tcp_recv, segmentation at the MSS, the ACK
 * policy (ACKs riding on replies, delayed ACK, ACK every second full segment), sequence
 * numbers across 2^32 on both sides, the peer's scaled window and our own (shrinking to zero,
 * window updates), the out-of-order queue (reassembly, bound, overlaps, duplicates, FIN),
 * coalescing of small segments, segments lent without a copy, and the send buffer limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_test.h"

static void
test_recv_in_order(void **state)
{
	struct peer pr = peer_new(PPORT, 1);
	struct tcp_conn *c;
	char b[8];

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	pr_send_pat(&pr, F_ACK, 0, 1000);
	pr_send_pat(&pr, F_ACK, 1000, 1460);
	pr_send_pat(&pr, F_ACK | F_PSH, 2460, 10);
	assert_int_equal(CNT(bytes_in), 2470);
	assert_true(ev_has(c, TCP_EV_READABLE));
	app_recv_pat(c, 0, 2470, 7); /* odd chunks across segment boundaries */
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), -EAGAIN);
	assert_false(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* The handshake's last ACK may carry data already. */
static void
test_data_on_handshake_ack(void **state)
{
	struct peer pr = peer_new(PPORT, 77);
	struct tseg s;
	struct tcp_conn *c;
	char b[8];

	(void)state;
	tt_start_default();
	pr_syn(&pr, 1460, 7);
	pr_expect_synack(&pr, &s);
	pr_send(&pr, F_ACK | F_PSH, "hi", 2);
	c = ev_find_port(TCP_EV_ACCEPTED, PPORT);
	assert_non_null(c);
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), 2);
	assert_memory_equal(b, "hi", 2);
	tcp_abort(G.t, c);
	tt_finish();
}

static void
test_send_cut_at_mss(void **state)
{
	static uint8_t big[10000];
	struct peer pr = peer_new(PPORT, 2);
	struct tcp_conn *c;
	struct tseg s;
	struct iovec iov[3];

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	pat_fill(big, 0, sizeof(big));
	iov[0] = (struct iovec){.iov_base = big, .iov_len = 1};
	iov[1] = (struct iovec){.iov_base = big + 1, .iov_len = 4999};
	iov[2] = (struct iovec){.iov_base = big + 5000, .iov_len = 5000};
	assert_int_equal(tcp_sendv(G.t, c, iov, 3), 10000);
	expect_none(); /* nothing before tcp_flush */
	tt_flush();
	for (int i = 0; i < 7; i++) {
		expect_seg(&s);
		assert_int_equal(s.len, i < 6 ? OUR_MSS : 10000 - 6 * OUR_MSS);
		assert_int_equal(s.flags, i < 6 ? F_ACK : F_ACK | F_PSH);
		pr_take(&pr, &s);
	}
	expect_none();
	assert_int_equal(CNT(bytes_out), 10000);
	pr_ack(&pr);

	/* Small writes before a flush share segments; a sent segment is not grown. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(app_send_pat(c, 10000 + (uint32_t)i * 10, 10), 10);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, 1000);
	pr_take(&pr, &s);
	assert_int_equal(app_send_pat(c, 11000, 10), 10);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, 10);
	pr_take(&pr, &s);
	pr_ack(&pr);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* A reply sent in the same iteration carries the ACK: no separate pure ACK. */
static void
test_ack_rides_on_data(void **state)
{
	struct peer pr = peer_new(PPORT, 3);
	struct tcp_conn *c;
	struct tseg s;
	char b[16];

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	for (int round = 0; round < 3; round++) {
		pr_send(&pr, F_ACK | F_PSH, "get k\r\n", 7);
		assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), 7);
		assert_int_equal(app_send_pat(c, pr.rcvd, 5), 5);
		tt_flush();
		expect_seg(&s);
		assert_int_equal(s.len, 5);
		assert_int_equal(s.ack, pr.nxt);
		pr_take(&pr, &s);
		expect_none();
		tt_advance_ms(100); /* no delayed ACK follows: it was sent */
		expect_none();
		pr_ack(&pr);
	}
	assert_int_equal(CNT(delayed_acks), 0);
	tcp_close(G.t, c);
	tt_finish();
}

static void
test_delayed_ack(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 4);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	p.delack_ms = 40;
	tt_start(&p);
	c = pr_accept_default(&pr);
	pr_send_pat(&pr, F_ACK | F_PSH, 0, 100);
	tt_flush();
	expect_none();
	tt_advance_ms(39);
	expect_none();
	tt_advance_ms(1);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(s.seq, pr.una);
	assert_int_equal(s.len, 0);
	assert_int_equal(CNT(delayed_acks), 1);
	tt_advance_ms(200);
	expect_none();

	/* Two small segments within the delay: still one delayed ACK. */
	pr_send_pat(&pr, F_ACK, 100, 10);
	tt_flush();
	tt_advance_ms(20);
	pr_send_pat(&pr, F_ACK, 110, 10);
	tt_flush();
	expect_none();
	tt_advance_ms(20);
	expect_seg(&s);
	assert_int_equal(s.ack, pr.nxt);
	expect_none();
	app_recv_pat(c, 0, 120, 1000);
	tcp_close(G.t, c);
	tt_finish();
}

/* An ACK goes out at once for every second full-sized segment (RFC 5681 4.2). */
static void
test_ack_every_second_full_segment(void **state)
{
	struct peer pr = peer_new(PPORT, 5);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	for (int i = 0; i < 6; i++) {
		pr_send_pat(&pr, F_ACK, (uint32_t)i * OUR_MSS, OUR_MSS);
		tt_flush();
		if (i % 2 == 0) {
			expect_none();
		} else {
			expect_seg(&s);
			assert_int_equal(s.flags, F_ACK);
			assert_int_equal(s.ack, pr.nxt);
			expect_none();
		}
	}
	app_recv_pat(c, 0, 6 * OUR_MSS, 100000);
	tcp_close(G.t, c);
	tt_finish();
}

/* The peer's sequence numbers cross 2^32, in order and out of order. */
static void
test_seq_wrap_peer(void **state)
{
	struct peer pr = peer_new(PPORT, 0xFFFFFF00);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t base;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	base = pr.nxt; /* 0xFFFFFF01 */
	for (uint32_t i = 0; i < 5; i++)
		pr_send_pat(&pr, F_ACK, i * 100, 100); /* crosses 2^32 at offset 255 */
	/* 6 lost, 7 and 8 arrive, then 6. */
	pr_send_pat_at(&pr, base + 600, F_ACK, 600, 100);
	pr_send_pat_at(&pr, base + 700, F_ACK, 700, 100);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base + 500);
	pr_send_pat_at(&pr, base + 500, F_ACK, 500, 100);
	pr.nxt = base + 800;
	pr_send_pat(&pr, F_ACK | F_FIN, 800, 200);
	tt_flush();
	cap_clear();
	app_recv_pat(c, 0, 1000, 333);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSE_WAIT);
	assert_int_equal(tcp_recv(G.t, c, &s, 1), 0);
	tcp_close(G.t, c);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	assert_int_equal(s.ack, base + 1001);
	assert_true(s.ack < 0x1000); /* wrapped */
	tt_finish();
}

/* Our sequence numbers cross 2^32 while lots of data flows. */
static void
test_seq_wrap_ours(void **state)
{
	struct peer pr = peer_new(PPORT, 1000);
	struct tcp_conn *c;
	uint32_t sent = 0, total = 200000;

	(void)state;
	tt_start_default();
	place_our_iss(PPORT, 0xFFFF0000u);
	c = pr_accept_default(&pr);
	assert_int_equal(pr.iss, 0xFFFF0000u);
	for (int rounds = 0; rounds < 1000 && pr.rcvd < total; rounds++) {
		if (sent < total) {
			ssize_t n = app_send_pat(c, sent, total - sent);

			if (n > 0)
				sent += (uint32_t)n;
		}
		tt_flush();
		pr_take_all(&pr);
		pr_ack(&pr);
	}
	assert_int_equal(pr.rcvd, total);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_true(pr.una < total); /* wrapped */
	assert_int_equal(CNT(retrans_segs), 0);
	tcp_close(G.t, c);
	tt_flush();
	pr_take_all(&pr);
	assert_true(pr.fin);
	pr_ack(&pr);
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_2), 1);
	tt_finish();
}

/* The peer's window, scaled by its shift, bounds what is in flight. */
static void
test_peer_window_limits_send(void **state)
{
	struct peer pr = peer_new(PPORT, 6);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = pr_accept(&pr, 1460, 2);
	pr.win = 1000; /* 4000 bytes */
	pr_ack(&pr);
	assert_int_equal(app_send_pat(c, 0, 20000), 20000);
	tt_flush();
	assert_int_equal(pr_take_all(&pr), 2); /* a third segment would end at 4380 */

	/* One segment ACKed: the right edge moves by 1460, room for one more. */
	pr.una -= OUR_MSS;
	pr_ack(&pr);
	pr.una += OUR_MSS;
	tt_flush();
	expect_seg(&s);
	pr_take(&pr, &s);
	expect_none();

	/* A window update alone (same ACK, larger window) opens the way. */
	pr.win = 2000; /* 8000 bytes from una */
	pr.una -= 2 * OUR_MSS;
	pr_ack(&pr); /* una + 8000 = 1460 + 8000: 6 segments in all, 3 sent */
	pr.una += 2 * OUR_MSS;
	tt_flush();
	assert_int_equal(pr_take_all(&pr), 3);
	expect_none();
	tcp_abort(G.t, c);
	cap_clear();
	tt_finish();
}

/*
 * Our window: shrinks as the receive buffer fills while the application does not read, reaches
 * 0 (more bytes are refused, with an ACK), and reopens with a window update after tcp_recv.
 */
static void
test_our_window_shrinks_and_reopens(void **state)
{
	struct peer pr = peer_new(PPORT, 7);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t edge, off = 0, last_win = 65535;
	static uint8_t buf[256 * 1024];

	(void)state;
	tt_start_default(); /* rcvbuf 256 KiB, our shift 3 */
	c = pr_accept_default(&pr);
	assert_int_equal(pr.our_wscale, 3);
	edge = pr.nxt + 65535; /* from the SYN-ACK */
	for (int i = 0; i < 1000; i++) {
		uint32_t room = edge - pr.nxt;
		uint32_t n = room < OUR_MSS ? room : OUR_MSS;

		if (n == 0) {
			tt_advance_ms(200); /* the delayed ACK of the last bytes */
		} else {
			pr_send_pat(&pr, F_ACK, off, n);
			off += n;
			tt_flush();
		}
		while (cap_pop(&s)) {
			uint32_t e = s.ack + ((uint32_t)s.win << 3);

			assert_int_equal(s.flags, F_ACK);
			assert_true(s.win <= last_win || i == 0);
			last_win = s.win;
			assert_false((int32_t)(e - edge) < 0); /* the right edge never moves back */
			edge = e;
		}
		if (n == 0 && edge == pr.nxt)
			break;
	}
	assert_int_equal(last_win, 0);
	assert_int_equal(off, 256 * 1024);

	/* A byte beyond the window: refused, ACKed (at the flush) with window 0. */
	pr_send_pat_at(&pr, pr.nxt, F_ACK, off, 1);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(s.win, 0);
	expect_none();

	/* Reading less than an MSS: no update (silly window avoidance); then 4000: update. */
	assert_int_equal(tcp_recv(G.t, c, buf, 1000), 1000);
	pat_check(buf, 0, 1000);
	tt_flush();
	expect_none();
	assert_int_equal(tcp_recv(G.t, c, buf, 3000), 3000);
	pat_check(buf, 1000, 3000);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(s.win, 4000 >> 3);
	expect_none();
	/* The peer fills the new room; all is read; a full window again. */
	pr_send_pat(&pr, F_ACK, off, 4000 > OUR_MSS ? OUR_MSS : 4000);
	off += OUR_MSS;
	assert_int_equal(tcp_recv(G.t, c, buf, sizeof(buf)), 256 * 1024 - 4000 + OUR_MSS);
	pat_check(buf, 4000, 256 * 1024 - 4000 + OUR_MSS);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(s.win, (256 * 1024) >> 3);
	assert_true(CNT(window_full_drops) + CNT(dup_segs) + CNT(bad_segs) >= 1);
	tcp_close(G.t, c);
	tt_finish();
}

/*
 * Our window is 0 and the peer probes it with a byte that also ACKs our data: the byte is
 * refused but the ACK is taken (RFC 9293 3.10.7.4: "special allowance should be made to accept
 * valid ACKs, URGs, and RSTs" when RCV.WND is zero).
 */
static void
test_zero_window_probe_ack_taken(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 18);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	p.rcvbuf = 4000; /* no scaling */
	tt_start(&p);
	c = pr_accept(&pr, 1460, -1);
	pr_send_pat(&pr, F_ACK, 0, 1460);
	pr_send_pat(&pr, F_ACK, 1460, 1460);
	pr_send_pat(&pr, F_ACK, 2920, 1080); /* fills the 4000 */
	assert_int_equal(app_send_pat(c, 0, 500), 500);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, 500);
	assert_int_equal(s.win, 0);
	assert_int_equal(s.ack, pr.nxt);
	pr_take(&pr, &s);
	/* The probe: one byte at rcv_nxt, ACKing our 500. */
	pr_send_pat_at(&pr, pr.nxt, F_ACK, 4000, 1);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt); /* the byte was not taken */
	assert_int_equal(s.win, 0);
	assert_int_equal(tcp_conn_unacked(c), 0);
	app_recv_pat(c, 0, 4000, 100000);
	tcp_close(G.t, c);
	tt_finish();
}

/* Bytes straddling the right edge are cut there; the FIN beyond it is not taken. */
static void
test_window_edge_trim(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 8);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	p.rcvbuf = 4000; /* no scaling */
	tt_start(&p);
	c = pr_accept(&pr, 1460, -1);
	assert_int_equal(pr.our_wscale, -1);
	pr_send_pat(&pr, F_ACK, 0, 1460);
	pr_send_pat(&pr, F_ACK, 1460, 1460);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, pr.nxt);
	/* 1080 left: less than an MSS, but the right edge does not move back. */
	assert_int_equal(s.win, 1080);
	/* 1460 more at 2920: only 1080 fit under the edge at 4000; the FIN is dropped. */
	pr_send_pat(&pr, F_ACK | F_FIN, 2920, 1460);
	assert_int_equal(CNT(window_full_drops), 1);
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	tt_advance_ms(200);
	expect_seg(&s);
	assert_int_equal(s.ack, pr.nxt - 1461 + 1080);
	assert_int_equal(s.win, 0);
	app_recv_pat(c, 0, 4000, 100000);
	tcp_close(G.t, c);
	tt_finish();
}

/* Segments 2 and 3 before 1: kept, duplicate ACKs at once; then everything in order. */
static void
test_ooo_reassembly(void **state)
{
	struct peer pr = peer_new(PPORT, 9);
	struct tcp_conn *c;
	struct tseg s;
	char b[4];
	uint32_t base;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	base = pr.nxt;
	pr_send_pat_at(&pr, base + 1000, F_ACK, 1000, 500);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, base);
	pr_send_pat_at(&pr, base + 500, F_ACK, 500, 500);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base);
	expect_none();
	assert_int_equal(CNT(ooo_segs), 2);
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), -EAGAIN);
	assert_false(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tt_mbufs_held(), 2);

	/* The hole is filled: all readable, and the ACK for all of it goes at once. */
	pr_send_pat_at(&pr, base, F_ACK, 0, 500);
	pr.nxt = base + 1500;
	assert_true(ev_has(c, TCP_EV_READABLE));
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base + 1500);
	expect_none();
	app_recv_pat(c, 0, 1500, 100000);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* A partly filled hole is ACKed at once too; its ACK names the next hole. */
static void
test_ooo_partial_fill(void **state)
{
	struct peer pr = peer_new(PPORT, 10);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t base;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	base = pr.nxt;
	pr_send_pat_at(&pr, base + 300, F_ACK, 300, 100);
	pr_send_pat_at(&pr, base + 100, F_ACK, 100, 100);
	tt_flush();
	cap_clear();
	pr_send_pat_at(&pr, base, F_ACK, 0, 100); /* fills [0, 200): hole [200, 300) remains */
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base + 200);
	pr_send_pat_at(&pr, base + 200, F_ACK, 200, 100);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base + 400);
	app_recv_pat(c, 0, 400, 100000);
	tcp_close(G.t, c);
	tt_finish();
}

/* ooo_max bounds the out-of-order queue; dropped segments come again later. */
static void
test_ooo_max(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 11);
	struct tcp_conn *c;
	uint32_t base;

	(void)state;
	p.ooo_max = 4;
	tt_start(&p);
	c = pr_accept_default(&pr);
	base = pr.nxt;
	for (uint32_t i = 1; i <= 6; i++)
		pr_send_pat_at(&pr, base + i * 100, F_ACK, i * 100, 100);
	assert_int_equal(CNT(ooo_segs), 4);
	assert_int_equal(CNT(ooo_dropped), 2);
	assert_int_equal(tt_mbufs_held(), 4);
	pr_send_pat_at(&pr, base, F_ACK, 0, 100);
	app_recv_pat(c, 0, 500, 100000);
	pr_send_pat_at(&pr, base + 500, F_ACK, 500, 100);
	pr_send_pat_at(&pr, base + 600, F_ACK, 600, 100);
	app_recv_pat(c, 500, 200, 100000);
	tcp_close(G.t, c);
	tt_finish();
}

/* Overlapping and duplicate segments, in and out of order: the stream comes out exact. */
static void
test_ooo_overlap_and_duplicates(void **state)
{
	struct peer pr = peer_new(PPORT, 12);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t base;
	uint64_t dups;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	base = pr.nxt;
	pr_send_pat_at(&pr, base + 1000, F_ACK, 1000, 1000);
	pr_send_pat_at(&pr, base + 1500, F_ACK, 1500, 1000); /* overlaps the previous */
	dups = CNT(dup_segs);
	pr_send_pat_at(&pr, base + 1000, F_ACK, 1000, 1000); /* duplicate */
	pr_send_pat_at(&pr, base + 1200, F_ACK, 1200, 600);  /* inside one held */
	assert_int_equal(CNT(dup_segs), dups + 2);
	pr_send_pat_at(&pr, base + 3000, F_ACK, 3000, 1000);
	pr_send_pat_at(&pr, base + 2500, F_ACK, 2500, 500);
	pr_send_pat_at(&pr, base, F_ACK, 0, 1000);
	tt_flush();
	cap_clear();
	/* An old retransmission: a duplicate, ACKed at once. */
	pr_send_pat_at(&pr, base, F_ACK, 0, 500);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base + 4000);
	/* Old and new bytes in one segment: only the new ones are taken. */
	pr_send_pat_at(&pr, base + 3500, F_ACK, 3500, 1000);
	tt_flush();
	cap_clear();
	app_recv_pat(c, 0, 4500, 777);
	assert_int_equal(tcp_recv(G.t, c, &s, 1), -EAGAIN);
	assert_int_equal(CNT(bytes_in), 4500);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/*
 * Overlapping retransmissions that carry different bytes (RFC 9293 leaves the choice open):
 * the bytes received first win, whether held out of order or already in order. A later segment
 * keeps only its bytes before the first byte held (the rest comes again), so no byte ever comes
 * from two segments, and every cut is counted.
 */
static void
test_overlap_different_bytes_first_wins(void **state)
{
	struct peer pr = peer_new(PPORT, 14);
	struct tcp_conn *c;
	struct tseg s;
	uint64_t trims;
	uint32_t base;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	base = pr.nxt;
	trims = CNT(overlap_trims);
	/* Held out of order, then one over its second half and beyond, with other bytes. */
	pr_send_pat_at(&pr, base + 1000, F_ACK, 1000, 1000);
	pr_send_pat_at(&pr, base + 1500, F_ACK, 51500, 1000);
	/* One held, then a larger one around it, with other bytes: cut where the held one starts. */
	pr_send_pat_at(&pr, base + 3000, F_ACK, 73000, 500);
	pr_send_pat_at(&pr, base + 2500, F_ACK, 2500, 1500);
	pr_send_pat_at(&pr, base, F_ACK, 0, 1000);
	tt_flush();
	cap_clear();
	app_recv_pat(c, 0, 2000, 4096);	    /* the first, and the first held */
	app_recv_pat(c, 52000, 500, 4096);  /* what only the overlapping one had */
	app_recv_pat(c, 2500, 500, 4096);   /* the larger one, up to the held one */
	app_recv_pat(c, 73000, 500, 4096);  /* the held one, received first */
	assert_int_equal(tcp_recv(G.t, c, &s, 1), -EAGAIN);
	pr_send_pat_at(&pr, base + 3500, F_ACK, 3500, 500); /* the peer sends the rest again */
	app_recv_pat(c, 3500, 500, 4096);
	/* In order, over bytes held out of order: cut where they start. */
	pr_send_pat_at(&pr, base + 5000, F_ACK, 95000, 500);
	pr_send_pat_at(&pr, base + 4000, F_ACK, 4000, 1800);
	app_recv_pat(c, 4000, 1000, 4096);
	app_recv_pat(c, 95000, 500, 4096);
	/* Already in order: a retransmission over the end and past it, other bytes. */
	pr_send_pat_at(&pr, base + 5000, F_ACK, 99000, 1000);
	tt_flush();
	cap_clear();
	app_recv_pat(c, 99500, 500, 4096);
	assert_int_equal(tcp_recv(G.t, c, &s, 1), -EAGAIN);
	assert_int_equal(CNT(bytes_in), 6000);
	assert_int_equal(CNT(overlap_trims) - trims, 3);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* A FIN out of order waits for the bytes before it. */
static void
test_ooo_fin(void **state)
{
	struct peer pr = peer_new(PPORT, 13);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t base;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	base = pr.nxt;
	pr_send_pat_at(&pr, base + 100, F_ACK | F_FIN, 100, 100);
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base);
	pr_send_pat_at(&pr, base, F_ACK, 0, 100);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSE_WAIT);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base + 201);
	app_recv_pat(c, 0, 200, 1000);
	assert_int_equal(tcp_recv(G.t, c, &s, 1), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/*
 * A FIN held out of order, then a segment in order that runs past it (the peer contradicts
 * itself): the first received wins, so the stream ends at the FIN (the fuzzer's seed
 * eof_at_held_fin_after_tuple_reuse; the segment used to replace the held FIN and its bytes).
 */
static void
test_held_fin_wins_over_later_bytes(void **state)
{
	struct peer pr = peer_new(PPORT, 15);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t base;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	base = pr.nxt;
	pr_send_pat_at(&pr, base + 100, F_ACK | F_FIN, 100, 10);
	pr_send_pat_at(&pr, base, F_ACK, 0, 1000);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSE_WAIT);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.ack, base + 111);
	app_recv_pat(c, 0, 110, 1000);
	assert_int_equal(tcp_recv(G.t, c, &s, 1), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/*
 * The receive queue's slots run out (TCP_RCVQ_SLOTS segments, none small enough to be copied
 * onto the tail): bytes that do not fit are forgotten, to be sent again, and a FIN after them
 * must wait for them too.
 */
static void
test_rcvq_full_fin_waits(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 16);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t base, last_ack = 0;

	(void)state;
	p.rcvbuf = 1u << 20;
	tt_start(&p);
	c = pr_accept_default(&pr);
	base = pr.nxt;
	for (uint32_t i = 0; i < 511; i++)
		pr_send_pat(&pr, F_ACK, i * 600, 600);
	/* The last bytes and the FIN out of order, then the hole: 512 slots, one too few. */
	pr_send_pat_at(&pr, base + 512 * 600, F_ACK | F_FIN, 512 * 600, 600);
	pr_send_pat(&pr, F_ACK, 511 * 600, 600);
	tt_flush();
	while (cap_pop(&s))
		last_ack = s.ack;
	assert_int_equal(last_ack, base + 512 * 600); /* not past bytes it does not hold */
	assert_int_equal(CNT(bytes_in), 512 * 600);
	app_recv_pat(c, 0, 512 * 600, 1 << 20);
	assert_int_equal(tcp_recv(G.t, c, &s, 1), -EAGAIN); /* no early EOF */
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	/* Sent again, it is taken. */
	pr_send_pat_at(&pr, base + 512 * 600, F_ACK | F_FIN, 512 * 600, 600);
	app_recv_pat(c, 512 * 600, 600, 1 << 20);
	assert_int_equal(tcp_recv(G.t, c, &s, 1), 0);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSE_WAIT);
	tcp_close(G.t, c);
	tt_finish();
}

/* A segment in a chain of mbufs (header and bytes split), in order and out of order. */
static void
test_chained_mbuf_input(void **state)
{
	struct peer pr = peer_new(PPORT, 17);
	struct tcp_conn *c;
	uint8_t frame[20 + 1000];
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)frame;
	uint32_t base;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	base = pr.nxt;
	for (int k = 0; k < 2; k++) {
		/* k = 0: bytes [1000, 2000) first (out of order); k = 1: [0, 1000). */
		struct rte_mbuf *m1, *m2;

		memset(th, 0, 20);
		th->src_port = rte_cpu_to_be_16(PPORT);
		th->dst_port = rte_cpu_to_be_16(LPORT);
		th->sent_seq = rte_cpu_to_be_32(base + (k == 0 ? 1000 : 0));
		th->recv_ack = rte_cpu_to_be_32(pr.una);
		th->data_off = 5 << 4;
		th->tcp_flags = F_ACK;
		th->rx_win = rte_cpu_to_be_16(65535);
		pat_fill(frame + 20, k == 0 ? 1000 : 0, 1000);
		m1 = raw_mbuf(frame, 20 + 300);
		m2 = raw_mbuf(frame + 320, 700);
		assert_int_equal(rte_pktmbuf_chain(m1, m2), 0);
		tcp_input(G.t, m1, PEER_IP, OUR_IP, G.now);
		assert_int_equal(tt_mbufs_held(), 2 * (k + 1)); /* chains of 2, ooo then in order */
	}
	pr.nxt = base + 2000;
	app_recv_pat(c, 0, 2000, 333);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* Many tiny segments are copied onto the tail mbuf: few mbufs held, bytes exact. */
static void
test_small_segments_coalesced(void **state)
{
	struct peer pr = peer_new(PPORT, 14);
	struct tcp_conn *c;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	for (uint32_t i = 0; i < 300; i++)
		pr_send_pat(&pr, F_ACK | F_PSH, i * 10, 10);
	assert_true(tt_mbufs_held() <= 3);
	app_recv_pat(c, 0, 3000, 1234);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* Segments lent without a copy: whole segments in order, counted in the budget until given back. */
static void
test_recv_lend(void **state)
{
	struct peer pr = peer_new(PPORT, 18);
	struct tcp_conn *c;
	struct tcp_lent l[8];
	char b[8];

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	pr_send_pat(&pr, F_ACK, 0, 1000);
	pr_send_pat(&pr, F_ACK, 1000, 1460);
	pr_send_pat(&pr, F_ACK | F_PSH, 2460, 1200);
	/* Part of the first one copied out: the rest of it is lent from where reading stopped. */
	assert_int_equal(tcp_recv(G.t, c, b, 7), 7);
	pat_check((const uint8_t *)b, 0, 7);
	assert_int_equal(tcp_recv_lend(G.t, c, l, 2), 2);
	assert_int_equal(l[0].len, 993);
	pat_check(l[0].data, 7, 993);
	assert_int_equal(l[1].len, 1460);
	pat_check(l[1].data, 1000, 1460);
	assert_int_equal(tcp_recv_lend(G.t, c, l + 2, 8), 1);
	pat_check(l[2].data, 2460, 1200);
	assert_int_equal(CNT(lent_segs), 3);
	assert_int_equal(tcp_recv_lend(G.t, c, l + 3, 8), -EAGAIN);
	assert_false(ev_has(c, TCP_EV_READABLE));
	/* A short segment is not lent: it is read with a copy. */
	pr_send_pat(&pr, F_ACK | F_PSH, 3660, TCP_LEND_MIN - 1);
	assert_int_equal(tcp_recv_lend(G.t, c, l + 3, 8), -ENOBUFS);
	app_recv_pat(c, 3660, TCP_LEND_MIN - 1, 4096);
	/* Lent mbufs are the application's until given back, whatever became of the connection. */
	assert_int_equal(tt_mbufs_held(), 3);
	pr_send(&pr, F_ACK | F_FIN, NULL, 0);
	assert_int_equal(tcp_recv_lend(G.t, c, l + 3, 8), 0);
	tcp_abort(G.t, c);
	assert_int_equal(tt_mbufs_held(), 3);
	for (int i = 0; i < 3; i++)
		tcp_lent_release(G.t, l[i].m);
	assert_int_equal(tt_mbufs_held(), 0);
	tt_finish();
}

/* What cannot be lent is left for tcp_recv: chained mbufs, and beyond half the mbuf budget. */
static void
test_recv_lend_refused(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 19);
	struct tcp_conn *c;
	struct tcp_lent l[256];
	uint8_t frame[20 + 1000];
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)frame;
	struct rte_mbuf *m1, *m2;
	int n;

	(void)state;
	p.mbuf_budget = 400; /* windows close at 400 - 128, lending stops at 200 */
	tt_start(&p);
	c = pr_accept_default(&pr);
	memset(th, 0, 20);
	th->src_port = rte_cpu_to_be_16(PPORT);
	th->dst_port = rte_cpu_to_be_16(LPORT);
	th->sent_seq = rte_cpu_to_be_32(pr.nxt);
	th->recv_ack = rte_cpu_to_be_32(pr.una);
	th->data_off = 5 << 4;
	th->tcp_flags = F_ACK;
	th->rx_win = rte_cpu_to_be_16(65535);
	pat_fill(frame + 20, 0, 1000);
	m1 = raw_mbuf(frame, 20 + 300);
	m2 = raw_mbuf(frame + 320, 700);
	assert_int_equal(rte_pktmbuf_chain(m1, m2), 0);
	tcp_input(G.t, m1, PEER_IP, OUR_IP, G.now);
	pr.nxt += 1000;
	assert_int_equal(tcp_recv_lend(G.t, c, l, 8), -ENOBUFS);
	app_recv_pat(c, 0, 1000, 1000);
	assert_int_equal(tt_mbufs_held(), 0);

	/* Lent mbufs stay in the budget: beyond half of it (200), the next ones are copied. */
	for (uint32_t i = 0; i < 150; i++)
		pr_send_pat(&pr, F_ACK, 1000 + i * 1000, 1000);
	n = tcp_recv_lend(G.t, c, l, 256);
	assert_int_equal(n, 150);
	for (uint32_t i = 150; i < 240; i++)
		pr_send_pat(&pr, F_ACK, 1000 + i * 1000, 1000);
	assert_int_equal(tt_mbufs_held(), 240);
	assert_int_equal(tcp_recv_lend(G.t, c, l + n, 256 - (unsigned)n), -ENOBUFS);
	app_recv_pat(c, 151000, 90000, 4096);
	for (int i = 0; i < n; i++) {
		pat_check(l[i].data, 1000 + (uint32_t)i * 1000, 1000);
		tcp_lent_release(G.t, l[i].m);
	}
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* The send buffer bound: sendv takes what fits, -EAGAIN when full, room after ACKs. */
static void
test_send_buffer_limit(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 15);
	struct tcp_conn *c;

	(void)state;
	p.sndbuf = 10000;
	tt_start(&p);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 15000), 10000);
	assert_int_equal(app_send_pat(c, 10000, 1), -EAGAIN);
	assert_int_equal(tcp_conn_unacked(c), 10000);
	tt_flush();
	assert_int_equal(pr_take_all(&pr), 7);
	pr_ack(&pr);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(app_send_pat(c, 10000, 5000), 5000);
	tt_flush();
	pr_take_all(&pr);
	assert_int_equal(pr.rcvd, 15000);
	pr_ack(&pr);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

static uint32_t
queues_held(void)
{
	struct tcp_gauges g;

	tcp_gauges(G.t, &g);
	return g.queues;
}

/*
 * A connection holds send and receive queue arrays only while something is queued: an idle
 * one costs none, and the arrays go to the next connection that needs one.
 */
static void
test_idle_conn_holds_no_queues(void **state)
{
	struct peer pa = peer_new(PPORT, 3), pb = peer_new(PPORT + 1, 4);
	struct tcp_conn *a, *b;
	struct tseg s;

	(void)state;
	tt_start_default();
	a = pr_accept_default(&pa);
	b = pr_accept_default(&pb);
	assert_int_equal(queues_held(), 0);
	pr_send_pat(&pa, F_ACK, 0, 1000);
	pr_send_pat(&pa, F_ACK, 1000, 1000);
	pr_send_pat(&pa, F_ACK | F_PSH, 2000, 1000);
	assert_int_equal(queues_held(), 1); /* a's receive queue */
	app_recv_pat(a, 0, 1500, 1500);
	assert_int_equal(queues_held(), 1); /* not drained yet */
	app_recv_pat(a, 1500, 1500, 1500);
	assert_int_equal(queues_held(), 0);
	assert_int_equal(app_send_pat(a, 0, 2000), 2000);
	assert_int_equal(queues_held(), 1); /* a's send queue, until acknowledged */
	tt_flush();
	while (cap_pop(&s))
		pr_take(&pa, &s);
	assert_int_equal(queues_held(), 1);
	pr_ack(&pa);
	assert_int_equal(queues_held(), 0);
	/* b reuses the spare arrays, both ways, and gives them back the same way. */
	pr_send_pat(&pb, F_ACK | F_PSH, 0, 100);
	assert_int_equal(app_send_pat(b, 0, 100), 100);
	assert_int_equal(queues_held(), 2);
	app_recv_pat(b, 0, 100, 100);
	tt_flush();
	while (cap_pop(&s))
		pr_take(&pb, &s);
	pr_ack(&pb);
	assert_int_equal(queues_held(), 0);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, a);
	tcp_close(G.t, b);
	tt_finish();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, tt_teardown)
		T_(test_recv_in_order),
		T_(test_data_on_handshake_ack),
		T_(test_send_cut_at_mss),
		T_(test_ack_rides_on_data),
		T_(test_delayed_ack),
		T_(test_ack_every_second_full_segment),
		T_(test_seq_wrap_peer),
		T_(test_seq_wrap_ours),
		T_(test_peer_window_limits_send),
		T_(test_our_window_shrinks_and_reopens),
		T_(test_window_edge_trim),
		T_(test_zero_window_probe_ack_taken),
		T_(test_ooo_reassembly),
		T_(test_ooo_partial_fill),
		T_(test_ooo_max),
		T_(test_ooo_overlap_and_duplicates),
		T_(test_overlap_different_bytes_first_wins),
		T_(test_held_fin_wins_over_later_bytes),
		T_(test_ooo_fin),
		T_(test_rcvq_full_fin_waits),
		T_(test_chained_mbuf_input),
		T_(test_small_segments_coalesced),
		T_(test_send_buffer_limit),
		T_(test_recv_lend),
		T_(test_recv_lend_refused),
		T_(test_idle_conn_holds_no_queues),
#undef T_
	};

	tt_eal_init("nc_test_tcp_data");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
