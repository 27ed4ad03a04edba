/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A generator's `stats` over UDP (link.h): one request datagram, a reply in numbered datagrams put back
 * in order by sequence number (lib/proto/udp.h: every datagram carries the count).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "genlink/link.h"

#define STATS_TRIES	5
#define STATS_TRY_MS	1000
#define STATS_PARTS_MAX 64 /* 64 datagrams of 1400 bytes: nicached's 64k reply bound */

/* The parts received so far of one reply. */
struct reassembly {
	uint16_t total, have;
	uint32_t len[STATS_PARTS_MAX];
	char part[STATS_PARTS_MAX][GENLINK_MTU];
};

/* Sends the request for @p group with id @p id. */
static int
stats_send(struct genlink *l, const char *group, uint16_t id)
{
	char *text;
	struct rte_mbuf *m = genlink_begin(l, 0, id, &text);
	int len;

	if (m == NULL)
		return -ENOMEM;
	len = snprintf(text, 64, "stats%s%s\r\n", group ? " " : "", group ? group : "");
	if (len < 0 || len >= 64) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	genlink_finish(m, (uint32_t)len);
	return genlink_send(l, &m, 1) == 1 ? 0 : -EAGAIN;
}

/* Files one datagram of the reply; returns true when the reply is complete. */
static bool
stats_part(struct reassembly *r, const struct genlink_dgram *d)
{
	if (d->total == 0 || d->total > STATS_PARTS_MAX || d->seq >= d->total ||
	    d->len > GENLINK_MTU)
		return false;
	if (r->total != d->total) {
		/* First datagram, or one of another attempt's reply: start over. */
		memset(r->len, 0, sizeof(r->len));
		r->total = d->total;
		r->have = 0;
	}
	if (r->len[d->seq] == 0 && d->len > 0) {
		memcpy(r->part[d->seq], d->text, d->len);
		r->len[d->seq] = d->len;
		r->have++;
	}
	return r->have == r->total;
}

/* Receives for one attempt; returns true when the reply to @p id is complete. */
static bool
stats_wait(struct genlink *l, uint16_t id, struct reassembly *r)
{
	uint64_t end = rte_get_tsc_cycles() + l->hz / 1000 * STATS_TRY_MS;
	struct rte_mbuf *pkts[GENLINK_BURST];
	struct genlink_dgram d;
	bool done = false;

	while (!done && rte_get_tsc_cycles() < end && !genlink_cancelled(l)) {
		uint16_t n = rte_eth_rx_burst(l->port_id, l->queue_id, pkts, GENLINK_BURST);

		for (uint16_t i = 0; i < n; i++) {
			if (genlink_classify(l, pkts[i], &d) != GENLINK_RX_UDP)
				continue;
			if (!done && d.id == id)
				done = stats_part(r, &d);
			rte_pktmbuf_free(pkts[i]);
		}
		genlink_tick(l);
	}
	return done;
}

long
genlink_stats_fetch(struct genlink *l, const char *group, uint16_t id, char *buf, size_t cap)
{
	struct reassembly *r = calloc(1, sizeof(*r));
	long rc = -ETIMEDOUT;
	size_t off = 0;

	if (r == NULL)
		return -ENOMEM;
	for (unsigned t = 0; t < STATS_TRIES && rc == -ETIMEDOUT && !genlink_cancelled(l); t++) {
		uint16_t tid = (uint16_t)(id + t);
		int s = stats_send(l, group, tid);

		r->total = 0;
		if (s == -ENOMEM) {
			rc = s;
			break;
		}
		if (s == 0 && stats_wait(l, tid, r))
			rc = 0;
	}
	if (rc == -ETIMEDOUT && genlink_cancelled(l))
		rc = -EINTR; /* (given up before a try, or inside one's wait) */
	for (uint16_t i = 0; rc == 0 && i < r->total; i++) {
		if (off + r->len[i] + 1 > cap) {
			rc = -E2BIG;
			break;
		}
		memcpy(buf + off, r->part[i], r->len[i]);
		off += r->len[i];
	}
	free(r);
	if (rc != 0)
		return rc;
	buf[off] = '\0';
	return (long)off;
}

int
genlink_stats_value(const char *text, const char *name, uint64_t *v)
{
	size_t nl = strlen(name);
	const char *p = text;

	while ((p = strstr(p, "STAT ")) != NULL) {
		p += 5;
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
			char *end;

			errno = 0;
			*v = strtoull(p + nl + 1, &end, 10);
			return errno == 0 && end != p + nl + 1 && *end == '\r' ? 0 : -ENOENT;
		}
	}
	return -ENOENT;
}
