/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/arith.h"

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool
store_arith_parse(const char *p, size_t len, uint64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0;
	size_t digits = 0;

	while (i < len && is_space(p[i]))
		i++;
	if (i < len && (p[i] == '+' || p[i] == '-'))
		neg = p[i++] == '-';
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false; /* ERANGE */
		v = v * 10 + d;
	}
	if (digits == 0)
		return false;
	/* strtoull stops at the first non-digit; memcached accepts white space or a NUL there. */
	if (i < len && !is_space(p[i]) && p[i] != '\0')
		return false;
	if (neg)
		v = (uint64_t)0 - v;
	/* strtoull accepts "-N" as 2^64 - N; memcached refuses it when that looks negative. */
	if (neg && (int64_t)v < 0)
		return false;
	*out = v;
	return true;
}

unsigned
store_arith_format(uint64_t v, char buf[STORE_ARITH_DIGITS_MAX])
{
	return nc_decimal_u64(buf, v);
}
