/* SPDX-License-Identifier: BSD-3-Clause */
/* The storage commands (owner). */
#include <string.h>

#include "store/arith.h"
#include "store/shard_private.h"

/*
 * The append/prepend result through zip.flat, as clients see the values (either part may be
 * compressed, or the result big enough to compress): read both parts whole, store the join by
 * the rule of a store (shard_compress.c).
 */
static struct item *
concat_flat(struct store_shard *s, const struct item *old, const struct item *it,
	    const struct store_key *k, bool append, uint64_t total, enum store_status *st)
{
	const struct item *first = append ? old : it;
	const struct item *second = append ? it : old;
	uint32_t n1 = item_value_len(first);
	int clsid = slab_class_for(&s->slab, item_total_size(k->len, total));
	char *flat;

	/* Too large as the client sees it, whatever it would compress to (-I). */
	if (total > UINT32_MAX || (clsid < 0 && clsid != SLAB_CHAINED)) {
		*st = STORE_TOO_LARGE;
		return NULL;
	}
	flat = shard_zip_flat(s, total);
	if (flat == NULL) {
		*st = STORE_NO_MEMORY;
		return NULL;
	}
	if (shard_item_read_raw(s, first, flat) < 0 || shard_item_read_raw(s, second, flat + n1) < 0) {
		*st = STORE_NO_MEMORY;
		return NULL;
	}
	return shard_item_from_flat(s, k, old->client_flags, item_exptime(old), flat,
				    (uint32_t)total, st);
}

/* Build the append/prepend result of old and it; consumes it. NULL with *st on failure. */
struct item *
shard_item_concat(struct store_shard *s, const struct item *old, struct item *it,
		  const struct store_key *k, bool append, enum store_status *st)
{
	uint64_t total = (uint64_t)item_value_len(old) + item_value_len(it);
	struct item *joined = NULL;

	if (item_is_compressed(old) || item_is_compressed(it) || shard_zip_wants(s, total)) {
		joined = concat_flat(s, old, it, k, append, total, st);
		store_item_abandon(s, it);
		return joined;
	}
	if (total <= UINT32_MAX)
		joined = shard_item_alloc_rel(s, k, old->client_flags, item_exptime(old),
					      (uint32_t)total, st);
	else
		*st = STORE_TOO_LARGE;
	if (joined != NULL) {
		const struct item *first = append ? old : it;
		const struct item *second = append ? it : old;

		struct item_writer w;

		/* old may have been evicted by the allocation: it is retired, still readable. */
		item_writer_init(&w, joined);
		item_writer_put_value(&w, first);
		item_writer_put_value(&w, second);
	}
	store_item_abandon(s, it);
	return joined;
}

enum store_status
store_item_commit(struct store_shard *s, struct item *it, const struct store_key *k,
		  enum store_mode mode, uint64_t cas_in, uint64_t *cas_out)
{
	struct item *cur;
	struct item *live;
	enum store_status st = STORE_STORED;

	/* A staged value (compression) is joined as it is by append/prepend, else sized now. */
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
			/* memcached bumps the existing item on a failed add. */
			item_mark_used(live, nc_clock_ticks(s->clock));
			st = STORE_NOT_STORED;
		}
		break;
	case STORE_MODE_REPLACE:
		if (live == NULL)
			st = STORE_NOT_STORED;
		break;
	case STORE_MODE_CAS:
		if (live == NULL)
			st = STORE_NOT_FOUND;
		else if (live->cas != cas_in)
			st = STORE_EXISTS;
		break;
	case STORE_MODE_APPEND:
	case STORE_MODE_PREPEND:
		if (live == NULL) {
			st = STORE_NOT_STORED;
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
	st = shard_item_link(s, it, k, cur, true);
	if (st == STORE_STORED && cas_out != NULL)
		*cas_out = it->cas;
	return st;
}

int
store_shard_found_class(const struct store_shard *s)
{
	return s->found_clsid;
}

void
store_alloc_failed(struct store_shard *s, const struct store_key *k, enum store_mode mode,
		   enum store_status st)
{
	struct item *cur;
	struct item *live;

	/* memcached: stale data must not outlive a set that could not be stored. */
	if (mode != STORE_MODE_SET || st != STORE_TOO_LARGE)
		return;
	live = shard_lookup_owner(s, k, &cur);
	if (live != NULL)
		shard_item_unlink(s, live);
}

enum store_status
store_put(struct store_shard *s, const struct store_key *k, enum store_mode mode, const void *value,
	  uint32_t nbytes, uint32_t client_flags, int64_t exptime, uint64_t cas_in,
	  uint64_t *cas_out)
{
	enum store_status st;
	struct item *it = store_item_alloc(s, k, client_flags, exptime, nbytes, &st);

	if (it == NULL) {
		store_alloc_failed(s, k, mode, st);
		return st;
	}
	{
		struct item_writer w;

		item_writer_init(&w, it);
		item_writer_put(&w, value, nbytes);
	}
	return store_item_commit(s, it, k, mode, cas_in, cas_out);
}

enum store_status
store_delete(struct store_shard *s, const struct store_key *k, uint64_t cas_in)
{
	struct item *cur;
	struct item *live = shard_lookup_owner(s, k, &cur);

	if (live == NULL)
		return STORE_NOT_FOUND;
	if (cas_in != 0 && live->cas != cas_in)
		return STORE_EXISTS;
	shard_item_unlink(s, live);
	return STORE_DELETED;
}

/* Set a live item's exptime and move it in the wheel. */
static void
item_set_exptime(struct store_shard *s, struct item *it, int64_t exptime)
{
	nc_reltime_t rel = nc_clock_exptime(s->clock, exptime);

	__atomic_store_n(&it->exptime, rel, __ATOMIC_RELAXED);
	if (rel == 0)
		ttl_wheel_remove(&s->wheel, &it->tw);
	else
		ttl_wheel_reschedule(&s->wheel, &it->tw, rel);
}

enum store_status
store_touch(struct store_shard *s, const struct store_key *k, int64_t exptime)
{
	struct item *cur;
	struct item *live = shard_lookup_owner(s, k, &cur);

	if (live == NULL)
		return STORE_NOT_FOUND;
	item_set_exptime(s, live, exptime);
	item_mark_used(live, nc_clock_ticks(s->clock));
	return STORE_TOUCHED;
}

enum store_status
store_gat(struct store_shard *s, const struct store_key *k, int64_t exptime, struct store_hit *hit)
{
	uint32_t ticks = nc_clock_ticks(s->clock);
	nc_reltime_t now = nc_clock_tick_second(ticks);
	struct item *it = index_lookup(&s->index, k);
	enum store_status st = item_classify(s, it, k, now, true);

	if (st == STORE_EXPIRED || st == STORE_FLUSHED)
		shard_item_reclaim_dead(s, it);
	else if (st == STORE_HIT)
		item_set_exptime(s, it, exptime);
	hit_fill(hit, it, st, ticks);
	return st;
}

enum store_status
store_arith(struct store_shard *s, const struct store_key *k, bool incr, uint64_t delta,
	    uint64_t *value_out, uint64_t *cas_out)
{
	char digits[STORE_ARITH_DIGITS_MAX];
	struct item *cur;
	struct item *live = shard_lookup_owner(s, k, &cur);
	struct item *it;
	enum store_status st;
	uint64_t value;
	uint32_t ndigits, len, old_len;
	bool in_place;

	if (live == NULL)
		return STORE_NOT_FOUND;
	st = shard_item_number(s, live, &value);
	if (st != STORE_OK)
		return st;
	value = store_arith_apply(value, incr, delta);
	ndigits = store_arith_format(value, digits);
	/*
	 * memcached rewrites in place, padding with spaces, when the number got no longer (and
	 * then it is not a new item for total_items); we link a copy instead, because readers
	 * may be copying the old value right now.
	 */
	old_len = item_value_len(live);
	in_place = ndigits <= old_len;
	len = in_place ? old_len : ndigits;
	it = shard_item_number_alloc(s, k, live->client_flags, item_exptime(live), digits, ndigits,
				     len, &st);
	if (it == NULL)
		return st;
	st = shard_item_link(s, it, k, index_lookup(&s->index, k), !in_place);
	if (st != STORE_STORED)
		return st;
	if (value_out != NULL)
		*value_out = value;
	if (cas_out != NULL)
		*cas_out = it->cas;
	return STORE_OK;
}

enum store_status
shard_item_number(struct store_shard *s, const struct item *it, uint64_t *value)
{
	char *flat;

	if (item_is_compressed(it)) {
		/* A number padded far past the compression minimum: read it whole. */
		flat = shard_zip_flat(s, item_value_len(it));
		if (flat == NULL)
			return STORE_NO_MEMORY;
		if (shard_item_read_raw(s, it, flat) < 0)
			return STORE_NON_NUMERIC;
		return store_arith_parse(flat, item_value_len(it), value) ? STORE_OK
									   : STORE_NON_NUMERIC;
	}
	if (item_is_chained(it) || !store_arith_parse(item_value_const(it), it->nbytes, value))
		return STORE_NON_NUMERIC;
	return STORE_OK;
}

struct item *
shard_item_number_alloc(struct store_shard *s, const struct store_key *k, uint32_t client_flags,
			nc_reltime_t exptime, const char *digits, uint32_t ndigits, uint32_t len,
			enum store_status *st)
{
	struct item *it;

	if (shard_zip_wants(s, len)) {
		char *flat = shard_zip_flat(s, len);

		if (flat == NULL) {
			*st = STORE_NO_MEMORY;
			return NULL;
		}
		memcpy(flat, digits, ndigits);
		memset(flat + ndigits, ' ', len - ndigits);
		return shard_item_from_flat(s, k, client_flags, exptime, flat, len, st);
	}
	it = shard_item_alloc_rel(s, k, client_flags, exptime, len, st);
	if (it == NULL)
		return NULL;
	s->inflight = it;
	{
		static const char spaces[64] = {[0 ... 63] = ' '};
		struct item_writer w;
		uint32_t left = len - ndigits;

		item_writer_init(&w, it);
		item_writer_put(&w, digits, ndigits);
		for (; left > 0; left -= left < sizeof(spaces) ? left : sizeof(spaces))
			item_writer_put(&w, spaces, left < sizeof(spaces) ? left : sizeof(spaces));
	}
	return it;
}

void
store_flush(struct store_shard *s, int64_t delay)
{
	nc_reltime_t now = nc_clock_now(s->clock);
	nc_reltime_t at = delay > 0 ? nc_clock_exptime(s->clock, delay) : now;
	nc_reltime_t oldest = at - 1;

	/*
	 * As memcached: items stored at or before `oldest` are invalid once it is reached. For a
	 * flush in force at once, items stored earlier in this same second are told apart from
	 * later ones by the flush count they were linked under (memcached compares cas values,
	 * which meta E lets a client choose).
	 */
	if (oldest <= now) {
		__atomic_store_n(&s->flush_seq, s->flush_seq + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&s->flush_sec, now, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->oldest_live, oldest, __ATOMIC_RELAXED);
}
