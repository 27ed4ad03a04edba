/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_DIGEST_H
#define NC_CORE_DIGEST_H

/*
 * Keyed 128-bit digest of a memcached key: picks the key's shard, its index buckets and tag.
 *
 * The digest is SipHash-1-3 with 128-bit output (Aumasson & Bernstein), keyed with a secret
 * seed drawn at process start, so clients cannot choose keys that collide in the index or pile
 * onto one shard. SipHash-2-4-128 is exposed as well so tests can check the construction
 * against the published reference vectors.
 *
 * Threads: every function here is pure and reentrant except nc_digest_seed_random(), which
 * only reads the kernel's random source; any thread may call any of them at any time.
 */

#include <stddef.h>
#include <stdint.h>

/** 16-byte digest. lo/hi are the two output words. */
struct nc_digest {
	uint64_t lo; /* first SipHash-128 output word (output bytes 0..7, little-endian) */
	uint64_t hi; /* second SipHash-128 output word (output bytes 8..15, little-endian) */
};

/** 128-bit secret seed. */
struct nc_digest_seed {
	uint64_t k0; /* SipHash key bytes 0..7 read little-endian */
	uint64_t k1; /* SipHash key bytes 8..15 read little-endian */
};

/**
 * Fill seed from getrandom(2) (fall back to /dev/urandom); returns 0 or negative errno.
 * Blocks only if the kernel entropy pool is not yet initialised. Thread-safe.
 */
int nc_digest_seed_random(struct nc_digest_seed *seed);

/**
 * Keyed SipHash-1-3 with 128-bit output of key[0..len). @p key may be unaligned and may be
 * NULL when @p len is 0. Pure and reentrant.
 */
void nc_digest_compute(const struct nc_digest_seed *seed, const void *key, size_t len,
		       struct nc_digest *out);

/**
 * SipHash-2-4-128 (reference variant; used by tests to check the construction). Same
 * conventions as nc_digest_compute(). Pure and reentrant.
 */
void nc_digest_siphash24(const struct nc_digest_seed *seed, const void *key, size_t len,
			 struct nc_digest *out);

/**
 * The index's bucket hash (low 32 bits of hi); the index's tag is the top 16 bits of hi.
 * Pure and reentrant.
 */
static inline uint32_t
nc_digest_bucket_hash(const struct nc_digest *d)
{
	return (uint32_t)d->hi;
}

/** The index's 16-bit tag of a digest (top bits of hi). Pure and reentrant. */
static inline uint32_t
nc_digest_tag(const struct nc_digest *d)
{
	return (uint32_t)(d->hi >> 48);
}

/**
 * Which of n shards (n > 0) owns a digest; uses bits independent of the index's (lo's top
 * half).
 * Returns a value in [0, n). Pure and reentrant.
 */
static inline unsigned
nc_digest_shard(const struct nc_digest *d, unsigned n)
{
	return (unsigned)(((d->lo >> 32) * (uint64_t)n) >> 32);
}

#endif /* NC_CORE_DIGEST_H */
