/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_BENCH_UDPGEN_H
#define NC_BENCH_UDPGEN_H

/*
 * nc_udpgen's parts (see nc_udpgen.c for the program), over lib/genlink (one DPDK port, our
 * and the server's addresses, frames built and parsed by hand, the `stats` exchange): the
 * memcached text both loads send and check (udpgen_text.c), their phases (udpgen_loop.c), and the two
 * closed load loops: over UDP (udpgen_load.c) and over TCP through lib/tcp (tcpgen_load.c).
 * Everything runs on the one lcore that calls it: nothing here is thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "genlink/link.h"

#define UDPGEN_WINDOW_MAX  1024 /* slot index in the low bits of the 16-bit request id */
#define UDPGEN_UDP_PAYLOAD 1400 /* nicached's default --udp-payload: one reply datagram */

/* The options; X(field, option name, type, lowest, highest, default) for the numeric ones. */
#define UDPGEN_NUM_OPTS(X)                                      \
	X(port, "port", uint16_t, 1, 65535, 11211)              \
	X(keys, "keys", uint32_t, 1, 1e8, 10000)                \
	X(key_size, "key-size", uint32_t, 5, 250, 16)           \
	X(value_size, "value-size", uint32_t, 1, 1300, 32)      \
	X(get_ratio, "get-ratio", double, 0, 1, 0.9)            \
	X(window, "window", uint32_t, 1, UDPGEN_WINDOW_MAX, 32) \
	X(conns, "conns", uint32_t, 1, UDPGEN_CONNS_MAX, 1)     \
	X(multiget, "multiget", uint32_t, 1, 16, 1)             \
	X(duration, "duration", double, 0.1, 600, 10)           \
	X(seed, "seed", uint64_t, 0, 1e15, 1)

#define UDPGEN_CONNS_MAX 256 /* --proto tcp: connections */

struct udpgen_config {
#define UDPGEN_X_FIELD(f, name, type, ...) type f;
	UDPGEN_NUM_OPTS(UDPGEN_X_FIELD)
#undef UDPGEN_X_FIELD
	rte_be32_t src_ip, dst_ip;
	bool warm;
	bool tcp; /* --proto tcp: --conns connections, each with --window requests pipelined */
};

/* Counters of one phase of the load, printed in this order. */
#define UDPGEN_COUNTERS(X) \
	X(requests)        \
	X(replies)         \
	X(gets)            \
	X(hits)            \
	X(misses)          \
	X(sets)            \
	X(verify_failed)   \
	X(timeouts)        \
	X(late)

enum udpgen_counter {
#define UDPGEN_X_ENUM(c) UDPGEN_C_##c,
	UDPGEN_COUNTERS(UDPGEN_X_ENUM)
#undef UDPGEN_X_ENUM
	UDPGEN_C_COUNT
};

/* The memcached text of both loads: keys, values, requests, and the check of each reply. */
struct udpgen_text {
	uint32_t key_size, value_size, keys;
	uint32_t multiget; /* keys per get: key, key + 1, ... (UDP only) */
	double get_ratio;
	bool warm;			 /* every key was set: a miss is a failure */
	char set_tail[32], hit_tail[32]; /* " 0 0 <n>\r\n", " 0 <n>\r\n" */
	uint32_t set_tail_len, hit_tail_len;
	uint32_t request_max; /* bytes of the longest request (a set, or a multi-key get) */
	uint32_t hit_len;     /* bytes of a hit's reply (one key) */
};

/**
 * Set up @p x for @p cfg.
 * @return 0; -EINVAL when --key-size cannot hold --keys (said on stderr).
 */
int udpgen_text_init(struct udpgen_text *x, const struct udpgen_config *cfg);

/**
 * Write the request for @p key (`get <key>\r\n`, with --multiget N `get <key> <key + 1> ...`
 * of N keys, or the set of its value) at @p t, which has room for x->request_max bytes.
 * @return its length.
 */
uint32_t udpgen_text_request(const struct udpgen_text *x, char *t, uint32_t key, bool set);

/**
 * Check @p len bytes at @p t, the whole reply to the request for @p key (a set when @p set):
 * counts gets, hits, misses (verify_failed too when warmed), sets, or verify_failed into @p c;
 * a multi-key get counts each of its keys.
 */
void udpgen_text_check(const struct udpgen_text *x, uint32_t key, bool set, const char *t,
		       uint32_t len, uint64_t *c);

/*
 * What the UDP and the TCP closed loops share (udpgen_loop.c): the configuration, the text,
 * the random stream, the phase (warming or timed; issuing or draining), the requests in
 * flight and the timeout scans' clock. Each load embeds one as its first member and gives
 * its own turn of the loop and window refill; nc_udpgen.c drives either through it.
 */
struct udpgen_loop {
	const struct udpgen_config *cfg;
	struct genlink *l;
	struct udpgen_text x;
	uint64_t rng;
	uint64_t timeout, scan_every, next_scan; /* TSC */
	bool issuing, warming;
	bool stuck;	    /* nothing can be sent any more (TCP: every connection failed) */
	uint32_t warm_next; /* the next key to set while warming */
	uint32_t redo;	    /* warm sets given up (UDP), to be sent again */
	uint32_t inflight;
	uint32_t failed; /* connections that failed (TCP) */
	/** One turn: receive, check the replies, send what they freed. @return its TSC. */
	uint64_t (*pump)(struct udpgen_loop *lp, uint64_t *c);
	/** A phase starts: fill every free place of the window. */
	void (*fill)(struct udpgen_loop *lp, uint64_t now, uint64_t *c);
	/** Print the load's own lines after the timed phase (NULL: none). */
	void (*print)(const struct udpgen_loop *lp);
	/** Free the load (the handle is gone). */
	void (*destroy)(struct udpgen_loop *lp);
};

/**
 * Set up the shared part of a load: the text (-EINVAL when --key-size cannot hold --keys,
 * said on stderr), the random stream from --seed, and a timeout of @p timeout_ms.
 */
int udpgen_loop_init(struct udpgen_loop *lp, const struct udpgen_config *cfg, struct genlink *l,
		     unsigned timeout_ms);

/**
 * The next request of the phase: while warming, the next key not yet set; else a key drawn
 * uniformly from --keys, a set with 1 - --get-ratio odds.
 * @return false when there is none (not issuing, or every key handed out).
 */
bool udpgen_loop_pick(struct udpgen_loop *lp, uint32_t *key, bool *set);

/**
 * Set every key once, keeping the window full (UDP: a set that times out is sent again).
 * @return 0 when every key is stored; -ETIMEDOUT after @p max_s seconds; -EPIPE when a
 * connection failed. Counts into @p c.
 */
int udpgen_loop_warm(struct udpgen_loop *lp, double max_s, uint64_t c[UDPGEN_C_COUNT]);

/**
 * The timed phase: random gets (--get-ratio) and sets of uniformly drawn keys, the window
 * full, for --duration seconds; then no new requests until every one in flight is answered
 * or given up. Counts into @p c.
 * @return the phase's seconds, from the first request to the last reply or timeout.
 */
double udpgen_loop_timed(struct udpgen_loop *lp, uint64_t c[UDPGEN_C_COUNT]);

/**
 * Create the closed loop over UDP (udpgen_load.c): --window slots, each one request in flight
 * with its own request id; a request unanswered for 100 ms is given up.
 * @return the load, or NULL (out of memory, or a request or reply that does not fit one
 * datagram: said on stderr).
 */
struct udpgen_loop *udpgen_load_create(const struct udpgen_config *cfg, struct genlink *l);

/**
 * Create the closed loop over TCP (tcpgen_load.c): a lib/tcp context on the link (its TCP
 * hook set), --conns connections opened to the server, each with --window requests
 * pipelined; a connection whose oldest request waits 2 s fails, with its requests counted
 * as timeouts. It prints a TCP line (connections, failures, the context's counters).
 * @return the load with every connection up, or NULL (said on stderr).
 */
struct udpgen_loop *tcpgen_load_create(const struct udpgen_config *cfg, struct genlink *l);

#endif /* NC_BENCH_UDPGEN_H */
