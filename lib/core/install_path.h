/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_CORE_INSTALL_PATH_H
#define NC_CORE_INSTALL_PATH_H

/*
 * Where a file or folder the project installs is found: where `meson install` put it, or, for
 * a program run from its build tree before any install, where it lies in the source tree. The
 * build defines both paths (meson.build: NC_DRIVERS_DIR and NC_SOURCE_DRIVERS_DIR, the
 * latter only when the install path is not fixed with -Ddrivers_dir).
 */

/** NC_SOURCE_DRIVERS_DIR when the build defines it, else NULL (nc_installed_or_source()). */
#ifdef NC_SOURCE_DRIVERS_DIR
#define NC_SOURCE_DRIVERS_DIR_OR_NULL NC_SOURCE_DRIVERS_DIR
#else
#define NC_SOURCE_DRIVERS_DIR_OR_NULL NULL
#endif

/**
 * @p installed when it can be read, else @p source when that can be read (a build tree's
 * program, never installed), else @p installed (its absence is the caller's to report).
 * @p source NULL: @p installed. Any thread; reads the file system (access()).
 */
const char *nc_installed_or_source(const char *installed, const char *source);

#endif /* NC_CORE_INSTALL_PATH_H */
