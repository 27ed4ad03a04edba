/* SPDX-License-Identifier: BSD-3-Clause */
/* Keys of a buffered read request, found without parsing it (for burst prefetch). */
#include "proto/peek.h"

#include <stdbool.h>
#include <string.h>

#include "proto/binary.h"
#include "proto/scan.h"

/* Longest key any protocol accepts (memcached's limit). */
#define PEEK_KEY_MAX 250

static unsigned
peek_binary(const uint8_t *p, uint32_t len, struct proto_key_ref *keys, unsigned max)
{
	uint32_t klen, elen;

	if (len < BINARY_HEADER_LEN || max == 0)
		return 0;
	switch (p[1]) {
	case BINARY_CMD_GET:
	case BINARY_CMD_GETQ:
	case BINARY_CMD_GETK:
	case BINARY_CMD_GETKQ:
		break;
	default:
		return 0;
	}
	klen = (uint32_t)p[2] << 8 | p[3];
	elen = p[4];
	if (klen == 0 || klen > PEEK_KEY_MAX || BINARY_HEADER_LEN + elen + klen > len)
		return 0;
	keys[0].key = (const char *)p + BINARY_HEADER_LEN + elen;
	keys[0].len = klen;
	return 1;
}

/* Skip the command word @p cmd followed by a space; @return the offset after it, or 0. */
static uint32_t
peek_command(const uint8_t *p, uint32_t len, const char *cmd)
{
	size_t n = strlen(cmd);

	if (len <= n || memcmp(p, cmd, n) != 0 || p[n] != ' ')
		return 0;
	return (uint32_t)n + 1;
}

/* A text request's token ends at a space or at the line's end. */
static inline uint64_t
peek_word_stops(uint64_t v)
{
	return proto_scan_eq(v, ' ') | proto_scan_eq(v, '\r') | proto_scan_eq(v, '\n');
}

static inline bool
peek_is_stop(uint8_t c)
{
	return c == ' ' || c == '\r' || c == '\n';
}

/* Offset of the first ' ', '\r' or '\n' in [i, len), or len. */
static inline uint32_t
token_end(const uint8_t *p, uint32_t i, uint32_t len)
{
	return proto_scan(p, i, len, peek_word_stops, peek_is_stop);
}

static unsigned
peek_text(const uint8_t *p, uint32_t len, struct proto_key_ref *keys, unsigned max)
{
	uint32_t i = peek_command(p, len, "get");
	bool one_key = false;
	unsigned n = 0;

	if (i == 0)
		i = peek_command(p, len, "gets");
	if (i == 0) {
		i = peek_command(p, len, "mg");
		one_key = true;
	}
	if (i == 0)
		return 0;
	while (n < max && i < len) {
		uint32_t start;

		while (i < len && p[i] == ' ')
			i++;
		start = i;
		i = token_end(p, i, len);
		if (i == start || i - start > PEEK_KEY_MAX)
			break;
		keys[n].key = (const char *)p + start;
		keys[n].len = i - start;
		n++;
		if (one_key || i >= len || p[i] != ' ')
			break;
	}
	return n;
}

unsigned
proto_peek_read_keys(const void *buf, uint32_t len, struct proto_key_ref *keys, unsigned max)
{
	const uint8_t *p = buf;

	if (buf == NULL || len == 0 || max == 0)
		return 0;
	if (p[0] == BINARY_MAGIC_REQ)
		return peek_binary(p, len, keys, max);
	return peek_text(p, len, keys, max);
}
