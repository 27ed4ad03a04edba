/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for proto/binary.h: the binary protocol parser (every opcode, round trips from a
 * packet composer, every split of the input, pipelines, every bad input) and the response
 * writer (byte-exact replies for every status and opcode).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binary.h"

/* ---------------------------------------------------------------------------------------- */
/* Byte builder and packet composer                                                        */

struct bytes {
	uint8_t b[16384];
	size_t n;
};

static void
bput(struct bytes *x, const void *p, size_t len)
{
	assert_true(x->n + len <= sizeof(x->b));
	if (len > 0)
		memcpy(x->b + x->n, p, len);
	x->n += len;
}

static void
bput8(struct bytes *x, uint8_t v)
{
	bput(x, &v, 1);
}

static void
bput16(struct bytes *x, uint16_t v)
{
	bput8(x, (uint8_t)(v >> 8));
	bput8(x, (uint8_t)v);
}

static void
bput32(struct bytes *x, uint32_t v)
{
	bput16(x, (uint16_t)(v >> 16));
	bput16(x, (uint16_t)v);
}

static void
bput64(struct bytes *x, uint64_t v)
{
	bput32(x, (uint32_t)(v >> 32));
	bput32(x, (uint32_t)v);
}

/* A request or response header with explicit lengths (for bad packets too). */
static void
bheader(struct bytes *x, uint8_t magic, uint8_t opcode, uint16_t keylen, uint8_t extlen,
	uint16_t status_or_vbucket, uint32_t bodylen, uint32_t opaque, uint64_t cas)
{
	bput8(x, magic);
	bput8(x, opcode);
	bput16(x, keylen);
	bput8(x, extlen);
	bput8(x, 0);
	bput16(x, status_or_vbucket);
	bput32(x, bodylen);
	bput32(x, opaque);
	bput64(x, cas);
}

/* A well-formed request. key/val are strings unless keylen/vallen are given. */
struct pkt {
	uint8_t opcode;
	uint8_t ext[BINARY_EXTRAS_MAX];
	uint8_t extlen;
	const char *key;
	uint16_t keylen;
	const char *val;
	uint32_t vallen;
	uint32_t opaque;
	uint64_t cas;
};

static void
compose(struct bytes *x, const struct pkt *p)
{
	uint16_t keylen = p->keylen != 0 ? p->keylen : (p->key ? (uint16_t)strlen(p->key) : 0);
	uint32_t vallen = p->vallen != 0 ? p->vallen : (p->val ? (uint32_t)strlen(p->val) : 0);

	bput8(x, BINARY_MAGIC_REQ);
	bput8(x, p->opcode);
	bput16(x, keylen);
	bput8(x, p->extlen);
	bput8(x, 0x5a);	   /* data type: ignored */
	bput16(x, 0x1234); /* vbucket: ignored */
	bput32(x, (uint32_t)p->extlen + keylen + vallen);
	bput32(x, p->opaque);
	bput64(x, p->cas);
	bput(x, p->ext, p->extlen);
	bput(x, p->key, keylen);
	bput(x, p->val, vallen);
}

static void
be32_to(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static void
be64_to(uint8_t *b, uint64_t v)
{
	be32_to(b, (uint32_t)(v >> 32));
	be32_to(b + 4, (uint32_t)v);
}

static void
ext_store(struct pkt *p, uint32_t flags, uint32_t exptime)
{
	be32_to(p->ext, flags);
	be32_to(p->ext + 4, exptime);
	p->extlen = 8;
}

static void
ext_arith(struct pkt *p, uint64_t delta, uint64_t initial, uint32_t exptime)
{
	be64_to(p->ext, delta);
	be64_to(p->ext + 8, initial);
	be32_to(p->ext + 16, exptime);
	p->extlen = 20;
}

static void
ext_u32(struct pkt *p, uint32_t v)
{
	be32_to(p->ext, v);
	p->extlen = 4;
}

/* ---------------------------------------------------------------------------------------- */
/* Parse driver: feed segments, parse until MORE/CLOSE, record every outcome                */

#define REC_MAX	      96
#define REC_VALUE_MAX 4096

struct rec {
	enum proto_parse rc;
	enum proto_error err;
	struct proto_request req; /* key, args and value pointers cleared */
	char key[PROTO_KEY_MAX];
	char args[PROTO_KEY_MAX];
	uint8_t value[REC_VALUE_MAX];
};

struct run {
	struct rec rec[REC_MAX];
	unsigned n;
	enum proto_parse last; /* outcome of the last call */
	uint64_t consumed;
};

static void
record(struct run *r, const struct proto_input *in, enum proto_parse rc, enum proto_error err,
       const struct proto_request *req)
{
	struct rec *x;

	assert_true(r->n < REC_MAX);
	x = &r->rec[r->n++];
	memset(x, 0, sizeof(*x));
	x->rc = rc;
	x->err = err;
	x->req = *req;
	if (rc == PROTO_PARSE_CLOSE && err == PROTO_ERR_NONE)
		return;
	assert_true(req->key_len <= PROTO_KEY_MAX);
	assert_true(req->args_len <= PROTO_KEY_MAX);
	if (req->key_len > 0) {
		assert_non_null(req->key);
		memcpy(x->key, req->key, req->key_len);
	}
	if (req->args_len > 0) {
		assert_non_null(req->args);
		memcpy(x->args, req->args, req->args_len);
	}
	if (rc == PROTO_PARSE_OK && req->value.len > 0) {
		assert_true(req->value.len <= REC_VALUE_MAX);
		proto_gather(in, &req->value, x->value);
	}
	x->req.key = NULL;
	x->req.args = NULL;
	x->req.value.seg = 0;
	x->req.value.off = 0;
}

/* Parse @p len bytes cut at @p cuts (ascending) with a fresh parser into *r. */
static void
run_cuts(const uint8_t *buf, size_t len, const size_t *cuts, unsigned ncuts, uint32_t item_max,
	 struct run *r)
{
	struct binary_parser p;
	struct proto_input in;
	size_t start = 0;

	memset(r, 0, sizeof(*r));
	binary_parser_init(&p, item_max);
	proto_input_init(&in);
	for (unsigned s = 0; s <= ncuts; s++) {
		size_t end = s < ncuts ? cuts[s] : len;
		enum proto_parse rc;

		assert_true(end >= start);
		assert_int_equal(proto_input_add(&in, buf + start, (uint32_t)(end - start)), 0);
		start = end;
		for (;;) {
			struct proto_request req;
			enum proto_error err = PROTO_ERR_NONE;

			memset(&req, 0xa5, sizeof(req));
			rc = binary_parse(&p, &in, &req, &err);
			r->last = rc;
			if (rc == PROTO_PARSE_MORE)
				break;
			record(r, &in, rc, err, &req);
			if (rc == PROTO_PARSE_CLOSE)
				break;
		}
		if (rc == PROTO_PARSE_CLOSE)
			break;
		proto_input_compact(&in);
	}
	r->consumed = in.consumed;
}

static void
run_whole(const uint8_t *buf, size_t len, uint32_t item_max, struct run *r)
{
	run_cuts(buf, len, NULL, 0, item_max, r);
}

static void
assert_rec_equal(const struct rec *a, const struct rec *b)
{
	assert_int_equal(a->rc, b->rc);
	assert_int_equal(a->err, b->err);
	assert_int_equal(a->req.op, b->req.op);
	assert_int_equal(a->req.kind, b->req.kind);
	assert_int_equal(a->req.mode, b->req.mode);
	assert_int_equal(a->req.flags, b->req.flags);
	assert_int_equal(a->req.key_len, b->req.key_len);
	assert_memory_equal(a->key, b->key, a->req.key_len > 0 ? a->req.key_len : 1);
	assert_int_equal(a->req.client_flags, b->req.client_flags);
	assert_int_equal(a->req.exptime, b->req.exptime);
	assert_int_equal(a->req.cas, b->req.cas);
	assert_int_equal(a->req.delta, b->req.delta);
	assert_int_equal(a->req.initial, b->req.initial);
	assert_int_equal(a->req.value.len, b->req.value.len);
	if (a->rc == PROTO_PARSE_OK && a->req.value.len > 0)
		assert_memory_equal(a->value, b->value, a->req.value.len);
	assert_int_equal(a->req.level, b->req.level);
	assert_int_equal(a->req.args_len, b->req.args_len);
	assert_memory_equal(a->args, b->args, a->req.args_len > 0 ? a->req.args_len : 1);
	assert_int_equal(a->req.bin.opcode, b->req.bin.opcode);
	assert_int_equal(a->req.bin.opaque, b->req.bin.opaque);
}

static void
assert_run_equal(const struct run *a, const struct run *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->last, b->last);
	assert_int_equal(a->consumed, b->consumed);
	for (unsigned i = 0; i < a->n; i++)
		assert_rec_equal(&a->rec[i], &b->rec[i]);
}

/* Parse one complete packet alone; it must give exactly one outcome. */
static const struct rec *
parse_one(const struct bytes *x, uint32_t item_max, struct run *r)
{
	run_whole(x->b, x->n, item_max, r);
	assert_int_equal(r->n, 1);
	return &r->rec[0];
}

static struct run run_a, run_b; /* big: not on the stack */

/* ---------------------------------------------------------------------------------------- */
/* Parser: every opcode                                                                      */

struct op_case {
	uint8_t opcode;
	enum proto_op op;
	enum proto_mode mode;
	uint32_t flags;
};

#define RC   PROTO_F_RETURN_CAS
#define RK   PROTO_F_RETURN_KEY
#define QM   PROTO_F_QUIET_MISS
#define NR   PROTO_F_NOREPLY
#define INC  PROTO_F_INCR
#define INIT PROTO_F_HAS_INITIAL

static const struct op_case get_cases[] = {
	{BINARY_CMD_GET, PROTO_OP_GET, 0, RC},
	{BINARY_CMD_GETQ, PROTO_OP_GET, 0, RC | QM},
	{BINARY_CMD_GETK, PROTO_OP_GET, 0, RC | RK},
	{BINARY_CMD_GETKQ, PROTO_OP_GET, 0, RC | RK | QM},
	{BINARY_CMD_DELETE, PROTO_OP_DELETE, 0, 0},
	{BINARY_CMD_DELETEQ, PROTO_OP_DELETE, 0, NR},
};

static const struct op_case store_cases[] = {
	{BINARY_CMD_SET, PROTO_OP_STORE, PROTO_MODE_SET, 0},
	{BINARY_CMD_SETQ, PROTO_OP_STORE, PROTO_MODE_SET, NR},
	{BINARY_CMD_ADD, PROTO_OP_STORE, PROTO_MODE_ADD, 0},
	{BINARY_CMD_ADDQ, PROTO_OP_STORE, PROTO_MODE_ADD, NR},
	{BINARY_CMD_REPLACE, PROTO_OP_STORE, PROTO_MODE_REPLACE, 0},
	{BINARY_CMD_REPLACEQ, PROTO_OP_STORE, PROTO_MODE_REPLACE, NR},
};

static const struct op_case concat_cases[] = {
	{BINARY_CMD_APPEND, PROTO_OP_STORE, PROTO_MODE_APPEND, 0},
	{BINARY_CMD_APPENDQ, PROTO_OP_STORE, PROTO_MODE_APPEND, NR},
	{BINARY_CMD_PREPEND, PROTO_OP_STORE, PROTO_MODE_PREPEND, 0},
	{BINARY_CMD_PREPENDQ, PROTO_OP_STORE, PROTO_MODE_PREPEND, NR},
};

static const struct op_case arith_cases[] = {
	{BINARY_CMD_INCREMENT, PROTO_OP_ARITH, 0, INC},
	{BINARY_CMD_INCREMENTQ, PROTO_OP_ARITH, 0, INC | NR},
	{BINARY_CMD_DECREMENT, PROTO_OP_ARITH, 0, 0},
	{BINARY_CMD_DECREMENTQ, PROTO_OP_ARITH, 0, NR},
};

static const struct op_case touch_cases[] = {
	{BINARY_CMD_TOUCH, PROTO_OP_TOUCH, 0, RC},
	{BINARY_CMD_GAT, PROTO_OP_GAT, 0, RC},
	{BINARY_CMD_GATQ, PROTO_OP_GAT, 0, RC | QM},
	{BINARY_CMD_GATK, PROTO_OP_GAT, 0, RC | RK},
	{BINARY_CMD_GATKQ, PROTO_OP_GAT, 0, RC | RK | QM},
};

static const struct op_case empty_cases[] = {
	{BINARY_CMD_NOOP, PROTO_OP_NOOP, 0, 0},	  {BINARY_CMD_VERSION, PROTO_OP_VERSION, 0, 0},
	{BINARY_CMD_QUIT, PROTO_OP_QUIT, 0, 0},	  {BINARY_CMD_QUITQ, PROTO_OP_QUIT, 0, NR},
	{BINARY_CMD_FLUSH, PROTO_OP_FLUSH, 0, 0}, {BINARY_CMD_FLUSHQ, PROTO_OP_FLUSH, 0, NR},
	{BINARY_CMD_STAT, PROTO_OP_STATS, 0, 0},
};

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static void
assert_common(const struct rec *x, const struct op_case *c, uint32_t opaque)
{
	assert_int_equal(x->rc, PROTO_PARSE_OK);
	assert_int_equal(x->err, PROTO_ERR_NONE);
	assert_int_equal(x->req.kind, PROTO_BINARY);
	assert_int_equal(x->req.op, c->op);
	assert_int_equal(x->req.bin.opcode, c->opcode);
	assert_int_equal(x->req.bin.opaque, opaque);
}

static void
test_parse_key_only_opcodes(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NCASES(get_cases); i++) {
		const struct op_case *c = &get_cases[i];
		struct bytes x = {.n = 0};
		const struct rec *r;

		compose(&x, &(struct pkt){.opcode = c->opcode,
					  .key = "some-key",
					  .opaque = 0xdeadbeef,
					  .cas = 77});
		r = parse_one(&x, 0, &run_a);
		assert_common(r, c, 0xdeadbeef);
		assert_int_equal(r->req.flags, c->flags);
		assert_int_equal(r->req.key_len, 8);
		assert_memory_equal(r->key, "some-key", 8);
		assert_int_equal(r->req.value.len, 0);
		/* Delete compares the cas; gets ignore it. */
		assert_int_equal(r->req.cas, c->op == PROTO_OP_DELETE ? 77 : 0);
		assert_int_equal(run_a.consumed, x.n);
	}
}

static void
test_parse_store_opcodes(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NCASES(store_cases); i++) {
		const struct op_case *c = &store_cases[i];

		for (int with_cas = 0; with_cas < 2; with_cas++) {
			struct pkt p = {.opcode = c->opcode,
					.key = "k1",
					.val = "hello world",
					.opaque = 42,
					.cas = with_cas ? 0x1122334455667788ULL : 0};
			struct bytes x = {.n = 0};
			const struct rec *r;

			ext_store(&p, 0xfeedf00d, 0x80000001);
			compose(&x, &p);
			r = parse_one(&x, 0, &run_a);
			assert_common(r, c, 42);
			/* memcached turns set/add/replace with a cas into a compare-and-swap. */
			assert_int_equal(r->req.mode, with_cas ? PROTO_MODE_CAS : c->mode);
			assert_int_equal(r->req.flags, c->flags);
			assert_int_equal(r->req.client_flags, 0xfeedf00d);
			assert_int_equal(r->req.exptime,
					 0x80000001LL); /* unsigned: never negative */
			assert_int_equal(r->req.cas, p.cas);
			assert_int_equal(r->req.key_len, 2);
			assert_memory_equal(r->key, "k1", 2);
			assert_int_equal(r->req.value.len, 11);
			assert_memory_equal(r->value, "hello world", 11);
		}
	}
}

static void
test_parse_concat_opcodes(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NCASES(concat_cases); i++) {
		const struct op_case *c = &concat_cases[i];
		struct bytes x = {.n = 0};
		const struct rec *r;

		compose(&x, &(struct pkt){.opcode = c->opcode,
					  .key = "akey",
					  .val = " more",
					  .opaque = 9,
					  .cas = 5});
		r = parse_one(&x, 0, &run_a);
		assert_common(r, c, 9);
		assert_int_equal(r->req.mode, c->mode); /* a cas does not change append/prepend */
		assert_int_equal(r->req.flags, c->flags);
		assert_int_equal(r->req.cas, 5);
		assert_int_equal(r->req.client_flags, 0);
		assert_int_equal(r->req.value.len, 5);
		assert_memory_equal(r->value, " more", 5);
	}
}

static void
test_parse_arith_opcodes(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NCASES(arith_cases); i++) {
		const struct op_case *c = &arith_cases[i];

		for (int create = 0; create < 2; create++) {
			struct pkt p = {
				.opcode = c->opcode, .key = "counter", .opaque = 3, .cas = 6};
			struct bytes x = {.n = 0};
			const struct rec *r;

			ext_arith(&p, 0x0102030405060708ULL, 0xa0b0c0d0e0f01020ULL,
				  create ? 3600 : 0xffffffffu);
			compose(&x, &p);
			r = parse_one(&x, 0, &run_a);
			assert_common(r, c, 3);
			assert_int_equal(r->req.flags, c->flags | (create ? INIT : 0));
			assert_int_equal(r->req.delta, 0x0102030405060708ULL);
			assert_int_equal(r->req.initial, 0xa0b0c0d0e0f01020ULL);
			assert_int_equal(r->req.exptime, create ? 3600 : 0);
			assert_int_equal(r->req.cas, 6);
			assert_int_equal(r->req.key_len, 7);
		}
	}
}

static void
test_parse_touch_opcodes(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NCASES(touch_cases); i++) {
		const struct op_case *c = &touch_cases[i];
		struct pkt p = {.opcode = c->opcode, .key = "tk", .opaque = 11, .cas = 99};
		struct bytes x = {.n = 0};
		const struct rec *r;

		ext_u32(&p, 0xfffffff0u);
		compose(&x, &p);
		r = parse_one(&x, 0, &run_a);
		assert_common(r, c, 11);
		assert_int_equal(r->req.flags, c->flags);
		assert_int_equal(r->req.exptime, 0xfffffff0LL);
		assert_int_equal(r->req.cas, 0);
		assert_int_equal(r->req.key_len, 2);
		assert_memory_equal(r->key, "tk", 2);
	}
}

static void
test_parse_keyless_opcodes(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NCASES(empty_cases); i++) {
		const struct op_case *c = &empty_cases[i];
		struct bytes x = {.n = 0};
		const struct rec *r;

		compose(&x, &(struct pkt){.opcode = c->opcode, .opaque = 0x01020304});
		r = parse_one(&x, 0, &run_a);
		assert_common(r, c, 0x01020304);
		assert_int_equal(r->req.flags, c->flags);
		assert_int_equal(r->req.key_len, 0);
		assert_null(r->req.key);
		assert_int_equal(r->req.args_len, 0);
		assert_int_equal(r->req.exptime, 0);
	}
}

static void
test_parse_flush_delay_stat_group_verbosity(void **state)
{
	struct bytes x = {.n = 0};
	struct pkt p = {.opcode = BINARY_CMD_FLUSHQ, .opaque = 1};
	const struct rec *r;

	(void)state;
	ext_u32(&p, 120);
	compose(&x, &p);
	r = parse_one(&x, 0, &run_a);
	assert_int_equal(r->req.op, PROTO_OP_FLUSH);
	assert_int_equal(r->req.flags, NR);
	assert_int_equal(r->req.exptime, 120);

	x.n = 0;
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_STAT, .key = "items", .opaque = 2});
	r = parse_one(&x, 0, &run_a);
	assert_int_equal(r->req.op, PROTO_OP_STATS);
	assert_int_equal(r->req.key_len, 0);
	assert_int_equal(r->req.args_len, 5);
	assert_memory_equal(r->args, "items", 5);

	x.n = 0;
	p = (struct pkt){.opcode = BINARY_CMD_VERBOSITY, .opaque = 3};
	ext_u32(&p, 2);
	compose(&x, &p);
	r = parse_one(&x, 0, &run_a);
	assert_int_equal(r->req.op, PROTO_OP_VERBOSITY);
	assert_int_equal(r->req.level, 2);
	assert_int_equal(r->req.flags, 0);
}

/* A key or value of every length that fits, binary bytes included. */
static void
test_parse_key_and_value_lengths(void **state)
{
	char key[PROTO_KEY_MAX];
	char val[600];

	(void)state;
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (char)(i * 7 + 1);
	for (unsigned i = 0; i < sizeof(val); i++)
		val[i] = (char)(i * 13);
	for (uint16_t klen = 1; klen <= PROTO_KEY_MAX; klen += 17) {
		for (uint32_t vlen = 0; vlen <= sizeof(val); vlen += 149) {
			struct pkt p = {.opcode = BINARY_CMD_SET,
					.key = key,
					.keylen = klen,
					.val = val,
					.vallen = vlen};
			struct bytes x = {.n = 0};
			const struct rec *r;

			ext_store(&p, 1, 2);
			if (vlen == 0)
				p.val = NULL;
			compose(&x, &p);
			r = parse_one(&x, 0, &run_a);
			assert_int_equal(r->rc, PROTO_PARSE_OK);
			assert_int_equal(r->req.key_len, klen);
			assert_memory_equal(r->key, key, klen);
			assert_int_equal(r->req.value.len, vlen);
			if (vlen > 0)
				assert_memory_equal(r->value, val, vlen);
		}
	}
}

/* Key in one segment: a pointer into the input; across segments: the parser's copy. */
static void
test_parse_key_pointer_or_copy(void **state)
{
	struct bytes x = {.n = 0};
	struct binary_parser p;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	size_t key_at = BINARY_HEADER_LEN;

	(void)state;
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_GET, .key = "abcdef"});
	binary_parser_init(&p, 0);
	proto_input_init(&in);
	proto_input_add(&in, x.b, (uint32_t)x.n);
	assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_OK);
	assert_ptr_equal(req.key, (const char *)x.b + key_at);

	binary_parser_init(&p, 0);
	proto_input_init(&in);
	proto_input_add(&in, x.b, (uint32_t)key_at + 3);
	proto_input_add(&in, x.b + key_at + 3, (uint32_t)(x.n - key_at - 3));
	assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_OK);
	assert_ptr_equal(req.key, p.key);
	assert_memory_equal(req.key, "abcdef", 6);
}

/* The value is a span into the input, never a copy. */
static void
test_parse_value_is_span(void **state)
{
	struct bytes x = {.n = 0};
	struct pkt pk = {.opcode = BINARY_CMD_SET, .key = "k", .val = "0123456789"};
	struct binary_parser p;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	size_t val_at = BINARY_HEADER_LEN + 8 + 1;

	(void)state;
	ext_store(&pk, 0, 0);
	compose(&x, &pk);
	binary_parser_init(&p, 0);
	proto_input_init(&in);
	proto_input_add(&in, x.b, (uint32_t)val_at + 4);
	proto_input_add(&in, x.b + val_at + 4, (uint32_t)(x.n - val_at - 4));
	assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_OK);
	assert_int_equal(req.value.seg, 0);
	assert_int_equal(req.value.off, val_at);
	assert_int_equal(req.value.len, 10);
	assert_int_equal(proto_input_avail(&in), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Round trips: random requests composed, parsed, compared with what was composed            */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static const uint8_t served[] = {
	BINARY_CMD_GET,	      BINARY_CMD_GETQ,	     BINARY_CMD_GETK,	   BINARY_CMD_GETKQ,
	BINARY_CMD_SET,	      BINARY_CMD_SETQ,	     BINARY_CMD_ADD,	   BINARY_CMD_ADDQ,
	BINARY_CMD_REPLACE,   BINARY_CMD_REPLACEQ,   BINARY_CMD_APPEND,	   BINARY_CMD_APPENDQ,
	BINARY_CMD_PREPEND,   BINARY_CMD_PREPENDQ,   BINARY_CMD_DELETE,	   BINARY_CMD_DELETEQ,
	BINARY_CMD_INCREMENT, BINARY_CMD_INCREMENTQ, BINARY_CMD_DECREMENT, BINARY_CMD_DECREMENTQ,
	BINARY_CMD_QUIT,      BINARY_CMD_QUITQ,	     BINARY_CMD_FLUSH,	   BINARY_CMD_FLUSHQ,
	BINARY_CMD_NOOP,      BINARY_CMD_VERSION,    BINARY_CMD_STAT,	   BINARY_CMD_VERBOSITY,
	BINARY_CMD_TOUCH,     BINARY_CMD_GAT,	     BINARY_CMD_GATQ,	   BINARY_CMD_GATK,
	BINARY_CMD_GATKQ,
};

/* Compose a random valid request for @p opcode; *p keeps what was composed. */
static void
random_packet(struct bytes *x, uint8_t opcode, struct pkt *p, char *keybuf, char *valbuf,
	      uint32_t vmax)
{
	uint16_t klen = (uint16_t)(1 + rnd() % PROTO_KEY_MAX);
	uint32_t vlen = rnd() % (vmax + 1);

	for (unsigned i = 0; i < klen; i++)
		keybuf[i] = (char)rnd();
	for (unsigned i = 0; i < vlen; i++)
		valbuf[i] = (char)rnd();
	memset(p, 0, sizeof(*p));
	p->opcode = opcode;
	p->opaque = rnd();
	p->cas = rnd() % 2 ? ((uint64_t)rnd() << 32 | rnd()) : 0;
	switch (opcode) {
	case BINARY_CMD_SET:
	case BINARY_CMD_SETQ:
	case BINARY_CMD_ADD:
	case BINARY_CMD_ADDQ:
	case BINARY_CMD_REPLACE:
	case BINARY_CMD_REPLACEQ:
		ext_store(p, rnd(), rnd());
		/* fall through */
	case BINARY_CMD_APPEND:
	case BINARY_CMD_APPENDQ:
	case BINARY_CMD_PREPEND:
	case BINARY_CMD_PREPENDQ:
		p->key = keybuf;
		p->keylen = klen;
		p->val = vlen > 0 ? valbuf : NULL; /* NULL: compose takes no strlen */
		p->vallen = vlen;
		break;
	case BINARY_CMD_INCREMENT:
	case BINARY_CMD_INCREMENTQ:
	case BINARY_CMD_DECREMENT:
	case BINARY_CMD_DECREMENTQ:
		ext_arith(p, (uint64_t)rnd() << 32 | rnd(), (uint64_t)rnd() << 32 | rnd(),
			  rnd() % 3 == 0 ? 0xffffffffu : rnd());
		/* fall through */
	case BINARY_CMD_GET:
	case BINARY_CMD_GETQ:
	case BINARY_CMD_GETK:
	case BINARY_CMD_GETKQ:
	case BINARY_CMD_DELETE:
	case BINARY_CMD_DELETEQ:
		p->key = keybuf;
		p->keylen = klen;
		break;
	case BINARY_CMD_TOUCH:
	case BINARY_CMD_GAT:
	case BINARY_CMD_GATQ:
	case BINARY_CMD_GATK:
	case BINARY_CMD_GATKQ:
		ext_u32(p, rnd());
		p->key = keybuf;
		p->keylen = klen;
		break;
	case BINARY_CMD_FLUSH:
	case BINARY_CMD_FLUSHQ:
		if (rnd() % 2)
			ext_u32(p, rnd());
		break;
	case BINARY_CMD_VERBOSITY:
		ext_u32(p, rnd());
		break;
	case BINARY_CMD_STAT:
		if (rnd() % 2) {
			p->key = keybuf;
			p->keylen = (uint16_t)(1 + klen % 16);
		}
		break;
	default:
		break;
	}
	compose(x, p);
}

static uint32_t
rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t
rd64(const uint8_t *b)
{
	return (uint64_t)rd32(b) << 32 | rd32(b + 4);
}

static void
test_round_trip_random(void **state)
{
	static char keybuf[PROTO_KEY_MAX], valbuf[REC_VALUE_MAX];

	(void)state;
	for (unsigned iter = 0; iter < 20000; iter++) {
		uint8_t opcode = served[rnd() % sizeof(served)];
		struct bytes x = {.n = 0};
		struct pkt p;
		const struct rec *r;
		bool is_stat = opcode == BINARY_CMD_STAT;

		random_packet(&x, opcode, &p, keybuf, valbuf, 700);
		r = parse_one(&x, 0, &run_a);
		assert_int_equal(r->rc, PROTO_PARSE_OK);
		assert_int_equal(r->req.bin.opcode, opcode);
		assert_int_equal(r->req.bin.opaque, p.opaque);
		if (is_stat) {
			assert_int_equal(r->req.args_len, p.keylen);
			if (p.keylen)
				assert_memory_equal(r->args, keybuf, p.keylen);
		} else {
			assert_int_equal(r->req.key_len, p.keylen);
			if (p.keylen)
				assert_memory_equal(r->key, keybuf, p.keylen);
		}
		assert_int_equal(r->req.value.len, p.vallen);
		if (p.vallen)
			assert_memory_equal(r->value, valbuf, p.vallen);
		switch (r->req.op) {
		case PROTO_OP_STORE:
			assert_int_equal(r->req.cas, p.cas);
			if (p.extlen == 8) {
				assert_int_equal(r->req.client_flags, rd32(p.ext));
				assert_int_equal(r->req.exptime, rd32(p.ext + 4));
				if (p.cas != 0)
					assert_int_equal(r->req.mode, PROTO_MODE_CAS);
			}
			break;
		case PROTO_OP_ARITH:
			assert_int_equal(r->req.delta, rd64(p.ext));
			assert_int_equal(r->req.initial, rd64(p.ext + 8));
			assert_int_equal((r->req.flags & INIT) != 0,
					 rd32(p.ext + 16) != 0xffffffffu);
			break;
		case PROTO_OP_GAT:
		case PROTO_OP_TOUCH:
			assert_int_equal(r->req.exptime, rd32(p.ext));
			break;
		case PROTO_OP_FLUSH:
			assert_int_equal(r->req.exptime, p.extlen ? rd32(p.ext) : 0);
			break;
		case PROTO_OP_VERBOSITY:
			assert_int_equal(r->req.level, rd32(p.ext));
			break;
		default:
			break;
		}
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Splits: every pipeline parses identically however it is cut                               */

#define SPLIT_ITEM_MAX 40

/* One packet of every served opcode, an unknown opcode and a too-large set, small bodies. */
static void
build_pipeline(struct bytes *x)
{
	static const char *const keys[] = {"a", "key2", "third-key", "k4"};
	unsigned i = 0;

	for (unsigned j = 0; j < sizeof(served); j++, i++) {
		struct pkt p = {.opcode = served[j], .opaque = 1000 + j, .cas = j % 3 ? j : 0};
		const char *key = keys[i % 4];

		switch (served[j]) {
		case BINARY_CMD_SET:
		case BINARY_CMD_SETQ:
		case BINARY_CMD_ADD:
		case BINARY_CMD_ADDQ:
		case BINARY_CMD_REPLACE:
		case BINARY_CMD_REPLACEQ:
			ext_store(&p, j * 1000, j);
			p.key = key;
			p.val = "value-bytes";
			break;
		case BINARY_CMD_APPEND:
		case BINARY_CMD_APPENDQ:
		case BINARY_CMD_PREPEND:
		case BINARY_CMD_PREPENDQ:
			p.key = key;
			p.val = "xy";
			break;
		case BINARY_CMD_INCREMENT:
		case BINARY_CMD_INCREMENTQ:
		case BINARY_CMD_DECREMENT:
		case BINARY_CMD_DECREMENTQ:
			ext_arith(&p, j, j * 2, j % 2 ? 0xffffffffu : 0);
			p.key = key;
			break;
		case BINARY_CMD_TOUCH:
		case BINARY_CMD_GAT:
		case BINARY_CMD_GATQ:
		case BINARY_CMD_GATK:
		case BINARY_CMD_GATKQ:
			ext_u32(&p, j);
			p.key = key;
			break;
		case BINARY_CMD_FLUSH:
			ext_u32(&p, 10);
			break;
		case BINARY_CMD_VERBOSITY:
			ext_u32(&p, 1);
			break;
		case BINARY_CMD_STAT:
			p.key = "slabs";
			break;
		case BINARY_CMD_QUIT:
		case BINARY_CMD_QUITQ:
			continue; /* not in the middle of a pipeline; tested alone */
		case BINARY_CMD_FLUSHQ:
		case BINARY_CMD_NOOP:
		case BINARY_CMD_VERSION:
			break;
		default:
			p.key = key;
			break;
		}
		compose(x, &p);
	}
	/* Unknown opcode with extras, key and value: the whole body is skipped. */
	{
		struct pkt p = {.opcode = 0x42, .key = "unk", .val = "body-bytes", .opaque = 7};

		ext_u32(&p, 5);
		compose(x, &p);
	}
	/* SASL auth (no SASL here): unknown command, body skipped. */
	compose(x, &(struct pkt){.opcode = BINARY_CMD_SASL_AUTH,
				 .key = "PLAIN",
				 .val = "\0u\0p",
				 .vallen = 4,
				 .opaque = 8});
	/* Too large: value of SPLIT_ITEM_MAX + 1 bytes. */
	{
		char big[SPLIT_ITEM_MAX + 1];
		struct pkt p = {.opcode = BINARY_CMD_SETQ,
				.key = "big",
				.val = big,
				.vallen = sizeof(big),
				.opaque = 9};

		memset(big, 'B', sizeof(big));
		ext_store(&p, 0, 0);
		compose(x, &p);
	}
	/* Exactly the largest value: accepted. */
	{
		char fit[SPLIT_ITEM_MAX];
		struct pkt p = {.opcode = BINARY_CMD_SET,
				.key = "fit",
				.val = fit,
				.vallen = sizeof(fit),
				.opaque = 10};

		memset(fit, 'F', sizeof(fit));
		ext_store(&p, 0, 0);
		compose(x, &p);
	}
	/* A STAT whose body is longer than its key: the rest is skipped. */
	bheader(x, BINARY_MAGIC_REQ, BINARY_CMD_STAT, 3, 0, 0, 7, 11, 0);
	bput(x, "abcWXYZ", 7);
	compose(x, &(struct pkt){.opcode = BINARY_CMD_NOOP, .opaque = 12});
}

static void
assert_splits_identical(const uint8_t *buf, size_t len, uint32_t item_max)
{
	size_t cuts[64];

	run_whole(buf, len, item_max, &run_a);
	/* Cut at every byte boundary. */
	for (size_t c = 1; c < len; c++) {
		cuts[0] = c;
		run_cuts(buf, len, cuts, 1, item_max, &run_b);
		assert_run_equal(&run_a, &run_b);
	}
	/* Random cuts, up to 63 of them. */
	for (unsigned iter = 0; iter < 300; iter++) {
		unsigned n = 1 + rnd() % 63;
		size_t prev = 0;

		for (unsigned i = 0; i < n; i++) {
			prev += rnd() % (2 * len / n + 1);
			cuts[i] = prev < len ? prev : len;
		}
		run_cuts(buf, len, cuts, n, item_max, &run_b);
		assert_run_equal(&run_a, &run_b);
	}
}

/* 1-byte segments, fed one at a time (consumed segments are compacted away). */
static void
assert_bytewise_identical(const uint8_t *buf, size_t len, uint32_t item_max)
{
	static size_t cuts[16384];

	assert_true(len <= sizeof(cuts) / sizeof(cuts[0]));
	run_whole(buf, len, item_max, &run_a);
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	run_cuts(buf, len, cuts, (unsigned)(len - 1), item_max, &run_b);
	assert_run_equal(&run_a, &run_b);
}

static void
test_split_pipeline_every_boundary(void **state)
{
	static struct bytes x;

	(void)state;
	x.n = 0;
	build_pipeline(&x);
	assert_splits_identical(x.b, x.n, SPLIT_ITEM_MAX);
	assert_bytewise_identical(x.b, x.n, SPLIT_ITEM_MAX);
	/* Every outcome is there: one per packet, errors where due, MORE at the end. */
	run_whole(x.b, x.n, SPLIT_ITEM_MAX, &run_a);
	assert_int_equal(run_a.n, sizeof(served) - 2 + 6);
	assert_int_equal(run_a.last, PROTO_PARSE_MORE);
	assert_int_equal(run_a.consumed, x.n);
}

static void
test_split_each_packet_every_boundary(void **state)
{
	static char keybuf[PROTO_KEY_MAX], valbuf[REC_VALUE_MAX];

	(void)state;
	for (unsigned j = 0; j < sizeof(served); j++) {
		for (unsigned iter = 0; iter < 3; iter++) {
			struct bytes x = {.n = 0};
			struct pkt p;

			random_packet(&x, served[j], &p, keybuf, valbuf, 300);
			assert_splits_identical(x.b, x.n, 0);
		}
	}
}

static void
test_split_closing_packets(void **state)
{
	struct bytes x = {.n = 0};

	(void)state;
	/* A good packet, then one with lengths that do not add up: closes after the first. */
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_GETK, .key = "ok", .opaque = 1});
	bheader(&x, BINARY_MAGIC_REQ, BINARY_CMD_SET, 10, 8, 0, 12, 2, 0);
	bput(&x, "0123456789abcdefghij", 20);
	assert_splits_identical(x.b, x.n, 0);
	assert_bytewise_identical(x.b, x.n, 0);
	run_whole(x.b, x.n, 0, &run_a);
	assert_int_equal(run_a.n, 2);
	assert_int_equal(run_a.rec[1].rc, PROTO_PARSE_CLOSE);
	assert_int_equal(run_a.rec[1].err, PROTO_ERR_BINARY_UNKNOWN);
}

/* ---------------------------------------------------------------------------------------- */
/* Pipelines                                                                                 */

static void
test_pipeline_quiet_gets_then_noop(void **state)
{
	struct bytes x = {.n = 0};
	static const char *const keys[] = {"xx", "wye", "zed"};
	struct pkt setq = {.opcode = BINARY_CMD_SETQ, .key = "s", .val = "v", .opaque = 20};

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		compose(&x, &(struct pkt){.opcode = BINARY_CMD_GETQ, .key = keys[i], .opaque = i});
	ext_store(&setq, 0, 0);
	compose(&x, &setq);
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_DELETEQ, .key = "d", .opaque = 21});
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_GETKQ, .key = "kq", .opaque = 22});
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_NOOP, .opaque = 13});
	run_whole(x.b, x.n, 0, &run_a);
	assert_int_equal(run_a.n, 7);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(run_a.rec[i].rc, PROTO_PARSE_OK);
		assert_int_equal(run_a.rec[i].req.flags, RC | QM);
		assert_int_equal(run_a.rec[i].req.bin.opaque, i);
		assert_memory_equal(run_a.rec[i].key, keys[i], strlen(keys[i]));
	}
	assert_int_equal(run_a.rec[3].req.flags, NR);
	assert_int_equal(run_a.rec[4].req.op, PROTO_OP_DELETE);
	assert_int_equal(run_a.rec[4].req.flags, NR);
	assert_int_equal(run_a.rec[5].req.flags, RC | RK | QM);
	assert_int_equal(run_a.rec[6].req.op, PROTO_OP_NOOP);
	assert_int_equal(run_a.rec[6].req.bin.opaque, 13);
	assert_int_equal(run_a.last, PROTO_PARSE_MORE);
	assert_splits_identical(x.b, x.n, 0);
}

/* A request cut short: MORE, nothing consumed beyond the header, then it completes. */
static void
test_incremental_resume(void **state)
{
	struct bytes x = {.n = 0};
	struct pkt p = {.opcode = BINARY_CMD_SET, .key = "key", .val = "value", .opaque = 4};
	struct binary_parser bp;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;

	(void)state;
	ext_store(&p, 7, 8);
	compose(&x, &p);
	binary_parser_init(&bp, 0);
	proto_input_init(&in);
	proto_input_add(&in, x.b, 10);
	assert_int_equal(binary_parse(&bp, &in, &req, &err), PROTO_PARSE_MORE);
	assert_int_equal(in.consumed, 0); /* a partial header stays in the input */
	proto_input_add(&in, x.b + 10, 20);
	assert_int_equal(binary_parse(&bp, &in, &req, &err), PROTO_PARSE_MORE);
	assert_int_equal(in.consumed, BINARY_HEADER_LEN);
	assert_int_equal(bp.state, BINARY_STATE_BODY);
	assert_int_equal(binary_parse(&bp, &in, &req, &err), PROTO_PARSE_MORE);
	proto_input_add(&in, x.b + 30, (uint32_t)(x.n - 30));
	assert_int_equal(binary_parse(&bp, &in, &req, &err), PROTO_PARSE_OK);
	assert_int_equal(err, PROTO_ERR_NONE);
	assert_int_equal(req.client_flags, 7);
	assert_int_equal(in.consumed, x.n);
	assert_int_equal(binary_parse(&bp, &in, &req, &err), PROTO_PARSE_MORE);
}

/* ---------------------------------------------------------------------------------------- */
/* Bad input                                                                                 */

/* Parse @p x alone and expect exactly one outcome. */
static const struct rec *
expect_one(const struct bytes *x, uint32_t item_max, enum proto_parse rc, enum proto_error err)
{
	const struct rec *r = parse_one(x, item_max, &run_a);

	assert_int_equal(r->rc, rc);
	assert_int_equal(r->err, err);
	return r;
}

static void
test_bad_magic_closes_silently(void **state)
{
	static const uint8_t magics[] = {0x00, 0x81, 0x7f, 'g', 0xff};

	(void)state;
	for (unsigned i = 0; i < sizeof(magics); i++) {
		struct bytes x = {.n = 0};
		struct binary_parser p;
		struct proto_input in;
		struct proto_request req;
		enum proto_error err;

		bheader(&x, magics[i], BINARY_CMD_NOOP, 0, 0, 0, 0, 0, 0);
		compose(&x, &(struct pkt){.opcode = BINARY_CMD_NOOP});
		expect_one(&x, 0, PROTO_PARSE_CLOSE, PROTO_ERR_NONE);
		/* Once closed, always closed. */
		binary_parser_init(&p, 0);
		proto_input_init(&in);
		proto_input_add(&in, x.b, (uint32_t)x.n);
		assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_CLOSE);
		assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_CLOSE);
		assert_int_equal(err, PROTO_ERR_NONE);
	}
}

/* key + extras > body: memcached answers "Unknown command" and closes. */
static void
test_lengths_exceed_body_closes_unknown(void **state)
{
	struct {
		uint8_t opcode;
		uint16_t keylen;
		uint8_t extlen;
		uint32_t bodylen;
	} cases[] = {
		{BINARY_CMD_GET, 5, 0, 4},
		{BINARY_CMD_SET, 3, 8, 10},
		{BINARY_CMD_NOOP, 0, 1, 0},
		{0x42, 1, 0, 0},
		{BINARY_CMD_GET, 300, 0, 100}, /* checked before the key length */
		{BINARY_CMD_INCREMENT, 0xffff, 0xff, 0},
	};

	(void)state;
	for (unsigned i = 0; i < NCASES(cases); i++) {
		struct bytes x = {.n = 0};
		const struct rec *r;

		bheader(&x, BINARY_MAGIC_REQ, cases[i].opcode, cases[i].keylen, cases[i].extlen, 0,
			cases[i].bodylen, 0xabcd0000 + i, 0);
		r = expect_one(&x, 0, PROTO_PARSE_CLOSE, PROTO_ERR_BINARY_UNKNOWN);
		assert_int_equal(r->req.kind, PROTO_BINARY);
		assert_int_equal(r->req.bin.opcode, cases[i].opcode);
		assert_int_equal(r->req.bin.opaque, 0xabcd0000 + i);
		/* Decided from the header alone: the body need not arrive. */
		assert_int_equal(run_a.consumed, BINARY_HEADER_LEN);
	}
}

static void
test_key_too_long_closes_invalid(void **state)
{
	char key[PROTO_KEY_MAX + 1];
	struct bytes x = {.n = 0};

	(void)state;
	memset(key, 'k', sizeof(key));
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_GET, .key = key, .keylen = sizeof(key)});
	expect_one(&x, 0, PROTO_PARSE_CLOSE, PROTO_ERR_BINARY_INVALID);
	/* Even for an opcode this server does not serve (memcached checks the key first). */
	x.n = 0;
	compose(&x, &(struct pkt){.opcode = 0x99, .key = key, .keylen = sizeof(key)});
	expect_one(&x, 0, PROTO_PARSE_CLOSE, PROTO_ERR_BINARY_INVALID);
	/* 250 is fine. */
	x.n = 0;
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_GET, .key = key, .keylen = PROTO_KEY_MAX});
	expect_one(&x, 0, PROTO_PARSE_OK, PROTO_ERR_NONE);
}

/* Extras, key or body wrong for the opcode: "Invalid arguments", then close. */
static void
test_wrong_shape_closes_invalid(void **state)
{
	struct {
		uint8_t opcode;
		uint16_t keylen;
		uint8_t extlen;
		uint32_t bodylen;
	} cases[] = {
		{BINARY_CMD_GET, 3, 4, 7},	       /* extras on a get */
		{BINARY_CMD_GETQ, 0, 0, 0},	       /* no key */
		{BINARY_CMD_GETK, 3, 0, 5},	       /* a value on a get */
		{BINARY_CMD_DELETE, 3, 0, 4},	       /* a value on a delete */
		{BINARY_CMD_DELETE, 3, 4, 7},	       /* memcached 1.6 takes no delete extras */
		{BINARY_CMD_DELETEQ, 0, 0, 0},	       /* no key */
		{BINARY_CMD_SET, 3, 4, 9},	       /* extras 4 */
		{BINARY_CMD_ADD, 0, 8, 10},	       /* no key */
		{BINARY_CMD_REPLACEQ, 3, 0, 5},	       /* no extras */
		{BINARY_CMD_APPEND, 3, 8, 12},	       /* extras on append */
		{BINARY_CMD_PREPENDQ, 0, 0, 4},	       /* no key */
		{BINARY_CMD_INCREMENT, 3, 8, 11},      /* extras 8 */
		{BINARY_CMD_DECREMENT, 3, 20, 24},     /* a value */
		{BINARY_CMD_INCREMENTQ, 0, 20, 20},    /* no key */
		{BINARY_CMD_QUIT, 0, 0, 1},	       /* a body */
		{BINARY_CMD_QUITQ, 1, 0, 1},	       /* a key */
		{BINARY_CMD_FLUSH, 0, 8, 8},	       /* extras 8 */
		{BINARY_CMD_FLUSH, 0, 4, 6},	       /* a value */
		{BINARY_CMD_FLUSHQ, 2, 0, 2},	       /* a key */
		{BINARY_CMD_NOOP, 0, 0, 3},	       /* a body */
		{BINARY_CMD_VERSION, 1, 0, 1},	       /* a key */
		{BINARY_CMD_STAT, 0, 4, 4},	       /* extras */
		{BINARY_CMD_VERBOSITY, 0, 0, 0},       /* no level */
		{BINARY_CMD_VERBOSITY, 1, 4, 5},       /* a key */
		{BINARY_CMD_TOUCH, 2, 0, 2},	       /* no exptime */
		{BINARY_CMD_GAT, 0, 4, 4},	       /* no key */
		{BINARY_CMD_GATKQ, 2, 8, 10},	       /* extras 8 */
		{BINARY_CMD_SASL_LIST_MECHS, 0, 0, 2}, /* memcached checks SASL packets too */
		{BINARY_CMD_SASL_AUTH, 0, 0, 3},
		{BINARY_CMD_SASL_STEP, 2, 4, 6},
	};

	(void)state;
	for (unsigned i = 0; i < NCASES(cases); i++) {
		struct bytes x = {.n = 0};
		const struct rec *r;

		bheader(&x, BINARY_MAGIC_REQ, cases[i].opcode, cases[i].keylen, cases[i].extlen, 0,
			cases[i].bodylen, i, 0);
		for (uint32_t b = 0; b < cases[i].bodylen; b++)
			bput8(&x, 'z');
		r = expect_one(&x, 0, PROTO_PARSE_CLOSE, PROTO_ERR_BINARY_INVALID);
		assert_int_equal(r->req.bin.opcode, cases[i].opcode);
		assert_int_equal(r->req.bin.opaque, i);
	}
}

/* Unknown opcodes: "Unknown command", body skipped, connection goes on. */
/*
 * SASL requests (memcached -S): list mechanisms; auth and step with the mechanism in .args
 * and the client's message as the value span, split anywhere.
 */
static void
test_sasl_requests(void **state)
{
	struct bytes x = {.n = 0};
	static const uint8_t msg[] = {0, 'u', 's', 'e', 'r', 0, 'p', 'w'};

	(void)state;
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_SASL_LIST_MECHS, .opaque = 1});
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_SASL_AUTH,
				  .key = "PLAIN",
				  .val = (const char *)msg,
				  .vallen = sizeof(msg),
				  .opaque = 2});
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_SASL_AUTH, .key = "PLAIN", .opaque = 3});
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_SASL_STEP,
				  .key = "PLAIN",
				  .val = (const char *)msg,
				  .vallen = sizeof(msg),
				  .opaque = 4});
	run_whole(x.b, x.n, 0, &run_a);
	assert_int_equal(run_a.n, 4);
	assert_int_equal(run_a.rec[0].rc, PROTO_PARSE_OK);
	assert_int_equal(run_a.rec[0].req.op, PROTO_OP_SASL_LIST);
	assert_int_equal(run_a.rec[1].rc, PROTO_PARSE_OK);
	assert_int_equal(run_a.rec[1].req.op, PROTO_OP_SASL_AUTH);
	assert_int_equal(run_a.rec[1].req.key_len, 0);
	assert_int_equal(run_a.rec[1].req.args_len, 5);
	assert_memory_equal(run_a.rec[1].args, "PLAIN", 5);
	assert_int_equal(run_a.rec[1].req.value.len, sizeof(msg));
	assert_memory_equal(run_a.rec[1].value, msg, sizeof(msg));
	assert_int_equal(run_a.rec[2].req.op, PROTO_OP_SASL_AUTH);
	assert_int_equal(run_a.rec[2].req.value.len, 0);
	assert_int_equal(run_a.rec[3].req.op, PROTO_OP_SASL_STEP);
	assert_int_equal(run_a.rec[3].req.bin.opaque, 4);
	assert_int_equal(run_a.last, PROTO_PARSE_MORE);
	assert_int_equal(run_a.consumed, x.n);
	assert_splits_identical(x.b, x.n, 0);
}

static void
test_unknown_opcode_skips_body(void **state)
{
	(void)state;
	for (unsigned op = 0; op < 256; op++) {
		struct bytes x = {.n = 0};
		bool is_served = false;

		for (unsigned j = 0; j < sizeof(served); j++)
			is_served |= served[j] == op;
		if (is_served || op == BINARY_CMD_SASL_LIST_MECHS || op == BINARY_CMD_SASL_AUTH ||
		    op == BINARY_CMD_SASL_STEP)
			continue; /* (SASL: test_sasl_requests) */
		{
			struct pkt p = {
				.opcode = (uint8_t)op, .key = "mech", .val = "data!", .opaque = op};

			ext_u32(&p, 0x80808080); /* looks like a magic: must be skipped */
			compose(&x, &p);
		}
		compose(&x, &(struct pkt){.opcode = BINARY_CMD_GET, .key = "after", .opaque = 77});
		run_whole(x.b, x.n, 0, &run_a);
		assert_int_equal(run_a.n, 2);
		assert_int_equal(run_a.rec[0].rc, PROTO_PARSE_ERROR);
		assert_int_equal(run_a.rec[0].err, PROTO_ERR_BINARY_UNKNOWN);
		assert_int_equal(run_a.rec[0].req.bin.opcode, op);
		assert_int_equal(run_a.rec[0].req.bin.opaque, op);
		assert_int_equal(run_a.rec[1].rc, PROTO_PARSE_OK);
		assert_int_equal(run_a.rec[1].req.bin.opaque, 77);
		assert_memory_equal(run_a.rec[1].key, "after", 5);
		assert_splits_identical(x.b, x.n, 0);
	}
}

/* A body of 4 GiB - 1 announced: skipped as it arrives, never waited for as a whole. */
static void
test_huge_unknown_body_skipped_incrementally(void **state)
{
	struct bytes x = {.n = 0};
	static uint8_t chunk[65536];
	struct binary_parser p;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;

	(void)state;
	bheader(&x, BINARY_MAGIC_REQ, 0x55, 0, 0, 0, 0xffffffffu, 5, 0);
	binary_parser_init(&p, 0);
	proto_input_init(&in);
	proto_input_add(&in, x.b, (uint32_t)x.n);
	assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_ERROR);
	assert_int_equal(err, PROTO_ERR_BINARY_UNKNOWN);
	assert_int_equal(req.bin.opaque, 5);
	for (unsigned i = 0; i < 10; i++) {
		proto_input_add(&in, chunk, sizeof(chunk));
		assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_MORE);
		assert_int_equal(proto_input_avail(&in), 0);
		proto_input_compact(&in);
	}
	assert_int_equal(p.skip, 0xffffffffu - 10 * sizeof(chunk));
}

/* A value over item_size_max: TOO_LARGE with the key, value skipped, the next packet parses. */
static void
test_too_large_value_swallowed(void **state)
{
	static char val[1025];
	struct bytes x = {.n = 0};
	struct pkt p = {.opcode = BINARY_CMD_SET,
			.key = "toobig",
			.val = val,
			.vallen = sizeof(val),
			.opaque = 31};
	const struct rec *r;

	(void)state;
	memset(val, 'v', sizeof(val));
	ext_store(&p, 1, 2);
	compose(&x, &p);
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_GET, .key = "toobig", .opaque = 32});
	run_whole(x.b, x.n, 1024, &run_a);
	assert_int_equal(run_a.n, 2);
	r = &run_a.rec[0];
	assert_int_equal(r->rc, PROTO_PARSE_ERROR);
	assert_int_equal(r->err, PROTO_ERR_TOO_LARGE);
	assert_int_equal(r->req.op, PROTO_OP_STORE);
	assert_int_equal(r->req.mode, PROTO_MODE_SET);
	assert_int_equal(r->req.flags, PROTO_F_REFUSED);
	assert_int_equal(r->req.bin.opaque, 31);
	assert_int_equal(r->req.key_len, 6);
	assert_memory_equal(r->key, "toobig", 6);
	assert_int_equal(r->req.value.len, 0);
	assert_int_equal(run_a.rec[1].rc, PROTO_PARSE_OK);
	assert_int_equal(run_a.rec[1].req.bin.opaque, 32);
	assert_splits_identical(x.b, x.n, 1024);
	assert_bytewise_identical(x.b, x.n, 1024);

	/* Exactly item_size_max is accepted; appends are limited the same way. */
	x.n = 0;
	p.vallen = 1024;
	compose(&x, &p);
	expect_one(&x, 1024, PROTO_PARSE_OK, PROTO_ERR_NONE);
	x.n = 0;
	compose(&x, &(struct pkt){
			    .opcode = BINARY_CMD_APPENDQ, .key = "a", .val = val, .vallen = 1025});
	r = expect_one(&x, 1024, PROTO_PARSE_ERROR, PROTO_ERR_TOO_LARGE);
	assert_int_equal(r->req.mode, PROTO_MODE_APPEND);
	assert_int_equal(r->req.flags, NR | PROTO_F_REFUSED);
}

/* TOO_LARGE is reported once extras and key are in, before any of the value arrives. */
static void
test_too_large_reported_before_value(void **state)
{
	struct bytes x = {.n = 0};
	struct binary_parser p;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	uint8_t ext[8] = {0};

	(void)state;
	bheader(&x, BINARY_MAGIC_REQ, BINARY_CMD_SET, 3, 8, 0, 0xfffffff0u, 6, 0);
	bput(&x, ext, sizeof(ext));
	bput(&x, "key", 3);
	binary_parser_init(&p, 0);
	proto_input_init(&in);
	proto_input_add(&in, x.b, (uint32_t)x.n - 1);
	assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_MORE);
	proto_input_add(&in, x.b + x.n - 1, 1);
	assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_ERROR);
	assert_int_equal(err, PROTO_ERR_TOO_LARGE);
	assert_memory_equal(req.key, "key", 3);
	assert_int_equal(p.state, BINARY_STATE_SKIP);
	assert_int_equal(p.skip, 0xfffffff0u - 11);
	assert_int_equal(binary_parse(&p, &in, &req, &err), PROTO_PARSE_MORE);
}

/* The parser goes on after every recoverable error, whichever error came before. */
static void
test_continues_after_each_recoverable_error(void **state)
{
	struct bytes x = {.n = 0};
	char big[33];

	(void)state;
	memset(big, 'x', sizeof(big));
	for (unsigned round = 0; round < 3; round++) {
		struct pkt set = {.opcode = BINARY_CMD_SET,
				  .key = "b",
				  .val = big,
				  .vallen = sizeof(big),
				  .opaque = 100 + round};

		ext_store(&set, 0, 0);
		compose(&x, &set);
		compose(&x, &(struct pkt){.opcode = 0xee, .val = "skip me", .opaque = 200 + round});
		compose(&x,
			&(struct pkt){.opcode = BINARY_CMD_SASL_LIST_MECHS, .opaque = 300 + round});
		compose(&x, &(struct pkt){
				    .opcode = BINARY_CMD_GETK, .key = "g", .opaque = 400 + round});
	}
	run_whole(x.b, x.n, 32, &run_a);
	assert_int_equal(run_a.n, 12);
	for (unsigned round = 0; round < 3; round++) {
		const struct rec *r = &run_a.rec[round * 4];

		assert_int_equal(r[0].err, PROTO_ERR_TOO_LARGE);
		assert_int_equal(r[0].req.bin.opaque, 100 + round);
		assert_int_equal(r[1].err, PROTO_ERR_BINARY_UNKNOWN);
		assert_int_equal(r[1].req.bin.opaque, 200 + round);
		assert_int_equal(r[2].rc, PROTO_PARSE_OK);
		assert_int_equal(r[2].req.op, PROTO_OP_SASL_LIST);
		assert_int_equal(r[2].req.bin.opaque, 300 + round);
		assert_int_equal(r[3].rc, PROTO_PARSE_OK);
		assert_int_equal(r[3].req.bin.opaque, 400 + round);
	}
	assert_splits_identical(x.b, x.n, 32);
	assert_bytewise_identical(x.b, x.n, 32);
}

/* Truncated input never reads past the end: every prefix of a pipeline gives MORE or less. */
static void
test_every_prefix_is_safe(void **state)
{
	static struct bytes x;

	(void)state;
	x.n = 0;
	build_pipeline(&x);
	run_whole(x.b, x.n, SPLIT_ITEM_MAX, &run_b);
	for (size_t len = 0; len < x.n; len++) {
		uint8_t *copy = malloc(len + 1); /* exact size: ASan catches any overread */

		assert_non_null(copy);
		memcpy(copy, x.b, len);
		run_whole(copy, len, SPLIT_ITEM_MAX, &run_a);
		assert_true(run_a.n <= run_b.n);
		assert_int_equal(run_a.last, PROTO_PARSE_MORE);
		for (unsigned i = 0; i < run_a.n; i++)
			assert_rec_equal(&run_a.rec[i], &run_b.rec[i]);
		free(copy);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                    */

struct outbuf {
	struct iovec iov[64];
	uint8_t buf[8192];
	struct proto_out out;
	uint8_t flat[16384];
	size_t n;
};

static struct outbuf ob;

static void
out_start(bool copy_values)
{
	proto_out_init(&ob.out, ob.iov, 64, ob.buf, sizeof(ob.buf), copy_values);
}

static void
assert_out(const struct bytes *want)
{
	ob.n = proto_out_flatten(&ob.out, ob.flat, sizeof(ob.flat));
	assert_int_equal(ob.n, want->n);
	assert_int_equal(ob.out.bytes, want->n);
	if (want->n > 0)
		assert_memory_equal(ob.flat, want->b, want->n);
}

/* Parse one packet into a request (the writer sees exactly what the parser produced). */
static struct proto_request wreq;

static const struct proto_request *
req_for(const struct pkt *p)
{
	struct bytes x = {.n = 0};
	static struct binary_parser bp;
	static struct proto_input in;
	static uint8_t keep[4096];
	enum proto_error err;

	compose(&x, p);
	memcpy(keep, x.b, x.n); /* the key points here */
	binary_parser_init(&bp, 0);
	proto_input_init(&in);
	proto_input_add(&in, keep, (uint32_t)x.n);
	assert_int_equal(binary_parse(&bp, &in, &wreq, &err), PROTO_PARSE_OK);
	return &wreq;
}

static const struct proto_request *
req_op(uint8_t opcode, const char *key, uint32_t opaque)
{
	struct pkt p = {.opcode = opcode, .key = key, .opaque = opaque};

	switch (opcode) {
	case BINARY_CMD_SET:
	case BINARY_CMD_SETQ:
	case BINARY_CMD_ADD:
	case BINARY_CMD_ADDQ:
	case BINARY_CMD_REPLACE:
	case BINARY_CMD_REPLACEQ:
		ext_store(&p, 0, 0);
		break;
	case BINARY_CMD_INCREMENT:
	case BINARY_CMD_INCREMENTQ:
	case BINARY_CMD_DECREMENT:
	case BINARY_CMD_DECREMENTQ:
		ext_arith(&p, 1, 0, 0);
		break;
	case BINARY_CMD_TOUCH:
	case BINARY_CMD_GAT:
	case BINARY_CMD_GATQ:
	case BINARY_CMD_GATK:
	case BINARY_CMD_GATKQ:
	case BINARY_CMD_VERBOSITY:
		ext_u32(&p, 0);
		break;
	default:
		break;
	}
	return req_for(&p);
}

/* Expected error packet: status, message body, cas 0. */
static void
want_error(struct bytes *w, uint8_t opcode, uint16_t status, const char *msg, uint32_t opaque)
{
	bheader(w, BINARY_MAGIC_RES, opcode, 0, 0, status, (uint32_t)strlen(msg), opaque, 0);
	bput(w, msg, strlen(msg));
}

static void
test_write_get_hits(void **state)
{
	static const uint8_t ops[] = {BINARY_CMD_GET,	BINARY_CMD_GETQ, BINARY_CMD_GETK,
				      BINARY_CMD_GETKQ, BINARY_CMD_GAT,	 BINARY_CMD_GATQ,
				      BINARY_CMD_GATK,	BINARY_CMD_GATKQ};
	struct proto_result res = {.status = PROTO_ST_HIT,
				   .value = "the value",
				   .value_len = 9,
				   .client_flags = 0xcafef00d,
				   .cas = 0x0102030405060708ULL};

	(void)state;
	for (unsigned i = 0; i < sizeof(ops); i++) {
		bool with_key = ops[i] == BINARY_CMD_GETK || ops[i] == BINARY_CMD_GETKQ ||
				ops[i] == BINARY_CMD_GATK || ops[i] == BINARY_CMD_GATKQ;
		struct bytes w = {.n = 0};

		out_start(true);
		assert_int_equal(binary_write(&ob.out, req_op(ops[i], "mykey", 0x11223344), &res),
				 0);
		bheader(&w, BINARY_MAGIC_RES, ops[i], with_key ? 5 : 0, 4, 0,
			4 + (with_key ? 5 : 0) + 9, 0x11223344, 0x0102030405060708ULL);
		bput32(&w, 0xcafef00d);
		if (with_key)
			bput(&w, "mykey", 5);
		bput(&w, "the value", 9);
		assert_out(&w);
	}
}

static void
test_write_get_misses(void **state)
{
	static const uint8_t ops[] = {BINARY_CMD_GET,	BINARY_CMD_GETQ, BINARY_CMD_GETK,
				      BINARY_CMD_GETKQ, BINARY_CMD_GAT,	 BINARY_CMD_GATQ,
				      BINARY_CMD_GATK,	BINARY_CMD_GATKQ};
	struct proto_result res = {.status = PROTO_ST_MISS, .cas = 5};

	(void)state;
	for (unsigned i = 0; i < sizeof(ops); i++) {
		struct bytes w = {.n = 0};
		uint8_t op = ops[i];

		out_start(true);
		assert_int_equal(binary_write(&ob.out, req_op(op, "nokey", 9), &res), 0);
		if (op == BINARY_CMD_GET || op == BINARY_CMD_GAT) {
			want_error(&w, op, 0x0001, "Not found", 9);
		} else if (op == BINARY_CMD_GETK || op == BINARY_CMD_GATK) {
			/* memcached: status 1, the key as key and as the whole body, no message */
			bheader(&w, BINARY_MAGIC_RES, op, 5, 0, 0x0001, 5, 9, 0);
			bput(&w, "nokey", 5);
		}
		assert_out(&w); /* quiet ones: nothing */
	}
}

static void
test_write_touch(void **state)
{
	struct proto_result hit = {.status = PROTO_ST_TOUCHED,
				   .client_flags = 3,
				   .cas = 44,
				   .value = "not sent",
				   .value_len = 8};
	struct proto_result miss = {.status = PROTO_ST_NOT_FOUND};
	struct bytes w = {.n = 0};

	(void)state;
	out_start(true);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_TOUCH, "t", 1), &hit), 0);
	hit.status = PROTO_ST_HIT;
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_TOUCH, "t", 2), &hit), 0);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_TOUCH, "t", 3), &miss), 0);
	for (uint32_t o = 1; o <= 2; o++) {
		bheader(&w, BINARY_MAGIC_RES, BINARY_CMD_TOUCH, 0, 4, 0, 4, o, 44);
		bput32(&w, 3);
	}
	want_error(&w, BINARY_CMD_TOUCH, 0x0001, "Not found", 3);
	assert_out(&w);
}

static void
test_write_store_outcomes(void **state)
{
	static const uint8_t ops[] = {
		BINARY_CMD_SET,	    BINARY_CMD_SETQ,	 BINARY_CMD_ADD,    BINARY_CMD_ADDQ,
		BINARY_CMD_REPLACE, BINARY_CMD_REPLACEQ, BINARY_CMD_APPEND, BINARY_CMD_APPENDQ,
		BINARY_CMD_PREPEND, BINARY_CMD_PREPENDQ,
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(ops); i++) {
		uint8_t op = ops[i];
		bool quiet = (op >= BINARY_CMD_SETQ && op <= BINARY_CMD_REPLACEQ) ||
			     op == BINARY_CMD_APPENDQ || op == BINARY_CMD_PREPENDQ;
		uint16_t not_stored = op == BINARY_CMD_ADD || op == BINARY_CMD_ADDQ ? 0x0002 :
				      op == BINARY_CMD_REPLACE || op == BINARY_CMD_REPLACEQ ?
										      0x0001 :
										      0x0005;
		struct {
			enum proto_status st;
			uint16_t status;
			const char *msg;
		} errs[] = {
			{PROTO_ST_NOT_STORED, not_stored, binary_status_message(not_stored)},
			{PROTO_ST_EXISTS, 0x0002, "Data exists for key."},
			{PROTO_ST_NOT_FOUND, 0x0001, "Not found"},
			{PROTO_ST_TOO_LARGE, 0x0003, "Too large."},
			{PROTO_ST_NO_MEMORY, 0x0082, "Out of memory allocating item"},
			{PROTO_ST_NOT_REPLICATED, 0x0086, "Temporary failure"},
			{PROTO_ST_NO_PRIMARY, 0x0086, "Temporary failure"},
		};
		struct proto_result ok = {.status = PROTO_ST_STORED, .cas = 0xabc};
		struct bytes w = {.n = 0};

		out_start(true);
		assert_int_equal(binary_write(&ob.out, req_op(op, "k", 70), &ok), 0);
		if (!quiet)
			bheader(&w, BINARY_MAGIC_RES, op, 0, 0, 0, 0, 70, 0xabc);
		for (unsigned e = 0; e < NCASES(errs); e++) {
			struct proto_result res = {.status = errs[e].st, .cas = 99};

			assert_int_equal(binary_write(&ob.out, req_op(op, "k", 71 + e), &res), 0);
			want_error(&w, op, errs[e].status, errs[e].msg, 71 + e);
		}
		assert_out(&w);
	}
}

/* set/add/replace with a cas are compare-and-swaps: a failed one is "Not stored." */
static void
test_write_cas_store_not_stored(void **state)
{
	struct pkt p = {.opcode = BINARY_CMD_ADD, .key = "k", .cas = 5, .opaque = 1};
	struct proto_result res = {.status = PROTO_ST_NOT_STORED};
	struct bytes w = {.n = 0};

	(void)state;
	ext_store(&p, 0, 0);
	out_start(true);
	assert_int_equal(binary_write(&ob.out, req_for(&p), &res), 0);
	want_error(&w, BINARY_CMD_ADD, 0x0005, "Not stored.", 1);
	assert_out(&w);
}

static void
test_write_delete(void **state)
{
	struct proto_result del = {.status = PROTO_ST_DELETED, .cas = 77};
	struct proto_result nf = {.status = PROTO_ST_NOT_FOUND};
	struct proto_result ex = {.status = PROTO_ST_EXISTS};
	struct bytes w = {.n = 0};

	(void)state;
	out_start(true);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_DELETE, "d", 1), &del), 0);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_DELETEQ, "d", 2), &del), 0);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_DELETEQ, "d", 3), &nf), 0);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_DELETE, "d", 4), &ex), 0);
	bheader(&w, BINARY_MAGIC_RES, BINARY_CMD_DELETE, 0, 0, 0, 0, 1, 0); /* cas 0 */
	want_error(&w, BINARY_CMD_DELETEQ, 0x0001, "Not found", 3);
	want_error(&w, BINARY_CMD_DELETE, 0x0002, "Data exists for key.", 4);
	assert_out(&w);
}

static void
test_write_arith(void **state)
{
	static const uint8_t ops[] = {BINARY_CMD_INCREMENT, BINARY_CMD_INCREMENTQ,
				      BINARY_CMD_DECREMENT, BINARY_CMD_DECREMENTQ};

	(void)state;
	for (unsigned i = 0; i < sizeof(ops); i++) {
		bool quiet = ops[i] == BINARY_CMD_INCREMENTQ || ops[i] == BINARY_CMD_DECREMENTQ;
		struct proto_result num = {
			.status = PROTO_ST_NUMBER, .number = 8589934804ULL, .cas = 12};
		struct proto_result bad = {.status = PROTO_ST_NON_NUMERIC};
		struct proto_result nf = {.status = PROTO_ST_NOT_FOUND};
		struct proto_result ex = {.status = PROTO_ST_EXISTS};
		struct proto_result oom = {.status = PROTO_ST_NO_MEMORY};
		struct bytes w = {.n = 0};

		out_start(true);
		assert_int_equal(binary_write(&ob.out, req_op(ops[i], "n", 1), &num), 0);
		assert_int_equal(binary_write(&ob.out, req_op(ops[i], "n", 2), &bad), 0);
		assert_int_equal(binary_write(&ob.out, req_op(ops[i], "n", 3), &nf), 0);
		assert_int_equal(binary_write(&ob.out, req_op(ops[i], "n", 4), &ex), 0);
		assert_int_equal(binary_write(&ob.out, req_op(ops[i], "n", 5), &oom), 0);
		if (!quiet) {
			bheader(&w, BINARY_MAGIC_RES, ops[i], 0, 0, 0, 8, 1, 12);
			bput64(&w, 8589934804ULL);
		}
		want_error(&w, ops[i], 0x0006, "Non-numeric server-side value for incr or decr", 2);
		want_error(&w, ops[i], 0x0001, "Not found", 3);
		want_error(&w, ops[i], 0x0002, "Data exists for key.", 4);
		want_error(&w, ops[i], 0x0082, "Out of memory incrementing value", 5);
		assert_out(&w);
	}
}

static void
test_write_simple_ops(void **state)
{
	static const uint8_t ops[] = {BINARY_CMD_FLUSH, BINARY_CMD_FLUSHQ, BINARY_CMD_NOOP,
				      BINARY_CMD_QUIT,	BINARY_CMD_QUITQ,  BINARY_CMD_VERBOSITY};
	struct proto_result ok = {.status = PROTO_ST_OK, .cas = 1234};

	(void)state;
	for (unsigned i = 0; i < sizeof(ops); i++) {
		bool quiet = ops[i] == BINARY_CMD_FLUSHQ || ops[i] == BINARY_CMD_QUITQ;
		struct bytes w = {.n = 0};

		out_start(true);
		assert_int_equal(binary_write(&ob.out, req_op(ops[i], NULL, 0xfffffffe), &ok), 0);
		if (!quiet)
			bheader(&w, BINARY_MAGIC_RES, ops[i], 0, 0, 0, 0, 0xfffffffe, 0);
		assert_out(&w);
	}
}

static void
test_write_version(void **state)
{
	struct proto_result res = {.status = PROTO_ST_VERSION, .text = "1.6.21"};
	struct bytes w = {.n = 0};

	(void)state;
	out_start(true);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_VERSION, NULL, 6), &res), 0);
	bheader(&w, BINARY_MAGIC_RES, BINARY_CMD_VERSION, 0, 0, 0, 6, 6, 0);
	bput(&w, "1.6.21", 6);
	assert_out(&w);
}

static void
test_write_stats(void **state)
{
	static const struct proto_stat stats[] = {
		{"pid", "1234"},
		{"uptime", "56"},
		{"empty", ""},
	};
	struct proto_result res = {.status = PROTO_ST_STATS, .stats = stats, .nstats = 3};
	struct proto_result none = {.status = PROTO_ST_STATS};
	struct proto_result miss = {.status = PROTO_ST_NOT_FOUND};
	struct proto_result oom = {.status = PROTO_ST_NO_MEMORY};
	struct bytes w = {.n = 0};

	(void)state;
	out_start(true);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_STAT, NULL, 8), &res), 0);
	for (unsigned i = 0; i < 3; i++) {
		size_t k = strlen(stats[i].name), v = strlen(stats[i].value);

		bheader(&w, BINARY_MAGIC_RES, BINARY_CMD_STAT, (uint16_t)k, 0, 0, (uint32_t)(k + v),
			8, 0);
		bput(&w, stats[i].name, k);
		bput(&w, stats[i].value, v);
	}
	bheader(&w, BINARY_MAGIC_RES, BINARY_CMD_STAT, 0, 0, 0, 0, 8, 0);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_STAT, NULL, 9), &none), 0);
	bheader(&w, BINARY_MAGIC_RES, BINARY_CMD_STAT, 0, 0, 0, 0, 9, 0);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_STAT, "nope", 10), &miss), 0);
	want_error(&w, BINARY_CMD_STAT, 0x0001, "Not found", 10);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_STAT, NULL, 11), &oom), 0);
	want_error(&w, BINARY_CMD_STAT, 0x0082, "Out of memory generating stats", 11);
	assert_out(&w);
}

static void
test_write_parse_errors(void **state)
{
	struct proto_request req = {.kind = PROTO_BINARY, .bin = {.opcode = 0x42, .opaque = 7}};
	struct bytes w = {.n = 0};

	(void)state;
	out_start(true);
	assert_int_equal(binary_write_error(&ob.out, &req, PROTO_ERR_NONE), 0);
	assert_int_equal(binary_write_error(&ob.out, &req, PROTO_ERR_BINARY_UNKNOWN), 0);
	assert_int_equal(binary_write_error(&ob.out, &req, PROTO_ERR_BINARY_INVALID), 0);
	assert_int_equal(binary_write_error(&ob.out, &req, PROTO_ERR_TOO_LARGE), 0);
	assert_int_equal(binary_write_error(&ob.out, &req, PROTO_ERR_UNKNOWN_COMMAND), 0);
	assert_int_equal(binary_write_error(&ob.out, &req, PROTO_ERR_KEY_TOO_LONG), 0);
	want_error(&w, 0x42, 0x0081, "Unknown command", 7);
	want_error(&w, 0x42, 0x0004, "Invalid arguments", 7);
	want_error(&w, 0x42, 0x0003, "Too large.", 7);
	want_error(&w, 0x42, 0x0081, "Unknown command", 7);
	want_error(&w, 0x42, 0x0004, "Invalid arguments", 7);
	assert_out(&w);
}

/* Every error the parser reports, answered from what the parser filled in. */
static void
test_parse_then_write_errors(void **state)
{
	struct bytes x = {.n = 0};
	struct bytes w = {.n = 0};
	char big[20];

	(void)state;
	memset(big, 'q', sizeof(big));
	{
		struct pkt p = {.opcode = BINARY_CMD_SETQ,
				.key = "k",
				.val = big,
				.vallen = 20,
				.opaque = 0xa1a2a3a4};

		ext_store(&p, 0, 0);
		compose(&x, &p);
	}
	compose(&x, &(struct pkt){.opcode = 0x30, .opaque = 0xb1b2b3b4});
	bheader(&x, BINARY_MAGIC_REQ, BINARY_CMD_GET, 0, 0, 0, 0, 0xc1c2c3c4, 0);
	run_whole(x.b, x.n, 16, &run_a);
	assert_int_equal(run_a.n, 3);
	out_start(true);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(binary_write_error(&ob.out, &run_a.rec[i].req, run_a.rec[i].err),
				 0);
	want_error(&w, BINARY_CMD_SETQ, 0x0003, "Too large.", 0xa1a2a3a4);
	want_error(&w, 0x30, 0x0081, "Unknown command", 0xb1b2b3b4);
	want_error(&w, BINARY_CMD_GET, 0x0004, "Invalid arguments", 0xc1c2c3c4);
	assert_out(&w);
	assert_int_equal(run_a.rec[2].rc, PROTO_PARSE_CLOSE);
}

/* The opaque is echoed byte for byte, as memcached copies it without swapping. */
static void
test_write_echoes_opaque_bytes(void **state)
{
	struct bytes x = {.n = 0};
	struct proto_result res = {.status = PROTO_ST_OK};

	(void)state;
	compose(&x, &(struct pkt){.opcode = BINARY_CMD_NOOP, .opaque = 0x00ff10ab});
	out_start(true);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_NOOP, NULL, 0x00ff10ab), &res), 0);
	ob.n = proto_out_flatten(&ob.out, ob.flat, sizeof(ob.flat));
	assert_memory_equal(ob.flat + 12, x.b + 12, 4);
}

static void
test_write_rejects_wrong_status(void **state)
{
	struct {
		uint8_t opcode;
		enum proto_status st;
	} cases[] = {
		{BINARY_CMD_GET, PROTO_ST_STORED},    {BINARY_CMD_SET, PROTO_ST_HIT},
		{BINARY_CMD_DELETE, PROTO_ST_NUMBER}, {BINARY_CMD_NOOP, PROTO_ST_VERSION},
		{BINARY_CMD_VERSION, PROTO_ST_STATS}, {BINARY_CMD_GAT, PROTO_ST_TOUCHED},
		{BINARY_CMD_STAT, PROTO_ST_OK},	      {BINARY_CMD_INCREMENT, PROTO_ST_DELETED},
	};

	(void)state;
	for (unsigned i = 0; i < NCASES(cases); i++) {
		struct proto_result res = {.status = cases[i].st};

		out_start(true);
		bool keyless =
			cases[i].opcode == BINARY_CMD_NOOP || cases[i].opcode == BINARY_CMD_VERSION;

		assert_int_equal(binary_write(&ob.out,
					      req_op(cases[i].opcode, keyless ? NULL : "k", 1),
					      &res),
				 -EINVAL);
		assert_int_equal(ob.out.bytes, 0);
	}
	{
		struct proto_result res = {.status = (enum proto_status)999};

		assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_GET, "k", 1), &res),
				 -EINVAL);
	}
}

/* A reply that does not fit leaves the output as it was (and flags the overflow). */
static void
test_write_overflow_rolls_back(void **state)
{
	static const struct proto_stat stats[] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
	struct proto_result hit = {.status = PROTO_ST_HIT, .value = "0123456789", .value_len = 10};
	struct proto_result st = {.status = PROTO_ST_STATS, .stats = stats, .nstats = 3};
	struct proto_result ok = {.status = PROTO_ST_OK};
	struct iovec iov[4];
	uint8_t buf[64];
	struct proto_out out;

	(void)state;
	for (uint32_t cap = 0; cap <= sizeof(buf); cap++) {
		for (int copy = 0; copy < 2; copy++) {
			int rc;

			proto_out_init(&out, iov, 4, buf, cap, copy);
			rc = binary_write(&out, req_op(BINARY_CMD_NOOP, NULL, 1), &ok);
			if (rc != 0) {
				assert_int_equal(rc, -ENOBUFS);
				assert_true(out.overflow);
				assert_int_equal(out.bytes, 0);
				continue;
			}
			uint64_t before = out.bytes;
			uint32_t niov = out.niov, used = out.used;
			size_t last = out.iov[niov - 1].iov_len;

			rc = binary_write(&out, req_op(BINARY_CMD_GETK, "key", 2), &hit);
			if (rc == 0) {
				assert_int_equal(out.bytes, before + 24 + 4 + 3 + 10);
			} else {
				assert_int_equal(rc, -ENOBUFS);
				assert_true(out.overflow);
				assert_int_equal(out.bytes, before);
				assert_int_equal(out.niov, niov);
				assert_int_equal(out.used, used);
				assert_int_equal(out.iov[niov - 1].iov_len, last);
			}
			before = out.bytes;
			niov = out.niov;
			used = out.used;
			rc = binary_write(&out, req_op(BINARY_CMD_STAT, NULL, 3), &st);
			if (rc != 0) {
				assert_int_equal(rc, -ENOBUFS);
				assert_int_equal(out.bytes, before);
				assert_int_equal(out.niov, niov);
				assert_int_equal(out.used, used);
			}
		}
	}
}

/* copy_values false: the value is referenced in place, everything else copied. */
static void
test_write_references_values(void **state)
{
	static const char value[] = "referenced value";
	struct proto_result hit = {.status = PROTO_ST_HIT, .value = value, .value_len = 16};

	(void)state;
	out_start(false);
	assert_int_equal(binary_write(&ob.out, req_op(BINARY_CMD_GET, "k", 1), &hit), 0);
	assert_int_equal(ob.out.niov, 2);
	assert_ptr_equal(ob.out.iov[1].iov_base, value);
	assert_int_equal(ob.out.iov[1].iov_len, 16);
	assert_int_equal(ob.out.iov[0].iov_len, 24 + 4);
}

static void
test_status_messages_and_names(void **state)
{
	(void)state;
	assert_string_equal(binary_status_message(0x0000), "");
	assert_string_equal(binary_status_message(0x0001), "Not found");
	assert_string_equal(binary_status_message(0x0002), "Data exists for key.");
	assert_string_equal(binary_status_message(0x0003), "Too large.");
	assert_string_equal(binary_status_message(0x0004), "Invalid arguments");
	assert_string_equal(binary_status_message(0x0005), "Not stored.");
	assert_string_equal(binary_status_message(0x0006),
			    "Non-numeric server-side value for incr or decr");
	assert_string_equal(binary_status_message(0x0081), "Unknown command");
	assert_string_equal(binary_status_message(0x0082), "Out of memory");
	assert_string_equal(binary_status_message(0x7777), "");
	assert_string_equal(binary_opcode_name(BINARY_CMD_GETKQ), "GETKQ");
	assert_string_equal(binary_opcode_name(BINARY_CMD_GATKQ), "GATKQ");
	assert_string_equal(binary_opcode_name(0xff), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_key_only_opcodes),
		cmocka_unit_test(test_parse_store_opcodes),
		cmocka_unit_test(test_parse_concat_opcodes),
		cmocka_unit_test(test_parse_arith_opcodes),
		cmocka_unit_test(test_parse_touch_opcodes),
		cmocka_unit_test(test_parse_keyless_opcodes),
		cmocka_unit_test(test_parse_flush_delay_stat_group_verbosity),
		cmocka_unit_test(test_parse_key_and_value_lengths),
		cmocka_unit_test(test_parse_key_pointer_or_copy),
		cmocka_unit_test(test_parse_value_is_span),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_split_pipeline_every_boundary),
		cmocka_unit_test(test_split_each_packet_every_boundary),
		cmocka_unit_test(test_split_closing_packets),
		cmocka_unit_test(test_pipeline_quiet_gets_then_noop),
		cmocka_unit_test(test_incremental_resume),
		cmocka_unit_test(test_bad_magic_closes_silently),
		cmocka_unit_test(test_lengths_exceed_body_closes_unknown),
		cmocka_unit_test(test_key_too_long_closes_invalid),
		cmocka_unit_test(test_wrong_shape_closes_invalid),
		cmocka_unit_test(test_unknown_opcode_skips_body),
		cmocka_unit_test(test_sasl_requests),
		cmocka_unit_test(test_huge_unknown_body_skipped_incrementally),
		cmocka_unit_test(test_too_large_value_swallowed),
		cmocka_unit_test(test_too_large_reported_before_value),
		cmocka_unit_test(test_continues_after_each_recoverable_error),
		cmocka_unit_test(test_every_prefix_is_safe),
		cmocka_unit_test(test_write_get_hits),
		cmocka_unit_test(test_write_get_misses),
		cmocka_unit_test(test_write_touch),
		cmocka_unit_test(test_write_store_outcomes),
		cmocka_unit_test(test_write_cas_store_not_stored),
		cmocka_unit_test(test_write_delete),
		cmocka_unit_test(test_write_arith),
		cmocka_unit_test(test_write_simple_ops),
		cmocka_unit_test(test_write_version),
		cmocka_unit_test(test_write_stats),
		cmocka_unit_test(test_write_parse_errors),
		cmocka_unit_test(test_parse_then_write_errors),
		cmocka_unit_test(test_write_echoes_opaque_bytes),
		cmocka_unit_test(test_write_rejects_wrong_status),
		cmocka_unit_test(test_write_overflow_rolls_back),
		cmocka_unit_test(test_write_references_values),
		cmocka_unit_test(test_status_messages_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
