/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_PARSER_H
#define NC_PROTO_PARSER_H

/*
 * A connection's parser, as memcached picks it: the first byte of the connection decides
 * (0x80, the binary request magic, selects binary; anything else text, whose lines include
 * the meta commands) and the choice holds for the connection's life. proto_write() answers a
 * request with the writer of the protocol it came in.
 *
 * Threads: one parser per connection on one worker.
 */

#include <stdbool.h>
#include <stdint.h>

#include "proto/binary.h"
#include "proto/output.h"
#include "proto/parse.h"
#include "proto/request.h"
#include "proto/text.h"

enum proto_parser_mode {
	PROTO_PARSER_UNDECIDED = 0,
	PROTO_PARSER_TEXT,
	PROTO_PARSER_BINARY,
};

struct proto_parser {
	enum proto_parser_mode mode;
	uint32_t item_size_max;
	union {
		struct text_parser text;
		struct binary_parser binary;
	} p;
};

/** Start a connection's parser; @p item_size_max is the largest value accepted (-I). */
void proto_parser_init(struct proto_parser *p, uint32_t item_size_max);

/**
 * Parse the next request: on the first byte of the connection choose the protocol, then as
 * text_parse() or binary_parse().
 * @return as those; PROTO_PARSE_MORE while the input is empty.
 */
enum proto_parse proto_parse(struct proto_parser *p, struct proto_input *in,
			     struct proto_request *req, enum proto_error *err);

/**
 * Whether memcached would close the connection now: called after proto_parse() returned
 * PROTO_PARSE_MORE, with the input as the last receive left it. True when a text line is
 * being waited for of which more than PROTO_LINE_MAX bytes are in without a "\n" and that is
 * not a get/gets line (memcached gives up on such a line when a read leaves it so; one whose
 * "\n" came in the same read is served). The parser itself decides on the bytes alone, so it
 * closes only at PROTO_LINE_READ_MAX bytes: this is the timing-dependent half, for stream
 * connections.
 */
bool proto_parser_line_stalled(const struct proto_parser *p, const struct proto_input *in);

/**
 * Whether the parser is in the middle of a request's value or body (a text data block, or one
 * being dropped; a binary body): memcached does not count such a connection idle (its
 * idle_timeout passes over connections reading a value), whereas one waiting for the rest of a
 * command line is.
 */
bool proto_parser_in_value(const struct proto_parser *p);

/**
 * What memcached does to a key whose store failed before anything was stored (value above the
 * item size limit, refused by the parser or the store, or no memory for the item): true when
 * it removes the key's current value, so no client reads a value older than the one just
 * written: a text set (not add/replace/append/prepend/cas), every ms whatever its mode, and a
 * binary SET or SETQ (with or without a cas). Only for STORE requests.
 */
bool proto_store_failure_unlinks(const struct proto_request *req);

/**
 * Append the reply to @p req with the writer of its protocol (text, meta or binary).
 * @return 0; -ENOBUFS when the reply does not fit (nothing appended); -EINVAL for a result
 *         that does not fit the request.
 */
int proto_write(struct proto_out *out, const struct proto_request *req,
		const struct proto_result *res);

/**
 * Append the reply to a parse error with the writer of the protocol @p req came in (set by
 * the parser: binary errors echo opcode and opaque; meta lines answer as meta). Errors
 * without a reply (PROTO_ERR_NONE, NOREPLY_ONLY) append nothing.
 * @return 0; -ENOBUFS when the reply does not fit (nothing appended).
 */
int proto_write_error(struct proto_out *out, const struct proto_request *req,
		      enum proto_error err);

#endif /* NC_PROTO_PARSER_H */
