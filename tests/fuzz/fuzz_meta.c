/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the meta commands: meta_parse_tokens() on a line split on spaces as
 * memcached splits it, then meta_write() with a result made up from the input (or
 * meta_write_error() for a refused line), into a roomy output and into a tiny one; plus the
 * strict base64 decoder on the line itself.
 *
 * Input: a command line, optionally followed by "\n" and bytes that shape the result (status,
 * numbers, value length). Seeds: tests/fuzz/corpus/meta/.
 *
 * Checks beyond the sanitizers: a parsed request stays within its limits (key, binary key,
 * opaque, return flags), a b key re-encodes to the very token it came from, a reply is whole
 * lines, a reply that does not fit leaves the output as it was, and decode(encode(x)) is x.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "proto/meta.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

/* Bytes after the line, read as a little stream of choices. */
struct seed {
	const uint8_t *p;
	size_t n;
	size_t i;
};

static uint64_t
take(struct seed *s, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | (s->i < s->n ? s->p[s->i++] : 0x5a);
	return v;
}

static void
make_result(struct seed *s, struct proto_result *r, uint8_t *value, uint32_t value_max)
{
	memset(r, 0, sizeof(*r));
	r->status = (enum proto_status)(take(s, 1) % PROTO_STATUS_COUNT);
	r->value_len = (uint32_t)(take(s, 2) % (value_max + 1));
	for (uint32_t i = 0; i < r->value_len; i++)
		value[i] = (uint8_t)(i * 31 + 7);
	r->value = value;
	r->client_flags = (uint32_t)take(s, 4);
	r->cas = take(s, 8);
	r->number = take(s, 8);
	r->ttl_left = (int64_t)take(s, 8);
	r->last_access = (int64_t)take(s, 8);
	r->hit_before = take(s, 1) & 1;
	r->win = take(s, 1) & 1;
	r->stale = take(s, 1) & 1;
	r->won_already = take(s, 1) & 1;
	r->item_class = (uint32_t)take(s, 1);
	r->item_size = (uint32_t)take(s, 4);
}

/* Flattened reply: whole "\r\n"-terminated lines (the value block included). */
static void
check_reply(const struct proto_out *out)
{
	static uint8_t flat[1 << 16];
	uint64_t n = proto_out_flatten(out, flat, sizeof(flat));

	CHECK(n == out->bytes);
	if (n > 0)
		CHECK(n >= 4 && flat[n - 2] == '\r' && flat[n - 1] == '\n');
}

static void
write_both(const struct proto_request *req, const struct proto_result *res, bool ok,
	   enum proto_error err, bool copy)
{
	static struct iovec iov[8];
	static uint8_t buf[4096];
	static struct iovec tiny_iov[2];
	static uint8_t tiny[24];
	struct proto_out out, small;
	int rc;

	proto_out_init(&out, iov, 8, buf, sizeof(buf), copy);
	rc = ok ? meta_write(&out, req, res) : meta_write_error(&out, err);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK(rc == 0 || out.bytes == 0);
	check_reply(&out);

	/* A reply that does not fit leaves nothing behind; one that fits is the same bytes. */
	proto_out_init(&small, tiny_iov, 2, tiny, sizeof(tiny), copy);
	CHECK(proto_out_copy(&small, "xy", 2) == 0);
	rc = ok ? meta_write(&small, req, res) : meta_write_error(&small, err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOBUFS);
	if (rc != 0)
		CHECK(small.bytes == 2 && small.used == 2 && small.iov[0].iov_len == 2);
	else
		CHECK(small.bytes == 2 + out.bytes);
}

static const char ret_letters[] = "stcflhOk";

static void
check_request(const struct proto_request *req, const struct proto_token *tok)
{
	char enc[NC_BASE64_ENCODED_LEN(PROTO_META_BINKEY_MAX)];
	unsigned seen = 0;

	CHECK(req->kind == PROTO_META);
	if (req->op == PROTO_OP_NOOP)
		return;
	CHECK(req->key != NULL && req->key_len >= 1 && req->key_len <= PROTO_KEY_MAX);
	if (req->flags & PROTO_F_KEY_BINARY) {
		int64_t n;

		CHECK(req->key == (const char *)req->meta.key_bin);
		CHECK(req->key_len <= PROTO_META_BINKEY_MAX);
		n = nc_base64_encode(req->key, req->key_len, enc, sizeof(enc));
		CHECK(n == tok[1].len && memcmp(enc, tok[1].p, (size_t)n) == 0);
	} else {
		CHECK(req->key == tok[1].p && req->key_len == tok[1].len);
	}
	CHECK(req->meta.opaque_len < META_OPAQUE_TOKEN_MAX);
	for (unsigned i = 0; i < PROTO_META_RET_MAX && req->meta.ret[i] != 0; i++) {
		const char *at = strchr(ret_letters, req->meta.ret[i]);
		unsigned bit;

		CHECK(at != NULL);
		bit = 1u << (at - ret_letters);
		CHECK(!(seen & bit));
		seen |= bit;
		CHECK(req->meta.flags & PROTO_META_BIT(req->meta.ret[i]));
	}
}

static void
fuzz_base64(const uint8_t *data, size_t n)
{
	static uint8_t dec[4096];
	static char enc[8192];
	int64_t d, e;

	if (n > 4096)
		n = 4096;
	d = nc_base64_decode((const char *)data, n, dec, sizeof(dec));
	CHECK(d == -EINVAL || (d > 0 && (size_t)d <= NC_BASE64_DECODED_MAX(n)));
	if (d > 0) {
		e = nc_base64_encode(dec, (size_t)d, enc, sizeof(enc));
		CHECK(e == (int64_t)n && memcmp(enc, data, n) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t value[600];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl != NULL ? (size_t)(nl - data) : size;
	struct proto_token tok[PROTO_TOKENS_MAX];
	struct seed seed = {0};
	struct proto_request req;
	struct proto_result res;
	enum proto_error err = PROTO_ERR_NONE;
	unsigned ntok = 0;
	uint32_t swallow;
	char *line;
	size_t i = 0;
	int rc;

	if (len >= PROTO_LINE_READ_MAX) /* the longest line the text parser reads whole */
		return 0;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	if (nl != NULL) {
		seed.p = nl + 1;
		seed.n = size - (size_t)(nl - data) - 1;
	}
	fuzz_base64(data, len);

	/* An exact-size copy: a token read past its end is a heap overflow ASan reports. */
	line = malloc(len > 0 ? len : 1);
	CHECK(line != NULL);
	memcpy(line, data, len);
	while (i < len && ntok < PROTO_TOKENS_MAX) {
		size_t s;

		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		s = i;
		while (i < len && line[i] != ' ')
			i++;
		tok[ntok].p = line + s;
		tok[ntok].len = (uint32_t)(i - s);
		ntok++;
	}

	rc = meta_parse_tokens(tok, ntok, &req, &err);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		check_request(&req, tok);
		CHECK(!meta_rejected_data_len(&req, &swallow) || req.op == PROTO_OP_STORE);
	} else {
		CHECK(err > PROTO_ERR_NONE && err < PROTO_ERROR_COUNT);
		CHECK(proto_error_reply(err)[0] != '\0');
		if (meta_rejected_data_len(&req, &swallow))
			CHECK(swallow <= INT32_MAX - 2 && ntok >= 3);
	}
	make_result(&seed, &res, value, sizeof(value));
	write_both(&req, &res, rc == 0, err, true);
	write_both(&req, &res, rc == 0, err, false);
	free(line);
	return 0;
}
