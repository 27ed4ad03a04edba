/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rejection-inversion for Zipf: the density x^-s is bounded by a hat whose integral H has a
 * closed-form inverse; a uniform point under H is inverted to x, rounded to the rank k, and
 * accepted when it falls under the bar of k (most do at once, or by the shortcut).
 */
#include "zipf.h"

#include <errno.h>
#include <math.h>

#include "rng.h"

/* log(1 + x) / x, continuous at 0. */
static double
log1p_over(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x / 2.0 + x * x / 3.0;
}

/* (exp(x) - 1) / x, continuous at 0. */
static double
expm1_over(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x / 2.0 + x * x / 6.0;
}

/* H(x) = integral of t^-s: (x^(1-s) - 1) / (1 - s), log x at s = 1. */
static double
hat_integral(double s, double x)
{
	double lx = log(x);

	return expm1_over((1.0 - s) * lx) * lx;
}

/* The density x^-s. */
static double
hat(double s, double x)
{
	return exp(-s * log(x));
}

/* The inverse of H. */
static double
hat_integral_inverse(double s, double y)
{
	double t = y * (1.0 - s);

	if (t < -1.0)
		t = -1.0; /* rounding at the far end */
	return exp(log1p_over(t) * y);
}

int
mcgen_zipf_init(struct mcgen_zipf *z, uint64_t n, double s)
{
	if (n == 0 || !(s > 0))
		return -EINVAL;
	z->n = n;
	z->s = s;
	z->h_x1 = hat_integral(s, 1.5) - 1.0;
	z->h_n = hat_integral(s, (double)n + 0.5);
	z->cut = 2.0 - hat_integral_inverse(s, hat_integral(s, 2.5) - hat(s, 2.0));
	return 0;
}

uint64_t
mcgen_zipf_draw(const struct mcgen_zipf *z, uint64_t *rng)
{
	for (;;) {
		double u = z->h_n + mcgen_rng_unit(rng) * (z->h_x1 - z->h_n);
		double x = hat_integral_inverse(z->s, u);
		double kd = floor(x + 0.5);
		uint64_t k;

		if (kd < 1.0)
			kd = 1.0;
		else if (kd > (double)z->n)
			kd = (double)z->n;
		k = (uint64_t)kd;
		if (kd - x <= z->cut || u >= hat_integral(z->s, kd + 0.5) - hat(z->s, kd))
			return k;
	}
}
