/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_memory.h>

#include "store/shard_private.h"

static void
reclaim_item(struct item *it, void *arg)
{
	struct store_shard *s = arg;

	shard_item_count_retired(s, it, -1);
	shard_item_free_chunks(s, it);
	slab_free(&s->slab, it);
}

/* The slab parameters of a shard made with @p p, defaults filled in. */
static struct slab_params
shard_slab_params(const struct store_shard_params *p)
{
	return (struct slab_params){
		.name = "nc_slab",
		.socket_id = p->socket_id,
		.mem_limit = p->mem_limit,
		.item_size_max = p->item_size_max ? p->item_size_max : SLAB_PAGE_SIZE_DEFAULT,
		.chunk_min = p->chunk_min ? p->chunk_min : 48,
		.factor = p->growth_factor != 0.0 ? p->growth_factor : 1.25,
		.first_page_shares = p->first_page_shares,
	};
}

size_t
store_shard_first_page_bytes(const struct store_shard_params *p)
{
	struct slab_params sp = shard_slab_params(p);
	int n = slab_class_count(&sp);

	return n < 0 ? 0 : (size_t)slab_first_pages((unsigned)n, sp.first_page_shares) *
				   SLAB_PAGE_SIZE_DEFAULT;
}

struct store_shard *
store_shard_create(const struct store_shard_params *p, int *err)
{
	struct slab_params sp = shard_slab_params(p);
	struct store_shard *s;
	uint32_t entries;
	int rc;

	if (p->digest_key == NULL || p->clock == NULL || p->cas_source == NULL ||
	    p->reclaimer == NULL) {
		*err = -EINVAL;
		return NULL;
	}
	s = rte_zmalloc_socket("nc_shard", sizeof(*s), RTE_CACHE_LINE_SIZE, p->socket_id);
	if (s == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	s->id = p->shard_id;
	s->clock = p->clock;
	s->digest_key = p->digest_key;
	s->no_evict = p->no_evict;
	s->found_clsid = -1;
	s->zip.p = p->compress;
	if (s->zip.p.min_saving > 99)
		s->zip.p.min_saving = 99;
	nc_cas_lease_init(&s->cas, p->cas_source);
	retire_init(&s->retire, p->reclaimer, reclaim_item, s);
	ttl_wheel_init(&s->wheel, nc_clock_now(p->clock));
	rc = slab_init(&s->slab, &sp);
	if (rc == 0 && (uintptr_t)s->slab.arena + slab_arena_bytes(&s->slab) >
			       ITAB_PTR_MASK) {
		/* The index keeps 48 bits of an item's address. */
		slab_deinit(&s->slab);
		rc = -ERANGE;
	}
	if (rc < 0) {
		*err = rc;
		rte_free(s);
		return NULL;
	}
	/*
	 * The index grows with the items up to one key slot per smallest chunk, so it never fills
	 * before memory; a given size is fixed.
	 */
	entries = p->index_entries ? p->index_entries
				   : store_shard_index_max_entries(slab_arena_bytes(&s->slab),
								    sp.chunk_min);
	rc = index_init(&s->index, p->digest_key, entries, p->index_entries != 0, p->socket_id);
	if (rc < 0) {
		*err = rc;
		slab_deinit(&s->slab);
		rte_free(s);
		return NULL;
	}
	*err = 0;
	return s;
}

int
store_shard_mem_socket(const struct store_shard *s)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(s->slab.arena);

	return msl != NULL ? msl->socket_id : SOCKET_ID_ANY;
}

void
store_shard_destroy(struct store_shard **sp)
{
	struct store_shard *s = sp ? *sp : NULL;

	if (s == NULL)
		return;
	retire_wait_all(&s->retire);
	index_fini(&s->index);
	slab_deinit(&s->slab);
	shard_zip_fini(s);
	rte_free(s);
	*sp = NULL;
}

nc_reltime_t
store_shard_now(const struct store_shard *s)
{
	return nc_clock_now(s->clock);
}

const struct nc_digest_key *
store_shard_digest_key(const struct store_shard *s)
{
	return s->digest_key;
}

/* ---- upkeep ---- */

static void
ttl_expire(struct tw_node *n, void *arg)
{
	struct store_shard *s = arg;
	struct item *it = container_of(n, struct item, tw);

	STAT_ADD(s, ttl_expired, 1);
	shard_item_reclaim_dead(s, it);
}

unsigned
store_shard_maintain(struct store_shard *s, unsigned ttl_budget)
{
	unsigned expired;

	if (retire_in_flight(&s->retire) > 0)
		retire_reap(&s->retire);
	index_maintain(&s->index, INDEX_MOVES_PER_CALL);
	expired = ttl_wheel_advance(&s->wheel, nc_clock_now(s->clock), ttl_budget, ttl_expire, s);
	shard_refresh_tails(s);
	if (s->retire.npending > 0) {
		if (s->retire.npending >= RETIRE_FLUSH_ITEMS ||
		    ++s->flush_wait_calls >= RETIRE_FLUSH_CALLS) {
			if (retire_flush(&s->retire))
				s->flush_wait_calls = 0;
		}
	}
	return expired;
}

uint32_t
store_shard_index_max_entries(size_t mem_limit, uint32_t chunk_min)
{
	size_t chunk = slab_first_chunk_size(chunk_min);
	size_t n = mem_limit / SLAB_PAGE_SIZE_DEFAULT * (SLAB_PAGE_SIZE_DEFAULT / chunk);

	return n > INDEX_ENTRIES_MAX ? INDEX_ENTRIES_MAX : (uint32_t)(n < 8 ? 8 : n);
}

bool
store_shard_upkeep_pending(const struct store_shard *s)
{
	return index_upkeep_pending(&s->index);
}

int
store_shard_index_service(struct store_shard *s)
{
	return index_service(&s->index);
}

void
store_shard_quiesce(struct store_shard *s)
{
	retire_wait_all(&s->retire);
}

void
store_shard_stats_get(const struct store_shard *s, struct store_shard_stats *out)
{
#define STORE_SHARD_STAT_COPY(name, desc) \
	out->name = __atomic_load_n(&s->stats.name, __ATOMIC_RELAXED);
	STORE_SHARD_STATS(STORE_SHARD_STAT_COPY)
	STORE_SHARD_STAT_COPY(curr_items, "")
	STORE_SHARD_STAT_COPY(bytes, "")
	STORE_SHARD_STAT_COPY(compressed_items, "")
	STORE_SHARD_STAT_COPY(compressed_bytes_before, "")
	STORE_SHARD_STAT_COPY(compressed_bytes_after, "")
#undef STORE_SHARD_STAT_COPY
	/* Gauges of the index, read where they live. */
	out->hash_bytes = index_bytes(&s->index);
	out->hash_entries = __atomic_load_n(&s->index.entries, __ATOMIC_RELAXED);
	out->hash_is_expanding = __atomic_load_n(&s->index.old, __ATOMIC_ACQUIRE) != NULL;
}

const struct slab *
store_shard_slab(const struct store_shard *s)
{
	return &s->slab;
}

uint64_t
store_shard_retired_outstanding(const struct store_shard *s)
{
	return retire_outstanding(&s->retire);
}
