/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TEST_ENV_H
#define NC_TEST_ENV_H

/*
 * Shared set-up for unit tests that need DPDK memory and liburcu: EAL without hugepages or
 * shared config (runs unprivileged), the calling thread registered as an online QSBR reader,
 * and a shard factory with a fake clock.
 */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <urcu-qsbr.h>

#include "core/cas.h"
#include "core/clock.h"
#include "core/digest.h"
#include "store/shard.h"
#include "test_eal.h"

/* A fixed unix time for fake clocks: 2026-01-01T00:00:00Z. */
#define TEST_UNIX_START 1767225600

struct test_env {
	struct nc_clock clock;
	struct nc_cas_source cas;
	struct nc_digest_seed seed;
	struct nc_digest_key digest_key; /* seed expanded (nc_digest_key_init) */
	struct retire_reclaimer *reclaimer;
};

/*
 * Start EAL once per process with @p lcores (an EAL --lcores value, e.g. "0" or
 * "0-3@(0-1)") and @p mem_mb of memory, and register this thread with liburcu-qsbr.
 */
static inline void
test_eal_init(const char *lcores, unsigned mem_mb)
{
	const struct test_eal eal = {.lcores = lcores, .mem_mb = mem_mb};

	if (test_eal_start(&eal) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		exit(1);
	}
	rcu_register_thread();
}

/* Fake clock at TEST_UNIX_START, a CAS source, a fixed seed and a started reclaimer. */
static inline void
test_env_init(struct test_env *env)
{
	int err;

	env->reclaimer = retire_reclaimer_create(SOCKET_ID_ANY, -1, &err);
	if (env->reclaimer == NULL) {
		fprintf(stderr, "retire_reclaimer_create: %d\n", err);
		abort();
	}
	nc_clock_init_fake(&env->clock, TEST_UNIX_START);
	nc_cas_source_init(&env->cas);
	env->seed.k0 = 0x0706050403020100ULL;
	env->seed.k1 = 0x0f0e0d0c0b0a0908ULL;
	nc_digest_key_init(&env->digest_key, &env->seed);
}

/* Stop what test_env_init started (after every shard is destroyed). */
static inline void
test_env_fini(struct test_env *env)
{
	retire_reclaimer_destroy(&env->reclaimer);
}

/* A shard with @p mem_bytes of item memory and default classes; aborts on failure. */
static inline struct store_shard *
test_shard_create(struct test_env *env, size_t mem_bytes)
{
	struct store_shard_params p = {
		.socket_id = SOCKET_ID_ANY,
		.mem_limit = mem_bytes,
		.digest_key = &env->digest_key,
		.clock = &env->clock,
		.cas_source = &env->cas,
		.reclaimer = env->reclaimer,
	};
	int err;
	struct store_shard *s = store_shard_create(&p, &err);

	if (s == NULL) {
		fprintf(stderr, "store_shard_create: %d\n", err);
		abort();
	}
	return s;
}

/*
 * What a worker loop does between bursts: announce a quiescent state and run upkeep, until
 * every retired item is back (bounded: gives up after ~2 s). Returns items expired by TTL.
 */
static inline unsigned
test_shard_settle(struct store_shard *s)
{
	unsigned expired = 0;

	for (int i = 0; i < 20000; i++) {
		rcu_quiescent_state();
		expired += store_shard_maintain(s, 1u << 20);
		if (store_shard_retired_outstanding(s) == 0)
			break;
		if (i > 64)
			usleep(100);
	}
	return expired;
}

/* store_put with retries on STORE_NO_MEMORY, as a worker would (bounded). */
static inline enum store_status
test_put(struct store_shard *s, const struct store_key *k, enum store_mode mode,
	 const void *value, uint32_t nbytes, uint32_t flags, int64_t exptime, uint64_t cas_in,
	 uint64_t *cas_out)
{
	enum store_status st = STORE_NO_MEMORY;

	for (int tries = 0; tries < 1000 && st == STORE_NO_MEMORY; tries++) {
		st = store_put(s, k, mode, value, nbytes, flags, exptime, cas_in, cas_out);
		if (st == STORE_NO_MEMORY) {
			rcu_quiescent_state();
			store_shard_maintain(s, 0);
			if (tries > 8)
				usleep(50);
		}
	}
	return st;
}

/** A hit's whole value in one buffer (flattening a chained item's pieces); reused per call. */
static inline const char *
test_hit_flat(const struct store_hit *h)
{
	static char flat[2u << 20];
	const struct item *c = h->seg_next;
	uint32_t off = h->seg_next != NULL ? h->seg_len : h->nbytes;

	memcpy(flat, h->value, off);
	while (c != NULL && off < h->nbytes) {
		const void *d;
		uint32_t n;

		c = store_hit_next_seg(c, &d, &n);
		memcpy(flat + off, d, n);
		off += n;
	}
	return flat;
}

#endif /* NC_TEST_ENV_H */
