/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Settings: the --config INI file. rte_cfgfile reads it; a line-by-line scan first checks its
 * shape and notes the line of each entry, since rte_cfgfile says only that it failed, not where.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>

#include "settings_private.h"

/* A config file line longer than rte_cfgfile reads in one piece. */
#define INI_LINE_MAX (CFG_NAME_LEN + CFG_VALUE_LEN)

/* Line numbers of a file's entries in section [nicached], in file order. */
struct ini_lines {
	unsigned *line;
	unsigned n, cap;
};

static char *
strip(char *t)
{
	size_t n;

	while (isspace((unsigned char)*t))
		t++;
	n = strlen(t);
	while (n > 0 && isspace((unsigned char)t[n - 1]))
		t[--n] = '\0';
	return t;
}

/*
 * Check a config file's shape line by line (rte_cfgfile says only that it failed, not where)
 * and note where each entry of [nicached] is, for messages about its values.
 */
static int
ini_scan(const char *path, FILE *f, struct ini_lines *li, char *err, size_t errcap)
{
	char *buf = NULL;
	size_t bufcap = 0;
	ssize_t len;
	unsigned lineno = 0;
	bool in_section = false, seen = false;
	char q[64];
	int rc = 0;

	while ((len = getline(&buf, &bufcap, f)) >= 0) {
		char *t, *hash;

		lineno++;
		if ((size_t)len != strlen(buf)) {
			setting_err(err, errcap, "%s:%u: NUL byte in line", path, lineno);
			rc = -EINVAL;
			break;
		}
		if (len > INI_LINE_MAX) {
			setting_err(err, errcap, "%s:%u: line too long (at most %d characters)",
				    path, lineno, INI_LINE_MAX);
			rc = -EINVAL;
			break;
		}
		hash = strchr(buf, '#');
		if (hash != NULL)
			*hash = '\0';
		t = strip(buf);
		if (*t == '\0')
			continue;
		if (*t == '[') {
			size_t n = strlen(t);
			char *name;

			if (t[n - 1] != ']') {
				setting_err(err, errcap, "%s:%u: missing ']' after section name",
					    path, lineno);
				rc = -EINVAL;
				break;
			}
			t[n - 1] = '\0';
			name = strip(t + 1);
			if (strcmp(name, SETTINGS_INI_SECTION) != 0) {
				setting_err(err, errcap,
					    "%s:%u: unknown section '[%s]' (settings go in "
					    "[" SETTINGS_INI_SECTION "])",
					    path, lineno, setting_quote(name, q, sizeof(q)));
				rc = -EINVAL;
				break;
			}
			if (seen) {
				setting_err(err, errcap, "%s:%u: section [%s] appears twice", path,
					    lineno, SETTINGS_INI_SECTION);
				rc = -EINVAL;
				break;
			}
			seen = in_section = true;
			continue;
		}
		if (strchr(t, '=') == NULL || *t == '=') {
			setting_err(err, errcap, "%s:%u: expected 'setting = value', got '%s'",
				    path, lineno, setting_quote(t, q, sizeof(q)));
			rc = -EINVAL;
			break;
		}
		if (!in_section) {
			setting_err(err, errcap, "%s:%u: '%s' is outside section [%s]", path,
				    lineno, setting_quote(t, q, sizeof(q)), SETTINGS_INI_SECTION);
			rc = -EINVAL;
			break;
		}
		if (li->n == li->cap) {
			unsigned ncap = li->cap != 0 ? li->cap * 2 : 16;
			unsigned *nl = realloc(li->line, ncap * sizeof(*nl));

			if (nl == NULL) {
				setting_err(err, errcap, "%s: out of memory", path);
				rc = -ENOMEM;
				break;
			}
			li->line = nl;
			li->cap = ncap;
		}
		li->line[li->n++] = lineno;
	}
	if (rc == 0 && ferror(f)) {
		setting_err(err, errcap, "%s: cannot read: %s", path, strerror(errno));
		rc = -EINVAL;
	}
	free(buf);
	return rc;
}

static const struct setting_desc *
find_by_name(const char *name)
{
	for (unsigned i = 0; i < SETTING_COUNT; i++)
		if (strcmp(setting_table[i].name, name) == 0)
			return &setting_table[i];
	return NULL;
}

int
setting_load_file(struct nc_settings *s, const char *path, char *err, size_t errcap)
{
	const struct rte_cfgfile_parameters params = {.comment_character = '#'};
	struct ini_lines li = {0};
	struct rte_cfgfile *cfg = NULL;
	struct rte_cfgfile_entry *ent = NULL;
	char q[64];
	FILE *f;
	int n, rc;

	f = fopen(path, "r");
	if (f == NULL) {
		setting_err(err, errcap, "--config: cannot read '%s': %s",
			    setting_quote(path, q, sizeof(q)), strerror(errno));
		return -EINVAL;
	}
	rc = ini_scan(path, f, &li, err, errcap);
	fclose(f);
	if (rc != 0)
		goto out;
	if (li.n == 0)
		goto out; /* no settings (rte_cfgfile would say the same) */

	cfg = rte_cfgfile_load_with_params(path, CFG_FLAG_EMPTY_VALUES, &params);
	n = cfg != NULL ? rte_cfgfile_section_num_entries(cfg, SETTINGS_INI_SECTION) : -1;
	if (n < 0 || (unsigned)n != li.n) {
		setting_err(err, errcap, "%s: cannot parse the file", path);
		rc = -EINVAL;
		goto out;
	}
	ent = calloc((size_t)n, sizeof(*ent));
	if (ent == NULL) {
		setting_err(err, errcap, "%s: out of memory", path);
		rc = -ENOMEM;
		goto out;
	}
	if (rte_cfgfile_section_entries(cfg, SETTINGS_INI_SECTION, ent, n) != n) {
		setting_err(err, errcap, "%s: cannot parse the file", path);
		rc = -EINVAL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct setting_desc *d = find_by_name(ent[i].name);
		struct setting_origin o = {.file = path, .line = li.line[i]};

		if (d == NULL) {
			setting_err(err, errcap, "%s:%u: unknown setting '%s'", path, o.line,
				    setting_quote(ent[i].name, q, sizeof(q)));
			rc = -EINVAL;
			goto out;
		}
		if (d->kind == KIND_config || d->kind == KIND_help || d->kind == KIND_version) {
			setting_err(err, errcap, "%s:%u: '%s' is a command-line flag only", path,
				    o.line, d->name);
			rc = -EINVAL;
			goto out;
		}
		rc = setting_apply(s, d, &o, ent[i].value, err, errcap);
		if (rc != 0)
			goto out;
	}
out:
	free(ent);
	free(li.line);
	if (cfg != NULL)
		rte_cfgfile_close(cfg);
	return rc;
}
