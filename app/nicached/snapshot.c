/* SPDX-License-Identifier: BSD-3-Clause */
/* Writing snapshots while serving and at a clean stop (see snapshot.h). */
#include "snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "core/log.h"
#include "placement_eal.h"
#include "server.h"
#include "snapshot_private.h"
#include "worker.h"

/** Bytes of the trailer record that snap_writer_finish() adds. */
static uint64_t
trailer_bytes(const struct snapshot_ctl *sc)
{
	return SNAP_REC_HDR_LEN + SNAP_TRAILER_LEN + (sc->has_key ? SNAP_CIPHER_ABYTES : 0);
}

/** How long the writer sleeps when no block is waiting (ns). */
#define WRITER_IDLE_NS 100000

uint64_t
snapshot_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
snapshot_setup(struct nc_server *srv, char *err, size_t errcap)
{
	struct snapshot_ctl *sc = calloc(1, sizeof(*sc));
	unsigned size;
	int socket;
	int rc;

	if (sc == NULL) {
		snprintf(err, errcap, "snapshots: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&sc->lock, NULL);
	sc->srv = srv;
	srv->snap = sc;
	if (srv->set.snapshot_key[0] != '\0') {
		rc = snap_key_load(&sc->key, srv->set.snapshot_key, err, errcap);
		if (rc != 0)
			return rc;
		sc->has_key = true;
	}
	sc->nparts = srv->nworkers;
	/* Cache-line aligned parts (each worker writes its own): calloc would not align them. */
	sc->part = aligned_alloc(RTE_CACHE_LINE_SIZE, sc->nparts * sizeof(*sc->part));
	if (sc->part != NULL)
		memset(sc->part, 0, sc->nparts * sizeof(*sc->part));
	sc->nblocks = srv->nworkers * SNAPSHOT_BLOCKS_PER_WORKER;
	sc->blocks = calloc(sc->nblocks, sizeof(*sc->blocks));
	if (sc->part == NULL || sc->blocks == NULL) {
		snprintf(err, errcap, "snapshots: out of memory");
		return -ENOMEM;
	}
	size = rte_align32pow2(sc->nblocks + 1);
	/* Workers fill blocks; the control lcore's writer empties them: its socket. */
	socket = placement_mem_socket(rte_get_main_lcore());
	sc->full = rte_ring_create("nc_snap_full", size, socket, RING_F_SC_DEQ);
	sc->empty = rte_ring_create("nc_snap_empty", size, socket, 0);
	if (sc->full == NULL || sc->empty == NULL) {
		snprintf(err, errcap, "snapshots: cannot create rings of %u entries", size);
		return -ENOMEM;
	}
	/* Blocks get their memory when a snapshot first needs them (snapshot_start). */
	return 0;
}

void
snapshot_teardown(struct nc_server *srv)
{
	struct snapshot_ctl *sc = srv->snap;

	if (sc == NULL)
		return;
	for (unsigned i = 0; i < sc->nblocks && sc->blocks != NULL; i++)
		snap_block_deinit(&sc->blocks[i]);
	free(sc->blocks);
	free(sc->part);
	rte_ring_free(sc->full);
	rte_ring_free(sc->empty);
	snap_key_wipe(&sc->key);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
	srv->snap = NULL;
}

/* ---- copying items into blocks (workers while serving; main at a stop) ---- */

struct fill_ctx {
	struct store_shard *shard;  /* the walking worker's own shard */
	struct snap_block *b;
	struct worker_stats *stats; /* the walking worker's counters */
	bool full;
	int err;
};

/** store_walk callback: the item into the block, or stop when the block is full. */
static bool
fill_item(const struct store_walk_item *v, void *arg)
{
	struct fill_ctx *f = arg;
	struct snap_item it = {
		.key = v->key,
		.nkey = (uint8_t)v->nkey,
		.client_flags = v->client_flags,
		.nbytes = v->nbytes,
		.cas = v->cas,
		.exptime = v->exptime_unix,
	};
	uint8_t *dst = snap_block_add(f->b, &it, &f->err);
	int rc;

	if (dst == NULL) {
		f->full = f->err == 0;
		return false;
	}
	/* The client's bytes: a value stored compressed (LZF) is saved decompressed. */
	rc = store_walk_item_value(f->shard, v, dst);
	if (rc != 0) {
		f->err = rc;
		return false;
	}
	STAT_INC(f->stats, snapshot_items);
	STAT_ADD(f->stats, snapshot_bytes, v->nbytes);
	return true;
}

/* ---- while serving ---- */

/** Whether every worker finished (or left) its part. */
static bool
parts_done(const struct snapshot_ctl *sc)
{
	for (unsigned i = 0; i < sc->nparts; i++)
		if (__atomic_load_n(&sc->part[i].active, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

static void
writer_fail(struct snapshot_ctl *sc)
{
	__atomic_store_n(&sc->failed, true, __ATOMIC_RELAXED);
}

/**
 * A block is empty again: wake the workers that sleep with their part unfinished (they sleep
 * while they have no block to fill, see snapshot_worker_pending()). The fence pairs with the
 * one in worker_sleep(): a worker either sees the block or is seen sleeping.
 */
static void
wake_waiting(struct snapshot_ctl *sc)
{
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < sc->nparts; i++) {
		struct worker *w = sc->srv->workers[i];

		if (__atomic_load_n(&sc->part[i].active, __ATOMIC_RELAXED) &&
		    __atomic_load_n(&w->sleeping, __ATOMIC_RELAXED))
			stack_wake(w->stack);
	}
}

/** The writer thread: blocks to the file in arrival order, then the trailer and rename. */
static void *
writer_main(void *arg)
{
	struct snapshot_ctl *sc = arg;
	const struct timespec idle = {0, WRITER_IDLE_NS};
	int rc = 0;

	for (;;) {
		void *p;

		if (rte_ring_dequeue(sc->full, &p) == 0) {
			struct snap_block *b = p;

			if (rc == 0 && !__atomic_load_n(&sc->failed, __ATOMIC_RELAXED)) {
				rc = snap_writer_block(sc->writer, b, sc->err, sizeof(sc->err));
				if (rc != 0)
					writer_fail(sc);
			}
			snap_block_reset(b);
			rte_ring_enqueue(sc->empty, b);
			wake_waiting(sc);
			continue;
		}
		/* Parts first: a worker queues its last block before it says it is done. */
		if (parts_done(sc) && rte_ring_empty(sc->full))
			break;
		nanosleep(&idle, NULL);
	}
	if (rc == 0 && __atomic_load_n(&sc->failed, __ATOMIC_RELAXED)) {
		char why[sizeof(sc->err)];

		rc = -ECANCELED;
		snprintf(why, sizeof(why), "%s",
			 sc->err[0] ? sc->err : "a worker could not copy an item");
		snprintf(sc->err, sizeof(sc->err), "snapshot %.200s: given up (%.250s)", sc->path,
			 why);
	}
	if (rc == 0) {
		sc->file_bytes = snap_writer_bytes(sc->writer);
		rc = snap_writer_finish(&sc->writer, &sc->totals, sc->err, sizeof(sc->err));
		sc->file_bytes += trailer_bytes(sc);
	} else {
		snap_writer_abort(&sc->writer);
	}
	sc->result = rc;
	sc->finished_ns = snapshot_now_ns();
	__atomic_store_n(&sc->writer_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/** The file a snapshot goes to: --snapshot-file, or @p name in its folder. */
static int
snapshot_path(const struct nc_server *srv, const char *name, uint32_t len, char *out, size_t cap,
	      char *err, size_t errcap)
{
	const char *file = srv->set.snapshot_file;
	char dir[PATH_MAX];

	if (file[0] == '\0') {
		snprintf(err, errcap, "no snapshot file configured (--snapshot-file)");
		return -ENOENT;
	}
	if (name == NULL || len == 0) {
		snprintf(out, cap, "%s", file);
		return 0;
	}
	/*
	 * A client names only a snapshot file in --snapshot-file's folder: ending in ".snap", so
	 * a key, an auth file or anything else kept there cannot be replaced by one.
	 */
	if (len > NAME_MAX || len <= 5 || name[0] == '.' || memchr(name, '/', len) != NULL ||
	    memchr(name, '\0', len) != NULL || memcmp(name + len - 5, ".snap", 5) != 0) {
		snprintf(err, errcap, "snapshot name must be a file name ending in .snap (no '/', "
				      "not starting with '.')");
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s", file);
	if (snprintf(out, cap, "%s/%.*s", dirname(dir), (int)len, name) >= (int)cap) {
		snprintf(err, errcap, "snapshot name too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/** Give every block its memory (the first snapshot) and put them all on the empty ring. */
static int
blocks_ready(struct snapshot_ctl *sc)
{
	for (unsigned i = 0; i < sc->nblocks; i++) {
		if (sc->blocks[i].buf == NULL &&
		    snap_block_init(&sc->blocks[i], SNAPSHOT_BLOCK_BYTES) != 0)
			return -ENOMEM;
	}
	if (rte_ring_count(sc->empty) == 0)
		for (unsigned i = 0; i < sc->nblocks; i++)
			rte_ring_enqueue(sc->empty, &sc->blocks[i]);
	return 0;
}

/** Start the writer thread on the control lcore's CPUs (never a worker's). */
static int
writer_launch(struct snapshot_ctl *sc)
{
	rte_cpuset_t cpus = rte_lcore_cpuset(rte_get_main_lcore());
	pthread_attr_t attr;
	int rc;

	pthread_attr_init(&attr);
	if (CPU_COUNT(&cpus) > 0)
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	rc = pthread_create(&sc->thread, &attr, writer_main, sc);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		pthread_setname_np(sc->thread, "nc-snapshot");
	return -rc;
}

int
snapshot_start(struct nc_server *srv, const char *name, uint32_t name_len, char *err, size_t errcap)
{
	struct snapshot_ctl *sc = srv->snap;
	struct store_shard_stats ss;
	struct snap_writer_params wp;
	int rc;

	if (sc == NULL) {
		snprintf(err, errcap, "snapshots are not set up");
		return -ENOENT;
	}
	pthread_mutex_lock(&sc->lock);
	if (sc->busy) {
		pthread_mutex_unlock(&sc->lock);
		snprintf(err, errcap, "a snapshot is being written");
		return -EBUSY;
	}
	rc = snapshot_path(srv, name, name_len, sc->path, sizeof(sc->path), err, errcap);
	if (rc == 0)
		rc = blocks_ready(sc);
	if (rc == -ENOMEM)
		snprintf(err, errcap, "out of memory for snapshot blocks");
	if (rc != 0) {
		pthread_mutex_unlock(&sc->lock);
		return rc;
	}
	stats_sum_shards(srv, &ss);
	wp = (struct snap_writer_params){
		.path = sc->path,
		.key = sc->has_key ? &sc->key : NULL,
		.created = (int64_t)time(NULL),
		.items_hint = ss.curr_items,
		.bytes_hint = ss.bytes,
	};
	rc = snap_writer_create(&sc->writer, &wp, err, errcap);
	if (rc != 0) {
		pthread_mutex_unlock(&sc->lock);
		return rc;
	}
	sc->failed = false;
	sc->err[0] = '\0';
	sc->result = 0;
	__atomic_store_n(&sc->writer_done, false, __ATOMIC_RELAXED);
	sc->started_ns = snapshot_now_ns();
	for (unsigned i = 0; i < sc->nparts; i++) {
		memset(&sc->part[i].walk, 0, sizeof(sc->part[i].walk));
		sc->part[i].cur = NULL;
		__atomic_store_n(&sc->part[i].active, true, __ATOMIC_RELEASE);
	}
	/* A worker asleep in its poll starts at once (as forward_post() wakes it). */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < sc->nparts; i++)
		if (__atomic_load_n(&srv->workers[i]->sleeping, __ATOMIC_RELAXED))
			stack_wake(srv->workers[i]->stack);
	rc = writer_launch(sc);
	if (rc != 0) {
		/* The workers may have begun: let them see it failed; no writer drains. */
		writer_fail(sc);
		snprintf(err, errcap, "cannot start the snapshot writer: %s", strerror(-rc));
		sc->result = rc;
		sc->thread = 0;
		sc->finished_ns = snapshot_now_ns();
		__atomic_store_n(&sc->writer_done, true, __ATOMIC_RELEASE);
		snap_writer_abort(&sc->writer);
		/* Reaped by snapshot_service() once the workers let go of their blocks. */
	}
	sc->busy = true;
	SNAP_STAT_SET(sc, snapshot_in_progress, 1);
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

bool
snapshot_worker_pending(const struct worker *w)
{
	const struct snapshot_ctl *sc = w->srv->snap;
	const struct snapshot_part *p;

	if (sc == NULL)
		return false;
	p = &sc->part[w->id];
	/*
	 * Work only while there is a block to fill (or a failure to notice): a worker waiting for
	 * the writer may sleep, and the writer wakes it when it hands a block back.
	 */
	return __atomic_load_n(&p->active, __ATOMIC_RELAXED) &&
	       (p->cur != NULL || rte_ring_count(sc->empty) > 0 ||
		__atomic_load_n(&sc->failed, __ATOMIC_RELAXED));
}

/** This worker is done with its part: its block back, then say so (release). */
static void
part_finish(struct snapshot_ctl *sc, struct snapshot_part *p)
{
	if (p->cur != NULL) {
		if (p->cur->nitems > 0 && !__atomic_load_n(&sc->failed, __ATOMIC_RELAXED)) {
			rte_ring_enqueue(sc->full, p->cur);
		} else {
			snap_block_reset(p->cur);
			rte_ring_enqueue(sc->empty, p->cur);
		}
		p->cur = NULL;
	}
	__atomic_store_n(&p->active, false, __ATOMIC_RELEASE);
}

unsigned
snapshot_worker_step(struct worker *w)
{
	struct snapshot_ctl *sc = w->srv->snap;
	struct snapshot_part *p;
	unsigned did = 0;
	uint64_t end;

	if (sc == NULL)
		return 0;
	p = &sc->part[w->id];
	if (!__atomic_load_n(&p->active, __ATOMIC_ACQUIRE))
		return 0;
	end = rte_rdtsc() + rte_get_tsc_hz() / 1000000 * w->srv->set.snapshot_slice_us;
	do {
		struct fill_ctx f = {.shard = w->shard, .stats = &w->stats};

		if (__atomic_load_n(&sc->failed, __ATOMIC_RELAXED)) {
			part_finish(sc, p);
			return 1;
		}
		if (p->cur == NULL) {
			void *b;

			if (rte_ring_dequeue(sc->empty, &b) != 0)
				return did; /* the writer has them all: wait for one */
			p->cur = b;
		}
		f.b = p->cur;
		did = 1;
		store_walk(w->shard, &p->walk, UINT64_MAX, SNAPSHOT_WALK_CHUNKS, fill_item, &f);
		if (f.err != 0) {
			writer_fail(sc);
			part_finish(sc, p);
			return 1;
		}
		if (f.full) {
			rte_ring_enqueue(sc->full, p->cur); /* room for every block */
			p->cur = NULL;
		}
		if (p->walk.done) {
			part_finish(sc, p);
			return 1;
		}
	} while (rte_rdtsc() < end);
	return 1;
}

/** Join a finished writer and report it (under sc->lock). */
static void
reap(struct nc_server *srv, struct snapshot_ctl *sc)
{
	uint64_t us = (sc->finished_ns - sc->started_ns) / 1000;
	void *b;

	if (sc->thread != 0)
		pthread_join(sc->thread, NULL);
	sc->thread = 0;
	/*
	 * Every block back on the empty ring for the next snapshot: blocks a worker queued
	 * before it saw a failure are still on the full ring when no writer ran.
	 */
	while (rte_ring_dequeue(sc->full, &b) == 0) {
		snap_block_reset(b);
		rte_ring_enqueue(sc->empty, b);
	}
	if (sc->result == 0) {
		SNAP_STAT_ADD(sc, snapshots_written, 1);
		SNAP_STAT_SET(sc, snapshot_last_items, sc->totals.items);
		SNAP_STAT_SET(sc, snapshot_last_bytes, sc->file_bytes);
		SNAP_STAT_SET(sc, snapshot_last_duration_us, us);
		SNAP_STAT_SET(sc, snapshot_last_time, (uint64_t)time(NULL));
		nc_log(NC_LOG_NOTICE,
			"snapshot %s written: %" PRIu64 " items, %" PRIu64
			" bytes in %.3f s%s",
			sc->path, sc->totals.items, sc->file_bytes, (double)us / 1e6,
			sc->has_key ? " (encrypted)" : "");
	} else {
		SNAP_STAT_ADD(sc, snapshots_failed, 1);
		nc_log(NC_LOG_ERR, "snapshot failed: %s",
			sc->err[0] ? sc->err : strerror(-sc->result));
	}
	SNAP_STAT_SET(sc, snapshot_in_progress, 0);
	sc->busy = false;
	(void)srv;
}

void
snapshot_service(struct nc_server *srv, bool requested)
{
	struct snapshot_ctl *sc = srv->snap;

	if (sc == NULL)
		return;
	pthread_mutex_lock(&sc->lock);
	/* A writer that never started is reaped once no worker holds a block. */
	if (sc->busy && __atomic_load_n(&sc->writer_done, __ATOMIC_ACQUIRE) &&
	    (sc->thread != 0 || parts_done(sc)))
		reap(srv, sc);
	pthread_mutex_unlock(&sc->lock);
	if (requested) {
		char err[512];

		if (snapshot_start(srv, NULL, 0, err, sizeof(err)) != 0)
			nc_log(NC_LOG_WARNING, "SIGUSR1: no snapshot: %s", err);
	}
}

/** At a stop: write every shard's items with the calling thread. */
static int
write_stop_snapshot(struct nc_server *srv, struct snapshot_ctl *sc)
{
	struct snap_writer_params wp = {
		.path = srv->set.snapshot_file,
		.key = sc->has_key ? &sc->key : NULL,
		.created = (int64_t)time(NULL),
	};
	struct snap_writer *wr;
	struct snap_block b;
	struct snap_trailer t;
	uint64_t t0 = snapshot_now_ns(), bytes;
	char err[512];
	int rc;

	rc = snap_writer_create(&wr, &wp, err, sizeof(err));
	if (rc == 0 && snap_block_init(&b, SNAPSHOT_BLOCK_BYTES) != 0) {
		snprintf(err, sizeof(err), "out of memory");
		snap_writer_abort(&wr);
		rc = -ENOMEM;
	}
	if (rc != 0) {
		nc_log(NC_LOG_ERR, "stop snapshot failed: %s", err);
		SNAP_STAT_ADD(sc, snapshots_failed, 1);
		return rc;
	}
	for (unsigned i = 0; i < srv->nworkers && rc == 0; i++) {
		struct store_walk walk = {0};
		struct worker *w = srv->workers[i];

		while (!walk.done && rc == 0) {
			struct fill_ctx f = {.shard = w->shard, .b = &b, .stats = &w->stats};

			store_walk(w->shard, &walk, UINT64_MAX, 4096, fill_item, &f);
			if (f.err != 0) {
				snprintf(err, sizeof(err), "an item cannot be copied: %s",
					 strerror(-f.err));
				rc = f.err;
			} else if (f.full || (walk.done && b.nitems > 0)) {
				rc = snap_writer_block(wr, &b, err, sizeof(err));
				snap_block_reset(&b);
			}
		}
	}
	snap_block_deinit(&b);
	bytes = rc == 0 ? snap_writer_bytes(wr) + trailer_bytes(sc) : 0;
	if (rc == 0)
		rc = snap_writer_finish(&wr, &t, err, sizeof(err));
	else
		snap_writer_abort(&wr);
	if (rc != 0) {
		nc_log(NC_LOG_ERR, "stop snapshot failed: %s", err);
		SNAP_STAT_ADD(sc, snapshots_failed, 1);
		return rc;
	}
	SNAP_STAT_ADD(sc, snapshots_written, 1);
	nc_log(NC_LOG_NOTICE,
		"stop snapshot %s written: %" PRIu64 " items, %" PRIu64
		" bytes in %.3f s%s",
		srv->set.snapshot_file, t.items, bytes, (double)(snapshot_now_ns() - t0) / 1e9,
		sc->has_key ? " (encrypted)" : "");
	return 0;
}

int
snapshot_stop(struct nc_server *srv)
{
	struct snapshot_ctl *sc = srv->snap;

	if (sc == NULL)
		return 0;
	pthread_mutex_lock(&sc->lock);
	if (sc->busy) {
		/* The workers are gone: their parts end here, and the writer gives up. */
		writer_fail(sc);
		snprintf(sc->err, sizeof(sc->err), "snapshot %.400s: the server stopped first",
			 sc->path);
		for (unsigned i = 0; i < sc->nparts; i++)
			if (__atomic_load_n(&sc->part[i].active, __ATOMIC_ACQUIRE))
				part_finish(sc, &sc->part[i]);
		while (!__atomic_load_n(&sc->writer_done, __ATOMIC_ACQUIRE))
			sched_yield();
		reap(srv, sc);
	}
	pthread_mutex_unlock(&sc->lock);
	if (srv->set.snapshot_file[0] == '\0')
		return 0;
	return write_stop_snapshot(srv, sc);
}

void
snapshot_stats_get(const struct nc_server *srv, struct snapshot_stats *out)
{
	const struct snapshot_ctl *sc = srv->snap;

	memset(out, 0, sizeof(*out));
	if (sc == NULL)
		return;
#define SNAP_STAT_COPY(name, desc) out->name = __atomic_load_n(&sc->stats.name, __ATOMIC_RELAXED);
	SNAPSHOT_STATS(SNAP_STAT_COPY)
#undef SNAP_STAT_COPY
}
