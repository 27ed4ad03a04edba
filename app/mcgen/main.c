/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mcgen: a memcached load generator. Options (options.h) -> workload (workload.h) -> warm-up
 * -> one measured step, or one per --sweep rate (run.h) -> summary, table, JSON, plot
 * (report.h). See `mcgen --help` and the README's "Load generator (mcgen)".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dpdk.h"
#include "engine.h"
#include "options.h"
#include "report.h"
#include "run.h"
#include "workload.h"

struct mcgen_main {
	struct mcgen_options o;
	struct mcgen_workload w;
	struct mcgen_target target;
	struct mcgen_step steps[MCGEN_SWEEP_MAX];
	unsigned nsteps;
	struct mcgen_step warm; /* with --warm: the warm-up, for the summary line and the JSON */
	bool warmed;
	char setup_failed[256]; /* why the setup failed (the server's address, the DPDK port); "" */
	bool server_silent;	/* DPDK: the server did not answer `stats` (server_read) */
	bool interrupted;	/* the run ended for a signal (its status -EINTR) */
};

/*
 * SIGINT or SIGTERM: the run stops as if a thread had failed, and mcgen still prints what it
 * measured and writes its JSON and plot; the handler is reset, so a second signal ends mcgen
 * at once.
 */
static void
on_stop_signal(int signo)
{
	static const char said[] = "\nmcgen: stopping: results so far follow (again to quit now)\n";
	int saved = errno;
	struct sigaction dfl = {.sa_handler = SIG_DFL};

	/* The next SIGINT or SIGTERM, whichever, ends mcgen. */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	mcgen_run_interrupt(signo);
	if (write(STDERR_FILENO, said, sizeof(said) - 1) < 0) {
		/* (nothing to do about it in a handler) */
	}
	errno = saved;
}

/* SIGINT and SIGTERM stop the run (on_stop_signal); not a SIGINT ignored by who started us. */
static void
catch_stop_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART}, old;

	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Interrupted before a step: say so. @return -EINTR, or 0 when not interrupted. */
static int
interrupted(void)
{
	if (mcgen_run_interrupted() == 0)
		return 0;
	fprintf(stderr, "mcgen: %s\n", mcgen_run_interrupted_why());
	return -EINTR;
}

/* The warm-up failed: why, on stderr and (for the JSON) in s->error. @return @p rc. */
static int
warm_failed(struct mcgen_step *s, int rc, const char *why)
{
	s->status = rc;
	snprintf(s->error, sizeof(s->error), "warm-up: %s", why);
	fprintf(stderr, "mcgen: %s\n", s->error);
	return rc;
}

static int
warm_up(struct mcgen_main *m)
{
	struct mcgen_step *s = &m->warm;
	char err[256];
	uint64_t t0 = mcgen_now_ns(), errors, set;
	int rc;

	rc = mcgen_run_step(&m->o, &m->w, &m->target, true, 0, "", stdout, s, err, sizeof(err));
	m->warmed = true;
	s->seconds = (double)(mcgen_now_ns() - t0) / 1e9;
	/* Every warm-up request is a set: the errors are sets refused or answered wrong. */
	errors = mcgen_sample_errors(&s->total);
	set = s->total.c[MCGEN_C_sets] > errors ? s->total.c[MCGEN_C_sets] - errors : 0;
	printf("mcgen: warm-up: %llu of %llu keys set in %.1f s (errors %llu, timeouts %llu, "
	       "sent again %llu)\n",
	       (unsigned long long)set, (unsigned long long)m->w.keys, s->seconds,
	       (unsigned long long)errors, (unsigned long long)s->total.c[MCGEN_C_timeouts],
	       (unsigned long long)s->total.c[MCGEN_C_retried]);
	if (rc < 0)
		return warm_failed(s, rc, err);
	if (errors > 0)
		return warm_failed(s, -EBADMSG, "sets refused or answered wrong (above)");
	if (s->total.c[MCGEN_C_gave_up] > 0) {
		snprintf(err, sizeof(err),
			 "%llu keys not set (no memory to send them again): their gets would "
			 "miss; not measuring",
			 (unsigned long long)s->total.c[MCGEN_C_gave_up]);
		return warm_failed(s, -ETIMEDOUT, err);
	}
	return 0;
}

/*
 * DPDK transports: the server's own figures, read around each measured step. A server that
 * does not answer `stats` over UDP (not nicached, or no UDP port) only loses the server line,
 * and is not asked again (each try waits seconds).
 * @return 0 with @p s filled; -ENOENT (kernel transports, or no figures: said on stderr).
 */
static int
server_read(struct mcgen_main *m, struct mcgen_server_stats *s)
{
	char err[256];
	int rc;

	if (m->target.dpdk == NULL || m->server_silent)
		return -ENOENT;
	rc = mcgen_dpdk_server_read(m->target.dpdk, s, err, sizeof(err));
	if (rc == -EINTR)
		return -ENOENT; /* (the step that follows says why) */
	if (rc < 0) {
		fprintf(stderr, "mcgen: %s (no server cost for %s)\n", err,
			m->o.sweep.n > 1 ? "the steps" : "this step");
		m->server_silent = true;
		return -ENOENT;
	}
	return 0;
}

static int
measure(struct mcgen_main *m)
{
	unsigned n = m->o.sweep.n ? m->o.sweep.n : 1;
	char err[256], label[48];

	for (unsigned i = 0; i < n; i++) {
		struct mcgen_server_stats s0, s1;
		double rate = m->o.sweep.n ? m->o.sweep.r[i] : m->o.rate;
		struct mcgen_step *s = &m->steps[i];
		int rc = interrupted();

		if (rc < 0) {
			if (m->o.sweep.n && m->nsteps > 0)
				mcgen_report_table(stdout, m->steps, m->nsteps);
			return rc;
		}
		if (m->o.sweep.n)
			snprintf(label, sizeof(label), "[%.0f/s] ", rate);
		else
			label[0] = '\0';
		bool before = server_read(m, &s0) == 0;

		rc = mcgen_run_step(&m->o, &m->w, &m->target, false, rate, label, stdout, s, err,
				    sizeof(err));
		m->nsteps++;
		if (rc < 0) {
			/* What it counted before it stopped, when it sent anything. */
			if (s->total.c[MCGEN_C_sent] > 0)
				mcgen_report_summary(stdout, &m->o, s);
			if (m->o.sweep.n)
				mcgen_report_table(stdout, m->steps, m->nsteps);
			fprintf(stderr, "mcgen: %s\n", err);
			return rc;
		}
		if (before && server_read(m, &s1) == 0)
			mcgen_dpdk_server_cost(&s0, &s1, s->seconds, &s->server);
		mcgen_report_summary(stdout, &m->o, s);
	}
	if (m->o.sweep.n)
		mcgen_report_table(stdout, m->steps, m->nsteps);
	return 0;
}

/*
 * The result files, checked before any load (a long sweep is not lost to a typo in a path):
 * -j and --plot writable, and the plot script able to draw.
 * @return 0; a negative errno, said on stderr.
 */
static int
check_outputs(const struct mcgen_options *o)
{
	char err[MCGEN_STR_LEN + 128]; /* (a path and what is wrong with it) */
	size_t plot_len = strlen(o->plot);
	int rc = 0;

	if (plot_len > 0 && (plot_len < 5 || strcasecmp(o->plot + plot_len - 4, ".png") != 0)) {
		snprintf(err, sizeof(err), "--plot %s: the plot is a PNG: name it FILE.png", o->plot);
		rc = -EINVAL;
	} else if (plot_len > 0 && strcmp(o->plot, o->json) == 0) {
		snprintf(err, sizeof(err), "--plot and -j name the same file, %s", o->plot);
		rc = -EINVAL;
	}
	if (rc == 0 && o->json[0] != '\0')
		rc = mcgen_report_path_check("json", o->json, err, sizeof(err));
	if (rc == 0 && o->plot[0] != '\0')
		rc = mcgen_report_path_check("plot", o->plot, err, sizeof(err));
	if (rc == 0 && o->plot[0] != '\0')
		rc = mcgen_report_plot_check(err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "mcgen: %s\n", err);
	return rc;
}

/* Why the run failed outside its steps (the setup, an interrupt between them), or NULL. */
static const char *
run_failed(const struct mcgen_main *m)
{
	if (m->setup_failed[0] != '\0')
		return m->setup_failed;
	return m->interrupted ? mcgen_run_interrupted_why() : NULL;
}

static int
write_results(struct mcgen_main *m)
{
	char err[256], tmp[] = "/tmp/mcgen-XXXXXX.json";
	const char *json = m->o.json;
	int rc = 0, fd;

	if (json[0] == '\0' && m->o.plot[0] != '\0') {
		fd = mkstemps(tmp, 5);
		if (fd < 0) {
			fprintf(stderr, "mcgen: --plot: no temporary file: %s\n", strerror(errno));
			return -errno;
		}
		close(fd);
		json = tmp;
	}
	if (json[0] != '\0')
		rc = mcgen_report_json(json, &m->o, m->warmed ? &m->warm : NULL, m->steps, m->nsteps,
				       run_failed(m), err, sizeof(err));
	if (rc == 0 && m->o.plot[0] != '\0' && m->nsteps > 0) {
		rc = mcgen_report_plot(json, m->o.plot, err, sizeof(err));
		if (rc == 0)
			printf("mcgen: plot written to %s\n", m->o.plot);
	}
	if (json == tmp)
		unlink(tmp);
	if (rc < 0)
		fprintf(stderr, "mcgen: %s\n", err);
	return rc;
}

int
main(int argc, char **argv)
{
	struct mcgen_main *m = calloc(1, sizeof(*m));
	uint64_t errors = 0, replies = 0;
	char err[256];
	int rc;

	if (m == NULL)
		return 1;
	catch_stop_signals();
	rc = mcgen_options_parse(&m->o, argc, argv, err, sizeof(err));
	if (rc == 1) {
		mcgen_options_usage(stdout);
		free(m);
		return 0;
	}
	if (rc == 0)
		rc = mcgen_workload_init(&m->w, &m->o, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "mcgen: %s\n", err);
		free(m);
		return 2;
	}
	if (check_outputs(&m->o) < 0) {
		free(m);
		/* (Ctrl-C during the plot script's check: interrupted, not bad usage.) */
		return mcgen_run_interrupted() != 0 ? 128 + mcgen_run_interrupted() : 2;
	}
	/*
	 * From here a JSON always says how the run ended: first, that it has not (yet), where the
	 * result will replace it whole (not into a pipe, which would get two documents).
	 */
	if (m->o.json[0] != '\0' && mcgen_report_json_replaceable(m->o.json) &&
	    mcgen_report_json(m->o.json, &m->o, NULL, NULL, 0,
			      "did not finish (mcgen is running, or was killed)", err,
			      sizeof(err)) < 0) {
		fprintf(stderr, "mcgen: %s\n", err);
		free(m);
		return 2;
	}
	rc = mcgen_resolve(m->o.server,
			   m->o.transport == MCGEN_TRANSPORT_UDP ||
					   m->o.transport == MCGEN_TRANSPORT_DPDK_UDP
				   ? SOCK_DGRAM
				   : SOCK_STREAM,
			   &m->target.addr, &m->target.addrlen, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "mcgen: %s\n", err);
		snprintf(m->setup_failed, sizeof(m->setup_failed), "%s", err);
		write_results(m);
		free(m);
		return 2;
	}
	if (mcgen_transport_is_dpdk(m->o.transport)) {
		rc = mcgen_dpdk_setup(&m->o, &m->target.addr, &m->target.dpdk, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "mcgen: %s\n", err);
			snprintf(m->setup_failed, sizeof(m->setup_failed), "%s", err);
		}
	}
	if (rc == 0)
		rc = interrupted();
	if (rc == 0 && m->o.warm)
		rc = warm_up(m);
	if (rc == 0)
		rc = measure(m);
	/*
	 * A signal after the steps (the last one's closing `stats` read included): the run ends
	 * for it all the same, and says so.
	 */
	if (rc == 0)
		rc = interrupted();
	m->interrupted = rc == -EINTR;
	/* A JSON says why, whatever stopped the run: no stale file from an earlier run is left. */
	if (write_results(m) < 0 && rc == 0)
		rc = -EIO;
	if (m->warmed)
		mcgen_step_release(&m->warm);
	for (unsigned i = 0; i < m->nsteps; i++) {
		errors += mcgen_sample_errors(&m->steps[i].total);
		replies += m->steps[i].total.c[MCGEN_C_replies];
		mcgen_step_release(&m->steps[i]);
	}
	mcgen_dpdk_teardown(&m->target.dpdk);
	free(m);
	if (rc == 0 && replies == 0) {
		fprintf(stderr, "mcgen: no reply at all\n");
		rc = -EIO;
	}
	if (errors > 0)
		fprintf(stderr, "mcgen: %llu errors\n", (unsigned long long)errors);
	/* Interrupted: the shell's status for the signal, as if it had killed mcgen. */
	if (rc == -EINTR && mcgen_run_interrupted() != 0)
		return 128 + mcgen_run_interrupted();
	return rc < 0 || errors > 0 ? 1 : 0;
}
