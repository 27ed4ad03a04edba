/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_DIGEST_H
#define NC_CORE_DIGEST_H

/*
 * Keyed 128-bit digest of a memcached key: picks the key's shard, its index buckets and tag.
 *
 * The digest is a keyed pseudo-random function of the key under a secret seed drawn at process
 * start, so clients cannot choose keys that collide in the index or pile onto one shard:
 * AES-CMAC with AES-128 (RFC 4493) on CPUs with AES-NI (one AES block per 16 key bytes, about
 * 40 instructions for a 16-byte key), SipHash-1-3 with 128-bit output (Aumasson & Bernstein)
 * elsewhere. The seed is expanded once into a struct nc_digest_key (round keys and CMAC
 * subkeys), which every digest then reads. One process uses one kind throughout; digests are
 * never stored or sent, so processes may differ. SipHash-2-4-128 is exposed as well so tests
 * can check the construction against the published reference vectors.
 *
 * Threads: every function here is pure and reentrant except nc_digest_seed_random(), which
 * only reads the kernel's random source; any thread may call any of them at any time, and a
 * key, once initialised, may be read by any number of threads.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** 16-byte digest. lo/hi are the two output words. */
struct nc_digest {
	uint64_t lo; /* output bytes 0..7, read little-endian */
	uint64_t hi; /* output bytes 8..15, read little-endian */
};

/** 128-bit secret seed. */
struct nc_digest_seed {
	uint64_t k0; /* key bytes 0..7 read little-endian */
	uint64_t k1; /* key bytes 8..15 read little-endian */
};

/** The keyed functions a digest key can stand for. */
enum nc_digest_kind {
	NC_DIGEST_UNSET,     /* a zeroed key: not initialised (index_init() refuses it) */
	NC_DIGEST_AES_CMAC,  /* AES-CMAC (RFC 4493), AES-128; needs AES-NI */
	NC_DIGEST_SIPHASH13, /* SipHash-1-3 with 128-bit output; any CPU */
};

/**
 * A seed made ready to digest with (nc_digest_key_init()): read-only afterwards, so one key
 * serves every thread of a process.
 */
struct nc_digest_key {
	uint8_t aes_round[11][16] __attribute__((aligned(16))); /* AES-128 key schedule */
	uint8_t cmac_k1[16] __attribute__((aligned(16))); /* CMAC subkey for a whole last block */
	uint8_t cmac_k2[16] __attribute__((aligned(16))); /* CMAC subkey for a padded last block */
	struct nc_digest_seed seed;			   /* the seed itself (SipHash's key) */
	enum nc_digest_kind kind;			   /* what nc_digest_compute() computes */
};

/** The name of @p kind ("aes-cmac", "siphash-1-3"; "?" for any other). Any thread. */
const char *nc_digest_kind_name(enum nc_digest_kind kind);

/**
 * Fill seed from getrandom(2) (fall back to /dev/urandom); returns 0 or negative errno.
 * Blocks only if the kernel entropy pool is not yet initialised. Thread-safe.
 */
int nc_digest_seed_random(struct nc_digest_seed *seed);

/** True when this CPU runs NC_DIGEST_AES_CMAC (has AES-NI). Any thread. */
bool nc_digest_aes_available(void);

/**
 * Expand @p seed into @p key for the fastest kind this CPU runs: AES-CMAC where
 * nc_digest_aes_available(), else SipHash-1-3. Pure apart from the CPU check; any thread.
 */
void nc_digest_key_init(struct nc_digest_key *key, const struct nc_digest_seed *seed);

/**
 * Expand @p seed into @p key for @p kind. Returns 0, -ENOTSUP when @p kind is AES-CMAC and the
 * CPU has no AES-NI, or -EINVAL for NC_DIGEST_UNSET or an unknown kind; on an error @p key is
 * set up for SipHash-1-3 under @p seed (usable, not what was asked for). Any thread.
 */
int nc_digest_key_init_kind(struct nc_digest_key *key, const struct nc_digest_seed *seed,
			    enum nc_digest_kind kind);

/**
 * The digest of msg[0..len) under @p key (its kind's function; @p key initialised by
 * nc_digest_key_init*()). @p msg may be unaligned and may be NULL when @p len is 0. Pure and
 * reentrant.
 */
void nc_digest_compute(const struct nc_digest_key *key, const void *msg, size_t len,
		       struct nc_digest *out);

/**
 * SipHash-1-3 with 128-bit output of msg[0..len) under @p seed (what nc_digest_compute()
 * computes for a SipHash key). Same conventions as nc_digest_compute(). Pure and reentrant.
 */
void nc_digest_siphash13(const struct nc_digest_seed *seed, const void *msg, size_t len,
			 struct nc_digest *out);

/**
 * SipHash-2-4-128 (reference variant; used by tests to check the construction). Same
 * conventions as nc_digest_compute(). Pure and reentrant.
 */
void nc_digest_siphash24(const struct nc_digest_seed *seed, const void *msg, size_t len,
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
