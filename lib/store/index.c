/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/index.h"

#include <errno.h>
#include <string.h>

/*
 * rte_hash calls this only for operations without a precomputed signature; we always pass
 * one, but keep the two consistent: the key is a digest, and its signature is part of it.
 */
static uint32_t
digest_sig_hash(const void *key, uint32_t key_len, uint32_t init_val)
{
	struct nc_digest d;

	(void)key_len;
	(void)init_val;
	memcpy(&d, key, sizeof(d));
	return nc_digest_sig(&d);
}

struct rte_hash *
index_create(const char *name, uint32_t entries, int socket_id)
{
	struct rte_hash_parameters params = {
		.name = name,
		.entries = entries < 8 ? 8 : entries,
		.key_len = sizeof(struct nc_digest),
		.hash_func = digest_sig_hash,
		.hash_func_init_val = 0,
		.socket_id = socket_id,
		.extra_flag =
			RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	return rte_hash_create(&params);
}

void
index_destroy(struct rte_hash **h)
{
	rte_hash_free(*h);
	*h = NULL;
}

int
index_lookup_bulk(const struct rte_hash *h, const struct store_key *const keys[], unsigned n,
		  void *out[])
{
	const void *digests[INDEX_BULK_MAX];
	hash_sig_t sigs[INDEX_BULK_MAX];
	uint64_t hits = 0;
	int found;

	for (unsigned i = 0; i < n; i++) {
		digests[i] = &keys[i]->digest;
		sigs[i] = keys[i]->sig;
	}
	found = rte_hash_lookup_with_hash_bulk_data(h, digests, sigs, n, &hits, out);
	if (found < 0)
		return found;
	for (unsigned i = 0; i < n; i++) {
		if (!(hits & (1ULL << i)))
			out[i] = NULL;
	}
	return found;
}

int
index_put(const struct rte_hash *h, const struct store_key *k, void *item)
{
	int rc = rte_hash_add_key_with_hash_data(h, &k->digest, k->sig, item);

	return rc < 0 ? rc : 0;
}

int32_t
index_del(const struct rte_hash *h, const struct store_key *k)
{
	return rte_hash_del_key_with_hash(h, &k->digest, k->sig);
}

void
index_free_pos(const struct rte_hash *h, int32_t pos)
{
	rte_hash_free_key_with_position(h, pos);
}
