/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The book of a thread's TCP streams (stream.h): requests encoded in order, replies cut from
 * the byte stream by the protocol's parser, lost requests counted. Moved out of sock_tcp.c so
 * the DPDK TCP transport shares it.
 */
#include "stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_line.h"

#define READ_ROOM 65536 /* receive buffer beyond the longest reply */

struct mcgen_stream_book {
	struct mcgen_thread *t;
	const struct mcgen_options *o;
	struct mcgen_stream *s;
	unsigned n, rr, depth;
	size_t out_cap, in_cap;
	uint32_t opaque;
};

int
mcgen_stream_book_create(struct mcgen_thread *t, unsigned n, struct mcgen_stream_book **out)
{
	struct mcgen_stream_book *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (b == NULL)
		return -ENOMEM;
	b->t = t;
	b->o = t->run->o;
	b->n = n;
	b->depth = (unsigned)b->o->depth;
	b->out_cap = mcgen_proto_request_max(t->run->w) * b->depth;
	b->in_cap = mcgen_proto_reply_max(t->run->w) + READ_ROOM;
	b->s = calloc(n ? n : 1, sizeof(*b->s));
	if (b->s == NULL) {
		mcgen_stream_book_destroy(&b);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct mcgen_stream *s = &b->s[i];

		s->q = calloc(b->depth, sizeof(*s->q));
		s->out = malloc(b->out_cap);
		s->in = malloc(b->in_cap);
		if (s->q == NULL || s->out == NULL || s->in == NULL) {
			mcgen_stream_book_destroy(&b);
			return -ENOMEM;
		}
	}
	*out = b;
	return 0;
}

void
mcgen_stream_book_destroy(struct mcgen_stream_book **bp)
{
	struct mcgen_stream_book *b = *bp;

	if (b == NULL)
		return;
	for (unsigned i = 0; b->s != NULL && i < b->n; i++) {
		free(b->s[i].q);
		free(b->s[i].out);
		free(b->s[i].in);
	}
	free(b->s);
	free(b);
	*bp = NULL;
}

struct mcgen_stream *
mcgen_stream_at(struct mcgen_stream_book *b, unsigned i)
{
	return &b->s[i];
}

bool
mcgen_stream_issue(struct mcgen_stream_book *b, uint64_t now)
{
	unsigned full = 0;

	while (full < b->n) {
		struct mcgen_stream *s = &b->s[b->rr];
		struct mcgen_req *q;
		long len;

		if (!s->up || s->count == b->depth) {
			full++;
			b->rr = (b->rr + 1) % b->n;
			continue;
		}
		q = &s->q[(s->head + s->count) % b->depth];
		if (!mcgen_engine_next(b->t, now, q))
			return true;
		q->opaque = ++b->opaque;
		if (s->out_off > 0) {
			/* Unsent bytes belong to requests in flight: at most depth - 1 of them. */
			memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
			s->out_len -= s->out_off;
			s->out_off = 0;
		}
		len = mcgen_proto_encode(b->o->protocol, b->t->run->w, q, s->out + s->out_len,
					 b->out_cap - s->out_len);
		if (len < 0) {
			mcgen_engine_lost(b->t, q, MCGEN_C_wrong, "a request does not fit the buffer");
			continue;
		}
		s->out_len += (size_t)len;
		s->count++;
		full = 0;
		b->rr = (b->rr + 1) % b->n;
	}
	return false;
}

void
mcgen_stream_sent(struct mcgen_stream *s, size_t n)
{
	s->out_off += n;
	if (s->out_off >= s->out_len)
		s->out_off = s->out_len = 0;
}

char *
mcgen_stream_room(const struct mcgen_stream_book *b, struct mcgen_stream *s, size_t *cap)
{
	*cap = b->in_cap - s->in_len;
	return s->in + s->in_len;
}

/* The oldest request of @p s is answered or lost: out of the FIFO. */
static void
pop(struct mcgen_stream_book *b, struct mcgen_stream *s)
{
	s->head = (s->head + 1) % b->depth;
	s->count--;
}

/*
 * The bytes [p, p + n) that start a reply: memcached turning the connection away, "ERROR "
 * and why (memcached's "ERROR Too many open connections" before it closes it; a reply to a
 * command mcgen sends is never an ERROR with words)? @return 1, quoted into @p err; 0 not;
 * -EAGAIN: it may be, the rest of the line has not come.
 */
static int
turned_away(const char *p, size_t n, char *err, size_t errlen)
{
	static const char word[] = "ERROR ";
	const char *eol;
	size_t len;

	if (n < sizeof(word) - 1)
		return memcmp(p, word, n) == 0 ? -EAGAIN : 0;
	if (memcmp(p, word, sizeof(word) - 1) != 0)
		return 0;
	eol = memchr(p, '\n', n);
	if (eol == NULL)
		return -EAGAIN;
	len = (size_t)(eol - p);
	if (len > 0 && p[len - 1] == '\r')
		len--;
	snprintf(err, errlen, "the server turned a connection away: '%.*s'",
		 (int)(len < 120 ? len : 120), p);
	return 1;
}

/* Parse the replies received on @p s. @return 0; -EPROTO when the bytes broke the protocol. */
static int
parse(struct mcgen_stream_book *b, struct mcgen_stream *s, uint64_t now, char *err,
      size_t errlen)
{
	size_t off = 0;
	int rc = 0;

	while (s->in_len - off >= s->need && s->in_len > off) {
		int away = turned_away(s->in + off, s->in_len - off, err, errlen);
		struct mcgen_reply r;
		struct mcgen_req *q;
		long n;

		if (away == 1) {
			rc = -ECONNREFUSED;
			break;
		}
		if (away == -EAGAIN)
			break; /* (the rest of the line first) */
		if (s->count == 0) {
			snprintf(err, errlen, "%zu bytes from the server with no request in flight",
				 s->in_len - off);
			rc = -EPROTO;
			break;
		}
		q = &s->q[s->head];
		n = mcgen_proto_parse(b->o->protocol, q, s->in + off, s->in_len - off, &r, &s->need,
				      err, errlen);
		if (n < 0) {
			rc = -EPROTO;
			break;
		}
		if (n == 0)
			break; /* need counts from off, the start after the move below */
		mcgen_engine_reply(b->t, q, &r, now);
		pop(b, s);
		off += (size_t)n;
		s->need = 0;
	}
	if (off > 0) {
		memmove(s->in, s->in + off, s->in_len - off);
		s->in_len -= off;
	}
	if (rc == 0 && s->need > b->in_cap) {
		snprintf(err, errlen, "a reply of more than %zu bytes", b->in_cap);
		rc = -EPROTO;
	}
	return rc;
}

int
mcgen_stream_received(struct mcgen_stream_book *b, struct mcgen_stream *s, size_t n,
		      uint64_t now)
{
	char err[256];
	int rc;

	s->in_len += n;
	rc = parse(b, s, now, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (rc == -ECONNREFUSED) {
		/* (What a server says of itself: its error, and the thread's.) */
		mcgen_engine_count(b->t, MCGEN_C_server_errors, 1);
		snprintf(b->t->err, sizeof(b->t->err), "%s", err);
		return rc;
	}
	/* The first request is the one the bytes broke; the caller loses the rest. */
	if (s->count > 0) {
		mcgen_engine_lost(b->t, &s->q[s->head], MCGEN_C_wrong, err);
		pop(b, s);
	} else {
		mcgen_engine_count(b->t, MCGEN_C_wrong, 1);
		mcgen_engine_say(b->t, err);
	}
	return rc;
}

void
mcgen_stream_lose(struct mcgen_stream_book *b, struct mcgen_stream *s, enum mcgen_counter why,
		  const char *msg)
{
	while (s->count > 0) {
		mcgen_engine_lost(b->t, &s->q[s->head], why, msg);
		msg = NULL;
		pop(b, s);
	}
	s->head = 0;
	s->out_off = s->out_len = s->in_len = s->need = 0;
	s->up = false;
}

bool
mcgen_stream_drained(struct mcgen_stream_book *b, uint64_t now)
{
	struct mcgen_thread *t = b->t;

	if (mcgen_engine_issuing(t, now))
		return false;
	if (t->inflight == 0)
		return true;
	if (!mcgen_engine_drain_over(t, now))
		return false;
	for (unsigned i = 0; i < b->n; i++)
		mcgen_stream_lose(b, &b->s[i], mcgen_engine_drop_reason(t), NULL);
	return true;
}

bool
mcgen_stream_overdue(const struct mcgen_stream_book *b, const struct mcgen_stream *s,
		     uint64_t now)
{
	return s->count > 0 && now - s->q[s->head].sent_ns >= b->t->run->timeout_ns;
}
