/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exec.c and exec_meta.c: the counters `stats slabs` shows by class (WORKER_CLASS_STATS),
 * each counted in the class of the item concerned and adding up to the general counter of
 * the same name. Requests go through lib/proto's real text parser and exec_read() /
 * exec_write() (writes retried on "no memory" as a worker does). The expected classes are
 * memcached 1.6.18's rules, checked against it by tests/integration/operator.py slab-hits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exec_test.h"
#include "proto/text.h"

#define SHARD_MEM (8u << 20)

static struct test_env env;
static struct store_shard *shard;
static struct worker_stats stats;
static struct exec_ctx ctx;

/* Run every request in @p cmds (text or meta lines); @return the last one's result. */
static struct proto_result
run(const char *cmds)
{
	static struct text_parser parser;
	struct proto_input in;
	struct exec_value copy = {0};
	struct proto_result res = {0};

	text_parser_init(&parser, 0);
	proto_input_init(&in);
	assert_int_equal(proto_input_add(&in, cmds, (uint32_t)strlen(cmds)), 0);
	while (proto_input_avail(&in) > 0) {
		struct proto_request req;
		enum proto_error err;
		struct store_key k;

		assert_int_equal(text_parse(&parser, &in, &req, &err), PROTO_PARSE_OK);
		store_key_init(&k, &env.digest_key, req.key, req.key_len);
		if (!exec_is_write(&req)) {
			exec_read(&ctx, shard, &k, NULL, &req, &res);
		} else {
			exec_test_write(exec_write, &ctx, shard, &k, &req, &in, &res, &copy);
		}
	}
	free(copy.buf);
	return res;
}

static int
setup(void **state)
{
	(void)state;
	exec_test_setup(&env, &shard, &stats, &ctx, SHARD_MEM, 1u << 20);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	exec_test_teardown(&env, &shard);
	return 0;
}

/* The classes of every counter add up to the general one. */
static void
assert_classes_add_up(void)
{
#define CHECK_SUM(name, desc)                                        \
	{                                                            \
		uint64_t sum = 0;                                    \
		for (unsigned c = 0; c < SLAB_CLASS_MAX; c++)        \
			sum += stats.cls[c].name;                    \
		assert_int_equal(sum, stats.name);                   \
	}
	WORKER_CLASS_STATS(CHECK_SUM)
#undef CHECK_SUM
}

/* Classic text commands: each hit in its item's class; cmd_set in the value's class. */
static void
test_text_counts_by_class(void **state)
{
	char line[4096];
	int s = store_class_for(shard, 5, 5), b = store_class_for(shard, 3, 3000);
	struct proto_result r;

	(void)state;
	assert_true(s >= 0 && b > s);
	snprintf(line, sizeof(line), "set big 0 0 3000\r\n%3000d\r\n", 7);
	run("set small 0 0 5\r\n12345\r\n");
	run(line);
	run("add small 0 0 5\r\nabcde\r\n");	  /* NOT_STORED: still a cmd_set, as memcached */
	run("get small\r\nget small\r\nget big\r\nget none\r\n");
	run("incr small 5\r\ndecr small 1\r\nincr none 1\r\n");
	run("touch small 100\r\ntouch none 100\r\n");
	run("gat 100 big\r\n");
	r = run("gets big\r\n");
	assert_int_equal(r.status, PROTO_ST_HIT);
	/* a cas of a small value on the big item: hits and bad values count in the item's class */
	snprintf(line, sizeof(line), "cas big 0 0 1 %llu\r\nx\r\n", (unsigned long long)r.cas);
	assert_int_equal(run(line).status, PROTO_ST_STORED);
	snprintf(line, sizeof(line), "set big 0 0 3000\r\n%3000d\r\n", 8);
	run(line);
	snprintf(line, sizeof(line), "cas big 0 0 1 %llu\r\nx\r\n", (unsigned long long)r.cas);
	assert_int_equal(run(line).status, PROTO_ST_EXISTS);
	assert_int_equal(run("delete big\r\n").status, PROTO_ST_DELETED);
	assert_int_equal(run("delete big\r\n").status, PROTO_ST_NOT_FOUND);

	assert_int_equal(stats.cls[s].cmd_set, 4); /* set, add, and the two cas values */
	assert_int_equal(stats.cls[b].cmd_set, 2);
	assert_int_equal(stats.cls[s].get_hits, 2);
	assert_int_equal(stats.cls[b].get_hits, 2); /* get and gets; gat is a touch */
	assert_int_equal(stats.cls[s].incr_hits, 1);
	assert_int_equal(stats.cls[s].decr_hits, 1);
	assert_int_equal(stats.cls[s].touch_hits, 1);
	assert_int_equal(stats.cls[b].touch_hits, 1);
	assert_int_equal(stats.cls[b].cas_hits, 1);
	assert_int_equal(stats.cls[b].cas_badval, 1);
	assert_int_equal(stats.cls[s].cas_hits + stats.cls[s].cas_badval, 0);
	assert_int_equal(stats.cls[b].delete_hits, 1);
	assert_int_equal(stats.get_misses, 1);
	assert_classes_add_up();
}

/* Meta commands count in the same classes (mg with T as a touch, md, ma, ms in CAS mode). */
static void
test_meta_counts_by_class(void **state)
{
	int s = store_class_for(shard, 1, 2);
	struct proto_result r;
	char line[128];

	(void)state;
	run("ms k 2\r\n10\r\n");
	run("mg k v\r\nmg k T30 v\r\nmg none v\r\n");
	run("ma k\r\nma k MD\r\nma none\r\n");
	r = run("mg k c\r\n");
	snprintf(line, sizeof(line), "ms k 2 C%llu\r\n11\r\n", (unsigned long long)r.cas);
	assert_int_equal(run(line).status, PROTO_ST_STORED);
	assert_int_equal(run(line).status, PROTO_ST_EXISTS);
	assert_int_equal(run("md k\r\n").status, PROTO_ST_DELETED);

	assert_int_equal(stats.cls[s].cmd_set, 3);
	assert_int_equal(stats.cls[s].get_hits, 2);
	assert_int_equal(stats.cls[s].touch_hits, 1);
	assert_int_equal(stats.cls[s].incr_hits, 1);
	assert_int_equal(stats.cls[s].decr_hits, 1);
	assert_int_equal(stats.cls[s].cas_hits, 1);
	assert_int_equal(stats.cls[s].cas_badval, 1);
	assert_int_equal(stats.cls[s].delete_hits, 1);
	assert_classes_add_up();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text_counts_by_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_counts_by_class, setup, teardown),
	};

	test_eal_init("0", 256);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
