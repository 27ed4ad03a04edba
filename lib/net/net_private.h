/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_PRIVATE_H
#define NC_NET_PRIVATE_H

/*
 * Inside the packet path (lib/net only): the queue structure and the functions the layers
 * call on each other. Every function here runs on the queue's own worker thread.
 *
 * Receive side: net_queue_input() counts a frame and hands it to net_rx_fast_udp() (rx_fast.h:
 * the common UDP datagram to our port, every check below in one pass) or else to
 * net_eth_input(), which checks Ethernet/802.1Q, strips the L2 header (rte_pktmbuf_adj) and
 * calls net_arp_input() or net_ipv4_input(); IPv4 reassembles fragments (frag.c) and calls the
 * ICMP, UDP or TCP input.
 * From the L3 layer on, packet data starts at the network header. Each input function consumes
 * the mbuf: it is freed (a drop, counted), turned into a reply (net_tx_reply) or handed up.
 *
 * Send side: net_udp_send() / net_tcp_output() (and the replies) end in net_tx_enqueue();
 * net_tx_flush() hands the batch to net_tx_burst(), through fault.c when faults are on.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "net/cksum.h"
#include "net/neigh.h"
#include "net/queue.h"

/** Slots of the per-queue memory of ARP requests sent (rate limit per destination). */
#define NET_ARP_RECENT 16
/** At most one ARP request per destination in this many milliseconds. */
#define NET_ARP_GAP_MS 100
/**
 * ARP announcements of our address once the link is up, this many seconds apart (RFC 5227,
 * ANNOUNCE_NUM and ANNOUNCE_INTERVAL): a second one for a first lost to a link that reports up
 * before it carries frames (a memif peer still setting up its rings, a switch port not yet
 * forwarding).
 */
#define NET_ARP_ANNOUNCE_NUM	     2
#define NET_ARP_ANNOUNCE_INTERVAL_S 2
/** The fragment bits of an IPv4 header (host order): more fragments, fragment offset. */
#define NET_IP_FRAG_BITS (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)
/** TTL of everything we send. */
#define NET_TTL 64

/** An ARP request sent recently, to one destination. */
struct net_arp_recent {
	rte_be32_t ip;
	uint64_t tsc;
};

struct net_frag_tbl;
struct net_fault_run;

/**
 * The last on-link peer a queue learned from or sent to, and the second it was true in: while
 * one peer talks (a request, then its reply) the shared neighbour table is neither probed nor
 * written for every frame. Trusted only within that second (neighbour times have 1 s grain),
 * so a MAC another queue learned is seen within a second; this queue's own ARP learning
 * empties it.
 */
struct net_peer_cache {
	rte_be32_t ip; /* 0: empty */
	struct rte_ether_addr mac;
	uint64_t s; /* net_seconds() when set */
};

/** Room for Ethernet with a VLAN tag and IPv4 without options (net_queue.udp_tmpl). */
#define NET_UDP_TMPL_LEN 40

struct net_queue {
	struct net_counters cnt; /* first: its own cache lines */
	const struct net_iface *ifc;
	uint16_t port_id;
	uint16_t queue_id;
	uint16_t ip_id;	       /* IPv4 identification of the next datagram we build */
	uint16_t tx_n;	       /* frames in tx[] */
	uint16_t l2_len;       /* Ethernet header we send: 14, or 18 with a VLAN tag */
	uint16_t udp_data_off; /* a UDP reply's payload in its mbuf (net_udp_try_alloc()) */
	uint16_t rx_burst;     /* most frames per rte_eth_rx_burst (fewer with faults on) */
	int socket;	       /* NUMA node of the queue's memory */
	uint8_t announce_left; /* queue 0: ARP announcements still to send (NET_ARP_ANNOUNCE_NUM) */
	bool tcp_deliver;      /* TCP segments handed up (else answered with RST) */
	bool prefetchw;	       /* the CPU has PREFETCHW (net_prefetch_for_write()) */
	uint64_t hz;	       /* TSC cycles per second */
	uint64_t now_tsc;      /* time of the burst being processed */
	uint64_t now_s;	       /* now_tsc in seconds (the neighbour table's clock) */
	uint64_t tx_first_tsc; /* now_tsc when the oldest frame in tx[] was added: the drain
				  (net_queue_timers) sends it within drain_cycles of that, or sooner */
	uint64_t drain_cycles; /* NET_TX_DRAIN_US in cycles */
	uint64_t arp_gap_cycles;
	uint64_t gw_next_tsc;	   /* queue 0: next gateway check */
	uint64_t announce_next_tsc; /* queue 0: no announcement before this */
	struct net_frag_tbl *frag; /* IPv4 reassembly (frag.c) */
	struct net_fault_run *fault; /* fault injection (fault.c); NULL: off */
	struct net_peer_cache peer;
	/*
	 * The last IPv4 source the receive shortcut accepted (net_rx_source_ok()), with bit 32
	 * set; 0: none yet.
	 */
	uint64_t rx_src_ok;
	struct net_arp_recent arp_recent[NET_ARP_RECENT];
	struct rte_mbuf *tx[NET_BURST];
	/*
	 * The headers net_udp_send() writes before a datagram, as far as the IPv4 header's end
	 * (l2_len + 20 bytes), with what changes from one datagram to the next 0 (destination MAC,
	 * total length, identification, checksum, destination address): net_udp_tmpl_init().
	 */
	uint8_t udp_tmpl[NET_UDP_TMPL_LEN] __rte_aligned(8);
	uint64_t udp_tmpl_sum; /* its IPv4 header's sum, folded (net_cksum_fold()) */
	uint16_t nspare;			 /* mbufs in spare[] */
	struct rte_mbuf *spare[NET_SPARE_MBUFS]; /* recycled, ready for net_tx_alloc() */
};

/** What one input call collects: datagrams for the caller, the frame's source MAC. */
struct net_rx {
	struct net_dgram *out;
	unsigned max;
	unsigned n;
	struct rte_ether_addr src_mac; /* source MAC of the frame being processed */
};

/** ol_flags that say how the mbuf holds its buffer: kept when a frame is reused for TX. */
#define NET_MBUF_KEEP_FLAGS (RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT)

/** Count drop @p d and free @p m. */
static inline void
net_drop(struct net_queue *q, struct rte_mbuf *m, enum net_drop d)
{
	NET_COUNT(&q->cnt, drop, d, 1);
	rte_pktmbuf_free(m);
}

/** Seconds on the neighbour table's clock at TSC @p tsc. */
static inline uint64_t
net_seconds(const struct net_queue *q, uint64_t tsc)
{
	return tsc / q->hz;
}

/**
 * Whether MAC addresses @p a and @p b are equal: a 4-byte and a 2-byte compare, where DPDK's
 * rte_is_same_ether_addr() makes three 2-byte ones (every received frame makes two of these).
 */
static inline bool
net_mac_equal(const struct rte_ether_addr *a, const struct rte_ether_addr *b)
{
	uint32_t a4, b4;
	uint16_t a2, b2;

	memcpy(&a4, a->addr_bytes, sizeof(a4));
	memcpy(&b4, b->addr_bytes, sizeof(b4));
	memcpy(&a2, a->addr_bytes + 4, sizeof(a2));
	memcpy(&b2, b->addr_bytes + 4, sizeof(b2));
	return ((a4 ^ b4) | (uint32_t)(a2 ^ b2)) == 0;
}

/** Remember @p ip at @p mac as the queue's peer for this second. */
static inline void
net_peer_set(struct net_queue *q, rte_be32_t ip, const struct rte_ether_addr *mac)
{
	q->peer.ip = ip;
	q->peer.mac = *mac;
	q->peer.s = q->now_s;
}

/**
 * Learn on-link sender @p ip at @p mac (a received frame): the table is written when the entry
 * is new, changed or due for its refresh, counted as arp_learned.
 */
static inline void
net_peer_learn(struct net_queue *q, rte_be32_t ip, const struct rte_ether_addr *mac)
{
	if (q->peer.ip == ip && q->peer.s == q->now_s && net_mac_equal(&q->peer.mac, mac))
		return;
	if (net_neigh_learn(q->ifc->neigh, ip, mac, q->now_s))
		NET_EVENT(&q->cnt, arp_learned, 1);
	net_peer_set(q, ip, mac);
}

/**
 * A valid frame from on-link host @p ip's unicast source MAC: learn it (net_peer_learn). Called
 * only once the frame passed every check up to its L4 checksum, so a frame that is dropped
 * changes no neighbour.
 */
static inline void
net_learn_sender(struct net_queue *q, const struct rte_ipv4_hdr *ip, const struct net_rx *rx)
{
	/* Steady traffic finds its entry fresh and writes nothing shared. */
	if (net_iface_on_link(q->ifc, ip->src_addr) && rte_is_unicast_ether_addr(&rx->src_mac))
		net_peer_learn(q, ip->src_addr, &rx->src_mac);
}

/** Whether @p src is a source we accept (not broadcast, multicast, zero, loopback, ours). */
static inline bool
net_ipv4_source_ok(const struct net_iface *ifc, rte_be32_t src)
{
	uint32_t h = rte_be_to_cpu_32(src);

	if (h == 0 || h == 0xffffffffu || (h >> 28) == 0xe || (h >> 24) == 127 || src == ifc->ip)
		return false;
	/* The subnet's broadcast address (prefixes up to /30 have one). */
	if (rte_be_to_cpu_32(ifc->netmask) < 0xfffffffeu && net_iface_on_link(ifc, src) &&
	    (src | ifc->netmask) == RTE_BE32(0xffffffff))
		return false;
	return true;
}

/**
 * net_ipv4_source_ok() for the receive shortcut, remembering the last source it accepted (the
 * interface's addresses do not change while the queue runs): steady traffic from one client
 * pays one compare. Queue worker thread only.
 */
static inline bool
net_rx_source_ok(struct net_queue *q, rte_be32_t src)
{
	uint64_t tagged = (uint64_t)src | (1ull << 32); /* (never 0: no source matches "none") */

	if (likely(q->rx_src_ok == tagged))
		return true;
	if (!net_ipv4_source_ok(q->ifc, src))
		return false;
	q->rx_src_ok = tagged;
	return true;
}

/**
 * What the NIC said of a checksum of a received frame with flags @p ol_flags, read through
 * @p mask (its RTE_MBUF_F_RX_*_CKSUM_MASK; @p good, @p none and @p bad its values).
 * @return 1 right (NONE: checked, only the field is not filled in), 0 wrong, -1 no verdict.
 */
static inline int
net_rx_cksum_verdict(uint64_t ol_flags, uint64_t mask, uint64_t good, uint64_t none, uint64_t bad)
{
	uint64_t v = ol_flags & mask;

	if (v == good || v == none)
		return 1;
	return v == bad ? 0 : -1;
}

/** Whether the header checksum of @p ip (@p hlen bytes) is right, or the NIC said so. */
static inline bool
net_ipv4_cksum_ok(const struct net_queue *q, const struct rte_mbuf *m,
		  const struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	if (q->ifc->offloads.rx_ip_cksum) {
		int v = net_rx_cksum_verdict(m->ol_flags, RTE_MBUF_F_RX_IP_CKSUM_MASK,
					     RTE_MBUF_F_RX_IP_CKSUM_GOOD,
					     RTE_MBUF_F_RX_IP_CKSUM_NONE, RTE_MBUF_F_RX_IP_CKSUM_BAD);

		if (v >= 0)
			return v == 1;
	}
	return net_cksum(ip, hlen) == 0xffff;
}

/**
 * Whether the L4 checksum of single-segment frame @p m is right: @p len bytes at @p l4 (all in
 * @p m, after IPv4 header @p ip), the NIC's verdict when it gave one, else software.
 */
static inline bool
net_l4_cksum_flat_ok(const struct net_queue *q, const struct rte_mbuf *m,
		     const struct rte_ipv4_hdr *ip, const void *l4, uint16_t len)
{
	if (q->ifc->offloads.rx_l4_cksum) {
		int v = net_rx_cksum_verdict(m->ol_flags, RTE_MBUF_F_RX_L4_CKSUM_MASK,
					     RTE_MBUF_F_RX_L4_CKSUM_GOOD,
					     RTE_MBUF_F_RX_L4_CKSUM_NONE, RTE_MBUF_F_RX_L4_CKSUM_BAD);

		if (v >= 0)
			return v == 1;
	}
	return net_cksum_fold(net_cksum_add(l4, len, net_cksum_phdr(ip, len))) == 0xffff;
}

/**
 * Hand up the L4 data of checked frame @p m (data at its IPv4 header @p ip): @p len bytes at
 * @p off, from port @p src_port to @p dst_port of @p proto, as the next of @p rx, which must
 * have room. The caller counts it.
 */
static inline void
net_rx_deliver(struct net_rx *rx, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint32_t off,
	       uint16_t len, rte_be16_t src_port, rte_be16_t dst_port, uint8_t proto)
{
	struct net_dgram *d = &rx->out[rx->n++];

	d->m = m;
	d->off = off;
	d->len = len;
	d->payload = off + len <= m->data_len ? rte_pktmbuf_mtod_offset(m, uint8_t *, off) : NULL;
	d->src_ip = ip->src_addr;
	d->dst_ip = ip->dst_addr;
	d->src_port = src_port;
	d->dst_port = dst_port;
	d->proto = proto;
}

/**
 * Hand up checked UDP datagram @p m (data at its IPv4 header @p ip, @p hlen bytes; UDP header
 * @p uh, @p len bytes with it) as the next of @p rx, which must have room; counted
 * udp_delivered.
 */
static inline void
net_udp_deliver(struct net_queue *q, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
		uint16_t hlen, const struct rte_udp_hdr *uh, uint16_t len, struct net_rx *rx)
{
	net_rx_deliver(rx, m, ip, (uint32_t)hlen + sizeof(*uh), (uint16_t)(len - sizeof(*uh)),
		       uh->src_port, uh->dst_port, IPPROTO_UDP);
	NET_EVENT(&q->cnt, udp_delivered, 1);
}

/** The MAC of next hop @p hop: the queue's peer, else the neighbour table. @return found. */
static inline bool
net_peer_mac(struct net_queue *q, rte_be32_t hop, struct rte_ether_addr *mac)
{
	if (q->peer.ip == hop && q->peer.s == q->now_s && hop != 0) {
		*mac = q->peer.mac;
		return true;
	}
	if (!net_neigh_lookup(q->ifc->neigh, hop, mac, 0, NULL))
		return false;
	net_peer_set(q, hop, mac);
	return true;
}

/**
 * Cut @p m to its first @p len bytes (which must lie in the first segment): later segments
 * are freed. For replies built in place over a longer request.
 */
static inline void
net_mbuf_cut(struct rte_mbuf *m, uint16_t len)
{
	if (m->next != NULL) {
		rte_pktmbuf_free(m->next);
		m->next = NULL;
		m->nb_segs = 1;
	}
	m->data_len = len;
	m->pkt_len = len;
}

/** eth.c: classify one received frame (data at the Ethernet header) and pass it on. */
void net_eth_input(struct net_queue *q, struct rte_mbuf *m, struct net_rx *rx);

/**
 * Write the Ethernet header (and the VLAN tag when configured: q->l2_len bytes) at @p frame:
 * to @p dst from our MAC, @p ethertype (host order).
 */
static inline void
net_eth_write(const struct net_queue *q, void *frame, const struct rte_ether_addr *dst,
	      uint16_t ethertype)
{
	const struct net_iface *ifc = q->ifc;
	struct rte_ether_hdr *eh = frame;

	eh->dst_addr = *dst;
	eh->src_addr = ifc->mac;
	if (ifc->vlan_id != 0) {
		struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *)(eh + 1);

		eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		vh->vlan_tci = rte_cpu_to_be_16(ifc->vlan_id);
		vh->eth_proto = rte_cpu_to_be_16(ethertype);
	} else {
		eh->ether_type = rte_cpu_to_be_16(ethertype);
	}
}

/**
 * net_eth_write() at the start of @p m's data, which must begin with that room; sets
 * m->l2_len.
 */
static inline void
net_eth_fill(struct net_queue *q, struct rte_mbuf *m, const struct rte_ether_addr *dst,
	     uint16_t ethertype)
{
	net_eth_write(q, rte_pktmbuf_mtod(m, void *), dst, ethertype);
	m->l2_len = q->l2_len;
}

/**
 * eth.c: prepend our Ethernet header (VLAN tag when configured) to @p m, whose data starts at
 * the L3 header, addressed to @p dst with @p ethertype (host order); sets m->l2_len.
 * @return 0; -ENOSPC when the headroom is too small.
 */
int net_eth_prepend(struct net_queue *q, struct rte_mbuf *m, const struct rte_ether_addr *dst,
		    uint16_t ethertype);

/** arp.c: an ARP packet (data at the ARP header). */
void net_arp_input(struct net_queue *q, struct rte_mbuf *m, struct net_rx *rx);

/**
 * arp.c: send an ARP request for @p ip unless one went out for it in the last NET_ARP_GAP_MS
 * (@p force skips that check). @return 0 (sent or skipped), -ENOBUFS (no mbuf).
 */
int net_arp_solicit(struct net_queue *q, rte_be32_t ip, bool force);

/** arp.c: announce our address (gratuitous ARP request). @return 0 or -ENOBUFS. */
int net_arp_announce(struct net_queue *q);

/** ipv4.c: an IPv4 packet (data at the IPv4 header). */
void net_ipv4_input(struct net_queue *q, struct rte_mbuf *m, struct net_rx *rx);

/**
 * ipv4.c: turn the received header @p ip (IHL 5) into the header of our reply to its sender,
 * @p total_len bytes long: addresses swapped, TTL NET_TTL, no fragment bits, checksum.
 */
void net_ipv4_reply_header(struct rte_ipv4_hdr *ip, uint16_t total_len);

/**
 * frag.c: create the queue's reassembly table (q->hz and q->queue_id already set).
 * @return 0 or -ENOMEM.
 */
int net_frag_setup(struct net_queue *q, int socket);

/** frag.c: free the reassembly table and every fragment it holds (not counted). */
void net_frag_teardown(struct net_queue *q);

/**
 * frag.c: add fragment @p m (header @p ip, already validated; m->l3_len = its header length;
 * data at the header) to its reassembly. Fragments dropped here are counted (frag_dropped,
 * frag_overlap, frag_evicted), including the ones of other flows evicted to make room.
 * @return the whole datagram when this fragment completed it: an mbuf chain, data at the
 *         first fragment's IPv4 header (total length, fragment field and checksum rewritten);
 *         NULL when the fragment is kept or dropped.
 */
struct rte_mbuf *net_frag_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip);

/**
 * frag.c: give up reassemblies whose first fragment is older than NET_FRAG_TIMEOUT_MS at
 * @p now_tsc, counting each fragment freed as frag_dropped. @return fragments freed.
 */
unsigned net_frag_expire(struct net_queue *q, uint64_t now_tsc);

/** frag.c: whether reassemblies are in progress (until the last one completed or expired). */
bool net_frag_busy(const struct net_queue *q);

/** icmp.c: an ICMP message to us (@p ip: its IPv4 header, data at the IPv4 header). */
void net_icmp_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		    struct net_rx *rx);

/** udp.c: a UDP datagram to us. */
void net_udp_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		   struct net_rx *rx);

/** tcp.c: a TCP segment to us: handed up (delivery on) or answered by net_tcp_rst(). */
void net_tcp_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		   struct net_rx *rx);

/**
 * tcp_rst.c: answer TCP segment @p m (data at its IPv4 header @p ip, @p hlen bytes; TCP header
 * checked: at least 20 bytes, data offset within the IPv4 payload) as a closed port would:
 * a RST built in place and sent back to the frame's source MAC; a segment carrying RST is
 * dropped (tcp_ignored) and one with a wrong checksum too (tcp_header).
 */
void net_tcp_rst(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip, uint16_t hlen,
		 struct net_rx *rx);

/**
 * udp.c (for tcp.c and tcp_rst.c too): whether the L4 checksum of @p m (data at the IPv4
 * header @p ip, L4 at @p l4_off) is right: the NIC's verdict when it gave one for this frame,
 * else software.
 */
bool net_l4_cksum_ok(const struct net_queue *q, const struct rte_mbuf *m,
		     const struct rte_ipv4_hdr *ip, uint16_t l4_off);

/**
 * tx.c: an mbuf for a frame we build, with at least @p headroom bytes of headroom and no data:
 * a recycled spare, else from the interface's pool. @return it; NULL (counted no_mbuf).
 */
struct rte_mbuf *net_tx_alloc(struct net_queue *q, uint16_t headroom);

/** udp.c: fill q->udp_tmpl and q->udp_tmpl_sum (once q->ifc and q->l2_len are set). */
void net_udp_tmpl_init(struct net_queue *q);

/** tx.c: send the batch (through the TX faults when they are on). @return frames the NIC took. */
unsigned net_tx_flush(struct net_queue *q);

/** The headers before a UDP datagram we send: Ethernet (@p l2_len), IPv4 without options, UDP. */
static inline uint16_t
net_udp_hlen(uint16_t l2_len)
{
	return (uint16_t)(l2_len + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr));
}

/**
 * Where a UDP reply's payload starts in a fresh mbuf (its data_off) under an Ethernet header of
 * @p l2_len bytes: the frame (l2_len + 28 bytes of headers before the payload) at the cache line
 * at or below where the default headroom would put it, so that a reply of up to 128 bytes (a
 * GET's with a 16-byte key and a 32-byte value is 118) lies in two lines, not three, for the
 * NIC's DMA or the memif peer to read (a buffer starts at a cache line when its mbuf has no
 * private area, or whole lines of it).
 */
static inline uint16_t
net_udp_data_off(uint16_t l2_len)
{
	uint16_t hlen = net_udp_hlen(l2_len);

	if (RTE_PKTMBUF_HEADROOM < hlen)
		return RTE_PKTMBUF_HEADROOM;
	return (uint16_t)(RTE_ALIGN_FLOOR(RTE_PKTMBUF_HEADROOM - hlen, RTE_CACHE_LINE_SIZE) + hlen);
}

/**
 * How many UDP replies ahead their frames are taken for writing: net_queue_prefetch_replies()
 * takes the first ones of a burst, then each reply's frame taken (net_udp_try_alloc()) takes
 * the one this many replies later. (All of a burst's 64 lines at once, more than the core
 * has misses outstanding, were 2-3 % slower in memif's zero-copy lab; 3 and 6 ahead slower
 * than 12, 20 the same.)
 */
#define NET_REPLY_AHEAD 12

/** A prefetch of the cache line at @p p for writing: the line taken exclusive, as a store would. */
static inline void
net_prefetch_for_write(const struct net_queue *q, const void *p)
{
#if defined(__x86_64__)
	if (q->prefetchw)
		__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
	else
		rte_prefetch0(p); /* (the line at least comes shared) */
#else
	(void)q;
	__builtin_prefetch(p, 1, 3); /* (rte_prefetch0_write() is experimental in 22.11) */
#endif
}

/**
 * Start taking for writing the two cache lines where a UDP reply's frame goes in spare @p m
 * (as net_udp_try_alloc() lays it out); nothing when the headroom is under the headers.
 */
static inline void
net_prefetch_reply_frame(const struct net_queue *q, const struct rte_mbuf *m)
{
	uint16_t hlen = net_udp_hlen(q->l2_len);
	const char *frame;

	if (q->udp_data_off < hlen)
		return; /* (a DPDK built with less headroom than the headers: no frame there) */
	frame = (const char *)m->buf_addr + q->udp_data_off - hlen;
	net_prefetch_for_write(q, frame);
	net_prefetch_for_write(q, frame + RTE_CACHE_LINE_SIZE);
}

/**
 * net_tx_alloc() that counts nothing when it finds no mbuf (inline: every reply takes one).
 * @return it; NULL.
 */
static inline struct rte_mbuf *
net_tx_take(struct net_queue *q, uint16_t headroom)
{
	struct rte_mbuf *m;

	if (q->nspare > 0) {
		m = q->spare[--q->nspare];
		rte_pktmbuf_reset(m);
	} else {
		m = rte_pktmbuf_alloc(q->ifc->pool);
	}
	if (unlikely(m == NULL))
		return NULL;
	if (unlikely(rte_pktmbuf_headroom(m) < headroom)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	return m;
}

/**
 * The MAC of the next hop towards @p dst_ip (itself when on-link, else the gateway), from the
 * queue's peer or the neighbour table. When unknown an ARP request goes out (at most one per
 * NET_ARP_GAP_MS per hop). @return 0; -EHOSTUNREACH (nothing counted here).
 */
static inline int
net_tx_next_hop(struct net_queue *q, rte_be32_t dst_ip, struct rte_ether_addr *mac)
{
	const struct net_iface *ifc = q->ifc;
	rte_be32_t hop = net_iface_on_link(ifc, dst_ip) ? dst_ip : ifc->gateway;

	if (likely(net_peer_mac(q, hop, mac)))
		return 0;
	if (hop != 0)
		net_arp_solicit(q, hop, false);
	return -EHOSTUNREACH;
}

/** Add a finished frame to the TX batch (the batch is sent when it becomes full). */
static inline void
net_tx_enqueue(struct net_queue *q, struct rte_mbuf *m)
{
	if (q->tx_n == 0)
		q->tx_first_tsc = q->now_tsc; /* (no clock read: at or before now) */
	q->tx[q->tx_n++] = m;
	if (q->tx_n == NET_BURST)
		net_tx_flush(q);
}

/**
 * tx.c: send @p m (data at the L3 header) back to @p dst with @p ethertype: Ethernet header
 * prepended and the frame batched; freed and counted as no_mbuf when headroom is missing.
 */
void net_tx_reply(struct net_queue *q, struct rte_mbuf *m, const struct rte_ether_addr *dst,
		  uint16_t ethertype);

/**
 * tx.c: hand @p n frames to the NIC (one rte_eth_tx_burst and one retry; what it refuses is
 * freed as tx_full) and count them. @return frames the NIC took.
 */
unsigned net_tx_burst(struct net_queue *q, struct rte_mbuf **pkts, uint16_t n);

/** Most frames the RX faults return for n received: each duplicated, one released. */
#define NET_FAULT_OUT_MAX(n) (2 * (n) + 1)

/**
 * fault.c: apply the RX faults to the @p n frames at @p pkts (room for NET_FAULT_OUT_MAX(n)),
 * received at TSC @p now; a held frame older than NET_FAULT_HOLD_US is released at the end.
 * @return the frames now at @p pkts.
 */
unsigned net_fault_rx(struct net_queue *q, struct rte_mbuf **pkts, unsigned n, uint64_t now);

/** fault.c: apply the TX faults to the @p n frames at @p pkts and send them. @return sent. */
unsigned net_fault_tx(struct net_queue *q, struct rte_mbuf **pkts, unsigned n);

/** fault.c: send a frame to send held back longer than NET_FAULT_HOLD_US. @return frames sent. */
unsigned net_fault_timers(struct net_queue *q, uint64_t now);

/** fault.c: whether a frame is held back (either direction). */
bool net_fault_busy(const struct net_queue *q);

/** fault.c: turn faults off: free the state and the frames it holds (not counted). */
void net_fault_teardown(struct net_queue *q);

#endif /* NC_NET_PRIVATE_H */
