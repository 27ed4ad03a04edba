/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/tcp: what an attacker or a confused peer can send. RST and SYN validation and ACK
 * checks (RFC 5961) with the challenge-ACK rate limit, SYN cookies (round trip for every MSS,
 * bad and stale cookies), handshake ACK validation, segments to closed ports and malformed
 * headers, TIME_WAIT reuse and its bound, the connection table and mbuf budget limits, many
 * connections opened and closed without a leak, and a stream of random segments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_test.h"

#ifndef RANDOM_SEED
#define RANDOM_SEED 0x9e3779b97f4a7c15ULL
#endif

/* ---- RST (RFC 5961 section 3) ---- */

static void
test_rst_exact_resets(void **state)
{
	struct peer pr = peer_new(PPORT, 1), pr2 = peer_new(PPORT + 1, 1);
	struct tcp_conn *c, *c2;
	char b[4];

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	c2 = pr_accept_default(&pr2);
	assert_int_equal(app_send_pat(c, 0, 100), 100);
	tt_flush();
	cap_clear();
	pr_send(&pr, F_RST, NULL, 0);
	expect_none();
	assert_int_equal(tcp_conn_state(c), TCP_S_CLOSED);
	assert_true(ev_has(c, TCP_EV_READABLE));
	assert_int_equal(tcp_recv(G.t, c, b, sizeof(b)), -ECONNRESET);
	assert_int_equal(tcp_sendv(G.t, c, &(struct iovec){.iov_base = b, .iov_len = 1}, 1),
			 -EPIPE);
	assert_int_equal(CNT(resets_in), 1);
	assert_int_equal(tt_mbufs_held(), 0);
	tcp_close(G.t, c);
	expect_none(); /* no RST answers an RST */
	/* RST with ACK: the same. */
	pr_send(&pr2, F_RST | F_ACK, NULL, 0);
	assert_int_equal(tcp_recv(G.t, c2, b, sizeof(b)), -ECONNRESET);
	tcp_abort(G.t, c2);
	expect_none();
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

static void
test_rst_in_window_challenge(void **state)
{
	struct peer pr = peer_new(PPORT, 2);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	pr_send_at(&pr, pr.nxt + 1000, F_RST, NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.seq, pr.una);
	assert_int_equal(s.ack, pr.nxt);
	expect_none();
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	assert_int_equal(CNT(challenge_acks), 1);
	assert_int_equal(CNT(resets_in), 0);
	/* The connection still works. */
	pr_send(&pr, F_ACK, "ok", 2);
	assert_int_equal(tcp_recv(G.t, c, &s, 2), 2);
	tcp_close(G.t, c);
	tt_finish();
}

static void
test_rst_out_of_window_ignored(void **state)
{
	struct peer pr = peer_new(PPORT, 3);
	struct tcp_conn *c;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	pr_send_at(&pr, pr.nxt + 10000000, F_RST, NULL, 0);
	pr_send_at(&pr, pr.nxt - 1, F_RST, NULL, 0);
	pr_send_at(&pr, pr.nxt - 100000, F_RST | F_ACK, NULL, 0);
	expect_none();
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	assert_int_equal(CNT(resets_in), 0);
	assert_int_equal(CNT(challenge_acks), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* At most TCP_CHALLENGE_PER_S (1000) challenge ACKs a second. */
static void
test_challenge_ack_rate_limit(void **state)
{
	struct peer pr = peer_new(PPORT, 4);
	struct tcp_conn *c;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	G.now = (G.now / 1000000 + 1) * 1000000; /* the start of a second */
	for (int i = 0; i < 1100; i++)
		pr_send_at(&pr, pr.nxt + 1 + (uint32_t)i, F_RST, NULL, 0);
	assert_int_equal(cap_n(), 1000);
	assert_int_equal(CNT(challenge_acks), 1000);
	cap_clear();
	G.now += 1000000;
	pr_send_at(&pr, pr.nxt + 1, F_RST, NULL, 0);
	assert_int_equal(cap_n(), 1);
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	tcp_close(G.t, c);
	tt_finish();
}

/* ---- SYN and ACK checks (RFC 5961 sections 4, 5) ---- */

static void
test_syn_on_established(void **state)
{
	struct peer pr = peer_new(PPORT, 5);
	struct tcp_conn *c;
	struct tseg s;
	uint8_t o[8];

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	/* In the window: challenge ACK. */
	inject(PPORT, LPORT, pr.nxt + 5, 0, F_SYN, 1000, o, syn_opts(o, 1460, 7), NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	assert_int_equal(CNT(challenge_acks), 1);
	/* The old SYN again (out of the window): an ACK too, nothing else. */
	inject(PPORT, LPORT, 5, 0, F_SYN, 1000, o, syn_opts(o, 1460, 7), NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt);
	expect_none();
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	assert_int_equal(tt_conns(), 1);
	pr_send(&pr, F_ACK, "ok", 2);
	assert_int_equal(tcp_recv(G.t, c, &s, 2), 2);
	tcp_close(G.t, c);
	tt_finish();
}

/* An ACK of bytes never sent: challenge ACK, the segment (and its data) dropped. */
static void
test_ack_of_unsent_data(void **state)
{
	struct peer pr = peer_new(PPORT, 6);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t una;

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	assert_int_equal(app_send_pat(c, 0, 100), 100);
	tt_flush();
	expect_seg(&s);
	una = pr.una;
	pr.una = una + 1000;
	pr_send(&pr, F_ACK, "zz", 2);
	pr.nxt -= 2;
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, pr.nxt); /* the data was not taken */
	assert_int_equal(tcp_recv(G.t, c, &s, 2), -EAGAIN);
	assert_int_equal(tcp_conn_unacked(c), 100);
	assert_int_equal(CNT(challenge_acks), 1);
	/* Too old an ACK (below snd_una - the largest window): the same. */
	pr.una = una - 20000000;
	pr_ack(&pr);
	expect_seg(&s);
	assert_int_equal(CNT(challenge_acks), 2);
	/* A plain old duplicate is fine. */
	pr.una = una - 5;
	pr_ack(&pr);
	expect_none();
	pr.una = una + 100;
	pr_ack(&pr);
	assert_int_equal(tcp_conn_unacked(c), 0);
	tcp_close(G.t, c);
	tt_finish();
}

/* ---- the handshake ---- */

/* The ACK ending a handshake must ACK exactly our SYN; else RST, still SYN_RECEIVED. */
static void
test_handshake_ack_checked(void **state)
{
	static const uint32_t isss[] = {0x10000000u, 0x90000000u, 0xFFFFFFF0u};

	(void)state;
	tt_start_default();
	for (unsigned i = 0; i < 3; i++) {
		struct peer pr = peer_new((uint16_t)(PPORT + i), 1000);
		struct tseg s;

		place_our_iss(pr.port, isss[i]);
		pr_syn(&pr, 1460, 7);
		pr_expect_synack(&pr, &s);
		assert_int_equal(pr.iss, isss[i]);
		uint32_t bad[] = {pr.iss + 1000, pr.iss, pr.iss - 1, pr.iss + 0x40000000u};

		for (unsigned j = 0; j < 4; j++) {
			inject(pr.port, LPORT, pr.nxt, bad[j], F_ACK, 1000, NULL, 0, NULL, 0);
			expect_seg(&s);
			assert_int_equal(s.flags, F_RST);
			assert_int_equal(s.seq, bad[j]);
			assert_int_equal(tt_count(TCP_S_SYN_RECEIVED), 1);
			assert_int_equal(tt_count(TCP_S_ESTABLISHED), i);
			assert_null(ev_find_port(TCP_EV_ACCEPTED, pr.port));
		}
		pr_ack(&pr);
		assert_int_equal(tt_count(TCP_S_ESTABLISHED), i + 1);
		assert_non_null(ev_find_port(TCP_EV_ACCEPTED, pr.port));
	}
	tt_finish();
}

/* RST in SYN_RECEIVED: gone without a trace (the application never heard of it). */
static void
test_rst_in_syn_received(void **state)
{
	struct peer pr = peer_new(PPORT, 7);
	struct tseg s;

	(void)state;
	tt_start_default();
	pr_syn(&pr, 1460, 7);
	pr_expect_synack(&pr, &s);
	pr_send_at(&pr, pr.nxt + 100, F_RST, NULL, 0); /* in window, not exact */
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(tt_count(TCP_S_SYN_RECEIVED), 1);
	pr_send(&pr, F_RST, NULL, 0);
	expect_none();
	assert_int_equal(tt_conns(), 0);
	assert_false(tcp_has_events(G.t));
	tt_advance_ms(5000);
	expect_none(); /* no SYN-ACK retries for it */
	tt_finish();
}

/* The peer's SYN again (our SYN-ACK was lost): our SYN-ACK again, at once. */
static void
test_syn_retransmit_in_syn_received(void **state)
{
	struct peer pr = peer_new(PPORT, 8);
	struct tseg s, s2;
	uint8_t o[8];

	(void)state;
	tt_start_default();
	pr_syn(&pr, 1460, 7);
	pr_expect_synack(&pr, &s); /* lost */
	inject(PPORT, LPORT, pr.nxt - 1, 0, F_SYN, 65535, o, syn_opts(o, 1460, 7), NULL, 0);
	expect_seg(&s2);
	assert_int_equal(s2.flags, F_SYN | F_ACK);
	assert_int_equal(s2.seq, s.seq);
	assert_int_equal(s2.ack, pr.nxt);
	assert_int_equal(s2.wscale, s.wscale);
	assert_int_equal(tt_conns(), 1);
	pr_ack(&pr);
	assert_non_null(ev_find_port(TCP_EV_ACCEPTED, PPORT));
	tt_finish();
}

/* A SYN never completed: SYN-ACK resent syn_retries times with backoff, then forgotten. */
static void
test_half_open_expires(void **state)
{
	struct peer pr = peer_new(PPORT, 9);
	struct tseg s;
	static const uint64_t waits[] = {1000, 2000, 4000, 8000, 16000};

	(void)state;
	tt_start_default(); /* syn_retries 5 */
	pr_syn(&pr, 1460, 7);
	pr_expect_synack(&pr, &s);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(tt_advance_until_output(100000), waits[i]);
		pr_expect_synack(&pr, &s);
	}
	tt_advance_ms(31999);
	assert_int_equal(tt_count(TCP_S_SYN_RECEIVED), 1);
	tt_advance_ms(1);
	expect_none();
	assert_int_equal(tt_conns(), 0);
	assert_int_equal(CNT(attempt_fails), 1);
	assert_false(tcp_has_events(G.t));
	tt_finish();
}

/* A tiny MSS option is raised to 64; a window scale above 14 is taken as 14 (RFC 7323). */
static void
test_option_bounds(void **state)
{
	struct peer pr = peer_new(PPORT, 10);
	struct tcp_conn *c;
	struct tseg s;

	(void)state;
	tt_start_default();
	c = pr_accept(&pr, 10, 20);
	pr.win = 1; /* 1 << 14 bytes */
	pr_ack(&pr);
	assert_int_equal(app_send_pat(c, 0, 20000), 20000);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.len, 64);
	cap_clear();
	tcp_abort(G.t, c);
	cap_clear();
	tt_finish();
}

/* A SYN-ACK (or a bare FIN, or an RST) to the listening port with no connection opens nothing. */
static void
test_listen_odd_segments(void **state)
{
	struct tseg s;
	uint8_t o[8];

	(void)state;
	tt_start_default();
	inject(PPORT, LPORT, 100, 5555, F_SYN | F_ACK, 1000, o, syn_opts(o, 1460, 7), NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.seq, 5555);
	assert_int_equal(tt_conns(), 0);
	inject(PPORT, LPORT, 100, 0, F_FIN, 1000, NULL, 0, NULL, 0);
	inject(PPORT, LPORT, 100, 0, F_RST, 1000, NULL, 0, NULL, 0);
	inject(PPORT, LPORT, 100, 7, F_RST | F_ACK, 1000, NULL, 0, NULL, 0);
	inject(PPORT, LPORT, 100, 0, F_SYN | F_FIN, 1000, NULL, 0, NULL, 0);
	inject(PPORT, LPORT, 100, 0, F_SYN | F_RST, 1000, NULL, 0, NULL, 0);
	expect_none();
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* ---- SYN cookies ---- */

static void
test_syn_cookies(void **state)
{
	struct tcp_params p = tt_params();
	struct peer a = peer_new(PPORT, 100), b = peer_new(PPORT + 1, 200);
	struct peer d = peer_new(PPORT + 2, 300), e = peer_new(PPORT + 3, 400);
	struct tcp_conn *c;
	struct tseg s;
	uint32_t cookie;

	(void)state;
	p.syn_backlog = 1;
	tt_start(&p);
	pr_syn(&a, 1460, 7);
	pr_expect_synack(&a, &s);
	assert_int_equal(s.wscale, 3);
	assert_int_equal(tt_count(TCP_S_SYN_RECEIVED), 1);

	/* The queue is full: a cookie, no state. */
	pr_syn(&b, 1400, 7);
	pr_expect_synack(&b, &s);
	cookie = s.seq;
	assert_int_equal(s.mss, OUR_MSS);
	assert_int_equal(s.wscale, -1); /* a cookie cannot carry window scaling */
	assert_int_equal(CNT(syn_cookies_sent), 1);
	assert_int_equal(CNT(syn_queue_overflow), 1);
	assert_int_equal(tt_conns(), 1);
	tt_advance_ms(3000); /* the cookie's SYN-ACK is never resent */
	cap_clear();

	/* Its ACK makes the connection, with the MSS the cookie kept (1400 -> 1360). */
	tt_flush();
	pr_send(&b, F_ACK | F_PSH, "cookie-data", 11);
	assert_int_equal(CNT(syn_cookies_ok), 1);
	assert_int_equal(tt_count(TCP_S_ESTABLISHED), 1);
	c = ev_find_port(TCP_EV_ACCEPTED, b.port);
	assert_non_null(c);
	assert_int_equal(tcp_recv(G.t, c, &s, 11), 11);
	assert_memory_equal(&s, "cookie-data", 11);
	b.iss = cookie;
	assert_int_equal(app_send_pat(c, 0, 3000), 3000);
	tt_flush();
	for (int i = 0; i < 3; i++) {
		expect_seg(&s);
		assert_int_equal(s.len, i < 2 ? 1360 : 280);
		assert_int_equal(s.win, 65535); /* not scaled */
		assert_int_equal(s.ack, b.nxt);
		pr_take(&b, &s);
	}
	pr_ack(&b);
	assert_int_equal(tcp_conn_unacked(c), 0);

	/* A wrong cookie: RST, nothing kept. */
	pr_syn(&d, 1460, 7);
	pr_expect_synack(&d, &s);
	cookie = s.seq;
	d.una = (cookie ^ 0x80000000u) + 1;
	pr_ack(&d);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.seq, d.una);
	assert_int_equal(CNT(syn_cookies_bad), 1);
	/* The right ACK number with the wrong sequence: bad too. */
	d.una = cookie + 1;
	d.nxt += 10;
	pr_ack(&d);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(CNT(syn_cookies_bad), 2);
	assert_int_equal(tt_count(TCP_S_ESTABLISHED), 1);

	/* A cookie lives 64 to 128 s. */
	pr_syn(&e, 1460, 7);
	pr_expect_synack(&e, &s);
	G.now += 140ull * 1000000;
	tcp_timers(G.t, G.now);
	cap_clear();
	pr_ack(&e);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(CNT(syn_cookies_bad), 3);
	assert_int_equal(tt_count(TCP_S_ESTABLISHED), 1);
	tt_finish();
}

/* Every MSS a peer may offer comes back from the cookie as the largest table value below it. */
static void
test_syn_cookie_mss_roundtrip(void **state)
{
	static const struct {
		int offered, kept;
	} cases[] = {{0, 536},	   {536, 536},	 {1000, 536},  {1024, 1024}, {1300, 1200},
		     {1400, 1360}, {1440, 1440}, {1460, 1460}, {4000, 1460}, {4312, 4312},
		     {8000, 4312}, {8960, 8960}, {9000, 8960}, {65535, 8960}};
	struct tcp_params p = tt_params();
	struct peer filler = peer_new(1000, 1);
	struct tseg s;

	(void)state;
	p.mtu = 9000;
	p.syn_backlog = 1;
	tt_start(&p);
	G.alloc_pool = G.big_pool; /* segments of up to 8960 bytes */
	pr_syn(&filler, 1460, -1);
	pr_expect_synack(&filler, &s);
	assert_int_equal(s.mss, 8960);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct peer pr = peer_new((uint16_t)(PPORT + i), 1000 * i);
		struct tcp_conn *c;

		pr_syn(&pr, cases[i].offered, 5);
		pr_expect_synack(&pr, &s);
		assert_int_equal(s.wscale, -1);
		pr_ack(&pr);
		c = ev_find_port(TCP_EV_ACCEPTED, pr.port);
		assert_non_null(c);
		assert_int_equal(app_send_pat(c, 0, 9000), 9000);
		tt_flush();
		expect_seg(&s);
		assert_int_equal(s.len, cases[i].kept);
		pr_take(&pr, &s);
		cap_clear();
		tcp_abort(G.t, c);
		cap_clear();
	}
	assert_int_equal(CNT(syn_cookies_ok), sizeof(cases) / sizeof(cases[0]));
	tt_finish();
}

/* The connection table full: SYNs get cookies, whose ACKs then find no room: RST. */
static void
test_conn_table_full(void **state)
{
	struct tcp_params p = tt_params();
	struct peer a = peer_new(PPORT, 1), b = peer_new(PPORT + 1, 1), x = peer_new(PPORT + 2, 1);
	struct tseg s;

	(void)state;
	p.max_conns = 2;
	tt_start(&p);
	pr_accept_default(&a);
	pr_accept_default(&b);
	pr_syn(&x, 1460, 7);
	pr_expect_synack(&x, &s);
	assert_int_equal(s.wscale, -1); /* a cookie */
	pr_ack(&x);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(tt_conns(), 2);
	assert_true(CNT(conn_table_full) >= 1);
	tt_finish();
}

/* ---- no connection ---- */

static void
test_closed_port_resets(void **state)
{
	struct tseg s;

	(void)state;
	tt_start_default();
	/* ACK set: <SEQ=SEG.ACK><CTL=RST>. */
	inject(PPORT, 9999, 500, 12345, F_ACK, 1000, NULL, 0, "data", 4);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST);
	assert_int_equal(s.seq, 12345);
	assert_int_equal(s.sport, 9999);
	assert_int_equal(s.dport, PPORT);
	assert_int_equal(s.len, 0);
	/* No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN and FIN counted. */
	inject(PPORT, 9999, 500, 0, 0, 1000, NULL, 0, "0123456789", 10);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST | F_ACK);
	assert_int_equal(s.seq, 0);
	assert_int_equal(s.ack, 510);
	inject(PPORT, 9999, 700, 0, F_SYN, 1000, NULL, 0, NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST | F_ACK);
	assert_int_equal(s.ack, 701);
	inject(PPORT, 9999, 0xFFFFFFFE, 0, F_FIN, 1000, NULL, 0, "abcde", 5);
	expect_seg(&s);
	assert_int_equal(s.flags, F_RST | F_ACK);
	assert_int_equal(s.ack, 4);
	/* Never an RST for an RST. */
	inject(PPORT, 9999, 1, 2, F_RST | F_ACK, 1000, NULL, 0, NULL, 0);
	inject(PPORT, 9999, 1, 2, F_RST, 1000, NULL, 0, NULL, 0);
	expect_none();
	assert_int_equal(CNT(resets_out), 4);
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* Bad segments are counted by kind, each kind also in bad_segs. */
static void
test_bad_segments_by_kind(void **state)
{
	struct peer pr = peer_new(PPORT, 21);
	struct tcp_conn *c;
	uint64_t bad;

	(void)state;
	tt_start_default();
	/* To the listener: a SYN with a FIN, and a SYN-ACK. */
	inject(PPORT + 1, LPORT, 1000, 0, F_SYN | F_FIN, 1000, NULL, 0, NULL, 0);
	inject(PPORT + 2, LPORT, 1000, 5, F_SYN | F_ACK, 1000, NULL, 0, NULL, 0);
	assert_int_equal(CNT(bad_syn), 2);
	assert_int_equal(tt_conns(), 0);
	cap_clear();
	c = pr_accept_default(&pr);
	bad = CNT(bad_segs);
	/* On the connection: an ACK for data never sent; no ACK flag; an RST outside the window. */
	pr_send_at(&pr, pr.nxt, F_ACK, NULL, 0);
	inject(PPORT, LPORT, pr.nxt, pr.una + 100000, F_ACK, 1000, NULL, 0, NULL, 0);
	inject(PPORT, LPORT, pr.nxt, 0, F_PSH, 1000, NULL, 0, "x", 1);
	inject(PPORT, LPORT, pr.nxt + 10000000, 0, F_RST, 1000, NULL, 0, NULL, 0);
	assert_int_equal(CNT(bad_ack), 1);
	assert_int_equal(CNT(no_ack), 1);
	assert_int_equal(CNT(bad_seq), 1);
	assert_int_equal(CNT(bad_segs), bad + 3);
	assert_int_equal(tcp_conn_state(c), TCP_S_ESTABLISHED);
	cap_clear();
	tcp_close(G.t, c);
	tt_finish();
}

/* Malformed segments are dropped (and freed) before anything looks at them. */
static void
test_malformed_segments(void **state)
{
	uint8_t raw[24] = {0};
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)raw;
	uint64_t bad;

	(void)state;
	tt_start_default();
	bad = CNT(bad_segs);
	th->src_port = rte_cpu_to_be_16(PPORT);
	th->dst_port = rte_cpu_to_be_16(LPORT);
	th->tcp_flags = F_SYN;
	th->data_off = 5 << 4;
	/* Shorter than a TCP header. */
	tcp_input(G.t, raw_mbuf(raw, 10), PEER_IP, OUR_IP, G.now);
	/* Data offset below 5 words, and beyond the packet. */
	th->data_off = 4 << 4;
	tcp_input(G.t, raw_mbuf(raw, 24), PEER_IP, OUR_IP, G.now);
	th->data_off = 15 << 4;
	tcp_input(G.t, raw_mbuf(raw, 24), PEER_IP, OUR_IP, G.now);
	/* Not our address. */
	th->data_off = 5 << 4;
	tcp_input(G.t, raw_mbuf(raw, 20), PEER_IP, IP4(10, 7, 0, 99), G.now);
	assert_int_equal(CNT(bad_segs), bad + 4);
	assert_int_equal(CNT(bad_hdr), 4);
	expect_none();
	assert_int_equal(tt_conns(), 0);
	assert_int_equal(tt_mbufs_held(), 0);
	/* The same header, well formed: a connection. */
	tcp_input(G.t, raw_mbuf(raw, 20), PEER_IP, OUR_IP, G.now);
	assert_int_equal(tt_conns(), 1);
	cap_clear();
	tt_finish();
}

/* ---- TIME_WAIT ---- */

static void
close_to_time_wait(struct peer *pr, bool orphan)
{
	struct tseg s;

	if (orphan)
		tcp_close(G.t, pr->c);
	else
		assert_int_equal(tcp_shutdown(G.t, pr->c), 0);
	tt_flush();
	expect_seg(&s);
	assert_int_equal(s.flags, F_FIN | F_ACK);
	pr_take(pr, &s);
	pr_ack(pr);
	pr_send(pr, F_ACK | F_FIN, NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
}

/* A new SYN from the same peer port, above the old sequence: a new connection. */
static void
test_time_wait_reuse(void **state)
{
	struct peer pr = peer_new(PPORT, 1000), pr2 = peer_new(PPORT + 1, 1000);
	struct tcp_conn *old2;
	struct tseg s;
	uint32_t old_nxt;
	uint8_t o[8];
	char b[4];

	(void)state;
	tt_start_default();
	pr_accept_default(&pr);
	close_to_time_wait(&pr, true);
	assert_int_equal(tt_count(TCP_S_TIME_WAIT), 1);
	old_nxt = pr.nxt;

	/* An old SYN (not above): TIME_WAIT answers with an ACK and stays. */
	inject(PPORT, LPORT, old_nxt - 10, 0, F_SYN, 65535, o, syn_opts(o, 1460, 7), NULL, 0);
	expect_seg(&s);
	assert_int_equal(s.flags, F_ACK);
	assert_int_equal(s.ack, old_nxt);
	assert_int_equal(tt_count(TCP_S_TIME_WAIT), 1);
	assert_int_equal(CNT(time_wait_reused), 0);

	/* A new one. */
	pr = peer_new(PPORT, old_nxt + 100000);
	pr_accept_default(&pr);
	assert_int_equal(CNT(time_wait_reused), 1);
	assert_int_equal(tt_count(TCP_S_TIME_WAIT), 0);
	assert_int_equal(tt_count(TCP_S_ESTABLISHED), 1);
	pr_send(&pr, F_ACK, "new", 3);
	assert_int_equal(tcp_recv(G.t, pr.c, b, sizeof(b)), 3);
	tcp_abort(G.t, pr.c);
	cap_clear();

	/* TIME_WAIT with the application's handle: the handle stays valid (CLOSED, EOF). */
	pr2.c = pr_accept_default(&pr2);
	old2 = pr2.c;
	close_to_time_wait(&pr2, false);
	assert_int_equal(tcp_conn_state(old2), TCP_S_TIME_WAIT);
	old_nxt = pr2.nxt;
	pr2 = peer_new(PPORT + 1, old_nxt + 5);
	pr_accept_default(&pr2);
	assert_ptr_not_equal(pr2.c, old2);
	assert_int_equal(tcp_conn_state(old2), TCP_S_CLOSED);
	assert_int_equal(tcp_recv(G.t, old2, b, sizeof(b)), 0);
	tcp_close(G.t, old2);
	assert_int_equal(tt_count(TCP_S_ESTABLISHED), 1);
	assert_int_equal(tt_conns(), 1);
	pr_send(&pr2, F_ACK, "two", 3);
	assert_int_equal(tcp_recv(G.t, pr2.c, b, sizeof(b)), 3);
	tt_finish();
}

/* RST in TIME_WAIT while the application still holds the connection: the handle stays valid. */
static void
test_rst_in_time_wait_with_handle(void **state)
{
	struct peer pr = peer_new(PPORT, 1000), pr2 = peer_new(PPORT + 1, 1000);
	struct tcp_conn *c;
	char b[4];

	(void)state;
	tt_start_default();
	c = pr_accept_default(&pr);
	close_to_time_wait(&pr, false);
	assert_int_equal(tcp_conn_state(c), TCP_S_TIME_WAIT);
	pr_send(&pr, F_RST, NULL, 0);
	/* c must still be usable: the application has not called tcp_close. */
	assert_int_not_equal(tcp_conn_state(c), TCP_S_TIME_WAIT);
	assert_true(tcp_recv(G.t, c, b, sizeof(b)) <= 0);
	tcp_close(G.t, c);
	assert_int_equal(tt_conns(), 0);

	/* Orphaned: simply gone. */
	pr_accept_default(&pr2);
	close_to_time_wait(&pr2, true);
	pr_send(&pr2, F_RST, NULL, 0);
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* time_wait_max: more TIME_WAITs recycle the oldest. */
static void
test_time_wait_max(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr[4];

	(void)state;
	p.time_wait_max = 2;
	tt_start(&p);
	for (int i = 0; i < 4; i++) {
		pr[i] = peer_new((uint16_t)(PPORT + i), 1000);
		pr_accept_default(&pr[i]);
	}
	for (int i = 0; i < 4; i++) {
		close_to_time_wait(&pr[i], true);
		assert_int_equal(tt_count(TCP_S_TIME_WAIT), i < 2 ? i + 1 : 2);
	}
	assert_int_equal(CNT(time_wait_recycled), 2);
	assert_int_equal(tt_conns(), 2);
	/* The newest two are the ones left: a retransmitted FIN is ACKed by them. */
	for (int i = 2; i < 4; i++) {
		struct tseg s;

		pr_send_at(&pr[i], pr[i].nxt - 1, F_ACK | F_FIN, NULL, 0);
		expect_seg(&s);
		assert_int_equal(s.flags, F_ACK);
		assert_int_equal(s.dport, pr[i].port);
	}
	/* TIME_WAIT does not count against max_conns. */
	assert_int_equal(tt_count(TCP_S_ESTABLISHED), 0);
	tt_advance_ms(60000);
	assert_int_equal(tt_conns(), 0);
	tt_finish();
}

/* ---- resources ---- */

/*
 * mbuf_budget bounds the mbufs all queues of the context hold: two peers that fill the windows
 * we advertised (the application reads nothing) must not make it hold more; sendv stops there.
 */
static void
test_mbuf_budget(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr[2] = {peer_new(PPORT, 1), peer_new(PPORT + 1, 1)};
	uint32_t edge[2], max_held = 0;
	struct tseg s;

	(void)state;
	p.mbuf_budget = 200;
	tt_start(&p);
	for (int k = 0; k < 2; k++) {
		pr_accept_default(&pr[k]);
		edge[k] = pr[k].nxt + 65535;
	}
	for (int i = 0; i < 1000; i++) {
		struct peer *q = &pr[i & 1];
		uint32_t room = edge[i & 1] - q->nxt;

		if (room > 0) {
			pr_send_pat(q, F_ACK, 0, room < OUR_MSS ? room : OUR_MSS);
			tt_flush();
		} else {
			tt_advance_ms(50);
		}
		while (cap_pop(&s)) {
			int k = s.dport == pr[0].port ? 0 : 1;
			uint32_t e = s.ack + ((uint32_t)s.win << 3);

			if ((int32_t)(e - edge[k]) > 0)
				edge[k] = e;
		}
		if (tt_mbufs_held() > max_held)
			max_held = tt_mbufs_held();
	}
	assert_true(max_held <= 200);
	tcp_close(G.t, pr[0].c); /* unread bytes: RST */
	tcp_close(G.t, pr[1].c);
	cap_clear();
	assert_int_equal(tt_mbufs_held(), 0);

	/* Sending: a zero window keeps everything in the send buffers, up to the budget. */
	for (int k = 0; k < 2; k++) {
		pr[k] = peer_new((uint16_t)(PPORT + 2 + k), 1);
		pr_accept_default(&pr[k]);
		pr[k].win = 0;
		pr_ack(&pr[k]);
		for (int i = 0; i < 300; i++)
			if (app_send_pat(pr[k].c, 0, OUR_MSS) < 0)
				break;
	}
	assert_int_equal(tt_mbufs_held(), 200);
	tt_finish();
}

/* Hundreds of connections opened, used and closed every way: nothing left behind. */
static void
test_many_connections_no_leak(void **state)
{
	struct tcp_params p = tt_params();
	static struct peer pr[300];

	(void)state;
	p.msl_ms = 100;
	p.max_conns = 1000;
	tt_start(&p);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 300; i++) {
			pr[i] = peer_new((uint16_t)(20000 + round * 300 + i), (uint32_t)i * 7919);
			pr_accept_default(&pr[i]);
			pr_send_pat(&pr[i], F_ACK | F_PSH, 0, 100 + (unsigned)i);
			assert_int_equal(app_send_pat(pr[i].c, 0, 2000), 2000);
		}
		tt_flush();
		cap_clear();
		assert_int_equal(tt_count(TCP_S_ESTABLISHED), 300);
		for (int i = 0; i < 300; i++) {
			struct tcp_conn *c = pr[i].c;

			switch (i % 4) {
			case 0: /* read, close first */
				app_recv_pat(c, 0, 100 + (unsigned)i, 4096);
				tcp_close(G.t, c);
				break;
			case 1: /* close with unread bytes: RST */
				tcp_close(G.t, c);
				break;
			case 2: /* abort */
				tcp_abort(G.t, c);
				break;
			case 3: /* the peer resets */
				pr_send(&pr[i], F_RST, NULL, 0);
				tcp_close(G.t, c);
				break;
			}
		}
		tt_flush();
		/* The peers of the graceful closes ACK everything and send their FINs. */
		for (int i = 0; i < 300; i += 4) {
			pr[i].una = pr[i].iss + 1 + 2000 + 1;
			pr_send(&pr[i], F_ACK | F_FIN, NULL, 0);
		}
		cap_clear();
		assert_int_equal(tt_count(TCP_S_TIME_WAIT), 75);
		tt_advance_ms(200);
		assert_int_equal(tt_conns(), 0);
		cap_clear();
		assert_int_equal(tt_mbufs_held(), 0);
	}
	tt_finish();
}

/* tcp_destroy frees connections in every state with full queues. */
static void
test_destroy_with_everything_held(void **state)
{
	struct peer pr[6];
	struct tcp_conn *c;

	(void)state;
	tt_start_default();
	for (int i = 0; i < 6; i++) {
		pr[i] = peer_new((uint16_t)(PPORT + i), 1000);
		c = pr_accept_default(&pr[i]);
		pr_send_pat(&pr[i], F_ACK, 0, 1000);			   /* receive queue */
		pr_send_pat_at(&pr[i], pr[i].nxt + 500, F_ACK, 1500, 300); /* out of order */
		assert_int_equal(app_send_pat(c, 0, 5000), 5000);	   /* send buffer */
	}
	tt_flush();
	tcp_shutdown(G.t, pr[1].c);
	pr_send(&pr[2], F_ACK | F_FIN, NULL, 0);
	{
		struct peer h = peer_new(PPORT + 10, 1);
		struct tcp_conn *cc;
		struct tseg s;

		pr_syn(&h, 1460, 7); /* SYN_RECEIVED */
		assert_int_equal(tcp_connect(G.t, PEER_IP, rte_cpu_to_be_16(80), G.now, &cc), 0);
		expect_seg(&s);
	}
	tt_flush();
	cap_clear();
	assert_true(tt_mbufs_held() > 20);
	tt_finish();
}

/*
 * A long stream of random segments (flags, sequence and ACK numbers near and far from the
 * expected ones, payloads) at a few connections, the listening port and a closed port, with
 * the application reading and writing and time passing: no crash, no leak (ASan, and the pool
 * back to zero at the end).
 */
static void
test_random_segments(void **state)
{
	struct tcp_params p = tt_params();
	struct peer pr[4];
	uint64_t x = RANDOM_SEED;
	/* Flags by weight (out of 100). */
	static const struct {
		uint8_t below, flags;
	} flag_set[] = {{60, F_ACK}, {70, F_ACK | F_PSH}, {73, F_ACK | F_FIN},	       {79, F_SYN},
			{83, F_RST}, {87, F_ACK | F_RST}, {90, F_SYN | F_ACK},	       {93, 0},
			{95, F_FIN}, {97, F_SYN | F_FIN}, {100, F_ACK | F_SYN | F_RST}};
	uint8_t data[1460];

	(void)state;
	p.ooo_max = 8;
	p.rcvbuf = 32768;
	p.syn_backlog = 2;
	p.msl_ms = 200;
	tt_start(&p);
	pat_fill(data, 0, sizeof(data));
	for (int i = 0; i < 4; i++) {
		pr[i] = peer_new((uint16_t)(PPORT + i), (uint32_t)i << 30);
		pr_accept_default(&pr[i]);
	}
	for (int n = 0; n < 100000; n++) {
		struct peer *q;
		uint32_t r, r2, seq, ack, len;
		uint8_t flags;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = (uint32_t)x;
		r2 = (uint32_t)(x >> 32);
		q = &pr[r & 3];
		flags = 0;
		for (unsigned f = 0; f < sizeof(flag_set) / sizeof(flag_set[0]); f++) {
			if ((r >> 2) % 100 < flag_set[f].below) {
				flags = flag_set[f].flags;
				break;
			}
		}
		len = (r >> 9) % 3 == 0 ? 0 : 1 + (r2 >> 20) % sizeof(data);
		switch ((r >> 12) % 4) {
		case 0: /* in order */
			seq = q->nxt;
			if ((flags & F_ACK) && !(flags & (F_RST | F_SYN)))
				q->nxt += len + !!(flags & F_FIN);
			break;
		case 1: /* near */
			seq = q->nxt + (r2 % 6000) - 3000;
			break;
		case 2: /* anywhere in the window or beyond */
			seq = q->nxt + (r2 % 70000);
			break;
		default:
			seq = r2;
			break;
		}
		if ((r >> 12) % 4 == 0)
			ack = q->una; /* in order and right */
		else
			ack = (r >> 14) % 4 == 0 ? r2 * 7 : q->una + ((r >> 16) % 3000) - 1000;
		inject(q->port, (r >> 20) % 16 == 0 ? LPORT + 1 : LPORT, seq, ack, flags,
		       (uint16_t)(r2 >> 8), NULL, 0, data, len);
		if (n % 8 == 0) {
			struct tcp_event ev[64];
			unsigned k = tcp_events(G.t, ev, 64);
			static uint8_t buf[65536];

			for (unsigned j = 0; j < k; j++) {
				ssize_t got = tcp_recv(G.t, ev[j].conn, buf,
						       (r >> 24) % 2 ? 100 : sizeof(buf));

				if ((got < 0 && got != -EAGAIN) || (got == 0 && (r >> 25) % 2 == 0))
					tcp_close(G.t, ev[j].conn); /* failed or EOF: let go */
				else if ((r >> 26) % 4 == 0)
					(void)app_send_pat(ev[j].conn, 0, 3000);
			}
		}
		if (n % 64 == 0) {
			G.now += (r >> 27) % 2 ? 1000 : 150000;
			tcp_timers(G.t, G.now);
		}
		tt_flush();
		if (n % 4 == 0) {
			/* The peers see everything we send: their ACKs may cover it. */
			struct tseg s;

			while (cap_pop(&s)) {
				for (int i = 0; i < 4; i++) {
					uint32_t end =
						s.seq + s.len + !!(s.flags & (F_SYN | F_FIN));

					if (s.dport == pr[i].port && s.flags == (F_SYN | F_ACK)) {
						pr[i].nxt =
							s.ack; /* a new incarnation: follow it */
						pr[i].una = end;
						continue;
					}
					if (s.dport == pr[i].port &&
					    s.len + !!(s.flags & (F_SYN | F_FIN)) > 0 &&
					    (int32_t)(end - pr[i].una) > 0 &&
					    (int32_t)(end - pr[i].una) < 1000000)
						pr[i].una = end;
				}
			}
		}
	}
	cap_clear();
	print_message("  segs_in %lu bytes_in %lu ooo %lu challenge %lu rst_in %lu rst_out %lu "
		      "passive %lu cookies %lu bad %lu\n",
		      (unsigned long)CNT(segs_in), (unsigned long)CNT(bytes_in),
		      (unsigned long)CNT(ooo_segs), (unsigned long)CNT(challenge_acks),
		      (unsigned long)CNT(resets_in), (unsigned long)CNT(resets_out),
		      (unsigned long)CNT(passive_opens), (unsigned long)CNT(syn_cookies_sent),
		      (unsigned long)CNT(bad_segs));
	assert_true(CNT(segs_in) >= 100000);
	tt_finish();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, tt_teardown)
		T_(test_rst_exact_resets),
		T_(test_rst_in_window_challenge),
		T_(test_rst_out_of_window_ignored),
		T_(test_challenge_ack_rate_limit),
		T_(test_syn_on_established),
		T_(test_ack_of_unsent_data),
		T_(test_handshake_ack_checked),
		T_(test_rst_in_syn_received),
		T_(test_syn_retransmit_in_syn_received),
		T_(test_half_open_expires),
		T_(test_option_bounds),
		T_(test_listen_odd_segments),
		T_(test_syn_cookies),
		T_(test_syn_cookie_mss_roundtrip),
		T_(test_conn_table_full),
		T_(test_closed_port_resets),
		T_(test_malformed_segments),
		T_(test_bad_segments_by_kind),
		T_(test_time_wait_reuse),
		T_(test_rst_in_time_wait_with_handle),
		T_(test_time_wait_max),
		T_(test_mbuf_budget),
		T_(test_many_connections_no_leak),
		T_(test_destroy_with_everything_held),
		T_(test_random_segments),
#undef T_
	};

	tt_eal_init("nc_test_tcp_security");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
