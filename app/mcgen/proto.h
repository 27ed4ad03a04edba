/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_PROTO_H
#define NC_MCGEN_PROTO_H

/*
 * The client side of memcached's protocols (MCGEN_PROTOS in options.h): requests encoded from
 * a struct mcgen_req, replies parsed into a struct mcgen_reply.
 *
 *   text    get k / get k1 k2.. / set k <version> 0 <n> / delete k
 *   meta    mg k v f k / mg k v f k q.. + mn / ms k <n> F<version> / md k
 *   binary  GETK / GETKQ.. + NOOP / SET (flags = version) / DELETE, opaque checked
 *
 * A parser looks at the bytes received so far (a TCP stream from the start of a reply, or one
 * reassembled UDP reply without its frame headers) and either takes one whole reply, or says
 * how many bytes it needs at least before it is worth calling again (so a value that straddles
 * many segments is scanned once), or rejects bytes that break the protocol.
 *
 * Threads: no state; any thread.
 */

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "workload.h"

/** Longest reply line a parser waits for before calling the bytes malformed. */
#define MCGEN_LINE_MAX 2048

/**
 * Encode request @p q at @p buf.
 * @return its length; -ENOSPC when it does not fit @p cap.
 */
long mcgen_proto_encode(unsigned proto, const struct mcgen_workload *w,
			const struct mcgen_req *q, char *buf, size_t cap);

/**
 * Parse the reply to @p q at the start of @p len bytes at @p buf.
 * @return the reply's length (> 0), with @p r filled (pointers into @p buf); 0 when it is not
 * complete, with *@p need set to the least total length worth another call; -EPROTO when the
 * bytes are not a reply to @p q (said in @p err).
 */
long mcgen_proto_parse(unsigned proto, const struct mcgen_req *q, const char *buf, size_t len,
		       struct mcgen_reply *r, size_t *need, char *err, size_t errlen);

/** An upper bound on the length of a request of workload @p w. */
size_t mcgen_proto_request_max(const struct mcgen_workload *w);

/** An upper bound on the length of a reply of workload @p w. */
size_t mcgen_proto_reply_max(const struct mcgen_workload *w);

/* Each protocol's pair, as mcgen_proto_encode/parse (proto_<id>.c). */
#define MCGEN_PROTO_DECLARE(e, id, name)                                                   \
	long mcgen_##id##_encode(const struct mcgen_workload *w, const struct mcgen_req *q, \
				 char *buf, size_t cap);                                    \
	long mcgen_##id##_parse(const struct mcgen_req *q, const char *buf, size_t len,     \
				struct mcgen_reply *r, size_t *need, char *err, size_t errlen);
MCGEN_PROTOS(MCGEN_PROTO_DECLARE)
#undef MCGEN_PROTO_DECLARE

#endif /* NC_MCGEN_PROTO_H */
