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

#include "core/exit_rmdir.h"
#include "genlink/link.h"
#include "genlink/steer.h"
#include "tcp/tcp.h"

#include "dpdk_site.h"
#include "run.h"

#define EAL_ARGS_MAX   64
#define ARP_TRIES      50 /* 100 ms each */
#define STRAGGLER_MS   200 /* quiet time before a stats request: late replies die out */
#define STATS_CAP      (96 * 1024)
#define STATS_ID       0xfff0

struct mcgen_dpdk {
	unsigned nlinks;
	struct genlink *links; /* one per thread (queue pair) */
	struct genlink_steer *steer; /* several threads: replies to their port's owner */
	unsigned nlcores;
	unsigned lcores[RTE_MAX_LCORE]; /* -l's lcores, in order: thread i runs on lcores[i % n] */
	char *stats; /* a `stats` reply */
	unsigned active; /* load threads entered and not left (atomic) */
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
		l->queue_id = l->tx_queue_id = (uint16_t)i;
		l->ip = src;
		l->peer_ip = server->sin_addr.s_addr;
		l->dport = server->sin_port;
		l->sport = rte_cpu_to_be_16((uint16_t)(o->src_port + i * block));
		/* As the engine splits them (engine.c): the first conns % n threads have one more. */
		l->nsports = (uint16_t)(o->conns / n + (i < o->conns % n));
	}
}

/*
 * Several threads: each one's replies to it, by flow rules where the device takes them and
 * by the threads' rings always (steer.h). Says which on stderr.
 */
static int
steer_setup(struct mcgen_dpdk *d, const struct mcgen_options *o, char *err, size_t errlen)
{
	unsigned n = d->nlinks;
	uint16_t block = (uint16_t)((o->conns + n - 1) / n);
	char why[256];
	int rc;

	if (n < 2)
		return 0;
	rc = genlink_steer_create(d->links[0].port_id, n, (uint16_t)o->src_port, block,
				  (int)rte_socket_id(), &d->steer);
	if (rc < 0) {
		snprintf(err, errlen, "the threads' rings: %s", strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; i < n; i++)
		genlink_steer_attach(d->steer, &d->links[i], (uint16_t)i);
	rc = genlink_steer_flows(d->steer, d->links[0].port_id, why, sizeof(why));
	if (rc > 0)
		fprintf(stderr, "mcgen: %d flow rules steer each thread's ports to its queue; "
			"rings hand over the rest\n", rc);
	else
		fprintf(stderr, "mcgen: no flow rules (rte_flow_validate: %s): replies on another "
			"thread's queue are handed over through rings\n", why);
	return 0;
}

/* -x dpdk-tcp: lib/tcp's active open takes source ports from its ephemeral range only. */
static int
tcp_ports_check(const struct mcgen_options *o, char *err, size_t errlen)
{
	uint64_t n = o->threads, last = o->src_port + (o->conns + n - 1) / n * n - 1;

	if (o->transport != MCGEN_TRANSPORT_DPDK_TCP ||
	    (o->src_port >= TCP_EPHEMERAL_MIN && last <= TCP_EPHEMERAL_MAX))
		return 0;
	snprintf(err, errlen, "-x dpdk-tcp: source ports %llu-%llu are not all in %d-%d "
		 "(lib/tcp's active open): change --src-port",
		 (unsigned long long)o->src_port, (unsigned long long)last, TCP_EPHEMERAL_MIN,
		 TCP_EPHEMERAL_MAX);
	return -EINVAL;
}

/* The port's setup waits (link, ARP) give up when mcgen is interrupted. */
static bool
setup_cancelled(void)
{
	return mcgen_run_interrupted() != 0;
}

/* The MAC of the server: --dst-mac, else ARP on queue 0; then on every link. */
static int
peer_find(struct mcgen_dpdk *d, const struct mcgen_options *o, char *err, size_t errlen)
{
	struct genlink *l0 = &d->links[0];
	int rc;

	if (o->dst_mac[0] != '\0') {
		if (rte_ether_unformat_addr(o->dst_mac, &l0->peer_mac) != 0) {
			snprintf(err, errlen, "--dst-mac '%s': want xx:xx:xx:xx:xx:xx", o->dst_mac);
			return -EINVAL;
		}
		l0->peer_known = true;
	} else if ((rc = genlink_resolve(l0, ARP_TRIES)) != 0) {
		char ip[INET_ADDRSTRLEN];

		if (rc == -EINTR) {
			snprintf(err, errlen, "%s (while asking the server's MAC by ARP)",
				 mcgen_run_interrupted_why());
			return rc;
		}

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
	struct mcgen_site site = {0};
	struct mcgen_dpdk *d;
	struct in_addr src;
	char *eal_folder;
	unsigned lc;
	int argc, rc;

	*out = NULL;
	if (server->ss_family != AF_INET) {
		snprintf(err, errlen, "-x %s: --server must be an IPv4 address",
			 mcgen_transport_name(o->transport));
		return -EINVAL;
	}
	if (o->site[0] != '\0') {
		rc = mcgen_site_load(o->site, o->drivers_dir, (unsigned)o->threads, &site, err,
				     errlen);
		if (rc < 0)
			return rc;
		src.s_addr = site.ip;
	}
	if (o->src_ip[0] != '\0' && inet_pton(AF_INET, o->src_ip, &src) != 1) {
		snprintf(err, errlen, "--src-ip '%s': want an IPv4 address", o->src_ip);
		return -EINVAL;
	}
	rc = tcp_ports_check(o, err, errlen);
	if (rc < 0)
		return rc;
	argc = eal_split(o->eal, words, sizeof(words), argv);
	if (argc < 0 || argc + site.argc > EAL_ARGS_MAX - 1) {
		snprintf(err, errlen, "--eal: more than %d words", EAL_ARGS_MAX - 2 - site.argc);
		return -EINVAL;
	}
	/* The site's device after the user's words (the load finds it by name: site.device). */
	for (int i = 0; i < site.argc; i++)
		argv[argc++] = site.argv[i];
	argv[argc] = NULL;
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
	/* EAL's runtime folder goes at exit (before its own handlers, so it runs after them). */
	eal_folder = nc_exit_rmdir();
	if (rte_eal_init(argc, argv) < 0) {
		snprintf(err, errlen, "EAL (--eal '%s'%s%s): %s", o->eal,
			 site.argc > 0 ? " and the device of " : "", o->site,
			 rte_strerror(rte_errno));
		mcgen_dpdk_teardown(&d);
		return -EINVAL;
	}
	d->eal_up = true;
	if (eal_folder != NULL)
		snprintf(eal_folder, NC_EXIT_RMDIR_PATH_MAX, "%s", rte_eal_get_runtime_dir());
	RTE_LCORE_FOREACH (lc)
		d->lcores[d->nlcores++] = lc;
	/*
	 * A load thread polls without pause: two on one lcore's CPUs starve each other (the one
	 * not running leaves its queue unread for a scheduler slice, its requests time out).
	 */
	if (d->nlcores < d->nlinks) {
		snprintf(err, errlen, "--threads %u needs %u lcores in EAL's -l, it has %u (threads "
			 "poll without pause and cannot share a CPU)", d->nlinks, d->nlinks,
			 d->nlcores);
		mcgen_dpdk_teardown(&d);
		return -EINVAL;
	}
	d->links[0].cancelled = setup_cancelled;
	rc = genlink_port_start(&d->links[0], (uint16_t)d->nlinks,
				o->site[0] != '\0' ? &site.port : NULL,
				(unsigned)(o->link_wait * 1000), err, errlen);
	if (rc == -EINTR)
		snprintf(err, errlen, "%s (while waiting for the link)", mcgen_run_interrupted_why());
	if (rc == 0 && site.argc > 0)
		fprintf(stderr, "mcgen: port %s from --site %s (profile %s)\n", site.device,
			o->site, site.profile);
	if (rc == 0) {
		links_fill(d, o, src.s_addr, sin);
		rc = peer_find(d, o, err, errlen);
	}
	if (rc == 0)
		rc = steer_setup(d, o, err, errlen);
	/* --cross-queues (after ARP on queue 0): each TX queue still has one thread. */
	for (unsigned i = 0; rc == 0 && o->cross_queues && i < d->nlinks; i++)
		d->links[i].tx_queue_id = (uint16_t)((i + 1) % d->nlinks);
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
	genlink_steer_destroy(&d->steer); /* its frames back to the pool before the pool goes */
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
	genlink_steer_drain(&d->links[thread]);
	__atomic_add_fetch(&d->active, 1, __ATOMIC_ACQ_REL);
	return &d->links[thread];
}

/* One receive burst outside the load loop: the thread's frames to the link, others' handed over. */
static void
serve(struct mcgen_thread *t, struct genlink *l)
{
	struct rte_mbuf *pkts[GENLINK_BURST];
	uint16_t n = mcgen_dpdk_receive(t, l, pkts, GENLINK_BURST);
	struct genlink_dgram dg;

	for (uint16_t i = 0; i < n; i++)
		if (genlink_classify(l, pkts[i], &dg) == GENLINK_RX_UDP)
			rte_pktmbuf_free(pkts[i]);
	genlink_tick(l);
}

void
mcgen_dpdk_ready(struct mcgen_thread *t, struct genlink *l)
{
	if (l == NULL) {
		mcgen_engine_ready(t);
		return;
	}
	mcgen_engine_arrive(t);
	while (!mcgen_engine_passed(t))
		serve(t, l);
}

uint16_t
mcgen_dpdk_receive(struct mcgen_thread *t, struct genlink *l, struct rte_mbuf **pkts,
		   uint16_t max)
{
	uint64_t before = l->handoffs;
	uint16_t n = genlink_receive(l, pkts, max);

	if (l->handoffs != before)
		mcgen_engine_count(t, MCGEN_C_handoffs, l->handoffs - before);
	return n;
}

void
mcgen_dpdk_leave(struct mcgen_dpdk *d, struct mcgen_thread *t, struct genlink *l)
{
	__atomic_sub_fetch(&d->active, 1, __ATOMIC_ACQ_REL);
	while (l != NULL && __atomic_load_n(&d->active, __ATOMIC_ACQUIRE) > 0)
		serve(t, l);
	rte_thread_unregister();
}

int
mcgen_dpdk_server_read(struct mcgen_dpdk *d, struct mcgen_server_stats *s, char *err,
		       size_t errlen)
{
	struct genlink link0 = d->links[0], *l = &link0;
	long n;

	/* The main thread alone: queue 0 both ways, nothing handed over. */
	link0.tx_queue_id = link0.queue_id;
	link0.steer = NULL;
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
