/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NC_APP_SETTINGS_PRIVATE_H
#define NC_APP_SETTINGS_PRIVATE_H

/*
 * What the settings_*.c files share and nothing else includes: SETTINGS_TABLE expanded into
 * one descriptor per setting, and the helpers that turn text into fields and back.
 * Internal names are singular (setting_*); the public API in settings.h is settings_*.
 * Nothing here keeps state; every function may be called from any thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"

#define SETTINGS_KINDS(X) \
	X(uint)           \
	X(switch)         \
	X(mb)             \
	X(size)           \
	X(real)           \
	X(listen)         \
	X(words)          \
	X(backend)        \
	X(replication)    \
	X(logto)          \
	X(compression)    \
	X(count)          \
	X(config)         \
	X(path)           \
	X(fault)          \
	X(subopts)        \
	X(members)        \
	X(member)         \
	X(help)           \
	X(version)

enum setting_kind {
#define SETTING_KIND_ENUM(k) KIND_##k,
	SETTINGS_KINDS(SETTING_KIND_ENUM)
#undef SETTING_KIND_ENUM
};

enum setting_id {
#define SETTING_ID_ENUM(kind, field, sc, name, def, min, max, stat, arg, help) SETTING_##field,
	SETTINGS_TABLE(SETTING_ID_ENUM)
#undef SETTING_ID_ENUM
	SETTING_COUNT
};

/* One line of SETTINGS_TABLE. */
struct setting_desc {
	enum setting_kind kind;
	int short_flag; /* 0: long only */
	const char *name;
	const char *stat;
	const char *arg;
	const char *help;
	double min, max;
	size_t offset, cap; /* cap: size of a string field, else 0 */
};

/** The descriptors, indexed by enum setting_id. */
extern const struct setting_desc setting_table[SETTING_COUNT];

/* Words the derived EAL arguments take at most, before the user's --eal words. */
#define SETTING_EAL_DERIVED_MAX 16

/* Where a value came from: a line of a file (a NULL origin means the command line). */
struct setting_origin {
	const char *file;
	unsigned line;
};

/** Whether the flag of @p d takes a value on the command line. */
static inline bool
setting_has_arg(const struct setting_desc *d)
{
	return d->kind != KIND_count && d->kind != KIND_switch && d->kind != KIND_help &&
	       d->kind != KIND_version;
}

/** The field of @p d in @p s. */
static inline void *
setting_field(struct nc_settings *s, const struct setting_desc *d)
{
	return (char *)s + d->offset;
}

/** The field of @p d in @p s, read-only. */
static inline const void *
setting_cfield(const struct nc_settings *s, const struct setting_desc *d)
{
	return (const char *)s + d->offset;
}

/** printf into @p err (nothing when @p err is NULL or @p cap 0). */
void setting_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/**
 * @p text made safe to quote in a message: printable characters only, at most 48, "..." when
 * cut. @return @p buf.
 */
const char *setting_quote(const char *text, char *buf, size_t cap);

/**
 * What a message calls setting @p d: "-m/--memory-limit" or "--udp-payload" for the command
 * line (@p o NULL), "my.ini:3: memory-limit" for a file. @return @p buf.
 */
const char *setting_label(const struct setting_desc *d, const struct setting_origin *o, char *buf,
			  size_t cap);

/**
 * Decimal digits at @p t (no sign or spaces) into *v, *end just past them.
 * @return 0; -EINVAL when @p t does not start with a digit; -ERANGE above UINT64_MAX.
 */
int setting_digits(const char *t, const char **end, uint64_t *v);

/** A byte count as "1m", "4k" or "123" (usage and messages). @return @p buf. */
const char *setting_size_text(size_t v, char *buf, size_t cap);

/**
 * The next word of *p, split on spaces and tabs: @return its start with its length in *len,
 * and *p moved past it; NULL when only blanks are left.
 */
const char *setting_word_next(const char **p, size_t *len);

/**
 * The name of value @p value of a choice kind (backend, replication, logto); "?" when out of range or
 * for another kind.
 */
const char *setting_choice_name(enum setting_kind kind, unsigned value);

/**
 * The value of choice kind @p kind called @p name into *value.
 * @return 0, or -EINVAL when there is none.
 */
int setting_choice_find(enum setting_kind kind, const char *name, unsigned *value);

/** The names choice kind @p kind takes, for messages ("socket or dpdk"), into @p buf. */
void setting_choice_list(enum setting_kind kind, char *buf, size_t cap);

/**
 * Apply memcached -o suboptions @p text (name[=value],...) to @p s (settings_value.c).
 * @return 0; -EINVAL with a message starting with @p label (unknown suboption, bad value).
 */
int setting_subopts(struct nc_settings *s, const char *label, const char *text, char *err,
		    size_t errcap);

/**
 * Parse @p text as the value of @p d into @p s (settings_value.c).
 * @return 0; -EINVAL with a message naming @p o's label in @p err.
 */
int setting_apply(struct nc_settings *s, const struct setting_desc *d,
		  const struct setting_origin *o, const char *text, char *err, size_t errcap);

/**
 * Parse a memcached -l @p list into @p out (at most @p max entries), each with @p tcp unless
 * it names a port, and @p udp (settings_listen.c).
 * @return the number of entries; -EINVAL or -E2BIG with a message starting with @p lb.
 */
int setting_listen_parse(const char *list, uint16_t tcp, uint16_t udp, struct stack_listen *out,
			 unsigned max, const char *lb, char *err, size_t errcap);

/**
 * Apply the settings of INI file @p path to @p s (settings_file.c).
 * @return 0; -EINVAL (-ENOMEM) with a message naming the file and line in @p err.
 */
int setting_load_file(struct nc_settings *s, const char *path, char *err, size_t errcap);

/**
 * The value of @p d in @p s as text: as the usage shows it, or with @p stats as memcached's
 * `stats settings` does (maxbytes in bytes). Empty for help and version. @return @p buf.
 */
const char *setting_format(const struct nc_settings *s, const struct setting_desc *d, bool stats,
			   char *buf, size_t cap);

#endif /* NC_APP_SETTINGS_PRIVATE_H */
