/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for store/arith.h: the number rules of memcached 1.6's incr/decr.
 *
 * memcached reads a stored value with safe_strtoull() (util.c): strtoull(base 10) rules
 * (leading white space, optional sign, digits, ERANGE on overflow), then the character after
 * the digits must be white space or the end of the string, and a result that looks negative
 * as a signed number is refused when a '-' was given. incr adds with uint64_t wrap-around,
 * decr stops at 0, and the result is printed with "%llu".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "store/arith.h"

/* Parse a C string (its strlen bytes) and expect success with @p want. */
#define assert_parses(str, want)                                           \
	do {                                                               \
		uint64_t v_ = 0xdeadbeefULL;                               \
		assert_true(store_arith_parse((str), strlen(str), &v_));  \
		assert_true(v_ == (uint64_t)(want));                       \
	} while (0)

/* Parse a C string (its strlen bytes) and expect it to be refused. */
#define assert_rejects(str)                                                \
	do {                                                               \
		uint64_t v_ = 0;                                           \
		assert_false(store_arith_parse((str), strlen(str), &v_));  \
	} while (0)

static void
test_parse_plain_numbers(void **state)
{
	(void)state;
	assert_parses("0", 0);
	assert_parses("1", 1);
	assert_parses("42", 42);
	assert_parses("100", 100);
	assert_parses("007", 7);
	assert_parses("4294967296", 4294967296ULL);
}

static void
test_parse_leading_white_space_ok(void **state)
{
	(void)state;
	assert_parses("  12", 12);
	assert_parses(" 1", 1);
	assert_parses("\t7", 7);
	assert_parses("\n\r\v\f 9", 9);
}

static void
test_parse_trailing_white_space_ok(void **state)
{
	(void)state;
	/* What an in-place decr leaves behind ("100" decr 1 = "99 "). */
	assert_parses("12 ", 12);
	assert_parses("99 ", 99);
	assert_parses("5    ", 5);
	assert_parses("5\t", 5);
	assert_parses("5\r\n", 5);
	/* Anything may follow the first white space. */
	assert_parses("5 abc", 5);
	assert_parses("  12  junk", 12);
}

static void
test_parse_non_numeric_rejected(void **state)
{
	(void)state;
	assert_rejects("abc");
	assert_rejects("");
	assert_rejects("12abc");
	assert_rejects("a12");
	assert_rejects(" ");
	assert_rejects("   ");
	assert_rejects("+");
	assert_rejects("-");
	assert_rejects("- 5");
	assert_rejects("0x10");
	assert_rejects("1.5");
	assert_rejects("1,000");
	assert_rejects("1e3");
	assert_rejects("12-");
}

static void
test_parse_sign_rules(void **state)
{
	(void)state;
	/* strtoull takes '+'. */
	assert_parses("+5", 5);
	assert_parses(" +5 ", 5);
	/* "-N" is 2^64 - N to strtoull; memcached refuses it when that looks negative. */
	assert_rejects("-5");
	assert_rejects("-1");
	assert_rejects(" -5");
	assert_rejects("-9223372036854775808"); /* 2^63 */
	/* ... but "-0" is 0 and a negation that lands in the positive half is accepted. */
	assert_parses("-0", 0);
	assert_parses("-18446744073709551615", 1);
	assert_parses("-9223372036854775809", 9223372036854775807ULL);
	/* Overflow with a sign is ERANGE. */
	assert_rejects("-18446744073709551616");
}

static void
test_parse_twenty_digit_values(void **state)
{
	(void)state;
	assert_parses("18446744073709551615", UINT64_MAX);
	assert_parses("18446744073709551614", UINT64_MAX - 1);
	assert_parses("10000000000000000000", 10000000000000000000ULL);
	assert_parses("18446744073709551615 ", UINT64_MAX);
}

static void
test_parse_overflow_rejected(void **state)
{
	(void)state;
	assert_rejects("18446744073709551616");        /* 2^64 */
	assert_rejects("18446744073709551620");
	assert_rejects("99999999999999999999");        /* 20 digits, above 2^64 - 1 */
	assert_rejects("123456789012345678901");       /* 21 digits */
	assert_rejects("100000000000000000000");
	assert_rejects("1844674407370955161500");
	assert_rejects("99999999999999999999999999999999999999");
}

static void
test_parse_leading_zeros_beyond_twenty_chars(void **state)
{
	(void)state;
	/* strtoull has no digit count limit: only the value must fit (memcached accepts). */
	assert_parses("000000000000000000000042", 42);
	assert_parses("0000000000000000000018446744073709551615", UINT64_MAX);
}

static void
test_parse_respects_length(void **state)
{
	const char buf[] = "123456789";
	uint64_t v = 0;

	(void)state;
	assert_true(store_arith_parse(buf, 2, &v));
	assert_true(v == 12);
	assert_true(store_arith_parse(buf, 1, &v));
	assert_true(v == 1);
	/* The digits end the value: no terminator is needed or read. */
	assert_true(store_arith_parse("77x", 2, &v));
	assert_true(v == 77);
	assert_false(store_arith_parse("77x", 3, &v));
	assert_false(store_arith_parse("5", 0, &v));
	/* A length stopping inside the leading white space has no digits. */
	assert_false(store_arith_parse("  5", 2, &v));
}

static void
test_parse_nul_after_digits_ends_number(void **state)
{
	uint64_t v = 0;

	(void)state;
	/*
	 * memcached's safe_strtoull() accepts digits followed by a NUL byte
	 * ((*endptr == '\0' && endptr != str)), so a stored "12\0ab" incr 1 gives "13   ".
	 */
	assert_true(store_arith_parse("12\0ab", 5, &v));
	assert_true(v == 12);
	assert_true(store_arith_parse(" 7\0", 3, &v));
	assert_true(v == 7);
	/* A NUL before any digit is still no number. */
	assert_false(store_arith_parse("\0" "12", 3, &v));
}

static void
test_apply_incr_wraps(void **state)
{
	(void)state;
	assert_true(store_arith_apply(0, true, 1) == 1);
	assert_true(store_arith_apply(99, true, 1) == 100);
	assert_true(store_arith_apply(5, true, 0) == 5);
	assert_true(store_arith_apply(UINT64_MAX, true, 1) == 0);
	assert_true(store_arith_apply(UINT64_MAX - 1, true, 5) == 3);
	assert_true(store_arith_apply(UINT64_MAX, true, UINT64_MAX) == UINT64_MAX - 1);
}

static void
test_apply_decr_floors_at_zero(void **state)
{
	(void)state;
	assert_true(store_arith_apply(100, false, 1) == 99);
	assert_true(store_arith_apply(5, false, 10) == 0);
	assert_true(store_arith_apply(5, false, 5) == 0);
	assert_true(store_arith_apply(0, false, 1) == 0);
	assert_true(store_arith_apply(0, false, 0) == 0);
	assert_true(store_arith_apply(1, false, UINT64_MAX) == 0);
	assert_true(store_arith_apply(UINT64_MAX, false, 1) == UINT64_MAX - 1);
}

/* Format @p v and compare with the expected text. */
static void
check_format(uint64_t v, const char *want)
{
	char buf[STORE_ARITH_DIGITS_MAX];
	unsigned n = store_arith_format(v, buf);

	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
}

static void
test_format_decimal(void **state)
{
	(void)state;
	check_format(0, "0");
	check_format(7, "7");
	check_format(9, "9");
	check_format(10, "10");
	check_format(99, "99");
	check_format(100, "100");
	check_format(4294967295ULL, "4294967295");
	check_format(10000000000000000000ULL, "10000000000000000000");
	check_format(UINT64_MAX - 1, "18446744073709551614");
	check_format(UINT64_MAX, "18446744073709551615");
}

static void
test_format_parse_round_trip(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	(void)state;
	/* Every power of ten and its neighbours, then pseudo-random values of every size. */
	for (uint64_t p = 1;; p *= 10) {
		for (int d = -1; d <= 1; d++) {
			uint64_t v = p + (uint64_t)(int64_t)d;
			char buf[STORE_ARITH_DIGITS_MAX];
			unsigned n = store_arith_format(v, buf);
			uint64_t back = 0;

			assert_true(n >= 1 && n <= STORE_ARITH_DIGITS_MAX);
			assert_true(buf[0] != '0' || n == 1);
			assert_true(store_arith_parse(buf, n, &back));
			assert_true(back == v);
		}
		if (p > UINT64_MAX / 10)
			break;
	}
	for (int i = 0; i < 10000; i++) {
		char buf[STORE_ARITH_DIGITS_MAX];
		uint64_t v, back = 0;
		unsigned n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = x >> (i % 64);
		n = store_arith_format(v, buf);
		assert_true(store_arith_parse(buf, n, &back));
		assert_true(back == v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_plain_numbers),
		cmocka_unit_test(test_parse_leading_white_space_ok),
		cmocka_unit_test(test_parse_trailing_white_space_ok),
		cmocka_unit_test(test_parse_non_numeric_rejected),
		cmocka_unit_test(test_parse_sign_rules),
		cmocka_unit_test(test_parse_twenty_digit_values),
		cmocka_unit_test(test_parse_overflow_rejected),
		cmocka_unit_test(test_parse_leading_zeros_beyond_twenty_chars),
		cmocka_unit_test(test_parse_respects_length),
		cmocka_unit_test(test_parse_nul_after_digits_ends_number),
		cmocka_unit_test(test_apply_incr_wraps),
		cmocka_unit_test(test_apply_decr_floors_at_zero),
		cmocka_unit_test(test_format_decimal),
		cmocka_unit_test(test_format_parse_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
