/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_CAS_H
#define NC_CORE_CAS_H

/*
 * CAS values unique across every shard of the process without a shared atomic on the data
 * path: one process-wide source hands out blocks of NC_CAS_BLOCK values, and each shard owner
 * draws values from its own lease. Within one lease holder values only increase; across
 * holders they are unique but not ordered. 0 is never handed out (it means "no cas").
 */

#include <stdint.h>

/** Values taken from the source at a time; one atomic add per block. */
#define NC_CAS_BLOCK 1024

/** Process-wide source. Any thread may refill from it. */
struct nc_cas_source {
	uint64_t next_block; /* atomic; next unassigned value */
};

/** A holder's lease on a block. Owned by one thread. */
struct nc_cas_lease {
	uint64_t next;
	uint64_t end;
	struct nc_cas_source *src;
};

/** Initialise a source; the first value it hands out is 1. */
void nc_cas_source_init(struct nc_cas_source *src);

/** Initialise an (empty) lease on @p src. */
void nc_cas_lease_init(struct nc_cas_lease *lease, struct nc_cas_source *src);

/**
 * Make every value the source hands out from now on larger than @p max (a snapshot's largest
 * restored cas), so restored and new values never collide; a source already past it is left
 * alone. Any thread (an atomic compare-and-swap loop); leases drawn before keep their blocks,
 * so call it before the holders draw (at start).
 */
void nc_cas_source_advance(struct nc_cas_source *src, uint64_t max);

/** Refill an exhausted lease with a fresh block (one relaxed atomic add on the source). */
void nc_cas_lease_refill(struct nc_cas_lease *lease);

/** Next unique CAS value, never 0. Lease owner only. */
static inline uint64_t
nc_cas_next(struct nc_cas_lease *lease)
{
	if (__builtin_expect(lease->next == lease->end, 0))
		nc_cas_lease_refill(lease);
	return lease->next++;
}

/**
 * The value nc_cas_next() would return next, without taking it ("values below this were handed
 * out before now"). Lease owner only.
 */
static inline uint64_t
nc_cas_peek(struct nc_cas_lease *lease)
{
	if (lease->next == lease->end)
		nc_cas_lease_refill(lease);
	return lease->next;
}

#endif /* NC_CORE_CAS_H */
