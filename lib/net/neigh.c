/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour table: open addressing over NET_NEIGH_SIZE slots, a probe window of
 * NEIGH_PROBE slots from the address's hash. Each slot is guarded by a sequence counter
 * (odd while a writer is inside): readers load the fields with relaxed atomics between two
 * reads of the counter and retry when it moved, so they never see a MAC half written.
 * Writers serialise on one spinlock; they come only when something changed or an entry
 * needs a fresh timestamp (at most once per NET_NEIGH_REFRESH_S per entry).
 */
#include "net/neigh.h"

#include <string.h>

#include <rte_malloc.h>
#include <rte_spinlock.h>

#define NEIGH_PROBE 8

_Static_assert((NET_NEIGH_SIZE & (NET_NEIGH_SIZE - 1)) == 0, "NET_NEIGH_SIZE: a power of 2");

struct neigh_slot {
	uint32_t seq;	    /* odd: a writer is changing the slot */
	rte_be32_t ip;	    /* 0: empty */
	uint64_t mac;	    /* the 6 MAC bytes in the low bytes of a little-endian word */
	uint64_t learned_s; /* when learned or last refreshed */
};

struct net_neigh {
	rte_spinlock_t lock; /* writers only */
	struct neigh_slot slot[NET_NEIGH_SIZE];
};

/** Pack a MAC into a word (byte i at bits 8i). */
static inline uint64_t
mac_pack(const struct rte_ether_addr *mac)
{
	uint64_t w = 0;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		w |= (uint64_t)mac->addr_bytes[i] << (8 * i);
	return w;
}

/** Unpack a word made by mac_pack(). */
static inline void
mac_unpack(uint64_t w, struct rte_ether_addr *mac)
{
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(w >> (8 * i));
}

/** First slot of @p ip's probe window. */
static inline unsigned
neigh_home(rte_be32_t ip)
{
	uint32_t h = (uint32_t)ip * 2654435761u;

	return h >> (32 - __builtin_ctz(NET_NEIGH_SIZE));
}

/** A consistent copy of slot @p s (retries while a writer is inside). Any thread. */
static inline void
slot_read(const struct neigh_slot *s, rte_be32_t *ip, uint64_t *mac, uint64_t *learned_s)
{
	uint32_t s1, s2;

	do {
		s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		while (s1 & 1) {
			rte_pause();
			s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		}
		*ip = __atomic_load_n(&s->ip, __ATOMIC_RELAXED);
		*mac = __atomic_load_n(&s->mac, __ATOMIC_RELAXED);
		*learned_s = __atomic_load_n(&s->learned_s, __ATOMIC_RELAXED);
		/* Order the field loads before the second counter load. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	} while (s1 != s2);
}

/** Rewrite slot @p s (caller holds the lock, so it is the only writer). */
static inline void
slot_write(struct neigh_slot *s, rte_be32_t ip, uint64_t mac, uint64_t learned_s)
{
	uint32_t seq = s->seq;

	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	/* Readers must see the odd counter before any new field value. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->ip, ip, __ATOMIC_RELAXED);
	__atomic_store_n(&s->mac, mac, __ATOMIC_RELAXED);
	__atomic_store_n(&s->learned_s, learned_s, __ATOMIC_RELAXED);
	/* The fields are published with the even counter. */
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

struct net_neigh *
net_neigh_create(int socket)
{
	struct net_neigh *n =
		rte_zmalloc_socket("net_neigh", sizeof(*n), RTE_CACHE_LINE_SIZE, socket);

	if (n != NULL)
		rte_spinlock_init(&n->lock);
	return n;
}

void
net_neigh_destroy(struct net_neigh **n)
{
	if (n == NULL)
		return;
	rte_free(*n);
	*n = NULL;
}

/** Find @p ip lock-free. @return its slot index, or -1. */
static int
neigh_find(const struct net_neigh *n, rte_be32_t ip, uint64_t *mac, uint64_t *learned_s)
{
	unsigned home = neigh_home(ip);

	for (unsigned i = 0; i < NEIGH_PROBE; i++) {
		unsigned idx = (home + i) & (NET_NEIGH_SIZE - 1);
		rte_be32_t sip;

		slot_read(&n->slot[idx], &sip, mac, learned_s);
		if (sip == ip)
			return (int)idx;
	}
	return -1;
}

bool
net_neigh_learn(struct net_neigh *n, rte_be32_t ip, const struct rte_ether_addr *mac,
		uint64_t now_s)
{
	uint64_t w = mac_pack(mac);
	uint64_t old_mac, learned;
	int victim = -1, hole = -1, oldest = -1;
	bool found = false;
	unsigned home;

	if (ip == 0)
		return false;
	/* Fast path, no shared write: known, same MAC, recently refreshed. */
	if (neigh_find(n, ip, &old_mac, &learned) >= 0 && old_mac == w &&
	    now_s - learned < NET_NEIGH_REFRESH_S && now_s >= learned)
		return false;

	rte_spinlock_lock(&n->lock);
	home = neigh_home(ip);
	for (unsigned i = 0; i < NEIGH_PROBE; i++) {
		unsigned idx = (home + i) & (NET_NEIGH_SIZE - 1);
		const struct neigh_slot *s = &n->slot[idx];

		if (s->ip == ip) {
			victim = (int)idx;
			found = true;
			break;
		}
		if (s->ip == 0) {
			if (hole < 0)
				hole = (int)idx;
		} else if (oldest < 0 || s->learned_s < n->slot[oldest].learned_s) {
			oldest = (int)idx;
		}
	}
	if (!found)
		victim = hole >= 0 ? hole : oldest;
	if (found && n->slot[victim].mac == w && n->slot[victim].learned_s == now_s) {
		rte_spinlock_unlock(&n->lock);
		return false;
	}
	slot_write(&n->slot[victim], ip, w, now_s);
	rte_spinlock_unlock(&n->lock);
	return true;
}

bool
net_neigh_lookup(const struct net_neigh *n, rte_be32_t ip, struct rte_ether_addr *mac,
		 uint64_t now_s, uint64_t *age_s)
{
	uint64_t w, learned;

	if (ip == 0 || neigh_find(n, ip, &w, &learned) < 0)
		return false;
	mac_unpack(w, mac);
	if (age_s != NULL)
		*age_s = now_s > learned ? now_s - learned : 0;
	return true;
}

unsigned
net_neigh_walk(const struct net_neigh *n, uint64_t now_s,
	       void (*fn)(void *arg, rte_be32_t ip, const struct rte_ether_addr *mac,
			  uint64_t age_s),
	       void *arg)
{
	unsigned visited = 0;

	for (unsigned i = 0; i < NET_NEIGH_SIZE; i++) {
		struct rte_ether_addr mac;
		rte_be32_t ip;
		uint64_t w, learned;

		slot_read(&n->slot[i], &ip, &w, &learned);
		if (ip == 0)
			continue;
		mac_unpack(w, &mac);
		fn(arg, ip, &mac, now_s > learned ? now_s - learned : 0);
		visited++;
	}
	return visited;
}
