/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The book of UDP requests in flight (udp_book.h): slots, request ids, multi-datagram replies
 * put back together, timeouts. Moved out of sock_udp.c so the DPDK transport shares it.
 */
#include "udp_book.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define PARTS_MAX  1024 /* most datagrams of one reply */

struct slot {
	struct mcgen_req q;
	bool busy;
	bool cooling;	 /* its request timed out: not reused before cool_ns */
	uint64_t cool_ns;
	uint16_t gen;
	uint16_t parts_total, parts_got;
	char **parts; /* a message of several datagrams: each one's payload, by sequence */
	uint32_t *part_len;
	char *acc; /* messages of one reply so far (a multiget's parts) */
	size_t acc_len;
};

struct conn {
	struct slot *slots;
	unsigned *free; /* stack of free slot numbers */
	unsigned nfree;
};

struct mcgen_udp_book {
	struct mcgen_thread *t;
	const struct mcgen_options *o;
	struct conn *conns;
	unsigned n, rr, id_bits;
	char *buf; /* a reply put together */
	size_t buf_cap;
};

static void
slot_parts_free(struct slot *s)
{
	for (unsigned i = 0; s->parts != NULL && i < s->parts_total; i++)
		free(s->parts[i]);
	free(s->parts);
	free(s->part_len);
	s->parts = NULL;
	s->part_len = NULL;
	s->parts_total = s->parts_got = 0;
}

static void
slot_acc_free(struct slot *s)
{
	free(s->acc);
	s->acc = NULL;
	s->acc_len = 0;
}

/* Slot @p s is done with its request: what it held freed, its id's generation moved on. */
static void
slot_done(struct slot *s)
{
	slot_parts_free(s);
	slot_acc_free(s);
	s->busy = false;
	s->gen++;
}

/* Slot @p s is done, and free again. */
static void
slot_release(struct conn *c, struct slot *s)
{
	slot_done(s);
	c->free[c->nfree++] = (unsigned)(s - c->slots);
}

/*
 * Slot @p s timed out at @p now: done, but not reused for another timeout. Its reply may
 * still come; with few generation bits (16 less the slot's, 4 at --depth 4096) a slot reused
 * at once could take that late reply for its next request's, one time in 16 at worst.
 */
static void
slot_cool(struct slot *s, uint64_t now, uint64_t timeout_ns)
{
	slot_done(s);
	s->cooling = true;
	s->cool_ns = now + timeout_ns;
}

static uint16_t
slot_id(const struct mcgen_udp_book *x, const struct conn *c, const struct slot *s)
{
	unsigned mask = (1u << (16 - x->id_bits)) - 1;

	return (uint16_t)((unsigned)(s->gen & mask) << x->id_bits | (unsigned)(s - c->slots));
}

void
mcgen_udp_frame_write(void *p, uint16_t id)
{
	unsigned char *h = p;

	h[0] = (unsigned char)(id >> 8);
	h[1] = (unsigned char)id;
	memset(h + 2, 0, 6);
	h[5] = 1; /* total: 1 */
}

int
mcgen_udp_frame_read(const void *p, size_t n, uint16_t *id, uint16_t *seq, uint16_t *total)
{
	const unsigned char *h = p;

	if (n < MCGEN_UDP_FRAME_HDR)
		return -EINVAL;
	*id = (uint16_t)(h[0] << 8 | h[1]);
	*seq = (uint16_t)(h[2] << 8 | h[3]);
	*total = (uint16_t)(h[4] << 8 | h[5]);
	return 0;
}

bool
mcgen_udp_book_issue(struct mcgen_udp_book *x, uint64_t now, const struct mcgen_udp_io *io)
{
	unsigned full = 0;

	while (full < x->n) {
		unsigned ci = x->rr;
		struct conn *c = &x->conns[ci];
		struct slot *s;
		size_t cap;
		char *text;
		long len;

		if (c->nfree == 0) {
			full++;
			x->rr = (x->rr + 1) % x->n;
			continue;
		}
		s = &c->slots[c->free[c->nfree - 1]];
		if (!mcgen_engine_next(x->t, now, &s->q))
			return true;
		c->nfree--;
		s->busy = true;
		s->q.opaque = slot_id(x, c, s);
		text = io->begin(io->arg, ci, (uint16_t)s->q.opaque, &cap);
		if (text == NULL) {
			mcgen_engine_lost(x->t, &s->q, MCGEN_C_aborted, "no buffer to send a request");
			slot_release(c, s);
			return false;
		}
		len = mcgen_proto_encode(x->o->protocol, x->t->run->w, &s->q, text, cap);
		if (len <= 0) {
			io->finish(io->arg, ci, 0);
			mcgen_engine_lost(x->t, &s->q, MCGEN_C_wrong,
					  x->t->run->dpdk != NULL
						  ? "a request does not fit one frame"
						  : "a request does not fit one datagram");
			slot_release(c, s);
			/* The clock moves on: when none fits, the phase must still end. */
			now = mcgen_now_ns();
			continue;
		}
		io->finish(io->arg, ci, (size_t)len);
		full = 0;
		x->rr = (x->rr + 1) % x->n;
	}
	return false;
}

/*
 * A message of @p len bytes at @p p for slot @p s is complete. memcached answers a request of
 * several commands (a multiget's keys) with one message per part, each numbered on its own:
 * messages are joined in arrival order until they make exactly one reply.
 */
static void
message(struct mcgen_udp_book *x, struct conn *c, struct slot *s, const char *p, size_t len, uint64_t now)
{
	struct mcgen_reply r;
	char err[256];
	size_t need;
	long n;

	if (s->acc_len > 0 || s->acc != NULL) {
		if (s->acc == NULL || s->acc_len + len > x->buf_cap) {
			mcgen_engine_lost(x->t, &s->q, MCGEN_C_wrong, "a reply longer than any expected");
			slot_release(c, s);
			return;
		}
		memcpy(s->acc + s->acc_len, p, len);
		s->acc_len += len;
		p = s->acc;
		len = s->acc_len;
	}
	n = mcgen_proto_parse(x->o->protocol, &s->q, p, len, &r, &need, err, sizeof(err));
	if (n == 0) {
		/* Not the whole reply yet: keep it, the rest comes in further messages. */
		if (s->acc == NULL) {
			s->acc = malloc(x->buf_cap);
			if (s->acc == NULL || len > x->buf_cap) {
				mcgen_engine_lost(x->t, &s->q, MCGEN_C_aborted, "out of memory");
				slot_release(c, s);
				return;
			}
			memcpy(s->acc, p, len);
			s->acc_len = len;
		}
		return;
	}
	if (n > 0 && (size_t)n == len)
		mcgen_engine_reply(x->t, &s->q, &r, now);
	else {
		if (n > 0)
			snprintf(err, sizeof(err), "%zu bytes after a reply of %ld", len - (size_t)n, n);
		mcgen_engine_lost(x->t, &s->q, MCGEN_C_wrong, err);
	}
	slot_release(c, s);
}

/* Keep datagram @p seq of @p total; parse the reply once every one is there. */
static void
part(struct mcgen_udp_book *x, struct conn *c, struct slot *s, unsigned seq, unsigned total, const char *p,
     size_t len, uint64_t now)
{
	size_t sum = 0;

	if (total > PARTS_MAX || (s->parts != NULL && total != s->parts_total) || seq >= total) {
		mcgen_engine_lost(x->t, &s->q, MCGEN_C_wrong, "bad frame header sequence/total");
		slot_release(c, s);
		return;
	}
	if (s->parts == NULL) {
		s->parts = calloc(total, sizeof(*s->parts));
		s->part_len = calloc(total, sizeof(*s->part_len));
		s->parts_total = (uint16_t)total;
		if (s->parts == NULL || s->part_len == NULL) {
			mcgen_engine_lost(x->t, &s->q, MCGEN_C_aborted, "out of memory");
			slot_release(c, s);
			return;
		}
	}
	if (s->parts[seq] != NULL) {
		mcgen_engine_count(x->t, MCGEN_C_late, 1); /* a duplicate */
		return;
	}
	s->parts[seq] = malloc(len ? len : 1);
	if (s->parts[seq] == NULL)
		return; /* it will time out */
	memcpy(s->parts[seq], p, len);
	s->part_len[seq] = (uint32_t)len;
	if (++s->parts_got < total)
		return;
	for (unsigned i = 0; i < total; i++)
		sum += s->part_len[i];
	if (sum > x->buf_cap) {
		mcgen_engine_lost(x->t, &s->q, MCGEN_C_wrong, "a reply longer than any expected");
		slot_release(c, s);
		return;
	}
	sum = 0;
	for (unsigned i = 0; i < total; i++) {
		memcpy(x->buf + sum, s->parts[i], s->part_len[i]);
		sum += s->part_len[i];
	}
	slot_parts_free(s);
	message(x, c, s, x->buf, sum, now);
}

void
mcgen_udp_book_input(struct mcgen_udp_book *x, unsigned conn, uint16_t id, uint16_t seq,
		     uint16_t total, const char *text, size_t len, uint64_t now)
{
	struct conn *c = &x->conns[conn];
	unsigned slot = id & ((1u << x->id_bits) - 1);
	struct slot *s = slot < x->o->depth ? &c->slots[slot] : NULL;

	if (total == 0 && len == 0)
		return; /* memcached sends an empty message (total 0) per multiget miss */
	if (conn >= x->n || s == NULL || !s->busy || slot_id(x, c, s) != id || total == 0) {
		mcgen_engine_count(x->t, MCGEN_C_late, 1);
		return;
	}
	if (total == 1 && seq == 0)
		message(x, c, s, text, len, now);
	else
		part(x, c, s, seq, total, text, len, now);
}

void
mcgen_udp_book_scan(struct mcgen_udp_book *x, uint64_t now, bool all)
{
	for (unsigned i = 0; i < x->n; i++) {
		struct conn *c = &x->conns[i];

		for (unsigned j = 0; j < x->o->depth; j++) {
			struct slot *s = &c->slots[j];

			if (s->cooling && now >= s->cool_ns) {
				s->cooling = false;
				c->free[c->nfree++] = j;
			}
			if (!s->busy || (!all && now - s->q.sent_ns < x->t->run->timeout_ns))
				continue;
			if (all) {
				mcgen_engine_lost(x->t, &s->q, mcgen_engine_drop_reason(x->t), NULL);
				slot_release(c, s);
			} else {
				mcgen_engine_lost(x->t, &s->q, MCGEN_C_timeouts, NULL);
				slot_cool(s, now, x->t->run->timeout_ns);
			}
		}
	}
}

int
mcgen_udp_book_create(struct mcgen_thread *t, unsigned nconns, struct mcgen_udp_book **out)
{
	const struct mcgen_options *o = t->run->o;
	struct mcgen_udp_book *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (x == NULL)
		return -ENOMEM;
	x->t = t;
	x->o = o;
	x->n = nconns;
	while ((1u << x->id_bits) < o->depth)
		x->id_bits++;
	x->buf_cap = mcgen_proto_reply_max(t->run->w);
	x->buf = malloc(x->buf_cap);
	x->conns = calloc(x->n, sizeof(*x->conns));
	if (x->buf == NULL || x->conns == NULL) {
		mcgen_udp_book_destroy(&x);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < x->n; i++) {
		struct conn *c = &x->conns[i];

		c->slots = calloc(o->depth, sizeof(*c->slots));
		c->free = calloc(o->depth, sizeof(*c->free));
		if (c->slots == NULL || c->free == NULL) {
			mcgen_udp_book_destroy(&x);
			return -ENOMEM;
		}
		for (unsigned j = 0; j < o->depth; j++)
			c->free[c->nfree++] = (unsigned)(o->depth - 1 - j);
	}
	*out = x;
	return 0;
}

void
mcgen_udp_book_destroy(struct mcgen_udp_book **b)
{
	struct mcgen_udp_book *x = *b;

	if (x == NULL)
		return;
	for (unsigned i = 0; x->conns != NULL && i < x->n; i++) {
		struct conn *c = &x->conns[i];

		for (unsigned j = 0; c->slots != NULL && j < x->o->depth; j++) {
			slot_parts_free(&c->slots[j]);
			slot_acc_free(&c->slots[j]);
		}
		free(c->slots);
		free(c->free);
	}
	free(x->conns);
	free(x->buf);
	free(x);
	*b = NULL;
}
