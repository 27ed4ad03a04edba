/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_RETIRE_H
#define NC_STORE_RETIRE_H

/*
 * Deferred reclamation of a shard's items under liburcu (QSBR flavour).
 *
 * The owner retires an item once it is out of the index; other workers may still read it
 * (and its index key slot) until each has passed a quiescent state. Retired items collect on
 * a pending list; retire_flush() posts the list as one batch to the process's reclaimer, a
 * thread off the data path (on the control core) that waits for a liburcu grace period with
 * synchronize_rcu() and then only sets the batch's `done` flag. The owner notices finished
 * batches in retire_reap() (one acquire load when nothing finished) and returns their memory
 * itself, so the slab and the index keep a single writer. The owner never waits.
 *
 * Why not call_rcu(): liburcu's call_rcu thread sleeps 10 ms between batches, so memory came
 * back 10-20 ms after eviction; the reclaimer turns a batch around in one grace period.
 *
 * Threads: struct retire is owner-only. The reclaimer accepts batches from any number of
 * owners. retire_wait_all() blocks and must not be called inside a worker loop.
 */

#include <stdbool.h>
#include <stdint.h>

#include "store/item.h"

/** Batches one owner can have waiting for a grace period; more retirements stay pending. */
#define RETIRE_BATCHES 64

struct retire_batch {
	struct item *items; /* linked through item.next */
	uint32_t count;
	uint32_t done; /* set (release) by the reclaimer after a grace period */
};

struct retire_reclaimer;

/**
 * [setup] Start the reclaimer thread (unregistered with liburcu, so it may call
 * synchronize_rcu), pinned to CPU @p cpu when cpu >= 0 (the control core's CPU in the
 * server). EAL must be initialised (its queue is an rte_ring).
 * @return the reclaimer, or NULL with *err a negative errno.
 */
struct retire_reclaimer *retire_reclaimer_create(int socket_id, int cpu, int *err);

/**
 * [setup] Stop and free the reclaimer; NULL allowed; sets *r to NULL. Every shard using it
 * must be destroyed first.
 */
void retire_reclaimer_destroy(struct retire_reclaimer **r);

/** [any] Grace periods the reclaimer has completed. */
uint64_t retire_reclaimer_grace_periods(const struct retire_reclaimer *r);

/** Called for each item whose grace period has ended. */
typedef void (*retire_free_fn)(struct item *it, void *arg);

struct retire {
	struct item *pending; /* retired, not yet posted */
	uint32_t npending;
	uint32_t head;	    /* next batch slot to fill */
	uint32_t tail;	    /* oldest batch in flight */
	uint64_t retired;   /* items retired, ever */
	uint64_t reclaimed; /* items returned, ever */
	struct retire_reclaimer *reclaimer;
	retire_free_fn free_fn;
	void *free_arg;
	struct retire_batch batch[RETIRE_BATCHES];
};

/** Initialise; @p free_fn returns an item's memory once its grace period ended. */
void retire_init(struct retire *r, struct retire_reclaimer *reclaimer, retire_free_fn free_fn,
		 void *arg);

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
 * Whether the oldest batch in flight has ended its grace period (retire_reap() would return
 * its items now). O(1): one acquire load.
 */
static inline bool
retire_reap_ready(const struct retire *r)
{
	return r->tail != r->head &&
	       __atomic_load_n(&r->batch[r->tail % RETIRE_BATCHES].done, __ATOMIC_ACQUIRE);
}

/**
 * Post the pending list to the reclaimer as one batch, if there is one, a batch slot is free
 * and the reclaimer's queue has room. Never blocks.
 * @return true when a batch was posted.
 */
bool retire_flush(struct retire *r);

/**
 * Return the items of every batch whose grace period has ended, oldest first.
 * @return the number of items returned.
 */
uint32_t retire_reap(struct retire *r);

/**
 * Post everything and wait until every retired item is returned. For teardown and tests,
 * never inside a worker loop: it takes a registered calling thread offline while it waits
 * (so the grace periods it waits for can end) and back online after.
 */
void retire_wait_all(struct retire *r);

#endif /* NC_STORE_RETIRE_H */
