/* SPDX-License-Identifier: BSD-3-Clause */
/* The connection parser: protocol chosen by the first byte, replies by the request's kind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
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

/*
 * Issue 12: which refused stores unlink the key, as memcached 1.6.18 does: a text set (not
 * add/replace/append/prepend/cas), every ms, a binary SET or SETQ with or without a cas.
 * Refused requests come out of each parser as errors marked PROTO_F_REFUSED.
 */
static void
test_store_failure_unlinks(void **state)
{
	static const struct {
		const char *line;
		bool unlinks;
	} text[] = {
		{"set k 0 0 2000000\r\n", true},     {"set k 0 0 2000000 noreply\r\n", true},
		{"add k 0 0 2000000\r\n", false},    {"replace k 0 0 2000000\r\n", false},
		{"append k 0 0 2000000\r\n", false}, {"prepend k 0 0 2000000\r\n", false},
		{"cas k 0 0 2000000 1\r\n", false},  {"ms k 2000000\r\n", true},
		{"ms k 2000000 ME q\r\n", true},     {"ms k 2000000 MA\r\n", true},
	};
	static const struct {
		uint8_t opcode;
		uint64_t cas;
		bool unlinks;
	} bin[] = {
		{0x01, 0, true},  {0x11, 0, true},  {0x01, 7, true},  {0x02, 0, false},
		{0x03, 0, false}, {0x12, 0, false}, {0x0e, 0, false}, {0x0f, 0, false},
	};
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		static char buf[2000100];
		size_t n = strlen(text[i].line);

		memcpy(buf, text[i].line, n);
		memset(buf + n, 'v', 2000000);
		memcpy(buf + n + 2000000, "\r\n", 2);
		proto_parser_init(&p, ITEM_MAX);
		proto_input_init(&in);
		proto_input_add(&in, buf, (uint32_t)(n + 2000002));
		assert_int_equal(proto_parse(&p, &in, &req, &err), PROTO_PARSE_ERROR);
		assert_int_equal(req.op, PROTO_OP_STORE);
		assert_true((req.flags & PROTO_F_REFUSED) != 0);
		assert_int_equal(proto_store_failure_unlinks(&req), text[i].unlinks);
	}
	for (size_t i = 0; i < sizeof(bin) / sizeof(bin[0]); i++) {
		static uint8_t pkt[24 + 8 + 1 + ITEM_MAX + 1];
		bool concat = bin[i].opcode == 0x0e || bin[i].opcode == 0x0f;
		uint8_t ext = concat ? 0 : 8;
		uint32_t body = ext + 1 + ITEM_MAX + 1;

		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 0x80;
		pkt[1] = bin[i].opcode;
		pkt[3] = 1; /* key length */
		pkt[4] = ext;
		pkt[8] = (uint8_t)(body >> 24);
		pkt[9] = (uint8_t)(body >> 16);
		pkt[10] = (uint8_t)(body >> 8);
		pkt[11] = (uint8_t)body;
		pkt[23] = (uint8_t)bin[i].cas;
		pkt[24 + ext] = 'k';
		proto_parser_init(&p, ITEM_MAX);
		assert_int_equal(parse_buf(&p, &in, pkt, 24 + body, &req), PROTO_PARSE_ERROR);
		assert_int_equal(req.op, PROTO_OP_STORE);
		assert_true((req.flags & PROTO_F_REFUSED) != 0);
		assert_int_equal(proto_store_failure_unlinks(&req), bin[i].unlinks);
	}
}

/* The timing-dependent close of a long line: text connections only. */
static void
test_line_stalled_text_only(void **state)
{
	static char line[3000];
	uint8_t bin[3000] = {0x80, 0x01};
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;

	(void)state;
	memset(line, 'x', sizeof(line));
	proto_parser_init(&p, ITEM_MAX);
	assert_int_equal(parse_buf(&p, &in, line, sizeof(line), &req), PROTO_PARSE_MORE);
	assert_true(proto_parser_line_stalled(&p, &in));
	proto_parser_init(&p, ITEM_MAX);
	assert_int_equal(parse_buf(&p, &in, line, PROTO_LINE_MAX, &req), PROTO_PARSE_MORE);
	assert_false(proto_parser_line_stalled(&p, &in));
	proto_parser_init(&p, ITEM_MAX);
	assert_false(proto_parser_line_stalled(&p, &in));
	memset(bin + 2, 0, 22);
	bin[3] = 1;
	bin[4] = 8;
	bin[9] = 0x10; /* a 1 MB body still coming */
	proto_parser_init(&p, ITEM_MAX);
	assert_int_equal(parse_buf(&p, &in, bin, sizeof(bin), &req), PROTO_PARSE_MORE);
	assert_false(proto_parser_line_stalled(&p, &in));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_input_waits),
		cmocka_unit_test(test_text_and_meta_lines_choose_text),
		cmocka_unit_test(test_binary_magic_chooses_binary_for_good),
		cmocka_unit_test(test_write_dispatches_by_kind),
		cmocka_unit_test(test_store_failure_unlinks),
		cmocka_unit_test(test_line_stalled_text_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
