/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sending: segment headers and options, the send buffer (a ring of segments of at most one MSS,
 * each in its own mbuf, payload at the mbuf's data offset of creation), transmission within
 * the peer's and the congestion window, FINs, pure ACKs, probes, resets.
 *
 * A segment of the send buffer is sent by lending its own mbuf (reference count + 1) with the
 * headers prepended in its headroom; the driver's free gives it back. Bytes stay there until
 * acknowledged, so a retransmission finds them by sequence number in the ring. If the NIC
 * still holds the mbuf when it must go out again (rare: a timeout shorter than a TX queue
 * drain), the bytes are copied into a fresh mbuf instead.
 *
 * TSO (tcp_params.tso_max): a run of never-sent segments, all of one MSS but the last, within
 * both windows and the frame limits, goes out as one frame for the NIC to cut: a fresh header
 * mbuf chained with one indirect mbuf per segment (rte_pktmbuf_attach), since a send-buffer
 * mbuf must never get a next pointer (the ring frees each on its own). The header and
 * indirect mbufs belong to the frame, not to the context's mbuf budget. Everything after the
 * send (timing, snd_nxt/snd_max, the RTO, counters) is done per segment as for single ones.
 */
#include <errno.h>
#include <string.h>

#include "tcp_private.h"

/** TCP header with room for the options we send. */

uint32_t
tcp_rcv_window(const struct tcp_ctx *t, const struct tcp_conn *c)
{
	uint32_t room = c->rcv_bytes < t->p.rcvbuf ? t->p.rcvbuf - c->rcv_bytes : 0;
	uint32_t adv_left = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;

	/* The context's mbuf budget closes every window before it runs out. */
	if (t->mbufs + 2u * TCP_SNDQ_SLOTS / 8 >= t->p.mbuf_budget)
		room = 0;
	/* Receiver silly window avoidance: no window of less than an MSS (RFC 9293 3.8.6.2.2). */
	if (room < t->mss_local && room < t->p.rcvbuf / 2)
		room = 0;
	/* Never move the right edge back (RFC 9293 3.8.6). */
	return room > adv_left ? room : adv_left;
}

/** The window field for @p c, and the right edge it advertises. */
static uint16_t
window_field(const struct tcp_ctx *t, struct tcp_conn *c, bool syn)
{
	uint32_t w = tcp_rcv_window(t, c);
	uint8_t shift = syn ? 0 : c->rcv_wscale;
	uint32_t f = w >> shift;

	if (f > 65535)
		f = 65535;
	if (SEQ_GT(c->rcv_nxt + (f << shift), c->rcv_adv))
		c->rcv_adv = c->rcv_nxt + (f << shift);
	return (uint16_t)f;
}

/**
 * Prepend a TCP header (and @p optlen option bytes from @p opt) to @p m and send it.
 * @return 0 or the io's error.
 */
static int
emit(struct tcp_ctx *t, rte_be16_t sport, rte_be16_t dport, rte_be32_t dst, struct rte_mbuf *m,
     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, const uint8_t *opt, uint8_t optlen)
{
	uint16_t hlen = (uint16_t)(sizeof(struct rte_tcp_hdr) + optlen);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)rte_pktmbuf_prepend(m, hlen);

	if (th == NULL) {
		rte_pktmbuf_free(m);
		TCP_CNT(t, no_mbuf, 1);
		return -ENOSPC;
	}
	th->src_port = sport;
	th->dst_port = dport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = (flags & TCP_F_ACK) ? rte_cpu_to_be_32(ack) : 0;
	th->data_off = (uint8_t)((hlen / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(win);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen > 0)
		memcpy(th + 1, opt, optlen);
	if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
		/* A TSO frame: the segments the NIC cuts go on the wire. */
		TCP_CNT(t, segs_out, (m->pkt_len - hlen + m->tso_segsz - 1) / m->tso_segsz);
		TCP_CNT(t, tso_frames, 1);
	} else {
		TCP_CNT(t, segs_out, 1);
	}
	if (flags & TCP_F_RST)
		TCP_CNT(t, resets_out, 1);
	return t->p.io.output(t->p.io.arg, m, t->p.local_ip, dst);
}

static struct rte_mbuf *
alloc_mbuf(struct tcp_ctx *t)
{
	struct rte_mbuf *m = t->p.io.alloc(t->p.io.arg);

	if (m == NULL)
		TCP_CNT(t, no_mbuf, 1);
	return m;
}

/** An ACK was sent: nothing is owed any more. */
static void
ack_sent(struct tcp_ctx *t, struct tcp_conn *c)
{
	c->ack_now = false;
	c->ack_delayed = false;
	c->segs_unacked = 0;
	tcp_timer_set(t, c, TCP_T_DELACK, 0);
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/**
 * The SACK option (RFC 2018) for an ACK of @p c: the out-of-order data held, as at most
 * TCP_SACK_BLOCKS ranges, the one holding the latest segment first.
 * @return option bytes written to @p opt (0: none to report).
 */
static uint8_t
sack_option(const struct tcp_conn *c, uint8_t opt[4 + 8 * TCP_SACK_BLOCKS])
{
	uint32_t left[TCP_SACK_BLOCKS], right[TCP_SACK_BLOCKS];
	unsigned n = 0, first = 0;

	if (!c->sack_ok || c->ooo_n == 0)
		return 0;
	/* Merge the sorted segments into ranges; keep the latest one's and the lowest others. */
	for (uint16_t i = 0; i < c->ooo_n;) {
		uint32_t l = c->ooo[i].seq, r = l + c->ooo[i].len;
		bool latest = false;

		for (; i < c->ooo_n && SEQ_LEQ(c->ooo[i].seq, r); i++) {
			if (SEQ_GT(c->ooo[i].seq + c->ooo[i].len, r))
				r = c->ooo[i].seq + c->ooo[i].len;
			latest = latest || c->ooo[i].seq == c->ooo_last;
		}
		if (r == l)
			continue; /* a lone FIN */
		if (n < TCP_SACK_BLOCKS || latest) {
			unsigned at = n < TCP_SACK_BLOCKS ? n++ : TCP_SACK_BLOCKS - 1;

			left[at] = l;
			right[at] = r;
			if (latest)
				first = at;
		}
	}
	if (n == 0)
		return 0;
	opt[0] = 1; /* NOP */
	opt[1] = 1;
	opt[2] = 5;
	opt[3] = (uint8_t)(2 + 8 * n);
	put_be32(opt + 4, left[first]);
	put_be32(opt + 8, right[first]);
	for (unsigned i = 0, k = 1; i < n; i++) {
		if (i == first)
			continue;
		put_be32(opt + 4 + 8 * k, left[i]);
		put_be32(opt + 8 + 8 * k, right[i]);
		k++;
	}
	return (uint8_t)(4 + 8 * n);
}

int
tcp_send_ctl(struct tcp_ctx *t, struct tcp_conn *c, uint8_t flags, uint32_t seq)
{
	struct rte_mbuf *m = alloc_mbuf(t);
	uint8_t opt[4 + 8 * TCP_SACK_BLOCKS];
	uint8_t optlen = 0;
	uint16_t win;

	if (m == NULL)
		return -ENOBUFS;
	win = (flags & TCP_F_RST) ? 0 : window_field(t, c, false);
	if ((flags & (TCP_F_ACK | TCP_F_RST)) == TCP_F_ACK)
		optlen = sack_option(c, opt);
	if (flags & TCP_F_ACK)
		ack_sent(t, c);
	return emit(t, c->lport, c->rport, c->rip, m, seq, c->rcv_nxt, flags, win, opt, optlen);
}

int
tcp_send_syn(struct tcp_ctx *t, struct tcp_conn *c)
{
	struct rte_mbuf *m = alloc_mbuf(t);
	uint8_t opt[12];
	uint8_t optlen = 4;
	uint8_t flags = TCP_F_SYN;

	if (m == NULL)
		return -ENOBUFS;
	opt[0] = 2; /* MSS */
	opt[1] = 4;
	opt[2] = (uint8_t)(t->mss_local >> 8);
	opt[3] = (uint8_t)t->mss_local;
	/* Window scale: always in our SYN; in a SYN-ACK only if the peer's SYN had it. */
	if (c->state == TCP_S_SYN_SENT || c->wscale_ok) {
		opt[4] = 1; /* NOP */
		opt[5] = 3;
		opt[6] = 3;
		opt[7] = c->rcv_wscale;
		optlen = 8;
	}
	/* SACK permitted: likewise (our ACKs then report out-of-order data; see README). */
	if (c->state == TCP_S_SYN_SENT || c->sack_ok) {
		opt[optlen++] = 1;
		opt[optlen++] = 1;
		opt[optlen++] = 4;
		opt[optlen++] = 2;
	}
	if (c->state != TCP_S_SYN_SENT)
		flags |= TCP_F_ACK;
	/* Time the handshake unless this SYN is a retransmission (Karn). */
	if (c->backoff == 0 && c->rtt_ts == 0) {
		c->rtt_ts = t->now_us;
		c->rtt_seq = c->iss + 1;
	}
	if (SEQ_LEQ(c->snd_max, c->iss))
		c->snd_max = c->iss + 1;
	c->snd_nxt = c->iss + 1;
	if (flags & TCP_F_ACK)
		ack_sent(t, c);
	return emit(t, c->lport, c->rport, c->rip, m, c->iss, c->rcv_nxt, flags,
		    window_field(t, c, true), opt, optlen);
}

void
tcp_send_reset(struct tcp_ctx *t, rte_be32_t dst_ip, rte_be16_t dport, rte_be16_t sport,
	       uint32_t seq, uint32_t ack, bool with_ack)
{
	struct rte_mbuf *m = alloc_mbuf(t);

	if (m == NULL)
		return;
	emit(t, sport, dport, dst_ip, m, seq, ack, TCP_F_RST | (with_ack ? TCP_F_ACK : 0), 0, NULL,
	     0);
}

static inline struct tcp_snd_seg *
sndq_at(struct tcp_conn *c, uint16_t i)
{
	return &c->sndq[(c->sndq_head + i) % TCP_SNDQ_SLOTS];
}

/**
 * Cut never-sent segment @p i of the send buffer after its first @p keep bytes; the rest
 * becomes a segment of its own right after it (for a peer window smaller than the segment).
 * @return 0; -ENOBUFS (no slot, mbuf or budget).
 */
static int
sndq_split(struct tcp_ctx *t, struct tcp_conn *c, uint16_t i, uint32_t keep)
{
	struct tcp_snd_seg *e = sndq_at(c, i);
	uint32_t rest = e->len - keep;
	struct rte_mbuf *m;
	void *dst;

	if (c->sndq_n >= TCP_SNDQ_SLOTS || t->mbufs >= t->p.mbuf_budget)
		return -ENOBUFS;
	m = alloc_mbuf(t);
	if (m == NULL)
		return -ENOBUFS;
	dst = rte_pktmbuf_append(m, (uint16_t)rest);
	if (dst == NULL) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	memcpy(dst, rte_pktmbuf_mtod_offset(e->m, uint8_t *, keep), rest);
	e->m->data_len = (uint16_t)keep;
	e->m->pkt_len = keep;
	e->len = (uint16_t)keep;
	t->mbufs++;
	for (uint16_t j = c->sndq_n; j > i + 1; j--)
		*sndq_at(c, j) = *sndq_at(c, (uint16_t)(j - 1));
	*sndq_at(c, (uint16_t)(i + 1)) =
		(struct tcp_snd_seg){.m = m, .seq = e->seq + keep, .len = (uint16_t)rest};
	c->sndq_n++;
	return 0;
}

/** Send segment @p e of the send buffer (with ACK, PSH on the last one queued). */
static int
send_seg(struct tcp_ctx *t, struct tcp_conn *c, struct tcp_snd_seg *e, bool last)
{
	struct rte_mbuf *m = e->m;
	uint16_t doff = (uint16_t)(RTE_PKTMBUF_HEADROOM);
	uint16_t win = window_field(t, c, false);

	if (rte_mbuf_refcnt_read(m) == 1 && RTE_MBUF_DIRECT(m)) {
		/* Lend the segment's own mbuf: put its data where the payload starts again. */
		m->data_off = doff;
		m->data_len = e->len;
		m->pkt_len = e->len;
		m->ol_flags = 0;
		rte_mbuf_refcnt_update(m, 1);
	} else {
		struct rte_mbuf *copy = alloc_mbuf(t);

		if (copy == NULL)
			return -ENOBUFS;
		if (rte_pktmbuf_append(copy, e->len) == NULL) {
			rte_pktmbuf_free(copy);
			return -ENOSPC;
		}
		memcpy(rte_pktmbuf_mtod(copy, void *), (uint8_t *)m->buf_addr + doff, e->len);
		m = copy;
	}
	ack_sent(t, c);
	if (e->sent == 0)
		TCP_CNT(t, bytes_out, e->len);
	e->sent++;
	return emit(t, c->lport, c->rport, c->rip, m, e->seq, c->rcv_nxt,
		    (uint8_t)(TCP_F_ACK | (last ? TCP_F_PSH : 0)), win, NULL, 0);
}

/** Whether TSO may carry @p c's new data: on, at least two segments a frame, a fitting MSS. */
static bool
tso_usable(const struct tcp_ctx *t, const struct tcp_conn *c)
{
	return t->p.tso_max >= 2u * c->mss && t->p.tso_segs != 1 &&
	       (t->p.tso_mss_max == 0 || c->mss <= t->p.tso_mss_max);
}

/**
 * How many segments of the send buffer from sndq_next on go out as one TSO frame within
 * window @p wnd (from snd_una): never sent, each whole inside the window, all of one MSS but
 * the last, within tso_max and tso_segs. *@p bytes gets their payload.
 * @return the count; below 2 the next segment goes alone.
 */
static uint16_t
tso_run(const struct tcp_ctx *t, const struct tcp_conn *c, uint32_t wnd, uint32_t *bytes)
{
	uint16_t n = 0, max = t->p.tso_segs != 0 ? t->p.tso_segs : TCP_SNDQ_SLOTS;
	uint32_t total = 0;

	if (!tso_usable(t, c))
		return 0;
	while (n < max && c->sndq_next + n < c->sndq_n) {
		const struct tcp_snd_seg *e =
			&c->sndq[(c->sndq_head + c->sndq_next + n) % TCP_SNDQ_SLOTS];

		if (e->sent != 0 || e->len > c->mss || total + e->len > t->p.tso_max ||
		    SEQ_GT(e->seq + e->len, c->snd_una + wnd))
			break;
		total += e->len;
		n++;
		if (e->len < c->mss)
			break; /* only the last may be short */
	}
	*bytes = total;
	return n;
}

/**
 * An indirect mbuf on send-buffer segment @p e's payload (the segment's mbuf gains a
 * reference, its data and links stay as they are). @return NULL when io.alloc has none.
 */
static struct rte_mbuf *
tso_attach(struct tcp_ctx *t, const struct tcp_snd_seg *e)
{
	struct rte_mbuf *mi = t->p.io.alloc(t->p.io.arg);

	if (mi == NULL)
		return NULL;
	rte_pktmbuf_attach(mi, e->m);
	mi->data_off = RTE_PKTMBUF_HEADROOM;
	mi->data_len = e->len;
	mi->pkt_len = e->len;
	return mi;
}

/**
 * Send the @p n segments (@p bytes of payload) of the send buffer from sndq_next on as one
 * TSO frame (with ACK; PSH when @p last, the NIC puts it on the last segment it cuts).
 * @return 0; -ENOBUFS no mbuf for the frame (nothing sent, nothing changed: send them one
 *         by one); or the io's error (the frame counts as sent, as send_seg's do).
 */
static int
send_tso(struct tcp_ctx *t, struct tcp_conn *c, uint16_t n, uint32_t bytes, bool last)
{
	struct rte_mbuf *h = t->p.io.alloc(t->p.io.arg), *tail = h;
	struct tcp_snd_seg *first = sndq_at(c, c->sndq_next);
	uint16_t win;

	if (h == NULL)
		return -ENOBUFS;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *mi = tso_attach(t, sndq_at(c, (uint16_t)(c->sndq_next + i)));

		if (mi == NULL) {
			rte_pktmbuf_free(h); /* drops the references taken so far */
			return -ENOBUFS;
		}
		tail->next = mi;
		tail = mi;
	}
	h->nb_segs = (uint16_t)(n + 1);
	h->pkt_len = bytes;
	h->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	h->tso_segsz = c->mss;
	win = window_field(t, c, false);
	ack_sent(t, c);
	TCP_CNT(t, bytes_out, bytes);
	for (uint16_t i = 0; i < n; i++)
		sndq_at(c, (uint16_t)(c->sndq_next + i))->sent++;
	return emit(t, c->lport, c->rport, c->rip, h, first->seq, c->rcv_nxt,
		    (uint8_t)(TCP_F_ACK | (last ? TCP_F_PSH : 0)), win, NULL, 0);
}

/** Segment @p e, next in the send buffer, went out: RTT timing, snd_nxt/snd_max, the RTO. */
static void
seg_sent(struct tcp_ctx *t, struct tcp_conn *c, const struct tcp_snd_seg *e)
{
	uint32_t end = e->seq + e->len;

	if (e->sent > 1)
		TCP_CNT(t, retrans_segs, 1); /* resent after a timeout (go-back-N) */
	if (e->sent == 1 && c->rtt_ts == 0) {
		c->rtt_ts = t->now_us;
		c->rtt_seq = end;
	}
	c->sndq_next++;
	if (SEQ_GT(end, c->snd_nxt))
		c->snd_nxt = end;
	if (SEQ_GT(end, c->snd_max))
		c->snd_max = end;
	tcp_rto_arm(t, c, false);
}

/**
 * Send the next segment(s) of the send buffer within window @p wnd: a TSO frame of a run of
 * new ones when one forms, else the next alone. @return segments sent (0: stop for now).
 */
static unsigned
send_next(struct tcp_ctx *t, struct tcp_conn *c, uint32_t wnd)
{
	uint32_t bytes = 0;
	uint16_t n = tso_run(t, c, wnd, &bytes);
	int rc = -ENOBUFS;

	if (n >= 2)
		rc = send_tso(t, c, n, bytes, c->sndq_next + n == c->sndq_n);
	if (rc == -ENOBUFS) {
		n = 1;
		rc = send_seg(t, c, sndq_at(c, c->sndq_next), c->sndq_next + 1 == c->sndq_n);
	}
	if (rc != 0)
		return 0;
	for (uint16_t i = 0; i < n; i++)
		seg_sent(t, c, sndq_at(c, c->sndq_next));
	return n;
}

/** Whether the FIN may go out now: asked for, every data byte sent, not counted in snd_nxt. */
static bool
fin_due(const struct tcp_conn *c)
{
	return c->shut_wr && c->sndq_next >= c->sndq_n && SEQ_LEQ(c->snd_nxt, c->snd_end) &&
	       (c->state == TCP_S_ESTABLISHED || c->state == TCP_S_CLOSE_WAIT ||
		c->state == TCP_S_FIN_WAIT_1 || c->state == TCP_S_CLOSING || c->state == TCP_S_LAST_ACK);
}

static void
send_fin(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (tcp_send_ctl(t, c, TCP_F_FIN | TCP_F_ACK, c->snd_end) != 0) {
		tcp_mark_pending(t, c); /* no timer covers an unsent FIN: try again at the next flush */
		return;
	}
	c->snd_nxt = c->snd_end + 1;
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	if (!c->fin_sent) {
		c->fin_sent = true;
		if (c->state == TCP_S_ESTABLISHED)
			tcp_set_state(t, c, TCP_S_FIN_WAIT_1);
		else if (c->state == TCP_S_CLOSE_WAIT)
			tcp_set_state(t, c, TCP_S_LAST_ACK);
	}
	tcp_rto_arm(t, c, false);
}

unsigned
tcp_output(struct tcp_ctx *t, struct tcp_conn *c)
{
	unsigned sent = 0;

	if (c->state < TCP_S_ESTABLISHED || c->state == TCP_S_TIME_WAIT || c->err != 0)
		return 0;
	if (c->state == TCP_S_ESTABLISHED || c->state == TCP_S_CLOSE_WAIT ||
	    c->state == TCP_S_FIN_WAIT_1 || c->state == TCP_S_CLOSING || c->state == TCP_S_LAST_ACK) {
		uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;

		while (c->sndq_next < c->sndq_n) {
			struct tcp_snd_seg *e = sndq_at(c, c->sndq_next);
			unsigned n;

			if (SEQ_GT(e->seq + e->len, c->snd_una + wnd)) {
				/*
				 * The window ends inside this segment. With nothing in flight, send
				 * what fits (RFC 9293 3.8.6.2.1) rather than wait for a window the
				 * peer may never offer; else wait for ACKs to open it.
				 */
				uint32_t fits = c->snd_una + wnd - e->seq;

				if (tcp_flight(c) != 0 || e->sent != 0 || SEQ_LEQ(c->snd_una + wnd, e->seq) ||
				    fits == 0 || sndq_split(t, c, c->sndq_next, fits) != 0)
					break;
			}
			n = send_next(t, c, wnd);
			if (n == 0)
				break;
			sent += n;
		}
		if (c->sndq_next < c->sndq_n) {
			/* Data waits for a window: probe a zero window when nothing is in flight. */
			if (tcp_flight(c) == 0 && c->timer[TCP_T_PERSIST] == 0) {
				uint64_t d = (uint64_t)c->rto_us << c->persist_backoff;

				if (d < TCP_PERSIST_MIN_US)
					d = TCP_PERSIST_MIN_US;
				if (d > TCP_PERSIST_MAX_US)
					d = TCP_PERSIST_MAX_US;
				tcp_timer_set(t, c, TCP_T_PERSIST, t->now_us + d);
			}
		} else if (fin_due(c)) {
			send_fin(t, c);
			sent++;
		}
	}
	if (sent == 0 && (c->ack_now || (c->ack_delayed && c->segs_unacked >= 2))) {
		if (tcp_send_ctl(t, c, TCP_F_ACK, c->snd_nxt) == 0)
			sent++;
	} else if (sent == 0 && c->ack_delayed && c->timer[TCP_T_DELACK] == 0) {
		tcp_timer_set(t, c, TCP_T_DELACK, t->now_us + (uint64_t)t->p.delack_ms * 1000);
	}
	return sent;
}

int
tcp_retransmit_first(struct tcp_ctx *t, struct tcp_conn *c)
{
	int rc;

	c->rtt_ts = 0; /* Karn: no sample from a retransmitted segment */
	if (c->sndq_n > 0) {
		struct tcp_snd_seg *e = sndq_at(c, 0);
		uint32_t end = e->seq + e->len;

		rc = send_seg(t, c, e, c->sndq_n == 1);
		if (rc != 0)
			return rc;
		TCP_CNT(t, retrans_segs, 1);
		if (c->sndq_next == 0)
			c->sndq_next = 1;
		if (SEQ_GT(end, c->snd_nxt))
			c->snd_nxt = end;
		return 0;
	}
	if (c->fin_sent && SEQ_LEQ(c->snd_una, c->snd_end)) {
		TCP_CNT(t, retrans_segs, 1);
		rc = tcp_send_ctl(t, c, TCP_F_FIN | TCP_F_ACK, c->snd_end);
		if (rc == 0)
			c->snd_nxt = c->snd_end + 1;
		return rc;
	}
	return 0;
}

uint32_t
tcp_sndq_ack(struct tcp_ctx *t, struct tcp_conn *c, uint32_t ack)
{
	uint32_t acked = 0;

	while (c->sndq_n > 0) {
		struct tcp_snd_seg *e = sndq_at(c, 0);
		uint32_t end = e->seq + e->len;

		if (SEQ_LT(ack, end))
			break;
		acked += e->len;
		c->snd_bytes -= e->len;
		rte_pktmbuf_free(e->m);
		t->mbufs--;
		e->m = NULL;
		c->sndq_head = (uint16_t)((c->sndq_head + 1) % TCP_SNDQ_SLOTS);
		c->sndq_n--;
		if (c->sndq_next > 0)
			c->sndq_next--;
	}
	tcp_sndq_put(t, c);
	/* Part of the first segment: keep it whole (a retransmission resends it all). */
	return acked;
}

void
tcp_sndq_clear(struct tcp_ctx *t, struct tcp_conn *c)
{
	while (c->sndq_n > 0) {
		struct tcp_snd_seg *e = sndq_at(c, 0);

		rte_pktmbuf_free(e->m);
		t->mbufs--;
		e->m = NULL;
		c->sndq_head = (uint16_t)((c->sndq_head + 1) % TCP_SNDQ_SLOTS);
		c->sndq_n--;
	}
	tcp_sndq_put(t, c);
	c->sndq_next = 0;
	c->snd_bytes = 0;
}

void
tcp_flush(struct tcp_ctx *t, uint64_t now_us)
{
	struct tcp_conn *c = t->pending;

	t->now_us = now_us;
	t->pending = NULL;
	while (c != NULL) {
		struct tcp_conn *next = c->pending_next;

		c->on_pending = false;
		c->pending_next = NULL;
		tcp_output(t, c);
		c = next;
	}
}
