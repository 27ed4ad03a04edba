/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the binary protocol parser and writer (proto/binary.h).
 *
 * Input: byte 0 picks item_size_max, the output's size and value policy, bytes 1-4 seed the split
 * of the rest into segments. Each segment is copied into its own allocation of exactly its
 * size (so ASan sees any read past a segment) and appended; the parser runs until it needs
 * more bytes or closes; consumed segments are compacted away and freed. Every request's key
 * is read, every value span gathered into an exact-size buffer, and every outcome answered
 * with binary_write() (a synthetic result chosen from the request) or binary_write_error();
 * the output is then checked to be a sequence of well-formed response packets.
 *
 * Build (standalone):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I lib tests/fuzz/fuzz_binary.c \
 *     lib/proto/binary.c lib/proto/binary_write.c lib/proto/input.c lib/proto/output.c \
 *     lib/proto/request.c -o /tmp/fuzz_binary
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/binary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_IOV 256
#define OUT_BUF (256 * 1024)

static const uint32_t item_max_choice[8] = {0, 1, 8, 16, 64, 256, 1024, 65536};
static const uint32_t out_cap_choice[8] = {OUT_BUF, 24, 40, 64, 128, 1024, 4096, OUT_BUF};
static const uint32_t out_iov_choice[8] = {OUT_IOV, 1, 2, 3, 8, 16, 64, OUT_IOV};

struct harness {
	struct binary_parser parser;
	struct proto_input in;
	uint8_t *owned[PROTO_INPUT_SEGS_MAX]; /* allocation behind in.seg[i] */
	struct iovec iov[OUT_IOV];
	uint8_t buf[OUT_BUF];
	struct proto_out out;
	uint8_t flat[OUT_BUF];
	uint32_t rng;
	uint64_t fed;
};

static struct harness h;

static uint32_t
rnd(void)
{
	h.rng ^= h.rng << 13;
	h.rng ^= h.rng >> 17;
	h.rng ^= h.rng << 5;
	return h.rng;
}

/* Every output so far must be whole response packets. */
static void
check_output(void)
{
	uint64_t n = proto_out_flatten(&h.out, h.flat, sizeof(h.flat));
	uint64_t at = 0;

	if (n != h.out.bytes)
		abort();
	while (at < n) {
		const uint8_t *p = h.flat + at;
		uint32_t body;
		uint16_t keylen;

		if (n - at < BINARY_HEADER_LEN || p[0] != BINARY_MAGIC_RES)
			abort();
		keylen = (uint16_t)(p[2] << 8 | p[3]);
		body = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
		if ((uint32_t)keylen + p[4] > body || n - at - BINARY_HEADER_LEN < body)
			abort();
		at += BINARY_HEADER_LEN + (uint64_t)body;
	}
}

/* Append a reply; when the output is full, check and empty it and try once more. */
static void
answer(const struct proto_request *req, const struct proto_result *res, enum proto_error err,
       bool is_error)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		uint64_t before = h.out.bytes;
		int rc = is_error ? binary_write_error(&h.out, req, err) :
				    binary_write(&h.out, req, res);

		if (rc != -ENOBUFS)
			return;
		if (h.out.bytes != before || !h.out.overflow)
			abort(); /* a reply that does not fit must leave the output as it was */
		check_output();
		proto_out_reset(&h.out);
	}
}

static const struct proto_stat fuzz_stats[] = {
	{"pid", "1"},
	{"uptime", "2"},
	{"version", "1.6.21"},
};

/* A result the worker could plausibly report for @p req (sometimes an implausible one). */
static void
synth_result(const struct proto_request *req, const uint8_t *value, uint32_t value_len,
	     struct proto_result *res)
{
	static const enum proto_status store_st[] = {PROTO_ST_STORED,	 PROTO_ST_NOT_STORED,
						     PROTO_ST_EXISTS,	 PROTO_ST_NOT_FOUND,
						     PROTO_ST_TOO_LARGE, PROTO_ST_NO_MEMORY};
	uint32_t r = rnd();

	memset(res, 0, sizeof(*res));
	res->cas = r % 3 == 0 ? 0 : (uint64_t)r * 2654435761u;
	res->client_flags = r;
	res->number = (uint64_t)r << 20;
	if (r % 11 == 0) {
		res->status = (enum proto_status)(r % (PROTO_STATUS_COUNT + 2));
		return;
	}
	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		res->status = r % 2 ? PROTO_ST_HIT : PROTO_ST_MISS;
		res->value = value;
		res->value_len = value_len;
		break;
	case PROTO_OP_TOUCH:
		res->status = r % 2 ? PROTO_ST_TOUCHED : PROTO_ST_NOT_FOUND;
		break;
	case PROTO_OP_STORE:
		res->status = store_st[r % 6];
		break;
	case PROTO_OP_DELETE:
		res->status = r % 3 == 0 ? PROTO_ST_DELETED :
			      r % 3 == 1 ? PROTO_ST_NOT_FOUND :
					   PROTO_ST_EXISTS;
		break;
	case PROTO_OP_ARITH:
		res->status = r % 3 == 0 ? PROTO_ST_NUMBER :
			      r % 3 == 1 ? PROTO_ST_NON_NUMERIC :
					   PROTO_ST_NOT_FOUND;
		break;
	case PROTO_OP_VERSION:
		res->status = PROTO_ST_VERSION;
		res->text = "1.6.21";
		break;
	case PROTO_OP_STATS:
		res->status = r % 4 == 0 ? PROTO_ST_NOT_FOUND : PROTO_ST_STATS;
		res->stats = fuzz_stats;
		res->nstats = r % 4;
		break;
	default:
		res->status = PROTO_ST_OK;
		break;
	}
}

/* A span must lie wholly in the input's segments. */
static bool
span_ok(const struct proto_span *sp)
{
	uint64_t room = 0;

	if (sp->seg >= h.in.nsegs || sp->off >= h.in.seg[sp->seg].len)
		return false;
	for (unsigned i = sp->seg; i < h.in.nsegs; i++)
		room += h.in.seg[i].len;
	return room - sp->off >= sp->len;
}

/* Use what the parser handed out: read the key, gather the value, write the reply. */
static void
consume(enum proto_parse rc, enum proto_error err, const struct proto_request *req)
{
	char key[PROTO_KEY_MAX];
	uint8_t *value = NULL;
	struct proto_result res;

	if (req->kind != PROTO_BINARY)
		abort();
	if (rc != PROTO_PARSE_OK) {
		if (err == PROTO_ERR_TOO_LARGE && req->key_len > 0)
			memcpy(key, req->key, req->key_len);
		answer(req, NULL, err, true);
		return;
	}
	if (req->key_len > PROTO_KEY_MAX || req->args_len > PROTO_KEY_MAX)
		abort();
	if (req->key_len > 0)
		memcpy(key, req->key, req->key_len);
	if (req->args_len > 0)
		memcpy(key, req->args, req->args_len);
	if (req->value.len > 0) {
		if (!span_ok(&req->value))
			abort();
		value = malloc(req->value.len);
		if (value == NULL)
			abort();
		proto_gather(&h.in, &req->value, value);
	}
	if (req->op == PROTO_OP_SASL_LIST || req->op == PROTO_OP_SASL_AUTH ||
	    req->op == PROTO_OP_SASL_STEP) {
		/* The worker answers these itself (conn_auth.c): a status and a short body. */
		static const uint16_t st[] = {BINARY_ST_SUCCESS, BINARY_ST_AUTH_ERROR,
					      BINARY_ST_AUTH_CONTINUE, BINARY_ST_UNKNOWN_COMMAND};
		static const char *const body[] = {"PLAIN", "Auth failure.", "", "Authenticated"};
		uint32_t r = rnd();

		if (req->op != PROTO_OP_SASL_LIST && (req->args == NULL || req->args_len == 0))
			abort(); /* the mechanism is always there (a key is required) */
		for (int attempt = 0; attempt < 2; attempt++) {
			if (binary_write_status(&h.out, req, st[r % 4], body[(r >> 2) % 4]) !=
			    -ENOBUFS)
				break;
			check_output();
			proto_out_reset(&h.out);
		}
		free(value);
		return;
	}
	synth_result(req, value, req->value.len, &res);
	answer(req, &res, PROTO_ERR_NONE, false);
	free(value);
}

static void
release_segments(unsigned upto)
{
	for (unsigned i = 0; i < upto; i++)
		free(h.owned[i]);
	memmove(h.owned, h.owned + upto, sizeof(h.owned[0]) * (PROTO_INPUT_SEGS_MAX - upto));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 5;
	bool closed = false;
	uint32_t maxseg;

	if (size < 5)
		return 0;
	binary_parser_init(&h.parser, item_max_choice[(data[0] >> 1) & 7]);
	proto_input_init(&h.in);
	proto_out_init(&h.out, h.iov, out_iov_choice[(data[0] >> 4) & 7], h.buf,
		       out_cap_choice[(data[0] >> 4) & 7], (data[0] & 1) != 0);
	h.rng = ((uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 8 |
		 data[4]) |
		1;
	h.fed = 0;
	maxseg = (data[0] & 0x80) ? 1 + rnd() % 8 : 1 + rnd() % 512;

	while (at < size && !closed) {
		uint32_t len = 1 + rnd() % maxseg;
		uint8_t *seg;

		if (len > size - at)
			len = (uint32_t)(size - at);
		if (h.in.nsegs == PROTO_INPUT_SEGS_MAX)
			break; /* a body longer than the input can chain: the I/O layer's limit */
		seg = malloc(len);
		if (seg == NULL)
			abort();
		memcpy(seg, data + at, len);
		at += len;
		h.owned[h.in.nsegs] = seg;
		if (proto_input_add(&h.in, seg, len) != 0)
			abort();
		h.fed += len;

		for (;;) {
			struct proto_request req;
			enum proto_error err;
			enum proto_parse rc;

			memset(&req, 0xa5, sizeof(req));
			rc = binary_parse(&h.parser, &h.in, &req, &err);
			if (h.in.consumed > h.fed)
				abort();
			if (rc == PROTO_PARSE_MORE)
				break;
			consume(rc, err, &req);
			if (rc == PROTO_PARSE_CLOSE) {
				/* Once closed, always closed, with nothing more to answer. */
				if (binary_parse(&h.parser, &h.in, &req, &err) !=
					    PROTO_PARSE_CLOSE ||
				    err != PROTO_ERR_NONE)
					abort();
				closed = true;
				break;
			}
		}
		release_segments(proto_input_compact(&h.in));
	}
	check_output();
	release_segments(h.in.nsegs);
	return 0;
}
