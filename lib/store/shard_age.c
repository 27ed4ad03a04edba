/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How old each size class's oldest items are, for `stats items` age: the owner looks at the
 * item its CLOCK hand reaches next once a second and publishes that item's last access.
 */
#include "store/shard_private.h"

void
shard_refresh_tails(struct store_shard *s)
{
	struct slab *sl = &s->slab;

	s->tails_at = nc_clock_now(s->clock);
	for (unsigned c = 0; c < sl->nclasses; c++) {
		const struct item *tail = sl->cls[c].npages ? slab_class_tail(sl, c) : NULL;

		__atomic_store_n(&sl->cls[c].tail_atime, tail ? item_atime(tail) : 0,
				 __ATOMIC_RELAXED);
	}
}
