/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dump.c and detail.c: memcached 1.6.18's argument checks and lines for stats cachedump and
 * lru_crawler metadump (transcripts checked against /usr/bin/memcached), the owner's slice
 * (limit, 2 MB cap, bounded slices), and the per-prefix tables of stats detail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>

#include "detail.h"
#include "dump.h"
#include "test_env.h"

static struct test_env env;

#define ARGS(s) (s), (uint32_t)strlen(s)

static void
test_parse_cachedump(void **state)
{
	struct dump_spec sp;

	(void)state;
	assert_null(dump_parse_cachedump(ARGS("cachedump 1 0"), &sp));
	assert_int_equal(sp.kind, DUMP_CACHEDUMP);
	assert_true(sp.classes == 1);
	assert_int_equal(sp.limit, 0);
	assert_null(dump_parse_cachedump(ARGS("cachedump 63 10 extra"), &sp));
	assert_true(sp.classes == 1ULL << 62);
	assert_int_equal(sp.limit, 10);
	assert_null(dump_parse_cachedump(ARGS("cachedump 0 0"), &sp));
	assert_true(sp.classes == 0);
	assert_string_equal(dump_parse_cachedump(ARGS("cachedump 64 0"), &sp),
			    "CLIENT_ERROR Illegal slab id");
	assert_string_equal(dump_parse_cachedump(ARGS("cachedump 1"), &sp),
			    "CLIENT_ERROR bad command line");
	assert_string_equal(dump_parse_cachedump(ARGS("cachedump"), &sp),
			    "CLIENT_ERROR bad command line");
	assert_string_equal(dump_parse_cachedump(ARGS("cachedump x 0"), &sp),
			    "CLIENT_ERROR bad command line format");
	assert_string_equal(dump_parse_cachedump(ARGS("cachedump 1 -1"), &sp),
			    "CLIENT_ERROR bad command line format");
}

static void
test_parse_metadump(void **state)
{
	struct dump_spec sp;

	(void)state;
	assert_null(dump_parse_metadump(ARGS("all"), &sp));
	assert_true(sp.classes == UINT64_MAX && sp.kind == DUMP_METADUMP);
	assert_null(dump_parse_metadump(ARGS("hash"), &sp));
	assert_true(sp.classes == UINT64_MAX);
	assert_null(dump_parse_metadump(ARGS("1,3,"), &sp));
	assert_true(sp.classes == 5);
	assert_null(dump_parse_metadump(ARGS("63"), &sp));
	assert_true(sp.classes == 1ULL << 62);
}

static void
test_parse_metadump_bad(void **state)
{
	static const char *bad[] = {"0", "64", "x", "1,x", "-1", ",", "", "200"};
	struct dump_spec sp;

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(dump_parse_metadump(ARGS(bad[i]), &sp),
				    "BADCLASS invalid class id");
}

static void
test_format_lines(void **state)
{
	struct store_walk_item it = {
		.key = "ttl:x", .nkey = 5, .nbytes = 2, .clsid = 0, .total = 66, .cas = 2,
		.exptime_unix = 1796182429, .atime_unix = 1796182329, .fetched = false,
	};
	char buf[DUMP_LINE_MAX];
	char enc[16];

	(void)state;
	assert_int_equal(dump_format(DUMP_CACHEDUMP, &it, buf, sizeof(buf)), 32);
	assert_string_equal(buf, "ITEM ttl:x [2 b; 1796182429 s]\r\n");
	dump_format(DUMP_METADUMP, &it, buf, sizeof(buf));
	assert_string_equal(buf, "key=ttl%3Ax exp=1796182429 la=1796182329 cas=2 fetch=no cls=1 "
				 "size=66\n");
	it.key = "a%b\\\\c";
	it.nkey = 6;
	it.exptime_unix = 0;
	it.fetched = true;
	it.clsid = 4;
	dump_format(DUMP_CACHEDUMP, &it, buf, sizeof(buf));
	assert_string_equal(buf, "ITEM a%b\\\\c [2 b; 0 s]\r\n");
	dump_format(DUMP_METADUMP, &it, buf, sizeof(buf));
	assert_string_equal(buf, "key=a%25b%5C%5Cc exp=-1 la=1796182329 cas=2 fetch=yes cls=5 "
				 "size=66\n");
	assert_int_equal(dump_format(DUMP_METADUMP, &it, buf, 10), -ENOSPC);
	assert_int_equal(dump_uriencode(enc, "aZ0-._~ \x01", 10), 16);
	assert_memory_equal(enc, "aZ0-._~%20%01", 13);
}

/* The owner's slice: bounded, the cachedump limit, the 2 MB cap. */
static void
test_slice(void **state)
{
	struct store_shard *s = test_shard_create(&env, 64u << 20);
	struct dump *d = calloc(1, sizeof(*d));
	char name[64];
	uint64_t total = 0;
	unsigned slices = 0;

	(void)state;
	for (unsigned i = 0; i < 60000; i++) {
		struct store_key k;

		snprintf(name, sizeof(name), "key:%08u:%s", i, "pad-pad-pad");
		store_key_init(&k, &env.digest_key, name, (uint32_t)strlen(name));
		assert_int_equal(test_put(s, &k, STORE_MODE_SET, "v", 1, 0, 0, 0, NULL),
				 STORE_STORED);
	}
	/* metadump: every item, slice by slice, none larger than the buffer */
	assert_null(dump_parse_metadump(ARGS("all"), &d->spec));
	while (!d->walk.done) {
		dump_slice(d, s);
		assert_true(d->len <= DUMP_SLICE_BYTES);
		total += d->len;
		slices++;
	}
	assert_int_equal(d->shown, 60000);
	assert_true(slices > 60000 / DUMP_SLICE_CHUNKS);
	assert_true(total == d->bytes);
	/* cachedump with a limit */
	memset(d, 0, offsetof(struct dump, buf));
	assert_null(dump_parse_cachedump(ARGS("cachedump 1 5"), &d->spec));
	while (!d->walk.done && !d->finished)
		dump_slice(d, s);
	assert_int_equal(d->shown, 5);
	/* cachedump without: capped where lines + "END\r\n" + NUL pass 2 MB */
	memset(d, 0, offsetof(struct dump, buf));
	assert_null(dump_parse_cachedump(ARGS("cachedump 1 0"), &d->spec));
	while (!d->walk.done && !d->finished)
		dump_slice(d, s);
	assert_true(d->finished);
	assert_true(d->bytes + 6 <= DUMP_CACHEDUMP_MAX);
	assert_true(d->bytes + 6 + 40 > DUMP_CACHEDUMP_MAX);
	assert_true(d->shown < 60000);
	/* class 0: nothing */
	memset(d, 0, offsetof(struct dump, buf));
	assert_null(dump_parse_cachedump(ARGS("cachedump 0 0"), &d->spec));
	dump_slice(d, s);
	assert_true(d->walk.done);
	assert_int_equal(d->len, 0);
	free(d);
	test_shard_settle(s);
	store_shard_destroy(&s);
}

static void
test_detail_table(void **state)
{
	struct detail_table *a = detail_create(), *sum = detail_create();
	const struct detail_entry *e;
	char key[32];
	uint32_t n, len;
	char *text;

	(void)state;
	assert_int_equal(detail_record(a, ARGS("foo"), DETAIL_GET, true), -ENOENT);
	assert_int_equal(detail_record(a, ARGS("a:1"), DETAIL_GET, true), 0);
	assert_int_equal(detail_record(a, ARGS("a:2:3"), DETAIL_GET, false), 0);
	assert_int_equal(detail_record(a, ARGS("a:1"), DETAIL_SET, false), 0);
	assert_int_equal(detail_record(a, ARGS(":x"), DETAIL_DEL, false), 0);
	e = detail_entries(a, &n);
	assert_int_equal(n, 2);
	detail_add(sum, e[0].prefix, e[0].len, &e[0].n);
	detail_add(sum, e[0].prefix, e[0].len, &e[0].n);
	detail_add(sum, e[1].prefix, e[1].len, &e[1].n);
	text = detail_format(sum, &len);
	assert_string_equal(text, "PREFIX a get 4 hit 2 set 2 del 0\r\n"
				  "PREFIX  get 0 hit 0 set 0 del 1\r\nEND\r\n");
	assert_int_equal(len, strlen(text));
	free(text);
	/* bounded: further prefixes are not counted */
	detail_clear(a);
	for (unsigned i = 0; i < DETAIL_PREFIXES_MAX; i++) {
		snprintf(key, sizeof(key), "p%u:k", i);
		assert_int_equal(detail_record(a, ARGS(key), DETAIL_SET, false), 0);
	}
	assert_int_equal(detail_record(a, ARGS("more:k"), DETAIL_SET, false), -ENOSPC);
	assert_int_equal(detail_record(a, ARGS("p7:z"), DETAIL_GET, true), 0);
	detail_destroy(&a);
	detail_destroy(&sum);
	assert_null(a);
	detail_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cachedump),
		cmocka_unit_test(test_parse_metadump),
		cmocka_unit_test(test_parse_metadump_bad),
		cmocka_unit_test(test_format_lines),
		cmocka_unit_test(test_slice),
		cmocka_unit_test(test_detail_table),
	};
	int failed;

	test_eal_init("0", 256);
	test_env_init(&env);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	test_env_fini(&env);
	return failed;
}
