/* SPDX-License-Identifier: BSD-3-Clause */
/* One table of the index: a bucketized cuckoo hash of tagged item pointers (index_table.h). */
#include "store/index_table.h"

#include <errno.h>
#include <sys/mman.h>

#include <rte_eal.h>
#include <rte_malloc.h>

/* Most buckets a search for a free slot visits: paths of up to three moves. */
#define PATH_NODES 128

static uint32_t
buckets_for(uint32_t capacity)
{
	uint32_t n = (capacity + ITAB_KEYS_PER_BUCKET - 1) / ITAB_KEYS_PER_BUCKET;

	return n < 2 ? 2 : n;
}

size_t
itab_bytes_for(uint32_t capacity)
{
	return sizeof(struct itab) + (size_t)buckets_for(capacity) * sizeof(struct itab_bucket);
}

struct itab *
itab_create(uint32_t capacity, int socket_id)
{
	size_t bytes = itab_bytes_for(capacity < 8 ? 8 : capacity);
	struct itab *t = NULL;
	bool mapped = false;

	if (rte_eal_has_hugepages())
		t = rte_zmalloc_socket("nc_index", bytes, 64, socket_id);
	if (t == NULL) {
		/* 4 KiB pages, or hugepages short: plain pages, given back when freed. */
		void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			return NULL;
		t = p;
		mapped = true;
	}
	t->nbuckets = buckets_for(capacity < 8 ? 8 : capacity);
	t->capacity = capacity < 8 ? 8 : capacity;
	t->bytes = bytes;
	t->mapped = mapped;
	return t;
}

void
itab_free(struct itab *t)
{
	if (t == NULL)
		return;
	if (t->mapped)
		munmap(t, t->bytes);
	else
		rte_free(t);
}

/* The item of the first slot of bucket @p b with @p tag, or NULL. */
static inline const struct item *
bucket_first_tag(const struct itab_bucket *b, uint64_t tag)
{
	for (unsigned i = 0; i < ITAB_BUCKET_SLOTS; i++) {
		uint64_t s = __atomic_load_n(&b->slot[i], __ATOMIC_ACQUIRE);

		if ((s >> ITAB_PTR_BITS) == tag && (s & ITAB_PTR_MASK) != 0)
			return itab_slot_item(s);
	}
	return NULL;
}

static inline bool
item_has_key(const struct item *it, const struct store_key *k)
{
	return item_key_equals(it, k->key, k->len);
}

uint64_t
itab_lookup_bulk(const struct itab *t, const struct store_key *const keys[], unsigned n,
		 struct item *out[])
{
	uint32_t b1[64], b2[64];
	const struct item *cand[64];
	uint64_t found = 0;
	uint32_t moves;

	/* 1. Every key's first bucket on its way (most entries live in their first bucket). */
	for (unsigned i = 0; i < n; i++) {
		b1[i] = itab_b1(t, &keys[i]->digest);
		rte_prefetch0(&t->bucket[b1[i]]);
	}
	moves = __atomic_load_n(&t->moves, __ATOMIC_ACQUIRE);
	/*
	 * 2. The first entry with the key's tag, and its key's lines on their way; a key with no
	 * such entry in its first bucket gets its second bucket on its way instead.
	 */
	for (unsigned i = 0; i < n; i++) {
		uint64_t tag = itab_tag(&keys[i]->digest);
		const struct item *it = bucket_first_tag(&t->bucket[b1[i]], tag);

		b2[i] = itab_alt(t, b1[i], tag);
		cand[i] = it;
		if (it != NULL) {
			rte_prefetch0(&it->nkey);
			rte_prefetch0(item_key(it) + keys[i]->len - 1);
		} else if (b2[i] != b1[i]) {
			rte_prefetch0(&t->bucket[b2[i]]);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		const struct item *it;

		if (cand[i] != NULL || b2[i] == b1[i])
			continue;
		it = bucket_first_tag(&t->bucket[b2[i]], itab_tag(&keys[i]->digest));
		cand[i] = it;
		if (it != NULL) {
			rte_prefetch0(&it->nkey);
			rte_prefetch0(item_key(it) + keys[i]->len - 1);
		}
	}
	/* 3. Compare keys; a tag shared with another key (1 in 8,000) searches both buckets. */
	for (unsigned i = 0; i < n; i++) {
		const struct item *it = cand[i];

		if (it == NULL)
			continue;
		if (!item_has_key(it, keys[i])) {
			uint64_t tag = itab_tag(&keys[i]->digest);

			it = itab_bucket_find(&t->bucket[b1[i]], tag, keys[i]);
			if (it == NULL && b2[i] != b1[i])
				it = itab_bucket_find(&t->bucket[b2[i]], tag, keys[i]);
			if (it == NULL)
				continue;
		}
		out[i] = (struct item *)(uintptr_t)it;
		found |= UINT64_C(1) << i;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&t->moves, __ATOMIC_RELAXED) != moves) {
		/* Entries moved while we looked: the misses look again, one by one. */
		for (unsigned i = 0; i < n; i++) {
			struct item *it;

			if (found & (UINT64_C(1) << i))
				continue;
			it = itab_lookup(t, keys[i]);
			if (it != NULL) {
				out[i] = it;
				found |= UINT64_C(1) << i;
			}
		}
	}
	return found;
}

/* The slot of @p k's entry in bucket @p b, or -1. */
static int
bucket_slot_of(const struct itab_bucket *b, uint64_t tag, const struct store_key *k)
{
	for (unsigned i = 0; i < ITAB_BUCKET_SLOTS; i++) {
		uint64_t s = b->slot[i];
		const struct item *it = itab_slot_item(s);

		if ((s >> ITAB_PTR_BITS) == tag && it != NULL && item_key_equals(it, k->key, k->len))
			return (int)i;
	}
	return -1;
}

/* A free slot of bucket @p b, or -1. */
static int
bucket_free_slot(const struct itab_bucket *b)
{
	for (unsigned i = 0; i < ITAB_BUCKET_SLOTS; i++)
		if ((b->slot[i] & ITAB_PTR_MASK) == 0)
			return (int)i;
	return -1;
}

static void
slot_store(struct itab *t, uint32_t b, unsigned i, uint64_t v)
{
	__atomic_store_n(&t->bucket[b].slot[i], v, __ATOMIC_RELEASE);
}

/*
 * Move the entry at (from, fi) to the free slot (to, ti): written there first, then the move
 * count, then the old slot cleared, so a reader that saw the old slot empty sees the count
 * changed (see itab_lookup()).
 */
static void
entry_move(struct itab *t, uint32_t from, unsigned fi, uint32_t to, unsigned ti)
{
	slot_store(t, to, ti, t->bucket[from].slot[fi]);
	__atomic_store_n(&t->moves, t->moves + 1, __ATOMIC_RELEASE);
	slot_store(t, from, fi, 0);
}

/* A bucket reached by the search: its entry `slot` of bucket nodes[parent] moves here. */
struct path_node {
	uint32_t bucket;
	int16_t parent; /* -1 for the key's own buckets */
	uint8_t slot;	/* the slot of the parent's bucket whose entry moves here */
};

static bool
path_has(const struct path_node *nodes, unsigned n, uint32_t bucket)
{
	for (unsigned i = 0; i < n; i++)
		if (nodes[i].bucket == bucket)
			return true;
	return false;
}

/*
 * Make a slot free in bucket b1 or b2 by moving entries along a path to a bucket with a free
 * slot, found breadth-first. @return the bucket with the slot freed (b1 or b2) and its slot in
 * *slot_out, or -1 when no path of PATH_NODES buckets exists.
 */
static int64_t
cuckoo_make_room(struct itab *t, uint32_t b1, uint32_t b2, unsigned *slot_out)
{
	struct path_node nodes[PATH_NODES];
	unsigned head = 0, tail = 0;

	nodes[tail++] = (struct path_node){.bucket = b1, .parent = -1};
	if (b2 != b1)
		nodes[tail++] = (struct path_node){.bucket = b2, .parent = -1};
	while (head < tail) {
		unsigned cur = head++;
		uint32_t b = nodes[cur].bucket;

		for (unsigned i = 0; i < ITAB_BUCKET_SLOTS; i++) {
			uint64_t s = t->bucket[b].slot[i];
			uint32_t alt = itab_alt(t, b, s >> ITAB_PTR_BITS);
			int free_slot;
			unsigned at = cur, ai = i;

			if (alt == b)
				continue;
			free_slot = bucket_free_slot(&t->bucket[alt]);
			if (free_slot < 0) {
				/* Each bucket once: a path of distinct buckets moves each entry once. */
				if (tail < PATH_NODES && !path_has(nodes, tail, alt))
					nodes[tail++] = (struct path_node){
						.bucket = alt, .parent = (int16_t)cur, .slot = (uint8_t)i};
				continue;
			}
			/* Found: move entries backwards along the path, each into the freed slot. */
			entry_move(t, b, i, alt, (unsigned)free_slot);
			while (nodes[at].parent >= 0) {
				const struct path_node *n = &nodes[at];
				const struct path_node *p = &nodes[n->parent];

				entry_move(t, p->bucket, n->slot, n->bucket, ai);
				ai = n->slot;
				at = (unsigned)n->parent;
			}
			*slot_out = ai;
			return nodes[at].bucket;
		}
	}
	return -1;
}

/* Store entry @p v in bucket b1 or b2, making room if both are full. */
static int
entry_add(struct itab *t, uint32_t b1, uint32_t b2, uint64_t v)
{
	int64_t b = b1;
	int i;

	if (t->count >= t->capacity)
		return -ENOSPC;
	i = bucket_free_slot(&t->bucket[b1]);
	if (i < 0 && b2 != b1) {
		b = b2;
		i = bucket_free_slot(&t->bucket[b2]);
	}
	if (i < 0) {
		unsigned slot;

		b = cuckoo_make_room(t, b1, b2, &slot);
		if (b < 0)
			return -ENOSPC;
		i = (int)slot;
	}
	slot_store(t, (uint32_t)b, (unsigned)i, v);
	__atomic_store_n(&t->count, t->count + 1, __ATOMIC_RELAXED);
	return 0;
}

int
itab_put(struct itab *t, const struct store_key *k, struct item *it, bool replace)
{
	uint64_t tag = itab_tag(&k->digest);
	uint32_t b1 = itab_b1(t, &k->digest), b2 = itab_alt(t, b1, tag);
	uint64_t v = tag << ITAB_PTR_BITS | (uint64_t)(uintptr_t)it;
	int i;

	if ((uintptr_t)it > ITAB_PTR_MASK || it == NULL)
		return -EINVAL;
	if ((i = bucket_slot_of(&t->bucket[b1], tag, k)) >= 0) {
		if (replace)
			slot_store(t, b1, (unsigned)i, v);
		return 1;
	}
	if (b2 != b1 && (i = bucket_slot_of(&t->bucket[b2], tag, k)) >= 0) {
		if (replace)
			slot_store(t, b2, (unsigned)i, v);
		return 1;
	}
	return entry_add(t, b1, b2, v);
}

int
itab_add_new(struct itab *t, const struct store_key *k, struct item *it)
{
	uint64_t tag = itab_tag(&k->digest);
	uint32_t b1 = itab_b1(t, &k->digest);

	if ((uintptr_t)it > ITAB_PTR_MASK || it == NULL)
		return -EINVAL;
	return entry_add(t, b1, itab_alt(t, b1, tag), tag << ITAB_PTR_BITS | (uintptr_t)it);
}

int
itab_del(struct itab *t, const struct store_key *k)
{
	uint64_t tag = itab_tag(&k->digest);
	uint32_t b1 = itab_b1(t, &k->digest), b2 = itab_alt(t, b1, tag);
	uint32_t b = b1;
	int i = bucket_slot_of(&t->bucket[b1], tag, k);

	if (i < 0 && b2 != b1) {
		b = b2;
		i = bucket_slot_of(&t->bucket[b2], tag, k);
	}
	if (i < 0)
		return -ENOENT;
	slot_store(t, b, (unsigned)i, 0);
	__atomic_store_n(&t->count, t->count - 1, __ATOMIC_RELAXED);
	return 0;
}

struct item *
itab_next(const struct itab *t, uint32_t *pos)
{
	uint64_t total = (uint64_t)t->nbuckets * ITAB_BUCKET_SLOTS;

	for (uint64_t p = *pos; p < total; p++) {
		uint64_t s = t->bucket[p / ITAB_BUCKET_SLOTS].slot[p % ITAB_BUCKET_SLOTS];

		if ((s & ITAB_PTR_MASK) != 0) {
			*pos = (uint32_t)p;
			return itab_slot_item(s);
		}
	}
	*pos = (uint32_t)total;
	return NULL;
}

void
itab_clear(struct itab *t, uint32_t pos)
{
	uint32_t b = pos / ITAB_BUCKET_SLOTS;
	unsigned i = pos % ITAB_BUCKET_SLOTS;

	if ((t->bucket[b].slot[i] & ITAB_PTR_MASK) == 0)
		return;
	slot_store(t, b, i, 0);
	__atomic_store_n(&t->count, t->count - 1, __ATOMIC_RELAXED);
}
