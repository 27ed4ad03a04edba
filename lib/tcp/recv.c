/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receiving data: the in-order receive queue (segments lent from their mbufs until read; a
 * short segment is copied onto the tail mbuf instead when it fits, so many tiny segments do
 * not hold many mbufs), the out-of-order queue (sorted by sequence, bounded per connection by
 * ooo_max and per context by the mbuf budget), and the FIN once it is in order.
 */
#include <string.h>

#include "tcp_private.h"

static inline struct tcp_rcv_seg *
rcvq_at(struct tcp_conn *c, uint16_t i)
{
	return &c->rcvq[(c->rcvq_head + i) % TCP_RCVQ_SLOTS];
}

/** Copy @p len bytes at @p off of @p m onto the tail segment's mbuf if they fit. */
static bool
rcvq_coalesce(struct tcp_conn *c, struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	struct tcp_rcv_seg *tail;
	uint8_t *dst;

	if (c->rcvq_n == 0 || len > TCP_RCV_COALESCE)
		return false;
	tail = rcvq_at(c, (uint16_t)(c->rcvq_n - 1));
	if (tail->m->nb_segs != 1 || rte_mbuf_refcnt_read(tail->m) != 1 ||
	    !RTE_MBUF_DIRECT(tail->m) || tail->off + tail->len != tail->m->data_len ||
	    rte_pktmbuf_tailroom(tail->m) < len)
		return false;
	dst = (uint8_t *)rte_pktmbuf_append(tail->m, (uint16_t)len);
	if (dst == NULL)
		return false;
	if (rte_pktmbuf_read(m, off, len, dst) != dst)
		memcpy(dst, rte_pktmbuf_read(m, off, len, dst), len);
	tail->len += len;
	return true;
}

/** Append payload bytes [off, off+len) of @p m in order. @return true if m was kept. */
static bool
rcvq_append(struct tcp_ctx *t, struct tcp_conn *c, struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	c->rcv_nxt += len;
	c->rcv_bytes += len;
	if (rcvq_coalesce(c, m, off, len)) {
		TCP_CNT(t, bytes_in, len);
		return false;
	}
	if (c->rcvq_n >= TCP_RCVQ_SLOTS || t->mbufs + m->nb_segs > t->p.mbuf_budget ||
	    tcp_rcvq_get(t, c) != 0) {
		/* Cannot hold it after all: forget the bytes (the peer sends them again). */
		c->rcv_nxt -= len;
		c->rcv_bytes -= len;
		TCP_CNT(t, no_mbuf, 1);
		return false;
	}
	TCP_CNT(t, bytes_in, len);
	*rcvq_at(c, c->rcvq_n) = (struct tcp_rcv_seg){.m = m, .off = off, .len = len};
	c->rcvq_n++;
	t->mbufs += m->nb_segs;
	return true;
}

/** Mark the FIN received in order. */
static void
fin_in_order(struct tcp_conn *c)
{
	c->rcv_fin = true;
	c->rcv_nxt++;
}

/** Move what the out-of-order queue now has in order to the receive queue. */
static void
ooo_drain(struct tcp_ctx *t, struct tcp_conn *c)
{
	uint16_t i = 0;

	while (i < c->ooo_n && SEQ_LEQ(c->ooo[i].seq, c->rcv_nxt) && !c->rcv_fin) {
		struct tcp_ooo_seg *o = &c->ooo[i];
		uint32_t skip = c->rcv_nxt - o->seq;
		bool kept = false;

		t->mbufs -= o->m->nb_segs;
		if (skip < o->len)
			kept = rcvq_append(t, c, o->m, o->off + skip, o->len - skip);
		if (o->fin && c->rcv_nxt == o->seq + o->len) /* not if its bytes were not taken */
			fin_in_order(c);
		if (!kept)
			rte_pktmbuf_free(o->m);
		i++;
	}
	if (i > 0) {
		memmove(c->ooo, c->ooo + i, (c->ooo_n - i) * sizeof(*c->ooo));
		c->ooo_n = (uint16_t)(c->ooo_n - i);
	}
	if (c->rcv_fin) {
		/* Nothing follows the FIN: what is held past it goes (and is no SACK block). */
		for (uint16_t k = 0; k < c->ooo_n; k++) {
			t->mbufs -= c->ooo[k].m->nb_segs;
			rte_pktmbuf_free(c->ooo[k].m);
		}
		c->ooo_n = 0;
	}
}

/*
 * Overlaps: the bytes received first win. A segment keeps only its bytes before the first byte
 * already held out of order (RFC 9293 leaves the choice open; the rest of it comes again from
 * the peer, whose data is then acknowledged only up to what was kept), so held segments never
 * overlap and a byte never comes from two segments.
 */

/** Cut [*seq, *seq + *len) (and its FIN) at the first held byte at or after *seq. */
static void
ooo_cut_before_held(struct tcp_ctx *t, const struct tcp_conn *c, uint32_t seq, uint32_t *len,
		    bool *fin)
{
	for (uint16_t i = 0; i < c->ooo_n; i++) {
		const struct tcp_ooo_seg *o = &c->ooo[i];

		if (SEQ_GEQ(o->seq, seq) && SEQ_LT(o->seq, seq + *len + (*fin ? 1 : 0))) {
			*len = o->seq - seq;
			*fin = false;
			TCP_CNT(t, overlap_trims, 1);
			return;
		}
	}
}

/** Keep an out-of-order segment (its bytes not held yet, up to the next held ones). */
static bool
ooo_insert(struct tcp_ctx *t, struct tcp_conn *c, struct rte_mbuf *m, uint32_t off, uint32_t seq,
	   uint32_t len, bool fin)
{
	uint16_t i;

	if (c->ooo == NULL)
		c->ooo = calloc(t->p.ooo_max, sizeof(*c->ooo));
	if (c->ooo == NULL || c->ooo_n >= t->p.ooo_max ||
	    t->mbufs + m->nb_segs > t->p.mbuf_budget) {
		TCP_CNT(t, ooo_dropped, 1);
		return false;
	}
	/* A held segment with the front of this one: take only what follows it. */
	for (i = 0; i < c->ooo_n; i++) {
		const struct tcp_ooo_seg *o = &c->ooo[i];

		if (SEQ_LEQ(o->seq, seq) && SEQ_GT(o->seq + o->len, seq)) {
			uint32_t skip = o->seq + o->len - seq;

			if (skip >= len && !(fin && !o->fin && skip == len)) {
				TCP_CNT(t, dup_segs, 1); /* held whole already */
				return false;
			}
			TCP_CNT(t, overlap_trims, 1);
			off += skip;
			seq += skip;
			len -= skip;
		}
	}
	ooo_cut_before_held(t, c, seq, &len, &fin);
	if (len == 0 && !fin) {
		TCP_CNT(t, dup_segs, 1);
		return false;
	}
	for (i = 0; i < c->ooo_n && SEQ_LT(c->ooo[i].seq, seq); i++)
		;
	memmove(c->ooo + i + 1, c->ooo + i, (c->ooo_n - i) * sizeof(*c->ooo));
	c->ooo[i] = (struct tcp_ooo_seg){.m = m, .off = off, .seq = seq, .len = len, .fin = fin};
	c->ooo_n++;
	c->ooo_last = seq;
	t->mbufs += m->nb_segs;
	TCP_CNT(t, ooo_segs, 1);
	return true;
}

bool
tcp_rcv_data(struct tcp_ctx *t, struct tcp_conn *c, struct rte_mbuf *m, uint32_t off, uint32_t seq,
	     uint32_t len, bool fin)
{
	uint32_t edge = c->rcv_adv;
	bool kept = false;

	if (c->rcv_fin)
		return false;
	/* Trim what we already have. */
	if (SEQ_LT(seq, c->rcv_nxt)) {
		uint32_t skip = c->rcv_nxt - seq;

		if (skip >= len) {
			if (skip > len || !fin) {
				TCP_CNT(t, dup_segs, 1);
				return false;
			}
			skip = len; /* only the FIN is new */
		}
		TCP_CNT(t, dup_segs, 1);
		off += skip;
		seq += skip;
		len -= skip;
	}
	/* Trim what lies beyond the window we advertised (its FIN goes with it). */
	if (SEQ_LT(edge, c->rcv_nxt + tcp_rcv_window(t, c)))
		edge = c->rcv_nxt + tcp_rcv_window(t, c);
	if (SEQ_GT(seq + len, edge)) {
		uint32_t over = seq + len - edge;

		TCP_CNT(t, window_full_drops, 1);
		len = over >= len ? 0 : len - over;
		fin = false;
		if (len == 0)
			return false;
	}
	if (seq == c->rcv_nxt) {
		/* Bytes held out of order were here first: stop before them. */
		ooo_cut_before_held(t, c, seq, &len, &fin);
		if (len > 0)
			kept = rcvq_append(t, c, m, off, len);
		if (fin && c->rcv_nxt == seq + len)
			fin_in_order(c);
		ooo_drain(t, c);
		return kept;
	}
	return ooo_insert(t, c, m, off, seq, len, fin);
}

void
tcp_rcvq_clear(struct tcp_ctx *t, struct tcp_conn *c)
{
	while (c->rcvq_n > 0) {
		struct tcp_rcv_seg *s = rcvq_at(c, 0);

		t->mbufs -= s->m->nb_segs;
		rte_pktmbuf_free(s->m);
		s->m = NULL;
		c->rcvq_head = (uint16_t)((c->rcvq_head + 1) % TCP_RCVQ_SLOTS);
		c->rcvq_n--;
	}
	tcp_rcvq_put(t, c);
	c->rcv_bytes = 0;
	for (uint16_t i = 0; i < c->ooo_n; i++) {
		t->mbufs -= c->ooo[i].m->nb_segs;
		rte_pktmbuf_free(c->ooo[i].m);
	}
	c->ooo_n = 0;
}
