/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/retire.h"

#include <string.h>

#include <rte_common.h>

void
retire_init(struct retire *r, retire_free_fn free_fn, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->free_fn = free_fn;
	r->free_arg = arg;
}

/* Runs on liburcu's call_rcu thread after the grace period; only publishes "done". */
static void
batch_grace_done(struct rcu_head *head)
{
	struct retire_batch *b = container_of(head, struct retire_batch, rcu);

	/* Release: the owner's acquire load of done orders its reuse after the grace period. */
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
}

bool
retire_flush(struct retire *r)
{
	struct retire_batch *b;

	if (r->pending == NULL || retire_in_flight(r) == RETIRE_BATCHES)
		return false;
	b = &r->batch[r->head % RETIRE_BATCHES];
	b->items = r->pending;
	b->count = r->npending;
	b->done = 0;
	r->pending = NULL;
	r->npending = 0;
	r->head++;
	call_rcu(&b->rcu, batch_grace_done);
	return true;
}

uint32_t
retire_reap(struct retire *r)
{
	uint32_t n = 0;

	/* Batches complete in the order they were queued (one call_rcu queue per thread). */
	while (r->tail != r->head) {
		struct retire_batch *b = &r->batch[r->tail % RETIRE_BATCHES];
		struct item *it;

		if (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
			break;
		it = b->items;
		while (it != NULL) {
			struct item *next = it->next;

			r->free_fn(it, r->free_arg);
			it = next;
		}
		n += b->count;
		r->reclaimed += b->count;
		b->items = NULL;
		r->tail++;
	}
	return n;
}

void
retire_wait_all(struct retire *r)
{
	bool online = rcu_read_ongoing();

	if (online)
		rcu_thread_offline();
	while (retire_outstanding(r) > 0) {
		if (r->pending != NULL) {
			/* call_rcu wants an online thread; it does not wait. */
			if (online)
				rcu_thread_online();
			retire_flush(r);
			if (online)
				rcu_thread_offline();
		}
		rcu_barrier();
		retire_reap(r);
	}
	if (online)
		rcu_thread_online();
}
