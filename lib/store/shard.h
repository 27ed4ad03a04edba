/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_SHARD_H
#define NC_STORE_SHARD_H

/*
 * One shard of the cache, owned by one worker lcore: index (index.h), slab memory, CLOCK
 * eviction, TTL wheel and RCU retirement, with memcached's storage commands.
 *
 * Contracts, marked on every function:
 *  - [reader] Any thread registered with liburcu-qsbr and online. Results that point into an
 *    item (struct store_hit) stay valid only until the caller's next quiescent state
 *    (rcu_quiescent_state()): copy the value into the response before that. Readers never
 *    write the shard except relaxed hint stores (item_mark_used).
 *  - [owner] Only the shard's owning thread, which must itself be a registered, online RCU
 *    reader. The owner never blocks waiting for a grace period.
 *  - [setup] Before readers exist or after they are gone.
 *
 * Memory: the item arena is exactly the memory limit. When it is full a store evicts (CLOCK,
 * per size class) or moves a page between classes; the memory freed that way becomes usable
 * after a grace period, so a store can answer STORE_NO_MEMORY meaning "retry after your next
 * quiescent state and store_shard_maintain()". A worker loop retries; it is not an error.
 *
 * Expiry and flush follow memcached: exptime 0 never; up to 30 days relative; larger an
 * absolute unix time; negative already expired. Expired and flushed items are misses for
 * every command before the TTL wheel or the sweep removes them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#include "core/cas.h"
#include "core/clock.h"
#include "core/digest.h"
#include "store/index.h"
#include "store/item.h"
#include "store/retire.h"
#include "store/slab.h"
#include "store/status.h"
#include "store/ttl_wheel.h"

/** How a value is stored: memcached's storage commands. X(name, command) */
#define STORE_MODE_LIST(X)    \
	X(SET, "set")         \
	X(ADD, "add")         \
	X(REPLACE, "replace") \
	X(APPEND, "append")   \
	X(PREPEND, "prepend") \
	X(CAS, "cas")

enum store_mode {
#define STORE_MODE_ENUM(name, cmd) STORE_MODE_##name,
	STORE_MODE_LIST(STORE_MODE_ENUM)
#undef STORE_MODE_ENUM
	STORE_MODE_COUNT
};

/**
 * Owner-side counters of a shard (they only grow), written by the owner, read relaxed by the
 * control core. X(name, description)
 */
#define STORE_SHARD_STATS(X)                                                       \
	X(total_items, "items ever linked")                                        \
	X(evictions, "live items evicted to make room")                            \
	X(evicted_unfetched, "evicted items never returned to a reader")           \
	X(reclaimed, "expired or flushed items whose memory was taken back")       \
	X(expired_unfetched, "reclaimed expired items never returned to a reader") \
	X(ttl_expired, "items removed by the TTL wheel")                           \
	X(slab_reassigns, "pages moved between size classes")                      \
	X(slab_reassign_rescues, "recent items moved off a page being moved, not evicted") \
	X(alloc_retries, "stores answered STORE_NO_MEMORY while memory was reclaimed") \
	X(evicted_active, "evicted items a reader had marked used since the eviction hand last passed (memcached's evicted_active)") \
	X(compressions, "values the owner ran LZF on (stores, append/prepend, incr/decr)") \
	X(compress_skipped, "of those, kept uncompressed: saved less than compression_min_saving") \
	X(compress_cycles, "TSC cycles spent in lzf_compress") \
	X(owner_decompressions, "compressed values the owner decompressed (append/prepend, incr/decr)") \
	X(owner_decompress_cycles, "TSC cycles spent in lzf_decompress by the owner")

/** A shard's levels (they go up and down), read where they live. X(name, description) */
#define STORE_SHARD_GAUGES(X)                                                      \
	X(curr_items, "items linked now")                                          \
	X(bytes, "bytes of linked items, header included (memcached's bytes)")     \
	X(hash_bytes, "DPDK memory of the index tables (memcached's hash_bytes)")    \
	X(hash_entries, "key slots of the index's current table (memcached's hash_power_level is its log2)") \
	X(hash_is_expanding, "shards whose index is moving keys to a larger table") \
	X(compressed_items, "items linked now whose value is stored compressed (LZF)") \
	X(compressed_bytes_before, "of those, the values' bytes as clients wrote them") \
	X(compressed_bytes_after, "of those, the values' bytes as stored (4-byte length + LZF)")

struct store_shard_stats {
#define STORE_SHARD_STAT_FIELD(name, desc) uint64_t name;
	STORE_SHARD_STATS(STORE_SHARD_STAT_FIELD)
	STORE_SHARD_GAUGES(STORE_SHARD_STAT_FIELD)
#undef STORE_SHARD_STAT_FIELD
};

/** Value compression (shard_compress.c). Off when enabled is false: stores work as before. */
struct store_compress_params {
	bool enabled;	       /* compress values of at least min bytes with LZF */
	uint32_t min;	       /* smallest value tried, bytes (0: every value) */
	uint32_t min_saving;   /* percent of the value compression must save (0..99) to be kept */
};

struct store_shard_params {
	unsigned shard_id;		    /* used in names and logs */
	int socket_id;			    /* NUMA socket for memory, or SOCKET_ID_ANY */
	size_t mem_limit;		    /* item memory, bytes (-m share of this shard) */
	size_t item_size_max;		    /* largest item incl. header (-I); 0 = 1 MiB */
	uint32_t chunk_min;		    /* -n; 0 = 48 */
	double growth_factor;		    /* -f; 0 = 1.25 */
	uint32_t index_entries;		    /* fixed key slots; 0 = grow to one per smallest chunk */
	unsigned first_page_shares;	    /* slab_params: shards sharing memcached's first pages */
	bool no_evict;			    /* memcached -M: a store that needs room fails instead of
					     * evicting (expired items still go; free pages still move) */
	const struct nc_digest_key *digest_key; /* the process's digest key (store_key_init) */
	struct nc_clock *clock;		    /* coarse clock the owner keeps updated */
	struct nc_cas_source *cas_source;   /* process-wide CAS source */
	struct retire_reclaimer *reclaimer; /* process-wide grace-period thread */
	struct store_compress_params compress; /* zeroed: no compression */
};

/** A found item, as a reader copies it out. Valid until the reader's next quiescent state. */
struct store_hit {
	const struct item *it; /* NULL unless status is STORE_HIT */
	const char *value;     /* the value's first piece (all of it unless chained) */
	uint32_t nbytes;       /* the whole value's length */
	uint32_t seg_len;      /* bytes at value; the rest follows through seg_next */
	const struct item *seg_next; /* next chunk of a chained value (store_hit_next_seg()) */
	uint32_t client_flags;
	uint64_t cas;
	nc_reltime_t exptime;
	enum store_status status; /* HIT, MISS, EXPIRED or FLUSHED */
	/* For meta commands: the item's state as found, before this access marked it used. */
	nc_reltime_t atime; /* last access before this one (meta l) */
	bool fetched;	    /* returned to a reader before (meta h) */
	bool stale;	    /* marked stale by md I / ms I (meta X) */
	bool win_sent;	    /* a recache token was handed out already (meta Z) */
};

/**
 * [reader] Whether a hit's value is stored compressed (@p hit from a store_*get* call that
 * returned STORE_HIT, in the current read section): value, seg_len, seg_next and nbytes then
 * describe the stored bytes, not the client's, and store_hit_inflate() gives the client's.
 * Not a field filled by every lookup: a read path that never meets compressed items pays one
 * load of the item's meta byte (on a line the lookup touched) and one branch, where it asks.
 */
static inline bool
store_hit_compressed(const struct store_hit *hit)
{
	return item_is_compressed(hit->it);
}

/**
 * [reader] The slab class (from 0) of a hit's item (@p hit from a store_*get* call that
 * returned STORE_HIT, in the current read section): one byte on a line the lookup read.
 */
static inline unsigned
store_hit_class(const struct store_hit *hit)
{
	return hit->it->clsid;
}

struct store_shard;

/**
 * [setup] Create a shard: arena, index, wheel. EAL must be initialised.
 * @return the shard, or NULL with *err set to a negative errno (-EINVAL bad parameters,
 *         -ENOMEM memory, -ERANGE an arena above the 48-bit addresses the index keeps).
 */
struct store_shard *store_shard_create(const struct store_shard_params *p, int *err);

/**
 * [any] The NUMA socket the shard's item arena lies on, as EAL's memory map says (the
 * socket asked for in store_shard_params, or where SOCKET_ID_ANY found room).
 * @return the socket id, or SOCKET_ID_ANY if EAL does not know the memory.
 */
int store_shard_mem_socket(const struct store_shard *s);

/**
 * [setup] Destroy a shard and set *s to NULL; NULL and *s == NULL are allowed. Waits until
 * every retired item is back (its reclaimer must still run); no reader may use the shard.
 */
void store_shard_destroy(struct store_shard **s);

/**
 * [any] Bytes a shard made with @p p may hold beyond its mem_limit: its part of memcached's
 * one page per class (p->first_page_shares). For sizing memory before the shard exists.
 * @return the bytes; 0 when there is no allowance or the parameters are refused.
 */
size_t store_shard_first_page_bytes(const struct store_shard_params *p);

/** [reader] Current relative time of the shard's clock. */
nc_reltime_t store_shard_now(const struct store_shard *s);

/** [any] The digest key keys for this shard must be digested with. */
const struct nc_digest_key *store_shard_digest_key(const struct store_shard *s);

/* ---- reads ---- */

/**
 * [reader] Look up one key. Marks a hit as used (CLOCK bit, access time).
 * @return STORE_HIT (hit filled), STORE_MISS, STORE_EXPIRED or STORE_FLUSHED.
 */
enum store_status store_get(const struct store_shard *s, const struct store_key *k,
			    struct store_hit *hit);

/**
 * [reader] Look up @p n keys (<= INDEX_BULK_MAX) in one burst: bulk index lookup with
 * bucket prefetch, then item prefetch, then key checks, so memory misses overlap.
 * hits[i].status says what happened to keys[i].
 * @return the number of STORE_HIT results.
 */
unsigned store_get_bulk(const struct store_shard *s, const struct store_key *const keys[],
			unsigned n, struct store_hit hits[]);

/**
 * [reader or owner] Warm the caches for a burst of keys about to be written (or read one at a
 * time): one bulk index lookup, which prefetches buckets and key slots across the burst, then
 * a prefetch of every item found. Changes nothing. A worker calls it on the keys of an RX
 * burst before executing them, so their index and item misses overlap instead of stalling each
 * request in turn. With @p found non-NULL, found[i] is what the index held for keys[i] (NULL:
 * nothing): a hint for store_get_found() on the same key within the caller's read-side
 * critical section (before its next RCU quiescent state), never after.
 */
void store_prefetch_bulk(const struct store_shard *s, const struct store_key *const keys[],
			 unsigned n, const struct item *found[]);

/**
 * [reader] store_get() that starts from @p found, what store_prefetch_bulk() found for @p k
 * earlier in the caller's read-side critical section, instead of looking the key up again.
 * The caller must know that the index has not changed @p k since: any reader may trust a
 * hint into another worker's shard (its owner's writes are concurrent with the request, which
 * arrived before the prefetch), but the owner must not trust one into its own shard once it
 * changed that shard's index (store_shard_changes() moved: its own writes come in order).
 * A NULL @p found, or one whose key is not @p k, means a lookup as store_get().
 * @return as store_get().
 */
enum store_status store_get_found(const struct store_shard *s, const struct store_key *k,
				  const struct item *found, struct store_hit *hit);

/**
 * [reader] store_get_found() for a plain read (a text or binary get): of @p hit it fills only
 * status, it, value, seg_len, seg_next, nbytes, client_flags and cas; atime, fetched, stale,
 * win_sent and exptime (what the meta commands report) are left as they were. Marks a hit used
 * as store_get_found() does. @return as store_get().
 */
enum store_status store_read_found(const struct store_shard *s, const struct store_key *k,
				   const struct item *found, struct store_hit *hit);

/**
 * [owner] How many times the owner changed the shard's index so far (a key added, removed or
 * pointed at another item): store_get_found()'s hints into the owner's own shard are valid
 * while this stays the same. Wraps around.
 */
uint64_t store_shard_changes(const struct store_shard *s);

/**
 * [reader] The length of a compressed hit's value as the client wrote it
 * (store_hit_compressed()).
 */
uint32_t store_hit_raw_len(const struct store_hit *hit);

/**
 * [reader] Decompress a compressed hit's value into @p dst, which has room for
 * store_hit_raw_len() bytes. A chained value is first gathered into @p tmp (room for
 * hit->nbytes; NULL is allowed when hit->seg_next is NULL). Either buffer is the caller's:
 * nothing here outlives the call, and @p dst holds a copy, so it may outlive the read section.
 * @return 0; -EIO when the stored data does not decompress to its recorded length (never
 *         for an item this store wrote).
 */
int store_hit_inflate(const struct store_hit *hit, void *dst, void *tmp);

/* ---- writes (owner) ---- */

/**
 * [owner] Allocate an unlinked item for key k with room for @p nbytes of value, which the
 * caller fills through item_value() (e.g. gathering a value that spans packets) and then
 * passes to store_item_commit() or store_item_abandon(). At most one item may be allocated
 * and not yet committed or abandoned per shard. With compression on and @p nbytes at least
 * its minimum, the item is the shard's staging item (outside the slab, contiguous): the
 * commit compresses it and allocates the slab item at the size it is stored at.
 * @return the item, or NULL with *st = STORE_TOO_LARGE, STORE_KEY_TOO_LONG or
 *         STORE_NO_MEMORY (retry later).
 */
struct item *store_item_alloc(struct store_shard *s, const struct store_key *k,
			      uint32_t client_flags, int64_t exptime, uint32_t nbytes,
			      enum store_status *st);

/**
 * [owner] Store an item from store_item_alloc() with the semantics of @p mode, and consume it
 * whatever the outcome. @p cas_in is compared for STORE_MODE_CAS; *cas_out (may be NULL)
 * receives the new item's cas when stored. APPEND/PREPEND keep the old item's flags and
 * exptime, as memcached. A staging item (compression) is compressed and allocated here, so
 * STORE_NO_MEMORY may come from any mode then (nothing changed; retry later).
 * @return STORE_STORED; STORE_NOT_STORED (add on a live key; replace/append/prepend on a
 *         missing one); STORE_EXISTS / STORE_NOT_FOUND (cas); STORE_TOO_LARGE (append result
 *         above -I: memcached answers NOT_STORED there); STORE_NO_MEMORY (append/prepend
 *         could not allocate: retry later).
 */
enum store_status store_item_commit(struct store_shard *s, struct item *it,
				    const struct store_key *k, enum store_mode mode,
				    uint64_t cas_in, uint64_t *cas_out);

/**
 * [owner] What memcached does when a store cannot even allocate: a SET whose item is too
 * large removes the key's current value, so stale data does not outlive the failed set.
 * Callers of store_item_alloc() call this with the failure status; store_put() does it itself.
 */
void store_alloc_failed(struct store_shard *s, const struct store_key *k, enum store_mode mode,
			enum store_status st);

/**
 * [owner] Whether retrying a store that answered STORE_NO_MEMORY is pointless: the shard
 * never evicts (-M) and no memory is waiting for a grace period, so nothing will free room
 * but the TTL wheel or a client's delete. Callers answer "out of memory" at once then.
 */
bool store_shard_no_room_coming(const struct store_shard *s);

/**
 * [owner] A mark of the memory returned to the shard so far (items whose grace period ended,
 * counted when they come back). Take it when a store answers STORE_NO_MEMORY and give it to
 * store_shard_room_ready() before trying again.
 */
uint64_t store_shard_room_mark(const struct store_shard *s);

/**
 * [owner] Whether a store that answered STORE_NO_MEMORY when store_shard_room_mark() said
 * @p mark may find room if tried again now: memory came back since (the per-loop upkeep may
 * have taken it), nothing retired is outstanding (room then comes from the retry's own
 * eviction), retired items are not yet posted to the reclaimer (the retry posts them), or a
 * batch's grace period has ended. While false, a retry would only fail again: callers keep
 * the store waiting and ask again at their next loop iteration. O(1).
 */
bool store_shard_room_ready(const struct store_shard *s, uint64_t mark);

/**
 * [owner] Count a store given up for memory in the class a value of @p nkey + @p nbytes
 * would take (memcached's `stats items` outofmemory: once per refused store).
 */
void store_count_out_of_memory(struct store_shard *s, size_t nkey, size_t nbytes);

/**
 * [any] The slab class (from 0) an item of key length @p nkey and value length @p nbytes
 * (as the client sends it) is allocated in: the largest class for a chained one (its head's).
 * @return the class, or -1 when the item is larger than -I allows.
 */
int store_class_for(const struct store_shard *s, size_t nkey, size_t nbytes);

/**
 * [owner] The slab class (from 0) of the live item the owner's last keyed command found for
 * its key: the item a store_delete(), store_touch(), store_arith(), store_meta_arith() or
 * store_meta_invalidate() acted on, the item a store_item_commit() (or _meta) compared or
 * replaced. For counters by class (`stats slabs` delete_hits, cas_hits, ...); read it right
 * after the command, before the shard's next one.
 * @return the class, or -1 when that command found no live item.
 */
int store_shard_found_class(const struct store_shard *s);

/** [owner] Give back an item from store_item_alloc() without storing it. */
void store_item_abandon(struct store_shard *s, struct item *it);

/**
 * [owner] store_item_alloc() + copy of value[0..nbytes) + store_item_commit(), with
 * store_alloc_failed() when the allocation fails.
 * @return as store_item_alloc() and store_item_commit().
 */
enum store_status store_put(struct store_shard *s, const struct store_key *k, enum store_mode mode,
			    const void *value, uint32_t nbytes, uint32_t client_flags,
			    int64_t exptime, uint64_t cas_in, uint64_t *cas_out);

/**
 * [owner] Remove a live item. With @p cas_in != 0 remove only if the cas matches (meta md C).
 * @return STORE_DELETED, STORE_NOT_FOUND, or STORE_EXISTS on a cas mismatch.
 */
enum store_status store_delete(struct store_shard *s, const struct store_key *k, uint64_t cas_in);

/**
 * [owner] Set a live item's exptime (touch). The cas does not change.
 * @return STORE_TOUCHED or STORE_NOT_FOUND.
 */
enum store_status store_touch(struct store_shard *s, const struct store_key *k, int64_t exptime);

/**
 * [owner] Get and touch (gat/gats): set the exptime and return the item like store_get().
 * @return STORE_HIT (hit filled, valid until the owner's next quiescent state), or a miss
 *         status as store_get().
 */
enum store_status store_gat(struct store_shard *s, const struct store_key *k, int64_t exptime,
			    struct store_hit *hit);

/**
 * [owner] incr/decr as memcached: the value must hold a decimal number that fits 64 bits
 * (store_arith_parse() has the exact rules); incr wraps
 * at 2^64, decr stops at 0. A shorter result is padded with spaces to the old length, a
 * longer one grows the value. The item gets a new cas; flags and exptime are kept.
 * @param value_out the new value (may be NULL); @param cas_out the new cas (may be NULL).
 * @return STORE_OK, STORE_NOT_FOUND, STORE_NON_NUMERIC, or STORE_NO_MEMORY (retry later).
 */
enum store_status store_arith(struct store_shard *s, const struct store_key *k, bool incr,
			      uint64_t delta, uint64_t *value_out, uint64_t *cas_out);

/**
 * [owner] flush_all: items stored before now + @p delay (seconds; 0 or negative = now; the
 * same rules as exptime for large values) become invisible once that time arrives. Applies
 * to this shard: the server calls it on every shard.
 */
void store_flush(struct store_shard *s, int64_t delay);

/* ---- meta commands (shard_meta.c) ----
 *
 * What memcached 1.6's meta commands need beyond the classic ones: stale items (md I, ms I),
 * the recache token handed to exactly one client (W; Z for the others), explicit cas (E),
 * removing a value but keeping the item (md x), vivify on a miss (mg N, ma N) and the state
 * of an item before an access (h, l). Stale and token state live in item.meta
 * (ITEM_META_*). Changing an item's value, cas or stale bit always links a copy, so readers
 * keep seeing linked items as immutable.
 */

/**
 * [reader] Look up one key like store_get(), and report the item's state as it was before
 * this access (hit->fetched, hit->atime, hit->stale, hit->win_sent). With @p bump false the
 * item is not marked used (meta u, me).
 * @return STORE_HIT (hit filled), STORE_MISS, STORE_EXPIRED or STORE_FLUSHED.
 */
enum store_status store_meta_get(const struct store_shard *s, const struct store_key *k,
				 bool bump, struct store_hit *hit);

/**
 * [reader] Claim the recache token of a found item (hit->it from a store_*get* call in the
 * current read section): an atomic fetch-or of ITEM_META_WIN_SENT, so among all readers and
 * the owner exactly one caller per linked item gets true. The only write a reader does to
 * an item besides the used hints.
 * @return true when this caller won (answer W); false when the token was taken already (Z).
 */
bool store_hit_claim_win(const struct store_hit *hit);

/** [reader] An exptime as a client sends it (memcached rules) in the shard's relative time. */
nc_reltime_t store_shard_exptime(const struct store_shard *s, int64_t exptime);

/**
 * [owner] Get and touch for meta (mg T): like store_gat(), with the before-access state of
 * store_meta_get() and @p bump false leaving the used marks alone.
 * @return as store_gat().
 */
enum store_status store_meta_gat(struct store_shard *s, const struct store_key *k, int64_t exptime,
				 bool bump, struct store_hit *hit);

/**
 * [owner] Vivify (mg N): link an empty item for k (flags 0, @p exptime) whose recache token
 * is already taken by this caller, and fill *hit with it (as found before any access:
 * fetched false). @p cas != 0 is the new item's cas (meta E), else a new one. Call after a
 * miss; a live item for k is replaced.
 * @return STORE_STORED (hit filled; valid until the owner's next quiescent state), or
 *         STORE_NO_MEMORY (nothing changed; retry later).
 */
enum store_status store_meta_vivify(struct store_shard *s, const struct store_key *k,
				    int64_t exptime, uint64_t cas, struct store_hit *hit);

/** How store_item_commit_meta() stores (ms flags). */
struct store_put_opts {
	uint64_t cas_in;       /* C: compare (CAS mode; APPEND/PREPEND when != 0); 0 = none */
	uint64_t explicit_cas; /* E: the new item's cas; 0 = a new one */
	bool stale_if_older;   /* I: in CAS mode, a cas_in older than the item's stores the
				* value as stale (keeping exptime and the token state) */
};

/**
 * [owner] store_item_commit() for ms: the same modes and outcomes, plus @p o (may be NULL
 * for none): explicit cas, APPEND/PREPEND compared with cas_in (STORE_EXISTS on a
 * mismatch, as memcached), and CAS mode with stale_if_older: cas_in < the item's cas stores
 * as stale (STORE_STORED). Consumes @p it whatever the outcome.
 * @return as store_item_commit().
 */
enum store_status store_item_commit_meta(struct store_shard *s, struct item *it,
					 const struct store_key *k, enum store_mode mode,
					 const struct store_put_opts *o, uint64_t *cas_out);

/** What store_meta_invalidate() does (md I, md x). */
struct store_invalidate_opts {
	uint64_t cas_in;       /* C: only when the item's cas matches; 0 = any */
	uint64_t explicit_cas; /* E: the new cas; 0 = a new one */
	bool stale;	       /* I: mark stale and clear the token, so the next reader wins */
	bool clear_value;      /* x: empty value, client_flags below, exptime below (or 0) */
	bool set_exptime;      /* T given: the new exptime */
	int64_t exptime;
	uint32_t client_flags; /* x: the new flags (md F) */
};

/**
 * [owner] md with I and/or x, as memcached: the item stays, with a new cas (or o->
 * explicit_cas); I marks it stale (and clears its token), x empties its value (flags
 * o->client_flags, exptime o->exptime with T, else never). A copy is linked in place of
 * the item.
 * @return STORE_DELETED (done), STORE_NOT_FOUND, STORE_EXISTS (cas mismatch), or
 *         STORE_NO_MEMORY (nothing changed; retry later).
 */
enum store_status store_meta_invalidate(struct store_shard *s, const struct store_key *k,
					const struct store_invalidate_opts *o, uint64_t *cas_out);

/** What store_meta_arith() does beyond incr/decr (ma flags). */
struct store_arith_opts {
	uint64_t cas_in;       /* C: only when the item's cas matches; 0 = any */
	uint64_t explicit_cas; /* E: the new item's cas; 0 = a new one */
	bool vivify;	       /* N: create a missing item holding `initial` */
	int64_t vivify_exptime;
	uint64_t initial;      /* J */
	bool set_exptime;      /* T: the result's exptime (after N) */
	int64_t exptime;
};

/** The item after store_meta_arith(). */
struct store_arith_result {
	uint64_t value;
	uint64_t cas;
	nc_reltime_t exptime; /* relative, 0 = never */
};

/**
 * [owner] ma: store_arith() (same number rules) with a cas compare before anything else,
 * explicit cas, vivify on a miss (the new item holds `initial`, not initial +/- delta, as
 * memcached) and a new exptime. A stale or token state is not carried over to the result.
 * @return STORE_OK (applied), STORE_STORED (vivified), STORE_NOT_FOUND, STORE_EXISTS (cas
 *         mismatch), STORE_NON_NUMERIC, or STORE_NO_MEMORY (nothing changed; retry later).
 */
enum store_status store_meta_arith(struct store_shard *s, const struct store_key *k, bool incr,
				   uint64_t delta, const struct store_arith_opts *o,
				   struct store_arith_result *out);

/** [any] Slab class and total bytes as stored (header included) of a found item (meta me). */
void store_hit_item_size(const struct store_hit *hit, uint32_t *clsid, uint32_t *total);

/* ---- walking every item (owner): stats cachedump, lru_crawler metadump ---- */

/**
 * Where a walk over a shard's items stands: zero it to start. The walk goes through the slab
 * arena in address order (page, then chunk). A linked item never moves, so an item linked for
 * the whole walk is visited exactly once however many calls the walk takes and whatever is
 * stored or removed between them; items linked or unlinked meanwhile may or may not be seen.
 */
struct store_walk {
	uint32_t page;	/* arena page */
	uint32_t chunk; /* chunk within the page */
	bool done;	/* every page was visited */
};

/** One live item as a walk shows it (valid during the callback only). */
struct store_walk_item {
	const char *key;
	uint32_t nkey;
	uint32_t nbytes;      /* value length as the client wrote it (compressed or not) */
	uint32_t client_flags;
	uint32_t clsid;	      /* slab class, from 0 */
	uint32_t total;	      /* bytes the item holds, header included, as stored (meta me
			       * size=, metadump size=) */
	uint64_t cas;
	int64_t exptime_unix; /* unix time it expires; 0 = never */
	int64_t atime_unix;   /* unix time of its last access (or of its store) */
	bool fetched;	      /* returned to a reader at least once */
	const struct item *item; /* the item (its value: item_seg_first()) */
};

/**
 * [owner] Copy walked item @p v's value as the client wrote it (v->nbytes bytes) to @p dst,
 * decompressing a compressed one (compression's owner buffers). For walks that save values
 * (snapshots); call from the store_walk() callback, while @p v is valid.
 * @return 0; -ENOMEM (no buffer for a chained compressed value), -EIO (stored data does not
 *         decompress: never for an item this store wrote).
 */
int store_walk_item_value(struct store_shard *s, const struct store_walk_item *v, void *dst);

/**
 * Called for each live item. @return true to go on; false to stop before this item (the
 * cursor stays on it, so the next call shows it again first).
 */
typedef bool (*store_walk_fn)(const struct store_walk_item *item, void *arg);

/**
 * [owner] Go on with walk @p w: visit at most @p budget chunks (free ones and pages of classes
 * left out count too, so one call's cost is bounded whatever the shard holds) and call @p fn
 * for each live item (linked, neither expired nor flushed) whose class is in @p classes (bit
 * c for class c; UINT64_MAX for all). Sets w->done after the last page.
 * @return the number of items @p fn accepted.
 */
unsigned store_walk(struct store_shard *s, struct store_walk *w, uint64_t classes,
		    unsigned budget, store_walk_fn fn, void *arg);

/* ---- upkeep (owner) ---- */

/**
 * [reader] The piece of a chained value after @p chunk (store_hit.seg_next, then what this
 * returns): its bytes in *data and *len. Valid under the same RCU rule as the hit.
 * @return the chunk after it, or NULL after the last.
 */
const struct item *store_hit_next_seg(const struct item *chunk, const void **data, uint32_t *len);

/**
 * [owner] Per-loop upkeep: return memory whose grace period ended, hand pending retirements
 * to liburcu, move some keys to a larger index while the index grows, and let the TTL wheel
 * remove up to @p ttl_budget due items. Cheap when there is nothing to do. Call once per worker loop iteration, next to rcu_quiescent_state().
 * @return the number of items expired by the wheel.
 */
unsigned store_shard_maintain(struct store_shard *s, unsigned ttl_budget);

/**
 * [owner] Whether store_shard_maintain() has work beyond what arrives (index keys still moving
 * to a larger table, or a larger table ready to switch to): a worker should not sleep then.
 */
bool store_shard_upkeep_pending(const struct store_shard *s);

/**
 * [control thread, not an RCU reader] Index upkeep off the data path: make the larger index
 * table the owner asked for, free emptied ones after a grace period (blocks for one). Call
 * every few milliseconds; a shard nobody services still grows (its owner makes the table when
 * the index is full) but keeps its emptied tables until it is destroyed.
 * @return 1 when it did something, 0 when there was nothing to do, -ENOMEM when a table could
 *         not be made (the index stays as it is and evicts when full).
 */
int store_shard_index_service(struct store_shard *s);

/**
 * Key slots the index of a shard with @p mem_limit bytes of item memory and smallest chunk
 * payload @p chunk_min (-n) grows to: one per smallest chunk. With index_table_bytes() this
 * sizes the DPDK memory a server needs.
 */
uint32_t store_shard_index_max_entries(size_t mem_limit, uint32_t chunk_min);

/**
 * [owner, not in a worker loop] Wait until every retired item is back in the slab (blocks,
 * with the caller offline meanwhile). For shutdown and tests.
 */
void store_shard_quiesce(struct store_shard *s);

/* ---- introspection ([any]: relaxed reads of owner-written counters) ---- */

/** Copy the shard's counters. */
void store_shard_stats_get(const struct store_shard *s, struct store_shard_stats *out);

/** The shard's slab (classes, pages, per-class counters). Read-only for non-owners. */
const struct slab *store_shard_slab(const struct store_shard *s);

/** Items retired and not yet returned to the slab. */
uint64_t store_shard_retired_outstanding(const struct store_shard *s);

#endif /* NC_STORE_SHARD_H */
