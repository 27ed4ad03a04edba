/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/base64.h"

#include <errno.h>
#include <stdbool.h>

static const char enc_table[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of a base64 character, or -1 ('=' included: the decoder handles padding itself). */
static int
dec_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int64_t
nc_base64_encode(const void *src, size_t n, char *dst, size_t cap)
{
	const uint8_t *s = src;
	size_t need = NC_BASE64_ENCODED_LEN(n);
	size_t i, o = 0;

	if (need > cap)
		return -ENOSPC;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		dst[o++] = enc_table[v >> 18];
		dst[o++] = enc_table[(v >> 12) & 63];
		dst[o++] = enc_table[(v >> 6) & 63];
		dst[o++] = enc_table[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;

		dst[o++] = enc_table[v >> 18];
		dst[o++] = enc_table[(v >> 12) & 63];
		dst[o++] = '=';
		dst[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;

		dst[o++] = enc_table[v >> 18];
		dst[o++] = enc_table[(v >> 12) & 63];
		dst[o++] = enc_table[(v >> 6) & 63];
		dst[o++] = '=';
	}
	return (int64_t)o;
}

int64_t
nc_base64_decode(const char *src, size_t n, void *dst, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src;
	uint8_t *d = dst;
	size_t pad = 0, out, o = 0;

	if (n == 0 || n % 4 != 0)
		return -EINVAL;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	out = n / 4 * 3 - pad;
	if (out > cap)
		return -ENOSPC;

	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int v[4];
		uint32_t w;

		for (unsigned j = 0; j < 4; j++) {
			v[j] = dec_value(s[i + j]);
			/* '=' is only allowed as the padding of the last quad. */
			if (v[j] < 0 && !(last && s[i + j] == '=' && j >= 4 - pad))
				return -EINVAL;
		}
		if (last && pad > 0) {
			/* The bits the padding leaves over must be zero (canonical form). */
			if (pad == 2) {
				if (v[1] & 0x0f)
					return -EINVAL;
				d[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
			} else {
				if (v[2] & 0x03)
					return -EINVAL;
				w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
				    (uint32_t)v[2] << 6;
				d[o++] = (uint8_t)(w >> 16);
				d[o++] = (uint8_t)(w >> 8);
			}
			break;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		d[o++] = (uint8_t)(w >> 16);
		d[o++] = (uint8_t)(w >> 8);
		d[o++] = (uint8_t)w;
	}
	return (int64_t)o;
}
