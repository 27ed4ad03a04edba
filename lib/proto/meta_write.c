/* SPDX-License-Identifier: BSD-3-Clause */
/* Meta replies: struct proto_request + struct proto_result -> memcached's bytes (see meta.h). */
#include "proto/meta.h"

#include <errno.h>
#include <string.h>

#include "core/decimal.h"
#include "core/base64.h"

/*
 * Longest status line: "VA" and a 32-bit size, s t c f l h O k with their values (k in base64
 * and " b" at most 252 bytes, O at most 33), " Z X W", "\r\n": about 400 bytes; "ME" lines
 * are shorter.
 */
#define META_LINE_MAX 512

/* A status line being formatted; a line that would not fit marks itself bad. */
struct line {
	uint32_t n;
	bool bad;
	char b[META_LINE_MAX];
};

static void
put(struct line *l, const void *p, uint32_t n)
{
	if (n > sizeof(l->b) - l->n) {
		l->bad = true;
		return;
	}
	memcpy(l->b + l->n, p, n);
	l->n += n;
}

static void
put_str(struct line *l, const char *s)
{
	put(l, s, (uint32_t)strlen(s));
}

static void
put_u64(struct line *l, uint64_t v)
{
	char tmp[NC_DECIMAL_U64_MAX];

	put(l, tmp, nc_decimal_u64(tmp, v));
}

static void
put_i64(struct line *l, int64_t v)
{
	if (v < 0) {
		put(l, "-", 1);
		put_u64(l, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(l, (uint64_t)v);
	}
}

/* " <c><unsigned>" */
static void
put_flag_u64(struct line *l, char c, uint64_t v)
{
	char f[2] = {' ', c};

	put(l, f, 2);
	put_u64(l, v);
}

/* A TTL as memcached shows it: -1 for "never expires". */
static void
put_ttl(struct line *l, int64_t ttl)
{
	put_i64(l, ttl < 0 ? -1 : ttl);
}

/* The key: raw, or re-encoded in base64 when it came in with b. */
static void
put_key_text(struct line *l, const struct proto_request *req)
{
	if (req->flags & PROTO_F_KEY_BINARY) {
		int64_t n = nc_base64_encode(req->key, req->key_len, l->b + l->n,
						sizeof(l->b) - l->n);

		if (n < 0)
			l->bad = true;
		else
			l->n += (uint32_t)n;
	} else {
		put(l, req->key, req->key_len);
	}
}

/* " k<key>", and " b" after a base64 key (memcached's META_KEY). */
static void
put_key_flag(struct line *l, const struct proto_request *req)
{
	put(l, " k", 2);
	put_key_text(l, req);
	if (req->flags & PROTO_F_KEY_BINARY)
		put(l, " b", 2);
}

static void
put_opaque(struct line *l, const struct proto_request *req)
{
	put(l, " O", 2);
	put(l, req->meta.opaque, req->meta.opaque_len);
}

/* The return flags every reply echoes (O and k), in request order. */
static void
put_echo_flags(struct line *l, const struct proto_request *req)
{
	for (unsigned i = 0; i < PROTO_META_RET_MAX && req->meta.ret[i] != 0; i++) {
		if (req->meta.ret[i] == 'O')
			put_opaque(l, req);
		else if (req->meta.ret[i] == 'k')
			put_key_flag(l, req);
	}
}

static bool
has(const struct proto_request *req, char c)
{
	return (req->meta.flags & PROTO_META_BIT(c)) != 0;
}

/* Append a formatted line (and an optional value with its "\r\n"), whole or not at all. */
static int
emit(struct proto_out *out, const struct line *l, const struct proto_result *value)
{
	struct proto_out_mark m;
	int rc;

	if (l->bad)
		return -EINVAL;
	proto_out_mark(out, &m);
	rc = proto_out_copy(out, l->b, l->n);
	if (rc == 0 && value != NULL) {
		rc = proto_out_result_value(out, value);
		if (rc == 0)
			rc = proto_out_copy(out, "\r\n", 2);
	}
	if (rc != 0)
		return proto_out_rewind(out, &m);
	return 0;
}

static int
emit_line(struct proto_out *out, struct line *l)
{
	put(l, "\r\n", 2);
	return emit(out, l, NULL);
}

/* A fixed reply ("MN", "EN", an error line). */
static int
emit_str(struct proto_out *out, const char *s)
{
	struct line l = {0};

	put_str(&l, s);
	return emit_line(out, &l);
}

static int
write_mg(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	struct line l = {0};
	bool value;

	if (res->status == PROTO_ST_MISS) {
		if (has(req, 'q'))
			return 0;
		put(&l, "EN", 2);
		put_echo_flags(&l, req);
		return emit_line(out, &l);
	}
	if (res->status != PROTO_ST_HIT)
		return -EINVAL;

	/* memcached 1.6: a C that matches the item's cas means "I have this value already". */
	value = has(req, 'v') && !(has(req, 'C') && res->cas == req->cas);
	if (value) {
		put(&l, "VA ", 3);
		put_u64(&l, res->value_len);
	} else {
		put(&l, "HD", 2);
	}
	for (unsigned i = 0; i < PROTO_META_RET_MAX && req->meta.ret[i] != 0; i++) {
		switch (req->meta.ret[i]) {
		case 's':
			put_flag_u64(&l, 's', res->value_len);
			break;
		case 't':
			put(&l, " t", 2);
			put_ttl(&l, res->ttl_left);
			break;
		case 'c':
			put_flag_u64(&l, 'c', res->cas);
			break;
		case 'f':
			put_flag_u64(&l, 'f', res->client_flags);
			break;
		case 'l':
			put(&l, " l", 2);
			put_i64(&l, res->last_access);
			break;
		case 'h':
			put_str(&l, res->hit_before ? " h1" : " h0");
			break;
		case 'O':
			put_opaque(&l, req);
			break;
		case 'k':
			put_key_flag(&l, req);
			break;
		default:
			break;
		}
	}
	/* memcached's order: Z (a token was sent already), X (stale), W (this client won). */
	if (res->won_already)
		put(&l, " Z", 2);
	if (res->stale)
		put(&l, " X", 2);
	if (res->win)
		put(&l, " W", 2);
	put(&l, "\r\n", 2);
	return emit(out, &l, value ? res : NULL);
}

static int
write_ms(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	struct line l = {0};

	switch (res->status) {
	case PROTO_ST_STORED:
		if (has(req, 'q'))
			return 0;
		put(&l, "HD", 2);
		break;
	case PROTO_ST_NOT_STORED:
		put(&l, "NS", 2);
		break;
	case PROTO_ST_EXISTS:
		put(&l, "EX", 2);
		break;
	case PROTO_ST_NOT_FOUND:
		put(&l, "NF", 2);
		break;
	case PROTO_ST_TOO_LARGE:
		return emit_str(out, "SERVER_ERROR object too large for cache");
	case PROTO_ST_NO_MEMORY:
		return emit_str(out, "SERVER_ERROR out of memory storing object");
	default:
		return -EINVAL;
	}
	for (unsigned i = 0; i < PROTO_META_RET_MAX && req->meta.ret[i] != 0; i++) {
		switch (req->meta.ret[i]) {
		case 'O':
			put_opaque(&l, req);
			break;
		case 'k':
			put_key_flag(&l, req);
			break;
		case 'c':
			put_flag_u64(&l, 'c', res->cas);
			break;
		case 's':
			/* The item's size after append/prepend, else the size sent. */
			put_flag_u64(&l, 's',
				     res->value_len != 0 ? res->value_len : req->value.len);
			break;
		default:
			break;
		}
	}
	return emit_line(out, &l);
}

static int
write_md(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	struct line l = {0};

	switch (res->status) {
	case PROTO_ST_DELETED:
	case PROTO_ST_OK:
		if (has(req, 'q'))
			return 0;
		put(&l, "HD", 2);
		break;
	case PROTO_ST_NOT_FOUND:
	case PROTO_ST_MISS:
		put(&l, "NF", 2);
		break;
	case PROTO_ST_EXISTS:
		put(&l, "EX", 2);
		break;
	case PROTO_ST_NOT_STORED:
		put(&l, "NS", 2);
		break;
	case PROTO_ST_NO_MEMORY:
		return emit_str(out, "SERVER_ERROR out of memory");
	default:
		return -EINVAL;
	}
	put_echo_flags(&l, req);
	return emit_line(out, &l);
}

static int
write_ma(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	struct line l = {0};
	struct line num = {0};
	bool value;

	switch (res->status) {
	case PROTO_ST_NUMBER:
		break;
	case PROTO_ST_NOT_FOUND:
	case PROTO_ST_MISS:
		put(&l, "NF", 2);
		put_echo_flags(&l, req);
		return emit_line(out, &l);
	case PROTO_ST_EXISTS:
		put(&l, "EX", 2);
		put_echo_flags(&l, req);
		return emit_line(out, &l);
	case PROTO_ST_NOT_STORED:
		put(&l, "NS", 2);
		put_echo_flags(&l, req);
		return emit_line(out, &l);
	case PROTO_ST_NON_NUMERIC:
		return emit_str(out,
				"CLIENT_ERROR cannot increment or decrement non-numeric value");
	case PROTO_ST_NO_MEMORY:
		return emit_str(out, "SERVER_ERROR out of memory");
	default:
		return -EINVAL;
	}

	if (has(req, 'q'))
		return 0;
	value = has(req, 'v');
	put_u64(&num, res->number);
	if (value) {
		put(&l, "VA ", 3);
		put_u64(&l, num.n);
	} else {
		put(&l, "HD", 2);
	}
	for (unsigned i = 0; i < PROTO_META_RET_MAX && req->meta.ret[i] != 0; i++) {
		switch (req->meta.ret[i]) {
		case 'c':
			put_flag_u64(&l, 'c', res->cas);
			break;
		case 't':
			put(&l, " t", 2);
			put_ttl(&l, res->ttl_left);
			break;
		case 'O':
			put_opaque(&l, req);
			break;
		case 'k':
			put_key_flag(&l, req);
			break;
		default:
			break;
		}
	}
	if (value) {
		put(&l, "\r\n", 2);
		put(&l, num.b, num.n);
	}
	return emit_line(out, &l);
}

static int
write_me(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	struct line l = {0};

	if (res->status == PROTO_ST_MISS || res->status == PROTO_ST_NOT_FOUND)
		return emit_str(out, "EN");
	if (res->status != PROTO_ST_HIT)
		return -EINVAL;
	put(&l, "ME ", 3);
	put_key_text(&l, req);
	put(&l, " exp=", 5);
	put_ttl(&l, res->ttl_left);
	put(&l, " la=", 4);
	put_i64(&l, res->last_access);
	put(&l, " cas=", 5);
	put_u64(&l, res->cas);
	put_str(&l, res->hit_before ? " fetch=yes" : " fetch=no");
	put(&l, " cls=", 5);
	put_u64(&l, res->item_class);
	put(&l, " size=", 6);
	put_u64(&l, res->item_size);
	return emit_line(out, &l);
}

int
meta_write(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	if (req->kind != PROTO_META)
		return -EINVAL;
	if (res->status == PROTO_ST_NOT_REPLICATED || res->status == PROTO_ST_NO_PRIMARY) {
		if (req->op != PROTO_OP_STORE && req->op != PROTO_OP_DELETE &&
		    req->op != PROTO_OP_ARITH)
			return -EINVAL;
		return emit_str(out, res->status == PROTO_ST_NOT_REPLICATED
					     ? "SERVER_ERROR replication quorum not reached"
					     : "SERVER_ERROR no answer from the key's primary");
	}
	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		return write_mg(out, req, res);
	case PROTO_OP_STORE:
		return write_ms(out, req, res);
	case PROTO_OP_DELETE:
		return write_md(out, req, res);
	case PROTO_OP_ARITH:
		return write_ma(out, req, res);
	case PROTO_OP_NOOP:
		return emit_str(out, "MN");
	case PROTO_OP_DEBUG:
		return write_me(out, req, res);
	default:
		return -EINVAL;
	}
}

int
meta_write_error(struct proto_out *out, enum proto_error err)
{
	const char *s = proto_error_reply(err);

	if (s[0] == '\0')
		return 0;
	return emit_str(out, s);
}
