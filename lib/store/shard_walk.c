/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Walking a shard's live items in slab address order, a bounded number of chunks per call
 * (stats cachedump, lru_crawler metadump). Owner only: it reads chunk states, which only the
 * owner writes.
 */
#include "shard_private.h"

/** The item at chunk @p idx of page @p page, cut for chunks of @p size bytes. */
static inline const struct item *
walk_chunk(const struct slab *sl, uint32_t page, uint32_t idx, uint32_t size)
{
	return (const struct item *)(sl->arena + ((size_t)page << sl->page_shift) +
				     (size_t)idx * size);
}

/** Whether a linked item is live now: not expired, not hidden by a flush_all. */
static inline bool
walk_live(const struct store_shard *s, const struct item *it, nc_reltime_t now)
{
	return !nc_reltime_expired(item_exptime(it), now) && !item_flushed(s, it, now);
}

static void
walk_fill(const struct store_shard *s, const struct item *it, struct store_walk_item *v)
{
	nc_reltime_t exp = item_exptime(it);

	v->key = item_key(it);
	v->nkey = it->nkey;
	v->nbytes = item_value_len(it); /* the client's length, compressed or not */
	v->client_flags = it->client_flags;
	v->clsid = it->clsid;
	v->total = (uint32_t)item_total_size(it->nkey, it->nbytes);
	v->cas = it->cas;
	v->exptime_unix = exp == 0 ? 0 : (int64_t)nc_clock_to_unix(s->clock, exp);
	v->atime_unix = (int64_t)nc_clock_to_unix(s->clock, item_atime(it));
	v->fetched = __atomic_load_n(&it->fetched, __ATOMIC_RELAXED) != 0;
	v->item = it;
}

unsigned
store_walk(struct store_shard *s, struct store_walk *w, uint64_t classes, unsigned budget,
	   store_walk_fn fn, void *arg)
{
	const struct slab *sl = &s->slab;
	nc_reltime_t now = nc_clock_now(s->clock);
	unsigned shown = 0;

	while (!w->done && budget > 0) {
		const struct slab_page *pg;
		const struct slab_class *c;

		if (w->page >= sl->ncarved) {
			w->done = true;
			break;
		}
		pg = &sl->pages[w->page];
		c = &sl->cls[pg->clsid];
		if (pg->draining || (classes & (1ULL << pg->clsid)) == 0 ||
		    w->chunk >= c->per_page) {
			/* Nothing linked to show here (a draining page's items were evicted). */
			budget--;
			w->page++;
			w->chunk = 0;
			continue;
		}
		while (budget > 0 && w->chunk < c->per_page) {
			const struct item *it = walk_chunk(sl, w->page, w->chunk, c->size);
			struct store_walk_item v;

			budget--;
			if (it->state == ITEM_LINKED && walk_live(s, it, now)) {
				walk_fill(s, it, &v);
				if (!fn(&v, arg))
					return shown;
				shown++;
			}
			w->chunk++;
		}
	}
	return shown;
}

int
store_walk_item_value(struct store_shard *s, const struct store_walk_item *v, void *dst)
{
	return shard_item_read_raw(s, v->item, dst);
}
