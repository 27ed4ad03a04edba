/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tcp: reliability. The retransmission timer (RFC 6298: initial 1 s, 3 s for data after
 * a lost SYN-ACK, the estimator, rto_min / rto_max, doubling, Karn), go-back-N after a timeout,
 * giving up after `retries`, fast retransmit and NewReno partial ACKs (RFC 5681, 6582), the
 * initial window after a lost SYN-ACK, zero windows and the persist timer, retransmission while
 * the NIC still holds the segment, running out of mbufs, and whole transfers both ways over a
 * link that drops, duplicates and reorders (LOSSY_SEEDS seeds per loss profile).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_test.h"

#ifndef LOSSY_SEEDS
#define LOSSY_SEEDS 3
#endif
#define SEQ_GT_T(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)

/*
 * A passive open whose SYN-ACK is lost once (resent after the initial RTO of 1 s): no RTT
 * sample (Karn), and data starts with an RTO of 3 s (RFC 6298 5.7).
 */
static struct tcp_conn *
accept_after_lost_synack(struct peer *pr)
{
	struct tseg s;

	pr_syn(pr, 1460, 7);
	pr_expect_synack(pr, &s); /* lost */
	assert_int_equal(tt_advance_until_output(5000), 1000);
	pr_expect_synack(pr, &s);
	pr->wscale = 7;
	pr_ack(pr);
	pr->c = ev_find_port(TCP_EV_ACCEPTED, pr->port);
	assert_non_null(pr->c);
	return pr->c;
}

/* A passive open whose handshake RTT is @p rtt_ms. */
static struct tcp_conn *
accept_with_rtt(struct peer *pr, unsigned rtt_ms)
{
	struct tseg s;

	pr_syn(pr, 1460, 7);
	pr_expect_synack(pr, &s);
	pr->wscale = 7;
	tt_advance_ms(rtt_ms);
	pr_ack(pr);
	pr->c = ev_find_port(TCP_EV_ACCEPTED, pr->port);
	assert_non_null(pr->c);
	return pr->c;
}

/* Expect the retransmission of @p orig (same sequence, same bytes) after exactly @p ms. */
static void
expect_retransmit_after(const struct tseg *orig, uint64_t ms)
{
	struct tseg s;

	assert_int_equal(tt_advance_until_output(ms + 10000), ms);
	expect_seg(&s);
	assert_int_equal(s.seq, orig->seq);
	assert_int_equal(s.len, orig->len);
	assert_int_equal(s.flags & (F_SYN | F_FIN | F_RST), orig->flags & (F_SYN | F_FIN | F_RST));
	assert_memory_equal(s.data, orig->data, s.len);
	expect_none();
}

static void
test_rto_initial_and_backoff(void **state)
{
	struct peer pr = peer_new(PPORT, 1);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = accept_after_lost_synack(&pr);
	assert_int_equal(CNT(timeouts), 1);
	assert_int_equal(app_send_pat(c, 0, 100), 100);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, 100);
	expect_retransmit_after(&s, 3000);
	expect_retransmit_after(&s, 6000);
	expect_retransmit_after(&s, 12000);
	assert_int_equal(CNT(timeouts), 4);
	assert_int_equal(CNT(retrans_segs), 4);
	assert_int_equal(CNT(bytes_out), 100);
	pr_take(&pr, &s);
	pr_ack(&pr);
	assert_int_equal(tcp_conn_unacked(c), 0);
	tt_advance_ms(20000);
	expect_none();
	/* The backoff is over: the next segment waits 3 s again (no sample from the resent one). */
	assert_int_equal(app_send_pat(c, 100, 10), 10);
	tt_flush();
	expect_seg(&s);
	expect_retransmit_after(&s, 3000);
	tcp_close(G.t, c);
	tt_finish();
}

/* The RTO comes from RTT samples (RFC 6298 2.2/2.3); no sample from a resent segment (Karn). */
static void
test_rto_estimator_and_karn(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 2);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	p.rto_min_ms = 10;
	tt_start(&p);
	c = accept_with_rtt(&pr, 100); /* SRTT 100 ms, RTTVAR 50 ms: RTO 300 ms */

	assert_int_equal(app_send_pat(c, 0, 100), 100);
	tt_flush();
	expect_seg(&s);
	expect_retransmit_after(&s, 300);
	/* ACKed 5 ms after the retransmission: Karn, no sample (else the RTO would move). */
	tt_advance_ms(5);
	pr_take(&pr, &s);
	pr_ack(&pr);

	/* A clean 20 ms sample: SRTT 90 ms, RTTVAR 57.5 ms: RTO 320 ms. */
	assert_int_equal(app_send_pat(c, 100, 100), 100);
	tt_flush();
	expect_seg(&s);
	pr_take(&pr, &s);
	tt_advance_ms(20);
	pr_ack(&pr);
	assert_int_equal(app_send_pat(c, 200, 100), 100);
	tt_flush();
	expect_seg(&s);
	expect_retransmit_after(&s, 320);
	pr_take(&pr, &s);
	pr_ack(&pr);
	tcp_close(G.t, c);
	tt_finish();
}

/* rto_min_ms bounds the RTO from below, rto_max_ms the backoff from above. */
static void
test_rto_bounds(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 3), pr2 = peer_new(PPORT + 1, 3);
	struct tcp_conn *c, *c2;
	struct tseg s;

	(void)state;
	p.rto_min_ms = 50;
	p.rto_max_ms = 5000;
	tt_start(&p);
	c = accept_with_rtt(&pr, 0); /* tiny RTT: RTO = rto_min */
	assert_int_equal(app_send_pat(c, 0, 10), 10);
	tt_flush();
	expect_seg(&s);
	expect_retransmit_after(&s, 50);
	expect_retransmit_after(&s, 100);
	pr_take(&pr, &s);
	pr_ack(&pr);
	tcp_abort(G.t, c);
	cap_clear();

	c2 = accept_after_lost_synack(&pr2); /* RTO 3 s */
	assert_int_equal(app_send_pat(c2, 0, 10), 10);
	tt_flush();
	expect_seg(&s);
	expect_retransmit_after(&s, 3000);
	expect_retransmit_after(&s, 5000); /* not 6000 */
	expect_retransmit_after(&s, 5000);
	tcp_abort(G.t, c2);
	tt_finish();
}

/* After `retries` timeouts the connection is reset and the application hears -ETIMEDOUT. */
static void
test_retries_then_abort(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 4);
	struct tcp_conn *c;
	struct tseg s, r;
	char b[4];

	(void)state;
	p.retries = 3;
	tt_start(&p);
	c = accept_with_rtt(&pr, 0);   /* RTO 200 ms */
	pr_send(&pr, F_ACK, "abc", 3); /* readable before the failure: still read after it */
	assert_int_equal(app_send_pat(c, 0, 3000), 3000);
	tt_flush();
	assert_int_equal(cap_n(), 3); /* 1460 + 1460 + 80, the ACK of "abc" riding on them */
	expect_seg(&s);
	cap_clear();
	expect_retransmit_after(&s, 200);
	expect_retransmit_after(&s, 400);
	expect_retransmit_after(&s, 800);
	assert_int_equal(tt_advance_until_output(5000), 1600);
	expect_seg(&r);
	assert_int_equal(r.flags, F_RST | F_ACK);
	assert_true(r.seq - s.seq <= 3000); /* snd_nxt: somewhere in what was sent */
	assert_int_equal(r.ack, pr.nxt);
	expect_none();
	assert_int_equal(CNT(aborts_timeout), 1);
	assert_int_equal(CNT(timeouts), 3);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSED);
	assert_true(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), 3);
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), -ETIMEDOUT);
	assert_int_equal(tcp_sendv(G.t, c, &(struct iovec){.iov_base = b, .iov_len = 1}, 1),
			 -EPIPE);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(tt_mbufs_held(), 0); /* the send buffer is gone */
	tcp_close(G.t, c);
	expect_none(); /* no second RST */
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* An orphaned connection whose FIN is never ACKed gives up alone. */
static void
test_fin_never_acked(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 5);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	p.retries = 2;
	tt_start(&p);
	c = accept_with_rtt(&pr, 0);
	tcp_close(G.t, c);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	expect_retransmit_after(&s, 200);
	expect_retransmit_after(&s, 400);
	assert_int_equal(tt_advance_until_output(5000), 800);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST | F_ACK);
	assert_int_equal(tt_conns(), 0);
	assert_int_equal(CNT(aborts_timeout), 1);
	tt_finish();
}

/* After a timeout, the rest goes back out as ACKs open the window again (go-back-N). */
static void
test_rto_go_back_n(void **state)
{
	struct peer pr = peer_new(PPORT, 6);
	struct tcp_conn *c;
	struct tseg s, first[5];

	(void)state;
	tt_start_default();
	c = accept_with_rtt(&pr, 0);
	assert_int_equal(app_send_pat(c, 0, 5 * OUR_MSS), 5 * OUR_MSS);
	tt_flush();
	for (int i = 0; i < 5; i++)
		expect_seg(&first[i]);		 /* all lost */
	expect_retransmit_after(&first[0], 200); /* one segment: cwnd = 1 MSS */
	pr_take(&pr, &first[0]);
	pr_ack(&pr);
	tt_flush();
	expect_seg(&s); /* cwnd 2 MSS */
	assert_int_equal(s.seq, first[1].seq);
	pr_take(&pr, &s);
	expect_seg(&s);
	assert_int_equal(s.seq, first[2].seq);
	pr_take(&pr, &s);
	expect_none();
	pr_ack(&pr);
	tt_flush();
	assert_int_equal(pr_take_all(&pr), 2);
	pr_ack(&pr);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(CNT(bytes_out), 5 * OUR_MSS);
	assert_int_equal(CNT(timeouts), 1);
	assert_int_equal(CNT(retrans_segs), 5); /* every resent segment counts */
	tcp_close(G.t, c);
	tt_finish();
}

/* Three duplicate ACKs resend the first unacked segment at once; a partial ACK the next. */
static void
test_fast_retransmit_newreno(void **state)
{
	struct peer pr = peer_new(PPORT, 7);
	struct tcp_conn *c;
	struct tseg s, seg[6];
	uint32_t end;

	(void)state;
	tt_start_default();
	c = accept_with_rtt(&pr, 1);
	assert_int_equal(app_send_pat(c, 0, 6 * OUR_MSS), 6 * OUR_MSS);
	tt_flush();
	for (int i = 0; i < 6; i++)
		expect_seg(&seg[i]);
	end = seg[5].seq + seg[5].len;
	/* The peer gets 1, 3, 5, 6 (2 and 4 lost): one ACK, then three duplicates. */
	pr_take(&pr, &seg[0]);
	pr_ack(&pr);
	tt_flush();
	expect_none();
	pr_ack(&pr);
	pr_ack(&pr);
	expect_none();
	assert_int_equal(CNT(dup_acks), 2);
	pr_ack(&pr);
	expect_seg(&s); /* before any timer or flush */
	assert_int_equal(s.seq, seg[1].seq);
	assert_memory_equal(s.data, seg[1].data, s.len);
	assert_int_equal(CNT(dup_acks), 3);
	assert_int_equal(CNT(fast_retrans), 1);
	expect_none();

	/* 2 arrives: the ACK covers 3 too and stops at the next hole (4): resent at once. */
	pr.una = seg[3].seq;
	pr_ack(&pr);
	expect_seg(&s);
	assert_int_equal(s.seq, seg[3].seq);
	assert_int_equal(CNT(fast_retrans), 2);
	tt_flush();
	expect_none();

	/* Everything: recovery ends; no timeout was needed. */
	pr.una = end;
	pr_ack(&pr);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(CNT(timeouts), 0);
	assert_int_equal(CNT(retrans_segs), 2);
	tt_advance_ms(5000);
	expect_none();
	/* Data flows on. */
	pr.rcvd = 6 * OUR_MSS;
	assert_int_equal(app_send_pat(c, 6 * OUR_MSS, 100), 100);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.seq, end);
	tcp_close(G.t, c);
	tt_finish();
}

/* What is not a duplicate ACK (RFC 5681 section 2): data, a window change, nothing in flight. */
static void
test_not_duplicate_acks(void **state)
{
	struct peer pr = peer_new(PPORT, 8);
	struct tcp_conn *c;

	(void)state;
	tt_start_default();
	c = accept_with_rtt(&pr, 1);
	for (int i = 0; i < 5; i++)
		pr_ack(&pr); /* nothing outstanding */
	assert_int_equal(app_send_pat(c, 0, 2 * OUR_MSS), 2 * OUR_MSS);
	tt_flush();
	cap_clear();
	for (int i = 0; i < 4; i++)
		pr_send_pat(&pr, F_ACK, (uint32_t)i * 10, 10); /* carry data */
	for (int i = 0; i < 4; i++) {
		pr.win = (uint16_t)(1000 + i); /* window changes */
		pr_ack(&pr);
	}
	assert_int_equal(CNT(dup_acks), 0);
	assert_int_equal(CNT(fast_retrans), 0);
	expect_none();
	tcp_abort(G.t, c);
	tt_finish();
}

/* After a lost SYN-ACK the initial window is one segment (RFC 5681 3.1, RFC 6298 5.7). */
static void
test_initial_window_after_lost_synack(void **state)
{
	struct peer pr = peer_new(PPORT, 9), pr2 = peer_new(PPORT + 1, 9);
	struct tcp_conn *c, *c2;

	(void)state;
	tt_start_default();
	c2 = accept_with_rtt(&pr2, 1);
	assert_int_equal(app_send_pat(c2, 0, 20 * OUR_MSS), 20 * OUR_MSS);
	tt_flush();
	assert_int_equal(pr_take_all(&pr2), 10); /* RFC 6928: 10 segments (14600 bytes) */
	tcp_abort(G.t, c2);
	cap_clear();

	c = accept_after_lost_synack(&pr);
	assert_int_equal(app_send_pat(c, 0, 20 * OUR_MSS), 20 * OUR_MSS);
	tt_flush();
	assert_int_equal(pr_take_all(&pr), 1);
	tcp_abort(G.t, c);
	tt_finish();
}

/* A zero window: nothing sent, probes on the persist timer with backoff, then data flows. */
static void
test_zero_window_persist(void **state)
{
	struct peer pr = peer_new(PPORT, 10);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = accept_with_rtt(&pr, 0); /* RTO 200 ms */
	pr.win = 0;
	pr_ack(&pr);
	assert_int_equal(app_send_pat(c, 0, 1000), 1000);
	tt_flush();
	expect_none();
	uint64_t waits[] = {200, 400, 800, 1600};

	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(tt_advance_until_output(10000), waits[i]);
		expect_seg(&s);
		assert_int_equal(s.flags, F_ACK);
		assert_int_equal(s.len, 0);
		assert_int_equal(s.seq, pr.una - 1); /* an old sequence: the peer must answer */
		expect_none();
		pr_ack(&pr); /* still closed */
		tt_flush();
		expect_none();
	}
	assert_int_equal(CNT(zero_window_probes), 4);
	assert_int_equal(tcp_conn_unacked(c), 1000);
	assert_int_equal(CNT(bytes_out), 0);

	/* The window opens: the data goes at the next flush, the probes stop. */
	pr.win = 100; /* << 7 */
	pr_ack(&pr);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, 1000);
	pr_take(&pr, &s);
	pr_ack(&pr);
	tt_advance_ms(10000);
	expect_none();
	assert_int_equal(CNT(zero_window_probes), 4);

	/* The window closes again as the data is ACKed: probing starts over (backoff reset). */
	pr.win = 0;
	assert_int_equal(app_send_pat(c, 1000, 500), 500);
	tt_flush();
	expect_seg(&s);
	pr_take(&pr, &s);
	pr_ack(&pr); /* ACKs it and closes the window */
	assert_int_equal(app_send_pat(c, 1500, 500), 500);
	tt_flush();
	expect_none();
	assert_int_equal(tt_advance_until_output(10000), 200);
	expect_seg(&s);
	assert_int_equal(s.len, 0);
	tcp_abort(G.t, c);
	tt_finish();
}

/*
 * A peer whose window never reaches one of our segments (a tiny receive buffer: 1000 bytes,
 * MSS 1460). RFC 9293 3.8.6.2.1 lets the sender send when at least half the largest window
 * the peer ever offered fits; here a full segment is waited for, forever.
 */
static void
test_window_below_one_segment(void **state)
{
	struct peer pr = peer_new(PPORT, 11);
	struct tcp_conn *c;

	(void)state;
	/* A window smaller than the next segment: what fits goes out, the rest after ACKs. */
	tt_start_default();
	pr.win = 1000;
	c = pr_accept(&pr, 1460, -1);
	assert_int_equal(app_send_pat(c, 0, OUR_MSS), OUR_MSS);
	tt_flush();
	pr_receive_acking(&pr, OUR_MSS);
	assert_int_equal(pr.rcvd, OUR_MSS);
	tcp_abort(G.t, c);
	tt_finish();
}

/*
 * The persist timer waits on data a window smaller than one segment holds back (the send of
 * what fits failed: no mbuf); then an ACK repeats the same window. That ACK stops the timer:
 * output must decide again and the data must still go, where it used to wait for ever with no
 * timer (fuzz_tcp's seed persist_cleared_by_same_window).
 */
static void
test_same_window_ack_keeps_data_moving(void **state)
{
	struct peer pr = peer_new(PPORT, 16);
	struct tcp_conn *c;

	(void)state;
	tt_start_default();
	pr.win = 500;
	c = pr_accept(&pr, 1460, -1);
	assert_int_equal(app_send_pat(c, 0, 700), 700);
	G.alloc_fail = true;
	tt_flush();
	expect_none();
	G.alloc_fail = false;
	pr_ack(&pr); /* the same window, 500 */
	pr_receive_acking(&pr, 700);
	assert_int_equal(pr.rcvd, 700);
	tcp_abort(G.t, c);
	tt_finish();
}

/* A retransmission while the NIC still holds the first copy goes out as a copy, same bytes. */
static void
test_retransmit_while_nic_holds(void **state)
{
	struct peer pr = peer_new(PPORT, 12);
	struct tcp_conn *c;
	struct tseg s, s2;

	(void)state;
	tt_start_default();
	c = accept_with_rtt(&pr, 0);
	assert_int_equal(app_send_pat(c, 0, 1000), 1000);
	tt_flush();
	assert_int_equal(cap_n(), 1); /* held, not popped: the "NIC" has it */
	tt_advance_ms(200);
	assert_int_equal(cap_n(), 2);
	expect_seg(&s);
	expect_seg(&s2);
	assert_int_equal(s.seq, s2.seq);
	assert_int_equal(s.len, 1000);
	assert_int_equal(s2.len, 1000);
	assert_memory_equal(s.data, s2.data, 1000);
	pat_check(s2.data, 0, 1000);
	pr_take(&pr, &s);
	pr_ack(&pr);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* No mbufs: a SYN-ACK or a reply not sent is sent later; sendv says -EAGAIN. */
static void
test_no_mbuf(void **state)
{
	struct peer pr = peer_new(PPORT, 13);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	G.alloc_fail = true;
	pr_syn(&pr, 1460, 7);
	expect_none();
	assert_int_equal(CNT(no_mbuf), 1);
	assert_int_equal(tt_count(TCP_S_SYN_RECEIVED), 1);
	G.alloc_fail = false;
	assert_int_equal(tt_advance_until_output(5000), 1000);
	pr_expect_synack(&pr, &s);
	pr.wscale = 7;
	pr_ack(&pr);
	c = ev_find_port(TCP_EV_ACCEPTED, PPORT);
	assert_non_null(c);

	G.alloc_fail = true;
	assert_int_equal(app_send_pat(c, 0, 100), -EAGAIN);
	G.alloc_fail = false;
	assert_int_equal(app_send_pat(c, 0, 100), 100);
	G.alloc_fail = true;
	tt_flush(); /* the lent mbuf needs no allocation */
	expect_seg(&s);
	assert_int_equal(s.len, 100);
	/* The peer's data: the delayed ACK cannot go out without an mbuf... */
	pr_send(&pr, F_ACK, "x", 1);
	tt_advance_ms(100);
	expect_none();
	G.alloc_fail = false;
	/* ...and is not lost for good: the retransmission of our data carries it. */
	assert_true(tt_advance_until_output(5000) <= 3000);
	expect_seg(&s);
	assert_int_equal(s.ack, pr.nxt);
	tcp_abort(G.t, c);
	tt_finish();
}

/* A FIN that found no mbuf when the application closed goes out later on its own. */
static void
test_fin_without_mbuf_retried(void **state)
{
	struct peer pr = peer_new(PPORT, 14);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = accept_with_rtt(&pr, 0);
	G.alloc_fail = true;
	tcp_close(G.t, c);
	tt_flush();
	expect_none();
	G.alloc_fail = false;
	assert_true(tt_advance_until_output(60000) <= 1000);
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	assert_int_equal(s.seq, pr.una);
	pr_take(&pr, &s);
	pr_ack(&pr);
	pr_send(&pr, F_ACK | F_FIN, NULL, 0);
	expect_seg(&s);
	assert_int_equal(tt_count(TCP_S_TIME_WAIT), 1);
	tt_finish();
}

/* ---- a lossy link ---- */

/* A segment on the wire, either way. */
struct wire_pkt {
	bool to_us;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t len;
	uint64_t due_ms;
	uint8_t data[OUR_MSS];
};

static struct {
	struct wire_pkt held[512]; /* delayed: delivered later, out of order */
	unsigned nheld;
	uint64_t rng;
	unsigned drop_pct, dup_pct, delay_pct;
	/* the peer as a sender (go-back-N) */
	uint32_t start, una, nxt, max, edge; /* edge: right edge of our window */
	uint64_t progress_ms;
	bool fin_sent;
	struct peer *pr;
	uint32_t total_in;
} W;

static uint32_t
wire_rand(void)
{
	W.rng ^= W.rng << 13;
	W.rng ^= W.rng >> 7;
	W.rng ^= W.rng << 17;
	return (uint32_t)(W.rng >> 16);
}

static void wire_deliver(const struct wire_pkt *w);

/* Put @p w on the wire: maybe lost, duplicated or delayed. */
static void
wire_send(const struct wire_pkt *w)
{
	uint32_t r = wire_rand() % 100;

	if (r < W.drop_pct)
		return;
	if (r < W.drop_pct + W.dup_pct + W.delay_pct && W.nheld < 512) {
		W.held[W.nheld] = *w;
		W.held[W.nheld].due_ms = G.now / 1000 + 1 + wire_rand() % 30;
		W.nheld++;
		if (r >= W.drop_pct + W.delay_pct)
			wire_deliver(w); /* a duplicate: now and later */
		return;
	}
	wire_deliver(w);
}

static void
peer_send_ack(void)
{
	struct wire_pkt w = {
		.to_us = true, .seq = W.max, .ack = W.pr->una, .flags = F_ACK, .win = 65535};

	if (W.fin_sent)
		w.seq = W.max + 1;
	wire_send(&w);
}

/* The peer gets one of our segments: in order only (no reassembly), ACK everything. */
static void
peer_receive(const struct wire_pkt *w)
{
	struct peer *pr = W.pr;

	assert_false(w->flags & F_RST);
	if ((w->flags & F_ACK) && SEQ_GT_T(w->ack, W.una) &&
	    !SEQ_GT_T(w->ack, W.max + W.fin_sent)) {
		W.una = w->ack;
		W.progress_ms = G.now / 1000;
	}
	if ((w->flags & F_ACK) && SEQ_GT_T(w->ack + ((uint32_t)w->win << 3), W.edge))
		W.edge = w->ack + ((uint32_t)w->win << 3);
	if (w->len == 0 && !(w->flags & F_FIN))
		return;
	if (w->seq == pr->una && !pr->fin) {
		pat_check(w->data, w->seq - (pr->iss + 1), w->len);
		pr->una += w->len;
		pr->rcvd += w->len;
		if (w->flags & F_FIN) {
			pr->una++;
			pr->fin = true;
		}
	}
	peer_send_ack();
}

static void
wire_deliver(const struct wire_pkt *w)
{
	if (w->to_us)
		inject(W.pr->port, LPORT, w->seq, w->ack, w->flags, w->win, NULL, 0, w->data,
		       w->len);
	else
		peer_receive(w);
}

/* One millisecond of the link: delayed packets due, our output, the peer's sending. */
static void
wire_tick(void)
{
	struct tseg s;

	for (unsigned i = 0; i < W.nheld;) {
		if (W.held[i].due_ms <= G.now / 1000) {
			struct wire_pkt w = W.held[i];

			W.held[i] = W.held[--W.nheld];
			wire_deliver(&w);
		} else {
			i++;
		}
	}
	while (cap_pop(&s)) {
		struct wire_pkt w = {.to_us = false,
				     .seq = s.seq,
				     .ack = s.ack,
				     .flags = s.flags,
				     .win = s.win,
				     .len = (uint16_t)s.len};

		assert_true(s.len <= OUR_MSS);
		memcpy(w.data, s.data, s.len);
		wire_send(&w);
	}
	/* Go-back-N after 200 ms without progress. */
	if (W.una != W.max + W.fin_sent && G.now / 1000 - W.progress_ms > 200) {
		W.nxt = W.una;
		W.progress_ms = G.now / 1000;
		if (W.fin_sent && W.una == W.max) { /* only the FIN is missing */
			struct wire_pkt w = {.to_us = true,
					     .seq = W.max,
					     .ack = W.pr->una,
					     .flags = F_ACK | F_FIN,
					     .win = 65535};

			wire_send(&w);
		}
	}
	for (int k = 0; k < 4 && W.nxt - W.start < W.total_in; k++) {
		uint32_t left = W.total_in - (W.nxt - W.start);
		struct wire_pkt w = {.to_us = true,
				     .seq = W.nxt,
				     .ack = W.pr->una,
				     .flags = F_ACK,
				     .win = 65535,
				     .len = (uint16_t)(left < 1000 ? left : 1000)};

		if (SEQ_GT_T(W.nxt + w.len, W.edge))
			break;
		pat_fill(w.data, W.nxt - W.start, w.len);
		W.nxt += w.len;
		if (SEQ_GT_T(W.nxt, W.max))
			W.max = W.nxt;
		wire_send(&w);
	}
	/* The peer closes once it has our FIN and all its bytes are ACKed. */
	if (W.pr->fin && !W.fin_sent && W.una == W.start + W.total_in) {
		struct wire_pkt w = {.to_us = true,
				     .seq = W.max,
				     .ack = W.pr->una,
				     .flags = F_ACK | F_FIN,
				     .win = 65535};

		W.fin_sent = true;
		W.progress_ms = G.now / 1000;
		wire_send(&w);
	}
}

/*
 * Both directions at once over a link that drops, duplicates and reorders: both streams arrive
 * exact, and the connection closes cleanly (FINs lost too), leaving nothing behind.
 */
static void
lossy_run(uint64_t seed, unsigned drop, unsigned dup, unsigned delay, uint32_t total)
{
	static uint8_t buf[1 << 16];
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 0xFFFFF000u); /* the peer's bytes cross 2^32 too */
	struct tcp_conn *c;
	uint32_t sent = 0, got = 0;
	bool closed = false;

	p.msl_ms = 500;
	p.retries = 30;
	tt_start(&p);
	c = accept_with_rtt(&pr, 5);
	memset(&W, 0, sizeof(W));
	W.rng = seed;
	W.drop_pct = drop;
	W.dup_pct = dup;
	W.delay_pct = delay;
	W.pr = &pr;
	W.total_in = total;
	W.start = W.una = W.nxt = W.max = pr.nxt;
	W.edge = pr.nxt + 65535;
	W.progress_ms = G.now / 1000;
	for (int ms = 0; ms < 1200000 && (tt_conns() > 0 || W.nheld > 0); ms++) {
		ssize_t n;

		while (!closed && (n = tcp_recv(G.t, c, buf, sizeof(buf))) > 0) {
			pat_check(buf, got, (uint32_t)n);
			got += (uint32_t)n;
		}
		if (!closed && sent < total) {
			n = app_send_pat(c, sent, total - sent < 65536 ? total - sent : 65536);
			if (n > 0)
				sent += (uint32_t)n;
		}
		if (!closed && sent == total && got == total && pr.rcvd == total) {
			tcp_close(G.t, c);
			closed = true;
		}
		tt_flush();
		wire_tick();
		tt_advance_ms(1);
	}
	print_message("  seed %#lx loss %u%%: done at %.1f s: %lu resent, %lu timeouts, %lu fast, "
		      "%lu ooo, %lu dup\n",
		      (unsigned long)seed, drop, (double)G.now / 1e6,
		      (unsigned long)CNT(retrans_segs), (unsigned long)CNT(timeouts),
		      (unsigned long)CNT(fast_retrans), (unsigned long)CNT(ooo_segs),
		      (unsigned long)CNT(dup_segs));
	assert_int_equal(got, total);
	assert_int_equal(pr.rcvd, total);
	assert_true(pr.fin);
	assert_true(closed);
	assert_int_equal(tt_conns(), 0);
	cap_clear();
	tt_finish();
}

static void
test_lossy_link(void **state)
{
	static const struct {
		unsigned drop, dup, delay;
	} cfg[] = {{0, 0, 20}, {10, 5, 10}, {20, 5, 20}, {30, 10, 10}, {5, 30, 30}};

	(void)state;
	for (unsigned i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++)
		for (uint64_t seed = 1; seed <= LOSSY_SEEDS; seed++)
			lossy_run(seed * 0x9E3779B97F4A7C15ULL, cfg[i].drop, cfg[i].dup,
				  cfg[i].delay, 100000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, tt_teardown)
		T_(test_rto_initial_and_backoff),
		T_(test_rto_estimator_and_karn),
		T_(test_rto_bounds),
		T_(test_retries_then_abort),
		T_(test_fin_never_acked),
		T_(test_rto_go_back_n),
		T_(test_fast_retransmit_newreno),
		T_(test_not_duplicate_acks),
		T_(test_initial_window_after_lost_synack),
		T_(test_zero_window_persist),
		T_(test_window_below_one_segment),
		T_(test_same_window_ack_keeps_data_moving),
		T_(test_retransmit_while_nic_holds),
		T_(test_no_mbuf),
		T_(test_fin_without_mbuf_retried),
		T_(test_lossy_link),
#undef T_
	};

	tt_eal_init("nc_test_tcp_reliability");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
