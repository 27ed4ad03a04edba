/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A connection's authentication (-S/-Y), as memcached 1.6 answers it. Until it logs in, a
 * text connection's input is read here, not parsed as requests: the first command must be
 * "set <any> <flags> <exptime> <n>" whose n bytes are "user password" (STORED, or
 * "CLIENT_ERROR authentication failure"); any other line gets "CLIENT_ERROR unauthenticated".
 * A binary connection is parsed as usual, but only the SASL requests and VERSION run; any
 * other gets "Auth failure." and the connection closes. Either scheme works on either flag
 * (one set of users); memcached serves only binary with -S and only text with -Y.
 */
#include <string.h>
#include <strings.h>

#include "auth_server.h"
#include "conn_private.h"
#include "worker.h"

static const char line_unauthenticated[] = "CLIENT_ERROR unauthenticated";

/* Count an attempt (and its failure), as memcached's auth_cmds / auth_errors. */
static void
auth_count(struct worker *w, bool ok)
{
	STAT_INC(&w->stats, auth_cmds);
	if (!ok)
		STAT_INC(&w->stats, auth_errors);
}

/* The size token of the auth line: 1..10 digits up to UINT32_MAX - 2. @return -1 if not. */
static int64_t
size_token(const char *t, size_t len)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(t[i] - '0');
	}
	return v <= UINT32_MAX - 2 ? (int64_t)v : -1;
}

/*
 * The command line before a token: "set" and at least four more words, the fourth of them the
 * token's size. @return the size, or -1 for any other line.
 */
static int64_t
auth_line_size(const char *line, size_t len)
{
	const char *w[5];
	size_t wl[5], at = 0;
	unsigned n = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	while (n < 5 && at < len) {
		size_t end;

		while (at < len && line[at] == ' ')
			at++;
		if (at == len)
			break;
		for (end = at; end < len && line[end] != ' ';)
			end++;
		w[n] = line + at;
		wl[n++] = end - at;
		at = end;
	}
	if (n < 5 || wl[0] != 3 || memcmp(w[0], "set", 3) != 0)
		return -1;
	return size_token(w[4], wl[4]);
}

/* Read the command line; answer it, or go on to its token. */
static enum conn_auth_gate
auth_line(struct worker *w, struct conn *c)
{
	char line[CONN_AUTH_LINE_MAX];
	uint64_t avail = proto_input_avail(&c->in);
	int64_t nl = proto_input_find(&c->in, '\n', avail);
	int64_t size = -1;

	if (nl < 0) {
		if (avail > CONN_AUTH_LINE_MAX) {
			/* As memcached: no "\n" after this much is junk; close. */
			STAT_INC(&w->stats, conn_closed_errors);
			c->close_after_send = true;
			return CONN_AUTH_AGAIN;
		}
		return CONN_AUTH_MORE;
	}
	/* A whole line that came with its "\n" is answered, however long (as memcached). */
	if (nl <= CONN_AUTH_LINE_MAX) {
		proto_input_copy(&c->in, line, (uint32_t)nl);
		size = auth_line_size(line, (size_t)nl);
	}
	proto_input_skip(&c->in, (uint64_t)nl + 1);
	if (size < 0) {
		if (conn_reply_line(w, c, line_unauthenticated) != 0)
			c->close_after_send = true;
		return CONN_AUTH_AGAIN;
	}
	c->auth_need = (uint64_t)size + 2;
	c->auth_skip = size > CONN_AUTH_TOKEN_MAX;
	return CONN_AUTH_AGAIN;
}

/* Read the token (and its CRLF) and answer it. */
static enum conn_auth_gate
auth_token(struct worker *w, struct conn *c)
{
	char tok[CONN_AUTH_TOKEN_MAX + 2];
	uint64_t avail = proto_input_avail(&c->in), need = c->auth_need;
	const char *reply;

	if (c->auth_skip) {
		uint64_t n = avail < need ? avail : need;

		proto_input_skip(&c->in, n);
		c->auth_need -= n;
		if (c->auth_need > 0)
			return CONN_AUTH_MORE;
		c->auth_skip = false;
		auth_count(w, false); /* longer than any user and password */
		reply = "CLIENT_ERROR authentication failure";
	} else {
		if (avail < need)
			return CONN_AUTH_MORE;
		proto_input_copy(&c->in, tok, (uint32_t)need);
		proto_input_skip(&c->in, need);
		c->auth_need = 0;
		if (tok[need - 2] != '\r' || tok[need - 1] != '\n') {
			reply = "CLIENT_ERROR bad command line termination";
		} else {
			switch (nc_auth_text_token(auth_current(w->srv), tok, need - 2)) {
			case NC_AUTH_TOKEN_OK:
				auth_count(w, true);
				c->authed = true;
				reply = "STORED";
				break;
			case NC_AUTH_TOKEN_FAIL:
				auth_count(w, false);
				reply = "CLIENT_ERROR authentication failure";
				break;
			default:
				reply = "CLIENT_ERROR bad authentication token format";
				break;
			}
		}
		explicit_bzero(tok, need);
	}
	if (conn_reply_line(w, c, reply) != 0)
		c->close_after_send = true;
	return CONN_AUTH_AGAIN;
}

/* Append a binary reply to c->req; flush and retry once when the output is full. */
static bool
reply_binary(struct worker *w, struct conn *c, uint16_t status, const char *msg)
{
	int rc = binary_write_status(&w->out, &c->req, status, msg);

	if (rc == -ENOBUFS) {
		if (conn_flush(w, c) != 0)
			return false;
		rc = binary_write_status(&w->out, &c->req, status, msg);
	}
	return rc == 0;
}

/* Whether binary request c->req may run before the connection logged in (as memcached). */
static bool
binary_allowed(const struct proto_request *req)
{
	return req->op == PROTO_OP_SASL_LIST || req->op == PROTO_OP_SASL_AUTH ||
	       req->op == PROTO_OP_SASL_STEP || req->op == PROTO_OP_VERSION;
}

enum conn_auth_gate
conn_auth_parse(struct worker *w, struct conn *c, enum proto_parse *r, enum proto_error *err)
{
	uint32_t len;
	const uint8_t *first;

	if (c->parser.mode != PROTO_PARSER_BINARY) {
		if (c->auth_need > 0)
			return auth_token(w, c);
		first = proto_input_peek(&c->in, &len);
		if (len == 0)
			return CONN_AUTH_MORE;
		/* The first byte decides the protocol (proto/parser.h). */
		if (c->parser.mode != PROTO_PARSER_UNDECIDED || first[0] != BINARY_MAGIC_REQ)
			return auth_line(w, c);
	}
	*r = proto_parse(&c->parser, &c->in, &c->req, err);
	if (*r == PROTO_PARSE_MORE || *r == PROTO_PARSE_CLOSE ||
	    (*r == PROTO_PARSE_OK && binary_allowed(&c->req)))
		return CONN_AUTH_PARSE;
	reply_binary(w, c, BINARY_ST_AUTH_ERROR, binary_status_message(BINARY_ST_AUTH_ERROR));
	c->close_after_send = true;
	return CONN_AUTH_AGAIN;
}

/* Whether the SASL message of c->req logs in (PLAIN). */
static bool
sasl_check(struct worker *w, struct conn *c)
{
	/* authzid, user and password of at most NC_AUTH_FIELD_MAX bytes each, two NULs */
	uint8_t msg[3 * NC_AUTH_FIELD_MAX + 2];
	const struct proto_span *v = &c->req.value;
	bool ok;

	if (v->len == 0 || v->len > sizeof(msg))
		return false;
	proto_gather(&c->in, v, msg);
	ok = nc_auth_plain(auth_current(w->srv), msg, v->len);
	explicit_bzero(msg, v->len);
	return ok;
}

bool
conn_auth_sasl(struct worker *w, struct conn *c)
{
	const struct proto_request *req = &c->req;
	bool ok, plain;

	if (auth_current(w->srv) == NULL)
		return proto_write_error(&w->out, req, PROTO_ERR_BINARY_UNKNOWN) == 0 ||
		       (conn_flush(w, c) == 0 &&
			proto_write_error(&w->out, req, PROTO_ERR_BINARY_UNKNOWN) == 0);
	if (req->op == PROTO_OP_SASL_LIST)
		return reply_binary(w, c, BINARY_ST_SUCCESS, "PLAIN");
	plain = req->args_len == 5 && strncasecmp(req->args, "PLAIN", 5) == 0;
	if (req->op == PROTO_OP_SASL_AUTH && plain && req->value.len == 0) {
		/* PLAIN without its message: memcached (Cyrus) asks for it; the step brings it. */
		c->sasl_started = true;
		return reply_binary(w, c, BINARY_ST_AUTH_CONTINUE, "");
	}
	if (req->op == PROTO_OP_SASL_AUTH)
		ok = plain && sasl_check(w, c);
	else /* STEP: only after an AUTH that asked for it (the step's mechanism is not read) */
		ok = c->sasl_started && sasl_check(w, c);
	c->sasl_started = false;
	c->authed = ok; /* a failed attempt logs out, as memcached */
	auth_count(w, ok);
	if (ok)
		return reply_binary(w, c, BINARY_ST_SUCCESS, "Authenticated");
	return reply_binary(w, c, BINARY_ST_AUTH_ERROR, binary_status_message(BINARY_ST_AUTH_ERROR));
}
