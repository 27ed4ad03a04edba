/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Settings: the table in settings.h expanded into descriptors; command line (getopt_long),
 * INI file (rte_cfgfile), usage text, listen list, EAL arguments and `stats settings`.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cfgfile.h>

#include "settings.h"

#define SETTINGS_KINDS(X) \
	X(uint)           \
	X(mb) X(size) X(real) X(listen) X(words) X(backend) X(count) X(config) X(help) X(version)

enum setting_kind {
#define KIND_ENUM(k) KIND_##k,
	SETTINGS_KINDS(KIND_ENUM)
#undef KIND_ENUM
};

enum setting_id {
#define ID_ENUM(kind, field, sc, name, def, min, max, stat, arg, help) SETTING_##field,
	SETTINGS_TABLE(ID_ENUM)
#undef ID_ENUM
	SETTING_COUNT
};

/* Where a kind's field lives (help and version have none). */
#define OFFSET_uint(f)	  offsetof(struct nc_settings, f)
#define OFFSET_mb(f)	  offsetof(struct nc_settings, f)
#define OFFSET_size(f)	  offsetof(struct nc_settings, f)
#define OFFSET_real(f)	  offsetof(struct nc_settings, f)
#define OFFSET_listen(f)  offsetof(struct nc_settings, f)
#define OFFSET_words(f)	  offsetof(struct nc_settings, f)
#define OFFSET_backend(f) offsetof(struct nc_settings, f)
#define OFFSET_count(f)	  offsetof(struct nc_settings, f)
#define OFFSET_config(f)  offsetof(struct nc_settings, f)
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
#define CAP_count(f)   0
#define CAP_config(f)  sizeof(((struct nc_settings *)0)->f)
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
#define DEFAULT_count(s, f, d)	 (s)->f = (d);
#define DEFAULT_config(s, f, d)	 snprintf((s)->f, sizeof((s)->f), "%s", (d));
#define DEFAULT_help(s, f, d)
#define DEFAULT_version(s, f, d)

struct setting_desc {
	enum setting_kind kind;
	int short_flag; /* 0: long only */
	const char *name;
	const char *stat;
	const char *arg;
	const char *help;
	double min, max;
	size_t offset, cap;
};

static const struct setting_desc settings_table[SETTING_COUNT] = {
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
};
#define BACKEND_COUNT (sizeof(backend_names) / sizeof(backend_names[0]))

/* getopt_long value of a setting: its short flag, or 256 + its id. */
#define LONG_ONLY_BASE 256

/* Words the derived EAL arguments take at most, before the user's --eal words. */
#define EAL_DERIVED_MAX 16

/* A config file line longer than rte_cfgfile reads in one piece. */
#define INI_LINE_MAX (CFG_NAME_LEN + CFG_VALUE_LEN)

static void
set_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/* @p text made safe to print: printable characters only, at most 48, "..." when cut. */
static const char *
quote(const char *text, char *buf, size_t cap)
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

/* Where a value came from: the command line (file == NULL) or a line of a file. */
struct origin {
	const char *file;
	unsigned line;
};

/* "-m/--memory-limit", "--udp-payload" or "my.ini:3: memory-limit". */
static const char *
label(const struct setting_desc *d, const struct origin *o, char *buf, size_t cap)
{
	if (o->file != NULL)
		snprintf(buf, cap, "%s:%u: %s", o->file, o->line, d->name);
	else if (d->short_flag != 0)
		snprintf(buf, cap, "-%c/--%s", d->short_flag, d->name);
	else
		snprintf(buf, cap, "--%s", d->name);
	return buf;
}

static void *
field(struct nc_settings *s, const struct setting_desc *d)
{
	return (char *)s + d->offset;
}

static const void *
cfield(const struct nc_settings *s, const struct setting_desc *d)
{
	return (const char *)s + d->offset;
}

/* Decimal digits only, no sign or spaces; 0 or -EINVAL (-ERANGE above UINT64_MAX). */
static int
parse_digits(const char *t, const char **end, uint64_t *v)
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

/* "1m", "4k", "123" for a byte count (usage and messages). */
static const char *
size_text(size_t v, char *buf, size_t cap)
{
	if (v != 0 && v % (1u << 20) == 0)
		snprintf(buf, cap, "%zum", v >> 20);
	else if (v != 0 && v % 1024 == 0)
		snprintf(buf, cap, "%zuk", v >> 10);
	else
		snprintf(buf, cap, "%zu", v);
	return buf;
}

static int
parse_number(const struct setting_desc *d, const char *lb, const char *text, uint64_t *out,
	     char *err, size_t errcap)
{
	char q[64];
	const char *end;
	uint64_t v, mult = 1;
	int rc;

	if (text[0] == '\0') {
		set_err(err, errcap, "%s: missing value", lb);
		return -EINVAL;
	}
	if (text[0] == '-' && isdigit((unsigned char)text[1])) {
		set_err(err, errcap, "%s: '%s' is negative", lb, quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	rc = parse_digits(text, &end, &v);
	if (rc == -EINVAL) {
		set_err(err, errcap, "%s: '%s' is not a number", lb, quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	if (rc == 0 && d->kind == KIND_size && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k':
		case 'K':
			mult = 1024;
			end++;
			break;
		case 'm':
		case 'M':
			mult = 1024 * 1024;
			end++;
			break;
		case 'g':
		case 'G':
			mult = 1024 * 1024 * 1024;
			end++;
			break;
		default:
			break;
		}
	}
	if (rc == 0 && *end != '\0') {
		set_err(err, errcap, "%s: '%s' is not a number%s", lb, quote(text, q, sizeof(q)),
			d->kind == KIND_size ? " (digits with an optional k or m suffix)" : "");
		return -EINVAL;
	}
	if (rc == -ERANGE || v > UINT64_MAX / mult || (double)(v * mult) > d->max) {
		if (d->kind == KIND_size) {
			char m[32];

			set_err(err, errcap,
				"%s: '%s' is above the maximum %s (items are kept within one 1 MiB "
				"slab page)",
				lb, quote(text, q, sizeof(q)),
				size_text((size_t)d->max, m, sizeof(m)));
		} else {
			set_err(err, errcap, "%s: '%s' is out of range (%.0f..%.0f)", lb,
				quote(text, q, sizeof(q)), d->min, d->max);
		}
		return -EINVAL;
	}
	v *= mult;
	if ((double)v < d->min) {
		if (d->kind == KIND_size) {
			char m[32];

			set_err(err, errcap, "%s: '%s' is below the minimum %s", lb,
				quote(text, q, sizeof(q)), size_text((size_t)d->min, m, sizeof(m)));
		} else {
			set_err(err, errcap, "%s: '%s' is out of range (%.0f..%.0f)", lb,
				quote(text, q, sizeof(q)), d->min, d->max);
		}
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int
parse_real(const struct setting_desc *d, const char *lb, const char *text, double *out, char *err,
	   size_t errcap)
{
	char q[64];
	char *end = NULL;
	double v;

	if (text[0] == '\0') {
		set_err(err, errcap, "%s: missing value", lb);
		return -EINVAL;
	}
	if (!isdigit((unsigned char)text[0]) && text[0] != '.') {
		set_err(err, errcap, "%s: '%s' is not a number", lb, quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
		set_err(err, errcap, "%s: '%s' is not a number", lb, quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	if (v <= d->min || v > d->max) {
		set_err(err, errcap, "%s: '%s' must be greater than %g and at most %g", lb,
			quote(text, q, sizeof(q)), d->min, d->max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int
copy_text(const struct setting_desc *d, const char *lb, const char *text, char *dst, char *err,
	  size_t errcap)
{
	size_t n = strlen(text);

	if (n >= d->cap) {
		set_err(err, errcap, "%s: too long (at most %zu characters)", lb, d->cap - 1);
		return -EINVAL;
	}
	memcpy(dst, text, n + 1);
	return 0;
}

static unsigned
count_words(const char *t)
{
	unsigned n = 0;

	while (*t != '\0') {
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t == '\0')
			break;
		n++;
		while (*t != '\0' && *t != ' ' && *t != '\t')
			t++;
	}
	return n;
}

/*
 * Parse a memcached -l list into @p out (at most @p max entries).
 * @return the number of entries, -EINVAL or -E2BIG with a message naming @p lb.
 */
static int
listen_parse(const char *list, uint16_t tcp, uint16_t udp, struct stack_listen *out, unsigned max,
	     const char *lb, char *err, size_t errcap)
{
	const char *p = list;
	unsigned n = 0;
	char q[64];

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char buf[80];
		char *host, *port_text = NULL;
		uint16_t port = tcp;

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			set_err(err, errcap, "%s: empty address in '%s'", lb,
				quote(list, q, sizeof(q)));
			return -EINVAL;
		}
		if (len >= sizeof(buf)) {
			set_err(err, errcap, "%s: '%.*s...' is not a numeric IPv4 or IPv6 address",
				lb, 40, p);
			return -EINVAL;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		host = buf;
		if (buf[0] == '[') {
			char *close = strchr(buf, ']');

			if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
				set_err(err, errcap, "%s: '%s' is not an address or [v6]:port", lb,
					quote(buf, q, sizeof(q)));
				return -EINVAL;
			}
			*close = '\0';
			host = buf + 1;
			if (close[1] == ':')
				port_text = close + 2;
		} else {
			char *colon = strchr(buf, ':');

			/* One colon: addr:port; more: a bare IPv6 address. */
			if (colon != NULL && strchr(colon + 1, ':') == NULL) {
				*colon = '\0';
				port_text = colon + 1;
			}
		}
		if (port_text != NULL) {
			const char *end;
			uint64_t v;

			if (parse_digits(port_text, &end, &v) != 0 || *end != '\0' || v == 0 ||
			    v > 65535) {
				set_err(err, errcap, "%s: bad port in '%.*s' (1..65535)", lb,
					(int)len, p);
				return -EINVAL;
			}
			port = (uint16_t)v;
		}
		if (n == max) {
			set_err(err, errcap, "%s: more than %u addresses", lb, max);
			return -E2BIG;
		}
		if (stack_addr_parse(host, port, &out[n].addr) != 0) {
			set_err(err, errcap, "%s: '%s' is not a numeric IPv4 or IPv6 address", lb,
				quote(host, q, sizeof(q)));
			return -EINVAL;
		}
		out[n].tcp_port = port;
		out[n].udp_port = udp;
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return (int)n;
}

/* Parse @p text as the value of setting @p d into @p s. */
static int
apply_value(struct nc_settings *s, const struct setting_desc *d, const struct origin *o,
	    const char *text, char *err, size_t errcap)
{
	char lb[SETTINGS_PATH_LEN + 64];
	char q[64];
	uint64_t v;
	int rc;

	label(d, o, lb, sizeof(lb));
	switch (d->kind) {
	case KIND_uint:
	case KIND_mb:
	case KIND_count:
		rc = parse_number(d, lb, text, &v, err, errcap);
		if (rc == 0)
			*(unsigned *)field(s, d) = (unsigned)v;
		return rc;
	case KIND_size:
		rc = parse_number(d, lb, text, &v, err, errcap);
		if (rc == 0)
			*(size_t *)field(s, d) = (size_t)v;
		return rc;
	case KIND_real:
		return parse_real(d, lb, text, (double *)field(s, d), err, errcap);
	case KIND_listen: {
		struct stack_listen tmp[STACK_LISTEN_MAX];

		rc = listen_parse(text, 0, 0, tmp, STACK_LISTEN_MAX, lb, err, errcap);
		if (rc < 0)
			return -EINVAL;
		return copy_text(d, lb, text, field(s, d), err, errcap);
	}
	case KIND_words:
		if (count_words(text) > SETTINGS_EAL_ARGV_MAX - EAL_DERIVED_MAX) {
			set_err(err, errcap, "%s: more than %u words", lb,
				SETTINGS_EAL_ARGV_MAX - EAL_DERIVED_MAX);
			return -EINVAL;
		}
		return copy_text(d, lb, text, field(s, d), err, errcap);
	case KIND_config:
		if (text[0] == '\0') {
			set_err(err, errcap, "%s: missing file name", lb);
			return -EINVAL;
		}
		return copy_text(d, lb, text, field(s, d), err, errcap);
	case KIND_backend:
		for (size_t i = 0; i < BACKEND_COUNT; i++) {
			if (strcmp(text, backend_names[i]) == 0) {
				*(enum settings_backend *)field(s, d) = (enum settings_backend)i;
				return 0;
			}
		}
		set_err(err, errcap, "%s: '%s' is not a backend (socket or dpdk)", lb,
			quote(text, q, sizeof(q)));
		return -EINVAL;
	case KIND_help:
	case KIND_version:
		break;
	}
	return 0;
}

void
settings_defaults(struct nc_settings *s)
{
	memset(s, 0, sizeof(*s));
#define DEFAULTS(kind, f, sc, name, def, min, max, stat, arg, help) DEFAULT_##kind(s, f, def)
	SETTINGS_TABLE(DEFAULTS)
#undef DEFAULTS
}

/* ---- INI file ---- */

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
			set_err(err, errcap, "%s:%u: NUL byte in line", path, lineno);
			rc = -EINVAL;
			break;
		}
		if (len > INI_LINE_MAX) {
			set_err(err, errcap, "%s:%u: line too long (at most %d characters)", path,
				lineno, INI_LINE_MAX);
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
				set_err(err, errcap, "%s:%u: missing ']' after section name", path,
					lineno);
				rc = -EINVAL;
				break;
			}
			t[n - 1] = '\0';
			name = strip(t + 1);
			if (strcmp(name, SETTINGS_INI_SECTION) != 0) {
				set_err(err, errcap,
					"%s:%u: unknown section '[%s]' (settings go in "
					"[" SETTINGS_INI_SECTION "])",
					path, lineno, quote(name, q, sizeof(q)));
				rc = -EINVAL;
				break;
			}
			if (seen) {
				set_err(err, errcap, "%s:%u: section [%s] appears twice", path,
					lineno, SETTINGS_INI_SECTION);
				rc = -EINVAL;
				break;
			}
			seen = in_section = true;
			continue;
		}
		if (strchr(t, '=') == NULL || *t == '=') {
			set_err(err, errcap, "%s:%u: expected 'setting = value', got '%s'", path,
				lineno, quote(t, q, sizeof(q)));
			rc = -EINVAL;
			break;
		}
		if (!in_section) {
			set_err(err, errcap, "%s:%u: '%s' is outside section [%s]", path, lineno,
				quote(t, q, sizeof(q)), SETTINGS_INI_SECTION);
			rc = -EINVAL;
			break;
		}
		if (li->n == li->cap) {
			unsigned ncap = li->cap != 0 ? li->cap * 2 : 16;
			unsigned *nl = realloc(li->line, ncap * sizeof(*nl));

			if (nl == NULL) {
				set_err(err, errcap, "%s: out of memory", path);
				rc = -ENOMEM;
				break;
			}
			li->line = nl;
			li->cap = ncap;
		}
		li->line[li->n++] = lineno;
	}
	if (rc == 0 && ferror(f)) {
		set_err(err, errcap, "%s: cannot read: %s", path, strerror(errno));
		rc = -EINVAL;
	}
	free(buf);
	return rc;
}

static const struct setting_desc *
find_by_name(const char *name)
{
	for (unsigned i = 0; i < SETTING_COUNT; i++)
		if (strcmp(settings_table[i].name, name) == 0)
			return &settings_table[i];
	return NULL;
}

/* Apply the settings of file @p path to @p s. */
static int
load_config(struct nc_settings *s, const char *path, char *err, size_t errcap)
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
		set_err(err, errcap, "--config: cannot read '%s': %s", quote(path, q, sizeof(q)),
			strerror(errno));
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
		set_err(err, errcap, "%s: cannot parse the file", path);
		rc = -EINVAL;
		goto out;
	}
	ent = calloc((size_t)n, sizeof(*ent));
	if (ent == NULL) {
		set_err(err, errcap, "%s: out of memory", path);
		rc = -ENOMEM;
		goto out;
	}
	if (rte_cfgfile_section_entries(cfg, SETTINGS_INI_SECTION, ent, n) != n) {
		set_err(err, errcap, "%s: cannot parse the file", path);
		rc = -EINVAL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct setting_desc *d = find_by_name(ent[i].name);
		struct origin o = {.file = path, .line = li.line[i]};

		if (d == NULL) {
			set_err(err, errcap, "%s:%u: unknown setting '%s'", path, o.line,
				quote(ent[i].name, q, sizeof(q)));
			rc = -EINVAL;
			goto out;
		}
		if (d->kind == KIND_config || d->kind == KIND_help || d->kind == KIND_version) {
			set_err(err, errcap, "%s:%u: '%s' is a command-line flag only", path,
				o.line, d->name);
			rc = -EINVAL;
			goto out;
		}
		rc = apply_value(s, d, &o, ent[i].value, err, errcap);
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

/* ---- command line ---- */

struct getopt_tables {
	struct option opts[SETTING_COUNT + 1];
	char shorts[2 + 2 * SETTING_COUNT + 1];
};

static bool
has_arg(const struct setting_desc *d)
{
	return d->kind != KIND_count && d->kind != KIND_help && d->kind != KIND_version;
}

static int
opt_val(unsigned id)
{
	return settings_table[id].short_flag != 0 ? settings_table[id].short_flag :
						    LONG_ONLY_BASE + (int)id;
}

static void
getopt_tables_build(struct getopt_tables *g)
{
	size_t k = 0;

	/* '+': stop at the first operand (no permutation of argv); ':': report missing values. */
	g->shorts[k++] = '+';
	g->shorts[k++] = ':';
	for (unsigned i = 0; i < SETTING_COUNT; i++) {
		const struct setting_desc *d = &settings_table[i];

		g->opts[i] = (struct option){d->name, has_arg(d) ? required_argument : no_argument,
					     NULL, opt_val(i)};
		if (d->short_flag != 0) {
			g->shorts[k++] = (char)d->short_flag;
			if (has_arg(d))
				g->shorts[k++] = ':';
		}
	}
	g->opts[SETTING_COUNT] = (struct option){NULL, 0, NULL, 0};
	g->shorts[k] = '\0';
}

static const struct setting_desc *
find_by_val(int val)
{
	for (unsigned i = 0; i < SETTING_COUNT; i++)
		if (opt_val(i) == val)
			return &settings_table[i];
	return NULL;
}

/* A message for getopt_long's '?' or ':' result. */
static int
getopt_error(int c, int argc, char **argv, char *err, size_t errcap)
{
	const struct origin cli = {NULL, 0};
	const struct setting_desc *d = optopt != 0 ? find_by_val(optopt) : NULL;
	char lb[64], q[64];

	if (c == ':' && d != NULL) {
		set_err(err, errcap, "%s: missing value", label(d, &cli, lb, sizeof(lb)));
	} else if (d != NULL) {
		set_err(err, errcap, "%s: takes no value", label(d, &cli, lb, sizeof(lb)));
	} else if (optopt != 0 && optopt != '-') {
		char one[2] = {(char)optopt, '\0'};

		set_err(err, errcap, "unknown option '-%s' (see --help)", quote(one, q, sizeof(q)));
	} else if (optind >= 1 && optind - 1 < argc && argv[optind - 1] != NULL) {
		set_err(err, errcap, "unknown or ambiguous option '%s' (see --help)",
			quote(argv[optind - 1], q, sizeof(q)));
	} else {
		set_err(err, errcap, "unknown option (see --help)");
	}
	return -EINVAL;
}

/*
 * One getopt_long pass over argv. Pass 1 handles only --config, --help and --version (and
 * every syntax error); pass 2 applies every other flag.
 */
static int
cli_pass(struct nc_settings *t, int pass, int argc, char **argv, const struct getopt_tables *g,
	 enum settings_action *act, char *err, size_t errcap)
{
	const struct origin cli = {NULL, 0};
	bool counted[SETTING_COUNT] = {false};
	char lb[64], q[64];
	int c, rc = 0;

	/* 0, not 1: glibc then also forgets a half-read "-vvx" cluster of an earlier call. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, g->shorts, g->opts, NULL)) != -1) {
		const struct setting_desc *d;

		if (c == '?' || c == ':')
			return getopt_error(c, argc, argv, err, errcap);
		d = find_by_val(c);
		if (d == NULL)
			return getopt_error('?', argc, argv, err, errcap);
		if (pass == 1) {
			if (d->kind == KIND_help || d->kind == KIND_version) {
				*act = d->kind == KIND_help ? SETTINGS_HELP : SETTINGS_VERSION;
				return 1;
			}
			if (d->kind == KIND_config)
				rc = apply_value(t, d, &cli, optarg, err, errcap);
		} else if (d->kind == KIND_count) {
			unsigned *n = field(t, d);

			/* The first -v on the command line replaces the file's value. */
			if (!counted[d - settings_table]) {
				counted[d - settings_table] = true;
				*n = 0;
			}
			if (*n >= d->max) {
				set_err(err, errcap, "%s: given more than %.0f times",
					label(d, &cli, lb, sizeof(lb)), d->max);
				return -EINVAL;
			}
			(*n)++;
		} else if (d->kind != KIND_config) {
			rc = apply_value(t, d, &cli, optarg, err, errcap);
		}
		if (rc != 0)
			return rc;
	}
	if (optind < argc) {
		set_err(err, errcap, "unexpected argument '%s'",
			quote(argv[optind] != NULL ? argv[optind] : "", q, sizeof(q)));
		return -EINVAL;
	}
	return 0;
}

/* Checks that involve more than one setting. */
static int
check_combination(const struct nc_settings *t, char *err, size_t errcap)
{
	const struct origin cli = {NULL, 0};
	struct stack_listen l[STACK_LISTEN_MAX];
	char lb[64], lb2[64];
	bool any_port = t->port != 0 || t->udp_port != 0;
	int n;

	if (t->slab_min_size >= t->max_item_size) {
		set_err(err, errcap, "%s: %u must be smaller than %s (%zu)",
			label(&settings_table[SETTING_slab_min_size], &cli, lb, sizeof(lb)),
			t->slab_min_size,
			label(&settings_table[SETTING_max_item_size], &cli, lb2, sizeof(lb2)),
			t->max_item_size);
		return -EINVAL;
	}
	n = listen_parse(t->listen, t->port, t->udp_port, l, STACK_LISTEN_MAX,
			 label(&settings_table[SETTING_listen], &cli, lb, sizeof(lb)), err, errcap);
	if (n < 0)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		any_port = any_port || l[i].tcp_port != 0;
	if (!any_port) {
		set_err(err, errcap,
			"-p/--port and -U/--udp-port are both 0: nothing to listen on");
		return -EINVAL;
	}
	return 0;
}

int
settings_parse(struct nc_settings *s, int argc, char **argv, enum settings_action *act, char *err,
	       size_t errcap)
{
	struct getopt_tables g;
	struct nc_settings t;
	enum settings_action a = SETTINGS_RUN;
	int rc;

	set_err(err, errcap, "%s", "");
	settings_defaults(&t);
	if (argc > 0 && argv != NULL) {
		getopt_tables_build(&g);
		rc = cli_pass(&t, 1, argc, argv, &g, &a, err, errcap);
		if (rc == 1) {
			if (act != NULL)
				*act = a;
			return 0;
		}
		if (rc != 0)
			return -EINVAL;
		if (t.config[0] != '\0') {
			rc = load_config(&t, t.config, err, errcap);
			if (rc != 0)
				return -EINVAL;
		}
		rc = cli_pass(&t, 2, argc, argv, &g, &a, err, errcap);
		if (rc != 0)
			return -EINVAL;
	}
	rc = check_combination(&t, err, errcap);
	if (rc != 0)
		return rc;
	*s = t;
	if (act != NULL)
		*act = SETTINGS_RUN;
	return 0;
}

/* ---- usage and stats ---- */

/* A setting's value as text; @p stats: memcached's units (maxbytes in bytes). */
static const char *
format_value(const struct nc_settings *s, const struct setting_desc *d, bool stats, char *buf,
	     size_t cap)
{
	const void *p = cfield(s, d);

	buf[0] = '\0';
	switch (d->kind) {
	case KIND_uint:
	case KIND_count:
		snprintf(buf, cap, "%u", *(const unsigned *)p);
		break;
	case KIND_mb:
		if (stats)
			snprintf(buf, cap, "%llu", (unsigned long long)*(const unsigned *)p << 20);
		else
			snprintf(buf, cap, "%u", *(const unsigned *)p);
		break;
	case KIND_size:
		if (stats)
			snprintf(buf, cap, "%zu", *(const size_t *)p);
		else
			size_text(*(const size_t *)p, buf, cap);
		break;
	case KIND_real:
		snprintf(buf, cap, "%.2f", *(const double *)p);
		break;
	case KIND_listen:
	case KIND_words:
	case KIND_config:
		snprintf(buf, cap, "%s", (const char *)p);
		break;
	case KIND_backend: {
		unsigned b = (unsigned)*(const enum settings_backend *)p;

		snprintf(buf, cap, "%s", b < BACKEND_COUNT ? backend_names[b] : "?");
		break;
	}
	case KIND_help:
	case KIND_version:
		break;
	}
	return buf;
}

void
settings_usage(FILE *f, const char *prog)
{
	struct nc_settings def;

	settings_defaults(&def);
	fprintf(f,
		"Usage: %s [options]\n\nOptions (in a --config file: key = value in section [%s],"
		" key = the long name):\n",
		prog != NULL ? prog : "nicached", SETTINGS_INI_SECTION);
	for (unsigned i = 0; i < SETTING_COUNT; i++) {
		const struct setting_desc *d = &settings_table[i];
		char flag[64], val[SETTINGS_STR_LEN];
		int n;

		if (d->short_flag != 0)
			n = snprintf(flag, sizeof(flag), "  -%c, --%s", d->short_flag, d->name);
		else
			n = snprintf(flag, sizeof(flag), "      --%s", d->name);
		if (has_arg(d) && n > 0 && (size_t)n < sizeof(flag))
			snprintf(flag + n, sizeof(flag) - (size_t)n, "=<%s>", d->arg);
		fprintf(f, "%-36s %s", flag, d->help);
		format_value(&def, d, false, val, sizeof(val));
		if (d->kind == KIND_uint || d->kind == KIND_mb)
			fprintf(f, " (%.0f..%.0f; default %s)", d->min, d->max, val);
		else if (val[0] != '\0')
			fprintf(f, " (default %s)", val);
		fputc('\n', f);
	}
}

unsigned
settings_stats(const struct nc_settings *s, struct settings_stat *out, unsigned max)
{
	static const struct {
		const char *name, *value;
	} fixed[] = {
#define FIXED(n, v) {(n), (v)},
		SETTINGS_STATS_FIXED(FIXED)
#undef FIXED
	};
	unsigned n = 0;

	for (unsigned i = 0; i < SETTING_COUNT && n < max; i++) {
		const struct setting_desc *d = &settings_table[i];

		if (d->stat == NULL)
			continue;
		out[n].name = d->stat;
		format_value(s, d, true, out[n].value, sizeof(out[n].value));
		n++;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && n < max; i++) {
		out[n].name = fixed[i].name;
		snprintf(out[n].value, sizeof(out[n].value), "%s", fixed[i].value);
		n++;
	}
	return n;
}

/* ---- workers, listen list, EAL ---- */

unsigned
settings_workers(const struct nc_settings *s, unsigned ncpus)
{
	unsigned n = s->threads;

	if (n == 0)
		n = ncpus > 1 ? ncpus - 1 : 1;
	return n > SETTINGS_WORKERS_MAX ? SETTINGS_WORKERS_MAX : n;
}

int
settings_listen(const struct nc_settings *s, struct stack_listen *out, unsigned max, char *err,
		size_t errcap)
{
	const struct origin cli = {NULL, 0};
	char lb[64];

	return listen_parse(s->listen, (uint16_t)s->port, (uint16_t)s->udp_port, out, max,
			    label(&settings_table[SETTING_listen], &cli, lb, sizeof(lb)), err,
			    errcap);
}

/*
 * EAL memory for a given item memory: the slab arena takes memory_limit; the index (rte_hash
 * sized for the smallest chunks), per-worker rings, buffers and DPDK's own structures need
 * about as much again, plus a fixed 64 MB for EAL itself and small pools.
 */
unsigned
settings_eal_memory_mb(unsigned memory_limit_mb)
{
	return memory_limit_mb * 2 + 64;
}

/* Appends words to a struct settings_eal. */
struct eal_builder {
	struct settings_eal *e;
	size_t used;
	bool full;
};

static void
eal_add(struct eal_builder *b, const char *fmt, ...)
{
	struct settings_eal *e = b->e;
	size_t room = sizeof(e->text) - b->used;
	va_list ap;
	int n;

	if (b->full || e->argc >= SETTINGS_EAL_ARGV_MAX) {
		b->full = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(e->text + b->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		b->full = true;
		return;
	}
	e->argv[e->argc++] = e->text + b->used;
	e->argv[e->argc] = NULL;
	b->used += (size_t)n + 1;
}

/* lcore 0 = control, 1..workers = workers: pinned i@i when they fit, else all floating. */
static void
eal_lcores(char *buf, size_t cap, unsigned workers, unsigned ncpus)
{
	size_t k = 0;

	if (ncpus == 0)
		ncpus = 1;
	if (workers + 1 <= ncpus) {
		for (unsigned i = 0; i <= workers && k < cap; i++) {
			int n = snprintf(buf + k, cap - k, "%s%u@%u", i != 0 ? "," : "", i, i);

			if (n < 0)
				break;
			k += (size_t)n;
		}
	} else if (ncpus == 1) {
		snprintf(buf, cap, "(0-%u)@0", workers);
	} else {
		snprintf(buf, cap, "(0-%u)@(0-%u)", workers, ncpus - 1);
	}
}

int
settings_eal_args(const struct nc_settings *s, unsigned ncpus, bool use_hugepages,
		  struct settings_eal *out, char *err, size_t errcap)
{
	struct eal_builder b = {.e = out};
	char lcores[SETTINGS_WORKERS_MAX * 10 + 32];
	const char *w = s->eal;

	out->argc = 0;
	out->argv[0] = NULL;
	eal_add(&b, "nicached");
	eal_lcores(lcores, sizeof(lcores), settings_workers(s, ncpus), ncpus);
	eal_add(&b, "--lcores");
	eal_add(&b, "%s", lcores);
	eal_add(&b, "-m");
	eal_add(&b, "%u", settings_eal_memory_mb(s->memory_limit));
	if (use_hugepages) {
		eal_add(&b, "--in-memory");
	} else {
		eal_add(&b, "--no-huge");
		eal_add(&b, "--no-shconf");
	}
	eal_add(&b, "--file-prefix");
	eal_add(&b, "nicached-%u", s->port != 0 ? s->port : s->udp_port);
	if (s->backend == SETTINGS_BACKEND_SOCKET)
		eal_add(&b, "--no-pci");
	if (s->verbose < 2) {
		eal_add(&b, "--log-level");
		eal_add(&b, "lib.eal:error");
	}
	while (*w != '\0') {
		size_t len;

		while (*w == ' ' || *w == '\t')
			w++;
		len = strcspn(w, " \t");
		if (len == 0)
			break;
		eal_add(&b, "%.*s", (int)len, w);
		w += len;
	}
	if (b.full) {
		set_err(err, errcap,
			"--eal: the EAL arguments do not fit (at most %d words, %zu "
			"bytes)",
			SETTINGS_EAL_ARGV_MAX, sizeof(out->text));
		return -E2BIG;
	}
	return 0;
}

bool
settings_hugepages_usable(size_t need_mb)
{
	unsigned long long free_pages = 0, page_kb = 0;
	bool got_free = false, got_size = false;
	char line[256];
	FILE *f;

	if (geteuid() != 0)
		return false;
	f = fopen("/proc/meminfo", "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "HugePages_Free: %llu", &free_pages) == 1)
			got_free = true;
		else if (sscanf(line, "Hugepagesize: %llu kB", &page_kb) == 1)
			got_size = true;
	}
	fclose(f);
	if (!got_free || !got_size)
		return false;
	return free_pages > 0 && free_pages * page_kb >= (unsigned long long)need_mb * 1024;
}
