/* SPDX-License-Identifier: BSD-3-Clause */
/* The transport table (transport.h). */
#include "transport.h"

#include <errno.h>
#include <stdio.h>

static int (*const runs[MCGEN_TRANSPORT_COUNT])(struct mcgen_thread *t) = {
#define MCGEN_TRANSPORT_RUN(e, id, name, dpdk) [MCGEN_TRANSPORT_##e] = mcgen_##id##_run,
	MCGEN_TRANSPORTS(MCGEN_TRANSPORT_RUN)
#undef MCGEN_TRANSPORT_RUN
};

int
mcgen_transport_run(unsigned which, struct mcgen_thread *t)
{
	int rc;

	if (which >= MCGEN_TRANSPORT_COUNT) {
		snprintf(t->err, sizeof(t->err), "unknown transport %u", which);
		mcgen_engine_ready(t);
		rc = -EINVAL;
	} else {
		rc = runs[which](t);
	}
	t->status = rc;
	mcgen_engine_finish(t);
	return rc;
}
