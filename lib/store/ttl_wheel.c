/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/ttl_wheel.h"

#include <assert.h>

/*
 * Placement rule. With t the wheel's time and e > t a node's expiry, the node lives at the
 * level of the highest 6-bit digit in which e and t differ, in the slot given by e's digit at
 * that level; if they differ above level 3's digits it is on the overflow list. Because e > t,
 * e's digit there is greater than t's, so a node is never in the slot of t's own digit, and
 * the start of its slot (e with the lower digits cleared) is later than t. The rule keeps
 * holding while t moves forward short of that start, so time may jump straight to the
 * earliest occupied slot start (an "event"), found from the bitmaps: the lowest level with a
 * slot above t's digit comes first, because every node of a lower level expires before the
 * next slot of a higher level begins. At an event the slots of t's digits are emptied and
 * their nodes placed again against the new t: by their exact expiry, so into lower levels or,
 * at level 0 (slot start == expiry), onto the due list. Re-placed nodes never land in a slot
 * of t's digits again, so one pass per event suffices.
 */

#define TW_MASK (TW_SLOTS - 1)
/* Expiry bits covered by the levels; higher bits differing from now's mean overflow. */
#define TW_SPAN_BITS (TW_LEVELS * TW_LEVEL_BITS)

/* `where` of nodes on the due and overflow lists and of list heads (TW_WHERE_NONE: unlinked). */
#define TW_WHERE_DUE	  (TW_LEVELS * TW_SLOTS)
#define TW_WHERE_OVERFLOW (TW_WHERE_DUE + 1)
#define TW_WHERE_HEAD	  (TW_WHERE_DUE + 2)

static inline void
tw_head_init(struct tw_node *head)
{
	head->next = head;
	head->prev = head;
	head->expire = 0;
	head->where = TW_WHERE_HEAD;
}

static inline bool
tw_list_empty(const struct tw_node *head)
{
	return head->next == head;
}

static inline void
tw_list_append(struct tw_node *head, struct tw_node *n, uint32_t where)
{
	n->next = head;
	n->prev = head->prev;
	head->prev->next = n;
	head->prev = n;
	n->where = where;
}

/* Unlink n from whatever list holds it; leaves n unlinked but does not fix counts or bitmaps. */
static inline void
tw_list_unlink(struct tw_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = NULL;
	n->prev = NULL;
	n->where = TW_WHERE_NONE;
}

/* Put the already-counted, unlinked node n where the placement rule says for the current time. */
static void
tw_place(struct ttl_wheel *w, struct tw_node *n)
{
	nc_reltime_t e = n->expire;
	uint32_t diff, level, slot, where;

	if (e <= w->now) {
		tw_list_append(&w->due, n, TW_WHERE_DUE);
		return;
	}
	diff = e ^ w->now;
	if (diff >> TW_SPAN_BITS) {
		tw_list_append(&w->overflow, n, TW_WHERE_OVERFLOW);
		if (e < w->overflow_min)
			w->overflow_min = e;
		return;
	}
	level = (uint32_t)(31 - __builtin_clz(diff)) / TW_LEVEL_BITS;
	slot = (e >> (level * TW_LEVEL_BITS)) & TW_MASK;
	where = level * TW_SLOTS + slot;
	tw_list_append(&w->slot[where], n, where);
	w->occupied[level] |= UINT64_C(1) << slot;
}

void
ttl_wheel_init(struct ttl_wheel *w, nc_reltime_t now)
{
	unsigned i;

	w->now = now;
	w->count = 0;
	w->overflow_min = UINT32_MAX;
	w->events = 0;
	for (i = 0; i < TW_LEVELS; i++)
		w->occupied[i] = 0;
	tw_head_init(&w->due);
	tw_head_init(&w->overflow);
	for (i = 0; i < TW_LEVELS * TW_SLOTS; i++)
		tw_head_init(&w->slot[i]);
}

void
ttl_wheel_insert(struct ttl_wheel *w, struct tw_node *n, nc_reltime_t expire)
{
	assert(!tw_node_linked(n));
	assert(expire > 0);
	n->expire = expire;
	w->count++;
	tw_place(w, n);
}

void
ttl_wheel_remove(struct ttl_wheel *w, struct tw_node *n)
{
	uint32_t where = n->where;

	if (!tw_node_linked(n))
		return;
	assert(where < TW_WHERE_HEAD);
	tw_list_unlink(n);
	w->count--;
	if (where < TW_WHERE_DUE) {
		if (tw_list_empty(&w->slot[where]))
			w->occupied[where / TW_SLOTS] &= ~(UINT64_C(1) << (where % TW_SLOTS));
	} else if (where == TW_WHERE_OVERFLOW) {
		if (tw_list_empty(&w->overflow))
			w->overflow_min = UINT32_MAX;
		/* Otherwise overflow_min may now be too low; that only costs one early re-scan. */
	}
}

void
ttl_wheel_reschedule(struct ttl_wheel *w, struct tw_node *n, nc_reltime_t expire)
{
	ttl_wheel_remove(w, n);
	ttl_wheel_insert(w, n, expire);
}

/*
 * Earliest time after w->now at which the wheel has work (see the placement rule); false if
 * the wheel holds nothing but possibly due nodes.
 */
static bool
tw_next_event(const struct ttl_wheel *w, nc_reltime_t *at)
{
	unsigned level, shift, digit;
	uint64_t later;
	nc_reltime_t base;

	for (level = 0; level < TW_LEVELS; level++) {
		if (w->occupied[level] == 0)
			continue;
		shift = level * TW_LEVEL_BITS;
		digit = (w->now >> shift) & TW_MASK;
		later = w->occupied[level] & ((~UINT64_C(0) << digit) << 1);
		/* No slot at or before the current digit is ever occupied between events. */
		assert(later == w->occupied[level]);
		base = w->now & ~((UINT32_C(1) << (shift + TW_LEVEL_BITS)) - 1);
		*at = base | ((nc_reltime_t)__builtin_ctzll(later) << shift);
		return true;
	}
	if (tw_list_empty(&w->overflow))
		return false;
	/* The start of the 2^24 s block holding the earliest overflow expiry. */
	assert((w->overflow_min >> TW_SPAN_BITS) > (w->now >> TW_SPAN_BITS));
	*at = w->overflow_min & ~((UINT32_C(1) << TW_SPAN_BITS) - 1);
	return true;
}

/* Empty a slot list and place each of its nodes again against the current time. */
static void
tw_cascade(struct ttl_wheel *w, unsigned level, unsigned digit)
{
	struct tw_node *head = &w->slot[level * TW_SLOTS + digit];
	struct tw_node *n, *next;

	w->occupied[level] &= ~(UINT64_C(1) << digit);
	n = head->next;
	head->prev->next = NULL;
	head->next = head;
	head->prev = head;
	for (; n != NULL; n = next) {
		next = n->next;
		tw_place(w, n);
	}
}

/* Time has reached the block of the earliest overflow expiry: bring the block's nodes in. */
static void
tw_overflow_scan(struct ttl_wheel *w)
{
	struct tw_node *head = &w->overflow;
	struct tw_node *n, *next;
	nc_reltime_t block = w->now >> TW_SPAN_BITS;
	nc_reltime_t min = UINT32_MAX;

	for (n = head->next; n != head; n = next) {
		next = n->next;
		if ((n->expire >> TW_SPAN_BITS) == block) {
			tw_list_unlink(n);
			tw_place(w, n);
		} else {
			assert((n->expire >> TW_SPAN_BITS) > block);
			if (n->expire < min)
				min = n->expire;
		}
	}
	w->overflow_min = min;
}

/* w->now has just become an event time: do all the work due at it. */
static void
tw_process(struct ttl_wheel *w)
{
	nc_reltime_t t = w->now;
	unsigned level, digit;

	w->events++;
	if (!tw_list_empty(&w->overflow) &&
	    (t >> TW_SPAN_BITS) >= (w->overflow_min >> TW_SPAN_BITS))
		tw_overflow_scan(w);
	for (level = TW_LEVELS; level-- > 0;) {
		digit = (t >> (level * TW_LEVEL_BITS)) & TW_MASK;
		if (w->occupied[level] & (UINT64_C(1) << digit))
			tw_cascade(w, level, digit);
	}
}

unsigned
ttl_wheel_advance_slow(struct ttl_wheel *w, nc_reltime_t now, unsigned budget,
		       ttl_wheel_expire_fn fn, void *arg)
{
	struct tw_node *n;
	nc_reltime_t at;
	unsigned fired = 0;

	for (;;) {
		/* Re-read the head each time: fn may have removed or added due nodes. */
		while (fired < budget && !tw_list_empty(&w->due)) {
			n = w->due.next;
			tw_list_unlink(n);
			w->count--;
			fired++;
			fn(n, arg);
		}
		if (!tw_list_empty(&w->due) || now <= w->now)
			break;
		if (!tw_next_event(w, &at) || at > now) {
			w->now = now;
			break;
		}
		if (fired >= budget) {
			/* Nothing happens before at, so time may go that far without firing. */
			w->now = at - 1;
			break;
		}
		w->now = at;
		tw_process(w);
	}
	return fired;
}
