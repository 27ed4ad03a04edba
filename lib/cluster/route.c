/* SPDX-License-Identifier: BSD-3-Clause */
#include "cluster/route.h"

void
nc_route(const struct nc_route_table *t, const struct nc_digest *d, const void *key, size_t len,
	 struct nc_route *out)
{
	nc_route_at(t, nc_route_shard(t, d), key, len, out);
}

void
nc_route_at(const struct nc_route_table *t, uint32_t shard, const void *key, size_t len,
	    struct nc_route *out)
{
	uint32_t r = t->copies;

	if (t->ring == NULL) {
		nc_route_alone(shard, out);
		return;
	}
	out->shard = shard;
	if (r == 0)
		r = 1;
	if (r > NC_RING_REPLICAS_MAX)
		r = NC_RING_REPLICAS_MAX;
	out->point = nc_ring_hash(t->ring, key, len);
	out->ncopies = nc_ring_successors_at(t->ring, out->point, r, out->copy);
	out->role = NC_ROUTE_REMOTE;
	for (uint32_t i = 0; i < out->ncopies; i++) {
		if (out->copy[i] == t->self) {
			out->role = i == 0 ? NC_ROUTE_PRIMARY : NC_ROUTE_REPLICA;
			break;
		}
	}
}
