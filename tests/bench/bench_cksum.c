/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_bench_cksum: the software Internet checksum (lib/net/cksum.h, what a port without
 * checksum offload pays on every frame received and sent: memif, af_packet, af_xdp, tap)
 * against DPDK 22.11's rte_raw_cksum(), one core, data in L1.
 *
 * For each length (an IPv4 header, a GET request's UDP part, a GET reply's, larger datagrams)
 * both sum the same bytes, at the 8 alignments in turn, --sums times; the time per sum is
 * the median over --runs runs.
 *
 *   build/tests/bench/nc_bench_cksum [--runs R] [--sums N]
 * Instructions per sum: valgrind --tool=callgrind build/tests/bench/nc_bench_cksum --runs 1
 * --sums 100000, then callgrind_annotate: the inclusive counts of bench_net_cksum and
 * bench_rte_raw_cksum, 600,000 calls each (100,000 a length).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "net/cksum.h"

#define RUNS_MAX 99

static const size_t lengths[] = {20, 38, 83, 118, 512, 1472};
#define NLENGTHS (sizeof(lengths) / sizeof(lengths[0]))

static volatile uint16_t sink; /* (the sums are kept, so the loops are not dropped) */

/* One sum each, apart, so that callgrind counts them per call. */
__attribute__((noinline)) static uint16_t
bench_net_cksum(const void *p, size_t len)
{
	return net_cksum(p, len);
}

__attribute__((noinline)) static uint16_t
bench_rte_raw_cksum(const void *p, size_t len)
{
	return rte_raw_cksum(p, len);
}

/* Nanoseconds a sum of @p len bytes takes with @p fn, over @p sums sums. */
static double
time_sums(uint16_t (*fn)(const void *, size_t), const uint8_t *buf, size_t len, uint64_t sums)
{
	uint16_t acc = 0;
	double t0 = bench_now_ns();

	for (uint64_t i = 0; i < sums; i++)
		acc = (uint16_t)(acc + fn(buf + (i & 7), len));
	sink = acc;
	return (bench_now_ns() - t0) / (double)sums;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[1472 + 8];
	double runs_v = 5, sums_v = 2e6, t[2][RUNS_MAX];
	unsigned runs;
	uint64_t sums;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc &&
		    bench_number(argv[i + 1], 1, RUNS_MAX, &runs_v))
			i++;
		else if (strcmp(argv[i], "--sums") == 0 && i + 1 < argc &&
			 bench_number(argv[i + 1], 1, 1e10, &sums_v))
			i++;
		else {
			fprintf(stderr, "usage: nc_bench_cksum [--runs 1..99] [--sums N]\n");
			return 2;
		}
	}
	runs = (unsigned)runs_v;
	sums = (uint64_t)sums_v;
	srand(1);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t i = 0; i < 8; i++) /* (the two agree, or the figures mean nothing) */
		for (size_t k = 0; k < NLENGTHS; k++)
			if (net_cksum(buf + i, lengths[k]) != rte_raw_cksum(buf + i, lengths[k])) {
				fprintf(stderr, "nc_bench_cksum: sums differ at %zu bytes\n",
					lengths[k]);
				return 1;
			}
	printf("nc_bench_cksum: ns per sum, median of %u runs of %" PRIu64 " sums\n\n", runs, sums);
	printf("%6s %12s %16s %8s %14s\n", "bytes", "net_cksum", "rte_raw_cksum", "ratio",
	       "net_cksum GB/s");
	for (size_t k = 0; k < NLENGTHS; k++) {
		double ours, theirs;

		for (unsigned r = 0; r < runs; r++) {
			t[0][r] = time_sums(bench_net_cksum, buf, lengths[k], sums);
			t[1][r] = time_sums(bench_rte_raw_cksum, buf, lengths[k], sums);
		}
		ours = bench_median_sort(t[0], runs);
		theirs = bench_median_sort(t[1], runs);
		printf("%6zu %12.2f %16.2f %8.2f %14.2f\n", lengths[k], ours, theirs, ours / theirs,
		       (double)lengths[k] / ours);
	}
	return 0;
}
