/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_CONN_PRIVATE_H
#define NC_APP_CONN_PRIVATE_H

/*
 * Between the connection files (conn.c, conn_run.c, udp.c, udp_direct.c); not for the rest of
 * the app.
 */

#include "worker.h"

struct nc_route;

/** Parse and execute buffered requests until the input runs dry or the connection waits. */
void conn_run(struct worker *w, struct conn *c);

/**
 * Execute c->req, a request made without the parser (an active connection), then go on as
 * conn_run(); when it has to wait, its output so far is kept as conn_resume() does.
 */
void conn_run_request(struct worker *w, struct conn *c);

/**
 * Send what w->out holds for @p c (UDP: keep it for the datagrams); what the stack does not
 * take is copied to the connection's backlog.
 * @return 0; -EPIPE when the connection failed (close it); -ENOMEM.
 */
int conn_flush(struct worker *w, struct conn *c);

/**
 * Append raw reply bytes (any length: flushed as the output fills).
 * @return 0; -EPIPE when the connection failed.
 */
int conn_reply_raw(struct worker *w, struct conn *c, const void *data, uint32_t len);

/** Append "<line>\r\n". @return as conn_reply_raw(). */
int conn_reply_line(struct worker *w, struct conn *c, const char *line);

/** Post one message of @p kind per other worker; the connection waits for all answers. */
bool conn_broadcast(struct worker *w, struct conn *c, enum fwd_kind kind, int64_t delay);

/** Close a stream connection (or a finished UDP context); deferred while answers are out. */
void conn_close(struct worker *w, struct conn *c);

/** Drop input segments the parser has passed (only when no request points into them). */
void conn_compact(struct conn *c);

/** Reply bytes waiting in the backlog. */
uint64_t conn_backlog(const struct conn *c);

/** A connection struct for one UDP datagram, and its release. NULL: out of memory. */
struct conn *conn_new_udp(struct worker *w);
void conn_free_udp(struct worker *w, struct conn *c);

/**
 * conn_new_udp() for a datagram that is one plain get of one key, key[0..key_len)
 * (text_get_keys() found it): its request comes filled as text_parse() would fill it
 * (text_single_get_req()). NULL: out of memory.
 */
struct conn *conn_new_udp_get(struct worker *w, const char *key, uint32_t key_len);

/**
 * Send a finished UDP context's reply (its backlog, then the worker's output, not copied) as
 * numbered datagrams; then reset the output and free the context. bytes_written counts the
 * datagrams the stack took, frame headers included (as memcached); a reply over
 * --udp-reply-max is not sent and counts nothing.
 */
void udp_finish(struct worker *w, struct conn *c);

/**
 * Send a UDP reply: @p kept (bytes an earlier flush held back; may be empty), then the
 * worker's output, not copied, as numbered datagrams of request @p request_id to @p to (via
 * the stack's address @p via); nothing when @p too_large (the reply passed --udp-reply-max
 * while it was made). Resets the output. bytes_written counts the datagrams the stack took,
 * frame headers included (as memcached), less @p kept's length (counted when it was kept); a
 * reply over --udp-reply-max is not sent and counts udp_reply_too_large.
 */
void udp_reply_send(struct worker *w, struct iovec kept, uint16_t request_id, uint16_t via,
		    const struct stack_addr *to, bool too_large);

/** A key to look up in bulk (udp_lookup_bulk()). */
struct udp_lookup {
	const struct store_key *key;
	uint32_t shard;		   /* the shard it lives in */
	const struct item **found; /* where what the index holds for it goes (NULL: nothing) */
};

/**
 * [worker, read-side] Look up @p n keys, shard by shard, INDEX_BULK_MAX at a time
 * (store_prefetch_bulk(): buckets and items prefetched, their misses overlapping); each
 * *l[i].found gets what the index held for l[i].key, a hint for store_get_found() within this
 * read-side critical section.
 */
void udp_lookup_bulk(struct worker *w, const struct udp_lookup *l, unsigned n);

/**
 * [worker, read-side] A datagram @p d that is one plain text get of @p keys[0..n) (text_get_keys()
 * found them), answered without a connection: each key routed (worker_hint_route() from @p hint,
 * the burst prefetch's entry for the datagram, where it has the key, else worker_key_route(); two
 * or more of those are looked up in bulk), read (exec_read()) as the worker's one plain-get
 * request (w->udp_get_req: not re-entrant), counted (requests, stats detail, latency) and written
 * by the text writer as a connection's request would be; the reply goes straight into the stack's
 * next datagram when it fits one (stack_dgram_buf), else out of the worker's output
 * (udp_reply_send()). Does nothing and leaves the datagram to a connection when request logging is
 * on (-vv), @p n is 0 or above UDP_DIRECT_KEYS, or a key's request would wait: another member's
 * key (proxied) or a cluster warming up (a miss asks another copy). Values are read under the
 * caller's read-side critical section.
 * @return true when answered (or dropped as a connection would drop it).
 */
bool udp_get_direct(struct worker *w, const struct stack_dgram *d, uint16_t request_id,
		    const struct proto_key_ref *keys, unsigned n, const struct udp_key_hint *hint);

/**
 * [worker, read-side] Route the key of @p hk, the burst prefetch's entry for it in @p hint
 * (digested, routed to its shard and looked up already), into *@p route: hk->key is the store
 * key as it is (it points at the key in the received datagram). @p hk and @p hint are valid
 * until the worker's next receive or quiescent state (struct udp_key_hint).
 * @return the item the prefetch found for it when that may still be trusted (store_get_found),
 * else NULL (look it up).
 */
const struct item *worker_hint_route(struct worker *w, const struct udp_hint_key *hk,
				     const struct udp_key_hint *hint, struct nc_route *route);

/**
 * [worker, read-side] The store key of @p req (its key digested, or taken from @p hk, the
 * burst prefetch's entry for it in @p hint) into *@p key, and where it lives into *@p route.
 * @return the item the prefetch found for it when that may still be trusted (store_get_found),
 * else NULL (look it up).
 */
const struct item *worker_key_route(struct worker *w, const struct proto_request *req,
				    const struct udp_hint_key *hk, const struct udp_key_hint *hint,
				    struct store_key *key, struct nc_route *route);

/** What conn_auth_parse() leaves the caller to do. */
enum conn_auth_gate {
	CONN_AUTH_PARSE, /* go on with *r (and *err, c->req) as proto_parse() left them */
	CONN_AUTH_AGAIN, /* something was answered (or the connection closes): loop again */
	CONN_AUTH_MORE,	 /* more bytes are needed */
};

/**
 * [worker] conn_run()'s proto_parse() for a connection that has not logged in (authentication
 * on, c->authed false). A text connection's input is read here, never parsed as requests:
 * memcached's text token (auth.h), any other command answered as memcached -Y does
 * ("CLIENT_ERROR unauthenticated"). A binary connection is parsed; only the SASL requests and
 * VERSION go on (CONN_AUTH_PARSE), anything else (a request the parser refused too: memcached
 * checks at the header) gets memcached's "Auth failure." (0x20) and the connection closes
 * after it. Closing parse outcomes (bad lengths, bad magic) go on as they are.
 */
enum conn_auth_gate conn_auth_parse(struct worker *w, struct conn *c, enum proto_parse *r,
				    enum proto_error *err);

/**
 * [worker] Answer a SASL request (c->req, PROTO_OP_SASL_*) as memcached -S does; "Unknown
 * command" when authentication is off. @return false when the connection failed.
 */
bool conn_auth_sasl(struct worker *w, struct conn *c);

/** Longest text token read whole; a longer one is dropped as it arrives, and fails. */
#define CONN_AUTH_TOKEN_MAX 1024
/** Longest command line before the token: memcached closes past it without a "\n". */
#define CONN_AUTH_LINE_MAX 2048

/** A connection's UDP request buffer: at least this big, and kept on reuse up to KEEP. */
#define CONN_UDP_BUF_MIN 2048
#define CONN_UDP_BUF_KEEP 65536

/** Most reply bytes a connection may have waiting before it stops reading requests. */
#define CONN_BACKLOG_MAX (4u << 20)

/*
 * Input segments up to which received bytes are borrowed from the stack (stack_recv_lend)
 * rather than copied: requests of a few segments are parsed where they arrived, while a long
 * value arriving in many segments is copied into chunks that hold it in few. The rest of
 * PROTO_INPUT_SEGS_MAX must hold the largest item in chunks after the lent ones (rx_tail()
 * starts a chunk at 32 KB and sizes the next at twice what the input holds, up to 1/32 of -I:
 * 33 full ones with a straddling line, plus at most 6 growing ones before them): at 32 lent,
 * a 1 MB value arriving behind them ran out of segments and the connection was reset.
 */
#define CONN_LEND_SEGS_MAX 16
_Static_assert(CONN_LEND_SEGS_MAX + 32 + 2 + 6 <= PROTO_INPUT_SEGS_MAX,
	       "lent segments leave no room for the largest item in chunks");

/** Largest send backlog a connection keeps allocated once it is drained. */
#define CONN_TX_KEEP_MAX (1u << 20)

/** Attempts at a write that waits for memory before answering "out of memory". */
#define CONN_RETRY_MAX 100000u

#endif /* NC_APP_CONN_PRIVATE_H */
