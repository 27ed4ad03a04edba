/* SPDX-License-Identifier: BSD-3-Clause */
/* mcgen's DPDK side: EAL, the port, the threads' lcores, the server's stats (dpdk.h). */
#include "dpdk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_thread.h>

#include "genlink/link.h"

#define EAL_ARGS_MAX   64
#define LINK_WAIT_MS   10000
#define ARP_TRIES      50 /* 100 ms each */
#define STRAGGLER_MS   200 /* quiet time before a stats request: late replies die out */
#define STATS_CAP      (96 * 1024)
#define STATS_ID       0xfff0

struct mcgen_dpdk {
	unsigned nlinks;
	struct genlink *links; /* one per thread (queue pair) */
	unsigned nlcores;
	unsigned lcores[RTE_MAX_LCORE]; /* -l's lcores, in order: thread i runs on lcores[i % n] */
	char *stats; /* a `stats` reply */
	bool eal_up;
};

/* Splits --eal into @p argv (words in @p buf, argv[0] "mcgen"). Returns the count or -E2BIG. */
static int
eal_split(const char *eal, char *buf, size_t cap, char **argv)
{
	int argc = 0;

	snprintf(buf, cap, "%s", eal);
	argv[argc++] = "mcgen";
	for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w != NULL;
	     w = strtok_r(NULL, " \t", &save)) {
		if (argc == EAL_ARGS_MAX - 1)
			return -E2BIG;
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	return argc;
}

/* Fills every thread's link from queue 0's, set up by genlink_port_start. */
static void
links_fill(struct mcgen_dpdk *d, const struct mcgen_options *o, rte_be32_t src,
	   const struct sockaddr_in *server)
{
	unsigned n = d->nlinks;
	unsigned block = (unsigned)((o->conns + n - 1) / n);

	for (unsigned i = 0; i < n; i++) {
		struct genlink *l = &d->links[i];

		if (i > 0)
			*l = d->links[0];
		l->queue_id = (uint16_t)i;
		l->ip = src;
		l->peer_ip = server->sin_addr.s_addr;
		l->dport = server->sin_port;
		l->sport = rte_cpu_to_be_16((uint16_t)(o->src_port + i * block));
		/* As the engine splits them (engine.c): the first conns % n threads have one more. */
		l->nsports = (uint16_t)(o->conns / n + (i < o->conns % n));
	}
}

/* The MAC of the server: --dst-mac, else ARP on queue 0; then on every link. */
static int
peer_find(struct mcgen_dpdk *d, const struct mcgen_options *o, char *err, size_t errlen)
{
	struct genlink *l0 = &d->links[0];

	if (o->dst_mac[0] != '\0') {
		if (rte_ether_unformat_addr(o->dst_mac, &l0->peer_mac) != 0) {
			snprintf(err, errlen, "--dst-mac '%s': want xx:xx:xx:xx:xx:xx", o->dst_mac);
			return -EINVAL;
		}
		l0->peer_known = true;
	} else if (genlink_resolve(l0, ARP_TRIES) != 0) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &l0->peer_ip, ip, sizeof(ip));
		snprintf(err, errlen, "no ARP reply from %s in %u s (give --dst-mac?)", ip,
			 ARP_TRIES / 10);
		return -EHOSTUNREACH;
	}
	for (unsigned i = 1; i < d->nlinks; i++) {
		d->links[i].peer_mac = l0->peer_mac;
		d->links[i].peer_known = true;
	}
	return 0;
}

int
mcgen_dpdk_setup(const struct mcgen_options *o, const struct sockaddr_storage *server,
		 struct mcgen_dpdk **out, char *err, size_t errlen)
{
	char words[MCGEN_STR_LEN], *argv[EAL_ARGS_MAX];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)server;
	struct mcgen_dpdk *d;
	struct in_addr src;
	unsigned lc;
	int argc, rc;

	*out = NULL;
	if (server->ss_family != AF_INET) {
		snprintf(err, errlen, "-x %s: --server must be an IPv4 address",
			 mcgen_transport_name(o->transport));
		return -EINVAL;
	}
	if (inet_pton(AF_INET, o->src_ip, &src) != 1) {
		snprintf(err, errlen, "--src-ip '%s': want an IPv4 address", o->src_ip);
		return -EINVAL;
	}
	argc = eal_split(o->eal, words, sizeof(words), argv);
	if (argc < 0) {
		snprintf(err, errlen, "--eal: more than %d words", EAL_ARGS_MAX - 2);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (d != NULL) {
		d->nlinks = (unsigned)o->threads;
		d->links = calloc(d->nlinks, sizeof(*d->links));
		d->stats = malloc(STATS_CAP);
	}
	if (d == NULL || d->links == NULL || d->stats == NULL) {
		snprintf(err, errlen, "out of memory");
		mcgen_dpdk_teardown(&d);
		return -ENOMEM;
	}
	if (rte_eal_init(argc, argv) < 0) {
		snprintf(err, errlen, "EAL (--eal '%s'): %s", o->eal, rte_strerror(rte_errno));
		mcgen_dpdk_teardown(&d);
		return -EINVAL;
	}
	d->eal_up = true;
	RTE_LCORE_FOREACH (lc)
		d->lcores[d->nlcores++] = lc;
	rc = genlink_port_start(&d->links[0], (uint16_t)d->nlinks, LINK_WAIT_MS, err, errlen);
	if (rc == 0) {
		links_fill(d, o, src.s_addr, sin);
		rc = peer_find(d, o, err, errlen);
	}
	if (rc == 0 && d->nlinks > 1 && d->nlcores < d->nlinks)
		fprintf(stderr, "mcgen: %u threads on %u lcores of EAL's -l: some share a CPU\n",
			d->nlinks, d->nlcores);
	if (rc != 0) {
		mcgen_dpdk_teardown(&d);
		return rc;
	}
	*out = d;
	return 0;
}

void
mcgen_dpdk_teardown(struct mcgen_dpdk **dp)
{
	struct mcgen_dpdk *d = *dp;

	if (d == NULL)
		return;
	if (d->links != NULL)
		genlink_port_stop(&d->links[0]);
	if (d->eal_up)
		rte_eal_cleanup();
	free(d->links);
	free(d->stats);
	free(d);
	*dp = NULL;
}

struct genlink *
mcgen_dpdk_enter(struct mcgen_dpdk *d, unsigned thread, char *err, size_t errlen)
{
	rte_cpuset_t cpus;

	if (thread >= d->nlinks) {
		snprintf(err, errlen, "thread %u: the port has %u queue pairs", thread, d->nlinks);
		return NULL;
	}
	cpus = rte_lcore_cpuset(d->lcores[thread % d->nlcores]);
	if (rte_thread_set_affinity(&cpus) != 0) {
		snprintf(err, errlen, "thread %u: cannot pin to lcore %u's CPUs", thread,
			 d->lcores[thread % d->nlcores]);
		return NULL;
	}
	if (rte_thread_register() != 0) {
		snprintf(err, errlen, "thread %u: no lcore id for it: %s", thread,
			 rte_strerror(rte_errno));
		return NULL;
	}
	return &d->links[thread];
}

void
mcgen_dpdk_leave(struct mcgen_dpdk *d)
{
	(void)d;
	rte_thread_unregister();
}

int
mcgen_dpdk_server_read(struct mcgen_dpdk *d, struct mcgen_server_stats *s, char *err,
		       size_t errlen)
{
	struct genlink *l = &d->links[0];
	long n;

	genlink_idle(l, STRAGGLER_MS);
	n = genlink_stats_fetch(l, NULL, STATS_ID, d->stats, STATS_CAP);
	if (n < 0) {
		snprintf(err, errlen, "the server's stats: %s", strerror((int)-n));
		return (int)n;
	}
#define MCGEN_SERVER_READ(name)                                                           \
	if (genlink_stats_value(d->stats, #name, &s->name) != 0) {                         \
		snprintf(err, errlen, "the server's stats: no numeric STAT %s", #name);     \
		return -ENOENT;                                                            \
	}
	MCGEN_SERVER_STATS(MCGEN_SERVER_READ)
#undef MCGEN_SERVER_READ
	return 0;
}

void
mcgen_dpdk_server_cost(const struct mcgen_server_stats *s0, const struct mcgen_server_stats *s1,
		       double seconds, struct mcgen_server_cost *c)
{
	double busy, driver;

	*c = (struct mcgen_server_cost){0};
	if (s1->requests <= s0->requests + 1 || s1->busy_cycles < s0->busy_cycles ||
	    s1->busy_driver_cycles < s0->busy_driver_cycles)
		return;
	c->requests = s1->requests - s0->requests - 1;
	busy = (double)(s1->busy_cycles - s0->busy_cycles);
	driver = (double)(s1->busy_driver_cycles - s0->busy_driver_cycles);
	c->cycles = busy / (double)c->requests;
	c->app_cycles = (busy - driver) / (double)c->requests;
	c->busy_percent = seconds > 0 && s1->tsc_hz > 0 ? busy / (seconds * (double)s1->tsc_hz) * 100
							: 0;
	c->valid = true;
}
