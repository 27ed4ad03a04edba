/* SPDX-License-Identifier: BSD-3-Clause */
/* Settings as text: the usage (with the defaults) and `stats settings`. */
#include <stdio.h>

#include "settings_private.h"

const char *
setting_format(const struct nc_settings *s, const struct setting_desc *d, bool stats, char *buf,
	       size_t cap)
{
	const void *p = setting_cfield(s, d);

	buf[0] = '\0';
	switch (d->kind) {
	case KIND_uint:
	case KIND_count:
		snprintf(buf, cap, "%u", *(const unsigned *)p);
		break;
	case KIND_switch:
		if (stats || *(const unsigned *)p != 0)
			snprintf(buf, cap, "%s", *(const unsigned *)p != 0 ? "yes" : "no");
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
			setting_size_text(*(const size_t *)p, buf, cap);
		break;
	case KIND_real:
		snprintf(buf, cap, "%.2f", *(const double *)p);
		break;
	case KIND_listen:
	case KIND_words:
	case KIND_config:
	case KIND_path:
	case KIND_fault:
	case KIND_subopts:
	case KIND_members:
	case KIND_member:
		snprintf(buf, cap, "%s", (const char *)p);
		break;
	case KIND_backend:
	case KIND_replication: /* (enum fields: an unsigned int each) */
	case KIND_logto:
	case KIND_compression:
		snprintf(buf, cap, "%s", setting_choice_name(d->kind, *(const unsigned *)p));
		break;
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
		const struct setting_desc *d = &setting_table[i];
		char flag[64], val[SETTINGS_STR_LEN];
		int n;

		if (d->short_flag != 0)
			n = snprintf(flag, sizeof(flag), "  -%c, --%s", d->short_flag, d->name);
		else
			n = snprintf(flag, sizeof(flag), "      --%s", d->name);
		if (setting_has_arg(d) && n > 0 && (size_t)n < sizeof(flag))
			snprintf(flag + n, sizeof(flag) - (size_t)n, "=<%s>", d->arg);
		fprintf(f, "%-36s %s", flag, d->help);
		setting_format(&def, d, false, val, sizeof(val));
		if (d->kind == KIND_uint || d->kind == KIND_mb)
			fprintf(f, " (%.0f..%.0f; default %s)", d->min, d->max, val);
		else if (val[0] != '\0')
			fprintf(f, " (default %s)", val);
		fputc('\n', f);
	}
}

void
settings_man_text(FILE *f, const char *text)
{
	bool line_start = true;

	for (const char *p = text; *p != '\0'; p++) {
		if (line_start && (*p == '.' || *p == '\''))
			fputs("\\&", f);
		if (*p == '\\')
			fputs("\\e", f);
		else if (*p == '-')
			fputs("\\-", f);
		else
			fputc(*p, f);
		line_start = *p == '\n';
	}
}

void
settings_man_options(FILE *f)
{
	struct nc_settings def;

	settings_defaults(&def);
	for (unsigned i = 0; i < SETTING_COUNT; i++) {
		const struct setting_desc *d = &setting_table[i];
		char val[SETTINGS_STR_LEN];

		fputs(".TP\n", f);
		if (d->short_flag != 0)
			fprintf(f, "\\fB\\-%c\\fR, ", d->short_flag);
		fputs("\\fB\\-\\-", f);
		settings_man_text(f, d->name);
		fputs("\\fR", f);
		if (setting_has_arg(d)) {
			fputs(" \\fI", f);
			settings_man_text(f, d->arg);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		settings_man_text(f, d->help);
		fputs(".\n", f);
		setting_format(&def, d, false, val, sizeof(val));
		if (d->kind == KIND_uint || d->kind == KIND_mb)
			fprintf(f, "Range %.0f to %.0f; default %s.", d->min, d->max, val);
		else if (val[0] != '\0') {
			fputs("Default ", f);
			settings_man_text(f, val);
			fputs(".", f);
		}
		if (d->kind != KIND_help && d->kind != KIND_version && d->kind != KIND_config) {
			fputs(" In the configuration file: \\fB", f);
			settings_man_text(f, d->name);
			fputs("\\fR", f);
			if (d->kind == KIND_count)
				fputs(" = \\fIN\\fR", f);
			fputs(".", f);
		}
		if (d->stat != NULL) {
			fputs(" \\fBstats settings\\fR: ", f);
			settings_man_text(f, d->stat);
			fputs(".", f);
		}
		fputc('\n', f);
	}
}

unsigned
settings_stats(const struct nc_settings *s, struct settings_stat *out, unsigned max)
{
	const struct {
		const char *name, *value;
	} fixed[] = {
#define DERIVED(n, v) {(n), (v)},
		SETTINGS_STATS_DERIVED(DERIVED)
#undef DERIVED
	};
	unsigned n = 0;

	for (unsigned i = 0; i < SETTING_COUNT && n < max; i++) {
		const struct setting_desc *d = &setting_table[i];

		if (d->stat == NULL)
			continue;
		out[n].name = d->stat;
		setting_format(s, d, true, out[n].value, sizeof(out[n].value));
		n++;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && n < max; i++) {
		out[n].name = fixed[i].name;
		snprintf(out[n].value, sizeof(out[n].value), "%s", fixed[i].value);
		n++;
	}
	return n;
}
