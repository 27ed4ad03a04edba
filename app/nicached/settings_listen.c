/* SPDX-License-Identifier: BSD-3-Clause */
/* Settings: the memcached -l list (numeric addresses, each optionally addr:port or [v6]:port). */
#include <errno.h>
#include <string.h>

#include "settings_private.h"

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
