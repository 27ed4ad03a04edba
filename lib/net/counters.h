/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_COUNTERS_H
#define NC_NET_COUNTERS_H

/*
 * Counters of one port queue's packet path: what was received, answered and sent, and every
 * drop with its reason. One X-macro list gives the enum, the struct and the names shown by
 * `stats nic` and the /nicached/nic telemetry command. A queue belongs to one worker, which is
 * the only writer (relaxed stores); readers on other threads use relaxed loads and sum queues.
 */

#include <stdint.h>

#include <rte_common.h>

/* X(name, description): events that are not drops. */
#define NET_EVENTS(X)                                                                     \
	X(rx_frames, "frames received from the NIC queue")                               \
	X(rx_bytes, "bytes of the frames received")                                      \
	X(rx_bursts, "receive bursts that returned frames (rx_frames / rx_bursts: frames a burst)") \
	X(tx_frames, "frames handed to the NIC queue")                                   \
	X(tx_bytes, "bytes of the frames handed to the NIC queue")                       \
	X(arp_answered, "ARP requests for our address answered")                         \
	X(arp_requests_sent, "ARP requests we sent (neighbours we need)")                \
	X(arp_learned, "neighbour entries learned or refreshed")                         \
	X(icmp_echo_answered, "ICMP echo requests answered")                             \
	X(udp_delivered, "UDP datagrams for our port handed to the server")              \
	X(tcp_delivered, "TCP segments to our address handed to the TCP layer")          \
	X(tcp_rst_sent, "TCP segments answered with RST (TCP delivery off: no TCP layer)") \
	X(tcp_segs_sent, "TCP segments the TCP layer sent (net_tcp_output; TSO: the NIC's cuts)") \
	X(tcp_tso_frames, "TCP frames of several segments handed to the NIC to cut (TSO)") \
	X(ip_fragments, "IPv4 fragments received")                                       \
	X(ip_reassembled, "IPv4 datagrams reassembled from fragments")                   \
	X(driver_cycles, "TSC cycles spent inside rte_eth_rx_burst and rte_eth_tx_burst") \
	X(fault_dropped, "frames dropped by fault injection (rx and tx)")               \
	X(fault_duplicated, "frames duplicated by fault injection (rx and tx)")         \
	X(fault_reordered, "frames held back behind the next one by fault injection")   \
	X(fault_corrupted, "frames with one bit flipped by fault injection (rx and tx)")

/* X(name, description): every reason a frame is dropped. */
#define NET_DROPS(X)                                                                      \
	X(truncated, "frame shorter than the headers it carries say")                    \
	X(not_for_us, "destination MAC or IPv4 address is not ours")                     \
	X(vlan, "802.1Q tag of another VLAN, or a tag where none is configured")         \
	X(l3_unsupported, "ethertype other than IPv4 and ARP (IPv6 included)")           \
	X(ip_version, "IP version field is not 4")                                       \
	X(ip_header, "IPv4 header length below 20 or total length inconsistent")         \
	X(ip_checksum, "IPv4 header checksum wrong")                                     \
	X(ip_ttl, "IPv4 TTL is 0")                                                       \
	X(ip_source, "source address broadcast, multicast, zero, loopback or ours")      \
	X(l4_unsupported, "IP protocol other than ICMP, UDP and TCP")                    \
	X(udp_length, "UDP length field disagrees with the IPv4 length")                 \
	X(udp_checksum, "UDP checksum wrong")                                            \
	X(udp_port, "UDP to a port we do not serve")                                     \
	X(icmp_checksum, "ICMP checksum wrong")                                          \
	X(icmp_type, "ICMP other than echo request")                                     \
	X(icmp_too_big, "ICMP echo requests whose reply would not fit the MTU unfragmented") \
	X(tcp_header, "TCP header malformed (data offset, length) or checksum wrong")    \
	X(tcp_ignored, "TCP delivery off: a RST, not answered")                          \
	X(tcp_rx_full, "TCP segments not handed up: the burst's output array was full")  \
	X(arp_bad, "ARP with hardware/protocol types or lengths we do not handle")       \
	X(arp_ignored, "ARP not about our address (nothing to answer or learn)")         \
	X(frag_dropped, "IPv4 fragments given up: timeout, duplicate, too many, too long, bad") \
	X(frag_overlap, "IPv4 fragments of a datagram whose fragments overlap or disagree")  \
	X(frag_evicted, "IPv4 fragments freed or refused for room: flow table or mbuf cap full") \
	X(no_neighbour, "frames not sent: next hop MAC unknown (an ARP request went out)") \
	X(no_mbuf, "frames not built: mbuf pool empty")                                  \
	X(tx_chain, "chained frames not sent: no multi-segment TX and too long to copy into one mbuf") \
	X(tx_full, "frames the NIC queue had no room for")                              \
	X(tx_prepare, "frames the driver's tx_prepare refused (offload metadata it cannot send)")

enum net_event {
#define NET_EVENT_ENUM(name, desc) NET_EV_##name,
	NET_EVENTS(NET_EVENT_ENUM)
#undef NET_EVENT_ENUM
	NET_EV_MAX
};

enum net_drop {
#define NET_DROP_ENUM(name, desc) NET_DROP_##name,
	NET_DROPS(NET_DROP_ENUM)
#undef NET_DROP_ENUM
	NET_DROP_MAX
};

/** One queue's counters (one writer: the queue's worker). */
struct net_counters {
	uint64_t ev[NET_EV_MAX];
	uint64_t drop[NET_DROP_MAX];
} __rte_cache_aligned;

/** Add n to counter c of the caller's own block (relaxed store; one writer). */
#define NET_COUNT(cnt, arr, idx, n)                                                          \
	__atomic_store_n(&(cnt)->arr[idx], __atomic_load_n(&(cnt)->arr[idx], __ATOMIC_RELAXED) + \
						   (n),                                          \
			 __ATOMIC_RELAXED)
#define NET_EVENT(cnt, name, n) NET_COUNT(cnt, ev, NET_EV_##name, n)
#define NET_DROP(cnt, name) NET_COUNT(cnt, drop, NET_DROP_##name, 1)

/** The name of event @p e ("rx_frames"), or NULL when out of range. */
const char *net_event_name(enum net_event e);

/** The name of drop reason @p d ("ip_checksum"), or NULL when out of range. */
const char *net_drop_name(enum net_drop d);

/** Add every counter of @p from to @p to (relaxed loads of @p from). Any thread. */
void net_counters_add(struct net_counters *to, const struct net_counters *from);

#endif /* NC_NET_COUNTERS_H */
