/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading and checking a snapshot file (see reader.h and format.h). */
#include "snapshot/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/block.h"

struct snap_reader {
	int fd;
	char path[PATH_MAX];
	uint64_t size;
	bool has_key;
	struct snap_key key;
	struct snap_cipher cipher;
	struct snap_file_hdr hdr;
	uint64_t first_off; /* where the first record starts */
	/* the pass in progress */
	uint64_t off;		     /* the next record's offset */
	uint32_t seq;		     /* the next record's sequence number */
	uint32_t file_crc;	     /* the whole-file CRC so far (format.h) */
	struct snap_trailer counted; /* what the records held so far */
	struct snap_trailer trailer; /* as read, once done */
	uint64_t rec_off;	     /* the current block's offset and number, for messages */
	uint32_t rec_seq;
	const uint8_t *blk; /* the current block's plaintext */
	uint32_t blk_len, blk_off, blk_left;
	int state; /* 0 reading; 1 done; negative: the error, in msg */
	char msg[384];
	uint8_t *payload; /* record bytes as on disk */
	uint32_t payload_cap;
	uint8_t *plain; /* decrypted payload (encrypted files) */
	uint32_t plain_cap;
};

/** Record an error (kept for later calls) and copy its message out. */
static int bad(struct snap_reader *r, int rc, char *err, size_t errcap, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
bad(struct snap_reader *r, int rc, char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->msg, sizeof(r->msg), "snapshot %s: ", r->path);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(r->msg))
		vsnprintf(r->msg + n, sizeof(r->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	r->state = rc;
	snprintf(err, errcap, "%s", r->msg);
	return rc;
}

/** Read exactly @p len bytes at @p off. @return 0, -ENODATA at the end of the file, -errno. */
static int
read_at(struct snap_reader *r, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(r->fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/** Make *buf hold at least @p need bytes. @return 0 or -ENOMEM. */
static int
reserve(uint8_t **buf, uint32_t *cap, uint32_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (p == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/** Check the file header at offset 0 against the key; set up the first pass. */
static int
read_header(struct snap_reader *r, char *err, size_t errcap)
{
	uint8_t h[SNAP_FILE_HDR_LEN + SNAP_STREAM_HDR_LEN];
	int rc;

	rc = read_at(r, h, SNAP_FILE_HDR_LEN, 0);
	if (rc == -ENODATA || (rc == 0 && memcmp(h, SNAP_MAGIC, SNAP_MAGIC_LEN) != 0))
		return bad(r, -EINVAL, err, errcap,
			   "not a nicached snapshot (%" PRIu64 " bytes, no snapshot header)",
			   r->size);
	if (rc != 0)
		return bad(r, rc, err, errcap, "cannot read: %s", strerror(-rc));
	r->hdr.version = snap_get32(h + 8);
	r->hdr.flags = snap_get32(h + 12);
	r->hdr.created = (int64_t)snap_get64(h + 16);
	r->hdr.items_hint = snap_get64(h + 24);
	r->hdr.bytes_hint = snap_get64(h + 32);
	if (snap_get32(h + 60) != snap_crc(h, 60, 0))
		return bad(r, -EBADMSG, err, errcap,
			   "corrupt: header checksum mismatch at offset 0");
	if (r->hdr.version != SNAP_VERSION)
		return bad(r, -EPROTONOSUPPORT, err, errcap,
			   "format version %" PRIu32 ", this server reads version %u",
			   r->hdr.version, SNAP_VERSION);
	if ((r->hdr.flags & ~SNAP_F_ENCRYPTED) != 0)
		return bad(r, -EBADMSG, err, errcap, "corrupt: unknown header flags 0x%" PRIx32,
			   r->hdr.flags);
	r->first_off = SNAP_FILE_HDR_LEN;
	if (r->hdr.flags & SNAP_F_ENCRYPTED) {
		if (!r->has_key)
			return bad(r, -ENOKEY, err, errcap,
				   "encrypted, and no key given (--snapshot-key)");
		rc = read_at(r, h + SNAP_FILE_HDR_LEN, SNAP_STREAM_HDR_LEN, SNAP_FILE_HDR_LEN);
		if (rc == -ENODATA)
			return bad(r, -ENODATA, err, errcap,
				   "truncated: the file ends inside its stream header");
		if (rc != 0)
			return bad(r, rc, err, errcap, "cannot read: %s", strerror(-rc));
		r->first_off += SNAP_STREAM_HDR_LEN;
	} else if (r->has_key) {
		return bad(r, -EPERM, err, errcap,
			   "not encrypted, and a key was given (--snapshot-key): refused");
	}
	r->off = r->first_off;
	r->seq = 0;
	r->file_crc = snap_crc(h, (uint32_t)r->first_off, 0);
	memset(&r->counted, 0, sizeof(r->counted));
	memset(&r->trailer, 0, sizeof(r->trailer));
	r->blk = NULL;
	r->blk_len = r->blk_off = r->blk_left = 0;
	r->state = 0;
	if (r->has_key) {
		rc = snap_cipher_pull_init(&r->cipher, &r->key, h + SNAP_FILE_HDR_LEN);
		if (rc != 0)
			return bad(r, rc, err, errcap,
				   "the stream header does not decrypt: wrong key (or altered)");
	}
	return 0;
}

int
snap_reader_open(struct snap_reader **out, const char *path, const struct snap_key *key, char *err,
		 size_t errcap)
{
	struct snap_reader *r = calloc(1, sizeof(*r));
	struct stat st;
	int rc;

	*out = NULL;
	if (r == NULL) {
		snprintf(err, errcap, "snapshot %s: out of memory", path);
		return -ENOMEM;
	}
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) != 0) {
		rc = -errno;
		snprintf(err, errcap, "snapshot %s: cannot open: %s", path, strerror(-rc));
		snap_reader_close(&r);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errcap, "snapshot %s: not a regular file", path);
		snap_reader_close(&r);
		return -EINVAL;
	}
	r->size = (uint64_t)st.st_size;
	if (key != NULL) {
		r->has_key = true;
		r->key = *key;
	}
	rc = read_header(r, err, errcap);
	if (rc != 0) {
		snap_reader_close(&r);
		return rc;
	}
	*out = r;
	return 0;
}

int
snap_reader_rewind(struct snap_reader *r, char *err, size_t errcap)
{
	return read_header(r, err, errcap);
}

/** The trailer record's plaintext @p p: check it against what the blocks held. */
static int
check_trailer(struct snap_reader *r, const uint8_t *p, uint32_t len, uint64_t end, char *err,
	      size_t errcap)
{
	struct snap_trailer *t = &r->trailer;

	if (len != SNAP_TRAILER_LEN)
		return bad(r, -EBADMSG, err, errcap,
			   "corrupt: trailer (record %" PRIu32 " at offset %" PRIu64 ") of %" PRIu32
			   " bytes",
			   r->rec_seq, r->rec_off, len);
	t->items = snap_get64(p);
	t->value_bytes = snap_get64(p + 8);
	t->blocks = snap_get64(p + 16);
	t->max_cas = snap_get64(p + 24);
	t->file_crc = snap_get32(p + 32);
	if (t->items != r->counted.items || t->value_bytes != r->counted.value_bytes ||
	    t->blocks != r->counted.blocks || t->max_cas != r->counted.max_cas)
		return bad(r, -EBADMSG, err, errcap,
			   "corrupt: the trailer at offset %" PRIu64 " counts %" PRIu64
			   " items in %" PRIu64 " blocks, the file holds %" PRIu64 " in %" PRIu64,
			   r->rec_off, t->items, t->blocks, r->counted.items, r->counted.blocks);
	if (t->file_crc != r->file_crc)
		return bad(r, -EBADMSG, err, errcap,
			   "corrupt: whole-file checksum mismatch (trailer at offset %" PRIu64 ")",
			   r->rec_off);
	if (end != r->size)
		return bad(r, -EBADMSG, err, errcap,
			   "corrupt: %" PRIu64 " bytes after the trailer (offset %" PRIu64 ")",
			   r->size - end, end);
	return 0;
}

/** Read, check and decrypt the record at r->off. @return its type (> 0) or an error. */
static int
next_record(struct snap_reader *r, const uint8_t **plain, uint32_t *plen, uint32_t *nitems,
	    char *err, size_t errcap)
{
	uint8_t rh[SNAP_REC_HDR_LEN];
	uint32_t type, len, seq;
	bool final = false;
	int rc;

	r->rec_off = r->off;
	r->rec_seq = r->seq;
	if (r->off == r->size)
		return bad(r, -ENODATA, err, errcap,
			   "truncated: the file ends at offset %" PRIu64 " after %" PRIu32
			   " records, with no trailer",
			   r->off, r->seq);
	rc = read_at(r, rh, sizeof(rh), r->off);
	if (rc == -ENODATA)
		return bad(r, -ENODATA, err, errcap,
			   "truncated: record %" PRIu32 " at offset %" PRIu64
			   " is cut in its header",
			   r->seq, r->off);
	if (rc != 0)
		return bad(r, rc, err, errcap, "cannot read at offset %" PRIu64 ": %s", r->off,
			   strerror(-rc));
	if (snap_get32(rh + 20) != snap_crc(rh, 20, 0))
		return bad(r, -EBADMSG, err, errcap,
			   "corrupt: record %" PRIu32 " at offset %" PRIu64
			   ": header checksum mismatch",
			   r->seq, r->off);
	type = snap_get32(rh);
	len = snap_get32(rh + 4);
	*nitems = snap_get32(rh + 8);
	seq = snap_get32(rh + 12);
	if ((type != SNAP_REC_BLOCK && type != SNAP_REC_TRAILER) || seq != r->seq ||
	    len > SNAP_RECORD_MAX || (type == SNAP_REC_BLOCK && *nitems == 0) ||
	    (type == SNAP_REC_TRAILER && *nitems != 0))
		return bad(r, -EBADMSG, err, errcap,
			   "corrupt: record %" PRIu32 " at offset %" PRIu64 ": type %" PRIu32
			   ", sequence %" PRIu32 ", %" PRIu32 " bytes, %" PRIu32 " items",
			   r->seq, r->off, type, seq, len, *nitems);
	if (len > r->size - r->off - sizeof(rh))
		return bad(r, -ENODATA, err, errcap,
			   "truncated: record %" PRIu32 " at offset %" PRIu64 " needs %" PRIu32
			   " bytes, the file has %" PRIu64,
			   r->seq, r->off, len, r->size - r->off - sizeof(rh));
	if (reserve(&r->payload, &r->payload_cap, len ? len : 1) != 0)
		return bad(r, -ENOMEM, err, errcap,
			   "out of memory for a record of %" PRIu32 " bytes", len);
	rc = read_at(r, r->payload, len, r->off + sizeof(rh));
	if (rc != 0)
		return bad(r, rc == -ENODATA ? -ENODATA : rc, err, errcap,
			   "cannot read record %" PRIu32 " at offset %" PRIu64 ": %s", r->seq,
			   r->off, strerror(-rc));
	if (snap_get32(rh + 16) != snap_crc(r->payload, len, 0))
		return bad(r, -EBADMSG, err, errcap,
			   "corrupt: record %" PRIu32 " at offset %" PRIu64
			   ": payload checksum mismatch",
			   r->seq, r->off);
	*plain = r->payload;
	*plen = len;
	if (r->has_key) {
		if (len < SNAP_CIPHER_ABYTES)
			return bad(r, -EBADMSG, err, errcap,
				   "corrupt: record %" PRIu32 " at offset %" PRIu64
				   " is too short to be encrypted",
				   r->seq, r->off);
		*plen = len - SNAP_CIPHER_ABYTES;
		if (reserve(&r->plain, &r->plain_cap, *plen ? *plen : 1) != 0)
			return bad(r, -ENOMEM, err, errcap, "out of memory");
		if (snap_cipher_pull(&r->cipher, r->plain, r->payload, len, rh, SNAP_REC_AD_LEN,
				     &final) != 0)
			return bad(r, -EKEYREJECTED, err, errcap,
				   "record %" PRIu32 " at offset %" PRIu64
				   " does not decrypt: wrong key (or the file was altered)",
				   r->seq, r->off);
		if (final != (type == SNAP_REC_TRAILER))
			return bad(r, -EBADMSG, err, errcap,
				   "corrupt: record %" PRIu32 " at offset %" PRIu64
				   ": the stream's end is misplaced",
				   r->seq, r->off);
		*plain = r->plain;
	}
	/* The whole-file CRC: the headers and each block's record header (format.h). */
	if (type == SNAP_REC_BLOCK)
		r->file_crc = snap_crc(rh, sizeof(rh), r->file_crc);
	r->off += sizeof(rh) + len;
	r->seq++;
	return (int)type;
}

int
snap_reader_next(struct snap_reader *r, struct snap_item *it, char *err, size_t errcap)
{
	const char *why;

	if (r->state < 0) {
		snprintf(err, errcap, "%s", r->msg);
		return r->state;
	}
	if (r->state == 1)
		return 0;
	for (;;) {
		const uint8_t *plain = NULL;
		uint32_t plen = 0, nitems = 0;
		int type;

		if (r->blk_left > 0) {
			if (snap_block_item(r->blk, r->blk_len, &r->blk_off, it, &why) != 0)
				return bad(r, -EBADMSG, err, errcap,
					   "corrupt: block %" PRIu32 " at offset %" PRIu64 ": %s",
					   r->rec_seq, r->rec_off, why);
			r->blk_left--;
			r->counted.items++;
			r->counted.value_bytes += it->nbytes;
			if (it->cas > r->counted.max_cas)
				r->counted.max_cas = it->cas;
			return 1;
		}
		if (r->blk != NULL && r->blk_off != r->blk_len)
			return bad(r, -EBADMSG, err, errcap,
				   "corrupt: block %" PRIu32 " at offset %" PRIu64 ": %" PRIu32
				   " bytes after its last item",
				   r->rec_seq, r->rec_off, r->blk_len - r->blk_off);
		type = next_record(r, &plain, &plen, &nitems, err, errcap);
		if (type < 0)
			return type;
		if (type == SNAP_REC_TRAILER) {
			int rc = check_trailer(r, plain, plen, r->off, err, errcap);

			if (rc != 0)
				return rc;
			r->state = 1;
			return 0;
		}
		r->counted.blocks++;
		r->blk = plain;
		r->blk_len = plen;
		r->blk_off = 0;
		r->blk_left = nitems;
	}
}

const struct snap_file_hdr *
snap_reader_header(const struct snap_reader *r)
{
	return &r->hdr;
}

const struct snap_trailer *
snap_reader_trailer(const struct snap_reader *r)
{
	return &r->trailer;
}

uint64_t
snap_reader_size(const struct snap_reader *r)
{
	return r->size;
}

void
snap_reader_close(struct snap_reader **rp)
{
	struct snap_reader *r = rp != NULL ? *rp : NULL;

	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	snap_key_wipe(&r->key);
	sodium_memzero(&r->cipher, sizeof(r->cipher));
	free(r->payload);
	free(r->plain);
	free(r);
	*rp = NULL;
}
