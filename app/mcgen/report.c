/* SPDX-License-Identifier: BSD-3-Clause */
/* Summary, sweep table, JSON result and plot (report.h). */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/install_path.h"

/* The quantiles reported: X(JSON name, quantile). */
#define MCGEN_QUANTILES(X) \
	X(p50, 0.5)        \
	X(p90, 0.9)        \
	X(p99, 0.99)       \
	X(p999, 0.999)

static double
achieved(const struct mcgen_step *s)
{
	return s->seconds > 0 ? (double)s->total.c[MCGEN_C_replies] / s->seconds : 0;
}

void
mcgen_report_summary(FILE *out, const struct mcgen_options *o, const struct mcgen_step *s)
{
	const uint64_t *c = s->total.c;
	const struct mcgen_hist *h = &s->total.lat;
	uint64_t keys = c[MCGEN_C_hits] + c[MCGEN_C_misses];
	char b[6][16];

	fprintf(out, "mcgen: %s %s %s, %llu threads, %llu conns x depth %llu, ",
		mcgen_transport_name(o->transport), mcgen_proto_name(o->protocol), o->server,
		(unsigned long long)o->threads, (unsigned long long)o->conns,
		(unsigned long long)o->depth);
	if (s->rate > 0)
		fprintf(out, "open loop %g/s %s arrivals, %.1f s\n", s->rate,
			o->arrivals == MCGEN_ARRIVALS_POISSON ? "poisson" : "uniform", s->seconds);
	else
		fprintf(out, "closed loop, %.1f s\n", s->seconds);
	fprintf(out, "  requests %llu sent, %llu answered (%.0f/s); gets: %llu keys, hit %.2f%%; "
		"sets %llu, deletes %llu\n",
		(unsigned long long)c[MCGEN_C_sent], (unsigned long long)c[MCGEN_C_replies],
		achieved(s), (unsigned long long)c[MCGEN_C_keys],
		keys ? 100.0 * (double)c[MCGEN_C_hits] / (double)keys : 0.0,
		(unsigned long long)c[MCGEN_C_sets], (unsigned long long)c[MCGEN_C_deletes]);
	if (c[MCGEN_C_unsent] > 0)
		fprintf(out, "  unsent %llu: due before the end, they found every slot busy (the "
			"server, or --conns x --depth, could not keep up with the offered rate); "
			"the latencies are of the requests sent\n",
			(unsigned long long)c[MCGEN_C_unsent]);
	fprintf(out, "  errors %llu (wrong %llu, server %llu); timeouts %llu, aborted %llu, late %llu, "
		"reconnects %llu\n",
		(unsigned long long)mcgen_sample_errors(&s->total), (unsigned long long)c[MCGEN_C_wrong],
		(unsigned long long)c[MCGEN_C_server_errors], (unsigned long long)c[MCGEN_C_timeouts],
		(unsigned long long)c[MCGEN_C_aborted], (unsigned long long)c[MCGEN_C_late],
		(unsigned long long)c[MCGEN_C_reconnects]);
	if (h->count == 0)
		fprintf(out, "  latency: - (no reply)\n");
	else
		fprintf(out, "  latency: min %s p50 %s p90 %s p99 %s p999 %s max %s\n",
			mcgen_fmt_ns(h->min, b[0], 16),
			mcgen_fmt_ns(mcgen_hist_quantile(h, 0.5), b[1], 16),
			mcgen_fmt_ns(mcgen_hist_quantile(h, 0.9), b[2], 16),
			mcgen_fmt_ns(mcgen_hist_quantile(h, 0.99), b[3], 16),
			mcgen_fmt_ns(mcgen_hist_quantile(h, 0.999), b[4], 16),
			mcgen_fmt_ns(h->max, b[5], 16));
	if (mcgen_transport_is_dpdk(o->transport))
		fprintf(out, "  dpdk: %llu frames handed over from another thread's queue\n",
			(unsigned long long)c[MCGEN_C_handoffs]);
	if (s->server.valid)
		fprintf(out, "  server: %.0f cycles/request (%.0f without driver calls) over %llu "
			"requests, busy %.1f%% of a core\n",
			s->server.cycles, s->server.app_cycles,
			(unsigned long long)s->server.requests, s->server.busy_percent);
}

void
mcgen_report_table(FILE *out, const struct mcgen_step *steps, unsigned n)
{
	fprintf(out, "%12s %12s %10s %10s %10s %8s %8s\n", "offered/s", "achieved/s", "p50 us",
		"p99 us", "p999 us", "errors", "timeouts");
	for (unsigned i = 0; i < n; i++) {
		const struct mcgen_step *s = &steps[i];
		const struct mcgen_hist *h = &s->total.lat;

		char q[3][16];
		static const double qs[3] = {0.5, 0.99, 0.999};

		for (unsigned j = 0; j < 3; j++) {
			if (h->count > 0)
				snprintf(q[j], sizeof(q[j]), "%.1f",
					 (double)mcgen_hist_quantile(h, qs[j]) / 1e3);
			else
				snprintf(q[j], sizeof(q[j]), "-"); /* (nothing answered) */
		}
		fprintf(out, "%12.0f %12.0f %10s %10s %10s %8llu %8llu%s\n", s->rate, achieved(s),
			q[0], q[1], q[2], (unsigned long long)mcgen_sample_errors(&s->total),
			(unsigned long long)s->total.c[MCGEN_C_timeouts], s->status < 0 ? "  *" : "");
	}
	/* A step cut short is a point all the same, of fewer seconds: marked, and why. */
	for (unsigned i = 0; i < n; i++)
		if (steps[i].status < 0)
			fprintf(out, "  * %.0f/s: stopped after %.1f of %g s: %s\n", steps[i].rate,
				steps[i].seconds, steps[i].planned, steps[i].error);
}

/* A JSON string (options are user text). */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* A JSON string, or null for @p s NULL (why something failed, or that it did not). */
static void
json_str_or_null(FILE *f, const char *s)
{
	if (s != NULL)
		json_str(f, s);
	else
		fputs("null", f);
}

static void
json_options(FILE *f, const struct mcgen_options *o)
{
	fprintf(f, "  \"options\": {\"server\": ");
	json_str(f, o->server);
	fprintf(f, ", \"transport\": \"%s\", \"protocol\": \"%s\", \"threads\": %llu, "
		"\"conns\": %llu, \"depth\": %llu, \"duration\": %g, \"rate\": %g, "
		"\"arrivals\": \"%s\", \"keys\": %llu, \"key_dist\": \"%s\", \"zipf_s\": %g, "
		"\"key_size\": [%u, %u], \"value_size\": [%u, %u], \"mget_keys\": %llu, "
		"\"warm\": %s, \"timeout_ms\": %llu, \"seed\": %llu, \"mix\": {",
		mcgen_transport_name(o->transport), mcgen_proto_name(o->protocol),
		(unsigned long long)o->threads, (unsigned long long)o->conns,
		(unsigned long long)o->depth, o->duration, o->rate,
		o->arrivals == MCGEN_ARRIVALS_POISSON ? "poisson" : "uniform",
		(unsigned long long)o->keys, o->key_dist == MCGEN_DIST_ZIPF ? "zipf" : "uniform",
		o->zipf_s, o->key_size.min, o->key_size.max, o->value_size.min, o->value_size.max,
		(unsigned long long)o->mget_keys, o->warm ? "true" : "false",
		(unsigned long long)o->timeout_ms, (unsigned long long)o->seed);
	for (unsigned i = 0; i < MCGEN_OP_COUNT; i++)
		fprintf(f, "%s\"%s\": %u", i ? ", " : "", mcgen_op_name(i), o->mix.w[i]);
	fprintf(f, "}, \"sweep\": [");
	for (unsigned i = 0; i < o->sweep.n; i++)
		fprintf(f, "%s%g", i ? ", " : "", o->sweep.r[i]);
	fprintf(f, "]},\n");
}

/* A step's counters as a JSON object. */
static void
json_counters(FILE *f, const struct mcgen_sample *s)
{
	fputc('{', f);
	for (unsigned i = 0; i < MCGEN_C_COUNT; i++)
		fprintf(f, "%s\"%s\": %llu", i ? ", " : "", mcgen_counter_names[i],
			(unsigned long long)s->c[i]);
	fputc('}', f);
}

static void
json_step(FILE *f, const struct mcgen_step *s)
{
	const struct mcgen_hist *h = &s->total.lat;

	fprintf(f, "    {\"offered_rate\": %.3f, \"achieved_rate\": %.3f, \"seconds\": %g,\n",
		s->rate, achieved(s), s->seconds);
	fprintf(f, "     \"failed\": ");
	json_str_or_null(f, s->status < 0 ? s->error : NULL);
	fprintf(f, ",\n");
	fprintf(f, "     \"errors\": %llu, \"counters\": ",
		(unsigned long long)mcgen_sample_errors(&s->total));
	json_counters(f, &s->total);
	fprintf(f, ",\n     \"latency_us\": {\"count\": %llu, \"min\": %.3f, \"mean\": %.3f",
		(unsigned long long)h->count, h->count ? (double)h->min / 1e3 : 0.0,
		h->count ? (double)h->sum / (double)h->count / 1e3 : 0.0);
#define JSON_Q(name, q) fprintf(f, ", \"" #name "\": %.3f", (double)mcgen_hist_quantile(h, q) / 1e3);
	MCGEN_QUANTILES(JSON_Q)
#undef JSON_Q
	fprintf(f, ", \"max\": %.3f},\n     \"per_second\": [", (double)h->max / 1e3);
	for (unsigned i = 0; i < s->nsec; i++) {
		const struct mcgen_second *l = &s->sec[i];

		fprintf(f, "%s\n       {\"t\": %u, \"seconds\": %g", i ? "," : "", i + 1, l->seconds);
		for (unsigned c = 0; c < MCGEN_C_COUNT; c++)
			if (c != MCGEN_C_unsent) /* (the step's alone: no second has them) */
				fprintf(f, ", \"%s\": %llu", mcgen_counter_names[c],
					(unsigned long long)l->c[c]);
		fprintf(f, ", \"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, \"max_us\": %.3f}",
			(double)l->p50 / 1e3, (double)l->p99 / 1e3, (double)l->p999 / 1e3,
			(double)l->max / 1e3);
	}
	fprintf(f, "]");
	if (s->server.valid)
		fprintf(f, ",\n     \"server\": {\"requests\": %llu, \"cycles_per_request\": %.1f, "
			"\"app_cycles_per_request\": %.1f, \"busy_percent\": %.2f}",
			(unsigned long long)s->server.requests, s->server.cycles,
			s->server.app_cycles, s->server.busy_percent);
	fprintf(f, "}");
}

/* The warm-up: seconds, counters, why it failed (or null). */
static void
json_warm(FILE *f, const struct mcgen_step *w)
{
	fprintf(f, "  \"warm_up\": {\"seconds\": %.3f, \"counters\": ", w->seconds);
	json_counters(f, &w->total);
	fprintf(f, ", \"failed\": ");
	json_str_or_null(f, w->status < 0 ? w->error : NULL);
	fprintf(f, "},\n");
}

/* The whole JSON document into @p f, which it closes. @return 0; -EIO when a write failed. */
static int
json_write(FILE *f, const struct mcgen_options *o, const struct mcgen_step *warm,
	   const struct mcgen_step *steps, unsigned n, const char *why)
{
	const char *failed = warm != NULL && warm->status < 0 ? warm->error : NULL;
	uint64_t errors = 0;

	fprintf(f, "{\n  \"mcgen\": \"%s\",\n", NC_VERSION);
	json_options(f, o);
	if (warm != NULL)
		json_warm(f, warm);
	else
		fprintf(f, "  \"warm_up\": null,\n");
	fprintf(f, "  \"sweep\": %s,\n  \"steps\": [\n", o->sweep.n ? "true" : "false");
	for (unsigned i = 0; i < n; i++) {
		json_step(f, &steps[i]);
		fputs(i + 1 < n ? ",\n" : "\n", f);
		errors += mcgen_sample_errors(&steps[i].total);
		if (steps[i].status < 0 && failed == NULL)
			failed = steps[i].error;
	}
	if (failed == NULL)
		failed = why;
	fprintf(f, "  ],\n  \"errors\": %llu,\n  \"failed\": ", (unsigned long long)errors);
	json_str_or_null(f, failed);
	fputs("\n}\n", f);
	return ferror(f) | fclose(f) ? -EIO : 0;
}

bool
mcgen_report_json_replaceable(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT;
	return S_ISREG(st.st_mode);
}

/*
 * Write the document beside @p path (an exclusive new file, the user's umask) and rename it
 * over @p path. @return 0; a negative errno (nothing left behind), for the caller to write in
 * place instead.
 */
static int
json_replace(const char *path, const struct mcgen_options *o, const struct mcgen_step *warm,
	     const struct mcgen_step *steps, unsigned n, const char *why)
{
	char tmp[MCGEN_STR_LEN + 16];
	mode_t mask = umask(0);
	FILE *f;
	int fd, rc;

	umask(mask);
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX.tmp", path);
	fd = mkostemps(tmp, 4, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0666 & ~mask) != 0 || (f = fdopen(fd, "w")) == NULL) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		return rc;
	}
	rc = json_write(f, o, warm, steps, n, why);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int
mcgen_report_json(const char *path, const struct mcgen_options *o,
		  const struct mcgen_step *warm, const struct mcgen_step *steps, unsigned n,
		  const char *why, char *err, size_t errlen)
{
	FILE *f;

	/*
	 * A regular file (or none yet) is replaced whole: a reader, or mcgen killed meanwhile,
	 * never sees half a document. Anything else (a symlink, a pipe, a device, a file the
	 * rename cannot replace, such as a bind mount) is written in place.
	 */
	if (mcgen_report_json_replaceable(path) &&
	    json_replace(path, o, warm, steps, n, why) == 0)
		return 0;
	f = fopen(path, "w");
	if (f == NULL) {
		int rc = -errno;

		snprintf(err, errlen, "--json %s: %s", path, strerror(errno));
		return rc;
	}
	if (json_write(f, o, warm, steps, n, why) < 0) {
		snprintf(err, errlen, "--json %s: write failed", path);
		return -EIO;
	}
	return 0;
}

/* The source tree's plot script when the build defines it (a build tree's mcgen), else NULL. */
#ifdef NC_SOURCE_MCGEN_PLOT_SCRIPT
#define SOURCE_PLOT_SCRIPT NC_SOURCE_MCGEN_PLOT_SCRIPT
#else
#define SOURCE_PLOT_SCRIPT NULL
#endif

/* The plot script: MCGEN_PLOT_SCRIPT, else the installed one, else the source tree's. */
static const char *
plot_script(void)
{
	const char *script = getenv("MCGEN_PLOT_SCRIPT");

	if (script == NULL || script[0] == '\0')
		script = nc_installed_or_source(NC_MCGEN_PLOT_SCRIPT, SOURCE_PLOT_SCRIPT);
	return script;
}

/* Run the plot script with arguments @p a1 and @p a2 (NULL: none). @return 0, or -EIO said. */
static int
plot_run(const char *a1, const char *a2, char *err, size_t errlen)
{
	const char *script = plot_script();
	int status = 0;
	pid_t pid;

	pid_t parent = getpid();

	fflush(NULL); /* (what was printed goes out now, whatever becomes of us) */
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "--plot: fork: %s", strerror(errno));
		return -EAGAIN;
	}
	if (pid == 0) {
		/* A second Ctrl-C ends mcgen at once: the plot goes with it. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(128 + SIGTERM);
		execl("/usr/bin/python3", "python3", script, a1, a2, (char *)NULL);
		fprintf(stderr, "mcgen: --plot: cannot run /usr/bin/python3: %s\n",
			strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		snprintf(err, errlen, "--plot: waiting for %s: %s", script, strerror(errno));
		return -EIO;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "--plot: %s failed (%s %d; its message above)", script,
			 WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -EIO;
	}
	return 0;
}

int
mcgen_report_plot(const char *json, const char *png, char *err, size_t errlen)
{
	return plot_run(json, png, err, errlen);
}

int
mcgen_report_plot_check(char *err, size_t errlen)
{
	return plot_run("--check", NULL, err, errlen);
}

int
mcgen_report_path_check(const char *opt, const char *path, char *err, size_t errlen)
{
	char dir[MCGEN_STR_LEN];
	struct stat st;
	char *slash;
	int rc;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			rc = -EISDIR;
		else
			rc = access(path, W_OK) == 0 ? 0 : -errno;
		if (rc < 0)
			snprintf(err, errlen, "--%s %s: %s", opt, path, strerror(-rc));
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK | X_OK) == 0)
		return 0;
	rc = -errno;
	snprintf(err, errlen, "--%s %s: its folder %s: %s", opt, path, dir, strerror(-rc));
	return rc;
}
