/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/proto/udp.h: memcached's 8-byte UDP frame header. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/udp.h"

static void
test_parse_fields_big_endian(void **state)
{
	const uint8_t d[] = {0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 'g'};
	struct proto_udp_header h;

	(void)state;
	assert_int_equal(proto_udp_header_parse(d, sizeof(d), &h), 0);
	assert_int_equal(h.request_id, 0x1234);
	assert_int_equal(h.seq, 0);
	assert_int_equal(h.total, 1);
	assert_true(proto_udp_header_single(&h));
}

static void
test_short_datagram_rejected(void **state)
{
	const uint8_t d[7] = {0};
	struct proto_udp_header h;

	(void)state;
	assert_int_equal(proto_udp_header_parse(d, sizeof(d), &h), -EINVAL);
	assert_int_equal(proto_udp_header_parse(d, 0, &h), -EINVAL);
}

static void
test_multi_datagram_request_is_not_single(void **state)
{
	const uint8_t first_of_two[] = {0, 1, 0, 0, 0, 2, 0, 0};
	const uint8_t second[] = {0, 1, 0, 1, 0, 2, 0, 0};
	const uint8_t zero_total[] = {0, 1, 0, 0, 0, 0, 0, 0};
	struct proto_udp_header h;

	(void)state;
	assert_int_equal(proto_udp_header_parse(first_of_two, 8, &h), 0);
	assert_false(proto_udp_header_single(&h));
	assert_int_equal(proto_udp_header_parse(second, 8, &h), 0);
	assert_false(proto_udp_header_single(&h));
	assert_int_equal(proto_udp_header_parse(zero_total, 8, &h), 0);
	assert_false(proto_udp_header_single(&h));
}

static void
test_write_round_trips(void **state)
{
	uint8_t d[8];
	struct proto_udp_header h;

	(void)state;
	proto_udp_header_write(d, 0xbeef, 3, 7);
	assert_memory_equal(d, ((uint8_t[]){0xbe, 0xef, 0, 3, 0, 7, 0, 0}), 8);
	assert_int_equal(proto_udp_header_parse(d, 8, &h), 0);
	assert_int_equal(h.request_id, 0xbeef);
	assert_int_equal(h.seq, 3);
	assert_int_equal(h.total, 7);
	assert_int_equal(h.reserved, 0);
}

static void
test_datagram_count(void **state)
{
	(void)state;
	assert_int_equal(proto_udp_datagrams(0, 1400), 0);
	assert_int_equal(proto_udp_datagrams(1, 1400), 1);
	assert_int_equal(proto_udp_datagrams(1400, 1400), 1);
	assert_int_equal(proto_udp_datagrams(1401, 1400), 2);
	assert_int_equal(proto_udp_datagrams(10 * 1400 + 5, 1400), 11);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields_big_endian),
		cmocka_unit_test(test_short_datagram_rejected),
		cmocka_unit_test(test_multi_datagram_request_is_not_single),
		cmocka_unit_test(test_write_round_trips),
		cmocka_unit_test(test_datagram_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
