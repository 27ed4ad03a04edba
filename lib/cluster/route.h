/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CLUSTER_ROUTE_H
#define NC_CLUSTER_ROUTE_H

/*
 * Where a request's key lives: the one routing decision every request path takes (the TCP
 * connections, the UDP path and the prefetch ahead of them).
 *
 * Two choices, made by two functions on purpose:
 *  - Which member of the cluster holds the key (its primary, then its replicas): the ring's
 *    key hash (ketama, cluster-wide, no secret), so every node and every ketama client agree.
 *  - Which shard of this node holds it: the key's keyed digest (a per-process secret seed), so
 *    a client cannot choose keys that pile onto one shard. Nodes never need to agree on this:
 *    a copy shipped to a replica is placed there by the replica's own digest.
 * Without a ring (a single node) only the shard is decided and no ring hash is computed.
 *
 * Threads: pure; any thread. The table's ring is read under the caller's RCU read section
 * (the table is part of the published cluster view).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/ring.h"
#include "core/digest.h"

/** Member index meaning "this node is not in the ring" (its lease was lost, or no ring). */
#define NC_ROUTE_NO_MEMBER UINT32_MAX

/** What this node is for a key. */
enum nc_route_role {
	NC_ROUTE_ALONE,	  /* no ring: this node holds every key */
	NC_ROUTE_PRIMARY, /* this node is the key's primary */
	NC_ROUTE_REPLICA, /* this node holds one of the key's other copies */
	NC_ROUTE_REMOTE,  /* this node holds no copy: the key belongs to other members */
};

/** What a route is computed from: a snapshot the caller keeps valid while it routes. */
struct nc_route_table {
	const struct nc_ring *ring; /* NULL: a single node */
	uint32_t self;		    /* this node's member index, or NC_ROUTE_NO_MEMBER */
	uint32_t copies;	    /* R: members holding each key (1..NC_RING_REPLICAS_MAX) */
	uint32_t nshards;	    /* shards (workers) of this node, > 0 */
};

/** One key's route. */
struct nc_route {
	enum nc_route_role role;
	uint32_t shard;				 /* this node's shard for the key */
	uint32_t point;				 /* the key's ring point (0 without a ring) */
	uint32_t ncopies;			 /* members in copy[] (0 without a ring) */
	uint32_t copy[NC_RING_REPLICAS_MAX];	 /* primary first, then the replicas */
};

/**
 * This node's shard for a key, from its keyed digest. Returns a value in [0, nshards).
 */
static inline uint32_t
nc_route_shard(const struct nc_route_table *t, const struct nc_digest *d)
{
	return nc_digest_shard(d, t->nshards);
}

/**
 * Route the key @p key[0..len) whose keyed digest is @p d: fill @p out (shard always; with a
 * ring, the point, the copies and this node's role). Costs nothing beyond the shard without a
 * ring; with one, the ring's key hash (MD5 by default) and a binary search.
 */
void nc_route(const struct nc_route_table *t, const struct nc_digest *d, const void *key,
	      size_t len, struct nc_route *out);

/** nc_route()'s result without a ring: the key's @p shard on this node, which holds it. */
static inline void
nc_route_alone(uint32_t shard, struct nc_route *out)
{
	out->role = NC_ROUTE_ALONE;
	out->shard = shard;
	out->point = 0;
	out->ncopies = 0;
}

/** nc_route() for a key whose shard (nc_route_shard()) the caller computed already. */
void nc_route_at(const struct nc_route_table *t, uint32_t shard, const void *key, size_t len,
		 struct nc_route *out);

/** Whether this node holds a copy of the routed key (alone, primary or replica). */
static inline bool
nc_route_is_local(const struct nc_route *r)
{
	return r->role != NC_ROUTE_REMOTE;
}

/** The member that decides writes to the routed key; NC_ROUTE_NO_MEMBER without a ring. */
static inline uint32_t
nc_route_primary(const struct nc_route *r)
{
	return r->ncopies > 0 ? r->copy[0] : NC_ROUTE_NO_MEMBER;
}

#endif /* NC_CLUSTER_ROUTE_H */
