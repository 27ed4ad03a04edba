/* SPDX-License-Identifier: BSD-3-Clause */
#include "cluster/ring.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <md5.h>

/* libmemcached's MEMCACHED_POINTS_PER_SERVER_KETAMA and MEMCACHED_POINTS_PER_SERVER. */
#define RING_WEIGHTED_POINTS 160
#define RING_FLAT_POINTS     100
/* Points one MD5 digest of a point name gives in the weighted mode. */
#define RING_POINTS_PER_DIGEST 4
/* A point name: host, ":65535", "-", a 32-bit decimal and the NUL. */
#define RING_POINT_NAME_MAX (NC_RING_NAME_MAX + 6 + 1 + 10 + 1)

/* A member name taken apart. */
struct ring_addr {
	const char *host; /* not NUL-terminated: host_len bytes, IPv6 brackets removed */
	size_t host_len;
	uint32_t port;
};

struct ring_member {
	const char *name; /* the caller's name, copied */
	struct ring_addr addr;
	uint32_t weight;
	uint32_t points;
};

struct nc_ring {
	struct nc_ring_params params;
	uint32_t n_members;
	uint32_t n_points;
	uint32_t n_owning; /* members with at least one point */
	struct ring_member *members;
	uint32_t *values; /* the points, ascending */
	uint32_t *owners; /* owners[i]: index of the member of values[i] */
};

/* ---- hashes ---- */

static uint32_t
load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
md5_digest(const void *data, size_t len, uint8_t out[MD5_DIGEST_LENGTH])
{
	MD5_CTX ctx;

	MD5Init(&ctx);
	MD5Update(&ctx, data, len);
	MD5Final(out, &ctx);
}

/* libhashkit's md5 hash: the digest's first 4 bytes, little-endian. */
static uint32_t
hash_md5(const void *key, size_t len)
{
	uint8_t d[MD5_DIGEST_LENGTH];

	md5_digest(key, len, d);
	return load_le32(d);
}

/*
 * libhashkit's "default" hash (one_at_a_time.cc). It reads the key through a plain char
 * pointer, so on x86-64 a byte >= 0x80 is sign-extended before it is added: do the same.
 */
static uint32_t
hash_oaat(const void *key, size_t len)
{
	const signed char *p = key;
	uint32_t h = 0;

	for (size_t i = 0; i < len; i++) {
		h += (uint32_t)(int32_t)p[i];
		h += h << 10;
		h ^= h >> 6;
	}
	h += h << 3;
	h ^= h >> 11;
	h += h << 15;
	return h;
}

static uint32_t
hash_key(enum nc_ring_hash hash, const void *key, size_t len)
{
	if (len == 0)
		key = "";
	return hash == NC_RING_HASH_OAAT ? hash_oaat(key, len) : hash_md5(key, len);
}

/* ---- names ---- */

/* Decimal port 1..65535 in s[0..len); 0 if it is not one. */
static uint32_t
parse_port(const char *s, size_t len)
{
	uint32_t port = 0;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		port = port * 10 + (uint32_t)(s[i] - '0');
		if (port > 65535)
			return 0;
	}
	return port;
}

/*
 * Take a member name apart: "host", "host:port", "[v6]" or "[v6]:port".
 * Returns 0, -EINVAL (malformed) or -ENAMETOOLONG.
 */
static int
parse_name(const char *name, struct ring_addr *a)
{
	const char *host_end, *rest;
	size_t len;

	if (name == NULL)
		return -EINVAL;
	len = strnlen(name, NC_RING_NAME_MAX + 1);
	if (len > NC_RING_NAME_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] <= 0x20 || name[i] == 0x7f)
			return -EINVAL;

	if (name[0] == '[') {
		a->host = name + 1;
		host_end = memchr(a->host, ']', len - 1);
		if (host_end == NULL)
			return -EINVAL;
		rest = host_end + 1;
	} else {
		a->host = name;
		host_end = memchr(name, ':', len);
		if (host_end == NULL)
			host_end = name + len;
		rest = host_end;
		/* A second colon: an IPv6 address without brackets. */
		if (*rest == ':' && strchr(rest + 1, ':') != NULL)
			return -EINVAL;
	}
	a->host_len = (size_t)(host_end - a->host);
	if (a->host_len == 0 || memchr(a->host, '[', a->host_len) != NULL ||
	    memchr(a->host, ']', a->host_len) != NULL)
		return -EINVAL;

	if (*rest == '\0') {
		a->port = NC_RING_DEFAULT_PORT;
		return 0;
	}
	if (*rest != ':')
		return -EINVAL;
	a->port = parse_port(rest + 1, strlen(rest + 1));
	return a->port == 0 ? -EINVAL : 0;
}

static bool
addr_equal(const struct ring_addr *a, const struct ring_addr *b)
{
	return a->port == b->port && a->host_len == b->host_len &&
	       memcmp(a->host, b->host, a->host_len) == 0;
}

/* libmemcached's point name: "<host>-<i>" on port 11211, else "<host>:<port>-<i>". */
static size_t
point_name(const struct ring_addr *a, uint32_t i, char buf[RING_POINT_NAME_MAX])
{
	int n;

	if (a->port == NC_RING_DEFAULT_PORT)
		n = snprintf(buf, RING_POINT_NAME_MAX, "%.*s-%u", (int)a->host_len, a->host, i);
	else
		n = snprintf(buf, RING_POINT_NAME_MAX, "%.*s:%u-%u", (int)a->host_len, a->host,
			     a->port, i);
	return (size_t)n;
}

/* ---- building ---- */

/*
 * libmemcached's weighted share of @p n members, in single precision as it computes it
 * (hosts.cc): floor(w / W * 160 / 4 * n + 1e-10f) * 4. The volatile stores keep every step
 * rounded to float and stop a compiler from fusing a multiply and an add, so the rounding
 * quirks (156 points for 25 equal members) come out the same on every target.
 */
static uint32_t
weighted_points(uint32_t weight, uint64_t total_weight, uint32_t n)
{
	volatile float pct = (float)weight / (float)total_weight;
	volatile float share = pct * (float)RING_WEIGHTED_POINTS;

	share = share / 4.0f;
	share = share * (float)n;
	share = share + 0.0000000001f;
	return (uint32_t)floorf(share) * RING_POINTS_PER_DIGEST;
}

/* Check every member; fill addr, weight and points. Returns 0 or a build error. */
static int
check_members(const struct nc_ring_member *members, uint32_t n, const struct nc_ring_params *params,
	      struct ring_member *out, uint32_t *bad)
{
	uint64_t total_weight = 0;
	int ret;

	for (uint32_t i = 0; i < n; i++) {
		ret = parse_name(members[i].name, &out[i].addr);
		if (ret == 0 && (members[i].weight == 0 ||
				 (params->points == NC_RING_POINTS_FLAT && members[i].weight != 1)))
			ret = -EINVAL;
		for (uint32_t j = 0; ret == 0 && j < i; j++)
			if (addr_equal(&out[i].addr, &out[j].addr))
				ret = -EEXIST;
		if (ret != 0) {
			if (bad != NULL)
				*bad = i;
			return ret;
		}
		out[i].weight = members[i].weight;
		total_weight += members[i].weight;
	}
	for (uint32_t i = 0; i < n; i++)
		out[i].points = params->points == NC_RING_POINTS_FLAT ?
					RING_FLAT_POINTS :
					weighted_points(out[i].weight, total_weight, n);
	return 0;
}

/* Append member @p m's points, tagged (value << 32 | m), to @p pts; returns how many. */
static uint32_t
member_points(const struct nc_ring *ring, uint32_t m, uint64_t *pts)
{
	const struct ring_member *mb = &ring->members[m];
	char name[RING_POINT_NAME_MAX];
	uint8_t d[MD5_DIGEST_LENGTH];
	uint32_t k = 0;

	if (ring->params.points == NC_RING_POINTS_FLAT) {
		for (uint32_t i = 0; i < mb->points; i++) {
			size_t len = point_name(&mb->addr, i, name);

			pts[k++] = (uint64_t)hash_key(ring->params.hash, name, len) << 32 | m;
		}
		return k;
	}
	for (uint32_t i = 0; i < mb->points / RING_POINTS_PER_DIGEST; i++) {
		md5_digest(name, point_name(&mb->addr, i, name), d);
		for (uint32_t x = 0; x < RING_POINTS_PER_DIGEST; x++)
			pts[k++] = (uint64_t)load_le32(d + 4 * x) << 32 | m;
	}
	return k;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Make, sort (by value, then member index, as libmemcached) and store every point. */
static int
place_points(struct nc_ring *ring)
{
	uint64_t *pts = malloc((size_t)ring->n_points * sizeof(*pts));
	uint32_t k = 0;

	if (pts == NULL)
		return -ENOMEM;
	for (uint32_t m = 0; m < ring->n_members; m++)
		k += member_points(ring, m, pts + k);
	qsort(pts, k, sizeof(*pts), cmp_u64);
	for (uint32_t i = 0; i < k; i++) {
		ring->values[i] = (uint32_t)(pts[i] >> 32);
		ring->owners[i] = (uint32_t)pts[i];
	}
	free(pts);
	return 0;
}

int
nc_ring_build(const struct nc_ring_member *members, uint32_t n, const struct nc_ring_params *params,
	      struct nc_ring **out, uint32_t *bad)
{
	static const struct nc_ring_params zero_params;
	struct ring_member *checked;
	struct nc_ring *ring;
	uint64_t n_points = 0;
	size_t names = 0, size;
	char *pool;
	int ret;

	if (params == NULL)
		params = &zero_params;
	if (n == 0 || members == NULL || out == NULL ||
	    (params->points != NC_RING_POINTS_WEIGHTED && params->points != NC_RING_POINTS_FLAT) ||
	    (params->hash != NC_RING_HASH_MD5 && params->hash != NC_RING_HASH_OAAT))
		return -EINVAL;
	if (n > NC_RING_MEMBERS_MAX)
		return -E2BIG;

	checked = calloc(n, sizeof(*checked));
	if (checked == NULL)
		return -ENOMEM;
	ret = check_members(members, n, params, checked, bad);
	if (ret != 0) {
		free(checked);
		return ret;
	}
	for (uint32_t i = 0; i < n; i++) {
		n_points += checked[i].points;
		names += strlen(members[i].name) + 1;
	}
	/* The largest share always gets points; this only guards the arithmetic above. */
	if (n_points == 0 || n_points > UINT32_MAX) {
		free(checked);
		return -EINVAL;
	}

	/* One block: the ring, its members, values, owners, then the names. */
	size = sizeof(*ring) + n * sizeof(*ring->members) + 2 * n_points * sizeof(uint32_t) + names;
	ring = calloc(1, size);
	if (ring == NULL) {
		free(checked);
		return -ENOMEM;
	}
	ring->params = *params;
	ring->n_members = n;
	ring->n_points = (uint32_t)n_points;
	ring->members = (struct ring_member *)(ring + 1);
	ring->values = (uint32_t *)(ring->members + n);
	ring->owners = ring->values + n_points;
	pool = (char *)(ring->owners + n_points);
	for (uint32_t i = 0; i < n; i++) {
		size_t len = strlen(members[i].name);
		struct ring_member *m = &ring->members[i];

		*m = checked[i];
		memcpy(pool, members[i].name, len + 1);
		m->name = pool;
		/* The host lies inside the name: point at the copy. */
		m->addr.host = pool + (checked[i].addr.host - members[i].name);
		pool += len + 1;
		if (m->points > 0)
			ring->n_owning++;
	}
	free(checked);

	ret = place_points(ring);
	if (ret != 0) {
		free(ring);
		return ret;
	}
	*out = ring;
	return 0;
}

void
nc_ring_destroy(struct nc_ring **ring)
{
	if (ring == NULL)
		return;
	free(*ring);
	*ring = NULL;
}

/* ---- lookups ---- */

struct nc_ring_params
nc_ring_params(const struct nc_ring *ring)
{
	return ring->params;
}

uint32_t
nc_ring_hash(const struct nc_ring *ring, const void *key, size_t len)
{
	return hash_key(ring->params.hash, key, len);
}

/* Position of the first point >= @p point, wrapping to 0 past the last. */
static uint32_t
point_pos(const struct nc_ring *ring, uint32_t point)
{
	uint32_t lo = 0, hi = ring->n_points;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ring->values[mid] < point)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == ring->n_points ? 0 : lo;
}

uint32_t
nc_ring_primary_at(const struct nc_ring *ring, uint32_t point)
{
	return ring->owners[point_pos(ring, point)];
}

uint32_t
nc_ring_primary(const struct nc_ring *ring, const void *key, size_t len)
{
	return nc_ring_primary_at(ring, nc_ring_hash(ring, key, len));
}

uint32_t
nc_ring_successors_at(const struct nc_ring *ring, uint32_t point, uint32_t r, uint32_t out[])
{
	uint32_t want = r < ring->n_owning ? r : ring->n_owning;
	uint32_t pos = point_pos(ring, point);
	uint32_t got = 0;

	for (uint32_t step = 0; got < want && step < ring->n_points; step++) {
		uint32_t m = ring->owners[pos];
		uint32_t j = 0;

		while (j < got && out[j] != m)
			j++;
		if (j == got)
			out[got++] = m;
		if (++pos == ring->n_points)
			pos = 0;
	}
	return got;
}

uint32_t
nc_ring_successors(const struct nc_ring *ring, const void *key, size_t len, uint32_t r,
		   uint32_t out[])
{
	return nc_ring_successors_at(ring, nc_ring_hash(ring, key, len), r, out);
}

uint32_t
nc_ring_member_count(const struct nc_ring *ring)
{
	return ring->n_members;
}

uint32_t
nc_ring_point_count(const struct nc_ring *ring)
{
	return ring->n_points;
}

const char *
nc_ring_member_name(const struct nc_ring *ring, uint32_t i)
{
	return i < ring->n_members ? ring->members[i].name : NULL;
}

int
nc_ring_member_addr(const struct nc_ring *ring, uint32_t i, char *host, size_t cap,
		    uint16_t *port)
{
	const struct ring_addr *a;

	if (i >= ring->n_members)
		return -EINVAL;
	a = &ring->members[i].addr;
	if (a->host_len + 1 > cap)
		return -ENOSPC;
	memcpy(host, a->host, a->host_len);
	host[a->host_len] = '\0';
	*port = (uint16_t)a->port;
	return 0;
}

uint32_t
nc_ring_member_weight(const struct nc_ring *ring, uint32_t i)
{
	return i < ring->n_members ? ring->members[i].weight : 0;
}

uint32_t
nc_ring_member_points(const struct nc_ring *ring, uint32_t i)
{
	return i < ring->n_members ? ring->members[i].points : 0;
}

/* Index of the member at @p a, or -ENOENT. */
static int
find_addr(const struct nc_ring *ring, const struct ring_addr *a)
{
	for (uint32_t i = 0; i < ring->n_members; i++)
		if (addr_equal(&ring->members[i].addr, a))
			return (int)i;
	return -ENOENT;
}

int
nc_ring_member_find(const struct nc_ring *ring, const char *name)
{
	struct ring_addr a;
	int ret = parse_name(name, &a);

	return ret != 0 ? ret : find_addr(ring, &a);
}

/* ---- ring change diff ---- */

/* State of one nc_ring_diff() walk. */
struct ring_diff {
	const struct nc_ring *old;
	const struct nc_ring *new;
	uint32_t r;
	uint32_t *old_to_new; /* old member index -> new index, or UINT32_MAX */
	nc_ring_diff_fn fn;
	void *arg;
	struct nc_ring_change pending; /* the arc being grown, reported when it ends */
	bool have_pending;
};

static uint32_t
sets_at(const struct nc_ring *ring, uint32_t point, uint32_t r, uint32_t out[])
{
	return ring == NULL ? 0 : nc_ring_successors_at(ring, point, r, out);
}

static bool
same_sets(const struct nc_ring_change *a, const struct nc_ring_change *b)
{
	return a->n_old == b->n_old && a->n_new == b->n_new &&
	       memcmp(a->old_set, b->old_set, a->n_old * sizeof(a->old_set[0])) == 0 &&
	       memcmp(a->new_set, b->new_set, a->n_new * sizeof(a->new_set[0])) == 0;
}

/* Report the pending arc, if any. Returns 0 or the callback's non-zero return. */
static int
diff_flush(struct ring_diff *d)
{
	if (!d->have_pending)
		return 0;
	d->have_pending = false;
	return d->fn(&d->pending, d->arg);
}

/* The key points first..last share one replica set in each ring: compare and record. */
static int
diff_arc(struct ring_diff *d, uint32_t first, uint32_t last)
{
	struct nc_ring_change c = {.first = first, .last = last};
	bool changed;
	int ret;

	c.n_old = sets_at(d->old, last, d->r, c.old_set);
	c.n_new = sets_at(d->new, last, d->r, c.new_set);
	changed = c.n_old != c.n_new;
	for (uint32_t k = 0; !changed && k < c.n_old; k++)
		changed = d->old_to_new[c.old_set[k]] != c.new_set[k];
	if (!changed)
		return diff_flush(d);
	if (d->have_pending && same_sets(&d->pending, &c) && d->pending.last + 1 == first) {
		d->pending.last = last;
		return 0;
	}
	ret = diff_flush(d);
	d->pending = c;
	d->have_pending = true;
	return ret;
}

/* Next point of either ring above *@p pos (every point when *started is false). */
static bool
next_boundary(const struct nc_ring *ring, uint32_t *pos, uint32_t above, bool started,
	      uint32_t *best)
{
	if (ring == NULL)
		return false;
	while (*pos < ring->n_points && started && ring->values[*pos] <= above)
		(*pos)++;
	if (*pos == ring->n_points)
		return false;
	if (ring->values[*pos] < *best)
		*best = ring->values[*pos];
	return true;
}

/* Walk the union of both rings' points; between two of them both replica sets are fixed. */
static int
diff_walk(struct ring_diff *d)
{
	uint32_t old_pos = 0, new_pos = 0, prev = 0;
	bool started = false;
	int ret;

	for (;;) {
		uint32_t b = UINT32_MAX;
		bool more = next_boundary(d->old, &old_pos, prev, started, &b);

		more |= next_boundary(d->new, &new_pos, prev, started, &b);
		if (!more)
			break;
		ret = diff_arc(d, started ? prev + 1 : 0, b);
		if (ret != 0)
			return ret;
		prev = b;
		started = true;
		if (b == UINT32_MAX)
			break;
	}
	/* Past the last point: the wrap-around arc's upper part. */
	if (started && prev != UINT32_MAX) {
		ret = diff_arc(d, prev + 1, UINT32_MAX);
		if (ret != 0)
			return ret;
	}
	return diff_flush(d);
}

int
nc_ring_diff(const struct nc_ring *old, const struct nc_ring *new, uint32_t r, nc_ring_diff_fn fn,
	     void *arg)
{
	struct ring_diff d = {.old = old, .new = new, .r = r, .fn = fn, .arg = arg};
	int ret;

	if (r == 0 || r > NC_RING_REPLICAS_MAX || fn == NULL)
		return -EINVAL;
	if (old != NULL && new != NULL && old->params.hash != new->params.hash)
		return -EINVAL;
	if (old == NULL && new == NULL)
		return 0;
	if (old != NULL) {
		d.old_to_new = malloc(old->n_members * sizeof(*d.old_to_new));
		if (d.old_to_new == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < old->n_members; i++) {
			int j = new == NULL ? -ENOENT : find_addr(new, &old->members[i].addr);

			d.old_to_new[i] = j < 0 ? UINT32_MAX : (uint32_t)j;
		}
	}
	ret = diff_walk(&d);
	free(d.old_to_new);
	return ret;
}
