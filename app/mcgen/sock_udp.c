/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel UDP transport: each connection is a connected UDP socket with --depth slots.
 * A request goes out in one datagram behind memcached's 8-byte frame header (request id,
 * sequence 0, total 1, reserved); the id names the slot and a generation, so a reply to a
 * request already given up is told apart ("late"). A reply of several datagrams is put back
 * together in sequence order before it is parsed; it must be exactly one reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "sock.h"
#include "transport.h"

#define EVENTS_MAX 64
#define FRAME_HDR  8
#define DGRAM_MAX  65536
#define PARTS_MAX  1024 /* most datagrams of one reply */

struct slot {
	struct mcgen_req q;
	bool busy;
	uint16_t gen;
	uint16_t parts_total, parts_got;
	char **parts; /* a message of several datagrams: each one's payload, by sequence */
	uint32_t *part_len;
	char *acc; /* messages of one reply so far (a multiget's parts) */
	size_t acc_len;
};

struct conn {
	int fd;
	struct slot *slots;
	unsigned *free; /* stack of free slot numbers */
	unsigned nfree;
};

struct udp {
	struct mcgen_thread *t;
	const struct mcgen_options *o;
	int epfd;
	struct conn *conns;
	unsigned n, rr, id_bits;
	char *buf;	 /* a request, or a reply put together */
	size_t buf_cap;
	char dgram[DGRAM_MAX];
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

static void
slot_release(struct conn *c, struct slot *s)
{
	slot_parts_free(s);
	slot_acc_free(s);
	s->busy = false;
	s->gen++;
	c->free[c->nfree++] = (unsigned)(s - c->slots);
}

static uint16_t
slot_id(const struct udp *x, const struct conn *c, const struct slot *s)
{
	unsigned mask = (1u << (16 - x->id_bits)) - 1;

	return (uint16_t)((unsigned)(s->gen & mask) << x->id_bits | (unsigned)(s - c->slots));
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Issue every due request on sockets with free slots, round robin. @return any room left. */
static bool
issue(struct udp *x, uint64_t now)
{
	unsigned full = 0;

	while (full < x->n) {
		struct conn *c = &x->conns[x->rr];
		struct slot *s;
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
		put16((unsigned char *)x->buf, s->q.opaque);
		memset(x->buf + 2, 0, 6);
		put16((unsigned char *)x->buf + 4, 1);
		len = mcgen_proto_encode(x->o->protocol, x->t->run->w, &s->q, x->buf + FRAME_HDR,
					 x->buf_cap - FRAME_HDR);
		if (len < 0 || len + FRAME_HDR > DGRAM_MAX) {
			mcgen_engine_lost(x->t, &s->q, MCGEN_C_wrong,
					  "a request does not fit one datagram");
			slot_release(c, s);
			continue;
		}
		/* A datagram the kernel refuses (buffer full) is lost: it times out. */
		(void)send(c->fd, x->buf, (size_t)len + FRAME_HDR, 0);
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
message(struct udp *x, struct conn *c, struct slot *s, const char *p, size_t len, uint64_t now)
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
part(struct udp *x, struct conn *c, struct slot *s, unsigned seq, unsigned total, const char *p,
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

static void
conn_read(struct udp *x, struct conn *c, uint64_t now)
{
	for (;;) {
		ssize_t n = recv(c->fd, x->dgram, sizeof(x->dgram), 0);
		const unsigned char *h = (const unsigned char *)x->dgram;
		unsigned id, seq, total, slot;
		struct slot *s;

		if (n < 0)
			return; /* EAGAIN, or an ICMP error: requests time out */
		if (n == FRAME_HDR)
			continue; /* memcached sends an empty message (total 0) per multiget miss */
		if (n < FRAME_HDR) {
			mcgen_engine_count(x->t, MCGEN_C_late, 1);
			continue;
		}
		id = get16(h);
		seq = get16(h + 2);
		total = get16(h + 4);
		slot = id & ((1u << x->id_bits) - 1);
		s = slot < x->o->depth ? &c->slots[slot] : NULL;
		if (s == NULL || !s->busy || slot_id(x, c, s) != id || total == 0) {
			mcgen_engine_count(x->t, MCGEN_C_late, 1);
			continue;
		}
		if (total == 1 && seq == 0)
			message(x, c, s, x->dgram + FRAME_HDR, (size_t)n - FRAME_HDR, now);
		else
			part(x, c, s, seq, total, x->dgram + FRAME_HDR, (size_t)n - FRAME_HDR, now);
	}
}

static void
scan_timeouts(struct udp *x, uint64_t now, bool all)
{
	for (unsigned i = 0; i < x->n; i++) {
		struct conn *c = &x->conns[i];

		for (unsigned j = 0; j < x->o->depth; j++) {
			struct slot *s = &c->slots[j];

			if (s->busy && (all || now - s->q.sent_ns >= x->t->run->timeout_ns)) {
				mcgen_engine_lost(x->t, &s->q, MCGEN_C_timeouts, NULL);
				slot_release(c, s);
			}
		}
	}
}

static int
loop(struct udp *x)
{
	struct epoll_event ev[EVENTS_MAX];
	uint64_t now = mcgen_now_ns(), next_scan = now + MCGEN_SCAN_NS;
	struct mcgen_thread *t = x->t;

	for (;;) {
		bool room;
		int n;

		mcgen_engine_tick(t, now);
		room = issue(x, now);
		if (!mcgen_engine_issuing(t, now) && t->inflight == 0)
			return 0;
		if (!mcgen_engine_issuing(t, now) && now >= t->run->drain_ns) {
			scan_timeouts(x, now, true);
			return 0;
		}
		n = mcgen_sock_wait(x->epfd, ev, EVENTS_MAX, now, mcgen_sock_until(t, now, room));
		if (n < 0) {
			snprintf(t->err, sizeof(t->err), "epoll_wait: %s", strerror(-n));
			return n;
		}
		now = mcgen_now_ns();
		for (int i = 0; i < n; i++)
			conn_read(x, ev[i].data.ptr, now);
		if (now >= next_scan) {
			next_scan = now + MCGEN_SCAN_NS;
			scan_timeouts(x, now, false);
		}
	}
}

static void
udp_free(struct udp *x)
{
	for (unsigned i = 0; x->conns != NULL && i < x->n; i++) {
		struct conn *c = &x->conns[i];

		if (c->fd >= 0)
			close(c->fd);
		for (unsigned j = 0; c->slots != NULL && j < x->o->depth; j++)
		{
			slot_parts_free(&c->slots[j]);
			slot_acc_free(&c->slots[j]);
		}
		free(c->slots);
		free(c->free);
	}
	free(x->conns);
	free(x->buf);
	if (x->epfd >= 0)
		close(x->epfd);
	free(x);
}

int
mcgen_udp_run(struct mcgen_thread *t)
{
	const struct mcgen_options *o = t->run->o;
	struct udp *x = calloc(1, sizeof(*x));
	size_t req = mcgen_proto_request_max(t->run->w) + FRAME_HDR;
	size_t rep = mcgen_proto_reply_max(t->run->w);
	int rc = 0;

	if (x == NULL) {
		snprintf(t->err, sizeof(t->err), "out of memory");
		mcgen_engine_ready(t);
		return -ENOMEM;
	}
	x->t = t;
	x->o = o;
	x->n = t->nconns;
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	while ((1u << x->id_bits) < o->depth)
		x->id_bits++;
	x->buf_cap = req > rep ? req : rep;
	x->buf = malloc(x->buf_cap);
	x->conns = calloc(x->n, sizeof(*x->conns));
	if (x->epfd < 0 || x->buf == NULL || x->conns == NULL) {
		snprintf(t->err, sizeof(t->err), "out of memory or descriptors");
		mcgen_engine_ready(t);
		udp_free(x);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < x->n; i++) {
		struct conn *c = &x->conns[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		c->fd = -1;
		c->slots = calloc(o->depth, sizeof(*c->slots));
		c->free = calloc(o->depth, sizeof(*c->free));
		if (c->slots == NULL || c->free == NULL) {
			snprintf(t->err, sizeof(t->err), "out of memory for %u sockets", x->n);
			rc = -ENOMEM;
			break;
		}
		for (unsigned j = 0; j < o->depth; j++)
			c->free[c->nfree++] = (unsigned)(o->depth - 1 - j);
		c->fd = mcgen_sock_open(t->run, SOCK_DGRAM, t->err, sizeof(t->err));
		if (c->fd < 0) {
			rc = c->fd;
			break;
		}
		if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			rc = -errno;
			snprintf(t->err, sizeof(t->err), "epoll_ctl: %s", strerror(errno));
			break;
		}
	}
	mcgen_engine_ready(t);
	if (rc == 0)
		rc = loop(x);
	udp_free(x);
	return rc;
}
