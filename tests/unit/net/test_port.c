/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port setup (lib/net/port.c, port_describe.c) on DPDK's null PMD: start with fallbacks for
 * what net_null lacks, the iface from the site, refusals, stats, stop and start again.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

#include "net/neigh.h"
#include "net/port.h"
#include "test_eal.h"

/* The profile a test starts from: net_null0, one queue, every offload wanted (TSO too). */
static void
null_profile(struct net_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "null");
	p->vdev = true;
	snprintf(p->devargs, sizeof(p->devargs), "net_null0");
	p->rx_desc = 512;
	p->tx_desc = 512;
	p->queues = NET_QUEUES_PER_WORKER;
	p->rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
	p->offloads = (struct net_offloads){.rx_ip_cksum = true,
					    .rx_l4_cksum = true,
					    .tx_ip_cksum = true,
					    .tx_udp_cksum = true,
					    .tx_tcp_cksum = true,
					    .tx_tcp_tso = true};
	p->mtu = 1500;
	p->mbuf_data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
	p->mbuf_cache = 32;
	p->mbuf_extra = 256;
}

static void
test_site(struct net_site *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->profile, sizeof(s->profile), "null");
	s->ip = inet_addr("10.99.1.2");
	s->prefix = 24;
	s->gateway = inet_addr("10.99.1.1");
	s->vlan_id = 7;
}

static void
expect_line(const char *text, const char *label, const char *value)
{
	const char *at = strstr(text, label);
	const char *eol;

	if (at == NULL)
		fail_msg("no '%s' line in:\n%s", label, text);
	eol = strchr(at, '\n');
	if (eol == NULL)
		fail_msg("'%s' line not terminated in:\n%s", label, text);
	for (const char *v = at; v + strlen(value) <= eol; v++)
		if (strncmp(v, value, strlen(value)) == 0)
			return;
	fail_msg("'%s' line should say '%s' in:\n%s", label, value, text);
}

static void
test_start_one_queue(void **state)
{
	struct net_profile p;
	struct net_site s;
	struct net_port *port = NULL;
	struct net_port_stats st;
	const struct net_iface *ifc;
	char msg[256], text[4096];
	int rc;

	(void)state;
	null_profile(&p);
	test_site(&s);
	rc = net_port_start(&p, &s, 1, 11211, 0, &port, msg, sizeof(msg));
	if (rc != 0)
		fail_msg("start: %d %s", rc, msg);
	ifc = net_port_iface(port);
	assert_int_equal(ifc->nb_queues, 1);
	assert_int_equal(ifc->ip, inet_addr("10.99.1.2"));
	assert_int_equal(ifc->netmask, inet_addr("255.255.255.0"));
	assert_int_equal(ifc->gateway, inet_addr("10.99.1.1"));
	assert_int_equal(ifc->vlan_id, 7);
	assert_int_equal(ifc->udp_port, 11211);
	assert_int_equal(ifc->tcp_port, 0);
	assert_true(ifc->mtu >= 68);
	assert_non_null(ifc->pool);
	assert_non_null(ifc->neigh);
	/* net_null offers no checksum offload: every one falls back to software */
	assert_false(ifc->offloads.rx_ip_cksum);
	assert_false(ifc->offloads.tx_udp_cksum);
	/* nor TSO: segments cut in software, no TSO limits, no chains */
	assert_false(ifc->offloads.tx_tcp_tso);
	assert_int_equal(ifc->tso.max_payload, 0);
	assert_int_equal(ifc->tso.max_segsz, 0);
	assert_false(ifc->tx_multi_seg);

	net_port_describe(port, text, sizeof(text));
	printf("%s", text);
	expect_line(text, "device", "net_null0");
	expect_line(text, "driver", "net_null");
	expect_line(text, "ipv4", "10.99.1.2/24");
	expect_line(text, "gateway", "10.99.1.1");
	expect_line(text, "vlan", "7");
	expect_line(text, "queues", "1 rx/tx");
	expect_line(text, "rss ", "off: one queue");
	expect_line(text, "tx udp checksum", "software (not offered by net_null)");
	expect_line(text, "rx ipv4 checksum", "software");
	expect_line(text, "tx tcp tso", "software (not offered by net_null)");
	expect_line(text, "tx chains", "copied into one mbuf");
	expect_line(text, "mbuf pool", "nc_mbuf_p");
	expect_line(text, "link", "");

	assert_int_equal(net_port_stats(port, &st), 0);
	assert_int_equal(st.opackets, 0);

	net_port_stop(&port);
	assert_null(port);
	net_port_stop(&port); /* NULL is fine */
}

static void
test_two_queues_rss(void **state)
{
	struct net_profile p;
	struct net_site s;
	struct net_port *port = NULL;
	char msg[256], text[4096];
	int rc;

	(void)state;
	null_profile(&p);
	p.rss_hf |= RTE_ETH_RSS_L3_SRC_ONLY; /* a modifier no driver lists in its offer */
	p.rss_key_len = 16;		     /* no driver takes a 16-byte key */
	test_site(&s);
	s.mtu = 1400;
	rc = net_port_start(&p, &s, 2, 11211, 11211, &port, msg, sizeof(msg));
	if (rc != 0)
		fail_msg("start: %d %s", rc, msg);
	assert_int_equal(net_port_iface(port)->nb_queues, 2);
	assert_int_equal(net_port_iface(port)->mtu, 1400); /* the site's overrides the profile's */
	net_port_describe(port, text, sizeof(text));
	printf("%s", text);
	expect_line(text, "queues", "2 rx/tx");
	/* whatever net_null offers, the modifier is not among it: a fallback line */
	expect_line(text, "rss ", "not offered by net_null");
	net_port_stop(&port);
}

static void
test_refusals(void **state)
{
	struct net_profile p;
	struct net_site s;
	struct net_port *port = NULL;
	char msg[256];

	(void)state;
	null_profile(&p);
	test_site(&s);
	assert_int_equal(net_port_start(&p, &s, 2000, 1, 0, &port, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "at most"));
	assert_null(port);

	p.max_queues = 1;
	assert_int_equal(net_port_start(&p, &s, 2, 1, 0, &port, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "[queues] max"));

	p.max_queues = 0;
	p.queues = NET_QUEUES_ONE;
	assert_int_equal(net_port_start(&p, &s, 2, 1, 0, &port, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "policy one"));

	null_profile(&p);
	p.vdev = false;
	snprintf(p.devargs, sizeof(p.devargs), "{pci}");
	snprintf(s.pci, sizeof(s.pci), "99:1f.7");
	assert_int_equal(net_port_start(&p, &s, 1, 1, 0, &port, msg, sizeof(msg)), -ENODEV);
	assert_non_null(strstr(msg, "0000:99:1f.7"));
	assert_null(port);
}

static void
test_stop_then_start_again(void **state)
{
	struct net_profile p;
	struct net_site s;
	struct net_port *port = NULL;
	char msg[256];

	(void)state;
	null_profile(&p);
	test_site(&s);
	for (int i = 0; i < 3; i++) {
		int rc = net_port_start(&p, &s, 1, 1, 0, &port, msg, sizeof(msg));

		if (rc != 0)
			fail_msg("start %d: %d %s", i, rc, msg);
		net_port_stop(&port);
	}
}

int
main(void)
{
	char prefix[64];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_one_queue),
		cmocka_unit_test(test_two_queues_rss),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_stop_then_start_again),
	};
	int rc;

	snprintf(prefix, sizeof(prefix), "nc_test_port_%d", (int)getpid());
	if (test_eal_start(&(const struct test_eal){
		    .name = "nc_test_port", .prefix = prefix, .vdev = "net_null0"}) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (test_eal_stop() != 0) /* (the prefix is this run's own: its folder goes with it) */
		rc = 1;
	return rc;
}
