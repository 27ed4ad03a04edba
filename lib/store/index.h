/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_INDEX_H
#define NC_STORE_INDEX_H

/*
 * A shard's index: DPDK rte_hash tables with a fixed 16-byte key (the keyed digest of the
 * memcached key) and the item pointer as data, created with lock-free reader/writer concurrency
 * and extendable buckets; the shard's owner is the only writer.
 *
 * The index grows with the items, as memcached's hash table does: it starts at
 * INDEX_ENTRIES_MIN key slots (or the maximum, if smaller) and doubles up to a maximum (one slot
 * per smallest chunk of the arena, so it never fills before memory). When the current table is
 * three quarters full the owner asks for one twice as large; the control thread makes it
 * (index_service(), off the data path; the owner makes it itself only if the table fills first),
 * the owner switches to it and moves the keys of the old table over a few hundred at a time
 * in index_maintain(). While keys move, a lookup tries the old table, then the new one: the
 * owner adds a key to the new table before deleting it from the old, so a reader finds it in
 * one of the two. A sequence count (seqlock) around the table switches makes a reader that
 * missed while the tables changed under it look again. The emptied table goes back to the
 * control thread, which frees it after an RCU grace period.
 *
 * With RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF, deleting a key does not free its key slot:
 * index_del() returns the slot position (tagged with its table) and the owner frees it with
 * index_free_pos() after an RCU grace period, together with the item. Positions of a table that
 * is no longer current are not freed one by one: the whole table goes.
 *
 * Threads: index_lookup*() from any registered RCU reader; index_service() from one thread
 * that is not an RCU reader (it waits for grace periods); everything else owner-only.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>

#include "core/digest.h"

/** Key slots an index starts with (memcached starts at 2^16 buckets). */
#define INDEX_ENTRIES_MIN (1u << 16)
/** Emptied tables waiting for the control thread (one per growth at most). */
#define INDEX_DRAINED_MAX 32
/** Most key slots in one table (positions keep two tag bits in an int32). */
#define INDEX_ENTRIES_MAX (1u << 29)

/** Most keys in one index_lookup_bulk() call. */
#define INDEX_BULK_MAX RTE_HASH_LOOKUP_BULK_MAX

/** A key ready for the index: the memcached key, its digest and signature. */
struct store_key {
	const char *key;	 /* key bytes (not copied) */
	uint32_t len;		 /* key length */
	uint32_t sig;		 /* nc_digest_sig(&digest): rte_hash bucket hash */
	struct nc_digest digest; /* the index key */
};

/** Fill @p k for key[0..len) under @p seed. The key bytes must outlive @p k. */
static inline void
store_key_init(struct store_key *k, const struct nc_digest_seed *seed, const void *key,
	       uint32_t len)
{
	k->key = key;
	k->len = len;
	nc_digest_compute(seed, key, len, &k->digest);
	k->sig = nc_digest_sig(&k->digest);
}

/** A shard's index: see the top of this file. */
struct store_index {
	/* Read by every reader. */
	struct rte_hash *cur; /* where keys are added; acquire/release */
	struct rte_hash *old; /* keys still moving to cur, or NULL; acquire/release */
	uint32_t seq;	      /* odd while cur/old change (seqlock) */

	/* Owner only. */
	uint32_t gen;	      /* tables made so far: tags key slot positions of cur */
	uint32_t entries;     /* key slots of cur */
	uint32_t max_entries; /* the most it may grow to */
	uint32_t cursor;      /* rte_hash_iterate() position in old */
	uint32_t pass_found;  /* keys met in old since the cursor last started over */
	uint32_t pos_pending[4]; /* slots from index_del() not yet given to index_free_pos(), by tag */
	uint64_t moved;	      /* keys moved to a larger table, ever */
	uint32_t grows;	      /* tables switched to, ever */
	bool grow_failed;     /* a larger table could not be made: stay at this size */

	uint32_t old_entries; /* key slots of old */

	/* Owner <-> control thread, acquire/release. */
	uint32_t want;		 /* key slots the owner asks for; 0 = none */
	struct rte_hash *ready;	 /* made by the control thread for the owner */
	struct rte_hash *drained[INDEX_DRAINED_MAX]; /* emptied, for the control thread to free */

	uint32_t made; /* tables made, ever, by either thread: numbers their names; atomic */
	int socket_id;
	char name[24]; /* prefix of the tables' names */
};

/**
 * [setup] Create the first table: @p max_entries slots when @p fixed, else
 * min(INDEX_ENTRIES_MIN, max_entries), growing to @p max_entries. @p name (at most 15 bytes)
 * must be unique in the process; tables are named after it.
 * @return 0; -ENOMEM (rte_errno tells more) or -EINVAL.
 */
int index_init(struct store_index *ix, const char *name, uint32_t max_entries, bool fixed,
	       int socket_id);

/** [teardown] Free every table. No reader may still use the index. Safe on a zeroed index. */
void index_fini(struct store_index *ix);

/**
 * [owner] Switch to a table the control thread made, and move up to @p budget keys from the
 * old table to the current one; when the old table is empty, hand it to the control thread.
 * @return keys moved.
 */
unsigned index_maintain(struct store_index *ix, unsigned budget);

/** [owner] Whether index_maintain() has work: keys to move, or a table to switch to. */
bool index_upkeep_pending(const struct store_index *ix);

/**
 * [control thread, not an RCU reader] Make the table the owner asked for; free an emptied one
 * after a grace period (blocks for it). Does nothing when nothing is asked.
 * @return 1 when it did something, 0 otherwise, -ENOMEM when a table could not be made.
 */
int index_service(struct store_index *ix);

/** DPDK memory an rte_hash table of @p entries key slots takes, as index_init() creates it. */
size_t index_table_bytes(uint32_t entries);

/** [any] DPDK memory the index holds now (current table, plus the old one while moving). */
size_t index_bytes(const struct store_index *ix);

/**
 * [any] Key slots in use now: keys, plus slots of deleted keys not yet freed, plus the old
 * table's while keys move.
 */
uint32_t index_count(const struct store_index *ix);

/* One lookup in one table: the data, or NULL. */
static inline void *
index_table_lookup(const struct rte_hash *h, const struct store_key *k)
{
	void *data;

	if (h == NULL || rte_hash_lookup_with_hash_data(h, &k->digest, k->sig, &data) < 0)
		return NULL;
	return data;
}

/**
 * Look up one key. Any registered RCU reader; the returned pointer is valid until the
 * caller's next quiescent state.
 * @return the item pointer stored for the digest, or NULL.
 */
static inline void *
index_lookup(const struct store_index *ix, const struct store_key *k)
{
	for (;;) {
		uint32_t seq = __atomic_load_n(&ix->seq, __ATOMIC_ACQUIRE);
		const struct rte_hash *old = __atomic_load_n(&ix->old, __ATOMIC_ACQUIRE);
		const struct rte_hash *cur = __atomic_load_n(&ix->cur, __ATOMIC_ACQUIRE);
		void *data = index_table_lookup(old, k);

		if (data == NULL)
			data = index_table_lookup(cur, k);
		if (data != NULL)
			return data;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(seq & 1) && __atomic_load_n(&ix->seq, __ATOMIC_RELAXED) == seq)
			return NULL;
	}
}

/**
 * Look up @p n (<= INDEX_BULK_MAX) keys at once; rte_hash prefetches buckets and keys across
 * the burst. out[i] is the item pointer or NULL. Any registered RCU reader.
 * @return the number of keys found.
 */
int index_lookup_bulk(const struct store_index *ix, const struct store_key *const keys[],
		      unsigned n, void *out[]);

/**
 * Insert a digest, or replace the data of an existing one (one atomic store: readers see the
 * old or the new item). While keys move, the key leaves the old table after it is in the new
 * one. Asks for a larger table at three quarters full; makes one at once if the table is full
 * and may still grow. Owner only.
 * @return 0; -ENOSPC when the index is full and cannot grow.
 */
int index_put(struct store_index *ix, const struct store_key *k, void *item);

/**
 * Remove a digest (from both tables while keys move). Owner only.
 * @return the key slot position to free with index_free_pos() after a grace period;
 *         -ENOENT when absent, or when it was only in the old table (freed with the table).
 */
int32_t index_del(struct store_index *ix, const struct store_key *k);

/**
 * Free a key slot returned by index_del() once no reader can hold it. Every position
 * index_del() returned must come back here: the index does not switch to a new table while
 * positions tagged like it (two bits of the table's number) are still out. Owner only.
 */
void index_free_pos(struct store_index *ix, int32_t pos);

#endif /* NC_STORE_INDEX_H */
