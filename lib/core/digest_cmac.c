/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AES-CMAC (RFC 4493) with AES-128 on AES-NI. The library is built for a baseline x86-64
 * (DPDK's -march=corei7 has no AES), so these functions alone are compiled for AES-NI
 * (target attribute) and run only after digest_cmac_available() said the CPU has it.
 *
 * CMAC of an n-block message: X = 0; X = AES(K, X ^ M_i) for every block but the last; the
 * last block is XORed with subkey K1 when it is whole, or padded (the bytes, 0x80, zeros) and
 * XORed with K2 when it is short or the message is empty; the tag is AES(K, X ^ last).
 */
#include "core/digest_cmac.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define CMAC_TARGET __attribute__((target("aes,sse2")))
#define CMAC_INLINE inline __attribute__((always_inline, target("aes,sse2")))

bool
digest_cmac_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes");
}

/* One step of the AES-128 key schedule: the previous round key and its keygenassist. */
static CMAC_INLINE __m128i
expand_step(__m128i key, __m128i assist)
{
	assist = _mm_shuffle_epi32(assist, 0xff);
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
	return _mm_xor_si128(key, assist);
}

/* AES-128 encryption of one block under the round keys @p rk[0..10]. */
static CMAC_INLINE __m128i
aes128(const __m128i *rk, __m128i x)
{
	x = _mm_xor_si128(x, _mm_load_si128(&rk[0]));
#if defined(__clang__)
#pragma unroll
#elif defined(__GNUC__)
#pragma GCC unroll 9
#endif
	for (int i = 1; i < 10; i++)
		x = _mm_aesenc_si128(x, _mm_load_si128(&rk[i]));
	return _mm_aesenclast_si128(x, _mm_load_si128(&rk[10]));
}

/* The CMAC subkey doubling: @p in as a 128-bit big-endian number, times x in GF(2^128). */
static void
cmac_double(const uint8_t in[16], uint8_t out[16])
{
	uint8_t carry = in[0] >> 7;

	for (int i = 0; i < 15; i++)
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	out[15] = (uint8_t)(in[15] << 1 ^ (carry ? 0x87 : 0));
}

CMAC_TARGET void
digest_cmac_expand(struct nc_digest_key *key, const uint8_t k[16])
{
	__m128i *rk = (__m128i *)key->aes_round;
	uint8_t l[16];

	rk[0] = _mm_loadu_si128((const __m128i *)k);
	/* (the round constant of _mm_aeskeygenassist_si128 must be an immediate) */
	rk[1] = expand_step(rk[0], _mm_aeskeygenassist_si128(rk[0], 0x01));
	rk[2] = expand_step(rk[1], _mm_aeskeygenassist_si128(rk[1], 0x02));
	rk[3] = expand_step(rk[2], _mm_aeskeygenassist_si128(rk[2], 0x04));
	rk[4] = expand_step(rk[3], _mm_aeskeygenassist_si128(rk[3], 0x08));
	rk[5] = expand_step(rk[4], _mm_aeskeygenassist_si128(rk[4], 0x10));
	rk[6] = expand_step(rk[5], _mm_aeskeygenassist_si128(rk[5], 0x20));
	rk[7] = expand_step(rk[6], _mm_aeskeygenassist_si128(rk[6], 0x40));
	rk[8] = expand_step(rk[7], _mm_aeskeygenassist_si128(rk[7], 0x80));
	rk[9] = expand_step(rk[8], _mm_aeskeygenassist_si128(rk[8], 0x1b));
	rk[10] = expand_step(rk[9], _mm_aeskeygenassist_si128(rk[9], 0x36));
	/* RFC 4493 2.3: L = AES(K, 0); K1 = 2L; K2 = 2K1. */
	_mm_storeu_si128((__m128i *)l, aes128(rk, _mm_setzero_si128()));
	cmac_double(l, key->cmac_k1);
	cmac_double(key->cmac_k1, key->cmac_k2);
	memset(l, 0, sizeof(l));
	__asm__ __volatile__("" : : "r"(l) : "memory");
}

static CMAC_INLINE uint64_t
load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

static CMAC_INLINE uint64_t
load32(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * The padded last block of a message whose last @p rem (0..15) bytes are at @p p: those bytes,
 * 0x80, zeros. Reads p[0..rem) only, in at most two loads (overlapping where rem is not a
 * power of two).
 */
static CMAC_INLINE __m128i
padded_block(const uint8_t *p, size_t rem)
{
	uint64_t lo, hi = 0;

	if (rem >= 8) {
		lo = load64(p);
		if (rem > 8)
			hi = load64(p + rem - 8) >> (8 * (16 - rem));
		hi |= UINT64_C(0x80) << (8 * (rem - 8));
	} else {
		if (rem >= 4)
			lo = load32(p) | (load32(p + rem - 4) >> (8 * (8 - rem))) << 32;
		else if (rem > 0)
			lo = (uint64_t)p[0] | (uint64_t)p[rem / 2] << (8 * (rem / 2)) |
			     (uint64_t)p[rem - 1] << (8 * (rem - 1));
		else
			lo = 0;
		lo |= UINT64_C(0x80) << (8 * rem);
	}
	return _mm_set_epi64x((long long)hi, (long long)lo);
}

CMAC_TARGET void
digest_cmac(const struct nc_digest_key *key, const void *msg, size_t len, struct nc_digest *out)
{
	const __m128i *rk = (const __m128i *)key->aes_round;
	const uint8_t *p = msg;
	__m128i x = _mm_setzero_si128(), last;

	/* Every block but the last goes through the chain; the last is whole only at 16n > 0. */
	for (; len > 16; len -= 16, p += 16)
		x = aes128(rk, _mm_xor_si128(x, _mm_loadu_si128((const __m128i *)p)));
	if (len == 16)
		last = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p),
				     _mm_load_si128((const __m128i *)key->cmac_k1));
	else
		last = _mm_xor_si128(padded_block(p, len),
				     _mm_load_si128((const __m128i *)key->cmac_k2));
	_mm_storeu_si128((__m128i *)out, aes128(rk, _mm_xor_si128(x, last)));
}

#else /* no AES-NI in this build: nc_digest_key_init() never picks AES-CMAC */

bool
digest_cmac_available(void)
{
	return false;
}

void
digest_cmac_expand(struct nc_digest_key *key, const uint8_t k[16])
{
	(void)key;
	(void)k;
	abort(); /* unreachable: digest_cmac_available() is false */
}

void
digest_cmac(const struct nc_digest_key *key, const void *msg, size_t len, struct nc_digest *out)
{
	(void)key;
	(void)msg;
	(void)len;
	(void)out;
	abort(); /* unreachable: digest_cmac_available() is false */
}

#endif
