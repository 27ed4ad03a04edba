/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_BASE64_H
#define NC_CORE_BASE64_H

/*
 * Base64 as the meta protocol's b flag uses it for binary keys, and etcd's JSON gateway for
 * keys and values: the standard alphabet (RFC 4648 section 4, "A-Z a-z 0-9 + /") with "="
 * padding to a multiple of 4 characters.
 *
 * Decoding is strict, so that every accepted text is the one canonical encoding of its
 * bytes (a key echoed with k comes back exactly as the client sent it): the length is a
 * non-zero multiple of 4, every character is in the alphabet, "=" appears only as the last
 * one or two characters, and the bits that padding leaves over are zero.
 *
 * Threads: pure functions on caller memory; safe from any thread.
 */

#include <stddef.h>
#include <stdint.h>

/** Characters that encode @p n bytes (padding included). */
#define NC_BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/** Most bytes @p n characters of base64 can decode to. */
#define NC_BASE64_DECODED_MAX(n) (((n) / 4) * 3)

/**
 * Encode @p n bytes of @p src into @p dst (no terminator). Thread-safe.
 * @return the characters written (NC_BASE64_ENCODED_LEN(n)); -ENOSPC when @p cap is
 *         smaller than that (nothing written).
 */
int64_t nc_base64_encode(const void *src, size_t n, char *dst, size_t cap);

/**
 * Decode @p n characters of @p src into @p dst, strictly (see above). Thread-safe.
 * @return the bytes written (1 or more); -EINVAL when @p src is not canonical base64 (empty
 *         input included); -ENOSPC when the result would not fit in @p cap. Nothing useful
 *         is left in @p dst on error.
 */
int64_t nc_base64_decode(const char *src, size_t n, void *dst, size_t cap);

#endif /* NC_NC_BASE64_H */
