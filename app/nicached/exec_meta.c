/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Meta commands (mg ms md ma me) against the store, as memcached 1.6.18 answers them; the
 * flags that 1.6.18 does not know yet (E, md x) as later 1.6 releases define them.
 *
 * Counters follow memcached 1.6.18: mg counts cmd_get and get_hits/get_misses, except that a
 * hit with T counts cmd_touch and touch_hits instead (a miss with T is still a get miss); a
 * vivified mg is a hit. ms counts cmd_set (not when too large) and cas_* in CAS mode (a
 * stale store with I is a cas hit). md counts delete_hits for a removal, delete_misses for
 * a miss or a cas mismatch, nothing for I/x. ma counts incr/decr hits and misses, nothing
 * for a vivify or a cas mismatch. cmd_meta is the worker's (conn_run.c counts every meta
 * request once, wherever it executes); memcached 1.6.18 counts only me there. The hit
 * counters that `stats slabs` shows per class count there too, in the class of the item hit
 * (cmd_set: of the value sent), as for the classic commands in exec.c.
 */
#include <stdlib.h>
#include <string.h>

#include "exec.h"

static bool
has(const struct proto_request *req, char c)
{
	return (req->meta.flags & PROTO_META_BIT(c)) != 0;
}

/* meta E: the cas a modified item gets, 0 = a new one. */
static uint64_t
explicit_cas(const struct proto_request *req)
{
	return has(req, 'E') ? req->meta.explicit_cas : 0;
}

/* Seconds left as meta t shows them: -1 for never. */
static int64_t
ttl_left(nc_reltime_t exptime, nc_reltime_t now)
{
	if (exptime == 0)
		return -1;
	return exptime > now ? (int64_t)exptime - now : 0;
}

static int64_t
since(nc_reltime_t t, nc_reltime_t now)
{
	return now > t ? (int64_t)now - t : 0;
}

/* Count a get miss and why (expired, flushed), as memcached's item lookup does. */
static void
count_get_miss(const struct exec_ctx *ctx, enum store_status st)
{
	STAT_INC(ctx->stats, cmd_get);
	STAT_INC(ctx->stats, get_misses);
	if (st == STORE_EXPIRED)
		STAT_INC(ctx->stats, get_expired);
	else if (st == STORE_FLUSHED)
		STAT_INC(ctx->stats, get_flushed);
}

/*
 * An mg hit's result fields (value, flags, cas, t, l, h) from what the store found. Without v
 * the reply shows no value, so a compressed one is not decompressed: s gets its length.
 */
static void
mg_fill(const struct exec_ctx *ctx, const struct proto_request *req, struct proto_result *res,
	const struct store_hit *hit, nc_reltime_t now)
{
	res->status = PROTO_ST_HIT;
	if (!has(req, 'v') && store_hit_compressed(hit)) {
		res->value = NULL;
		res->value_len = store_hit_raw_len(hit);
	} else if (exec_result_value(ctx, res, hit) < 0) {
		res->status = PROTO_ST_NO_MEMORY;
	}
	res->client_flags = hit->client_flags;
	res->cas = hit->cas;
	res->ttl_left = ttl_left(hit->exptime, now);
	res->last_access = since(hit->atime, now);
	res->hit_before = hit->fetched;
	res->stale = hit->stale;
}

/*
 * The recache token of an mg hit, as memcached: Z when a token went out already; a stale item
 * whose token is still there, or R with less than R seconds left, wins it (W). Readers race
 * for it with an atomic claim: a loser answers Z instead.
 */
static void
mg_token(const struct store_shard *s, const struct proto_request *req, const struct store_hit *hit,
	 struct proto_result *res)
{
	bool want = false;

	if (hit->win_sent) {
		res->won_already = true;
		return;
	}
	if (hit->stale)
		want = true;
	if (has(req, 'R') && hit->exptime != 0 &&
	    hit->exptime < store_shard_exptime(s, req->meta.recache_ttl))
		want = true;
	if (!want)
		return;
	if (store_hit_claim_win(hit))
		res->win = true;
	else
		res->won_already = true;
}

/* mg without T or N: a pure read, on any shard. */
static void
mg_read(const struct exec_ctx *ctx, const struct store_shard *s, const struct store_key *k,
	const struct proto_request *req, struct proto_result *res)
{
	struct store_hit hit;
	enum store_status st = store_meta_get(s, k, !has(req, 'u'), &hit);

	if (st != STORE_HIT) {
		count_get_miss(ctx, st);
		res->status = PROTO_ST_MISS;
		return;
	}
	STAT_INC(ctx->stats, cmd_get);
	STAT_INC_CLASS(ctx->stats, get_hits, store_hit_class(&hit));
	mg_fill(ctx, req, res, &hit, store_shard_now(s));
	mg_token(s, req, &hit, res);
}

/* me: the item's details, without marking it used; no get counters (as memcached). */
static void
me_read(const struct store_shard *s, const struct store_key *k, struct proto_result *res)
{
	struct store_hit hit;
	nc_reltime_t now = store_shard_now(s);

	if (store_meta_get(s, k, false, &hit) != STORE_HIT) {
		res->status = PROTO_ST_MISS;
		return;
	}
	res->status = PROTO_ST_HIT;
	res->ttl_left = ttl_left(hit.exptime, now);
	res->last_access = since(hit.atime, now);
	res->cas = hit.cas;
	res->hit_before = hit.fetched;
	store_hit_item_size(&hit, &res->item_class, &res->item_size);
	res->item_class++; /* memcached numbers classes from 1, as `stats items` does */
}

void
exec_meta_read(const struct exec_ctx *ctx, const struct store_shard *s, const struct store_key *k,
	       const struct proto_request *req, struct proto_result *res)
{
	memset(res, 0, sizeof(*res));
	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT: /* mg T belongs to exec_meta_write(); read it if sent here */
		mg_read(ctx, s, k, req, res);
		break;
	case PROTO_OP_DEBUG:
		me_read(s, k, res);
		break;
	default: /* writes belong to exec_meta_write() */
		res->status = PROTO_ST_MISS;
		break;
	}
}

bool
exec_meta_is_write(const struct proto_request *req)
{
	switch (req->op) {
	case PROTO_OP_STORE:
	case PROTO_OP_DELETE:
	case PROTO_OP_ARITH:
	case PROTO_OP_GAT:
		return true;
	case PROTO_OP_GET:
		return has(req, 'N') || has(req, 'T');
	default:
		return false;
	}
}

/* mg with T (touch) and/or N (vivify), on the owner. @return false: retry (no memory). */
static bool
mg_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
	 const struct proto_request *req, struct proto_result *res)
{
	bool touch = req->op == PROTO_OP_GAT || has(req, 'T');
	bool bump = !has(req, 'u');
	struct store_hit hit;
	enum store_status st;
	bool created = false;

	if (touch)
		st = store_meta_gat(s, k, req->meta.new_ttl, bump, &hit);
	else
		st = store_meta_get(s, k, bump, &hit);
	if (st != STORE_HIT && has(req, 'N')) {
		/* memcached applies N, then T when it comes later on the line: T wins here. */
		int64_t exptime = touch ? req->meta.new_ttl : req->meta.vivify_ttl;
		enum store_status vst = store_meta_vivify(s, k, exptime, explicit_cas(req), &hit);

		if (vst == STORE_NO_MEMORY)
			return false;
		created = vst == STORE_STORED;
	}
	if (st != STORE_HIT && !created) {
		count_get_miss(ctx, st);
		res->status = PROTO_ST_MISS;
		return true;
	}
	if (touch) {
		STAT_INC(ctx->stats, cmd_touch);
		STAT_INC_CLASS(ctx->stats, touch_hits, store_hit_class(&hit));
	} else {
		STAT_INC(ctx->stats, cmd_get);
		STAT_INC_CLASS(ctx->stats, get_hits, store_hit_class(&hit));
	}
	mg_fill(ctx, req, res, &hit, store_shard_now(s));
	if (created)
		res->win = true; /* the token was taken with the item */
	else
		mg_token(s, req, &hit, res);
	return true;
}

static enum store_mode
store_mode_of(enum proto_mode m)
{
	switch (m) {
	case PROTO_MODE_ADD:
		return STORE_MODE_ADD;
	case PROTO_MODE_REPLACE:
		return STORE_MODE_REPLACE;
	case PROTO_MODE_APPEND:
		return STORE_MODE_APPEND;
	case PROTO_MODE_PREPEND:
		return STORE_MODE_PREPEND;
	case PROTO_MODE_CAS:
		return STORE_MODE_CAS;
	case PROTO_MODE_SET:
	default:
		return STORE_MODE_SET;
	}
}

/* ms. @return false: retry (no memory). */
static bool
ms_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
	 const struct proto_request *req, const struct proto_input *in, struct proto_result *res)
{
	enum store_mode mode = store_mode_of(req->mode);
	struct store_put_opts o = {
		.cas_in = req->cas,
		.explicit_cas = explicit_cas(req),
		.stale_if_older = has(req, 'I'),
	};
	enum store_status st;
	struct item *it =
		store_item_alloc(s, k, req->client_flags, req->meta.new_ttl, req->value.len, &st);
	uint64_t cas = 0;

	if (it == NULL) {
		if (st == STORE_NO_MEMORY)
			return false;
		if (st == STORE_TOO_LARGE) {
			/* memcached: the old value must not outlive an ms that failed. */
			exec_store_failed(s, k, req);
			STAT_INC(ctx->stats, store_too_large);
			res->status = PROTO_ST_TOO_LARGE;
		} else {
			res->status = PROTO_ST_NOT_STORED;
		}
		return true;
	}
	exec_gather_value(it, in, &req->value);
	st = store_item_commit_meta(s, it, k, mode, &o, &cas);
	if (st == STORE_NO_MEMORY)
		return false;
	/* cmd_set in the class of the value sent; cas_* in that of the item compared */
	STAT_INC_CLASS(ctx->stats, cmd_set, store_class_for(s, k->len, req->value.len));
	switch (st) {
	case STORE_STORED:
		res->status = PROTO_ST_STORED;
		res->cas = cas;
		if (mode == STORE_MODE_CAS)
			STAT_INC_CLASS(ctx->stats, cas_hits, store_shard_found_class(s));
		break;
	case STORE_EXISTS:
		res->status = PROTO_ST_EXISTS;
		if (mode == STORE_MODE_CAS)
			STAT_INC_CLASS(ctx->stats, cas_badval, store_shard_found_class(s));
		break;
	case STORE_NOT_FOUND:
		res->status = PROTO_ST_NOT_FOUND;
		STAT_INC(ctx->stats, cas_misses);
		break;
	default: /* NOT_STORED; TOO_LARGE (append result above -I): memcached says NS */
		res->status = PROTO_ST_NOT_STORED;
		break;
	}
	return true;
}

/* md, md I, md x. @return false: retry (no memory). */
static bool
md_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
	 const struct proto_request *req, struct proto_result *res)
{
	bool mark = has(req, 'I') || has(req, 'x');
	enum store_status st;

	if (mark) {
		struct store_invalidate_opts o = {
			.cas_in = req->cas,
			.explicit_cas = explicit_cas(req),
			.stale = has(req, 'I'),
			.clear_value = has(req, 'x'),
			.set_exptime = has(req, 'T'),
			.exptime = req->meta.new_ttl,
			.client_flags = req->client_flags,
		};

		st = store_meta_invalidate(s, k, &o, NULL);
	} else {
		st = store_delete(s, k, req->cas);
	}
	switch (st) {
	case STORE_NO_MEMORY:
		return false;
	case STORE_DELETED:
		res->status = PROTO_ST_DELETED;
		if (!mark)
			STAT_INC_CLASS(ctx->stats, delete_hits, store_shard_found_class(s));
		break;
	case STORE_EXISTS:
		res->status = PROTO_ST_EXISTS;
		STAT_INC(ctx->stats, delete_misses);
		break;
	case STORE_NOT_FOUND:
		res->status = PROTO_ST_NOT_FOUND;
		STAT_INC(ctx->stats, delete_misses);
		break;
	default:
		res->status = PROTO_ST_NOT_STORED;
		break;
	}
	return true;
}

/* ma. @return false: retry (no memory). */
static bool
ma_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
	 const struct proto_request *req, struct proto_result *res)
{
	bool incr = (req->flags & PROTO_F_INCR) != 0;
	struct store_arith_opts o = {
		.cas_in = req->cas,
		.explicit_cas = explicit_cas(req),
		.vivify = (req->flags & PROTO_F_HAS_INITIAL) != 0,
		.vivify_exptime = req->meta.vivify_ttl,
		.initial = req->initial,
		.set_exptime = has(req, 'T'),
		.exptime = req->meta.new_ttl,
	};
	struct store_arith_result out;
	enum store_status st = store_meta_arith(s, k, incr, req->delta, &o, &out);

	switch (st) {
	case STORE_NO_MEMORY:
		return false;
	case STORE_OK:
	case STORE_STORED:
		if (st == STORE_OK) {
			/* the class of the number's item before */
			if (incr)
				STAT_INC_CLASS(ctx->stats, incr_hits, store_shard_found_class(s));
			else
				STAT_INC_CLASS(ctx->stats, decr_hits, store_shard_found_class(s));
		}
		res->status = PROTO_ST_NUMBER;
		res->number = out.value;
		res->cas = out.cas;
		res->ttl_left = ttl_left(out.exptime, store_shard_now(s));
		break;
	case STORE_NOT_FOUND:
		res->status = PROTO_ST_NOT_FOUND;
		if (incr)
			STAT_INC(ctx->stats, incr_misses);
		else
			STAT_INC(ctx->stats, decr_misses);
		break;
	case STORE_EXISTS:
		res->status = PROTO_ST_EXISTS;
		break;
	case STORE_NON_NUMERIC:
		res->status = PROTO_ST_NON_NUMERIC;
		break;
	default:
		res->status = PROTO_ST_NOT_STORED;
		break;
	}
	return true;
}

bool
exec_meta_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
		const struct proto_request *req, const struct proto_input *in,
		struct proto_result *res, struct exec_value *copy)
{
	bool done;

	memset(res, 0, sizeof(*res));
	switch (req->op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		if (exec_meta_is_write(req)) {
			done = mg_write(ctx, s, k, req, res);
		} else {
			mg_read(ctx, s, k, req, res);
			done = true;
		}
		break;
	case PROTO_OP_STORE:
		done = ms_write(ctx, s, k, req, in, res);
		break;
	case PROTO_OP_DELETE:
		done = md_write(ctx, s, k, req, res);
		break;
	case PROTO_OP_ARITH:
		done = ma_write(ctx, s, k, req, res);
		break;
	case PROTO_OP_DEBUG:
		me_read(s, k, res);
		done = true;
		break;
	default:
		res->status = PROTO_ST_MISS;
		done = true;
		break;
	}
	if (!done) {
		memset(res, 0, sizeof(*res));
		return false;
	}
	if (res->status == PROTO_ST_HIT && exec_value_keep(copy, res) != 0) {
		/* No memory for the copy: a miss is always a correct cache answer. */
		res->status = PROTO_ST_MISS;
		res->value = NULL;
	}
	return true;
}
