/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_DIGEST_CMAC_H
#define NC_CORE_DIGEST_CMAC_H

/*
 * AES-CMAC (RFC 4493) with AES-128 on AES-NI: the digest.c side of NC_DIGEST_AES_CMAC.
 * Private to lib/core. Threads: as digest.h (pure, reentrant).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/digest.h"

/** True when the CPU has AES-NI (and the build can use it). Any thread. */
bool digest_cmac_available(void);

/**
 * Fill @p key's AES-128 round keys and CMAC subkeys from the 16 key bytes @p k.
 * Only when digest_cmac_available(). Pure.
 */
void digest_cmac_expand(struct nc_digest_key *key, const uint8_t k[16]);

/**
 * AES-CMAC of msg[0..len) under @p key (expanded by digest_cmac_expand()); the 16-byte tag as
 * @p out (bytes 0..7 little-endian in lo). @p msg may be NULL when @p len is 0. Only when
 * digest_cmac_available(). Pure and reentrant.
 */
void digest_cmac(const struct nc_digest_key *key, const void *msg, size_t len,
		 struct nc_digest *out);

#endif /* NC_CORE_DIGEST_CMAC_H */
