/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_CKSUM_H
#define NC_NET_CKSUM_H

/*
 * The Internet checksum (RFC 1071) in software, for NICs without checksum offload (the
 * virtual devices of the lab among them): the 16-bit one's-complement sum does not depend on
 * the order or width of the additions as long as every carry is folded back (RFC 1071,
 * section 2), so 64-bit loads are summed with their carries (on x86-64 in add-with-carry
 * chains, 64 bytes a step) and folded at the end. DPDK 22.11's rte_raw_cksum() adds 2 bytes
 * per step.
 *
 * Every result is in memory order, like rte_raw_cksum(): the value to store in a header field
 * as is (after inversion), or to compare with 0xffff when checking a received sum.
 * Any thread; no state.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_ip.h>

/* The 64-bit word at @p p (any alignment), in memory order. */
static inline uint64_t
net_cksum_load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * The last @p len & 7 bytes at @p p as one word to add: a 16-bit word's place in the sum does
 * not matter (2^16 = 1 modulo 2^16 - 1), only which byte of it each byte is, so the 4-byte,
 * 2-byte and odd-byte pieces are added where they lie in a word, unshifted; the odd byte is
 * the first byte of a 16-bit word whose second byte is 0.
 */
static inline uint64_t
net_cksum_tail(const uint8_t *p, size_t len)
{
	uint64_t w = 0;

	if (len & 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		w = v;
		p += 4;
	}
	if (len & 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		w += h;
		p += 2;
	}
	if (len & 1) {
		uint16_t last = 0;

		memcpy(&last, p, 1);
		w += last;
	}
	return w;
}

/* NC_CKSUM_PORTABLE: the portable C path on x86-64 too (its unit test, net_cksum_portable). */
#if defined(__x86_64__) && !defined(NC_CKSUM_PORTABLE)
/* The add-with-carry chains of net_cksum_words() over 1, 2, 4 and 8 words. */
#define NET_CKSUM_ASM_1 "addq 0(%[p]), %[s]\n\t"
#define NET_CKSUM_ASM_2 NET_CKSUM_ASM_1 "adcq 8(%[p]), %[s]\n\t"
#define NET_CKSUM_ASM_4 NET_CKSUM_ASM_2 "adcq 16(%[p]), %[s]\n\tadcq 24(%[p]), %[s]\n\t"
#define NET_CKSUM_ASM_8                                                  \
	NET_CKSUM_ASM_4 "adcq 32(%[p]), %[s]\n\tadcq 40(%[p]), %[s]\n\t" \
			"adcq 48(%[p]), %[s]\n\tadcq 56(%[p]), %[s]\n\t"
/* @p s plus the @p n words at @p p, the chain's last carry added back. */
#define NET_CKSUM_ASM(s, p, n)                                     \
	__asm__(NET_CKSUM_ASM_##n "adcq $0, %[s]"                  \
		: [s] "+r"(s)                                      \
		: [p] "r"(p), "m"(*(const uint8_t(*)[8 * (n)])(p)) \
		: "cc")

/*
 * @p s plus the @p n 64-bit words at @p p (n 1, 2, 4 or 8, a constant once inlined) in one
 * add-with-carry chain, its last carry added back (the end-around carry of the
 * one's-complement sum: 2^64 = 1 modulo 2^16 - 1). In assembly because GCC 12 keeps the sum
 * that _addcarry_u64() writes through a pointer in memory: a store per word.
 */
static inline __attribute__((always_inline)) uint64_t
net_cksum_words(uint64_t s, const uint8_t *p, unsigned n)
{
	switch (n) {
	case 8:
		NET_CKSUM_ASM(s, p, 8);
		break;
	case 4:
		NET_CKSUM_ASM(s, p, 4);
		break;
	case 2:
		NET_CKSUM_ASM(s, p, 2);
		break;
	default:
		NET_CKSUM_ASM(s, p, 1);
		break;
	}
	return s;
}

/**
 * Add the 16-bit words of @p len bytes at @p buf (any alignment) to @p sum; unfolded.
 * 64-bit words in add-with-carry chains (net_cksum_words()), 64 bytes a step, then 32, 16, 8
 * and the last few.
 */
static inline __attribute__((always_inline)) uint64_t
net_cksum_add(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	uint64_t s = sum, w;

	for (; len >= 64; len -= 64, p += 64)
		s = net_cksum_words(s, p, 8);
	if (len & 32) {
		s = net_cksum_words(s, p, 4);
		p += 32;
	}
	if (len & 16) {
		s = net_cksum_words(s, p, 2);
		p += 16;
	}
	if (len & 8) {
		s = net_cksum_words(s, p, 1);
		p += 8;
	}
	w = net_cksum_tail(p, len & 7);
	s += w;
	return s + (s < w);
}
#else
/**
 * Add the 16-bit words of @p len bytes at @p buf (any alignment) to @p sum; unfolded.
 * 64-bit words are added with their carries counted apart (the end-around carry of the
 * one's-complement sum: 2^64 = 1 modulo 2^16 - 1), added back at the end.
 */
static inline uint64_t
net_cksum_add(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	uint64_t s = sum, c = 0;

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v = net_cksum_load64(p);

		s += v;
		c += s < v;
	}
	c += net_cksum_tail(p, len & 7); /* (c stays far below 2^63) */
	s += c;
	return s + (s < c);
}
#endif

/**
 * Fold an unfolded sum from net_cksum_add() to 16 bits (not inverted): the two 32-bit halves
 * added with their end-around carry, then the two 16-bit halves of that, as the top half of
 * the word plus itself rotated by 16 (the carry out of the bottom half is the end-around one).
 */
static inline uint16_t
net_cksum_fold(uint64_t sum)
{
	uint32_t hi = (uint32_t)(sum >> 32), s = (uint32_t)sum + hi;

	s += s < hi;
	return (uint16_t)((s + ((s << 16) | (s >> 16))) >> 16);
}

/** The folded sum of @p len bytes at @p buf (what rte_raw_cksum() returns). */
static inline uint16_t
net_cksum(const void *buf, size_t len)
{
	return net_cksum_fold(net_cksum_add(buf, len, 0));
}

/**
 * The IPv4 pseudo-header of a UDP or TCP segment from @p src to @p dst (network order),
 * protocol @p proto, @p l4_len bytes of L4 header and data, unfolded.
 */
static inline uint64_t
net_cksum_phdr_of(rte_be32_t src, rte_be32_t dst, uint8_t proto, uint16_t l4_len)
{
	return (uint64_t)src + dst + rte_cpu_to_be_16((uint16_t)proto) + rte_cpu_to_be_16(l4_len);
}

/**
 * net_cksum_phdr_of() for the segment after IPv4 header @p ip (its addresses and protocol),
 * @p l4_len bytes long.
 */
static inline uint64_t
net_cksum_phdr(const struct rte_ipv4_hdr *ip, uint16_t l4_len)
{
	return net_cksum_phdr_of(ip->src_addr, ip->dst_addr, ip->next_proto_id, l4_len);
}

/**
 * The checksum field of a UDP datagram or TCP segment: @p l4_len contiguous bytes at @p l4
 * (their own checksum field 0) under pseudo-header sum @p phdr (net_cksum_phdr_of()),
 * inverted; 0xffff instead of 0 (RFC 768: 0 means "no checksum" for UDP; TCP accepts either).
 */
static inline uint16_t
net_cksum_l4_phdr(const void *l4, uint16_t l4_len, uint64_t phdr)
{
	uint16_t c = (uint16_t)~net_cksum_fold(net_cksum_add(l4, l4_len, phdr));

	return c == 0 ? 0xffff : c;
}

/** net_cksum_l4_phdr() for the segment after IPv4 header @p ip. */
static inline uint16_t
net_cksum_l4(const struct rte_ipv4_hdr *ip, const void *l4, uint16_t l4_len)
{
	return net_cksum_l4_phdr(l4, l4_len, net_cksum_phdr(ip, l4_len));
}

/** The header checksum field of IPv4 header @p ip (its field 0, IHL words long). */
static inline uint16_t
net_cksum_ipv4(const struct rte_ipv4_hdr *ip)
{
	return (uint16_t)~net_cksum(ip, rte_ipv4_hdr_len(ip));
}

#endif /* NC_NET_CKSUM_H */
