/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Settings from the command line (getopt_long over the table), and settings_parse(): defaults,
 * then the --config file, then the flags, then the checks across settings.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "settings_private.h"

/* getopt_long value of a setting: its short flag, or 256 + its id. */
#define LONG_ONLY_BASE 256

struct getopt_tables {
	struct option opts[SETTING_COUNT + 1];
	char shorts[2 + 2 * SETTING_COUNT + 1];
};

static int
opt_val(unsigned id)
{
	return setting_table[id].short_flag != 0 ? setting_table[id].short_flag :
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
		const struct setting_desc *d = &setting_table[i];

		g->opts[i] = (struct option){d->name,
					     setting_has_arg(d) ? required_argument : no_argument,
					     NULL, opt_val(i)};
		if (d->short_flag != 0) {
			g->shorts[k++] = (char)d->short_flag;
			if (setting_has_arg(d))
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
			return &setting_table[i];
	return NULL;
}

/* A message for getopt_long's '?' or ':' result. */
static int
getopt_error(int c, int argc, char **argv, char *err, size_t errcap)
{
	const struct setting_desc *d = optopt != 0 ? find_by_val(optopt) : NULL;
	char lb[64], q[64];

	if (c == ':' && d != NULL) {
		setting_err(err, errcap, "%s: missing value",
			    setting_label(d, NULL, lb, sizeof(lb)));
	} else if (d != NULL) {
		setting_err(err, errcap, "%s: takes no value",
			    setting_label(d, NULL, lb, sizeof(lb)));
	} else if (optopt != 0 && optopt != '-') {
		char one[2] = {(char)optopt, '\0'};

		setting_err(err, errcap, "unknown option '-%s' (see --help)",
			    setting_quote(one, q, sizeof(q)));
	} else if (optind >= 1 && optind - 1 < argc && argv[optind - 1] != NULL) {
		setting_err(err, errcap, "unknown or ambiguous option '%s' (see --help)",
			    setting_quote(argv[optind - 1], q, sizeof(q)));
	} else {
		setting_err(err, errcap, "unknown option (see --help)");
	}
	return -EINVAL;
}

/*
 * `nicached [options] -- <EAL args>`, as testpmd and l3fwd take them: the words after `--`
 * join --eal's (after them), where they replace the derived EAL options they conflict with.
 */
static int
eal_words_after(struct nc_settings *t, int argc, char **argv, int first, char *err,
		size_t errcap)
{
	size_t len = strlen(t->eal);

	for (int i = first; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (strpbrk(argv[i], " \t") != NULL) {
			setting_err(err, errcap, "EAL argument '%s' after --: no spaces inside one",
				    argv[i]);
			return -EINVAL;
		}
		if (len + (len != 0) + n + 1 > sizeof(t->eal)) {
			setting_err(err, errcap, "the EAL arguments after -- are too long (at most "
						 "%zu bytes with --eal's)",
				    sizeof(t->eal) - 1);
			return -E2BIG;
		}
		if (len != 0)
			t->eal[len++] = ' ';
		memcpy(t->eal + len, argv[i], n + 1);
		len += n;
	}
	return 0;
}

/*
 * One getopt_long pass over argv. Pass 1 handles only --config, --help and --version (and
 * every syntax error); pass 2 applies every other flag.
 */
static int
cli_pass(struct nc_settings *t, int pass, int argc, char **argv, const struct getopt_tables *g,
	 enum settings_action *act, char *err, size_t errcap)
{
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
				rc = setting_apply(t, d, NULL, optarg, err, errcap);
		} else if (d->kind == KIND_count) {
			unsigned *n = setting_field(t, d);

			/* The first -v on the command line replaces the file's value. */
			if (!counted[d - setting_table]) {
				counted[d - setting_table] = true;
				*n = 0;
			}
			if (*n >= d->max) {
				setting_err(err, errcap, "%s: given more than %.0f times",
					    setting_label(d, NULL, lb, sizeof(lb)), d->max);
				return -EINVAL;
			}
			(*n)++;
		} else if (d->kind == KIND_switch) {
			*(unsigned *)setting_field(t, d) = 1;
		} else if (d->kind != KIND_config) {
			rc = setting_apply(t, d, NULL, optarg, err, errcap);
		}
		if (rc != 0)
			return rc;
	}
	if (optind < argc && optind > 0 && strcmp(argv[optind - 1], "--") == 0)
		return pass == 2 ? eal_words_after(t, argc, argv, optind, err, errcap) : 0;
	if (optind < argc) {
		setting_err(err, errcap, "unexpected argument '%s'",
			    setting_quote(argv[optind] != NULL ? argv[optind] : "", q, sizeof(q)));
		return -EINVAL;
	}
	return 0;
}

/* Checks that involve more than one setting. */
static int
check_combination(const struct nc_settings *t, char *err, size_t errcap)
{
	struct stack_listen l[STACK_LISTEN_MAX];
	char lb[64], lb2[64];
	bool any_port = t->port != 0 || t->udp_port != 0;
	int n;

	if (t->slab_min_size >= t->max_item_size) {
		setting_err(
			err, errcap, "%s: %u must be smaller than %s (%zu)",
			setting_label(&setting_table[SETTING_slab_min_size], NULL, lb, sizeof(lb)),
			t->slab_min_size,
			setting_label(&setting_table[SETTING_max_item_size], NULL, lb2,
				      sizeof(lb2)),
			t->max_item_size);
		return -EINVAL;
	}
	/* As memcached: an item may take at most half of the memory. */
	if (t->max_item_size > (size_t)t->memory_limit * 1024 * 1024 / 2) {
		setting_err(
			err, errcap, "%s: %zu is more than half of %s (%u MB)",
			setting_label(&setting_table[SETTING_max_item_size], NULL, lb, sizeof(lb)),
			t->max_item_size,
			setting_label(&setting_table[SETTING_memory_limit], NULL, lb2, sizeof(lb2)),
			t->memory_limit);
		return -EINVAL;
	}
	n = settings_listen(t, l, STACK_LISTEN_MAX, err, errcap);
	if (n < 0)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		any_port = any_port || l[i].tcp_port != 0;
	if (t->unix_socket[0] != '\0') {
		char *end;
		unsigned long mask = strtoul(t->unix_mask, &end, 8);

		if (t->backend == SETTINGS_BACKEND_DPDK) {
			setting_err(err, errcap, "-s/--unix-socket: the socket backend's (the dpdk "
						 "backend serves the NIC only)");
			return -EINVAL;
		}
		if (t->unix_mask[0] == '\0' || *end != '\0' || mask > 0777) {
			setting_err(err, errcap, "-a/--unix-mask: '%s' is not an octal mode (0..0777)",
				    t->unix_mask);
			return -EINVAL;
		}
		any_port = true; /* -s serves the socket only */
	}
	if (t->pdump && t->backend != SETTINGS_BACKEND_DPDK) {
		setting_err(err, errcap, "--pdump: captures the dpdk backend's port (with the socket "
					 "backend, tcpdump sees the traffic)");
		return -EINVAL;
	}
	if (t->pdump && settings_eal_user_replaces(t, SETTINGS_EAL_pages)) {
		/* --no-huge, --in-memory, --no-shconf: no shared files for a capture to attach to. */
		setting_err(err, errcap, "--pdump: the EAL arguments choose the pages (--no-huge, "
					 "--in-memory, --huge-dir ...): leave that to --pdump, which keeps "
					 "EAL's files shared on hugepages");
		return -EINVAL;
	}
	if (t->pdump && t->user[0] != '\0') {
		/* Root's files: a process that dropped root could not remove them at its stop. */
		setting_err(err, errcap, "--pdump with -u/--user: EAL's shared hugepage files are "
					 "root's and would outlive the stop; run captured servers as root");
		return -EINVAL;
	}
	if (!any_port) {
		setting_err(err, errcap,
			    "-p/--port and -U/--udp-port are both 0: nothing to listen on");
		return -EINVAL;
	}
	if (settings_auth_on(t) && t->udp_port != 0) {
		/* As memcached: SASL and the text token have no UDP form. */
		setting_err(err, errcap,
			    "-U/--udp-port: UDP cannot be used with authentication (-S/-Y): -U 0 "
			    "to disable");
		return -EINVAL;
	}
	if (t->sasl_pwdb[0] != '\0' && t->sasl == 0) {
		setting_err(err, errcap, "--sasl-pwdb: needs -S/--enable-sasl");
		return -EINVAL;
	}
	if (t->sasl_pwdb[0] != '\0' && t->auth_file[0] != '\0' &&
	    strcmp(t->sasl_pwdb, t->auth_file) != 0) {
		setting_err(err, errcap,
			    "--sasl-pwdb and -Y/--auth-file name two files: one set of users "
			    "serves both schemes");
		return -EINVAL;
	}
	if (t->sasl != 0 && settings_auth_file(t) == NULL) {
		setting_err(err, errcap,
			    "-S/--enable-sasl: no users: name a user:password file with "
			    "--sasl-pwdb or -Y (or MEMCACHED_SASL_PWDB)");
		return -EINVAL;
	}
	return cluster_settings_check(t, err, errcap);
}

int
settings_parse(struct nc_settings *s, int argc, char **argv, enum settings_action *act, char *err,
	       size_t errcap)
{
	struct getopt_tables g;
	struct nc_settings t;
	enum settings_action a = SETTINGS_RUN;
	int rc;

	setting_err(err, errcap, "%s", "");
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
			rc = setting_load_file(&t, t.config, err, errcap);
			if (rc != 0)
				return -EINVAL;
		}
		rc = cli_pass(&t, 2, argc, argv, &g, &a, err, errcap);
		if (rc != 0)
			return -EINVAL;
	}
	/* memcached: -s disables network support (TCP and UDP on the default addresses). */
	if (t.unix_socket[0] != '\0') {
		t.port = 0;
		t.udp_port = 0;
	}
	rc = check_combination(&t, err, errcap);
	if (rc != 0)
		return rc;
	*s = t;
	if (act != NULL)
		*act = SETTINGS_RUN;
	return 0;
}
