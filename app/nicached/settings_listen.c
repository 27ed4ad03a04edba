/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Settings: the memcached -l list (addresses or host names, each optionally addr:port or
 * [v6]:port). A host name stands for every address it resolves to, as memcached listens on
 * each getaddrinfo() result.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "settings_private.h"

/* Whether @p host looks like a name rather than an address (it has a letter but no colon). */
static bool
is_host_name(const char *host)
{
	bool letter = false;

	for (const char *p = host; *p != '\0'; p++) {
		if (*p == ':')
			return false;
		letter = letter || isalpha((unsigned char)*p);
	}
	return letter;
}

/*
 * Add every address @p host resolves to (TCP, no duplicates) at out[*n..max).
 * @return 0, -E2BIG when they do not fit, -EINVAL when it does not resolve (gai_strerror in
 *         *why).
 */
static int
listen_resolve(const char *host, uint16_t tcp, uint16_t udp, struct stack_listen *out,
	       unsigned *n, unsigned max, const char **why)
{
	struct addrinfo hints, *res = NULL;
	unsigned first = *n;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		*why = gai_strerror(rc);
		return -EINVAL;
	}
	for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		struct stack_listen l;
		bool dup = false;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(l.addr.ss))
			continue;
		memset(&l, 0, sizeof(l));
		memcpy(&l.addr.ss, ai->ai_addr, ai->ai_addrlen);
		l.addr.len = (socklen_t)ai->ai_addrlen;
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)&l.addr.ss)->sin_port = htons(tcp);
		else
			((struct sockaddr_in6 *)&l.addr.ss)->sin6_port = htons(tcp);
		l.tcp_port = tcp;
		l.udp_port = udp;
		for (unsigned i = first; i < *n && !dup; i++)
			dup = out[i].addr.len == l.addr.len &&
			      memcmp(&out[i].addr.ss, &l.addr.ss, l.addr.len) == 0;
		if (dup)
			continue;
		if (*n == max) {
			freeaddrinfo(res);
			return -E2BIG;
		}
		out[(*n)++] = l;
	}
	freeaddrinfo(res);
	if (*n == first) {
		*why = "no IPv4 or IPv6 address";
		return -EINVAL;
	}
	return 0;
}

int
setting_listen_parse(const char *list, uint16_t tcp, uint16_t udp, struct stack_listen *out,
		     unsigned max, const char *lb, char *err, size_t errcap)
{
	const char *p = list;
	unsigned n = 0;
	char q[64];

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char buf[80];
		char *host, *port_text = NULL;
		uint16_t port = tcp;

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			setting_err(err, errcap, "%s: empty address in '%s'", lb,
				    setting_quote(list, q, sizeof(q)));
			return -EINVAL;
		}
		if (len >= sizeof(buf)) {
			setting_err(err, errcap,
				    "%s: '%.*s...' is not a numeric IPv4 or IPv6 address", lb, 40,
				    p);
			return -EINVAL;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		host = buf;
		if (buf[0] == '[') {
			char *close = strchr(buf, ']');

			if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
				setting_err(err, errcap, "%s: '%s' is not an address or [v6]:port",
					    lb, setting_quote(buf, q, sizeof(q)));
				return -EINVAL;
			}
			*close = '\0';
			host = buf + 1;
			if (close[1] == ':')
				port_text = close + 2;
		} else {
			char *colon = strchr(buf, ':');

			/* One colon: addr:port; more: a bare IPv6 address. */
			if (colon != NULL && strchr(colon + 1, ':') == NULL) {
				*colon = '\0';
				port_text = colon + 1;
			}
		}
		if (port_text != NULL) {
			const char *end;
			uint64_t v;

			if (setting_digits(port_text, &end, &v) != 0 || *end != '\0' || v == 0 ||
			    v > 65535) {
				setting_err(err, errcap, "%s: bad port in '%.*s' (1..65535)", lb,
					    (int)len, p);
				return -EINVAL;
			}
			port = (uint16_t)v;
		}
		if (n == max) {
			setting_err(err, errcap, "%s: more than %u addresses", lb, max);
			return -E2BIG;
		}
		if (is_host_name(host)) {
			const char *why = "";
			int rc = listen_resolve(host, port, udp, out, &n, max, &why);

			if (rc == -E2BIG) {
				setting_err(err, errcap, "%s: more than %u addresses", lb, max);
				return rc;
			}
			if (rc != 0) {
				setting_err(err, errcap, "%s: host name '%s' does not resolve: %s",
					    lb, setting_quote(host, q, sizeof(q)), why);
				return rc;
			}
			if (comma == NULL)
				break;
			p = comma + 1;
			continue;
		}
		if (stack_addr_parse(host, port, &out[n].addr) != 0) {
			setting_err(err, errcap, "%s: '%s' is not a numeric IPv4 or IPv6 address",
				    lb, setting_quote(host, q, sizeof(q)));
			return -EINVAL;
		}
		out[n].tcp_port = port;
		out[n].udp_port = udp;
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return (int)n;
}

int
settings_listen(const struct nc_settings *s, struct stack_listen *out, unsigned max, char *err,
		size_t errcap)
{
	char lb[64];

	return setting_listen_parse(
		s->listen, (uint16_t)s->port, (uint16_t)s->udp_port, out, max,
		setting_label(&setting_table[SETTING_listen], NULL, lb, sizeof(lb)), err, errcap);
}
