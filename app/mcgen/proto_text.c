/* SPDX-License-Identifier: BSD-3-Clause */
/* memcached's text protocol, client side: get/set/delete requests and their replies. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "proto_line.h"

long
mcgen_text_encode(const struct mcgen_workload *w, const struct mcgen_req *q, char *buf,
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
		if (cap < 4)
			return -ENOSPC;
		memcpy(buf, "get", 3);
		n = 3;
		for (unsigned i = 0; i < q->nkeys; i++) {
			klen = mcgen_key(w, q->keys[i], key);
			if (n + 1 + klen + 2 > cap)
				return -ENOSPC;
			buf[n++] = ' ';
			memcpy(buf + n, key, klen);
			n += klen;
		}
		memcpy(buf + n, "\r\n", 2);
		return (long)(n + 2);
	case MCGEN_OP_SET:
		klen = mcgen_key(w, q->keys[0], key);
		vlen = mcgen_value_len(w, q->keys[0], q->version);
		h = snprintf(buf, cap, "set %.*s %u 0 %u\r\n", (int)klen, key, q->version, vlen);
		return line_set_value(w, q, buf, cap, h, vlen);
	case MCGEN_OP_DELETE:
		klen = mcgen_key(w, q->keys[0], key);
		h = snprintf(buf, cap, "delete %.*s\r\n", (int)klen, key);
		return h < 0 || (size_t)h >= cap ? -ENOSPC : h;
	}
	return -EINVAL;
}

/* VALUE <key> <flags> <bytes> [<cas>] at [p, end): fills @p v but its data. */
static bool
value_line(const char *p, const char *end, struct mcgen_val *v)
{
	const char *k = p + 6;
	uint64_t flags, bytes, cas;

	p = memchr(k, ' ', (size_t)(end - k));
	if (p == NULL || p == k)
		return false;
	v->key = k;
	v->klen = (uint32_t)(p - k);
	p++;
	if (!line_uint(&p, end, &flags) || flags > UINT32_MAX || p == end || *p++ != ' ' ||
	    !line_uint(&p, end, &bytes) || bytes > UINT32_MAX)
		return false;
	if (p < end && (*p++ != ' ' || !line_uint(&p, end, &cas)))
		return false;
	v->flags = (uint32_t)flags;
	v->len = (uint32_t)bytes;
	return p == end;
}

static long
parse_get(const struct mcgen_req *q, const char *buf, size_t len, struct mcgen_reply *r,
	  size_t *need, char *err, size_t errlen)
{
	size_t off = 0, eol;
	int rc;

	for (;;) {
		const char *p = buf + off;

		rc = line_find(buf, len, off, &eol, need, err, errlen);
		if (rc <= 0)
			return rc;
		if (line_is(p, eol - off, "END")) {
			r->status = r->nvals == 0 && q->nkeys == 1 ? MCGEN_ST_MISS : MCGEN_ST_OK;
			return (long)(eol + 2);
		}
		if (line_is_error(p, eol - off)) {
			line_error(r, p, eol - off);
			return (long)(eol + 2);
		}
		if (!line_starts(p, eol - off, "VALUE "))
			return line_bad("not a get reply", p, eol - off, err, errlen);
		if (r->nvals == q->nkeys)
			return line_bad("more values than keys asked", p, eol - off, err, errlen);
		struct mcgen_val *v = &r->v[r->nvals];
		if (!value_line(p, buf + eol, v))
			return line_bad("malformed VALUE line", p, eol - off, err, errlen);
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
	}
}

long
mcgen_text_parse(const struct mcgen_req *q, const char *buf, size_t len, struct mcgen_reply *r,
		 size_t *need, char *err, size_t errlen)
{
	size_t eol, n;
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
	n = eol;
	if (line_is_error(buf, n))
		line_error(r, buf, n);
	else if (q->op == MCGEN_OP_SET && line_is(buf, n, "STORED"))
		r->status = MCGEN_ST_OK;
	else if (q->op == MCGEN_OP_SET && line_is(buf, n, "NOT_STORED"))
		r->status = MCGEN_ST_NOT_STORED;
	else if (q->op == MCGEN_OP_DELETE && line_is(buf, n, "DELETED"))
		r->status = MCGEN_ST_OK;
	else if (q->op == MCGEN_OP_DELETE && line_is(buf, n, "NOT_FOUND"))
		r->status = MCGEN_ST_MISS;
	else
		return line_bad(q->op == MCGEN_OP_SET ? "not a set reply" : "not a delete reply", buf,
				n, err, errlen);
	return (long)(eol + 2);
}
