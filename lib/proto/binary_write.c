/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Binary protocol response writer: memcached 1.6's replies, byte for byte (proto_bin.c
 * add_bin_header / write_bin_error / process_bin_get_or_touch / append_bin_stats).
 */
#include "proto/binary.h"

#include <errno.h>
#include <string.h>

static void
put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void
put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static void
put64(uint8_t *b, uint64_t v)
{
	put32(b, (uint32_t)(v >> 32));
	put32(b + 4, (uint32_t)v);
}

/* One response packet; every part is copied except a value (out->copy_values decides). */
struct packet {
	uint8_t opcode;
	uint16_t status;
	uint32_t opaque;
	uint64_t cas;
	const void *extras;
	uint8_t extlen;
	const void *key;
	uint16_t keylen;
	const void *body; /* after extras and key */
	uint32_t bodylen;
	bool body_is_value;
	const struct proto_result *value; /* body_is_value: the value, maybe in pieces */
};

/* Append @p pk; the caller rolls back on failure. */
static int
put_packet(struct proto_out *out, const struct packet *pk)
{
	uint8_t h[BINARY_HEADER_LEN];
	int rc;

	h[0] = BINARY_MAGIC_RES;
	h[1] = pk->opcode;
	put16(h + 2, pk->keylen);
	h[4] = pk->extlen;
	h[5] = 0; /* data type: raw bytes */
	put16(h + 6, pk->status);
	put32(h + 8, (uint32_t)pk->extlen + pk->keylen + pk->bodylen);
	put32(h + 12, pk->opaque);
	put64(h + 16, pk->cas);
	rc = proto_out_copy(out, h, sizeof(h));
	if (rc == 0)
		rc = proto_out_copy(out, pk->extras, pk->extlen);
	if (rc == 0)
		rc = proto_out_copy(out, pk->key, pk->keylen);
	if (rc == 0)
		rc = pk->body_is_value ? proto_out_result_value(out, pk->value) :
					 proto_out_copy(out, pk->body, pk->bodylen);
	return rc;
}

/* Write one packet or nothing. */
static int
write_one(struct proto_out *out, const struct packet *pk)
{
	struct proto_out_mark m;

	if ((uint64_t)pk->extlen + pk->keylen + pk->bodylen > UINT32_MAX)
		return -EINVAL;
	proto_out_mark(out, &m);
	if (put_packet(out, pk) != 0)
		return proto_out_rewind(out, &m);
	return 0;
}

int
binary_write_status(struct proto_out *out, const struct proto_request *req, uint16_t status,
		    const char *msg)
{
	struct packet pk = {
		.opcode = req->bin.opcode,
		.status = status,
		.opaque = req->bin.opaque,
		.body = msg,
		.bodylen = (uint32_t)strlen(msg),
	};

	return write_one(out, &pk);
}

static int
write_error(struct proto_out *out, const struct proto_request *req, uint16_t status)
{
	return binary_write_status(out, req, status, binary_status_message(status));
}

/* memcached's out_of_memory() texts, "SERVER_ERROR " stripped as it does for binary. */
static const char *
no_memory_message(enum proto_op op)
{
	switch (op) {
	case PROTO_OP_STORE:
		return "Out of memory allocating item";
	case PROTO_OP_ARITH:
		return "Out of memory incrementing value";
	case PROTO_OP_STATS:
		return "Out of memory generating stats";
	default:
		return binary_status_message(BINARY_ST_ENOMEM);
	}
}

/* A failed store, as memcached's complete_update_bin maps NOT_STORED. */
static uint16_t
not_stored_status(enum proto_mode mode)
{
	switch (mode) {
	case PROTO_MODE_ADD:
		return BINARY_ST_KEY_EEXISTS;
	case PROTO_MODE_REPLACE:
		return BINARY_ST_KEY_ENOENT;
	default:
		return BINARY_ST_NOT_STORED;
	}
}

static bool
is_read(enum proto_op op)
{
	return op == PROTO_OP_GET || op == PROTO_OP_GAT;
}

/* Hit of a get/gat (flags, key if asked, value) or of a touch (flags only); cas of the item. */
static int
write_hit(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	uint8_t flags[4];
	struct packet pk = {
		.opcode = req->bin.opcode,
		.status = BINARY_ST_SUCCESS,
		.opaque = req->bin.opaque,
		.cas = res->cas,
		.extras = flags,
		.extlen = sizeof(flags),
	};

	put32(flags, res->client_flags);
	if (is_read(req->op)) {
		if (res->value == NULL && res->value_len > 0)
			return -EINVAL;
		if ((req->flags & PROTO_F_RETURN_KEY) != 0) {
			if (req->key_len > UINT16_MAX)
				return -EINVAL;
			pk.key = req->key;
			pk.keylen = (uint16_t)req->key_len;
		}
		pk.body = res->value;
		pk.bodylen = res->value_len;
		pk.body_is_value = true;
		pk.value = res;
	}
	return write_one(out, &pk);
}

/* Miss of a get/gat: silent when quiet, the key as body for GetK/GATK, else "Not found". */
static int
write_read_miss(struct proto_out *out, const struct proto_request *req)
{
	struct packet pk = {
		.opcode = req->bin.opcode,
		.status = BINARY_ST_KEY_ENOENT,
		.opaque = req->bin.opaque,
	};

	if ((req->flags & PROTO_F_QUIET_MISS) != 0)
		return 0;
	if ((req->flags & PROTO_F_RETURN_KEY) == 0)
		return write_error(out, req, BINARY_ST_KEY_ENOENT);
	if (req->key_len > UINT16_MAX)
		return -EINVAL;
	pk.key = req->key;
	pk.keylen = (uint16_t)req->key_len;
	return write_one(out, &pk);
}

/* A success without body; nothing for a quiet request. */
static int
write_done(struct proto_out *out, const struct proto_request *req, uint64_t cas)
{
	struct packet pk = {
		.opcode = req->bin.opcode,
		.status = BINARY_ST_SUCCESS,
		.opaque = req->bin.opaque,
		.cas = cas,
	};

	if ((req->flags & PROTO_F_NOREPLY) != 0)
		return 0;
	return write_one(out, &pk);
}

static int
write_number(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	uint8_t v[8];
	struct packet pk = {
		.opcode = req->bin.opcode,
		.status = BINARY_ST_SUCCESS,
		.opaque = req->bin.opaque,
		.cas = res->cas,
		.body = v,
		.bodylen = sizeof(v),
	};

	if ((req->flags & PROTO_F_NOREPLY) != 0)
		return 0;
	put64(v, res->number);
	return write_one(out, &pk);
}

/* One packet per stat (key = name, value = value), then an empty one; all or nothing. */
static int
write_stats(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	struct packet pk = {
		.opcode = req->bin.opcode,
		.status = BINARY_ST_SUCCESS,
		.opaque = req->bin.opaque,
	};
	struct proto_out_mark m;

	if (res->nstats > 0 && res->stats == NULL)
		return -EINVAL;
	for (uint32_t i = 0; i < res->nstats; i++) {
		const struct proto_stat *st = &res->stats[i];
		size_t klen = st->name != NULL ? strlen(st->name) : 0;
		size_t vlen = st->value != NULL ? strlen(st->value) : 0;

		if (klen == 0 || klen > UINT16_MAX || klen + vlen > UINT32_MAX)
			return -EINVAL;
	}
	proto_out_mark(out, &m);
	for (uint32_t i = 0; i < res->nstats; i++) {
		const struct proto_stat *st = &res->stats[i];

		pk.key = st->name;
		pk.keylen = (uint16_t)strlen(st->name);
		pk.body = st->value;
		pk.bodylen = st->value != NULL ? (uint32_t)strlen(st->value) : 0;
		if (put_packet(out, &pk) != 0)
			return proto_out_rewind(out, &m);
	}
	pk.key = NULL;
	pk.keylen = 0;
	pk.body = NULL;
	pk.bodylen = 0;
	if (put_packet(out, &pk) != 0)
		return proto_out_rewind(out, &m);
	return 0;
}

int
binary_write(struct proto_out *out, const struct proto_request *req, const struct proto_result *res)
{
	switch (res->status) {
	case PROTO_ST_HIT:
		if (!is_read(req->op) && req->op != PROTO_OP_TOUCH)
			return -EINVAL;
		return write_hit(out, req, res);
	case PROTO_ST_TOUCHED:
		if (req->op != PROTO_OP_TOUCH)
			return -EINVAL;
		return write_hit(out, req, res);
	case PROTO_ST_MISS:
	case PROTO_ST_NOT_FOUND:
		if (is_read(req->op))
			return write_read_miss(out, req);
		return write_error(out, req, BINARY_ST_KEY_ENOENT);
	case PROTO_ST_STORED:
		if (req->op != PROTO_OP_STORE)
			return -EINVAL;
		return write_done(out, req, res->cas);
	case PROTO_ST_DELETED:
		if (req->op != PROTO_OP_DELETE)
			return -EINVAL;
		return write_done(out, req, 0);
	case PROTO_ST_NUMBER:
		if (req->op != PROTO_OP_ARITH)
			return -EINVAL;
		return write_number(out, req, res);
	case PROTO_ST_OK:
		if (req->op != PROTO_OP_FLUSH && req->op != PROTO_OP_VERBOSITY &&
		    req->op != PROTO_OP_QUIT && req->op != PROTO_OP_NOOP)
			return -EINVAL;
		return write_done(out, req, 0);
	case PROTO_ST_VERSION:
		if (req->op != PROTO_OP_VERSION)
			return -EINVAL;
		return binary_write_status(out, req, BINARY_ST_SUCCESS,
				    res->text != NULL ? res->text : "");
	case PROTO_ST_STATS:
		if (req->op != PROTO_OP_STATS)
			return -EINVAL;
		return write_stats(out, req, res);
	case PROTO_ST_NOT_STORED:
		return write_error(out, req, not_stored_status(req->mode));
	case PROTO_ST_EXISTS:
		return write_error(out, req, BINARY_ST_KEY_EEXISTS);
	case PROTO_ST_NON_NUMERIC:
		return write_error(out, req, BINARY_ST_DELTA_BADVAL);
	case PROTO_ST_TOO_LARGE:
		return write_error(out, req, BINARY_ST_E2BIG);
	case PROTO_ST_NO_MEMORY:
		return binary_write_status(out, req, BINARY_ST_ENOMEM, no_memory_message(req->op));
	case PROTO_ST_NOT_REPLICATED:
	case PROTO_ST_NO_PRIMARY:
		if (is_read(req->op))
			return -EINVAL;
		return write_error(out, req, BINARY_ST_ETMPFAIL);
	default:
		return -EINVAL;
	}
}

int
binary_write_error(struct proto_out *out, const struct proto_request *req, enum proto_error err)
{
	switch (err) {
	case PROTO_ERR_NONE:
		return 0;
	case PROTO_ERR_TOO_LARGE:
		return write_error(out, req, BINARY_ST_E2BIG);
	case PROTO_ERR_BINARY_UNKNOWN:
	case PROTO_ERR_UNKNOWN_COMMAND:
		return write_error(out, req, BINARY_ST_UNKNOWN_COMMAND);
	case PROTO_ERR_FLUSH_DISABLED:
		/* memcached -F answers a binary flush (quiet too) with an auth failure. */
		return write_error(out, req, BINARY_ST_AUTH_ERROR);
	default:
		return write_error(out, req, BINARY_ST_EINVAL);
	}
}
