/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_INDEX_H
#define NC_STORE_INDEX_H

/*
 * A shard's index: tables of tagged item pointers (index_table.h), found by the keyed digest of
 * the memcached key and matched by the key itself; the shard's owner is the only writer,
 * readers look up without locks under RCU.
 *
 * The index grows with the items, as memcached's hash table does: it starts at
 * INDEX_ENTRIES_MIN keys (or the maximum, if smaller) and grows by half each time up to a
 * maximum (one key per smallest chunk of the arena, so it never fills before memory). When the
 * current table is 7/8 full the owner asks for a larger one; the control thread makes it
 * (index_service(), off the data path; the owner makes it itself only if the table fills
 * first), the owner switches to it and moves the keys of the old table over a few hundred at a
 * time in index_maintain() (digesting each key again: a table keeps only a tag of it). While
 * keys move, a lookup tries the old table, then the new one: the owner adds a key to the new
 * table before deleting it from the old, so a reader finds it in one of the two. A sequence
 * count (seqlock) around the table switches makes a reader that missed while the tables
 * changed under it look again. The emptied table goes back to the control thread, which frees
 * it after an RCU grace period.
 *
 * A deleted entry's slot is free at once (it held only the pointer; the item itself is retired
 * through RCU).
 *
 * Threads: index_lookup*() from any registered RCU reader; index_service() from one thread
 * that is not an RCU reader (it waits for grace periods); everything else owner-only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/digest.h"
#include "store/index_table.h"

/** Keys an index starts with (memcached starts at 2^16 buckets). */
#define INDEX_ENTRIES_MIN (1u << 16)
/** Emptied tables waiting for the control thread (one per growth at most). */
#define INDEX_DRAINED_MAX 32
/** Most keys in one table. */
#define INDEX_ENTRIES_MAX (1u << 29)

/** Most keys in one index_lookup_bulk() call. */
#define INDEX_BULK_MAX 64

/** A shard's index: see the top of this file. */
struct store_index {
	/* Read by every reader. */
	struct itab *cur; /* where keys are added; acquire/release */
	struct itab *old; /* keys still moving to cur, or NULL; acquire/release */
	uint32_t seq;	  /* odd while cur/old change (seqlock) */

	/* Owner only. */
	const struct nc_digest_key *digest_key; /* digests keys again when they move */
	uint32_t entries;		   /* keys cur takes at most */
	uint32_t max_entries;		   /* the most it may grow to */
	uint32_t cursor;		   /* itab_next() position in old */
	uint64_t moved;			   /* keys moved to a larger table, ever */
	uint32_t grows;			   /* tables switched to, ever */
	bool grow_failed; /* a larger table could not be made: stay at this size */

	/* Owner <-> control thread, acquire/release. */
	uint32_t want;		   /* keys the owner asks a table for; 0 = none */
	struct itab *ready;	   /* made by the control thread for the owner */
	struct itab *drained[INDEX_DRAINED_MAX]; /* emptied, for the control thread to free */

	int socket_id;
};

/**
 * [setup] Create the first table: for @p max_entries keys when @p fixed, else for
 * min(INDEX_ENTRIES_MIN, max_entries), growing to @p max_entries. Keys are digested under
 * @p digest_key (initialised: nc_digest_key_init()), which must outlive the index.
 * @return 0; -ENOMEM or -EINVAL.
 */
int index_init(struct store_index *ix, const struct nc_digest_key *digest_key,
	       uint32_t max_entries, bool fixed, int socket_id);

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

/** Bytes a table made for @p entries keys takes. */
size_t index_table_bytes(uint32_t entries);

/** [any] Bytes of the index's tables now (the current one, plus the old one while moving). */
size_t index_bytes(const struct store_index *ix);

/** [any] Keys in the index now (in either table while keys move). */
uint32_t index_count(const struct store_index *ix);

/**
 * Look up one key. Any registered RCU reader; the returned item is valid until the caller's
 * next quiescent state.
 * @return the item whose key is @p k, or NULL.
 */
static inline struct item *
index_lookup(const struct store_index *ix, const struct store_key *k)
{
	for (;;) {
		uint32_t seq = __atomic_load_n(&ix->seq, __ATOMIC_ACQUIRE);
		const struct itab *old = __atomic_load_n(&ix->old, __ATOMIC_ACQUIRE);
		const struct itab *cur = __atomic_load_n(&ix->cur, __ATOMIC_ACQUIRE);
		struct item *it = old != NULL ? itab_lookup(old, k) : NULL;

		if (it == NULL)
			it = itab_lookup(cur, k);
		if (it != NULL)
			return it;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(seq & 1) && __atomic_load_n(&ix->seq, __ATOMIC_RELAXED) == seq)
			return NULL;
	}
}

/**
 * Look up @p n (<= INDEX_BULK_MAX) keys at once, prefetching every key's buckets first. out[i]
 * is the item or NULL. Any registered RCU reader.
 * @return the number of keys found.
 */
int index_lookup_bulk(const struct store_index *ix, const struct store_key *const keys[],
		      unsigned n, struct item *out[]);

/**
 * Point key @p k at @p item (which holds that key): add it, or replace the item of an entry
 * with the same key (one atomic store: readers see the old or the new item). While keys move,
 * the key leaves the old table after it is in the new one. Asks for a larger table at 7/8
 * full; makes one at once if the table is full and may still grow. Owner only.
 * @return 0; -ENOSPC when the index is full and cannot grow.
 */
int index_put(struct store_index *ix, const struct store_key *k, struct item *item);

/**
 * Remove key @p k (from both tables while keys move). Its slot is free at once. Owner only.
 * @return 0; -ENOENT when absent.
 */
int index_del(struct store_index *ix, const struct store_key *k);

#endif /* NC_STORE_INDEX_H */
