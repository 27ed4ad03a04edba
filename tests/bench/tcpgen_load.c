/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nc_udpgen --proto tcp: the closed loop over TCP, through the project's own TCP (lib/tcp) in
 * active open, on the same link as the UDP load (one DPDK port, frames built by hand).
 *
 * --conns connections, each keeping --window requests pipelined: a ring of the requests sent
 * and not yet answered, oldest first, since a stream answers in order. The replies are cut
 * out of the byte stream by their own framing (a line; for `VALUE <key> <flags> <bytes>` the
 * data block and the END line after it) and each is checked byte for byte against what its
 * request must get (udpgen_text.c). A reply frees a place in the window, which builds the
 * next request at once; the requests a turn of the loop built for a connection go to
 * tcp_sendv() together, and tcp_flush() sends them, ACKs riding on them, at the end of the
 * turn, with every frame of the turn in one TX burst.
 *
 * lib/tcp sits on the link through genlink/tcplink.h (shared with mcgen -x dpdk-tcp): the
 * segments it sends get their IPv4 and Ethernet headers and both checksums in software;
 * received segments have theirs checked by the link, which hands them to tcp_input() also
 * while the program idles or reads the server's `stats` over UDP (so ACKs and
 * retransmissions go on then).
 *
 * A stream cannot skip a reply: a request unanswered for TIMEOUT_MS (retransmissions had that
 * long) fails its connection (RST), and so do a reset, an EOF or an unparsable stream; the
 * requests it held count as timeouts. The run then fails (nc_udpgen.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "genlink/tcplink.h"
#include "tcp/tcp.h"
#include "udpgen.h"

#define TIMEOUT_MS   2000 /* RTO is 200 ms at least: room for a few retransmissions */
#define CONNECT_S    5
#define CLOSE_MS     200 /* at the end: time for the FIN exchanges */
#define IN_CAP	     (64 * 1024)
#define EVENTS	     64
#define LINE_MAX_LEN 1024 /* a reply line longer than this: the stream is not memcached's */

/* A request sent (or built) and not yet answered. */
struct req {
	uint64_t sent; /* TSC */
	uint32_t key;
	bool set;
};

struct tconn {
	struct tcp_conn *c; /* NULL once failed or closed */
	unsigned id;
	uint32_t window;
	struct req *q; /* ring of window requests, the oldest unanswered at head */
	uint32_t head, n;
	char *out; /* requests built, not yet taken by tcp_sendv() */
	uint32_t out_len;
	char *in; /* received bytes not yet a whole reply */
	uint32_t in_len, in_cap;
	bool up;
};

struct tcpgen_load {
	struct udpgen_loop lp; /* first: the load is its loop */
	struct genlink_tcp *g; /* lib/tcp on the link (genlink/tcplink.h) */
	struct tcp_ctx *t;
	struct tconn *conns;
	uint32_t nconns, nup;
};

/* ---- connections ---- */

/* Fails @p k: RST (when still open), its requests counted as timeouts. */
static void
conn_fail(struct tcpgen_load *ld, struct tconn *k, const char *why, uint64_t *c)
{
	fprintf(stderr, "nc_udpgen: connection %u: %s (%u requests unanswered)\n", k->id, why,
		k->n);
	c[UDPGEN_C_timeouts] += k->n;
	ld->lp.inflight -= k->n;
	k->n = 0;
	k->out_len = 0;
	if (k->c != NULL)
		tcp_abort(ld->t, k->c);
	k->c = NULL;
	ld->nup -= k->up;
	k->up = false;
	ld->lp.stuck = ++ld->lp.failed == ld->nconns;
}

/* Builds the next request of @p k, if the phase has one. */
static void
conn_next(struct tcpgen_load *ld, struct tconn *k, uint64_t now, uint64_t *c)
{
	struct req *r = &k->q[(k->head + k->n) % k->window];

	if (!k->up || k->n >= k->window || !udpgen_loop_pick(&ld->lp, &r->key, &r->set))
		return;
	r->sent = now;
	k->out_len += udpgen_text_request(&ld->lp.x, k->out + k->out_len, r->key, r->set);
	k->n++;
	ld->lp.inflight++;
	c[UDPGEN_C_requests]++;
}

/* Fills the window of @p k. */
static void
conn_fill(struct tcpgen_load *ld, struct tconn *k, uint64_t now, uint64_t *c)
{
	for (uint32_t n = k->n; n < k->window; n++)
		conn_next(ld, k, now, c);
}

/* Hands what @p k built to its send buffer. */
static void
conn_send(struct tcpgen_load *ld, struct tconn *k, uint64_t *c)
{
	struct iovec iov = {.iov_base = k->out, .iov_len = k->out_len};
	ssize_t r;

	if (k->out_len == 0 || !k->up)
		return;
	r = tcp_sendv(ld->t, k->c, &iov, 1);
	if (r == -EPIPE) {
		conn_fail(ld, k, "cannot send any more", c);
	} else if (r > 0) {
		/* The rest (send buffer full) waits for the next turn. */
		k->out_len -= (uint32_t)r;
		memmove(k->out, k->out + r, k->out_len);
	}
}

/*
 * The length of the reply at the start of @p p (@p n bytes): one line, or for a VALUE line
 * the line, its data block and the END line. 0 when incomplete.
 */
static uint32_t
reply_len(const char *p, uint32_t n)
{
	const char *nl = memchr(p, '\n', n < LINE_MAX_LEN ? n : LINE_MAX_LEN);
	uint32_t line, need = 0;
	const char *sp;

	if (nl == NULL)
		return n >= LINE_MAX_LEN ? n : 0; /* garbage: the check fails it */
	line = (uint32_t)(nl - p) + 1;
	if (line < 8 || memcmp(p, "VALUE ", 6) != 0 || p[line - 2] != '\r')
		return line;
	for (sp = nl - 2; sp > p && *sp != ' '; sp--)
		;
	for (const char *d = sp + 1; d < nl - 1; d++) {
		if (*d < '0' || *d > '9' || need > IN_CAP)
			return line;
		need = need * 10 + (uint32_t)(*d - '0');
	}
	need += line + 2 + 5; /* data, "\r\n", "END\r\n" */
	return need <= n ? need : 0;
}

/* Checks the reply at @p t against the oldest request of @p k; builds the next request. */
static void
reply_input(struct tcpgen_load *ld, struct tconn *k, const char *t, uint32_t len, uint64_t now,
	    uint64_t *c)
{
	struct req *r;

	if (k->n == 0) {
		c[UDPGEN_C_verify_failed]++; /* a reply to nothing */
		return;
	}
	r = &k->q[k->head];
	k->head = (k->head + 1) % k->window;
	k->n--;
	ld->lp.inflight--;
	c[UDPGEN_C_replies]++;
	udpgen_text_check(&ld->lp.x, r->key, r->set, t, len, c);
	conn_next(ld, k, now, c);
}

/* Reads what @p k received and checks every whole reply in it. */
static void
conn_read(struct tcpgen_load *ld, struct tconn *k, uint64_t now, uint64_t *c)
{
	for (;;) {
		ssize_t r = tcp_recv(ld->t, k->c, k->in + k->in_len, k->in_cap - k->in_len);
		uint32_t pos = 0, len;

		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			conn_fail(ld, k, r == 0 ? "closed by the server" : strerror((int)-r), c);
			return;
		}
		k->in_len += (uint32_t)r;
		while (pos < k->in_len && (len = reply_len(k->in + pos, k->in_len - pos)) > 0) {
			reply_input(ld, k, k->in + pos, len, now, c);
			pos += len;
		}
		k->in_len -= pos;
		memmove(k->in, k->in + pos, k->in_len);
		if (k->in_len == k->in_cap) {
			conn_fail(ld, k, "a reply longer than the receive buffer", c);
			return;
		}
	}
}

/* Handles lib/tcp's events. */
static void
events(struct tcpgen_load *ld, uint64_t now, uint64_t *c)
{
	struct tcp_event ev[EVENTS];
	unsigned n;

	do {
		n = tcp_events(ld->t, ev, EVENTS);
		for (unsigned i = 0; i < n; i++) {
			struct tconn *k = ev[i].user;

			if (k == NULL || k->c != ev[i].conn)
				continue;
			if (ev[i].kind == TCP_EV_CONNECTED) {
				k->up = true;
				ld->nup++;
				conn_fill(ld, k, now, c);
			} else if (ev[i].kind == TCP_EV_READABLE) {
				conn_read(ld, k, now, c);
			}
		}
	} while (n == EVENTS);
}

/* Fails the connections whose oldest request is older than the timeout. */
static void
timeouts_scan(struct tcpgen_load *ld, uint64_t now, uint64_t *c)
{
	for (uint32_t i = 0; i < ld->nconns; i++) {
		struct tconn *k = &ld->conns[i];

		if (k->n > 0 && now - k->q[k->head].sent > ld->lp.timeout)
			conn_fail(ld, k, "no reply in time", c);
	}
}

/* One turn: a receive burst through lib/tcp, the replies, the requests, flush and TX burst. */
static uint64_t
pump(struct udpgen_loop *lp, uint64_t *c)
{
	struct tcpgen_load *ld = (struct tcpgen_load *)lp;
	struct rte_mbuf *pkts[GENLINK_BURST];
	uint16_t n = rte_eth_rx_burst(lp->l->port_id, lp->l->queue_id, pkts, GENLINK_BURST);
	uint64_t now = rte_get_tsc_cycles();
	struct genlink_dgram d;

	for (uint16_t i = 0; i < n; i++)
		if (genlink_classify(lp->l, pkts[i], &d) == GENLINK_RX_UDP)
			rte_pktmbuf_free(pkts[i]); /* a straggling stats datagram */
	events(ld, now, c);
	if (now >= lp->next_scan) {
		timeouts_scan(ld, now, c);
		lp->next_scan = now + lp->scan_every;
	}
	for (uint32_t i = 0; i < ld->nconns; i++)
		conn_send(ld, &ld->conns[i], c);
	genlink_tcp_turn(ld->g);
	return now;
}

/* A phase starts: every window filled. */
static void
fill(struct udpgen_loop *lp, uint64_t now, uint64_t *c)
{
	struct tcpgen_load *ld = (struct tcpgen_load *)lp;

	for (uint32_t i = 0; i < ld->nconns; i++)
		conn_fill(ld, &ld->conns[i], now, c);
}

static void
print(const struct udpgen_loop *lp)
{
	const struct tcpgen_load *ld = (const struct tcpgen_load *)lp;
	const struct tcp_counters *tc = tcp_counters(ld->t);

	printf("TCP conns=%u failed=%u out_errors=%" PRIu64, ld->nconns, lp->failed,
	       genlink_tcp_out_errors(ld->g));
	for (unsigned i = 0; i < TCP_C_MAX; i++)
		if (tc->c[i] != 0)
			printf(" %s=%" PRIu64, tcp_counter_name((enum tcp_counter)i), tc->c[i]);
	fputs("\n", stdout);
}

/* Closes the connections (FIN), gives the exchanges a moment, frees everything. */
static void
destroy(struct udpgen_loop *lp)
{
	struct tcpgen_load *ld = (struct tcpgen_load *)lp;

	if (ld->g != NULL) {
		lp->issuing = false;
		for (uint32_t i = 0; i < ld->nconns; i++)
			if (ld->conns[i].c != NULL)
				tcp_close(ld->t, ld->conns[i].c);
		genlink_tcp_destroy(&ld->g, CLOSE_MS);
	}
	for (uint32_t i = 0; ld->conns != NULL && i < ld->nconns; i++) {
		free(ld->conns[i].q);
		free(ld->conns[i].out);
		free(ld->conns[i].in);
	}
	free(ld->conns);
	free(ld);
}

/* Opens every connection and waits until they are up. */
static int
conns_open(struct tcpgen_load *ld)
{
	uint64_t c[UDPGEN_C_COUNT] = {0};
	uint64_t end = rte_get_tsc_cycles() + CONNECT_S * ld->lp.l->hz;
	int rc;

	for (uint32_t i = 0; i < ld->nconns; i++) {
		struct tconn *k = &ld->conns[i];

		rc = tcp_connect(ld->t, ld->lp.l->peer_ip, ld->lp.l->dport,
				 genlink_tcp_now_us(ld->g), &k->c);
		if (rc != 0) {
			fprintf(stderr, "nc_udpgen: connect: %s\n", strerror(-rc));
			return rc;
		}
		tcp_conn_set_user(k->c, k);
	}
	genlink_tcp_turn(ld->g);
	while (ld->nup < ld->nconns && ld->lp.failed == 0 && pump(&ld->lp, c) < end)
		;
	if (ld->nup < ld->nconns) {
		fprintf(stderr, "nc_udpgen: %u of %u connections up in %d s\n", ld->nup, ld->nconns,
			CONNECT_S);
		return -ETIMEDOUT;
	}
	return 0;
}

struct udpgen_loop *
tcpgen_load_create(const struct udpgen_config *cfg, struct genlink *l)
{
	struct tcpgen_load *ld = calloc(1, sizeof(*ld));
	int err;

	if (ld == NULL)
		return NULL;
	ld->lp.pump = pump;
	ld->lp.fill = fill;
	ld->lp.print = print;
	ld->lp.destroy = destroy;
	ld->conns = calloc(cfg->conns, sizeof(*ld->conns));
	if (ld->conns == NULL || udpgen_loop_init(&ld->lp, cfg, l, TIMEOUT_MS) != 0)
		goto fail;
	ld->nconns = cfg->conns;
	for (uint32_t i = 0; i < ld->nconns; i++) {
		struct tconn *k = &ld->conns[i];

		k->id = i;
		k->window = cfg->window;
		k->in_cap = IN_CAP + 2 * ld->lp.x.hit_len;
		k->q = calloc(cfg->window, sizeof(*k->q));
		k->out = malloc((size_t)cfg->window * ld->lp.x.request_max);
		k->in = malloc(k->in_cap);
		if (k->q == NULL || k->out == NULL || k->in == NULL)
			goto fail;
	}
	err = genlink_tcp_create(l, cfg->conns, false, &ld->g);
	if (err < 0) {
		fprintf(stderr, "nc_udpgen: TCP context: %s\n", strerror(-err));
		goto fail;
	}
	ld->t = genlink_tcp_ctx(ld->g);
	if (conns_open(ld) == 0)
		return &ld->lp;
fail:
	destroy(&ld->lp);
	return NULL;
}
