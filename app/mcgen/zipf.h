/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_ZIPF_H
#define NC_MCGEN_ZIPF_H

/*
 * Zipf-distributed ranks 1..n with exponent s > 0: P(k) proportional to k^-s. Drawn by
 * rejection-inversion (Hormann and Derflinger, 1996): constant expected time per draw, no table,
 * any s (s = 1 included) and any n.
 *
 * Threads: a struct mcgen_zipf is read-only after mcgen_zipf_init(); many threads may draw from
 * one, each with its own random stream.
 */

#include <stdint.h>

struct mcgen_zipf {
	uint64_t n;
	double s;
	double h_x1, h_n, cut; /* H(1.5) - 1, H(n + 0.5), the acceptance shortcut */
};

/**
 * Prepare draws over 1..@p n with exponent @p s.
 * @return 0; -EINVAL when n is 0 or s is not > 0.
 */
int mcgen_zipf_init(struct mcgen_zipf *z, uint64_t n, double s);

/** One rank in 1..n, from the stream *@p rng (rng.h). */
uint64_t mcgen_zipf_draw(const struct mcgen_zipf *z, uint64_t *rng);

#endif /* NC_MCGEN_ZIPF_H */
