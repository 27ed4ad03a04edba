/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for lib/snapshot: writer and reader round trips (plaintext and encrypted, empty,
 * large values), and every way a file can be bad: cut at every byte, every byte flipped,
 * wrong version, wrong key, key missing or unexpected, key files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/block.h"
#include "snapshot/cipher.h"
#include "snapshot/format.h"
#include "snapshot/reader.h"
#include "snapshot/writer.h"

static char dir[] = "/tmp/nc_snap_test.XXXXXX";
static char path[256];

/** Item i of a test set: key "key:<i>", a value of @p vlen(i) bytes of a pattern. */
static uint32_t
vlen_small(unsigned i)
{
	return (i * 37) % 300;
}

static void
fill_value(uint8_t *v, uint32_t len, unsigned i)
{
	for (uint32_t j = 0; j < len; j++)
		v[j] = (uint8_t)(i * 131 + j * 7);
}

/**
 * Write @p n items (value lengths from @p vlen) with block target @p target; @p key may be
 * NULL. Items get flags i, cas 1000 + i, exptime 0 for even i else 2000000000 + i.
 */
static void
write_file(const char *p, unsigned n, uint32_t (*vlen)(unsigned), uint32_t target,
	   const struct snap_key *key)
{
	struct snap_writer_params wp = {
		.path = p, .key = key, .created = 1767225600, .items_hint = n, .bytes_hint = 0};
	struct snap_writer *w;
	struct snap_block b;
	struct snap_trailer t;
	char err[512];
	int rc;

	assert_int_equal(snap_writer_create(&w, &wp, err, sizeof(err)), 0);
	assert_int_equal(snap_block_init(&b, target), 0);
	for (unsigned i = 0; i < n; i++) {
		char k[32];
		struct snap_item it = {.key = k,
				       .client_flags = i,
				       .cas = 1000 + i,
				       .exptime = (i % 2) ? 2000000000 + i : 0};
		uint8_t *v;

		it.nkey = (uint8_t)snprintf(k, sizeof(k), "key:%u", i);
		it.nbytes = vlen(i);
		v = snap_block_add(&b, &it, &rc);
		if (v == NULL) {
			assert_int_equal(rc, 0);
			assert_int_equal(snap_writer_block(w, &b, err, sizeof(err)), 0);
			snap_block_reset(&b);
			v = snap_block_add(&b, &it, &rc);
			assert_non_null(v);
		}
		fill_value(v, it.nbytes, i);
	}
	if (b.nitems > 0)
		assert_int_equal(snap_writer_block(w, &b, err, sizeof(err)), 0);
	snap_block_deinit(&b);
	rc = snap_writer_finish(&w, &t, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
	assert_null(w);
	assert_int_equal(t.items, n);
}

/** Read every item of @p p and check them against write_file(); @return the reader's rc. */
static int
read_check(const char *p, unsigned n, uint32_t (*vlen)(unsigned), const struct snap_key *key,
	   char *err, size_t errcap)
{
	struct snap_reader *r;
	struct snap_item it;
	unsigned i = 0;
	int rc = snap_reader_open(&r, p, key, err, errcap);
	uint8_t *want = NULL;

	if (rc != 0)
		return rc;
	while ((rc = snap_reader_next(r, &it, err, errcap)) == 1) {
		char k[32];
		int kl = snprintf(k, sizeof(k), "key:%u", i);

		assert_true(i < n);
		assert_int_equal(it.nkey, kl);
		assert_memory_equal(it.key, k, (size_t)kl);
		assert_int_equal(it.client_flags, i);
		assert_int_equal(it.cas, 1000 + i);
		assert_int_equal(it.exptime, (i % 2) ? 2000000000 + i : 0);
		assert_int_equal(it.nbytes, vlen(i));
		want = realloc(want, it.nbytes + 1);
		fill_value(want, it.nbytes, i);
		assert_memory_equal(it.value, want, it.nbytes);
		i++;
	}
	free(want);
	if (rc == 0) {
		assert_int_equal(i, n);
		assert_int_equal(snap_reader_trailer(r)->items, n);
		assert_int_equal(snap_reader_trailer(r)->max_cas, n ? 1000 + n - 1 : 0);
	}
	snap_reader_close(&r);
	return rc;
}

/** Whole file into memory. */
static uint8_t *
slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	uint8_t *buf;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len + 1);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void
spit(const char *p, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static void
test_key(struct snap_key *k, uint8_t fillc)
{
	memset(k->k, fillc, sizeof(k->k));
}

static void
test_round_trip(void **state)
{
	char err[512];
	int rc;

	(void)state;
	write_file(path, 2000, vlen_small, 4096, NULL);
	rc = read_check(path, 2000, vlen_small, NULL, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
}

static void
test_round_trip_encrypted(void **state)
{
	struct snap_key k;
	char err[512];
	int rc;

	(void)state;
	test_key(&k, 7);
	write_file(path, 2000, vlen_small, 4096, &k);
	rc = read_check(path, 2000, vlen_small, &k, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
}

static void
test_empty(void **state)
{
	struct snap_key k;
	char err[512];

	(void)state;
	test_key(&k, 9);
	write_file(path, 0, vlen_small, 4096, NULL);
	assert_int_equal(read_check(path, 0, vlen_small, NULL, err, sizeof(err)), 0);
	write_file(path, 0, vlen_small, 4096, &k);
	assert_int_equal(read_check(path, 0, vlen_small, &k, err, sizeof(err)), 0);
}

/* Values of 3 MB (a chained item in the server) alternate with small ones. */
static uint32_t
vlen_large(unsigned i)
{
	return (i % 3 == 1) ? 3u * 1024 * 1024 + i : i;
}

static void
test_large_values(void **state)
{
	struct snap_key k;
	char err[512];
	int rc;

	(void)state;
	test_key(&k, 3);
	write_file(path, 10, vlen_large, 64 * 1024, NULL);
	rc = read_check(path, 10, vlen_large, NULL, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
	write_file(path, 10, vlen_large, 64 * 1024, &k);
	rc = read_check(path, 10, vlen_large, &k, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
}

/* The file is cut at every length: each read fails as truncated or corrupt, never passes. */
static void
cut_everywhere(const struct snap_key *key)
{
	char cut[300], err[512];
	size_t len;
	uint8_t *buf;

	write_file(path, 16, vlen_small, 512, key);
	buf = slurp(path, &len);
	snprintf(cut, sizeof(cut), "%s.cut", path);
	for (size_t l = 0; l < len; l++) {
		int rc;

		spit(cut, buf, l);
		rc = read_check(cut, 16, vlen_small, key, err, sizeof(err));
		if (rc >= 0)
			fail_msg("a file cut at %zu of %zu bytes was read", l, len);
		if (rc != -ENODATA && rc != -EINVAL && rc != -EBADMSG)
			fail_msg("cut at %zu: rc %d: %s", l, rc, err);
		/* Exactly at a record boundary: says it is truncated. */
		assert_true(strstr(err, path) != NULL);
	}
	unlink(cut);
	free(buf);
}

static void
test_truncated(void **state)
{
	struct snap_key k;

	(void)state;
	test_key(&k, 5);
	cut_everywhere(NULL);
	cut_everywhere(&k);
}

/* Every byte flipped (one bit of it, a different bit per byte): never read as good. */
static void
flip_everywhere(const struct snap_key *key)
{
	char bad[300], err[512];
	size_t len;
	uint8_t *buf;

	write_file(path, 12, vlen_small, 512, key);
	buf = slurp(path, &len);
	snprintf(bad, sizeof(bad), "%s.bad", path);
	for (size_t at = 0; at < len; at++) {
		int rc;

		buf[at] ^= (uint8_t)(1u << (at % 8));
		spit(bad, buf, len);
		buf[at] ^= (uint8_t)(1u << (at % 8));
		rc = read_check(bad, 12, vlen_small, key, err, sizeof(err));
		if (rc >= 0)
			fail_msg("a file with byte %zu flipped was read", at);
		if (at < SNAP_MAGIC_LEN)
			assert_int_equal(rc, -EINVAL);
		else if (rc != -EBADMSG && rc != -ENODATA && rc != -EPROTONOSUPPORT &&
			 rc != -EKEYREJECTED && rc != -ENOKEY && rc != -EPERM)
			fail_msg("flip at %zu: rc %d: %s", at, rc, err);
	}
	/* Payload damage reads as corrupt (the CRC is over the bytes on disk), not as a key. */
	buf[len - SNAP_TRAILER_LEN - SNAP_CIPHER_ABYTES - 30] ^= 1;
	spit(bad, buf, len);
	assert_int_equal(read_check(bad, 12, vlen_small, key, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "checksum"));
	unlink(bad);
	free(buf);
}

static void
test_flipped(void **state)
{
	struct snap_key k;

	(void)state;
	test_key(&k, 6);
	flip_everywhere(NULL);
	flip_everywhere(&k);
}

/* A version this code does not know (header CRC made right): named in the message. */
static void
test_wrong_version(void **state)
{
	char err[512];
	size_t len;
	uint8_t *buf;

	(void)state;
	write_file(path, 5, vlen_small, 1024, NULL);
	buf = slurp(path, &len);
	snap_put32(buf + 8, 2);
	snap_put32(buf + 60, snap_crc(buf, 60, 0));
	spit(path, buf, len);
	assert_int_equal(read_check(path, 5, vlen_small, NULL, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "version 2"));
	free(buf);
}

static void
test_keys(void **state)
{
	struct snap_key k, other;
	char err[512];

	(void)state;
	test_key(&k, 1);
	test_key(&other, 2);
	write_file(path, 50, vlen_small, 1024, &k);
	assert_int_equal(read_check(path, 50, vlen_small, &other, err, sizeof(err)), -EKEYREJECTED);
	assert_non_null(strstr(err, "wrong key"));
	assert_int_equal(read_check(path, 50, vlen_small, NULL, err, sizeof(err)), -ENOKEY);
	write_file(path, 50, vlen_small, 1024, NULL);
	assert_int_equal(read_check(path, 50, vlen_small, &k, err, sizeof(err)), -EPERM);
	/* An empty encrypted snapshot is refused with the wrong key too (its trailer). */
	write_file(path, 0, vlen_small, 1024, &k);
	assert_int_equal(read_check(path, 0, vlen_small, &other, err, sizeof(err)), -EKEYREJECTED);
}

/* Two passes over one open file: check, rewind, read again. */
static void
test_rewind(void **state)
{
	struct snap_reader *r;
	struct snap_item it;
	char err[512];
	unsigned n1 = 0, n2 = 0;

	(void)state;
	write_file(path, 100, vlen_small, 1024, NULL);
	assert_int_equal(snap_reader_open(&r, path, NULL, err, sizeof(err)), 0);
	while (snap_reader_next(r, &it, err, sizeof(err)) == 1)
		n1++;
	unlink(path); /* the open file still reads */
	assert_int_equal(snap_reader_rewind(r, err, sizeof(err)), 0);
	while (snap_reader_next(r, &it, err, sizeof(err)) == 1)
		n2++;
	assert_int_equal(n1, 100);
	assert_int_equal(n2, 100);
	snap_reader_close(&r);
}

/* The final name appears only at finish; abort leaves nothing. */
static void
test_atomic_rename(void **state)
{
	struct snap_writer_params wp = {.path = path, .created = 1};
	struct snap_writer *w;
	struct stat st;
	char tmp[300], err[512];

	(void)state;
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(snap_writer_create(&w, &wp, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(stat(tmp, &st), 0);
	snap_writer_abort(&w);
	assert_null(w);
	assert_int_equal(stat(tmp, &st), -1);
	assert_int_equal(snap_writer_create(&w, &wp, err, sizeof(err)), 0);
	assert_int_equal(snap_writer_finish(&w, NULL, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(stat(tmp, &st), -1);
	/* A folder that does not exist: a clear error. */
	wp.path = "/nonexistent-dir/snap";
	assert_int_equal(snap_writer_create(&w, &wp, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent-dir/snap"));
}

static void
test_key_files(void **state)
{
	struct snap_key k;
	char kp[300], err[512];
	uint8_t raw[32];

	(void)state;
	snprintf(kp, sizeof(kp), "%s/key", dir);
	for (int i = 0; i < 32; i++)
		raw[i] = (uint8_t)(i * 9);
	spit(kp, raw, 32);
	assert_int_equal(snap_key_load(&k, kp, err, sizeof(err)), 0);
	assert_memory_equal(k.k, raw, 32);
	spit(kp,
	     (const uint8_t *)"000102030405060708090a0b0c0d0e0f"
			      "101112131415161718191a1b1c1d1e1f\n",
	     65);
	assert_int_equal(snap_key_load(&k, kp, err, sizeof(err)), 0);
	assert_int_equal(k.k[0], 0);
	assert_int_equal(k.k[31], 0x1f);
	spit(kp, (const uint8_t *)"short\n", 6);
	assert_int_equal(snap_key_load(&k, kp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, kp));
	unlink(kp);
	assert_int_equal(snap_key_load(&k, kp, err, sizeof(err)), -ENOENT);
}

/* Item records: a key of 251 bytes or reserved bytes set is refused. */
static void
test_item_checks(void **state)
{
	struct snap_block b;
	struct snap_item it = {.key = "k", .nkey = 1, .nbytes = 3}, out;
	const char *why;
	uint32_t off = 0;
	uint8_t *v;
	int rc;

	(void)state;
	assert_int_equal(snap_block_init(&b, 128), 0);
	v = snap_block_add(&b, &it, &rc);
	memcpy(v, "abc", 3);
	assert_int_equal(snap_block_item(b.buf, b.len, &off, &out, &why), 0);
	assert_memory_equal(out.value, "abc", 3);
	off = 0;
	b.buf[0] = 251;
	assert_int_equal(snap_block_item(b.buf, b.len, &off, &out, &why), -EBADMSG);
	b.buf[0] = 1;
	b.buf[2] = 1;
	off = 0;
	assert_int_equal(snap_block_item(b.buf, b.len, &off, &out, &why), -EBADMSG);
	b.buf[2] = 0;
	off = 0;
	assert_int_equal(snap_block_item(b.buf, b.len - 1, &off, &out, &why), -EBADMSG);
	snap_block_deinit(&b);
}

/** Bitwise CRC32C, the definition, for checking snap_crc(). */
static uint32_t
crc_reference(const uint8_t *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
	}
	return ~crc;
}

/* snap_crc() against the definition: the check value, lengths around its 3 x 4 KiB stripes,
 * odd offsets, and chaining. */
static void
test_crc(void **state)
{
	size_t cap = 5 * 12288 + 64;
	uint8_t *buf = malloc(cap);
	const size_t lens[] = {0,     1,     7,	    8,	   9,	  4095,		 4096,
			       12287, 12288, 12289, 24576, 24583, 5 * 12288 + 17};

	(void)state;
	assert_int_equal(snap_crc("123456789", 9, 0), 0xE3069283u);
	for (size_t i = 0; i < cap; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
		for (size_t off = 0; off < 4; off++) {
			size_t n = lens[li];

			if (off + n > cap)
				continue;
			assert_int_equal(snap_crc(buf + off, (uint32_t)n, 0),
					 crc_reference(buf + off, n, 0));
			/* chained in two parts equals at once */
			assert_int_equal(snap_crc(buf + off + n / 3, (uint32_t)(n - n / 3),
						  snap_crc(buf + off, (uint32_t)(n / 3), 0)),
					 crc_reference(buf + off, n, 0));
		}
	free(buf);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/snap", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_round_trip_encrypted),
		cmocka_unit_test(test_empty),	      cmocka_unit_test(test_large_values),
		cmocka_unit_test(test_truncated),     cmocka_unit_test(test_flipped),
		cmocka_unit_test(test_wrong_version), cmocka_unit_test(test_keys),
		cmocka_unit_test(test_rewind),	      cmocka_unit_test(test_atomic_rename),
		cmocka_unit_test(test_key_files),     cmocka_unit_test(test_item_checks),
		cmocka_unit_test(test_crc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
