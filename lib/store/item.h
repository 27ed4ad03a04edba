/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_ITEM_H
#define NC_STORE_ITEM_H

/*
 * A cached item: header, then the key bytes, then the value bytes, in one slab chunk.
 *
 * Ownership: only the owning shard's worker writes an item, except the hint fields that any
 * reader may set with a relaxed store (`ref`, `fetched`, `atime`) and the meta win-token bit
 * (ITEM_META_WIN_SENT in `meta`), which readers set with an atomic fetch-or. Once an item is
 * linked (published in the index) its key, value, flags, cas, stime, flush_seq and stale bit
 * never change; exptime changes only through touch, with a relaxed atomic store. Replacing a
 * value always links a new item and retires the old one, so a reader that found an item may
 * copy from it until its next RCU quiescent state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/clock.h"
#include "store/ttl_wheel.h"

/** Longest key, as memcached. */
#define STORE_KEY_MAX 250

/** Chunk lifecycle; owner-only field. */
enum item_state {
	ITEM_FREE = 0,	/* on its class's free list */
	ITEM_ALLOCATED, /* handed out by alloc, not linked yet */
	ITEM_LINKED,	/* in the index: visible to readers */
	ITEM_RETIRED,	/* unlinked, waiting for an RCU grace period */
};

/*
 * Meta-command bits (item.meta). ITEM_META_STALE is set by the owner before the item is
 * linked and never changes afterwards (invalidating an item links a stale copy).
 * ITEM_META_WIN_SENT is set once, by whichever reader claims the recache token first
 * (atomic fetch-or, store_hit_claim_win()), or by the owner before linking a vivified item.
 */
#define ITEM_META_STALE	   (1u << 0) /* memcached ITEM_STALE: md I / ms I marked it stale */
#define ITEM_META_WIN_SENT (1u << 1) /* memcached ITEM_TOKEN_SENT: a W was handed out */

/*
 * Layout: the fields only the owner uses come first, then everything a reader touches, in one
 * run up to the end of the value, so a reader needs the lines from ITEM_READER_OFFSET on.
 */
struct item {
	/* Owner only. */
	struct tw_node tw; /* TTL wheel links (only while linked with an exptime) */
	struct item *next; /* free list / retirement list link */
	int32_t hash_pos;  /* index key slot to free at reclamation, or -1 */
	uint8_t clsid;	   /* slab class */
	uint8_t state;	   /* enum item_state */
	/* Read by readers. */
	uint16_t flush_seq;    /* shard's flush count when linked, low 16 bits (flush_all) */
	uint64_t cas;	       /* set when linked: unique, or the client's (meta E) */
	nc_reltime_t exptime;  /* 0 = never; relaxed atomic (touch) */
	nc_reltime_t stime;    /* relative time it was stored (flush_all) */
	nc_reltime_t atime;    /* last access; relaxed atomic hint set by readers */
	uint32_t client_flags; /* opaque 32-bit client flags */
	uint32_t nbytes;       /* value length */
	uint8_t nkey;	       /* key length */
	uint8_t ref;	       /* CLOCK reference bit: readers set 1, the sweep clears */
	uint8_t fetched;       /* set once by the first reader that returns it */
	uint8_t meta;	       /* ITEM_META_* bits */
	char data[];	       /* key, then value */
};

/** Offset of the first field a reader reads. */
#define ITEM_READER_OFFSET offsetof(struct item, flush_seq)

/* The header stays 72 bytes: meta and flush_seq fill what was padding. */
_Static_assert(sizeof(struct item) == 72, "struct item grew");

/** Key bytes (not NUL-terminated). */
static inline const char *
item_key(const struct item *it)
{
	return it->data;
}

/** Value bytes. */
static inline char *
item_value(struct item *it)
{
	return it->data + it->nkey;
}

/** Value bytes, read-only. */
static inline const char *
item_value_const(const struct item *it)
{
	return it->data + it->nkey;
}

/** Bytes an item with this key and value length occupies (header included). */
static inline size_t
item_total_size(size_t nkey, size_t nbytes)
{
	return sizeof(struct item) + nkey + nbytes;
}

/**
 * True when the item's key equals key[0..len). Compares 8 bytes at a time: memcached keys are
 * short, and a libc memcmp call costs more than the comparison.
 */
static inline bool
item_key_equals(const struct item *it, const void *key, size_t len)
{
	const char *a = it->data;
	const char *b = key;
	uint64_t x, y;

	if (it->nkey != len)
		return false;
	for (; len >= 8; len -= 8, a += 8, b += 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
	}
	return len == 0 || memcmp(a, b, len) == 0;
}

/** Current exptime. Any thread. */
static inline nc_reltime_t
item_exptime(const struct item *it)
{
	return __atomic_load_n(&it->exptime, __ATOMIC_RELAXED);
}

/**
 * Record an access from any thread: set the CLOCK bit, the fetched bit and the access time,
 * each with a relaxed store and only when it changes, so hot items do not keep dirtying the
 * cache line. Races with the owner's sweep are benign (a lost hint costs one second chance).
 */
static inline void
item_mark_used(struct item *it, nc_reltime_t now)
{
	if (!__atomic_load_n(&it->ref, __ATOMIC_RELAXED))
		__atomic_store_n(&it->ref, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&it->fetched, __ATOMIC_RELAXED))
		__atomic_store_n(&it->fetched, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&it->atime, __ATOMIC_RELAXED) != now)
		__atomic_store_n(&it->atime, now, __ATOMIC_RELAXED);
}

#endif /* NC_STORE_ITEM_H */
