/* SPDX-License-Identifier: BSD-3-Clause */
#include "control.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <rte_telemetry.h>

#include "cluster.h"
#include "cluster/etcd.h"
#include "cluster_warm.h"
#include "nic.h"
#include "snapshot.h"
#include "worker.h"

/** Set by the signal handler; read by the control loop. */
static volatile sig_atomic_t control_signal;
/** Set by SIGUSR1 (write a snapshot); cleared by the control loop. */
static volatile sig_atomic_t control_snapshot;
/** The server telemetry callbacks report on (DPDK gives them no argument). */
static struct nc_server *telemetry_srv;

static void
on_signal(int sig)
{
	control_signal = sig;
}

static void
on_usr1(int sig)
{
	(void)sig;
	control_snapshot = 1;
}

void
control_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static int
telemetry_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct nc_server *srv = telemetry_srv;
	struct worker_stats ws;
	struct store_shard_stats ss;
	struct snapshot_stats snap;

	(void)cmd;
	(void)params;
	if (srv == NULL)
		return -EAGAIN;
	stats_sum_workers(srv, &ws);
	stats_sum_shards(srv, &ss);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "pid", (uint64_t)srv->pid);
	rte_tel_data_add_dict_u64(d, "uptime", (uint64_t)(time(NULL) - srv->started));
	rte_tel_data_add_dict_u64(d, "curr_connections",
				  __atomic_load_n(&srv->curr_conns, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(d, "threads", srv->nworkers);
	rte_tel_data_add_dict_u64(d, "limit_maxbytes",
				  (uint64_t)srv->set.memory_limit * 1024 * 1024);
#define ADD(name, desc) rte_tel_data_add_dict_u64(d, #name, ws.name);
	WORKER_STATS(ADD)
#undef ADD
#define ADD(name, desc) rte_tel_data_add_dict_u64(d, #name, ss.name);
	STORE_SHARD_STATS(ADD)
#undef ADD
	snapshot_stats_get(srv, &snap);
#define ADD(name, desc) rte_tel_data_add_dict_u64(d, #name, snap.name);
	SNAPSHOT_STATS(ADD)
#undef ADD
	return 0;
}

static int
telemetry_settings(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct settings_stat st[SETTINGS_STATS_MAX];
	unsigned n;

	(void)cmd;
	(void)params;
	if (telemetry_srv == NULL)
		return -EAGAIN;
	n = settings_stats(&telemetry_srv->set, st, SETTINGS_STATS_MAX);
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < n; i++)
		rte_tel_data_add_dict_string(d, st[i].name, st[i].value);
	return 0;
}

static void
telemetry_nic_number(void *arg, const char *name, uint64_t value)
{
	rte_tel_data_add_dict_u64(arg, name, value);
}

static int
telemetry_nic(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	if (telemetry_srv == NULL)
		return -EAGAIN;
	rte_tel_data_start_dict(d);
	nic_stats_visit(telemetry_srv, telemetry_nic_number, NULL, d);
	return 0;
}

static int
telemetry_tcp(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	if (telemetry_srv == NULL)
		return -EAGAIN;
	rte_tel_data_start_dict(d);
	nic_tcp_visit(telemetry_srv, telemetry_nic_number, d);
	return 0;
}

int
control_telemetry(struct nc_server *srv)
{
	int rc;

	telemetry_srv = srv;
	rc = rte_telemetry_register_cmd("/nicached/stats", telemetry_stats,
					"nicached's `stats`: counters summed over every worker");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/nicached/settings", telemetry_settings,
						"nicached's `stats settings`");
	if (rc == 0 && srv->port != NULL)
		rc = rte_telemetry_register_cmd("/nicached/nic", telemetry_nic,
						"nicached's `stats nic`: port counters, packet "
						"path events and drops by reason");
	if (rc == 0 && srv->port != NULL)
		rc = rte_telemetry_register_cmd("/nicached/tcp", telemetry_tcp,
						"nicached's `stats tcp`: TCP counters of the "
						"DPDK path, summed over the workers' queues");
	return rc;
}

void
control_banner(const struct nc_server *srv, FILE *f)
{
	const struct nc_settings *s = &srv->set;

	fprintf(f,
		"nicached %s: backend %s, %u worker%s + control lcore, %u MB item memory "
		"(%u MB per shard), listen %s tcp %s%u udp %s%u, max %u connections, "
		"EAL memory %s%s%s\n",
		NC_VERSION, s->backend == SETTINGS_BACKEND_DPDK ? "dpdk" : "socket", srv->nworkers,
		srv->nworkers == 1 ? "" : "s", s->memory_limit, s->memory_limit / srv->nworkers,
		s->listen, s->port ? "" : "off/", s->port, s->udp_port ? "" : "off/", s->udp_port,
		s->conn_limit, srv->use_hugepages ? "hugepages" : "4 KiB pages (--no-huge)",
		srv->memory_note[0] != '\0' ? ": " : "", srv->memory_note);
	if (srv->port != NULL) {
		char text[4096];

		net_port_describe(srv->port, text, sizeof(text));
		fprintf(f, "%s", text);
		fprintf(f,
			"nicached: serving memcached over TCP port %u%s and UDP port %u%s on the "
			"port above\n",
			s->port, s->port ? " (the project's TCP, per worker queue)" : " (off: -p 0)",
			s->udp_port, s->udp_port ? "" : " (off: -U 0)");
	}
	if (cluster_view_get(srv) != NULL) {
		const struct cluster_view *v = cluster_view_get(srv);

		fprintf(f,
			"nicached: cluster of %u members (%s), this node %s; ketama "
			"placement as libmemcached's; `config get cluster` answers auto-discovery; "
			"%u %s of each key (%s); requests for other members' keys are proxied "
			"to the key's primary\n",
			v->nmembers, srv->cluster_ctl != NULL ? "etcd" : "static --peers",
			v->self == CLUSTER_NOT_MEMBER ? "(not listed yet)"
						      : nc_ring_member_name(v->ring, v->self),
			s->replicas, s->replicas == 1 ? "copy" : "copies",
			s->replicas == 1 ? "no replication" :
			s->replication == SETTINGS_REPLICATION_QUORUM ?
					   "writes answered once a majority of copies hold them" :
					   "replicated asynchronously");
	}
	fflush(f);
}

/* Whether the hand-over begun at @p start (ms) is done or out of time (said on stderr). */
static bool
handover_over(const struct nc_server *srv, uint64_t start)
{
	uint64_t ms = nc_etcd_now_ms() - start;
	bool done = cluster_handover_done(srv);

	if (!done && ms < (uint64_t)srv->set.handover_max * 1000)
		return false;
	fprintf(stderr, "nicached: cluster: %s after %llu ms\n",
		done ? "keys handed over" : "hand-over cut short", (unsigned long long)ms);
	return true;
}

void
control_main(struct nc_server *srv)
{
	const struct timespec tick = {0, 2 * 1000 * 1000};

	uint64_t handover_start = 0;
	bool handing_over = false;

	for (;;) {
		if (control_signal != 0 && !handing_over) {
			/* Stopping: a member of an etcd cluster hands its keys over first. */
			handing_over = cluster_handover_begin(srv);
			handover_start = nc_etcd_now_ms();
			if (!handing_over)
				break;
		}
		if (handing_over && handover_over(srv, handover_start))
			break;
		nc_clock_update(&srv->clock);
		/* Larger index tables are made here, off the workers' path, and old ones freed. */
		for (unsigned i = 0; i < srv->nworkers; i++)
			store_shard_index_service(srv->workers[i]->shard);
		/* Membership in etcd: stepped here, never on a request's path. */
		cluster_service(srv);
		cluster_warm_service(srv);
		/* Snapshots: SIGUSR1 starts one; a finished one is reaped and logged. */
		snapshot_service(srv, control_snapshot != 0);
		control_snapshot = 0;
		nanosleep(&tick, NULL);
	}
	__atomic_store_n(&srv->stop, true, __ATOMIC_RELEASE);
}

void
control_final_stats(const struct nc_server *srv, FILE *f)
{
	struct worker_stats ws;
	struct store_shard_stats ss;

	stats_sum_workers(srv, &ws);
	stats_sum_shards(srv, &ss);
	fprintf(f,
		"nicached: stopped (signal %d) after %lld s: total_connections %llu, cmd_get %llu "
		"(hits %llu), cmd_set %llu, curr_items %llu, evictions %llu, bytes_read %llu, "
		"bytes_written %llu\n",
		(int)control_signal, (long long)(time(NULL) - srv->started),
		(unsigned long long)ws.total_connections, (unsigned long long)ws.cmd_get,
		(unsigned long long)ws.get_hits, (unsigned long long)ws.cmd_set,
		(unsigned long long)ss.curr_items, (unsigned long long)ss.evictions,
		(unsigned long long)ws.bytes_read, (unsigned long long)ws.bytes_written);
	fflush(f);
}
