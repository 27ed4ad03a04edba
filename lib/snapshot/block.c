/* SPDX-License-Identifier: BSD-3-Clause */
/* Block plaintext: items in and out (see block.h), and the CRC32C of format.h. */
#include "snapshot/block.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash_crc.h>

uint32_t
snap_crc(const void *data, uint32_t len, uint32_t crc)
{
	/* rte_hash_crc() is the bare CRC32C update: the usual pre- and post-inversion here. */
	return ~rte_hash_crc(data, len, ~crc);
}

int
snap_block_init(struct snap_block *b, uint32_t target)
{
	memset(b, 0, sizeof(*b));
	b->buf = malloc(target);
	if (b->buf == NULL)
		return -ENOMEM;
	b->cap = target;
	b->target = target;
	return 0;
}

void
snap_block_deinit(struct snap_block *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void
snap_block_reset(struct snap_block *b)
{
	if (b->cap > b->target) {
		/* It grew for one large item: give that memory back. */
		uint8_t *p = realloc(b->buf, b->target);

		if (p != NULL) {
			b->buf = p;
			b->cap = b->target;
		}
	}
	b->len = 0;
	b->nitems = 0;
	b->value_bytes = 0;
	b->max_cas = 0;
}

uint8_t *
snap_block_add(struct snap_block *b, const struct snap_item *it, int *err)
{
	uint64_t need = snap_item_size(it->nkey, it->nbytes);
	uint8_t *h;

	*err = 0;
	if (b->len + need > b->target) {
		if (b->nitems > 0)
			return NULL; /* full */
		if (need > SNAP_RECORD_MAX) {
			*err = -E2BIG;
			return NULL;
		}
		if (need > b->cap) {
			uint8_t *p = realloc(b->buf, need);

			if (p == NULL) {
				*err = -ENOMEM;
				return NULL;
			}
			b->buf = p;
			b->cap = (uint32_t)need;
		}
	}
	h = b->buf + b->len;
	memset(h, 0, SNAP_ITEM_HDR_LEN);
	h[0] = it->nkey;
	snap_put32(h + 4, it->client_flags);
	snap_put32(h + 8, it->nbytes);
	snap_put64(h + 16, it->cas);
	snap_put64(h + 24, (uint64_t)it->exptime);
	memcpy(h + SNAP_ITEM_HDR_LEN, it->key, it->nkey);
	b->len += (uint32_t)need;
	b->nitems++;
	b->value_bytes += it->nbytes;
	if (it->cas > b->max_cas)
		b->max_cas = it->cas;
	return h + SNAP_ITEM_HDR_LEN + it->nkey;
}

int
snap_block_item(const uint8_t *p, uint32_t len, uint32_t *off, struct snap_item *it,
		const char **why)
{
	const uint8_t *h = p + *off;
	uint32_t left = len - *off;

	if (*off > len || left < SNAP_ITEM_HDR_LEN) {
		*why = "an item header runs past the end of its block";
		return -EBADMSG;
	}
	if (h[0] == 0 || h[0] > SNAP_KEY_MAX || h[1] != 0 || h[2] != 0 || h[3] != 0 ||
	    snap_get32(h + 12) != 0) {
		*why = "an item header is malformed (key length 0 or above 250, or reserved "
		       "bytes set)";
		return -EBADMSG;
	}
	it->nkey = h[0];
	it->client_flags = snap_get32(h + 4);
	it->nbytes = snap_get32(h + 8);
	it->cas = snap_get64(h + 16);
	it->exptime = (int64_t)snap_get64(h + 24);
	if (snap_item_size(it->nkey, it->nbytes) > left) {
		*why = "an item runs past the end of its block";
		return -EBADMSG;
	}
	if (it->exptime < 0) {
		*why = "an item has a negative expiry time";
		return -EBADMSG;
	}
	it->key = (const char *)h + SNAP_ITEM_HDR_LEN;
	it->value = it->key + it->nkey;
	*off += (uint32_t)snap_item_size(it->nkey, it->nbytes);
	return 0;
}
