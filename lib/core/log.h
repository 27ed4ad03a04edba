/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_LOG_H
#define NC_CORE_LOG_H

/*
 * The process's log: one line per message, with its time and level, to wherever the process
 * runs. Targets:
 *   stderr   "2026-12-03T07:10:00.123Z nicached[1234]: warning: text" (UTC, milliseconds)
 *   journal  "<4>text" on stderr: systemd's journal reads the level from the prefix and adds
 *            the time and the unit itself (stderr connected to the journal, JOURNAL_STREAM)
 *   syslog   syslog(3) with facility daemon and the pid
 *   auto     journal when stderr is the journal's stream (JOURNAL_STREAM names stderr's
 *            device and inode, as systemd documents); stderr when stderr is a terminal, a
 *            file or a pipe; syslog otherwise (stderr closed or /dev/null: a daemon)
 *
 * This is the process's one log sink (syslog's own state is process-wide too): nc_log_open()
 * sets it once at start, before other threads exist; nc_log() may then be called from any
 * thread. A message is formatted into a line of at most NC_LOG_LINE_MAX bytes (longer ones
 * are cut) and written with one write(2), so lines of concurrent threads never interleave.
 */

#include <stdarg.h>
#include <stddef.h>

/** Longest line written (level prefix and time included); longer messages are cut. */
#define NC_LOG_LINE_MAX 1024

/* Levels: X(enum suffix, syslog priority, word printed on stderr). */
#define NC_LOG_LEVELS(X)          \
	X(ERR, 3, "error")        \
	X(WARNING, 4, "warning")  \
	X(NOTICE, 5, "notice")    \
	X(INFO, 6, "info")        \
	X(DEBUG, 7, "debug")

enum nc_log_level {
#define NC_LOG_LEVEL_ENUM(e, prio, word) NC_LOG_##e = (prio),
	NC_LOG_LEVELS(NC_LOG_LEVEL_ENUM)
#undef NC_LOG_LEVEL_ENUM
};

/* Targets: X(enum suffix, name). The order is the settings' (app/nicached/settings.h). */
#define NC_LOG_TARGETS(X)      \
	X(AUTO, "auto")        \
	X(STDERR, "stderr")    \
	X(JOURNAL, "journal")  \
	X(SYSLOG, "syslog")

enum nc_log_target {
#define NC_LOG_TARGET_ENUM(e, name) NC_LOG_TARGET_##e,
	NC_LOG_TARGETS(NC_LOG_TARGET_ENUM)
#undef NC_LOG_TARGET_ENUM
};

/**
 * Choose the target (resolving NC_LOG_TARGET_AUTO as above) and the name lines carry
 * (@p ident, kept by pointer: a string literal or storage that lives as long as the process).
 * Call once at start, before other threads log. Until it is called, nc_log() writes to stderr.
 * @return the target chosen (never AUTO).
 */
enum nc_log_target nc_log_open(const char *ident, enum nc_log_target target);

/** The target nc_log_open() chose (NC_LOG_TARGET_STDERR before it). Any thread. */
enum nc_log_target nc_log_target(void);

/** The name of a target ("auto", "stderr", ...), "?" when out of range. */
const char *nc_log_target_name(enum nc_log_target target);

/** The word of a level ("error", "warning", ...), "?" when not a level. */
const char *nc_log_level_word(enum nc_log_level level);

/**
 * Log one message (printf format; no trailing newline needed: one is added, a trailing one
 * in the message is dropped). Any thread; never fails visibly (a line that cannot be written
 * is lost).
 */
void nc_log(enum nc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** nc_log() with a va_list. Any thread. */
void nc_vlog(enum nc_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/**
 * Format one stderr-target line into @p buf (cap bytes, NUL-terminated, ending in '\n'):
 * the time @p unix_ms (milliseconds since the epoch, shown in UTC), @p ident, @p pid, the
 * level's word and @p msg (cut to fit). For nc_log() and tests.
 * @return the line's length without the NUL.
 */
size_t nc_log_format_line(char *buf, size_t cap, long long unix_ms, const char *ident, int pid,
			  enum nc_log_level level, const char *msg);

#endif /* NC_CORE_LOG_H */
