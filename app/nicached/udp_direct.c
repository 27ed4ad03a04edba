/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A UDP datagram that is one plain text get (text_get_keys(): one key or several) is answered
 * without a connection struct: no parser, no copy of the datagram, the keys scanned once and
 * looked up in bulk, the reply written straight into the frame that goes out. It is the same
 * request a connection would run (the same routing, reads, counters, latency, stats detail and
 * reply writer); anything that could make a connection wait leaves the datagram to one, untouched.
 */
#include <errno.h>
#include <string.h>

#include "cluster.h"
#include "cluster_warm.h"
#include "conn_private.h"
#include "proto/text.h"
#include "proto/udp.h"
#include "worker.h"

/** One key of the get as it is routed and looked up. */
struct direct_key {
	const struct store_key *key; /* digested (the hint's, or own); key->key points into the
					datagram */
	struct store_key own;	     /* the key digested here when the prefetch did not */
	const struct item *found;    /* the index's item for it now (store_get_found()), or NULL */
	uint32_t shard;		     /* the shard it reads from */
};

/**
 * The burst prefetch's entry for key @p i (at @p key in the datagram whose payload starts at
 * @p payload), or NULL when the prefetch did not read that far (or read the datagram otherwise).
 */
static const struct udp_hint_key *
direct_hint_key(const struct udp_key_hint *hint, unsigned i, const struct proto_key_ref *key,
		const uint8_t *payload)
{
	const struct udp_hint_key *hk;

	if (hint == NULL || i >= hint->n)
		return NULL;
	hk = &hint->k[i];
	if ((const uint8_t *)key->key != payload + hk->off || key->len != hk->key.len)
		return NULL;
	return hk;
}

/**
 * The stack's next datagram as the output @p out (its iovecs @p iov[2]) for a reply written
 * straight into it: after the frame header, at most --udp-payload bytes, every value byte
 * copied. @return the datagram's start, or NULL when the backend lends none (or too small).
 */
static uint8_t *
direct_frame(struct worker *w, struct proto_out *out, struct iovec *iov)
{
	uint32_t room, cap, max = w->srv->set.udp_payload;
	uint8_t *buf = stack_dgram_buf(w->stack, &room);

	if (buf == NULL || room <= PROTO_UDP_HEADER_LEN)
		return NULL;
	cap = room - PROTO_UDP_HEADER_LEN < max ? room - PROTO_UDP_HEADER_LEN : max;
	proto_out_init(out, iov, 2, buf + PROTO_UDP_HEADER_LEN, cap, true);
	return buf;
}

/*
 * udp_get_direct() for @p n keys; always inlined, so that the usual get of one key is compiled
 * with n a constant 1 (its loops and arrays folded away).
 */
static inline __attribute__((always_inline)) bool
get_direct(struct worker *w, const struct stack_dgram *d, uint16_t request_id,
	   const struct proto_key_ref *keys, unsigned n, const struct udp_key_hint *hint)
{
	const uint8_t *payload = d->bytes + PROTO_UDP_HEADER_LEN;
	struct nc_server *srv = w->srv;
	struct direct_key dk[UDP_DIRECT_KEYS];
	struct proto_result res[UDP_DIRECT_KEYS];
	struct udp_lookup look[UDP_DIRECT_KEYS]; /* the keys the prefetch did not look up */
	struct proto_request *req = &w->udp_get_req; /* (a plain get: only key and flags vary) */
	struct iovec iov[2];
	struct proto_out out;
	unsigned nlook = 0;
	uint8_t *frame;

	if (n == 0 || n > UDP_DIRECT_KEYS ||
	    __atomic_load_n(&srv->verbosity, __ATOMIC_RELAXED) >= 2)
		return false;
	/* Every key routed first: one that would make a connection wait leaves it all to one. */
	for (unsigned i = 0; i < n; i++) {
		const struct udp_hint_key *hk = direct_hint_key(hint, i, &keys[i], payload);
		struct nc_route route;

		if (hk != NULL) { /* (its key is this one: direct_hint_key()) */
			dk[i].key = &hk->key;
			dk[i].found = worker_hint_route(w, hk, hint, &route);
		} else {
			req->key = keys[i].key; /* all worker_key_route() reads */
			req->key_len = keys[i].len;
			dk[i].key = &dk[i].own;
			dk[i].found = worker_key_route(w, req, NULL, NULL, &dk[i].own, &route);
		}
		if (route.role == NC_ROUTE_REMOTE ||
		    (route.role != NC_ROUTE_ALONE && cluster_warming(srv)))
			return false;
		dk[i].shard = route.shard;
		if (hk == NULL)
			look[nlook++] = (struct udp_lookup){dk[i].key, dk[i].shard, &dk[i].found};
	}
	if (nlook > 1) /* (one alone: exec_read looks it up as it reads) */
		udp_lookup_bulk(w, look, nlook);
	/* Each key read and its reply written at once into the frame that goes out, where it can. */
	frame = direct_frame(w, &out, iov);
	for (unsigned i = 0; i < n; i++) {
		text_get_key_req_move(req, keys, i, n);
		STAT_INC(&w->stats, requests);
		exec_read(&w->exec, srv->workers[dk[i].shard]->shard, dk[i].key, dk[i].found, req,
			  &res[i]);
		conn_detail_note(w, req, &res[i]);
		/* (A miss before the last key writes nothing; a value not copied is a second iovec.) */
		if (frame != NULL && (text_write_get(&out, req, &res[i]) != 0 || out.niov > 1))
			frame = NULL; /* (it stays the stack's, unsent) */
	}
	w->udp_gets_untimed += n; /* (timed with the batch's others: worker_udp) */
	if (frame != NULL && out.bytes > srv->set.udp_reply_max) {
		/* The whole reply is over --udp-reply-max: not sent, counted (udp_reply_send). */
		udp_reply_send(w, (struct iovec){NULL, 0}, request_id, d->via, &d->peer, true);
		return true;
	}
	if (frame != NULL) {
		proto_udp_header_write(frame, request_id, 0, 1);
		if (stack_dgram_buf_send(w->stack, PROTO_UDP_HEADER_LEN + (uint32_t)out.bytes,
					 d->via, &d->peer) == 0)
			STAT_ADD(&w->stats, bytes_written, PROTO_UDP_HEADER_LEN + out.bytes);
		return true;
	}
	/* Larger than one datagram (or no frame lent): out of the worker's output, as a connection. */
	for (unsigned i = 0; i < n; i++) {
		text_get_key_req_move(req, keys, i, n);
		if (text_write_get(&w->out, req, &res[i]) != 0) {
			/*
			 * Larger than the worker's whole output (256 KiB of lines, 512 iovecs: out
			 * of reach of 32 keys unless --udp-reply-max is raised and the values come
			 * in many chunks): not sent, counted as a reply over --udp-reply-max.
			 */
			udp_reply_send(w, (struct iovec){NULL, 0}, request_id, d->via, &d->peer,
				       true);
			return true;
		}
	}
	udp_reply_send(w, (struct iovec){NULL, 0}, request_id, d->via, &d->peer, false);
	return true;
}

/*
 * (flatten: everything it calls is inlined into it, across libraries under LTO: the read, the
 * TX frame and its headers, the reply's send; 1,811 -> 1,752 instructions a UDP GET, about
 * x0.95 of its cycles side by side.)
 */
__attribute__((flatten)) bool
udp_get_direct(struct worker *w, const struct stack_dgram *d, uint16_t request_id,
	       const struct proto_key_ref *keys, unsigned n, const struct udp_key_hint *hint)
{
	return n == 1 ? get_direct(w, d, request_id, keys, 1, hint)
		      : get_direct(w, d, request_id, keys, n, hint);
}
