/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The process's log (log.h): formats a line, then writes it with one write(2) or hands it
 * to syslog(3).
 */
#include "core/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* The process's sink: set once by nc_log_open() before other threads exist, read-only after. */
static struct {
	enum nc_log_target target;
	const char *ident;
	int pid;
} sink = {NC_LOG_TARGET_STDERR, "nicached", 0};

static const char *const target_names[] = {
#define TARGET_NAME(e, name) [NC_LOG_TARGET_##e] = (name),
	NC_LOG_TARGETS(TARGET_NAME)
#undef TARGET_NAME
};

const char *
nc_log_target_name(enum nc_log_target target)
{
	if ((unsigned)target >= sizeof(target_names) / sizeof(target_names[0]))
		return "?";
	return target_names[target];
}

const char *
nc_log_level_word(enum nc_log_level level)
{
	switch (level) {
#define LEVEL_WORD(e, prio, word) \
	case NC_LOG_##e:          \
		return (word);
		NC_LOG_LEVELS(LEVEL_WORD)
#undef LEVEL_WORD
	}
	return "?";
}

/* Whether stderr is the journal's stream: JOURNAL_STREAM is "<device>:<inode>" of it. */
static bool
stderr_is_journal(const struct stat *st)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	return (unsigned long long)st->st_dev == dev && (unsigned long long)st->st_ino == ino;
}

/* The target AUTO stands for here (log.h). */
static enum nc_log_target
auto_target(void)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) != 0)
		return NC_LOG_TARGET_SYSLOG;
	if (stderr_is_journal(&st))
		return NC_LOG_TARGET_JOURNAL;
	if (isatty(STDERR_FILENO) || S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode))
		return NC_LOG_TARGET_STDERR;
	return NC_LOG_TARGET_SYSLOG;
}

enum nc_log_target
nc_log_open(const char *ident, enum nc_log_target target)
{
	if (target == NC_LOG_TARGET_AUTO)
		target = auto_target();
	sink.ident = ident;
	sink.pid = (int)getpid();
	sink.target = target;
	if (target == NC_LOG_TARGET_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return target;
}

enum nc_log_target
nc_log_target(void)
{
	return sink.target;
}

size_t
nc_log_format_line(char *buf, size_t cap, long long unix_ms, const char *ident, int pid,
		   enum nc_log_level level, const char *msg)
{
	time_t secs = (time_t)(unix_ms / 1000);
	struct tm tm;
	size_t len, mlen;
	int n;

	if (cap < 2)
		return 0;
	gmtime_r(&secs, &tm);
	n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s[%d]: %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (int)(unix_ms % 1000), ident, pid, nc_log_level_word(level));
	len = n < 0 ? 0 : (size_t)n < cap - 1 ? (size_t)n : cap - 2;
	mlen = strlen(msg);
	if (mlen > cap - 2 - len)
		mlen = cap - 2 - len;
	memcpy(buf + len, msg, mlen);
	len += mlen;
	buf[len++] = '\n';
	buf[len] = '\0';
	return len;
}

/* Write all of buf to stderr (retrying short writes and EINTR); a failure loses the line. */
static void
write_stderr(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void
nc_vlog(enum nc_log_level level, const char *fmt, va_list ap)
{
	char msg[NC_LOG_LINE_MAX], line[NC_LOG_LINE_MAX + 96];
	struct timespec now;
	size_t mlen;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	mlen = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	msg[mlen] = '\0';
	while (mlen > 0 && msg[mlen - 1] == '\n')
		msg[--mlen] = '\0';
	switch (sink.target) {
	case NC_LOG_TARGET_SYSLOG:
		syslog((int)level, "%s", msg);
		return;
	case NC_LOG_TARGET_JOURNAL:
		n = snprintf(line, sizeof(line), "<%d>%s\n", (int)level, msg);
		write_stderr(line, n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		return;
	case NC_LOG_TARGET_AUTO: /* (never stored: nc_log_open resolves it) */
	case NC_LOG_TARGET_STDERR:
		break;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	write_stderr(line, nc_log_format_line(line, sizeof(line),
					      (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000,
					      sink.ident, sink.pid != 0 ? sink.pid : (int)getpid(),
					      level, msg));
}

void
nc_log(enum nc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_vlog(level, fmt, ap);
	va_end(ap);
}
