/* SPDX-License-Identifier: BSD-3-Clause */
/* Meta command lines -> struct proto_request (see meta.h for the rules and their order). */
#include "proto/meta.h"

#include <limits.h>
#include <string.h>

#include "core/base64.h"

enum meta_cmd {
	META_NONE,
	META_MG,
	META_MS,
	META_MD,
	META_MA,
	META_MN,
	META_ME,
};

static enum meta_cmd
classify(const struct proto_token *t)
{
	if (t->len != 2 || t->p[0] != 'm')
		return META_NONE;
	switch (t->p[1]) {
	case 'g':
		return META_MG;
	case 's':
		return META_MS;
	case 'd':
		return META_MD;
	case 'a':
		return META_MA;
	case 'n':
		return META_MN;
	case 'e':
		return META_ME;
	default:
		return META_NONE;
	}
}

bool
meta_is_command(const struct proto_token *cmd)
{
	return classify(cmd) != META_NONE;
}

/* isspace() in the C locale, as memcached's strtol() front end and xisspace() see it. */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* A number as strtol()/strtoull() scan it, with memcached's end rule. */
struct number {
	bool neg;
	bool overflow; /* magnitude above UINT64_MAX (ERANGE) */
	uint64_t mag;
};

/*
 * Leading white space, an optional sign, at least one digit; the digits end the token or are
 * followed by white space (memcached: xisspace(*endptr) || *endptr == '\0').
 */
static bool
scan_number(const char *p, uint32_t len, struct number *n)
{
	uint32_t i = 0, first;

	n->neg = false;
	n->overflow = false;
	n->mag = 0;
	while (i < len && is_space(p[i]))
		i++;
	if (i < len && (p[i] == '+' || p[i] == '-')) {
		n->neg = p[i] == '-';
		i++;
	}
	first = i;
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (n->mag > (UINT64_MAX - d) / 10)
			n->overflow = true;
		else
			n->mag = n->mag * 10 + d;
	}
	if (i == first)
		return false;
	return i == len || is_space(p[i]);
}

/* safe_strtol(): a signed 32-bit number (out-of-range values are refused, not truncated). */
static bool
parse_i32(const char *p, uint32_t len, int32_t *out)
{
	struct number n;

	if (!scan_number(p, len, &n) || n.overflow)
		return false;
	if (n.neg ? n.mag > (uint64_t)INT32_MAX + 1 : n.mag > INT32_MAX)
		return false;
	*out = n.neg ? (int32_t)(0 - n.mag) : (int32_t)n.mag;
	return true;
}

/*
 * safe_strtoull(): strtoull() negates a "-" number modulo 2^64; memcached refuses the result
 * only when it looks negative as an int64 and the text has a "-".
 */
static bool
parse_u64(const char *p, uint32_t len, uint64_t *out)
{
	struct number n;
	uint64_t v;

	if (!scan_number(p, len, &n) || n.overflow)
		return false;
	v = n.neg ? 0 - n.mag : n.mag;
	if (n.neg && v > (uint64_t)INT64_MAX)
		return false;
	*out = v;
	return true;
}

/* safe_strtoul() for client flags, refusing values above 32 bits instead of truncating. */
static bool
parse_u32(const char *p, uint32_t len, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(p, len, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* What the flag scan found, beyond what it writes into the request. */
struct scan {
	bool has_mode;
	bool mode_short; /* "M" alone: memcached reads the byte after it, never a valid mode */
	const struct proto_token *opaque;
};

/* Decode a b key into req->meta.key_bin. */
static bool
decode_key(const struct proto_token *key, struct proto_request *req)
{
	int64_t n =
		nc_base64_decode(key->p, key->len, req->meta.key_bin, sizeof(req->meta.key_bin));

	if (n <= 0)
		return false;
	req->key = (const char *)req->meta.key_bin;
	req->key_len = (uint32_t)n;
	req->flags |= PROTO_F_KEY_BINARY;
	return true;
}

/*
 * memcached's _meta_flag_preparse(): every flag from tok[start]. Unknown and repeated letters
 * fail at once; bad values are remembered (the last one decides the error) and the scan goes
 * on.
 */
static int
scan_flags(const struct proto_token *tok, unsigned ntok, unsigned start, struct proto_request *req,
	   struct scan *sc, enum proto_error *err)
{
	struct proto_meta *m = &req->meta;
	enum proto_error bad = PROTO_ERR_BAD_FORMAT;
	bool has_error = false;
	uint8_t seen[127] = {0};
	unsigned nret = 0;
	int32_t i32;

	for (unsigned i = start; i < ntok; i++) {
		const char *v;
		uint32_t vlen;
		unsigned char c;

		if (tok[i].len == 0) {
			/* Tokenizers never produce these; refuse rather than read past one. */
			*err = PROTO_ERR_BAD_FORMAT;
			return -1;
		}
		c = (unsigned char)tok[i].p[0];
		v = tok[i].p + 1; /* the value glued to the letter */
		vlen = tok[i].len - 1;
		if (c >= 127 || seen[c]) {
			*err = PROTO_ERR_META_DUPLICATE_FLAG;
			return -1;
		}
		seen[c] = 1;
		switch (c) {
		case 'b':
			if (!decode_key(&tok[1], req)) {
				bad = PROTO_ERR_META_BAD_KEY_ENCODING;
				has_error = true;
			}
			break;
		case 'N':
		case 'T':
		case 'R':
			if (!parse_i32(v, vlen, &i32)) {
				bad = PROTO_ERR_META_BAD_TOKEN;
				has_error = true;
			} else if (c == 'N') {
				m->vivify_ttl = i32;
			} else if (c == 'T') {
				m->new_ttl = i32;
			} else {
				m->recache_ttl = i32;
			}
			break;
		case 's':
		case 't':
		case 'c':
		case 'f':
		case 'l':
		case 'h':
		case 'k':
			m->ret[nret++] = (char)c;
			break;
		case 'O':
			m->ret[nret++] = (char)c;
			sc->opaque = &tok[i];
			break;
		case 'P':
		case 'L':
		case 'v':
		case 'u':
		case 'q':
		case 'x':
		case 'I':
			break;
		case 'F':
			/* memcached sets no message here: the last one (or the default) stands. */
			if (!parse_u32(v, vlen, &req->client_flags))
				has_error = true;
			break;
		case 'C':
			if (!parse_u64(v, vlen, &req->cas)) {
				bad = PROTO_ERR_META_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'E':
			if (!parse_u64(v, vlen, &m->explicit_cas)) {
				bad = PROTO_ERR_META_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'M':
			sc->has_mode = true;
			sc->mode_short = vlen == 0;
			m->mode = vlen > 0 ? v[0] : 0;
			break;
		case 'J':
			if (!parse_u64(v, vlen, &req->initial)) {
				bad = PROTO_ERR_META_BAD_INITIAL;
				has_error = true;
			}
			break;
		case 'D':
			if (!parse_u64(v, vlen, &req->delta)) {
				bad = PROTO_ERR_META_BAD_DELTA;
				has_error = true;
			}
			break;
		default:
			*err = PROTO_ERR_INVALID_FLAG;
			return -1;
		}
		m->flags |= PROTO_META_BIT(c);
	}
	if (has_error) {
		*err = bad;
		return -1;
	}
	return 0;
}

static bool
has(const struct proto_request *req, char c)
{
	return (req->meta.flags & PROTO_META_BIT(c)) != 0;
}

static int
fail(enum proto_error *err, enum proto_error e)
{
	*err = e;
	return -1;
}

/*
 * The mode letter as memcached reads it: the byte after "M", which for a lone "M" is the
 * separator after it (never a mode); 0 when there is no M (or a NUL byte follows it).
 */
static char
mode_letter(const struct proto_request *req, const struct scan *sc)
{
	if (!sc->has_mode)
		return 0;
	return sc->mode_short ? ' ' : req->meta.mode;
}

/* ms: the M letter -> store mode; C turns set and replace into cas, as memcached. */
static int
ms_mode(struct proto_request *req, const struct scan *sc)
{
	switch (mode_letter(req, sc)) {
	case 'E':
		req->mode = PROTO_MODE_ADD;
		break;
	case 'A':
		req->mode = PROTO_MODE_APPEND;
		break;
	case 'P':
		req->mode = PROTO_MODE_PREPEND;
		break;
	case 'R':
		req->mode = PROTO_MODE_REPLACE;
		break;
	case 'S':
	case 0:
		req->mode = PROTO_MODE_SET;
		break;
	default:
		return -1;
	}
	if (has(req, 'C') && (req->mode == PROTO_MODE_SET || req->mode == PROTO_MODE_REPLACE))
		req->mode = PROTO_MODE_CAS;
	return 0;
}

/* ma: the M letter -> incr or decr. */
static int
ma_mode(struct proto_request *req, const struct scan *sc)
{
	switch (mode_letter(req, sc)) {
	case 0:
	case 'I':
	case '+':
		return 0;
	case 'D':
	case '-':
		req->flags &= ~PROTO_F_INCR;
		return 0;
	default:
		return -1;
	}
}

/* me <key> [b]: memcached looks only at a lone "b" right after the key. */
static int
parse_me(const struct proto_token *tok, unsigned ntok, struct proto_request *req,
	 enum proto_error *err)
{
	req->op = PROTO_OP_DEBUG;
	if (ntok < 2 || tok[1].len == 0)
		return fail(err, PROTO_ERR_BAD_FORMAT);
	if (tok[1].len > PROTO_KEY_MAX)
		return fail(err, PROTO_ERR_KEY_TOO_LONG);
	req->key = tok[1].p;
	req->key_len = tok[1].len;
	if (ntok >= 3 && tok[2].len == 1 && tok[2].p[0] == 'b') {
		if (!decode_key(&tok[1], req))
			return fail(err, PROTO_ERR_BAD_FORMAT);
		req->meta.flags |= PROTO_META_BIT('b');
	}
	return 0;
}

int
meta_parse_tokens(const struct proto_token *tok, unsigned ntok, struct proto_request *req,
		  enum proto_error *err)
{
	enum meta_cmd cmd = ntok > 0 ? classify(&tok[0]) : META_NONE;
	struct scan sc = {0};
	unsigned start = 2;

	memset(req, 0, sizeof(*req));
	req->kind = PROTO_META;
	switch (cmd) {
	case META_NONE:
		return fail(err, PROTO_ERR_UNKNOWN_COMMAND);
	case META_MN:
		req->op = PROTO_OP_NOOP;
		if (ntok > 1) { /* memcached ignores it; cluster members send markers there */
			req->args = tok[1].p;
			req->args_len = tok[1].len;
		}
		return 0;
	case META_ME:
		return parse_me(tok, ntok, req, err);
	default:
		break;
	}
	if (ntok < 2 || tok[1].len == 0)
		return fail(err, PROTO_ERR_BAD_FORMAT);
	/* memcached looks at these first: an ms line refused here is all that is read. */
	if (tok[1].len > PROTO_KEY_MAX)
		return fail(err, PROTO_ERR_KEY_TOO_LONG);
	if (ntok >= META_TOKENS_MAX)
		return fail(err, cmd == META_MG ? PROTO_ERR_META_TOO_MANY_FLAGS :
						  PROTO_ERR_META_FLAGS_TOO_LONG);
	switch (cmd) {
	case META_MS: {
		int32_t datalen;

		if (ntok < 3 || !parse_i32(tok[2].p, tok[2].len, &datalen) || datalen < 0 ||
		    datalen > INT32_MAX - 2)
			return fail(err, PROTO_ERR_BAD_FORMAT);
		/* From here a failure leaves the data block to be dropped. */
		req->op = PROTO_OP_STORE;
		req->value.len = (uint32_t)datalen;
		start = 3;
		break;
	}
	case META_MG:
		req->op = PROTO_OP_GET;
		break;
	case META_MD:
		req->op = PROTO_OP_DELETE;
		break;
	case META_MA:
		req->op = PROTO_OP_ARITH;
		req->flags |= PROTO_F_INCR;
		req->delta = 1;
		break;
	default:
		break;
	}
	req->key = tok[1].p;
	req->key_len = tok[1].len;

	if (scan_flags(tok, ntok, start, req, &sc, err) != 0) {
		if (cmd == META_MA)
			*err = PROTO_ERR_META_INVALID_OR_DUPLICATE_FLAG;
		return -1;
	}

	switch (cmd) {
	case META_MG:
		if (has(req, 'T')) {
			req->op = PROTO_OP_GAT;
			req->exptime = req->meta.new_ttl;
		}
		if (has(req, 'q'))
			req->flags |= PROTO_F_QUIET_MISS;
		break;
	case META_MS:
		if (ms_mode(req, &sc) != 0)
			return fail(err, PROTO_ERR_META_BAD_MS_MODE);
		req->exptime = req->meta.new_ttl;
		break;
	case META_MA:
		if (ma_mode(req, &sc) != 0)
			return fail(err, PROTO_ERR_META_BAD_MA_MODE);
		if (has(req, 'N')) {
			req->flags |= PROTO_F_HAS_INITIAL;
			req->exptime = req->meta.vivify_ttl;
		}
		break;
	default:
		break;
	}
	if (cmd != META_MG && has(req, 'q'))
		req->flags |= PROTO_F_NOREPLY;
	if (has(req, 'c'))
		req->flags |= PROTO_F_RETURN_CAS;
	if (has(req, 'k'))
		req->flags |= PROTO_F_RETURN_KEY;

	if (sc.opaque != NULL) {
		if (sc.opaque->len > META_OPAQUE_TOKEN_MAX)
			return fail(err, PROTO_ERR_META_OPAQUE_TOO_LONG);
		req->meta.opaque = sc.opaque->p + 1;
		req->meta.opaque_len = (uint8_t)(sc.opaque->len - 1);
	}
	return 0;
}

bool
meta_rejected_data_len(const struct proto_request *req, uint32_t *len)
{
	if (req->kind != PROTO_META || req->op != PROTO_OP_STORE)
		return false;
	*len = req->value.len;
	return true;
}
