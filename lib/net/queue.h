/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_QUEUE_H
#define NC_NET_QUEUE_H

/*
 * The packet path of one rx/tx queue pair, burst-oriented, allocating nothing but mbufs:
 *
 *   net_queue_rx():   rte_eth_rx_burst, then for every frame: Ethernet (802.1Q tag checked or
 *                     stripped), ARP (requests for our address answered, senders learned),
 *                     IPv4 (version, IHL, lengths, checksum, TTL, source sanity; fragments
 *                     reassembled into an mbuf chain within the NET_FRAG_* limits below,
 *                     datagrams up to 65535 bytes), ICMP echo answered, UDP to our port
 *                     checked (length, checksum) and handed up as a net_dgram; TCP checked
 *                     (data offset, checksum) and handed up the same way to the TCP layer
 *                     when net_queue_set_tcp() turned delivery on, else answered with RST.
 *                     Everything else is dropped with a reason counter. Replies the path makes
 *                     itself (ARP, ICMP, RST) join the queue's TX batch.
 *   net_udp_alloc() / net_udp_send():  build a reply datagram in an mbuf whose headroom takes
 *                     the Ethernet/VLAN/IPv4/UDP headers; checksums filled by the NIC where it
 *                     offers it, else in software; the next hop's MAC from the neighbour table.
 *   net_tcp_alloc() / net_tcp_output():  the same for segments the TCP layer built (header
 *                     and payload, maybe chained): IPv4, checksums, next hop, TX batch.
 *   net_queue_flush(): one rte_eth_tx_burst of the batch. net_queue_timers() flushes a batch
 *                     older than its drain time, frees expired fragments and refreshes the
 *                     neighbours we need.
 *
 * Faults (fault.h) can be injected right after the rx burst and right before the tx burst,
 * for tests (net_queue_set_fault; off by default, one predictable branch per burst).
 *
 * Threads: a queue belongs to one worker thread; only net_queue_counters() may be read from
 * elsewhere (relaxed loads). Functions marked [setup] run before the queue's worker uses it.
 * Errors: negative errno.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "net/counters.h"
#include "net/fault.h"
#include "net/iface.h"

/** Most frames received per rte_eth_rx_burst, and most frames in one TX batch. */
#define NET_BURST 32
/** Received mbufs a queue keeps for its next replies instead of the pool (net_queue_recycle). */
#define NET_SPARE_MBUFS (2 * NET_BURST)
/** A partial TX batch older than this is sent by net_queue_timers(). */
#define NET_TX_DRAIN_US 10
/*
 * IPv4 reassembly limits, per queue, fixed at creation:
 * - NET_FRAG_FLOWS datagrams in flight at once (an entry is ~40 bytes; the mbuf cap, not this,
 *   bounds memory). When all are taken, a new datagram evicts the oldest (frag_evicted): real
 *   fragments arrive back to back and finish in microseconds, a flood of incomplete ones ages.
 * - NET_FRAG_MAX_FRAGS fragments per datagram: 64 rebuild 65535 bytes from fragments of 1024
 *   payload bytes or more (any MTU >= 1044; 45 at MTU 1500); a datagram needing more is given
 *   up (frag_dropped).
 * - NET_FRAG_MBUFS_MAX mbuf segments held by all of a queue's reassemblies: 11 datagrams of
 *   64 KB at MTU 1500. Kept well under the pool's `extra` (2048 in the smallest profiles) so a
 *   flood of incomplete datagrams cannot starve RX or replies; reaching it evicts the oldest.
 * - NET_FRAG_TIMEOUT_MS from a datagram's first fragment; then net_queue_timers() frees it.
 */
#define NET_FRAG_FLOWS	    256
#define NET_FRAG_MAX_FRAGS  64
#define NET_FRAG_MBUFS_MAX  512
#define NET_FRAG_TIMEOUT_MS 100

struct net_queue;

/** Headroom of an mbuf from net_tcp_alloc(): Ethernet + VLAN, IPv4, TCP with options. */
#define NET_TCP_HEADROOM (18 + 20 + 60)

/**
 * What the path hands up, as received (the mbuf is its owner; m's data starts at the IPv4
 * header): a UDP datagram for our port (proto IPPROTO_UDP; off/len/payload: the UDP payload)
 * or, with TCP delivery on, a TCP segment to our address (proto IPPROTO_TCP; off/len/payload:
 * the TCP header and the data after it; header sane and checksum right, nothing else checked).
 */
struct net_dgram {
	struct rte_mbuf *m;	/* may be a chain (reassembled); free with net_dgram_free() */
	const uint8_t *payload; /* the bytes at off when all len are in the first segment, else NULL */
	uint32_t off;		/* UDP payload / TCP header offset from the start of the packet data */
	uint16_t len;		/* UDP payload / TCP header + data length */
	rte_be32_t src_ip;
	rte_be32_t dst_ip;
	rte_be16_t src_port;
	rte_be16_t dst_port;
	uint8_t proto;		/* IPPROTO_UDP or IPPROTO_TCP */
};

/**
 * [setup] Create the packet path of queue pair @p queue_id of @p ifc's port (the port must be
 * configured with that many queues; rx/tx are not started here). Allocates the TX batch and
 * the fragment table on NUMA @p socket.
 * @return the queue, or NULL with *err = -ENOMEM or -EINVAL.
 */
struct net_queue *net_queue_create(const struct net_iface *ifc, uint16_t queue_id, int socket,
				   int *err);

/** [setup] Free a queue (frames still batched or held are freed, not sent); NULL allowed. */
void net_queue_destroy(struct net_queue **q);

/**
 * [setup] Hand TCP segments up (@p deliver true) or answer them with RST as a closed port
 * would (false, the default). With delivery on, every TCP segment to our address (any port)
 * whose data offset is at least 20 and within the IPv4 payload and whose checksum is right
 * is stored in the out[] array of net_queue_rx() like a UDP datagram (proto IPPROTO_TCP),
 * segments carrying RST included (the TCP layer validates them); counted as tcp_delivered.
 * A segment that finds out[] full is dropped (tcp_rx_full).
 */
void net_queue_set_tcp(struct net_queue *q, bool deliver);

/**
 * [setup] Inject the faults of @p f (fault.h) into this queue's RX and TX, with a generator
 * seeded from f->seed + the queue id; NULL or all probabilities 0 turn injection off (frames
 * held back for reordering are then freed). net_queue_create() calls it with the interface's
 * faults. While on, one rx burst takes at most (NET_BURST - 1) / 2 frames, so that duplicates
 * and a released frame still fit NET_BURST results.
 * @return 0; -EINVAL when a probability is not within [0, 1]; -ENOMEM.
 */
int net_queue_set_fault(struct net_queue *q, const struct net_fault *f);

/**
 * Receive one burst from the NIC queue and run it through the packet path.
 * @return the number of UDP datagrams for our port and (with TCP delivery on) TCP segments
 *         stored in @p out (at most @p max, which should be >= NET_BURST: datagrams beyond
 *         @p max are dropped and counted as udp_port, segments as tcp_rx_full).
 */
unsigned net_queue_rx(struct net_queue *q, struct net_dgram *out, unsigned max);

/**
 * Run frames already received (@p n mbufs, ownership passes to the queue) through the packet
 * path, as net_queue_rx does after its rx burst. For tests and for callers that receive by
 * other means. @return as net_queue_rx.
 */
unsigned net_queue_input(struct net_queue *q, struct rte_mbuf **pkts, unsigned n,
			 struct net_dgram *out, unsigned max);

/**
 * Copy up to @p cap bytes of @p d from its offset (across segments) into @p buf: the UDP
 * payload, or the TCP header and data.
 * @return bytes copied (min(len, cap)).
 */
uint32_t net_dgram_copy(const struct net_dgram *d, void *buf, uint32_t cap);

/** Free a received datagram's mbuf. */
static inline void
net_dgram_free(struct net_dgram *d)
{
	rte_pktmbuf_free(d->m);
	d->m = NULL;
}

/**
 * Give back the mbufs of @p n received datagrams: the queue keeps them (up to
 * NET_SPARE_MBUFS, the rest are freed) and net_udp_alloc() / net_tcp_alloc() hand them out
 * again, still warm in the cache and without a trip through the pool.
 */
void net_queue_recycle(struct net_queue *q, struct rte_mbuf **m, unsigned n);

/**
 * Start taking, for writing, the cache lines where the next UDP replies' frames go, the first
 * NET_REPLY_AHEAD of @p n (the spare mbufs net_udp_alloc() hands out next: the last bursts'
 * received ones; each one it hands out then takes the frame that many later), as the requests
 * they answer are handed up: the replies' stores then do not wait one by one for a line the NIC,
 * or the memif peer on another core, last held (PREFETCHW where the CPU has it, else a read
 * prefetch). Only a hint: nothing changes but the caches. Queue worker thread only.
 */
void net_queue_prefetch_replies(struct net_queue *q, unsigned n);

/**
 * Start a UDP datagram: an mbuf (a recycled one, else from the interface's pool) with headroom
 * reserved for the
 * headers. The caller writes up to *room payload bytes at *payload (room is the smaller of the
 * mbuf's space and the MTU's UDP payload) and passes the mbuf to net_udp_send().
 * @return the mbuf; NULL when the pool is empty (counted as no_mbuf).
 */
struct rte_mbuf *net_udp_alloc(struct net_queue *q, uint8_t **payload, uint16_t *room);

/**
 * net_udp_alloc() that counts nothing when the pool is empty: for a caller with another way
 * to send that counts it (the stack's in-place reply buffer, whose reply then goes through
 * net_udp_alloc()). @return the mbuf; NULL.
 */
struct rte_mbuf *net_udp_try_alloc(struct net_queue *q, uint8_t **payload, uint16_t *room);

/**
 * Finish a datagram begun by net_udp_alloc() with @p len payload bytes: headers (our MAC and
 * address as source, the next hop's MAC from the neighbour table, VLAN tag if configured),
 * checksums (offloaded or software), and add it to the TX batch (a full batch is sent first).
 * The mbuf is consumed in every case.
 * @return 0; -EHOSTUNREACH when the next hop is unknown (an ARP request was sent, at most one
 *         per next hop per 100 ms; counted as no_neighbour); -EINVAL when len exceeds the room;
 *         -ENOSPC when the mbuf lost its headroom or holds data already (counted as
 *         no_mbuf).
 */
int net_udp_send(struct net_queue *q, struct rte_mbuf *m, uint16_t len, rte_be32_t dst_ip,
		 rte_be16_t dst_port, rte_be16_t src_port);

/**
 * Start a TCP segment: an mbuf (a recycled one, else from the interface's pool) with at least
 * NET_TCP_HEADROOM bytes of headroom and no data. The TCP layer appends its header and payload
 * (payload may also be chained segments) and passes it to net_tcp_output().
 * @return the mbuf; NULL when the pool is empty (counted as no_mbuf).
 */
struct rte_mbuf *net_tcp_alloc(struct net_queue *q);

/**
 * Send a TCP segment from @p src_ip to @p dst_ip (network order): @p m's data starts at a
 * complete TCP header (checksum field 0, data offset set, all of it in the first segment),
 * the payload follows, maybe in chained segments. Prepends an IPv4 header (DF, TTL 64, the
 * queue's next IP id, protocol TCP), fills the TCP checksum (offloaded with the pseudo-header
 * sum when the NIC does it, else in software over the whole chain) and the IPv4 checksum
 * (likewise), resolves the next hop's MAC as net_udp_send() does (on-link or the gateway; an
 * ARP request when unknown), prepends Ethernet and adds the frame to the TX batch (a full
 * batch is sent first). A chain is copied into one mbuf when the NIC cannot send chains.
 *
 * A TSO frame (RTE_MBUF_F_TX_TCP_SEG in m->ol_flags, m->tso_segsz the segment size, payload
 * longer than one segment) goes to the NIC to cut, on a port with offloads.tx_tcp_tso and
 * within ifc->tso (frame length, mbufs, segment size): l2/l3/l4 lengths, the segmentation and
 * IPv4 checksum flags and the pseudo-header sum without the length in the TCP checksum field
 * (rte_ipv4_phdr_cksum); the next IP ids go to its segments. One whose payload fits one
 * segment is sent as an ordinary segment.
 *
 * The mbuf is consumed in every case. Counted as tcp_segs_sent (a TSO frame: the segments the
 * NIC will cut) and tcp_tso_frames.
 * @return 0; -EINVAL when the TCP header is malformed or not in the first segment;
 *         -EMSGSIZE when the IPv4 packet would exceed the MTU, or a TSO frame what the port's
 *         TSO takes (or the port has none); -EHOSTUNREACH when the next hop is unknown
 *         (counted as no_neighbour); -ENOSPC when the headroom is too small (no_mbuf) or a
 *         chain cannot be made one mbuf for a NIC without chains (tx_chain).
 */
int net_tcp_output(struct net_queue *q, struct rte_mbuf *m, rte_be32_t src_ip, rte_be32_t dst_ip);

/**
 * Send the TX batch now (one rte_eth_tx_burst, after rte_eth_tx_prepare when TSO is on; what
 * the NIC refuses is freed as tx_full, what tx_prepare refuses as tx_prepare).
 */
void net_queue_flush(struct net_queue *q);

/**
 * Upkeep, called every loop iteration with the current TSC: sends a TX batch older than
 * NET_TX_DRAIN_US, frees fragments of expired reassemblies, sends a frame fault injection held
 * back longer than NET_FAULT_HOLD_US, and on queue 0 announces our address by ARP once the
 * link is up (twice, 2 s apart: RFC 5227) and, about once a second, sends ARP requests for the
 * neighbours we need that are missing or stale (the gateway).
 * @return frames sent or freed (0 when there was nothing to do).
 */
unsigned net_queue_timers(struct net_queue *q, uint64_t now_tsc);

/**
 * Whether frames wait in the TX batch, fragments in reassembly (until the last fragment kept
 * is older than NET_FRAG_TIMEOUT_MS and net_queue_timers() ran), or a frame fault injection
 * holds back (a received one is released by net_queue_rx(), one to send by
 * net_queue_timers(), after NET_FAULT_HOLD_US at most).
 */
bool net_queue_busy(const struct net_queue *q);

/** The queue's counters (any thread, relaxed loads). */
const struct net_counters *net_queue_counters(const struct net_queue *q);

#endif /* NC_NET_QUEUE_H */
