/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_TEXT_H
#define NC_PROTO_TEXT_H

/*
 * memcached's text protocol as memcached 1.6 (proto_text.c) speaks it: an incremental request
 * parser and the response writer. Meta commands (mg ms md ma mn me) are lines of the same
 * protocol: the parser reads and tokenizes them, hands the tokens to meta_parse_tokens()
 * (proto/meta.h) and reads an ms data block; meta's writer answers them.
 *
 * Lines
 * -----
 * A command line ends at "\n"; one "\r" right before it is dropped (so "\r\n" and a bare "\n"
 * both end a line), and a NUL byte ends the line's text early (memcached reads the line as a C
 * string). Tokens are separated by spaces only (a tab or "\r" inside a token belongs to it); at
 * most PROTO_TOKENS_MAX - 1 tokens are looked at, as memcached's tokenizer does.
 * A line is read whole when its "\n" comes within its first PROTO_LINE_READ_MAX bytes
 * (memcached's read buffer; memcached serves such a line when it arrives in one read), else
 * the connection is closed (PROTO_PARSE_CLOSE, PROTO_ERR_NONE) -- unless the line starts
 * (after at most 100 spaces) with "get " or "gets ": then its keys are read as they arrive,
 * however long the line ("streamed" get). The parser decides on the bytes alone, however they
 * are cut into segments; memcached also closes as soon as a read leaves more than
 * PROTO_LINE_MAX bytes of a line without its "\n": text_parser_line_stalled() tells the
 * caller when that is the case. A line in one input segment is read in place; one that
 * straddles segments is copied into the parser when it fits p->line (PROTO_LINE_MAX + 1
 * bytes), else into a buffer of the call: what a request from it points to (key, opaque,
 * stats args) is then copied into the parser, and a get/gets/gat/gats line is checked whole
 * and then produced key by key from the input, as a streamed get.
 *
 * Commands and their checks, in memcached's order (the error replies are proto_error_reply()):
 *  - empty line, or a command shorter than 2 bytes: UNKNOWN_COMMAND ("ERROR").
 *  - wrong number of tokens for a known command: UNKNOWN_COMMAND (memcached answers "set foo"
 *    with "ERROR"). Counts: get/gets/gat/gats/bget >= 2; set/add/replace/append/prepend 5-6;
 *    cas 6-7; incr/decr/touch 3-4; delete 2-4; flush_all 1-3; verbosity 2-3; others any.
 *  - "noreply" is looked for in the last token only (memcached's set_noreply_maybe()), by
 *    set/add/replace/append/prepend/cas, incr/decr, touch, flush_all, verbosity, and delete
 *    with 3 or 4 tokens. Under noreply memcached suppresses every reply of the command,
 *    errors included: such errors come back as PROTO_ERR_NOREPLY_ONLY (nothing to send).
 *  - a key longer than PROTO_KEY_MAX: KEY_TOO_LONG ("CLIENT_ERROR bad command line format");
 *    for a get, any key of the line fails the whole line and no key is produced (except in a
 *    streamed get, where keys before the long one were already produced).
 *  - numbers as memcached's safe_strtoul/strtol/strtoull() read them on 64-bit Linux: leading
 *    white space, a sign, decimal digits, then the token's end or white space; out of the
 *    64-bit range fails; a 32-bit field keeps the low 32 bits of a larger number
 *    (memcached's own tests note "4294967296" is accepted for a 32-bit field on 64-bit
 *    Linux); an unsigned field rejects a '-' when the result looks negative as int64.
 *    set/cas: bad flags, exptime, length or cas, or a length < 0 or > INT32_MAX - 2:
 *    BAD_FORMAT (the data block is not skipped: memcached reads it as the next command);
 *    gat/gats, touch, flush_all: bad exptime: BAD_EXPTIME; incr/decr: bad delta: BAD_DELTA;
 *    verbosity: bad level: BAD_FORMAT.
 *  - delete <key> [0] [noreply]: another third token, or a fourth that is not "noreply"
 *    after "0": DELETE_USAGE ("CLIENT_ERROR bad command line format.  Usage: delete <key>
 *    [noreply]").
 *  - a data block of length + 2 bytes > item_size_max: the block is dropped (across calls
 *    if need be) and then PROTO_PARSE_ERROR with TOO_LARGE ("SERVER_ERROR object too large
 *    for cache"; NOREPLY_ONLY under noreply); *req then describes the command (op STORE,
 *    mode, key in the parser, flags with PROTO_F_REFUSED, no value) so the worker can unlink
 *    the old item as memcached does (proto_store_failure_unlinks()) before it answers; the
 *    same for ms (never suppressed).
 *  - a data block whose length + 2 bytes do not end in "\r\n": all of them are consumed and
 *    BAD_CHUNK ("CLIENT_ERROR bad data chunk") is reported; parsing goes on right after them.
 *  - an unknown command: UNKNOWN_COMMAND; but when it does not start with one of g s a c i d t
 *    and its last token starts with "HTTP/" (e.g. "GET / HTTP/1.1"): PROTO_PARSE_CLOSE.
 *  - commands memcached knows but this server does not serve (shutdown, slabs,
 *    cache_memlimit, lru, lru_crawler, watch, extstore, refresh_certs, misbehave, debugtime):
 *    UNKNOWN_COMMAND.
 *
 * Requests (kind PROTO_TEXT; fields not listed are 0; meta and bin are not touched):
 *  - get/bget, gets: op GET, one request per key in line order, the first with
 *    PROTO_F_MULTI_FIRST, the last with PROTO_F_MULTI_LAST (a single key has both); gets adds
 *    PROTO_F_RETURN_CAS. gat/gats: op GAT, exptime = first argument. "gat <exptime>" without
 *    a key is one GAT request with key_len 0 (memcached answers just "END").
 *  - set add replace append prepend cas: op STORE, mode, client_flags, exptime, cas, value
 *    (a span of the input, without the "\r\n").
 *  - incr/decr: op ARITH, delta, PROTO_F_INCR for incr. touch: op TOUCH, exptime.
 *  - delete: op DELETE. flush_all: op FLUSH, exptime = delay (raw; <= 0 means now).
 *  - verbosity: op VERBOSITY, level (raw). version: op VERSION. quit: op QUIT.
 *  - stats: op STATS; args/args_len = the rest of the line from the first argument (without
 *    trailing spaces, at most PROTO_LINE_MAX bytes: no stats group is longer), or NULL.
 * Numbers are raw client values (a 32-bit field as memcached truncates it): the worker
 * applies memcached's exptime rules.
 *
 * Lifetime of what a request points to: keys and args point into the input when the line
 * lies in one segment, else into the parser; text_parser_owns() tells which. Pointers into
 * the input stay valid until the input is compacted past them; pointers into the parser
 * stay valid until the next text_parse() call on this parser, except that the keys of one
 * multi-key get line stay valid until its PROTO_F_MULTI_LAST request has been returned and the
 * next call has been made. A worker that batches requests before executing them must finish
 * (or copy) a parser-owned request before parsing on.
 * When text_parse() has returned PROTO_PARSE_MORE the parser holds no pointer into the input:
 * the caller may then compact it, or move the unconsumed bytes into other segments (e.g.
 * coalesce them into one buffer when PROTO_INPUT_SEGS_MAX segments are chained).
 *
 * Threads: a parser belongs to one connection on one worker; nothing here is shared.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/input.h"
#include "proto/output.h"
#include "proto/parse.h"
#include "proto/peek.h"
#include "proto/request.h"

/** Largest data block when text_parser_init() is given 0 (memcached's -I default). */
#define TEXT_ITEM_SIZE_MAX_DEFAULT (1024u * 1024u)

/** Most spaces memcached lets precede "get " on a line longer than PROTO_LINE_MAX. */
#define TEXT_GET_LEAD_MAX 100

/** Where a parser is between calls. */
enum text_parser_state {
	TEXT_STATE_LINE,    /* at the start of a command line */
	TEXT_STATE_KEYS,    /* producing the keys of a get line read whole */
	TEXT_STATE_STREAM,  /* producing the keys of a streamed get line */
	TEXT_STATE_DATA,    /* line read; waiting for its data block */
	TEXT_STATE_SWALLOW, /* dropping a refused data block (skip bytes) */
	TEXT_STATE_SKIP,    /* dropping the rest of a line */
};

/** Parser state of one connection. Initialise with text_parser_init(); fields are private. */
struct text_parser {
	enum text_parser_state state;
	uint32_t item_size_max; /* longest data block + 2 accepted */
	uint32_t scanned;	/* LINE: bytes after the cursor known to hold no "\n" */
	enum proto_error perr;	/* SWALLOW/SKIP: error to report when done (NONE: go on) */
	uint64_t skip;		/* SWALLOW: bytes still to drop */

	/* KEYS and STREAM: the get being produced. */
	enum proto_op kop; /* GET or GAT */
	uint32_t kflags;   /* PROTO_F_RETURN_CAS or 0 */
	int64_t kexptime;  /* GAT */
	bool kfirst;	   /* the next key is the first of its line */
	const char *kline; /* KEYS: the line's text (input or line[]) */
	uint32_t kend;	   /* KEYS: length of the line's text */
	uint32_t kpos;	   /* KEYS: offset of the next key once ktok[] is used up */
	uint32_t ktotal;   /* KEYS: bytes of the line with its "\n" */
	uint8_t ki;	   /* KEYS: next key in ktok[] */
	uint8_t kn;	   /* KEYS: keys in ktok[] */
	bool sreading; /* STREAM: a token is being read into key[] */
	bool sheld;    /* STREAM: key[] holds a whole token not yet produced */
	uint8_t slast; /* STREAM: last byte of the token being read */
	uint32_t slen; /* STREAM: length of that token (saturates) */

	/*
	 * From here on, the buffers are written before they are read: text_parser_init() clears
	 * only the fields above (a UDP datagram starts a parser each time).
	 */
	struct proto_token ktok[PROTO_TOKENS_MAX - 1]; /* KEYS: the keys the tokenizer found */

	/* DATA: the request whose block is awaited; SWALLOW: the request to report. */
	struct proto_request pending;
	bool ptext; /* pending is a text request (noreply hides its errors) */

	char key[PROTO_KEY_MAX + 1];   /* streamed key (+ a "\r"), or a refused item's key */
	char line[PROTO_LINE_MAX + 1]; /* a line that straddled segments */
};

/**
 * Start a parser (or restart one, forgetting any partial request).
 * @param item_size_max largest data block + 2 accepted (memcached -I); larger blocks are
 *        dropped with PROTO_ERR_TOO_LARGE; 0 = TEXT_ITEM_SIZE_MAX_DEFAULT.
 * Thread: the connection's worker.
 */
void text_parser_init(struct text_parser *p, uint32_t item_size_max);

/**
 * Parse the next request at the input's cursor. One call produces at most one request.
 * @return PROTO_PARSE_OK: *req filled (see the top of this file); the cursor is past what
 *         the request used (past the whole line once its last key is out);
 *         PROTO_PARSE_MORE: need more bytes; call again after appending to the same input;
 *         PROTO_PARSE_ERROR: answer *err (text_write_error(); PROTO_ERR_NOREPLY_ONLY means
 *         nothing is sent); the bad input was consumed as memcached does and parsing goes
 *         on; req->kind says which protocol's writer answers (PROTO_META for a meta line);
 *         PROTO_PARSE_CLOSE: close the connection without a reply (*err PROTO_ERR_NONE).
 * Thread: the connection's worker.
 */
enum proto_parse text_parse(struct text_parser *p, struct proto_input *in,
			    struct proto_request *req, enum proto_error *err);

/**
 * Whether memcached would close the connection now (see "Lines" above): the parser is at the
 * start of a line of which more than PROTO_LINE_MAX bytes are in @p in without a "\n", and
 * the line is not one that may grow (get/gets after at most TEXT_GET_LEAD_MAX spaces). Call
 * after text_parse() returned PROTO_PARSE_MORE, once what was received has been appended.
 * Thread: the connection's worker.
 */
bool text_parser_line_stalled(const struct text_parser *p, const struct proto_input *in);

/**
 * A shortcut for an input that is exactly one plain get line (a UDP datagram, typically):
 * "get ", one key of 1..PROTO_KEY_MAX bytes from '!' to '~', then "\r\n" or "\n", nothing
 * more. For such an input *req is filled as text_parse() would fill it (the key points into
 * @p s) and true is returned; for any other input false is returned, *req is untouched, and
 * the parser is the way. Any thread; no state.
 */
bool text_single_get(const char *s, uint32_t len, struct proto_request *req);

/**
 * text_single_get()'s test alone: whether @p s is exactly one plain get line; if so *key and
 * *key_len give its key (pointing into @p s) and true is returned. Any thread; no state.
 */
bool text_single_get_key(const char *s, uint32_t len, const char **key, uint32_t *key_len);

/**
 * text_single_get_key() for one plain get line of 1..@p max keys: "get ", keys of
 * 1..PROTO_KEY_MAX bytes from '!' to '~' with one space between them, then "\r\n" or "\n",
 * nothing more. For such an input @p keys[0..n) give its keys (pointing into @p s) and n is
 * returned; for any other input (more keys than @p max too) 0, and the parser is the way.
 * Any thread; no state.
 */
unsigned text_get_keys(const char *s, uint32_t len, struct proto_key_ref *keys, unsigned max);

/**
 * Turn *req, a plain get's request (text_get_req_init(), or text_get_key_req() for another
 * key), into the request for key @p i of the @p n keys: its key and its PROTO_F_MULTI_* flags
 * are all that differ, and all this sets. Any thread.
 */
static inline void
text_get_key_req_move(struct proto_request *req, const struct proto_key_ref *keys, unsigned i,
		      unsigned n)
{
	req->flags = (uint32_t)(i == 0) * PROTO_F_MULTI_FIRST |
		     (uint32_t)(i + 1 == n) * PROTO_F_MULTI_LAST;
	req->key = keys[i].key;
	req->key_len = keys[i].len;
}

/**
 * Fill *req as text_parse() fills the request of a plain get, all but its key and its
 * PROTO_F_MULTI_* flags (text_get_key_req_move() gives those). Any thread.
 */
static inline void
text_get_req_init(struct proto_request *req)
{
	memset(req, 0, offsetof(struct proto_request, meta)); /* what the parser clears */
	req->op = PROTO_OP_GET;
	req->kind = PROTO_TEXT;
}

/**
 * Fill *req as text_parse() fills the request for key @p i of the @p n keys text_get_keys()
 * found (PROTO_F_MULTI_FIRST on the first, PROTO_F_MULTI_LAST on the last). Any thread.
 */
static inline void
text_get_key_req(struct proto_request *req, const struct proto_key_ref *keys, unsigned i,
		 unsigned n)
{
	text_get_req_init(req);
	text_get_key_req_move(req, keys, i, n);
}

/**
 * Fill *req as text_single_get() does for a line text_single_get_key() accepted with key
 * @p key of @p key_len bytes. Any thread; no state.
 */
void text_single_get_req(struct proto_request *req, const char *key, uint32_t key_len);

/**
 * Whether @p ptr points into the parser's own buffers (a key or args copied out of a line
 * that straddled segments, or out of a streamed get), i.e. is only valid until the next
 * text_parse() call (see the top of this file).
 * Thread: the connection's worker.
 */
static inline bool
text_parser_owns(const struct text_parser *p, const void *ptr)
{
	const char *c = ptr;

	return (c >= p->line && c < p->line + sizeof(p->line)) ||
	       (c >= p->key && c < p->key + sizeof(p->key));
}

/**
 * Append memcached's reply to an executed text request (kind PROTO_TEXT):
 *  - GET/GAT: a hit is "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n" (cas with
 *    PROTO_F_RETURN_CAS; data copied or referenced per out->copy_values); any other status
 *    writes nothing; "END\r\n" follows the PROTO_F_MULTI_LAST request, hit or not.
 *  - STORE: STORED, NOT_STORED, EXISTS, NOT_FOUND; TOO_LARGE "SERVER_ERROR object too large
 *    for cache"; NO_MEMORY "SERVER_ERROR out of memory storing object".
 *  - DELETE: DELETED, NOT_FOUND. TOUCH: TOUCHED, NOT_FOUND.
 *  - ARITH: NUMBER as decimal; NOT_FOUND; NON_NUMERIC "CLIENT_ERROR cannot increment or
 *    decrement non-numeric value"; NO_MEMORY "SERVER_ERROR out of memory".
 *  - FLUSH, VERBOSITY: OK "OK". VERSION: "VERSION <res->text>".
 *  - STATS: STATS "STAT <name> <value>\r\n" per stat then "END\r\n"; OK "RESET" (stats reset).
 *  - QUIT: nothing.
 * With PROTO_F_NOREPLY nothing is written for any status (memcached suppresses errors too).
 * Every line ends in "\r\n". The reply is appended whole or not at all.
 * @return 0 (also when nothing is due); -ENOBUFS when the output is full (out->overflow set,
 *         the output left as it was); -EINVAL when the request is not a text request or the
 *         status is not an outcome of its op (nothing written).
 * Thread: the connection's worker.
 */
int text_write(struct proto_out *out, const struct proto_request *req,
	       const struct proto_result *res);

/**
 * text_write() for a GET or GAT request (text_parse()'s or text_get_key_req()'s): "VALUE ..."
 * and the value for a hit, nothing for a miss, "END" after the key with PROTO_F_MULTI_LAST.
 * @return as text_write().
 */
int text_write_get(struct proto_out *out, const struct proto_request *req,
		   const struct proto_result *res);

/**
 * Append the reply line for a parse error: proto_error_reply(err) and "\r\n". Errors without
 * a text reply (PROTO_ERR_NONE, NOREPLY_ONLY, binary ones) append nothing.
 * @return 0; -ENOBUFS when the output is full (out->overflow set, the output left as it was).
 * Thread: the connection's worker.
 */
int text_write_error(struct proto_out *out, enum proto_error err);

#endif /* NC_PROTO_TEXT_H */
