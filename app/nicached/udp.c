/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached over UDP: a request must fit one datagram (frame header sequence 0 of 1; any
 * other datagram is dropped and counted); its requests run like a connection's, and the
 * reply goes back as numbered datagrams of at most --udp-payload bytes after the header.
 * Replies are bounded (--udp-reply-max bytes), so a small request cannot make the
 * server flood a forged source address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_warm.h"
#include "conn_private.h"
#include "proto/peek.h"
#include "proto/text.h"
#include "proto/udp.h"
#include "worker.h"

/** Datagrams handed to the stack per call. */
#define UDP_SEND_BATCH 32
/** Bursts smaller than this are not worth a separate prefetch pass. */
#define UDP_PREFETCH_MIN 4

/** One store_prefetch_bulk() of @p m keys of @p shard; *to[j] gets what keys[j] found. */
static void
lookup_batch(const struct store_shard *shard, const struct store_key *const *keys,
	     const struct item **const *to, unsigned m)
{
	const struct item *got[INDEX_BULK_MAX];

	store_prefetch_bulk(shard, keys, m, got);
	for (unsigned j = 0; j < m; j++)
		*to[j] = got[j];
}

void
udp_lookup_bulk(struct worker *w, const struct udp_lookup *l, unsigned n)
{
	const struct store_key *keys[INDEX_BULK_MAX];
	const struct item **to[INDEX_BULK_MAX];

	for (unsigned s = 0; s < w->srv->nworkers && n > 0; s++) {
		const struct store_shard *shard = w->srv->workers[s]->shard;
		unsigned m = 0;

		for (unsigned i = 0; i < n; i++) {
			if (l[i].shard != s)
				continue;
			keys[m] = l[i].key;
			to[m++] = l[i].found;
			if (m == INDEX_BULK_MAX) {
				lookup_batch(shard, keys, to, m);
				m = 0;
			}
		}
		if (m > 0)
			lookup_batch(shard, keys, to, m);
	}
}

/* (flatten: the key scan, digest, shard and bulk lookup inlined into it; see udp_direct.c) */
__attribute__((flatten)) void
udp_prefetch(struct worker *w, const struct stack_dgram *d, unsigned n)
{
	struct udp_lookup look[WORKER_UDP_BATCH * UDP_HINT_KEYS];
	struct proto_key_ref refs[UDP_HINT_KEYS];
	/* What the requests may trust of their own shard's lookups (store_get_found()). */
	uint64_t changes = store_shard_changes(w->shard);
	unsigned nlook = 0;

	if (n > WORKER_UDP_BATCH)
		n = WORKER_UDP_BATCH;
	for (unsigned i = 0; i < n; i++) {
		w->udp_hint[i].n = 0;
		w->udp_hint[i].scanned = false;
	}
	if (n < UDP_PREFETCH_MIN)
		return;
	for (unsigned i = 0; i < n; i++) {
		const char *payload = (const char *)d[i].bytes + PROTO_UDP_HEADER_LEN;
		uint32_t len = d[i].len - PROTO_UDP_HEADER_LEN;
		struct udp_key_hint *h = &w->udp_hint[i];
		const struct proto_key_ref *keys = h->keys;
		unsigned k;

		if (d[i].len <= PROTO_UDP_HEADER_LEN || d[i].truncated)
			continue;
		/* Most are one plain get: its keys are scanned once, here (the request is told). */
		h->scanned = true;
		h->own_changes = changes;
		h->get_keys = (uint8_t)text_get_keys(payload, len, h->keys, UDP_DIRECT_KEYS);
		k = h->get_keys < UDP_HINT_KEYS ? h->get_keys : UDP_HINT_KEYS;
		if (k == 0) {
			k = proto_peek_read_keys(payload, len, refs, UDP_HINT_KEYS);
			keys = refs;
		}
		/* Each key's digest, shard and lookup are handed to its request: done once. */
		for (unsigned j = 0; j < k; j++) {
			struct udp_hint_key *hk = &h->k[j];

			store_key_init(&hk->key, &w->srv->digest_key, keys[j].key, keys[j].len);
			hk->off = (uint32_t)(keys[j].key - payload);
			hk->shard = cluster_key_shard(w->srv, &hk->key);
			hk->found = NULL;
			look[nlook++] = (struct udp_lookup){&hk->key, hk->shard, &hk->found};
		}
		h->n = (uint8_t)k;
	}
	udp_lookup_bulk(w, look, nlook);
}

/** Room for @p len request bytes in c->udp_buf (kept across reuse). @return 0 or -ENOMEM. */
static int
udp_buf_reserve(struct conn *c, uint32_t len)
{
	uint32_t cap = RTE_MAX(len, (uint32_t)CONN_UDP_BUF_MIN);
	uint8_t *b;

	if (c->udp_buf_cap >= len)
		return 0;
	b = malloc(cap);
	if (b == NULL)
		return -ENOMEM;
	free(c->udp_buf);
	c->udp_buf = b;
	c->udp_buf_cap = cap;
	return 0;
}

int
conn_udp_keep(struct conn *c)
{
	const uint8_t *from = c->udp_lent;

	if (from == NULL)
		return 0;
	if (udp_buf_reserve(c, c->udp_lent_len) != 0)
		return -ENOMEM;
	memcpy(c->udp_buf, from, c->udp_lent_len);
	if (c->udp_to != &c->udp_peer) {
		/* not the whole sockaddr_storage */
		memcpy(&c->udp_peer.ss, &c->udp_to->ss, c->udp_to->len);
		c->udp_peer.len = c->udp_to->len;
		c->udp_to = &c->udp_peer;
	}
	/* A plain get of one key points at its bytes only through its key (conn_new_udp_get()). */
	c->req.key = (const char *)c->udp_buf + ((const uint8_t *)c->req.key - from);
	if (c->key.key != NULL)
		c->key.key = (const char *)c->udp_buf + ((const uint8_t *)c->key.key - from);
	c->udp_lent = NULL;
	c->hint = NULL; /* it waits: the burst's hints are not for later */
	return 0;
}

void
conn_udp_datagram(struct worker *w, const struct stack_dgram *d, const struct udp_key_hint *hint)
{
	struct proto_udp_header h;
	const uint8_t *payload = d->bytes + PROTO_UDP_HEADER_LEN;
	struct proto_key_ref own_keys[UDP_DIRECT_KEYS];
	const struct proto_key_ref *keys;
	struct conn *c;
	unsigned n;
	uint32_t len;

	STAT_INC(&w->stats, udp_requests);
	STAT_ADD(&w->stats, bytes_read, d->len);
	if (d->truncated || proto_udp_header_parse(d->bytes, d->len, &h) != 0 ||
	    !proto_udp_header_single(&h) || d->len == PROTO_UDP_HEADER_LEN) {
		STAT_INC(&w->stats, udp_dropped);
		return;
	}
	/*
	 * Most datagrams are one plain get of one key or several (udp_prefetch() told it, or see
	 * here): it is answered without a connection. Should it need one after all, a get of one
	 * key needs no parser (the input stays empty) and runs on the datagram where it lies, its
	 * peer address too (the hint's key points there as well); the next receive reuses those
	 * bytes, so should it wait, conn_udp_keep() copies them.
	 */
	len = d->len - PROTO_UDP_HEADER_LEN;
	if (hint != NULL && hint->scanned) {
		keys = hint->keys;
		n = hint->get_keys;
	} else {
		keys = own_keys;
		n = text_get_keys((const char *)payload, len, own_keys, UDP_DIRECT_KEYS);
	}
	if (hint != NULL && hint->n == 0)
		hint = NULL;
	if (n > 0 && udp_get_direct(w, d, h.request_id, keys, n, hint))
		return;
	c = n == 1 ? conn_new_udp_get(w, keys[0].key, keys[0].len) : conn_new_udp(w);
	if (c == NULL) {
		STAT_INC(&w->stats, udp_dropped);
		return;
	}
	c->udp_via = d->via;
	c->udp_request_id = h.request_id;
	c->read_closed = true;
	c->hint = hint;
	if (n == 1) {
		c->hint_base = (const char *)payload;
		c->udp_lent = payload;
		c->udp_lent_len = len;
		c->udp_to = &d->peer;
		conn_run_request(w, c);
		return;
	}
	/* Any other request keeps its own copies, in the connection. */
	memcpy(&c->udp_peer.ss, &d->peer.ss, d->peer.len); /* not the whole sockaddr_storage */
	c->udp_peer.len = d->peer.len;
	c->udp_to = &c->udp_peer;
	if (udp_buf_reserve(c, len) != 0) {
		conn_free_udp(w, c);
		STAT_INC(&w->stats, udp_dropped);
		return;
	}
	memcpy(c->udp_buf, payload, len);
	c->hint_base = (const char *)c->udp_buf;
	proto_input_add(&c->in, c->udp_buf, len);
	c->seg_chunk[0] = NULL;
	c->seg_lent[0] = NULL;
	conn_run(w, c);
}

/**
 * A reply being cut into datagrams: the bytes an earlier flush kept in the connection's
 * backlog (a reply larger than the worker's output), then the output's iovecs, read in order
 * without copying.
 */
struct reply_cursor {
	struct iovec kept;	 /* piece 0: the backlog (may be empty) */
	const struct iovec *iov; /* pieces 1..niov: the worker's output */
	uint32_t niov;
	uint32_t piece; /* the piece being read */
	size_t off;	/* bytes of it already taken */
};

static inline const struct iovec *
cursor_piece(const struct reply_cursor *r)
{
	return r->piece == 0 ? &r->kept : &r->iov[r->piece - 1];
}

/**
 * Describe the next @p len bytes of the reply as iovecs written from @p to on (each piece
 * they touch is one iovec: the caller's room is the pieces left plus one).
 * @return the number of iovecs written.
 */
static unsigned
cursor_take(struct reply_cursor *r, size_t len, struct iovec *to)
{
	unsigned n = 0;

	while (len > 0 && r->piece <= r->niov) {
		const struct iovec *p = cursor_piece(r);
		size_t take = p->iov_len - r->off;

		if (take > len)
			take = len;
		if (take > 0)
			to[n++] = (struct iovec){(uint8_t *)p->iov_base + r->off, take};
		len -= take;
		r->off += take;
		if (r->off == p->iov_len) {
			r->piece++;
			r->off = 0;
		}
	}
	return n;
}

/**
 * Bytes of the first @p sent of the @p n datagrams of a batch whose first one is number
 * @p seq (headers included, as memcached counts what sendmsg took): all but the reply's last
 * datagram carry @p payload bytes. The stack reports how many went out, not which: the
 * socket backend sends in order and stops at the first refusal, so they are the first ones.
 */
static uint64_t
batch_bytes(uint64_t len, uint32_t payload, uint32_t seq, int sent)
{
	uint64_t bytes = 0;

	for (int i = 0; i < sent; i++) {
		uint64_t left = len - (uint64_t)(seq + (uint32_t)i) * payload;

		bytes += PROTO_UDP_HEADER_LEN + (left > payload ? payload : left);
	}
	return bytes;
}

void
udp_reply_send(struct worker *w, struct iovec kept, uint16_t request_id, uint16_t via,
	       const struct stack_addr *to, bool too_large)
{
	struct proto_out *out = &w->out;
	uint32_t payload = w->srv->set.udp_payload;
	uint64_t len = kept.iov_len + out->bytes;
	uint32_t total = proto_udp_datagrams(len, payload);
	uint64_t written = 0;
	int sent;
	struct reply_cursor cur = {.kept = kept, .iov = out->iov, .niov = out->niov};
	/* A batch's datagrams split at most one piece each and add a header each. */
	struct iovec iov[WORKER_OUT_IOV + 1 + 2 * UDP_SEND_BATCH];
	uint8_t hdr[UDP_SEND_BATCH][PROTO_UDP_HEADER_LEN];
	struct stack_dgram_out dg[UDP_SEND_BATCH];

	if (too_large || len > w->srv->set.udp_reply_max || out->niov > WORKER_OUT_IOV) {
		STAT_INC(&w->stats, udp_reply_too_large);
		total = 0;
	}
	if (total == 1 && kept.iov_len == 0 && out->iov == w->out_iov + 1) {
		/* The usual reply, one datagram: its header goes in the slot before the output. */
		proto_udp_header_write(hdr[0], request_id, 0, 1);
		w->out_iov[0] = (struct iovec){hdr[0], PROTO_UDP_HEADER_LEN};
		dg[0] = (struct stack_dgram_out){w->out_iov, 1 + out->niov, via, to};
		if (stack_send_dgrams(w->stack, dg, 1) == 1)
			written = PROTO_UDP_HEADER_LEN + len;
		total = 0;
	}
	for (uint32_t seq = 0; seq < total;) {
		uint32_t first_seq = seq;
		unsigned n = 0, used = 0;

		for (; n < UDP_SEND_BATCH && seq < total; n++, seq++) {
			uint64_t left = len - (uint64_t)seq * payload;
			unsigned first = used;

			proto_udp_header_write(hdr[n], request_id, (uint16_t)seq, (uint16_t)total);
			iov[used++] = (struct iovec){hdr[n], PROTO_UDP_HEADER_LEN};
			used += cursor_take(&cur, left > payload ? payload : left, &iov[used]);
			dg[n] = (struct stack_dgram_out){&iov[first], used - first, via, to};
		}
		sent = stack_send_dgrams(w->stack, dg, n);
		if (sent > 0)
			written += batch_bytes(len, payload, first_seq, sent);
	}
	/*
	 * conn_flush() counted the bytes it kept in the backlog as written; only what went out
	 * counts (nothing for a reply over --udp-reply-max), with the frame headers, as memcached.
	 */
	STAT_ADD(&w->stats, bytes_written, written - kept.iov_len);
	proto_out_reset(out);
}

void
udp_finish(struct worker *w, struct conn *c)
{
	struct iovec kept = {c->tx.buf + c->tx.head, conn_backlog(c)};

	udp_reply_send(w, kept, c->udp_request_id, c->udp_via, c->udp_to, c->udp_too_large);
	conn_free_udp(w, c);
}
