/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_SNAPSHOT_READER_H
#define NC_SNAPSHOT_READER_H

/*
 * Reading a snapshot file (format.h), checking everything: the header (magic, version, CRC,
 * encrypted or not against the key given), each record (header CRC, type, sequence, length
 * within the file, payload CRC, decryption), each item (well formed, within its block), and
 * at the end the trailer (counts, largest cas, whole-file CRC) with nothing after it.
 *
 * A streaming reader hands out items before it has seen the end, so a caller that must not
 * use anything from a bad file reads it twice: once through to the end to check it
 * (snap_reader_next() until 0), then snap_reader_rewind() and again to use the items. The
 * file stays open between the passes, so a new snapshot renamed over the path meanwhile
 * does not mix in.
 *
 * Errors: negative errno with a one-line message naming the file, the record and its offset
 * in a caller buffer:
 *   -ENOENT, -EACCES, -EIO      opening or reading the file
 *   -EINVAL                     not a snapshot file (magic)
 *   -EPROTONOSUPPORT            a version this code does not read
 *   -ENOKEY                     encrypted, and no key given
 *   -EPERM                      a key given, and the file is not encrypted (refused: whoever
 *                               set a key expects encrypted snapshots only)
 *   -EKEYREJECTED               does not decrypt: the wrong key, or altered on purpose
 *   -EBADMSG                    corrupt: a checksum, a count or a structure is wrong
 *   -ENODATA                    truncated: the file ends before its trailer
 * Threads: a reader belongs to one thread.
 */

#include <stddef.h>
#include <stdint.h>

#include "snapshot/cipher.h"
#include "snapshot/format.h"

struct snap_reader;

/**
 * Open @p path and check its header against @p key (NULL: expect a plaintext file).
 * @return 0 with *out set; a negative errno (see above) with a message in @p err.
 */
int snap_reader_open(struct snap_reader **out, const char *path, const struct snap_key *key,
		     char *err, size_t errcap);

/**
 * The next item, into *it (key and value stay valid until the next call).
 * @return 1 with an item; 0 at the end, after the trailer checked out (snap_reader_trailer()
 *         then holds it); a negative errno (see above) with a message in @p err. After an
 *         error, further calls return the same error.
 */
int snap_reader_next(struct snap_reader *r, struct snap_item *it, char *err, size_t errcap);

/**
 * Go back to the first item (the second pass).
 * @return 0; a negative errno with a message.
 */
int snap_reader_rewind(struct snap_reader *r, char *err, size_t errcap);

/** The file header as read. */
const struct snap_file_hdr *snap_reader_header(const struct snap_reader *r);

/** The trailer, once snap_reader_next() returned 0 (zeroes before). */
const struct snap_trailer *snap_reader_trailer(const struct snap_reader *r);

/** Bytes of the file. */
uint64_t snap_reader_size(const struct snap_reader *r);

/** Close and free; NULL allowed; sets *r to NULL. */
void snap_reader_close(struct snap_reader **r);

#endif /* NC_SNAPSHOT_READER_H */
