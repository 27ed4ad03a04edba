/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_STATS_H
#define NC_APP_STATS_H

/*
 * Per-worker counters. Each worker increments only its own block (plain stores by the one
 * writer; readers on other threads use relaxed loads), and the control side sums the blocks
 * on request: no shared atomic on the data path. One X-macro list gives the struct, the
 * names printed by `stats` and the telemetry dictionary.
 *
 * X(name, memcached stat name or ours, description). Counters a forwarded write causes are
 * counted by the worker that executes it (the key's owner); the sums are what users see.
 */

#include <stdint.h>

#include <rte_common.h>

#include "store/slab.h"

#define WORKER_STATS(X)                                                              \
	X(cmd_get, "keys requested by get/gets/gat/gats/mg (memcached: one per key)") \
	X(cmd_set, "storage requests (set add replace append prepend cas ms)")      \
	X(cmd_flush, "flush_all requests")                                          \
	X(cmd_touch, "touch, gat, gats requests (and mg/md/ma with T)")             \
	X(cmd_meta, "meta commands (mg ms md ma mn me)")                            \
	X(get_hits, "keys found")                                                   \
	X(get_misses, "keys not found")                                             \
	X(get_expired, "keys found expired")                                        \
	X(get_flushed, "keys found invalidated by flush_all")                       \
	X(delete_misses, "deletes of missing keys")                                 \
	X(delete_hits, "deletes that removed a key")                                \
	X(incr_misses, "incr of missing keys")                                      \
	X(incr_hits, "incr applied")                                                \
	X(decr_misses, "decr of missing keys")                                      \
	X(decr_hits, "decr applied")                                                \
	X(cas_misses, "cas on missing keys")                                        \
	X(cas_hits, "cas that stored")                                              \
	X(cas_badval, "cas with a stale cas value")                                 \
	X(touch_hits, "touch/gat on existing keys")                                 \
	X(touch_misses, "touch/gat on missing keys")                                \
	X(store_too_large, "stores refused: value above -I")                        \
	X(store_no_memory, "stores refused: out of memory")                         \
	X(bytes_read, "bytes received from clients")                                \
	X(bytes_written, "bytes sent to clients")                                   \
	X(total_connections, "connections accepted")                                \
	X(rejected_connections, "connections refused over -c")                      \
	X(conn_closed_errors, "connections closed after a protocol error")          \
	X(idle_kicks, "connections closed after --idle-timeout without a request")  \
	X(auth_cmds, "authentication attempts (SASL auth/step, text tokens; -S/-Y)") \
	X(auth_errors, "of those, failed (wrong user or password, mechanism, format)") \
	X(udp_requests, "UDP datagrams received")                                   \
	X(udp_dropped, "UDP datagrams dropped (multi-datagram, short, malformed)")  \
	X(udp_reply_too_large, "UDP replies not sent: longer than --udp-reply-max") \
	X(requests, "requests executed (any protocol, any command; each key of a multi-get)") \
	X(busy_cycles, "TSC cycles of worker loop iterations that did work")        \
	X(idle_cycles, "TSC cycles of worker loop iterations that found nothing")   \
	X(busy_driver_cycles, "of busy_cycles, those inside the NIC driver's rx/tx calls") \
	X(busy_poll_cycles, "of busy_cycles, those polling the stack (dpdk: receive and its driver calls, earlier replies flushed, timers; socket: about 0, its wait is idle)") \
	X(busy_udp_prefetch_cycles, "of busy_cycles, those taking UDP datagrams (dpdk: the last batch's mbufs recycled; socket: recvmmsg) and prefetching their keys (scan, digest, bulk lookup)") \
	X(busy_udp_request_cycles, "of busy_cycles, those running UDP requests and queueing their replies (dpdk: a full TX batch sent too; socket: each reply's sendmsg)") \
	X(busy_udp_flush_cycles, "of busy_cycles, those sending a UDP burst's remaining replies (socket: 0)") \
	X(forwarded_writes, "writes this worker sent to another shard's owner")     \
	X(cluster_remote_keys, "requests served here though this node is not the key's primary (reads: holds no copy)") \
	X(cluster_proxied, "requests proxied to the key's primary (or the first live copy)") \
	X(cluster_read_through, "gets that missed while warming up, read through to another copy") \
	X(cluster_proxy_failures, "of those, answered as failed: no answer in time, a broken link, garbage") \
	X(repl_writes, "commands queued for replicas (one per replica per write)")  \
	X(repl_bytes, "bytes sent to replicas")                                     \
	X(repl_dropped, "commands for replicas lost (queue full, link down or broken)") \
	X(repl_link_failures, "replication links that failed to open or broke")     \
	X(repl_errors, "failure replies from replicas")                             \
	X(repl_resyncs, "resyncs of a member after lost commands (a walk of the shard)") \
	X(repl_resync_writes, "items shipped by resyncs")                           \
	X(repl_quorum_writes, "writes that waited for their replicas (--replication quorum)") \
	X(repl_quorum_failures, "writes answered with an error and undone: quorum not reached, or not asked (no links yet)") \
	X(repl_quorum_timeouts, "of those failures, the ones past --replication-timeout") \
	X(repl_quorum_wait_us, "microseconds quorum writes waited for their acknowledgements") \
	X(repl_undos, "undos of failed quorum writes shipped to replicas (again after a break)") \
	X(repl_undos_lost, "undos given up: more than 16384 waiting for one member, no memory") \
	X(executed_for_others, "writes this worker executed for another worker")    \
	X(write_retries, "writes retried after a quiescent state (memory in grace)") \
	X(write_waits, "loop iterations writes waiting for memory were not retried: none had come back") \
	X(conn_yields, "times a connection stopped parsing until the client read its replies (memcached's conn_yields)") \
	X(decompressions, "compressed values decompressed for a reply or a replica (reads)") \
	X(decompress_cycles, "TSC cycles spent in lzf_decompress for them")        \
	X(decompressed_bytes, "bytes those decompressions gave (the clients' values)") \
	X(snapshot_items, "items this worker copied into snapshots")                \
	X(snapshot_bytes, "value bytes of those items")

/*
 * The groups of `stats <group>` besides the general one: X(name, DPDK backend only,
 * description). stats_report.c answers group g with its function stats_<g>; the man page
 * lists them from here.
 */
#define STATS_GROUPS(X)                                                                       \
	X(settings, false, "every setting, under memcached's name where it has one")          \
	X(slabs, false, "per size class: chunk size, pages, chunks used and free, hits")      \
	X(items, false, "per size class: items, age of the oldest, evictions, reclaims")           \
	X(sizes, false, "memcached's item size histogram: reported as disabled")             \
	X(conns, false, "one block per open connection: address, state, idle time")          \
	X(cluster, false, "cluster view, members and their state, replication and proxies") \
	X(nic, true, "NIC port counters, packet path events and drops by reason")           \
	X(tcp, true, "TCP counters of the DPDK path, summed over the workers' queues")

/*
 * The counters memcached 1.6 also keeps per size class (`stats slabs` <class>:<name>), each
 * counted with the class of the item concerned alongside the general counter of the same
 * name, so the classes add up to it: X(name, description). Eight of them: one class's fill
 * one cache line.
 */
#define WORKER_CLASS_STATS(X)                                                          \
	X(get_hits, "keys found in the class (get, gets, mg without T, binary get)")      \
	X(cmd_set, "storage requests whose value takes the class (the value sent: append's part)") \
	X(delete_hits, "deletes that removed an item of the class")                       \
	X(incr_hits, "incr applied to an item of the class (its size before)")            \
	X(decr_hits, "decr applied to an item of the class (its size before)")            \
	X(cas_hits, "cas that replaced an item of the class")                             \
	X(cas_badval, "cas refused: an item of the class had another cas value")          \
	X(touch_hits, "touch, gat, gats and mg with T on an item of the class")

/*
 * Per-class counter slots: every class, and one more where a class that is not one (-1: no
 * item) lands, so the hot path masks the index instead of testing it.
 */
#define STATS_CLASS_SLOTS 64
_Static_assert(SLAB_CLASS_MAX < STATS_CLASS_SLOTS &&
		       (STATS_CLASS_SLOTS & (STATS_CLASS_SLOTS - 1)) == 0,
	       "class slots: a power of two above the last class");

struct worker_class_stats {
#define WORKER_STAT_FIELD(name, desc) uint64_t name;
	WORKER_CLASS_STATS(WORKER_STAT_FIELD)
#undef WORKER_STAT_FIELD
};

struct worker_stats {
#define WORKER_STAT_FIELD(name, desc) uint64_t name;
	WORKER_STATS(WORKER_STAT_FIELD)
#undef WORKER_STAT_FIELD
	/* by slab class; slot STATS_CLASS_SLOTS - 1 (no class) is counted, never reported */
	struct worker_class_stats cls[STATS_CLASS_SLOTS] __rte_cache_aligned;
} __rte_cache_aligned;

/**
 * Add n to a counter of the calling worker's own block: relaxed load and store (one writer),
 * so a concurrent reader sees an old or new value, never a torn one; plain adds on x86.
 */
#define STAT_ADD(st, name, n)                                                            \
	__atomic_store_n(&(st)->name, __atomic_load_n(&(st)->name, __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
/** Add one to a counter of the calling worker's own block. */
#define STAT_INC(st, name) STAT_ADD(st, name, 1)

/**
 * Add one to a WORKER_CLASS_STATS counter of the calling worker's own block, and to the same
 * counter of slab class @p clsid (from 0; -1, no class, counts in the sum only: its slot is
 * never reported).
 */
#define STAT_INC_CLASS(st, name, clsid)                                               \
	do {                                                                          \
		STAT_INC(st, name);                                                   \
		STAT_INC(&(st)->cls[(unsigned)(clsid) & (STATS_CLASS_SLOTS - 1)], name); \
	} while (0)

/*
 * Per size class counters that `stats reset` zeroes (memcached resets its item stats), as in
 * struct slab_class: X(field).
 */
#define STATS_CLASS_COUNTERS(X) \
	X(evicted)              \
	X(evicted_unfetched)    \
	X(reclaimed)            \
	X(expired_unfetched)    \
	X(pages_moved_in)       \
	X(evicted_nonzero)      \
	X(evicted_active)       \
	X(outofmemory)

struct stats_class_counters {
#define STATS_CLASS_FIELD(f) uint64_t f;
	STATS_CLASS_COUNTERS(STATS_CLASS_FIELD)
#undef STATS_CLASS_FIELD
};

/** Per-class figures summed over every shard (all shards have the same classes). */
struct stats_class_sum {
	uint64_t size, per_page, pages, free, retired, evicted, evicted_unfetched, reclaimed,
		expired_unfetched, moved_in, evicted_nonzero, evicted_active, outofmemory,
		mem_requested, evicted_time;
	/*
	 * `stats items` age: seconds since the last access of the oldest of the items the
	 * shards' CLOCK hands reach next in this class (what eviction would take first; each
	 * owner looks once a second, so up to a second behind); 0 when none is linked there.
	 */
	uint64_t age;
	struct worker_class_stats hits; /* every worker's, since the last `stats reset` */
};

struct nc_server;

/**
 * [any] Fill cs[0..SLAB_CLASS_MAX) with every shard's figures per size class (counters less
 * their value at the last `stats reset`). @return the number of classes.
 */
unsigned stats_classes(const struct nc_server *srv, struct stats_class_sum *cs);

/** Chunks of a class holding items (or being filled): total less free and retired. */
uint64_t stats_class_used(const struct stats_class_sum *c);

#endif /* NC_APP_STATS_H */
