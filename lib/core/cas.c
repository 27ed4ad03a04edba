/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/cas.h"

#include <stdbool.h>

void
nc_cas_source_init(struct nc_cas_source *src)
{
	__atomic_store_n(&src->next_block, 1, __ATOMIC_RELAXED);
}

void
nc_cas_lease_init(struct nc_cas_lease *lease, struct nc_cas_source *src)
{
	lease->src = src;
	lease->next = 0;
	lease->end = 0;
}

void
nc_cas_lease_refill(struct nc_cas_lease *lease)
{
	/* Relaxed: only uniqueness matters, and the add is atomic. */
	uint64_t first =
		__atomic_fetch_add(&lease->src->next_block, NC_CAS_BLOCK, __ATOMIC_RELAXED);

	lease->next = first;
	lease->end = first + NC_CAS_BLOCK;
}

void
nc_cas_source_advance(struct nc_cas_source *src, uint64_t max)
{
	uint64_t cur = __atomic_load_n(&src->next_block, __ATOMIC_RELAXED);

	if (max == UINT64_MAX)
		max = UINT64_MAX - 1; /* values wrap; 0 stays "no cas" */
	/* Relaxed: only the value matters, as in the refill. */
	while (cur <= max && !__atomic_compare_exchange_n(&src->next_block, &cur, max + 1, false,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}
