/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Values stored compressed (store_shard_params.compress, lib/store/shard_compress.c): what is
 * compressed and what is not (threshold, saving share, incompressible data), that readers get
 * the client's bytes back (store_hit_inflate(), chained values included), that memory and
 * eviction follow the stored size, and the owner paths that read a compressed value:
 * append/prepend, incr/decr, ma, md I, the walk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <lzf.h>

#include "store/item.h"
#include "store/shard_private.h" /* SHARD_ZIP_MAX, the owner's buffers */
#include "test_env.h"

#define SHARD_MEM (32u << 20)
#define ITEM_MAX ((size_t)4 << 20)
#define MIN 256u
/* Item memory of test_memory_follows_compressed_size(). */
#define MEM_TEST (12u << 20)

static struct test_env env;

#define assert_status(actual, expected) \
	assert_string_equal(store_status_name(actual), store_status_name(expected))

static struct store_shard *
shard_with(size_t mem, bool on, uint32_t min, uint32_t saving)
{
	struct store_shard_params p = {
		.socket_id = SOCKET_ID_ANY,
		.mem_limit = mem,
		.item_size_max = ITEM_MAX,
		.digest_key = &env.digest_key,
		.clock = &env.clock,
		.cas_source = &env.cas,
		.reclaimer = env.reclaimer,
		.compress = {.enabled = on, .min = min, .min_saving = saving},
	};
	int err;
	struct store_shard *s = store_shard_create(&p, &err);

	assert_non_null(s);
	return s;
}

static int
setup(void **state)
{
	test_env_init(&env);
	*state = shard_with(SHARD_MEM, true, MIN, 10);
	return 0;
}

static int
teardown(void **state)
{
	struct store_shard *s = *state;

	test_shard_settle(s);
	store_shard_destroy(&s);
	test_env_fini(&env);
	return 0;
}

static struct store_key
key_s(const char *key)
{
	struct store_key k;

	store_key_init(&k, &env.digest_key, key, (uint32_t)strlen(key));
	return k;
}

static struct store_shard_stats
stats(const struct store_shard *s)
{
	struct store_shard_stats st;

	store_shard_stats_get(s, &st);
	return st;
}

/* JSON-like text: compresses to well under half. Deterministic for (seed, len). */
static char *
text_value(uint32_t seed, size_t len)
{
	char *v = malloc(len + 64);
	size_t n = 0;

	assert_non_null(v);
	while (n < len)
		n += (size_t)snprintf(v + n, 64, "{\"id\":%u,\"name\":\"user%u\",\"ok\":true},",
				      seed + (uint32_t)n, (seed * 7 + (uint32_t)n) % 97);
	return v;
}

/* Bytes LZF cannot shrink (xorshift). */
static char *
random_value(uint64_t seed, size_t len)
{
	char *v = malloc(len);
	uint64_t x = seed | 1;

	assert_non_null(v);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (char)(x >> 24);
	}
	return v;
}

static enum store_status
put(struct store_shard *s, const char *key, enum store_mode mode, const void *v, size_t len,
    uint32_t flags)
{
	struct store_key k = key_s(key);

	return test_put(s, &k, mode, v, (uint32_t)len, flags, 0, 0, NULL);
}

/* Look key up and return its value as a client sees it (malloc'ed), with the hit. */
static char *
read_back(struct store_shard *s, const char *key, struct store_hit *hit, uint32_t *len)
{
	struct store_key k = key_s(key);
	char *out;

	assert_status(store_get(s, &k, hit), STORE_HIT);
	if (!store_hit_compressed(hit)) {
		const struct item *c = hit->seg_next;
		uint32_t off = c != NULL ? hit->seg_len : hit->nbytes;

		*len = hit->nbytes;
		out = malloc(hit->nbytes + 1);
		assert_non_null(out);
		memcpy(out, hit->value, off);
		while (c != NULL && off < hit->nbytes) {
			const void *d;
			uint32_t n;

			c = store_hit_next_seg(c, &d, &n);
			memcpy(out + off, d, n);
			off += n;
		}
		return out;
	}
	*len = store_hit_raw_len(hit);
	out = malloc(*len + 1);
	{
		void *tmp = hit->seg_next != NULL ? malloc(hit->nbytes) : NULL;

		assert_int_equal(store_hit_inflate(hit, out, tmp), 0);
		free(tmp);
	}
	return out;
}

/* The value of key is exactly v[0..len). @return whether it is stored compressed. */
static bool
assert_value(struct store_shard *s, const char *key, const void *v, size_t len)
{
	struct store_hit hit;
	uint32_t n;
	char *got = read_back(s, key, &hit, &n);

	assert_int_equal(n, len);
	assert_memory_equal(got, v, len);
	free(got);
	return store_hit_compressed(&hit);
}

/* ---- tests ---- */

static void
test_compressible_value_stored_compressed(void **state)
{
	struct store_shard *s = *state;
	char *v = text_value(1, 5000);
	struct store_hit hit;
	struct store_key k = key_s("doc");
	struct store_shard_stats st;

	assert_status(put(s, "doc", STORE_MODE_SET, v, 5000, 0xdeadbeef), STORE_STORED);
	assert_status(store_get(s, &k, &hit), STORE_HIT);
	assert_true(store_hit_compressed(&hit));
	assert_true(hit.nbytes < 2500);
	assert_int_equal(hit.client_flags, 0xdeadbeef); /* flags untouched */
	assert_int_equal(store_hit_raw_len(&hit), 5000);
	assert_true(assert_value(s, "doc", v, 5000));
	st = stats(s);
	assert_int_equal(st.compressed_items, 1);
	assert_int_equal(st.compressed_bytes_before, 5000);
	assert_int_equal(st.compressed_bytes_after, hit.nbytes);
	assert_int_equal(st.compressions, 1);
	assert_int_equal(st.compress_skipped, 0);
	assert_true(st.compress_cycles > 0);
	/* memcached's `bytes` counts what is held: the compressed size. */
	assert_int_equal(st.bytes, item_total_size(3, hit.nbytes));
	/* Replacing and deleting take it out of the gauges. */
	assert_status(put(s, "doc", STORE_MODE_SET, "small", 5, 0), STORE_STORED);
	st = stats(s);
	assert_int_equal(st.compressed_items, 0);
	assert_int_equal(st.compressed_bytes_before, 0);
	assert_int_equal(st.compressed_bytes_after, 0);
	assert_false(assert_value(s, "doc", "small", 5));
	free(v);
}

static void
test_incompressible_value_stored_as_is(void **state)
{
	struct store_shard *s = *state;
	char *v = random_value(7, 4000);
	struct store_shard_stats st;

	assert_status(put(s, "rnd", STORE_MODE_SET, v, 4000, 3), STORE_STORED);
	assert_false(assert_value(s, "rnd", v, 4000));
	st = stats(s);
	assert_int_equal(st.compressions, 1);
	assert_int_equal(st.compress_skipped, 1);
	assert_int_equal(st.compressed_items, 0);
	assert_int_equal(st.bytes, item_total_size(3, 4000));
	free(v);
}

static void
test_threshold(void **state)
{
	struct store_shard *s = *state;
	char *v = text_value(2, MIN + 100);

	/* One byte short of the minimum: not even tried. */
	assert_status(put(s, "a", STORE_MODE_SET, v, MIN - 1, 0), STORE_STORED);
	assert_int_equal(stats(s).compressions, 0);
	assert_false(assert_value(s, "a", v, MIN - 1));
	/* At the minimum: tried, and this text compresses. */
	assert_status(put(s, "b", STORE_MODE_SET, v, MIN, 0), STORE_STORED);
	assert_int_equal(stats(s).compressions, 1);
	assert_true(assert_value(s, "b", v, MIN));
	free(v);
}

/*
 * A value whose LZF output is a known share of it: compressed when the share saved is at
 * least compression_min_saving, else stored as it is.
 */
static void
test_saving_share(void **state)
{
	struct store_shard *s = *state;
	const size_t len = 8000;
	char *v = random_value(11, len);
	char *out = malloc(len);
	unsigned c;
	uint64_t stored;
	uint32_t saved_pct;

	/* Three quarters random, a quarter zeros: saves roughly a quarter. */
	memset(v + len * 3 / 4, 0, len / 4);
	c = lzf_compress(v, (unsigned)len, out, (unsigned)len);
	assert_true(c > 0);
	stored = ITEM_ZIP_HDR + (uint64_t)c;
	saved_pct = (uint32_t)((len - stored) * 100 / len);
	assert_true(saved_pct >= 15 && saved_pct <= 30);
	store_shard_destroy(&s);
	/* Asking for a share above what it saves: stored as it is. */
	s = shard_with(SHARD_MEM, true, MIN, saved_pct + 2);
	*state = s;
	assert_status(put(s, "v", STORE_MODE_SET, v, len, 0), STORE_STORED);
	assert_false(assert_value(s, "v", v, len));
	assert_int_equal(stats(s).compress_skipped, 1);
	store_shard_destroy(&s);
	/* At or below it: compressed. */
	s = shard_with(SHARD_MEM, true, MIN, saved_pct - 2);
	*state = s;
	assert_status(put(s, "v", STORE_MODE_SET, v, len, 0), STORE_STORED);
	assert_true(assert_value(s, "v", v, len));
	assert_int_equal(stats(s).compressed_bytes_after, stored);
	*state = s;
	free(v);
	free(out);
}

static void
test_off_never_compresses(void **state)
{
	struct store_shard *s = *state;
	char *v = text_value(3, 6000);

	store_shard_destroy(&s);
	s = shard_with(SHARD_MEM, false, MIN, 10);
	*state = s;
	assert_status(put(s, "doc", STORE_MODE_SET, v, 6000, 0), STORE_STORED);
	assert_false(assert_value(s, "doc", v, 6000));
	assert_int_equal(stats(s).compressions, 0);
	assert_int_equal(stats(s).compressed_items, 0);
	free(v);
}

/* Values larger than the largest chunk: compressed into a chained item, or chained as is. */
static void
test_chained_values(void **state)
{
	struct store_shard *s = *state;
	const size_t big = SHARD_ZIP_MAX;
	char *v = random_value(5, big);
	char *r = random_value(9, 700000);
	struct store_hit hit;
	struct store_key k = key_s("big");

	/* Half random, half text: compresses to about 0.6, still more than a chunk. */
	{
		char *t = text_value(4, big / 2);

		memcpy(v + big / 2, t, big / 2);
		free(t);
	}
	assert_status(put(s, "big", STORE_MODE_SET, v, big, 1), STORE_STORED);
	assert_status(store_get(s, &k, &hit), STORE_HIT);
	assert_true(store_hit_compressed(&hit));
	assert_non_null(hit.seg_next); /* chained */
	assert_true(hit.nbytes < big * 3 / 4);
	assert_true(hit.nbytes > (512u << 10));
	assert_true(assert_value(s, "big", v, big));
	/* Incompressible and larger than a chunk: chained, as without compression. */
	assert_status(put(s, "rnd", STORE_MODE_SET, r, 700000, 1), STORE_STORED);
	assert_false(assert_value(s, "rnd", r, 700000));
	/* Too large as the client sent it, however well it would compress: refused. */
	{
		enum store_status st;
		struct store_key kz = key_s("zeros");

		assert_null(store_item_alloc(s, &kz, 0, 0, (uint32_t)ITEM_MAX, &st));
		assert_status(st, STORE_TOO_LARGE);
	}
	free(v);
	free(r);
}

static void
test_append_prepend(void **state)
{
	struct store_shard *s = *state;
	char *v = text_value(6, 3000);
	char want[3000 + 2 * 400]; /* (on the stack: GCC -O3 reads an unchecked malloc as 0 bytes) */
	char *tail = text_value(60, 400);

	assert_status(put(s, "k", STORE_MODE_SET, v, 3000, 77), STORE_STORED);
	/* A short piece to a compressed value: decompressed, joined, compressed again. */
	assert_status(put(s, "k", STORE_MODE_APPEND, "!!", 2, 0), STORE_STORED);
	memcpy(want, v, 3000);
	memcpy(want + 3000, "!!", 2);
	assert_true(assert_value(s, "k", want, 3002));
	assert_status(put(s, "k", STORE_MODE_PREPEND, "<<", 2, 0), STORE_STORED);
	memmove(want + 2, want, 3002);
	memcpy(want, "<<", 2);
	assert_true(assert_value(s, "k", want, 3004));
	/* A piece big enough to be staged itself. */
	assert_status(put(s, "k", STORE_MODE_APPEND, tail, 400, 0), STORE_STORED);
	memcpy(want + 3004, tail, 400);
	assert_true(assert_value(s, "k", want, 3404));
	{
		struct store_hit hit;
		struct store_key k = key_s("k");

		assert_status(store_get(s, &k, &hit), STORE_HIT);
		assert_int_equal(hit.client_flags, 77); /* the old item's flags, as memcached */
	}
	/* Two small uncompressed values whose join reaches the minimum: compressed. */
	assert_status(put(s, "j", STORE_MODE_SET, v, MIN - 10, 0), STORE_STORED);
	assert_false(assert_value(s, "j", v, MIN - 10));
	assert_status(put(s, "j", STORE_MODE_APPEND, v + MIN - 10, 200, 0), STORE_STORED);
	assert_true(assert_value(s, "j", v, MIN + 190));
	/* Append to a missing key: not stored, the staged piece given back. */
	assert_status(put(s, "none", STORE_MODE_APPEND, tail, 400, 0), STORE_NOT_STORED);
	assert_int_equal(stats(s).compressed_items, 2);
	free(v);
	free(tail);
}

static void
test_incr_decr_on_compressed_number(void **state)
{
	struct store_shard *s = *state;
	char v[2000];
	char want[2000];
	uint64_t value = 0;
	struct store_key k = key_s("n");

	memset(v, ' ', sizeof(v));
	memcpy(v, "41", 2);
	assert_status(put(s, "n", STORE_MODE_SET, v, sizeof(v), 0), STORE_STORED);
	assert_true(assert_value(s, "n", v, sizeof(v)));
	assert_status(store_arith(s, &k, true, 1, &value, NULL), STORE_OK);
	assert_int_equal(value, 42);
	/* memcached pads the shorter-or-equal result with spaces to the old length. */
	memset(want, ' ', sizeof(want));
	memcpy(want, "42", 2);
	assert_true(assert_value(s, "n", want, sizeof(want)));
	assert_status(store_arith(s, &k, false, 40, &value, NULL), STORE_OK);
	assert_int_equal(value, 2);
	memcpy(want, "2 ", 2);
	assert_true(assert_value(s, "n", want, sizeof(want)));
	assert_true(stats(s).owner_decompressions >= 2);
	/* ma (meta arith) on the compressed item. */
	{
		struct store_arith_opts o = {0};
		struct store_arith_result r;

		assert_status(store_meta_arith(s, &k, true, 8, &o, &r), STORE_OK);
		assert_int_equal(r.value, 10);
		memcpy(want, "10", 2);
		assert_true(assert_value(s, "n", want, sizeof(want)));
	}
	/* Compressed text that is no number. */
	{
		char *t = text_value(8, 1000);
		struct store_key kt = key_s("t");

		assert_status(put(s, "t", STORE_MODE_SET, t, 1000, 0), STORE_STORED);
		assert_status(store_arith(s, &kt, true, 1, &value, NULL), STORE_NON_NUMERIC);
		assert_true(assert_value(s, "t", t, 1000));
		free(t);
	}
}

/* md I links a stale copy of the stored bytes: it stays compressed and reads the same. */
static void
test_invalidate_copy_keeps_compressed(void **state)
{
	struct store_shard *s = *state;
	char *v = text_value(9, 4000);
	struct store_key k = key_s("inv");
	struct store_invalidate_opts o = {.stale = true};
	struct store_hit hit;

	assert_status(put(s, "inv", STORE_MODE_SET, v, 4000, 5), STORE_STORED);
	assert_status(store_meta_invalidate(s, &k, &o, NULL), STORE_DELETED);
	assert_status(store_meta_get(s, &k, false, &hit), STORE_HIT);
	assert_true(hit.stale);
	assert_true(assert_value(s, "inv", v, 4000));
	assert_int_equal(stats(s).compressed_items, 1);
	free(v);
}

struct walk_seen {
	uint32_t nbytes, total;
};

static bool
on_item(const struct store_walk_item *it, void *arg)
{
	struct walk_seen *w = arg;

	w->nbytes = it->nbytes;
	w->total = it->total;
	return true;
}

/* The walk (metadump, cachedump) shows the client's length and the memory held. */
static void
test_walk_sizes(void **state)
{
	struct store_shard *s = *state;
	char *v = text_value(10, 9000);
	struct store_walk w = {0};
	struct walk_seen seen = {0};

	assert_status(put(s, "w", STORE_MODE_SET, v, 9000, 0), STORE_STORED);
	while (!w.done)
		store_walk(s, &w, UINT64_MAX, 1u << 20, on_item, &seen);
	assert_int_equal(seen.nbytes, 9000);
	assert_true(seen.total < item_total_size(1, 9000) / 2);
	free(v);
}

/* The same memory holds more compressible items with compression than without. */
static void
test_memory_follows_compressed_size(void **state)
{
	struct store_shard *s = *state;
	const unsigned n = 3000;
	const size_t len = 8000;
	uint64_t held[2];

	for (int on = 0; on < 2; on++) {
		store_shard_destroy(&s);
		s = shard_with(MEM_TEST, on, MIN, 10);
		*state = s;
		for (unsigned i = 0; i < n; i++) {
			char key[32];
			char *v = text_value(i, len);

			snprintf(key, sizeof(key), "doc%u", i);
			assert_status(put(s, key, STORE_MODE_SET, v, len, 0), STORE_STORED);
			free(v);
		}
		test_shard_settle(s);
		held[on] = stats(s).curr_items;
		/* The last one stored is there and reads back whole. */
		{
			char *v = text_value(n - 1, len);
			char key[32];

			snprintf(key, sizeof(key), "doc%u", n - 1);
			assert_int_equal(assert_value(s, key, v, len), (bool)on);
			free(v);
		}
		if (on)
			assert_int_equal(stats(s).evictions, 0);
	}
	/* MEM_TEST holds fewer than half of these as they are; compressed, every one. */
	assert_true(held[0] < n / 2);
	assert_int_equal(held[1], n);
	*state = s;
}

/* An allocated staging item given back leaves nothing behind, many times over. */
static void
test_abandon_staged(void **state)
{
	struct store_shard *s = *state;
	struct store_key k = key_s("ab");
	enum store_status st;

	for (int i = 0; i < 100; i++) {
		struct item *it = store_item_alloc(s, &k, 0, 0, 100000, &st);

		assert_non_null(it);
		memset(item_value(it), 'x', 100000);
		store_item_abandon(s, it);
	}
	assert_int_equal(stats(s).curr_items, 0);
	assert_int_equal(stats(s).bytes, 0);
	assert_status(put(s, "ab", STORE_MODE_ADD, "y", 1, 0), STORE_STORED);
	/* add on a live key with a staged value: not stored, the old one kept. */
	{
		char *v = text_value(12, 1000);

		assert_status(put(s, "ab", STORE_MODE_ADD, v, 1000, 0), STORE_NOT_STORED);
		assert_false(assert_value(s, "ab", "y", 1));
		free(v);
	}
}

/*
 * Values above SHARD_ZIP_MAX are stored as they are (compressing them would stall the owner),
 * and the owner's buffers do not keep a large value's size afterwards.
 */
static void
test_largest_compressed_and_buffers_trimmed(void **state)
{
	struct store_shard *s = *state;
	const size_t big = SHARD_ZIP_MAX + 1;
	char *v = calloc(1, big); /* zeros: LZF would shrink them to almost nothing */
	struct store_hit hit;
	struct store_key k = key_s("huge");

	store_shard_destroy(&s);
	{
		struct store_shard_params p = {
			.socket_id = SOCKET_ID_ANY,
			.mem_limit = 64u << 20,
			.item_size_max = 16u << 20,
			.digest_key = &env.digest_key,
			.clock = &env.clock,
			.cas_source = &env.cas,
			.reclaimer = env.reclaimer,
			.compress = {.enabled = true, .min = MIN, .min_saving = 10},
		};
		int err;

		s = store_shard_create(&p, &err);
		assert_non_null(s);
		*state = s;
	}
	assert_non_null(v);
	assert_status(put(s, "huge", STORE_MODE_SET, v, big, 0), STORE_STORED);
	assert_false(assert_value(s, "huge", v, big));
	assert_int_equal(stats(s).compressions, 0);
	/* One byte less: compressed. */
	assert_status(put(s, "huge", STORE_MODE_SET, v, big - 1, 0), STORE_STORED);
	assert_status(store_get(s, &k, &hit), STORE_HIT);
	assert_true(store_hit_compressed(&hit));
	assert_true(assert_value(s, "huge", v, big - 1));
	assert_true(s->zip.stage_cap <= SHARD_ZIP_KEEP);
	assert_true(s->zip.out_cap <= SHARD_ZIP_KEEP);
	/* An append that joins it through the flat buffer: that is given back too. */
	assert_status(put(s, "huge", STORE_MODE_APPEND, "x", 1, 0), STORE_STORED);
	v[big - 1] = 'x';
	assert_false(assert_value(s, "huge", v, big)); /* past the largest: as it is */
	assert_true(s->zip.flat_cap <= SHARD_ZIP_KEEP);
	assert_true(s->zip.stage_cap <= SHARD_ZIP_KEEP);
	free(v);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_compressible_value_stored_compressed),
		T(test_incompressible_value_stored_as_is),
		T(test_threshold),
		T(test_saving_share),
		T(test_off_never_compresses),
		T(test_chained_values),
		T(test_append_prepend),
		T(test_incr_decr_on_compressed_number),
		T(test_invalidate_copy_keeps_compressed),
		T(test_walk_sizes),
		T(test_memory_follows_compressed_size),
		T(test_abandon_staged),
		T(test_largest_compressed_and_buffers_trimmed),
	};

	test_eal_init("0", 256);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
