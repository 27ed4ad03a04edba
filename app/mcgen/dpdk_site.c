/* SPDX-License-Identifier: BSD-3-Clause */
/* mcgen --site: the DPDK port from a site file and its NIC profile (dpdk_site.h). */
#include "dpdk_site.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/port.h"

/* The folder of the NIC profiles: @p given, else the installed one, else the source tree's. */
static const char *
drivers_folder(const char *given)
{
	if (given != NULL && given[0] != '\0')
		return given;
#ifdef NC_SOURCE_DRIVERS_DIR
	/* Run from the build tree, never installed: the source tree's profiles. */
	if (access(NC_DRIVERS_DIR, R_OK) != 0 && access(NC_SOURCE_DRIVERS_DIR, R_OK) == 0)
		return NC_SOURCE_DRIVERS_DIR;
#endif
	return NC_DRIVERS_DIR;
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
	c->promiscuous = p->promiscuous;
}

int
mcgen_site_load(const char *path, const char *drivers_dir, unsigned nb_queues,
		struct mcgen_site *out, char *err, size_t errlen)
{
	struct net_site site;
	struct net_profile prof;
	char ppath[1024], msg[512];
	uint16_t mtu;
	int rc, n;

	memset(out, 0, sizeof(*out));
	rc = net_site_load(path, &site, msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errlen, "--site %s: %s", path, msg);
		return rc;
	}
	if (net_site_profile_path(&site, drivers_folder(drivers_dir), ppath, sizeof(ppath)) == NULL) {
		snprintf(err, errlen, "--site %s: the profile's path is too long", path);
		return -EINVAL;
	}
	rc = net_profile_load(ppath, &prof, msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errlen, "--site %s: NIC profile %s: %s", path, ppath, msg);
		return rc;
	}
	mtu = site.mtu != 0 ? site.mtu : prof.mtu;
	if (site.vlan_id != 0 || mtu < GENLINK_MTU) {
		snprintf(err, errlen, "--site %s: mcgen sends untagged frames of up to %u bytes (%s)",
			 path, GENLINK_MTU, site.vlan_id != 0 ? "the site has a VLAN" : "MTU too low");
		return -EINVAL;
	}
	snprintf(out->profile, sizeof(out->profile), "%s", prof.name);
	port_conf_of(&prof, &out->port);
	out->ip = site.ip;
	if (prof.vdev)
		out->argv[out->argc++] = "--no-pci";
	n = net_port_eal_args(&prof, &site, nb_queues, out->buf, sizeof(out->buf),
			      out->argv + out->argc, MCGEN_SITE_ARGS_MAX - out->argc, msg, sizeof(msg));
	if (n < 0) {
		snprintf(err, errlen, "--site %s: NIC profile %s: %s", path, ppath, msg);
		return n;
	}
	out->argc += n;
	return 0;
}
