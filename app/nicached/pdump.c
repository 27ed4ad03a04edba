/* SPDX-License-Identifier: BSD-3-Clause */
#include "pdump.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_pdump.h>

#include "core/log.h"

/** Visit each hugetlbfs mount folder of /proc/mounts. @return how many @p fn removed. */
static unsigned
hugetlbfs_each(unsigned (*fn)(const char *dir, const char *prefix), const char *prefix,
	       bool *any)
{
	char line[512];
	unsigned n = 0;
	FILE *f = fopen("/proc/mounts", "r");

	*any = f == NULL; /* cannot tell: EAL will say */
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char dev[128], dir[256], type[64];

		if (sscanf(line, "%127s %255s %63s", dev, dir, type) != 3 ||
		    strcmp(type, "hugetlbfs") != 0)
			continue;
		*any = true;
		if (fn != NULL)
			n += fn(dir, prefix);
	}
	fclose(f);
	return n;
}

bool
pdump_hugetlbfs_mounted(void)
{
	bool any;

	hugetlbfs_each(NULL, NULL, &any);
	return any;
}

int
pdump_start(const struct nc_server *srv, char *err, size_t errcap)
{
	if (!srv->set.pdump)
		return 0;
	/* Until a capture asks, the port's bursts run as before. */
	if (rte_pdump_init() != 0) {
		int e = rte_errno;

		snprintf(err, errcap, "--pdump: capture support did not start: %s",
			 rte_strerror(e));
		return -e;
	}
	return 0;
}

void
pdump_stop(const struct nc_server *srv)
{
	if (srv->set.pdump)
		rte_pdump_uninit();
}

/** Remove the entries of @p dir whose names start with @p prefix ("" = all). */
static unsigned
remove_prefixed(const char *dir, const char *prefix)
{
	size_t len = strlen(prefix);
	unsigned n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[512];

		if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, len) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/** EAL names its hugepage files <prefix>map_<n>. */
static unsigned
remove_hugepage_files(const char *dir, const char *prefix)
{
	char name[256];

	snprintf(name, sizeof(name), "%smap_", prefix);
	return remove_prefixed(dir, name);
}

unsigned
pdump_remove_eal_files(const struct nc_server *srv, const char *prefix, const char *runtime_dir)
{
	unsigned n;
	bool any;

	if (!srv->set.pdump || prefix == NULL || prefix[0] == '\0')
		return 0;
	n = hugetlbfs_each(remove_hugepage_files, prefix, &any);
	if (runtime_dir != NULL && runtime_dir[0] != '\0') {
		n += remove_prefixed(runtime_dir, "");
		if (rmdir(runtime_dir) != 0 && errno != ENOENT)
			nc_log(NC_LOG_DEBUG, "--pdump: %s stays: %s", runtime_dir, strerror(errno));
	}
	return n;
}
