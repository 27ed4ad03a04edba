/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_NET_FAULT_H
#define NC_NET_FAULT_H

/*
 * Seeded fault injection in the packet path, for tests under loss (TCP retransmission,
 * reordering, duplicates, corruption) on machines without netem. Per frame and direction:
 *
 *   drop     the frame is freed;
 *   dup      a copy (rte_pktmbuf_copy from the interface's pool) follows it;
 *   reorder  the frame is held back and released right after the next frame of its direction
 *            (never held longer than NET_FAULT_HOLD_US);
 *   corrupt  one random bit of one random byte after the Ethernet header is flipped, so the
 *            IPv4 or L4 checksum catches it (IPv4 frames only: ARP has no checksum; RX
 *            checksum verdicts of the NIC are cleared, TX checksum offloads are done in
 *            software first, shared buffers are copied before the flip). A TSO frame to
 *            send is dropped instead (the NIC would checksum its segments over the flip).
 *
 * Received frames meet the faults right after rte_eth_rx_burst (before the packet path sees
 * them), frames we send right before rte_eth_tx_burst. Each queue draws from its own PRNG
 * (xorshift64*, seeded by splitmix64 from seed + queue id): a run with the same seed and the
 * same traffic makes the same decisions. Each fault is counted (fault_dropped,
 * fault_duplicated, fault_reordered, fault_corrupted in counters.h).
 *
 * Threads: net_fault_parse() and net_fault_active() keep no state (any thread). Faults are
 * set on a queue with net_queue_set_fault() (queue.h) during setup, or through the port
 * (struct net_site.fault -> struct net_iface.fault -> every net_queue_create()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest time a reordered frame is held back before it is released anyway. */
#define NET_FAULT_HOLD_US 1000

/** Probabilities (0..1) that one frame of a direction meets each fault. */
struct net_fault_dir {
	double drop, dup, reorder, corrupt;
};

/** Faults of both directions and the seed of the queues' generators; all zero: off. */
struct net_fault {
	struct net_fault_dir rx, tx;
	uint64_t seed;
};

/**
 * Parse a fault specification: comma-separated key=value items, any subset, in any order (a
 * later item overrides an earlier one), blanks around items allowed:
 *   seed=N                                 generator seed, unsigned decimal (default 0)
 *   rx-drop= rx-dup= rx-reorder= rx-corrupt=   probabilities of received frames
 *   tx-drop= tx-dup= tx-reorder= tx-corrupt=   probabilities of frames we send
 *   drop= dup= reorder= corrupt=           both directions
 * e.g. "seed=7,rx-drop=0.05,rx-reorder=0.05,tx-dup=0.01". Probabilities are decimal numbers
 * in [0, 1]. An empty string (or blanks only) is all off.
 * @return 0 with *f filled (every field not named is 0); -EINVAL for NULL arguments, an
 *         unknown key, a missing '=' or value, an empty item, a number that is malformed or
 *         out of range; *f is unchanged on error.
 */
int net_fault_parse(const char *text, struct net_fault *f);

/** Whether @p f asks for any fault (some probability above 0); false for NULL. */
bool net_fault_active(const struct net_fault *f);

/**
 * Write @p f as text net_fault_parse() reads back ("off" when inactive), e.g.
 * "seed=7,rx-drop=0.05,tx-reorder=0.01" (zero probabilities left out).
 * @return @p buf (truncated to @p cap - 1).
 */
const char *net_fault_format(const struct net_fault *f, char *buf, size_t cap);

#endif /* NC_NET_FAULT_H */
