/* SPDX-License-Identifier: BSD-3-Clause */
/* Writing a snapshot file (see writer.h and format.h). */
#include "snapshot/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct snap_writer {
	int fd;
	bool encrypted;
	struct snap_cipher cipher;
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	uint32_t file_crc; /* of the headers and every block's record header (format.h) */
	uint64_t written;
	uint32_t seq;	   /* records written */
	struct snap_trailer totals;
	uint8_t *ct;	   /* ciphertext scratch */
	uint32_t ct_cap;
};

/** Write every byte of the @p n iovecs. @return 0 or -errno. */
static int
write_all(struct snap_writer *w, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t r = writev(w->fd, iov, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		w->written += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int
fail(struct snap_writer *w, int rc, const char *what, char *err, size_t errcap)
{
	snprintf(err, errcap, "snapshot %s: %s: %s", w->tmp, what, strerror(-rc));
	return rc;
}

int
snap_writer_create(struct snap_writer **out, const struct snap_writer_params *p, char *err,
		   size_t errcap)
{
	struct snap_writer *w;
	uint8_t hdr[SNAP_FILE_HDR_LEN + SNAP_STREAM_HDR_LEN];
	struct iovec iov;
	int rc;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		snprintf(err, errcap, "snapshot %s: out of memory", p->path);
		return -ENOMEM;
	}
	if (snprintf(w->path, sizeof(w->path), "%s", p->path) >= (int)sizeof(w->path) ||
	    snprintf(w->tmp, sizeof(w->tmp), "%s.tmp.%ld", p->path, (long)getpid()) >=
		    (int)sizeof(w->tmp)) {
		snprintf(err, errcap, "snapshot %.200s...: path too long", p->path);
		free(w);
		return -ENAMETOOLONG;
	}
	/*
	 * A new file, never through a link someone left at the name (a temporary name is
	 * predictable): one left by a killed run of the same pid is removed first.
	 */
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w->fd < 0 && errno == EEXIST && unlink(w->tmp) == 0)
		w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		rc = -errno;
		fail(w, rc, "cannot create", err, errcap);
		free(w);
		return rc;
	}
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, SNAP_MAGIC, SNAP_MAGIC_LEN);
	snap_put32(hdr + 8, SNAP_VERSION);
	snap_put32(hdr + 12, p->key != NULL ? SNAP_F_ENCRYPTED : 0);
	snap_put64(hdr + 16, (uint64_t)p->created);
	snap_put64(hdr + 24, p->items_hint);
	snap_put64(hdr + 32, p->bytes_hint);
	snap_put32(hdr + 60, snap_crc(hdr, 60, 0));
	iov.iov_base = hdr;
	iov.iov_len = SNAP_FILE_HDR_LEN;
	if (p->key != NULL) {
		w->encrypted = true;
		rc = snap_cipher_push_init(&w->cipher, p->key, hdr + SNAP_FILE_HDR_LEN);
		if (rc != 0) {
			fail(w, rc, "cannot start the cipher", err, errcap);
			snap_writer_abort(&w);
			return rc;
		}
		iov.iov_len += SNAP_STREAM_HDR_LEN;
	}
	w->file_crc = snap_crc(hdr, (uint32_t)iov.iov_len, 0);
	rc = write_all(w, &iov, 1);
	if (rc != 0) {
		fail(w, rc, "cannot write", err, errcap);
		snap_writer_abort(&w);
		return rc;
	}
	*out = w;
	return 0;
}

/** Write one record: header, payload (encrypted when the file is). */
static int
write_record(struct snap_writer *w, uint32_t type, const uint8_t *plain, uint32_t len,
	     uint32_t nitems, bool final)
{
	uint8_t rh[SNAP_REC_HDR_LEN];
	const uint8_t *payload = plain;
	uint32_t plen = len;
	struct iovec iov[2];

	if (w->encrypted) {
		plen = len + SNAP_CIPHER_ABYTES;
		if (plen > w->ct_cap) {
			uint8_t *p = realloc(w->ct, plen);

			if (p == NULL)
				return -ENOMEM;
			w->ct = p;
			w->ct_cap = plen;
		}
	}
	snap_put32(rh, type);
	snap_put32(rh + 4, plen);
	snap_put32(rh + 8, nitems);
	snap_put32(rh + 12, w->seq);
	if (w->encrypted) {
		snap_cipher_push(&w->cipher, w->ct, plain, len, rh, SNAP_REC_AD_LEN, final);
		payload = w->ct;
	}
	snap_put32(rh + 16, snap_crc(payload, plen, 0));
	snap_put32(rh + 20, snap_crc(rh, 20, 0));
	iov[0].iov_base = rh;
	iov[0].iov_len = sizeof(rh);
	iov[1].iov_base = (void *)(uintptr_t)payload;
	iov[1].iov_len = plen;
	if (type == SNAP_REC_BLOCK)
		w->file_crc = snap_crc(rh, sizeof(rh), w->file_crc);
	w->seq++;
	return write_all(w, iov, 2);
}

int
snap_writer_block(struct snap_writer *w, const struct snap_block *b, char *err, size_t errcap)
{
	int rc;

	if (b->nitems == 0) {
		snprintf(err, errcap, "snapshot %s: empty block", w->tmp);
		return -EINVAL;
	}
	rc = write_record(w, SNAP_REC_BLOCK, b->buf, b->len, b->nitems, false);
	if (rc != 0)
		return fail(w, rc, "cannot write", err, errcap);
	w->totals.items += b->nitems;
	w->totals.value_bytes += b->value_bytes;
	w->totals.blocks++;
	if (b->max_cas > w->totals.max_cas)
		w->totals.max_cas = b->max_cas;
	return 0;
}

/** fsync the folder holding @p path, so the rename is on disk. */
static int
sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
snap_writer_finish(struct snap_writer **wp, struct snap_trailer *out, char *err, size_t errcap)
{
	struct snap_writer *w = *wp;
	uint8_t tr[SNAP_TRAILER_LEN];
	int rc;

	memset(tr, 0, sizeof(tr));
	w->totals.file_crc = w->file_crc;
	snap_put64(tr, w->totals.items);
	snap_put64(tr + 8, w->totals.value_bytes);
	snap_put64(tr + 16, w->totals.blocks);
	snap_put64(tr + 24, w->totals.max_cas);
	snap_put32(tr + 32, w->totals.file_crc);
	rc = write_record(w, SNAP_REC_TRAILER, tr, sizeof(tr), 0, true);
	if (rc != 0) {
		fail(w, rc, "cannot write", err, errcap);
		goto out;
	}
	if (fsync(w->fd) != 0) {
		rc = fail(w, -errno, "cannot fsync", err, errcap);
		goto out;
	}
	if (close(w->fd) != 0) {
		w->fd = -1;
		rc = fail(w, -errno, "cannot close", err, errcap);
		goto out;
	}
	w->fd = -1;
	if (rename(w->tmp, w->path) != 0) {
		rc = -errno;
		snprintf(err, errcap, "snapshot %s: cannot rename to %s: %s", w->tmp, w->path,
			 strerror(-rc));
		goto out;
	}
	rc = sync_dir(w->path);
	if (rc != 0) {
		snprintf(err, errcap, "snapshot %s: written, but its folder cannot be fsync'ed: %s",
			 w->path, strerror(-rc));
		/* The file is complete and in place; only its durability is in doubt. */
	}
	if (out != NULL)
		*out = w->totals;
	free(w->ct);
	free(w);
	*wp = NULL;
	return rc;
out:
	snap_writer_abort(wp);
	return rc;
}

void
snap_writer_abort(struct snap_writer **wp)
{
	struct snap_writer *w = wp != NULL ? *wp : NULL;

	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp);
	sodium_memzero(&w->cipher, sizeof(w->cipher));
	free(w->ct);
	free(w);
	*wp = NULL;
}

uint64_t
snap_writer_bytes(const struct snap_writer *w)
{
	return w->written;
}
