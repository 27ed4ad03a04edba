/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL device arguments from a profile and a site: the profile's [device] args with {pci},
 * {iface} and {queues} filled in, after "--vdev" or "-a".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "port_private.h"

/* Placeholders: name, value (an expression over s and queues), where the value comes from. */
#define PLACEHOLDERS(X)                    \
	X(pci, s->pci, "[port] pci")       \
	X(iface, s->iface, "[port] iface") \
	X(queues, queues, "the worker count")

/* Append @p s (@p n bytes) to @p out at *len. @return 0 or -ENOSPC. */
static int
put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n + 1 > cap)
		return -ENOSPC;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* Expand @p in into @p out. @return 0, -ENOSPC, or -EINVAL with @p msg. */
static int
expand(const struct net_profile *p, const struct net_site *s, unsigned nb_queues, char *out,
       size_t cap, size_t *len, char *msg, size_t msgcap)
{
	const char *in = p->devargs;
	char queues[16];
	int rc = 0;

	snprintf(queues, sizeof(queues), "%u", nb_queues);
	while (*in != '\0' && rc == 0) {
		const char *open = strchr(in, '{');
		const char *close, *val = NULL, *from = NULL;
		size_t n;

		if (open == NULL) {
			rc = put(out, cap, len, in, strlen(in));
			break;
		}
		rc = put(out, cap, len, in, (size_t)(open - in));
		close = strchr(open, '}');
		if (rc != 0)
			break;
		if (close == NULL) {
			net_msg(msg, msgcap, "profile %s: [device] args: '{' without '}'", p->name);
			return -EINVAL;
		}
		n = (size_t)(close - open - 1);
#define MATCH(name, value, source)                                   \
	if (n == strlen(#name) && memcmp(open + 1, #name, n) == 0) { \
		val = value;                                         \
		from = source;                                       \
	}
		PLACEHOLDERS(MATCH)
#undef MATCH
		if (from == NULL) {
			net_msg(msg, msgcap,
				"profile %s: [device] args: unknown placeholder '{%.*s}' (known: "
				"{pci} {iface} {queues})",
				p->name, (int)n, open + 1);
			return -EINVAL;
		}
		if (val[0] == '\0') {
			net_msg(msg, msgcap,
				"profile %s: [device] args use {%.*s}: set %s in the site", p->name,
				(int)n, open + 1, from);
			return -EINVAL;
		}
		rc = put(out, cap, len, val, strlen(val));
		in = close + 1;
	}
	return rc;
}

int
net_port_eal_args(const struct net_profile *p, const struct net_site *s, unsigned nb_queues,
		  char *buf, size_t bufcap, char **argv, int max, char *msg, size_t msgcap)
{
	const char *flag = p->vdev ? "--vdev" : "-a";
	size_t len = 0, start;
	int rc;

	if (max < 2) {
		net_msg(msg, msgcap, "EAL device arguments: need room for 2 arguments");
		return -ENOSPC;
	}
	rc = put(buf, bufcap, &len, flag, strlen(flag) + 1);
	if (rc == 0) {
		start = len;
		rc = expand(p, s, nb_queues, buf, bufcap, &len, msg, msgcap);
	}
	if (rc == -ENOSPC)
		net_msg(msg, msgcap, "profile %s: EAL device arguments longer than %zu bytes",
			p->name, bufcap);
	if (rc != 0)
		return rc;
	if (len == start) {
		net_msg(msg, msgcap, "profile %s: [device] args is empty", p->name);
		return -EINVAL;
	}
	argv[0] = buf;
	argv[1] = buf + start;
	return 2;
}
