/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CLUSTER_RING_H
#define NC_CLUSTER_RING_H

/*
 * The cluster's placement ring: a ketama continuum built exactly as libmemcached 1.1.4 builds
 * it, so servers and unmodified ketama clients agree on every key's primary member, and a
 * key's replicas are the next distinct members clockwise from its point.
 *
 * A ring is a sorted list of 32-bit points; each point belongs to one member. A key's point is
 * a 32-bit hash of the key; its primary is the member of the first ring point >= the key's
 * point, wrapping past the largest point to the smallest. Its replica set for R copies is that
 * primary followed by the next R-1 distinct members met walking clockwise (upwards, wrapping).
 * A ketama client that ejects a dead member rebuilds its continuum without that member, so
 * for the dead member's keys it looks up the member this ring puts next, the one holding the
 * copy, as long as the other members keep their point counts: always with
 * NC_RING_POINTS_FLAT; with NC_RING_POINTS_WEIGHTED when all weights are equal and the
 * member count does not cross one of the 156-point counts below (26 -> 25). With unequal
 * weights, libmemcached rescales every share when a member leaves (a member's points depend
 * on the mean weight), so a few percent of other keys move between the survivors too, and
 * part of the dead member's keys land elsewhere than the next member clockwise.
 *
 * Members are named as the clients write them: "host:port", or "host" alone for port 11211;
 * an IPv6 literal in brackets ("[::1]:22122", "[::1]"). The host is used byte for byte as
 * written (no resolution, case kept): "cache1" and "10.0.0.1" are different members even if
 * one resolves to the other, because clients hash the string they were given.
 *
 * How libmemcached 1.1.4 builds a continuum (src/libmemcached/hosts.cc update_continuum),
 * reproduced here including its quirks:
 *  - Point names: "<host>-<i>" when the port is 11211, else "<host>:<port>-<i>", i counting
 *    from 0; the host without IPv6 brackets.
 *  - NC_RING_POINTS_WEIGHTED (libmemcached's weighted ketama; the libketama-compatible mode):
 *    a member gets floor(w/W * 160 / 4 * n + 1e-10) * 4 points, computed in single precision
 *    float exactly as libmemcached does (w its weight, W the sum of weights, n the member
 *    count). Because of float rounding, n equal members get 156 points each, not 160, for
 *    n = 25, 47, 50, 55, 61, 71, 94, 100, ... A member whose share rounds to 0 gets no points
 *    and owns no keys. Each MD5 digest of a point name gives 4 points: digest bytes 4x..4x+3
 *    read little-endian, x = 0..3. Points are always MD5, whatever the key hash.
 *  - NC_RING_POINTS_FLAT (libmemcached's unweighted ketama): 100 points per member, one per
 *    point name, each the key hash of the name. Weights must all be 1.
 *  - Key hash: NC_RING_HASH_MD5 is the first 4 bytes of MD5(key) read little-endian.
 *    NC_RING_HASH_OAAT is libhashkit's "default" hash, Jenkins one-at-a-time over the key's
 *    bytes read as (signed) char, which is what x86-64 builds do: for keys with bytes >= 0x80
 *    it differs from libmemcached built where char is unsigned (e.g. aarch64).
 *  - Equal points: the member listed first wins (libmemcached sorts by value, then index).
 *  - A key point above the largest ring point goes to the smallest (wrap-around).
 *  - Members keep their list order as index; it matters only for equal points.
 *  - Every member counts as live: this is libmemcached's continuum with no server ejected.
 *
 * Which client settings agree with which ring parameters:
 *  - {WEIGHTED, MD5} (the zero params): libmemcached MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED
 *    (pylibmc behaviors={"ketama_weighted": True}; PHP Memcached OPT_LIBKETAMA_COMPATIBLE),
 *    for any weights.
 *  - {FLAT, OAAT}: libmemcached MEMCACHED_BEHAVIOR_KETAMA alone (pylibmc
 *    behaviors={"ketama": True}), all weights 1. {FLAT, MD5}: the same plus hash md5.
 *  - {WEIGHTED, OAAT}: pylibmc {"ketama": True} when some weight is above 1: libmemcached
 *    switches to weighted points when such a server is added, but keeps the key hash.
 *  - spymemcached's KetamaConnectionFactory (KETAMA_HASH: MD5 keys, 160 points, 4 per
 *    digest) with KetamaNodeKeyFormatter.Format.LIBMEMCACHED names points as libmemcached
 *    does and, given a weights map, uses the same float formula: it agrees with
 *    {WEIGHTED, MD5} except that equal points go to the member listed last (TreeMap.put),
 *    and without a weights map it always gives 160 points (libmemcached: 156 at the counts
 *    above). Its default Format.SPYMEMCACHED names points by the InetSocketAddress without
 *    a leading '/': "ip:port-i" for an IP literal, the port always written, and
 *    "hostname/ip:port-i" for a hostname; so it agrees only for members named by IP literal
 *    on a port other than 11211.
 *
 * Threads: a ring is immutable once built; any thread may read it with the [reader] functions
 * at any time. [control] functions allocate with malloc and are meant for the control core,
 * off the data path. Publishing a new ring to readers (and freeing the old one after a grace
 * period) is the caller's business.
 */

#include <stddef.h>
#include <stdint.h>

/** Longest member name, bytes, without the terminating NUL. */
#define NC_RING_NAME_MAX 255

/** Most members a ring takes. */
#define NC_RING_MEMBERS_MAX 4096

/** Largest replica count nc_ring_diff() compares. */
#define NC_RING_REPLICAS_MAX 8

/** The port a name without one means (memcached's). */
#define NC_RING_DEFAULT_PORT 11211

/** How points are made (see the file comment). */
enum nc_ring_points {
	NC_RING_POINTS_WEIGHTED = 0, /* 160 per member scaled by weight, 4 per MD5 digest */
	NC_RING_POINTS_FLAT,	     /* 100 per member, one per name, hashed with the key hash */
};

/** How a key is hashed to its point (see the file comment). */
enum nc_ring_hash {
	NC_RING_HASH_MD5 = 0, /* MD5, first 4 bytes little-endian */
	NC_RING_HASH_OAAT,    /* libhashkit "default": Jenkins one-at-a-time, signed chars */
};

/** How to build a ring. All zero: libmemcached's weighted (libketama-compatible) ketama. */
struct nc_ring_params {
	enum nc_ring_points points;
	enum nc_ring_hash hash;
};

/** One member as the caller lists it; its index in the list is its index in the ring. */
struct nc_ring_member {
	const char *name; /* "host:port", "host" (port 11211), "[v6]:port" or "[v6]" */
	uint32_t weight;  /* >= 1; only relative weights matter; must be 1 for POINTS_FLAT */
};

/** One arc of the hash space whose replica set differs between two rings. */
struct nc_ring_change {
	uint32_t first;				/* first key point of the arc */
	uint32_t last;				/* last key point, inclusive; first <= last */
	uint32_t n_old;				/* members in old_set (0: no old ring) */
	uint32_t n_new;				/* members in new_set (0: no new ring) */
	uint32_t old_set[NC_RING_REPLICAS_MAX]; /* old ring's member indices, primary first */
	uint32_t new_set[NC_RING_REPLICAS_MAX]; /* new ring's member indices, primary first */
};

/**
 * Called by nc_ring_diff() once per changed arc, in ascending order of points. @p c is valid
 * only during the call. Return 0 to go on; anything else stops the diff, which returns it.
 */
typedef int (*nc_ring_diff_fn)(const struct nc_ring_change *c, void *arg);

struct nc_ring;

/**
 * [control] Build a ring from @p n members. The ring copies what it needs from @p members
 * (names included); the caller keeps ownership of the array. @p params NULL means all zero.
 * @p bad (may be NULL) receives the index of the offending member on -EINVAL,
 * -ENAMETOOLONG and -EEXIST (the later of two duplicates), otherwise it is left alone.
 * @return 0 with *out set to a ring the caller releases with nc_ring_destroy(); or
 *         -EINVAL: n is 0, members or out is NULL, a name is NULL, empty or malformed (no
 *         host, a port not in 1..65535 or not decimal, a space, control byte or DEL, a bare
 *         IPv6 address), a weight is 0, a weight is not 1 with NC_RING_POINTS_FLAT, or
 *         params are unknown;
 *         -ENAMETOOLONG: a name is longer than NC_RING_NAME_MAX;
 *         -EEXIST: two members name the same host and port ("h" and "h:11211" are the same);
 *         -E2BIG: more than NC_RING_MEMBERS_MAX members;
 *         -ENOMEM.
 *         On error *out is left alone.
 */
int nc_ring_build(const struct nc_ring_member *members, uint32_t n,
		  const struct nc_ring_params *params, struct nc_ring **out, uint32_t *bad);

/**
 * [control] Free a ring and set *ring to NULL; NULL and *ring == NULL are allowed. No reader
 * may still use it (free it after an RCU grace period when readers could see it).
 */
void nc_ring_destroy(struct nc_ring **ring);

/** [reader] The parameters the ring was built with. */
struct nc_ring_params nc_ring_params(const struct nc_ring *ring);

/** [reader] The key's 32-bit point under the ring's key hash. @p key may be NULL if len is 0. */
uint32_t nc_ring_hash(const struct nc_ring *ring, const void *key, size_t len);

/** [reader] Index of the member owning @p point: the first ring point >= it, wrapping. */
uint32_t nc_ring_primary_at(const struct nc_ring *ring, uint32_t point);

/** [reader] Index of the key's primary member; nc_ring_primary_at(nc_ring_hash(key)). */
uint32_t nc_ring_primary(const struct nc_ring *ring, const void *key, size_t len);

/**
 * [reader] Replica set of @p point: its primary, then the next distinct members clockwise,
 * @p r at the most, written to out[0..r).
 * @return how many were written: min(r, members that own points). Costs one binary search
 *         and a walk over the points until r distinct members are met.
 */
uint32_t nc_ring_successors_at(const struct nc_ring *ring, uint32_t point, uint32_t r,
			       uint32_t out[]);

/** [reader] nc_ring_successors_at() for a key. */
uint32_t nc_ring_successors(const struct nc_ring *ring, const void *key, size_t len, uint32_t r,
			    uint32_t out[]);

/** [reader] Number of members (owning points or not). */
uint32_t nc_ring_member_count(const struct nc_ring *ring);

/** [reader] Number of points on the ring. */
uint32_t nc_ring_point_count(const struct nc_ring *ring);

/** [reader] Member @p i's name as given to nc_ring_build(); NULL if i is out of range. */
const char *nc_ring_member_name(const struct nc_ring *ring, uint32_t i);

/**
 * [reader] Member @p i's host (IPv6 brackets removed, NUL-terminated, into @p host of @p cap
 * bytes) and port (11211 when its name has none).
 * @return 0; -EINVAL if i is out of range; -ENOSPC if the host does not fit.
 */
int nc_ring_member_addr(const struct nc_ring *ring, uint32_t i, char *host, size_t cap,
			uint16_t *port);

/** [reader] Member @p i's weight; 0 if i is out of range. */
uint32_t nc_ring_member_weight(const struct nc_ring *ring, uint32_t i);

/** [reader] How many points member @p i has (0 if it owns none or i is out of range). */
uint32_t nc_ring_member_points(const struct nc_ring *ring, uint32_t i);

/**
 * [reader] Find a member by name; "h" and "h:11211" find the same member.
 * @return its index; -ENOENT if no member has that host and port; -EINVAL for a malformed
 *         name, -ENAMETOOLONG for one longer than NC_RING_NAME_MAX.
 */
int nc_ring_member_find(const struct nc_ring *ring, const char *name);

/**
 * [control] Report every arc of the 32-bit key space whose replica set (the first @p r
 * distinct members, primary first, order included) differs between @p old and @p new.
 * Members are the same across rings when they name the same host and port. Adjacent arcs
 * with the same old and new sets are reported as one; an arc never wraps past 0xffffffff
 * (the wrap-around arc is reported as two). Either ring may be NULL, meaning no ring (every
 * arc changes, with an empty set on that side); both NULL reports nothing.
 * @return 0 when every arc was reported; -EINVAL if r is 0 or above NC_RING_REPLICAS_MAX,
 *         fn is NULL, or the rings hash keys differently; -ENOMEM; or the callback's
 *         non-zero return.
 */
int nc_ring_diff(const struct nc_ring *old, const struct nc_ring *new, uint32_t r,
		 nc_ring_diff_fn fn, void *arg);

#endif /* NC_CLUSTER_RING_H */
