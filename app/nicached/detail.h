/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_DETAIL_H
#define NC_APP_DETAIL_H

/*
 * `stats detail on|off|dump`: memcached's per-prefix counters (the prefix is the key up to its
 * first ':'; keys without one are not counted). Each worker counts its own requests in its own
 * table (no shared writes on the data path); a dump gathers a copy of every worker's table
 * (conn_run.c broadcasts) and merges them.
 *
 * What counts, as memcached 1.6.18: text get/gets/gat/gats/bget per key (get, and hit when
 * found), text set/add/replace/append/prepend/cas (set, stored or not), text delete (del,
 * found or not); binary get/getk/gat/touch and their quiet forms (get, hit), binary
 * set/add/replace (set), delete (del); meta commands never.
 *
 * A table holds at most DETAIL_PREFIXES_MAX prefixes; requests for further prefixes are not
 * counted. `stats reset` empties every table (each worker empties its own when it next looks).
 *
 * Threads: a table belongs to one worker; detail_copy() runs on it too.
 */

#include <stdbool.h>
#include <stdint.h>

/** Prefixes one worker's table holds. */
#define DETAIL_PREFIXES_MAX 4096
/** The delimiter, memcached's -D default. */
#define DETAIL_DELIMITER ':'

struct detail_counts {
	uint64_t get, hit, set, del;
};

struct detail_entry {
	struct detail_counts n;
	uint32_t len;
	char prefix[256]; /* keys are at most 250 bytes */
};

struct detail_table;

enum detail_op {
	DETAIL_GET,
	DETAIL_SET,
	DETAIL_DEL,
};

/** Create an empty table; NULL when memory is short. */
struct detail_table *detail_create(void);

/** Destroy a table (NULL allowed); sets *t to NULL. */
void detail_destroy(struct detail_table **t);

/** Empty a table. */
void detail_clear(struct detail_table *t);

/**
 * Count @p op (a hit when @p hit) for @p key's prefix.
 * @return 0; -ENOENT when the key has no delimiter; -ENOSPC when the table is full.
 */
int detail_record(struct detail_table *t, const char *key, uint32_t len, enum detail_op op,
		  bool hit);

/** Add @p n of @p prefix (merging copies). @return 0; -ENOSPC when the table is full. */
int detail_add(struct detail_table *t, const char *prefix, uint32_t len,
	       const struct detail_counts *n);

/** The table's entries, in the order they were created. */
const struct detail_entry *detail_entries(const struct detail_table *t, uint32_t *n);

/**
 * Format "PREFIX <prefix> get <n> hit <n> set <n> del <n>\r\n" for each entry, then "END\r\n",
 * into malloc'ed memory. @return the text (*len its length), or NULL when memory is short.
 */
char *detail_format(const struct detail_table *t, uint32_t *len);

#endif /* NC_APP_DETAIL_H */
