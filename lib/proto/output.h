/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_OUTPUT_H
#define NC_PROTO_OUTPUT_H

/*
 * Scatter-gather output the response writers append to and the I/O layer sends without
 * another copy: an iovec array, plus a byte buffer for what writers format themselves (status
 * lines, headers). Values are either copied into the buffer or referenced in place:
 *  - copy_values true: every value is copied (the output outlives the reader's RCU section);
 *  - copy_values false: values are referenced; the caller must send (or copy) the output
 *    before its next RCU quiescent state, while the item memory is still valid.
 *
 * Threads: one output per connection/burst on one worker.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct proto_out {
	struct iovec *iov;
	uint32_t niov;
	uint32_t max_iov;
	uint8_t *buf;
	uint32_t used;
	uint32_t cap;
	uint64_t bytes;     /* bytes described by the iovecs */
	bool copy_values;
	bool overflow;      /* an append did not fit: the output is incomplete */
	uint32_t copy_max;  /* referenced values up to this many bytes are copied (0: none) */
};

/**
 * With copy_values false, copy the values of at most @p max bytes all the same (0, the
 * default: reference every value): an iovec costs whoever sends the output (a datagram built
 * piece by piece, a TCP send buffer filled iovec by iovec) more than copying a small value.
 */
void proto_out_set_copy_max(struct proto_out *out, uint32_t max);

/** Forget the contents (after they were sent); keeps the arrays and the copy policy. */
static inline void
proto_out_reset(struct proto_out *out)
{
	out->niov = 0;
	out->used = 0;
	out->bytes = 0;
	out->overflow = false;
}

/** Start an empty output over caller-owned arrays. */
static inline void
proto_out_init(struct proto_out *out, struct iovec *iov, uint32_t max_iov, void *buf, uint32_t cap,
	       bool copy_values)
{
	out->iov = iov;
	out->max_iov = max_iov;
	out->buf = buf;
	out->cap = cap;
	out->copy_values = copy_values;
	out->copy_max = 0;
	proto_out_reset(out);
}

/**
 * Copy bytes into the output buffer (merged with the previous iovec when contiguous).
 * @return 0; -ENOBUFS when buffer or iovecs are full (out->overflow is set).
 */
int proto_out_copy(struct proto_out *out, const void *data, uint32_t len);

/**
 * Reference bytes the caller keeps valid until the output is sent.
 * @return 0; -ENOBUFS when the iovecs are full.
 */
int proto_out_ref(struct proto_out *out, const void *data, uint32_t len);

/**
 * Room to write up to @p len bytes straight into the output buffer, after the bytes copied
 * so far; nothing is appended until proto_out_commit() says how many were written. For
 * replies formatted in place (no staging copy).
 * @return where to write; NULL when buffer or iovecs are full (out->overflow is set).
 */
static inline uint8_t *
proto_out_reserve(struct proto_out *out, uint32_t len)
{
	uint8_t *dst = out->buf + out->used;
	const struct iovec *last = out->niov > 0 ? &out->iov[out->niov - 1] : NULL;

	if (out->cap - out->used < len ||
	    ((last == NULL || (const uint8_t *)last->iov_base + last->iov_len != dst) &&
	     out->niov == out->max_iov)) {
		out->overflow = true;
		return NULL;
	}
	return dst;
}

/**
 * Append the @p len bytes (at most what proto_out_reserve() gave room for) written where it
 * pointed, as proto_out_copy() would have appended them.
 */
static inline void
proto_out_commit(struct proto_out *out, uint32_t len)
{
	uint8_t *dst = out->buf + out->used;
	struct iovec *last = out->niov > 0 ? &out->iov[out->niov - 1] : NULL;

	if (len == 0)
		return;
	if (last == NULL || (uint8_t *)last->iov_base + last->iov_len != dst) {
		last = &out->iov[out->niov++];
		last->iov_base = dst;
		last->iov_len = 0;
	}
	last->iov_len += len;
	out->used += len;
	out->bytes += len;
}

/** A value: copied or referenced according to out->copy_values. */
int proto_out_value(struct proto_out *out, const void *data, uint32_t len);

struct proto_result;

/**
 * A result's value, whole or in pieces (value, value_seg_len, value_more, value_next): each
 * piece copied or referenced according to out->copy_values.
 * @return 0; -ENOBUFS when buffer or iovecs are full.
 */
int proto_out_result_value(struct proto_out *out, const struct proto_result *res);

/** A NUL-terminated string (copied). */
int proto_out_str(struct proto_out *out, const char *s);

/** An unsigned number in decimal (copied). */
int proto_out_u64(struct proto_out *out, uint64_t v);

/** A signed number in decimal (copied). */
int proto_out_i64(struct proto_out *out, int64_t v);

/** Where an output stands, so a reply that does not fit can be taken back whole. */
struct proto_out_mark {
	uint32_t niov;
	uint32_t used;
	uint64_t bytes;
	size_t last_len;
};

/** Record where @p out stands now (before appending one reply). */
static inline void
proto_out_mark(const struct proto_out *out, struct proto_out_mark *m)
{
	m->niov = out->niov;
	m->used = out->used;
	m->bytes = out->bytes;
	m->last_len = out->niov > 0 ? out->iov[out->niov - 1].iov_len : 0;
}

/**
 * Take back everything appended since @p m (a reply that did not fit whole) and mark the
 * output as overflowed.
 * @return -ENOBUFS, for the writer to pass on.
 */
int proto_out_rewind(struct proto_out *out, const struct proto_out_mark *m);

/** Gather the whole output into dst (tests and datagram building); returns bytes written. */
uint64_t proto_out_flatten(const struct proto_out *out, void *dst, uint64_t cap);

#endif /* NC_PROTO_OUTPUT_H */
