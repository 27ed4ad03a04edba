/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_ARITH_H
#define NC_STORE_ARITH_H

/*
 * The number rules of memcached's incr/decr, as pure functions.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"

/** Longest decimal form of a uint64_t. */
#define STORE_ARITH_DIGITS_MAX NC_DECIMAL_U64_MAX

/**
 * Read a stored value as memcached's incr/decr does (strtoull rules): optional leading white
 * space, an optional sign, at least one digit, no overflow; the digits must end the value or
 * be followed by white space or a NUL byte. A '-' is accepted only when the result does not look negative
 * as a signed number ("-0" is 0). Thread-safe.
 * @return true and *out on success; false for a non-numeric value.
 */
bool store_arith_parse(const char *p, size_t len, uint64_t *out);

/**
 * Apply incr (wrapping at 2^64) or decr (stopping at 0).
 */
static inline uint64_t
store_arith_apply(uint64_t value, bool incr, uint64_t delta)
{
	if (incr)
		return value + delta;
	return delta > value ? 0 : value - delta;
}

/**
 * Write @p v in decimal into buf (no terminator).
 * @return the number of digits (1..STORE_ARITH_DIGITS_MAX).
 */
unsigned store_arith_format(uint64_t v, char buf[STORE_ARITH_DIGITS_MAX]);

#endif /* NC_STORE_ARITH_H */
