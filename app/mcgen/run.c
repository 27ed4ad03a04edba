/* SPDX-License-Identifier: BSD-3-Clause */
/* One run of the load threads and its per-second lines (run.h). */
#include "run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "transport.h"

/* The port when --server names none: memcached's. */
#define MCGEN_DEFAULT_PORT "11211"

/* Threads connect first; the measured phase starts this long after they all did. */
#define START_DELAY_NS 20000000ull

/*
 * Split --server's copy @p host in place into the host and *@p port (memcached's when none):
 * "name", "name:port", "a.b.c.d[:port]", "[v6]", "[v6]:port", or a bare IPv6 address, which
 * takes no port. @return 0; -EINVAL malformed; -EDOM a bare IPv6 address whose last group
 * could be a port ("::1:5"); -ERANGE one that must be a port ("::1:11211").
 */
static int
split_host_port(char *host, const char **port)
{
	char *colon = strrchr(host, ':'), *close;
	struct in6_addr a6;
	bool whole, head;

	*port = MCGEN_DEFAULT_PORT;
	if (host[0] == '[') {
		close = strchr(host, ']');
		if (close == NULL || close == host + 1 ||
		    (close[1] != '\0' && (close[1] != ':' || close[2] == '\0')))
			return -EINVAL;
		if (close[1] == ':')
			*port = close + 2;
		*close = '\0';
		memmove(host, host + 1, strlen(host + 1) + 1);
		return 0;
	}
	if (colon == NULL)
		return host[0] != '\0' ? 0 : -EINVAL;
	if (strchr(host, ':') != colon) {
		/* Two colons or more: an IPv6 address, bare. */
		whole = inet_pton(AF_INET6, host, &a6) == 1;
		*colon = '\0';
		head = inet_pton(AF_INET6, host, &a6) == 1;
		*colon = ':';
		if (whole && head)
			return -EDOM;
		return head ? -ERANGE : 0;
	}
	if (colon == host || colon[1] == '\0')
		return -EINVAL;
	*colon = '\0';
	*port = colon + 1;
	return 0;
}

int
mcgen_resolve(const char *server, int socktype, struct sockaddr_storage *addr, socklen_t *len,
	      char *err, size_t errlen)
{
	char host[MCGEN_STR_LEN];
	const char *port;
	struct addrinfo hints = {.ai_family = AF_UNSPEC}, *res;
	int rc;

	snprintf(host, sizeof(host), "%s", server);
	rc = split_host_port(host, &port);
	if (rc < 0) {
		snprintf(err, errlen, "--server '%s': %s", server,
			 rc == -EDOM ? "ambiguous: write [address]:port, or [address] for 11211"
			 : rc == -ERANGE ? "an IPv6 address with a port needs brackets: "
					   "[address]:port"
					 : "want host[:port] or [IPv6 address][:port]");
		return -EINVAL;
	}
	if (port[strspn(port, "0123456789")] == '\0' &&
	    (strlen(port) > 5 || atoi(port) < 1 || atoi(port) > 65535)) {
		snprintf(err, errlen, "--server '%s': port %s is not in 1..65535", server, port);
		return -EINVAL;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	/* A service name (host:memcache) resolves only for a socket type: the transport's. */
	if (rc == EAI_SERVICE) {
		hints.ai_socktype = socktype;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc == EAI_SERVICE) {
		snprintf(err, errlen, "--server '%s': port '%s' is neither a number nor a service",
			 server, port);
		return -EINVAL;
	}
	if (rc != 0) {
		snprintf(err, errlen, "--server '%s': %s", server, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

const char *
mcgen_fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 10000000ull)
		snprintf(buf, len, "%.1fus", (double)ns / 1e3);
	else
		snprintf(buf, len, "%.2fms", (double)ns / 1e6);
	return buf;
}

uint64_t
mcgen_sample_errors(const struct mcgen_sample *s)
{
	return s->c[MCGEN_C_wrong] + s->c[MCGEN_C_server_errors];
}

/*
 * The one process-wide state in mcgen: a signal handler has nowhere else to write. The signal
 * that asked the run to stop, or 0; the first one stays. [atomic: the handler may run on any
 * thread that does not block the signals, e.g. one of DPDK's]
 */
static int interrupted_by;

void
mcgen_run_interrupt(int signo)
{
	int none = 0;

	__atomic_compare_exchange_n(&interrupted_by, &none, signo, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

int
mcgen_run_interrupted(void)
{
	return __atomic_load_n(&interrupted_by, __ATOMIC_RELAXED);
}

bool
mcgen_run_given_up(const struct mcgen_run *run)
{
	return mcgen_run_interrupted() != 0 || __atomic_load_n(&run->stop, __ATOMIC_RELAXED);
}

const char *
mcgen_run_given_up_why(void)
{
	return mcgen_run_interrupted() != 0 ? mcgen_run_interrupted_why() : "the run stopped";
}

const char *
mcgen_run_interrupted_why(void)
{
	switch (mcgen_run_interrupted()) {
	case 0:
		return NULL;
	case SIGINT:
		return "interrupted by SIGINT";
	case SIGTERM:
		return "interrupted by SIGTERM";
	default:
		return "interrupted by a signal";
	}
}

struct worker {
	pthread_t tid;
	unsigned transport;
	struct mcgen_thread t;
};

static void *
worker_main(void *arg)
{
	struct worker *k = arg;

	mcgen_transport_run(k->transport, &k->t);
	return NULL;
}

/* A latency of second @p l for its line: "-" when nothing was answered in it. */
static const char *
lat_str(const struct mcgen_second *l, uint64_t ns, char *buf, size_t len)
{
	if (l->c[MCGEN_C_replies] == 0)
		return "-";
	return mcgen_fmt_ns(ns, buf, len);
}

/* Print second @p s: @p m merged from every thread. */
static void
print_second(FILE *out, const char *label, double rate, unsigned s, const struct mcgen_second *l)
{
	char p50[16], p99[16], p999[16], offered[32];
	uint64_t keys = l->c[MCGEN_C_hits] + l->c[MCGEN_C_misses];

	if (rate > 0)
		snprintf(offered, sizeof(offered), "%g/s", rate);
	else
		snprintf(offered, sizeof(offered), "closed");
	fprintf(out,
		"%s%4us offered %s sent %.0f/s done %.0f/s hit %5.1f%% err %llu tmo %llu "
		"p50 %s p99 %s p999 %s\n",
		label, s + 1, offered, (double)l->c[MCGEN_C_sent] / l->seconds,
		(double)l->c[MCGEN_C_replies] / l->seconds,
		keys ? 100.0 * (double)l->c[MCGEN_C_hits] / (double)keys : 0.0,
		(unsigned long long)(l->c[MCGEN_C_wrong] + l->c[MCGEN_C_server_errors]),
		(unsigned long long)l->c[MCGEN_C_timeouts], lat_str(l, l->p50, p50, sizeof(p50)),
		lat_str(l, l->p99, p99, sizeof(p99)), lat_str(l, l->p999, p999, sizeof(p999)));
	fflush(out);
}

/* The first thread that stopped on an error, or -1. */
static int
failed_thread(const struct worker *k, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (__atomic_load_n(&k[i].t.status, __ATOMIC_ACQUIRE) < 0)
			return (int)i;
	return -1;
}

/* Whether the run must stop: a thread failed, or mcgen was interrupted. */
static bool
must_stop(const struct worker *k, unsigned n)
{
	return failed_thread(k, n) >= 0 || mcgen_run_interrupted() != 0;
}

/*
 * Wait until every thread is past second @p s (@p s UINT64_MAX - 1: until every one is done).
 * @return true; false as soon as a thread has failed or mcgen was interrupted (the wait is cut
 * short).
 */
static bool
wait_threads(const struct worker *k, unsigned n, uint64_t s)
{
	for (unsigned i = 0; i < n; i++)
		while (mcgen_tstats_done(&k[i].t.st) <= s) {
			if (must_stop(k, n))
				return false;
			usleep(2000);
		}
	return !must_stop(k, n);
}

/* Second @p s of every thread (each past it), @p seconds long, merged into @p l. */
static void
merge_second(const struct worker *k, unsigned n, unsigned s, double seconds,
	     struct mcgen_second *l)
{
	struct mcgen_sample m;

	mcgen_sample_reset(&m);
	for (unsigned i = 0; i < n; i++)
		mcgen_tstats_merge_second(&m, &k[i].t.st, s);
	memcpy(l->c, m.c, sizeof(l->c));
	l->seconds = seconds;
	l->p50 = mcgen_hist_quantile(&m.lat, 0.5);
	l->p99 = mcgen_hist_quantile(&m.lat, 0.99);
	l->p999 = mcgen_hist_quantile(&m.lat, 0.999);
	l->max = m.lat.max;
}

/*
 * Wait for second @p s of every thread, merge it into @p l.
 * @return true; false when a thread failed or mcgen was interrupted first (nothing merged).
 */
static bool
collect_second(struct worker *k, unsigned n, const struct mcgen_run *run, unsigned s,
	       struct mcgen_second *l)
{
	if (!wait_threads(k, n, s))
		return false;
	merge_second(k, n, s, fmin(1.0, run->o->duration - s), l);
	return true;
}

/*
 * After an interrupt, the threads joined: the seconds of step @p res begun before it stopped,
 * from res->nsec (the first not reported), each as long as it ran, printed as the others.
 */
static void
collect_rest(const struct worker *k, unsigned n, const struct mcgen_run *run,
	     struct mcgen_step *res, FILE *out, const char *label)
{
	unsigned total = run->warm ? 0 : (unsigned)ceil(run->o->duration);

	for (unsigned s = res->nsec; s < total && s < res->seconds; s++) {
		merge_second(k, n, s, fmin(1.0, res->seconds - s), &res->sec[s]);
		res->nsec = s + 1;
		if (!run->o->quiet)
			print_second(out, label, run->rate, s, &res->sec[s]);
	}
}

int
mcgen_run_step(const struct mcgen_options *o, const struct mcgen_workload *w,
	       const struct mcgen_target *target, bool warm, double rate, const char *label,
	       FILE *out, struct mcgen_step *res, char *err, size_t errlen)
{
	unsigned n = (unsigned)o->threads;
	struct mcgen_run run = {.o = o, .w = w, .addrlen = target->addrlen, .dpdk = target->dpdk,
				.nthreads = n, .warm = warm,
				.rate = warm ? 0 : rate,
				.timeout_ns = o->timeout_ms * 1000000ull};
	struct mcgen_gate gate;
	sigset_t stop_signals, old_mask;
	struct worker *k;
	unsigned started = 0;
	bool cut = false; /* the threads were told to stop before their time */
	uint64_t now;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->rate = run.rate;
	res->seconds = res->planned = warm ? 0 : o->duration;
	res->nsec = warm ? 0 : (unsigned)ceil(o->duration);
	mcgen_sample_reset(&res->total);
	memcpy(&run.addr, &target->addr, target->addrlen);
	k = calloc(n, sizeof(*k));
	res->sec = calloc(res->nsec + 1, sizeof(*res->sec));
	if (k == NULL || res->sec == NULL) {
		free(k);
		snprintf(err, errlen, "out of memory");
		return res->status = -ENOMEM;
	}
	if (mcgen_gate_init(&gate) != 0) {
		free(k);
		snprintf(err, errlen, "cannot set up the threads' gate");
		return res->status = -ENOMEM;
	}
	run.gate = &gate;
	/* Until the start is set, nothing is due. */
	run.start_ns = run.end_ns = run.drain_ns = UINT64_MAX;
	/* The load threads block SIGINT and SIGTERM: this thread takes them (no EINTR there). */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
	for (unsigned i = 0; i < n; i++) {
		k[i].transport = o->transport;
		mcgen_engine_init(&k[i].t, &run, i);
		if (pthread_create(&k[i].tid, NULL, worker_main, &k[i]) != 0) {
			snprintf(err, errlen, "cannot start thread %u", i);
			rc = -EAGAIN;
			break;
		}
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	mcgen_gate_wait(&gate, started);
	if (started < n) {
		/* Let the threads started go through the gate and stop at once. */
		run.end_ns = run.drain_ns = 0;
		mcgen_gate_open(&gate);
	} else {
		now = mcgen_now_ns();
		run.start_ns = now + START_DELAY_NS;
		run.end_ns = warm ? UINT64_MAX : run.start_ns + (uint64_t)(o->duration * 1e9);
		run.drain_ns = warm ? UINT64_MAX : run.end_ns + run.timeout_ns;
		mcgen_gate_open(&gate);
		for (unsigned s = 0; s < res->nsec; s++) {
			if (!collect_second(k, n, &run, s, &res->sec[s])) {
				/*
				 * A thread stopped on an error, or mcgen was interrupted: the run
				 * stops, and this second and the rest are not reported (not
				 * whole, or a thread counted nothing in them); the step's totals
				 * keep all that was counted, over the time the load ran.
				 */
				uint64_t t = mcgen_now_ns();

				cut = true;
				__atomic_store_n(&run.stop, true, __ATOMIC_RELAXED);
				res->nsec = s;
				res->seconds = t > run.start_ns ?
						       fmin(o->duration, (double)(t - run.start_ns) / 1e9) :
						       0;
				break;
			}
			if (!o->quiet)
				print_second(out, label, run.rate, s, &res->sec[s]);
		}
		/*
		 * The drain after the last second, or the warm-up (which reports no second): a
		 * thread's failure, or an interrupt, stops the others all the same.
		 */
		if (!cut && !wait_threads(k, n, UINT64_MAX - 1)) {
			cut = true;
			__atomic_store_n(&run.stop, true, __ATOMIC_RELAXED);
		}
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(k[i].tid, NULL);
		if (started == n) {
			mcgen_sample_merge(&res->total, &k[i].t.st.total);
			/* (A thread that gave up a wait because the run stopped: -EINTR, last.) */
			if (k[i].t.status < 0 &&
			    (rc == 0 || (rc == -EINTR && k[i].t.status != -EINTR))) {
				rc = k[i].t.status;
				snprintf(err, errlen, "thread %u: %s", i, k[i].t.err);
			}
		}
	}
	/*
	 * Interrupted (a signal before every thread was done, the drain included): the step
	 * failed so, unless a thread failed first or on its own (a connect given up for the
	 * signal says -EINTR). Every thread counted until it stopped: the seconds begun are shown,
	 * the last one as long as it ran.
	 */
	if (mcgen_run_interrupted() != 0 && (rc == -EINTR || (rc == 0 && cut))) {
		snprintf(err, errlen, "%s", mcgen_run_interrupted_why());
		rc = -EINTR;
		if (started == n)
			collect_rest(k, n, &run, res, out, label);
	}
	mcgen_gate_destroy(&gate);
	free(k);
	res->status = rc;
	if (rc < 0)
		snprintf(res->error, sizeof(res->error), "%s", err);
	return rc;
}

void
mcgen_step_release(struct mcgen_step *res)
{
	free(res->sec);
	res->sec = NULL;
}
