/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_RETIRE_H
#define NC_STORE_RETIRE_H

/*
 * Deferred reclamation of a shard's items under liburcu (QSBR flavour).
 *
 * The owner retires an item once it is out of the index; the item (and its index key slot)
 * may still be read by other workers until each has passed a quiescent state. Retired items
 * collect on a pending list; retire_flush() hands the list to liburcu as one batch with
 * call_rcu(), whose helper thread waits for the grace period off the data path and then only
 * sets the batch's `done` flag. The owner notices finished batches in retire_reap() (one
 * acquire load when nothing finished) and returns their memory itself, so the slab and the
 * index keep a single writer. The owner never waits for a grace period.
 *
 * Threads: owner only. retire_flush() must be called from a registered, online QSBR thread
 * (call_rcu's rule). retire_wait_all() must not be called inside a worker loop.
 */

#include <stdbool.h>
#include <stdint.h>

#include <urcu-qsbr.h>

#include "store/item.h"

/** Batches that can wait for a grace period at once; further retirements stay pending. */
#define RETIRE_BATCHES 64

struct retire_batch {
	struct rcu_head rcu;
	struct item *items;  /* linked through item.next */
	uint32_t count;
	uint32_t done;       /* set (release) by the RCU callback */
};

/** Called for each item whose grace period has ended. */
typedef void (*retire_free_fn)(struct item *it, void *arg);

struct retire {
	struct item *pending;      /* retired, not yet handed to liburcu */
	uint32_t npending;
	uint32_t head;             /* next batch slot to fill */
	uint32_t tail;             /* oldest batch in flight */
	uint64_t retired;          /* items retired, ever */
	uint64_t reclaimed;        /* items returned, ever */
	retire_free_fn free_fn;
	void *free_arg;
	struct retire_batch batch[RETIRE_BATCHES];
};

/** Initialise; @p free_fn returns an item's memory once its grace period ended. */
void retire_init(struct retire *r, retire_free_fn free_fn, void *arg);

/** Queue an item already removed from the index. O(1). */
static inline void
retire_item(struct retire *r, struct item *it)
{
	it->state = ITEM_RETIRED;
	it->next = r->pending;
	r->pending = it;
	r->npending++;
	r->retired++;
}

/** Batches waiting for a grace period. */
static inline uint32_t
retire_in_flight(const struct retire *r)
{
	return r->head - r->tail;
}

/** Items retired but not yet returned. */
static inline uint64_t
retire_outstanding(const struct retire *r)
{
	return r->retired - r->reclaimed;
}

/**
 * Hand the pending list to liburcu as one batch, if there is one and a batch slot is free.
 * @return true when a batch was started.
 */
bool retire_flush(struct retire *r);

/**
 * Return the items of every batch whose grace period has ended, oldest first.
 * @return the number of items returned.
 */
uint32_t retire_reap(struct retire *r);

/**
 * Flush everything and wait until every retired item is returned. Blocks on rcu_barrier();
 * for teardown and tests, never inside a worker loop. Takes a registered calling thread
 * offline for the wait and back online after.
 */
void retire_wait_all(struct retire *r);

#endif /* NC_STORE_RETIRE_H */
