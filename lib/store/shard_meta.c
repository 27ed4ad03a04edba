/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What memcached 1.6's meta commands need from a shard (see the meta section of shard.h):
 * before-access state, the recache token, stale items, explicit cas, md x, vivify and ma.
 *
 * Linked items stay immutable for readers: a change of value, cas or stale bit links a copy
 * (as incr does); only exptime (touch) and the token bit change in place, atomically.
 */
#include <string.h>

#include "store/arith.h"
#include "store/shard_private.h"

/* Set a linked item's exptime (already relative) and move it in the wheel. */
static void
set_exptime_rel(struct store_shard *s, struct item *it, nc_reltime_t rel)
{
	__atomic_store_n(&it->exptime, rel, __ATOMIC_RELAXED);
	if (rel == 0)
		ttl_wheel_remove(&s->wheel, &it->tw);
	else
		ttl_wheel_reschedule(&s->wheel, &it->tw, rel);
}

nc_reltime_t
store_shard_exptime(const struct store_shard *s, int64_t exptime)
{
	return nc_clock_exptime(s->clock, exptime);
}

enum store_status
store_meta_get(const struct store_shard *s, const struct store_key *k, bool bump,
	       struct store_hit *hit)
{
	uint32_t ticks = nc_clock_ticks(s->clock);
	nc_reltime_t now = nc_clock_tick_second(ticks);
	struct item *it = index_lookup(&s->index, k);
	enum store_status st = item_classify(s, it, k, now, true);

	if (bump)
		hit_fill(hit, it, st, ticks);
	else
		hit_fill_peek(hit, it, st);
	return st;
}

bool
store_hit_claim_win(const struct store_hit *hit)
{
	/* The item is linked or retired, never freed, during the caller's read section. */
	struct item *it = (struct item *)hit->it;
	uint8_t old;

	/* Relaxed is enough: the read-modify-write alone decides the one winner. */
	old = __atomic_fetch_or(&it->meta, (uint8_t)ITEM_META_WIN_SENT, __ATOMIC_RELAXED);
	return (old & ITEM_META_WIN_SENT) == 0;
}

enum store_status
store_meta_gat(struct store_shard *s, const struct store_key *k, int64_t exptime, bool bump,
	       struct store_hit *hit)
{
	uint32_t ticks = nc_clock_ticks(s->clock);
	nc_reltime_t now = nc_clock_tick_second(ticks);
	struct item *it = index_lookup(&s->index, k);
	enum store_status st = item_classify(s, it, k, now, true);

	if (st == STORE_EXPIRED || st == STORE_FLUSHED)
		shard_item_reclaim_dead(s, it);
	else if (st == STORE_HIT)
		set_exptime_rel(s, it, nc_clock_exptime(s->clock, exptime));
	if (bump)
		hit_fill(hit, it, st, ticks);
	else
		hit_fill_peek(hit, it, st);
	return st;
}

enum store_status
store_meta_vivify(struct store_shard *s, const struct store_key *k, int64_t exptime, uint64_t cas,
		  struct store_hit *hit)
{
	enum store_status st;
	struct item *cur;
	struct item *it =
		shard_item_alloc_rel(s, k, 0, nc_clock_exptime(s->clock, exptime), 0, &st);

	if (it == NULL)
		return st;
	/* The token goes with the item: whoever vivifies is the one to fill it. */
	it->meta |= ITEM_META_WIN_SENT;
	/* After the allocation, which may have evicted what the index held. */
	shard_lookup_owner(s, k, &cur);
	st = shard_item_link_cas(s, it, k, cur, true, cas);
	if (st != STORE_STORED)
		return st;
	hit_fill_peek(hit, it, STORE_HIT);
	/* memcached bumps the new item after answering: a later h sees it fetched. */
	item_mark_used(it, nc_clock_ticks(s->clock));
	return STORE_STORED;
}

/* The CAS-mode decision of an ms: stored (possibly as stale), or why not. */
static enum store_status
commit_cas(struct item *it, const struct item *live, const struct store_put_opts *o)
{
	uint8_t live_meta;

	if (live == NULL)
		return STORE_NOT_FOUND;
	if (live->cas == o->cas_in)
		return STORE_STORED;
	if (!o->stale_if_older || o->cas_in >= live->cas)
		return STORE_EXISTS;
	/*
	 * memcached: an older cas with I stores the value as stale, keeping the exptime and a
	 * token already handed out. (A reader claiming the old item's token after this load is
	 * not carried over; that race only risks a second W.)
	 */
	live_meta = __atomic_load_n(&live->meta, __ATOMIC_RELAXED);
	it->exptime = item_exptime(live);
	it->meta |= ITEM_META_STALE | (live_meta & ITEM_META_WIN_SENT);
	return STORE_STORED;
}

enum store_status
store_item_commit_meta(struct store_shard *s, struct item *it, const struct store_key *k,
		       enum store_mode mode, const struct store_put_opts *o, uint64_t *cas_out)
{
	static const struct store_put_opts none;
	struct item *cur;
	struct item *live;
	enum store_status st = STORE_STORED;

	if (o == NULL)
		o = &none;
	/* As store_item_commit(): a staged value is sized now unless it is to be joined. */
	if (shard_item_staged(s, it) && mode != STORE_MODE_APPEND && mode != STORE_MODE_PREPEND) {
		it = shard_zip_finish(s, it, k, &st);
		if (it == NULL)
			return st;
	}
	live = shard_lookup_owner(s, k, &cur);
	switch (mode) {
	case STORE_MODE_SET:
		break;
	case STORE_MODE_ADD:
		if (live != NULL) {
			item_mark_used(live, nc_clock_ticks(s->clock));
			st = STORE_NOT_STORED;
		}
		break;
	case STORE_MODE_REPLACE:
		if (live == NULL)
			st = STORE_NOT_STORED;
		break;
	case STORE_MODE_CAS:
		st = commit_cas(it, live, o);
		break;
	case STORE_MODE_APPEND:
	case STORE_MODE_PREPEND:
		if (live == NULL) {
			st = STORE_NOT_STORED;
			break;
		}
		if (o->cas_in != 0 && o->cas_in != live->cas) {
			st = STORE_EXISTS;
			break;
		}
		it = shard_item_concat(s, live, it, k, mode == STORE_MODE_APPEND, &st);
		if (it == NULL)
			return st;
		/* The allocation may have evicted live: link against the index as it is now. */
		cur = index_lookup(&s->index, k);
		break;
	default:
		st = STORE_NOT_STORED;
		break;
	}
	if (st != STORE_STORED) {
		store_item_abandon(s, it);
		return st;
	}
	st = shard_item_link_cas(s, it, k, cur, true, o->explicit_cas);
	if (st == STORE_STORED && cas_out != NULL)
		*cas_out = it->cas;
	return st;
}

enum store_status
store_meta_invalidate(struct store_shard *s, const struct store_key *k,
		      const struct store_invalidate_opts *o, uint64_t *cas_out)
{
	struct item *cur;
	struct item *live = shard_lookup_owner(s, k, &cur);
	struct item *it;
	enum store_status st;
	nc_reltime_t exptime;
	uint32_t nbytes, flags, touch;

	if (live == NULL)
		return STORE_NOT_FOUND;
	if (o->cas_in != 0 && o->cas_in != live->cas)
		return STORE_EXISTS;
	if (o->set_exptime)
		exptime = nc_clock_exptime(s->clock, o->exptime);
	else
		exptime = o->clear_value ? 0 : item_exptime(live);
	nbytes = o->clear_value ? 0 : live->nbytes;
	flags = o->clear_value ? o->client_flags : live->client_flags;
	it = shard_item_alloc_rel(s, k, flags, exptime, nbytes, &st);
	if (it == NULL)
		return st;
	/* live may have been evicted by the allocation: it is retired, still readable. */
	if (nbytes > 0) {
		struct item_writer w;

		item_writer_init(&w, it);
		item_writer_put_value(&w, live);
	}
	/* memcached marks the same item: its access history stays. */
	if (!o->clear_value)
		it->fetched = __atomic_load_n(&live->fetched, __ATOMIC_RELAXED);
	touch = __atomic_load_n(&live->touch, __ATOMIC_RELAXED);
	/* I clears the token, so the next reader of the stale item wins the recache. */
	it->meta = (it->meta & ITEM_META_CHAINED) | (o->stale ? ITEM_META_STALE : 0);
	/* The stored bytes were copied as they are: compressed ones stay compressed. */
	if (nbytes > 0)
		it->meta |= __atomic_load_n(&live->meta, __ATOMIC_RELAXED) & ITEM_META_COMPRESSED;
	st = shard_item_link_cas(s, it, k, index_lookup(&s->index, k), o->clear_value,
				 o->explicit_cas);
	if (st != STORE_STORED)
		return st;
	/*
	 * Linking stamped the store time; put live's last access back. live passed every flush
	 * so far, so the copy does too, and nothing flushes between here and the link (owner).
	 */
	if (!o->clear_value)
		__atomic_store_n(&it->touch, touch, __ATOMIC_RELAXED);
	if (cas_out != NULL)
		*cas_out = it->cas;
	return STORE_DELETED;
}

enum store_status
store_meta_arith(struct store_shard *s, const struct store_key *k, bool incr, uint64_t delta,
		 const struct store_arith_opts *o, struct store_arith_result *out)
{
	char digits[STORE_ARITH_DIGITS_MAX];
	struct item *cur;
	struct item *live = shard_lookup_owner(s, k, &cur);
	struct item *it;
	enum store_status st;
	nc_reltime_t exptime;
	uint64_t value;
	uint32_t ndigits, len, flags;
	bool created = live == NULL;
	bool in_place;

	if (live == NULL) {
		if (!o->vivify)
			return STORE_NOT_FOUND;
		value = o->initial;
		flags = 0;
		exptime = nc_clock_exptime(s->clock, o->vivify_exptime);
	} else {
		/* memcached compares the cas before looking at the value. */
		if (o->cas_in != 0 && o->cas_in != live->cas)
			return STORE_EXISTS;
		st = shard_item_number(s, live, &value);
		if (st != STORE_OK)
			return st;
		value = store_arith_apply(value, incr, delta);
		flags = live->client_flags;
		exptime = item_exptime(live);
	}
	if (o->set_exptime)
		exptime = nc_clock_exptime(s->clock, o->exptime);
	ndigits = store_arith_format(value, digits);
	/*
	 * As store_arith(): a result no longer than the old value is padded with spaces and is
	 * not a new item for total_items (memcached rewrites it in place).
	 */
	in_place = !created && ndigits <= item_value_len(live);
	len = in_place ? item_value_len(live) : ndigits;
	it = shard_item_number_alloc(s, k, flags, exptime, digits, ndigits, len, &st);
	if (it == NULL)
		return st;
	st = shard_item_link_cas(s, it, k, index_lookup(&s->index, k), !in_place, o->explicit_cas);
	if (st != STORE_STORED)
		return st;
	out->value = value;
	out->cas = it->cas;
	out->exptime = exptime;
	return created ? STORE_STORED : STORE_OK;
}

void
store_hit_item_size(const struct store_hit *hit, uint32_t *clsid, uint32_t *total)
{
	*clsid = hit->it->clsid;
	*total = (uint32_t)item_total_size(hit->it->nkey, hit->it->nbytes);
}
