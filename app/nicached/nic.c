/* SPDX-License-Identifier: BSD-3-Clause */
/* The server's DPDK port: site + profile before EAL, port start/stop, `stats nic` figures. */
#include "nic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "net/counters.h"
#include "net/fault.h"
#include "net/neigh.h"
#include "pdump.h"
#include "placement.h"
#include "proto/udp.h"
#include "tcp/tcp.h"
#include "worker.h"

int
nic_prepare(struct nc_server *srv, char *err, size_t errcap)
{
	const struct nc_settings *s = &srv->set;
	char msg[1024 + 512];
	int rc;

	if (s->site[0] == '\0') {
		snprintf(err, errcap,
			 "--backend dpdk needs --site FILE (interface or PCI address and IPv4 "
			 "address; see %s/site.example.ini)",
			 s->drivers_dir);
		return -EINVAL;
	}
	rc = net_site_load(s->site, &srv->site, msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errcap, "--site %s: %s", s->site, msg);
		return rc;
	}
	rc = net_site_profile_load(&srv->site, s->drivers_dir, &srv->profile, msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errcap, "--site %s: %s", s->site, msg);
		return rc;
	}
	srv->nic_node = placement_nic_node("/sys", srv->profile.vdev ? NULL : srv->site.pci,
					   srv->site.iface);
	return 0;
}

int
nic_eal_append(struct nc_server *srv, struct settings_eal *eal, char *err, size_t errcap)
{
	const struct nc_settings *s = &srv->set;
	char msg[512], buf[1024];
	char *argv[4];
	int n;

	n = net_port_eal_args(&srv->profile, &srv->site, s->threads, buf, sizeof(buf), argv, 4,
			      msg, sizeof(msg));
	if (n < 0) {
		snprintf(err, errcap, "NIC profile %s with site %s: %s", srv->profile.name, s->site,
			 msg);
		return n;
	}
	if (srv->profile.vdev)
		n = settings_eal_append(eal, "--no-pci") == 0 ? n : -1;
	for (int i = 0; i < n; i++)
		if (settings_eal_append(eal, argv[i]) != 0)
			n = -1;
	if (n < 0) {
		snprintf(err, errcap, "the EAL arguments do not fit with the device's");
		return -E2BIG;
	}
	return 0;
}

int
nic_start(struct nc_server *srv, char *err, size_t errcap)
{
	const struct nc_settings *s = &srv->set;
	char msg[512];
	int rc;

	/* Checked with the settings already; the port hands the faults to every queue. */
	if (net_fault_parse(s->fault, &srv->site.fault) != 0) {
		snprintf(err, errcap, "--fault: '%s' is not a fault specification", s->fault);
		return -EINVAL;
	}
	rc = net_port_start(&srv->profile, &srv->site, (uint16_t)srv->nworkers,
			    (uint16_t)s->udp_port, (uint16_t)s->port, &srv->port, msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errcap, "port: %s", msg);
		return rc;
	}
	if (s->udp_payload + PROTO_UDP_HEADER_LEN > net_iface_udp_payload_max(net_port_iface(srv->port))) {
		snprintf(err, errcap,
			 "--udp-payload %u: with the %u-byte frame header it does not fit the "
			 "port's MTU %u (at most %u)",
			 s->udp_payload, PROTO_UDP_HEADER_LEN, net_port_iface(srv->port)->mtu,
			 net_iface_udp_payload_max(net_port_iface(srv->port)) - PROTO_UDP_HEADER_LEN);
		return -EINVAL;
	}
	return pdump_start(srv, err, errcap);
}

void
nic_stop(struct nc_server *srv)
{
	pdump_stop(srv);
	net_port_stop(&srv->port);
}

struct neigh_visit {
	nic_text_fn text;
	void *arg;
};

static void
neigh_one(void *arg, rte_be32_t ip, const struct rte_ether_addr *mac, uint64_t age_s)
{
	const struct neigh_visit *v = arg;
	char name[32], addr[INET_ADDRSTRLEN], value[64], mac_text[RTE_ETHER_ADDR_FMT_SIZE];

	inet_ntop(AF_INET, &ip, addr, sizeof(addr));
	rte_ether_format_addr(mac_text, sizeof(mac_text), mac);
	snprintf(name, sizeof(name), "neigh_%s", addr);
	snprintf(value, sizeof(value), "%s age %llu", mac_text, (unsigned long long)age_s);
	v->text(v->arg, name, value);
}

void
nic_stats_visit(const struct nc_server *srv, nic_number_fn num, nic_text_fn text, void *arg)
{
	struct net_counters sum, one;
	struct net_port_stats ps;
	char name[64];

	if (srv->port == NULL)
		return;
	if (net_port_stats(srv->port, &ps) == 0) {
		num(arg, "port_ipackets", ps.ipackets);
		num(arg, "port_opackets", ps.opackets);
		num(arg, "port_ibytes", ps.ibytes);
		num(arg, "port_obytes", ps.obytes);
		num(arg, "port_imissed", ps.imissed);
		num(arg, "port_ierrors", ps.ierrors);
		num(arg, "port_oerrors", ps.oerrors);
		num(arg, "port_rx_nombuf", ps.rx_nombuf);
		num(arg, "port_link_up", ps.link_up);
		num(arg, "port_link_speed_mbps", ps.link_speed_mbps);
	}
	memset(&sum, 0, sizeof(sum));
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct net_counters *c = stack_dpdk_counters(srv->workers[i]->stack);
		uint64_t drops = 0;

		if (c == NULL)
			continue;
		memset(&one, 0, sizeof(one));
		net_counters_add(&one, c);
		net_counters_add(&sum, &one);
		for (unsigned d = 0; d < NET_DROP_MAX; d++)
			drops += one.drop[d];
		snprintf(name, sizeof(name), "q%u_rx_frames", i);
		num(arg, name, one.ev[NET_EV_rx_frames]);
		snprintf(name, sizeof(name), "q%u_udp_delivered", i);
		num(arg, name, one.ev[NET_EV_udp_delivered]);
		snprintf(name, sizeof(name), "q%u_drops", i);
		num(arg, name, drops);
	}
	for (unsigned e = 0; e < NET_EV_MAX; e++)
		num(arg, net_event_name((enum net_event)e), sum.ev[e]);
	for (unsigned d = 0; d < NET_DROP_MAX; d++) {
		snprintf(name, sizeof(name), "drop_%s", net_drop_name((enum net_drop)d));
		num(arg, name, sum.drop[d]);
	}
	if (text != NULL) {
		struct neigh_visit v = {text, arg};

		net_neigh_walk(net_port_iface(srv->port)->neigh,
			       rte_get_tsc_cycles() / rte_get_tsc_hz(), neigh_one, &v);
	}
}

void
nic_tcp_visit(const struct nc_server *srv, nic_number_fn num, void *arg)
{
	/*
	 * Each queue's counters read once: the sums are of the figures the q<i>_ lines give.
	 * (One copy per lcore at most, as srv->workers[]: about 40 KiB of the caller's stack.)
	 */
	struct tcp_counters per[RTE_MAX_LCORE];
	struct tcp_counters sum;
	struct tcp_gauges all = {0}, g;
	char name[64];
	bool any = false;

	memset(&sum, 0, sizeof(sum));
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct tcp_ctx *t = stack_dpdk_tcp(srv->workers[i]->stack);

		if (t == NULL)
			continue;
		any = true;
		memset(&per[i], 0, sizeof(per[i]));
		tcp_counters_add(&per[i], tcp_counters(t)); /* (relaxed loads) */
		tcp_counters_add(&sum, &per[i]);
		tcp_gauges(t, &g);
		all.conns += g.conns;
		all.syn_rcvd += g.syn_rcvd;
		all.time_wait += g.time_wait;
		all.mbufs += g.mbufs;
		all.queues += g.queues;
		snprintf(name, sizeof(name), "q%u_tcp_conns", i);
		num(arg, name, g.conns);
	}
	if (any) {
		num(arg, "tcp_conns", all.conns);
		num(arg, "tcp_syn_rcvd", all.syn_rcvd);
		num(arg, "tcp_time_wait", all.time_wait);
		num(arg, "tcp_mbufs", all.mbufs);
		num(arg, "tcp_queues", all.queues);
		for (unsigned c = 0; c < TCP_C_MAX; c++)
			num(arg, tcp_counter_name((enum tcp_counter)c), sum.c[c]);
	}
	/* One queue: its counters are the sums above. */
	for (unsigned i = 0; any && srv->nworkers > 1 && i < srv->nworkers; i++) {
		if (stack_dpdk_tcp(srv->workers[i]->stack) == NULL)
			continue;
		for (unsigned c = 0; c < TCP_C_MAX; c++) {
			snprintf(name, sizeof(name), "q%u_%s", i,
				 tcp_counter_name((enum tcp_counter)c));
			num(arg, name, per[i].c[c]);
		}
	}
}
