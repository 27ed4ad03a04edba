/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_PEER_H
#define NC_APP_PEER_H

/*
 * Replication links: with --replicas R > 1 each worker keeps one TCP connection (the stack's
 * active open, so the same code runs on both backends) to every other member of the cluster,
 * and ships to a key's replicas the state its write left, as meta commands:
 *   ms <key> <len> F<flags> T<ttl> E<cas> q   + the value    the item as it is now
 *   mg <key> T<ttl> q                                        touch and gat: the new expiry
 *   md <key> q                                               the key is gone
 * (key in base64 with `b` when it has bytes a text key cannot), each with the opaque
 * `Oncrepl`. The replica executes them as any client's commands, but does not ship them on;
 * E makes it keep the primary's CAS, so both return the same one. `q` keeps the successes
 * silent: whatever else comes back is a failure, counted (repl_errors).
 *
 * Asynchronous (--replication async): the write is answered after the local store; the
 * command waits in the link's queue (at most --replication-queue bytes). A full queue, or a
 * link that is down or breaks, loses the commands for that member: counted (repl_dropped, and
 * repl_link_failures for breaks), and the link reopens with a backoff (1/8 s doubling to 2 s).
 *
 * Quorum (--replication quorum): the commands go without q, and the write is answered once
 * a majority of the key's copies hold it; a write whose quorum fails is undone on every copy
 * and answered with an error (peer_quorum.c says how).
 *
 * Resync: whenever a link comes up (the member is new, back after a restart, or missed
 * commands) and whenever its queue overflowed, the worker walks its shard in slices
 * (PEER_RESYNC_CHUNKS a loop, pausing while the link's queue is over half full) and ships
 * every key the member should hold a copy of, when this node is the first of the key's other
 * holders: the primary ships its word (ms), a replica warming a returned primary only what the
 * member lacks (ms ME: add), so it never overwrites what clients wrote there since.
 *
 * Threads: everything here runs on the worker that owns the links, in its RCU read section.
 */

#include <stdbool.h>

#include "stack/stack.h"

struct worker;
struct store_key;
struct proto_request;
struct proto_input;
struct peer_set;

struct fwd_msg;

/**
 * [worker] Ship the state of key @p k that request @p req just left in this worker's shard to
 * the key's replicas, when this node is a cluster member, --replicas is above 1 and this node
 * is the key's primary. Call after the write was executed (whatever its outcome).
 * @p m: the request's message with its result in m->res (NULL: the caller does not wait; pass
 * one whenever peer_quorum() is true). In quorum mode a write that changed the key waits for
 * its replicas: then m goes back on m->from's done ring when the wait ends, with m->res
 * changed to the failure if the quorum failed; m->res may also be changed at once (a quorum
 * that cannot be asked for).
 * @return true when the request waits (answer it when m comes back), false to answer it now
 *         with m->res (or the caller's result when @p m is NULL).
 */
bool peer_replicate(struct worker *w, const struct store_key *k, const struct proto_request *req,
		    struct fwd_msg *m);

/**
 * [worker] Proxy request m->req (key @p k; a store's value in @p in) to the key's primary,
 * when it should be (see peer_proxy.c: a read of a key this node holds no copy of, a write of
 * one it is not the primary of) and the first live holder is another member. With
 * @p read_through, a get that missed here while this node warms up (cluster_warm.h): to the
 * first other holder whose link is up.
 * @return true when it was sent: m comes back on m->from's done ring with m->res (a value in
 * m->copy) once the primary answered or the request failed; false to serve it here.
 */
bool peer_proxy(struct worker *w, const struct store_key *k, struct fwd_msg *m,
		const struct proto_input *in, bool read_through);

/**
 * [any] Whether @p req is a command another member sent (a replicated write, a proxied
 * request: opaque ncrepl or ncprx): served here as it is, never replicated nor proxied on.
 */
bool peer_from_member(const struct proto_request *req);

/**
 * [worker] Whether writes may wait for their replicas (--replication quorum, R > 1, a cluster):
 * then results must outlive the RCU section (exec_write's copy) and peer_replicate() gets a
 * message.
 */
bool peer_quorum(const struct worker *w);

/**
 * [worker] Per loop: follow membership changes (links to members that left are closed), open
 * links that are due and send what waits. @return 1 when it did something, else 0.
 */
unsigned peer_service(struct worker *w);

/**
 * [worker] Handle a stack event if it names one of this worker's links.
 * @return true when it did (the event is consumed), false for a client connection's event.
 */
bool peer_event(struct worker *w, const struct stack_event *ev);

/** [worker, at stop] Close every link and free the set; NULL allowed. */
void peer_set_destroy(struct worker *w);

#endif /* NC_APP_PEER_H */
