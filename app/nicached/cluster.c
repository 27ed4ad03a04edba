/* SPDX-License-Identifier: BSD-3-Clause */
/* The cluster view: members from --peers, the ring over them, `config get cluster`. */
#include "cluster.h"
#include "cluster_warm.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <urcu-qsbr.h>

#include "cluster/etcd.h"
#include "server.h"
#include "settings.h"
#include "worker.h"

/* How many counters the etcd client keeps (NC_ETCD_STATS). */
#define CTL_COUNT_ONE(name, desc) +1
enum { CTL_NSTATS = 0 NC_ETCD_STATS(CTL_COUNT_ONE) };
#undef CTL_COUNT_ONE

/* Membership in etcd: the control core's only, but for the copies `stats cluster` reads. */
struct cluster_ctl {
	struct nc_etcd *etcd;
	uint64_t members_version; /* of the list the current view was built from */
	uint64_t view_version;	  /* the last view's (`config get cluster`) */
	enum nc_etcd_state logged_state;
	char logged_error[256];
	/* Written by the control core (relaxed), read by workers for `stats cluster`. */
	uint32_t stat_state;
	uint64_t stat_state_since_ms;
	uint64_t stat[CTL_NSTATS];
	bool leaving;		  /* handing over: views leave this node out */
};

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

	if (s->replicas > 1 && s->peers[0] == '\0' && s->etcd[0] == '\0') {
		snprintf(err, errcap, "--replicas needs a cluster (--peers or --etcd)");
		return -EINVAL;
	}
	if (s->etcd[0] != '\0' && s->advertise[0] == '\0') {
		snprintf(err, errcap, "--etcd needs --advertise: this node's name in the cluster");
		return -EINVAL;
	}
	if (s->etcd[0] != '\0' && s->peers[0] == '\0')
		return 0;
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

/*
 * The numeric address of host: itself when numeric, else (with @p lookup) its first IPv4,
 * else IPv6, address; "" when it has none. Only at start may it look names up: that may wait
 * for DNS, which the control core's loop must not.
 */
static void
member_ip(const char *host, bool lookup, char *ip, size_t cap)
{
	if (!resolve(host, AF_UNSPEC, AI_NUMERICHOST, ip, cap) &&
	    (!lookup || (!resolve(host, AF_INET, 0, ip, cap) &&
			 !resolve(host, AF_INET6, 0, ip, cap))))
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
 * A view of @p ring (taken over, freed on failure too) with this node named @p self at
 * @p version. With @p static_members (at setup) the ring must name this node (-ENOENT if not)
 * and host names are looked up for auto-discovery's ip field; from etcd (on the control core)
 * the node may be missing, and a member named by host name gets an empty ip (no DNS wait).
 */
static int
view_build(struct nc_ring *ring, const char *self, bool static_members, uint64_t version,
	   struct cluster_view **out)
{
	struct cluster_view *v = calloc(1, sizeof(*v));
	int rc;

	if (v == NULL) {
		nc_ring_destroy(&ring);
		return -ENOMEM;
	}
	v->ring = ring;
	rc = nc_ring_member_find(ring, self);
	if (rc < 0 && static_members) {
		view_free(v);
		return -ENOENT;
	}
	v->self = rc < 0 ? CLUSTER_NOT_MEMBER : (uint32_t)rc;
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
		member_ip(m->host, static_members, m->ip, sizeof(m->ip));
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

/* Copy what `stats cluster` shows of the etcd client for the workers. */
static void
ctl_publish_stats(struct cluster_ctl *ctl)
{
	struct nc_etcd_stats st;
	const uint64_t *from = (const uint64_t *)&st;
	uint64_t since = 0;

	nc_etcd_stats(ctl->etcd, &st);
	for (unsigned i = 0; i < CTL_NSTATS; i++)
		__atomic_store_n(&ctl->stat[i], from[i], __ATOMIC_RELAXED);
	__atomic_store_n(&ctl->stat_state, (uint32_t)nc_etcd_state(ctl->etcd, &since),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&ctl->stat_state_since_ms, since, __ATOMIC_RELAXED);
}

/*
 * [control] @p ring without member @p self (taken over; freed on failure too): the ring the
 * others will use once this node has left. @return 0 with *out set; negative errno.
 */
static int
ring_without(struct nc_ring *ring, uint32_t self, struct nc_ring **out)
{
	uint32_t n = nc_ring_member_count(ring), k = 0, bad = 0;
	struct nc_ring_member *m = calloc(n, sizeof(*m));
	int rc = -ENOMEM;

	if (m != NULL) {
		for (uint32_t i = 0; i < n; i++) {
			if (i == self)
				continue;
			m[k].name = nc_ring_member_name(ring, i);
			m[k].weight = nc_ring_member_weight(ring, i);
			k++;
		}
		rc = k == 0 ? -ENOENT : nc_ring_build(m, k, NULL, out, &bad);
	}
	free(m);
	nc_ring_destroy(&ring);
	return rc;
}

/*
 * [control] Build and publish a view of etcd's member list when it changed since the last
 * one (handing over: without this node). A list that names no member, or one the ring refuses, keeps the last view (logged).
 */
static int
ctl_rebuild(struct nc_server *srv, struct cluster_ctl *ctl)
{
	uint64_t version = 0;
	uint32_t n = 0, bad = 0;
	const struct nc_ring_member *m = nc_etcd_members(ctl->etcd, &n, &version);
	struct cluster_view *v = NULL;
	struct nc_ring *ring = NULL;
	int rc;

	if (srv->cluster != NULL && version == ctl->members_version)
		return 0;
	ctl->members_version = version;
	if (n == 0) {
		nc_log(NC_LOG_WARNING, "cluster: etcd lists no member; keeping the last view");
		return 0;
	}
	rc = nc_ring_build(m, n, NULL, &ring, &bad);
	if (rc == 0 && ctl->leaving && nc_ring_member_find(ring, srv->set.advertise) >= 0)
		rc = ring_without(ring, (uint32_t)nc_ring_member_find(ring, srv->set.advertise),
				  &ring);
	if (rc == 0)
		rc = view_build(ring, srv->set.advertise, false, ++ctl->view_version, &v);
	if (rc < 0) {
		nc_log(NC_LOG_WARNING, "cluster: cannot use etcd's list of %u members (%s%s%s); "
				"keeping the last view",
			n, strerror(-rc), rc == -EINVAL || rc == -EEXIST ? " at " : "",
			rc == -EINVAL || rc == -EEXIST ? m[bad].name : "");
		return 0;
	}
	view_publish(srv, v);
	nc_log(NC_LOG_NOTICE, "cluster: %u members from etcd (view %llu)%s", n,
		(unsigned long long)v->version,
		v->self == CLUSTER_NOT_MEMBER ? "; this node is not among them" : "");
	return 1;
}

/* --etcd: the client, and the first view (etcd's list, or --peers until etcd answers). */
static int
etcd_setup(struct nc_server *srv, char *err, size_t errcap)
{
	struct nc_ring_member *fallback = NULL;
	struct cluster_ctl *ctl = calloc(1, sizeof(*ctl));
	char *text = NULL, why[256];
	uint32_t nfb = 0;
	int rc = -ENOMEM;

	if (ctl == NULL)
		goto fail;
	srv->cluster_ctl = ctl;
	if (srv->set.peers[0] != '\0') {
		fallback = calloc(CLUSTER_LIST_MAX, sizeof(*fallback));
		text = strdup(srv->set.peers);
		if (fallback == NULL || text == NULL)
			goto fail;
		rc = split_members(text, fallback, &nfb, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errcap, "--peers: %s", why);
			goto fail;
		}
	}
	{
		struct nc_etcd_params p = {
			.endpoints = srv->set.etcd,
			.cluster = srv->set.cluster_name,
			.name = srv->set.advertise,
			.ttl_s = srv->set.etcd_ttl,
			/* A request may take a third of the TTL, at most the default 2 s. */
			.timeout_ms = srv->set.etcd_ttl * 1000 / 3 < NC_ETCD_TIMEOUT_DEFAULT_MS
					      ? srv->set.etcd_ttl * 1000 / 3
					      : NC_ETCD_TIMEOUT_DEFAULT_MS,
			.start = nfb > 0 ? NC_ETCD_START_FALLBACK : NC_ETCD_START_REQUIRE,
			.fallback = fallback,
			.n_fallback = nfb,
		};

		rc = nc_etcd_create(&p, &ctl->etcd, why, sizeof(why));
	}
	if (rc < 0) {
		snprintf(err, errcap, "--etcd %s: %s%s", srv->set.etcd, why,
			 nfb == 0 ? " (give --peers too to start with that list while etcd is "
				    "unreachable)"
				  : "");
		goto fail;
	}
	ctl->logged_state = nc_etcd_state(ctl->etcd, NULL);
	ctl_publish_stats(ctl);
	ctl_rebuild(srv, ctl);
	rc = srv->cluster != NULL ? 0 : -EINVAL;
	if (rc < 0)
		snprintf(err, errcap, "--etcd %s: no usable member list", srv->set.etcd);
fail:
	if (rc == -ENOMEM)
		snprintf(err, errcap, "cluster: out of memory");
	free(text);
	free(fallback);
	return rc;
}

int
cluster_service(struct nc_server *srv)
{
	struct cluster_ctl *ctl = srv->cluster_ctl;
	enum nc_etcd_state state;
	const char *e;

	if (ctl == NULL || ctl->etcd == NULL)
		return 0;
	nc_etcd_step(ctl->etcd, nc_etcd_now_ms());
	ctl_publish_stats(ctl);
	state = nc_etcd_state(ctl->etcd, NULL);
	e = nc_etcd_last_error(ctl->etcd);
	if (state != ctl->logged_state ||
	    (state == NC_ETCD_UNREACHABLE && strcmp(e, ctl->logged_error) != 0)) {
		nc_log(state == NC_ETCD_UNREACHABLE ? NC_LOG_WARNING : NC_LOG_NOTICE, "cluster: etcd %s%s%s", nc_etcd_state_name(state),
			state == NC_ETCD_UNREACHABLE && e[0] != '\0' ? ": " : "",
			state == NC_ETCD_UNREACHABLE ? e : "");
		ctl->logged_state = state;
		snprintf(ctl->logged_error, sizeof(ctl->logged_error), "%s", e);
	}
	return ctl_rebuild(srv, ctl);
}

bool
cluster_handover_begin(struct nc_server *srv)
{
	struct cluster_ctl *ctl = srv->cluster_ctl;
	const struct cluster_view *cur = srv->cluster;
	struct cluster_view *v = NULL;
	struct nc_ring *ring = NULL;
	uint32_t bad = 0;
	int rc;

	if (ctl == NULL || ctl->etcd == NULL || cur == NULL || cur->self == CLUSTER_NOT_MEMBER ||
	    cur->nmembers < 2 || srv->set.handover_max == 0)
		return false;
	/* The same members as now (names, weights), this node left out. */
	{
		uint32_t n = cur->nmembers;
		struct nc_ring_member *m = calloc(n, sizeof(*m));

		if (m == NULL)
			return false;
		for (uint32_t i = 0; i < n; i++) {
			m[i].name = nc_ring_member_name(cur->ring, i);
			m[i].weight = nc_ring_member_weight(cur->ring, i);
		}
		rc = nc_ring_build(m, n, NULL, &ring, &bad);
		free(m);
	}
	if (rc == 0)
		rc = ring_without(ring, cur->self, &ring);
	if (rc == 0)
		rc = view_build(ring, srv->set.advertise, false, ++ctl->view_version, &v);
	if (rc < 0) {
		nc_log(NC_LOG_ERR, "cluster: cannot hand over: %s", strerror(-rc));
		return false;
	}
	for (unsigned i = 0; i < srv->nworkers; i++)
		__atomic_store_n(&srv->workers[i]->handover_done, false, __ATOMIC_RELAXED);
	ctl->leaving = true;
	view_publish(srv, v);
	nc_log(NC_LOG_NOTICE, "cluster: handing this node's keys over to the other %u members "
			"(view %llu)",
		v->nmembers, (unsigned long long)v->version);
	return true;
}

bool
cluster_handover_done(const struct nc_server *srv)
{
	for (unsigned i = 0; i < srv->nworkers; i++)
		if (!__atomic_load_n(&srv->workers[i]->handover_done, __ATOMIC_RELAXED))
			return false;
	return true;
}

void
cluster_leave(struct nc_server *srv, uint32_t max_ms)
{
	struct cluster_ctl *ctl = srv->cluster_ctl;
	uint64_t end;

	if (ctl == NULL || ctl->etcd == NULL)
		return;
	nc_etcd_leave(ctl->etcd);
	end = nc_etcd_now_ms() + max_ms;
	while (nc_etcd_state(ctl->etcd, NULL) != NC_ETCD_LEFT && nc_etcd_now_ms() < end) {
		nc_etcd_step(ctl->etcd, nc_etcd_now_ms());
		nc_etcd_wait(ctl->etcd, 20);
	}
	nc_log(NC_LOG_NOTICE, "cluster: %s etcd",
		nc_etcd_state(ctl->etcd, NULL) == NC_ETCD_LEFT ? "left" : "could not leave");
}

int
cluster_setup(struct nc_server *srv, char *err, size_t errcap)
{
	struct cluster_view *v = NULL;
	struct nc_ring *ring = NULL;
	char why[200];
	int rc;

	if (srv->set.etcd[0] != '\0')
		return etcd_setup(srv, err, errcap);
	if (srv->set.peers[0] == '\0')
		return 0;
	rc = cluster_members_parse(srv->set.peers, &ring, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errcap, "--peers: %s", why);
		return rc;
	}
	rc = view_build(ring, srv->set.advertise, true, 1, &v);
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
	struct cluster_ctl *ctl = srv->cluster_ctl;

	view_free(srv->cluster);
	srv->cluster = NULL;
	if (ctl != NULL) {
		nc_etcd_destroy(&ctl->etcd);
		free(ctl);
		srv->cluster_ctl = NULL;
	}
}

/* The routing table of view @p v (NULL: no cluster) for @p srv's shards. */
static struct nc_route_table
route_table(const struct nc_server *srv, const struct cluster_view *v)
{
	return (struct nc_route_table){
		.ring = v != NULL ? v->ring : NULL,
		.self = v != NULL ? v->self : NC_ROUTE_NO_MEMBER,
		.copies = srv->set.replicas,
		.nshards = srv->nworkers,
	};
}

void
cluster_route_view(const struct nc_server *srv, const struct cluster_view *v,
		   const struct store_key *k, struct nc_route *out)
{
	struct nc_route_table t = route_table(srv, v);

	nc_route(&t, &k->digest, k->key, k->len, out);
}

void
cluster_route_shard_view(const struct nc_server *srv, const struct cluster_view *v,
			 const struct store_key *k, unsigned shard, struct nc_route *out)
{
	struct nc_route_table t = route_table(srv, v);

	nc_route_at(&t, shard, k->key, k->len, out);
}

/* Bytes waiting on every worker's replication links (relaxed gauges). */
static uint64_t
repl_queued(const struct nc_server *srv)
{
	uint64_t queued = 0;

	for (unsigned i = 0; i < srv->nworkers; i++)
		queued += __atomic_load_n(&srv->workers[i]->repl_queued, __ATOMIC_RELAXED);
	return queued;
}

/*
 * Member @p i's state as this node sees it: self; up (every worker's link to it is up),
 * partial, down (none); "listed" beyond the members whose links are itemized.
 */
static const char *
member_state(const struct nc_server *srv, const struct cluster_view *v, uint32_t i)
{
	unsigned up = 0;

	if (i == v->self)
		return "self";
	if (i >= WORKER_PEER_STATS_MAX)
		return "listed";
	for (unsigned j = 0; j < srv->nworkers; j++)
		up += __atomic_load_n(&srv->workers[j]->peer_up[i], __ATOMIC_RELAXED);
	return up == srv->nworkers ? "up" : up == 0 ? "down" : "partial";
}

/* Replication links up on every worker (relaxed gauges). */
static uint64_t
repl_links_up(const struct nc_server *srv)
{
	uint64_t up = 0;

	for (unsigned i = 0; i < srv->nworkers; i++)
		up += __atomic_load_n(&srv->workers[i]->repl_links_up, __ATOMIC_RELAXED);
	return up;
}

void
cluster_stats_visit(const struct nc_server *srv,
		    void (*number)(void *arg, const char *name, uint64_t value),
		    void (*text)(void *arg, const char *name, const char *value), void *arg)
{
	const struct cluster_view *v = cluster_view_get(srv);
	char name[64];

	const struct cluster_ctl *ctl = srv->cluster_ctl;

	if (v == NULL) {
		text(arg, "cluster_membership", "none");
		return;
	}
	text(arg, "cluster_membership", ctl != NULL ? "etcd" : "static");
	text(arg, "cluster_self", v->self == CLUSTER_NOT_MEMBER
					  ? "absent"
					  : nc_ring_member_name(v->ring, v->self));
	number(arg, "cluster_members", v->nmembers);
	number(arg, "cluster_replicas", srv->set.replicas);
	text(arg, "cluster_replication",
	     srv->set.replicas < 2 ? "none" :
	     srv->set.replication == SETTINGS_REPLICATION_QUORUM ? "quorum" : "async");
	number(arg, "repl_queue_bytes", repl_queued(srv));
	/*
	 * Every worker links to every other member (replication and proxied requests): all up is
	 * workers x (members - 1).
	 */
	number(arg, "repl_links", v->self == CLUSTER_NOT_MEMBER ?
				  (uint64_t)srv->nworkers * v->nmembers :
				  (uint64_t)srv->nworkers * (v->nmembers - 1));
	number(arg, "repl_links_up", repl_links_up(srv));
	text(arg, "cluster_warming", cluster_warming(srv) ? "yes" : "no");
	number(arg, "cluster_warmup_ms", cluster_warm_ms(srv));
	number(arg, "cluster_version", v->version);
	number(arg, "cluster_ring_points", nc_ring_point_count(v->ring));
	for (uint32_t i = 0; i < v->nmembers; i++) {
		snprintf(name, sizeof(name), "member_%u_name", i);
		text(arg, name, nc_ring_member_name(v->ring, i));
		snprintf(name, sizeof(name), "member_%u_points", i);
		number(arg, name, nc_ring_member_points(v->ring, i));
		snprintf(name, sizeof(name), "member_%u_state", i);
		text(arg, name, member_state(srv, v, i));
		if (i != v->self && i < WORKER_PEER_STATS_MAX) {
			uint64_t up = 0, queued = 0;

			for (unsigned j = 0; j < srv->nworkers; j++) {
				up += __atomic_load_n(&srv->workers[j]->peer_up[i], __ATOMIC_RELAXED);
				queued += __atomic_load_n(&srv->workers[j]->peer_queued[i],
							  __ATOMIC_RELAXED);
			}
			snprintf(name, sizeof(name), "member_%u_links_up", i);
			number(arg, name, up);
			snprintf(name, sizeof(name), "member_%u_queue_bytes", i);
			number(arg, name, queued);
		}
	}
	if (ctl != NULL) {
		static const char *const names[] = {
#define CTL_STAT_NAME(n, desc) "etcd_" #n,
			NC_ETCD_STATS(CTL_STAT_NAME)
#undef CTL_STAT_NAME
		};
		uint64_t since = __atomic_load_n(&ctl->stat_state_since_ms, __ATOMIC_RELAXED);
		uint64_t now = nc_etcd_now_ms();

		text(arg, "etcd_state",
		     nc_etcd_state_name(__atomic_load_n(&ctl->stat_state, __ATOMIC_RELAXED)));
		number(arg, "etcd_state_seconds", since != 0 && now > since ? (now - since) / 1000 : 0);
		for (unsigned i = 0; i < CTL_NSTATS; i++)
			number(arg, names[i], __atomic_load_n(&ctl->stat[i], __ATOMIC_RELAXED));
	}
}
