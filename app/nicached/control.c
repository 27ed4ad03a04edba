/* SPDX-License-Identifier: BSD-3-Clause */
#include "control.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "auth_server.h"
#include "cluster.h"
#include "cluster/etcd.h"
#include "cluster_warm.h"
#include "metrics.h"
#include "nic.h"
#include "placement_eal.h"
#include "snapshot.h"
#include "worker.h"

/** Set by the signal handler; read by the control loop. */
static volatile sig_atomic_t control_signal;
/** Set on SIGHUP (read the auth file again); cleared by the control loop. */
static volatile sig_atomic_t control_hup;
/** Set by SIGUSR1 (write a snapshot); cleared by the control loop. */
static volatile sig_atomic_t control_snapshot;
/** The server telemetry callbacks report on (DPDK gives them no argument). */
static struct nc_server *telemetry_srv;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		control_hup = 1;
	else
		control_signal = sig;
}

void
control_stop(void)
{
	control_signal = SIGTERM;
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
	sigaction(SIGHUP, &sa, NULL);
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
	STORE_SHARD_GAUGES(ADD)
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

/* One size class's figures as a telemetry dict (`stats slabs` and `stats items` names). */
static int
telemetry_class(const struct stats_class_sum *c, struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "chunk_size", c->size);
	rte_tel_data_add_dict_u64(d, "chunks_per_page", c->per_page);
	rte_tel_data_add_dict_u64(d, "total_pages", c->pages);
	rte_tel_data_add_dict_u64(d, "total_chunks", c->pages * c->per_page);
	rte_tel_data_add_dict_u64(d, "used_chunks", stats_class_used(c));
	rte_tel_data_add_dict_u64(d, "free_chunks", c->free);
	rte_tel_data_add_dict_u64(d, "pages_moved_in", c->moved_in);
#define TELEMETRY_CLASS_HITS(field, desc) rte_tel_data_add_dict_u64(d, #field, c->hits.field);
	WORKER_CLASS_STATS(TELEMETRY_CLASS_HITS)
#undef TELEMETRY_CLASS_HITS
	rte_tel_data_add_dict_u64(d, "number", stats_class_used(c));
	rte_tel_data_add_dict_u64(d, "age", c->age);
	rte_tel_data_add_dict_u64(d, "evicted", c->evicted);
	rte_tel_data_add_dict_u64(d, "evicted_unfetched", c->evicted_unfetched);
	rte_tel_data_add_dict_u64(d, "reclaimed", c->reclaimed);
	rte_tel_data_add_dict_u64(d, "expired_unfetched", c->expired_unfetched);
	rte_tel_data_add_dict_u64(d, "evicted_nonzero", c->evicted_nonzero);
	rte_tel_data_add_dict_u64(d, "evicted_time", c->evicted_time);
	rte_tel_data_add_dict_u64(d, "evicted_active", c->evicted_active);
	rte_tel_data_add_dict_u64(d, "outofmemory", c->outofmemory);
	rte_tel_data_add_dict_u64(d, "mem_requested", c->mem_requested);
	return 0;
}

/*
 * /nicached/slabs: the size classes in use (memcached's numbers, from 1), as DPDK's list
 * commands do; /nicached/slabs,N: class N's figures (one class per reply: every class's in
 * one would pass telemetry's 16 KB reply limit, which drops what does not fit).
 */
static int
telemetry_classes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct stats_class_sum cs[SLAB_CLASS_MAX];
	unsigned ncls;
	unsigned long want = 0;
	char *end = NULL;

	(void)cmd;
	if (telemetry_srv == NULL)
		return -EAGAIN;
	if (params != NULL && params[0] != '\0') {
		want = strtoul(params, &end, 10);
		if (*end != '\0' || want == 0 || want > SLAB_CLASS_MAX)
			return -EINVAL;
	}
	ncls = stats_classes(telemetry_srv, cs);
	if (want == 0) {
		rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
		for (unsigned c = 0; c < ncls; c++)
			if (cs[c].pages != 0)
				rte_tel_data_add_array_int(d, (int)c + 1);
		return 0;
	}
	if (want > ncls || cs[want - 1].pages == 0)
		return -ENOENT;
	return telemetry_class(&cs[want - 1], d);
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
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/nicached/slabs", telemetry_classes,
						"nicached's size classes in use (memcached's "
						"numbers); with ,N: class N's `stats slabs` and "
						"`stats items` figures");
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
	fprintf(f, "nicached: EAL arguments: %s\n", srv->eal_line);
	placement_banner(srv, f);
	if (s->compression == SETTINGS_COMPRESSION_LZF)
		fprintf(f,
			"nicached: values of %zu bytes or more are stored compressed (LZF) when that "
			"saves at least %u%%; clients see their own bytes\n",
			s->compression_min, s->compression_min_saving);
	if (srv->port != NULL) {
		char text[4096];

		net_port_describe(srv->port, text, sizeof(text));
		fprintf(f, "%s", text);
		fprintf(f,
			"nicached: serving memcached over TCP port %u%s and UDP port %u%s on the "
			"port above\n",
			s->port, s->port ? " (the project's TCP, per worker queue)" : " (off: -p 0)",
			s->udp_port, s->udp_port ? "" : " (off: -U 0)");
		if (s->pdump) {
			char name[RTE_ETH_NAME_MAX_LEN] = "?";
			uint16_t id = net_port_iface(srv->port)->port_id;
			/* EAL's runtime folder is named after the file prefix. */
			const char *dir = rte_eal_get_runtime_dir(), *prefix = strrchr(dir, '/');

			rte_eth_dev_get_name_by_port(id, name);
			fprintf(f,
				"nicached: --pdump: capture with dpdk-dumpcap --file-prefix %s -i %s "
				"-w FILE.pcapng (port %u)\n",
				prefix != NULL ? prefix + 1 : dir, name, id);
		}
	}
	if (srv->auth != NULL)
		fprintf(f,
			"nicached: authentication on (%s): %u users from %s (binary SASL PLAIN and "
			"the text token); UDP off while it is on; SIGHUP reads the file again\n",
			s->sasl ? "-S" : "-Y", nc_auth_count(srv->auth), settings_auth_file(s));
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
	nc_log(NC_LOG_NOTICE, "cluster: %s after %llu ms",
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
		if (control_hup != 0) {
			control_hup = 0;
			auth_server_reload(srv);
		}
		nc_clock_update(&srv->clock);
		/* Larger index tables are made here, off the workers' path, and old ones freed. */
		for (unsigned i = 0; i < srv->nworkers; i++)
			store_shard_index_service(srv->workers[i]->shard);
		/* Membership in etcd: stepped here, never on a request's path. */
		cluster_service(srv);
		cluster_warm_service(srv);
		metrics_service(srv);
		/* Snapshots: SIGUSR1 starts one; a finished one is reaped and logged. */
		{
			bool usr1 = control_snapshot != 0;

			control_snapshot = 0; /* (cleared first: a signal arriving now is kept) */
			snapshot_service(srv, usr1);
		}
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
