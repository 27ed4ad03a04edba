/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_MCGEN_DPDK_SITE_H
#define NC_MCGEN_DPDK_SITE_H

/*
 * mcgen --site: the generator's DPDK port from a site file and the NIC profile it names
 * (drivers-config/<profile>.ini), read by the same code as nicached's --site. The profile says
 * how EAL finds the device (its --vdev or -a arguments; the load uses that device, whatever
 * else EAL makes), the descriptors, the queue policy and limit, RSS types and key, the mbuf
 * pool and promiscuous mode; the site says which device and our IPv4 address. The generator
 * builds its frames and checksums itself, untagged, up to 1,500 bytes in one mbuf: a site
 * with a VLAN, a port MTU below 1,500 or mbufs too small for such a frame is refused, and the
 * profile's offloads are not used.
 *
 * Threads: main thread, before rte_eal_init(). Errors: negative errno with a message.
 */

#include <stdint.h>

#include <rte_byteorder.h>

#include "genlink/link.h"

/** Most EAL words a site adds (--no-pci, the device flag and its arguments). */
#define MCGEN_SITE_ARGS_MAX 3

/** What a site file and its profile give mcgen's DPDK side. */
struct mcgen_site {
	struct genlink_port_conf port; /* the device, rings, RSS, pool, promiscuous */
	rte_be32_t ip;		       /* the site's address: ours unless --src-ip */
	char profile[64];	       /* the profile's [driver] name, for messages */
	char device[64];	       /* EAL's name of the device (port.device points here) */
	int argc;		       /* EAL words in argv */
	char *argv[MCGEN_SITE_ARGS_MAX]; /* pointing into buf (or a literal) */
	char buf[1024];
};

/**
 * Load site file @p path and the profile it names (a path, or a name in @p drivers_dir; empty
 * @p drivers_dir: the installed folder, else the source tree's when run from the build tree)
 * for a port of @p nb_queues queue pairs.
 * @return 0 with @p out filled; -ENOENT (a file missing), -ENAMETOOLONG (the profile's path
 * does not fit), -EINVAL (a bad key, a VLAN, an MTU
 * below 1,500, mbufs too small for a 1,500-byte frame, more queue pairs than the profile
 * allows, device arguments that do not expand), with a message in @p err.
 */
int mcgen_site_load(const char *path, const char *drivers_dir, unsigned nb_queues,
		    struct mcgen_site *out, char *err, size_t errlen);

#endif /* NC_MCGEN_DPDK_SITE_H */
