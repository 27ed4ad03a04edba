/* SPDX-License-Identifier: BSD-3-Clause */
#include "proto/input.h"

#include <errno.h>
#include <string.h>

void
proto_input_init(struct proto_input *in)
{
	in->nsegs = 0;
	in->cur = 0;
	in->off = 0;
	in->consumed = 0;
}

int
proto_input_add(struct proto_input *in, const void *data, uint32_t len)
{
	if (in->nsegs == PROTO_INPUT_SEGS_MAX)
		return -ENOSPC;
	if (len == 0)
		return 0;
	in->seg[in->nsegs].data = data;
	in->seg[in->nsegs].len = len;
	in->nsegs++;
	return 0;
}

int
proto_input_extend(struct proto_input *in, uint32_t len)
{
	if (in->nsegs == 0 || in->cur >= in->nsegs)
		return -EINVAL;
	in->seg[in->nsegs - 1].len += len;
	return 0;
}

uint64_t
proto_input_avail(const struct proto_input *in)
{
	uint64_t n = 0;

	for (unsigned i = in->cur; i < in->nsegs; i++)
		n += in->seg[i].len;
	return n - in->off;
}

const uint8_t *
proto_input_peek(const struct proto_input *in, uint32_t *len)
{
	if (in->cur >= in->nsegs) {
		*len = 0;
		return NULL;
	}
	*len = in->seg[in->cur].len - in->off;
	return in->seg[in->cur].data + in->off;
}

void
proto_input_skip(struct proto_input *in, uint64_t n)
{
	in->consumed += n;
	while (n > 0 && in->cur < in->nsegs) {
		uint32_t left = in->seg[in->cur].len - in->off;

		if (n < left) {
			in->off += (uint32_t)n;
			return;
		}
		n -= left;
		in->cur++;
		in->off = 0;
	}
}

int
proto_input_span(const struct proto_input *in, uint32_t len, struct proto_span *out)
{
	if (proto_input_avail(in) < len)
		return -EAGAIN;
	out->seg = in->cur;
	out->off = in->off;
	out->len = len;
	return 0;
}

void
proto_gather(const struct proto_input *in, const struct proto_span *span, void *dst)
{
	uint8_t *d = dst;
	uint32_t left = span->len;
	unsigned s = span->seg;
	uint32_t off = span->off;

	while (left > 0 && s < in->nsegs) {
		uint32_t n = in->seg[s].len - off;

		if (n > left)
			n = left;
		memcpy(d, in->seg[s].data + off, n);
		d += n;
		left -= n;
		s++;
		off = 0;
	}
}

void
proto_gather_advance(const struct proto_input *in, struct proto_span *span, void *dst,
		     uint32_t len)
{
	struct proto_span part = *span;
	uint32_t skip;

	if (len > span->len)
		len = span->len;
	part.len = len;
	proto_gather(in, &part, dst);
	/* Move past len bytes: across segments as proto_gather went. */
	skip = len;
	while (skip > 0 && span->seg < in->nsegs) {
		uint32_t n = in->seg[span->seg].len - span->off;

		if (n > skip) {
			span->off += skip;
			break;
		}
		skip -= n;
		span->seg++;
		span->off = 0;
	}
	span->len -= len;
}

uint32_t
proto_input_copy(const struct proto_input *in, void *dst, uint32_t max)
{
	struct proto_span span = {.seg = in->cur, .off = in->off};
	uint64_t avail = proto_input_avail(in);

	span.len = avail < max ? (uint32_t)avail : max;
	proto_gather(in, &span, dst);
	return span.len;
}

int64_t
proto_input_find(const struct proto_input *in, uint8_t c, uint64_t limit)
{
	uint64_t dist = 0;
	uint32_t off = in->off;

	for (unsigned s = in->cur; s < in->nsegs && dist < limit; s++, off = 0) {
		uint32_t n = in->seg[s].len - off;
		const uint8_t *p;

		if (n > limit - dist)
			n = (uint32_t)(limit - dist);
		p = memchr(in->seg[s].data + off, c, n);
		if (p != NULL)
			return (int64_t)(dist + (uint64_t)(p - (in->seg[s].data + off)));
		dist += n;
	}
	return -1;
}

unsigned
proto_input_compact(struct proto_input *in)
{
	unsigned drop = in->cur;

	if (drop == 0)
		return 0;
	memmove(in->seg, in->seg + drop, sizeof(in->seg[0]) * (in->nsegs - drop));
	in->nsegs = (uint16_t)(in->nsegs - drop);
	in->cur = 0;
	return drop;
}
