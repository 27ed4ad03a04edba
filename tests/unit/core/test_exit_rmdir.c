/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for core/exit_rmdir.h: a child process registers the folder and exits; the
 * folder is gone when it was empty, and stays (with its file) when it was not, or when the
 * child never wrote its path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/exit_rmdir.h"

/* A fresh folder under /tmp into @p dir (with a file in it when @p with_file). */
static void
make_folder(char *dir, size_t cap, bool with_file)
{
	snprintf(dir, cap, "/tmp/nc_test_exit_rmdir.XXXXXX");
	assert_non_null(mkdtemp(dir));
	if (with_file) {
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/file", dir);
		f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
}

/* Fork a child that registers @p dir (its path written when @p write_path) and exits 0. */
static void
run_child(const char *dir, bool write_path)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char *slot = nc_exit_rmdir();

		if (slot == NULL)
			_exit(2);
		if (write_path)
			snprintf(slot, NC_EXIT_RMDIR_PATH_MAX, "%s", dir);
		exit(0); /* (exit, not _exit: the handlers run) */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_empty_folder_goes(void **state)
{
	char dir[64];

	(void)state;
	make_folder(dir, sizeof(dir), false);
	run_child(dir, true);
	assert_int_not_equal(access(dir, F_OK), 0);
}

static void
test_folder_with_a_file_stays(void **state)
{
	char dir[64], path[128];

	(void)state;
	make_folder(dir, sizeof(dir), true);
	run_child(dir, true);
	assert_int_equal(access(dir, F_OK), 0);
	snprintf(path, sizeof(path), "%s/file", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_no_path_written_removes_nothing(void **state)
{
	char dir[64];

	(void)state;
	make_folder(dir, sizeof(dir), false);
	run_child(dir, false);
	assert_int_equal(access(dir, F_OK), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_folder_goes),
		cmocka_unit_test(test_folder_with_a_file_stays),
		cmocka_unit_test(test_no_path_written_removes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
