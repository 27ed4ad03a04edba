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
