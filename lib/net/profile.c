/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NIC profiles: drivers-config/<family>.ini into struct net_profile. Defaults (for keys a
 * profile leaves out) are set by profile_defaults(); drivers-config/README.md lists them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "port_private.h"

struct rss_type {
	const char *name;
	uint64_t bits;
	bool single; /* one protocol (printed back), not a group */
};

#define RSS_ENTRY(n, b, s) {.name = n, .bits = b, .single = s},
static const struct rss_type rss_types[] = {NET_RSS_TYPES(RSS_ENTRY)};
#undef RSS_ENTRY
#define RSS_TYPE_COUNT (sizeof(rss_types) / sizeof(rss_types[0]))

bool
net_rss_lookup(const char *name, uint64_t *bits)
{
	for (size_t i = 0; i < RSS_TYPE_COUNT; i++) {
		if (strcmp(rss_types[i].name, name) == 0) {
			*bits = rss_types[i].bits;
			return true;
		}
	}
	return false;
}

size_t
net_rss_names(uint64_t bits, char *buf, size_t cap)
{
	size_t len = 0;
	int n;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < RSS_TYPE_COUNT && bits != 0; i++) {
		if (!rss_types[i].single || (bits & rss_types[i].bits) != rss_types[i].bits)
			continue;
		bits &= ~rss_types[i].bits;
		n = snprintf(buf + len, cap - len, "%s%s", len > 0 ? " " : "", rss_types[i].name);
		if (n < 0 || (size_t)n >= cap - len)
			return cap - 1;
		len += (size_t)n;
	}
	if (bits != 0) {
		n = snprintf(buf + len, cap - len, "%s0x%llx", len > 0 ? " " : "",
			     (unsigned long long)bits);
		if (n < 0 || (size_t)n >= cap - len)
			return cap - 1;
		len += (size_t)n;
	}
	return len;
}

static void
profile_defaults(struct net_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->vdev = false;
	snprintf(p->devargs, sizeof(p->devargs), "{pci}");
	p->rx_desc = 1024;
	p->tx_desc = 1024;
	p->queues = NET_QUEUES_PER_WORKER;
	p->max_queues = 0;
	p->rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV4_TCP;
	p->rss_key_len = 0;
	/* Every checksum offload the device has; TSO only where a profile asks (it needs
	 * multi-segment TX, which turns off some PMDs' vector TX paths). */
	p->offloads = (struct net_offloads){.rx_ip_cksum = true,
					    .rx_l4_cksum = true,
					    .tx_ip_cksum = true,
					    .tx_udp_cksum = true,
					    .tx_tcp_cksum = true,
					    .tx_tcp_tso = false};
	p->mtu = 1500;
	p->promiscuous = false;
	p->mbuf_data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
	p->mbuf_cache = 256;
	p->mbuf_extra = 4096;
}

static int
p_name(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_profile *p = obj;

	for (const char *c = v; *c != '\0'; c++) {
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-') {
			net_msg(why, whycap, "letters, digits, '_' and '-' only");
			return -EINVAL;
		}
	}
	return net_parse_str(v, p->name, sizeof(p->name), why, whycap);
}

static int
p_kind(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_profile *p = obj;

	if (strcmp(v, "vdev") == 0)
		p->vdev = true;
	else if (strcmp(v, "pci") == 0)
		p->vdev = false;
	else {
		net_msg(why, whycap, "expected pci or vdev");
		return -EINVAL;
	}
	return 0;
}

static int
p_args(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_profile *p = obj;

	return net_parse_str(v, p->devargs, sizeof(p->devargs), why, whycap);
}

static int
parse_desc(const char *v, uint16_t *out, char *why, size_t whycap)
{
	unsigned long x;
	int rc = net_parse_uint(v, 64, 32768, &x, why, whycap);

	if (rc == 0)
		*out = (uint16_t)x;
	return rc;
}

static int
p_rx_desc(void *obj, const char *v, char *why, size_t whycap)
{
	return parse_desc(v, &((struct net_profile *)obj)->rx_desc, why, whycap);
}

static int
p_tx_desc(void *obj, const char *v, char *why, size_t whycap)
{
	return parse_desc(v, &((struct net_profile *)obj)->tx_desc, why, whycap);
}

static int
p_policy(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_profile *p = obj;

	if (strcmp(v, "per_worker") == 0)
		p->queues = NET_QUEUES_PER_WORKER;
	else if (strcmp(v, "one") == 0)
		p->queues = NET_QUEUES_ONE;
	else {
		net_msg(why, whycap, "expected per_worker or one");
		return -EINVAL;
	}
	return 0;
}

static int
p_max(void *obj, const char *v, char *why, size_t whycap)
{
	unsigned long x;
	int rc = net_parse_uint(v, 0, RTE_MAX_QUEUES_PER_PORT, &x, why, whycap);

	if (rc == 0)
		((struct net_profile *)obj)->max_queues = (uint16_t)x;
	return rc;
}

/* "none", or names separated by spaces and/or commas. */
static int
p_types(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_profile *p = obj;
	char name[32];
	uint64_t hf = 0, bits;

	if (strcmp(v, "none") == 0) {
		p->rss_hf = 0;
		return 0;
	}
	while (*v != '\0') {
		size_t n = strcspn(v, " \t,");

		if (n == 0) {
			v++;
			continue;
		}
		if (n >= sizeof(name)) {
			net_msg(why, whycap, "unknown RSS type '%.*s'", (int)n, v);
			return -EINVAL;
		}
		memcpy(name, v, n);
		name[n] = '\0';
		if (!net_rss_lookup(name, &bits)) {
			net_msg(why, whycap, "unknown RSS type '%s'", name);
			return -EINVAL;
		}
		hf |= bits;
		v += n;
	}
	if (hf == 0) {
		net_msg(why, whycap, "no RSS types (write none to turn RSS off)");
		return -EINVAL;
	}
	p->rss_hf = hf;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "default", or hex digits (':' allowed between bytes), at most NET_RSS_KEY_MAX bytes. */
static int
p_key(void *obj, const char *v, char *why, size_t whycap)
{
	struct net_profile *p = obj;
	uint8_t key[NET_RSS_KEY_MAX];
	size_t n = 0;

	if (strcmp(v, "default") == 0) {
		p->rss_key_len = 0;
		return 0;
	}
	while (*v != '\0') {
		int hi, lo;

		if (*v == ':') {
			v++;
			continue;
		}
		hi = hexval(v[0]);
		lo = hi >= 0 ? hexval(v[1]) : -1;
		if (hi < 0 || lo < 0) {
			net_msg(why, whycap, "bad hex key (pairs of hex digits, or default)");
			return -EINVAL;
		}
		if (n == sizeof(key)) {
			net_msg(why, whycap, "bad hex key: longer than %d bytes", NET_RSS_KEY_MAX);
			return -EINVAL;
		}
		key[n++] = (uint8_t)(hi << 4 | lo);
		v += 2;
	}
	if (n == 0) {
		net_msg(why, whycap, "bad hex key: empty");
		return -EINVAL;
	}
	memcpy(p->rss_key, key, n);
	p->rss_key_len = (uint8_t)n;
	return 0;
}

#define OFFLOAD_PARSER(field, tx, bits, label)                                              \
	static int p_##field(void *obj, const char *v, char *why, size_t whycap)            \
	{                                                                                   \
		return net_parse_bool(v, &((struct net_profile *)obj)->offloads.field, why, \
				      whycap);                                              \
	}
NET_OFFLOADS(OFFLOAD_PARSER)
#undef OFFLOAD_PARSER

static int
p_mtu(void *obj, const char *v, char *why, size_t whycap)
{
	unsigned long x;
	int rc = net_parse_uint(v, RTE_ETHER_MIN_MTU, 9600, &x, why, whycap);

	if (rc == 0)
		((struct net_profile *)obj)->mtu = (uint16_t)x;
	return rc;
}

static int
p_promiscuous(void *obj, const char *v, char *why, size_t whycap)
{
	return net_parse_bool(v, &((struct net_profile *)obj)->promiscuous, why, whycap);
}

static int
p_data_room(void *obj, const char *v, char *why, size_t whycap)
{
	unsigned long x;
	int rc = net_parse_uint(v, RTE_PKTMBUF_HEADROOM + 256, UINT16_MAX, &x, why, whycap);

	if (rc == 0)
		((struct net_profile *)obj)->mbuf_data_room = (uint16_t)x;
	return rc;
}

static int
p_cache(void *obj, const char *v, char *why, size_t whycap)
{
	unsigned long x;
	int rc = net_parse_uint(v, 0, RTE_MEMPOOL_CACHE_MAX_SIZE, &x, why, whycap);

	if (rc == 0)
		((struct net_profile *)obj)->mbuf_cache = (uint16_t)x;
	return rc;
}

static int
p_extra(void *obj, const char *v, char *why, size_t whycap)
{
	unsigned long x;
	int rc = net_parse_uint(v, 0, 1u << 24, &x, why, whycap);

	if (rc == 0)
		((struct net_profile *)obj)->mbuf_extra = (uint32_t)x;
	return rc;
}

#define OFFLOAD_KEY(field, tx, bits, label) {"offloads", #field, p_##field},
/* One key per line; the [offloads] keys are expanded from NET_OFFLOADS, last. */
/* clang-format off */
static const struct net_ini_key profile_keys[] = {
	{"driver", "name", p_name},
	{"device", "kind", p_kind},
	{"device", "args", p_args},
	{"rings", "rx_desc", p_rx_desc},
	{"rings", "tx_desc", p_tx_desc},
	{"queues", "policy", p_policy},
	{"queues", "max", p_max},
	{"rss", "types", p_types},
	{"rss", "key", p_key},
	{"port", "mtu", p_mtu},
	{"port", "promiscuous", p_promiscuous},
	{"mempool", "data_room", p_data_room},
	{"mempool", "cache", p_cache},
	{"mempool", "extra", p_extra},
	NET_OFFLOADS(OFFLOAD_KEY)
};
/* clang-format on */
#undef OFFLOAD_KEY
#define PROFILE_KEY_COUNT (sizeof(profile_keys) / sizeof(profile_keys[0]))

/* The file's name without folder and ".ini", for a profile without [driver] name. */
static void
name_from_path(const char *path, char *dst, size_t cap)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strcspn(base, ".");
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, base, n);
	dst[n] = '\0';
}

int
net_profile_load(const char *path, struct net_profile *p, char *msg, size_t msgcap)
{
	int rc;

	profile_defaults(p);
	rc = net_ini_read(path, profile_keys, PROFILE_KEY_COUNT, p, NULL, msg, msgcap);
	if (rc != 0)
		return rc;
	if (p->name[0] == '\0')
		name_from_path(path, p->name, sizeof(p->name));
	if (p->queues == NET_QUEUES_ONE && p->max_queues > 1) {
		net_msg(msg, msgcap, "%s: [queues] key 'max' = %u: policy one allows 1", path,
			p->max_queues);
		return -EINVAL;
	}
	if (p->vdev && strchr(p->devargs, ',') == p->devargs) {
		net_msg(msg, msgcap, "%s: [device] key 'args': a vdev needs a name before ','",
			path);
		return -EINVAL;
	}
	return 0;
}
