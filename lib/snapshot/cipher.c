/* SPDX-License-Identifier: BSD-3-Clause */
/* Key files and the secretstream wrapper (see cipher.h). */
#include "snapshot/cipher.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/** Longest key file looked at: 64 hex digits, CR LF, and a margin to tell "too long". */
#define KEY_FILE_MAX 80

int
snap_key_load(struct snap_key *key, const char *path, char *err, size_t errcap)
{
	uint8_t buf[KEY_FILE_MAX];
	ssize_t n = 0, r;
	size_t hexlen;
	int fd;

	if (sodium_init() < 0) {
		snprintf(err, errcap, "libsodium failed to initialise");
		return -ENOSYS;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errcap, "snapshot key %s: %s", path, strerror(e));
		return -e;
	}
	while (n < (ssize_t)sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - (size_t)n)) > 0)
		n += r;
	close(fd);
	if (n == SNAP_KEY_BYTES) {
		memcpy(key->k, buf, SNAP_KEY_BYTES);
		sodium_memzero(buf, sizeof(buf));
		return 0;
	}
	hexlen = (size_t)n;
	while (hexlen > 0 && (buf[hexlen - 1] == '\n' || buf[hexlen - 1] == '\r'))
		hexlen--;
	if (hexlen == 2 * SNAP_KEY_BYTES &&
	    sodium_hex2bin(key->k, SNAP_KEY_BYTES, (const char *)buf, hexlen, NULL, NULL, NULL) ==
		    0) {
		sodium_memzero(buf, sizeof(buf));
		return 0;
	}
	sodium_memzero(buf, sizeof(buf));
	snprintf(err, errcap,
		 "snapshot key %s: not a key (%zd bytes): it must hold 32 raw bytes or 64 hex "
		 "digits",
		 path, n);
	return -EINVAL;
}

void
snap_key_wipe(struct snap_key *key)
{
	sodium_memzero(key->k, sizeof(key->k));
}

int
snap_cipher_push_init(struct snap_cipher *c, const struct snap_key *key,
		      uint8_t hdr[SNAP_STREAM_HDR_LEN])
{
	if (sodium_init() < 0)
		return -ENOSYS;
	crypto_secretstream_xchacha20poly1305_init_push(&c->st, hdr, key->k);
	return 0;
}

void
snap_cipher_push(struct snap_cipher *c, uint8_t *out, const uint8_t *plain, uint32_t len,
		 const uint8_t *ad, uint32_t adlen, bool final)
{
	crypto_secretstream_xchacha20poly1305_push(
		&c->st, out, NULL, plain, len, ad, adlen,
		final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL :
			crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

int
snap_cipher_pull_init(struct snap_cipher *c, const struct snap_key *key,
		      const uint8_t hdr[SNAP_STREAM_HDR_LEN])
{
	if (sodium_init() < 0)
		return -ENOSYS;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&c->st, hdr, key->k) != 0)
		return -EKEYREJECTED;
	return 0;
}

int
snap_cipher_pull(struct snap_cipher *c, uint8_t *out, const uint8_t *in, uint32_t len,
		 const uint8_t *ad, uint32_t adlen, bool *final)
{
	unsigned char tag = 0;

	if (len < SNAP_CIPHER_ABYTES || crypto_secretstream_xchacha20poly1305_pull(
						&c->st, out, NULL, &tag, in, len, ad, adlen) != 0)
		return -EKEYREJECTED;
	*final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	return 0;
}
