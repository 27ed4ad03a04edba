/* SPDX-License-Identifier: BSD-3-Clause */
/* Log-linear latency histogram (see hist.h for the bucket layout). */
#include "hist.h"

#include <math.h>
#include <string.h>

void
mcgen_hist_reset(struct mcgen_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned
mcgen_hist_bucket(uint64_t v)
{
	unsigned msb, sub;

	if (v < MCGEN_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	if (msb > MCGEN_HIST_TOP_BIT)
		return MCGEN_HIST_BUCKETS - 1;
	sub = (unsigned)(v >> (msb - MCGEN_HIST_SUB_BITS)) - MCGEN_HIST_SUB;
	return MCGEN_HIST_SUB * (msb - MCGEN_HIST_SUB_BITS + 1) + sub;
}

uint64_t
mcgen_hist_bucket_high(unsigned i)
{
	unsigned group, sub;

	if (i < MCGEN_HIST_SUB)
		return i;
	if (i >= MCGEN_HIST_BUCKETS - 1)
		return UINT64_MAX;
	group = i / MCGEN_HIST_SUB - 1; /* shift of the group */
	sub = i % MCGEN_HIST_SUB;
	return (((uint64_t)MCGEN_HIST_SUB + sub + 1) << group) - 1;
}

void
mcgen_hist_merge(struct mcgen_hist *dst, const struct mcgen_hist *src)
{
	for (unsigned i = 0; i < MCGEN_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t
mcgen_hist_quantile(const struct mcgen_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < MCGEN_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t high = mcgen_hist_bucket_high(i);

			return high < h->max ? high : h->max;
		}
	}
	return h->max;
}
