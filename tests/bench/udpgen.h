/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_BENCH_UDPGEN_H
#define NC_BENCH_UDPGEN_H

/*
 * nc_udpgen's parts (see nc_udpgen.c for the program): the link (one DPDK port, our and the
 * server's addresses, frames built and parsed by hand), the `stats` exchange, the memcached
 * text both loads send and check (udpgen_text.c), their phases (udpgen_loop.c), and the two
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

#define UDPGEN_BURST	   32
#define UDPGEN_WINDOW_MAX  1024 /* slot index in the low bits of the 16-bit request id */
#define UDPGEN_MTU	   1500
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

/*
 * Who takes the TCP segments for our address (the TCP load, while it exists): every receive
 * loop of the link hands them over and calls tick() once a turn, so connections stay served
 * (ACKs, retransmissions) while the program idles or reads `stats`.
 */
struct udpgen_tcp_hook {
	void *arg;
	/** Take @p m, data at its TCP header, checksum checked, trimmed to the IPv4 length. */
	void (*input)(void *arg, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip);
	/** Timers, pending output, and the frames built meanwhile sent. */
	void (*tick)(void *arg);
};

/* One DPDK port with one queue pair, and the two ends of the conversation. */
struct udpgen_link {
	uint16_t port_id;
	struct rte_mempool *pool;
	struct rte_ether_addr mac, peer_mac;
	bool peer_known;
	rte_be32_t ip, peer_ip;
	rte_be16_t sport, dport;
	uint16_t ip_id;
	uint64_t hz;
	uint64_t arp_answered;
	uint64_t rx_bad;     /* frames for us with a wrong checksum or length */
	uint64_t rx_other;   /* frames neither ARP nor UDP to our port (nor TCP, with a hook) */
	uint64_t tx_dropped; /* frames the port did not take within the retry bound */
	uint64_t rx_tcp;     /* TCP segments handed to the hook */
	const struct udpgen_tcp_hook *tcp; /* NULL: TCP frames count as rx_other */
};

/* What udpgen_link_classify() found in a received frame. */
enum udpgen_rx {
	UDPGEN_RX_DONE, /* consumed (ARP, or not ours): nothing more to do */
	UDPGEN_RX_UDP,	/* a datagram for our port: the fields of struct udpgen_dgram are set */
};

/* A received memcached UDP datagram: the frame header and the text after it. */
struct udpgen_dgram {
	uint16_t id, seq, total;
	const char *text;
	uint32_t len;
};

/**
 * Allocate a frame to the server with Ethernet, IPv4 and UDP headers and the memcached frame
 * header (@p id, sequence 0 of 1) written; the text goes at *@p text (room: the MTU's).
 * Finish it with udpgen_link_finish().
 * @return the mbuf, or NULL when the pool is empty.
 */
struct rte_mbuf *udpgen_link_begin(struct udpgen_link *l, uint16_t id, char **text);

/** Set the lengths and checksums of a frame from udpgen_link_begin() holding @p len text bytes. */
void udpgen_link_finish(struct rte_mbuf *m, uint32_t len);

/**
 * Send @p n frames, retrying for up to a millisecond while the port's ring is full; frames
 * still not taken are freed and counted in tx_dropped.
 * @return how many were sent.
 */
uint16_t udpgen_link_send(struct udpgen_link *l, struct rte_mbuf **pkts, uint16_t n);

/**
 * Send an ARP request for the server's address.
 * @return 0; -ENOMEM when the pool is empty; -EAGAIN when the port did not take it.
 */
int udpgen_link_arp_request(struct udpgen_link *l);

/**
 * Look at a received frame. ARP is handled here (requests for our address answered, the
 * server's MAC learned from its requests and replies) and the frame freed; a checksum-valid
 * TCP segment from the server goes to the link's TCP hook (or is dropped without one); so is
 * anything not a checksum-valid UDP datagram to our port. Otherwise @p d describes the
 * datagram, which points into @p m: the caller frees @p m when done with it.
 * @return UDPGEN_RX_UDP with @p d filled, or UDPGEN_RX_DONE (m consumed).
 */
enum udpgen_rx udpgen_link_classify(struct udpgen_link *l, struct rte_mbuf *m,
				    struct udpgen_dgram *d);

/** One turn of the TCP hook, when there is one (timers, output). */
static inline void
udpgen_link_tick(struct udpgen_link *l)
{
	if (l->tcp != NULL)
		l->tcp->tick(l->tcp->arg);
}

/**
 * Prepend IPv4 and Ethernet headers to a TCP segment @p m (data at its TCP header, checksum
 * field 0) from us to the server and fill both checksums in software.
 * @return 0; -EINVAL (not a TCP header); -ENOSPC (no headroom). @p m is not freed.
 */
int udpgen_link_tcp_frame(struct udpgen_link *l, struct rte_mbuf *m);

/**
 * Receive for @p ms milliseconds, handling ARP and dropping every datagram (to wait for the
 * server's MAC, and to let late replies die out before a stats request).
 */
void udpgen_link_idle(struct udpgen_link *l, unsigned ms);

/**
 * Ask the server `stats` (or `stats GROUP` when @p group is not NULL) over UDP with request id
 * @p id and reassemble the numbered reply datagrams into @p buf (NUL-terminated). Retries a
 * few times, one second each.
 * @return the text's length; -ETIMEDOUT when no complete reply came; -E2BIG when it does
 * not fit @p cap; -ENOMEM when no mbuf was free.
 */
long udpgen_stats_fetch(struct udpgen_link *l, const char *group, uint16_t id, char *buf,
			size_t cap);

/**
 * Find `STAT <name> <number>` in a stats reply.
 * @return 0 with *@p v set; -ENOENT when absent or not a number.
 */
int udpgen_stats_value(const char *text, const char *name, uint64_t *v);

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
	struct udpgen_link *l;
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
int udpgen_loop_init(struct udpgen_loop *lp, const struct udpgen_config *cfg, struct udpgen_link *l,
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
struct udpgen_loop *udpgen_load_create(const struct udpgen_config *cfg, struct udpgen_link *l);

/**
 * Create the closed loop over TCP (tcpgen_load.c): a lib/tcp context on the link (its TCP
 * hook set), --conns connections opened to the server, each with --window requests
 * pipelined; a connection whose oldest request waits 2 s fails, with its requests counted
 * as timeouts. It prints a TCP line (connections, failures, the context's counters).
 * @return the load with every connection up, or NULL (said on stderr).
 */
struct udpgen_loop *tcpgen_load_create(const struct udpgen_config *cfg, struct udpgen_link *l);

#endif /* NC_BENCH_UDPGEN_H */
