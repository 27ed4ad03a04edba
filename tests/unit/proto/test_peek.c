/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/proto/peek.c: keys of read requests found before parsing (burst prefetch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/peek.h"

/* One text case: the request, and the keys expected ("" when none), space-separated. */
struct text_case {
	const char *req;
	const char *keys;
};

static const struct text_case text_cases[] = {
	{"get foo\r\n", "foo"},
	{"gets a b c\r\n", "a b c"},
	{"get  spaced   keys\r\n", "spaced keys"},
	{"mg key v f t\r\n", "key"},
	{"get foo", "foo"},	       /* no line end yet: still a key */
	{"set foo 0 0 1\r\nx\r\n", ""}, /* a write: no prefetch */
	{"getx foo\r\n", ""},
	{"get\r\n", ""},
	{"get \r\n", ""},
	{"GET foo\r\n", ""}, /* commands are case-sensitive */
	{"delete foo\r\n", ""},
	{"", ""},
};

static void
keys_text(const struct proto_key_ref *k, unsigned n, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%.*s", i ? " " : "",
					 (int)k[i].len, k[i].key);
}

static void
test_text_requests(void **state)
{
	struct proto_key_ref k[8];
	char got[256];

	(void)state;
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct text_case *c = &text_cases[i];
		unsigned n = proto_peek_read_keys(c->req, (uint32_t)strlen(c->req), k, 8);

		keys_text(k, n, got, sizeof(got));
		if (strcmp(got, c->keys) != 0)
			fail_msg("'%s': keys '%s', want '%s'", c->req, got, c->keys);
	}
}

static void
test_max_keys_respected(void **state)
{
	const char *req = "get a b c d e\r\n";
	struct proto_key_ref k[3];

	(void)state;
	assert_int_equal(proto_peek_read_keys(req, (uint32_t)strlen(req), k, 3), 3);
	assert_int_equal(k[2].len, 1);
	assert_memory_equal(k[2].key, "c", 1);
	assert_int_equal(proto_peek_read_keys(req, (uint32_t)strlen(req), k, 0), 0);
}

static void
test_key_over_250_bytes_ignored(void **state)
{
	char req[300];
	struct proto_key_ref k[1];

	(void)state;
	memcpy(req, "get ", 4);
	memset(req + 4, 'k', 251);
	memcpy(req + 255, "\r\n", 2);
	assert_int_equal(proto_peek_read_keys(req, 257, k, 1), 0);
}

/* A binary request header: magic, opcode, key length, extras length, body length. */
static size_t
bin_request(uint8_t *b, uint8_t opcode, uint16_t klen, uint8_t elen, const char *key)
{
	memset(b, 0, 24);
	b[0] = 0x80;
	b[1] = opcode;
	b[2] = (uint8_t)(klen >> 8);
	b[3] = (uint8_t)klen;
	b[4] = elen;
	b[11] = (uint8_t)(klen + elen);
	memset(b + 24, 'e', elen);
	memcpy(b + 24 + elen, key, strlen(key));
	return 24 + elen + strlen(key);
}

static void
test_binary_gets(void **state)
{
	const uint8_t getters[] = {0x00, 0x09, 0x0c, 0x0d};
	struct proto_key_ref k[2];
	uint8_t b[128];

	(void)state;
	for (size_t i = 0; i < sizeof(getters); i++) {
		size_t len = bin_request(b, getters[i], 5, 0, "hello");

		assert_int_equal(proto_peek_read_keys(b, (uint32_t)len, k, 2), 1);
		assert_int_equal(k[0].len, 5);
		assert_memory_equal(k[0].key, "hello", 5);
	}
	/* extras are skipped (a GET has none, but the length field is honoured) */
	assert_int_equal(proto_peek_read_keys(b, (uint32_t)bin_request(b, 0x00, 3, 4, "abc"), k, 2),
			 1);
	assert_memory_equal(k[0].key, "abc", 3);
}

static void
test_binary_other_or_bad(void **state)
{
	struct proto_key_ref k[1];
	uint8_t b[128];
	size_t len;

	(void)state;
	len = bin_request(b, 0x01, 3, 8, "abc"); /* SET */
	assert_int_equal(proto_peek_read_keys(b, (uint32_t)len, k, 1), 0);
	len = bin_request(b, 0x00, 10, 0, "abc"); /* key length beyond the buffer */
	assert_int_equal(proto_peek_read_keys(b, (uint32_t)len, k, 1), 0);
	len = bin_request(b, 0x00, 0, 0, ""); /* no key */
	assert_int_equal(proto_peek_read_keys(b, (uint32_t)len, k, 1), 0);
	assert_int_equal(proto_peek_read_keys(b, 23, k, 1), 0); /* short header */
	assert_int_equal(proto_peek_read_keys(NULL, 10, k, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_requests),
		cmocka_unit_test(test_max_keys_respected),
		cmocka_unit_test(test_key_over_250_bytes_ignored),
		cmocka_unit_test(test_binary_gets),
		cmocka_unit_test(test_binary_other_or_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
