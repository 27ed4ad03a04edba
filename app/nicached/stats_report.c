/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `stats [group]`: memcached's names, summed on request from every worker's counters and
 * every shard's (relaxed reads; nothing on the data path is shared). The reply is a list of
 * name/value pairs formatted into the asking worker's stats buffers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <rte_cycles.h>

#include "cluster.h"
#include "nic.h"
#include "snapshot.h"
#include "worker.h"

/** Most lines of one stats reply, and the bytes behind them. */
#define STATS_LINES_MAX 8192
#define STATS_TEXT_MAX (1u << 20)

struct stats_out {
	struct worker *w;
	uint32_t n;
	uint32_t used;
};

static int
stats_begin(struct worker *w, struct stats_out *o)
{
	if (w->stat_items == NULL) {
		w->stat_items = malloc(STATS_LINES_MAX * sizeof(*w->stat_items));
		w->stat_text = malloc(STATS_TEXT_MAX);
		if (w->stat_items == NULL || w->stat_text == NULL) {
			free(w->stat_items);
			free(w->stat_text);
			w->stat_items = NULL;
			w->stat_text = NULL;
			return -ENOMEM;
		}
	}
	o->w = w;
	o->n = 0;
	o->used = 0;
	return 0;
}

/** Copy a string into the text buffer; NULL when full. */
static const char *
stats_str(struct stats_out *o, const char *s, size_t len)
{
	char *p = o->w->stat_text + o->used;

	if (STATS_TEXT_MAX - o->used < len + 1)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	o->used += (uint32_t)len + 1;
	return p;
}

/** Add one line: name (formatted from name_fmt with one optional number) and a value. */
static void __attribute__((format(printf, 3, 4)))
stat_add(struct stats_out *o, const char *name, const char *fmt, ...)
{
	char value[256];
	va_list ap;
	const char *n, *v;
	int len;

	if (o->n == STATS_LINES_MAX)
		return;
	va_start(ap, fmt);
	len = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	n = stats_str(o, name, strlen(name));
	v = stats_str(o, value, (size_t)len < sizeof(value) ? (size_t)len : sizeof(value) - 1);
	if (n == NULL || v == NULL)
		return;
	o->w->stat_items[o->n].name = n;
	o->w->stat_items[o->n].value = v;
	o->n++;
}

static void
stats_end(struct stats_out *o, struct proto_result *res)
{
	res->status = PROTO_ST_STATS;
	res->stats = o->w->stat_items;
	res->nstats = o->n;
}

/** Every worker's counters summed, as counted since the start. */
static void
sum_workers_raw(const struct nc_server *srv, struct worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct worker_stats *s = &srv->workers[i]->stats;

#define STATS_SUM(name, desc) out->name += __atomic_load_n(&s->name, __ATOMIC_RELAXED);
		WORKER_STATS(STATS_SUM)
#undef STATS_SUM
		for (unsigned c = 0; c < SLAB_CLASS_MAX; c++) {
#define STATS_SUM(name, desc) \
	out->cls[c].name += __atomic_load_n(&s->cls[c].name, __ATOMIC_RELAXED);
			WORKER_CLASS_STATS(STATS_SUM)
#undef STATS_SUM
		}
	}
}

/** Every shard's counters summed, as counted since the start. */
static void
sum_shards_raw(const struct nc_server *srv, struct store_shard_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct store_shard_stats s;

		store_shard_stats_get(srv->workers[i]->shard, &s);
#define STATS_SUM(name, desc) out->name += s.name;
		STORE_SHARD_STATS(STATS_SUM)
		STORE_SHARD_GAUGES(STATS_SUM)
#undef STATS_SUM
	}
}

/** Every shard's per-class counters summed, as counted since the start. */
static void
sum_classes_raw(const struct nc_server *srv, struct stats_class_counters *out)
{
	memset(out, 0, sizeof(*out) * SLAB_CLASS_MAX);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct slab *sl = store_shard_slab(srv->workers[i]->shard);

		for (unsigned c = 0; c < sl->nclasses; c++) {
#define STATS_SUM(f) out[c].f += __atomic_load_n(&sl->cls[c].f, __ATOMIC_RELAXED);
			STATS_CLASS_COUNTERS(STATS_SUM)
#undef STATS_SUM
		}
	}
}

/* A counter less its value at the last reset (a counter never goes back; 0 if it seems to). */
static inline uint64_t
since(uint64_t now, uint64_t base)
{
	return now > base ? now - base : 0;
}

void
stats_sum_workers(const struct nc_server *srv, struct worker_stats *out)
{
	struct stats_base *b = (struct stats_base *)&srv->stats_base;

	sum_workers_raw(srv, out);
	rte_spinlock_lock(&b->lock);
#define STATS_SINCE(name, desc) out->name = since(out->name, b->workers.name);
	WORKER_STATS(STATS_SINCE)
#undef STATS_SINCE
	for (unsigned c = 0; c < SLAB_CLASS_MAX; c++) {
#define STATS_SINCE(name, desc) \
	out->cls[c].name = since(out->cls[c].name, b->workers.cls[c].name);
		WORKER_CLASS_STATS(STATS_SINCE)
#undef STATS_SINCE
	}
	rte_spinlock_unlock(&b->lock);
}

void
stats_sum_shards(const struct nc_server *srv, struct store_shard_stats *out)
{
	struct stats_base *b = (struct stats_base *)&srv->stats_base;
	struct store_shard_stats now;

	sum_shards_raw(srv, &now);
	rte_spinlock_lock(&b->lock);
#define STATS_SINCE(name, desc) out->name = since(now.name, b->shards.name);
	STORE_SHARD_STATS(STATS_SINCE)
#undef STATS_SINCE
	rte_spinlock_unlock(&b->lock);
	/* gauges: what there is now */
#define STATS_NOW(name, desc) out->name = now.name;
	STORE_SHARD_GAUGES(STATS_NOW)
#undef STATS_NOW
}

void
stats_reset(struct nc_server *srv)
{
	struct stats_base *b = &srv->stats_base;
	struct worker_stats ws;
	struct store_shard_stats ss;
	struct stats_class_counters cls[SLAB_CLASS_MAX];

	sum_workers_raw(srv, &ws);
	sum_shards_raw(srv, &ss);
	sum_classes_raw(srv, cls);
	rte_spinlock_lock(&b->lock);
	b->workers = ws;
	b->shards = ss;
	memcpy(b->cls, cls, sizeof(cls));
	rte_spinlock_unlock(&b->lock);
	/* memcached empties its per-prefix counters too: each worker empties its own table. */
	__atomic_add_fetch(&srv->detail_gen, 1, __ATOMIC_RELAXED);
}

static double
tv_seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Connection structures every worker made (memcached's connection_structures). */
static uint64_t
conn_structures(const struct nc_server *srv)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < srv->nworkers; i++)
		n += __atomic_load_n(&srv->workers[i]->nconns, __ATOMIC_RELAXED);
	return n;
}

/* The largest shard's index slots: each shard has its own table, as memcached has one. */
static uint64_t
max_shard_entries(const struct nc_server *srv)
{
	uint64_t most = 0;

	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct store_shard_stats s;

		store_shard_stats_get(srv->workers[i]->shard, &s);
		if (s.hash_entries > most)
			most = s.hash_entries;
	}
	return most;
}

static unsigned
log2_floor(uint64_t v)
{
	unsigned n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

static void
stats_general(struct worker *w, struct stats_out *o)
{
	const struct nc_server *srv = w->srv;
	struct worker_stats ws;
	struct store_shard_stats ss;
	struct snapshot_stats snap;
	struct rusage ru;
	time_t now = time(NULL);

	stats_sum_workers(srv, &ws);
	stats_sum_shards(srv, &ss);
	getrusage(RUSAGE_SELF, &ru);
	stat_add(o, "pid", "%d", (int)srv->pid);
	stat_add(o, "uptime", "%lld", (long long)(now - srv->started));
	stat_add(o, "time", "%lld", (long long)now);
	stat_add(o, "version", "%s", NC_VERSION_REPLY);
	stat_add(o, "pointer_size", "%zu", sizeof(void *) * 8);
	stat_add(o, "rusage_user", "%.6f", tv_seconds(&ru.ru_utime));
	stat_add(o, "rusage_system", "%.6f", tv_seconds(&ru.ru_stime));
	stat_add(o, "max_connections", "%u", srv->set.conn_limit);
	stat_add(o, "curr_connections", "%u",
		 __atomic_load_n(&srv->curr_conns, __ATOMIC_RELAXED));
#define STATS_LINE(name, desc) stat_add(o, #name, "%llu", (unsigned long long)ws.name);
	WORKER_STATS(STATS_LINE)
#undef STATS_LINE
	/* memcached's names for what they mean here. */
	stat_add(o, "connection_structures", "%llu", (unsigned long long)conn_structures(srv));
	stat_add(o, "listen_disabled_num", "%llu", (unsigned long long)ws.rejected_connections);
	stat_add(o, "slabs_moved", "%llu", (unsigned long long)ss.slab_reassigns);
	stat_add(o, "malloc_fails", "%llu", (unsigned long long)ws.store_no_memory);
	stat_add(o, "crawler_reclaimed", "%llu", (unsigned long long)ss.ttl_expired);
	stat_add(o, "hash_power_level", "%u", log2_floor(max_shard_entries(srv)));
	stat_add(o, "hash_algorithm", "%s", nc_digest_kind_name(srv->digest_key.kind));
	stat_add(o, "limit_maxbytes", "%llu",
		 (unsigned long long)srv->set.memory_limit * 1024 * 1024);
	stat_add(o, "accepting_conns", "1");
	stat_add(o, "threads", "%u", srv->nworkers);
	stat_add(o, "backend", "%s", srv->set.backend == SETTINGS_BACKEND_DPDK ? "dpdk" : "socket");
	stat_add(o, "tsc_hz", "%llu", (unsigned long long)rte_get_tsc_hz());
	stat_add(o, "cycles_per_request", "%.1f",
		 ws.requests ? (double)ws.busy_cycles / (double)ws.requests : 0.0);
	stat_add(o, "app_cycles_per_request", "%.1f",
		 ws.requests ? (double)(ws.busy_cycles - ws.busy_driver_cycles) / (double)ws.requests
			     : 0.0);
	stat_add(o, "busy_percent", "%.1f",
		 ws.busy_cycles + ws.idle_cycles
			 ? 100.0 * (double)ws.busy_cycles / (double)(ws.busy_cycles + ws.idle_cycles)
			 : 0.0);
#define STATS_LINE(name, desc) stat_add(o, #name, "%llu", (unsigned long long)ss.name);
	STORE_SHARD_GAUGES(STATS_LINE)
	STORE_SHARD_STATS(STATS_LINE)
#undef STATS_LINE
	snapshot_stats_get(srv, &snap);
#define STATS_LINE(name, desc) stat_add(o, #name, "%llu", (unsigned long long)snap.name);
	SNAPSHOT_STATS(STATS_LINE)
#undef STATS_LINE
}

static void
stats_settings(struct worker *w, struct stats_out *o)
{
	struct settings_stat st[SETTINGS_STATS_MAX];
	struct nc_settings now = w->srv->set;
	unsigned n;

	/* What changes while running: `verbosity N`. */
	now.verbose = __atomic_load_n(&w->srv->verbosity, __ATOMIC_RELAXED);
	n = settings_stats(&now, st, SETTINGS_STATS_MAX);
	for (unsigned i = 0; i < n; i++)
		stat_add(o, st[i].name, "%s", st[i].value);
}

unsigned
stats_classes(const struct nc_server *srv, struct stats_class_sum *cs)
{
	struct stats_base *b = (struct stats_base *)&srv->stats_base;
	struct stats_class_counters now[SLAB_CLASS_MAX];
	nc_reltime_t tail[SLAB_CLASS_MAX] = {0}, sec = nc_clock_now(&srv->clock);
	struct worker_stats ws;
	unsigned ncls = 0;

	memset(cs, 0, sizeof(*cs) * SLAB_CLASS_MAX);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct slab *sl = store_shard_slab(srv->workers[i]->shard);

		ncls = sl->nclasses;
		for (unsigned c = 0; c < sl->nclasses; c++) {
			const struct slab_class *k = &sl->cls[c];

			cs[c].size = k->size;
			cs[c].per_page = k->per_page;
			cs[c].pages += __atomic_load_n(&k->npages, __ATOMIC_RELAXED);
			cs[c].free += __atomic_load_n(&k->nfree, __ATOMIC_RELAXED);
			cs[c].retired += __atomic_load_n(&k->nretired, __ATOMIC_RELAXED);
			cs[c].mem_requested += __atomic_load_n(&k->mem_requested, __ATOMIC_RELAXED);
			/* age: the oldest of the shards' tails (0: no tail there) */
			{
				nc_reltime_t t = __atomic_load_n(&k->tail_atime, __ATOMIC_RELAXED);

				if (t != 0 && (tail[c] == 0 || t < tail[c]))
					tail[c] = t;
			}
			/* the latest eviction of any shard: the smallest age is the newest */
			if (__atomic_load_n(&k->evicted, __ATOMIC_RELAXED) != 0) {
				uint64_t t = __atomic_load_n(&k->evicted_time, __ATOMIC_RELAXED);

				if (cs[c].evicted_time == 0 || t < cs[c].evicted_time)
					cs[c].evicted_time = t;
			}
		}
	}
	sum_classes_raw(srv, now);
	rte_spinlock_lock(&b->lock);
	for (unsigned c = 0; c < ncls; c++) {
		cs[c].evicted = since(now[c].evicted, b->cls[c].evicted);
		cs[c].evicted_unfetched =
			since(now[c].evicted_unfetched, b->cls[c].evicted_unfetched);
		cs[c].reclaimed = since(now[c].reclaimed, b->cls[c].reclaimed);
		cs[c].expired_unfetched =
			since(now[c].expired_unfetched, b->cls[c].expired_unfetched);
		cs[c].moved_in = since(now[c].pages_moved_in, b->cls[c].pages_moved_in);
		cs[c].evicted_nonzero = since(now[c].evicted_nonzero, b->cls[c].evicted_nonzero);
		cs[c].evicted_active = since(now[c].evicted_active, b->cls[c].evicted_active);
		cs[c].outofmemory = since(now[c].outofmemory, b->cls[c].outofmemory);
	}
	rte_spinlock_unlock(&b->lock);
	stats_sum_workers(srv, &ws);
	for (unsigned c = 0; c < ncls; c++) {
		cs[c].age = tail[c] != 0 && sec > tail[c] ? sec - tail[c] : 0;
		cs[c].hits = ws.cls[c];
	}
	return ncls;
}

uint64_t
stats_class_used(const struct stats_class_sum *c)
{
	uint64_t total = c->pages * c->per_page;
	uint64_t idle = c->free + c->retired;

	return total > idle ? total - idle : 0;
}

static void
stats_slabs(struct worker *w, struct stats_out *o)
{
	struct stats_class_sum cs[SLAB_CLASS_MAX];
	unsigned ncls = stats_classes(w->srv, cs), active = 0;
	uint64_t pages = 0;
	char name[64];

	for (unsigned c = 0; c < ncls; c++) {
		unsigned id = c + 1; /* memcached numbers classes from 1 */

		if (cs[c].pages == 0)
			continue;
		active++;
		pages += cs[c].pages;
#define SLAB_LINE(field, fmt, v)                                       \
	snprintf(name, sizeof(name), "%u:" field, id);                 \
	stat_add(o, name, fmt, v);
		SLAB_LINE("chunk_size", "%llu", (unsigned long long)cs[c].size)
		SLAB_LINE("chunks_per_page", "%llu", (unsigned long long)cs[c].per_page)
		SLAB_LINE("total_pages", "%llu", (unsigned long long)cs[c].pages)
		SLAB_LINE("total_chunks", "%llu", (unsigned long long)(cs[c].pages * cs[c].per_page))
		SLAB_LINE("used_chunks", "%llu", (unsigned long long)stats_class_used(&cs[c]))
		SLAB_LINE("free_chunks", "%llu", (unsigned long long)cs[c].free)
		SLAB_LINE("free_chunks_end", "%u", 0u)
		SLAB_LINE("pages_moved_in", "%llu", (unsigned long long)cs[c].moved_in)
#define SLAB_HITS_LINE(field, desc) \
	SLAB_LINE(#field, "%llu", (unsigned long long)cs[c].hits.field)
		WORKER_CLASS_STATS(SLAB_HITS_LINE)
#undef SLAB_HITS_LINE
#undef SLAB_LINE
	}
	stat_add(o, "active_slabs", "%u", active);
	stat_add(o, "total_malloced", "%llu", (unsigned long long)pages * 1024 * 1024);
}

static void
stats_items(struct worker *w, struct stats_out *o)
{
	struct stats_class_sum cs[SLAB_CLASS_MAX];
	unsigned ncls = stats_classes(w->srv, cs);
	char name[64];

	for (unsigned c = 0; c < ncls; c++) {
		unsigned id = c + 1;

		if (cs[c].pages == 0)
			continue;
#define ITEM_LINE(field, v)                                              \
	snprintf(name, sizeof(name), "items:%u:" field, id);             \
	stat_add(o, name, "%llu", (unsigned long long)(v));
		ITEM_LINE("number", stats_class_used(&cs[c]))
		ITEM_LINE("age", cs[c].age)
		ITEM_LINE("evicted", cs[c].evicted)
		ITEM_LINE("evicted_unfetched", cs[c].evicted_unfetched)
		ITEM_LINE("reclaimed", cs[c].reclaimed)
		ITEM_LINE("expired_unfetched", cs[c].expired_unfetched)
		ITEM_LINE("evicted_nonzero", cs[c].evicted_nonzero)
		ITEM_LINE("evicted_time", cs[c].evicted_time)
		ITEM_LINE("evicted_active", cs[c].evicted_active)
		ITEM_LINE("outofmemory", cs[c].outofmemory)
		ITEM_LINE("mem_requested", cs[c].mem_requested)
#undef ITEM_LINE
	}
}

char *
stats_conns_text(struct worker *w, uint32_t *len)
{
	nc_reltime_t now = nc_clock_now(&w->srv->clock);
	size_t cap = 256, used = 0;
	char *t = malloc(cap);

	for (uint32_t i = 0; t != NULL && i < w->nconns; i++) {
		const struct conn *c = w->conns[i];
		int n;

		if (!c->in_use || c->is_udp)
			continue;
		while (cap - used < 512) {
			char *nt = realloc(t, cap * 2);

			if (nt == NULL) {
				free(t);
				return NULL;
			}
			t = nt;
			cap *= 2;
		}
		n = snprintf(t + used, cap - used,
			     "%d:addr\ttcp:%s\n%d:state\t%s\n%d:secs_since_last_cmd\t%u\n", c->id,
			     c->peer_name, c->id,
			     c->state == CONN_ACTIVE ? "conn_parse_cmd" : "conn_waiting", c->id,
			     now - c->last_cmd);
		used += (size_t)n;
	}
	if (t != NULL)
		t[used] = '\0';
	*len = (uint32_t)used;
	return t;
}

/** Turn "name\tvalue\n" lines into stats lines. */
static void
stats_from_text(struct stats_out *o, const char *t, uint32_t len)
{
	const char *end = t + len;

	while (t < end) {
		const char *tab = memchr(t, '\t', (size_t)(end - t));
		const char *nl = tab ? memchr(tab, '\n', (size_t)(end - tab)) : NULL;
		char name[128];

		if (tab == NULL || nl == NULL || (size_t)(tab - t) >= sizeof(name))
			return;
		memcpy(name, t, (size_t)(tab - t));
		name[tab - t] = '\0';
		stat_add(o, name, "%.*s", (int)(nl - tab - 1), tab + 1);
		t = nl + 1;
	}
}

int
stats_report_conns(struct worker *w, struct conn *c, struct proto_result *res)
{
	struct stats_out o;

	if (stats_begin(w, &o) != 0)
		return -ENOMEM;
	if (c->bcast_text != NULL)
		stats_from_text(&o, c->bcast_text, c->bcast_text_len);
	free(c->bcast_text);
	c->bcast_text = NULL;
	c->bcast_text_len = 0;
	stats_end(&o, res);
	return 0;
}

static void
stats_visit_number(void *arg, const char *name, uint64_t value)
{
	stat_add(arg, name, "%llu", (unsigned long long)value);
}

static void
stats_visit_text(void *arg, const char *name, const char *value)
{
	stat_add(arg, name, "%s", value);
}

/* `stats sizes`: memcached's answer when the sizes histogram is off. */
static void
stats_sizes(struct worker *w, struct stats_out *o)
{
	(void)w;
	stat_add(o, "sizes_status", "disabled");
}

/* `stats nic`: the port's counters (DPDK backend only). */
static void
stats_nic(struct worker *w, struct stats_out *o)
{
	nic_stats_visit(w->srv, stats_visit_number, stats_visit_text, o);
}

/* `stats tcp`: the DPDK path's TCP counters. */
static void
stats_tcp(struct worker *w, struct stats_out *o)
{
	nic_tcp_visit(w->srv, stats_visit_number, o);
}

/* `stats cluster`: membership, links, replication. */
static void
stats_cluster(struct worker *w, struct stats_out *o)
{
	cluster_stats_visit(w->srv, stats_visit_number, stats_visit_text, o);
}

/* `stats conns`: one block per open connection. */
static void
stats_conns(struct worker *w, struct stats_out *o)
{
	uint32_t len = 0;
	char *t = stats_conns_text(w, &len);

	if (t != NULL)
		stats_from_text(o, t, len);
	free(t);
}

/* The groups of `stats <group>` (stats.h STATS_GROUPS), with the function that answers each. */
static const struct {
	const char *name;
	bool dpdk_only;
	void (*report)(struct worker *w, struct stats_out *o);
} stats_groups[] = {
#define STATS_GROUP_ENTRY(name, dpdk, desc) {#name, (dpdk), stats_##name},
	STATS_GROUPS(STATS_GROUP_ENTRY)
#undef STATS_GROUP_ENTRY
};

int
stats_report(struct worker *w, const char *group, uint32_t group_len, struct proto_result *res)
{
	void (*report)(struct worker *, struct stats_out *) = stats_general;
	struct stats_out o;

	if (group != NULL && group_len != 0) {
		report = NULL;
		for (size_t i = 0; i < sizeof(stats_groups) / sizeof(stats_groups[0]); i++)
			if (group_len == strlen(stats_groups[i].name) &&
			    memcmp(group, stats_groups[i].name, group_len) == 0 &&
			    (!stats_groups[i].dpdk_only || w->srv->port != NULL))
				report = stats_groups[i].report;
		if (report == NULL)
			return -ENOENT;
	}
	if (stats_begin(w, &o) != 0)
		return -ENOMEM;
	report(w, &o);
	stats_end(&o, res);
	return 0;
}
