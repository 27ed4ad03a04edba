/* SPDX-License-Identifier: BSD-3-Clause */
/* Block plaintext: items in and out (see block.h), and the CRC32C of format.h. */
#include "snapshot/block.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash_crc.h>

#if defined(__x86_64__) && defined(__SSE4_2__)
#include <nmmintrin.h>

/*
 * CRC32C with the SSE4.2 crc32 instruction on three streams at once: the instruction takes 3
 * cycles and can start every cycle, so one stream (rte_hash_crc()) runs at a third of the
 * speed the CPU has. Three stripes of CRC_STRIPE bytes are summed separately and joined:
 * with raw(c, X) the CRC update without inversions, raw(c, A B) = shift(raw(c, A)) ^
 * raw(0, B), where shift() is the (linear) update over CRC_STRIPE zero bytes, applied
 * through crc_shift[], made once at load time.
 */
#define CRC_STRIPE 4096u

static uint32_t crc_shift[4][256];

/** Bare CRC32C update of @p n bytes, one stream. */
static uint32_t
crc_raw(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;

	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c64 = _mm_crc32_u64(c64, v);
	}
	c = (uint32_t)c64;
	for (; n > 0; n--, p++)
		c = _mm_crc32_u8(c, *p);
	return c;
}

/** The update over CRC_STRIPE zero bytes. */
static inline uint32_t
crc_zeros(uint32_t c)
{
	return crc_shift[0][c & 255] ^ crc_shift[1][(c >> 8) & 255] ^
	       crc_shift[2][(c >> 16) & 255] ^ crc_shift[3][c >> 24];
}

__attribute__((constructor)) static void
crc_tables(void)
{
	static const uint8_t zeros[CRC_STRIPE];
	uint32_t bit[32];

	for (unsigned k = 0; k < 32; k++)
		bit[k] = crc_raw(1u << k, zeros, sizeof(zeros));
	for (unsigned i = 0; i < 4; i++)
		for (unsigned b = 0; b < 256; b++) {
			uint32_t v = 0;

			for (unsigned j = 0; j < 8; j++)
				if (b & (1u << j))
					v ^= bit[8 * i + j];
			crc_shift[i][b] = v;
		}
}

uint32_t
snap_crc(const void *data, uint32_t len, uint32_t crc)
{
	const uint8_t *p = data;
	uint32_t c = ~crc;

	for (; len >= 3 * CRC_STRIPE; len -= 3 * CRC_STRIPE, p += 3 * CRC_STRIPE) {
		uint64_t a = c, b = 0, d = 0;

		for (uint32_t i = 0; i < CRC_STRIPE; i += 8) {
			uint64_t x, y, z;

			memcpy(&x, p + i, 8);
			memcpy(&y, p + CRC_STRIPE + i, 8);
			memcpy(&z, p + 2 * CRC_STRIPE + i, 8);
			a = _mm_crc32_u64(a, x);
			b = _mm_crc32_u64(b, y);
			d = _mm_crc32_u64(d, z);
		}
		c = crc_zeros((uint32_t)a) ^ (uint32_t)b;
		c = crc_zeros(c) ^ (uint32_t)d;
	}
	return ~crc_raw(c, p, len);
}

#else

uint32_t
snap_crc(const void *data, uint32_t len, uint32_t crc)
{
	/* rte_hash_crc() is the bare CRC32C update: the usual pre- and post-inversion here. */
	return ~rte_hash_crc(data, len, ~crc);
}

#endif

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
