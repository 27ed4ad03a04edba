/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_STREAM_H
#define NC_MCGEN_STREAM_H

/*
 * What the TCP transports share (sock_tcp.c over the kernel, dpdk_tcp.c over lib/tcp): one
 * thread's connections as byte streams. Each connection (struct mcgen_stream) keeps its
 * requests in flight in a FIFO (a stream answers in order), the bytes of requests not sent
 * yet, and the bytes received that are not a whole reply yet. The book encodes requests and
 * parses replies; the transport only moves bytes:
 *
 *   mcgen_stream_issue()    due requests written into the streams that are up, round robin
 *   mcgen_stream_pending()  bytes to send; mcgen_stream_sent() when some went
 *   mcgen_stream_room()     where received bytes go; mcgen_stream_received() parses them
 *   mcgen_stream_lose()     the connection broke: every request in flight lost, stream empty
 *   mcgen_stream_drained()  the run is over: nothing in flight, or the rest lost (as timeouts,
 *                           or aborted when the run was stopped)
 *   mcgen_stream_overdue()  the oldest request waited past --timeout: the transport resets it
 *
 * Threads: a book belongs to its load thread. Errors: negative errno.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/** One connection's stream. The transport reads the fields; the book writes them. */
struct mcgen_stream {
	bool up;	     /* the transport's: requests may be written (connection open) */
	struct mcgen_req *q; /* FIFO of --depth requests in flight, the oldest at head */
	unsigned head, count;
	char *out; /* request bytes: out[out_off .. out_len) not sent yet */
	size_t out_off, out_len;
	char *in; /* received bytes not parsed yet */
	size_t in_len, need;
};

struct mcgen_stream_book;

/**
 * Create the book of thread @p t for @p n streams of the run's --depth requests each.
 * Streams start down (up false).
 * @return 0 with *@p out; -ENOMEM.
 */
int mcgen_stream_book_create(struct mcgen_thread *t, unsigned n, struct mcgen_stream_book **out);

/** Free a book (NULL allowed); sets *@p b NULL. */
void mcgen_stream_book_destroy(struct mcgen_stream_book **b);

/** Stream @p i (0 .. n - 1) of the book. */
struct mcgen_stream *mcgen_stream_at(struct mcgen_stream_book *b, unsigned i);

/**
 * Write every due request into streams that are up and have room, round robin.
 * @return whether a stream has room left (nothing was due), for the caller's sleep.
 */
bool mcgen_stream_issue(struct mcgen_stream_book *b, uint64_t now);

/** The bytes of @p s waiting to be sent: their start, their count in *@p len (0: none). */
static inline const char *
mcgen_stream_pending(const struct mcgen_stream *s, size_t *len)
{
	*len = s->out_len - s->out_off;
	return s->out + s->out_off;
}

/** @p n of the pending bytes of @p s were sent. */
void mcgen_stream_sent(struct mcgen_stream *s, size_t n);

/** Where bytes received on @p s go, with room for *@p cap of them (0: the buffer is full). */
char *mcgen_stream_room(const struct mcgen_stream_book *b, struct mcgen_stream *s, size_t *cap);

/**
 * @p n bytes were written at mcgen_stream_room(): parse every whole reply and give it to the
 * engine.
 * @return 0; -EPROTO when the bytes broke the protocol (a reply to no request, a malformed
 * or too long reply): the request they broke is counted wrong with the reason shown, and
 * the caller resets the connection (mcgen_stream_lose, MCGEN_C_aborted); -ECONNREFUSED when
 * a reply is "ERROR " and words (a server turning connections away, e.g. memcached's "ERROR
 * Too many open connections", whether or not a request is in flight): a server error, quoted
 * in the thread's err, and the caller stops as for a connection refused.
 */
int mcgen_stream_received(struct mcgen_stream_book *b, struct mcgen_stream *s, size_t n,
			  uint64_t now);

/**
 * The connection of @p s broke or is reset: every request in flight counts under @p why
 * (@p msg, when not NULL, shown once), unsent and unparsed bytes are dropped, and the
 * stream is down.
 */
void mcgen_stream_lose(struct mcgen_stream_book *b, struct mcgen_stream *s,
		       enum mcgen_counter why, const char *msg);

/**
 * The end of the run for the book's thread at @p now: true when it issues no more requests
 * and either none is in flight or the drain is over (mcgen_engine_drain_over(): --timeout
 * after the end, the run stopped, the warm-up given up); in that case every stream's requests
 * still in flight are lost (mcgen_engine_drop_reason()). The transport's loop returns on true.
 */
bool mcgen_stream_drained(struct mcgen_stream_book *b, uint64_t now);

/** Whether the oldest request of @p s waited past the run's timeout at @p now. */
bool mcgen_stream_overdue(const struct mcgen_stream_book *b, const struct mcgen_stream *s,
			  uint64_t now);

#endif /* NC_MCGEN_STREAM_H */
