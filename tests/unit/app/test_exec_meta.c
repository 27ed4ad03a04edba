/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exec_meta.c round trips: command lines go through lib/proto's real text parser, run
 * through exec_meta_read()/exec_meta_write() (by exec_meta_is_write(), the write ones with a
 * copy buffer, retried on "no memory" as a worker does), and the replies come from the real
 * meta writer. Expected bytes were compared with memcached 1.6.18 (127.0.0.1, -t 1) fed the
 * same sequences; its clock moves while ours is fake, so t/l values are those of a frozen
 * clock. Differences kept on purpose:
 *  - E and md x are unknown to 1.6.18 ("CLIENT_ERROR invalid flag"); they follow later 1.6
 *    releases (E sets the new cas; md x keeps an empty item with flags F and exptime T).
 *  - me exp= is seconds left (1.6.18 prints the negated value); cls= and size= are ours.
 *  - t next to T (mg T, ma N/T): 1.6.18 reports the TTL as of the flag's place on the line;
 *    we report it after T (and N) are applied.
 *  - ms s: 1.6.18 does not echo s on ms; the writer does.
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
#include "proto/meta.h"
#include "proto/text.h"

#define SHARD_MEM (8u << 20)
#define OUT_MAX	  (64u << 10)

static struct test_env env;
static struct store_shard *shard;
static struct worker_stats stats;
static struct exec_ctx ctx;
static char reply[OUT_MAX];

/* Run every command in @p cmds through parser, exec and writer; return all reply bytes. */
static const char *
run(const char *cmds)
{
	static struct text_parser parser;
	static uint8_t buf[OUT_MAX];
	struct iovec iov[256];
	struct proto_out out;
	struct proto_input in;
	struct exec_value copy = {0};
	uint64_t n;

	text_parser_init(&parser, 0);
	proto_input_init(&in);
	assert_int_equal(proto_input_add(&in, cmds, (uint32_t)strlen(cmds)), 0);
	proto_out_init(&out, iov, 256, buf, sizeof(buf), true);
	while (proto_input_avail(&in) > 0) {
		struct proto_request req;
		struct proto_result res;
		enum proto_error err;
		enum proto_parse pr = text_parse(&parser, &in, &req, &err);

		if (pr == PROTO_PARSE_ERROR) {
			assert_int_equal(meta_write_error(&out, err), 0);
			continue;
		}
		assert_int_equal(pr, PROTO_PARSE_OK);
		assert_int_equal(req.kind, PROTO_META);
		memset(&res, 0, sizeof(res));
		if (req.op == PROTO_OP_NOOP) {
			res.status = PROTO_ST_OK;
		} else {
			struct store_key k;

			store_key_init(&k, &env.digest_key, req.key, req.key_len);
			if (!exec_meta_is_write(&req)) {
				exec_meta_read(&ctx, shard, &k, &req, &res);
			} else {
				exec_test_write(exec_meta_write, &ctx, shard, &k, &req, &in, &res,
						&copy);
			}
		}
		assert_int_equal(meta_write(&out, &req, &res), 0);
	}
	n = proto_out_flatten(&out, reply, sizeof(reply) - 1);
	reply[n] = 0;
	free(copy.buf);
	return reply;
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

/* Compare one command's reply. */
#define RT(cmd, expected) assert_string_equal(run(cmd), expected)

/* mg N vivify: VA 0 with W for the first client, Z after; with T counted as a touch. */
static void
test_vivify(void **state)
{
	(void)state;
	RT("mg foo v\r\n", "EN\r\n");
	RT("mg foo N30 v t s c\r\n", "VA 0 t30 s0 c1 W\r\n\r\n");
	RT("mg foo v t s c\r\n", "VA 0 t30 s0 c1 Z\r\n\r\n");
	RT("mg foo N30 v t\r\n", "VA 0 t30 Z\r\n\r\n");
	RT("mg n2 N30 q\r\nmn\r\n", "HD W\r\nMN\r\n");
	RT("mg n2 q\r\nmn\r\n", "HD Z\r\nMN\r\n");
	RT("mg n1 N30 T60 t v c\r\n", "VA 0 t60 c3 W\r\n\r\n");
	RT("mg n1 N30 T90 t v c\r\n", "VA 0 t90 c3 Z\r\n\r\n");
	assert_int_equal(stats.cmd_get, 6);
	assert_int_equal(stats.get_hits, 5);
	assert_int_equal(stats.get_misses, 1);
	assert_int_equal(stats.cmd_touch, 2);
	assert_int_equal(stats.touch_hits, 2);
}

/* md I then mg: stale X with one W; ms I with an older cas stores stale keeping Z. */
static void
test_stale(void **state)
{
	(void)state;
	RT("ms foo 2 T0\r\nhi\r\n", "HD\r\n");
	RT("mg foo v t c\r\n", "VA 2 t-1 c1\r\nhi\r\n");
	RT("md foo I T30\r\n", "HD\r\n");
	RT("mg foo v c t\r\n", "VA 2 c2 t30 X W\r\nhi\r\n");
	RT("mg foo v c t\r\n", "VA 2 c2 t30 Z X\r\nhi\r\n");
	RT("mg foo c\r\n", "HD c2 Z X\r\n");
	RT("ms foo 3 C9\r\nnew\r\n", "EX\r\n");
	RT("ms foo 3 I C1\r\nold\r\n", "HD\r\n");
	RT("mg foo v c t\r\n", "VA 3 c3 t30 Z X\r\nold\r\n");
	RT("ms foo 2 C99 I\r\nno\r\n", "EX\r\n");
	RT("md foo I\r\n", "HD\r\n");
	RT("mg foo c t\r\n", "HD c4 t30 X W\r\n");
	RT("ms foo 2 MS c\r\nok\r\n", "HD c5\r\n");
	RT("mg foo c t v\r\n", "VA 2 c5 t-1\r\nok\r\n");
	RT("md foo I C1\r\n", "EX\r\n");
	RT("md nope I q\r\nmn\r\n", "NF\r\nMN\r\n");
	assert_int_equal(stats.cas_badval, 2);
	assert_int_equal(stats.cas_hits, 1);
	assert_int_equal(stats.delete_misses, 2);
	assert_int_equal(stats.delete_hits, 0);
}

/* R: less than R seconds left wins the recache once; no exptime never wins. */
static void
test_recache(void **state)
{
	(void)state;
	RT("ms k 2 T40\r\nhi\r\n", "HD\r\n");
	RT("mg k R30 t c\r\n", "HD t40 c1\r\n");
	RT("mg k R50 t c\r\n", "HD t40 c1 W\r\n");
	RT("mg k R50 t c\r\n", "HD t40 c1 Z\r\n");
	RT("ms k 2 T0\r\nhi\r\n", "HD\r\n");
	RT("mg k R50 t\r\n", "HD t-1\r\n");
}

/* mg T touches (counted as touch); a miss with T is a get miss; h and l before access. */
static void
test_touch_h_l(void **state)
{
	(void)state;
	RT("ms k 2 T100\r\nhi\r\n", "HD\r\n");
	RT("mg k T40 t\r\n", "HD t40\r\n");
	RT("mg k t\r\n", "HD t40\r\n");
	RT("mg zz T40 t\r\n", "EN\r\n");
	assert_int_equal(stats.cmd_touch, 1);
	assert_int_equal(stats.touch_hits, 1);
	assert_int_equal(stats.get_misses, 1);
	RT("ms s 3\r\nqqq\r\n", "HD\r\n");
	nc_clock_advance(&env.clock, 1);
	RT("mg s s v c l h\r\n", "VA 3 s3 c2 l1 h0\r\nqqq\r\n");
	RT("mg s h l\r\n", "HD h1 l0\r\n");
	RT("mg s h u\r\nmg s h\r\n", "HD h1\r\nHD h1\r\n");
}

/* q, k, O, b: what quiet mode hides, echoed flags. */
static void
test_quiet_and_echo(void **state)
{
	(void)state;
	RT("ms k 2\r\nhi\r\n", "HD\r\n");
	RT("mg zz q v\r\nmg k q v\r\nmn\r\n", "VA 2\r\nhi\r\nMN\r\n");
	RT("mg k k O123 q\r\n", "HD kk O123\r\n");
	RT("mg zz k O123 s v\r\n", "EN kzz O123\r\n");
	RT("ms q1 1 q\r\na\r\nms q1 1 q ME\r\na\r\nmd q1 q\r\nmd q1 q\r\nmn\r\n",
	   "NS\r\nNF\r\nMN\r\n");
	RT("ms Zm9v 2 b\r\nhi\r\n", "HD\r\n");
	RT("mg Zm9v b k v c\r\n", "VA 2 kZm9v b c3\r\nhi\r\n");
	RT("mg Zm9vZQ== b k s\r\n", "EN kZm9vZQ== b\r\n");
	RT("md Zm9v b k\r\n", "HD kZm9v b\r\n");
}

/* ma: N J create the initial value (not counted), T sets the TTL, C mismatch is EX. */
static void
test_arith(void **state)
{
	(void)state;
	RT("ma c\r\n", "NF\r\n");
	RT("ma c N0 J13 v t c\r\n", "VA 2 t-1 c1\r\n13\r\n");
	RT("ma c N0 J13 v t c\r\n", "VA 2 t-1 c2\r\n14\r\n");
	RT("ma c N100 J13 v t\r\n", "VA 2 t-1\r\n15\r\n");
	RT("ma d N100 J13 v t T30\r\n", "VA 2 t30\r\n13\r\n");
	RT("ma d v t T70 MD D5\r\n", "VA 1 t70\r\n8\r\n");
	RT("ma d q\r\nma d q D1000 MD\r\nmn\r\n", "MN\r\n");
	RT("ma e N50 t v\r\n", "VA 1 t50\r\n0\r\n");
	RT("ma e C42 c\r\n", "EX\r\n");
	RT("ma cnt2 v q\r\nmn\r\n", "NF\r\nMN\r\n");
	RT("ms s 1\r\nx\r\n", "HD\r\n");
	RT("ma s\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	RT("ms cnt 2 T0\r\n10\r\n", "HD\r\n");
	RT("ma cnt MD D20 v\r\n", "VA 1\r\n0\r\n");
	RT("ma cnt D18446744073709551615 v\r\n", "VA 20\r\n18446744073709551615\r\n");
	RT("ma cnt v\r\n", "VA 1\r\n0\r\n");
	assert_int_equal(stats.incr_hits, 5);
	assert_int_equal(stats.decr_hits, 3);
	assert_int_equal(stats.incr_misses, 2);
}

/* ms modes, append with C, too large drops the old value; E and md x (newer memcached). */
static void
test_store_modes(void **state)
{
	(void)state;
	RT("ms s 1\r\na\r\n", "HD\r\n");
	RT("ms s 1 MA\r\nb\r\n", "HD\r\n");
	RT("ms s 2 MA C1 c\r\nqq\r\n", "EX c0\r\n");
	RT("ms s 2 MP c\r\nzz\r\n", "HD c3\r\n");
	RT("mg s v\r\n", "VA 4\r\nzzab\r\n");
	RT("ms k 2 MA N30 c\r\nap\r\n", "NS c0\r\n");
	/* Over -I (the parser takes it, the store cannot): too large, the old value is gone. */
	{
		static char big[1100000];
		const uint32_t len = 1048570;
		int n = snprintf(big, sizeof(big), "ms s %u\r\n", len);

		memset(big + n, 'x', len);
		memcpy(big + n + len, "\r\n", 3);
		RT(big, "SERVER_ERROR object too large for cache\r\n");
		RT("mg s v\r\n", "EN\r\n");
		assert_int_equal(stats.store_too_large, 1);
	}
	/* E: explicit cas on ms, md I, ma (memcached >= 1.6.20 semantics). */
	RT("ms b 2 E777\r\nhi\r\n", "HD\r\n");
	RT("mg b c v\r\n", "VA 2 c777\r\nhi\r\n");
	RT("ms b 2 C777 E999\r\nho\r\n", "HD\r\n");
	RT("md b I E555\r\n", "HD\r\n");
	RT("mg b c\r\n", "HD c555 X W\r\n");
	RT("ms n 1\r\n1\r\n", "HD\r\n");
	RT("ma n E4242 c v\r\n", "VA 1 c4242\r\n2\r\n");
	/* md x: the value goes, the item stays (flags F, exptime T). */
	RT("ms a 2 T100 F5\r\nhi\r\n", "HD\r\n");
	RT("md a x F9 T50 E12\r\n", "HD\r\n");
	RT("mg a v f t c\r\n", "VA 0 f9 t50 c12\r\n\r\n");
	RT("md missing x\r\n", "NF\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vivify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch_h_l, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_and_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arith, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_modes, setup, teardown),
	};

	test_eal_init("0", 64);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
