/* SPDX-License-Identifier: BSD-3-Clause */
#include "proto/udp.h"

#include <errno.h>

static uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int
proto_udp_header_parse(const void *dgram, uint32_t len, struct proto_udp_header *h)
{
	const uint8_t *p = dgram;

	if (len < PROTO_UDP_HEADER_LEN)
		return -EINVAL;
	h->request_id = get_be16(p);
	h->seq = get_be16(p + 2);
	h->total = get_be16(p + 4);
	h->reserved = get_be16(p + 6);
	return 0;
}

void
proto_udp_header_write(void *dst, uint16_t request_id, uint16_t seq, uint16_t total)
{
	uint8_t *p = dst;

	put_be16(p, request_id);
	put_be16(p + 2, seq);
	put_be16(p + 4, total);
	put_be16(p + 6, 0);
}
