/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_PROTO_META_H
#define NC_PROTO_META_H

/*
 * memcached's meta commands (mg, ms, md, ma, mn, me) as memcached 1.6 answers them: the
 * request side works on the tokens of one command line (the text parser reads the lines,
 * tokenizes them on spaces and hands meta commands here; for ms it then reads the data block
 * of req->value.len bytes and "\r\n" as for set), the reply side writes memcached's replies.
 *
 * Requests
 * --------
 * Every flag is one token: a letter, and for some letters a value glued to it ("T30").
 * Flags are checked as memcached's _meta_flag_preparse() does, in this order:
 *  - a missing key: PROTO_ERR_BAD_FORMAT;
 *  - a key token longer than PROTO_KEY_MAX (before any base64 decoding): KEY_TOO_LONG;
 *  - META_TOKENS_MAX tokens or more on the line, command included: META_TOO_MANY_FLAGS for
 *    mg ("options flags are too long"), META_FLAGS_TOO_LONG for ms md ma ("options flags too
 *    long"), as memcached 1.6.18 words them;
 *  - ms: a missing or invalid datalen: BAD_FORMAT. Up to here an ms line is all that is
 *    read (memcached reads the data block as the next command line); after it a failure
 *    leaves the block to be dropped (meta_rejected_data_len());
 *  - then flag by flag: a token starting with a byte >= 127 or with a letter already seen
 *    fails at once with META_DUPLICATE_FLAG, a letter memcached does not know fails at once
 *    with INVALID_FLAG; a bad value (N T R C E without a number, F not a 32-bit number, J, D,
 *    b not canonical base64) is remembered and the scan goes on: the error reported is the
 *    last one met (META_BAD_TOKEN, BAD_FORMAT for F, META_BAD_INITIAL, META_BAD_DELTA,
 *    META_BAD_KEY_ENCODING);
 *  - ma reports any failure of that scan as META_INVALID_OR_DUPLICATE_FLAG, as memcached 1.6
 *    does;
 *  - then ms/ma: an M letter not valid for the command (META_BAD_MS_MODE, META_BAD_MA_MODE);
 *  - last, an O token longer than 32 bytes (letter included): META_OPAQUE_TOO_LONG.
 * Every command accepts every flag letter memcached knows (b c f h k l s t u v q x I O P L N
 * R T F C E M J D) and ignores those that mean nothing to it, as memcached does.
 *
 * Numbers follow memcached's safe_strto*(): optional leading white space and sign, digits,
 * then the end of the token or white space. N T R take a signed 32-bit number, C E J D an
 * unsigned 64-bit one ("-" only when the result does not look negative as int64), F an
 * unsigned 32-bit one, the ms datalen 0..INT32_MAX-2.
 *
 * The request (kind PROTO_META; meta.flags holds PROTO_META_BIT of every letter given,
 * meta.ret the return-flag letters s t c f l h O k in request order):
 *  - mg: op GET, or GAT with exptime = T when T is given; C -> cas (a matching cas returns no
 *    value); N -> meta.vivify_ttl, R -> meta.recache_ttl, E -> meta.explicit_cas;
 *    q -> PROTO_F_QUIET_MISS.
 *  - ms: op STORE, value.len = datalen; mode from M (E add, A append, P prepend, R replace,
 *    S set, default set); with C, set and replace become PROTO_MODE_CAS (cas = C), add keeps
 *    add, append/prepend keep their mode and compare cas when it is not 0; F -> client_flags;
 *    T -> exptime; N -> meta.vivify_ttl (append/prepend create a missing item with it);
 *    I, E as memcached; q -> PROTO_F_NOREPLY.
 *  - md: op DELETE; C -> cas; T -> meta.new_ttl (with I or x); I, x, E as memcached; F ->
 *    client_flags (x); q -> PROTO_F_NOREPLY.
 *  - ma: op ARITH; PROTO_F_INCR unless M is D or "-" (I or "+" or none: incr); delta = D
 *    (default 1); N -> PROTO_F_HAS_INITIAL, exptime = meta.vivify_ttl = N, initial = J
 *    (default 0); T -> meta.new_ttl; C -> cas; E -> meta.explicit_cas; q -> PROTO_F_NOREPLY.
 *  - mn: op NOOP (further tokens ignored).
 *  - me <key> [b]: op DEBUG (only a "b" right after the key is looked at).
 * Every command: meta.new_ttl = T; c -> PROTO_F_RETURN_CAS, k -> PROTO_F_RETURN_KEY;
 * O -> meta.opaque/opaque_len (the bytes after the letter, at most 31).
 *
 * Keys: req->key points into the key token, or with b into req->meta.key_bin, which holds the
 * decoded key (PROTO_F_KEY_BINARY; at most PROTO_META_BINKEY_MAX bytes, as the token is at
 * most 250 characters). req->key and meta.opaque point into the tokens (the caller keeps the
 * line valid until the reply is written) or into the request itself (a request copied by
 * value must have .key re-pointed at the copy's key_bin when PROTO_F_KEY_BINARY is set).
 *
 * Replies
 * -------
 * meta_write() answers from the request and the worker's result:
 *  - mg hit: "VA <value_len> <flags>\r\n<value>\r\n" with v (and no matching C), else
 *    "HD <flags>\r\n"; return flags in request order: s<value_len> t<ttl_left, -1 for none>
 *    c<cas> f<client_flags> l<last_access> h<0|1> O<opaque> k<key> (k<base64> b with b), then
 *    Z (won_already), X (stale), W (win). Miss: "EN" with O and k. No space when no flags.
 *  - ms: HD (STORED), NS (NOT_STORED), EX (EXISTS), NF (NOT_FOUND), with O k c<cas> s<size>
 *    (cas: the result's, which the worker leaves 0 when nothing was stored, as memcached;
 *    size: value_len of the result, or the datalen when that is 0, as memcached).
 *  - md: HD (DELETED or OK), NF (NOT_FOUND or MISS), EX (EXISTS), NS (NOT_STORED), with O k.
 *  - ma: NUMBER: HD, or "VA <digits>" with v and the number on its own line; with c t O k.
 *    NF, EX, NS with O k.
 *  - mn: "MN\r\n" (also ends a quiet pipeline).
 *  - me: "ME <key> exp=<ttl_left|-1> la=<last_access> cas=<cas> fetch=<yes|no>
 *    cls=<item_class> size=<item_size>\r\n", or "EN\r\n".
 * Quiet mode (q), as memcached's code does it: mg hides EN; ms hides HD; md hides HD; ma hides
 * its success (HD or VA). Everything else (NS EX NF, errors) is still sent.
 * Status errors: TOO_LARGE "SERVER_ERROR object too large for cache"; NO_MEMORY "SERVER_ERROR
 * out of memory storing object" (ms) or "SERVER_ERROR out of memory"; NON_NUMERIC (ma)
 * "CLIENT_ERROR cannot increment or decrement non-numeric value".
 *
 * Threads: no state; every function works on the caller's objects only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "proto/output.h"
#include "proto/parse.h"
#include "proto/request.h"

/**
 * memcached's MFLAG_MAX_OPT_LENGTH: memcached counts a line's tokens plus a terminal one, so a
 * meta line of this many tokens or more (command included) is refused.
 */
#define META_TOKENS_MAX 20

/** Longest O token, its letter included (memcached MFLAG_MAX_OPAQUE_LENGTH). */
#define META_OPAQUE_TOKEN_MAX 32

/**
 * Whether a command token names a meta command (mg, ms, md, ma, mn or me). Thread-safe.
 * @return true for those six two-letter commands.
 */
bool meta_is_command(const struct proto_token *cmd);

/**
 * Parse one meta command line: @p tok[0] is the command, the other @p ntok - 1 tokens follow
 * it (no empty tokens). *req is zeroed and filled as described at the top of this file.
 * Thread-safe (no shared state; *req belongs to the caller).
 * @return 0 with *req filled (req->kind == PROTO_META); -1 with *err set to the error to
 *         answer (meta_write_error()). After an ms failure, meta_rejected_data_len() tells
 *         whether a data block follows that must be read and dropped.
 */
int meta_parse_tokens(const struct proto_token *tok, unsigned ntok, struct proto_request *req,
		      enum proto_error *err);

/**
 * After meta_parse_tokens() returned -1: whether the rejected line announced a data block
 * (an ms whose datalen token was valid). memcached then reads and drops that block, so the
 * caller skips *len bytes and the "\r\n" after them before the next command. Thread-safe.
 * @return true and *len = the datalen; false when no data block follows.
 */
bool meta_rejected_data_len(const struct proto_request *req, uint32_t *len);

/**
 * Append memcached's reply to a meta request (kind PROTO_META) for the worker's result (see
 * the top of this file); writes nothing where quiet mode hides the reply. Values are copied or
 * referenced according to out->copy_values. The reply is appended whole or not at all.
 * Thread-safe for distinct outputs (one output belongs to one worker).
 * @return 0; -ENOBUFS when the output is full (nothing appended, out->overflow set);
 *         -EINVAL when the request is not a meta request or the status does not belong to
 *         its command (nothing appended).
 */
int meta_write(struct proto_out *out, const struct proto_request *req,
	       const struct proto_result *res);

/**
 * Append the reply line for a parse error ("CLIENT_ERROR ...\r\n"; errors are never quiet).
 * Errors without a text reply (PROTO_ERR_NONE, NOREPLY_ONLY, binary ones) append nothing.
 * Thread-safe for distinct outputs.
 * @return 0; -ENOBUFS when the output is full (nothing appended, out->overflow set).
 */
int meta_write_error(struct proto_out *out, enum proto_error err);

#endif /* NC_PROTO_META_H */
