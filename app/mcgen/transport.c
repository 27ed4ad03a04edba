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
	if (rc == 0 && t->warm_quit == MCGEN_WARM_SILENT) {
		snprintf(t->err, sizeof(t->err),
			 "no reply for %.1f s while setting the keys: is the server up, on that "
			 "port and transport?",
			 (double)(mcgen_now_ns() - t->warm_answer_ns) / 1e9);
		rc = -ETIMEDOUT;
	} else if (rc == 0 && t->warm_quit == MCGEN_WARM_KEY) {
		snprintf(t->err, sizeof(t->err),
			 "key %u set %d times without an answer within --timeout%s: its gets "
			 "would miss",
			 t->warm_lost_key, MCGEN_WARM_TRIES,
			 t->st.total.c[MCGEN_C_late] > 0 ? " (replies came late: raise --timeout)"
							 : "");
		rc = -ETIMEDOUT;
	}
	/* Requests a failed transport left in flight: lost with it. */
	if (rc < 0 && t->inflight > 0) {
		mcgen_engine_count(t, MCGEN_C_aborted, t->inflight);
		t->inflight = 0;
	}
	/* Release: the message is written before the status says there is one. */
	__atomic_store_n(&t->status, rc, __ATOMIC_RELEASE);
	mcgen_engine_finish(t);
	return rc;
}
