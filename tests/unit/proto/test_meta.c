/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for proto/meta.h and core/base64.h: meta command lines parsed into requests,
 * compose -> tokenize -> parse round trips, memcached's replies byte for byte (quiet mode and
 * mn pipelines included), and every error memcached answers for a bad line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "proto/meta.h"

/* ---- helpers ---------------------------------------------------------------------------- */

enum {
	TOK_MAX = 64,
	OUT_IOV = 64,
	OUT_BUF = 8192,
};

/* Split @p line on spaces as memcached does (runs of spaces separate tokens). */
static unsigned
tokenize(const char *line, size_t len, struct proto_token *tok, unsigned max)
{
	unsigned n = 0;
	size_t i = 0;

	while (i < len && n < max) {
		size_t s;

		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		s = i;
		while (i < len && line[i] != ' ')
			i++;
		tok[n].p = line + s;
		tok[n].len = (uint32_t)(i - s);
		n++;
	}
	return n;
}

/* The line and its tokens stay alive while a request points into them. */
struct parsed {
	char line[4096];
	struct proto_token tok[TOK_MAX];
	unsigned ntok;
	struct proto_request req;
	enum proto_error err;
	int rc;
};

static struct parsed *
parse(const char *line)
{
	static struct parsed slots[8];
	static unsigned next;
	struct parsed *p = &slots[next++ % 8];

	memset(p, 0, sizeof(*p));
	snprintf(p->line, sizeof(p->line), "%s", line);
	p->ntok = tokenize(p->line, strlen(p->line), p->tok, TOK_MAX);
	p->err = PROTO_ERR_NONE;
	p->rc = meta_parse_tokens(p->tok, p->ntok, &p->req, &p->err);
	return p;
}

static const struct proto_request *
parse_ok(const char *line)
{
	struct parsed *p = parse(line);

	if (p->rc != 0)
		fail_msg("\"%s\": error %d (%s)", line, p->err, proto_error_reply(p->err));
	assert_int_equal(p->req.kind, PROTO_META);
	return &p->req;
}

static void
expect_error(const char *line, enum proto_error err)
{
	struct parsed *p = parse(line);

	if (p->rc != -1 || p->err != err)
		fail_msg("\"%s\": rc %d err %d (%s), wanted %d (%s)", line, p->rc, p->err,
			 proto_error_reply(p->err), err, proto_error_reply(err));
}

static void
expect_key(const struct proto_request *req, const char *key)
{
	assert_int_equal(req->key_len, strlen(key));
	assert_memory_equal(req->key, key, req->key_len);
}

static uint64_t
bits(const char *letters)
{
	uint64_t b = 0;

	for (; *letters != '\0'; letters++)
		b |= PROTO_META_BIT(*letters);
	return b;
}

static void
expect_ret(const struct proto_request *req, const char *order)
{
	char got[PROTO_META_RET_MAX + 1] = {0};

	memcpy(got, req->meta.ret, PROTO_META_RET_MAX);
	assert_string_equal(got, order);
}

/* A result: miss by default, fields set by the test. */
static struct proto_result
result(enum proto_status st)
{
	struct proto_result r;

	memset(&r, 0, sizeof(r));
	r.status = st;
	return r;
}

struct outbuf {
	struct iovec iov[OUT_IOV];
	uint8_t buf[OUT_BUF];
	struct proto_out out;
	char flat[OUT_BUF * 2];
};

static struct outbuf *
outbuf_new(bool copy_values)
{
	struct outbuf *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	proto_out_init(&o->out, o->iov, OUT_IOV, o->buf, OUT_BUF, copy_values);
	return o;
}

static const char *
outbuf_str(struct outbuf *o)
{
	uint64_t n = proto_out_flatten(&o->out, o->flat, sizeof(o->flat) - 1);

	o->flat[n] = '\0';
	return o->flat;
}

/* Write the reply for @p line and @p res and compare it with @p want. */
static void
expect_reply(const char *line, const struct proto_result *res, const char *want)
{
	const struct proto_request *req = parse_ok(line);
	struct outbuf *o = outbuf_new(true);

	assert_int_equal(meta_write(&o->out, req, res), 0);
	if (strcmp(outbuf_str(o), want) != 0)
		fail_msg("\"%s\": reply \"%s\", wanted \"%s\"", line, o->flat, want);
	assert_int_equal(o->out.bytes, strlen(want));
	free(o);
}

static void
expect_error_reply(enum proto_error err, const char *want)
{
	struct outbuf *o = outbuf_new(true);

	assert_int_equal(meta_write_error(&o->out, err), 0);
	assert_string_equal(outbuf_str(o), want);
	free(o);
}

/* ---- base64 ----------------------------------------------------------------------------- */

static void
test_base64_vectors(void **state)
{
	/* RFC 4648 section 10. */
	static const struct {
		const char *plain;
		const char *enc;
	} v[] = {
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	char e[16];
	uint8_t d[16];

	(void)state;
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t pn = strlen(v[i].plain), en = strlen(v[i].enc);
		int64_t n = nc_base64_encode(v[i].plain, pn, e, sizeof(e));

		assert_int_equal(n, en);
		assert_memory_equal(e, v[i].enc, en);
		n = nc_base64_decode(v[i].enc, en, d, sizeof(d));
		assert_int_equal(n, pn);
		assert_memory_equal(d, v[i].plain, pn);
	}
	assert_int_equal(nc_base64_encode("", 0, e, 0), 0);
	assert_int_equal(NC_BASE64_ENCODED_LEN(186), 248);
	assert_int_equal(NC_BASE64_DECODED_MAX(250), PROTO_META_BINKEY_MAX);
}

static void
test_base64_round_trip(void **state)
{
	uint8_t src[300], back[300];
	char enc[400];

	(void)state;
	srand(7);
	for (unsigned len = 1; len <= 256; len++) {
		int64_t n, m;

		for (unsigned i = 0; i < len; i++)
			src[i] = (uint8_t)rand();
		n = nc_base64_encode(src, len, enc, sizeof(enc));
		assert_int_equal(n, NC_BASE64_ENCODED_LEN(len));
		m = nc_base64_decode(enc, (size_t)n, back, sizeof(back));
		assert_int_equal(m, len);
		assert_memory_equal(back, src, len);
	}
}

static void
test_base64_strict(void **state)
{
	static const char *const bad[] = {
		"",	    /* empty */
		"Zg=",	    /* not a multiple of 4 */
		"Zm9",	    /* idem */
		"Zg=a",	    /* '=' before the end */
		"Z===",	    /* three pads */
		"====",	    /* only pads */
		"=Zg=",	    /* pad first */
		"Zm9v\n",   /* not in the alphabet */
		"Zm-v",	    /* base64url is not accepted */
		"Zm_v",	    /* idem */
		"Zh==",	    /* non-zero bits left over by the padding */
		"Zm9=",	    /* idem, one pad */
		"Zg==Zg==", /* padding in the middle */
	};
	uint8_t d[16];
	char e[8];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (nc_base64_decode(bad[i], strlen(bad[i]), d, sizeof(d)) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	assert_int_equal(nc_base64_decode("Zm9vYmFy", 8, d, 5), -ENOSPC);
	assert_int_equal(nc_base64_decode("Zm9vYmE=", 8, d, 5), 5);
	assert_int_equal(nc_base64_encode("foo", 3, e, 3), -ENOSPC);
}

/* ---- mg --------------------------------------------------------------------------------- */

static void
test_mg_plain(void **state)
{
	const struct proto_request *req = parse_ok("mg foo");

	(void)state;
	assert_int_equal(req->op, PROTO_OP_GET);
	expect_key(req, "foo");
	assert_int_equal(req->flags, 0);
	assert_int_equal(req->meta.flags, 0);
	assert_null(req->meta.opaque);
	expect_ret(req, "");

	/* Runs of spaces are one separator. */
	req = parse_ok("mg   bar    v");
	expect_key(req, "bar");
	assert_int_equal(req->meta.flags, bits("v"));
}

static void
test_mg_return_flags(void **state)
{
	const struct proto_request *req = parse_ok("mg foo s v t c f l h Oabc k q u");

	(void)state;
	assert_int_equal(req->op, PROTO_OP_GET);
	assert_int_equal(req->meta.flags, bits("svtcflhOkqu"));
	expect_ret(req, "stcflhOk");
	assert_int_equal(req->meta.opaque_len, 3);
	assert_memory_equal(req->meta.opaque, "abc", 3);
	assert_int_equal(req->flags, PROTO_F_QUIET_MISS | PROTO_F_RETURN_CAS | PROTO_F_RETURN_KEY);

	/* Order is the request's. */
	req = parse_ok("mg foo k O1 h l f c t s");
	expect_ret(req, "kOhlfcts");
	/* Empty opaque. */
	req = parse_ok("mg foo O");
	assert_int_equal(req->meta.flags, bits("O"));
	assert_int_equal(req->meta.opaque_len, 0);
	expect_ret(req, "O");
}

static void
test_mg_value_flags(void **state)
{
	const struct proto_request *req = parse_ok("mg foo T30 N-1 R5 E77 C12");

	(void)state;
	assert_int_equal(req->op, PROTO_OP_GAT);
	assert_int_equal(req->exptime, 30);
	assert_int_equal(req->meta.new_ttl, 30);
	assert_int_equal(req->meta.vivify_ttl, -1);
	assert_int_equal(req->meta.recache_ttl, 5);
	assert_int_equal(req->meta.explicit_cas, 77);
	assert_int_equal(req->cas, 12);
	assert_int_equal(req->meta.flags, bits("TNREC"));

	/* T0 is a GAT too (0 = never expires). */
	req = parse_ok("mg foo T0");
	assert_int_equal(req->op, PROTO_OP_GAT);
	assert_int_equal(req->exptime, 0);
	/* Without T it stays a GET even with N. */
	req = parse_ok("mg foo N30");
	assert_int_equal(req->op, PROTO_OP_GET);
	assert_int_equal(req->meta.vivify_ttl, 30);

	/* memcached accepts every letter it knows on every command. */
	req = parse_ok("mg foo P L x I F3 MZ J1 D2");
	assert_int_equal(req->meta.flags, bits("PLxIFMJD"));
	assert_int_equal(req->client_flags, 3);
	assert_int_equal(req->meta.mode, 'Z');
}

static void
test_mg_numbers(void **state)
{
	const struct proto_request *req;

	(void)state;
	req = parse_ok("mg foo T+5");
	assert_int_equal(req->exptime, 5);
	req = parse_ok("mg foo T-2147483648");
	assert_int_equal(req->exptime, INT32_MIN);
	req = parse_ok("mg foo T2147483647");
	assert_int_equal(req->exptime, INT32_MAX);
	/* strtol() skips leading white space; white space also ends the number. */
	req = parse_ok("mg foo T\t7 N8\tjunk");
	assert_int_equal(req->exptime, 7);
	assert_int_equal(req->meta.vivify_ttl, 8);
	req = parse_ok("mg foo C18446744073709551615");
	assert_int_equal(req->cas, UINT64_MAX);
	req = parse_ok("mg foo C-0");
	assert_int_equal(req->cas, 0);
	/* strtoull() wraps "-x"; memcached refuses it only when it looks negative. */
	req = parse_ok("mg foo C-18446744073709551615");
	assert_int_equal(req->cas, 1);
	req = parse_ok("mg foo C9223372036854775808");
	assert_int_equal(req->cas, (uint64_t)INT64_MAX + 1);
}

static void
test_mg_binary_key(void **state)
{
	const struct proto_request *req = parse_ok("mg Zm9v b k v");
	char enc[260];
	char line[300];
	uint8_t raw[186];

	(void)state;
	expect_key(req, "foo");
	assert_ptr_equal(req->key, (const char *)req->meta.key_bin);
	assert_true(req->flags & PROTO_F_KEY_BINARY);
	assert_int_equal(req->meta.flags, bits("bkv"));

	/* Bytes a text key cannot hold. */
	req = parse_ok("mg AAEC/w== b");
	assert_int_equal(req->key_len, 4);
	assert_memory_equal(req->key, "\x00\x01\x02\xff", 4);

	/* The longest b key: 248 characters, 186 bytes. */
	for (unsigned i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7);
	assert_int_equal(nc_base64_encode(raw, sizeof(raw), enc, sizeof(enc)), 248);
	enc[248] = '\0';
	snprintf(line, sizeof(line), "mg %s b", enc);
	req = parse_ok(line);
	assert_int_equal(req->key_len, 186);
	assert_memory_equal(req->key, raw, 186);
}

/* ---- ms --------------------------------------------------------------------------------- */

static void
test_ms_plain(void **state)
{
	const struct proto_request *req = parse_ok("ms foo 5");

	(void)state;
	assert_int_equal(req->op, PROTO_OP_STORE);
	assert_int_equal(req->mode, PROTO_MODE_SET);
	expect_key(req, "foo");
	assert_int_equal(req->value.len, 5);
	assert_int_equal(req->exptime, 0);
	assert_int_equal(req->flags, 0);

	req = parse_ok("ms foo 0 T60 F7 c k q s Oxy I E99 N5");
	assert_int_equal(req->value.len, 0);
	assert_int_equal(req->exptime, 60);
	assert_int_equal(req->meta.new_ttl, 60);
	assert_int_equal(req->client_flags, 7);
	assert_int_equal(req->meta.explicit_cas, 99);
	assert_int_equal(req->meta.vivify_ttl, 5);
	assert_int_equal(req->flags, PROTO_F_NOREPLY | PROTO_F_RETURN_CAS | PROTO_F_RETURN_KEY);
	assert_int_equal(req->meta.flags, bits("TFckqsOIEN"));
	expect_ret(req, "cksO");
	assert_memory_equal(req->meta.opaque, "xy", 2);

	req = parse_ok("ms foo 2147483645 F4294967295");
	assert_int_equal(req->value.len, 2147483645u);
	assert_int_equal(req->client_flags, UINT32_MAX);
}

static void
test_ms_modes(void **state)
{
	static const struct {
		const char *line;
		enum proto_mode mode;
		uint64_t cas;
	} cases[] = {
		{"ms k 1 ME", PROTO_MODE_ADD, 0},
		{"ms k 1 MA", PROTO_MODE_APPEND, 0},
		{"ms k 1 MP", PROTO_MODE_PREPEND, 0},
		{"ms k 1 MR", PROTO_MODE_REPLACE, 0},
		{"ms k 1 MS", PROTO_MODE_SET, 0},
		{"ms k 1 C5", PROTO_MODE_CAS, 5},
		{"ms k 1 MS C5", PROTO_MODE_CAS, 5},
		{"ms k 1 C6 MR", PROTO_MODE_CAS, 6},
		{"ms k 1 ME C7", PROTO_MODE_ADD, 7},
		{"ms k 1 MA C8", PROTO_MODE_APPEND, 8},
		{"ms k 1 MP C9", PROTO_MODE_PREPEND, 9},
		{"ms k 1 MEX", PROTO_MODE_ADD, 0}, /* memcached 1.6 reads the letter after M only */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct proto_request *req = parse_ok(cases[i].line);

		if (req->mode != cases[i].mode || req->cas != cases[i].cas)
			fail_msg("\"%s\": mode %s cas %llu", cases[i].line,
				 proto_mode_name(req->mode), (unsigned long long)req->cas);
	}
}

static void
test_ms_errors_swallow(void **state)
{
	struct parsed *p;
	uint32_t len = 0;

	(void)state;
	/* Bad or missing datalen: nothing to swallow. */
	expect_error("ms", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo x", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo -1", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo 5x", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo 2147483646", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo 99999999999", PROTO_ERR_BAD_FORMAT);
	p = parse("ms foo x");
	assert_false(meta_rejected_data_len(&p->req, &len));

	/* A valid datalen, then a bad line: memcached swallows the data block. */
	expect_error("ms foo 3 MZ", PROTO_ERR_META_BAD_MS_MODE);
	expect_error("ms foo 3 M", PROTO_ERR_META_BAD_MS_MODE);
	expect_error("ms foo 3 M+", PROTO_ERR_META_BAD_MS_MODE);
	expect_error("ms foo 3 Fx", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo 3 F-1", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo 3 F4294967296", PROTO_ERR_BAD_FORMAT);
	expect_error("ms foo 3 v v", PROTO_ERR_META_DUPLICATE_FLAG);
	p = parse("ms foo 3 v v");
	assert_true(meta_rejected_data_len(&p->req, &len));
	assert_int_equal(len, 3);
	p = parse("ms foo 17 Tx");
	assert_int_equal(p->err, PROTO_ERR_META_BAD_TOKEN);
	assert_true(meta_rejected_data_len(&p->req, &len));
	assert_int_equal(len, 17);

	/* Parse errors of other commands announce no data. */
	p = parse("mg foo v v");
	assert_false(meta_rejected_data_len(&p->req, &len));
}

/* ---- md, ma, mn, me --------------------------------------------------------------------- */

static void
test_md(void **state)
{
	const struct proto_request *req = parse_ok("md foo");

	(void)state;
	assert_int_equal(req->op, PROTO_OP_DELETE);
	expect_key(req, "foo");
	assert_int_equal(req->flags, 0);

	req = parse_ok("md foo C9 I T30 x q k Oz E4 F2");
	assert_int_equal(req->cas, 9);
	assert_int_equal(req->meta.new_ttl, 30);
	assert_int_equal(req->exptime, 0);
	assert_int_equal(req->meta.explicit_cas, 4);
	assert_int_equal(req->client_flags, 2);
	assert_int_equal(req->flags, PROTO_F_NOREPLY | PROTO_F_RETURN_KEY);
	assert_int_equal(req->meta.flags, bits("CITxqkOEF"));
	expect_ret(req, "kO");

	req = parse_ok("md Zm9v b");
	expect_key(req, "foo");
	assert_true(req->flags & PROTO_F_KEY_BINARY);
}

static void
test_ma(void **state)
{
	const struct proto_request *req = parse_ok("ma foo");

	(void)state;
	assert_int_equal(req->op, PROTO_OP_ARITH);
	expect_key(req, "foo");
	assert_int_equal(req->flags, PROTO_F_INCR);
	assert_int_equal(req->delta, 1);
	assert_int_equal(req->initial, 0);

	req = parse_ok("ma foo MD D5 N30 J10 v t c T90 C3 E4 q Oo k");
	assert_int_equal(req->flags, PROTO_F_HAS_INITIAL | PROTO_F_NOREPLY | PROTO_F_RETURN_CAS |
					     PROTO_F_RETURN_KEY);
	assert_int_equal(req->delta, 5);
	assert_int_equal(req->initial, 10);
	assert_int_equal(req->exptime, 30);
	assert_int_equal(req->meta.vivify_ttl, 30);
	assert_int_equal(req->meta.new_ttl, 90);
	assert_int_equal(req->cas, 3);
	assert_int_equal(req->meta.explicit_cas, 4);
	expect_ret(req, "tcOk");

	assert_true(parse_ok("ma foo MI")->flags & PROTO_F_INCR);
	assert_true(parse_ok("ma foo M+")->flags & PROTO_F_INCR);
	assert_false(parse_ok("ma foo M-")->flags & PROTO_F_INCR);
	assert_false(parse_ok("ma foo MD")->flags & PROTO_F_INCR);
	assert_int_equal(parse_ok("ma foo D0")->delta, 0);
	assert_int_equal(parse_ok("ma foo D18446744073709551615")->delta, UINT64_MAX);

	expect_error("ma foo MX", PROTO_ERR_META_BAD_MA_MODE);
	expect_error("ma foo M", PROTO_ERR_META_BAD_MA_MODE);
	expect_error("ma foo ME", PROTO_ERR_META_BAD_MA_MODE);
	/* memcached 1.6 answers every flag-scan failure of ma with one message. */
	expect_error("ma foo Dx", PROTO_ERR_META_INVALID_OR_DUPLICATE_FLAG);
	expect_error("ma foo Jx", PROTO_ERR_META_INVALID_OR_DUPLICATE_FLAG);
	expect_error("ma foo v v", PROTO_ERR_META_INVALID_OR_DUPLICATE_FLAG);
	expect_error("ma foo z", PROTO_ERR_META_INVALID_OR_DUPLICATE_FLAG);
	expect_error("ma Zm9 b", PROTO_ERR_META_INVALID_OR_DUPLICATE_FLAG);
	/* ... but not a missing key or a long opaque. */
	expect_error("ma", PROTO_ERR_BAD_FORMAT);
	expect_error("ma foo O123456789012345678901234567890123", PROTO_ERR_META_OPAQUE_TOO_LONG);
}

static void
test_mn_me(void **state)
{
	const struct proto_request *req = parse_ok("mn");

	(void)state;
	assert_int_equal(req->op, PROTO_OP_NOOP);
	assert_int_equal(parse_ok("mn whatever v v")->op, PROTO_OP_NOOP);

	req = parse_ok("me foo");
	assert_int_equal(req->op, PROTO_OP_DEBUG);
	expect_key(req, "foo");
	req = parse_ok("me Zm9v b");
	expect_key(req, "foo");
	assert_true(req->flags & PROTO_F_KEY_BINARY);
	/* Only a lone b right after the key counts; the rest is ignored. */
	req = parse_ok("me Zm9v x b");
	expect_key(req, "Zm9v");
	req = parse_ok("me foo bb");
	expect_key(req, "foo");

	expect_error("me", PROTO_ERR_BAD_FORMAT);
	expect_error("me Zm9 b", PROTO_ERR_BAD_FORMAT);
}

/* ---- bad lines -------------------------------------------------------------------------- */

static void
long_key(char *buf, unsigned n)
{
	memset(buf, 'a', n);
	buf[n] = '\0';
}

static void
test_errors(void **state)
{
	char key[300], line[400];

	(void)state;
	expect_error("mx foo", PROTO_ERR_UNKNOWN_COMMAND);
	expect_error("mgg foo", PROTO_ERR_UNKNOWN_COMMAND);
	expect_error("mg", PROTO_ERR_BAD_FORMAT);
	expect_error("md", PROTO_ERR_BAD_FORMAT);

	/* memcached's t/metaget.t: "gone silly with flags". */
	expect_error("mg foo m o o o o o o o o o", PROTO_ERR_INVALID_FLAG);
	expect_error("mg foo Z", PROTO_ERR_INVALID_FLAG);
	expect_error("mg foo W", PROTO_ERR_INVALID_FLAG);
	expect_error("mg foo 5", PROTO_ERR_INVALID_FLAG);
	expect_error("md foo S", PROTO_ERR_INVALID_FLAG);
	expect_error("mg foo v v", PROTO_ERR_META_DUPLICATE_FLAG);
	expect_error("mg foo T1 T2", PROTO_ERR_META_DUPLICATE_FLAG);
	expect_error("mg foo \x80", PROTO_ERR_META_DUPLICATE_FLAG);
	expect_error("mg foo \x7f", PROTO_ERR_META_DUPLICATE_FLAG);

	/* Bad numbers. */
	expect_error("mg foo T", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo Tx", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo T5x", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo T-", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo T2147483648", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo T-2147483649", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo N0x10", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo R1.5", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo C", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo C-1", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo C18446744073709551616", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo E-9223372036854775808", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo Jx", PROTO_ERR_META_BAD_INITIAL);
	expect_error("mg foo D", PROTO_ERR_META_BAD_DELTA);
	expect_error("mg foo Fx", PROTO_ERR_BAD_FORMAT);
	expect_error("md foo Cx", PROTO_ERR_META_BAD_TOKEN);

	/* Bad values do not stop the scan: the last message wins, F sets none. */
	expect_error("mg foo Tx Jy", PROTO_ERR_META_BAD_INITIAL);
	expect_error("mg foo Jy Tx", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo Tx Fy", PROTO_ERR_META_BAD_TOKEN);
	expect_error("mg foo Fy Tx", PROTO_ERR_META_BAD_TOKEN);
	/* ... but a repeated or unknown letter ends it at once. */
	expect_error("mg foo Tx v v", PROTO_ERR_META_DUPLICATE_FLAG);
	expect_error("mg foo Tx y", PROTO_ERR_INVALID_FLAG);

	/* Key length: 250 is fine, 251 is not (checked on the token, before base64). */
	long_key(key, 250);
	snprintf(line, sizeof(line), "mg %s v", key);
	assert_int_equal(parse_ok(line)->key_len, 250);
	long_key(key, 251);
	snprintf(line, sizeof(line), "mg %s v", key);
	expect_error(line, PROTO_ERR_KEY_TOO_LONG);
	snprintf(line, sizeof(line), "ms %s 2", key);
	expect_error(line, PROTO_ERR_KEY_TOO_LONG);
	snprintf(line, sizeof(line), "md %s", key);
	expect_error(line, PROTO_ERR_KEY_TOO_LONG);
	snprintf(line, sizeof(line), "me %s", key);
	expect_error(line, PROTO_ERR_KEY_TOO_LONG);
	snprintf(line, sizeof(line), "ma %s", key);
	expect_error(line, PROTO_ERR_KEY_TOO_LONG); /* memcached: bad command line format */
	long_key(key, 252);
	snprintf(line, sizeof(line), "mg %s b", key);
	expect_error(line, PROTO_ERR_KEY_TOO_LONG);

	/* Bad base64 keys. */
	expect_error("mg Zm9 b", PROTO_ERR_META_BAD_KEY_ENCODING);
	expect_error("mg Zh== b", PROTO_ERR_META_BAD_KEY_ENCODING);
	expect_error("mg Zm9v! b", PROTO_ERR_META_BAD_KEY_ENCODING);
	expect_error("ms Zm9 2 b", PROTO_ERR_META_BAD_KEY_ENCODING);
	expect_error("md ==== b", PROTO_ERR_META_BAD_KEY_ENCODING);
	expect_error("mg Zm9 b Tx", PROTO_ERR_META_BAD_TOKEN);

	/*
	 * Token count: 19 tokens at most, command included (memcached counts a terminal token
	 * too: "ntokens > 20"). mg says "are too long", ms md ma "too long" (memcached 1.6.18).
	 */
	expect_ret(parse_ok("mg foo s t c f l h k v q u x I P L O1 N1 T1"), "stcflhkO");
	expect_error("mg foo s t c f l h k v q u x I P L O1 N1 T1 R1",
		     PROTO_ERR_META_TOO_MANY_FLAGS);
	parse_ok("ms foo 1 s t c f l h k v q u x I P L O1 N1");
	expect_error("ms foo 1 s t c f l h k v q u x I P L O1 N1 T1",
		     PROTO_ERR_META_FLAGS_TOO_LONG);
	parse_ok("md foo q c f l h k v s u x I P L O1 N1 T1 C1");
	expect_error("md foo q c f l h k v s u x I P L O1 N1 T1 C1 E1",
		     PROTO_ERR_META_FLAGS_TOO_LONG);
	expect_error("ma foo q q q q q q q q q q q q q q q q q q", PROTO_ERR_META_FLAGS_TOO_LONG);
	expect_error("ma foo q q q q q q q q q q q q q q q q q",
		     PROTO_ERR_META_INVALID_OR_DUPLICATE_FLAG);
	/* The count is checked before the flags, the key length before the count. */
	expect_error("mg foo z z z z z z z z z z z z z z z z z z", PROTO_ERR_META_TOO_MANY_FLAGS);
	expect_error("ms foo x z z z z z z z z z z z z z z z z z", PROTO_ERR_META_FLAGS_TOO_LONG);
	long_key(key, 251);
	snprintf(line, sizeof(line), "md %s z z z z z z z z z z z z z z z z z z", key);
	expect_error(line, PROTO_ERR_KEY_TOO_LONG);

	/* Opaque: 32 bytes with its letter. */
	assert_int_equal(parse_ok("mg foo O1234567890123456789012345678901")->meta.opaque_len, 31);
	expect_error("mg foo O12345678901234567890123456789012", PROTO_ERR_META_OPAQUE_TOO_LONG);
	expect_error("md foo O12345678901234567890123456789012", PROTO_ERR_META_OPAQUE_TOO_LONG);
	expect_error("ms foo 1 O12345678901234567890123456789012", PROTO_ERR_META_OPAQUE_TOO_LONG);
	/* Flag errors come first, then the mode, then the opaque. */
	expect_error("ms foo 1 MZ O12345678901234567890123456789012 Tx", PROTO_ERR_META_BAD_TOKEN);
	expect_error("ms foo 1 MZ O12345678901234567890123456789012", PROTO_ERR_META_BAD_MS_MODE);
}

/* Tokens that no tokenizer produces must still be refused safely. */
static void
test_odd_tokens(void **state)
{
	struct proto_token tok[4] = {{"mg", 2}, {"foo", 3}, {"", 0}, {"v", 1}};
	struct proto_request req;
	enum proto_error err;

	(void)state;
	assert_int_equal(meta_parse_tokens(tok, 4, &req, &err), -1);
	assert_int_equal(err, PROTO_ERR_BAD_FORMAT);
	tok[1].len = 0;
	assert_int_equal(meta_parse_tokens(tok, 2, &req, &err), -1);
	assert_int_equal(err, PROTO_ERR_BAD_FORMAT);
	assert_int_equal(meta_parse_tokens(tok, 0, &req, &err), -1);
	assert_int_equal(err, PROTO_ERR_UNKNOWN_COMMAND);
	assert_true(meta_is_command(&tok[0]));
	tok[0].p = "ma";
	assert_true(meta_is_command(&tok[0]));
	tok[0].p = "get";
	tok[0].len = 3;
	assert_false(meta_is_command(&tok[0]));
}

/* ---- round trips ------------------------------------------------------------------------ */

/* What a composed line asks for, to compare the parse against. */
struct spec {
	char cmd; /* g s d a */
	uint8_t key[PROTO_KEY_MAX];
	uint32_t key_len;
	bool binary;
	uint32_t datalen;
	char ret[PROTO_META_RET_MAX + 1];
	char opaque[32];
	bool has_opaque;
	bool v, q, u, x, I, has_T, has_N, has_R, has_E, has_C, has_F, has_J, has_D;
	char mode; /* 0 or the M letter */
	int32_t T, N, R;
	uint64_t E, C, J, D;
	uint32_t F;
};

static uint64_t
rnd64(void)
{
	return (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand();
}

static void
spec_random(struct spec *s)
{
	static const char cmds[] = "gsda";
	static const char ms_modes[] = "EAPRS";
	static const char ma_modes[] = "ID+-";
	static const char ret_all[] = "stcflhOk";
	char order[9];
	unsigned nret = 0;

	memset(s, 0, sizeof(*s));
	s->cmd = cmds[rand() % 4];
	s->binary = rand() % 4 == 0;
	s->key_len = 1 + (uint32_t)(rand() % (s->binary ? 186 : 250));
	for (uint32_t i = 0; i < s->key_len; i++)
		s->key[i] = s->binary ? (uint8_t)rand() : (uint8_t)('!' + rand() % 94);
	s->datalen = (uint32_t)(rand() % 100000);

	/* A random subset of the return flags in a random order. */
	memcpy(order, ret_all, 9);
	for (unsigned i = 7; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1);
		char t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned i = 0; i < 8; i++)
		if (rand() % 2)
			s->ret[nret++] = order[i];
	if (strchr(s->ret, 'O') != NULL) {
		unsigned n = (unsigned)rand() % 32;

		s->has_opaque = true;
		for (unsigned i = 0; i < n; i++)
			s->opaque[i] = (char)('!' + rand() % 94);
	}
	s->v = rand() % 2;
	s->q = rand() % 2;
	s->u = rand() % 2;
	s->x = rand() % 2;
	s->I = rand() % 2;
	if ((s->has_T = rand() % 2))
		s->T = (int32_t)(rnd64() % 4000000) - 1000000;
	if ((s->has_N = rand() % 2))
		s->N = (int32_t)(rnd64() % 100000);
	if ((s->has_R = rand() % 2))
		s->R = (int32_t)(rnd64() % 100000);
	if ((s->has_E = rand() % 2))
		s->E = rnd64();
	if ((s->has_C = rand() % 2))
		s->C = rnd64();
	if ((s->has_F = rand() % 2))
		s->F = (uint32_t)rnd64();
	if ((s->has_J = rand() % 2))
		s->J = rnd64();
	if ((s->has_D = rand() % 2))
		s->D = rnd64();
	if (rand() % 2 && s->cmd == 's')
		s->mode = ms_modes[rand() % 5];
	if (rand() % 2 && s->cmd == 'a')
		s->mode = ma_modes[rand() % 4];
}

/* Compose the line for @p s: command, key, datalen (ms), then flags in a fixed order. */
static void
spec_line(const struct spec *s, char *line, size_t cap)
{
	size_t n = 0;

#define ADD(...) (n += (size_t)snprintf(line + n, cap - n, __VA_ARGS__))
	ADD("m%c ", s->cmd);
	if (s->binary) {
		int64_t e = nc_base64_encode(s->key, s->key_len, line + n, cap - n);

		assert_true(e > 0);
		n += (size_t)e;
		line[n] = '\0';
	} else {
		ADD("%.*s", (int)s->key_len, (const char *)s->key);
	}
	if (s->cmd == 's')
		ADD(" %u", s->datalen);
	for (const char *r = s->ret; *r != '\0'; r++) {
		if (*r == 'O')
			ADD(" O%s", s->opaque);
		else
			ADD(" %c", *r);
	}
	if (s->binary)
		ADD(" b");
	if (s->v)
		ADD(" v");
	if (s->q)
		ADD(" q");
	if (s->u)
		ADD(" u");
	if (s->x)
		ADD(" x");
	if (s->I)
		ADD(" I");
	if (s->has_T)
		ADD(" T%d", s->T);
	if (s->has_N)
		ADD(" N%d", s->N);
	if (s->has_R)
		ADD(" R%d", s->R);
	if (s->has_E)
		ADD(" E%llu", (unsigned long long)s->E);
	if (s->has_C)
		ADD(" C%llu", (unsigned long long)s->C);
	if (s->has_F)
		ADD(" F%u", s->F);
	if (s->has_J)
		ADD(" J%llu", (unsigned long long)s->J);
	if (s->has_D)
		ADD(" D%llu", (unsigned long long)s->D);
	if (s->mode != 0)
		ADD(" M%c", s->mode);
#undef ADD
	assert_true(n < cap);
}

static unsigned
spec_tokens(const struct spec *s)
{
	return 2 + (s->cmd == 's') + (unsigned)strlen(s->ret) + s->binary + s->v + s->q + s->u +
	       s->x + s->I + s->has_T + s->has_N + s->has_R + s->has_E + s->has_C + s->has_F +
	       s->has_J + s->has_D + (s->mode != 0);
}

static void
spec_check(const struct spec *s, const struct proto_request *req)
{
	enum proto_op op;
	uint64_t want_bits = 0;
	uint32_t want_flags = 0;

	switch (s->cmd) {
	case 'g':
		op = s->has_T ? PROTO_OP_GAT : PROTO_OP_GET;
		break;
	case 's':
		op = PROTO_OP_STORE;
		break;
	case 'd':
		op = PROTO_OP_DELETE;
		break;
	default:
		op = PROTO_OP_ARITH;
		break;
	}
	assert_int_equal(req->op, op);
	assert_int_equal(req->key_len, s->key_len);
	assert_memory_equal(req->key, s->key, s->key_len);
	expect_ret(req, s->ret);
	if (s->has_opaque) {
		assert_int_equal(req->meta.opaque_len, strlen(s->opaque));
		assert_memory_equal(req->meta.opaque, s->opaque, req->meta.opaque_len);
	} else {
		assert_null(req->meta.opaque);
	}

	want_bits = bits(s->ret);
	if (s->binary)
		want_bits |= bits("b");
	if (s->v)
		want_bits |= bits("v");
	if (s->q)
		want_bits |= bits("q");
	if (s->u)
		want_bits |= bits("u");
	if (s->x)
		want_bits |= bits("x");
	if (s->I)
		want_bits |= bits("I");
	if (s->has_T)
		want_bits |= bits("T");
	if (s->has_N)
		want_bits |= bits("N");
	if (s->has_R)
		want_bits |= bits("R");
	if (s->has_E)
		want_bits |= bits("E");
	if (s->has_C)
		want_bits |= bits("C");
	if (s->has_F)
		want_bits |= bits("F");
	if (s->has_J)
		want_bits |= bits("J");
	if (s->has_D)
		want_bits |= bits("D");
	if (s->mode != 0)
		want_bits |= bits("M");
	assert_int_equal(req->meta.flags, want_bits);

	assert_int_equal(req->meta.new_ttl, s->has_T ? s->T : 0);
	assert_int_equal(req->meta.vivify_ttl, s->has_N ? s->N : 0);
	assert_int_equal(req->meta.recache_ttl, s->has_R ? s->R : 0);
	assert_int_equal(req->meta.explicit_cas, s->has_E ? s->E : 0);
	assert_int_equal(req->cas, s->has_C ? s->C : 0);
	assert_int_equal(req->client_flags, s->has_F ? s->F : 0);
	assert_int_equal(req->initial, s->has_J ? s->J : 0);

	if (s->binary)
		want_flags |= PROTO_F_KEY_BINARY;
	if (strchr(s->ret, 'c') != NULL)
		want_flags |= PROTO_F_RETURN_CAS;
	if (strchr(s->ret, 'k') != NULL)
		want_flags |= PROTO_F_RETURN_KEY;
	if (s->q)
		want_flags |= s->cmd == 'g' ? PROTO_F_QUIET_MISS : PROTO_F_NOREPLY;

	switch (s->cmd) {
	case 'g':
		assert_int_equal(req->exptime, s->has_T ? s->T : 0);
		break;
	case 's': {
		enum proto_mode mode;

		switch (s->mode) {
		case 'E':
			mode = PROTO_MODE_ADD;
			break;
		case 'A':
			mode = PROTO_MODE_APPEND;
			break;
		case 'P':
			mode = PROTO_MODE_PREPEND;
			break;
		case 'R':
			mode = s->has_C ? PROTO_MODE_CAS : PROTO_MODE_REPLACE;
			break;
		default:
			mode = s->has_C ? PROTO_MODE_CAS : PROTO_MODE_SET;
			break;
		}
		assert_int_equal(req->mode, mode);
		assert_int_equal(req->value.len, s->datalen);
		assert_int_equal(req->exptime, s->has_T ? s->T : 0);
		break;
	}
	case 'd':
		assert_int_equal(req->exptime, 0);
		break;
	default:
		if (s->mode != 'D' && s->mode != '-')
			want_flags |= PROTO_F_INCR;
		if (s->has_N)
			want_flags |= PROTO_F_HAS_INITIAL;
		assert_int_equal(req->exptime, s->has_N ? s->N : 0);
		assert_int_equal(req->delta, s->has_D ? s->D : 1);
		break;
	}
	assert_int_equal(req->flags, want_flags);
}

static void
test_round_trip(void **state)
{
	unsigned checked = 0;

	(void)state;
	srand(1234);
	for (unsigned i = 0; i < 20000; i++) {
		struct spec s;
		char line[1024];
		struct proto_token tok[TOK_MAX];
		struct proto_request req;
		enum proto_error err = PROTO_ERR_NONE;
		unsigned ntok;
		int rc;

		spec_random(&s);
		spec_line(&s, line, sizeof(line));
		ntok = tokenize(line, strlen(line), tok, TOK_MAX);
		assert_int_equal(ntok, spec_tokens(&s));
		rc = meta_parse_tokens(tok, ntok, &req, &err);
		if (ntok >= META_TOKENS_MAX) {
			assert_int_equal(rc, -1);
			assert_int_equal(err, s.cmd == 'g' ? PROTO_ERR_META_TOO_MANY_FLAGS :
							     PROTO_ERR_META_FLAGS_TOO_LONG);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": error %s", line, proto_error_reply(err));
		spec_check(&s, &req);
		checked++;
	}
	/* Enough lines were short enough to parse. */
	assert_true(checked > 2000);
}

/* ---- replies ---------------------------------------------------------------------------- */

static void
test_write_mg(void **state)
{
	struct proto_result r = result(PROTO_ST_HIT);

	(void)state;
	r.value = "hi";
	r.value_len = 2;
	r.client_flags = 3;
	r.cas = 5;
	r.ttl_left = -1;
	r.last_access = 7;
	r.hit_before = true;

	expect_reply("mg foo", &r, "HD\r\n");
	expect_reply("mg foo v", &r, "VA 2\r\nhi\r\n");
	expect_reply("mg foo s", &r, "HD s2\r\n");
	expect_reply("mg foo s v t c f l h Oab k", &r,
		     "VA 2 s2 t-1 c5 f3 l7 h1 Oab kfoo\r\nhi\r\n");
	expect_reply("mg foo k Oab h l f c t s v", &r,
		     "VA 2 kfoo Oab h1 l7 f3 c5 t-1 s2\r\nhi\r\n");
	/* Flags that return nothing are not echoed. */
	expect_reply("mg foo v q u T30 N5 R3 E9 x I", &r, "VA 2\r\nhi\r\n");
	r.ttl_left = 30;
	r.hit_before = false;
	expect_reply("mg foo t h", &r, "HD t30 h0\r\n");
	expect_reply("mg foo O", &r, "HD O\r\n");

	/* W, X, Z after the flags, in memcached's order Z X W. */
	r.win = true;
	expect_reply("mg foo s", &r, "HD s2 W\r\n");
	r.stale = true;
	expect_reply("mg foo v", &r, "VA 2 X W\r\nhi\r\n");
	r.win = false;
	r.won_already = true;
	expect_reply("mg foo", &r, "HD Z X\r\n");
	r.stale = false;
	r.won_already = false;

	/* A C matching the item's cas drops the value (memcached 1.6). */
	expect_reply("mg foo v C5", &r, "HD\r\n");
	expect_reply("mg foo v C6 s", &r, "VA 2 s2\r\nhi\r\n");

	/* Quiet: a hit still answers. */
	expect_reply("mg foo q", &r, "HD\r\n");
	expect_reply("mg foo v q", &r, "VA 2\r\nhi\r\n");

	/* Binary keys are echoed in base64, followed by b. */
	expect_reply("mg Zm9v b k v", &r, "VA 2 kZm9v b\r\nhi\r\n");
	expect_reply("mg AAEC/w== k b", &r, "HD kAAEC/w== b\r\n");

	/* An empty value. */
	r.value = NULL;
	r.value_len = 0;
	expect_reply("mg foo v s", &r, "VA 0 s0\r\n\r\n");

	/* Misses: EN with O and k only. */
	r = result(PROTO_ST_MISS);
	expect_reply("mg foo v", &r, "EN\r\n");
	expect_reply("mg foo s v Oab t k c", &r, "EN Oab kfoo\r\n");
	expect_reply("mg Zm9v b k", &r, "EN kZm9v b\r\n");
	expect_reply("mg foo v q", &r, "");
	expect_reply("mg foo v q Oab k", &r, "");
	expect_reply("mg foo T30 v", &r, "EN\r\n");
}

static void
test_write_ms(void **state)
{
	struct proto_result r = result(PROTO_ST_STORED);

	(void)state;
	r.cas = 9;
	expect_reply("ms foo 2", &r, "HD\r\n");
	expect_reply("ms foo 2 c k Oxy s", &r, "HD c9 kfoo Oxy s2\r\n");
	expect_reply("ms foo 2 T1 F1 I v t f h l", &r, "HD\r\n");
	expect_reply("ms Zm9v 2 b k", &r, "HD kZm9v b\r\n");
	/* s: the stored size (after an append), else the size sent. */
	r.value_len = 4;
	expect_reply("ms foo 2 MA s", &r, "HD s4\r\n");
	r.value_len = 0;
	expect_reply("ms foo 2 q", &r, "");
	expect_reply("ms foo 2 q c", &r, "");

	r = result(PROTO_ST_NOT_STORED);
	expect_reply("ms foo 2 ME", &r, "NS\r\n");
	expect_reply("ms foo 2 ME q", &r, "NS\r\n");
	expect_reply("ms foo 2 ME s", &r, "NS s2\r\n");
	r = result(PROTO_ST_EXISTS);
	/* memcached's t/metaget.t: a failed cas returns c0. */
	expect_reply("ms foo 2 c C77", &r, "EX c0\r\n");
	expect_reply("ms foo 2 C77 q Oa", &r, "EX Oa\r\n");
	r = result(PROTO_ST_NOT_FOUND);
	expect_reply("ms foo 2 C77 k", &r, "NF kfoo\r\n");
	r = result(PROTO_ST_TOO_LARGE);
	expect_reply("ms foo 2 q", &r, "SERVER_ERROR object too large for cache\r\n");
	r = result(PROTO_ST_NO_MEMORY);
	expect_reply("ms foo 2 q", &r, "SERVER_ERROR out of memory storing object\r\n");
	r = result(PROTO_ST_NOT_REPLICATED);
	expect_reply("ms foo 2 q", &r, "SERVER_ERROR replication quorum not reached\r\n");
	r = result(PROTO_ST_NO_PRIMARY);
	expect_reply("ms foo 2", &r, "SERVER_ERROR no answer from the key's primary\r\n");
}

static void
test_write_md_ma_mn_me(void **state)
{
	struct proto_result r = result(PROTO_ST_DELETED);

	(void)state;
	expect_reply("md foo", &r, "HD\r\n");
	expect_reply("md foo Oab k", &r, "HD Oab kfoo\r\n");
	expect_reply("md foo q", &r, "");
	r.status = PROTO_ST_OK;
	expect_reply("md foo I T30", &r, "HD\r\n");
	expect_reply("md foo I q", &r, "");
	r.status = PROTO_ST_NOT_FOUND;
	expect_reply("md foo k Oab", &r, "NF kfoo Oab\r\n");
	expect_reply("md foo q", &r, "NF\r\n");
	r.status = PROTO_ST_MISS;
	expect_reply("md foo", &r, "NF\r\n");
	r.status = PROTO_ST_EXISTS;
	expect_reply("md foo C1 q", &r, "EX\r\n");
	r.status = PROTO_ST_NOT_STORED;
	expect_reply("md foo x", &r, "NS\r\n");
	r.status = PROTO_ST_NO_MEMORY;
	expect_reply("md foo x q", &r, "SERVER_ERROR out of memory\r\n");

	r = result(PROTO_ST_NUMBER);
	r.number = 14;
	r.cas = 8;
	r.ttl_left = -1;
	expect_reply("ma foo", &r, "HD\r\n");
	expect_reply("ma foo v", &r, "VA 2\r\n14\r\n");
	expect_reply("ma foo v t c Oq k", &r, "VA 2 t-1 c8 Oq kfoo\r\n14\r\n");
	expect_reply("ma foo c", &r, "HD c8\r\n");
	r.ttl_left = 90;
	expect_reply("ma foo t", &r, "HD t90\r\n");
	r.number = 0;
	expect_reply("ma foo v", &r, "VA 1\r\n0\r\n");
	r.number = UINT64_MAX;
	expect_reply("ma foo v", &r, "VA 20\r\n18446744073709551615\r\n");
	expect_reply("ma foo v q", &r, "");
	r = result(PROTO_ST_NOT_FOUND);
	expect_reply("ma foo v t c k", &r, "NF kfoo\r\n");
	expect_reply("ma foo q", &r, "NF\r\n");
	r = result(PROTO_ST_EXISTS);
	expect_reply("ma foo C3 Oz", &r, "EX Oz\r\n");
	r = result(PROTO_ST_NOT_STORED);
	expect_reply("ma foo N0", &r, "NS\r\n");
	r = result(PROTO_ST_NON_NUMERIC);
	expect_reply("ma foo q", &r,
		     "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	r = result(PROTO_ST_NO_MEMORY);
	expect_reply("ma foo", &r, "SERVER_ERROR out of memory\r\n");

	r = result(PROTO_ST_OK);
	expect_reply("mn", &r, "MN\r\n");

	r = result(PROTO_ST_HIT);
	r.ttl_left = -1;
	r.last_access = 3;
	r.cas = 5;
	r.hit_before = true;
	r.item_class = 1;
	r.item_size = 66;
	expect_reply("me foo", &r, "ME foo exp=-1 la=3 cas=5 fetch=yes cls=1 size=66\r\n");
	r.ttl_left = 100;
	r.hit_before = false;
	expect_reply("me Zm9v b", &r, "ME Zm9v exp=100 la=3 cas=5 fetch=no cls=1 size=66\r\n");
	r = result(PROTO_ST_MISS);
	expect_reply("me foo", &r, "EN\r\n");
}

static void
test_write_errors(void **state)
{
	(void)state;
	expect_error_reply(PROTO_ERR_BAD_FORMAT, "CLIENT_ERROR bad command line format\r\n");
	expect_error_reply(PROTO_ERR_KEY_TOO_LONG, "CLIENT_ERROR bad command line format\r\n");
	expect_error_reply(PROTO_ERR_INVALID_FLAG, "CLIENT_ERROR invalid flag\r\n");
	expect_error_reply(PROTO_ERR_UNKNOWN_COMMAND, "ERROR\r\n");
	expect_error_reply(PROTO_ERR_META_DUPLICATE_FLAG, "CLIENT_ERROR duplicate flag\r\n");
	expect_error_reply(PROTO_ERR_META_BAD_TOKEN,
			   "CLIENT_ERROR bad token in command line format\r\n");
	expect_error_reply(PROTO_ERR_META_TOO_MANY_FLAGS,
			   "CLIENT_ERROR options flags are too long\r\n");
	expect_error_reply(PROTO_ERR_META_FLAGS_TOO_LONG,
			   "CLIENT_ERROR options flags too long\r\n");
	expect_error_reply(PROTO_ERR_META_BAD_KEY_ENCODING, "CLIENT_ERROR error decoding key\r\n");
	expect_error_reply(PROTO_ERR_META_OPAQUE_TOO_LONG,
			   "CLIENT_ERROR opaque token too long\r\n");
	expect_error_reply(PROTO_ERR_META_BAD_MS_MODE,
			   "CLIENT_ERROR invalid mode for ms M token\r\n");
	expect_error_reply(PROTO_ERR_META_BAD_MA_MODE,
			   "CLIENT_ERROR invalid mode for ma M token\r\n");
	expect_error_reply(PROTO_ERR_META_BAD_INITIAL,
			   "CLIENT_ERROR invalid numeric initial value\r\n");
	expect_error_reply(PROTO_ERR_META_BAD_DELTA,
			   "CLIENT_ERROR invalid numeric delta value\r\n");
	expect_error_reply(PROTO_ERR_META_INVALID_OR_DUPLICATE_FLAG,
			   "CLIENT_ERROR invalid or duplicate flag\r\n");
	expect_error_reply(PROTO_ERR_NONE, "");
	expect_error_reply(PROTO_ERR_BINARY_UNKNOWN, "");
}

/* A quiet pipeline ends with mn: only what q does not hide, then MN. */
static void
test_quiet_pipeline(void **state)
{
	static const struct {
		const char *line;
		enum proto_status st;
	} steps[] = {
		{"mg a v q Oa", PROTO_ST_MISS},
		{"mg b v q Ob", PROTO_ST_HIT},
		{"ms c 2 q Oc", PROTO_ST_STORED},
		{"ms d 2 q Od", PROTO_ST_NOT_STORED},
		{"md e q Oe", PROTO_ST_DELETED},
		{"md f q Of", PROTO_ST_NOT_FOUND},
		{"ma g q v Og", PROTO_ST_NUMBER},
		{"ma h q Oh", PROTO_ST_NOT_FOUND},
		{"ms i 2 q Oi", PROTO_ST_EXISTS},
		{"mg j v q k", PROTO_ST_MISS},
		{"mn", PROTO_ST_OK},
	};
	struct outbuf *o = outbuf_new(false);

	(void)state;
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct proto_request *req = parse_ok(steps[i].line);
		struct proto_result r = result(steps[i].st);

		r.value = "bo";
		r.value_len = 2;
		r.number = 5;
		assert_int_equal(meta_write(&o->out, req, &r), 0);
	}
	assert_string_equal(outbuf_str(o),
			    "VA 2 Ob\r\nbo\r\nNS Od\r\nNF Of\r\nNF Oh\r\nEX Oi\r\nMN\r\n");
	free(o);
}

static void
test_write_output_limits(void **state)
{
	const struct proto_request *req = parse_ok("mg foo v s");
	struct proto_result r = result(PROTO_ST_HIT);
	struct iovec iov[4];
	uint8_t buf[32];
	struct proto_out out;
	char flat[64];
	static char big[100];

	(void)state;
	memset(big, 'x', sizeof(big));
	r.value = big;
	r.value_len = sizeof(big);

	/* Values referenced in place: header, value, "\r\n". */
	proto_out_init(&out, iov, 4, buf, sizeof(buf), false);
	assert_int_equal(meta_write(&out, req, &r), 0);
	assert_int_equal(out.bytes, strlen("VA 100 s100\r\n") + 100 + 2);
	assert_ptr_equal(out.iov[1].iov_base, big);

	/* Copied values that do not fit: nothing is left of the reply, though its status line
	 * fitted and had been merged into the previous iovec. */
	proto_out_init(&out, iov, 4, buf, sizeof(buf), true);
	assert_int_equal(meta_write(&out, parse_ok("mn"), &r), 0);
	assert_int_equal(meta_write(&out, req, &r), -ENOBUFS);
	assert_true(out.overflow);
	assert_int_equal(out.bytes, 4);
	assert_int_equal(out.used, 4);
	assert_int_equal(proto_out_flatten(&out, flat, sizeof(flat)), 4);
	assert_memory_equal(flat, "MN\r\n", 4);
	assert_int_equal(out.iov[0].iov_len, 4);

	/* Error lines are all or nothing too. */
	proto_out_init(&out, iov, 4, buf, sizeof(buf), true);
	assert_int_equal(meta_write_error(&out, PROTO_ERR_META_BAD_TOKEN), -ENOBUFS);
	assert_int_equal(out.bytes, 0);
}

static void
test_write_invalid(void **state)
{
	struct proto_result r = result(PROTO_ST_STORED);
	struct proto_request req = *parse_ok("mg foo");
	struct outbuf *o = outbuf_new(true);

	(void)state;
	assert_int_equal(meta_write(&o->out, &req, &r), -EINVAL);
	r.status = PROTO_ST_HIT;
	req.kind = PROTO_TEXT;
	assert_int_equal(meta_write(&o->out, &req, &r), -EINVAL);
	req = *parse_ok("ms foo 1");
	assert_int_equal(meta_write(&o->out, &req, &r), -EINVAL);
	req = *parse_ok("md foo");
	r.status = PROTO_ST_NUMBER;
	assert_int_equal(meta_write(&o->out, &req, &r), -EINVAL);
	req = *parse_ok("ma foo");
	r.status = PROTO_ST_HIT;
	assert_int_equal(meta_write(&o->out, &req, &r), -EINVAL);
	req = *parse_ok("me foo");
	r.status = PROTO_ST_STORED;
	assert_int_equal(meta_write(&o->out, &req, &r), -EINVAL);
	req.op = PROTO_OP_STATS;
	assert_int_equal(meta_write(&o->out, &req, &r), -EINVAL);
	assert_int_equal(o->out.bytes, 0);
	assert_false(o->out.overflow);
	free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_base64_strict),
		cmocka_unit_test(test_mg_plain),
		cmocka_unit_test(test_mg_return_flags),
		cmocka_unit_test(test_mg_value_flags),
		cmocka_unit_test(test_mg_numbers),
		cmocka_unit_test(test_mg_binary_key),
		cmocka_unit_test(test_ms_plain),
		cmocka_unit_test(test_ms_modes),
		cmocka_unit_test(test_ms_errors_swallow),
		cmocka_unit_test(test_md),
		cmocka_unit_test(test_ma),
		cmocka_unit_test(test_mn_me),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_odd_tokens),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_write_mg),
		cmocka_unit_test(test_write_ms),
		cmocka_unit_test(test_write_md_ma_mn_me),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_quiet_pipeline),
		cmocka_unit_test(test_write_output_limits),
		cmocka_unit_test(test_write_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
