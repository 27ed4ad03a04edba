/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 reassembly (RFC 791, with RFC 5722's rule that overlapping fragments make the whole
 * datagram invalid), bounded so that a datagram of up to 65535 bytes can be rebuilt. One
 * table per queue, sized at creation; nothing is allocated per packet but the mbufs:
 *
 *   flows   NET_FRAG_FLOWS entries keyed by (source, destination, id, protocol), found through
 *           chained buckets of a seeded hash, and kept on an age list in the order of their
 *           first fragment, which is also the order of their deadlines (first fragment +
 *           NET_FRAG_TIMEOUT_MS): expiry and eviction both take the list's head.
 *   pieces  NET_FRAG_MBUFS_MAX slots {mbuf, offset, end}, each flow's sorted by offset. The
 *           mbuf segments held by all flows never exceed NET_FRAG_MBUFS_MAX, and a piece holds
 *           at least one, so the pieces cannot run out.
 *
 * A flow whose fragments overlap, disagree about the datagram's end, or number more than
 * NET_FRAG_MAX_FRAGS becomes dead: its fragments are freed and its entry stays until the
 * deadline, so the rest of that datagram is dropped instead of starting a flow that can
 * never finish.
 *
 * Room: a new flow when every entry is taken, or a fragment that would take the held segments
 * past the cap, evicts the oldest flows (frag_evicted). Oldest first, because a real
 * datagram's fragments arrive back to back and finish within microseconds while a flood of
 * incomplete flows only ages; refusing the newcomer instead would let NET_FRAG_FLOWS bogus
 * fragments per timeout shut reassembly off for everyone.
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "net/cksum.h"
#include "net_private.h"

/** End of a list of flows or pieces. */
#define FRAG_NIL UINT16_MAX
/** Hash buckets: twice the flows, so chains stay short. */
#define FRAG_BUCKETS (NET_FRAG_FLOWS * 2)

_Static_assert((FRAG_BUCKETS & (FRAG_BUCKETS - 1)) == 0, "FRAG_BUCKETS: a power of two");
_Static_assert(NET_FRAG_FLOWS < FRAG_NIL && NET_FRAG_MBUFS_MAX < FRAG_NIL,
	       "flow and piece indexes fit 16 bits");
_Static_assert(NET_FRAG_MAX_FRAGS <= UINT8_MAX, "fragments of a flow fit 8 bits");

/** One fragment held: its payload covers bytes [off, end) of the datagram's payload. */
struct frag_piece {
	struct rte_mbuf *m; /* data at the fragment's IPv4 header (l3_len set) */
	uint16_t off;
	uint16_t end;
	uint16_t next; /* the flow's next piece by offset; or the free list */
};

/** One datagram being reassembled. */
struct frag_flow {
	rte_be32_t src;
	rte_be32_t dst;
	rte_be16_t id;
	uint8_t proto;
	uint8_t nb_pieces;
	bool has_last;	     /* the fragment with MF=0 came: end is known */
	bool dead;	     /* given up before its deadline; its fragments are dropped */
	uint8_t dead_reason; /* enum net_drop counted for fragments of a dead flow */
	uint16_t end;	     /* payload length of the datagram (has_last) */
	uint16_t segs;	     /* mbuf segments held */
	uint32_t got;	     /* payload bytes held (pieces never overlap) */
	uint16_t first;	     /* first piece (lowest offset), or FRAG_NIL */
	uint16_t hnext;	     /* next flow in the bucket; or the free list */
	uint16_t older;	     /* age list */
	uint16_t newer;
	uint64_t deadline; /* TSC after which the flow is given up */
};

struct net_frag_tbl {
	uint64_t timeout; /* NET_FRAG_TIMEOUT_MS in TSC cycles */
	uint32_t seed;	  /* of the bucket hash, so senders cannot aim at one chain */
	uint32_t segs;	  /* mbuf segments held by all flows */
	uint16_t used;	  /* flows in use (dead ones included) */
	uint16_t free_flow;
	uint16_t free_piece;
	uint16_t oldest;
	uint16_t newest;
	uint16_t bucket[FRAG_BUCKETS];
	struct frag_flow flow[NET_FRAG_FLOWS];
	struct frag_piece piece[NET_FRAG_MBUFS_MAX];
};

int
net_frag_setup(struct net_queue *q, int socket)
{
	struct net_frag_tbl *t;

	t = rte_zmalloc_socket("net_frag", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return -ENOMEM;
	t->timeout = q->hz * NET_FRAG_TIMEOUT_MS / 1000;
	t->seed = (uint32_t)rte_rdtsc() ^ ((uint32_t)q->queue_id << 24);
	t->oldest = FRAG_NIL;
	t->newest = FRAG_NIL;
	for (unsigned i = 0; i < FRAG_BUCKETS; i++)
		t->bucket[i] = FRAG_NIL;
	for (unsigned i = 0; i < NET_FRAG_FLOWS; i++)
		t->flow[i].hnext = i + 1 < NET_FRAG_FLOWS ? (uint16_t)(i + 1) : FRAG_NIL;
	for (unsigned i = 0; i < NET_FRAG_MBUFS_MAX; i++)
		t->piece[i].next = i + 1 < NET_FRAG_MBUFS_MAX ? (uint16_t)(i + 1) : FRAG_NIL;
	t->free_flow = 0;
	t->free_piece = 0;
	q->frag = t;
	return 0;
}

static inline uint32_t
frag_bucket(const struct net_frag_tbl *t, rte_be32_t src, rte_be32_t dst, rte_be16_t id,
	    uint8_t proto)
{
	return rte_jhash_3words(src, dst, ((uint32_t)id << 8) | proto, t->seed) &
	       (FRAG_BUCKETS - 1);
}

/** The flow of (src, dst, id, proto) in bucket @p b, or FRAG_NIL. */
static uint16_t
frag_find(const struct net_frag_tbl *t, uint32_t b, rte_be32_t src, rte_be32_t dst, rte_be16_t id,
	  uint8_t proto)
{
	uint16_t i;

	for (i = t->bucket[b]; i != FRAG_NIL; i = t->flow[i].hnext) {
		const struct frag_flow *f = &t->flow[i];

		if (f->src == src && f->dst == dst && f->id == id && f->proto == proto)
			break;
	}
	return i;
}

/**
 * Take the pieces off flow @p fi; their mbufs are freed (counting @p why once per fragment)
 * unless @p why is NET_DROP_MAX (the mbufs now belong to a reassembled chain).
 * @return fragments freed.
 */
static unsigned
frag_clear(struct net_queue *q, struct net_frag_tbl *t, uint16_t fi, enum net_drop why)
{
	struct frag_flow *f = &t->flow[fi];
	unsigned n = f->nb_pieces;
	uint16_t i = f->first;

	while (i != FRAG_NIL) {
		struct frag_piece *p = &t->piece[i];
		uint16_t next = p->next;

		if (why != NET_DROP_MAX)
			rte_pktmbuf_free(p->m);
		p->m = NULL;
		p->next = t->free_piece;
		t->free_piece = i;
		i = next;
	}
	if (why != NET_DROP_MAX && n != 0)
		NET_COUNT(&q->cnt, drop, why, n);
	t->segs -= f->segs;
	f->segs = 0;
	f->first = FRAG_NIL;
	f->nb_pieces = 0;
	f->got = 0;
	return why != NET_DROP_MAX ? n : 0;
}

/** Remove flow @p fi (already without pieces) from its bucket and the age list; free it. */
static void
frag_unlink(struct net_frag_tbl *t, uint16_t fi)
{
	struct frag_flow *f = &t->flow[fi];
	uint16_t *link = &t->bucket[frag_bucket(t, f->src, f->dst, f->id, f->proto)];

	while (*link != fi)
		link = &t->flow[*link].hnext;
	*link = f->hnext;
	if (f->older != FRAG_NIL)
		t->flow[f->older].newer = f->newer;
	else
		t->oldest = f->newer;
	if (f->newer != FRAG_NIL)
		t->flow[f->newer].older = f->older;
	else
		t->newest = f->older;
	f->hnext = t->free_flow;
	t->free_flow = fi;
	t->used--;
}

/** Free flow @p fi and its fragments, counted as @p why. @return fragments freed. */
static unsigned
frag_kill(struct net_queue *q, struct net_frag_tbl *t, uint16_t fi, enum net_drop why)
{
	unsigned n = frag_clear(q, t, fi, why);

	frag_unlink(t, fi);
	return n;
}

/** Give flow @p fi up before its deadline: fragments freed (@p why), later ones dropped. */
static void
frag_bury(struct net_queue *q, struct net_frag_tbl *t, uint16_t fi, enum net_drop why)
{
	frag_clear(q, t, fi, why);
	t->flow[fi].dead = true;
	t->flow[fi].dead_reason = (uint8_t)why;
}

/** A new flow in bucket @p b (the oldest is evicted when all are taken). */
static uint16_t
frag_new(struct net_queue *q, struct net_frag_tbl *t, uint32_t b, const struct rte_ipv4_hdr *ip)
{
	struct frag_flow *f;
	uint16_t fi;

	if (t->free_flow == FRAG_NIL)
		frag_kill(q, t, t->oldest, NET_DROP_frag_evicted);
	fi = t->free_flow;
	f = &t->flow[fi];
	t->free_flow = f->hnext;
	*f = (struct frag_flow){
		.src = ip->src_addr,
		.dst = ip->dst_addr,
		.id = ip->packet_id,
		.proto = ip->next_proto_id,
		.first = FRAG_NIL,
		.hnext = t->bucket[b],
		.older = t->newest,
		.newer = FRAG_NIL,
		.deadline = q->now_tsc + t->timeout,
	};
	t->bucket[b] = fi;
	if (t->newest != FRAG_NIL)
		t->flow[t->newest].newer = fi;
	else
		t->oldest = fi;
	t->newest = fi;
	t->used++;
	return fi;
}

/**
 * Evict the oldest flows other than @p keep until @p segs more segments fit under the cap.
 * @return whether they fit.
 */
static bool
frag_make_room(struct net_queue *q, struct net_frag_tbl *t, uint16_t keep, uint32_t segs)
{
	uint16_t i = t->oldest;

	while (t->segs + segs > NET_FRAG_MBUFS_MAX && i != FRAG_NIL) {
		uint16_t newer = t->flow[i].newer;

		if (i != keep && t->flow[i].segs != 0)
			frag_kill(q, t, i, NET_DROP_frag_evicted);
		i = newer;
	}
	return t->segs + segs <= NET_FRAG_MBUFS_MAX;
}

/**
 * Flow @p fi is complete: chain its fragments behind the first one (their headers trimmed),
 * fix the first one's IPv4 header, free the flow. @return the datagram, or NULL when it
 * would exceed 65535 bytes (dropped).
 */
static struct rte_mbuf *
frag_join(struct net_queue *q, struct net_frag_tbl *t, uint16_t fi)
{
	struct frag_flow *f = &t->flow[fi];
	const struct frag_piece *p = &t->piece[f->first];
	struct rte_mbuf *head = p->m, *tail = rte_pktmbuf_lastseg(head);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(head, struct rte_ipv4_hdr *);
	uint32_t total = (uint32_t)head->l3_len + f->end;

	if (unlikely(total > UINT16_MAX)) {
		frag_kill(q, t, fi, NET_DROP_frag_dropped);
		return NULL;
	}
	for (uint16_t i = p->next; i != FRAG_NIL; i = t->piece[i].next) {
		struct rte_mbuf *m = t->piece[i].m;

		rte_pktmbuf_adj(m, m->l3_len); /* the header lies in the first segment */
		tail->next = m;
		head->nb_segs = (uint16_t)(head->nb_segs + m->nb_segs);
		head->pkt_len += m->pkt_len;
		tail = rte_pktmbuf_lastseg(m);
	}
	frag_kill(q, t, fi, NET_DROP_MAX);
	ip->total_length = rte_cpu_to_be_16((uint16_t)total);
	ip->fragment_offset &= RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = net_cksum_ipv4(ip);
	/* The NIC's L4 verdict was about the first fragment only. */
	head->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
	NET_EVENT(&q->cnt, ip_reassembled, 1);
	return head;
}

struct rte_mbuf *
net_frag_input(struct net_queue *q, struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	struct net_frag_tbl *t = q->frag;
	uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
	bool more = (fo & RTE_IPV4_HDR_MF_FLAG) != 0;
	uint32_t off = (uint32_t)(fo & RTE_IPV4_HDR_OFFSET_MASK) * RTE_IPV4_HDR_OFFSET_UNITS;
	uint32_t plen = m->pkt_len - m->l3_len;
	uint32_t end = off + plen;
	uint16_t fi, pi, prev = FRAG_NIL, last = FRAG_NIL;
	struct frag_flow *f;
	struct frag_piece *p;
	uint32_t b;

	NET_EVENT(&q->cnt, ip_fragments, 1);
	if (unlikely(plen == 0 || (more && (plen & 7) != 0) || end + m->l3_len > UINT16_MAX)) {
		net_drop(q, m, NET_DROP_frag_dropped);
		return NULL;
	}
	b = frag_bucket(t, ip->src_addr, ip->dst_addr, ip->packet_id, ip->next_proto_id);
	fi = frag_find(t, b, ip->src_addr, ip->dst_addr, ip->packet_id, ip->next_proto_id);
	if (fi != FRAG_NIL && (int64_t)(q->now_tsc - t->flow[fi].deadline) > 0) {
		/* Past its deadline, net_queue_timers() has not run yet. */
		frag_kill(q, t, fi, NET_DROP_frag_dropped);
		fi = FRAG_NIL;
	}
	if (fi == FRAG_NIL)
		fi = frag_new(q, t, b, ip);
	f = &t->flow[fi];
	if (f->dead) {
		net_drop(q, m, (enum net_drop)f->dead_reason);
		return NULL;
	}
	/* Where it goes (after prev), and whether it fits with what came before. */
	for (uint16_t i = f->first; i != FRAG_NIL; i = t->piece[i].next) {
		p = &t->piece[i];
		if (p->off == off && p->end == end) {
			net_drop(q, m, NET_DROP_frag_dropped); /* a duplicate */
			return NULL;
		}
		if (p->off < end && off < p->end)
			goto invalid;
		if (p->off < off)
			prev = i;
		last = i;
	}
	if (f->has_last ? (!more || end > f->end) :
			  (!more && last != FRAG_NIL && t->piece[last].end > end))
		goto invalid;
	if (unlikely(f->nb_pieces == NET_FRAG_MAX_FRAGS)) {
		frag_bury(q, t, fi, NET_DROP_frag_dropped);
		net_drop(q, m, NET_DROP_frag_dropped);
		return NULL;
	}
	if (unlikely(!frag_make_room(q, t, fi, m->nb_segs))) {
		net_drop(q, m, NET_DROP_frag_evicted);
		return NULL;
	}
	pi = t->free_piece;
	p = &t->piece[pi];
	t->free_piece = p->next;
	p->m = m;
	p->off = (uint16_t)off;
	p->end = (uint16_t)end;
	if (prev == FRAG_NIL) {
		p->next = f->first;
		f->first = pi;
	} else {
		p->next = t->piece[prev].next;
		t->piece[prev].next = pi;
	}
	f->nb_pieces++;
	f->got += plen;
	f->segs = (uint16_t)(f->segs + m->nb_segs);
	t->segs += m->nb_segs;
	if (!more) {
		f->has_last = true;
		f->end = (uint16_t)end;
	}
	if (f->has_last && f->got == f->end)
		return frag_join(q, t, fi);
	return NULL;

invalid:
	/* Overlapping, or disagreeing about where the datagram ends (RFC 5722). */
	frag_bury(q, t, fi, NET_DROP_frag_overlap);
	net_drop(q, m, NET_DROP_frag_overlap);
	return NULL;
}

unsigned
net_frag_expire(struct net_queue *q, uint64_t now_tsc)
{
	struct net_frag_tbl *t = q->frag;
	unsigned freed = 0;

	while (t->oldest != FRAG_NIL && (int64_t)(now_tsc - t->flow[t->oldest].deadline) > 0)
		freed += frag_kill(q, t, t->oldest, NET_DROP_frag_dropped);
	return freed;
}

bool
net_frag_busy(const struct net_queue *q)
{
	return q->frag->used != 0;
}

void
net_frag_teardown(struct net_queue *q)
{
	struct net_frag_tbl *t = q->frag;

	if (t == NULL)
		return;
	for (unsigned i = 0; i < NET_FRAG_MBUFS_MAX; i++)
		rte_pktmbuf_free(t->piece[i].m);
	rte_free(t);
	q->frag = NULL;
}
