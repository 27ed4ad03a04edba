/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_WORKLOAD_H
#define NC_MCGEN_WORKLOAD_H

/*
 * What mcgen asks: the key space (key i is its decimal index, a ':' and filler up to its
 * length), how keys are drawn (uniform, Zipf s), the operation mix, and the values.
 *
 * A value is a function of its key and a version: its length (fixed or drawn from the range by
 * a hash of both) and its bytes. A set stores version v as the item's client flags, so a reply
 * from any thread, after any number of sets, names the version its bytes must match: every
 * byte of every hit is checked, and a wrong one is an error.
 *
 * Threads: a workload is read-only after mcgen_workload_init(); every thread draws from it
 * with its own random stream.
 */

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "zipf.h"

/** Longest key memcached takes. */
#define MCGEN_KEY_MAX 250

struct mcgen_workload {
	uint64_t keys, seed;
	struct mcgen_range key_size, value_size;
	unsigned dist, mget_keys;
	struct mcgen_zipf zipf;
	uint64_t mix_cum[MCGEN_OP_COUNT]; /* cumulative weights */
};

/** One request: what was asked and when. The in-flight record of every transport. */
struct mcgen_req {
	uint64_t sched_ns; /* when it was due (open loop: its arrival; closed: its send) */
	uint64_t sent_ns;  /* when it went out */
	uint32_t version;  /* set: the version written */
	uint32_t opaque;   /* binary: the request's opaque */
	uint8_t op;	   /* enum mcgen_op */
	uint8_t nkeys;
	uint8_t tries; /* warm-up: the times this set was sent before, lost */
	uint32_t keys[MCGEN_MGET_MAX];
};

/* What a reply said, apart from the values. */
enum mcgen_status {
	MCGEN_ST_OK,	     /* get answered (hits in vals), stored, deleted */
	MCGEN_ST_MISS,	     /* get of one key or delete: not found */
	MCGEN_ST_NOT_STORED, /* set refused */
	MCGEN_ST_ERROR,	     /* an error line or status from the server */
};

/** One value of a get reply; pointers into the received bytes. */
struct mcgen_val {
	const char *key, *data;
	uint32_t klen, len, flags;
};

/** A parsed reply. */
struct mcgen_reply {
	enum mcgen_status status;
	unsigned nvals;
	struct mcgen_val v[MCGEN_MGET_MAX];
	const char *said; /* MCGEN_ST_ERROR: the server's words (its error line, or a binary
			     error's message), into the received bytes; NULL when none */
	uint32_t said_len;
};

/**
 * Set up @p w from the options.
 * @return 0; -EINVAL with a message in @p err (e.g. a bad Zipf exponent).
 */
int mcgen_workload_init(struct mcgen_workload *w, const struct mcgen_options *o, char *err,
			size_t errlen);

/** Write key @p idx at @p buf (room: MCGEN_KEY_MAX). @return its length. */
unsigned mcgen_key(const struct mcgen_workload *w, uint32_t idx, char *buf);

/** The length of the value of key @p idx at @p version. */
uint32_t mcgen_value_len(const struct mcgen_workload *w, uint32_t idx, uint32_t version);

/** Write the value of key @p idx at @p version (mcgen_value_len bytes) at @p buf. */
void mcgen_value_fill(const struct mcgen_workload *w, uint32_t idx, uint32_t version,
		      char *buf);

/**
 * Check a value returned for key @p idx with client flags @p version.
 * @return -1 when @p len bytes at @p data are that value; else the offset of the first wrong
 * byte (the expected length when only the length is wrong).
 */
long mcgen_value_check(const struct mcgen_workload *w, uint32_t idx, uint32_t version,
		       const char *data, uint32_t len);

/** Draw a key index from the distribution, with the stream *@p rng. */
uint32_t mcgen_key_draw(const struct mcgen_workload *w, uint64_t *rng);

/** Draw an operation from the mix. */
enum mcgen_op mcgen_op_draw(const struct mcgen_workload *w, uint64_t *rng);

/**
 * Fill @p r (op, keys, version) with the next random request; @p version is the version a
 * set writes (the caller makes them differ across threads).
 */
void mcgen_req_draw(const struct mcgen_workload *w, uint64_t *rng, uint32_t version,
		    struct mcgen_req *r);

/* The outcome of one checked reply, added to the caller's counters. */
struct mcgen_outcome {
	uint32_t hits, misses;
	uint32_t server_errors; /* error replies, not-stored sets */
	uint32_t wrong;		/* replies that break the protocol or carry wrong values */
};

/**
 * Check reply @p r to request @p q: every value's key was asked (in order), its bytes match
 * the version in its flags.
 * @return 0 when all is right (hits and misses counted in @p out); -EBADMSG when a value is
 * wrong or unexpected (out->wrong set, what and where said in @p err); -EREMOTEIO for an
 * error reply (out->server_errors set, said in @p err).
 */
int mcgen_reply_check(const struct mcgen_workload *w, const struct mcgen_req *q,
		      const struct mcgen_reply *r, struct mcgen_outcome *out, char *err,
		      size_t errlen);

#endif /* NC_MCGEN_WORKLOAD_H */
