/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_SNAPSHOT_H
#define NC_APP_SNAPSHOT_H

/*
 * Snapshots of the cache while it serves (`snapshot [name]`, SIGUSR1), at a clean stop, and
 * their restore at start (snapshot_restore.c). The file format is lib/snapshot's.
 *
 * Writing while serving: whoever starts a snapshot (a worker answering the command, or the
 * control lcore after SIGUSR1) creates the temporary file, marks every worker's part active
 * and starts one writer thread (pinned to the control lcore's CPUs). Each worker, once per
 * loop iteration, walks its own shard for at most --snapshot-slice-us, copying live items
 * into 256 KiB blocks of plaintext; full blocks go to the writer over a ring, empty ones come
 * back over another, so a worker never blocks and never does I/O: when no empty block is
 * left it waits for its next iteration. The writer checksums, encrypts and writes blocks in
 * arrival order, and renames the file into place when every worker is done. The snapshot is
 * not a point in time: an item changed during the walk is written as it was when its
 * worker's walk passed it (as memcached's own restart files, which are taken at a stop).
 *
 * At a clean stop (the workers have left their loops) the control lcore writes the snapshot
 * itself, walking every shard in one go.
 *
 * Threads: snapshot_start() from any worker or the control lcore; snapshot_worker_step()
 * from the worker named; snapshot_service() and the rest from the control lcore (main).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nc_server;
struct worker;

/** Figures of `stats`, kept by the control side: X(name, description). */
#define SNAPSHOT_STATS(X)                                                                   \
	X(snapshots_written, "snapshots completed and renamed into place")                  \
	X(snapshots_failed, "snapshots that failed (a write error, a stop while writing)")   \
	X(snapshot_in_progress, "1 while a snapshot is being written")                      \
	X(snapshot_last_items, "items in the last snapshot written")                        \
	X(snapshot_last_bytes, "bytes of the last snapshot file written")                   \
	X(snapshot_last_duration_us, "microseconds the last snapshot took")                 \
	X(snapshot_last_time, "unix time the last snapshot was completed")                  \
	X(restore_items_loaded, "items restored from a snapshot at start")                  \
	X(restore_items_expired, "items of the snapshot expired meanwhile, skipped")         \
	X(restore_items_dropped, "items the memory limit (-m, -I) could not keep at restore") \
	X(restore_duration_us, "microseconds the restore at start took (both passes)")

struct snapshot_stats {
#define SNAPSHOT_STAT_FIELD(name, desc) uint64_t name;
	SNAPSHOT_STATS(SNAPSHOT_STAT_FIELD)
#undef SNAPSHOT_STAT_FIELD
};

/**
 * [setup, main lcore] Load the key (--snapshot-key) and make the snapshot state of @p srv
 * (srv->snap). Does nothing more without --snapshot-file and a key, but `stats` reports.
 * @return 0; a negative errno with a message in @p err (e.g. a key file that is not a key).
 */
int snapshot_setup(struct nc_server *srv, char *err, size_t errcap);

/** [setup] Free the snapshot state (after snapshot_stop()). */
void snapshot_teardown(struct nc_server *srv);

/**
 * [any worker or the control lcore] Start writing a snapshot to @p name: NULL means
 * --snapshot-file; otherwise a bare file name (no '/', not starting with '.') written in
 * --snapshot-file's folder, so a client cannot make the server write elsewhere.
 * @return 0 when started; -EBUSY when one is being written; -ENOENT without
 *         --snapshot-file; -EINVAL for a name that is not a bare file name; the file's
 *         negative errno when it cannot be created. A message for the reply in @p err.
 */
int snapshot_start(struct nc_server *srv, const char *name, uint32_t name_len, char *err,
		   size_t errcap);

/**
 * [worker @p w] Whether this worker has part of a snapshot to copy now (it must not sleep):
 * false while it waits for the writer to hand a block back (the writer wakes it then).
 */
bool snapshot_worker_pending(const struct worker *w);

/**
 * [worker @p w, in its loop] Copy the next slice of its shard into the snapshot being written
 * (at most --snapshot-slice-us). @return 1 when it did something, else 0 (no empty block to
 * fill: the writer has them all).
 */
unsigned snapshot_worker_step(struct worker *w);

/**
 * [control lcore] Every tick: reap a finished writer (log its outcome), and start a snapshot
 * when @p requested (SIGUSR1).
 */
void snapshot_service(struct nc_server *srv, bool requested);

/**
 * [main, after the workers left their loops] Give up a snapshot still being written, then
 * with --snapshot-file write one of every shard (the clean-stop snapshot).
 * @return 0; a negative errno when the stop snapshot failed (said on stderr).
 */
int snapshot_stop(struct nc_server *srv);

/**
 * [setup, main lcore, before the workers start] Restore --restore (or --snapshot-file when it
 * exists): check the whole file, then load its items into the shards that own their keys
 * (items expired meanwhile skipped; flags, cas and expiry kept; what -m or -I cannot keep
 * dropped and counted), and move the CAS source past the largest restored cas.
 * A bad file is reported on stderr; then, with --restore-strict, an error; else the server
 * starts empty.
 * @return 0 (restored, nothing to restore, or a bad file and not strict); a negative errno
 *         with a message in @p err when the server must not start.
 */
int snapshot_restore(struct nc_server *srv, char *err, size_t errcap);

/** [any] The figures of `stats` (relaxed reads). */
void snapshot_stats_get(const struct nc_server *srv, struct snapshot_stats *out);

#endif /* NC_APP_SNAPSHOT_H */
