/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the text protocol parser and writer (proto/text.h), with the meta
 * lines it hands to meta.c.
 *
 * Input: byte 0 picks item_size_max and the output's value policy; byte 1 (low 4 bits) says
 * how many split points follow as 2-byte offsets; the rest is the byte stream. The stream is
 * parsed twice: whole, and cut at the split points. Each segment is copied into an allocation
 * of exactly its size (ASan sees a read past it), appended, and parsed until the parser needs
 * more or closes; passed segments are compacted away, poisoned and freed, and a full input is
 * coalesced into one new segment (all allowed after PROTO_PARSE_MORE). Every key is read,
 * every value span gathered into an exact-size buffer, every outcome answered (text_write /
 * text_write_error, meta_write / meta_write_error for meta lines) with a made-up result. The
 * two runs must produce the same requests, errors and end position (a digest of each).
 * After PROTO_PARSE_MORE text_parser_line_stalled() is asked too (its answer depends on the
 * segments by design, so it is not part of the digest).
 * When text_single_get() or text_get_keys() (the parser-free paths for a get datagram) takes
 * the stream, the parser must produce the same requests from it and consume it all.
 *
 * Build (standalone):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I lib tests/fuzz/fuzz_text.c \
 *     lib/proto/text.c lib/proto/text_write.c lib/proto/meta.c lib/proto/meta_write.c \
 *     lib/core/base64.c lib/proto/input.c lib/proto/output.c lib/proto/request.c \
 *     -o /tmp/fuzz_text
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/meta.h"
#include "proto/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_IOV 128
#define OUT_BUF (64 * 1024)
#define SPLITS_MAX 15

static const uint32_t item_max_choice[8] = {0, 1, 2, 3, 10, 64, 1000, 100000};

struct harness {
	struct text_parser parser;
	struct proto_input in;
	uint8_t *owned[PROTO_INPUT_SEGS_MAX]; /* allocation behind in.seg[i] */
	uint64_t base;			      /* bytes consumed before the last coalesce */
	struct iovec iov[OUT_IOV];
	uint8_t buf[OUT_BUF];
	struct proto_out out;
	uint8_t flat[OUT_BUF * 2];
	uint32_t rng;
	uint64_t digest;
};

static struct harness h;

static void
mix(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h.digest ^= b[i];
		h.digest *= 0x100000001b3ULL;
	}
}

static uint32_t
rnd(void)
{
	h.rng ^= h.rng << 13;
	h.rng ^= h.rng >> 17;
	h.rng ^= h.rng << 5;
	return h.rng;
}

/* Text replies are lines: what was written must end in "\r\n". */
static void
check_output(void)
{
	uint64_t n = proto_out_flatten(&h.out, h.flat, sizeof(h.flat));

	if (n != h.out.bytes)
		abort();
	if (n > 0 && (n < 2 || h.flat[n - 2] != '\r' || h.flat[n - 1] != '\n'))
		abort();
}

static int
write_one(const struct proto_request *req, const struct proto_result *res, enum proto_error err,
	  bool is_error)
{
	if (req->kind == PROTO_META)
		return is_error ? meta_write_error(&h.out, err) : meta_write(&h.out, req, res);
	return is_error ? text_write_error(&h.out, err) : text_write(&h.out, req, res);
}

/* Append a reply; when the output is full, check and empty it and try once more. */
static void
answer(const struct proto_request *req, const struct proto_result *res, enum proto_error err,
       bool is_error)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int rc = write_one(req, res, err, is_error);

		if (rc != -ENOBUFS)
			return;
		check_output();
		proto_out_reset(&h.out);
	}
}

static const struct proto_stat fuzz_stats[] = {
	{"pid", "1"},
	{"uptime", "2"},
	{"version", "1.6.21"},
};

/* A result the worker could report for @p req (sometimes an implausible one). */
static void
synth_result(const struct proto_request *req, const uint8_t *value, uint32_t value_len,
	     struct proto_result *res)
{
	static const enum proto_status store_st[] = {PROTO_ST_STORED, PROTO_ST_NOT_STORED,
						     PROTO_ST_EXISTS, PROTO_ST_NOT_FOUND,
						     PROTO_ST_TOO_LARGE, PROTO_ST_NO_MEMORY};
	uint32_t r = rnd();

	memset(res, 0, sizeof(*res));
	res->cas = (uint64_t)r * 2654435761u;
	res->client_flags = r;
	res->number = (uint64_t)r << 33;
	res->value = value;
	res->value_len = value_len;
	res->text = "1.6.21";
	res->stats = fuzz_stats;
	res->nstats = r % 4;
	if (r % 13 == 0) {
		res->status = (enum proto_status)(r % (PROTO_STATUS_COUNT + 2));
		return;
	}
	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		res->status = r % 2 ? PROTO_ST_HIT : PROTO_ST_MISS;
		break;
	case PROTO_OP_TOUCH:
		res->status = r % 2 ? PROTO_ST_TOUCHED : PROTO_ST_NOT_FOUND;
		break;
	case PROTO_OP_STORE:
		res->status = store_st[r % 6];
		break;
	case PROTO_OP_DELETE:
		res->status = r % 2 ? PROTO_ST_DELETED : PROTO_ST_NOT_FOUND;
		break;
	case PROTO_OP_ARITH:
		res->status = r % 3 == 0   ? PROTO_ST_NUMBER
			      : r % 3 == 1 ? PROTO_ST_NON_NUMERIC
					   : PROTO_ST_NOT_FOUND;
		break;
	case PROTO_OP_VERSION:
		res->status = PROTO_ST_VERSION;
		break;
	case PROTO_OP_STATS:
		res->status = r % 4 == 0 ? PROTO_ST_OK : PROTO_ST_STATS;
		break;
	case PROTO_OP_DEBUG:
		res->status = r % 2 ? PROTO_ST_HIT : PROTO_ST_MISS;
		break;
	default:
		res->status = PROTO_ST_OK;
		break;
	}
}

/* A pointer a request hands out lies in the input, in the parser, or in the request. */
static void
check_ptr(const struct proto_request *req, const char *p, uint32_t len)
{
	uintptr_t a = (uintptr_t)p;

	if (len == 0)
		return;
	if (p == NULL)
		abort();
	for (unsigned s = 0; s < h.in.nsegs; s++) {
		uintptr_t b = (uintptr_t)h.in.seg[s].data;

		if (a >= b && a + len <= b + h.in.seg[s].len)
			return;
	}
	if (text_parser_owns(&h.parser, p) && text_parser_owns(&h.parser, p + len - 1))
		return;
	if (a >= (uintptr_t)req->meta.key_bin &&
	    a + len <= (uintptr_t)req->meta.key_bin + sizeof(req->meta.key_bin))
		return;
	abort();
}

/* Use one outcome: read what it points to, fold it into the digest, answer it. */
static void
handle(enum proto_parse rc, enum proto_error err, const struct proto_request *req)
{
	struct proto_result res;
	uint8_t *value = NULL;
	uint32_t value_len = 0;

	mix(&rc, sizeof(rc));
	mix(&err, sizeof(err));
	if (rc == PROTO_PARSE_CLOSE)
		return;
	mix(&req->kind, sizeof(req->kind));
	mix(&req->op, sizeof(req->op));
	mix(&req->flags, sizeof(req->flags));
	if (rc == PROTO_PARSE_ERROR) {
		if (err == PROTO_ERR_NONE)
			abort();
		if (req->op == PROTO_OP_STORE) {
			check_ptr(req, req->key, req->key_len);
			mix(req->key, req->key_len);
		}
		answer(req, NULL, err, true);
		return;
	}
	if (err != PROTO_ERR_NONE)
		abort();
	if (req->kind == PROTO_TEXT && req->key_len > PROTO_KEY_MAX)
		abort();
	check_ptr(req, req->key, req->key_len);
	mix(req->key, req->key_len);
	mix(&req->mode, sizeof(req->mode));
	mix(&req->client_flags, sizeof(req->client_flags));
	mix(&req->exptime, sizeof(req->exptime));
	mix(&req->cas, sizeof(req->cas));
	mix(&req->delta, sizeof(req->delta));
	if (req->kind == PROTO_TEXT) {
		mix(&req->level, sizeof(req->level));
		if (req->args != NULL) {
			check_ptr(req, req->args, req->args_len);
			mix(req->args, req->args_len);
		}
	} else {
		check_ptr(req, req->meta.opaque, req->meta.opaque_len);
		mix(req->meta.opaque, req->meta.opaque_len);
	}
	if (req->op == PROTO_OP_STORE) {
		uint64_t room = 0;

		for (unsigned s = req->value.seg; s < h.in.nsegs; s++)
			room += h.in.seg[s].len - (s == req->value.seg ? req->value.off : 0);
		if (req->value.len > 0 &&
		    (req->value.seg >= h.in.nsegs || req->value.off >= h.in.seg[req->value.seg].len ||
		     room < req->value.len))
			abort();
		value_len = req->value.len;
		value = malloc(value_len > 0 ? value_len : 1);
		if (value == NULL)
			abort();
		proto_gather(&h.in, &req->value, value);
		mix(value, value_len);
	}
	synth_result(req, value, value_len, &res);
	answer(req, &res, err, false);
	if (!h.out.copy_values) {
		/* Referenced values must be sent before they go away. */
		check_output();
		proto_out_reset(&h.out);
	}
	free(value);
}

static void
drop_front(unsigned k)
{
	for (unsigned i = 0; i < k; i++) {
		memset(h.owned[i], 0xee, h.in.seg[i].len);
		free(h.owned[i]);
	}
}

static void
compact(void)
{
	unsigned nseg = h.in.nsegs;
	unsigned k = h.in.cur;
	uint32_t lens[PROTO_INPUT_SEGS_MAX];

	for (unsigned i = 0; i < k; i++)
		lens[i] = h.in.seg[i].len;
	if (proto_input_compact(&h.in) != k)
		abort();
	for (unsigned i = 0; i < k; i++) {
		memset(h.owned[i], 0xee, lens[i]);
		free(h.owned[i]);
	}
	memmove(h.owned, h.owned + k, sizeof(h.owned[0]) * (nseg - k));
}

/* Move the unconsumed bytes into one segment (legal after PROTO_PARSE_MORE). */
static void
coalesce(void)
{
	uint64_t avail = proto_input_avail(&h.in);
	uint8_t *b = malloc(avail > 0 ? avail : 1);

	if (b == NULL)
		abort();
	proto_input_copy(&h.in, b, (uint32_t)avail);
	h.base += h.in.consumed;
	drop_front(h.in.nsegs);
	proto_input_init(&h.in);
	if (avail > 0) {
		proto_input_add(&h.in, b, (uint32_t)avail);
		h.owned[0] = b;
	} else {
		free(b);
	}
}

/* Parse until the parser wants more; false once it closed. */
static bool
drain(void)
{
	for (;;) {
		struct proto_request req;
		enum proto_error err;
		enum proto_parse rc;

		memset(&req, 0xa5, sizeof(req));
		rc = text_parse(&h.parser, &h.in, &req, &err);
		if (rc == PROTO_PARSE_MORE) {
			if (err != PROTO_ERR_NONE)
				abort();
			/* Depends on the segments by design: exercised, not digested. */
			(void)text_parser_line_stalled(&h.parser, &h.in);
			return true;
		}
		handle(rc, err, &req);
		if (rc == PROTO_PARSE_CLOSE)
			return false;
	}
}

/* One run over @p data cut at cuts[0..ncuts); returns its digest. */
static uint64_t
run(const uint8_t *data, size_t size, const size_t *cuts, unsigned ncuts, uint32_t item_max,
    bool copy)
{
	size_t prev = 0;
	bool open = true;

	h.digest = 0xcbf29ce484222325ULL;
	h.rng = 0x12345678u;
	h.base = 0;
	text_parser_init(&h.parser, item_max);
	proto_input_init(&h.in);
	proto_out_init(&h.out, h.iov, OUT_IOV, h.buf, sizeof(h.buf), copy);
	for (unsigned k = 0; k <= ncuts && open; k++) {
		size_t end = k < ncuts ? cuts[k] : size;
		uint8_t *seg;

		if (end <= prev)
			continue;
		seg = malloc(end - prev);
		if (seg == NULL)
			abort();
		memcpy(seg, data + prev, end - prev);
		if (h.in.nsegs == PROTO_INPUT_SEGS_MAX)
			coalesce();
		if (proto_input_add(&h.in, seg, (uint32_t)(end - prev)) != 0)
			abort();
		h.owned[h.in.nsegs - 1] = seg;
		prev = end;
		open = drain();
		if (open)
			compact();
	}
	check_output();
	h.base += h.in.consumed;
	mix(&h.base, sizeof(h.base));
	drop_front(h.in.nsegs);
	proto_input_init(&h.in);
	return h.digest;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* The shortcut must agree with the parser on every input it takes. */
static void
check_single_get(const uint8_t *data, size_t size)
{
	static struct text_parser p;
	struct proto_request quick, req;
	struct proto_input in;
	enum proto_error err;

	if (size > UINT32_MAX || !text_single_get((const char *)data, (uint32_t)size, &quick))
		return;
	text_parser_init(&p, 0);
	proto_input_init(&in);
	if (proto_input_add(&in, data, (uint32_t)size) != 0 ||
	    text_parse(&p, &in, &req, &err) != PROTO_PARSE_OK ||
	    memcmp(&req, &quick, offsetof(struct proto_request, meta)) != 0 ||
	    proto_input_avail(&in) != 0 || text_parse(&p, &in, &req, &err) != PROTO_PARSE_MORE)
		abort(); /* the shortcut took an input the parser reads otherwise */
}

/* So must text_get_keys(), key by key, on every input it takes. */
static void
check_get_keys(const uint8_t *data, size_t size)
{
	static struct text_parser p;
	struct proto_key_ref keys[32];
	struct proto_request quick, req;
	struct proto_input in;
	enum proto_error err;
	unsigned n;

	if (size > UINT32_MAX)
		return;
	n = text_get_keys((const char *)data, (uint32_t)size, keys, 32);
	if (n == 0)
		return;
	text_parser_init(&p, 0);
	proto_input_init(&in);
	if (proto_input_add(&in, data, (uint32_t)size) != 0)
		abort();
	for (unsigned i = 0; i < n; i++) {
		memset(&quick, 0, sizeof(quick));
		memset(&req, 0, sizeof(req));
		text_get_key_req(&quick, keys, i, n);
		if (text_parse(&p, &in, &req, &err) != PROTO_PARSE_OK ||
		    memcmp(&req, &quick, offsetof(struct proto_request, meta)) != 0)
			abort(); /* the shortcut took an input the parser reads otherwise */
	}
	if (proto_input_avail(&in) != 0 || text_parse(&p, &in, &req, &err) != PROTO_PARSE_MORE)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cuts[SPLITS_MAX];
	unsigned ncuts;
	uint32_t item_max;
	bool copy;
	uint64_t whole, split;

	if (size < 2)
		return 0;
	item_max = item_max_choice[data[0] & 7];
	copy = (data[0] & 8) == 0;
	ncuts = data[1] & 15;
	data += 2;
	size -= 2;
	if (size < 2 * (size_t)ncuts)
		ncuts = (unsigned)(size / 2);
	for (unsigned i = 0; i < ncuts; i++)
		cuts[i] = (size_t)(data[2 * i] | data[2 * i + 1] << 8);
	data += 2 * ncuts;
	size -= 2 * ncuts;
	for (unsigned i = 0; i < ncuts; i++)
		cuts[i] = size > 0 ? cuts[i] % size : 0;
	qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);

	check_single_get(data, size);
	check_get_keys(data, size);
	whole = run(data, size, NULL, 0, item_max, copy);
	split = run(data, size, cuts, ncuts, item_max, copy);
	if (whole != split)
		abort(); /* the segmentation changed what was parsed */
	return 0;
}
