/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for cluster/etcd.h without an etcd or any socket: base64, the prefix's range
 * end, member values, backoff, parameter checks, and a client driven by canned gateway
 * answers through nc_etcd_feed() (ranges, watch events, leases, errors, bad input of every
 * kind). test_etcd_live.c runs clients over the network: against nothing listening, and
 * against a real etcd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cluster/etcd.h"

#define PREFIX "/nicached/c1/members/"
#define NOW    1000000u

/* ---- base64 and range ends ---- */

static void
test_base64_vectors(void **state)
{
	/* RFC 4648 section 10. */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",		"Zg==",	    "Zm8=",    "Zm9v",
					    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char enc[32], dec[32];

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		int n = nc_etcd_base64_encode(plain[i], strlen(plain[i]), enc, sizeof(enc));

		assert_int_equal(n, (int)strlen(coded[i]));
		assert_string_equal(enc, coded[i]);
		n = nc_etcd_base64_decode(coded[i], strlen(coded[i]), dec, sizeof(dec));
		assert_int_equal(n, (int)strlen(plain[i]));
		assert_memory_equal(dec, plain[i], (size_t)n);
	}
}

static void
test_base64_binary_and_errors(void **state)
{
	uint8_t all[256], back[256];
	char enc[400];
	int n;

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)(255 - i);
	n = nc_etcd_base64_encode(all, sizeof(all), enc, sizeof(enc));
	assert_int_equal(n, 344);
	assert_int_equal(nc_etcd_base64_decode(enc, (size_t)n, back, sizeof(back)), 256);
	assert_memory_equal(all, back, sizeof(all));

	/* Room: 4 * ceil(len / 3) + 1 to encode, the exact length to decode. */
	assert_int_equal(nc_etcd_base64_encode("foo", 3, enc, 4), -ENOSPC);
	assert_int_equal(nc_etcd_base64_encode("foo", 3, enc, 5), 4);
	assert_int_equal(nc_etcd_base64_decode("Zm9vYmFy", 8, back, 5), -ENOSPC);
	assert_int_equal(nc_etcd_base64_decode("Zm9vYg==", 8, back, 4), 4);

	/* Not base64: length, alphabet (no URL-safe, no white space), padding in the middle. */
	static const char *const bad[] = {"Zm9",  "Zm9v=", "Zm-v", "Zm_v",   "Zm 9v", "Zg==Zg==",
					  "Z===", "====",  "Zg=a", "Zm9v\n", "Zm\0v"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 10 ? 4 : strlen(bad[i]);

		assert_int_equal(nc_etcd_base64_decode(bad[i], len, back, sizeof(back)), -EINVAL);
	}
}

static void
test_prefix_end(void **state)
{
	uint8_t out[64];
	int n;

	(void)state;
	n = nc_etcd_prefix_end(PREFIX, strlen(PREFIX), out, sizeof(out));
	assert_int_equal(n, (int)strlen(PREFIX));
	assert_memory_equal(out, "/nicached/c1/members0", (size_t)n);

	n = nc_etcd_prefix_end("a\xff\xff", 3, out, sizeof(out));
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'b');
	n = nc_etcd_prefix_end("a\xfe", 2, out, sizeof(out));
	assert_int_equal(n, 2);
	assert_int_equal(out[1], 0xff);

	/* Nothing to increment: "\0", every key from the prefix on. */
	assert_int_equal(nc_etcd_prefix_end("\xff\xff", 2, out, sizeof(out)), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(nc_etcd_prefix_end("", 0, out, sizeof(out)), 1);
	assert_int_equal(out[0], 0);

	assert_int_equal(nc_etcd_prefix_end(PREFIX, strlen(PREFIX), out, 5), -ENOSPC);
}

/* ---- member values ---- */

static void
test_member_round_trip(void **state)
{
	struct nc_etcd_member m = {"10.0.0.1:11211", 3, 1767225600}, back;
	char buf[512];
	int n;

	(void)state;
	n = nc_etcd_member_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf,
			    "{\"name\":\"10.0.0.1:11211\",\"weight\":3,\"started\":1767225600}");
	assert_int_equal(nc_etcd_member_decode(buf, (size_t)n, &back), 0);
	assert_string_equal(back.name, m.name);
	assert_int_equal(back.weight, 3);
	assert_int_equal(back.started, 1767225600);

	/* Later fields are ignored; weight and started may be absent. */
	static const char later[] = "{\"zone\":\"b\",\"name\":\"[::1]:22122\",\"tags\":[1,2]}";
	assert_int_equal(nc_etcd_member_decode(later, strlen(later), &back), 0);
	assert_string_equal(back.name, "[::1]:22122");
	assert_int_equal(back.weight, 1);
	assert_int_equal(back.started, 0);

	assert_int_equal(nc_etcd_member_encode(&m, buf, 20), -ENOSPC);
	m.weight = 0;
	assert_int_equal(nc_etcd_member_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.weight = 1;
	strcpy(m.name, "caf\xe9:1"); /* Latin-1, not UTF-8 */
	assert_int_equal(nc_etcd_member_encode(&m, buf, sizeof(buf)), -EINVAL);
}

static void
test_member_decode_errors(void **state)
{
	static const struct {
		const char *json;
		int ret;
	} cases[] = {
		{"", -EBADMSG},
		{"{\"name\":\"a:1\"", -EBADMSG},
		{"not json", -EBADMSG},
		{"[\"a:1\"]", -EPROTO},
		{"\"a:1\"", -EBADMSG}, /* jansson takes only arrays and objects at the top */
		{"{}", -EPROTO},
		{"{\"name\":17}", -EPROTO},
		{"{\"name\":null}", -EPROTO},
		{"{\"name\":\"a:1\",\"weight\":\"2\"}", -EPROTO},
		{"{\"name\":\"a:1\",\"weight\":1.5}", -EPROTO},
		{"{\"name\":\"a:1\",\"started\":\"x\"}", -EPROTO},
		{"{\"name\":\"a:1\",\"weight\":0}", -ERANGE},
		{"{\"name\":\"a:1\",\"weight\":-3}", -ERANGE},
		{"{\"name\":\"a:1\",\"weight\":4294967296}", -ERANGE},
		{"{\"name\":\"\"}", -EINVAL},
		{"{\"name\":\"a b:1\"}", -EINVAL},
		{"{\"name\":\"a:0\"}", -EINVAL},
		{"{\"name\":\"a:65536\"}", -EINVAL},
		{"{\"name\":\"::1\"}", -EINVAL},
		{"{\"name\":\"a\\u0000b:1\"}", -EBADMSG}, /* jansson refuses \u0000 */
	};
	struct nc_etcd_member m;
	char longname[400];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = nc_etcd_member_decode(cases[i].json, strlen(cases[i].json), &m);

		if (ret != cases[i].ret)
			fail_msg("%s: %d, expected %d", cases[i].json, ret, cases[i].ret);
	}
	snprintf(longname, sizeof(longname), "{\"name\":\"%0300d\"}", 1);
	assert_int_equal(nc_etcd_member_decode(longname, strlen(longname), &m), -ENAMETOOLONG);
	assert_int_equal(nc_etcd_member_decode("{\"name\":\"a:4294967295\"}", 23, &m), -EINVAL);
	assert_int_equal(nc_etcd_member_decode("{\"name\":\"a\",\"weight\":4294967295}", 32, &m),
			 0);
	assert_int_equal(m.weight, UINT32_MAX);
}

/* ---- backoff ---- */

static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(nc_etcd_backoff_ms(0, 5000, 7), 0);
	/* Lower half always, upper half scaled by rnd % 1024 out of 1023. */
	assert_int_equal(nc_etcd_backoff_ms(1, 5000, 0), 50);
	assert_int_equal(nc_etcd_backoff_ms(1, 5000, 1023), 100);
	assert_int_equal(nc_etcd_backoff_ms(2, 5000, 1023), 200);
	assert_int_equal(nc_etcd_backoff_ms(3, 5000, 0), 200);
	assert_int_equal(nc_etcd_backoff_ms(6, 5000, 1023), 3200);
	assert_int_equal(nc_etcd_backoff_ms(7, 5000, 1023), 5000);
	assert_int_equal(nc_etcd_backoff_ms(7, 5000, 0), 2500);
	/* Bounded whatever the attempt count; a maximum below the first step wins. */
	for (uint32_t a = 1; a < 100000; a = a * 3 + 1)
		for (uint32_t r = 0; r < 4096; r += 511) {
			uint32_t d = nc_etcd_backoff_ms(a, 5000, r);

			assert_true(d >= 50 && d <= 5000);
		}
	assert_int_equal(nc_etcd_backoff_ms(UINT32_MAX, UINT32_MAX, 1023), UINT32_MAX);
	assert_int_equal(nc_etcd_backoff_ms(1, 40, 1023), 40);
	assert_int_equal(nc_etcd_backoff_ms(5, 40, 0), 20);
}

/* ---- parameters ---- */

static struct nc_etcd_params
params(const char *name)
{
	return (struct nc_etcd_params){
		.endpoints = "http://127.0.0.1:9",
		.cluster = "c1",
		.name = name,
		.start = NC_ETCD_START_FALLBACK,
		.started = 1767225600,
	};
}

static void
test_create_errors(void **state)
{
	static const struct nc_ring_member dup[] = {{"h", 1}, {"h:11211", 1}};
	struct nc_etcd_params p;
	struct nc_etcd *e = NULL;
	char err[256], longname[300];
	char many[NC_ETCD_ENDPOINTS_MAX * 24 + 32] = "";

	(void)state;
	assert_int_equal(nc_etcd_create(NULL, &e, err, sizeof(err)), -EINVAL);
#define CREATE_FAILS(ret, field, value, text)                                    \
	do {                                                                     \
		p = params("10.0.0.1:11211");                                    \
		p.field = value;                                                 \
		err[0] = '\0';                                                   \
		assert_int_equal(nc_etcd_create(&p, &e, err, sizeof(err)), ret); \
		assert_null(e);                                                  \
		assert_non_null(strstr(err, text));                              \
	} while (0)
	CREATE_FAILS(-EINVAL, endpoints, "", "no endpoint");
	CREATE_FAILS(-EINVAL, endpoints, "127.0.0.1:2379", "'127.0.0.1:2379' is not");
	CREATE_FAILS(-EINVAL, endpoints, "http://a:1,,http://b:1", "'' is not");
	CREATE_FAILS(-EINVAL, endpoints, "ftp://a:1", "'ftp://a:1' is not");
	CREATE_FAILS(-EINVAL, cluster, "", "cluster name");
	CREATE_FAILS(-EINVAL, cluster, "a/b", "cluster name 'a/b'");
	CREATE_FAILS(-EINVAL, name, "bad name", "'bad name' is not a member name");
	CREATE_FAILS(-EINVAL, name, "h:0", "'h:0' is not a member name");
	CREATE_FAILS(-EINVAL, ttl_s, 1, "TTL 1 s");
	CREATE_FAILS(-EINVAL, timeout_ms, 3500, "timeout 3500 ms");
	CREATE_FAILS(-EINVAL, start, (enum nc_etcd_start)7, "missing or unknown parameters");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CREATE_FAILS(-ENAMETOOLONG, name, longname, "is not a member name");
	for (int i = 0; i <= NC_ETCD_ENDPOINTS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "http://h%d:2379,", i);
	CREATE_FAILS(-E2BIG, endpoints, many, "more than 16 endpoints");
#undef CREATE_FAILS
	/* Static fallback members are checked as ring.h checks them. */
	p = params("10.0.0.1:11211");
	p.fallback = dup;
	p.n_fallback = 2;
	assert_int_equal(nc_etcd_create(&p, &e, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "fallback member 1 ('h:11211')"));
	assert_int_equal(nc_etcd_create(&p, &e, NULL, 0), -EEXIST);
	assert_null(e);
}

/* ---- a client driven by canned answers ---- */

/* A kv as the gateway writes it: base64 key and value. */
static json_t *
kv(const char *key, const char *value)
{
	char k[1024], v[2048];

	assert_true(nc_etcd_base64_encode(key, strlen(key), k, sizeof(k)) >= 0);
	assert_true(nc_etcd_base64_encode(value, strlen(value), v, sizeof(v)) >= 0);
	return json_pack("{s:s, s:s, s:s}", "key", k, "value", v, "mod_revision", "7");
}

/* A member's kv under the test prefix. */
static json_t *
member_kv(const char *name, uint32_t weight)
{
	struct nc_etcd_member m = {.weight = weight, .started = 1};
	char key[512], value[512];

	snprintf(m.name, sizeof(m.name), "%s", name);
	snprintf(key, sizeof(key), PREFIX "%s", name);
	assert_true(nc_etcd_member_encode(&m, value, sizeof(value)) > 0);
	return kv(key, value);
}

/* Feed @p answer (taken over) as the answer to @p call; returns the feed's result. */
static int
feed(struct nc_etcd *e, enum nc_etcd_call call, long status, json_t *answer)
{
	char *body = json_dumps(answer, JSON_COMPACT);
	int ret;

	assert_non_null(body);
	ret = nc_etcd_feed(e, call, status, body, strlen(body), NOW);
	free(body);
	json_decref(answer);
	return ret;
}

/* Watch stream lines @p text with HTTP status @p status. */
static int
feed_text(struct nc_etcd *e, long status, const char *text)
{
	return nc_etcd_feed(e, NC_ETCD_CALL_WATCH, status, text, strlen(text), NOW);
}

/* A range answer at revision @p rev with the kvs in @p kvs (taken over). */
static int
feed_range(struct nc_etcd *e, int64_t rev, json_t *kvs)
{
	return feed(e, NC_ETCD_CALL_RANGE, 200,
		    json_pack("{s:{s:s, s:I}, s:o, s:I}", "header", "cluster_id", "1", "revision",
			      (json_int_t)rev, "kvs", kvs, "count",
			      (json_int_t)json_array_size(kvs)));
}

/* One watch line with @p events (taken over). */
static int
feed_events(struct nc_etcd *e, json_t *events)
{
	return feed(e, NC_ETCD_CALL_WATCH, 200,
		    json_pack("{s:{s:{s:s}, s:o}}", "result", "header", "revision", "9", "events",
			      events));
}

static json_t *
ev_delete(const char *name)
{
	char key[512];
	json_t *k;

	snprintf(key, sizeof(key), PREFIX "%s", name);
	k = kv(key, "");
	json_object_del(k, "value");
	return json_pack("{s:s, s:o}", "type", "DELETE", "kv", k);
}

static json_t *
ev_put(json_t *k)
{
	return json_pack("{s:o}", "kv", k);
}

/* Check the published list: @p n names in order, all weights 1 unless listed in @p w. */
static void
expect_list(const struct nc_etcd *e, const char *const *names, const uint32_t *w, uint32_t n)
{
	uint32_t got;
	const struct nc_ring_member *m = nc_etcd_members(e, &got, NULL);

	if (got != n)
		fail_msg("%u members, expected %u", got, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_string_equal(m[i].name, names[i]);
		assert_int_equal(m[i].weight, w == NULL ? 1 : w[i]);
	}
}

#define NAMES(...)     ((const char *const[]){__VA_ARGS__})
#define COUNT(...)     ((uint32_t)(sizeof(NAMES(__VA_ARGS__)) / sizeof(const char *)))
#define EXPECT(e, ...) expect_list(e, NAMES(__VA_ARGS__), NULL, COUNT(__VA_ARGS__))

/* The client's counters are exactly @p want (the fields it does not name are 0). */
static void
expect_stats(const struct nc_etcd *e, struct nc_etcd_stats want)
{
	struct nc_etcd_stats st;
	bool ok = true;

	nc_etcd_stats(e, &st);
#define CHECK_STAT(name, desc)                                                                     \
	if (st.name != want.name) {                                                                \
		print_error("%s: %" PRIu64 ", expected %" PRIu64 "\n", #name, st.name, want.name); \
		ok = false;                                                                        \
	}
	NC_ETCD_STATS(CHECK_STAT)
#undef CHECK_STAT
	if (!ok)
		fail_msg("counters differ");
}

static uint64_t
version(const struct nc_etcd *e)
{
	uint32_t n;
	uint64_t v;

	nc_etcd_members(e, &n, &v);
	return v;
}

static struct nc_etcd *
client(const struct nc_etcd_params *p)
{
	struct nc_etcd *e = NULL;
	char err[256];
	int ret = nc_etcd_create(p, &e, err, sizeof(err));

	if (ret != 0)
		fail_msg("nc_etcd_create: %d %s", ret, err);
	return e;
}

static int
teardown_client(void **state)
{
	nc_etcd_destroy((struct nc_etcd **)state);
	return 0;
}

static void
test_fallback_list(void **state)
{
	static const struct nc_ring_member fb[] = {
		{"10.0.0.3", 2}, {"10.0.0.1:11211", 1}, {"10.0.0.2:11300", 1}};
	static const uint32_t w[] = {1, 1, 2};
	struct nc_etcd_params p = params("10.0.0.1:11211");
	struct nc_etcd *e;

	e = client(&p);
	*state = e;
	EXPECT(e, "10.0.0.1:11211");
	assert_int_equal(version(e), 1);
	assert_int_equal(nc_etcd_state(e, NULL), NC_ETCD_CONNECTING);
	*state = NULL;
	nc_etcd_destroy(&e);
	assert_null(e);
	nc_etcd_destroy(&e);

	/* A static list is published sorted by name, as etcd's is. */
	p.fallback = fb;
	p.n_fallback = 3;
	e = client(&p);
	*state = e;
	expect_list(e, NAMES("10.0.0.1:11211", "10.0.0.2:11300", "10.0.0.3"), w, 3);
}

static void
test_range_and_watch(void **state)
{
	struct nc_etcd_params p = params("b:1");
	struct nc_etcd *e = client(&p);
	uint64_t v, digest;

	*state = e;
	/* etcd lists by key; the client sorts anyway. */
	assert_int_equal(feed_range(e, 5,
				    json_pack("[o, o, o]", member_kv("c:1", 1), member_kv("a:1", 4),
					      member_kv("b:1", 1))),
			 0);
	expect_list(e, NAMES("a:1", "b:1", "c:1"), (const uint32_t[]){4, 1, 1}, 3);
	v = version(e);
	assert_int_equal(v, 2);

	/* The same list again: same version. */
	digest = nc_etcd_members_digest(e);
	assert_int_not_equal(digest, 0);
	assert_int_equal(feed_range(e, 6,
				    json_pack("[o, o, o]", member_kv("a:1", 4), member_kv("b:1", 1),
					      member_kv("c:1", 1))),
			 0);
	assert_int_equal(version(e), v);
	assert_int_equal(nc_etcd_members_digest(e), digest);

	/* Events: a put adds, a put replaces (weight), a delete removes; each change bumps. */
	assert_int_equal(feed_events(e, json_pack("[o]", ev_put(member_kv("aa:1", 1)))), 0);
	expect_list(e, NAMES("a:1", "aa:1", "b:1", "c:1"), (const uint32_t[]){4, 1, 1, 1}, 4);
	assert_int_equal(version(e), v + 1);
	assert_int_equal(
		feed_events(e, json_pack("[o, o]", ev_put(member_kv("a:1", 1)), ev_delete("c:1"))),
		0);
	EXPECT(e, "a:1", "aa:1", "b:1");
	assert_int_equal(version(e), v + 2);
	assert_int_equal(feed_events(e, json_pack("[o]", ev_delete("nobody:1"))), 0);
	assert_int_equal(version(e), v + 2);
	/* The digest follows the content: the first list again, its digest again. */
	assert_int_not_equal(nc_etcd_members_digest(e), digest);
	assert_int_equal(
		feed_events(e, json_pack("[o, o, o]", ev_delete("aa:1"),
					 ev_put(member_kv("a:1", 4)), ev_put(member_kv("c:1", 1)))),
		0);
	assert_int_equal(nc_etcd_members_digest(e), digest);
	assert_int_equal(version(e), v + 3);
	assert_int_equal(feed_events(e, json_pack("[o, o, o]", ev_put(member_kv("aa:1", 1)),
						  ev_put(member_kv("a:1", 1)), ev_delete("c:1"))),
			 0);
	assert_int_equal(version(e), v + 4);

	/* Lines of the stream without events (created, progress): nothing changes. */
	assert_int_equal(
		feed_text(e, 200,
			  "{\"result\":{\"header\":{\"revision\":\"9\"},\"created\":true}}\n"
			  "{\"result\":{\"header\":{\"revision\":\"9\"}}}\n"),
		0);
	assert_int_equal(version(e), v + 4);

	/* Compaction cancels the watch: -ECANCELED, the list is kept and read again. */
	assert_int_equal(feed(e, NC_ETCD_CALL_WATCH, 200,
			      json_pack("{s:{s:{}, s:b, s:s}}", "result", "header", "canceled", 1,
					"compact_revision", "4")),
			 -ECANCELED);
	EXPECT(e, "a:1", "aa:1", "b:1");
	/* The fallback list was the first change. */
	expect_stats(e,
		     (struct nc_etcd_stats){
			     .ranges = 2, .watch_events = 10, .watch_ends = 1, .list_changes = 6});
}

static void
test_bad_members_skipped(void **state)
{
	struct nc_etcd_params p = params("b:1");
	struct nc_etcd *e = client(&p);
	json_t *kvs, *badtype;

	*state = e;
	badtype = member_kv("t:1", 1);
	json_object_set_new(badtype, "value", json_integer(3));
	kvs = json_pack(
		"[o, o, o, o, o, o, o, o, o, o, o, o, o, o, o]", member_kv("b:1", 1),
		/* outside the prefix: another cluster, the prefix itself, a near miss */
		kv("/nicached/c2/members/x:1", "{\"name\":\"x:1\"}"),
		kv(PREFIX, "{\"name\":\"x:1\"}"), kv("/nicached/c1/members", "{\"name\":\"x:1\"}"),
		/* values that are not JSON, not objects, or of the wrong types */
		kv(PREFIX "j:1", "{\"name\":"), kv(PREFIX "k:1", "[]"),
		kv(PREFIX "l:1", "{\"name\":\"l:1\",\"weight\":\"1\"}"),
		/* names ring.h refuses, or not the key's */
		kv(PREFIX "m 1", "{\"name\":\"m 1\"}"), kv(PREFIX "n:1", "{\"name\":\"other:1\"}"),
		/* weight out of range */
		kv(PREFIX "w:1", "{\"name\":\"w:1\",\"weight\":0}"),
		/* duplicates of one host and port: the later by name goes */
		member_kv("h", 1), member_kv("h:11211", 1), member_kv("[::1]", 1),
		member_kv("[::1]:11211", 1), badtype);
	assert_int_equal(
		json_array_append_new(kvs, json_pack("{s:s, s:s}", "key", "!!!!", "value", "e30=")),
		0);
	assert_int_equal(json_array_append_new(kvs, json_string("not a kv")), 0);
	assert_int_equal(feed_range(e, 3, kvs), 0);
	EXPECT(e, "[::1]", "b:1", "h");

	/* err_type: k:1 [], l:1 weight, t:1 value, the string kv; err_name: the prefix alone,
	 * "m 1", n:1. */
	expect_stats(e, (struct nc_etcd_stats){.ranges = 1,
					       .list_changes = 2,
					       .err_json = 1,
					       .err_type = 4,
					       .err_base64 = 1,
					       .err_key = 2,
					       .err_name = 3,
					       .err_weight = 1,
					       .err_duplicate = 2});

	/* A member overwritten with garbage is no longer listed (and the duplicate it hid now
	 * is); the watch goes on. */
	assert_int_equal(feed_events(e, json_pack("[o]", ev_put(kv(PREFIX "h", "garbage")))), 0);
	EXPECT(e, "[::1]", "b:1", "h:11211");
	/* Events of unknown type or shape are skipped, the others taken. */
	assert_int_equal(
		feed_events(e, json_pack("[{s:s, s:o}, s, o]", "type", "MOVE", "kv",
					 member_kv("q:1", 1), "x", ev_put(member_kv("r:1", 1)))),
		0);
	EXPECT(e, "[::1]", "b:1", "h:11211", "r:1");
	/* Duplicates count each time a list is published: [::1]:11211 twice more. */
	expect_stats(e, (struct nc_etcd_stats){.ranges = 1,
					       .watch_events = 2,
					       .list_changes = 4,
					       .err_json = 2,
					       .err_type = 6,
					       .err_base64 = 1,
					       .err_key = 2,
					       .err_name = 3,
					       .err_weight = 1,
					       .err_duplicate = 4});
}

static void
test_bad_answers(void **state)
{
	struct nc_etcd_params p = params("b:1");
	struct nc_etcd *e;
	uint64_t v;

	p.endpoints = "http://127.0.0.1:9,http://127.0.0.1:10";
	e = client(&p);
	*state = e;
	assert_int_equal(
		feed_range(e, 3, json_pack("[o, o]", member_kv("a:1", 1), member_kv("b:1", 1))), 0);
	v = version(e);

	/* Answers that are not a range: the list stays as it is. */
	assert_int_equal(nc_etcd_feed(e, NC_ETCD_CALL_RANGE, 200, "{\"kvs\":", 7, NOW), -EBADMSG);
	assert_int_equal(feed(e, NC_ETCD_CALL_RANGE, 200, json_pack("{s:[]}", "kvs")), -EPROTO);
	assert_int_equal(feed(e, NC_ETCD_CALL_RANGE, 200,
			      json_pack("{s:{s:s}, s:{}}", "header", "revision", "4", "kvs")),
			 -EPROTO);
	assert_int_equal(feed(e, NC_ETCD_CALL_RANGE, 200,
			      json_pack("{s:{s:s}}", "header", "revision", "4x")),
			 -EPROTO);
	assert_int_equal(nc_etcd_feed(e, NC_ETCD_CALL_RANGE, 404, "Not Found\n", 10, NOW),
			 -EBADMSG);
	assert_int_equal(feed(e, NC_ETCD_CALL_RANGE, 503,
			      json_pack("{s:s, s:s, s:i}", "error", "etcdserver: no leader",
					"message", "etcdserver: no leader", "code", 14)),
			 -EIO);
	assert_int_equal(feed(e, NC_ETCD_CALL_RANGE, 500, json_pack("{}")), -EIO);
	EXPECT(e, "a:1", "b:1");
	assert_int_equal(version(e), v);
	assert_non_null(strstr(nc_etcd_last_error(e), "HTTP 500"));

	/* Every failure moved to the other endpoint; each second one ended a round. */
	expect_stats(e, (struct nc_etcd_stats){.failures = 7,
					       .endpoint_switches = 4,
					       .unreachable = 1,
					       .ranges = 1,
					       .list_changes = 2,
					       .err_http = 2,
					       .err_etcd = 1,
					       .err_json = 1,
					       .err_type = 3});
	assert_int_equal(nc_etcd_state(e, NULL), NC_ETCD_UNREACHABLE);

	/* A watch line that is an error ends the watch, as does one that is not JSON. */
	assert_int_equal(feed_text(e, 200, "{\"error\":{\"grpc_code\":14,\"message\":\"gone\"}}\n"),
			 -EIO);
	assert_string_equal(nc_etcd_last_error(e), ": gone");
	assert_int_equal(feed_text(e, 200, "{\"res\n"), -EBADMSG);
	assert_int_equal(feed_text(e, 503, "{}\n"), -EIO);
	assert_int_equal(feed_text(e, 200, "{\"result\":[]}\n"), -EPROTO);
	expect_stats(e, (struct nc_etcd_stats){.failures = 7,
					       .endpoint_switches = 4,
					       .unreachable = 1,
					       .ranges = 1,
					       .watch_ends = 4,
					       .list_changes = 2,
					       .err_http = 3,
					       .err_etcd = 2,
					       .err_json = 2,
					       .err_type = 4});
	EXPECT(e, "a:1", "b:1");
	assert_int_equal(version(e), v);
}

static void
test_lease_answers(void **state)
{
	struct nc_etcd_params p = params("b:1");
	struct nc_etcd *e = client(&p);
	uint64_t since;

	*state = e;
	assert_int_equal(feed(e, NC_ETCD_CALL_GRANT, 200,
			      json_pack("{s:{s:s}, s:s, s:s}", "header", "revision", "1", "ID",
					"4111120394456289285", "TTL", "10")),
			 0);
	assert_int_equal(
		feed(e, NC_ETCD_CALL_PUT, 200, json_pack("{s:{s:s}}", "header", "revision", "2")),
		0);
	assert_int_equal(nc_etcd_state(e, NULL), NC_ETCD_CONNECTING);
	assert_int_equal(feed_range(e, 2, json_pack("[o]", member_kv("b:1", 1))), 0);
	assert_int_equal(nc_etcd_state(e, &since), NC_ETCD_REGISTERED);
	assert_int_equal(since, NOW);

	/* Keepalive: a TTL keeps it; none (proto3 leaves a 0 out) means the lease is gone. */
	assert_int_equal(feed(e, NC_ETCD_CALL_KEEPALIVE, 200,
			      json_pack("{s:{s:s, s:s}}", "result", "ID", "4111120394456289285",
					"TTL", "10")),
			 0);
	assert_int_equal(feed(e, NC_ETCD_CALL_KEEPALIVE, 200,
			      json_pack("{s:{s:s}}", "result", "ID", "4111120394456289285")),
			 -ENOENT);
	assert_int_equal(nc_etcd_state(e, NULL), NC_ETCD_CONNECTING);
	/* A put with an unknown lease is answered 404, code 5: the same. */
	assert_int_equal(
		feed(e, NC_ETCD_CALL_PUT, 404,
		     json_pack("{s:s, s:s, s:i}", "error", "etcdserver: requested lease not found",
			       "message", "etcdserver: requested lease not found", "code", 5)),
		-ENOENT);
	/* Grants without an ID or TTL are not grants. */
	assert_int_equal(feed(e, NC_ETCD_CALL_GRANT, 200, json_pack("{s:s}", "ID", "5")), -EPROTO);
	assert_int_equal(
		feed(e, NC_ETCD_CALL_GRANT, 200, json_pack("{s:b, s:s}", "ID", 1, "TTL", "5")),
		-EPROTO);
	/* The list is kept through all of it. */
	EXPECT(e, "b:1");
	/* The bad grants were failures; the lost leases were answers. */
	expect_stats(e, (struct nc_etcd_stats){.failures = 2,
					       .unreachable = 1,
					       .lease_grants = 1,
					       .lease_lost = 2,
					       .keepalives = 1,
					       .puts = 1,
					       .ranges = 1,
					       .list_changes = 1,
					       .err_type = 2});
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(nc_etcd_state_name(NC_ETCD_CONNECTING), "connecting");
	assert_string_equal(nc_etcd_state_name(NC_ETCD_REGISTERED), "registered");
	assert_string_equal(nc_etcd_state_name(NC_ETCD_UNREACHABLE), "unreachable");
	assert_string_equal(nc_etcd_state_name(NC_ETCD_LEFT), "left");
	assert_string_equal(nc_etcd_state_name((enum nc_etcd_state)99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_binary_and_errors),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_member_round_trip),
		cmocka_unit_test(test_member_decode_errors),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test_teardown(test_fallback_list, teardown_client),
		cmocka_unit_test_teardown(test_range_and_watch, teardown_client),
		cmocka_unit_test_teardown(test_bad_members_skipped, teardown_client),
		cmocka_unit_test_teardown(test_bad_answers, teardown_client),
		cmocka_unit_test_teardown(test_lease_answers, teardown_client),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
