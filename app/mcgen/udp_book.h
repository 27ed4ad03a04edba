/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_UDP_BOOK_H
#define NC_MCGEN_UDP_BOOK_H

/*
 * What the UDP transports share (sock_udp.c over the kernel, dpdk_udp.c over DPDK): one
 * thread's book of requests in flight. Each connection (a socket, or a source port) has
 * --depth slots; a request goes out in one datagram behind memcached's 8-byte frame header
 * (request id, sequence 0, total 1, reserved), and its id names the slot and a generation, so
 * a reply to a request already given up is told apart ("late"); a slot whose request timed
 * out rests for another --timeout before it is used again, so that reply, if it comes, cannot
 * pass for the next request's (the generation has few bits at a large --depth: 4 at 4096; a
 * closed loop has fewer requests in flight meanwhile). A reply of several datagrams
 * is put back together in sequence order, and a request of several commands (a multiget)
 * answered by several messages has them joined, before it is parsed; it must be exactly one
 * reply.
 *
 * The transport owns the datagrams: it gives the book room for each request
 * (struct mcgen_udp_io) and hands it every datagram received, its frame header parsed.
 *
 * Threads: a book belongs to its load thread. Errors: negative errno.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/** Bytes of memcached's UDP frame header. */
#define MCGEN_UDP_FRAME_HDR 8

struct mcgen_udp_book;

/** How the book sends a request: the transport's datagrams. */
struct mcgen_udp_io {
	void *arg;
	/**
	 * Room for a request to connection @p conn whose frame header carries @p id (the
	 * transport writes that header): where its text goes, with room for *@p cap bytes.
	 * @return the place, or NULL when nothing can be sent now (the request is then lost as
	 * aborted and issuing stops for this turn).
	 */
	char *(*begin)(void *arg, unsigned conn, uint16_t id, size_t *cap);
	/** Send the datagram begun, with @p len bytes of text; 0: drop it (it did not fit). */
	void (*finish)(void *arg, unsigned conn, size_t len);
};

/**
 * Create the book of thread @p t for @p nconns connections of the run's --depth slots each.
 * @return 0 with *@p out; -ENOMEM.
 */
int mcgen_udp_book_create(struct mcgen_thread *t, unsigned nconns, struct mcgen_udp_book **out);

/** Free a book (NULL allowed); sets *@p b NULL. */
void mcgen_udp_book_destroy(struct mcgen_udp_book **b);

/**
 * Send every due request over connections with free slots, round robin, through @p io.
 * @return whether a connection has room left (nothing was due), for the caller's sleep.
 */
bool mcgen_udp_book_issue(struct mcgen_udp_book *b, uint64_t now, const struct mcgen_udp_io *io);

/**
 * A datagram arrived on connection @p conn: frame header @p id, @p seq, @p total, then
 * @p len bytes of text. A reply completed is parsed and given to the engine; a datagram
 * that answers nothing in flight counts as late (an empty one of total 0, memcached's answer
 * to a multiget's missing key, is ignored).
 */
void mcgen_udp_book_input(struct mcgen_udp_book *b, unsigned conn, uint16_t id, uint16_t seq,
			  uint16_t total, const char *text, size_t len, uint64_t now);

/**
 * Give up the requests in flight longer than the run's timeout, counted as timeouts; @p all:
 * every one, counted as mcgen_engine_drop_reason() says (the drain is over).
 */
void mcgen_udp_book_scan(struct mcgen_udp_book *b, uint64_t now, bool all);

/** Write a request's frame header (@p id, sequence 0 of 1) at @p p. */
void mcgen_udp_frame_write(void *p, uint16_t id);

/**
 * Read the frame header of a datagram of @p n bytes at @p p.
 * @return 0; -EINVAL when it is shorter than a header.
 */
int mcgen_udp_frame_read(const void *p, size_t n, uint16_t *id, uint16_t *seq, uint16_t *total);

#endif /* NC_MCGEN_UDP_BOOK_H */
