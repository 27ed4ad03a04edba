/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_PORT_PRIVATE_H
#define NC_NET_PORT_PRIVATE_H

/*
 * Shared by the port-setup files (profile.c, site.c, port_ini.c, port.c, port_describe.c):
 * the name tables (RSS hash types, checksum offloads), the INI key-table walker both file
 * formats use, and struct net_port with the facts net_port_describe() prints.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>

#include "net/port.h"

/*
 * RSS hash type names accepted in a profile's [rss] types, each with its RTE_ETH_RSS_* bits.
 * Single protocols first, then the groups (ip, udp, tcp, ...) DPDK defines over them;
 * net_rss_names() prints bits back with the single names only.
 */
#define NET_RSS_TYPES(X)                                      \
	X("eth", RTE_ETH_RSS_ETH, true)                       \
	X("l2-payload", RTE_ETH_RSS_L2_PAYLOAD, true)         \
	X("ipv4", RTE_ETH_RSS_IPV4, true)                     \
	X("frag-ipv4", RTE_ETH_RSS_FRAG_IPV4, true)           \
	X("ipv4-tcp", RTE_ETH_RSS_NONFRAG_IPV4_TCP, true)     \
	X("ipv4-udp", RTE_ETH_RSS_NONFRAG_IPV4_UDP, true)     \
	X("ipv4-sctp", RTE_ETH_RSS_NONFRAG_IPV4_SCTP, true)   \
	X("ipv4-other", RTE_ETH_RSS_NONFRAG_IPV4_OTHER, true) \
	X("ipv6", RTE_ETH_RSS_IPV6, true)                     \
	X("frag-ipv6", RTE_ETH_RSS_FRAG_IPV6, true)           \
	X("ipv6-tcp", RTE_ETH_RSS_NONFRAG_IPV6_TCP, true)     \
	X("ipv6-udp", RTE_ETH_RSS_NONFRAG_IPV6_UDP, true)     \
	X("ipv6-sctp", RTE_ETH_RSS_NONFRAG_IPV6_SCTP, true)   \
	X("ipv6-other", RTE_ETH_RSS_NONFRAG_IPV6_OTHER, true) \
	X("ipv6-ex", RTE_ETH_RSS_IPV6_EX, true)               \
	X("ipv6-tcp-ex", RTE_ETH_RSS_IPV6_TCP_EX, true)       \
	X("ipv6-udp-ex", RTE_ETH_RSS_IPV6_UDP_EX, true)       \
	X("port", RTE_ETH_RSS_PORT, true)                     \
	X("vxlan", RTE_ETH_RSS_VXLAN, true)                   \
	X("geneve", RTE_ETH_RSS_GENEVE, true)                 \
	X("nvgre", RTE_ETH_RSS_NVGRE, true)                   \
	X("gtpu", RTE_ETH_RSS_GTPU, true)                     \
	X("s-vlan", RTE_ETH_RSS_S_VLAN, true)                 \
	X("c-vlan", RTE_ETH_RSS_C_VLAN, true)                 \
	X("esp", RTE_ETH_RSS_ESP, true)                       \
	X("ah", RTE_ETH_RSS_AH, true)                         \
	X("l3-src-only", RTE_ETH_RSS_L3_SRC_ONLY, true)       \
	X("l3-dst-only", RTE_ETH_RSS_L3_DST_ONLY, true)       \
	X("l4-src-only", RTE_ETH_RSS_L4_SRC_ONLY, true)       \
	X("l4-dst-only", RTE_ETH_RSS_L4_DST_ONLY, true)       \
	X("ip", RTE_ETH_RSS_IP, false)                        \
	X("udp", RTE_ETH_RSS_UDP, false)                      \
	X("tcp", RTE_ETH_RSS_TCP, false)                      \
	X("sctp", RTE_ETH_RSS_SCTP, false)                    \
	X("tunnel", RTE_ETH_RSS_TUNNEL, false)                \
	X("vlan", RTE_ETH_RSS_VLAN, false)

/*
 * Offloads: the struct net_offloads field (also the profile's [offloads] key), rx or tx, the
 * RTE_ETH_{RX,TX}_OFFLOAD_* bits that must all be offered (and are all requested), and the
 * banner label. TSO needs the TCP and IPv4 checksum offloads (the NIC fills them in every
 * segment it cuts) and multi-segment TX (a frame is a header mbuf chained with the send
 * buffer's segments).
 */
#define NET_TSO_BITS                                                 \
	(RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
	 RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
#define NET_OFFLOADS(X)                                                                    \
	X(rx_ip_cksum, false, RTE_ETH_RX_OFFLOAD_IPV4_CKSUM, "rx ipv4 checksum")           \
	X(rx_l4_cksum, false, RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM, \
	  "rx udp/tcp checksum")                                                           \
	X(tx_ip_cksum, true, RTE_ETH_TX_OFFLOAD_IPV4_CKSUM, "tx ipv4 checksum")            \
	X(tx_udp_cksum, true, RTE_ETH_TX_OFFLOAD_UDP_CKSUM, "tx udp checksum")             \
	X(tx_tcp_cksum, true, RTE_ETH_TX_OFFLOAD_TCP_CKSUM, "tx tcp checksum")             \
	X(tx_tcp_tso, true, NET_TSO_BITS, "tx tcp tso")

#define NET_OFFLOAD_ENUM(field, tx, bits, label) NET_OFFLOAD_##field,
enum net_offload_id {
	NET_OFFLOADS(NET_OFFLOAD_ENUM) NET_OFFLOAD_COUNT
};
#undef NET_OFFLOAD_ENUM

/*
 * The banner, one line per fact, in print order. The offload lines come from NET_OFFLOADS.
 * Facts decided at start are stored as text in struct net_port; "link" is read live.
 */
#define NET_PORT_FACTS(X)             \
	X(device, "device")           \
	X(driver, "driver")           \
	X(mac, "mac")                 \
	X(ipv4, "ipv4")               \
	X(gateway, "gateway")         \
	X(vlan, "vlan")               \
	X(mtu, "mtu")                 \
	X(queues, "queues")           \
	X(descriptors, "descriptors") \
	X(rss, "rss")                 \
	X(rss_key, "rss key")         \
	X(promiscuous, "promiscuous") \
	X(tx_chains, "tx chains")     \
	X(pool, "mbuf pool")          \
	X(fault, "fault injection")

#define NET_FACT_ENUM(id, label) NET_FACT_##id,
enum net_fact_id {
	NET_PORT_FACTS(NET_FACT_ENUM) NET_FACT_COUNT
};
#undef NET_FACT_ENUM

#define NET_FACT_LEN 160

/** Seconds net_port_start() waits for link up (it never fails on link down). */
#define NET_LINK_WAIT_MS 3000

struct net_port {
	uint16_t port_id;
	bool vdev;    /* the device came from a vdev profile */
	bool started; /* rte_eth_dev_start succeeded */
	char name[RTE_ETH_NAME_MAX_LEN];
	struct net_iface ifc;
	char fact[NET_FACT_COUNT][NET_FACT_LEN];
	char offload[NET_OFFLOAD_COUNT][NET_FACT_LEN];
	char link_wait[NET_FACT_LEN]; /* what start saw after waiting for link */
};

/** Bits of @p name in the RSS table. @return true with *bits; false for an unknown name. */
bool net_rss_lookup(const char *name, uint64_t *bits);

/**
 * Print @p bits as space-separated RSS type names (single names only; bits with no name as
 * one hex number). @return bytes written, truncated to cap - 1.
 */
size_t net_rss_names(uint64_t bits, char *buf, size_t cap);

/* ---- INI files (port_ini.c) ---- */

/**
 * One key a file format accepts: its section, name and parser. A parser stores the value in
 * @p obj and returns 0, or returns -EINVAL with the reason in @p why.
 */
struct net_ini_key {
	const char *section;
	const char *key;
	int (*parse)(void *obj, const char *value, char *why, size_t whycap);
};

/**
 * Load @p path with rte_cfgfile ('#' comments) and hand every entry to its parser in
 * @p keys. Unknown sections and keys, keys given twice, and bad values are errors; @p msg
 * names file, section and key. Set *seen[i] for every key i that was given (may be NULL).
 * @return 0; -ENOENT (no such file); -EINVAL; -ENOMEM.
 */
int net_ini_read(const char *path, const struct net_ini_key *keys, unsigned nkeys, void *obj,
		 bool *seen, char *msg, size_t msgcap);

/** Format @p fmt into @p msg (when not NULL and @p msgcap > 0). */
void net_msg(char *msg, size_t msgcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Parse a whole decimal number in [lo, hi]. @return 0, or -EINVAL with @p why. */
int net_parse_uint(const char *v, unsigned long lo, unsigned long hi, unsigned long *out, char *why,
		   size_t whycap);

/** Parse yes/no/true/false/on/off/1/0. @return 0, or -EINVAL with @p why. */
int net_parse_bool(const char *v, bool *out, char *why, size_t whycap);

/** Copy @p v into @p dst (@p cap bytes). @return 0, or -EINVAL (too long) with @p why. */
int net_parse_str(const char *v, char *dst, size_t cap, char *why, size_t whycap);

#endif /* NC_NET_PORT_PRIVATE_H */
