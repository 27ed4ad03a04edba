/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_DUMP_H
#define NC_APP_DUMP_H

/*
 * Key dumps with memcached's replies: `stats cachedump <class> <limit>` and `lru_crawler
 * metadump all|hash|<class>[,<class>...]`. A dump walks every shard, each on its owner worker,
 * in slices: one slice visits at most DUMP_SLICE_CHUNKS chunks and formats at most
 * DUMP_SLICE_BYTES of lines into the dump's buffer, which the connection's worker sends before
 * it asks for the next slice (conn_dump.c drives it). Here: argument checks, line formats and
 * the owner's slice, no I/O.
 *
 * Class numbers in requests and replies are memcached's (from 1); the store's start at 0.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/shard.h"

/** Chunks one slice may visit, and the bytes of lines it may produce. */
#define DUMP_SLICE_CHUNKS 4096
#define DUMP_SLICE_BYTES (64u * 1024)
/** memcached's cap on a cachedump reply ("END\r\n" and its NUL included). */
#define DUMP_CACHEDUMP_MAX (2u * 1024 * 1024)
/** Longest line: a metadump line with a 250-byte key, every byte URL-encoded. */
#define DUMP_LINE_MAX 1024

enum dump_kind {
	DUMP_CACHEDUMP,
	DUMP_METADUMP,
};

/** What to dump. */
struct dump_spec {
	enum dump_kind kind;
	uint64_t classes; /* store classes (bit c = memcached class c + 1); 0 = none */
	uint32_t limit;	  /* cachedump: most items, 0 = no limit but the 2 MB cap */
};

/** A dump in progress: read and written by one thread at a time (see conn_dump.c). */
struct dump {
	struct dump_spec spec;
	unsigned shard;		/* the shard being walked */
	struct store_walk walk; /* where its walk stands */
	uint64_t shown;		/* items listed so far */
	uint64_t bytes;		/* reply bytes so far */
	bool finished;		/* the limit or the cap was reached */
	uint32_t len;		/* bytes of lines in buf from the last slice */
	char buf[DUMP_SLICE_BYTES];
};

/**
 * Check `stats cachedump` arguments (@p args: the text after "stats ", e.g. "cachedump 1 0"),
 * as memcached 1.6.18: fewer than two numbers -> "CLIENT_ERROR bad command line"; a number
 * that is not one -> "CLIENT_ERROR bad command line format"; a class of 64 or more ->
 * "CLIENT_ERROR Illegal slab id"; class 0 is valid and holds nothing.
 * @return NULL with *spec filled, or the error line to answer (without "\r\n").
 */
const char *dump_parse_cachedump(const char *args, uint32_t len, struct dump_spec *spec);

/**
 * Check `lru_crawler metadump` classes (@p arg: "all", "hash" or classes 1..63 separated by
 * commas). @return NULL with *spec filled, or memcached's "BADCLASS invalid class id".
 */
const char *dump_parse_metadump(const char *arg, uint32_t len, struct dump_spec *spec);

/** URL-encode key[0..len) as memcached's uriencode; @p dst holds 3 * len. @return bytes. */
size_t dump_uriencode(char *dst, const char *key, size_t len);

/**
 * Format one item's line: cachedump "ITEM <key> [<bytes> b; <exptime> s]\r\n" (exptime: unix
 * time, 0 for none); metadump "key=<url-encoded key> exp=<unix time or -1> la=<unix time>
 * cas=<cas> fetch=<yes|no> cls=<class> size=<bytes>\n" (memcached ends these with "\n" only).
 * @return the line's length; -ENOSPC when @p cap is too small.
 */
int dump_format(enum dump_kind kind, const struct store_walk_item *it, char *buf, size_t cap);

/**
 * [owner of @p shard] Run the next slice of @p d over @p shard: lines into d->buf (d->len),
 * d->walk advanced (walk.done once the shard is finished), d->finished when the cachedump
 * limit or cap is reached.
 */
void dump_slice(struct dump *d, struct store_shard *shard);

#endif /* NC_APP_DUMP_H */
