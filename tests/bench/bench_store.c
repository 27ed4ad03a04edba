/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_bench_store: single-core throughput of ONE store shard, driven the way a worker drives
 * it: digest the keys (store_key_init), look them up (store_get_bulk or store_get), copy each
 * hit's value into a response buffer, and once per burst announce a quiescent state
 * (rcu_quiescent_state), refresh the coarse clock and run store_shard_maintain().
 *
 * Phases (each timed over --runs runs; the table shows the median, ns/op and min..max):
 *   SET new keys      store_put of N fresh keys into an empty shard (the load phase; each
 *                     run loads a fresh shard)
 *   GET hit bulk      store_get_bulk in bursts of --burst, all keys present (asserted)
 *   GET hit single    store_get one key at a time (same upkeep per burst)
 *   GET miss bulk     store_get_bulk of keys that are not in the cache (asserted)
 *   digest only       store_key_init alone over the GET stream: the digest's share of a GET
 *   SET overwrite     store_put of existing keys (new item linked, old one retired)
 *   mixed uniform     90% GET (bulk) / 10% SET, keys uniform
 *   mixed zipf        90% GET (bulk) / 10% SET, keys Zipf(s) (Gray et al.), ranks scrambled
 * Request streams (key bytes in request order, like an RX ring) are built before timing, so
 * neither the random generators nor the Zipf sampler are measured. SETs run one store_put per
 * key (no batching); in the mixed phases a burst's GETs go to one store_get_bulk. The memory
 * limit leaves room for every item; the program fails (exit 1) if anything was evicted, a GET
 * of a stored key missed, a miss key hit, or a value is wrong at the end.
 *
 * Columns: median Mops/s over the runs (wall clock, rte_rdtsc), ns/op and TSC cycles/op from
 * that median, min..max over the runs, onCPU = the lowest share of a run's wall time the
 * thread actually ran (CLOCK_THREAD_CPUTIME_ID; below 97% other processes or VM steal took
 * the CPU and the run is low), CPU-time = median Mops per second of thread CPU time.
 * The bench thread is EAL lcore 0 pinned to --cpu, registered with liburcu-qsbr; the store's
 * reclaimer thread (grace periods) is pinned to another CPU, as on the server.
 *
 * Run (from the repository root):
 *   ninja -C build && ./build/tests/bench/nc_bench_store            # 1M keys, 5 runs
 *   ./build/tests/bench/nc_bench_store --quick                       # 200k keys, 3 runs
 *   ./build/tests/bench/nc_bench_store --keys 20000 --runs 1         # smoke run (test.sh)
 *   ./build/tests/bench/nc_bench_store --phases get,miss --runs 9     # a subset of phases
 *   ./build/tests/bench/nc_bench_store --help
 *
 * Instructions per GET with callgrind (--callgrind-get: load 100k keys, then exactly 100k
 * GETs in bulk bursts inside bench_get_bulk_loop(), the only function collected):
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/nc_bench.cg \
 *       --toggle-collect=bench_get_bulk_loop \
 *       ./build/tests/bench/nc_bench_store --callgrind-get
 *   callgrind_annotate --threshold=100 --inclusive=yes /tmp/nc_bench.cg | head -60  # inclusive
 *   callgrind_annotate --threshold=100 /tmp/nc_bench.cg | head -50   # self cost per function
 *   callgrind_annotate --auto=yes /tmp/nc_bench.cg | less            # per source line
 * Divide by the number of GETs printed by the program (100000 unless --ops) for Ir/GET.
 * The other loops are static (GCC may suffix them, e.g. .constprop.0), so collect them with a
 * wildcard, e.g. instructions per SET:
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/nc_set.cg \
 *       '--toggle-collect=bench_set_loop*' \
 *       ./build/tests/bench/nc_bench_store --keys 100000 --runs 1 --phases set --ops 1M
 *   (--ops 1M gives 100000 SETs: SET runs --ops/10)
 *
 * EAL runs without hugepages by default (--no-huge: 4 KiB pages, so random accesses pay TLB
 * misses); --huge uses the system's hugepages (--in-memory) when it has them.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_version.h>
#include <urcu-qsbr.h>

#include "bench_util.h"
#include "core/cas.h"
#include "core/clock.h"
#include "core/digest.h"
#include "store/index.h"
#include "store/item.h"
#include "store/shard.h"
#include "store/retire.h"
#include "store/slab.h"

#define KEY_LEN 16
#define VALUE_LEN 32
#define RUNS_MAX 101
/* Longest request stream built in memory; longer runs wrap around it. */
#define STREAM_CAP (4u << 20)
/* TTL budget handed to store_shard_maintain() per burst, as a worker would. */
#define TTL_BUDGET 64
/* Response buffer: one burst of values. */
#define RESP_SIZE (INDEX_BULK_MAX * 64)

#define MIB (1024.0 * 1024.0)

/* ------------------------------------------------------------------ helpers */

static void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void
fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "nc_bench_store: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
struct rng {
	uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n), n < 2^32 (multiply-shift; the bias is irrelevant here). */
static inline uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* Uniform double in [0, 1). */
static inline double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Fisher-Yates permutation of [0, n). */
static uint32_t *
make_permutation(struct rng *r, uint32_t n)
{
	uint32_t *p = xcalloc(n, sizeof(*p));

	for (uint32_t i = 0; i < n; i++)
		p[i] = i;
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		uint32_t t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

/*
 * Zipf over ranks [0, n) with exponent theta (< 1), after Gray, Sundaresan, Englert, Baclawski
 * and Weinberger, "Quickly generating billion-record synthetic databases" (SIGMOD 1994), the
 * generator YCSB uses: O(n) set-up for zeta(n), then O(1) per sample (one pow()).
 */
struct zipf {
	double n;
	double theta;
	double alpha;
	double zetan;
	double eta;
	double half_pow; /* 1 + 0.5^theta */
};

static double
zeta(uint64_t n, double theta)
{
	double sum = 0.0;

	/* Smallest terms first, for accuracy. */
	for (uint64_t i = n; i >= 1; i--)
		sum += 1.0 / pow((double)i, theta);
	return sum;
}

static void
zipf_init(struct zipf *z, uint64_t n, double theta)
{
	double zeta2 = 1.0 + pow(0.5, theta);

	z->n = (double)n;
	z->theta = theta;
	z->alpha = 1.0 / (1.0 - theta);
	z->zetan = zeta(n, theta);
	z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
	z->half_pow = zeta2;
}

static uint32_t
zipf_next(const struct zipf *z, struct rng *r)
{
	double u = rng_unit(r);
	double uz = u * z->zetan;
	double v;

	if (uz < 1.0)
		return 0;
	if (uz < z->half_pow)
		return 1;
	v = z->n * pow(z->eta * u - z->eta + 1.0, z->alpha);
	if (v >= z->n)
		v = z->n - 1.0;
	return (uint32_t)v;
}

/* ------------------------------------------------------------------ configuration */

enum phase {
	PH_LOAD, PH_GET, PH_SINGLE, PH_MISS, PH_DIGEST, PH_SET, PH_MIXED, PH_ZIPF, PH_COUNT
};

static const char *const phase_names[PH_COUNT] = {
	"load", "get", "single", "miss", "digest", "set", "mixed", "zipf",
};

#define PH_ALL ((1u << PH_COUNT) - 1)
#define PH_ON(cfg, ph) (((cfg)->phases >> (ph)) & 1u)

struct bench_cfg {
	uint32_t keys;
	unsigned runs;
	uint64_t get_ops;   /* per run, GET phases */
	uint64_t set_ops;   /* per run, SET overwrite */
	uint64_t mixed_ops; /* per run, each mixed phase */
	uint64_t mem_mb;    /* shard memory limit */
	unsigned burst;
	unsigned cpu;       /* CPU of lcore 0 */
	int rcu_cpu;        /* CPU of the store's reclaimer thread; -1 = not pinned */
	double zipf_s;
	double set_ratio;
	uint64_t seed;
	enum nc_digest_kind digest; /* --digest */
	unsigned phases;    /* bit per enum phase */
	bool huge;
	bool quick;
	bool callgrind;
};

/* Parse a count with an optional k/M/G suffix (powers of 1000). */
static uint64_t
parse_count(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		fatal("%s: bad number '%s'", opt, s);
	switch (*end) {
	case 'k':
	case 'K':
		v *= 1e3;
		end++;
		break;
	case 'm':
	case 'M':
		v *= 1e6;
		end++;
		break;
	case 'g':
	case 'G':
		v *= 1e9;
		end++;
		break;
	default:
		break;
	}
	if (*end != '\0' || v > 1e15)
		fatal("%s: bad number '%s'", opt, s);
	return (uint64_t)v;
}

static unsigned
parse_phases(const char *arg)
{
	char buf[256];
	unsigned mask = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned ph;

		for (ph = 0; ph < PH_COUNT; ph++) {
			if (strcmp(tok, phase_names[ph]) == 0)
				break;
		}
		if (ph == PH_COUNT)
			fatal("--phases: unknown phase '%s'", tok);
		mask |= 1u << ph;
	}
	if (mask == 0)
		fatal("--phases: empty list");
	return mask;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: nc_bench_store [options]\n"
		"  --keys N          keys loaded into the shard (default 1M; --quick 200k)\n"
		"  --runs R          timed runs per phase, median reported (default 5; --quick 3)\n"
		"  --ops M           GET ops per run (default clamp(10*keys, 1M, 10M)); SET\n"
		"                    overwrite runs M/10, each mixed phase M ops\n"
		"  --mem MB          shard memory limit (default keys*160 B + 64 MiB)\n"
		"  --burst B         GET burst size, 1..%u (default 32)\n"
		"  --zipf S          Zipf exponent of the skewed mix, 0 < S < 1 (default 0.99)\n"
		"  --quick           smaller defaults: 200k keys, 3 runs, 2M ops\n"
		"  --huge            use hugepages (EAL --in-memory) instead of --no-huge\n"
		"  --cpu C           CPU the benchmark thread (lcore 0) runs on (default 0)\n"
		"  --rcu-cpu C       CPU of the store's reclaimer (grace-period) thread (default:\n"
		"                    another CPU than --cpu if there is one; -1 = not pinned)\n"
		"  --seed X          random seed for key orders (default 1)\n"
		"  --digest KIND     aes-cmac or siphash-1-3 (default: what nicached picks here)\n"
		"  --phases LIST     comma-separated subset of load,get,single,miss,digest,set,\n"
		"                    mixed,zipf\n"
		"                    (default all; the keys are loaded in any case)\n"
		"  --callgrind-get   only load (default 100k keys) and run --ops (default 100k)\n"
		"                    bulk GETs in bench_get_bulk_loop(); see the file's header\n"
		"  --help\n",
		(unsigned)INDEX_BULK_MAX);
}

static void
parse_args(int argc, char **argv, struct bench_cfg *cfg)
{
	enum {
		OPT_KEYS = 256, OPT_RUNS, OPT_OPS, OPT_MEM, OPT_BURST, OPT_ZIPF, OPT_QUICK,
		OPT_HUGE, OPT_CPU, OPT_RCU_CPU, OPT_SEED, OPT_DIGEST, OPT_PHASES, OPT_CALLGRIND,
		OPT_HELP,
	};
	static const struct option opts[] = {
		{"keys", required_argument, NULL, OPT_KEYS},
		{"runs", required_argument, NULL, OPT_RUNS},
		{"ops", required_argument, NULL, OPT_OPS},
		{"mem", required_argument, NULL, OPT_MEM},
		{"burst", required_argument, NULL, OPT_BURST},
		{"zipf", required_argument, NULL, OPT_ZIPF},
		{"quick", no_argument, NULL, OPT_QUICK},
		{"huge", no_argument, NULL, OPT_HUGE},
		{"cpu", required_argument, NULL, OPT_CPU},
		{"rcu-cpu", required_argument, NULL, OPT_RCU_CPU},
		{"seed", required_argument, NULL, OPT_SEED},
		{"digest", required_argument, NULL, OPT_DIGEST},
		{"phases", required_argument, NULL, OPT_PHASES},
		{"callgrind-get", no_argument, NULL, OPT_CALLGRIND},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	uint64_t keys = 0, runs = 0, ops = 0;
	bool rcu_cpu_set = false;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->burst = 32;
	cfg->zipf_s = 0.99;
	cfg->set_ratio = 0.10;
	cfg->seed = 1;
	cfg->digest = nc_digest_aes_available() ? NC_DIGEST_AES_CMAC : NC_DIGEST_SIPHASH13;
	cfg->rcu_cpu = -1;
	cfg->phases = PH_ALL;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEYS:
			keys = parse_count("--keys", optarg);
			if (keys < 1 || keys > UINT32_MAX / 2)
				fatal("--keys: out of range");
			break;
		case OPT_RUNS:
			runs = parse_count("--runs", optarg);
			if (runs < 1 || runs > RUNS_MAX)
				fatal("--runs: 1..%d", RUNS_MAX);
			break;
		case OPT_OPS:
			ops = parse_count("--ops", optarg);
			if (ops < 1)
				fatal("--ops: must be positive");
			break;
		case OPT_MEM:
			cfg->mem_mb = parse_count("--mem", optarg);
			if (cfg->mem_mb < 2)
				fatal("--mem: at least 2 MB");
			break;
		case OPT_BURST:
			cfg->burst = (unsigned)parse_count("--burst", optarg);
			if (cfg->burst < 1 || cfg->burst > INDEX_BULK_MAX)
				fatal("--burst: 1..%u", (unsigned)INDEX_BULK_MAX);
			break;
		case OPT_ZIPF:
			cfg->zipf_s = strtod(optarg, NULL);
			if (!(cfg->zipf_s > 0.0 && cfg->zipf_s < 1.0))
				fatal("--zipf: 0 < S < 1 (Gray et al.'s generator)");
			break;
		case OPT_QUICK:
			cfg->quick = true;
			break;
		case OPT_HUGE:
			cfg->huge = true;
			break;
		case OPT_CPU:
			cfg->cpu = (unsigned)parse_count("--cpu", optarg);
			break;
		case OPT_RCU_CPU:
			cfg->rcu_cpu = atoi(optarg);
			rcu_cpu_set = true;
			break;
		case OPT_SEED:
			cfg->seed = parse_count("--seed", optarg);
			break;
		case OPT_DIGEST:
			if (strcmp(optarg, nc_digest_kind_name(NC_DIGEST_AES_CMAC)) == 0)
				cfg->digest = NC_DIGEST_AES_CMAC;
			else if (strcmp(optarg, nc_digest_kind_name(NC_DIGEST_SIPHASH13)) == 0)
				cfg->digest = NC_DIGEST_SIPHASH13;
			else
				fatal("--digest: aes-cmac or siphash-1-3");
			break;
		case OPT_PHASES:
			cfg->phases = parse_phases(optarg);
			break;
		case OPT_CALLGRIND:
			cfg->callgrind = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		fatal("unexpected argument '%s' (see --help)", argv[optind]);

	if (cfg->callgrind) {
		cfg->keys = keys ? (uint32_t)keys : 100000;
		cfg->runs = 1;
		cfg->get_ops = ops ? ops : 100000;
	} else {
		cfg->keys = keys ? (uint32_t)keys : cfg->quick ? 200000 : 1000000;
		cfg->runs = runs ? (unsigned)runs : cfg->quick ? 3 : 5;
		if (ops == 0) {
			/* About ten reads of every key per run, within [1M, 10M]. */
			uint64_t o = 10ull * cfg->keys;

			ops = o < 1000000 ? 1000000 : o > 10000000 ? 10000000 : o;
			if (cfg->quick && ops > 2000000)
				ops = 2000000;
		}
		cfg->get_ops = ops;
	}
	cfg->set_ops = cfg->get_ops / 10 ? cfg->get_ops / 10 : 1;
	cfg->mixed_ops = cfg->get_ops;
	if (cfg->mem_mb == 0)
		cfg->mem_mb = ((uint64_t)cfg->keys * 160 + (64u << 20) + (1u << 20) - 1) >> 20;
	if (!rcu_cpu_set) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		cfg->rcu_cpu = ncpu > 1 ? (cfg->cpu == 0 ? 1 : 0) : -1;
	}
}

/* ------------------------------------------------------------------ environment */

/* Bytes the shard's largest index table takes (DPDK memory on hugepages), with margin. */
static uint64_t
index_bytes_estimate(uint64_t mem_bytes)
{
	uint64_t chunk0 = (sizeof(struct item) + 48 + 7) & ~UINT64_C(7);
	uint64_t pages = mem_bytes / SLAB_PAGE_SIZE_DEFAULT;
	uint64_t entries = pages * (SLAB_PAGE_SIZE_DEFAULT / chunk0);

	if (entries > INDEX_ENTRIES_MAX)
		entries = INDEX_ENTRIES_MAX;
	return 2 * index_table_bytes((uint32_t)entries) + (8u << 20);
}

static void
eal_init(const struct bench_cfg *cfg, unsigned *eal_mb_out)
{
	uint64_t mem = cfg->mem_mb << 20;
	unsigned eal_mb = (unsigned)((mem + index_bytes_estimate(mem)) >> 20) + 96;
	char mem_arg[24];
	char lc_arg[32];
	char *argv[16];
	int argc = 0;

	snprintf(mem_arg, sizeof(mem_arg), "%u", eal_mb);
	snprintf(lc_arg, sizeof(lc_arg), "0@%u", cfg->cpu);
	argv[argc++] = "nc_bench_store";
	if (cfg->huge) {
		argv[argc++] = "--in-memory";
	} else {
		argv[argc++] = "--no-huge";
		argv[argc++] = "--no-shconf";
	}
	argv[argc++] = "--no-pci";
	argv[argc++] = "--no-telemetry";
	argv[argc++] = "--log-level=lib.eal:error";
	argv[argc++] = "-m";
	argv[argc++] = mem_arg;
	argv[argc++] = "--lcores";
	argv[argc++] = lc_arg;
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0)
		fatal("rte_eal_init failed (%s)%s", rte_strerror(rte_errno),
		      cfg->huge ? ": are enough hugepages reserved? try without --huge" : "");
	*eal_mb_out = eal_mb;
}

static void
cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown CPU");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');

			if (p != NULL) {
				p++;
				while (*p == ' ' || *p == '\t')
					p++;
				p[strcspn(p, "\n")] = '\0';
				snprintf(buf, len, "%s", p);
			}
			break;
		}
	}
	fclose(f);
}

static void
load_avg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(buf, len, "?");
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) != NULL) {
		/* Keep the three averages only. */
		char *p = buf;

		for (int fields = 0; *p != '\0'; p++) {
			if (*p == ' ' && ++fields == 3)
				break;
		}
		*p = '\0';
	}
	fclose(f);
}

/* ------------------------------------------------------------------ the benchmark */

/* Keys in request order, as a worker would find them in its RX burst. */
struct stream {
	char (*key)[KEY_LEN];
	uint8_t *is_set;     /* NULL: GETs only */
	uint64_t len;
	uint64_t nsets;      /* SETs in the stream */
	const char *label;
};

struct bench {
	struct bench_cfg cfg;
	struct nc_clock clock;
	struct nc_cas_source cas;
	struct nc_digest_seed seed;
	struct nc_digest_key digest_key; /* seed expanded */
	struct store_shard *shard;
	struct retire_reclaimer *reclaimer;
	char (*keys)[KEY_LEN];       /* loaded keys, index order */
	char (*miss_keys)[KEY_LEN];  /* keys never stored */
	uint32_t nmiss;
	uint64_t version;            /* stamped into SET values */
	uint64_t set_retries;        /* STORE_NO_MEMORY answers retried */
	uint64_t sink;               /* keeps the response copies observable */
	double tsc_hz;
};

static char resp_buf[RESP_SIZE];

static void
key_format(char out[KEY_LEN], const char prefix[4], uint64_t idx)
{
	memcpy(out, prefix, 4);
	for (int i = KEY_LEN - 1; i >= 4; i--) {
		out[i] = (char)('0' + idx % 10);
		idx /= 10;
	}
}

/* What a worker does once per loop iteration. */
static inline void
worker_upkeep(struct bench *b)
{
	rcu_quiescent_state();
	nc_clock_update(&b->clock);
	store_shard_maintain(b->shard, TTL_BUDGET);
}

/* The value of a SET: the key itself, a version, then filler. */
static inline void
value_fill(char value[VALUE_LEN], const char *key, uint64_t version)
{
	memcpy(value, key, KEY_LEN);
	memcpy(value + KEY_LEN, &version, sizeof(version));
	memset(value + KEY_LEN + sizeof(version), 'v', VALUE_LEN - KEY_LEN - sizeof(version));
}

/* SET one digested key as a worker: store_put, retry after upkeep when memory is short. */
static inline void
bench_set_key(struct bench *b, const struct store_key *k)
{
	char value[VALUE_LEN];
	enum store_status st;

	value_fill(value, k->key, ++b->version);
	for (unsigned tries = 0;; tries++) {
		st = store_put(b->shard, k, STORE_MODE_SET, value, VALUE_LEN, 0, 0, 0, NULL);
		if (st == STORE_STORED)
			return;
		if (st != STORE_NO_MEMORY || tries > 100000)
			fatal("store_put: %s", store_status_name(st));
		b->set_retries++;
		worker_upkeep(b);
		if (tries > 64)
			usleep(10);
	}
}

/* SET one key: digest, then bench_set_key. */
static inline void
bench_set_one(struct bench *b, const char *key)
{
	struct store_key k;

	store_key_init(&k, &b->digest_key, key, KEY_LEN);
	bench_set_key(b, &k);
}

/* Copy a hit's value into the response, as a response writer would. */
static inline size_t
resp_append(size_t off, const struct store_hit *h)
{
	if (off + h->nbytes > RESP_SIZE)
		fatal("value of %u bytes does not fit the response buffer", h->nbytes);
	memcpy(resp_buf + off, h->value, h->nbytes);
	return off + h->nbytes;
}

/*
 * Bulk GETs: per burst, digest the keys, store_get_bulk, copy the hits' values, upkeep.
 * The function callgrind collects (--toggle-collect=bench_get_bulk_loop).
 * @return hits.
 */
__attribute__((noinline)) uint64_t bench_get_bulk_loop(struct bench *b, const struct stream *s,
							uint64_t ops);
__attribute__((noinline)) uint64_t
bench_get_bulk_loop(struct bench *b, const struct stream *s, uint64_t ops)
{
	struct store_key ks[INDEX_BULK_MAX];
	const struct store_key *kp[INDEX_BULK_MAX];
	struct store_hit hits[INDEX_BULK_MAX];
	const unsigned burst = b->cfg.burst;
	uint64_t pos = 0, done = 0, found = 0;

	for (unsigned i = 0; i < INDEX_BULK_MAX; i++)
		kp[i] = &ks[i];
	while (done < ops) {
		unsigned n = ops - done < burst ? (unsigned)(ops - done) : burst;
		size_t off = 0;

		for (unsigned i = 0; i < n; i++) {
			store_key_init(&ks[i], &b->digest_key, s->key[pos], KEY_LEN);
			if (++pos == s->len)
				pos = 0;
		}
		found += store_get_bulk(b->shard, kp, n, hits);
		for (unsigned i = 0; i < n; i++) {
			if (hits[i].status == STORE_HIT)
				off = resp_append(off, &hits[i]);
		}
		b->sink += off;
		done += n;
		worker_upkeep(b);
	}
	return found;
}

/* Single GETs: store_get per key, same upkeep per burst. @return hits. */
static __attribute__((noinline)) uint64_t
bench_get_single_loop(struct bench *b, const struct stream *s, uint64_t ops)
{
	const unsigned burst = b->cfg.burst;
	uint64_t pos = 0, done = 0, found = 0;

	while (done < ops) {
		unsigned n = ops - done < burst ? (unsigned)(ops - done) : burst;
		size_t off = 0;

		for (unsigned i = 0; i < n; i++) {
			struct store_key k;
			struct store_hit hit;

			store_key_init(&k, &b->digest_key, s->key[pos], KEY_LEN);
			if (++pos == s->len)
				pos = 0;
			if (store_get(b->shard, &k, &hit) == STORE_HIT) {
				off = resp_append(off, &hit);
				found++;
			}
		}
		b->sink += off;
		done += n;
		worker_upkeep(b);
	}
	return found;
}

/* Only the digests of the GET path (store_key_init per key), to show their share of a GET. */
static __attribute__((noinline)) uint64_t
bench_digest_loop(struct bench *b, const struct stream *s, uint64_t ops)
{
	struct store_key ks[INDEX_BULK_MAX];
	const unsigned burst = b->cfg.burst;
	uint64_t pos = 0, done = 0, acc = 0;

	while (done < ops) {
		unsigned n = ops - done < burst ? (unsigned)(ops - done) : burst;

		for (unsigned i = 0; i < n; i++) {
			store_key_init(&ks[i], &b->digest_key, s->key[pos], KEY_LEN);
			if (++pos == s->len)
				pos = 0;
		}
		for (unsigned i = 0; i < n; i++)
			acc += ks[i].digest.hi;
		done += n;
	}
	return acc;
}

/* SETs of the keys of a stream, upkeep per burst. */
static __attribute__((noinline)) void
bench_set_loop(struct bench *b, const struct stream *s, uint64_t ops)
{
	struct store_key ks[INDEX_BULK_MAX];
	const struct store_key *kp[INDEX_BULK_MAX];
	const unsigned burst = b->cfg.burst;
	uint64_t pos = 0, done = 0;

	for (unsigned i = 0; i < INDEX_BULK_MAX; i++)
		kp[i] = &ks[i];
	while (done < ops) {
		unsigned n = ops - done < burst ? (unsigned)(ops - done) : burst;

		/* As a worker with an RX burst: digest all, warm the caches, then write. */
		for (unsigned i = 0; i < n; i++) {
			store_key_init(&ks[i], &b->digest_key, s->key[pos], KEY_LEN);
			if (++pos == s->len)
				pos = 0;
		}
		store_prefetch_bulk(b->shard, kp, n, NULL);
		for (unsigned i = 0; i < n; i++)
			bench_set_key(b, &ks[i]);
		done += n;
		worker_upkeep(b);
	}
}

/*
 * Mixed GET/SET: per burst, the SET keys are warmed with store_prefetch_bulk, the GETs
 * gathered into one store_get_bulk, then the SETs run (what a worker does with an RX burst;
 * a GET and a SET of one key in the same burst see the GET first).
 * @return GET hits; *gets receives the GETs issued.
 */
static __attribute__((noinline)) uint64_t
bench_mixed_loop(struct bench *b, const struct stream *s, uint64_t ops, uint64_t *gets)
{
	struct store_key ks[INDEX_BULK_MAX], sets[INDEX_BULK_MAX];
	const struct store_key *kp[INDEX_BULK_MAX], *sp[INDEX_BULK_MAX];
	struct store_hit hits[INDEX_BULK_MAX];
	const unsigned burst = b->cfg.burst;
	uint64_t pos = 0, done = 0, found = 0, ngets = 0;

	for (unsigned i = 0; i < INDEX_BULK_MAX; i++) {
		kp[i] = &ks[i];
		sp[i] = &sets[i];
	}
	while (done < ops) {
		unsigned n = ops - done < burst ? (unsigned)(ops - done) : burst;
		unsigned ng = 0, ns = 0;
		size_t off = 0;

		for (unsigned i = 0; i < n; i++) {
			if (s->is_set[pos])
				store_key_init(&sets[ns++], &b->digest_key, s->key[pos], KEY_LEN);
			else
				store_key_init(&ks[ng++], &b->digest_key, s->key[pos], KEY_LEN);
			if (++pos == s->len)
				pos = 0;
		}
		/* Warm the SET keys first, execute them after the GETs' bulk lookup. */
		if (ns > 0)
			store_prefetch_bulk(b->shard, sp, ns, NULL);
		if (ng > 0) {
			found += store_get_bulk(b->shard, kp, ng, hits);
			for (unsigned i = 0; i < ng; i++) {
				if (hits[i].status == STORE_HIT)
					off = resp_append(off, &hits[i]);
			}
		}
		for (unsigned i = 0; i < ns; i++)
			bench_set_key(b, &sets[i]);
		ngets += ng;
		b->sink += off;
		done += n;
		worker_upkeep(b);
	}
	*gets = ngets;
	return found;
}

/* Load every key (fresh items) in index order, upkeep per burst. */
static __attribute__((noinline)) void
bench_load_loop(struct bench *b)
{
	const unsigned burst = b->cfg.burst;

	for (uint32_t i = 0; i < b->cfg.keys; i++) {
		bench_set_one(b, b->keys[i]);
		if ((i + 1) % burst == 0)
			worker_upkeep(b);
	}
	worker_upkeep(b);
}

/* ------------------------------------------------------------------ streams */

static void
stream_alloc(struct stream *s, uint64_t len, bool mixed, const char *label)
{
	memset(s, 0, sizeof(*s));
	s->len = len < STREAM_CAP ? len : STREAM_CAP;
	if (s->len == 0)
		s->len = 1;
	s->key = xcalloc(s->len, KEY_LEN);
	if (mixed)
		s->is_set = xcalloc(s->len, 1);
	s->label = label;
}

static void
stream_free(struct stream *s)
{
	free(s->key);
	free(s->is_set);
	memset(s, 0, sizeof(*s));
}

/* Keys in repeated passes over one random permutation: every key equally often. */
static void
stream_perm(struct stream *s, char (*keys)[KEY_LEN], uint32_t nkeys, uint64_t ops,
	    struct rng *r, const char *label)
{
	uint32_t *perm = make_permutation(r, nkeys);

	stream_alloc(s, ops, false, label);
	for (uint64_t i = 0; i < s->len; i++)
		memcpy(s->key[i], keys[perm[i % nkeys]], KEY_LEN);
	free(perm);
}

/* Mixed stream: keys uniform (zipf == NULL) or Zipf-ranked through a scrambling permutation. */
static void
stream_mixed(struct bench *b, struct stream *s, uint64_t ops, const struct zipf *zipf,
	     struct rng *r, const char *label, double *top1_share)
{
	uint32_t n = b->cfg.keys;
	uint32_t *scramble = zipf != NULL ? make_permutation(r, n) : NULL;
	uint32_t top1 = n / 100 ? n / 100 : 1;
	uint64_t in_top1 = 0;

	stream_alloc(s, ops, true, label);
	for (uint64_t i = 0; i < s->len; i++) {
		uint32_t rank = zipf != NULL ? zipf_next(zipf, r) : rng_below(r, n);

		in_top1 += rank < top1;
		memcpy(s->key[i], b->keys[scramble != NULL ? scramble[rank] : rank], KEY_LEN);
		s->is_set[i] = rng_unit(r) < b->cfg.set_ratio;
		s->nsets += s->is_set[i];
	}
	*top1_share = (double)in_top1 / (double)s->len;
	free(scramble);
}

/* ------------------------------------------------------------------ results */

struct result {
	const char *name;
	uint64_t ops;          /* per run */
	unsigned n;
	double mops[RUNS_MAX];
	double mops_cpu[RUNS_MAX]; /* per second of thread CPU time */
	double oncpu_min;      /* lowest share of a run's wall time the thread was on its CPU */
	char note[96];
};

/* One timed run: TSC for the rate, thread CPU time to see preemption or steal. */
struct timer {
	uint64_t tsc0, tsc;
	struct timespec cpu0;
	double cpu_sec;
};

static void
timer_start(struct timer *t)
{
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t->cpu0);
	t->tsc0 = rte_rdtsc();
}

static void
timer_stop(struct timer *t)
{
	struct timespec cpu1;

	t->tsc = rte_rdtsc() - t->tsc0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
	t->cpu_sec = (double)(cpu1.tv_sec - t->cpu0.tv_sec) +
		     (double)(cpu1.tv_nsec - t->cpu0.tv_nsec) * 1e-9;
}

static double
median(const double *v, unsigned n, double *min, double *max)
{
	double s[RUNS_MAX], med;

	memcpy(s, v, n * sizeof(*v));
	med = bench_median_sort(s, n);
	*min = s[0];
	*max = s[n - 1];
	return med;
}

static void
result_add(struct result *res, const struct bench *b, uint64_t ops, const struct timer *t)
{
	double sec = (double)t->tsc / b->tsc_hz;
	double oncpu = sec > 0 ? t->cpu_sec / sec : 1.0;

	if (res->n == 0 || oncpu < res->oncpu_min)
		res->oncpu_min = oncpu;
	res->ops = ops;
	res->mops_cpu[res->n] = t->cpu_sec > 0 ? (double)ops / t->cpu_sec / 1e6 : 0.0;
	res->mops[res->n++] = sec > 0 ? (double)ops / sec / 1e6 : 0.0;
}

static void
result_print_header(void)
{
	printf("\n%-31s %13s %8s %7s %15s %6s %8s %9s\n", "operation", "median Mops/s",
	       "ns/op", "cyc/op", "min..max Mops/s", "onCPU", "CPU-time", "ops/run");
	printf("%-31s %13s %8s %7s %15s %6s %8s %9s\n", "-------------------------------",
	       "-------------", "--------", "-------", "---------------", "------", "--------",
	       "---------");
}

/* Print one row; @return the median Mops/s. *perturbed is set when a run lost its CPU. */
static double
result_print(const struct result *res, const struct bench *b, bool *perturbed)
{
	double lo, hi, med, med_cpu;
	char range[40];

	if (res->n == 0)
		return 0.0;
	med_cpu = median(res->mops_cpu, res->n, &lo, &hi);
	med = median(res->mops, res->n, &lo, &hi);
	snprintf(range, sizeof(range), "%.2f..%.2f", lo, hi);
	printf("%-31s %13.2f %8.1f %7.0f %15s %5.0f%% %8.2f %9" PRIu64 "%s%s\n", res->name,
	       med, med > 0 ? 1e3 / med : 0.0, med > 0 ? b->tsc_hz / (med * 1e6) : 0.0, range,
	       100.0 * res->oncpu_min, med_cpu, res->ops, res->note[0] ? "  " : "", res->note);
	if (res->oncpu_min < 0.97)
		*perturbed = true;
	return med;
}

/* ------------------------------------------------------------------ phases */

static struct store_shard *
shard_new(struct bench *b)
{
	struct store_shard_params p = {
		.shard_id = 0,
		.socket_id = SOCKET_ID_ANY,
		.mem_limit = (size_t)(b->cfg.mem_mb << 20),
		.digest_key = &b->digest_key,
		.clock = &b->clock,
		.cas_source = &b->cas,
		.reclaimer = b->reclaimer,
	};
	int err;
	struct store_shard *s = store_shard_create(&p, &err);

	if (s == NULL)
		fatal("store_shard_create(%" PRIu64 " MiB): %s", b->cfg.mem_mb, strerror(-err));
	return s;
}

/* Untimed check: every key hits with a well-formed value carrying the key. */
static void
verify_all(struct bench *b, const char *when)
{
	for (uint32_t i = 0; i < b->cfg.keys; i++) {
		struct store_key k;
		struct store_hit hit;
		enum store_status st;

		store_key_init(&k, &b->digest_key, b->keys[i], KEY_LEN);
		st = store_get(b->shard, &k, &hit);
		if (st != STORE_HIT)
			fatal("%s: key %u: %s", when, i, store_status_name(st));
		if (hit.nbytes != VALUE_LEN || memcmp(hit.value, b->keys[i], KEY_LEN) != 0)
			fatal("%s: key %u: wrong value (%u bytes)", when, i, hit.nbytes);
		if ((i + 1) % 1024 == 0)
			worker_upkeep(b);
	}
	worker_upkeep(b);
}

static void
check_stats(struct bench *b, const char *when)
{
	struct store_shard_stats st;

	store_shard_stats_get(b->shard, &st);
	if (st.evictions != 0)
		fatal("%s: %" PRIu64 " evictions: the memory limit is too small (--mem)", when,
		      st.evictions);
	if (st.curr_items != b->cfg.keys)
		fatal("%s: %" PRIu64 " items, expected %u", when, st.curr_items, b->cfg.keys);
}

/* Untimed: let the index finish moving keys to the larger table the load made it grow to. */
static void
index_settle(struct bench *b)
{
	while (store_shard_upkeep_pending(b->shard))
		worker_upkeep(b);
}

/* Load phase: each run loads all keys into a fresh shard; the last shard is kept. */
static void
phase_load(struct bench *b, struct result *res, unsigned runs)
{
	res->name = "SET new keys (load)";
	for (unsigned r = 0; r < runs; r++) {
		struct timer tm;

		if (b->shard != NULL)
			store_shard_destroy(&b->shard);
		b->shard = shard_new(b);
		timer_start(&tm);
		bench_load_loop(b);
		timer_stop(&tm);
		result_add(res, b, b->cfg.keys, &tm);
		check_stats(b, "load");
		index_settle(b);
	}
	snprintf(res->note, sizeof(res->note), "(fresh shard per run)");
	verify_all(b, "after load");
}

static void
phase_get_bulk(struct bench *b, struct result *res, const struct stream *s, bool expect_hit,
	       const char *name)
{
	res->name = name;
	for (unsigned r = 0; r < b->cfg.runs; r++) {
		struct timer tm;
		uint64_t found;

		timer_start(&tm);
		found = bench_get_bulk_loop(b, s, b->cfg.get_ops);
		timer_stop(&tm);
		if (found != (expect_hit ? b->cfg.get_ops : 0))
			fatal("%s: %" PRIu64 " hits of %" PRIu64 " GETs", name, found,
			      b->cfg.get_ops);
		result_add(res, b, b->cfg.get_ops, &tm);
	}
}

static void
phase_get_single(struct bench *b, struct result *res, const struct stream *s)
{
	res->name = "GET hit, single store_get";
	for (unsigned r = 0; r < b->cfg.runs; r++) {
		struct timer tm;
		uint64_t found;

		timer_start(&tm);
		found = bench_get_single_loop(b, s, b->cfg.get_ops);
		timer_stop(&tm);
		if (found != b->cfg.get_ops)
			fatal("%s: %" PRIu64 " hits of %" PRIu64 " GETs", res->name, found,
			      b->cfg.get_ops);
		result_add(res, b, b->cfg.get_ops, &tm);
	}
}

static void
phase_digest(struct bench *b, struct result *res, const struct stream *s)
{
	res->name = "digest only (store_key_init)";
	for (unsigned r = 0; r < b->cfg.runs; r++) {
		struct timer tm;

		timer_start(&tm);
		b->sink += bench_digest_loop(b, s, b->cfg.get_ops);
		timer_stop(&tm);
		result_add(res, b, b->cfg.get_ops, &tm);
	}
	snprintf(res->note, sizeof(res->note), "(part of every GET above; no lookup)");
}

static void
phase_set(struct bench *b, struct result *res, const struct stream *s)
{
	res->name = "SET overwrite (store_put)";
	for (unsigned r = 0; r < b->cfg.runs; r++) {
		struct timer tm;

		timer_start(&tm);
		bench_set_loop(b, s, b->cfg.set_ops);
		timer_stop(&tm);
		result_add(res, b, b->cfg.set_ops, &tm);
	}
	check_stats(b, res->name);
}

static void
phase_mixed(struct bench *b, struct result *res, const struct stream *s, const char *name)
{
	res->name = name;
	for (unsigned r = 0; r < b->cfg.runs; r++) {
		struct timer tm;
		uint64_t found, gets;

		timer_start(&tm);
		found = bench_mixed_loop(b, s, b->cfg.mixed_ops, &gets);
		timer_stop(&tm);
		if (found != gets)
			fatal("%s: %" PRIu64 " hits of %" PRIu64 " GETs", name, found, gets);
		result_add(res, b, b->cfg.mixed_ops, &tm);
	}
	check_stats(b, name);
}

/* ------------------------------------------------------------------ main */

static void
bench_setup(struct bench *b)
{
	int err;

	nc_clock_init(&b->clock);
	nc_cas_source_init(&b->cas);
	/* The store's grace-period thread, kept off the measured core as on a server. */
	b->reclaimer = retire_reclaimer_create(SOCKET_ID_ANY, b->cfg.rcu_cpu, &err);
	if (b->reclaimer == NULL)
		fatal("retire_reclaimer_create: %s", strerror(-err));
	/* A fixed seed keeps runs comparable; the digest cost does not depend on it. */
	b->seed.k0 = UINT64_C(0x0706050403020100) ^ b->cfg.seed;
	b->seed.k1 = UINT64_C(0x0f0e0d0c0b0a0908);
	if (nc_digest_key_init_kind(&b->digest_key, &b->seed, b->cfg.digest) != 0)
		fatal("--digest %s: not on this CPU (no AES-NI)",
		      nc_digest_kind_name(b->cfg.digest));
	b->tsc_hz = (double)rte_get_tsc_hz();
	b->keys = xcalloc(b->cfg.keys, KEY_LEN);
	for (uint32_t i = 0; i < b->cfg.keys; i++)
		key_format(b->keys[i], "key:", i);
	b->nmiss = b->cfg.keys < 1000000 ? b->cfg.keys : 1000000;
	b->miss_keys = xcalloc(b->nmiss, KEY_LEN);
	for (uint32_t i = 0; i < b->nmiss; i++)
		key_format(b->miss_keys[i], "mis:", i);
}

static void
bench_teardown(struct bench *b)
{
	store_shard_destroy(&b->shard);
	retire_reclaimer_destroy(&b->reclaimer);
	free(b->keys);
	free(b->miss_keys);
}

static void
print_header(const struct bench *b, unsigned eal_mb)
{
	const struct slab *sl = store_shard_slab(b->shard);
	int clsid = slab_class_for(sl, item_total_size(KEY_LEN, VALUE_LEN));
	char model[256], la[64];

	cpu_model(model, sizeof(model));
	load_avg(la, sizeof(la));
	printf("nc_bench_store: one shard driven by one core (%s)\n", rte_version());
	printf("machine  : %ld CPUs online, %s, TSC %.1f MHz\n", sysconf(_SC_NPROCESSORS_ONLN),
	       model, b->tsc_hz / 1e6);
	printf("threads  : benchmark on CPU %d (lcore %u), reclaimer thread %s%d; load avg %s\n",
	       sched_getcpu(), rte_lcore_id(), b->cfg.rcu_cpu >= 0 ? "on CPU " : "not pinned, ",
	       b->cfg.rcu_cpu, la);
	printf("EAL      : %s, -m %u MB\n",
	       b->cfg.huge ? "hugepages (--in-memory)" : "--no-huge (4 KiB pages)", eal_mb);
	printf("keys     : %u x %d B keys, %d B values, item %zu B (header %zu) in class %d of "
	       "%u B chunks\n",
	       b->cfg.keys, KEY_LEN, VALUE_LEN, item_total_size(KEY_LEN, VALUE_LEN),
	       sizeof(struct item), clsid, clsid >= 0 ? sl->cls[clsid].size : 0);
	printf("memory   : shard limit %" PRIu64 " MiB (%u pages of %zu KiB), index ~%u entries "
	       "(%.0f MiB est.)\n",
	       b->cfg.mem_mb, sl->npages, sl->page_size >> 10, sl->npages * sl->cls[0].per_page,
	       (double)index_bytes_estimate(b->cfg.mem_mb << 20) / MIB);
	if (!b->cfg.callgrind)
		printf("runs     : %u per phase; per run: GET %" PRIu64 ", SET %" PRIu64
		       ", mixed %" PRIu64 " ops; burst %u; mixed = %.0f%% GET / %.0f%% SET\n",
		       b->cfg.runs, b->cfg.get_ops, b->cfg.set_ops, b->cfg.mixed_ops, b->cfg.burst,
		       100.0 * (1.0 - b->cfg.set_ratio), 100.0 * b->cfg.set_ratio);
	printf("per op   : store_key_init (%s digest) + lookup/store + value memcpy; per "
	       "burst: rcu_quiescent_state + nc_clock_update + store_shard_maintain\n",
	       nc_digest_kind_name(b->cfg.digest));
	fflush(stdout);
}

static int
run_callgrind(struct bench *b)
{
	struct stream s;
	struct rng r;
	uint64_t found;

	rng_seed(&r, b->cfg.seed + 1);
	b->shard = shard_new(b);
	bench_load_loop(b);
	check_stats(b, "load");
	index_settle(b);
	stream_perm(&s, b->keys, b->cfg.keys, b->cfg.get_ops, &r, "hit");
	/* Touch everything once outside the collected function (caches, lazy binding). */
	verify_all(b, "before callgrind GETs");
	found = bench_get_bulk_loop(b, &s, b->cfg.get_ops);
	if (found != b->cfg.get_ops)
		fatal("callgrind GETs: %" PRIu64 " hits of %" PRIu64, found, b->cfg.get_ops);
	printf("callgrind-get: %" PRIu64 " GETs in bursts of %u after loading %u keys, all hit.\n"
	       "Instructions per GET = Ir collected in bench_get_bulk_loop / %" PRIu64 ".\n",
	       b->cfg.get_ops, b->cfg.burst, b->cfg.keys, b->cfg.get_ops);
	stream_free(&s);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;
	struct result res[PH_COUNT];
	struct stream s;
	struct rng r;
	struct zipf z;
	struct store_shard_stats st;
	double top1, get_bulk_mops;
	bool perturbed = false;
	unsigned eal_mb;
	int rc;

	parse_args(argc, argv, &b->cfg);
	eal_init(&b->cfg, &eal_mb);
	rcu_register_thread();
	bench_setup(b);
	memset(res, 0, sizeof(res));

	if (b->cfg.callgrind) {
		rc = run_callgrind(b);
		print_header(b, eal_mb);
		goto out;
	}

	/* Load: one fresh shard per run (once, untimed, when the phase is not selected). */
	if (PH_ON(&b->cfg, PH_LOAD)) {
		phase_load(b, &res[PH_LOAD], b->cfg.runs);
	} else {
		phase_load(b, &res[PH_LOAD], 1);
		res[PH_LOAD].n = 0;
	}
	print_header(b, eal_mb);
	rng_seed(&r, b->cfg.seed + 1);

	if (PH_ON(&b->cfg, PH_GET) || PH_ON(&b->cfg, PH_SINGLE) || PH_ON(&b->cfg, PH_DIGEST)) {
		stream_perm(&s, b->keys, b->cfg.keys, b->cfg.get_ops, &r, "hit");
		if (PH_ON(&b->cfg, PH_GET)) {
			phase_get_bulk(b, &res[PH_GET], &s, true, "GET hit, bulk (store_get_bulk)");
			snprintf(res[PH_GET].note, sizeof(res[PH_GET].note), "(burst %u)",
				 b->cfg.burst);
		}
		if (PH_ON(&b->cfg, PH_SINGLE))
			phase_get_single(b, &res[PH_SINGLE], &s);
		if (PH_ON(&b->cfg, PH_DIGEST))
			phase_digest(b, &res[PH_DIGEST], &s);
		stream_free(&s);
	}
	if (PH_ON(&b->cfg, PH_MISS)) {
		stream_perm(&s, b->miss_keys, b->nmiss, b->cfg.get_ops, &r, "miss");
		phase_get_bulk(b, &res[PH_MISS], &s, false, "GET miss, bulk");
		stream_free(&s);
	}
	if (PH_ON(&b->cfg, PH_SET)) {
		stream_perm(&s, b->keys, b->cfg.keys, b->cfg.set_ops, &r, "set");
		phase_set(b, &res[PH_SET], &s);
		stream_free(&s);
	}
	if (PH_ON(&b->cfg, PH_MIXED)) {
		stream_mixed(b, &s, b->cfg.mixed_ops, NULL, &r, "uniform", &top1);
		phase_mixed(b, &res[PH_MIXED], &s, "mixed 90/10 uniform");
		snprintf(res[PH_MIXED].note, sizeof(res[PH_MIXED].note),
			 "(%.1f%% SET; top 1%% keys get %.1f%%)",
			 100.0 * (double)s.nsets / (double)s.len, 100.0 * top1);
		stream_free(&s);
	}
	if (PH_ON(&b->cfg, PH_ZIPF)) {
		zipf_init(&z, b->cfg.keys, b->cfg.zipf_s);
		stream_mixed(b, &s, b->cfg.mixed_ops, &z, &r, "zipf", &top1);
		phase_mixed(b, &res[PH_ZIPF], &s, "mixed 90/10 zipf");
		snprintf(res[PH_ZIPF].note, sizeof(res[PH_ZIPF].note),
			 "(s=%.2f; %.1f%% SET; top 1%% keys get %.1f%%)", b->cfg.zipf_s,
			 100.0 * (double)s.nsets / (double)s.len, 100.0 * top1);
		stream_free(&s);
	}

	verify_all(b, "at the end");
	check_stats(b, "at the end");
	for (int i = 0; i < 20000 && store_shard_retired_outstanding(b->shard) > 0; i++) {
		worker_upkeep(b);
		if (i > 64)
			usleep(100);
	}

	result_print_header();
	get_bulk_mops = 0.0;
	for (unsigned i = 0; i < PH_COUNT; i++) {
		double m = result_print(&res[i], b, &perturbed);

		if (i == PH_GET)
			get_bulk_mops = m;
	}
	printf("(Mops/s, ns/op and cyc/op (TSC cycles): wall-clock median over the runs; onCPU: "
	       "lowest share of a run's\n wall time the thread was on its CPU; CPU-time: median "
	       "Mops per second of thread CPU time)\n");
	if (perturbed)
		printf("WARNING: some runs lost the CPU (onCPU < 97%%: other processes or VM steal); "
		       "their figures are low\n");
	store_shard_stats_get(b->shard, &st);
	printf("\nshard    : items %" PRIu64 ", linked ever %" PRIu64 ", evictions %" PRIu64
	       ", reclaimed %" PRIu64 ", slab reassigns %" PRIu64 ", alloc retries %" PRIu64
	       ", SET retries %" PRIu64 ", retired outstanding %" PRIu64 "\n",
	       st.curr_items, st.total_items, st.evictions, st.reclaimed, st.slab_reassigns,
	       st.alloc_retries, b->set_retries, store_shard_retired_outstanding(b->shard));
	printf("memory   : %.1f MiB of %" PRIu64 " MiB slab memory in use\n",
	       (double)slab_mem_used(store_shard_slab(b->shard)) / MIB, b->cfg.mem_mb);
	printf("checks   : GETs hit or missed as expected in every phase, all %u keys hold their "
	       "last value, evictions == 0: ok\n",
	       b->cfg.keys);
	if (PH_ON(&b->cfg, PH_GET))
		printf("per-core GET target 10 Mops/s: %s (bulk GET hit median %.2f Mops/s = "
		       "%.1f ns/GET)\n",
		       get_bulk_mops >= 10.0 ? "reached" : "not reached", get_bulk_mops,
		       1e3 / get_bulk_mops);
	if (b->sink == 0)
		printf("(no value bytes copied?)\n");
	rc = 0;
out:
	bench_teardown(b);
	rcu_unregister_thread();
	rte_eal_cleanup();
	return rc;
}
