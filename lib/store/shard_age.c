/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How old each size class's oldest items are, for `stats items` age: once a second the owner
 * looks near each class's CLOCK hand for the item eviction would take first
 * (slab_class_coldest()) and publishes its last access. One class per call, so a second's
 * pass over every class is spread over as many loop iterations.
 */
#include "store/shard_private.h"

void
shard_refresh_tails(struct store_shard *s)
{
	struct slab *sl = &s->slab;
	const struct item *tail;
	unsigned c;

	if (s->tails_next >= sl->nclasses) {
		nc_reltime_t now = nc_clock_now(s->clock);

		if (now == s->tails_at)
			return;
		s->tails_at = now;
		s->tails_next = 0;
	}
	c = s->tails_next++;
	tail = sl->cls[c].npages ? slab_class_coldest(sl, c) : NULL;
	__atomic_store_n(&sl->cls[c].tail_atime, tail ? item_atime(tail) : 0, __ATOMIC_RELAXED);
}
