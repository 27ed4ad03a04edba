/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_BENCH_UDPGEN_H
#define NC_BENCH_UDPGEN_H

/*
 * nc_udpgen's parts (see nc_udpgen.c for the program): the link (one DPDK port, our and the
 * server's addresses, frames built and parsed by hand), the `stats` exchange, and the closed
 * load loop. Everything runs on the one lcore that calls it: nothing here is thread-safe.
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
	X(duration, "duration", double, 0.1, 600, 10)           \
	X(seed, "seed", uint64_t, 0, 1e15, 1)

struct udpgen_config {
#define UDPGEN_X_FIELD(f, name, type, ...) type f;
	UDPGEN_NUM_OPTS(UDPGEN_X_FIELD)
#undef UDPGEN_X_FIELD
	rte_be32_t src_ip, dst_ip;
	bool warm;
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
	uint64_t rx_other;   /* frames neither ARP nor UDP to our port */
	uint64_t tx_dropped; /* frames the port did not take within the retry bound */
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
 * server's MAC learned from its requests and replies) and the frame freed; so is anything
 * not a checksum-valid UDP datagram to our port. Otherwise @p d describes the datagram,
 * which points into @p m: the caller frees @p m when done with it.
 * @return UDPGEN_RX_UDP with @p d filled, or UDPGEN_RX_DONE (m freed).
 */
enum udpgen_rx udpgen_link_classify(struct udpgen_link *l, struct rte_mbuf *m,
				    struct udpgen_dgram *d);

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

struct udpgen_load;

/**
 * Create the closed-loop load: --window slots, every key and value formatted once.
 * @return the load, or NULL (out of memory, or a request or reply that does not fit one
 * datagram: said on stderr).
 */
struct udpgen_load *udpgen_load_create(const struct udpgen_config *cfg, struct udpgen_link *l);

/** Free @p *ld (NULL allowed) and set it to NULL. */
void udpgen_load_destroy(struct udpgen_load **ld);

/**
 * Set every key once, keeping the window full; a set that times out is sent again.
 * @return 0 when every key is stored; -ETIMEDOUT after @p max_s seconds.
 * Counts into @p c.
 */
int udpgen_load_warm(struct udpgen_load *ld, double max_s, uint64_t c[UDPGEN_C_COUNT]);

/**
 * The timed phase: random gets (--get-ratio) and sets of uniformly drawn keys, --window in
 * flight, for --duration seconds; then no new requests until every one in flight is
 * answered or given up (100 ms). Counts into @p c.
 * @return the phase's seconds, from the first request to the last reply or timeout.
 */
double udpgen_load_timed(struct udpgen_load *ld, uint64_t c[UDPGEN_C_COUNT]);

#endif /* NC_BENCH_UDPGEN_H */
