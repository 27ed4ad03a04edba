/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_SLAB_H
#define NC_STORE_SLAB_H

/*
 * Slab memory for one shard: an arena taken from DPDK memory (hugepages when EAL has them) at
 * setup, cut into pages, each page given to one size class and cut into equal chunks. The
 * arena size is the memory limit (-m), so item memory can never exceed it.
 *
 * Size classes grow by a factor (-f) from the header plus a minimum chunk (-n) up to the
 * largest chunk: the largest item (-I), or half a page when -I is larger (items above that are
 * chained over several chunks, as memcached's slab_chunk_max; see item.h). Pages are 1 MiB, or
 * the largest item rounded up to a power of two when -I is larger.
 *
 * When a class needs memory and no page is free, the caller evicts within the class (CLOCK:
 * slab_clock_victim), or moves a page from another class (slab_reassign_start): from the class
 * whose least recently used items are oldest when the class would otherwise evict items used
 * in the last second, or from the class holding most pages when the class has no page to evict
 * from, or from a class with at least half a page of free chunks to spare (its emptiest page).
 * Memory given back by eviction or a page move is usable only after an RCU grace period;
 * the shard's retirement code returns it through slab_free().
 *
 * Threads: everything here is owner-only (the shard's worker), not thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/item.h"

/** Most size classes, as memcached. */
#define SLAB_CLASS_MAX 63
/** Default page size. */
#define SLAB_PAGE_SIZE_DEFAULT (1u << 20)
/** slab_class_for(): the item is larger than the largest chunk and must be chained. */
#define SLAB_CHAINED (-1000)
/** "No page" in page lists. */
#define SLAB_PAGE_NONE UINT32_MAX

struct slab_params {
	const char *name;     /* for the DPDK allocation; need not be unique */
	int socket_id;	      /* NUMA socket for rte_malloc_socket, or SOCKET_ID_ANY */
	size_t mem_limit;     /* bytes of item memory (-m) */
	size_t item_size_max; /* largest item including its header (-I) */
	uint32_t chunk_min;   /* -n: the smallest chunk is slab_first_chunk_size() of it */
	double factor;	      /* growth factor between classes (-f), > 1 */
	/*
	 * memcached lets a class that holds no page take one beyond -m, so -m counts every page
	 * but each class's first. With first_page_shares = n > 0 this slab keeps 1/n of that
	 * allowance (one page for every n classes, rounded up; n = the shards sharing -m);
	 * 0 keeps -m a hard limit.
	 */
	unsigned first_page_shares;
};

struct slab_class {
	uint32_t size;	   /* chunk size in bytes */
	uint32_t per_page; /* chunks per page */
	struct item *free; /* free chunks, linked through item.next */
	uint32_t nfree;
	uint32_t npages;	    /* pages owned (not counting draining ones) */
	uint32_t incoming;	    /* pages draining toward this class */
	bool past_limit;	    /* took its first page past the limit (slab_params) */
	uint32_t nempty;	    /* owned pages with no chunk in use */
	bool all_recent_valid;	    /* a long sweep found only recent items ... */
	uint32_t all_recent_tick;   /* ... at this clock tick (the store's, not the slab's) */
	uint32_t recent_oldest;	    /* ... the oldest touch it saw: recent evictions take those */
	uint32_t nretired;	    /* chunks retired, waiting for a grace period */
	uint64_t allocs;	    /* chunks handed out, ever */
	uint32_t first_page;	    /* head of the class's page list */
	uint32_t hand_page;	    /* CLOCK hand: page ... */
	uint32_t hand_chunk;	    /* ... and chunk within it */
	uint64_t evicted;	    /* live items evicted to make room */
	uint64_t evicted_unfetched; /* ... that no reader had returned */
	uint64_t reclaimed;	    /* expired or flushed items whose memory was taken back */
	uint64_t expired_unfetched; /* ... that no reader had returned */
	uint64_t pages_moved_in;    /* pages received from other classes */
	uint64_t evicted_nonzero;   /* evicted items that had an exptime */
	uint64_t evicted_active;    /* evicted items a reader had marked used since the last sweep */
	uint64_t outofmemory;	    /* allocations the class could not serve at once */
	uint64_t mem_requested;	    /* bytes of the linked items whose head is here (header incl.) */
	uint32_t evicted_time;	    /* seconds since the last access of the latest evicted item */
	/*
	 * Second of the last access of slab_class_coldest() (what eviction takes first), as the
	 * shard's owner last looked (once a second); 0: no linked item near the hand. Written by
	 * the owner, read relaxed by stats (`stats items` age).
	 */
	uint32_t tail_atime;
};

struct slab_page {
	uint32_t next; /* class page list, or free-page list */
	uint32_t prev;
	uint32_t used;		 /* chunks handed out and not back (while in a class) */
	uint32_t drained;	 /* chunks returned while draining */
	uint64_t allocs_at_move; /* its class's allocs when it started moving there */
	uint8_t moved;		 /* it has moved at least once */
	uint8_t clsid;
	uint8_t draining; /* leaving clsid for dest */
	uint8_t dest;
};

struct slab {
	uint8_t *arena;
	uint32_t page_shift;
	size_t page_size;
	uint32_t npages;     /* pages the memory limit holds */
	uint32_t npages_arena; /* npages + the first-page allowance (slab_params) */
	uint32_t ncarved;    /* pages handed to classes at least once (a prefix of the arena) */
	uint32_t free_pages; /* pages back from classes (list through slab_page.next) */
	uint32_t nfree_pages;
	uint32_t npages_draining;
	unsigned nclasses;
	size_t item_size_max;
	size_t chunk_max; /* the largest class's chunk size */
	struct slab_page *pages;
	struct slab_class cls[SLAB_CLASS_MAX];
};

/**
 * Set up the classes and take the arena from DPDK memory. EAL must be initialised.
 * @return 0; -EINVAL for bad parameters (limit smaller than one page, factor <= 1, largest
 *         item smaller than the smallest class); -ENOMEM when DPDK memory is short.
 */
int slab_init(struct slab *s, const struct slab_params *p);

/**
 * [any] Pages of the first-page allowance (slab_params.first_page_shares) for @p nclasses
 * classes shared by @p shares shards: one per class, split between the shards, rounded up.
 */
static inline uint32_t
slab_first_pages(unsigned nclasses, unsigned shares)
{
	return shares ? (nclasses + shares - 1) / shares : 0;
}

/**
 * [any] The classes a slab with parameters @p p has (its mem_limit is not looked at); for
 * sizing memory before any slab exists.
 * @return the count; -EINVAL for parameters slab_init() refuses; -ENOMEM.
 */
int slab_class_count(const struct slab_params *p);

/**
 * Size of the smallest chunk for -n @p chunk_min (0 = memcached's default 48): memcached's,
 * its 48-byte item header plus -n, 8-aligned, so -n and -f give memcached's classes (96, 120,
 * 152, ... by default). memcached's CAS takes 8 of those -n bytes where ours is in our 56-byte
 * header, so the chunks hold the same items. Never below a header and one key byte.
 */
size_t slab_first_chunk_size(uint32_t chunk_min);

/** Give the arena back. Safe on a zeroed or already deinitialised slab. */
void slab_deinit(struct slab *s);

/**
 * Smallest class whose chunks hold @p total bytes (header included).
 * @return class id; SLAB_CHAINED when larger than the largest chunk but not than the largest
 *         item; -E2BIG when larger than the largest item.
 */
int slab_class_for(const struct slab *s, size_t total);

/**
 * Take a chunk of class @p clsid: from the free list, else a never-used or returned page.
 * The chunk's state is ITEM_ALLOCATED and its clsid set.
 * @return the chunk, or NULL when the class has nothing free and no page is left.
 */
struct item *slab_alloc(struct slab *s, unsigned clsid);

/**
 * Return a chunk (allocated but never linked, or retired and past its grace period). If its
 * page is draining, the chunk counts toward the page move instead of the free list.
 */
void slab_free(struct slab *s, struct item *it);

/** What slab_clock_victim() may do with a linked item. */
enum slab_verdict {
	SLAB_DEAD,  /* expired or flushed: taken at once, whatever its reference bit */
	SLAB_SPARE, /* used very recently: passed over, its reference bit kept */
	SLAB_LIVE,  /* live: second chance if referenced, else taken */
};

/** Judges a linked item for slab_clock_victim(). */
typedef enum slab_verdict (*slab_judge_fn)(const struct item *it, void *arg);

/**
 * CLOCK sweep over the class's pages: return the first linked item that @p judge calls dead,
 * or that it calls live and that is unreferenced, clearing the reference bit of the live ones
 * it passes (spared ones keep theirs). Each chunk visited takes one from *budget; the sweep
 * stops when it reaches 0. The hand stays after the returned item. The caller must unlink and
 * retire it.
 * @return an eviction candidate, or NULL.
 */
struct item *slab_clock_victim(struct slab *s, unsigned clsid, unsigned *budget, slab_judge_fn judge,
			       void *arg);

/**
 * The item the class's CLOCK hand reaches next: the first linked chunk within 64 chunks of the
 * hand, which (stores taking the chunks the hand freed) is about the class's oldest item.
 * @return that item, or NULL when the class has no page or none near the hand is linked.
 */
const struct item *slab_class_tail(const struct slab *s, unsigned clsid);

/**
 * The coldest item near the class's CLOCK hand: of the linked items within 64 chunks past
 * the hand, the one read or stored longest ago (item_atime()). The hand passes over items
 * read since its last turn, so this, not the first of them, is what eviction would take
 * first. @return that item, or NULL when the class has no page or none near the hand is
 * linked.
 */
const struct item *slab_class_coldest(const struct slab *s, unsigned clsid);

/** Called by slab_reassign_start() for every linked item on the page being moved. */
typedef void (*slab_evict_fn)(struct item *it, void *arg);

/** "Any class" for slab_reassign_start(): the one holding most pages that may give one. */
#define SLAB_CLASS_ANY UINT32_MAX

/**
 * Start moving a page to class @p dest from class @p src, or with SLAB_CLASS_ANY from the
 * class holding most pages: a page from the source's CLOCK hand on (its oldest items), the
 * first of a few holding no item @p judge (if not NULL) spares, leaves its class at once, its free chunks are taken off the free list, @p evict is called for its
 * linked items (the caller relocates them to free chunks of the class or unlinks and retires
 * them), and once every chunk has come back through slab_free() the page joins @p dest. A page
 * holding @p pinned (an allocated item the caller has not linked yet) is never chosen, and
 * neither is the only page of a class that has not allocated from it since it moved there (so
 * classes that outnumber the pages cannot pass pages round without ever using them).
 * @return 0 when a move started (memory arrives after a grace period); -ENOSPC when the class
 *         (or, with SLAB_CLASS_ANY, every class) cannot give a page now.
 */
int slab_reassign_start(struct slab *s, unsigned dest, unsigned src, const struct item *pinned,
			slab_judge_fn judge, slab_evict_fn evict, void *arg);

/**
 * Like slab_reassign_start() from class @p src, but the page moved is the one of @p src with
 * the fewest chunks in use (a class with free chunks to spare gives the page that costs least),
 * skipping pages with a chained item @p judge spares (chained items are not moved, see the
 * evict callback).
 * @return 0 when a move started; -ENOSPC when @p src cannot give a page now.
 */
int slab_reassign_emptiest(struct slab *s, unsigned dest, unsigned src, const struct item *pinned,
			   slab_judge_fn judge, slab_evict_fn evict, void *arg);

/** May class @p clsid give a page now (see slab_reassign_start())? */
bool slab_class_can_give(const struct slab *s, unsigned clsid);

/** Bytes of pages in use by classes (including pages being moved). Never above the limit. */
static inline size_t
slab_mem_used(const struct slab *s)
{
	return (size_t)(s->ncarved - s->nfree_pages) * s->page_size;
}

/** The memory limit rounded down to whole pages, in bytes (the arena is this plus the
 *  first-page allowance, slab_arena_bytes()). */
static inline size_t
slab_mem_limit(const struct slab *s)
{
	return (size_t)s->npages * s->page_size;
}

/** Bytes of the arena: the memory limit's pages and the first-page allowance. */
static inline size_t
slab_arena_bytes(const struct slab *s)
{
	return (size_t)s->npages_arena * s->page_size;
}

/** Chunk @p idx of page @p page for chunks of @p size bytes. */
static inline struct item *
slab_chunk(const struct slab *s, uint32_t page, uint32_t idx, uint32_t size)
{
	return (struct item *)(void *)(s->arena + ((size_t)page << s->page_shift) +
				       (size_t)idx * size);
}

/** Page index of a chunk. */
static inline uint32_t
slab_page_of(const struct slab *s, const struct item *it)
{
	return (uint32_t)(((const uint8_t *)it - s->arena) >> s->page_shift);
}

#endif /* NC_STORE_SLAB_H */
