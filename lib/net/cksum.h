/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_CKSUM_H
#define NC_NET_CKSUM_H

/*
 * The Internet checksum (RFC 1071) in software, for NICs without checksum offload (the
 * virtual devices of the lab among them), 32 bytes per step: the 16-bit one's-complement sum
 * does not depend on the order or width of the additions as long as every carry is folded
 * back (RFC 1071, section 2), so 64-bit loads are summed with their carries and folded at
 * the end. DPDK 22.11's rte_raw_cksum() adds 2 bytes per step.
 *
 * Every result is in memory order, like rte_raw_cksum(): the value to store in a header field
 * as is (after inversion), or to compare with 0xffff when checking a received sum.
 * Any thread; no state.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_ip.h>

/* One 64-bit word into the sum @p s, the carry out of it counted in @p c. */
static inline void
net_cksum_word(uint64_t *s, uint64_t *c, const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	*s += v;
	*c += *s < v; /* an add-with-carry */
}

/**
 * Add the 16-bit words of @p len bytes at @p buf (any alignment) to @p sum; unfolded.
 * 64-bit words are added with their carries counted apart (an add and an add-with-carry
 * each, four words per step); the carries are added back at the end, which is the
 * end-around carry of the one's-complement sum (2^64 = 1 modulo 2^16 - 1).
 */
static inline uint64_t
net_cksum_add(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	uint64_t s = sum, c = 0;

	for (; len >= 32; len -= 32, p += 32) {
		net_cksum_word(&s, &c, p);
		net_cksum_word(&s, &c, p + 8);
		net_cksum_word(&s, &c, p + 16);
		net_cksum_word(&s, &c, p + 24);
	}
	for (; len >= 8; len -= 8, p += 8)
		net_cksum_word(&s, &c, p);
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		c += w; /* c stays far below 2^63: no carry out of it */
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		c += h;
		p += 2;
		len -= 2;
	}
	if (len != 0) {
		uint16_t last = 0;

		/* The odd byte is the first byte of a 16-bit word whose second byte is 0. */
		memcpy(&last, p, 1);
		c += last;
	}
	s += c;
	return s + (s < c);
}

/** Fold an unfolded sum from net_cksum_add() to 16 bits (not inverted). */
static inline uint16_t
net_cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/** The folded sum of @p len bytes at @p buf (what rte_raw_cksum() returns). */
static inline uint16_t
net_cksum(const void *buf, size_t len)
{
	return net_cksum_fold(net_cksum_add(buf, len, 0));
}

/**
 * The IPv4 pseudo-header of a UDP or TCP segment (addresses, protocol, L4 length), unfolded,
 * for @p l4_len bytes of L4 header and data after @p ip.
 */
static inline uint64_t
net_cksum_phdr(const struct rte_ipv4_hdr *ip, uint16_t l4_len)
{
	uint64_t sum = (uint64_t)ip->src_addr + ip->dst_addr;

	sum += rte_cpu_to_be_16((uint16_t)ip->next_proto_id);
	sum += rte_cpu_to_be_16(l4_len);
	return sum;
}

/**
 * The checksum field of a UDP datagram or TCP segment: @p l4_len contiguous bytes at @p l4
 * (their own checksum field 0) after IPv4 header @p ip, pseudo-header included, inverted;
 * 0xffff instead of 0 (RFC 768: 0 means "no checksum" for UDP; TCP accepts either).
 */
static inline uint16_t
net_cksum_l4(const struct rte_ipv4_hdr *ip, const void *l4, uint16_t l4_len)
{
	uint16_t c =
		(uint16_t)~net_cksum_fold(net_cksum_add(l4, l4_len, net_cksum_phdr(ip, l4_len)));

	return c == 0 ? 0xffff : c;
}

/** The header checksum field of IPv4 header @p ip (its field 0, IHL words long). */
static inline uint16_t
net_cksum_ipv4(const struct rte_ipv4_hdr *ip)
{
	return (uint16_t)~net_cksum(ip, rte_ipv4_hdr_len(ip));
}

#endif /* NC_NET_CKSUM_H */
