/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a started port is: the banner lines (facts recorded by net_port_start, offloads, the
 * live link) and its counters.
 */
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "port_private.h"

/* Width of the label column: the longest label plus a space. */
#define LABEL_WIDTH 20

/* Append one "label   value" line. */
static void
line(char *buf, size_t cap, size_t *len, const char *label, const char *value)
{
	int n;

	if (*len + 1 >= cap)
		return;
	n = snprintf(buf + *len, cap - *len, "%-*s%s\n", LABEL_WIDTH, label, value);
	if (n < 0)
		return;
	*len = (size_t)n >= cap - *len ? cap - 1 : *len + (size_t)n;
}

size_t
net_port_describe(const struct net_port *p, char *buf, size_t cap)
{
	static const char *const fact_label[] = {
#define FACT_LABEL(id, label) label,
		NET_PORT_FACTS(FACT_LABEL)
#undef FACT_LABEL
	};
	static const char *const offload_label[] = {
#define OFFLOAD_LABEL(field, tx, bits, label) label,
		NET_OFFLOADS(OFFLOAD_LABEL)
#undef OFFLOAD_LABEL
	};
	struct rte_eth_link link;
	char text[NET_FACT_LEN + 32];
	size_t len = 0;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < NET_FACT_COUNT; i++) {
		line(buf, cap, &len, fact_label[i], p->fact[i]);
		/* offloads go after the rss lines */
		if (i == NET_FACT_rss_key)
			for (unsigned o = 0; o < NET_OFFLOAD_COUNT; o++)
				line(buf, cap, &len, offload_label[o], p->offload[o]);
	}
	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(p->port_id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP)
		snprintf(text, sizeof(text), "up, %u Mbps, %s", link.link_speed,
			 link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full duplex" :
									"half duplex");
	else
		snprintf(text, sizeof(text), "down (at start: %s)", p->link_wait);
	line(buf, cap, &len, "link", text);
	return len;
}

int
net_port_stats(const struct net_port *p, struct net_port_stats *st)
{
	struct rte_eth_stats es;
	struct rte_eth_link link;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = rte_eth_stats_get(p->port_id, &es);
	if (rc != 0)
		return rc;
	st->ipackets = es.ipackets;
	st->opackets = es.opackets;
	st->ibytes = es.ibytes;
	st->obytes = es.obytes;
	st->imissed = es.imissed;
	st->ierrors = es.ierrors;
	st->oerrors = es.oerrors;
	st->rx_nombuf = es.rx_nombuf;
	rc = rte_eth_link_get_nowait(p->port_id, &link);
	if (rc != 0)
		return rc;
	st->link_up = link.link_status == RTE_ETH_LINK_UP;
	st->link_speed_mbps = st->link_up ? link.link_speed : 0;
	return 0;
}
