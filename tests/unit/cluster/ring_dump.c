/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ring_dump: print where a ring places keys, for checking placements against other
 * implementations (ring_libmemcached.py compares them with libmemcached through pylibmc).
 *
 *   ring_dump [-p weighted|flat] [-H md5|oaat] [-r R] [-m] NAME[=WEIGHT]...
 *
 * Builds a ring of the members NAME (weight 1 unless =WEIGHT) and reads keys from stdin, one
 * per line (every byte but the newline is part of the key). For each key it prints one line:
 * the key's point in hex, then its replica set (R member indices, primary first; R defaults
 * to 1). -m prints each member's index, point count and name to stderr first.
 * Exit status: 0, 1 if the ring cannot be built, 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/ring.h"

static int
usage(void)
{
	fprintf(stderr, "usage: ring_dump [-p weighted|flat] [-H md5|oaat] [-r R] [-m] "
			"NAME[=WEIGHT]...\n");
	return 2;
}

/* Split argv's NAME[=WEIGHT] into members; names point into argv. Returns 0 or -1. */
static int
parse_members(char **argv, int n, struct nc_ring_member *m)
{
	for (int i = 0; i < n; i++) {
		char *eq = strrchr(argv[i], '=');
		unsigned long w;
		char *end;

		m[i].name = argv[i];
		m[i].weight = 1;
		if (eq == NULL)
			continue;
		*eq = '\0';
		errno = 0;
		w = strtoul(eq + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == eq + 1 || w > UINT32_MAX)
			return -1;
		m[i].weight = (uint32_t)w;
	}
	return 0;
}

static void
print_members(const struct nc_ring *ring)
{
	for (uint32_t i = 0; i < nc_ring_member_count(ring); i++)
		fprintf(stderr, "%" PRIu32 " %" PRIu32 " %s\n", i, nc_ring_member_points(ring, i),
			nc_ring_member_name(ring, i));
}

/* Place every line of stdin; returns 0 or 1 (memory, write error). */
static int
dump_keys(const struct nc_ring *ring, uint32_t r)
{
	uint32_t *set = calloc(r, sizeof(*set));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (set == NULL)
		return 1;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		uint32_t point, got;

		if (len > 0 && line[len - 1] == '\n')
			len--;
		point = nc_ring_hash(ring, line, (size_t)len);
		got = nc_ring_successors_at(ring, point, r, set);
		printf("%08" PRIx32, point);
		for (uint32_t i = 0; i < got; i++)
			printf(" %" PRIu32, set[i]);
		putchar('\n');
	}
	free(line);
	free(set);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct nc_ring_params params = {0};
	struct nc_ring_member *members;
	struct nc_ring *ring = NULL;
	unsigned long r = 1;
	uint32_t bad = 0;
	int show = 0, opt, n, ret;

	while ((opt = getopt(argc, argv, "p:H:r:m")) != -1) {
		switch (opt) {
		case 'p':
			if (strcmp(optarg, "weighted") == 0)
				params.points = NC_RING_POINTS_WEIGHTED;
			else if (strcmp(optarg, "flat") == 0)
				params.points = NC_RING_POINTS_FLAT;
			else
				return usage();
			break;
		case 'H':
			if (strcmp(optarg, "md5") == 0)
				params.hash = NC_RING_HASH_MD5;
			else if (strcmp(optarg, "oaat") == 0)
				params.hash = NC_RING_HASH_OAAT;
			else
				return usage();
			break;
		case 'r':
			r = strtoul(optarg, NULL, 10);
			if (r == 0 || r > NC_RING_MEMBERS_MAX)
				return usage();
			break;
		case 'm':
			show = 1;
			break;
		default:
			return usage();
		}
	}
	n = argc - optind;
	if (n <= 0)
		return usage();
	members = calloc((size_t)n, sizeof(*members));
	if (members == NULL || parse_members(argv + optind, n, members) != 0) {
		free(members);
		return usage();
	}
	ret = nc_ring_build(members, (uint32_t)n, &params, &ring, &bad);
	if (ret != 0) {
		fprintf(stderr, "ring_dump: cannot build the ring: %s (member %" PRIu32 ")\n",
			strerror(-ret), bad);
		free(members);
		return 1;
	}
	if (show)
		print_members(ring);
	ret = dump_keys(ring, (uint32_t)r);
	nc_ring_destroy(&ring);
	free(members);
	return ret;
}
