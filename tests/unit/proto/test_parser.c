/* SPDX-License-Identifier: BSD-3-Clause */
/* The connection parser: protocol chosen by the first byte, replies by the request's kind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto/parser.h"

#define ITEM_MAX (1u << 20)

static enum proto_parse
parse_buf(struct proto_parser *p, struct proto_input *in, const void *buf, uint32_t len,
	  struct proto_request *req)
{
	enum proto_error err = PROTO_ERR_NONE;

	proto_input_init(in);
	proto_input_add(in, buf, len);
	return proto_parse(p, in, req, &err);
}

static void
test_empty_input_waits(void **state)
{
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;

	(void)state;
	proto_parser_init(&p, ITEM_MAX);
	assert_int_equal(parse_buf(&p, &in, "", 0, &req), PROTO_PARSE_MORE);
	assert_int_equal(p.mode, PROTO_PARSER_UNDECIDED);
}

static void
test_text_and_meta_lines_choose_text(void **state)
{
	static const char lines[] = "get foo\r\nmn\r\n";
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;

	(void)state;
	proto_parser_init(&p, ITEM_MAX);
	assert_int_equal(parse_buf(&p, &in, lines, sizeof(lines) - 1, &req), PROTO_PARSE_OK);
	assert_int_equal(p.mode, PROTO_PARSER_TEXT);
	assert_int_equal(req.kind, PROTO_TEXT);
	assert_int_equal(req.op, PROTO_OP_GET);
	assert_int_equal(proto_parse(&p, &in, &req, &err), PROTO_PARSE_OK);
	assert_int_equal(req.kind, PROTO_META);
	assert_int_equal(req.op, PROTO_OP_NOOP);
}

static void
test_binary_magic_chooses_binary_for_good(void **state)
{
	uint8_t noop[24] = {0x80, 0x0a};
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;

	(void)state;
	proto_parser_init(&p, ITEM_MAX);
	assert_int_equal(parse_buf(&p, &in, noop, sizeof(noop), &req), PROTO_PARSE_OK);
	assert_int_equal(p.mode, PROTO_PARSER_BINARY);
	assert_int_equal(req.kind, PROTO_BINARY);
	assert_int_equal(req.op, PROTO_OP_NOOP);
	/*
	 * The choice holds: on a binary connection a text line is a header with bad magic once
	 * 24 bytes are in, and that closes.
	 */
	assert_int_equal(parse_buf(&p, &in, "get foo\r\n", 9, &req), PROTO_PARSE_MORE);
	assert_int_equal(parse_buf(&p, &in, "get foo bar baz qux quux\r\n", 26, &req),
			 PROTO_PARSE_CLOSE);
}

static void
test_write_dispatches_by_kind(void **state)
{
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;
	struct proto_result res = {.status = PROTO_ST_OK};
	struct iovec iov[4];
	char buf[64], flat[64];
	struct proto_out out;
	uint64_t n;

	(void)state;
	proto_parser_init(&p, ITEM_MAX);
	assert_int_equal(parse_buf(&p, &in, "mn\r\n", 4, &req), PROTO_PARSE_OK);
	proto_out_init(&out, iov, 4, buf, sizeof(buf), true);
	assert_int_equal(proto_write(&out, &req, &res), 0);
	n = proto_out_flatten(&out, flat, sizeof(flat));
	assert_int_equal(n, 4);
	assert_memory_equal(flat, "MN\r\n", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_input_waits),
		cmocka_unit_test(test_text_and_meta_lines_choose_text),
		cmocka_unit_test(test_binary_magic_chooses_binary_for_good),
		cmocka_unit_test(test_write_dispatches_by_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
