/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached text protocol: the response writer (replies as memcached 1.6 words them).
 * Every reply is appended whole or not at all: the output is marked first and restored when
 * an append does not fit.
 */
#include "proto/text.h"

#include <errno.h>
#include <string.h>

#include "core/decimal.h"

/* One line: @p s and "\r\n". */
static int
put_line(struct proto_out *out, const char *s)
{
	char buf[128];
	size_t n = strlen(s);
	struct proto_out_mark m;

	if (n + 2 <= sizeof(buf)) {
		memcpy(buf, s, n);
		memcpy(buf + n, "\r\n", 2);
		return proto_out_copy(out, buf, (uint32_t)n + 2);
	}
	proto_out_mark(out, &m);
	if (proto_out_copy(out, s, (uint32_t)n) < 0 || proto_out_copy(out, "\r\n", 2) < 0)
		return proto_out_rewind(out, &m);
	return 0;
}

/*
 * memcpy() for the short copies of a get reply (keys, small values) without the call: up to
 * 32 bytes as two overlapping moves (copy_ends: the first and the last @p w bytes, w a
 * constant once inlined) of the largest width that fits, else memcpy(). Always inlined: GCC
 * otherwise makes it a call of its own, the call it is here to save.
 */
static inline void
copy_ends(char *d, const char *s, uint32_t n, size_t w)
{
	char a[16], b[16];

	memcpy(a, s, w);
	memcpy(b, s + n - w, w);
	memcpy(d, a, w);
	memcpy(d + n - w, b, w);
}

static inline __attribute__((always_inline)) void
copy_short(char *d, const void *src, uint32_t n)
{
	const char *s = src;

	if (n > 32)
		memcpy(d, s, n);
	else if (n >= 16)
		copy_ends(d, s, n, 16);
	else if (n >= 8)
		copy_ends(d, s, n, 8);
	else if (n >= 4)
		copy_ends(d, s, n, 4);
	else
		for (uint32_t i = 0; i < n; i++)
			d[i] = s[i];
}

/* Longest "VALUE " key " " flags " " bytes " " cas "\r\n" for a key of @p klen bytes. */
#define GET_HDR_MAX(klen) (6 + (klen) + 1 + 10 + 1 + 10 + 1 + 20 + 2)

int
text_write_get(struct proto_out *out, const struct proto_request *req,
	       const struct proto_result *res)
{
	bool last = (req->flags & PROTO_F_MULTI_LAST) != 0;
	uint32_t vlen = res->value_len;
	/* A value in one piece that the output copies: header, value and trailer in one go. */
	bool whole = (res->value_seg_len == 0 || res->value_seg_len == vlen) &&
		     (out->copy_values || vlen <= out->copy_max);
	struct proto_out_mark m;
	char *start, *d;

	if (res->status != PROTO_ST_HIT || req->key_len == 0)
		return last ? proto_out_copy(out, "END\r\n", 5) : 0;
	if (req->key_len > PROTO_KEY_MAX)
		return -EINVAL;
	/*
	 * The reply is formatted in the output itself. Nothing is appended until the commit:
	 * a reservation that fails leaves the output as it was (overflow set).
	 */
	start = d =
		(char *)proto_out_reserve(out, GET_HDR_MAX(req->key_len) + (whole ? vlen + 7 : 0));
	if (d == NULL)
		return -ENOBUFS;
	memcpy(d, "VALUE ", 6);
	d += 6;
	copy_short(d, req->key, req->key_len);
	d += req->key_len;
	*d++ = ' ';
	d += nc_decimal_u64(d, res->client_flags);
	*d++ = ' ';
	d += nc_decimal_u64(d, vlen);
	if ((req->flags & PROTO_F_RETURN_CAS) != 0) {
		*d++ = ' ';
		d += nc_decimal_u64(d, res->cas);
	}
	*d++ = '\r';
	*d++ = '\n';
	if (whole) {
		copy_short(d, res->value, vlen);
		d += vlen;
		memcpy(d, last ? "\r\nEND\r\n" : "\r\n\0\0\0\0\0", 7);
		d += last ? 7 : 2;
		proto_out_commit(out, (uint32_t)(d - start));
		return 0;
	}
	proto_out_mark(out, &m); /* (the header line is taken back should the value not fit) */
	proto_out_commit(out, (uint32_t)(d - start));
	if (proto_out_result_value(out, res) < 0)
		return proto_out_rewind(out, &m);
	d = (char *)proto_out_reserve(out, 7);
	if (d == NULL)
		return proto_out_rewind(out, &m);
	memcpy(d, last ? "\r\nEND\r\n" : "\r\n\0\0\0\0\0", 7);
	proto_out_commit(out, last ? 7 : 2);
	return 0;
}

/* STATS: "STAT <name> <value>" lines and "END". */
static int
write_stats(struct proto_out *out, const struct proto_result *res)
{
	struct proto_out_mark m;

	proto_out_mark(out, &m);
	for (uint32_t i = 0; i < res->nstats; i++) {
		const char *name = res->stats[i].name != NULL ? res->stats[i].name : "";
		const char *value = res->stats[i].value != NULL ? res->stats[i].value : "";

		if (proto_out_copy(out, "STAT ", 5) < 0 || proto_out_str(out, name) < 0 ||
		    proto_out_copy(out, " ", 1) < 0 || proto_out_str(out, value) < 0 ||
		    proto_out_copy(out, "\r\n", 2) < 0)
			return proto_out_rewind(out, &m);
	}
	if (proto_out_copy(out, "END\r\n", 5) < 0)
		return proto_out_rewind(out, &m);
	return 0;
}

/* The replies to a write the cluster could not apply (any write op). */
#define NOT_REPLICATED_LINE "SERVER_ERROR replication quorum not reached"
#define NO_PRIMARY_LINE "SERVER_ERROR no answer from the key's primary"

/* The reply line of a non-get request, or NULL when the status does not belong to the op. */
static const char *
status_line(const struct proto_request *req, enum proto_status st)
{
	if (st == PROTO_ST_NOT_REPLICATED || st == PROTO_ST_NO_PRIMARY) {
		if (req->op != PROTO_OP_STORE && req->op != PROTO_OP_DELETE &&
		    req->op != PROTO_OP_TOUCH && req->op != PROTO_OP_ARITH)
			return NULL;
		return st == PROTO_ST_NOT_REPLICATED ? NOT_REPLICATED_LINE : NO_PRIMARY_LINE;
	}
	switch (req->op) {
	case PROTO_OP_STORE:
		switch (st) {
		case PROTO_ST_STORED:
			return "STORED";
		case PROTO_ST_NOT_STORED:
			return "NOT_STORED";
		case PROTO_ST_EXISTS:
			return "EXISTS";
		case PROTO_ST_NOT_FOUND:
			return "NOT_FOUND";
		case PROTO_ST_TOO_LARGE:
			return "SERVER_ERROR object too large for cache";
		case PROTO_ST_NO_MEMORY:
			return "SERVER_ERROR out of memory storing object";
		default:
			return NULL;
		}
	case PROTO_OP_DELETE:
		return st == PROTO_ST_DELETED	? "DELETED" :
		       st == PROTO_ST_NOT_FOUND ? "NOT_FOUND" :
						  NULL;
	case PROTO_OP_TOUCH:
		return st == PROTO_ST_TOUCHED	? "TOUCHED" :
		       st == PROTO_ST_NOT_FOUND ? "NOT_FOUND" :
						  NULL;
	case PROTO_OP_ARITH:
		switch (st) {
		case PROTO_ST_NOT_FOUND:
			return "NOT_FOUND";
		case PROTO_ST_NON_NUMERIC:
			return "CLIENT_ERROR cannot increment or decrement non-numeric value";
		case PROTO_ST_NO_MEMORY:
			return "SERVER_ERROR out of memory";
		default:
			return NULL;
		}
	case PROTO_OP_FLUSH:
	case PROTO_OP_VERBOSITY:
		return st == PROTO_ST_OK ? "OK" : NULL;
	default:
		return NULL;
	}
}

int
text_write(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	bool noreply = (req->flags & PROTO_F_NOREPLY) != 0;
	const char *line;

	if (req->kind != PROTO_TEXT)
		return -EINVAL;
	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		return text_write_get(out, req, res);
	case PROTO_OP_QUIT:
		return 0;
	case PROTO_OP_VERSION: {
		const char *text = res->text != NULL ? res->text : "";
		struct proto_out_mark m;

		if (res->status != PROTO_ST_VERSION)
			return -EINVAL;
		if (noreply)
			return 0;
		proto_out_mark(out, &m);
		if (proto_out_copy(out, "VERSION ", 8) < 0 || proto_out_str(out, text) < 0 ||
		    proto_out_copy(out, "\r\n", 2) < 0)
			return proto_out_rewind(out, &m);
		return 0;
	}
	case PROTO_OP_STATS:
		if (res->status != PROTO_ST_STATS && res->status != PROTO_ST_OK)
			return -EINVAL;
		if (noreply)
			return 0;
		return res->status == PROTO_ST_STATS ? write_stats(out, res) :
						       put_line(out, "RESET");
	case PROTO_OP_ARITH:
		if (res->status == PROTO_ST_NUMBER) {
			char num[22];
			unsigned n;

			if (noreply)
				return 0;
			n = nc_decimal_u64(num, res->number);
			memcpy(num + n, "\r\n", 2);
			return proto_out_copy(out, num, n + 2);
		}
		break;
	default:
		break;
	}
	line = status_line(req, res->status);
	if (line == NULL)
		return -EINVAL;
	return noreply ? 0 : put_line(out, line);
}

int
text_write_error(struct proto_out *out, enum proto_error err)
{
	const char *s = proto_error_reply(err);

	return *s == '\0' ? 0 : put_line(out, s);
}
