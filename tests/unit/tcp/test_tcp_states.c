/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tcp: opening and closing. Passive and active open (options, events, refusal, SYN
 * retries, simultaneous open), every close path of RFC 9293 (CLOSE_WAIT / LAST_ACK,
 * FIN_WAIT_1 / FIN_WAIT_2 / TIME_WAIT, CLOSING, half-close both ways, orphaned FIN_WAIT_2),
 * abort, and the application-side calls (events, recv, sendv, shutdown, close).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_test.h"

/* ---- context creation ---- */

static void
test_create_params(void **state)
{
	struct tcp_params p = tt_params();
	struct tcp_ctx *t;
	int err = 0;

	(void)state;
	p.io.alloc = NULL;
	assert_null(tcp_create(&p, SOCKET_ID_ANY, &err));
	assert_int_equal(err, -EINVAL);
	p = tt_params();
	p.io.output = NULL;
	assert_null(tcp_create(&p, SOCKET_ID_ANY, &err));
	assert_int_equal(err, -EINVAL);
	p = tt_params();
	p.mtu = 87;
	assert_null(tcp_create(&p, SOCKET_ID_ANY, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(tcp_create(NULL, SOCKET_ID_ANY, &err));
	assert_int_equal(err, -EINVAL);
	p = tt_params();
	p.mtu = 88;
	t = tcp_create(&p, SOCKET_ID_ANY, &err);
	assert_non_null(t);
	assert_int_equal(err, 0);
	tcp_destroy(&t);
	assert_null(t);
	tcp_destroy(&t); /* NULL is fine */
	tcp_destroy(NULL);

	assert_string_equal(tcp_state_name(TCP_S_ESTABLISHED), "ESTABLISHED");
	assert_string_equal(tcp_state_name(TCP_S_TIME_WAIT), "TIME_WAIT");
	assert_string_equal(tcp_state_name(TCP_STATE_MAX), "?");
	assert_string_equal(tcp_counter_name(TCP_C_active_opens), "active_opens");
	assert_string_equal(tcp_counter_name(TCP_C_no_mbuf), "no_mbuf");
	assert_null(tcp_counter_name(TCP_C_MAX));

	tt_start_default();
	tt_finish();
}

/* ---- passive open ---- */

static void
test_passive_open_options(void **state)
{
	struct peer pr = peer_new(PPORT, 1000);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	pr_syn(&pr, 1400, 7);
	expect_seg(&s);
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.sport, LPORT);
	assert_int_equal(s.dport, PPORT);
	assert_int_equal(s.ack, 1001);
	assert_int_equal(s.mss, OUR_MSS);
	assert_int_equal(s.wscale, 3);	/* 256 KiB receive buffer: 65535 << 3 covers it */
	assert_int_equal(s.win, 65535); /* a SYN's window is not scaled */
	assert_int_equal(s.len, 0);
	expect_none();
	assert_int_equal(tt_count(TCP_S_SYN_RECEIVED), 1);
	assert_false(tcp_has_events(G.t)); /* nothing to report before the handshake ends */

	pr.iss = s.seq;
	pr.una = s.seq + 1;
	pr.wscale = 7;
	pr_ack(&pr);
	expect_none();
	c = ev_find_port(TCP_EV_ACCEPTED, PPORT);
	assert_non_null(c);
	assert_null(ev_find_port(TCP_EV_ACCEPTED, PPORT)); /* reported once */
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	assert_int_equal(tt_count(TCP_S_ESTABLISHED), 1);
	assert_int_equal(tt_count(TCP_S_SYN_RECEIVED), 0);
	assert_int_equal(CNT(passive_opens), 1);
	assert_int_equal(CNT(established), 1);
	assert_int_equal(tcp_conn_local_port(c), rte_cpu_to_be_16(LPORT));
	{
		rte_be32_t ip;
		rte_be16_t port;

		tcp_conn_peer(c, &ip, &port);
		assert_int_equal(ip, PEER_IP);
		assert_int_equal(port, rte_cpu_to_be_16(PPORT));
	}

	/* We send at most the peer's MSS (1400 < ours) and scale our window by 3. */
	assert_int_equal(app_send_pat(c, 0, 3000), 3000);
	assert_int_equal(tcp_conn_unacked(c), 3000);
	tt_flush();
	for (int i = 0; i < 3; i++) {
		expect_seg(&s);
		assert_int_equal(s.len, i < 2 ? 1400 : 200);
		assert_int_equal(s.flags, i < 2 ? F_ACK : F_ACK | F_PSH);
		assert_int_equal(s.ack, 1001);
		assert_int_equal(s.win, (256 * 1024) >> 3);
		pr_take(&pr, &s);
	}
	expect_none();
	pr_ack(&pr);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(CNT(bytes_out), 3000);
	tcp_abort(G.t, c);
	tt_finish();
}

static void
test_passive_open_no_options(void **state)
{
	struct peer pr = peer_new(PPORT, 0x7fffff00);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	pr_syn(&pr, 0, -1);
	expect_seg(&s);
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.mss, OUR_MSS); /* ours is always sent */
	assert_int_equal(s.wscale, -1);	  /* no window scaling: the peer did not offer it */
	assert_int_equal(s.ack, 0x7fffff01);
	pr.iss = s.seq;
	pr.una = s.seq + 1;
	pr_ack(&pr);
	c = ev_find_port(TCP_EV_ACCEPTED, PPORT);
	assert_non_null(c);

	/* No MSS option: 536 assumed; our window is not scaled (65535 at most). */
	assert_int_equal(app_send_pat(c, 0, 1500), 1500);
	tt_flush();
	for (int i = 0; i < 3; i++) {
		expect_seg(&s);
		assert_int_equal(s.len, i < 2 ? 536 : 428);
		assert_int_equal(s.win, 65535);
		pr_take(&pr, &s);
	}
	expect_none();
	pr_ack(&pr);
	tcp_abort(G.t, c);
	tt_finish();
}

/* A SYN with data or odd options still opens; a peer MSS above ours is cut to ours. */
static void
test_passive_open_odd_options(void **state)
{
	uint8_t o[16] = {1, 1, 8, 10, 0, 0, 0,	  1,
			 0, 0, 0, 0,  2, 4, 0x23, 0x28}; /* NOPs, TS, MSS 9000 */
	struct peer pr = peer_new(PPORT, 55);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	inject(PPORT, LPORT, 55, 0, F_SYN, 65535, o, sizeof(o), NULL, 0);
	pr.nxt = 56;
	pr_expect_synack(&pr, &s);
	assert_int_equal(s.wscale, -1);
	pr_ack(&pr);
	c = ev_find_port(TCP_EV_ACCEPTED, PPORT);
	assert_non_null(c);
	assert_int_equal(app_send_pat(c, 0, 3000), 3000);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, OUR_MSS);
	cap_clear();

	/* A truncated option list (length running past the header) is no crash. */
	{
		uint8_t bad[4] = {2, 40, 5, 0};

		inject(PPORT + 1, LPORT, 1, 0, F_SYN, 1000, bad, sizeof(bad), NULL, 0);
		expect_seg(&s);
		assert_int_equal(s.flags, F_SYN | F_ACK);
	}
	tt_finish();
}

/* ---- active open ---- */

/* tcp_connect and the SYN it sends; the peer is @p port on PEER_IP. */
static struct tcp_conn *
connect_syn(struct peer *pr, uint16_t port, struct tseg *s)
{
	struct tcp_conn *c = NULL;

	assert_int_equal(tcp_connect(G.t, PEER_IP, rte_cpu_to_be_16(port), G.now, &c), 0);
	assert_non_null(c);
	expect_seg(s);
	assert_int_equal(s->flags, F_SYN);
	assert_int_equal(s->dport, port);
	assert_true(s->sport >= 32768 && s->sport <= 60999);
	assert_int_equal(tcp_conn_local_port(c), rte_cpu_to_be_16(s->sport));
	*pr = peer_new(port, 70000);
	pr->lport = s->sport;
	pr->iss = s->seq;
	pr->una = s->seq + 1;
	pr->c = c;
	return c;
}

static void
test_active_open(void **state)
{
	struct peer pr;
	struct tcp_conn *c;
	struct tseg s;
	uint8_t o[8];

	(void)state;
	tt_start_default();
	c = connect_syn(&pr, 80, &s);
	assert_int_equal(s.mss, OUR_MSS);
	assert_int_equal(s.wscale, 3);
	assert_int_equal(s.len, 0);
	assert_int_equal(tcp_conn_state(c), TCP_S_SYN_SENT);
	assert_int_equal(CNT(active_opens), 1);
	assert_int_equal(tcp_sendv(G.t, c, &(struct iovec){.iov_base = o, .iov_len = 1}, 1),
			 -EAGAIN);
	assert_int_equal(tcp_recv(G.t, c, o, 1), -EAGAIN);

	/* SYN-ACK with MSS 1000 and shift 2. */
	inject(80, pr.lport, 70000, pr.una, F_SYN | F_ACK, 65535, o, syn_opts(o, 1000, 2), NULL, 0);
	pr.nxt = 70001;
	pr.wscale = 2;
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.seq, pr.una);
	assert_int_equal(s.ack, 70001);
	assert_int_equal(s.win, (256 * 1024) >> 3);
	expect_none();
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	assert_true(ev_has(c, TCP_EV_CONNECTED));
	assert_false(ev_has(c, TCP_EV_CONNECTED));
	assert_int_equal(CNT(established), 1);

	/* Segments of the peer's MSS; its window is 8000 << 2 after its next ACK. */
	pr.win = 8000;
	pr_ack(&pr);
	assert_int_equal(app_send_pat(c, 0, 2500), 2500);
	tt_flush();
	for (int i = 0; i < 3; i++) {
		expect_seg(&s);
		assert_int_equal(s.len, i < 2 ? 1000 : 500);
		pr_take(&pr, &s);
	}
	pr_ack(&pr);
	/* And the other way. */
	pr_send_pat(&pr, F_ACK | F_PSH, 0, 700);
	assert_true(ev_has(c, TCP_EV_READABLE));
	app_recv_pat(c, 0, 700, 4096);
	tcp_close(G.t, c);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	tt_finish();
}

static void
test_active_refused(void **state)
{
	struct peer pr;
	struct tcp_conn *c;
	struct tseg s;
	uint8_t b[4];

	(void)state;
	tt_start_default();
	c = connect_syn(&pr, 81, &s);

	/* An RST without ACK, or whose ACK is not ours, is ignored (RFC 9293 3.10.7.3). */
	inject(81, pr.lport, 0, 0, F_RST, 0, NULL, 0, NULL, 0);
	inject(81, pr.lport, 0, pr.iss + 7, F_RST | F_ACK, 0, NULL, 0, NULL, 0);
	expect_none();
	assert_int_equal(tcp_conn_state(c), TCP_S_SYN_SENT);

	/* An ACK that is not ours (no RST): answered with an RST of its ACK number. */
	inject(81, pr.lport, 5, pr.iss + 9, F_ACK, 0, NULL, 0, NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.seq, pr.iss + 9);
	assert_int_equal(tcp_conn_state(c), TCP_S_SYN_SENT);

	inject(81, pr.lport, 0, pr.una, F_RST | F_ACK, 0, NULL, 0, NULL, 0);
	expect_none();
	assert_true(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), -ECONNREFUSED);
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), -ECONNREFUSED);
	assert_int_equal(tcp_sendv(G.t, c, &(struct iovec){.iov_base = b, .iov_len = 1}, 1),
			 -EPIPE);
	assert_int_equal(CNT(attempt_fails), 1);
	assert_int_equal(CNT(resets_in), 1);
	assert_int_equal(tt_count(TCP_S_CLOSED), 1);
	/* The failed connection answers with RSTs until closed. */
	inject(81, pr.lport, 1, 2, F_ACK, 0, NULL, 0, NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	tcp_close(G.t, c);
	expect_none();
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

static void
test_active_syn_retries(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr;
	struct tcp_conn *c;
	struct tseg s;
	uint8_t b[4];

	(void)state;
	p.syn_retries = 3;
	tt_start(&p);
	c = connect_syn(&pr, 82, &s);
	/* Initial RTO 1 s, doubled each time. */
	assert_int_equal(tt_advance_until_output(5000), 1000);
	expect_seg(&s);
	assert_int_equal(s.flags, F_SYN);
	assert_int_equal(s.seq, pr.iss);
	assert_int_equal(s.wscale, 3);
	assert_int_equal(tt_advance_until_output(5000), 2000);
	expect_seg(&s);
	assert_int_equal(s.seq, pr.iss);
	assert_int_equal(tt_advance_until_output(5000), 4000);
	expect_seg(&s);
	assert_int_equal(CNT(timeouts), 3);
	tt_advance_ms(7999);
	assert_int_equal(tcp_conn_state(c), TCP_S_SYN_SENT);
	assert_false(ev_has(c, TCP_EV_READABLE));
	tt_advance_ms(1);
	expect_none(); /* no RST for a SYN never answered */
	assert_true(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), -ETIMEDOUT);
	assert_int_equal(CNT(attempt_fails), 1);
	tcp_close(G.t, c);
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* Closing a connection still in SYN_SENT frees it; a late SYN-ACK then gets an RST. */
static void
test_active_close_in_syn_sent(void **state)
{
	struct peer pr;
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = connect_syn(&pr, 83, &s);
	tcp_close(G.t, c);
	assert_int_equal(tt_conns(), 0);
	tt_advance_ms(3000);
	expect_none();
	inject(83, pr.lport, 9, pr.una, F_SYN | F_ACK, 1000, NULL, 0, NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.seq, pr.una);
	tt_finish();
}

/* Both sides send a SYN at once (RFC 9293 figure 8). */
static void
test_simultaneous_open(void **state)
{
	struct peer pr;
	struct tcp_conn *c;
	struct tseg s;
	uint8_t o[8];

	(void)state;
	tt_start_default();
	c = connect_syn(&pr, 84, &s);
	inject(84, pr.lport, 9000, 0, F_SYN, 20000, o, syn_opts(o, 1200, 1), NULL, 0);
	pr.nxt = 9001;
	expect_seg(&s);
	assert_int_equal(s.flags, F_SYN | F_ACK);
	assert_int_equal(s.seq, pr.iss);
	assert_int_equal(s.ack, 9001);
	assert_int_equal(s.wscale, 3);
	assert_int_equal(tcp_conn_state(c), TCP_S_SYN_RECEIVED);
	pr.win = 20000;
	pr.wscale = 1;
	pr_ack(&pr);
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	assert_true(ev_has(c, TCP_EV_CONNECTED));
	assert_int_equal(app_send_pat(c, 0, 1300), 1300);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, 1200);
	pr_take(&pr, &s);
	expect_seg(&s);
	pr_take(&pr, &s);
	pr_ack(&pr);
	tcp_abort(G.t, c);
	tt_finish();
}

/* tcp_connect skips source ports in use and those RSS would not steer back here. */
static bool
steer_even(void *arg, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport)
{
	(void)arg;
	(void)rip;
	(void)rport;
	return (rte_be_to_cpu_16(lport) & 1) == 0;
}

static bool
steer_none(void *arg, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport)
{
	(void)arg;
	(void)rip;
	(void)rport;
	(void)lport;
	return false;
}

static void
test_connect_ports(void **state)
{
	struct tcp_params p = tt_params();
	struct tcp_conn *c[8];
	uint16_t ports[8];
	struct tseg s;

	(void)state;
	p.io.steers_here = steer_even;
	p.max_conns = 6;
	tt_start(&p);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(tcp_connect(G.t, PEER_IP, rte_cpu_to_be_16(80), G.now, &c[i]), 0);
		expect_seg(&s);
		ports[i] = s.sport;
		assert_int_equal(ports[i] % 2, 0);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ports[i], ports[j]);
	}
	assert_int_equal(tcp_connect(G.t, PEER_IP, rte_cpu_to_be_16(80), G.now, &c[6]), -ENOBUFS);
	assert_int_equal(CNT(active_opens), 6);
	assert_int_equal(tt_count(TCP_S_SYN_SENT), 6);
	for (int i = 0; i < 6; i++)
		tcp_close(G.t, c[i]);
	assert_int_equal(tt_conns(), 0);
	tt_finish();

	/* No source port comes back here: -EADDRNOTAVAIL, nothing sent. */
	p.io.steers_here = steer_none;
	tt_start(&p);
	assert_int_equal(tcp_connect(G.t, PEER_IP, rte_cpu_to_be_16(80), G.now, &c[0]),
			 -EADDRNOTAVAIL);
	expect_none();
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* ---- closing ---- */

static struct tcp_params
params_short_msl(void)
{
	struct tcp_params p = tt_params();

	p.msl_ms = 1000; /* TIME_WAIT lasts 2 s */
	return p;
}

/* ESTABLISHED -> CLOSE_WAIT (peer FIN) -> LAST_ACK (our FIN) -> freed on the ACK. */
static void
test_close_passive_side(void **state)
{
	struct tcp_params p = params_short_msl();
	struct peer pr = peer_new(PPORT, 100);
	struct tcp_conn *c;
	struct tseg s;
	char buf[16];

	(void)state;
	tt_start(&p);
	c = pr_accept_default(&pr);
	pr_send(&pr, F_ACK | F_PSH | F_FIN, "hello", 5);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSE_WAIT);
	assert_int_equal(tt_count(TCP_S_CLOSE_WAIT), 1);
	tt_flush(); /* the FIN is ACKed at once */
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(s.seq, pr.una);
	expect_none();
	assert_true(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tcp_recv(G.t, c, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tcp_recv(G.t, c, buf, sizeof(buf)), 0);
	assert_true(ev_has(c, TCP_EV_READABLE)); /* EOF stays readable */
	assert_int_equal(tcp_recv(G.t, c, buf, sizeof(buf)), 0);

	/* The peer's FIN again (its ACK was lost): ACKed again, nothing else changes. */
	pr_send_at(&pr, pr.nxt - 1, F_ACK | F_FIN, NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSE_WAIT);

	tcp_close(G.t, c);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	assert_int_equal(s.seq, pr.una);
	assert_int_equal(s.ack, pr.nxt);
	expect_none();
	assert_int_equal(tt_count(TCP_S_LAST_ACK), 1);

	/* The FIN is resent until ACKed. */
	assert_true(tt_advance_until_output(2000) <= 1001);
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	assert_int_equal(s.seq, pr.una);
	pr.una++;
	pr_ack(&pr);
	expect_none();
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* ESTABLISHED -> FIN_WAIT_1 (close) -> FIN_WAIT_2 (ACK) -> TIME_WAIT (peer FIN) -> gone. */
static void
test_close_active_side(void **state)
{
	struct tcp_params p = params_short_msl();
	struct peer pr = peer_new(PPORT, 200);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start(&p);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 100), 100);
	tcp_close(G.t, c); /* the data goes first, then the FIN */
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, 100);
	pr_take(&pr, &s);
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	assert_int_equal(s.seq, pr.una);
	pr_take(&pr, &s);
	expect_none();
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_1), 1);

	pr_ack(&pr);
	expect_none();
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_2), 1);
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_1), 0);

	pr_send(&pr, F_ACK | F_FIN, NULL, 0);
	expect_seg(&s); /* ACKed at once */
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(s.seq, pr.una);
	assert_int_equal(tt_count(TCP_S_TIME_WAIT), 1);
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_2), 0);

	/* A retransmitted FIN in TIME_WAIT is ACKed again (and restarts the 2 MSL). */
	tt_advance_ms(1000);
	pr_send_at(&pr, pr.nxt - 1, F_ACK | F_FIN, NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	tt_advance_ms(1999);
	assert_int_equal(tt_count(TCP_S_TIME_WAIT), 1);
	tt_advance_ms(1);
	assert_int_equal(tt_conns(), 0);
	expect_none();
	tt_finish();
}

/* FIN_WAIT_1 -> CLOSING (the peer's FIN crosses ours) -> TIME_WAIT -> gone. */
static void
test_simultaneous_close(void **state)
{
	struct tcp_params p = params_short_msl();
	struct peer pr = peer_new(PPORT, 300);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start(&p);
	c = pr_accept_default(&pr);
	tcp_close(G.t, c);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	uint32_t our_fin = s.seq;

	pr_send(&pr, F_ACK | F_FIN, NULL, 0); /* does not ACK our FIN yet */
	assert_int_equal(tt_count(TCP_S_CLOSING), 1);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	expect_none();

	pr.una = our_fin + 1;
	pr_ack(&pr);
	assert_int_equal(tt_count(TCP_S_TIME_WAIT), 1);
	assert_int_equal(tt_count(TCP_S_CLOSING), 0);
	tt_advance_ms(2000);
	assert_int_equal(tt_conns(), 0);
	expect_none();
	tt_finish();
}

/* The peer closes first; we still send (CLOSE_WAIT), it gets everything; then we close. */
static void
test_half_close_peer_first(void **state)
{
	struct peer pr = peer_new(PPORT, 400);
	struct tcp_conn *c;
	struct tseg s;
	char b[4];

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	pr_send(&pr, F_ACK | F_FIN, NULL, 0);
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), 0);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSE_WAIT);
	assert_int_equal(app_send_pat(c, 0, 3000), 3000);
	tt_flush();
	/* The FIN's ACK rides on the data. */
	assert_int_equal(pr_take_all(&pr), 3);
	assert_int_equal(pr.rcvd, 3000);
	pr_ack(&pr);
	assert_int_equal(tcp_conn_unacked(c), 0);
	assert_int_equal(app_send_pat(c, 3000, 10), 10);
	assert_int_equal(tcp_shutdown(G.t, c), 0);
	assert_int_equal(tcp_shutdown(G.t, c), 0);
	assert_int_equal(tcp_sendv(G.t, c, &(struct iovec){.iov_base = b, .iov_len = 1}, 1),
			 -EPIPE);
	tt_flush();
	expect_seg(&s);
	pr_take(&pr, &s);
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	pr_take(&pr, &s);
	assert_int_equal(tcp_conn_state(c), TCP_S_LAST_ACK);
	pr_ack(&pr);
	/* The application still holds it: CLOSED, EOF, until tcp_close. */
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSED);
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), 0);
	assert_true(ev_has(c, TCP_EV_READABLE));
	tcp_close(G.t, c);
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/*
 * We close our side first (tcp_shutdown) and read the reply: the peer's last bytes come with
 * its FIN while we are in FIN_WAIT_2. The bytes must still be readable in TIME_WAIT.
 */
static void
test_half_close_we_first_read_reply(void **state)
{
	struct tcp_params p = params_short_msl();
	struct peer pr = peer_new(PPORT, 500);
	struct tcp_conn *c;
	struct tseg s;
	char buf[32];

	(void)state;
	tt_start(&p);
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 50), 50);
	assert_int_equal(tcp_shutdown(G.t, c), 0);
	tt_flush();
	assert_int_equal(pr_take_all(&pr), 2); /* data, FIN */
	assert_true(pr.fin);
	assert_int_equal(tcp_conn_state(c), TCP_S_FIN_WAIT_1);
	pr_ack(&pr);
	assert_int_equal(tcp_conn_state(c), TCP_S_FIN_WAIT_2);

	/* Some bytes first, in FIN_WAIT_2 (readable), then the rest with the FIN. */
	pr_send(&pr, F_ACK, "reply-", 6);
	pr_send(&pr, F_ACK | F_FIN, "done", 4);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(tcp_conn_state(c), TCP_S_TIME_WAIT);
	assert_true(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tcp_recv(G.t, c, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "reply-done", 10);
	assert_int_equal(tcp_recv(G.t, c, buf, sizeof(buf)), 0);
	tt_advance_ms(2000);
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSED);
	assert_int_equal(tcp_recv(G.t, c, buf, sizeof(buf)), 0);
	tcp_close(G.t, c);
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* tcp_close in TIME_WAIT with bytes never read: nobody will read them, they go at once. */
static void
test_close_in_time_wait_releases_unread(void **state)
{
	struct tcp_params p = params_short_msl();
	struct peer pr = peer_new(PPORT, 550);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start(&p);
	c = pr_accept_default(&pr);
	assert_int_equal(tcp_shutdown(G.t, c), 0);
	tt_flush();
	expect_seg(&s);
	pr_take(&pr, &s);
	pr_ack(&pr);
	pr_send_pat(&pr, F_ACK, 0, 1000);
	pr_send_pat(&pr, F_ACK | F_FIN, 1000, 1000);
	expect_seg(&s);
	assert_int_equal(tcp_conn_state(c), TCP_S_TIME_WAIT);
	assert_int_equal(tt_mbufs_held(), 2);
	tcp_close(G.t, c);
	assert_int_equal(tt_mbufs_held(), 0);
	assert_int_equal(tt_count(TCP_S_TIME_WAIT), 1); /* the 2 MSL still run */
	tt_advance_ms(2000);
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* An orphaned FIN_WAIT_2 ends after fin_wait_2_ms; one with a handle does not. */
static void
test_fin_wait_2_timeout(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 600), pr2 = peer_new(PPORT + 1, 600);
	struct tcp_conn *c, *c2;

	(void)state;
	p.fin_wait_2_ms = 5000;
	tt_start(&p);
	c = pr_accept_default(&pr);
	c2 = pr_accept_default(&pr2);
	tcp_close(G.t, c);
	assert_int_equal(tcp_shutdown(G.t, c2), 0);
	tt_flush();
	assert_int_equal(peers_take_all((struct peer *[]){&pr, &pr2}, 2), 2);
	pr_ack(&pr);
	pr_ack(&pr2);
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_2), 2);
	tt_advance_ms(4999);
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_2), 2);
	tt_advance_ms(1);
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_2), 1);
	assert_int_equal(tcp_conn_state(c2), TCP_S_FIN_WAIT_2);
	expect_none();
	/* tcp_close in FIN_WAIT_2 starts the clock for the other one. */
	tcp_close(G.t, c2);
	tt_advance_ms(5000);
	assert_int_equal(tt_conns(), 0);
	expect_none();
	tt_finish();
}

/* tcp_close with unread bytes is an abort (RST); tcp_abort sends an RST too. */
static void
test_close_unread_and_abort(void **state)
{
	struct peer pr = peer_new(PPORT, 700), pr2 = peer_new(PPORT + 1, 700);
	struct tcp_conn *c, *c2;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	c2 = pr_accept_default(&pr2);
	pr_send(&pr, F_ACK, "unread", 6);
	tcp_close(G.t, c);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST | F_ACK);
	assert_int_equal(s.seq, pr.una);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(s.dport, PPORT);
	assert_int_equal(tt_conns(), 1);

	assert_int_equal(app_send_pat(c2, 0, 100), 100);
	tt_flush();
	expect_seg(&s);
	tcp_abort(G.t, c2);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST | F_ACK);
	assert_int_equal(s.seq, pr2.una + 100);
	assert_int_equal(tt_conns(), 0);
	assert_int_equal(CNT(resets_out), 2);
	tt_flush();
	expect_none();
	tt_finish();
}

/* Data arriving for an orphaned connection (closed by the application) resets it. */
static void
test_orphan_data_resets(void **state)
{
	struct peer pr = peer_new(PPORT, 800);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	tcp_close(G.t, c);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	pr.una++;
	pr_ack(&pr);
	assert_int_equal(tt_count(TCP_S_FIN_WAIT_2), 1);
	pr_send(&pr, F_ACK, "late", 4);
	expect_seg(&s);
	assert_int_equal(s.flags & F_RST, F_RST);
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* Events: level-triggered READABLE, WRITABLE while asked for, the user pointer. */
static void
test_events(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr = peer_new(PPORT, 900);
	struct tcp_conn *c;
	struct tcp_event ev[8];
	char b[8];
	int user;

	(void)state;
	p.sndbuf = 4000;
	tt_start(&p);
	c = pr_accept_default(&pr);
	assert_int_equal(tcp_events(G.t, ev, 8), 0);
	assert_false(tcp_has_events(G.t));
	tcp_conn_set_user(c, &user);
	assert_ptr_equal(tcp_conn_user(c), &user);
	assert_true(tcp_conn_id(c) >= 0);

	pr_send(&pr, F_ACK, "abcdef", 6);
	assert_true(tcp_has_events(G.t));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tcp_events(G.t, ev, 8), 1);
		assert_int_equal(ev[0].kind, TCP_EV_READABLE);
		assert_ptr_equal(ev[0].conn, c);
		assert_ptr_equal(ev[0].user, &user);
	}
	assert_int_equal(tcp_recv(G.t, c, b, 4), 4);
	assert_true(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tcp_recv(G.t, c, b, 8), 2);
	assert_memory_equal(b, "ef", 2);
	assert_int_equal(tcp_recv(G.t, c, b, 8), -EAGAIN);
	assert_int_equal(tcp_events(G.t, ev, 8), 0);
	assert_false(tcp_has_events(G.t));

	/* WRITABLE: reported while on and there is room; not when the buffer is full. */
	tcp_want_writable(G.t, c, true);
	assert_true(ev_has(c, TCP_EV_WRITABLE));
	assert_int_equal(app_send_pat(c, 0, 5000), 4000);
	assert_int_equal(app_send_pat(c, 4000, 10), -EAGAIN);
	assert_false(ev_has(c, TCP_EV_WRITABLE));
	tt_flush();
	pr_take_all(&pr);
	pr_ack(&pr);
	assert_true(ev_has(c, TCP_EV_WRITABLE));
	tcp_want_writable(G.t, c, false);
	assert_false(ev_has(c, TCP_EV_WRITABLE));
	tcp_close(G.t, c);
	tt_flush();
	cap_clear();
	tt_finish();
}

/*
 * More connections stay readable than one tcp_events() call takes (the application reads only
 * part of each): every one of them must be named within a few calls, none starved.
 */
static void
test_events_no_starvation(void **state)
{
	struct peer pr[6];
	struct tcp_conn *c[6];
	bool seen[6] = {false};

	(void)state;
	tt_start_default();
	for (int i = 0; i < 6; i++) {
		pr[i] = peer_new((uint16_t)(PPORT + i), 1000);
		c[i] = pr_accept_default(&pr[i]);
	}
	for (int i = 0; i < 6; i++)
		pr_send_pat(&pr[i], F_ACK, 0, 1000);
	for (int call = 0; call < 6; call++) {
		struct tcp_event ev[2];
		unsigned n = tcp_events(G.t, ev, 2);
		char b[10];

		assert_int_equal(n, 2);
		for (unsigned k = 0; k < n; k++) {
			assert_int_equal(ev[k].kind, TCP_EV_READABLE);
			for (int i = 0; i < 6; i++)
				if (ev[k].conn == c[i])
					seen[i] = true;
			assert_int_equal(tcp_recv(G.t, ev[k].conn, b, sizeof(b)),
					 10); /* still readable */
		}
	}
	for (int i = 0; i < 6; i++)
		if (!seen[i])
			fail_msg("connection %d never reported in 6 calls of 2 events", i);
	tt_finish();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, tt_teardown)
		T_(test_create_params),
		T_(test_passive_open_options),
		T_(test_passive_open_no_options),
		T_(test_passive_open_odd_options),
		T_(test_active_open),
		T_(test_active_refused),
		T_(test_active_syn_retries),
		T_(test_active_close_in_syn_sent),
		T_(test_simultaneous_open),
		T_(test_connect_ports),
		T_(test_close_passive_side),
		T_(test_close_active_side),
		T_(test_simultaneous_close),
		T_(test_half_close_peer_first),
		T_(test_half_close_we_first_read_reply),
		T_(test_close_in_time_wait_releases_unread),
		T_(test_fin_wait_2_timeout),
		T_(test_close_unread_and_abort),
		T_(test_orphan_data_resets),
		T_(test_events),
		T_(test_events_no_starvation),
#undef T_
	};

	tt_eal_init("nc_test_tcp_states");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
