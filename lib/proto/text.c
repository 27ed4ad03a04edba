/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached text protocol: the request parser (behaviour pinned in text.h).
 *
 * Fast path: the command line, and a storage command's data block, lie in the segment at the
 * cursor. One memchr finds the newline, a word-at-a-time scan splits the line in place, the
 * command is recognised by its length and bytes, and the request points into the segment.
 * Lines that straddle segments are copied into the parser (longer ones into a buffer of the
 * call, what the request keeps then moved into the parser); waiting for a data block,
 * dropping a refused block or the rest of a line, and producing the keys of a get line are
 * states, so a call can stop at any byte and the next one resumes there.
 */
#include "proto/text.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "proto/meta.h"
#include "proto/scan.h"

/* The "\n" of a line must be among its first LINE_SCAN bytes (memcached's read buffer). */
#define LINE_SCAN PROTO_LINE_READ_MAX

/* Tokens memcached's tokenizer hands out (its last slot is the terminal token). */
#define NTOK (PROTO_TOKENS_MAX - 1)

/* Internal result: back to reading lines, nothing to report yet. */
#define GO_ON (-1)

/* A command line being dispatched. */
struct line {
	const char *s;	/* its bytes: in an input segment, p->line, or a buffer of the call */
	uint32_t raw;	/* bytes before its "\n" */
	uint32_t len;	/* bytes of its text ("\r" before the "\n" and anything from a NUL cut) */
	uint32_t total; /* bytes with its "\n" */
	bool transient; /* s is a buffer of the call (a long line assembled from segments) */
	unsigned ntok;
	struct proto_token tok[NTOK];
};

static inline void
consume(struct text_parser *p, struct proto_input *in, uint64_t n)
{
	proto_input_skip(in, n);
	p->scanned = 0;
}

/* The common fields of a text request, cleared (meta and bin are left alone). */
static inline void
req_init(struct proto_request *req, enum proto_op op, enum proto_kind kind)
{
	memset(req, 0, offsetof(struct proto_request, meta));
	req->op = op;
	req->kind = kind;
}

/* Copy a request by value; a meta b key lives in the request itself and moves with it. */
static void
copy_request(struct proto_request *dst, const struct proto_request *src)
{
	*dst = *src;
	if ((src->flags & PROTO_F_KEY_BINARY) != 0 && src->key == (const char *)src->meta.key_bin)
		dst->key = (const char *)dst->meta.key_bin;
}

/* Byte at distance @p d from the cursor; false when it is not in the input yet. */
static bool
byte_at(const struct proto_input *in, uint64_t d, uint8_t *c)
{
	uint32_t off = in->off;

	for (unsigned s = in->cur; s < in->nsegs; s++, off = 0) {
		uint32_t n = in->seg[s].len - off;

		if (d < n) {
			*c = in->seg[s].data[off + d];
			return true;
		}
		d -= n;
	}
	return false;
}

/*
 * Distance from the cursor of the first "\n" in [from, limit), or -1 with *seen = the bytes
 * available before limit.
 */
static int64_t
find_nl(const struct proto_input *in, uint64_t from, uint64_t limit, uint64_t *seen)
{
	uint64_t base = 0;
	uint32_t off = in->off;

	for (unsigned s = in->cur; s < in->nsegs && base < limit; s++, off = 0) {
		uint64_t n = in->seg[s].len - off;
		uint64_t start = from > base ? from - base : 0;
		uint64_t end = limit - base < n ? limit - base : n;

		if (end > start) {
			const uint8_t *d = in->seg[s].data + off;
			const uint8_t *q = memchr(d + start, '\n', end - start);

			if (q != NULL)
				return (int64_t)(base + (uint64_t)(q - d));
		}
		base += n;
	}
	*seen = base < limit ? base : limit;
	return -1;
}

/* A token ends at a space, or at a NUL (memcached reads the line as a C string). */
static inline uint64_t
text_word_stops(uint64_t v)
{
	return proto_scan_eq(v, ' ') | proto_scan_eq(v, 0);
}

static inline bool
text_is_stop(uint8_t c)
{
	return c == ' ' || c == '\0';
}

/* Offset of the first space or NUL in [i, len), or len. */
static inline uint32_t
token_end(const char *s, uint32_t i, uint32_t len)
{
	return proto_scan((const uint8_t *)s, i, len, text_word_stops, text_is_stop);
}

/*
 * memcached's tokenize_command(): split on spaces, at most NTOK tokens. memcached reads the
 * line as a C string, so a NUL ends it: *len is cut there.
 */
static unsigned
tokenize(const char *s, uint32_t *len, struct proto_token *tok)
{
	uint32_t n = *len, i = 0, e;
	unsigned ntok = 0;

	for (;;) {
		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			break;
		if (ntok == NTOK) {
			/* Past memcached's tokens only a NUL in the rest matters (get keys). */
			const char *z = memchr(s + i, '\0', n - i);

			if (z != NULL)
				n = (uint32_t)(z - s);
			break;
		}
		e = token_end(s, i, n);
		if (e > i) {
			tok[ntok].p = s + i;
			tok[ntok].len = e - i;
			ntok++;
		}
		if (e < n && s[e] == '\0') {
			n = e;
			break;
		}
		i = e;
	}
	*len = n;
	return ntok;
}

static inline bool
tok_is(const struct proto_token *t, const char *s, uint32_t n)
{
	return t->len == n && memcmp(t->p, s, n) == 0;
}

#define TOK_IS(t, lit) tok_is((t), (lit), (uint32_t)(sizeof(lit) - 1))

/* isspace() in the C locale. */
static inline bool
is_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * A token as strtoull() reads it: white space, an optional sign, decimal digits. Fails
 * (as memcached's safe_strto*() do) without a digit, on overflow of 64 bits, or when the
 * digits are followed by something other than white space or the token's end.
 */
static bool
scan_number(const struct proto_token *t, bool *neg, uint64_t *mag)
{
	const uint8_t *s = (const uint8_t *)t->p;
	uint32_t n = t->len, i = 0, first;
	bool range = false;

	while (i < n && is_space(s[i]))
		i++;
	*neg = false;
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		*neg = s[i] == '-';
		i++;
	}
	*mag = 0;
	for (first = i; i < n && (unsigned)(s[i] - '0') < 10u; i++) {
		unsigned v = (unsigned)(s[i] - '0');

		if (*mag > (UINT64_MAX - v) / 10)
			range = true;
		else
			*mag = *mag * 10 + v;
	}
	if (i == first || range)
		return false;
	return i == n || is_space(s[i]);
}

/* memcached safe_strtoull(). */
static bool
num_u64(const struct proto_token *t, uint64_t *out)
{
	bool neg;
	uint64_t mag, v;

	if (!scan_number(t, &neg, &mag))
		return false;
	v = neg ? 0 - mag : mag;
	if (v > INT64_MAX && memchr(t->p, '-', t->len) != NULL)
		return false;
	*out = v;
	return true;
}

/* memcached safe_strtoul(): an unsigned long (64 bits) stored in 32 bits. */
static bool
num_u32(const struct proto_token *t, uint32_t *out)
{
	uint64_t v;

	if (!num_u64(t, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* memcached safe_strtol(): a long (64 bits, out of range fails) stored in an int32_t. */
static bool
num_i32(const struct proto_token *t, int32_t *out)
{
	bool neg;
	uint64_t mag;
	uint32_t lo;

	if (!scan_number(t, &neg, &mag))
		return false;
	if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
		return false;
	lo = (uint32_t)(neg ? 0 - mag : mag);
	*out = lo <= INT32_MAX ? (int32_t)lo : (int32_t)(lo - 0x80000000u) - INT32_MAX - 1;
	return true;
}

/* Consume the line and report @p e (nothing to send under noreply). */
static enum proto_parse
line_error(struct text_parser *p, struct proto_input *in, const struct line *l,
	   struct proto_request *req, enum proto_error *err, enum proto_error e, bool noreply)
{
	consume(p, in, l->total);
	req_init(req, PROTO_OP_GET, PROTO_TEXT);
	*err = noreply ? PROTO_ERR_NOREPLY_ONLY : e;
	return PROTO_PARSE_ERROR;
}

static enum proto_parse
unknown(struct text_parser *p, struct proto_input *in, const struct line *l,
	struct proto_request *req, enum proto_error *err)
{
	return line_error(p, in, l, req, err, PROTO_ERR_UNKNOWN_COMMAND, false);
}

/* A data block that does not end in "\r\n" (it has been consumed). */
static enum proto_parse
chunk_error(struct proto_request *req, enum proto_error *err, bool text)
{
	bool hide = text && (req->flags & PROTO_F_NOREPLY) != 0;

	req_init(req, PROTO_OP_GET, text ? PROTO_TEXT : PROTO_META);
	*err = hide ? PROTO_ERR_NOREPLY_ONLY : PROTO_ERR_BAD_CHUNK;
	return PROTO_PARSE_ERROR;
}

/* Drop p->skip bytes, then report p->perr with p->pending. */
static enum proto_parse
swallow(struct text_parser *p, struct proto_input *in, struct proto_request *req,
	enum proto_error *err)
{
	uint64_t avail = proto_input_avail(in);
	uint64_t n = avail < p->skip ? avail : p->skip;

	consume(p, in, n);
	p->skip -= n;
	if (p->skip > 0)
		return PROTO_PARSE_MORE;
	p->state = TEXT_STATE_LINE;
	copy_request(req, &p->pending);
	*err = p->perr;
	return PROTO_PARSE_ERROR;
}

/* Drop the rest of the line, then report p->perr (or go on when it is PROTO_ERR_NONE). */
static int
skip_line(struct text_parser *p, struct proto_input *in, struct proto_request *req,
	  enum proto_error *err)
{
	uint64_t seen = 0; /* set by find_nl() when it returns -1 */
	int64_t d = find_nl(in, 0, UINT64_MAX, &seen);

	if (d < 0) {
		consume(p, in, seen);
		return PROTO_PARSE_MORE;
	}
	consume(p, in, (uint64_t)d + 1);
	p->state = TEXT_STATE_LINE;
	if (p->perr == PROTO_ERR_NONE)
		return GO_ON;
	req_init(req, PROTO_OP_GET, PROTO_TEXT);
	*err = p->perr;
	return PROTO_PARSE_ERROR;
}

/* The cursor is at a data block of which value.len + 2 bytes are in: take it. */
static enum proto_parse
finish_data(struct text_parser *p, struct proto_input *in, struct proto_request *req,
	    enum proto_error *err, bool text)
{
	uint32_t vlen = req->value.len;
	uint8_t a = 0, b = 0;

	proto_input_span(in, vlen, &req->value);
	byte_at(in, vlen, &a);
	byte_at(in, (uint64_t)vlen + 1, &b);
	consume(p, in, (uint64_t)vlen + 2);
	if (a != '\r' || b != '\n')
		return chunk_error(req, err, text);
	return PROTO_PARSE_OK;
}

static inline bool
in_line(const struct line *l, const void *ptr)
{
	uintptr_t a = (uintptr_t)ptr, s = (uintptr_t)l->s;

	return ptr != NULL && a >= s && a <= s + l->raw;
}

/*
 * Move what *req points to in line l (its key, a meta opaque, stats args) into p->line, for a
 * line whose bytes do not stay: one whose data block is awaited (the input may be compacted
 * meanwhile) or one assembled in a buffer of this call. They fit: a key is at most
 * PROTO_KEY_MAX bytes (checked before any request is made), an opaque at most 31, and stats
 * args (a request without a key) at most PROTO_LINE_MAX.
 */
static void
keep_pointers(struct text_parser *p, struct proto_request *req, const struct line *l)
{
	char *at = p->line;

	if (l->s == p->line)
		return;
	if (in_line(l, req->key)) {
		memcpy(at, req->key, req->key_len);
		req->key = at;
		at += req->key_len;
	}
	if (req->kind == PROTO_META && in_line(l, req->meta.opaque)) {
		memcpy(at, req->meta.opaque, req->meta.opaque_len);
		req->meta.opaque = at;
	}
	if (req->kind == PROTO_TEXT && in_line(l, req->args)) {
		memcpy(at, req->args, req->args_len);
		req->args = at;
	}
}

/* Keep a request whose block is awaited: what it points to moves into the parser. */
static void
keep_for_data(struct text_parser *p, struct proto_request *req, const struct line *l, bool text)
{
	keep_pointers(p, req, l);
	copy_request(&p->pending, req);
	p->ptext = text;
}

/* Keep a refused request to report after its block: the key moves into the parser. */
static void
keep_refused(struct text_parser *p, struct proto_request *req, bool text)
{
	if ((req->flags & PROTO_F_KEY_BINARY) == 0 || req->key != (const char *)req->meta.key_bin) {
		uint32_t n =
			req->key_len < sizeof(p->key) ? req->key_len : (uint32_t)sizeof(p->key);

		if (n > 0)
			memcpy(p->key, req->key, n);
		req->key = p->key;
		req->key_len = n;
	}
	req->meta.opaque = NULL;
	req->meta.opaque_len = 0;
	req->args = NULL;
	req->args_len = 0;
	req->value.len = 0;
	req->flags |= PROTO_F_REFUSED;
	copy_request(&p->pending, req);
	p->ptext = text;
}

/* The line of a storage command (text or ms) is parsed into *req: read its data block. */
static enum proto_parse
data_block(struct text_parser *p, struct proto_input *in, const struct line *l,
	   struct proto_request *req, enum proto_error *err, uint32_t vlen, bool text)
{
	uint64_t need = (uint64_t)l->total + vlen + 2;
	const uint8_t *s;
	uint32_t n;

	if ((uint64_t)vlen + 2 > p->item_size_max) {
		bool hide = text && (req->flags & PROTO_F_NOREPLY) != 0;

		keep_refused(p, req, text);
		consume(p, in, l->total);
		p->skip = (uint64_t)vlen + 2;
		p->perr = hide ? PROTO_ERR_NOREPLY_ONLY : PROTO_ERR_TOO_LARGE;
		p->state = TEXT_STATE_SWALLOW;
		return swallow(p, in, req, err);
	}
	s = proto_input_peek(in, &n);
	if (n >= need) {
		const uint8_t *end = s + l->total + vlen;

		req->value.seg = in->cur;
		req->value.off = in->off + l->total;
		req->value.len = vlen;
		consume(p, in, need);
		if (end[0] != '\r' || end[1] != '\n')
			return chunk_error(req, err, text);
		return PROTO_PARSE_OK;
	}
	req->value.len = vlen;
	if (proto_input_avail(in) >= need) {
		consume(p, in, l->total);
		return finish_data(p, in, req, err, text);
	}
	keep_for_data(p, req, l, text);
	consume(p, in, l->total);
	p->state = TEXT_STATE_DATA;
	return PROTO_PARSE_MORE;
}

static int stream(struct text_parser *p, struct proto_input *in, struct proto_request *req,
		  enum proto_error *err);

/* Produce the keys of a get/gat line from the input, as they come (TEXT_STATE_STREAM). */
static int
start_stream(struct text_parser *p, struct proto_input *in, struct proto_request *req,
	     enum proto_error *err, enum proto_op op, uint32_t flags, int32_t exptime)
{
	p->state = TEXT_STATE_STREAM;
	p->kop = op;
	p->kflags = flags;
	p->kexptime = exptime;
	p->kfirst = true;
	p->sreading = false;
	p->sheld = false;
	p->slen = 0;
	return stream(p, in, req, err);
}

/* Produce the next key of a get line read whole: from ktok[], then by scanning from kpos. */
static enum proto_parse
next_key(struct text_parser *p, struct proto_input *in, struct proto_request *req)
{
	const char *s = p->kline;
	const char *key;
	uint32_t klen, pos, end = p->kend;

	req_init(req, p->kop, PROTO_TEXT);
	req->flags = p->kflags | (p->kfirst ? PROTO_F_MULTI_FIRST : 0);
	req->exptime = p->kexptime;
	p->kfirst = false;
	if (p->ki < p->kn) {
		key = p->ktok[p->ki].p;
		klen = p->ktok[p->ki].len;
		p->ki++;
		req->key = key;
		req->key_len = klen;
		if (p->ki < p->kn) {
			p->state = TEXT_STATE_KEYS;
			return PROTO_PARSE_OK;
		}
		pos = (uint32_t)(key + klen - s);
	} else {
		pos = token_end(s, p->kpos, end);
		req->key = s + p->kpos;
		req->key_len = pos - p->kpos;
	}
	while (pos < end && s[pos] == ' ')
		pos++;
	if (pos == end) {
		req->flags |= PROTO_F_MULTI_LAST;
		p->state = TEXT_STATE_LINE;
		consume(p, in, p->ktotal);
	} else {
		p->kpos = pos;
		p->state = TEXT_STATE_KEYS;
	}
	return PROTO_PARSE_OK;
}

/* get/gets/gat/gats/bget: check the whole line, then produce its first key. */
static enum proto_parse
parse_get(struct text_parser *p, struct proto_input *in, const struct line *l,
	  struct proto_request *req, enum proto_error *err, enum proto_op op, uint32_t flags)
{
	const struct proto_token *t = l->tok;
	unsigned first = 1;
	int32_t exptime = 0;

	if (op == PROTO_OP_GAT) {
		if (!num_i32(&t[1], &exptime))
			return line_error(p, in, l, req, err, PROTO_ERR_BAD_EXPTIME, false);
		first = 2;
	}
	/* memcached answers only the error when any key of the line is too long. */
	for (unsigned i = first; i < l->ntok; i++)
		if (t[i].len > PROTO_KEY_MAX)
			return line_error(p, in, l, req, err, PROTO_ERR_KEY_TOO_LONG, false);
	if (l->ntok == NTOK) {
		uint32_t i = (uint32_t)(t[NTOK - 1].p + t[NTOK - 1].len - l->s);

		while (i < l->len) {
			const char *sp;
			uint32_t e;

			if (l->s[i] == ' ') {
				i++;
				continue;
			}
			sp = memchr(l->s + i, ' ', l->len - i);
			e = sp != NULL ? (uint32_t)(sp - l->s) : l->len;
			if (e - i > PROTO_KEY_MAX)
				return line_error(p, in, l, req, err, PROTO_ERR_KEY_TOO_LONG,
						  false);
			i = e;
		}
	}
	if (first >= l->ntok) {
		/* "gat <exptime>" without a key: memcached answers "END". */
		req_init(req, op, PROTO_TEXT);
		req->flags = flags | PROTO_F_MULTI_FIRST | PROTO_F_MULTI_LAST;
		req->key = "";
		req->exptime = exptime;
		consume(p, in, l->total);
		return PROTO_PARSE_OK;
	}
	if (l->transient) {
		/*
		 * The line was checked whole, as memcached does; its bytes go away with this
		 * call, so its keys are taken from the input one at a time (all of it is in).
		 */
		consume(p, in, (uint64_t)(t[first].p - l->s));
		return (enum proto_parse)start_stream(p, in, req, err, op, flags, exptime);
	}
	p->kop = op;
	p->kflags = flags;
	p->kexptime = exptime;
	p->kfirst = true;
	p->kline = l->s;
	p->kend = l->len;
	p->ktotal = l->total;
	p->ki = 0;
	p->kn = (uint8_t)(l->ntok - first);
	memcpy(p->ktok, t + first, sizeof(t[0]) * p->kn);
	return next_key(p, in, req);
}

/* set/add/replace/append/prepend/cas <key> <flags> <exptime> <bytes> [<cas>] [noreply] */
static enum proto_parse
parse_store(struct text_parser *p, struct proto_input *in, const struct line *l,
	    struct proto_request *req, enum proto_error *err, enum proto_mode mode)
{
	const struct proto_token *t = l->tok;
	unsigned want = mode == PROTO_MODE_CAS ? 6 : 5;
	uint32_t flags;
	int32_t exptime, vlen;
	uint64_t cas = 0;
	bool noreply;

	if (l->ntok != want && l->ntok != want + 1)
		return unknown(p, in, l, req, err);
	noreply = TOK_IS(&t[l->ntok - 1], "noreply");
	if (t[1].len > PROTO_KEY_MAX)
		return line_error(p, in, l, req, err, PROTO_ERR_KEY_TOO_LONG, noreply);
	if (!num_u32(&t[2], &flags) || !num_i32(&t[3], &exptime) || !num_i32(&t[4], &vlen) ||
	    (mode == PROTO_MODE_CAS && !num_u64(&t[5], &cas)) || vlen < 0 || vlen > INT32_MAX - 2)
		return line_error(p, in, l, req, err, PROTO_ERR_BAD_FORMAT, noreply);
	req_init(req, PROTO_OP_STORE, PROTO_TEXT);
	req->mode = mode;
	req->flags = noreply ? PROTO_F_NOREPLY : 0;
	req->key = t[1].p;
	req->key_len = t[1].len;
	req->client_flags = flags;
	req->exptime = exptime;
	req->cas = cas;
	return data_block(p, in, l, req, err, (uint32_t)vlen, true);
}

/* Fill the request of a one-key line (the key is token 1) and consume the line. */
static void
keyed_request(struct text_parser *p, struct proto_input *in, const struct line *l,
	      struct proto_request *req, enum proto_op op, uint32_t flags)
{
	req_init(req, op, PROTO_TEXT);
	req->flags = flags;
	req->key = l->tok[1].p;
	req->key_len = l->tok[1].len;
	consume(p, in, l->total);
}

/* incr/decr <key> <delta> [noreply] */
static enum proto_parse
parse_arith(struct text_parser *p, struct proto_input *in, const struct line *l,
	    struct proto_request *req, enum proto_error *err, bool incr)
{
	const struct proto_token *t = l->tok;
	uint64_t delta;
	bool noreply;

	if (l->ntok != 3 && l->ntok != 4)
		return unknown(p, in, l, req, err);
	noreply = TOK_IS(&t[l->ntok - 1], "noreply");
	if (t[1].len > PROTO_KEY_MAX)
		return line_error(p, in, l, req, err, PROTO_ERR_KEY_TOO_LONG, noreply);
	if (!num_u64(&t[2], &delta))
		return line_error(p, in, l, req, err, PROTO_ERR_BAD_DELTA, noreply);
	keyed_request(p, in, l, req, PROTO_OP_ARITH,
		      (noreply ? PROTO_F_NOREPLY : 0) | (incr ? PROTO_F_INCR : 0));
	req->delta = delta;
	return PROTO_PARSE_OK;
}

/* touch <key> <exptime> [noreply] */
static enum proto_parse
parse_touch(struct text_parser *p, struct proto_input *in, const struct line *l,
	    struct proto_request *req, enum proto_error *err)
{
	const struct proto_token *t = l->tok;
	int32_t exptime;
	bool noreply;

	if (l->ntok != 3 && l->ntok != 4)
		return unknown(p, in, l, req, err);
	noreply = TOK_IS(&t[l->ntok - 1], "noreply");
	if (t[1].len > PROTO_KEY_MAX)
		return line_error(p, in, l, req, err, PROTO_ERR_KEY_TOO_LONG, noreply);
	if (!num_i32(&t[2], &exptime))
		return line_error(p, in, l, req, err, PROTO_ERR_BAD_EXPTIME, noreply);
	keyed_request(p, in, l, req, PROTO_OP_TOUCH, noreply ? PROTO_F_NOREPLY : 0);
	req->exptime = exptime;
	return PROTO_PARSE_OK;
}

/* delete <key> [0] [noreply] */
static enum proto_parse
parse_delete(struct text_parser *p, struct proto_input *in, const struct line *l,
	     struct proto_request *req, enum proto_error *err)
{
	const struct proto_token *t = l->tok;
	bool noreply = false;

	if (l->ntok < 2 || l->ntok > 4)
		return unknown(p, in, l, req, err);
	if (l->ntok > 2) {
		bool zero = TOK_IS(&t[2], "0");
		bool valid;

		noreply = TOK_IS(&t[l->ntok - 1], "noreply");
		valid = (l->ntok == 3 && (zero || noreply)) || (l->ntok == 4 && zero && noreply);
		if (!valid)
			return line_error(p, in, l, req, err, PROTO_ERR_DELETE_USAGE, noreply);
	}
	if (t[1].len > PROTO_KEY_MAX)
		return line_error(p, in, l, req, err, PROTO_ERR_KEY_TOO_LONG, noreply);
	keyed_request(p, in, l, req, PROTO_OP_DELETE, noreply ? PROTO_F_NOREPLY : 0);
	return PROTO_PARSE_OK;
}

/* flush_all [delay] [noreply] */
static enum proto_parse
parse_flush(struct text_parser *p, struct proto_input *in, const struct line *l,
	    struct proto_request *req, enum proto_error *err)
{
	const struct proto_token *t = l->tok;
	int32_t delay = 0;
	bool noreply;

	if (l->ntok > 3)
		return unknown(p, in, l, req, err);
	noreply = TOK_IS(&t[l->ntok - 1], "noreply");
	if (l->ntok != (noreply ? 2u : 1u) && !num_i32(&t[1], &delay))
		return line_error(p, in, l, req, err, PROTO_ERR_BAD_EXPTIME, noreply);
	req_init(req, PROTO_OP_FLUSH, PROTO_TEXT);
	req->flags = noreply ? PROTO_F_NOREPLY : 0;
	req->exptime = delay;
	consume(p, in, l->total);
	return PROTO_PARSE_OK;
}

/* verbosity <level> [noreply] */
static enum proto_parse
parse_verbosity(struct text_parser *p, struct proto_input *in, const struct line *l,
		struct proto_request *req, enum proto_error *err)
{
	const struct proto_token *t = l->tok;
	uint32_t level;
	bool noreply;

	if (l->ntok != 2 && l->ntok != 3)
		return unknown(p, in, l, req, err);
	noreply = TOK_IS(&t[l->ntok - 1], "noreply");
	if (!num_u32(&t[1], &level))
		return line_error(p, in, l, req, err, PROTO_ERR_BAD_FORMAT, noreply);
	req_init(req, PROTO_OP_VERBOSITY, PROTO_TEXT);
	req->flags = noreply ? PROTO_F_NOREPLY : 0;
	req->level = level;
	consume(p, in, l->total);
	return PROTO_PARSE_OK;
}

/* stats [args...], lru_crawler [args...]: the rest of the line, for the worker. */
static enum proto_parse
parse_with_args(struct text_parser *p, struct proto_input *in, const struct line *l,
		struct proto_request *req, enum proto_op op)
{
	req_init(req, op, PROTO_TEXT);
	if (l->ntok > 1) {
		uint32_t a = (uint32_t)(l->tok[1].p - l->s), e = l->len;

		while (e > a && l->s[e - 1] == ' ')
			e--;
		req->args = l->tok[1].p;
		req->args_len = e - a < PROTO_LINE_MAX ? e - a : PROTO_LINE_MAX;
	}
	consume(p, in, l->total);
	return PROTO_PARSE_OK;
}

/* version, quit: no arguments looked at. */
static enum proto_parse
parse_bare(struct text_parser *p, struct proto_input *in, const struct line *l,
	   struct proto_request *req, enum proto_op op)
{
	req_init(req, op, PROTO_TEXT);
	consume(p, in, l->total);
	return PROTO_PARSE_OK;
}

/* mg ms md ma mn me: meta.c parses the tokens; an ms data block is read here. */
static enum proto_parse
parse_meta(struct text_parser *p, struct proto_input *in, const struct line *l,
	   struct proto_request *req, enum proto_error *err)
{
	char c = l->tok[0].p[1];
	uint32_t dlen;

	if (c != 'g' && c != 's' && c != 'd' && c != 'a' && c != 'n' && c != 'e')
		return unknown(p, in, l, req, err);
	if (meta_parse_tokens(l->tok, l->ntok, req, err) != 0) {
		enum proto_error e = *err;

		consume(p, in, l->total);
		if (meta_rejected_data_len(req, &dlen)) {
			/* memcached drops the announced block, then reports. */
			req_init(&p->pending, PROTO_OP_GET, PROTO_META);
			p->pending.flags = 0;
			p->ptext = false;
			p->skip = (uint64_t)dlen + 2;
			p->perr = e;
			p->state = TEXT_STATE_SWALLOW;
			return swallow(p, in, req, err);
		}
		req_init(req, PROTO_OP_GET, PROTO_META);
		*err = e;
		return PROTO_PARSE_ERROR;
	}
	if (req->op == PROTO_OP_STORE)
		return data_block(p, in, l, req, err, req->value.len, false);
	consume(p, in, l->total);
	return PROTO_PARSE_OK;
}

/* Recognise the command of a line (memcached's process_command_ascii() order). */
static enum proto_parse
dispatch(struct text_parser *p, struct proto_input *in, const struct line *l,
	 struct proto_request *req, enum proto_error *err)
{
	const struct proto_token *cmd = &l->tok[0];
	const struct proto_token *last;

	if (l->ntok == 0 || cmd->len < 2)
		return unknown(p, in, l, req, err);
	if (cmd->len == 2 && cmd->p[0] == 'm')
		return parse_meta(p, in, l, req, err);
	switch (cmd->p[0]) {
	case 'g':
		if (l->ntok < 2)
			break;
		if (TOK_IS(cmd, "get"))
			return parse_get(p, in, l, req, err, PROTO_OP_GET, 0);
		if (TOK_IS(cmd, "gets"))
			return parse_get(p, in, l, req, err, PROTO_OP_GET, PROTO_F_RETURN_CAS);
		if (TOK_IS(cmd, "gat"))
			return parse_get(p, in, l, req, err, PROTO_OP_GAT, 0);
		if (TOK_IS(cmd, "gats"))
			return parse_get(p, in, l, req, err, PROTO_OP_GAT, PROTO_F_RETURN_CAS);
		break;
	case 's':
		if (TOK_IS(cmd, "set"))
			return parse_store(p, in, l, req, err, PROTO_MODE_SET);
		if (TOK_IS(cmd, "stats"))
			return parse_with_args(p, in, l, req, PROTO_OP_STATS);
		if (TOK_IS(cmd, "shutdown"))
			return parse_with_args(p, in, l, req, PROTO_OP_SHUTDOWN);
		if (TOK_IS(cmd, "snapshot"))
			return parse_with_args(p, in, l, req, PROTO_OP_SNAPSHOT);
		break; /* slabs: not served */
	case 'a':
		if (TOK_IS(cmd, "add"))
			return parse_store(p, in, l, req, err, PROTO_MODE_ADD);
		if (TOK_IS(cmd, "append"))
			return parse_store(p, in, l, req, err, PROTO_MODE_APPEND);
		break;
	case 'c':
		if (TOK_IS(cmd, "cas"))
			return parse_store(p, in, l, req, err, PROTO_MODE_CAS);
		if (TOK_IS(cmd, "config"))
			return parse_with_args(p, in, l, req, PROTO_OP_CONFIG);
		break; /* cache_memlimit: not served */
	case 'i':
		if (TOK_IS(cmd, "incr"))
			return parse_arith(p, in, l, req, err, true);
		break;
	case 'd':
		if (TOK_IS(cmd, "delete"))
			return parse_delete(p, in, l, req, err);
		if (TOK_IS(cmd, "decr"))
			return parse_arith(p, in, l, req, err, false);
		break; /* debugtime: not served */
	case 't':
		if (TOK_IS(cmd, "touch"))
			return parse_touch(p, in, l, req, err);
		break;
	default:
		if (TOK_IS(cmd, "replace"))
			return parse_store(p, in, l, req, err, PROTO_MODE_REPLACE);
		if (TOK_IS(cmd, "prepend"))
			return parse_store(p, in, l, req, err, PROTO_MODE_PREPEND);
		if (TOK_IS(cmd, "bget")) {
			if (l->ntok < 2)
				break;
			return parse_get(p, in, l, req, err, PROTO_OP_GET, 0);
		}
		if (TOK_IS(cmd, "flush_all"))
			return parse_flush(p, in, l, req, err);
		if (TOK_IS(cmd, "version"))
			return parse_bare(p, in, l, req, PROTO_OP_VERSION);
		if (TOK_IS(cmd, "quit"))
			return parse_bare(p, in, l, req, PROTO_OP_QUIT);
		if (TOK_IS(cmd, "verbosity"))
			return parse_verbosity(p, in, l, req, err);
		if (TOK_IS(cmd, "lru_crawler"))
			return parse_with_args(p, in, l, req, PROTO_OP_LRU_CRAWLER);
		if (TOK_IS(cmd, "watch") || TOK_IS(cmd, "lru") ||
		    TOK_IS(cmd, "extstore") || TOK_IS(cmd, "refresh_certs") ||
		    TOK_IS(cmd, "misbehave"))
			break; /* known to memcached, not served */
		/* memcached closes on what looks like an HTTP request line. */
		last = &l->tok[l->ntok - 1];
		if (last->len >= 5 && memcmp(last->p, "HTTP/", 5) == 0) {
			consume(p, in, l->total);
			req_init(req, PROTO_OP_GET, PROTO_TEXT);
			return PROTO_PARSE_CLOSE;
		}
		break;
	}
	return unknown(p, in, l, req, err);
}

/*
 * Produce the keys of a streamed get line as they arrive. A key is produced once what follows
 * it is known (another key, or the end of the line for PROTO_F_MULTI_LAST); keys are copied
 * into p->key, as they may straddle segments.
 */
static int
stream(struct text_parser *p, struct proto_input *in, struct proto_request *req,
       enum proto_error *err)
{
	for (;;) {
		const uint8_t *s;
		uint32_t n, i;
		uint8_t c, c2;
		bool end = false, nul = false;
		uint32_t eat = 0;

		if (p->sreading) {
			s = proto_input_peek(in, &n);
			if (n == 0)
				return PROTO_PARSE_MORE;
			for (i = 0; i < n && s[i] != ' ' && s[i] != '\n' && s[i] != '\0'; i++)
				;
			if (i > 0) {
				if (p->slen < sizeof(p->key)) {
					uint32_t room = (uint32_t)sizeof(p->key) - p->slen;

					memcpy(p->key + p->slen, s, i < room ? i : room);
				}
				if (p->slen > sizeof(p->key) || i > sizeof(p->key) - p->slen)
					p->slen = (uint32_t)sizeof(p->key) + 1; /* too long */
				else
					p->slen += i;
				p->slast = s[i - 1];
				consume(p, in, i);
			}
			if (i == n)
				continue;
			/* The "\r" of a "\r\n" ending the line is not part of the key. */
			if (s[i] == '\n' && p->slast == '\r')
				p->slen--;
			p->sreading = false;
			if (p->slen > PROTO_KEY_MAX) {
				p->state = TEXT_STATE_SKIP;
				p->perr = PROTO_ERR_KEY_TOO_LONG;
				return skip_line(p, in, req, err);
			}
			p->sheld = true;
		}
		/* Between tokens: what comes after the spaces? */
		s = proto_input_peek(in, &n);
		while (n > 0 && s[0] == ' ') {
			for (i = 0; i < n && s[i] == ' '; i++)
				;
			consume(p, in, i);
			s = proto_input_peek(in, &n);
		}
		if (n == 0)
			return PROTO_PARSE_MORE;
		c = s[0];
		if (c == '\n') {
			end = true;
			eat = 1;
		} else if (c == '\r') {
			if (!byte_at(in, 1, &c2))
				return PROTO_PARSE_MORE;
			if (c2 == '\n') {
				end = true;
				eat = 2;
			}
		} else if (c == '\0') {
			nul = true; /* the line's text ends here; the rest is dropped */
		}
		if (p->sheld) {
			p->sheld = false;
			req_init(req, p->kop, PROTO_TEXT);
			req->flags = p->kflags | (p->kfirst ? PROTO_F_MULTI_FIRST : 0) |
				     (end || nul ? PROTO_F_MULTI_LAST : 0);
			req->exptime = p->kexptime;
			req->key = p->key;
			req->key_len = p->slen;
			p->kfirst = false;
			if (end) {
				consume(p, in, eat);
				p->state = TEXT_STATE_LINE;
			} else if (nul) {
				p->state = TEXT_STATE_SKIP;
				p->perr = PROTO_ERR_NONE;
			}
			return PROTO_PARSE_OK;
		}
		if (end || nul) {
			/* "get" and no key: memcached's token count check answers "ERROR". */
			p->state = TEXT_STATE_SKIP;
			p->perr = PROTO_ERR_UNKNOWN_COMMAND;
			return skip_line(p, in, req, err);
		}
		p->sreading = true;
		p->slen = 0;
	}
}

/*
 * Whether the line at the cursor is one memcached lets grow past its read buffer: "get " or
 * "gets " after at most TEXT_GET_LEAD_MAX spaces. @return the length of that prefix (*cas
 * set for gets), or 0.
 */
static uint32_t
long_get_prefix(const struct proto_input *in, bool *cas)
{
	char head[TEXT_GET_LEAD_MAX + 6];
	uint32_t n = proto_input_copy(in, head, sizeof(head)), i = 0;

	while (i < n && head[i] == ' ')
		i++;
	if (i > TEXT_GET_LEAD_MAX)
		return 0;
	*cas = n - i >= 5 && memcmp(head + i, "gets ", 5) == 0;
	if (*cas)
		return i + 5;
	return n - i >= 4 && memcmp(head + i, "get ", 4) == 0 ? i + 4 : 0;
}

/* A line without "\n" in its first LINE_SCAN bytes: a streamed get, or close. */
static int
long_line(struct text_parser *p, struct proto_input *in, struct proto_request *req,
	  enum proto_error *err)
{
	bool cas = false;
	uint32_t prefix = long_get_prefix(in, &cas);

	if (prefix == 0) {
		req_init(req, PROTO_OP_GET, PROTO_TEXT);
		return PROTO_PARSE_CLOSE;
	}
	consume(p, in, prefix);
	return start_stream(p, in, req, err, PROTO_OP_GET, cas ? PROTO_F_RETURN_CAS : 0, 0);
}

/* Split line l (s and raw set) into tokens and dispatch it. */
static int
run_line(struct text_parser *p, struct proto_input *in, struct line *l, struct proto_request *req,
	 enum proto_error *err)
{
	l->total = l->raw + 1;
	l->len = l->raw;
	if (l->len > 1 && l->s[l->len - 1] == '\r')
		l->len--;
	l->ntok = tokenize(l->s, &l->len, l->tok);
	return dispatch(p, in, l, req, err);
}

/*
 * A line of @p raw bytes (and its "\n") that straddles segments and is longer than p->line:
 * read it from a copy made for this call; what the request keeps moves into the parser (a get
 * line's keys are then produced from the input).
 */
static int
run_assembled_line(struct text_parser *p, struct proto_input *in, uint32_t raw,
		   struct proto_request *req, enum proto_error *err)
{
	struct line l = {.raw = raw, .transient = true};
	char *buf = malloc(raw);
	int rc;

	if (buf == NULL) {
		req_init(req, PROTO_OP_GET, PROTO_TEXT);
		return PROTO_PARSE_CLOSE; /* as memcached when it cannot grow its buffer */
	}
	proto_input_copy(in, buf, raw);
	l.s = buf;
	rc = run_line(p, in, &l, req, err);
	if (rc == PROTO_PARSE_OK || rc == PROTO_PARSE_ERROR)
		keep_pointers(p, req, &l);
	free(buf);
	return rc;
}

/* Read the command line at the cursor and dispatch it. */
static int
parse_line(struct text_parser *p, struct proto_input *in, struct proto_request *req,
	   enum proto_error *err)
{
	struct line l = {.transient = false};
	const uint8_t *s, *nl;
	uint32_t n;

	s = proto_input_peek(in, &n);
	if (n == 0)
		return PROTO_PARSE_MORE;
	nl = memchr(s, '\n', n < LINE_SCAN ? n : LINE_SCAN);
	if (nl != NULL) {
		const char *key;
		uint32_t klen;

		/*
		 * The most common line, one plain get: read as tokenize() and parse_get() would
		 * read it (test_single_get checks they agree), without them.
		 */
		if (text_single_get_key((const char *)s, (uint32_t)(nl - s) + 1, &key, &klen)) {
			text_single_get_req(req, key, klen);
			consume(p, in, (uint64_t)(nl - s) + 1);
			return PROTO_PARSE_OK;
		}
		l.s = (const char *)s;
		l.raw = (uint32_t)(nl - s);
	} else if (n >= LINE_SCAN) {
		return long_line(p, in, req, err);
	} else {
		/* The line goes on in later segments. */
		uint64_t seen = 0; /* set by find_nl() when it returns -1 */
		int64_t d = find_nl(in, n > p->scanned ? n : p->scanned, LINE_SCAN, &seen);

		if (d < 0) {
			if (seen >= LINE_SCAN)
				return long_line(p, in, req, err);
			p->scanned = (uint32_t)seen;
			return PROTO_PARSE_MORE;
		}
		if ((uint64_t)d > sizeof(p->line))
			return run_assembled_line(p, in, (uint32_t)d, req, err);
		proto_input_copy(in, p->line, (uint32_t)d);
		l.s = p->line;
		l.raw = (uint32_t)d;
	}
	return run_line(p, in, &l, req, err);
}

bool
text_parser_line_stalled(const struct text_parser *p, const struct proto_input *in)
{
	uint64_t avail;
	bool cas;

	if (p->state != TEXT_STATE_LINE)
		return false;
	avail = proto_input_avail(in);
	if (avail <= PROTO_LINE_MAX || proto_input_find(in, '\n', avail) >= 0)
		return false;
	return long_get_prefix(in, &cas) == 0;
}

/** The little-endian 64-bit word at @p s (any alignment): its first byte is the lowest. */
static inline uint64_t
load_le64(const char *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/**
 * How many of the @p n bytes at @p s, from the first, are printable ASCII other than space
 * ('!'..'~'), stopping at the first byte that is not. With SSE2,
 * 16 bytes a step; then 8 (SWAR): the lowest flagged byte of a word is exact (a borrow or
 * carry starts only at a flagged byte and runs upwards), so the word is read little-endian
 * on any machine.
 */
static inline uint32_t
printable_span(const char *s, uint32_t n)
{
	const uint64_t ones = 0x0101010101010101ull, highs = ones << 7;
	uint32_t i = 0;

#ifdef __SSE2__
	/* 16 bytes a step: as signed bytes, printable is above ' ' and below DEL (0x80.. < 0). */
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(' ')),
					   _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
		unsigned bad = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu;

		if (bad != 0)
			return i + (uint32_t)__builtin_ctz(bad);
	}
#endif
	for (; i + 8 <= n; i += 8) {
		uint64_t v = load_le64(s + i), flagged;

		flagged =
			((v - ones * '!') & ~v & highs) | (((v + ones * (127 - '~')) | v) & highs);
		if (flagged != 0)
			return i + (uint32_t)__builtin_ctzll(flagged) / 8;
	}
	while (i < n && (unsigned char)(s[i] - '!') <= '~' - '!')
		i++;
	return i;
}

unsigned
text_get_keys(const char *s, uint32_t len, struct proto_key_ref *keys, unsigned max)
{
	uint32_t end, pos = 4;
	unsigned n = 0;

	if (len < sizeof("get k\n") - 1 || memcmp(s, "get ", 4) != 0 || s[len - 1] != '\n')
		return 0;
	end = len - 1;
	if (s[end - 1] == '\r')
		end--;
	for (;;) {
		/* No further than one byte past the longest key: a longer one is refused anyway. */
		uint32_t left = end - pos < PROTO_KEY_MAX + 1 ? end - pos : PROTO_KEY_MAX + 1;
		uint32_t klen = printable_span(s + pos, left);

		/* A key as the tokenizer cuts it, one space before the next: else the parser reads it. */
		if (klen == 0 || klen > PROTO_KEY_MAX || n == max)
			return 0;
		keys[n].key = s + pos;
		keys[n].len = klen;
		n++;
		pos += klen;
		if (pos == end)
			return n;
		if (s[pos] != ' ')
			return 0;
		pos++;
	}
}

bool
text_single_get_key(const char *s, uint32_t len, const char **key, uint32_t *key_len)
{
	struct proto_key_ref ref;

	if (text_get_keys(s, len, &ref, 1) != 1)
		return false;
	*key = ref.key;
	*key_len = ref.len;
	return true;
}

void
text_single_get_req(struct proto_request *req, const char *key, uint32_t key_len)
{
	struct proto_key_ref ref = {key, key_len};

	text_get_key_req(req, &ref, 0, 1);
}

bool
text_single_get(const char *s, uint32_t len, struct proto_request *req)
{
	const char *key;
	uint32_t klen;

	if (!text_single_get_key(s, len, &key, &klen))
		return false;
	text_single_get_req(req, key, klen);
	return true;
}

void
text_parser_init(struct text_parser *p, uint32_t item_size_max)
{
	memset(p, 0, offsetof(struct text_parser, ktok));
	p->state = TEXT_STATE_LINE;
	p->item_size_max = item_size_max != 0 ? item_size_max : TEXT_ITEM_SIZE_MAX_DEFAULT;
	p->perr = PROTO_ERR_NONE;
}

enum proto_parse
text_parse(struct text_parser *p, struct proto_input *in, struct proto_request *req,
	   enum proto_error *err)
{
	int rc;

	*err = PROTO_ERR_NONE;
	switch (p->state) {
	case TEXT_STATE_KEYS:
		return next_key(p, in, req);
	case TEXT_STATE_STREAM:
		rc = stream(p, in, req, err);
		break;
	case TEXT_STATE_DATA:
		if (proto_input_avail(in) < (uint64_t)p->pending.value.len + 2)
			return PROTO_PARSE_MORE;
		copy_request(req, &p->pending);
		p->state = TEXT_STATE_LINE;
		return finish_data(p, in, req, err, p->ptext);
	case TEXT_STATE_SWALLOW:
		rc = swallow(p, in, req, err);
		break;
	case TEXT_STATE_SKIP:
		rc = skip_line(p, in, req, err);
		break;
	case TEXT_STATE_LINE:
	default:
		rc = GO_ON;
		break;
	}
	if (rc == GO_ON)
		rc = parse_line(p, in, req, err);
	if (rc == PROTO_PARSE_MORE)
		*err = PROTO_ERR_NONE; /* e.g. a rejected ms whose block is still being dropped */
	return (enum proto_parse)rc;
}
