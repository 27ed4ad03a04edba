/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_PEER_PRIVATE_H
#define NC_APP_PEER_PRIVATE_H

/*
 * What peer.c (links, shipping, resync) and peer_quorum.c (--replication quorum: waiting for
 * the replicas' acknowledgements) share. Everything here belongs to one worker.
 */

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"
#include "peer.h"
#include "store/index.h"
#include "worker.h"

/* Reconnect backoff, in clock ticks (1/16 s): 2 ticks, doubling up to 32. */
#define PEER_BACKOFF_MIN_TICKS 2
#define PEER_BACKOFF_MAX_TICKS 32
/*
 * An idle link sends a meta no-op (mn) after this many ticks (1 s) without sending: the
 * member's --idle-timeout would otherwise close it, and every reopening resyncs the member.
 */
#define PEER_KEEPALIVE_TICKS 16
/* Longest command line shipped (a base64 key of 250 bytes and the flags fit). */
#define PEER_LINE_MAX 512
/* Bytes of replies read at once. */
#define PEER_RX_CHUNK 4096
/* Most iovecs handed to the stack at once. */
#define PEER_SEND_IOVS 1
/*
 * The meta opaque (O) every shipped command carries: a member executing one does not ship it
 * on (only a client's write is replicated), so two members that disagree on the ring for a
 * moment cannot send a key back and forth.
 */
#define PEER_OPAQUE "ncrepl"
/* Chunks a resync walk visits per worker loop (store_walk's budget). */
#define PEER_RESYNC_CHUNKS 1024
/* A command no write waits for (peer_ref.slot). */
#define PEER_WAIT_NONE UINT32_MAX
/* Longest key a wait keeps (memcached's limit; binary keys are cut to it by the parsers). */
#define PEER_KEY_MAX 250

enum peer_state {
	PEER_DOWN,	 /* no connection; the next attempt at retry_tick */
	PEER_CONNECTING, /* opened, waiting for STACK_EV_WRITABLE */
	PEER_UP,
};

/* A wait named by its slot and the slot's generation (stale once the wait ended). */
struct peer_ref {
	uint32_t slot;
	uint32_t gen;
};

/* A growable ring of references, oldest first. */
struct peer_fifo {
	struct peer_ref *e;
	uint32_t head, len, cap; /* cap: a power of two, or 0 */
};

/* One member's link. */
struct peer_link {
	char name[NC_RING_NAME_MAX + 1]; /* the member's ring name: links follow it across views */
	uint32_t member;		 /* its index in the current view */
	enum peer_state state;
	struct stack_conn *conn;
	uint32_t retry_tick;	/* PEER_DOWN: when to try again */
	uint32_t backoff;	/* ticks to wait after the next failure */
	uint8_t *out;		/* queued commands: out[sent..len) not taken by the stack yet */
	size_t len, sent, cap;
	bool writable_wanted;
	uint32_t rx_partial;	/* bytes of an unfinished reply line seen ... */
	char rx_head[3];	/* ... its first three */
	uint32_t sent_tick;	/* when bytes last left (keepalive) */
	bool stale;		/* commands for it were lost: resync once it is up */
	bool resyncing;		/* walking the shard, shipping what the member should hold */
	struct store_walk walk; /* ... where the walk stands */
	struct peer_fifo expect; /* quorum: one entry per command whose reply is due, in order:
				    the wait it acknowledges, or PEER_WAIT_NONE */
};

/* A write that waits for its replicas' acknowledgements (--replication quorum). */
struct peer_wait {
	uint32_t gen;		/* bumped when the wait ends: replies after that are ignored */
	bool used;
	bool shipping;		/* its commands are being queued: no verdict before they all are */
	uint8_t need;		/* acknowledgements that make the quorum */
	uint8_t asked;		/* replicas asked */
	uint8_t acked, failed;
	uint8_t ncopies;
	uint32_t copy[NC_RING_REPLICAS_MAX]; /* the key's members, primary (this node) first */
	uint32_t deadline;	/* clock tick after which the wait fails */
	uint64_t start_ns;	/* for repl_quorum_wait_us */
	struct fwd_msg *msg;	/* answered when the wait ends */
	uint64_t cas;		/* the item's CAS the write left; 0: the write left no item */
	uint16_t nkey;
	char key[PEER_KEY_MAX];
	uint32_t next_free;
};

struct peer_set {
	uint64_t version; /* the view the links were built for */
	uint32_t n;
	struct peer_link *link; /* [n], by member index; this node's own entry unused */
	struct peer_wait *wait; /* [nwait] */
	uint32_t nwait, free_wait;
	struct peer_fifo by_age; /* waits, oldest first: their deadlines come in this order */
};

/* ---- peer.c, for peer_quorum.c ---- */

/* How ship_state() ships a key. */
enum ship_mode {
	SHIP_SET,   /* the item as it is (ms), or its absence (md): the primary's word */
	SHIP_TOUCH, /* only its expiry (mg T), or its absence */
	SHIP_ADD,   /* the item only where the member has none (ms ME): a copy warming a primary
		       must not overwrite what clients wrote there since */
	SHIP_UNDO,  /* delete the copy that has CAS peer_wait.cas (md C): a write that failed its
		       quorum */
};

/**
 * Ship the state key @p k has in this worker's shard now to the links of members
 * @p members[0..n), as @p mode says (SHIP_UNDO: the delete of CAS @p undo_cas); each command
 * acknowledges wait @p wait (PEER_WAIT_NONE: none).
 * @return the item's CAS when it is here, 0 when it is not.
 */
uint64_t ship_state(struct worker *w, struct peer_set *ps, const struct store_key *k,
		    enum ship_mode mode, const uint32_t *members, uint32_t n, uint64_t undo_cas,
		    uint32_t wait);

/** Whether this node answers writes only after their quorum (--replication quorum, R > 1). */
static inline bool
peer_quorum_mode(const struct worker *w)
{
	return w->srv->set.replication == SETTINGS_REPLICATION_QUORUM && w->srv->set.replicas > 1;
}

/* ---- peer_quorum.c ---- */

/**
 * Start a wait for the write just executed for key @p k, which request @p m waits on, with the
 * key's members @p copy[0..ncopies) (this node first). @return its slot, or PEER_WAIT_NONE
 * when no memory is left for it (the write is then answered at once, replicated as in async).
 */
uint32_t quorum_begin(struct worker *w, struct peer_set *ps, const struct store_key *k,
		      struct fwd_msg *m, const uint32_t *copy, uint32_t ncopies);

/**
 * After the write's commands were shipped: the item's CAS @p cas (0: none). When no replica
 * was asked, or enough answered at once, the wait ends here.
 * @return true when the request still waits (it is answered later), false when it was
 *         answered now.
 */
bool quorum_shipped(struct worker *w, struct peer_set *ps, uint32_t slot, uint64_t cas);

/**
 * A write whose quorum cannot even be asked for (no links for the current view yet, no memory
 * for a wait): undo it here (nothing was shipped) and set @p m's answer to the failure.
 */
void quorum_refuse(struct worker *w, const struct store_key *k, struct fwd_msg *m);

/** Link @p l is to carry a command for wait @p slot: count the replica as asked. */
void quorum_asked(struct peer_set *ps, uint32_t slot);

/** A replica acknowledged (@p ok) or failed the command of wait @p ref. */
void quorum_reply(struct worker *w, struct peer_set *ps, struct peer_ref ref, bool ok);

/** [per loop] Fail the waits past their deadline. @return 1 when one ended, else 0. */
unsigned quorum_expire(struct worker *w, struct peer_set *ps);

/** Push @p r at the tail of @p f. @return 0; -ENOMEM. */
int fifo_push(struct peer_fifo *f, struct peer_ref r);

/** Take the oldest reference of @p f into *r. @return false when @p f is empty. */
bool fifo_pop(struct peer_fifo *f, struct peer_ref *r);

/** Free @p f's memory. */
void fifo_free(struct peer_fifo *f);

/**
 * Fail every wait (the ring changed: the links and the keys' members are about to change).
 */
void quorum_fail_all(struct worker *w, struct peer_set *ps);

/** Free the waits (at stop: their requests' connections are gone). */
void quorum_free(struct peer_set *ps);

#endif /* NC_APP_PEER_PRIVATE_H */
