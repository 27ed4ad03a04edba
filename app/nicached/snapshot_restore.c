/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Restoring a snapshot at start (see snapshot.h), before any worker runs, on the main lcore
 * acting as every shard's owner (the workers' loops have not started).
 *
 * Two passes over one open file: the first checks everything (every checksum, the
 * decryption of every record, the trailer's counts and whole-file checksum) and finds the
 * largest cas; only a file that passes is loaded, by the second pass. So a bad file never
 * puts a single item in the cache, whatever is wrong with it and wherever.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "core/log.h"
#include "cluster.h"
#include "server.h"
#include "snapshot/reader.h"
#include "snapshot_private.h"
#include "worker.h"

/** Times a store waits for memory in its grace period before the item is dropped. */
#define RESTORE_NO_MEMORY_RETRIES 200
/** Wait between those retries (ns): the reclaimer's grace period needs a moment. */
#define RESTORE_RETRY_NS 50000

/** Totals of a restore. */
struct restore_counts {
	uint64_t loaded, expired, dropped;
};

/** What became of an item of the snapshot. */
enum restore_outcome {
	RESTORE_LOADED,
	RESTORE_DROPPED,    /* -m or -I cannot keep it */
	RESTORE_SUPERSEDED, /* a newer copy of its key was loaded already */
	RESTORE_REPLACED,   /* it replaced an older copy of its key (counted once) */
};

/**
 * Store one item in the shard that owns its key. A key may be in a snapshot twice (changed
 * while the walk went on: the old item and the new one lie at different places): the copy
 * with the larger cas wins, as a shard's own cas values only grow.
 */
static enum restore_outcome
restore_item(struct nc_server *srv, const struct snap_item *si)
{
	const struct timespec pause = {0, RESTORE_RETRY_NS};
	struct store_put_opts opts = {.explicit_cas = si->cas};
	struct store_shard *s;
	struct store_key k;
	enum store_status st = STORE_NO_MEMORY;
	struct item *it = NULL;
	bool replaces = false;

	store_key_init(&k, &srv->digest_key, si->key, si->nkey);
	s = srv->workers[cluster_key_shard(srv, &k)]->shard;
	{
		struct store_hit hit;

		if (store_get(s, &k, &hit) == STORE_HIT) {
			if (hit.cas > si->cas)
				return RESTORE_SUPERSEDED;
			replaces = true;
		}
	}
	/*
	 * Memory freed by eviction comes back after a grace period: a store answered "no
	 * memory" is tried again. With compression on, the allocation is the commit's (the value
	 * is staged first), so the whole store is retried.
	 */
	for (unsigned tries = 0; st == STORE_NO_MEMORY && tries < RESTORE_NO_MEMORY_RETRIES;
	     tries++) {
		if (tries > 0) {
			rcu_quiescent_state();
			store_shard_maintain(s, 0);
			if (tries > 1)
				nanosleep(&pause, NULL);
			rcu_quiescent_state();
			store_shard_maintain(s, 0);
		}
		it = store_item_alloc(s, &k, si->client_flags, si->exptime, si->nbytes, &st);
		if (it == NULL)
			continue; /* too large for -I (stops), or no memory (tried again) */
		{
			struct item_writer wr;

			item_writer_init(&wr, it);
			item_writer_put(&wr, si->value, si->nbytes);
		}
		st = store_item_commit_meta(s, it, &k, STORE_MODE_SET, &opts, NULL);
	}
	if (st != STORE_STORED)
		return RESTORE_DROPPED; /* too large for -I, or no memory */
	return replaces ? RESTORE_REPLACED : RESTORE_LOADED;
}

/** Evictions so far, over every shard. */
static uint64_t
evictions(const struct nc_server *srv)
{
	struct store_shard_stats ss;

	stats_sum_shards(srv, &ss);
	return ss.evictions;
}

/** The second pass: every item into its shard. @return 0 or the reader's error. */
static int
restore_load(struct nc_server *srv, struct snap_reader *r, struct restore_counts *c, char *err,
	     size_t errcap)
{
	struct snap_item si;
	int64_t now = (int64_t)time(NULL);
	uint64_t evicted0 = evictions(srv), n = 0;
	int rc;

	rcu_register_thread();
	while ((rc = snap_reader_next(r, &si, err, errcap)) == 1) {
		if (si.exptime != 0 && si.exptime <= now) {
			c->expired++;
			continue;
		}
		switch (restore_item(srv, &si)) {
		case RESTORE_LOADED:
			c->loaded++;
			break;
		case RESTORE_DROPPED:
			c->dropped++;
			break;
		case RESTORE_SUPERSEDED:
		case RESTORE_REPLACED:
			break;
		}
		if (++n % 1024 == 0) {
			/* Hand retired memory (replaced keys, evictions) on; keep the clock. */
			rcu_quiescent_state();
			nc_clock_update(&srv->clock);
			now = (int64_t)time(NULL);
		}
	}
	/* Items evicted to make room for later ones did not fit either. */
	{
		uint64_t ev = evictions(srv) - evicted0;

		c->dropped += ev;
		c->loaded -= ev < c->loaded ? ev : c->loaded;
	}
	for (unsigned i = 0; i < srv->nworkers; i++)
		store_shard_maintain(srv->workers[i]->shard, 0);
	rcu_unregister_thread();
	return rc;
}

/**
 * A bad --snapshot-file is moved aside to "<file>.bad" (replacing an older one), so the stop
 * snapshot of the server that starts empty does not overwrite what someone may want to look
 * at or recover.
 */
static void
restore_keep_bad(const struct nc_server *srv, const char *path)
{
	char bad[PATH_MAX];

	if (strcmp(path, srv->set.snapshot_file) != 0 || access(path, F_OK) != 0)
		return;
	snprintf(bad, sizeof(bad), "%.*s.bad", PATH_MAX - 8, path);
	if (rename(path, bad) == 0)
		nc_log(NC_LOG_WARNING, "restore: the bad snapshot is kept as %s", bad);
	else
		nc_log(NC_LOG_ERR, "restore: cannot move the bad snapshot to %s: %s", bad,
			strerror(errno));
}

int
snapshot_restore(struct nc_server *srv, char *err, size_t errcap)
{
	struct snapshot_ctl *sc = srv->snap;
	const char *path = srv->set.restore;
	bool strict = srv->set.restore_strict != 0;
	struct restore_counts c = {0};
	struct snap_reader *r = NULL;
	struct snap_item si;
	struct stat st;
	uint64_t t0 = snapshot_now_ns(), us;
	char why[512];
	int rc;

	if (path[0] == '\0') {
		/* --snapshot-file at start: restored when it exists (a first start has none). */
		path = srv->set.snapshot_file;
		if (path[0] == '\0' || (stat(path, &st) != 0 && errno == ENOENT))
			return 0;
	}
	rc = snap_reader_open(&r, path, sc->has_key ? &sc->key : NULL, why, sizeof(why));
	if (rc == 0) {
		/* The first pass: check it all. */
		while ((rc = snap_reader_next(r, &si, why, sizeof(why))) == 1)
			;
	}
	if (rc != 0) {
		snap_reader_close(&r);
		nc_log(NC_LOG_WARNING, "restore: %s", why);
		if (strict) {
			snprintf(err, errcap, "restore refused (--restore-strict): %s", why);
			return rc;
		}
		restore_keep_bad(srv, path);
		nc_log(NC_LOG_WARNING, "restore: starting empty (--restore-strict refuses "
				"to start instead)");
		return 0;
	}
	/* New cas values start above every restored one. */
	nc_cas_source_advance(&srv->cas, snap_reader_trailer(r)->max_cas);
	rc = snap_reader_rewind(r, why, sizeof(why));
	if (rc == 0)
		rc = restore_load(srv, r, &c, why, sizeof(why));
	snap_reader_close(&r);
	if (rc != 0) {
		/* It passed its check and now fails to read (I/O): some items are in. */
		snprintf(err, errcap, "restore failed after the check, refusing to start: %s", why);
		return rc;
	}
	us = (snapshot_now_ns() - t0) / 1000;
	SNAP_STAT_SET(sc, restore_items_loaded, c.loaded);
	SNAP_STAT_SET(sc, restore_items_expired, c.expired);
	SNAP_STAT_SET(sc, restore_items_dropped, c.dropped);
	SNAP_STAT_SET(sc, restore_duration_us, us);
	nc_log(NC_LOG_NOTICE,
		"restored %s: %" PRIu64 " items loaded, %" PRIu64
		" expired meanwhile (skipped), %" PRIu64 " dropped (memory limit -m or -I) in "
		"%.3f s",
		path, c.loaded, c.expired, c.dropped, (double)us / 1e6);
	return 0;
}
