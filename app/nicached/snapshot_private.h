/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_SNAPSHOT_PRIVATE_H
#define NC_APP_SNAPSHOT_PRIVATE_H

/* The snapshot state shared by snapshot.c (writing) and snapshot_restore.c (restore). */

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ring.h>

#include "snapshot.h"
#include "snapshot/block.h"
#include "snapshot/cipher.h"
#include "snapshot/writer.h"
#include "store/shard.h"

struct nc_server;

/** A block's nominal plaintext size, and the blocks a running snapshot has per worker. */
#define SNAPSHOT_BLOCK_BYTES	   (256u << 10)
#define SNAPSHOT_BLOCKS_PER_WORKER 4
/** Chunks a worker's walk visits between two looks at the clock. */
#define SNAPSHOT_WALK_CHUNKS 64

/** One worker's part of a running snapshot. */
struct snapshot_part {
	bool active;		/* set by the starter, cleared by the worker (release) */
	struct store_walk walk; /* where the worker's walk stands (the worker's) */
	struct snap_block *cur; /* the block it fills, or NULL (the worker's) */
} __rte_cache_aligned;

struct snapshot_ctl {
	struct nc_server *srv;	  /* the workers the writer wakes */
	pthread_mutex_t lock; /* starting and reaping (any thread) */
	bool busy;	      /* a snapshot is on: its writer not reaped yet (under lock) */
	bool failed;	      /* the running snapshot gave up (atomic) */
	bool writer_done;     /* the writer thread finished (release/acquire) */
	int result;	      /* its outcome: 0 or a negative errno (after writer_done) */
	pthread_t thread;
	struct snap_writer *writer;
	struct snap_trailer totals; /* of the last one written (after writer_done) */
	uint64_t file_bytes;
	uint64_t started_ns;
	uint64_t finished_ns;	  /* when the writer ended (before writer_done) */
	bool has_key;
	struct snap_key key;
	struct rte_ring *full;	/* filled blocks, workers -> writer */
	struct rte_ring *empty; /* empty blocks, writer -> workers */
	struct snap_block *blocks;
	unsigned nblocks;
	unsigned nparts;
	struct snapshot_part *part;
	char path[PATH_MAX];	     /* the running snapshot's file */
	char err[512];		     /* the writer's error */
	struct snapshot_stats stats; /* relaxed stores by the control side and the writer */
};

/** Relaxed store / add on a figure of `stats`. */
#define SNAP_STAT_SET(sc, name, v) __atomic_store_n(&(sc)->stats.name, (v), __ATOMIC_RELAXED)
#define SNAP_STAT_ADD(sc, name, v) __atomic_fetch_add(&(sc)->stats.name, (v), __ATOMIC_RELAXED)

/** Monotonic nanoseconds. */
uint64_t snapshot_now_ns(void);

#endif /* NC_APP_SNAPSHOT_PRIVATE_H */
