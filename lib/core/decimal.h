/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_DECIMAL_H
#define NC_CORE_DECIMAL_H

/* Unsigned numbers in decimal, for the reply writers and the arithmetic commands. */

#include <stdint.h>
#include <string.h>

/** Most digits of a uint64_t in decimal (18446744073709551615). */
#define NC_DECIMAL_U64_MAX 20

/**
 * Write @p v in decimal at @p dst (room for NC_DECIMAL_U64_MAX bytes; no NUL).
 * @return the number of digits written (1..NC_DECIMAL_U64_MAX). Pure; any thread.
 */
static inline unsigned
nc_decimal_u64(char *dst, uint64_t v)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	unsigned n = 1, i;

	if (v < 10) {
		dst[0] = (char)('0' + v);
		return 1;
	}
	if (v < 100) { /* (a value's length in most replies) */
		memcpy(dst, pairs + 2 * v, 2);
		return 2;
	}
	for (uint64_t t = 10; n < NC_DECIMAL_U64_MAX && v >= t; t *= 10)
		n++;
	/* Two digits per division, from the last. */
	for (i = n; v >= 100; v /= 100) {
		i -= 2;
		memcpy(dst + i, pairs + 2 * (v % 100), 2);
	}
	if (v >= 10)
		memcpy(dst + i - 2, pairs + 2 * v, 2);
	else
		dst[i - 1] = (char)('0' + v);
	return n;
}

#endif /* NC_CORE_DECIMAL_H */
