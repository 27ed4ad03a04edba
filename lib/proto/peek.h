/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_PEEK_H
#define NC_PROTO_PEEK_H

/*
 * A quick look at a buffered request, before it is parsed, for the keys it will read: used to
 * prefetch the index and items of a whole RX burst at once so their cache misses overlap.
 * It recognises the common reads only (text get/gets, meta mg, binary GET/GETQ/GETK/GETKQ)
 * and never fails: anything else, or anything odd, yields no keys, and the real parser
 * decides later what the request is. Pure function, any thread.
 */

#include <stdint.h>

/** A key inside the buffer. */
struct proto_key_ref {
	const char *key;
	uint32_t len;
};

/**
 * Find up to @p max keys of the read request at the start of @p buf (@p len bytes).
 * @return how many were stored in @p keys (0 for other requests or malformed input).
 */
unsigned proto_peek_read_keys(const void *buf, uint32_t len, struct proto_key_ref *keys,
			      unsigned max);

#endif /* NC_PROTO_PEEK_H */
