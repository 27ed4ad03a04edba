/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compressed values through the executor (exec.c) and the worker's scratch (scratch.c): a
 * text set through the parser stores compressed; reads of several compressed keys give each
 * its own decompressed bytes, all valid at once until the scratch is reset (a multi-get's
 * results are written after all its lookups); a result copied for another worker
 * (exec_value_keep) holds the client's bytes; exec_hit_plain() for replication; mg s reports
 * the client's length; and the scratch itself (alignment, blocks beyond the main one, reset).
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
#include "scratch.h"

#define SHARD_MEM (16u << 20)
#define ITEM_MAX  (4u << 20)
#define NKEYS 16

static struct test_env env;
static struct store_shard *shard;
static struct worker_stats stats;
static struct nc_scratch scratch;
static struct exec_ctx ctx;

static struct store_key
key_s(const char *key)
{
	struct store_key k;

	store_key_init(&k, &env.digest_key, key, (uint32_t)strlen(key));
	return k;
}

/* A compressible value of len bytes, different for each seed. */
static char *
value(unsigned seed, size_t len)
{
	char *v = malloc(len + 64);
	size_t n = 0;

	assert_non_null(v);
	while (n < len)
		n += (size_t)snprintf(v + n, 64, "{\"k\":%u,\"n\":%zu,\"s\":\"abc\"},", seed, n);
	return v;
}

/* Parse and execute one text storage command (the worker's path, retrying for memory). */
static enum proto_status
run_text(const char *key, const char *v, size_t len)
{
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;
	struct proto_result res;
	enum proto_error err;
	struct store_key k;
	char *buf = malloc(len + 300);
	int n;

	assert_non_null(buf);
	n = snprintf(buf, 300, "set %s 42 0 %zu\r\n", key, len);
	memcpy(buf + n, v, len);
	memcpy(buf + n + len, "\r\n", 2);
	proto_parser_init(&p, ITEM_MAX);
	proto_input_init(&in);
	assert_int_equal(proto_input_add(&in, buf, (uint32_t)(n + len + 2)), 0);
	assert_int_equal(proto_parse(&p, &in, &req, &err), PROTO_PARSE_OK);
	store_key_init(&k, &env.digest_key, req.key, req.key_len);
	exec_test_write(exec_write, &ctx, shard, &k, &req, &in, &res, NULL);
	free(buf);
	return res.status;
}

static void
read_key(const char *key, const char *verb, struct proto_result *res)
{
	struct proto_parser p;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	struct store_key k;
	char line[300];
	int n = snprintf(line, sizeof(line), "%s %s\r\n", verb, key);

	proto_parser_init(&p, ITEM_MAX);
	proto_input_init(&in);
	assert_int_equal(proto_input_add(&in, line, (uint32_t)n), 0);
	assert_int_equal(proto_parse(&p, &in, &req, &err), PROTO_PARSE_OK);
	store_key_init(&k, &env.digest_key, req.key, req.key_len);
	exec_read(&ctx, shard, &k, NULL, &req, res);
}

static int
setup(void **state)
{
	struct store_shard_params p = {
		.socket_id = SOCKET_ID_ANY,
		.mem_limit = SHARD_MEM,
		.item_size_max = ITEM_MAX,
		.digest_key = &env.digest_key,
		.clock = &env.clock,
		.cas_source = &env.cas,
		.compress = {.enabled = true, .min = 100, .min_saving = 10},
	};
	int err;

	(void)state;
	test_env_init(&env);
	p.reclaimer = env.reclaimer;
	shard = store_shard_create(&p, &err);
	assert_non_null(shard);
	memset(&stats, 0, sizeof(stats));
	memset(&scratch, 0, sizeof(scratch));
	ctx = (struct exec_ctx){.stats = &stats, .item_size_max = ITEM_MAX, .scratch = &scratch};
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	nc_scratch_release(&scratch);
	exec_test_teardown(&env, &shard);
	return 0;
}

/* A multi-get's results all hold their own bytes until the scratch is reset. */
static void
test_many_results_alive_at_once(void **state)
{
	struct proto_result res[NKEYS];
	char *v[NKEYS];
	char key[32];

	(void)state;
	for (unsigned i = 0; i < NKEYS; i++) {
		v[i] = value(i, 1000 + 700 * i);
		snprintf(key, sizeof(key), "k%u", i);
		assert_int_equal(run_text(key, v[i], 1000 + 700 * i), PROTO_ST_STORED);
	}
	{
		struct store_shard_stats st;

		store_shard_stats_get(shard, &st);
		assert_int_equal(st.compressed_items, NKEYS);
	}
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < NKEYS; i++) {
			snprintf(key, sizeof(key), "k%u", i);
			if (i % 2)
				read_key(key, "get", &res[i]);
			else
				read_key(strcat(key, " v"), "mg", &res[i]);
		}
		for (unsigned i = 0; i < NKEYS; i++) {
			assert_int_equal(res[i].status, PROTO_ST_HIT);
			assert_int_equal(res[i].value_len, 1000 + 700 * i);
			assert_int_equal(res[i].value_seg_len, 0);
			assert_memory_equal(res[i].value, v[i], 1000 + 700 * i);
			if (i % 2)
				assert_int_equal(res[i].client_flags, 42);
		}
		/* The worker's quiescent state: all of it back, and one block next time. */
		nc_scratch_reset(&scratch);
		rcu_quiescent_state();
	}
	assert_int_equal(stats.decompressions, 3 * NKEYS);
	assert_true(stats.decompress_cycles > 0);
	assert_true(scratch.cap >= 16 * 1000);
	assert_null(scratch.extra);
	for (unsigned i = 0; i < NKEYS; i++)
		free(v[i]);
}

/* A chained compressed value (larger than a chunk compressed) reads back whole. */
static void
test_chained(void **state)
{
	const size_t len = 1u << 20; /* the largest value compressed (SHARD_ZIP_MAX) */
	char *v = value(99, len);
	struct proto_result res;
	uint64_t x = 88172645463325252ull;

	(void)state;
	/* A random second half keeps it above a chunk compressed. */
	for (size_t i = len / 2; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (char)(x >> 32);
	}
	assert_int_equal(run_text("big", v, len), PROTO_ST_STORED);
	{
		struct store_key k = key_s("big");
		struct store_hit hit;

		assert_int_equal(store_get(shard, &k, &hit), STORE_HIT);
		assert_true(store_hit_compressed(&hit));
		assert_non_null(hit.seg_next); /* chained */
	}
	read_key("big", "get", &res);
	assert_int_equal(res.status, PROTO_ST_HIT);
	assert_int_equal(res.value_len, len);
	assert_memory_equal(res.value, v, len);
	nc_scratch_reset(&scratch);
	free(v);
}

/* A result kept for another worker (forwarded gat) holds the client's bytes. */
static void
test_value_keep_and_plain_hit(void **state)
{
	char *v = value(7, 5000);
	struct proto_result res;
	struct exec_value copy = {0};
	struct store_key k = key_s("g");
	struct store_hit hit, plain;

	(void)state;
	assert_int_equal(run_text("g", v, 5000), PROTO_ST_STORED);
	read_key("g", "get", &res);
	assert_int_equal(exec_value_keep(&copy, &res), 0);
	nc_scratch_reset(&scratch);
	memset(scratch.buf, 0, scratch.cap); /* what the scratch held is gone */
	assert_ptr_equal(res.value, copy.buf);
	assert_memory_equal(copy.buf, v, 5000);
	exec_value_release(&copy);
	/* replication's view: the client's bytes and length, flags and cas as stored */
	assert_int_equal(store_get(shard, &k, &hit), STORE_HIT);
	assert_true(store_hit_compressed(&hit));
	assert_int_equal(exec_hit_plain(&ctx, &hit, &plain), 0);
	assert_int_equal(plain.nbytes, 5000);
	assert_null(plain.seg_next);
	assert_memory_equal(plain.value, v, 5000);
	assert_int_equal(plain.client_flags, 42);
	assert_int_equal(plain.cas, hit.cas);
	nc_scratch_reset(&scratch);
	free(v);
}

/* mg without v: the length clients wrote, nothing decompressed; with v the bytes. */
static void
test_meta_size(void **state)
{
	char *v = value(8, 3000);
	struct proto_result res;
	struct exec_value copy = {0};

	(void)state;
	assert_int_equal(run_text("m", v, 3000), PROTO_ST_STORED);
	read_key("m s f", "mg", &res);
	assert_int_equal(res.status, PROTO_ST_HIT);
	assert_int_equal(res.value_len, 3000);
	assert_null(res.value);
	assert_int_equal(res.client_flags, 42);
	assert_int_equal(stats.decompressions, 0);
	/* kept for another worker (mg T without v forwarded): nothing to copy */
	assert_int_equal(exec_value_keep(&copy, &res), 0);
	assert_null(res.value);
	read_key("m s v", "mg", &res);
	assert_int_equal(res.value_len, 3000);
	assert_memory_equal(res.value, v, 3000);
	assert_int_equal(stats.decompressions, 1);
	nc_scratch_reset(&scratch);
	exec_value_release(&copy);
	free(v);
}

static void
test_scratch(void **state)
{
	struct nc_scratch s = {0};
	char *a, *b, *c;

	(void)state;
	a = nc_scratch_alloc(&s, 3);
	b = nc_scratch_alloc(&s, 100);
	c = nc_scratch_alloc(&s, 1u << 20);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal((uintptr_t)a % 16, 0);
	assert_int_equal((uintptr_t)b % 16, 0);
	assert_int_equal((uintptr_t)c % 16, 0);
	/* Nothing handed out overlaps, and each keeps its bytes. */
	memset(a, 1, 3);
	memset(b, 2, 100);
	memset(c, 3, 1u << 20);
	assert_int_equal(a[2], 1);
	assert_int_equal(b[99], 2);
	assert_int_equal(c[0], 3);
	nc_scratch_reset(&s);
	/* The next iteration's total fits the main block. */
	assert_true(s.cap >= (1u << 20) + 112);
	assert_null(s.extra);
	a = nc_scratch_alloc(&s, 1u << 20);
	assert_ptr_equal(a, s.buf);
	nc_scratch_release(&s);
	assert_null(s.buf);
	assert_int_equal(s.cap, 0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_many_results_alive_at_once),
		T(test_chained),
		T(test_value_keep_and_plain_hit),
		T(test_meta_size),
		cmocka_unit_test(test_scratch),
	};

	test_eal_init("0", 256);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
