/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Segment arrival, in the order of RFC 9293 section 3.10.7: no connection (RST, or the
 * listening port: SYN queue or SYN cookies), SYN_SENT, and the synchronized states (sequence
 * acceptability, RST and SYN per RFC 5961, ACK processing with the RFC 5961 ACK check,
 * window updates, data, FIN).
 */
#include <errno.h>

#include "tcp_private.h"

/** What the input path reads from one segment. */
struct seg {
	struct rte_mbuf *m;
	rte_be32_t src_ip;
	rte_be16_t sport, dport;
	uint32_t seq, ack;
	uint32_t wnd;	  /* unscaled */
	uint32_t hlen;	  /* TCP header length */
	uint32_t len;	  /* payload bytes */
	uint8_t flags;
	uint16_t opt_mss; /* 0: none */
	int opt_wscale;	  /* -1: none */
	bool opt_sack_ok; /* SACK permitted */
};

/** The options of a SYN (MSS, window scale); others are skipped. */
static void
parse_options(struct seg *s, const uint8_t *o, uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		uint8_t kind = o[i];
		uint8_t len;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			break;
		len = o[i + 1];
		if (len < 2 || i + len > n)
			break;
		if (kind == 2 && len == 4)
			s->opt_mss = (uint16_t)((o[i + 2] << 8) | o[i + 3]);
		else if (kind == 4 && len == 2)
			s->opt_sack_ok = true;
		else if (kind == 3 && len == 3)
			s->opt_wscale = o[i + 2] > TCP_WSCALE_MAX ? TCP_WSCALE_MAX : o[i + 2];
		i += len;
	}
}

/** Challenge ACK (RFC 5961 sections 3.2, 4.2, 5.2), at most TCP_CHALLENGE_PER_S a second. */
static void
challenge_ack(struct tcp_ctx *t, struct tcp_conn *c)
{
	uint64_t s = t->now_us / 1000000;

	if (s != t->challenge_s) {
		t->challenge_s = s;
		t->challenge_n = 0;
	}
	if (t->challenge_n++ >= TCP_CHALLENGE_PER_S)
		return;
	TCP_CNT(t, challenge_acks, 1);
	tcp_send_ctl(t, c, TCP_F_ACK, c->snd_nxt);
}

/** The answer of a closed port (RFC 9293 section 3.10.7.1). */
static void
reset_for(struct tcp_ctx *t, const struct seg *s)
{
	if (s->flags & TCP_F_RST)
		return;
	if (s->flags & TCP_F_ACK)
		tcp_send_reset(t, s->src_ip, s->sport, s->dport, s->ack, 0, false);
	else
		tcp_send_reset(t, s->src_ip, s->sport, s->dport, 0,
			       s->seq + s->len + !!(s->flags & TCP_F_SYN) + !!(s->flags & TCP_F_FIN),
			       true);
}

/** Set what a handshake learned: the peer's MSS and window scale. */
static void
take_syn_options(struct tcp_ctx *t, struct tcp_conn *c, const struct seg *s)
{
	uint16_t mss = s->opt_mss ? s->opt_mss : TCP_MSS_DEFAULT;

	if (mss > t->mss_local)
		mss = t->mss_local;
	if (mss < 64)
		mss = 64;
	c->mss = mss;
	c->sack_ok = s->opt_sack_ok && !c->cookie;
	if (s->opt_wscale >= 0 && !c->cookie) {
		c->wscale_ok = true;
		c->snd_wscale = (uint8_t)s->opt_wscale;
		c->rcv_wscale = t->rcv_wscale;
	} else {
		c->wscale_ok = false;
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
}

/** The handshake completed: windows, congestion state, and the application hears of it. */
static void
establish(struct tcp_ctx *t, struct tcp_conn *c, const struct seg *s)
{
	bool retried = c->backoff > 0;

	if (c->rtt_ts != 0 && !retried)
		tcp_rtt_sample(t, c, t->now_us - c->rtt_ts);
	c->rtt_ts = 0;
	tcp_set_state(t, c, TCP_S_ESTABLISHED);
	c->snd_una = s->ack;
	c->snd_end = c->iss + 1;
	c->snd_wnd = s->wnd << c->snd_wscale;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->backoff = 0;
	/* RFC 6298 5.7: after a SYN or SYN-ACK timed out, data starts with an RTO of 3 s. */
	if (retried && c->rto_us < 3000000u)
		c->rto_us = t->p.rto_max_ms < 3000 ? t->p.rto_max_ms * 1000u : 3000000u;
	/* RFC 6928 initial window; RFC 6298 5.7: 1 MSS after a retransmitted SYN. */
	c->cwnd = retried ? c->mss :
		  (10u * c->mss < 14600u ? 10u * c->mss : (2u * c->mss > 14600u ? 2u * c->mss : 14600u));
	tcp_timer_set(t, c, TCP_T_RTO, 0);
	tcp_mark_ready(t, c);
	/* Shut down or closed in SYN_RECEIVED (simultaneous open): its FIN can go now. */
	if (c->shut_wr)
		tcp_mark_pending(t, c);
}

/** A segment to the listening port with no connection. */
static void
listen_input(struct tcp_ctx *t, struct seg *s)
{
	struct tcp_conn *c;

	if (s->flags & TCP_F_RST)
		return;
	if ((s->flags & (TCP_F_ACK | TCP_F_SYN)) == (TCP_F_ACK | TCP_F_SYN)) {
		/* A SYN-ACK opens nothing here (RFC 9293 3.10.7.2: an ACK in LISTEN gets an RST). */
		TCP_CNT(t, bad_segs, 1);
		TCP_CNT(t, bad_syn, 1);
		reset_for(t, s);
		return;
	}
	if ((s->flags & TCP_F_ACK) && !(s->flags & TCP_F_SYN)) {
		/* The end of a handshake whose SYN got a cookie? */
		uint16_t mss = tcp_cookie_check(t, s->src_ip, s->sport, s->dport, s->seq - 1,
						s->ack - 1, t->now_us);

		if (mss == 0) {
			TCP_CNT(t, syn_cookies_bad, 1);
			TCP_CNT(t, bad_segs, 1);
			reset_for(t, s);
			return;
		}
		c = tcp_conn_new(t, s->src_ip, s->sport, s->dport, TCP_S_SYN_RECEIVED);
		if (c == NULL) {
			reset_for(t, s);
			return;
		}
		TCP_CNT(t, syn_cookies_ok, 1);
		TCP_CNT(t, passive_opens, 1);
		c->passive = true;
		c->cookie = true;
		c->irs = s->seq - 1;
		c->rcv_nxt = s->seq;
		c->rcv_adv = s->seq;
		c->iss = s->ack - 1;
		c->snd_una = c->snd_nxt = c->snd_max = s->ack;
		s->opt_mss = mss;
		s->opt_wscale = -1;
		take_syn_options(t, c, s);
		establish(t, c, s);
		return; /* the caller goes on with the rest of the segment (data) */
	}
	if (!(s->flags & TCP_F_SYN) || (s->flags & TCP_F_FIN)) {
		TCP_CNT(t, bad_segs, 1);
		TCP_CNT(t, bad_syn, 1);
		return;
	}
	if (t->nsyn_rcvd >= t->p.syn_backlog || t->nconns >= t->p.max_conns) {
		/* SYN queue (or table) full: answer with a cookie and keep no state. */
		struct tcp_conn tmp = {.rip = s->src_ip, .rport = s->sport, .lport = s->dport,
				       .state = TCP_S_SYN_RECEIVED};
		uint16_t mss = s->opt_mss ? s->opt_mss : TCP_MSS_DEFAULT;

		if (mss > t->mss_local)
			mss = t->mss_local;
		TCP_CNT(t, syn_queue_overflow, 1);
		tmp.iss = tcp_cookie_make(t, s->src_ip, s->sport, s->dport, s->seq, mss, t->now_us);
		tmp.rcv_nxt = s->seq + 1;
		tmp.rcv_adv = tmp.rcv_nxt;
		TCP_CNT(t, syn_cookies_sent, 1);
		tcp_send_syn(t, &tmp);
		return;
	}
	c = tcp_conn_new(t, s->src_ip, s->sport, s->dport, TCP_S_SYN_RECEIVED);
	if (c == NULL)
		return;
	TCP_CNT(t, passive_opens, 1);
	c->passive = true;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	c->iss = tcp_isn(t, s->src_ip, s->sport, s->dport, t->now_us);
	/* snd_max = iss until the SYN-ACK is really sent: no ACK is acceptable before. */
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_end = c->iss + 1;
	take_syn_options(t, c, s);
	c->snd_wnd = s->wnd; /* a SYN's window is never scaled */
	tcp_send_syn(t, c);
	tcp_rto_arm(t, c, true);
}

/** RFC 9293 section 3.10.7.3. */
static void
syn_sent_input(struct tcp_ctx *t, struct tcp_conn *c, struct seg *s)
{
	if ((s->flags & TCP_F_ACK) && (SEQ_LEQ(s->ack, c->iss) || SEQ_GT(s->ack, c->snd_max))) {
		TCP_CNT(t, bad_segs, 1);
		TCP_CNT(t, bad_ack, 1);
		reset_for(t, s);
		return;
	}
	if (s->flags & TCP_F_RST) {
		if (s->flags & TCP_F_ACK) {
			TCP_CNT(t, resets_in, 1);
			tcp_conn_fail(t, c, -ECONNREFUSED);
		}
		return;
	}
	if (!(s->flags & TCP_F_SYN))
		return;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	take_syn_options(t, c, s);
	if (s->flags & TCP_F_ACK) {
		establish(t, c, s);
		c->snd_nxt = c->snd_max = s->ack;
		c->snd_wnd = s->wnd; /* the SYN-ACK's window is not scaled */
		c->max_snd_wnd = c->snd_wnd;
		tcp_send_ctl(t, c, TCP_F_ACK, c->snd_nxt);
		return;
	}
	/* Simultaneous open. */
	tcp_set_state(t, c, TCP_S_SYN_RECEIVED);
	c->snd_wnd = s->wnd;
	tcp_send_syn(t, c);
}

/** Whether the segment is acceptable (RFC 9293 section 3.10.7.4, first check). */
static bool
seq_acceptable(const struct tcp_ctx *t, const struct tcp_conn *c, const struct seg *s)
{
	uint32_t wnd = tcp_rcv_window(t, c);
	uint32_t seg_len = s->len + !!(s->flags & TCP_F_SYN) + !!(s->flags & TCP_F_FIN);

	if (seg_len == 0) {
		if (wnd == 0)
			return s->seq == c->rcv_nxt;
		return SEQ_LEQ(c->rcv_nxt, s->seq) && SEQ_LT(s->seq, c->rcv_nxt + wnd);
	}
	if (wnd == 0) /* at rcv_nxt its ACK still counts (RFC 9293); the bytes are trimmed later */
		return s->seq == c->rcv_nxt;
	return (SEQ_LEQ(c->rcv_nxt, s->seq) && SEQ_LT(s->seq, c->rcv_nxt + wnd)) ||
	       (SEQ_LEQ(c->rcv_nxt, s->seq + seg_len - 1) &&
		SEQ_LT(s->seq + seg_len - 1, c->rcv_nxt + wnd));
}

/** Our FIN was sent and is acknowledged. */
static bool
fin_acked(const struct tcp_conn *c)
{
	return c->fin_sent && SEQ_GT(c->snd_una, c->snd_end);
}

/** ACK processing (RFC 9293 3.10.7.4 fifth check, RFC 5961 section 5, RFC 5681/6582). */
static bool
ack_input(struct tcp_ctx *t, struct tcp_conn *c, const struct seg *s)
{
	uint32_t wnd = s->wnd << c->snd_wscale;

	if (SEQ_GT(s->ack, c->snd_max) || SEQ_LT(s->ack, c->snd_una - c->max_snd_wnd)) {
		TCP_CNT(t, bad_segs, 1);
		TCP_CNT(t, bad_ack, 1);
		challenge_ack(t, c);
		return false;
	}
	if (SEQ_GT(s->ack, c->snd_una)) {
		uint32_t acked = s->ack - c->snd_una;

		tcp_sndq_ack(t, c, s->ack);
		if (c->rtt_ts != 0 && SEQ_GEQ(s->ack, c->rtt_seq)) {
			tcp_rtt_sample(t, c, t->now_us - c->rtt_ts);
			c->rtt_ts = 0;
		}
		c->backoff = 0;
		c->persist_backoff = 0;
		c->snd_una = s->ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		tcp_cc_ack(t, c, acked, s->ack);
		if (c->snd_una == c->snd_max)
			tcp_timer_set(t, c, TCP_T_RTO, 0);
		else
			tcp_rto_arm(t, c, true);
		if (c->want_writable)
			tcp_mark_ready(t, c);
		tcp_mark_pending(t, c);
	} else if (s->ack == c->snd_una && s->len == 0 && !(s->flags & (TCP_F_SYN | TCP_F_FIN)) &&
		   wnd == c->snd_wnd && c->snd_una != c->snd_max) {
		TCP_CNT(t, dup_acks, 1);
		tcp_cc_dupack(t, c);
	}
	/* Window update (RFC 9293 3.10.7.4). */
	if (SEQ_LT(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack))) {
		if (wnd > c->snd_wnd)
			tcp_mark_pending(t, c);
		c->snd_wnd = wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		if (wnd > c->max_snd_wnd)
			c->max_snd_wnd = wnd;
		if (wnd > 0 && c->timer[TCP_T_PERSIST] != 0) {
			/*
			 * Output decides again (send what fits, or wait with the timer armed again):
			 * a window that did not grow marks nothing pending above, and data waiting
			 * with no timer would wait for ever (found by fuzz_tcp).
			 */
			tcp_timer_set(t, c, TCP_T_PERSIST, 0);
			c->persist_backoff = 0;
			tcp_mark_pending(t, c);
		}
	}
	return true;
}

/** The FIN of the peer is in order now: move on (RFC 9293 3.10.7.4 eighth check). */
static void
fin_reached(struct tcp_ctx *t, struct tcp_conn *c)
{
	c->ack_now = true;
	tcp_mark_pending(t, c);
	tcp_mark_ready(t, c);
	switch (c->state) {
	case TCP_S_SYN_RECEIVED:
	case TCP_S_ESTABLISHED:
		tcp_set_state(t, c, TCP_S_CLOSE_WAIT);
		break;
	case TCP_S_FIN_WAIT_1:
		if (fin_acked(c)) {
			tcp_send_ctl(t, c, TCP_F_ACK, c->snd_nxt);
			tcp_enter_time_wait(t, c);
		} else {
			tcp_set_state(t, c, TCP_S_CLOSING);
		}
		break;
	case TCP_S_FIN_WAIT_2:
		tcp_send_ctl(t, c, TCP_F_ACK, c->snd_nxt);
		tcp_enter_time_wait(t, c);
		break;
	default:
		break;
	}
}

/** RFC 9293 section 3.10.7.4. Consumes s->m unless kept in a queue. */
static void
synchronized_input(struct tcp_ctx *t, struct tcp_conn *c, struct seg *s)
{
	bool kept = false;

	if (c->state == TCP_S_SYN_RECEIVED && s->seq == c->irs &&
	    (s->flags & (TCP_F_SYN | TCP_F_ACK | TCP_F_RST)) == TCP_F_SYN) {
		tcp_send_syn(t, c); /* the peer's SYN again: our SYN-ACK was lost, send it again */
		goto out;
	}
	if (!seq_acceptable(t, c, s)) {
		if (!(s->flags & TCP_F_RST)) {
			TCP_CNT(t, dup_segs, s->len > 0);
			if (c->state == TCP_S_TIME_WAIT && (s->flags & TCP_F_FIN))
				tcp_timer_set(t, c, TCP_T_END,
					      t->now_us + 2ull * t->p.msl_ms * 1000);
			if (c->state != TCP_S_CLOSED)
				tcp_send_ctl(t, c, TCP_F_ACK, c->snd_nxt);
		} else {
			TCP_CNT(t, bad_segs, 1);
			TCP_CNT(t, bad_seq, 1);
		}
		goto out;
	}
	if (s->flags & TCP_F_RST) {
		if (s->seq != c->rcv_nxt) {
			challenge_ack(t, c);
			goto out;
		}
		TCP_CNT(t, resets_in, 1);
		if (c->orphan) /* a TIME_WAIT the application still holds must stay valid */
			tcp_conn_free(t, c);
		else
			tcp_conn_fail(t, c, -ECONNRESET);
		goto out;
	}
	if (s->flags & TCP_F_SYN) {
		challenge_ack(t, c);
		goto out;
	}
	if (!(s->flags & TCP_F_ACK)) {
		TCP_CNT(t, bad_segs, 1);
		TCP_CNT(t, no_ack, 1);
		goto out;
	}
	if (c->state == TCP_S_SYN_RECEIVED) {
		if (!SEQ_GT(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max)) {
			TCP_CNT(t, bad_segs, 1);
			TCP_CNT(t, bad_ack, 1);
			reset_for(t, s);
			goto out;
		}
		establish(t, c, s);
		c->snd_nxt = c->snd_max = s->ack;
	}
	if (c->state == TCP_S_TIME_WAIT) {
		if (s->flags & TCP_F_FIN) {
			tcp_send_ctl(t, c, TCP_F_ACK, c->snd_nxt);
			tcp_timer_set(t, c, TCP_T_END, t->now_us + 2ull * t->p.msl_ms * 1000);
		}
		goto out;
	}
	if (!ack_input(t, c, s))
		goto out;
	switch (c->state) {
	case TCP_S_FIN_WAIT_1:
		if (fin_acked(c)) {
			tcp_set_state(t, c, TCP_S_FIN_WAIT_2);
			tcp_timer_set(t, c, TCP_T_RTO, 0);
			if (c->orphan)
				tcp_timer_set(t, c, TCP_T_END,
					      t->now_us + (uint64_t)t->p.fin_wait_2_ms * 1000);
		}
		break;
	case TCP_S_CLOSING:
		if (fin_acked(c)) {
			tcp_enter_time_wait(t, c);
			goto out;
		}
		break;
	case TCP_S_LAST_ACK:
		if (fin_acked(c)) {
			tcp_conn_finish(t, c);
			goto out;
		}
		break;
	default:
		break;
	}
	/* Data and FIN: only while the peer has not closed its side. */
	if ((s->len > 0 || (s->flags & TCP_F_FIN)) &&
	    (c->state == TCP_S_ESTABLISHED || c->state == TCP_S_FIN_WAIT_1 ||
	     c->state == TCP_S_FIN_WAIT_2)) {
		bool had_fin = c->rcv_fin;
		bool had_ooo = c->ooo_n > 0;
		uint32_t before = c->rcv_nxt;

		if (c->orphan && s->len > 0) {
			/* Nobody will read it: abort, as a closed socket does. */
			tcp_abort(t, c);
			goto out;
		}
		kept = tcp_rcv_data(t, c, s->m, s->hlen, s->seq, s->len,
				    (s->flags & TCP_F_FIN) != 0);
		if (c->rcv_nxt != before && s->seq == before) {
			c->ack_delayed = true;
			if (s->len >= c->mss || s->len >= t->mss_local)
				c->segs_unacked++;
			if (had_ooo)
				c->ack_now = true; /* a hole was (partly) filled: say so at once */
		} else {
			c->ack_now = true; /* out of order or duplicate: a duplicate ACK now */
		}
		tcp_mark_pending(t, c);
		if (c->rcv_bytes > 0)
			tcp_mark_ready(t, c);
		if (c->rcv_fin && !had_fin)
			fin_reached(t, c);
	}
out:
	if (!kept)
		rte_pktmbuf_free(s->m);
}

void
tcp_input(struct tcp_ctx *t, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip,
	  uint64_t now_us)
{
	const struct rte_tcp_hdr *th;
	struct tcp_conn *c;
	struct seg s;

	t->now_us = now_us;
	TCP_CNT(t, segs_in, 1);
	if (unlikely(m->data_len < sizeof(*th) || dst_ip != t->p.local_ip)) {
		TCP_CNT(t, bad_segs, 1);
		TCP_CNT(t, bad_hdr, 1);
		rte_pktmbuf_free(m);
		return;
	}
	th = rte_pktmbuf_mtod(m, const struct rte_tcp_hdr *);
	s = (struct seg){
		.m = m,
		.src_ip = src_ip,
		.sport = th->src_port,
		.dport = th->dst_port,
		.seq = rte_be_to_cpu_32(th->sent_seq),
		.ack = rte_be_to_cpu_32(th->recv_ack),
		.wnd = rte_be_to_cpu_16(th->rx_win),
		.hlen = (uint32_t)(th->data_off >> 4) * 4,
		.flags = th->tcp_flags,
		.opt_wscale = -1,
	};
	if (unlikely(s.hlen < sizeof(*th) || s.hlen > m->pkt_len || s.hlen > m->data_len)) {
		TCP_CNT(t, bad_segs, 1);
		TCP_CNT(t, bad_hdr, 1);
		rte_pktmbuf_free(m);
		return;
	}
	s.len = m->pkt_len - s.hlen;
	if (s.flags & TCP_F_SYN)
		parse_options(&s, (const uint8_t *)(th + 1), s.hlen - (uint32_t)sizeof(*th));
	c = tcp_lookup(t, src_ip, s.sport, s.dport);
	if (c != NULL && c->state == TCP_S_TIME_WAIT && (s.flags & TCP_F_SYN) &&
	    !(s.flags & (TCP_F_ACK | TCP_F_RST)) && SEQ_GT(s.seq, c->rcv_nxt) &&
	    t->p.listen_port != 0 && s.dport == rte_cpu_to_be_16(t->p.listen_port)) {
		/* A new incarnation from the same peer (RFC 9293 3.6.1, RFC 6191 without timestamps). */
		TCP_CNT(t, time_wait_reused, 1);
		if (c->orphan) {
			tcp_conn_free(t, c);
		} else {
			tcp_set_state(t, c, TCP_S_CLOSED);
			c->rport = 0; /* keep the application's handle, out of the way */
		}
		c = NULL;
	}
	if (c == NULL) {
		if (t->p.listen_port != 0 && s.dport == rte_cpu_to_be_16(t->p.listen_port)) {
			listen_input(t, &s);
			c = tcp_lookup(t, src_ip, s.sport, s.dport);
			/* A cookie's ACK made a connection: its data follows. */
			if (c != NULL && c->cookie && c->state == TCP_S_ESTABLISHED &&
			    !(s.flags & TCP_F_SYN) && (s.len > 0 || (s.flags & TCP_F_FIN))) {
				synchronized_input(t, c, &s);
				return;
			}
		} else {
			TCP_CNT(t, bad_segs, 1);
			TCP_CNT(t, no_conn, 1);
			reset_for(t, &s);
		}
		rte_pktmbuf_free(m);
		return;
	}
	if (c->state == TCP_S_SYN_SENT) {
		syn_sent_input(t, c, &s);
		rte_pktmbuf_free(m);
		return;
	}
	if (c->state == TCP_S_CLOSED) {
		/* The application has not closed a failed connection yet. */
		reset_for(t, &s);
		rte_pktmbuf_free(m);
		return;
	}
	synchronized_input(t, c, &s);
}
