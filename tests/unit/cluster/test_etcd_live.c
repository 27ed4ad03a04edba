/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cluster/etcd.h against a real etcd (Debian's etcd-server), on 127.0.0.1 only: an etcd on
 * free client and peer ports with a scratch data dir under /tmp, three clients that must
 * agree on their members; one crashes (destroyed without leaving) and leaves every list
 * when its lease expires; etcd stops and the clients keep their lists and say unreachable;
 * etcd restarts on the same data and ports and they register again; one leaves cleanly and
 * is gone from the other's list at once; a client whose first endpoint is dead uses the next.
 * In between, their leases are revoked behind their backs: they take new ones.
 * First, without etcd, a client created against a port nothing listens on, with either start
 * policy (a clear error; or the fallback list and "unreachable").
 *
 * Exit 77 (skip) when there is no etcd binary (NC_ETCD_BIN, or etcd in PATH) and the part
 * without etcd passed. Everything is bounded (about 10 s in all); etcd gets SIGTERM from the
 * teardown, and SIGKILL from the kernel if this process dies first (PR_SET_PDEATHSIG); the
 * scratch dir is removed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cluster/etcd.h"

#define TTL_S	   2
#define TIMEOUT_MS 500

static char etcd_bin[4096];

/* The etcd under test. */
static struct {
	pid_t pid;
	char dir[64];
	int client_port;
	int peer_port;
	char url[64];
} etcd;

enum {
	A,
	B,
	C,
	D,
	N_CLIENTS
};
static const char *const names[N_CLIENTS] = {"127.0.0.1:21001", "127.0.0.1:21002",
					     "127.0.0.1:21003", "127.0.0.1:21004"};
static struct nc_etcd *clients[N_CLIENTS];
static char cluster[32];

/* ---- etcd ---- */

/* etcd in NC_ETCD_BIN or PATH; false if none. */
static bool
find_etcd(void)
{
	const char *env = getenv("NC_ETCD_BIN");
	char *path, *dir, *save = NULL;
	bool found = false;

	if (env != NULL && env[0] != '\0') {
		snprintf(etcd_bin, sizeof(etcd_bin), "%s", env);
		return access(etcd_bin, X_OK) == 0;
	}
	path = strdup(getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin");
	for (dir = strtok_r(path, ":", &save); dir != NULL && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(etcd_bin, sizeof(etcd_bin), "%s/etcd", dir);
		found = access(etcd_bin, X_OK) == 0;
	}
	free(path);
	return found;
}

/* A port on 127.0.0.1 free now (bound, then closed). */
static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

#define ANSWER_MAX 4096

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	char *buf = arg;
	size_t have = strlen(buf), add = size * n;

	if (have + add < ANSWER_MAX) {
		memcpy(buf + have, p, add);
		buf[have + add] = '\0';
	}
	return add;
}

/* GET (@p post NULL) or POST @p post to etcd's @p path, blocking, 300 ms at most. */
static bool
etcd_http(const char *path, const char *post, char answer[ANSWER_MAX])
{
	char url[128];
	CURL *c = curl_easy_init();
	CURLcode res;

	assert_non_null(c);
	answer[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", etcd.url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)answer);
	if (post != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	res = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return res == CURLE_OK;
}

/* etcd answers GET /health with {"health":"true"} (it has a leader). */
static bool
etcd_healthy(void)
{
	char answer[ANSWER_MAX];

	return etcd_http("/health", NULL, answer) && strstr(answer, "\"health\":\"true\"") != NULL;
}

/* Revoke every lease etcd has (what an operator, or expiry, does); returns how many. */
static int
revoke_all_leases(void)
{
	char answer[ANSWER_MAX], body[64];
	json_t *root, *leases;
	int n = 0;

	assert_true(etcd_http("/v3/lease/leases", "{}", answer));
	root = json_loads(answer, 0, NULL);
	assert_non_null(root);
	leases = json_object_get(root, "leases");
	for (size_t i = 0; i < json_array_size(leases); i++) {
		const char *id =
			json_string_value(json_object_get(json_array_get(leases, i), "ID"));

		assert_non_null(id);
		snprintf(body, sizeof(body), "{\"ID\":\"%s\"}", id);
		assert_true(etcd_http("/v3/lease/revoke", body, answer));
		n++;
	}
	json_decref(root);
	return n;
}

/* Start etcd on etcd.dir and the ports chosen, and wait until it is healthy (10 s). */
static void
etcd_start(void)
{
	char data[96], log[96], client[64], peer[64], initial[96];
	uint64_t t0 = nc_etcd_now_ms();
	pid_t pid;

	snprintf(data, sizeof(data), "%s/data", etcd.dir);
	snprintf(log, sizeof(log), "%s/etcd.log", etcd.dir);
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", etcd.client_port);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", etcd.peer_port);
	snprintf(initial, sizeof(initial), "nctest=%s", peer);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(etcd_bin, "etcd", "--name", "nctest", "--data-dir", data,
		      "--listen-client-urls", client, "--advertise-client-urls", client,
		      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		      "--initial-cluster", initial, "--heartbeat-interval", "50",
		      "--election-timeout", "500", "--logger", "zap", "--log-level", "warn",
		      (char *)NULL);
		_exit(127);
	}
	etcd.pid = pid;
	while (!etcd_healthy()) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			etcd.pid = 0;
			fail_msg("etcd exited (status %d); see %s", status, log);
		}
		if (nc_etcd_now_ms() - t0 > 10000)
			fail_msg("etcd not healthy after 10 s; see %s", log);
		usleep(50 * 1000);
	}
}

/* SIGTERM, then SIGKILL after 5 s; reaped. */
static void
etcd_stop(void)
{
	uint64_t t0 = nc_etcd_now_ms();

	if (etcd.pid <= 0)
		return;
	kill(etcd.pid, SIGTERM);
	while (waitpid(etcd.pid, NULL, WNOHANG) != etcd.pid) {
		if (nc_etcd_now_ms() - t0 > 5000) {
			kill(etcd.pid, SIGKILL);
			waitpid(etcd.pid, NULL, 0);
			break;
		}
		usleep(10 * 1000);
	}
	etcd.pid = 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(etcd.dir, sizeof(etcd.dir), "/tmp/nc-etcd-live-XXXXXX");
	if (mkdtemp(etcd.dir) == NULL)
		return -1;
	etcd.client_port = free_port();
	do
		etcd.peer_port = free_port();
	while (etcd.peer_port == etcd.client_port);
	snprintf(etcd.url, sizeof(etcd.url), "http://127.0.0.1:%d", etcd.client_port);
	return 0;
}

static int
teardown_clients(void **state)
{
	(void)state;
	for (int i = 0; i < N_CLIENTS; i++)
		nc_etcd_destroy(&clients[i]);
	return 0;
}

static int
teardown(void **state)
{
	teardown_clients(state);
	etcd_stop();
	nftw(etcd.dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- clients ---- */

static struct nc_etcd_params
params(int who, const char *endpoints)
{
	return (struct nc_etcd_params){
		.endpoints = endpoints,
		.cluster = cluster,
		.name = names[who],
		.ttl_s = TTL_S,
		.timeout_ms = TIMEOUT_MS,
		.backoff_max_ms = 300,
	};
}

static void
create(int who, const char *endpoints)
{
	struct nc_etcd_params p = params(who, endpoints);
	char err[512];
	int ret = nc_etcd_create(&p, &clients[who], err, sizeof(err));

	if (ret != 0)
		fail_msg("create %s: %d %s", names[who], ret, err);
	assert_int_equal(nc_etcd_state(clients[who], NULL), NC_ETCD_REGISTERED);
}

/* Client @p who lists exactly the clients in @p want (a bit set), in name order. */
static bool
lists(int who, unsigned want)
{
	uint32_t n, k = 0;
	const struct nc_ring_member *m = nc_etcd_members(clients[who], &n, NULL);

	for (int i = 0; i < N_CLIENTS; i++) {
		if (!(want & (1u << i)))
			continue;
		if (k >= n || strcmp(m[k].name, names[i]) != 0 || m[k].weight != 1)
			return false;
		k++;
	}
	return k == n;
}

/* Every client in @p who (a bit set) lists @p want, with equal digests, in state @p s. */
static bool
agree(unsigned who, unsigned want, enum nc_etcd_state s)
{
	uint64_t digest = 0;

	for (int i = 0; i < N_CLIENTS; i++) {
		if (!(who & (1u << i)))
			continue;
		if (!lists(i, want) || nc_etcd_state(clients[i], NULL) != s)
			return false;
		if (digest != 0 && nc_etcd_members_digest(clients[i]) != digest)
			return false;
		digest = nc_etcd_members_digest(clients[i]);
	}
	return true;
}

/* Step every client for @p ms, or until agree(who, want, s); returns the time taken. */
static uint64_t
step_until(unsigned who, unsigned want, enum nc_etcd_state s, uint32_t ms)
{
	uint64_t t0 = nc_etcd_now_ms(), now;

	for (;;) {
		now = nc_etcd_now_ms();
		for (int i = 0; i < N_CLIENTS; i++)
			if (clients[i] != NULL)
				assert_int_equal(nc_etcd_step(clients[i], now), 0);
		if (who != 0 && agree(who, want, s))
			return now - t0;
		if (now - t0 >= ms)
			break;
		usleep(2000);
	}
	if (who == 0)
		return now - t0;
	for (int i = 0; i < N_CLIENTS; i++) {
		uint32_t n;
		uint64_t v;
		const struct nc_ring_member *m;

		if (!(who & (1u << i)))
			continue;
		m = nc_etcd_members(clients[i], &n, &v);
		fprintf(stderr, "%s: %s, version %" PRIu64 ", %u members%s%s%s (%s)\n", names[i],
			nc_etcd_state_name(nc_etcd_state(clients[i], NULL)), v, n,
			n > 0 ? " first " : "", n > 0 ? m[0].name : "", n > 1 ? " ..." : "",
			nc_etcd_last_error(clients[i]));
	}
	fail_msg("clients 0x%x do not list 0x%x as %s after %u ms", who, want,
		 nc_etcd_state_name(s), ms);
	return 0;
}

#define BIT(i) (1u << (i))

/* Step every client until those in @p who have each lost a lease; returns the time taken. */
static uint64_t
step_until_lease_lost(unsigned who, uint32_t ms)
{
	uint64_t t0 = nc_etcd_now_ms();

	for (;;) {
		bool all = true;

		step_until(0, 0, NC_ETCD_REGISTERED, 2);
		for (int i = 0; i < N_CLIENTS; i++) {
			struct nc_etcd_stats st;

			if (!(who & (1u << i)))
				continue;
			nc_etcd_stats(clients[i], &st);
			all = all && st.lease_lost >= 1;
		}
		if (all)
			return nc_etcd_now_ms() - t0;
		if (nc_etcd_now_ms() - t0 > ms)
			fail_msg("no lease lost after %u ms", ms);
	}
}

/* Step until client @p who has left (its delete and revoke answered), at most 2 s. */
static void
step_until_left(int who)
{
	for (int i = 0; i < 1000 && nc_etcd_state(clients[who], NULL) != NC_ETCD_LEFT; i++) {
		assert_int_equal(nc_etcd_step(clients[who], nc_etcd_now_ms()), 0);
		usleep(2000);
	}
	assert_int_equal(nc_etcd_state(clients[who], NULL), NC_ETCD_LEFT);
}

static uint64_t
version_of(int who)
{
	uint32_t n;
	uint64_t v;

	nc_etcd_members(clients[who], &n, &v);
	return v;
}

/* ---- nothing listening (runs without etcd) ---- */

static void
test_unreachable_at_start(void **state)
{
	char endpoints[64], err[512];
	struct nc_etcd_params p;
	struct nc_etcd_stats st;
	uint64_t t0 = nc_etcd_now_ms(), since;

	(void)state;
	snprintf(endpoints, sizeof(endpoints), "http://127.0.0.1:%d", free_port());
	p = params(D, endpoints);

	/* START_REQUIRE: a clear error, at once. */
	assert_int_equal(nc_etcd_create(&p, &clients[D], err, sizeof(err)), -ECONNREFUSED);
	assert_null(clients[D]);
	fprintf(stderr, "START_REQUIRE, nothing listening: %s\n", err);
	assert_non_null(strstr(err, "cannot register '127.0.0.1:21004' with http://127.0.0.1:"));
	assert_non_null(strstr(err, "/v3/lease/grant"));
	assert_true(nc_etcd_now_ms() - t0 < 2000);

	/* START_FALLBACK: serves with the fallback list (itself) and reports unreachable. */
	p.start = NC_ETCD_START_FALLBACK;
	assert_int_equal(nc_etcd_create(&p, &clients[D], err, sizeof(err)), 0);
	step_until(BIT(D), BIT(D), NC_ETCD_UNREACHABLE, 3000);
	assert_int_equal(nc_etcd_state(clients[D], &since), NC_ETCD_UNREACHABLE);
	assert_true(since >= t0);
	assert_int_equal(version_of(D), 1);
	/* It goes on retrying with backoff, and keeps its list. */
	step_until(0, 0, NC_ETCD_UNREACHABLE, 1000);
	assert_true(agree(BIT(D), BIT(D), NC_ETCD_UNREACHABLE));
	nc_etcd_stats(clients[D], &st);
	assert_true(st.failures >= 3);
	assert_int_equal(st.unreachable, 1);

	/* Leaving while unreachable gives up after one round. */
	assert_int_equal(nc_etcd_leave(clients[D]), 0);
	assert_int_equal(nc_etcd_state(clients[D], NULL), NC_ETCD_LEAVING);
	step_until_left(D);
	assert_true(lists(D, BIT(D)));
	nc_etcd_destroy(&clients[D]);
}

/* ---- against etcd ---- */

static void
test_membership(void **state)
{
	static const int pair[2] = {A, C};
	struct nc_etcd_stats st;
	uint64_t took, v_a, v_c, digest, grants[2];

	(void)state;
	etcd_start();
	/* Three members agree. */
	create(A, etcd.url);
	create(B, etcd.url);
	create(C, etcd.url);
	took = step_until(BIT(A) | BIT(B) | BIT(C), BIT(A) | BIT(B) | BIT(C), NC_ETCD_REGISTERED,
			  5000);
	fprintf(stderr, "3 members agree after %" PRIu64 " ms\n", took);

	/* B dies: its lease expires, within the TTL of its last keepalive (TTL / 3 ago). */
	nc_etcd_destroy(&clients[B]);
	took = step_until(BIT(A) | BIT(C), BIT(A) | BIT(C), NC_ETCD_REGISTERED,
			  TTL_S * 1000 + 3000);
	fprintf(stderr, "crashed member gone after %" PRIu64 " ms (TTL %d s)\n", took, TTL_S);
	assert_true(took >= TTL_S * 1000 * 2 / 3 - 100);

	/* etcd stops: the lists stay, the clients say unreachable. */
	v_a = version_of(A);
	v_c = version_of(C);
	digest = nc_etcd_members_digest(clients[A]);
	etcd_stop();
	took = step_until(BIT(A) | BIT(C), BIT(A) | BIT(C), NC_ETCD_UNREACHABLE, 5000);
	fprintf(stderr, "unreachable after %" PRIu64 " ms\n", took);
	step_until(0, 0, NC_ETCD_UNREACHABLE, 1000); /* a few rounds of backoff */
	assert_true(agree(BIT(A) | BIT(C), BIT(A) | BIT(C), NC_ETCD_UNREACHABLE));
	assert_int_equal(nc_etcd_members_digest(clients[A]), digest);
	assert_int_equal(version_of(A), v_a);
	assert_int_equal(version_of(C), v_c);
	nc_etcd_stats(clients[A], &st);
	assert_int_equal(st.unreachable, 1);
	assert_true(st.failures >= 2);

	/* etcd returns on the same data and ports: both register again, same list. */
	etcd_start();
	took = step_until(BIT(A) | BIT(C), BIT(A) | BIT(C), NC_ETCD_REGISTERED, 8000);
	fprintf(stderr, "registered again %" PRIu64 " ms after etcd was healthy\n", took);
	nc_etcd_stats(clients[A], &st);
	assert_true(st.ranges >= 2);
	assert_true(st.watches >= 2);

	/* Their leases are revoked (as if expired): both take new ones and write their keys. */
	for (int i = 0; i < 2; i++) {
		nc_etcd_stats(clients[pair[i]], &st);
		grants[i] = st.lease_grants;
	}
	assert_int_equal(revoke_all_leases(), 2);
	took = step_until_lease_lost(BIT(A) | BIT(C), 3000);
	took += step_until(BIT(A) | BIT(C), BIT(A) | BIT(C), NC_ETCD_REGISTERED, 3000);
	fprintf(stderr, "registered with new leases after %" PRIu64 " ms\n", took);
	for (int i = 0; i < 2; i++) {
		nc_etcd_stats(clients[pair[i]], &st);
		assert_int_equal(st.lease_grants, grants[i] + 1);
	}

	/* C leaves cleanly: gone from A's list well within the TTL. */
	assert_int_equal(nc_etcd_leave(clients[C]), 0);
	took = step_until(BIT(A), BIT(A), NC_ETCD_REGISTERED, TTL_S * 1000 + 3000);
	fprintf(stderr, "member that left gone after %" PRIu64 " ms\n", took);
	assert_true(took < 1000);
	step_until_left(C);
	assert_true(lists(C, BIT(A) | BIT(C))); /* its list stopped where it left */
	nc_etcd_destroy(&clients[C]);

	/* A leaves too; D's first endpoint is dead, the second is etcd. */
	assert_int_equal(nc_etcd_leave(clients[A]), 0);
	step_until_left(A);
	nc_etcd_destroy(&clients[A]);
	{
		char endpoints[160];

		snprintf(endpoints, sizeof(endpoints), "http://127.0.0.1:%d,%s/", free_port(),
			 etcd.url);
		create(D, endpoints);
	}
	assert_true(lists(D, BIT(D)));
	nc_etcd_stats(clients[D], &st);
	assert_true(st.endpoint_switches >= 1);
	assert_int_equal(st.unreachable, 0);
	assert_int_equal(st.err_json + st.err_type + st.err_key + st.err_name + st.err_duplicate,
			 0);
}

int
main(void)
{
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(test_unreachable_at_start),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_membership),
	};
	int failed;

	snprintf(cluster, sizeof(cluster), "live-%d", (int)getpid());
	failed = cmocka_run_group_tests_name("etcd_nothing_listening", offline, NULL,
					     teardown_clients);

	if (!find_etcd()) {
		printf("SKIP: no etcd binary (Debian: apt-get install etcd-server; or NC_ETCD_BIN)\n");
		return failed != 0 ? 1 : 77;
	}
	return failed + cmocka_run_group_tests_name("etcd_live", live, setup, teardown);
}
