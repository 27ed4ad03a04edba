/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK UDP transport: the thread's queue pair (dpdk.h), a connection per UDP source port,
 * requests written straight into frames (lib/genlink) and sent a burst at a time, every
 * datagram received handed to the book (udp_book.h) as the kernel transport does. The thread
 * polls: it never sleeps between its start and its end. A request must fit one frame
 * (GENLINK_TEXT_MAX bytes of text; no IP fragments): a longer one counts as wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dpdk.h"
#include "genlink/link.h"
#include "proto.h"
#include "sock.h"
#include "transport.h"
#include "udp_book.h"

struct dudp {
	struct mcgen_thread *t;
	struct genlink *l;
	struct mcgen_udp_book *book;
	struct rte_mbuf *begun; /* the frame of the request being written */
	uint16_t ntx;
	struct rte_mbuf *tx[GENLINK_BURST];
};

static void
flush(struct dudp *x)
{
	if (x->ntx > 0)
		genlink_send(x->l, x->tx, x->ntx); /* frames not taken are lost: they time out */
	x->ntx = 0;
}

static char *
io_begin(void *arg, unsigned conn, uint16_t id, size_t *cap)
{
	struct dudp *x = arg;
	char *text;

	x->begun = genlink_begin(x->l, conn, id, &text);
	if (x->begun == NULL)
		return NULL;
	*cap = GENLINK_TEXT_MAX;
	return text;
}

static void
io_finish(void *arg, unsigned conn, size_t len)
{
	struct dudp *x = arg;

	(void)conn;
	if (len == 0) {
		rte_pktmbuf_free(x->begun);
	} else {
		genlink_finish(x->begun, (uint32_t)len);
		x->tx[x->ntx++] = x->begun;
		if (x->ntx == GENLINK_BURST)
			flush(x);
	}
	x->begun = NULL;
}

/* Receive a burst: replies to the book, the rest (ARP) handled by the link. */
static void
receive(struct dudp *x)
{
	struct rte_mbuf *pkts[GENLINK_BURST];
	uint16_t n = mcgen_dpdk_receive(x->t, x->l, pkts, GENLINK_BURST);
	uint64_t now = n > 0 ? mcgen_now_ns() : 0;
	struct genlink_dgram d;

	for (uint16_t i = 0; i < n; i++) {
		if (genlink_classify(x->l, pkts[i], &d) != GENLINK_RX_UDP)
			continue;
		mcgen_udp_book_input(x->book, d.port, d.id, d.seq, d.total, d.text, d.len, now);
		rte_pktmbuf_free(pkts[i]);
	}
}

static int
loop(struct dudp *x)
{
	const struct mcgen_udp_io io = {.arg = x, .begin = io_begin, .finish = io_finish};
	struct mcgen_thread *t = x->t;
	uint64_t now = mcgen_now_ns(), next_scan = now + MCGEN_SCAN_NS;

	for (;;) {
		mcgen_engine_tick(t, now);
		mcgen_udp_book_issue(x->book, now, &io);
		flush(x);
		if (!mcgen_engine_issuing(t, now) && t->inflight == 0)
			return 0;
		if (!mcgen_engine_issuing(t, now) && mcgen_engine_drain_over(t, now)) {
			mcgen_udp_book_scan(x->book, now, true);
			return 0;
		}
		receive(x);
		now = mcgen_now_ns();
		if (now >= next_scan) {
			next_scan = now + MCGEN_SCAN_NS;
			mcgen_udp_book_scan(x->book, now, false);
		}
	}
}

int
mcgen_dpdk_udp_run(struct mcgen_thread *t)
{
	struct dudp x = {.t = t};
	int rc = 0;

	if (t->run->dpdk == NULL) {
		snprintf(t->err, sizeof(t->err), "no DPDK port set up");
		rc = -EINVAL;
	} else {
		x.l = mcgen_dpdk_enter(t->run->dpdk, t->id, t->err, sizeof(t->err));
		if (x.l == NULL)
			rc = -EBUSY;
		else if (mcgen_udp_book_create(t, t->nconns, &x.book) < 0) {
			snprintf(t->err, sizeof(t->err), "out of memory");
			rc = -ENOMEM;
		}
	}
	mcgen_dpdk_ready(t, x.l);
	if (rc == 0)
		rc = loop(&x);
	mcgen_udp_book_destroy(&x.book);
	if (x.l != NULL)
		mcgen_dpdk_leave(t->run->dpdk, t, x.l);
	return rc;
}
