/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_STORE_STATUS_H
#define NC_STORE_STATUS_H

/*
 * Outcome of a store command. One list, expanded into the enum and the name table, so the
 * protocol writers (which map outcomes to memcached replies) never keep a copy in sync.
 */

/* X(name, description) */
#define STORE_STATUS_LIST(X)                                                             \
	X(HIT, "found a live item")                                                      \
	X(MISS, "no item for the key")                                                   \
	X(EXPIRED, "found an item past its exptime: a miss")                             \
	X(FLUSHED, "found an item invalidated by flush_all: a miss")                     \
	X(STORED, "the item was stored")                                                 \
	X(NOT_STORED, "add on a live key, or replace/append/prepend on a missing one")   \
	X(EXISTS, "cas (or delete with cas) saw a different cas value")                  \
	X(NOT_FOUND, "the command needs a live item and there is none")                  \
	X(DELETED, "the item was removed")                                               \
	X(TOUCHED, "the item's exptime was updated")                                     \
	X(OK, "incr/decr applied")                                                       \
	X(NON_NUMERIC, "incr/decr on a value that is not a decimal number")              \
	X(TOO_LARGE, "item larger than the largest size class (-I)")                     \
	X(KEY_TOO_LONG, "key longer than STORE_KEY_MAX")                                 \
	X(NO_MEMORY, "no memory right now: reclamation is in progress; retry after the " \
		     "next quiescent point and store_shard_maintain()")

enum store_status {
#define STORE_STATUS_ENUM(name, desc) STORE_##name,
	STORE_STATUS_LIST(STORE_STATUS_ENUM)
#undef STORE_STATUS_ENUM
	STORE_STATUS_COUNT
};

/** Upper-case name of a status ("NOT_STORED"); "?" for out-of-range values. */
const char *store_status_name(enum store_status st);

#endif /* NC_STORE_STATUS_H */
