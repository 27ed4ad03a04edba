/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_CONN_H
#define NC_APP_CONN_H

/*
 * A client connection on its worker: the received bytes (chunks chained into a proto_input),
 * the protocol parser, the request being executed, and the reply bytes the socket has not
 * taken yet. A UDP datagram is handled as a short-lived connection of its own (is_udp), so
 * a request forwarded to another shard's owner resumes the same way for both transports.
 *
 * States: ACTIVE (parse and execute), WAITING (a write is at another shard's owner, or a
 * broadcast is out; the connection resumes, in order, when every answer is back), RETRY
 * (a write found memory still in a grace period; run again next loop), CLOSING (close once
 * nothing is out at other workers), DUMP (a key dump streams: one slice at a time runs on the
 * owner of the shard it walks, here on the deferred list or at another worker (acks_due 1);
 * each slice is sent before the next one is asked for; see conn_dump.c).
 *
 * Threads: a connection belongs to one worker; forwarded requests are read (never written)
 * by the owner while the connection waits.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "exec.h"
#include "proto/input.h"
#include "proto/parser.h"
#include "proto/peek.h"
#include "stack/stack.h"
#include "store/index.h"

struct worker;
struct conn;

/** A receive buffer; several input segments may point into one. */
struct rx_chunk {
	uint32_t refs; /* segments pointing into it, plus one while it is the tail */
	uint32_t fill; /* bytes received into it */
	uint32_t cap;
	uint8_t data[];
};

/** What a worker asks another worker to do. */
enum fwd_kind {
	FWD_WRITE, /* execute conn->req on the owner's shard */
	FWD_FLUSH, /* flush_all on the owner's shard */
	FWD_CONNS, /* describe the owner's connections (stats conns) */
	FWD_DUMP,  /* run the next slice of a key dump over the owner's shard */
	FWD_DETAIL, /* copy the owner's per-prefix counters (stats detail dump) */
	FWD_PROXY, /* (not on a ring) a request proxied to the key's primary came back */
};

struct dump;
struct detail_table;

/** A message on a worker's inbox ring and back on the requester's done ring. */
struct fwd_msg {
	enum fwd_kind kind;
	struct worker *from;
	struct conn *conn;
	const struct proto_request *req; /* FWD_WRITE: conn->req */
	const struct proto_input *in;	 /* FWD_WRITE: conn->in (the value's bytes) */
	struct store_key key;		 /* FWD_WRITE */
	int64_t delay;			 /* FWD_FLUSH */
	struct proto_result res;	 /* filled by the owner */
	struct exec_value copy;		 /* a returned value, copied by the owner */
	struct dump *dump;		 /* FWD_DUMP: conn->dump */
	char *text;			 /* FWD_CONNS: malloc'ed "STAT ..." lines by the owner;
					    FWD_DETAIL: a malloc'ed copy of its detail entries */
	uint32_t text_len;
	uint32_t retries;		 /* owner: attempts that found no memory ready */
	uint64_t room_mark;		 /* owner: store_shard_room_mark() at the last one */
	struct fwd_msg *next;		 /* owner's retry list */
};

enum conn_state {
	CONN_ACTIVE,
	CONN_WAITING,
	CONN_RETRY,
	CONN_CLOSING,
	CONN_DUMP,
};

/** Bytes of replies the stack has not taken yet (copied; sent in order before new ones). */
struct tx_backlog {
	uint8_t *buf;
	uint64_t head; /* first unsent byte */
	uint64_t len;  /* end of valid bytes */
	uint64_t cap;
};

/** Keys of one UDP datagram that the burst's prefetch reads ahead (its first ones). */
#define UDP_HINT_KEYS 4

/** Most keys of a plain get that udp_get_direct() answers (more go to a connection). */
#define UDP_DIRECT_KEYS 32

/** One read key of a UDP datagram as the burst's prefetch found it. */
struct udp_hint_key {
	uint32_t off;	      /* of the key in the datagram's payload (after the frame header) */
	uint32_t shard;	      /* cluster_key_shard() of the key */
	struct store_key key; /* digested; key.key points at the key in the received datagram */
	const struct item *found; /* what the index held for the key then, or NULL */
};

/**
 * The read keys of a UDP datagram (its first UDP_HINT_KEYS, in order), digested, routed and
 * looked up by the burst's prefetch so its requests do none of it again; for a plain text get
 * (the common datagram) all its keys as scanned, so none is scanned twice. Valid only until the
 * worker's next receive or RCU quiescent state (found is an item pointer): a connection uses
 * it while it runs the datagram and drops it if it must wait (store_get_found() says when
 * found may be trusted).
 */
struct udp_key_hint {
	uint8_t n;	      /* keys in k[] (0: none) */
	bool scanned;	      /* the prefetch read the datagram (else get_keys says nothing) */
	uint8_t get_keys;     /* the datagram is one plain get of get_keys keys, in keys[]
				 (text_get_keys(), at most UDP_DIRECT_KEYS); 0: it is not */
	uint64_t own_changes; /* store_shard_changes() of the worker's own shard then */
	struct udp_hint_key k[UDP_HINT_KEYS];
	struct proto_key_ref keys[UDP_DIRECT_KEYS]; /* into the received datagram */
};

struct conn {
	struct worker *w;
	struct stack_conn *sc;	   /* NULL for UDP */
	int id;			   /* stack_conn_id (fd) for logs and stats conns */
	bool is_udp;
	bool in_use;
	bool close_after_send;	   /* quit, or a CLOSE parse outcome */
	bool read_closed;	   /* the peer closed its side */
	bool udp_too_large;	   /* UDP: the reply passed --udp-reply-max; what came is dropped */
	bool on_list;		   /* on the worker's pending list */
	bool memory_wait;	   /* RETRY: its store found no memory (not a full ring) */
	uint64_t room_mark;	   /* memory_wait: store_shard_room_mark() when it failed */
	bool parse_held;	   /* conn_run stopped for the backlog with requests left: */
				   /* nothing more is read until they run */
	bool authed;		   /* may run requests: authentication off, or logged in */
	bool sasl_started;	   /* SASL PLAIN auth without a message: the step brings it */
	bool auth_skip;		   /* text token longer than CONN_AUTH_TOKEN_MAX: dropped */
	uint64_t auth_need;	   /* text token: its bytes (CRLF included) still due; 0: a line */
	enum conn_state state;
	uint32_t acks_due;	   /* WAITING: answers still out (writes: 1, broadcasts: N-1) */
	uint32_t retries;	   /* RETRY: attempts so far */
	nc_reltime_t last_cmd;	   /* relative time of the last request (stats conns) */
	uint64_t req_tsc;	   /* loop TSC when req arrived (latency.h) */
	char peer_name[64];	   /* "ip:port" */
	struct rx_chunk *tail;	   /* chunk receiving bytes now */
	struct store_key key;	   /* the key of req */
	unsigned key_shard;
	struct fwd_msg msg;	   /* FWD_WRITE (one at a time) */
	struct fwd_msg *bcast;	   /* broadcasts: one per other worker */
	char *bcast_text;	   /* stats conns: the lines gathered so far */
	uint32_t bcast_text_len;
	struct detail_table *detail_sum; /* stats detail dump: the tables merged so far */
	struct dump *dump;	   /* DUMP: the dump and its cursor (malloc'ed) */
	struct conn *next_free;
	struct conn *next_pending;
	/* UDP only: where the reply goes (udp_to: udp_peer, or the datagram's while lent) */
	const struct stack_addr *udp_to;
	struct stack_addr udp_peer;
	uint16_t udp_via;
	uint16_t udp_request_id;
	const struct udp_key_hint *hint; /* the datagram's keys while it runs, or NULL */
	const char *hint_base;		 /* where the keys lie now: the datagram, or udp_buf */
	uint8_t hint_next;		 /* the next key of hint the requests have not reached */
	const uint8_t *udp_lent; /* a plain get's bytes (and udp_to) where the stack has them */
	uint32_t udp_lent_len;	 /* (until its next receive: conn_udp_keep()); NULL: copied */

	/*
	 * From here on conn_get() clears only req: the other parts set themselves up (the
	 * parser when it sees the first byte, the input in proto_input_init, seg_chunk[i] and
	 * seg_lent[i] with segment i), so reusing a connection for every UDP datagram does not
	 * pay for clearing these 6 KB. Two buffers outlive a use: tx (conn_put empties it, and frees it unless a
	 * UDP context keeps it) and udp_buf (a datagram's request bytes).
	 */
	struct tx_backlog tx;
	uint8_t *udp_buf;
	uint32_t udp_buf_cap;
	struct proto_parser parser;
	struct proto_input in;
	struct rx_chunk *seg_chunk[PROTO_INPUT_SEGS_MAX]; /* chunk of each input segment, or */
	void *seg_lent[PROTO_INPUT_SEGS_MAX];		   /* the stack's (stack_recv_lend) */
	struct proto_request req;  /* the request being executed */
};

#endif /* NC_APP_CONN_H */
