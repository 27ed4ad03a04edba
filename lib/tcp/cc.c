/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RTT estimation and the retransmission timeout (RFC 6298), congestion control: slow start
 * and congestion avoidance (RFC 5681, with byte counting), fast retransmit and NewReno fast
 * recovery (RFC 6582). The initial window (RFC 6928) is set when the handshake completes.
 */
#include "tcp_private.h"

static inline uint32_t
max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

void
tcp_cc_init(struct tcp_ctx *t, struct tcp_conn *c)
{
	c->mss = TCP_MSS_DEFAULT;
	c->rto_us = TCP_RTO_INITIAL_US;
	if (c->rto_us < t->p.rto_min_ms * 1000u)
		c->rto_us = t->p.rto_min_ms * 1000u;
	c->cwnd = 2u * TCP_MSS_DEFAULT;
	c->ssthresh = UINT32_MAX / 2;
}

void
tcp_rtt_sample(struct tcp_ctx *t, struct tcp_conn *c, uint64_t rtt_us)
{
	uint32_t r = rtt_us > 60000000 ? 60000000 : (uint32_t)rtt_us;
	uint64_t rto;

	if (r == 0)
		r = 1;
	if (c->srtt_us == 0) {
		c->srtt_us = r;
		c->rttvar_us = r / 2;
	} else {
		uint32_t diff = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;

		c->rttvar_us = (3 * c->rttvar_us + diff) / 4;
		c->srtt_us = (7 * c->srtt_us + r) / 8;
	}
	/* RTO = SRTT + max(G, 4 RTTVAR), G = 1 ms here; clamped to [rto_min, rto_max]. */
	rto = (uint64_t)c->srtt_us + max_u32(1000, 4 * c->rttvar_us);
	if (rto < t->p.rto_min_ms * 1000ull)
		rto = t->p.rto_min_ms * 1000ull;
	if (rto > t->p.rto_max_ms * 1000ull)
		rto = t->p.rto_max_ms * 1000ull;
	c->rto_us = (uint32_t)rto;
}

void
tcp_cc_ack(struct tcp_ctx *t, struct tcp_conn *c, uint32_t acked, uint32_t ack)
{
	if (c->in_recovery) {
		if (SEQ_GEQ(ack, c->recover)) {
			/* Full acknowledgment (RFC 6582 3.2 step 3): deflate the window. */
			uint32_t flight = tcp_flight(c);

			c->cwnd = c->ssthresh < max_u32(flight, c->mss) + c->mss ?
					  c->ssthresh :
					  max_u32(flight, c->mss) + c->mss;
			c->in_recovery = false;
			c->dupacks = 0;
		} else {
			/* Partial acknowledgment (step 4): the next hole goes out now. */
			TCP_CNT(t, fast_retrans, 1);
			tcp_retransmit_first(t, c);
			c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
			if (acked >= c->mss)
				c->cwnd += c->mss;
			if (c->cwnd < c->mss)
				c->cwnd = c->mss;
		}
		return;
	}
	c->dupacks = 0;
	if (c->cwnd < c->ssthresh) {
		c->cwnd += acked < c->mss ? acked : c->mss; /* slow start */
	} else {
		c->bytes_acked += acked; /* congestion avoidance: one MSS per window acked */
		if (c->bytes_acked >= c->cwnd) {
			c->bytes_acked -= c->cwnd;
			c->cwnd += c->mss;
		}
	}
	if (c->cwnd > (1u << 30))
		c->cwnd = 1u << 30;
}

void
tcp_cc_dupack(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->in_recovery) {
		c->cwnd += c->mss; /* each further duplicate: one more segment has left */
		tcp_mark_pending(t, c);
		return;
	}
	if (++c->dupacks != TCP_DUPACK_THRESH)
		return;
	/* RFC 6582 section 3.2 step 2: only if this loss is after the last recovery. */
	if (!SEQ_GT(c->snd_una - 1, c->recover) && c->recover != 0)
		return;
	c->ssthresh = max_u32(tcp_flight(c) / 2, 2u * c->mss);
	c->recover = c->snd_max;
	c->in_recovery = true;
	TCP_CNT(t, fast_retrans, 1);
	tcp_retransmit_first(t, c);
	c->cwnd = c->ssthresh + TCP_DUPACK_THRESH * c->mss;
	tcp_rto_arm(t, c, true);
}

void
tcp_cc_timeout(struct tcp_ctx *t, struct tcp_conn *c)
{
	(void)t;
	c->ssthresh = max_u32(tcp_flight(c) / 2, 2u * c->mss);
	c->cwnd = c->mss; /* loss window (RFC 5681 section 3.1) */
	c->in_recovery = false;
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->bytes_acked = 0;
}
