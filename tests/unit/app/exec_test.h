/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TESTS_EXEC_TEST_H
#define NC_TESTS_EXEC_TEST_H

/*
 * The exec tests' shared fixture (include after cmocka.h): a shard on a test_env with a
 * worker's exec context over zeroed counters, and a write run as a worker runs it.
 */

#include <string.h>

#include "exec.h"
#include "test_env.h"

/** exec_write() or exec_meta_write(). */
typedef bool (*exec_test_write_fn)(const struct exec_ctx *ctx, struct store_shard *s,
				   const struct store_key *k, const struct proto_request *req,
				   const struct proto_input *in, struct proto_result *res,
				   struct exec_value *copy);

/**
 * Start @p env, make *@p shard of @p mem bytes on it, zero @p stats and point @p ctx at them
 * (items up to @p item_max bytes).
 */
static inline void
exec_test_setup(struct test_env *env, struct store_shard **shard, struct worker_stats *stats,
		struct exec_ctx *ctx, size_t mem, uint32_t item_max)
{
	test_env_init(env);
	*shard = test_shard_create(env, mem);
	memset(stats, 0, sizeof(*stats));
	*ctx = (struct exec_ctx){.stats = stats, .item_size_max = item_max};
}

/** Let the readers' grace periods pass, then free *@p shard and stop @p env. */
static inline void
exec_test_teardown(struct test_env *env, struct store_shard **shard)
{
	test_shard_settle(*shard);
	store_shard_destroy(shard);
	test_env_fini(env);
}

/**
 * Run write @p req with @p write as a worker does: while it waits for memory, an RCU
 * quiescent state and the shard's upkeep, then again (a test fails after 1000 tries).
 */
static inline void
exec_test_write(exec_test_write_fn write, const struct exec_ctx *ctx, struct store_shard *shard,
		const struct store_key *k, const struct proto_request *req,
		const struct proto_input *in, struct proto_result *res, struct exec_value *copy)
{
	int tries = 0;

	while (!write(ctx, shard, k, req, in, res, copy)) {
		assert_true(++tries < 1000);
		rcu_quiescent_state();
		store_shard_maintain(shard, 0);
	}
}

#endif /* NC_TESTS_EXEC_TEST_H */
