/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_DECIMAL_H
#define NC_CORE_DECIMAL_H

/* Unsigned numbers in decimal, for the reply writers and the arithmetic commands. */

#include <stdint.h>

/** Most digits of a uint64_t in decimal (18446744073709551615). */
#define NC_DECIMAL_U64_MAX 20

/**
 * Write @p v in decimal at @p dst (room for NC_DECIMAL_U64_MAX bytes; no NUL).
 * @return the number of digits written (1..NC_DECIMAL_U64_MAX). Pure; any thread.
 */
static inline unsigned
nc_decimal_u64(char *dst, uint64_t v)
{
	unsigned n = 1;

	if (v < 10) {
		dst[0] = (char)('0' + v);
		return 1;
	}
	for (uint64_t t = v / 10; t != 0; t /= 10)
		n++;
	for (unsigned i = n; i-- > 0; v /= 10)
		dst[i] = (char)('0' + v % 10);
	return n;
}

#endif /* NC_CORE_DECIMAL_H */
