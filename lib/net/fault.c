/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault injection (fault.h): the specification parser and, per queue, the generator and the
 * faults applied to a burst: right after rte_eth_rx_burst (net_queue_rx) and right before
 * rte_eth_tx_burst (net_tx_flush). Decisions per frame, in order: drop; corrupt; duplicate
 * (the copy follows the frame, corrupted or not, like a real duplicate); reorder (the frame,
 * and then its copy, may be held back: one frame per direction at most, released right after
 * the next frame of that direction goes out, or after NET_FAULT_HOLD_US: received frames by
 * the next net_queue_rx call, frames to send by net_queue_timers).
 *
 * The generator is xorshift64* seeded through splitmix64 (seed + queue id); a probability p
 * becomes a threshold on 53-bit draws (p = 1 always hits, p = 0 never draws).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "net/fault.h"
#include "net_private.h"

/* ---- the specification ------------------------------------------------------------------- */

/* The probability fields of struct net_fault_dir, by the name keys use. */
#define FAULT_FIELDS(X) \
	X(drop)         \
	X(dup)          \
	X(reorder)      \
	X(corrupt)

static const struct {
	const char *name;
	size_t off;
} fault_fields[] = {
#define FAULT_FIELD(f) {#f, offsetof(struct net_fault_dir, f)},
	FAULT_FIELDS(FAULT_FIELD)
#undef FAULT_FIELD
};
#define FAULT_FIELD_COUNT (sizeof(fault_fields) / sizeof(fault_fields[0]))

/* Longest value text accepted (a probability or a seed). */
#define FAULT_VALUE_MAX 40

static double *
dir_field(struct net_fault_dir *d, size_t off)
{
	return (double *)((char *)d + off);
}

static double
dir_cfield(const struct net_fault_dir *d, size_t off)
{
	return *(const double *)((const char *)d + off);
}

static bool
dir_valid(const struct net_fault_dir *d)
{
	for (size_t i = 0; i < FAULT_FIELD_COUNT; i++) {
		double p = dir_cfield(d, fault_fields[i].off);

		if (!(p >= 0.0 && p <= 1.0)) /* NaN fails too */
			return false;
	}
	return true;
}

static bool
dir_active(const struct net_fault_dir *d)
{
	for (size_t i = 0; i < FAULT_FIELD_COUNT; i++)
		if (dir_cfield(d, fault_fields[i].off) > 0.0)
			return true;
	return false;
}

bool
net_fault_active(const struct net_fault *f)
{
	return f != NULL && (dir_active(&f->rx) || dir_active(&f->tx));
}

/* A probability: a decimal number in [0, 1] (digits, '.', an exponent). */
static int
parse_prob(const char *v, double *out)
{
	char *end = NULL;
	double p;

	if (!(v[0] >= '0' && v[0] <= '9') && v[0] != '.')
		return -EINVAL;
	if (v[strspn(v, "0123456789.eE+-")] != '\0')
		return -EINVAL;
	errno = 0;
	p = strtod(v, &end);
	if (end == v || *end != '\0' || errno == ERANGE || !isfinite(p) || p < 0.0 || p > 1.0)
		return -EINVAL;
	*out = p;
	return 0;
}

/* A seed: unsigned decimal up to UINT64_MAX. */
static int
parse_seed(const char *v, uint64_t *out)
{
	uint64_t x = 0;

	if (v[0] == '\0')
		return -EINVAL;
	for (const char *p = v; *p != '\0'; p++) {
		unsigned dg;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		dg = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - dg) / 10)
			return -EINVAL;
		x = x * 10 + dg;
	}
	*out = x;
	return 0;
}

/* Apply "key=value" (key and value already trimmed, NUL-terminated) to @p f. */
static int
parse_item(const char *key, const char *value, struct net_fault *f)
{
	bool rx = true, tx = true;
	double p;

	if (strcmp(key, "seed") == 0)
		return parse_seed(value, &f->seed);
	if (strncmp(key, "rx-", 3) == 0) {
		tx = false;
		key += 3;
	} else if (strncmp(key, "tx-", 3) == 0) {
		rx = false;
		key += 3;
	}
	for (size_t i = 0; i < FAULT_FIELD_COUNT; i++) {
		if (strcmp(key, fault_fields[i].name) != 0)
			continue;
		if (parse_prob(value, &p) != 0)
			return -EINVAL;
		if (rx)
			*dir_field(&f->rx, fault_fields[i].off) = p;
		if (tx)
			*dir_field(&f->tx, fault_fields[i].off) = p;
		return 0;
	}
	return -EINVAL;
}

/* Copy [b, e) without surrounding blanks into @p out (@p cap bytes). @return 0 or -EINVAL. */
static int
trimmed(const char *b, const char *e, char *out, size_t cap)
{
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (b == e || (size_t)(e - b) >= cap)
		return -EINVAL;
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = '\0';
	return 0;
}

int
net_fault_parse(const char *text, struct net_fault *f)
{
	char key[16], value[FAULT_VALUE_MAX + 1];
	struct net_fault t;
	const char *p;

	if (text == NULL || f == NULL)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	p = text + strspn(text, " \t");
	if (*p == '\0') {
		*f = t;
		return 0;
	}
	for (;;) {
		const char *end = p + strcspn(p, ",");
		const char *eq = memchr(p, '=', (size_t)(end - p));

		if (eq == NULL || trimmed(p, eq, key, sizeof(key)) != 0 ||
		    trimmed(eq + 1, end, value, sizeof(value)) != 0 ||
		    parse_item(key, value, &t) != 0)
			return -EINVAL;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	*f = t;
	return 0;
}

const char *
net_fault_format(const struct net_fault *f, char *buf, size_t cap)
{
	size_t len = 0;
	int n;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (!net_fault_active(f)) {
		snprintf(buf, cap, "off");
		return buf;
	}
	n = snprintf(buf, cap, "seed=%llu", (unsigned long long)f->seed);
	len = n < 0 ? 0 : (size_t)n;
	for (size_t i = 0; i < FAULT_FIELD_COUNT && len < cap; i++) {
		double rx = dir_cfield(&f->rx, fault_fields[i].off);
		double tx = dir_cfield(&f->tx, fault_fields[i].off);

		if (rx == tx && rx > 0.0)
			n = snprintf(buf + len, cap - len, ",%s=%g", fault_fields[i].name, rx);
		else if (rx > 0.0 && tx > 0.0)
			n = snprintf(buf + len, cap - len, ",rx-%s=%g,tx-%s=%g",
				     fault_fields[i].name, rx, fault_fields[i].name, tx);
		else if (rx > 0.0)
			n = snprintf(buf + len, cap - len, ",rx-%s=%g", fault_fields[i].name, rx);
		else if (tx > 0.0)
			n = snprintf(buf + len, cap - len, ",tx-%s=%g", fault_fields[i].name, tx);
		else
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	return buf;
}

/* ---- a queue's faults ---------------------------------------------------------------------- */

enum {
	FAULT_RX,
	FAULT_TX
};

/* One direction: thresholds on 53-bit draws, and the frame held back for reordering. */
struct fault_dir_run {
	uint64_t drop, dup, reorder, corrupt;
	struct rte_mbuf *held;
	uint64_t held_tsc;
};

struct net_fault_run {
	uint64_t rng;	      /* xorshift64* state, never 0 */
	uint64_t hold_cycles; /* NET_FAULT_HOLD_US in TSC cycles */
	struct fault_dir_run dir[2];
};

static uint64_t
splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t
fault_next(struct net_fault_run *r)
{
	uint64_t x = r->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Whether a fault with threshold @p thr happens (no draw when it never does). */
static inline bool
fault_hit(struct net_fault_run *r, uint64_t thr)
{
	return thr != 0 && (fault_next(r) >> 11) < thr;
}

/* A probability as a threshold on 53-bit draws: 1 -> 2^53 (always). */
static uint64_t
threshold(double p)
{
	return (uint64_t)(p * 9007199254740992.0);
}

static void
dir_setup(struct fault_dir_run *d, const struct net_fault_dir *f)
{
	d->drop = threshold(f->drop);
	d->dup = threshold(f->dup);
	d->reorder = threshold(f->reorder);
	d->corrupt = threshold(f->corrupt);
}

void
net_fault_teardown(struct net_queue *q)
{
	struct net_fault_run *r = q->fault;

	if (r == NULL)
		return;
	for (unsigned i = 0; i < 2; i++)
		rte_pktmbuf_free(r->dir[i].held);
	rte_free(r);
	q->fault = NULL;
	q->rx_burst = NET_BURST;
}

int
net_queue_set_fault(struct net_queue *q, const struct net_fault *f)
{
	struct net_fault_run *r;

	if (q == NULL || (f != NULL && (!dir_valid(&f->rx) || !dir_valid(&f->tx))))
		return -EINVAL;
	net_fault_teardown(q);
	if (!net_fault_active(f))
		return 0;
	r = rte_zmalloc_socket("net_fault", sizeof(*r), RTE_CACHE_LINE_SIZE, q->socket);
	if (r == NULL)
		return -ENOMEM;
	r->rng = splitmix64(f->seed + q->queue_id);
	if (r->rng == 0)
		r->rng = 1;
	r->hold_cycles = q->hz / 1000000 * NET_FAULT_HOLD_US;
	dir_setup(&r->dir[FAULT_RX], &f->rx);
	dir_setup(&r->dir[FAULT_TX], &f->tx);
	q->fault = r;
	/* Room for a duplicate of every frame and a released one in NET_BURST results. */
	q->rx_burst = (NET_BURST - 1) / 2;
	return 0;
}

bool
net_fault_busy(const struct net_queue *q)
{
	const struct net_fault_run *r = q->fault;

	return r != NULL && (r->dir[FAULT_RX].held != NULL || r->dir[FAULT_TX].held != NULL);
}

/* Whether every segment of @p m may be written (direct and not shared). */
static bool
fault_writable(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
			return false;
	return true;
}

/* A frame to send whose checksums the NIC would fill: fill them here, offloads off. */
static void
fault_tx_cksum(struct rte_mbuf *m)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	uint32_t l4_off = (uint32_t)m->l2_len + m->l3_len, sum;
	struct rte_ipv4_hdr *ip;
	uint16_t raw, c;
	uint8_t *field = NULL;

	if ((m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) == 0 && l4 == 0)
		return;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
	if (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) {
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM)
		field = rte_pktmbuf_mtod_offset(m, uint8_t *,
						l4_off + offsetof(struct rte_tcp_hdr, cksum));
	else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM)
		field = rte_pktmbuf_mtod_offset(m, uint8_t *,
						l4_off + offsetof(struct rte_udp_hdr, dgram_cksum));
	if (field != NULL) {
		/* The field held the pseudo-header sum for the NIC: 0 before summing. */
		memset(field, 0, 2);
		if (rte_raw_cksum_mbuf(m, l4_off, m->pkt_len - l4_off, &raw) == 0) {
			sum = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
			sum = (sum & 0xffff) + (sum >> 16);
			sum = (sum & 0xffff) + (sum >> 16);
			c = (uint16_t)~sum;
			if (c == 0 && l4 == RTE_MBUF_F_TX_UDP_CKSUM)
				c = 0xffff;
			memcpy(field, &c, 2);
		}
	}
	m->ol_flags &= ~(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK);
}

/*
 * Flip one random bit of one random byte after the Ethernet header (and VLAN tag) of IPv4
 * frame @p m; other frames are left alone. A frame with shared buffers is copied first. A TSO
 * frame to send is dropped instead: the NIC would fill the checksums of the segments it cuts
 * over the flipped bit, so the peer would take it; it drops a corrupted segment.
 * @return the frame (maybe the copy); NULL when it was dropped.
 */
static struct rte_mbuf *
fault_corrupt(struct net_queue *q, struct rte_mbuf *m, bool rx)
{
	const struct rte_ether_hdr *eh;
	struct rte_mbuf *seg;
	uint32_t l2 = sizeof(*eh), off;
	rte_be16_t type;

	if (!rx && (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)) {
		rte_pktmbuf_free(m);
		NET_EVENT(&q->cnt, fault_corrupted, 1);
		return NULL;
	}
	if (m->data_len < sizeof(*eh) + sizeof(struct rte_vlan_hdr))
		return m;
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	type = eh->ether_type;
	if (type == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
		type = ((const struct rte_vlan_hdr *)(eh + 1))->eth_proto;
		l2 += sizeof(struct rte_vlan_hdr);
	}
	if (type != RTE_BE16(RTE_ETHER_TYPE_IPV4) || m->pkt_len <= l2)
		return m;
	if (!fault_writable(m)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, q->ifc->pool, 0, UINT32_MAX);

		if (c == NULL)
			return m;
		rte_pktmbuf_free(m);
		m = c;
	}
	if (rx)
		/* The NIC's verdicts were about the frame before the flip. */
		m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	else
		fault_tx_cksum(m);
	off = l2 + (uint32_t)(fault_next(q->fault) % (m->pkt_len - l2));
	for (seg = m; off >= seg->data_len; seg = seg->next)
		off -= seg->data_len;
	*rte_pktmbuf_mtod_offset(seg, uint8_t *, off) ^=
		(uint8_t)(1u << (fault_next(q->fault) & 7));
	NET_EVENT(&q->cnt, fault_corrupted, 1);
	return m;
}

/* @p m goes on in direction @p d: held back, or out (then a frame held before it). */
static void
fault_put(struct net_queue *q, struct fault_dir_run *d, struct rte_mbuf *m, uint64_t now,
	  struct rte_mbuf **out, unsigned *k)
{
	if (d->held == NULL && fault_hit(q->fault, d->reorder)) {
		d->held = m;
		d->held_tsc = now;
		NET_EVENT(&q->cnt, fault_reordered, 1);
		return;
	}
	out[(*k)++] = m;
	if (d->held != NULL) {
		out[(*k)++] = d->held;
		d->held = NULL;
	}
}

/*
 * The faults of direction @p d over @p n frames at @p in; the survivors (with copies and
 * released frames) go to @p out (room for NET_FAULT_OUT_MAX(n); not @p in).
 * @return frames at @p out.
 */
static unsigned
fault_apply(struct net_queue *q, struct fault_dir_run *d, bool rx, struct rte_mbuf *const *in,
	    unsigned n, uint64_t now, struct rte_mbuf **out)
{
	struct net_fault_run *r = q->fault;
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = in[i], *c = NULL;

		if (fault_hit(r, d->drop)) {
			rte_pktmbuf_free(m);
			NET_EVENT(&q->cnt, fault_dropped, 1);
			continue;
		}
		if (fault_hit(r, d->corrupt)) {
			m = fault_corrupt(q, m, rx);
			if (m == NULL)
				continue;
		}
		if (fault_hit(r, d->dup)) {
			c = rte_pktmbuf_copy(m, q->ifc->pool, 0, UINT32_MAX);
			if (c != NULL)
				NET_EVENT(&q->cnt, fault_duplicated, 1);
		}
		fault_put(q, d, m, now, out, &k);
		if (c != NULL)
			fault_put(q, d, c, now, out, &k);
	}
	return k;
}

unsigned
net_fault_rx(struct net_queue *q, struct rte_mbuf **pkts, unsigned n, uint64_t now)
{
	struct fault_dir_run *d = &q->fault->dir[FAULT_RX];
	struct rte_mbuf *in[NET_BURST];
	unsigned k;

	if (n == 0 && d->held == NULL)
		return 0;
	memcpy(in, pkts, n * sizeof(in[0]));
	k = fault_apply(q, d, true, in, n, now, pkts);
	if (d->held != NULL && (int64_t)(now - d->held_tsc) >= (int64_t)q->fault->hold_cycles) {
		pkts[k++] = d->held;
		d->held = NULL;
	}
	return k;
}

unsigned
net_fault_tx(struct net_queue *q, struct rte_mbuf **pkts, unsigned n)
{
	struct rte_mbuf *out[NET_FAULT_OUT_MAX(NET_BURST)];
	unsigned k = fault_apply(q, &q->fault->dir[FAULT_TX], false, pkts, n, rte_rdtsc(), out);

	return net_tx_burst(q, out, (uint16_t)k);
}

unsigned
net_fault_timers(struct net_queue *q, uint64_t now)
{
	struct fault_dir_run *d = &q->fault->dir[FAULT_TX];
	struct rte_mbuf *m = d->held;

	if (m == NULL || (int64_t)(now - d->held_tsc) < (int64_t)q->fault->hold_cycles)
		return 0;
	d->held = NULL;
	return net_tx_burst(q, &m, 1);
}
