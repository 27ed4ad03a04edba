/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exec.c: stores that fail before anything is stored (issue 12). memcached 1.6.18 removes the
 * key's old value when a text set, any ms, or a binary SET/SETQ (with or without a cas) cannot
 * be stored (value above -I, or no memory), and leaves it for add, replace, append, prepend
 * and cas; store_too_large counts each refusal, cmd_set does not. Requests come from lib/proto's
 * real parsers and run through exec_write() (a refused one as the worker runs it: the parser's
 * PROTO_PARSE_ERROR request, marked PROTO_F_REFUSED) or exec_write_give_up().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exec_test.h"
#include "proto/parser.h"

#define SHARD_MEM (8u << 20)
#define ITEM_MAX  (1u << 20)

static struct test_env env;
static struct store_shard *shard;
static struct worker_stats stats;
static struct exec_ctx ctx;

static struct store_key
key_s(const char *key)
{
	struct store_key k;

	store_key_init(&k, &env.digest_key, key, (uint32_t)strlen(key));
	return k;
}

static void
put(const char *key, const char *val)
{
	struct store_key k = key_s(key);

	assert_int_equal(
		test_put(shard, &k, STORE_MODE_SET, val, (uint32_t)strlen(val), 0, 0, 0, NULL),
		STORE_STORED);
}

static bool
present(const char *key)
{
	struct store_key k = key_s(key);
	struct store_hit hit;

	return store_get(shard, &k, &hit) == STORE_HIT;
}

/*
 * Parse @p buf (len bytes) as one request on a fresh connection parser and run it as the
 * worker does; @return the result's status.
 */
static enum proto_status
run(const void *buf, size_t len)
{
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;
	struct proto_result res;
	enum proto_error err;
	enum proto_parse rc;
	struct store_key k;

	proto_parser_init(&p, ITEM_MAX);
	proto_input_init(&in);
	assert_int_equal(proto_input_add(&in, buf, (uint32_t)len), 0);
	rc = proto_parse(&p, &in, &req, &err);
	assert_true(rc == PROTO_PARSE_OK ||
		    (rc == PROTO_PARSE_ERROR && (req.flags & PROTO_F_REFUSED) != 0));
	assert_int_equal(req.op, PROTO_OP_STORE);
	store_key_init(&k, &env.digest_key, req.key, req.key_len);
	exec_test_write(exec_write, &ctx, shard, &k, &req, &in, &res, NULL);
	return res.status;
}

/* A text or meta line announcing @p vlen bytes, followed by them and "\r\n". */
static enum proto_status
run_line(const char *line, size_t vlen)
{
	size_t n = strlen(line);
	char *buf = malloc(n + vlen + 2);
	enum proto_status st;

	assert_non_null(buf);
	memcpy(buf, line, n);
	memset(buf + n, 'v', vlen);
	memcpy(buf + n + vlen, "\r\n", 2);
	st = run(buf, n + vlen + 2);
	free(buf);
	return st;
}

/* A binary store of @p vlen value bytes. */
static enum proto_status
run_binary(uint8_t opcode, const char *key, uint64_t cas, size_t vlen)
{
	bool concat = opcode == 0x0e || opcode == 0x0f || opcode == 0x19 || opcode == 0x1a;
	size_t klen = strlen(key), ext = concat ? 0 : 8, body = ext + klen + vlen;
	uint8_t *pkt = calloc(1, 24 + body);
	enum proto_status st;

	assert_non_null(pkt);
	pkt[0] = 0x80;
	pkt[1] = opcode;
	pkt[3] = (uint8_t)klen;
	pkt[4] = (uint8_t)ext;
	for (int i = 0; i < 4; i++)
		pkt[8 + i] = (uint8_t)(body >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		pkt[16 + i] = (uint8_t)(cas >> (56 - 8 * i));
	memcpy(pkt + 24 + ext, key, klen);
	st = run(pkt, 24 + body);
	free(pkt);
	return st;
}

static int
setup(void **state)
{
	(void)state;
	exec_test_setup(&env, &shard, &stats, &ctx, SHARD_MEM, ITEM_MAX);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	exec_test_teardown(&env, &shard);
	return 0;
}

/* Too large for the parser (value above -I) and for the store (item header past -I). */
static void
test_too_large_set_unlinks_text(void **state)
{
	static const struct {
		const char *line;
		bool unlinks;
	} cases[] = {
		{"set k 0 0 %zu\r\n", true},	 {"set k 0 0 %zu noreply\r\n", true},
		{"add k 0 0 %zu\r\n", false},	 {"replace k 0 0 %zu\r\n", false},
		{"append k 0 0 %zu\r\n", false}, {"prepend k 0 0 %zu\r\n", false},
		{"cas k 0 0 %zu 1\r\n", false},
	};
	static const size_t sizes[] = {2 * ITEM_MAX, ITEM_MAX - 50};
	char line[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (size_t j = 0; j < 2; j++) {
			put("k", "small");
			snprintf(line, sizeof(line), cases[i].line, sizes[j]);
			assert_int_equal(run_line(line, sizes[j]), PROTO_ST_TOO_LARGE);
			assert_int_equal(present("k"), !cases[i].unlinks);
		}
	assert_int_equal(stats.store_too_large, 14);
	assert_int_equal(stats.cmd_set, 0);
}

static void
test_too_large_set_unlinks_meta(void **state)
{
	static const char *const modes[] = {"", " MS", " ME", " MA", " MP", " MR", " q", " I"};
	static const size_t sizes[] = {2 * ITEM_MAX, ITEM_MAX - 50};
	char line[64];

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		for (size_t j = 0; j < 2; j++) {
			put("k", "small");
			snprintf(line, sizeof(line), "ms k %zu%s\r\n", sizes[j], modes[i]);
			assert_int_equal(run_line(line, sizes[j]), PROTO_ST_TOO_LARGE);
			assert_false(present("k"));
		}
	assert_int_equal(stats.store_too_large, 16);
}

static void
test_too_large_set_unlinks_binary(void **state)
{
	static const struct {
		uint8_t opcode;
		uint64_t cas;
		bool unlinks;
	} cases[] = {
		{0x01, 0, true},  {0x11, 0, true},  {0x01, 9, true},  {0x02, 0, false},
		{0x03, 0, false}, {0x12, 0, false}, {0x0e, 0, false}, {0x1a, 0, false},
	};
	static const size_t sizes[] = {2 * ITEM_MAX, ITEM_MAX - 50};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (size_t j = 0; j < 2; j++) {
			put("k", "small");
			assert_int_equal(run_binary(cases[i].opcode, "k", cases[i].cas, sizes[j]),
					 PROTO_ST_TOO_LARGE);
			assert_int_equal(present("k"), !cases[i].unlinks);
		}
}

/* A write that never found memory: "out of memory", and the same unlinks as too large. */
static void
test_out_of_memory_unlinks(void **state)
{
	static const struct {
		const char *buf;
		bool unlinks;
	} cases[] = {
		{"set k 0 0 1\r\nv\r\n", true},	    {"add k 0 0 1\r\nv\r\n", false},
		{"append k 0 0 1\r\nv\r\n", false}, {"cas k 0 0 1 5\r\nv\r\n", false},
		{"ms k 1 MA\r\nv\r\n", true},
	};
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;
	struct proto_result res;
	enum proto_error err;
	struct store_key k = key_s("k");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put("k", "small");
		proto_parser_init(&p, ITEM_MAX);
		proto_input_init(&in);
		proto_input_add(&in, cases[i].buf, (uint32_t)strlen(cases[i].buf));
		assert_int_equal(proto_parse(&p, &in, &req, &err), PROTO_PARSE_OK);
		exec_write_give_up(shard, &k, &req, &res);
		assert_int_equal(res.status, PROTO_ST_NO_MEMORY);
		assert_int_equal(present("k"), !cases[i].unlinks);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_too_large_set_unlinks_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_set_unlinks_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_set_unlinks_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory_unlinks, setup, teardown),
	};

	test_eal_init("0", 64);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
