/* SPDX-License-Identifier: BSD-3-Clause */
/* Key dumps: arguments, line formats, and the owner's slice (see dump.h). */
#include "dump.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/** memcached's MAX_NUMBER_OF_SLAB_CLASSES: class ids are below it. */
#define DUMP_CLASS_IDS 64

/** Parse a decimal number of [s, s + len) as memcached's safe_strtoul (no sign). */
static bool
dump_number(const char *s, uint32_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return false;
	for (uint32_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/** Split [s, s + len) at spaces into at most @p max tokens; @return how many there are. */
static unsigned
dump_tokens(const char *s, uint32_t len, const char **tok, uint32_t *tlen, unsigned max)
{
	unsigned n = 0;
	uint32_t i = 0;

	while (i < len) {
		uint32_t b;

		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		b = i;
		while (i < len && s[i] != ' ')
			i++;
		if (n < max) {
			tok[n] = s + b;
			tlen[n] = i - b;
		}
		n++;
	}
	return n;
}

const char *
dump_parse_cachedump(const char *args, uint32_t len, struct dump_spec *spec)
{
	const char *tok[3];
	uint32_t tlen[3];
	uint64_t id, limit;

	/* "cachedump <class> <limit> [ignored...]" */
	if (dump_tokens(args, len, tok, tlen, 3) < 3)
		return "CLIENT_ERROR bad command line";
	if (!dump_number(tok[1], tlen[1], &id) || !dump_number(tok[2], tlen[2], &limit) ||
	    limit > UINT32_MAX)
		return "CLIENT_ERROR bad command line format";
	if (id >= DUMP_CLASS_IDS)
		return "CLIENT_ERROR Illegal slab id";
	spec->kind = DUMP_CACHEDUMP;
	spec->classes = id == 0 ? 0 : 1ULL << (id - 1);
	spec->limit = (uint32_t)limit;
	return NULL;
}

const char *
dump_parse_metadump(const char *arg, uint32_t len, struct dump_spec *spec)
{
	uint32_t i = 0;

	spec->kind = DUMP_METADUMP;
	spec->limit = 0;
	if ((len == 3 && memcmp(arg, "all", 3) == 0) || (len == 4 && memcmp(arg, "hash", 4) == 0)) {
		spec->classes = UINT64_MAX;
		return NULL;
	}
	/* memcached: strtok_r over ',' (empty parts skipped), each 1..63. */
	spec->classes = 0;
	while (i < len) {
		uint32_t b = i;
		uint64_t id;

		while (i < len && arg[i] != ',')
			i++;
		if (i > b) {
			if (!dump_number(arg + b, i - b, &id) || id < 1 || id >= DUMP_CLASS_IDS)
				return "BADCLASS invalid class id";
			spec->classes |= 1ULL << (id - 1);
		}
		i++;
	}
	if (spec->classes == 0)
		return "BADCLASS invalid class id";
	return NULL;
}

size_t
dump_uriencode(char *dst, const char *key, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)key[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			dst[o++] = (char)ch;
		} else {
			dst[o++] = '%';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 15];
		}
	}
	return o;
}

int
dump_format(enum dump_kind kind, const struct store_walk_item *it, char *buf, size_t cap)
{
	int n;

	if (kind == DUMP_CACHEDUMP) {
		n = snprintf(buf, cap, "ITEM %.*s [%" PRIu32 " b; %" PRId64 " s]\r\n",
			     (int)it->nkey, it->key, it->nbytes, it->exptime_unix);
	} else {
		char key[3 * STORE_KEY_MAX];
		size_t klen = dump_uriencode(key, it->key, it->nkey);

		n = snprintf(buf, cap,
			     "key=%.*s exp=%" PRId64 " la=%" PRId64 " cas=%" PRIu64
			     " fetch=%s cls=%" PRIu32 " size=%" PRIu32 "\n",
			     (int)klen, key, it->exptime_unix == 0 ? (int64_t)-1 : it->exptime_unix,
			     it->atime_unix, it->cas, it->fetched ? "yes" : "no", it->clsid + 1,
			     it->total);
	}
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/** store_walk callback: one line into the slice's buffer, or stop. */
static bool
dump_line(const struct store_walk_item *it, void *arg)
{
	struct dump *d = arg;
	int n;

	if (d->spec.kind == DUMP_CACHEDUMP && d->spec.limit != 0 && d->shown >= d->spec.limit) {
		d->finished = true;
		return false;
	}
	n = dump_format(d->spec.kind, it, d->buf + d->len, sizeof(d->buf) - d->len);
	if (n < 0)
		return false; /* the buffer is full: this item opens the next slice */
	/* memcached stops a cachedump where its lines, "END\r\n" and a NUL pass 2 MB. */
	if (d->spec.kind == DUMP_CACHEDUMP && d->bytes + (uint64_t)n + 6 > DUMP_CACHEDUMP_MAX) {
		d->finished = true;
		return false;
	}
	d->len += (uint32_t)n;
	d->bytes += (uint64_t)n;
	d->shown++;
	return true;
}

void
dump_slice(struct dump *d, struct store_shard *shard)
{
	d->len = 0;
	if (d->spec.classes == 0) {
		d->walk.done = true;
		return;
	}
	store_walk(shard, &d->walk, d->spec.classes, DUMP_SLICE_CHUNKS, dump_line, d);
}
