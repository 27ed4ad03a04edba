/* SPDX-License-Identifier: BSD-3-Clause */
/* The protocol table: each protocol's encoder and parser, picked by enum mcgen_proto. */
#include "proto.h"

#include <errno.h>
#include <stdio.h>

struct proto_ops {
	long (*encode)(const struct mcgen_workload *w, const struct mcgen_req *q, char *buf,
		       size_t cap);
	long (*parse)(const struct mcgen_req *q, const char *buf, size_t len, struct mcgen_reply *r,
		      size_t *need, char *err, size_t errlen);
};

static const struct proto_ops protos[MCGEN_PROTO_COUNT] = {
#define MCGEN_PROTO_OPS(e, id, name) [MCGEN_PROTO_##e] = {mcgen_##id##_encode, mcgen_##id##_parse},
	MCGEN_PROTOS(MCGEN_PROTO_OPS)
#undef MCGEN_PROTO_OPS
};

long
mcgen_proto_encode(unsigned proto, const struct mcgen_workload *w, const struct mcgen_req *q,
		   char *buf, size_t cap)
{
	if (proto >= MCGEN_PROTO_COUNT)
		return -EINVAL;
	return protos[proto].encode(w, q, buf, cap);
}

long
mcgen_proto_parse(unsigned proto, const struct mcgen_req *q, const char *buf, size_t len,
		  struct mcgen_reply *r, size_t *need, char *err, size_t errlen)
{
	if (proto >= MCGEN_PROTO_COUNT) {
		snprintf(err, errlen, "unknown protocol %u", proto);
		return -EPROTO;
	}
	return protos[proto].parse(q, buf, len, r, need, err, errlen);
}

/* Per key of a request or reply: a command or VALUE/VA line and binary headers. */
#define PER_KEY_OVERHEAD (MCGEN_KEY_MAX + 96)

size_t
mcgen_proto_request_max(const struct mcgen_workload *w)
{
	size_t per_get = (size_t)w->mget_keys * PER_KEY_OVERHEAD + 64;
	size_t set = PER_KEY_OVERHEAD + w->value_size.max + 2;

	return per_get > set ? per_get : set;
}

size_t
mcgen_proto_reply_max(const struct mcgen_workload *w)
{
	return (size_t)w->mget_keys * (PER_KEY_OVERHEAD + w->value_size.max + 2) + 64;
}
