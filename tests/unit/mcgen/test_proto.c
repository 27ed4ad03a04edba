/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for app/mcgen/proto.h: requests as each protocol spells them; replies built as a
 * server would send them parsed whole, byte by byte (the parser asks for more and resumes), and
 * checked (workload.h) — a flipped value byte, a wrong key, malformed bytes are caught.
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

#include "options.h"
#include "proto.h"
#include "workload.h"

static struct mcgen_workload w;

static int
setup(void **state)
{
	struct mcgen_options o;
	char err[128];

	(void)state;
	assert_int_equal(mcgen_options_defaults(&o, err, sizeof(err)), 0);
	o.keys = 1000;
	o.value_size = (struct mcgen_range){1, 3000};
	o.key_size = (struct mcgen_range){12, 40};
	return mcgen_workload_init(&w, &o, err, sizeof(err));
}

static void
put_be(unsigned char *p, uint64_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0; v >>= 8)
		p[i] = (unsigned char)v;
}

/* One binary response packet. */
static size_t
bin_packet(char *buf, unsigned opcode, unsigned status, uint32_t opaque, const char *key,
	   unsigned klen, const uint32_t *flags, const char *val, uint32_t vlen)
{
	unsigned char *h = (unsigned char *)buf;
	unsigned ext = flags ? 4 : 0;

	memset(h, 0, 24);
	h[0] = 0x81;
	h[1] = (unsigned char)opcode;
	put_be(h + 2, klen, 2);
	h[4] = (unsigned char)ext;
	put_be(h + 6, status, 2);
	put_be(h + 8, ext + klen + vlen, 4);
	put_be(h + 12, opaque, 4);
	if (flags)
		put_be(h + 24, *flags, 4);
	memcpy(buf + 24 + ext, key, klen);
	memcpy(buf + 24 + ext + klen, val, vlen);
	return 24 + ext + klen + vlen;
}

/*
 * The reply a server holding keys of @p q (those whose bit is set in @p present, at version
 * @p version) sends, in @p proto.
 */
static size_t
server_reply(unsigned proto, const struct mcgen_req *q, unsigned present, uint32_t version,
	     char *buf)
{
	char key[MCGEN_KEY_MAX + 1], *val = malloc(4000);
	size_t n = 0;

	if (q->op == MCGEN_OP_SET || q->op == MCGEN_OP_DELETE) {
		bool hit = present & 1;

		if (proto == MCGEN_PROTO_TEXT)
			n = (size_t)sprintf(buf, "%s", q->op == MCGEN_OP_SET ? "STORED\r\n"
						       : hit ? "DELETED\r\n" : "NOT_FOUND\r\n");
		else if (proto == MCGEN_PROTO_META)
			n = (size_t)sprintf(buf, "%s", q->op == MCGEN_OP_SET || hit ? "HD\r\n" : "NF\r\n");
		else
			n = bin_packet(buf, q->op == MCGEN_OP_SET ? 0x01 : 0x04,
				       q->op == MCGEN_OP_SET || hit ? 0 : 1, q->opaque, "", 0, NULL, "", 0);
		free(val);
		return n;
	}
	for (unsigned i = 0; i < q->nkeys; i++) {
		unsigned klen = mcgen_key(&w, q->keys[i], key);
		uint32_t vlen = mcgen_value_len(&w, q->keys[i], version);
		bool hit = present >> i & 1;

		mcgen_value_fill(&w, q->keys[i], version, val);
		if (proto == MCGEN_PROTO_TEXT && hit) {
			n += (size_t)sprintf(buf + n, "VALUE %.*s %u %u\r\n", (int)klen, key, version, vlen);
			memcpy(buf + n, val, vlen);
			n += vlen;
			n += (size_t)sprintf(buf + n, "\r\n");
		} else if (proto == MCGEN_PROTO_META && hit) {
			n += (size_t)sprintf(buf + n, "VA %u f%u k%.*s\r\n", vlen, version, (int)klen, key);
			memcpy(buf + n, val, vlen);
			n += vlen;
			n += (size_t)sprintf(buf + n, "\r\n");
		} else if (proto == MCGEN_PROTO_META && q->op == MCGEN_OP_GET) {
			n += (size_t)sprintf(buf + n, "EN\r\n");
		} else if (proto == MCGEN_PROTO_BINARY && (hit || q->op == MCGEN_OP_GET)) {
			n += bin_packet(buf + n, q->op == MCGEN_OP_GET ? 0x0c : 0x0d, hit ? 0 : 1, q->opaque,
					key, klen, hit ? &version : NULL, val, hit ? vlen : 0);
		}
	}
	if (proto == MCGEN_PROTO_TEXT)
		n += (size_t)sprintf(buf + n, "END\r\n");
	else if (proto == MCGEN_PROTO_META && q->op == MCGEN_OP_MGET)
		n += (size_t)sprintf(buf + n, "MN\r\n");
	else if (proto == MCGEN_PROTO_BINARY && q->op == MCGEN_OP_MGET)
		n += bin_packet(buf + n, 0x0a, 0, q->opaque, "", 0, NULL, "", 0);
	free(val);
	return n;
}

/* Parse @p len bytes given one more byte at a time; the whole reply parses only at the end. */
static long
parse_bytewise(unsigned proto, const struct mcgen_req *q, const char *buf, size_t len,
	       struct mcgen_reply *r)
{
	char err[256];
	size_t need = 0;

	for (size_t have = 0; have < len; have++) {
		long n;

		if (have < need)
			continue; /* the parser said it needs more: no call */
		n = mcgen_proto_parse(proto, q, buf, have, r, &need, err, sizeof(err));
		if (n != 0)
			fail_msg("%s: %zu of %zu bytes parsed as %ld (%s)", mcgen_proto_name(proto), have,
				 len, n, n < 0 ? err : "complete");
		assert_true(need > have && need <= len);
	}
	return mcgen_proto_parse(proto, q, buf, len, r, &need, err, sizeof(err));
}

static struct mcgen_req
request(unsigned op, unsigned nkeys, uint32_t version)
{
	struct mcgen_req q = {.op = (uint8_t)op, .nkeys = (uint8_t)nkeys, .version = version,
			      .opaque = 77};

	for (unsigned i = 0; i < nkeys; i++)
		q.keys[i] = 3 + i * 111;
	return q;
}

/* Every protocol, every operation, hits and misses: parsed and checked right. */
static void
test_roundtrip(void **state)
{
	char *buf = malloc(65536), err[256];

	(void)state;
	for (unsigned p = 0; p < MCGEN_PROTO_COUNT; p++)
		for (unsigned op = 0; op < MCGEN_OP_COUNT; op++)
			for (unsigned present = 0; present < 16; present += 5) {
				unsigned nkeys = op == MCGEN_OP_MGET ? 4 : 1;
				struct mcgen_req q = request(op, nkeys, 5);
				struct mcgen_outcome out = {0};
				struct mcgen_reply r;
				size_t len = server_reply(p, &q, present, 1234, buf);
				long n = parse_bytewise(p, &q, buf, len, &r);
				unsigned hits = 0;

				if (n != (long)len)
					fail_msg("%s %s: parsed %ld of %zu", mcgen_proto_name(p),
						 mcgen_op_name(op), n, len);
				assert_int_equal(mcgen_reply_check(&w, &q, &r, &out, err, sizeof(err)), 0);
				for (unsigned i = 0; i < nkeys; i++)
					hits += present >> i & 1;
				if (op == MCGEN_OP_GET || op == MCGEN_OP_MGET) {
					assert_int_equal(out.hits, hits);
					assert_int_equal(out.misses, nkeys - hits);
				}
			}
	free(buf);
}

/* A flipped byte in any value of a reply is an error naming the key and the offset. */
static void
test_wrong_byte(void **state)
{
	char *buf = malloc(65536), err[256];

	(void)state;
	for (unsigned p = 0; p < MCGEN_PROTO_COUNT; p++) {
		struct mcgen_req q = request(MCGEN_OP_MGET, 4, 0);
		struct mcgen_outcome out = {0};
		struct mcgen_reply r;
		size_t len = server_reply(p, &q, 15, 99, buf), need;
		long n;

		/* The last value's last data byte (before "\r\n" and the terminator). */
		size_t at = len - (p == MCGEN_PROTO_TEXT ? 8 : p == MCGEN_PROTO_META ? 7 : 25);
		buf[at] = buf[at] == 'A' ? 'B' : 'A';
		n = mcgen_proto_parse(p, &q, buf, len, &r, &need, err, sizeof(err));
		assert_int_equal(n, (long)len);
		assert_int_equal(mcgen_reply_check(&w, &q, &r, &out, err, sizeof(err)), -EBADMSG);
		assert_int_equal(out.wrong, 1);
		assert_non_null(strstr(err, "wrong byte"));
	}
	free(buf);
}

/* A value for a key not asked, out of order, or of another length. */
static void
test_wrong_key_and_length(void **state)
{
	char *buf = malloc(65536), err[256];
	struct mcgen_req q = request(MCGEN_OP_GET, 1, 0), other = request(MCGEN_OP_GET, 1, 0);
	struct mcgen_outcome out = {0};
	struct mcgen_reply r;
	size_t len, need;

	(void)state;
	other.keys[0] = 999;
	len = server_reply(MCGEN_PROTO_TEXT, &other, 1, 7, buf);
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_TEXT, &q, buf, len, &r, &need, err,
					   sizeof(err)), (long)len);
	assert_int_equal(mcgen_reply_check(&w, &q, &r, &out, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "was not asked"));
	/* Flags say another version: the length or the bytes differ. */
	len = server_reply(MCGEN_PROTO_TEXT, &q, 1, 7, buf);
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_TEXT, &q, buf, len, &r, &need, err,
					   sizeof(err)), (long)len);
	r.v[0].flags = 8;
	assert_int_equal(mcgen_reply_check(&w, &q, &r, &out, err, sizeof(err)), -EBADMSG);
	free(buf);
}

/* Bytes that are no reply, server errors, pipelined replies. */
static void
test_malformed_and_errors(void **state)
{
	struct mcgen_req get = request(MCGEN_OP_GET, 1, 0), set = request(MCGEN_OP_SET, 1, 3);
	struct mcgen_outcome out = {0};
	struct mcgen_reply r;
	char err[256];
	size_t need;
	const char *s;

	(void)state;
	s = "HELLO\r\n";
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_TEXT, &get, s, strlen(s), &r, &need, err,
					   sizeof(err)), -EPROTO);
	s = "VALUE k 0 5\r\nabcdeXY";
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_TEXT, &get, s, strlen(s), &r, &need, err,
					   sizeof(err)), -EPROTO);
	s = "END\n";
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_TEXT, &get, s, strlen(s), &r, &need, err,
					   sizeof(err)), -EPROTO);
	s = "SERVER_ERROR out of memory\r\nSTORED\r\n";
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_TEXT, &set, s, strlen(s), &r, &need, err,
					   sizeof(err)), 28);
	assert_int_equal(r.status, MCGEN_ST_ERROR);
	assert_int_equal(mcgen_reply_check(&w, &set, &r, &out, err, sizeof(err)), -EREMOTEIO);
	assert_int_equal(out.server_errors, 1);
	s = "NS\r\n";
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_META, &set, s, strlen(s), &r, &need, err,
					   sizeof(err)), 4);
	assert_int_equal(r.status, MCGEN_ST_NOT_STORED);
	s = "EN k5:abc\r\n"; /* memcached names the key of a miss */
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_META, &get, s, strlen(s), &r, &need, err,
					   sizeof(err)), (long)strlen(s));
	assert_int_equal(r.status, MCGEN_ST_MISS);
	/* A binary reply with another opaque. */
	char bin[64];
	size_t n = bin_packet(bin, 0x01, 0, 78, "", 0, NULL, "", 0);
	assert_int_equal(mcgen_proto_parse(MCGEN_PROTO_BINARY, &set, bin, n, &r, &need, err,
					   sizeof(err)), -EPROTO);
}

/* Requests as each protocol spells them. */
static void
test_encode(void **state)
{
	struct mcgen_req q = request(MCGEN_OP_MGET, 2, 0), d = request(MCGEN_OP_DELETE, 1, 0);
	char buf[4096], k0[MCGEN_KEY_MAX + 1], k1[MCGEN_KEY_MAX + 1], want[1024];
	unsigned l0, l1;
	long n;

	(void)state;
	l0 = mcgen_key(&w, q.keys[0], k0);
	l1 = mcgen_key(&w, q.keys[1], k1);
	assert_true(l0 >= 12 && l0 <= 40 && l1 >= 12 && l1 <= 40);
	n = mcgen_proto_encode(MCGEN_PROTO_TEXT, &w, &q, buf, sizeof(buf));
	snprintf(want, sizeof(want), "get %.*s %.*s\r\n", (int)l0, k0, (int)l1, k1);
	assert_int_equal(n, (long)strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
	n = mcgen_proto_encode(MCGEN_PROTO_META, &w, &q, buf, sizeof(buf));
	snprintf(want, sizeof(want), "mg %.*s v f k q\r\nmg %.*s v f k q\r\nmn\r\n", (int)l0, k0,
		 (int)l1, k1);
	assert_int_equal(n, (long)strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
	n = mcgen_proto_encode(MCGEN_PROTO_TEXT, &w, &d, buf, sizeof(buf));
	snprintf(want, sizeof(want), "delete %.*s\r\n", (int)l0, k0);
	assert_memory_equal(buf, want, (size_t)n);
	n = mcgen_proto_encode(MCGEN_PROTO_BINARY, &w, &q, buf, sizeof(buf));
	assert_int_equal(n, 24 + l0 + 24 + l1 + 24);
	assert_int_equal((unsigned char)buf[0], 0x80);
	assert_int_equal((unsigned char)buf[1], 0x0d);
	assert_int_equal((unsigned char)buf[n - 24 + 1], 0x0a);
	/* A set: the value of the version follows the header line. */
	struct mcgen_req s = request(MCGEN_OP_SET, 1, 42);
	char val[4000];
	uint32_t vlen = mcgen_value_len(&w, s.keys[0], 42);
	n = mcgen_proto_encode(MCGEN_PROTO_META, &w, &s, buf, sizeof(buf));
	mcgen_value_fill(&w, s.keys[0], 42, val);
	int h = snprintf(want, sizeof(want), "ms %.*s %u F42\r\n", (int)l0, k0, vlen);
	assert_int_equal(n, h + (long)vlen + 2);
	assert_memory_equal(buf, want, (size_t)h);
	assert_memory_equal(buf + h, val, vlen);
	assert_int_equal(mcgen_proto_encode(MCGEN_PROTO_TEXT, &w, &s, buf, 100), -ENOSPC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_wrong_byte),
		cmocka_unit_test(test_wrong_key_and_length),
		cmocka_unit_test(test_malformed_and_errors),
		cmocka_unit_test(test_encode),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
