/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_TTL_WHEEL_H
#define NC_STORE_TTL_WHEEL_H

/*
 * Hierarchical timing wheel at 1-second resolution, used by a cache shard to remove expired
 * items proactively instead of waiting for a lookup to trip over them.
 *
 * Four levels of 64 slots each: level 0 has 1 s slots (64 s in all), level 1 has 64 s slots,
 * level 2 has 4096 s slots and level 3 has 262144 s slots (2^24 s, about 194 days in all).
 * A node is kept at the lowest level whose slot still separates its expiry from the wheel's
 * current time; when time reaches the start of a higher-level slot, that slot's nodes are
 * placed again by their exact expiry (cascading), so nothing ever fires early. Expiries beyond
 * level 3's horizon wait on an overflow list that is re-examined only when time reaches the
 * 2^24-second block of its earliest entry. Nodes whose expiry is already reached wait on a
 * FIFO "due" list that advance drains within its budget.
 *
 * Each level has a 64-bit occupancy bitmap, so advancing over empty stretches costs
 * O(levels) per occupied slot met, never O(seconds): a jump of ten years in one call does
 * work proportional to the number of scheduled nodes, and none at all on an empty wheel.
 *
 * Threads: everything here belongs to the wheel's owner thread (the shard owner); nothing is
 * thread-safe and nothing takes a lock.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

/** Bits of expiry time resolved by one level. */
#define TW_LEVEL_BITS 6
/** Slots per level. */
#define TW_SLOTS (1u << TW_LEVEL_BITS)
/** Levels in the wheel; expiries 2^(TW_LEVELS * TW_LEVEL_BITS) s or more ahead overflow. */
#define TW_LEVELS 4

/**
 * Intrusive wheel node, embedded in the scheduled object (a cache item). Initialise it with
 * tw_node_init() before first use. @c expire is the scheduled expiry (read-only for users
 * while linked). @c next, @c prev and @c where are private to the wheel: @c where records which
 * list the node is on (a slot, the due list or the overflow list) so that removal is O(1) and
 * keeps the occupancy bitmaps exact, and TW_WHERE_NONE when it is on none. While a node is not
 * linked, its owner may use @c next and @c prev for anything (a cache item keeps its free-list
 * links there): only @c where tells whether the node is linked.
 */
/** `where` of a node that is not linked in any wheel. */
#define TW_WHERE_NONE UINT32_MAX

struct tw_node {
	struct tw_node *next;
	struct tw_node *prev;
	nc_reltime_t expire;
	uint32_t where;
};

/**
 * The wheel. Defined here so it can be embedded (no allocation), but its fields are private.
 * The list heads are sentinels pointing at themselves, so a wheel must not be copied or moved
 * after ttl_wheel_init().
 */
struct ttl_wheel {
	nc_reltime_t now;	      /* work for times <= now done; leftovers on due */
	uint32_t count;		      /* nodes linked anywhere in the wheel */
	nc_reltime_t overflow_min;    /* <= every overflow expiry; UINT32_MAX if none */
	uint64_t events;	      /* occupied slot starts and overflow scans
	                                                  reached: work done, not seconds (stats, tests) */
	uint64_t occupied[TW_LEVELS]; /* bit s of level l: slot s non-empty */
	struct tw_node due;	      /* FIFO of nodes whose expiry has passed */
	struct tw_node overflow;      /* expiries beyond level 3's horizon */
	struct tw_node slot[TW_LEVELS * TW_SLOTS]; /* level l, slot s at l * TW_SLOTS + s */
};

/** Expiry callback for ttl_wheel_advance(); see there for what it may do. */
typedef void (*ttl_wheel_expire_fn)(struct tw_node *n, void *arg);

/**
 * Prepare @p n for use: it becomes unlinked. Call once before the node is first inserted; it
 * is not needed again after removal or expiry. Owner thread only; not thread-safe.
 */
static inline void
tw_node_init(struct tw_node *n)
{
	n->next = NULL;
	n->prev = NULL;
	n->expire = 0;
	n->where = TW_WHERE_NONE;
}

/**
 * Returns true while @p n is scheduled in a wheel (including waiting on its due list), false
 * after tw_node_init(), ttl_wheel_remove() or expiry (the node is unlinked before the expiry
 * callback sees it). Owner thread only; not thread-safe.
 */
static inline bool
tw_node_linked(const struct tw_node *n)
{
	return n->where != TW_WHERE_NONE;
}

/**
 * Initialise @p w as an empty wheel whose current time is @p now. Any previous contents are
 * forgotten (their nodes are not touched). Owner thread only; not thread-safe.
 */
void ttl_wheel_init(struct ttl_wheel *w, nc_reltime_t now);

/**
 * Schedule @p n, which must not be linked, to fire at @p expire (> 0). If @p expire is at or
 * before the wheel's current time the node goes on the due list and fires at the next
 * ttl_wheel_advance() that has budget left, in insertion order after nodes already due. O(1).
 * Owner thread only; not thread-safe.
 */
void ttl_wheel_insert(struct ttl_wheel *w, struct tw_node *n, nc_reltime_t expire);

/**
 * Unschedule @p n if it is linked in @p w; no-op if it is not linked. Afterwards
 * tw_node_linked(n) is false. O(1). Owner thread only; not thread-safe.
 */
void ttl_wheel_remove(struct ttl_wheel *w, struct tw_node *n);

/**
 * Move @p n (linked in @p w or not) to the new expiry @p expire (> 0): the same as
 * ttl_wheel_remove() followed by ttl_wheel_insert(). O(1). Owner thread only; not thread-safe.
 */
void ttl_wheel_reschedule(struct ttl_wheel *w, struct tw_node *n, nc_reltime_t expire);

/**
 * Out-of-line part of ttl_wheel_advance(); call that instead. Owner thread only.
 */
unsigned ttl_wheel_advance_slow(struct ttl_wheel *w, nc_reltime_t now, unsigned budget,
				ttl_wheel_expire_fn fn, void *arg);

/**
 * Advance the wheel's time to @p now and call @p fn for nodes whose expiry is at or before
 * @p now, at most @p budget times. Returns the number of nodes expired (calls made).
 *
 * A node never fires before its expiry; it fires exactly once, unless removed first. When the
 * call returns less than @p budget, every node with expiry <= @p now has fired. Nodes left
 * over because the budget ran out fire in later calls, before anything later, oldest expiry
 * first (nodes inserted already due fire in insertion order). When the budget runs out the
 * wheel's time may stay behind @p now; later calls catch up. Time never moves backwards: with
 * @p now older than the wheel's time the call only drains the due list within the budget. The
 * work done is proportional to the nodes met, not to the seconds skipped (the wheel jumps from
 * one occupied slot to the next), and a call with the same @p now and nothing due, the common
 * case, returns 0 after two inline comparisons.
 *
 * Each node is unlinked (and no longer counted) before @p fn sees it, so @p fn may free it or
 * insert it again. @p fn may also insert, remove and reschedule any other node of this wheel
 * (a node it makes due fires within this same call if the budget allows). @p fn must not call
 * ttl_wheel_advance() or ttl_wheel_init() on this wheel.
 *
 * Owner thread only; not thread-safe.
 */
static inline unsigned
ttl_wheel_advance(struct ttl_wheel *w, nc_reltime_t now, unsigned budget, ttl_wheel_expire_fn fn,
		  void *arg)
{
	if (now <= w->now && w->due.next == &w->due)
		return 0;
	return ttl_wheel_advance_slow(w, now, budget, fn, arg);
}

/** Returns the number of nodes scheduled (including due ones). Owner thread only. */
static inline uint32_t
ttl_wheel_count(const struct ttl_wheel *w)
{
	return w->count;
}

/** Returns the wheel's current time. Owner thread only. */
static inline nc_reltime_t
ttl_wheel_now(const struct ttl_wheel *w)
{
	return w->now;
}

#endif /* NC_STORE_TTL_WHEEL_H */
