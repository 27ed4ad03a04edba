/* SPDX-License-Identifier: BSD-3-Clause */
/* memcached's meta protocol, client side: mg (v f k), ms (F), md, mn. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "proto_line.h"

/* A meta status line: the code alone or followed by return flags ("EN k<key>"). */
static bool
status_is(const char *p, size_t n, const char *code)
{
	return line_is(p, n, code) || (n > 2 && memcmp(p, code, 2) == 0 && p[2] == ' ');
}

long
mcgen_meta_encode(const struct mcgen_workload *w, const struct mcgen_req *q, char *buf,
		  size_t cap)
{
	char key[MCGEN_KEY_MAX + 1];
	size_t n = 0;
	unsigned klen;
	uint32_t vlen;
	int h;

	switch (q->op) {
	case MCGEN_OP_GET:
	case MCGEN_OP_MGET:
		/* A multiget: quiet mg per key (misses left out), mn closes it. */
		for (unsigned i = 0; i < q->nkeys; i++) {
			klen = mcgen_key(w, q->keys[i], key);
			h = snprintf(buf + n, cap - n, "mg %.*s v f k%s\r\n", (int)klen, key,
				     q->op == MCGEN_OP_MGET ? " q" : "");
			if (h < 0 || (size_t)h >= cap - n)
				return -ENOSPC;
			n += (size_t)h;
		}
		if (q->op == MCGEN_OP_MGET) {
			if (cap - n < 4)
				return -ENOSPC;
			memcpy(buf + n, "mn\r\n", 4);
			n += 4;
		}
		return (long)n;
	case MCGEN_OP_SET:
		klen = mcgen_key(w, q->keys[0], key);
		vlen = mcgen_value_len(w, q->keys[0], q->version);
		h = snprintf(buf, cap, "ms %.*s %u F%u\r\n", (int)klen, key, vlen, q->version);
		return line_set_value(w, q, buf, cap, h, vlen);
	case MCGEN_OP_DELETE:
		klen = mcgen_key(w, q->keys[0], key);
		h = snprintf(buf, cap, "md %.*s\r\n", (int)klen, key);
		return h < 0 || (size_t)h >= cap ? -ENOSPC : h;
	}
	return -EINVAL;
}

/* VA <size> <flags>* at [p, end): the size, f<flags> and k<key> into @p v. */
static bool
va_line(const char *p, const char *end, struct mcgen_val *v)
{
	uint64_t size, flags = 0;

	p += 3;
	if (!line_uint(&p, end, &size) || size > UINT32_MAX)
		return false;
	v->key = NULL;
	v->klen = 0;
	while (p < end) {
		const char *tok;

		if (*p++ != ' ' || p == end)
			return false;
		tok = p;
		while (p < end && *p != ' ')
			p++;
		if (*tok == 'f') {
			const char *d = tok + 1;

			if (!line_uint(&d, p, &flags) || d != p || flags > UINT32_MAX)
				return false;
		} else if (*tok == 'k') {
			v->key = tok + 1;
			v->klen = (uint32_t)(p - tok - 1);
		}
	}
	v->flags = (uint32_t)flags;
	v->len = (uint32_t)size;
	return v->key != NULL;
}

static long
parse_get(const struct mcgen_req *q, const char *buf, size_t len, struct mcgen_reply *r,
	  size_t *need, char *err, size_t errlen)
{
	bool multi = q->op == MCGEN_OP_MGET;
	size_t off = 0, eol;
	int rc;

	for (;;) {
		const char *p = buf + off;
		size_t n;

		rc = line_find(buf, len, off, &eol, need, err, errlen);
		if (rc <= 0)
			return rc;
		n = eol - off;
		if (multi && status_is(p, n, "MN")) {
			r->status = MCGEN_ST_OK;
			return (long)(eol + 2);
		}
		if (status_is(p, n, "EN")) {
			if (!multi) {
				r->status = MCGEN_ST_MISS;
				return (long)(eol + 2);
			}
			off = eol + 2;
			continue;
		}
		if (line_is_error(p, n)) {
			line_error(r, p, n);
			return (long)(eol + 2);
		}
		if (!line_starts(p, n, "VA "))
			return line_bad("not an mg reply", p, n, err, errlen);
		if (r->nvals == q->nkeys)
			return line_bad("more values than keys asked", p, n, err, errlen);
		struct mcgen_val *v = &r->v[r->nvals];
		if (!va_line(p, buf + eol, v))
			return line_bad("malformed VA line (want VA <size> f<flags> k<key>)", p, n,
					err, errlen);
		off = eol + 2;
		if (len < off + v->len + 2) {
			*need = off + v->len + 2;
			return 0;
		}
		if (memcmp(buf + off + v->len, "\r\n", 2) != 0) {
			snprintf(err, errlen, "the data of '%.*s' does not end with \\r\\n", (int)v->klen,
				 v->key);
			return -EPROTO;
		}
		v->data = buf + off;
		off += v->len + 2;
		r->nvals++;
		if (!multi) {
			r->status = MCGEN_ST_OK;
			return (long)off;
		}
	}
}

long
mcgen_meta_parse(const struct mcgen_req *q, const char *buf, size_t len, struct mcgen_reply *r,
		 size_t *need, char *err, size_t errlen)
{
	size_t eol;
	int rc;

	r->nvals = 0;
	r->status = MCGEN_ST_OK;
	r->said = NULL;
	r->said_len = 0;
	if (q->op == MCGEN_OP_GET || q->op == MCGEN_OP_MGET)
		return parse_get(q, buf, len, r, need, err, errlen);
	rc = line_find(buf, len, 0, &eol, need, err, errlen);
	if (rc <= 0)
		return rc;
	if (line_is_error(buf, eol))
		line_error(r, buf, eol);
	else if (status_is(buf, eol, "HD"))
		r->status = MCGEN_ST_OK;
	else if (q->op == MCGEN_OP_SET && status_is(buf, eol, "NS"))
		r->status = MCGEN_ST_NOT_STORED;
	else if (q->op == MCGEN_OP_DELETE && status_is(buf, eol, "NF"))
		r->status = MCGEN_ST_MISS;
	else
		return line_bad(q->op == MCGEN_OP_SET ? "not an ms reply" : "not an md reply", buf,
				eol, err, errlen);
	return (long)(eol + 2);
}
