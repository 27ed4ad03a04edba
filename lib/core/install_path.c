/* SPDX-License-Identifier: BSD-3-Clause */
/* Installed files, or the source tree's for a program run from its build tree (install_path.h). */
#include "core/install_path.h"

#include <stddef.h>
#include <unistd.h>

const char *
nc_installed_or_source(const char *installed, const char *source)
{
	if (source != NULL && access(installed, R_OK) != 0 && access(source, R_OK) == 0)
		return source;
	return installed;
}
