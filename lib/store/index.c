/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/index.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <urcu-qsbr.h>

/* Key slot positions carry the low bits of their table's generation above the position. */
#define POS_TAG_SHIFT 29
#define POS_MASK      ((1u << POS_TAG_SHIFT) - 1)
#define POS_TAG(gen)  ((int32_t)(((gen) & 3u) << POS_TAG_SHIFT))

/*
 * Keys moved by every index_put() while keys move: the old table held at most 3/4 of its
 * slots, half of the new table's, so it empties before a quarter of the new table is added.
 */
#define INDEX_MOVES_PER_PUT 4

/*
 * rte_hash calls this only for operations without a precomputed signature; we always pass
 * one, but keep the two consistent: the key is a digest, and its signature is part of it.
 */
static uint32_t
digest_sig_hash(const void *key, uint32_t key_len, uint32_t init_val)
{
	struct nc_digest d;

	(void)key_len;
	(void)init_val;
	memcpy(&d, key, sizeof(d));
	return nc_digest_sig(&d);
}

static struct rte_hash *
table_create(struct store_index *ix, uint32_t entries)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters params = {
		.name = name,
		.entries = entries < 8 ? 8 : entries,
		.key_len = sizeof(struct nc_digest),
		.hash_func = digest_sig_hash,
		.hash_func_init_val = 0,
		.socket_id = ix->socket_id,
		.extra_flag =
			RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	/* Owner and control thread may both make one: each table gets its own number. */
	snprintf(name, sizeof(name), "%s.%u", ix->name,
		 __atomic_fetch_add(&ix->made, 1, __ATOMIC_RELAXED));
	return rte_hash_create(&params);
}

size_t
index_table_bytes(uint32_t entries)
{
	/* The allocations of DPDK 22.11's rte_hash_create() with our flags and key length. */
	size_t slots = (size_t)entries + 1;
	size_t pow2 = rte_align64pow2(entries < 8 ? 8 : entries);
	size_t buckets = pow2 / 8;			  /* RTE_HASH_BUCKET_ENTRIES */
	size_t key_entry = RTE_ALIGN(8 + sizeof(struct nc_digest), 16); /* pdata + key */

	return buckets * 64 * 2			   /* main and extendable buckets */
	       + slots * key_entry		   /* key store */
	       + rte_align64pow2(slots + 1) * 4	   /* free key slot ring */
	       + rte_align64pow2(buckets + 1) * 4  /* free extendable bucket ring */
	       + slots * 4			   /* extendable buckets to free (LF) */
	       + 4096;				   /* the structure, names, ring headers */
}

int
index_init(struct store_index *ix, const char *name, uint32_t max_entries, bool fixed,
	   int socket_id)
{
	memset(ix, 0, sizeof(*ix));
	if (max_entries == 0 || max_entries > INDEX_ENTRIES_MAX)
		return -EINVAL;
	snprintf(ix->name, sizeof(ix->name), "%s", name);
	ix->socket_id = socket_id;
	ix->max_entries = max_entries;
	ix->entries = fixed || max_entries < INDEX_ENTRIES_MIN ? max_entries : INDEX_ENTRIES_MIN;
	ix->cur = table_create(ix, ix->entries);
	if (ix->cur == NULL)
		return -ENOMEM;
	ix->gen = 1;
	return 0;
}

void
index_fini(struct store_index *ix)
{
	rte_hash_free(ix->cur);
	rte_hash_free(ix->old);
	rte_hash_free(ix->ready);
	for (unsigned i = 0; i < INDEX_DRAINED_MAX; i++)
		rte_hash_free(ix->drained[i]);
	memset(ix, 0, sizeof(*ix));
}

/* Owner: change cur/old under the seqlock, so a reader that missed meanwhile looks again. */
static void
tables_set(struct store_index *ix, struct rte_hash *cur, struct rte_hash *old)
{
	__atomic_store_n(&ix->seq, ix->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&ix->old, old, __ATOMIC_RELEASE);
	__atomic_store_n(&ix->cur, cur, __ATOMIC_RELEASE);
	__atomic_store_n(&ix->seq, ix->seq + 1, __ATOMIC_RELEASE);
}

/*
 * Owner: may a new table become current? Not while key slots tagged like it (returned by
 * index_del() three tables ago) still wait to be freed: they would be freed in it.
 */
static bool
switch_allowed(const struct store_index *ix)
{
	return ix->old == NULL && ix->pos_pending[(ix->gen + 1) & 3] == 0;
}

/* Owner: the keys of cur start moving to @p bigger of @p entries slots. */
static void
grow_switch(struct store_index *ix, struct rte_hash *bigger, uint32_t entries)
{
	tables_set(ix, bigger, ix->cur);
	ix->old_entries = ix->entries;
	ix->gen++;
	ix->entries = entries;
	ix->cursor = 0;
	ix->pass_found = 0;
	ix->grows++;
}

/*
 * The request for a larger table (ix->want): 0, or the key slots asked for, plus
 * WANT_CLAIMED while the control thread makes it, then WANT_DONE when it is in ix->ready. The
 * owner may take a request back (compare-and-swap to 0) until it is done; the control thread
 * then frees what it made.
 */
#define WANT_CLAIMED (1u << 30)
#define WANT_DONE    (1u << 31)
#define WANT_SLOTS   (WANT_CLAIMED - 1)

static uint32_t
grow_size(const struct store_index *ix)
{
	return ix->entries > ix->max_entries / 2 ? ix->max_entries : ix->entries * 2;
}

/* Owner: ask the control thread for a table twice as large, at three quarters full. */
static void
grow_ask(struct store_index *ix)
{
	if (ix->old != NULL || ix->grow_failed || ix->entries >= ix->max_entries ||
	    __atomic_load_n(&ix->want, __ATOMIC_RELAXED) != 0)
		return;
	if (rte_hash_count(ix->cur) < (int32_t)(ix->entries / 4 * 3))
		return;
	__atomic_store_n(&ix->want, grow_size(ix), __ATOMIC_RELEASE);
}

/* Owner: switch to the table the control thread made, if it is there. */
static bool
grow_take(struct store_index *ix)
{
	uint32_t want = __atomic_load_n(&ix->want, __ATOMIC_ACQUIRE);
	struct rte_hash *ready;

	if (!(want & WANT_DONE) || !switch_allowed(ix))
		return false;
	ready = __atomic_load_n(&ix->ready, __ATOMIC_ACQUIRE);
	if (ready == NULL)
		return false; /* stored right after WANT_DONE: next time */
	__atomic_store_n(&ix->ready, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&ix->want, 0, __ATOMIC_RELEASE);
	grow_switch(ix, ready, want & WANT_SLOTS);
	return true;
}

/* Owner: the table is full. Take the larger one now, making it here if it is not ready. */
static bool
grow_now(struct store_index *ix)
{
	uint32_t want, size;
	struct rte_hash *h;

	if (!switch_allowed(ix) || ix->grow_failed || ix->entries >= ix->max_entries)
		return false;
	for (;;) {
		if (grow_take(ix))
			return true;
		want = __atomic_load_n(&ix->want, __ATOMIC_ACQUIRE);
		if (want & WANT_DONE)
			continue; /* the table is being stored: a few instructions away */
		/* Take the request back (the control thread frees what it may be making). */
		if (want == 0 || __atomic_compare_exchange_n(&ix->want, &want, 0, false,
							     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
	}
	size = grow_size(ix);
	h = table_create(ix, size);
	if (h == NULL) {
		ix->grow_failed = true;
		return false;
	}
	grow_switch(ix, h, size);
	return true;
}

/* Owner: hand an emptied table to the control thread (a free slot always exists: one a growth). */
static void
drained_put(struct store_index *ix, struct rte_hash *h)
{
	for (unsigned i = 0; i < INDEX_DRAINED_MAX; i++) {
		if (__atomic_load_n(&ix->drained[i], __ATOMIC_ACQUIRE) == NULL) {
			__atomic_store_n(&ix->drained[i], h, __ATOMIC_RELEASE);
			return;
		}
	}
}

unsigned
index_maintain(struct store_index *ix, unsigned budget)
{
	unsigned moved = 0;
	const void *key;
	void *data;

	grow_take(ix);
	if (ix->old == NULL)
		return 0;
	while (moved < budget) {
		int32_t rc = rte_hash_iterate(ix->old, &key, &data, &ix->cursor);
		struct nc_digest d;
		uint32_t sig;

		if (rc < 0) {
			/*
			 * End of a pass. A delete can move a key behind the cursor (extendable
			 * buckets compact), so only a pass that found nothing proves the old table
			 * empty (rte_hash_count() cannot: deleted slots stay taken until freed).
			 */
			ix->cursor = 0;
			if (ix->pass_found > 0) {
				ix->pass_found = 0;
				if (moved > 0)
					continue;
				break;
			}
			drained_put(ix, ix->old);
			tables_set(ix, ix->cur, NULL);
			break;
		}
		ix->pass_found++;
		memcpy(&d, key, sizeof(d));
		sig = nc_digest_sig(&d);
		/* In the new table first, then out of the old: a reader finds it in one. */
		if (rte_hash_add_key_with_hash_data(ix->cur, &d, sig, data) < 0)
			break;
		rte_hash_del_key_with_hash(ix->old, &d, sig);
		moved++;
	}
	ix->moved += moved;
	return moved;
}

int
index_service(struct store_index *ix)
{
	uint32_t want = __atomic_load_n(&ix->want, __ATOMIC_ACQUIRE);
	struct rte_hash *drained[INDEX_DRAINED_MAX];
	unsigned n = 0;
	int did = 0;

	for (unsigned i = 0; i < INDEX_DRAINED_MAX; i++) {
		drained[i] = __atomic_load_n(&ix->drained[i], __ATOMIC_ACQUIRE);
		n += drained[i] != NULL;
	}
	if (n > 0) {
		synchronize_rcu();
		for (unsigned i = 0; i < INDEX_DRAINED_MAX; i++) {
			if (drained[i] == NULL)
				continue;
			rte_hash_free(drained[i]);
			__atomic_store_n(&ix->drained[i], NULL, __ATOMIC_RELEASE);
		}
		did = 1;
	}
	if (want != 0 && !(want & (WANT_CLAIMED | WANT_DONE)) &&
	    __atomic_compare_exchange_n(&ix->want, &want, want | WANT_CLAIMED, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		struct rte_hash *h = table_create(ix, want);
		uint32_t claimed = want | WANT_CLAIMED;

		if (h == NULL) {
			/* Leave the request claimed: the owner makes it itself when full. */
			return -ENOMEM;
		}
		if (__atomic_compare_exchange_n(&ix->want, &claimed, want | WANT_DONE, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			__atomic_store_n(&ix->ready, h, __ATOMIC_RELEASE);
		else
			rte_hash_free(h); /* the owner took the request back */
		did = 1;
	}
	return did;
}

size_t
index_bytes(const struct store_index *ix)
{
	const struct rte_hash *old = __atomic_load_n(&ix->old, __ATOMIC_ACQUIRE);
	size_t n = index_table_bytes(__atomic_load_n(&ix->entries, __ATOMIC_RELAXED));

	if (old != NULL)
		n += index_table_bytes(__atomic_load_n(&ix->old_entries, __ATOMIC_RELAXED));
	return n;
}

uint32_t
index_count(const struct store_index *ix)
{
	const struct rte_hash *old = __atomic_load_n(&ix->old, __ATOMIC_ACQUIRE);
	int32_t n = rte_hash_count(__atomic_load_n(&ix->cur, __ATOMIC_ACQUIRE));

	if (old != NULL)
		n += rte_hash_count(old);
	return n > 0 ? (uint32_t)n : 0;
}

int
index_lookup_bulk(const struct store_index *ix, const struct store_key *const keys[], unsigned n,
		  void *out[])
{
	const void *digests[INDEX_BULK_MAX];
	hash_sig_t sigs[INDEX_BULK_MAX];
	unsigned map[INDEX_BULK_MAX];
	void *found_data[INDEX_BULK_MAX];

	for (;;) {
		uint32_t seq = __atomic_load_n(&ix->seq, __ATOMIC_ACQUIRE);
		const struct rte_hash *old = __atomic_load_n(&ix->old, __ATOMIC_ACQUIRE);
		const struct rte_hash *cur = __atomic_load_n(&ix->cur, __ATOMIC_ACQUIRE);
		const struct rte_hash *tables[2] = {old, cur};
		unsigned left = 0, found = 0;
		uint64_t hits = 0;

		for (unsigned i = 0; i < n; i++) {
			out[i] = NULL;
			map[left] = i;
			digests[left] = &keys[i]->digest;
			sigs[left] = keys[i]->sig;
			left++;
		}
		for (unsigned t = 0; t < 2 && left > 0; t++) {
			unsigned still = 0;

			if (tables[t] == NULL)
				continue;
			if (rte_hash_lookup_with_hash_bulk_data(tables[t], digests, sigs, left,
								&hits, found_data) < 0)
				return -EINVAL;
			for (unsigned j = 0; j < left; j++) {
				if (hits & (1ULL << j)) {
					out[map[j]] = found_data[j];
					found++;
				} else {
					map[still] = map[j];
					digests[still] = digests[j];
					sigs[still] = sigs[j];
					still++;
				}
			}
			left = still;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (left == 0 ||
		    (!(seq & 1) && __atomic_load_n(&ix->seq, __ATOMIC_RELAXED) == seq))
			return (int)found;
	}
}

bool
index_upkeep_pending(const struct store_index *ix)
{
	return ix->old != NULL ||
	       (__atomic_load_n(&ix->want, __ATOMIC_ACQUIRE) & WANT_DONE) != 0;
}

int
index_put(struct store_index *ix, const struct store_key *k, void *item)
{
	int rc = rte_hash_add_key_with_hash_data(ix->cur, &k->digest, k->sig, item);

	if (rc == -ENOSPC && grow_now(ix))
		rc = rte_hash_add_key_with_hash_data(ix->cur, &k->digest, k->sig, item);
	if (rc < 0)
		return rc;
	if (ix->old != NULL) {
		rte_hash_del_key_with_hash(ix->old, &k->digest, k->sig);
		/* Every put while keys move moves more: the old table empties first. */
		index_maintain(ix, INDEX_MOVES_PER_PUT);
	} else {
		grow_ask(ix);
	}
	return 0;
}

int32_t
index_del(struct store_index *ix, const struct store_key *k)
{
	int32_t pos = rte_hash_del_key_with_hash(ix->cur, &k->digest, k->sig);

	if (ix->old != NULL)
		rte_hash_del_key_with_hash(ix->old, &k->digest, k->sig);
	if (pos < 0)
		return pos;
	ix->pos_pending[ix->gen & 3]++;
	return pos | POS_TAG(ix->gen);
}

void
index_free_pos(struct store_index *ix, int32_t pos)
{
	unsigned tag = (unsigned)pos >> POS_TAG_SHIFT;

	ix->pos_pending[tag]--;
	if (tag != (ix->gen & 3))
		return; /* a slot of a table that is gone or going: freed with it */
	rte_hash_free_key_with_position(ix->cur, pos & (int32_t)POS_MASK);
}
