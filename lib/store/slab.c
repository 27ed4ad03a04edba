/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>

/* Chunk sizes are multiples of this, so headers stay aligned. */
#define SLAB_CHUNK_ALIGN 8u

static uint32_t
align_up(size_t v, uint32_t a)
{
	return (uint32_t)((v + a - 1) & ~(size_t)(a - 1));
}

static void
page_list_push(struct slab *s, uint32_t *head, uint32_t p)
{
	struct slab_page *pg = &s->pages[p];

	pg->prev = SLAB_PAGE_NONE;
	pg->next = *head;
	if (*head != SLAB_PAGE_NONE)
		s->pages[*head].prev = p;
	*head = p;
}

/* Put page p before page at in a list whose head is *head. */
static void
page_list_insert_before(struct slab *s, uint32_t *head, uint32_t at, uint32_t p)
{
	struct slab_page *pg = &s->pages[p];
	uint32_t before = s->pages[at].prev;

	pg->next = at;
	pg->prev = before;
	if (before != SLAB_PAGE_NONE)
		s->pages[before].next = p;
	else
		*head = p;
	s->pages[at].prev = p;
}

static void
page_list_unlink(struct slab *s, uint32_t *head, uint32_t p)
{
	struct slab_page *pg = &s->pages[p];

	if (pg->prev != SLAB_PAGE_NONE)
		s->pages[pg->prev].next = pg->next;
	else
		*head = pg->next;
	if (pg->next != SLAB_PAGE_NONE)
		s->pages[pg->next].prev = pg->prev;
	pg->next = pg->prev = SLAB_PAGE_NONE;
}

/* memcached's item header without CAS: its first chunk is this plus -n. */
#define MEMCACHED_ITEM_HEADER 48
/* memcached's -n default. */
#define MEMCACHED_CHUNK_MIN 48

size_t
slab_first_chunk_size(uint32_t chunk_min)
{
	size_t size = MEMCACHED_ITEM_HEADER + (chunk_min != 0 ? chunk_min : MEMCACHED_CHUNK_MIN);

	if (size < sizeof(struct item) + 1)
		size = sizeof(struct item) + 1;
	return align_up(size, SLAB_CHUNK_ALIGN);
}

static int
classes_init(struct slab *s, const struct slab_params *p)
{
	double size = (double)slab_first_chunk_size(p->chunk_min);
	unsigned n = 0;

	if (p->factor <= 1.0 || size > (double)p->item_size_max)
		return -EINVAL;
	s->chunk_max = p->item_size_max > s->page_size / 2 ? s->page_size / 2 : p->item_size_max;
	/*
	 * Grow by the factor while a larger class still fits below the largest chunk: the largest
	 * item, or half a page when items may be larger (they are chained, as memcached's
	 * slab_chunk_max, so a 600 KB item does not take a whole 1 MB page).
	 */
	while (n < SLAB_CLASS_MAX - 1 && size * p->factor <= (double)s->chunk_max) {
		s->cls[n++].size = (uint32_t)size;
		size = align_up((size_t)(size * p->factor), SLAB_CHUNK_ALIGN);
		if (size <= (double)s->cls[n - 1].size)
			size = s->cls[n - 1].size + SLAB_CHUNK_ALIGN;
	}
	/* The last class holds the largest chunk exactly. */
	s->cls[n++].size = (uint32_t)s->chunk_max;
	s->nclasses = n;
	for (unsigned i = 0; i < n; i++) {
		struct slab_class *c = &s->cls[i];

		c->per_page = (uint32_t)(s->page_size / c->size);
		c->first_page = SLAB_PAGE_NONE;
		c->hand_page = SLAB_PAGE_NONE;
	}
	return 0;
}

int
slab_class_count(const struct slab_params *p)
{
	struct slab *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return -ENOMEM;
	s->page_size = SLAB_PAGE_SIZE_DEFAULT;
	s->item_size_max = p->item_size_max;
	rc = classes_init(s, p);
	if (rc == 0)
		rc = (int)s->nclasses;
	free(s);
	return rc;
}

int
slab_init(struct slab *s, const struct slab_params *p)
{
	size_t page_size = SLAB_PAGE_SIZE_DEFAULT;
	int rc;

	memset(s, 0, sizeof(*s));
	/* Items larger than half a page are chained over chunks, whatever -I allows. */
	s->page_size = page_size;
	s->page_shift = (uint32_t)__builtin_ctzll(page_size);
	s->item_size_max = p->item_size_max;
	if (p->mem_limit < page_size || p->item_size_max < sizeof(struct item))
		return -EINVAL;
	if (p->mem_limit / page_size >= SLAB_PAGE_NONE)
		return -EINVAL;
	rc = classes_init(s, p);
	if (rc < 0)
		return rc;
	s->npages = (uint32_t)(p->mem_limit / page_size);
	s->npages_arena = s->npages + slab_first_pages(s->nclasses, p->first_page_shares);
	s->free_pages = SLAB_PAGE_NONE;
	s->pages = rte_zmalloc_socket(p->name, sizeof(*s->pages) * s->npages_arena,
				      RTE_CACHE_LINE_SIZE, p->socket_id);
	s->arena = rte_malloc_socket(p->name, (size_t)s->npages_arena * page_size,
				     RTE_CACHE_LINE_SIZE, p->socket_id);
	if (s->pages == NULL || s->arena == NULL) {
		slab_deinit(s);
		return -ENOMEM;
	}
	return 0;
}

void
slab_deinit(struct slab *s)
{
	rte_free(s->arena);
	rte_free(s->pages);
	s->arena = NULL;
	s->pages = NULL;
	s->npages = 0;
	s->npages_arena = 0;
}

int
slab_class_for(const struct slab *s, size_t total)
{
	unsigned lo = 0, hi = s->nclasses;

	if (total > s->item_size_max)
		return -E2BIG;
	if (total > s->chunk_max)
		return SLAB_CHAINED;
	/* Binary search for the first class whose size is >= total. */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (s->cls[mid].size < total)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nclasses ? (int)lo : -E2BIG;
}

/* Give page p to class clsid and put all its chunks on the free list, lowest address first. */
static void
page_carve(struct slab *s, uint32_t p, unsigned clsid)
{
	struct slab_class *c = &s->cls[clsid];
	struct slab_page *pg = &s->pages[p];

	pg->clsid = (uint8_t)clsid;
	pg->draining = 0;
	pg->drained = 0;
	pg->used = 0;
	/*
	 * Just behind the CLOCK hand, so its items are the last the hand reaches (at the head
	 * of the list the hand would wrap onto the newest page right after the oldest).
	 */
	if (c->hand_page != SLAB_PAGE_NONE)
		page_list_insert_before(s, &c->first_page, c->hand_page, p);
	else
		page_list_push(s, &c->first_page, p);
	c->npages++;
	c->nempty++;
	if (c->hand_page == SLAB_PAGE_NONE) {
		c->hand_page = p;
		c->hand_chunk = 0;
	}
	for (uint32_t i = c->per_page; i-- > 0;) {
		struct item *it = slab_chunk(s, p, i, c->size);

		it->state = ITEM_FREE;
		it->clsid = (uint8_t)clsid;
		it->next = c->free;
		c->free = it;
	}
	c->nfree += c->per_page;
}

/*
 * Take class c's first page past the limit if it may (slab_params.first_page_shares): it
 * holds none, it never took one past the limit, and the allowance is not spent. Marks the
 * class (past_limit) when it does. memcached never
 * moves a class's last page; ours may move, and is then not replaced past the limit, so page
 * moves cannot grow memory.
 */
static bool
first_page_take_past_limit(struct slab *s, struct slab_class *c)
{
	if (c->npages != 0 || c->incoming != 0 || c->past_limit || s->ncarved >= s->npages_arena)
		return false;
	c->past_limit = true;
	return true;
}

struct item *
slab_alloc(struct slab *s, unsigned clsid)
{
	struct slab_class *c = &s->cls[clsid];
	struct item *it;

	if (c->free == NULL) {
		if (s->free_pages != SLAB_PAGE_NONE) {
			uint32_t p = s->free_pages;

			page_list_unlink(s, &s->free_pages, p);
			s->nfree_pages--;
			page_carve(s, p, clsid);
		} else if (s->ncarved < s->npages || first_page_take_past_limit(s, c)) {
			page_carve(s, s->ncarved++, clsid);
		} else {
			return NULL;
		}
	}
	it = c->free;
	c->free = it->next;
	c->nfree--;
	c->allocs++;
	if (s->pages[slab_page_of(s, it)].used++ == 0)
		c->nempty--;
	it->next = NULL;
	it->state = ITEM_ALLOCATED;
	return it;
}

/* Every chunk of a draining page is back: hand the page to its destination class. */
static void
page_drained(struct slab *s, uint32_t p)
{
	struct slab_page *pg = &s->pages[p];
	unsigned dest = pg->dest;

	s->npages_draining--;
	s->cls[dest].incoming--;
	s->cls[dest].pages_moved_in++;
	page_carve(s, p, dest);
}

void
slab_free(struct slab *s, struct item *it)
{
	uint32_t p = slab_page_of(s, it);
	struct slab_page *pg = &s->pages[p];
	struct slab_class *c;

	it->state = ITEM_FREE;
	if (pg->draining) {
		if (++pg->drained == s->cls[pg->clsid].per_page)
			page_drained(s, p);
		return;
	}
	c = &s->cls[it->clsid];
	it->next = c->free;
	c->free = it;
	c->nfree++;
	if (--pg->used == 0)
		c->nempty++;
}

/* Move the CLOCK hand to the next chunk, wrapping to the next page of the class. */
static void
hand_step(struct slab *s, struct slab_class *c)
{
	if (++c->hand_chunk < c->per_page)
		return;
	c->hand_chunk = 0;
	c->hand_page = s->pages[c->hand_page].next;
	if (c->hand_page == SLAB_PAGE_NONE)
		c->hand_page = c->first_page;
}

struct item *
slab_clock_victim(struct slab *s, unsigned clsid, unsigned *budget, slab_judge_fn judge, void *arg)
{
	struct slab_class *c = &s->cls[clsid];

	if (c->hand_page == SLAB_PAGE_NONE)
		return NULL;
	while (*budget > 0) {
		(*budget)--;
		struct item *it = slab_chunk(s, c->hand_page, c->hand_chunk, c->size);

		hand_step(s, c);
		/* A chunk of a chained item stands for its head: evicting that frees the chunk. */
		if (it->state == ITEM_CHUNK)
			it = it->head;
		if (it->state != ITEM_LINKED)
			continue;
		switch (judge(it, arg)) {
		case SLAB_DEAD:
			return it;
		case SLAB_SPARE:
			continue;
		case SLAB_LIVE:
			break;
		}
		if (__atomic_load_n(&it->ref, __ATOMIC_RELAXED)) {
			__atomic_store_n(&it->ref, 0, __ATOMIC_RELAXED);
			continue;
		}
		return it;
	}
	return NULL;
}

/* Pages page_to_move() looks at for one without recent items. */
#define MOVE_LOOK 8u

/* Chunks slab_class_tail() looks at past the hand. */
#define TAIL_LOOK 64u

/*
 * The linked items within TAIL_LOOK chunks past the class's hand: the first of them, or with
 * @p coldest the one with the oldest item_atime(). NULL when there is none.
 */
static const struct item *
hand_scan(const struct slab *s, unsigned clsid, bool coldest)
{
	const struct slab_class *c = &s->cls[clsid];
	const struct item *found = NULL;
	uint32_t page = c->hand_page, idx = c->hand_chunk;

	if (page == SLAB_PAGE_NONE)
		return NULL;
	for (unsigned n = 0; n < TAIL_LOOK; n++) {
		const struct item *it = slab_chunk(s, page, idx, c->size);

		if (it->state == ITEM_CHUNK)
			it = it->head;
		if (it->state == ITEM_LINKED) {
			if (!coldest)
				return it;
			if (found == NULL || item_atime(it) < item_atime(found))
				found = it;
		}
		if (++idx == c->per_page) {
			idx = 0;
			page = s->pages[page].next != SLAB_PAGE_NONE ? s->pages[page].next
								     : c->first_page;
		}
	}
	return found;
}

const struct item *
slab_class_tail(const struct slab *s, unsigned clsid)
{
	return hand_scan(s, clsid, false);
}

const struct item *
slab_class_coldest(const struct slab *s, unsigned clsid)
{
	return hand_scan(s, clsid, true);
}

/*
 * Whether page p holds @p it, or (while a chained item is being allocated) one of its chunks:
 * those cannot leave the page before the item is linked, so the page could not drain.
 */
static bool
page_holds(const struct slab *s, uint32_t p, const struct item *it)
{
	const struct slab_class *c;

	if (it == NULL)
		return false;
	if (slab_page_of(s, it) == p)
		return true;
	if (!(it->meta & ITEM_META_CHAINED) || s->pages[p].used == 0)
		return false;
	c = &s->cls[s->pages[p].clsid];
	for (uint32_t i = 0; i < c->per_page; i++) {
		const struct item *ch = slab_chunk(s, p, i, c->size);

		if (ch->state == ITEM_CHUNK && ch->head == it)
			return true;
	}
	return false;
}

/* Take every free chunk of page p off its class's free list; returns how many. */
static uint32_t
freelist_remove_page(struct slab *s, struct slab_class *c, uint32_t p)
{
	struct item **link = &c->free;
	uint32_t n = 0;

	while (*link != NULL) {
		struct item *it = *link;

		if (slab_page_of(s, it) == p) {
			*link = it->next;
			n++;
		} else {
			link = &it->next;
		}
	}
	c->nfree -= n;
	return n;
}

/* Not its only page if it has not used it since it came. */
bool
slab_class_can_give(const struct slab *s, unsigned i)
{
	const struct slab_class *c = &s->cls[i];
	const struct slab_page *only;

	if (c->npages == 0)
		return false;
	if (c->npages > 1)
		return true;
	only = &s->pages[c->first_page];
	return !only->moved || c->allocs > only->allocs_at_move;
}

static void page_move(struct slab *s, unsigned victim, uint32_t p, unsigned dest,
		      slab_evict_fn evict, void *arg);

/* Next page of class c's list after p, wrapping. */
static uint32_t
page_after(const struct slab *s, const struct slab_class *c, uint32_t p)
{
	return s->pages[p].next != SLAB_PAGE_NONE ? s->pages[p].next : c->first_page;
}

/* Items on page p of class c that @p judge spares (used very recently), up to @p enough. */
static uint32_t
page_spared(const struct slab *s, const struct slab_class *c, uint32_t p, slab_judge_fn judge,
	    void *arg, uint32_t enough)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->per_page && n < enough; i++) {
		const struct item *it = slab_chunk(s, p, i, c->size);

		if (it->state == ITEM_CHUNK)
			it = it->head;
		if (it->state == ITEM_LINKED && judge(it, arg) == SLAB_SPARE)
			n++;
	}
	return n;
}

/* Whether page p of class c holds a chunk of a chained item @p judge spares (it cannot move). */
static bool
page_spared_fixed(const struct slab *s, const struct slab_class *c, uint32_t p,
		  slab_judge_fn judge, void *arg)
{
	for (uint32_t i = 0; i < c->per_page; i++) {
		const struct item *it = slab_chunk(s, p, i, c->size);

		if (it->state == ITEM_CHUNK)
			it = it->head;
		if (it->state == ITEM_LINKED && (it->meta & ITEM_META_CHAINED) &&
		    judge(it, arg) == SLAB_SPARE)
			return true;
	}
	return false;
}

/*
 * The page of class c to move: from the CLOCK hand on (the page after it when the hand is
 * part-way through a page, whose swept chunks new items may already use), the first of up to
 * MOVE_LOOK pages holding no item @p judge spares, else the one holding fewest; never the page
 * holding @p pinned. @return the page, or SLAB_PAGE_NONE.
 */
static uint32_t
page_to_move(const struct slab *s, const struct slab_class *c, const struct item *pinned,
	     slab_judge_fn judge, void *arg)
{
	uint32_t p = c->hand_page, best = SLAB_PAGE_NONE, best_n = UINT32_MAX;

	if (p == SLAB_PAGE_NONE)
		return SLAB_PAGE_NONE;
	if (c->hand_chunk > 0 && c->npages > 1)
		p = page_after(s, c, p);
	for (unsigned look = 0; look < MOVE_LOOK && look < c->npages; look++, p = page_after(s, c, p)) {
		uint32_t n;

		if (page_holds(s, p, pinned))
			continue;
		n = judge != NULL ? page_spared(s, c, p, judge, arg, best_n) : 0;
		if (n < best_n) {
			best = p;
			best_n = n;
		}
		if (n == 0)
			break;
	}
	return best;
}

int
slab_reassign_start(struct slab *s, unsigned dest, unsigned src, const struct item *pinned,
		    slab_judge_fn judge, slab_evict_fn evict, void *arg)
{
	unsigned victim = SLAB_CLASS_MAX;
	struct slab_class *c;
	uint32_t p;

	if (src != SLAB_CLASS_ANY) {
		if (src == dest || src >= s->nclasses || !slab_class_can_give(s, src))
			return -ENOSPC;
		victim = src;
	}
	for (unsigned i = 0; src == SLAB_CLASS_ANY && i < s->nclasses; i++) {
		if (i == dest || !slab_class_can_give(s, i))
			continue;
		if (victim == SLAB_CLASS_MAX || s->cls[i].npages > s->cls[victim].npages)
			victim = i;
	}
	if (victim == SLAB_CLASS_MAX)
		return -ENOSPC;
	c = &s->cls[victim];
	p = page_to_move(s, c, pinned, judge, arg);
	if (p == SLAB_PAGE_NONE)
		return -ENOSPC;
	page_move(s, victim, p, dest, evict, arg);
	return 0;
}

int
slab_reassign_emptiest(struct slab *s, unsigned dest, unsigned src, const struct item *pinned,
		       slab_judge_fn judge, slab_evict_fn evict, void *arg)
{
	uint32_t best = SLAB_PAGE_NONE;

	if (src == dest || src >= s->nclasses || !slab_class_can_give(s, src))
		return -ENOSPC;
	for (uint32_t p = s->cls[src].first_page; p != SLAB_PAGE_NONE; p = s->pages[p].next) {
		if (page_holds(s, p, pinned))
			continue;
		/* A page with an item to spare that cannot move (chained) is not taken. */
		if (judge != NULL && s->pages[p].used > 0 &&
		    page_spared_fixed(s, &s->cls[src], p, judge, arg))
			continue;
		if (best == SLAB_PAGE_NONE || s->pages[p].used < s->pages[best].used)
			best = p;
		if (s->pages[p].used == 0)
			break;
	}
	if (best == SLAB_PAGE_NONE)
		return -ENOSPC;
	page_move(s, src, best, dest, evict, arg);
	return 0;
}

/* Move page p from class victim to dest: see slab_reassign_start(). */
static void
page_move(struct slab *s, unsigned victim, uint32_t p, unsigned dest, slab_evict_fn evict,
	  void *arg)
{
	struct slab_class *c = &s->cls[victim];
	struct slab_page *pg;

	if (c->hand_page == p) {
		c->hand_page =
			s->pages[p].next != SLAB_PAGE_NONE ? s->pages[p].next : c->first_page;
		c->hand_chunk = 0;
	}
	page_list_unlink(s, &c->first_page, p);
	if (s->pages[p].used == 0)
		c->nempty--;
	if (--c->npages == 0)
		c->hand_page = SLAB_PAGE_NONE;
	pg = &s->pages[p];
	pg->draining = 1;
	pg->dest = (uint8_t)dest;
	pg->moved = 1;
	pg->allocs_at_move = s->cls[dest].allocs;
	s->cls[dest].incoming++;
	pg->drained = freelist_remove_page(s, c, p);
	s->npages_draining++;
	for (uint32_t i = 0; i < c->per_page; i++) {
		struct item *it = slab_chunk(s, p, i, c->size);

		/* A chunk of a chained item comes back when its head is reclaimed. */
		if (it->state == ITEM_CHUNK)
			it = it->head;
		if (it->state == ITEM_LINKED)
			evict(it, arg);
	}
	if (pg->drained == c->per_page)
		page_drained(s, p);
}
