/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_SHARD_PRIVATE_H
#define NC_STORE_SHARD_PRIVATE_H

/*
 * Inside of a shard, shared by the files that implement shard.h: shard.c (lifecycle and
 * upkeep), shard_read.c (reader paths), shard_memory.c (allocation, eviction, linking) and
 * shard_cmd.c (the storage commands). Not a public header.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_prefetch.h>

#include "store/shard.h"

/* Items evicted at once when a class is full, so one grace period serves many stores. */
#define EVICT_BATCH 32
/* Items used within this many clock ticks (a second) are not evicted while a class holds older
 * ones. */
#define SPARE_TICKS NC_CLOCK_TICKS_PER_SEC
/*
 * A class whose items are all recent takes a page from another only when that one's oldest
 * items were used more than this many seconds ago (memcached's automover compares ages too):
 * with a cache that turns over every second or two, moving on smaller differences moved pages
 * back and forth, each move evicting a page of items.
 */
#define MOVE_MIN_AGE 3
/* A class's only page is checked for recent items before it moves only up to this many chunks. */
#define SPARE_SCAN_MAX 64
/* A full class keeps up to this many chunks free or on their way back (evict_ahead()). */
#define EVICT_AHEAD 16
/*
 * ... and no more than this many bytes of them: free chunks are memory no item uses (1.5 MB of
 * 64 with 128 KB a class in the mixed sizes of scripts/bench-memory.sh). A batch evicted at
 * once holds at most twice this, or one item.
 */
#define EVICT_AHEAD_BYTES (2u << 10)
/* ... but one for classes of chunks up to this size, however large. */
#define EVICT_AHEAD_CHUNK_MAX (64u << 10)
/* Chunks the CLOCK hand may visit per store that needs memory. */
#define EVICT_VISITS 4096
/* ... when the item at the hand is recent (the whole class may be; see make_room()). */
#define EVICT_VISITS_RECENT 4096
/* Index keys moved to a larger table per store_shard_maintain() call while the index grows. */
#define INDEX_MOVES_PER_CALL 128
/* Retirements handed to liburcu at once from store_shard_maintain(), or ... */
#define RETIRE_FLUSH_ITEMS 64
/* ... after this many maintain calls with anything pending. */
#define RETIRE_FLUSH_CALLS 64

/*
 * Owner-only compression state (shard_compress.c): the parameters and three buffers grown on
 * demand with malloc, never seen by readers: `stage` holds the staging item a store fills
 * (store_item_alloc()), `flat` a whole value as clients see it (append/prepend results,
 * incr/decr input), `out` LZF output or a chained compressed value gathered whole.
 */
struct shard_zip {
	struct store_compress_params p;
	struct item *stage;
	size_t stage_cap;
	bool staged; /* stage is handed out (allocated, not committed or abandoned) */
	char *flat;
	size_t flat_cap;
	char *out;
	size_t out_cap;
};

struct store_shard {
	/* Read by every reader: written rarely. */
	struct store_index index;
	struct nc_clock *clock;
	const struct nc_digest_key *digest_key;
	bool no_evict; /* -M: never evict a live item for room (store_shard_params) */
	nc_reltime_t oldest_live; /* flush_all time; 0 = none; relaxed atomic */
	nc_reltime_t flush_sec;	  /* second of the last flush in force at once; relaxed */
	uint32_t flush_seq;	  /* flushes in force at once so far; relaxed (owner writes) */

	/* Owner only. */
	struct store_shard_stats stats __rte_cache_aligned;
	struct nc_cas_lease cas;
	struct item *inflight;	   /* allocated, not committed */
	int found_clsid;	   /* store_shard_found_class(): set by shard_lookup_owner() */
	nc_reltime_t tails_at;	   /* second the last shard_refresh_tails() pass started */
	unsigned tails_next;	   /* the class that pass looks at next (nclasses: done) */
	uint64_t index_changes;	   /* store_shard_changes() */
	uint32_t flush_wait_calls; /* maintain calls since pending retirements were seen */
	unsigned index_full_rotor; /* class to start evicting from when the index is full */
	unsigned sweep_class;	   /* the class a recent_oldest judge sweeps (a chained item's
				      chunk shows its head, of another class) */
	unsigned id;
	struct shard_zip zip;
	struct retire retire;
	struct ttl_wheel wheel;
	struct slab slab;
};

/* Counters are written by the owner and read by the control core: relaxed atomics. */
#define STAT_ADD(s, name, v) \
	__atomic_store_n(&(s)->stats.name, (s)->stats.name + (v), __ATOMIC_RELAXED)
#define STAT_SUB(s, name, v) \
	__atomic_store_n(&(s)->stats.name, (s)->stats.name - (v), __ATOMIC_RELAXED)

/* ---- item state, shared by readers and the owner ---- */

/* True when a flush_all is in force at time now (so items must be checked against it). */
static inline bool
flush_active(const struct store_shard *s, nc_reltime_t now)
{
	nc_reltime_t oldest = __atomic_load_n(&s->oldest_live, __ATOMIC_RELAXED);

	return oldest != 0 && oldest <= now;
}

/*
 * Whether a flush_all in force at time now hides the item: memcached's rule (stored at or
 * before oldest_live), and for an item stored in the very second a flush took effect at once,
 * whether it was linked before that flush. memcached tells those apart by cas; a cas can be
 * the client's own (meta E), so the shard counts its flushes instead and each item keeps the
 * count it was linked under (flush_seq, low 16 bits: 65,536 flushes within one second on one
 * shard would make a stamp repeat).
 */
static inline bool
item_flushed(const struct store_shard *s, const struct item *it, nc_reltime_t now)
{
	if (!flush_active(s, now))
		return false;
	nc_reltime_t t = item_atime(it);

	if (t <= __atomic_load_n(&s->oldest_live, __ATOMIC_RELAXED))
		return true;
	return t == __atomic_load_n(&s->flush_sec, __ATOMIC_RELAXED) &&
	       it->flush_seq != (uint16_t)__atomic_load_n(&s->flush_seq, __ATOMIC_RELAXED);
}

/*
 * item_classify() for an item whose key is known to be the one asked for (the index compared
 * it, or the caller did): what it means at time now.
 */
static inline enum store_status
item_classify_keyed(const struct store_shard *s, const struct item *it, nc_reltime_t now,
		    bool check_flush)
{
	if (it == NULL)
		return STORE_MISS;
	if (nc_reltime_expired(item_exptime(it), now))
		return STORE_EXPIRED;
	if (check_flush && item_flushed(s, it, now))
		return STORE_FLUSHED;
	return STORE_HIT;
}

/*
 * What an index entry means for key k at time now. @p check_flush false skips the flush test
 * (the caller found no flush in force).
 */
static inline enum store_status
item_classify(const struct store_shard *s, const struct item *it, const struct store_key *k,
	      nc_reltime_t now, bool check_flush)
{
	if (it == NULL || !item_key_equals(it, k->key, k->len))
		return STORE_MISS;
	return item_classify_keyed(s, it, now, check_flush);
}

/*
 * Start loading what a reader of item `it` for key k touches: the reader part of the header,
 * the key and the first bytes of the value (the lines after ITEM_READER_OFFSET).
 */
static inline void
item_prefetch_for_read(const struct item *it, const struct store_key *k)
{
	const char *p = (const char *)it + ITEM_READER_OFFSET;
	const char *end = (const char *)it->data + k->len + RTE_CACHE_LINE_SIZE;

	rte_prefetch0(p);
	for (p = RTE_PTR_ALIGN_FLOOR(p, RTE_CACHE_LINE_SIZE) + RTE_CACHE_LINE_SIZE; p < end;
	     p += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(p);
}

/* The meta bits a reader reports (X, Z): one relaxed load of the byte. */
static inline void
hit_fill_meta(struct store_hit *hit, const struct item *it)
{
	uint8_t m = __atomic_load_n(&it->meta, __ATOMIC_RELAXED);

	hit->stale = (m & ITEM_META_STALE) != 0;
	hit->win_sent = (m & ITEM_META_WIN_SENT) != 0;
}

/*
 * Fill what a plain read of *hit uses (status, it, value, seg_len, seg_next, nbytes,
 * client_flags, cas) from what the index gave (st from item_classify()); not the meta
 * commands' fields (atime, fetched, stale, win_sent) nor exptime. Does not mark it used.
 */
static inline void
hit_fill_value(struct store_hit *hit, struct item *it, enum store_status st)
{
	struct item_seg sg;

	hit->status = st;
	if (st != STORE_HIT) {
		hit->it = NULL;
		return;
	}
	hit->it = it;
	item_seg_first(it, &sg);
	hit->value = sg.data;
	hit->seg_len = sg.len;
	hit->seg_next = sg.next;
	hit->nbytes = it->nbytes;
	hit->client_flags = it->client_flags;
	hit->cas = it->cas;
}

/* Fill all of *hit from what the index gave (st from item_classify()), without marking it used. */
static inline void
hit_fill_peek(struct store_hit *hit, struct item *it, enum store_status st)
{
	hit_fill_value(hit, it, st);
	if (st != STORE_HIT)
		return;
	/* What the meta flags h and l report: the state before this access. */
	hit->fetched = __atomic_load_n(&it->fetched, __ATOMIC_RELAXED) != 0;
	hit->atime = item_atime(it);
	hit_fill_meta(hit, it);
	hit->exptime = item_exptime(it);
}

/* Fill *hit and mark a hit used at @p ticks, the clock reading st was decided at. */
static inline void
hit_fill(struct store_hit *hit, struct item *it, enum store_status st, uint32_t ticks)
{
	hit_fill_peek(hit, it, st);
	if (st == STORE_HIT)
		item_mark_used(it, ticks);
}

/* hit_fill() for a plain read: only what hit_fill_value() fills. */
static inline void
hit_fill_read(struct store_hit *hit, struct item *it, enum store_status st, uint32_t ticks)
{
	hit_fill_value(hit, it, st);
	if (st == STORE_HIT)
		item_mark_used(it, ticks);
}

/* ---- owner-side helpers (shard_memory.c) ---- */

/** Take a linked item out of the index and the wheel and retire it. */
void shard_item_unlink(struct store_shard *s, struct item *it);

/** Count the removal of an expired or flushed item, then unlink it. */
void shard_item_reclaim_dead(struct store_shard *s, struct item *it);

/** Allocate an item whose exptime is already relative time; NULL with *st on failure. */
struct item *shard_item_alloc_rel(struct store_shard *s, const struct store_key *k,
				  uint32_t client_flags, nc_reltime_t exptime, uint32_t nbytes,
				  enum store_status *st);

/**
 * Publish it for k, replacing `cur` (what the index holds for the digest now). @p counts_as_new
 * false keeps total_items unchanged (memcached's in-place incr).
 */
enum store_status shard_item_link(struct store_shard *s, struct item *it, const struct store_key *k,
				  struct item *cur, bool counts_as_new);

/**
 * shard_item_link() with the new item's cas given: @p cas != 0 is used as it is (meta E),
 * 0 takes the next one from the shard's cas lease.
 */
enum store_status shard_item_link_cas(struct store_shard *s, struct item *it,
				      const struct store_key *k, struct item *cur,
				      bool counts_as_new, uint64_t cas);

/**
 * Build the append (@p append) or prepend result of @p old and @p it for key k; consumes it
 * whatever happens. @return the joined item (allocated, not linked), or NULL with *st set.
 */
struct item *shard_item_concat(struct store_shard *s, const struct item *old, struct item *it,
			       const struct store_key *k, bool append, enum store_status *st);

/**
 * The live item for k or NULL; *cur gets the index entry; dead items are unlinked. Notes the
 * live item's class for store_shard_found_class() (-1 when there is none).
 */
struct item *shard_lookup_owner(struct store_shard *s, const struct store_key *k,
				struct item **cur);

/* Give back the chunks after the head of a chained item (nothing for others). Owner. */
void shard_item_free_chunks(struct store_shard *s, struct item *it);

/* Add @p sign (1 or -1) to nretired of the class of every chunk the item holds. Owner. */
void shard_item_count_retired(struct store_shard *s, const struct item *it, int sign);

/* ---- class ages (shard_age.c), owner ---- */

/**
 * Note in one class's tail_atime the last access of the coldest item near its CLOCK hand
 * (slab_class_coldest(): at most 64 chunks); the next call the next class. A pass over every
 * class starts once a second (the second in tails_at). store_shard_maintain() calls it each
 * time.
 */
void shard_refresh_tails(struct store_shard *s);

/* ---- compression (shard_compress.c), owner ---- */

/*
 * Largest value compression tries (memcached's default -I): LZF runs at 200-400 MB/s here
 * (README, Compression), so compressing a 1 MiB value holds the owner's loop, and every
 * request on its queue, for up to ~6 ms, and -I allows values of up to 1 GB. Larger values
 * are stored as they are.
 */
#define SHARD_ZIP_MAX (1u << 20)
/* The owner's compression buffers keep at most this much between stores (larger: freed). */
#define SHARD_ZIP_KEEP (1u << 20)

/**
 * Whether a value of @p n bytes is one compression should try: on, and n between the minimum
 * and SHARD_ZIP_MAX.
 */
static inline bool
shard_zip_wants(const struct store_shard *s, uint64_t n)
{
	return s->zip.p.enabled && n >= s->zip.p.min && n <= SHARD_ZIP_MAX;
}

/** Whether @p it is the shard's staging item. */
static inline bool
shard_item_staged(const struct store_shard *s, const struct item *it)
{
	return it == s->zip.stage && s->zip.staged;
}

/**
 * Hand out the staging item for a store of @p nbytes (store_item_alloc() with compression
 * wanted). @return it, or NULL with *st (STORE_KEY_TOO_LONG, STORE_TOO_LARGE, STORE_NO_MEMORY
 * when the buffer cannot grow).
 */
struct item *shard_zip_stage(struct store_shard *s, const struct store_key *k,
			     uint32_t client_flags, nc_reltime_t exptime, uint32_t nbytes,
			     enum store_status *st);

/** Give the staging item back (abandon, or after shard_zip_finish()). */
void shard_zip_unstage(struct store_shard *s);

/**
 * Turn the filled staging item into a slab item (allocated, not linked, pinned as inflight),
 * compressed when that saves enough; the staging item is given back either way.
 * @return the item, or NULL with *st (STORE_NO_MEMORY: retry later; STORE_TOO_LARGE).
 */
struct item *shard_zip_finish(struct store_shard *s, struct item *staged,
			      const struct store_key *k, enum store_status *st);

/**
 * Allocate an item (not linked, pinned as inflight) holding @p raw[0..n), compressed when
 * compression wants n bytes and saves enough, else as it is. Then gives back compression
 * buffers above SHARD_ZIP_KEEP: @p raw (which may be one of them) is not to be used after.
 * @return the item, or NULL with *st as shard_item_alloc_rel().
 */
struct item *shard_item_from_flat(struct store_shard *s, const struct store_key *k,
				  uint32_t client_flags, nc_reltime_t exptime, const char *raw,
				  uint32_t n, enum store_status *st);

/**
 * Copy @p it's value as the client wrote it (item_value_len() bytes) to @p dst,
 * decompressing a compressed one. @return 0, or -EIO on data that does not decompress.
 */
int shard_item_read_raw(struct store_shard *s, const struct item *it, char *dst);

/**
 * Room for @p n bytes in the flat buffer. @return it, or NULL when it cannot grow.
 */
char *shard_zip_flat(struct store_shard *s, size_t n);

/**
 * The number an item holds for incr/decr (store_arith_parse() rules), read through zip.flat
 * when compressed. @return STORE_OK, STORE_NON_NUMERIC (chained and not compressed, as before:
 * memcached's numbers are short), or STORE_NO_MEMORY.
 */
enum store_status shard_item_number(struct store_shard *s, const struct item *it, uint64_t *value);

/**
 * The item of an incr/decr result: @p digits, then spaces up to @p len bytes, stored by the
 * rule of a store (compressed when wanted and worth it). Allocated, not linked, inflight.
 * @return the item, or NULL with *st.
 */
struct item *shard_item_number_alloc(struct store_shard *s, const struct store_key *k,
				     uint32_t client_flags, nc_reltime_t exptime,
				     const char *digits, uint32_t ndigits, uint32_t len,
				     enum store_status *st);

/** Free the compression buffers (shard destroy). */
void shard_zip_fini(struct store_shard *s);

#endif /* NC_STORE_SHARD_PRIVATE_H */
