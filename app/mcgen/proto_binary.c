/* SPDX-License-Identifier: BSD-3-Clause */
/* memcached's binary protocol, client side: GETK, GETKQ + NOOP, SET, DELETE. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

#define HDR	  24
#define MAGIC_REQ 0x80
#define MAGIC_RES 0x81

/* Opcodes used: X(enum suffix, value). */
#define BIN_OPCODES(X) \
	X(SET, 0x01)   \
	X(DELETE, 0x04) \
	X(NOOP, 0x0a)  \
	X(GETK, 0x0c)  \
	X(GETKQ, 0x0d)

enum {
#define BIN_OPCODE_ENUM(e, v) BIN_##e = v,
	BIN_OPCODES(BIN_OPCODE_ENUM)
#undef BIN_OPCODE_ENUM
};

#define ST_OK	      0x0000
#define ST_NOT_FOUND  0x0001
#define ST_NOT_STORED 0x0005

static void
put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t
get_be(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* One request header at @p h (extras, key and value follow). */
static void
header(uint8_t *h, uint8_t opcode, unsigned klen, unsigned ext, uint32_t body, uint32_t opaque)
{
	memset(h, 0, HDR);
	h[0] = MAGIC_REQ;
	h[1] = opcode;
	put_be(h + 2, klen, 2);
	h[4] = (uint8_t)ext;
	put_be(h + 8, body, 4);
	put_be(h + 12, opaque, 4);
}

long
mcgen_binary_encode(const struct mcgen_workload *w, const struct mcgen_req *q, char *buf,
		    size_t cap)
{
	uint8_t *p = (uint8_t *)buf;
	size_t n = 0;
	unsigned klen;

	switch (q->op) {
	case MCGEN_OP_GET:
	case MCGEN_OP_MGET:
		for (unsigned i = 0; i < q->nkeys; i++) {
			if (cap - n < HDR + MCGEN_KEY_MAX)
				return -ENOSPC;
			klen = mcgen_key(w, q->keys[i], buf + n + HDR);
			header(p + n, q->op == MCGEN_OP_MGET ? BIN_GETKQ : BIN_GETK, klen, 0, klen,
			       q->opaque);
			n += HDR + klen;
		}
		if (q->op == MCGEN_OP_MGET) {
			if (cap - n < HDR)
				return -ENOSPC;
			header(p + n, BIN_NOOP, 0, 0, 0, q->opaque);
			n += HDR;
		}
		return (long)n;
	case MCGEN_OP_SET: {
		uint32_t vlen = mcgen_value_len(w, q->keys[0], q->version);

		if (cap < HDR + 8 + MCGEN_KEY_MAX + (size_t)vlen)
			return -ENOSPC;
		klen = mcgen_key(w, q->keys[0], buf + HDR + 8);
		header(p, BIN_SET, klen, 8, 8 + klen + vlen, q->opaque);
		put_be(p + HDR, q->version, 4);
		put_be(p + HDR + 4, 0, 4);
		mcgen_value_fill(w, q->keys[0], q->version, buf + HDR + 8 + klen);
		return (long)(HDR + 8 + klen + vlen);
	}
	case MCGEN_OP_DELETE:
		if (cap < HDR + MCGEN_KEY_MAX)
			return -ENOSPC;
		klen = mcgen_key(w, q->keys[0], buf + HDR);
		header(p, BIN_DELETE, klen, 0, klen, q->opaque);
		return (long)(HDR + klen);
	}
	return -EINVAL;
}

/* One response packet's header fields. */
struct pkt {
	uint8_t opcode, ext;
	uint16_t klen, status;
	uint32_t body, opaque;
};

/*
 * The packet at @p off: 1 whole (fields in @p k), 0 more bytes needed, -EPROTO malformed.
 */
static int
packet(const struct mcgen_req *q, const uint8_t *b, size_t len, size_t off, struct pkt *k,
       size_t *need, char *err, size_t errlen)
{
	if (len - off < HDR) {
		*need = off + HDR;
		return 0;
	}
	b += off;
	k->opcode = b[1];
	k->klen = (uint16_t)get_be(b + 2, 2);
	k->ext = b[4];
	k->status = (uint16_t)get_be(b + 6, 2);
	k->body = get_be(b + 8, 4);
	k->opaque = get_be(b + 12, 4);
	if (b[0] != MAGIC_RES || (uint64_t)k->klen + k->ext > k->body) {
		snprintf(err, errlen, "malformed binary header (magic 0x%02x, key %u, extras %u, "
			 "body %u)", b[0], k->klen, k->ext, k->body);
		return -EPROTO;
	}
	if (k->opaque != q->opaque) {
		snprintf(err, errlen, "binary reply with opaque %u, want %u (opcode 0x%02x)",
			 k->opaque, q->opaque, k->opcode);
		return -EPROTO;
	}
	if (len - off < HDR + (size_t)k->body) {
		*need = off + HDR + k->body;
		return 0;
	}
	return 1;
}

/* A GETK/GETKQ hit at @p b into the next value of @p r. */
static int
value(const struct mcgen_req *q, const uint8_t *b, const struct pkt *k, struct mcgen_reply *r,
      char *err, size_t errlen)
{
	struct mcgen_val *v;

	if (r->nvals == q->nkeys || k->ext != 4) {
		snprintf(err, errlen, "binary get reply with %u extras, or more values than keys",
			 k->ext);
		return -EPROTO;
	}
	v = &r->v[r->nvals++];
	v->flags = get_be(b + HDR, 4);
	v->key = (const char *)b + HDR + 4;
	v->klen = k->klen;
	v->data = v->key + k->klen;
	v->len = k->body - 4 - k->klen;
	return 0;
}

/* An error response at @p b: MCGEN_ST_ERROR, its message (the body after extras and key). */
static void
error_said(const uint8_t *b, const struct pkt *k, struct mcgen_reply *r)
{
	uint32_t skip = (uint32_t)k->ext + k->klen;

	r->status = MCGEN_ST_ERROR;
	if (k->body > skip) {
		r->said = (const char *)b + HDR + skip;
		r->said_len = k->body - skip;
	}
}

long
mcgen_binary_parse(const struct mcgen_req *q, const char *buf, size_t len,
		   struct mcgen_reply *r, size_t *need, char *err, size_t errlen)
{
	const uint8_t *b = (const uint8_t *)buf;
	size_t off = 0;
	struct pkt k;
	int rc;

	r->nvals = 0;
	r->status = MCGEN_ST_OK;
	r->said = NULL;
	r->said_len = 0;
	for (;;) {
		rc = packet(q, b, len, off, &k, need, err, errlen);
		if (rc <= 0)
			return rc;
		const uint8_t *p = b + off;
		off += HDR + k.body;
		if (q->op == MCGEN_OP_MGET && k.opcode == BIN_NOOP)
			return (long)off;
		if (q->op == MCGEN_OP_MGET && k.opcode == BIN_GETKQ) {
			if (k.status != ST_OK) {
				r->status = MCGEN_ST_ERROR; /* quiet misses say nothing */
				continue;
			}
			rc = value(q, p, &k, r, err, errlen);
			if (rc < 0)
				return rc;
			continue;
		}
		if ((q->op == MCGEN_OP_GET && k.opcode != BIN_GETK) ||
		    (q->op == MCGEN_OP_SET && k.opcode != BIN_SET) ||
		    (q->op == MCGEN_OP_DELETE && k.opcode != BIN_DELETE) || q->op == MCGEN_OP_MGET) {
			snprintf(err, errlen, "binary reply opcode 0x%02x to a %s", k.opcode,
				 mcgen_op_name(q->op));
			return -EPROTO;
		}
		if (k.status == ST_NOT_FOUND && q->op != MCGEN_OP_SET)
			r->status = MCGEN_ST_MISS;
		else if (k.status == ST_NOT_STORED && q->op == MCGEN_OP_SET)
			r->status = MCGEN_ST_NOT_STORED;
		else if (k.status != ST_OK)
			error_said(p, &k, r);
		else if (q->op == MCGEN_OP_GET && (rc = value(q, p, &k, r, err, errlen)) < 0)
			return rc;
		return (long)off;
	}
}
