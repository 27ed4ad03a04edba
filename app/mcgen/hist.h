/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_HIST_H
#define NC_MCGEN_HIST_H

/*
 * Latency histogram, log-linear: exact below 64 ns, then 64 buckets per power of two (at most
 * 1/64 = 1.6% relative error) up to 2^40 ns (about 18 minutes); longer values land in the last
 * bucket. Fixed size, no allocation: one per thread per second is cheap, and histograms of
 * several threads or seconds merge by adding their buckets.
 *
 * Threads: a histogram is written by one thread; merge and read it once its writer is done
 * with it (mcgen's per-second slots, stats.h, say when).
 */

#include <stdint.h>

#define MCGEN_HIST_SUB_BITS 6
#define MCGEN_HIST_SUB	    (1u << MCGEN_HIST_SUB_BITS)
#define MCGEN_HIST_TOP_BIT  40
#define MCGEN_HIST_BUCKETS  (MCGEN_HIST_SUB * (MCGEN_HIST_TOP_BIT - MCGEN_HIST_SUB_BITS + 2))

struct mcgen_hist {
	uint64_t count, sum, min, max; /* min is UINT64_MAX while empty */
	uint64_t b[MCGEN_HIST_BUCKETS];
};

/** Empty @p h. */
void mcgen_hist_reset(struct mcgen_hist *h);

/** The bucket of @p v (exposed for tests). */
unsigned mcgen_hist_bucket(uint64_t v);

/** The largest value bucket @p i holds (exposed for tests). */
uint64_t mcgen_hist_bucket_high(unsigned i);

/** Count one value @p v (ns). */
static inline void
mcgen_hist_add(struct mcgen_hist *h, uint64_t v)
{
	h->b[mcgen_hist_bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/** Add every count of @p src to @p dst. */
void mcgen_hist_merge(struct mcgen_hist *dst, const struct mcgen_hist *src);

/**
 * The value at quantile @p q (0 < q <= 1): the largest value of the bucket holding the
 * ceil(q x count)-th smallest value, never above the maximum seen.
 * @return that value in ns; 0 when @p h is empty.
 */
uint64_t mcgen_hist_quantile(const struct mcgen_hist *h, double q);

#endif /* NC_MCGEN_HIST_H */
