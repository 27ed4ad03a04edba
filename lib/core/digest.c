/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/digest.h"
#include "core/digest_cmac.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

_Static_assert(sizeof(struct nc_digest) == 16, "nc_digest is 16 bytes");
_Static_assert(sizeof(struct nc_digest_seed) == 16, "nc_digest_seed is a 128-bit key");

#if defined(__has_attribute)
#if __has_attribute(__fallthrough__)
#define DIGEST_FALLTHROUGH __attribute__((__fallthrough__))
#endif
#endif
#ifndef DIGEST_FALLTHROUGH
/* Compilers without the attribute do not warn about fallthrough either. */
#define DIGEST_FALLTHROUGH ((void)0)
#endif

#define DIGEST_ALWAYS_INLINE inline __attribute__((__always_inline__))

/* SipHash state: the four 64-bit words v0..v3. */
struct sip_state {
	uint64_t v0;
	uint64_t v1;
	uint64_t v2;
	uint64_t v3;
};

static DIGEST_ALWAYS_INLINE uint64_t
rotl64(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Little-endian 64-bit load from any alignment. */
static DIGEST_ALWAYS_INLINE uint64_t
load_le64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* Little-endian 32-bit load from any alignment. */
static DIGEST_ALWAYS_INLINE uint64_t
load_le32(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap32(w);
#endif
	return w;
}

static DIGEST_ALWAYS_INLINE void
sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

/* @p n is a compile-time constant at every call site: unroll the loop completely. */
static DIGEST_ALWAYS_INLINE void
sip_rounds(struct sip_state *s, unsigned int n)
{
#if defined(__clang__)
#pragma unroll
#elif defined(__GNUC__)
#pragma GCC unroll 8
#endif
	for (unsigned int i = 0; i < n; i++)
		sip_round(s);
}

static DIGEST_ALWAYS_INLINE void
sip_compress(struct sip_state *s, uint64_t m, unsigned int c_rounds)
{
	s->v3 ^= m;
	sip_rounds(s, c_rounds);
	s->v0 ^= m;
}

/*
 * SipHash-c-d with 128-bit output. @p c_rounds and @p d_rounds must be compile-time
 * constants (the function is always inlined into its callers).
 */
static DIGEST_ALWAYS_INLINE void
siphash128(const struct nc_digest_seed *seed, const void *msg, size_t len, struct nc_digest *out,
	   unsigned int c_rounds, unsigned int d_rounds)
{
	const uint8_t *p = msg;
	struct sip_state s;
	uint64_t b = (uint64_t)len << 56;

	s.v0 = seed->k0 ^ UINT64_C(0x736f6d6570736575);
	s.v1 = seed->k1 ^ UINT64_C(0x646f72616e646f6d) ^ 0xee;
	s.v2 = seed->k0 ^ UINT64_C(0x6c7967656e657261);
	s.v3 = seed->k1 ^ UINT64_C(0x7465646279746573);

	for (size_t words = len >> 3; words > 0; words--, p += 8)
		sip_compress(&s, load_le64(p), c_rounds);

	/* Last block: the 0..7 remaining bytes, with len mod 256 in the top byte. */
	switch (len & 7) {
	case 7:
		b |= (uint64_t)p[6] << 48;
		DIGEST_FALLTHROUGH;
	case 6:
		b |= (uint64_t)p[5] << 40;
		DIGEST_FALLTHROUGH;
	case 5:
		b |= (uint64_t)p[4] << 32;
		DIGEST_FALLTHROUGH;
	case 4:
		b |= load_le32(p);
		break;
	case 3:
		b |= (uint64_t)p[2] << 16;
		DIGEST_FALLTHROUGH;
	case 2:
		b |= (uint64_t)p[1] << 8;
		DIGEST_FALLTHROUGH;
	case 1:
		b |= (uint64_t)p[0];
		break;
	default:
		break;
	}
	sip_compress(&s, b, c_rounds);

	s.v2 ^= 0xee;
	sip_rounds(&s, d_rounds);
	out->lo = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;

	s.v1 ^= 0xdd;
	sip_rounds(&s, d_rounds);
	out->hi = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

void
nc_digest_siphash13(const struct nc_digest_seed *seed, const void *msg, size_t len,
		    struct nc_digest *out)
{
	siphash128(seed, msg, len, out, 1, 3);
}

void
nc_digest_siphash24(const struct nc_digest_seed *seed, const void *msg, size_t len,
		    struct nc_digest *out)
{
	siphash128(seed, msg, len, out, 2, 4);
}

const char *
nc_digest_kind_name(enum nc_digest_kind kind)
{
	switch (kind) {
	case NC_DIGEST_AES_CMAC:
		return "aes-cmac";
	case NC_DIGEST_SIPHASH13:
		return "siphash-1-3";
	case NC_DIGEST_UNSET:
		break;
	}
	return "?";
}

bool
nc_digest_aes_available(void)
{
	return digest_cmac_available();
}

int
nc_digest_key_init_kind(struct nc_digest_key *key, const struct nc_digest_seed *seed,
			enum nc_digest_kind kind)
{
	uint8_t k[16];

	memset(key, 0, sizeof(*key));
	key->seed = *seed;
	key->kind = NC_DIGEST_SIPHASH13; /* (what an error leaves) */
	switch (kind) {
	case NC_DIGEST_SIPHASH13:
		return 0;
	case NC_DIGEST_AES_CMAC:
		if (!digest_cmac_available())
			return -ENOTSUP;
		key->kind = NC_DIGEST_AES_CMAC;
		/* The seed's 16 bytes in the order SipHash reads them. */
		for (int i = 0; i < 8; i++) {
			k[i] = (uint8_t)(seed->k0 >> (8 * i));
			k[8 + i] = (uint8_t)(seed->k1 >> (8 * i));
		}
		digest_cmac_expand(key, k);
		memset(k, 0, sizeof(k));
		__asm__ __volatile__("" : : "r"(k) : "memory");
		return 0;
	case NC_DIGEST_UNSET:
		break;
	}
	return -EINVAL;
}

void
nc_digest_key_init(struct nc_digest_key *key, const struct nc_digest_seed *seed)
{
	(void)nc_digest_key_init_kind(key, seed,
				      digest_cmac_available() ? NC_DIGEST_AES_CMAC :
								NC_DIGEST_SIPHASH13);
}

void
nc_digest_compute(const struct nc_digest_key *key, const void *msg, size_t len,
		  struct nc_digest *out)
{
	if (__builtin_expect(key->kind == NC_DIGEST_AES_CMAC, 1))
		digest_cmac(key, msg, len, out);
	else
		siphash128(&key->seed, msg, len, out, 1, 3);
}

/* Read exactly @p len bytes from /dev/urandom; 0 or negative errno. */
static int
seed_from_urandom(void *buf, size_t len)
{
	uint8_t *p = buf;
	int fd;
	int ret = 0;

	do {
		fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0) {
			ret = -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	close(fd);
	return ret;
}

int
nc_digest_seed_random(struct nc_digest_seed *seed)
{
	uint8_t buf[sizeof(*seed)];
	size_t got = 0;
	int ret = 0;

	while (got < sizeof(buf)) {
		ssize_t n = getrandom(buf + got, sizeof(buf) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOSYS (old kernel) or EPERM (seccomp filter): use the device. */
			ret = seed_from_urandom(buf + got, sizeof(buf) - got);
			if (ret == 0)
				got = sizeof(buf);
			break;
		}
		got += (size_t)n;
	}
	if (ret == 0) {
		memcpy(&seed->k0, buf, sizeof(seed->k0));
		memcpy(&seed->k1, buf + sizeof(seed->k0), sizeof(seed->k1));
	}
	/* Do not leave a copy of the secret on the stack. */
	memset(buf, 0, sizeof(buf));
	__asm__ __volatile__("" : : "r"(buf) : "memory");
	return ret;
}
