/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_GENLINK_LINK_H
#define NC_GENLINK_LINK_H

/*
 * A load generator's DPDK link (mcgen's DPDK transports): the first
 * port EAL gives, one queue pair per load thread, and the two ends of the conversation. Frames
 * are built by hand (Ethernet, IPv4, UDP and memcached's frame header) with both checksums in
 * software (the server checks them; memif offloads nothing), ARP resolves the server's MAC and
 * answers for our address, and what comes back is checked. A TCP load hooks in for the
 * segments to our address (lib/tcp, active open).
 *
 * Port setup (port.c): genlink_port_start() configures the port with one queue pair per
 * thread (RSS over them when the device has it and there are several), waits for the link,
 * and fills one struct genlink; the caller copies it per queue and sets queue_id and its
 * source ports. genlink_resolve() learns the server's MAC.
 *
 * Threads: a struct genlink (one queue pair) is used by one thread at a time; setup functions
 * run on the main thread before the load threads start. Errors: negative errno, with a
 * message where a buffer is given.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define GENLINK_BURST 32
#define GENLINK_MTU   1500
/** Bytes of text a frame from genlink_begin() holds (the MTU less IPv4, UDP, frame header). */
#define GENLINK_TEXT_MAX (GENLINK_MTU - 20 - 8 - 8)

/*
 * Who takes the TCP segments for our address (the TCP load, while it exists): every receive
 * loop of the link hands them over and calls tick() once a turn, so connections stay served
 * (ACKs, retransmissions) while the program idles or reads `stats`.
 */
struct genlink_tcp_hook {
	void *arg;
	/** Take @p m, data at its TCP header, checksum checked, trimmed to the IPv4 length. */
	void (*input)(void *arg, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip);
	/** Timers, pending output, and the frames built meanwhile sent. */
	void (*tick)(void *arg);
};

struct genlink_steer;

/* One queue pair of a DPDK port, and the two ends of the conversation. */
struct genlink {
	uint16_t port_id, queue_id; /* queue_id: the queue received from */
	uint16_t tx_queue_id;	    /* the queue sent on: queue_id but for tests (mcgen --cross-queues) */
	struct rte_mempool *pool;
	struct rte_ether_addr mac, peer_mac;
	bool peer_known;
	rte_be32_t ip, peer_ip;
	rte_be16_t sport, dport; /* our first UDP source port, the server's port */
	uint16_t nsports;	 /* our source ports: sport .. sport + nsports - 1 (0 means 1) */
	uint16_t ip_id;
	uint64_t hz;
	uint64_t arp_answered;
	uint64_t rx_bad;     /* frames for us with a wrong checksum or length */
	uint64_t rx_other;   /* frames neither ARP nor UDP to our ports (nor TCP, with a hook) */
	uint64_t tx_dropped; /* frames the port did not take within the retry bound */
	uint64_t rx_tcp;     /* TCP segments handed to the hook */
	const struct genlink_tcp_hook *tcp; /* NULL: TCP frames count as rx_other */
	struct genlink_steer *steer; /* several threads on one port (steer.h); NULL: one */
	uint16_t thread;	     /* with steer: which thread this link is */
	uint64_t handoffs;	     /* frames received here and handed to their port's thread */
	uint64_t handoff_drops;	     /* ... that did not fit that thread's ring (freed) */
	/* NULL, or asked during the waits of genlink_port_start(), genlink_resolve() and
	 * genlink_stats_fetch(): true gives them up (a user's Ctrl-C). Any thread. */
	bool (*cancelled)(void);
};

/**
 * Whether the user gave up @p l's waits (struct genlink cancelled).
 * @return true to stop waiting. Any thread (the hook must be safe to call from it).
 */
static inline bool
genlink_cancelled(const struct genlink *l)
{
	return l->cancelled != NULL && l->cancelled();
}

/* What genlink_classify() found in a received frame. */
enum genlink_rx {
	GENLINK_RX_DONE, /* consumed (ARP, or not ours): nothing more to do */
	GENLINK_RX_UDP,	 /* a datagram for one of our ports: struct genlink_dgram is set */
};

/* A received memcached UDP datagram: the frame header and the text after it. */
struct genlink_dgram {
	uint16_t id, seq, total;
	uint16_t port; /* which of our source ports it came to: 0 .. nsports - 1 */
	const char *text;
	uint32_t len;
};

/**
 * Allocate a frame to the server from our source port number @p sport_index (0 .. nsports -
 * 1) with Ethernet, IPv4 and UDP headers and the memcached frame header (@p id, sequence 0 of
 * 1) written; the text goes at *@p text (room: GENLINK_TEXT_MAX bytes). Finish it with
 * genlink_finish().
 * @return the mbuf, or NULL when the pool is empty.
 */
struct rte_mbuf *genlink_begin(struct genlink *l, unsigned sport_index, uint16_t id,
			       char **text);

/** Set the lengths and checksums of a frame from genlink_begin() holding @p len text bytes. */
void genlink_finish(struct rte_mbuf *m, uint32_t len);

/**
 * Send @p n frames on the link's queue, retrying for up to a millisecond while its ring is
 * full; frames still not taken are freed and counted in tx_dropped.
 * @return how many were sent.
 */
uint16_t genlink_send(struct genlink *l, struct rte_mbuf **pkts, uint16_t n);

/**
 * Send an ARP request for the server's address.
 * @return 0; -ENOMEM when the pool is empty; -EAGAIN when the port did not take it.
 */
int genlink_arp_request(struct genlink *l);

/**
 * Look at a received frame. ARP is handled here (requests for our address answered, the
 * server's MAC learned from its requests and replies) and the frame freed; a checksum-valid
 * TCP segment from the server goes to the link's TCP hook (or is dropped without one); so is
 * anything not a checksum-valid UDP datagram to one of our ports. Otherwise @p d describes
 * the datagram, which points into @p m: the caller frees @p m when done with it.
 * @return GENLINK_RX_UDP with @p d filled, or GENLINK_RX_DONE (m consumed).
 */
enum genlink_rx genlink_classify(struct genlink *l, struct rte_mbuf *m, struct genlink_dgram *d);

/**
 * Receive up to @p max frames for this link's thread: a burst from its queue, then (with
 * l->steer) the frames other threads handed over. Frames in the burst to a UDP or TCP
 * port of another thread's block go to that thread's ring (counted in handoffs, or freed
 * and counted in handoff_drops when its ring is full) and are not returned.
 * @return how many frames are at @p pkts (the caller classifies and frees them).
 */
uint16_t genlink_receive(struct genlink *l, struct rte_mbuf **pkts, uint16_t max);

/** One turn of the TCP hook, when there is one (timers, output). */
static inline void
genlink_tick(struct genlink *l)
{
	if (l->tcp != NULL)
		l->tcp->tick(l->tcp->arg);
}

/**
 * Prepend IPv4 and Ethernet headers to a TCP segment @p m (data at its TCP header, checksum
 * field 0) from us to the server and fill both checksums in software.
 * @return 0; -EINVAL (not a TCP header); -ENOSPC (no headroom). @p m is not freed.
 */
int genlink_tcp_frame(struct genlink *l, struct rte_mbuf *m);

/**
 * Receive for @p ms milliseconds, handling ARP and dropping every datagram (to wait for the
 * server's MAC, and to let late replies die out before a stats request).
 */
void genlink_idle(struct genlink *l, unsigned ms);

/**
 * Ask the server `stats` (or `stats GROUP` when @p group is not NULL) over UDP with request id
 * @p id from our first source port and reassemble the numbered reply datagrams into @p buf
 * (NUL-terminated). Retries a few times, one second each.
 * @return the text's length; -ETIMEDOUT when no complete reply came; -E2BIG when it does
 * not fit @p cap; -ENOMEM when no mbuf was free; -EINTR when l->cancelled said so first.
 */
long genlink_stats_fetch(struct genlink *l, const char *group, uint16_t id, char *buf,
			 size_t cap);

/**
 * Find `STAT <name> <number>` in a stats reply.
 * @return 0 with *@p v set; -ENOENT when absent or not a number.
 */
int genlink_stats_value(const char *text, const char *name, uint64_t *v);

/** Most bytes of an RSS key in struct genlink_port_conf. */
#define GENLINK_RSS_KEY_MAX 52

/*
 * How genlink_port_start() sets the port up. genlink_port_conf_default() gives the built-in
 * choice; a NIC profile (drivers-config, what mcgen --site names) may change any of it.
 */
struct genlink_port_conf {
	const char *device;	   /* EAL's name of the port's device; NULL: the first port */
	uint16_t rx_desc, tx_desc; /* descriptors per queue (the device may adjust them) */
	uint64_t rss_hf;	   /* RSS hash types wanted with several queues (those offered) */
	uint8_t rss_key[GENLINK_RSS_KEY_MAX];
	uint8_t rss_key_len;	  /* 0: the driver's key; else the device's key size */
	uint16_t mbuf_data_room;  /* bytes per mbuf, headroom included */
	uint16_t mbuf_cache;	  /* per-lcore cache of the pool */
	uint32_t mbuf_extra;	  /* mbufs beyond the rings: requests built, replies held */
	int8_t promiscuous;	  /* 1 on, 0 off after each start (where the device allows
				     it); -1 as the device has it */
};

/**
 * The built-in port setup: the first port, 1024 descriptors, RSS over IPv4/UDP/TCP, 2 KiB
 * mbufs, promiscuous mode as the device has it.
 */
void genlink_port_conf_default(struct genlink_port_conf *c);

/**
 * [setup, after rte_eal_init] Set up the port @p conf names (the first port EAL gives when
 * it names none) with @p nb_queues rx/tx queue pairs as @p conf says (NULL:
 * genlink_port_conf_default(); RSS when there are several queues and the device offers any of
 * its types), an mbuf pool sized for them, start it and wait up to @p wait_ms for its link,
 * starting it again while it is down (a memif client connects only when started, and only to
 * a server that is up).
 * Fills @p l for queue 0: port_id, pool, mac, hz; the rest is the caller's.
 * @return 0; -ENODEV (no port, or not the one named), -EINVAL (more queues than the device
 * has, an RSS key of another size than the device's), -ENOMEM (pool), -ETIMEDOUT (no link),
 * -EINTR (l->cancelled said so: the port closed), or the driver's negative errno, with a
 * message in @p msg.
 */
int genlink_port_start(struct genlink *l, uint16_t nb_queues, const struct genlink_port_conf *conf,
		       unsigned wait_ms, char *msg, size_t msgcap);

/**
 * [setup] Learn the server's MAC by ARP on @p l's queue: a request every 100 ms, for up to
 * @p tries of them.
 * @return 0 with l->peer_mac set; -EHOSTUNREACH when no reply came; -EINTR when
 * l->cancelled said so first.
 */
int genlink_resolve(struct genlink *l, unsigned tries);

/** [setup] Stop and close the port of @p l and free its pool (the load threads are done). */
void genlink_port_stop(struct genlink *l);

#endif /* NC_GENLINK_LINK_H */
