/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_INDEX_H
#define NC_STORE_INDEX_H

/*
 * A shard's index: DPDK rte_hash with a fixed 16-byte key (the keyed digest of the memcached
 * key) and the item pointer as data. Created with lock-free reader/writer concurrency and
 * extendable buckets; the shard's owner is the only writer.
 *
 * With RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF, deleting a key does not free its key slot:
 * index_del() returns the slot position and the owner frees it with index_free_pos() after an
 * RCU grace period, together with the item.
 *
 * Threads: index_lookup*() from any registered RCU reader; everything else owner-only.
 */

#include <stdint.h>

#include <rte_hash.h>

#include "core/digest.h"

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

/**
 * Create an index for @p entries keys on NUMA @p socket_id. @p name must be unique in the
 * process (rte_hash names are global).
 * @return the table, or NULL (rte_errno says why).
 */
struct rte_hash *index_create(const char *name, uint32_t entries, int socket_id);

/** Destroy an index; NULL is allowed. Sets *h to NULL. No reader may still use it. */
void index_destroy(struct rte_hash **h);

/**
 * Look up one key. Any registered RCU reader; the returned pointer is valid until the
 * caller's next quiescent state.
 * @return the item pointer stored for the digest, or NULL.
 */
static inline void *
index_lookup(const struct rte_hash *h, const struct store_key *k)
{
	void *data;

	if (rte_hash_lookup_with_hash_data(h, &k->digest, k->sig, &data) < 0)
		return NULL;
	return data;
}

/**
 * Look up @p n (<= INDEX_BULK_MAX) keys at once; rte_hash prefetches buckets and keys across
 * the burst. out[i] is the item pointer or NULL. Any registered RCU reader.
 * @return the number of keys found.
 */
int index_lookup_bulk(const struct rte_hash *h, const struct store_key *const keys[], unsigned n,
		      void *out[]);

/**
 * Insert a digest, or replace the data of an existing one (one atomic store: readers see the
 * old or the new item). Owner only.
 * @return 0; -ENOSPC when the table is full.
 */
int index_put(const struct rte_hash *h, const struct store_key *k, void *item);

/**
 * Remove a digest. Owner only.
 * @return the key slot position to free with index_free_pos() after a grace period;
 *         -ENOENT when absent.
 */
int32_t index_del(const struct rte_hash *h, const struct store_key *k);

/** Free a key slot returned by index_del() once no reader can hold it. Owner only. */
void index_free_pos(const struct rte_hash *h, int32_t pos);

#endif /* NC_STORE_INDEX_H */
