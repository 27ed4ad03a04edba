/* SPDX-License-Identifier: BSD-3-Clause */
/* A returning node's warm-up: see cluster_warm.h. */
#include "cluster_warm.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster/etcd.h"
#include "server.h"

/* Members whose markers a node keeps track of (more: the deadline ends the warm-up). */
#define WARM_MEMBERS_MAX 256

/* What one member reported: which of its workers ended their walks. */
struct warm_member {
	uint32_t id;
	uint32_t nworkers;
	uint64_t seen[2]; /* worker i's marker came: bit i (at most 128 workers) */
};

struct cluster_warm {
	pthread_mutex_t lock;
	bool warming;	   /* relaxed reads by workers */
	uint64_t start_ms; /* when the node started */
	uint64_t took_ms;  /* when it ended, less start_ms (relaxed) */
	uint32_t n;
	struct warm_member m[WARM_MEMBERS_MAX];
};

uint32_t
cluster_warm_member_id(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

int
cluster_warm_setup(struct nc_server *srv)
{
	struct cluster_warm *cw;

	if (srv->set.replicas < 2 || srv->set.warmup_max == 0 ||
	    (srv->set.peers[0] == '\0' && srv->set.etcd[0] == '\0'))
		return 0;
	cw = calloc(1, sizeof(*cw));
	if (cw == NULL)
		return -ENOMEM;
	pthread_mutex_init(&cw->lock, NULL);
	cw->warming = true;
	cw->start_ms = nc_etcd_now_ms();
	srv->warm = cw;
	return 0;
}

void
cluster_warm_teardown(struct nc_server *srv)
{
	if (srv->warm == NULL)
		return;
	pthread_mutex_destroy(&srv->warm->lock);
	free(srv->warm);
	srv->warm = NULL;
}

/* End the warm-up (the lock held), saying why. */
static void
warm_end(struct nc_server *srv, struct cluster_warm *cw, const char *why)
{
	uint64_t took = nc_etcd_now_ms() - cw->start_ms;

	__atomic_store_n(&cw->took_ms, took != 0 ? took : 1, __ATOMIC_RELAXED);
	__atomic_store_n(&cw->warming, false, __ATOMIC_RELAXED);
	(void)srv;
	/* Always said, as the banner: operators wait for it after a restart. */
	nc_log(NC_LOG_NOTICE, "warmed up after %llu ms: %s", (unsigned long long)took, why);
}

/* Whether every other member of view @p v sent the markers of all its workers. */
static bool
all_reported(const struct cluster_warm *cw, const struct cluster_view *v)
{
	for (uint32_t i = 0; i < v->nmembers; i++) {
		uint32_t id = cluster_warm_member_id(nc_ring_member_name(v->ring, i));
		bool done = false;

		if (i == v->self)
			continue;
		for (uint32_t j = 0; j < cw->n && !done; j++)
			done = cw->m[j].id == id && cw->m[j].nworkers != 0 &&
			       (uint32_t)(__builtin_popcountll(cw->m[j].seen[0]) +
					  __builtin_popcountll(cw->m[j].seen[1])) == cw->m[j].nworkers;
		if (!done)
			return false;
	}
	return true;
}

/* Parse "<8 hex>.<worker>.<workers>". @return 0; -1 when it is not that. */
static int
parse_marker(const char *p, size_t len, uint32_t *id, uint32_t *worker, uint32_t *nworkers)
{
	uint64_t v[3] = {0, 0, 0};
	unsigned f = 0;
	size_t digits = 0;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (c == '.') {
			if (digits == 0 || ++f > 2)
				return -1;
			digits = 0;
			continue;
		}
		if (f == 0 && c >= 'a' && c <= 'f')
			v[0] = v[0] * 16 + (uint64_t)(c - 'a' + 10);
		else if (c >= '0' && c <= '9')
			v[f] = v[f] * (f == 0 ? 16 : 10) + (uint64_t)(c - '0');
		else
			return -1;
		if (++digits > 8)
			return -1;
	}
	if (f != 2 || digits == 0 || v[2] == 0 || v[2] > 128 || v[1] >= v[2])
		return -1;
	*id = (uint32_t)v[0];
	*worker = (uint32_t)v[1];
	*nworkers = (uint32_t)v[2];
	return 0;
}

/*
 * Whether @p id names a member of view @p v other than this node. (Not where the marker came
 * from: a member's connections may come from another of its addresses than the one it
 * advertises, e.g. a second address on the same interface.)
 */
static bool
is_member(const struct cluster_view *v, uint32_t id)
{
	for (uint32_t i = 0; i < v->nmembers; i++)
		if (i != v->self && cluster_warm_member_id(nc_ring_member_name(v->ring, i)) == id)
			return true;
	return false;
}

void
cluster_warm_note(struct nc_server *srv, const char *arg, size_t len)
{
	struct cluster_warm *cw = srv->warm;
	size_t pre = sizeof(CLUSTER_WARM_MARKER) - 1;
	const struct cluster_view *v = cluster_view_get(srv);
	uint32_t id, worker, nworkers, j;

	if (cw == NULL || v == NULL || len <= pre || memcmp(arg, CLUSTER_WARM_MARKER, pre) != 0 ||
	    parse_marker(arg + pre, len - pre, &id, &worker, &nworkers) != 0 ||
	    !is_member(v, id))
		return;
	pthread_mutex_lock(&cw->lock);
	for (j = 0; j < cw->n && cw->m[j].id != id; j++)
		;
	if (j == cw->n && cw->n < WARM_MEMBERS_MAX) {
		memset(&cw->m[j], 0, sizeof(cw->m[j]));
		cw->m[j].id = id;
		cw->n++;
	}
	if (j < cw->n) {
		if (cw->m[j].nworkers != nworkers) /* (a member restarted with other -t) */
			memset(cw->m[j].seen, 0, sizeof(cw->m[j].seen));
		cw->m[j].nworkers = nworkers;
		cw->m[j].seen[worker / 64] |= 1ULL << (worker % 64);
	}
	if (cw->warming && all_reported(cw, v))
		warm_end(srv, cw, "every member sent what this node should hold");
	pthread_mutex_unlock(&cw->lock);
}

void
cluster_warm_service(struct nc_server *srv)
{
	struct cluster_warm *cw = srv->warm;

	if (cw == NULL || !__atomic_load_n(&cw->warming, __ATOMIC_RELAXED) ||
	    nc_etcd_now_ms() - cw->start_ms < (uint64_t)srv->set.warmup_max * 1000)
		return;
	pthread_mutex_lock(&cw->lock);
	if (cw->warming)
		warm_end(srv, cw, "--warmup-max reached before every member reported");
	pthread_mutex_unlock(&cw->lock);
}

bool
cluster_warming(const struct nc_server *srv)
{
	return srv->warm != NULL && __atomic_load_n(&srv->warm->warming, __ATOMIC_RELAXED);
}

uint64_t
cluster_warm_ms(const struct nc_server *srv)
{
	return srv->warm != NULL ? __atomic_load_n(&srv->warm->took_ms, __ATOMIC_RELAXED) : 0;
}
