/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_SNAPSHOT_BLOCK_H
#define NC_SNAPSHOT_BLOCK_H

/*
 * A block's plaintext being built (writer side) or taken apart (reader side): a run of items
 * in the format of format.h. A builder is owned by one thread at a time (a worker fills it,
 * hands it to the snapshot writer, and gets it back).
 */

#include <stdbool.h>
#include <stdint.h>

#include "snapshot/format.h"

/** A block's plaintext being built. */
struct snap_block {
	uint8_t *buf;
	uint32_t len;	      /* bytes used */
	uint32_t cap;	      /* bytes allocated */
	uint32_t target;      /* nominal size: the block counts as full beyond it */
	uint32_t nitems;
	uint64_t value_bytes; /* sum of the items' value lengths */
	uint64_t max_cas;
};

/**
 * [owner of @p b] Initialise @p b with room for @p target bytes.
 * @return 0; -ENOMEM.
 */
int snap_block_init(struct snap_block *b, uint32_t target);

/** [owner of @p b] Free its memory (also after a failed init). */
void snap_block_deinit(struct snap_block *b);

/** [owner of @p b] Empty it for the next block, keeping its memory (up to its target). */
void snap_block_reset(struct snap_block *b);

/** Bytes an item with these lengths takes in a block. */
static inline uint64_t
snap_item_size(uint32_t nkey, uint32_t nbytes)
{
	return (uint64_t)SNAP_ITEM_HDR_LEN + nkey + nbytes;
}

/**
 * [owner of @p b] Append an item's header and key and reserve its value's bytes, which the
 * caller copies to the returned address (a value in pieces goes in piece by piece). An empty
 * block grows to take an item of any size up to SNAP_RECORD_MAX; a block that holds items
 * already takes one only within its target.
 * @return where the value goes; NULL when the block is full (hand it over and start a new one)
 *         or, for an empty block, with *err = -E2BIG (too large) or -ENOMEM.
 */
uint8_t *snap_block_add(struct snap_block *b, const struct snap_item *it, int *err);

/**
 * Take the item at *off of block plaintext [p, p + len) apart: its fields into *it (key and
 * value point into the block), *off moved past it. Checks the item fits and is well formed
 * (key length 1..250, reserved bytes zero).
 * @return 0; -EBADMSG with a reason in @p why (a static string) when it is not.
 */
int snap_block_item(const uint8_t *p, uint32_t len, uint32_t *off, struct snap_item *it,
		    const char **why);

#endif /* NC_SNAPSHOT_BLOCK_H */
