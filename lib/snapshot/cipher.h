/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_SNAPSHOT_CIPHER_H
#define NC_SNAPSHOT_CIPHER_H

/*
 * Encryption at rest: libsodium's crypto_secretstream_xchacha20poly1305 (XChaCha20 with
 * Poly1305 authentication per message, a fresh random stream key per file derived by the
 * stream header, message order and the final message bound by the stream state).
 *
 * The key is 32 bytes, read from a file holding either exactly 32 raw bytes or 64 hex digits
 * (a trailing newline allowed), e.g. made with `head -c 32 /dev/urandom > snap.key` or
 * `openssl rand -hex 32 > snap.key`.
 *
 * Threads: a key is read-only after snap_key_load(); a cipher stream belongs to one thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define SNAP_KEY_BYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define SNAP_STREAM_HDR_LEN crypto_secretstream_xchacha20poly1305_HEADERBYTES
/** Bytes a message grows by when encrypted. */
#define SNAP_CIPHER_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

struct snap_key {
	uint8_t k[SNAP_KEY_BYTES];
};

/**
 * [any] Read a key file (32 raw bytes, or 64 hex digits and an optional newline).
 * @return 0; a negative errno with a message naming the file in @p err: -ENOENT, -EACCES
 *         (cannot open), -EINVAL (neither form), -ENOSYS (libsodium failed to start).
 */
int snap_key_load(struct snap_key *key, const char *path, char *err, size_t errcap);

/** [any] Wipe a key from memory. */
void snap_key_wipe(struct snap_key *key);

/** One direction of a stream. */
struct snap_cipher {
	crypto_secretstream_xchacha20poly1305_state st;
};

/**
 * Start encrypting with @p key: a fresh stream header into @p hdr (written after the file
 * header). @return 0; -ENOSYS when libsodium cannot start.
 */
int snap_cipher_push_init(struct snap_cipher *c, const struct snap_key *key,
			  uint8_t hdr[SNAP_STREAM_HDR_LEN]);

/**
 * Encrypt @p len bytes of @p plain into @p out (room for len + SNAP_CIPHER_ABYTES), with
 * additional data @p ad (authenticated, not stored); @p final marks the last message.
 */
void snap_cipher_push(struct snap_cipher *c, uint8_t *out, const uint8_t *plain, uint32_t len,
		      const uint8_t *ad, uint32_t adlen, bool final);

/**
 * Start decrypting a stream whose header is @p hdr with @p key.
 * @return 0; -EKEYREJECTED when the header is refused; -ENOSYS when libsodium cannot start.
 */
int snap_cipher_pull_init(struct snap_cipher *c, const struct snap_key *key,
			  const uint8_t hdr[SNAP_STREAM_HDR_LEN]);

/**
 * Decrypt and authenticate one message of @p len bytes (> SNAP_CIPHER_ABYTES) into @p out
 * (len - SNAP_CIPHER_ABYTES bytes), with additional data @p ad; *final says whether it was
 * the last message.
 * @return 0; -EKEYREJECTED when it does not authenticate (wrong key, or altered).
 */
int snap_cipher_pull(struct snap_cipher *c, uint8_t *out, const uint8_t *in, uint32_t len,
		     const uint8_t *ad, uint32_t adlen, bool *final);

#endif /* NC_SNAPSHOT_CIPHER_H */
