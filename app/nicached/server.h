/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_SERVER_H
#define NC_APP_SERVER_H

/*
 * The running appliance: settings, the process-wide pieces every shard shares (clock, CAS
 * source, digest seed, RCU reclaimer) and the workers. Built by server_setup() on the main
 * (control) lcore after EAL init; workers run worker_main() on their lcores; the control
 * lcore runs control_main() until a signal asks it to stop.
 *
 * Threads: everything here is written during setup and teardown only, except `stop` (set by
 * the control lcore, read by workers) and `curr_conns` (atomic, changed on accept/close).
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <rte_lcore.h>
#include <rte_spinlock.h>

#include "core/cas.h"
#include "core/clock.h"
#include "core/digest.h"
#include "latency.h"
#include "net/port.h"
#include "settings.h"
#include "stats.h"
#include "store/shard.h"
#include "store/slab.h"
#include "store/retire.h"

struct worker;
struct cluster_view;
struct cluster_ctl;
struct nc_auth;

/** What `version` and `stats` report: memcached's protocol level, then ours. */
#define NC_VERSION_REPLY "1.6.18 nicached-" NC_VERSION

/**
 * `stats reset`: the counters' sums at the last reset, subtracted from every report (each
 * worker stays the only writer of its own counters). Gauges (curr_items, bytes, ...) are not
 * reset, as in memcached.
 */
struct stats_base {
	rte_spinlock_t lock;
	struct worker_stats workers;
	struct store_shard_stats shards;
	struct stats_class_counters cls[SLAB_CLASS_MAX];
};

struct nc_server {
	struct nc_settings set;
	unsigned nworkers;
	struct worker *workers[RTE_MAX_LCORE];
	struct nc_clock clock;		    /* updated by the control lcore only */
	struct nc_cas_source cas;
	struct nc_digest_seed seed;
	struct nc_digest_key digest_key; /* seed expanded: what every key is digested with */
	struct retire_reclaimer *reclaimer;
	time_t started;			    /* unix time at start (uptime) */
	pid_t pid;
	uint32_t curr_conns;		    /* open client connections, all workers (atomic) */
	uint32_t verbosity;		    /* -v level; `verbosity N` changes it (relaxed) */
	bool stop;			    /* ask workers to leave their loops (atomic) */
	bool detail_on;			    /* stats detail on|off (relaxed) */
	bool lru_crawler_off;		    /* lru_crawler disable|enable (relaxed) */
	uint32_t detail_gen;		    /* stats reset count: per-prefix tables older are empty */
	bool use_hugepages;
	struct stats_base stats_base;	    /* stats reset */
	struct latency_bounds latency;	    /* request latency buckets in cycles (read-only) */
	struct metrics *metrics;	    /* metrics.c: the Prometheus endpoint, or NULL */
	struct cluster_view *cluster;	    /* cluster.h; NULL when not in a cluster */
	struct cluster_ctl *cluster_ctl;    /* cluster.c: membership in etcd, or NULL */
	struct cluster_warm *warm;	    /* cluster_warm.c: a warm-up, or NULL */
	struct nc_auth *auth;		    /* auth_server.h: the users (-S/-Y), or NULL: auth off */
	char eal_line[SETTINGS_EAL_TEXT_LEN + SETTINGS_EAL_ARGV_MAX]; /* EAL arguments (banner) */
	struct snapshot_ctl *snap;	    /* snapshot.c: snapshots and their stats */
	char memory_note[160];		    /* why 4 KiB pages ("" with hugepages or when obvious) */
	/* backend dpdk: the site, the NIC profile it names, and the started port */
	struct net_site site;
	struct net_profile profile;
	struct net_port *port;
	int nic_node;			    /* the NIC's NUMA node in sysfs, -1 unknown (placement.h) */
};

/**
 * [setup, main lcore, after EAL init] Create shards, stacks and workers for @p srv->set,
 * one per worker lcore in EAL order.
 * @return 0; negative errno with a message in @p err naming what failed (e.g. a port in use).
 */
int server_setup(struct nc_server *srv, char *err, size_t errcap);

/** [setup] Destroy what server_setup() made (workers must have stopped). */
void server_teardown(struct nc_server *srv);

/** [any] Whether the server is stopping. */
static inline bool
server_stopping(const struct nc_server *srv)
{
	return __atomic_load_n(&srv->stop, __ATOMIC_ACQUIRE);
}

#endif /* NC_APP_SERVER_H */
