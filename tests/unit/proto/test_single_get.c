/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for text_single_get() and text_get_keys(), the parser-free paths for a datagram
 * that is one plain `get <key>` or `get <key> <key>...` line: the cases they must take and the
 * ones they must leave to the parser, every byte value at every position of a key, then
 * differential tests. Over 200,000 inputs made to look like gets (random keys over an
 * alphabet with spaces, CR, LF, NUL, DEL and high bytes, lengths around the 250-byte limit;
 * for text_get_keys() up to 40 keys with doubled and trailing spaces), whenever a shortcut
 * takes an input, text_parse() on the same input must produce the same requests (every field
 * req_init() clears, compared byte for byte), consume the whole input, and then ask for more.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/input.h"
#include "proto/request.h"
#include "proto/text.h"

static bool
takes(const char *s)
{
	struct proto_request req;

	return text_single_get(s, (uint32_t)strlen(s), &req);
}

static void
test_cases(void **state)
{
	char line[300];
	struct proto_request req;

	(void)state;
	assert_true(takes("get k\r\n"));
	assert_true(takes("get k\n"));
	assert_true(takes("get key:000000000001\r\n"));
	assert_true(text_single_get("get abc\r\n", 9, &req));
	assert_int_equal(req.op, PROTO_OP_GET);
	assert_int_equal(req.kind, PROTO_TEXT);
	assert_int_equal(req.flags, PROTO_F_MULTI_FIRST | PROTO_F_MULTI_LAST);
	assert_int_equal(req.key_len, 3);
	assert_memory_equal(req.key, "abc", 3);

	/* 250 bytes of key is the limit; 251 is the parser's error to give. */
	memcpy(line, "get ", 4);
	memset(line + 4, 'x', 250);
	memcpy(line + 254, "\r\n", 3);
	assert_true(takes(line));
	memset(line + 4, 'x', 251);
	memcpy(line + 255, "\r\n", 3);
	assert_false(takes(line));

	assert_false(takes("gets k\r\n"));
	assert_false(takes("GET k\r\n"));
	assert_false(takes("get k1 k2\r\n"));
	assert_false(takes("get  k\r\n"));
	assert_false(takes("get k \r\n"));
	assert_false(takes("get \r\n"));
	assert_false(takes("get\r\n"));
	assert_false(takes("get k"));
	assert_false(takes("get k\r"));
	assert_false(takes("get k\r\nget j\r\n"));
	assert_false(takes("get k\r\r\n"));
	assert_false(takes("get k\tj\r\n"));
	assert_false(takes("get k\x7f\r\n"));
	assert_false(takes("get k\xc3\xa9\r\n"));
	assert_false(text_single_get("get k\0j\r\n", 10, &req));
}

static void
test_every_byte_everywhere(void **state)
{
	/* A 17-byte key (two 8-byte steps and a tail) with byte b at position pos. */
	char line[4 + 17 + 2];
	struct proto_request req;

	(void)state;
	memcpy(line, "get ", 4);
	memcpy(line + 4 + 17, "\r\n", 2);
	for (unsigned b = 0; b < 256; b++) {
		for (unsigned pos = 0; pos < 17; pos++) {
			bool printable = b >= '!' && b <= '~';

			memset(line + 4, 'k', 17);
			line[4 + pos] = (char)b;
			assert_int_equal(text_single_get(line, sizeof(line), &req), printable);
		}
	}
}

/**
 * Parse @p s whole with text_parse(): it must give the @p n requests @p want (every field
 * req_init() clears, byte for byte), consume the whole input and then ask for more.
 */
static void
check_parser_gives(const char *s, uint32_t len, const struct proto_request *want, unsigned n)
{
	struct text_parser *p = malloc(sizeof(*p));
	struct proto_request req;
	struct proto_input in;
	enum proto_error err;

	assert_non_null(p);
	text_parser_init(p, 0);
	proto_input_init(&in);
	assert_int_equal(proto_input_add(&in, s, len), 0);
	for (unsigned i = 0; i < n; i++) {
		memset(&req, 0x5a, sizeof(req));
		assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_OK);
		assert_int_equal(err, PROTO_ERR_NONE);
		assert_memory_equal(&req, &want[i], offsetof(struct proto_request, meta));
	}
	assert_int_equal(proto_input_avail(&in), 0);
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_MORE);
	free(p);
}

/** Parse @p s whole with text_parse(); compare with the shortcut's request. */
static void
check_same_as_parser(const char *s, uint32_t len, const struct proto_request *quick)
{
	check_parser_gives(s, len, quick, 1);
}

static void
test_same_as_parser(void **state)
{
	static const char alphabet[] = "ab:09~! \r\n\0\x7f\xff";
	char buf[320];
	unsigned seed = 2026, taken = 0;

	(void)state;
	for (int round = 0; round < 200000; round++) {
		uint32_t klen = (uint32_t)rand_r(&seed) % 8 == 0 ?
					240 + (uint32_t)rand_r(&seed) % 16 :
					1 + (uint32_t)rand_r(&seed) % 24;
		uint32_t len = 4;
		struct proto_request quick;

		memcpy(buf, "get ", 4);
		for (uint32_t i = 0; i < klen; i++) {
			/* Mostly key bytes, sometimes anything from the alphabet. */
			bool odd = rand_r(&seed) % 64 == 0;

			buf[len++] = odd ? alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)] :
					   (char)('a' + rand_r(&seed) % 26);
		}
		switch (rand_r(&seed) % 4) {
		case 0:
			buf[len++] = '\n';
			break;
		case 1:
			buf[len++] = '\r';
			break;
		default:
			buf[len++] = '\r';
			buf[len++] = '\n';
			break;
		}
		if (rand_r(&seed) % 32 == 0)
			buf[len++] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		memset(&quick, 0x5a, sizeof(quick));
		if (text_single_get(buf, len, &quick)) {
			struct proto_request split;
			const char *key = NULL;
			uint32_t klen = 0;

			taken++;
			check_same_as_parser(buf, len, &quick);
			/* The test alone, then the fill (udp_prefetch, then the request). */
			assert_true(text_single_get_key(buf, len, &key, &klen));
			memset(&split, 0x5a, sizeof(split));
			text_single_get_req(&split, key, klen);
			check_same_as_parser(buf, len, &split);
		} else {
			const char *key = NULL;
			uint32_t klen = 0;

			assert_false(text_single_get_key(buf, len, &key, &klen));
		}
	}
	/* The generator is tuned so most inputs are plain gets the shortcut must take. */
	assert_true(taken > 100000);
}

static unsigned
keys_of(const char *s, struct proto_key_ref *keys, unsigned max)
{
	return text_get_keys(s, (uint32_t)strlen(s), keys, max);
}

static void
test_get_keys_cases(void **state)
{
	struct proto_key_ref keys[40];
	struct proto_request req;
	char line[600];

	(void)state;
	assert_int_equal(keys_of("get k\r\n", keys, 8), 1);
	assert_int_equal(keys[0].len, 1);
	assert_int_equal(keys_of("get a bb ccc\r\n", keys, 8), 3);
	assert_int_equal(keys[1].len, 2);
	assert_memory_equal(keys[2].key, "ccc", 3);
	assert_int_equal(keys_of("get a bb ccc\n", keys, 8), 3);
	text_get_key_req(&req, keys, 0, 3);
	assert_int_equal(req.flags, PROTO_F_MULTI_FIRST);
	text_get_key_req(&req, keys, 1, 3);
	assert_int_equal(req.flags, 0);
	text_get_key_req(&req, keys, 2, 3);
	assert_int_equal(req.flags, PROTO_F_MULTI_LAST);
	assert_int_equal(req.op, PROTO_OP_GET);
	assert_int_equal(req.kind, PROTO_TEXT);
	/* More keys than asked for: the parser's. */
	assert_int_equal(keys_of("get a b c\r\n", keys, 2), 0);
	assert_int_equal(keys_of("get a b c\r\n", keys, 3), 3);

	/* Two keys of 250 bytes; one of 251 is the parser's error to give. */
	memcpy(line, "get ", 4);
	memset(line + 4, 'x', 250);
	line[254] = ' ';
	memset(line + 255, 'y', 250);
	memcpy(line + 505, "\r\n", 3);
	assert_int_equal(keys_of(line, keys, 8), 2);
	line[254] = 'x';
	line[255] = ' ';
	assert_int_equal(keys_of(line, keys, 8), 0);

	assert_int_equal(keys_of("gets a b\r\n", keys, 8), 0);
	assert_int_equal(keys_of("get a  b\r\n", keys, 8), 0);
	assert_int_equal(keys_of("get  a b\r\n", keys, 8), 0);
	assert_int_equal(keys_of("get a b \r\n", keys, 8), 0);
	assert_int_equal(keys_of("get a\tb\r\n", keys, 8), 0);
	assert_int_equal(keys_of("get a b\r", keys, 8), 0);
	assert_int_equal(keys_of("get a b\r\r\n", keys, 8), 0);
	assert_int_equal(keys_of("get a b\r\nget c\r\n", keys, 8), 0);
	assert_int_equal(keys_of("get \r\n", keys, 8), 0);
	assert_int_equal(keys_of("get a \xc3\xa9\r\n", keys, 8), 0);
	assert_int_equal(text_get_keys("get a \0\r\n", 10, keys, 8), 0);
}

static void
test_get_keys_every_byte_everywhere(void **state)
{
	/*
	 * A 17-byte key and a 25-byte one with byte b at position pos: the first is scanned 16
	 * bytes a step (SSE2) up to its space, the second to the end of the line, 16 then 8
	 * (SWAR) then one byte.
	 */
	enum { K1 = 17, K2 = 25, SEP = 4 + K1 };
	char line[4 + K1 + 1 + K2 + 2];
	struct proto_key_ref keys[2];

	(void)state;
	memcpy(line, "get ", 4);
	memcpy(line + SEP + 1 + K2, "\r\n", 2);
	for (unsigned b = 0; b < 256; b++) {
		for (unsigned pos = 4; pos < SEP + 1 + K2; pos++) {
			bool printable = b >= '!' && b <= '~';
			unsigned want = printable ? 2 : 0;

			memset(line + 4, 'k', K1);
			line[SEP] = ' ';
			memset(line + SEP + 1, 'j', K2);
			/* In the space between them: two keys, one of 43 bytes, or none. */
			if (pos == SEP)
				want = b == ' ' ? 2 : printable ? 1 : 0;
			line[pos] = (char)b;
			assert_int_equal(text_get_keys(line, sizeof(line), keys, 2), want);
			if (want == 2)
				assert_int_equal(keys[1].len, K2);
		}
	}
}

/** Parse @p s whole with text_parse(); its requests must be text_get_key_req()'s of @p keys. */
static void
check_keys_same_as_parser(const char *s, uint32_t len, const struct proto_key_ref *keys, unsigned n)
{
	static struct proto_request quick[32];

	assert_true(n <= 32);
	for (unsigned i = 0; i < n; i++) {
		memset(&quick[i], 0x5a, sizeof(quick[i]));
		text_get_key_req(&quick[i], keys, i, n);
	}
	check_parser_gives(s, len, quick, n);
}

static void
test_get_keys_same_as_parser(void **state)
{
	static const char alphabet[] = "ab:09~! \r\n\0\x7f\xff";
	char buf[12000];
	unsigned seed = 2027, taken = 0, multi = 0;

	(void)state;
	for (int round = 0; round < 100000; round++) {
		unsigned nkeys = 1 + (unsigned)rand_r(&seed) % 40;
		struct proto_key_ref keys[40];
		uint32_t len = 3;
		unsigned n;

		memcpy(buf, "get", 3);
		for (unsigned k = 0; k < nkeys; k++) {
			uint32_t klen = (uint32_t)rand_r(&seed) % 16 == 0 ?
						240 + (uint32_t)rand_r(&seed) % 16 :
						1 + (uint32_t)rand_r(&seed) % 24;

			buf[len++] = ' ';
			if (rand_r(&seed) % 128 == 0)
				buf[len++] = ' ';
			for (uint32_t i = 0; i < klen; i++) {
				bool odd = rand_r(&seed) % 256 == 0;

				buf[len++] =
					odd ? alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)] :
					      (char)('a' + rand_r(&seed) % 26);
			}
		}
		if (rand_r(&seed) % 64 == 0)
			buf[len++] = ' ';
		if (rand_r(&seed) % 2 == 0)
			buf[len++] = '\r';
		buf[len++] = '\n';
		if (rand_r(&seed) % 64 == 0)
			buf[len++] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		n = text_get_keys(buf, len, keys, 32);
		if (n > 0) {
			taken++;
			multi += n > 1;
			check_keys_same_as_parser(buf, len, keys, n);
		}
		/* One key: text_single_get_key()'s answer. */
		{
			const char *key = NULL;
			uint32_t klen = 0;
			unsigned one = text_get_keys(buf, len, keys, 1);

			assert_int_equal(one, text_single_get_key(buf, len, &key, &klen) ? 1 : 0);
			if (one == 1)
				assert_ptr_equal(key, keys[0].key);
		}
	}
	/* The generator is tuned so many inputs are plain gets the shortcut must take. */
	assert_true(taken > 20000);
	assert_true(multi > 10000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_every_byte_everywhere),
		cmocka_unit_test(test_same_as_parser),
		cmocka_unit_test(test_get_keys_cases),
		cmocka_unit_test(test_get_keys_every_byte_everywhere),
		cmocka_unit_test(test_get_keys_same_as_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
