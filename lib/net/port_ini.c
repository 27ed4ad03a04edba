/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The INI reading shared by profiles and site files: rte_cfgfile loads the file, then every
 * entry of every section (by index, so a section written twice is seen twice) goes to the
 * parser its format's key table names. Anything the table does not know is an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_cfgfile.h>

#include "port_private.h"

void
net_msg(char *msg, size_t msgcap, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msgcap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msgcap, fmt, ap);
	va_end(ap);
}

int
net_parse_uint(const char *v, unsigned long lo, unsigned long hi, unsigned long *out, char *why,
	       size_t whycap)
{
	char *end;
	unsigned long x;

	if (*v < '0' || *v > '9') {
		net_msg(why, whycap, "not a number");
		return -EINVAL;
	}
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0') {
		net_msg(why, whycap, "not a number");
		return -EINVAL;
	}
	if (x < lo || x > hi) {
		net_msg(why, whycap, "out of range %lu..%lu", lo, hi);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int
net_parse_bool(const char *v, bool *out, char *why, size_t whycap)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	net_msg(why, whycap, "expected yes or no");
	return -EINVAL;
}

int
net_parse_str(const char *v, char *dst, size_t cap, char *why, size_t whycap)
{
	size_t n = strlen(v);

	if (n >= cap) {
		net_msg(why, whycap, "too long (at most %zu characters)", cap - 1);
		return -EINVAL;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static bool
section_known(const struct net_ini_key *keys, unsigned nkeys, const char *section)
{
	for (unsigned i = 0; i < nkeys; i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

static int
find_key(const struct net_ini_key *keys, unsigned nkeys, const char *section, const char *key)
{
	for (unsigned i = 0; i < nkeys; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* Hand the entries of section number @p idx to their parsers. */
static int
read_section(struct rte_cfgfile *cfg, int idx, const char *path, const struct net_ini_key *keys,
	     unsigned nkeys, void *obj, bool *seen, char *msg, size_t msgcap)
{
	char section[CFG_NAME_LEN];
	struct rte_cfgfile_entry *ent;
	char why[128];
	int n, rc = 0;

	n = rte_cfgfile_section_num_entries_by_index(cfg, section, idx);
	if (n < 0) {
		net_msg(msg, msgcap, "%s: cannot read section %d", path, idx);
		return -EINVAL;
	}
	if (!section_known(keys, nkeys, section)) {
		net_msg(msg, msgcap, "%s: unknown section [%s]", path, section);
		return -EINVAL;
	}
	if (n == 0)
		return 0;
	ent = calloc((size_t)n, sizeof(*ent));
	if (ent == NULL) {
		net_msg(msg, msgcap, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (rte_cfgfile_section_entries_by_index(cfg, idx, section, ent, n) != n) {
		net_msg(msg, msgcap, "%s: cannot read section [%s]", path, section);
		free(ent);
		return -EINVAL;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		int k = find_key(keys, nkeys, section, ent[i].name);

		if (k < 0) {
			net_msg(msg, msgcap, "%s: [%s] unknown key '%s'", path, section,
				ent[i].name);
			rc = -EINVAL;
		} else if (seen[k]) {
			net_msg(msg, msgcap, "%s: [%s] key '%s' given twice", path, section,
				ent[i].name);
			rc = -EINVAL;
		} else {
			seen[k] = true;
			why[0] = '\0';
			rc = keys[k].parse(obj, ent[i].value, why, sizeof(why));
			if (rc != 0)
				net_msg(msg, msgcap, "%s: [%s] key '%s' = '%s': %s", path, section,
					ent[i].name, ent[i].value, why);
		}
	}
	free(ent);
	return rc;
}

int
net_ini_read(const char *path, const struct net_ini_key *keys, unsigned nkeys, void *obj,
	     bool *seen, char *msg, size_t msgcap)
{
	const struct rte_cfgfile_parameters params = {.comment_character = '#'};
	struct rte_cfgfile *cfg;
	bool *own = NULL;
	FILE *f;
	int nsec, rc = 0;

	f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;

		net_msg(msg, msgcap, "%s: cannot open: %s", path, strerror(e));
		return e == ENOENT ? -ENOENT : -EINVAL;
	}
	fclose(f);
	cfg = rte_cfgfile_load_with_params(path, 0, &params);
	if (cfg == NULL) {
		net_msg(msg, msgcap,
			"%s: not a valid INI file (every line must be a [section], 'key = value' "
			"with a value, or a # comment)",
			path);
		return -EINVAL;
	}
	if (seen == NULL) {
		own = calloc(nkeys > 0 ? nkeys : 1, sizeof(*own));
		if (own == NULL) {
			rte_cfgfile_close(cfg);
			net_msg(msg, msgcap, "%s: out of memory", path);
			return -ENOMEM;
		}
		seen = own;
	} else {
		memset(seen, 0, nkeys * sizeof(*seen));
	}
	nsec = rte_cfgfile_num_sections(cfg, "", 0);
	for (int i = 0; i < nsec && rc == 0; i++)
		rc = read_section(cfg, i, path, keys, nkeys, obj, seen, msg, msgcap);
	free(own);
	rte_cfgfile_close(cfg);
	return rc;
}
