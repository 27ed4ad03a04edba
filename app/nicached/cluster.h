/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_CLUSTER_H
#define NC_APP_CLUSTER_H

/*
 * The cluster as this node sees it: its members (--peers, this node named by --advertise),
 * the ketama ring over them (lib/cluster/ring.h, placed exactly as libmemcached's weighted
 * ketama places keys) and the auto-discovery answer (`config get cluster`, in ElastiCache's
 * format). Static membership builds one view at start; a view is immutable, so any thread may
 * read the one it got from cluster_view_get().
 *
 * Not done yet (issue 14): a request for a key whose primary is another member is served
 * here all the same (no proxying), nothing is replicated, and membership is static.
 */

#include <stddef.h>
#include <stdint.h>

#include "cluster/ring.h"

struct nc_server;
struct nc_settings;

/** A member as auto-discovery reports it. */
struct cluster_member {
	char host[NC_RING_NAME_MAX + 1]; /* as written in --peers, without IPv6 brackets */
	char ip[64];			 /* numeric address: host itself, or resolved at start
					    ("" when it does not resolve) */
	uint16_t port;
};

/** One membership: the ring, its members and the answer to `config get cluster`. */
struct cluster_view {
	struct nc_ring *ring;
	uint64_t version;		 /* `config get cluster`'s version: one more per change */
	uint32_t self;			 /* this node's index in the ring */
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

/** [setup, after workers stopped] Free the view. */
void cluster_teardown(struct nc_server *srv);

/** [any] The current view, or NULL when this node is not in a cluster. */
const struct cluster_view *cluster_view_get(const struct nc_server *srv);

/**
 * [any] Report `stats cluster`: @p number for counters and sizes, @p text for names and
 * states, each called once per statistic in order.
 */
void cluster_stats_visit(const struct nc_server *srv,
			 void (*number)(void *arg, const char *name, uint64_t value),
			 void (*text)(void *arg, const char *name, const char *value), void *arg);

#endif /* NC_APP_CLUSTER_H */
