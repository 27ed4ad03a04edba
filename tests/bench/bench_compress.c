/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_bench_compress: what value compression (-o compression=lzf) costs and saves on one
 * store shard, side by side with compression off, on two data sets generated
 * deterministically from --seed:
 *   json    JSON-like documents of 1-10 KB (records of ids, names, tags, scores)
 *   random  random bytes of 1-10 KB (LZF cannot shrink them: compression is tried and skipped)
 *
 * For each data set, each run (--runs, the table shows medians; the two modes take turns run
 * by run) takes a fresh shard
 * with room for every document, stores them all (SET: store_put, so compression happens
 * here), then reads every key --passes times in a shuffled order the way a worker answers a
 * GET: digest the key, store_get, for a compressed value store_hit_inflate() into a scratch
 * buffer (the server's per-worker scratch), then copy the value into a response buffer (the
 * server's copy into the socket or the mbufs), a quiescent state and store_shard_maintain()
 * every 32 GETs. Every value is checked byte for byte after the timed passes (exit 1 when
 * one differs, a GET misses or anything was evicted).
 *
 * Columns: memory held = slab pages the shard's classes took (MB, 1 MiB pages) and memcached's
 * `bytes` (item headers, keys and stored values); items per MB of pages; SET and GET cost in
 * TSC cycles per operation (total cycles of the pass / operations); stored/raw = the share of
 * the values' bytes that is stored. Cycles are the thread's CPU time at the TSC rate
 * (CLOCK_THREAD_CPUTIME_ID), so time other processes took the CPU is left out.
 *
 * Run (from the repository root):
 *   ninja -C build && ./build/tests/bench/nc_bench_compress              # 4000 docs, 5 runs
 *   ./build/tests/bench/nc_bench_compress --docs 300 --runs 1 --passes 1 # smoke
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <urcu-qsbr.h>

#include "bench_util.h"
#include "core/cas.h"
#include "core/clock.h"
#include "core/digest.h"
#include "store/shard.h"

#define DOC_MIN 1024u
#define DOC_MAX 10240u
#define BURST 32
#define RUNS_MAX 31

struct cfg {
	uint32_t docs;
	uint32_t runs;
	uint32_t passes;
	uint32_t min;
	uint32_t saving;
	uint64_t seed;
};

struct dataset {
	const char *name;
	uint32_t n;
	char **val;
	uint32_t *len;
	uint64_t raw_bytes;
};

struct env {
	struct nc_clock clock;
	struct nc_cas_source cas;
	struct nc_digest_seed seed;
	struct nc_digest_key digest_key; /* seed expanded */
	struct retire_reclaimer *reclaimer;
	char (*keys)[32];
	uint32_t *order; /* GET order: a permutation of the documents */
	char *scratch;	 /* decompressed values (the server's per-worker scratch) */
	char *resp;	 /* the response buffer a value is copied into */
};

/* One run's figures. */
struct result {
	double pages_mb, bytes, per_mb, set_cycles, get_cycles, stored_share;
};

static void
fatal(const char *fmt, const char *arg)
{
	fprintf(stderr, "nc_bench_compress: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A JSON-like document of exactly len bytes. */
static void
make_json(char *v, uint32_t len, uint64_t *rng)
{
	static const char *const words[] = {"cache", "json", "server", "user", "order", "item",
					    "price", "green", "blue", "active", "pending"};
	uint32_t n = 0;

	n += (uint32_t)snprintf(v, len, "[");
	while (n + 160 < len) {
		uint64_t r = xorshift(rng);

		n += (uint32_t)snprintf(v + n, len - n,
					"{\"id\":%" PRIu64 ",\"user\":\"%s%u\",\"tags\":[\"%s\","
					"\"%s\"],\"score\":0.%03u,\"active\":%s},",
					r % 1000000, words[r % 11], (unsigned)(r >> 20) % 500,
					words[(r >> 8) % 11], words[(r >> 12) % 11],
					(unsigned)(r >> 32) % 1000, (r >> 40) & 1 ? "true" : "false");
	}
	while (n < len - 1)
		v[n++] = ' ';
	v[len - 1] = ']';
}

static void
make_random(char *v, uint32_t len, uint64_t *rng)
{
	for (uint32_t i = 0; i < len; i++)
		v[i] = (char)(xorshift(rng) >> 24);
}

static void
dataset_make(struct dataset *d, const char *name, uint32_t n, uint64_t seed, bool json)
{
	uint64_t rng = seed * 2654435761u + 1;

	d->name = name;
	d->n = n;
	d->val = calloc(n, sizeof(*d->val));
	d->len = calloc(n, sizeof(*d->len));
	d->raw_bytes = 0;
	if (d->val == NULL || d->len == NULL)
		fatal("%s", "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = DOC_MIN + (uint32_t)(xorshift(&rng) % (DOC_MAX - DOC_MIN + 1));

		d->val[i] = malloc(len);
		if (d->val[i] == NULL)
			fatal("%s", "out of memory");
		d->len[i] = len;
		d->raw_bytes += len;
		if (json)
			make_json(d->val[i], len, &rng);
		else
			make_random(d->val[i], len, &rng);
	}
}

static struct store_shard *
shard_new(struct env *e, const struct cfg *c, const struct dataset *d, bool on)
{
	struct store_shard_params p = {
		.socket_id = SOCKET_ID_ANY,
		/* Room for every document as it is, with the slab's rounding. */
		.mem_limit = (size_t)(d->raw_bytes * 3 / 2) + (64u << 20),
		.digest_key = &e->digest_key,
		.clock = &e->clock,
		.cas_source = &e->cas,
		.reclaimer = e->reclaimer,
		.compress = {.enabled = on, .min = c->min, .min_saving = c->saving},
	};
	int err;
	struct store_shard *s = store_shard_create(&p, &err);

	if (s == NULL)
		fatal("store_shard_create: %s", strerror(-err));
	return s;
}

/*
 * Cycles of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID at the TSC rate): on a machine
 * shared with other work, time the thread was not running is left out.
 */
static double
cpu_cycles(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9) * (double)rte_get_tsc_hz();
}

static void
upkeep(struct env *e, struct store_shard *s)
{
	rcu_quiescent_state();
	nc_clock_update(&e->clock);
	store_shard_maintain(s, 64);
}

/* One GET as a worker answers it; @return the value's length (0 on a miss). */
static inline uint32_t
get_one(struct env *e, struct store_shard *s, uint32_t i)
{
	struct store_key k;
	struct store_hit hit;
	const char *v;
	uint32_t len;

	store_key_init(&k, &e->digest_key, e->keys[i], (uint32_t)strlen(e->keys[i]));
	if (store_get(s, &k, &hit) != STORE_HIT)
		return 0;
	if (store_hit_compressed(&hit)) {
		len = store_hit_raw_len(&hit);
		if (store_hit_inflate(&hit, e->scratch, NULL) != 0)
			return 0;
		v = e->scratch;
	} else {
		len = hit.nbytes;
		v = hit.value;
	}
	memcpy(e->resp, v, len);
	return len;
}

static void
run_once(struct env *e, const struct cfg *c, const struct dataset *d, bool on,
	 struct result *r)
{
	struct store_shard *s = shard_new(e, c, d, on);
	struct store_shard_stats st;
	const struct slab *sl;
	uint64_t pages = 0;
	double t0;

	t0 = cpu_cycles();
	for (uint32_t i = 0; i < d->n; i++) {
		struct store_key k;
		enum store_status rc;

		store_key_init(&k, &e->digest_key, e->keys[i], (uint32_t)strlen(e->keys[i]));
		rc = store_put(s, &k, STORE_MODE_SET, d->val[i], d->len[i], i, 0, 0, NULL);
		if (rc != STORE_STORED)
			fatal("a SET was not stored: %s", store_status_name(rc));
		if (i % BURST == BURST - 1)
			upkeep(e, s);
	}
	r->set_cycles = (cpu_cycles() - t0) / d->n;
	upkeep(e, s);
	t0 = cpu_cycles();
	for (uint32_t p = 0; p < c->passes; p++) {
		for (uint32_t j = 0; j < d->n; j++) {
			if (get_one(e, s, e->order[j]) == 0)
				fatal("%s", "a GET missed");
			if (j % BURST == BURST - 1)
				upkeep(e, s);
		}
	}
	r->get_cycles = (cpu_cycles() - t0) / ((double)d->n * c->passes);
	for (uint32_t i = 0; i < d->n; i++) {
		if (get_one(e, s, i) != d->len[i] || memcmp(e->resp, d->val[i], d->len[i]) != 0)
			fatal("value %s read back wrong", e->keys[i]);
		if (i % BURST == BURST - 1)
			upkeep(e, s);
	}
	store_shard_stats_get(s, &st);
	if (st.evictions != 0 || st.curr_items != d->n)
		fatal("%s", "items were evicted: the shard is too small");
	sl = store_shard_slab(s);
	for (unsigned i = 0; i < sl->nclasses; i++)
		pages += sl->cls[i].npages;
	r->pages_mb = (double)pages * (double)sl->page_size / (1 << 20);
	r->bytes = (double)st.bytes;
	r->per_mb = (double)d->n / r->pages_mb;
	r->stored_share = on ? (double)(d->raw_bytes - st.compressed_bytes_before +
					st.compressed_bytes_after) /
				       (double)d->raw_bytes
			     : 1.0;
	upkeep(e, s);
	store_shard_destroy(&s);
}

static void
report(struct env *e, const struct cfg *c, const struct dataset *d)
{
	double v[2][6][RUNS_MAX];

	/* The modes take turns run by run, so both see the same conditions on a shared machine. */
	for (uint32_t i = 0; i < c->runs; i++) {
		for (int on = 0; on < 2; on++) {
			struct result r;

			run_once(e, c, d, on, &r);
			v[on][0][i] = r.pages_mb;
			v[on][1][i] = r.bytes;
			v[on][2][i] = r.per_mb;
			v[on][3][i] = r.set_cycles;
			v[on][4][i] = r.get_cycles;
			v[on][5][i] = r.stored_share;
		}
	}
	for (int on = 0; on < 2; on++) {
		double m[6];

		for (int k = 0; k < 6; k++)
			m[k] = bench_median_sort(v[on][k], c->runs);
		printf("%-7s %-5s %9.1f %12.0f %9.1f %10.0f %10.0f %8.3f\n", d->name,
		       on ? "lzf" : "off", m[0], m[1], m[2], m[3], m[4], m[5]);
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: nc_bench_compress [--docs N] [--runs N] [--passes N] [--min BYTES]\n"
		   "                         [--saving PERCENT] [--seed N]\n");
}

static void
parse(int argc, char **argv, struct cfg *c)
{
	static const struct option opts[] = {
		{"docs", required_argument, NULL, 'd'},	  {"runs", required_argument, NULL, 'r'},
		{"passes", required_argument, NULL, 'p'}, {"min", required_argument, NULL, 'm'},
		{"saving", required_argument, NULL, 's'}, {"seed", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	int o;
	double v;

	*c = (struct cfg){.docs = 4000, .runs = 5, .passes = 3, .min = 1024, .saving = 10,
			  .seed = 1};
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		double lo = 1, hi = 1e7;

		if (o == 'h') {
			usage(stdout);
			exit(0);
		}
		if (o == '?') {
			usage(stderr);
			exit(2);
		}
		if (o == 'r')
			hi = RUNS_MAX;
		if (o == 's')
			lo = 0, hi = 99;
		if (!bench_number(optarg, lo, hi, &v))
			fatal("bad number '%s'", optarg);
		switch (o) {
		case 'd': c->docs = (uint32_t)v; break;
		case 'r': c->runs = (uint32_t)v; break;
		case 'p': c->passes = (uint32_t)v; break;
		case 'm': c->min = (uint32_t)v; break;
		case 's': c->saving = (uint32_t)v; break;
		default: c->seed = (uint64_t)v; break;
		}
	}
}

int
main(int argc, char **argv)
{
	char *eal[] = {"nc_bench_compress", "--no-huge", "--no-shconf", "--no-pci",
		       "--no-telemetry", "--log-level=lib.eal:error", "-m", "1024", "--lcores",
		       "0", NULL};
	struct cfg c;
	struct env e = {0};
	struct dataset json, rnd;
	uint64_t rng;
	int err;

	parse(argc, argv, &c);
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		fatal("rte_eal_init: %s", rte_strerror(rte_errno));
	rcu_register_thread();
	nc_clock_init(&e.clock);
	nc_cas_source_init(&e.cas);
	e.seed.k0 = UINT64_C(0x0706050403020100) ^ c.seed;
	e.seed.k1 = UINT64_C(0x0f0e0d0c0b0a0908);
	nc_digest_key_init(&e.digest_key, &e.seed);
	e.reclaimer = retire_reclaimer_create(SOCKET_ID_ANY, -1, &err);
	if (e.reclaimer == NULL)
		fatal("retire_reclaimer_create: %s", strerror(-err));
	e.keys = calloc(c.docs, sizeof(*e.keys));
	e.order = calloc(c.docs, sizeof(*e.order));
	e.scratch = malloc(DOC_MAX);
	e.resp = malloc(DOC_MAX);
	if (e.keys == NULL || e.order == NULL || e.scratch == NULL || e.resp == NULL)
		fatal("%s", "out of memory");
	rng = c.seed + 12345;
	for (uint32_t i = 0; i < c.docs; i++) {
		snprintf(e.keys[i], sizeof(e.keys[i]), "doc:%08u", i);
		e.order[i] = i;
	}
	for (uint32_t i = c.docs - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(xorshift(&rng) % (i + 1)), t = e.order[i];

		e.order[i] = e.order[j];
		e.order[j] = t;
	}
	dataset_make(&json, "json", c.docs, c.seed, true);
	dataset_make(&rnd, "random", c.docs, c.seed + 1, false);
	printf("nc_bench_compress: %u documents of %u-%u bytes per data set (json %.1f MB, random "
	       "%.1f MB), %u runs (medians), %u GET passes, compression_min %u, "
	       "compression_min_saving %u%%, TSC %.2f GHz\n",
	       c.docs, DOC_MIN, DOC_MAX, json.raw_bytes / 1048576.0, rnd.raw_bytes / 1048576.0,
	       c.runs, c.passes, c.min, c.saving, rte_get_tsc_hz() / 1e9);
	printf("%-7s %-5s %9s %12s %9s %10s %10s %8s\n", "data", "mode", "pages_MB", "bytes",
	       "items/MB", "SET_cyc", "GET_cyc", "stored");
	report(&e, &c, &json);
	report(&e, &c, &rnd);
	retire_reclaimer_destroy(&e.reclaimer);
	rcu_unregister_thread();
	return 0;
}
