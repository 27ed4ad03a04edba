/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus endpoint (metrics.h): libmicrohttpd without threads of its own, stepped by
 * the control lcore, answering GET /metrics with every stats group in Prometheus' text
 * format 0.0.4.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "cluster.h"
#include "nic.h"
#include "settings.h"
#include "stack/stack.h"
#include "worker.h"

/** Most scrapes open at once; more wait in the kernel's backlog. */
#define METRICS_CONN_MAX 16
/** Seconds a scrape connection may stay idle. */
#define METRICS_IDLE_S 10

struct metrics {
	struct nc_server *srv;
	struct MHD_Daemon *daemon;
	uint64_t scrapes;
};

/* ---- the text ---- */

/** A growing text buffer; `failed` once an allocation failed (the scrape then answers 500). */
struct mtext {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
mt_printf(struct mtext *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap * 2 + (size_t)n;
		char *b = realloc(t->buf, cap);

		if (b == NULL) {
			t->failed = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
}

/* HELP and TYPE of a family. */
static void
mt_family(struct mtext *t, const char *name, const char *type, const char *help)
{
	mt_printf(t, "# HELP nicached_%s ", name);
	/* HELP text escapes backslashes and newlines. */
	for (const char *p = help; *p != '\0'; p++) {
		if (*p == '\\')
			mt_printf(t, "\\\\");
		else if (*p == '\n')
			mt_printf(t, "\\n");
		else
			mt_printf(t, "%c", *p);
	}
	mt_printf(t, "\n# TYPE nicached_%s %s\n", name, type);
}

/* A label value, escaped (backslash, quote, newline). */
static void
mt_label_value(struct mtext *t, const char *v)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			mt_printf(t, "\\%c", *p);
		else if (*p == '\n')
			mt_printf(t, "\\n");
		else
			mt_printf(t, "%c", *p);
	}
}

/* Whether @p name is a valid metric name part ([a-zA-Z0-9_]). */
static bool
name_ok(const char *name)
{
	if (*name == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* ---- the groups ---- */

/* Counters of every worker (stats.h WORKER_STATS), one series per worker, since the start. */
static void
emit_workers(struct mtext *t, const struct nc_server *srv)
{
#define WORKER_FAMILY(name, desc)                                                          \
	mt_family(t, #name "_total", "counter", desc);                                     \
	for (unsigned i = 0; i < srv->nworkers; i++)                                       \
		mt_printf(t, "nicached_" #name "_total{worker=\"%u\"} %llu\n", i,          \
			  (unsigned long long)__atomic_load_n(&srv->workers[i]->stats.name, \
							      __ATOMIC_RELAXED));
	WORKER_STATS(WORKER_FAMILY)
#undef WORKER_FAMILY
}

/* Every shard's figures (store/shard.h STORE_SHARD_GAUGES, STORE_SHARD_STATS), one series per worker's shard. */
static void
emit_shards(struct mtext *t, const struct nc_server *srv)
{
	struct store_shard_stats s[RTE_MAX_LCORE];

	for (unsigned i = 0; i < srv->nworkers; i++)
		store_shard_stats_get(srv->workers[i]->shard, &s[i]);
#define SHARD_FAMILY(name, desc, metric, type)                                      \
	mt_family(t, metric, type, desc);                                           \
	for (unsigned i = 0; i < srv->nworkers; i++)                                \
		mt_printf(t, "nicached_" metric "{worker=\"%u\"} %llu\n", i,        \
			  (unsigned long long)s[i].name);
#define SHARD_GAUGE(name, desc) SHARD_FAMILY(name, desc, #name, "gauge")
#define SHARD_COUNTER(name, desc) SHARD_FAMILY(name, desc, #name "_total", "counter")
	STORE_SHARD_GAUGES(SHARD_GAUGE)
	STORE_SHARD_STATS(SHARD_COUNTER)
#undef SHARD_COUNTER
#undef SHARD_GAUGE
#undef SHARD_FAMILY
}

/* Request latency histograms per class and worker (latency.h). */
static void
emit_latency(struct mtext *t, const struct nc_server *srv)
{
	double hz = (double)srv->latency.tsc_hz;

	mt_family(t, "request_duration_seconds", "histogram",
		  "request latency inside the server: from the worker loop iteration that "
		  "received it to its reply written, by class of command (get, set, delete, "
		  "arith, touch, other)");
	for (unsigned c = 0; c < LATENCY_CLASS_COUNT; c++) {
		const char *cls = latency_class_name((enum latency_class)c);

		for (unsigned i = 0; i < srv->nworkers; i++) {
			const struct worker_latency *l = &srv->workers[i]->latency;
			uint64_t cum = 0;

			for (unsigned b = 0; b < LATENCY_BUCKETS; b++) {
				cum += __atomic_load_n(&l->count[c][b], __ATOMIC_RELAXED);
				if (b < LATENCY_BOUNDS)
					mt_printf(t,
						  "nicached_request_duration_seconds_bucket{worker=\"%u\","
						  "class=\"%s\",le=\"%g\"} %llu\n",
						  i, cls, latency_bound_us(b) / 1e6,
						  (unsigned long long)cum);
				else
					mt_printf(t,
						  "nicached_request_duration_seconds_bucket{worker=\"%u\","
						  "class=\"%s\",le=\"+Inf\"} %llu\n",
						  i, cls, (unsigned long long)cum);
			}
			mt_printf(t,
				  "nicached_request_duration_seconds_sum{worker=\"%u\",class=\"%s\"} "
				  "%.9f\n",
				  i, cls,
				  hz > 0 ? (double)__atomic_load_n(&l->sum_cycles[c], __ATOMIC_RELAXED) / hz
					 : 0.0);
			mt_printf(t,
				  "nicached_request_duration_seconds_count{worker=\"%u\",class=\"%s\"} "
				  "%llu\n",
				  i, cls, (unsigned long long)cum);
		}
	}
}

/* What `stats` says about the server as a whole. */
static void
emit_server(struct mtext *t, const struct nc_server *srv)
{
	mt_family(t, "info", "gauge", "always 1: the version and backend as labels");
	mt_printf(t, "nicached_info{version=\"%s\",backend=\"%s\"} 1\n", NC_VERSION,
		  srv->set.backend == SETTINGS_BACKEND_DPDK ? "dpdk" : "socket");
	mt_family(t, "uptime_seconds", "gauge", "seconds since the start (stats uptime)");
	mt_printf(t, "nicached_uptime_seconds %lld\n", (long long)(time(NULL) - srv->started));
	mt_family(t, "curr_connections", "gauge", "client connections open now");
	mt_printf(t, "nicached_curr_connections %u\n",
		  __atomic_load_n(&srv->curr_conns, __ATOMIC_RELAXED));
	mt_family(t, "max_connections", "gauge", "most connections (-c)");
	mt_printf(t, "nicached_max_connections %u\n", srv->set.conn_limit);
	mt_family(t, "limit_maxbytes", "gauge", "item memory (-m) in bytes");
	mt_printf(t, "nicached_limit_maxbytes %llu\n",
		  (unsigned long long)srv->set.memory_limit * 1024 * 1024);
	mt_family(t, "threads", "gauge", "workers");
	mt_printf(t, "nicached_threads %u\n", srv->nworkers);
}

/* `stats settings` as one series per setting, the value as a label. */
static void
emit_settings(struct mtext *t, const struct nc_server *srv)
{
	struct settings_stat st[SETTINGS_STATS_MAX];
	struct nc_settings now = srv->set;
	unsigned n;

	now.verbose = __atomic_load_n(&srv->verbosity, __ATOMIC_RELAXED); /* `verbosity N` */
	n = settings_stats(&now, st, SETTINGS_STATS_MAX);

	mt_family(t, "setting", "gauge", "always 1: each `stats settings` line as labels");
	for (unsigned i = 0; i < n; i++) {
		mt_printf(t, "nicached_setting{name=\"");
		mt_label_value(t, st[i].name);
		mt_printf(t, "\",value=\"");
		mt_label_value(t, st[i].value);
		mt_printf(t, "\"} 1\n");
	}
}

/* `stats slabs` and `stats items` per size class (memcached's class numbers, from 1). */
static void
emit_classes(struct mtext *t, const struct nc_server *srv)
{
	struct stats_class_sum cs[SLAB_CLASS_MAX];
	unsigned ncls = stats_classes(srv, cs);

#define CLASS_FAMILY(name, type, help, value)                                        \
	mt_family(t, name, type, help);                                              \
	for (unsigned c = 0; c < ncls; c++)                                          \
		if (cs[c].pages != 0)                                                \
			mt_printf(t, "nicached_%s{class=\"%u\"} %llu\n", name, c + 1, \
				  (unsigned long long)(value));
	CLASS_FAMILY("slab_chunk_size_bytes", "gauge", "stats slabs chunk_size", cs[c].size)
	CLASS_FAMILY("slab_chunks_per_page", "gauge", "stats slabs chunks_per_page", cs[c].per_page)
	CLASS_FAMILY("slab_pages", "gauge", "stats slabs total_pages", cs[c].pages)
	CLASS_FAMILY("slab_chunks_used", "gauge", "stats slabs used_chunks", stats_class_used(&cs[c]))
	CLASS_FAMILY("slab_chunks_free", "gauge", "stats slabs free_chunks", cs[c].free)
	CLASS_FAMILY("slab_pages_moved_in_total", "counter", "stats slabs pages_moved_in",
		     cs[c].moved_in)
#define CLASS_HITS_FAMILY(field, desc) \
	CLASS_FAMILY("slab_" #field "_total", "counter", "stats slabs " #field ": " desc, \
		     cs[c].hits.field)
	WORKER_CLASS_STATS(CLASS_HITS_FAMILY)
#undef CLASS_HITS_FAMILY
	CLASS_FAMILY("items_number", "gauge", "stats items number", stats_class_used(&cs[c]))
	CLASS_FAMILY("items_age_seconds", "gauge",
		     "stats items age: since the last access of the item the CLOCK hand reaches next",
		     cs[c].age)
	CLASS_FAMILY("items_evicted_total", "counter", "stats items evicted", cs[c].evicted)
	CLASS_FAMILY("items_evicted_unfetched_total", "counter", "stats items evicted_unfetched",
		     cs[c].evicted_unfetched)
	CLASS_FAMILY("items_reclaimed_total", "counter", "stats items reclaimed", cs[c].reclaimed)
	CLASS_FAMILY("items_expired_unfetched_total", "counter", "stats items expired_unfetched",
		     cs[c].expired_unfetched)
	CLASS_FAMILY("items_evicted_nonzero_total", "counter", "stats items evicted_nonzero",
		     cs[c].evicted_nonzero)
	CLASS_FAMILY("items_evicted_active_total", "counter", "stats items evicted_active",
		     cs[c].evicted_active)
	CLASS_FAMILY("items_outofmemory_total", "counter", "stats items outofmemory",
		     cs[c].outofmemory)
	CLASS_FAMILY("items_evicted_time_seconds", "gauge",
		     "stats items evicted_time: since the last access of the latest evicted item",
		     cs[c].evicted_time)
	CLASS_FAMILY("items_mem_requested_bytes", "gauge", "stats items mem_requested",
		     cs[c].mem_requested)
#undef CLASS_FAMILY
}

/*
 * The series of a visit (cluster.c, nic.c: name/value callbacks), gathered so that each
 * family's series come together after its HELP and TYPE, as the format requires, in the
 * order the families first appear.
 */
struct visit_series {
	char family[96];
	char labels[224]; /* "" or {...} */
	char value[32];
};

struct visit_ctx {
	const char *prefix;
	struct visit_series *s;
	size_t n, cap;
	bool failed;
};

static struct visit_series *
visit_add(struct visit_ctx *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		struct visit_series *s = realloc(v->s, cap * sizeof(*s));

		if (s == NULL) {
			v->failed = true;
			return NULL;
		}
		v->s = s;
		v->cap = cap;
	}
	return &v->s[v->n++];
}

/* A label value escaped into @p out (backslash, quote, newline); cut to fit. */
static void
label_escape(char *out, size_t cap, const char *v)
{
	size_t k = 0;

	for (const char *p = v; *p != '\0' && k + 3 < cap; p++) {
		if (*p == '\\' || *p == '"')
			out[k++] = '\\';
		if (*p == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
			continue;
		}
		out[k++] = *p;
	}
	out[k] = '\0';
}

/*
 * One number of a visit: nicached_<prefix>_<name>, untyped (visits mix counters and levels,
 * as `stats nic` does). A name "q<N>_<what>" (one queue's figure) becomes
 * nicached_<prefix>_<what>{queue="N"}.
 */
static void
visit_number(void *arg, const char *name, uint64_t value)
{
	struct visit_ctx *v = arg;
	struct visit_series *s;
	unsigned q = 0;
	int used = 0;
	bool queue = sscanf(name, "q%u_%n", &q, &used) == 1 && used > 0;
	const char *what = queue ? name + used : name;

	if (!name_ok(what) || (s = visit_add(v)) == NULL)
		return;
	snprintf(s->family, sizeof(s->family), "%s_%s", v->prefix, what);
	if (queue)
		snprintf(s->labels, sizeof(s->labels), "{queue=\"%u\"}", q);
	else
		s->labels[0] = '\0';
	snprintf(s->value, sizeof(s->value), "%llu", (unsigned long long)value);
}

/* A text value of a visit: nicached_<prefix>_info{name="..",value=".."} 1. */
static void
visit_text(void *arg, const char *name, const char *value)
{
	struct visit_ctx *v = arg;
	struct visit_series *s = visit_add(v);
	char n[64], val[120];

	if (s == NULL)
		return;
	label_escape(n, sizeof(n), name);
	label_escape(val, sizeof(val), value);
	snprintf(s->family, sizeof(s->family), "%s_info", v->prefix);
	snprintf(s->labels, sizeof(s->labels), "{name=\"%s\",value=\"%s\"}", n, val);
	snprintf(s->value, sizeof(s->value), "1");
}

/* Write what a visit gathered, family by family. */
static void
emit_visit(struct mtext *t, struct visit_ctx *v, const char *help)
{
	char h[256];

	if (v->failed)
		t->failed = true;
	for (size_t i = 0; i < v->n; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(v->s[j].family, v->s[i].family) == 0;
		if (seen)
			continue;
		snprintf(h, sizeof(h), "%s: %s", help, v->s[i].family + strlen(v->prefix) + 1);
		mt_family(t, v->s[i].family,
			  strcmp(v->s[i].family + strlen(v->prefix), "_info") == 0 ? "gauge" : "untyped",
			  h);
		for (size_t j = i; j < v->n; j++)
			if (strcmp(v->s[j].family, v->s[i].family) == 0)
				mt_printf(t, "nicached_%s%s %s\n", v->s[j].family, v->s[j].labels,
					  v->s[j].value);
	}
	free(v->s);
	v->s = NULL;
	v->n = v->cap = 0;
}

/* `stats cluster`, `stats nic`, `stats tcp`: what their visits report. */
static void
emit_visits(struct mtext *t, const struct nc_server *srv)
{
	struct visit_ctx v = {.prefix = "cluster"};

	cluster_stats_visit(srv, visit_number, visit_text, &v);
	emit_visit(t, &v, "stats cluster");
	if (srv->port == NULL)
		return;
	v = (struct visit_ctx){.prefix = "nic"};
	nic_stats_visit(srv, visit_number, visit_text, &v);
	emit_visit(t, &v, "stats nic");
	v = (struct visit_ctx){.prefix = "tcp"};
	nic_tcp_visit(srv, visit_number, &v);
	emit_visit(t, &v, "stats tcp");
}

/* The whole page. @return 0, or -ENOMEM (t freed). */
static int
metrics_page(struct metrics *m, struct mtext *t)
{
	const struct nc_server *srv = m->srv;

	t->cap = 1 << 16;
	t->buf = malloc(t->cap);
	t->len = 0;
	t->failed = t->buf == NULL;
	emit_server(t, srv);
	emit_workers(t, srv);
	emit_shards(t, srv);
	emit_latency(t, srv);
	emit_classes(t, srv);
	emit_settings(t, srv);
	emit_visits(t, srv);
	mt_family(t, "metrics_scrapes_total", "counter", "scrapes of this endpoint answered");
	mt_printf(t, "nicached_metrics_scrapes_total %llu\n", (unsigned long long)++m->scrapes);
	if (t->failed) {
		free(t->buf);
		t->buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- HTTP ---- */

static enum MHD_Result
answer_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	struct mtext t;
	enum MHD_Result rc;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* a body: ignored */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n");
	if (strcmp(url, "/metrics") != 0)
		return answer_text(conn, MHD_HTTP_NOT_FOUND,
				   "nicached: Prometheus metrics are at /metrics\n");
	if (metrics_page(m, &t) != 0)
		return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	r = MHD_create_response_from_buffer(t.len, t.buf, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(t.buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/*
 * Parse "[addr:]port" or "[v6]:port" into @p ss. @return 0 or -EINVAL.
 */
static int
parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64] = "127.0.0.1";
	const char *port_text = text;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(close - text - 1), text + 1);
		port_text = close + 2;
	} else if (strchr(text, ':') != NULL) {
		const char *colon = strrchr(text, ':');

		if ((size_t)(colon - text) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
		port_text = colon + 1;
	}
	port = strtoul(port_text, &end, 10);
	if (*port_text == '\0' || *end != '\0' || port == 0 || port > 65535)
		return -EINVAL;
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a);
	}
	return 0;
}

int
metrics_setup(struct nc_server *srv, char *err, size_t errcap)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	struct metrics *m;

	if (srv->set.metrics[0] == '\0')
		return 0;
	if (parse_listen(srv->set.metrics, &ss, &len) != 0) {
		snprintf(err, errcap,
			 "--metrics %s: not [address:]port or [IPv6]:port with a numeric address",
			 srv->set.metrics);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, errcap, "--metrics: out of memory");
		return -ENOMEM;
	}
	m->srv = srv;
	/* No thread of its own: the control lcore steps it (metrics_service). */
	/* epoll, not select(): client connections may hold fds past FD_SETSIZE. */
	m->daemon = MHD_start_daemon((ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
					     MHD_USE_ERROR_LOG | MHD_USE_EPOLL,
				     0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
				     (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)METRICS_CONN_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)METRICS_IDLE_S, MHD_OPTION_END);
	(void)len;
	if (m->daemon == NULL) {
		snprintf(err, errcap, "--metrics %s: cannot listen there (in use? not an address of "
				      "this host?)",
			 srv->set.metrics);
		free(m);
		return -EADDRINUSE;
	}
	srv->metrics = m;
	return 0;
}

void
metrics_service(struct nc_server *srv)
{
	if (srv->metrics != NULL)
		MHD_run(srv->metrics->daemon);
}

void
metrics_teardown(struct nc_server *srv)
{
	if (srv->metrics == NULL)
		return;
	MHD_stop_daemon(srv->metrics->daemon);
	free(srv->metrics);
	srv->metrics = NULL;
}
