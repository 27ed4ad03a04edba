/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_SNAPSHOT_WRITER_H
#define NC_SNAPSHOT_WRITER_H

/*
 * Writing a snapshot file (format.h): the file header, then one record per block handed in,
 * then the trailer. The file is written as "<path>.tmp.<pid>" and renamed to <path> only once
 * complete and on disk (the file and then its folder fsync'ed), so <path> is always either
 * the previous snapshot or the new one, never a part.
 *
 * Errors: negative errno with a one-line message naming the file in a caller buffer.
 * Threads: a writer belongs to one thread (it blocks in write and fsync: never a worker).
 */

#include <stddef.h>
#include <stdint.h>

#include "snapshot/block.h"
#include "snapshot/cipher.h"
#include "snapshot/format.h"

struct snap_writer;

struct snap_writer_params {
	const char *path;	     /* the snapshot's final name */
	const struct snap_key *key; /* encrypt with it; NULL = plaintext */
	int64_t created;	     /* unix time for the header */
	uint64_t items_hint;	     /* header hints (not checked on reading) */
	uint64_t bytes_hint;
};

/**
 * Create the temporary file and write the header (and the stream header when encrypting).
 * @return 0 with *out set; a negative errno (-ENAMETOOLONG, -ENOMEM, or open/write's errno,
 *         e.g. -ENOENT for a missing folder, -EACCES) with a message in @p err.
 */
int snap_writer_create(struct snap_writer **out, const struct snap_writer_params *p, char *err,
		       size_t errcap);

/**
 * Append block @p b (at least one item) as one record.
 * @return 0; -EINVAL for an empty block; write's negative errno (e.g. -ENOSPC) with a message.
 */
int snap_writer_block(struct snap_writer *w, const struct snap_block *b, char *err,
		      size_t errcap);

/**
 * Write the trailer, fsync the file, rename it to its final name and fsync the folder; free
 * the writer and set *w to NULL. On failure the temporary file is removed.
 * @return 0 with the totals in *out (may be NULL); a negative errno with a message.
 */
int snap_writer_finish(struct snap_writer **w, struct snap_trailer *out, char *err,
		       size_t errcap);

/** Give up: remove the temporary file, free the writer, set *w to NULL. NULL allowed. */
void snap_writer_abort(struct snap_writer **w);

/** Bytes written to the file so far. */
uint64_t snap_writer_bytes(const struct snap_writer *w);

#endif /* NC_SNAPSHOT_WRITER_H */
