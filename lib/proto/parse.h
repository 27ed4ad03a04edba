/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_PARSE_H
#define NC_PROTO_PARSE_H

/*
 * What every parser returns, the protocol errors they report, and the tokens of a command
 * line (shared by the text and meta parsers, which read the same lines).
 *
 * Parsers are incremental: called with an input that ends mid-request they return
 * PROTO_PARSE_MORE, keep what they learnt in their state, leave the cursor where they can
 * resume, and are called again when more bytes have been appended to the same input.
 */

#include <stdint.h>

enum proto_parse {
	PROTO_PARSE_OK,    /* *req filled; the cursor is past the request */
	PROTO_PARSE_MORE,  /* need more bytes; call again after appending */
	PROTO_PARSE_ERROR, /* *err says which error reply to send; the bad input was consumed as
			      memcached does; the connection goes on */
	PROTO_PARSE_CLOSE, /* send the reply for *err (if any) then close the connection */
};

/* X(name, memcached's text/meta reply) — binary maps them to its status codes. */
#define PROTO_ERROR_LIST(X)                                                         \
	X(NONE, "")                                                                 \
	X(UNKNOWN_COMMAND, "ERROR")                                                 \
	X(BAD_FORMAT, "CLIENT_ERROR bad command line format")                       \
	X(BAD_CHUNK, "CLIENT_ERROR bad data chunk")                                 \
	X(TOO_LARGE, "SERVER_ERROR object too large for cache")                    \
	X(LINE_TOO_LONG, "CLIENT_ERROR line too long")                              \
	X(KEY_TOO_LONG, "CLIENT_ERROR bad command line format")                     \
	X(INVALID_FLAG, "CLIENT_ERROR invalid flag")                                \
	X(BAD_DELTA, "CLIENT_ERROR invalid numeric delta argument")                 \
	X(BAD_EXPTIME, "CLIENT_ERROR invalid exptime argument")                     \
	X(DELETE_USAGE, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]") \
	X(NOREPLY_ONLY, "")                                                         \
	X(BINARY_INVALID, "")                                                       \
	X(BINARY_UNKNOWN, "")                                                       \
	X(META_DUPLICATE_FLAG, "CLIENT_ERROR duplicate flag")                       \
	X(META_BAD_TOKEN, "CLIENT_ERROR bad token in command line format")          \
	X(META_TOO_MANY_FLAGS, "CLIENT_ERROR options flags are too long")           \
	X(META_FLAGS_TOO_LONG, "CLIENT_ERROR options flags too long")               \
	X(META_BAD_KEY_ENCODING, "CLIENT_ERROR error decoding key")                 \
	X(META_OPAQUE_TOO_LONG, "CLIENT_ERROR opaque token too long")               \
	X(META_BAD_MS_MODE, "CLIENT_ERROR invalid mode for ms M token")             \
	X(META_BAD_MA_MODE, "CLIENT_ERROR invalid mode for ma M token")             \
	X(META_BAD_INITIAL, "CLIENT_ERROR invalid numeric initial value")           \
	X(META_BAD_DELTA, "CLIENT_ERROR invalid numeric delta value")               \
	X(META_INVALID_OR_DUPLICATE_FLAG, "CLIENT_ERROR invalid or duplicate flag")       \
	X(FLUSH_DISABLED, "CLIENT_ERROR flush_all not allowed")                             \
	X(SHUTDOWN_DISABLED, "ERROR: shutdown not enabled")                                 \
	X(SHUTDOWN_MODE, "CLIENT_ERROR invalid shutdown mode")

enum proto_error {
#define PROTO_ERROR_ENUM(name, reply) PROTO_ERR_##name,
	PROTO_ERROR_LIST(PROTO_ERROR_ENUM)
#undef PROTO_ERROR_ENUM
	PROTO_ERROR_COUNT
};

/** memcached's text/meta reply line for an error (without "\r\n"); "" for none. */
const char *proto_error_reply(enum proto_error err);

/** A token of a command line: a pointer into the line and its length. */
struct proto_token {
	const char *p;
	uint32_t len;
};

/** Most tokens of one line, as memcached's MAX_TOKENS. */
#define PROTO_TOKENS_MAX 24

/**
 * Bytes of a command line memcached holds without its "\n" before it closes the connection
 * (get/gets lines excepted): more than this in, no newline among them, and memcached gives up.
 */
#define PROTO_LINE_MAX 2048

/**
 * memcached's read buffer (READ_BUFFER_SIZE): a line whose "\n" is not among its first this
 * many bytes can never be read whole (get/gets lines excepted), whatever the timing.
 */
#define PROTO_LINE_READ_MAX 16384

/** Longest key. */
#define PROTO_KEY_MAX 250

#endif /* NC_PROTO_PARSE_H */
