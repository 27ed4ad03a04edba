/* SPDX-License-Identifier: BSD-3-Clause */
/* Numeric IPv4/IPv6 addresses: parse and format ("1.2.3.4:11211", "[::1]:11211"). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "stack/stack.h"

char *
stack_addr_format(const struct stack_addr *a, char *buf, size_t cap)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
	char ip[INET6_ADDRSTRLEN];

	if (cap == 0)
		return buf;
	if (a->ss.ss_family == AF_INET && inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip)))
		snprintf(buf, cap, "%s:%u", ip, ntohs(v4->sin_port));
	else if (a->ss.ss_family == AF_INET6 && inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip)))
		snprintf(buf, cap, "[%s]:%u", ip, ntohs(v6->sin6_port));
	else if (a->ss.ss_family == AF_UNIX)
		snprintf(buf, cap, "unix"); /* a client of the unix socket (memcached -s) */
	else
		snprintf(buf, cap, "?");
	return buf;
}

int
stack_addr_parse(const char *text, uint16_t port, struct stack_addr *a)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (text != NULL && inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		a->len = sizeof(*v4);
		return 0;
	}
	if (text != NULL && inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		a->len = sizeof(*v6);
		return 0;
	}
	memset(a, 0, sizeof(*a));
	return -EINVAL;
}
