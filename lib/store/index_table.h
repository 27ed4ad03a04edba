/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_INDEX_TABLE_H
#define NC_STORE_INDEX_TABLE_H

/*
 * One table of a shard's index: a bucketized cuckoo hash of 8-byte slots. A slot holds an item
 * pointer in its low 48 bits and a 16-bit tag from the key's digest in its high 16 bits (0 =
 * empty); eight slots make a 64-byte bucket, one cache line. A key may live in two buckets: b1,
 * from the digest, and b2 = alt(b1, tag) with alt(b, tag) = (h(tag) - b) mod nbuckets, so
 * either bucket and the tag give the other (partial-key cuckoo hashing, as in MemC3 and cuckoo
 * filters): an entry can move to its other bucket without its key being digested again.
 *
 * A lookup reads the two buckets and, for each slot whose tag matches, the item's key (the
 * item is read on a hit anyway). The key, not the digest, is the identity: two keys never share
 * an entry. Memory is 8 bytes per slot and a table is sized for its keys to take 7 of 8 slots
 * when full (rte_hash with a 16-byte key took about 57 bytes per key slot).
 *
 * Concurrency: one writer (the shard's owner), lock-free readers under RCU (QSBR). Every slot
 * changes with one atomic 8-byte store, so a reader sees either the entry before or after it;
 * the item it points to stays valid until the reader's next quiescent state (items are
 * retired through RCU), so a deleted slot may be reused at once. When an insert finds both
 * buckets full, entries move to their other bucket along a short path found breadth-first:
 * each is written to its new slot before its old slot is cleared, and the table's move count
 * is bumped in between, so a reader that missed while an entry moved looks again.
 *
 * Tables are allocated from DPDK memory when EAL has hugepages (the NUMA socket asked for),
 * else mapped with mmap(2), so a freed table's pages go back to the system at once.
 *
 * Threads: itab_lookup*() from any registered RCU reader; everything else owner-only, except
 * itab_create()/itab_free() which any thread may call on a table no reader can reach.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_prefetch.h>

#include "core/digest.h"
#include "store/item.h"

/** Slots per bucket (one 64-byte cache line). */
#define ITAB_BUCKET_SLOTS 8
/** Keys a table takes per bucket when full: 7 of 8 slots. */
#define ITAB_KEYS_PER_BUCKET 7
/** Item pointer bits of a slot; the rest is the tag. */
#define ITAB_PTR_BITS 48
#define ITAB_PTR_MASK ((UINT64_C(1) << ITAB_PTR_BITS) - 1)

/** A key ready for the index: the memcached key and its digest. */
struct store_key {
	const char *key;	 /* key bytes (not copied) */
	uint32_t len;		 /* key length */
	struct nc_digest digest; /* keyed digest: picks the buckets and the tag */
};

/** Fill @p k for key[0..len) under @p digest_key. The key bytes must outlive @p k. */
static inline void
store_key_init(struct store_key *k, const struct nc_digest_key *digest_key, const void *key,
	       uint32_t len)
{
	k->key = key;
	k->len = len;
	nc_digest_compute(digest_key, key, len, &k->digest);
}

struct itab_bucket {
	uint64_t slot[ITAB_BUCKET_SLOTS];
} __attribute__((aligned(64)));

/** One table: see the top of this file. */
struct itab {
	uint32_t nbuckets; /* fixed at creation */
	uint32_t capacity; /* most keys it takes: 7 per bucket */
	uint32_t count;	   /* keys in it; owner stores, anyone loads (relaxed) */
	uint32_t moves;	   /* entries moved between buckets, ever; release/acquire */
	size_t bytes;	   /* size of the allocation */
	bool mapped;	   /* from mmap(2) (else DPDK memory) */
	struct itab_bucket bucket[];
};

/** The first bucket of a digest. */
static inline uint32_t
itab_b1(const struct itab *t, const struct nc_digest *d)
{
	return (uint32_t)(((uint64_t)nc_digest_bucket_hash(d) * t->nbuckets) >> 32);
}

/** The tag of a digest: bits independent of itab_b1() and of the shard choice. */
static inline uint64_t
itab_tag(const struct nc_digest *d)
{
	return nc_digest_tag(d);
}

/** The other bucket of an entry with @p tag in bucket @p b (alt(alt(b)) == b). */
static inline uint32_t
itab_alt(const struct itab *t, uint32_t b, uint64_t tag)
{
	uint32_t mix = (uint32_t)(((tag + 1) * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
	uint32_t h = (uint32_t)(((uint64_t)mix * t->nbuckets) >> 32);

	return h >= b ? h - b : h + t->nbuckets - b;
}

/** The item a slot value points to (NULL for an empty slot). */
static inline struct item *
itab_slot_item(uint64_t slot)
{
	return (struct item *)(uintptr_t)(slot & ITAB_PTR_MASK);
}

/* The item for @p k in bucket @p b, or NULL. */
static inline struct item *
itab_bucket_find(const struct itab_bucket *b, uint64_t tag, const struct store_key *k)
{
	for (unsigned i = 0; i < ITAB_BUCKET_SLOTS; i++) {
		uint64_t s = __atomic_load_n(&b->slot[i], __ATOMIC_ACQUIRE);
		const struct item *it;

		if ((s >> ITAB_PTR_BITS) != tag || (s & ITAB_PTR_MASK) == 0)
			continue;
		it = itab_slot_item(s);
		if (item_key_equals(it, k->key, k->len))
			return (struct item *)(uintptr_t)it;
	}
	return NULL;
}

/**
 * Look up one key in one table. Any registered RCU reader; the item is valid until the
 * caller's next quiescent state.
 * @return the item whose key is @p k, or NULL.
 */
static inline struct item *
itab_lookup(const struct itab *t, const struct store_key *k)
{
	uint64_t tag = itab_tag(&k->digest);
	uint32_t b1 = itab_b1(t, &k->digest), b2 = itab_alt(t, b1, tag);

	for (;;) {
		uint32_t moves = __atomic_load_n(&t->moves, __ATOMIC_ACQUIRE);
		struct item *it = itab_bucket_find(&t->bucket[b1], tag, k);

		if (it == NULL && b2 != b1)
			it = itab_bucket_find(&t->bucket[b2], tag, k);
		if (it != NULL)
			return it;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->moves, __ATOMIC_RELAXED) == moves)
			return NULL;
	}
}

/**
 * Look up @p n keys in one table, prefetching every key's buckets first. Sets out[i] for the
 * keys found and leaves the others as they are. Any registered RCU reader.
 * @return bit i set when keys[i] was found (n <= 64).
 */
uint64_t itab_lookup_bulk(const struct itab *t, const struct store_key *const keys[], unsigned n,
			  struct item *out[]);

/** Bytes a table made for @p capacity keys takes. */
size_t itab_bytes_for(uint32_t capacity);

/**
 * Make an empty table for @p capacity keys (at least 8) on @p socket_id. Any thread.
 * @return the table, or NULL when memory is short.
 */
struct itab *itab_create(uint32_t capacity, int socket_id);

/** Free a table no reader can reach any more (after a grace period). NULL is fine. */
void itab_free(struct itab *t);

/**
 * [owner] Point @p k at @p it: add an entry, moving others between their buckets if both of
 * k's are full, or, when k has one already, replace its item (one atomic store) if @p replace.
 * @p it must have k's key and an address below 2^48.
 * @return 0 added; 1 k had an entry (replaced if @p replace); -ENOSPC full (capacity reached,
 *         or no free slot within reach); -EINVAL for an item address that does not fit.
 */
int itab_put(struct itab *t, const struct store_key *k, struct item *it, bool replace);

/**
 * [owner] Add an entry for @p k, which the caller knows is not in @p t (keys moving from an
 * older table): as itab_put() without looking for k first.
 * @return 0; -ENOSPC; -EINVAL.
 */
int itab_add_new(struct itab *t, const struct store_key *k, struct item *it);

/** [owner] Remove @p k's entry. @return 0; -ENOENT when absent. */
int itab_del(struct itab *t, const struct store_key *k);

/**
 * [owner] The first occupied slot at or after *pos; *pos is set to it.
 * @return its item, or NULL when there is none (the table is empty from *pos on).
 */
struct item *itab_next(const struct itab *t, uint32_t *pos);

/** [owner] Empty the slot at @p pos (as found by itab_next()). */
void itab_clear(struct itab *t, uint32_t pos);

/** [any] Keys in the table. */
static inline uint32_t
itab_count(const struct itab *t)
{
	return __atomic_load_n(&t->count, __ATOMIC_RELAXED);
}

#endif /* NC_STORE_INDEX_TABLE_H */
