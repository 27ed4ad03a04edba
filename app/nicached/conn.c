/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connections on their worker: accept (with the -c limit), receive into chunks chained as a
 * proto_input, send replies (what the socket does not take waits in a backlog, copied, and
 * goes out first), close. Parsing and executing are in conn_run.c.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"
#include "detail.h"
#include "log.h"
#include "proto/text.h"
#include "worker.h"

static const char too_many_conns[] = "ERROR Too many open connections\r\n";

/**
 * A free connection struct: recycled, or new and recorded in w->conns for stats conns; set up
 * but for its request (conn_get() clears it, conn_new_udp_get() fills it).
 */
static struct conn *
conn_take(struct worker *w)
{
	struct conn *c = w->free_conns;

	if (c != NULL) {
		w->free_conns = c->next_free;
	} else {
		if (w->nconns == w->conns_cap) {
			uint32_t cap = w->conns_cap ? w->conns_cap * 2 : 64;
			struct conn **a = realloc(w->conns, cap * sizeof(*a));

			if (a == NULL)
				return NULL;
			w->conns = a;
			w->conns_cap = cap;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return NULL;
		w->conns[w->nconns++] = c;
	}
	struct exec_value keep = c->msg.copy;

	memset(c, 0, offsetof(struct conn, tx));
	c->msg.copy = keep; /* a value buffer is worth keeping across connections */
	c->w = w;
	c->in_use = true;
	c->state = CONN_ACTIVE;
	proto_parser_init(&c->parser, w->exec.item_size_max);
	proto_input_init(&c->in);
	return c;
}

/** A free connection struct (conn_take()) with its request cleared. */
static struct conn *
conn_get(struct worker *w)
{
	struct conn *c = conn_take(w);

	if (c != NULL)
		memset(&c->req, 0, sizeof(c->req)); /* a parse error reply reads its kind */
	return c;
}

/** Drop a reference to @p ch; the last one gives it to the worker's spares (or frees it). */
static void
chunk_unref(struct worker *w, struct rx_chunk *ch)
{
	if (ch == NULL || --ch->refs > 0)
		return;
	if (ch->cap == w->rx_chunk_size && w->nspare_chunks < WORKER_SPARE_CHUNKS)
		w->spare_chunks[w->nspare_chunks++] = ch;
	else
		free(ch);
}

/** Release what holds the bytes of input segment @p i: its chunk, or the stack's lent buffer. */
static void
seg_release(struct worker *w, struct conn *c, unsigned i)
{
	chunk_unref(w, c->seg_chunk[i]);
	if (c->seg_lent[i] != NULL)
		stack_lent_release(w->stack, c->seg_lent[i]);
}

/** Release what a connection holds and put it on the free list. */
static void
conn_put(struct worker *w, struct conn *c)
{
	for (unsigned i = 0; i < c->in.nsegs; i++)
		seg_release(w, c, i);
	chunk_unref(w, c->tail);
	free(c->bcast);
	if (c->is_udp && c->tx.cap <= CONN_UDP_BUF_KEEP) {
		c->tx.head = c->tx.len = 0; /* the UDP reply buffer is kept for the next datagram */
	} else {
		free(c->tx.buf);
		c->tx = (struct tx_backlog){0};
	}
	if (c->udp_buf_cap > CONN_UDP_BUF_KEEP) {
		free(c->udp_buf);
		c->udp_buf = NULL;
		c->udp_buf_cap = 0;
	}
	free(c->bcast_text);
	free(c->dump);
	c->dump = NULL;
	detail_destroy(&c->detail_sum);
	/* A value copied for a forwarded write's reply is kept for the next user, unless large. */
	if (c->msg.copy.cap > CONN_TX_KEEP_MAX)
		exec_value_release(&c->msg.copy);
	c->in_use = false;
	c->next_free = w->free_conns;
	w->free_conns = c;
}

void
conn_accept(struct worker *w, struct stack_conn *sc)
{
	struct nc_server *srv = w->srv;
	uint32_t n = __atomic_add_fetch(&srv->curr_conns, 1, __ATOMIC_RELAXED);
	struct conn *c = NULL;

	if (n <= srv->set.conn_limit)
		c = conn_get(w);
	if (c == NULL) {
		struct iovec iov = {(void *)too_many_conns, sizeof(too_many_conns) - 1};

		__atomic_sub_fetch(&srv->curr_conns, 1, __ATOMIC_RELAXED);
		STAT_INC(&w->stats, rejected_connections);
		(void)stack_sendv(w->stack, sc, &iov, 1);
		stack_close(w->stack, sc);
		NC_LOG(w->srv, 1, "worker %u: refused a connection: %u open (-c %u)", w->id, n - 1,
		       srv->set.conn_limit);
		return;
	}
	c->sc = sc;
	c->authed = !settings_auth_on(&srv->set);
	c->id = stack_conn_id(w->stack, sc);
	stack_addr_format(stack_conn_peer(w->stack, sc), c->peer_name, sizeof(c->peer_name));
	c->last_cmd = nc_clock_now(&srv->clock);
	stack_conn_set_user(w->stack, sc, c);
	STAT_INC(&w->stats, total_connections);
	NC_LOG(w->srv, 2, "<%d new client connection from %s", c->id, c->peer_name);
}

struct conn *
conn_new_udp(struct worker *w)
{
	struct conn *c = conn_get(w);

	if (c != NULL) {
		c->is_udp = true;
		c->authed = true; /* (no UDP while authentication is on) */
	}
	return c;
}

struct conn *
conn_new_udp_get(struct worker *w, const char *key, uint32_t key_len)
{
	struct conn *c = conn_take(w);

	if (c != NULL) {
		c->is_udp = true;
		c->authed = true; /* (no UDP while authentication is on) */
		text_single_get_req(&c->req, key, key_len); /* all of req a get reads: no clear */
	}
	return c;
}

void
conn_free_udp(struct worker *w, struct conn *c)
{
	conn_put(w, c);
}

void
conn_close(struct worker *w, struct conn *c)
{
	if (c->sc != NULL) {
		NC_LOG(w->srv, 2, "<%d connection closed", c->id);
		stack_close(w->stack, c->sc);
		c->sc = NULL;
		__atomic_sub_fetch(&w->srv->curr_conns, 1, __ATOMIC_RELAXED);
	}
	if (c->acks_due > 0 || c->on_list) {
		/*
		 * Answers are still out at other workers: free it when the last comes back; or it
		 * is on the deferred list: free it when that list runs (conn_resume).
		 */
		c->state = CONN_CLOSING;
		return;
	}
	conn_put(w, c);
}

unsigned
conn_kick_idle(struct worker *w, nc_reltime_t now, unsigned timeout)
{
	unsigned kicked = 0;

	for (uint32_t i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];

		/* As memcached: not while a value arrives (a stalled request line is kicked). */
		if (!c->in_use || c->is_udp || c->sc == NULL || c->state != CONN_ACTIVE ||
		    c->on_list || conn_backlog(c) > 0 || now - c->last_cmd <= timeout ||
		    proto_parser_in_value(&c->parser))
			continue;
		NC_LOG(w->srv, 2, "<%d idle for %u s: closed", c->id, now - c->last_cmd);
		STAT_INC(&w->stats, idle_kicks);
		conn_close(w, c);
		kicked++;
	}
	return kicked;
}

void
conn_close_all(struct worker *w)
{
	for (uint32_t i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];

		if (c->in_use && !c->is_udp) {
			c->acks_due = 0;
			conn_close(w, c);
		}
	}
	for (uint32_t i = 0; i < w->nconns; i++) {
		exec_value_release(&w->conns[i]->msg.copy);
		if (w->conns[i]->in_use) {
			free(w->conns[i]->dump);
			detail_destroy(&w->conns[i]->detail_sum);
		}
		free(w->conns[i]->udp_buf);
		free(w->conns[i]->tx.buf);
		free(w->conns[i]);
	}
	free(w->conns);
	w->conns = NULL;
	w->nconns = w->conns_cap = 0;
	w->free_conns = NULL;
}

/* ---- receiving ---- */

/**
 * The chunk receiving bytes, with room; NULL when memory is short. A new chunk is 32 KB, or
 * twice the bytes the input already holds (a large value arriving) up to w->rx_chunk_max.
 */
static struct rx_chunk *
rx_tail(struct worker *w, struct conn *c)
{
	struct rx_chunk *t = c->tail;
	uint64_t held = 0;
	uint32_t cap;

	if (t != NULL && t->fill < t->cap)
		return t;
	chunk_unref(w, t);
	for (unsigned i = 0; i < c->in.nsegs; i++)
		held += c->in.seg[i].len;
	cap = held * 2 > w->rx_chunk_max ? w->rx_chunk_max : (uint32_t)(held * 2);
	if (cap < w->rx_chunk_size)
		cap = w->rx_chunk_size;
	if (cap == w->rx_chunk_size && w->nspare_chunks > 0)
		t = w->spare_chunks[--w->nspare_chunks];
	else
		t = malloc(sizeof(*t) + cap);
	c->tail = t;
	if (t == NULL)
		return NULL;
	t->refs = 1;
	t->fill = 0;
	t->cap = cap;
	return t;
}

/** Chain n new bytes at t->data + t->fill into the input. @return 0 or -ENOSPC. */
static int
rx_chain(struct conn *c, struct rx_chunk *t, uint32_t n)
{
	struct proto_input *in = &c->in;
	const uint8_t *at = t->data + t->fill;

	if (in->nsegs > 0 && c->seg_chunk[in->nsegs - 1] == t &&
	    in->seg[in->nsegs - 1].data + in->seg[in->nsegs - 1].len == at &&
	    proto_input_extend(in, n) == 0)
		return 0;
	if (proto_input_add(in, at, n) != 0)
		return -ENOSPC;
	c->seg_chunk[in->nsegs - 1] = t;
	c->seg_lent[in->nsegs - 1] = NULL;
	t->refs++;
	return 0;
}

/**
 * Borrow what the stack can lend while the input has few segments (see CONN_LEND_SEGS_MAX).
 * @return as stack_recv_lend(): runs chained (> 0), -EOPNOTSUPP or -ENOBUFS when the caller
 *         must copy instead, 0 end of stream, -EAGAIN, or the connection's error.
 */
static int
rx_lend(struct worker *w, struct conn *c)
{
	struct proto_input *in = &c->in;
	struct stack_lent l[8];
	unsigned room = CONN_LEND_SEGS_MAX > in->nsegs ? CONN_LEND_SEGS_MAX - in->nsegs : 0;
	int n;

	if (room == 0)
		return -ENOBUFS;
	n = stack_recv_lend(w->stack, c->sc, l, room < 8 ? room : 8);
	for (int i = 0; i < n; i++) {
		(void)proto_input_add(in, l[i].data, l[i].len); /* room was checked */
		c->seg_chunk[in->nsegs - 1] = NULL;
		c->seg_lent[in->nsegs - 1] = l[i].ref;
		STAT_ADD(&w->stats, bytes_read, l[i].len);
	}
	return n;
}

/** Drop input segments the parser has passed, releasing their chunks. */
void
conn_compact(struct conn *c)
{
	unsigned drop = c->in.cur;

	for (unsigned i = 0; i < drop; i++)
		seg_release(c->w, c, i);
	proto_input_compact(&c->in);
	memmove(c->seg_chunk, c->seg_chunk + drop, sizeof(c->seg_chunk[0]) * c->in.nsegs);
	memmove(c->seg_lent, c->seg_lent + drop, sizeof(c->seg_lent[0]) * c->in.nsegs);
	/*
	 * Everything parsed: the tail chunk goes back to the worker (a connection that goes
	 * quiet holds none; the next read takes a warm spare), or is freed if it grew for a
	 * large value (the next request starts with a small one).
	 */
	if (c->in.nsegs == 0 && c->tail != NULL) {
		chunk_unref(c->w, c->tail);
		c->tail = NULL;
	}
}

/**
 * Read what the stack has for @p c (a bounded number of reads, so one busy client cannot hold
 * the worker). @return 0; -EPIPE when the connection must close now.
 */
static int
conn_receive(struct worker *w, struct conn *c)
{
	for (int reads = 0; reads < 8; reads++) {
		struct rx_chunk *t;
		ssize_t n = rx_lend(w, c);

		if (n > 0)
			continue;
		if (n == 0) {
			c->read_closed = true;
			return 0;
		}
		if (n == -EAGAIN)
			return 0;
		if (n != -EOPNOTSUPP && n != -ENOBUFS)
			return -EPIPE;
		t = rx_tail(w, c);
		if (t == NULL)
			return -EPIPE;
		n = stack_recv(w->stack, c->sc, t->data + t->fill, t->cap - t->fill);
		if (n == -EAGAIN)
			return 0;
		if (n == 0) {
			c->read_closed = true;
			return 0;
		}
		if (n < 0)
			return -EPIPE;
		STAT_ADD(&w->stats, bytes_read, (uint64_t)n);
		if (rx_chain(c, t, (uint32_t)n) != 0)
			return -EPIPE; /* more segments than one request may span: a broken client */
		t->fill += (uint32_t)n;
		if (t->fill < t->cap)
			return 0; /* the socket had no more */
	}
	return 0;
}

void
conn_on_readable(struct worker *w, struct conn *c)
{
	/*
	 * While a request is out at another worker its input must not change (the owner reads
	 * the value from it): the bytes wait in the socket until the answer is back. A client
	 * that does not read its replies is not read either: not past the backlog bound, nor
	 * while requests it sent wait for their turn (reading on would pile its input up until
	 * it spans more segments than a request may).
	 */
	if (c->read_closed || c->state != CONN_ACTIVE || conn_backlog(c) > CONN_BACKLOG_MAX ||
	    c->parse_held)
		return;
	if (conn_receive(w, c) != 0) {
		conn_close(w, c);
		return;
	}
	conn_run(w, c);
}

/* ---- sending ---- */

/** Append bytes to the backlog. @return 0 or -ENOMEM. */
static int
tx_append(struct tx_backlog *tx, const void *data, uint64_t len)
{
	if (tx->head > 0 && tx->head == tx->len)
		tx->head = tx->len = 0;
	if (tx->cap - tx->len < len) {
		uint64_t need = tx->len - tx->head + len;
		uint64_t cap = tx->cap ? tx->cap : 4096;
		uint8_t *b;

		while (cap < need && cap < CONN_TX_KEEP_MAX)
			cap *= 2;
		/* Past a megabyte (a large value): what is needed, in whole megabytes, not twice. */
		if (cap < need)
			cap = (need + CONN_TX_KEEP_MAX - 1) / CONN_TX_KEEP_MAX * CONN_TX_KEEP_MAX;
		b = malloc(cap);
		if (b == NULL)
			return -ENOMEM;
		if (tx->len > tx->head)
			memcpy(b, tx->buf + tx->head, tx->len - tx->head);
		free(tx->buf);
		tx->buf = b;
		tx->cap = cap;
		tx->len -= tx->head;
		tx->head = 0;
	}
	memcpy(tx->buf + tx->len, data, len);
	tx->len += len;
	return 0;
}

/** Copy the iovecs of the output from byte @p skip on into the backlog. */
static int
tx_keep(struct tx_backlog *tx, const struct proto_out *out, uint64_t skip)
{
	for (uint32_t i = 0; i < out->niov; i++) {
		uint64_t len = out->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		if (tx_append(tx, (uint8_t *)out->iov[i].iov_base + skip, len - skip) != 0)
			return -ENOMEM;
		skip = 0;
	}
	return 0;
}

/** Send the backlog; @return 0 (maybe some left); -EPIPE when the connection failed. */
static int
tx_drain(struct worker *w, struct conn *c)
{
	struct tx_backlog *tx = &c->tx;

	while (tx->head < tx->len) {
		struct iovec iov = {tx->buf + tx->head, tx->len - tx->head};
		ssize_t n = stack_sendv(w->stack, c->sc, &iov, 1);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			return -EPIPE;
		tx->head += (uint64_t)n;
	}
	if (tx->head == tx->len) {
		tx->head = tx->len = 0;
		/* A backlog grown for a large value is not kept for the connection's life. */
		if (tx->cap > CONN_TX_KEEP_MAX) {
			free(tx->buf);
			tx->buf = NULL;
			tx->cap = 0;
		}
	}
	return 0;
}

int
conn_flush(struct worker *w, struct conn *c)
{
	struct proto_out *out = &w->out;
	uint64_t sent = 0;
	int rc = 0;

	if (out->niov == 0)
		return 0;
	if (c->is_udp && (c->udp_too_large ||
			  conn_backlog(c) + out->bytes > w->srv->set.udp_reply_max)) {
		/*
		 * Past what one UDP reply may carry: udp_finish() drops it all, so drop what came
		 * now and before instead of copying (a large value would be copied for nothing).
		 */
		c->udp_too_large = true;
		/* conn_flush() counted what it kept as written; none of it will be. */
		STAT_ADD(&w->stats, bytes_written, (uint64_t)0 - conn_backlog(c));
		c->tx.head = c->tx.len = 0;
		proto_out_reset(out);
		return 0;
	}
	STAT_ADD(&w->stats, bytes_written, out->bytes);
	if (c->is_udp || c->sc == NULL) {
		if (c->is_udp)
			rc = tx_keep(&c->tx, out, 0);
		proto_out_reset(out);
		return rc;
	}
	if (c->tx.head == c->tx.len) {
		/* At most IOV_MAX iovecs a call (a large value has more chunks). */
		for (uint32_t at = 0; at < out->niov;) {
			uint32_t k = out->niov - at > IOV_MAX ? IOV_MAX : out->niov - at;
			uint64_t want = 0;
			ssize_t n;

			for (uint32_t i = at; i < at + k; i++)
				want += out->iov[i].iov_len;
			n = stack_sendv(w->stack, c->sc, out->iov + at, k);
			if (n < 0 && n != -EAGAIN)
				rc = -EPIPE;
			else if (n > 0)
				sent += (uint64_t)n;
			if (n != (ssize_t)want)
				break;
			at += k;
		}
	}
	if (rc == 0 && sent < out->bytes) {
		rc = tx_keep(&c->tx, out, sent);
		if (rc == 0)
			rc = tx_drain(w, c);
		if (rc == 0 && c->tx.head < c->tx.len)
			stack_want_writable(w->stack, c->sc, true);
	}
	proto_out_reset(out);
	return rc;
}

uint64_t
conn_backlog(const struct conn *c)
{
	return c->tx.len - c->tx.head;
}

void
conn_on_writable(struct worker *w, struct conn *c)
{
	if (tx_drain(w, c) != 0) {
		conn_close(w, c);
		return;
	}
	if (conn_backlog(c) > 0)
		return;
	stack_want_writable(w->stack, c->sc, false);
	if (c->state == CONN_ACTIVE)
		conn_run(w, c); /* parsing may have stopped for the backlog */
	else if (c->state == CONN_DUMP)
		conn_dump_resume(w, c); /* a dump may have waited for the client to read */
}
