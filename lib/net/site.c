/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Site files: which profile, which device, our IPv4 address, gateway, VLAN and MTU
 * (drivers-config/site.example.ini shows every key).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "port_private.h"

/* Network-order mask of a prefix length 0..32. */
static rte_be32_t
prefix_mask(unsigned prefix)
{
	return rte_cpu_to_be_32(prefix == 0 ? 0 : UINT32_MAX << (32 - prefix));
}

/* A unicast host address: not 0.0.0.0, not 127/8, not multicast or class E / broadcast. */
static int
parse_host(const char *v, rte_be32_t *out, char *why, size_t whycap)
{
	struct in_addr a;
	uint32_t h;

	if (inet_pton(AF_INET, v, &a) != 1) {
		net_msg(why, whycap, "bad address (expected a.b.c.d)");
		return -EINVAL;
	}
	h = rte_be_to_cpu_32(a.s_addr);
	if (h == 0 || (h >> 24) == 127 || (h >> 28) >= 0xe) {
		net_msg(why, whycap, "bad address (not a unicast host address)");
		return -EINVAL;
	}
	*out = a.s_addr;
	return 0;
}

static int
s_profile(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_site *s = obj;

	return net_parse_str(v, s->profile, sizeof(s->profile), why, whycap);
}

static int
s_iface(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_site *s = obj;

	if (strpbrk(v, ",{} \t") != NULL) {
		net_msg(why, whycap, "an interface name has no ',', '{', '}' or spaces");
		return -EINVAL;
	}
	return net_parse_str(v, s->iface, sizeof(s->iface), why, whycap);
}

static int
s_pci(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_site *s = obj;

	if (strpbrk(v, ",{} \t") != NULL) {
		net_msg(why, whycap, "bad PCI address (expected like 0000:03:00.0)");
		return -EINVAL;
	}
	return net_parse_str(v, s->pci, sizeof(s->pci), why, whycap);
}

static int
s_vlan(void *obj, const char *v, char *why, size_t whycap)
{
	unsigned long x;
	int rc = net_parse_uint(v, 0, 4094, &x, why, whycap);

	if (rc == 0)
		((struct net_site *)obj)->vlan_id = (uint16_t)x;
	return rc;
}

static int
s_mtu(void *obj, const char *v, char *why, size_t whycap)
{
	unsigned long x;
	int rc;

	if (strcmp(v, "0") == 0) {
		((struct net_site *)obj)->mtu = 0;
		return 0;
	}
	rc = net_parse_uint(v, RTE_ETHER_MIN_MTU, 9600, &x, why, whycap);
	if (rc == 0)
		((struct net_site *)obj)->mtu = (uint16_t)x;
	return rc;
}

/* a.b.c.d/prefix, prefix 1..32. */
static int
s_address(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_site *s = obj;
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	unsigned long prefix;
	size_t n;
	int rc;

	if (slash == NULL) {
		net_msg(why, whycap, "bad address/prefix (expected a.b.c.d/prefix)");
		return -EINVAL;
	}
	n = (size_t)(slash - v);
	if (n >= sizeof(ip)) {
		net_msg(why, whycap, "bad address/prefix (expected a.b.c.d/prefix)");
		return -EINVAL;
	}
	memcpy(ip, v, n);
	ip[n] = '\0';
	rc = parse_host(ip, &s->ip, why, whycap);
	if (rc != 0)
		return rc;
	rc = net_parse_uint(slash + 1, 1, 32, &prefix, why, whycap);
	if (rc != 0) {
		net_msg(why, whycap, "bad prefix (expected 1..32)");
		return rc;
	}
	s->prefix = (uint8_t)prefix;
	return 0;
}

static int
s_gateway(void *obj, const char *v, char *why, size_t whycap)
{
	return parse_host(v, &((struct net_site *)obj)->gateway, why, whycap);
}

/* One key per line. */
/* clang-format off */
static const struct net_ini_key site_keys[] = {
	{"port", "profile", s_profile},
	{"port", "iface", s_iface},
	{"port", "pci", s_pci},
	{"port", "vlan", s_vlan},
	{"port", "mtu", s_mtu},
	{"ipv4", "address", s_address},
	{"ipv4", "gateway", s_gateway},
};
/* clang-format on */
#define SITE_KEY_COUNT (sizeof(site_keys) / sizeof(site_keys[0]))

int
net_site_load(const char *path, struct net_site *s, char *msg, size_t msgcap)
{
	int rc;

	memset(s, 0, sizeof(*s));
	rc = net_ini_read(path, site_keys, SITE_KEY_COUNT, s, NULL, msg, msgcap);
	if (rc != 0)
		return rc;
	if (s->profile[0] == '\0') {
		net_msg(msg, msgcap, "%s: [port] key 'profile' is missing", path);
		return -EINVAL;
	}
	if (s->ip == 0) {
		net_msg(msg, msgcap, "%s: [ipv4] key 'address' is missing", path);
		return -EINVAL;
	}
	if (s->gateway != 0 && ((s->gateway ^ s->ip) & prefix_mask(s->prefix)) != 0) {
		net_msg(msg, msgcap, "%s: [ipv4] key 'gateway': not inside address/prefix", path);
		return -EINVAL;
	}
	if (s->gateway == s->ip) {
		net_msg(msg, msgcap, "%s: [ipv4] key 'gateway': our own address", path);
		return -EINVAL;
	}
	return 0;
}

const char *
net_site_profile_path(const struct net_site *s, const char *drivers_dir, char *buf, size_t cap)
{
	int n;

	if (strchr(s->profile, '/') != NULL)
		n = snprintf(buf, cap, "%s", s->profile);
	else
		n = snprintf(buf, cap, "%s/%s.ini", drivers_dir, s->profile);
	return n < 0 || (size_t)n >= cap ? NULL : buf;
}

int
net_site_profile_load(const struct net_site *s, const char *drivers_dir, struct net_profile *p,
		      char *msg, size_t msgcap)
{
	char path[1024], why[512];
	int rc;

	if (net_site_profile_path(s, drivers_dir, path, sizeof(path)) == NULL) {
		net_msg(msg, msgcap, "the path of profile %s is too long", s->profile);
		return -ENAMETOOLONG;
	}
	rc = net_profile_load(path, p, why, sizeof(why));
	if (rc != 0)
		net_msg(msg, msgcap, "NIC profile %s: %s", path, why);
	return rc;
}
