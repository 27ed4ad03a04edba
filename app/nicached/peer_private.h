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
/* Longest reply line kept (longer ones are failures; their end is still found). */
#define PEER_REPLY_LINE_MAX 256
/* Most iovecs handed to the stack at once. */
#define PEER_SEND_IOVS 1
/*
 * The meta opaque (O) every shipped command carries: a member executing one does not ship it
 * on (only a client's write is replicated), so two members that disagree on the ring for a
 * moment cannot send a key back and forth.
 */
#define PEER_OPAQUE "ncrepl"
/*
 * The opaque of a request proxied to the key's primary: the member serves it where it lands,
 * never proxies it on (two members that disagree on the ring would pass it back and forth).
 */
#define PEER_PROXY_OPAQUE "ncprx"
/* Chunks a resync walk visits per worker loop (store_walk's budget). */
#define PEER_RESYNC_CHUNKS 1024
/* A command no write waits for (peer_ref.slot). */
#define PEER_WAIT_NONE UINT32_MAX
/* Most undos waiting for one link to come up; beyond, the oldest are lost (counted). */
#define PEER_UNDO_MAX 16384
/* Longest value a reply may announce (-I's limit). */
#define PEER_VALUE_MAX (1u << 30)
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
	bool proxy;		/* carries proxied requests (the member may make them wait for
				   its quorum), not replication: acknowledgements never queue
				   behind a waiting request */
	struct stack_conn *conn;
	uint32_t retry_tick;	/* PEER_DOWN: when to try again */
	uint32_t backoff;	/* ticks to wait after the next failure */
	uint8_t *out;		/* queued commands: out[sent..len) not taken by the stack yet */
	size_t len, sent, cap;
	bool writable_wanted;
	char rx_line[PEER_REPLY_LINE_MAX]; /* the reply line being read ... */
	uint32_t rx_len;	/* ... its bytes so far (counted past the buffer) */
	uint32_t rx_data;	/* bytes of a VA reply's value (and its CRLF) still to come */
	struct peer_ref rx_ref;	/* ... for the wait (a proxied read) they belong to */
	uint32_t sent_tick;	/* when bytes last left (keepalive) */
	bool stale;		/* commands for it were lost: resync once it is up */
	bool resyncing;		/* walking the shard, shipping what the member should hold */
	struct store_walk walk; /* ... where the walk stands */
	struct peer_fifo expect; /* one entry per command whose reply is due, in order: the wait
				    it answers, or PEER_WAIT_NONE */
	bool login_due;		/* authentication on: the next reply answers this node's login */
	uint32_t *undo;		/* WAIT_UNDO slots to ship once the link is up */
	uint32_t nundo, undo_cap;
};

/* What a wait is for. */
enum peer_wait_kind {
	WAIT_QUORUM, /* a write waiting for its replicas' acknowledgements (peer_quorum.c) */
	WAIT_PROXY,  /* a request sent to the key's primary, waiting for its answer (peer_proxy.c) */
	WAIT_UNDO,   /* the undo of a failed quorum write on one replica, until it answered; no
			deadline: a link that breaks ships it again once up (peer_quorum.c) */
};

/* A request waiting for members' replies. */
struct peer_wait {
	uint32_t gen;		/* bumped when the wait ends: replies after that are ignored */
	bool used;
	enum peer_wait_kind kind;
	bool shipping;		/* its commands are being queued: no verdict before they all are */
	uint8_t need;		/* acknowledgements that make the quorum */
	uint8_t asked;		/* replicas asked */
	uint8_t asked_mask;	/* ... by their position in copy[] */
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
	/* WAIT_PROXY: the link it went on, the primary's reply line, how much of its value came */
	uint32_t link;
	char reply[PEER_REPLY_LINE_MAX];
	uint32_t reply_len;
	uint32_t value_len, value_got;
};

struct peer_set {
	uint64_t version; /* the view the links were built for */
	uint32_t n;		/* members */
	struct peer_link *link; /* [2n]: replication links by member index, then proxy links
				   (link[n + member]); this node's own entries unused */
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

/**
 * Write the meta key token of @p k into @p buf (base64, *b64 set, when it has bytes a text key
 * cannot). @return its length; -1 when it does not fit a meta key (250 characters).
 */
int key_token(const struct store_key *k, char *buf, size_t cap, bool *b64);

/**
 * Queue command @p line (@p n bytes; and the value of @p hit, if given, or @p value[0..vlen)
 * when @p value is given) on link @p l; its reply answers wait @p wait (PEER_WAIT_NONE: none).
 * Counted as a replication write when @p write. @return 0; -ENOBUFS when the queue is full
 * (nothing queued; the member is marked stale), -EPIPE when the link broke.
 */
int link_ship(struct worker *w, struct peer_link *l, const char *line, size_t n,
	      const struct store_hit *hit, const struct proto_input *in,
	      const struct proto_span *value, bool write, uint32_t wait);

/** The worker's links when they follow view @p v (NULL: no view), else NULL. */
struct peer_set *peer_links(struct worker *w, const struct cluster_view *v);

/* ---- peer_quorum.c ---- */

/**
 * Start a wait for the write just executed for key @p k, which request @p m waits on, with the
 * key's members @p copy[0..ncopies) (this node first). @return its slot, or PEER_WAIT_NONE
 * when no memory is left for it (the write is then answered at once, replicated as in async).
 */
uint32_t quorum_begin(struct worker *w, struct peer_set *ps, const struct store_key *k,
		      struct fwd_msg *m, const uint32_t *copy, uint32_t ncopies);

/**
 * After the write's commands were shipped: the item's CAS @p cas (0: none). When too few
 * replicas were asked, the wait ends here; either way its request is answered through
 * forward_answer(), never by the caller.
 */
void quorum_shipped(struct worker *w, struct peer_set *ps, uint32_t slot, uint64_t cas);

/**
 * A write whose quorum cannot even be asked for (no links for the current view yet, no memory
 * for a wait): undo it here (nothing was shipped) and set @p m's answer to the failure.
 */
void quorum_refuse(struct worker *w, const struct store_key *k, struct fwd_msg *m);

/**
 * [per reply] A member answered wait @p ref's command with line @p line[0..len) (CRLF cut),
 * which announces @p value_len bytes of value (VA) to follow, fed to peer_reply_value().
 * @p fine: the line is no failure reply for a replicated command.
 */
void peer_reply_line(struct worker *w, struct peer_set *ps, struct peer_ref ref,
		     const char *line, uint32_t len, uint32_t value_len, bool fine);

/** [per reply] Bytes @p data[0..n) of the value announced for wait @p ref. */
void peer_reply_value(struct worker *w, struct peer_set *ps, struct peer_ref ref,
		      const char *data, uint32_t n);

/** [per reply] Wait @p ref's reply is complete (its value included). */
void peer_reply_done(struct worker *w, struct peer_set *ps, struct peer_ref ref);

/**
 * The reply for wait @p ref will not come: link @p l closed, broken (@p failed) or on
 * purpose.
 */
void peer_reply_lost(struct worker *w, struct peer_set *ps, struct peer_link *l,
		     struct peer_ref ref, bool failed);

/** Link @p l is to carry a command for wait @p slot: count its member as asked. */
void quorum_asked(struct peer_set *ps, uint32_t slot, const struct peer_link *l);

/**
 * A write failed its quorum after it was sent to link @p l's member: undo it there (key
 * @p key[0..nkey), the item's CAS @p cas or 0) until the member answers, whatever breaks.
 */
void undo_begin(struct worker *w, struct peer_set *ps, struct peer_link *l, const char *key,
		uint16_t nkey, uint64_t cas);

/**
 * Undo wait @p slot could not be shipped on link @p l (not up, queue full, the link broke
 * before the answer): keep it to ship when the link is up again.
 */
void undo_pend(struct worker *w, struct peer_set *ps, struct peer_link *l, uint32_t slot);

/** [link up] Ship the undos pending on link @p l. */
void undo_resume(struct worker *w, struct peer_set *ps, struct peer_link *l);

/** Forget the undos pending on link @p l (its member left the ring; at stop). */
void undo_drop(struct peer_set *ps, struct peer_link *l);

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
 * Take a free wait slot of kind @p kind with its deadline set (--replication-timeout) and its
 * reference at the tail of the age FIFO. @return the slot; PEER_WAIT_NONE when out of memory.
 */
uint32_t wait_take(struct worker *w, struct peer_set *ps, enum peer_wait_kind kind);

/** Whether @p wt, a quorum wait, is acknowledged by reply line @p line[0..len). */
bool quorum_acknowledges(const char *line, uint32_t len);

/** Free wait slot @p slot (its replies still due are ignored). */
void wait_free(struct peer_set *ps, uint32_t slot);

/** The wait @p ref names, or NULL when it ended since. */
struct peer_wait *wait_of(struct peer_set *ps, struct peer_ref ref);

/**
 * Fail every quorum wait and proxied request (the ring changed: the links and the keys'
 * members are about to change). Undos are kept: they follow their links.
 */
void waits_fail_all(struct worker *w, struct peer_set *ps);

/* ---- peer_proxy.c ---- */

/** [reply] A proxied request's answer (line, value) is complete: answer the client. */
void proxy_done(struct worker *w, struct peer_set *ps, uint32_t slot);

/** A proxied request got no answer (the link broke, a view change): answer the failure. */
void proxy_fail(struct worker *w, struct peer_set *ps, uint32_t slot);

/**
 * A proxied request's deadline passed: answer the failure and close its link (a member that
 * does not answer may be gone without a word, as a killed DPDK node is: until the link opens
 * again, requests are served here rather than wait).
 */
void proxy_timeout(struct worker *w, struct peer_set *ps, uint32_t slot);

/** [peer.c] Close link @p l as broken (its waits fail; it reopens after the backoff). */
void peer_link_fail(struct worker *w, struct peer_link *l);

/** Free the waits (at stop: their requests' connections are gone). */
void quorum_free(struct peer_set *ps);

#endif /* NC_APP_PEER_PRIVATE_H */
