/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Settings: the table in settings.h expanded into descriptors, the defaults, and the helpers
 * the other settings_*.c files share (messages, numbers, words, backend names).
 * The rest: settings_value.c (one value), settings_cli.c (command line), settings_file.c (INI),
 * settings_listen.c (-l), settings_eal.c (EAL arguments), settings_print.c (usage, stats).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/install_path.h"
#include "settings_private.h"

/* Where a kind's field lives (help and version have none). */
#define OFFSET_uint(f)	  offsetof(struct nc_settings, f)
#define OFFSET_mb(f)	  offsetof(struct nc_settings, f)
#define OFFSET_size(f)	  offsetof(struct nc_settings, f)
#define OFFSET_real(f)	  offsetof(struct nc_settings, f)
#define OFFSET_listen(f)  offsetof(struct nc_settings, f)
#define OFFSET_words(f)	  offsetof(struct nc_settings, f)
#define OFFSET_backend(f) offsetof(struct nc_settings, f)
#define OFFSET_replication(f) offsetof(struct nc_settings, f)
#define OFFSET_logto(f)	  offsetof(struct nc_settings, f)
#define OFFSET_compression(f) offsetof(struct nc_settings, f)
#define OFFSET_count(f)	  offsetof(struct nc_settings, f)
#define OFFSET_switch(f)  offsetof(struct nc_settings, f)
#define OFFSET_config(f)  offsetof(struct nc_settings, f)
#define OFFSET_path(f)	  offsetof(struct nc_settings, f)
#define OFFSET_fault(f)	  offsetof(struct nc_settings, f)
#define OFFSET_subopts(f) offsetof(struct nc_settings, f)
#define OFFSET_members(f) offsetof(struct nc_settings, f)
#define OFFSET_member(f) offsetof(struct nc_settings, f)
#define OFFSET_help(f)	  0
#define OFFSET_version(f) 0

/* Size of a kind's field, for strings (capacity). */
#define CAP_uint(f)    0
#define CAP_mb(f)      0
#define CAP_size(f)    0
#define CAP_real(f)    0
#define CAP_listen(f)  sizeof(((struct nc_settings *)0)->f)
#define CAP_words(f)   sizeof(((struct nc_settings *)0)->f)
#define CAP_backend(f) 0
#define CAP_replication(f) 0
#define CAP_logto(f)	   0
#define CAP_compression(f) 0
#define CAP_count(f)   0
#define CAP_switch(f)  0
#define CAP_config(f)  sizeof(((struct nc_settings *)0)->f)
#define CAP_path(f)    sizeof(((struct nc_settings *)0)->f)
#define CAP_fault(f)   sizeof(((struct nc_settings *)0)->f)
#define CAP_subopts(f) sizeof(((struct nc_settings *)0)->f)
#define CAP_members(f) sizeof(((struct nc_settings *)0)->f)
#define CAP_member(f) sizeof(((struct nc_settings *)0)->f)
#define CAP_help(f)    0
#define CAP_version(f) 0

/* A kind's default assignment. */
#define DEFAULT_uint(s, f, d)	 (s)->f = (d);
#define DEFAULT_mb(s, f, d)	 (s)->f = (d);
#define DEFAULT_size(s, f, d)	 (s)->f = (d);
#define DEFAULT_real(s, f, d)	 (s)->f = (d);
#define DEFAULT_listen(s, f, d)	 snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_words(s, f, d)	 snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_backend(s, f, d) (s)->f = (d);
#define DEFAULT_replication(s, f, d) (s)->f = (d);
#define DEFAULT_logto(s, f, d)	 (s)->f = (d);
#define DEFAULT_compression(s, f, d) (s)->f = (d);
#define DEFAULT_count(s, f, d)	 (s)->f = (d);
#define DEFAULT_switch(s, f, d)	 (s)->f = (d);
#define DEFAULT_config(s, f, d)	 snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_path(s, f, d)	 snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_fault(s, f, d)	 snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_subopts(s, f, d) snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_members(s, f, d) snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_member(s, f, d) snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_help(s, f, d)
#define DEFAULT_version(s, f, d)

const struct setting_desc setting_table[SETTING_COUNT] = {
#define DESC(k_, f_, sc, nm, def, mn, mx, st, ar, hl) \
	[SETTING_##f_] = {.kind = KIND_##k_,          \
			  .short_flag = (sc),         \
			  .name = (nm),               \
			  .stat = (st),               \
			  .arg = (ar),                \
			  .help = (hl),               \
			  .min = (mn),                \
			  .max = (mx),                \
			  .offset = OFFSET_##k_(f_),  \
			  .cap = CAP_##k_(f_)},
	SETTINGS_TABLE(DESC)
#undef DESC
};

static const char *const backend_names[] = {
#define BACKEND_NAME(e, name) [SETTINGS_BACKEND_##e] = (name),
	SETTINGS_BACKENDS(BACKEND_NAME)
#undef BACKEND_NAME
	NULL,
};

static const char *const replication_names[] = {
#define REPLICATION_NAME(e, name) [SETTINGS_REPLICATION_##e] = (name),
	SETTINGS_REPLICATIONS(REPLICATION_NAME)
#undef REPLICATION_NAME
	NULL,
};

static const char *const logto_names[] = {
#define LOGTO_NAME(e, name) [NC_LOG_TARGET_##e] = (name),
	NC_LOG_TARGETS(LOGTO_NAME)
#undef LOGTO_NAME
	NULL,
};

static const char *const compression_names[] = {
#define COMPRESSION_NAME(e, name) [SETTINGS_COMPRESSION_##e] = (name),
	SETTINGS_COMPRESSIONS(COMPRESSION_NAME)
#undef COMPRESSION_NAME
	NULL,
};

/* The names of a choice kind's values, NULL-terminated; NULL for the other kinds. */
static const char *const *
choice_names(enum setting_kind kind)
{
	switch (kind) {
	case KIND_backend:
		return backend_names;
	case KIND_replication:
		return replication_names;
	case KIND_logto:
		return logto_names;
	case KIND_compression:
		return compression_names;
	default:
		return NULL;
	}
}

void
settings_defaults(struct nc_settings *s)
{
	memset(s, 0, sizeof(*s));
#define DEFAULTS(kind, f, sc, name, def, min, max, stat, arg, help) DEFAULT_##kind(s, f, def)
	SETTINGS_TABLE(DEFAULTS)
#undef DEFAULTS
	/* Run from the build tree, never installed: the source tree's profiles. */
	snprintf(s->drivers_dir, sizeof(s->drivers_dir), "%s",
		 nc_installed_or_source(NC_DRIVERS_DIR, NC_SOURCE_DRIVERS_DIR_OR_NULL));
}

void
setting_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

const char *
setting_quote(const char *text, char *buf, size_t cap)
{
	size_t i = 0, n = 0;

	for (; text[i] != '\0' && n + 4 < cap && i < 48; i++)
		buf[n++] = isprint((unsigned char)text[i]) ? text[i] : '?';
	if (text[i] != '\0' && n + 4 <= cap) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

const char *
setting_label(const struct setting_desc *d, const struct setting_origin *o, char *buf, size_t cap)
{
	if (o != NULL && o->file != NULL)
		snprintf(buf, cap, "%s:%u: %s", o->file, o->line, d->name);
	else if (d->short_flag != 0)
		snprintf(buf, cap, "-%c/--%s", d->short_flag, d->name);
	else
		snprintf(buf, cap, "--%s", d->name);
	return buf;
}

int
setting_digits(const char *t, const char **end, uint64_t *v)
{
	uint64_t x = 0;
	const char *p = t;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned dg = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - dg) / 10)
			return -ERANGE;
		x = x * 10 + dg;
	}
	*end = p;
	*v = x;
	return 0;
}

const char *
setting_size_text(size_t v, char *buf, size_t cap)
{
	if (v != 0 && v % (1u << 20) == 0)
		snprintf(buf, cap, "%zum", v >> 20);
	else if (v != 0 && v % 1024 == 0)
		snprintf(buf, cap, "%zuk", v >> 10);
	else
		snprintf(buf, cap, "%zu", v);
	return buf;
}

const char *
setting_word_next(const char **p, size_t *len)
{
	const char *w = *p + strspn(*p, " \t");
	size_t n = strcspn(w, " \t");

	*p = w + n;
	if (n == 0)
		return NULL;
	*len = n;
	return w;
}

const char *
setting_choice_name(enum setting_kind kind, unsigned value)
{
	const char *const *names = choice_names(kind);

	for (unsigned i = 0; names != NULL && names[i] != NULL; i++)
		if (i == value)
			return names[i];
	return "?";
}

void
setting_choice_list(enum setting_kind kind, char *buf, size_t cap)
{
	const char *const *names = choice_names(kind);
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; names != NULL && names[i] != NULL && used < cap; i++) {
		int n = snprintf(buf + used, cap - used, "%s%s",
				 i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ", names[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int
setting_choice_find(enum setting_kind kind, const char *name, unsigned *value)
{
	const char *const *names = choice_names(kind);

	for (unsigned i = 0; names != NULL && names[i] != NULL; i++) {
		if (strcmp(name, names[i]) == 0) {
			*value = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
settings_auth_file(const struct nc_settings *s)
{
	const char *env;

	if (s->sasl_pwdb[0] != '\0')
		return s->sasl_pwdb;
	if (s->auth_file[0] != '\0')
		return s->auth_file;
	env = s->sasl != 0 ? getenv("MEMCACHED_SASL_PWDB") : NULL;
	return env != NULL && env[0] != '\0' ? env : NULL;
}

#define FIXED_STAT_COUNT(name, value) +1
_Static_assert(SETTING_COUNT SETTINGS_STATS_DERIVED(FIXED_STAT_COUNT) <= SETTINGS_STATS_MAX,
	       "SETTINGS_STATS_MAX is too small for every `stats settings` line");
#undef FIXED_STAT_COUNT
