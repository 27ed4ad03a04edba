/* SPDX-License-Identifier: BSD-3-Clause */
/* Executing classic (text and binary) requests against a shard; meta ones go to exec_meta.c. */
#include "exec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>

#include "proto/parser.h"

void
exec_value_release(struct exec_value *v)
{
	free(v->buf);
	v->buf = NULL;
	v->cap = 0;
}

int
exec_value_keep(struct exec_value *copy, struct proto_result *res)
{
	/* (No value: an mg without v on a compressed item has only its length.) */
	if (copy == NULL || res->value_len == 0 || res->value == NULL)
		return 0;
	if (copy->cap < res->value_len) {
		void *p = realloc(copy->buf, res->value_len);

		if (p == NULL)
			return -ENOMEM;
		copy->buf = p;
		copy->cap = res->value_len;
	}
	{
		struct proto_out o;
		struct iovec iov[1];

		/* Flatten the value (in pieces when chained) into the copy. */
		proto_out_init(&o, iov, 1, copy->buf, res->value_len, true);
		if (proto_out_result_value(&o, res) < 0)
			return -ENOMEM;
	}
	res->value = copy->buf;
	res->value_seg_len = 0;
	res->value_more = NULL;
	return 0;
}

const void *
exec_value_next_chunk(const void *cursor, const void **data, uint32_t *len)
{
	return store_hit_next_seg(cursor, data, len);
}

int
exec_hit_plain(const struct exec_ctx *ctx, const struct store_hit *hit, struct store_hit *out)
{
	uint32_t len;
	void *dst, *tmp = NULL;
	uint64_t t0;
	int rc;

	*out = *hit;
	if (!store_hit_compressed(hit))
		return 0;
	len = store_hit_raw_len(hit);
	dst = nc_scratch_alloc(ctx->scratch, len);
	if (dst != NULL && hit->seg_next != NULL)
		tmp = nc_scratch_alloc(ctx->scratch, hit->nbytes);
	if (dst == NULL || (hit->seg_next != NULL && tmp == NULL))
		return -ENOMEM;
	t0 = rte_rdtsc();
	rc = store_hit_inflate(hit, dst, tmp);
	STAT_ADD(ctx->stats, decompress_cycles, rte_rdtsc() - t0);
	STAT_INC(ctx->stats, decompressions);
	if (rc < 0)
		return rc;
	STAT_ADD(ctx->stats, decompressed_bytes, len);
	out->it = NULL; /* its bytes are not the item's any more */
	out->value = dst;
	out->nbytes = len;
	out->seg_len = len;
	out->seg_next = NULL;
	return 0;
}

/** Mark @p res as holding no value: every value field of it empty. */
static inline void
result_no_value(struct proto_result *res)
{
	res->value = NULL;
	res->value_len = 0;
	res->value_seg_len = 0;
	res->value_more = NULL;
	res->value_next = NULL;
}

int
exec_result_inflate(const struct exec_ctx *ctx, struct proto_result *res,
		    const struct store_hit *hit)
{
	struct store_hit plain;
	int rc = exec_hit_plain(ctx, hit, &plain);

	if (rc < 0) {
		result_no_value(res);
		return rc;
	}
	res->value = plain.value;
	res->value_len = plain.nbytes;
	res->value_seg_len = 0;
	res->value_more = NULL;
	res->value_next = exec_value_next_chunk;
	return 0;
}

void
exec_gather_value(struct item *it, const struct proto_input *in, const struct proto_span *value)
{
	struct proto_span rest = *value;
	struct item_seg sg;

	item_seg_first(it, &sg);
	do
		proto_gather_advance(in, &rest, sg.data, sg.len);
	while (rest.len > 0 && item_seg_next(&sg));
}

bool
exec_is_write(const struct proto_request *req)
{
	if (req->kind == PROTO_META)
		return exec_meta_is_write(req);
	switch (req->op) {
	case PROTO_OP_STORE:
	case PROTO_OP_DELETE:
	case PROTO_OP_ARITH:
	case PROTO_OP_TOUCH:
	case PROTO_OP_GAT:
		return true;
	default:
		return false;
	}
}

/** Fill a result from a store hit (an error reply when a compressed value cannot be read). */
static inline void
fill_hit(const struct exec_ctx *ctx, struct proto_result *res, const struct store_hit *hit)
{
	res->status = PROTO_ST_HIT;
	if (exec_result_value(ctx, res, hit) < 0)
		res->status = PROTO_ST_NO_MEMORY;
	res->client_flags = hit->client_flags;
	res->cas = hit->cas;
}

/** Count a lookup's outcome as memcached's get stats do (a hit in its item's class too). */
static void
count_get(struct worker_stats *st, enum store_status s, const struct store_hit *hit)
{
	STAT_INC(st, cmd_get);
	switch (s) {
	case STORE_HIT:
		STAT_INC_CLASS(st, get_hits, store_hit_class(hit));
		break;
	case STORE_EXPIRED:
		STAT_INC(st, get_expired);
		STAT_INC(st, get_misses);
		break;
	case STORE_FLUSHED:
		STAT_INC(st, get_flushed);
		STAT_INC(st, get_misses);
		break;
	default:
		STAT_INC(st, get_misses);
		break;
	}
}

void
exec_read(const struct exec_ctx *ctx, const struct store_shard *s, const struct store_key *k,
	  const struct item *found, const struct proto_request *req, struct proto_result *res)
{
	struct store_hit hit;
	enum store_status st;

	if (req->kind == PROTO_META) {
		exec_meta_read(ctx, s, k, req, res);
		return;
	}
	/* (Not cleared whole: the writers of a get's HIT, MISS or NO_MEMORY read no more.) */
	st = store_read_found(s, k, found, &hit); /* (fill_hit() and count_get() read no more) */
	count_get(ctx->stats, st, &hit);
	if (st == STORE_HIT) {
		fill_hit(ctx, res, &hit);
		return;
	}
	res->status = PROTO_ST_MISS;
	result_no_value(res);
	res->client_flags = 0;
	res->cas = 0;
}

static const enum store_mode store_mode_of[PROTO_MODE_COUNT] = {
	[PROTO_MODE_SET] = STORE_MODE_SET,	   [PROTO_MODE_ADD] = STORE_MODE_ADD,
	[PROTO_MODE_REPLACE] = STORE_MODE_REPLACE, [PROTO_MODE_APPEND] = STORE_MODE_APPEND,
	[PROTO_MODE_PREPEND] = STORE_MODE_PREPEND, [PROTO_MODE_CAS] = STORE_MODE_CAS,
};

/**
 * Count a finished store as memcached does: cmd_set always, in the class the client's value
 * takes (@p set_class); cas_* for cas, hits and bad values in the class of the item compared.
 */
static void
count_store(struct worker_stats *st, const struct store_shard *s, enum proto_mode mode,
	    enum store_status ss, int set_class)
{
	STAT_INC_CLASS(st, cmd_set, set_class);
	if (mode != PROTO_MODE_CAS)
		return;
	if (ss == STORE_STORED)
		STAT_INC_CLASS(st, cas_hits, store_shard_found_class(s));
	else if (ss == STORE_EXISTS)
		STAT_INC_CLASS(st, cas_badval, store_shard_found_class(s));
	else if (ss == STORE_NOT_FOUND)
		STAT_INC(st, cas_misses);
}

static enum proto_status
store_reply(enum store_status s)
{
	switch (s) {
	case STORE_STORED:
		return PROTO_ST_STORED;
	case STORE_EXISTS:
		return PROTO_ST_EXISTS;
	case STORE_NOT_FOUND:
		return PROTO_ST_NOT_FOUND;
	case STORE_TOO_LARGE:
		return PROTO_ST_TOO_LARGE;
	case STORE_NO_MEMORY:
		return PROTO_ST_NO_MEMORY;
	default:
		return PROTO_ST_NOT_STORED;
	}
}

void
exec_store_failed(struct store_shard *s, const struct store_key *k, const struct proto_request *req)
{
	if (proto_store_failure_unlinks(req))
		(void)store_delete(s, k, 0);
}

/** A store refused before anything was stored: too large for the item size limit. */
static void
answer_too_large(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
		 const struct proto_request *req, struct proto_result *res)
{
	exec_store_failed(s, k, req);
	STAT_INC(ctx->stats, store_too_large); /* memcached: not a cmd_set */
	res->status = PROTO_ST_TOO_LARGE;
	res->cas = 0;
}

/** A storage command: allocate, gather the value straight into the item, commit. */
static bool
exec_store(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
	   const struct proto_request *req, const struct proto_input *in, struct proto_result *res)
{
	enum store_mode mode = store_mode_of[req->mode];
	enum store_status st;
	struct item *it;

	it = store_item_alloc(s, k, req->client_flags, req->exptime, req->value.len, &st);
	if (it == NULL) {
		if (st == STORE_NO_MEMORY)
			return false;
		if (st == STORE_TOO_LARGE) {
			answer_too_large(ctx, s, k, req, res);
			return true;
		}
	} else {
		exec_gather_value(it, in, &req->value);
		st = store_item_commit(s, it, k, mode, req->cas, &res->cas);
		if (st == STORE_NO_MEMORY)
			return false;
		/* memcached answers NOT_STORED to an append/prepend whose result exceeds -I. */
		if (st == STORE_TOO_LARGE &&
		    (mode == STORE_MODE_APPEND || mode == STORE_MODE_PREPEND))
			st = STORE_NOT_STORED;
	}
	count_store(ctx->stats, s, req->mode, st, store_class_for(s, k->len, req->value.len));
	res->status = store_reply(st);
	if (st != STORE_STORED)
		res->cas = 0;
	return true;
}

/** Format @p v in decimal into buf; @return its length. */
static uint32_t
format_u64(char *buf, size_t cap, uint64_t v)
{
	return (uint32_t)snprintf(buf, cap, "%" PRIu64, v);
}

/** incr/decr; with PROTO_F_HAS_INITIAL (binary) a miss creates the key with .initial. */
static bool
exec_arith(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
	   const struct proto_request *req, struct proto_result *res)
{
	bool incr = (req->flags & PROTO_F_INCR) != 0;
	uint64_t value = 0, cas = 0;
	enum store_status st;
	int clsid;

	st = store_arith(s, k, incr, req->delta, &value, &cas);
	clsid = store_shard_found_class(s);
	if (st == STORE_NO_MEMORY)
		return false;
	if (st == STORE_NOT_FOUND && (req->flags & PROTO_F_HAS_INITIAL)) {
		char num[24];
		uint32_t n = format_u64(num, sizeof(num), req->initial);
		enum store_status put;

		put = store_put(s, k, STORE_MODE_ADD, num, n, 0, req->exptime, 0, &cas);
		if (put == STORE_NO_MEMORY)
			return false;
		/* memcached 1.6 counts this neither as a hit nor as a miss. */
		if (put == STORE_STORED) {
			res->status = PROTO_ST_NUMBER;
			res->number = req->initial;
			res->cas = cas;
			return true;
		}
		st = put;
	}
	if (st == STORE_OK) {
		if (incr)
			STAT_INC_CLASS(ctx->stats, incr_hits, clsid);
		else
			STAT_INC_CLASS(ctx->stats, decr_hits, clsid);
		res->status = PROTO_ST_NUMBER;
		res->number = value;
		res->cas = cas;
		return true;
	}
	if (st == STORE_NOT_FOUND) {
		if (incr)
			STAT_INC(ctx->stats, incr_misses);
		else
			STAT_INC(ctx->stats, decr_misses);
		res->status = PROTO_ST_NOT_FOUND;
	} else if (st == STORE_NON_NUMERIC) {
		res->status = PROTO_ST_NON_NUMERIC;
	} else {
		res->status = store_reply(st);
	}
	return true;
}

/** Count a touch or gat; a hit in its item's class @p clsid. */
static void
count_touch(struct worker_stats *st, bool hit, int clsid)
{
	STAT_INC(st, cmd_touch);
	if (hit)
		STAT_INC_CLASS(st, touch_hits, clsid);
	else
		STAT_INC(st, touch_misses);
}

void
exec_write_give_up(struct store_shard *s, const struct store_key *k,
		   const struct proto_request *req, struct proto_result *res)
{
	memset(res, 0, sizeof(*res));
	if (req->op == PROTO_OP_STORE) {
		exec_store_failed(s, k, req);
		store_count_out_of_memory(s, k->len, req->value.len);
	}
	res->status = PROTO_ST_NO_MEMORY;
}

bool
exec_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
	   const struct proto_request *req, const struct proto_input *in,
	   struct proto_result *res, struct exec_value *copy)
{
	struct store_hit hit;
	enum store_status st;

	if (req->op == PROTO_OP_STORE && (req->flags & PROTO_F_REFUSED) != 0) {
		memset(res, 0, sizeof(*res));
		answer_too_large(ctx, s, k, req, res);
		return true;
	}
	if (req->kind == PROTO_META)
		return exec_meta_write(ctx, s, k, req, in, res, copy);
	memset(res, 0, sizeof(*res));
	switch (req->op) {
	case PROTO_OP_STORE:
		return exec_store(ctx, s, k, req, in, res);
	case PROTO_OP_ARITH:
		return exec_arith(ctx, s, k, req, res);
	case PROTO_OP_DELETE:
		st = store_delete(s, k, req->cas);
		if (st == STORE_DELETED)
			STAT_INC_CLASS(ctx->stats, delete_hits, store_shard_found_class(s));
		else if (st == STORE_NOT_FOUND)
			STAT_INC(ctx->stats, delete_misses);
		res->status = st == STORE_DELETED   ? PROTO_ST_DELETED
			      : st == STORE_EXISTS ? PROTO_ST_EXISTS
						   : PROTO_ST_NOT_FOUND;
		return true;
	case PROTO_OP_TOUCH:
		st = store_touch(s, k, req->exptime);
		count_touch(ctx->stats, st == STORE_TOUCHED, store_shard_found_class(s));
		res->status = st == STORE_TOUCHED ? PROTO_ST_TOUCHED : PROTO_ST_NOT_FOUND;
		return true;
	case PROTO_OP_GAT:
		st = store_gat(s, k, req->exptime, &hit);
		count_touch(ctx->stats, st == STORE_HIT,
			    st == STORE_HIT ? (int)store_hit_class(&hit) : -1);
		if (st != STORE_HIT) {
			res->status = PROTO_ST_MISS;
			return true;
		}
		fill_hit(ctx, res, &hit);
		if (exec_value_keep(copy, res) != 0)
			res->status = PROTO_ST_NO_MEMORY;
		return true;
	default:
		res->status = PROTO_ST_NOT_FOUND;
		return true;
	}
}
