/* SPDX-License-Identifier: BSD-3-Clause */
/* PLACEHOLDER so the lead can build; the meta helper replaces this whole file. */
#include "exec.h"

#include <string.h>

bool
exec_meta_is_write(const struct proto_request *req)
{
	(void)req;
	return false;
}

void
exec_meta_read(const struct exec_ctx *ctx, const struct store_shard *s, const struct store_key *k,
	       const struct proto_request *req, struct proto_result *res)
{
	(void)ctx;
	(void)s;
	(void)k;
	(void)req;
	memset(res, 0, sizeof(*res));
	res->status = PROTO_ST_MISS;
}

bool
exec_meta_write(const struct exec_ctx *ctx, struct store_shard *s, const struct store_key *k,
		const struct proto_request *req, const struct proto_input *in,
		struct proto_result *res, struct exec_value *copy)
{
	(void)ctx;
	(void)s;
	(void)k;
	(void)req;
	(void)in;
	(void)copy;
	memset(res, 0, sizeof(*res));
	res->status = PROTO_ST_NOT_STORED;
	return true;
}
