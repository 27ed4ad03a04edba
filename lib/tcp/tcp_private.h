/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TCP_PRIVATE_H
#define NC_TCP_PRIVATE_H

/*
 * Inside lib/tcp: the connection and context structures and the functions the files call on
 * each other. Everything here runs on the context's own thread.
 *
 *   tcp.c        context lifecycle, connection table, the application calls
 *   input.c      segment arrival (RFC 9293 section 3.10.7), RST/SYN/ACK validation (RFC 5961)
 *   output.c     building and sending segments, the send buffer, retransmission
 *   recv.c       receive queue, out-of-order queue, the receive window
 *   cc.c         RTT estimation and RTO (RFC 6298), NewReno (RFC 5681, 6582, 6928)
 *   timer.c      the timer wheel and what each timer does
 *   isn.c        initial sequence numbers (RFC 6528) and SYN cookies
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "core/digest.h"
#include "tcp/tcp.h"

/* ---- sequence numbers (RFC 9293 section 3.4: modulo 2^32) ---- */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

#define TCP_F_FIN RTE_TCP_FIN_FLAG
#define TCP_F_SYN RTE_TCP_SYN_FLAG
#define TCP_F_RST RTE_TCP_RST_FLAG
#define TCP_F_PSH RTE_TCP_PSH_FLAG
#define TCP_F_ACK RTE_TCP_ACK_FLAG

/** MSS assumed when the peer sends none (RFC 9293 section 3.7.1). */
#define TCP_MSS_DEFAULT 536
/** Largest window scale shift (RFC 7323 section 2.3). */
#define TCP_WSCALE_MAX 14
/** Send-buffer entries (segments) per connection: bounds tiny replies sent one by one. */
#define TCP_SNDQ_SLOTS 512
/** Most SACK blocks in one of our ACKs (2 NOPs + kind + length + 4 x 8 = 36 option bytes). */
#define TCP_SACK_BLOCKS 4
/** Receive-queue entries per connection. */
#define TCP_RCVQ_SLOTS 512
/* Emptied queue slot arrays a context keeps for reuse, of each kind (64 x 8 KB each). */
#define TCP_SPARE_QUEUES 64
/** A received segment this short is copied onto the tail of the receive queue when it fits. */
#define TCP_RCV_COALESCE 512
/** Timer wheel: slots of 1 ms; a deadline further out waits for its round. */
#define TCP_WHEEL_SLOTS 1024
/** Initial RTO before any RTT sample (RFC 6298 section 2.1). */
#define TCP_RTO_INITIAL_US 1000000
/** Challenge ACKs sent per second per context at most (RFC 5961 section 10). */
#define TCP_CHALLENGE_PER_S 1000
/** Duplicate ACKs that trigger fast retransmit (RFC 5681). */
#define TCP_DUPACK_THRESH 3
/** Persist timer bounds. */
#define TCP_PERSIST_MIN_US 200000
#define TCP_PERSIST_MAX_US 60000000

/** One segment in the send buffer: its bytes (payload at RTE_PKTMBUF_HEADROOM) and sequence. */
struct tcp_snd_seg {
	struct rte_mbuf *m;
	uint32_t seq;
	uint16_t len;
	uint16_t sent; /* times sent (0: never; >1: retransmitted, so no RTT sample: Karn) */
};

/** One received in-order segment waiting to be read: bytes [off, off+len) of m's first segment chain. */
struct tcp_rcv_seg {
	struct rte_mbuf *m;
	uint32_t off; /* from the packet data start */
	uint32_t len;
};

/** An out-of-order segment: payload bytes [off, off + len) of m, starting at sequence seq. */
struct tcp_ooo_seg {
	struct rte_mbuf *m;
	uint32_t off;
	uint32_t seq;
	uint32_t len;
	bool fin;
};

/** Timers of one connection; 0 = not armed. Deadlines in µs. */
enum tcp_timer_kind {
	TCP_T_RTO,     /* retransmission (also SYN and SYN-ACK, and FIN) */
	TCP_T_PERSIST, /* zero-window probe */
	TCP_T_DELACK,  /* delayed ACK */
	TCP_T_END,     /* TIME_WAIT or orphaned FIN_WAIT_2 ends */
	TCP_T_MAX
};

struct tcp_conn {
	/* identity (network order) */
	rte_be32_t rip;
	rte_be16_t rport;
	rte_be16_t lport;
	uint32_t hash;
	int id;			/* slot in t->conns */
	uint64_t serial;	/* t->made when it was made: tells incarnations of a 4-tuple apart */
	struct tcp_conn *hnext; /* table chain */
	enum tcp_state state;

	/* the application's side */
	void *user;
	bool orphan;	     /* tcp_close() was called: no events, the handle is gone */
	bool reported;	     /* ACCEPTED / CONNECTED reported */
	bool passive;
	bool want_writable;
	bool on_ready;	     /* on t->ready */
	bool on_pending;     /* on t->pending (output to consider at tcp_flush) */
	bool shut_wr;	     /* no more sends: a FIN follows the send buffer */
	bool fin_sent;
	bool rcv_fin;	     /* FIN received (in order) */
	bool cookie;	     /* created from a SYN cookie: no window scaling */
	bool ack_now;	     /* an ACK must go out at the next flush */
	bool ack_delayed;    /* data received, ACK owed (may wait for the delayed-ACK timer) */
	int err;	     /* negative errno once failed (-ECONNRESET, -ETIMEDOUT, ...) */
	struct tcp_conn *ready_next;
	struct tcp_conn *pending_next;

	/* send sequence space */
	uint32_t iss;
	uint32_t snd_una;
	uint32_t snd_nxt;
	uint32_t snd_max; /* highest sequence sent + 1 */
	uint32_t snd_wnd; /* peer's window, scaled */
	uint32_t snd_wl1, snd_wl2;
	uint32_t max_snd_wnd; /* largest window the peer offered (RFC 5961 ACK check) */
	uint16_t mss;	      /* we send at most this much payload per segment */
	uint8_t snd_wscale;   /* peer's shift */
	uint8_t rcv_wscale;   /* ours */
	bool wscale_ok;	      /* both sides sent the option */
	bool sack_ok;	      /* SACK permitted both ways (RFC 2018): our ACKs carry SACK blocks */

	/* send buffer: TCP_SNDQ_SLOTS ring of segments, oldest at sndq_head */
	struct tcp_snd_seg *sndq;
	uint16_t sndq_head, sndq_n;
	uint16_t sndq_next;  /* index (from head) of the first segment at or after snd_nxt */
	uint32_t snd_bytes;  /* bytes in the send buffer (sent or not) */
	uint32_t snd_end;    /* sequence after the last byte in the send buffer */

	/* receive sequence space */
	uint32_t irs;
	uint32_t rcv_nxt;
	uint32_t rcv_adv; /* right edge of the window we last advertised */
	uint32_t rcv_bytes;
	struct tcp_rcv_seg *rcvq;
	uint16_t rcvq_head, rcvq_n;
	struct tcp_ooo_seg *ooo;
	uint16_t ooo_n;
	uint32_t ooo_last; /* sequence of the latest out-of-order segment (first SACK block) */
	uint32_t segs_unacked; /* full segments received since our last ACK */

	/* RTT and retransmission (RFC 6298) */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t rtt_seq; /* timing the segment ending here; valid while rtt_ts != 0 */
	uint64_t rtt_ts;
	uint32_t backoff; /* consecutive timeouts */
	uint32_t persist_backoff;

	/* congestion control (RFC 5681, 6582) */
	uint32_t cwnd, ssthresh;
	uint32_t dupacks;
	uint32_t recover;
	bool in_recovery;
	uint32_t bytes_acked; /* congestion avoidance byte counting */

	/* timers */
	uint64_t timer[TCP_T_MAX];
	uint64_t wheel_at;	 /* the deadline the connection is filed under in the wheel (0: not) */
	struct tcp_conn *wnext;	 /* wheel slot list */
	struct tcp_conn **wprev; /* the pointer that points at us */
	struct tcp_conn *tw_next, *tw_prev; /* TIME_WAIT list, oldest first */
};

struct tcp_ctx {
	struct tcp_counters cnt; /* first: its own cache lines */
	struct tcp_params p;
	struct nc_digest_key isn_key; /* p.secret expanded: the ISN and SYN-cookie hash key */
	uint16_t mss_local;    /* mtu - 40 */
	uint8_t rcv_wscale;    /* the shift we offer */
	uint32_t hash_mask;
	struct tcp_conn **hash; /* connection table buckets */
	struct tcp_conn **conns; /* slot -> connection (ids), max_conns + time_wait_max */
	uint32_t nslots;
	uint32_t *free_ids;
	uint32_t nfree;
	uint32_t nconns;	 /* not TIME_WAIT */
	uint32_t nsyn_rcvd;
	uint32_t ntw;
	uint32_t mbufs;		 /* mbufs held in queues (budget) */
	uint64_t made;		 /* connections made so far (each one's serial) */
	struct tcp_conn *tw_head, *tw_tail;
	struct tcp_conn *ready;	  /* connections with something to report */
	struct tcp_conn *pending; /* connections with output to consider */
	uint16_t next_port;	  /* active open: next ephemeral port to try (host order) */
	/* timer wheel */
	struct tcp_conn *wheel[TCP_WHEEL_SLOTS];
	uint64_t wheel_ms;	/* the last millisecond processed */
	uint32_t wheel_n;	/* connections in the wheel */
	uint64_t now_us;	/* time of the call being served */
	/* RFC 5961 challenge ACK rate limit */
	uint64_t challenge_s;
	uint32_t challenge_n;
	/*
	 * Slot arrays of queues that emptied, for the next connection that needs one: an idle
	 * connection holds no queue (16 KB less each), a busy one takes and gives back a
	 * cached array instead of calloc/free per request.
	 */
	void *spare_rcvq[TCP_SPARE_QUEUES];
	void *spare_sndq[TCP_SPARE_QUEUES];
	uint16_t nspare_rcvq, nspare_sndq;
	uint32_t nqueues; /* slot arrays connections hold (the gauge) */
};

/* ---- tcp.c ---- */
/** Give @p c a receive queue slot array (a spare one, else new). @return 0 or -ENOMEM. */
int tcp_rcvq_get(struct tcp_ctx *t, struct tcp_conn *c);
/** @p c's receive queue is empty: its slot array goes back to the spares (or is freed). */
void tcp_rcvq_put(struct tcp_ctx *t, struct tcp_conn *c);
/** Give @p c a send queue slot array (a spare one, else new). @return 0 or -ENOMEM. */
int tcp_sndq_get(struct tcp_ctx *t, struct tcp_conn *c);
/** @p c's send queue is empty: its slot array goes back to the spares (or is freed). */
void tcp_sndq_put(struct tcp_ctx *t, struct tcp_conn *c);
struct tcp_conn *tcp_lookup(struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport,
			    rte_be16_t lport);
/** A new connection in @p state, filed in the table. @return NULL when the table is full. */
struct tcp_conn *tcp_conn_new(struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport,
			      rte_be16_t lport, enum tcp_state state);
/** Free @p c and everything it holds, removing it from every list. */
void tcp_conn_free(struct tcp_ctx *t, struct tcp_conn *c);
/** @p c's life is over: freed when orphaned, else CLOSED until the application closes it. */
void tcp_conn_finish(struct tcp_ctx *t, struct tcp_conn *c);
/** Move @p c to @p state (keeps the SYN_RECEIVED and TIME_WAIT counts and lists right). */
void tcp_set_state(struct tcp_ctx *t, struct tcp_conn *c, enum tcp_state state);
/** The connection failed with @p err: the application learns it, or it is freed if orphaned. */
void tcp_conn_fail(struct tcp_ctx *t, struct tcp_conn *c, int err);
/** Put @p c on the ready list (something to report to the application). */
void tcp_mark_ready(struct tcp_ctx *t, struct tcp_conn *c);
/** Put @p c on the pending list (output to consider at the next tcp_flush). */
void tcp_mark_pending(struct tcp_ctx *t, struct tcp_conn *c);
/** Enter TIME_WAIT (2 MSL, bounded count). */
void tcp_enter_time_wait(struct tcp_ctx *t, struct tcp_conn *c);

/* ---- output.c ---- */
/** Send a segment with no payload: @p flags at @p seq, ACKing rcv_nxt when ACK is set. */
int tcp_send_ctl(struct tcp_ctx *t, struct tcp_conn *c, uint8_t flags, uint32_t seq);
/** Send SYN or SYN-ACK with our options (MSS, window scale). */
int tcp_send_syn(struct tcp_ctx *t, struct tcp_conn *c);
/** An RST answering a segment that has no connection (RFC 9293 section 3.10.7.1). */
void tcp_send_reset(struct tcp_ctx *t, rte_be32_t dst_ip, rte_be16_t dport, rte_be16_t sport,
		    uint32_t seq, uint32_t ack, bool with_ack);
/** Send what the windows allow; ACK if one is owed and due. @return segments sent. */
unsigned tcp_output(struct tcp_ctx *t, struct tcp_conn *c);
/** Retransmit the first unacknowledged segment (or SYN/FIN). @return 0 or -errno. */
int tcp_retransmit_first(struct tcp_ctx *t, struct tcp_conn *c);
/** Drop what @p ack acknowledges from the send buffer. @return bytes acknowledged. */
uint32_t tcp_sndq_ack(struct tcp_ctx *t, struct tcp_conn *c, uint32_t ack);
/** Free the whole send buffer. */
void tcp_sndq_clear(struct tcp_ctx *t, struct tcp_conn *c);
/** Bytes sent and not yet acknowledged. */
static inline uint32_t
tcp_flight(const struct tcp_conn *c)
{
	return c->snd_nxt - c->snd_una;
}
/** The window we advertise now, unscaled bytes. */
uint32_t tcp_rcv_window(const struct tcp_ctx *t, const struct tcp_conn *c);

/* ---- recv.c ---- */
/** Accept payload [seq, seq+len) of @p m at @p off (and FIN); @return true if m was kept. */
bool tcp_rcv_data(struct tcp_ctx *t, struct tcp_conn *c, struct rte_mbuf *m, uint32_t off,
		  uint32_t seq, uint32_t len, bool fin);
/** Free the receive and out-of-order queues. */
void tcp_rcvq_clear(struct tcp_ctx *t, struct tcp_conn *c);

/* ---- cc.c ---- */
void tcp_cc_init(struct tcp_ctx *t, struct tcp_conn *c);
/** An RTT sample of @p rtt_us (RFC 6298 section 2). */
void tcp_rtt_sample(struct tcp_ctx *t, struct tcp_conn *c, uint64_t rtt_us);
/** New data acknowledged: grow cwnd or leave recovery. */
void tcp_cc_ack(struct tcp_ctx *t, struct tcp_conn *c, uint32_t acked, uint32_t ack);
/** A duplicate ACK: enter fast retransmit / recovery at the third. */
void tcp_cc_dupack(struct tcp_ctx *t, struct tcp_conn *c);
/** A retransmission timeout. */
void tcp_cc_timeout(struct tcp_ctx *t, struct tcp_conn *c);

/* ---- timer.c ---- */
/** Arm (@p at_us > 0) or stop (0) timer @p k of @p c. */
void tcp_timer_set(struct tcp_ctx *t, struct tcp_conn *c, enum tcp_timer_kind k, uint64_t at_us);
/** Take @p c out of the wheel. */
void tcp_timer_remove(struct tcp_ctx *t, struct tcp_conn *c);
/** Arm the retransmission timer at now + rto (<< backoff), unless it is already armed. */
void tcp_rto_arm(struct tcp_ctx *t, struct tcp_conn *c, bool restart);

/* ---- isn.c ---- */
uint32_t tcp_isn(const struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport, rte_be16_t lport,
		 uint64_t now_us);
/** The SYN cookie (our ISS) for a SYN with sequence @p seq offering @p mss. */
uint32_t tcp_cookie_make(const struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport,
			 rte_be16_t lport, uint32_t seq, uint16_t mss, uint64_t now_us);
/**
 * Check cookie @p cookie (ACK - 1) of an ACK whose sequence is @p seq (the SYN's + 1).
 * @return the MSS it encodes, or 0 when it is not valid (wrong, or older than 2 minutes).
 */
uint16_t tcp_cookie_check(const struct tcp_ctx *t, rte_be32_t rip, rte_be16_t rport,
			  rte_be16_t lport, uint32_t seq, uint32_t cookie, uint64_t now_us);

/* ---- counters ---- */
#define TCP_CNT(t, name, n) TCP_COUNT(&(t)->cnt, name, n)

#endif /* NC_TCP_PRIVATE_H */
