/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for core/log.h: line format, target choice, whole lines from many threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

/* Point stderr at a new temporary file; @return the saved stderr to give to restore_stderr. */
static int
capture_stderr(char *path, size_t cap)
{
	int saved = dup(STDERR_FILENO), fd;

	snprintf(path, cap, "/tmp/nc-test-log.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

/* Put stderr back and @return what the file got (malloc'd). */
static char *
restore_stderr(int saved, const char *path)
{
	FILE *f;
	char *text;
	long n;

	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return text;
}

static void
test_format_line(void **state)
{
	char buf[256];
	size_t n;

	(void)state;
	/* 2026-12-03 07:10:00.123 UTC */
	n = nc_log_format_line(buf, sizeof(buf), 1796281800123LL, "nicached", 42, NC_LOG_WARNING,
			       "worker 0: something");
	assert_string_equal(buf, "2026-12-03T07:10:00.123Z nicached[42]: warning: worker 0: something\n");
	assert_int_equal(n, strlen(buf));
	/* Cut to fit, still one line ending in a newline. */
	n = nc_log_format_line(buf, 48, 0, "nicached", 1, NC_LOG_ERR, "a long message that does not fit");
	assert_int_equal(n, 47);
	assert_int_equal(buf[46], '\n');
	assert_memory_equal(buf, "1970-01-01T00:00:00.000Z nicached[1]: error: ", 45);
	assert_string_equal(nc_log_level_word(NC_LOG_DEBUG), "debug");
	assert_string_equal(nc_log_level_word((enum nc_log_level)9), "?");
	assert_string_equal(nc_log_target_name(NC_LOG_TARGET_JOURNAL), "journal");
}

static void
test_stderr_target(void **state)
{
	char path[64];
	int saved;
	char *text;

	(void)state;
	saved = capture_stderr(path, sizeof(path));
	unsetenv("JOURNAL_STREAM");
	/* auto on a regular file: stderr with time and level */
	assert_int_equal(nc_log_open("nc-test", NC_LOG_TARGET_AUTO), NC_LOG_TARGET_STDERR);
	nc_log(NC_LOG_NOTICE, "hello %d\n", 7);
	text = restore_stderr(saved, path);
	assert_non_null(strstr(text, " nc-test["));
	assert_non_null(strstr(text, "]: notice: hello 7\n"));
	assert_int_equal(text[4], '-');
	assert_int_equal(text[23], 'Z');
	assert_int_equal(strchr(text, '\n') - text, (long)strlen(text) - 1); /* one line */
	free(text);
}

static void
test_journal_target(void **state)
{
	char path[64], js[64];
	struct stat st;
	int saved;
	char *text;

	(void)state;
	saved = capture_stderr(path, sizeof(path));
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	/* Another stream's numbers: not the journal. */
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", js, 1);
	assert_int_equal(nc_log_open("nc-test", NC_LOG_TARGET_AUTO), NC_LOG_TARGET_STDERR);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	assert_int_equal(nc_log_open("nc-test", NC_LOG_TARGET_AUTO), NC_LOG_TARGET_JOURNAL);
	nc_log(NC_LOG_ERR, "disk on fire");
	nc_log(NC_LOG_INFO, "and %s", "more");
	unsetenv("JOURNAL_STREAM");
	text = restore_stderr(saved, path);
	assert_string_equal(text, "<3>disk on fire\n<6>and more\n");
	free(text);
}

static void
test_auto_devnull_is_syslog(void **state)
{
	int saved = dup(STDERR_FILENO), fd = open("/dev/null", O_WRONLY);

	(void)state;
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	assert_int_equal(nc_log_open("nc-test", NC_LOG_TARGET_AUTO), NC_LOG_TARGET_SYSLOG);
	assert_int_equal(nc_log_target(), NC_LOG_TARGET_SYSLOG);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	/* Asked for by name, a target is taken as it is. */
	assert_int_equal(nc_log_open("nc-test", NC_LOG_TARGET_JOURNAL), NC_LOG_TARGET_JOURNAL);
}

#define THREADS 4
#define LINES	2000

static void *
log_lines(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int i = 0; i < LINES; i++)
		nc_log(NC_LOG_INFO, "thread %d line %d %s", id, i,
		       "padding padding padding padding padding padding padding padding");
	return NULL;
}

static void
test_threads_write_whole_lines(void **state)
{
	pthread_t t[THREADS];
	int counts[THREADS] = {0};
	char path[64], *text, *line, *save = NULL;
	int saved;

	(void)state;
	saved = capture_stderr(path, sizeof(path));
	nc_log_open("nc-test", NC_LOG_TARGET_STDERR);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_lines, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	text = restore_stderr(saved, path);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		int id, n;
		const char *m = strstr(line, ": info: thread ");

		assert_non_null(m);
		assert_int_equal(sscanf(m, ": info: thread %d line %d", &id, &n), 2);
		assert_true(id >= 0 && id < THREADS);
		assert_int_equal(n, counts[id]); /* each thread's lines whole and in order */
		assert_non_null(strstr(line, "padding padding"));
		counts[id]++;
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(counts[i], LINES);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_line),
		cmocka_unit_test(test_stderr_target),
		cmocka_unit_test(test_journal_target),
		cmocka_unit_test(test_auto_devnull_is_syslog),
		cmocka_unit_test(test_threads_write_whole_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
