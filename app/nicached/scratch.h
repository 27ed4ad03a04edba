/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_SCRATCH_H
#define NC_APP_SCRATCH_H

/*
 * Per-worker scratch memory with the lifetime of item memory: bytes handed out are valid until
 * the worker's next RCU quiescent state, when nc_scratch_reset() takes them all back. The
 * worker decompresses compressed values here (exec_result_value()), so a reply references
 * them exactly as it references an uncompressed item's bytes: sent or copied (TCP send
 * buffers, UDP datagrams, a forwarded result's exec_value) before that quiescent state.
 *
 * Memory: one block that grows to the largest total one loop iteration used; an iteration
 * that needs more gets extra blocks (malloc), freed at the reset, after which the block is
 * grown to cover that total next time. Owned and used by one worker thread only.
 */

#include <stddef.h>

/** A block used beyond the main one in this iteration. */
struct nc_scratch_extra;

struct nc_scratch {
	char *buf;    /* the main block */
	size_t cap;   /* its size */
	size_t used;  /* bytes of it handed out since the last reset */
	size_t extra_bytes; /* bytes in extra blocks since the last reset */
	struct nc_scratch_extra *extra;
};

/**
 * [the owning worker] @p n bytes (aligned to 16) valid until the next nc_scratch_reset().
 * @return them, or NULL when memory is short.
 */
void *nc_scratch_alloc(struct nc_scratch *s, size_t n);

/**
 * [the owning worker] Take back everything handed out: call right before the worker's RCU
 * quiescent state (nothing handed out may be used after it). Cheap when nothing was used.
 */
void nc_scratch_reset(struct nc_scratch *s);

/** Free all of it (worker destroy); the struct may be reused afterwards. */
void nc_scratch_release(struct nc_scratch *s);

#endif /* NC_APP_SCRATCH_H */
