/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CLUSTER_ETCD_H
#define NC_CLUSTER_ETCD_H

/*
 * Cluster membership kept in etcd: a non-blocking client for the control core, over etcd's v3
 * JSON gateway (HTTP/1.1, libcurl's multi interface, jansson). etcd is never on a request's
 * path: the control core steps this client from its loop, reads the member list when its
 * version changes, builds a ring (ring.h) off the data path and publishes it with RCU.
 *
 * Keys: every member of cluster C writes one key, "/nicached/C/members/<name>", <name> being
 * the member's name as ring.h takes it ("host:port"). The key is attached to a lease of
 * ttl_s seconds that the client keeps alive every ttl_s / 3 seconds; when a node dies its
 * lease expires and etcd deletes its key, so it leaves every list within about ttl_s.
 * The value is a small JSON object, {"name":"10.0.0.1:11211","weight":1,"started":<unix>};
 * readers ignore fields they do not know, so later fields can be added.
 *
 * Talking to etcd (paths of the gateway that etcd 3.4, Debian 12's, and later serve under
 * /v3/; 3.3 served /v3beta/ only and is not supported). Keys and values travel in base64:
 *  - POST /v3/lease/grant {"TTL":..}                  the lease;
 *  - POST /v3/kv/put {"key","value","lease"}          own key, with the lease;
 *  - POST /v3/kv/range {"key","range_end"}            the whole member list and its revision
 *    (range_end: the prefix with its last byte + 1, nc_etcd_prefix_end());
 *  - POST /v3/watch {"create_request":{..,"start_revision":rev+1}}  a long-lived streaming
 *    answer, one JSON object a line, each carrying the PUT and DELETE events since the range;
 *  - POST /v3/lease/keepalive {"ID":..}               every ttl_s / 3 (a streamed answer of
 *    one object: TTL 0 or absent means the lease is gone);
 *  - POST /v3/kv/deleterange, /v3/lease/revoke        a clean leave.
 * At most two requests are open at a time: the watch, and one other, in that order of need:
 * grant when there is no lease, keepalive when due, put when the own key is not known to be
 * there, range when the list is not current (start, or after the watch ended or was cancelled).
 *
 * The member list: every valid key under the prefix, sorted by name (byte order, strcmp),
 * which is also key order; every node sorts the same way, so every node builds the same ring
 * from the same keys. Skipped, each with a counted error (struct nc_etcd_stats), never a
 * crash: answers that are not JSON or not of the expected shape, keys or values that are not
 * base64, keys outside the prefix, names ring.h refuses or that differ from their key's,
 * weights not in 1..UINT32_MAX, members past NC_RING_MEMBERS_MAX, and duplicates (names of the
 * same host and port, "h" and "h:11211": the later by name is skipped, and counted each time
 * a list is made). A static list (START_FALLBACK) is sorted by name too.
 *
 * Failures: a request that gets no answer (connect error, timeout, HTTP 5xx, something that
 * is not etcd, an etcd error, a watch that ends as soon as it began) moves to the next
 * endpoint at once; when every endpoint has
 * failed in a row the client is unreachable and retries after a bounded backoff
 * (nc_etcd_backoff_ms()). While unreachable the member list is kept as it was (never
 * emptied); when etcd answers again the client keeps its lease alive, or takes a new one if
 * it expired, writes its key again, reads the whole list and watches from there. If its own
 * key disappears while it runs (deleted by hand), it writes it again.
 *
 * Time: every now_ms is CLOCK_MONOTONIC in milliseconds (nc_etcd_now_ms()).
 *
 * Threads: a client belongs to one thread, the control core; every function on it is
 * [control]. Functions without a client ([any]) are pure and may be called from anywhere.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/ring.h"

/** Longest cluster name; names are letters, digits, '.', '_' and '-'. */
#define NC_ETCD_CLUSTER_MAX 64

/** Most endpoints in nc_etcd_params.endpoints, and the longest one. */
#define NC_ETCD_ENDPOINTS_MAX 16
#define NC_ETCD_ENDPOINT_MAX  256

/** Defaults for the zero fields of struct nc_etcd_params. */
#define NC_ETCD_TTL_DEFAULT_S	   10
#define NC_ETCD_TIMEOUT_DEFAULT_MS 2000
#define NC_ETCD_BACKOFF_DEFAULT_MS 5000
#define NC_ETCD_BACKOFF_FIRST_MS   100

/** Longest answer taken from etcd (a range of NC_RING_MEMBERS_MAX members fits easily). */
#define NC_ETCD_ANSWER_MAX (16u << 20)

/** The client's counters. X(name, description) */
#define NC_ETCD_STATS(X)                                                                        \
	X(requests, "requests sent to etcd, watches included")                                  \
	X(failures, "requests without a usable answer (connect, timeout, HTTP, etcd error)")    \
	X(endpoint_switches, "moves to the next endpoint after a failure")                      \
	X(unreachable, "times every endpoint had failed in a row")                              \
	X(lease_grants, "leases granted")                                                       \
	X(lease_lost, "leases etcd no longer knew (expired while unreachable, or revoked)")     \
	X(keepalives, "lease keepalives answered")                                              \
	X(puts, "own key written")                                                              \
	X(ranges, "member lists read whole")                                                    \
	X(watches, "watch streams opened")                                                      \
	X(watch_events, "key events received on a watch")                                       \
	X(watch_ends, "watch streams that ended or were cancelled (the list is read again)")    \
	X(list_changes, "changes of the member list (version bumps)")                           \
	X(err_http, "answers with an HTTP status other than 200, or that are not etcd's")       \
	X(err_etcd, "answers carrying an etcd error")                                           \
	X(err_json, "answers, stream lines or member values that are not JSON")                 \
	X(err_type, "answers or values with a field of the wrong type, or missing")             \
	X(err_base64, "keys or values that are not base64")                                     \
	X(err_key, "keys outside the member prefix")                                            \
	X(err_name, "member names ring.h refuses, or that differ from their key's")             \
	X(err_weight, "member weights not in 1..UINT32_MAX")                                    \
	X(err_duplicate, "members naming the host and port of one before them (per list made)") \
	X(err_too_many, "members past NC_RING_MEMBERS_MAX")                                     \
	X(err_too_large, "answers longer than NC_ETCD_ANSWER_MAX")

struct nc_etcd_stats {
#define NC_ETCD_STAT_FIELD(name, desc) uint64_t name;
	NC_ETCD_STATS(NC_ETCD_STAT_FIELD)
#undef NC_ETCD_STAT_FIELD
};

/** Where the client stands. X(name, text) */
#define NC_ETCD_STATES(X)             \
	X(CONNECTING, "connecting")   \
	X(REGISTERED, "registered")   \
	X(UNREACHABLE, "unreachable") \
	X(LEAVING, "leaving")         \
	X(LEFT, "left")

enum nc_etcd_state {
#define NC_ETCD_STATE_ENUM(name, text) NC_ETCD_##name,
	NC_ETCD_STATES(NC_ETCD_STATE_ENUM)
#undef NC_ETCD_STATE_ENUM
};

/** The requests the client makes, and the gateway path of each. X(name, path) */
#define NC_ETCD_CALLS(X)                    \
	X(GRANT, "/v3/lease/grant")         \
	X(KEEPALIVE, "/v3/lease/keepalive") \
	X(PUT, "/v3/kv/put")                \
	X(RANGE, "/v3/kv/range")            \
	X(WATCH, "/v3/watch")               \
	X(DELETE, "/v3/kv/deleterange")     \
	X(REVOKE, "/v3/lease/revoke")

enum nc_etcd_call {
#define NC_ETCD_CALL_ENUM(name, path) NC_ETCD_CALL_##name,
	NC_ETCD_CALLS(NC_ETCD_CALL_ENUM)
#undef NC_ETCD_CALL_ENUM
};

/** What nc_etcd_create() does when etcd does not answer. */
enum nc_etcd_start {
	/* Wait for etcd (register and read the list, bounded by the timeouts) and fail with a
	 * clear error if no endpoint answers: the node does not start without its cluster. */
	NC_ETCD_START_REQUIRE = 0,
	/* Return at once; the member list is the static fallback list (version 1) until etcd
	 * answers, and etcd is tried in the background. */
	NC_ETCD_START_FALLBACK,
};

/** How to create a client. Zero numbers take the defaults above. */
struct nc_etcd_params {
	const char *endpoints;	 /* "http://127.0.0.1:2379,http://10.0.0.2:2379": tried in turn */
	const char *cluster;	 /* the cluster's name: [A-Za-z0-9._-], 1..NC_ETCD_CLUSTER_MAX */
	const char *name;	 /* this member, as ring.h names members ("host:port"); UTF-8 */
	uint32_t weight;	 /* this member's ketama weight; 0 means 1 */
	uint32_t ttl_s;		 /* lease TTL in seconds, at least 2; 0: NC_ETCD_TTL_DEFAULT_S */
	uint32_t timeout_ms;	 /* one request, connect included; at most ttl_s * 1000 / 3 */
	uint32_t backoff_max_ms; /* longest wait between rounds when unreachable */
	enum nc_etcd_start start;
	/* START_FALLBACK: the members to serve with until etcd answers, copied; NULL with
	 * n_fallback 0: this member alone. Checked as ring.h checks members. */
	const struct nc_ring_member *fallback;
	uint32_t n_fallback;
	int64_t started; /* unix time written in the value; 0: now */
};

struct nc_etcd;

/**
 * [control] Create a client. With NC_ETCD_START_REQUIRE, blocks until the member is
 * registered and the list read (state NC_ETCD_REGISTERED), or every endpoint has failed,
 * at most about 3 * timeout_ms per endpoint; with NC_ETCD_START_FALLBACK, returns at once
 * (state NC_ETCD_CONNECTING) and does all its work in nc_etcd_step().
 * On error a message for the operator goes to @p err (capacity @p errcap; may be NULL).
 * @return 0 with *out set to a client released with nc_etcd_destroy(); or
 *         -EINVAL: a parameter is NULL, empty, malformed or out of range (the name as
 *         nc_ring_build() would refuse it, an endpoint not http:// or https://, ...);
 *         -ENAMETOOLONG: the name is longer than NC_RING_NAME_MAX;
 *         -E2BIG: more than NC_ETCD_ENDPOINTS_MAX endpoints or NC_RING_MEMBERS_MAX fallbacks;
 *         -EEXIST: two fallback members name the same host and port;
 *         -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -EPROTO (an answer that is not etcd's or
 *         an etcd error): START_REQUIRE and no endpoint answered;
 *         -ENOMEM.
 */
int nc_etcd_create(const struct nc_etcd_params *p, struct nc_etcd **out, char *err, size_t errcap);

/**
 * [control] Free a client and set *e to NULL; NULL and *e == NULL are allowed. Does not
 * leave: the own key stays until its lease expires (as when the node dies). Call
 * nc_etcd_leave() first and step until NC_ETCD_LEFT for a clean leave.
 */
void nc_etcd_destroy(struct nc_etcd **e);

/**
 * [control] Do what is due, without blocking: move the open transfers on, take their answers,
 * start the next request, parse what the watch received. Call it every loop iteration (it
 * costs a few system calls when nothing happens), or at least every few milliseconds.
 * @return 0; -ENOMEM (the client stays usable; the list is kept).
 */
int nc_etcd_step(struct nc_etcd *e, uint64_t now_ms);

/**
 * [control] Wait until a transfer can move or something is due, at most @p max_ms; returns
 * at once when a step has work now. For loops with nothing else to do (nc_etcd_create()
 * with START_REQUIRE, tests); the control core just steps.
 */
void nc_etcd_wait(struct nc_etcd *e, uint32_t max_ms);

/**
 * [control] The current member list, sorted by name, ready for nc_ring_build(): etcd's list
 * once read (nc_etcd_create() with START_REQUIRE returns with it), the fallback list before
 * that with START_FALLBACK. *n gets its length: 0 only if etcd lists no valid member.
 * *version (may be NULL) gets a number that changes whenever the list (names, weights or
 * order) changes: rebuild the ring when it differs from the one the ring was built from.
 * The array and its names stay valid until the next nc_etcd_step(), nc_etcd_feed() or
 * nc_etcd_destroy().
 */
const struct nc_ring_member *nc_etcd_members(const struct nc_etcd *e, uint32_t *n,
					     uint64_t *version);

/**
 * [control] A digest of the current member list (FNV-1a 64 over names and weights, in
 * order): nodes whose lists are the same have the same digest, whatever their versions
 * (a version counts this node's changes and differs from node to node). For stats and for
 * checking that a cluster agrees; 0 for an empty list.
 */
uint64_t nc_etcd_members_digest(const struct nc_etcd *e);

/**
 * [control] Where the client stands; *since_ms (may be NULL) gets when it got there (for
 * NC_ETCD_UNREACHABLE: when the first round of failures ended).
 */
enum nc_etcd_state nc_etcd_state(const struct nc_etcd *e, uint64_t *since_ms);

/** [any] "connecting", "registered", "unreachable", "leaving", "left"; "?" if unknown. */
const char *nc_etcd_state_name(enum nc_etcd_state s);

/** [control] The last failure, for an operator: "http://h:2379/v3/kv/put: ..."; "" if none. */
const char *nc_etcd_last_error(const struct nc_etcd *e);

/** [control] Copy the client's counters to @p out. */
void nc_etcd_stats(const struct nc_etcd *e, struct nc_etcd_stats *out);

/**
 * [control] Leave the cluster cleanly: stop watching and keeping the lease alive, delete the
 * own key and revoke the lease, in later nc_etcd_step() calls; the state goes LEAVING, then
 * LEFT once done, or once every endpoint has failed (the lease then expires by itself). The
 * member list is no longer updated. Calling it again does nothing.
 * @return 0.
 */
int nc_etcd_leave(struct nc_etcd *e);

/* ---- Pieces the client is made of, public for tests and tools ---- */

/** [any] CLOCK_MONOTONIC in milliseconds. */
uint64_t nc_etcd_now_ms(void);

/**
 * [control] Hand the client the answer to a request of kind @p call: HTTP status @p status
 * and body @p body of @p len bytes (for NC_ETCD_CALL_WATCH: whole lines of the stream). The
 * transport calls this for every answer; tests and replay tools call it to drive a client
 * without a server (create it with START_FALLBACK and do not step it).
 * @return 0 if the answer was taken; -EBADMSG not JSON; -EPROTO not of the expected shape;
 *         -ENOENT the lease is unknown to etcd (a new one will be granted); -EIO an HTTP or
 *         etcd error; -ECANCELED etcd cancelled the watch (the list is read again); -ENOMEM.
 *         Errors are counted in the stats as well; members an answer lists that are not
 *         valid are skipped and counted without making it an error.
 */
int nc_etcd_feed(struct nc_etcd *e, enum nc_etcd_call call, long status, const char *body,
		 size_t len, uint64_t now_ms);

/**
 * [any] Standard base64 with padding of @p len bytes into @p dst, NUL-terminated.
 * @return the encoded length; -ENOSPC if @p cap is smaller than 4 * ceil(len / 3) + 1.
 */
int nc_etcd_base64_encode(const void *src, size_t len, char *dst, size_t cap);

/**
 * [any] Decode standard base64 (padding required, no white space) into @p dst; like Go's
 * decoder, which etcd uses, it does not insist that the bits padding leaves over be 0.
 * @return the decoded length; -EINVAL not base64; -ENOSPC it does not fit in @p cap.
 */
int nc_etcd_base64_decode(const char *src, size_t len, void *dst, size_t cap);

/**
 * [any] The range_end that makes a range or watch cover every key starting with @p prefix:
 * the prefix with trailing 0xff bytes dropped and its last byte + 1; a single 0 byte ("every
 * key") when the prefix is empty or all 0xff.
 * @return its length; -ENOSPC if it does not fit in @p cap.
 */
int nc_etcd_prefix_end(const void *prefix, size_t len, void *out, size_t cap);

/** One member's value, as read. */
struct nc_etcd_member {
	char name[NC_RING_NAME_MAX + 1];
	uint32_t weight;
	int64_t started; /* 0 if absent */
};

/**
 * [any] The value of a member's key: {"name":..,"weight":..,"started":..}, compact JSON.
 * @return its length; -EINVAL name not UTF-8 or weight 0; -ENOSPC too small; -ENOMEM.
 */
int nc_etcd_member_encode(const struct nc_etcd_member *m, char *buf, size_t cap);

/**
 * [any] Read a member's value: a JSON object with "name" (a string ring.h accepts as a
 * member name), "weight" (an integer 1..UINT32_MAX; absent: 1) and "started" (an integer;
 * absent: 0); other fields are ignored.
 * @return 0; -EBADMSG not JSON (or a name with a \u0000, which jansson refuses); -EPROTO
 *         not an object, no name, or a field of the wrong type; -EINVAL, -ENAMETOOLONG a
 *         name ring.h refuses; -ERANGE a weight out of range.
 */
int nc_etcd_member_decode(const char *json, size_t len, struct nc_etcd_member *out);

/**
 * [any] How long to wait before round @p attempt (1, 2, ...) of a client that cannot reach
 * etcd: NC_ETCD_BACKOFF_FIRST_MS doubled each round up to @p max_ms, of which the upper half
 * is scaled by @p rnd (a random number: nodes that lost etcd together do not return in step).
 * Always in [min(first, max) / 2, max], and 0 for attempt 0.
 */
uint32_t nc_etcd_backoff_ms(uint32_t attempt, uint32_t max_ms, uint32_t rnd);

#endif /* NC_CLUSTER_ETCD_H */
