/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_BINARY_H
#define NC_PROTO_BINARY_H

/*
 * memcached's binary protocol, as memcached 1.6 speaks it (libmemcached's memcapable checks
 * it): an incremental request parser and the response writer.
 *
 * A packet is a 24-byte header (magic, opcode, key length, extras length, data type,
 * vbucket, body length, opaque, cas; big-endian) and a body of extras, key and value. The
 * parser copies the header into its own state (it may straddle segments), hands the key out
 * as a pointer into the input when it lies in one segment (else copies it into the parser),
 * and the value as a span of the input (never copied).
 *
 * Outcomes, in memcached 1.6's order of checks:
 *  - magic not 0x80: PROTO_PARSE_CLOSE, no reply (PROTO_ERR_NONE).
 *  - key length + extras length > body length: PROTO_PARSE_CLOSE after "Unknown command"
 *    (PROTO_ERR_BINARY_UNKNOWN); memcached answers 0x0081 here, not "Invalid arguments".
 *  - key longer than PROTO_KEY_MAX, or extras/key/body lengths wrong for the opcode:
 *    PROTO_PARSE_CLOSE after "Invalid arguments" (PROTO_ERR_BINARY_INVALID).
 *  - an opcode memcached does not serve: the body is skipped and PROTO_PARSE_ERROR asks for
 *    "Unknown command" (PROTO_ERR_BINARY_UNKNOWN).
 * SASL list mechanisms, auth and step are requests (PROTO_OP_SASL_*; the mechanism in .args,
 * the client's message as .value): the worker answers them, "Unknown command" when
 * authentication is off, as memcached without -S.
 *  - a value longer than item_size_max: PROTO_PARSE_ERROR asks for "Too large."
 *    (PROTO_ERR_TOO_LARGE) and the value is skipped. The request carries op, mode, opcode,
 *    opaque, key and PROTO_F_REFUSED (no value), so the worker can unlink the old item of a
 *    SET as memcached does (proto_store_failure_unlinks()) and answer it then.
 * Skipping resumes across calls: the parser never asks for a whole oversized body.
 * The checks use the header only, so a closing error is reported as soon as the header is in.
 *
 * Threads: a parser belongs to one connection on one worker; nothing here is shared.
 */

#include <stdint.h>

#include "proto/input.h"
#include "proto/output.h"
#include "proto/parse.h"
#include "proto/request.h"

/** Bytes of a request or response header. */
#define BINARY_HEADER_LEN 24

/** Magic byte of a request and of a response. */
#define BINARY_MAGIC_REQ 0x80
#define BINARY_MAGIC_RES 0x81

/** Largest value when binary_parser_init() is given 0 (memcached's -I default). */
#define BINARY_ITEM_SIZE_MAX_DEFAULT (1024u * 1024u)

/** Longest extras any served opcode takes (incr/decr: delta, initial, exptime). */
#define BINARY_EXTRAS_MAX 20

/** Opcodes. X(name, code) */
#define BINARY_OPCODE_LIST(X)    \
	X(GET, 0x00)             \
	X(SET, 0x01)             \
	X(ADD, 0x02)             \
	X(REPLACE, 0x03)         \
	X(DELETE, 0x04)          \
	X(INCREMENT, 0x05)       \
	X(DECREMENT, 0x06)       \
	X(QUIT, 0x07)            \
	X(FLUSH, 0x08)           \
	X(GETQ, 0x09)            \
	X(NOOP, 0x0a)            \
	X(VERSION, 0x0b)         \
	X(GETK, 0x0c)            \
	X(GETKQ, 0x0d)           \
	X(APPEND, 0x0e)          \
	X(PREPEND, 0x0f)         \
	X(STAT, 0x10)            \
	X(SETQ, 0x11)            \
	X(ADDQ, 0x12)            \
	X(REPLACEQ, 0x13)        \
	X(DELETEQ, 0x14)         \
	X(INCREMENTQ, 0x15)      \
	X(DECREMENTQ, 0x16)      \
	X(QUITQ, 0x17)           \
	X(FLUSHQ, 0x18)          \
	X(APPENDQ, 0x19)         \
	X(PREPENDQ, 0x1a)        \
	X(VERBOSITY, 0x1b)       \
	X(TOUCH, 0x1c)           \
	X(GAT, 0x1d)             \
	X(GATQ, 0x1e)            \
	X(SASL_LIST_MECHS, 0x20) \
	X(SASL_AUTH, 0x21)       \
	X(SASL_STEP, 0x22)       \
	X(GATK, 0x23)            \
	X(GATKQ, 0x24)

enum binary_opcode {
#define BINARY_OPCODE_ENUM(name, code) BINARY_CMD_##name = code,
	BINARY_OPCODE_LIST(BINARY_OPCODE_ENUM)
#undef BINARY_OPCODE_ENUM
};

/** Response status codes and memcached's message bodies for them. X(name, code, message) */
#define BINARY_STATUS_LIST(X)                                                     \
	X(SUCCESS, 0x0000, "")                                                    \
	X(KEY_ENOENT, 0x0001, "Not found")                                        \
	X(KEY_EEXISTS, 0x0002, "Data exists for key.")                            \
	X(E2BIG, 0x0003, "Too large.")                                            \
	X(EINVAL, 0x0004, "Invalid arguments")                                    \
	X(NOT_STORED, 0x0005, "Not stored.")                                      \
	X(DELTA_BADVAL, 0x0006, "Non-numeric server-side value for incr or decr") \
	X(AUTH_ERROR, 0x0020, "Auth failure.")                                    \
	X(AUTH_CONTINUE, 0x0021, "")                                              \
	X(UNKNOWN_COMMAND, 0x0081, "Unknown command")                             \
	X(ENOMEM, 0x0082, "Out of memory")                                        \
	X(ETMPFAIL, 0x0086, "Temporary failure")

enum binary_status {
#define BINARY_STATUS_ENUM(name, code, msg) BINARY_ST_##name = code,
	BINARY_STATUS_LIST(BINARY_STATUS_ENUM)
#undef BINARY_STATUS_ENUM
};

enum binary_parser_state {
	BINARY_STATE_HEADER, /* waiting for a whole header */
	BINARY_STATE_BODY,   /* header in; waiting for extras, key and value */
	BINARY_STATE_SKIP,   /* dropping the rest of a body (p->skip bytes) */
	BINARY_STATE_CLOSED, /* a closing error was reported; every later call closes */
};

/** Decoded request header. */
struct binary_header {
	uint8_t magic;
	uint8_t opcode;
	uint16_t keylen;
	uint8_t extlen;
	uint8_t datatype;
	uint16_t vbucket;
	uint32_t bodylen;
	uint32_t opaque;
	uint64_t cas;
};

/** Parser state of one connection. Initialise with binary_parser_init(). */
struct binary_parser {
	enum binary_parser_state state;
	uint32_t item_size_max;		/* longest value accepted */
	uint32_t skip;			/* SKIP: body bytes still to drop */
	uint8_t too_large;		/* BODY: answer TOO_LARGE once extras and key are in */
	struct binary_header hdr;	/* BODY: the current request's header */
	uint8_t ext[BINARY_EXTRAS_MAX]; /* the current request's extras */
	char key[PROTO_KEY_MAX];	/* a key that straddled segments */
};

/**
 * Start a parser (or restart one, forgetting any partial request).
 * @param item_size_max longest value accepted (memcached -I); 0 = BINARY_ITEM_SIZE_MAX_DEFAULT.
 * Thread: the connection's worker.
 */
void binary_parser_init(struct binary_parser *p, uint32_t item_size_max);

/**
 * Parse the next request at the input's cursor.
 *
 * req->kind is PROTO_BINARY and req->bin holds opcode and opaque whenever a header was read
 * (OK, ERROR, and CLOSE other than bad magic), so binary_write_error() can answer.
 * req->key (and req->args of a STAT) point into the input or into the parser and stay valid
 * until the next call on this parser, or until the input is compacted past them; the value
 * is a span of the input.
 *
 * @return PROTO_PARSE_OK: *req filled, the cursor past the packet (a STAT, TOUCH or GAT body
 *         longer than its extras and key is skipped on later calls);
 *         PROTO_PARSE_MORE: need more bytes; nothing to answer yet;
 *         PROTO_PARSE_ERROR: answer *err (PROTO_ERR_BINARY_UNKNOWN or PROTO_ERR_TOO_LARGE);
 *         the body is being skipped and the connection goes on;
 *         PROTO_PARSE_CLOSE: answer *err unless PROTO_ERR_NONE, then close the connection.
 * Thread: the connection's worker.
 */
enum proto_parse binary_parse(struct binary_parser *p, struct proto_input *in,
			      struct proto_request *req, enum proto_error *err);

/**
 * Append the response(s) for an executed request, as memcached 1.6 writes them: nothing for a
 * quiet request's success (PROTO_F_NOREPLY) or miss (PROTO_F_QUIET_MISS); error statuses are
 * always answered. Hits carry flags as extras, the key when PROTO_F_RETURN_KEY, the value
 * (copied or referenced per out->copy_values) and the item's cas; STORED and NUMBER carry
 * res->cas; DELETED and errors carry cas 0; a TOUCH hit (TOUCHED or HIT) carries flags and
 * cas without the value; STATS writes one packet per stat and an empty one to end.
 * NOT_STORED answers "Data exists for key." for an add, "Not found" for a replace and
 * "Not stored." otherwise, as memcached maps a failed store.
 * @return 0 (also when nothing is due); -ENOBUFS when the output is full (out->overflow is
 *         set and the output is left as it was before the call); -EINVAL when res->status is
 *         not an outcome of req->op (nothing written).
 * Thread: the connection's worker.
 */
int binary_write(struct proto_out *out, const struct proto_request *req,
		 const struct proto_result *res);

/**
 * Append the error response for a parse error: opcode and opaque from req->bin, cas 0 and
 * memcached's message as body. PROTO_ERR_NONE writes nothing; PROTO_ERR_TOO_LARGE answers
 * "Too large."; PROTO_ERR_BINARY_UNKNOWN and PROTO_ERR_UNKNOWN_COMMAND "Unknown command";
 * every other error "Invalid arguments".
 * @return 0; -ENOBUFS when the output is full (output left as it was, out->overflow set).
 * Thread: the connection's worker.
 */
int binary_write_error(struct proto_out *out, const struct proto_request *req,
		       enum proto_error err);

/**
 * Append one response to @p req (opcode and opaque from req->bin, cas 0) with status
 * @p status and the body @p msg (memcached's SASL replies: the mechanism list,
 * "Authenticated", an empty AUTH_CONTINUE; or an error's message).
 * @return 0; -ENOBUFS when the output is full (output left as it was, out->overflow set).
 * Thread: the connection's worker.
 */
int binary_write_status(struct proto_out *out, const struct proto_request *req, uint16_t status,
			const char *msg);

/** memcached's message body for a status code ("" for success and unknown codes). */
const char *binary_status_message(uint16_t status);

/** Name of an opcode ("GETKQ"), or "?" for one this server does not know. */
const char *binary_opcode_name(uint8_t opcode);

#endif /* NC_PROTO_BINARY_H */
