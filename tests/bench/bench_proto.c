/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_bench_proto: parse throughput of the protocol parsers, one core, no I/O.
 *
 * For each case a buffer holds a pipeline of BATCH identical requests; the parser runs over it
 * (as one input segment, like one large receive) until it needs more, and the time per parsed
 * request is reported as the median over --runs runs. A multi-key get counts once per line
 * (and its keys are all produced). Cases: text "get <16-byte key>", a text set of 32 bytes,
 * a 10-key text get, and a binary GETK.
 *
 *   build/tests/bench/nc_bench_proto [--runs R] [--requests N]
 * Instructions per request: valgrind --tool=callgrind build/tests/bench/nc_bench_proto --runs 1
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "proto/binary.h"
#include "proto/input.h"
#include "proto/parse.h"
#include "proto/request.h"
#include "proto/text.h"

#define BATCH 1000
#define RUNS_MAX 99
#define ITEM_MAX (1u << 20)

struct bench_case {
	const char *name;
	uint8_t *buf;         /* BATCH requests back to back */
	size_t len;
	bool binary;
	unsigned reqs_per;    /* parsed requests per pipeline element (10 for a 10-key get) */
};

static void
fatal(const char *msg)
{
	fprintf(stderr, "nc_bench_proto: %s\n", msg);
	exit(1);
}

static uint8_t *
repeat(const void *one, size_t len, size_t *total)
{
	uint8_t *buf = malloc(len * BATCH);

	if (buf == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < BATCH; i++)
		memcpy(buf + i * len, one, len);
	*total = len * BATCH;
	return buf;
}

static size_t
binary_getk(uint8_t *p, const char *key)
{
	size_t klen = strlen(key);

	memset(p, 0, 24);
	p[0] = 0x80;             /* request magic */
	p[1] = 0x0c;             /* GETK */
	p[2] = (uint8_t)(klen >> 8);
	p[3] = (uint8_t)klen;
	p[8] = (uint8_t)(klen >> 24);
	p[9] = (uint8_t)(klen >> 16);
	p[10] = (uint8_t)(klen >> 8);
	p[11] = (uint8_t)klen;   /* total body length = key */
	memcpy(p + 24, key, klen);
	return 24 + klen;
}

/* Parse one pipeline; returns the number of requests produced. */
static uint64_t
parse_all(const struct bench_case *c)
{
	static struct text_parser tp;
	static struct binary_parser bp;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	enum proto_parse rc;
	uint64_t n = 0;

	proto_input_init(&in);
	proto_input_add(&in, c->buf, (uint32_t)c->len);
	if (c->binary)
		binary_parser_init(&bp, ITEM_MAX);
	else
		text_parser_init(&tp, ITEM_MAX);
	for (;;) {
		rc = c->binary ? binary_parse(&bp, &in, &req, &err) : text_parse(&tp, &in, &req, &err);
		if (rc != PROTO_PARSE_OK)
			break;
		n++;
	}
	if (rc != PROTO_PARSE_MORE || proto_input_avail(&in) != 0)
		fatal("a benchmark pipeline did not parse cleanly");
	return n;
}

int
main(int argc, char **argv)
{
	unsigned runs = 5;
	uint64_t requests = 20000000;
	uint8_t getk[64];
	struct bench_case cases[4];
	const char *key = "key:000000000042"; /* 16 bytes */
	char line[512];
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
			requests = strtoull(argv[++i], NULL, 10);
		else
			fatal("usage: nc_bench_proto [--runs R] [--requests N]");
	}
	if (runs < 1 || runs > RUNS_MAX)
		fatal("--runs must be 1..99");

	len = (size_t)snprintf(line, sizeof(line), "get %s\r\n", key);
	cases[0] = (struct bench_case){"text get <16-byte key>", repeat(line, len, &len), 0, false, 1};
	cases[0].len = len;
	len = (size_t)snprintf(line, sizeof(line), "set %s 0 0 32\r\n%s\r\n", key,
			       "0123456789abcdef0123456789abcdef");
	cases[1] = (struct bench_case){"text set, 32-byte value", repeat(line, len, &len), 0, false, 1};
	cases[1].len = len;
	len = (size_t)snprintf(line, sizeof(line), "get");
	for (int k = 0; k < 10; k++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " key:00000000004%d", k);
	len += (size_t)snprintf(line + len, sizeof(line) - len, "\r\n");
	cases[2] = (struct bench_case){"text get, 10 keys (per line)", repeat(line, len, &len), 0,
				       false, 10};
	cases[2].len = len;
	len = binary_getk(getk, key);
	cases[3] = (struct bench_case){"binary GETK", repeat(getk, len, &len), 0, true, 1};
	cases[3].len = len;

	printf("nc_bench_proto: parse only, pipelines of %d requests in one segment, "
	       "median of %u runs\n\n", BATCH, runs);
	printf("%-30s %14s %10s %14s\n", "case", "Mreq/s", "ns/req", "min..max ns");
	for (unsigned c = 0; c < 4; c++) {
		double ns[RUNS_MAX], med;
		uint64_t pipelines = requests / BATCH / cases[c].reqs_per;

		if (pipelines == 0)
			pipelines = 1;
		for (unsigned r = 0; r < runs; r++) {
			uint64_t produced = 0;
			double t0 = bench_now_ns();

			for (uint64_t p = 0; p < pipelines; p++)
				produced += parse_all(&cases[c]);
			if (produced != pipelines * BATCH * cases[c].reqs_per)
				fatal("wrong number of requests parsed");
			/* Per request line (a 10-key get is one line). */
			ns[r] = (bench_now_ns() - t0) / (double)(pipelines * BATCH);
		}
		med = bench_median_sort(ns, runs);
		printf("%-30s %14.2f %10.1f %6.1f..%-6.1f\n", cases[c].name, 1e3 / med, med, ns[0],
		       ns[runs - 1]);
		free(cases[c].buf);
	}
	return 0;
}
