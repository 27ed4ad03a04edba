/* SPDX-License-Identifier: BSD-3-Clause */
/* Reader paths: any registered RCU reader. */
#include <string.h>

#include "store/shard_private.h"

enum store_status
store_get(const struct store_shard *s, const struct store_key *k, struct store_hit *hit)
{
	return store_get_found(s, k, NULL, hit);
}

/*
 * store_get_found() and store_read_found(): @p plain fills only what a plain read uses
 * (hit_fill_read()); always inlined, so each is compiled with it a constant.
 */
static inline __attribute__((always_inline)) enum store_status
get_found(const struct store_shard *s, const struct store_key *k, const struct item *found,
	  struct store_hit *hit, bool plain)
{
	uint32_t ticks = nc_clock_ticks(s->clock);
	nc_reltime_t now = nc_clock_tick_second(ticks);
	/*
	 * (A hint's memory is the item's until the quiescent state: its key can be compared.)
	 * Either way the key is compared once: index_lookup() returns only the key's item.
	 */
	struct item *it = found != NULL && item_key_equals(found, k->key, k->len) ?
				  (struct item *)(uintptr_t)found :
				  index_lookup(&s->index, k);
	enum store_status st = item_classify_keyed(s, it, now, true);

	if (plain)
		hit_fill_read(hit, it, st, ticks);
	else
		hit_fill(hit, it, st, ticks);
	return st;
}

enum store_status
store_get_found(const struct store_shard *s, const struct store_key *k, const struct item *found,
		struct store_hit *hit)
{
	return get_found(s, k, found, hit, false);
}

enum store_status
store_read_found(const struct store_shard *s, const struct store_key *k, const struct item *found,
		 struct store_hit *hit)
{
	return get_found(s, k, found, hit, true);
}

uint64_t
store_shard_changes(const struct store_shard *s)
{
	return s->index_changes;
}

unsigned
store_get_bulk(const struct store_shard *s, const struct store_key *const keys[], unsigned n,
	       struct store_hit hits[])
{
	struct item *items[INDEX_BULK_MAX];
	uint32_t ticks = nc_clock_ticks(s->clock);
	nc_reltime_t now = nc_clock_tick_second(ticks);
	bool check_flush = flush_active(s, now);
	unsigned found = 0;

	if (n > INDEX_BULK_MAX)
		n = INDEX_BULK_MAX;
	if (index_lookup_bulk(&s->index, keys, n, items) < 0)
		memset(items, 0, sizeof(items[0]) * n);
	/* Start every item's memory on its way before touching any, so the misses overlap. */
	for (unsigned i = 0; i < n; i++) {
		if (items[i] != NULL)
			item_prefetch_for_read(items[i], keys[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		struct item *it = items[i];

		hit_fill(&hits[i], it, item_classify(s, it, keys[i], now, check_flush), ticks);
		found += hits[i].status == STORE_HIT;
	}
	return found;
}

void
store_prefetch_bulk(const struct store_shard *s, const struct store_key *const keys[], unsigned n,
		    const struct item *found[])
{
	struct item *items[INDEX_BULK_MAX];

	if (n > INDEX_BULK_MAX)
		n = INDEX_BULK_MAX;
	if (index_lookup_bulk(&s->index, keys, n, items) < 0)
		memset(items, 0, sizeof(items[0]) * n);
	for (unsigned i = 0; i < n; i++) {
		if (found != NULL)
			found[i] = items[i];
		if (items[i] != NULL) {
			/* A write also touches the owner part (wheel links) of the old item. */
			rte_prefetch0(items[i]);
			item_prefetch_for_read(items[i], keys[i]);
		}
	}
}

const struct item *
store_hit_next_seg(const struct item *chunk, const void **data, uint32_t *len)
{
	*data = chunk->data;
	*len = chunk->nbytes;
	return chunk->next;
}
