/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for snapshot files (lib/snapshot/reader.c, block.c, cipher.c): every
 * input is a file read the way a restore reads one: opened with no key and with the fixed
 * fuzzing key (FUZZ_KEY_BYTE x 32, the key of the encrypted seeds), read through to the end
 * or the first error, rewound and read again. The reader must never crash, never hand out
 * an item outside its block, and both passes must agree (items, outcome). Items are
 * checked: key length 1..250, key and value inside the file's decoded bytes (ASan sees the
 * reads).
 *
 * The input lives in a memfd opened through /proc/self/fd, so no file is written per run.
 * Seeds in corpus/snapshot/: files written by nicached (plaintext and encrypted with the
 * fuzzing key, empty and with 20 items in two blocks).
 *
 * Build (standalone):
 *   clang -g -O1 -march=corei7 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -include rte_config.h -I lib $(pkg-config --cflags libdpdk libsodium) \
 *     tests/fuzz/fuzz_snapshot.c lib/snapshot/[a-z]*.c $(pkg-config --libs libdpdk libsodium) \
 *     -o /tmp/fuzz_snapshot
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapshot/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Every byte of the fuzzing key (the encrypted seeds were written with it). */
#define FUZZ_KEY_BYTE 0x42

static int memfd = -1;
static char path[64];

/** One pass: @return the outcome (0 or a negative errno); *n items, *h a digest of them. */
static int
pass(struct snap_reader *r, uint64_t *n, uint64_t *h)
{
	struct snap_item it;
	char err[512];
	int rc;

	*n = 0;
	*h = 1469598103934665603ULL;
	while ((rc = snap_reader_next(r, &it, err, sizeof(err))) == 1) {
		volatile uint8_t sink = 0;

		if (it.nkey == 0 || it.nkey > SNAP_KEY_MAX)
			abort();
		for (uint32_t i = 0; i < it.nkey; i++)
			sink ^= (uint8_t)it.key[i];
		if (it.nbytes > 0)
			sink ^= (uint8_t)it.value[0] ^ (uint8_t)it.value[it.nbytes - 1];
		(void)sink;
		*h = (*h ^ it.cas ^ (uint64_t)it.nbytes << 32 ^ it.client_flags) * 1099511628211ULL;
		(*n)++;
	}
	if (rc < 0 && (err[0] == '\0' || strstr(err, path) == NULL))
		abort(); /* every error names the file */
	return rc;
}

static void
read_file(const struct snap_key *key)
{
	struct snap_reader *r;
	char err[512];
	uint64_t n1, n2, h1, h2;
	int rc1, rc2;

	if (snap_reader_open(&r, path, key, err, sizeof(err)) != 0)
		return;
	rc1 = pass(r, &n1, &h1);
	if (snap_reader_rewind(r, err, sizeof(err)) != 0)
		abort(); /* the header was good once */
	rc2 = pass(r, &n2, &h2);
	if (rc1 != rc2 || n1 != n2 || h1 != h2)
		abort();
	if (rc1 == 0 && snap_reader_trailer(r)->items != n1)
		abort();
	snap_reader_close(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_key key;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_snapshot", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	memset(key.k, FUZZ_KEY_BYTE, sizeof(key.k));
	read_file(NULL);
	read_file(&key);
	return 0;
}
