/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_CLUSTER_H
#define NC_APP_CLUSTER_H

/*
 * The cluster as this node sees it: its members, the ketama ring over them
 * (lib/cluster/ring.h, placed exactly as libmemcached's weighted ketama places keys) and the
 * auto-discovery answer (`config get cluster`, in ElastiCache's format).
 *
 * Membership is static (--peers, this node named by --advertise: one view built at start) or
 * kept in etcd (--etcd: lib/cluster/etcd.h, stepped by the control core, which builds a new
 * view off the data path whenever the member list changes and publishes it with RCU; with
 * --peers too, that list serves until etcd answers, else the start waits for etcd and fails
 * with a clear error when no endpoint answers). A view is immutable: a worker reads the one
 * cluster_view_get() gave it until its next quiescent state.
 *
 * Every request's key is routed by cluster_route() (lib/cluster/route.h): this node's shard,
 * and with a cluster the members holding the key and this node's role for it.
 *
 * Replication, proxying to a key's primary and the hand-over at a clean stop live in peer.h
 * (the worker's links to the members); a returning node's warm-up in cluster_warm.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "cluster/ring.h"
#include "cluster/route.h"
#include "server.h"

/** A member as auto-discovery reports it. */
struct cluster_member {
	char host[NC_RING_NAME_MAX + 1]; /* as written in --peers, without IPv6 brackets */
	char ip[64];			 /* numeric address: host itself, or resolved at start
					    ("" when it does not resolve) */
	uint16_t port;
};

/** cluster_view.self when the member list does not name this node. */
#define CLUSTER_NOT_MEMBER NC_ROUTE_NO_MEMBER

/** One membership: the ring, its members and the answer to `config get cluster`. */
struct cluster_view {
	struct nc_ring *ring;
	uint64_t version;		 /* `config get cluster`'s version: one more per change */
	uint32_t self;			 /* this node's index in the ring; CLUSTER_NOT_MEMBER when
					    the list does not name it (etcd: lease lost) */
	uint32_t nmembers;
	struct cluster_member *members;	 /* [nmembers], in ring (--peers) order */
	char *config;			 /* the whole `config get cluster` reply */
	uint32_t config_len;
};

/**
 * [setup] Build a ring from a comma-separated member list ("host:port,host,[v6]:port"; a
 * name without a port means 11211, as clients write it).
 * @return 0 with *out set (release with nc_ring_destroy()); -EINVAL, -EEXIST (a member named
 *         twice), -ENAMETOOLONG or -E2BIG with a message in @p err naming the member.
 */
int cluster_members_parse(const char *list, struct nc_ring **out, char *err, size_t errcap);

/**
 * [setup] Check --peers and --advertise together: both or neither; the advertised name must be
 * one of the peers (the same host and port).
 * @return 0; -EINVAL with a message in @p err.
 */
int cluster_settings_check(const struct nc_settings *s, char *err, size_t errcap);

/**
 * [setup, before workers start] Build the view of @p srv's settings, if --peers is set
 * (resolving host names for auto-discovery's ip field). Nothing to do without --peers.
 * @return 0; negative errno with a message in @p err.
 */
int cluster_setup(struct nc_server *srv, char *err, size_t errcap);

/** [setup, after workers stopped] Free the view and the etcd client. */
void cluster_teardown(struct nc_server *srv);

/**
 * [control] With --etcd: step the etcd client (never blocks), and when its member list
 * changed build and publish a new view (waits for an RCU grace period to free the old one).
 * Logs state changes and failures. Nothing to do otherwise.
 * @return 1 when a new view was published, else 0.
 */
int cluster_service(struct nc_server *srv);

/**
 * [control, at stop, workers running] With --etcd, a member and others in the ring: publish
 * a view without this node (etcd still lists it), so the workers hand its keys over: their
 * links resync every other member with what it holds in that ring (adds: never over what
 * clients wrote there since), and requests here are proxied to the keys' new primaries.
 * @return true when the hand-over started (wait for cluster_handover_done()).
 */
bool cluster_handover_begin(struct nc_server *srv);

/** [control] Whether every worker has handed its shard over (its links resynced, drained). */
bool cluster_handover_done(const struct nc_server *srv);

/**
 * [control, at stop, workers may still run] With --etcd: leave cleanly (delete this node's
 * key and revoke its lease), waiting at most @p max_ms. Nothing to do otherwise.
 */
void cluster_leave(struct nc_server *srv, uint32_t max_ms);

/** [any] The current view, or NULL when this node is not in a cluster. Inline: every read asks. */
static inline const struct cluster_view *
cluster_view_get(const struct nc_server *srv)
{
	return __atomic_load_n(&srv->cluster, __ATOMIC_ACQUIRE);
}

/** [worker] cluster_route() under view @p v (NULL: no cluster), one the caller already holds. */
void cluster_route_view(const struct nc_server *srv, const struct cluster_view *v,
			const struct store_key *k, struct nc_route *out);

/** [worker] cluster_route_shard() under view @p v, not NULL, one the caller already holds. */
void cluster_route_shard_view(const struct nc_server *srv, const struct cluster_view *v,
			      const struct store_key *k, unsigned shard, struct nc_route *out);

/** [any] This node's shard for key @p k: cluster_route()'s shard, without the ring. */
static inline unsigned
cluster_key_shard(const struct nc_server *srv, const struct store_key *k)
{
	return nc_digest_shard(&k->digest, srv->nworkers);
}

/**
 * [worker, in its RCU read section] Route key @p k (its keyed digest computed) under the
 * current view into @p out: the shard always; in a cluster also the key's ring point, the
 * members holding it (one copy: its primary) and this node's role (nc_route()). Inline: out of
 * a cluster, the common case, it is the shard and nothing else.
 */
static inline void
cluster_route(const struct nc_server *srv, const struct store_key *k, struct nc_route *out)
{
	const struct cluster_view *v = cluster_view_get(srv);

	if (v == NULL)
		nc_route_alone(cluster_key_shard(srv, k), out);
	else
		cluster_route_view(srv, v, k, out);
}

/**
 * [worker, in its RCU read section] cluster_route() for key @p k whose shard
 * (cluster_key_shard()) the caller computed already: the shard is not computed again.
 */
static inline void
cluster_route_shard(const struct nc_server *srv, const struct store_key *k, unsigned shard,
		    struct nc_route *out)
{
	const struct cluster_view *v = cluster_view_get(srv);

	if (v == NULL)
		nc_route_alone(shard, out);
	else
		cluster_route_shard_view(srv, v, k, shard, out);
}

/**
 * [any] Report `stats cluster`: @p number for counters and sizes, @p text for names and
 * states, each called once per statistic in order.
 */
void cluster_stats_visit(const struct nc_server *srv,
			 void (*number)(void *arg, const char *name, uint64_t value),
			 void (*text)(void *arg, const char *name, const char *value), void *arg);

#endif /* NC_APP_CLUSTER_H */
