/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The etcd membership client (etcd.h). In order: the codec (base64, prefix end, member values,
 * backoff), the member table and the published list, answers (nc_etcd_feed), the transport
 * (libcurl multi: one slot for the watch stream, one for every other request), scheduling
 * (nc_etcd_step) and the client's life.
 *
 * Protocol state, all on the control core:
 *  - lease (0: none), put_done (own key known to be there), listed (the table is current: a
 *    range was read and the watch from its revision is running);
 *  - down (a whole round over the endpoints failed, nothing answered since), attempt (rounds
 *    failed since the last registration: the backoff exponent), retry_at;
 *  - leave_phase once nc_etcd_leave() was called.
 */
#include "cluster/etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/base64.h"

#define KEY_ROOT    "/nicached/"
#define KEY_MEMBERS "/members/"
#define PREFIX_MAX  (sizeof(KEY_ROOT) + NC_ETCD_CLUSTER_MAX + sizeof(KEY_MEMBERS))
#define KEY_MAX	    (PREFIX_MAX + NC_RING_NAME_MAX)
#define B64_SIZE(n) (4 * (((n) + 2) / 3) + 1)
#define VALUE_MAX   (NC_RING_NAME_MAX * 6 + 128) /* own value: a name escaped, two numbers */
#define BODY_MAX    (B64_SIZE(KEY_MAX) + B64_SIZE(VALUE_MAX) + 128)

/* gRPC status NOT_FOUND: what etcd answers for a lease it does not know. */
#define GRPC_NOT_FOUND 5

static const char *const call_paths[] = {
#define CALL_PATH(name, path) path,
	NC_ETCD_CALLS(CALL_PATH)
#undef CALL_PATH
};

/* Names are checked the way ring.h checks them; flat points are the cheapest ring to build. */
static const struct nc_ring_params check_params = {NC_RING_POINTS_FLAT, NC_RING_HASH_OAAT};

/* Members by name, sorted with strcmp. */
struct member_table {
	struct nc_etcd_member *v;
	uint32_t n;
	uint32_t cap;
};

/* One transfer: its easy handle, the answer so far and what it was for. */
struct slot {
	CURL *easy;
	bool busy;
	bool too_large;
	bool nomem;
	enum nc_etcd_call call;
	char *buf; /* the answer, NUL-terminated */
	size_t len;
	size_t cap;
	char url[NC_ETCD_ENDPOINT_MAX + 32];
	char curl_err[CURL_ERROR_SIZE];
};

enum leave_phase {
	LEAVE_NO = 0,
	LEAVE_DELETE,
	LEAVE_REVOKE,
	LEAVE_DONE
};

struct nc_etcd {
	/* configuration */
	char *endpoints[NC_ETCD_ENDPOINTS_MAX];
	uint32_t n_endpoints;
	uint32_t ttl_s;
	uint32_t timeout_ms;
	uint32_t backoff_max_ms;
	char prefix[PREFIX_MAX];
	size_t prefix_len;
	char prefix_b64[B64_SIZE(PREFIX_MAX)];
	char end_b64[B64_SIZE(PREFIX_MAX)];
	struct nc_etcd_member self;
	char key_b64[B64_SIZE(KEY_MAX)];
	char value_b64[B64_SIZE(VALUE_MAX)];

	/* transport */
	CURLM *multi;
	struct curl_slist *headers;
	struct slot op;
	struct slot watch;
	uint32_t endpoint; /* the one in use */
	bool watch_cancel; /* a watch line asked to end the stream */

	/* protocol */
	int64_t lease;
	int64_t watch_rev;
	bool put_done;
	bool listed;
	bool down;
	enum leave_phase leave;
	uint32_t fails;	  /* failures in a row in this round over the endpoints */
	uint32_t attempt; /* rounds failed since the last registration */
	uint64_t retry_at;
	uint64_t next_keepalive;
	uint64_t watch_started;
	uint32_t rnd;

	/* what the client knows */
	struct member_table table;
	struct nc_etcd_member *shown; /* the published list's own copy */
	struct nc_ring_member *list;
	uint32_t n_list;
	uint64_t version;
	uint64_t digest;
	bool nomem;

	enum nc_etcd_state state;
	uint64_t since_ms;
	int last_errno;
	char last_error[512];
	struct nc_etcd_stats stats;
};

/* ---- codec ---- */

/* core/base64.h, with this file's contract: encoding NUL-terminated, "" decoding to nothing
 * (etcd's empty values). */
int
nc_etcd_base64_encode(const void *src, size_t len, char *dst, size_t cap)
{
	int64_t n;

	if (cap == 0 || len > (size_t)INT_MAX / 4 * 3 - 3)
		return -ENOSPC;
	n = nc_base64_encode(src, len, dst, cap - 1);
	if (n >= 0)
		dst[n] = '\0';
	return (int)n;
}

int
nc_etcd_base64_decode(const char *src, size_t len, void *dst, size_t cap)
{
	if (len == 0)
		return 0;
	if (len > (size_t)INT_MAX)
		return -EINVAL;
	return (int)nc_base64_decode(src, len, dst, cap);
}

int
nc_etcd_prefix_end(const void *prefix, size_t len, void *out, size_t cap)
{
	const uint8_t *p = prefix;
	uint8_t *o = out;

	while (len > 0 && p[len - 1] == 0xff)
		len--;
	if (len == 0) {
		if (cap < 1)
			return -ENOSPC;
		o[0] = 0;
		return 1;
	}
	if (cap < len || len > (size_t)INT_MAX)
		return -ENOSPC;
	memcpy(o, p, len);
	o[len - 1]++;
	return (int)len;
}

/* 0 if ring.h takes @p name as a member name; its error otherwise. */
static int
check_name(const char *name)
{
	struct nc_ring_member m = {name, 1};
	struct nc_ring *ring = NULL;
	int ret;

	ret = nc_ring_build(&m, 1, &check_params, &ring, NULL);
	nc_ring_destroy(&ring);
	return ret;
}

int
nc_etcd_member_encode(const struct nc_etcd_member *m, char *buf, size_t cap)
{
	json_t *o;
	size_t n;

	if (m->weight == 0)
		return -EINVAL;
	o = json_pack("{s:s, s:I, s:I}", "name", m->name, "weight", (json_int_t)m->weight,
		      "started", (json_int_t)m->started);
	if (o == NULL)
		return -EINVAL; /* the name is not UTF-8 */
	n = json_dumpb(o, buf, cap, JSON_COMPACT);
	json_decref(o);
	if (n == 0)
		return -ENOMEM;
	if (n >= cap || n > (size_t)INT_MAX)
		return -ENOSPC;
	buf[n] = '\0';
	return (int)n;
}

/* An integer field: *out = its value, or @p absent when there is none. 0 or -EPROTO. */
static int
json_int_field(const json_t *obj, const char *key, json_int_t absent, json_int_t *out)
{
	const json_t *v = json_object_get(obj, key);

	*out = absent;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return -EPROTO;
	*out = json_integer_value(v);
	return 0;
}

int
nc_etcd_member_decode(const char *json, size_t len, struct nc_etcd_member *out)
{
	json_t *root, *name;
	json_int_t weight, started;
	size_t name_len;
	int ret = -EPROTO;

	root = json_loadb(json, len, 0, NULL);
	if (root == NULL)
		return -EBADMSG;
	name = json_object_get(root, "name");
	if (!json_is_object(root) || !json_is_string(name) ||
	    json_int_field(root, "weight", 1, &weight) != 0 ||
	    json_int_field(root, "started", 0, &started) != 0)
		goto out;
	name_len = json_string_length(name);
	if (name_len > NC_RING_NAME_MAX) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	ret = -EINVAL;
	if (memchr(json_string_value(name), '\0', name_len) != NULL)
		goto out;
	memcpy(out->name, json_string_value(name), name_len + 1);
	ret = check_name(out->name);
	if (ret != 0)
		goto out;
	ret = -ERANGE;
	if (weight < 1 || weight > UINT32_MAX)
		goto out;
	out->weight = (uint32_t)weight;
	out->started = started;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

uint32_t
nc_etcd_backoff_ms(uint32_t attempt, uint32_t max_ms, uint32_t rnd)
{
	uint32_t d = NC_ETCD_BACKOFF_FIRST_MS;

	if (attempt == 0)
		return 0;
	for (uint32_t i = 1; i < attempt && d < max_ms; i++)
		d = d > UINT32_MAX / 2 ? UINT32_MAX : d * 2;
	if (d > max_ms)
		d = max_ms;
	/* "Equal jitter": the lower half always, the upper half scaled by rnd. */
	return d - d / 2 + (uint32_t)((uint64_t)(d / 2) * (rnd % 1024) / 1023);
}

uint64_t
nc_etcd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the member table and the published list ---- */

/* Index of @p name in @p t, or where it would go (*found false). */
static uint32_t
table_find(const struct member_table *t, const char *name, bool *found)
{
	uint32_t lo = 0, hi = t->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->v[mid].name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Add or replace @p m. 0, -E2BIG (NC_RING_MEMBERS_MAX reached) or -ENOMEM. */
static int
table_put(struct member_table *t, const struct nc_etcd_member *m)
{
	bool found;
	uint32_t i = table_find(t, m->name, &found);

	if (found) {
		t->v[i] = *m;
		return 0;
	}
	if (t->n >= NC_RING_MEMBERS_MAX)
		return -E2BIG;
	if (t->n == t->cap) {
		uint32_t cap = t->cap == 0 ? 16 : t->cap * 2;
		struct nc_etcd_member *v = realloc(t->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
	t->v[i] = *m;
	t->n++;
	return 0;
}

/* Remove @p name if present; true if it was. */
static bool
table_del(struct member_table *t, const char *name)
{
	bool found;
	uint32_t i = table_find(t, name, &found);

	if (!found)
		return false;
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
	return true;
}

static bool
same_list(const struct nc_ring_member *a, uint32_t na, const struct nc_ring_member *b, uint32_t nb)
{
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++)
		if (a[i].weight != b[i].weight || strcmp(a[i].name, b[i].name) != 0)
			return false;
	return true;
}

/*
 * Drop from shown[0..n) the members ring.h would not take together (two names of one host
 * and port: the later goes), counting each; list[] names point into shown[] and carry
 * weight 1 for the check. Returns the new n, or -ENOMEM.
 */
static int64_t
drop_refused(struct nc_etcd *e, struct nc_etcd_member *shown, struct nc_ring_member *list,
	     uint32_t n)
{
	while (n > 0) {
		struct nc_ring *ring = NULL;
		uint32_t bad = 0;
		int ret = nc_ring_build(list, n, &check_params, &ring, &bad);

		if (ret == 0) {
			nc_ring_destroy(&ring);
			break;
		}
		if (ret == -ENOMEM || bad >= n)
			return -ENOMEM;
		if (ret == -EEXIST)
			e->stats.err_duplicate++;
		else
			e->stats.err_name++;
		n--;
		memmove(&shown[bad], &shown[bad + 1], (n - bad) * sizeof(*shown));
		for (uint32_t i = bad; i < n; i++)
			list[i].name = shown[i].name;
	}
	return n;
}

/* FNV-1a 64 over each name, a 0 byte and the weight's 4 bytes, little-endian. */
static uint64_t
list_digest(const struct nc_ring_member *list, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (n == 0)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = (const uint8_t *)list[i].name;
		size_t len = strlen(list[i].name) + 1;

		for (size_t j = 0; j < len + 4; j++) {
			uint8_t b = j < len ? p[j] : (uint8_t)(list[i].weight >> (8 * (j - len)));

			h = (h ^ b) * 0x100000001b3ull;
		}
	}
	return h;
}

/* Publish @p shown (n members, taken over) if it differs from the list now published. */
static void
publish(struct nc_etcd *e, struct nc_etcd_member *shown, struct nc_ring_member *list, uint32_t n)
{
	if (same_list(e->list, e->n_list, list, n)) {
		free(shown);
		free(list);
		return;
	}
	free(e->shown);
	free(e->list);
	e->shown = shown;
	e->list = list;
	e->n_list = n;
	e->digest = list_digest(list, n);
	e->version++;
	e->stats.list_changes++;
}

/* Publish @p n members from @p from (sorted by name), less those ring.h refuses together. */
static int
publish_members(struct nc_etcd *e, const struct nc_etcd_member *from, uint32_t n)
{
	struct nc_etcd_member *shown = malloc((n + 1) * sizeof(*shown));
	struct nc_ring_member *list = malloc((n + 1) * sizeof(*list));
	int64_t kept;

	if (shown == NULL || list == NULL) {
		free(shown);
		free(list);
		return -ENOMEM;
	}
	memcpy(shown, from, n * sizeof(*shown));
	for (uint32_t i = 0; i < n; i++)
		list[i] = (struct nc_ring_member){shown[i].name, 1};
	kept = drop_refused(e, shown, list, n);
	if (kept < 0) {
		free(shown);
		free(list);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < (uint32_t)kept; i++)
		list[i].weight = shown[i].weight;
	publish(e, shown, list, (uint32_t)kept);
	return 0;
}

/* The table changed: publish it. */
static void
table_changed(struct nc_etcd *e)
{
	if (publish_members(e, e->table.v, e->table.n) != 0)
		e->nomem = true;
}

/* ---- state ---- */

static void
set_state(struct nc_etcd *e, enum nc_etcd_state s, uint64_t now)
{
	if (e->state == s)
		return;
	e->state = s;
	e->since_ms = now;
}

/* Derive the state from the protocol flags (not while leaving). */
static void
update_state(struct nc_etcd *e, uint64_t now)
{
	if (e->leave != LEAVE_NO)
		return;
	if (e->down)
		set_state(e, NC_ETCD_UNREACHABLE, now);
	else if (e->lease != 0 && e->put_done && e->listed)
		set_state(e, NC_ETCD_REGISTERED, now);
	else
		set_state(e, NC_ETCD_CONNECTING, now);
	if (e->state == NC_ETCD_REGISTERED)
		e->attempt = 0;
}

static void __attribute__((format(printf, 3, 4)))
note_error(struct nc_etcd *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->last_error, sizeof(e->last_error), fmt, ap);
	va_end(ap);
	e->last_errno = err;
}

/* The list is no longer current: read it again (and watch anew) when etcd answers. */
static void
unlist(struct nc_etcd *e)
{
	e->listed = false;
	e->watch_cancel = true;
}

/*
 * A request got no usable answer (last_error says why). Move to the next endpoint; after a
 * whole round, wait a backoff (or, leaving, give up).
 */
static void
request_failed(struct nc_etcd *e, uint64_t now)
{
	e->stats.failures++;
	e->fails++;
	e->endpoint = (e->endpoint + 1) % e->n_endpoints;
	if (e->fails < e->n_endpoints) {
		e->stats.endpoint_switches++;
		unlist(e);
		return;
	}
	e->fails = 0;
	if (e->leave != LEAVE_NO) {
		e->leave = LEAVE_DONE;
		return;
	}
	if (!e->down)
		e->stats.unreachable++;
	e->down = true;
	e->attempt++;
	e->rnd ^= e->rnd << 13;
	e->rnd ^= e->rnd >> 17;
	e->rnd ^= e->rnd << 5;
	e->retry_at = now + nc_etcd_backoff_ms(e->attempt, e->backoff_max_ms, e->rnd);
	e->put_done = false;
	unlist(e);
	update_state(e, now);
}

/* etcd answered: the round of failures is over. */
static void
request_answered(struct nc_etcd *e)
{
	e->fails = 0;
	e->down = false;
}

static void
lease_lost(struct nc_etcd *e)
{
	e->stats.lease_lost++;
	e->lease = 0;
	e->put_done = false;
}

/* ---- answers ---- */

/* An int64 as the gateway writes them, a decimal string (a number is taken too). */
static int
i64_field(const json_t *obj, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	char *end;
	long long x;

	*out = 0;
	if (v == NULL)
		return 0; /* proto3 leaves zeros out */
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EPROTO;
	s = json_string_value(v);
	if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return -EPROTO;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EPROTO;
	*out = x;
	return 0;
}

/* The revision in an answer's header; 0 if there is none or it is malformed. */
static int64_t
header_revision(const json_t *obj)
{
	int64_t rev;

	if (i64_field(json_object_get(obj, "header"), "revision", &rev) != 0)
		return 0;
	return rev;
}

/*
 * If @p root is an error answer (unary: {"error":"..","code":N}; streamed:
 * {"error":{"grpc_code":N,"message":".."}}), its gRPC code (> 0) and message; else 0.
 */
static int
answer_error(const json_t *root, const char **msg)
{
	const json_t *err = json_object_get(root, "error");
	const json_t *code = json_object_get(root, "code");

	if (err == NULL)
		return 0;
	*msg = "?";
	if (json_is_object(err)) {
		code = json_object_get(err, "grpc_code");
		if (json_is_string(json_object_get(err, "message")))
			*msg = json_string_value(json_object_get(err, "message"));
	} else if (json_is_string(err)) {
		*msg = json_string_value(err);
	}
	if (!json_is_integer(code) || json_integer_value(code) <= 0 ||
	    json_integer_value(code) > INT_MAX)
		return INT_MAX;
	return (int)json_integer_value(code);
}

/* Count a member value's decode error. */
static void
count_value_error(struct nc_etcd *e, int ret)
{
	switch (ret) {
	case -EBADMSG:
		e->stats.err_json++;
		break;
	case -EPROTO:
		e->stats.err_type++;
		break;
	case -ERANGE:
		e->stats.err_weight++;
		break;
	default:
		e->stats.err_name++;
		break;
	}
}

/* A base64 field's bytes, NUL-terminated, malloc'd; NULL with the error counted. */
static char *
b64_field(struct nc_etcd *e, const json_t *obj, const char *field, size_t *len)
{
	const json_t *v = json_object_get(obj, field);
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	char *out;
	int ret;

	if (v != NULL && !json_is_string(v)) {
		e->stats.err_type++;
		return NULL;
	}
	out = malloc(n / 4 * 3 + 1);
	if (out == NULL) {
		e->nomem = true;
		return NULL;
	}
	ret = nc_etcd_base64_decode(n > 0 ? json_string_value(v) : "", n, out, n / 4 * 3);
	if (ret < 0) {
		e->stats.err_base64++;
		free(out);
		return NULL;
	}
	out[ret] = '\0';
	*len = (size_t)ret;
	return out;
}

/* The member name a kv's key gives (after the prefix) into @p name; false if none (counted). */
static bool
kv_name(struct nc_etcd *e, const json_t *kv, char name[NC_RING_NAME_MAX + 1])
{
	size_t len;
	char *key = b64_field(e, kv, "key", &len);
	bool ok = false;

	if (key == NULL)
		return false;
	if (len < e->prefix_len || memcmp(key, e->prefix, e->prefix_len) != 0)
		e->stats.err_key++;
	else if (len == e->prefix_len || len - e->prefix_len > NC_RING_NAME_MAX ||
		 memchr(key + e->prefix_len, '\0', len - e->prefix_len) != NULL)
		e->stats.err_name++;
	else
		ok = true;
	if (ok)
		memcpy(name, key + e->prefix_len, len - e->prefix_len + 1);
	free(key);
	return ok;
}

/* The member a kv's value describes, checked against its key's @p name; false if bad (counted). */
static bool
kv_member(struct nc_etcd *e, const json_t *kv, const char *name, struct nc_etcd_member *m)
{
	size_t len;
	char *value = b64_field(e, kv, "value", &len);
	int ret;

	if (value == NULL)
		return false;
	ret = nc_etcd_member_decode(value, len, m);
	free(value);
	if (ret == 0 && strcmp(m->name, name) != 0)
		ret = -EINVAL;
	if (ret != 0)
		count_value_error(e, ret);
	return ret == 0;
}

/* Add @p m to @p t, counting what does not fit. */
static void
table_take(struct nc_etcd *e, struct member_table *t, const struct nc_etcd_member *m)
{
	int ret = table_put(t, m);

	if (ret == -E2BIG)
		e->stats.err_too_many++;
	else if (ret != 0)
		e->nomem = true;
}

static bool
is_self(const struct nc_etcd *e, const char *name)
{
	return strcmp(name, e->self.name) == 0;
}

/* A range answer: the whole list at a revision. */
static int
take_range(struct nc_etcd *e, const json_t *root)
{
	const json_t *kvs = json_object_get(root, "kvs");
	int64_t rev = header_revision(root);
	struct member_table t = {0};
	struct nc_etcd_member m;
	char name[NC_RING_NAME_MAX + 1];
	bool found;

	if (rev <= 0 || (kvs != NULL && !json_is_array(kvs))) {
		e->stats.err_type++;
		return -EPROTO;
	}
	for (size_t i = 0; i < json_array_size(kvs); i++) {
		const json_t *kv = json_array_get(kvs, i);

		if (!json_is_object(kv))
			e->stats.err_type++;
		else if (kv_name(e, kv, name) && kv_member(e, kv, name, &m))
			table_take(e, &t, &m);
	}
	free(e->table.v);
	e->table = t;
	e->stats.ranges++;
	e->watch_rev = rev + 1;
	e->listed = true;
	e->watch_cancel = true; /* a watch still open started before: open one from here */
	table_find(&e->table, e->self.name, &found);
	if (!found)
		e->put_done = false;
	table_changed(e);
	return 0;
}

/* One event of a watch answer. */
static void
take_event(struct nc_etcd *e, const json_t *ev)
{
	const json_t *kv = json_object_get(ev, "kv");
	const json_t *type = json_object_get(ev, "type");
	bool del = json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0;
	struct nc_etcd_member m;
	char name[NC_RING_NAME_MAX + 1];

	if (!json_is_object(ev) || !json_is_object(kv) ||
	    (type != NULL && !del &&
	     !(json_is_string(type) && strcmp(json_string_value(type), "PUT") == 0))) {
		e->stats.err_type++;
		return;
	}
	e->stats.watch_events++;
	if (!kv_name(e, kv, name))
		return;
	if (!del && kv_member(e, kv, name, &m)) {
		table_take(e, &e->table, &m);
		return;
	}
	/* Deleted, or overwritten with a value that is not a member's. */
	table_del(&e->table, name);
	if (is_self(e, name))
		e->put_done = false;
}

/* One line of the watch stream. 0, or an error after which the watch is ended. */
static int
take_watch_line(struct nc_etcd *e, const char *line, size_t len)
{
	json_t *root = json_loadb(line, len, 0, NULL);
	const json_t *res = json_object_get(root, "result");
	const json_t *events = json_object_get(res, "events");
	const json_t *cancelled = json_object_get(res, "canceled");
	const char *msg;
	int64_t compacted = 0;
	int ret = 0;

	if (root == NULL) {
		e->stats.err_json++;
		return -EBADMSG;
	}
	if (answer_error(root, &msg) != 0) {
		e->stats.err_etcd++;
		note_error(e, -EIO, "%s: %s", e->watch.url, msg);
		ret = -EIO;
	} else if (!json_is_object(res) || (events != NULL && !json_is_array(events)) ||
		   i64_field(res, "compact_revision", &compacted) != 0) {
		e->stats.err_type++;
		ret = -EPROTO;
	} else if (json_is_true(cancelled) || compacted > 0) {
		ret = -ECANCELED;
	} else if (json_array_size(events) > 0) {
		for (size_t i = 0; i < json_array_size(events); i++)
			take_event(e, json_array_get(events, i));
		table_changed(e);
	}
	json_decref(root);
	return ret;
}

/* Whole lines of the watch stream; the first that ends the watch stops it. */
static int
take_watch(struct nc_etcd *e, long status, const char *body, size_t len)
{
	const char *end = body + len;
	int ret = 0;

	if (e->leave != LEAVE_NO)
		return 0;
	if (status != 200 && status != 0) {
		e->stats.err_http++;
		ret = -EIO;
	}
	while (ret == 0 && body < end) {
		const char *nl = memchr(body, '\n', (size_t)(end - body));
		size_t n = (nl != NULL ? nl : end) - body;

		if (n > 0)
			ret = take_watch_line(e, body, n);
		body += n + 1;
	}
	return ret;
}

/*
 * The watch ended (etcd cancelled it, sent an error, or closed the stream): read the list
 * again and watch anew. A watch that ends soon after it began counts as a failed request,
 * so that an endpoint that keeps ending watches gets the next endpoint, then backoff.
 */
static void
watch_ended(struct nc_etcd *e, uint64_t now)
{
	e->stats.watch_ends++;
	unlist(e);
	if (now - e->watch_started < e->timeout_ms) {
		if (e->last_errno == 0)
			note_error(e, -EPROTO, "%s: the watch ended at once", e->watch.url);
		request_failed(e, now);
	}
	update_state(e, now);
}

/* A successful answer to @p call (not a watch). */
static int
take_answer(struct nc_etcd *e, enum nc_etcd_call call, const json_t *root, uint64_t now)
{
	const json_t *res = json_object_get(root, "result");
	int64_t id, ttl;

	switch (call) {
	case NC_ETCD_CALL_GRANT:
		if (i64_field(root, "ID", &id) != 0 || i64_field(root, "TTL", &ttl) != 0 ||
		    id == 0 || ttl <= 0)
			break;
		e->lease = id;
		e->put_done = false;
		e->next_keepalive = now + (uint64_t)ttl * 1000 / 3;
		e->stats.lease_grants++;
		return 0;
	case NC_ETCD_CALL_KEEPALIVE:
		if (!json_is_object(res) || i64_field(res, "TTL", &ttl) != 0)
			break;
		if (ttl <= 0) {
			lease_lost(e);
			return -ENOENT;
		}
		e->next_keepalive = now + (uint64_t)ttl * 1000 / 3;
		e->stats.keepalives++;
		return 0;
	case NC_ETCD_CALL_PUT:
		if (header_revision(root) <= 0)
			break;
		e->put_done = true;
		e->stats.puts++;
		return 0;
	case NC_ETCD_CALL_RANGE:
		return take_range(e, root);
	case NC_ETCD_CALL_DELETE:
		if (header_revision(root) <= 0)
			break;
		e->put_done = false;
		return 0;
	case NC_ETCD_CALL_REVOKE:
		if (header_revision(root) <= 0)
			break;
		e->lease = 0;
		return 0;
	case NC_ETCD_CALL_WATCH:
		break;
	}
	e->stats.err_type++;
	return -EPROTO;
}

/* Where a leave goes after an answer to @p call (0: taken, -ENOENT: no such lease). */
static void
leave_next(struct nc_etcd *e, enum nc_etcd_call call, int ret)
{
	if (call == NC_ETCD_CALL_DELETE && ret == 0)
		e->leave = e->lease != 0 ? LEAVE_REVOKE : LEAVE_DONE;
	else if (call == NC_ETCD_CALL_REVOKE && (ret == 0 || ret == -ENOENT))
		e->leave = LEAVE_DONE;
}

int
nc_etcd_feed(struct nc_etcd *e, enum nc_etcd_call call, long status, const char *body, size_t len,
	     uint64_t now_ms)
{
	const char *url = e->op.url;
	const char *msg = NULL;
	json_t *root;
	int code, ret;

	if (call == NC_ETCD_CALL_WATCH) {
		ret = take_watch(e, status, body, len);
		if (ret != 0)
			watch_ended(e, now_ms);
		return ret;
	}
	root = json_loadb(body, len, 0, NULL);
	code = root != NULL ? answer_error(root, &msg) : 0;
	if (root == NULL) {
		/* Not etcd (a proxy's error page, another server): the endpoint failed. */
		e->stats.err_http += status != 200;
		e->stats.err_json += status == 200;
		note_error(e, -EPROTO, "%s: HTTP %ld, not an etcd answer", url, status);
		ret = -EBADMSG;
	} else if (code == GRPC_NOT_FOUND && call != NC_ETCD_CALL_GRANT &&
		   call != NC_ETCD_CALL_RANGE && call != NC_ETCD_CALL_DELETE) {
		note_error(e, -ENOENT, "%s: %s", url, msg);
		lease_lost(e);
		ret = -ENOENT;
	} else if (code != 0) {
		e->stats.err_etcd++;
		note_error(e, -EPROTO, "%s: HTTP %ld, %s", url, status, msg);
		ret = -EIO;
	} else if (status != 200) {
		e->stats.err_http++;
		note_error(e, -EPROTO, "%s: HTTP %ld", url, status);
		ret = -EIO;
	} else {
		ret = take_answer(e, call, root, now_ms);
		if (ret == -EPROTO)
			note_error(e, -EPROTO, "%s: an answer of unexpected shape", url);
	}
	json_decref(root);

	if (ret == 0 || ret == -ENOENT)
		request_answered(e);
	else
		request_failed(e, now_ms);
	if (e->leave != LEAVE_NO)
		leave_next(e, call, ret);
	update_state(e, now_ms);
	return e->nomem && ret == 0 ? -ENOMEM : ret;
}

/* ---- transport ---- */

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;
	size_t add = size * n;

	if (s->len + add > NC_ETCD_ANSWER_MAX) {
		s->too_large = true;
		return 0; /* ends the transfer with CURLE_WRITE_ERROR */
	}
	if (s->len + add + 1 > s->cap) {
		size_t cap = s->cap == 0 ? 4096 : s->cap;
		char *buf;

		while (cap < s->len + add + 1)
			cap *= 2;
		buf = realloc(s->buf, cap);
		if (buf == NULL) {
			s->nomem = true;
			return 0;
		}
		s->buf = buf;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, add);
	s->len += add;
	s->buf[s->len] = '\0';
	return add;
}

static int
slot_init(struct nc_etcd *e, struct slot *s)
{
	CURL *c = curl_easy_init();

	if (c == NULL)
		return -ENOMEM;
	s->easy = c;
	if (curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PRIVATE, s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_err) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK || /* no *_proxy from the env */
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, (long)e->ttl_s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, (long)e->ttl_s) != CURLE_OK)
		return -ENOMEM;
	return 0;
}

/* Stop a transfer without taking its answer. */
static void
slot_stop(struct nc_etcd *e, struct slot *s)
{
	if (s->busy)
		curl_multi_remove_handle(e->multi, s->easy);
	s->busy = false;
	s->len = 0;
}

static void
slot_fini(struct nc_etcd *e, struct slot *s)
{
	slot_stop(e, s);
	curl_easy_cleanup(s->easy);
	free(s->buf);
}

/* Start @p call with JSON @p body on slot @p s, on the endpoint in use. */
static void
slot_start(struct nc_etcd *e, struct slot *s, enum nc_etcd_call call, const char *body)
{
	CURL *c = s->easy;

	snprintf(s->url, sizeof(s->url), "%s%s", e->endpoints[e->endpoint], call_paths[call]);
	s->call = call;
	s->len = 0;
	s->too_large = false;
	s->nomem = false;
	s->curl_err[0] = '\0';
	if (curl_easy_setopt(c, CURLOPT_URL, s->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			     call == NC_ETCD_CALL_WATCH ? 0L : (long)e->timeout_ms) != CURLE_OK ||
	    curl_multi_add_handle(e->multi, c) != CURLM_OK) {
		e->nomem = true;
		return;
	}
	s->busy = true;
	e->stats.requests++;
}

static int
curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	default:
		return -EIO;
	}
}

/* Feed the watch's whole lines (and, @p final, the rest) to the client. */
static void
watch_lines(struct nc_etcd *e, bool final, uint64_t now)
{
	struct slot *s = &e->watch;
	const char *last = s->len > 0 ? memrchr(s->buf, '\n', s->len) : NULL;
	size_t n = final ? s->len : last != NULL ? (size_t)(last - s->buf) + 1 : 0;
	long status = 0;

	if (n == 0)
		return;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	nc_etcd_feed(e, NC_ETCD_CALL_WATCH, status, s->buf, n, now);
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
}

/* A transfer ended with @p res. */
static void
slot_done(struct nc_etcd *e, struct slot *s, CURLcode res, uint64_t now)
{
	long status = 0;

	curl_multi_remove_handle(e->multi, s->easy);
	s->busy = false;
	if (s->nomem)
		e->nomem = true;
	if (s->too_large)
		e->stats.err_too_large++;
	if (s == &e->watch) {
		watch_lines(e, true, now);
		if (e->listed && !e->watch_cancel) {
			note_error(e, res == CURLE_OK ? 0 : curl_errno(res), "%s: %s", s->url,
				   res == CURLE_OK ? "the watch ended" : curl_easy_strerror(res));
			watch_ended(e, now);
		}
		return;
	}
	if (res != CURLE_OK) {
		note_error(e, s->too_large ? -EPROTO : curl_errno(res), "%s: %s", s->url,
			   s->curl_err[0] != '\0' ? s->curl_err : curl_easy_strerror(res));
		request_failed(e, now);
		update_state(e, now);
		return;
	}
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	nc_etcd_feed(e, s->call, status, s->buf != NULL ? s->buf : "", s->len, now);
}

/* ---- scheduling ---- */

/* The next request the op slot should make, or -1 for none now. */
static int
next_call(struct nc_etcd *e, uint64_t now)
{
	switch (e->leave) {
	case LEAVE_DELETE:
		return NC_ETCD_CALL_DELETE;
	case LEAVE_REVOKE:
		return NC_ETCD_CALL_REVOKE;
	case LEAVE_DONE:
		return -1;
	case LEAVE_NO:
		break;
	}
	if (now < e->retry_at)
		return -1;
	if (e->lease == 0)
		return NC_ETCD_CALL_GRANT;
	if (now >= e->next_keepalive)
		return NC_ETCD_CALL_KEEPALIVE;
	if (!e->put_done)
		return NC_ETCD_CALL_PUT;
	if (!e->listed)
		return NC_ETCD_CALL_RANGE;
	return -1;
}

static void
start_call(struct nc_etcd *e, enum nc_etcd_call call, uint64_t now)
{
	char body[BODY_MAX];

	switch (call) {
	case NC_ETCD_CALL_GRANT:
		snprintf(body, sizeof(body), "{\"TTL\":\"%" PRIu32 "\"}", e->ttl_s);
		break;
	case NC_ETCD_CALL_KEEPALIVE:
	case NC_ETCD_CALL_REVOKE:
		snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", e->lease);
		break;
	case NC_ETCD_CALL_PUT:
		snprintf(body, sizeof(body),
			 "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%" PRId64 "\"}", e->key_b64,
			 e->value_b64, e->lease);
		break;
	case NC_ETCD_CALL_RANGE:
		snprintf(body, sizeof(body), "{\"key\":\"%s\",\"range_end\":\"%s\"}", e->prefix_b64,
			 e->end_b64);
		break;
	case NC_ETCD_CALL_DELETE:
		snprintf(body, sizeof(body), "{\"key\":\"%s\"}", e->key_b64);
		break;
	case NC_ETCD_CALL_WATCH:
		snprintf(body, sizeof(body),
			 "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
			 "\"start_revision\":\"%" PRId64 "\"}}",
			 e->prefix_b64, e->end_b64, e->watch_rev);
		slot_start(e, &e->watch, call, body);
		e->watch_started = now;
		e->stats.watches++;
		return;
	}
	slot_start(e, &e->op, call, body);
}

/* Start what is due. */
static void
schedule(struct nc_etcd *e, uint64_t now)
{
	int call;

	if (e->watch_cancel) {
		slot_stop(e, &e->watch);
		e->watch_cancel = false;
	}
	if (e->leave == LEAVE_DONE) {
		set_state(e, NC_ETCD_LEFT, now);
		return;
	}
	if (!e->op.busy) {
		call = next_call(e, now);
		if (call >= 0)
			start_call(e, (enum nc_etcd_call)call, now);
	}
	if (!e->watch.busy && e->listed && !e->down && e->leave == LEAVE_NO)
		start_call(e, NC_ETCD_CALL_WATCH, now);
}

int
nc_etcd_step(struct nc_etcd *e, uint64_t now_ms)
{
	CURLMsg *msg;
	int running, left;

	curl_multi_perform(e->multi, &running);
	while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
		char *slot = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
		slot_done(e, (struct slot *)slot, msg->data.result, now_ms);
	}
	if (e->watch.busy)
		watch_lines(e, false, now_ms);
	schedule(e, now_ms);
	curl_multi_perform(e->multi, &running);
	if (e->nomem) {
		e->nomem = false;
		return -ENOMEM;
	}
	return 0;
}

void
nc_etcd_wait(struct nc_etcd *e, uint32_t max_ms)
{
	uint64_t now = nc_etcd_now_ms();
	uint64_t t = max_ms < INT_MAX ? max_ms : INT_MAX;

	/* A step has work now: a watch to stop or start, a leave to finish, a request due. */
	if (e->watch_cancel || (!e->watch.busy && e->listed && !e->down && e->leave == LEAVE_NO) ||
	    (e->leave == LEAVE_DONE && e->state != NC_ETCD_LEFT) ||
	    (!e->op.busy && next_call(e, now) >= 0))
		return;
	if (!e->op.busy && e->leave == LEAVE_NO) {
		uint64_t due = now < e->retry_at ? e->retry_at : e->next_keepalive;

		if (due > now && due - now < t)
			t = due - now;
	}
	curl_multi_poll(e->multi, NULL, 0, (int)t, NULL);
}

/* ---- queries ---- */

const struct nc_ring_member *
nc_etcd_members(const struct nc_etcd *e, uint32_t *n, uint64_t *version)
{
	*n = e->n_list;
	if (version != NULL)
		*version = e->version;
	return e->list;
}

uint64_t
nc_etcd_members_digest(const struct nc_etcd *e)
{
	return e->digest;
}

enum nc_etcd_state
nc_etcd_state(const struct nc_etcd *e, uint64_t *since_ms)
{
	if (since_ms != NULL)
		*since_ms = e->since_ms;
	return e->state;
}

const char *
nc_etcd_state_name(enum nc_etcd_state s)
{
	static const char *const names[] = {
#define STATE_NAME(name, text) text,
		NC_ETCD_STATES(STATE_NAME)
#undef STATE_NAME
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *
nc_etcd_last_error(const struct nc_etcd *e)
{
	return e->last_error;
}

void
nc_etcd_stats(const struct nc_etcd *e, struct nc_etcd_stats *out)
{
	*out = e->stats;
}

int
nc_etcd_leave(struct nc_etcd *e)
{
	if (e->leave != LEAVE_NO)
		return 0;
	e->leave = LEAVE_DELETE;
	e->fails = 0;
	slot_stop(e, &e->watch);
	/* A keepalive or a range under way is of no use now; a put could outrun the delete. */
	slot_stop(e, &e->op);
	set_state(e, NC_ETCD_LEAVING, nc_etcd_now_ms());
	return 0;
}

/* ---- life ---- */

/* Hand @p msg to the caller of nc_etcd_create(). */
static void
tell(char *err, size_t errcap, const char *msg)
{
	if (err != NULL && errcap > 0)
		snprintf(err, errcap, "%s", msg);
}

/* Split the endpoint list into e->endpoints. 0, -EINVAL or -E2BIG. */
static int
parse_endpoints(struct nc_etcd *e, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		if (e->n_endpoints == NC_ETCD_ENDPOINTS_MAX) {
			note_error(e, -E2BIG, "etcd: more than %d endpoints",
				   NC_ETCD_ENDPOINTS_MAX);
			return -E2BIG;
		}
		while (len > 0 && p[len - 1] == '/')
			len--;
		if (len == 0 || len > NC_ETCD_ENDPOINT_MAX ||
		    (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) ||
		    memchr(p, ' ', len) != NULL) {
			note_error(
				e, -EINVAL,
				"etcd: endpoint '%.*s' is not http://host:port or https://host:port",
				(int)strcspn(p, ","), p);
			return -EINVAL;
		}
		e->endpoints[e->n_endpoints] = strndup(p, len);
		if (e->endpoints[e->n_endpoints] == NULL)
			return -ENOMEM;
		e->n_endpoints++;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	if (e->n_endpoints == 0) {
		note_error(e, -EINVAL, "etcd: no endpoint");
		return -EINVAL;
	}
	return 0;
}

static bool
cluster_name_ok(const char *c)
{
	size_t len = strlen(c);

	if (len == 0 || len > NC_ETCD_CLUSTER_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= 'A' && c[i] <= 'Z') ||
		      (c[i] >= '0' && c[i] <= '9') || c[i] == '.' || c[i] == '_' || c[i] == '-'))
			return false;
	return true;
}

/* Numbers, names, key, value and the range of the prefix. */
static int
configure(struct nc_etcd *e, const struct nc_etcd_params *p)
{
	char value[VALUE_MAX];
	uint8_t end[PREFIX_MAX];
	char key[KEY_MAX];
	int ret, n;

	e->ttl_s = p->ttl_s != 0 ? p->ttl_s : NC_ETCD_TTL_DEFAULT_S;
	e->timeout_ms = p->timeout_ms != 0 ? p->timeout_ms : NC_ETCD_TIMEOUT_DEFAULT_MS;
	e->backoff_max_ms = p->backoff_max_ms != 0 ? p->backoff_max_ms : NC_ETCD_BACKOFF_DEFAULT_MS;
	if (e->ttl_s < 2 || e->ttl_s > 86400 || (uint64_t)e->timeout_ms * 3 > e->ttl_s * 1000ull) {
		note_error(e, -EINVAL,
			   "etcd: lease TTL %u s and request timeout %u ms: the TTL must be 2 s "
			   "to a day and the timeout at most a third of it",
			   e->ttl_s, e->timeout_ms);
		return -EINVAL;
	}
	if (!cluster_name_ok(p->cluster)) {
		note_error(e, -EINVAL,
			   "etcd: cluster name '%s' is not 1 to %d letters, digits, '.', '_', '-'",
			   p->cluster, NC_ETCD_CLUSTER_MAX);
		return -EINVAL;
	}
	ret = check_name(p->name);
	if (ret != 0) {
		note_error(e, ret, "etcd: '%.80s' is not a member name (host:port)", p->name);
		return ret;
	}
	snprintf(e->self.name, sizeof(e->self.name), "%s", p->name);
	e->self.weight = p->weight != 0 ? p->weight : 1;
	e->self.started = p->started != 0 ? p->started : (int64_t)time(NULL);

	e->prefix_len = (size_t)snprintf(e->prefix, sizeof(e->prefix), KEY_ROOT "%s" KEY_MEMBERS,
					 p->cluster);
	n = snprintf(key, sizeof(key), "%s%s", e->prefix, e->self.name);
	ret = nc_etcd_member_encode(&e->self, value, sizeof(value));
	if (ret < 0) {
		note_error(e, -EINVAL, "etcd: member name '%s' is not UTF-8", e->self.name);
		return -EINVAL;
	}
	nc_etcd_base64_encode(value, (size_t)ret, e->value_b64, sizeof(e->value_b64));
	nc_etcd_base64_encode(key, (size_t)n, e->key_b64, sizeof(e->key_b64));
	nc_etcd_base64_encode(e->prefix, e->prefix_len, e->prefix_b64, sizeof(e->prefix_b64));
	n = nc_etcd_prefix_end(e->prefix, e->prefix_len, end, sizeof(end));
	nc_etcd_base64_encode(end, (size_t)n, e->end_b64, sizeof(e->end_b64));
	return 0;
}

/* START_FALLBACK: publish the static list (or this member alone) as version 1. */
static int
publish_fallback(struct nc_etcd *e, const struct nc_etcd_params *p)
{
	struct member_table t = {0};
	struct nc_ring *ring = NULL;
	uint32_t bad = 0;
	int ret;

	if (p->fallback == NULL || p->n_fallback == 0)
		return publish_members(e, &e->self, 1);
	if (p->n_fallback > NC_RING_MEMBERS_MAX) {
		note_error(e, -E2BIG, "etcd: more than %d fallback members", NC_RING_MEMBERS_MAX);
		return -E2BIG;
	}
	ret = nc_ring_build(p->fallback, p->n_fallback, NULL, &ring, &bad);
	nc_ring_destroy(&ring);
	if (ret == -ENOMEM)
		return ret;
	if (ret != 0) {
		note_error(e, ret, "etcd: fallback member %u ('%s'): %s", bad,
			   bad < p->n_fallback && p->fallback[bad].name != NULL ?
				   p->fallback[bad].name :
				   "",
			   strerror(-ret));
		return ret;
	}
	for (uint32_t i = 0; i < p->n_fallback && ret == 0; i++) {
		struct nc_etcd_member m = {.weight = p->fallback[i].weight};

		snprintf(m.name, sizeof(m.name), "%s", p->fallback[i].name);
		ret = table_put(&t, &m);
	}
	if (ret == 0)
		ret = publish_members(e, t.v, t.n);
	free(t.v);
	return ret;
}

/* START_REQUIRE: step until registered or every endpoint has failed. */
static int
wait_registered(struct nc_etcd *e)
{
	uint64_t deadline = nc_etcd_now_ms() + (uint64_t)e->timeout_ms * (3 * e->n_endpoints + 1);

	for (;;) {
		uint64_t now = nc_etcd_now_ms();

		if (nc_etcd_step(e, now) == -ENOMEM)
			return -ENOMEM;
		if (e->state == NC_ETCD_REGISTERED)
			return 0;
		if (e->state == NC_ETCD_UNREACHABLE || now >= deadline) {
			char why[sizeof(e->last_error)];
			int ret = e->last_errno != 0 ? e->last_errno : -ETIMEDOUT;

			snprintf(why, sizeof(why), "%s",
				 e->last_error[0] != '\0' ? e->last_error : "no answer");
			note_error(e, ret, "etcd: cannot register '%s' with %s: %s", e->self.name,
				   e->endpoints[0], why);
			return ret;
		}
		nc_etcd_wait(e, 20);
	}
}

int
nc_etcd_create(const struct nc_etcd_params *p, struct nc_etcd **out, char *err, size_t errcap)
{
	struct nc_etcd *e;
	int ret;

	if (p == NULL || out == NULL || p->endpoints == NULL || p->cluster == NULL ||
	    p->name == NULL ||
	    (p->start != NC_ETCD_START_REQUIRE && p->start != NC_ETCD_START_FALLBACK)) {
		tell(err, errcap, "etcd: missing or unknown parameters");
		return -EINVAL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tell(err, errcap, "etcd: libcurl did not initialise");
		return -ENOMEM;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		curl_global_cleanup();
		tell(err, errcap, "etcd: out of memory");
		return -ENOMEM;
	}
	e->state = NC_ETCD_CONNECTING;
	e->since_ms = nc_etcd_now_ms();
	e->rnd = (uint32_t)e->since_ms ^ (uint32_t)getpid() * 2654435761u;
	if (e->rnd == 0)
		e->rnd = 1;
	e->multi = curl_multi_init();
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	ret = e->multi == NULL || e->headers == NULL ? -ENOMEM : 0;
	if (ret == 0)
		ret = parse_endpoints(e, p->endpoints);
	if (ret == 0)
		ret = configure(e, p);
	if (ret == 0)
		ret = slot_init(e, &e->op);
	if (ret == 0)
		ret = slot_init(e, &e->watch);
	if (ret == 0 && p->start == NC_ETCD_START_FALLBACK)
		ret = publish_fallback(e, p);
	if (ret == 0 && p->start == NC_ETCD_START_REQUIRE)
		ret = wait_registered(e);
	if (ret != 0) {
		tell(err, errcap, ret == -ENOMEM ? "etcd: out of memory" : e->last_error);
		nc_etcd_destroy(&e);
		return ret;
	}
	*out = e;
	return 0;
}

void
nc_etcd_destroy(struct nc_etcd **ep)
{
	struct nc_etcd *e;

	if (ep == NULL || *ep == NULL)
		return;
	e = *ep;
	if (e->op.easy != NULL)
		slot_fini(e, &e->op);
	if (e->watch.easy != NULL)
		slot_fini(e, &e->watch);
	curl_multi_cleanup(e->multi);
	curl_slist_free_all(e->headers);
	for (uint32_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->table.v);
	free(e->shown);
	free(e->list);
	free(e);
	curl_global_cleanup();
	*ep = NULL;
}
