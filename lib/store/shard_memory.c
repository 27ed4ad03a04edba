/* SPDX-License-Identifier: BSD-3-Clause */
/* Owner paths that allocate, evict, link and unlink items. */
#include <string.h>

#include "store/shard_private.h"

/* Count a compressed item in (@p sign 1) or out (-1) of the compression gauges. */
static void
stats_compressed(struct store_shard *s, const struct item *it, int sign)
{
	uint64_t before = item_value_len(it);

	if (sign > 0) {
		STAT_ADD(s, compressed_items, 1);
		STAT_ADD(s, compressed_bytes_before, before);
		STAT_ADD(s, compressed_bytes_after, it->nbytes);
	} else {
		STAT_SUB(s, compressed_items, 1);
		STAT_SUB(s, compressed_bytes_before, before);
		STAT_SUB(s, compressed_bytes_after, it->nbytes);
	}
}

static void
stats_item_gone(struct store_shard *s, const struct item *it)
{
	size_t size = item_total_size(it->nkey, it->nbytes);

	STAT_SUB(s, curr_items, 1);
	STAT_SUB(s, bytes, size);
	__atomic_store_n(&s->slab.cls[it->clsid].mem_requested,
			 s->slab.cls[it->clsid].mem_requested - size, __ATOMIC_RELAXED);
	if (it->meta & ITEM_META_COMPRESSED)
		stats_compressed(s, it, -1);
}

/*
 * Count the chunks an item holds (its own and, when chained, every later chunk) in or out of
 * their classes' nretired: make_room() weighs what a grace period will give back in chunks, and
 * a chained item gives back several, some in other classes.
 */
void
shard_item_count_retired(struct store_shard *s, const struct item *it, int sign)
{
	struct item_chain ch;

	s->slab.cls[it->clsid].nretired += (uint32_t)sign;
	if (!(it->meta & ITEM_META_CHAINED))
		return;
	memcpy(&ch, it->data + it->nkey, sizeof(ch));
	for (const struct item *c = ch.first; c != NULL; c = c->next)
		s->slab.cls[c->clsid].nretired += (uint32_t)sign;
}

/* Hand an unlinked item to RCU retirement, counting what it holds back. */
static void
item_retire(struct store_shard *s, struct item *it)
{
	shard_item_count_retired(s, it, 1);
	retire_item(&s->retire, it);
}

/* Build the index key of an item's own key (for removals that start from the item). */
static void
item_store_key(const struct store_shard *s, const struct item *it, struct store_key *k)
{
	store_key_init(k, s->digest_key, item_key(it), it->nkey);
}

/* Take a linked item out of the index and the wheel and retire it. */
void
shard_item_unlink(struct store_shard *s, struct item *it)
{
	struct store_key k;

	item_store_key(s, it, &k);
	index_del(&s->index, &k);
	s->index_changes++;
	ttl_wheel_remove(&s->wheel, &it->tw);
	stats_item_gone(s, it);
	item_retire(s, it);
}

/* Count the removal of an item that was expired or flushed, then unlink it. */
void
shard_item_reclaim_dead(struct store_shard *s, struct item *it)
{
	struct slab_class *c = &s->slab.cls[it->clsid];

	c->reclaimed++;
	STAT_ADD(s, reclaimed, 1);
	if (!__atomic_load_n(&it->fetched, __ATOMIC_RELAXED)) {
		c->expired_unfetched++;
		STAT_ADD(s, expired_unfetched, 1);
	}
	shard_item_unlink(s, it);
}

/* Evict a live item (a CLOCK victim, or one on a page being moved that could not move). */
static void
item_evict(struct store_shard *s, struct item *it)
{
	struct slab_class *c = &s->slab.cls[it->clsid];
	nc_reltime_t now = nc_clock_now(s->clock);

	if (nc_reltime_expired(item_exptime(it), now) || item_flushed(s, it, now)) {
		shard_item_reclaim_dead(s, it);
		return;
	}
	c->evicted++;
	STAT_ADD(s, evictions, 1);
	if (item_exptime(it) != 0)
		c->evicted_nonzero++;
	if (__atomic_load_n(&it->ref, __ATOMIC_RELAXED)) {
		c->evicted_active++;
		STAT_ADD(s, evicted_active, 1);
	}
	__atomic_store_n(&c->evicted_time, now > item_atime(it) ? now - item_atime(it) : 0,
			 __ATOMIC_RELAXED);
	if (!__atomic_load_n(&it->fetched, __ATOMIC_RELAXED)) {
		c->evicted_unfetched++;
		STAT_ADD(s, evicted_unfetched, 1);
	}
	shard_item_unlink(s, it);
}

/*
 * Used in the last second (SPARE_TICKS, to 1/16 s): an item eviction passes over while older
 * ones exist. The clock's ticks tell (its whole seconds would spare items up to 2 s old).
 */
static bool
item_recent(const struct store_shard *s, const struct item *it)
{
	/* Signed: a reader may have stored a tick the owner's clock has not shown yet. */
	return (int32_t)(nc_clock_ticks(s->clock) - __atomic_load_n(&it->touch, __ATOMIC_RELAXED)) <
	       (int32_t)SPARE_TICKS;
}

/*
 * Copy a linked item into another chunk of its class and publish the copy in its place (same
 * key slot, cas, times and flags; readers of the old copy keep it until their quiescent
 * state). The chunk must not be on the page being moved (its free chunks are off the list).
 * @return true when it moved; false when the class had no free chunk.
 */
static bool
item_relocate(struct store_shard *s, struct item *it)
{
	size_t len = item_total_size(it->nkey, it->nbytes);
	struct item *copy = (it->meta & ITEM_META_CHAINED) ? NULL : slab_alloc(&s->slab, it->clsid);
	struct store_key k;

	/* A chained item's chunks would stay where they are: it is not moved. */
	if (copy == NULL)
		return false;
	memcpy((uint8_t *)copy + ITEM_READER_OFFSET, (const uint8_t *)it + ITEM_READER_OFFSET,
	       len - ITEM_READER_OFFSET);
	tw_node_init(&copy->tw);
	item_store_key(s, it, &k);
	/* The key is in the index: this replaces the item pointer and takes no new slot. */
	if (index_put(&s->index, &k, copy) < 0) {
		slab_free(&s->slab, copy);
		return false;
	}
	s->index_changes++;
	copy->state = ITEM_LINKED;
	ttl_wheel_remove(&s->wheel, &it->tw);
	if (item_exptime(copy) != 0)
		ttl_wheel_insert(&s->wheel, &copy->tw, item_exptime(copy));
	item_retire(s, it);
	STAT_ADD(s, slab_reassign_rescues, 1);
	return true;
}

/*
 * An item on a page being moved: dead ones go; live ones move if they can when @p any_live
 * (the class has chunks to spare) or when recent or referenced; the others are evicted (a
 * chained item's chunk never moves).
 */
static void
item_leave(struct store_shard *s, struct item *it, bool any_live)
{
	nc_reltime_t now = nc_clock_now(s->clock);

	if (nc_reltime_expired(item_exptime(it), now) || item_flushed(s, it, now)) {
		shard_item_reclaim_dead(s, it);
		return;
	}
	if ((any_live || item_recent(s, it) || __atomic_load_n(&it->ref, __ATOMIC_RELAXED)) &&
	    item_relocate(s, it))
		return;
	item_evict(s, it);
}

/* slab_evict_fn for a page taken from a class whose items are older than another's. */
static void
item_leave_page(struct item *it, void *arg)
{
	item_leave(arg, it, false);
}

/* slab_evict_fn for a page leaving a class with chunks to spare (class_with_spare()). */
static void
item_leave_spare_page(struct item *it, void *arg)
{
	item_leave(arg, it, true);
}

/* CLOCK takes dead items first, whatever their reference bit (memcached's tail pull). */
static enum slab_verdict
item_judge(const struct item *it, void *arg)
{
	const struct store_shard *s = arg;
	nc_reltime_t now = nc_clock_now(s->clock);

	if (nc_reltime_expired(item_exptime(it), now) || item_flushed(s, it, now))
		return SLAB_DEAD;
	return SLAB_LIVE;
}

/* As item_judge, but items used in the last second are spared. */
static enum slab_verdict
item_judge_spare_recent(const struct item *it, void *arg)
{
	const struct store_shard *s = arg;
	enum slab_verdict v = item_judge(it, arg);

	return v == SLAB_LIVE && item_recent(s, it) ? SLAB_SPARE : v;
}

/* As item_judge_spare_recent, noting the oldest touch of the recent items in recent_oldest. */
static enum slab_verdict
item_judge_spare_recent_note(const struct item *it, void *arg)
{
	struct store_shard *s = arg;
	enum slab_verdict v = item_judge_spare_recent(it, arg);

	if (v == SLAB_SPARE) {
		struct slab_class *c = &s->slab.cls[s->sweep_class];
		uint32_t touch = __atomic_load_n(&it->touch, __ATOMIC_RELAXED);

		if ((int32_t)(touch - c->recent_oldest) < 0)
			c->recent_oldest = touch;
	}
	return v;
}

/*
 * For a class whose items are all recent: items used at or before the class's recent_oldest
 * tick are judged as item_judge does (CLOCK's second chance among them), the others spared, so
 * the class loses its least recently used items as memcached's LRU tail would.
 */
static enum slab_verdict
item_judge_oldest_recent(const struct item *it, void *arg)
{
	const struct store_shard *s = arg;
	enum slab_verdict v = item_judge(it, arg);

	if (v == SLAB_LIVE &&
	    (int32_t)(__atomic_load_n(&it->touch, __ATOMIC_RELAXED) -
		      s->slab.cls[s->sweep_class].recent_oldest) > 0)
		return SLAB_SPARE;
	return v;
}

/* For a class with chunks to spare: every live chained item is spared (it cannot move, and
 * evicting it for a page the class does not need loses a large value). */
static enum slab_verdict
item_judge_spare_chained(const struct item *it, void *arg)
{
	enum slab_verdict v = item_judge(it, arg);

	return v == SLAB_LIVE && (it->meta & ITEM_META_CHAINED) ? SLAB_SPARE : v;
}

/*
 * Evict up to `want` items of class clsid by CLOCK, visiting at most `visits` chunks; returns
 * how many. A sweep sparing recent items (item_judge_spare_recent) that evicted nothing puts
 * the hand back where it was, so passing over recent items does not move the CLOCK order on.
 */
static unsigned
evict_class(struct store_shard *s, unsigned clsid, unsigned want, slab_judge_fn judge,
	    unsigned visits)
{
	struct slab_class *c = &s->slab.cls[clsid];
	uint32_t page = c->hand_page, chunk = c->hand_chunk;
	unsigned evicted = 0;

	while (evicted < want) {
		struct item *victim = slab_clock_victim(&s->slab, clsid, &visits, judge, s);

		if (victim == NULL)
			break;
		item_evict(s, victim);
		evicted++;
	}
	if (evicted == 0 && judge != item_judge) {
		c->hand_page = page;
		c->hand_chunk = chunk;
	}
	return evicted;
}

/*
 * The class other than clsid, holding two pages or more, whose next CLOCK victim was used
 * longest ago, if that is more than MOVE_MIN_AGE seconds ago and the class may give a page; else
 * SLAB_CLASS_ANY.
 */
static unsigned
class_with_oldest_tail(const struct store_shard *s, unsigned clsid)
{
	nc_reltime_t now = nc_clock_now(s->clock);
	nc_reltime_t oldest = now - MOVE_MIN_AGE;
	unsigned best = SLAB_CLASS_ANY;

	/*
	 * In the clock's first MOVE_MIN_AGE seconds no item is that old, and now - MOVE_MIN_AGE
	 * would wrap round to make every class's tail look old: pages moved back and forth,
	 * evicting items just stored (the newest sets of a fresh server lost).
	 */
	if (now < MOVE_MIN_AGE)
		return best;

	for (unsigned c = 0; c < s->slab.nclasses; c++) {
		const struct item *tail;

		/* Not a class's last page: a rarely written class keeps old items and its page. */
		if (c == clsid || s->slab.cls[c].npages < 2 || !slab_class_can_give(&s->slab, c))
			continue;
		tail = slab_class_tail(&s->slab, c);
		if (tail == NULL)
			continue;
		if (item_atime(tail) < oldest) {
			oldest = item_atime(tail);
			best = c;
		}
	}
	return best;
}

/* Whether the only page of class c holds no item used in the last second (few chunks only). */
static bool
only_page_idle(const struct store_shard *s, unsigned c)
{
	const struct slab *sl = &s->slab;
	const struct slab_class *k = &sl->cls[c];

	if (sl->pages[k->first_page].used == 0)
		return true;
	if (k->per_page > SPARE_SCAN_MAX)
		return false;
	for (uint32_t i = 0; i < k->per_page; i++) {
		const struct item *it = slab_chunk(sl, k->first_page, i, k->size);

		if (it->state == ITEM_CHUNK)
			it = it->head;
		if ((it->state == ITEM_LINKED || it->state == ITEM_ALLOCATED) && item_recent(s, it))
			return false;
	}
	return true;
}

/*
 * A class other than clsid with chunks to spare, the one with most free bytes; else
 * SLAB_CLASS_ANY. Its emptiest page costs less to move than evicting items in use, and loses
 * no recent item: with two pages or more the class has a page's worth of free chunks, so the
 * items on its emptiest page fit elsewhere in it (recent ones move there); its only page goes
 * when three quarters of it are free and nothing on it was used in the last second.
 */
static unsigned
class_with_spare(const struct store_shard *s, unsigned clsid, bool empty_page)
{
	const struct slab *sl = &s->slab;
	size_t best_free = 0;
	unsigned best = SLAB_CLASS_ANY;

	for (unsigned c = 0; c < sl->nclasses; c++) {
		const struct slab_class *k = &sl->cls[c];
		size_t free_bytes = (size_t)k->nfree * k->size;

		if (c == clsid || k->npages == 0 || free_bytes <= best_free ||
		    (empty_page && k->nempty == 0) || !slab_class_can_give(sl, c))
			continue;
		if (k->npages >= 2 ? k->nfree < k->per_page
				   : (k->nfree < k->per_page / 4 * 3 + 1 || !only_page_idle(s, c)))
			continue;
		best_free = free_bytes;
		best = c;
	}
	return best;
}

/*
 * Start moving the emptiest page of a class with chunks to spare (class_with_spare()) to class
 * clsid, unless a page is already on its way there; with @p empty_page only a page with no
 * chunk in use (nothing moves or goes). Returns whether a move started (it completes at once
 * when the page's chunks were all free).
 */
static bool
take_spare_page(struct store_shard *s, unsigned clsid, bool empty_page)
{
	unsigned spare;

	if (s->slab.cls[clsid].incoming != 0)
		return false;
	spare = class_with_spare(s, clsid, empty_page);
	if (spare == SLAB_CLASS_ANY ||
	    slab_reassign_emptiest(&s->slab, clsid, spare, s->inflight, item_judge_spare_chained,
				   item_leave_spare_page, s) != 0)
		return false;
	STAT_ADD(s, slab_reassigns, 1);
	retire_flush(&s->retire);
	return true;
}

/*
 * Before items used in the last second are evicted: a sweep of the whole class for older ones,
 * since items written or read recently may fill more than one sweep's worth of chunks ahead of
 * the hand (the sweep stops at the first batch it finds, and the hand stays there). A sweep
 * that finds none is not repeated within the clock tick (1/16 s): a class whose items are all
 * recent would otherwise pay it for every store. Such a sweep visits only items used in the
 * last second, so it costs at most 16 visits per request served in that second. (Waiting a
 * whole second instead evicted recent items for that second: 15 recent misses in the tiny
 * mix of scripts/bench-memory.sh became 231.)
 */
static unsigned
evict_older_anywhere(struct store_shard *s, unsigned clsid)
{
	struct slab_class *c = &s->slab.cls[clsid];
	uint32_t tick = nc_clock_ticks(s->clock);
	uint32_t chunks = c->npages * c->per_page;
	unsigned evicted;

	if (c->all_recent_valid && c->all_recent_tick == tick)
		return 0;
	c->recent_oldest = tick;
	s->sweep_class = clsid;
	evicted = evict_class(s, clsid, EVICT_BATCH, item_judge_spare_recent_note, chunks);
	c->all_recent_valid = evicted == 0;
	c->all_recent_tick = tick;
	return evicted;
}

/*
 * When every item of the class was used in the last second: evict its least recently used,
 * the tick evict_older_anywhere() found oldest, then the next ones (CLOCK order alone took items
 * a tenth of a second old while some nearly a second old stayed).
 */
static unsigned
evict_oldest_recent(struct store_shard *s, unsigned clsid, unsigned want)
{
	struct slab_class *c = &s->slab.cls[clsid];
	uint32_t chunks = c->npages * c->per_page;
	unsigned evicted = 0;

	s->sweep_class = clsid;
	for (unsigned pass = 0; evicted == 0 && pass <= SPARE_TICKS; pass++) {
		evicted = evict_class(s, clsid, want, item_judge_oldest_recent, chunks);
		if (evicted == 0)
			c->recent_oldest++;
	}
	return evicted;
}

/*
 * Make room in class clsid: first take the emptiest page of a class with free chunks to spare
 * (class_with_spare()); else evict a batch by CLOCK, sparing items used in the last second. When
 * the class holds nothing older (its hand reaches a recent item, or the sweep found only recent
 * or referenced ones), take a page from the class whose oldest items are older than that; only
 * when no class has such items evict recent ones. A class without pages takes one from the
 * class holding most. Chunks of the class already waiting for a grace period count toward the
 * batch, so a store that retries while memory is being reclaimed does not evict again and again.
 */
static void
make_room(struct store_shard *s, unsigned clsid)
{
	const struct slab_class *c = &s->slab.cls[clsid];
	unsigned want = EVICT_BATCH, evicted = 0;

	/*
	 * A batch, but never more than 1/64 of the class nor 2 x EVICT_AHEAD_BYTES: large classes
	 * hold few chunks, evicting a chained item frees several, and what the batch frees beyond
	 * this store's chunk sits unused until the class's next stores. Chunks already on their way back (retired, or a
	 * page moving in) count toward it: a store retried until a grace period ends must not
	 * evict again on every retry (the large classes' batch is one item, and each retry took
	 * another: a third of memory went at the first eviction).
	 */
	if (want > c->npages * c->per_page / 64)
		want = c->npages * c->per_page / 64 > 0 ? c->npages * c->per_page / 64 : 1;
	if (want > 2 * EVICT_AHEAD_BYTES / c->size)
		want = 2 * EVICT_AHEAD_BYTES / c->size > 0 ? 2 * EVICT_AHEAD_BYTES / c->size : 1;
	if (c->nretired + c->incoming * c->per_page >= want) {
		retire_flush(&s->retire);
		return;
	}
	want -= c->nretired;
	if (s->no_evict) {
		/* -M: only a page no item uses may come; the store fails otherwise. */
		take_spare_page(s, clsid, true);
		retire_flush(&s->retire);
		return;
	}
	if (take_spare_page(s, clsid, false))
		return;
	/*
	 * Sweep, passing over recent items. A recent item at the hand does not mean the whole
	 * class is recent (newer items fill chunks freed between older ones), but it may be:
	 * then the sweep looks at few chunks before the fallback below.
	 */
	if (c->npages > 0) {
		const struct item *tail = slab_class_tail(&s->slab, clsid);

		evicted = evict_class(s, clsid, want, item_judge_spare_recent,
				      tail != NULL && item_recent(s, tail) ? EVICT_VISITS_RECENT
									 : EVICT_VISITS);
	}
	if (evicted == 0 && c->npages > 0 && c->incoming == 0) {
		unsigned src = class_with_oldest_tail(s, clsid);

		if (src != SLAB_CLASS_ANY &&
		    slab_reassign_start(&s->slab, clsid, src, s->inflight, item_judge_spare_recent,
					item_leave_page, s) == 0) {
			STAT_ADD(s, slab_reassigns, 1);
			retire_flush(&s->retire);
			return;
		}
		evicted = evict_older_anywhere(s, clsid);
		if (evicted == 0)
			evicted = evict_oldest_recent(s, clsid, want);
		if (evicted == 0)
			evicted = evict_class(s, clsid, want, item_judge, EVICT_VISITS);
	}
	if (evicted == 0 && c->npages == 0 && c->incoming == 0 &&
	    slab_reassign_start(&s->slab, clsid, SLAB_CLASS_ANY, s->inflight,
				item_judge_spare_recent, item_leave_page, s) == 0)
		STAT_ADD(s, slab_reassigns, 1);
	retire_flush(&s->retire);
}

/*
 * Evict ahead: when memory is full and class clsid is down to a few free chunks (counting
 * those waiting for a grace period or a page on its way), evict the next batch now, so its
 * memory has come back by the time a store needs it. Without this a store found the class
 * empty, evicted, and was retried on every worker loop until the reclaimer's grace period
 * ended (seconds when that thread waited for a CPU; sets then answered SERVER_ERROR).
 */
static void
evict_ahead(struct store_shard *s, unsigned clsid)
{
	const struct slab *sl = &s->slab;
	const struct slab_class *c = &sl->cls[clsid];
	const struct item *tail;
	uint32_t ahead;

	/* Every allocation comes here: the cheap test first (memory not full yet). */
	if (sl->free_pages != SLAB_PAGE_NONE || sl->ncarved < sl->npages)
		return;
	ahead = c->npages * c->per_page / 16;
	if (ahead > EVICT_AHEAD)
		ahead = EVICT_AHEAD;
	/*
	 * Few bytes of them: free chunks hold no item. Still one chunk up to 64 KB, or every
	 * store in those classes waits for a grace period (retried each loop).
	 */
	if (ahead > EVICT_AHEAD_BYTES / c->size)
		ahead = c->size <= EVICT_AHEAD_CHUNK_MAX ? RTE_MAX(EVICT_AHEAD_BYTES / c->size, 1u)
							 : 0;
	if (ahead == 0)
		return;
	if (c->nfree + c->nretired + c->incoming * c->per_page >= ahead)
		return;
	/*
	 * Memory is full, but another class may hold a page with no chunk in use (a large class
	 * whose values were replaced by larger ones): make_room() takes it when this class runs
	 * out, so evicting here would lose items for nothing. (Moving it now is no better: its
	 * class may need it back first, and then evicts.)
	 */
	if (class_with_spare(s, clsid, true) != SLAB_CLASS_ANY)
		return;
	/* Not items used in the last second: make_room() decides about those when it must. */
	tail = slab_class_tail(sl, clsid);
	if (tail == NULL || item_recent(s, tail))
		return;
	if (evict_class(s, clsid, 2 * ahead < EVICT_BATCH ? 2 * ahead : EVICT_BATCH,
			item_judge_spare_recent, EVICT_VISITS) > 0)
		retire_flush(&s->retire);
}

static struct item *
chunk_alloc(struct store_shard *s, unsigned clsid)
{
	struct item *it = slab_alloc(&s->slab, clsid);

	if (it != NULL) {
		if (!s->no_evict)
			evict_ahead(s, clsid);
		return it;
	}
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

bool
store_shard_no_room_coming(const struct store_shard *s)
{
	return s->no_evict && store_shard_retired_outstanding(s) == 0;
}

uint64_t
store_shard_room_mark(const struct store_shard *s)
{
	return s->retire.reclaimed;
}

bool
store_shard_room_ready(const struct store_shard *s, uint64_t mark)
{
	const struct retire *r = &s->retire;

	return r->reclaimed != mark || retire_outstanding(r) == 0 || r->npending > 0 ||
	       retire_reap_ready(r);
}

int
store_class_for(const struct store_shard *s, size_t nkey, size_t nbytes)
{
	int clsid = slab_class_for(&s->slab, item_total_size(nkey, nbytes));

	if (clsid == SLAB_CHAINED)
		return (int)s->slab.nclasses - 1;
	return clsid < 0 ? -1 : clsid;
}

void
store_count_out_of_memory(struct store_shard *s, size_t nkey, size_t nbytes)
{
	int clsid = store_class_for(s, nkey, nbytes);

	if (clsid < 0)
		return;
	__atomic_store_n(&s->slab.cls[clsid].outofmemory, s->slab.cls[clsid].outofmemory + 1,
			 __ATOMIC_RELAXED);
}

void
shard_item_free_chunks(struct store_shard *s, struct item *it)
{
	struct item_chain ch;
	struct item *c;

	if (!(it->meta & ITEM_META_CHAINED))
		return;
	memcpy(&ch, it->data + it->nkey, sizeof(ch));
	for (c = ch.first; c != NULL;) {
		struct item *next = c->next;

		slab_free(&s->slab, c);
		c = next;
	}
}

/*
 * The chunks after the head of a chained item of @p nbytes: full chunks of the largest class,
 * then the rest in the class that fits it. The head is pinned (s->inflight) meanwhile, so no
 * page move waits on it. @return false (all given back) when memory is short.
 */
static bool
chain_alloc(struct store_shard *s, struct item *head, uint32_t nbytes)
{
	const uint32_t chunk_data = (uint32_t)s->slab.chunk_max - (uint32_t)sizeof(struct item);
	struct item_chain ch = {.first = NULL};
	struct item **link = &ch.first;
	uint32_t rest;

	ch.first_len = (uint32_t)(s->slab.chunk_max - sizeof(struct item) - head->nkey - sizeof(ch));
	rest = nbytes - ch.first_len;
	while (rest > 0) {
		uint32_t n = rest < chunk_data ? rest : chunk_data;
		int clsid = slab_class_for(&s->slab, sizeof(struct item) + n);
		struct item *c;

		/*
		 * The last piece may go to a larger class's free chunk (up to twice its size)
		 * rather than carve a page for one chunk in a class that holds no others.
		 */
		for (int k = clsid; k >= 0 && (unsigned)k < s->slab.nclasses &&
				    s->slab.cls[k].size <= 2 * (sizeof(struct item) + n);
		     k++) {
			if (s->slab.cls[k].nfree > 0) {
				clsid = k;
				break;
			}
		}
		c = clsid >= 0 ? chunk_alloc(s, (unsigned)clsid) : NULL;

		if (c == NULL) {
			*link = NULL;
			memcpy(head->data + head->nkey, &ch, sizeof(ch));
			shard_item_free_chunks(s, head);
			return false;
		}
		c->state = ITEM_CHUNK;
		c->head = head;
		c->nbytes = n;
		c->next = NULL;
		*link = c;
		link = &c->next;
		rest -= n;
	}
	memcpy(head->data + head->nkey, &ch, sizeof(ch));
	return true;
}

/* Allocate an item with an exptime already in relative time. */
struct item *
shard_item_alloc_rel(struct store_shard *s, const struct store_key *k, uint32_t client_flags,
		     nc_reltime_t exptime, uint32_t nbytes, enum store_status *st)
{
	struct item *it, *pinned = s->inflight;
	bool chained;
	int clsid;

	if (k->len > STORE_KEY_MAX) {
		*st = STORE_KEY_TOO_LONG;
		return NULL;
	}
	clsid = slab_class_for(&s->slab, item_total_size(k->len, nbytes));
	chained = clsid == SLAB_CHAINED;
	if (chained)
		clsid = (int)s->slab.nclasses - 1;
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
	it->cas = 0;
	it->exptime = exptime;
	it->flush_seq = 0;
	it->touch = nc_clock_ticks(s->clock);
	it->client_flags = client_flags;
	it->nbytes = nbytes;
	it->nkey = (uint8_t)k->len;
	it->ref = 0;
	it->fetched = 0;
	it->meta = chained ? ITEM_META_CHAINED : 0;
	memcpy(it->data, k->key, k->len);
	if (chained) {
		bool ok;

		s->inflight = it;
		ok = chain_alloc(s, it, nbytes);
		s->inflight = pinned;
		if (!ok) {
			it->meta = 0;
			slab_free(&s->slab, it);
			*st = STORE_NO_MEMORY;
			return NULL;
		}
	}
	*st = STORE_STORED;
	return it;
}

struct item *
store_item_alloc(struct store_shard *s, const struct store_key *k, uint32_t client_flags,
		 int64_t exptime, uint32_t nbytes, enum store_status *st)
{
	nc_reltime_t rel = nc_clock_exptime(s->clock, exptime);
	struct item *it;

	/* Compression wanted: fill the staging item; the commit sizes the slab item. */
	if (shard_zip_wants(s, nbytes))
		it = shard_zip_stage(s, k, client_flags, rel, nbytes, st);
	else
		it = shard_item_alloc_rel(s, k, client_flags, rel, nbytes, st);
	if (it != NULL)
		s->inflight = it;
	return it;
}

void
store_item_abandon(struct store_shard *s, struct item *it)
{
	if (shard_item_staged(s, it)) {
		shard_zip_unstage(s);
		return;
	}
	if (s->inflight == it)
		s->inflight = NULL;
	shard_item_free_chunks(s, it);
	slab_free(&s->slab, it);
}

/*
 * Publish it for k, replacing whatever the index holds for the key now (`cur`: a live
 * item, a dead one, or NULL). The replaced item is retired; its key slot
 * stays with the new item.
 */
enum store_status
shard_item_link(struct store_shard *s, struct item *it, const struct store_key *k, struct item *cur,
		bool counts_as_new)
{
	return shard_item_link_cas(s, it, k, cur, counts_as_new, 0);
}

enum store_status
shard_item_link_cas(struct store_shard *s, struct item *it, const struct store_key *k,
		    struct item *cur, bool counts_as_new, uint64_t cas)
{
	it->cas = cas != 0 ? cas : nc_cas_next(&s->cas);
	/* The store time, which flush_all judges by (struct item). */
	it->touch = nc_clock_ticks(s->clock);
	it->flush_seq = (uint16_t)s->flush_seq;
	if (index_put(&s->index, k, it) < 0) {
		/* Index full: free key slots by evicting from any class, then retry later. */
		unsigned evicted = 0;

		store_item_abandon(s, it);
		for (unsigned i = 0; !s->no_evict && i < s->slab.nclasses && evicted < EVICT_BATCH;
		     i++) {
			unsigned c = (s->index_full_rotor + i) % s->slab.nclasses;

			evicted += evict_class(s, c, EVICT_BATCH - evicted, item_judge, EVICT_VISITS);
		}
		s->index_full_rotor++;
		retire_flush(&s->retire);
		STAT_ADD(s, alloc_retries, 1);
		return STORE_NO_MEMORY;
	}
	s->index_changes++;
	if (s->inflight == it)
		s->inflight = NULL;
	it->state = ITEM_LINKED;
	if (it->exptime != 0)
		ttl_wheel_insert(&s->wheel, &it->tw, it->exptime);
	if (cur != NULL) {
		ttl_wheel_remove(&s->wheel, &cur->tw);
		stats_item_gone(s, cur);
		item_retire(s, cur);
	}
	STAT_ADD(s, curr_items, 1);
	if (counts_as_new)
		STAT_ADD(s, total_items, 1);
	STAT_ADD(s, bytes, item_total_size(it->nkey, it->nbytes));
	__atomic_store_n(&s->slab.cls[it->clsid].mem_requested,
			 s->slab.cls[it->clsid].mem_requested +
				 item_total_size(it->nkey, it->nbytes),
			 __ATOMIC_RELAXED);
	if (it->meta & ITEM_META_COMPRESSED)
		stats_compressed(s, it, 1);
	return STORE_STORED;
}

/*
 * Owner lookup: the live item for k, or NULL. *cur receives what the index holds for the
 * digest (for replacement). Expired and flushed items are unlinked on the spot, as memcached.
 */
struct item *
shard_lookup_owner(struct store_shard *s, const struct store_key *k, struct item **cur)
{
	nc_reltime_t now = nc_clock_now(s->clock);
	struct item *it = index_lookup(&s->index, k);

	s->found_clsid = -1;
	switch (item_classify(s, it, k, now, true)) {
	case STORE_HIT:
		s->found_clsid = it->clsid;
		*cur = it;
		return it;
	case STORE_EXPIRED:
	case STORE_FLUSHED:
		shard_item_reclaim_dead(s, it);
		*cur = NULL;
		return NULL;
	default:
		*cur = it; /* NULL, or the key's dead item to be replaced */
		return NULL;
	}
}
