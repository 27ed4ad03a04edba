/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_LATENCY_H
#define NC_APP_LATENCY_H

/*
 * Request latency inside the server, per worker and class of command, as histograms (the
 * Prometheus endpoint, metrics.c, exports them). A request's latency runs from the start of
 * the worker loop iteration that received it (its bytes were taken from the NIC queue or the
 * socket then) to the moment its reply is written to the output: queueing behind the
 * requests of the same burst, parsing, execution, and any wait for another worker, a replica
 * or a proxied member. Sending is not included. Requests answered with a protocol error and
 * quiet ones with no reply are not counted. The gets that the UDP fast path answers (one
 * datagram, its keys' replies written straight into the frame that goes out) are timed
 * together, to the moment the last reply of their batch of datagrams is queued (up to 32, sent
 * together anyway): one clock read a batch, not one a get (a read costs about 30 cycles, some
 * 4 % of a get), and a figure that can only err long.
 *
 * Each worker writes only its own struct worker_latency (relaxed stores, one writer); the
 * control core reads them relaxed.
 */

#include <stdint.h>

#include "proto/request.h"

/* Classes of command: X(name, description). */
#define LATENCY_CLASSES(X)                                                        \
	X(get, "reads: get, gets, gat, gats, mg, binary get*")                    \
	X(set, "stores: set, add, replace, append, prepend, cas, ms, binary set*") \
	X(delete, "delete, md, binary delete")                                    \
	X(arith, "incr, decr, ma, binary incr/decr")                              \
	X(touch, "touch, binary touch")                                           \
	X(other, "everything else: stats, flush_all, version, mn, me, config, lru_crawler")

enum latency_class {
#define LATENCY_CLASS_ENUM(name, desc) LATENCY_##name,
	LATENCY_CLASSES(LATENCY_CLASS_ENUM)
#undef LATENCY_CLASS_ENUM
	LATENCY_CLASS_COUNT
};

/* Upper bounds of the buckets in microseconds, ascending; a last bucket (+Inf) follows. */
/* clang-format off */
#define LATENCY_BOUNDS_US(X) \
	X(1) X(2) X(5) X(10) X(20) X(50) X(100) X(200) X(500) X(1000) X(2000) X(5000) \
	X(10000) X(50000) X(100000) X(1000000)
/* clang-format on */

enum {
#define LATENCY_BOUND_ONE(us) +1
	LATENCY_BOUNDS = 0 LATENCY_BOUNDS_US(LATENCY_BOUND_ONE),
#undef LATENCY_BOUND_ONE
	LATENCY_BUCKETS = LATENCY_BOUNDS + 1,
};
_Static_assert(LATENCY_BOUNDS == 16, "latency_note_n()'s search is written for 16 bounds");

/** The bucket bounds in TSC cycles (latency_bounds_init), shared read-only by the workers. */
struct latency_bounds {
	uint64_t cycles[LATENCY_BOUNDS];
	uint64_t tsc_hz;
};

/** One worker's histograms: requests per bucket (not cumulative) and the cycles in all. */
struct worker_latency {
	uint64_t count[LATENCY_CLASS_COUNT][LATENCY_BUCKETS];
	uint64_t sum_cycles[LATENCY_CLASS_COUNT];
};

/** Fill @p b for a TSC of @p tsc_hz cycles per second. Setup only. */
void latency_bounds_init(struct latency_bounds *b, uint64_t tsc_hz);

/** The bound of bucket @p i in microseconds (i < LATENCY_BOUNDS). */
unsigned latency_bound_us(unsigned i);

/** The name of class @p c ("get", ...); "?" out of range. */
const char *latency_class_name(enum latency_class c);

/** The description of class @p c. */
const char *latency_class_desc(enum latency_class c);

/** The class of a request's operation. */
static inline enum latency_class
latency_class_of(enum proto_op op)
{
	switch (op) {
	case PROTO_OP_GET:
	case PROTO_OP_GAT:
		return LATENCY_get;
	case PROTO_OP_STORE:
		return LATENCY_set;
	case PROTO_OP_DELETE:
		return LATENCY_delete;
	case PROTO_OP_ARITH:
		return LATENCY_arith;
	case PROTO_OP_TOUCH:
		return LATENCY_touch;
	default:
		return LATENCY_other;
	}
}

/**
 * Count @p n requests of operation @p op that took @p cycles each (the keys of one multi-key
 * get answered together). The owning worker only.
 */
static inline void
latency_note_n(struct worker_latency *l, const struct latency_bounds *b, enum proto_op op,
	       uint64_t cycles, unsigned n)
{
	enum latency_class c = latency_class_of(op);
	unsigned i = 0;

	/*
	 * i = how many bounds cycles passes: a binary search over the first 15 (8 + 4 + 2 + 1),
	 * then the last (passed only if all the others were), the same steps for any latency.
	 */
	i += cycles > b->cycles[i + 7] ? 8 : 0;
	i += cycles > b->cycles[i + 3] ? 4 : 0;
	i += cycles > b->cycles[i + 1] ? 2 : 0;
	i += cycles > b->cycles[i] ? 1 : 0;
	i += cycles > b->cycles[LATENCY_BOUNDS - 1] ? 1 : 0;
	__atomic_store_n(&l->count[c][i], __atomic_load_n(&l->count[c][i], __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&l->sum_cycles[c],
			 __atomic_load_n(&l->sum_cycles[c], __ATOMIC_RELAXED) + cycles * n,
			 __ATOMIC_RELAXED);
}

/** Count one request of operation @p op that took @p cycles (latency_note_n() of 1). */
static inline void
latency_note(struct worker_latency *l, const struct latency_bounds *b, enum proto_op op,
	     uint64_t cycles)
{
	latency_note_n(l, b, op, cycles, 1);
}

#endif /* NC_APP_LATENCY_H */
