/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Settings: one value's text, from the command line or a file, checked against its kind and
 * range and stored in its field.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "net/fault.h"
#include "settings_private.h"

/* The message for a number outside [min, max]; size kinds name the bound it crossed. */
static int
range_error(const struct setting_desc *d, const char *lb, const char *text, bool above, char *err,
	    size_t errcap)
{
	char q[64], m[32];

	if (d->kind != KIND_size)
		setting_err(err, errcap, "%s: '%s' is out of range (%.0f..%.0f)", lb,
			    setting_quote(text, q, sizeof(q)), d->min, d->max);
	else if (above)
		setting_err(err, errcap,
			    "%s: '%s' is above the maximum %s (items are kept within one 1 MiB "
			    "slab page)",
			    lb, setting_quote(text, q, sizeof(q)),
			    setting_size_text((size_t)d->max, m, sizeof(m)));
	else
		setting_err(err, errcap, "%s: '%s' is below the minimum %s", lb,
			    setting_quote(text, q, sizeof(q)),
			    setting_size_text((size_t)d->min, m, sizeof(m)));
	return -EINVAL;
}

/* A k/K, m/M or g/G suffix as a multiplier, or 0 when @p c is none. */
static uint64_t
size_suffix(char c)
{
	switch (c) {
	case 'k':
	case 'K':
		return 1024;
	case 'm':
	case 'M':
		return 1024 * 1024;
	case 'g':
	case 'G':
		return 1024 * 1024 * 1024;
	default:
		return 0;
	}
}

/* An unsigned number in [min, max]; size kinds take one suffix letter. */
static int
parse_number(const struct setting_desc *d, const char *lb, const char *text, uint64_t *out,
	     char *err, size_t errcap)
{
	char q[64];
	const char *end;
	uint64_t v, mult = 1;
	int rc;

	if (text[0] == '\0') {
		setting_err(err, errcap, "%s: missing value", lb);
		return -EINVAL;
	}
	if (text[0] == '-' && isdigit((unsigned char)text[1])) {
		setting_err(err, errcap, "%s: '%s' is negative", lb,
			    setting_quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	rc = setting_digits(text, &end, &v);
	if (rc == -EINVAL) {
		setting_err(err, errcap, "%s: '%s' is not a number", lb,
			    setting_quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	if (rc == 0 && d->kind == KIND_size && *end != '\0' && end[1] == '\0' &&
	    size_suffix(*end) != 0)
		mult = size_suffix(*end++);
	if (rc == 0 && *end != '\0') {
		setting_err(err, errcap, "%s: '%s' is not a number%s", lb,
			    setting_quote(text, q, sizeof(q)),
			    d->kind == KIND_size ? " (digits with an optional k or m suffix)" : "");
		return -EINVAL;
	}
	if (rc == -ERANGE || v > UINT64_MAX / mult || (double)(v * mult) > d->max)
		return range_error(d, lb, text, true, err, errcap);
	v *= mult;
	if ((double)v < d->min)
		return range_error(d, lb, text, false, err, errcap);
	*out = v;
	return 0;
}

/* A decimal fraction in (min, max]. */
static int
parse_real(const struct setting_desc *d, const char *lb, const char *text, double *out, char *err,
	   size_t errcap)
{
	char q[64];
	char *end = NULL;
	bool ok = false;
	double v = 0;

	if (text[0] == '\0') {
		setting_err(err, errcap, "%s: missing value", lb);
		return -EINVAL;
	}
	if (isdigit((unsigned char)text[0]) || text[0] == '.') {
		errno = 0;
		v = strtod(text, &end);
		ok = end != text && *end == '\0' && errno != ERANGE && isfinite(v);
	}
	if (!ok) {
		setting_err(err, errcap, "%s: '%s' is not a number", lb,
			    setting_quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	if (v <= d->min || v > d->max) {
		setting_err(err, errcap, "%s: '%s' must be greater than %g and at most %g", lb,
			    setting_quote(text, q, sizeof(q)), d->min, d->max);
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
		setting_err(err, errcap, "%s: too long (at most %zu characters)", lb, d->cap - 1);
		return -EINVAL;
	}
	memcpy(dst, text, n + 1);
	return 0;
}

static unsigned
count_words(const char *t)
{
	unsigned n = 0;
	size_t len;

	while (setting_word_next(&t, &len) != NULL)
		n++;
	return n;
}

/*
 * memcached's -o suboptions. Those nicached has set the setting named here (with the value
 * after '='); the rest tune what nicached does its own way (its LRU, hash table, slab mover,
 * logging, privileges) and are accepted without effect, so memcached command lines start.
 */
#define SUBOPTS_SET(X)                                  \
	X("idle_timeout", SETTING_idle_timeout)         \
	X("compression", SETTING_compression)           \
	X("compression_min", SETTING_compression_min)   \
	X("compression_min_saving", SETTING_compression_min_saving)
static const char *const subopts_without_effect[] = {
	"maxconns_fast",       "no_maxconns_fast",    "hashpower",	     "hash_algorithm",
	"no_hashexpand",       "tail_repair_time",    "lru_crawler",	     "no_lru_crawler",
	"lru_crawler_sleep",   "lru_crawler_tocrawl", "lru_maintainer",	     "no_lru_maintainer",
	"hot_lru_pct",	       "warm_lru_pct",	      "hot_max_factor",	     "warm_max_factor",
	"temporary_ttl",       "lru_segmented",	      "slab_reassign",	     "no_slab_reassign",
	"slab_automove",       "slab_automove_ratio", "slab_automove_window", "slab_chunk_max",
	"watcher_logbuf_size", "worker_logbuf_size",  "read_buf_mem_limit",  "resp_obj_mem_limit",
	"track_sizes",	       "no_inline_ascii_resp", "modern",	     "no_modern",
	"no_chunked_items",    "drop_privileges",     "no_drop_privileges",  "large_memory_pages",
	"slab_sizes",	       "no_slab_automove",    "inline_ascii_resp",   "slab_automove_freeratio",
	"expirezero_does_not_evict",
};

/* Whether memcached has suboption @p name and it has no effect here (extstore, TLS, proxy too). */
static bool
subopt_without_effect(const char *name)
{
	for (size_t i = 0; i < sizeof(subopts_without_effect) / sizeof(subopts_without_effect[0]);
	     i++)
		if (strcmp(name, subopts_without_effect[i]) == 0)
			return true;
	return strncmp(name, "ext_", 4) == 0 || strncmp(name, "ssl_", 4) == 0 ||
	       strncmp(name, "proxy_", 6) == 0;
}

size_t
settings_subopts_ignored(const struct nc_settings *s, char *buf, size_t cap)
{
	const char *p = s->extended;
	size_t len = 0;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		size_t name_len = strcspn(p, ",=");
		char item[SETTINGS_STR_LEN];

		if (name_len > n)
			name_len = n;
		snprintf(item, sizeof(item), "%.*s", (int)name_len, p);
		p += n + (p[n] == ',');
		if (item[0] == '\0' || !subopt_without_effect(item))
			continue;
		int w = snprintf(buf + len, cap - len, "%s%s", len != 0 ? ", " : "", item);

		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
	return len;
}

int
setting_subopts(struct nc_settings *s, const char *label, const char *text, char *err,
		size_t errcap)
{
	static const struct {
		const char *name;
		enum setting_id id;
	} set[] = {
#define SUBOPT_ENTRY(n, i) {(n), (i)},
		SUBOPTS_SET(SUBOPT_ENTRY)
#undef SUBOPT_ENTRY
	};
	char item[SETTINGS_STR_LEN], q[64];
	const char *p = text;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char *eq;
		bool known = false;

		if (n >= sizeof(item)) {
			setting_err(err, errcap, "%s: suboption too long", label);
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		p += n + (p[n] == ',');
		if (n == 0)
			continue;
		eq = strchr(item, '=');
		if (eq != NULL)
			*eq++ = '\0';
		for (size_t i = 0; i < sizeof(set) / sizeof(set[0]) && !known; i++) {
			int rc;

			if (strcmp(item, set[i].name) != 0)
				continue;
			known = true;
			if (eq == NULL) {
				setting_err(err, errcap, "%s: %s needs a value (%s=N)", label, item,
					    item);
				return -EINVAL;
			}
			rc = setting_apply(s, &setting_table[set[i].id], NULL, eq, err, errcap);
			if (rc != 0)
				return rc;
		}
		if (!known && !subopt_without_effect(item)) {
			setting_err(err, errcap, "%s: unknown suboption '%s'", label,
				    setting_quote(item, q, sizeof(q)));
			return -EINVAL;
		}
	}
	return 0;
}

int
setting_apply(struct nc_settings *s, const struct setting_desc *d, const struct setting_origin *o,
	      const char *text, char *err, size_t errcap)
{
	char lb[SETTINGS_PATH_LEN + 64];
	char q[64], choices[64];
	uint64_t v;
	int rc;

	setting_label(d, o, lb, sizeof(lb));
	switch (d->kind) {
	case KIND_uint:
	case KIND_mb:
	case KIND_count:
		rc = parse_number(d, lb, text, &v, err, errcap);
		if (rc == 0)
			*(unsigned *)setting_field(s, d) = (unsigned)v;
		return rc;
	case KIND_switch:
		if (strcmp(text, "yes") == 0 || strcmp(text, "1") == 0 || strcmp(text, "on") == 0) {
			*(unsigned *)setting_field(s, d) = 1;
			return 0;
		}
		if (strcmp(text, "no") == 0 || strcmp(text, "0") == 0 || strcmp(text, "off") == 0) {
			*(unsigned *)setting_field(s, d) = 0;
			return 0;
		}
		setting_err(err, errcap, "%s: '%s' is not yes or no", lb,
			    setting_quote(text, q, sizeof(q)));
		return -EINVAL;
	case KIND_size:
		rc = parse_number(d, lb, text, &v, err, errcap);
		if (rc == 0)
			*(size_t *)setting_field(s, d) = (size_t)v;
		return rc;
	case KIND_real:
		return parse_real(d, lb, text, (double *)setting_field(s, d), err, errcap);
	case KIND_listen: {
		struct stack_listen tmp[STACK_LISTEN_MAX];

		rc = setting_listen_parse(text, 0, 0, tmp, STACK_LISTEN_MAX, lb, err, errcap);
		if (rc < 0)
			return -EINVAL;
		return copy_text(d, lb, text, setting_field(s, d), err, errcap);
	}
	case KIND_words:
		if (count_words(text) > SETTINGS_EAL_ARGV_MAX - SETTING_EAL_DERIVED_MAX) {
			setting_err(err, errcap, "%s: more than %u words", lb,
				    SETTINGS_EAL_ARGV_MAX - SETTING_EAL_DERIVED_MAX);
			return -EINVAL;
		}
		return copy_text(d, lb, text, setting_field(s, d), err, errcap);
	case KIND_config:
		if (text[0] == '\0') {
			setting_err(err, errcap, "%s: missing file name", lb);
			return -EINVAL;
		}
		return copy_text(d, lb, text, setting_field(s, d), err, errcap);
	case KIND_path:
		return copy_text(d, lb, text, setting_field(s, d), err, errcap);
	case KIND_fault: {
		struct net_fault f;

		if (net_fault_parse(text, &f) != 0) {
			setting_err(err, errcap,
				    "%s: '%s' is not a fault specification (comma-separated "
				    "seed=N and [rx-|tx-]drop|dup|reorder|corrupt=0..1)",
				    lb, setting_quote(text, q, sizeof(q)));
			return -EINVAL;
		}
		return copy_text(d, lb, text, setting_field(s, d), err, errcap);
	}
	case KIND_subopts:
		rc = setting_subopts(s, lb, text, err, errcap);
		if (rc != 0)
			return rc;
		return copy_text(d, lb, text, setting_field(s, d), err, errcap);
	case KIND_members:
	case KIND_member: {
		struct nc_ring *ring = NULL;
		char why[200];

		/* Empty: not in a cluster. A member: a one-name list. */
		if (text[0] != '\0' &&
		    (cluster_members_parse(text, &ring, why, sizeof(why)) < 0 ||
		     (d->kind == KIND_member && nc_ring_member_count(ring) != 1))) {
			setting_err(err, errcap, "%s: %s", lb,
				    ring != NULL ? "one member name (host:port), not a list" : why);
			nc_ring_destroy(&ring);
			return -EINVAL;
		}
		nc_ring_destroy(&ring);
		return copy_text(d, lb, text, setting_field(s, d), err, errcap);
	}
	case KIND_backend:
	case KIND_replication:
	case KIND_logto:
	case KIND_compression:
		if (setting_choice_find(d->kind, text, setting_field(s, d)) == 0)
			return 0;
		setting_choice_list(d->kind, choices, sizeof(choices));
		setting_err(err, errcap, "%s: '%s' is not %s", lb,
			    setting_quote(text, q, sizeof(q)), choices);
		return -EINVAL;
	case KIND_help:
	case KIND_version:
		break;
	}
	return 0;
}
