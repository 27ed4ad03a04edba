/* SPDX-License-Identifier: BSD-3-Clause */
#include "proto/parser.h"

#include <errno.h>

#include "proto/meta.h"

/* The binary protocol's request magic. */
#define BINARY_REQUEST_MAGIC 0x80

void
proto_parser_init(struct proto_parser *p, uint32_t item_size_max)
{
	p->mode = PROTO_PARSER_UNDECIDED;
	p->item_size_max = item_size_max;
}

enum proto_parse
proto_parse(struct proto_parser *p, struct proto_input *in, struct proto_request *req,
	    enum proto_error *err)
{
	if (p->mode == PROTO_PARSER_UNDECIDED) {
		uint32_t len;
		const uint8_t *first = proto_input_peek(in, &len);

		if (len == 0)
			return PROTO_PARSE_MORE;
		if (first[0] == BINARY_REQUEST_MAGIC) {
			p->mode = PROTO_PARSER_BINARY;
			binary_parser_init(&p->p.binary, p->item_size_max);
		} else {
			p->mode = PROTO_PARSER_TEXT;
			text_parser_init(&p->p.text, p->item_size_max);
		}
	}
	if (p->mode == PROTO_PARSER_BINARY)
		return binary_parse(&p->p.binary, in, req, err);
	return text_parse(&p->p.text, in, req, err);
}

bool
proto_parser_line_stalled(const struct proto_parser *p, const struct proto_input *in)
{
	return p->mode == PROTO_PARSER_TEXT && text_parser_line_stalled(&p->p.text, in);
}

bool
proto_parser_in_value(const struct proto_parser *p)
{
	switch (p->mode) {
	case PROTO_PARSER_TEXT:
		return p->p.text.state == TEXT_STATE_DATA || p->p.text.state == TEXT_STATE_SWALLOW;
	case PROTO_PARSER_BINARY:
		return p->p.binary.state == BINARY_STATE_BODY || p->p.binary.state == BINARY_STATE_SKIP;
	default:
		return false;
	}
}

bool
proto_store_failure_unlinks(const struct proto_request *req)
{
	switch (req->kind) {
	case PROTO_TEXT:
		return req->mode == PROTO_MODE_SET;
	case PROTO_META:
		return true;
	case PROTO_BINARY:
		return req->bin.opcode == BINARY_CMD_SET || req->bin.opcode == BINARY_CMD_SETQ;
	default:
		return false;
	}
}

int
proto_write(struct proto_out *out, const struct proto_request *req,
	    const struct proto_result *res)
{
	switch (req->kind) {
	case PROTO_TEXT:
		return text_write(out, req, res);
	case PROTO_META:
		return meta_write(out, req, res);
	case PROTO_BINARY:
		return binary_write(out, req, res);
	default:
		return -EINVAL;
	}
}

int
proto_write_error(struct proto_out *out, const struct proto_request *req, enum proto_error err)
{
	switch (req->kind) {
	case PROTO_BINARY:
		return binary_write_error(out, req, err);
	case PROTO_META:
		return meta_write_error(out, err);
	default:
		return text_write_error(out, err);
	}
}
