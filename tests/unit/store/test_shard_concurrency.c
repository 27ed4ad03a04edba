/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Concurrency stress of one shard: the owner (the main lcore, this test thread) writes at full
 * speed into a small arena (8 MiB), so CLOCK eviction, page moves between size classes, the
 * TTL wheel and RCU retirement run all the time, while readers on the three worker lcores look
 * keys up with store_get() and store_get_bulk() and check every hit before their next
 * quiescent state. EAL runs lcores 0-3 on CPUs 0-1 ("(0-3)@(0-1)"; EAL rejects "0-3@(0-1)").
 *
 * The owner does what a worker loop does: a random mix of set/add/replace (half through
 * store_put, half by filling a store_item_alloc()ed item in place), append, prepend, delete,
 * touch, gat, get and incr; after every OPS_PER_STEP operations rcu_quiescent_state() and
 * store_shard_maintain(s, 64). STORE_NO_MEMORY is answered with that same step and a retry, up
 * to NOMEM_RETRIES times, then the operation is dropped (counted): the owner never waits for a
 * grace period. A fake clock moves one second every OPS_PER_SECOND operations, so short
 * exptimes (and exptime -1) make the TTL wheel remove items while readers read them.
 *
 * What a reader checks on every hit, inside its read-side section:
 *  - the item's key is the requested key (before and after reading the value), the hit's
 *    value/nbytes/flags agree with the item and the key, the item's cas did not change;
 *  - the value is copied out first (what a response writer does), then the value verifies in
 *    place and the copy verifies too, both decoding to the same version;
 *  - per key, the cas never goes backwards; a new cas comes with a strictly newer version and
 *    the same cas with the same version. Sound because there is one writer that stamps every
 *    write with a larger version and (one lease) a larger cas, the index publishes with
 *    release stores and looks up with acquire loads, and an item is never linked again once
 *    replaced, so a later lookup by the same thread can only find the same or a newer item.
 *
 * Value format (self-checking and compositional under append/prepend):
 *  - A value of SEG_MIN bytes or more is a sequence of one or more segments. Each segment is
 *      header { u32 magic, u32 seg_len, u64 key_hash, u64 version }
 *      payload: seg_len - SEG_MIN bytes, 64-bit words splitmix64(key_hash ^ version*K + i)
 *      trailer: u64 checksum over header and payload
 *    (little-endian, unaligned). A set writes one segment with a fresh version; append and
 *    prepend add one more segment with a fresh version, so the concatenation still parses.
 *    The value's version is the largest segment version; the lengths of the segments must sum
 *    to the value length exactly.
 *  - A value shorter than SEG_MIN (0..SEG_MIN-1 bytes; an append would make it ambiguous) is
 *    a "short" value whose bytes derive from (key_hash, length); it carries no version (only
 *    the cas order is checked for it). The owner knows the form of every live value (it is
 *    the only writer) and never appends or prepends to a short one.
 *  - Numeric keys (for incr) hold a decimal N with N % NUM_MOD == key number, so a value of
 *    another key is detected; incr adds NUM_MOD and a re-set after a miss uses a larger N,
 *    so N works as the version.
 *  - client_flags of every item are the low 32 bits of the key hash.
 *
 * The owner keeps a model of each key (last version written, length, and whether it is known
 * to be absent) and checks its own results against it: its gets and gats must return exactly
 * the last write, add must succeed and replace/append/delete/touch/incr must fail on a key
 * known absent, incr must return the last value + delta. After the readers stop and the shard
 * settles, every key is checked against the model, and the shard's item and byte counters
 * against what is linked.
 *
 * Duration: NC_STRESS_SECONDS (default 5, at most 60) seconds of owner writes, extended if
 * needed (up to 4 times that, at most 60 s) until MIN_PHASES size phases have run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "store/arith.h"
#include "test_env.h"

#define MEM_LIMIT (8u << 20)     /* shard item memory: 8 one-MiB pages */
#define NKEYS 20000u             /* keys holding segmented/short values */
#define NNUM 256u                /* numeric keys (incr), numbered NKEYS.. */
#define NTOTAL (NKEYS + NNUM)
#define HOT_KEYS 2000u           /* half of all picks go to these: more read/write overlap */
#define NUM_MOD 1024u            /* numeric values are k * NUM_MOD + numeric key number */
#define VALUE_SET_MAX (64u << 10) /* largest value written by one set */
#define VALUE_MAX (128u << 10)   /* largest value after appends */
#define BURST 32u                /* keys per store_get_bulk */
#define SINGLE_GETS 8u           /* store_get calls per reader iteration */
#define OPS_PER_STEP 64u         /* owner ops between quiescent state + maintain */
#define OPS_PER_SECOND 2048u     /* owner ops per fake-clock second */
#define NOMEM_RETRIES 16u        /* retries of one op on STORE_NO_MEMORY before moving on */
#define MIN_READER_HITS 10000u
#define NREADERS_WANTED 3u

#define SEG_MAGIC 0x4753434eu    /* "NCSG" */
#define SEG_HDR 24u
#define SEG_MIN (SEG_HDR + 8u)   /* header + checksum: the smallest segment */

static struct test_env env;

/* ---- keys (read-only once the readers start) ---- */

static char (*key_bytes)[STORE_KEY_MAX + 1];
static struct store_key *keys;
static uint64_t *key_hash;

static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

static void
keys_init(void)
{
	key_bytes = calloc(NTOTAL, sizeof(*key_bytes));
	keys = calloc(NTOTAL, sizeof(*keys));
	key_hash = calloc(NTOTAL, sizeof(*key_hash));
	assert_non_null(key_bytes);
	assert_non_null(keys);
	assert_non_null(key_hash);
	for (uint32_t kid = 0; kid < NTOTAL; kid++) {
		char *b = key_bytes[kid];
		uint64_t h = splitmix64(kid ^ 0x6b6579ULL);
		int n;
		uint32_t len;

		if (kid >= NKEYS) {
			n = snprintf(b, STORE_KEY_MAX + 1, "num:%u", kid - NKEYS);
			len = (uint32_t)n;
		} else {
			/* Unique prefix, then filler: lengths 16..40, every 97th 200..250. */
			n = snprintf(b, STORE_KEY_MAX + 1, "key:%u:", kid);
			len = kid % 97 == 0 ? 200 + (uint32_t)(h % 51) : 16 + (uint32_t)(h % 25);
			if (len < (uint32_t)n)
				len = (uint32_t)n;
			for (uint32_t i = (uint32_t)n; i < len; i++)
				b[i] = (char)('a' + (h >> (i % 58)) % 26);
		}
		key_hash[kid] = h;
		store_key_init(&keys[kid], &env.digest_key, b, len);
	}
}

static void
keys_fini(void)
{
	free(key_bytes);
	free(keys);
	free(key_hash);
	key_bytes = NULL;
	keys = NULL;
	key_hash = NULL;
}

static uint32_t
key_flags(uint32_t kid)
{
	return (uint32_t)key_hash[kid];
}

/* Half the picks from the hot set, half from all segmented keys. */
static uint32_t
pick_value_key(uint64_t *rng)
{
	uint64_t r = rng_next(rng);

	return (r & 1) ? rng_below(rng, HOT_KEYS) : rng_below(rng, NKEYS);
}

static uint32_t
pick_num_key(uint64_t *rng)
{
	return NKEYS + rng_below(rng, NNUM);
}

/* ---- the value format ---- */

static uint64_t
load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
checksum(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (n * 0x9e3779b97f4a7c15ULL);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		h = (h ^ load64(p + i)) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h ^ (h >> 32);
}

static uint64_t
pattern_seed(uint64_t kh, uint64_t version)
{
	return kh ^ (version * 0xd6e8feb86659fd93ULL);
}

/* Payload bytes of a segment. */
static void
pattern_fill(uint8_t *p, size_t n, uint64_t seed)
{
	size_t i = 0;

	for (uint64_t w = 0; i < n; i += 8, w++) {
		uint64_t v = splitmix64(seed + w);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static bool
pattern_check(const uint8_t *p, size_t n, uint64_t seed)
{
	size_t i = 0;

	for (uint64_t w = 0; i < n; i += 8, w++) {
		uint64_t v = splitmix64(seed + w);

		if (memcmp(p + i, &v, n - i < 8 ? n - i : 8) != 0)
			return false;
	}
	return true;
}

static uint8_t
short_byte(uint64_t kh, uint32_t len, uint32_t i)
{
	return (uint8_t)((kh >> ((i % 8) * 8)) ^ (i * 29u) ^ (len * 131u));
}

/* Write one segment of seg_len (>= SEG_MIN) bytes. */
static void
segment_build(uint8_t *p, uint32_t kid, uint64_t version, uint32_t seg_len)
{
	uint32_t magic = SEG_MAGIC;
	uint64_t kh = key_hash[kid];
	uint64_t sum;

	memcpy(p, &magic, 4);
	memcpy(p + 4, &seg_len, 4);
	memcpy(p + 8, &kh, 8);
	memcpy(p + 16, &version, 8);
	pattern_fill(p + SEG_HDR, seg_len - SEG_MIN, pattern_seed(kh, version));
	sum = checksum(p, seg_len - 8);
	memcpy(p + seg_len - 8, &sum, 8);
}

/* Write a whole value of len bytes for a set: short form, or one segment. */
static void
value_build(uint8_t *p, uint32_t kid, uint64_t version, uint32_t len)
{
	if (len >= SEG_MIN) {
		segment_build(p, kid, version, len);
		return;
	}
	for (uint32_t i = 0; i < len; i++)
		p[i] = short_byte(key_hash[kid], len, i);
}

/* The decimal value of a numeric key: digits, then only spaces. */
static const char *
num_verify(uint32_t kid, const uint8_t *v, uint32_t len, uint64_t *n_out)
{
	uint64_t n = 0;
	uint32_t i = 0;

	if (len == 0 || len > 2 * STORE_ARITH_DIGITS_MAX)
		return "numeric value has a bad length";
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		if (i >= STORE_ARITH_DIGITS_MAX)
			return "numeric value has too many digits";
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (i == 0)
		return "numeric value has no digits";
	for (; i < len; i++) {
		if (v[i] != ' ')
			return "numeric value has bytes after the digits";
	}
	if (n % NUM_MOD != kid - NKEYS || n < NUM_MOD)
		return "numeric value belongs to another key";
	*n_out = n;
	return NULL;
}

/*
 * Check a value of key kid. Returns NULL and *version (0 for a short value) when it verifies,
 * else what is wrong.
 */
static const char *
value_verify(uint32_t kid, const uint8_t *v, uint32_t len, uint64_t *version)
{
	uint64_t kh = key_hash[kid];
	uint64_t maxv = 0;
	uint32_t off = 0;

	if (kid >= NKEYS)
		return num_verify(kid, v, len, version);
	if (len > VALUE_MAX)
		return "value longer than any written";
	if (len < SEG_MIN) {
		for (uint32_t i = 0; i < len; i++) {
			if (v[i] != short_byte(kh, len, i))
				return "short value bytes wrong";
		}
		*version = 0;
		return NULL;
	}
	while (off < len) {
		const uint8_t *p = v + off;
		uint32_t seg_len, left = len - off;
		uint64_t ver;

		if (left < SEG_MIN)
			return "trailing bytes shorter than a segment";
		if (load32(p) != SEG_MAGIC)
			return "segment magic wrong";
		seg_len = load32(p + 4);
		if (seg_len < SEG_MIN || seg_len > left)
			return "segment length wrong";
		if (load64(p + 8) != kh)
			return "segment of another key";
		ver = load64(p + 16);
		if (ver == 0)
			return "segment version 0";
		if (!pattern_check(p + SEG_HDR, seg_len - SEG_MIN, pattern_seed(kh, ver)))
			return "segment payload wrong";
		if (load64(p + seg_len - 8) != checksum(p, seg_len - 8))
			return "segment checksum wrong";
		if (ver > maxv)
			maxv = ver;
		off += seg_len;
	}
	*version = maxv;
	return NULL;
}

/* ---- failures (any thread) ---- */

static uint64_t fail_count;
static int fail_claimed;
static char fail_first[768];

static void __attribute__((format(printf, 1, 2)))
record_failure(const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&fail_count, 1, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&fail_claimed, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(fail_first, sizeof(fail_first), fmt, ap);
	va_end(ap);
	fprintf(stderr, "FIRST FAILURE: %s\n", fail_first);
}

static bool
failed(void)
{
	return __atomic_load_n(&fail_count, __ATOMIC_RELAXED) != 0;
}

/* ---- readers ---- */

struct reader {
	unsigned idx;
	unsigned lcore;
	uint64_t rng;
	uint64_t iters;
	uint64_t lookups;
	uint64_t hits;
	uint64_t misses;
	uint64_t expired;
	uint64_t ordered_checks;  /* hits compared with an earlier hit of the same key */
	uint64_t failures;
	uint64_t *seen_cas;       /* per key: largest cas seen */
	uint64_t *seen_ver;       /* per key: version that came with it */
	uint64_t *max_ver;        /* per key: largest version seen */
	uint8_t *copy;            /* VALUE_MAX: the "response" buffer */
} __rte_cache_aligned;

static struct store_shard *g_shard;
static uint32_t g_stop;
static uint32_t g_ready;

static void
reader_fail(struct reader *r, uint32_t kid, const char *how, const struct store_hit *hit,
	    const char *what)
{
	r->failures++;
	record_failure("reader %u (lcore %u) key %u '%.*s' via %s: %s (nbytes %u cas %" PRIu64
		       " flags %#x)",
		       r->idx, r->lcore, kid, (int)(keys[kid].len < 40 ? keys[kid].len : 40),
		       keys[kid].key, how, what, hit->nbytes, hit->cas, hit->client_flags);
}

/* Check one lookup result; runs before the reader's next quiescent state. */
static void
reader_check(struct reader *r, uint32_t kid, const struct store_hit *hit, const char *how)
{
	const struct store_key *k = &keys[kid];
	const struct item *it = hit->it;
	uint64_t v_in = 0, v_copy = 0;
	const char *err;
	uint32_t n;

	r->lookups++;
	switch (hit->status) {
	case STORE_HIT:
		break;
	case STORE_MISS:
		r->misses++;
		if (it != NULL)
			reader_fail(r, kid, how, hit, "miss with an item");
		return;
	case STORE_EXPIRED:
		r->expired++;
		return;
	default:
		reader_fail(r, kid, how, hit, store_status_name(hit->status));
		return;
	}
	r->hits++;
	if (it == NULL) {
		reader_fail(r, kid, how, hit, "hit without an item");
		return;
	}
	if (!item_key_equals(it, k->key, k->len)) {
		reader_fail(r, kid, how, hit, "hit on an item of another key");
		return;
	}
	n = hit->nbytes;
	if (hit->value != item_value_const(it) || n != it->nbytes) {
		reader_fail(r, kid, how, hit, "hit value/nbytes disagree with the item");
		return;
	}
	if (hit->client_flags != key_flags(kid)) {
		reader_fail(r, kid, how, hit, "client flags wrong");
		return;
	}
	if (n > VALUE_MAX) {
		reader_fail(r, kid, how, hit, "value longer than any written");
		return;
	}
	/* What a response writer does: copy, then (here) check both the copy and the source. */
	memcpy(r->copy, hit->value, n);
	err = value_verify(kid, (const uint8_t *)hit->value, n, &v_in);
	if (err != NULL) {
		reader_fail(r, kid, how, hit, err);
		return;
	}
	err = value_verify(kid, r->copy, n, &v_copy);
	if (err != NULL) {
		reader_fail(r, kid, "copy", hit, err);
		return;
	}
	if (v_in != v_copy) {
		reader_fail(r, kid, how, hit, "value changed while it was read");
		return;
	}
	if (!item_key_equals(it, k->key, k->len) || it->cas != hit->cas) {
		reader_fail(r, kid, how, hit, "item changed while it was read");
		return;
	}
	/* Ordering: per key, cas and version only move forward for this reader. */
	if (hit->cas == 0) {
		reader_fail(r, kid, how, hit, "cas 0");
		return;
	}
	if (r->seen_cas[kid] != 0) {
		r->ordered_checks++;
		if (hit->cas < r->seen_cas[kid]) {
			reader_fail(r, kid, how, hit, "cas went backwards: an older item");
			return;
		}
		if (hit->cas == r->seen_cas[kid] && v_in != r->seen_ver[kid]) {
			reader_fail(r, kid, how, hit, "same cas, different version");
			return;
		}
		if (hit->cas > r->seen_cas[kid] && v_in != 0 && v_in <= r->max_ver[kid]) {
			reader_fail(r, kid, how, hit, "newer cas with an older version");
			return;
		}
	}
	r->seen_cas[kid] = hit->cas;
	r->seen_ver[kid] = v_in;
	if (v_in > r->max_ver[kid])
		r->max_ver[kid] = v_in;
}

static uint32_t
reader_pick(struct reader *r)
{
	return rng_below(&r->rng, 16) == 0 ? pick_num_key(&r->rng) : pick_value_key(&r->rng);
}

static int
reader_main(void *arg)
{
	struct reader *r = arg;
	const struct store_key *bk[BURST];
	struct store_hit hits[BURST];
	uint32_t bid[BURST];

	rcu_register_thread();
	__atomic_fetch_add(&g_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		if (rng_next(&r->rng) & 1) {
			for (unsigned i = 0; i < SINGLE_GETS; i++) {
				uint32_t kid = reader_pick(r);

				store_get(g_shard, &keys[kid], &hits[0]);
				reader_check(r, kid, &hits[0], "store_get");
			}
		} else {
			unsigned found, counted = 0;

			for (unsigned i = 0; i < BURST; i++) {
				bid[i] = reader_pick(r);
				bk[i] = &keys[bid[i]];
			}
			found = store_get_bulk(g_shard, bk, BURST, hits);
			for (unsigned i = 0; i < BURST; i++) {
				counted += hits[i].status == STORE_HIT;
				reader_check(r, bid[i], &hits[i], "store_get_bulk");
			}
			if (found != counted)
				reader_fail(r, bid[0], "store_get_bulk", &hits[0],
					    "bulk hit count disagrees with the statuses");
		}
		/* Every pointer from this iteration is dead from here on. */
		rcu_quiescent_state();
		r->iters++;
	}
	rcu_unregister_thread();
	return 0;
}

/* ---- the owner ---- */

enum op {
	OP_SET,
	OP_ADD,
	OP_REPLACE,
	OP_APPEND,
	OP_PREPEND,
	OP_DELETE,
	OP_TOUCH,
	OP_GAT,
	OP_GET,
	OP_INCR,
	OP_NUMSET,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"set", "add", "replace", "append", "prepend", "delete", "touch", "gat", "get", "incr",
	"numset",
};

/* How often each operation is picked, out of 100. */
static const unsigned op_weight[OP_COUNT] = {
	[OP_SET] = 30, [OP_ADD] = 7, [OP_REPLACE] = 9, [OP_APPEND] = 8, [OP_PREPEND] = 3,
	[OP_DELETE] = 10, [OP_TOUCH] = 5, [OP_GAT] = 3, [OP_GET] = 6, [OP_INCR] = 15,
	[OP_NUMSET] = 4,
};

/*
 * Sizes come in phases. In each phase the owner writes values whose items fall into a few
 * size classes (two small, one medium, one large, and class 0 for numeric keys), with any
 * length inside a class's range. Fewer active classes than pages lets classes keep pages and
 * evict by CLOCK; every phase change sends some classes without pages, which then take pages
 * from others (page moves). Each active class is under constant eviction pressure.
 *
 * (With more classes in use than the shard has pages, every store into a class without a
 * page takes a page from another class and the shard ends up with all pages in transit and
 * nothing stored; hence the phases instead of all sizes at once.)
 */
#define PHASE_OPS 16384u
#define MIN_PHASES 3u  /* the owner runs on until this many phases have started */

struct phase {
	unsigned cls[4];   /* small, small, medium, large */
	uint64_t active;   /* bit per class id that may be written in this phase */
	unsigned number;
};

static const unsigned phase_weight[4] = {40, 30, 20, 10};

/* What the owner knows about a key. live = 0 means known absent (items never come back). */
struct key_model {
	uint64_t version; /* last version written (numeric keys: last N) */
	uint32_t len;     /* its length */
	uint8_t live;     /* last write stored it, nothing seen absent since (may be evicted) */
};

struct owner {
	struct store_shard *s;
	uint64_t rng;
	uint64_t version;
	uint64_t ops;
	uint64_t steps;
	uint64_t nomem_retries;
	uint64_t nomem_giveups;
	uint64_t maintain_expired;
	uint64_t tries[OP_COUNT];
	uint64_t done[OP_COUNT];   /* STORED / DELETED / TOUCHED / HIT / OK */
	uint8_t *buf;
	struct key_model *model;
	struct phase phase;
};

static void
owner_fail(struct owner *o, uint32_t kid, enum op op, const char *what, enum store_status st)
{
	(void)o;
	record_failure("owner key %u '%.*s' %s -> %s: %s", kid,
		       (int)(keys[kid].len < 40 ? keys[kid].len : 40), keys[kid].key,
		       op_names[op], store_status_name(st), what);
}

/* Exactly what a worker loop does between bursts. */
static void
owner_step(struct owner *o)
{
	rcu_quiescent_state();
	o->maintain_expired += store_shard_maintain(o->s, 64);
	o->steps++;
}

static bool
owner_retry(struct owner *o, enum store_status st, unsigned *tries)
{
	if (st != STORE_NO_MEMORY)
		return false;
	if (++*tries > NOMEM_RETRIES) {
		o->nomem_giveups++;
		return false;
	}
	o->nomem_retries++;
	owner_step(o);
	return true;
}

/* A class id whose chunk size lies in (lo, hi]; the smallest above lo when none does. */
static unsigned
class_between(const struct slab *sl, uint64_t *rng, uint32_t lo, uint32_t hi)
{
	unsigned first = sl->nclasses, n = 0;

	for (unsigned c = 0; c < sl->nclasses; c++) {
		if (sl->cls[c].size > lo && sl->cls[c].size <= hi) {
			if (first == sl->nclasses)
				first = c;
			n++;
		}
	}
	if (n == 0)
		return (unsigned)slab_class_for(sl, lo + 1);
	return first + rng_below(rng, n);
}

static void
phase_next(struct owner *o)
{
	const struct slab *sl = store_shard_slab(o->s);
	struct phase *ph = &o->phase;
	uint32_t large_max = (uint32_t)item_total_size(16, VALUE_SET_MAX);

	ph->cls[0] = class_between(sl, &o->rng, 0, 1024);
	ph->cls[1] = class_between(sl, &o->rng, 0, 1024);
	ph->cls[2] = class_between(sl, &o->rng, 1024, 8192);
	ph->cls[3] = class_between(sl, &o->rng, 8192, large_max);
	ph->active = UINT64_C(1); /* class 0: numeric keys and tiny values */
	for (unsigned i = 0; i < 4; i++)
		ph->active |= UINT64_C(1) << ph->cls[i];
	ph->number++;
}

static bool
class_active(const struct owner *o, size_t total)
{
	int c = slab_class_for(store_shard_slab(o->s), total);

	return c >= 0 && (o->phase.active >> c & 1);
}

/* A value length for key kid whose item falls in an active class; UINT32_MAX if none fits. */
static uint32_t
pick_len(struct owner *o, uint32_t kid)
{
	const struct slab *sl = store_shard_slab(o->s);
	size_t base = item_total_size(keys[kid].len, 0);
	unsigned r = rng_below(&o->rng, 100), acc = 0, pick = 0;

	if (r == 0 && base <= sl->cls[0].size)
		return 0;
	r = rng_below(&o->rng, 100);
	for (unsigned i = 0; i < 4; i++) {
		acc += phase_weight[i];
		if (r < acc) {
			pick = i;
			break;
		}
	}
	/* Long keys may not fit a small class: try the next larger active ones. */
	for (unsigned i = pick; i < 4; i++) {
		unsigned c = o->phase.cls[i];
		size_t lo = c == 0 ? 0 : sl->cls[c - 1].size + 1;
		size_t hi = sl->cls[c].size;
		size_t total;

		if (hi < base)
			continue;
		if (lo < base)
			lo = base;
		total = lo + rng_below(&o->rng, (uint32_t)(hi - lo + 1));
		if (total - base > VALUE_SET_MAX)
			total = base + VALUE_SET_MAX;
		return (uint32_t)(total - base);
	}
	return UINT32_MAX;
}

static int64_t
pick_exptime(struct owner *o)
{
	uint32_t r = rng_below(&o->rng, 100);

	if (r < 15)
		return 1 + (int64_t)rng_below(&o->rng, 4); /* expires within a few fake seconds */
	if (r < 17)
		return -1; /* stored already expired */
	return 0;
}

/* An owner-side lookup must return exactly the model's last write. */
static void
owner_check_hit(struct owner *o, uint32_t kid, enum op op, const struct store_hit *hit)
{
	struct key_model *m = &o->model[kid];
	uint64_t ver = 0;
	const char *err;

	if (hit->it == NULL || !item_key_equals(hit->it, keys[kid].key, keys[kid].len)) {
		owner_fail(o, kid, op, "hit on a wrong item", hit->status);
		return;
	}
	err = value_verify(kid, (const uint8_t *)hit->value, hit->nbytes, &ver);
	if (err != NULL) {
		owner_fail(o, kid, op, err, hit->status);
		return;
	}
	if (!m->live)
		owner_fail(o, kid, op, "hit on a key known to be absent", hit->status);
	else if (hit->nbytes != m->len || (ver != 0 && ver != m->version) ||
		 (ver == 0 && m->len >= SEG_MIN))
		owner_fail(o, kid, op, "hit is not the last write", hit->status);
}

/* set / add / replace of a fresh one-segment (or short) value. */
static void
op_store(struct owner *o, uint32_t kid, enum op op)
{
	static const enum store_mode modes[] = {
		[OP_SET] = STORE_MODE_SET, [OP_ADD] = STORE_MODE_ADD,
		[OP_REPLACE] = STORE_MODE_REPLACE,
	};
	struct key_model *m = &o->model[kid];
	uint32_t len = pick_len(o, kid);
	uint64_t ver = ++o->version;
	int64_t exptime = pick_exptime(o);
	bool in_place = rng_next(&o->rng) & 1;
	enum store_status st;
	unsigned tries = 0;

	if (len == UINT32_MAX)
		return;
	o->tries[op]++;
	if (!in_place)
		value_build(o->buf, kid, ver, len);
	do {
		if (in_place) {
			/* Fill the allocated item directly, as a multi-packet set does. */
			struct item *it = store_item_alloc(o->s, &keys[kid], key_flags(kid),
							   exptime, len, &st);

			if (it != NULL) {
				value_build((uint8_t *)item_value(it), kid, ver, len);
				st = store_item_commit(o->s, it, &keys[kid], modes[op], 0, NULL);
			}
		} else {
			st = store_put(o->s, &keys[kid], modes[op], o->buf, len, key_flags(kid),
				       exptime, 0, NULL);
		}
	} while (owner_retry(o, st, &tries));

	switch (st) {
	case STORE_STORED:
		if (op == OP_REPLACE && !m->live)
			owner_fail(o, kid, op, "replace stored on a key known absent", st);
		m->version = ver;
		m->len = len;
		m->live = 1;
		o->done[op]++;
		break;
	case STORE_NOT_STORED:
		if (op == OP_SET)
			owner_fail(o, kid, op, "set not stored", st);
		else if (op == OP_ADD && !m->live)
			owner_fail(o, kid, op, "add refused on a key known absent", st);
		else if (op == OP_REPLACE)
			m->live = 0;
		break;
	case STORE_NO_MEMORY:
		break;
	default:
		owner_fail(o, kid, op, "unexpected status", st);
		break;
	}
}

/*
 * A segment length for an append/prepend to key kid: the piece is an item of its own until it
 * is joined, so both the piece and the joined item must fall in active classes (a class with
 * no page would take a page from another class for a temporary piece). 0 if none found.
 */
static uint32_t
pick_piece_len(struct owner *o, uint32_t kid, uint32_t cur_len)
{
	const struct slab *sl = store_shard_slab(o->s);
	size_t base = item_total_size(keys[kid].len, 0);

	for (unsigned tries = 0; tries < 4; tries++) {
		unsigned c = o->phase.cls[rng_below(&o->rng, 2)];
		size_t lo = c == 0 ? 0 : sl->cls[c - 1].size + 1;
		size_t hi = sl->cls[c].size;
		size_t len;

		if (lo < base + SEG_MIN)
			lo = base + SEG_MIN;
		if (hi < lo)
			continue;
		len = lo + rng_below(&o->rng, (uint32_t)(hi - lo + 1)) - base;
		if (cur_len + len <= VALUE_MAX &&
		    class_active(o, item_total_size(keys[kid].len, cur_len + len)))
			return (uint32_t)len;
	}
	return 0;
}

/* append / prepend one more segment. Never on short values (the format would break). */
static void
op_concat(struct owner *o, uint32_t kid, enum op op)
{
	struct key_model *m = &o->model[kid];
	uint32_t len = pick_piece_len(o, kid, m->live ? m->len : 0);
	uint64_t ver;
	enum store_status st;
	unsigned tries = 0;

	if (len == 0 || (m->live && m->len < SEG_MIN)) {
		op_store(o, kid, OP_SET);
		return;
	}
	o->tries[op]++;
	ver = ++o->version;
	segment_build(o->buf, kid, ver, len);
	do {
		st = store_put(o->s, &keys[kid], op == OP_APPEND ? STORE_MODE_APPEND :
				   STORE_MODE_PREPEND, o->buf, len, 0, 0, 0, NULL);
	} while (owner_retry(o, st, &tries));

	switch (st) {
	case STORE_STORED:
		if (!m->live)
			owner_fail(o, kid, op, "stored on a key known absent", st);
		m->version = ver;
		m->len += len;
		o->done[op]++;
		break;
	case STORE_NOT_STORED:
		m->live = 0;
		break;
	case STORE_NO_MEMORY:
		break;
	default:
		owner_fail(o, kid, op, "unexpected status", st);
		break;
	}
}

static void
op_delete(struct owner *o, uint32_t kid)
{
	enum store_status st = store_delete(o->s, &keys[kid], 0);

	if (st == STORE_DELETED) {
		if (!o->model[kid].live)
			owner_fail(o, kid, OP_DELETE, "deleted a key known absent", st);
		o->done[OP_DELETE]++;
	} else if (st != STORE_NOT_FOUND) {
		owner_fail(o, kid, OP_DELETE, "unexpected status", st);
	}
	o->model[kid].live = 0;
}

static void
op_touch(struct owner *o, uint32_t kid)
{
	int64_t exptime = rng_below(&o->rng, 2) ? 1 + (int64_t)rng_below(&o->rng, 8) : 0;
	enum store_status st = store_touch(o->s, &keys[kid], exptime);

	if (st == STORE_TOUCHED) {
		if (!o->model[kid].live)
			owner_fail(o, kid, OP_TOUCH, "touched a key known absent", st);
		o->done[OP_TOUCH]++;
	} else if (st == STORE_NOT_FOUND) {
		o->model[kid].live = 0;
	} else {
		owner_fail(o, kid, OP_TOUCH, "unexpected status", st);
	}
}

static void
op_lookup(struct owner *o, uint32_t kid, enum op op)
{
	struct store_hit hit;
	enum store_status st;

	if (op == OP_GAT)
		st = store_gat(o->s, &keys[kid], 1 + (int64_t)rng_below(&o->rng, 8), &hit);
	else
		st = store_get(o->s, &keys[kid], &hit);
	if (st == STORE_HIT) {
		owner_check_hit(o, kid, op, &hit);
		o->done[op]++;
	} else if (st == STORE_MISS || st == STORE_EXPIRED) {
		o->model[kid].live = 0;
	} else {
		owner_fail(o, kid, op, "unexpected status", st);
	}
}

static void
op_numset(struct owner *o, uint32_t kid)
{
	struct key_model *m = &o->model[kid];
	uint64_t n = (m->version ? m->version : kid - NKEYS) + NUM_MOD;
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64, n);
	enum store_status st;
	unsigned tries = 0;

	o->tries[OP_NUMSET]++;
	do {
		st = store_put(o->s, &keys[kid], STORE_MODE_SET, digits, (uint32_t)len,
			       key_flags(kid), pick_exptime(o), 0, NULL);
	} while (owner_retry(o, st, &tries));
	if (st == STORE_STORED) {
		m->version = n;
		m->len = (uint32_t)len;
		m->live = 1;
		o->done[OP_NUMSET]++;
	} else if (st != STORE_NO_MEMORY) {
		owner_fail(o, kid, OP_NUMSET, "unexpected status", st);
	}
}

static void
op_incr(struct owner *o, uint32_t kid)
{
	struct key_model *m = &o->model[kid];
	enum store_status st;
	unsigned tries = 0;
	uint64_t n = 0;

	do {
		st = store_arith(o->s, &keys[kid], true, NUM_MOD, &n, NULL);
	} while (owner_retry(o, st, &tries));
	switch (st) {
	case STORE_OK:
		if (!m->live)
			owner_fail(o, kid, OP_INCR, "incr on a key known absent", st);
		else if (n != m->version + NUM_MOD)
			owner_fail(o, kid, OP_INCR, "incr result is not last + delta", st);
		m->version = n;
		/* Growth only; the length follows the digits. */
		m->len = m->len > (uint32_t)snprintf(NULL, 0, "%" PRIu64, n) ?
				 m->len :
				 (uint32_t)snprintf(NULL, 0, "%" PRIu64, n);
		o->done[OP_INCR]++;
		break;
	case STORE_NOT_FOUND:
		m->live = 0;
		op_numset(o, kid);
		break;
	case STORE_NO_MEMORY:
		break;
	default:
		owner_fail(o, kid, OP_INCR, "unexpected status", st);
		break;
	}
}

static enum op
pick_op(struct owner *o)
{
	unsigned r = rng_below(&o->rng, 100), acc = 0;

	for (unsigned i = 0; i < OP_COUNT; i++) {
		acc += op_weight[i];
		if (r < acc)
			return (enum op)i;
	}
	return OP_SET;
}

static void
owner_op(struct owner *o)
{
	enum op op = pick_op(o);
	bool any_key = op == OP_DELETE || op == OP_TOUCH || op == OP_GAT || op == OP_GET;
	uint32_t kid;

	if (op == OP_INCR || op == OP_NUMSET || (any_key && rng_below(&o->rng, 8) == 0))
		kid = pick_num_key(&o->rng);
	else
		kid = pick_value_key(&o->rng);
	if (op != OP_SET && op != OP_ADD && op != OP_REPLACE && op != OP_APPEND &&
	    op != OP_PREPEND && op != OP_NUMSET)
		o->tries[op]++; /* the others count their own tries */
	switch (op) {
	case OP_SET:
	case OP_ADD:
	case OP_REPLACE:
		op_store(o, kid, op);
		break;
	case OP_APPEND:
	case OP_PREPEND:
		op_concat(o, kid, op);
		break;
	case OP_DELETE:
		op_delete(o, kid);
		break;
	case OP_TOUCH:
		op_touch(o, kid);
		break;
	case OP_GAT:
	case OP_GET:
		op_lookup(o, kid, op);
		break;
	case OP_INCR:
		op_incr(o, kid);
		break;
	case OP_NUMSET:
		op_numset(o, kid);
		break;
	default:
		break;
	}
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
stress_seconds(void)
{
	const char *e = getenv("NC_STRESS_SECONDS");
	double v = e != NULL ? strtod(e, NULL) : 5.0;

	if (!(v > 0.0))
		v = 5.0;
	return v > 60.0 ? 60.0 : v;
}

static void
owner_run(struct owner *o, double seconds)
{
	double start = now_sec();
	double max_seconds = seconds * 4 < 60.0 ? seconds * 4 : 60.0;

	while (!failed()) {
		owner_op(o);
		o->ops++;
		if (o->ops % OPS_PER_STEP == 0)
			owner_step(o);
		if (o->ops % OPS_PER_SECOND == 0)
			nc_clock_advance(&env.clock, 1);
		if (o->ops % PHASE_OPS == 0)
			phase_next(o);
		if (o->ops % 1024 == 0) {
			double t = now_sec() - start;

			if ((t >= seconds && o->phase.number >= MIN_PHASES) || t >= max_seconds)
				break;
		}
	}
}

/* After the readers are gone and everything settled: every key agrees with the model. */
static void
final_sweep(struct owner *o, uint64_t *live_items, uint64_t *live_bytes)
{
	*live_items = 0;
	*live_bytes = 0;
	for (uint32_t kid = 0; kid < NTOTAL; kid++) {
		struct store_hit hit;
		enum store_status st = store_get(o->s, &keys[kid], &hit);

		if (st == STORE_HIT) {
			owner_check_hit(o, kid, OP_GET, &hit);
			(*live_items)++;
			*live_bytes += item_total_size(keys[kid].len, hit.nbytes);
		} else if (st != STORE_MISS) {
			/* The wheel ran to the current time: nothing expired is still linked. */
			owner_fail(o, kid, OP_GET, "dead item still linked after settle", st);
		}
	}
}

static void
test_concurrency(void **state)
{
	struct reader *readers;
	struct owner o;
	struct store_shard_stats st;
	double seconds = stress_seconds(), t0, t_run;
	unsigned nreaders = 0, lcore;
	uint64_t live_items, live_bytes;

	(void)state;
	printf("# lcores %u (main %u), %.1f s of owner writes\n", rte_lcore_count(),
	       rte_get_main_lcore(), seconds);
	assert_true(rte_lcore_count() >= NREADERS_WANTED + 1);
	keys_init();

	memset(&o, 0, sizeof(o));
	o.s = test_shard_create(&env, MEM_LIMIT);
	o.rng = 0x243f6a8885a308d3ULL;
	o.buf = malloc(VALUE_MAX);
	o.model = calloc(NTOTAL, sizeof(*o.model));
	assert_non_null(o.buf);
	assert_non_null(o.model);
	g_shard = o.s;
	phase_next(&o);

	readers = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*readers) * NREADERS_WANTED);
	assert_non_null(readers);
	memset(readers, 0, sizeof(*readers) * NREADERS_WANTED);
	__atomic_store_n(&g_stop, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_ready, 0, __ATOMIC_RELAXED);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct reader *r;

		if (nreaders == NREADERS_WANTED)
			break;
		r = &readers[nreaders];
		r->idx = nreaders;
		r->lcore = lcore;
		r->rng = splitmix64(0x5eed0000ULL + nreaders);
		r->seen_cas = calloc(NTOTAL, sizeof(uint64_t));
		r->seen_ver = calloc(NTOTAL, sizeof(uint64_t));
		r->max_ver = calloc(NTOTAL, sizeof(uint64_t));
		r->copy = malloc(VALUE_MAX);
		assert_non_null(r->seen_cas);
		assert_non_null(r->seen_ver);
		assert_non_null(r->max_ver);
		assert_non_null(r->copy);
		assert_int_equal(rte_eal_remote_launch(reader_main, r, lcore), 0);
		nreaders++;
	}
	assert_int_equal(nreaders, NREADERS_WANTED);
	while (__atomic_load_n(&g_ready, __ATOMIC_ACQUIRE) < nreaders) {
		rcu_quiescent_state();
		rte_pause();
	}

	t0 = now_sec();
	owner_run(&o, seconds);
	t_run = now_sec() - t0;

	__atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < nreaders; i++)
		assert_int_equal(rte_eal_wait_lcore(readers[i].lcore), 0);
	/* Readers are unregistered: grace periods now depend on this thread only. */
	o.maintain_expired += test_shard_settle(o.s);
	final_sweep(&o, &live_items, &live_bytes);
	store_shard_stats_get(o.s, &st);

	printf("# owner: %" PRIu64 " ops in %.2f s (%.0f/s), %" PRIu64 " steps, fake clock +%" PRIu64
	       " s, NO_MEMORY retries %" PRIu64 ", gave up %" PRIu64 "\n",
	       o.ops, t_run, (double)o.ops / t_run, o.steps, o.ops / OPS_PER_SECOND,
	       o.nomem_retries, o.nomem_giveups);
	printf("#   %u size phases, %" PRIu64 " items expired by the TTL wheel in maintain\n#  ",
	       o.phase.number, o.maintain_expired);
	for (unsigned i = 0; i < OP_COUNT; i++)
		printf(" %s %" PRIu64 "/%" PRIu64, op_names[i], o.done[i], o.tries[i]);
	printf("\n");
	printf("# shard: curr_items %" PRIu64 " total_items %" PRIu64 " evictions %" PRIu64
	       " reclaimed %" PRIu64 " ttl_expired %" PRIu64 " slab_reassigns %" PRIu64
	       " alloc_retries %" PRIu64 " bytes %" PRIu64 "\n",
	       st.curr_items, st.total_items, st.evictions, st.reclaimed, st.ttl_expired,
	       st.slab_reassigns, st.alloc_retries, st.bytes);
	/* Every item linked and gone again was retired (in-place incr copies are not counted in
	 * total_items, so this is a lower bound). */
	printf("# final sweep: %" PRIu64 " live items, %" PRIu64 " bytes; at least %" PRIu64
	       " items retired and reclaimed, %" PRIu64 " outstanding\n", live_items, live_bytes,
	       st.total_items - st.curr_items, store_shard_retired_outstanding(o.s));
	for (unsigned i = 0; i < nreaders; i++) {
		struct reader *r = &readers[i];

		printf("# reader %u (lcore %u): %" PRIu64 " iterations, %" PRIu64 " lookups, %"
		       PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " expired, %" PRIu64
		       " ordering checks, %" PRIu64 " failures\n",
		       i, r->lcore, r->iters, r->lookups, r->hits, r->misses, r->expired,
		       r->ordered_checks, r->failures);
	}
	if (failed())
		printf("# %" PRIu64 " failures; first: %s\n", fail_count, fail_first);

	assert_int_equal(__atomic_load_n(&fail_count, __ATOMIC_RELAXED), 0);
	for (unsigned i = 0; i < nreaders; i++)
		assert_true(readers[i].hits > MIN_READER_HITS);
	assert_true(st.evictions > 0);
	assert_true(st.slab_reassigns > 0);
	assert_true(st.ttl_expired > 0);
	assert_true(o.done[OP_APPEND] > 0 && o.done[OP_REPLACE] > 0 && o.done[OP_DELETE] > 0 &&
		    o.done[OP_INCR] > 0);
	assert_true(st.total_items - st.curr_items > 1000);
	assert_int_equal(store_shard_retired_outstanding(o.s), 0);
	assert_int_equal(st.curr_items, live_items);
	assert_int_equal(st.bytes, live_bytes);

	store_shard_destroy(&o.s);
	assert_null(o.s);
	g_shard = NULL;
	for (unsigned i = 0; i < nreaders; i++) {
		free(readers[i].seen_cas);
		free(readers[i].seen_ver);
		free(readers[i].max_ver);
		free(readers[i].copy);
	}
	free(readers);
	free(o.buf);
	free(o.model);
	keys_fini();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrency),
	};

	/* Four lcores (the owner and three readers) on the machine's first two CPUs. */
	test_eal_init("(0-3)@(0,1)", 512);
	int failed;

	test_env_init(&env);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	test_env_fini(&env);
	return failed;
}
