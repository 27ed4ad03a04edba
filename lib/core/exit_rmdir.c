/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/exit_rmdir.h"

#include <stdlib.h>
#include <unistd.h>

/* on_exit() handler: rmdir the path @p arg holds (ENOTEMPTY, ENOENT: nothing to do). */
static void
exit_rmdir_run(int status, void *arg)
{
	char *dir = arg;

	(void)status;
	if (dir[0] != '\0')
		(void)rmdir(dir);
	free(dir);
}

char *
nc_exit_rmdir(void)
{
	char *dir = calloc(1, NC_EXIT_RMDIR_PATH_MAX);

	if (dir != NULL && on_exit(exit_rmdir_run, dir) != 0) {
		free(dir);
		dir = NULL;
	}
	return dir;
}
