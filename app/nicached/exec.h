/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_EXEC_H
#define NC_APP_EXEC_H

/*
 * Executing parsed requests against the store: the bridge between lib/proto (requests,
 * results) and lib/store (shards). Which requests write decides where they run:
 *  - reads (get, gets, mg without write flags, me) run on the worker that received them, on
 *    any shard, directly under RCU: exec_read();
 *  - writes (storage commands, delete, incr/decr, touch, gat, mg with T or N, ms, md, ma) run
 *    on the key's owner: locally when the receiving worker owns the shard, otherwise the
 *    request is forwarded over the owner's ring and exec_write() runs there.
 *
 * Result values: a hit's value points into the item and is valid until the executing
 * thread's next RCU quiescent state. A compressed item's value is decompressed into the
 * executing worker's scratch (ctx->scratch), which is reset right before that same quiescent
 * state: a result's value has the same lifetime either way, and every path that sends or
 * copies item bytes in time (TCP/UDP replies, binary and meta writers, the forwarded
 * result's exec_value) does so for decompressed ones too. Nothing references a
 * compressed item's stored bytes in a reply. exec_write() run for another worker copies it into
 * the caller's struct exec_value (which the requester owns), so the result survives the
 * trip back.
 *
 * Counters: every function counts into ctx->stats, the executing worker's own block.
 */

#include <stdbool.h>
#include <stdint.h>

#include "proto/input.h"
#include "proto/request.h"
#include "scratch.h"
#include "stats.h"
#include "store/shard.h"

/** What every execution needs: the executing worker's view. */
struct exec_ctx {
	struct worker_stats *stats;	  /* the executing worker's counters */
	uint32_t item_size_max;		  /* -I, bytes */
	struct nc_scratch *scratch;	  /* the executing worker's: decompressed values */
};

/** A value copied out of an item, for results that outlive the executing thread's RCU section. */
struct exec_value {
	void *buf;     /* malloc'ed, grown on demand; freed by exec_value_release() */
	uint32_t cap;
};

/**
 * Copy res->value into @p copy (grown as needed) and point res->value at the copy, so the
 * result outlives the executing thread's RCU section. Nothing to do for a NULL copy, an
 * empty value, or a result without value bytes (res->value NULL: an mg without v on a
 * compressed item, whose value_len is the length alone).
 * @return 0; -ENOMEM (res unchanged).
 */
int exec_value_keep(struct exec_value *copy, struct proto_result *res);

/** Free a value buffer (the struct may be reused afterwards). */
void exec_value_release(struct exec_value *v);

/**
 * Whether @p req must run on the key's owner (it changes the shard), as listed at the top of
 * this file. Requests without a key (flush_all, stats, version, verbosity, mn, quit) are not
 * writes here: the worker handles them itself (flush_all is sent to every shard).
 */
bool exec_is_write(const struct proto_request *req);

/**
 * [reader] Execute a read (exec_is_write() false, with a key) on shard @p s and fill *res.
 * @p found: what store_prefetch_bulk() found for @p k in the caller's current read-side
 * critical section, or NULL (see store_get_found() for when the caller may pass one; meta
 * reads look the key up again). Values in *res point into the item: write the reply before
 * the next quiescent state. A get (not meta) writes only the fields its writers read (status:
 * HIT, MISS or NO_MEMORY; the value's fields, client_flags, cas); the others keep what they
 * held. A meta read fills all of *res.
 */
void exec_read(const struct exec_ctx *ctx, const struct store_shard *s, const struct store_key *k,
	       const struct item *found, const struct proto_request *req, struct proto_result *res);

/**
 * [owner of @p s] Execute a write on its owner and fill *res. A STORE's value is gathered
 * from @p in (the request's input, which the requester keeps unchanged until the result is
 * back); a STORE with PROTO_F_REFUSED (the parser dropped its value) only answers
 * PROTO_ST_TOO_LARGE after exec_store_failed(). With @p copy non-NULL, a value in *res (gat,
 * mg T) is copied into it and res->value points there; with NULL it points into the item
 * (valid until the owner's next quiescent state).
 * @return true when done; false when the store had no memory ready (STORE_NO_MEMORY while
 *         memory is in a grace period): nothing was changed, run it again after the next
 *         quiescent state and store_shard_maintain().
 */
bool exec_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
		const struct proto_request *req, const struct proto_input *in,
		struct proto_result *res, struct exec_value *copy);

/**
 * [owner of @p s] A write that found no memory ready too many times: fill *res with
 * PROTO_ST_NO_MEMORY ("SERVER_ERROR out of memory storing object" and the like), and for a
 * store do what memcached does when an item cannot be allocated (exec_store_failed()).
 */
void exec_write_give_up(struct store_shard *s, const struct store_key *k,
			const struct proto_request *req, struct proto_result *res);

/**
 * [owner of @p s] A store (op STORE) failed before anything was stored: refused by the parser
 * (PROTO_F_REFUSED), too large for any slab class, or out of memory for good. Removes the key's
 * current value where memcached does (proto_store_failure_unlinks(): text set, every ms,
 * binary SET/SETQ), so no client reads a value older than the one it just failed to write.
 * exec_write() calls it itself for refused and too large stores.
 */
void exec_store_failed(struct store_shard *s, const struct store_key *k,
		       const struct proto_request *req);

/*
 * Meta commands (exec_meta.c): the same two entry points for kind == PROTO_META, called by
 * exec_read()/exec_write(); they implement memcached 1.6's mg/ms/md/ma/me semantics, vivify
 * (N), recache (R), stale items (I) and the win/lost tokens (W, Z) included.
 */
void exec_meta_read(const struct exec_ctx *ctx, const struct store_shard *s,
		    const struct store_key *k, const struct proto_request *req,
		    struct proto_result *res);
bool exec_meta_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
		     const struct proto_request *req, const struct proto_input *in,
		     struct proto_result *res, struct exec_value *copy);
/** Whether a meta request writes (ms md ma; mg with T or N; me never). */
bool exec_meta_is_write(const struct proto_request *req);

/** proto_value_next_fn over the chunks of a chained item (store_hit.seg_next). */
const void *exec_value_next_chunk(const void *cursor, const void **data, uint32_t *len);

/**
 * exec_result_value() for a compressed hit (the cold part, out of line): decompress into
 * ctx->scratch and point @p res there. @return as exec_result_value().
 */
int exec_result_inflate(const struct exec_ctx *ctx, struct proto_result *res,
			const struct store_hit *hit);

/**
 * [reader] Point @p res at a hit's value as the client wrote it: whole or in pieces (a chained
 * item's chunks), or for a compressed item decompressed into ctx->scratch (valid until the
 * executing worker's next quiescent state, as the item). Counts decompressions in ctx->stats.
 * Inline, so a read of an uncompressed item pays one load of the item's meta byte and one
 * branch for compression, and its callers' test of the result folds away.
 * @return 0; -ENOMEM (scratch memory short) or -EIO (data that does not decompress): res has
 *         no value then, and the caller answers an error.
 */
static inline int
exec_result_value(const struct exec_ctx *ctx, struct proto_result *res,
		  const struct store_hit *hit)
{
	if (__builtin_expect(store_hit_compressed(hit), 0))
		return exec_result_inflate(ctx, res, hit);
	res->value = hit->value;
	res->value_len = hit->nbytes;
	res->value_seg_len = hit->seg_next != NULL ? hit->seg_len : 0;
	res->value_more = hit->seg_next;
	res->value_next = exec_value_next_chunk;
	return 0;
}

/**
 * [reader] Copy a hit into *out describing its value as the client wrote it: for a
 * compressed one (store_hit_compressed()) decompressed into ctx->scratch (valid until the
 * executing worker's next quiescent state), with out->it NULL since out no longer describes
 * the item's bytes (pass it only to what reads the value, flags, cas and exptime fields); an
 * uncompressed hit is copied as it is. For paths that ship a hit's bytes elsewhere
 * (replication). @return 0, -ENOMEM or -EIO.
 */
int exec_hit_plain(const struct exec_ctx *ctx, const struct store_hit *hit,
		   struct store_hit *out);

/** Copy a STORE's value (@p value in @p in) into @p it, over its pieces when chained. */
void exec_gather_value(struct item *it, const struct proto_input *in, const struct proto_span *value);

#endif /* NC_APP_EXEC_H */
