/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_TCP_COUNTERS_H
#define NC_TCP_COUNTERS_H

/*
 * Counters of one TCP context (one worker's queue). One X-macro list gives the enum, the
 * struct and the names shown by `stats tcp` and the /nicached/tcp telemetry command. The
 * context's thread is the only writer (relaxed stores); readers on other threads use relaxed
 * loads and sum contexts.
 */

#include <stdint.h>

#include <rte_common.h>

/* X(name, description) */
#define TCP_COUNTERS(X)                                                                            \
	X(active_opens, "connections opened by us (SYN sent)")                                     \
	X(passive_opens, "connections opened by peers (SYN accepted)")                            \
	X(established, "connections that reached ESTABLISHED")                                    \
	X(attempt_fails, "opens that failed (refused, timed out, reset in SYN states)")            \
	X(resets_in, "RST segments accepted from peers")                                           \
	X(resets_out, "RST segments sent")                                                         \
	X(segs_in, "segments received")                                                            \
	X(segs_out, "segments sent (retransmissions included; TSO frames count their segments)")  \
	X(tso_frames, "frames of several segments sent for the NIC to cut (TSO)")                 \
	X(bytes_in, "payload bytes accepted in order")                                             \
	X(lent_segs, "received segments lent to the application without a copy")                 \
	X(bytes_out, "payload bytes sent for the first time")                                      \
	X(retrans_segs, "segments retransmitted")                                                  \
	X(fast_retrans, "fast retransmissions (three duplicate ACKs or a NewReno partial ACK)")    \
	X(timeouts, "retransmission timeouts")                                                     \
	X(aborts_timeout, "connections aborted after the retry limit")                             \
	X(ooo_segs, "out-of-order segments kept for reassembly")                                   \
	X(ooo_dropped, "out-of-order segments dropped (queue or mbuf budget full)")                \
	X(overlap_trims, "segments cut where they overlap bytes held out of order (first wins)")    \
	X(dup_acks, "duplicate ACKs received")                                                     \
	X(dup_segs, "segments (or parts) received again: already acknowledged")                    \
	X(zero_window_probes, "zero-window probes sent (persist timer)")                           \
	X(window_full_drops, "segment bytes beyond our receive window dropped")                    \
	X(delayed_acks, "ACKs sent by the delayed-ACK timer")                                      \
	X(challenge_acks, "challenge ACKs sent (RFC 5961: in-window RST/SYN, bad ACK)")            \
	X(syn_cookies_sent, "SYN-ACKs sent with a SYN cookie (SYN queue full)")                    \
	X(syn_cookies_ok, "connections established from a valid SYN cookie")                      \
	X(syn_cookies_bad, "ACKs with a SYN cookie that did not check out")                        \
	X(syn_queue_overflow, "SYNs that found the SYN queue full")                                \
	X(conn_table_full, "SYNs refused: the connection table was full")                          \
	X(time_wait_reused, "TIME_WAIT connections replaced by a new SYN (RFC 6191 style)")        \
	X(time_wait_recycled, "TIME_WAIT connections ended early to stay under the bound")         \
	X(bad_segs, "segments dropped: unacceptable sequence, bad ACK, or no connection")          \
	X(bad_hdr, "of bad_segs: too short, a data offset outside the segment, not to our address") \
	X(bad_syn, "of bad_segs: a SYN-ACK or SYN+FIN to a listener, no SYN where one must be")     \
	X(bad_ack, "of bad_segs: an ACK for data not sent, or older than the window allows")        \
	X(bad_seq, "of bad_segs: an RST outside the receive window (RFC 5961)")                   \
	X(no_ack, "of bad_segs: no ACK flag on a synchronized connection")                         \
	X(no_conn, "of bad_segs: no connection for it (answered with an RST where due)")          \
	X(no_mbuf, "segments not sent or kept: no mbuf, or the context's mbuf budget")

enum tcp_counter {
#define TCP_COUNTER_ENUM(name, desc) TCP_C_##name,
	TCP_COUNTERS(TCP_COUNTER_ENUM)
#undef TCP_COUNTER_ENUM
	TCP_C_MAX
};

/** One context's counters (one writer: the context's thread). */
struct tcp_counters {
	uint64_t c[TCP_C_MAX];
} __rte_cache_aligned;

/** Add @p n to counter @p name of the caller's own block (relaxed store; one writer). */
#define TCP_COUNT(cnt, name, n)                                                                    \
	__atomic_store_n(&(cnt)->c[TCP_C_##name],                                                  \
			 __atomic_load_n(&(cnt)->c[TCP_C_##name], __ATOMIC_RELAXED) + (n),         \
			 __ATOMIC_RELAXED)

/** The name of counter @p c ("active_opens"), or NULL when out of range. */
const char *tcp_counter_name(enum tcp_counter c);

/** Add every counter of @p from to @p to (relaxed loads of @p from). Any thread. */
void tcp_counters_add(struct tcp_counters *to, const struct tcp_counters *from);

#endif /* NC_TCP_COUNTERS_H */
