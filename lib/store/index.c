/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/index.h"

#include <errno.h>
#include <string.h>

#include <urcu-qsbr.h>

/*
 * Keys moved by every index_put() while keys move: the old table held at most 2/3 of the new
 * table's keys, so it empties before a sixth of the new table is added.
 */
#define INDEX_MOVES_PER_PUT 4

size_t
index_table_bytes(uint32_t entries)
{
	return itab_bytes_for(entries);
}

int
index_init(struct store_index *ix, const struct nc_digest_key *digest_key,
	   uint32_t max_entries, bool fixed, int socket_id)
{
	memset(ix, 0, sizeof(*ix));
	if (max_entries == 0 || max_entries > INDEX_ENTRIES_MAX || digest_key == NULL ||
	    digest_key->kind == NC_DIGEST_UNSET)
		return -EINVAL;
	ix->digest_key = digest_key;
	ix->socket_id = socket_id;
	ix->max_entries = max_entries;
	ix->entries = fixed || max_entries < INDEX_ENTRIES_MIN ? max_entries : INDEX_ENTRIES_MIN;
	ix->cur = itab_create(ix->entries, socket_id);
	if (ix->cur == NULL)
		return -ENOMEM;
	return 0;
}

void
index_fini(struct store_index *ix)
{
	itab_free(ix->cur);
	itab_free(ix->old);
	itab_free(ix->ready);
	for (unsigned i = 0; i < INDEX_DRAINED_MAX; i++)
		itab_free(ix->drained[i]);
	memset(ix, 0, sizeof(*ix));
}

/* Owner: change cur/old under the seqlock, so a reader that missed meanwhile looks again. */
static void
tables_set(struct store_index *ix, struct itab *cur, struct itab *old)
{
	__atomic_store_n(&ix->seq, ix->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&ix->old, old, __ATOMIC_RELEASE);
	__atomic_store_n(&ix->cur, cur, __ATOMIC_RELEASE);
	__atomic_store_n(&ix->seq, ix->seq + 1, __ATOMIC_RELEASE);
}

/* Owner: may a new table become current? Not while keys still move to this one. */
static bool
switch_allowed(const struct store_index *ix)
{
	return ix->old == NULL;
}

/* Owner: the keys of cur start moving to @p bigger of @p entries slots. */
static void
grow_switch(struct store_index *ix, struct itab *bigger, uint32_t entries)
{
	tables_set(ix, bigger, ix->cur);
	ix->entries = entries;
	ix->cursor = 0;
	ix->grows++;
}

/*
 * The request for a larger table (ix->want): 0, or the keys asked for, plus
 * WANT_CLAIMED while the control thread makes it, then WANT_DONE when it is in ix->ready. The
 * owner may take a request back (compare-and-swap to 0) until it is done; the control thread
 * then frees what it made.
 */
#define WANT_CLAIMED (1u << 30)
#define WANT_DONE    (1u << 31)
#define WANT_SLOTS   (WANT_CLAIMED - 1)

/* Half as large again, up to the maximum (growing by half keeps a table at least 7/12 full). */
static uint32_t
grow_size(const struct store_index *ix)
{
	uint64_t n = (uint64_t)ix->entries + ix->entries / 2;

	return n > ix->max_entries ? ix->max_entries : (uint32_t)n;
}

/* Owner: ask the control thread for a larger table, at 7/8 full. */
static void
grow_ask(struct store_index *ix)
{
	if (ix->old != NULL || ix->grow_failed || ix->entries >= ix->max_entries ||
	    __atomic_load_n(&ix->want, __ATOMIC_RELAXED) != 0)
		return;
	if (itab_count(ix->cur) < ix->entries / 8 * 7)
		return;
	__atomic_store_n(&ix->want, grow_size(ix), __ATOMIC_RELEASE);
}

/* Owner: switch to the table the control thread made, if it is there. */
static bool
grow_take(struct store_index *ix)
{
	uint32_t want = __atomic_load_n(&ix->want, __ATOMIC_ACQUIRE);
	struct itab *ready;

	if (!(want & WANT_DONE) || !switch_allowed(ix))
		return false;
	ready = __atomic_load_n(&ix->ready, __ATOMIC_ACQUIRE);
	if (ready == NULL)
		return false; /* stored before WANT_DONE: cannot happen, but never take NULL */
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
	struct itab *h;

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
	h = itab_create(size, ix->socket_id);
	if (h == NULL) {
		ix->grow_failed = true;
		return false;
	}
	grow_switch(ix, h, size);
	return true;
}

/* Owner: hand an emptied table to the control thread (a free slot always exists: one a growth). */
static void
drained_put(struct store_index *ix, struct itab *h)
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

	grow_take(ix);
	if (ix->old == NULL)
		return 0;
	while (moved < budget) {
		struct item *it = itab_next(ix->old, &ix->cursor);
		struct store_key k;

		if (it == NULL) {
			/*
			 * Nothing is added to the old table, so one pass empties it. Unpublish it
			 * before the control thread may start the grace period that frees it.
			 */
			struct itab *emptied = ix->old;

			tables_set(ix, ix->cur, NULL);
			drained_put(ix, emptied);
			break;
		}
		store_key_init(&k, ix->digest_key, item_key(it), it->nkey);
		/*
		 * In the new table first, then out of the old: a reader finds it in one. A key is
		 * never in both (index_put() takes it out of the old one), so no need to look.
		 */
		if (itab_add_new(ix->cur, &k, it) < 0)
			break;
		itab_clear(ix->old, ix->cursor);
		moved++;
	}
	ix->moved += moved;
	return moved;
}

int
index_service(struct store_index *ix)
{
	uint32_t want = __atomic_load_n(&ix->want, __ATOMIC_ACQUIRE);
	struct itab *drained[INDEX_DRAINED_MAX];
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
			itab_free(drained[i]);
			__atomic_store_n(&ix->drained[i], NULL, __ATOMIC_RELEASE);
		}
		did = 1;
	}
	if (want != 0 && !(want & (WANT_CLAIMED | WANT_DONE)) &&
	    __atomic_compare_exchange_n(&ix->want, &want, want | WANT_CLAIMED, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		struct itab *h = itab_create(want, ix->socket_id);
		uint32_t claimed = want | WANT_CLAIMED;

		if (h == NULL) {
			/* Leave the request claimed: the owner makes it itself when full. */
			return -ENOMEM;
		}
		/* The table first, then DONE: an owner that sees DONE finds it at once. */
		__atomic_store_n(&ix->ready, h, __ATOMIC_RELEASE);
		if (!__atomic_compare_exchange_n(&ix->want, &claimed, want | WANT_DONE, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* The owner took the request back (it never saw DONE, so never took h). */
			__atomic_store_n(&ix->ready, NULL, __ATOMIC_RELEASE);
			itab_free(h);
		}
		did = 1;
	}
	return did;
}

size_t
index_bytes(const struct store_index *ix)
{
	const struct itab *old = __atomic_load_n(&ix->old, __ATOMIC_ACQUIRE);
	const struct itab *cur = __atomic_load_n(&ix->cur, __ATOMIC_ACQUIRE);

	return cur->bytes + (old != NULL ? old->bytes : 0);
}

uint32_t
index_count(const struct store_index *ix)
{
	const struct itab *old = __atomic_load_n(&ix->old, __ATOMIC_ACQUIRE);
	const struct itab *cur = __atomic_load_n(&ix->cur, __ATOMIC_ACQUIRE);

	return itab_count(cur) + (old != NULL ? itab_count(old) : 0);
}

int
index_lookup_bulk(const struct store_index *ix, const struct store_key *const keys[], unsigned n,
		  struct item *out[])
{
	const struct store_key *left_keys[INDEX_BULK_MAX];
	struct item *left_out[INDEX_BULK_MAX];
	unsigned map[INDEX_BULK_MAX];

	if (n > INDEX_BULK_MAX)
		return -EINVAL;
	for (;;) {
		uint32_t seq = __atomic_load_n(&ix->seq, __ATOMIC_ACQUIRE);
		const struct itab *old = __atomic_load_n(&ix->old, __ATOMIC_ACQUIRE);
		const struct itab *cur = __atomic_load_n(&ix->cur, __ATOMIC_ACQUIRE);
		uint64_t hits = 0;
		unsigned left = 0, found;

		for (unsigned i = 0; i < n; i++)
			out[i] = NULL;
		if (old == NULL) {
			/* Not growing: one table, straight into out. */
			hits = itab_lookup_bulk(cur, keys, n, out);
			found = (unsigned)__builtin_popcountll(hits);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (found == n ||
			    (!(seq & 1) && __atomic_load_n(&ix->seq, __ATOMIC_RELAXED) == seq))
				return (int)found;
			continue;
		}
		hits = itab_lookup_bulk(old, keys, n, out);
		for (unsigned i = 0; i < n; i++) {
			if (hits & (UINT64_C(1) << i))
				continue;
			map[left] = i;
			left_keys[left] = keys[i];
			left_out[left] = NULL;
			left++;
		}
		found = n - left;
		if (left > 0) {
			uint64_t more = itab_lookup_bulk(cur, left_keys, left, left_out);

			for (unsigned j = 0; j < left; j++) {
				if (more & (UINT64_C(1) << j)) {
					out[map[j]] = left_out[j];
					found++;
				}
			}
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (found == n ||
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
index_put(struct store_index *ix, const struct store_key *k, struct item *item)
{
	int rc = itab_put(ix->cur, k, item, true);

	if (rc == -ENOSPC && grow_now(ix))
		rc = itab_put(ix->cur, k, item, true);
	if (rc < 0)
		return rc;
	if (ix->old != NULL) {
		itab_del(ix->old, k);
		/* Every put while keys move moves more: the old table empties first. */
		index_maintain(ix, INDEX_MOVES_PER_PUT);
	} else {
		grow_ask(ix);
	}
	return 0;
}

int
index_del(struct store_index *ix, const struct store_key *k)
{
	int rc = itab_del(ix->cur, k);

	if (ix->old != NULL && itab_del(ix->old, k) == 0)
		rc = 0;
	return rc;
}
