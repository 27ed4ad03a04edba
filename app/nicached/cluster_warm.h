/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_CLUSTER_WARM_H
#define NC_APP_CLUSTER_WARM_H

/*
 * Warm-up of a node that starts empty in a cluster with replicas (R > 1): the other members
 * resync it (peer.c), each worker of each member walking its shard and shipping what this node
 * should hold, and each ends its walk with a marker
 *   mn ncsync.<member id>.<worker>.<workers>
 * (<member id>: cluster_warm_member_id() of its ring name, 8 hex digits). Until every other
 * member of the current view has sent the markers of all its workers, or --warmup-max seconds
 * passed, this node is warming: a get that misses here for a key it holds (primary or replica)
 * is read through to the key's next holder whose link is up (peer_proxy()), so clients are not
 * served misses for keys the cluster has. Why read-through rather than holding the node back
 * from primaryship: a hold-back needs every member and every ketama client to agree on a ring
 * without the node and then to change it again, which clients cannot be told (they place by
 * the member list only); read-through keeps the client's placement and costs a round trip
 * only for the misses of the first seconds. Writes are applied here at once (the resync's
 * copies from replicas are adds, which never overwrite them).
 *
 * Threads: the markers arrive on any worker (a mutex guards the table; they are rare); the
 * control core ends the warm-up at its deadline; workers read cluster_warming() (relaxed).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nc_server;

/** The marker's prefix. */
#define CLUSTER_WARM_MARKER "ncsync."

/** [any] The 32-bit id of member name @p name (FNV-1a), as markers carry it. */
uint32_t cluster_warm_member_id(const char *name);

/**
 * [setup] Start warming when @p srv is in a cluster with --replicas above 1 and --warmup-max
 * is not 0. @return 0; -ENOMEM.
 */
int cluster_warm_setup(struct nc_server *srv);

/** [setup, after workers stopped] Free the warm-up state. */
void cluster_warm_teardown(struct nc_server *srv);

/**
 * [worker, in its RCU read section] Note marker @p arg[0..len) (after "mn "). Taken only when
 * it names a member of the current view other than this node. Any connection can send one
 * (members connect like clients, from any of their addresses): a client that knows the
 * member names could end a warm-up early, so reads miss rather than read through; no more.
 */
void cluster_warm_note(struct nc_server *srv, const char *arg, size_t len);

/** [control] End the warm-up at its deadline. */
void cluster_warm_service(struct nc_server *srv);

/** [any] Whether this node is warming up (relaxed). */
bool cluster_warming(const struct nc_server *srv);

/** [any] Milliseconds the warm-up took (0 while warming or without one). */
uint64_t cluster_warm_ms(const struct nc_server *srv);

#endif /* NC_APP_CLUSTER_WARM_H */
