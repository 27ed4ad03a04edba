/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_RNG_H
#define NC_MCGEN_RNG_H

/*
 * Small random streams for the load: splitmix64 to seed and to hash, xorshift64* to draw.
 * A stream is one uint64_t owned by one thread; nothing here is shared.
 */

#include <math.h>
#include <stdint.h>

/** splitmix64 step: advances *@p x and returns 64 well-mixed bits. */
static inline uint64_t
mcgen_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/** A 64-bit hash of @p a and @p b (stateless). */
static inline uint64_t
mcgen_hash2(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull ^ b;

	return mcgen_splitmix(&x);
}

/** A stream seeded from @p seed and @p stream (never zero). */
static inline uint64_t
mcgen_rng_seed(uint64_t seed, uint64_t stream)
{
	uint64_t s = mcgen_hash2(seed, stream);

	return s != 0 ? s : 1;
}

/** xorshift64*: 64 random bits. */
static inline uint64_t
mcgen_rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/** A uniform double in [0, 1). */
static inline double
mcgen_rng_unit(uint64_t *s)
{
	return (double)(mcgen_rng_next(s) >> 11) * 0x1.0p-53;
}

/** A uniform integer in [0, n), n > 0 (multiply-shift; bias below 2^-32 for n < 2^32). */
static inline uint64_t
mcgen_rng_below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)mcgen_rng_next(s) * n) >> 64);
}

/** An exponential gap of mean @p mean (Poisson arrivals). */
static inline double
mcgen_rng_exp(uint64_t *s, double mean)
{
	return -mean * log1p(-mcgen_rng_unit(s));
}

#endif /* NC_MCGEN_RNG_H */
