/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port setup: a profile checked against what the device reports, with a fallback (and a line
 * saying so) wherever one exists, then configure, pool, queues, start, link, net_iface.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_pci.h>

#include "net/neigh.h"
#include "net/queue.h"
#include "port_private.h"

/* Largest Ethernet frame for an IP MTU: header, one VLAN tag, CRC. */
#define FRAME_OVERHEAD (RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN)

/* Everything start decides before rte_eth_dev_configure. */
struct port_plan {
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint8_t rss_key[NET_RSS_KEY_MAX];
	uint16_t nb_queues, rxd, txd, mtu;
	uint32_t tcp_mbufs; /* per queue, for the TCP layer's queues (0: no TCP) */
	uint32_t tso_mbufs; /* per queue, for a TX batch of TSO frames (0: TSO off) */
	int socket;
};

static void __attribute__((format(printf, 3, 4)))
fact(struct net_port *port, enum net_fact_id id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(port->fact[id], sizeof(port->fact[id]), fmt, ap);
	va_end(ap);
}

/* The ethdev name of the device: the expanded args up to ',', a PCI address normalised. */
static int
find_port(const struct net_profile *p, const struct net_site *s, uint16_t nb_queues,
	  struct net_port *port, char *msg, size_t msgcap)
{
	char buf[NET_DEVARGS_MAX + 16];
	char *argv[2];
	struct rte_pci_addr addr;
	int rc;

	rc = net_port_eal_args(p, s, nb_queues, buf, sizeof(buf), argv, 2, msg, msgcap);
	if (rc < 0)
		return rc;
	snprintf(port->name, sizeof(port->name), "%.*s", (int)strcspn(argv[1], ","), argv[1]);
	if (!p->vdev && rte_pci_addr_parse(port->name, &addr) == 0)
		rte_pci_device_name(&addr, port->name, sizeof(port->name));
	if (rte_eth_dev_get_port_by_name(port->name, &port->port_id) == 0)
		return 0;
	/* A vdev closed by net_port_stop (or never given to EAL) is probed here. */
	if (p->vdev && rte_dev_probe(argv[1]) == 0 &&
	    rte_eth_dev_get_port_by_name(port->name, &port->port_id) == 0)
		return 0;
	net_msg(msg, msgcap, "no DPDK port '%s' (profile %s): %s", port->name, p->name,
		p->vdev ? "the vdev could not be created (see the EAL log)" :
			  "is the device bound to a DPDK-capable driver and in the EAL -a list?");
	return -ENODEV;
}

static int
plan_queues(const struct net_profile *p, struct net_port *port, struct port_plan *pl, char *msg,
	    size_t msgcap)
{
	const struct rte_eth_dev_info *di = &pl->info;

	if (pl->nb_queues == 0) {
		net_msg(msg, msgcap, "port %s: 0 queue pairs asked", port->name);
		return -EINVAL;
	}
	if (p->queues == NET_QUEUES_ONE && pl->nb_queues > 1) {
		net_msg(msg, msgcap,
			"port %s: profile %s has one queue pair (policy one) but %u workers want "
			"one each: run one worker",
			port->name, p->name, pl->nb_queues);
		return -EINVAL;
	}
	if (p->max_queues != 0 && pl->nb_queues > p->max_queues) {
		net_msg(msg, msgcap,
			"port %s: %u queue pairs asked, profile %s allows at most %u ([queues] max)",
			port->name, pl->nb_queues, p->name, p->max_queues);
		return -EINVAL;
	}
	if (pl->nb_queues > di->max_rx_queues || pl->nb_queues > di->max_tx_queues) {
		net_msg(msg, msgcap,
			"port %s: %u queue pairs asked, %s has at most %u rx / %u tx queues",
			port->name, pl->nb_queues, di->driver_name, di->max_rx_queues,
			di->max_tx_queues);
		return -EINVAL;
	}
	fact(port, NET_FACT_queues, "%u rx/tx pairs (device max %u rx, %u tx)", pl->nb_queues,
	     di->max_rx_queues, di->max_tx_queues);
	return 0;
}

static int
plan_descriptors(const struct net_profile *p, struct net_port *port, struct port_plan *pl,
		 char *msg, size_t msgcap)
{
	int rc;

	pl->rxd = p->rx_desc;
	pl->txd = p->tx_desc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port->port_id, &pl->rxd, &pl->txd);
	if (rc != 0) {
		net_msg(msg, msgcap, "port %s: cannot check descriptor counts: %s", port->name,
			rte_strerror(-rc));
		return rc;
	}
	if (pl->rxd == p->rx_desc && pl->txd == p->tx_desc)
		fact(port, NET_FACT_descriptors, "%u rx, %u tx per queue", pl->rxd, pl->txd);
	else
		fact(port, NET_FACT_descriptors,
		     "%u rx, %u tx per queue (profile asks %u, %u: adjusted to device limits)",
		     pl->rxd, pl->txd, p->rx_desc, p->tx_desc);
	return 0;
}

static void
plan_rss(const struct net_profile *p, struct net_port *port, struct port_plan *pl)
{
	const struct rte_eth_dev_info *di = &pl->info;
	struct rte_eth_rss_conf *rc = &pl->conf.rx_adv_conf.rss_conf;
	uint64_t hf = p->rss_hf & di->flow_type_rss_offloads;
	char names[96], lost[96];

	snprintf(port->fact[NET_FACT_rss_key], NET_FACT_LEN, "unused (no RSS)");
	if (pl->nb_queues == 1) {
		fact(port, NET_FACT_rss, "off: one queue");
		return;
	}
	if (p->rss_hf == 0) {
		fact(port, NET_FACT_rss,
		     "off: the profile asks none; flows spread by the driver or not at all");
		return;
	}
	if (di->flow_type_rss_offloads == 0) {
		fact(port, NET_FACT_rss,
		     "not offered by %s; flows spread by the driver (af_packet: kernel fanout) or "
		     "not at all",
		     di->driver_name);
		return;
	}
	if (hf == 0) {
		net_rss_names(p->rss_hf, names, sizeof(names));
		fact(port, NET_FACT_rss, "off: %s offers none of %s", di->driver_name, names);
		return;
	}
	pl->conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	rc->rss_hf = hf;
	net_rss_names(hf, names, sizeof(names));
	if (hf == p->rss_hf) {
		fact(port, NET_FACT_rss, "%s", names);
	} else {
		net_rss_names(p->rss_hf & ~hf, lost, sizeof(lost));
		fact(port, NET_FACT_rss, "%s (not offered by %s: %s)", names, di->driver_name,
		     lost);
	}
	if (p->rss_key_len == 0) {
		fact(port, NET_FACT_rss_key, "driver default");
	} else if (di->hash_key_size == 0) {
		fact(port, NET_FACT_rss_key, "driver default (%s takes no key)", di->driver_name);
	} else if (p->rss_key_len != di->hash_key_size) {
		fact(port, NET_FACT_rss_key,
		     "driver default (profile key has %u bytes, %s takes %u)", p->rss_key_len,
		     di->driver_name, di->hash_key_size);
	} else {
		memcpy(pl->rss_key, p->rss_key, p->rss_key_len);
		rc->rss_key = pl->rss_key;
		rc->rss_key_len = p->rss_key_len;
		fact(port, NET_FACT_rss_key, "%u bytes from the profile", p->rss_key_len);
	}
}

/* Each checksum offload: on when wanted and offered, else done in software. */
static void
plan_offloads(const struct net_profile *p, struct net_port *port, struct port_plan *pl)
{
	const struct rte_eth_dev_info *di = &pl->info;
	struct net_offloads *use = &port->ifc.offloads;

#define PLAN_OFFLOAD(field, tx, bits, label)                                         \
	{                                                                            \
		uint64_t capa = (tx) ? di->tx_offload_capa : di->rx_offload_capa;    \
		char *line = port->offload[NET_OFFLOAD_##field];                     \
                                                                                     \
		use->field = false;                                                  \
		if (!p->offloads.field) {                                            \
			snprintf(line, NET_FACT_LEN, "software (profile: off)");     \
		} else if ((capa & (bits)) != (bits)) {                              \
			snprintf(line, NET_FACT_LEN, "software (not offered by %s)", \
				 di->driver_name);                                   \
		} else {                                                             \
			use->field = true;                                           \
			if (tx)                                                      \
				pl->conf.txmode.offloads |= (bits);                  \
			else                                                         \
				pl->conf.rxmode.offloads |= (bits);                  \
			snprintf(line, NET_FACT_LEN, "on");                          \
		}                                                                    \
	}
	NET_OFFLOADS(PLAN_OFFLOAD)
#undef PLAN_OFFLOAD
}

/*
 * TSO, when plan_offloads() turned it on: the device must take a frame of a header mbuf and
 * several payload mbufs, and a header and one payload mbuf per segment it cuts; else the
 * segments are cut in software (the TSO and multi-segment bits are not requested).
 */
static void
plan_tso(struct net_port *port, struct port_plan *pl)
{
	const struct rte_eth_desc_lim *lim = &pl->info.tx_desc_lim;
	struct net_iface *ifc = &port->ifc;

	memset(&ifc->tso, 0, sizeof(ifc->tso));
	if (!ifc->offloads.tx_tcp_tso)
		return;
	if ((lim->nb_seg_max != 0 && lim->nb_seg_max < 3) ||
	    (lim->nb_mtu_seg_max != 0 && lim->nb_mtu_seg_max < 2)) {
		ifc->offloads.tx_tcp_tso = false;
		pl->conf.txmode.offloads &=
			~(RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
		snprintf(port->offload[NET_OFFLOAD_tx_tcp_tso], NET_FACT_LEN,
			 "software (%s takes %u mbufs a frame, %u a segment: too few to chain)",
			 pl->info.driver_name, lim->nb_seg_max, lim->nb_mtu_seg_max);
		return;
	}
	ifc->tso.max_payload = NET_TSO_PAYLOAD_MAX;
	ifc->tso.max_segs = lim->nb_seg_max == 0 || lim->nb_seg_max - 1 > NET_TSO_SEGS_MAX ?
				    NET_TSO_SEGS_MAX :
				    (uint16_t)(lim->nb_seg_max - 1);
	pl->tso_mbufs = (uint32_t)NET_BURST * ifc->tso.max_segs;
}

/*
 * The largest segment the device cuts a TSO frame into, once the MTU is known, and the
 * banner line. net_tap (rte_gso in the PMD) refuses a frame whose segment size plus all its
 * headers, Ethernet included, exceeds the MTU: its segments are an Ethernet header shorter.
 */
static void
finish_tso(struct net_port *port, const struct port_plan *pl)
{
	struct net_iface *ifc = &port->ifc;
	bool tap = strcmp(pl->info.driver_name, "net_tap") == 0;
	uint16_t l2 = ifc->vlan_id != 0 ? RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN : RTE_ETHER_HDR_LEN;

	if (!ifc->offloads.tx_tcp_tso)
		return;
	ifc->tso.max_segsz = (uint16_t)(ifc->mtu - 40 - (tap ? l2 : 0));
	snprintf(port->offload[NET_OFFLOAD_tx_tcp_tso], NET_FACT_LEN,
		 "on: frames of up to %u B in %u mbufs, segments of up to %u B%s; multi-segment TX "
		 "requested",
		 ifc->tso.max_payload, ifc->tso.max_segs, ifc->tso.max_segsz,
		 tap ? " (net_tap counts the Ethernet header in the MTU)" : "");
}

/* Chained mbufs (TCP segments whose data stays in the send buffer) when the device sends them. */
static void
plan_tx_chains(struct net_port *port, struct port_plan *pl)
{
	/*
	 * Requested only for TSO (a TSO frame is a header mbuf chained with the send buffer's
	 * segments). Otherwise not, even where offered: every frame the path builds is one mbuf
	 * (a TCP segment of at most one MSS, a UDP datagram), and multi-segment TX turns off the
	 * vector TX paths of several PMDs (i40e, ixgbe). A chain handed to net_tcp_output() is
	 * then copied into one mbuf.
	 */
	port->ifc.tx_multi_seg = port->ifc.offloads.tx_tcp_tso;
	if (port->ifc.tx_multi_seg)
		fact(port, NET_FACT_tx_chains,
		     "sent as chains (multi-segment TX requested for TSO)");
	else
		fact(port, NET_FACT_tx_chains,
		     "copied into one mbuf (multi-segment TX not requested%s)",
		     (pl->info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) ?
			     ": keeps vector TX" :
			     "");
}

/* The MTU to ask for, and whether received frames fit one mbuf (else scatter or fail). */
static int
plan_mtu(const struct net_profile *p, const struct net_site *s, struct net_port *port,
	 struct port_plan *pl, char *msg, size_t msgcap)
{
	uint32_t room = (uint32_t)p->mbuf_data_room - RTE_PKTMBUF_HEADROOM;

	pl->mtu = s->mtu != 0 ? s->mtu : p->mtu;
	if ((uint32_t)pl->mtu + FRAME_OVERHEAD <= room)
		return 0;
	if ((pl->info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) == 0) {
		net_msg(msg, msgcap,
			"port %s: mtu %u needs %u-byte frames but an mbuf holds %u and %s cannot "
			"scatter: raise [mempool] data_room in profile %s",
			port->name, pl->mtu, pl->mtu + FRAME_OVERHEAD, room, pl->info.driver_name,
			p->name);
		return -EINVAL;
	}
	pl->conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	return 0;
}

static void
apply_mtu(struct net_port *port, struct port_plan *pl)
{
	uint16_t now = 0;
	int rc = rte_eth_dev_set_mtu(port->port_id, pl->mtu);

	if (rte_eth_dev_get_mtu(port->port_id, &now) != 0)
		now = RTE_ETHER_MTU;
	port->ifc.mtu = now;
	if (rc == 0)
		fact(port, NET_FACT_mtu, "%u%s", now,
		     (pl->conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) != 0 ?
			     " (rx scatter: frames span mbufs)" :
			     "");
	else if (now == pl->mtu)
		fact(port, NET_FACT_mtu, "%u (fixed by %s)", now, pl->info.driver_name);
	else
		fact(port, NET_FACT_mtu, "%u (setting %u failed: %s; kept the device's)", now,
		     pl->mtu, rte_strerror(-rc));
}

/**
 * An mbuf pool whose objects lie back to back, none skipped at page boundaries
 * (RTE_MEMPOOL_F_NO_IOVA_CONTIG). The af_xdp PMD registers its UMEM as populated_size x
 * object size from the first object on: in an ordinary pool on 4 KiB pages (--no-huge) each
 * 2.3 KB object sits alone in its page, so 4 in 10 mbufs lay outside the UMEM, frames sent
 * through them were refused (tx_invalid_descs) and the ones put on the fill ring were lost
 * until the queue went deaf. AF_XDP reads and writes them by virtual address: no IOVA
 * contiguity is needed.
 */
static struct rte_mempool *
packed_pool(const char *name, uint32_t n, uint32_t cache, uint16_t data_room, int socket)
{
	struct rte_pktmbuf_pool_private priv = {.mbuf_data_room_size = data_room};
	struct rte_mempool *mp;

	mp = rte_mempool_create_empty(name, n, sizeof(struct rte_mbuf) + data_room, cache,
				      sizeof(priv), socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL) != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) < 0)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	return NULL;
}

static int
create_pool(const struct net_profile *p, struct net_port *port, struct port_plan *pl, char *msg,
	    size_t msgcap)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	uint32_t n = (uint32_t)pl->nb_queues * (pl->rxd + pl->txd + 2u * NET_BURST + p->mbuf_cache +
						pl->tcp_mbufs + pl->tso_mbufs) +
		     p->mbuf_extra;

	/* rte_mempool wants cache <= n / 1.5 */
	if (n < (uint32_t)p->mbuf_cache * 3 / 2)
		n = (uint32_t)p->mbuf_cache * 3 / 2;
	snprintf(name, sizeof(name), "nc_mbuf_p%u", port->port_id);
	if (strcmp(pl->info.driver_name, "net_af_xdp") == 0)
		port->ifc.pool = packed_pool(name, n, p->mbuf_cache, p->mbuf_data_room, pl->socket);
	else
		port->ifc.pool = rte_pktmbuf_pool_create(name, n, p->mbuf_cache, 0,
							 p->mbuf_data_room, pl->socket);
	if (port->ifc.pool == NULL) {
		net_msg(msg, msgcap, "port %s: cannot create mbuf pool of %u x %u B: %s",
			port->name, n, p->mbuf_data_room, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	fact(port, NET_FACT_pool, "%s: %u mbufs x %u B, cache %u, socket %d", name, n,
	     p->mbuf_data_room, p->mbuf_cache, pl->socket);
	return 0;
}

static int
setup_queues(struct net_port *port, struct port_plan *pl, char *msg, size_t msgcap)
{
	int rc;

	for (uint16_t q = 0; q < pl->nb_queues; q++) {
		rc = rte_eth_rx_queue_setup(port->port_id, q, pl->rxd, (unsigned)pl->socket, NULL,
					    port->ifc.pool);
		if (rc != 0) {
			net_msg(msg, msgcap, "port %s: rx queue %u setup: %s", port->name, q,
				rte_strerror(-rc));
			return rc;
		}
		rc = rte_eth_tx_queue_setup(port->port_id, q, pl->txd, (unsigned)pl->socket, NULL);
		if (rc != 0) {
			net_msg(msg, msgcap, "port %s: tx queue %u setup: %s", port->name, q,
				rte_strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static void
apply_promiscuous(const struct net_profile *p, struct net_port *port)
{
	int rc = p->promiscuous ? rte_eth_promiscuous_enable(port->port_id) :
				  rte_eth_promiscuous_disable(port->port_id);

	if (rc == 0)
		fact(port, NET_FACT_promiscuous, "%s", p->promiscuous ? "on" : "off");
	else
		fact(port, NET_FACT_promiscuous, "%s (turning it %s failed: %s)",
		     rte_eth_promiscuous_get(port->port_id) == 1 ? "on" : "off",
		     p->promiscuous ? "on" : "off", rte_strerror(-rc));
}

/* Wait up to NET_LINK_WAIT_MS for link up; down is noted, never an error. */
static void
wait_link(struct net_port *port)
{
	struct rte_eth_link link = {0};

	for (unsigned ms = 0; ms <= NET_LINK_WAIT_MS; ms += 100) {
		if (rte_eth_link_get_nowait(port->port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			break;
		rte_delay_ms(100);
	}
	if (link.link_status == RTE_ETH_LINK_UP)
		snprintf(port->link_wait, sizeof(port->link_wait), "up at start");
	else
		snprintf(port->link_wait, sizeof(port->link_wait),
			 "down after %u s; serving anyway, frames flow once it is up",
			 NET_LINK_WAIT_MS / 1000);
}

static void
fill_iface(const struct net_site *s, uint16_t udp_port, uint16_t tcp_port, struct net_port *port,
	   struct port_plan *pl)
{
	struct net_iface *ifc = &port->ifc;
	char mac[RTE_ETHER_ADDR_FMT_SIZE], fault[NET_FACT_LEN - 32];
	uint32_t ip = rte_be_to_cpu_32(s->ip), gw = rte_be_to_cpu_32(s->gateway);

	ifc->port_id = port->port_id;
	ifc->nb_queues = pl->nb_queues;
	if (rte_eth_macaddr_get(port->port_id, &ifc->mac) != 0)
		memset(&ifc->mac, 0, sizeof(ifc->mac));
	ifc->ip = s->ip;
	ifc->netmask = rte_cpu_to_be_32(s->prefix == 0 ? 0 : UINT32_MAX << (32 - s->prefix));
	ifc->gateway = s->gateway;
	ifc->vlan_id = s->vlan_id;
	ifc->udp_port = udp_port;
	ifc->tcp_port = tcp_port;
	ifc->fault = s->fault;

	rte_ether_format_addr(mac, sizeof(mac), &ifc->mac);
	fact(port, NET_FACT_device, "%s (port %u)", port->name, port->port_id);
	fact(port, NET_FACT_driver, "%s", pl->info.driver_name);
	fact(port, NET_FACT_mac, "%s", mac);
	fact(port, NET_FACT_ipv4, "%u.%u.%u.%u/%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
	     ip & 0xff, s->prefix);
	if (gw != 0)
		fact(port, NET_FACT_gateway, "%u.%u.%u.%u", gw >> 24, (gw >> 16) & 0xff,
		     (gw >> 8) & 0xff, gw & 0xff);
	else
		fact(port, NET_FACT_gateway, "none (on-link peers only)");
	if (s->vlan_id != 0)
		fact(port, NET_FACT_vlan, "%u (tagged in software)", s->vlan_id);
	else
		fact(port, NET_FACT_vlan, "untagged");
	if (net_fault_active(&s->fault))
		fact(port, NET_FACT_fault, "ON, for tests only: %s",
		     net_fault_format(&s->fault, fault, sizeof(fault)));
	else
		fact(port, NET_FACT_fault, "off");
}

/* Undo whatever start did, in reverse; the port is closed (a vdev also removed). */
static void
teardown(struct net_port *port, bool configured)
{
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;

	if (configured) {
		if (rte_eth_dev_info_get(port->port_id, &info) == 0)
			dev = info.device;
		if (port->started)
			rte_eth_dev_stop(port->port_id);
		rte_eth_dev_close(port->port_id);
		/* Removing the vdev lets a later start probe it afresh. */
		if (port->vdev && dev != NULL)
			rte_dev_remove(dev);
	}
	net_neigh_destroy(&port->ifc.neigh);
	rte_mempool_free(port->ifc.pool);
	free(port);
}

int
net_port_start(const struct net_profile *p, const struct net_site *s, uint16_t nb_queues,
	       uint16_t udp_port, uint16_t tcp_port, struct net_port **out, char *msg,
	       size_t msgcap)
{
	struct net_port *port = calloc(1, sizeof(*port));
	struct port_plan pl = {.nb_queues = nb_queues,
			       .tcp_mbufs = tcp_port != 0 ? NET_TCP_MBUFS_PER_QUEUE : 0};
	bool configured = false;
	int rc;

	*out = NULL;
	if (port == NULL) {
		net_msg(msg, msgcap, "out of memory");
		return -ENOMEM;
	}
	port->vdev = p->vdev;
	rc = find_port(p, s, nb_queues, port, msg, msgcap);
	if (rc == 0) {
		rc = rte_eth_dev_info_get(port->port_id, &pl.info);
		if (rc != 0)
			net_msg(msg, msgcap, "port %s: no device info: %s", port->name,
				rte_strerror(-rc));
	}
	if (rc == 0)
		rc = plan_queues(p, port, &pl, msg, msgcap);
	if (rc == 0)
		rc = plan_descriptors(p, port, &pl, msg, msgcap);
	if (rc == 0)
		rc = plan_mtu(p, s, port, &pl, msg, msgcap);
	if (rc == 0) {
		plan_rss(p, port, &pl);
		plan_offloads(p, port, &pl);
		plan_tso(port, &pl);
		plan_tx_chains(port, &pl);
		pl.socket = rte_eth_dev_socket_id(port->port_id);
		if (pl.socket < 0)
			pl.socket = SOCKET_ID_ANY;
		rc = rte_eth_dev_configure(port->port_id, nb_queues, nb_queues, &pl.conf);
		if (rc != 0)
			net_msg(msg, msgcap, "port %s: configure: %s", port->name,
				rte_strerror(-rc));
		configured = rc == 0;
	}
	if (rc == 0) {
		apply_mtu(port, &pl);
		rc = create_pool(p, port, &pl, msg, msgcap);
	}
	if (rc == 0)
		rc = setup_queues(port, &pl, msg, msgcap);
	if (rc == 0) {
		rc = rte_eth_dev_start(port->port_id);
		if (rc != 0)
			net_msg(msg, msgcap, "port %s: start: %s", port->name, rte_strerror(-rc));
		port->started = rc == 0;
	}
	if (rc == 0) {
		port->ifc.neigh = net_neigh_create(pl.socket);
		if (port->ifc.neigh == NULL) {
			net_msg(msg, msgcap, "port %s: no memory for the neighbour table",
				port->name);
			rc = -ENOMEM;
		}
	}
	if (rc != 0) {
		teardown(port, configured);
		return rc < 0 ? rc : -EIO;
	}
	apply_promiscuous(p, port);
	wait_link(port);
	fill_iface(s, udp_port, tcp_port, port, &pl);
	finish_tso(port, &pl);
	port->ifc.tcp_mbufs = pl.tcp_mbufs;
	*out = port;
	return 0;
}

void
net_port_stop(struct net_port **p)
{
	if (p == NULL || *p == NULL)
		return;
	teardown(*p, true);
	*p = NULL;
}

const struct net_iface *
net_port_iface(const struct net_port *p)
{
	return &p->ifc;
}
