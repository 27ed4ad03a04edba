/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for core/cas.h: unique, non-zero CAS values from leased blocks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "core/cas.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sort @p v and fail on any 0 or duplicate. */
static void
assert_unique_nonzero(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	assert_true(n == 0 || v[0] != 0);
	for (size_t i = 1; i < n; i++)
		if (v[i] == v[i - 1])
			fail_msg("duplicate cas value %llu", (unsigned long long)v[i]);
}

static void
test_first_value_is_one(void **state)
{
	struct nc_cas_source src;
	struct nc_cas_lease a, b;

	(void)state;
	nc_cas_source_init(&src);
	nc_cas_lease_init(&a, &src);
	nc_cas_lease_init(&b, &src);
	assert_int_equal(nc_cas_next(&a), 1);
	assert_int_equal(nc_cas_next(&a), 2);
	/* The second lease gets the next block. */
	assert_int_equal(nc_cas_next(&b), 1 + NC_CAS_BLOCK);
}

/* 4 leases on one source, draws interleaved, 100k each: unique, non-zero, monotonic. */
static void
test_unique_across_leases(void **state)
{
	enum {
		NLEASE = 4,
		DRAWS = 100000
	};
	struct nc_cas_source src;
	struct nc_cas_lease lease[NLEASE];
	uint64_t last[NLEASE] = {0};
	uint64_t *all = malloc(sizeof(*all) * NLEASE * DRAWS);
	size_t n = 0;

	(void)state;
	assert_non_null(all);
	nc_cas_source_init(&src);
	for (int l = 0; l < NLEASE; l++)
		nc_cas_lease_init(&lease[l], &src);

	for (int i = 0; i < DRAWS; i++) {
		for (int l = 0; l < NLEASE; l++) {
			uint64_t v = nc_cas_next(&lease[l]);

			assert_true(v != 0);
			assert_true(v > last[l]);
			last[l] = v;
			all[n++] = v;
		}
	}
	assert_int_equal(n, NLEASE * DRAWS);
	assert_unique_nonzero(all, n);
	free(all);
}

/* Bursty draws so leases cross block boundaries at different times. */
static void
test_unique_bursty(void **state)
{
	enum {
		NLEASE = 4,
		DRAWS = 100000
	};
	struct nc_cas_source src;
	struct nc_cas_lease lease[NLEASE];
	uint64_t last[NLEASE] = {0};
	size_t drawn[NLEASE] = {0};
	uint64_t *all = malloc(sizeof(*all) * NLEASE * DRAWS);
	size_t n = 0;
	unsigned r = 1;

	(void)state;
	assert_non_null(all);
	nc_cas_source_init(&src);
	for (int l = 0; l < NLEASE; l++)
		nc_cas_lease_init(&lease[l], &src);

	while (n < NLEASE * DRAWS) {
		int l;
		unsigned burst;

		r = r * 1103515245u + 12345u;
		l = (int)((r >> 16) % NLEASE);
		burst = 1 + (r >> 8) % 3000;
		for (unsigned j = 0; j < burst && drawn[l] < DRAWS; j++) {
			uint64_t v = nc_cas_next(&lease[l]);

			assert_true(v > last[l]);
			last[l] = v;
			drawn[l]++;
			all[n++] = v;
		}
	}
	assert_unique_nonzero(all, n);
	free(all);
}

static void
test_peek(void **state)
{
	struct nc_cas_source src;
	struct nc_cas_lease a, b;
	uint64_t p, v;

	(void)state;
	nc_cas_source_init(&src);
	nc_cas_lease_init(&a, &src);
	nc_cas_lease_init(&b, &src);

	/* Peek on an empty lease fills it; peeking does not consume. */
	p = nc_cas_peek(&a);
	assert_int_equal(p, 1);
	assert_int_equal(nc_cas_peek(&a), p);
	assert_int_equal(nc_cas_next(&a), p);

	/* Peek always equals the next draw, including across block boundaries. */
	for (int i = 0; i < 3 * NC_CAS_BLOCK + 7; i++) {
		p = nc_cas_peek(&a);
		/* Other leases drawing in between must not change our peeked value. */
		if (i % 100 == 0)
			(void)nc_cas_next(&b);
		v = nc_cas_next(&a);
		assert_int_equal(v, p);
		/* Everything already drawn is below the next peek (the flush_all mark). */
		assert_true(nc_cas_peek(&a) > v);
	}

	/* Exactly at the end of a block: peek refills, and next returns what peek showed. */
	nc_cas_lease_init(&a, &src);
	for (int i = 0; i < NC_CAS_BLOCK; i++)
		v = nc_cas_next(&a);
	assert_true(a.next == a.end);
	p = nc_cas_peek(&a);
	assert_true(p > v);
	assert_int_equal(nc_cas_next(&a), p);
}

struct draw_thread {
	struct nc_cas_source *src;
	uint64_t *out;
	size_t n;
	int monotonic; /* result: 1 if strictly increasing */
};

static void *
draw_main(void *arg)
{
	struct draw_thread *t = arg;
	struct nc_cas_lease lease;
	uint64_t last = 0;

	nc_cas_lease_init(&lease, t->src);
	t->monotonic = 1;
	for (size_t i = 0; i < t->n; i++) {
		uint64_t v = nc_cas_next(&lease);

		if (v <= last)
			t->monotonic = 0;
		last = v;
		t->out[i] = v;
	}
	return NULL;
}

/* 4 threads, each with its own lease on one source, 200k draws each: all unique. */
static void
test_threads_unique(void **state)
{
	enum {
		NTHREAD = 4,
		DRAWS = 200000
	};
	struct nc_cas_source src;
	struct draw_thread t[NTHREAD];
	pthread_t tid[NTHREAD];
	uint64_t *all = malloc(sizeof(*all) * NTHREAD * DRAWS);

	(void)state;
	assert_non_null(all);
	nc_cas_source_init(&src);
	for (int i = 0; i < NTHREAD; i++) {
		t[i].src = &src;
		t[i].out = all + (size_t)i * DRAWS;
		t[i].n = DRAWS;
		t[i].monotonic = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, draw_main, &t[i]), 0);
	}
	for (int i = 0; i < NTHREAD; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	for (int i = 0; i < NTHREAD; i++)
		assert_true(t[i].monotonic);

	assert_unique_nonzero(all, (size_t)NTHREAD * DRAWS);
	/* Blocks are handed out densely: no value beyond what was leased. */
	assert_true(all[(size_t)NTHREAD * DRAWS - 1] <
		    __atomic_load_n(&src.next_block, __ATOMIC_RELAXED));
	free(all);
}

/* advance: values after it are above the restored maximum; never moves the source back. */
static void
test_advance(void **state)
{
	struct nc_cas_source src;
	struct nc_cas_lease a;

	(void)state;
	nc_cas_source_init(&src);
	nc_cas_source_advance(&src, 5000);
	nc_cas_lease_init(&a, &src);
	assert_int_equal(nc_cas_next(&a), 5001);
	nc_cas_source_advance(&src, 10); /* behind: unchanged */
	nc_cas_lease_init(&a, &src);
	assert_int_equal(nc_cas_next(&a), 5001 + NC_CAS_BLOCK);
	nc_cas_source_advance(&src, UINT64_MAX);
	nc_cas_lease_init(&a, &src);
	assert_true(nc_cas_next(&a) == UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_value_is_one),
		cmocka_unit_test(test_unique_across_leases),
		cmocka_unit_test(test_unique_bursty),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_threads_unique),
		cmocka_unit_test(test_advance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
