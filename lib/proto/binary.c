/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Binary protocol request parser. Every length in a header is checked against the opcode's
 * rules and PROTO_KEY_MAX before anything is copied; bodies are only ever skipped or spanned,
 * so a header announcing 4 GiB costs nothing but the time to skip what actually arrives.
 */
#include "proto/binary.h"

#include <string.h>

/* What an opcode's extras, key and body must look like (memcached 1.6 dispatch_bin_command). */
enum binary_shape {
	SHAPE_UNKNOWN = 0, /* not served: skip the body, "Unknown command" */
	SHAPE_EMPTY,	   /* no extras, key or body: version, noop, quit */
	SHAPE_KEY,	   /* a key and nothing else: get*, delete */
	SHAPE_STORE,	   /* extras flags(4) exptime(4), key, value: set, add, replace */
	SHAPE_CONCAT,	   /* key, value: append, prepend */
	SHAPE_ARITH,	   /* extras delta(8) initial(8) exptime(4), key: incr, decr */
	SHAPE_FLUSH,	   /* optional extras exptime(4), nothing else */
	SHAPE_STAT,	   /* optional key (the group) */
	SHAPE_TOUCH,	   /* extras exptime(4), key: touch, gat* */
	SHAPE_VERBOSITY,   /* extras level(4), nothing else */
	SHAPE_SASL_LIST,   /* as EMPTY */
	SHAPE_SASL_AUTH,   /* a key (the mechanism, in .args) and data (.value) */
};

struct binary_cmd {
	uint8_t shape;
	uint8_t op;
	uint8_t mode;
	uint16_t flags;
};

#define NOREPLY PROTO_F_NOREPLY
#define QMISS	PROTO_F_QUIET_MISS
#define RCAS	PROTO_F_RETURN_CAS
#define RKEY	PROTO_F_RETURN_KEY
#define INCR	PROTO_F_INCR

#define CMD(shape, op, mode, flags)                                      \
	{                                                                \
		SHAPE_##shape, PROTO_OP_##op, PROTO_MODE_##mode, (flags) \
	}

static const struct binary_cmd cmds[256] = {
	[BINARY_CMD_GET] = CMD(KEY, GET, SET, RCAS),
	[BINARY_CMD_GETQ] = CMD(KEY, GET, SET, RCAS | QMISS),
	[BINARY_CMD_GETK] = CMD(KEY, GET, SET, RCAS | RKEY),
	[BINARY_CMD_GETKQ] = CMD(KEY, GET, SET, RCAS | RKEY | QMISS),
	[BINARY_CMD_SET] = CMD(STORE, STORE, SET, 0),
	[BINARY_CMD_SETQ] = CMD(STORE, STORE, SET, NOREPLY),
	[BINARY_CMD_ADD] = CMD(STORE, STORE, ADD, 0),
	[BINARY_CMD_ADDQ] = CMD(STORE, STORE, ADD, NOREPLY),
	[BINARY_CMD_REPLACE] = CMD(STORE, STORE, REPLACE, 0),
	[BINARY_CMD_REPLACEQ] = CMD(STORE, STORE, REPLACE, NOREPLY),
	[BINARY_CMD_APPEND] = CMD(CONCAT, STORE, APPEND, 0),
	[BINARY_CMD_APPENDQ] = CMD(CONCAT, STORE, APPEND, NOREPLY),
	[BINARY_CMD_PREPEND] = CMD(CONCAT, STORE, PREPEND, 0),
	[BINARY_CMD_PREPENDQ] = CMD(CONCAT, STORE, PREPEND, NOREPLY),
	[BINARY_CMD_DELETE] = CMD(KEY, DELETE, SET, 0),
	[BINARY_CMD_DELETEQ] = CMD(KEY, DELETE, SET, NOREPLY),
	[BINARY_CMD_INCREMENT] = CMD(ARITH, ARITH, SET, INCR),
	[BINARY_CMD_INCREMENTQ] = CMD(ARITH, ARITH, SET, INCR | NOREPLY),
	[BINARY_CMD_DECREMENT] = CMD(ARITH, ARITH, SET, 0),
	[BINARY_CMD_DECREMENTQ] = CMD(ARITH, ARITH, SET, NOREPLY),
	[BINARY_CMD_QUIT] = CMD(EMPTY, QUIT, SET, 0),
	[BINARY_CMD_QUITQ] = CMD(EMPTY, QUIT, SET, NOREPLY),
	[BINARY_CMD_FLUSH] = CMD(FLUSH, FLUSH, SET, 0),
	[BINARY_CMD_FLUSHQ] = CMD(FLUSH, FLUSH, SET, NOREPLY),
	[BINARY_CMD_NOOP] = CMD(EMPTY, NOOP, SET, 0),
	[BINARY_CMD_VERSION] = CMD(EMPTY, VERSION, SET, 0),
	[BINARY_CMD_STAT] = CMD(STAT, STATS, SET, 0),
	[BINARY_CMD_VERBOSITY] = CMD(VERBOSITY, VERBOSITY, SET, 0),
	[BINARY_CMD_TOUCH] = CMD(TOUCH, TOUCH, SET, RCAS),
	[BINARY_CMD_GAT] = CMD(TOUCH, GAT, SET, RCAS),
	[BINARY_CMD_GATQ] = CMD(TOUCH, GAT, SET, RCAS | QMISS),
	[BINARY_CMD_GATK] = CMD(TOUCH, GAT, SET, RCAS | RKEY),
	[BINARY_CMD_GATKQ] = CMD(TOUCH, GAT, SET, RCAS | RKEY | QMISS),
	[BINARY_CMD_SASL_LIST_MECHS] = CMD(SASL_LIST, SASL_LIST, SET, 0),
	[BINARY_CMD_SASL_AUTH] = CMD(SASL_AUTH, SASL_AUTH, SET, 0),
	[BINARY_CMD_SASL_STEP] = CMD(SASL_AUTH, SASL_STEP, SET, 0),
};

#undef CMD
#undef NOREPLY
#undef QMISS
#undef RCAS
#undef RKEY
#undef INCR

/* Incr/decr exptime meaning "fail on a miss instead of creating the item". */
#define BINARY_ARITH_NO_CREATE 0xffffffffu

static uint16_t
be16(const uint8_t *b)
{
	return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static uint32_t
be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t
be64(const uint8_t *b)
{
	return (uint64_t)be32(b) << 32 | be32(b + 4);
}

void
binary_parser_init(struct binary_parser *p, uint32_t item_size_max)
{
	memset(p, 0, sizeof(*p));
	p->state = BINARY_STATE_HEADER;
	p->item_size_max = item_size_max != 0 ? item_size_max : BINARY_ITEM_SIZE_MAX_DEFAULT;
}

/* Whether extras, key and body lengths fit the opcode (memcached's per-opcode checks). */
static bool
lengths_ok(enum binary_shape shape, const struct binary_header *h)
{
	switch (shape) {
	case SHAPE_EMPTY:
	case SHAPE_SASL_LIST:
		return h->extlen == 0 && h->keylen == 0 && h->bodylen == 0;
	case SHAPE_KEY:
		return h->extlen == 0 && h->keylen > 0 && h->bodylen == h->keylen;
	case SHAPE_STORE:
		return h->extlen == 8 && h->keylen > 0;
	case SHAPE_CONCAT:
	case SHAPE_SASL_AUTH:
		return h->extlen == 0 && h->keylen > 0;
	case SHAPE_ARITH:
		return h->extlen == 20 && h->keylen > 0 && h->bodylen == h->keylen + 20u;
	case SHAPE_FLUSH:
		return h->keylen == 0 && h->bodylen == h->extlen &&
		       (h->extlen == 0 || h->extlen == 4);
	case SHAPE_STAT:
		return h->extlen == 0;
	case SHAPE_TOUCH:
		return h->extlen == 4 && h->keylen > 0;
	case SHAPE_VERBOSITY:
		return h->extlen == 4 && h->keylen == 0 && h->bodylen == 4;
	case SHAPE_UNKNOWN:
		return true;
	}
	return false;
}

static void
decode_header(struct binary_header *h, const uint8_t *b)
{
	h->magic = b[0];
	h->opcode = b[1];
	h->keylen = be16(b + 2);
	h->extlen = b[4];
	h->datatype = b[5];
	h->vbucket = be16(b + 6);
	h->bodylen = be32(b + 8);
	h->opaque = be32(b + 12);
	h->cas = be64(b + 16);
}

/* A cleared request that knows its opcode and opaque (all an error reply needs). */
static void
start_request(struct proto_request *req, const struct binary_header *h)
{
	memset(req, 0, sizeof(*req));
	req->kind = PROTO_BINARY;
	req->bin.opcode = h->opcode;
	req->bin.opaque = h->opaque;
}

static enum proto_parse
closing(struct binary_parser *p, struct proto_request *req, enum proto_error *err,
	enum proto_error e)
{
	start_request(req, &p->hdr);
	p->state = BINARY_STATE_CLOSED;
	*err = e;
	return PROTO_PARSE_CLOSE;
}

/* Start skipping @p n body bytes; the next state is HEADER when there are none. */
static void
start_skip(struct binary_parser *p, uint32_t n)
{
	p->skip = n;
	p->state = n > 0 ? BINARY_STATE_SKIP : BINARY_STATE_HEADER;
}

static bool
has_value(enum binary_shape shape)
{
	return shape == SHAPE_STORE || shape == SHAPE_CONCAT || shape == SHAPE_SASL_AUTH;
}

/*
 * Read and check a header. Returns PROTO_PARSE_OK when the parser moved on to the body, else
 * the outcome to report.
 */
static enum proto_parse
read_header(struct binary_parser *p, struct proto_input *in, struct proto_request *req,
	    enum proto_error *err)
{
	uint8_t raw[BINARY_HEADER_LEN];
	struct binary_header *h = &p->hdr;
	const struct binary_cmd *cmd;

	if (proto_input_avail(in) < BINARY_HEADER_LEN)
		return PROTO_PARSE_MORE;
	proto_input_copy(in, raw, BINARY_HEADER_LEN);
	proto_input_skip(in, BINARY_HEADER_LEN);
	decode_header(h, raw);

	if (h->magic != BINARY_MAGIC_REQ)
		return closing(p, req, err, PROTO_ERR_NONE);
	if ((uint64_t)h->keylen + h->extlen > h->bodylen)
		return closing(p, req, err, PROTO_ERR_BINARY_UNKNOWN);
	if (h->keylen > PROTO_KEY_MAX)
		return closing(p, req, err, PROTO_ERR_BINARY_INVALID);
	cmd = &cmds[h->opcode];
	if (!lengths_ok(cmd->shape, h))
		return closing(p, req, err, PROTO_ERR_BINARY_INVALID);

	switch (cmd->shape) {
	case SHAPE_UNKNOWN:
		start_request(req, h);
		start_skip(p, h->bodylen);
		*err = PROTO_ERR_BINARY_UNKNOWN;
		return PROTO_PARSE_ERROR;
	default:
		break;
	}
	p->too_large =
		has_value(cmd->shape) && h->bodylen - h->extlen - h->keylen > p->item_size_max;
	p->state = BINARY_STATE_BODY;
	return PROTO_PARSE_OK;
}

/* Fill *req from the header, the extras in p->ext and the key. */
static void
fill_request(const struct binary_parser *p, const struct binary_cmd *cmd, struct proto_request *req,
	     const char *key)
{
	const struct binary_header *h = &p->hdr;
	const uint8_t *ext = p->ext;

	req->op = (enum proto_op)cmd->op;
	req->mode = (enum proto_mode)cmd->mode;
	req->flags = cmd->flags;
	if (cmd->shape == SHAPE_STAT || cmd->shape == SHAPE_SASL_AUTH) {
		req->args = h->keylen > 0 ? key : NULL;
		req->args_len = h->keylen;
	} else if (h->keylen > 0) {
		req->key = key;
		req->key_len = h->keylen;
	}

	switch (cmd->shape) {
	case SHAPE_STORE:
		req->client_flags = be32(ext);
		req->exptime = be32(ext + 4);
		/* memcached turns any set/add/replace with a cas into a compare-and-swap. */
		if (h->cas != 0)
			req->mode = PROTO_MODE_CAS;
		req->cas = h->cas;
		break;
	case SHAPE_CONCAT:
	case SHAPE_KEY:
		if (cmd->op != PROTO_OP_GET)
			req->cas = h->cas;
		break;
	case SHAPE_ARITH:
		req->delta = be64(ext);
		req->initial = be64(ext + 8);
		if (be32(ext + 16) != BINARY_ARITH_NO_CREATE) {
			req->flags |= PROTO_F_HAS_INITIAL;
			req->exptime = be32(ext + 16);
		}
		req->cas = h->cas;
		break;
	case SHAPE_FLUSH:
		if (h->extlen == 4)
			req->exptime = be32(ext);
		break;
	case SHAPE_TOUCH:
		req->exptime = be32(ext);
		break;
	case SHAPE_VERBOSITY:
		req->level = be32(ext);
		break;
	default:
		break;
	}
}

/* Read extras, key and value of the request whose header is in p->hdr. */
static enum proto_parse
read_body(struct binary_parser *p, struct proto_input *in, struct proto_request *req,
	  enum proto_error *err)
{
	const struct binary_header *h = &p->hdr;
	const struct binary_cmd *cmd = &cmds[h->opcode];
	uint32_t rest = h->bodylen - h->extlen - h->keylen; /* checked: no wrap */
	bool value = has_value(cmd->shape) && !p->too_large;
	uint64_t need = (uint64_t)h->extlen + h->keylen + (value ? rest : 0);
	const char *key = NULL;

	if (proto_input_avail(in) < need)
		return PROTO_PARSE_MORE;

	/* Served shapes take at most BINARY_EXTRAS_MAX bytes of extras (lengths_ok). */
	proto_input_copy(in, p->ext, h->extlen);
	proto_input_skip(in, h->extlen);
	if (h->keylen > 0) {
		uint32_t contig;
		const uint8_t *at = proto_input_peek(in, &contig);

		if (contig >= h->keylen) {
			key = (const char *)at;
		} else {
			proto_input_copy(in, p->key, h->keylen);
			key = p->key;
		}
		proto_input_skip(in, h->keylen);
	}

	start_request(req, h);
	fill_request(p, cmd, req, key);

	if (value) {
		proto_input_span(in, rest, &req->value);
		proto_input_skip(in, rest);
		rest = 0;
	}
	start_skip(p, rest);
	if (p->too_large) {
		p->too_large = 0;
		req->flags |= PROTO_F_REFUSED;
		*err = PROTO_ERR_TOO_LARGE;
		return PROTO_PARSE_ERROR;
	}
	return PROTO_PARSE_OK;
}

enum proto_parse
binary_parse(struct binary_parser *p, struct proto_input *in, struct proto_request *req,
	     enum proto_error *err)
{
	enum proto_parse rc;

	*err = PROTO_ERR_NONE;
	for (;;) {
		switch (p->state) {
		case BINARY_STATE_SKIP: {
			uint64_t avail = proto_input_avail(in);
			uint32_t n = avail < p->skip ? (uint32_t)avail : p->skip;

			proto_input_skip(in, n);
			p->skip -= n;
			if (p->skip > 0)
				return PROTO_PARSE_MORE;
			p->state = BINARY_STATE_HEADER;
			break;
		}
		case BINARY_STATE_HEADER:
			rc = read_header(p, in, req, err);
			if (rc != PROTO_PARSE_OK)
				return rc;
			break;
		case BINARY_STATE_BODY:
			return read_body(p, in, req, err);
		case BINARY_STATE_CLOSED:
		default:
			return PROTO_PARSE_CLOSE;
		}
	}
}

const char *
binary_status_message(uint16_t status)
{
	switch (status) {
#define BINARY_STATUS_MSG(name, code, msg) \
	case code:                         \
		return msg;
		BINARY_STATUS_LIST(BINARY_STATUS_MSG)
#undef BINARY_STATUS_MSG
	}
	return "";
}

const char *
binary_opcode_name(uint8_t opcode)
{
#define BINARY_OPCODE_NAME(name, code) [code] = #name,
	static const char *const names[256] = {BINARY_OPCODE_LIST(BINARY_OPCODE_NAME)};
#undef BINARY_OPCODE_NAME

	return names[opcode] != NULL ? names[opcode] : "?";
}
