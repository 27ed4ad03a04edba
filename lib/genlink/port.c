/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A generator's port (link.h): the first port EAL gives, a queue pair per load thread, a pool
 * for them, the link waited for; and the server's MAC by ARP.
 */
#include <errno.h>
#include <stdio.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "genlink/link.h"

#define RING_DESC   1024
#define POOL_CACHE  256
#define POOL_EXTRA  4096 /* in flight beyond the rings: requests built, replies held */
#define LINK_TRY_MS 1000 /* after a start, before trying again */
#define ARP_TRY_MS  100

/* The RSS types asked for when there are several queues, as far as the device offers them. */
#define RSS_WANTED (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP)

void
genlink_port_conf_default(struct genlink_port_conf *c)
{
	*c = (struct genlink_port_conf){
		.rx_desc = RING_DESC,
		.tx_desc = RING_DESC,
		.rss_hf = RSS_WANTED,
		.mbuf_data_room = RTE_MBUF_DEFAULT_BUF_SIZE,
		.mbuf_cache = POOL_CACHE,
		.mbuf_extra = POOL_EXTRA,
		.promiscuous = -1,
	};
}

/* Configures @p l's port with @p nq queue pairs as @p c says, on a pool of its own. */
static int
port_configure(struct genlink *l, uint16_t nq, const struct genlink_port_conf *c, char *msg,
	       size_t msgcap)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	uint16_t rxd = c->rx_desc, txd = c->tx_desc;
	int socket = (int)rte_socket_id(), rc;
	unsigned mbufs;

	rc = rte_eth_dev_info_get(l->port_id, &info);
	if (rc != 0) {
		snprintf(msg, msgcap, "port %u: %s", l->port_id, rte_strerror(-rc));
		return rc;
	}
	if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
		snprintf(msg, msgcap, "port %u (%s) has %u rx / %u tx queues, %u wanted (one per thread)",
			 l->port_id, info.driver_name, info.max_rx_queues, info.max_tx_queues, nq);
		return -EINVAL;
	}
	if (nq > 1 && (info.flow_type_rss_offloads & c->rss_hf) != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & c->rss_hf;
		if (c->rss_key_len > 0 && c->rss_key_len != info.hash_key_size) {
			snprintf(msg, msgcap, "port %u (%s) takes an RSS key of %u bytes, not %u",
				 l->port_id, info.driver_name, info.hash_key_size, c->rss_key_len);
			return -EINVAL;
		}
		if (c->rss_key_len > 0) {
			conf.rx_adv_conf.rss_conf.rss_key = (uint8_t *)(uintptr_t)c->rss_key;
			conf.rx_adv_conf.rss_conf.rss_key_len = c->rss_key_len;
		}
	}
	mbufs = nq * (unsigned)(c->rx_desc + c->tx_desc + 2u * GENLINK_BURST + c->mbuf_cache) +
		c->mbuf_extra;
	l->pool = rte_pktmbuf_pool_create("genlink", mbufs, c->mbuf_cache, 0, c->mbuf_data_room,
					  socket);
	if (l->pool == NULL) {
		snprintf(msg, msgcap, "mbuf pool of %u: %s", mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	rc = rte_eth_dev_configure(l->port_id, nq, nq, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(l->port_id, &rxd, &txd);
	for (uint16_t q = 0; rc == 0 && q < nq; q++) {
		rc = rte_eth_rx_queue_setup(l->port_id, q, rxd, socket, NULL, l->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(l->port_id, q, txd, socket, NULL);
	}
	if (rc == 0)
		rc = rte_eth_macaddr_get(l->port_id, &l->mac);
	if (rc != 0)
		snprintf(msg, msgcap, "port %u (%s), %u queues: %s", l->port_id, info.driver_name, nq,
			 rte_strerror(-rc));
	return rc;
}

int
genlink_port_start(struct genlink *l, uint16_t nb_queues, const struct genlink_port_conf *conf,
		   unsigned wait_ms, char *msg, size_t msgcap)
{
	struct genlink_port_conf built_in;
	uint16_t port = RTE_MAX_ETHPORTS;
	struct rte_eth_link link;
	int rc;

	if (conf == NULL) {
		genlink_port_conf_default(&built_in);
		conf = &built_in;
	}
	if (conf->device != NULL) {
		if (rte_eth_dev_get_port_by_name(conf->device, &port) != 0) {
			snprintf(msg, msgcap, "no port %s: EAL did not make it (its driver, or a "
				 "--no-pci, -b or other device flag in the EAL arguments?)",
				 conf->device);
			return -ENODEV;
		}
	} else {
		RTE_ETH_FOREACH_DEV (port) {
			break;
		}
	}
	if (port >= RTE_MAX_ETHPORTS) {
		snprintf(msg, msgcap, "no port: give EAL one, e.g. --vdev=net_memif0,role=client,...");
		return -ENODEV;
	}
	l->port_id = port;
	l->queue_id = 0;
	l->tx_queue_id = 0;
	l->hz = rte_get_tsc_hz();
	rc = port_configure(l, nb_queues, conf, msg, msgcap);
	if (rc != 0) {
		rte_mempool_free(l->pool);
		l->pool = NULL;
		return rc;
	}
	/*
	 * A memif client connects only when started: it fails to start while the server's socket
	 * is missing, and a server not yet started drops the connection. Start, give the link a
	 * moment, and stop and start again until it is up.
	 */
	for (unsigned ms = 0;;) {
		rc = rte_eth_dev_start(port);
		/* (A device may not offer the change: it keeps its mode.) */
		if (rc == 0 && conf->promiscuous > 0)
			(void)rte_eth_promiscuous_enable(port);
		else if (rc == 0 && conf->promiscuous == 0)
			(void)rte_eth_promiscuous_disable(port);
		for (unsigned w = 0; rc == 0 && w < LINK_TRY_MS && !genlink_cancelled(l);
		     w += 10, ms += 10) {
			if (rte_eth_link_get_nowait(port, &link) == 0 &&
			    link.link_status == RTE_ETH_LINK_UP)
				return 0;
			rte_delay_ms(10);
		}
		if (rc == 0)
			rte_eth_dev_stop(port);
		if (ms >= wait_ms || genlink_cancelled(l))
			break;
		rte_delay_ms(100);
		ms += 100;
	}
	if (genlink_cancelled(l)) {
		snprintf(msg, msgcap, "port %u: the wait for its link was given up", port);
		rc = -EINTR;
	} else {
		snprintf(msg, msgcap, "port %u: link not up after %u s (%s; is the server running?)",
			 port, wait_ms / 1000, rc == 0 ? "started" : rte_strerror(-rc));
		rc = -ETIMEDOUT;
	}
	rte_eth_dev_close(port);
	rte_mempool_free(l->pool);
	l->pool = NULL;
	return rc;
}

int
genlink_resolve(struct genlink *l, unsigned tries)
{
	for (unsigned t = 0; t < tries && !l->peer_known; t++) {
		if (genlink_cancelled(l))
			return -EINTR;
		genlink_arp_request(l);
		genlink_idle(l, ARP_TRY_MS);
	}
	return l->peer_known ? 0 : -EHOSTUNREACH;
}

void
genlink_port_stop(struct genlink *l)
{
	if (l->pool == NULL)
		return;
	rte_eth_dev_stop(l->port_id);
	rte_eth_dev_close(l->port_id);
	rte_mempool_free(l->pool);
	l->pool = NULL;
}
