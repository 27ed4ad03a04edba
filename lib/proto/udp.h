/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_UDP_H
#define NC_PROTO_UDP_H

/*
 * memcached's UDP frame header: every datagram starts with 8 bytes, big-endian
 *   request id (2) | sequence number (2) | datagram count (2) | reserved (2)
 * A request must fit one datagram (sequence 0, count 1); a reply is split into numbered
 * datagrams carrying the request's id, each with at most the configured payload after the
 * header.
 *
 * Threads: pure functions.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#define PROTO_UDP_HEADER_LEN 8

struct proto_udp_header {
	uint16_t request_id;
	uint16_t seq;
	uint16_t total;
	uint16_t reserved;
};

/** The big-endian 16-bit field at @p p. */
static inline uint16_t
proto_udp_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/** Store @p v big-endian at @p p. */
static inline void
proto_udp_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/**
 * Read the frame header at the start of a datagram (inline: it is on every request's path).
 * @return 0; -EINVAL when the datagram is shorter than the header.
 */
static inline int
proto_udp_header_parse(const void *dgram, uint32_t len, struct proto_udp_header *h)
{
	const uint8_t *p = dgram;

	if (len < PROTO_UDP_HEADER_LEN)
		return -EINVAL;
	h->request_id = proto_udp_get_be16(p);
	h->seq = proto_udp_get_be16(p + 2);
	h->total = proto_udp_get_be16(p + 4);
	h->reserved = proto_udp_get_be16(p + 6);
	return 0;
}

/** Whether the header describes a whole request in one datagram (sequence 0 of 1). */
static inline bool
proto_udp_header_single(const struct proto_udp_header *h)
{
	return h->seq == 0 && h->total == 1;
}

/** Write the header of reply datagram @p seq of @p total for @p request_id into dst[0..8). */
static inline void
proto_udp_header_write(void *dst, uint16_t request_id, uint16_t seq, uint16_t total)
{
	uint8_t *p = dst;

	proto_udp_put_be16(p, request_id);
	proto_udp_put_be16(p + 2, seq);
	proto_udp_put_be16(p + 4, total);
	proto_udp_put_be16(p + 6, 0);
}

/**
 * How many datagrams a reply of @p len bytes needs with @p max_payload bytes each (0 for an
 * empty reply, which sends nothing).
 */
static inline uint32_t
proto_udp_datagrams(uint64_t len, uint32_t max_payload)
{
	return (uint32_t)((len + max_payload - 1) / max_payload);
}

#endif /* NC_PROTO_UDP_H */
