/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_IFACE_H
#define NC_NET_IFACE_H

/*
 * Our identity on one DPDK port, shared read-only by every queue of the port once set up:
 * MAC, IPv4 address and subnet, gateway, VLAN, MTU, the ports we serve, which checksum
 * offloads the device accepted (the packet path does in software what the NIC does not),
 * whether it cuts TCP frames itself (TSO) and within which limits, whether it sends chained
 * mbufs, and the faults to inject on every queue (tests only).
 * Built by net_port_start() (port.h) or by hand in tests.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mempool.h>

#include "net/fault.h"

struct net_neigh;

/** Offloads in use on a port (each true only when the device reported it). */
struct net_offloads {
	bool rx_ip_cksum;  /* the NIC checks IPv4 header checksums (mbuf ol_flags say the verdict) */
	bool rx_l4_cksum;  /* the NIC checks UDP/TCP checksums */
	bool tx_ip_cksum;  /* the NIC fills IPv4 header checksums */
	bool tx_udp_cksum; /* the NIC fills UDP checksums */
	bool tx_tcp_cksum; /* the NIC fills TCP checksums */
	bool tx_tcp_tso;   /* the NIC cuts a TCP frame into segments (TSO; chained mbufs) */
};

/*
 * Largest TCP payload of one TSO frame: the IPv4 total length field (65535) less the IPv4
 * and TCP headers without options.
 */
#define NET_TSO_PAYLOAD_MAX (UINT16_MAX - 20 - 20)
/**
 * Most payload mbufs (after the header mbuf) of one TSO frame: 45 send-buffer segments of
 * 1460 bytes fill NET_TSO_PAYLOAD_MAX; smaller MSSs get shorter frames. Each queue's pool
 * share grows by NET_BURST x this much when TSO is on (a full TX batch of such frames).
 */
#define NET_TSO_SEGS_MAX 64

/** What one TSO frame may be on a port (all 0 when TSO is off). */
struct net_tso {
	uint32_t max_payload; /* TCP payload bytes per frame (<= NET_TSO_PAYLOAD_MAX) */
	uint16_t max_segs;    /* payload mbufs chained after the header mbuf */
	uint16_t max_segsz;   /* largest segment size (tso_segsz, the MSS) the device cuts at */
};

/**
 * Mbufs a port's pool holds for each queue's TCP layer (send, receive and out-of-order
 * queues; about 9 MB at 2176-byte mbufs) beyond what its rings and batches need: the TCP
 * context's budget, so connections can never starve the rings of mbufs.
 */
#define NET_TCP_MBUFS_PER_QUEUE 4096

/*
 * An interface: its addresses and VLAN are fixed once it has queues (net_queue_create() copies
 * them into each queue's header template).
 */
struct net_iface {
	uint16_t port_id;
	uint16_t nb_queues;	     /* rx/tx queue pairs, one per worker */
	struct rte_ether_addr mac;
	rte_be32_t ip;		     /* our address */
	rte_be32_t netmask;	     /* from the prefix length */
	rte_be32_t gateway;	     /* 0: none (only on-link peers are reachable) */
	uint16_t vlan_id;	     /* 802.1Q VLAN id we send and accept; 0: untagged */
	uint16_t mtu;		     /* IP MTU (1500 on Ethernet) */
	uint16_t udp_port;	     /* memcached UDP port, host order; 0: UDP off */
	uint16_t tcp_port;	     /* memcached TCP port, host order; 0: off (SYNs get RST) */
	uint32_t tcp_mbufs;	     /* mbufs of the pool set aside for each queue's TCP queues */
	struct net_offloads offloads;
	struct net_tso tso;	     /* TSO limits when offloads.tx_tcp_tso */
	bool tx_multi_seg;	     /* the NIC sends chained mbufs; else chains are copied */
	struct rte_mempool *pool;    /* mbufs for frames we build */
	struct net_neigh *neigh;     /* the port's neighbour (ARP) table */
	struct net_fault fault;	     /* set on each queue by net_queue_create(); zero: off */
};

/** Whether @p ip (network order) is in our subnet. */
static inline bool
net_iface_on_link(const struct net_iface *ifc, rte_be32_t ip)
{
	return ((ip ^ ifc->ip) & ifc->netmask) == 0;
}

/** Largest UDP payload one unfragmented datagram can carry on this interface. */
static inline uint16_t
net_iface_udp_payload_max(const struct net_iface *ifc)
{
	return (uint16_t)(ifc->mtu - 20 - 8);
}

#endif /* NC_NET_IFACE_H */
