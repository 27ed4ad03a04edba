/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_TRACK_H
#define NC_TEST_TRACK_H

/*
 * Tracking of heap buffers and shards a test creates, so that a test that fails midway
 * (cmocka leaves it with a longjmp) still releases them in its teardown.
 * Include after cmocka.h and test_env.h.
 */

#include <stdlib.h>
#include <time.h>

/*
 * What a failed test leaves behind (cmocka leaves a failed test with a longjmp), released in
 * the test's teardown so that sanitizer builds report only real leaks.
 */
#define TRACK_MAX 16
static void *tracked_mem[TRACK_MAX];
static struct store_shard *tracked_shard[TRACK_MAX];

static inline void *
track_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	assert_non_null(p);
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		if (tracked_mem[i] == NULL) {
			tracked_mem[i] = p;
			return p;
		}
	}
	fail_msg("too many tracked allocations");
	return NULL;
}

static inline void
track_free(void *p)
{
	for (unsigned i = 0; i < TRACK_MAX && p != NULL; i++) {
		if (tracked_mem[i] == p)
			tracked_mem[i] = NULL;
	}
	free(p);
}

static inline void
track_shard(struct store_shard *s)
{
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		if (tracked_shard[i] == NULL) {
			tracked_shard[i] = s;
			return;
		}
	}
	fail_msg("too many tracked shards");
}

/* Destroy a shard made by shard_new(). */
static inline void
shard_free(struct store_shard **s)
{
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		if (tracked_shard[i] == *s)
			tracked_shard[i] = NULL;
	}
	store_shard_destroy(s);
	assert_null(*s);
}

static inline void
track_release_all(void)
{
	for (unsigned i = 0; i < TRACK_MAX; i++) {
		store_shard_destroy(&tracked_shard[i]);
		free(tracked_mem[i]);
		tracked_mem[i] = NULL;
	}
}

/* Per-test setup/teardown: time the test, and release what it tracked even if it failed. */
static struct timespec t_start;

static inline int
timer_start(void **state)
{
	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	return 0;
}

static inline int
timer_stop(void **state)
{
	struct timespec t;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t);
	track_release_all();
	print_message("  (%.2f s)\n", (double)(t.tv_sec - t_start.tv_sec) +
					     (double)(t.tv_nsec - t_start.tv_nsec) / 1e9);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, timer_start, timer_stop)

#endif /* NC_TEST_TRACK_H */
