/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_ITEM_H
#define NC_STORE_ITEM_H

/*
 * A cached item: header, then the key bytes, then the value bytes, in one slab chunk.
 *
 * Ownership: only the owning shard's worker writes an item, except the hint fields that any
 * reader may set with a relaxed store (`ref`, `fetched`, `touch`) and the meta win-token bit
 * (ITEM_META_WIN_SENT in `meta`), which readers set with an atomic fetch-or. Once an item is
 * linked (published in the index) its key, value, flags, cas, flush_seq and stale bit never
 * change; exptime changes only through touch, with a relaxed atomic store. Replacing a value
 * always links a new item and retires the old one, so a reader that found an item may copy from
 * it until its next RCU quiescent state.
 *
 * The header is 56 bytes, as memcached's with CAS (48 + 8): what an item costs beyond its key
 * and value decides how many small items a megabyte holds.
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
	ITEM_CHUNK,	/* a later chunk of a chained item's value: lives and dies with its head */
};

/*
 * Meta-command bits (item.meta). ITEM_META_STALE is set by the owner before the item is
 * linked and never changes afterwards (invalidating an item links a stale copy).
 * ITEM_META_WIN_SENT is set once, by whichever reader claims the recache token first
 * (atomic fetch-or, store_hit_claim_win()), or by the owner before linking a vivified item.
 */
#define ITEM_META_STALE	   (1u << 0) /* memcached ITEM_STALE: md I / ms I marked it stale */
#define ITEM_META_WIN_SENT (1u << 1) /* memcached ITEM_TOKEN_SENT: a W was handed out */
#define ITEM_META_CHAINED  (1u << 2) /* the value continues in ITEM_CHUNK chunks (set once) */
/*
 * The value is compressed (set once, by the owner before linking; see shard_compress.c): its
 * stored bytes (nbytes of them, chained or not) are ITEM_ZIP_HDR bytes holding the client's
 * value length (uint32_t, host order: item memory never leaves the process), then LZF data.
 */
#define ITEM_META_COMPRESSED (1u << 3)
/** Bytes in front of a compressed value's LZF data: its original length. */
#define ITEM_ZIP_HDR 4

/*
 * Layout: the fields only the owner uses come first, then everything a reader touches, in one
 * run up to the end of the value, so a reader needs the lines from ITEM_READER_OFFSET on.
 *
 * The owner's links share their bytes: an item is in the TTL wheel only while linked, and on a
 * free or retirement list only after it left the wheel (ttl_wheel_remove() before retirement),
 * so `next` overlays the wheel's links. A later chunk of a chained value is never in the wheel.
 *
 * `touch` is the only time an item keeps: set when the item is linked (its store time) and by
 * every reader that returns it, in 1/16 s ticks. Its second (item_atime()) is memcached's
 * it->time: the last access, and what flush_all compares (memcached's rule: an item last used at
 * or before the flush time is gone). A reader sets it from the same clock reading it checked the
 * flush against, so no access can carry an item past a flush it did not see. Ticks are 32 bits:
 * 8.5 years of uptime.
 */
struct item {
	/* Owner only. */
	union {
		struct tw_node tw; /* LINKED with an exptime: TTL wheel links */
		struct {
			/* free list / retirement list link; ITEM_CHUNK: the next chunk */
			struct item *next;
			struct item *head; /* ITEM_CHUNK: the item it belongs to */
		};
	};
	uint8_t clsid; /* slab class; set before linking and unchanged until reclaimed, so a
			* reader that found the item may read it too (store_hit_class()) */
	uint8_t state; /* enum item_state */
	/* Read by readers. */
	uint16_t flush_seq;    /* shard's flush count when linked, low 16 bits (flush_all) */
	uint32_t touch;	       /* store or last access in clock ticks (1/16 s); relaxed */
	uint64_t cas;	       /* set when linked: unique, or the client's (meta E) */
	nc_reltime_t exptime;  /* 0 = never; relaxed atomic (touch) */
	uint32_t client_flags; /* opaque 32-bit client flags */
	uint32_t nbytes;       /* value length */
	uint8_t nkey;	       /* key length */
	uint8_t ref;	       /* CLOCK reference bit: readers set 1, the sweep clears */
	uint8_t fetched;       /* set once by the first reader that returns it */
	uint8_t meta;	       /* ITEM_META_* bits */
	char data[];	       /* key, then value */
};

/*
 * Chained items (values larger than the largest slab class, which is half a page): the head is
 * an item of the largest class holding the header, the key, a struct item_chain and the first
 * part of the value; the rest follows in ITEM_CHUNK chunks (full ones of the largest class, the
 * last of the class that fits it), linked through `next`, each with its byte count in `nbytes`
 * and its head in `head`. Once the head is linked, none of this changes until it is reclaimed,
 * so readers follow the chain (item_seg_*) under the same RCU rule as any item.
 */
struct item_chain {
	struct item *first; /* first ITEM_CHUNK */
	uint32_t first_len; /* value bytes in the head */
	uint32_t pad;
};

/** Offset of the first field a reader reads. */
#define ITEM_READER_OFFSET offsetof(struct item, flush_seq)

_Static_assert(sizeof(struct item) == 56, "struct item grew");
_Static_assert(offsetof(struct item, next) == offsetof(struct item, tw.next) &&
		       offsetof(struct item, head) + sizeof(struct item *) <=
			       offsetof(struct item, tw.where),
	       "the list links must not overlay tw.where (tw_node_linked() reads it)");

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

/** The 8 (4) bytes at @p p, any alignment. */
static inline uint64_t
item_load8(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t
item_load4(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/**
 * True when the item's key equals key[0..len). Compares 8 bytes at a time, the last 8 of the
 * key overlapping what came before (4 and 4 for 4 to 7 bytes; shorter ones byte by byte), and
 * reads no byte outside either key: memcached keys are short, and a libc memcmp call costs
 * more than the comparison.
 */
static inline bool
item_key_equals(const struct item *it, const void *key, size_t len)
{
	const char *a = it->data;
	const char *b = key;

	if (it->nkey != len)
		return false;
	if (len >= 8) {
		for (; len > 8; len -= 8, a += 8, b += 8)
			if (item_load8(a) != item_load8(b))
				return false;
		return item_load8(a + len - 8) == item_load8(b + len - 8);
	}
	if (len >= 4)
		return item_load4(a) == item_load4(b) &&
		       item_load4(a + len - 4) == item_load4(b + len - 4);
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/** Whether the value continues in chunks (any thread). */
static inline bool
item_is_chained(const struct item *it)
{
	return (__atomic_load_n(&it->meta, __ATOMIC_RELAXED) & ITEM_META_CHAINED) != 0;
}

/** Whether the value is stored compressed (any thread). */
static inline bool
item_is_compressed(const struct item *it)
{
	return (__atomic_load_n(&it->meta, __ATOMIC_RELAXED) & ITEM_META_COMPRESSED) != 0;
}

/** One contiguous piece of a value, and where the next one is. */
struct item_seg {
	char *data;
	uint32_t len;
	struct item *next; /* next chunk, or NULL */
};

/** The first piece of @p it's value (all of it unless chained). Any thread. */
static inline void
item_seg_first(const struct item *it, struct item_seg *sg)
{
	struct item_chain ch;

	if (!item_is_chained(it)) {
		sg->data = (char *)(uintptr_t)(it->data + it->nkey);
		sg->len = it->nbytes;
		sg->next = NULL;
		return;
	}
	memcpy(&ch, it->data + it->nkey, sizeof(ch));
	sg->data = (char *)(uintptr_t)(it->data + it->nkey + sizeof(ch));
	sg->len = ch.first_len;
	sg->next = ch.first;
}

/** Step to the next piece. @return false after the last. Any thread. */
static inline bool
item_seg_next(struct item_seg *sg)
{
	struct item *c = sg->next;

	if (c == NULL)
		return false;
	sg->data = c->data;
	sg->len = c->nbytes;
	sg->next = c->next;
	return true;
}

/** Copy @p len bytes of @p it's value from offset @p off to @p dst. Any thread. */
static inline void
item_value_read(const struct item *it, uint32_t off, void *dst, uint32_t len)
{
	struct item_seg sg;
	char *d = dst;

	item_seg_first(it, &sg);
	do {
		uint32_t n;

		if (off >= sg.len) {
			off -= sg.len;
			continue;
		}
		n = sg.len - off < len ? sg.len - off : len;
		memcpy(d, sg.data + off, n);
		d += n;
		len -= n;
		off = 0;
	} while (len > 0 && item_seg_next(&sg));
}

/**
 * The value's length as the client wrote it: nbytes, or for a compressed item the length in
 * its ITEM_ZIP_HDR prefix. Any thread (under the RCU rule of item memory).
 */
static inline uint32_t
item_value_len(const struct item *it)
{
	uint32_t n;

	if (!item_is_compressed(it))
		return it->nbytes;
	item_value_read(it, 0, &n, sizeof(n));
	return n;
}

/** Writes a value into an item's pieces from the start (owner, before the item is linked). */
struct item_writer {
	struct item_seg sg;
	uint32_t used; /* bytes written into sg */
};

/** Start writing @p it's value at offset 0. */
static inline void
item_writer_init(struct item_writer *w, struct item *it)
{
	item_seg_first(it, &w->sg);
	w->used = 0;
}

/** The room left in the current piece, moving to the next piece when it is full (0: end). */
static inline uint32_t
item_writer_room(struct item_writer *w, char **at)
{
	while (w->used == w->sg.len) {
		if (!item_seg_next(&w->sg))
			return 0;
		w->used = 0;
	}
	*at = w->sg.data + w->used;
	return w->sg.len - w->used;
}

/** Append @p len bytes (no more than the value's length in all). */
static inline void
item_writer_put(struct item_writer *w, const void *src, uint32_t len)
{
	const char *s = src;

	while (len > 0) {
		char *at;
		uint32_t n = item_writer_room(w, &at);

		if (n == 0)
			return;
		if (n > len)
			n = len;
		memcpy(at, s, n);
		w->used += n;
		s += n;
		len -= n;
	}
}

/** Append all of @p src's value. */
static inline void
item_writer_put_value(struct item_writer *w, const struct item *src)
{
	struct item_seg sg;

	item_seg_first(src, &sg);
	do
		item_writer_put(w, sg.data, sg.len);
	while (item_seg_next(&sg));
}

/** Current exptime. Any thread. */
static inline nc_reltime_t
item_exptime(const struct item *it)
{
	return __atomic_load_n(&it->exptime, __ATOMIC_RELAXED);
}

/** Second of the item's store or last access (memcached's it->time). Any thread. */
static inline nc_reltime_t
item_atime(const struct item *it)
{
	return __atomic_load_n(&it->touch, __ATOMIC_RELAXED) / NC_CLOCK_TICKS_PER_SEC;
}

/**
 * Record an access from any thread: set the CLOCK bit, the fetched bit and the access time
 * @p ticks (nc_clock_ticks(), read before the caller checked the item against flush_all: see
 * struct item; never moved back), each with a relaxed store and only when it changes, so hot
 * items dirty the cache line at most 16 times a second. Races with the owner's sweep are benign (a lost hint
 * costs one second chance).
 */
static inline void
item_mark_used(struct item *it, uint32_t ticks)
{
	if (!__atomic_load_n(&it->ref, __ATOMIC_RELAXED))
		__atomic_store_n(&it->ref, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&it->fetched, __ATOMIC_RELAXED))
		__atomic_store_n(&it->fetched, 1, __ATOMIC_RELAXED);
	/*
	 * Only forward: a reader whose clock reading is older than the item's store time (it
	 * read the clock, then the owner flushed and linked this item) must not date the item
	 * back before that flush.
	 */
	if ((int32_t)(ticks - __atomic_load_n(&it->touch, __ATOMIC_RELAXED)) > 0)
		__atomic_store_n(&it->touch, ticks, __ATOMIC_RELAXED);
}

#endif /* NC_STORE_ITEM_H */
