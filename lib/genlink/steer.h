/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_GENLINK_STEER_H
#define NC_GENLINK_STEER_H

/*
 * Several load threads on one port, each with its own queue pair and its own block of
 * source ports, and every reply delivered to the thread that sent the request:
 *
 *   - thread i owns ports base + i x block .. base + (i + 1) x block - 1 (host order);
 *   - on a port whose device takes rte_flow rules (a NIC), a rule per thread and protocol
 *     (UDP, TCP) steers the destination ports of its block to its queue
 *     (genlink_steer_flows);
 *   - wherever a frame lands on another thread's queue anyway (memif and single-queue
 *     af_xdp do not steer by port; a server may answer from another of its queues), the
 *     thread that received it hands the mbuf to the owner through the owner's rte_ring
 *     (multi-producer, single-consumer, lock-free): genlink_receive() in link.h.
 *
 * Threads: create, flows and destroy on the main thread while no load thread runs;
 * genlink_receive() and genlink_steer_drain() on the thread of the link passed.
 * Errors: negative errno.
 */

#include <stdint.h>

#include "genlink/link.h"

/** Frames a thread's ring holds (a power of two; one less fits). */
#define GENLINK_STEER_RING 2048

struct genlink_steer;

/**
 * Which of @p nthreads threads owns port @p port (host order), when thread i owns @p block
 * ports from @p base + i x @p block. Pure.
 * @return the thread; -1 when no thread does (outside every block, or @p block 0).
 */
static inline int
genlink_port_owner(uint16_t base, uint16_t block, unsigned nthreads, uint16_t port)
{
	uint32_t off = (uint32_t)port - base;

	if (block == 0 || port < base || off / block >= nthreads)
		return -1;
	return (int)(off / block);
}

/**
 * [setup] Create the rings of @p nthreads threads whose blocks of @p block ports start at
 * @p base (host order), on NUMA @p socket; @p port_id names them.
 * @return 0 with *@p out; -EINVAL (no thread, or blocks past port 65535); -ENOMEM.
 */
int genlink_steer_create(uint16_t port_id, unsigned nthreads, uint16_t base, uint16_t block,
			 int socket, struct genlink_steer **out);

/** [setup] Free the rings and the frames left in them (NULL allowed); sets *@p s NULL. */
void genlink_steer_destroy(struct genlink_steer **s);

/** Attach @p s to @p l as thread @p thread's link (genlink_receive then hands over). */
void genlink_steer_attach(struct genlink_steer *s, struct genlink *l, uint16_t thread);

/**
 * [setup] Install on @p port_id a flow rule per thread and protocol steering its
 * destination-port block to queue i. All or nothing: when the device refuses one
 * (rte_flow_validate), none stays and the rings alone do the work.
 * @return rules installed (> 0); -ENOTSUP with the device's reason in @p msg.
 */
int genlink_steer_flows(const struct genlink_steer *s, uint16_t port_id, char *msg,
			size_t msgcap);

/** [the thread of @p l] Free the frames waiting in its ring (left from an earlier run). */
void genlink_steer_drain(struct genlink *l);

#endif /* NC_GENLINK_STEER_H */
