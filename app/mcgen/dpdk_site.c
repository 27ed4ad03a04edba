/* SPDX-License-Identifier: BSD-3-Clause */
/* mcgen --site: the DPDK port from a site file and its NIC profile (dpdk_site.h). */
#include "dpdk_site.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/install_path.h"
#include "net/port.h"

/* The folder of the NIC profiles: @p given, else the installed one, else the source tree's. */
static const char *
drivers_folder(const char *given)
{
	if (given != NULL && given[0] != '\0')
		return given;
	return nc_installed_or_source(NC_DRIVERS_DIR, NC_SOURCE_DRIVERS_DIR_OR_NULL);
}

/* The port setup @p p asks for, over the built-in one. */
static void
port_conf_of(const struct net_profile *p, struct genlink_port_conf *c)
{
	_Static_assert(GENLINK_RSS_KEY_MAX >= NET_RSS_KEY_MAX, "an RSS key fits");

	genlink_port_conf_default(c);
	c->rx_desc = p->rx_desc;
	c->tx_desc = p->tx_desc;
	c->rss_hf = p->rss_hf;
	memcpy(c->rss_key, p->rss_key, p->rss_key_len);
	c->rss_key_len = p->rss_key_len;
	c->mbuf_data_room = p->mbuf_data_room;
	c->mbuf_cache = p->mbuf_cache;
	c->mbuf_extra = p->mbuf_extra;
	c->promiscuous = p->promiscuous ? 1 : 0;
}

/*
 * What mcgen cannot do with profile @p p and site @p s for @p nb_queues queue pairs, said in
 * @p why. @return true when it can.
 */
static bool
site_usable(const struct net_profile *p, const struct net_site *s, unsigned nb_queues,
	    char *why, size_t whycap)
{
	uint16_t mtu = s->mtu != 0 ? s->mtu : p->mtu;

	if (s->vlan_id != 0)
		snprintf(why, whycap, "the site has a VLAN (mcgen sends untagged frames)");
	else if (mtu < GENLINK_MTU)
		snprintf(why, whycap, "MTU %u (mcgen sends frames of up to %u bytes)", mtu,
			 GENLINK_MTU);
	else if (p->mbuf_data_room < RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN + GENLINK_MTU)
		snprintf(why, whycap, "[mempool] data_room %u: a %u-byte frame needs %u",
			 p->mbuf_data_room, GENLINK_MTU,
			 RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN + GENLINK_MTU);
	else if (p->queues == NET_QUEUES_ONE && nb_queues > 1)
		snprintf(why, whycap, "one queue pair (policy one): run one thread");
	else if (p->max_queues != 0 && nb_queues > p->max_queues)
		snprintf(why, whycap, "at most %u queue pairs ([queues] max), %u threads",
			 p->max_queues, nb_queues);
	else
		return true;
	return false;
}

/* EAL's name of the device in @p args (the words net_port_eal_args() gave): up to a ','. */
static void
device_name(const char *args, char *out, size_t cap)
{
	size_t n = strcspn(args, ",");

	snprintf(out, cap, "%.*s", (int)n, args);
}

int
mcgen_site_load(const char *path, const char *drivers_dir, unsigned nb_queues,
		struct mcgen_site *out, char *err, size_t errlen)
{
	struct net_site site;
	struct net_profile prof;
	char msg[1024 + 512];
	int rc, n;

	memset(out, 0, sizeof(*out));
	rc = net_site_load(path, &site, msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errlen, "--site %s: %s", path, msg);
		return rc;
	}
	rc = net_site_profile_load(&site, drivers_folder(drivers_dir), &prof, msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errlen, "--site %s: %s", path, msg);
		return rc;
	}
	if (!site_usable(&prof, &site, nb_queues, msg, sizeof(msg))) {
		snprintf(err, errlen, "--site %s: profile %s: %s", path, site.profile, msg);
		return -EINVAL;
	}
	snprintf(out->profile, sizeof(out->profile), "%s", prof.name);
	port_conf_of(&prof, &out->port);
	out->ip = site.ip;
	if (prof.vdev)
		out->argv[out->argc++] = "--no-pci";
	n = net_port_eal_args(&prof, &site, nb_queues, out->buf, sizeof(out->buf),
			      out->argv + out->argc, MCGEN_SITE_ARGS_MAX - out->argc, msg,
			      sizeof(msg));
	if (n < 0) {
		snprintf(err, errlen, "--site %s: profile %s: %s", path, site.profile, msg);
		return n;
	}
	out->argc += n;
	device_name(out->argv[out->argc - 1], out->device, sizeof(out->device));
	out->port.device = out->device;
	return 0;
}
