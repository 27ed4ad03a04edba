/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Values stored compressed with LZF (store_shard_params.compress; off unless enabled).
 *
 * Where the bytes go:
 *  - A store of a value of at least compress.min bytes: store_item_alloc() hands out the
 *    shard's staging item (malloc'ed memory outside the slab, owner only; one at a time, as
 *    every allocated item) and the caller gathers the value into it as usual. The commit runs
 *    lzf_compress() into zip.out with room for at most (100 - min_saving)% of the value less
 *    the 4-byte length prefix: output that does not fit there saves too little, and the value
 *    is stored as it is. Only then is the slab item allocated, at the size it is stored at, so
 *    size class, -m and eviction follow the compressed size and no chunk of the full size is
 *    taken for a value stored compressed.
 *  - append/prepend on a compressed item, or whose result is at least compress.min: both
 *    parts are read into zip.flat as the clients wrote them (the compressed one decompressed),
 *    and the result is stored by the same rule as a store (recompressed when it saves enough).
 *  - incr/decr and ma on a compressed item: its value is decompressed into zip.flat and parsed
 *    there; the result (digits padded with spaces to the old length, as memcached) is stored by
 *    the same rule.
 *  - md I (stale copy) and page moves copy the stored bytes and the compressed bit as they are.
 *  - Reads: store_hit_inflate() decompresses into memory the caller brings (the server's
 *    per-worker scratch, reset at its quiescent state; see app/nicached/scratch.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lzf.h>
#include <rte_cycles.h>

#include "store/shard_private.h"

/* Grow *buf to at least n bytes. @return 0 or -ENOMEM (buffer unchanged). */
static int
buf_reserve(void **buf, size_t *cap, size_t n)
{
	void *p;

	if (*cap >= n)
		return 0;
	p = realloc(*buf, n);
	if (p == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

char *
shard_zip_flat(struct store_shard *s, size_t n)
{
	void *b = s->zip.flat;

	if (buf_reserve(&b, &s->zip.flat_cap, n ? n : 1) < 0)
		return NULL;
	s->zip.flat = b;
	return s->zip.flat;
}

/* Room for n bytes in zip.out. */
static char *
zip_out(struct store_shard *s, size_t n)
{
	void *b = s->zip.out;

	if (buf_reserve(&b, &s->zip.out_cap, n ? n : 1) < 0)
		return NULL;
	s->zip.out = b;
	return s->zip.out;
}

/*
 * After a store is done with the buffers (none of them is in use by the caller any more):
 * free those above SHARD_ZIP_KEEP (a large value passed), keep small ones warm.
 */
static void
zip_trim(struct store_shard *s)
{
	if (!s->zip.staged && s->zip.stage_cap > SHARD_ZIP_KEEP) {
		free(s->zip.stage);
		s->zip.stage = NULL;
		s->zip.stage_cap = 0;
	}
	if (s->zip.flat_cap > SHARD_ZIP_KEEP) {
		free(s->zip.flat);
		s->zip.flat = NULL;
		s->zip.flat_cap = 0;
	}
	if (s->zip.out_cap > SHARD_ZIP_KEEP) {
		free(s->zip.out);
		s->zip.out = NULL;
		s->zip.out_cap = 0;
	}
}

void
shard_zip_fini(struct store_shard *s)
{
	free(s->zip.stage);
	free(s->zip.flat);
	free(s->zip.out);
	memset(&s->zip, 0, sizeof(s->zip));
}

struct item *
shard_zip_stage(struct store_shard *s, const struct store_key *k, uint32_t client_flags,
		nc_reltime_t exptime, uint32_t nbytes, enum store_status *st)
{
	int clsid;
	void *b = s->zip.stage;
	struct item *it;

	if (k->len > STORE_KEY_MAX) {
		*st = STORE_KEY_TOO_LONG;
		return NULL;
	}
	/* The limits are the client's length's, as without compression (-I). */
	clsid = slab_class_for(&s->slab, item_total_size(k->len, nbytes));
	if (clsid < 0 && clsid != SLAB_CHAINED) {
		*st = STORE_TOO_LARGE;
		return NULL;
	}
	if (buf_reserve(&b, &s->zip.stage_cap, item_total_size(k->len, nbytes)) < 0) {
		*st = STORE_NO_MEMORY;
		return NULL;
	}
	it = s->zip.stage = b;
	memset(it, 0, sizeof(*it));
	tw_node_init(&it->tw);
	it->state = ITEM_ALLOCATED;
	it->exptime = exptime;
	it->touch = nc_clock_ticks(s->clock);
	it->client_flags = client_flags;
	it->nbytes = nbytes;
	it->nkey = (uint8_t)k->len;
	memcpy(it->data, k->key, k->len);
	s->zip.staged = true;
	*st = STORE_STORED;
	return it;
}

void
shard_zip_unstage(struct store_shard *s)
{
	if (s->inflight == s->zip.stage)
		s->inflight = NULL;
	s->zip.staged = false;
	zip_trim(s);
}

/*
 * Compress raw[0..n) into zip.out if the result saves at least min_saving percent of n,
 * counting the length prefix. @return the LZF bytes, or 0 when it is stored as it is.
 */
static uint32_t
zip_compress(struct store_shard *s, const char *raw, uint32_t n)
{
	uint64_t keep = (uint64_t)n * (100 - s->zip.p.min_saving) / 100;
	char *out;
	uint64_t t0;
	unsigned c;

	/* lzf_compress needs at least a byte of room, and must save something. */
	if (keep <= ITEM_ZIP_HDR + 1 || n == 0)
		return 0;
	if (keep >= n)
		keep = n - 1;
	out = zip_out(s, keep);
	if (out == NULL)
		return 0;
	t0 = rte_rdtsc();
	c = lzf_compress(raw, n, out, (unsigned)(keep - ITEM_ZIP_HDR));
	STAT_ADD(s, compress_cycles, rte_rdtsc() - t0);
	STAT_ADD(s, compressions, 1);
	if (c == 0)
		STAT_ADD(s, compress_skipped, 1);
	return c;
}

struct item *
shard_item_from_flat(struct store_shard *s, const struct store_key *k, uint32_t client_flags,
		     nc_reltime_t exptime, const char *raw, uint32_t n, enum store_status *st)
{
	uint32_t c = shard_zip_wants(s, n) ? zip_compress(s, raw, n) : 0;
	struct item_writer w;
	struct item *it;

	it = shard_item_alloc_rel(s, k, client_flags, exptime, c ? ITEM_ZIP_HDR + c : n, st);
	if (it == NULL) {
		zip_trim(s);
		return NULL;
	}
	s->inflight = it;
	item_writer_init(&w, it);
	if (c != 0) {
		item_writer_put(&w, &n, ITEM_ZIP_HDR);
		item_writer_put(&w, s->zip.out, c);
		it->meta |= ITEM_META_COMPRESSED;
	} else {
		item_writer_put(&w, raw, n);
	}
	zip_trim(s);
	return it;
}


struct item *
shard_zip_finish(struct store_shard *s, struct item *staged, const struct store_key *k,
		 enum store_status *st)
{
	/* The new item is pinned instead (shard_item_from_flat()); the staging one is done. */
	if (s->inflight == staged)
		s->inflight = NULL;
	s->zip.staged = false; /* (its bytes are read below, then zip_trim may free them) */
	return shard_item_from_flat(s, k, staged->client_flags, staged->exptime,
				    item_value_const(staged), staged->nbytes, st);
}

/* Decompress LZF data in[0..n) into dst, which must come out exactly @p want bytes. */
static int
zip_inflate(const void *in, uint32_t n, void *dst, uint32_t want)
{
	unsigned got;

	if (want == 0)
		return n == 0 ? 0 : -EIO;
	got = lzf_decompress(in, n, dst, want);
	return got == want ? 0 : -EIO;
}

int
shard_item_read_raw(struct store_shard *s, const struct item *it, char *dst)
{
	uint32_t want, n;
	const char *in;
	uint64_t t0;
	int rc;

	if (!item_is_compressed(it)) {
		item_value_read(it, 0, dst, it->nbytes);
		return 0;
	}
	want = item_value_len(it);
	n = it->nbytes - ITEM_ZIP_HDR;
	if (item_is_chained(it)) {
		char *tmp = zip_out(s, n);

		if (tmp == NULL)
			return -ENOMEM;
		item_value_read(it, ITEM_ZIP_HDR, tmp, n);
		in = tmp;
	} else {
		in = item_value_const(it) + ITEM_ZIP_HDR;
	}
	t0 = rte_rdtsc();
	rc = zip_inflate(in, n, dst, want);
	STAT_ADD(s, owner_decompress_cycles, rte_rdtsc() - t0);
	STAT_ADD(s, owner_decompressions, 1);
	return rc;
}

/* ---- readers ---- */

uint32_t
store_hit_raw_len(const struct store_hit *hit)
{
	return item_value_len(hit->it);
}

int
store_hit_inflate(const struct store_hit *hit, void *dst, void *tmp)
{
	uint32_t want = item_value_len(hit->it);
	uint32_t n = hit->nbytes - ITEM_ZIP_HDR;

	if (hit->nbytes < ITEM_ZIP_HDR)
		return -EIO;
	if (hit->seg_next != NULL) {
		if (tmp == NULL)
			return -EINVAL;
		item_value_read(hit->it, ITEM_ZIP_HDR, tmp, n);
		return zip_inflate(tmp, n, dst, want);
	}
	return zip_inflate(hit->value + ITEM_ZIP_HDR, n, dst, want);
}
