/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_WORKER_H
#define NC_APP_WORKER_H

/*
 * A worker lcore: one shard, one I/O stack, its connections, its counters, and two rings:
 * `inbox` (writes for its shard posted by other workers, which it executes as the owner) and
 * `done` (answers to the writes it posted). Its loop (worker_main): poll the stack, parse and
 * execute requests (reads of any shard directly under RCU; writes locally or forwarded),
 * serve the inbox, resume connections whose answers came back, retry writes that waited for
 * memory, then announce an RCU quiescent state and do the shard's upkeep.
 *
 * Threads: everything is the worker's own, except the rings (multi-producer) and `sleeping`
 * (read by posters to decide whether to wake it).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "conn.h"
#include "exec.h"
#include "proto/output.h"
#include "scratch.h"
#include "server.h"
#include "stack/stack.h"
#include "stats.h"
#include "store/shard.h"

/**
 * Iovecs / bytes of formatted replies gathered before a flush to the stack: at least
 * WORKER_OUT_IOV iovecs, more when -I allows values of more chunks than that (worker.c sizes
 * struct worker's out_iovs), since a value's chunks go out in one reply.
 */
#define WORKER_OUT_IOV 512
#define WORKER_OUT_BUF (256 * 1024)
/*
 * Values up to this size are copied into the output rather than referenced: one iovec less
 * per reply for the UDP datagram builder and the TCP send buffer, which cost more than the copy.
 */
#define WORKER_OUT_COPY_MAX 256
/** UDP datagrams received per batch, and the largest datagram accepted. */
#define WORKER_UDP_BATCH 16
/** Spare receive chunks a worker keeps (32 KB each). */
#define WORKER_SPARE_CHUNKS 16
#define WORKER_UDP_MAX 65536

/** Members whose links `stats cluster` itemizes (member_<i>_links_up, _queue_bytes). */
#define WORKER_PEER_STATS_MAX 256

struct worker {
	unsigned id;
	unsigned lcore;
	int socket; /* its memory's NUMA socket: its lcore's (placement_mem_socket) */
	struct nc_server *srv;
	struct store_shard *shard;
	struct stack *stack;
	struct rte_ring *inbox;
	struct rte_ring *done;
	struct exec_ctx exec;
	struct nc_scratch scratch; /* exec.scratch: reset before each quiescent state */
	struct worker_stats stats;
	struct worker_latency latency; /* request latency histograms (latency.h) */
	uint64_t loop_tsc;	       /* TSC at the start of this loop iteration */
	unsigned udp_gets_untimed;     /* UDP fast-path gets answered, timed at the batch's end */
	/* This loop iteration's cycles by stage, added to stats' busy_*_cycles if it is busy. */
	struct {
		uint64_t poll;	       /* stack_poll: receive, earlier replies flushed, timers */
		uint64_t udp_prefetch; /* datagrams taken, their keys scanned and prefetched */
		uint64_t udp_requests; /* their requests run and replies queued */
		uint64_t udp_flush;    /* the burst's replies sent */
	} stage;
	bool sleeping; /* in a blocking poll: posters call stack_wake (atomic) */

	/* connections */
	struct conn **conns;	  /* every connection ever made here (never freed while running) */
	uint32_t nconns, conns_cap;
	struct conn *free_conns;
	struct conn *pending;	  /* connections to run again this loop (RETRY, resumed) */
	struct fwd_msg *retry_msgs; /* forwarded writes waiting for memory */
	uint32_t rx_chunk_size; /* a connection's first receive chunk */
	/*
	 * Receive chunks of rx_chunk_size no connection holds (all their bytes parsed), for the
	 * next read: an idle connection keeps none, a busy one reuses a warm one.
	 */
	struct rx_chunk *spare_chunks[WORKER_SPARE_CHUNKS];
	uint32_t nspare_chunks;
	nc_reltime_t idle_checked; /* second of the last --idle-timeout check */
	uint32_t rx_chunk_max;	/* its later chunks double up to this, so -I fits the segments */

	/* the output being gathered for one connection */
	struct proto_out out;
	/* out's iovecs from [1] on; [0] is room for a UDP frame header in front of them */
	struct iovec *out_iov;
	uint32_t out_iovs; /* iovecs of out (out_iov has one more) */
	uint8_t *out_buf;

	/* stats detail: this worker's per-prefix counters (made on first use), and the
	 * srv->detail_gen they count since */
	struct detail_table *detail;
	uint32_t detail_gen;

	/* stats replies */
	struct proto_stat *stat_items;
	char *stat_text;
	uint32_t stat_max, stat_text_cap;

	/* replication links (peer.c; NULL until the first write to replicate) */
	struct peer_set *peers;
	uint64_t repl_queued; /* bytes queued on them: relaxed, read by the control core */
	/* answers to this worker's own connections (proxied, quorum waits), oldest first */
	struct fwd_msg *own_done, **own_done_tail;
	uint32_t repl_links_up; /* of them, those up: the same */
	/* per member (index in the view the links follow, the first WORKER_PEER_STATS_MAX):
	 * link up, bytes queued; relaxed, read for `stats cluster` */
	uint8_t peer_up[WORKER_PEER_STATS_MAX];
	uint64_t peer_queued[WORKER_PEER_STATS_MAX];
	bool handover_done;	/* leaving: every up link resynced and drained (relaxed) */

	/* UDP */
	struct stack_dgram udp_rx[WORKER_UDP_BATCH];
	struct udp_key_hint udp_hint[WORKER_UDP_BATCH]; /* udp_prefetch's keys, by datagram */
	/* udp_get_direct()'s request: a plain text get (text_get_req_init() once), each key's
	 * own fields set as it runs (nothing else writes it) */
	struct proto_request udp_get_req;
};

/**
 * [setup] Create worker @p id for @p lcore: its shard (memory = -m / workers), stack, rings
 * and buffers, in DPDK memory on the lcore's NUMA socket (placement_mem_socket; the shard on
 * any socket when its own is short of memory).
 * @return the worker, or NULL with *err set and a message in @p msg.
 */
struct worker *worker_create(struct nc_server *srv, unsigned id, unsigned lcore, int *err,
			     char *msg, size_t msgcap);

/** [setup] Destroy a worker (its loop must have returned); NULL allowed; sets *w to NULL. */
void worker_destroy(struct worker **w);

/** The worker loop, for rte_eal_remote_launch(); returns when the server stops. */
int worker_main(void *arg);

/** Run @p c again after this iteration's quiescent state (a retry). */
void worker_defer(struct worker *w, struct conn *c);

/* ---- conn.c: connections on their worker ---- */

/** Accept a new stream connection reported by the stack (refuses it over -c). */
void conn_accept(struct worker *w, struct stack_conn *sc);

/** The stack says @p c is readable (or at EOF): read, parse and execute what arrived. */
void conn_on_readable(struct worker *w, struct conn *c);

/** The stack says @p c can take output again. */
void conn_on_writable(struct worker *w, struct conn *c);

/**
 * Run a connection again: after its forwarded answers came back, to retry a write, or to run
 * requests its backlog held back once the backlog drained.
 */
void conn_resume(struct worker *w, struct conn *c);

/** A forwarded message of @p c came back on the done ring. */
void conn_answered(struct worker *w, struct fwd_msg *m);

/** Close and release every connection (shutdown). */
void conn_close_all(struct worker *w);

/**
 * Close the connections waiting for a request that sent none for more than @p timeout seconds
 * before @p now (--idle-timeout, as memcached's idle_kicks): not one with replies still to send,
 * with a request in progress (waiting for another worker, or a dump) or receiving a value (a
 * request line that stalls is kicked). Worker only.
 * @return the connections closed.
 */
unsigned conn_kick_idle(struct worker *w, nc_reltime_t now, unsigned timeout);

/**
 * Before a burst of UDP datagrams runs: find the keys of their reads and prefetch their index
 * buckets and items, shard by shard in bulk, so the cache misses of the burst overlap.
 */
void udp_prefetch(struct worker *w, const struct stack_dgram *d, unsigned n);

/**
 * Handle one UDP datagram (a request of one datagram; replies as numbered datagrams).
 * @p hint: its keys as udp_prefetch() digested and looked them up, or NULL. A datagram that
 * is one plain get of up to UDP_DIRECT_KEYS keys is answered without a connection
 * (udp_get_direct()) on @p d's bytes as they are (valid until the next stack_recv_dgrams);
 * should it need a connection after all, a get of one key still runs on those bytes, and any
 * other datagram is copied into the connection's buffer first.
 */
void conn_udp_datagram(struct worker *w, const struct stack_dgram *d,
		       const struct udp_key_hint *hint);

/**
 * A UDP request that runs on the stack's bytes (a plain get) is about to wait beyond the
 * datagram's burst (proxied to another member): copy the bytes into the connection's buffer
 * and point the request and its key there. Nothing to do for the others.
 * @return 0; -ENOMEM (the request must not wait then).
 */
int conn_udp_keep(struct conn *c);

/* ---- forward.c ---- */

/**
 * Post @p m to worker @p to's inbox and wake it if it sleeps.
 * @return 0; -ENOBUFS when the ring is full (try again next loop).
 */
int forward_post(struct worker *to, struct fwd_msg *m);

/**
 * [worker @p w] Post @p m back on its requester's done ring and wake the requester if it
 * sleeps (the ring has room for every message a worker can have out); when the requester is
 * @p w itself, on its own list instead (forward_collect() takes both).
 */
void forward_answer(struct worker *w, struct fwd_msg *m);

/** [owner] Execute the messages waiting in the inbox (and retries); returns how many. */
unsigned forward_serve(struct worker *w);

/** Take the answers on the done ring back to their connections; returns how many. */
unsigned forward_collect(struct worker *w);

/* ---- conn_dump.c: key dumps and per-prefix counters on a connection ---- */

/**
 * Answer `stats cachedump ...` (@p args after "stats ") or `lru_crawler ...` for c->req.
 * @return true when answered; false when the connection now streams a dump (CONN_DUMP).
 */
bool conn_stats_cachedump(struct worker *w, struct conn *c);
bool conn_lru_crawler(struct worker *w, struct conn *c);

/** Go on with c's dump: its next slice is due here, or c is writable. */
void conn_dump_resume(struct worker *w, struct conn *c);

/** A slice of c's dump came back from the shard's owner (FWD_DUMP): send it, go on. */
void conn_dump_answered(struct worker *w, struct conn *c);

/** [owner] FWD_DUMP: run the message's slice over this worker's shard. */
void dump_serve(struct worker *w, struct fwd_msg *m);

/**
 * Answer `stats detail ...` for c->req. @return true when answered; false when the
 * connection waits for every worker's counters (a broadcast of FWD_DETAIL).
 */
bool conn_stats_detail(struct worker *w, struct conn *c);

/** [this worker] FWD_DETAIL: a malloc'ed copy of this worker's entries into m->text. */
void detail_serve(struct worker *w, struct fwd_msg *m);

/** Merge an FWD_DETAIL answer into c->detail_sum; frees the copy. */
void detail_gathered(struct conn *c, struct fwd_msg *m);

/** The last FWD_DETAIL answer is back: reply with the merged counters. */
void conn_detail_reply(struct worker *w, struct conn *c);

/** conn_detail_note() with detail on: count @p req in this worker's per-prefix table. */
void conn_detail_record(struct worker *w, const struct proto_request *req,
			const struct proto_result *res);

/**
 * Count c->req (answered with @p res) in this worker's per-prefix table when detail is on.
 * Inline: with detail off, the usual case, it is one relaxed load.
 */
static inline void
conn_detail_note(struct worker *w, const struct proto_request *req, const struct proto_result *res)
{
	if (__atomic_load_n(&w->srv->detail_on, __ATOMIC_RELAXED))
		conn_detail_record(w, req, res);
}

/* ---- stats_report.c ---- */

/**
 * Build the reply to `stats [group]` for the request on @p c into res (name/value pairs in
 * the worker's stats buffers). Groups: general (none), settings, slabs, items, sizes, conns
 * (conns needs every worker: see conn.c), reset.
 * @return 0; -ENOENT for an unknown group (the writer answers as memcached).
 */
int stats_report(struct worker *w, const char *group, uint32_t group_len,
		 struct proto_result *res);

/** Sum every worker's counters into @p out (since the last `stats reset`). Any thread. */
void stats_sum_workers(const struct nc_server *srv, struct worker_stats *out);

/**
 * Build the reply to `stats conns` for @p c once every worker's lines are gathered in
 * c->bcast_text (this worker's first).
 * @return 0; -ENOMEM.
 */
int stats_report_conns(struct worker *w, struct conn *c, struct proto_result *res);

/**
 * Sum every shard's counters into @p out (counters since the last `stats reset`; gauges such
 * as curr_items and bytes as they are). Any thread (relaxed reads).
 */
void stats_sum_shards(const struct nc_server *srv, struct store_shard_stats *out);

/**
 * `stats reset`: every counter of `stats`, `stats items` and `stats slabs` counts from 0
 * again (the sums now become the base later reports subtract). Any thread.
 */
void stats_reset(struct nc_server *srv);

/** Format this worker's connections as "STAT <id>:<field> <value>\r\n" lines (malloc'ed). */
char *stats_conns_text(struct worker *w, uint32_t *len);

#endif /* NC_APP_WORKER_H */
