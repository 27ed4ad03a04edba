/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for proto/text.h: the memcached text protocol parser and writer.
 *
 * Every input a test parses is also parsed split at every byte boundary, in 1-byte segments,
 * at every pair of boundaries (short inputs) and at random places, and must give the same
 * requests, errors and end position as the unsplit input. The runner copies each segment into
 * its own buffer, compacts the input after PROTO_PARSE_MORE and poisons and frees what it
 * dropped; when the input is full it coalesces the unconsumed bytes into one buffer (allowed
 * after PROTO_PARSE_MORE), so a parser that kept a pointer into the input would be caught.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/input.h"
#include "proto/output.h"
#include "proto/parse.h"
#include "proto/request.h"
#include "proto/text.h"

/* ------------------------------------------------------------------------------------------ */
/* Running inputs through the parser                                                           */

/* What one text_parse() call returned, copied out at once. */
struct rec {
	enum proto_parse rc;
	enum proto_error err;
	enum proto_op op;
	enum proto_kind kind;
	enum proto_mode mode;
	uint32_t flags;
	uint32_t key_len;
	char key[PROTO_KEY_MAX + 1];
	uint32_t client_flags;
	int64_t exptime;
	uint64_t cas;
	uint64_t delta;
	uint32_t level;
	char *args; /* NULL when req->args was NULL */
	uint32_t args_len;
	uint8_t *value; /* STORE only */
	uint32_t value_len;
};

struct run {
	struct rec *r;
	unsigned n;
	unsigned cap;
	uint64_t consumed; /* where the cursor ended, from the start of the input */
	bool closed;
};

/* Segments the runner chained, in the input's order (so compaction can free them). */
struct segs {
	uint8_t *buf[PROTO_INPUT_SEGS_MAX];
	uint32_t len[PROTO_INPUT_SEGS_MAX];
	unsigned n;
};

static struct text_parser parser;
static uint32_t item_max; /* text_parser_init() argument for the next runs (0 = default) */

static void
run_free(struct run *run)
{
	for (unsigned i = 0; i < run->n; i++) {
		free(run->r[i].args);
		free(run->r[i].value);
	}
	free(run->r);
	memset(run, 0, sizeof(*run));
}

/* Whether [p, p + len) lies inside one segment of the input. */
static bool
in_input(const struct proto_input *in, const char *p, uint32_t len)
{
	for (unsigned s = 0; s < in->nsegs; s++) {
		uintptr_t b = (uintptr_t)in->seg[s].data, a = (uintptr_t)p;

		if (a >= b && a + len <= b + in->seg[s].len)
			return true;
	}
	return false;
}

/* A pointer a request hands out must be in the input, in the parser, or "" for no key. */
static void
check_ptr(const struct proto_input *in, const struct proto_request *req, const char *p,
	  uint32_t len)
{
	if (len == 0)
		return;
	assert_non_null(p);
	if (in_input(in, p, len))
		return;
	if (text_parser_owns(&parser, p) && text_parser_owns(&parser, p + len - 1))
		return;
	if (p >= (const char *)req->meta.key_bin &&
	    p + len <= (const char *)req->meta.key_bin + sizeof(req->meta.key_bin))
		return;
	fail_msg("a request points outside the input and the parser");
}

static void
record(struct run *run, enum proto_parse rc, enum proto_error err,
       const struct proto_request *req, const struct proto_input *in)
{
	struct rec *r;

	if (run->n == run->cap) {
		run->cap = run->cap ? run->cap * 2 : 16;
		run->r = realloc(run->r, sizeof(*run->r) * run->cap);
		assert_non_null(run->r);
	}
	r = &run->r[run->n++];
	memset(r, 0, sizeof(*r));
	r->rc = rc;
	r->err = err;
	if (rc != PROTO_PARSE_OK && rc != PROTO_PARSE_ERROR)
		return;
	r->op = req->op;
	r->kind = req->kind;
	r->flags = req->flags;
	if (rc == PROTO_PARSE_ERROR && req->op != PROTO_OP_STORE)
		return; /* the rest of an error request is unspecified */
	r->mode = req->mode;
	check_ptr(in, req, req->key, req->key_len);
	assert_true(req->key_len <= PROTO_KEY_MAX);
	r->key_len = req->key_len;
	if (req->key_len > 0)
		memcpy(r->key, req->key, req->key_len);
	r->client_flags = req->client_flags;
	r->exptime = req->exptime;
	r->cas = req->cas;
	if (req->kind == PROTO_TEXT) {
		r->delta = req->delta;
		r->level = req->level;
		if (req->args != NULL) {
			check_ptr(in, req, req->args, req->args_len);
			r->args = malloc(req->args_len + 1);
			assert_non_null(r->args);
			memcpy(r->args, req->args, req->args_len);
			r->args[req->args_len] = '\0';
			r->args_len = req->args_len;
		}
	}
	if (rc == PROTO_PARSE_OK && req->op == PROTO_OP_STORE) {
		uint64_t room = 0;

		/* The span must lie in the input. */
		assert_true(req->value.seg < in->nsegs || req->value.len == 0);
		for (unsigned s = req->value.seg; s < in->nsegs; s++)
			room += in->seg[s].len - (s == req->value.seg ? req->value.off : 0);
		assert_true(req->value.len == 0 || req->value.off < in->seg[req->value.seg].len);
		assert_true(room >= req->value.len);
		r->value = malloc(req->value.len + 1);
		assert_non_null(r->value);
		proto_gather(in, &req->value, r->value);
		r->value_len = req->value.len;
	}
}

/* Parse until the parser wants more; false once it closed. */
static bool
drain(struct run *run, struct proto_input *in)
{
	for (unsigned guard = 0;; guard++) {
		struct proto_request req;
		enum proto_error err = PROTO_ERROR_COUNT;
		enum proto_parse rc;

		assert_true(guard < 1000000);
		memset(&req, 0xa5, sizeof(req));
		rc = text_parse(&parser, in, &req, &err);
		if (rc == PROTO_PARSE_MORE) {
			assert_int_equal(err, PROTO_ERR_NONE);
			return true;
		}
		record(run, rc, err, &req, in);
		if (rc == PROTO_PARSE_CLOSE) {
			assert_int_equal(err, PROTO_ERR_NONE);
			return false;
		}
		if (rc == PROTO_PARSE_OK)
			assert_int_equal(err, PROTO_ERR_NONE);
		else
			assert_int_not_equal(err, PROTO_ERR_NONE);
	}
}

static void
poison_free(uint8_t *b, uint32_t len)
{
	memset(b, 0xee, len);
	free(b);
}

/* Drop the segments the cursor passed (poisoned, freed). */
static void
compact(struct proto_input *in, struct segs *sg)
{
	unsigned k = proto_input_compact(in);

	for (unsigned i = 0; i < k; i++)
		poison_free(sg->buf[i], sg->len[i]);
	memmove(sg->buf, sg->buf + k, sizeof(sg->buf[0]) * (sg->n - k));
	memmove(sg->len, sg->len + k, sizeof(sg->len[0]) * (sg->n - k));
	sg->n -= k;
}

/* Move the unconsumed bytes into one new segment (legal after PROTO_PARSE_MORE). */
static void
coalesce(struct proto_input *in, struct segs *sg, uint64_t *base)
{
	uint64_t avail = proto_input_avail(in);
	uint8_t *b = malloc(avail + 1);

	assert_non_null(b);
	proto_input_copy(in, b, (uint32_t)avail);
	*base += in->consumed;
	for (unsigned i = 0; i < sg->n; i++)
		poison_free(sg->buf[i], sg->len[i]);
	sg->n = 0;
	proto_input_init(in);
	if (avail > 0) {
		assert_int_equal(proto_input_add(in, b, (uint32_t)avail), 0);
		sg->buf[0] = b;
		sg->len[0] = (uint32_t)avail;
		sg->n = 1;
	} else {
		free(b);
	}
}

/* Parse @p buf fed as segments ending at cuts[0..ncuts) (ascending) and at len. */
static void
run_cuts(const void *buf, size_t len, const size_t *cuts, unsigned ncuts, struct run *run)
{
	struct proto_input in;
	struct segs sg = {.n = 0};
	uint64_t base = 0;
	size_t prev = 0;
	bool open = true;

	memset(run, 0, sizeof(*run));
	text_parser_init(&parser, item_max);
	proto_input_init(&in);
	for (unsigned k = 0; k <= ncuts && open; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		uint8_t *b;

		if (end <= prev)
			continue;
		b = malloc(end - prev);
		assert_non_null(b);
		memcpy(b, (const uint8_t *)buf + prev, end - prev);
		if (in.nsegs == PROTO_INPUT_SEGS_MAX)
			coalesce(&in, &sg, &base);
		assert_int_equal(proto_input_add(&in, b, (uint32_t)(end - prev)), 0);
		sg.buf[sg.n] = b;
		sg.len[sg.n++] = (uint32_t)(end - prev);
		prev = end;
		open = drain(run, &in);
		if (open)
			compact(&in, &sg);
	}
	run->closed = !open;
	run->consumed = base + in.consumed;
	for (unsigned i = 0; i < sg.n; i++)
		poison_free(sg.buf[i], sg.len[i]);
}

static void
compare_runs(const struct run *a, const struct run *b, const char *how)
{
	if (a->n != b->n || a->closed != b->closed || a->consumed != b->consumed)
		fail_msg("%s: %u results (closed %d, consumed %" PRIu64 ") vs %u (closed %d, "
			 "consumed %" PRIu64 ")",
			 how, a->n, a->closed, a->consumed, b->n, b->closed, b->consumed);
	for (unsigned i = 0; i < a->n; i++) {
		const struct rec *x = &a->r[i], *y = &b->r[i];

		if (x->rc != y->rc || x->err != y->err || x->op != y->op || x->kind != y->kind ||
		    x->mode != y->mode || x->flags != y->flags || x->key_len != y->key_len ||
		    memcmp(x->key, y->key, x->key_len) != 0 || x->client_flags != y->client_flags ||
		    x->exptime != y->exptime || x->cas != y->cas || x->delta != y->delta ||
		    x->level != y->level || (x->args == NULL) != (y->args == NULL) ||
		    x->args_len != y->args_len ||
		    (x->args != NULL && memcmp(x->args, y->args, x->args_len) != 0) ||
		    x->value_len != y->value_len ||
		    (x->value_len > 0 && memcmp(x->value, y->value, x->value_len) != 0))
			fail_msg("%s: result %u differs (rc %d/%d err %d/%d op %d/%d key %.*s/%.*s)",
				 how, i, x->rc, y->rc, x->err, y->err, x->op, y->op, (int)x->key_len,
				 x->key, (int)y->key_len, y->key);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* The unsplit run of @p buf, checked against every segmentation described at the top. */
static void
parse_checked(const void *buf, size_t len, struct run *base)
{
	struct run r;
	size_t *cuts = malloc(sizeof(size_t) * (len + 64));
	char how[64];

	assert_non_null(cuts);
	run_cuts(buf, len, NULL, 0, base);
	for (size_t c = 1; c < len; c++) {
		run_cuts(buf, len, &c, 1, &r);
		snprintf(how, sizeof(how), "split at %zu", c);
		compare_runs(base, &r, how);
		run_free(&r);
	}
	for (size_t c = 0; c < len; c++)
		cuts[c] = c + 1;
	if (len > 1) {
		run_cuts(buf, len, cuts, (unsigned)(len - 1), &r);
		compare_runs(base, &r, "1-byte segments");
		run_free(&r);
	}
	if (len <= 100) {
		for (size_t a = 1; a < len; a++)
			for (size_t b = a + 1; b < len; b++) {
				size_t two[2] = {a, b};

				run_cuts(buf, len, two, 2, &r);
				snprintf(how, sizeof(how), "split at %zu and %zu", a, b);
				compare_runs(base, &r, how);
				run_free(&r);
			}
	}
	for (int k = 0; k < 40 && len > 1; k++) {
		unsigned n = 1 + (unsigned)(rng() % 40);

		for (unsigned i = 0; i < n; i++)
			cuts[i] = 1 + (size_t)(rng() % (len - 1));
		qsort(cuts, n, sizeof(size_t), cmp_size);
		run_cuts(buf, len, cuts, n, &r);
		compare_runs(base, &r, "random segments");
		run_free(&r);
	}
	free(cuts);
}

/* Parse a string literal (NULs included) checked at every segmentation. */
#define PARSE(run, lit) parse_checked((lit), sizeof(lit) - 1, (run))

/* ------------------------------------------------------------------------------------------ */
/* Expectations                                                                                */

static void
want_req(const struct run *run, unsigned i, enum proto_op op, uint32_t flags, const char *key)
{
	const struct rec *r;

	if (i >= run->n)
		fail_msg("result %u missing (%u results)", i, run->n);
	r = &run->r[i];
	if (r->rc != PROTO_PARSE_OK)
		fail_msg("result %u: rc %d err %d (%s), wanted a request", i, r->rc, r->err,
			 proto_error_reply(r->err));
	assert_int_equal(r->kind, PROTO_TEXT);
	assert_int_equal(r->op, op);
	assert_int_equal(r->flags, flags);
	if (key != NULL) {
		assert_int_equal(r->key_len, strlen(key));
		assert_memory_equal(r->key, key, r->key_len);
	}
}

static void
want_err(const struct run *run, unsigned i, enum proto_error err)
{
	const struct rec *r;

	if (i >= run->n)
		fail_msg("result %u missing (%u results)", i, run->n);
	r = &run->r[i];
	if (r->rc != PROTO_PARSE_ERROR)
		fail_msg("result %u: rc %d op %d, wanted error %d", i, r->rc, r->op, err);
	assert_int_equal(r->err, err);
}

static void
want_value(const struct run *run, unsigned i, const void *v, uint32_t len)
{
	assert_true(i < run->n);
	assert_int_equal(run->r[i].value_len, len);
	if (len > 0)
		assert_memory_equal(run->r[i].value, v, len);
}

static void
want_count(const struct run *run, unsigned n, bool closed)
{
	if (run->n != n)
		fail_msg("%u results, wanted %u", run->n, n);
	assert_int_equal(run->closed, closed);
}

#define ONE (PROTO_F_MULTI_FIRST | PROTO_F_MULTI_LAST)

/* ------------------------------------------------------------------------------------------ */
/* Retrieval                                                                                   */

static void
test_get_one_key(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "get foo\r\n");
	want_count(&r, 1, false);
	want_req(&r, 0, PROTO_OP_GET, ONE, "foo");
	assert_int_equal(r.consumed, 9);
	run_free(&r);
}

static void
test_get_keys_in_order(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "get a  bb ccc \r\ngets x\r\n");
	want_count(&r, 4, false);
	want_req(&r, 0, PROTO_OP_GET, PROTO_F_MULTI_FIRST, "a");
	want_req(&r, 1, PROTO_OP_GET, 0, "bb");
	want_req(&r, 2, PROTO_OP_GET, PROTO_F_MULTI_LAST, "ccc");
	want_req(&r, 3, PROTO_OP_GET, ONE | PROTO_F_RETURN_CAS, "x");
	run_free(&r);
}

static void
test_gat_gats(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "gat 100 k1 k2\r\ngats -5 k3\r\n");
	want_count(&r, 3, false);
	want_req(&r, 0, PROTO_OP_GAT, PROTO_F_MULTI_FIRST, "k1");
	assert_int_equal(r.r[0].exptime, 100);
	want_req(&r, 1, PROTO_OP_GAT, PROTO_F_MULTI_LAST, "k2");
	assert_int_equal(r.r[1].exptime, 100);
	want_req(&r, 2, PROTO_OP_GAT, ONE | PROTO_F_RETURN_CAS, "k3");
	assert_int_equal(r.r[2].exptime, -5);
	run_free(&r);
}

/* memcached answers "gat 10" with just "END": one request without a key. */
static void
test_gat_without_key(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "gat 10\r\nget a\r\n");
	want_count(&r, 2, false);
	want_req(&r, 0, PROTO_OP_GAT, ONE, "");
	want_req(&r, 1, PROTO_OP_GET, ONE, "a");
	run_free(&r);
}

static void
test_gat_bad_exptime(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "gat abc k\r\ngats 1x k\r\nget a\r\n");
	want_count(&r, 3, false);
	want_err(&r, 0, PROTO_ERR_BAD_EXPTIME);
	want_err(&r, 1, PROTO_ERR_BAD_EXPTIME);
	want_req(&r, 2, PROTO_OP_GET, ONE, "a");
	run_free(&r);
}

static void
test_bget_is_get(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "bget a b\r\nbget\r\n");
	want_count(&r, 3, false);
	want_req(&r, 0, PROTO_OP_GET, PROTO_F_MULTI_FIRST, "a");
	want_req(&r, 1, PROTO_OP_GET, PROTO_F_MULTI_LAST, "b");
	want_err(&r, 2, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
}

static void
test_get_without_key(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "get\r\nget    \r\ngets\r\ngat\r\nget a\r\n");
	want_count(&r, 5, false);
	for (unsigned i = 0; i < 4; i++)
		want_err(&r, i, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 4, PROTO_OP_GET, ONE, "a");
	run_free(&r);
}

/* More keys than memcached's 24 tokens: all of them, in order. */
static void
test_get_many_keys(void **state)
{
	char buf[2048];
	size_t n = 0;
	struct run r;
	char key[16];

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "gets");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " key%d", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\nget z\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 101, false);
	for (int i = 0; i < 100; i++) {
		uint32_t f = PROTO_F_RETURN_CAS | (i == 0 ? PROTO_F_MULTI_FIRST : 0) |
			     (i == 99 ? PROTO_F_MULTI_LAST : 0);

		snprintf(key, sizeof(key), "key%d", i);
		want_req(&r, (unsigned)i, PROTO_OP_GET, f, key);
	}
	want_req(&r, 100, PROTO_OP_GET, ONE, "z");
	run_free(&r);
}

static void
test_get_key_limit(void **state)
{
	char buf[700];
	char k250[251], k251[252];
	struct run r;
	size_t n;

	(void)state;
	memset(k250, 'k', 250);
	k250[250] = '\0';
	memset(k251, 'q', 251);
	k251[251] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "get %s\r\nget a %s b\r\nget c\r\n", k250, k251);
	parse_checked(buf, n, &r);
	want_count(&r, 3, false);
	want_req(&r, 0, PROTO_OP_GET, ONE, k250);
	/* No key of a line with a too long key is produced. */
	want_err(&r, 1, PROTO_ERR_KEY_TOO_LONG);
	want_req(&r, 2, PROTO_OP_GET, ONE, "c");
	run_free(&r);
}

/* A too long key past memcached's first batch of 24 tokens still fails the whole line. */
static void
test_get_key_too_long_after_many(void **state)
{
	char buf[2048];
	size_t n = 0;
	struct run r;

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "get");
	for (int i = 0; i < 30; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " k%d", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " ");
	memset(buf + n, 'x', 251);
	n += 251;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " y\r\nget ok\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 2, false);
	want_err(&r, 0, PROTO_ERR_KEY_TOO_LONG);
	want_req(&r, 1, PROTO_OP_GET, ONE, "ok");
	run_free(&r);
}

/* Keys are any bytes but space: tabs and "\r" inside belong to the key. */
static void
test_get_odd_key_bytes(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "get a\tb c\rd \r\r\nget e\r\r\n");
	want_count(&r, 4, false);
	want_req(&r, 0, PROTO_OP_GET, PROTO_F_MULTI_FIRST, "a\tb");
	want_req(&r, 1, PROTO_OP_GET, 0, "c\rd");
	/* Only the "\r" right before "\n" ends the line; the one before it is a key. */
	want_req(&r, 2, PROTO_OP_GET, PROTO_F_MULTI_LAST, "\r");
	want_req(&r, 3, PROTO_OP_GET, ONE, "e\r");
	run_free(&r);
}

/* memcached reads a line as a C string: a NUL ends it. */
static void
test_nul_ends_line(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "get a\0b c\r\nget x y\0\r\nset k 0 0 1\0junk\r\nZ\r\n");
	want_count(&r, 4, false);
	want_req(&r, 0, PROTO_OP_GET, ONE, "a");
	want_req(&r, 1, PROTO_OP_GET, PROTO_F_MULTI_FIRST, "x");
	want_req(&r, 2, PROTO_OP_GET, PROTO_F_MULTI_LAST, "y");
	want_req(&r, 3, PROTO_OP_STORE, 0, "k");
	want_value(&r, 3, "Z", 1);
	/* "\0\r\n" alone: an empty line. */
	run_free(&r);
	PARSE(&r, "\0\r\n");
	want_count(&r, 1, false);
	want_err(&r, 0, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
}

/* ------------------------------------------------------------------------------------------ */
/* Storage                                                                                     */

static void
test_store_modes(void **state)
{
	static const struct {
		const char *cmd;
		enum proto_mode mode;
	} modes[] = {
		{"set", PROTO_MODE_SET},	 {"add", PROTO_MODE_ADD},
		{"replace", PROTO_MODE_REPLACE}, {"append", PROTO_MODE_APPEND},
		{"prepend", PROTO_MODE_PREPEND},
	};
	char buf[128];
	struct run r;

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		size_t n = (size_t)snprintf(buf, sizeof(buf), "%s key 12 34 5\r\nhello\r\n",
					    modes[i].cmd);

		parse_checked(buf, n, &r);
		want_count(&r, 1, false);
		want_req(&r, 0, PROTO_OP_STORE, 0, "key");
		assert_int_equal(r.r[0].mode, modes[i].mode);
		assert_int_equal(r.r[0].client_flags, 12);
		assert_int_equal(r.r[0].exptime, 34);
		assert_int_equal(r.r[0].cas, 0);
		want_value(&r, 0, "hello", 5);
		assert_int_equal(r.consumed, n);
		run_free(&r);
	}
}

static void
test_cas(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "cas k 1 2 3 18446744073709551615\r\nabc\r\ncas k 1 2 3 77 noreply\r\nxyz\r\n"
		  "cas k 1 2 3\r\n");
	want_count(&r, 3, false);
	want_req(&r, 0, PROTO_OP_STORE, 0, "k");
	assert_int_equal(r.r[0].mode, PROTO_MODE_CAS);
	assert_true(r.r[0].cas == UINT64_MAX);
	want_value(&r, 0, "abc", 3);
	want_req(&r, 1, PROTO_OP_STORE, PROTO_F_NOREPLY, "k");
	assert_int_equal(r.r[1].cas, 77);
	want_value(&r, 1, "xyz", 3);
	want_err(&r, 2, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
}

/* The block may hold any bytes, "\r\n" and NUL included; 0 bytes is a value too. */
static void
test_store_binary_value(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "set k 0 0 6\r\n\r\n\0\n\r\r\r\nset e 0 0 0\r\n\r\nget k\r\n");
	want_count(&r, 3, false);
	want_value(&r, 0, "\r\n\0\n\r\r", 6);
	want_req(&r, 1, PROTO_OP_STORE, 0, "e");
	want_value(&r, 1, "", 0);
	want_req(&r, 2, PROTO_OP_GET, ONE, "k");
	run_free(&r);
}

static void
test_store_noreply(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "set k 0 0 1 noreply\r\na\r\nadd k 0 0 1 junk\r\nb\r\n");
	want_count(&r, 2, false);
	want_req(&r, 0, PROTO_OP_STORE, PROTO_F_NOREPLY, "k");
	/* A sixth token that is not "noreply" is ignored, as memcached does. */
	want_req(&r, 1, PROTO_OP_STORE, 0, "k");
	run_free(&r);
}

/* memcached answers "set foo" and other wrong token counts with "ERROR". */
static void
test_store_token_count(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "set foo\r\nset foo 0 0\r\nadd a 0 0 1 noreply x\r\nreplace\r\nget a\r\n");
	want_count(&r, 5, false);
	for (unsigned i = 0; i < 4; i++)
		want_err(&r, i, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 4, PROTO_OP_GET, ONE, "a");
	run_free(&r);
}

/*
 * Bad numbers: CLIENT_ERROR bad command line format, and the data block is not skipped
 * (memcached reads it as the next command line).
 */
static void
test_store_bad_length(void **state)
{
	static const char *const lens[] = {
		"-1", "abc", "1x", "", "99999999999999999999", "2147483646", "2147483648",
		"4294967295", "-2147483648", "+", "--1", "0x10",
	};
	char buf[128];
	struct run r;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = (size_t)snprintf(buf, sizeof(buf), "set k 0 0 %s\r\nget a\r\n", lens[i]);

		parse_checked(buf, n, &r);
		if (lens[i][0] == '\0') {
			/* "set k 0 0" has too few tokens. */
			want_count(&r, 2, false);
			want_err(&r, 0, PROTO_ERR_UNKNOWN_COMMAND);
		} else {
			want_count(&r, 2, false);
			want_err(&r, 0, PROTO_ERR_BAD_FORMAT);
		}
		want_req(&r, 1, PROTO_OP_GET, ONE, "a");
		run_free(&r);
	}
}

/* strtol()'s leniency, as memcached inherits it, and 64-bit Linux truncation to 32 bits. */
static void
test_store_number_forms(void **state)
{
	struct run r;

	(void)state;
	/* Leading white space inside the token, a plus sign, trailing white space. */
	PARSE(&r, "set k \t7 +8 3\t\r\nabc\r\n");
	want_count(&r, 1, false);
	assert_int_equal(r.r[0].client_flags, 7);
	assert_int_equal(r.r[0].exptime, 8);
	want_value(&r, 0, "abc", 3);
	run_free(&r);
	/* 4294967297 keeps its low 32 bits: a length of 1 (memcached on 64-bit Linux). */
	PARSE(&r, "set k 4294967296 4294967295 4294967297\r\nx\r\n");
	want_count(&r, 1, false);
	assert_int_equal(r.r[0].client_flags, 0);
	assert_int_equal(r.r[0].exptime, -1);
	want_value(&r, 0, "x", 1);
	run_free(&r);
	/* Flags must not be negative; exptime may. */
	PARSE(&r, "set k -1 0 1\r\nset k 0 -60 1\r\nx\r\nset k -0 0 1\r\ny\r\n");
	want_count(&r, 3, false);
	want_err(&r, 0, PROTO_ERR_BAD_FORMAT);
	want_req(&r, 1, PROTO_OP_STORE, 0, "k");
	assert_int_equal(r.r[1].exptime, -60);
	want_req(&r, 2, PROTO_OP_STORE, 0, "k");
	run_free(&r);
	/*
	 * strtoul("-9223372036854775809") wraps to 2^63 - 1, which does not look negative, so
	 * memcached accepts it (low 32 bits kept); past 2^64 is out of range.
	 */
	PARSE(&r, "set k -9223372036854775809 0 1\r\nx\r\nset k 18446744073709551616 0 1\r\n"
		  "get a\r\n");
	want_count(&r, 3, false);
	want_req(&r, 0, PROTO_OP_STORE, 0, "k");
	assert_int_equal(r.r[0].client_flags, 0xffffffffu);
	want_err(&r, 1, PROTO_ERR_BAD_FORMAT);
	want_req(&r, 2, PROTO_OP_GET, ONE, "a");
	run_free(&r);
}

static void
test_store_key_too_long(void **state)
{
	char buf[700];
	char k[252];
	struct run r;
	size_t n;

	(void)state;
	memset(k, 'k', 251);
	k[251] = '\0';
	n = (size_t)snprintf(buf, sizeof(buf), "set %s 0 0 1\r\nx\r\nset %.250s 0 0 1\r\ny\r\n", k,
			     k);
	parse_checked(buf, n, &r);
	want_count(&r, 3, false);
	want_err(&r, 0, PROTO_ERR_KEY_TOO_LONG);
	/* The block was not skipped: "x" is read as a command. */
	want_err(&r, 1, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 2, PROTO_OP_STORE, 0, NULL);
	assert_int_equal(r.r[2].key_len, 250);
	run_free(&r);
}

/* Under noreply memcached hides the command's error replies too. */
static void
test_noreply_hides_errors(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "set k 0 0 x noreply\r\nset k 0 0 noreply\r\nincr k x noreply\r\n"
		  "touch k x noreply\r\ndelete k 5 noreply\r\nflush_all x noreply\r\n"
		  "verbosity x noreply\r\nverbosity noreply\r\nset k 0 0 1 noreply\r\nabc\r\n"
		  "get a\r\n");
	want_count(&r, 11, false);
	for (unsigned i = 0; i < 9; i++)
		want_err(&r, i, PROTO_ERR_NOREPLY_ONLY);
	/* "\r\n" after the bad chunk is an empty line: "ERROR" is not hidden. */
	want_err(&r, 9, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 10, PROTO_OP_GET, ONE, "a");
	run_free(&r);
}

/*
 * A block not ending in "\r\n": its length + 2 bytes are consumed, CLIENT_ERROR bad data
 * chunk, and parsing goes on right after them.
 */
static void
test_bad_data_chunk(void **state)
{
	static const char in[] = "set a 0 0 1\r\nabc\r\nset b 0 0 2\r\nxy\nget c\r\n"
				 "set d 0 0 1\r\nq\n\n";
	struct run r;

	(void)state;
	PARSE(&r, in);
	want_count(&r, 5, false);
	want_err(&r, 0, PROTO_ERR_BAD_CHUNK);
	want_err(&r, 1, PROTO_ERR_UNKNOWN_COMMAND); /* the "\r\n" left of "abc\r\n" */
	want_err(&r, 2, PROTO_ERR_BAD_CHUNK);	    /* "xy\ng" */
	want_err(&r, 3, PROTO_ERR_UNKNOWN_COMMAND); /* "et c" */
	want_err(&r, 4, PROTO_ERR_BAD_CHUNK);	    /* "q\n\n" */
	assert_int_equal(r.consumed, sizeof(in) - 1);
	run_free(&r);
}

static void
test_too_large(void **state)
{
	char buf[1024];
	struct run r;
	size_t n;

	(void)state;
	item_max = 100;
	n = (size_t)snprintf(buf, sizeof(buf), "set big 5 0 99\r\n");
	memset(buf + n, 'v', 99);
	n += 99;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\nset ok 0 0 98\r\n");
	memset(buf + n, 'w', 98);
	n += 98;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\nappend big 0 0 200 noreply\r\n");
	memset(buf + n, 'z', 200);
	n += 200;
	/* The dropped block is not checked for "\r\n". */
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "!!get a\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 4, false);
	want_err(&r, 0, PROTO_ERR_TOO_LARGE);
	/* The error request names the command, for the worker to unlink the old item. */
	assert_int_equal(r.r[0].op, PROTO_OP_STORE);
	assert_int_equal(r.r[0].mode, PROTO_MODE_SET);
	assert_int_equal(r.r[0].flags, PROTO_F_REFUSED);
	assert_int_equal(r.r[0].key_len, 3);
	assert_memory_equal(r.r[0].key, "big", 3);
	want_req(&r, 1, PROTO_OP_STORE, 0, "ok");
	assert_int_equal(r.r[1].value_len, 98);
	want_err(&r, 2, PROTO_ERR_NOREPLY_ONLY);
	assert_int_equal(r.r[2].mode, PROTO_MODE_APPEND);
	assert_int_equal(r.r[2].flags, PROTO_F_NOREPLY | PROTO_F_REFUSED);
	want_req(&r, 3, PROTO_OP_GET, ONE, "a");
	run_free(&r);
	item_max = 0;
}

/* A refused block much larger than the input holds is dropped across many calls. */
static void
test_too_large_streamed(void **state)
{
	struct text_parser *p = &parser;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	static uint8_t chunk[4096];
	const char *line = "set k 0 0 3000000\r\n";
	uint64_t left = 3000000 + 2;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	text_parser_init(p, 0);
	proto_input_init(&in);
	proto_input_add(&in, line, (uint32_t)strlen(line));
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_MORE);
	while (left > 0) {
		uint32_t n = left < sizeof(chunk) ? (uint32_t)left : (uint32_t)sizeof(chunk);

		proto_input_compact(&in);
		proto_input_add(&in, chunk, n);
		left -= n;
		if (left > 0)
			assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_MORE);
	}
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_ERROR);
	assert_int_equal(err, PROTO_ERR_TOO_LARGE);
	assert_int_equal(req.key_len, 1);
	assert_memory_equal(req.key, "k", 1);
	assert_true(text_parser_owns(p, req.key));
	proto_input_add(&in, "get k\r\n", 7);
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_OK);
	assert_int_equal(req.op, PROTO_OP_GET);
}

/* ------------------------------------------------------------------------------------------ */
/* Other commands                                                                              */

static void
test_incr_decr(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "incr n 5\r\ndecr n 18446744073709551615 noreply\r\nincr n -1\r\nincr n x\r\n"
		  "decr n\r\nincr n 1 2 3\r\nincr n -0\r\n");
	want_count(&r, 7, false);
	want_req(&r, 0, PROTO_OP_ARITH, PROTO_F_INCR, "n");
	assert_int_equal(r.r[0].delta, 5);
	want_req(&r, 1, PROTO_OP_ARITH, PROTO_F_NOREPLY, "n");
	assert_true(r.r[1].delta == UINT64_MAX);
	want_err(&r, 2, PROTO_ERR_BAD_DELTA);
	want_err(&r, 3, PROTO_ERR_BAD_DELTA);
	want_err(&r, 4, PROTO_ERR_UNKNOWN_COMMAND);
	want_err(&r, 5, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 6, PROTO_OP_ARITH, PROTO_F_INCR, "n");
	assert_int_equal(r.r[6].delta, 0);
	run_free(&r);
}

static void
test_touch(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "touch k 30\r\ntouch k -1 noreply\r\ntouch k x\r\ntouch k\r\n");
	want_count(&r, 4, false);
	want_req(&r, 0, PROTO_OP_TOUCH, 0, "k");
	assert_int_equal(r.r[0].exptime, 30);
	want_req(&r, 1, PROTO_OP_TOUCH, PROTO_F_NOREPLY, "k");
	assert_int_equal(r.r[1].exptime, -1);
	want_err(&r, 2, PROTO_ERR_BAD_EXPTIME);
	want_err(&r, 3, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
}

/* memcached 1.6: delete <key> [0] [noreply]; any other hold time is a usage error. */
static void
test_delete(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "delete a\r\ndelete b 0\r\ndelete c noreply\r\ndelete d 0 noreply\r\n"
		  "delete e 1\r\ndelete f 0 x\r\ndelete g noreply 0\r\ndelete h 1 2 3\r\n"
		  "delete\r\ndelete noreply\r\n");
	want_count(&r, 10, false);
	want_req(&r, 0, PROTO_OP_DELETE, 0, "a");
	want_req(&r, 1, PROTO_OP_DELETE, 0, "b");
	want_req(&r, 2, PROTO_OP_DELETE, PROTO_F_NOREPLY, "c");
	want_req(&r, 3, PROTO_OP_DELETE, PROTO_F_NOREPLY, "d");
	want_err(&r, 4, PROTO_ERR_DELETE_USAGE);
	want_err(&r, 5, PROTO_ERR_DELETE_USAGE);
	want_err(&r, 6, PROTO_ERR_DELETE_USAGE);
	want_err(&r, 7, PROTO_ERR_UNKNOWN_COMMAND);
	want_err(&r, 8, PROTO_ERR_UNKNOWN_COMMAND);
	/* With two tokens "noreply" is the key. */
	want_req(&r, 9, PROTO_OP_DELETE, 0, "noreply");
	run_free(&r);
	assert_string_equal(proto_error_reply(PROTO_ERR_DELETE_USAGE),
			    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
}

static void
test_flush_all(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "flush_all\r\nflush_all 10\r\nflush_all noreply\r\nflush_all 5 noreply\r\n"
		  "flush_all -1\r\nflush_all x\r\nflush_all noreply 5\r\nflush_all 1 2\r\n"
		  "flush_all 1 2 3\r\n");
	want_count(&r, 9, false);
	want_req(&r, 0, PROTO_OP_FLUSH, 0, NULL);
	assert_int_equal(r.r[0].exptime, 0);
	want_req(&r, 1, PROTO_OP_FLUSH, 0, NULL);
	assert_int_equal(r.r[1].exptime, 10);
	want_req(&r, 2, PROTO_OP_FLUSH, PROTO_F_NOREPLY, NULL);
	want_req(&r, 3, PROTO_OP_FLUSH, PROTO_F_NOREPLY, NULL);
	assert_int_equal(r.r[3].exptime, 5);
	want_req(&r, 4, PROTO_OP_FLUSH, 0, NULL);
	assert_int_equal(r.r[4].exptime, -1);
	want_err(&r, 5, PROTO_ERR_BAD_EXPTIME);
	want_err(&r, 6, PROTO_ERR_BAD_EXPTIME); /* "noreply" read as the delay */
	want_req(&r, 7, PROTO_OP_FLUSH, 0, NULL);
	assert_int_equal(r.r[7].exptime, 1);
	want_err(&r, 8, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
}

static void
test_version_quit_verbosity(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "version\r\nversion extra words\r\nverbosity 1\r\nverbosity 2 noreply\r\n"
		  "verbosity\r\nverbosity x\r\nverbosity 1 2 3\r\nquit\r\n");
	want_count(&r, 8, false);
	want_req(&r, 0, PROTO_OP_VERSION, 0, NULL);
	want_req(&r, 1, PROTO_OP_VERSION, 0, NULL);
	want_req(&r, 2, PROTO_OP_VERBOSITY, 0, NULL);
	assert_int_equal(r.r[2].level, 1);
	want_req(&r, 3, PROTO_OP_VERBOSITY, PROTO_F_NOREPLY, NULL);
	assert_int_equal(r.r[3].level, 2);
	want_err(&r, 4, PROTO_ERR_UNKNOWN_COMMAND);
	want_err(&r, 5, PROTO_ERR_BAD_FORMAT);
	want_err(&r, 6, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 7, PROTO_OP_QUIT, 0, NULL);
	run_free(&r);
}

static void
test_stats(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "stats\r\nstats items\r\nstats  cachedump 1  2  \r\n");
	want_count(&r, 3, false);
	want_req(&r, 0, PROTO_OP_STATS, 0, NULL);
	assert_null(r.r[0].args);
	want_req(&r, 1, PROTO_OP_STATS, 0, NULL);
	assert_string_equal(r.r[1].args, "items");
	want_req(&r, 2, PROTO_OP_STATS, 0, NULL);
	assert_string_equal(r.r[2].args, "cachedump 1  2");
	run_free(&r);
	/* lru_crawler: the rest of the line for the worker (issue 12: metadump) */
	PARSE(&r, "lru_crawler metadump all \r\nlru_crawler\r\n");
	want_count(&r, 2, false);
	want_req(&r, 0, PROTO_OP_LRU_CRAWLER, 0, NULL);
	assert_string_equal(r.r[0].args, "metadump all");
	want_req(&r, 1, PROTO_OP_LRU_CRAWLER, 0, NULL);
	assert_null(r.r[1].args);
	run_free(&r);
	/* snapshot [name] (issue 15): the name, or none, for the worker */
	PARSE(&r, "snapshot\r\nsnapshot  daily.snap \r\nsnapshots\r\n");
	want_count(&r, 3, false);
	want_req(&r, 0, PROTO_OP_SNAPSHOT, 0, NULL);
	assert_null(r.r[0].args);
	want_req(&r, 1, PROTO_OP_SNAPSHOT, 0, NULL);
	assert_string_equal(r.r[1].args, "daily.snap");
	want_err(&r, 2, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
}

static void
test_unknown_commands(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "foo\r\nx\r\n\r\n\n   \r\nGETS a\r\ngetx a\r\nsetx\r\nshutdownx\r\n"
		  "slabs reassign 1 2\r\nwatch\r\nlru mode flat\r\nmx a\r\nverbose 1\r\n");
	want_count(&r, 14, false);
	for (unsigned i = 0; i < 14; i++)
		want_err(&r, i, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
	/* shutdown is a command (the server decides whether it is enabled: -A). */
	PARSE(&r, "shutdown\r\nshutdown graceful\r\n");
	want_count(&r, 2, false);
	assert_int_equal(r.r[0].op, PROTO_OP_SHUTDOWN);
	assert_int_equal(r.r[1].op, PROTO_OP_SHUTDOWN);
	run_free(&r);
}

/* memcached closes on an unknown command whose last token starts with "HTTP/". */
static void
test_http_closes(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "GET / HTTP/1.1\r\nget a\r\n");
	want_count(&r, 1, true);
	assert_int_equal(r.r[0].rc, PROTO_PARSE_CLOSE);
	run_free(&r);
	PARSE(&r, "POST /x HTTP/1.0\n");
	want_count(&r, 1, true);
	run_free(&r);
	/* Known commands and the g s a c i d t families answer instead. */
	PARSE(&r, "get / HTTP/1.1\r\ngET / HTTP/1.1\r\nsomething HTTP/\r\nfoo HTTP\r\n");
	want_count(&r, 5, false);
	want_req(&r, 0, PROTO_OP_GET, PROTO_F_MULTI_FIRST, "/");
	want_req(&r, 1, PROTO_OP_GET, PROTO_F_MULTI_LAST, "HTTP/1.1");
	want_err(&r, 2, PROTO_ERR_UNKNOWN_COMMAND);
	want_err(&r, 3, PROTO_ERR_UNKNOWN_COMMAND);
	want_err(&r, 4, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
	PARSE(&r, "PUT HTTP/1.1 x\r\nZZ x HTTP/2\r\n");
	want_count(&r, 2, true);
	want_err(&r, 0, PROTO_ERR_UNKNOWN_COMMAND);
	run_free(&r);
}

/* A bare "\n" ends a line; a data block still needs "\r\n". */
static void
test_lf_lines(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "get a\nset b 0 0 1\nx\r\ndelete b\n");
	want_count(&r, 3, false);
	want_req(&r, 0, PROTO_OP_GET, ONE, "a");
	want_req(&r, 1, PROTO_OP_STORE, 0, "b");
	want_value(&r, 1, "x", 1);
	want_req(&r, 2, PROTO_OP_DELETE, 0, "b");
	run_free(&r);
}

/* More tokens than memcached's tokenizer hands out: the count is capped at 23. */
static void
test_token_cap(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "stats a b c d e f g h i j k l m n o p q r s t u v w x y z\r\n"
		  "version 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25\r\n");
	want_count(&r, 2, false);
	want_req(&r, 0, PROTO_OP_STATS, 0, NULL);
	assert_string_equal(r.r[0].args, "a b c d e f g h i j k l m n o p q r s t u v w x y z");
	want_req(&r, 1, PROTO_OP_VERSION, 0, NULL);
	run_free(&r);
}

/* ------------------------------------------------------------------------------------------ */
/* Line length limits                                                                          */

/*
 * Fill @p buf with @p head, then @p fill up to @p line bytes, then "\n" (when nl) and @p tail.
 * @return the length.
 */
static size_t
make_line(char *buf, const char *head, char fill, size_t line, bool nl, const char *tail)
{
	size_t n = strlen(head);

	memcpy(buf, head, n);
	memset(buf + n, fill, line - n);
	n = line;
	if (nl)
		buf[n++] = '\n';
	memcpy(buf + n, tail, strlen(tail));
	return n + strlen(tail);
}

/*
 * memcached reads a line whole when its "\n" lies within its read buffer (16384 bytes): the
 * parser decides on the bytes alone, whatever the segments.
 */
static void
test_line_read_limit(void **state)
{
	static char buf[PROTO_LINE_READ_MAX + 64];
	struct run r;
	size_t n;

	(void)state;
	/* PROTO_LINE_READ_MAX bytes without "\n": close. */
	n = make_line(buf, "", 'x', PROTO_LINE_READ_MAX, false, "");
	parse_checked(buf, n, &r);
	want_count(&r, 1, true);
	assert_int_equal(r.r[0].rc, PROTO_PARSE_CLOSE);
	run_free(&r);
	/* One byte less: still waiting (the caller may close: text_parser_line_stalled). */
	parse_checked(buf, PROTO_LINE_READ_MAX - 1, &r);
	want_count(&r, 0, false);
	assert_int_equal(r.consumed, 0);
	run_free(&r);
	/* A "\n" at offset PROTO_LINE_READ_MAX - 1 still ends a line (an unknown command). */
	n = make_line(buf, "", 'x', PROTO_LINE_READ_MAX - 1, true, "get a\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 2, false);
	want_err(&r, 0, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 1, PROTO_OP_GET, ONE, "a");
	run_free(&r);
	/* One byte further: close, even though the "\n" is there. */
	n = make_line(buf, "", 'x', PROTO_LINE_READ_MAX, true, "get a\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 1, true);
	run_free(&r);
	/* A set line of 16383 bytes is stored (memcached: STORED)... */
	n = make_line(buf, "set k 0 0 1", ' ', PROTO_LINE_READ_MAX - 1, true, "v\r\nget k\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 2, false);
	want_req(&r, 0, PROTO_OP_STORE, 0, "k");
	want_value(&r, 0, "v", 1);
	want_req(&r, 1, PROTO_OP_GET, ONE, "k");
	run_free(&r);
	/* ... one byte longer closes. */
	n = make_line(buf, "set k 0 0 1", ' ', PROTO_LINE_READ_MAX, true, "v\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 1, true);
	run_free(&r);
}

/*
 * Issue 12: lines over PROTO_LINE_MAX whose "\n" came with them are served as memcached 1.6.18
 * serves them (it closed them before): set with padding, a 3000-digit number, gat/gats with
 * 400 keys, mg with spaces or too many flags, ms waiting for its block, stats.
 */
static void
test_long_lines_served(void **state)
{
	static char buf[8192];
	char key[16];
	struct run r;
	size_t n;

	(void)state;
	/* "set k 0 0 5" + 3000 spaces: STORED. */
	n = make_line(buf, "set k 0 0 5", ' ', 3011, false, "\r\nhello\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 1, false);
	want_req(&r, 0, PROTO_OP_STORE, 0, "k");
	want_value(&r, 0, "hello", 5);
	run_free(&r);
	/* Flags of 3000 zeros: STORED with flags 0. */
	n = make_line(buf, "set k ", '0', 3006, false, " 7 5 noreply\r\nhello\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 1, false);
	want_req(&r, 0, PROTO_OP_STORE, PROTO_F_NOREPLY, "k");
	assert_int_equal(r.r[0].client_flags, 0);
	assert_int_equal(r.r[0].exptime, 7);
	run_free(&r);
	/* gat 9 key000 .. key399 (2.8 KB): 400 GAT requests. */
	for (int verb = 0; verb < 2; verb++) {
		n = (size_t)snprintf(buf, sizeof(buf), verb ? "gats 9" : "gat 9");
		for (int i = 0; i < 400; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " key%03d", i);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\nget z\r\n");
		parse_checked(buf, n, &r);
		want_count(&r, 401, false);
		for (int i = 0; i < 400; i++) {
			uint32_t f = (verb ? PROTO_F_RETURN_CAS : 0) |
				     (i == 0 ? PROTO_F_MULTI_FIRST : 0) |
				     (i == 399 ? PROTO_F_MULTI_LAST : 0);

			snprintf(key, sizeof(key), "key%03d", i);
			want_req(&r, (unsigned)i, PROTO_OP_GAT, f, key);
			assert_int_equal(r.r[i].exptime, 9);
		}
		want_req(&r, 400, PROTO_OP_GET, ONE, "z");
		run_free(&r);
	}
	/* mg k v + 3000 spaces: a meta get; mg k v v ... (1200 flags): too many flags. */
	n = make_line(buf, "mg k v", ' ', 3006, false, "\r\nmg k ");
	for (int i = 0; i < 1200; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "v ");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 2, false);
	assert_int_equal(r.r[0].rc, PROTO_PARSE_OK);
	assert_int_equal(r.r[0].kind, PROTO_META);
	assert_int_equal(r.r[0].op, PROTO_OP_GET);
	assert_memory_equal(r.r[0].key, "k", 1);
	want_err(&r, 1, PROTO_ERR_META_TOO_MANY_FLAGS);
	run_free(&r);
	/* ms with a long line: its block comes later in some segmentations. */
	n = make_line(buf, "ms k 2 T9 F3", ' ', 3000, false, "\r\nhi\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 1, false);
	assert_int_equal(r.r[0].kind, PROTO_META);
	assert_int_equal(r.r[0].op, PROTO_OP_STORE);
	assert_int_equal(r.r[0].client_flags, 3);
	want_value(&r, 0, "hi", 2);
	run_free(&r);
	/* stats: args from the first argument; longer than PROTO_LINE_MAX they are cut. */
	n = make_line(buf, "stats", ' ', 3000, false, "items  \r\nstats ");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", "x");
	memset(buf + n, 'y', 3000);
	n += 3000;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 2, false);
	assert_string_equal(r.r[0].args, "items");
	assert_int_equal(r.r[1].args_len, PROTO_LINE_MAX);
	assert_int_equal(r.r[1].args[0], 'x');
	run_free(&r);
}

/*
 * A long line assembled from segments: what the request keeps (key, opaque) is moved into the
 * parser before the segments go, also while an ms waits for its block.
 */
static void
test_long_line_pointers_kept(void **state)
{
	struct text_parser *p = &parser;
	static char line[4096];
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	char *a, *b, *c;
	size_t n = make_line(line, "ms somekey 5 O12345 k", ' ', 3000, false, "\r\nhe");
	uint8_t val[8];

	(void)state;
	text_parser_init(p, 0);
	proto_input_init(&in);
	a = malloc(1000);
	b = malloc(n - 1000);
	assert_non_null(a);
	assert_non_null(b);
	memcpy(a, line, 1000);
	memcpy(b, line + 1000, n - 1000);
	proto_input_add(&in, a, 1000);
	proto_input_add(&in, b, (uint32_t)(n - 1000));
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_MORE);
	/* Only "he" is left: rebuild the input from it and destroy the old buffers. */
	assert_int_equal(proto_input_avail(&in), 2);
	memset(a, '#', 1000);
	memset(b, '#', n - 1000);
	free(a);
	free(b);
	c = strdup("hello\r\n");
	proto_input_init(&in);
	proto_input_add(&in, c, 7);
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_OK);
	assert_int_equal(req.kind, PROTO_META);
	assert_int_equal(req.key_len, 7);
	assert_memory_equal(req.key, "somekey", 7);
	assert_true(text_parser_owns(p, req.key));
	assert_int_equal(req.meta.opaque_len, 5);
	assert_memory_equal(req.meta.opaque, "12345", 5);
	assert_true(text_parser_owns(p, req.meta.opaque));
	proto_gather(&in, &req.value, val);
	assert_memory_equal(val, "hello", 5);
	free(c);
}

/* A get line of 300 60-byte keys (> PROTO_LINE_READ_MAX): keys are produced as they come. */
static void
test_long_get_streamed(void **state)
{
	static char buf[24000];
	struct run r;
	size_t n = 0;
	char key[64];

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "   gets");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " k%03d%055d", i, i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "   \r\nget z\r\n");
	assert_true(n > PROTO_LINE_READ_MAX + 1);
	parse_checked(buf, n, &r);
	want_count(&r, 301, false);
	for (int i = 0; i < 300; i++) {
		uint32_t f = PROTO_F_RETURN_CAS | (i == 0 ? PROTO_F_MULTI_FIRST : 0) |
			     (i == 299 ? PROTO_F_MULTI_LAST : 0);

		snprintf(key, sizeof(key), "k%03d%055d", i, i);
		want_req(&r, (unsigned)i, PROTO_OP_GET, f, key);
	}
	want_req(&r, 300, PROTO_OP_GET, ONE, "z");
	assert_int_equal(r.consumed, n);
	run_free(&r);
}

/*
 * "\r" handling, NUL, a 250-byte key, odd spacing: the same keys whether the line is read
 * whole (pad 2100: a long line, assembled when it straddles) or streamed (pad 17000).
 */
static void
test_long_get_edges(void **state)
{
	static char buf[2 * 17000 + 8192];
	static const size_t pads[] = {2100, 17000};
	char k250[251];
	struct run r;

	(void)state;
	memset(k250, 'K', 249);
	k250[249] = '\r';
	k250[250] = '\0';
	for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
		size_t n = 0;

		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "get ");
		memset(buf + n, ' ', pads[i]);
		n += pads[i];
		/* 249 'K' and "\r\r\n": the key is 249 'K' and one "\r" (250 bytes). */
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a\rb \r %s\r\nget ", k250);
		memset(buf + n, ' ', pads[i]);
		n += pads[i];
		memcpy(buf + n, "c\0ignored d\r\nget ", 17);
		n += 17;
		memset(buf + n, 'y', 3000);
		n += 3000;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " z\r\nget e\r\n");
		parse_checked(buf, n, &r);
		want_count(&r, 6, false);
		want_req(&r, 0, PROTO_OP_GET, PROTO_F_MULTI_FIRST, "a\rb");
		want_req(&r, 1, PROTO_OP_GET, 0, "\r");
		want_req(&r, 2, PROTO_OP_GET, PROTO_F_MULTI_LAST, k250);
		/* A NUL ends the line's text: "c" is the last key. */
		want_req(&r, 3, PROTO_OP_GET, ONE, "c");
		/* A 3000-byte first key fails its line; the rest of the line is dropped. */
		want_err(&r, 4, PROTO_ERR_KEY_TOO_LONG);
		want_req(&r, 5, PROTO_OP_GET, ONE, "e");
		run_free(&r);
	}
}

/*
 * A too long key after some keys: a line read whole fails whole (memcached checks every key
 * first); a streamed one (no "\n" in PROTO_LINE_READ_MAX bytes) has produced the keys before
 * (documented divergence). And lines of only spaces.
 */
static void
test_long_get_errors(void **state)
{
	static char buf[17000 + 2 * 2500 + 64];
	static const size_t lens[] = {2500, 17000};
	struct run r;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		bool streamed = lens[i] > PROTO_LINE_READ_MAX;
		unsigned k = 0;
		size_t n = 0;

		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "get a b ");
		memset(buf + n, 'x', lens[i]);
		n += lens[i];
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " c\r\nget ");
		memset(buf + n, ' ', 2500);
		n += 2500;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\nget ");
		memset(buf + n, ' ', 2500);
		n += 2500;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%c%s", '\0', "zz\r\nget d\r\n");
		parse_checked(buf, n, &r);
		want_count(&r, streamed ? 6 : 4, false);
		if (streamed) {
			want_req(&r, k++, PROTO_OP_GET, PROTO_F_MULTI_FIRST, "a");
			want_req(&r, k++, PROTO_OP_GET, 0, "b");
		}
		want_err(&r, k++, PROTO_ERR_KEY_TOO_LONG);
		want_err(&r, k++, PROTO_ERR_UNKNOWN_COMMAND);
		want_err(&r, k++, PROTO_ERR_UNKNOWN_COMMAND);
		want_req(&r, k++, PROTO_OP_GET, ONE, "d");
		run_free(&r);
	}
}

/* Only "get " and "gets " may grow past PROTO_LINE_READ_MAX, after at most 100 spaces. */
static void
test_long_line_prefixes(void **state)
{
	static char buf[PROTO_LINE_READ_MAX + 512];
	struct run r;
	size_t n;

	(void)state;
	memset(buf, ' ', sizeof(buf));
	memcpy(buf + 100, "get a", 5);
	n = PROTO_LINE_READ_MAX + 200;
	memcpy(buf + n, "\r\n", 2);
	parse_checked(buf, n + 2, &r);
	want_count(&r, 1, false);
	want_req(&r, 0, PROTO_OP_GET, ONE, "a");
	run_free(&r);

	memset(buf, ' ', sizeof(buf));
	memcpy(buf + 101, "get a", 5);
	parse_checked(buf, n + 2, &r);
	want_count(&r, 1, true);
	run_free(&r);

	/* memcached closes a gat line that outgrows its buffer (only get/gets lines may). */
	static const char *const others[] = {"gat 1 a", "gats 1 a", "bget a",
					     "mg a",	"getx a",   "xget a"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		memset(buf, ' ', sizeof(buf));
		memcpy(buf, others[i], strlen(others[i]));
		parse_checked(buf, n + 2, &r);
		want_count(&r, 1, true);
		run_free(&r);
	}
}

/* Parse @p s (one segment) until MORE; then whether the caller should close, as memcached. */
static bool
stalled_after(const char *s, size_t len)
{
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	enum proto_parse rc;

	text_parser_init(&parser, 0);
	proto_input_init(&in);
	assert_int_equal(proto_input_add(&in, s, (uint32_t)len), 0);
	do
		rc = text_parse(&parser, &in, &req, &err);
	while (rc == PROTO_PARSE_OK || rc == PROTO_PARSE_ERROR);
	assert_int_equal(rc, PROTO_PARSE_MORE);
	return text_parser_line_stalled(&parser, &in);
}

/*
 * memcached closes once a read leaves more than PROTO_LINE_MAX bytes of a line without its
 * "\n" (get/gets lines excepted); the parser leaves that decision to its caller.
 */
static void
test_line_stalled(void **state)
{
	static char buf[4096];
	size_t n;

	(void)state;
	n = make_line(buf, "set k 0 0 1", ' ', PROTO_LINE_MAX, false, "");
	assert_false(stalled_after(buf, n));
	n = make_line(buf, "set k 0 0 1", ' ', PROTO_LINE_MAX + 1, false, "");
	assert_true(stalled_after(buf, n));
	/* After complete requests: the partial line alone counts. */
	n = make_line(buf, "version\r\nset k 0 0 1\r\nv\r\nxyz", 'x', PROTO_LINE_MAX + 25, false,
		      "");
	assert_false(stalled_after(buf, n));
	n = make_line(buf, "version\r\nset k 0 0 1\r\nv\r\nxyz", 'x', PROTO_LINE_MAX + 26, false,
		      "");
	assert_true(stalled_after(buf, n));
	/* get and gets lines may grow; gat, mg and garbage may not. */
	n = make_line(buf, "get a ", 'b', 3000, false, "");
	assert_false(stalled_after(buf, n));
	n = make_line(buf, "   gets a ", 'b', 3000, false, "");
	assert_false(stalled_after(buf, n));
	memset(buf, ' ', 101);
	n = make_line(buf + 101, "get a ", 'b', 3000, false, "") + 101;
	assert_true(stalled_after(buf, n));
	n = make_line(buf, "gat 0 a ", 'b', 3000, false, "");
	assert_true(stalled_after(buf, n));
	n = make_line(buf, "mg a ", 'v', 3000, false, "");
	assert_true(stalled_after(buf, n));
	n = make_line(buf, "", 'x', 3000, false, "");
	assert_true(stalled_after(buf, n));
	/* A data block being waited for, or dropped, is not a line. */
	n = make_line(buf, "set k 0 0 5000\r\n", 'v', 3000, false, "");
	assert_false(stalled_after(buf, n));
	n = make_line(buf, "set k 0 0 3000000\r\n", 'v', 3000, false, "");
	assert_false(stalled_after(buf, n));
}

/* ------------------------------------------------------------------------------------------ */
/* Meta lines (parsed by meta.c; the data block of ms is read here)                             */

static void
test_meta_lines(void **state)
{
	struct run r;

	(void)state;
	PARSE(&r, "mn\r\nms foo 3 T10\r\nabc\r\nmg foo v\r\nmz x\r\nms foo 2 MZ\r\nxy\r\nmn\r\n"
		  "ms foo 2\r\nxyz\r\n");
	want_count(&r, 8, false);
	assert_int_equal(r.r[0].rc, PROTO_PARSE_OK);
	assert_int_equal(r.r[0].kind, PROTO_META);
	assert_int_equal(r.r[0].op, PROTO_OP_NOOP);
	assert_int_equal(r.r[1].rc, PROTO_PARSE_OK);
	assert_int_equal(r.r[1].kind, PROTO_META);
	assert_int_equal(r.r[1].op, PROTO_OP_STORE);
	assert_int_equal(r.r[1].key_len, 3);
	want_value(&r, 1, "abc", 3);
	assert_int_equal(r.r[2].op, PROTO_OP_GET);
	assert_int_equal(r.r[2].kind, PROTO_META);
	/* "mz": not a meta command. */
	want_err(&r, 3, PROTO_ERR_UNKNOWN_COMMAND);
	/* A rejected ms drops its block, then reports. */
	assert_int_equal(r.r[4].rc, PROTO_PARSE_ERROR);
	assert_int_equal(r.r[4].kind, PROTO_META);
	assert_int_not_equal(r.r[4].err, PROTO_ERR_NONE);
	assert_int_equal(r.r[5].op, PROTO_OP_NOOP);
	/* ms bad chunk: reported (meta never hides errors). */
	want_err(&r, 6, PROTO_ERR_BAD_CHUNK);
	assert_int_equal(r.r[6].kind, PROTO_META);
	want_err(&r, 7, PROTO_ERR_UNKNOWN_COMMAND); /* the "\n" after "xyz\r" */
	run_free(&r);
}

static void
test_meta_too_large(void **state)
{
	struct run r;

	(void)state;
	item_max = 10;
	PARSE(&r, "ms k 9 q\r\n123456789\r\nmn\r\nms k 8 q\r\n12345678\r\n");
	want_count(&r, 3, false);
	/* Never hidden for meta, even with q. */
	want_err(&r, 0, PROTO_ERR_TOO_LARGE);
	assert_int_equal(r.r[0].kind, PROTO_META);
	assert_int_equal(r.r[0].op, PROTO_OP_STORE);
	assert_int_equal(r.r[0].key_len, 1);
	assert_int_equal(r.r[1].op, PROTO_OP_NOOP);
	assert_int_equal(r.r[2].op, PROTO_OP_STORE);
	want_value(&r, 2, "12345678", 8);
	assert_int_equal(r.r[0].flags, PROTO_F_NOREPLY | PROTO_F_REFUSED);
	run_free(&r);
	item_max = 0;
}

/*
 * An ms refused for its key length or its token count is all memcached 1.6.18 reads: its data
 * line is taken as the next command ("ERROR"). Refused for a flag, its block is dropped.
 */
static void
test_meta_refused_before_block(void **state)
{
	static char buf[1024];
	struct run r;
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "ms k 2");
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " T1");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\nhi\r\nms ");
	memset(buf + n, 'k', 251);
	n += 251;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " 2\r\nhi\r\nms k 2 T1 T1\r\nhi\r\nmn\r\n");
	parse_checked(buf, n, &r);
	want_count(&r, 6, false);
	want_err(&r, 0, PROTO_ERR_META_FLAGS_TOO_LONG);
	want_err(&r, 1, PROTO_ERR_UNKNOWN_COMMAND);
	want_err(&r, 2, PROTO_ERR_KEY_TOO_LONG);
	want_err(&r, 3, PROTO_ERR_UNKNOWN_COMMAND);
	want_err(&r, 4, PROTO_ERR_META_DUPLICATE_FLAG);
	assert_int_equal(r.r[5].op, PROTO_OP_NOOP);
	run_free(&r);
}

/* ------------------------------------------------------------------------------------------ */
/* Pipelines and state across calls                                                            */

static const char mixed[] =
	"set alpha 1 2 5\r\nhello\r\n"
	"get alpha beta\r\n"
	"bogus\r\n"
	"gets  alpha\r\n"
	"add beta 0 0 3 noreply\r\nxyz\r\n"
	"set gamma 0 0 2\r\nabc\r\n"
	"incr counter 10\r\n"
	"decr counter 3 noreply\r\n"
	"touch alpha 100\r\n"
	"gat 50 alpha beta gamma\r\n"
	"delete beta\r\n"
	"delete beta 7\r\n"
	"cas alpha 0 0 1 42\r\nZ\r\n"
	"append alpha 0 0 2\r\n!!\r\n"
	"prepend alpha 0 0 2 noreply\r\n<<\r\n"
	"replace alpha 9 9 0\r\n\r\n"
	"set k 0 0 x\r\n"
	"stats slabs\r\n"
	"flush_all 0\r\n"
	"verbosity 1\r\n"
	"mn\r\n"
	"ms m 2\r\nMM\r\n"
	"version\r\n"
	"get\r\n"
	"quit\r\n";

static void
test_mixed_pipeline(void **state)
{
	struct run r;

	(void)state;
	parse_checked(mixed, sizeof(mixed) - 1, &r);
	want_count(&r, 29, false);
	want_req(&r, 0, PROTO_OP_STORE, 0, "alpha");
	want_value(&r, 0, "hello", 5);
	want_req(&r, 1, PROTO_OP_GET, PROTO_F_MULTI_FIRST, "alpha");
	want_req(&r, 2, PROTO_OP_GET, PROTO_F_MULTI_LAST, "beta");
	want_err(&r, 3, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 4, PROTO_OP_GET, ONE | PROTO_F_RETURN_CAS, "alpha");
	want_req(&r, 5, PROTO_OP_STORE, PROTO_F_NOREPLY, "beta");
	want_err(&r, 6, PROTO_ERR_BAD_CHUNK);
	want_err(&r, 7, PROTO_ERR_UNKNOWN_COMMAND); /* "\n" left of "abc\r\n" */
	want_req(&r, 8, PROTO_OP_ARITH, PROTO_F_INCR, "counter");
	want_req(&r, 9, PROTO_OP_ARITH, PROTO_F_NOREPLY, "counter");
	want_req(&r, 10, PROTO_OP_TOUCH, 0, "alpha");
	want_req(&r, 11, PROTO_OP_GAT, PROTO_F_MULTI_FIRST, "alpha");
	want_req(&r, 12, PROTO_OP_GAT, 0, "beta");
	want_req(&r, 13, PROTO_OP_GAT, PROTO_F_MULTI_LAST, "gamma");
	want_req(&r, 14, PROTO_OP_DELETE, 0, "beta");
	want_err(&r, 15, PROTO_ERR_DELETE_USAGE);
	want_req(&r, 16, PROTO_OP_STORE, 0, "alpha");
	want_value(&r, 16, "Z", 1);
	want_req(&r, 17, PROTO_OP_STORE, 0, "alpha");
	want_req(&r, 18, PROTO_OP_STORE, PROTO_F_NOREPLY, "alpha");
	want_req(&r, 19, PROTO_OP_STORE, 0, "alpha");
	want_value(&r, 19, "", 0);
	want_err(&r, 20, PROTO_ERR_BAD_FORMAT);
	want_req(&r, 21, PROTO_OP_STATS, 0, NULL);
	want_req(&r, 22, PROTO_OP_FLUSH, 0, NULL);
	want_req(&r, 23, PROTO_OP_VERBOSITY, 0, NULL);
	assert_int_equal(r.r[24].kind, PROTO_META);
	assert_int_equal(r.r[25].kind, PROTO_META);
	want_value(&r, 25, "MM", 2);
	want_req(&r, 26, PROTO_OP_VERSION, 0, NULL);
	want_err(&r, 27, PROTO_ERR_UNKNOWN_COMMAND);
	want_req(&r, 28, PROTO_OP_QUIT, 0, NULL);
	assert_int_equal(r.consumed, sizeof(mixed) - 1);
	run_free(&r);
}

/* Waiting for a data block: the line moves into the parser, the input may be rebuilt. */
static void
test_data_wait_keeps_line(void **state)
{
	struct text_parser *p = &parser;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	char *line = strdup("set somekey 3 4 5\r\nhe");
	uint8_t val[8];

	(void)state;
	text_parser_init(p, 0);
	proto_input_init(&in);
	proto_input_add(&in, line, (uint32_t)strlen(line));
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_MORE);
	/* Rebuild the input from the unconsumed bytes and destroy the old buffer. */
	char *rest = strdup("hello\r\n");
	uint64_t avail = proto_input_avail(&in);

	assert_int_equal(avail, 2);
	memset(line, '#', strlen(line));
	free(line);
	proto_input_init(&in);
	proto_input_add(&in, rest, 7);
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_OK);
	assert_int_equal(req.op, PROTO_OP_STORE);
	assert_int_equal(req.key_len, 7);
	assert_memory_equal(req.key, "somekey", 7);
	assert_true(text_parser_owns(p, req.key));
	assert_int_equal(req.client_flags, 3);
	assert_int_equal(req.exptime, 4);
	assert_int_equal(req.value.len, 5);
	proto_gather(&in, &req.value, val);
	assert_memory_equal(val, "hello", 5);
	free(rest);
}

/* A line in one segment is used in place: keys point into the input. */
static void
test_keys_in_place(void **state)
{
	struct text_parser *p = &parser;
	struct proto_input in;
	struct proto_request req;
	enum proto_error err;
	const char *buf = "get aa bb\r\nset k 0 0 1\r\nv\r\n";

	(void)state;
	text_parser_init(p, 0);
	proto_input_init(&in);
	proto_input_add(&in, buf, (uint32_t)strlen(buf));
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_OK);
	assert_ptr_equal(req.key, buf + 4);
	assert_int_equal(in.consumed, 0); /* the cursor stays at the line until its last key */
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_OK);
	assert_ptr_equal(req.key, buf + 7);
	assert_int_equal(in.consumed, 11);
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_OK);
	assert_ptr_equal(req.key, buf + 15);
	assert_int_equal(req.value.seg, 0);
	assert_int_equal(req.value.off, 24);
	assert_int_equal(text_parse(p, &in, &req, &err), PROTO_PARSE_MORE);
	assert_int_equal(proto_input_avail(&in), 0);
}

/* Round trips: lines composed from random fields parse back to those fields. */
static void
test_round_trips(void **state)
{
	static const char *const cmds[] = {"set", "add", "replace", "append", "prepend", "cas"};
	char buf[2048], key[PROTO_KEY_MAX + 1], val[64];

	(void)state;
	for (int it = 0; it < 300; it++) {
		struct proto_input in;
		struct proto_request req;
		enum proto_error err;
		unsigned c = (unsigned)(rng() % 6);
		uint32_t klen = 1 + (uint32_t)(rng() % PROTO_KEY_MAX);
		uint32_t flags = (uint32_t)rng();
		int32_t exptime = (int32_t)(uint32_t)rng();
		uint64_t cas = rng();
		uint32_t vlen = (uint32_t)(rng() % sizeof(val));
		bool noreply = rng() & 1;
		size_t n;
		uint8_t got[64];

		for (uint32_t i = 0; i < klen; i++)
			key[i] = (char)('!' + rng() % 94); /* printable, no space */
		key[klen] = '\0';
		for (uint32_t i = 0; i < vlen; i++)
			val[i] = (char)rng();
		n = (size_t)snprintf(buf, sizeof(buf), "%s %s %" PRIu32 " %" PRId32 " %" PRIu32,
				     cmds[c], key, flags, exptime, vlen);
		if (c == 5)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %" PRIu64, cas);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\r\n", noreply ? " noreply" : "");
		memcpy(buf + n, val, vlen);
		n += vlen;
		memcpy(buf + n, "\r\n", 2);
		n += 2;

		text_parser_init(&parser, 0);
		proto_input_init(&in);
		proto_input_add(&in, buf, (uint32_t)n);
		assert_int_equal(text_parse(&parser, &in, &req, &err), PROTO_PARSE_OK);
		assert_int_equal(req.op, PROTO_OP_STORE);
		assert_int_equal(req.mode, c == 5 ? PROTO_MODE_CAS : (enum proto_mode)c);
		assert_int_equal(req.key_len, klen);
		assert_memory_equal(req.key, key, klen);
		assert_int_equal(req.client_flags, flags);
		assert_int_equal(req.exptime, exptime);
		assert_true(req.cas == (c == 5 ? cas : 0));
		assert_int_equal(req.flags, noreply ? PROTO_F_NOREPLY : 0);
		assert_int_equal(req.value.len, vlen);
		proto_gather(&in, &req.value, got);
		if (vlen > 0)
			assert_memory_equal(got, val, vlen);
		assert_int_equal(proto_input_avail(&in), 0);

		/* The same key through get/gat, incr, touch, delete. */
		n = (size_t)snprintf(buf, sizeof(buf),
				     "gat %" PRId32 " %s\r\nincr %s %" PRIu64 "\r\ntouch %s %" PRId32
				     "\r\ndelete %s\r\n",
				     exptime, key, key, cas, key, exptime, key);
		proto_input_init(&in);
		proto_input_add(&in, buf, (uint32_t)n);
		assert_int_equal(text_parse(&parser, &in, &req, &err), PROTO_PARSE_OK);
		assert_int_equal(req.op, PROTO_OP_GAT);
		assert_int_equal(req.exptime, exptime);
		assert_memory_equal(req.key, key, klen);
		assert_int_equal(text_parse(&parser, &in, &req, &err), PROTO_PARSE_OK);
		assert_true(req.delta == cas);
		assert_int_equal(text_parse(&parser, &in, &req, &err), PROTO_PARSE_OK);
		assert_int_equal(req.exptime, exptime);
		assert_int_equal(text_parse(&parser, &in, &req, &err), PROTO_PARSE_OK);
		assert_int_equal(req.op, PROTO_OP_DELETE);
		assert_int_equal(req.key_len, klen);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Writer                                                                                      */

struct outbuf {
	struct proto_out out;
	struct iovec iov[64];
	uint8_t buf[4096];
	char flat[8192];
};

static void
out_start(struct outbuf *o, bool copy)
{
	proto_out_init(&o->out, o->iov, 64, o->buf, sizeof(o->buf), copy);
}

static const char *
out_str(struct outbuf *o)
{
	uint64_t n = proto_out_flatten(&o->out, o->flat, sizeof(o->flat) - 1);

	assert_int_equal(n, o->out.bytes);
	o->flat[n] = '\0';
	return o->flat;
}

static struct proto_request
text_req(enum proto_op op, uint32_t flags, const char *key)
{
	struct proto_request req;

	memset(&req, 0, sizeof(req));
	req.op = op;
	req.kind = PROTO_TEXT;
	req.flags = flags;
	req.key = key;
	req.key_len = key != NULL ? (uint32_t)strlen(key) : 0;
	return req;
}

static struct proto_result
result(enum proto_status st)
{
	struct proto_result res;

	memset(&res, 0, sizeof(res));
	res.status = st;
	return res;
}

static void
test_write_get(void **state)
{
	struct outbuf o;
	struct proto_request a = text_req(PROTO_OP_GET, PROTO_F_MULTI_FIRST, "a");
	struct proto_request b = text_req(PROTO_OP_GET, 0, "bb");
	struct proto_request c = text_req(PROTO_OP_GET, PROTO_F_MULTI_LAST, "c");
	struct proto_result hit = result(PROTO_ST_HIT), miss = result(PROTO_ST_MISS);

	(void)state;
	for (int copy = 0; copy < 2; copy++) {
		out_start(&o, copy);
		hit.value = "hello";
		hit.value_len = 5;
		hit.client_flags = 4294967295u;
		hit.cas = 99;
		assert_int_equal(text_write(&o.out, &a, &hit), 0);
		assert_int_equal(text_write(&o.out, &b, &miss), 0);
		hit.value = "";
		hit.value_len = 0;
		hit.client_flags = 0;
		assert_int_equal(text_write(&o.out, &c, &hit), 0);
		assert_string_equal(out_str(&o), "VALUE a 4294967295 5\r\nhello\r\n"
						 "VALUE c 0 0\r\n\r\nEND\r\n");
	}
	/* gets: the cas; a missed last key still ends with END. */
	out_start(&o, true);
	a.flags = ONE | PROTO_F_RETURN_CAS;
	hit.value = "xy";
	hit.value_len = 2;
	hit.client_flags = 7;
	hit.cas = 18446744073709551615ULL;
	assert_int_equal(text_write(&o.out, &a, &hit), 0);
	c.flags = ONE;
	assert_int_equal(text_write(&o.out, &c, &miss), 0);
	assert_string_equal(out_str(&o),
			    "VALUE a 7 2 18446744073709551615\r\nxy\r\nEND\r\nEND\r\n");
	/* gat without a key: just END. */
	out_start(&o, true);
	struct proto_request g = text_req(PROTO_OP_GAT, ONE, "");
	assert_int_equal(text_write(&o.out, &g, &hit), 0);
	assert_string_equal(out_str(&o), "END\r\n");
}

static void
test_write_replies(void **state)
{
	static const struct {
		enum proto_op op;
		enum proto_status st;
		const char *reply;
	} cases[] = {
		{PROTO_OP_STORE, PROTO_ST_STORED, "STORED\r\n"},
		{PROTO_OP_STORE, PROTO_ST_NOT_STORED, "NOT_STORED\r\n"},
		{PROTO_OP_STORE, PROTO_ST_EXISTS, "EXISTS\r\n"},
		{PROTO_OP_STORE, PROTO_ST_NOT_FOUND, "NOT_FOUND\r\n"},
		{PROTO_OP_STORE, PROTO_ST_TOO_LARGE, "SERVER_ERROR object too large for cache\r\n"},
		{PROTO_OP_STORE, PROTO_ST_NO_MEMORY, "SERVER_ERROR out of memory storing object\r\n"},
		{PROTO_OP_DELETE, PROTO_ST_DELETED, "DELETED\r\n"},
		{PROTO_OP_DELETE, PROTO_ST_NOT_FOUND, "NOT_FOUND\r\n"},
		{PROTO_OP_TOUCH, PROTO_ST_TOUCHED, "TOUCHED\r\n"},
		{PROTO_OP_TOUCH, PROTO_ST_NOT_FOUND, "NOT_FOUND\r\n"},
		{PROTO_OP_ARITH, PROTO_ST_NOT_FOUND, "NOT_FOUND\r\n"},
		{PROTO_OP_ARITH, PROTO_ST_NON_NUMERIC,
		 "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
		{PROTO_OP_ARITH, PROTO_ST_NO_MEMORY, "SERVER_ERROR out of memory\r\n"},
		{PROTO_OP_STORE, PROTO_ST_NOT_REPLICATED,
		 "SERVER_ERROR replication quorum not reached\r\n"},
		{PROTO_OP_DELETE, PROTO_ST_NOT_REPLICATED,
		 "SERVER_ERROR replication quorum not reached\r\n"},
		{PROTO_OP_TOUCH, PROTO_ST_NO_PRIMARY, "SERVER_ERROR no answer from the key's primary\r\n"},
		{PROTO_OP_ARITH, PROTO_ST_NO_PRIMARY, "SERVER_ERROR no answer from the key's primary\r\n"},
		{PROTO_OP_FLUSH, PROTO_ST_OK, "OK\r\n"},
		{PROTO_OP_VERBOSITY, PROTO_ST_OK, "OK\r\n"},
		{PROTO_OP_STATS, PROTO_ST_OK, "RESET\r\n"},
		{PROTO_OP_QUIT, PROTO_ST_OK, ""},
	};
	struct outbuf o;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_request req = text_req(cases[i].op, 0, "k");
		struct proto_result res = result(cases[i].st);

		out_start(&o, true);
		assert_int_equal(text_write(&o.out, &req, &res), 0);
		assert_string_equal(out_str(&o), cases[i].reply);
		/* noreply: nothing, errors included. */
		req.flags = PROTO_F_NOREPLY;
		out_start(&o, true);
		assert_int_equal(text_write(&o.out, &req, &res), 0);
		assert_string_equal(out_str(&o), "");
	}
}

static void
test_write_numbers_version_stats(void **state)
{
	struct outbuf o;
	struct proto_request req = text_req(PROTO_OP_ARITH, PROTO_F_INCR, "n");
	struct proto_result res = result(PROTO_ST_NUMBER);
	static const struct proto_stat stats[] = {{"pid", "42"}, {"uptime", "7"}};

	(void)state;
	out_start(&o, true);
	res.number = 18446744073709551615ULL;
	assert_int_equal(text_write(&o.out, &req, &res), 0);
	res.number = 0;
	assert_int_equal(text_write(&o.out, &req, &res), 0);
	req.flags |= PROTO_F_NOREPLY;
	assert_int_equal(text_write(&o.out, &req, &res), 0);
	assert_string_equal(out_str(&o), "18446744073709551615\r\n0\r\n");

	out_start(&o, true);
	req = text_req(PROTO_OP_VERSION, 0, NULL);
	res = result(PROTO_ST_VERSION);
	res.text = "1.6.21";
	assert_int_equal(text_write(&o.out, &req, &res), 0);
	req = text_req(PROTO_OP_STATS, 0, NULL);
	res = result(PROTO_ST_STATS);
	res.stats = stats;
	res.nstats = 2;
	assert_int_equal(text_write(&o.out, &req, &res), 0);
	res.nstats = 0;
	assert_int_equal(text_write(&o.out, &req, &res), 0);
	assert_string_equal(out_str(&o), "VERSION 1.6.21\r\nSTAT pid 42\r\nSTAT uptime 7\r\nEND\r\n"
					 "END\r\n");
}

static void
test_write_errors(void **state)
{
	struct outbuf o;
	struct proto_request req = text_req(PROTO_OP_DELETE, 0, "k");
	struct proto_result res = result(PROTO_ST_STORED);

	(void)state;
	out_start(&o, true);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_UNKNOWN_COMMAND), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_BAD_FORMAT), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_KEY_TOO_LONG), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_BAD_CHUNK), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_TOO_LARGE), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_BAD_EXPTIME), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_BAD_DELTA), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_DELETE_USAGE), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_NOREPLY_ONLY), 0);
	assert_int_equal(text_write_error(&o.out, PROTO_ERR_NONE), 0);
	assert_string_equal(out_str(&o),
			    "ERROR\r\n"
			    "CLIENT_ERROR bad command line format\r\n"
			    "CLIENT_ERROR bad command line format\r\n"
			    "CLIENT_ERROR bad data chunk\r\n"
			    "SERVER_ERROR object too large for cache\r\n"
			    "CLIENT_ERROR invalid exptime argument\r\n"
			    "CLIENT_ERROR invalid numeric delta argument\r\n"
			    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
	/* A status that is not an outcome of the op, and a meta request: -EINVAL, nothing. */
	out_start(&o, true);
	assert_int_equal(text_write(&o.out, &req, &res), -EINVAL);
	req.kind = PROTO_META;
	res = result(PROTO_ST_DELETED);
	assert_int_equal(text_write(&o.out, &req, &res), -EINVAL);
	assert_int_equal(o.out.bytes, 0);
}

/* A reply that does not fit leaves the output as it was. */
static void
test_write_overflow(void **state)
{
	struct proto_out out;
	struct iovec iov[4];
	uint8_t buf[64];
	char flat[128];
	struct proto_request req = text_req(PROTO_OP_GET, ONE, "key");
	struct proto_result hit = result(PROTO_ST_HIT);
	static const char value[100] = {0};

	(void)state;
	proto_out_init(&out, iov, 4, buf, sizeof(buf), true);
	assert_int_equal(text_write_error(&out, PROTO_ERR_UNKNOWN_COMMAND), 0);
	hit.value = value;
	hit.value_len = sizeof(value);
	assert_int_equal(text_write(&out, &req, &hit), -ENOBUFS);
	assert_true(out.overflow);
	assert_int_equal(out.bytes, 7);
	assert_int_equal(out.used, 7);
	assert_int_equal(out.niov, 1);
	assert_int_equal(iov[0].iov_len, 7);
	/* By reference it fits (iovecs, not buffer bytes). */
	proto_out_init(&out, iov, 4, buf, sizeof(buf), false);
	assert_int_equal(text_write(&out, &req, &hit), 0);
	assert_int_equal(proto_out_flatten(&out, flat, sizeof(flat)), 17 + 100 + 7);
	/* Out of iovecs: rolled back too, the merged header included. */
	proto_out_init(&out, iov, 3, buf, sizeof(buf), false);
	assert_int_equal(text_write(&out, &req, &hit), 0);
	assert_int_equal(text_write(&out, &req, &hit), -ENOBUFS);
	assert_int_equal(out.niov, 3);
	assert_int_equal(out.used, 17 + 7);
	assert_int_equal(iov[2].iov_len, 7);
	assert_int_equal(out.bytes, 17 + 100 + 7);
}

/* proto_out_set_copy_max: small values are copied (one iovec per reply), larger referenced. */
static void
test_write_copy_max(void **state)
{
	struct proto_out out;
	struct iovec iov[8];
	uint8_t buf[256];
	char flat[256];
	struct proto_request req = text_req(PROTO_OP_GET, ONE, "key");
	struct proto_result hit = result(PROTO_ST_HIT);
	static const char value[17] = "0123456789abcdef";

	(void)state;
	proto_out_init(&out, iov, 8, buf, sizeof(buf), false);
	proto_out_set_copy_max(&out, 16);
	hit.value = value;
	hit.value_len = 16;
	assert_int_equal(text_write(&out, &req, &hit), 0);
	assert_int_equal(out.niov, 1);
	assert_int_equal(proto_out_flatten(&out, flat, sizeof(flat)), 16 + 16 + 7);
	assert_memory_equal(flat, "VALUE key 0 16\r\n0123456789abcdef\r\nEND\r\n", 39);
	proto_out_reset(&out);
	hit.value_len = 17;
	assert_int_equal(text_write(&out, &req, &hit), 0);
	assert_int_equal(out.niov, 3);
	assert_ptr_equal(iov[1].iov_base, value);
}

/* ------------------------------------------------------------------------------------------ */
/* Regressions found by fuzz_text                                                              */

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_one_key),
		cmocka_unit_test(test_get_keys_in_order),
		cmocka_unit_test(test_gat_gats),
		cmocka_unit_test(test_gat_without_key),
		cmocka_unit_test(test_gat_bad_exptime),
		cmocka_unit_test(test_bget_is_get),
		cmocka_unit_test(test_get_without_key),
		cmocka_unit_test(test_get_many_keys),
		cmocka_unit_test(test_get_key_limit),
		cmocka_unit_test(test_get_key_too_long_after_many),
		cmocka_unit_test(test_get_odd_key_bytes),
		cmocka_unit_test(test_nul_ends_line),
		cmocka_unit_test(test_store_modes),
		cmocka_unit_test(test_cas),
		cmocka_unit_test(test_store_binary_value),
		cmocka_unit_test(test_store_noreply),
		cmocka_unit_test(test_store_token_count),
		cmocka_unit_test(test_store_bad_length),
		cmocka_unit_test(test_store_number_forms),
		cmocka_unit_test(test_store_key_too_long),
		cmocka_unit_test(test_noreply_hides_errors),
		cmocka_unit_test(test_bad_data_chunk),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_too_large_streamed),
		cmocka_unit_test(test_incr_decr),
		cmocka_unit_test(test_touch),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_flush_all),
		cmocka_unit_test(test_version_quit_verbosity),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_unknown_commands),
		cmocka_unit_test(test_http_closes),
		cmocka_unit_test(test_lf_lines),
		cmocka_unit_test(test_token_cap),
		cmocka_unit_test(test_line_read_limit),
		cmocka_unit_test(test_long_lines_served),
		cmocka_unit_test(test_long_line_pointers_kept),
		cmocka_unit_test(test_line_stalled),
		cmocka_unit_test(test_long_get_streamed),
		cmocka_unit_test(test_long_get_edges),
		cmocka_unit_test(test_long_get_errors),
		cmocka_unit_test(test_long_line_prefixes),
		cmocka_unit_test(test_meta_lines),
		cmocka_unit_test(test_meta_too_large),
		cmocka_unit_test(test_meta_refused_before_block),
		cmocka_unit_test(test_mixed_pipeline),
		cmocka_unit_test(test_data_wait_keeps_line),
		cmocka_unit_test(test_keys_in_place),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_write_get),
		cmocka_unit_test(test_write_replies),
		cmocka_unit_test(test_write_numbers_version_stats),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_write_overflow),
		cmocka_unit_test(test_write_copy_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
