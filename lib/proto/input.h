/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_INPUT_H
#define NC_PROTO_INPUT_H

/*
 * Received bytes as the parsers see them: a chain of segments (packets, TCP segments, mbufs)
 * with a cursor. Parsers never copy values: a value is a span (segment, offset, length) into
 * the chain, and proto_gather() copies it to its destination (e.g. a store item) once,
 * wherever its pieces lie. Keys and command lines are handed out as pointers when they lie in
 * one segment; a line that straddles segments is assembled in the parser's own line buffer
 * (bounded by the protocol's line limit).
 *
 * Threads: an input belongs to one connection on one worker; nothing here is shared.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most segments one input can chain. */
#define PROTO_INPUT_SEGS_MAX 64

struct proto_seg {
	const uint8_t *data;
	uint32_t len;
};

/** A run of bytes in an input, possibly across segments. */
struct proto_span {
	uint16_t seg;  /* segment of the first byte */
	uint32_t off;  /* offset of the first byte in that segment */
	uint32_t len;  /* bytes */
};

struct proto_input {
	struct proto_seg seg[PROTO_INPUT_SEGS_MAX];
	uint16_t nsegs;
	uint16_t cur;      /* cursor: segment ... */
	uint32_t off;      /* ... and offset in it */
	uint64_t consumed; /* bytes the cursor has passed since proto_input_init */
};

/** Start an empty input. */
void proto_input_init(struct proto_input *in);

/**
 * Append a segment (not copied: it must stay valid while requests refer to it).
 * @return 0; -ENOSPC when PROTO_INPUT_SEGS_MAX segments are chained.
 */
int proto_input_add(struct proto_input *in, const void *data, uint32_t len);

/**
 * Grow the last segment by @p len bytes that follow it in memory (more bytes received into
 * the same buffer, so a trickling stream does not use up the segments).
 * @return 0; -EINVAL when there is no segment or the cursor has passed the last one (then add
 *         a new segment instead).
 */
int proto_input_extend(struct proto_input *in, uint32_t len);

/** Bytes after the cursor. */
uint64_t proto_input_avail(const struct proto_input *in);

/** Contiguous bytes at the cursor (up to the end of its segment); *len gets their number. */
const uint8_t *proto_input_peek(const struct proto_input *in, uint32_t *len);

/** Move the cursor forward by @p n bytes (n <= proto_input_avail()). */
void proto_input_skip(struct proto_input *in, uint64_t n);

/**
 * Span of the @p len bytes at the cursor, without moving it.
 * @return 0; -EAGAIN when fewer than len bytes are available.
 */
int proto_input_span(const struct proto_input *in, uint32_t len, struct proto_span *out);

/**
 * Copy the bytes of @p span (from this same input) to @p dst.
 */
void proto_gather(const struct proto_input *in, const struct proto_span *span, void *dst);

/**
 * Copy the first @p len bytes of @p span (at most span->len) to @p dst and move the span past
 * them, so a value can be gathered into several pieces.
 */
void proto_gather_advance(const struct proto_input *in, struct proto_span *span, void *dst,
			  uint32_t len);

/**
 * Copy up to @p max bytes at the cursor to @p dst without moving it.
 * @return the bytes copied.
 */
uint32_t proto_input_copy(const struct proto_input *in, void *dst, uint32_t max);

/**
 * Find byte @p c at or after the cursor within the next @p limit bytes.
 * @return its distance from the cursor, or -1.
 */
int64_t proto_input_find(const struct proto_input *in, uint8_t c, uint64_t limit);

/**
 * Drop segments the cursor has fully passed, so their buffers can be released; returns how
 * many were dropped (the caller frees them in order). Spans handed out earlier become invalid.
 */
unsigned proto_input_compact(struct proto_input *in);

#endif /* NC_PROTO_INPUT_H */
