/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/shard.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "store/arith.h"

/* Items evicted at once when a class is full, so one grace period serves many stores. */
#define EVICT_BATCH 32
/* Chunks the CLOCK hand may visit per store that needs memory. */
#define EVICT_VISITS 4096
/* Retirements handed to liburcu at once from store_shard_maintain(), or ... */
#define RETIRE_FLUSH_ITEMS 64
/* ... after this many maintain calls with anything pending. */
#define RETIRE_FLUSH_CALLS 64

struct store_shard {
	/* Read by every reader: written rarely. */
	struct rte_hash *index;
	struct nc_clock *clock;
	const struct nc_digest_seed *seed;
	nc_reltime_t oldest_live;   /* flush_all time; 0 = none; relaxed atomic */
	uint64_t oldest_cas;        /* items with a smaller cas predate the flush; relaxed */

	/* Owner only. */
	struct store_shard_stats stats __rte_cache_aligned;
	struct nc_cas_lease cas;
	struct item *inflight;      /* allocated, not committed */
	uint32_t flush_wait_calls;  /* maintain calls since pending retirements were seen */
	unsigned index_full_rotor;  /* class to start evicting from when the index is full */
	uint32_t slots_retired;     /* index key slots waiting for a grace period */
	unsigned id;
	struct retire retire;
	struct ttl_wheel wheel;
	struct slab slab;
};

/* Counters are written by the owner and read by the control core: relaxed atomics. */
#define STAT_ADD(s, name, v) \
	__atomic_store_n(&(s)->stats.name, (s)->stats.name + (v), __ATOMIC_RELAXED)
#define STAT_SUB(s, name, v) \
	__atomic_store_n(&(s)->stats.name, (s)->stats.name - (v), __ATOMIC_RELAXED)

static void
reclaim_item(struct item *it, void *arg)
{
	struct store_shard *s = arg;

	if (it->hash_pos >= 0) {
		index_free_pos(s->index, it->hash_pos);
		s->slots_retired--;
	}
	s->slab.cls[it->clsid].nretired--;
	slab_free(&s->slab, it);
}

struct store_shard *
store_shard_create(const struct store_shard_params *p, int *err)
{
	struct slab_params sp = {
		.name = "nc_slab",
		.socket_id = p->socket_id,
		.mem_limit = p->mem_limit,
		.item_size_max = p->item_size_max ? p->item_size_max : SLAB_PAGE_SIZE_DEFAULT,
		.chunk_min = p->chunk_min ? p->chunk_min : 48,
		.factor = p->growth_factor != 0.0 ? p->growth_factor : 1.25,
	};
	char name[RTE_HASH_NAMESIZE];
	struct store_shard *s;
	uint32_t entries;
	int rc;

	if (p->seed == NULL || p->clock == NULL || p->cas_source == NULL || p->reclaimer == NULL) {
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
	s->seed = p->seed;
	nc_cas_lease_init(&s->cas, p->cas_source);
	retire_init(&s->retire, p->reclaimer, reclaim_item, s);
	ttl_wheel_init(&s->wheel, nc_clock_now(p->clock));
	rc = slab_init(&s->slab, &sp);
	if (rc < 0) {
		*err = rc;
		rte_free(s);
		return NULL;
	}
	/* Default: one key slot per smallest chunk, so the index never fills before memory. */
	entries = p->index_entries ? p->index_entries : s->slab.npages * s->slab.cls[0].per_page;
	snprintf(name, sizeof(name), "ncidx_%" PRIxPTR, (uintptr_t)s);
	s->index = index_create(name, entries, p->socket_id);
	if (s->index == NULL) {
		*err = -ENOMEM;
		slab_deinit(&s->slab);
		rte_free(s);
		return NULL;
	}
	*err = 0;
	return s;
}

void
store_shard_destroy(struct store_shard **sp)
{
	struct store_shard *s = sp ? *sp : NULL;

	if (s == NULL)
		return;
	retire_wait_all(&s->retire);
	index_destroy(&s->index);
	slab_deinit(&s->slab);
	rte_free(s);
	*sp = NULL;
}

nc_reltime_t
store_shard_now(const struct store_shard *s)
{
	return nc_clock_now(s->clock);
}

const struct nc_digest_seed *
store_shard_seed(const struct store_shard *s)
{
	return s->seed;
}

/* ---- item state, shared by readers and the owner ---- */

/* True when a flush_all is in force at time now (so items must be checked against it). */
static inline bool
flush_active(const struct store_shard *s, nc_reltime_t now)
{
	nc_reltime_t oldest = __atomic_load_n(&s->oldest_live, __ATOMIC_RELAXED);

	return oldest != 0 && oldest <= now;
}

static bool
item_flushed(const struct store_shard *s, const struct item *it, nc_reltime_t now)
{
	uint64_t oldest_cas;

	if (!flush_active(s, now))
		return false;
	if (it->stime <= __atomic_load_n(&s->oldest_live, __ATOMIC_RELAXED))
		return true;
	oldest_cas = __atomic_load_n(&s->oldest_cas, __ATOMIC_RELAXED);
	return oldest_cas != 0 && it->cas < oldest_cas;
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
	if (nc_reltime_expired(item_exptime(it), now))
		return STORE_EXPIRED;
	if (check_flush && item_flushed(s, it, now))
		return STORE_FLUSHED;
	return STORE_HIT;
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

static void
hit_fill(struct store_hit *hit, struct item *it, enum store_status st, nc_reltime_t now)
{
	hit->status = st;
	if (st != STORE_HIT) {
		hit->it = NULL;
		return;
	}
	item_mark_used(it, now);
	hit->it = it;
	hit->value = item_value_const(it);
	hit->nbytes = it->nbytes;
	hit->client_flags = it->client_flags;
	hit->cas = it->cas;
	hit->exptime = item_exptime(it);
}

/* ---- reads ---- */

enum store_status
store_get(const struct store_shard *s, const struct store_key *k, struct store_hit *hit)
{
	nc_reltime_t now = nc_clock_now(s->clock);
	struct item *it = index_lookup(s->index, k);

	hit_fill(hit, it, item_classify(s, it, k, now, true), now);
	return hit->status;
}

unsigned
store_get_bulk(const struct store_shard *s, const struct store_key *const keys[], unsigned n,
	       struct store_hit hits[])
{
	void *items[INDEX_BULK_MAX];
	nc_reltime_t now = nc_clock_now(s->clock);
	bool check_flush = flush_active(s, now);
	unsigned found = 0;

	if (n > INDEX_BULK_MAX)
		n = INDEX_BULK_MAX;
	if (index_lookup_bulk(s->index, keys, n, items) < 0)
		memset(items, 0, sizeof(items[0]) * n);
	/* Start every item's memory on its way before touching any, so the misses overlap. */
	for (unsigned i = 0; i < n; i++) {
		if (items[i] != NULL)
			item_prefetch_for_read(items[i], keys[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		struct item *it = items[i];

		hit_fill(&hits[i], it, item_classify(s, it, keys[i], now, check_flush), now);
		found += hits[i].status == STORE_HIT;
	}
	return found;
}

void
store_prefetch_bulk(const struct store_shard *s, const struct store_key *const keys[], unsigned n)
{
	void *items[INDEX_BULK_MAX];

	if (n > INDEX_BULK_MAX)
		n = INDEX_BULK_MAX;
	if (index_lookup_bulk(s->index, keys, n, items) < 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		if (items[i] != NULL) {
			/* A write also touches the owner part (wheel links) of the old item. */
			rte_prefetch0(items[i]);
			item_prefetch_for_read(items[i], keys[i]);
		}
	}
}

/* ---- linking and unlinking (owner) ---- */

static void
stats_item_gone(struct store_shard *s, const struct item *it)
{
	STAT_SUB(s, curr_items, 1);
	STAT_SUB(s, bytes, item_total_size(it->nkey, it->nbytes));
}

/* Hand an unlinked item to RCU retirement, counting what it holds back. */
static void
item_retire(struct store_shard *s, struct item *it)
{
	if (it->hash_pos >= 0)
		s->slots_retired++;
	s->slab.cls[it->clsid].nretired++;
	retire_item(&s->retire, it);
}

/* Build the index key of an item's own key (for removals that start from the item). */
static void
item_store_key(const struct store_shard *s, const struct item *it, struct store_key *k)
{
	store_key_init(k, s->seed, item_key(it), it->nkey);
}

/* Take a linked item out of the index and the wheel and retire it. */
static void
item_unlink(struct store_shard *s, struct item *it)
{
	struct store_key k;
	int32_t pos;

	item_store_key(s, it, &k);
	pos = index_del(s->index, &k);
	it->hash_pos = pos >= 0 ? pos : -1;
	ttl_wheel_remove(&s->wheel, &it->tw);
	stats_item_gone(s, it);
	item_retire(s, it);
}

/* Count the removal of an item that was expired or flushed, then unlink it. */
static void
item_reclaim_dead(struct store_shard *s, struct item *it)
{
	struct slab_class *c = &s->slab.cls[it->clsid];

	c->reclaimed++;
	STAT_ADD(s, reclaimed, 1);
	if (!__atomic_load_n(&it->fetched, __ATOMIC_RELAXED)) {
		c->expired_unfetched++;
		STAT_ADD(s, expired_unfetched, 1);
	}
	item_unlink(s, it);
}

/* Evict a live item (CLOCK victim or a page being moved). */
static void
item_evict(struct item *it, void *arg)
{
	struct store_shard *s = arg;
	struct slab_class *c = &s->slab.cls[it->clsid];
	nc_reltime_t now = nc_clock_now(s->clock);

	if (nc_reltime_expired(item_exptime(it), now) || item_flushed(s, it, now)) {
		item_reclaim_dead(s, it);
		return;
	}
	c->evicted++;
	STAT_ADD(s, evictions, 1);
	if (!__atomic_load_n(&it->fetched, __ATOMIC_RELAXED)) {
		c->evicted_unfetched++;
		STAT_ADD(s, evicted_unfetched, 1);
	}
	item_unlink(s, it);
}

/* CLOCK takes dead items first, whatever their reference bit (memcached's tail pull). */
static bool
item_dead(const struct item *it, void *arg)
{
	const struct store_shard *s = arg;
	nc_reltime_t now = nc_clock_now(s->clock);

	return nc_reltime_expired(item_exptime(it), now) || item_flushed(s, it, now);
}

/* Evict up to `want` items of class clsid by CLOCK; returns how many. */
static unsigned
evict_class(struct store_shard *s, unsigned clsid, unsigned want)
{
	unsigned budget = EVICT_VISITS;
	unsigned evicted = 0;

	while (evicted < want) {
		struct item *victim = slab_clock_victim(&s->slab, clsid, &budget, item_dead, s);

		if (victim == NULL)
			break;
		item_evict(victim, s);
		evicted++;
	}
	return evicted;
}

/*
 * Make room in class clsid: evict a batch by CLOCK, or start a page move. Chunks of the class
 * already waiting for a grace period count toward the batch, so a store that retries while
 * memory is being reclaimed does not evict again and again.
 */
static void
make_room(struct store_shard *s, unsigned clsid)
{
	const struct slab_class *c = &s->slab.cls[clsid];
	unsigned evicted = 0;

	if (c->nretired + c->incoming * c->per_page >= EVICT_BATCH) {
		retire_flush(&s->retire);
		return;
	}
	evicted = evict_class(s, clsid, EVICT_BATCH - c->nretired);

	if (evicted == 0 && s->slab.cls[clsid].npages == 0 && s->slab.cls[clsid].incoming == 0 &&
	    slab_reassign_start(&s->slab, clsid, s->inflight, item_evict, s) == 0)
		STAT_ADD(s, slab_reassigns, 1);
	retire_flush(&s->retire);
}

static struct item *
chunk_alloc(struct store_shard *s, unsigned clsid)
{
	struct item *it = slab_alloc(&s->slab, clsid);

	if (it != NULL)
		return it;
	if (retire_reap(&s->retire) > 0) {
		it = slab_alloc(&s->slab, clsid);
		if (it != NULL)
			return it;
	}
	make_room(s, clsid);
	/* A page move whose chunks were all free completes at once. */
	it = slab_alloc(&s->slab, clsid);
	if (it == NULL)
		STAT_ADD(s, alloc_retries, 1);
	return it;
}

/* Allocate an item with an exptime already in relative time. */
static struct item *
item_alloc_rel(struct store_shard *s, const struct store_key *k, uint32_t client_flags,
	       nc_reltime_t exptime, uint32_t nbytes, enum store_status *st)
{
	struct item *it;
	int clsid;

	if (k->len > STORE_KEY_MAX) {
		*st = STORE_KEY_TOO_LONG;
		return NULL;
	}
	clsid = slab_class_for(&s->slab, item_total_size(k->len, nbytes));
	if (clsid < 0) {
		*st = STORE_TOO_LARGE;
		return NULL;
	}
	it = chunk_alloc(s, (unsigned)clsid);
	if (it == NULL) {
		*st = STORE_NO_MEMORY;
		return NULL;
	}
	tw_node_init(&it->tw);
	it->next = NULL;
	it->cas = 0;
	it->exptime = exptime;
	it->stime = 0;
	it->atime = nc_clock_now(s->clock);
	it->client_flags = client_flags;
	it->nbytes = nbytes;
	it->hash_pos = -1;
	it->nkey = (uint8_t)k->len;
	it->ref = 0;
	it->fetched = 0;
	memcpy(it->data, k->key, k->len);
	*st = STORE_STORED;
	return it;
}

struct item *
store_item_alloc(struct store_shard *s, const struct store_key *k, uint32_t client_flags,
		 int64_t exptime, uint32_t nbytes, enum store_status *st)
{
	struct item *it = item_alloc_rel(s, k, client_flags, nc_clock_exptime(s->clock, exptime),
					 nbytes, st);

	if (it != NULL)
		s->inflight = it;
	return it;
}

void
store_item_abandon(struct store_shard *s, struct item *it)
{
	if (s->inflight == it)
		s->inflight = NULL;
	slab_free(&s->slab, it);
}

/*
 * Publish it for k, replacing whatever the index holds for the digest now (`cur`: a live
 * item, a dead one, a digest twin, or NULL). The replaced item is retired; its key slot
 * stays with the new item.
 */
static enum store_status
item_link(struct store_shard *s, struct item *it, const struct store_key *k, struct item *cur,
	  bool counts_as_new)
{
	nc_reltime_t now = nc_clock_now(s->clock);

	it->cas = nc_cas_next(&s->cas);
	it->stime = now;
	if (index_put(s->index, k, it) < 0) {
		/* Index full: free key slots by evicting from any class, then retry later. */
		unsigned evicted = s->slots_retired;

		store_item_abandon(s, it);
		for (unsigned i = 0; i < s->slab.nclasses && evicted < EVICT_BATCH; i++) {
			unsigned c = (s->index_full_rotor + i) % s->slab.nclasses;

			evicted += evict_class(s, c, EVICT_BATCH - evicted);
		}
		s->index_full_rotor++;
		retire_flush(&s->retire);
		STAT_ADD(s, alloc_retries, 1);
		return STORE_NO_MEMORY;
	}
	if (s->inflight == it)
		s->inflight = NULL;
	it->state = ITEM_LINKED;
	if (it->exptime != 0)
		ttl_wheel_insert(&s->wheel, &it->tw, it->exptime);
	if (cur != NULL) {
		ttl_wheel_remove(&s->wheel, &cur->tw);
		cur->hash_pos = -1;
		stats_item_gone(s, cur);
		item_retire(s, cur);
	}
	STAT_ADD(s, curr_items, 1);
	if (counts_as_new)
		STAT_ADD(s, total_items, 1);
	STAT_ADD(s, bytes, item_total_size(it->nkey, it->nbytes));
	return STORE_STORED;
}

/*
 * Owner lookup: the live item for k, or NULL. *cur receives what the index holds for the
 * digest (for replacement). Expired and flushed items are unlinked on the spot, as memcached.
 */
static struct item *
lookup_owner(struct store_shard *s, const struct store_key *k, struct item **cur)
{
	nc_reltime_t now = nc_clock_now(s->clock);
	struct item *it = index_lookup(s->index, k);

	switch (item_classify(s, it, k, now, true)) {
	case STORE_HIT:
		*cur = it;
		return it;
	case STORE_EXPIRED:
	case STORE_FLUSHED:
		item_reclaim_dead(s, it);
		*cur = NULL;
		return NULL;
	default:
		*cur = it; /* NULL, or a digest twin to be replaced */
		return NULL;
	}
}

/* Build the append/prepend result of old and it; consumes it. NULL with *st on failure. */
static struct item *
item_concat(struct store_shard *s, const struct item *old, struct item *it,
	    const struct store_key *k, bool append, enum store_status *st)
{
	uint64_t total = (uint64_t)old->nbytes + it->nbytes;
	struct item *joined = NULL;

	if (total <= UINT32_MAX)
		joined = item_alloc_rel(s, k, old->client_flags, item_exptime(old),
					(uint32_t)total, st);
	else
		*st = STORE_TOO_LARGE;
	if (joined != NULL) {
		const struct item *first = append ? old : it;
		const struct item *second = append ? it : old;

		/* old may have been evicted by the allocation: it is retired, still readable. */
		memcpy(item_value(joined), item_value_const(first), first->nbytes);
		memcpy(item_value(joined) + first->nbytes, item_value_const(second),
		       second->nbytes);
	}
	store_item_abandon(s, it);
	return joined;
}

enum store_status
store_item_commit(struct store_shard *s, struct item *it, const struct store_key *k,
		  enum store_mode mode, uint64_t cas_in, uint64_t *cas_out)
{
	struct item *cur;
	struct item *live = lookup_owner(s, k, &cur);
	enum store_status st = STORE_STORED;

	switch (mode) {
	case STORE_MODE_SET:
		break;
	case STORE_MODE_ADD:
		if (live != NULL) {
			/* memcached bumps the existing item on a failed add. */
			item_mark_used(live, nc_clock_now(s->clock));
			st = STORE_NOT_STORED;
		}
		break;
	case STORE_MODE_REPLACE:
		if (live == NULL)
			st = STORE_NOT_STORED;
		break;
	case STORE_MODE_CAS:
		if (live == NULL)
			st = STORE_NOT_FOUND;
		else if (live->cas != cas_in)
			st = STORE_EXISTS;
		break;
	case STORE_MODE_APPEND:
	case STORE_MODE_PREPEND:
		if (live == NULL) {
			st = STORE_NOT_STORED;
			break;
		}
		it = item_concat(s, live, it, k, mode == STORE_MODE_APPEND, &st);
		if (it == NULL)
			return st;
		/* The allocation may have evicted live: link against the index as it is now. */
		cur = index_lookup(s->index, k);
		break;
	default:
		st = STORE_NOT_STORED;
		break;
	}
	if (st != STORE_STORED) {
		store_item_abandon(s, it);
		return st;
	}
	st = item_link(s, it, k, cur, true);
	if (st == STORE_STORED && cas_out != NULL)
		*cas_out = it->cas;
	return st;
}

void
store_alloc_failed(struct store_shard *s, const struct store_key *k, enum store_mode mode,
		   enum store_status st)
{
	struct item *cur;
	struct item *live;

	/* memcached: stale data must not outlive a set that could not be stored. */
	if (mode != STORE_MODE_SET || st != STORE_TOO_LARGE)
		return;
	live = lookup_owner(s, k, &cur);
	if (live != NULL)
		item_unlink(s, live);
}

enum store_status
store_put(struct store_shard *s, const struct store_key *k, enum store_mode mode,
	  const void *value, uint32_t nbytes, uint32_t client_flags, int64_t exptime,
	  uint64_t cas_in, uint64_t *cas_out)
{
	enum store_status st;
	struct item *it = store_item_alloc(s, k, client_flags, exptime, nbytes, &st);

	if (it == NULL) {
		store_alloc_failed(s, k, mode, st);
		return st;
	}
	memcpy(item_value(it), value, nbytes);
	return store_item_commit(s, it, k, mode, cas_in, cas_out);
}

enum store_status
store_delete(struct store_shard *s, const struct store_key *k, uint64_t cas_in)
{
	struct item *cur;
	struct item *live = lookup_owner(s, k, &cur);

	if (live == NULL)
		return STORE_NOT_FOUND;
	if (cas_in != 0 && live->cas != cas_in)
		return STORE_EXISTS;
	item_unlink(s, live);
	return STORE_DELETED;
}

/* Set a live item's exptime and move it in the wheel. */
static void
item_set_exptime(struct store_shard *s, struct item *it, int64_t exptime)
{
	nc_reltime_t rel = nc_clock_exptime(s->clock, exptime);

	__atomic_store_n(&it->exptime, rel, __ATOMIC_RELAXED);
	if (rel == 0)
		ttl_wheel_remove(&s->wheel, &it->tw);
	else
		ttl_wheel_reschedule(&s->wheel, &it->tw, rel);
}

enum store_status
store_touch(struct store_shard *s, const struct store_key *k, int64_t exptime)
{
	struct item *cur;
	struct item *live = lookup_owner(s, k, &cur);

	if (live == NULL)
		return STORE_NOT_FOUND;
	item_set_exptime(s, live, exptime);
	item_mark_used(live, nc_clock_now(s->clock));
	return STORE_TOUCHED;
}

enum store_status
store_gat(struct store_shard *s, const struct store_key *k, int64_t exptime,
	  struct store_hit *hit)
{
	nc_reltime_t now = nc_clock_now(s->clock);
	struct item *it = index_lookup(s->index, k);
	enum store_status st = item_classify(s, it, k, now, true);

	if (st == STORE_EXPIRED || st == STORE_FLUSHED)
		item_reclaim_dead(s, it);
	else if (st == STORE_HIT)
		item_set_exptime(s, it, exptime);
	hit_fill(hit, it, st, now);
	return st;
}

enum store_status
store_arith(struct store_shard *s, const struct store_key *k, bool incr, uint64_t delta,
	    uint64_t *value_out, uint64_t *cas_out)
{
	char digits[STORE_ARITH_DIGITS_MAX];
	struct item *cur;
	struct item *live = lookup_owner(s, k, &cur);
	struct item *it;
	enum store_status st;
	uint64_t value;
	uint32_t ndigits, len;
	bool in_place;

	if (live == NULL)
		return STORE_NOT_FOUND;
	if (!store_arith_parse(item_value_const(live), live->nbytes, &value))
		return STORE_NON_NUMERIC;
	value = store_arith_apply(value, incr, delta);
	ndigits = store_arith_format(value, digits);
	/*
	 * memcached rewrites in place, padding with spaces, when the number got no longer (and
	 * then it is not a new item for total_items); we link a copy instead, because readers
	 * may be copying the old value right now.
	 */
	in_place = ndigits <= live->nbytes;
	len = in_place ? live->nbytes : ndigits;
	it = item_alloc_rel(s, k, live->client_flags, item_exptime(live), len, &st);
	if (it == NULL)
		return st;
	s->inflight = it;
	memcpy(item_value(it), digits, ndigits);
	memset(item_value(it) + ndigits, ' ', len - ndigits);
	st = item_link(s, it, k, index_lookup(s->index, k), !in_place);
	if (st != STORE_STORED)
		return st;
	if (value_out != NULL)
		*value_out = value;
	if (cas_out != NULL)
		*cas_out = it->cas;
	return STORE_OK;
}

void
store_flush(struct store_shard *s, int64_t delay)
{
	nc_reltime_t now = nc_clock_now(s->clock);
	nc_reltime_t at = delay > 0 ? nc_clock_exptime(s->clock, delay) : now;
	nc_reltime_t oldest = at - 1;

	/*
	 * As memcached: items stored at or before `oldest` are invalid once it is reached; for
	 * an immediate flush, items stored earlier in this same second are told apart by cas.
	 */
	if (oldest <= now)
		__atomic_store_n(&s->oldest_cas, nc_cas_peek(&s->cas), __ATOMIC_RELAXED);
	__atomic_store_n(&s->oldest_live, oldest, __ATOMIC_RELAXED);
}

/* ---- upkeep ---- */

static void
ttl_expire(struct tw_node *n, void *arg)
{
	struct store_shard *s = arg;
	struct item *it = container_of(n, struct item, tw);

	STAT_ADD(s, ttl_expired, 1);
	item_reclaim_dead(s, it);
}

unsigned
store_shard_maintain(struct store_shard *s, unsigned ttl_budget)
{
	unsigned expired;

	if (retire_in_flight(&s->retire) > 0)
		retire_reap(&s->retire);
	expired = ttl_wheel_advance(&s->wheel, nc_clock_now(s->clock), ttl_budget, ttl_expire,
				    s);
	if (s->retire.npending > 0) {
		if (s->retire.npending >= RETIRE_FLUSH_ITEMS ||
		    ++s->flush_wait_calls >= RETIRE_FLUSH_CALLS) {
			if (retire_flush(&s->retire))
				s->flush_wait_calls = 0;
		}
	}
	return expired;
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
#undef STORE_SHARD_STAT_COPY
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
