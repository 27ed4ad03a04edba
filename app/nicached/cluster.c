/* SPDX-License-Identifier: BSD-3-Clause */
/* The cluster view: members from --peers, the ring over them, `config get cluster`. */
#include "cluster.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <urcu-qsbr.h>

#include "server.h"
#include "settings.h"

/* Most members --peers may name (its text is at most SETTINGS_STR_LEN bytes anyway). */
#define CLUSTER_LIST_MAX 256

/* Split a comma-separated list in place; *n names, each trimmed of spaces. */
static int
split_members(char *text, struct nc_ring_member *m, uint32_t *n, char *err, size_t errcap)
{
	char *save = NULL;

	*n = 0;
	for (char *tok = strtok_r(text, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *end;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok == '\0')
			continue;
		if (*n == CLUSTER_LIST_MAX) {
			snprintf(err, errcap, "more than %u members", CLUSTER_LIST_MAX);
			return -E2BIG;
		}
		m[*n].name = tok;
		m[*n].weight = 1;
		(*n)++;
	}
	if (*n == 0) {
		snprintf(err, errcap, "no member named");
		return -EINVAL;
	}
	return 0;
}

int
cluster_members_parse(const char *list, struct nc_ring **out, char *err, size_t errcap)
{
	struct nc_ring_member *m = calloc(CLUSTER_LIST_MAX, sizeof(*m));
	char *text = strdup(list);
	uint32_t n = 0, bad = 0;
	int rc;

	if (m == NULL || text == NULL) {
		rc = -ENOMEM;
		snprintf(err, errcap, "out of memory");
		goto out;
	}
	rc = split_members(text, m, &n, err, errcap);
	if (rc < 0)
		goto out;
	rc = nc_ring_build(m, n, NULL, out, &bad);
	switch (rc) {
	case 0:
		break;
	case -EEXIST:
		snprintf(err, errcap, "'%s' names a member twice (a name without a port means 11211)",
			 m[bad].name);
		break;
	case -ENAMETOOLONG:
		snprintf(err, errcap, "'%.40s...' is longer than %u bytes", m[bad].name,
			 NC_RING_NAME_MAX);
		break;
	case -E2BIG:
		snprintf(err, errcap, "more than %u members", NC_RING_MEMBERS_MAX);
		break;
	case -ENOMEM:
		snprintf(err, errcap, "out of memory");
		break;
	default:
		snprintf(err, errcap, "'%s' is not a member name (host:port, host, [v6]:port)",
			 m[bad].name);
		break;
	}
out:
	free(text);
	free(m);
	return rc;
}

int
cluster_settings_check(const struct nc_settings *s, char *err, size_t errcap)
{
	struct nc_ring *ring = NULL;
	char why[200];
	int rc;

	if (s->peers[0] == '\0' && s->advertise[0] == '\0')
		return 0;
	if (s->peers[0] == '\0' || s->advertise[0] == '\0') {
		snprintf(err, errcap, "--peers and --advertise go together: --peers lists every "
				      "member, --advertise names this one among them");
		return -EINVAL;
	}
	if (cluster_members_parse(s->peers, &ring, why, sizeof(why)) < 0) {
		snprintf(err, errcap, "--peers: %s", why);
		return -EINVAL;
	}
	rc = nc_ring_member_find(ring, s->advertise);
	nc_ring_destroy(&ring);
	if (rc == -ENOENT) {
		snprintf(err, errcap, "--advertise: '%s' is not one of --peers", s->advertise);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errcap, "--advertise: '%s' is not a member name (host:port, host, "
				      "[v6]:port)", s->advertise);
		return -EINVAL;
	}
	return 0;
}

/* host's first address of @p family, numeric, into ip; false when it has none. */
static bool
resolve(const char *host, int family, int flags, char *ip, size_t cap)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = flags};
	struct addrinfo *res = NULL;
	bool ok = false;

	if (getaddrinfo(host, NULL, &hints, &res) == 0 && res != NULL)
		ok = getnameinfo(res->ai_addr, res->ai_addrlen, ip, (socklen_t)cap, NULL, 0,
				 NI_NUMERICHOST) == 0;
	if (res != NULL)
		freeaddrinfo(res);
	return ok;
}

/* The numeric address of host: itself when numeric, else its first IPv4, else IPv6, address
 * ("" when it does not resolve). At start only: this may wait for DNS. */
static void
member_ip(const char *host, char *ip, size_t cap)
{
	if (!resolve(host, AF_UNSPEC, AI_NUMERICHOST, ip, cap) &&
	    !resolve(host, AF_INET, 0, ip, cap) && !resolve(host, AF_INET6, 0, ip, cap))
		ip[0] = '\0';
}

/* `config get cluster`: "CONFIG cluster 0 <n>\r\n", n bytes of version and member lines,
 * "\r\nEND\r\n" (ElastiCache's auto-discovery format). */
static int
view_config_text(struct cluster_view *v)
{
	size_t cap = 64 + (size_t)v->nmembers * (sizeof(v->members[0].host) + 72), len;
	char *data = malloc(cap), *out;
	int n;

	if (data == NULL)
		return -ENOMEM;
	len = (size_t)snprintf(data, cap, "%llu\n", (unsigned long long)v->version);
	for (uint32_t i = 0; i < v->nmembers; i++)
		len += (size_t)snprintf(data + len, cap - len, "%s%s|%s|%u", i ? " " : "",
					v->members[i].host, v->members[i].ip, v->members[i].port);
	len += (size_t)snprintf(data + len, cap - len, "\n");
	out = malloc(len + 64);
	if (out == NULL) {
		free(data);
		return -ENOMEM;
	}
	n = snprintf(out, len + 64, "CONFIG cluster 0 %zu\r\n%s\r\nEND\r\n", len, data);
	free(data);
	v->config = out;
	v->config_len = (uint32_t)n;
	return 0;
}

static void
view_free(struct cluster_view *v)
{
	if (v == NULL)
		return;
	nc_ring_destroy(&v->ring);
	free(v->members);
	free(v->config);
	free(v);
}

/*
 * A view of @p ring (taken over, freed on failure too) with this node named @p self (its index
 * must exist: the caller checked) at @p version. At setup or on the control core: resolves
 * host names (may wait for DNS).
 */
static int
view_build(struct nc_ring *ring, const char *self, uint64_t version, struct cluster_view **out)
{
	struct cluster_view *v = calloc(1, sizeof(*v));
	int rc;

	if (v == NULL) {
		nc_ring_destroy(&ring);
		return -ENOMEM;
	}
	v->ring = ring;
	rc = nc_ring_member_find(ring, self);
	if (rc < 0) {
		view_free(v);
		return -ENOENT;
	}
	v->self = (uint32_t)rc;
	v->version = version;
	v->nmembers = nc_ring_member_count(ring);
	v->members = calloc(v->nmembers, sizeof(*v->members));
	if (v->members == NULL) {
		view_free(v);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < v->nmembers; i++) {
		struct cluster_member *m = &v->members[i];

		nc_ring_member_addr(ring, i, m->host, sizeof(m->host), &m->port);
		member_ip(m->host, m->ip, sizeof(m->ip));
	}
	rc = view_config_text(v);
	if (rc < 0) {
		view_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

/*
 * [setup or control core] Make @p v the view readers get; the one it replaces is freed after
 * an RCU grace period (readers are the workers, between their quiescent states).
 */
static void
view_publish(struct nc_server *srv, struct cluster_view *v)
{
	struct cluster_view *old = __atomic_exchange_n(&srv->cluster, v, __ATOMIC_ACQ_REL);

	if (old != NULL) {
		synchronize_rcu();
		view_free(old);
	}
}

int
cluster_setup(struct nc_server *srv, char *err, size_t errcap)
{
	struct cluster_view *v = NULL;
	struct nc_ring *ring = NULL;
	char why[200];
	int rc;

	if (srv->set.peers[0] == '\0')
		return 0;
	rc = cluster_members_parse(srv->set.peers, &ring, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errcap, "--peers: %s", why);
		return rc;
	}
	rc = view_build(ring, srv->set.advertise, 1, &v);
	if (rc == -ENOENT) {
		snprintf(err, errcap, "--advertise: '%s' is not one of --peers", srv->set.advertise);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errcap, "cluster view: %s", strerror(-rc));
		return rc;
	}
	view_publish(srv, v);
	return 0;
}

void
cluster_teardown(struct nc_server *srv)
{
	view_free(srv->cluster);
	srv->cluster = NULL;
}

const struct cluster_view *
cluster_view_get(const struct nc_server *srv)
{
	return __atomic_load_n(&srv->cluster, __ATOMIC_ACQUIRE);
}

void
cluster_stats_visit(const struct nc_server *srv,
		    void (*number)(void *arg, const char *name, uint64_t value),
		    void (*text)(void *arg, const char *name, const char *value), void *arg)
{
	const struct cluster_view *v = cluster_view_get(srv);
	char name[64];

	if (v == NULL) {
		text(arg, "cluster_membership", "none");
		return;
	}
	text(arg, "cluster_membership", "static");
	text(arg, "cluster_self", nc_ring_member_name(v->ring, v->self));
	number(arg, "cluster_members", v->nmembers);
	number(arg, "cluster_version", v->version);
	number(arg, "cluster_ring_points", nc_ring_point_count(v->ring));
	for (uint32_t i = 0; i < v->nmembers; i++) {
		snprintf(name, sizeof(name), "member_%u_name", i);
		text(arg, name, nc_ring_member_name(v->ring, i));
		snprintf(name, sizeof(name), "member_%u_points", i);
		number(arg, name, nc_ring_member_points(v->ring, i));
		snprintf(name, sizeof(name), "member_%u_state", i);
		text(arg, name, i == v->self ? "self" : "static");
	}
}
