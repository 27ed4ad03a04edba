/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_SCAN_H
#define NC_PROTO_SCAN_H

/*
 * The parsers' search for the end of a token, eight bytes at a time (SWAR) on little-endian
 * machines: a word's bytes equal to a delimiter get their high bit set by proto_scan_eq(),
 * and the lowest flagged byte is the first delimiter (bytes above a match may be flagged
 * falsely, never bytes below it). The last 0-7 bytes, and every byte on other machines, are
 * tested one at a time. Pure; any thread.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PROTO_SCAN_WORDS 1
#endif

#define PROTO_SCAN_ONES	 0x0101010101010101ULL
#define PROTO_SCAN_HIGHS 0x8080808080808080ULL

/** The high bit set in the lowest byte of @p v equal to @p c (bytes above it may be too). */
static inline uint64_t
proto_scan_eq(uint64_t v, uint8_t c)
{
	v ^= PROTO_SCAN_ONES * c;
	return (v - PROTO_SCAN_ONES) & ~v & PROTO_SCAN_HIGHS;
}

/**
 * The offset of the first delimiter in [@p i, @p len) of @p p, or @p len when there is none.
 * @p word_stops flags a word's delimiters (an OR of proto_scan_eq() calls), @p is_stop says
 * whether one byte is a delimiter; both must agree. Called with constant functions, both are
 * inlined.
 */
static inline uint32_t
proto_scan(const uint8_t *p, uint32_t i, uint32_t len, uint64_t (*word_stops)(uint64_t),
	   bool (*is_stop)(uint8_t))
{
#ifdef PROTO_SCAN_WORDS
	while (len - i >= 8) {
		uint64_t v, m;

		memcpy(&v, p + i, 8);
		m = word_stops(v);
		if (m != 0)
			return i + (uint32_t)(__builtin_ctzll(m) >> 3);
		i += 8;
	}
#else
	(void)word_stops;
#endif
	while (i < len && !is_stop(p[i]))
		i++;
	return i;
}

#endif /* NC_PROTO_SCAN_H */
